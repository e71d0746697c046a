//! The policy file (SPEC §4): what to back up, where, for whom, and who may run kura.
//!
//! Loading has two layers. [`Policy::parse`] checks everything that can be
//! decided from the text alone (unknown keys, types, names, ranges) and so works
//! on any platform, e.g. on a Windows policy read on Linux. [`Policy::load`] also
//! reads the files the policy itself depends on (the recipients file, signing
//! keys). Every error names the policy file with line and column. Source paths
//! are not required to exist here: a source on a missing drive is an operational
//! failure of the backup, reported with the line that names it.

use std::collections::HashSet;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::i18n::Lang;

mod people;
#[cfg(test)]
mod tests;

pub use people::{Approver, Operator};
use people::{RawAccess, RawErasure};

/// The source name reserved for the audit database's archive.
pub const RESERVED_SOURCE_NAMES: &[&str] = &["audit"];

/// A validated policy with every path resolved against the policy's directory.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    /// The policy file as given.
    pub file: PathBuf,
    /// Its directory: relative paths in the policy resolve against it.
    pub dir: PathBuf,
    /// Where the work is done (履行場所).
    pub site: Site,
    /// People (and the scheduled task) allowed to run kura.
    pub operators: Vec<Operator>,
    /// One archive per source.
    pub sources: Vec<Source>,
    /// Where snapshots go.
    pub destinations: Vec<Destination>,
    /// age recipients every archive is encrypted to, as `age1…` strings
    /// (inline ones and those of the recipients file).
    pub recipients: Vec<String>,
    /// The recipients file, if the policy names one.
    pub recipients_file: Option<PathBuf>,
    #[serde(skip)]
    recipients_file_span: Option<Range<usize>>,
    /// minisign keys, when every document is to be signed.
    pub signing: Option<Signing>,
    /// zstd settings.
    pub compression: Compression,
    /// The monthly schedule.
    pub schedule: Schedule,
    /// How many snapshots to keep.
    pub retention: Retention,
    /// The audit database.
    pub audit_database: PathBuf,
    /// `[audit] external_checkpoint_days`: `kura check` reports a finding
    /// when no checkpoint from outside the server (`audit verify
    /// --checkpoint`) was verified within this many days.
    pub audit_external_checkpoint_days: u32,
    /// Disks whose free space the check reports.
    pub disks: Vec<Disk>,
    /// The erasure workflow's rules.
    pub erasure: ErasureRules,
    /// Whether this policy is for rehearsals.
    pub rehearsal: Rehearsal,
    #[serde(skip)]
    approver_key_spans: Vec<Range<usize>>,
}

/// The `[erasure]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErasureRules {
    /// Whether the person who requested an erasure may also approve it.
    pub allow_self_approval: bool,
    /// People whose approvals must be signed with their key. Empty: any
    /// approval by name is accepted (as before approvers existed).
    pub approvers: Vec<Approver>,
}

/// The `[rehearsal]` table: what only a demo, a test or a rehearsal may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rehearsal {
    /// Whether `KURA_NOW` may replace the clock. Off in production: a
    /// replaced clock would date snapshots, audit times and reports falsely.
    pub allow_clock_override: bool,
}

/// The `[site]` table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Site {
    /// 履行場所.
    pub name: String,
    /// The system whose data is kept.
    pub system: String,
    /// 受託者.
    pub contractor: Option<String>,
    /// 契約コード.
    pub contract_code: Option<String>,
    /// The addressee of the city's forms, e.g. 札幌市長 (別添4, 別添7,
    /// certificates, receipts).
    pub addressee: Option<String>,
    /// The contractor's address (住所).
    pub address: Option<String>,
    /// The contractor's representative as the forms print it (職・氏名 /
    /// 代表者名), e.g. 代表取締役 札幌 一郎.
    pub representative: Option<String>,
    /// The contracted work (受託業務名 / 名称), e.g.
    /// し尿くみ取り世帯管理システム保守業務.
    pub work_name: Option<String>,
    /// The server as the inspection sheet names it (形式等).
    pub equipment: Option<String>,
    /// First day of the contract.
    pub contract_start: NaiveDate,
    /// Last day of the contract.
    pub contract_end: NaiveDate,
}

/// A place in the policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// One `[[sources]]` entry.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// Archive name, `[a-z0-9][a-z0-9-]*`.
    pub name: String,
    /// Human label.
    pub label: String,
    /// Files or directories; each contributes its base name inside the archive.
    pub paths: Vec<SourcePath>,
    /// A command run before the source is read.
    pub prepare: Option<Vec<String>>,
}

/// A path of a source and where the policy names it.
#[derive(Debug, Clone, Serialize)]
pub struct SourcePath {
    /// Resolved path.
    pub path: PathBuf,
    /// Where it is named.
    pub location: Location,
}

/// One `[[destinations]]` entry.
#[derive(Debug, Clone, Serialize)]
pub struct Destination {
    /// Name, `[a-z0-9][a-z0-9-]*`.
    pub name: String,
    /// Human label, e.g. "USB外付けHDD (HDD1)".
    pub label: String,
    /// Resolved directory.
    pub path: PathBuf,
    /// Volume ids accepted here.
    pub volumes: Vec<String>,
    /// Free space to leave, in GiB.
    pub min_free_gib: Option<u64>,
}

/// The `[signing]` table.
#[derive(Debug, Clone, Serialize)]
pub struct Signing {
    /// minisign secret key (unencrypted).
    pub secret_key: PathBuf,
    /// minisign public key.
    pub public_key: PathBuf,
    /// Keys that signed before this one (`previous_public_keys`): each is
    /// trusted for what was made before its `until` day.
    pub previous: Vec<PreviousKey>,
}

/// A retired signing key of `[signing] previous_public_keys`.
#[derive(Debug, Clone, Serialize)]
pub struct PreviousKey {
    /// Its minisign public key file.
    pub public_key: PathBuf,
    /// The first day it no longer signs (local date): it is trusted for
    /// snapshots and papers made before this day only.
    pub until: NaiveDate,
}

/// The `[compression]` table.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Compression {
    /// zstd level.
    pub level: i32,
    /// Worker threads; 0 = all cores.
    pub threads: u32,
}

impl Default for Compression {
    fn default() -> Self {
        Compression {
            level: 3,
            threads: 0,
        }
    }
}

/// The `[schedule]` table.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// Day of the month the job runs.
    pub day_of_month: u32,
    /// Days after that before a missing snapshot is a finding.
    pub grace_days: u32,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            day_of_month: 1,
            grace_days: 7,
        }
    }
}

/// The `[retention]` table.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// Newest snapshot of each of the last N months.
    pub keep_monthly: u32,
    /// Newest snapshot of each of the last N years.
    pub keep_yearly: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep_monthly: 12,
            keep_yearly: 0,
        }
    }
}

/// One `[[disks]]` entry.
#[derive(Debug, Clone, Serialize)]
pub struct Disk {
    /// Label as on the inspection sheet, e.g. "C".
    pub label: String,
    /// A path on that disk.
    pub path: PathBuf,
}

// ---------------------------------------------------------------------------
// The text as written. Spanned where a later check must point at the place.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    site: RawSite,
    access: RawAccess,
    #[serde(default)]
    sources: Vec<RawSource>,
    #[serde(default)]
    destinations: Vec<RawDestination>,
    encryption: RawEncryption,
    signing: Option<RawSigning>,
    #[serde(default = "default_spanned")]
    compression: Spanned<Compression>,
    #[serde(default = "default_spanned")]
    schedule: Spanned<Schedule>,
    #[serde(default)]
    retention: Retention,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    disks: Vec<RawDisk>,
    #[serde(default)]
    erasure: RawErasure,
    #[serde(default)]
    rehearsal: Rehearsal,
}

fn default_spanned<T: Default>() -> Spanned<T> {
    Spanned::new(0..0, T::default())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: Spanned<String>,
    system: Spanned<String>,
    contractor: Option<String>,
    contract_code: Option<String>,
    addressee: Option<String>,
    address: Option<String>,
    representative: Option<String>,
    work_name: Option<String>,
    equipment: Option<String>,
    contract_start: Spanned<toml::value::Datetime>,
    contract_end: Spanned<toml::value::Datetime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    label: Option<String>,
    paths: Spanned<Vec<Spanned<String>>>,
    prepare: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    name: Spanned<String>,
    label: Option<String>,
    path: Spanned<String>,
    #[serde(default)]
    volumes: Vec<String>,
    min_free_gib: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEncryption {
    #[serde(default)]
    recipients: Vec<Spanned<String>>,
    recipients_file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSigning {
    secret_key: Spanned<String>,
    public_key: Spanned<String>,
    #[serde(default)]
    previous_public_keys: Vec<RawPreviousKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPreviousKey {
    public_key: Spanned<String>,
    until: Spanned<toml::value::Datetime>,
}

/// The default of `[audit] external_checkpoint_days`: two months, so one
/// missed monthly visit is not yet a finding.
pub const DEFAULT_EXTERNAL_CHECKPOINT_DAYS: u32 = 62;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    #[serde(default = "default_database")]
    database: Spanned<String>,
    external_checkpoint_days: Option<Spanned<i64>>,
}

fn default_database() -> Spanned<String> {
    Spanned::new(0..0, "kura-audit.sqlite".to_string())
}

impl Default for RawAudit {
    fn default() -> Self {
        RawAudit {
            database: default_database(),
            external_checkpoint_days: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisk {
    label: String,
    path: String,
}

/// Turns byte offsets of the policy text into error positions.
struct Text<'a> {
    file: &'a Path,
    text: &'a str,
    lang: Lang,
}

impl Text<'_> {
    fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location { line, column }
    }

    fn error(&self, span: Range<usize>, ja: String, en: String) -> Error {
        let at = self.location(span.start);
        Error::Policy {
            file: self.file.to_path_buf(),
            line: at.line,
            column: at.column,
            message: self.lang.pick(ja, en),
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Whether `name` is a valid source or destination name: `[a-z0-9][a-z0-9-]*`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Resolves a policy path: absolute stays, relative joins the policy directory.
/// On Windows a policy written with `/` (as the examples are) resolves to
/// `\`, so that kura prints every path in one style.
fn resolve(dir: &Path, text: &str) -> PathBuf {
    #[cfg(windows)]
    let text = &text.replace('/', "\\");
    let p = Path::new(text);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// The last component of a policy path, which names it inside the archive.
fn base_name(text: &str) -> Option<String> {
    text.trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .filter(|s| !s.is_empty() && *s != "." && *s != ".." && !s.ends_with(':'))
        .map(str::to_string)
}

impl Policy {
    /// Reads and validates a policy, including the files it depends on.
    pub fn load(file: &Path, lang: Lang) -> Result<Policy> {
        let bytes = fs::read(file).map_err(|source| Error::PolicyUnreadable {
            file: file.to_path_buf(),
            source,
        })?;
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                let t = Text {
                    file,
                    text: std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or(""),
                    lang,
                };
                return Err(t.error(
                    valid..valid,
                    "UTF-8 のテキストではありません".into(),
                    "not UTF-8 text".into(),
                ));
            }
        };
        let dir = policy_dir(file);
        let mut policy = Policy::parse(&text, file, &dir, lang)?;
        policy.load_dependencies(&text, lang)?;
        Ok(policy)
    }

    /// Validates policy text without touching any file it names.
    /// `dir` is where relative paths resolve.
    pub fn parse(text: &str, file: &Path, dir: &Path, lang: Lang) -> Result<Policy> {
        let t = Text { file, text, lang };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let detail = e.message().trim().to_string();
            t.error(
                span,
                format!("ポリシーの記述が不正です: {detail}"),
                detail.clone(),
            )
        })?;
        Self::validate(raw, &t, dir)
    }

    fn validate(raw: RawPolicy, t: &Text, dir: &Path) -> Result<Policy> {
        let non_empty = |s: &Spanned<String>, key: &str| -> Result<String> {
            let v = s.get_ref().trim();
            if v.is_empty() {
                Err(t.error(
                    s.span(),
                    format!("{key} が空です"),
                    format!("{key} must not be empty"),
                ))
            } else {
                Ok(v.to_string())
            }
        };
        let date = |d: &Spanned<toml::value::Datetime>, key: &str| -> Result<NaiveDate> {
            let v = d.get_ref();
            match (v.date, v.time, v.offset) {
                (Some(date), None, None) => {
                    NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())
                }
                _ => None,
            }
            .ok_or_else(|| {
                t.error(
                    d.span(),
                    format!("{key} は日付 (例: 2024-03-31) で指定してください"),
                    format!("{key} must be a date such as 2024-03-31"),
                )
            })
        };

        let site = Site {
            name: non_empty(&raw.site.name, "site.name")?,
            system: non_empty(&raw.site.system, "site.system")?,
            contractor: raw.site.contractor.clone(),
            contract_code: raw.site.contract_code.clone(),
            addressee: optional(&raw.site.addressee),
            address: optional(&raw.site.address),
            representative: optional(&raw.site.representative),
            work_name: optional(&raw.site.work_name),
            equipment: optional(&raw.site.equipment),
            contract_start: date(&raw.site.contract_start, "site.contract_start")?,
            contract_end: date(&raw.site.contract_end, "site.contract_end")?,
        };
        if site.contract_end < site.contract_start {
            return Err(t.error(
                raw.site.contract_end.span(),
                "contract_end が contract_start より前です".into(),
                "contract_end is before contract_start".into(),
            ));
        }

        let operators = people::operators(t, &raw.access)?;

        if raw.sources.is_empty() {
            return Err(t.error(
                0..0,
                "[[sources]] が1つもありません".into(),
                "the policy has no [[sources]]".into(),
            ));
        }
        let mut names = HashSet::new();
        let mut sources = Vec::new();
        for s in &raw.sources {
            let name = checked_name(t, &s.name, "source", &mut names)?;
            if RESERVED_SOURCE_NAMES.contains(&name.as_str()) {
                return Err(t.error(
                    s.name.span(),
                    format!("「{name}」は監査ログのアーカイブ用に予約された名前です"),
                    format!("\"{name}\" is reserved for the audit log's archive"),
                ));
            }
            if s.paths.get_ref().is_empty() {
                return Err(t.error(
                    s.paths.span(),
                    format!("バックアップ対象「{name}」の paths が空です"),
                    format!("source \"{name}\" has no paths"),
                ));
            }
            let mut bases = HashSet::new();
            let mut paths = Vec::new();
            for p in s.paths.get_ref() {
                let text = non_empty(p, "paths")?;
                let base = base_name(&text).ok_or_else(|| {
                    t.error(
                        p.span(),
                        format!("{text} にはファイル名またはディレクトリ名がありません"),
                        format!("{text} has no file or directory name to store it under"),
                    )
                })?;
                if base == crate::archive::MANIFEST_NAME {
                    return Err(t.error(
                        p.span(),
                        format!("{base} はアーカイブ内の目録と衝突します"),
                        format!("{base} collides with the archive's own manifest"),
                    ));
                }
                // Compared without case: Windows cannot hold both on restore.
                if !bases.insert(base.to_lowercase()) {
                    return Err(t.error(
                        p.span(),
                        format!(
                            "バックアップ対象「{name}」に同じ名前「{base}」のパスが2つあります"
                        ),
                        format!("source \"{name}\" has two paths named \"{base}\""),
                    ));
                }
                paths.push(SourcePath {
                    path: resolve(dir, &text),
                    location: t.location(p.span().start),
                });
            }
            let prepare = match &s.prepare {
                Some(cmd) if cmd.get_ref().is_empty() || cmd.get_ref()[0].trim().is_empty() => {
                    return Err(t.error(
                        cmd.span(),
                        "prepare にはコマンドと引数を記載してください".into(),
                        "prepare must give a program and its arguments".into(),
                    ))
                }
                Some(cmd) => Some(cmd.get_ref().clone()),
                None => None,
            };
            sources.push(Source {
                label: s.label.clone().unwrap_or_else(|| name.clone()),
                name,
                paths,
                prepare,
            });
        }

        if raw.destinations.is_empty() {
            return Err(t.error(
                0..0,
                "[[destinations]] が1つもありません".into(),
                "the policy has no [[destinations]]".into(),
            ));
        }
        let mut dest_names = HashSet::new();
        let mut destinations = Vec::new();
        for d in &raw.destinations {
            let name = checked_name(t, &d.name, "destination", &mut dest_names)?;
            let path = non_empty(&d.path, "path")?;
            destinations.push(Destination {
                label: d.label.clone().unwrap_or_else(|| name.clone()),
                name,
                path: resolve(dir, &path),
                volumes: d.volumes.clone(),
                min_free_gib: d.min_free_gib,
            });
        }

        let mut recipients = Vec::new();
        for r in &raw.encryption.recipients {
            recipients.push(parse_recipient(t, r.get_ref(), r.span())?);
        }

        let signing = match raw.signing.as_ref() {
            None => None,
            Some(s) => {
                let mut previous = Vec::new();
                for p in &s.previous_public_keys {
                    previous.push(PreviousKey {
                        public_key: resolve(dir, p.public_key.get_ref()),
                        until: date(&p.until, "signing.previous_public_keys.until")?,
                    });
                }
                Some(Signing {
                    secret_key: resolve(dir, s.secret_key.get_ref()),
                    public_key: resolve(dir, s.public_key.get_ref()),
                    previous,
                })
            }
        };

        let c = raw.compression.get_ref();
        if !(-7..=22).contains(&c.level) {
            return Err(t.error(
                raw.compression.span(),
                format!(
                    "compression.level {} は -7〜22 の範囲で指定してください",
                    c.level
                ),
                format!("compression.level {} must be between -7 and 22", c.level),
            ));
        }
        let s = raw.schedule.get_ref();
        if !(1..=28).contains(&s.day_of_month) {
            return Err(t.error(
                raw.schedule.span(),
                "schedule.day_of_month は 1〜28 で指定してください (毎月必ず存在する日)".into(),
                "schedule.day_of_month must be 1 to 28 (a day every month has)".into(),
            ));
        }

        let (erasure, approver_key_spans) = people::erasure(t, &raw.erasure, dir)?;

        let audit_text = non_empty_or_default(&raw.audit.database);
        let external_checkpoint_days = match &raw.audit.external_checkpoint_days {
            None => DEFAULT_EXTERNAL_CHECKPOINT_DAYS,
            Some(days) => u32::try_from(*days.get_ref())
                .ok()
                .filter(|d| *d > 0)
                .ok_or_else(|| {
                    t.error(
                        days.span(),
                        "audit.external_checkpoint_days は 1 以上の整数 (日数) で指定してください"
                            .into(),
                        "audit.external_checkpoint_days must be a positive whole number of days"
                            .into(),
                    )
                })?,
        };
        let recipients_file = raw.encryption.recipients_file.as_ref();
        Ok(Policy {
            file: t.file.to_path_buf(),
            dir: dir.to_path_buf(),
            site,
            operators,
            sources,
            destinations,
            recipients,
            recipients_file: recipients_file.map(|f| resolve(dir, f.get_ref())),
            recipients_file_span: recipients_file.map(|f| f.span()),
            signing,
            compression: *c,
            schedule: *s,
            retention: raw.retention,
            audit_database: resolve(dir, &audit_text),
            audit_external_checkpoint_days: external_checkpoint_days,
            disks: raw
                .disks
                .iter()
                .map(|d| Disk {
                    label: d.label.clone(),
                    path: resolve(dir, &d.path),
                })
                .collect(),
            erasure,
            rehearsal: raw.rehearsal,
            approver_key_spans,
        })
    }

    /// Reads the recipients file, checks the signing keys exist and loads
    /// every approver's public key.
    fn load_dependencies(&mut self, text: &str, lang: Lang) -> Result<()> {
        let t = Text {
            file: &self.file,
            text,
            lang,
        };
        if let Some(path) = self.recipients_file.clone() {
            let span = self.recipients_file_span.clone().unwrap_or(0..0);
            let content = fs::read_to_string(&path).map_err(|e| {
                t.error(
                    span.clone(),
                    format!("受信者ファイル {} を読み取れません: {e}", path.display()),
                    format!("cannot read recipients file {}: {e}", path.display()),
                )
            })?;
            for (i, line) in content.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if age::x25519::Recipient::from_str(line).is_err() {
                    return Err(t.error(
                        span.clone(),
                        format!(
                            "受信者ファイル {} の {} 行目は age の受信者 (age1…) ではありません",
                            path.display(),
                            i + 1
                        ),
                        format!(
                            "line {} of recipients file {} is not an age recipient (age1…)",
                            i + 1,
                            path.display()
                        ),
                    ));
                }
                if !self.recipients.iter().any(|r| r == line) {
                    self.recipients.push(line.to_string());
                }
            }
        }
        if self.recipients.is_empty() {
            return Err(t.error(
                0..0,
                "[encryption] に受信者 (recipients または recipients_file) がありません".into(),
                "[encryption] names no recipients (recipients or recipients_file)".into(),
            ));
        }
        if let Some(s) = &self.signing {
            for p in &s.previous {
                if let Err(e) = crate::keys::load_public_key(&p.public_key) {
                    let at = text.find("previous_public_keys").unwrap_or(0);
                    return Err(t.error(
                        at..at,
                        format!(
                            "[signing] previous_public_keys の公開鍵を使用できません: {}",
                            e.message(crate::Lang::Ja)
                        ),
                        format!(
                            "[signing] previous_public_keys: a public key cannot be used: {}",
                            e.message(crate::Lang::En)
                        ),
                    ));
                }
            }
            for key in [&s.secret_key, &s.public_key] {
                if let Err(e) = fs::metadata(key) {
                    let at = text.find("[signing]").unwrap_or(0);
                    return Err(t.error(
                        at..at,
                        format!("署名鍵 {} を読み取れません: {e}", key.display()),
                        format!("cannot read signing key {}: {e}", key.display()),
                    ));
                }
            }
        }
        people::check_approver_keys(&t, self)?;
        Ok(())
    }

    /// Checks that `clock` may be used under this policy: a clock replaced
    /// by `KURA_NOW` only where `[rehearsal] allow_clock_override = true`,
    /// else [`Error::ClockOverrideRefused`] (exit 4).
    pub fn allow_clock(&self, clock: &Clock) -> Result<()> {
        if clock.is_overridden() && !self.rehearsal.allow_clock_override {
            return Err(Error::ClockOverrideRefused {
                policy: self.file.clone(),
            });
        }
        Ok(())
    }

    /// The destination with this name.
    pub fn destination(&self, name: &str) -> Option<&Destination> {
        self.destinations.iter().find(|d| d.name == name)
    }

    /// The destinations named (all of them if `names` is empty); an unknown
    /// name is a usage error.
    pub fn select_destinations(&self, names: &[String]) -> Result<Vec<&Destination>> {
        if names.is_empty() {
            return Ok(self.destinations.iter().collect());
        }
        names
            .iter()
            .map(|n| {
                self.destination(n)
                    .ok_or_else(|| Error::UnknownDestination {
                        name: n.clone(),
                        known: self.destinations.iter().map(|d| d.name.clone()).collect(),
                    })
            })
            .collect()
    }
}

/// An optional text field: trimmed, and absent when empty (the forms then
/// leave a blank line for the pen).
fn optional(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn non_empty_or_default(s: &Spanned<String>) -> String {
    let v = s.get_ref().trim();
    if v.is_empty() {
        "kura-audit.sqlite".to_string()
    } else {
        v.to_string()
    }
}

fn checked_name(
    t: &Text,
    name: &Spanned<String>,
    what: &str,
    seen: &mut HashSet<String>,
) -> Result<String> {
    let n = name.get_ref().clone();
    if !is_valid_name(&n) {
        return Err(t.error(
            name.span(),
            format!("名前「{n}」は英小文字・数字・ハイフンのみで、英小文字か数字で始めてください"),
            format!("{what} name \"{n}\" must match [a-z0-9][a-z0-9-]*"),
        ));
    }
    if !seen.insert(n.clone()) {
        return Err(t.error(
            name.span(),
            format!("名前「{n}」が重複しています"),
            format!("{what} name \"{n}\" is used twice"),
        ));
    }
    Ok(n)
}

fn parse_recipient(t: &Text, text: &str, span: Range<usize>) -> Result<String> {
    let text = text.trim();
    age::x25519::Recipient::from_str(text)
        .map(|_| text.to_string())
        .map_err(|_| {
            t.error(
                span,
                "age の受信者 (age1…) ではありません".into(),
                "not an age recipient (age1…)".into(),
            )
        })
}

/// The directory a policy file's relative paths resolve against.
pub fn policy_dir(file: &Path) -> PathBuf {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    match absolute.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
