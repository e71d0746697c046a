//! The report as Markdown: the annex's tables and the forms' filled lines,
//! for mail or a wiki. The printable forms are the HTML.

use super::annex::{checkpoint_text, sections};
use super::{besshi7, rehearsal_banner, MonthlyReport};
use crate::i18n::Lang;

fn cell(c: &str) -> String {
    c.replace('|', "\\|")
}

/// Markdown.
pub fn render_markdown(r: &MonthlyReport, lang: Lang) -> String {
    let t = |ja: &str, en: &str| lang.pick(ja, en).to_string();
    let mut out = format!(
        "# {}\n\n",
        match lang {
            Lang::Ja => format!("月次報告書 {} ({})", r.month_wareki, r.month),
            Lang::En => format!("Monthly report {}", r.month),
        }
    );
    if let Some(banner) = rehearsal_banner(r, lang) {
        out.push_str(&format!("> **{banner}**\n\n"));
    }
    let dash = || "-".to_string();
    for (k, v) in [
        (t("履行場所", "Site"), r.site.name.clone()),
        (
            t("受託者", "Contractor"),
            r.site.contractor.clone().unwrap_or_else(dash),
        ),
        (
            t("契約コード", "Contract code"),
            r.site.contract_code.clone().unwrap_or_else(dash),
        ),
        (t("作成日時", "Generated"), super::shown(&r.generated_at)),
    ] {
        out.push_str(&format!("- {k}: {v}\n"));
    }
    out.push_str(&format!(
        "- {}: {}\n- {}: {}\n\n",
        t("別添7 (4) 事件・事故の状況", "別添7 (4) incidents"),
        besshi7::incidents_line(r),
        t("別添7 (5) 情報資産の搬送", "別添7 (5) transport"),
        besshi7::transport_line(r),
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
                let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
                out.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
            out.push('\n');
        }
        if let Some(n) = &s.note {
            out.push_str(&format!("{n}\n\n"));
        }
    }
    let (title, checkpoint, note) = checkpoint_text(r, lang);
    out.push_str(&format!("## {title}\n\n**{checkpoint}**\n\n{note}\n"));
    out
}
