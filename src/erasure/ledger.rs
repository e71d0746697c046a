//! The erasure record as the audit chain holds it.
//!
//! [`replay`] reads the `erase.*` events in sequence order and rebuilds every
//! request from them; [`load`] and [`list`] then compare that with the tables
//! and refuse (exit 1) where the two disagree. The events are:
//!
//! - `erase.request` (ok): the request with every item and `request_sha256`;
//! - `erase.approve` / `erase.reject` (ok): who, and for a signed approval the
//!   approver's key id and minisign signature over [`approval_message`];
//! - `erase.item`: one item's outcome (`erasing` before an overwrite begins,
//!   then `erased`, `recorded`, `failed` or a finding);
//! - `erase.execute` with a `status` in its details: the end of an execution.
//!
//! Events that carry no `request` in their details (a refused or failed
//! command) change nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{item_status, request_status, store, Item, Request};
use crate::audit::{AuditLog, Event};
use crate::error::{Error, Result};

/// An audit event a record refers to.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EventRef {
    /// Sequence number.
    pub seq: u64,
    /// Hash (hex).
    pub hash: String,
    /// Time in kura's clock (RFC 3339).
    pub time: String,
    /// Real time (differs only under `KURA_NOW`).
    pub real_time: String,
    /// Whether `KURA_NOW` replaced the clock.
    pub clock_overridden: bool,
}

impl EventRef {
    fn of(e: &Event) -> EventRef {
        EventRef {
            seq: e.seq,
            hash: e.hash.clone(),
            time: e.time.clone(),
            real_time: e.real_time.clone(),
            clock_overridden: e.clock_overridden,
        }
    }
}

/// The events behind one request.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Events {
    /// The `erase.request` event.
    pub request: Option<EventRef>,
    /// The approval (or rejection).
    pub approval: Option<EventRef>,
    /// The minisign signature of a signed approval.
    pub approval_signature: Option<String>,
    /// The last event of an execution (its end, or the last item).
    pub execution: Option<EventRef>,
    /// Whether any of them was made under `KURA_NOW`.
    pub clock_overridden: bool,
}

/// A request and the events it comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The request as the chain records it.
    pub request: Request,
    /// Its events.
    pub events: Events,
}

/// How a stored item looks inside an `erase.request` event.
#[derive(Deserialize)]
struct ItemRecord {
    n: u32,
    kind: String,
    target: String,
    destination: Option<String>,
    volume: Option<String>,
    path: Option<String>,
    size: Option<u64>,
    sha256: Option<String>,
    file_id: Option<String>,
}

fn text(v: &serde_json::Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| x.as_str()).map(str::to_string)
}

/// Rebuilds every request from the chain, in id order.
pub fn replay(log: &AuditLog) -> Result<BTreeMap<String, Entry>> {
    let mut out = BTreeMap::new();
    log.for_each(|e| {
        fold(&mut out, &e);
        Ok(())
    })?;
    Ok(out)
}

/// Applies one event to the requests. The engine folds each event it appends
/// the same way and writes the result to the tables in the same transaction,
/// so tables and chain agree by construction.
pub(super) fn fold(out: &mut BTreeMap<String, Entry>, e: &Event) {
    if !e.action.starts_with("erase.") {
        return;
    }
    let Ok(d) = serde_json::from_str::<serde_json::Value>(&e.details) else {
        return;
    };
    let Some(id) = text(&d, "request").filter(|id| *id == e.target) else {
        return;
    };
    if (e.action.as_str(), e.outcome.as_str()) != ("erase.request", "ok") {
        if let Some(entry) = out.get_mut(&id) {
            apply(entry, &e.action, &e.outcome, &d, e);
        }
        return;
    }
    let items: Vec<ItemRecord> = d
        .get("items")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let request = Request {
        id: id.clone(),
        created_at: e.time.clone(),
        requested_by: e.operator.clone(),
        method: text(&d, "method").unwrap_or_default(),
        planned: text(&d, "planned").unwrap_or_default(),
        reason: text(&d, "reason").unwrap_or_default(),
        details: d.get("details").cloned().unwrap_or(serde_json::json!({})),
        request_sha256: text(&d, "request_sha256").unwrap_or_default(),
        status: request_status::REQUESTED.into(),
        items: items
            .into_iter()
            .map(|i| Item {
                n: i.n,
                destination: i.destination,
                volume: i.volume,
                path: i.path,
                size: i.size,
                sha256: i.sha256,
                file_id: i.file_id,
                ..Item::pending(&i.kind, &i.target)
            })
            .collect(),
        ..Request::default()
    };
    out.insert(
        id,
        Entry {
            request,
            events: Events {
                request: Some(EventRef::of(e)),
                clock_overridden: e.clock_overridden,
                ..Events::default()
            },
        },
    );
}

/// Applies one event about an existing request to it (see [`fold`]).
pub(super) fn fold_into(entry: &mut Entry, e: &Event) {
    let Ok(d) = serde_json::from_str::<serde_json::Value>(&e.details) else {
        return;
    };
    if text(&d, "request").as_deref() == Some(entry.request.id.as_str())
        && e.target == entry.request.id
        && e.action != "erase.request"
    {
        apply(entry, &e.action, &e.outcome, &d, e);
    }
}

/// Applies one later event to a request; the engine makes exactly these
/// changes to the tables in the event's transaction.
fn apply(entry: &mut Entry, action: &str, outcome: &str, d: &serde_json::Value, e: &Event) {
    let r = &mut entry.request;
    let mut touched = true;
    match (action, outcome) {
        ("erase.approve", "ok") => {
            r.status = request_status::APPROVED.into();
            r.approved_by = text(d, "approved_by");
            r.approved_at = Some(e.time.clone());
            r.approval_key_id = text(d, "key_id");
            entry.events.approval = Some(EventRef::of(e));
            entry.events.approval_signature = text(d, "signature");
        }
        ("erase.reject", "ok") => {
            r.status = request_status::REJECTED.into();
            r.approved_by = text(d, "rejected_by");
            r.approved_at = Some(e.time.clone());
            r.note = text(d, "reason");
            entry.events.approval = Some(EventRef::of(e));
        }
        ("erase.item", _) => {
            let n = d.get("n").and_then(|n| n.as_u64()).unwrap_or(0);
            let Some(status) = text(d, "status") else {
                return;
            };
            if let Some(item) = r.items.iter_mut().find(|i| u64::from(i.n) == n) {
                item.erased_at = item_status::is_done(&status).then(|| e.time.clone());
                item.status = status;
                item.detail = text(d, "detail");
                if let Some(readback) = text(d, "readback") {
                    item.readback = Some(readback);
                }
            }
            note_execution(r, d, e);
            entry.events.execution = Some(EventRef::of(e));
        }
        ("erase.execute", o) if o != "started" && d.get("status").is_some() => {
            note_execution(r, d, e);
            entry.events.execution = Some(EventRef::of(e));
        }
        _ => touched = false,
    }
    if touched {
        entry.events.clock_overridden |= e.clock_overridden;
    }
}

fn note_execution(r: &mut Request, d: &serde_json::Value, e: &Event) {
    r.executed_by = Some(e.operator.clone());
    r.executed_at = Some(e.time.clone());
    if let Some(w) = text(d, "witness") {
        r.witness = Some(w);
    }
    r.status = r.settled_status().into();
}

/// The SHA-256 that identifies a request and its items: what an approver
/// signs and what execution checks. Each field is a u32 big-endian byte
/// length and its UTF-8 bytes (absent fields and numbers as text, absent =
/// empty), after the domain `kura-erasure-request/1` (docs/FORMAT.md §10.1).
pub fn request_sha256(r: &Request) -> String {
    let mut h = Sha256::new();
    let field = |h: &mut Sha256, s: &str| {
        h.update((s.len() as u32).to_be_bytes());
        h.update(s.as_bytes());
    };
    for s in [
        "kura-erasure-request/1",
        &r.id,
        &r.requested_by,
        &r.method,
        &r.planned,
        &r.reason,
    ] {
        field(&mut h, s);
    }
    h.update((r.items.len() as u32).to_be_bytes());
    for i in &r.items {
        let opt = |o: &Option<String>| o.clone().unwrap_or_default();
        for s in [
            i.n.to_string(),
            i.kind.clone(),
            i.target.clone(),
            opt(&i.destination),
            opt(&i.volume),
            opt(&i.path),
            i.size.map(|s| s.to_string()).unwrap_or_default(),
            opt(&i.sha256),
            opt(&i.file_id),
        ] {
            field(&mut h, &s);
        }
    }
    hex::encode(h.finalize())
}

/// The text an approver signs: the request, its hash and the approver.
pub fn approval_message(r: &Request, approver: &str) -> String {
    format!(
        "kura-erasure-approval/1\nrequest: {}\nrequest-sha256: {}\napprover: {approver}\n",
        r.id, r.request_sha256
    )
}

fn tables(log: &AuditLog) -> Result<BTreeMap<String, Request>> {
    let conn = log.connection();
    let db = |e: rusqlite::Error| Error::AuditUnavailable {
        path: log.path().to_path_buf(),
        detail: e.to_string(),
    };
    let ids = match store::ids(conn) {
        Ok(ids) => ids,
        // A read-only database made before the tables existed has none.
        Err(e) if e.to_string().contains("no such table") => return Ok(BTreeMap::new()),
        Err(e) => return Err(db(e)),
    };
    let mut out = BTreeMap::new();
    for id in ids {
        if let Some(r) = store::load(conn, &id).map_err(db)? {
            out.insert(id, r);
        }
    }
    Ok(out)
}

/// Where the tables and the chain disagree about one request, in words.
fn difference(chain: &Request, table: &Request) -> Option<String> {
    macro_rules! same {
        ($($f:ident),*) => {
            $(if chain.$f != table.$f {
                return Some(format!(
                    "{}: the tables say {} = {:?}, the audit chain says {:?}",
                    chain.id, stringify!($f), table.$f, chain.$f
                ));
            })*
        };
    }
    same!(
        created_at,
        requested_by,
        method,
        planned,
        reason,
        details,
        request_sha256,
        status,
        approved_by,
        approved_at,
        approval_key_id,
        executed_by,
        executed_at,
        witness,
        note
    );
    if chain.items.len() != table.items.len() {
        return Some(format!(
            "{}: the tables list {} item(s), the audit chain {}",
            chain.id,
            table.items.len(),
            chain.items.len()
        ));
    }
    for (c, t) in chain.items.iter().zip(&table.items) {
        if c != t {
            return Some(format!(
                "{} item {}: the tables say {:?} ({}), the audit chain says {:?} ({})",
                chain.id,
                c.n,
                t.status,
                t.path.as_deref().unwrap_or(&t.target),
                c.status,
                c.path.as_deref().unwrap_or(&c.target)
            ));
        }
    }
    None
}

/// Every disagreement between the erasure tables and the chain.
pub fn reconcile(log: &AuditLog) -> Result<Vec<String>> {
    Ok(disagreements(&replay(log)?, &tables(log)?))
}

fn disagreements(
    chain: &BTreeMap<String, Entry>,
    tables: &BTreeMap<String, Request>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, t) in tables {
        match chain.get(id) {
            None => problems.push(format!(
                "{id}: in the erasure tables but not in the audit chain (added outside kura)"
            )),
            Some(c) => problems.extend(difference(&c.request, t)),
        }
    }
    for id in chain.keys().filter(|id| !tables.contains_key(*id)) {
        problems.push(format!(
            "{id}: in the audit chain but missing from the erasure tables"
        ));
    }
    problems
}

/// A request as the chain records it, checked against the tables.
pub fn load(log: &AuditLog, id: &str) -> Result<Entry> {
    let mut chain = replay(log)?;
    let table = tables(log)?.remove(id);
    let db = log.path().display();
    match (chain.remove(id), table) {
        (None, None) => Err(Error::usage(
            format!("消去依頼 {id} はありません (kura erase list で確認してください)"),
            format!("no erasure request {id} (see kura erase list)"),
        )),
        (None, Some(_)) => Err(Error::finding(
            format!("消去依頼 {id} は {db} の消去記録の表にありますが、監査ログ (ハッシュ連鎖) にありません (kura の外で追加されたもの)。何も実施しません"),
            format!("erasure request {id} is in the erasure tables of {db} but not in the audit chain (added outside kura); nothing is done with it"),
        )),
        (Some(_), None) => Err(Error::finding(
            format!("消去依頼 {id} は監査ログにありますが、{db} の消去記録の表にありません"),
            format!("erasure request {id} is in the audit chain but missing from the erasure tables of {db}"),
        )),
        (Some(c), Some(t)) => match difference(&c.request, &t) {
            Some(d) => Err(Error::finding(
                format!("{db} の消去記録の表が監査ログと一致しません: {d}"),
                format!("the erasure tables of {db} disagree with the audit chain: {d}"),
            )),
            None => Ok(c),
        },
    }
}

/// Every request the chain records, oldest first, and every disagreement
/// with the tables.
pub fn list(log: &AuditLog) -> Result<(Vec<Entry>, Vec<String>)> {
    let chain = replay(log)?;
    let problems = disagreements(&chain, &tables(log)?);
    Ok((chain.into_values().collect(), problems))
}

/// The next request id of a year: one past the highest in the chain or the
/// tables, so a forged row never makes kura reuse a number.
pub(super) fn next_id(log: &AuditLog, year: &str) -> Result<String> {
    let prefix = format!("ER-{year}-");
    let chain = replay(log)?;
    let tables = tables(log)?;
    let highest = chain
        .keys()
        .chain(tables.keys())
        .filter_map(|id| id.strip_prefix(&prefix)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    Ok(format!("{prefix}{:04}", highest + 1))
}

/// Makes sure the tables exist before a write.
pub(super) fn prepare(log: &AuditLog) -> Result<()> {
    store::ensure(log.connection()).map_err(|e| Error::AuditUnavailable {
        path: log.path().to_path_buf(),
        detail: e.to_string(),
    })
}
