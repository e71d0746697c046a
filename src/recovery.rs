//! Bringing the audit log back on a rebuilt server (§6(3), 6(5)): the chain
//! is restored from a snapshot's `audit` archive — verified against the head
//! the snapshot sealed — and a `audit.recover` event states the gap: the
//! last event recovered, when the server failed as the operator says, and
//! the newer checkpoints known from paper, which `audit verify` then
//! accepts as lost-but-known instead of reporting them as tampering.
//!
//! Nothing half-done is visible: the event is appended to the restored copy
//! before it is renamed into place, so a database either is not there or is
//! the recovered chain with its `audit.recover` event.

use std::fs;
use std::path::{Path, PathBuf};

use crate::audit::{Actor, AuditLog, Checkpoint, Event, Outcome};
use crate::clock::Clock;
use crate::error::{Action, Error, Result};
use crate::keys::Identities;
use crate::policy::Policy;
use crate::progress::Progress;
use crate::restore::{self, RestoreRequest};
use crate::snapshot;

/// The action of the event a recovery appends.
pub const ACTION: &str = "audit.recover";

/// What to recover from.
pub struct RecoverRequest<'a> {
    /// The policy (its `[audit] database` is where the log goes).
    pub policy: &'a Policy,
    /// The snapshot directory holding the `audit` archive.
    pub snapshot_dir: &'a Path,
    /// The destination it is on.
    pub destination: &'a str,
    /// Identities that open the archive.
    pub identities: &'a Identities,
    /// The policy's signing key, if it signs.
    pub signers: Option<&'a crate::signers::Signers>,
    /// The operator doing it.
    pub operator: &'a str,
    /// When the server failed, as the operator gives it.
    pub failed_at: Option<&'a str>,
    /// Checkpoints from paper: those newer than the snapshot are recorded
    /// as lost; the others must agree with the recovered chain.
    pub lost: &'a [Checkpoint],
    /// The clock.
    pub clock: Clock,
    /// Progress.
    pub progress: &'a dyn Progress,
}

/// What a recovery did.
#[derive(Debug, Clone)]
pub struct Recovered {
    /// The snapshot the chain came from.
    pub snapshot: String,
    /// The last event recovered.
    pub recovered_seq: u64,
    /// Its hash.
    pub recovered_head: String,
    /// The `audit.recover` event.
    pub event: Event,
    /// The database written.
    pub database: PathBuf,
}

/// Restores the audit log from the snapshot; refuses (exit 4) where a log
/// with events already is, and (exit 1) a copy that is not the chain the
/// snapshot sealed.
pub fn recover(req: &RecoverRequest) -> Result<Recovered> {
    let db = &req.policy.audit_database;
    if db.is_file() {
        let log = AuditLog::open_existing(db, req.clock)?;
        if let Some((seq, _)) = log.head()? {
            return Err(Error::refused(
                format!(
                    "監査ログ {} には既に {seq} 件の記録があります。復旧は監査ログのない (または空の) サーバでのみ行います",
                    db.display()
                ),
                format!(
                    "the audit database {} already holds {seq} events; recovery is only for a server without one (or with an empty one)",
                    db.display()
                ),
            ));
        }
    }
    let meta = snapshot::read_meta(req.snapshot_dir)?;
    let sealed = meta.audit.clone().ok_or_else(|| Error::Integrity {
        path: req.snapshot_dir.join(snapshot::SNAPSHOT_JSON),
        detail: "this snapshot seals no audit chain head; recover from another".into(),
    })?;
    let dir = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| Error::io(Action::Create, dir, e))?;
    let scratch = tempfile::Builder::new()
        .prefix(".kura-recover-")
        .tempdir_in(dir)
        .map_err(|e| Error::io(Action::Create, dir, e))?;
    let to = scratch.path().join("restored");
    restore::restore(&RestoreRequest {
        snapshot_dir: req.snapshot_dir,
        archives: &[snapshot::AUDIT_ARCHIVE.to_string()],
        to: &to,
        identities: req.identities,
        signers: req.signers,
        keep_modes: false,
        progress: req.progress,
    })?;
    let copy = to.join(snapshot::AUDIT_ARCHIVE).join("kura-audit.sqlite");
    // Paper checkpoints the copy should already hold must agree with it:
    // a forged snapshot (on a policy without [signing], say) is not
    // installed as the record.
    let held: Vec<Checkpoint> = req
        .lost
        .iter()
        .filter(|c| c.seq <= sealed.seq)
        .cloned()
        .collect();
    let head = {
        let log = AuditLog::open_existing(&copy, req.clock)?;
        let chain = log.verify(&held)?;
        if let Some(c) = chain.checkpoints.iter().find(|c| c.problem.is_some()) {
            return Err(Error::Integrity {
                path: req.snapshot_dir.to_path_buf(),
                detail: format!(
                    "the audit copy disagrees with the paper checkpoint {}:{} ({}); it is not installed",
                    c.checkpoint.seq,
                    c.checkpoint.hash,
                    c.problem.as_deref().unwrap_or_default()
                ),
            });
        }
        if let Some(bad) = chain.first_bad {
            return Err(Error::Integrity {
                path: req.snapshot_dir.to_path_buf(),
                detail: format!(
                    "the audit copy's chain is broken at event {} ({})",
                    bad.seq, bad.detail
                ),
            });
        }
        chain.head
    };
    if head.as_ref() != Some(&(sealed.seq, sealed.head.clone())) {
        return Err(Error::Integrity {
            path: req.snapshot_dir.join(snapshot::SNAPSHOT_JSON),
            detail: format!(
                "the audit copy ends at {}, but the snapshot sealed {}:{}",
                head.map(|(s, h)| format!("{s}:{h}"))
                    .unwrap_or_else(|| "nothing".into()),
                sealed.seq,
                sealed.head
            ),
        });
    }
    let event = {
        let mut log = AuditLog::open(&copy, req.clock)?;
        log.append(
            &Actor::current(req.operator),
            ACTION,
            &meta.id,
            Outcome::Ok,
            &serde_json::json!({
                "snapshot": meta.id,
                "destination": req.destination,
                "recovered_seq": sealed.seq,
                "recovered_head": sealed.head,
                "failed_at": req.failed_at,
                "lost_checkpoints": req.lost.iter()
                    .filter(|c| c.seq > sealed.seq)
                    .map(|c| serde_json::json!({ "seq": c.seq, "hash": c.hash }))
                    .collect::<Vec<_>>(),
            }),
        )?
    };
    if db.is_file() {
        // An empty database (no events) made by a first run on the new server.
        fs::remove_file(db).map_err(|e| Error::io(Action::Remove, db, e))?;
    }
    fs::rename(&copy, db).map_err(|e| Error::io(Action::Rename, db, e))?;
    crate::media::sync_dir(dir)?;
    Ok(Recovered {
        snapshot: meta.id,
        recovered_seq: sealed.seq,
        recovered_head: sealed.head,
        event,
        database: db.clone(),
    })
}

/// The `audit.recover` events of `log` whose snapshot is among `seals` (the
/// checkpoints read from `snapshot.json` on the disks, source `snapshot ID
/// on DEST`) with another head than the one the event says it recovered.
pub fn disagreements(log: &AuditLog, seals: &[Checkpoint]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    log.for_each(|e| {
        if e.action != ACTION || e.outcome != "ok" {
            return Ok(());
        }
        let d: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
        let (Some(id), Some(seq), Some(head)) = (
            d["snapshot"].as_str(),
            d["recovered_seq"].as_u64(),
            d["recovered_head"].as_str(),
        ) else {
            return Ok(());
        };
        let prefix = format!("snapshot {id} on ");
        for seal in seals.iter().filter(|c| c.source.starts_with(&prefix)) {
            if seal.seq != seq || !seal.hash.eq_ignore_ascii_case(head) {
                out.push(format!(
                    "recovery event {} says it recovered {seq}:{head} from snapshot {id}, but {} sealed {}:{}",
                    e.seq, seal.source, seal.seq, seal.hash
                ));
            }
        }
        Ok(())
    })?;
    Ok(out)
}
