//! The certificate of erasure (消去証明書), which is also the post-deletion
//! report of 第13条5: who erased what, how, verified how, approved by whom,
//! witnessed by whom, with the size and SHA-256 of every item and the audit
//! event of the execution. Its fields follow NIST SP 800-88 Rev. 1 Appendix G
//! (Certificate of Sanitization) where they apply. Rendered as JSON, Markdown
//! and printable A4 HTML, in Japanese (default) or English, dates in 和暦 and
//! Gregorian.

use serde::Serialize;

use super::sheet::{self, Group};
use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::erasure::{self, item_status, request_status, Entry, EventRef, Item, Method, Request};
use crate::error::{Error, Result};
use crate::html;
use crate::html::escape;
use crate::i18n::{self, Lang};
use crate::policy::Policy;

/// The format tag of the JSON certificate.
pub const FORMAT: &str = "kura-erasure-certificate/1";

/// The certificate.
#[derive(Debug, Clone, Serialize)]
pub struct Certificate {
    /// Always [`FORMAT`].
    pub format: String,
    /// The request id (also the certificate's number).
    pub id: String,
    /// 履行場所 and system.
    pub site: serde_json::Value,
    /// The person who performed the sanitization (App. G "Person Performing Sanitization").
    pub performed_by: serde_json::Value,
    /// The request (第13条: items, medium, quantity, method, planned date).
    pub request: serde_json::Value,
    /// Approval (or rejection) reference.
    pub approval: serde_json::Value,
    /// The witness (App. G "Validation").
    pub witness: Option<String>,
    /// Media identity (App. G "Media Information").
    pub media: serde_json::Value,
    /// Method type and technique, tool, verification (App. G "Sanitization Details").
    pub sanitization: serde_json::Value,
    /// For crypto-erase: recipients of the destroyed identity and the snapshots it alone could open.
    pub crypto_erase: Option<serde_json::Value>,
    /// Every item with its size, SHA-256 and outcome.
    pub items: Vec<Item>,
    /// The execution and its audit event.
    pub execution: serde_json::Value,
    /// Whether every item is erased (or recorded).
    pub complete: bool,
    /// Items that are integrity findings (missing, changed, linked, replaced).
    pub findings: usize,
    /// Items not erased yet (pending or failed).
    pub outstanding: usize,
    /// Whether any step was recorded under `KURA_NOW` (a rehearsal), and the
    /// real time the certificate was made.
    pub clock: serde_json::Value,
    /// The request as loaded, for rendering (grouping items by medium).
    #[serde(skip)]
    loaded: Request,
}

/// Builds the certificate of an executed (or partially executed) request,
/// from the audit chain; refuses (exit 1) when the chain is broken or the
/// erasure tables disagree with it.
pub fn build(log: &AuditLog, policy: &Policy, clock: &Clock, id: &str) -> Result<Certificate> {
    super::erase_request::verified(log)?;
    let Entry {
        request: req,
        events,
    } = erasure::load(log, id)?;
    let started = matches!(
        req.status.as_str(),
        request_status::EXECUTED | request_status::PARTIAL | request_status::INCOMPLETE
    );
    if !started {
        return Err(Error::refused(
            format!(
                "消去依頼 {id} は{}です: 消去証明書は実施後に発行します",
                crate::i18n::request_status_label(&req.status, Lang::Ja)
            ),
            format!(
                "request {id} is {}: a certificate is issued after execution",
                req.status
            ),
        ));
    }
    let method = Method::parse(&req.method).unwrap_or(Method::Overwrite);
    let technique = match method {
        Method::Overwrite => "single pass of zeros over every byte in place, fsync, read-back of every byte, unlink, directory fsync, absence confirmed",
        Method::CryptoErase => "every listed copy of the age identity overwritten with zeros in place, fsync, read-back, unlink, absence confirmed; data encrypted only to it can no longer be decrypted",
        Method::Destroy => "physical destruction of the medium, recorded on the operator's word in the presence of the witness",
    };
    let erased = || req.items.iter().filter(|i| i.status == item_status::ERASED);
    let readback = if erased().all(|i| i.readback.as_deref() == Some("device")) {
        "device"
    } else if erased().all(|i| i.readback.as_deref() != Some("device")) {
        "cache"
    } else {
        "mixed"
    };
    let verification = match (method, readback) {
        (Method::Destroy, _) => "witnessed",
        (_, "device") => "before: each file's identity, size and SHA-256 equal to those recorded at request time; after: fsync, the file's cached pages dropped (posix_fadvise DONTNEED), every overwritten byte read back from the device as zero; absence of every file confirmed",
        (_, "cache") => "before: each file's identity, size and SHA-256 equal to those recorded at request time; after: fsync, every overwritten byte read back as zero through the operating system's cache (this platform gives no way to drop it, so the device itself was not read back); absence of every file confirmed",
        _ => "before: each file's identity, size and SHA-256 equal to those recorded at request time; after: fsync, every overwritten byte read back as zero, from the device for the items whose readback is \"device\", through the operating system's cache for the others; absence of every file confirmed",
    };
    let complete = req.status == request_status::EXECUTED;
    let findings = req.findings().count();
    let outstanding = req
        .items
        .iter()
        .filter(|i| !item_status::is_done(&i.status) && !item_status::is_finding(&i.status))
        .count();
    let real = |r: &Option<EventRef>| r.as_ref().map(|e| e.real_time.clone());
    Ok(Certificate {
        format: FORMAT.to_string(),
        id: req.id.clone(),
        site: serde_json::json!({
            "name": policy.site.name,
            "system": policy.site.system,
            "contract_code": policy.site.contract_code,
        }),
        performed_by: serde_json::json!({
            "name": req.executed_by,
            "organization": policy.site.contractor,
            "location": policy.site.name,
        }),
        request: serde_json::json!({
            "id": req.id,
            "requested_by": req.requested_by,
            "requested_at": req.created_at,
            "reason": req.reason,
            "planned": req.planned,
            "method": req.method,
            "quantity": { "items": req.items.len(), "bytes": req.bytes() },
            "snapshots": req.snapshots(),
            "request_sha256": req.request_sha256,
            "audit": events.request,
        }),
        approval: serde_json::json!({
            "approved_by": req.approved_by,
            "approved_at": req.approved_at,
            "key_id": req.approval_key_id,
            "signed": events.approval_signature.is_some(),
            "audit": events.approval,
        }),
        witness: req.witness.clone(),
        media: req
            .details
            .get("media")
            .cloned()
            .unwrap_or(serde_json::json!([])),
        sanitization: serde_json::json!({
            "method_type": method.nist_type(),
            "technique": technique,
            "tool": { "name": crate::TOOL_NAME, "version": crate::TOOL_VERSION },
            "verification": verification,
            "readback": readback,
            "standard": "NIST SP 800-88 Rev. 1 (Appendix G fields)",
            "note": match method {
                Method::Overwrite => format!("Clear of the files on {}. Overwriting in place does not reach remapped sectors, SSD spare areas or copy-on-write snapshots.", media_names(&req, Lang::En).join(", ")),
                Method::CryptoErase => "Valid only if every copy of the identity was listed in the request.".into(),
                Method::Destroy => String::new(),
            },
        }),
        crypto_erase: req.details.get("crypto_erase").cloned(),
        items: req.items.clone(),
        execution: serde_json::json!({
            "executed_by": req.executed_by,
            "executed_at": req.executed_at,
            "executed_at_real": real(&events.execution),
            "status": req.status,
            "audit": events.execution,
        }),
        complete,
        findings,
        outstanding,
        clock: serde_json::json!({
            "overridden": events.clock_overridden || clock.is_overridden(),
            "issued_at": clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "issued_at_real": clock.real_now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }),
        loaded: req,
    })
}

/// The names of the media the items were on, in first-seen order.
fn media_names(req: &Request, lang: Lang) -> Vec<String> {
    sheet::media_counts(&sheet::groups(req, lang))
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// The day the certificate was issued (kura's clock, local date).
fn issued_on(c: &Certificate) -> chrono::NaiveDate {
    c.clock["issued_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Local).date_naive())
        .unwrap_or_else(|| chrono::Local::now().date_naive())
}

/// The rows of the certificate as (label, value) pairs, in order.
fn rows(c: &Certificate, req: &Request, lang: Lang) -> Vec<(&'static str, String)> {
    let t = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    let audit = |v: &serde_json::Value| match (v.get("seq"), v.get("hash")) {
        (Some(s), Some(h)) => format!("{}:{}", html::value_text(s), html::value_text(h)),
        _ => "-".into(),
    };
    let when_of = |v: &serde_json::Value| {
        v.as_str()
            .map(|s| sheet::when(s, lang))
            .unwrap_or("-".into())
    };
    let text = |v: &serde_json::Value| html::value_text(v);
    let method = c.request["method"].as_str().unwrap_or("");
    let executed = when_of(&c.execution["executed_at"]);
    let executed_real = when_of(&c.execution["executed_at_real"]);
    let media = sheet::media_counts(&sheet::groups(req, lang));
    let count = |n: usize| sheet::count(n, lang);
    vec![
        (
            t("依頼", "Request"),
            format!(
                "{} ({} {})",
                text(&c.request["requested_by"]),
                t("依頼日時", "on"),
                when_of(&c.request["requested_at"])
            ),
        ),
        (
            t("理由・予定日", "Reason, planned"),
            format!(
                "{} ({} {})",
                text(&c.request["reason"]),
                t("処理予定日", "planned"),
                c.request["planned"]
                    .as_str()
                    .map(|d| sheet::day(d, lang))
                    .unwrap_or("-".into())
            ),
        ),
        (
            t("承諾", "Approval"),
            format!(
                "{} ({} {}、{})",
                text(&c.approval["approved_by"]),
                t("承諾日時", "on"),
                when_of(&c.approval["approved_at"]),
                match c.approval["key_id"].as_str() {
                    Some(k) => format!("{} minisign {k}", t("署名の鍵", "signed with key")),
                    None => t("署名なし", "unsigned").to_string(),
                }
            )
            .replace('、', lang.pick("、", ", ")),
        ),
        (
            t("消去実施者", "Performed by"),
            match c.performed_by["organization"].as_str() {
                Some(o) => format!("{} ({o})", text(&c.performed_by["name"])),
                None => text(&c.performed_by["name"]),
            },
        ),
        (
            t("立会者", "Witness"),
            c.witness.clone().unwrap_or(t("なし", "none").into()),
        ),
        (
            t("実施日時", "Executed at"),
            if executed == executed_real {
                executed
            } else {
                format!("{executed} ({} {executed_real})", t("実時刻", "real time"))
            },
        ),
        (
            t("記録媒体", "Media"),
            media
                .iter()
                .map(|(m, n)| format!("{m}: {}", count(*n)))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        (t("数量", "Quantity"), sheet::quantity(req, lang)),
        (
            t("方法", "Method"),
            format!(
                "{} ({})",
                i18n::method_label(method, lang),
                i18n::nist_label(method, lang)
            ),
        ),
        (t("消去方法", "Technique"), localized(c, lang, "technique")),
        (
            t("検証方法", "Verification"),
            localized(c, lang, "verification"),
        ),
        (
            t("使用ツール", "Tool"),
            format!(
                "{} {}",
                text(&c.sanitization["tool"]["name"]),
                text(&c.sanitization["tool"]["version"])
            ),
        ),
        (t("結果", "Result"), result_text(c, lang)),
        (t("備考", "Note"), note(c, req, lang)),
        (
            t("監査記録", "Audit events"),
            format!(
                "{} {}　{} {}",
                t("承諾", "approval"),
                audit(&c.approval["audit"]),
                t("実施", "execution"),
                audit(&c.execution["audit"])
            ),
        ),
    ]
}

/// The rehearsal notice, when the clock was replaced for any step.
fn rehearsal_notice(c: &Certificate, lang: Lang) -> Option<String> {
    if c.clock["overridden"] != true {
        return None;
    }
    let real = sheet::when(c.clock["issued_at_real"].as_str().unwrap_or(""), lang);
    Some(match lang {
        Lang::Ja => format!("リハーサル: この証明書の記録には KURA_NOW で置き換えた時計が使われています (発行の実時刻 {real})。本番の消去証明書としては使えません。"),
        Lang::En => format!("Rehearsal: the clock was replaced by KURA_NOW for this record (issued at real time {real}). Not valid as a certificate."),
    })
}

/// The verdict: all erased only when every item is; otherwise exactly what
/// is not.
fn result_text(c: &Certificate, lang: Lang) -> String {
    if c.complete {
        return lang.pick("全件消去済", "all items erased").to_string();
    }
    let mut parts = Vec::new();
    if c.findings > 0 {
        parts.push(match lang {
            Lang::Ja => format!(
                "{} 件は依頼時の状態と異なるため消去していません (完全性の指摘)",
                c.findings
            ),
            Lang::En => format!(
                "{} item(s) not erased: not what was requested (integrity finding)",
                c.findings
            ),
        });
    }
    if c.outstanding > 0 {
        parts.push(match lang {
            Lang::Ja => format!(
                "{} 件は未消去 (保存先の接続後に再実行で再開できます)",
                c.outstanding
            ),
            Lang::En => format!(
                "{} item(s) not erased yet (run execute again once connected)",
                c.outstanding
            ),
        });
    }
    let head = lang.pick("未完了: ", "not complete: ");
    format!("{head}{}", parts.join(lang.pick("、", "; ")))
}

/// What the method does not reach, for the media the items were on.
fn note(c: &Certificate, req: &Request, lang: Lang) -> String {
    if lang == Lang::En {
        return html::value_text(&c.sanitization["note"]);
    }
    match c.request["method"].as_str().unwrap_or("") {
        "overwrite" => format!(
            "{} 上のファイルに対するクリア。上書きはファイルが占めていた領域に対して行うもので、代替処理されたセクタ、SSD の予備領域、コピーオンライト領域やスナップショットには及ばない。",
            media_names(req, lang).join("、")
        ),
        "crypto-erase" => "鍵の全複製が依頼に列挙されている場合に限り有効。".into(),
        _ => String::new(),
    }
}

/// The Japanese wording of the sanitization texts (the JSON keeps English).
fn localized(c: &Certificate, lang: Lang, key: &str) -> String {
    if lang == Lang::En {
        return html::value_text(&c.sanitization[key]);
    }
    let method = c.request["method"].as_str().unwrap_or("");
    match (method, key) {
        ("overwrite", "technique") => "対象の全バイトをその場でゼロで1回上書きし、ディスクへ確定 (fsync)、全バイトを読み戻して確認、削除、ディレクトリを確定、不存在を確認".into(),
        ("crypto-erase", "technique") => "列挙した秘密鍵 (age identity) の全複製をゼロで上書き・読み戻し確認・削除し、不存在を確認。この鍵のみで暗号化されたデータは復号不能".into(),
        ("destroy", "technique") => "記録媒体の物理的破壊 (立会者の面前で実施し、実施者の申告により記録)".into(),
        ("destroy", "verification") => "立会者による確認".into(),
        (_, "verification") => {
            let after = match c.sanitization["readback"].as_str() {
                Some("device") => "ディスクへ確定 (fsync) 後、キャッシュを破棄 (posix_fadvise DONTNEED) し、上書きした全バイトがゼロであることを媒体から読み戻して確認",
                Some("cache") => "ディスクへ確定 (fsync) 後、上書きした全バイトがゼロであることを OS のキャッシュを介して読み戻して確認 (この OS ではキャッシュを破棄できないため、媒体そのものは読み戻していない)",
                _ => "ディスクへ確定 (fsync) 後、上書きした全バイトがゼロであることを読み戻して確認 (一部の項目は媒体から、その他は OS のキャッシュを介して)",
            };
            format!("消去前: 各ファイルの識別子・サイズ・SHA-256 が依頼時の記録と一致することを確認。消去後: {after}。全ファイルの不存在を確認")
        }
        _ => html::value_text(&c.sanitization[key]),
    }
}

/// For crypto-erase: each identity file, its recipients and the snapshots
/// only it could open, as lines of text.
fn crypto_lines(c: &Certificate, lang: Lang) -> Vec<String> {
    let Some(list) = c
        .crypto_erase
        .as_ref()
        .and_then(|ce| ce.get("identities"))
        .and_then(|l| l.as_array())
    else {
        return Vec::new();
    };
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|l| l.iter().map(html::value_text).collect())
            .unwrap_or_default()
    };
    list.iter()
        .map(|id| {
            let only = strings(&id["snapshots_only_it_opens"]);
            match lang {
                Lang::Ja => format!(
                    "{}: 公開鍵 (受信者) {}。この鍵でのみ開けるスナップショット {} 件{}",
                    sheet::display_path(&html::value_text(&id["file"])),
                    strings(&id["recipients"]).join("、"),
                    only.len(),
                    if only.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", only.join("、"))
                    }
                ),
                Lang::En => format!(
                    "{}: recipients {}; {} snapshot(s) only it opens{}",
                    sheet::display_path(&html::value_text(&id["file"])),
                    strings(&id["recipients"]).join(", "),
                    only.len(),
                    if only.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", only.join(", "))
                    }
                ),
            }
        })
        .collect()
}

/// An item's outcome: its state in words (and the detail in English).
fn outcome(i: &Item, lang: Lang) -> String {
    let label = i18n::item_status_label(&i.status, lang);
    match (&i.detail, lang) {
        (Some(d), Lang::En) => format!("{label} ({d})"),
        _ => label,
    }
}

/// An item's size: human, and exact in small print.
fn size_cell(i: &Item, lang: Lang) -> String {
    match i.size {
        Some(n) if n >= 1024 => format!(
            "{} <span class=\"exact\">({})</span>",
            escape(&i18n::size(n, lang)),
            sheet::thousands(n)
        ),
        Some(n) => escape(&i18n::size(n, lang)),
        None => "-".into(),
    }
}

fn group_head(g: &Group) -> String {
    match &g.dir {
        Some(dir) => format!("{} ({dir})", g.title),
        None => g.title.clone(),
    }
}

fn title(lang: Lang) -> &'static str {
    lang.pick(
        "消去証明書 (個人情報の消去報告書)",
        "Certificate of Sanitization (erasure report)",
    )
}

fn statement(policy: &Policy, lang: Lang) -> String {
    let work = policy.site.work_name.clone().unwrap_or_else(|| {
        format!(
            "{}{}",
            policy.site.system,
            lang.pick("保守業務", " maintenance")
        )
    });
    match lang {
        Lang::Ja => format!("{work}において利用した個人情報を、個人情報の取扱いに関する特記事項第13条第5項に基づき、下記のとおり消去したことを報告し、証明します。"),
        Lang::En => format!("Under article 13(5) of the special provisions on personal data, we report and certify that the personal data used in {work} was erased as follows."),
    }
}

/// Markdown.
pub fn render_markdown(c: &Certificate, policy: &Policy, lang: Lang) -> String {
    let t = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    let req = &c.loaded;
    let mut out = format!("# {}\n\n", title(lang));
    if let Some(notice) = rehearsal_notice(c, lang) {
        out.push_str(&format!("> **{notice}**\n\n"));
    }
    out.push_str(&format!(
        "{} {} / {} {}\n\n{}\n\n",
        t("証明書番号", "Certificate"),
        c.id,
        t("発行日", "issued"),
        sheet::day(&issued_on(c).format("%Y-%m-%d").to_string(), lang),
        statement(policy, lang)
    ));
    out.push_str(&format!("| {} | |\n|---|---|\n", t("項目", "Field")));
    for (k, v) in rows(c, req, lang) {
        out.push_str(&format!(
            "| {k} | {} |\n",
            v.replace('|', "\\|").replace('\n', "<br>")
        ));
    }
    let crypto = crypto_lines(c, lang);
    if !crypto.is_empty() {
        out.push_str(&format!(
            "\n## {}\n\n",
            t("暗号消去", "Cryptographic erase")
        ));
        for line in crypto {
            out.push_str(&format!("- {line}\n"));
        }
    }
    out.push_str(&format!(
        "\n## {}\n\n| # | {} | {} | SHA-256 | {} |\n|---|---|---|---|---|\n",
        t("消去対象", "Items"),
        t("ファイル", "File"),
        t("サイズ", "Size"),
        t("結果", "Result")
    ));
    for g in sheet::groups(req, lang) {
        out.push_str(&format!(
            "| | **{}** | | | |\n",
            group_head(&g).replace('|', "\\|")
        ));
        for i in &g.items {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                i.n,
                g.name(i).replace('|', "\\|"),
                i.size
                    .map(|n| sheet::size_exact(n, lang))
                    .unwrap_or("-".into()),
                i.sha256.as_deref().unwrap_or("-"),
                outcome(i, lang)
            ));
        }
    }
    out.push_str(&format!(
        "\n{}\n\n| {} | {} | {} |\n|---|---|---|\n| | | |\n",
        t(
            "上記のとおり消去したことを証明します。",
            "We certify that the items above were erased as described."
        ),
        t("消去実施者 署名", "Performed by (signature)"),
        t("立会者 署名", "Witness (signature)"),
        t("業務主任 確認", "Approver (signature)")
    ));
    out
}

/// Printable A4 HTML: 42 items on two sheets.
pub fn render_html(c: &Certificate, policy: &Policy, lang: Lang) -> String {
    let t = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    let req = &c.loaded;
    let mut body = String::new();
    if let Some(notice) = rehearsal_notice(c, lang) {
        body.push_str(&format!("<p class=\"rehearsal\">{}</p>\n", escape(&notice)));
    }
    body.push_str(&sheet::letterhead(&policy.site, &c.id, issued_on(c), lang));
    body.push_str(&format!(
        "<h1>{}</h1>\n<p>{}</p>\n",
        escape(title(lang)),
        escape(&statement(policy, lang))
    ));
    if lang == Lang::Ja {
        body.push_str("<p class=\"center\">記</p>\n");
    }
    body.push_str("<table class=\"fields\">\n");
    for (k, v) in rows(c, req, lang) {
        body.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            escape(k),
            escape(&v).replace('\n', "<br>")
        ));
    }
    let crypto = crypto_lines(c, lang);
    if !crypto.is_empty() {
        body.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            escape(t("暗号消去", "Cryptographic erase")),
            crypto
                .iter()
                .map(|l| escape(l))
                .collect::<Vec<_>>()
                .join("<br>")
        ));
    }
    body.push_str("</table>\n");
    body.push_str(&format!(
        "<table class=\"items\"><colgroup><col style=\"width:7mm\"><col><col style=\"width:30mm\"><col style=\"width:73mm\"><col style=\"width:20mm\"></colgroup>\n<thead><tr><th>#</th><th>{}</th><th>{}</th><th>SHA-256</th><th>{}</th></tr></thead><tbody>\n",
        t("ファイル", "File"),
        t("サイズ", "Size"),
        t("結果", "Result")
    ));
    for g in sheet::groups(req, lang) {
        body.push_str(&format!(
            "<tr><td class=\"group\" colspan=\"5\">{}</td></tr>\n",
            escape(&group_head(&g))
        ));
        for i in &g.items {
            body.push_str(&format!(
                "<tr><td class=\"right\">{}</td><td class=\"name\">{}</td><td class=\"size\">{}</td><td class=\"sha\">{}</td><td>{}</td></tr>\n",
                i.n,
                escape(&g.name(i)),
                size_cell(i, lang),
                escape(i.sha256.as_deref().unwrap_or("-")),
                escape(&outcome(i, lang))
            ));
        }
    }
    body.push_str("</tbody></table>\n");
    body.push_str(&format!(
        "<p>{}</p>\n<table class=\"signs\"><tr><th>{}</th><th>{}</th><th>{}</th></tr><tr><td></td><td></td><td></td></tr></table>\n",
        escape(t("上記のとおり消去したことを証明します。", "We certify that the items above were erased as described.")),
        escape(t("消去実施者 署名", "Performed by (signature)")),
        escape(t("立会者 署名", "Witness (signature)")),
        escape(t("業務主任 確認", "Approver (signature)"))
    ));
    sheet::page(&format!("{} {}", title(lang), c.id), lang, &body)
}
