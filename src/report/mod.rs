//! The monthly report: the city's forms filled from the audit log and the
//! inspection — 別添3 (保守点検チェックシート 兼 報告書), 別添4 (完了届) and
//! 別添7 (個人情報取扱状況報告書), one A4 sheet each — followed by kura's
//! evidence annex (snapshots, accesses, erasures, hand-overs, incidents,
//! operating mistakes, the checkpoint).
//!
//! Everything about the month comes from the audit log, so a report for a
//! past month made after a prune still lists its backups. Events count for
//! the month in which kura's clock put them (local time), so a rehearsal
//! under `KURA_NOW` reports what it rehearsed, and carries a banner with the
//! real time on every sheet. The inspection rows are as of the report.
//!
//! The month's last event is printed as `SEQ:HASH`: written on the signed
//! paper report, it anchors the log (`kura audit verify --checkpoint`).

mod annex;
mod besshi3;
mod besshi4;
mod besshi7;
mod markdown;
pub(crate) mod page;

use chrono::{DateTime, Datelike, Local, NaiveDate};
use serde::Serialize;

use crate::audit::{AuditLog, Event};
use crate::check::CheckReport;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::policy::Policy;
use crate::wareki;

pub use markdown::render_markdown;
pub use page::render_html;

/// An event as the report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// Sequence number.
    pub seq: u64,
    /// When (RFC 3339, local offset).
    pub time: String,
    /// Operator.
    pub operator: String,
    /// Action.
    pub action: String,
    /// Target.
    pub target: String,
    /// Outcome.
    pub outcome: String,
    /// For incidents and mistakes: what kind (see [`Kind`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
}

/// What an unsuccessful event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An integrity finding (exit 1): a mismatch, a broken chain.
    Integrity,
    /// An operational failure (exit 3): I/O, a missing disk, no space.
    Failure,
    /// Interrupted (Ctrl-C, SIGTERM).
    Interruption,
    /// A usage or policy error (exit 2): a typo, a bad argument.
    Usage,
    /// A refusal by rule (exit 4), e.g. an operator not on the list.
    Refusal,
    /// A wrong key or passphrase.
    WrongKey,
    /// The audit log restored on a rebuilt server after a failure
    /// (`audit.recover`): the events after the snapshot were lost.
    Recovery,
}

impl Kind {
    /// Whether this is a person's mistake (操作ミス) rather than an incident.
    pub fn is_mistake(self) -> bool {
        matches!(self, Kind::Usage | Kind::Refusal | Kind::WrongKey)
    }

    /// The reason as the annex prints it.
    pub fn reason(self, lang: Lang) -> &'static str {
        match self {
            Kind::Integrity => lang.pick(
                "完全性の指摘 (照合の不一致・記録の欠落等)",
                "integrity finding",
            ),
            Kind::Failure => lang.pick(
                "運用上の失敗 (入出力・保存先の未接続・空き容量等)",
                "operational failure",
            ),
            Kind::Interruption => lang.pick("作業の中断 (書きかけは削除済)", "interrupted"),
            Kind::Recovery => lang.pick(
                "サーバ障害: 監査ログをスナップショットから復旧 (それ以降の記録の欠落を記録済)",
                "server failure: audit log recovered from a snapshot (the gap after it recorded)",
            ),
            Kind::Usage => lang.pick(
                "操作ミス: コマンドの入力またはポリシーの誤り",
                "mistake: usage or policy",
            ),
            Kind::Refusal => lang.pick(
                "操作ミス: 規則による拒否 (登録外の作業者・媒体等)",
                "mistake: refused by rule",
            ),
            Kind::WrongKey => lang.pick(
                "操作ミス: 鍵またはパスフレーズの誤り",
                "mistake: wrong key or passphrase",
            ),
        }
    }
}

/// A snapshot taken in the month, as the audit log recorded it.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotLine {
    /// Id.
    pub id: String,
    /// When (RFC 3339, local offset).
    pub time: String,
    /// Who.
    pub operator: String,
    /// Archives in it (source names).
    pub archives: Vec<String>,
    /// Plaintext bytes archived.
    pub bytes: u64,
    /// Destinations written.
    pub destinations: Vec<String>,
    /// `ok`, or `failed` when a destination could not be written.
    pub outcome: String,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct MonthlyReport {
    /// Always [`FORMAT`].
    pub format: String,
    /// `YYYY-MM`.
    pub month: String,
    /// The month in 和暦, e.g. 令和6年1月.
    pub month_wareki: String,
    /// Site facts (the `[site]` table).
    pub site: crate::policy::Site,
    /// When the report was made, by kura's clock (RFC 3339, local offset).
    pub generated_at: String,
    /// The day the report was made (the 点検実施日 and the forms' date).
    #[serde(skip)]
    pub generated_on: NaiveDate,
    /// Whether `KURA_NOW` replaced the clock (a rehearsal); absent when not.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub clock_overridden: bool,
    /// The real time the report was made (RFC 3339, local), when `KURA_NOW`
    /// replaced the clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub real_time: Option<String>,
    /// The inspection items as of the report.
    pub check: CheckReport,
    /// Snapshots taken in the month (from the audit log).
    pub snapshots: Vec<SnapshotLine>,
    /// The month's snapshots holding the system logs (システムログの保存).
    pub system_logs_saved: Vec<String>,
    /// Successful full verifications in the month.
    pub verifications: Vec<Line>,
    /// Accesses to decrypted data (restores and full verifies that ran).
    pub accesses: Vec<Line>,
    /// Erasure runs (the request id is the certificate number).
    pub erasures: Vec<Line>,
    /// Hand-overs (情報資産の搬送).
    pub handovers: Vec<Line>,
    /// Key changes: signing-key rotations (`keys.rotate`) and recipient
    /// changes (`keys.recipients`).
    pub key_changes: Vec<Line>,
    /// Integrity findings, operational failures and interruptions: what
    /// 別添7 (4) counts.
    pub incidents: Vec<Line>,
    /// A person's mistakes (操作ミス): typos, names not listed, wrong keys,
    /// refusals by rule. Listed in the annex, not counted as incidents.
    pub mistakes: Vec<Line>,
    /// Events recorded in the month.
    pub events: u64,
    /// The month's last event as `SEQ:HASH`, for the paper record: what
    /// `kura audit verify --checkpoint` takes (not an `audit.checkpoint`
    /// event).
    pub checkpoint: Option<String>,
    /// Destination and source names → their labels, for the printed text.
    #[serde(skip)]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// The format tag of the JSON report.
pub const FORMAT: &str = "kura-monthly-report/1";

/// Parses `YYYY-MM`.
pub fn parse_month(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .map_err(|_| Error::Usage(format!("{text:?} is not a month (YYYY-MM)")))
}

/// The month in 和暦: `令和6年1月`, `令和元年5月`.
pub fn month_wareki(first: NaiveDate) -> String {
    let full = wareki::format_ja(first);
    full.trim_end_matches("1日").to_string()
}

fn local(time: &str) -> Option<DateTime<Local>> {
    DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|t| t.with_timezone(&Local))
}

/// An event's time in local time with its offset (RFC 3339), as the JSON
/// report records it.
fn local_text(time: &str) -> String {
    local(time)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
        .unwrap_or_else(|| time.to_string())
}

/// A report time as the printed report shows it: `YYYY-MM-DD HH:MM`.
pub fn shown(time: &str) -> String {
    local(time)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| time.to_string())
}

fn line(e: &Event, kind: Option<Kind>) -> Line {
    Line {
        seq: e.seq,
        time: local_text(&e.time),
        operator: e.operator.clone(),
        action: e.action.clone(),
        target: e.target.clone(),
        outcome: e.outcome.clone(),
        kind,
    }
}

/// What an unsuccessful event was; `None` for `started` and `ok`.
/// `details.mistake` says it for events since it was recorded; older events
/// are judged by their exit code.
pub fn kind(e: &Event, details: &serde_json::Value) -> Option<Kind> {
    let exit = details["exit_code"].as_i64();
    let mistake = details["mistake"].as_bool();
    if e.action == crate::recovery::ACTION && e.outcome == "ok" {
        return Some(Kind::Recovery);
    }
    match e.outcome.as_str() {
        "finding" => Some(Kind::Integrity),
        "interrupted" => Some(Kind::Interruption),
        "refused" if exit == Some(2) => Some(Kind::Usage),
        "refused" => Some(Kind::Refusal),
        "failed" => Some(match (exit, mistake) {
            (Some(2), _) => Kind::Usage,
            (Some(4), _) => Kind::Refusal,
            (_, Some(true)) => Kind::WrongKey,
            _ => Kind::Failure,
        }),
        _ => None,
    }
}

/// Whether a source holds the system logs (the sheet's システムログの保存):
/// by name or label.
fn is_system_log_source(name: &str, label: &str) -> bool {
    let name = name.to_ascii_lowercase();
    (name.contains("system") && name.contains("log")) || label.contains("システムログ")
}

/// Builds the report of `month` (its first day), made now by `clock`.
pub fn build(
    policy: &Policy,
    log: Option<&AuditLog>,
    check: CheckReport,
    month: NaiveDate,
    clock: &Clock,
) -> Result<MonthlyReport> {
    let in_month =
        |t: &str| local(t).is_some_and(|t| t.year() == month.year() && t.month() == month.month());
    let mut report = MonthlyReport {
        month: month.format("%Y-%m").to_string(),
        month_wareki: month_wareki(month),
        site: policy.site.clone(),
        format: FORMAT.to_string(),
        generated_at: clock
            .local()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        generated_on: clock.local().date_naive(),
        clock_overridden: clock.is_overridden(),
        real_time: clock.real_time_if_overridden(),
        check,
        snapshots: Vec::new(),
        system_logs_saved: Vec::new(),
        verifications: Vec::new(),
        accesses: Vec::new(),
        erasures: Vec::new(),
        handovers: Vec::new(),
        key_changes: Vec::new(),
        incidents: Vec::new(),
        mistakes: Vec::new(),
        events: 0,
        checkpoint: None,
        labels: policy
            .destinations
            .iter()
            .map(|d| (d.name.clone(), d.label.clone()))
            .chain(
                policy
                    .sources
                    .iter()
                    .map(|s| (s.name.clone(), s.label.clone())),
            )
            .chain([("audit".to_string(), "監査ログ".to_string())])
            .collect(),
    };
    let system_logs: Vec<&str> = policy
        .sources
        .iter()
        .filter(|s| is_system_log_source(&s.name, &s.label))
        .map(|s| s.name.as_str())
        .collect();
    if let Some(log) = log {
        log.for_each(|e| {
            if in_month(&e.time) {
                report.events += 1;
                report.checkpoint = Some(format!("{}:{}", e.seq, e.hash));
                let details: serde_json::Value =
                    serde_json::from_str(&e.details).unwrap_or_default();
                report.add(&e, &details, &system_logs);
            }
            Ok(())
        })?;
    }
    report.snapshots.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(report)
}

impl MonthlyReport {
    /// Files one event of the month under the lists it belongs to.
    fn add(&mut self, e: &Event, details: &serde_json::Value, system_logs: &[&str]) {
        let kind = kind(e, details);
        match kind {
            Some(k) if k.is_mistake() => self.mistakes.push(line(e, kind)),
            Some(_) => self.incidents.push(line(e, kind)),
            None => {}
        }
        let ran = e.outcome != "started" && !kind.is_some_and(Kind::is_mistake);
        match e.action.as_str() {
            "backup" if ran => self.add_snapshot(e, details, system_logs),
            "verify.full" if e.outcome == "ok" => {
                self.verifications.push(line(e, None));
                self.accesses.push(line(e, None));
            }
            "verify.full" | "restore" if ran => self.accesses.push(line(e, kind)),
            // A run of an erasure names its request, the certificate number.
            "erase.execute" if ran && details.get("request").is_some() => {
                self.erasures.push(line(e, kind))
            }
            "keys.rotate" | "keys.recipients" if e.outcome == "ok" => {
                self.key_changes.push(line(e, None))
            }
            a if a.starts_with("handover.") && e.outcome == "ok" => {
                self.handovers.push(line(e, None))
            }
            _ => {}
        }
    }

    fn add_snapshot(&mut self, e: &Event, details: &serde_json::Value, system_logs: &[&str]) {
        let Some(id) = details["snapshot"].as_str() else {
            return;
        };
        let written: Vec<String> = details["written"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if written.is_empty() {
            return; // nothing was kept: an incident, not a backup
        }
        let archives = details["archives"].as_array().cloned().unwrap_or_default();
        let names: Vec<String> = archives
            .iter()
            .filter_map(|a| a["name"].as_str().map(String::from))
            .collect();
        if names.iter().any(|n| system_logs.contains(&n.as_str())) {
            self.system_logs_saved.push(id.to_string());
        }
        self.snapshots.push(SnapshotLine {
            id: id.to_string(),
            time: local_text(&e.time),
            operator: e.operator.clone(),
            archives: names,
            bytes: archives.iter().filter_map(|a| a["bytes"].as_u64()).sum(),
            destinations: written,
            outcome: e.outcome.clone(),
        });
    }
}

impl MonthlyReport {
    /// A name as printed: its label from the policy, or the name.
    pub fn label<'a>(&'a self, name: &'a str) -> &'a str {
        self.labels.get(name).map(String::as_str).unwrap_or(name)
    }

    /// An event's target as printed: labels for destination lists, words
    /// for kura's `latest` and `all` (snapshots for a verify or restore,
    /// destinations otherwise).
    pub fn target_text(&self, action: &str, target: &str, lang: Lang) -> String {
        let of_snapshots = action.starts_with("verify") || action == "restore";
        target
            .split(',')
            .map(|t| match t {
                "latest" => lang.pick("最新のスナップショット", "latest").to_string(),
                "all" if of_snapshots => lang.pick("全スナップショット", "all").to_string(),
                "all" => lang.pick("全保存先", "all destinations").to_string(),
                other => self.label(other).to_string(),
            })
            .collect::<Vec<_>>()
            .join(lang.pick("、", ", "))
    }
}

/// The rehearsal banner, when `KURA_NOW` replaced the clock.
pub fn rehearsal_banner(r: &MonthlyReport, lang: Lang) -> Option<String> {
    if !r.clock_overridden {
        return None;
    }
    Some(crate::clock::rehearsal_banner(
        r.real_time.as_deref().unwrap_or("?"),
        lang,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_read_in_wareki() {
        assert_eq!(month_wareki(parse_month("2019-05").unwrap()), "令和元年5月");
        assert_eq!(month_wareki(parse_month("2019-04").unwrap()), "平成31年4月");
        assert_eq!(month_wareki(parse_month("2024-01").unwrap()), "令和6年1月");
        assert!(parse_month("2024-13").is_err());
    }

    fn event(outcome: &str) -> Event {
        Event {
            seq: 1,
            time: "2024-01-31T01:02:03Z".into(),
            real_time: String::new(),
            clock_overridden: false,
            operator: "x".into(),
            os_user: String::new(),
            host: String::new(),
            action: "verify.full".into(),
            target: "latest".into(),
            outcome: outcome.into(),
            details: String::new(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn mistakes_are_told_from_incidents() {
        let k = |outcome, details: serde_json::Value| kind(&event(outcome), &details);
        use serde_json::json;
        assert_eq!(k("ok", json!({})), None);
        assert_eq!(k("finding", json!({"exit_code": 1})), Some(Kind::Integrity));
        assert_eq!(k("interrupted", json!({})), Some(Kind::Interruption));
        assert_eq!(k("refused", json!({"reason": "x"})), Some(Kind::Refusal));
        assert_eq!(k("failed", json!({"exit_code": 2})), Some(Kind::Usage));
        assert_eq!(
            k("failed", json!({"exit_code": 3, "mistake": true})),
            Some(Kind::WrongKey)
        );
        assert_eq!(k("failed", json!({"exit_code": 3})), Some(Kind::Failure));
        assert!(!Kind::Failure.is_mistake() && Kind::WrongKey.is_mistake());
    }
}
