//! `kura demo` runs the whole job in a sandbox and never clobbers foreign directories.

use std::fs;

use predicates::prelude::*;

use crate::util::kura;

#[test]
fn demo_leaves_a_verified_snapshot_and_can_be_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = dir.path().join("kura-demo");
    let out = kura()
        .args(["--json", "demo", "--size-mib", "2", "--dir"])
        .arg(&sandbox)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["check"]["ok"], true, "the demo's inspection check passes");
    let report = v["report"].as_str().unwrap();
    assert!(fs::read_to_string(report).unwrap().contains("月次報告書"));
    let id = v["id"].as_str().unwrap();
    for dest in ["usb-hdd/kura", "usb-hdd2/kura"] {
        assert!(sandbox
            .join(dest)
            .join("snapshots")
            .join(id)
            .join("SHA256SUMS.minisig")
            .is_file());
    }
    // The sandbox's own policy works with the ordinary commands.
    kura()
        .arg("--policy")
        .arg(sandbox.join("kura.toml"))
        .arg("verify")
        .assert()
        .success();
    kura()
        .args(["demo", "--size-mib", "1", "--dir"])
        .arg(&sandbox)
        .assert()
        .success()
        .stdout(predicate::str::contains("kura-demo"));
}

#[test]
fn demo_refuses_a_directory_it_did_not_create() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("important.xlsx"), b"data").unwrap();
    kura()
        .args(["demo", "--dir"])
        .arg(dir.path())
        .assert()
        .code(4);
    assert_eq!(
        fs::read(dir.path().join("important.xlsx")).unwrap(),
        b"data"
    );
}
