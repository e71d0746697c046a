//! `kura verify`: without a key and with one; one flipped byte is found.

use std::fs;

use predicates::prelude::*;

use crate::util::{Site, OPERATOR};

fn flip_byte(path: &std::path::Path, at_fraction: f64) {
    let mut data = fs::read(path).unwrap();
    let i = ((data.len() as f64) * at_fraction) as usize;
    data[i] ^= 0x01;
    fs::write(path, data).unwrap();
}

#[test]
fn a_good_snapshot_verifies_at_both_levels() {
    let site = Site::new();
    site.backup().assert().success();
    site.kura()
        .arg("verify")
        .assert()
        .success()
        .stdout(predicate::str::contains("OK"));
    site.kura()
        .args(["--operator", OPERATOR, "verify", "-i"])
        .arg(&site.identity)
        .assert()
        .success();
}

#[test]
fn one_flipped_byte_in_an_archive_is_found_without_the_key() {
    let site = Site::new();
    site.backup().assert().success();
    flip_byte(&site.snapshot_dir().join("master.tar.zst.age"), 0.5);
    site.kura()
        .arg("verify")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("master.tar.zst.age"));
}

#[test]
fn one_flipped_byte_with_matching_sums_is_found_by_the_full_verify() {
    let site = Site::new();
    site.backup().assert().success();
    let snap = site.snapshot_dir();
    let archive = snap.join("app-logs.tar.zst.age");
    flip_byte(&archive, 0.6);
    site.kura()
        .args(["--operator", OPERATOR, "verify", "-i"])
        .arg(&site.identity)
        .assert()
        .code(1);
}

#[test]
fn an_edited_snapshot_json_breaks_the_signature_and_the_sums() {
    let site = Site::new();
    site.backup().assert().success();
    let path = site.snapshot_dir().join("snapshot.json");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace(OPERATOR, "誰か 別人");
    fs::write(&path, text).unwrap();
    site.kura().arg("verify").assert().code(1);
}

#[test]
fn full_verify_with_a_key_that_is_not_a_recipient_is_exit_3() {
    let site = Site::new();
    site.backup().assert().success();
    let other = site.root.join("other.txt");
    kura::keys::generate_age_identity(&other, None, chrono::Utc::now()).unwrap();
    site.kura()
        .args(["--operator", OPERATOR, "verify", "-i"])
        .arg(&other)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cannot decrypt"));
}

#[test]
fn full_verify_needs_an_authorised_operator() {
    let site = Site::new();
    site.backup().assert().success();
    site.kura()
        .arg("verify")
        .arg("-i")
        .arg(&site.identity)
        .assert()
        .code(2);
}

#[test]
fn one_flipped_byte_in_sums_snapshot_json_or_signature_is_found_without_the_key() {
    for file in ["SHA256SUMS", "snapshot.json", "SHA256SUMS.minisig"] {
        let site = Site::new();
        site.backup().assert().success();
        flip_byte(&site.snapshot_dir().join(file), 0.3);
        site.kura().arg("verify").assert().code(1);
    }
}

#[test]
fn against_source_reports_what_changed_since_the_snapshot() {
    let site = Site::new();
    site.backup().assert().success();
    let full = || {
        let mut c = site.kura();
        c.args(["--operator", OPERATOR, "verify", "--against-source", "-i"])
            .arg(&site.identity);
        c
    };
    full()
        .assert()
        .success()
        .stdout(predicate::str::contains("source unchanged"));
    fs::write(site.root.join("data/master/households.csv"), "changed\n").unwrap();
    fs::remove_file(site.root.join("data/master/empty.dat")).unwrap();
    fs::write(site.root.join("data/master/new.csv"), "new\n").unwrap();
    full()
        .assert()
        .success()
        .stdout(predicate::str::contains("changed: master/households.csv"))
        .stdout(predicate::str::contains("gone: master/empty.dat"))
        .stdout(predicate::str::contains("new: master/new.csv"));
}
