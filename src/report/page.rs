//! The printed report: one HTML document of A4 sheets — 別添3, 別添4 and
//! 別添7, each on exactly one sheet, then kura's annex — with the styles and
//! the small pieces the forms share.

use chrono::{Datelike, NaiveDate};

use super::{annex, besshi3, besshi4, besshi7, rehearsal_banner, MonthlyReport};
use crate::html::escape;
use crate::i18n::Lang;
use crate::wareki;

/// A ticked or empty box, as the sheet's □ is filled in by pen.
pub const TICKED: &str = "☑";
/// An empty box.
pub const EMPTY: &str = "☐";

/// A field's value, or a blank line for the pen when the policy has none.
pub fn field(value: Option<&str>) -> String {
    match value {
        Some(v) => escape(v),
        None => "<span class=\"blank\"></span>".into(),
    }
}

/// A date as the city's forms print it: 令和6年1月31日.
pub fn date(d: NaiveDate) -> String {
    wareki::format_ja(d)
}

/// A date with its day of the week: 令和6年1月31日 (水).
pub fn date_weekday(d: NaiveDate) -> String {
    const DAYS: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];
    format!(
        "{} ({})",
        wareki::format_ja(d),
        DAYS[d.weekday().num_days_from_monday() as usize]
    )
}

/// A date left for the pen, with the era printed: 令和　年　月　日.
pub fn blank_date(d: NaiveDate) -> String {
    let era = wareki::era_year(d).map(|(era, _, _)| era).unwrap_or("");
    format!("{era}　　年　　月　　日")
}

/// The rehearsal banner as a sheet prints it, or nothing.
pub fn banner(r: &MonthlyReport, lang: Lang) -> String {
    rehearsal_banner(r, lang)
        .map(|b| format!("<p class=\"rehearsal\">{}</p>\n", escape(&b)))
        .unwrap_or_default()
}

/// Stamp boxes (所長・係長・係, 課長・係長・係): a row of labelled squares.
pub fn stamps(labels: &[&str]) -> String {
    let mut head = String::new();
    let mut body = String::new();
    for l in labels {
        head.push_str(&format!("<th>{}</th>", escape(l)));
        body.push_str("<td></td>");
    }
    format!("<table class=\"stamps\"><tr>{head}</tr><tr>{body}</tr></table>\n")
}

pub const STYLE: &str = r#"
@page { size: A4; margin: 10mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "Yu Gothic", "Meiryo", "Noto Sans CJK JP", "Noto Sans JP", sans-serif; font-size: 9pt; color: #000; margin: 0; }
section.sheet { break-after: page; page-break-after: always; break-inside: avoid; }
section.annex { break-before: page; }
h1 { font-size: 14pt; text-align: center; margin: 1mm 0 2mm; letter-spacing: 0.2em; }
h2 { font-size: 10.5pt; margin: 4mm 0 1.5mm; border-bottom: 0.3mm solid #000; }
p { margin: 1.5mm 0; }
table { border-collapse: collapse; }
th, td { border: 0.25mm solid #000; padding: 0.6mm 1.5mm; vertical-align: middle; text-align: left; }
th { font-weight: normal; }
.tag { text-align: right; margin: 0; }
.right { text-align: right; }
.blank { display: inline-block; min-width: 45mm; border-bottom: 0.25mm solid #000; height: 1em; vertical-align: bottom; }
table.stamps { margin-left: auto; }
table.stamps th { width: 17mm; text-align: center; padding: 0.3mm; }
table.stamps td { height: 12mm; }
table.head { width: 100%; border: none; margin: 1mm 0 2mm; }
table.head td { border: none; padding: 0.4mm 0; }
table.sheet { width: 100%; font-size: 7.5pt; line-height: 1.2; }
table.sheet td, table.sheet th { padding: 0.2mm 1.2mm; height: 4.6mm; }
table.sheet th.group, table.sheet th.sub { text-align: center; font-size: 6.5pt; white-space: nowrap; padding: 0.2mm 0.6mm; }
td.box { width: 15mm; text-align: center; white-space: nowrap; font-size: 8pt; }
td.note { width: 36mm; font-size: 6.5pt; }
table.notes { width: 100%; margin-top: 2mm; }
table.notes td { height: 5.5mm; }
table.sign { margin: 2mm 0 0 auto; }
table.sign th { width: 9mm; text-align: center; }
table.sign td { width: 42mm; height: 11mm; }
.addr { margin-left: 95mm; }
.addr p { margin: 1mm 0; }
.ruled { border-top: 0.25mm dashed #000; margin-top: 6mm; padding-top: 2mm; }
ol.items { list-style: none; padding-left: 4mm; margin: 1mm 0; }
ol.items li { margin: 1.6mm 0; }
ol.items .sub { margin: 0.8mm 0 0 10mm; }
.lines div { border-bottom: 0.25mm solid #000; height: 7mm; }
table.data { width: 100%; font-size: 7.5pt; margin: 1mm 0 2mm; }
table.data th { background: #eee; }
table.data .nw { white-space: nowrap; }
table.data tr { break-inside: avoid; }
p.checkpoint { font-family: monospace; font-size: 9pt; overflow-wrap: anywhere; border: 0.4mm solid #000; padding: 2mm; }
p.note { font-size: 7.5pt; }
p.rehearsal { font-size: 8.5pt; font-weight: bold; text-align: center; border: 0.6mm solid #000; padding: 0.6mm; margin: 0 0 1mm; }
"#;

/// Printable A4 HTML: 別添3, 別添4, 別添7 (one sheet each), then the annex.
/// The forms are the city's and always Japanese; `lang` is the annex's.
pub fn render_html(r: &MonthlyReport, lang: Lang) -> String {
    let mut body = String::new();
    body.push_str(&besshi3::render(r));
    body.push_str(&besshi4::render(r));
    body.push_str(&besshi7::render(r));
    body.push_str(&annex::render(r, lang));
    let title = match lang {
        Lang::Ja => format!("月次報告書 {}", r.month_wareki),
        Lang::En => format!("Monthly report {}", r.month),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        lang.pick("ja", "en"),
        escape(&title),
    )
}
