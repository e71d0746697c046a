//! Keys: age identities and recipients, minisign signing keys.
//!
//! The backup host holds only recipients; identities live offline and are
//! passphrase-protected by default (an age file encrypted with scrypt, which the
//! stock `age -d -i` also opens). Identity files of the stock `age-keygen` work
//! unchanged. Signing keys are minisign keys stored *unencrypted* (as
//! `minisign -G -W` makes them) so the unattended job can sign; the stock
//! `minisign -S` and `-V` use them as they are.
//!
//! Nothing here ever puts key material into an error: errors name the file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};

use crate::error::{Action, Error, Result};

/// scrypt work factor (log2 N) for passphrase-protected identities: the
/// stock `age` CLI's value.
pub const SCRYPT_WORK_FACTOR: u8 = 18;

/// The largest key file kura reads; anything bigger is not a key.
const MAX_KEY_FILE: u64 = 1 << 20;

/// Asks for a passphrase; `None` means none can be had (no terminal, no variable).
pub type PassphraseSource<'a> = &'a dyn Fn(&str) -> Option<SecretString>;

/// An identity file's contents, opened.
pub struct Identities {
    keys: Vec<age::x25519::Identity>,
}

impl Identities {
    /// The identities as age wants them.
    pub fn as_dyn(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.keys.iter().map(|k| k as &dyn age::Identity)
    }

    /// The recipient (`age1…`) of each identity.
    pub fn recipients(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| k.to_public().to_string())
            .collect()
    }
}

fn key_error(path: &Path, ja: impl Into<String>, en: impl Into<String>) -> Error {
    Error::key(path, ja, en)
}

fn read_small(path: &Path) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::key_io(path, &e))?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::key_io(path, &e))?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(key_error(
            path,
            "鍵ファイルとしては大きすぎます",
            "too large to be a key file",
        ));
    }
    Ok(bytes)
}

/// Writes a new file readable only by its owner; never replaces an existing one.
fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Error::WouldOverwrite {
                path: path.to_path_buf(),
            }
        } else {
            Error::io(Action::Create, path, e)
        }
    })?;
    // Owner-only before the secret is written (Windows: a DACL; Unix: the mode above).
    let written = crate::private::restrict(path)
        .and_then(|()| file.write_all(contents))
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(Error::io(Action::Write, path, e));
    }
    Ok(())
}

/// Writes a new public file; never replaces an existing one.
fn write_public(path: &Path, contents: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Error::WouldOverwrite {
                    path: path.to_path_buf(),
                }
            } else {
                Error::io(Action::Create, path, e)
            }
        })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(Action::Write, path, e))
}

/// Creates a new X25519 identity at `out` and returns its recipient.
/// With a passphrase the file is an age file encrypted with scrypt (ASCII
/// armored, so it can also be printed for the safe); without, it is exactly what
/// `age-keygen` writes.
pub fn generate_age_identity(
    out: &Path,
    passphrase: Option<SecretString>,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let text = SecretString::from(format!(
        "# created: {}\n# public key: {recipient}\n{}\n",
        created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        identity.to_string().expose_secret()
    ));
    let contents = match passphrase {
        None => text.expose_secret().as_bytes().to_vec(),
        Some(pass) => {
            // A fixed work factor, as the stock `age -p` uses, rather than
            // age's auto-tuning, so a key's strength never depends on the build
            // or the machine that made it.
            let mut recipient = age::scrypt::Recipient::new(pass);
            recipient.set_work_factor(SCRYPT_WORK_FACTOR);
            let encryptor =
                age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                    .map_err(|e| Error::key_library(out, "age", &e.to_string()))?;
            let mut out_buf = Vec::new();
            let armored = age::armor::ArmoredWriter::wrap_output(
                &mut out_buf,
                age::armor::Format::AsciiArmor,
            )
            .map_err(|e| Error::key_library(out, "age", &e.to_string()))?;
            let mut writer = encryptor
                .wrap_output(armored)
                .map_err(|e| Error::key_library(out, "age", &e.to_string()))?;
            writer
                .write_all(text.expose_secret().as_bytes())
                .and_then(|()| writer.finish())
                .and_then(|armored| armored.finish())
                .map_err(|e| Error::key_library(out, "age", &e.to_string()))?;
            out_buf
        }
    };
    write_private(out, &contents)?;
    Ok(recipient)
}

/// Whether the bytes are an age-encrypted file (binary or armored).
fn is_age_file(bytes: &[u8]) -> bool {
    bytes.starts_with(b"age-encryption.org/") || bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE")
}

/// Opens an identity file: plain (`AGE-SECRET-KEY-1…` lines with `#` comments)
/// or passphrase-protected (asks `passphrase`).
pub fn load_identities(path: &Path, passphrase: PassphraseSource) -> Result<Identities> {
    let bytes = read_small(path)?;
    let text = if is_age_file(&bytes) {
        decrypt_identity_file(path, &bytes, passphrase)?
    } else {
        SecretString::from(String::from_utf8(bytes).map_err(|_| {
            key_error(
                path,
                "age の秘密鍵ファイルではありません",
                "not an age identity file",
            )
        })?)
    };
    let mut keys = Vec::new();
    for (i, line) in text.expose_secret().lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = age::x25519::Identity::from_str(line).map_err(|_| {
            key_error(
                path,
                format!(
                    "{} 行目は age の X25519 秘密鍵 (AGE-SECRET-KEY-1…) ではありません",
                    i + 1
                ),
                format!(
                    "line {} is not an age X25519 identity (AGE-SECRET-KEY-1…)",
                    i + 1
                ),
            )
        })?;
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(key_error(
            path,
            "age の秘密鍵が含まれていません",
            "holds no age identity",
        ));
    }
    Ok(Identities { keys })
}

fn decrypt_identity_file(
    path: &Path,
    bytes: &[u8],
    passphrase: PassphraseSource,
) -> Result<SecretString> {
    let reader = age::armor::ArmoredReader::new(bytes);
    let decryptor = age::Decryptor::new(reader).map_err(|e| {
        key_error(
            path,
            format!("読み取れる age ファイルではありません (age の詳細: {e})"),
            format!("not a readable age file: {e}"),
        )
    })?;
    if !decryptor.is_scrypt() {
        return Err(key_error(
            path,
            "パスフレーズではなく別の鍵で暗号化されているため、kura では開けません",
            "is encrypted to a key, not a passphrase; kura cannot open it",
        ));
    }
    let prompt = format!("Passphrase for {}", path.display());
    let pass = passphrase(&prompt).ok_or_else(|| {
        key_error(
            path,
            "パスフレーズで保護されていますが、パスフレーズが与えられていません。端末から実行してパスフレーズを入力するか、KURA_PASSPHRASE を設定してください",
            "is passphrase-protected and no passphrase was given (run on a terminal or set KURA_PASSPHRASE)",
        )
    })?;
    let mut identity = age::scrypt::Identity::new(pass);
    identity.set_max_work_factor(30);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => key_error(
                path,
                "パスフレーズが違います。入力し直してください",
                "wrong passphrase",
            ),
            other => Error::key_library(path, "age", &other.to_string()),
        })?;
    let mut plain = String::new();
    reader.read_to_string(&mut plain).map_err(|_| {
        key_error(
            path,
            "パスフレーズが違うか、ファイルが壊れています",
            "wrong passphrase or damaged file",
        )
    })?;
    Ok(SecretString::from(plain))
}

/// Parses `age1…` recipients for encryption.
pub fn parse_recipients(texts: &[String]) -> Result<Vec<age::x25519::Recipient>> {
    texts
        .iter()
        .map(|t| {
            age::x25519::Recipient::from_str(t.trim())
                .map_err(|e| Error::Usage(format!("not an age recipient: {t}: {e}")))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// minisign

/// A loaded signing key pair.
pub struct SigningKey {
    secret: minisign::SecretKey,
    public: minisign::PublicKey,
}

/// Creates an unencrypted minisign key pair, compatible with `minisign -G -W`.
/// Returns the key id (as `minisign` prints it).
pub fn generate_signing_keypair(secret_out: &Path, public_out: &Path) -> Result<String> {
    for p in [secret_out, public_out] {
        if p.exists() {
            return Err(Error::WouldOverwrite {
                path: p.to_path_buf(),
            });
        }
    }
    // The crate's "unencrypted" pair lacks a checksum and still names scrypt as
    // its KDF, which the reference tool would ask a password for. An empty
    // password gives a checksummed, unencrypted key; zeroing the KDF id makes
    // it what `minisign -G -W` writes.
    let pair = minisign::KeyPair::generate_encrypted_keypair(Some(String::new()))
        .map_err(|e| Error::key_library(secret_out, "minisign", &e.to_string()))?;
    let mut raw = pair.sk.to_bytes();
    raw[2] = 0;
    raw[3] = 0;
    let secret = minisign::SecretKey::from_bytes(&raw)
        .map_err(|e| Error::key_library(secret_out, "minisign", &e.to_string()))?;
    let secret_box = secret
        .to_box(Some(
            "minisign secret key (unencrypted, used by kura to sign)",
        ))
        .map_err(|e| Error::key_library(secret_out, "minisign", &e.to_string()))?;
    let public_box = pair
        .pk
        .to_box()
        .map_err(|e| Error::key_library(public_out, "minisign", &e.to_string()))?;
    write_private(secret_out, secret_box.into_string().as_bytes())?;
    if let Err(e) = write_public(public_out, public_box.into_string().as_bytes()) {
        let _ = fs::remove_file(secret_out);
        return Err(e);
    }
    Ok(key_id(&pair.pk))
}

/// Loads an unencrypted minisign key pair for signing: kura's own, or one made
/// by `minisign -G -W` (which leaves the checksum empty, so the pair is checked
/// by deriving the public key from the secret one instead).
pub fn load_signing_key(secret_path: &Path, public_path: &Path) -> Result<SigningKey> {
    use ct_codecs::{Base64, Decoder};
    let not_a_key = || {
        key_error(
            secret_path,
            "暗号化されていない minisign の秘密鍵ではありません (kura keys sign または minisign -G -W で作成してください)",
            "not an unencrypted minisign secret key (create one with `kura keys sign` or `minisign -G -W`)",
        )
    };
    let secret_text = String::from_utf8(read_small(secret_path)?).map_err(|_| not_a_key())?;
    let encoded = secret_text.lines().nth(1).ok_or_else(not_a_key)?.trim();
    let raw = Base64::decode_to_vec(encoded, None).map_err(|_| not_a_key())?;
    if raw.len() != 158 || &raw[0..2] != b"Ed" {
        return Err(not_a_key());
    }
    if raw[2..4] != [0, 0] {
        return Err(key_error(
            secret_path,
            "パスワードで保護されています。定期実行には暗号化されていない鍵が必要です (kura keys sign または minisign -G -W で作成してください)",
            "is passphrase-protected; the scheduled job needs an unencrypted key (`kura keys sign` or `minisign -G -W`)",
        ));
    }
    let secret = minisign::SecretKey::from_bytes(&raw).map_err(|_| not_a_key())?;
    let public = load_public_key(public_path)?;
    let derived = minisign::PublicKey::from_secret_key(&secret).map_err(|_| not_a_key())?;
    if derived.to_bytes() != public.to_bytes() {
        return Err(key_error(
            public_path,
            "秘密鍵と対になる公開鍵ではありません",
            "does not belong to the secret key",
        ));
    }
    Ok(SigningKey { secret, public })
}

/// Loads an approver's minisign secret key (unencrypted, or protected by a
/// password as stock `minisign -G` makes it, asked through `passphrase`) and
/// checks that it is the half of `public`, the key the policy registers.
pub fn load_approver_key(
    secret_path: &Path,
    public: &minisign::PublicKey,
    passphrase: PassphraseSource,
) -> Result<SigningKey> {
    use ct_codecs::{Base64, Decoder};
    let not_a_key = || {
        key_error(
            secret_path,
            "minisign の秘密鍵ではありません",
            "not a minisign secret key",
        )
    };
    let text = String::from_utf8(read_small(secret_path)?).map_err(|_| not_a_key())?;
    let encoded = text.lines().nth(1).ok_or_else(not_a_key)?.trim();
    let raw = Base64::decode_to_vec(encoded, None).map_err(|_| not_a_key())?;
    if raw.len() != 158 || &raw[0..2] != b"Ed" {
        return Err(not_a_key());
    }
    let secret = if raw[2..4] == [0, 0] {
        minisign::SecretKey::from_bytes(&raw).map_err(|_| not_a_key())?
    } else {
        let password =
            passphrase(&format!("password of {}", secret_path.display())).ok_or_else(|| {
                key_error(
                    secret_path,
                    "パスワードで保護されています。端末で入力するか KURA_PASSPHRASE で与えてください",
                    "is password-protected; give its password (KURA_PASSPHRASE or the terminal)",
                )
            })?;
        let sk_box = minisign::SecretKeyBox::from_string(&text).map_err(|_| not_a_key())?;
        minisign::SecretKey::from_box(sk_box, Some(password.expose_secret().to_string())).map_err(
            |_| {
                key_error(
                    secret_path,
                    "この鍵のパスワードが違います",
                    "wrong password for this key",
                )
            },
        )?
    };
    let derived = minisign::PublicKey::from_secret_key(&secret).map_err(|_| not_a_key())?;
    if derived.to_bytes() != public.to_bytes() {
        return Err(Error::refused(
            format!(
                "{} は登録された承認者の公開鍵 ({}) と対になる秘密鍵ではありません",
                secret_path.display(),
                key_id(public)
            ),
            format!(
                "{} is not the secret half of the registered approver's key {}",
                secret_path.display(),
                key_id(public)
            ),
        ));
    }
    Ok(SigningKey {
        secret,
        public: public.clone(),
    })
}

/// Verifies a minisign signature (the text of a `.minisig`) over `text`.
pub fn verify_text(public: &minisign::PublicKey, text: &str, signature: &str) -> Result<String> {
    let bad = |detail: String| Error::Integrity {
        path: PathBuf::from("signature"),
        detail,
    };
    let signature = minisign::SignatureBox::from_string(signature)
        .map_err(|_| bad("not a minisign signature".into()))?;
    minisign::verify(
        public,
        &signature,
        io::Cursor::new(text.as_bytes()),
        true,
        false,
        false,
    )
    .map_err(|e| bad(format!("signature does not verify: {e}")))?;
    signature
        .trusted_comment()
        .map_err(|_| bad("signature has no trusted comment".into()))
}

/// Loads a minisign public key file.
pub fn load_public_key(path: &Path) -> Result<minisign::PublicKey> {
    let text = String::from_utf8(read_small(path)?).map_err(|_| {
        key_error(
            path,
            "minisign の公開鍵ではありません",
            "not a minisign public key",
        )
    })?;
    minisign::PublicKeyBox::from_string(&text)
        .and_then(|b| b.into_public_key())
        .map_err(|_| {
            key_error(
                path,
                "minisign の公開鍵ではありません",
                "not a minisign public key",
            )
        })
}

/// A minisign key id as `minisign` prints it: 16 uppercase hex digits.
pub fn key_id(public: &minisign::PublicKey) -> String {
    let mut id = [0u8; 8];
    id.copy_from_slice(&public.keynum()[..8]);
    format!("{:016X}", u64::from_le_bytes(id))
}

/// A minisign public key from its base64 line (the second line of a `.pub`).
pub fn public_key_from_base64(text: &str) -> Option<minisign::PublicKey> {
    minisign::PublicKey::from_base64(text.trim()).ok()
}

impl SigningKey {
    /// The public half.
    pub fn public_key(&self) -> &minisign::PublicKey {
        &self.public
    }

    /// Signs a text; returns the `.minisig` text.
    pub fn sign_text(&self, text: &str, trusted_comment: &str) -> Result<String> {
        self.sign_bytes(text.as_bytes(), trusted_comment)
    }

    /// Signs bytes; returns the `.minisig` text. Signatures are randomised,
    /// so a file written to several places is signed once and the same
    /// signature written to each.
    pub fn sign_bytes(&self, data: &[u8], trusted_comment: &str) -> Result<String> {
        minisign::sign(
            Some(&self.public),
            &self.secret,
            io::Cursor::new(data),
            Some(trusted_comment),
            Some("signed by kura"),
        )
        .map(|s| s.into_string())
        .map_err(|e| Error::key_library("signature", "minisign", &e.to_string()))
    }

    /// Signs `data` into `sig_out` (the `.minisig` format), with a trusted comment.
    pub fn sign_file(&self, data: &Path, sig_out: &Path, trusted_comment: &str) -> Result<()> {
        let file = File::open(data).map_err(|e| Error::io(Action::Read, data, e))?;
        let signature = minisign::sign(
            Some(&self.public),
            &self.secret,
            BufReader::new(file),
            Some(trusted_comment),
            Some("signed by kura"),
        )
        .map_err(|e| Error::io(Action::Read, data, io::Error::other(e.to_string())))?;
        let mut out = File::create(sig_out).map_err(|e| Error::io(Action::Create, sig_out, e))?;
        out.write_all(signature.into_string().as_bytes())
            .and_then(|()| out.sync_all())
            .map_err(|e| Error::io(Action::Write, sig_out, e))
    }
}

/// Verifies a `.minisig` over `data` with a public key; `Ok(trusted comment)`.
pub fn verify_signature(public: &minisign::PublicKey, data: &Path, sig: &Path) -> Result<String> {
    let file =
        crate::bounded::open_regular(data).map_err(|e| crate::bounded::finding_or_io(data, e))?;
    verify_signature_of(public, io::BufReader::new(file), sig)
}

/// Verifies a `.minisig` over what `data` yields (e.g. bytes already read,
/// so what is checked is what is used); `Ok(trusted comment)`.
pub fn verify_signature_of(
    public: &minisign::PublicKey,
    data: impl Read + io::Seek,
    sig: &Path,
) -> Result<String> {
    let bad = |detail: String| Error::Integrity {
        path: sig.to_path_buf(),
        detail,
    };
    let sig_bytes = crate::bounded::read_metadata_file(sig, crate::bounded::METADATA_CAP)?;
    let sig_text =
        String::from_utf8(sig_bytes).map_err(|_| bad("not a minisign signature".into()))?;
    let signature = minisign::SignatureBox::from_string(&sig_text)
        .map_err(|_| bad("not a minisign signature".into()))?;
    minisign::verify(public, &signature, data, true, false, false)
        .map_err(|e| bad(format!("signature does not verify: {e}")))?;
    signature
        .trusted_comment()
        .map_err(|_| bad("signature has no trusted comment".into()))
}
