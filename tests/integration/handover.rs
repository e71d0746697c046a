//! `kura handover`: the outgoing contractor packs, the next one receives.
//! Two sites, each with its own policy, keys and audit log; the receiver's
//! identity is the package's recipient.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use predicates::prelude::*;

use crate::util::{have_tool, sh, tree, Site, NOW, OPERATOR};

const RECEIVER: &str = "株式会社つぎ保守 鈴木 一郎";
const ID: &str = "kura-handover-札幌市処理場管理事務所-20240131T010203Z";

/// Whether the Library of Congress `bagit.py` is importable. Missing: the
/// test is skipped, unless `KURA_REQUIRE_INTEROP=1`, where it fails.
fn have_bagit() -> bool {
    // A Linux tool, like those of util::have_tool: skipped under Wine.
    if cfg!(windows) {
        eprintln!("skipped on Windows: bagit.py (a Linux stock tool)");
        return false;
    }
    let found = StdCommand::new("python3")
        .args(["-c", "import bagit"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("KURA_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("python bagit is required (KURA_REQUIRE_INTEROP=1) but not installed");
        }
        eprintln!(
            "skipped: python bagit is not installed (set KURA_REQUIRE_INTEROP=1 to require it)"
        );
    }
    found
}

/// `bagit.py --validate DIR`, panicking with its output unless valid.
fn bagit_validate(bag: &Path) {
    let out = StdCommand::new("python3")
        .args(["-m", "bagit", "--validate"])
        .arg(bag)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bagit.py --validate {}: {}",
        bag.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `kura handover create` in the sender's site, to the receiver.
fn create(sender: &Site, receiver: &Site, out: &Path, extra: &[&str]) -> assert_cmd::Command {
    let mut c = sender.kura();
    c.env("KURA_NOW", NOW)
        .args(["--operator", OPERATOR, "handover", "create", "--include"])
        .arg(sender.root.join("data/master"))
        .arg(sender.root.join("logs/app-extra.log"))
        .args(["--to", &receiver.recipient, "--out"])
        .arg(out)
        .args(extra);
    c
}

/// The receiver's `kura handover SUB FILE -i IDENTITY` with its own policy.
fn receiving(receiver: &Site, sub: &str, package: &Path) -> assert_cmd::Command {
    let mut c = receiver.kura();
    c.args(["--operator", OPERATOR, "handover", sub])
        .arg(package)
        .arg("-i")
        .arg(&receiver.identity);
    c
}

fn sender_key(sender: &Site) -> PathBuf {
    sender.root.join("keys/kura.pub")
}

fn receive(receiver: &Site, sender: &Site, package: &Path, into: &Path) -> assert_cmd::Command {
    let mut c = receiving(receiver, "receive", package);
    c.arg("--into")
        .arg(into)
        .args(["--receiver", RECEIVER, "--sender-key"])
        .arg(sender_key(sender));
    c
}

/// A sender with one snapshot, a receiver, and a package made between them.
fn handed_over(extra: &[&str]) -> (Site, Site, PathBuf) {
    let sender = Site::new();
    let receiver = Site::new();
    sender.backup().assert().success();
    let package = sender.root.join("handover.tar.zst.age");
    create(&sender, &receiver, &package, extra)
        .assert()
        .success();
    (sender, receiver, package)
}

fn manifest_of(package: &Path) -> PathBuf {
    PathBuf::from(format!("{}.manifest.json", package.display()))
}

/// The handover events of a site as (action, outcome, operator).
fn events(site: &Site) -> Vec<(String, String, String)> {
    site.events()
        .into_iter()
        .filter(|(_, action, _)| action.starts_with("handover."))
        .map(|(operator, action, outcome)| (action, outcome, operator))
        .collect()
}

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Linux stock tools (age, zstd, tar, minisign, sqlite3, bagit.py); tests/integration/wine.rs takes kura.exe across to them"
)]
fn a_package_opens_with_stock_age_zstd_tar_and_validates_with_bagit_py() {
    if !(have_tool("age") && have_tool("zstd") && have_tool("tar") && have_bagit()) {
        return;
    }
    let (sender, receiver, package) = handed_over(&["--snapshots", "latest", "--with-audit"]);
    let out = sender.root.join("extracted");
    fs::create_dir_all(&out).unwrap();
    sh(
        &format!(
            "age -d -i '{}' '{}' | zstd -d | tar -x -C '{}'",
            receiver.identity.display(),
            package.display(),
            out.display()
        ),
        &sender.root,
    );
    let names: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [ID],
        "one bag directory named after the External-Identifier"
    );
    let bag = out.join(ID);
    bagit_validate(&bag);

    assert_eq!(
        fs::read_to_string(bag.join("bagit.txt")).unwrap(),
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    );
    let info = fs::read_to_string(bag.join("bag-info.txt")).unwrap();
    for label in [
        "Source-Organization: 札幌市処理場管理事務所",
        "Contact-Name: 山田 太郎",
        "Bagging-Date: 2024-01-",
        &format!("External-Identifier: {ID}"),
        "Bag-Size: ",
        "Payload-Oxum: ",
        "External-Description: ",
    ] {
        assert!(info.contains(label), "{label:?} missing from:\n{info}");
    }
    // The payload: the included paths as they are, the snapshot's files
    // byte for byte (still encrypted), and the audit export.
    assert_eq!(
        tree(&bag.join("data/master")),
        tree(&sender.root.join("data/master"))
    );
    assert_eq!(
        fs::read(bag.join("data/app-extra.log")).unwrap(),
        fs::read(sender.root.join("logs/app-extra.log")).unwrap()
    );
    assert_eq!(
        tree(&bag.join("data/snapshots").join(crate::util::SNAPSHOT_ID)),
        tree(&sender.snapshot_dir())
    );
    let jsonl = fs::read_to_string(bag.join("data/audit/kura-audit.jsonl")).unwrap();
    assert!(jsonl.lines().any(|l| l.contains("\"handover.create\"")));
    assert!(bag.join("data/audit/kura-audit.sqlite").is_file());

    // The manifest beside the package describes it and is signed.
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(manifest_of(&package)).unwrap()).unwrap();
    assert_eq!(m["format"], "kura-handover/1");
    assert_eq!(m["external_identifier"], ID);
    assert_eq!(m["package"]["bytes"], fs::metadata(&package).unwrap().len());
    let digest = sh(&format!("sha256sum '{}'", package.display()), &sender.root);
    assert_eq!(m["package"]["sha256"].as_str().unwrap(), &digest[..64]);
    assert_eq!(m["recipients"][0], receiver.recipient.as_str());
    assert_eq!(m["sender"]["operator"], OPERATOR);
    assert!(info.contains(&format!(
        "Payload-Oxum: {}",
        m["payload"]["oxum"].as_str().unwrap()
    )));
    if have_tool("minisign") {
        sh(
            &format!(
                "minisign -V -p '{}' -m '{}'",
                sender_key(&sender).display(),
                manifest_of(&package).display()
            ),
            &sender.root,
        );
    }
}

#[test]
fn receive_extracts_a_bag_that_bagit_py_validates_and_writes_a_signed_receipt() {
    let (sender, receiver, package) = handed_over(&["--snapshots", "latest"]);
    let into = receiver.root.join("受領 2024");
    let out = receive(&receiver, &sender, &package, &into)
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let printed: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(printed["id"], ID);
    let bag = into.join(ID);
    assert_eq!(
        tree(&bag.join("data/master")),
        tree(&sender.root.join("data/master"))
    );
    if have_bagit() {
        bagit_validate(&bag);
    }

    let json_path = into.join(format!("receipt-{ID}.json"));
    let receipt: serde_json::Value =
        serde_json::from_slice(&fs::read(&json_path).unwrap()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(manifest_of(&package)).unwrap()).unwrap();
    assert_eq!(receipt["format"], "kura-receipt/1");
    assert_eq!(receipt["external_identifier"], ID);
    assert_eq!(receipt["package"]["sha256"], manifest["package"]["sha256"]);
    assert_eq!(receipt["payload_oxum"], manifest["payload"]["oxum"]);
    assert_eq!(receipt["receiver"]["name"], RECEIVER);
    assert_eq!(receipt["receiver"]["operator"], OPERATOR);
    assert_eq!(receipt["sender"]["operator"], OPERATOR);
    assert_eq!(receipt["checks"]["key_pinned"], true);
    assert_eq!(receipt["checks"]["bag"], "valid");
    assert!(receipt["received_at"].as_str().unwrap().ends_with('Z'));
    assert!(receipt["received_date_wareki"]
        .as_str()
        .unwrap()
        .starts_with("令和"));
    assert!(receipt["audit"]["seq"].as_u64().unwrap() > 0);

    // Printable, Japanese by default (the test environment's LANG is C).
    let html = fs::read_to_string(into.join(format!("receipt-{ID}.html"))).unwrap();
    assert!(html.contains("<html lang=\"ja\">") && html.contains("預り証"));
    assert!(html.contains("令和") && html.contains("size: A4"));
    assert!(html.contains(RECEIVER));
    assert!(html.contains(manifest["package"]["sha256"].as_str().unwrap()));

    let receiver_key = receiver.root.join("keys/kura.pub");
    for signed in [&json_path, &into.join(format!("receipt-{ID}.html"))] {
        let sig = PathBuf::from(format!("{}.minisig", signed.display()));
        assert!(sig.is_file(), "{} is signed", signed.display());
        if have_tool("minisign") {
            sh(
                &format!(
                    "minisign -V -p '{}' -m '{}'",
                    receiver_key.display(),
                    signed.display()
                ),
                &receiver.root,
            );
        }
    }
}

#[test]
fn a_receipt_in_english_with_lang_en_and_unsigned_without_signing() {
    let (sender, receiver, package) = handed_over(&[]);
    let unsigned = receiver
        .policy_text(&[&receiver.volume])
        .split("[signing]")
        .next()
        .unwrap()
        .to_string();
    receiver.write_policy(&unsigned);
    let into = receiver.root.join("in");
    receive(&receiver, &sender, &package, &into)
        .args(["--lang", "en"])
        .assert()
        .success()
        .stdout(predicate::str::contains("not signed"));
    let html = fs::read_to_string(into.join(format!("receipt-{ID}.html"))).unwrap();
    assert!(html.contains("<html lang=\"en\">") && html.contains("Receipt"));
    assert!(html.contains("Reiwa"));
    assert!(!into.join(format!("receipt-{ID}.json.minisig")).exists());
}

#[test]
fn verify_checks_everything_without_extracting_and_says_when_the_key_is_not_pinned() {
    let (sender, receiver, package) = handed_over(&["--with-audit"]);
    let before = tree(&receiver.root);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(manifest_of(&package)).unwrap()).unwrap();
    let key_id = manifest["sender"]["signing_key_id"].as_str().unwrap();
    receiving(&receiver, "verify", &package)
        .assert()
        .success()
        .stdout(predicate::str::contains("valid"))
        .stderr(predicate::str::contains("not pinned").and(predicate::str::contains(key_id)));
    let out = receiving(&receiver, "verify", &package)
        .arg("--sender-key")
        .arg(sender_key(&sender))
        .arg("--json")
        .assert()
        .success()
        .stderr(predicate::str::contains("not pinned").not())
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["id"], ID);
    assert_eq!(v["signature"]["pinned"], true);
    assert_eq!(v["files"], manifest["payload"]["files"]);
    // Only the audit log grew: nothing was extracted.
    let after: Vec<_> = tree(&receiver.root)
        .into_iter()
        .filter(|(p, _)| !p.starts_with("kura-audit.sqlite"))
        .map(|(p, _)| p)
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|(p, _)| !p.starts_with("kura-audit.sqlite"))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(after, before);
}

#[test]
fn one_flipped_byte_in_the_package_is_exit_1_and_receive_writes_nothing() {
    let (sender, receiver, package) = handed_over(&[]);
    let mut data = fs::read(&package).unwrap();
    let i = data.len() / 2;
    data[i] ^= 0x01;
    fs::write(&package, data).unwrap();
    receiving(&receiver, "verify", &package)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "not the one its manifest describes",
        ));
    let into = receiver.root.join("in");
    receive(&receiver, &sender, &package, &into)
        .assert()
        .code(1);
    assert!(!into.exists());
}

#[test]
fn a_manifest_swapped_from_another_package_is_exit_1() {
    let (sender, receiver, package) = handed_over(&[]);
    let other = sender.root.join("other.tar.zst.age");
    create(
        &sender,
        &receiver,
        &other,
        &["--description", "another one"],
    )
    .assert()
    .success();
    for suffix in [".manifest.json", ".manifest.json.minisig"] {
        fs::copy(
            format!("{}{suffix}", other.display()),
            format!("{}{suffix}", package.display()),
        )
        .unwrap();
    }
    receiving(&receiver, "verify", &package).assert().code(1);
    receiving(&receiver, "verify", &package)
        .arg("--sender-key")
        .arg(sender_key(&sender))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("manifest"));
    // A manifest edited to fit the package no longer verifies.
    let text = fs::read_to_string(manifest_of(&other)).unwrap();
    let digest = crate::util::sha256_hex(&package);
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    let forged = text.replace(m["package"]["sha256"].as_str().unwrap(), &digest);
    fs::write(manifest_of(&package), forged).unwrap();
    receiving(&receiver, "verify", &package)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("signature"));
}

#[test]
fn a_package_signed_by_another_key_than_the_pinned_one_is_exit_1() {
    let (_sender, receiver, package) = handed_over(&[]);
    let stranger = Site::new();
    receiving(&receiver, "verify", &package)
        .arg("--sender-key")
        .arg(sender_key(&stranger))
        .assert()
        .code(1);
}

#[test]
fn a_key_that_is_not_a_recipient_is_exit_3() {
    let (sender, receiver, package) = handed_over(&[]);
    // The sender's own identity is not a recipient of this package.
    let mut c = receiver.kura();
    c.args(["--operator", OPERATOR, "handover", "verify"])
        .arg(&package)
        .arg("-i")
        .arg(&sender.identity)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cannot decrypt"));
    let into = receiver.root.join("in");
    let mut c = receiver.kura();
    c.args(["--operator", OPERATOR, "handover", "receive"])
        .arg(&package)
        .arg("-i")
        .arg(&sender.identity)
        .arg("--into")
        .arg(&into)
        .args(["--receiver", RECEIVER])
        .assert()
        .code(3);
    assert!(!into.exists());
}

#[test]
fn non_ascii_space_and_percent_paths_survive_the_round_trip() {
    let sender = Site::new();
    let receiver = Site::new();
    let docs = sender.root.join("引継ぎ 資料");
    fs::create_dir_all(docs.join("設計書 (第1版)")).unwrap();
    fs::write(docs.join("設計書 (第1版)/運用手順書 改訂.txt"), "手順\n").unwrap();
    fs::write(docs.join("100% 完了.txt"), "done\n").unwrap();
    fs::write(docs.join(" leading space"), "x").unwrap();
    let package = sender.root.join("pkg");
    let mut c = sender.kura();
    c.env("KURA_NOW", NOW)
        .args(["--operator", OPERATOR, "handover", "create", "--include"])
        .arg(&docs)
        .arg(sender.root.join("data/master"))
        .args(["--to", &receiver.recipient, "--out"])
        .arg(&package)
        .assert()
        .success();
    let manifest = fs::read_to_string(manifest_of(&package)).unwrap();
    assert!(
        !manifest.contains("設計書"),
        "no file names in the plaintext manifest"
    );
    let into = receiver.root.join("in");
    receive(&receiver, &sender, &package, &into)
        .assert()
        .success();
    let bag = into.join(ID);
    assert_eq!(tree(&bag.join("data/引継ぎ 資料")), tree(&docs));
    assert_eq!(
        tree(&bag.join("data/master")),
        tree(&sender.root.join("data/master"))
    );
    let listed = fs::read_to_string(bag.join("manifest-sha256.txt")).unwrap();
    // A lone `%` is written as it is, which bagit.py reads right.
    assert!(
        listed.contains("  data/引継ぎ 資料/100% 完了.txt\n"),
        "{listed}"
    );
    if have_bagit() {
        bagit_validate(&bag);
    }
}

#[test]
fn names_that_read_like_percent_escapes_round_trip() {
    let sender = Site::new();
    let receiver = Site::new();
    let odd = sender.root.join("odd");
    fs::create_dir_all(&odd).unwrap();
    fs::write(odd.join("literal %25 and %0a.txt"), "y").unwrap();
    let package = sender.root.join("pkg");
    let mut c = sender.kura();
    c.env("KURA_NOW", NOW)
        .args(["--operator", OPERATOR, "handover", "create", "--include"])
        .arg(&odd)
        .args(["--to", &receiver.recipient, "--out"])
        .arg(&package)
        .assert()
        .success();
    let into = receiver.root.join("in");
    receive(&receiver, &sender, &package, &into)
        .assert()
        .success();
    let bag = into.join(ID);
    assert_eq!(tree(&bag.join("data/odd")), tree(&odd));
    let listed = fs::read_to_string(bag.join("manifest-sha256.txt")).unwrap();
    assert!(
        listed.contains("  data/odd/literal %2525 and %250a.txt\n"),
        "{listed}"
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Windows cannot create a name ending in a space or holding a line break, so there is nothing to refuse (entry_names.rs reserved_and_invalid_windows_names_are_recognised covers the check)"
)]
fn file_names_ending_in_whitespace_or_holding_a_line_break_are_refused_by_create() {
    let sender = Site::new();
    let receiver = Site::new();
    for (name, why) in [
        ("メモ\u{3000}", "whitespace"),
        ("two\nlines.txt", "line break"),
        // A device on Windows, a trailing dot Windows drops, a stream.
        ("CON.txt", "Windows"),
        ("aux", "Windows"),
        ("ledger.", "Windows"),
        ("a:b", "Windows"),
    ] {
        let docs = sender.root.join("docs");
        let _ = fs::remove_dir_all(&docs);
        fs::create_dir_all(&docs).unwrap();
        fs::write(docs.join(name), "x").unwrap();
        let out = sender.root.join("pkg");
        let mut c = sender.kura();
        c.args(["--operator", OPERATOR, "handover", "create", "--include"])
            .arg(&docs)
            .args(["--to", &receiver.recipient, "--out"])
            .arg(&out)
            .assert()
            .code(3)
            .stderr(predicate::str::contains(name).and(predicate::str::contains(why)));
        assert!(!out.exists());
    }
}

#[test]
fn receive_into_a_non_empty_directory_is_refused_and_leaves_it_untouched() {
    let (sender, receiver, package) = handed_over(&[]);
    let into = receiver.root.join("busy");
    fs::create_dir_all(&into).unwrap();
    fs::write(into.join("keep.txt"), b"mine").unwrap();
    receive(&receiver, &sender, &package, &into)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("not an empty directory"));
    let names: Vec<_> = fs::read_dir(&into)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("keep.txt")]);
}

#[test]
fn create_and_receive_are_audited_on_each_side_naming_the_operator() {
    let (sender, receiver, package) = handed_over(&[]);
    receiving(&receiver, "verify", &package).assert().success();
    receive(&receiver, &sender, &package, &receiver.root.join("in"))
        .assert()
        .success();
    let op = OPERATOR.to_string();
    assert_eq!(
        events(&sender),
        [
            (
                "handover.create".to_string(),
                "started".to_string(),
                op.clone()
            ),
            ("handover.create".into(), "ok".into(), op.clone()),
        ]
    );
    assert_eq!(
        events(&receiver),
        [
            (
                "handover.verify".to_string(),
                "started".to_string(),
                op.clone()
            ),
            ("handover.verify".into(), "ok".into(), op.clone()),
            ("handover.receive".into(), "started".into(), op.clone()),
            ("handover.receive".into(), "ok".into(), op.clone()),
        ]
    );
    // Both chains still verify.
    sender.kura().args(["audit", "verify"]).assert().success();
    receiver.kura().args(["audit", "verify"]).assert().success();
}

#[test]
fn verify_and_receive_need_an_authorised_operator() {
    let (sender, receiver, package) = handed_over(&[]);
    let mut c = receiver.kura();
    c.args(["--operator", "誰か", "handover", "verify"])
        .arg(&package)
        .arg("-i")
        .arg(&receiver.identity)
        .assert()
        .code(4);
    let mut c = receiver.kura();
    c.args(["handover", "receive"])
        .arg(&package)
        .arg("-i")
        .arg(&receiver.identity)
        .arg("--into")
        .arg(receiver.root.join("in"))
        .args(["--receiver", RECEIVER])
        .assert()
        .code(2);
    let _ = sender;
}

#[test]
fn create_refuses_to_overwrite_and_leaves_no_temporary_files() {
    let (sender, receiver, package) = handed_over(&[]);
    let before = fs::read(&package).unwrap();
    create(&sender, &receiver, &package, &[])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(fs::read(&package).unwrap(), before);
    let leftovers: Vec<_> = fs::read_dir(&sender.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".kura-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn create_needs_signing_keys_recipients_and_distinct_names() {
    let sender = Site::new();
    let receiver = Site::new();
    let out = sender.root.join("pkg");
    // A package the receiver cannot check the origin of is not made.
    let unsigned = sender
        .policy_text(&[&sender.volume])
        .split("[signing]")
        .next()
        .unwrap()
        .to_string();
    sender.write_policy(&unsigned);
    create(&sender, &receiver, &out, &[])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("[signing]"));
    sender.write_policy(&sender.policy_text(&[&sender.volume]));
    let mut c = sender.kura();
    c.args(["--operator", OPERATOR, "handover", "create", "--include"])
        .arg(sender.root.join("data/master"))
        .args(["--to", "not-a-recipient", "--out"])
        .arg(&out)
        .assert()
        .code(2);
    let mut c = sender.kura();
    c.args(["--operator", OPERATOR, "handover", "create", "--include"])
        .arg(sender.root.join("data/master"))
        .arg(sender.root.join("logs/app"))
        .arg(sender.root.join("data/master"))
        .args(["--to", &receiver.recipient, "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("same name"));
    // The output inside an included directory would read itself.
    let mut c = sender.kura();
    c.args(["--operator", OPERATOR, "handover", "create", "--include"])
        .arg(sender.root.join("data"))
        .args(["--to", &receiver.recipient, "--out"])
        .arg(sender.root.join("data/pkg"))
        .assert()
        .code(2);
    assert!(!out.exists());
    // A recipients file works as well as age1… strings.
    let list = receiver.root.join("keys/recipients.txt");
    let mut c = sender.kura();
    c.args(["--operator", OPERATOR, "handover", "create", "--include"])
        .arg(sender.root.join("data/master"))
        .arg("--to")
        .arg(&list)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    receiving(&receiver, "verify", &out).assert().success();
}

/// Repacks a package's bag with `change` applied to the extracted files and
/// `extra` tar members added (Python's tarfile, which writes what we ask),
/// encrypts it to the receiver and re-signs a fitting manifest with the
/// sender's key: everything outside the bag is then genuine.
fn forge(sender: &Site, receiver: &Site, package: &Path, change: &str, extra: &str) {
    let work = sender.root.join("forge");
    fs::create_dir_all(&work).unwrap();
    sh(
        &format!(
            "age -d -i '{}' '{}' | zstd -d | tar -x -C '{}'",
            receiver.identity.display(),
            package.display(),
            work.display()
        ),
        &sender.root,
    );
    sh(change, &work.join(ID));
    let script = format!(
        r#"
import io, os, tarfile
with tarfile.open("bag.tar", "w", format=tarfile.PAX_FORMAT) as t:
    t.add("{ID}")
    for name in [{extra}]:
        data = b"evil"
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
"#
    );
    fs::write(work.join("repack.py"), script).unwrap();
    sh("python3 repack.py", &work);
    fs::remove_file(package).unwrap();
    sh(
        &format!(
            "zstd -q -c bag.tar | age -r '{}' -o '{}'",
            receiver.recipient,
            package.display()
        ),
        &work,
    );
    let digest = sh(&format!("sha256sum '{}'", package.display()), &work);
    let size = fs::metadata(package).unwrap().len();
    let mpath = manifest_of(package);
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(&mpath).unwrap()).unwrap();
    m["package"]["sha256"] = digest[..64].into();
    m["package"]["bytes"] = size.into();
    fs::write(&mpath, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let sig = PathBuf::from(format!("{}.minisig", mpath.display()));
    fs::remove_file(&sig).unwrap();
    sh(
        &format!(
            "minisign -S -s '{}' -m '{}' -t 'kura-handover {ID} {}' >/dev/null",
            sender.root.join("keys/kura.key").display(),
            mpath.display(),
            &digest[..64]
        ),
        &work,
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Linux stock tools (age, zstd, tar, minisign, sqlite3, bagit.py); tests/integration/wine.rs takes kura.exe across to them"
)]
fn a_re_signed_package_with_an_altered_bag_or_hostile_entries_is_exit_1_and_writes_nothing() {
    if !(have_tool("age") && have_tool("zstd") && have_tool("tar") && have_tool("minisign")) {
        return;
    }
    // One payload file changed after bagging.
    let (sender, receiver, package) = handed_over(&[]);
    forge(
        &sender,
        &receiver,
        &package,
        "printf changed > data/app-extra.log",
        "",
    );
    receiving(&receiver, "verify", &package)
        .arg("--sender-key")
        .arg(sender_key(&sender))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("data/app-extra.log"))
        .stderr(predicate::str::contains("manifest-sha256.txt"));
    let into = receiver.root.join("in");
    receive(&receiver, &sender, &package, &into)
        .assert()
        .code(1);
    assert!(!into.exists());

    // A file added that no manifest lists, and an entry climbing out.
    let (sender, receiver, package) = handed_over(&[]);
    forge(
        &sender,
        &receiver,
        &package,
        "printf x > data/smuggled.txt",
        &format!("\"{ID}/../escaped.txt\""),
    );
    receiving(&receiver, "verify", &package)
        .arg("--sender-key")
        .arg(sender_key(&sender))
        .assert()
        .code(1)
        .stdout(
            predicate::str::contains("smuggled.txt").and(predicate::str::contains("unsafe path")),
        );
    let into = receiver.root.join("in");
    fs::create_dir_all(&into).unwrap();
    receive(&receiver, &sender, &package, &into)
        .assert()
        .code(1);
    assert_eq!(fs::read_dir(&into).unwrap().count(), 0, "emptied again");
    assert!(!receiver.root.join("escaped.txt").exists());
}

#[test]
fn a_receipt_made_under_kura_now_is_marked_as_a_rehearsal_and_a_real_one_is_not() {
    let (sender, receiver, package) = handed_over(&[]);
    let real = receiver.root.join("real");
    receive(&receiver, &sender, &package, &real)
        .assert()
        .success();
    let rehearsal = receiver.root.join("rehearsal");
    receive(&receiver, &sender, &package, &rehearsal)
        .env("KURA_NOW", NOW)
        .assert()
        .success();
    let receipt = |dir: &Path| -> (serde_json::Value, String) {
        let json = fs::read(dir.join(format!("receipt-{ID}.json"))).unwrap();
        let html = fs::read_to_string(dir.join(format!("receipt-{ID}.html"))).unwrap();
        (serde_json::from_slice(&json).unwrap(), html)
    };

    let (json, html) = receipt(&rehearsal);
    assert_eq!(json["clock_overridden"], true);
    assert_eq!(json["received_at"], "2024-01-31T01:02:03Z");
    let real_time = json["real_time"].as_str().unwrap();
    let t = chrono::DateTime::parse_from_rfc3339(real_time).unwrap();
    assert!(
        (t.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .num_hours()
            .abs()
            < 24
    );
    assert!(html.contains(&format!(
        "リハーサル: 時計が KURA_NOW で置き換えられています (実時刻 {real_time})"
    )));

    let (json, html) = receipt(&real);
    assert_eq!(json["clock_overridden"], false);
    assert!(json.get("real_time").is_none(), "{json}");
    assert!(!html.contains("リハーサル") && !html.contains("KURA_NOW"));
}

/// The receipt as the city reads it (第12条): printed, one A4 sheet,
/// addressed to the city and to the sender, from the receiving contractor,
/// listing the documents, the snapshots and the audit copy it received, in
/// Japanese without BagIt's words.
#[test]
fn the_printed_receipt_is_one_sheet_to_the_city_and_the_sender_listing_what_was_received() {
    use super::paper;
    if !paper::printable("the receipt") {
        return;
    }
    let (sender, receiver, package) = handed_over(&["--snapshots", "latest", "--with-audit"]);
    receiver.write_policy(&receiver.policy_text(&[&receiver.volume]).replace(
        "contract_start = 2023-10-01",
        "contractor = \"株式会社つぎ保守\"\naddressee = \"札幌市長\"\n\
         address = \"札幌市北区北8条西5丁目\"\nrepresentative = \"代表取締役 鈴木 一郎\"\n\
         contract_start = 2023-10-01",
    ));
    let into = receiver.root.join("in");
    receive(&receiver, &sender, &package, &into)
        .args(["--lang", "ja"])
        .assert()
        .success();
    let printed = paper::print(&into.join(format!("receipt-{ID}.html")));
    assert_eq!(printed.pages, 1, "one sheet:\n{}", printed.text);
    let all = printed.squeezed();
    for wanted in [
        "預り証",
        "札幌市長様",
        "札幌市処理場管理事務所御中", // the sender (its site: no contractor set)
        "株式会社つぎ保守",
        "代表取締役鈴木一郎",
        "第12条",
        "書類等",
        "「master」",
        "「app-extra.log」",
        "暗号化されたバックアップ",
        "令和6年1月分1件(取得日1月31日)",
        "監査ログの写し",
        "記録3件(1〜3番)",
        "書類等2件、暗号化されたバックアップ1件",
        "全16ファイル、合計",
        "すべてのチェックサムが一致",
        "受領日",
        "受領者(記名)",
        RECEIVER.split_whitespace().collect::<String>().as_str(),
    ] {
        assert!(all.contains(wanted), "no {wanted}:\n{}", printed.text);
    }
    let found = paper::english_words(&printed.text);
    assert!(
        found.is_empty(),
        "English on the receipt: {found:?}\n{}",
        printed.text
    );
    // What the sheet lists is in the JSON too.
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(into.join(format!("receipt-{ID}.json"))).unwrap())
            .unwrap();
    assert_eq!(json["addressee"], "札幌市長");
    assert_eq!(json["contents"]["documents"].as_array().unwrap().len(), 2);
    assert_eq!(
        json["contents"]["snapshots"][0]["name"],
        super::util::SNAPSHOT_ID
    );
    assert!(json["contents"]["audit"]["events"].as_u64().unwrap() > 0);
}

/// Fifteen months of backups and thirty documents handed over at once: the
/// sheet counts the backups by year and the documents in one line (no line
/// per snapshot or file) and stays one sheet; a policy without
/// `[site] addressee` leaves the city's name as a blank line for the pen.
#[test]
fn a_receipt_of_fifteen_months_of_backups_and_thirty_documents_is_one_sheet() {
    if !super::paper::printable("the receipt") {
        return;
    }
    let sender = Site::new();
    let receiver = Site::new();
    let mut taken = Vec::new();
    for (y, m) in (11..=12)
        .map(|m| (2022, m))
        .chain((1..=12).map(|m| (2023, m)))
    {
        taken.push(format!("{y}-{m:02}-10T12:00:00Z"));
    }
    taken.extend(["2024-01-10T12:00:00Z", "2024-01-20T12:00:00Z"].map(String::from));
    for at in &taken {
        sender.backup().env("KURA_NOW", at).assert().success();
    }
    sender.backup().assert().success(); // at NOW, 2024-01-31
    let docs = sender.root.join("docs");
    fs::create_dir(&docs).unwrap();
    let mut extra = vec!["--snapshots".to_string(), "all".into(), "--include".into()];
    for i in 0..28 {
        let doc = docs.join(format!("引継書-{i:02}.txt"));
        fs::write(&doc, "引継ぎ").unwrap();
        extra.push(doc.display().to_string());
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let package = sender.root.join("handover.tar.zst.age");
    create(&sender, &receiver, &package, &extra)
        .assert()
        .success();
    let into = receiver.root.join("in");
    receive(&receiver, &sender, &package, &into)
        .args(["--lang", "ja"])
        .assert()
        .success();
    let html_path = into.join(format!("receipt-{ID}.html"));
    let printed = super::paper::print(&html_path);
    assert_eq!(printed.pages, 1, "one sheet:\n{}", printed.text);
    let all = printed.squeezed();
    for wanted in [
        "令和4年分2件(取得日11月10日、12月10日)",
        "令和5年分12件(取得日1月10日〜12月10日)",
        "令和6年分3件(取得日1月10日、1月20日、1月31日)",
        "暗号化されたバックアップ17件",
        "30件:「app-extra.log」「master」「引継書-00.txt」",
        "ほか6件",
        "書類等30件",
    ] {
        assert!(all.contains(wanted), "no {wanted}:\n{}", printed.text);
    }
    assert!(
        !all.contains("20231210T120000Z") && !all.contains("引継書-27"),
        "a line per snapshot:\n{}",
        printed.text
    );
    let html = fs::read_to_string(&html_path).unwrap();
    assert!(
        html.contains("<p class=\"addressee\"><span class=\"blank\"></span>　様</p>"),
        "no blank line for the city's name"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(into.join(format!("receipt-{ID}.json"))).unwrap())
            .unwrap();
    assert!(json["addressee"].is_null());
    assert_eq!(json["contents"]["snapshots"].as_array().unwrap().len(), 17);
    assert_eq!(json["contents"]["documents"].as_array().unwrap().len(), 30);
}

/// `--lang en`: the same sheet in English, one page, without the Japanese
/// form's words.
#[test]
fn an_english_receipt_is_one_sheet_in_english() {
    if !super::paper::printable("the receipt") {
        return;
    }
    let (sender, receiver, package) = handed_over(&["--snapshots", "latest", "--with-audit"]);
    let into = receiver.root.join("in");
    receive(&receiver, &sender, &package, &into)
        .args(["--lang", "en"])
        .assert()
        .success();
    let printed = super::paper::print(&into.join(format!("receipt-{ID}.html")));
    assert_eq!(printed.pages, 1, "one sheet:\n{}", printed.text);
    assert!(printed.squeezed().contains("Receipt"), "{}", printed.text);
    for wanted in [
        "Encrypted backups",
        "Reiwa 6 (2024-01): 1 (taken 01-31)",
        "Audit log copy",
        "Total",
        "Received on",
        "every checksum matches",
        "made by 山田 太郎, at",
        "Director",
    ] {
        assert!(
            printed.text.contains(wanted),
            "no {wanted}:\n{}",
            printed.text
        );
    }
    for japanese in [
        "預り証",
        "受領したもの",
        "暗号化されたバックアップ",
        "様",
        "御中",
    ] {
        assert!(
            !printed.text.contains(japanese),
            "{japanese} on the English receipt:\n{}",
            printed.text
        );
    }
}
