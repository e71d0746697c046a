//! What an erasure may touch, and how it finds it.
//!
//! - Paths are walked without following links: a symbolic link (or, on
//!   Windows, a junction) at any level is refused at request time and a
//!   finding at execution, so a snapshot directory swapped for a link can
//!   never make kura overwrite the link's target.
//! - Every file is named by its identity on its volume too (device and inode;
//!   volume serial and file index on Windows), recorded at request time and
//!   compared on the open handle before a byte is written.
//! - Some files are never erasable by `overwrite`: kura's audit database and
//!   everything beside it that belongs to it (journal, copies, checkpoint
//!   files, certificates), any file of a snapshot (including by another hard
//!   link) — those go only as a whole snapshot, under the retention floor —
//!   and age identities, which go only by crypto-erase.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::snapshot;

/// A file's identity on its volume, as text (`dev:ino`), from an open handle.
pub fn file_id(file: &File) -> Option<String> {
    imp::file_id(file)
}

/// A file's identity from its path, without following a final link.
pub fn path_id(path: &Path) -> Option<String> {
    imp::path_id(path)
}

#[cfg(unix)]
mod imp {
    use std::fs::{self, File};
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    pub fn file_id(file: &File) -> Option<String> {
        file.metadata()
            .ok()
            .map(|m| format!("{}:{}", m.dev(), m.ino()))
    }

    pub fn path_id(path: &Path) -> Option<String> {
        fs::symlink_metadata(path)
            .ok()
            .map(|m| format!("{}:{}", m.dev(), m.ino()))
    }
}

#[cfg(windows)]
mod imp {
    use std::fs::{File, OpenOptions};
    use std::os::windows::fs::OpenOptionsExt;
    use std::path::Path;

    /// Opens the link itself, never its target.
    const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    /// Needed to open a directory handle.
    const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;

    pub fn file_id(file: &File) -> Option<String> {
        winapi_util::file::information(file)
            .ok()
            .map(|i| format!("{:x}:{:x}", i.volume_serial_number(), i.file_index()))
    }

    pub fn path_id(path: &Path) -> Option<String> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS)
            .open(path)
            .ok()?;
        file_id(&file)
    }
}

#[cfg(not(any(unix, windows)))]
mod imp {
    use std::fs::File;
    use std::path::Path;

    pub fn file_id(_: &File) -> Option<String> {
        None
    }

    pub fn path_id(_: &Path) -> Option<String> {
        None
    }
}

/// The first link on the way to `path`, checking every component from
/// `from` (or from the root, if `from` is `None`) down to `path` itself.
pub fn first_link(from: Option<&Path>, path: &Path) -> Option<PathBuf> {
    let start = from.unwrap_or(Path::new(""));
    let rest = match from {
        Some(base) => path.strip_prefix(base).ok()?,
        None => path,
    };
    let mut at = start.to_path_buf();
    if from.is_some() && is_link(&at) {
        return Some(at);
    }
    for c in rest.components() {
        at.push(c);
        if matches!(c, Component::Normal(_)) && is_link(&at) {
            return Some(at);
        }
    }
    None
}

fn is_link(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// The first 64 KiB of a file says whether it is an age identity: a plain
/// `AGE-SECRET-KEY-1…` line, or a passphrase-protected (scrypt) age file,
/// which is how kura stores identities.
pub fn looks_like_identity(path: &Path) -> bool {
    let mut head = Vec::new();
    if File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .is_err()
    {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    text.contains("AGE-SECRET-KEY-1")
        || text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
        || (text.starts_with("age-encryption.org/v1") && text.contains("\n-> scrypt "))
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Refuses (exit 4) a `--file` that is one of kura's own records, an
/// identity, or a part of a snapshot; `retention_keeps` tells whether a
/// snapshot is under the retention floor.
pub fn refuse_protected(
    policy: &Policy,
    path: &Path,
    retention_keeps: &dyn Fn(&str) -> Result<Option<String>>,
) -> Result<()> {
    let real = canonical(path);
    let id = path_id(path);
    let db = &policy.audit_database;
    let db_dir = canonical(db.parent().unwrap_or(Path::new(".")));
    let db_name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let beside_db = real.parent() == Some(db_dir.as_path())
        && real
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(&db_name));
    let records = [
        crate::audit::checkpoint_dir(db),
        crate::audit::checkpoint_dir(db).with_file_name("certificates"),
        crate::audit::checkpoint_dir(db).with_file_name("requests"),
    ];
    let in_records = records.iter().any(|d| real.starts_with(canonical(d)));
    if beside_db || in_records || (id.is_some() && id == path_id(db)) {
        return Err(Error::refused(
            format!(
                "{} は kura の監査記録 (監査ログ・その複製・チェックポイント・証明書・消去依頼書) のため消去できません",
                path.display()
            ),
            format!(
                "{} is one of kura's audit records (the audit log, its copies, checkpoints, certificates or erasure requests) and is never erased",
                path.display()
            ),
        ));
    }
    if looks_like_identity(path) {
        return Err(Error::refused(
            format!(
                "{} は age の秘密鍵 (identity) です。秘密鍵は --identity と --method crypto-erase でのみ消去します",
                path.display()
            ),
            format!(
                "{} is an age identity; identities are erased only with --identity and --method crypto-erase",
                path.display()
            ),
        ));
    }
    for dest in &policy.destinations {
        let snapshots = canonical(&dest.path.join(snapshot::SNAPSHOTS_DIR));
        let by_path = real
            .strip_prefix(&snapshots)
            .ok()
            .and_then(|rest| rest.components().next())
            .map(|c| c.as_os_str().to_string_lossy().into_owned());
        let by_id = match (&id, by_path.is_none() && dest.path.is_dir()) {
            (Some(id), true) => snapshot_holding(&dest.path, id)?,
            _ => None,
        };
        if let Some(snap) = by_path.or(by_id) {
            if let Some(why) = retention_keeps(&snap)? {
                return Err(Error::refused(
                    format!("{} はスナップショット {snap} の一部で、このスナップショットは保持規則により保持されるため消去できません ({why})", path.display()),
                    format!("{} is part of snapshot {snap}, which the retention policy keeps ({why}); it cannot be erased", path.display()),
                ));
            }
            return Err(Error::refused(
                format!("{} はスナップショット {snap} の一部です。スナップショットは --snapshot {snap} で全体を消去します", path.display()),
                format!("{} is part of snapshot {snap}; a snapshot is erased only as a whole, with --snapshot {snap}", path.display()),
            ));
        }
    }
    Ok(())
}

/// The snapshot on a destination holding a file with this identity (another
/// hard link to one of its files), if any.
fn snapshot_holding(dest: &Path, id: &str) -> Result<Option<String>> {
    for s in snapshot::list(dest)? {
        let Ok(entries) = fs::read_dir(&s.dir) else {
            continue;
        };
        for e in entries.flatten() {
            if path_id(&e.path()).as_deref() == Some(id) {
                return Ok(Some(s.id));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_link_at_any_level_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::create_dir_all(real.join("sub")).unwrap();
        fs::write(real.join("sub/f"), b"x").unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
        let through = dir.path().join("link/sub/f");
        assert_eq!(
            first_link(Some(dir.path()), &through),
            Some(dir.path().join("link"))
        );
        assert_eq!(first_link(None, &through), Some(dir.path().join("link")));
        assert_eq!(first_link(Some(dir.path()), &real.join("sub/f")), None);
    }

    #[test]
    fn identities_are_recognised_by_their_contents() {
        let dir = tempfile::tempdir().unwrap();
        let id = dir.path().join("id.txt");
        fs::write(&id, "# created\nAGE-SECRET-KEY-1QQQ\n").unwrap();
        let plain = dir.path().join("plain.txt");
        fs::write(&plain, "世帯番号\n").unwrap();
        assert!(looks_like_identity(&id));
        assert!(!looks_like_identity(&plain));
    }

    #[test]
    fn a_file_and_a_hard_link_to_it_have_one_identity() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::write(&a, b"x").unwrap();
        fs::hard_link(&a, dir.path().join("b")).unwrap();
        let c = dir.path().join("c");
        fs::write(&c, b"x").unwrap();
        assert!(path_id(&a).is_some());
        assert_eq!(path_id(&a), path_id(&dir.path().join("b")));
        assert_ne!(path_id(&a), path_id(&c));
        assert_eq!(path_id(&a), file_id(&File::open(&a).unwrap()));
    }
}
