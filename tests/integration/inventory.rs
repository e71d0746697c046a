//! The inventory: every snapshot on a disk came through a backup this log
//! records, and every snapshot the log put on a disk is still there or left
//! through an erasure record. `kura check` (item `inventory`) and `kura audit
//! verify` name the snapshot and the destination otherwise.

use std::fs;

use predicates::prelude::*;

use crate::util::{Site, OPERATOR, SNAPSHOT_ID};

const FEBRUARY: &str = "2024-02-29T01:00:00Z";
const FEBRUARY_ID: &str = "20240229T010000Z";
const ROGUE: &str = "裏口 三郎";

fn backup_at(site: &Site, now: &str) {
    site.kura()
        .env("KURA_NOW", now)
        .args(["--operator", OPERATOR, "backup"])
        .assert()
        .success();
}

fn check(site: &Site) -> (i32, serde_json::Value) {
    let out = site
        .kura()
        .env("KURA_NOW", FEBRUARY)
        .args(["--json", "check"])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

fn inventory_item(v: &serde_json::Value) -> serde_json::Value {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "inventory")
        .cloned()
        .unwrap_or_else(|| panic!("no inventory item in {v}"))
}

/// Observation 9: an operator writes a policy of their own — their own
/// operators, self-approval, nothing kept, a fresh audit database, but the
/// real disk and keys — and under it removes a real snapshot and puts one of
/// their own on the disk. Their log shows whatever they like; the real log
/// shows neither, and the real policy's check and audit verify name both.
#[test]
fn a_rogue_policy_with_its_own_log_cannot_remove_or_add_a_snapshot_unseen() {
    let site = Site::new();
    backup_at(&site, crate::util::NOW);
    backup_at(&site, FEBRUARY);
    let (code, v) = check(&site);
    assert_eq!(code, 0, "{v}");
    assert_eq!(inventory_item(&v)["status"], "ok");

    let rogue = site.root.join("rogue.toml");
    let text = site
        .policy_text(&[&site.volume])
        .replace(
            &format!("operators = [\"{OPERATOR}\", \"scheduled-task\"]"),
            &format!("operators = [\"{ROGUE}\"]"),
        )
        + "\n[retention]\nkeep_monthly = 0\nkeep_yearly = 0\n\n[audit]\ndatabase = \"rogue-audit.sqlite\"\n\n[erasure]\nallow_self_approval = true\n";
    fs::write(&rogue, text).unwrap();
    crate::util::kura()
        .current_dir(&site.root)
        .args(["--policy", rogue.to_str().unwrap(), "policy", "check"])
        .assert()
        .success();
    // Their own snapshot, written with their policy and recorded in their log.
    crate::util::kura()
        .current_dir(&site.root)
        .env("KURA_NOW", "2024-02-10T03:00:00Z")
        .args([
            "--policy",
            rogue.to_str().unwrap(),
            "--operator",
            ROGUE,
            "backup",
        ])
        .assert()
        .success();
    // And the January snapshot gone, as their erasure under their log would
    // leave it: the real log has no record of either.
    fs::remove_dir_all(site.dest().join("snapshots").join(SNAPSHOT_ID)).unwrap();

    let (code, v) = check(&site);
    assert_eq!(code, 1, "{v}");
    let item = inventory_item(&v);
    assert_eq!(item["status"], "finding");
    let detail = item["detail"].as_str().unwrap();
    assert!(detail.contains(SNAPSHOT_ID), "{detail}");
    assert!(detail.contains("20240210T030000Z"), "{detail}");
    assert!(detail.contains("hdd1"), "{detail}");
    site.kura()
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!(
            "snapshot {SNAPSHOT_ID} was written to hdd1"
        )))
        .stdout(predicate::str::contains(
            "snapshot 20240210T030000Z is on hdd1, but no backup in this audit log wrote it",
        ));
    // In Japanese too.
    site.kura()
        .args(["--lang", "ja", "audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("消去の記録もありません"));
}

/// A snapshot directory copied onto the disk from another site (valid,
/// signed, with its own sums) has no backup event here: a finding.
#[test]
fn a_snapshot_copied_onto_the_disk_from_elsewhere_is_named() {
    let site = Site::new();
    backup_at(&site, crate::util::NOW);
    let other = Site::new();
    backup_at(&other, FEBRUARY);
    crate::util::copy_tree(
        &other.dest().join("snapshots").join(FEBRUARY_ID),
        &site.dest().join("snapshots").join(FEBRUARY_ID),
    );
    let (code, v) = check(&site);
    assert_eq!(code, 1, "{v}");
    let detail = inventory_item(&v)["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains(FEBRUARY_ID) && detail.contains("hdd1"),
        "{detail}"
    );
    assert!(
        !detail.contains(SNAPSHOT_ID),
        "the real one is fine: {detail}"
    );
    site.kura()
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(FEBRUARY_ID));
}

/// A disk that is not connected is not compared; and with rotation (two
/// registered disks taking turns at one destination) a snapshot is expected
/// only on the disk it was written to.
#[test]
fn an_unconnected_disk_and_the_other_disk_of_a_rotation_are_not_asked_for_snapshots() {
    let site = Site::new();
    backup_at(&site, crate::util::NOW);
    // The second disk of the rotation is registered and mounted in turn.
    fs::rename(site.root.join("usb"), site.root.join("usb-a")).unwrap();
    fs::create_dir_all(site.root.join("usb")).unwrap();
    let second = kura::media::register(
        &site.root.join("usb/kura"),
        "HDD1-B",
        OPERATOR,
        chrono::Utc::now(),
    )
    .unwrap()
    .id;
    site.write_policy(&site.policy_text(&[&site.volume, &second]));
    backup_at(&site, FEBRUARY);
    let (code, v) = check(&site);
    assert_eq!(inventory_item(&v)["status"], "ok", "{v}");
    assert_eq!(code, 0, "{v}");
    // Disk A back at the path: it has January, not February.
    fs::rename(site.root.join("usb"), site.root.join("usb-b")).unwrap();
    fs::rename(site.root.join("usb-a"), site.root.join("usb")).unwrap();
    let (_, v) = check(&site);
    assert_eq!(inventory_item(&v)["status"], "ok", "{v}");
    // No disk at all: nothing to compare, and that is said.
    fs::rename(site.root.join("usb"), site.root.join("usb-away")).unwrap();
    let (_, v) = check(&site);
    let item = inventory_item(&v);
    assert_eq!(item["status"], "ok", "{v}");
    assert!(
        item["detail"].as_str().unwrap().contains("not connected"),
        "{item}"
    );
}
