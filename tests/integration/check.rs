//! `kura check`, `kura report monthly`, `kura schedule print`, completions, man.

use std::fs;

use predicates::prelude::*;

use crate::util::{Site, OPERATOR};

fn check_json(site: &Site, now: &str) -> (i32, serde_json::Value) {
    let out = site
        .kura()
        .env("KURA_NOW", now)
        .args(["--json", "check"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

fn item<'a>(v: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no item {key} in {v}"))
}

#[test]
fn check_finds_no_backup_before_the_first_one_and_passes_after_backup_and_verify() {
    let site = Site::new();
    let (code, v) = check_json(&site, "2024-01-31T03:00:00Z");
    assert_eq!(code, 1);
    assert_eq!(v["ok"], false);
    assert_eq!(item(&v, "schedule")["status"], "finding");
    assert_eq!(item(&v, "master_backup")["status"], "finding");
    for i in v["items"].as_array().unwrap() {
        for key in ["key", "label", "status", "detail"] {
            assert!(i.get(key).is_some(), "{key} missing in {i}");
        }
    }

    site.backup().assert().success(); // 2024-01-31T01:02:03Z
    site.kura()
        .args(["--operator", OPERATOR, "verify", "-i"])
        .arg(&site.identity)
        .assert()
        .success();
    let (code, v) = check_json(&site, "2024-01-31T03:00:00Z");
    assert_eq!(code, 0, "{v}");
    assert_eq!(item(&v, "backup_device.hdd1")["status"], "ok");
    assert_eq!(item(&v, "audit_chain")["status"], "ok");
}

#[test]
fn check_reports_a_missing_disk_in_words_a_person_can_act_on() {
    let site = Site::new();
    site.backup().assert().success();
    fs::rename(site.root.join("usb"), site.root.join("usb-away")).unwrap();
    let (code, v) = check_json(&site, "2024-01-31T03:00:00Z");
    assert_eq!(code, 1);
    let device = item(&v, "backup_device.hdd1");
    assert_eq!(device["status"], "finding");
    assert!(
        device["detail"].as_str().unwrap().contains("not connected"),
        "{device}"
    );
    site.kura()
        .env("KURA_NOW", "2024-01-31T03:00:00Z")
        .env("KURA_LANG", "ja")
        .arg("check")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("接続されていません"));
}

#[test]
fn a_missed_month_is_a_schedule_finding_after_the_grace_days() {
    let site = Site::new();
    site.backup().assert().success(); // January
                                      // 5 February: within day 1 + 7 grace days, January's snapshot still counts.
    assert_eq!(
        item(&check_json(&site, "2024-02-05T03:00:00Z").1, "schedule")["status"],
        "ok"
    );
    // 10 February: February's run is overdue.
    let (_, v) = check_json(&site, "2024-02-10T03:00:00Z");
    assert_eq!(item(&v, "schedule")["status"], "finding");
}

#[test]
fn the_monthly_report_lists_exactly_the_events_of_its_month() {
    let site = Site::new();
    let at = |now: &str| {
        let mut c = site.kura();
        c.env("KURA_NOW", now).args(["--operator", OPERATOR]);
        c
    };
    at("2024-01-31T01:00:00Z").arg("backup").assert().success();
    at("2024-02-05T01:00:00Z").arg("backup").assert().success();
    at("2024-02-06T01:00:00Z")
        .args(["verify", "-i"])
        .arg(&site.identity)
        .assert()
        .success();
    at("2024-02-07T01:00:00Z")
        .args([
            "restore",
            "latest",
            "--archive",
            "master",
            "--to",
            "r",
            "-i",
        ])
        .arg(&site.identity)
        .assert()
        .success();
    site.kura()
        .env("KURA_NOW", "2024-02-08T01:00:00Z")
        .args(["--operator", "知らない 人", "backup"])
        .assert()
        .code(4);
    at("2024-03-01T01:00:00Z").arg("backup").assert().success();

    let out = at("2024-03-02T00:00:00Z")
        .args([
            "report", "monthly", "--month", "2024-02", "--format", "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let ids: Vec<_> = r["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["20240205T010000Z"]);
    let actions = |key: &str| -> Vec<String> {
        r[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                format!(
                    "{} {}",
                    l["action"].as_str().unwrap(),
                    l["outcome"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(actions("accesses"), ["verify.full ok", "restore ok"]);
    assert_eq!(actions("verifications"), ["verify.full ok"]);
    // An operator name not on the list is a person's mistake, not an
    // incident: the annex lists it, 別添7 (4) does not count it.
    assert_eq!(actions("incidents"), Vec::<String>::new());
    assert_eq!(actions("mistakes"), ["backup refused"]);
    // February's events: backup ×2, verify ×2, restore ×2, refusal ×1.
    assert_eq!(r["events"], 7);
    let checkpoint = r["checkpoint"].as_str().unwrap();
    // The checkpoint verifies against the log.
    site.kura()
        .args(["audit", "verify", "--checkpoint", checkpoint])
        .assert()
        .success();
    assert_eq!(r["month_wareki"], "令和6年2月");
}

#[test]
fn a_report_for_may_2019_says_reiwa_gannen_and_renders_japanese_html() {
    let site = Site::new();
    let out = site
        .kura()
        .env("KURA_NOW", "2019-05-31T01:00:00Z")
        .args([
            "report",
            "monthly",
            "--month",
            "2019-05",
            "--out",
            "report.html",
        ])
        .assert()
        .success();
    drop(out);
    let html = fs::read_to_string(site.root.join("report.html")).unwrap();
    assert!(html.contains("令和元年5月"), "{html}");
    assert!(html.contains("個人情報取扱状況報告書"));
    assert!(html.contains("(☐ 変更なし・☐ 変更あり)"));
    assert!(
        site.root.join("report.html.minisig").is_file(),
        "signed when [signing] is set"
    );
    let md = site
        .kura()
        .args([
            "--lang", "en", "report", "monthly", "--month", "2019-05", "--format", "md",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(md)
        .unwrap()
        .contains("Monthly report 2019-05"));
}

#[test]
fn schedule_print_gives_a_systemd_timer_and_a_task_scheduler_xml() {
    let site = Site::new();
    site.kura()
        .args(["schedule", "print", "--system", "systemd"])
        .assert()
        .success()
        .stdout(predicate::str::contains("OnCalendar=*-*-01 02:00:00"))
        .stdout(predicate::str::contains("--operator \"scheduled-task\""))
        .stdout(predicate::str::contains("backup"))
        .stdout(predicate::str::contains(" check"));
    // The XML goes to a file, as UTF-16: a captured stdout could not keep it.
    site.kura()
        .args(["schedule", "print", "--system", "windows"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("--out FILE"));
}

#[test]
fn completions_and_man_need_no_policy() {
    let dir = tempfile::tempdir().unwrap();
    crate::util::kura()
        .current_dir(dir.path())
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("kura"));
    crate::util::kura()
        .current_dir(dir.path())
        .arg("man")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH kura"));
}

/// Regression: `kura check | head -2` ended in a backtrace and exit 101 when
/// the reader closed the pipe early.
#[test]
fn a_closed_stdout_pipe_is_not_a_panic() {
    let site = Site::new();
    for args in [&["man"][..], &["check"], &["completions", "bash"]] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kura"))
            .current_dir(&site.root)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away at once
        let out = child.wait_with_output().unwrap();
        let code = out.status.code().unwrap_or(-1);
        assert_ne!(
            code,
            101,
            "{args:?} panicked: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{args:?}"
        );
    }
}

#[test]
fn the_task_scheduler_xml_is_written_as_utf16_with_its_japanese_site_name_intact() {
    let site = Site::new();
    site.kura()
        .args([
            "schedule",
            "print",
            "--system",
            "windows",
            "--out",
            "kura-backup.xml",
        ])
        .assert()
        .success();
    let bytes = fs::read(site.root.join("kura-backup.xml")).unwrap();
    assert_eq!(&bytes[..2], &[0xff, 0xfe], "UTF-16LE byte-order mark");
    let units: Vec<u16> = bytes[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).unwrap();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-16\"?>"));
    assert!(text.contains("札幌市処理場管理事務所"));
    assert!(text.contains("<Task version=\"1.2\""));
    assert!(text.contains("<Day>1</Day>"));
}

fn backup_at(site: &Site, now: &str) {
    site.kura()
        .env("KURA_NOW", now)
        .args(["--operator", OPERATOR, "backup"])
        .assert()
        .success();
}

/// The `SEQ:HASH` sealed into a snapshot, as the paper record would have it.
fn sealed_checkpoint(site: &Site, id: &str) -> String {
    let meta: serde_json::Value = serde_json::from_slice(
        &fs::read(site.dest().join("snapshots").join(id).join("snapshot.json")).unwrap(),
    )
    .unwrap();
    format!(
        "{}:{}",
        meta["audit"]["seq"],
        meta["audit"]["head"].as_str().unwrap()
    )
}

/// Copies on the server (snapshot.json, checkpoint files) fall with the
/// server; only a checkpoint from outside it catches a log rewritten along
/// with all of them. A log older than `external_checkpoint_days` (62) with no
/// such checkpoint verified is a finding; verifying the paper checkpoint with
/// `audit verify --checkpoint` is recorded and clears it; a wrong one does not.
#[test]
fn a_log_older_than_62_days_without_an_off_server_checkpoint_verified_is_a_finding() {
    let site = Site::new();
    site.backup().assert().success(); // 2024-01-31, the log's first event
    let (code, v) = check_json(&site, "2024-02-05T03:00:00Z");
    let early = item(&v, "external_checkpoint");
    assert_eq!(early["status"], "ok", "{v}");
    assert!(
        early["detail"].as_str().unwrap().contains("not due yet"),
        "{early}"
    );
    assert_eq!(code, 0, "{v}");

    backup_at(&site, "2024-04-01T01:00:00Z");
    let later = "2024-04-10T03:00:00Z"; // 70 days after the first event
    let (code, v) = check_json(&site, later);
    assert_eq!(code, 1, "{v}");
    let item_now = item(&v, "external_checkpoint");
    assert_eq!(item_now["status"], "finding", "{v}");
    assert!(
        item_now["detail"]
            .as_str()
            .unwrap()
            .contains("kura audit verify --checkpoint"),
        "{item_now}"
    );
    let others_ok = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["key"] != "external_checkpoint")
        .all(|i| i["status"] == "ok");
    assert!(others_ok, "only this item: {v}");

    // A checkpoint that does not agree is no anchor.
    let paper = sealed_checkpoint(&site, crate::util::SNAPSHOT_ID);
    let (seq, _) = paper.split_once(':').unwrap();
    let wrong = format!("{seq}:{}", "0".repeat(64));
    site.kura()
        .env("KURA_NOW", later)
        .args([
            "--operator",
            OPERATOR,
            "audit",
            "verify",
            "--checkpoint",
            &wrong,
        ])
        .assert()
        .code(1);
    assert_eq!(check_json(&site, later).0, 1);

    site.kura()
        .env("KURA_NOW", later)
        .args([
            "--operator",
            OPERATOR,
            "audit",
            "verify",
            "--checkpoint",
            &paper,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "off-server checkpoint verification recorded",
        ));
    let last = site.audit_log().pop().unwrap();
    assert_eq!(last["action"], "audit.verify");
    assert_eq!(last["operator"], OPERATOR);
    let details: serde_json::Value =
        serde_json::from_str(last["details"].as_str().unwrap()).unwrap();
    let (seq, hash) = paper.split_once(':').unwrap();
    assert_eq!(
        details["external_checkpoints"],
        serde_json::json!([{ "seq": seq.parse::<u64>().unwrap(), "hash": hash }])
    );
    let (code, v) = check_json(&site, later);
    assert_eq!(item(&v, "external_checkpoint")["status"], "ok", "{v}");
    assert_eq!(code, 0, "{v}");
    // Another 62 days on, it is due again.
    let (_, v) = check_json(&site, "2024-06-12T03:00:00Z");
    assert_eq!(item(&v, "external_checkpoint")["status"], "finding", "{v}");
}

#[test]
fn external_checkpoint_days_is_a_positive_number_of_days_and_is_honoured() {
    let site = Site::new();
    site.write_policy(
        &(site.policy_text(&[&site.volume]) + "\n[audit]\nexternal_checkpoint_days = 0\n"),
    );
    site.kura()
        .args(["policy", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("kura.toml:"))
        .stderr(predicate::str::contains("external_checkpoint_days"));
    site.write_policy(
        &(site.policy_text(&[&site.volume]) + "\n[audit]\nexternal_checkpoint_days = 10\n"),
    );
    site.backup().assert().success(); // 2024-01-31
    let (_, v) = check_json(&site, "2024-02-05T03:00:00Z");
    assert_eq!(item(&v, "external_checkpoint")["status"], "ok", "{v}");
    let (_, v) = check_json(&site, "2024-02-12T03:00:00Z");
    assert_eq!(item(&v, "external_checkpoint")["status"], "finding", "{v}");
}
