//! Reconciling the log with the disks: the snapshots the audit log says were
//! written and erased, against the snapshots on every reachable destination.
//!
//! A snapshot is data leaving or entering the storehouse, so each one on a
//! disk must have a door in the log, and each one the log put on a disk must
//! still be there or have left through the erasure workflow:
//!
//! - **Present, accounted for**, when a `backup` event with outcome `ok` or
//!   `failed` names it (`details.snapshot`) and lists the destination in
//!   `details.written`; or, for a run killed after it published and before
//!   its closing event, when a `backup` `started` event that no closing event
//!   answers (same target, operator, OS user and host) was made no later
//!   than the snapshot's id — the UTC start time — read to the second, and
//!   the event right after it in the log (if any) is no earlier than that id.
//! - **Absent, accounted for**, when an erasure record names the snapshot on
//!   that destination: an `erase.item` event whose details have `kind` =
//!   `"snapshot"`, `target` = the id, `destination` = the name and `status` =
//!   `"erased"`; an item of that shape in the `items` of an `erase.execute`
//!   event counts the same. With disk rotation a snapshot is expected only on
//!   the volume it was written to (`details.volumes` of the backup event);
//!   another registered disk at the same path is not asked for it.
//!
//! Anything else is a finding naming the snapshot and the destination: a
//! snapshot copied onto the disk from elsewhere (or written under another
//! policy and log), or one deleted outside kura's erasure workflow. A
//! destination whose directory is absent (disk not connected) is skipped.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

use crate::audit::{AuditLog, Event};
use crate::error::Result;
use crate::i18n::Lang;
use crate::policy::Policy;
use crate::{media, snapshot};

/// How the log and a disk disagree about one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MismatchKind {
    /// On the disk, but no backup in the log wrote it there.
    Unrecorded,
    /// Written there by a backup in the log, gone, and no erasure record.
    Vanished,
}

/// One snapshot on one destination that the log and the disk disagree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The snapshot id.
    pub snapshot: String,
    /// The destination name.
    pub destination: String,
    /// What is wrong.
    pub kind: MismatchKind,
}

impl Mismatch {
    /// One sentence naming the snapshot and the destination.
    pub fn message(&self, lang: Lang) -> String {
        let (id, dest) = (&self.snapshot, &self.destination);
        match (self.kind, lang) {
            (MismatchKind::Unrecorded, Lang::Ja) => format!(
                "スナップショット {id} が保存先「{dest}」にありますが、この監査ログのどのバックアップも書き込んでいません (他所からの複製、または別のポリシー・監査ログで作成)"
            ),
            (MismatchKind::Unrecorded, Lang::En) => format!(
                "snapshot {id} is on {dest}, but no backup in this audit log wrote it there (copied from elsewhere, or made under another policy or log)"
            ),
            (MismatchKind::Vanished, Lang::Ja) => format!(
                "スナップショット {id} は監査ログでは保存先「{dest}」に書き込まれていますが、見当たらず、消去の記録もありません"
            ),
            (MismatchKind::Vanished, Lang::En) => format!(
                "snapshot {id} was written to {dest} by a backup in the audit log, but it is gone and no erasure record says it was erased"
            ),
        }
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

/// The result of [`reconcile`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct InventoryReport {
    /// Destinations compared.
    pub checked: Vec<String>,
    /// Destinations skipped because their directory is absent.
    pub not_connected: Vec<String>,
    /// Snapshots found on the destinations compared.
    pub snapshots: u64,
    /// Every disagreement.
    pub mismatches: Vec<Mismatch>,
}

impl InventoryReport {
    /// Whether the log and the disks agree.
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// A `backup` `started` event with no closing event, and the time of the
/// event right after it.
struct Unanswered {
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
}

/// What the log says about snapshots.
#[derive(Default)]
struct Ledger {
    /// (snapshot, destination) → the volume written to, when recorded.
    written: BTreeMap<(String, String), Option<String>>,
    erased: BTreeSet<(String, String)>,
    unanswered: Vec<Unanswered>,
}

fn time_of(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The start time a snapshot id stands for.
fn id_time(id: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(id, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

fn erased_item(v: &serde_json::Value) -> Option<(String, String)> {
    let field = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
    if field("kind") == Some("snapshot") && field("status") == Some("erased") {
        Some((
            field("target")?.to_string(),
            field("destination")?.to_string(),
        ))
    } else {
        None
    }
}

impl Ledger {
    fn read(log: &AuditLog) -> Result<Ledger> {
        type Key = (String, String, String, String);
        let mut ledger = Ledger::default();
        // Started events still waiting for their closing event, by who ran
        // them; the last one is answered first.
        let mut open: Vec<(Key, usize)> = Vec::new();
        let mut started = Vec::new();
        let mut just_started: Option<usize> = None;
        log.for_each(|e: Event| {
            if let Some(i) = just_started.take() {
                ledger_until(&mut started, i, &e);
            }
            let details: serde_json::Value =
                serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null);
            match e.action.as_str() {
                "backup" => {
                    let key = (
                        e.target.clone(),
                        e.operator.clone(),
                        e.os_user.clone(),
                        e.host.clone(),
                    );
                    if e.outcome == "started" {
                        if let Some(t) = time_of(&e.time) {
                            let from = t - chrono::Duration::nanoseconds(i64::from(
                                t.timestamp_subsec_nanos(),
                            ));
                            started.push((Unanswered { from, until: None }, false));
                            open.push((key, started.len() - 1));
                            just_started = Some(started.len() - 1);
                        }
                        return Ok(());
                    }
                    if let Some(pos) = open.iter().rposition(|(k, _)| *k == key) {
                        let (_, i) = open.remove(pos);
                        started[i].1 = true;
                    }
                    if matches!(e.outcome.as_str(), "ok" | "failed") {
                        let Some(id) = details["snapshot"].as_str().filter(|s| !s.is_empty())
                        else {
                            return Ok(());
                        };
                        let written = details["written"].as_array().cloned().unwrap_or_default();
                        for dest in written.iter().filter_map(|d| d.as_str()) {
                            let volume = details["volumes"][dest].as_str().map(str::to_string);
                            ledger
                                .written
                                .insert((id.to_string(), dest.to_string()), volume);
                        }
                    }
                }
                "erase.item" => ledger.erased.extend(erased_item(&details)),
                "erase.execute" => {
                    if let Some(items) = details["items"].as_array() {
                        ledger.erased.extend(items.iter().filter_map(erased_item));
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
        ledger.unanswered = started
            .into_iter()
            .filter(|(_, answered)| !answered)
            .map(|(u, _)| u)
            .collect();
        Ok(ledger)
    }

    /// Whether a snapshot present on `dest` came through the log's door.
    fn accounts_for(&self, id: &str, dest: &str) -> bool {
        if self
            .written
            .contains_key(&(id.to_string(), dest.to_string()))
        {
            return true;
        }
        let Some(at) = id_time(id) else {
            return false;
        };
        self.unanswered
            .iter()
            .any(|u| u.from <= at && u.until.is_none_or(|until| at <= until))
    }
}

fn ledger_until(started: &mut [(Unanswered, bool)], i: usize, next: &Event) {
    if let Some(slot) = started.get_mut(i) {
        slot.0.until = time_of(&next.time);
    }
}

/// Compares the log's account of snapshots with every reachable destination
/// of the policy.
pub fn reconcile(policy: &Policy, log: &AuditLog) -> Result<InventoryReport> {
    let ledger = Ledger::read(log)?;
    let mut report = InventoryReport::default();
    for dest in &policy.destinations {
        if !dest.path.is_dir() {
            report.not_connected.push(dest.name.clone());
            continue;
        }
        crate::interrupt::check()?;
        report.checked.push(dest.name.clone());
        // The disk at the path now; with rotation, another registered one.
        let mounted = media::read_marker(&dest.path).ok().flatten().map(|m| m.id);
        let present: BTreeSet<String> = snapshot::list(&dest.path)?
            .into_iter()
            .map(|s| s.id)
            .collect();
        report.snapshots += present.len() as u64;
        for id in &present {
            if !ledger.accounts_for(id, &dest.name) {
                report.mismatches.push(Mismatch {
                    snapshot: id.clone(),
                    destination: dest.name.clone(),
                    kind: MismatchKind::Unrecorded,
                });
            }
        }
        for ((id, name), volume) in &ledger.written {
            if name != &dest.name || present.contains(id) {
                continue;
            }
            if volume.is_some() && mounted.is_some() && volume != &mounted {
                continue; // on the other disk of a rotation
            }
            if !ledger.erased.contains(&(id.clone(), name.clone())) {
                report.mismatches.push(Mismatch {
                    snapshot: id.clone(),
                    destination: dest.name.clone(),
                    kind: MismatchKind::Vanished,
                });
            }
        }
    }
    report
        .mismatches
        .sort_by(|a, b| (&a.snapshot, &a.destination).cmp(&(&b.snapshot, &b.destination)));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Actor, Outcome};
    use crate::clock::Clock;

    fn actor(host: &str) -> Actor {
        Actor {
            operator: "山田 太郎".into(),
            os_user: "kura".into(),
            host: host.into(),
        }
    }

    fn log_at(dir: &std::path::Path, now: &str) -> AuditLog {
        let clock = Clock::from_env_value(Some(now)).unwrap();
        AuditLog::open(&dir.join("a.sqlite"), clock).unwrap()
    }

    #[test]
    fn ids_read_as_their_utc_start_time() {
        assert_eq!(
            id_time("20240131T010203Z").unwrap().to_rfc3339(),
            "2024-01-31T01:02:03+00:00"
        );
        assert!(id_time("2024-01-31").is_none());
    }

    #[test]
    fn a_killed_run_accounts_for_its_snapshot_by_time_an_answered_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let none = serde_json::json!({});
        // A run killed after publishing: started, then nothing until later.
        log_at(dir.path(), "2024-01-31T01:02:03.700Z")
            .append(&actor("a"), "backup", "all", Outcome::Started, &none)
            .unwrap();
        log_at(dir.path(), "2024-01-31T01:40:00Z")
            .append(&actor("a"), "audit.checkpoint", "audit", Outcome::Ok, &none)
            .unwrap();
        // A run that finished and wrote hdd1 only.
        let mut log = log_at(dir.path(), "2024-02-29T01:00:00Z");
        log.append(&actor("a"), "backup", "all", Outcome::Started, &none)
            .unwrap();
        log.append(
            &actor("a"),
            "backup",
            "all",
            Outcome::Ok,
            &serde_json::json!({ "snapshot": "20240229T010000Z", "written": ["hdd1"] }),
        )
        .unwrap();
        let ledger = Ledger::read(&log).unwrap();
        assert!(
            ledger.accounts_for("20240131T010203Z", "hdd1"),
            "same second"
        );
        assert!(
            ledger.accounts_for("20240131T010204Z", "hdd2"),
            "a second later"
        );
        assert!(
            !ledger.accounts_for("20240131T010202Z", "hdd1"),
            "before it"
        );
        assert!(
            !ledger.accounts_for("20240131T014001Z", "hdd1"),
            "after the next event"
        );
        assert!(ledger.accounts_for("20240229T010000Z", "hdd1"));
        assert!(
            !ledger.accounts_for("20240229T010000Z", "hdd2"),
            "a finished run accounts only for where it wrote"
        );
    }

    #[test]
    fn erasure_records_count_as_erase_item_events_and_as_erase_execute_items() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = log_at(dir.path(), "2024-06-07T01:00:00Z");
        log.append(
            &actor("a"),
            "erase.item",
            "E-1",
            Outcome::Ok,
            &serde_json::json!({ "kind": "snapshot", "target": "20231001T010000Z",
                                  "destination": "hdd1", "status": "erased" }),
        )
        .unwrap();
        log.append(
            &actor("a"),
            "erase.execute",
            "E-2",
            Outcome::Ok,
            &serde_json::json!({ "items": [
                { "kind": "snapshot", "target": "20231101T010000Z", "destination": "hdd2", "status": "erased" },
                { "kind": "snapshot", "target": "20231201T010000Z", "destination": "hdd2", "status": "failed" },
            ] }),
        )
        .unwrap();
        let ledger = Ledger::read(&log).unwrap();
        let has = |id: &str, d: &str| ledger.erased.contains(&(id.to_string(), d.to_string()));
        assert!(has("20231001T010000Z", "hdd1"));
        assert!(has("20231101T010000Z", "hdd2"));
        assert!(!has("20231201T010000Z", "hdd2"), "failed is not erased");
        assert!(!has("20231001T010000Z", "hdd2"));
    }
}
