//! Human output under `--lang ja` reads as Japanese: statuses, actions,
//! retention reasons, destinations by their labels, sizes in the units the
//! inspection sheet uses, checkpoints by where they came from, and the
//! operating system's errors as Japanese sentences that say what to do.

use super::erase::at;
use super::paper::english_words;
use super::util::Site;

/// A site with two labelled disks and three monthly backups.
fn site() -> Site {
    let site = Site::new();
    let policy = site
        .with_second_destination(&site.policy_text(&[&site.volume]))
        .replace(
            "name = \"hdd1\"\n",
            "name = \"hdd1\"\nlabel = \"USB外付けHDD (HDD1)\"\n",
        )
        .replace(
            "name = \"hdd2\"\n",
            "name = \"hdd2\"\nlabel = \"予備USB外付けHDD (HDD2)\"\n",
        )
        + "\n[retention]\nkeep_monthly = 2\nkeep_yearly = 1\n";
    site.write_policy(&policy);
    for m in 1..=3 {
        at(&site, &format!("2024-{m:02}-05T01:00:00Z"))
            .arg("backup")
            .assert()
            .success();
    }
    at(&site, "2024-03-06T01:00:00Z")
        .args(["verify", "-i"])
        .arg(&site.identity)
        .assert()
        .success();
    site
}

fn ja(site: &Site, args: &[&str]) -> String {
    let out = at(site, "2024-03-07T01:00:00Z")
        .arg("--lang")
        .arg("ja")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn no_english(text: &str, what: &str) {
    let found = english_words(text);
    assert!(found.is_empty(), "English in {what}: {found:?}\n{text}");
}

#[test]
fn snapshots_verify_and_prune_print_labels_sizes_and_reasons_in_japanese() {
    let site = site();
    let listed = ja(&site, &["snapshots"]);
    assert!(listed.contains("USB外付けHDD (HDD1):"), "{listed}");
    assert!(!listed.contains("hdd1"), "{listed}");
    assert!(listed.contains(" KB") || listed.contains(" MB"), "{listed}");
    no_english(&listed, "snapshots");
    let verified = ja(&site, &["verify"]);
    assert!(verified.contains("予備USB外付けHDD (HDD2):"), "{verified}");
    no_english(&verified, "verify");
    let pruned = ja(&site, &["prune", "--dry-run"]);
    assert!(pruned.contains("最新"), "{pruned}");
    assert!(pruned.contains("2024年3月の月次保存"), "{pruned}");
    assert!(pruned.contains("2024年の年次保存"), "{pruned}");
    for word in ["newest", "monthly", "yearly"] {
        assert!(!pruned.contains(word), "{word} in {pruned}");
    }
}

#[test]
fn backup_and_restore_name_disks_by_label_and_sizes_in_japanese_units() {
    let site = site();
    let backed = ja(&site, &["backup"]);
    assert!(backed.contains("保存済 USB外付けHDD (HDD1):"), "{backed}");
    assert!(
        backed.contains("保存済 予備USB外付けHDD (HDD2):"),
        "{backed}"
    );
    no_english(&backed, "backup");
    let out = at(&site, "2024-03-08T01:00:00Z")
        .args(["--lang", "ja", "restore", "latest", "--archive", "master"])
        .args(["--to", "restored", "-i"])
        .arg(&site.identity)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        restored.contains("(保存先 USB外付けHDD (HDD1))"),
        "{restored}"
    );
    no_english(&restored, "restore");
}

#[test]
fn the_audit_log_and_its_verification_name_actions_outcomes_and_sources_in_japanese() {
    let site = site();
    let log = ja(&site, &["audit", "log"]);
    // The columns before the details (which stay the record's JSON).
    let columns: String = log
        .lines()
        .map(|l| l.split("  {").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(columns.contains("バックアップ"), "{columns}");
    assert!(columns.contains("全件復号検証"), "{columns}");
    assert!(
        columns.contains("開始") && columns.contains("正常"),
        "{columns}"
    );
    assert!(!columns.contains("verify.full"), "{columns}");
    no_english(&columns, "audit log");
    let verified = ja(&site, &["audit", "verify"]);
    assert!(
        verified.contains("チェックポイント") && verified.contains("、USB外付けHDD (HDD1)): 一致"),
        "{verified}"
    );
    assert!(!verified.contains(" on hdd"), "{verified}");
    no_english(&verified, "audit verify");
}

#[test]
fn an_os_error_is_a_japanese_sentence_that_says_what_to_do() {
    let site = site();
    let out = at(&site, "2024-03-07T01:00:00Z")
        .args(["--lang", "ja", "restore", "latest", "--to", "r", "-i"])
        .arg(site.root.join("no-such-identity.txt"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-identity.txt"), "{err}");
    assert!(err.contains("見つかりません"), "{err}");
    assert!(!err.contains("No such file"), "{err}");
    assert!(!err.contains("os error"), "{err}");
}

#[test]
fn handover_output_speaks_japanese_without_bagit_words() {
    let sender = site();
    let next = Site::new();
    let package = sender.root.join("handover.tar.zst.age");
    let created = ja(
        &sender,
        &[
            "handover",
            "create",
            "--include",
            &sender.root.join("data/master").display().to_string(),
            "--to",
            &next.recipient,
            "--out",
            &package.display().to_string(),
        ],
    );
    let out = at(&next, "2024-03-08T01:00:00Z")
        .args(["--lang", "ja", "handover", "receive"])
        .arg(&package)
        .arg("-i")
        .arg(&next.identity)
        .arg("--into")
        .arg(next.root.join("in"))
        .args(["--receiver", "株式会社つぎ保守 鈴木 一郎", "--sender-key"])
        .arg(sender.root.join("keys/kura.pub"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = String::from_utf8_lossy(&out.stdout).to_string();
    for text in [&created, &received] {
        assert!(
            !text.contains("Payload-Oxum") && !text.contains("BagIt"),
            "{text}"
        );
        no_english(text, "handover output");
    }
}
