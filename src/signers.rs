//! Which signing keys kura trusts, and for what: the policy's current key
//! for everything, and each retired key of `[signing] previous_public_keys`
//! for what was made before the day it was retired. So a snapshot signed
//! in 2024 still verifies after the key is replaced in 2025, and a
//! signature made with the old key after its retirement does not.

use std::path::Path;

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};

use crate::error::{Error, Result};
use crate::keys;
use crate::policy::Signing;

/// A retired key and the moment it stopped signing.
#[derive(Clone)]
pub struct Retired {
    /// The key.
    pub key: minisign::PublicKey,
    /// Its id as minisign prints it.
    pub id: String,
    /// The first local day it no longer signs.
    pub until: NaiveDate,
}

/// The keys a signature may come from.
#[derive(Clone)]
pub struct Signers {
    /// The policy's key.
    pub current: minisign::PublicKey,
    /// Retired keys, as the policy lists them.
    pub retired: Vec<Retired>,
}

/// Who signed: the key's id, and whether it is a retired one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Signer {
    /// The key id (16 uppercase hex digits).
    pub key_id: String,
    /// Whether it is a previous key of the policy.
    pub retired: bool,
}

impl Signers {
    /// Loads the policy's keys.
    pub fn load(signing: &Signing) -> Result<Signers> {
        let current = keys::load_public_key(&signing.public_key)?;
        let mut retired = Vec::new();
        for p in &signing.previous {
            let key = keys::load_public_key(&p.public_key)?;
            retired.push(Retired {
                id: keys::key_id(&key),
                key,
                until: p.until,
            });
        }
        Ok(Signers { current, retired })
    }

    /// Only this key (a package's own signing key, say).
    pub fn only(key: minisign::PublicKey) -> Signers {
        Signers {
            current: key,
            retired: Vec::new(),
        }
    }

    /// Verifies the `.minisig` `sig` over `data`, made at `made`: by the
    /// current key, or by a retired key when `made` is before its `until`
    /// day. `Ok` gives the trusted comment and the signer.
    pub fn verify(
        &self,
        data: &Path,
        sig: &Path,
        made: Option<DateTime<Utc>>,
    ) -> Result<(String, Signer)> {
        // The signature names its key: `data` is read once, with that key
        // (or with the current one, whose error then says what is wrong).
        let named = crate::bounded::read_metadata_file(sig, crate::bounded::METADATA_CAP)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| minisign::SignatureBox::from_string(&t).ok())
            .map(|b| b.keynum().to_vec());
        let current = named.as_deref() == Some(self.current.keynum());
        let retired = self
            .retired
            .iter()
            .find(|r| !current && named.as_deref() == Some(r.key.keynum()));
        let Some(r) = retired else {
            let comment = keys::verify_signature(&self.current, data, sig)?;
            let signer = Signer {
                key_id: keys::key_id(&self.current),
                retired: false,
            };
            return Ok((comment, signer));
        };
        let comment = keys::verify_signature(&r.key, data, sig)?;
        let end = Local
            .from_local_datetime(&r.until.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.with_timezone(&Utc));
        match (made, end) {
            (Some(made), Some(end)) if made >= end => Err(Error::Integrity {
                path: sig.to_path_buf(),
                detail: format!(
                    "signed with the retired key {} after its retirement on {} (made {})",
                    r.id,
                    r.until,
                    made.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            }),
            _ => Ok((
                comment,
                Signer {
                    key_id: r.id.clone(),
                    retired: true,
                },
            )),
        }
    }
}
