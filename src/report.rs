//! The monthly report: the data behind the 保守点検チェックシート (別添3) and
//! the 個人情報取扱状況報告書 (別添7), built from the audit log and the
//! destinations. Events count for the month in which kura's clock put them
//! (local time), so a rehearsal under `KURA_NOW` reports what it rehearsed.
//! The month's last event is printed as `SEQ:HASH`: written on the signed
//! paper report, it anchors the log (`kura audit verify --checkpoint`).
//! A report made under `KURA_NOW` carries a rehearsal banner with the real
//! time on its first page, so a rehearsal's paper cannot pass for a month's.

use chrono::{DateTime, Datelike, Local, NaiveDate};
use serde::Serialize;

use crate::audit::{AuditLog, Event};
use crate::check::CheckReport;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::html;
use crate::i18n::Lang;
use crate::policy::Policy;
use crate::{snapshot, wareki};

/// An event as the report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// Sequence number.
    pub seq: u64,
    /// Local time, `YYYY-MM-DD HH:MM`.
    pub time: String,
    /// Operator.
    pub operator: String,
    /// Action.
    pub action: String,
    /// Target.
    pub target: String,
    /// Outcome.
    pub outcome: String,
}

/// A snapshot taken in the month.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotLine {
    /// Id.
    pub id: String,
    /// When (local).
    pub time: String,
    /// Who.
    pub operator: String,
    /// Archives in it.
    pub archives: Vec<String>,
    /// Bytes stored.
    pub bytes: u64,
    /// Destinations holding it.
    pub destinations: Vec<String>,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct MonthlyReport {
    /// `YYYY-MM`.
    pub month: String,
    /// The month in 和暦, e.g. 令和6年1月.
    pub month_wareki: String,
    /// Site facts.
    pub site: serde_json::Value,
    /// When the report was made, by kura's clock (`YYYY-MM-DD HH:MM`, local).
    pub generated_at: String,
    /// Whether `KURA_NOW` replaced the clock (a rehearsal); absent when not.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub clock_overridden: bool,
    /// The real time the report was made (RFC 3339, local), when `KURA_NOW`
    /// replaced the clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub real_time: Option<String>,
    /// The inspection items as of the report.
    pub check: CheckReport,
    /// Snapshots taken in the month.
    pub snapshots: Vec<SnapshotLine>,
    /// Full verifications in the month.
    pub verifications: Vec<Line>,
    /// Accesses to decrypted data (restores and full verifies).
    pub accesses: Vec<Line>,
    /// Erasures executed (the request id is the certificate number).
    pub erasures: Vec<Line>,
    /// Hand-overs (情報資産の搬送).
    pub handovers: Vec<Line>,
    /// Failures, refusals, integrity findings and interruptions.
    pub incidents: Vec<Line>,
    /// Events recorded in the month.
    pub events: u64,
    /// The month's last event as `SEQ:HASH`, for the paper record.
    pub checkpoint: Option<String>,
}

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

fn line(e: &Event) -> Line {
    Line {
        seq: e.seq,
        time: local(&e.time)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| e.time.clone()),
        operator: e.operator.clone(),
        action: e.action.clone(),
        target: e.target.clone(),
        outcome: e.outcome.clone(),
    }
}

/// Builds the report of `month` (its first day), made now by `clock`.
pub fn build(
    policy: &Policy,
    log: Option<&AuditLog>,
    check: CheckReport,
    month: NaiveDate,
    clock: &Clock,
) -> Result<MonthlyReport> {
    let key = month.format("%Y-%m").to_string();
    let in_month =
        |t: &str| local(t).is_some_and(|t| t.year() == month.year() && t.month() == month.month());
    let mut report = MonthlyReport {
        month: key.clone(),
        month_wareki: month_wareki(month),
        site: serde_json::json!({
            "name": policy.site.name,
            "system": policy.site.system,
            "contractor": policy.site.contractor,
            "contract_code": policy.site.contract_code,
        }),
        generated_at: clock.local().format("%Y-%m-%d %H:%M").to_string(),
        clock_overridden: clock.is_overridden(),
        real_time: clock.real_time_if_overridden(),
        check,
        snapshots: Vec::new(),
        verifications: Vec::new(),
        accesses: Vec::new(),
        erasures: Vec::new(),
        handovers: Vec::new(),
        incidents: Vec::new(),
        events: 0,
        checkpoint: None,
    };
    if let Some(log) = log {
        log.for_each(|e| {
            if !in_month(&e.time) {
                return Ok(());
            }
            report.events += 1;
            report.checkpoint = Some(format!("{}:{}", e.seq, e.hash));
            let done = e.outcome != "started";
            if done && e.action == "verify.full" {
                report.verifications.push(line(&e));
            }
            if done && (e.action == "verify.full" || e.action == "restore") {
                report.accesses.push(line(&e));
            }
            if done && e.action == "erase.execute" {
                report.erasures.push(line(&e));
            }
            if done && e.action.starts_with("handover.") {
                report.handovers.push(line(&e));
            }
            if matches!(
                e.outcome.as_str(),
                "failed" | "refused" | "finding" | "interrupted"
            ) {
                report.incidents.push(line(&e));
            }
            Ok(())
        })?;
    }
    for dest in &policy.destinations {
        if !dest.path.is_dir() {
            continue;
        }
        for s in snapshot::list(&dest.path)? {
            let Ok(meta) = s.meta else { continue };
            if meta.month != key {
                continue;
            }
            if let Some(existing) = report.snapshots.iter_mut().find(|x| x.id == s.id) {
                existing.destinations.push(dest.name.clone());
                continue;
            }
            report.snapshots.push(SnapshotLine {
                time: local(&meta.created_at)
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or(meta.created_at.clone()),
                id: s.id,
                operator: meta.operator,
                archives: meta.archives.iter().map(|a| a.name.clone()).collect(),
                bytes: meta.archives.iter().map(|a| a.ciphertext_bytes).sum(),
                destinations: vec![dest.name.clone()],
            });
        }
    }
    report.snapshots.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(report)
}

/// A section of the report: a title and a table.
struct Section {
    title: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    empty: String,
    note: Option<String>,
}

fn event_rows(lines: &[Line], lang: Lang) -> Vec<Vec<String>> {
    lines
        .iter()
        .map(|l| {
            vec![
                l.time.clone(),
                l.operator.clone(),
                l.action.clone(),
                l.target.clone(),
                outcome_label(&l.outcome, lang),
                l.seq.to_string(),
            ]
        })
        .collect()
}

/// An event's outcome as the report prints it (the stored text in English).
fn outcome_label(outcome: &str, lang: Lang) -> String {
    let ja = match outcome {
        "started" => "開始",
        "ok" => "正常",
        "failed" => "失敗",
        "refused" => "拒否",
        "finding" => "指摘",
        "interrupted" => "中断",
        other => other,
    };
    lang.pick(ja, outcome).to_string()
}

fn sections(r: &MonthlyReport, lang: Lang) -> Vec<Section> {
    let t = |ja: &str, en: &str| lang.pick(ja, en).to_string();
    let event_head = vec![
        t("日時", "Time"),
        t("作業者", "Operator"),
        t("操作", "Action"),
        t("対象", "Target"),
        t("結果", "Outcome"),
        "SEQ".to_string(),
    ];
    let none = t("該当なし", "none");
    vec![
        Section {
            title: t(
                "1. 保守点検チェックシート (別添3) データバックアップ・空き容量",
                "1. Inspection sheet (別添3): data backup and free space",
            ),
            head: vec![
                t("点検実施項目", "Item"),
                t("正常/指摘", "Result"),
                t("記入欄", "Notes"),
            ],
            rows: r
                .check
                .items
                .iter()
                .map(|i| {
                    vec![
                        i.label.clone(),
                        if i.status == "ok" {
                            t("☑ 正常 ☐ 指摘", "OK")
                        } else {
                            t("☐ 正常 ☑ 指摘", "FINDING")
                        },
                        i.detail.clone(),
                    ]
                })
                .collect(),
            empty: none.clone(),
            note: Some(t(
                &format!("点検項目は報告書作成時点 ({}) の状態です。", r.generated_at),
                &format!("Items as of the report ({}).", r.generated_at),
            )),
        },
        Section {
            title: t("2. 当月のバックアップ取得", "2. Snapshots taken this month"),
            head: vec![
                t("日時", "Time"),
                "ID".into(),
                t("作業者", "Operator"),
                t("アーカイブ", "Archives"),
                t("容量", "Size"),
                t("保存先", "Destinations"),
            ],
            rows: r
                .snapshots
                .iter()
                .map(|s| {
                    vec![
                        s.time.clone(),
                        s.id.clone(),
                        s.operator.clone(),
                        s.archives.join(", "),
                        crate::error::human_bytes(s.bytes),
                        s.destinations.join(", "),
                    ]
                })
                .collect(),
            empty: t("当月のバックアップはありません", "no snapshot this month"),
            note: None,
        },
        Section {
            title: t(
                "3. 復元検証・復号を伴う利用 (アクセス記録)",
                "3. Restore verification and accesses to decrypted data",
            ),
            head: event_head.clone(),
            rows: event_rows(&r.accesses, lang),
            empty: none.clone(),
            note: Some(t(
                &format!("うち全件復号検証 {} 件", r.verifications.len()),
                &format!("of which full verifications: {}", r.verifications.len()),
            )),
        },
        Section {
            title: t(
                "4. データ消去 (消去証明書番号)",
                "4. Erasures (certificate numbers)",
            ),
            head: event_head.clone(),
            rows: event_rows(&r.erasures, lang),
            empty: none.clone(),
            note: None,
        },
        Section {
            title: t(
                "5. 情報資産の搬送 (引継ぎ)",
                "5. Transport of information assets (hand-overs)",
            ),
            head: event_head.clone(),
            rows: event_rows(&r.handovers, lang),
            empty: none.clone(),
            note: None,
        },
        Section {
            title: t(
                "6. 事件・事故・異常 (失敗・拒否・完全性の指摘・中断)",
                "6. Incidents (failures, refusals, integrity findings, interruptions)",
            ),
            head: event_head,
            rows: event_rows(&r.incidents, lang),
            empty: none,
            note: None,
        },
    ]
}

/// The rows of 別添7 that need a person's judgement, as boxes to tick.
fn besshi7(r: &MonthlyReport, lang: Lang) -> Vec<String> {
    let t = |ja: &str, en: &str| lang.pick(ja, en).to_string();
    let boxes = t("☐ 変更なし ☐ 変更あり", "☐ unchanged ☐ changed");
    vec![
        format!(
            "(1) {} {boxes}",
            t(
                "従業者の指定、教育及び監督",
                "Designation, training and supervision of staff"
            )
        ),
        format!(
            "(2) {} {boxes}",
            t(
                "管理区域の設定及び安全管理措置の実施",
                "Controlled areas and safety measures"
            )
        ),
        format!(
            "(3) {} {boxes}",
            t("セキュリティ強化のための管理策", "Security controls")
        ),
        format!(
            "(4) {} {boxes} — {}: {}",
            t("事件・事故における報告連絡体制", "Incident reporting"),
            t("当月の記録", "this month's records"),
            if r.incidents.is_empty() {
                t("なし", "none")
            } else {
                format!("{} {}", r.incidents.len(), t("件 (6. 参照)", "(see 6.)"))
            }
        ),
        format!(
            "(5) {} {boxes} — {}: {}",
            t(
                "情報資産の搬送及び持ち運ぶ際の保護体制",
                "Protection of transported assets"
            ),
            t("実績", "this month"),
            if r.handovers.is_empty() {
                t("なし", "none")
            } else {
                format!("{} {}", r.handovers.len(), t("件 (5. 参照)", "(see 5.)"))
            }
        ),
        format!("(6) {} {boxes}", t("関係法令の遵守", "Legal compliance")),
        format!("(7) {} {boxes}", t("定期監査の実施", "Periodic audits")),
        format!(
            "(8) {} {}",
            t(
                "その他適合申出書からの変更",
                "Other changes since the declaration"
            ),
            t("☐ なし ☐ あり", "☐ no ☐ yes")
        ),
    ]
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

fn title(r: &MonthlyReport, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("月次報告書 {} ({})", r.month_wareki, r.month),
        Lang::En => format!("Monthly report {}", r.month),
    }
}

/// Markdown.
pub fn render_markdown(r: &MonthlyReport, lang: Lang) -> String {
    let t = |ja: &str, en: &str| lang.pick(ja, en).to_string();
    let mut out = format!("# {}\n\n", title(r, lang));
    if let Some(banner) = rehearsal_banner(r, lang) {
        out.push_str(&format!("> **{banner}**\n\n"));
    }
    out.push_str(&format!(
        "- {}: {}\n- {}: {}\n- {}: {}\n- {}: {}\n\n",
        t("履行場所", "Site"),
        html::value_text(&r.site["name"]),
        t("システム", "System"),
        html::value_text(&r.site["system"]),
        t("受託者", "Contractor"),
        html::value_text(&r.site["contractor"]),
        t("契約コード", "Contract code"),
        html::value_text(&r.site["contract_code"]),
    ));
    for s in sections(r, lang) {
        out.push_str(&format!("## {}\n\n", s.title));
        if s.rows.is_empty() {
            out.push_str(&format!("{}\n\n", s.empty));
        } else {
            out.push_str(&format!(
                "| {} |\n|{}|\n",
                s.head.join(" | "),
                vec!["---"; s.head.len()].join("|")
            ));
            for row in &s.rows {
                out.push_str(&format!(
                    "| {} |\n",
                    row.iter()
                        .map(|c| c.replace('|', "\\|"))
                        .collect::<Vec<_>>()
                        .join(" | ")
                ));
            }
            out.push('\n');
        }
        if let Some(n) = &s.note {
            out.push_str(&format!("{n}\n\n"));
        }
    }
    out.push_str(&format!(
        "## {}\n\n",
        t(
            "7. 個人情報取扱状況報告書 (別添7) 確認欄",
            "7. Personal-data handling report (別添7)"
        )
    ));
    for row in besshi7(r, lang) {
        out.push_str(&format!("- {row}\n"));
    }
    out.push_str(&format!(
        "\n## {}\n\n{}: **{}** ({} {})\n\n{}\n",
        t("8. 監査ログのチェックポイント", "8. Audit checkpoint"),
        t("当月最後の監査記録 SEQ:HASH", "The month's last audit event SEQ:HASH"),
        r.checkpoint.clone().unwrap_or_else(|| t("当月の記録なし", "no event this month")),
        r.events,
        t("件の記録", "events this month"),
        t(
            "この値を紙の報告書に記録し、監査時に kura audit verify --checkpoint SEQ:HASH で照合します。",
            "Write this on the paper report; an auditor checks it with kura audit verify --checkpoint SEQ:HASH."
        ),
    ));
    out
}

/// Printable A4 HTML: each section starts a page, double-sided friendly.
pub fn render_html(r: &MonthlyReport, lang: Lang) -> String {
    let t = |ja: &str, en: &str| lang.pick(ja, en).to_string();
    // On the cover, and again on every page a section starts, so no sheet
    // of a rehearsal's report reads as a real month's.
    let banner = rehearsal_banner(r, lang)
        .map(|b| format!("<p class=\"rehearsal\">{}</p>\n", html::escape(&b)))
        .unwrap_or_default();
    let mut body = format!(
        "<section class=\"cover\">{banner}<h1>{}</h1>\n<table class=\"fields\">\n",
        html::escape(&title(r, lang))
    );
    for (k, v) in [
        (t("履行場所", "Site"), html::value_text(&r.site["name"])),
        (t("システム", "System"), html::value_text(&r.site["system"])),
        (
            t("受託者", "Contractor"),
            html::value_text(&r.site["contractor"]),
        ),
        (
            t("契約コード", "Contract code"),
            html::value_text(&r.site["contract_code"]),
        ),
        (
            t("対象月", "Month"),
            format!("{} ({})", r.month_wareki, r.month),
        ),
        (t("作成日時", "Generated"), r.generated_at.clone()),
        (
            t(
                "当月最後の監査記録 (SEQ:HASH)",
                "Last audit event of the month (SEQ:HASH)",
            ),
            r.checkpoint.clone().unwrap_or("-".into()),
        ),
    ] {
        body.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            html::escape(&k),
            html::escape(&v)
        ));
    }
    body.push_str(&format!(
        "</table>\n<table class=\"stamps\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr><tr><td></td><td></td><td></td><td></td></tr></table>\n</section>\n",
        t("点検者", "Inspector"),
        t("所長", "Director"),
        t("係長", "Chief"),
        t("係", "Staff"),
    ));
    for s in sections(r, lang) {
        body.push_str(&format!(
            "<section>{banner}<h2>{}</h2>\n",
            html::escape(&s.title)
        ));
        if s.rows.is_empty() {
            body.push_str(&format!("<p>{}</p>\n", html::escape(&s.empty)));
        } else {
            body.push_str("<table><thead><tr>");
            for h in &s.head {
                body.push_str(&format!("<th>{}</th>", html::escape(h)));
            }
            body.push_str("</tr></thead><tbody>\n");
            for row in &s.rows {
                body.push_str("<tr>");
                for c in row {
                    body.push_str(&format!("<td>{}</td>", html::escape(c)));
                }
                body.push_str("</tr>\n");
            }
            body.push_str("</tbody></table>\n");
        }
        if let Some(n) = &s.note {
            body.push_str(&format!("<p class=\"note\">{}</p>\n", html::escape(n)));
        }
        body.push_str("</section>\n");
    }
    body.push_str(&format!(
        "<section>{banner}<h2>{}</h2>\n<ul class=\"boxes\">\n",
        html::escape(&t(
            "7. 個人情報取扱状況報告書 (別添7) 確認欄",
            "7. Personal-data handling report (別添7)"
        ))
    ));
    for row in besshi7(r, lang) {
        body.push_str(&format!("<li>{}</li>\n", html::escape(&row)));
    }
    body.push_str(&format!(
        "</ul>\n<h2>{}</h2>\n<p class=\"checkpoint\">{}</p>\n<p class=\"note\">{}</p>\n</section>\n",
        html::escape(&t("8. 監査ログのチェックポイント", "8. Audit checkpoint")),
        html::escape(&r.checkpoint.clone().unwrap_or("-".into())),
        html::escape(&t(
            "この値を紙の報告書に記録し、監査時に kura audit verify --checkpoint SEQ:HASH で照合します。",
            "Write this on the paper report; an auditor checks it with kura audit verify --checkpoint SEQ:HASH."
        )),
    ));
    format!(
        r#"<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
@page {{ size: A4; margin: 15mm 15mm 15mm 20mm; }}
body {{ font-family: "Yu Gothic", "Meiryo", "Noto Sans CJK JP", "Noto Sans JP", sans-serif; font-size: 10pt; color: #000; }}
h1 {{ font-size: 16pt; text-align: center; margin: 20mm 0 10mm; }}
h2 {{ font-size: 12pt; border-bottom: 0.4mm solid #000; padding-bottom: 1mm; }}
section {{ break-before: page; page-break-before: always; }}
section.cover {{ break-before: auto; page-break-before: auto; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 0.3mm solid #000; padding: 1.2mm 2mm; vertical-align: top; text-align: left; word-break: break-all; }}
th {{ background: #eee; }}
table.fields th {{ width: 38%; }}
table.stamps {{ width: 60%; margin: 15mm 0 0 auto; }}
table.stamps td {{ height: 20mm; }}
tr {{ page-break-inside: avoid; }}
p.checkpoint {{ font-family: monospace; font-size: 11pt; word-break: break-all; border: 0.4mm solid #000; padding: 3mm; }}
ul.boxes li {{ margin: 2mm 0; }}
p.note {{ font-size: 8.5pt; }}
p.rehearsal {{ font-size: 13pt; font-weight: bold; text-align: center; border: 1mm solid #000; padding: 3mm; margin: 0 0 5mm; }}
</style>
</head>
<body>
{body}</body>
</html>
"#,
        lang = match lang {
            Lang::Ja => "ja",
            Lang::En => "en",
        },
        title = html::escape(&title(r, lang)),
    )
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
}
