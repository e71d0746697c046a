//! 別添7 個人情報取扱状況報告書: the month's statement of the safety
//! measures, line for line as the contract's form. The (4) incident and (5)
//! transport lines are filled from the audit log; the 変更なし・変更あり
//! boxes are the contractor's judgement and left for the pen.

use super::page::{banner, date, field, EMPTY};
use super::MonthlyReport;
use crate::html::escape;
use crate::i18n::Lang;
use crate::wareki;

/// The statement's items (1) to (8), the last with なし・あり.
const ITEMS: [&str; 8] = [
    "従業者の指定、教育及び監督",
    "管理区域の設定及び安全管理措置の実施",
    "セキュリティ強化のための管理策",
    "事件・事故における報告連絡体制",
    "情報資産の搬送及び持ち運ぶ際の保護体制",
    "関係法令の遵守",
    "定期監査の実施",
    "その他個人情報取扱安全管理基準適合申出書からの変更",
];

/// (4): the month's incidents as the log recorded them.
pub fn incidents_line(r: &MonthlyReport) -> String {
    use super::Kind;
    if r.incidents.is_empty() {
        return "なし (監査ログに記録なし)".into();
    }
    let count = |k: Kind| r.incidents.iter().filter(|l| l.kind == Some(k)).count();
    let parts: Vec<String> = [
        (Kind::Integrity, "完全性の指摘"),
        (Kind::Failure, "運用上の失敗"),
        (Kind::Interruption, "作業の中断"),
    ]
    .iter()
    .filter(|(k, _)| count(*k) > 0)
    .map(|(k, name)| format!("{name} {} 件", count(*k)))
    .collect();
    format!("{} (詳細は別紙 6 のとおり)", parts.join("、"))
}

/// (5): the month's hand-overs.
pub fn transport_line(r: &MonthlyReport) -> String {
    if r.handovers.is_empty() {
        return "なし".into();
    }
    let n = |a: &str| r.handovers.iter().filter(|l| l.action == a).count();
    let mut parts = Vec::new();
    for (action, name) in [
        ("handover.create", "引継ぎパッケージの作成"),
        ("handover.receive", "引継ぎパッケージの受領"),
        ("handover.verify", "引継ぎパッケージの検証"),
    ] {
        if n(action) > 0 {
            parts.push(format!("{name} {} 件", n(action)));
        }
    }
    format!(
        "{} (暗号化・署名済、詳細は別紙 5 のとおり)",
        parts.join("、")
    )
}

/// The sheet.
pub fn render(r: &MonthlyReport) -> String {
    let site = &r.site;
    let work = site
        .work_name
        .as_deref()
        .map(escape)
        .unwrap_or_else(|| escape(&format!("{}保守業務", site.system)));
    let first = chrono::NaiveDate::parse_from_str(&format!("{}-01", r.month), "%Y-%m-%d")
        .unwrap_or(r.generated_on);
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first);
    let mut items = String::new();
    for (i, text) in ITEMS.iter().enumerate() {
        let choice = if i == 7 {
            format!("({EMPTY} なし・{EMPTY} あり)")
        } else {
            format!("({EMPTY} 変更なし・{EMPTY} 変更あり)")
        };
        items.push_str(&format!("<li>({}) {text}　{choice}", i + 1));
        if i == 3 {
            items.push_str(&format!(
                "<div class=\"sub\">（発生した場合）事件・事故の状況：{}</div>",
                escape(&incidents_line(r))
            ));
        }
        if i == 4 {
            items.push_str(&format!(
                "<div class=\"sub\">（実績ある場合）概要：{}</div>",
                escape(&transport_line(r))
            ));
        }
        items.push_str("</li>\n");
    }
    format!(
        "<section class=\"sheet besshi7\">\n{banner}<p class=\"tag\">【別添7】</p>\n<h1>個人情報取扱状況報告書</h1>\n\
<p class=\"right\">{today}</p>\n<p>{addressee}　様</p>\n\
<div class=\"addr\"><p>住　　所　{address}</p><p>会 社 名　{contractor}</p><p>代表者名　{representative}</p></div>\n\
<p style=\"margin-top:5mm\">個人情報取扱安全管理基準及び個人情報の取扱いに関する特記事項に基づき実施している安全管理対策の実施状況について下記のとおり報告いたします。</p>\n\
<p style=\"text-align:center\">記</p>\n\
<table class=\"head\"><tr><td style=\"width:25mm\">受託業務名</td><td>{work}</td></tr>\n\
<tr><td>受託期間</td><td>{start} ～ {end}</td></tr>\n\
<tr><td>対象期間</td><td>{from} ～ {to}</td></tr></table>\n\
<p>安全管理対策の実施状況</p>\n\
<p>1　当該業務において、標記の基準及び特記事項に従い、安全管理対策を適切に実施しています。また、個人情報取扱安全管理基準適合申出書の提出時点からの変更有無等について、以下のとおり報告いたします。</p>\n\
<ol class=\"items\">\n{items}</ol>\n\
<p>2　その他特記事項等</p>\n<div class=\"lines\"><div></div><div></div><div></div></div>\n\
<p class=\"note\">(4)(5) は kura の監査ログから記入しています (当月の記録 {events} 件、最終記録の番号 {checkpoint})。</p>\n\
</section>\n",
        banner = banner(r, Lang::Ja),
        today = date(r.generated_on),
        addressee = field(site.addressee.as_deref()),
        address = field(site.address.as_deref()),
        contractor = field(site.contractor.as_deref()),
        representative = field(site.representative.as_deref()),
        start = wareki::format_ja(site.contract_start),
        end = wareki::format_ja(site.contract_end),
        from = wareki::format_ja(first),
        to = wareki::format_ja(last),
        events = r.events,
        checkpoint = r
            .checkpoint
            .as_deref()
            .and_then(|c| c.split(':').next())
            .unwrap_or("なし"),
    )
}
