//! Snapshots on a destination: `snapshot.json`, listing, and publication.
//!
//! Invariant: a directory under `snapshots/` whose name is a snapshot id is
//! complete. A run builds its snapshot in `snapshots/.tmp-<id>-<pid>/`, fsyncs
//! every file and the directory, and only then renames it to `snapshots/<id>/`
//! and fsyncs `snapshots/` ([`Staging::publish`]). A killed run leaves only a
//! `.tmp-` directory, which listing ignores and the next run removes under the
//! destination lock ([`remove_leftovers`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Action, Error, Result};
use crate::media::sync_dir;

/// The directory of snapshots inside a destination.
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// The metadata file of a snapshot.
pub const SNAPSHOT_JSON: &str = "snapshot.json";
/// The checksum file over every other file of a snapshot.
pub const SUMS: &str = "SHA256SUMS";
/// The minisign signature of [`SUMS`].
pub const SUMS_SIG: &str = "SHA256SUMS.minisig";
/// The format tag of `snapshot.json`.
pub const FORMAT: &str = "kura-snapshot/1";
/// The suffix of every archive file.
pub const ARCHIVE_SUFFIX: &str = ".tar.zst.age";
/// The name of the audit database's archive.
pub const AUDIT_ARCHIVE: &str = "audit";
const STAGING_PREFIX: &str = ".tmp-";

/// `snapshot.json`: plaintext metadata, no personal data (no file names).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SnapshotMeta {
    /// Always [`FORMAT`].
    pub format: String,
    /// The snapshot id, the UTC start time `YYYYMMDDTHHMMSSZ`.
    pub id: String,
    /// Start time, RFC 3339 UTC.
    pub created_at: String,
    /// When the last archive was written, RFC 3339 UTC.
    pub finished_at: String,
    /// The month the snapshot counts for, `YYYY-MM` in local time.
    pub month: String,
    /// Where it was taken.
    pub site: SiteMeta,
    /// Which tool wrote it.
    pub tool: ToolMeta,
    /// Who ran it.
    pub operator: String,
    /// Whether `KURA_NOW` replaced the clock (a rehearsal). Written only
    /// when true; snapshots without it were taken on the real clock.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clock_overridden: bool,
    /// The real start time, RFC 3339 UTC, when `KURA_NOW` replaced the
    /// clock: `created_at` and `id` then say what the rehearsal pretended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_created_at: Option<String>,
    /// The age recipients every archive is encrypted to.
    pub recipients: Vec<String>,
    /// zstd settings used.
    pub compression: CompressionMeta,
    /// One per archive.
    pub archives: Vec<ArchiveMeta>,
    /// The audit chain head sealed into this snapshot, when the audit log is on.
    pub audit: Option<AuditMeta>,
}

/// The site of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SiteMeta {
    /// 履行場所.
    pub name: String,
    /// The system.
    pub system: String,
    /// 受託者.
    #[serde(default)]
    pub contractor: Option<String>,
    /// 契約コード.
    #[serde(default)]
    pub contract_code: Option<String>,
}

/// The tool that wrote a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolMeta {
    /// "kura".
    pub name: String,
    /// Its version.
    pub version: String,
}

/// Compression settings of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CompressionMeta {
    /// "zstd".
    pub algorithm: String,
    /// Level.
    pub level: i32,
}

/// One archive of a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArchiveMeta {
    /// The source name (or `audit`).
    pub name: String,
    /// The source's label.
    #[serde(default)]
    pub label: String,
    /// The file name, `<name>.tar.zst.age`.
    pub file: String,
    /// SHA-256 of the file as stored.
    pub ciphertext_sha256: String,
    /// Size of the file as stored.
    pub ciphertext_bytes: u64,
    /// Bytes of file contents inside.
    pub plaintext_bytes: u64,
    /// Bytes of the tar stream inside, before compression.
    #[serde(default)]
    pub tar_bytes: u64,
    /// Regular files inside (the manifest not counted).
    pub files: u64,
}

/// The audit chain head a snapshot seals.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditMeta {
    /// Sequence number of the last event.
    pub seq: u64,
    /// Its hash, hex.
    pub head: String,
}

/// The snapshot id of a start time.
pub fn snapshot_id(start: DateTime<Utc>) -> String {
    start.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Whether `name` has the form of a snapshot id.
pub fn is_snapshot_id(name: &str) -> bool {
    name.len() == 16 && chrono::NaiveDateTime::parse_from_str(name, "%Y%m%dT%H%M%SZ").is_ok()
}

/// The archive file name of a source.
pub fn archive_file_name(source: &str) -> String {
    format!("{source}{ARCHIVE_SUFFIX}")
}

/// A snapshot found on a destination.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its id (the directory name).
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its metadata, or why it could not be read.
    pub meta: std::result::Result<SnapshotMeta, String>,
    /// Whether a signature is present.
    pub signed: bool,
}

/// Reads `snapshot.json` of a snapshot directory (a regular file of at most
/// [`crate::bounded::METADATA_CAP`] bytes) and validates every name in it
/// before anything uses one: the id is the directory's name and a snapshot
/// id, each archive name is a source name (`[a-z0-9][a-z0-9-]*`) given once,
/// and each file is exactly `<name>.tar.zst.age`. Anything else is an
/// integrity finding.
pub fn read_meta(dir: &Path) -> Result<SnapshotMeta> {
    let path = dir.join(SNAPSHOT_JSON);
    let bytes = crate::bounded::read_metadata_file(&path, crate::bounded::METADATA_CAP)?;
    let meta: SnapshotMeta = serde_json::from_slice(&bytes).map_err(|e| Error::Integrity {
        path: path.clone(),
        detail: format!("not a valid snapshot.json: {e}"),
    })?;
    if meta.format != FORMAT {
        return Err(Error::Integrity {
            path,
            detail: format!("unknown format {:?}", meta.format),
        });
    }
    if let Some(detail) = unsafe_name(&meta, dir) {
        return Err(Error::Integrity { path, detail });
    }
    Ok(meta)
}

/// The first name in `snapshot.json` that is not of its documented form.
fn unsafe_name(meta: &SnapshotMeta, dir: &Path) -> Option<String> {
    let dir_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if !is_snapshot_id(&meta.id) {
        return Some(format!(
            "id {:?} is not a snapshot id (YYYYMMDDTHHMMSSZ) / id がスナップショット ID の形式ではありません",
            meta.id
        ));
    }
    if meta.id != dir_name {
        return Some(format!(
            "snapshot.json names id {}, directory is {dir_name} / snapshot.json の id がフォルダー名と異なります",
            meta.id
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for a in &meta.archives {
        if !crate::policy::is_valid_name(&a.name) {
            return Some(format!(
                "archive name {:?} is not of the form [a-z0-9][a-z0-9-]* / アーカイブ名が規定の形式ではありません",
                a.name
            ));
        }
        if a.file != archive_file_name(&a.name) {
            return Some(format!(
                "archive {} names file {:?}, not {} / アーカイブのファイル名が規定と異なります",
                a.name,
                a.file,
                archive_file_name(&a.name)
            ));
        }
        if !seen.insert(a.name.as_str()) {
            return Some(format!(
                "archive {} is named twice / アーカイブ {} が二度記載されています",
                a.name, a.name
            ));
        }
    }
    None
}

/// The snapshots of a destination directory, oldest first. A destination with
/// no `snapshots/` yet has none.
pub fn list(dest_dir: &Path) -> Result<Vec<Listed>> {
    let dir = dest_dir.join(SNAPSHOTS_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(Action::List, &dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(Action::List, &dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !is_snapshot_id(&name) || !entry.path().is_dir() {
            continue;
        }
        let path = entry.path();
        out.push(Listed {
            meta: read_meta(&path).map_err(|e| e.to_string()),
            signed: path.join(SUMS_SIG).is_file(),
            id: name,
            dir: path,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Removes staging directories left by killed runs. Call only under the lock.
pub fn remove_leftovers(dest_dir: &Path) -> Result<Vec<PathBuf>> {
    let dir = dest_dir.join(SNAPSHOTS_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(Action::List, &dir, e)),
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let is_staging = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(STAGING_PREFIX));
        if is_staging {
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(|e| Error::io(Action::Remove, &path, e))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// A snapshot being built, invisible until [`Staging::publish`].
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    target: PathBuf,
    published: bool,
}

impl Staging {
    /// Creates `snapshots/.tmp-<id>-<pid>/` on a destination; refuses if the
    /// snapshot already exists.
    pub fn create(dest_dir: &Path, id: &str) -> Result<Staging> {
        let snapshots = dest_dir.join(SNAPSHOTS_DIR);
        let target = snapshots.join(id);
        if target.exists() {
            return Err(Error::SnapshotExists { path: target });
        }
        // Never the destination itself: a missing disk must not turn into a
        // folder on the system drive.
        match fs::create_dir(&snapshots) {
            Err(e) if !(e.kind() == io::ErrorKind::AlreadyExists && snapshots.is_dir()) => {
                return Err(Error::io(Action::Create, &snapshots, e))
            }
            _ => {}
        }
        let dir = snapshots.join(format!("{STAGING_PREFIX}{id}-{}", std::process::id()));
        fs::create_dir(&dir).map_err(|e| Error::io(Action::Create, &dir, e))?;
        Ok(Staging {
            dir,
            target,
            published: false,
        })
    }

    /// Where files are written before publication.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes the snapshot visible: sync the directory, rename, sync the parent.
    pub fn publish(mut self) -> Result<PathBuf> {
        sync_dir(&self.dir)?;
        if self.target.exists() {
            return Err(Error::SnapshotExists {
                path: self.target.clone(),
            });
        }
        fs::rename(&self.dir, &self.target)
            .map_err(|e| Error::io(Action::Rename, &self.target, e))?;
        self.published = true;
        if let Some(parent) = self.target.parent() {
            sync_dir(parent)?;
        }
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    /// An unpublished staging directory is removed; if that fails too, the
    /// next run removes it under the lock.
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ids_are_utc_start_times() {
        let t = DateTime::parse_from_rfc3339("2024-01-31T01:02:03Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(snapshot_id(t), "20240131T010203Z");
        assert!(is_snapshot_id("20240131T010203Z"));
        assert!(!is_snapshot_id(".tmp-20240131T010203Z-1"));
        assert!(!is_snapshot_id("20241331T010203Z"));
    }

    /// A `snapshot.json` as kura wrote it before rehearsals were marked.
    const OLD_SNAPSHOT_JSON: &str = r#"{
  "format": "kura-snapshot/1", "id": "20240131T010203Z",
  "created_at": "2024-01-31T01:02:03Z", "finished_at": "2024-01-31T01:02:03Z",
  "month": "2024-01", "site": { "name": "札幌市処理場管理事務所", "system": "x" },
  "tool": { "name": "kura", "version": "0.1.0" }, "operator": "山田 太郎",
  "recipients": [], "compression": { "algorithm": "zstd", "level": 3 },
  "archives": [], "audit": null
}"#;

    #[test]
    fn a_key_of_a_later_version_is_ignored_and_another_format_refused() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("20240131T010203Z");
        fs::create_dir(&snap).unwrap();
        let later = OLD_SNAPSHOT_JSON.replacen('{', "{ \"retention_class\": \"monthly\",", 1);
        fs::write(snap.join(SNAPSHOT_JSON), &later).unwrap();
        assert!(read_meta(&snap).is_ok(), "unknown keys are ignored");
        fs::write(
            snap.join(SNAPSHOT_JSON),
            later.replace("kura-snapshot/1", "kura-snapshot/2"),
        )
        .unwrap();
        assert!(read_meta(&snap).is_err(), "another format is refused");
    }

    #[test]
    fn old_snapshots_without_rehearsal_fields_parse_as_real_clock_ones() {
        let meta: SnapshotMeta = serde_json::from_str(OLD_SNAPSHOT_JSON).unwrap();
        assert!(!meta.clock_overridden);
        assert_eq!(meta.real_created_at, None);
        let written = serde_json::to_value(&meta).unwrap();
        assert!(written.get("clock_overridden").is_none(), "{written}");
        assert!(written.get("real_created_at").is_none(), "{written}");
    }

    #[test]
    fn a_rehearsal_snapshot_says_so_with_the_real_time() {
        let mut meta: SnapshotMeta = serde_json::from_str(OLD_SNAPSHOT_JSON).unwrap();
        meta.clock_overridden = true;
        meta.real_created_at = Some("2026-05-01T09:00:00Z".into());
        let written = serde_json::to_value(&meta).unwrap();
        assert_eq!(written["clock_overridden"], true);
        assert_eq!(written["real_created_at"], "2026-05-01T09:00:00Z");
        let back: SnapshotMeta = serde_json::from_value(written).unwrap();
        assert_eq!(back, meta);
    }

    #[test]
    fn unpublished_staging_is_invisible_and_removed() {
        let dest = tempfile::tempdir().unwrap();
        let staging = Staging::create(dest.path(), "20240131T010203Z").unwrap();
        fs::write(staging.dir().join("x"), b"partial").unwrap();
        assert!(list(dest.path()).unwrap().is_empty());
        drop(staging);
        let left = fs::read_dir(dest.path().join(SNAPSHOTS_DIR))
            .unwrap()
            .count();
        assert_eq!(left, 0);
    }

    #[test]
    fn staging_never_creates_a_missing_destination() {
        let root = tempfile::tempdir().unwrap();
        let gone = root.path().join("usb").join("kura");
        assert!(Staging::create(&gone, "20240131T010203Z").is_err());
        assert!(!root.path().join("usb").exists());
    }

    #[test]
    fn leftovers_of_a_killed_run_are_removed() {
        let dest = tempfile::tempdir().unwrap();
        let staging = Staging::create(dest.path(), "20240131T010203Z").unwrap();
        let dir = staging.dir().to_path_buf();
        std::mem::forget(staging); // as if the process died
        assert!(dir.exists());
        assert_eq!(remove_leftovers(dest.path()).unwrap(), vec![dir.clone()]);
        assert!(!dir.exists());
    }
}
