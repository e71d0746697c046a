//! The receipt (預り証) as the city reads it (第12条): one A4 sheet, addressed
//! to the city and to the sending contractor, from the receiving contractor,
//! listing what was received — the documents, the snapshots, the copy of the
//! audit log — in words a clerk reads, with the checks behind it in one line
//! and the boxes for the seals.

use std::collections::BTreeMap;

use chrono::DateTime;
use serde::{Deserialize, Serialize};

use super::{HandoverManifest, Receipt, SignatureCheck};
use crate::documents::sheet;
use crate::html::escape;
use crate::i18n::{self, Lang};
use crate::policy::Site;
use crate::report::page::{blank_date, field, stamps};
use crate::wareki;

/// One thing received: a document (an `--include`), or a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ReceivedItem {
    /// The document's name (its base name in the bag), or the snapshot id.
    pub name: String,
    /// Files in it.
    pub files: u64,
    /// Bytes of their contents.
    pub bytes: u64,
}

/// The copy of the audit log received.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ReceivedAudit {
    /// Events in it.
    pub events: u64,
    /// Its chain head, `SEQ:HASH`.
    pub head: String,
    /// Files (the export and the database copy).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// What a package held, as received and checked on disk.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ReceivedContents {
    /// The documents (`--include`), in name order.
    pub documents: Vec<ReceivedItem>,
    /// The snapshots, in id order.
    pub snapshots: Vec<ReceivedItem>,
    /// The audit log copy, when the package had one.
    pub audit: Option<ReceivedAudit>,
}

/// Sorts the payload (paths under `data/` with their sizes) into documents,
/// snapshots and the audit copy, as the signed manifest says the package
/// holds them.
pub fn contents<'a>(
    payload: impl Iterator<Item = (&'a [u8], u64)>,
    manifest: &HandoverManifest,
) -> ReceivedContents {
    let mut documents: BTreeMap<String, ReceivedItem> = BTreeMap::new();
    let mut snapshots: BTreeMap<String, ReceivedItem> = BTreeMap::new();
    let mut audit = manifest.contents.audit.as_ref().map(|a| ReceivedAudit {
        events: a.events,
        head: a.head.clone(),
        ..ReceivedAudit::default()
    });
    let has_snapshots = !manifest.contents.snapshots.is_empty();
    for (path, bytes) in payload {
        let text = String::from_utf8_lossy(path);
        let mut parts = text.strip_prefix("data/").unwrap_or(&text).split('/');
        let top = parts.next().unwrap_or_default().to_string();
        let (map, name) = match (top.as_str(), &mut audit) {
            (super::SNAPSHOTS_DIR, _) if has_snapshots => {
                (&mut snapshots, parts.next().unwrap_or_default().to_string())
            }
            (super::AUDIT_DIR, Some(a)) => {
                a.files += 1;
                a.bytes += bytes;
                continue;
            }
            _ => (&mut documents, top),
        };
        let item = map.entry(name.clone()).or_insert_with(|| ReceivedItem {
            name,
            ..ReceivedItem::default()
        });
        item.files += 1;
        item.bytes += bytes;
    }
    ReceivedContents {
        documents: documents.into_values().collect(),
        snapshots: snapshots.into_values().collect(),
        audit,
    }
}

/// A date-time of the receipt in the receiver's zone: 和暦 and Gregorian.
fn at(time: DateTime<chrono::FixedOffset>, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!(
            "{} {} ({})",
            wareki::format_ja(time.date_naive()),
            time.format("%-H時%M分"),
            time.format("%Y-%m-%d %H:%M %:z")
        ),
        Lang::En => format!(
            "{} {} (UTC{})",
            wareki::format_en(time.date_naive()),
            time.format("%H:%M"),
            time.format("%:z")
        ),
    }
}

/// `3 ファイル、1.20 MB` / `3 files, 1.2 MiB`.
fn amount(files: u64, bytes: u64, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("{files} ファイル、{}", i18n::size(bytes, lang)),
        Lang::En => format!("{files} file(s), {}", i18n::size(bytes, lang)),
    }
}

/// The lines of what was received.
fn received_lines(r: &Receipt, lang: Lang) -> Vec<String> {
    let c = &r.contents;
    let mut out = Vec::new();
    for d in &c.documents {
        out.push(match lang {
            Lang::Ja => format!("書類等「{}」 ({})", d.name, amount(d.files, d.bytes, lang)),
            Lang::En => format!("document “{}” ({})", d.name, amount(d.files, d.bytes, lang)),
        });
    }
    for s in &c.snapshots {
        let taken = sheet::taken_on(&s.name, lang).unwrap_or_default();
        out.push(match lang {
            Lang::Ja => format!(
                "暗号化されたバックアップ {} ({taken}取得、{})",
                s.name,
                amount(s.files, s.bytes, lang)
            ),
            Lang::En => format!(
                "encrypted backup {} (taken {taken}, {})",
                s.name,
                amount(s.files, s.bytes, lang)
            ),
        });
    }
    if let Some(a) = &c.audit {
        let last = a.head.split(':').next().unwrap_or("0");
        out.push(match lang {
            Lang::Ja => format!(
                "監査ログの写し (記録 {} 件、1〜{last} 番、{})",
                a.events,
                amount(a.files, a.bytes, lang)
            ),
            Lang::En => format!(
                "copy of the audit log ({} events, 1 to {last}, {})",
                a.events,
                amount(a.files, a.bytes, lang)
            ),
        });
    }
    out
}

/// The head: number and date, both addressees, the issuer, the title and
/// the statement.
fn head(r: &Receipt, site: &Site, day: chrono::NaiveDate, lang: Lang) -> String {
    let issuer = site.contractor.as_deref().unwrap_or(&site.name);
    match lang {
        Lang::Ja => format!(
            "<p class=\"number\">{}</p>\n<p class=\"number\">{}</p>\n\
<p class=\"addressee\">{}　様</p>\n<p class=\"addressee\">{}　御中</p>\n\
<div class=\"addr\"><p>住　　所　{}</p><p>会 社 名　{}</p><p>代表者名　{}　　　印</p></div>\n\
<h1>預　り　証</h1>\n\
<p>個人情報の取扱いに関する特記事項第12条に基づき、下記の情報資産を暗号化された引継ぎパッケージとして確かにお預かりしました。受領にあたり、送付元の署名、パッケージのハッシュ値及び全ファイルの内容を確認しました。</p>\n<p class=\"center\">記</p>\n",
            escape(&r.id),
            wareki::format_ja(day),
            field(site.addressee.as_deref()),
            escape(&r.sender.organization),
            field(site.address.as_deref()),
            escape(issuer),
            field(site.representative.as_deref()),
        ),
        Lang::En => format!(
            "<p class=\"number\">{}</p>\n<p class=\"number\">{}</p>\n\
<p class=\"addressee\">To: {}</p>\n<p class=\"addressee\">To: {}</p>\n\
<div class=\"addr\"><p>Address: {}</p><p>Company: {}</p><p>Representative: {}　(seal)</p></div>\n\
<h1>Receipt</h1>\n\
<p>Under article 12 of the special provisions on personal data, we have received the information assets below as an encrypted handover package, and checked the sender's signature, the package's hash and the contents of every file.</p>\n",
            escape(&r.id),
            escape(&wareki::format_en(day)),
            field(site.addressee.as_deref()),
            escape(&r.sender.organization),
            field(site.address.as_deref()),
            escape(issuer),
            field(site.representative.as_deref()),
        ),
    }
}

/// What was checked, in one sentence: every file, the checksums, the
/// sender's signature.
fn checked(r: &Receipt, signature: &SignatureCheck, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!(
            "全 {} ファイル、合計 {}。すべてのチェックサムが一致 (復号時と展開後の2回)。送付元の署名 正常 (鍵ID {}、{})",
            r.payload.files,
            sheet::size_exact(r.payload.bytes, lang),
            signature.key_id,
            if signature.pinned {
                "受領者が保持する公開鍵で確認"
            } else {
                "パッケージ記載の公開鍵で確認。鍵IDを送付元に電話等で確認すること"
            }
        ),
        Lang::En => format!(
            "{} files, {} in all; every checksum matches (while decrypting and again after extraction). Sender's signature valid (key id {}, {})",
            r.payload.files,
            sheet::size_exact(r.payload.bytes, lang),
            signature.key_id,
            if signature.pinned {
                "checked with the sender's key held by the receiver"
            } else {
                "checked with the key named in the package: confirm the key id with the sender by phone"
            }
        ),
    }
}

/// The boxes for the seals: the receiver's, then the city's.
fn seals(r: &Receipt, day: chrono::NaiveDate, lang: Lang) -> String {
    let t = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    let mut body = String::new();
    body.push_str(&format!(
        "<table class=\"signs\"><tr><th>{}</th><th>{}</th><th>{}</th></tr><tr><td>{}</td><td>{}</td><td></td></tr></table>\n",
        escape(t("受領者 (記名・押印)", "Receiver (name, seal)")),
        escape(t("受領作業者", "Receiving operator")),
        escape(t("確認者", "Checked by")),
        escape(&r.receiver.name),
        escape(&r.receiver.operator),
    ));
    body.push_str(&match lang {
        Lang::Ja => format!(
            "<div class=\"ruled\"><p>(以下、札幌市記入欄)　確認日　{}</p>\n{}</div>\n",
            blank_date(day),
            stamps(&["課長", "係長", "係"])
        ),
        Lang::En => "<div class=\"ruled\"><p>(For the city) Confirmed on:</p></div>\n".to_string(),
    });
    body.push_str(&format!(
        "<p class=\"note\">{}</p>\n",
        escape(&match lang {
            Lang::Ja => format!(
                "この預り証は {} {} が作成しました。同じ内容を {}.json に記録し、署名 (.minisig) があれば minisign -V で確認できます。",
                r.tool.name, r.tool.version, r.id
            ),
            Lang::En => format!(
                "Made by {} {}; the same data is in {}.json (signatures, where present, check with minisign -V).",
                r.tool.name, r.tool.version, r.id
            ),
        })
    ));
    body
}

/// The printable receipt: one A4 sheet, in Japanese or English. `site` is
/// the receiving policy's `[site]` (the issuer, and the city's addressee).
pub fn render_html(r: &Receipt, signature: &SignatureCheck, site: &Site, lang: Lang) -> String {
    let t = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    let local = DateTime::parse_from_rfc3339(&r.received_at_local).ok();
    let offset = local.map(|l| *l.offset());
    let when = local
        .map(|l| at(l, lang))
        .unwrap_or_else(|| r.received_at.clone());
    let made = DateTime::parse_from_rfc3339(&r.sender.created_at)
        .ok()
        .zip(offset)
        .map(|(t, o)| at(t.with_timezone(&o), lang))
        .unwrap_or_else(|| r.sender.created_at.clone());
    let day = local
        .map(|l| l.date_naive())
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let mut body = String::new();
    if let Some(b) = super::receipt_rehearsal_banner(r, lang) {
        body.push_str(&format!("<p class=\"rehearsal\">{}</p>\n", escape(&b)));
    }
    body.push_str(&head(r, site, day, lang));
    let received = received_lines(r, lang)
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("<br>");
    let checked = checked(r, signature, lang);
    let rows: Vec<(&str, String, bool)> = vec![
        (t("受領日時", "Received at"), escape(&when), false),
        (
            t("送付元", "Sent by"),
            escape(&format!(
                "{} ({} {}、{} {})",
                r.sender.organization,
                t("作成者", "made by"),
                r.sender.operator,
                t("作成日時", "at"),
                made
            )),
            false,
        ),
        (t("受領したもの", "Received"), received, false),
        (t("確認の結果", "Checks"), escape(&checked), false),
        (
            t("パッケージ", "Package"),
            escape(&format!(
                "{} ({})",
                r.package.file,
                i18n::size(r.package.bytes, lang)
            )),
            false,
        ),
        (
            t("照合用ハッシュ", "Package SHA-256"),
            escape(&r.package.sha256),
            true,
        ),
        (
            t("保管場所", "Kept at"),
            escape(&r.bag_directory.display().to_string()),
            false,
        ),
        (
            t("受領の記録", "Audit event"),
            escape(
                &r.audit
                    .as_ref()
                    .map(|a| format!("{}:{}", a.seq, a.head))
                    .unwrap_or_else(|| "—".into()),
            ),
            true,
        ),
    ];
    body.push_str("<table class=\"fields\">\n");
    for (k, v, mono) in rows {
        let class = if mono { " class=\"mono\"" } else { "" };
        body.push_str(&format!(
            "<tr><th>{}</th><td{class}>{v}</td></tr>\n",
            escape(k)
        ));
    }
    body.push_str("</table>\n");
    body.push_str(&seals(r, day, lang));
    sheet::page(
        &format!("{} {}", t("預り証", "Receipt"), r.external_identifier),
        lang,
        &body,
    )
}
