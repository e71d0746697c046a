//! The certificate of erasure (消去証明書), which is also the post-deletion
//! report of 第13条5: who erased what, how, verified how, approved by whom,
//! witnessed by whom, with the size and SHA-256 of every item and the audit
//! event of the execution. Its fields follow NIST SP 800-88 Rev. 1 Appendix G
//! (Certificate of Sanitization) where they apply. Rendered as JSON, Markdown
//! and printable A4 HTML, in Japanese (default) or English, dates in 和暦 and
//! Gregorian.

use chrono::{DateTime, NaiveDate};
use serde::Serialize;

use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::erasure::{self, item_status, request_status, Entry, EventRef, Item, Method};
use crate::error::{Error, Result};
use crate::html;
use crate::i18n::Lang;
use crate::policy::Policy;
use crate::wareki;

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
}

/// Builds the certificate of an executed (or partially executed) request,
/// from the audit chain; refuses (exit 1) when the chain is broken or the
/// erasure tables disagree with it.
pub fn build(log: &AuditLog, policy: &Policy, clock: &Clock, id: &str) -> Result<Certificate> {
    let chain = log.verify(&[])?;
    if let Some(bad) = &chain.first_bad {
        return Err(Error::Integrity {
            path: log.path().to_path_buf(),
            detail: format!(
                "the audit chain is broken at event {} ({}); no certificate is issued from it",
                bad.seq, bad.detail
            ),
        });
    }
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
                "消去依頼 {id} は {} です: 消去証明書は実施後に発行します",
                req.status
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
                Method::Overwrite => "Clear on magnetic media (USB HDD). Overwriting in place does not reach remapped sectors, SSD spare areas or copy-on-write snapshots.",
                Method::CryptoErase => "Valid only if every copy of the identity was listed in the request.",
                Method::Destroy => "",
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
    })
}

/// A date-time as the forms print it: 和暦 and Gregorian (local date).
fn when(rfc3339: &str, lang: Lang) -> String {
    match DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => {
            let local = t.with_timezone(&chrono::Local);
            let date: NaiveDate = local.date_naive();
            match lang {
                Lang::Ja => format!("{} {}", wareki::format_both(date), local.format("%H:%M")),
                Lang::En => format!("{} {}", wareki::format_en(date), local.format("%H:%M")),
            }
        }
        Err(_) => rfc3339.to_string(),
    }
}

/// The rows of the certificate as (label, value) pairs, in order.
fn rows(c: &Certificate, lang: Lang) -> Vec<(&'static str, String)> {
    let t = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    let audit = |v: &serde_json::Value| match (v.get("seq"), v.get("hash")) {
        (Some(s), Some(h)) => format!("{}:{}", html::value_text(s), html::value_text(h)),
        _ => "-".into(),
    };
    let when_of = |v: &serde_json::Value| v.as_str().map(|s| when(s, lang)).unwrap_or("-".into());
    vec![
        (
            t("証明書番号 (依頼番号)", "Certificate (request) number"),
            c.id.clone(),
        ),
        (t("履行場所", "Site"), html::value_text(&c.site["name"])),
        (t("システム", "System"), html::value_text(&c.site["system"])),
        (
            t("消去依頼者", "Requested by"),
            html::value_text(&c.request["requested_by"]),
        ),
        (
            t("依頼日時", "Requested at"),
            when_of(&c.request["requested_at"]),
        ),
        (
            t("消去理由", "Reason"),
            html::value_text(&c.request["reason"]),
        ),
        (
            t("消去予定日", "Planned date"),
            c.request["planned"]
                .as_str()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map(|d| match lang {
                    Lang::Ja => wareki::format_both(d),
                    Lang::En => wareki::format_en(d),
                })
                .unwrap_or("-".into()),
        ),
        (
            t("数量", "Quantity"),
            format!(
                "{} {} / {} bytes",
                html::value_text(&c.request["quantity"]["items"]),
                t("件", "items"),
                html::value_text(&c.request["quantity"]["bytes"])
            ),
        ),
        (
            t("承認者", "Approved by"),
            html::value_text(&c.approval["approved_by"]),
        ),
        (
            t("承認日時", "Approved at"),
            when_of(&c.approval["approved_at"]),
        ),
        (
            t("承認の監査記録", "Approval audit event"),
            audit(&c.approval["audit"]),
        ),
        (
            t("承認の署名 (鍵ID)", "Approval signature (key id)"),
            match c.approval["key_id"].as_str() {
                Some(k) => format!("minisign {k}"),
                None => t("署名なし", "unsigned").to_string(),
            },
        ),
        (
            t("消去実施者", "Performed by"),
            html::value_text(&c.performed_by["name"]),
        ),
        (
            t("所属", "Organization"),
            html::value_text(&c.performed_by["organization"]),
        ),
        (
            t("立会者", "Witness"),
            c.witness.clone().unwrap_or("-".into()),
        ),
        (
            t(
                "消去方法の種別 (NIST SP 800-88)",
                "Method type (NIST SP 800-88)",
            ),
            html::value_text(&c.sanitization["method_type"]),
        ),
        (t("消去方法", "Technique"), localized(c, lang, "technique")),
        (
            t("使用ツール", "Tool"),
            format!(
                "{} {}",
                html::value_text(&c.sanitization["tool"]["name"]),
                html::value_text(&c.sanitization["tool"]["version"])
            ),
        ),
        (
            t("検証方法", "Verification"),
            localized(c, lang, "verification"),
        ),
        (t("備考", "Note"), localized(c, lang, "note")),
        (
            t("実施日時", "Executed at"),
            when_of(&c.execution["executed_at"]),
        ),
        (
            t("実施日時 (実時刻)", "Executed at (real time)"),
            when_of(&c.execution["executed_at_real"]),
        ),
        (t("結果", "Result"), result_text(c, lang)),
        (
            t(
                "実施の監査記録 (SEQ:HASH)",
                "Execution audit event (SEQ:HASH)",
            ),
            audit(&c.execution["audit"]),
        ),
    ]
}

/// The rehearsal notice, when the clock was replaced for any step.
fn rehearsal_notice(c: &Certificate, lang: Lang) -> Option<String> {
    if c.clock["overridden"] != true {
        return None;
    }
    let real = html::value_text(&c.clock["issued_at_real"]);
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
                _ => "ディスクへ確定 (fsync) 後、上書きした全バイトがゼロであることを読み戻して確認 (readback が device の項目は媒体から、その他は OS のキャッシュを介して)",
            };
            format!("消去前: 各ファイルの識別子・サイズ・SHA-256 が依頼時の記録と一致することを確認。消去後: {after}。全ファイルの不存在を確認")
        }
        ("overwrite", "note") => "磁気媒体 (USB外付けHDD) に対する Clear。代替処理されたセクタ、SSDの予備領域、コピーオンライト領域には及ばない。".into(),
        ("crypto-erase", "note") => "鍵の全複製が依頼に列挙されている場合に限り有効。".into(),
        _ => html::value_text(&c.sanitization[key]),
    }
}

fn media_lines(c: &Certificate) -> Vec<String> {
    c.media
        .as_array()
        .map(|list| {
            list.iter()
                .map(|m| {
                    format!(
                        "{} ({}) volume {} {}",
                        html::value_text(&m["label"]),
                        html::value_text(&m["destination"]),
                        html::value_text(&m["volume"]),
                        html::value_text(&m["path"])
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn item_cells(i: &Item) -> [String; 6] {
    [
        i.n.to_string(),
        match &i.destination {
            Some(d) => format!("{} {} @ {d}", i.kind, i.target),
            None => format!("{} {}", i.kind, i.target),
        },
        i.path.clone().unwrap_or("-".into()),
        i.size.map(|s| s.to_string()).unwrap_or("-".into()),
        i.sha256.clone().unwrap_or("-".into()),
        match &i.detail {
            Some(d) => format!("{} ({d})", i.status),
            None => i.status.clone(),
        },
    ]
}

/// Markdown.
pub fn render_markdown(c: &Certificate, lang: Lang) -> String {
    let t = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    let mut out = format!(
        "# {}\n\n",
        t(
            "消去証明書 (データ消去報告書)",
            "Certificate of Sanitization (erasure report)"
        )
    );
    if let Some(notice) = rehearsal_notice(c, lang) {
        out.push_str(&format!("> **{notice}**\n\n"));
    }
    out.push_str(&format!("| {} | |\n|---|---|\n", t("項目", "Field")));
    for (k, v) in rows(c, lang) {
        out.push_str(&format!("| {k} | {} |\n", v.replace('|', "\\|")));
    }
    // Files outside the destinations have no medium of kura's to list.
    let media = media_lines(c);
    if !media.is_empty() {
        out.push_str(&format!("\n## {}\n\n", t("記録媒体", "Media")));
        for m in media {
            out.push_str(&format!("- {m}\n"));
        }
    }
    if let Some(ce) = &c.crypto_erase {
        out.push_str(&format!(
            "\n## {}\n\n```json\n{}\n```\n",
            t("暗号消去", "Cryptographic erase"),
            serde_json::to_string_pretty(ce).unwrap_or_default()
        ));
    }
    out.push_str(&format!(
        "\n## {}\n\n| # | {} | {} | {} | SHA-256 | {} |\n|---|---|---|---|---|---|\n",
        t("消去対象", "Items"),
        t("対象", "Item"),
        t("ファイル", "File"),
        t("サイズ", "Size"),
        t("結果", "Result")
    ));
    for i in &c.items {
        let cells = item_cells(i);
        out.push_str(&format!(
            "| {} |\n",
            cells.map(|s| s.replace('|', "\\|")).join(" | ")
        ));
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

/// Printable A4 HTML.
pub fn render_html(c: &Certificate, lang: Lang) -> String {
    let t = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    let mut body = String::new();
    if let Some(notice) = rehearsal_notice(c, lang) {
        body.push_str(&format!(
            "<p class=\"rehearsal\">{}</p>\n",
            html::escape(&notice)
        ));
    }
    body.push_str("<table class=\"fields\">\n");
    for (k, v) in rows(c, lang) {
        body.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            html::escape(k),
            html::escape(&v)
        ));
    }
    body.push_str("</table>\n");
    let media = media_lines(c);
    if !media.is_empty() {
        body.push_str(&format!("<h2>{}</h2>\n<ul>\n", t("記録媒体", "Media")));
        for m in media {
            body.push_str(&format!("<li>{}</li>\n", html::escape(&m)));
        }
        body.push_str("</ul>\n");
    }
    if let Some(ce) = &c.crypto_erase {
        body.push_str(&format!(
            "<h2>{}</h2>\n<pre>{}</pre>\n",
            t("暗号消去", "Cryptographic erase"),
            html::escape(&serde_json::to_string_pretty(ce).unwrap_or_default())
        ));
    }
    body.push_str(&format!(
        "<h2>{}</h2>\n<table class=\"items\"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>SHA-256</th><th>{}</th></tr></thead><tbody>\n",
        t("消去対象", "Items"),
        t("対象", "Item"),
        t("ファイル", "File"),
        t("サイズ", "Size"),
        t("結果", "Result")
    ));
    for i in &c.items {
        body.push_str("<tr>");
        for cell in item_cells(i) {
            body.push_str(&format!("<td>{}</td>", html::escape(&cell)));
        }
        body.push_str("</tr>\n");
    }
    body.push_str("</tbody></table>\n");
    body.push_str(&format!(
        "<p class=\"certify\">{}</p>\n<table class=\"sign\"><tr><th>{}</th><th>{}</th><th>{}</th></tr><tr><td></td><td></td><td></td></tr></table>\n",
        t("上記のとおり消去したことを証明します。", "We certify that the items above were erased as described."),
        t("消去実施者 署名", "Performed by (signature)"),
        t("立会者 署名", "Witness (signature)"),
        t("業務主任 確認", "Approver (signature)")
    ));
    format!(
        r#"<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title} {id}</title>
<style>
@page {{ size: A4; margin: 15mm; }}
body {{ font-family: "Yu Gothic", "Meiryo", "Noto Sans CJK JP", "Noto Sans JP", sans-serif; font-size: 10pt; color: #000; }}
h1 {{ font-size: 16pt; text-align: center; margin: 0 0 6mm; }}
h2 {{ font-size: 11pt; margin: 5mm 0 2mm; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 0.3mm solid #000; padding: 1.2mm 2mm; vertical-align: top; text-align: left; }}
table.fields th {{ width: 32%; background: #eee; }}
table.items {{ font-size: 7.5pt; table-layout: fixed; }}
table.items td {{ word-break: break-all; }}
table.items th:nth-child(1) {{ width: 6mm; }}
table.items tr {{ page-break-inside: avoid; }}
table.sign td {{ height: 18mm; }}
p.certify {{ margin: 6mm 0 3mm; }}
p.rehearsal {{ border: 0.6mm solid #000; padding: 2mm; font-weight: bold; }}
@media print {{ h2 {{ page-break-after: avoid; }} }}
</style>
</head>
<body>
<h1>{title}</h1>
{body}</body>
</html>
"#,
        lang = match lang {
            Lang::Ja => "ja",
            Lang::En => "en",
        },
        title = html::escape(t("消去証明書", "Certificate of Sanitization")),
        id = html::escape(&c.id),
    )
}
