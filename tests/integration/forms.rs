//! The city's monthly forms as printed: `kura report monthly` gives 別添3,
//! 別添4 (完了届) and 別添7 each on one A4 sheet, in filing order, with every
//! row and line of the contract's forms, filled from the audit log, and no
//! English word a clerk would have to read.

use std::fs;

use super::paper::{self, english_words, squeeze, Printed};
use super::util::{Site, OPERATOR};

/// The 3rd-column items of 別添3 for the 処理場管理事務所, as the contract's
/// sheet prints them (maintenance-spec-ja.md), and its headings.
const BESSHI3_LABELS: &[&str] = &[
    "【別添3】",
    "所長",
    "係長",
    "係",
    "保守点検チェックシート兼報告書",
    "点検実施日",
    "点検実施業者",
    "契約コード",
    "履行場所",
    "形式等",
    "点検実施項目",
    "正常/指摘",
    "記入欄",
    "本体装置",
    "外観",
    "本体ランプに警告表示等がないか",
    "異音・外部の破損などはないか",
    "通気口に埃などがたまっていないか",
    "ログオン時にエラーのポップアップがないか",
    "Windowsイベントビューア：修正を要するエラーがないか",
    "システムログの保存",
    "状態監視ツール",
    "稼働状況にエラーがないか(CPU・メモリ・温度)",
    "ハードディスク",
    "RAIDシステムの稼働状況(RAIDユーティリティ等で確認)",
    "各ハードディスクの稼働状況(故障がないか)",
    "空き容量",
    "C[",
    "D[",
    "HDD1[",
    "USB外付け",
    "ネットワーク接続の確認",
    "周辺装置・ソフトウェア",
    "入力装置",
    "キーボード動作",
    "マウス動作",
    "モニタ",
    "外観検査：コネクタ、ケーブル等",
    "画面表示",
    "UPS",
    "装置状態：稼働状態ランプ・設置状況等",
    "バッテリー状態：消耗度等",
    "ランタイム上限：",
    "電圧の上昇値・下降値：しきい値内か",
    "データバックアップ",
    "バックアップ用機器稼働状況",
    "バックアップジョブのスケジュール稼働状況",
    "マスタバックアップの取得",
    "ルータ",
    "接続状況テスト",
    "機器ログ確認",
    "パソコン",
    "ハードウェア",
    "ハードウェア診断の実施(CPU・メモリ・HDD)",
    "液晶ディスプレイに表示異常はないか",
    "キーボード・マウスの入力",
    "サインイン時にエラーメッセージ等の表示がないか",
    "HDD空き容量C[",
    "128GB]",
    "他",
    "レーザープリンタ",
    "異音・外部の破損はないか",
    "印字テスト：正常に出力されているか",
    "点検者",
    "ご確認",
];

/// Every line of 別添7 (maintenance-spec-ja.md), white space removed.
const BESSHI7_LINES: &[&str] = &[
    "【別添7】",
    "個人情報取扱状況報告書",
    "札幌市長",
    "様",
    "住所",
    "会社名",
    "代表者名",
    "個人情報取扱安全管理基準及び個人情報の取扱いに関する特記事項に基づき実施している安全管理対策の実施状況について下記のとおり報告いたします。",
    "記",
    "受託業務名",
    "受託期間",
    "対象期間",
    "安全管理対策の実施状況",
    "1当該業務において、標記の基準及び特記事項に従い、安全管理対策を適切に実施しています。また、個人情報取扱安全管理基準適合申出書の提出時点からの変更有無等について、以下のとおり報告いたします。",
    "(1)従業者の指定、教育及び監督",
    "(2)管理区域の設定及び安全管理措置の実施",
    "(3)セキュリティ強化のための管理策",
    "(4)事件・事故における報告連絡体制",
    "（発生した場合）事件・事故の状況：",
    "(5)情報資産の搬送及び持ち運ぶ際の保護体制",
    "（実績ある場合）概要：",
    "(6)関係法令の遵守",
    "(7)定期監査の実施",
    "(8)その他個人情報取扱安全管理基準適合申出書からの変更",
    "変更なし・",
    "変更あり",
    "2その他特記事項等",
];

/// The lines of 別添4 (完了届).
const BESSHI4_LINES: &[&str] = &[
    "【別添4】",
    "完了届",
    "(あて先)札幌市長",
    "住所",
    "商号又は名称",
    "職・氏名",
    "印",
    "名称し尿くみ取り世帯管理システム保守業務",
    "上記役務は、令和",
    "に完了したのでお届けします。",
    "(なお、完了した役務の内容は、作業日誌等にて逐次報告したとおりです。)",
    "備考札幌市競争入札参加資格者(物品・役務)は、電子メールによる提出(押印不要)を可とする。",
    "(以下、札幌市使用欄)",
    "受付",
    "完了を確認した職員",
    "課長",
    "上記のとおり完了届の提出があったので、この役務の履行検査に係る検査員及び立会人については次の者に命じ、",
    "に検査を実施してよろしいか。",
    "検査員",
    "立会人",
];

/// A site whose policy has the forms' fields and the server's drives.
fn city_site() -> Site {
    let site = Site::new();
    fs::create_dir_all(site.root.join("server-d")).unwrap();
    let policy = site
        .policy_text(&[&site.volume])
        .replace(
            "contract_start = 2023-10-01",
            "contractor = \"株式会社サンプル保守\"\ncontract_code = \"R5-0000\"\n\
             addressee = \"札幌市長\"\naddress = \"札幌市中央区北1条西2丁目\"\n\
             representative = \"代表取締役 札幌 一郎\"\n\
             work_name = \"し尿くみ取り世帯管理システム保守業務\"\n\
             equipment = \"FUJITSU PRIMERGY TX1320\"\ncontract_start = 2023-10-01",
        )
        .replace(
            "name = \"hdd1\"\n",
            "name = \"hdd1\"\nlabel = \"USB外付けHDD (HDD1)\"\n",
        )
        + "\n[[disks]]\nlabel = \"C\"\npath = \"data\"\n\n[[disks]]\nlabel = \"D\"\npath = \"server-d\"\n\n\
           [[disks]]\nlabel = \"HDD1\"\npath = \"usb\"\n";
    site.write_policy(&policy);
    site
}

fn at(site: &Site, now: &str) -> assert_cmd::Command {
    let mut c = site.kura();
    c.env("KURA_NOW", now).args(["--operator", OPERATOR]);
    c
}

/// January: a backup, a full verify, a typo'd name and a wrong key (two
/// mistakes), and a backup with the disk pulled (an operational failure).
fn a_month(site: &Site) {
    at(site, "2024-01-30T01:00:00Z")
        .arg("backup")
        .assert()
        .success();
    at(site, "2024-01-30T02:00:00Z")
        .args(["verify", "-i"])
        .arg(&site.identity)
        .assert()
        .success();
    site.kura()
        .env("KURA_NOW", "2024-01-30T03:00:00Z")
        .args(["--operator", "山田 太朗", "backup"])
        .assert()
        .code(4);
    let wrong = site.root.join("wrong-identity.txt");
    kura::keys::generate_age_identity(&wrong, None, chrono::Utc::now()).unwrap();
    at(site, "2024-01-30T04:00:00Z")
        .args(["verify", "-i"])
        .arg(&wrong)
        .assert()
        .code(3);
    fs::rename(site.root.join("usb"), site.root.join("usb-pulled")).unwrap();
    at(site, "2024-01-30T05:00:00Z")
        .arg("backup")
        .assert()
        .code(3);
    fs::rename(site.root.join("usb-pulled"), site.root.join("usb")).unwrap();
}

fn report(site: &Site, lang: &str) -> std::path::PathBuf {
    let out = site.root.join(format!("monthly-{lang}.html"));
    site.kura()
        .env("KURA_NOW", "2024-01-31T01:00:00Z")
        .args([
            "--lang", lang, "report", "monthly", "--month", "2024-01", "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    out
}

fn printed_report(site: &Site) -> Option<Printed> {
    if !paper::printable("the monthly report") {
        return None;
    }
    a_month(site);
    Some(paper::print(&report(site, "ja")))
}

fn missing(p: &Printed, page: usize, wanted: &[&str]) -> Vec<String> {
    wanted
        .iter()
        .filter(|w| !p.page_has(page, w))
        .map(|w| w.to_string())
        .collect()
}

#[test]
fn the_monthly_report_gives_besshi3_besshi4_and_besshi7_one_sheet_each_then_the_annex() {
    let site = city_site();
    let Some(p) = printed_report(&site) else {
        return;
    };
    // Each form begins a sheet and ends on it: its first and last lines
    // are there, and the next sheet has the next form. (The report is made
    // under KURA_NOW, so every sheet also carries the rehearsal banner.)
    for (n, first, last) in [
        (1, "【別添3】", "ご確認"),
        (2, "【別添4】", "立会人"),
        (3, "【別添7】", "2その他特記事項等"),
        (4, "別紙", "1.点検項目の詳細"),
    ] {
        assert!(
            p.page_has(n, first),
            "sheet {n} without {first}: {}",
            p.page(n)
        );
        assert!(
            p.page_has(n, last),
            "sheet {n} without {last}: {}",
            p.page(n)
        );
        assert!(p.page_has(n, "リハーサル"), "sheet {n} without the banner");
    }
    assert!(!p.page_has(1, "完了届") && !p.page_has(2, "個人情報取扱状況報告書"));
}

#[test]
fn besshi3_has_every_row_of_the_contracts_sheet_and_kura_ticks_its_own() {
    let site = city_site();
    let Some(p) = printed_report(&site) else {
        return;
    };
    let absent = missing(&p, 1, BESSHI3_LABELS);
    assert!(absent.is_empty(), "missing {absent:?} in\n{}", p.page(1));
    let sheet = squeeze(p.page(1));
    // Filled from the policy.
    for v in [
        "株式会社サンプル保守",
        "R5-0000",
        "FUJITSUPRIMERGYTX1320",
        "令和6年1月31日(水)",
    ] {
        assert!(sheet.contains(v), "{v} in\n{}", p.page(1));
    }
    // Ticked by kura: システムログの保存 and the three data-backup rows.
    for row in [
        "システムログの保存☑☐",
        "バックアップジョブのスケジュール稼働状況☑☐",
        "マスタバックアップの取得☑☐",
    ] {
        assert!(sheet.contains(row), "{row} in\n{}", p.page(1));
    }
    // The engineer's rows keep both boxes empty.
    assert!(sheet.contains("本体ランプに警告表示等がないか☐☐"));
    // HDD1 is one row: the [[disks]] entry and the destination on it.
    assert_eq!(sheet.matches("HDD1[").count(), 1, "{}", p.page(1));
}

#[test]
fn besshi4_and_besshi7_have_every_line_of_the_contracts_forms() {
    let site = city_site();
    let Some(p) = printed_report(&site) else {
        return;
    };
    let absent = missing(&p, 2, BESSHI4_LINES);
    assert!(
        absent.is_empty(),
        "別添4 missing {absent:?} in\n{}",
        p.page(2)
    );
    let absent = missing(&p, 3, BESSHI7_LINES);
    assert!(
        absent.is_empty(),
        "別添7 missing {absent:?} in\n{}",
        p.page(3)
    );
    let b7 = squeeze(p.page(3));
    for v in [
        "札幌市中央区北1条西2丁目",
        "代表取締役札幌一郎",
        "令和5年10月1日～令和6年3月31日",
        "令和6年1月1日～令和6年1月31日",
    ] {
        assert!(b7.contains(v), "{v} in\n{}", p.page(3));
    }
}

#[test]
fn besshi7_counts_the_failure_but_not_the_mistakes_and_the_annex_gives_their_reasons() {
    let site = city_site();
    let Some(p) = printed_report(&site) else {
        return;
    };
    let b7 = squeeze(p.page(3));
    assert!(
        b7.contains("事件・事故の状況：運用上の失敗1件"),
        "one failure (the pulled disk), not the typo or the wrong key:\n{}",
        p.page(3)
    );
    let annex = squeeze(&p.text);
    assert!(annex.contains("操作ミス:規則による拒否"), "the typo'd name");
    assert!(
        annex.contains("操作ミス:鍵またはパスフレーズの誤り"),
        "the wrong key"
    );
    // Only the successful full verify counts.
    assert!(
        annex.contains("うち全件復号検証(正常終了)1件"),
        "{}",
        p.text
    );
}

#[test]
fn a_japanese_report_has_no_english_word_on_any_sheet() {
    let site = city_site();
    let Some(p) = printed_report(&site) else {
        return;
    };
    let found = english_words(&p.text);
    assert!(found.is_empty(), "English words {found:?} in\n{}", p.text);
}

#[test]
fn a_report_of_a_past_month_lists_its_backups_after_they_were_pruned() {
    let site = city_site();
    at(&site, "2024-01-30T01:00:00Z")
        .arg("backup")
        .assert()
        .success();
    // The snapshot is gone from the disk (say, erased); the log still knows.
    fs::remove_dir_all(site.root.join("usb/kura/snapshots")).unwrap();
    let out = site
        .kura()
        .env("KURA_NOW", "2024-03-01T01:00:00Z")
        .args([
            "report", "monthly", "--month", "2024-01", "--format", "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let snapshots = r["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 1, "{r}");
    assert_eq!(snapshots[0]["destinations"][0], "hdd1");
    assert_eq!(r["system_logs_saved"].as_array().unwrap().len(), 1);
}
