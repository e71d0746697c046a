//! The annex (別紙): kura's evidence behind the forms — the inspection
//! items in full, the month's snapshots, accesses to decrypted data,
//! erasures with their certificate numbers, hand-overs, incidents, a
//! person's mistakes, and the checkpoint for the paper record. Compact
//! tables that flow across sheets; no sheet breaks inside.

use super::{Line, MonthlyReport};
use crate::html::escape;
use crate::i18n::{action_label, outcome_label, size, Lang};

/// A titled table of the annex.
pub struct Section {
    /// `1. 点検項目の詳細`.
    pub title: String,
    /// Column heads.
    pub head: Vec<String>,
    /// Rows of cells (plain text).
    pub rows: Vec<Vec<String>>,
    /// Said when there are no rows.
    pub empty: String,
    /// A line below the table.
    pub note: Option<String>,
}

fn event_rows(r: &MonthlyReport, lines: &[Line], lang: Lang, reason: bool) -> Vec<Vec<String>> {
    lines
        .iter()
        .map(|l| {
            vec![
                super::shown(&l.time),
                l.operator.clone(),
                action_label(&l.action, lang),
                r.target_text(&l.action, &l.target, lang),
                match (reason, l.kind) {
                    (true, Some(k)) => k.reason(lang).to_string(),
                    _ => outcome_label(&l.outcome, lang),
                },
                l.seq.to_string(),
            ]
        })
        .collect()
}

/// The annex's sections, in the order the forms refer to them (別紙 1–8).
pub fn sections(r: &MonthlyReport, lang: Lang) -> Vec<Section> {
    let t = |ja: &str, en: &str| lang.pick(ja, en).to_string();
    let head = |last: (&str, &str)| {
        vec![
            t("日時", "Time"),
            t("作業者", "Operator"),
            t("操作", "Action"),
            t("対象", "Target"),
            t(last.0, last.1),
            t("記録番号", "Seq"),
        ]
    };
    let none = t("該当なし", "none");
    let events = |title: String, lines: &[Line], reason: bool, note: Option<String>| Section {
        title,
        head: head(if reason {
            ("内容", "Reason")
        } else {
            ("結果", "Outcome")
        }),
        rows: event_rows(r, lines, lang, reason),
        empty: none.clone(),
        note,
    };
    let mut out = vec![
        Section {
            title: t("1. 点検項目の詳細 (別添3)", "1. Inspection items (別添3)"),
            head: vec![t("項目", "Item"), t("結果", "Result"), t("確認内容", "Detail")],
            rows: r
                .check
                .items
                .iter()
                .map(|i| vec![i.label.clone(), outcome_label(i.status, lang), i.detail.clone()])
                .collect(),
            empty: none.clone(),
            note: Some(t(
                &format!("報告書作成時点 ({}) の状態です。", super::shown(&r.generated_at)),
                &format!("As of the report ({}).", super::shown(&r.generated_at)),
            )),
        },
        Section {
            title: t("2. 当月のバックアップ取得", "2. Snapshots taken this month"),
            head: vec![
                t("日時", "Time"),
                t("スナップショット", "Snapshot"),
                t("作業者", "Operator"),
                t("内容", "Archives"),
                t("データ量", "Size"),
                t("保存先", "Destinations"),
            ],
            rows: r
                .snapshots
                .iter()
                .map(|s| {
                    let labels = |names: &[String]| {
                        names
                            .iter()
                            .map(|n| r.label(n).to_string())
                            .collect::<Vec<_>>()
                            .join(lang.pick("、", ", "))
                    };
                    vec![
                        super::shown(&s.time),
                        s.id.clone(),
                        s.operator.clone(),
                        labels(&s.archives),
                        size(s.bytes, lang),
                        labels(&s.destinations),
                    ]
                })
                .collect(),
            empty: t("当月のバックアップはありません", "no snapshot this month"),
            note: None,
        },
        events(
            t(
                "3. 復元検証・復号を伴う利用 (アクセス記録)",
                "3. Restore verification and accesses to decrypted data",
            ),
            &r.accesses,
            false,
            Some(t(
                &format!("うち全件復号検証 (正常終了) {} 件", r.verifications.len()),
                &format!("of which successful full verifications: {}", r.verifications.len()),
            )),
        ),
        events(
            t("4. データ消去 (対象欄は消去証明書番号)", "4. Erasures (target = certificate number)"),
            &r.erasures,
            false,
            None,
        ),
        events(
            t("5. 情報資産の搬送 (引継ぎ)", "5. Transport of information assets (hand-overs)"),
            &r.handovers,
            false,
            None,
        ),
        events(
            t(
                "6. 事件・事故・異常 (完全性の指摘・運用上の失敗・中断)",
                "6. Incidents (integrity findings, failures, interruptions)",
            ),
            &r.incidents,
            true,
            None,
        ),
        events(
            t(
                "7. 操作ミス (入力の誤り・登録外の作業者・鍵の誤り・規則による拒否)",
                "7. Operating mistakes (typos, unlisted names, wrong keys, refusals)",
            ),
            &r.mistakes,
            true,
            Some(t(
                "操作ミスは記録のみで、個人情報の事件・事故には当たりません (別添7 (4) に計上しません)。",
                "Recorded only; not incidents (not counted in 別添7 (4)).",
            )),
        ),
    ];
    // Key changes are rare: the section is there only in a month with one,
    // so the usual annex stays on one sheet.
    if !r.key_changes.is_empty() {
        out.push(events(
            t(
                "8. 鍵の変更 (署名鍵の更新・暗号化の受信者の変更)",
                "8. Key changes (signing key rotations, recipient changes)",
            ),
            &r.key_changes,
            false,
            None,
        ));
    }
    out
}

/// The checkpoint paragraph's words.
pub fn checkpoint_text(r: &MonthlyReport, lang: Lang) -> (String, String, String) {
    let t = |ja: &str, en: &str| lang.pick(ja, en).to_string();
    (
        {
            let n = if r.key_changes.is_empty() { 8 } else { 9 };
            match lang {
                Lang::Ja => format!("{n}. 監査ログのチェックポイント"),
                Lang::En => format!("{n}. Audit checkpoint"),
            }
        },
        r.checkpoint
            .clone()
            .unwrap_or_else(|| t("当月の記録なし", "no event this month")),
        t(
            &format!("当月の記録 {} 件の最後の記録 (記録番号:ハッシュ値)。この値を紙の報告書に残し、監査時に kura audit verify --checkpoint で照合します。", r.events),
            &format!("The last of this month's {} events (SEQ:HASH). Keep it on the paper report; an auditor checks it with kura audit verify --checkpoint.", r.events),
        ),
    )
}

/// The annex as HTML.
pub fn render(r: &MonthlyReport, lang: Lang) -> String {
    let mut out = format!(
        "<section class=\"annex\">\n{}<h1>{}</h1>\n",
        super::page::banner(r, lang),
        escape(&match lang {
            Lang::Ja => format!("別紙　kura 作業記録 ({})", r.month_wareki),
            Lang::En => format!("Annex: kura's records for {}", r.month),
        })
    );
    for s in sections(r, lang) {
        out.push_str(&format!("<h2>{}</h2>\n", escape(&s.title)));
        if s.rows.is_empty() {
            out.push_str(&format!("<p>{}</p>\n", escape(&s.empty)));
        } else {
            out.push_str("<table class=\"data\"><thead><tr>");
            for h in &s.head {
                out.push_str(&format!("<th class=\"nw\">{}</th>", escape(h)));
            }
            out.push_str("</tr></thead><tbody>\n");
            for row in &s.rows {
                out.push_str("<tr>");
                for c in row {
                    // Short cells (a time, a status, a size) never wrap.
                    let class = if c.chars().count() <= 16 {
                        " class=\"nw\""
                    } else {
                        ""
                    };
                    out.push_str(&format!("<td{class}>{}</td>", escape(c)));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody></table>\n");
        }
        if let Some(n) = &s.note {
            out.push_str(&format!("<p class=\"note\">{}</p>\n", escape(n)));
        }
    }
    let (title, checkpoint, note) = checkpoint_text(r, lang);
    out.push_str(&format!(
        "<h2>{}</h2>\n<p class=\"checkpoint\">{}</p>\n<p class=\"note\">{}</p>\n</section>\n",
        escape(&title),
        escape(&checkpoint),
        escape(&note)
    ));
    out
}
