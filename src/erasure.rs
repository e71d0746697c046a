//! Erasure (第13条, 別添5 5(10)(11)): nothing is deleted without a record.
//!
//! A request lists concrete items — every file of every copy of a snapshot on
//! every destination, files, identity files, or physical media described in
//! text — with method, planned date and reason. It must be approved by a
//! named person (not the requester, unless the policy allows it) before it can
//! be executed, and execution is refused before the planned date. Requests
//! live in the audit database beside the events, and every step is also an
//! audit event, so the chain vouches for them.
//!
//! Execution records each item's size and SHA-256, overwrites it in place
//! with zeros, fsyncs, reads every byte back, unlinks, fsyncs the directory and
//! confirms absence (NIST SP 800-88 "Clear" on magnetic media). Each item's
//! outcome is committed as soon as it is known, so a failure half way leaves a
//! precise record and `erase execute` resumes with what is left.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::keys::{self, PassphraseSource};
use crate::media;
use crate::policy::Policy;
use crate::{retention, snapshot, sums};

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS erasure_requests (
    id           TEXT PRIMARY KEY,
    created_at   TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    method       TEXT NOT NULL,
    planned      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    details      TEXT NOT NULL,
    status       TEXT NOT NULL,
    approved_by  TEXT,
    approved_at  TEXT,
    executed_by  TEXT,
    executed_at  TEXT,
    witness      TEXT,
    note         TEXT
);
CREATE TABLE IF NOT EXISTS erasure_items (
    request_id  TEXT NOT NULL,
    n           INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    destination TEXT,
    path        TEXT,
    size        INTEGER,
    sha256      TEXT,
    status      TEXT NOT NULL,
    detail      TEXT,
    erased_at   TEXT,
    PRIMARY KEY (request_id, n)
);
";

/// How items are erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Overwrite in place, fsync, read back, unlink, confirm absence (NIST Clear).
    Overwrite,
    /// Destroy every listed copy of an identity (NIST Purge by cryptographic erase).
    CryptoErase,
    /// Physical destruction, recorded on the operator's word with a witness.
    Destroy,
}

impl Method {
    /// Parses `overwrite`, `crypto-erase` or `destroy`.
    pub fn parse(text: &str) -> Option<Method> {
        match text {
            "overwrite" => Some(Method::Overwrite),
            "crypto-erase" => Some(Method::CryptoErase),
            "destroy" => Some(Method::Destroy),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Overwrite => "overwrite",
            Method::CryptoErase => "crypto-erase",
            Method::Destroy => "destroy",
        }
    }

    /// The NIST SP 800-88 method type.
    pub fn nist_type(self) -> &'static str {
        match self {
            Method::Overwrite => "Clear",
            Method::CryptoErase => "Purge (cryptographic erase)",
            Method::Destroy => "Destroy",
        }
    }
}

/// What a request asks to erase, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemSpec {
    /// A snapshot: every file of every copy on every destination.
    Snapshot(String),
    /// A file.
    File(PathBuf),
    /// An identity file (for crypto-erase).
    Identity(PathBuf),
    /// A physical medium, described in text.
    Medium(String),
}

/// A request to create.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// The items.
    pub items: Vec<ItemSpec>,
    /// The method.
    pub method: Method,
    /// The planned date.
    pub planned: NaiveDate,
    /// Why.
    pub reason: String,
}

/// One concrete item of a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Item {
    /// Its number within the request, from 1.
    pub n: u32,
    /// `snapshot`, `file`, `identity` or `medium`.
    pub kind: String,
    /// The snapshot id, the file, or the medium's description.
    pub target: String,
    /// For snapshot copies: the destination.
    pub destination: Option<String>,
    /// The file to erase (none for a medium).
    pub path: Option<String>,
    /// Its size, recorded before erasing (at request time: as listed).
    pub size: Option<u64>,
    /// Its SHA-256, recorded just before erasing.
    pub sha256: Option<String>,
    /// `pending`, `erased`, `absent`, `recorded` (destroy) or `failed`.
    pub status: String,
    /// Why it failed, or notes.
    pub detail: Option<String>,
    /// When it was erased (RFC 3339).
    pub erased_at: Option<String>,
}

/// A stored request.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    /// `ER-YYYY-NNNN`.
    pub id: String,
    /// When it was made.
    pub created_at: String,
    /// Who asked.
    pub requested_by: String,
    /// The method.
    pub method: String,
    /// The planned date, `YYYY-MM-DD`.
    pub planned: String,
    /// Why.
    pub reason: String,
    /// Extra facts (media, crypto-erase recipients and affected snapshots).
    pub details: serde_json::Value,
    /// `requested`, `approved`, `rejected`, `partial` or `executed`.
    pub status: String,
    /// The approver (or rejecter).
    pub approved_by: Option<String>,
    /// When.
    pub approved_at: Option<String>,
    /// Who executed.
    pub executed_by: Option<String>,
    /// When execution finished.
    pub executed_at: Option<String>,
    /// The witness.
    pub witness: Option<String>,
    /// A rejection reason or other note.
    pub note: Option<String>,
    /// The items.
    pub items: Vec<Item>,
}

impl Request {
    /// Total bytes of the items, as recorded.
    pub fn bytes(&self) -> u64 {
        self.items.iter().filter_map(|i| i.size).sum()
    }

    /// The distinct snapshot ids it covers.
    pub fn snapshots(&self) -> BTreeSet<String> {
        self.items
            .iter()
            .filter(|i| i.kind == "snapshot")
            .map(|i| i.target.clone())
            .collect()
    }
}

fn db_err(log: &AuditLog, e: rusqlite::Error) -> Error {
    Error::AuditUnavailable {
        path: log.path().to_path_buf(),
        detail: e.to_string(),
    }
}

fn ensure_schema(log: &AuditLog) -> Result<()> {
    log.connection()
        .execute_batch(SCHEMA)
        .map_err(|e| db_err(log, e))
}

fn now_text(clock: &Clock) -> String {
    clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Creates a request: expands every item to concrete files (refusing what
/// retention keeps and what cannot be listed completely) and stores it.
pub fn request(
    log: &AuditLog,
    policy: &Policy,
    clock: &Clock,
    requested_by: &str,
    new: &NewRequest,
    passphrase: PassphraseSource,
) -> Result<Request> {
    ensure_schema(log)?;
    if new.items.is_empty() {
        return Err(Error::usage(
            "消去依頼には対象が1つ以上必要です (--snapshot, --file, --identity, --medium)",
            "an erasure request needs at least one item (--snapshot, --file, --identity or --medium)",
        ));
    }
    if new.reason.trim().is_empty() {
        return Err(Error::usage(
            "消去依頼には理由 (--reason) が必要です",
            "an erasure request needs a --reason",
        ));
    }
    for spec in &new.items {
        let fits = matches!(
            (new.method, spec),
            (Method::Overwrite, ItemSpec::Snapshot(_) | ItemSpec::File(_))
                | (Method::CryptoErase, ItemSpec::Identity(_))
                | (Method::Destroy, ItemSpec::Medium(_))
        );
        if !fits {
            return Err(Error::usage(
                format!("消去方法 {} は {spec:?} に使えません: overwrite は --snapshot/--file、crypto-erase は --identity、destroy は --medium", new.method.as_str()),
                format!("method {} does not apply to {spec:?}: overwrite takes --snapshot/--file, crypto-erase takes --identity, destroy takes --medium", new.method.as_str()),
            ));
        }
    }

    let mut items = Vec::new();
    let mut details = serde_json::Map::new();
    let mut media_list: Vec<serde_json::Value> = Vec::new();
    let push = |items: &mut Vec<Item>,
                kind: &str,
                target: String,
                destination: Option<String>,
                path: Option<&Path>,
                size: Option<u64>| {
        items.push(Item {
            n: items.len() as u32 + 1,
            kind: kind.to_string(),
            target,
            destination,
            path: path.map(|p| p.display().to_string()),
            size,
            sha256: None,
            status: "pending".into(),
            detail: None,
            erased_at: None,
        });
    };
    for spec in &new.items {
        match spec {
            ItemSpec::Snapshot(id) => {
                check_retention(policy, id)?;
                let mut found = false;
                for dest in &policy.destinations {
                    if !dest.path.is_dir() {
                        return Err(Error::DestinationMissing {
                            dest: dest.name.clone(),
                            path: dest.path.clone(),
                        });
                    }
                    let dir = dest.path.join(snapshot::SNAPSHOTS_DIR).join(id);
                    if !dir.is_dir() {
                        continue;
                    }
                    found = true;
                    let volume = media::read_marker(&dest.path).ok().flatten();
                    if media_list
                        .iter()
                        .any(|m| m["destination"] == dest.name.as_str())
                    {
                        // listed once per destination
                    } else {
                        media_list.push(serde_json::json!({
                        "destination": dest.name, "label": dest.label,
                        "volume": volume.as_ref().map(|m| m.id.clone()),
                        "volume_label": volume.map(|m| m.label),
                        "path": dest.path,
                        }));
                    }
                    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
                        .map_err(|e| Error::io(crate::error::Action::List, &dir, e))?
                        .flatten()
                        .map(|e| e.path())
                        .collect();
                    files.sort();
                    for f in files {
                        let size = fs::symlink_metadata(&f).ok().map(|m| m.len());
                        push(
                            &mut items,
                            "snapshot",
                            id.clone(),
                            Some(dest.name.clone()),
                            Some(&f),
                            size,
                        );
                    }
                }
                if !found {
                    return Err(Error::usage(
                        format!("スナップショット {id} はどの保存先にもありません"),
                        format!("no destination holds snapshot {id}"),
                    ));
                }
            }
            ItemSpec::File(path) | ItemSpec::Identity(path) => {
                let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                let meta = fs::symlink_metadata(&path)
                    .map_err(|e| Error::io(crate::error::Action::Read, &path, e))?;
                if !meta.is_file() {
                    return Err(Error::refused(
                        format!("{} は通常のファイルではありません (リンクやディレクトリを介した消去はしません)", path.display()),
                        format!("{} is not a regular file (links and directories are not erased through)", path.display()),
                    ));
                }
                let kind = if matches!(spec, ItemSpec::Identity(_)) {
                    "identity"
                } else {
                    "file"
                };
                if kind == "identity" {
                    let recipients = keys::load_identities(&path, passphrase)
                        .map(|ids| ids.recipients())
                        .ok();
                    let only = match &recipients {
                        Some(r) => snapshots_only_openable_by(policy, r)?,
                        None => Vec::new(),
                    };
                    let entry = details
                        .entry("crypto_erase")
                        .or_insert_with(|| serde_json::json!({ "identities": [] }));
                    if let Some(list) = entry["identities"].as_array_mut() {
                        list.push(serde_json::json!({
                            "file": path,
                            "recipients": recipients,
                            "snapshots_only_it_opens": only,
                        }));
                    }
                }
                push(
                    &mut items,
                    kind,
                    path.display().to_string(),
                    None,
                    Some(&path),
                    Some(meta.len()),
                );
            }
            ItemSpec::Medium(text) => {
                push(&mut items, "medium", text.clone(), None, None, None);
            }
        }
    }
    details.insert("media".into(), serde_json::Value::Array(media_list));

    let year = clock.local().format("%Y").to_string();
    let conn = log.connection();
    let count: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM erasure_requests WHERE id LIKE ?1",
            params![format!("ER-{year}-%")],
            |r| r.get(0),
        )
        .map_err(|e| db_err(log, e))?;
    let id = format!("ER-{year}-{:04}", count + 1);
    let tx = conn.unchecked_transaction().map_err(|e| db_err(log, e))?;
    tx.execute(
        "INSERT INTO erasure_requests (id, created_at, requested_by, method, planned, reason, details, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'requested')",
        params![
            id,
            now_text(clock),
            requested_by,
            new.method.as_str(),
            new.planned.to_string(),
            new.reason.trim(),
            serde_json::Value::Object(details).to_string()
        ],
    )
    .map_err(|e| db_err(log, e))?;
    for item in &items {
        tx.execute(
            "INSERT INTO erasure_items (request_id, n, kind, target, destination, path, size, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending')",
            params![id, item.n, item.kind, item.target, item.destination, item.path, item.size.map(|s| s as i64)],
        )
        .map_err(|e| db_err(log, e))?;
    }
    tx.commit().map_err(|e| db_err(log, e))?;
    load(log, &id)
}

/// Refuses to request a snapshot that retention keeps (the retention floor).
fn check_retention(policy: &Policy, id: &str) -> Result<()> {
    let candidates = all_snapshots(policy)?;
    let decisions = retention::select(
        &candidates,
        policy.retention.keep_monthly,
        policy.retention.keep_yearly,
    );
    if let Some(d) = decisions.iter().find(|d| d.id == id && d.keep) {
        return Err(Error::refused(
            format!(
                "スナップショット {id} は保持規則により保持されるため消去できません ({})",
                d.reasons.join(", ")
            ),
            format!(
                "snapshot {id} is kept by the retention policy ({}); it cannot be erased",
                d.reasons.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Every snapshot on every reachable destination, once per id.
pub fn all_snapshots(policy: &Policy) -> Result<Vec<retention::Candidate>> {
    let mut out: Vec<retention::Candidate> = Vec::new();
    for dest in &policy.destinations {
        if !dest.path.is_dir() {
            continue;
        }
        for s in snapshot::list(&dest.path)? {
            if out.iter().any(|c| c.id == s.id) {
                continue;
            }
            let month = match &s.meta {
                Ok(m) => m.month.clone(),
                Err(_) => format!("{}-{}", &s.id[..4], &s.id[4..6]),
            };
            out.push(retention::Candidate { id: s.id, month });
        }
    }
    Ok(out)
}

/// Snapshots whose every recipient is among `recipients`: once those
/// identities are gone, nobody can open them.
fn snapshots_only_openable_by(policy: &Policy, recipients: &[String]) -> Result<Vec<String>> {
    let mut out = BTreeSet::new();
    for dest in &policy.destinations {
        if !dest.path.is_dir() {
            continue;
        }
        for s in snapshot::list(&dest.path)? {
            if let Ok(m) = &s.meta {
                if !m.recipients.is_empty() && m.recipients.iter().all(|r| recipients.contains(r)) {
                    out.insert(s.id.clone());
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Loads a request with its items.
pub fn load(log: &AuditLog, id: &str) -> Result<Request> {
    ensure_schema(log)?;
    let conn = log.connection();
    let req = conn
        .query_row(
            "SELECT id, created_at, requested_by, method, planned, reason, details, status,
                    approved_by, approved_at, executed_by, executed_at, witness, note
             FROM erasure_requests WHERE id = ?1",
            params![id],
            |r| {
                Ok(Request {
                    id: r.get(0)?,
                    created_at: r.get(1)?,
                    requested_by: r.get(2)?,
                    method: r.get(3)?,
                    planned: r.get(4)?,
                    reason: r.get(5)?,
                    details: serde_json::from_str(&r.get::<_, String>(6)?)
                        .unwrap_or(serde_json::Value::Null),
                    status: r.get(7)?,
                    approved_by: r.get(8)?,
                    approved_at: r.get(9)?,
                    executed_by: r.get(10)?,
                    executed_at: r.get(11)?,
                    witness: r.get(12)?,
                    note: r.get(13)?,
                    items: Vec::new(),
                })
            },
        )
        .optional()
        .map_err(|e| db_err(log, e))?;
    let mut req = req.ok_or_else(|| {
        Error::usage(
            format!("消去依頼 {id} はありません (kura erase list で確認してください)"),
            format!("no erasure request {id} (see kura erase list)"),
        )
    })?;
    let mut stmt = conn
        .prepare(
            "SELECT n, kind, target, destination, path, size, sha256, status, detail, erased_at
             FROM erasure_items WHERE request_id = ?1 ORDER BY n",
        )
        .map_err(|e| db_err(log, e))?;
    req.items = stmt
        .query_map(params![id], |r| {
            Ok(Item {
                n: r.get(0)?,
                kind: r.get(1)?,
                target: r.get(2)?,
                destination: r.get(3)?,
                path: r.get(4)?,
                size: r.get::<_, Option<i64>>(5)?.map(|s| s as u64),
                sha256: r.get(6)?,
                status: r.get(7)?,
                detail: r.get(8)?,
                erased_at: r.get(9)?,
            })
        })
        .map_err(|e| db_err(log, e))?
        .collect::<rusqlite::Result<_>>()
        .map_err(|e| db_err(log, e))?;
    Ok(req)
}

/// Every request, oldest first.
pub fn list(log: &AuditLog) -> Result<Vec<Request>> {
    ensure_schema(log)?;
    let ids: Vec<String> = {
        let mut stmt = log
            .connection()
            .prepare("SELECT id FROM erasure_requests ORDER BY created_at, id")
            .map_err(|e| db_err(log, e))?;
        let rows = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| db_err(log, e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| db_err(log, e))?;
        rows
    };
    ids.iter().map(|id| load(log, id)).collect()
}

/// Approves a request by a named approver.
pub fn approve(
    log: &AuditLog,
    policy: &Policy,
    clock: &Clock,
    id: &str,
    approver: &str,
) -> Result<Request> {
    let req = load(log, id)?;
    if req.status != "requested" {
        return Err(Error::refused(
            format!("消去依頼 {id} は {} のため承認できません", req.status),
            format!("request {id} is {}, not awaiting approval", req.status),
        ));
    }
    let approver = approver.trim();
    if approver.is_empty() {
        return Err(Error::usage(
            "--approver に承認者の氏名を指定してください",
            "--approver must name a person",
        ));
    }
    if approver == req.requested_by && !policy.erasure.allow_self_approval {
        return Err(Error::refused(
            format!("{approver} は消去依頼 {id} の依頼者のため承認できません ([erasure].allow_self_approval が無効)"),
            format!("{approver} made request {id} and cannot approve it ([erasure].allow_self_approval is off)"),
        ));
    }
    log.connection()
        .execute(
            "UPDATE erasure_requests SET status = 'approved', approved_by = ?2, approved_at = ?3 WHERE id = ?1",
            params![id, approver, now_text(clock)],
        )
        .map_err(|e| db_err(log, e))?;
    load(log, id)
}

/// Rejects a request.
pub fn reject(log: &AuditLog, clock: &Clock, id: &str, by: &str, reason: &str) -> Result<Request> {
    let req = load(log, id)?;
    if req.status != "requested" && req.status != "approved" {
        return Err(Error::refused(
            format!("消去依頼 {id} は {} のため却下できません", req.status),
            format!("request {id} is {} and cannot be rejected", req.status),
        ));
    }
    log.connection()
        .execute(
            "UPDATE erasure_requests SET status = 'rejected', approved_by = ?2, approved_at = ?3, note = ?4 WHERE id = ?1",
            params![id, by.trim(), now_text(clock), reason],
        )
        .map_err(|e| db_err(log, e))?;
    load(log, id)
}

/// Executes an approved request (or resumes a partial one).
pub fn execute(
    log: &AuditLog,
    clock: &Clock,
    id: &str,
    operator: &str,
    witness: Option<&str>,
) -> Result<Request> {
    let req = load(log, id)?;
    match req.status.as_str() {
        "approved" | "partial" => {}
        "executed" => {
            return Err(Error::refused(
                format!("消去依頼 {id} は既に実施済みです"),
                format!("request {id} was already executed"),
            ));
        }
        other => {
            return Err(Error::refused(
                format!("消去依頼 {id} は {other} です: 承認済みの依頼のみ実施できます (kura erase approve)"),
                format!("request {id} is {other}: only an approved request can be executed (kura erase approve)"),
            ))
        }
    }
    let planned = NaiveDate::parse_from_str(&req.planned, "%Y-%m-%d").ok();
    if planned.is_some_and(|p| clock.local().date_naive() < p) {
        return Err(Error::refused(
            format!(
                "消去依頼 {id} の予定日は {} です。予定日より前には実施しません",
                req.planned
            ),
            format!(
                "request {id} is planned for {}; it is not executed earlier",
                req.planned
            ),
        ));
    }
    let witness = witness.map(str::trim).filter(|w| !w.is_empty());
    if req.method == "destroy" && witness.is_none() {
        return Err(Error::usage(
            "物理的破壊は立会者 (--witness) がいる場合のみ記録します",
            "physical destruction is recorded only with a --witness",
        ));
    }
    let conn = log.connection();
    conn.execute(
        "UPDATE erasure_requests SET executed_by = ?2, witness = COALESCE(?3, witness) WHERE id = ?1",
        params![id, operator, witness],
    )
    .map_err(|e| db_err(log, e))?;

    let mut emptied_dirs = BTreeSet::new();
    for item in req
        .items
        .iter()
        .filter(|i| i.status == "pending" || i.status == "failed")
    {
        let (status, size, sha, detail) = match (item.kind.as_str(), &item.path) {
            ("medium", _) => (
                "recorded",
                None,
                None,
                Some(format!(
                    "destroyed on the word of {operator}, witnessed by {}",
                    witness.unwrap_or("-")
                )),
            ),
            (_, Some(path)) => {
                let path = PathBuf::from(path);
                match overwrite_and_remove(&path) {
                    Ok(Some(Erased {
                        size,
                        sha256: digest,
                        note,
                    })) => ("erased", Some(size), Some(hex::encode(digest)), note),
                    Ok(None) => ("absent", None, None, Some("already absent".into())),
                    Err(e) => ("failed", None, None, Some(e.to_string())),
                }
            }
            (_, None) => ("failed", None, None, Some("no path".into())),
        };
        conn.execute(
            "UPDATE erasure_items SET status = ?3, size = COALESCE(?4, size), sha256 = ?5, detail = ?6, erased_at = ?7
             WHERE request_id = ?1 AND n = ?2",
            params![id, item.n, status, size.map(|s: u64| s as i64), sha, detail, now_text(clock)],
        )
        .map_err(|e| db_err(log, e))?;
    }
    // A snapshot directory whose files are all gone goes too (also when an
    // earlier, interrupted run erased them).
    for item in req.items.iter().filter(|i| i.kind == "snapshot") {
        if let Some(dir) = item.path.as_deref().and_then(|p| Path::new(p).parent()) {
            emptied_dirs.insert(dir.to_path_buf());
        }
    }
    for dir in emptied_dirs {
        let empty = fs::read_dir(&dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if empty && fs::remove_dir(&dir).is_ok() {
            if let Some(parent) = dir.parent() {
                let _ = media::sync_dir(parent);
            }
        }
    }
    let after = load(log, id)?;
    let done = after
        .items
        .iter()
        .all(|i| matches!(i.status.as_str(), "erased" | "absent" | "recorded"));
    conn.execute(
        "UPDATE erasure_requests SET status = ?2, executed_at = ?3 WHERE id = ?1",
        params![
            id,
            if done { "executed" } else { "partial" },
            now_text(clock)
        ],
    )
    .map_err(|e| db_err(log, e))?;
    load(log, id)
}

/// What erasing one file recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    /// Its size before erasing.
    pub size: u64,
    /// Its SHA-256 before erasing.
    pub sha256: [u8; 32],
    /// A remark, e.g. other hard links that remain (now zeroed).
    pub note: Option<String>,
}

/// Records size and SHA-256, overwrites every byte with zeros, fsyncs, reads
/// every byte back, unlinks, syncs the directory and confirms absence.
/// `Ok(None)` if the file is already gone. Never follows a link.
pub fn overwrite_and_remove(path: &Path) -> io::Result<Option<Erased>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Err(io::Error::other(
            "not a regular file: kura does not erase through links or special files",
        ));
    }
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let size = file.metadata()?.len();
    let (digest, read) = sums::digest_reader(&mut file)?;
    if read != size {
        return Err(io::Error::other("the file changed while it was read"));
    }
    file.seek(SeekFrom::Start(0))?;
    let zeros = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    // Read-back verification of every byte.
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|b| *b != 0) {
            return Err(io::Error::other(
                "read-back found bytes that were not overwritten",
            ));
        }
    }
    drop(file);
    let note = links_note(&meta);
    fs::remove_file(path)?;
    if let Some(dir) = path.parent() {
        media::sync_dir(dir).map_err(|e| io::Error::other(e.to_string()))?;
    }
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(Erased {
            size,
            sha256: digest,
            note,
        })),
        _ => Err(io::Error::other(
            "the file is still present after unlinking",
        )),
    }
}

#[cfg(unix)]
fn links_note(meta: &fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    (meta.nlink() > 1).then(|| {
        format!(
            "{} other hard link(s) remain; their contents are the overwritten zeros",
            meta.nlink() - 1
        )
    })
}

#[cfg(not(unix))]
fn links_note(_: &fs::Metadata) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrite_zeroes_every_byte_before_unlinking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.bin");
        fs::write(&path, vec![0xa5u8; 3 * 1024 * 1024 + 17]).unwrap();
        let other_name = dir.path().join("second-link.bin");
        fs::hard_link(&path, &other_name).unwrap();
        let Erased {
            size,
            sha256: digest,
            note,
        } = overwrite_and_remove(&path).unwrap().unwrap();
        assert_eq!(size, 3 * 1024 * 1024 + 17);
        assert_eq!(
            digest,
            sums::digest_reader(&vec![0xa5u8; size as usize][..])
                .unwrap()
                .0
        );
        assert!(!path.exists());
        let left = fs::read(&other_name).unwrap();
        assert_eq!(
            left.len() as u64,
            size,
            "overwritten in place, not truncated"
        );
        assert!(
            left.iter().all(|b| *b == 0),
            "the blocks themselves hold zeros now"
        );
        assert!(note.unwrap().contains("hard link"));
        assert!(overwrite_and_remove(&path).unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn links_are_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = overwrite_and_remove(&link).unwrap_err();
        assert!(err.to_string().contains("links"));
        assert_eq!(fs::read(&target).unwrap(), b"keep");
    }
}
