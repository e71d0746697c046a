//! The receipt (預り証) as the city reads it (第12条): one A4 sheet, addressed
//! to the city and to the sending contractor, from the receiving contractor,
//! listing what was received — the documents, the snapshots, the copy of the
//! audit log — in words a clerk reads, with the checks behind it in one line
//! and the boxes for the seals.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate};
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

/// One line of what was received: its kind, what it is in words, its files
/// and their bytes.
struct Line {
    kind: String,
    what: String,
    files: u64,
    bytes: u64,
}

/// More days than this in one line read as a range (`1月1日〜1月31日`).
const DAYS_LISTED: usize = 6;

/// More months than this are counted by year, so that any number of
/// snapshots stays on the one sheet.
const MONTHS_LISTED: usize = 12;

/// A year (`month` `None`) or a month of the era calendar: `令和6年1月`,
/// `令和元年`; `Reiwa 6 (2024)-01` in English.
fn era_period(year: i32, month: Option<u32>, lang: Lang) -> String {
    let first = NaiveDate::from_ymd_opt(year, month.unwrap_or(12), 1);
    let era = first.and_then(wareki::era_year);
    match (lang, era, month) {
        (Lang::Ja, Some((era, _, 1)), m) => {
            format!(
                "{era}元年{}",
                m.map(|m| format!("{m}月")).unwrap_or_default()
            )
        }
        (Lang::Ja, Some((era, _, y)), m) => {
            format!(
                "{era}{y}年{}",
                m.map(|m| format!("{m}月")).unwrap_or_default()
            )
        }
        (Lang::Ja, None, m) => {
            format!(
                "{year}年{}",
                m.map(|m| format!("{m}月")).unwrap_or_default()
            )
        }
        (Lang::En, Some((_, era, y)), Some(m)) => format!("{era} {y} ({year}-{m:02})"),
        (Lang::En, Some((_, era, y)), None) => format!("{era} {y} ({year})"),
        (Lang::En, None, Some(m)) => format!("{year}-{m:02}"),
        (Lang::En, None, None) => year.to_string(),
    }
}

/// The days snapshots were taken on, as a list or, when long, a range.
fn days(list: &[NaiveDate], lang: Lang) -> String {
    let one = |d: &NaiveDate| match lang {
        Lang::Ja => format!("{}月{}日", d.month(), d.day()),
        Lang::En => d.format("%m-%d").to_string(),
    };
    match (list.first(), list.last()) {
        (Some(first), Some(last)) if list.len() > DAYS_LISTED => {
            format!("{}{}{}", one(first), lang.pick("〜", " to "), one(last))
        }
        _ => list
            .iter()
            .map(one)
            .collect::<Vec<_>>()
            .join(lang.pick("、", ", ")),
    }
}

/// Snapshots with the day each was taken.
type Dated<'a> = Vec<(NaiveDate, &'a ReceivedItem)>;

/// The snapshots received, counted by the month they were taken in (by year
/// when they span more than [`MONTHS_LISTED`] months), with the days.
fn snapshot_lines(snapshots: &[ReceivedItem], lang: Lang) -> Vec<Line> {
    let kind = lang.pick("暗号化されたバックアップ", "Encrypted backups");
    let mut dated: Dated = Vec::new();
    let mut lines = Vec::new();
    for s in snapshots {
        match sheet::taken_day(&s.name) {
            Some(d) => dated.push((d, s)),
            // Not a snapshot id kura makes: named as it is.
            None => lines.push(Line {
                kind: kind.to_string(),
                what: s.name.clone(),
                files: s.files,
                bytes: s.bytes,
            }),
        }
    }
    dated.sort_by_key(|(d, _)| *d);
    let months: BTreeSet<(i32, u32)> = dated.iter().map(|(d, _)| (d.year(), d.month())).collect();
    let by_year = months.len() > MONTHS_LISTED;
    let mut groups: BTreeMap<(i32, Option<u32>), Dated> = BTreeMap::new();
    for (d, s) in dated {
        let month = (!by_year).then(|| d.month());
        groups.entry((d.year(), month)).or_default().push((d, s));
    }
    for ((year, month), items) in groups {
        let taken: Vec<NaiveDate> = items.iter().map(|(d, _)| *d).collect();
        let period = era_period(year, month, lang);
        let what = match lang {
            Lang::Ja => format!(
                "{period}分 {} 件 (取得日 {})",
                items.len(),
                days(&taken, lang)
            ),
            Lang::En => format!("{period}: {} (taken {})", items.len(), days(&taken, lang)),
        };
        lines.push(Line {
            kind: kind.to_string(),
            what,
            files: items.iter().map(|(_, s)| s.files).sum(),
            bytes: items.iter().map(|(_, s)| s.bytes).sum(),
        });
    }
    lines
}

/// More documents than this share one line, so that any number stays on the
/// sheet; of those, this many are named.
const DOCUMENTS_LISTED: usize = 8;
const DOCUMENTS_NAMED: usize = 24;

/// The documents (`--include`) by name, one line each, or one line naming
/// them when there are many.
fn document_lines(documents: &[ReceivedItem], lang: Lang) -> Vec<Line> {
    let kind = lang.pick("書類等", "Document");
    let quoted = |d: &ReceivedItem| match lang {
        Lang::Ja => format!("「{}」", d.name),
        Lang::En => format!("“{}”", d.name),
    };
    if documents.len() <= DOCUMENTS_LISTED {
        return documents
            .iter()
            .map(|d| Line {
                kind: kind.to_string(),
                what: quoted(d),
                files: d.files,
                bytes: d.bytes,
            })
            .collect();
    }
    let named: Vec<String> = documents.iter().take(DOCUMENTS_NAMED).map(quoted).collect();
    let rest = documents.len() - named.len();
    let what = match (lang, rest) {
        (Lang::Ja, 0) => format!("{} 件: {}", documents.len(), named.join("")),
        (Lang::Ja, _) => format!("{} 件: {} ほか {rest} 件", documents.len(), named.join("")),
        (Lang::En, 0) => format!("{}: {}", documents.len(), named.join(", ")),
        (Lang::En, _) => format!("{}: {} and {rest} more", documents.len(), named.join(", ")),
    };
    vec![Line {
        kind: kind.to_string(),
        what,
        files: documents.iter().map(|d| d.files).sum(),
        bytes: documents.iter().map(|d| d.bytes).sum(),
    }]
}

/// What was received, line by line: each document by its title, the
/// snapshots by month, the audit log copy.
fn received_lines(r: &Receipt, lang: Lang) -> Vec<Line> {
    let c = &r.contents;
    let mut out = document_lines(&c.documents, lang);
    out.extend(snapshot_lines(&c.snapshots, lang));
    if let Some(a) = &c.audit {
        let last = a.head.split(':').next().unwrap_or("0");
        out.push(Line {
            kind: lang.pick("監査ログの写し", "Audit log copy").to_string(),
            what: match lang {
                Lang::Ja => format!("記録 {} 件 (1〜{last} 番)", a.events),
                Lang::En => format!("{} events (1 to {last})", a.events),
            },
            files: a.files,
            bytes: a.bytes,
        });
    }
    out
}

/// The table of what was received, with its total in all files and bytes
/// (the exact count in small print).
fn received_table(r: &Receipt, lang: Lang) -> String {
    let t = |ja: &'static str, en: &'static str| lang.pick(ja, en);
    let c = &r.contents;
    let mut html = format!(
        "<table class=\"items received\"><colgroup><col class=\"kind\"><col><col class=\"files\"><col class=\"size\"></colgroup>\n\
<tr><th>{}</th><th>{}</th><th class=\"right\">{}</th><th class=\"right\">{}</th></tr>\n",
        escape(t("区分", "Kind")),
        escape(t("内容", "What")),
        escape(t("ファイル数", "Files")),
        escape(t("大きさ", "Size")),
    );
    for l in received_lines(r, lang) {
        html.push_str(&format!(
            "<tr><td>{}</td><td class=\"name\">{}</td><td class=\"right\">{}</td><td class=\"size right\">{}</td></tr>\n",
            escape(&l.kind),
            escape(&l.what),
            l.files,
            escape(&i18n::size(l.bytes, lang)),
        ));
    }
    let mut counted = Vec::new();
    if !c.documents.is_empty() {
        counted.push(match lang {
            Lang::Ja => format!("書類等 {} 件", c.documents.len()),
            Lang::En => format!("{} document(s)", c.documents.len()),
        });
    }
    if !c.snapshots.is_empty() {
        counted.push(match lang {
            Lang::Ja => format!("暗号化されたバックアップ {} 件", c.snapshots.len()),
            Lang::En => format!("{} encrypted backup(s)", c.snapshots.len()),
        });
    }
    if c.audit.is_some() {
        counted.push(t("監査ログの写し", "the audit log copy").to_string());
    }
    html.push_str(&format!(
        "<tr class=\"total\"><td>{}</td><td class=\"name\">{}</td><td class=\"right\">{}</td><td class=\"size right\">{}<br><span class=\"exact\">{} {}</span></td></tr>\n</table>",
        escape(t("合計", "Total")),
        escape(&counted.join(t("、", ", "))),
        r.payload.files,
        escape(&i18n::size(r.payload.bytes, lang)),
        sheet::thousands(r.payload.bytes),
        escape(t("バイト", "bytes")),
    ));
    html
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
            i18n::size(r.payload.bytes, lang),
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
            i18n::size(r.payload.bytes, lang),
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
    let received_on = match lang {
        Lang::Ja => wareki::format_ja(day),
        Lang::En => wareki::format_en(day),
    };
    body.push_str(&format!(
        "<table class=\"signs seal\"><tr><th>{}</th><th>{}</th><th class=\"seal\">{}</th><th>{}</th><th>{}</th></tr>\
<tr><td>{}</td><td>{}</td><td class=\"seal\"></td><td>{}</td><td></td></tr></table>\n",
        escape(t("受領日", "Received on")),
        escape(t("受領者 (記名)", "Receiver (name)")),
        escape(t("印", "Seal")),
        escape(t("受領作業者", "Receiving operator")),
        escape(t("確認者", "Checked by")),
        escape(&received_on),
        escape(&r.receiver.name),
        escape(&r.receiver.operator),
    ));
    body.push_str(&match lang {
        Lang::Ja => format!(
            "<div class=\"ruled\"><p>(以下、札幌市記入欄)　確認日　{}</p>\n{}</div>\n",
            blank_date(day),
            stamps(&["課長", "係長", "係"])
        ),
        Lang::En => format!(
            "<div class=\"ruled\"><p>(For the city) Confirmed on: {}</p>\n{}</div>\n",
            field(None),
            stamps(&["Director", "Chief", "Staff"])
        ),
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
    let received = received_table(r, lang);
    let checked = checked(r, signature, lang);
    let rows: Vec<(&str, String, &str)> = vec![
        (t("受領日時", "Received at"), escape(&when), ""),
        (
            t("送付元", "Sent by"),
            escape(&format!(
                "{} ({} {}{}{} {})",
                r.sender.organization,
                t("作成者", "made by"),
                r.sender.operator,
                t("、", ", "),
                t("作成日時", "at"),
                made
            )),
            "",
        ),
        (t("受領したもの", "Received"), received, " class=\"inner\""),
        (t("確認の結果", "Checks"), escape(&checked), ""),
        (
            t("パッケージ", "Package"),
            escape(&format!(
                "{} ({})",
                r.package.file,
                i18n::size(r.package.bytes, lang)
            )),
            "",
        ),
        (
            t("照合用ハッシュ", "Package SHA-256"),
            escape(&r.package.sha256),
            " class=\"mono\"",
        ),
        (
            t("保管場所", "Kept at"),
            escape(&r.bag_directory.display().to_string()),
            "",
        ),
        (
            t("受領の記録", "Audit event"),
            escape(
                &r.audit
                    .as_ref()
                    .map(|a| format!("{}:{}", a.seq, a.head))
                    .unwrap_or_else(|| "—".into()),
            ),
            " class=\"mono\"",
        ),
    ];
    body.push_str("<table class=\"fields\">\n");
    for (k, v, class) in rows {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: &str) -> ReceivedItem {
        ReceivedItem {
            name: id.into(),
            files: 2,
            bytes: 1024,
        }
    }

    /// Noon UTC: the same day in every zone a test machine is likely in.
    fn noon(y: i32, m: u32, d: u32) -> ReceivedItem {
        snap(&format!("{y:04}{m:02}{d:02}T120000Z"))
    }

    #[test]
    fn snapshots_are_counted_by_the_month_they_were_taken_in() {
        let lines = snapshot_lines(
            &[noon(2024, 1, 31), noon(2024, 1, 15), noon(2024, 2, 29)],
            Lang::Ja,
        );
        let what: Vec<&str> = lines.iter().map(|l| l.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "令和6年1月分 2 件 (取得日 1月15日、1月31日)",
                "令和6年2月分 1 件 (取得日 2月29日)"
            ]
        );
        assert_eq!((lines[0].files, lines[0].bytes), (4, 2048));
        assert!(lines.iter().all(|l| l.kind == "暗号化されたバックアップ"));
    }

    #[test]
    fn more_than_twelve_months_of_snapshots_are_counted_by_year() {
        let mut all: Vec<ReceivedItem> = (1..=12).map(|m| noon(2023, m, 10)).collect();
        all.push(noon(2024, 1, 10));
        let lines = snapshot_lines(&all, Lang::Ja);
        let what: Vec<&str> = lines.iter().map(|l| l.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "令和5年分 12 件 (取得日 1月10日〜12月10日)",
                "令和6年分 1 件 (取得日 1月10日)"
            ]
        );
        let english = snapshot_lines(&all, Lang::En);
        assert_eq!(english[0].what, "Reiwa 5 (2023): 12 (taken 01-10 to 12-10)");
    }

    #[test]
    fn the_first_year_of_an_era_is_gannen_and_an_odd_name_is_kept() {
        assert_eq!(era_period(2019, Some(5), Lang::Ja), "令和元年5月");
        assert_eq!(era_period(2019, Some(4), Lang::Ja), "平成31年4月");
        assert_eq!(era_period(2024, Some(1), Lang::En), "Reiwa 6 (2024-01)");
        let lines = snapshot_lines(&[snap("manual-copy")], Lang::Ja);
        assert_eq!(lines[0].what, "manual-copy");
    }

    #[test]
    fn many_documents_share_one_line_naming_the_first_ones() {
        let docs: Vec<ReceivedItem> = (0..30).map(|i| snap(&format!("d{i:02}"))).collect();
        let lines = document_lines(&docs, Lang::Ja);
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].what.starts_with("30 件: 「d00」「d01」"),
            "{}",
            lines[0].what
        );
        assert!(
            lines[0].what.ends_with("「d23」 ほか 6 件"),
            "{}",
            lines[0].what
        );
        assert_eq!((lines[0].files, lines[0].bytes), (60, 30 * 1024));
        assert_eq!(document_lines(&docs[..8], Lang::Ja).len(), 8);
    }
}
