//! Checking snapshots, at two levels.
//!
//! Without a key ([`check_snapshot`] with no identities): every file matches
//! `SHA256SUMS`, nothing is unlisted, `snapshot.json` agrees with the files, and
//! the signature verifies when the policy signs. With an identity: also decrypt,
//! decompress and read every archive to its end, checking each file against the
//! archive's `MANIFEST.sha256` ([`crate::archive::check_archive`]).
//!
//! Findings are collected, not thrown: a verify reports everything wrong with a
//! snapshot in one run. Only failures to look at all (unreadable disk, wrong
//! key) are errors.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::archive;
use crate::error::{Action, Error, Result};
use crate::keys::Identities;
use crate::policy::Source;
use crate::progress::Progress;
use crate::snapshot::{self, SnapshotMeta};
use crate::sums;

/// The verdict on one snapshot on one destination.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotVerdict {
    /// Snapshot id.
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
    /// `"sums"` (no key) or `"full"` (decrypted).
    pub level: &'static str,
    /// Whether the signature was checked and is valid (`None`: not signed by policy).
    pub signature: Option<bool>,
    /// The key that made a valid signature (a retired one is named so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<crate::signers::Signer>,
    /// Per archive, at the full level.
    pub archives: Vec<ArchiveVerdict>,
    /// Everything wrong; empty means intact.
    pub findings: Vec<String>,
}

impl SnapshotVerdict {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.findings.is_empty() && self.archives.iter().all(|a| a.findings.is_empty())
    }
}

/// The verdict on one archive, read in full.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveVerdict {
    /// Archive name.
    pub name: String,
    /// Files read.
    pub files: u64,
    /// Bytes of file contents read.
    pub bytes: u64,
    /// Everything wrong with it.
    pub findings: Vec<String>,
    /// With `--against-source`: what changed in the live files since.
    pub changes: Option<Vec<String>>,
}

/// How far to check.
pub struct CheckOptions<'a> {
    /// The policy's signing keys (current and retired), if it signs.
    pub signers: Option<&'a crate::signers::Signers>,
    /// Identities: decrypt and read everything (the full level).
    pub identities: Option<&'a Identities>,
    /// With identities: also compare with these live sources.
    pub against_source: Option<&'a [Source]>,
    /// Progress of the full level.
    pub progress: &'a dyn Progress,
}

/// Checks one snapshot directory.
pub fn check_snapshot(dir: &Path, opts: &CheckOptions) -> Result<SnapshotVerdict> {
    let (signers, identities, progress) = (opts.signers, opts.identities, opts.progress);
    let id = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let mut v = SnapshotVerdict {
        id: id.clone(),
        dir: dir.to_path_buf(),
        level: if identities.is_some() { "full" } else { "sums" },
        signature: None,
        signed_by: None,
        archives: Vec::new(),
        findings: Vec::new(),
    };

    // SHA256SUMS against the files.
    let sums_path = dir.join(snapshot::SUMS);
    let sums_bytes = crate::bounded::read_capped(&sums_path, crate::bounded::SUMS_CAP);
    let listed: BTreeMap<String, [u8; 32]> = match sums_bytes {
        Err(e) if !crate::bounded::is_finding(&e) => {
            return Err(Error::io(Action::Read, &sums_path, e))
        }
        Err(e) => {
            v.findings.push(format!("{}: {e}", snapshot::SUMS));
            BTreeMap::new()
        }
        Ok(bytes) => match sums::parse(&bytes[..]) {
            Err(e) => {
                v.findings.push(format!("{}: {e}", snapshot::SUMS));
                BTreeMap::new()
            }
            Ok(entries) => entries
                .into_iter()
                .map(|e| (String::from_utf8_lossy(&e.name).into_owned(), e.digest))
                .collect(),
        },
    };
    let mut sizes = BTreeMap::new();
    for (name, want) in &listed {
        if name.contains(['/', '\\']) || name == ".." || name == "." {
            v.findings
                .push(format!("{}: unsafe name {name:?}", snapshot::SUMS));
            continue;
        }
        let path = dir.join(name);
        let digest = crate::bounded::open_regular(&path)
            .and_then(|f| sums::digest_reader(BufReader::new(f)));
        match digest {
            Err(e) if !crate::bounded::is_finding(&e) => {
                return Err(Error::io(Action::Read, &path, e))
            }
            Err(e) => v.findings.push(format!("{name}: {e}")),
            Ok((got, len)) => {
                sizes.insert(name.clone(), len);
                if &got != want {
                    v.findings
                        .push(format!("{name}: SHA-256 does not match {}", snapshot::SUMS));
                }
            }
        }
    }
    let entries = fs::read_dir(dir).map_err(|e| Error::io(Action::List, dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(Action::List, dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != snapshot::SUMS && name != snapshot::SUMS_SIG && !listed.contains_key(&name) {
            v.findings
                .push(format!("{name}: not listed in {}", snapshot::SUMS));
        }
    }

    // snapshot.json against the files.
    let meta = match snapshot::read_meta(dir) {
        Ok(m) => Some(m),
        // The disk failed a read: no verdict on what it holds.
        Err(Error::Io {
            action,
            path,
            source,
        }) if !crate::bounded::is_finding(&source) => {
            return Err(Error::Io {
                action,
                path,
                source,
            })
        }
        Err(e) => {
            v.findings.push(e.to_string());
            None
        }
    };
    if let Some(meta) = &meta {
        agree(meta, &id, &listed, &sizes, &mut v.findings);
    }

    // The signature.
    let sig_path = dir.join(snapshot::SUMS_SIG);
    if let Some(signers) = signers {
        if !sig_path.exists() {
            v.signature = Some(false);
            v.findings
                .push(format!("{} is missing", snapshot::SUMS_SIG));
        } else {
            let made = meta
                .as_ref()
                .and_then(|m| chrono::DateTime::parse_from_rfc3339(&m.created_at).ok())
                .map(|t| t.to_utc());
            match signers.verify(&sums_path, &sig_path, made) {
                Ok((_, signer)) => {
                    v.signature = Some(true);
                    v.signed_by = Some(signer);
                }
                Err(e) => {
                    v.signature = Some(false);
                    v.findings.push(e.to_string());
                }
            }
        }
    }

    // The full level, only on a snapshot that passed the key-less one:
    // nothing a disk forged is decrypted or decompressed.
    if identities.is_some() && !v.findings.is_empty() {
        v.findings.push(
            "not decrypted: the check without a key failed / 鍵なしの検証に失敗したため復号していません"
                .to_string(),
        );
    } else if let (Some(ids), Some(meta)) = (identities, &meta) {
        for a in &meta.archives {
            crate::interrupt::check()?;
            let path = dir.join(&a.file);
            let file = match crate::bounded::open_regular(&path) {
                Ok(f) => f,
                Err(e) => {
                    v.archives.push(ArchiveVerdict {
                        name: a.name.clone(),
                        files: 0,
                        bytes: 0,
                        findings: vec![e.to_string()],
                        changes: None,
                    });
                    continue;
                }
            };
            progress.start(&a.name, a.plaintext_bytes);
            let verdict = read_archive(&path, file, ids, a, progress);
            progress.finish();
            let (mut verdict, digests) = verdict?;
            verdict.name = a.name.clone();
            if let Some(source) = opts
                .against_source
                .and_then(|sources| sources.iter().find(|s| s.name == a.name))
            {
                verdict.changes = Some(compare_with_source(source, &digests));
            }
            v.archives.push(verdict);
        }
    }
    // An interrupted read shows as a finding above; it is no verdict.
    crate::interrupt::check()?;
    Ok(v)
}

/// The bytes decrypted were not the file the key-less level checked.
pub(crate) const CHANGED_WHILE_READ: &str = "the bytes decrypted do not match SHA256SUMS (the file changed between reads, or the disk served other bytes) / 復号したデータが SHA256SUMS と一致しません（読み取りの間に変わったか、ディスクが別のデータを返しました）";

type Digests = BTreeMap<Vec<u8>, [u8; 32]>;

fn read_archive(
    path: &Path,
    file: File,
    ids: &Identities,
    a: &snapshot::ArchiveMeta,
    progress: &dyn Progress,
) -> Result<(ArchiveVerdict, Digests)> {
    let (expected_files, expected_bytes) = (a.files, a.plaintext_bytes);
    let mut verdict = ArchiveVerdict {
        name: String::new(),
        files: 0,
        bytes: 0,
        findings: Vec::new(),
        changes: None,
    };
    let mut digests = Digests::new();
    let (plain, ciphertext) = match archive::open_hashed(file, ids.as_dyn()) {
        Ok(p) => p,
        Err(archive::ReadError::WrongKey) => {
            return Err(Error::WrongKey {
                path: path.to_path_buf(),
            })
        }
        Err(archive::ReadError::NotAnArchive(e)) => {
            verdict
                .findings
                .push(format!("not a readable age file: {e}"));
            return Ok((verdict, digests));
        }
        Err(archive::ReadError::Io(e)) => {
            verdict.findings.push(e.to_string());
            return Ok((verdict, digests));
        }
    };
    match archive::check_archive(plain, progress) {
        Ok(report) => {
            verdict.files = report.files;
            verdict.bytes = report.bytes;
            verdict
                .findings
                .extend(report.findings.into_iter().map(|f| match f.entry {
                    Some(entry) => format!("{entry}: {}", f.detail),
                    None => f.detail,
                }));
            if report.files != expected_files {
                verdict.findings.push(format!(
                    "holds {} files, snapshot.json says {expected_files}",
                    report.files
                ));
            }
            if report.bytes != expected_bytes {
                verdict.findings.push(format!(
                    "holds {} bytes of files, snapshot.json says {expected_bytes}",
                    report.bytes
                ));
            }
            digests = report.digests;
            if !ciphertext.matches(&a.ciphertext_sha256, a.ciphertext_bytes) {
                verdict.findings.push(CHANGED_WHILE_READ.to_string());
            }
        }
        // The disk failed a read: an operational failure naming the file,
        // not a finding that the archive is damaged.
        Err(e) => match ciphertext.read_error() {
            Some(io) => return Err(Error::io(Action::Read, path, io)),
            None => verdict
                .findings
                .push(format!("damaged (decryption, decompression or tar): {e}")),
        },
    }
    Ok((verdict, digests))
}

/// What changed in a live source since the snapshot: files changed, gone
/// and new, by their names in the archive.
fn compare_with_source(source: &Source, stored: &Digests) -> Vec<String> {
    let mut changes = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for p in &source.paths {
        let Some(base) = p.path.file_name() else {
            continue;
        };
        for entry in walkdir::WalkDir::new(&p.path)
            .follow_links(true)
            .sort_by_file_name()
        {
            let Ok(entry) = entry else { continue };
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(&p.path).unwrap_or(Path::new(""));
            let name = Path::new(base).join(rel);
            let Ok(key) = archive::archive_name(&name) else {
                continue;
            };
            let shown = String::from_utf8_lossy(&key).into_owned();
            let live =
                File::open(entry.path()).and_then(|f| sums::digest_reader(BufReader::new(f)));
            match (stored.get(&key), live) {
                (None, _) => changes.push(format!("new: {shown}")),
                (Some(_), Err(e)) => changes.push(format!("unreadable: {shown}: {e}")),
                (Some(d), Ok((live, _))) if *d != live => changes.push(format!("changed: {shown}")),
                _ => {}
            }
            seen.insert(key);
        }
    }
    for name in stored.keys().filter(|k| !seen.contains(*k)) {
        changes.push(format!("gone: {}", String::from_utf8_lossy(name)));
    }
    changes
}

fn agree(
    meta: &SnapshotMeta,
    id: &str,
    listed: &BTreeMap<String, [u8; 32]>,
    sizes: &BTreeMap<String, u64>,
    findings: &mut Vec<String>,
) {
    if meta.id != id {
        findings.push(format!(
            "snapshot.json names id {}, directory is {id}",
            meta.id
        ));
    }
    if !listed.contains_key(snapshot::SNAPSHOT_JSON) {
        findings.push(format!("snapshot.json is not listed in {}", snapshot::SUMS));
    }
    for a in &meta.archives {
        match listed.get(&a.file) {
            None => findings.push(format!(
                "{}: in snapshot.json but not in {}",
                a.file,
                snapshot::SUMS
            )),
            Some(d) if hex::encode(d) != a.ciphertext_sha256 => findings.push(format!(
                "{}: SHA-256 in snapshot.json differs from {}",
                a.file,
                snapshot::SUMS
            )),
            Some(_) => {}
        }
        if let Some(size) = sizes.get(&a.file) {
            if *size != a.ciphertext_bytes {
                findings.push(format!(
                    "{}: {size} bytes, snapshot.json says {}",
                    a.file, a.ciphertext_bytes
                ));
            }
        }
    }
    for name in listed.keys() {
        if name != snapshot::SNAPSHOT_JSON && !meta.archives.iter().any(|a| &a.file == name) {
            findings.push(format!(
                "{name}: in {} but not in snapshot.json",
                snapshot::SUMS
            ));
        }
    }
}

/// Which snapshots to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The newest on each destination.
    Latest,
    /// All of them.
    All,
    /// One by id.
    Id(String),
}

impl Selection {
    /// Parses `latest`, `all` or a snapshot id.
    pub fn parse(text: &str) -> Result<Selection> {
        match text {
            "latest" => Ok(Selection::Latest),
            "all" => Ok(Selection::All),
            id if snapshot::is_snapshot_id(id) => Ok(Selection::Id(id.to_string())),
            other => Err(Error::BadSnapshotArgument(other.to_string())),
        }
    }
}

/// The verdicts on one destination.
#[derive(Debug, Serialize)]
pub struct DestinationVerdict {
    /// Destination name.
    pub name: String,
    /// Its directory.
    pub path: PathBuf,
    /// Why it could not be checked at all (missing disk, no such snapshot).
    #[serde(skip)]
    pub error: Option<Error>,
    /// The verdicts.
    pub snapshots: Vec<SnapshotVerdict>,
}

/// Verifies the selected snapshots on the given destinations.
pub fn verify_destinations(
    destinations: &[&crate::policy::Destination],
    selection: &Selection,
    opts: &CheckOptions,
) -> Result<Vec<DestinationVerdict>> {
    let mut out = Vec::new();
    for dest in destinations {
        let mut verdict = DestinationVerdict {
            name: dest.name.clone(),
            path: dest.path.clone(),
            error: None,
            snapshots: Vec::new(),
        };
        if !dest.path.is_dir() {
            verdict.error = Some(Error::DestinationMissing {
                dest: dest.name.clone(),
                path: dest.path.clone(),
            });
            out.push(verdict);
            continue;
        }
        let listed = snapshot::list(&dest.path)?;
        let chosen: Vec<_> = match selection {
            Selection::All => listed,
            Selection::Latest => listed.into_iter().last().into_iter().collect(),
            Selection::Id(id) => listed.into_iter().filter(|s| &s.id == id).collect(),
        };
        if chosen.is_empty() {
            verdict.error = Some(Error::Integrity {
                path: dest.path.join(snapshot::SNAPSHOTS_DIR),
                detail: match selection {
                    Selection::Id(id) => format!("no snapshot {id}"),
                    _ => "no snapshot".to_string(),
                },
            });
        }
        for s in chosen {
            verdict.snapshots.push(check_snapshot(&s.dir, opts)?);
        }
        out.push(verdict);
    }
    Ok(out)
}
