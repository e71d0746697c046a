//! 別添3 保守点検チェックシート 兼 報告書 for the 処理場管理事務所, every row
//! of the contract's sheet in its order. The rows kura can answer are ticked
//! from the inspection and the audit log: the three data-backup rows, the
//! system-log row and free space on each drive; every other row keeps its
//! two empty boxes for the engineer's pen.

use super::page::{banner, date_weekday, field, stamps, EMPTY, TICKED};
use super::MonthlyReport;
use crate::check::{sheet_space, Item};
use crate::html::escape;
use crate::i18n::Lang;

/// What kura fills into a row.
#[derive(Clone, Copy, PartialEq)]
enum Fill {
    /// The engineer's row.
    Pen,
    /// バックアップ用機器稼働状況: every destination connected and writable.
    Device,
    /// バックアップジョブのスケジュール稼働状況.
    Schedule,
    /// マスタバックアップの取得.
    Master,
    /// システムログの保存: a snapshot of the month holds the system logs.
    SystemLogs,
    /// The free-space rows of the server's drives (from `[[disks]]`).
    Space,
}

/// The sheet's rows: (大分類, 中分類, 点検実施項目, fill).
const ROWS: &[(&str, &str, &str, Fill)] = &[
    (
        "本体装置",
        "外観",
        "本体ランプに警告表示等がないか",
        Fill::Pen,
    ),
    (
        "本体装置",
        "外観",
        "異音・外部の破損などはないか",
        Fill::Pen,
    ),
    (
        "本体装置",
        "外観",
        "通気口に埃などがたまっていないか",
        Fill::Pen,
    ),
    (
        "本体装置",
        "OS",
        "ログオン時にエラーのポップアップがないか",
        Fill::Pen,
    ),
    (
        "本体装置",
        "OS",
        "Windows イベントビューア：修正を要するエラーがないか",
        Fill::Pen,
    ),
    ("本体装置", "OS", "システムログの保存", Fill::SystemLogs),
    (
        "本体装置",
        "状態監視ツール",
        "稼働状況にエラーがないか (CPU・メモリ・温度)",
        Fill::Pen,
    ),
    (
        "本体装置",
        "ハードディスク",
        "RAID システムの稼働状況 (RAID ユーティリティ等で確認)",
        Fill::Pen,
    ),
    (
        "本体装置",
        "ハードディスク",
        "各ハードディスクの稼働状況 (故障がないか)",
        Fill::Pen,
    ),
    ("本体装置", "ハードディスク", "空き容量", Fill::Space),
    (
        "本体装置",
        "ネットワーク",
        "ネットワーク接続の確認",
        Fill::Pen,
    ),
    (
        "周辺装置・ソフトウェア",
        "入力装置",
        "キーボード 動作",
        Fill::Pen,
    ),
    (
        "周辺装置・ソフトウェア",
        "入力装置",
        "マウス 動作",
        Fill::Pen,
    ),
    (
        "周辺装置・ソフトウェア",
        "モニタ",
        "外観検査：コネクタ、ケーブル等",
        Fill::Pen,
    ),
    ("周辺装置・ソフトウェア", "モニタ", "画面表示", Fill::Pen),
    (
        "周辺装置・ソフトウェア",
        "UPS",
        "装置状態：稼働状態ランプ・設置状況等",
        Fill::Pen,
    ),
    (
        "周辺装置・ソフトウェア",
        "UPS",
        "バッテリー状態：消耗度等",
        Fill::Pen,
    ),
    (
        "周辺装置・ソフトウェア",
        "UPS",
        "ランタイム上限：　　　分",
        Fill::Pen,
    ),
    (
        "周辺装置・ソフトウェア",
        "UPS",
        "電圧の上昇値・下降値：しきい値内か",
        Fill::Pen,
    ),
    (
        "周辺装置・ソフトウェア",
        "データバックアップ",
        "バックアップ用機器稼働状況",
        Fill::Device,
    ),
    (
        "周辺装置・ソフトウェア",
        "データバックアップ",
        "バックアップジョブのスケジュール稼働状況",
        Fill::Schedule,
    ),
    (
        "周辺装置・ソフトウェア",
        "データバックアップ",
        "マスタバックアップの取得",
        Fill::Master,
    ),
    (
        "周辺装置・ソフトウェア",
        "ルータ",
        "接続状況テスト",
        Fill::Pen,
    ),
    (
        "周辺装置・ソフトウェア",
        "ルータ",
        "機器ログ確認",
        Fill::Pen,
    ),
    (
        "パソコン",
        "ハードウェア",
        "ハードウェア診断の実施 (CPU・メモリ・HDD)",
        Fill::Pen,
    ),
    (
        "パソコン",
        "ハードウェア",
        "液晶ディスプレイに表示異常はないか",
        Fill::Pen,
    ),
    (
        "パソコン",
        "ハードウェア",
        "異音・外部の破損などはないか",
        Fill::Pen,
    ),
    (
        "パソコン",
        "ハードウェア",
        "キーボード・マウスの入力",
        Fill::Pen,
    ),
    (
        "パソコン",
        "OS",
        "サインイン時にエラーメッセージ等の表示がないか",
        Fill::Pen,
    ),
    (
        "パソコン",
        "OS",
        "HDD 空き容量 C [　　　GB / 128 GB]",
        Fill::Pen,
    ),
    (
        "他",
        "レーザープリンタ",
        "異音・外部の破損はないか",
        Fill::Pen,
    ),
    (
        "他",
        "レーザープリンタ",
        "印字テスト：正常に出力されているか",
        Fill::Pen,
    ),
];

/// The drives the sheet prints when the policy lists none: the contract's
/// server (C, D and the USB disk HDD1), left for the pen.
const SHEET_DRIVES: [(&str, &str); 3] = [("C", "499 GB"), ("D", "430 GB"), ("HDD1", "1.81 TB")];

/// One filled row: the item text, the boxes and the note.
struct Filled {
    item: String,
    ok: Option<bool>,
    note: String,
}

fn boxes(ok: Option<bool>) -> String {
    match ok {
        Some(true) => format!("{TICKED} {EMPTY}"),
        Some(false) => format!("{EMPTY} {TICKED}"),
        None => format!("{EMPTY} {EMPTY}"),
    }
}

fn items<'a>(r: &'a MonthlyReport, prefix: &'a str) -> impl Iterator<Item = &'a Item> + 'a {
    r.check
        .items
        .iter()
        .filter(move |i| i.key.starts_with(prefix))
}

/// The verdict of the check items with a key prefix: 指摘 if any is.
fn verdict(r: &MonthlyReport, prefix: &str) -> Option<bool> {
    let mut found = items(r, prefix).peekable();
    found.peek()?;
    Some(found.all(|i| i.status == "ok"))
}

const SEE_ANNEX: &str = "指摘あり (別紙 1 参照)";

fn fill(r: &MonthlyReport, text: &str, how: Fill) -> Vec<Filled> {
    let one = |ok: Option<bool>, good: String| {
        let note = match ok {
            Some(false) => SEE_ANNEX.to_string(),
            Some(true) => good,
            None => String::new(),
        };
        vec![Filled {
            item: escape(text),
            ok,
            note,
        }]
    };
    match how {
        Fill::Pen => one(None, String::new()),
        Fill::Device => {
            let n = items(r, "backup_device.").count();
            one(
                verdict(r, "backup_device."),
                format!("保存先 {n} 台 接続・登録済"),
            )
        }
        Fill::Schedule => one(
            verdict(r, "schedule"),
            format!("当月 {} 回取得", r.snapshots.len()),
        ),
        Fill::Master => one(verdict(r, "master_backup"), "最新分を照合済".into()),
        Fill::SystemLogs => {
            let n = r.system_logs_saved.len();
            let ok = Some(n > 0);
            let mut rows = one(ok, format!("当月 {n} 回保存"));
            if n == 0 {
                rows[0].note = "当月の保存なし".into();
            }
            rows
        }
        Fill::Space => space_rows(r),
    }
}

/// 空き容量: one row per drive of `[[disks]]` (a destination on the same
/// drive shares it), or the sheet's blank C / D / HDD1.
fn space_rows(r: &MonthlyReport) -> Vec<Filled> {
    let measured: Vec<&Item> = items(r, "free_space.").collect();
    if measured.is_empty() {
        return SHEET_DRIVES
            .iter()
            .map(|(label, size)| Filled {
                item: format!("空き容量　{label} [　　　　/ {size}]"),
                ok: None,
                note: String::new(),
            })
            .collect();
    }
    measured
        .iter()
        .map(|i| {
            let label = i.key.trim_start_matches("free_space.");
            let (text, usb) = match &i.space {
                Some(s) => (
                    sheet_space(label, s.free, s.total),
                    !s.destinations.is_empty(),
                ),
                None => (format!("{label} [　　　　/　　　　]"), false),
            };
            Filled {
                item: format!(
                    "空き容量　{}{}",
                    escape(&text),
                    if usb { "　USB 外付け" } else { "" }
                ),
                ok: Some(i.status == "ok"),
                note: if i.status == "ok" {
                    String::new()
                } else {
                    SEE_ANNEX.into()
                },
            }
        })
        .collect()
}

/// The table body, 大分類 and 中分類 spanning their rows.
fn table(r: &MonthlyReport) -> String {
    let rows: Vec<(&str, &str, Filled)> = ROWS
        .iter()
        .flat_map(|(g, s, text, how)| fill(r, text, *how).into_iter().map(move |f| (*g, *s, f)))
        .collect();
    let span = |from: usize, same: &dyn Fn(usize) -> bool| {
        (from..rows.len()).take_while(|&j| same(j)).count()
    };
    let mut out = String::new();
    for (i, (group, sub, f)) in rows.iter().enumerate() {
        out.push_str("<tr>");
        if i == 0 || rows[i - 1].0 != *group {
            let n = span(i, &|j| rows[j].0 == *group);
            out.push_str(&format!(
                "<th class=\"group\" rowspan=\"{n}\">{}</th>",
                escape(group)
            ));
        }
        if i == 0 || rows[i - 1].0 != *group || rows[i - 1].1 != *sub {
            let n = span(i, &|j| rows[j].0 == *group && rows[j].1 == *sub);
            out.push_str(&format!(
                "<th class=\"sub\" rowspan=\"{n}\">{}</th>",
                escape(sub)
            ));
        }
        out.push_str(&format!(
            "<td>{}</td><td class=\"box\">{}</td><td class=\"note\">{}</td></tr>\n",
            f.item,
            boxes(f.ok),
            escape(&f.note)
        ));
    }
    out
}

/// The sheet.
pub fn render(r: &MonthlyReport) -> String {
    let site = &r.site;
    format!(
        "<section class=\"sheet besshi3\">\n{banner}<p class=\"tag\">【別添3】</p>\n{stamps}<h1>保守点検チェックシート 兼 報告書</h1>\n\
<table class=\"head\"><tr><td>点検実施日：{date}</td><td>契約コード：{code}</td></tr>\n\
<tr><td>点検実施業者：{contractor}</td><td>履行場所：{place}</td></tr>\n\
<tr><td>対象月：{month}</td><td>形式等：{equipment}</td></tr></table>\n\
<table class=\"sheet\"><thead><tr><th colspan=\"3\">点検実施項目</th><th>正常/指摘</th><th>記入欄</th></tr></thead><tbody>\n{rows}</tbody></table>\n\
<table class=\"notes\"><tr><td>記入欄</td></tr><tr><td></td></tr><tr><td></td></tr></table>\n\
<table class=\"sign\"><tr><th>点<br>検<br>者</th><td></td><th>ご<br>確<br>認</th><td></td></tr></table>\n\
<p class=\"note\">☑ は kura が自動で確認した項目です (確認時点 {generated})。それ以外の項目は点検者が記入してください。詳細は別紙 1 のとおり。</p>\n\
</section>\n",
        banner = banner(r, Lang::Ja),
        stamps = stamps(&["所長", "係長", "係"]),
        date = date_weekday(r.generated_on),
        code = field(site.contract_code.as_deref()),
        contractor = field(site.contractor.as_deref()),
        place = escape(&site.name),
        month = escape(&r.month_wareki),
        equipment = field(site.equipment.as_deref()),
        rows = table(r),
        generated = escape(&super::shown(&r.generated_at)),
    )
}
