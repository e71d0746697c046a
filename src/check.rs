//! The monthly inspection (保守点検チェックシート, 別添3): the data-backup rows
//! kura can answer — the backup device, the job schedule, the master backup,
//! free space on C, D and HDD1 — and the audit log: its chain and schema, the
//! inventory of snapshots it wrote and erased against the disks, and how
//! recently a checkpoint from outside the server (the paper record) was
//! verified. Each item is 正常 or 指摘 with a reason a person can act on.
//!
//! Checking reads only; the one write is a probe file created and removed on
//! each destination to prove it is writable.

use std::fs;
use std::path::Path;

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

use crate::audit::{self, AuditLog};
use crate::clock::Clock;
use crate::error::Result;
use crate::i18n::Lang;
use crate::policy::{Destination, Policy};
use crate::progress::Silent;
use crate::{media, snapshot, verify, wareki};

/// One row of the sheet.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Stable key, e.g. `backup_device.hdd1`, `free_space.C`.
    pub key: String,
    /// The sheet's wording.
    pub label: String,
    /// `ok` (正常) or `finding` (指摘).
    pub status: &'static str,
    /// What was seen, or what to do.
    pub detail: String,
    /// For a free-space row: the measured space and the destinations on
    /// that drive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space: Option<Space>,
}

/// The numbers behind a free-space row (the sheet's `[ 71 GB / 499 GB ]`).
#[derive(Debug, Clone, Serialize)]
pub struct Space {
    /// Bytes available.
    pub free: u64,
    /// Bytes in all.
    pub total: u64,
    /// Names of the destinations on the drive.
    pub destinations: Vec<String>,
}

/// The whole check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Whether every item is 正常.
    pub ok: bool,
    /// The rows.
    pub items: Vec<Item>,
}

struct Rows {
    lang: Lang,
    items: Vec<Item>,
}

impl Rows {
    fn push(&mut self, key: String, label: String, ok: bool, detail: String) {
        self.items.push(Item {
            key,
            label,
            status: if ok { "ok" } else { "finding" },
            detail,
            space: None,
        });
    }

    fn t(&self, ja: &str, en: &str) -> String {
        self.lang.pick(ja, en).to_string()
    }
}

/// Runs every check of the policy.
pub fn run(policy: &Policy, clock: &Clock, lang: Lang) -> Result<CheckReport> {
    let mut rows = Rows {
        lang,
        items: Vec::new(),
    };
    for dest in &policy.destinations {
        backup_device(&mut rows, dest);
    }
    schedule(&mut rows, policy, clock)?;
    master_backup(&mut rows, policy)?;
    free_space(&mut rows, policy);
    audit_chain(&mut rows, policy, clock);
    inventory(&mut rows, policy, clock);
    external_checkpoint(&mut rows, policy, clock);
    // An item cut short by an interruption would read as a finding.
    crate::interrupt::check()?;
    let ok = rows.items.iter().all(|i| i.status == "ok");
    Ok(CheckReport {
        ok,
        items: rows.items,
    })
}

/// Free space as the sheet writes it: `C [ 123 GB / 499 GB ]`.
pub fn sheet_space(label: &str, free: u64, total: u64) -> String {
    // Binary units cut, not rounded, as Windows prints them: a 2 TB disk
    // is 1.81 TB, which is what the sheet has printed.
    const GB: f64 = (1u64 << 30) as f64;
    let fmt = |b: u64| {
        let gb = b as f64 / GB;
        if gb >= 1024.0 {
            format!("{:.2} TB", (gb / 1024.0 * 100.0).floor() / 100.0)
        } else {
            format!("{:.0} GB", gb.floor())
        }
    };
    format!("{label} [ {} / {} ]", fmt(free), fmt(total))
}

/// The free-space rows: one per `[[disks]]` entry, holding the minimum of
/// each destination on that drive (so HDD1 is one row, not a disk row and a
/// destination row), then one per connected destination on no listed disk.
fn free_space(rows: &mut Rows, policy: &Policy) {
    let homes: Vec<Option<usize>> = policy
        .destinations
        .iter()
        .map(|d| crate::media::disk_of(&policy.disks, &d.path))
        .collect();
    let on = |i: usize| -> Vec<&Destination> {
        policy
            .destinations
            .iter()
            .zip(&homes)
            .filter(|(_, h)| **h == Some(i))
            .map(|(d, _)| d)
            .collect()
    };
    for (i, disk) in policy.disks.iter().enumerate() {
        let key = format!("free_space.{}", disk.label);
        space_row(rows, key, &disk.label, &disk.path, &on(i));
    }
    for (dest, home) in policy.destinations.iter().zip(&homes) {
        if home.is_some() || !dest.path.is_dir() {
            continue; // on a disk's row, or a finding under the backup device
        }
        let key = format!("free_space.{}", dest.name);
        space_row(rows, key, &dest.name.to_uppercase(), &dest.path, &[dest]);
    }
}

fn space_row(rows: &mut Rows, key: String, label: &str, path: &Path, dests: &[&Destination]) {
    let title = format!("{} {label}", rows.t("空き容量", "free space"));
    let (free, total) = match media::space(path) {
        Ok(v) => v,
        Err(e) => {
            let detail = e.message(rows.lang);
            return rows.push(key, title, false, detail);
        }
    };
    let mut detail = sheet_space(label, free, total);
    let min_gib = dests.iter().filter_map(|d| d.min_free_gib).max();
    if !dests.is_empty() {
        let labels: Vec<&str> = dests.iter().map(|d| d.label.as_str()).collect();
        detail.push_str(&rows.t(
            &format!(" (保存先: {})", labels.join("、")),
            &format!(" (destination: {})", labels.join(", ")),
        ));
    }
    let ok = min_gib.is_none_or(|gib| free >= gib << 30);
    if let (false, Some(gib)) = (ok, min_gib) {
        detail.push_str(&rows.t(
            &format!(" — 最低空き容量 {gib} GB を下回っています"),
            &format!(" — below the policy minimum of {gib} GB"),
        ));
    }
    rows.push(key, title, ok, detail);
    if let Some(item) = rows.items.last_mut() {
        item.space = Some(Space {
            free,
            total,
            destinations: dests.iter().map(|d| d.name.clone()).collect(),
        });
    }
}

fn backup_device(rows: &mut Rows, dest: &Destination) {
    let key = format!("backup_device.{}", dest.name);
    let label = format!(
        "{} ({})",
        rows.t("バックアップ用機器稼働状況", "backup device"),
        dest.label
    );
    let result = media::check_destination(dest).and_then(|marker| {
        let probe = dest
            .path
            .join(format!(".kura-check-{}", std::process::id()));
        fs::write(&probe, b"probe")
            .and_then(|()| fs::remove_file(&probe))
            .map_err(|e| crate::error::Error::io(crate::error::Action::Write, &dest.path, e))?;
        Ok(marker)
    });
    match result {
        Ok(marker) => {
            let detail = rows.t(
                &format!("接続・登録済 (ボリューム {}), 書き込み可", marker.id),
                &format!("connected, registered (volume {}), writable", marker.id),
            );
            rows.push(key, label, true, detail);
        }
        Err(e) => {
            let detail = match &e {
                crate::error::Error::DestinationMissing { path, .. } => rows.t(
                    &format!(
                        "{} が接続されていません: {} が見つかりません",
                        dest.label,
                        path.display()
                    ),
                    &format!(
                        "{} is not connected: {} does not exist",
                        dest.label,
                        path.display()
                    ),
                ),
                other => other.message(rows.lang),
            };
            rows.push(key, label, false, detail);
        }
    }
}

/// The newest snapshot on any reachable destination, with its local date.
fn newest(policy: &Policy) -> Result<Option<(String, NaiveDate)>> {
    let mut best: Option<(String, NaiveDate)> = None;
    for dest in &policy.destinations {
        if !dest.path.is_dir() {
            continue;
        }
        for s in snapshot::list(&dest.path)? {
            let Ok(meta) = &s.meta else { continue };
            let Ok(t) = chrono::DateTime::parse_from_rfc3339(&meta.created_at) else {
                continue;
            };
            let date = t.with_timezone(&chrono::Local).date_naive();
            if best.as_ref().is_none_or(|(id, _)| *id < s.id) {
                best = Some((s.id.clone(), date));
            }
        }
    }
    Ok(best)
}

/// The scheduled day of the month containing `date`.
fn scheduled_in(date: NaiveDate, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(date.year(), date.month(), day).unwrap_or(date)
}

fn schedule(rows: &mut Rows, policy: &Policy, clock: &Clock) -> Result<()> {
    let today = clock.local().date_naive();
    let day = policy.schedule.day_of_month;
    let this_month = scheduled_in(today, day);
    let last_run = if today >= this_month {
        this_month
    } else {
        scheduled_in(today - Months::new(1), day)
    };
    let grace_end = last_run + chrono::Days::new(policy.schedule.grace_days.into());
    // Within the grace period the previous month's snapshot still counts.
    let due = if today < grace_end {
        scheduled_in(last_run - Months::new(1), day)
    } else {
        last_run
    };
    let label = rows.t(
        "バックアップジョブのスケジュール稼働状況",
        "backup job schedule",
    );
    let ja = |d: NaiveDate| match rows.lang {
        Lang::Ja => wareki::format_both(d),
        Lang::En => wareki::format_en(d),
    };
    match newest(policy)? {
        Some((id, date)) if date >= due => {
            let detail = rows.t(
                &format!(
                    "最新スナップショット {id} ({}), 毎月{day}日実行 (猶予{}日)",
                    ja(date),
                    policy.schedule.grace_days
                ),
                &format!(
                    "latest snapshot {id} ({}), runs on day {day} (grace {} days)",
                    ja(date),
                    policy.schedule.grace_days
                ),
            );
            rows.push("schedule".into(), label, true, detail);
        }
        Some((id, date)) => {
            let detail = rows.t(
                &format!("{} の実行分がありません (最新は {id}, {})。ジョブの実行結果とディスクの接続を確認してください", ja(due), ja(date)),
                &format!("no snapshot since the run due on {} (latest {id}, {}); check the scheduled job and the disk", ja(due), ja(date)),
            );
            rows.push("schedule".into(), label, false, detail);
        }
        None if !policy.destinations.iter().any(|d| d.path.is_dir()) => {
            let detail = rows.t(
                "保存先が接続されていないため確認できません。USB外付けHDDを接続してください",
                "no destination is connected, so the schedule cannot be checked: connect the USB disk",
            );
            rows.push("schedule".into(), label, false, detail);
        }
        None => {
            let detail = rows.t(
                "スナップショットがまだありません。kura backup を実行してください",
                "no snapshot yet: run kura backup",
            );
            rows.push("schedule".into(), label, false, detail);
        }
    }
    Ok(())
}

fn master_backup(rows: &mut Rows, policy: &Policy) -> Result<()> {
    let master = policy
        .sources
        .iter()
        .find(|s| s.name == "master")
        .or_else(|| policy.sources.first())
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let label = rows.t("マスタバックアップの取得", "master backup taken");
    let public_key = match &policy.signing {
        Some(s) => crate::signers::Signers::load(s).ok(),
        None => None,
    };
    let mut checked = Vec::new();
    let mut problems = Vec::new();
    for dest in &policy.destinations {
        if !dest.path.is_dir() {
            continue;
        }
        let Some(latest) = snapshot::list(&dest.path)?.into_iter().last() else {
            problems.push(rows.t(
                &format!("{}: スナップショットがありません", dest.label),
                &format!("{}: no snapshot", dest.label),
            ));
            continue;
        };
        let has_master = latest
            .meta
            .as_ref()
            .is_ok_and(|m| m.archives.iter().any(|a| a.name == master));
        if !has_master {
            problems.push(rows.t(
                &format!(
                    "{}: {} に {master} のアーカイブがありません",
                    dest.label, latest.id
                ),
                &format!("{}: {} has no {master} archive", dest.label, latest.id),
            ));
            continue;
        }
        let verdict = verify::check_snapshot(
            &latest.dir,
            &verify::CheckOptions {
                signers: public_key.as_ref(),
                identities: None,
                against_source: None,
                progress: &Silent,
            },
        )?;
        if verdict.ok() {
            checked.push(format!("{} {}", dest.label, latest.id));
        } else {
            problems.push(format!(
                "{} {}: {}",
                dest.label,
                latest.id,
                verdict.findings.first().cloned().unwrap_or_default()
            ));
        }
    }
    if problems.is_empty() && !checked.is_empty() {
        let detail = rows.t(
            &format!(
                "検証済 (鍵なし検証: チェックサム・署名): {}",
                checked.join(", ")
            ),
            &format!(
                "verified without the key (sums, signature): {}",
                checked.join(", ")
            ),
        );
        rows.push("master_backup".into(), label, true, detail);
    } else {
        if problems.is_empty() {
            problems.push(rows.t(
                "接続された保存先がありません",
                "no destination is connected",
            ));
        }
        rows.push("master_backup".into(), label, false, problems.join("; "));
    }
    Ok(())
}

fn audit_chain(rows: &mut Rows, policy: &Policy, clock: &Clock) {
    let label = rows.t("監査ログ (改ざん検知)", "audit log (tamper evidence)");
    let db: &Path = &policy.audit_database;
    let result = AuditLog::open_existing(db, *clock).and_then(|log| {
        let (checkpoints, mut problems) = audit::recorded_checkpoints(policy)?;
        let report = log.verify(&checkpoints)?;
        let schema = log.schema_problems()?;
        problems.splice(0..0, schema.into_iter().map(|p| format!("schema: {p}")));
        // The erasure records beside the events must say what the chain says.
        match crate::erasure::reconcile(&log) {
            Ok(found) => problems.extend(found.into_iter().map(|p| format!("erasure record {p}"))),
            Err(e) => problems.push(format!("erasure records: {}", e.message(rows.lang))),
        }
        Ok((report, problems))
    });
    match result {
        Ok((report, problems)) if report.ok() && problems.is_empty() => {
            let head = report
                .head
                .as_ref()
                .map(|(s, h)| format!("{s}:{h}"))
                .unwrap_or_default();
            let detail = rows.t(
                &format!(
                    "ハッシュ連鎖・チェックポイント {} 件 正常 (最新 {head})",
                    report.checkpoints.len()
                ),
                &format!(
                    "chain and {} checkpoints intact (head {head})",
                    report.checkpoints.len()
                ),
            );
            rows.push("audit_chain".into(), label, true, detail);
        }
        Ok((report, problems)) => {
            let detail = report
                .first_bad
                .map(|b| format!("event {}: {}", b.seq, b.detail))
                .or_else(|| report.checkpoints.iter().find_map(|c| c.problem.clone()))
                .or_else(|| problems.first().cloned())
                .unwrap_or_default();
            rows.push("audit_chain".into(), label, false, detail);
        }
        Err(e) => rows.push("audit_chain".into(), label, false, e.message(rows.lang)),
    }
}

/// The snapshots the log wrote and erased against those on the disks
/// ([`crate::inventory`]).
fn inventory(rows: &mut Rows, policy: &Policy, clock: &Clock) {
    let label = rows.t("保存先の目録", "inventory of snapshots");
    let result = AuditLog::open_existing(&policy.audit_database, *clock)
        .and_then(|log| crate::inventory::reconcile(policy, &log));
    match result {
        Ok(r) if r.ok() => {
            // Japanese names the disks by their labels (hdd1 is no word).
            let labels = |names: &[String]| -> String {
                names
                    .iter()
                    .map(|n| {
                        policy
                            .destinations
                            .iter()
                            .find(|d| &d.name == n)
                            .map_or(n.as_str(), |d| d.label.as_str())
                    })
                    .collect::<Vec<_>>()
                    .join("、")
            };
            let mut detail = rows.t(
                &format!(
                    "監査ログと一致: {} のスナップショット {} 件",
                    labels(&r.checked),
                    r.snapshots
                ),
                &format!(
                    "the audit log and the disks agree: {} snapshots on {}",
                    r.snapshots,
                    r.checked.join(", ")
                ),
            );
            if !r.not_connected.is_empty() {
                detail.push_str(&rows.t(
                    &format!(" (未接続のため未確認: {})", labels(&r.not_connected)),
                    &format!(
                        " (not connected, not compared: {})",
                        r.not_connected.join(", ")
                    ),
                ));
            }
            rows.push("inventory".into(), label, true, detail);
        }
        Ok(r) => {
            let detail = r
                .mismatches
                .iter()
                .map(|m| m.message(rows.lang))
                .collect::<Vec<_>>()
                .join("; ");
            rows.push("inventory".into(), label, false, detail);
        }
        Err(e) => rows.push("inventory".into(), label, false, e.message(rows.lang)),
    }
}

/// The time of an event and the first checkpoint it verified (`SEQ:HASH…`).
type Verified = (String, String);

/// When the log began, and the last `audit.verify` event that verified
/// checkpoints from outside the server.
fn external_verifications(log: &AuditLog) -> Result<(Option<String>, Option<Verified>)> {
    let mut first = None;
    let mut last = None;
    log.for_each(|e| {
        first.get_or_insert_with(|| e.time.clone());
        if e.action == audit::VERIFY_ACTION {
            let details: serde_json::Value =
                serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null);
            if let Some(c) = details["external_checkpoints"]
                .as_array()
                .and_then(|a| a.first())
            {
                let shown = format!(
                    "{}:{}",
                    c["seq"],
                    c["hash"]
                        .as_str()
                        .unwrap_or_default()
                        .get(..16)
                        .unwrap_or_default()
                );
                last = Some((e.time.clone(), shown));
            }
        }
        Ok(())
    })?;
    Ok((first, last))
}

/// Whether a checkpoint from outside the server (the paper record of a
/// monthly report) was verified within `[audit] external_checkpoint_days`:
/// only that catches a log rewritten together with every copy kept on the
/// server. A log younger than that is not yet due.
fn external_checkpoint(rows: &mut Rows, policy: &Policy, clock: &Clock) {
    let label = rows.t(
        "外部チェックポイントの照合",
        "off-server checkpoint verified",
    );
    let key = "external_checkpoint".to_string();
    let days = policy.audit_external_checkpoint_days;
    let found = AuditLog::open_existing(&policy.audit_database, *clock)
        .and_then(|log| external_verifications(&log));
    let (first, last) = match found {
        Ok(f) => f,
        Err(e) => return rows.push(key, label, false, e.message(rows.lang)),
    };
    let now = clock.now();
    let since = now - chrono::Duration::days(i64::from(days));
    let parse = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    };
    let day = |t: chrono::DateTime<chrono::Utc>| {
        let d = t.with_timezone(&chrono::Local).date_naive();
        match rows.lang {
            Lang::Ja => wareki::format_both(d),
            Lang::En => wareki::format_en(d),
        }
    };
    let last_at = last
        .as_ref()
        .and_then(|(t, c)| Some((parse(t)?, c.clone())));
    if let Some((at, checkpoint)) = last_at.as_ref().filter(|(at, _)| *at >= since) {
        let detail = rows.t(
            &format!(
                "{} に照合 (チェックポイント {checkpoint}…)、{days} 日以内",
                day(*at)
            ),
            &format!(
                "verified on {} (checkpoint {checkpoint}…), within {days} days",
                day(*at)
            ),
        );
        return rows.push(key, label, true, detail);
    }
    let began = first.as_deref().and_then(parse);
    match began {
        None => {
            let detail = rows.t(
                "監査ログにまだイベントがありません",
                "the audit log has no events yet",
            );
            rows.push(key, label, true, detail);
        }
        Some(began) if began > since => {
            let due = began + chrono::Duration::days(i64::from(days));
            let detail = rows.t(
                &format!(
                    "監査ログの開始 ({}) から {days} 日未満のため未到来。初回の期限は {}: 月次報告書のチェックポイントを kura audit verify --checkpoint SEQ:HASH で照合してください",
                    day(began),
                    day(due)
                ),
                &format!(
                    "not due yet: the log began on {}, less than {days} days ago; first due by {}: verify the checkpoint of a monthly report with kura audit verify --checkpoint SEQ:HASH",
                    day(began),
                    day(due)
                ),
            );
            rows.push(key, label, true, detail);
        }
        Some(_) => {
            let detail = match last_at {
                Some((at, _)) => rows.t(
                    &format!("最後の照合は {} で、{days} 日を超えています。月次報告書に記載したチェックポイントを kura audit verify --checkpoint SEQ:HASH で照合してください", day(at)),
                    &format!("last verified on {}, more than {days} days ago: verify the checkpoint written on a monthly report with kura audit verify --checkpoint SEQ:HASH", day(at)),
                ),
                None => rows.t(
                    &format!("サーバー外 (紙) のチェックポイントを照合した記録が {days} 日以上ありません。月次報告書に記載したチェックポイントを kura audit verify --checkpoint SEQ:HASH で照合してください"),
                    &format!("no checkpoint from outside the server has been verified in {days} days or more: verify the checkpoint written on a monthly report with kura audit verify --checkpoint SEQ:HASH"),
                ),
            };
            rows.push(key, label, false, detail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_reads_like_the_sheet() {
        assert_eq!(
            sheet_space("C", 123 << 30, 499 << 30),
            "C [ 123 GB / 499 GB ]"
        );
        assert_eq!(
            sheet_space("HDD1", 1200 << 30, 2_000_398_934_016),
            "HDD1 [ 1.17 TB / 1.81 TB ]",
            "a 2 TB disk reads 1.81 TB, as the sheet prints it: cut, not rounded"
        );
    }

    #[test]
    fn the_scheduled_day_is_in_the_dates_month() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 20).unwrap();
        assert_eq!(
            scheduled_in(d, 1),
            NaiveDate::from_ymd_opt(2024, 2, 1).unwrap()
        );
    }
}
