//! What the erasure papers share: the A4 page, the letterhead addressed to
//! the city, the name of each item's medium, the grouping of items by
//! snapshot and medium, and the ways sizes and dates are printed.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate};
use serde_json::Value;

use crate::erasure::{Item, Request};
use crate::html::escape;
use crate::i18n::{self, Lang};
use crate::policy::{Policy, Site};
use crate::report::page::{self, field};
use crate::wareki;

/// The styles of the erasure papers, after the monthly forms' own.
const STYLE: &str = r#"
section.paper { font-size: 8.5pt; }
.number { text-align: right; margin: 0; }
.addressee { font-size: 10.5pt; margin: 2mm 0; }
.center { text-align: center; }
table.fields { width: 100%; margin: 1mm 0 2mm; }
table.fields th { width: 27mm; background: #f2f2f2; white-space: nowrap; vertical-align: top; }
table.fields td { vertical-align: top; }
table.fields td.mono, .mono { font-family: monospace; font-size: 6.5pt; overflow-wrap: anywhere; }
div.list { column-count: 3; column-gap: 4mm; font-size: 6.8pt; line-height: 1.2; margin: 1mm 0 1mm; }
div.list p.group { font-weight: bold; margin: 0.8mm 0 0.3mm; break-inside: avoid; break-after: avoid; }
div.list .dir { font-weight: normal; font-size: 5.5pt; overflow-wrap: anywhere; }
div.list div.item { display: flex; gap: 1.5mm; break-inside: avoid; }
div.list div.item .n { min-width: 6mm; text-align: right; }
div.list div.item .name { flex: 1; overflow-wrap: anywhere; }
div.list div.item .size { white-space: nowrap; }
table.items { width: 100%; font-size: 7pt; line-height: 1.2; table-layout: fixed; }
table.items th { background: #f2f2f2; }
table.items td, table.items th { padding: 0.3mm 1mm; }
table.items tr { break-inside: avoid; }
table.items td.group { font-weight: bold; background: #fafafa; overflow-wrap: anywhere; }
table.items td.name { overflow-wrap: anywhere; }
table.items td.sha { font-family: monospace; font-size: 5.2pt; white-space: nowrap; overflow: hidden; }
table.items td.size { white-space: nowrap; }
table.items .exact { font-size: 5.5pt; }
table.approval { margin-top: 2mm; }
div.city { display: flex; gap: 3mm; align-items: flex-start; }
div.city table.approval { flex: 1; margin-top: 0; }
table.approval th { width: 18mm; }
table.approval td { height: 6.5mm; }
table.signs { width: 100%; margin-top: 2mm; }
table.signs th { text-align: center; width: 33%; }
table.signs td { height: 14mm; }
table.items.received { margin: 0; font-size: 7.5pt; }
table.fields table.items.received th { width: auto; white-space: normal; }
table.items.received col.kind { width: 36mm; }
table.items.received col.files { width: 17mm; }
table.items.received col.size { width: 24mm; }
table.items.received tr.total td { border-top: 0.5mm double #000; }
table.fields td.inner { padding: 0.8mm; }
table.signs.seal { table-layout: fixed; }
table.signs.seal th { width: 23%; }
table.signs.seal th.seal { width: 8%; }
"#;

/// A whole document: one or more A4 sheets of `body`.
pub fn page(title: &str, lang: Lang, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{}{STYLE}</style>\n</head>\n<body>\n<section class=\"paper\">\n{body}</section>\n</body>\n</html>\n",
        lang.pick("ja", "en"),
        escape(title),
        page::STYLE,
    )
}

/// The head of a paper to the city: its number and date on the right, the
/// addressee (`[site] addressee`, e.g. 札幌市長 様) and the contractor's
/// address, name and representative with the seal's place — a blank line
/// for the pen wherever the policy has none.
pub fn letterhead(site: &Site, number: &str, date: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!(
            "<p class=\"number\">第 {} 号</p>\n<p class=\"number\">{}</p>\n\
<p class=\"addressee\">{}　様</p>\n\
<div class=\"addr\"><p>住　　所　{}</p><p>会 社 名　{}</p><p>代表者名　{}　　　印</p></div>\n",
            escape(number),
            page::date(date),
            field(site.addressee.as_deref()),
            field(site.address.as_deref()),
            field(site.contractor.as_deref()),
            field(site.representative.as_deref()),
        ),
        Lang::En => format!(
            "<p class=\"number\">No. {}</p>\n<p class=\"number\">{}</p>\n\
<p class=\"addressee\">To: {}</p>\n\
<div class=\"addr\"><p>Address: {}</p><p>Company: {}</p><p>Representative: {}　(seal)</p></div>\n",
            escape(number),
            escape(&wareki::format_en(date)),
            field(site.addressee.as_deref()),
            field(site.address.as_deref()),
            field(site.contractor.as_deref()),
            field(site.representative.as_deref()),
        ),
    }
}

/// A date-time as the papers print it: 和暦 and Gregorian, local time.
pub fn when(rfc3339: &str, lang: Lang) -> String {
    match DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => {
            let local = t.with_timezone(&chrono::Local);
            let date = local.date_naive();
            match lang {
                Lang::Ja => format!("{} {}", wareki::format_both(date), local.format("%H:%M")),
                Lang::En => format!("{} {}", wareki::format_en(date), local.format("%H:%M")),
            }
        }
        Err(_) => rfc3339.to_string(),
    }
}

/// A `YYYY-MM-DD` date in 和暦 (or the era calendar in English).
pub fn day(text: &str, lang: Lang) -> String {
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(d) => match lang {
            Lang::Ja => wareki::format_both(d),
            Lang::En => wareki::format_en(d),
        },
        Err(_) => text.to_string(),
    }
}

/// A number with thousands separators: 1,288,490,188.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size as a person reads it with the exact count beside it:
/// `1.20 GB (1,288,490,188 バイト)`.
pub fn size_exact(n: u64, lang: Lang) -> String {
    if n < 1024 {
        return i18n::size(n, lang);
    }
    format!(
        "{} ({} {})",
        i18n::size(n, lang),
        thousands(n),
        lang.pick("バイト", "bytes")
    )
}

/// The quantity of a request: `42 件、合計 1.20 GB (1,288,490,188 バイト)`.
pub fn quantity(req: &Request, lang: Lang) -> String {
    let n = req.items.len();
    let bytes = req.bytes();
    match lang {
        Lang::Ja if bytes == 0 => format!("{n} 件"),
        Lang::Ja => format!("{n} 件、合計 {}", size_exact(bytes, lang)),
        Lang::En if bytes == 0 => format!("{n} items"),
        Lang::En => format!("{n} items, {} in all", size_exact(bytes, lang)),
    }
}

/// A path as printed: without `.` and `..` (requests made before paths
/// were normalised at request time still print `site/../x` as `x`).
pub fn display_path(path: &str) -> String {
    crate::erasure::lexical(Path::new(path))
        .display()
        .to_string()
}

/// The name of a medium entry of `details.media`: a destination by its
/// label and registered volume, a `[[disks]]` drive as the server's drive,
/// anything else by the root it is under.
pub fn medium_name(entry: &Value, lang: Lang) -> String {
    let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
    match entry.get("kind").and_then(Value::as_str) {
        Some("disk") => {
            let label = text("disk").unwrap_or_default();
            let drive = label.len() == 1 && label.chars().all(|c| c.is_ascii_alphabetic());
            match (lang, drive) {
                (Lang::Ja, true) => format!("サーバの {label} ドライブ"),
                (Lang::En, true) => format!("the server's drive {label}"),
                (Lang::Ja, false) => format!("{label} (サーバに接続)"),
                (Lang::En, false) => format!("{label} (on the server)"),
            }
        }
        Some("unknown") => {
            let root = text("path").unwrap_or_default();
            match lang {
                Lang::Ja => format!("その他の記録媒体 ({root})"),
                Lang::En => format!("another medium ({root})"),
            }
        }
        // Destinations, and the entries of requests made before `kind`.
        _ => {
            let label = text("label")
                .or_else(|| text("destination"))
                .unwrap_or_default();
            match text("volume") {
                Some(v) => format!("{label} {} {v}", lang.pick("登録番号", "volume")),
                None => label,
            }
        }
    }
}

/// The medium entry an item is on: the entry listing its number, else (for
/// requests made before entries listed items) its destination's.
pub fn medium_of<'a>(req: &'a Request, item: &Item) -> Option<&'a Value> {
    let media = req.details.get("media")?.as_array()?;
    let listed = media.iter().find(|m| {
        m.get("items")
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|n| n.as_u64() == Some(u64::from(item.n))))
    });
    listed.or_else(|| {
        let dest = item.destination.as_deref()?;
        media
            .iter()
            .find(|m| m.get("destination").and_then(Value::as_str) == Some(dest))
    })
}

/// Items printed together: one snapshot on one destination, or the files
/// on one medium, or the media to destroy.
pub struct Group<'a> {
    /// The heading: what the items are and where.
    pub title: String,
    /// The medium's name.
    pub medium: String,
    /// The items' common directory, printed once in the heading.
    pub dir: Option<String>,
    /// The items, in request order.
    pub items: Vec<&'a Item>,
}

impl Group<'_> {
    /// The name of an item within its group: the path below the group's
    /// directory, or the medium's description.
    pub fn name(&self, item: &Item) -> String {
        let Some(path) = item.path.as_deref().map(display_path) else {
            return item.target.clone();
        };
        match &self.dir {
            Some(dir) => Path::new(&path)
                .strip_prefix(dir)
                .map(|p| p.display().to_string())
                .unwrap_or(path),
            None => path,
        }
    }
}

/// The items of a request grouped by snapshot and destination, or medium,
/// in the order they first appear.
pub fn groups<'a>(req: &'a Request, lang: Lang) -> Vec<Group<'a>> {
    let mut keys: Vec<(String, Option<String>, String)> = Vec::new();
    let mut out: Vec<Group<'a>> = Vec::new();
    for item in &req.items {
        let medium = medium_of(req, item)
            .map(|m| medium_name(m, lang))
            .unwrap_or_else(|| {
                item.destination
                    .clone()
                    .unwrap_or_else(|| lang.pick("記録媒体", "medium").into())
            });
        let target = (item.kind == "snapshot").then(|| item.target.clone());
        let key = (item.kind.clone(), target, medium.clone());
        let at = match keys.iter().position(|k| *k == key) {
            Some(at) => at,
            None => {
                keys.push(key);
                out.push(Group {
                    title: group_title(item, &medium, lang),
                    medium,
                    dir: None,
                    items: Vec::new(),
                });
                out.len() - 1
            }
        };
        out[at].items.push(item);
    }
    for g in &mut out {
        g.dir = common_dir(&g.items);
    }
    out
}

/// The local day a snapshot was taken, from its id (`YYYYMMDDTHHMMSSZ`).
pub fn taken_day(id: &str) -> Option<NaiveDate> {
    let t = chrono::NaiveDateTime::parse_from_str(id, "%Y%m%dT%H%M%SZ").ok()?;
    Some(t.and_utc().with_timezone(&chrono::Local).date_naive())
}

/// The day a snapshot was taken, from its id, as the papers print it.
pub fn taken_on(id: &str, lang: Lang) -> Option<String> {
    let d = taken_day(id)?;
    Some(match lang {
        Lang::Ja => wareki::format_ja(d),
        Lang::En => d.format("%Y-%m-%d").to_string(),
    })
}

fn group_title(item: &Item, medium: &str, lang: Lang) -> String {
    match item.kind.as_str() {
        "snapshot" => {
            let taken = match (taken_on(&item.target, lang), lang) {
                (Some(d), Lang::Ja) => format!(" (取得日 {d})"),
                (Some(d), Lang::En) => format!(" (taken {d})"),
                _ => String::new(),
            };
            match lang {
                Lang::Ja => format!("スナップショット {}{taken} ／ {medium}", item.target),
                Lang::En => format!("snapshot {}{taken} on {medium}", item.target),
            }
        }
        "medium" => lang.pick("記録媒体", "media").to_string(),
        kind => format!(
            "{} ／ {medium}",
            match (kind, lang) {
                ("identity", Lang::Ja) => "秘密鍵ファイル",
                ("identity", Lang::En) => "identity files",
                (_, Lang::Ja) => "ファイル",
                (_, Lang::En) => "files",
            }
        ),
    }
}

/// Each medium of the groups with the number of items on it, in order.
pub fn media_counts(groups: &[Group]) -> Vec<(String, usize)> {
    let mut media: Vec<(String, usize)> = Vec::new();
    for g in groups {
        match media.iter_mut().find(|(m, _)| *m == g.medium) {
            Some((_, n)) => *n += g.items.len(),
            None => media.push((g.medium.clone(), g.items.len())),
        }
    }
    media
}

/// `42 件` / `42 item(s)`.
pub fn count(n: usize, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("{n} 件"),
        Lang::En => format!("{n} item(s)"),
    }
}

/// The longest directory every item's path is in (none for media, or when
/// it is only the root).
fn common_dir(items: &[&Item]) -> Option<String> {
    let mut paths = items.iter().map(|i| i.path.as_deref().map(display_path));
    let first = PathBuf::from(paths.next()??);
    let mut common: PathBuf = first.parent()?.to_path_buf();
    for p in paths {
        let p = PathBuf::from(p?);
        while !p.starts_with(&common) {
            if !common.pop() {
                return None;
            }
        }
    }
    (common.components().count() > 1).then(|| common.display().to_string())
}

/// What the items of a snapshot copy hold, from their file names: the
/// sources' labels (マスタデータ, ログ), the audit copy, the checksums.
pub fn contents(policy: &Policy, group: &Group, lang: Lang) -> Vec<String> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for item in &group.items {
        let Some(name) = item
            .path
            .as_deref()
            .and_then(|p| Path::new(p).file_name())
            .map(|n| n.to_string_lossy().to_string())
        else {
            continue;
        };
        if let Some(label) = file_label(policy, &name, lang) {
            if !out.iter().any(|(_, l)| *l == label) {
                out.push((rank(policy, &name), label));
            }
        }
    }
    // The sources in the policy's order, then the audit copy, then the rest.
    out.sort_by_key(|(rank, _)| *rank);
    out.into_iter().map(|(_, label)| label).collect()
}

fn rank(policy: &Policy, name: &str) -> usize {
    let archive = name.strip_suffix(crate::snapshot::ARCHIVE_SUFFIX);
    match archive {
        Some(crate::snapshot::AUDIT_ARCHIVE) => policy.sources.len(),
        Some(source) => policy
            .sources
            .iter()
            .position(|s| s.name == source)
            .unwrap_or(policy.sources.len()),
        None => policy.sources.len() + 1,
    }
}

/// What a file of a snapshot is, as a person reads it.
pub fn file_label(policy: &Policy, name: &str, lang: Lang) -> Option<String> {
    let archive = name.strip_suffix(crate::snapshot::ARCHIVE_SUFFIX);
    if archive == Some(crate::snapshot::AUDIT_ARCHIVE) {
        return Some(lang.pick("監査ログの写し", "audit log copy").into());
    }
    if let Some(source) = archive {
        return Some(
            policy
                .sources
                .iter()
                .find(|s| s.name == source)
                .map(|s| s.label.clone())
                .unwrap_or_else(|| source.to_string()),
        );
    }
    match name {
        "SHA256SUMS" | "SHA256SUMS.minisig" | "snapshot.json" => Some(
            lang.pick("チェックサム・署名・目録", "checksums, signature, manifest")
                .into(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_288_490_188), "1,288,490,188");
    }

    #[test]
    fn display_path_drops_dot_and_dot_dot() {
        let p = display_path(&format!(
            "{}site{}..{}restore{}.{}x",
            std::path::MAIN_SEPARATOR,
            std::path::MAIN_SEPARATOR,
            std::path::MAIN_SEPARATOR,
            std::path::MAIN_SEPARATOR,
            std::path::MAIN_SEPARATOR
        ));
        assert_eq!(
            PathBuf::from(p),
            Path::new(&std::path::MAIN_SEPARATOR.to_string())
                .join("restore")
                .join("x")
        );
    }

    #[test]
    fn a_drive_letter_disk_is_named_as_the_servers_drive() {
        let disk = serde_json::json!({"kind": "disk", "disk": "C", "path": "C:\\"});
        assert_eq!(medium_name(&disk, Lang::Ja), "サーバの C ドライブ");
        let dest = serde_json::json!({"kind": "destination", "destination": "hdd1",
            "label": "USB外付けHDD (HDD1)", "volume": "KURA-1"});
        assert_eq!(
            medium_name(&dest, Lang::Ja),
            "USB外付けHDD (HDD1) 登録番号 KURA-1"
        );
    }
}
