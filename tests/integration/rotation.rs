//! Signing keys change: a snapshot signed with a key that was valid when it
//! was made still verifies after the policy moves to a new key, and says
//! which key; the old key signing after its retirement does not verify; the
//! rotation is an audit event and a line in the month's report.

use std::fs;

use super::erase::{at, json};
use super::util::Site;

/// The policy with `[signing]` moved to `keys/kura-2.*`, the old key listed
/// as previous until `until` (or not at all).
fn rotated(site: &Site, until: Option<&str>) -> String {
    let mut text = site
        .policy_text(&[&site.volume])
        .replace("keys/kura.key", "keys/kura-2.key")
        .replace(
            "public_key = \"keys/kura.pub\"",
            "public_key = \"keys/kura-2.pub\"",
        );
    if let Some(until) = until {
        text.push_str(&format!(
            "previous_public_keys = [{{ public_key = \"keys/kura.pub\", until = {until} }}]\n"
        ));
    }
    text
}

fn verify_json(site: &Site, now: &str) -> (i32, serde_json::Value) {
    let out = at(site, now)
        .args(["--json", "verify", "all"])
        .output()
        .unwrap();
    (out.status.code().unwrap(), json(&out.stdout))
}

#[test]
fn an_old_snapshot_verifies_with_its_retired_key_and_says_so() {
    let site = Site::new();
    at(&site, "2024-01-05T01:00:00Z")
        .arg("backup")
        .assert()
        .success();
    let old_id =
        kura::keys::key_id(&kura::keys::load_public_key(&site.root.join("keys/kura.pub")).unwrap());
    site.kura()
        .args([
            "keys",
            "sign",
            "--secret",
            "keys/kura-2.key",
            "--public",
            "keys/kura-2.pub",
        ])
        .assert()
        .success();
    // The new key alone: January's snapshot no longer verifies.
    site.write_policy(&rotated(&site, None));
    assert_eq!(verify_json(&site, "2024-02-02T00:00:00Z").0, 1);
    // With the old key listed until the day of the change, it does.
    site.write_policy(&rotated(&site, Some("2024-02-01")));
    let (code, v) = verify_json(&site, "2024-02-02T00:00:00Z");
    assert_eq!(code, 0, "{v}");
    let snap = &v["destinations"][0]["snapshots"][0];
    assert_eq!(snap["signed_by"]["key_id"], old_id.as_str());
    assert_eq!(snap["signed_by"]["retired"], true);
    let human = at(&site, "2024-02-02T00:00:00Z")
        .args(["--lang", "ja", "verify"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&human.stdout).contains(&format!("旧鍵 {old_id}")));
    // The rotation is recorded once.
    at(&site, "2024-02-02T01:00:00Z")
        .args(["keys", "rotate"])
        .assert()
        .success();
    at(&site, "2024-02-02T01:10:00Z")
        .args(["keys", "rotate"])
        .assert()
        .code(4);
    // February's backup is signed with the new key; all verify.
    at(&site, "2024-02-05T01:00:00Z")
        .arg("backup")
        .assert()
        .success();
    let (code, v) = verify_json(&site, "2024-02-06T00:00:00Z");
    assert_eq!(code, 0, "{v}");
    // The month's report lists the rotation.
    at(&site, "2024-03-01T00:00:00Z")
        .args([
            "report", "monthly", "--month", "2024-02", "--format", "json", "--out", "r.json",
        ])
        .assert()
        .success();
    let r: serde_json::Value =
        serde_json::from_slice(&fs::read(site.root.join("r.json")).unwrap()).unwrap();
    assert_eq!(r["key_changes"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["key_changes"][0]["action"], "keys.rotate");
}

#[test]
fn the_old_key_signing_after_its_retirement_does_not_verify() {
    let site = Site::new();
    site.kura()
        .args([
            "keys",
            "sign",
            "--secret",
            "keys/kura-2.key",
            "--public",
            "keys/kura-2.pub",
        ])
        .assert()
        .success();
    // Someone keeps signing with the old key in March, after it was retired.
    at(&site, "2024-03-05T01:00:00Z")
        .arg("backup")
        .assert()
        .success();
    site.write_policy(&rotated(&site, Some("2024-02-01")));
    let (code, v) = verify_json(&site, "2024-03-06T00:00:00Z");
    assert_eq!(code, 1, "{v}");
    assert!(v.to_string().contains("retired"), "{v}");
}

/// A custodian changes: a new identity is added to the recipients, the old
/// one retired; each change is an audit event, and `keys coverage` says
/// which snapshots each identity opens.
#[test]
fn recipient_changes_are_recorded_and_coverage_lists_what_each_identity_opens() {
    let site = Site::new();
    at(&site, "2024-01-05T01:00:00Z")
        .arg("backup")
        .assert()
        .success();
    let new_identity = site.root.join("keys/identity-2.txt");
    let new = kura::keys::generate_age_identity(&new_identity, None, chrono::Utc::now()).unwrap();
    let recipients = site.root.join("keys/recipients.txt");
    fs::write(&recipients, format!("{}\n{new}\n", site.recipient)).unwrap();
    let out = at(&site, "2024-01-20T00:00:00Z")
        .args(["--json", "keys", "recipients"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(json(&out.stdout)["added"].to_string().contains(&new));
    at(&site, "2024-02-05T01:00:00Z")
        .arg("backup")
        .assert()
        .success();
    let opens = |identity: &std::path::Path| {
        let out = at(&site, "2024-02-06T00:00:00Z")
            .args(["--json", "keys", "coverage", "-i"])
            .arg(identity)
            .output()
            .unwrap();
        let v = json(&out.stdout);
        v["recipients"][0]["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(opens(&new_identity), ["20240205T010000Z"]);
    assert_eq!(
        opens(&site.identity),
        ["20240105T010000Z", "20240205T010000Z"]
    );
    // The old custodian leaves: retired, and recorded once.
    fs::write(&recipients, format!("{new}\n")).unwrap();
    let out = at(&site, "2024-02-10T00:00:00Z")
        .args(["--json", "keys", "recipients"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(json(&out.stdout)["retired"]
        .to_string()
        .contains(&site.recipient));
    at(&site, "2024-02-11T00:00:00Z")
        .args(["keys", "recipients"])
        .assert()
        .code(4);
    at(&site, "2024-03-01T00:00:00Z")
        .args([
            "report", "monthly", "--month", "2024-02", "--format", "json", "--out", "r.json",
        ])
        .assert()
        .success();
    let r: serde_json::Value =
        serde_json::from_slice(&fs::read(site.root.join("r.json")).unwrap()).unwrap();
    assert_eq!(r["key_changes"][0]["action"], "keys.recipients", "{r}");
}
