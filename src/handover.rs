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

mod receipt;
pub use receipt::{ReceivedAudit, ReceivedContents, ReceivedItem};

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

// ---------------------------------------------------------------------------
// Creating

/// Which snapshots go into a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotChoice {
    /// None.
    None,
    /// The newest on any destination.
    Latest,
    /// Every snapshot on any destination.
    All,
}

/// A package to create.
pub struct CreateRequest<'a> {
    /// The sending policy.
    pub policy: &'a Policy,
    /// The operator making it.
    pub operator: &'a str,
    /// Files and directories to include, each under `data/<base name>/`.
    pub include: &'a [PathBuf],
    /// Snapshots to include, as their encrypted files.
    pub snapshots: SnapshotChoice,
    /// The audit log, to include an export of it (`--with-audit`).
    pub audit: Option<&'a AuditLog>,
    /// `age1…` recipients (see [`resolve_recipients`]).
    pub recipients: &'a [String],
    /// The package file to write; must not exist.
    pub out: &'a Path,
    /// The receiving organisation.
    pub to_organization: Option<&'a str>,
    /// The bag's External-Description.
    pub description: Option<&'a str>,
    /// The clock.
    pub clock: Clock,
    /// Language of usage errors.
    pub lang: Lang,
    /// Progress.
    pub progress: &'a dyn Progress,
}

/// What [`create`] made.
#[derive(Debug, Clone)]
pub struct CreateOutcome {
    /// The manifest as written beside the package.
    pub manifest: HandoverManifest,
    /// The package file.
    pub package: PathBuf,
    /// `FILE.manifest.json`.
    pub manifest_file: PathBuf,
    /// `FILE.manifest.json.minisig`.
    pub signature_file: PathBuf,
    /// Special files left out (sockets, FIFOs, devices).
    pub skipped: Vec<PathBuf>,
}

/// Reads `--to` values: `age1…` recipients, or files listing one per line
/// (`#` comments and empty lines ignored). Duplicates are dropped.
pub fn resolve_recipients(values: &[String], lang: Lang) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let texts: Vec<String> = if value.trim().starts_with("age1") {
            vec![value.trim().to_string()]
        } else if Path::new(value).is_file() {
            let path = Path::new(value);
            let text = read_limited(path, MAX_SMALL_FILE).map_err(|e| Error::key_io(path, &e))?;
            String::from_utf8_lossy(&text)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        } else {
            return Err(Error::Usage(match lang {
                Lang::Ja => format!(
                    "--to「{value}」は age の受信者 (age1…) でも受信者ファイルでもありません"
                ),
                Lang::En => format!(
                    "--to {value:?} is neither an age recipient (age1…) nor a recipients file"
                ),
            }));
        };
        keys::parse_recipients(&texts)?;
        for t in texts {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Usage(
            lang.pick(
                "受信者 (--to) がありません",
                "no recipients were given (--to)",
            )
            .to_string(),
        ));
    }
    Ok(out)
}

/// Builds a package: a BagIt bag streamed as tar → zstd → age into `out`,
/// `out.manifest.json` and its signature. Needs `[signing]` in the policy.
/// Interrupted, it leaves no package (its temporary files are removed).
pub fn create(req: &CreateRequest) -> Result<CreateOutcome> {
    create_package(req).map_err(crate::interrupt::or_interrupted)
}

fn create_package(req: &CreateRequest) -> Result<CreateOutcome> {
    let lang = req.lang;
    let signing = req.policy.signing.as_ref().ok_or_else(|| {
        Error::Usage(
            lang.pick(
                "引継ぎパッケージには署名が必要です。ポリシーに [signing] を設定してください (kura keys sign)",
                "a handover package must be signed: set [signing] in the policy (kura keys sign)",
            )
            .to_string(),
        )
    })?;
    let key = keys::load_signing_key(&signing.secret_key, &signing.public_key)?;

    let manifest_file = manifest_path(req.out);
    let signature_file = audit::signature_path(&manifest_file);
    for p in [req.out, &manifest_file, &signature_file] {
        if fs::symlink_metadata(p).is_ok() {
            return Err(Error::WouldOverwrite {
                path: p.to_path_buf(),
            });
        }
    }
    let file_name = req
        .out
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Usage(match lang {
                Lang::Ja => format!("--out {} はファイル名ではありません", req.out.display()),
                Lang::En => format!("--out {} is not a file name", req.out.display()),
            })
        })?;
    let out_dir = match req.out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if req.recipients.is_empty() {
        return Err(Error::Usage(
            lang.pick(
                "受信者 (--to) がありません",
                "no recipients were given (--to)",
            )
            .to_string(),
        ));
    }
    let recipients = keys::parse_recipients(req.recipients)?;
    let includes = check_includes(req, &out_dir)?;
    let public_key = keys::load_public_key(&signing.public_key)?;
    let snapshots = select_snapshots(req.policy, req.snapshots, &public_key)?;

    // The audit export is the one thing staged: `VACUUM INTO` writes a file.
    let staging = match req.audit {
        Some(_) => Some(
            // Beside the audit database (see backup): a leftover reveals
            // nothing beyond the log itself.
            tempfile::Builder::new()
                .prefix(".kura-handover-")
                .tempdir_in(audit_dir(req.policy))
                .map_err(|e| Error::io(Action::Create, audit_dir(req.policy), e))?,
        ),
        None => None,
    };
    let audit_export = match (req.audit, &staging) {
        (Some(log), Some(dir)) => Some(export_audit(log, dir.path(), req.clock)?),
        _ => None,
    };

    let now = req.clock.now();
    let id = external_identifier(&req.policy.site, now);
    let mtime = Mtime {
        secs: u64::try_from(now.timestamp()).unwrap_or(0),
        nanos: 0,
    };
    let site = &req.policy.site;
    let organization = site
        .contractor
        .clone()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| site.name.clone());
    let description = req.description.map(str::to_string).unwrap_or_else(|| {
        format!(
            "{} / {}: handover package made by {} {}",
            site.name,
            site.system,
            crate::TOOL_NAME,
            crate::TOOL_VERSION
        )
    });
    let bag = BagSpec {
        id: &id,
        mtime,
        includes: &includes,
        snapshots: &snapshots,
        audit_dir: staging.as_ref().map(|d| d.path().join(AUDIT_DIR)),
        info: BagInfo {
            organization: &organization,
            contact: req.operator,
            description: &description,
            bagging_date: req.clock.local().format("%Y-%m-%d").to_string(),
            to_organization: req.to_organization,
        },
    };

    let mut measured: Vec<PathBuf> = includes.clone();
    measured.extend(snapshots.iter().map(|s| s.dir.clone()));
    req.progress.start("handover", archive::measure(&measured));
    let mut attempt = 0;
    let written = loop {
        attempt += 1;
        let tmp = temp_in(&out_dir)?;
        match write_package(&bag, req, &recipients, &tmp) {
            Ok(w) => break Ok((w, tmp)),
            Err(WriteError::SourceChanged(path)) if attempt < MAX_ATTEMPTS => {
                let _ = path;
                req.progress.start("handover", archive::measure(&measured));
            }
            Err(WriteError::SourceChanged(path)) => {
                break Err(Error::SourceChanging {
                    path,
                    attempts: attempt,
                })
            }
            Err(WriteError::Failed(e)) => break Err(e),
        }
    };
    req.progress.finish();
    let (written, package_tmp) = written?;
    drop(staging);

    let manifest = HandoverManifest {
        format: FORMAT.to_string(),
        external_identifier: id.clone(),
        created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        clock_overridden: req.clock.is_overridden(),
        bagging_date: bag.info.bagging_date.clone(),
        tool: tool(),
        package: PackageMeta {
            file: file_name,
            sha256: hex::encode(written.sha256),
            bytes: written.bytes,
            tar_bytes: written.tar_bytes,
        },
        payload: PayloadMeta {
            oxum: oxum(written.payload_bytes, written.payload_files),
            files: written.payload_files,
            bytes: written.payload_bytes,
        },
        contents: ContentsMeta {
            included_paths: includes.len() as u64,
            snapshots: snapshots.iter().map(|s| s.id.clone()).collect(),
            audit: audit_export,
        },
        sender: SenderMeta {
            organization: organization.clone(),
            site: site_meta(site),
            operator: req.operator.to_string(),
            signing_key_id: keys::key_id(key.public_key()),
            signing_public_key: key.public_key().to_base64(),
        },
        to_organization: req.to_organization.map(str::to_string),
        description: Some(description.clone()),
        recipients: req.recipients.to_vec(),
        compression: CompressionMeta {
            algorithm: "zstd".into(),
            level: req.policy.compression.level,
        },
    };
    let mut json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| Error::io(Action::Write, &manifest_file, io::Error::other(e)))?;
    json.push(b'\n');
    let manifest_tmp = temp_in(&out_dir)?;
    write_temp(&manifest_tmp, &json)?;
    let signature_tmp = temp_in(&out_dir)?;
    key.sign_file(
        manifest_tmp.path(),
        signature_tmp.path(),
        &manifest_trusted_comment(&manifest),
    )?;
    publish(
        vec![
            (package_tmp, req.out.to_path_buf()),
            (manifest_tmp, manifest_file.clone()),
            (signature_tmp, signature_file.clone()),
        ],
        &out_dir,
    )?;
    Ok(CreateOutcome {
        manifest,
        package: req.out.to_path_buf(),
        manifest_file,
        signature_file,
        skipped: written.skipped,
    })
}

fn tool() -> ToolMeta {
    ToolMeta {
        name: crate::TOOL_NAME.into(),
        version: crate::TOOL_VERSION.into(),
    }
}

fn site_meta(site: &Site) -> SiteMeta {
    SiteMeta {
        name: site.name.clone(),
        system: site.system.clone(),
        contractor: site.contractor.clone(),
        contract_code: site.contract_code.clone(),
    }
}

fn oxum(bytes: u64, files: u64) -> String {
    format!("{bytes}.{files}")
}

/// The included paths, checked: they exist, have distinct Unicode base names
/// that do not collide with `snapshots`/`audit` when those are included, and
/// do not contain the output directory (the package would read itself).
fn check_includes(req: &CreateRequest, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let lang = req.lang;
    let usage = |ja: String, en: String| Error::Usage(lang.pick(ja, en));
    if req.include.is_empty() {
        return Err(usage(
            "--include で引き継ぐファイルまたはディレクトリを指定してください".into(),
            "name what to hand over with --include".into(),
        ));
    }
    let out_canonical =
        fs::canonicalize(out_dir).map_err(|e| Error::io(Action::Read, out_dir, e))?;
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut out = Vec::new();
    for path in req.include {
        let meta = fs::metadata(path).map_err(|e| Error::io(Action::Read, path, e))?;
        let shown = path.display();
        let base = path
            .file_name()
            .ok_or_else(|| {
                usage(
                    format!(
                        "--include {shown} には名前がありません。ディレクトリ名で指定してください"
                    ),
                    format!("--include {shown} has no base name; name the directory itself"),
                )
            })?
            .to_str()
            .ok_or_else(|| {
                usage(
                    format!("--include {shown} の名前が Unicode ではありません"),
                    format!("--include {shown}: the name is not valid Unicode"),
                )
            })?;
        let reserved = (base.eq_ignore_ascii_case(SNAPSHOTS_DIR)
            && req.snapshots != SnapshotChoice::None)
            || (base.eq_ignore_ascii_case(AUDIT_DIR) && req.audit.is_some());
        if reserved {
            return Err(usage(
                format!("--include {shown}: 名前「{base}」はパッケージ内で予約されています"),
                format!("--include {shown}: the name {base:?} is reserved in the package"),
            ));
        }
        if let Some(first) = seen.insert(base.to_lowercase(), path.clone()) {
            return Err(usage(
                format!(
                    "--include {shown} と {} は同じ名前「{base}」になります",
                    first.display()
                ),
                format!(
                    "--include {shown} and {} have the same name {base:?}",
                    first.display()
                ),
            ));
        }
        if meta.is_dir() {
            let canonical = fs::canonicalize(path).map_err(|e| Error::io(Action::Read, path, e))?;
            if out_canonical.starts_with(&canonical) {
                return Err(usage(
                    format!("--out の置き場所が --include {shown} の中にあります。パッケージが自分自身を含んでしまいます"),
                    format!("--out lies inside --include {shown}: the package would contain itself"),
                ));
            }
        }
        out.push(path.clone());
    }
    Ok(out)
}

/// One snapshot going into a package.
struct ChosenSnapshot {
    id: String,
    dir: PathBuf,
    /// Its `SHA256SUMS`, by file name.
    sums: BTreeMap<Vec<u8>, Sha256Digest>,
}

/// The chosen snapshots, each from the first destination (in policy order)
/// that has it, each passing the key-less check.
fn select_snapshots(
    policy: &Policy,
    choice: SnapshotChoice,
    public_key: &minisign::PublicKey,
) -> Result<Vec<ChosenSnapshot>> {
    if choice == SnapshotChoice::None {
        return Ok(Vec::new());
    }
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut missing = None;
    for d in &policy.destinations {
        if !d.path.is_dir() {
            missing.get_or_insert(Error::DestinationMissing {
                dest: d.name.clone(),
                path: d.path.clone(),
            });
            continue;
        }
        for s in snapshot::list(&d.path)? {
            found.entry(s.id).or_insert(s.dir);
        }
    }
    if found.is_empty() {
        return Err(missing.unwrap_or_else(|| Error::Integrity {
            path: policy
                .destinations
                .first()
                .map(|d| d.path.clone())
                .unwrap_or_default(),
            detail: "no snapshot on any destination".into(),
        }));
    }
    let chosen: Vec<(String, PathBuf)> = match choice {
        SnapshotChoice::Latest => found.into_iter().next_back().into_iter().collect(),
        _ => found.into_iter().collect(),
    };
    let mut out = Vec::new();
    for (id, dir) in chosen {
        let verdict = verify::check_snapshot(
            &dir,
            &verify::CheckOptions {
                public_key: Some(public_key),
                identities: None,
                against_source: None,
                progress: &Silent,
            },
        )?;
        if let Some(f) = verdict.findings.first() {
            return Err(Error::Integrity {
                path: dir,
                detail: f.clone(),
            });
        }
        let sums_path = dir.join(snapshot::SUMS);
        let file = File::open(&sums_path).map_err(|e| Error::io(Action::Read, &sums_path, e))?;
        let sums = sums::parse(BufReader::new(file))
            .map_err(|e| Error::Integrity {
                path: sums_path.clone(),
                detail: e.to_string(),
            })?
            .into_iter()
            .map(|e| (e.name, e.digest))
            .collect();
        out.push(ChosenSnapshot { id, dir, sums });
    }
    Ok(out)
}

/// Writes a consistent copy of the audit database and a JSON Lines export of
/// that same copy into `<staging>/audit/`.
fn export_audit(log: &AuditLog, staging: &Path, clock: Clock) -> Result<AuditExportMeta> {
    let dir = staging.join(AUDIT_DIR);
    fs::create_dir(&dir).map_err(|e| Error::io(Action::Create, &dir, e))?;
    let copy = dir.join(AUDIT_SQLITE);
    log.copy_to(&copy)?;
    let jsonl = dir.join(AUDIT_JSONL);
    let file = File::create(&jsonl).map_err(|e| Error::io(Action::Create, &jsonl, e))?;
    let mut out = BufWriter::new(file);
    let mut events = 0u64;
    let mut head = format!("0:{}", hex::encode(audit::GENESIS));
    {
        let exported = AuditLog::open_existing(&copy, clock)?;
        exported.for_each(|e| {
            events += 1;
            head = format!("{}:{}", e.seq, e.hash);
            let line = serde_json::to_string(&e).map_err(io::Error::other);
            line.and_then(|l| writeln!(out, "{l}"))
                .map_err(|e| Error::io(Action::Write, &jsonl, e))
        })?;
    }
    let file = out
        .into_inner()
        .map_err(|e| Error::io(Action::Write, &jsonl, e.into_error()))?;
    file.sync_all()
        .map_err(|e| Error::io(Action::Sync, &jsonl, e))?;
    Ok(AuditExportMeta { events, head })
}

/// What the bag holds, for the writer.
struct BagSpec<'a> {
    id: &'a str,
    mtime: Mtime,
    includes: &'a [PathBuf],
    snapshots: &'a [ChosenSnapshot],
    audit_dir: Option<PathBuf>,
    info: BagInfo<'a>,
}

/// The `bag-info.txt` fields known before the payload is read.
struct BagInfo<'a> {
    organization: &'a str,
    contact: &'a str,
    description: &'a str,
    bagging_date: String,
    to_organization: Option<&'a str>,
}

/// What one pass of [`write_package`] wrote.
struct Written {
    sha256: Sha256Digest,
    bytes: u64,
    tar_bytes: u64,
    payload_files: u64,
    payload_bytes: u64,
    skipped: Vec<PathBuf>,
}

/// One pass: the bag as a tar stream, compressed and encrypted into `tmp`.
fn write_package(
    bag: &BagSpec,
    req: &CreateRequest,
    recipients: &[age::x25519::Recipient],
    tmp: &tempfile::NamedTempFile,
) -> std::result::Result<Written, WriteError> {
    let out = HashingWriter::new(BufWriter::with_capacity(1 << 20, tmp.as_file()));
    let (stats, tar_bytes, out) = archive::write_encrypted_tar(
        recipients,
        req.policy.compression.level,
        req.policy.compression.threads,
        out,
        |builder| write_bag(builder, bag, req.progress),
    )?;
    let (buffered, sha256, bytes) = out.finish();
    let file = buffered
        .into_inner()
        .map_err(|e| Error::io(Action::Write, tmp.path(), e.into_error()))?;
    file.sync_all()
        .map_err(|e| Error::io(Action::Sync, tmp.path(), e))?;
    Ok(Written {
        sha256,
        bytes,
        tar_bytes,
        payload_files: stats.files,
        payload_bytes: stats.plaintext_bytes,
        skipped: stats.skipped,
    })
}

fn write_bag(
    builder: &mut tar::Builder<archive::TarStream>,
    bag: &BagSpec,
    progress: &dyn Progress,
) -> std::result::Result<ArchiveStats, WriteError> {
    let out_err = |e: io::Error| WriteError::Failed(Error::io(Action::Write, "package output", e));
    let top = format!("{}/", bag.id);
    let data = format!("{top}data/");
    archive::append_directory(builder, bag.id.as_bytes(), bag.mtime).map_err(out_err)?;
    archive::append_bytes(
        builder,
        format!("{top}{BAGIT}").as_bytes(),
        BAGIT_TXT.as_bytes(),
        bag.mtime,
    )
    .map_err(out_err)?;
    archive::append_directory(builder, format!("{top}data").as_bytes(), bag.mtime)
        .map_err(out_err)?;

    // (path relative to the bag, digest), in tar order.
    let mut payload: Vec<(Vec<u8>, Sha256Digest)> = Vec::new();
    let mut stats = ArchiveStats::default();
    let strip = top.len();
    for root in bag.includes {
        archive::add_root(
            builder,
            root,
            data.as_bytes(),
            &mut |name, digest, _| {
                if let Some(why) = unlistable(name) {
                    // `data/<base>/<rest>`: back to the file on disk.
                    let rel = String::from_utf8_lossy(&name[data.len()..]).into_owned();
                    let path = match rel.split_once('/') {
                        Some((_, rest)) => root.join(rest),
                        None => root.clone(),
                    };
                    return Err(Error::io(
                        Action::Read,
                        path,
                        io::Error::new(io::ErrorKind::InvalidInput, why),
                    ));
                }
                payload.push((name[strip..].to_vec(), *digest));
                Ok(())
            },
            &mut stats,
            progress,
        )?;
    }
    if !bag.snapshots.is_empty() {
        let prefix = format!("{data}{SNAPSHOTS_DIR}/");
        archive::append_directory(builder, prefix.trim_end_matches('/').as_bytes(), bag.mtime)
            .map_err(out_err)?;
        for s in bag.snapshots {
            let inside = format!("{prefix}{}/", s.id);
            let mut matched = BTreeSet::new();
            archive::add_root(
                builder,
                &s.dir,
                prefix.as_bytes(),
                &mut |name, digest, _| {
                    payload.push((name[strip..].to_vec(), *digest));
                    let file = name.strip_prefix(inside.as_bytes()).unwrap_or(name);
                    if file == snapshot::SUMS.as_bytes() || file == snapshot::SUMS_SIG.as_bytes() {
                        return Ok(());
                    }
                    match s.sums.get(file) {
                        Some(want) if want == digest => {
                            matched.insert(file.to_vec());
                            Ok(())
                        }
                        _ => Err(Error::Integrity {
                            path: s.dir.join(String::from_utf8_lossy(file).as_ref()),
                            detail: format!(
                                "does not match {} as it is read (changed since it was checked?)",
                                snapshot::SUMS
                            ),
                        }),
                    }
                },
                &mut stats,
                progress,
            )?;
            if matched.len() != s.sums.len() {
                return Err(WriteError::Failed(Error::Integrity {
                    path: s.dir.clone(),
                    detail: format!("a file listed in {} disappeared", snapshot::SUMS),
                }));
            }
        }
    }
    if let Some(dir) = &bag.audit_dir {
        archive::add_root(
            builder,
            dir,
            data.as_bytes(),
            &mut |name, digest, _| {
                payload.push((name[strip..].to_vec(), *digest));
                Ok(())
            },
            &mut stats,
            &Silent,
        )?;
    }

    // The tag files: known only now, so they follow the payload.
    let mut manifest = Vec::new();
    for (name, digest) in &payload {
        manifest.extend_from_slice(hex::encode(digest).as_bytes());
        manifest.extend_from_slice(b"  ");
        manifest.extend_from_slice(&encode_path(name));
        manifest.push(b'\n');
    }
    let info = bag_info_text(bag, &stats);
    let mut tagmanifest = Vec::new();
    for (name, bytes) in [
        (BAGIT, BAGIT_TXT.as_bytes()),
        (BAG_INFO, info.as_bytes()),
        (PAYLOAD_MANIFEST, &manifest[..]),
    ] {
        let (digest, _) = sums::digest_reader(bytes).map_err(out_err)?;
        tagmanifest.extend_from_slice(format!("{}  {name}\n", hex::encode(digest)).as_bytes());
    }
    for (name, bytes) in [
        (PAYLOAD_MANIFEST, &manifest[..]),
        (BAG_INFO, info.as_bytes()),
        (TAG_MANIFEST, &tagmanifest[..]),
    ] {
        archive::append_bytes(builder, format!("{top}{name}").as_bytes(), bytes, bag.mtime)
            .map_err(out_err)?;
    }
    Ok(stats)
}

fn bag_info_text(bag: &BagSpec, stats: &ArchiveStats) -> String {
    // One line per value: line breaks in free text become spaces.
    let clean = |s: &str| s.replace(['\r', '\n'], " ").trim().to_string();
    let mut fields = vec![
        ("Source-Organization", clean(bag.info.organization)),
        ("Contact-Name", clean(bag.info.contact)),
        ("External-Description", clean(bag.info.description)),
        ("Bagging-Date", bag.info.bagging_date.clone()),
        ("External-Identifier", bag.id.to_string()),
        ("Bag-Size", human_bytes(stats.plaintext_bytes)),
        ("Payload-Oxum", oxum(stats.plaintext_bytes, stats.files)),
        (
            "Bag-Software-Agent",
            format!("{} {}", crate::TOOL_NAME, crate::TOOL_VERSION),
        ),
    ];
    if let Some(to) = bag.info.to_organization {
        fields.push(("To-Organization", clean(to)));
    }
    fields
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect()
}

/// A manifest path as BagIt writes it: LF and CR percent-encoded, and `%`
/// where it would otherwise read as one of the three escapes (`%25`, `%0A`,
/// `%0D`). RFC 8493 asks for every `%` to be encoded, but `bagit.py` 1.9 does
/// not decode `%25`; a lone `%` is unambiguous to both, so it stays as it is.
fn encode_path(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len());
    for (i, &b) in name.iter().enumerate() {
        match b {
            b'%' if is_escape(&name[i..]) => out.extend_from_slice(b"%25"),
            b'\n' => out.extend_from_slice(b"%0A"),
            b'\r' => out.extend_from_slice(b"%0D"),
            _ => out.push(b),
        }
    }
    out
}

/// Whether `text` starts with `%25`, `%0A` or `%0D` (any case).
fn is_escape(text: &[u8]) -> bool {
    text.len() >= 3
        && text[0] == b'%'
        && matches!(&text[1..3].to_ascii_uppercase()[..], b"25" | b"0A" | b"0D")
}

/// Why a stored name cannot go into a package: `bagit.py` strips whitespace
/// at the end of a manifest line and Windows drops it from file names, so a
/// name ending in whitespace would not survive; a line break in a name is
/// mis-read by the `tar` crate's PAX parser (which splits records at LF), so
/// kura itself could not read it back, and Windows cannot hold it.
fn unlistable(name: &[u8]) -> Option<&'static str> {
    if name.iter().any(|b| matches!(b, b'\n' | b'\r')) {
        return Some(
            "a file name holding a line break cannot go into a handover package (kura's tar reader and Windows cannot carry it); rename the file",
        );
    }
    let text = std::str::from_utf8(name).ok()?;
    if text
        .split('/')
        .any(|p| crate::entry_names::windows_name_problem(p).is_some())
    {
        return Some(
            "a file name that Windows cannot hold or reads as something else (CON, NUL, AUX, COM1, a trailing dot or space, `:`, `\\`, < > \" | ? * or a control character) cannot go into a handover package; rename the file",
        );
    }
    let last = text.chars().next_back()?;
    (last.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&last)).then_some(
        "a file name ending in whitespace cannot be listed in a BagIt manifest that other tools read back (bagit.py strips it, Windows drops it); rename the file",
    )
}

/// The inverse of [`encode_path`]; other `%` sequences are kept as they are.
fn decode_path(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if is_escape(&text[i..]) {
            out.push(match &text[i + 1..i + 3].to_ascii_uppercase()[..] {
                b"25" => b'%',
                b"0A" => b'\n',
                _ => b'\r',
            });
            i += 3;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".kura-tmp-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(Action::Create, dir, e))
}

fn write_temp(tmp: &tempfile::NamedTempFile, contents: &[u8]) -> Result<()> {
    let mut file = tmp.as_file();
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(Action::Write, tmp.path(), e))
}

/// Renames finished temporary files into place, never replacing a file. If
/// one fails, those already renamed are removed again, so either all appear
/// or none.
fn publish(files: Vec<(tempfile::NamedTempFile, PathBuf)>, dir: &Path) -> Result<()> {
    let mut done: Vec<PathBuf> = Vec::new();
    for (tmp, path) in files {
        // Temporary files are private; what is published here is not.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = tmp
                .as_file()
                .set_permissions(fs::Permissions::from_mode(0o644));
        }
        if let Err(e) = tmp.persist_noclobber(&path) {
            for p in &done {
                let _ = fs::remove_file(p);
            }
            return Err(if e.error.kind() == io::ErrorKind::AlreadyExists {
                Error::WouldOverwrite { path }
            } else {
                Error::io(Action::Rename, &path, e.error)
            });
        }
        done.push(path);
    }
    sync_dir(dir)
}

fn read_limited(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    // Never through a link, never blocking, regular files only.
    crate::bounded::read_capped(path, limit as u64)
}

// ---------------------------------------------------------------------------
// Checking

/// How the manifest's signature was checked.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCheck {
    /// The key id of the key that verified it.
    pub key_id: String,
    /// Whether that key was given by the receiver (`--sender-key`) rather
    /// than taken from the manifest itself.
    pub pinned: bool,
    /// The signature's trusted comment.
    pub trusted_comment: String,
}

/// Reads `FILE.manifest.json` and checks its signature: with `sender_key`
/// (pinned), or else with the key the manifest itself names, which proves
/// only that manifest and signature belong together (the caller says so).
pub fn check_manifest(
    package: &Path,
    sender_key: Option<&minisign::PublicKey>,
) -> Result<(HandoverManifest, SignatureCheck)> {
    // A package that is not there is an operational problem, not a finding.
    fs::metadata(package).map_err(|e| Error::io(Action::Read, package, e))?;
    let manifest_file = manifest_path(package);
    let signature_file = audit::signature_path(&manifest_file);
    let bad = |detail: String| Error::Integrity {
        path: manifest_file.clone(),
        detail,
    };
    let bytes = match read_limited(&manifest_file, MAX_SMALL_FILE) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::Integrity {
                path: package.to_path_buf(),
                detail: format!("its manifest {} is missing", manifest_file.display()),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(bad("too large to be a handover manifest".into()))
        }
        Err(e) => return Err(Error::io(Action::Read, &manifest_file, e)),
    };
    if !signature_file.is_file() {
        return Err(Error::Integrity {
            path: signature_file.clone(),
            detail: "the manifest's signature is missing".into(),
        });
    }
    let parsed = serde_json::from_slice::<HandoverManifest>(&bytes)
        .map_err(|e| bad(format!("not a handover manifest: {e}")));
    let (key, pinned) = match sender_key {
        Some(k) => (k.clone(), true),
        None => {
            let m = parsed.as_ref().map_err(|e| bad(e.message(Lang::En)))?;
            let k =
                keys::public_key_from_base64(&m.sender.signing_public_key).ok_or_else(|| {
                    bad("sender.signing_public_key is not a minisign public key".into())
                })?;
            (k, false)
        }
    };
    let comment = keys::verify_signature_of(&key, io::Cursor::new(&bytes), &signature_file)?;
    let manifest = parsed?;
    if manifest.format != FORMAT {
        return Err(bad(format!("unknown format {:?}", manifest.format)));
    }
    if !is_valid_identifier(&manifest.external_identifier) {
        return Err(bad(format!(
            "external_identifier {:?} is not a safe name",
            manifest.external_identifier
        )));
    }
    if comment != manifest_trusted_comment(&manifest) {
        return Err(Error::Integrity {
            path: signature_file,
            detail: format!("the signature's trusted comment {comment:?} names another package"),
        });
    }
    let key_id = keys::key_id(&key);
    if pinned && manifest.sender.signing_key_id != key_id {
        return Err(bad(format!(
            "it names signing key {} but is signed with the given key {key_id}",
            manifest.sender.signing_key_id
        )));
    }
    Ok((
        manifest,
        SignatureCheck {
            key_id,
            pinned,
            trusted_comment: comment,
        },
    ))
}

/// Checks the package file's size and SHA-256 against its manifest.
pub fn check_package(
    package: &Path,
    manifest: &HandoverManifest,
    progress: &dyn Progress,
) -> Result<()> {
    let file = crate::bounded::open_regular(package)
        .map_err(|e| crate::bounded::finding_or_io(package, e))?;
    progress.start("sha256", manifest.package.bytes);
    let digest = sums::digest_reader(ProgressRead {
        inner: BufReader::with_capacity(1 << 20, file),
        progress,
    });
    progress.finish();
    let (digest, bytes) = digest.map_err(|e| Error::io(Action::Read, package, e))?;
    if bytes != manifest.package.bytes || hex::encode(digest) != manifest.package.sha256 {
        return Err(Error::Integrity {
            path: package.to_path_buf(),
            detail: format!(
                "the package ({bytes} bytes, SHA-256 {}) is not the one its manifest describes ({} bytes, SHA-256 {})",
                hex::encode(digest),
                manifest.package.bytes,
                manifest.package.sha256
            ),
        });
    }
    Ok(())
}

struct ProgressRead<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for ProgressRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// The result of [`verify`].
#[derive(Debug, Clone)]
pub struct VerifyOutcome {
    /// The (signed) manifest.
    pub manifest: HandoverManifest,
    /// How the signature was checked.
    pub signature: SignatureCheck,
    /// Payload files read and checked.
    pub files: u64,
    /// Payload bytes read and checked.
    pub bytes: u64,
    /// Everything wrong inside the package; empty means intact.
    pub findings: Vec<Finding>,
}

/// Checks a package completely without writing anything: signature, package
/// hash, then every entry of the decrypted stream and the whole bag.
pub fn verify(
    package: &Path,
    identities: &Identities,
    sender_key: Option<&minisign::PublicKey>,
    progress: &dyn Progress,
) -> Result<VerifyOutcome> {
    verify_package(package, identities, sender_key, progress)
        .and_then(|outcome| crate::interrupt::check().map(|()| outcome))
        .map_err(crate::interrupt::or_interrupted)
}

fn verify_package(
    package: &Path,
    identities: &Identities,
    sender_key: Option<&minisign::PublicKey>,
    progress: &dyn Progress,
) -> Result<VerifyOutcome> {
    let (manifest, signature) = check_manifest(package, sender_key)?;
    check_package(package, &manifest, progress)?;
    let observed = read_bag(
        package,
        &manifest,
        identities,
        &mut archive::Discard,
        false,
        progress,
    )?;
    let findings = validate(&observed, &manifest);
    let (files, bytes) = observed.payload_totals();
    Ok(VerifyOutcome {
        manifest,
        signature,
        files,
        bytes,
        findings,
    })
}

/// A bag as read, from the stream or from disk.
#[derive(Debug, Default)]
struct Observed {
    /// Payload files (`data/…`): digest and size.
    payload: BTreeMap<Vec<u8>, (Sha256Digest, u64)>,
    /// Every other file in the bag (tag files): digest.
    tags: BTreeMap<Vec<u8>, Sha256Digest>,
    /// Contents of the tag files kura reads.
    contents: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Whether `data/` exists.
    has_data_dir: bool,
    /// Problems seen while reading.
    findings: Vec<Finding>,
}

impl Observed {
    fn payload_totals(&self) -> (u64, u64) {
        (
            self.payload.len() as u64,
            self.payload.values().map(|(_, n)| n).sum(),
        )
    }

    /// A file at `rel` (relative to the bag directory).
    fn file(&mut self, rel: &[u8], digest: Sha256Digest, bytes: u64, captured: Option<Vec<u8>>) {
        let duplicate = if rel.starts_with(b"data/") {
            self.payload.insert(rel.to_vec(), (digest, bytes)).is_some()
        } else {
            self.tags.insert(rel.to_vec(), digest).is_some()
        };
        if duplicate {
            self.findings.push(finding(Some(rel), "stored twice"));
        }
        if let Some(c) = captured.filter(|c| c.len() as u64 == bytes) {
            self.contents.insert(rel.to_vec(), c);
        }
    }

    fn directory(&mut self, rel: &[u8]) {
        if rel == b"data" {
            self.has_data_dir = true;
        }
    }
}

fn finding(entry: Option<&[u8]>, detail: impl Into<String>) -> Finding {
    Finding {
        entry: entry.map(|e| String::from_utf8_lossy(e).into_owned()),
        detail: detail.into(),
    }
}

/// The most bytes of a tag file kept in memory, or `None` for payload files.
fn capture_limit(rel: &[u8]) -> Option<usize> {
    if rel == PAYLOAD_MANIFEST.as_bytes() {
        Some(MAX_PAYLOAD_MANIFEST)
    } else if [BAGIT, BAG_INFO, TAG_MANIFEST]
        .iter()
        .any(|n| rel == n.as_bytes())
    {
        Some(MAX_SMALL_FILE)
    } else {
        None
    }
}

/// Decrypts the package and reads every entry into `sink`, observing the bag.
fn read_bag(
    package: &Path,
    manifest: &HandoverManifest,
    identities: &Identities,
    sink: &mut dyn EntrySink,
    stop_at_unsafe: bool,
    progress: &dyn Progress,
) -> Result<Observed> {
    let top = manifest.external_identifier.as_bytes().to_vec();
    let relative = |name: &[u8]| -> Option<Vec<u8>> {
        let name = name.strip_suffix(b"/").unwrap_or(name);
        if name == top.as_slice() {
            return Some(Vec::new());
        }
        name.strip_prefix(top.as_slice())
            .and_then(|r| r.strip_prefix(b"/"))
            .map(<[u8]>::to_vec)
    };
    let file = crate::bounded::open_regular(package)
        .map_err(|e| crate::bounded::finding_or_io(package, e))?;
    // Hashed in the pass that decrypts: what is read is what was checked.
    let (plain, ciphertext) = match archive::open_hashed(file, identities.as_dyn()) {
        Ok(p) => p,
        Err(archive::ReadError::WrongKey) => {
            return Err(Error::WrongKey {
                path: package.to_path_buf(),
            })
        }
        Err(archive::ReadError::NotAnArchive(e)) => {
            return Err(Error::Integrity {
                path: package.to_path_buf(),
                detail: format!("not a readable age file: {e}"),
            })
        }
        Err(archive::ReadError::Io(e)) => return Err(Error::io(Action::Read, package, e)),
    };
    let mut observed = Observed::default();
    let mut findings = Vec::new();
    progress.start(&manifest.external_identifier, manifest.payload.bytes);
    let read = archive::read_entries(
        plain,
        progress,
        sink,
        stop_at_unsafe,
        &|name| relative(name).and_then(|r| capture_limit(&r)),
        &mut findings,
        &mut |entry, findings| match entry {
            ReadEntry::Directory { name } => match relative(&name) {
                Some(rel) => observed.directory(&rel),
                None => findings.push(finding(Some(&name), "outside the bag directory")),
            },
            ReadEntry::File {
                name,
                digest,
                bytes,
                captured,
            } => match relative(&name) {
                Some(rel) if !rel.is_empty() => observed.file(&rel, digest, bytes, captured),
                _ => findings.push(finding(Some(&name), "outside the bag directory")),
            },
        },
    )
    .and_then(|rest| match rest {
        Some(rest) => archive::drain_after_end(rest, &mut findings).map(|()| true),
        None => Ok(false),
    });
    progress.finish();
    match read {
        Ok(_) => {}
        Err(e) => {
            return Err(Error::Integrity {
                path: package.to_path_buf(),
                detail: format!("damaged (decryption, decompression or tar): {e}"),
            })
        }
    }
    if !ciphertext.matches(&manifest.package.sha256, manifest.package.bytes) {
        findings.push(archive::Finding {
            entry: None,
            detail: "the bytes decrypted are not the package its manifest describes (the file changed between reads, or the disk served other bytes) / 復号したデータがマニフェストの記載と一致しません".into(),
        });
    }
    findings.append(&mut observed.findings);
    observed.findings = findings;
    Ok(observed)
}

/// Reads an extracted bag directory: every file hashed, nothing but regular
/// files and directories accepted.
fn observe_dir(bag_dir: &Path, progress: &dyn Progress) -> Result<Observed> {
    let mut observed = Observed::default();
    for entry in walkdir::WalkDir::new(bag_dir)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(bag_dir).to_path_buf();
            Error::io(
                Action::Read,
                path,
                e.into_io_error()
                    .unwrap_or_else(|| io::Error::other("unreadable")),
            )
        })?;
        let rel_path = entry.path().strip_prefix(bag_dir).unwrap_or(entry.path());
        let rel = archive::archive_name(rel_path)
            .map_err(|e| Error::io(Action::Read, entry.path(), e))?;
        let kind = entry.file_type();
        if kind.is_dir() {
            observed.directory(&rel);
        } else if kind.is_file() {
            let path = entry.path();
            let file = File::open(path).map_err(|e| Error::io(Action::Read, path, e))?;
            let (digest, bytes) = sums::digest_reader(ProgressRead {
                inner: BufReader::with_capacity(1 << 20, file),
                progress,
            })
            .map_err(|e| Error::io(Action::Read, path, e))?;
            let captured = match capture_limit(&rel) {
                Some(limit) if bytes <= limit as u64 => {
                    Some(read_limited(path, limit).map_err(|e| Error::io(Action::Read, path, e))?)
                }
                Some(_) => {
                    observed
                        .findings
                        .push(finding(Some(&rel), "too large for a tag file"));
                    None
                }
                None => None,
            };
            observed.file(&rel, digest, bytes, captured);
        } else {
            observed
                .findings
                .push(finding(Some(&rel), "not a regular file or directory"));
        }
    }
    Ok(observed)
}

/// Validates an observed bag against BagIt 1.0 and the signed manifest:
/// `bagit.txt`, every payload file against `manifest-sha256.txt` (nothing
/// missing, nothing extra), every tag file against `tagmanifest-sha256.txt`,
/// `bag-info.txt` (required fields, Payload-Oxum, External-Identifier), and
/// the counts the manifest promises.
fn validate(observed: &Observed, manifest: &HandoverManifest) -> Vec<Finding> {
    let mut f = observed.findings.clone();
    let content = |name: &str| observed.contents.get(name.as_bytes());
    let missing = |name: &str| finding(Some(name.as_bytes()), "missing");

    match content(BAGIT) {
        None => f.push(missing(BAGIT)),
        Some(text) => {
            let lines: Vec<String> = String::from_utf8_lossy(text)
                .lines()
                .map(|l| l.trim_end_matches('\r').to_string())
                .filter(|l| !l.is_empty())
                .collect();
            if lines != ["BagIt-Version: 1.0", "Tag-File-Character-Encoding: UTF-8"] {
                f.push(finding(
                    Some(BAGIT.as_bytes()),
                    "is not `BagIt-Version: 1.0` with `Tag-File-Character-Encoding: UTF-8`",
                ));
            }
        }
    }

    if !observed.has_data_dir {
        f.push(missing("data/"));
    }
    match content(PAYLOAD_MANIFEST) {
        None => f.push(missing(PAYLOAD_MANIFEST)),
        Some(text) => match parse_manifest(text) {
            Err(e) => f.push(finding(Some(PAYLOAD_MANIFEST.as_bytes()), e)),
            Ok(listed) => {
                let mut unlisted: BTreeSet<&Vec<u8>> = observed.payload.keys().collect();
                for (path, want) in &listed {
                    if !path.starts_with(b"data/") || !archive::is_safe_entry_path(path) {
                        f.push(finding(
                            Some(path),
                            format!("{PAYLOAD_MANIFEST} lists a path outside data/"),
                        ));
                        continue;
                    }
                    match observed.payload.get(path) {
                        None => f.push(finding(
                            Some(path),
                            format!("listed in {PAYLOAD_MANIFEST} but missing"),
                        )),
                        Some((got, _)) if got != want => f.push(finding(
                            Some(path),
                            format!("contents do not match {PAYLOAD_MANIFEST}"),
                        )),
                        Some(_) => {}
                    }
                    unlisted.remove(path);
                }
                for path in unlisted {
                    f.push(finding(
                        Some(path),
                        format!("not listed in {PAYLOAD_MANIFEST}"),
                    ));
                }
            }
        },
    }

    match content(TAG_MANIFEST) {
        None => f.push(missing(TAG_MANIFEST)),
        Some(text) => match parse_manifest(text) {
            Err(e) => f.push(finding(Some(TAG_MANIFEST.as_bytes()), e)),
            Ok(listed) => {
                let mut unlisted: BTreeSet<&Vec<u8>> = observed
                    .tags
                    .keys()
                    .filter(|k| k.as_slice() != TAG_MANIFEST.as_bytes())
                    .collect();
                for (path, want) in &listed {
                    if path.starts_with(b"data/")
                        || path.as_slice() == TAG_MANIFEST.as_bytes()
                        || !archive::is_safe_entry_path(path)
                    {
                        f.push(finding(
                            Some(path),
                            format!("{TAG_MANIFEST} may not list this path"),
                        ));
                        continue;
                    }
                    match observed.tags.get(path) {
                        None => f.push(finding(
                            Some(path),
                            format!("listed in {TAG_MANIFEST} but missing"),
                        )),
                        Some(got) if got != want => f.push(finding(
                            Some(path),
                            format!("contents do not match {TAG_MANIFEST}"),
                        )),
                        Some(_) => {}
                    }
                    unlisted.remove(path);
                }
                for path in unlisted {
                    f.push(finding(Some(path), format!("not listed in {TAG_MANIFEST}")));
                }
            }
        },
    }

    let (files, bytes) = observed.payload_totals();
    let computed = oxum(bytes, files);
    match content(BAG_INFO) {
        None => f.push(missing(BAG_INFO)),
        Some(text) => {
            let info = parse_bag_info(text);
            let get = |label: &str| -> Vec<&str> {
                info.iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(label))
                    .map(|(_, v)| v.as_str())
                    .collect()
            };
            for label in REQUIRED_BAG_INFO {
                if get(label).is_empty() {
                    f.push(finding(
                        Some(BAG_INFO.as_bytes()),
                        format!("{label} is missing"),
                    ));
                }
            }
            match get("Payload-Oxum")[..] {
                [] => {}
                [one] if one == computed => {}
                [one] => f.push(finding(
                    Some(BAG_INFO.as_bytes()),
                    format!("Payload-Oxum is {one}, the payload is {computed}"),
                )),
                _ => f.push(finding(
                    Some(BAG_INFO.as_bytes()),
                    "Payload-Oxum is given more than once",
                )),
            }
            let ids = get("External-Identifier");
            if !ids.is_empty() && ids != [manifest.external_identifier.as_str()] {
                f.push(finding(
                    Some(BAG_INFO.as_bytes()),
                    format!(
                        "External-Identifier is {}, the manifest says {}",
                        ids.join(", "),
                        manifest.external_identifier
                    ),
                ));
            }
            for date in get("Bagging-Date") {
                if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
                    f.push(finding(
                        Some(BAG_INFO.as_bytes()),
                        format!("Bagging-Date {date:?} is not YYYY-MM-DD"),
                    ));
                }
            }
        }
    }
    if computed != manifest.payload.oxum
        || files != manifest.payload.files
        || bytes != manifest.payload.bytes
    {
        f.push(finding(
            None,
            format!(
                "the payload is {computed} ({files} files, {bytes} bytes); the manifest says {}",
                manifest.payload.oxum
            ),
        ));
    }
    f
}

/// Parses a BagIt manifest: `<hex digest> <whitespace> <path>` per line,
/// paths percent-decoded. Duplicates are an error.
fn parse_manifest(text: &[u8]) -> std::result::Result<Vec<(Vec<u8>, Sha256Digest)>, String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}", i + 1);
        let split = line
            .iter()
            .position(|b| *b == b' ' || *b == b'\t')
            .ok_or_else(|| bad("not `CHECKSUM PATH`"))?;
        let (hex_part, rest) = line.split_at(split);
        let path = rest
            .iter()
            .position(|b| *b != b' ' && *b != b'\t')
            .map(|start| &rest[start..])
            .ok_or_else(|| bad("no path after the checksum"))?;
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut digest)
            .map_err(|_| bad("the checksum is not 64 hexadecimal digits"))?;
        let path = decode_path(path);
        if !seen.insert(path.clone()) {
            return Err(bad(&format!(
                "{} is listed twice",
                String::from_utf8_lossy(&path)
            )));
        }
        out.push((path, digest));
    }
    Ok(out)
}

/// Parses `bag-info.txt`: `Label: value` lines, a line starting with
/// whitespace continuing the value before it.
fn parse_bag_info(text: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in String::from_utf8_lossy(text).lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Receiving

/// A package to receive.
pub struct ReceiveRequest<'a> {
    /// The package file.
    pub package: &'a Path,
    /// Identities, one of which is a recipient.
    pub identities: &'a Identities,
    /// The sender's public key, when the receiver has it (`--sender-key`).
    pub sender_key: Option<&'a minisign::PublicKey>,
    /// Where to extract: empty or absent.
    pub into: &'a Path,
    /// The receiver named on the receipt (`--receiver`).
    pub receiver: &'a str,
    /// The receiving operator.
    pub operator: &'a str,
    /// The receiving site.
    pub site: &'a Site,
    /// The receiving policy's signing key: the receipt is signed when set.
    pub signing: Option<&'a SigningKey>,
    /// The receive's own audit event (`seq`, `hash`), recorded on the receipt.
    pub audit: Option<(u64, String)>,
    /// The clock.
    pub clock: Clock,
    /// Language of the printable receipt.
    pub lang: Lang,
    /// Progress.
    pub progress: &'a dyn Progress,
}

/// A receipt (預り証), written as JSON and printable HTML.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Receipt {
    /// Always [`RECEIPT_FORMAT`].
    pub format: String,
    /// `receipt-<External-Identifier>`.
    pub id: String,
    /// The package's External-Identifier.
    pub external_identifier: String,
    /// The package file as received.
    pub package: PackageMeta,
    /// The verified Payload-Oxum.
    pub payload_oxum: String,
    /// The verified payload.
    pub payload: PayloadMeta,
    /// Who sent it (from the signed manifest).
    pub sender: ReceiptSender,
    /// Who received it.
    pub receiver: ReceiptReceiver,
    /// When, RFC 3339 UTC.
    pub received_at: String,
    /// When, in the receiving machine's local time (RFC 3339 with offset).
    pub received_at_local: String,
    /// The local date in 和暦, e.g. `令和6年1月31日`.
    pub received_date_wareki: String,
    /// Whether `KURA_NOW` replaced the clock (a rehearsal).
    pub clock_overridden: bool,
    /// The real time of the receipt (RFC 3339, local), when `KURA_NOW`
    /// replaced the clock: `received_at` then says what the rehearsal pretended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_time: Option<String>,
    /// Where the bag was extracted.
    pub bag_directory: PathBuf,
    /// What was checked.
    pub checks: ReceiptChecks,
    /// What was received: documents, snapshots, the audit log copy (absent
    /// in receipts of older kura versions).
    #[serde(default)]
    pub contents: ReceivedContents,
    /// The city the receipt is addressed to (the receiving policy's
    /// `[site] addressee`), besides the sender.
    #[serde(default)]
    pub addressee: Option<String>,
    /// The receive's audit event on the receiving side.
    pub audit: Option<snapshot::AuditMeta>,
    /// Which tool wrote it.
    pub tool: ToolMeta,
}

/// The sender, as the signed manifest names it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReceiptSender {
    /// Source-Organization.
    pub organization: String,
    /// The sending site.
    pub site: SiteMeta,
    /// The operator who made the package.
    pub operator: String,
    /// When the package was made.
    pub created_at: String,
    /// The key id its manifest is signed with.
    pub signing_key_id: String,
}

/// The receiver.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReceiptReceiver {
    /// The receiver named with `--receiver`.
    pub name: String,
    /// The receiving operator.
    pub operator: String,
    /// The receiving site (its policy's `[site]`).
    pub site: SiteMeta,
}

/// What was checked before the receipt was written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReceiptChecks {
    /// `"valid"`: the manifest's signature verified.
    pub signature: String,
    /// Whether the key was the receiver's own copy (`--sender-key`).
    pub key_pinned: bool,
    /// `"match"`: the package's SHA-256 and size are the manifest's.
    pub package_sha256: String,
    /// `"valid"`: the bag validated in the stream and again on disk.
    pub bag: String,
    /// Payload files checked.
    pub files_checked: u64,
}

/// What [`receive`] did.
#[derive(Debug, Clone)]
pub struct ReceiveOutcome {
    /// The receipt.
    pub receipt: Receipt,
    /// How the signature was checked.
    pub signature: SignatureCheck,
    /// The extracted bag directory.
    pub bag_dir: PathBuf,
    /// `receipt-<id>.json`.
    pub receipt_json: PathBuf,
    /// `receipt-<id>.html`.
    pub receipt_html: PathBuf,
    /// Their `.minisig` files, when the receiver signs.
    pub signatures: Vec<PathBuf>,
}

/// Verifies a package, extracts its bag into `into` (empty or absent), checks
/// the bag again on disk and writes the receipt beside it. On any problem
/// everything written is removed again.
pub fn receive(req: &ReceiveRequest) -> Result<ReceiveOutcome> {
    let (manifest, signature) = check_manifest(req.package, req.sender_key)
        .and_then(|(m, s)| check_package(req.package, &m, req.progress).map(|()| (m, s)))
        .map_err(crate::interrupt::or_interrupted)?;
    let target = restore::prepare_target(req.into)?;
    let result = extract_and_receipt(req, &target, &manifest, &signature);
    if result.is_err() {
        // Interrupted too: nothing half-extracted is left.
        restore::remove_written(target);
    }
    result.map_err(crate::interrupt::or_interrupted)
}

fn extract_and_receipt(
    req: &ReceiveRequest,
    target: &restore::Target,
    manifest: &HandoverManifest,
    signature: &SignatureCheck,
) -> Result<ReceiveOutcome> {
    let id = &manifest.external_identifier;
    let root = target
        .dir
        .try_clone()
        .map_err(|e| Error::io(Action::Read, req.into, e))?;
    let mut sink = RestoreSink::new(root, req.into, false);
    let observed = match read_bag(
        req.package,
        manifest,
        req.identities,
        &mut sink,
        true,
        req.progress,
    ) {
        Ok(o) => o,
        Err(e) => return Err(sink.failure.take().unwrap_or(e)),
    };
    let findings = validate(&observed, manifest);
    if let Some(first) = findings.first() {
        return Err(integrity(req.package, first, findings.len()));
    }
    restore::set_dir_times(&target.dir, req.into, &sink.dir_times)?;

    // Once more, as it now lies on disk.
    let bag_dir = req.into.join(id);
    let on_disk = observe_dir(&bag_dir, &Silent)?;
    let mut findings = validate(&on_disk, manifest);
    let entries = fs::read_dir(req.into).map_err(|e| Error::io(Action::List, req.into, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(Action::List, req.into, e))?;
        if entry.file_name().to_str() != Some(id.as_str()) {
            findings.push(finding(
                Some(entry.file_name().to_string_lossy().as_bytes()),
                "outside the bag directory",
            ));
        }
    }
    if let Some(first) = findings.first() {
        return Err(integrity(&bag_dir, first, findings.len()));
    }

    let (files, bytes) = on_disk.payload_totals();
    let now = req.clock.now();
    let local = now.with_timezone(&chrono::Local);
    let receipt = Receipt {
        format: RECEIPT_FORMAT.into(),
        id: format!("receipt-{id}"),
        external_identifier: id.clone(),
        package: PackageMeta {
            file: req
                .package
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..manifest.package.clone()
        },
        payload_oxum: oxum(bytes, files),
        payload: PayloadMeta {
            oxum: oxum(bytes, files),
            files,
            bytes,
        },
        sender: ReceiptSender {
            organization: manifest.sender.organization.clone(),
            site: manifest.sender.site.clone(),
            operator: manifest.sender.operator.clone(),
            created_at: manifest.created_at.clone(),
            signing_key_id: signature.key_id.clone(),
        },
        receiver: ReceiptReceiver {
            name: req.receiver.to_string(),
            operator: req.operator.to_string(),
            site: site_meta(req.site),
        },
        received_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        received_at_local: local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        received_date_wareki: wareki::format_ja(local.date_naive()),
        clock_overridden: req.clock.is_overridden(),
        real_time: req.clock.real_time_if_overridden(),
        bag_directory: absolute(&bag_dir),
        checks: ReceiptChecks {
            signature: "valid".into(),
            key_pinned: signature.pinned,
            package_sha256: "match".into(),
            bag: "valid".into(),
            files_checked: files,
        },
        contents: receipt::contents(
            on_disk.payload.iter().map(|(p, (_, n))| (p.as_slice(), *n)),
            manifest,
        ),
        addressee: req.site.addressee.clone(),
        audit: req
            .audit
            .clone()
            .map(|(seq, head)| snapshot::AuditMeta { seq, head }),
        tool: tool(),
    };

    let receipt_json = req.into.join(format!("{}.json", receipt.id));
    let receipt_html = req.into.join(format!("{}.html", receipt.id));
    let mut json = serde_json::to_vec_pretty(&receipt)
        .map_err(|e| Error::io(Action::Write, &receipt_json, io::Error::other(e)))?;
    json.push(b'\n');
    let html = receipt::render_html(&receipt, signature, req.site, req.lang);
    let json_tmp = temp_in(req.into)?;
    write_temp(&json_tmp, &json)?;
    let html_tmp = temp_in(req.into)?;
    write_temp(&html_tmp, html.as_bytes())?;
    let mut staged = vec![
        (json_tmp, receipt_json.clone()),
        (html_tmp, receipt_html.clone()),
    ];
    let mut signatures = Vec::new();
    if let Some(key) = req.signing {
        let comment = format!("kura-receipt {id} {}", manifest.package.sha256);
        let mut sigs = Vec::new();
        for (tmp, path) in &staged {
            let sig_tmp = temp_in(req.into)?;
            key.sign_file(tmp.path(), sig_tmp.path(), &comment)?;
            sigs.push((sig_tmp, audit::signature_path(path)));
        }
        signatures = sigs.iter().map(|(_, p)| p.clone()).collect();
        staged.extend(sigs);
    }
    publish(staged, req.into)?;
    Ok(ReceiveOutcome {
        receipt,
        signature: signature.clone(),
        bag_dir,
        receipt_json,
        receipt_html,
        signatures,
    })
}

/// A path as it reads best on a receipt: absolute, without `..` where the
/// platform can say so plainly (Windows' canonical form is a `\\?\` path).
fn absolute(path: &Path) -> PathBuf {
    let plain = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if cfg!(windows) {
        plain
    } else {
        fs::canonicalize(path).unwrap_or(plain)
    }
}

fn integrity(path: &Path, first: &Finding, count: usize) -> Error {
    let mut detail = match &first.entry {
        Some(e) => format!("{e}: {}", first.detail),
        None => first.detail.clone(),
    };
    if count > 1 {
        detail.push_str(&format!(" (and {} more findings)", count - 1));
    }
    Error::Integrity {
        path: path.to_path_buf(),
        detail,
    }
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
