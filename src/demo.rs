//! `kura demo`: a self-contained sandbox that shows the whole monthly job.
//!
//! The sandbox holds a demo policy (`policies/demo.toml`, embedded), freshly
//! generated demo keys (unencrypted, marked as demo), synthetic master data
//! and logs ([`crate::sample_data`]), and two registered destinations. The
//! directory carries a marker file; kura only ever replaces a directory that
//! has it, never one it did not create.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::error::{Action, Error, Result};
use crate::{keys, media, sample_data};

/// The demo policy, with `@HDD1_VOLUME@` and `@HDD2_VOLUME@` placeholders.
pub const DEMO_POLICY: &str = include_str!("../policies/demo.toml");
/// The marker that says kura created a directory.
pub const MARKER: &str = ".kura-demo";
/// The operator the demo acts as.
pub const DEMO_OPERATOR: &str = "山田 太郎";

/// A prepared sandbox.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// Its root.
    pub dir: PathBuf,
    /// The policy file.
    pub policy: PathBuf,
    /// The demo identity (unencrypted).
    pub identity: PathBuf,
    /// The recipient of the demo identity.
    pub recipient: String,
    /// Files and bytes of synthetic data.
    pub data: sample_data::SampleSummary,
}

/// Builds the sandbox at `dir` with about `size_mib` MiB of synthetic data.
pub fn prepare(dir: &Path, size_mib: u64, clock: &Clock) -> Result<Sandbox> {
    clear_own_directory(dir)?;
    fs::create_dir_all(dir).map_err(|e| Error::io(Action::Create, dir, e))?;
    fs::write(
        dir.join(MARKER),
        "Created by `kura demo`; kura may replace this directory.\n",
    )
    .map_err(|e| Error::io(Action::Write, dir.join(MARKER), e))?;

    let keys_dir = dir.join("keys");
    fs::create_dir_all(&keys_dir).map_err(|e| Error::io(Action::Create, &keys_dir, e))?;
    let identity = keys_dir.join("demo-identity.txt");
    let recipient = keys::generate_age_identity(&identity, None, clock.now())?;
    let recipients = keys_dir.join("recipients.txt");
    fs::write(
        &recipients,
        format!("# DEMO recipient (its identity is keys/demo-identity.txt)\n{recipient}\n"),
    )
    .map_err(|e| Error::io(Action::Write, &recipients, e))?;
    keys::generate_signing_keypair(&keys_dir.join("kura.key"), &keys_dir.join("kura.pub"))?;

    let data = sample_data::generate(
        dir,
        &sample_data::SampleSpec {
            total_bytes: size_mib.saturating_mul(1 << 20),
            seed: 20240401,
        },
    )
    .map_err(|e| Error::io(Action::Write, dir.join("data"), e))?;

    let mut policy_text = DEMO_POLICY.to_string();
    for (placeholder, sub) in [("@HDD1_VOLUME@", "usb-hdd"), ("@HDD2_VOLUME@", "usb-hdd2")] {
        // The "disk" itself: in real life, the mounted USB drive.
        let disk = dir.join(sub).join("kura");
        if let Some(mount) = disk.parent() {
            fs::create_dir_all(mount).map_err(|e| Error::io(Action::Create, mount, e))?;
        }
        let marker = media::register(&disk, "デモ用ディスク", DEMO_OPERATOR, clock.now())?;
        policy_text = policy_text.replace(placeholder, &marker.id);
    }
    let audit_dir = dir.join("audit");
    fs::create_dir_all(&audit_dir).map_err(|e| Error::io(Action::Create, &audit_dir, e))?;
    let policy = dir.join("kura.toml");
    fs::write(&policy, policy_text).map_err(|e| Error::io(Action::Write, &policy, e))?;
    Ok(Sandbox {
        dir: dir.to_path_buf(),
        policy,
        identity,
        recipient,
        data,
    })
}

/// Removes `dir` if kura made it; refuses (exit 4) if it exists without the
/// marker and is not empty.
fn clear_own_directory(dir: &Path) -> Result<()> {
    match fs::read_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(Action::List, dir, e)),
        Ok(mut entries) => {
            let empty = entries.next().is_none();
            // Windows removes no directory that is open, listing included.
            drop(entries);
            if dir.join(MARKER).is_file() {
                fs::remove_dir_all(dir).map_err(|e| Error::io(Action::Remove, dir, e))
            } else if empty {
                Ok(())
            } else {
                Err(Error::ForeignDirectory {
                    path: dir.to_path_buf(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_demo_policy_is_a_valid_policy() {
        let p = crate::policy::Policy::parse(
            DEMO_POLICY,
            Path::new("demo.toml"),
            Path::new("."),
            crate::Lang::En,
        )
        .unwrap();
        assert_eq!(p.sources.len(), 3);
        assert_eq!(p.destinations.len(), 2);
        assert!(
            p.rehearsal.allow_clock_override,
            "a sandbox may replay months with KURA_NOW"
        );
    }

    #[test]
    fn demo_refuses_a_directory_it_did_not_create() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("precious.txt"), b"keep me").unwrap();
        let err = prepare(dir.path(), 1, &Clock::system()).unwrap_err();
        assert_eq!(err.exit_code().code(), 4);
        assert_eq!(
            fs::read(dir.path().join("precious.txt")).unwrap(),
            b"keep me"
        );
    }
}
