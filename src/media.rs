//! Media: registered volumes, destination locks and free space.
//!
//! The media rule (別添5 5(4)): only permitted media are written to. A
//! destination is usable only if its directory exists (a missing USB disk must
//! never turn into a folder on the system drive), carries a `kura-volume.json`
//! written by `kura volume register`, and that marker's id is listed in the
//! destination's `volumes`. All three are checked before anything is written.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Action, Error, Result};
use crate::policy::Destination;

/// The marker file at the root of a registered destination.
pub const VOLUME_MARKER: &str = "kura-volume.json";
/// The format tag of the marker.
pub const VOLUME_FORMAT: &str = "kura-volume/1";
/// The lock file a run holds on each destination.
pub const LOCK_FILE: &str = "kura.lock";

/// The contents of `kura-volume.json`. Unknown keys are ignored, as the
/// format's version rule asks (docs/FORMAT.md); another `format` is refused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VolumeMarker {
    /// Always [`VOLUME_FORMAT`].
    pub format: String,
    /// The volume id, `kv-` and 12 hex digits.
    pub id: String,
    /// A human label, e.g. "HDD1 (2024年度)".
    pub label: String,
    /// When it was registered (RFC 3339).
    pub registered_at: String,
    /// Who registered it.
    pub registered_by: String,
}

/// Registers `dir` (created if absent, but never its parents) as a new
/// volume; refuses if it already is one.
pub fn register(
    dir: &Path,
    label: &str,
    operator: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<VolumeMarker> {
    if let Some(existing) = read_marker(dir)? {
        return Err(Error::AlreadyRegistered {
            path: dir.to_path_buf(),
            id: existing.id,
        });
    }
    // Only the last component is created: a parent that is missing means the
    // disk is not there, and registering a folder on the system drive instead
    // is exactly the mistake the media rule exists to prevent.
    if !dir.is_dir() {
        fs::create_dir(dir).map_err(|e| Error::io(Action::Create, dir, e))?;
    }
    let marker = VolumeMarker {
        format: VOLUME_FORMAT.to_string(),
        id: format!("kv-{}", hex::encode(rand::random::<[u8; 6]>())),
        label: label.to_string(),
        registered_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        registered_by: operator.to_string(),
    };
    let json = serde_json::to_vec_pretty(&marker).map_err(io::Error::other);
    let mut json = json.map_err(|e| Error::io(Action::Write, dir.join(VOLUME_MARKER), e))?;
    // Like every JSON document kura writes: two-space indent, final newline.
    json.push(b'\n');
    write_atomically(&dir.join(VOLUME_MARKER), &json)?;
    Ok(marker)
}

/// Reads a destination's marker; `Ok(None)` if there is none.
pub fn read_marker(dir: &Path) -> Result<Option<VolumeMarker>> {
    let path = dir.join(VOLUME_MARKER);
    let bytes = match crate::bounded::read_capped(&path, crate::bounded::METADATA_CAP) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(Error::BadVolumeMarker {
                path,
                detail: e.to_string(),
            })
        }
        Err(e) => return Err(Error::io(Action::Read, &path, e)),
    };
    let marker: VolumeMarker =
        serde_json::from_slice(&bytes).map_err(|e| Error::BadVolumeMarker {
            path: path.clone(),
            detail: e.to_string(),
        })?;
    if marker.format != VOLUME_FORMAT {
        return Err(Error::BadVolumeMarker {
            path,
            detail: format!("unknown format {:?}", marker.format),
        });
    }
    Ok(Some(marker))
}

/// Checks the media rule for a destination and returns its marker.
pub fn check_destination(dest: &Destination) -> Result<VolumeMarker> {
    if !dest.path.is_dir() {
        return Err(Error::DestinationMissing {
            dest: dest.name.clone(),
            path: dest.path.clone(),
        });
    }
    match read_marker(&dest.path)? {
        Some(m) if dest.volumes.iter().any(|v| v == &m.id) => Ok(m),
        found => Err(Error::UnregisteredVolume {
            dest: dest.name.clone(),
            path: dest.path.clone(),
            found: found.map(|m| m.id),
        }),
    }
}

/// An exclusive lock on a destination, released when dropped (or when the
/// process dies: the OS releases it, so a killed run never blocks the next).
#[derive(Debug)]
pub struct DestinationLock {
    _file: File,
    path: PathBuf,
}

impl DestinationLock {
    /// Takes the lock or fails at once with [`Error::Locked`].
    pub fn acquire(dir: &Path) -> Result<DestinationLock> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(Action::Create, &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(DestinationLock { _file: file, path }),
            Err(fs::TryLockError::WouldBlock) => Err(Error::Locked { path }),
            Err(fs::TryLockError::Error(e)) => Err(Error::io(Action::Write, &path, e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Free and total bytes of the file system holding `path`.
pub fn space(path: &Path) -> Result<(u64, u64)> {
    let available = fs4::available_space(path).map_err(|e| Error::io(Action::Stat, path, e))?;
    let total = fs4::total_space(path).map_err(|e| Error::io(Action::Stat, path, e))?;
    Ok((available, total))
}

/// Writes a small file by temporary name, fsync and rename, then syncs the directory.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    write_with_mode(path, contents, 0o644)
}

/// [`write_atomically`] for a file readable by its owner only.
pub fn write_private_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    write_with_mode(path, contents, 0o600)
}

/// [`write_atomically`], published with Unix `mode`.
fn write_with_mode(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".kura-tmp-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(Action::Create, dir, e))?;
    // Windows: owner-only before anything private is written (no mode bits).
    if mode & 0o077 == 0 {
        crate::private::restrict(tmp.path())
            .map_err(|e| Error::io(Action::Create, tmp.path(), e))?;
    }
    tmp.write_all(contents)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(Action::Write, tmp.path(), e))?;
    // Temporary files are private; what is published here is not.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.persist(path)
        .map_err(|e| Error::io(Action::Rename, path, e.error))?;
    sync_dir(dir)
}

/// Writes a document the user asked for with `--out`: replaces an earlier
/// regular file (a report made again), but never a link, device or directory.
pub fn write_document(path: &Path, contents: &[u8]) -> Result<()> {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if !meta.is_file() {
            return Err(Error::WouldOverwrite {
                path: path.to_path_buf(),
            });
        }
    }
    // Certificates and reports name people and data: private (0600).
    write_with_mode(path, contents, 0o600)
}

/// Flushes a directory's entries (a rename is durable only after this). A no-op
/// where the platform cannot open directories (Windows).
pub fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(Action::Sync, dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The `[[disks]]` entry a path (a destination's directory, a file) lives
/// on: same drive (device on Unix, drive or share on Windows), the longest
/// path prefix first. None when the path does not exist or no entry shares
/// its drive.
pub fn disk_of(disks: &[crate::policy::Disk], dest: &Path) -> Option<usize> {
    if fs::symlink_metadata(dest).is_err() {
        return None;
    }
    let dest = dest.canonicalize().ok()?;
    disks
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let disk = d.path.canonicalize().ok()?;
            same_drive(&disk, &dest).then(|| {
                let depth = if dest.starts_with(&disk) {
                    disk.components().count()
                } else {
                    0
                };
                (depth, std::cmp::Reverse(i))
            })
        })
        .max()
        .map(|(_, std::cmp::Reverse(i))| i)
}

#[cfg(unix)]
fn same_drive(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_drive(a: &Path, b: &Path) -> bool {
    let root = |p: &Path| {
        p.components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().to_lowercase())
    };
    root(a).is_some() && root(a) == root(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(path: &Path, volumes: &[&str]) -> Destination {
        Destination {
            name: "hdd1".into(),
            label: "HDD1".into(),
            path: path.to_path_buf(),
            volumes: volumes.iter().map(|s| s.to_string()).collect(),
            min_free_gib: None,
        }
    }

    #[test]
    fn registered_volume_is_accepted_only_when_listed() {
        let dir = tempfile::tempdir().unwrap();
        let m = register(dir.path(), "HDD1", "山田 太郎", chrono::Utc::now()).unwrap();
        assert!(m.id.starts_with("kv-") && m.id.len() == 15);
        assert_eq!(
            check_destination(&dest(dir.path(), &[&m.id])).unwrap().id,
            m.id
        );
        let refused = check_destination(&dest(dir.path(), &["kv-000000000000"])).unwrap_err();
        assert_eq!(refused.exit_code().code(), 4);
    }

    #[test]
    fn missing_destination_is_operational_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("usb-hdd");
        let err = check_destination(&dest(&gone, &[])).unwrap_err();
        assert_eq!(err.exit_code().code(), 3);
        assert!(!gone.exists());
    }

    #[test]
    fn registering_never_creates_missing_parents() {
        let dir = tempfile::tempdir().unwrap();
        let unplugged = dir.path().join("media/usb/kura");
        let err = register(&unplugged, "HDD1", "x", chrono::Utc::now()).unwrap_err();
        assert_eq!(err.exit_code().code(), 3);
        assert!(!dir.path().join("media").exists());
    }

    #[test]
    fn the_marker_is_indented_by_two_spaces_and_ends_with_a_newline() {
        let dir = tempfile::tempdir().unwrap();
        let kura = dir.path().join("kura");
        register(&kura, "HDD1", "山田 太郎", chrono::Utc::now()).unwrap();
        let text = fs::read_to_string(kura.join(VOLUME_MARKER)).unwrap();
        assert!(text.ends_with("}\n"), "{text:?}");
        assert!(text.contains("\n  \"format\": "), "{text:?}");
    }

    #[test]
    fn a_marker_with_a_key_added_by_a_later_version_reads_and_another_format_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let kura = dir.path().join("kura");
        let m = register(&kura, "HDD1", "山田 太郎", chrono::Utc::now()).unwrap();
        let path = kura.join(VOLUME_MARKER);
        let text = fs::read_to_string(&path).unwrap();
        fs::write(&path, text.replacen('{', "{\n  \"serial\": \"WX12\",", 1)).unwrap();
        assert_eq!(read_marker(&kura).unwrap(), Some(m));
        fs::write(&path, text.replace("kura-volume/1", "kura-volume/2")).unwrap();
        assert!(read_marker(&kura).is_err());
    }

    #[test]
    fn registering_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        register(dir.path(), "a", "x", chrono::Utc::now()).unwrap();
        let err = register(dir.path(), "b", "x", chrono::Utc::now()).unwrap_err();
        assert_eq!(err.exit_code().code(), 4);
    }

    #[test]
    fn second_lock_on_a_destination_fails_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = DestinationLock::acquire(dir.path()).unwrap();
        let second = DestinationLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(second, Error::Locked { .. }));
        drop(first);
        DestinationLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn garbage_marker_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(VOLUME_MARKER), b"\x00\xffnot json").unwrap();
        let err = check_destination(&dest(dir.path(), &[])).unwrap_err();
        assert!(err.to_string().contains(VOLUME_MARKER), "{err}");
    }
}
