//! `kura restore`: only into an empty target, every byte and mtime back.

use std::fs;

use predicates::prelude::*;

use crate::util::{Site, OPERATOR, SNAPSHOT_ID};

fn restore(site: &Site, to: &std::path::Path) -> assert_cmd::Command {
    let mut c = site.kura();
    c.args(["--operator", OPERATOR, "restore", SNAPSHOT_ID, "--to"])
        .arg(to)
        .arg("-i")
        .arg(&site.identity);
    c
}

/// Every entry under `dir` with its contents and exact mtime.
fn tree_with_times(
    dir: &std::path::Path,
) -> Vec<(std::path::PathBuf, Option<Vec<u8>>, std::time::SystemTime)> {
    let mut out: Vec<_> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            let data = meta.is_file().then(|| fs::read(e.path()).unwrap());
            (
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                data,
                meta.modified().unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn a_restored_tree_equals_the_source_byte_for_byte_mtimes_included() {
    let site = Site::new();
    site.backup().assert().success();
    let to = site.root.join("restored");
    restore(&site, &to).assert().success();
    assert_eq!(
        tree_with_times(&to.join("master/master")),
        tree_with_times(&site.root.join("data/master"))
    );
    assert_eq!(
        tree_with_times(&to.join("app-logs/app")),
        tree_with_times(&site.root.join("logs/app"))
    );
    assert_eq!(
        fs::read(to.join("app-logs/app-extra.log")).unwrap(),
        fs::read(site.root.join("logs/app-extra.log")).unwrap()
    );
    assert!(
        to.join("master/MANIFEST.sha256").is_file(),
        "kept for sha256sum -c"
    );
    assert!(to.join("audit/kura-audit.sqlite").is_file());
}

#[test]
fn restore_of_chosen_archives_from_latest_writes_only_those() {
    let site = Site::new();
    site.backup().assert().success();
    let to = site.root.join("only-master");
    site.kura()
        .args([
            "--operator",
            OPERATOR,
            "restore",
            "latest",
            "--archive",
            "master",
            "--to",
        ])
        .arg(&to)
        .arg("-i")
        .arg(&site.identity)
        .assert()
        .success();
    let names: Vec<_> = fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("master")]);
}

#[test]
fn restore_into_a_non_empty_directory_is_refused_and_leaves_it_untouched() {
    let site = Site::new();
    site.backup().assert().success();
    let to = site.root.join("busy");
    fs::create_dir_all(&to).unwrap();
    fs::write(to.join("keep.txt"), b"mine").unwrap();
    restore(&site, &to)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("not an empty directory"));
    let names: Vec<_> = fs::read_dir(&to)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("keep.txt")]);
    assert_eq!(fs::read(to.join("keep.txt")).unwrap(), b"mine");
}

#[test]
fn restore_with_a_key_that_is_not_a_recipient_is_exit_3_and_leaves_nothing() {
    let site = Site::new();
    site.backup().assert().success();
    let other = site.root.join("other.txt");
    kura::keys::generate_age_identity(&other, None, chrono::Utc::now()).unwrap();
    let to = site.root.join("restored");
    site.kura()
        .args(["--operator", OPERATOR, "restore", SNAPSHOT_ID, "--to"])
        .arg(&to)
        .arg("-i")
        .arg(&other)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cannot decrypt"));
    assert!(!to.exists(), "a failed restore removes what it made");
}

#[test]
fn restore_of_a_damaged_archive_is_exit_1_and_removes_what_it_wrote() {
    let site = Site::new();
    site.backup().assert().success();
    let archive = site.snapshot_dir().join("app-logs.tar.zst.age");
    let mut data = fs::read(&archive).unwrap();
    let i = data.len() * 3 / 4;
    data[i] ^= 0x40;
    fs::write(&archive, data).unwrap();
    let to = site.root.join("restored");
    fs::create_dir_all(&to).unwrap();
    restore(&site, &to).assert().code(1);
    assert_eq!(
        fs::read_dir(&to).unwrap().count(),
        0,
        "the empty target is empty again"
    );
}

#[test]
fn restore_and_full_verify_are_audited_accesses_naming_the_operator() {
    let site = Site::new();
    site.backup().assert().success();
    restore(&site, &site.root.join("r")).assert().success();
    site.kura()
        .args(["--operator", OPERATOR, "verify", "-i"])
        .arg(&site.identity)
        .assert()
        .success();
    let out = site
        .kura()
        .args(["--json", "audit", "log"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let accesses: Vec<(String, String)> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "restore" || e["action"] == "verify.full")
        .map(|e| {
            (
                e["action"].as_str().unwrap().into(),
                e["operator"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        accesses,
        [
            ("restore".to_string(), OPERATOR.to_string()),
            ("restore".into(), OPERATOR.into()),
            ("verify.full".into(), OPERATOR.into()),
            ("verify.full".into(), OPERATOR.into()),
        ]
    );
}
