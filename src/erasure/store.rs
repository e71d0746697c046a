//! The erasure tables beside the audit events: an index of what the chain
//! says, written in the same transaction as each event and never trusted on
//! their own (see [`super::ledger`]).

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{Item, Request};

/// The tables, created with the audit database.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS erasure_requests (
    id             TEXT PRIMARY KEY,
    created_at     TEXT NOT NULL,
    requested_by   TEXT NOT NULL,
    method         TEXT NOT NULL,
    planned        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    details        TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status         TEXT NOT NULL,
    approved_by    TEXT,
    approved_at    TEXT,
    approval_key   TEXT,
    executed_by    TEXT,
    executed_at    TEXT,
    witness        TEXT,
    note           TEXT
);
CREATE TABLE IF NOT EXISTS erasure_items (
    request_id  TEXT NOT NULL,
    n           INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    destination TEXT,
    volume      TEXT,
    path        TEXT,
    size        INTEGER,
    sha256      TEXT,
    file_id     TEXT,
    status      TEXT NOT NULL,
    detail      TEXT,
    erased_at   TEXT,
    readback    TEXT,
    PRIMARY KEY (request_id, n)
);
";

/// Creates the tables if an older database lacks them.
pub(super) fn ensure(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)
}

/// Stores a new request and its items.
pub(super) fn insert(tx: &Transaction, r: &Request) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO erasure_requests (id, created_at, requested_by, method, planned, reason,
             details, request_sha256, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            r.id,
            r.created_at,
            r.requested_by,
            r.method,
            r.planned,
            r.reason,
            r.details.to_string(),
            r.request_sha256,
            r.status
        ],
    )?;
    for i in &r.items {
        tx.execute(
            "INSERT INTO erasure_items (request_id, n, kind, target, destination, volume, path,
                 size, sha256, file_id, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                r.id,
                i.n,
                i.kind,
                i.target,
                i.destination,
                i.volume,
                i.path,
                i.size.map(|s| s as i64),
                i.sha256,
                i.file_id,
                i.status
            ],
        )?;
    }
    Ok(())
}

/// Writes the request's state (everything but what never changes).
pub(super) fn update_request(tx: &Transaction, r: &Request) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE erasure_requests SET status = ?2, approved_by = ?3, approved_at = ?4,
             approval_key = ?5, executed_by = ?6, executed_at = ?7, witness = ?8, note = ?9
         WHERE id = ?1",
        params![
            r.id,
            r.status,
            r.approved_by,
            r.approved_at,
            r.approval_key_id,
            r.executed_by,
            r.executed_at,
            r.witness,
            r.note
        ],
    )?;
    Ok(())
}

/// Writes one item's state.
pub(super) fn update_item(tx: &Transaction, id: &str, i: &Item) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE erasure_items SET status = ?3, detail = ?4, erased_at = ?5, readback = ?6
         WHERE request_id = ?1 AND n = ?2",
        params![id, i.n, i.status, i.detail, i.erased_at, i.readback],
    )?;
    Ok(())
}

/// Every request id in the tables.
pub(super) fn ids(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT id FROM erasure_requests ORDER BY id")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

/// A request as the tables hold it.
pub(super) fn load(conn: &Connection, id: &str) -> rusqlite::Result<Option<Request>> {
    let req = conn
        .query_row(
            "SELECT id, created_at, requested_by, method, planned, reason, details,
                    request_sha256, status, approved_by, approved_at, approval_key,
                    executed_by, executed_at, witness, note
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
                    request_sha256: r.get(7)?,
                    status: r.get(8)?,
                    approved_by: r.get(9)?,
                    approved_at: r.get(10)?,
                    approval_key_id: r.get(11)?,
                    executed_by: r.get(12)?,
                    executed_at: r.get(13)?,
                    witness: r.get(14)?,
                    note: r.get(15)?,
                    items: Vec::new(),
                })
            },
        )
        .optional()?;
    let Some(mut req) = req else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(
        "SELECT n, kind, target, destination, volume, path, size, sha256, file_id, status,
                detail, erased_at, readback
         FROM erasure_items WHERE request_id = ?1 ORDER BY n",
    )?;
    req.items = stmt
        .query_map(params![id], |r| {
            Ok(Item {
                n: r.get(0)?,
                kind: r.get(1)?,
                target: r.get(2)?,
                destination: r.get(3)?,
                volume: r.get(4)?,
                path: r.get(5)?,
                size: r.get::<_, Option<i64>>(6)?.map(|s| s as u64),
                sha256: r.get(7)?,
                file_id: r.get(8)?,
                status: r.get(9)?,
                detail: r.get(10)?,
                erased_at: r.get(11)?,
                readback: r.get(12)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(req))
}
