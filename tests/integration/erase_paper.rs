//! The erasure papers as printed: the written request of 第13条2 (消去依頼書)
//! on one A4 sheet for 42 items, and the certificate of the same 42 items on
//! at most two, addressed to the city, each item on its real medium, sizes
//! a person reads, paths without `..`, and no English word under Japanese.

use std::fs;

use super::erase::{at, json, APPROVER};
use super::paper::{self, english_words, Printed};
use super::util::{have_tool, Site, OPERATOR};

/// Months November 2023 to April 2024 on two disks, with the forms' fields
/// and the server's drives in the policy.
fn city_site() -> (Site, Vec<String>) {
    let site = Site::new();
    let policy = site
        .with_second_destination(&site.policy_text(&[&site.volume]))
        .replace(
            "contract_start = 2023-10-01",
            "contractor = \"株式会社サンプル保守\"\naddressee = \"札幌市長\"\n\
             address = \"札幌市中央区北1条西2丁目\"\nrepresentative = \"代表取締役 札幌 一郎\"\n\
             work_name = \"し尿くみ取り世帯管理システム保守業務\"\ncontract_start = 2023-10-01",
        )
        .replace(
            "name = \"hdd1\"\n",
            "name = \"hdd1\"\nlabel = \"USB外付けHDD (HDD1)\"\n",
        )
        .replace(
            "name = \"hdd2\"\n",
            "name = \"hdd2\"\nlabel = \"USB外付けHDD (HDD2)\"\n",
        )
        .replace(
            "name = \"system-logs\"\n",
            "name = \"system-logs\"\nlabel = \"システムログ\"\n",
        )
        .replace(
            "name = \"app-logs\"\n",
            "name = \"app-logs\"\nlabel = \"業務ログ\"\n",
        )
        + "\n[retention]\nkeep_monthly = 3\nkeep_yearly = 0\n\n\
           [[disks]]\nlabel = \"C\"\npath = \"data\"\n\n[[disks]]\nlabel = \"HDD1\"\npath = \"usb\"\n";
    site.write_policy(&policy);
    let mut ids = Vec::new();
    for m in [11, 12, 1, 2, 3, 4] {
        let y = if m > 10 { 2023 } else { 2024 };
        at(&site, &format!("{y}-{m:02}-05T01:00:00Z"))
            .arg("backup")
            .assert()
            .success();
        ids.push(format!("{y}{m:02}05T010000Z"));
    }
    (site, ids)
}

/// A request of 42 items: two snapshots on both disks (28 files) and 14
/// restored files on the server's drive C, one given as `data/../restore/…`.
fn forty_two(site: &Site, ids: &[String]) -> String {
    let restore = site.root.join("restore");
    fs::create_dir_all(&restore).unwrap();
    let mut cmd = at(site, "2024-04-20T00:00:00Z");
    cmd.args(["--json", "erase", "request"]);
    for id in &ids[..2] {
        cmd.args(["--snapshot", id]);
    }
    for i in 1..=14 {
        let f = restore.join(format!("世帯台帳-{i:02}.csv"));
        fs::write(&f, format!("{i},札幌市,…\n").repeat(200 * i)).unwrap();
        if i == 1 {
            cmd.arg("--file")
                .arg(format!("data/../restore/世帯台帳-{i:02}.csv"));
        } else {
            cmd.arg("--file").arg(&f);
        }
    }
    cmd.args([
        "--method",
        "overwrite",
        "--planned",
        "2024-05-01",
        "--reason",
        "保存期間満了",
    ]);
    let out = cmd.assert().success().get_output().stdout.clone();
    let v = json(&out);
    assert_eq!(v["request"]["items"].as_array().unwrap().len(), 42);
    v["id"].as_str().unwrap().to_string()
}

fn no_english(p: &Printed, what: &str) {
    let found = english_words(&p.text);
    assert!(
        found.is_empty(),
        "English in the Japanese {what}: {found:?}\n{}",
        p.text
    );
}

#[test]
fn the_request_form_of_42_items_is_one_sheet_with_every_field_of_article_13() {
    if !paper::printable("the erasure request form") {
        return;
    }
    let (site, ids) = city_site();
    let id = forty_two(&site, &ids);
    let out = site
        .kura()
        .args(["--lang", "ja", "erase", "form", &id, "--out", "form.html"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("form.html"));
    let form = site.root.join("form.html");
    let printed = paper::print(&form);
    assert_eq!(printed.pages, 1, "one A4 sheet:\n{}", printed.text);
    for label in [
        "札幌市長様",
        "代表取締役札幌一郎",
        "個人情報の消去申請書",
        "第13条第2項",
        "1項目",
        "2媒体名",
        "3数量",
        "4方法",
        "5処理予定日",
        "6理由",
        "7依頼者",
        "42件",
        "USB外付けHDD(HDD1)",
        "USB外付けHDD(HDD2)",
        "サーバのCドライブ",
        "令和6年5月1日",
        "保存期間満了",
        OPERATOR,
        "マスターデータ",
        "監査ログの写し",
        "承諾する",
        "承諾しない",
        "立会い",
        "業務主任",
    ] {
        assert!(printed.page_has(1, label), "no {label}:\n{}", printed.text);
    }
    // Every item is listed, by number, the 42nd too.
    assert!(printed.page_has(1, "世帯台帳-14.csv"));
    assert!(!printed.text.contains(".."), "paths normalised");
    no_english(&printed, "request form");
    // Signed, since the policy has [signing].
    let sig = site.root.join("form.html.minisig");
    assert!(sig.is_file(), "the form is signed");
    if have_tool("minisign") {
        let ok = std::process::Command::new("minisign")
            .arg("-Vm")
            .arg(&form)
            .arg("-p")
            .arg(site.root.join("keys/kura.pub"))
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert!(String::from_utf8_lossy(&ok.stdout).contains(&format!("kura-erasure-request {id}")));
    }
    // The JSON form carries the same request.
    site.kura()
        .args([
            "erase",
            "form",
            &id,
            "--format",
            "json",
            "--out",
            "form.json",
        ])
        .assert()
        .success();
    let v: serde_json::Value =
        serde_json::from_slice(&fs::read(site.root.join("form.json")).unwrap()).unwrap();
    assert_eq!(v["format"], "kura-erasure-request/1");
    assert_eq!(v["quantity"]["items"], 42);
}

#[test]
fn the_certificate_of_42_items_fits_two_sheets_and_names_each_items_medium() {
    if !paper::printable("the erasure certificate") {
        return;
    }
    let (site, ids) = city_site();
    let id = forty_two(&site, &ids);
    at(&site, "2024-04-25T00:00:00Z")
        .args(["erase", "approve", &id, "--approver", APPROVER])
        .assert()
        .success();
    at(&site, "2024-05-01T09:00:00Z")
        .args(["erase", "execute", &id])
        .assert()
        .success();
    at(&site, "2024-05-02T09:00:00Z")
        .args([
            "--lang",
            "ja",
            "erase",
            "certificate",
            &id,
            "--out",
            "cert.html",
        ])
        .assert()
        .success();
    let printed = paper::print(&site.root.join("cert.html"));
    assert!(
        printed.pages <= 2,
        "{} sheets:\n{}",
        printed.pages,
        printed.text
    );
    let all = printed.squeezed();
    for wanted in [
        "札幌市長様",
        "令和6年5月2日", // issued
        "第13条第5項",
        "消去証明書",
        "サーバのCドライブ",
        "USB外付けHDD(HDD1)",
        "USB外付けHDD(HDD2)",
        "全件消去済",
        "42件、合計",
        "KB(",
        "消去済",
        "上記のとおり消去したことを証明します。",
    ] {
        assert!(all.contains(wanted), "no {wanted}:\n{}", printed.text);
    }
    // A file on the server's drive is not said to be on the USB disk.
    assert!(!all.contains("磁気媒体(USB外付けHDD)"));
    assert!(!printed.text.contains(".."), "paths normalised");
    no_english(&printed, "certificate");
    // The certificate's JSON records the medium of every item.
    site.kura()
        .args([
            "erase",
            "certificate",
            &id,
            "--format",
            "json",
            "--out",
            "c.json",
        ])
        .assert()
        .success();
    let c: serde_json::Value =
        serde_json::from_slice(&fs::read(site.root.join("c.json")).unwrap()).unwrap();
    let media = c["media"].as_array().unwrap();
    let listed: usize = media
        .iter()
        .map(|m| m["items"].as_array().map_or(0, |l| l.len()))
        .sum();
    assert_eq!(listed, 42, "every item on a medium: {media:?}");
    assert!(media
        .iter()
        .any(|m| m["kind"] == "disk" && m["disk"] == "C"));
    let first_file = c["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "file")
        .unwrap();
    assert!(
        !first_file["path"].as_str().unwrap().contains(".."),
        "the request records the normalised path"
    );
}

#[cfg(unix)]
#[test]
fn a_dot_dot_through_a_link_is_refused_rather_than_guessed() {
    let site = Site::new();
    let real = site.root.join("real/sub");
    fs::create_dir_all(&real).unwrap();
    fs::write(site.root.join("real/x.csv"), b"real").unwrap();
    fs::write(site.root.join("x.csv"), b"other").unwrap();
    std::os::unix::fs::symlink(&real, site.root.join("lnk")).unwrap();
    // lnk/../x.csv is real/x.csv to the system, x.csv to a lexical reading.
    at(&site, "2024-04-20T00:00:00Z")
        .args(["erase", "request", "--file", "lnk/../x.csv"])
        .args(["--method", "overwrite", "--planned", "2024-05-01"])
        .args(["--reason", "テスト"])
        .assert()
        .code(4);
    assert!(site.root.join("x.csv").exists());
    let none = site
        .kura()
        .args(["--json", "erase", "list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(json(&none)["requests"].as_array().unwrap().len(), 0);
}
