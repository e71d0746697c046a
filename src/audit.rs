//! The tamper-evident audit log of every use (別添5 5(3)(6)).
//!
//! One SQLite table, append-only, each row hash-chained to the one before:
//! `hash = SHA-256(encoding of the row ‖ previous hash)` with the encoding of
//! [`row_digest`], documented in `docs/FORMAT.md` so an auditor can recompute
//! it with their own code. The first row's previous hash is 32 zero bytes.
//!
//! What protects what:
//! - triggers refuse UPDATE and DELETE: a speed bump against accidents, not a
//!   defence (whoever can write the file can drop them);
//! - the chain makes any edit, deletion or reordering inside the log visible;
//! - the schema is pinned: `sqlite_master` must list exactly the tables,
//!   indexes and triggers kura creates ([`expected_schema`], made by the very
//!   function that creates them on disk). An extra trigger (one that deletes
//!   restore events as they are written, say) or a dropped one is a finding of
//!   `audit verify`, and [`AuditLog::open`] and every append refuse to write
//!   into such a database, so a planted trigger never gets to run;
//! - every append reads its row back after commit and compares every column,
//!   and checks the previous head is still there;
//! - checkpoints held elsewhere — the `audit` field of every `snapshot.json` on
//!   every disk, `--checkpoint SEQ:HASH` from the monthly paper report, signed
//!   checkpoint files — make truncation and wholesale rewrites visible, which a
//!   chain alone cannot (cf. journald FSS, CVE-2023-31438).
//!
//! Appends run in `BEGIN IMMEDIATE` transactions with a busy timeout, so two
//! processes appending at once are serialised and never fork the chain. The
//! rollback journal with `synchronous=FULL` keeps the log one self-contained
//! file. No citizen data goes in: ids, paths, counts and hashes only.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::{Action, Error, Result};

/// The format tag stored in the database and used as the hash's domain.
pub const FORMAT: &str = "kura-audit/1";
/// The previous hash of the first event.
pub const GENESIS: [u8; 32] = [0u8; 32];
/// The source of checkpoints given with `audit verify --checkpoint`: from
/// outside the server (the paper record of a monthly report).
pub const EXTERNAL_CHECKPOINT_SOURCE: &str = "--checkpoint";
/// The action recorded by an `audit verify` run in which every checkpoint
/// from outside the server agreed; its details list them as
/// `external_checkpoints: [{seq, hash}]`.
pub const VERIFY_ACTION: &str = "audit.verify";
/// How long an append waits for another writer before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kura_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq              INTEGER PRIMARY KEY,
    time             TEXT NOT NULL,
    real_time        TEXT NOT NULL,
    clock_overridden INTEGER NOT NULL,
    operator         TEXT NOT NULL,
    os_user          TEXT NOT NULL,
    host             TEXT NOT NULL,
    action           TEXT NOT NULL,
    target           TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    details          TEXT NOT NULL,
    prev_hash        TEXT NOT NULL,
    hash             TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
";

/// Creates every object of kura's audit database on `conn`: the events, their
/// meta table and triggers, and the erasure records beside them. The one
/// function behind both the database on disk and [`expected_schema`], so the
/// two cannot drift apart.
fn create_schema(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(crate::erasure::SCHEMA)
}

/// One row of `sqlite_master`: a table, index, trigger or view.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SchemaObject {
    /// `table`, `index`, `trigger` or `view`.
    pub kind: String,
    /// Its name (`sqlite_autoindex_…` for the indexes SQLite makes itself).
    pub name: String,
    /// The table it belongs to.
    pub table: String,
    /// The statement that created it (none for automatic indexes).
    pub sql: Option<String>,
}

impl SchemaObject {
    fn describe(&self) -> String {
        if self.kind == "table" || self.table.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {} on {}", self.kind, self.name, self.table)
        }
    }
}

fn read_schema(conn: &Connection) -> rusqlite::Result<Vec<SchemaObject>> {
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name, tbl_name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(SchemaObject {
            kind: r.get(0)?,
            name: r.get(1)?,
            table: r.get(2)?,
            sql: r.get(3)?,
        })
    })?;
    let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    out.sort();
    Ok(out)
}

/// The schema kura creates, read back from a database made in memory by the
/// same function that makes the one on disk.
pub fn expected_schema() -> Result<Vec<SchemaObject>> {
    static EXPECTED: std::sync::OnceLock<Vec<SchemaObject>> = std::sync::OnceLock::new();
    if let Some(found) = EXPECTED.get() {
        return Ok(found.clone());
    }
    let memory = Path::new(":memory:");
    let conn = Connection::open_in_memory().map_err(|e| db_error(memory, e))?;
    create_schema(&conn).map_err(|e| db_error(memory, e))?;
    let objects = read_schema(&conn).map_err(|e| db_error(memory, e))?;
    Ok(EXPECTED.get_or_init(|| objects).clone())
}

/// What differs between the schema kura creates and `actual`, one line per
/// object: `extra trigger spy on events`, `missing trigger events_no_delete
/// on events`, `changed table events`. Empty when they are the same.
pub fn schema_differences(expected: &[SchemaObject], actual: &[SchemaObject]) -> Vec<String> {
    let key = |o: &SchemaObject| (o.kind.clone(), o.name.clone());
    let wanted: std::collections::BTreeMap<_, _> = expected.iter().map(|o| (key(o), o)).collect();
    let found: std::collections::BTreeMap<_, _> = actual.iter().map(|o| (key(o), o)).collect();
    let mut out = Vec::new();
    for (k, o) in &found {
        match wanted.get(k) {
            None => out.push(format!("extra {}", o.describe())),
            Some(w) if w != o => out.push(format!("changed {}", o.describe())),
            Some(_) => {}
        }
    }
    for (k, o) in &wanted {
        if !found.contains_key(k) {
            out.push(format!("missing {}", o.describe()));
        }
    }
    out
}

/// How an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A command began.
    Started,
    /// It succeeded.
    Ok,
    /// It failed.
    Failed,
    /// It was refused by rule.
    Refused,
    /// It found an integrity problem.
    Finding,
    /// It was interrupted (Ctrl-C, SIGTERM, a closed console) and stopped cleanly.
    Interrupted,
}

impl Outcome {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
            Outcome::Finding => "finding",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// Who acts: the operator named on the command line, the OS account, the host.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    /// 氏名 of the person (or "scheduled-task"); empty if none was given.
    pub operator: String,
    /// The OS user running kura.
    pub os_user: String,
    /// The machine.
    pub host: String,
}

impl Actor {
    /// The actor for `operator` on this machine.
    pub fn current(operator: &str) -> Actor {
        Actor {
            operator: operator.to_string(),
            os_user: whoami::username(),
            host: whoami::fallible::hostname().unwrap_or_else(|_| "unknown".to_string()),
        }
    }
}

/// One stored event.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Event {
    /// Sequence number, from 1, without gaps.
    pub seq: u64,
    /// When, in kura's clock (RFC 3339 UTC, milliseconds).
    pub time: String,
    /// When, in real time (differs only under `KURA_NOW`).
    pub real_time: String,
    /// Whether `KURA_NOW` replaced the clock.
    pub clock_overridden: bool,
    /// The operator.
    pub operator: String,
    /// The OS user.
    pub os_user: String,
    /// The host.
    pub host: String,
    /// What was done, e.g. `backup`, `verify.full`.
    pub action: String,
    /// What it was done to, e.g. a snapshot id or a destination.
    pub target: String,
    /// `started`, `ok`, `failed`, `refused`, `finding` or `interrupted`.
    pub outcome: String,
    /// Compact JSON with ids, counts, hashes (never citizen data or keys).
    pub details: String,
    /// Hash of the previous event (hex).
    pub prev_hash: String,
    /// Hash of this event (hex).
    pub hash: String,
}

/// The canonical digest of an event: SHA-256 over `kura-audit/1`, then each
/// field length-prefixed (u32 big-endian byte length, then UTF-8 bytes) in
/// table order, with `seq` as u64 big-endian and `clock_overridden` as one
/// byte, then the 32 raw bytes of the previous hash.
pub fn row_digest(e: &Event, prev: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    let field = |h: &mut Sha256, s: &str| {
        h.update((s.len() as u32).to_be_bytes());
        h.update(s.as_bytes());
    };
    field(&mut h, FORMAT);
    h.update(e.seq.to_be_bytes());
    field(&mut h, &e.time);
    field(&mut h, &e.real_time);
    h.update([u8::from(e.clock_overridden)]);
    for s in [
        &e.operator,
        &e.os_user,
        &e.host,
        &e.action,
        &e.target,
        &e.outcome,
        &e.details,
    ] {
        field(&mut h, s);
    }
    h.update(prev);
    h.finalize().into()
}

/// The open audit log.
pub struct AuditLog {
    conn: Connection,
    path: PathBuf,
    clock: Clock,
}

/// SQLite takes a file shorter than its header for an empty database and
/// writes a new log over it; a damaged log must be named, never replaced
/// (regression: `a_truncated_audit_database_was_replaced_by_a_new_log`).
fn refuse_damaged_file(path: &Path) -> Result<()> {
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let mut head = Vec::with_capacity(16);
    match fs::File::open(path) {
        Ok(f) => {
            use std::io::Read;
            f.take(16)
                .read_to_end(&mut head)
                .map_err(|e| Error::io(Action::Read, path, e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(Action::Read, path, e)),
    }
    if head.is_empty() || head == MAGIC {
        return Ok(());
    }
    Err(Error::AuditCorrupt {
        path: path.to_path_buf(),
        detail: "not an SQLite database (damaged or truncated)".into(),
    })
}

/// A process killed in the middle of an append leaves a hot journal, which
/// only a writer can roll back: a read-only connection would call the
/// database damaged (regression:
/// `audit_verify_after_a_run_killed_mid_append_called_the_database_damaged`).
/// Lets SQLite roll it back first; if that fails, opening reports why.
fn recover_hot_journal(path: &Path) {
    let mut journal = path.as_os_str().to_owned();
    journal.push("-journal");
    if !Path::new(&journal).is_file() {
        return;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if let Ok(conn) = Connection::open_with_flags(path, flags) {
        let _ = conn.busy_timeout(BUSY_TIMEOUT);
        let _ = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        });
    }
}

fn db_error(path: &Path, e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
        {
            Error::AuditBusy {
                path: path.to_path_buf(),
            }
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) =>
        {
            Error::AuditCorrupt {
                path: path.to_path_buf(),
                detail: e.to_string(),
            }
        }
        _ => Error::AuditUnavailable {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
    }
}

fn hex32(path: &Path, seq: u64, text: &str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|_| Error::AuditCorrupt {
        path: path.to_path_buf(),
        detail: format!("event {seq}: a hash is not 64 hex digits"),
    })?;
    Ok(out)
}

/// The objects of the erasure records' tables alone.
fn erasure_objects() -> Result<Vec<SchemaObject>> {
    let memory = Path::new(":memory:");
    let conn = Connection::open_in_memory().map_err(|e| db_error(memory, e))?;
    conn.execute_batch(crate::erasure::SCHEMA)
        .map_err(|e| db_error(memory, e))?;
    read_schema(&conn).map_err(|e| db_error(memory, e))
}

/// Refuses to write into a database whose schema is not exactly kura's
/// ([`Error::AuditSchema`], exit 1). With `upgrade`, the one difference
/// mended is that of a log made before its erasure tables were created with
/// it (the first `erase request` used to make them): both tables missing and
/// no erasure event in the log; they are created then.
fn ensure_kura_schema(conn: &Connection, path: &Path, upgrade: bool) -> Result<()> {
    let err = |e| db_error(path, e);
    let actual = read_schema(conn).map_err(err)?;
    let expected = expected_schema()?;
    let problems = schema_differences(&expected, &actual);
    if problems.is_empty() {
        return Ok(());
    }
    if upgrade {
        let erasure = erasure_objects()?;
        let none_there = erasure
            .iter()
            .all(|o| !actual.iter().any(|a| a.kind == o.kind && a.name == o.name));
        let mut with = actual.clone();
        with.extend(erasure);
        with.sort();
        if none_there && schema_differences(&expected, &with).is_empty() {
            let erased_before: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM events WHERE action LIKE 'erase.%')",
                    [],
                    |r| r.get(0),
                )
                .map_err(err)?;
            if !erased_before {
                return conn.execute_batch(crate::erasure::SCHEMA).map_err(err);
            }
        }
    }
    Err(Error::AuditSchema {
        path: path.to_path_buf(),
        problems,
    })
}

/// The columns of `events` in table order, as every query here reads them.
const EVENT_COLUMNS: &str = "seq, time, real_time, clock_overridden, operator, os_user, host, \
     action, target, outcome, details, prev_hash, hash";

fn event_of_row(r: &rusqlite::Row) -> rusqlite::Result<Event> {
    Ok(Event {
        seq: r.get::<_, i64>(0)? as u64,
        time: r.get(1)?,
        real_time: r.get(2)?,
        clock_overridden: r.get(3)?,
        operator: r.get(4)?,
        os_user: r.get(5)?,
        host: r.get(6)?,
        action: r.get(7)?,
        target: r.get(8)?,
        outcome: r.get(9)?,
        details: r.get(10)?,
        prev_hash: r.get(11)?,
        hash: r.get(12)?,
    })
}

/// The names of the columns in which two events differ.
fn differing_columns(a: &Event, b: &Event) -> Vec<&'static str> {
    let pairs: [(&'static str, bool); 13] = [
        ("seq", a.seq == b.seq),
        ("time", a.time == b.time),
        ("real_time", a.real_time == b.real_time),
        ("clock_overridden", a.clock_overridden == b.clock_overridden),
        ("operator", a.operator == b.operator),
        ("os_user", a.os_user == b.os_user),
        ("host", a.host == b.host),
        ("action", a.action == b.action),
        ("target", a.target == b.target),
        ("outcome", a.outcome == b.outcome),
        ("details", a.details == b.details),
        ("prev_hash", a.prev_hash == b.prev_hash),
        ("hash", a.hash == b.hash),
    ];
    pairs
        .into_iter()
        .filter(|(_, same)| !same)
        .map(|(n, _)| n)
        .collect()
}

impl AuditLog {
    /// Opens the log at `path`, creating it (and its directory) if absent.
    pub fn open(path: &Path, clock: Clock) -> Result<AuditLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| Error::io(Action::Create, dir, e))?;
        }
        refuse_damaged_file(path)?;
        if !path.exists() {
            create_whole(path, clock)?;
        }
        let conn = Connection::open(path).map_err(|e| db_error(path, e))?;
        Self::prepare(conn, path, clock, true)
    }

    /// Opens an existing log read-only (for verify, log and export).
    pub fn open_existing(path: &Path, clock: Clock) -> Result<AuditLog> {
        if !path.is_file() {
            return Err(Error::AuditUnavailable {
                path: path.to_path_buf(),
                detail: "no audit database here".into(),
            });
        }
        recover_hot_journal(path);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db_error(path, e))?;
        Self::prepare(conn, path, clock, false)
    }

    fn prepare(mut conn: Connection, path: &Path, clock: Clock, create: bool) -> Result<AuditLog> {
        let err = |e| db_error(path, e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        if create {
            conn.pragma_update(None, "journal_mode", "DELETE")
                .map_err(err)?;
            conn.pragma_update(None, "synchronous", "FULL")
                .map_err(err)?;
            // Immediate: a deferred transaction that must upgrade to a write
            // lock gets BUSY at once, without waiting, when another process writes.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            // The schema is read before anything is written: a trigger planted
            // on any table must not get to run.
            if read_schema(&tx).map_err(err)?.is_empty() {
                create_schema(&tx).map_err(err)?;
                tx.execute(
                    "INSERT INTO kura_meta (key, value) VALUES ('format', ?1)",
                    params![FORMAT],
                )
                .map_err(err)?;
            } else {
                ensure_kura_schema(&tx, path, true)?;
            }
            tx.commit().map_err(err)?;
        }
        let format: Option<String> = conn
            .query_row(
                "SELECT value FROM kura_meta WHERE key = 'format'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| Error::AuditCorrupt {
                path: path.to_path_buf(),
                detail: format!("not a kura audit database ({e})"),
            })
            .map(Some)?;
        if format.as_deref() != Some(FORMAT) {
            return Err(Error::AuditCorrupt {
                path: path.to_path_buf(),
                detail: format!("unknown audit format {format:?}"),
            });
        }
        Ok(AuditLog {
            conn,
            path: path.to_path_buf(),
            clock,
        })
    }

    /// The connection, for records that live beside the events (erasure
    /// requests); every change to them is also an event.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The last finished event (not `started`) with this action and target.
    pub fn find_last(&self, action: &str, target: &str) -> Result<Option<Event>> {
        let mut found = None;
        self.for_each(|e| {
            if e.action == action && e.target == target && e.outcome != "started" {
                found = Some(e);
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Changes how long an append waits for another writer.
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<()> {
        self.conn
            .busy_timeout(timeout)
            .map_err(|e| db_error(&self.path, e))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event and returns it as stored.
    pub fn append(
        &mut self,
        actor: &Actor,
        action: &str,
        target: &str,
        outcome: Outcome,
        details: &serde_json::Value,
    ) -> Result<Event> {
        self.append_with(actor, action, target, outcome, details, |_, _| Ok(()))
    }

    /// Appends one event and, in the same transaction, makes the changes
    /// `also` makes to the records that live beside the events (erasure
    /// requests): both are committed, or neither.
    pub(crate) fn append_with(
        &mut self,
        actor: &Actor,
        action: &str,
        target: &str,
        outcome: Outcome,
        details: &serde_json::Value,
        also: impl FnOnce(&rusqlite::Transaction, &Event) -> rusqlite::Result<()>,
    ) -> Result<Event> {
        let path = self.path.clone();
        let err = |e| db_error(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        // Checked again under the write lock: a trigger planted while a long
        // backup held the log open must not run on its closing event.
        ensure_kura_schema(&tx, &path, false)?;
        let last: Option<(u64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                other => Err(other),
            })
            .map_err(err)?;
        let (seq, prev) = match &last {
            None => (1, GENESIS),
            Some((seq, hash)) => (seq + 1, hex32(&path, *seq, hash)?),
        };
        let fmt = |t: chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        let mut event = Event {
            seq,
            time: fmt(self.clock.now()),
            real_time: fmt(self.clock.real_now()),
            clock_overridden: self.clock.is_overridden(),
            operator: actor.operator.clone(),
            os_user: actor.os_user.clone(),
            host: actor.host.clone(),
            action: action.to_string(),
            target: target.to_string(),
            outcome: outcome.as_str().to_string(),
            details: serde_json::to_string(details).unwrap_or_else(|_| "{}".into()),
            prev_hash: hex::encode(prev),
            hash: String::new(),
        };
        event.hash = hex::encode(row_digest(&event, &prev));
        tx.execute(
            "INSERT INTO events (seq, time, real_time, clock_overridden, operator, os_user, host,
                 action, target, outcome, details, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                event.seq as i64,
                event.time,
                event.real_time,
                event.clock_overridden,
                event.operator,
                event.os_user,
                event.host,
                event.action,
                event.target,
                event.outcome,
                event.details,
                event.prev_hash,
                event.hash
            ],
        )
        .map_err(err)?;
        also(&tx, &event).map_err(err)?;
        tx.commit().map_err(err)?;
        self.read_back(&event)?;
        Ok(event)
    }

    /// An event counts only once it reads back as written, with the head it
    /// was chained to still before it.
    fn read_back(&self, written: &Event) -> Result<()> {
        use rusqlite::OptionalExtension;
        let err = |e| db_error(&self.path, e);
        let corrupt = |detail: String| Error::AuditCorrupt {
            path: self.path.clone(),
            detail,
        };
        let seq = written.seq;
        let stored = self
            .conn
            .query_row(
                &format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq = ?1"),
                params![seq as i64],
                event_of_row,
            )
            .optional()
            .map_err(err)?;
        match stored {
            None => {
                return Err(corrupt(format!(
                    "event {seq} is not in the database after it was written"
                )))
            }
            Some(stored) if stored != *written => {
                return Err(corrupt(format!(
                    "event {seq} reads back differently than it was written ({})",
                    differing_columns(&stored, written).join(", ")
                )))
            }
            Some(_) => {}
        }
        if seq > 1 {
            let before: Option<String> = self
                .conn
                .query_row(
                    "SELECT hash FROM events WHERE seq = ?1",
                    params![(seq - 1) as i64],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            if before.as_deref() != Some(written.prev_hash.as_str()) {
                return Err(corrupt(format!(
                    "event {} (the head event {seq} was chained to) is gone or changed",
                    seq - 1
                )));
            }
        }
        Ok(())
    }

    /// How the database's schema differs from kura's (empty: it is kura's).
    pub fn schema_problems(&self) -> Result<Vec<String>> {
        let actual = read_schema(&self.conn).map_err(|e| db_error(&self.path, e))?;
        Ok(schema_differences(&expected_schema()?, &actual))
    }

    /// The last event's sequence number and hash, if any.
    pub fn head(&self) -> Result<Option<(u64, String)>> {
        self.conn
            .query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                other => Err(other),
            })
            .map_err(|e| db_error(&self.path, e))
    }

    /// Calls `f` on every event in sequence order, streaming.
    pub fn for_each(&self, mut f: impl FnMut(Event) -> Result<()>) -> Result<()> {
        let err = |e| db_error(&self.path, e);
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {EVENT_COLUMNS} FROM events ORDER BY seq"))
            .map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let event = event_of_row(r).map_err(|e| Error::AuditCorrupt {
                path: self.path.clone(),
                detail: format!("unreadable event: {e}"),
            })?;
            f(event)?;
        }
        Ok(())
    }

    /// Recomputes the whole chain and checks the given checkpoints.
    pub fn verify(&self, checkpoints: &[Checkpoint]) -> Result<ChainReport> {
        let mut report = ChainReport::default();
        let mut prev = GENESIS;
        let mut expected_seq = 1u64;
        let mut hashes_at: std::collections::HashMap<u64, String> =
            checkpoints.iter().map(|c| (c.seq, String::new())).collect();
        // Recoveries (`audit.recover`): (their seq, the last event recovered,
        // the checkpoints from paper they declare lost).
        let mut recoveries: Vec<Recovery> = Vec::new();
        self.for_each(|e| {
            crate::interrupt::check()?;
            report.events += 1;
            if report.first_bad.is_none() {
                let problem = if e.seq != expected_seq {
                    Some(format!(
                        "expected event {expected_seq} but found {} (events missing or reordered)",
                        e.seq
                    ))
                } else if e.prev_hash != hex::encode(prev) {
                    Some("its previous hash does not match the event before it".to_string())
                } else if e.hash != hex::encode(row_digest(&e, &prev)) {
                    Some("its contents do not match its hash (edited)".to_string())
                } else {
                    None
                };
                if let Some(detail) = problem {
                    report.first_bad = Some(BadEvent {
                        seq: expected_seq.min(e.seq),
                        detail,
                    });
                }
            }
            if e.action == crate::recovery::ACTION && e.outcome == "ok" {
                match recovery_of(&e, &prev) {
                    Ok(r) => recoveries.push(r),
                    Err(detail) if report.first_bad.is_none() => {
                        report.first_bad = Some(BadEvent { seq: e.seq, detail });
                    }
                    Err(_) => {}
                }
            }
            if let Some(slot) = hashes_at.get_mut(&e.seq) {
                *slot = e.hash.clone();
            }
            prev = hex32(&self.path, e.seq, &e.hash).unwrap_or([0xff; 32]);
            expected_seq = e.seq + 1;
            report.head = Some((e.seq, e.hash));
            Ok(())
        })?;
        let last = report.head.as_ref().map_or(0, |(s, _)| *s);
        for c in checkpoints {
            let found = hashes_at.get(&c.seq).cloned().unwrap_or_default();
            let problem = if c.seq > last || found.is_empty() {
                Some(format!(
                    "the log ends at event {last}, but a checkpoint records event {} (truncated)",
                    c.seq
                ))
            } else if !found.eq_ignore_ascii_case(&c.hash) {
                Some(format!(
                    "event {} has hash {found}, the checkpoint records {} (rewritten)",
                    c.seq, c.hash
                ))
            } else {
                None
            };
            // A checkpoint of the tail lost with a server, declared by the
            // recovery that followed it: a documented gap, not tampering.
            let gap = problem.as_ref().and_then(|_| {
                recoveries.iter().find_map(|(at, recovered, lost)| {
                    (c.seq > *recovered
                        && lost
                            .iter()
                            .any(|(s, h)| *s == c.seq && h.eq_ignore_ascii_case(&c.hash)))
                    .then_some(*at)
                })
            });
            report.checkpoints.push(CheckpointResult {
                checkpoint: c.clone(),
                problem: if gap.is_some() { None } else { problem },
                documented_gap: gap,
            });
        }
        Ok(report)
    }

    /// Writes a consistent copy of the database to `to` (`VACUUM INTO`, never
    /// a raw copy of a live file).
    pub fn copy_to(&self, to: &Path) -> Result<()> {
        let target = to.to_str().ok_or_else(|| {
            Error::io(
                Action::Write,
                to,
                std::io::Error::other("path is not valid Unicode"),
            )
        })?;
        self.conn
            .execute("VACUUM INTO ?1", params![target])
            .map_err(|e| db_error(&self.path, e))?;
        Ok(())
    }
}

/// A recorded chain position: `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// Sequence number.
    pub seq: u64,
    /// Hash at that event, hex.
    pub hash: String,
    /// Where it came from (a snapshot, the command line, a checkpoint file).
    pub source: String,
}

impl Checkpoint {
    /// Parses `SEQ:HASH`.
    pub fn parse(text: &str, source: &str) -> Result<Checkpoint> {
        let bad = || Error::Usage(format!("{text:?} is not a checkpoint SEQ:HASH"));
        let (seq, hash) = text.trim().split_once(':').ok_or_else(bad)?;
        let seq: u64 = seq.parse().map_err(|_| bad())?;
        if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Checkpoint {
            seq,
            hash: hash.to_ascii_lowercase(),
            source: source.to_string(),
        })
    }
}

/// A recovery: its event's seq, the last event recovered, and the paper
/// checkpoints it declares lost.
type Recovery = (u64, u64, Vec<(u64, String)>);

/// A recovery event's claim: it must follow exactly the event it says was
/// the last recovered.
fn recovery_of(e: &Event, prev: &[u8; 32]) -> std::result::Result<Recovery, String> {
    let d: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
    let seq = d["recovered_seq"].as_u64();
    let head = d["recovered_head"].as_str().unwrap_or_default();
    if seq != Some(e.seq.saturating_sub(1)) || !head.eq_ignore_ascii_case(&hex::encode(prev)) {
        return Err(format!(
            "an audit.recover event claims to follow {}:{head}, which is not the event before it",
            seq.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
        ));
    }
    let lost = d["lost_checkpoints"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|c| Some((c["seq"].as_u64()?, c["hash"].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Ok((e.seq, e.seq - 1, lost))
}

/// The first event that breaks the chain.
#[derive(Debug, Clone, Serialize)]
pub struct BadEvent {
    /// Its sequence number.
    pub seq: u64,
    /// What is wrong.
    pub detail: String,
}

/// A checkpoint and what the log says about it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointResult {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// `None` if the log agrees (or the gap is documented).
    pub problem: Option<String>,
    /// The `audit.recover` event that declared this checkpoint's event lost
    /// with the server, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documented_gap: Option<u64>,
}

/// The result of [`AuditLog::verify`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChainReport {
    /// Events read.
    pub events: u64,
    /// The last event.
    pub head: Option<(u64, String)>,
    /// The first event that breaks the chain.
    pub first_bad: Option<BadEvent>,
    /// Every checkpoint checked.
    pub checkpoints: Vec<CheckpointResult>,
}

impl ChainReport {
    /// Whether the chain and every checkpoint are intact.
    pub fn ok(&self) -> bool {
        self.first_bad.is_none() && self.checkpoints.iter().all(|c| c.problem.is_none())
    }
}

/// The audit log as a backup sees it: its head and a consistent copy.
pub struct Sealer<'a> {
    /// The open log.
    pub log: &'a AuditLog,
}

impl crate::backup::AuditSeal for Sealer<'_> {
    fn head(&self) -> Result<crate::snapshot::AuditMeta> {
        let (seq, head) = self.log.head()?.unwrap_or((0, hex::encode(GENESIS)));
        Ok(crate::snapshot::AuditMeta { seq, head })
    }

    fn copy_database(&self, to: &Path) -> Result<()> {
        self.log.copy_to(to)
    }
}

/// Creates an absent database file empty and 0600 (Unix) before SQLite opens
/// it, so the records and SQLite's `-journal` (which takes the database's
/// mode) are never readable by others. An existing file is left as it is.
/// Makes a new log whole before anyone can see it: the schema is created in
/// a private file beside `path`, which is then moved into place only if
/// nothing is there yet. A failure part-way leaves no database at `path`
/// (an empty or half-made one would read as damaged to every later command).
fn create_whole(path: &Path, clock: Clock) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".kura-audit-new-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(Action::Create, dir, e))?;
    crate::private::restrict(tmp.path()).map_err(|e| Error::io(Action::Create, tmp.path(), e))?;
    {
        let conn = Connection::open(tmp.path()).map_err(|e| db_error(tmp.path(), e))?;
        drop(AuditLog::prepare(conn, tmp.path(), clock, true)?);
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io(Action::Sync, tmp.path(), e))?;
    match tmp.persist_noclobber(path) {
        Ok(_) => crate::media::sync_dir(dir),
        // Another run made it first: use theirs.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(Action::Rename, path, e.error)),
    }
}

/// Writes a checkpoint file (plain text, 0600) and, with a signing key, its
/// signature beside it (trusted comment `kura-audit-checkpoint SEQ:HASH`):
/// the signature first and each by temporary name and rename, so a run that
/// fails part-way never leaves a checkpoint file without its signature. The
/// signature's path, when signed.
pub fn write_checkpoint_file(
    path: &Path,
    site: &str,
    event: &Event,
    key: Option<&crate::keys::SigningKey>,
) -> Result<Option<PathBuf>> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error::io(Action::Create, dir, e))?;
    }
    let text = format!(
        "{FORMAT} checkpoint\nsite: {site}\nseq: {}\nhash: {}\ntime: {}\ncheckpoint: {}:{}\n",
        event.seq, event.hash, event.time, event.seq, event.hash
    );
    let signature = match key {
        Some(key) => {
            let sig = signature_path(path);
            let signed = key.sign_text(
                &text,
                &format!("kura-audit-checkpoint {}:{}", event.seq, event.hash),
            )?;
            crate::media::write_private_atomically(&sig, signed.as_bytes())?;
            Some(sig)
        }
        None => None,
    };
    crate::media::write_private_atomically(path, text.as_bytes())?;
    Ok(signature)
}

/// The directory of checkpoint files beside the database.
pub fn checkpoint_dir(database: &Path) -> PathBuf {
    database
        .parent()
        .unwrap_or(Path::new("."))
        .join("checkpoints")
}

/// Every checkpoint kura can find for a policy: the `audit` field of every
/// snapshot on every reachable destination, and the checkpoint files beside
/// the database (whose signatures must verify when the policy signs).
/// Returns the checkpoints and the problems met while collecting them.
pub fn recorded_checkpoints(
    policy: &crate::policy::Policy,
) -> Result<(Vec<Checkpoint>, Vec<String>)> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for dest in &policy.destinations {
        if !dest.path.is_dir() {
            continue;
        }
        for s in crate::snapshot::list(&dest.path)? {
            match &s.meta {
                Ok(meta) => {
                    if let Some(a) = meta.audit.as_ref().filter(|a| a.seq > 0) {
                        found.push(Checkpoint {
                            seq: a.seq,
                            hash: a.head.to_ascii_lowercase(),
                            source: format!("snapshot {} on {}", s.id, dest.name),
                        });
                    }
                }
                Err(e) => problems.push(format!("snapshot {} on {}: {e}", s.id, dest.name)),
            }
        }
    }
    let dir = checkpoint_dir(&policy.audit_database);
    let signers = match &policy.signing {
        Some(s) => Some(crate::signers::Signers::load(s)?),
        None => None,
    };
    if let Ok(entries) = fs::read_dir(&dir) {
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("txt"))
            .collect();
        files.sort();
        for file in files {
            // Checkpoints may sit on a disk that travels: bounded, no links.
            let read =
                crate::bounded::read_capped(&file, crate::bounded::METADATA_CAP).and_then(|b| {
                    String::from_utf8(b)
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
                });
            let text = match read {
                Ok(t) => t,
                Err(e) => {
                    problems.push(format!("{}: {e}", file.display()));
                    continue;
                }
            };
            let line = text.lines().find_map(|l| l.strip_prefix("checkpoint: "));
            match line.map(|l| Checkpoint::parse(l, &file.display().to_string())) {
                Some(Ok(c)) => found.push(c),
                _ => problems.push(format!(
                    "{}: no `checkpoint: SEQ:HASH` line",
                    file.display()
                )),
            }
            if let Some(signers) = &signers {
                // A retired key is trusted for checkpoints made before it was.
                let made = text
                    .lines()
                    .find_map(|l| l.strip_prefix("time: "))
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t.trim()).ok())
                    .map(|t| t.to_utc());
                let sig = signature_path(&file);
                if let Err(e) = signers.verify(&file, &sig, made) {
                    problems.push(e.to_string());
                }
            }
        }
    }
    Ok((found, problems))
}

/// The `.minisig` beside a file.
pub fn signature_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".minisig");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> Actor {
        Actor {
            operator: "山田 太郎".into(),
            os_user: "kura".into(),
            host: "PRIMERGY".into(),
        }
    }

    fn log_with(n: usize) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AuditLog::open(&dir.path().join("a.sqlite"), Clock::system()).unwrap();
        for i in 0..n {
            log.append(
                &actor(),
                "test",
                &format!("t{i}"),
                Outcome::Ok,
                &serde_json::json!({"i": i}),
            )
            .unwrap();
        }
        (dir, log)
    }

    #[test]
    fn an_untouched_chain_verifies_and_links_from_genesis() {
        let (_d, log) = log_with(5);
        let report = log.verify(&[]).unwrap();
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.events, 5);
        let mut first = None;
        log.for_each(|e| {
            first.get_or_insert(e);
            Ok(())
        })
        .unwrap();
        assert_eq!(first.unwrap().prev_hash, "0".repeat(64));
    }

    #[test]
    fn triggers_refuse_update_and_delete() {
        let (_d, log) = log_with(2);
        assert!(log
            .conn
            .execute("UPDATE events SET target = 'x'", [])
            .is_err());
        assert!(log.conn.execute("DELETE FROM events", []).is_err());
    }

    #[test]
    fn an_edit_is_found_at_its_sequence_number() {
        let (_d, log) = log_with(5);
        log.conn
            .execute_batch("DROP TRIGGER events_no_update")
            .unwrap();
        log.conn
            .execute("UPDATE events SET target = 'forged' WHERE seq = 3", [])
            .unwrap();
        let report = log.verify(&[]).unwrap();
        assert_eq!(report.first_bad.unwrap().seq, 3);
    }

    #[test]
    fn checkpoints_catch_truncation_and_rewrites() {
        let (_d, log) = log_with(5);
        let (seq, hash) = log.head().unwrap().unwrap();
        let cp = Checkpoint::parse(&format!("{seq}:{hash}"), "test").unwrap();
        assert!(log.verify(std::slice::from_ref(&cp)).unwrap().ok());
        log.conn
            .execute_batch("DROP TRIGGER events_no_delete")
            .unwrap();
        log.conn
            .execute("DELETE FROM events WHERE seq >= 4", [])
            .unwrap();
        let report = log.verify(&[cp]).unwrap();
        assert!(report.first_bad.is_none(), "the chain alone looks fine");
        assert!(report.checkpoints[0]
            .problem
            .as_ref()
            .unwrap()
            .contains("truncated"));
        let wrong = Checkpoint::parse(&format!("2:{}", "a".repeat(64)), "test").unwrap();
        assert!(log.verify(&[wrong]).unwrap().checkpoints[0]
            .problem
            .as_ref()
            .unwrap()
            .contains("rewritten"));
    }

    #[test]
    fn checkpoint_text_must_be_seq_colon_hash() {
        assert!(Checkpoint::parse("12:abc", "x").is_err());
        assert!(Checkpoint::parse("x:".to_string().as_str(), "x").is_err());
        assert!(Checkpoint::parse(&format!("7:{}", "A".repeat(64)), "x").is_ok());
    }

    #[test]
    fn a_foreign_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.sqlite");
        let c = Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t (x)").unwrap();
        drop(c);
        let err = AuditLog::open_existing(&path, Clock::system())
            .err()
            .unwrap();
        assert!(err.to_string().contains("other.sqlite"), "{err}");
        fs::write(&path, b"garbage garbage garbage garbage garbage garbage").unwrap();
        let err = AuditLog::open(&path, Clock::system()).err().unwrap();
        assert!(err.to_string().contains("other.sqlite"), "{err}");
    }

    #[test]
    fn the_expected_schema_is_what_open_creates_autoindexes_and_erasure_tables_included() {
        let (_d, log) = log_with(1);
        assert_eq!(log.schema_problems().unwrap(), Vec::<String>::new());
        let names: Vec<String> = expected_schema()
            .unwrap()
            .into_iter()
            .map(|o| format!("{} {}", o.kind, o.name))
            .collect();
        for want in [
            "table events",
            "table kura_meta",
            "index sqlite_autoindex_kura_meta_1",
            "trigger events_no_update",
            "trigger events_no_delete",
            "table erasure_requests",
            "table erasure_items",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
    }

    #[test]
    fn a_planted_trigger_is_named_and_refused_at_open_and_at_append() {
        let (dir, mut log) = log_with(2);
        let path = dir.path().join("a.sqlite");
        let other = Connection::open(&path).unwrap();
        other
            .execute_batch("CREATE TRIGGER spy AFTER INSERT ON events BEGIN SELECT 1; END;")
            .unwrap();
        let err = log
            .append(&actor(), "test", "x", Outcome::Ok, &serde_json::json!({}))
            .unwrap_err();
        assert!(matches!(err, Error::AuditSchema { .. }), "{err:?}");
        assert!(
            err.to_string().contains("extra trigger spy on events"),
            "{err}"
        );
        assert_eq!(err.exit_code().code(), 1);
        let err = AuditLog::open(&path, Clock::system()).err().unwrap();
        assert!(err.to_string().contains("spy"), "{err}");
        assert_eq!(log.head().unwrap().unwrap().0, 2, "nothing was appended");
    }

    #[test]
    fn a_dropped_trigger_is_not_silently_recreated_at_open() {
        let (dir, log) = log_with(2);
        log.conn
            .execute_batch("DROP TRIGGER events_no_delete")
            .unwrap();
        drop(log);
        let path = dir.path().join("a.sqlite");
        let err = AuditLog::open(&path, Clock::system()).err().unwrap();
        assert!(
            err.to_string()
                .contains("missing trigger events_no_delete on events"),
            "{err}"
        );
        let log = AuditLog::open_existing(&path, Clock::system()).unwrap();
        assert_eq!(
            log.schema_problems().unwrap(),
            ["missing trigger events_no_delete on events"]
        );
    }

    #[test]
    fn a_changed_trigger_and_a_changed_table_are_named() {
        let (_d, log) = log_with(1);
        log.conn
            .execute_batch(
                "DROP TRIGGER events_no_update;
                 CREATE TRIGGER events_no_update BEFORE UPDATE ON events WHEN 0
                 BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
                 ALTER TABLE kura_meta ADD COLUMN note TEXT;",
            )
            .unwrap();
        assert_eq!(
            log.schema_problems().unwrap(),
            [
                "changed table kura_meta",
                "changed trigger events_no_update on events"
            ]
        );
    }

    #[test]
    fn kura_meta_rows_besides_the_format_do_not_matter() {
        let (_d, mut log) = log_with(1);
        log.conn
            .execute(
                "INSERT INTO kura_meta (key, value) VALUES ('note', 'x')",
                [],
            )
            .unwrap();
        assert!(log.schema_problems().unwrap().is_empty());
        log.append(&actor(), "test", "x", Outcome::Ok, &serde_json::json!({}))
            .unwrap();
    }

    #[test]
    fn a_log_made_before_the_erasure_tables_is_given_them_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(SCHEMA).unwrap();
        c.execute(
            "INSERT INTO kura_meta (key, value) VALUES ('format', ?1)",
            params![FORMAT],
        )
        .unwrap();
        drop(c);
        let log = AuditLog::open(&path, Clock::system()).unwrap();
        assert!(log.schema_problems().unwrap().is_empty());
    }

    #[test]
    fn an_append_that_does_not_read_back_as_written_names_the_seq() {
        let (_d, mut log) = log_with(3);
        let event = log
            .append(
                &actor(),
                "restore",
                "x",
                Outcome::Ok,
                &serde_json::json!({}),
            )
            .unwrap();
        log.conn
            .execute_batch("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;")
            .unwrap();
        log.conn
            .execute("UPDATE events SET outcome = 'failed' WHERE seq = 4", [])
            .unwrap();
        let err = log.read_back(&event).unwrap_err();
        assert!(
            err.to_string().contains("event 4 reads back differently"),
            "{err}"
        );
        assert!(err.to_string().contains("outcome"), "{err}");
        assert!(err.to_string().contains("a.sqlite"), "{err}");
        assert_eq!(err.exit_code().code(), 1);
        log.conn
            .execute("UPDATE events SET outcome = 'ok' WHERE seq = 4", [])
            .unwrap();
        log.read_back(&event).unwrap();
        log.conn
            .execute("DELETE FROM events WHERE seq = 3", [])
            .unwrap();
        let err = log.read_back(&event).unwrap_err();
        assert!(err.to_string().contains("event 3 (the head"), "{err}");
        log.conn
            .execute("DELETE FROM events WHERE seq = 4", [])
            .unwrap();
        let err = log.read_back(&event).unwrap_err();
        assert!(
            err.to_string().contains("event 4 is not in the database"),
            "{err}"
        );
    }

    #[test]
    fn a_writer_holding_the_database_makes_an_append_wait_then_fail_with_exit_3() {
        let (dir, mut log) = log_with(1);
        let other = Connection::open(dir.path().join("a.sqlite")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        log.set_busy_timeout(Duration::from_millis(300)).unwrap();
        let started = std::time::Instant::now();
        let err = log
            .append(&actor(), "test", "x", Outcome::Ok, &serde_json::json!({}))
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(250), "it waited");
        assert!(matches!(err, Error::AuditBusy { .. }), "{err:?}");
        assert_eq!(err.exit_code().code(), 3);
        other.execute_batch("ROLLBACK").unwrap();
        log.append(&actor(), "test", "x", Outcome::Ok, &serde_json::json!({}))
            .unwrap();
        assert!(log.verify(&[]).unwrap().ok());
    }
}
