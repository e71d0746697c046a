//! The server's disk is lost (§6(3), 6(5)): the audit log comes back from the
//! latest snapshot with `kura audit recover`, the gap is recorded, and
//! `audit verify` accepts exactly the paper checkpoints the recovery
//! declared lost — and nothing else.

use std::fs;

use super::erase::at;
use super::util::Site;

/// `kura audit checkpoint` at `now`: the SEQ:HASH for the paper record.
fn paper_checkpoint(site: &Site, now: &str) -> String {
    let out = at(site, now)
        .args(["audit", "checkpoint"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split_whitespace()
        .find(|w| w.contains(':') && w.len() > 64)
        .unwrap_or_else(|| panic!("no SEQ:HASH in {text}"))
        .to_string()
}

/// Three months with paper checkpoints; after March's snapshot more work
/// and one more paper checkpoint; then the server's disk is lost. Returns
/// the site and the paper checkpoints, the last two newer than the snapshot.
fn lost_server() -> (Site, Vec<String>) {
    let site = Site::new();
    let mut paper = Vec::new();
    for m in 1..=3 {
        at(&site, &format!("2024-{m:02}-05T01:00:00Z"))
            .arg("backup")
            .assert()
            .success();
        paper.push(paper_checkpoint(
            &site,
            &format!("2024-{m:02}-05T02:00:00Z"),
        ));
    }
    at(&site, "2024-03-06T01:00:00Z")
        .args(["verify", "-i"])
        .arg(&site.identity)
        .assert()
        .success();
    paper.push(paper_checkpoint(&site, "2024-03-06T02:00:00Z"));
    // The server's disk: the database and the checkpoint files beside it.
    let db = site.root.join("kura-audit.sqlite");
    assert!(db.is_file());
    fs::remove_file(&db).unwrap();
    let _ = fs::remove_dir_all(kura::audit::checkpoint_dir(&db));
    (site, paper)
}

fn recover(site: &Site, lost: &[String]) -> assert_cmd::assert::Assert {
    let mut c = at(site, "2024-03-07T09:00:00Z");
    c.args(["audit", "recover", "--from", "latest", "-i"])
        .arg(&site.identity)
        .args(["--failed-at", "2024-03-07 08:30 サーバ起動不能"]);
    for cp in lost {
        c.args(["--checkpoint", cp]);
    }
    c.assert()
}

fn verify(site: &Site, checkpoints: &[String]) -> std::process::Output {
    let mut c = at(site, "2024-03-08T01:00:00Z");
    c.args(["--json", "audit", "verify"]);
    for cp in checkpoints {
        c.args(["--checkpoint", cp]);
    }
    c.output().unwrap()
}

#[test]
fn a_recovered_log_passes_with_every_paper_checkpoint_and_the_gap_it_declared() {
    let (site, paper) = lost_server();
    // March's checkpoint (taken after the snapshot sealed its head) and the
    // later one were lost with the server; the paper has them.
    recover(&site, &paper[2..]).success();
    let out = verify(&site, &paper);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = v["report"]["checkpoints"].as_array().unwrap();
    let gaps = results
        .iter()
        .filter(|c| c["documented_gap"].is_u64())
        .count();
    assert_eq!(gaps, 2, "{results:?}");
    // The chain goes on: April's backup, and every snapshot verifies.
    at(&site, "2024-04-05T01:00:00Z")
        .arg("backup")
        .assert()
        .success();
    at(&site, "2024-04-05T02:00:00Z")
        .args(["verify", "all"])
        .assert()
        .success();
    // The month of the failure reports it as an incident.
    at(&site, "2024-04-01T00:00:00Z")
        .args([
            "report", "monthly", "--month", "2024-03", "--format", "json", "--out", "r.json",
        ])
        .assert()
        .success();
    let r: serde_json::Value =
        serde_json::from_slice(&fs::read(site.root.join("r.json")).unwrap()).unwrap();
    assert!(
        r["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["action"] == "audit.recover" && i["kind"] == "recovery"),
        "{}",
        r["incidents"]
    );
}

#[test]
fn a_gap_no_recovery_declared_is_still_a_finding() {
    let (site, paper) = lost_server();
    // Only the last checkpoint declared: March's is an undocumented gap.
    recover(&site, &paper[3..]).success();
    let out = verify(&site, &paper);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A made-up checkpoint is not accepted either.
    let forged = format!("{}:{}", 99, "ab".repeat(32));
    assert_eq!(verify(&site, &[forged]).status.code(), Some(1));
}

#[test]
fn a_recovery_event_that_does_not_follow_its_recovered_head_fails_verify() {
    let (site, paper) = lost_server();
    recover(&site, &paper[2..]).success();
    // Someone appends a second "recovery" claiming another head, through
    // the library, so the hash chain itself stays intact.
    let clock = kura::clock::Clock::system();
    let mut log = kura::audit::AuditLog::open(&site.root.join("kura-audit.sqlite"), clock).unwrap();
    log.append(
        &kura::audit::Actor::current("山田 太郎"),
        "audit.recover",
        "20240305T010000Z",
        kura::audit::Outcome::Ok,
        &serde_json::json!({
            "recovered_seq": 3, "recovered_head": "00".repeat(32),
            "lost_checkpoints": [{"seq": 500, "hash": "ab".repeat(32)}],
        }),
    )
    .unwrap();
    let out = verify(&site, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("audit.recover"));
}

#[test]
fn recovery_is_refused_where_a_log_with_events_is() {
    let site = Site::new();
    at(&site, "2024-01-05T01:00:00Z")
        .arg("backup")
        .assert()
        .success();
    recover(&site, &[]).code(4);
}

#[test]
fn a_copy_that_disagrees_with_an_older_paper_checkpoint_is_not_installed() {
    let (site, paper) = lost_server();
    // January's checkpoint with another hash: the copy (or the paper) is not
    // what was recorded, and nothing is installed.
    let (seq, _) = paper[0].split_once(':').unwrap();
    let wrong = format!("{seq}:{}", "cd".repeat(32));
    recover(&site, &[wrong]).code(1);
    assert!(!site.root.join("kura-audit.sqlite").exists());
}

#[test]
fn a_recovery_that_names_a_snapshot_whose_seal_differs_fails_verify() {
    let (site, paper) = lost_server();
    recover(&site, &paper[2..]).success();
    // A later recovery event, chained correctly after the last event, but
    // naming March's snapshot, which sealed another head.
    let db = site.root.join("kura-audit.sqlite");
    let clock = kura::clock::Clock::system();
    let mut log = kura::audit::AuditLog::open(&db, clock).unwrap();
    let (seq, head) = log.head().unwrap().unwrap();
    log.append(
        &kura::audit::Actor::current("山田 太郎"),
        "audit.recover",
        "20240305T010000Z",
        kura::audit::Outcome::Ok,
        &serde_json::json!({
            "snapshot": "20240305T010000Z", "recovered_seq": seq, "recovered_head": head,
            "lost_checkpoints": [],
        }),
    )
    .unwrap();
    let out = verify(&site, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("sealed"));
}

/// The rehearsal of issue 18: five months with paper checkpoints; the
/// server's disk is lost (database, policy directory, signing key); a new
/// server from a copy of the policy and the off-server keys; the log
/// recovered from the latest snapshot; the signing key replaced (the old
/// secret key went with the server); month 6 backed up. Then every paper
/// checkpoint verifies with the one documented gap, `check` is 正常 and
/// every snapshot of the six months verifies.
#[test]
fn the_rehearsal_of_a_lost_server_with_a_new_signing_key_passes_every_check() {
    let site = Site::new();
    let months = ["2023-10", "2023-11", "2023-12", "2024-01", "2024-02"];
    let mut paper = Vec::new();
    for m in months {
        at(&site, &format!("{m}-05T01:00:00Z"))
            .arg("backup")
            .assert()
            .success();
        let cp = paper_checkpoint(&site, &format!("{m}-05T02:00:00Z"));
        // The month's visit checks the paper record against the log.
        let mut verify = at(&site, &format!("{m}-05T03:00:00Z"));
        verify.args(["audit", "verify"]);
        for p in paper.iter().chain([&cp]) {
            verify.args(["--checkpoint", p]);
        }
        verify.assert().success();
        paper.push(cp);
    }
    // Off the server: the identity (key USB), the public key and the
    // recipients (carry USB), a copy of the policy (the kit).
    let off = site.root.join("offsite");
    fs::create_dir_all(&off).unwrap();
    fs::copy(&site.identity, off.join("identity.txt")).unwrap();
    fs::copy(site.root.join("keys/kura.pub"), off.join("kura.pub")).unwrap();
    fs::copy(
        site.root.join("keys/recipients.txt"),
        off.join("recipients.txt"),
    )
    .unwrap();
    let policy = fs::read_to_string(site.policy_path()).unwrap();
    // The server's disk is lost.
    fs::remove_file(site.root.join("kura-audit.sqlite")).unwrap();
    let _ = fs::remove_dir_all(kura::audit::checkpoint_dir(
        &site.root.join("kura-audit.sqlite"),
    ));
    fs::remove_dir_all(site.root.join("keys")).unwrap();
    fs::remove_file(site.policy_path()).unwrap();
    // The new server: keys from off-site, a new signing pair, the policy
    // copy with the old public key kept for what it signed.
    fs::create_dir_all(site.root.join("keys")).unwrap();
    fs::copy(
        off.join("recipients.txt"),
        site.root.join("keys/recipients.txt"),
    )
    .unwrap();
    fs::copy(off.join("kura.pub"), site.root.join("keys/kura-old.pub")).unwrap();
    site.kura()
        .args([
            "keys",
            "sign",
            "--secret",
            "keys/kura.key",
            "--public",
            "keys/kura.pub",
        ])
        .assert()
        .success();
    site.write_policy(&format!(
        "{policy}previous_public_keys = [{{ public_key = \"keys/kura-old.pub\", until = 2024-02-20 }}]\n"
    ));
    let mut recover = at(&site, "2024-02-20T09:00:00Z");
    recover
        .args(["audit", "recover", "--from", "latest", "-i"])
        .arg(off.join("identity.txt"))
        .args(["--failed-at", "2024-02-19 サーバーのディスク故障"]);
    for p in &paper {
        recover.args(["--checkpoint", p]);
    }
    recover.assert().success();
    at(&site, "2024-02-20T10:00:00Z")
        .args(["keys", "rotate"])
        .assert()
        .success();
    at(&site, "2024-03-05T01:00:00Z")
        .arg("backup")
        .assert()
        .success();
    // Every paper checkpoint: one documented gap (February's, taken after
    // the snapshot sealed its head), and a pass.
    let mut verify = at(&site, "2024-03-05T03:00:00Z");
    verify.args(["--json", "audit", "verify"]);
    for p in &paper {
        verify.args(["--checkpoint", p]);
    }
    let out = verify.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let gaps = v["report"]["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["documented_gap"].is_u64())
        .count();
    assert_eq!(gaps, 1, "{v}");
    let check = at(&site, "2024-03-05T04:00:00Z")
        .args(["--lang", "ja", "check"])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let out = at(&site, "2024-03-05T05:00:00Z")
        .args(["--json", "verify", "all", "-i"])
        .arg(off.join("identity.txt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let snaps = v["destinations"][0]["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 6, "months 1–6");
    assert_eq!(
        snaps
            .iter()
            .filter(|s| s["signed_by"]["retired"] == true)
            .count(),
        5,
        "months 1–5 with the old key"
    );
}
