//! Retention and erasure: nothing goes without an approved request, what goes
//! is overwritten, and a certificate records it all.

use std::fs;

use predicates::prelude::*;

use crate::util::{have_tool, sh, Site, OPERATOR};

pub(crate) const APPROVER: &str = "札幌 花子";

/// Monthly snapshots from November 2023 to April 2024 (six), keep_monthly = 3.
pub(crate) fn site_with_six_months() -> (Site, Vec<String>) {
    let site = Site::new();
    // Two disks: every erasure must reach every copy.
    let policy = site.with_second_destination(&site.policy_text(&[&site.volume]))
        + "\n[retention]\nkeep_monthly = 3\nkeep_yearly = 0\n";
    site.write_policy(&policy);
    let mut ids = Vec::new();
    for (y, m) in [
        (2023, 11),
        (2023, 12),
        (2024, 1),
        (2024, 2),
        (2024, 3),
        (2024, 4),
    ] {
        let now = format!("{y}-{m:02}-05T01:00:00Z");
        site.kura()
            .env("KURA_NOW", &now)
            .args(["--operator", OPERATOR, "backup"])
            .assert()
            .success();
        ids.push(format!("{y}{m:02}05T010000Z"));
    }
    (site, ids)
}

pub(crate) fn at(site: &Site, now: &str) -> assert_cmd::Command {
    let mut c = site.kura();
    c.env("KURA_NOW", now).args(["--operator", OPERATOR]);
    c
}

/// `kura prune` on 20 April 2024, approved by the 業務主任: the request id.
/// `kura prune` on 20 April 2024: the request id.
pub(crate) fn pruned(site: &Site) -> String {
    let out = at(site, "2024-04-20T00:00:00Z")
        .args(["--json", "prune"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    json(&out)["id"].as_str().unwrap().to_string()
}

pub(crate) fn pruned_and_approved(site: &Site) -> String {
    let id = pruned(site);
    at(site, "2024-04-20T00:00:00Z")
        .args(["erase", "approve", &id, "--approver", APPROVER])
        .assert()
        .success();
    id
}

pub(crate) fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap()
}

#[test]
fn prune_requests_exactly_the_snapshots_outside_retention_and_deletes_nothing() {
    let (site, ids) = site_with_six_months();
    let dry = at(&site, "2024-04-20T00:00:00Z")
        .args(["--json", "prune", "--dry-run"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let going: Vec<String> = json(&dry)["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["keep"] == false)
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(going, [ids[2].clone(), ids[1].clone(), ids[0].clone()]);

    let out = at(&site, "2024-04-20T00:00:00Z")
        .args(["--json", "prune"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    let mut requested: Vec<String> = v["request"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["target"].as_str().unwrap().to_string())
        .collect();
    requested.dedup();
    assert_eq!(requested, [ids[0].clone(), ids[1].clone(), ids[2].clone()]);
    assert_eq!(
        Site::snapshot_entries(&site.dest()).len(),
        6,
        "prune deletes nothing"
    );
}

#[test]
fn the_whole_workflow_erases_only_after_approval_and_keeps_what_retention_keeps() {
    let (site, ids) = site_with_six_months();
    // A second name for one archive that will be erased: after execution it
    // must show zeros, proving the blocks were overwritten before unlinking.
    let victim = site
        .dest()
        .join("snapshots")
        .join(&ids[0])
        .join("master.tar.zst.age");
    let size = fs::metadata(&victim).unwrap().len();
    let witness_link = site.dest().join("second-name.bin");
    fs::hard_link(&victim, &witness_link).unwrap();

    let out = at(&site, "2024-04-20T00:00:00Z")
        .args(["--json", "prune"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let id = json(&out)["id"].as_str().unwrap().to_string();

    // Not approved: refused, nothing touched.
    at(&site, "2024-04-20T00:00:00Z")
        .args(["erase", "execute", &id])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("approved"));
    assert_eq!(Site::snapshot_entries(&site.dest()).len(), 6);
    // The requester cannot approve their own request.
    at(&site, "2024-04-20T00:00:00Z")
        .args(["erase", "approve", &id, "--approver", OPERATOR])
        .assert()
        .code(4);
    at(&site, "2024-04-20T00:00:00Z")
        .args(["erase", "approve", &id, "--approver", APPROVER])
        .assert()
        .success();
    at(&site, "2024-04-21T00:00:00Z")
        .args(["erase", "execute", &id, "--witness", "札幌 次郎"])
        .assert()
        .success();

    for dest in [site.dest(), site.root.join("usb2/kura")] {
        let mut left = Site::snapshot_entries(&dest);
        left.sort();
        assert_eq!(
            left,
            ids[3..].to_vec(),
            "only the kept snapshots remain on {}",
            dest.display()
        );
    }
    site.kura().args(["verify", "all"]).assert().success();
    // The erased snapshots are accounted for by their erasure records.
    let out = site
        .kura()
        .env("KURA_NOW", "2024-04-21T00:00:00Z")
        .args(["--json", "check"])
        .output()
        .unwrap();
    let check = json(&out.stdout);
    let inventory = check["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "inventory")
        .unwrap()
        .clone();
    assert_eq!(inventory["status"], "ok", "{inventory}");
    site.kura().args(["audit", "verify"]).assert().success();

    let zeros = fs::read(&witness_link).unwrap();
    assert_eq!(zeros.len() as u64, size);
    assert!(
        zeros.iter().all(|b| *b == 0),
        "the archive's bytes were overwritten in place"
    );

    // Executing twice is refused.
    at(&site, "2024-04-21T00:00:00Z")
        .args(["erase", "execute", &id])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("already"));
}

#[test]
fn the_certificate_holds_every_field_and_its_signature_verifies_with_minisign() {
    let (site, _) = site_with_six_months();
    let id = pruned_and_approved(&site);
    at(&site, "2024-04-20T00:00:00Z")
        .args(["erase", "execute", &id, "--witness", "札幌 次郎"])
        .assert()
        .success();

    site.kura()
        .args([
            "erase",
            "certificate",
            &id,
            "--format",
            "json",
            "--out",
            "cert.json",
        ])
        .assert()
        .success();
    let c: serde_json::Value =
        serde_json::from_slice(&fs::read(site.root.join("cert.json")).unwrap()).unwrap();
    assert_eq!(c["format"], "kura-erasure-certificate/1");
    assert_eq!(c["id"], id.as_str());
    assert_eq!(c["performed_by"]["name"], OPERATOR);
    assert_eq!(c["approval"]["approved_by"], APPROVER);
    assert!(c["approval"]["audit"]["seq"].as_u64().is_some());
    assert_eq!(c["witness"], "札幌 次郎");
    assert_eq!(c["sanitization"]["method_type"], "Clear");
    assert_eq!(c["sanitization"]["tool"]["name"], "kura");
    assert!(c["sanitization"]["verification"]
        .as_str()
        .unwrap()
        .contains("read back"));
    // Issue 14, observation 7: the read-back says where it read from; on
    // Linux the cached pages are dropped first, so it is the device.
    #[cfg(target_os = "linux")]
    {
        assert_eq!(c["sanitization"]["readback"], "device");
        assert!(c["sanitization"]["verification"]
            .as_str()
            .unwrap()
            .contains("from the device"));
        assert!(c["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["readback"] == "device"));
    }
    assert!(c["media"][0]["volume"].as_str().unwrap().starts_with("kv-"));
    assert_eq!(c["request"]["planned"], "2024-04-20");
    assert!(c["request"]["quantity"]["bytes"].as_u64().unwrap() > 0);
    let exec = &c["execution"]["audit"];
    assert_eq!(exec["hash"].as_str().unwrap().len(), 64);
    assert_eq!(c["complete"], true);
    for item in c["items"].as_array().unwrap() {
        assert_eq!(item["status"], "erased");
        assert_eq!(item["sha256"].as_str().unwrap().len(), 64);
        assert!(item["size"].as_u64().is_some());
    }
    // The execution event named on the certificate is in the chain.
    let log = site
        .kura()
        .args(["--json", "audit", "log", "--action", "erase.execute"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let events = json(&log)["events"].as_array().unwrap().clone();
    assert!(events
        .iter()
        .any(|e| e["seq"] == exec["seq"] && e["hash"] == exec["hash"]));

    site.kura()
        .args([
            "--lang",
            "ja",
            "erase",
            "certificate",
            &id,
            "--format",
            "html",
            "--out",
            "cert.html",
        ])
        .assert()
        .success();
    let html = fs::read_to_string(site.root.join("cert.html")).unwrap();
    assert!(
        html.contains("消去証明書") && html.contains("令和6年4月"),
        "Japanese form with 和暦"
    );
    if have_tool("minisign") {
        sh("minisign -V -p keys/kura.pub -m cert.json && minisign -V -p keys/kura.pub -m cert.html", &site.root);
    }
}

#[test]
fn crypto_erase_lists_the_recipient_and_the_snapshots_only_it_could_open() {
    let site = Site::new();
    site.backup().assert().success();
    let copy = site.root.join("safe-copy-identity.txt");
    fs::copy(&site.identity, &copy).unwrap();
    let out = at(&site, "2024-02-01T00:00:00Z")
        .args([
            "--json",
            "erase",
            "request",
            "--method",
            "crypto-erase",
            "--planned",
            "2024-02-01",
            "--reason",
            "契約終了",
        ])
        .arg("--identity")
        .arg(&site.identity)
        .arg("--identity")
        .arg(&copy)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v = json(&out);
    let id = v["id"].as_str().unwrap().to_string();
    let ce = &v["request"]["details"]["crypto_erase"]["identities"][0];
    assert_eq!(ce["recipients"][0], site.recipient.as_str());
    assert_eq!(ce["snapshots_only_it_opens"][0], crate::util::SNAPSHOT_ID);
    at(&site, "2024-02-01T00:00:00Z")
        .args(["erase", "approve", &id, "--approver", APPROVER])
        .assert()
        .success();
    at(&site, "2024-02-01T00:00:00Z")
        .args(["erase", "execute", &id])
        .assert()
        .success();
    assert!(!site.identity.exists() && !copy.exists());
    site.kura()
        .args([
            "erase",
            "certificate",
            &id,
            "--format",
            "md",
            "--out",
            "c.md",
        ])
        .assert()
        .success();
    let md = fs::read_to_string(site.root.join("c.md")).unwrap();
    assert!(md.contains("パージ (暗号消去)"), "{md}");
    assert!(md.contains("この鍵でのみ開けるスナップショット"), "{md}");
    assert!(
        md.contains(&site.recipient),
        "the recipient of the destroyed identity: {md}"
    );
}

#[test]
fn destroy_needs_a_witness_and_planned_dates_are_respected() {
    let site = Site::new();
    let out = at(&site, "2024-02-01T00:00:00Z")
        .args([
            "--json",
            "erase",
            "request",
            "--method",
            "destroy",
            "--medium",
            "USB HDD BUFFALO HD-PCG1.0U3 S/N 12345",
            "--planned",
            "2024-03-01",
            "--reason",
            "故障",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let id = json(&out)["id"].as_str().unwrap().to_string();
    at(&site, "2024-02-01T00:00:00Z")
        .args(["erase", "approve", &id, "--approver", APPROVER])
        .assert()
        .success();
    at(&site, "2024-02-15T00:00:00Z")
        .args(["erase", "execute", &id, "--witness", "札幌 次郎"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("planned"));
    at(&site, "2024-03-01T09:00:00Z")
        .args(["erase", "execute", &id])
        .assert()
        .code(2);
    at(&site, "2024-03-01T09:00:00Z")
        .args(["erase", "execute", &id, "--witness", "札幌 次郎"])
        .assert()
        .success();
}

#[test]
fn a_file_swapped_for_a_link_is_a_finding_and_nothing_is_erased_through_it() {
    let (site, ids) = site_with_six_months();
    let id = pruned_and_approved(&site);
    // Someone replaced one file with a link: kura must not erase through it.
    let odd = site
        .dest()
        .join("snapshots")
        .join(&ids[1])
        .join("snapshot.json");
    let target = site.root.join("not-a-backup.txt");
    fs::write(&target, b"unrelated").unwrap();
    fs::remove_file(&odd).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&target, &odd).unwrap();
    #[cfg(not(unix))]
    return;
    let out = at(&site, "2024-04-20T00:00:00Z")
        .args(["--json", "erase", "execute", &id])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let req = &json(&out)["request"];
    assert_eq!(req["status"], "incomplete", "settled, but not all erased");
    let odd_items: Vec<_> = req["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] != "erased")
        .collect();
    assert_eq!(odd_items.len(), 1);
    assert_eq!(odd_items[0]["status"], "linked");
    assert_eq!(
        fs::read(&target).unwrap(),
        b"unrelated",
        "nothing erased through the link"
    );
    // Removing the link does not make the item erased: kura did not erase
    // it, so the certificate never says so.
    fs::remove_file(&odd).unwrap();
    let out = at(&site, "2024-04-20T00:00:00Z")
        .args(["--json", "erase", "execute", &id])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let item = json(&out)["request"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == odd.display().to_string().as_str())
        .cloned()
        .unwrap();
    assert_eq!(item["status"], "missing");
    site.kura()
        .args([
            "--json",
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
    assert_eq!(c["complete"], false);
    assert_eq!(c["findings"], 1);
}

#[test]
fn a_snapshot_kept_by_retention_cannot_be_requested() {
    let (site, ids) = site_with_six_months();
    at(&site, "2024-04-20T00:00:00Z")
        .args([
            "erase",
            "request",
            "--method",
            "overwrite",
            "--planned",
            "2024-04-20",
            "--reason",
            "x",
            "--snapshot",
            &ids[5],
        ])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("newest"));
}
