//! Handover packages for the next contractor (第11条, 第12条, 別添5 7).
//!
//! A package is a BagIt 1.0 bag (RFC 8493) streamed as tar → zstd → age to
//! the next contractor's recipients, with a signed, plaintext
//! `FILE.manifest.json` beside it. The receiving side checks the signature and
//! the package hash, decrypts, validates the whole bag, extracts it safely and
//! writes a receipt (預り証). Formats: `docs/FORMAT.md` §11.
//!
//! Invariants:
//! - **No staging copy of the payload.** Included files and snapshot archives
//!   are read once, hashed while they are framed, and never copied to disk in
//!   the clear: the payload manifest, `bag-info.txt` (with `Payload-Oxum`) and
//!   the tag manifest are only known at the end, so they come *after* the
//!   payload in the tar. Only the audit export is staged (a SQLite copy can
//!   only be made as a file; it holds no citizen data).
//! - **Nothing half-written is visible.** The package, its manifest and the
//!   signature are written under temporary names in the output directory,
//!   fsynced, and renamed into place without ever replacing a file; a failure
//!   removes whatever was already renamed.
//! - **The package is distrusted.** Its SHA-256 is checked against the signed
//!   manifest before anything is decrypted; reading follows the restore rules
//!   (only regular files and directories with safe relative names, see
//!   [`crate::archive::read_entries`]); the bag is validated completely in the
//!   stream and, after a receive, once more on disk.
//! - **The signing key is named, and pinned when the receiver can.** Without
//!   `--sender-key` the key recorded in the manifest is used and the result says
//!   it is not pinned, with its key id to compare by phone (`docs/ARCHITECTURE.md`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::archive::{self, ArchiveStats, EntrySink, Finding, Mtime, ReadEntry, WriteError};
use crate::audit::{self, AuditLog};
use crate::clock::Clock;
use crate::error::{human_bytes, Action, Error, Result};
use crate::i18n::Lang;
use crate::keys::{self, Identities, SigningKey};
use crate::media::sync_dir;
use crate::policy::{Policy, Site};
use crate::progress::{Progress, Silent};
use crate::restore::{self, RestoreSink};
use crate::snapshot::{self, CompressionMeta, SiteMeta, ToolMeta};
use crate::sums::{self, HashingWriter, Sha256Digest};
use crate::verify;
use crate::wareki;

mod bag;
mod check;
mod create;
mod receipt;
mod receive;

use bag::*;
pub use check::*;
pub use create::*;
pub use receipt::{ReceivedAudit, ReceivedContents, ReceivedItem};
pub use receive::*;

/// The format tag of `FILE.manifest.json`.
pub const FORMAT: &str = "kura-handover/1";
/// The format tag of a receipt.
pub const RECEIPT_FORMAT: &str = "kura-receipt/1";
/// What is appended to the package's file name to name its manifest.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
/// The exact contents of `bagit.txt`.
pub const BAGIT_TXT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

const BAGIT: &str = "bagit.txt";
const PAYLOAD_MANIFEST: &str = "manifest-sha256.txt";
const TAG_MANIFEST: &str = "tagmanifest-sha256.txt";
const BAG_INFO: &str = "bag-info.txt";
const SNAPSHOTS_DIR: &str = "snapshots";
const AUDIT_DIR: &str = "audit";
const AUDIT_JSONL: &str = "kura-audit.jsonl";
const AUDIT_SQLITE: &str = "kura-audit.sqlite";
/// Reads of a package whose included files keep changing.
const MAX_ATTEMPTS: u32 = 3;
/// The largest manifest.json and tag file (other than the payload manifest) read.
const MAX_SMALL_FILE: usize = 1 << 20;
/// The largest payload manifest read (about a million files).
const MAX_PAYLOAD_MANIFEST: usize = 256 << 20;
/// `bag-info.txt` labels every kura package has.
const REQUIRED_BAG_INFO: &[&str] = &[
    "Source-Organization",
    "Contact-Name",
    "External-Description",
    "Bagging-Date",
    "External-Identifier",
    "Bag-Size",
    "Payload-Oxum",
];

// ---------------------------------------------------------------------------
// The manifest beside a package

/// `FILE.manifest.json`: plaintext, signed, no personal data (counts and
/// hashes, never file names).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HandoverManifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The bag's External-Identifier, also its top directory in the tar.
    pub external_identifier: String,
    /// When the package was made, RFC 3339 UTC.
    pub created_at: String,
    /// Whether `KURA_NOW` replaced the clock.
    #[serde(default)]
    pub clock_overridden: bool,
    /// The bag's Bagging-Date, `YYYY-MM-DD` (local).
    pub bagging_date: String,
    /// Which tool wrote it.
    pub tool: ToolMeta,
    /// The package file.
    pub package: PackageMeta,
    /// The bag's payload.
    pub payload: PayloadMeta,
    /// What went in.
    pub contents: ContentsMeta,
    /// Who sent it.
    pub sender: SenderMeta,
    /// The receiving organisation, as given with `--to-org`.
    #[serde(default)]
    pub to_organization: Option<String>,
    /// The bag's External-Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The age recipients the package is encrypted to.
    pub recipients: Vec<String>,
    /// zstd settings used.
    pub compression: CompressionMeta,
}

/// The package file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PackageMeta {
    /// Its file name when written (the receiver may rename it).
    pub file: String,
    /// SHA-256 of the file, 64 lowercase hex digits.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Size of the tar stream inside.
    #[serde(default)]
    pub tar_bytes: u64,
}

/// The payload of a bag (the files under `data/`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PayloadMeta {
    /// `Payload-Oxum`: `<octets>.<files>`.
    pub oxum: String,
    /// Number of payload files.
    pub files: u64,
    /// Bytes of payload file contents.
    pub bytes: u64,
}

/// What a package holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContentsMeta {
    /// How many `--include` paths (their names stay inside the package).
    pub included_paths: u64,
    /// Snapshot ids included as their encrypted files.
    pub snapshots: Vec<String>,
    /// The audit export, if included.
    #[serde(default)]
    pub audit: Option<AuditExportMeta>,
}

/// The audit export inside a package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditExportMeta {
    /// Events exported.
    pub events: u64,
    /// The chain head of the export, `SEQ:HASH` (empty log: `0:` and zeros).
    pub head: String,
}

/// The sender of a package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SenderMeta {
    /// `Source-Organization`: the contractor, or the site when none is set.
    pub organization: String,
    /// The sending site (from its policy).
    pub site: SiteMeta,
    /// The operator who made the package.
    pub operator: String,
    /// The minisign key id of the signing key (16 uppercase hex digits).
    pub signing_key_id: String,
    /// The minisign public key (base64, the second line of a `.pub` file).
    pub signing_public_key: String,
}

/// The manifest beside a package: `FILE.manifest.json`.
pub fn manifest_path(package: &Path) -> PathBuf {
    let mut name = package.as_os_str().to_owned();
    name.push(MANIFEST_SUFFIX);
    PathBuf::from(name)
}

/// The trusted comment of a manifest's signature: binds it to one package.
pub fn manifest_trusted_comment(m: &HandoverManifest) -> String {
    format!(
        "kura-handover {} {}",
        m.external_identifier, m.package.sha256
    )
}

/// A package's External-Identifier: `kura-handover-<contract code or site>-<UTC time>`.
pub fn external_identifier(site: &Site, now: DateTime<Utc>) -> String {
    let label = site
        .contract_code
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or(&site.name);
    format!(
        "kura-handover-{}-{}",
        sanitize(label),
        snapshot::snapshot_id(now)
    )
}

/// Letters and digits (any script), `-`, `_` and `.` kept; anything else
/// becomes `-`, so the identifier is one safe path component everywhere.
fn sanitize(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let keep = c.is_alphanumeric() || matches!(c, '_' | '.');
        if keep {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches(|c| c == '-' || c == '.').to_string();
    if out.is_empty() {
        "site".to_string()
    } else {
        out
    }
}

/// Whether an External-Identifier read from a manifest is safe to use as a
/// directory and file name (it names the bag directory and the receipt).
pub fn is_valid_identifier(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The rehearsal banner of a receipt made under `KURA_NOW`, with the real time.
pub fn receipt_rehearsal_banner(r: &Receipt, lang: Lang) -> Option<String> {
    if !r.clock_overridden {
        return None;
    }
    Some(crate::clock::rehearsal_banner(
        r.real_time.as_deref().unwrap_or("?"),
        lang,
    ))
}

/// The directory of the audit database, where its temporary copies go.
fn audit_dir(policy: &Policy) -> &Path {
    policy
        .audit_database
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_encode_cr_lf_and_only_the_percent_signs_that_would_read_as_escapes() {
        assert_eq!(encode_path(b"data/a\nc\rd e"), b"data/a%0Ac%0Dd e");
        assert_eq!(encode_path(b"data/100% done"), b"data/100% done");
        assert_eq!(encode_path(b"data/a%25b%0a"), b"data/a%2525b%250a");
        for name in [
            &b"data/a%b\nc\rd e"[..],
            b"data/100%",
            b"data/%41",
            b"data/a%25b%0a%0D",
            b"data/%",
        ] {
            assert_eq!(decode_path(&encode_path(name)), name);
        }
        assert_eq!(decode_path(b"data/a%25b%0Ac%0dd"), b"data/a%b\nc\rd");
    }

    #[test]
    fn names_ending_in_whitespace_cannot_be_listed() {
        assert!(unlistable(b"data/a ").is_some());
        assert!(unlistable("data/メモ\u{3000}".as_bytes()).is_some());
        assert!(unlistable(b"data/a\t").is_some());
        assert!(unlistable(b"data/two\nlines.txt").is_some());
        assert!(unlistable(b"data/ a b").is_none());
        assert!(unlistable("data/台帳 メモ.txt".as_bytes()).is_none());
    }

    #[test]
    fn manifests_parse_with_any_whitespace_and_refuse_duplicates() {
        let d = "ab".repeat(32);
        let text = format!("{d}  data/a b.txt\n{d}\tdata/c\r\n\n");
        let parsed = parse_manifest(text.as_bytes()).unwrap();
        assert_eq!(parsed[0].0, b"data/a b.txt");
        assert_eq!(parsed[1].0, b"data/c");
        let twice = format!("{d}  data/x\n{d}  data/x\n");
        assert!(parse_manifest(twice.as_bytes())
            .unwrap_err()
            .contains("twice"));
        assert!(parse_manifest(b"zz data/x\n").is_err());
    }

    #[test]
    fn bag_info_values_fold_onto_the_label_before() {
        let info = parse_bag_info(
            b"Source-Organization: A\nExternal-Description: one\n  two\nPayload-Oxum: 5.1\n",
        );
        assert_eq!(info[1], ("External-Description".into(), "one two".into()));
        assert_eq!(info[2].1, "5.1");
    }

    #[test]
    fn identifiers_are_one_safe_path_component() {
        let site = Site {
            name: "札幌市処理場管理事務所".into(),
            system: "x".into(),
            contractor: None,
            contract_code: Some("R5/0000 a".into()),
            contract_start: chrono::NaiveDate::from_ymd_opt(2023, 10, 1).unwrap(),
            contract_end: chrono::NaiveDate::from_ymd_opt(2024, 3, 31).unwrap(),
            ..Site::default()
        };
        let now = DateTime::parse_from_rfc3339("2024-01-31T01:02:03Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = external_identifier(&site, now);
        assert_eq!(id, "kura-handover-R5-0000-a-20240131T010203Z");
        assert!(is_valid_identifier(&id));
        let site = Site {
            contract_code: None,
            ..site
        };
        let id = external_identifier(&site, now);
        assert_eq!(id, "kura-handover-札幌市処理場管理事務所-20240131T010203Z");
        assert!(is_valid_identifier(&id));
        for bad in ["", "..", "../x", "a/b", ".hidden", "a b", "a\\b"] {
            assert!(!is_valid_identifier(bad), "{bad:?}");
        }
    }
}
