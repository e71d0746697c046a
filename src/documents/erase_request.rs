//! The written request of 第13条第2項 (消去依頼書): before anything is erased,
//! the contractor applies to the city in writing with the items (項目), the
//! media (媒体名), the quantity (数量), the method (方法) and the planned date
//! (処理予定日), and the city approves. `kura erase form` prints it from the
//! request as the audit chain records it, on one A4 sheet for up to fifty
//! items, with the boxes the 業務主任 fills in: approve or not, a witness
//! wanted or not, the date, the name and the seal.

use serde::Serialize;

use super::sheet::{self, Group};
use crate::audit::AuditLog;
use crate::erasure::{self, EventRef, Item};
use crate::error::{Error, Result};
use crate::html::escape;
use crate::i18n::{self, Lang};
use crate::policy::Policy;
use crate::report::page::{blank_date, stamps, EMPTY};

/// The format tag of the JSON request form.
pub const FORMAT: &str = "kura-erasure-request/1";

/// The request as the form prints it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestForm {
    /// Always [`FORMAT`].
    pub format: String,
    /// The request id.
    pub id: String,
    /// 履行場所, system, contractor and the city's addressee.
    pub site: serde_json::Value,
    /// Who asked.
    pub requested_by: String,
    /// When (RFC 3339).
    pub requested_at: String,
    /// `overwrite`, `crypto-erase` or `destroy`.
    pub method: String,
    /// The planned date, `YYYY-MM-DD`.
    pub planned: String,
    /// Why.
    pub reason: String,
    /// Items and bytes.
    pub quantity: serde_json::Value,
    /// The media the items are on (`details.media` of the request).
    pub media: serde_json::Value,
    /// Every item.
    pub items: Vec<Item>,
    /// The hash an approver's signature covers.
    pub request_sha256: String,
    /// The request's state when the form was made.
    pub status: String,
    /// The `erase.request` event.
    pub audit: Option<EventRef>,
    /// The request as loaded, for rendering.
    #[serde(skip)]
    request: erasure::Request,
}

/// Refuses (exit 1) to make a paper from a broken chain.
pub(super) fn verified(log: &AuditLog) -> Result<()> {
    let chain = log.verify(&[])?;
    match &chain.first_bad {
        Some(bad) => Err(Error::Integrity {
            path: log.path().to_path_buf(),
            detail: format!(
                "the audit chain is broken at event {} ({}); no erasure paper is made from it",
                bad.seq, bad.detail
            ),
        }),
        None => Ok(()),
    }
}

/// Builds the form of request `id` from the audit chain.
pub fn build(log: &AuditLog, policy: &Policy, id: &str) -> Result<RequestForm> {
    verified(log)?;
    let entry = erasure::load(log, id)?;
    let req = entry.request;
    Ok(RequestForm {
        format: FORMAT.into(),
        id: req.id.clone(),
        site: serde_json::json!({
            "name": policy.site.name,
            "system": policy.site.system,
            "contractor": policy.site.contractor,
            "contract_code": policy.site.contract_code,
            "addressee": policy.site.addressee,
            "work_name": policy.site.work_name,
        }),
        requested_by: req.requested_by.clone(),
        requested_at: req.created_at.clone(),
        method: req.method.clone(),
        planned: req.planned.clone(),
        reason: req.reason.clone(),
        quantity: serde_json::json!({ "items": req.items.len(), "bytes": req.bytes() }),
        media: req
            .details
            .get("media")
            .cloned()
            .unwrap_or(serde_json::json!([])),
        items: req.items.clone(),
        request_sha256: req.request_sha256.clone(),
        status: req.status.clone(),
        audit: entry.events.request,
        request: req,
    })
}

/// The numbered fields of the form (第13条第2項's five, then reason,
/// requester and the hash the approval covers).
fn fields(f: &RequestForm, policy: &Policy, groups: &[Group], lang: Lang) -> Vec<(String, String)> {
    let t = |ja: &str, en: &str| lang.pick(ja, en).to_string();
    let count = |n: usize| sheet::count(n, lang);
    let sep = lang.pick("・", ", ");
    // Snapshots in one line (which, taken when, what they hold), then each
    // group of files or media.
    let (mut taken, mut held, mut copies) = (Vec::<String>::new(), Vec::<String>::new(), 0);
    let mut items = Vec::new();
    for g in groups {
        let first = g.items[0];
        if first.kind != "snapshot" {
            items.push(format!("{}: {}", g.title, count(g.items.len())));
            continue;
        }
        let day = sheet::taken_on(&first.target, lang).unwrap_or_else(|| first.target.clone());
        if !taken.contains(&day) {
            taken.push(day);
        }
        for what in sheet::contents(policy, g, lang) {
            if !held.contains(&what) {
                held.push(what);
            }
        }
        copies += g.items.len();
    }
    if copies > 0 {
        items.insert(
            0,
            match lang {
                Lang::Ja => format!(
                    "スナップショット {} 回分 ({} 取得) の全ファイル — {}: {}",
                    taken.len(),
                    taken.join(sep),
                    held.join(sep),
                    count(copies)
                ),
                Lang::En => format!(
                    "every file of {} snapshot(s) (taken {}): {}: {}",
                    taken.len(),
                    taken.join(sep),
                    held.join(sep),
                    count(copies)
                ),
            },
        );
    }
    let media = sheet::media_counts(groups)
        .iter()
        .map(|(m, n)| format!("{m}: {}", count(*n)))
        .collect::<Vec<_>>();
    let technique = match (f.method.as_str(), lang) {
        ("overwrite", Lang::Ja) => "各ファイルの全バイトをゼロで上書きし、読み戻して確認したうえで削除する",
        ("overwrite", Lang::En) => "every byte of each file overwritten with zeros, read back, then removed",
        ("crypto-erase", Lang::Ja) => "暗号化に用いた秘密鍵の全複製を上書き消去し、スナップショットを復号できなくする",
        ("crypto-erase", Lang::En) => "every copy of the identity the data is encrypted to overwritten and removed, so no snapshot it opens can be decrypted",
        (_, Lang::Ja) => "記録媒体を物理的に破壊する (立会いのもとで実施)",
        (_, Lang::En) => "the medium physically destroyed (in the presence of a witness)",
    };
    vec![
        (t("項目", "Items"), items.join("\n")),
        (t("媒体名", "Media"), media.join("\n")),
        (t("数量", "Quantity"), sheet::quantity(&f.request, lang)),
        (
            t("方法", "Method"),
            format!(
                "{} ({}): {technique}",
                i18n::method_label(&f.method, lang),
                i18n::nist_label(&f.method, lang)
            ),
        ),
        (
            t("処理予定日", "Planned date"),
            sheet::day(&f.planned, lang),
        ),
        (t("理由", "Reason"), f.reason.clone()),
        (
            t("依頼者", "Requested by"),
            format!(
                "{} ({} {})",
                f.requested_by,
                t("依頼日時", "on"),
                sheet::when(&f.requested_at, lang)
            ),
        ),
    ]
}

fn request_day(f: &RequestForm) -> chrono::NaiveDate {
    chrono::DateTime::parse_from_rfc3339(&f.requested_at)
        .map(|t| t.with_timezone(&chrono::Local).date_naive())
        .unwrap_or_else(|_| chrono::Local::now().date_naive())
}

/// Printable A4 HTML: one sheet for up to fifty items.
pub fn render_html(f: &RequestForm, policy: &Policy, lang: Lang) -> String {
    let groups = sheet::groups(&f.request, lang);
    let title = lang.pick(
        "個人情報の消去申請書 (消去依頼書)",
        "Application for the erasure of personal data",
    );
    let work = policy.site.work_name.clone().unwrap_or_else(|| {
        format!(
            "{}{}",
            policy.site.system,
            lang.pick("保守業務", " maintenance")
        )
    });
    let mut body = sheet::letterhead(&policy.site, &f.id, request_day(f), lang);
    body.push_str(&format!("<h1>{}</h1>\n", escape(title)));
    body.push_str(&match lang {
        Lang::Ja => format!(
            "<p>{}において利用する個人情報について、個人情報の取扱いに関する特記事項第13条第2項に基づき、下記のとおり消去を申請しますので、承諾くださいますようお願いいたします。</p>\n<p class=\"center\">記</p>\n",
            escape(&work)
        ),
        Lang::En => format!(
            "<p>Under article 13(2) of the special provisions on personal data, we apply for your approval to erase the following personal data used in {}.</p>\n",
            escape(&work)
        ),
    });
    body.push_str("<table class=\"fields\">\n");
    for (n, (label, value)) in fields(f, policy, &groups, lang).iter().enumerate() {
        body.push_str(&format!(
            "<tr><th>{} {}</th><td>{}</td></tr>\n",
            n + 1,
            escape(label),
            escape(value).replace('\n', "<br>")
        ));
    }
    body.push_str(&format!(
        "<tr><th>{}</th><td class=\"mono\">{} / {}</td></tr>\n</table>\n",
        escape(lang.pick("照合用ハッシュ", "Request hash")),
        escape(&f.id),
        escape(&f.request_sha256)
    ));
    body.push_str(&format!(
        "<p><b>{}</b></p>\n<div class=\"list\">\n",
        escape(lang.pick("消去対象の明細", "The items"))
    ));
    for g in &groups {
        let dir = g
            .dir
            .as_deref()
            .map(|d| format!("<br><span class=\"dir\">{}</span>", escape(d)))
            .unwrap_or_default();
        body.push_str(&format!(
            "<p class=\"group\">{}{dir}</p>\n",
            escape(&g.title)
        ));
        for item in &g.items {
            body.push_str(&format!(
                "<div class=\"item\"><span class=\"n\">{}</span><span class=\"name\">{}</span><span class=\"size\">{}</span></div>\n",
                item.n,
                escape(&g.name(item)),
                item.size.map(|s| i18n::size(s, lang)).unwrap_or_default()
            ));
        }
    }
    body.push_str("</div>\n");
    body.push_str(&approval(f, lang));
    sheet::page(&format!("{title} {}", f.id), lang, &body)
}

/// The city's part: approval, witness, date, the 業務主任's name and seal.
fn approval(f: &RequestForm, lang: Lang) -> String {
    let today = request_day(f);
    match lang {
        Lang::Ja => format!(
            "<div class=\"ruled\"><p>(以下、札幌市記入欄)</p>\n<div class=\"city\">\
<table class=\"approval\">\
<tr><th>承諾</th><td>{EMPTY} 承諾する　　{EMPTY} 承諾しない (理由:　　　　　　　　　　　　　　　　　　　)</td></tr>\
<tr><th>立会い</th><td>{EMPTY} 求める　　{EMPTY} 求めない</td></tr>\
<tr><th>承諾日</th><td>{}</td></tr>\
<tr><th>業務主任</th><td>氏名　　　　　　　　　　　　　　　　　　　印</td></tr>\
</table>\n{}</div></div>\n",
            blank_date(today),
            stamps(&["課長", "係長", "係"]),
        ),
        Lang::En => format!(
            "<div class=\"ruled\"><p>(For the city)</p>\n\
<table class=\"approval\">\
<tr><th>Decision</th><td>{EMPTY} approved　　{EMPTY} not approved (reason:　　　　　　　　　　　　　)</td></tr>\
<tr><th>Witness</th><td>{EMPTY} wanted　　{EMPTY} not wanted</td></tr>\
<tr><th>Date</th><td></td></tr>\
<tr><th>Approver</th><td>Name　　　　　　　　　　　　　　　　　　(seal)</td></tr>\
</table>\n<p class=\"note\">{}</p></div>\n",
            escape(&f.id),
        ),
    }
}

/// Markdown, for mail and for the record.
pub fn render_markdown(f: &RequestForm, policy: &Policy, lang: Lang) -> String {
    let groups = sheet::groups(&f.request, lang);
    let mut out = format!(
        "# {}\n\n{} {}\n\n",
        lang.pick(
            "個人情報の消去申請書 (消去依頼書)",
            "Application for the erasure of personal data"
        ),
        lang.pick("依頼番号", "Request"),
        f.id
    );
    for (n, (label, value)) in fields(f, policy, &groups, lang).iter().enumerate() {
        out.push_str(&format!(
            "{}. **{label}**: {}\n",
            n + 1,
            value.replace('\n', "; ")
        ));
    }
    out.push_str(&format!(
        "\n{}: `{}`\n\n## {}\n\n",
        lang.pick("照合用ハッシュ", "Request hash"),
        f.request_sha256,
        lang.pick("消去対象の明細", "The items")
    ));
    for g in &groups {
        out.push_str(&format!("### {}\n\n", g.title));
        if let Some(dir) = &g.dir {
            out.push_str(&format!("{dir}\n\n"));
        }
        for item in &g.items {
            out.push_str(&format!(
                "- {} {} {}\n",
                item.n,
                g.name(item),
                item.size.map(|s| i18n::size(s, lang)).unwrap_or_default()
            ));
        }
        out.push('\n');
    }
    out.push_str(lang.pick(
        "承諾: □ 承諾する □ 承諾しない　立会い: □ 求める □ 求めない　承諾日:　　業務主任:　　　　印\n",
        "Decision: □ approved □ not approved   Witness: □ wanted □ not wanted   Date:   Approver:   (seal)\n",
    ));
    out
}
