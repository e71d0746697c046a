//! Erasure records that cannot lie (issue 13, observations 1–7): tried with
//! the disk unplugged, with rows forged in the database, with decoys, links
//! and other names for what must stay, and with approvers typed freely.

use std::fs;
use std::path::Path;

use predicates::prelude::*;

use crate::erase::{at, json, pruned, pruned_and_approved, site_with_six_months, APPROVER};
use crate::util::{Site, OPERATOR};

const DAY: &str = "2024-04-20T00:00:00Z";

fn certificate(site: &Site, id: &str) -> serde_json::Value {
    site.kura()
        .args([
            "erase",
            "certificate",
            id,
            "--format",
            "json",
            "--out",
            "c.json",
        ])
        .assert()
        .success();
    json(&fs::read(site.root.join("c.json")).unwrap())
}

fn execute(site: &Site, id: &str, code: i32) -> serde_json::Value {
    let out = at(site, DAY)
        .args(["--json", "erase", "execute", id])
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    json(&out)["request"].clone()
}

fn items_on<'a>(req: &'a serde_json::Value, dest: &str) -> Vec<&'a serde_json::Value> {
    req["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["destination"] == dest)
        .collect()
}

/// Observation 1.
#[test]
fn erase_with_hdd1_unplugged_leaves_items_pending() {
    let (site, ids) = site_with_six_months();
    let id = pruned_and_approved(&site);
    let usb = site.root.join("usb");
    let away = site.root.join("usb-in-the-drawer");
    fs::rename(&usb, &away).unwrap();

    let req = execute(&site, &id, 3);
    assert_eq!(req["status"], "partial");
    let hdd1 = items_on(&req, "hdd1");
    assert!(!hdd1.is_empty());
    for i in &hdd1 {
        assert_eq!(i["status"], "pending", "{i}");
        assert!(
            i["detail"].as_str().unwrap().contains("not connected"),
            "{i}"
        );
    }
    assert!(items_on(&req, "hdd2")
        .iter()
        .all(|i| i["status"] == "erased"));
    let c = certificate(&site, &id);
    assert_eq!(c["complete"], false);
    assert!(c["outstanding"].as_u64().unwrap() >= hdd1.len() as u64);
    site.kura()
        .args([
            "--lang",
            "ja",
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
    assert!(!md.contains("全件消去済"), "{md}");
    assert!(md.contains("未完了"), "{md}");

    // The wrong disk in the slot: still pending, and that disk is untouched.
    fs::create_dir_all(&usb).unwrap();
    kura::media::register(&usb.join("kura"), "other", OPERATOR, chrono::Utc::now()).unwrap();
    let req = execute(&site, &id, 3);
    for i in items_on(&req, "hdd1") {
        assert_eq!(i["status"], "pending");
        assert!(
            i["detail"]
                .as_str()
                .unwrap()
                .contains("not the requested volume"),
            "{i}"
        );
    }
    fs::remove_dir_all(&usb).unwrap();

    // Plugged back in: the copies were there all along, and now go.
    fs::rename(&away, &usb).unwrap();
    for old in &ids[..3] {
        assert!(site.dest().join("snapshots").join(old).is_dir());
    }
    let req = execute(&site, &id, 0);
    assert_eq!(req["status"], "executed");
    let mut left = Site::snapshot_entries(&site.dest());
    left.sort();
    assert_eq!(left, ids[3..].to_vec());
    assert_eq!(certificate(&site, &id)["complete"], true);
}

fn database(site: &Site) -> rusqlite::Connection {
    rusqlite::Connection::open(site.root.join("kura-audit.sqlite")).unwrap()
}

/// Observation 2.
#[test]
fn a_request_inserted_with_sqlite3_gets_no_certificate() {
    let (site, _) = site_with_six_months();
    let id = pruned_and_approved(&site);
    execute(&site, &id, 0);
    let db = database(&site);
    db.execute_batch(
        "INSERT INTO erasure_requests (id, created_at, requested_by, method, planned, reason,
             details, request_sha256, status, approved_by, executed_by)
         VALUES ('ER-2024-0099', '2024-04-20T00:00:00.000Z', '山田 太郎', 'overwrite',
             '2024-04-20', 'forged', '{}', '', 'executed', '札幌 花子', '山田 太郎');
         INSERT INTO erasure_items (request_id, n, kind, target, path, size, sha256, status)
         VALUES ('ER-2024-0099', 1, 'file', '/srv/ledger.csv', '/srv/ledger.csv', 145199,
             'aa', 'erased');",
    )
    .unwrap();
    site.kura()
        .args([
            "erase",
            "certificate",
            "ER-2024-0099",
            "--out",
            "forged.html",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not in the audit chain"));
    assert!(!site.root.join("forged.html").exists());
    site.kura().args(["erase", "list"]).assert().code(1);
    site.kura()
        .args(["audit", "verify"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("ER-2024-0099"));
    site.kura()
        .env("KURA_NOW", DAY)
        .args(["--json", "check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("ER-2024-0099"));

    // Editing a real request's rows is caught the same way.
    db.execute("DELETE FROM erasure_requests WHERE id = 'ER-2024-0099'", [])
        .unwrap();
    db.execute(
        "DELETE FROM erasure_items WHERE request_id = 'ER-2024-0099'",
        [],
    )
    .unwrap();
    site.kura().args(["audit", "verify"]).assert().success();
    db.execute(
        "UPDATE erasure_requests SET approved_by = '市長' WHERE id = ?1",
        [&id],
    )
    .unwrap();
    site.kura()
        .args(["erase", "certificate", &id])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("approved_by"));
}

/// Observation 3.
#[test]
fn an_archive_replaced_by_a_decoy_after_approval_is_not_erased_and_not_certified() {
    let (site, ids) = site_with_six_months();
    let id = pruned_and_approved(&site);
    let archive = site
        .dest()
        .join("snapshots")
        .join(&ids[0])
        .join("master.tar.zst.age");
    let recorded = fs::metadata(&archive).unwrap().len();
    fs::write(&archive, b"decoy!").unwrap();

    let req = execute(&site, &id, 1);
    let item = req["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == archive.display().to_string().as_str())
        .unwrap()
        .clone();
    assert_eq!(item["status"], "mismatch");
    assert_eq!(
        fs::read(&archive).unwrap(),
        b"decoy!",
        "nothing written to it"
    );
    let c = certificate(&site, &id);
    assert_eq!(c["complete"], false);
    assert_eq!(c["findings"], 1);
    let on_cert = c["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["n"] == item["n"])
        .unwrap()
        .clone();
    assert_eq!(
        on_cert["size"], recorded,
        "the recorded size, not the decoy's"
    );
    assert_eq!(on_cert["status"], "mismatch");
}

/// Observation 4.
#[test]
fn the_newest_snapshot_and_the_audit_log_cannot_be_erased_by_naming_a_file() {
    let (site, ids) = site_with_six_months();
    let newest = site
        .dest()
        .join("snapshots")
        .join(&ids[5])
        .join("master.tar.zst.age");
    let request = |file: &Path| {
        let mut c = at(&site, DAY);
        c.args([
            "erase",
            "request",
            "--method",
            "overwrite",
            "--planned",
            "2024-04-20",
            "--reason",
            "x",
            "--file",
        ])
        .arg(file);
        c
    };
    request(&newest)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("retention"));
    // Another name for the same archive is the same archive.
    let other_name = site.root.join("looks-harmless.bin");
    fs::hard_link(&newest, &other_name).unwrap();
    request(&other_name)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("retention"));
    // An old snapshot goes only as a whole.
    let old = site
        .dest()
        .join("snapshots")
        .join(&ids[0])
        .join("snapshot.json");
    request(&old)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("--snapshot"));
    // The audit log itself, and identities through --file.
    request(&site.root.join("kura-audit.sqlite"))
        .assert()
        .code(4)
        .stderr(predicate::str::contains("audit"));
    request(&site.identity)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("crypto-erase"));
    // A file of its own is fine.
    let stray = site.root.join("stray.csv");
    fs::write(&stray, "x\n").unwrap();
    request(&stray).assert().success();
}

/// Observation 5.
#[cfg(unix)]
#[test]
fn a_snapshot_directory_swapped_for_a_link_erases_nothing_of_its_target() {
    let (site, ids) = site_with_six_months();
    let victim = site.root.join("victim");
    fs::create_dir_all(&victim).unwrap();
    let snap = |id: &str| site.dest().join("snapshots").join(id);
    // Before the request: the link is a finding and nothing is requested.
    for f in fs::read_dir(snap(&ids[0])).unwrap() {
        let f = f.unwrap();
        fs::copy(f.path(), victim.join(f.file_name())).unwrap();
    }
    let parked = site.root.join("parked");
    fs::rename(snap(&ids[0]), &parked).unwrap();
    std::os::unix::fs::symlink(&victim, snap(&ids[0])).unwrap();
    at(&site, DAY)
        .args(["prune"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("link"));
    fs::remove_file(snap(&ids[0])).unwrap();
    fs::rename(&parked, snap(&ids[0])).unwrap();

    // After approval: the swap is found at execution; the target keeps its files.
    let id = pruned_and_approved(&site);
    fs::rename(snap(&ids[1]), &parked).unwrap();
    for f in fs::read_dir(&parked).unwrap() {
        let f = f.unwrap();
        fs::copy(f.path(), victim.join(f.file_name())).unwrap();
    }
    let before = crate::util::tree(&victim);
    std::os::unix::fs::symlink(&victim, snap(&ids[1])).unwrap();
    let req = execute(&site, &id, 1);
    let linked: Vec<_> = items_on(&req, "hdd1")
        .into_iter()
        .filter(|i| i["target"] == ids[1].as_str())
        .collect();
    assert!(!linked.is_empty());
    assert!(linked.iter().all(|i| i["status"] == "linked"), "{linked:?}");
    assert_eq!(
        crate::util::tree(&victim),
        before,
        "the link's target is untouched"
    );
    assert!(
        snap(&ids[1]).is_symlink(),
        "the link itself is left for inspection"
    );
}

/// Observation 6: names as people type them.
#[test]
fn self_approval_is_refused_however_the_name_is_spaced() {
    let (site, _) = site_with_six_months();
    let id = pruned(&site);
    for spelling in ["山田　太郎", " 山田  太郎 ", "山田\t太郎", "山田太郎"] {
        at(&site, DAY)
            .args(["erase", "approve", &id, "--approver", spelling])
            .assert()
            .code(4)
            .stderr(predicate::str::contains("cannot approve"));
    }
}

fn approver_keys(site: &Site) -> std::path::PathBuf {
    let keys = site.root.join("approver");
    fs::create_dir_all(&keys).unwrap();
    kura::keys::generate_signing_keypair(&keys.join("hanako.key"), &keys.join("hanako.pub"))
        .unwrap();
    kura::keys::generate_signing_keypair(&keys.join("other.key"), &keys.join("other.pub")).unwrap();
    keys
}

fn with_approvers(site: &Site) {
    let policy = fs::read_to_string(site.policy_path()).unwrap().replace(
        "[encryption]",
        &format!(
            "[erasure]\napprovers = [{{ name = \"{APPROVER}\", public_key = \"approver/hanako.pub\" }}]\n\n[encryption]"
        ),
    );
    site.write_policy(&policy);
}

/// Observation 6: where approvers are registered, an approval is signed.
#[test]
fn approvals_must_be_signed_by_the_registered_approver() {
    let (site, ids) = site_with_six_months();
    let keys = approver_keys(&site);
    let id = pruned(&site);
    with_approvers(&site);
    let approve = |who: &str, key: Option<&str>| {
        let mut c = at(&site, DAY);
        c.args(["erase", "approve", &id, "--approver", who]);
        if let Some(k) = key {
            c.arg("--key").arg(keys.join(k));
        }
        c
    };
    approve("市役所 誰か", None)
        .assert()
        .code(4)
        .stderr(predicate::str::contains(APPROVER));
    approve(APPROVER, None)
        .assert()
        .code(4)
        .stderr(predicate::str::contains("--key"));
    approve(APPROVER, Some("other.key")).assert().code(4);
    approve("札幌　花子", Some("hanako.key")).assert().success();
    let req = execute(&site, &id, 0);
    assert_eq!(req["status"], "executed");
    let c = certificate(&site, &id);
    let key_id =
        kura::keys::key_id(&kura::keys::load_public_key(&keys.join("hanako.pub")).unwrap());
    assert_eq!(c["approval"]["key_id"], key_id.as_str());
    assert_eq!(c["approval"]["approved_by"], APPROVER);
    assert!(Site::snapshot_entries(&site.dest()).len() == ids.len() - 3);
}

/// Observation 6: an approval made before keys were required does not count.
#[test]
fn an_unsigned_approval_does_not_execute_once_approvers_are_registered() {
    let (site, ids) = site_with_six_months();
    approver_keys(&site);
    let id = pruned_and_approved(&site);
    with_approvers(&site);
    at(&site, DAY)
        .args(["erase", "execute", &id])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("signature"));
    assert_eq!(Site::snapshot_entries(&site.dest()).len(), ids.len());
}

/// Observation 7.
#[test]
fn a_planned_date_in_the_past_is_a_usage_error() {
    let site = Site::new();
    site.backup().assert().success();
    let stray = site.root.join("stray.csv");
    fs::write(&stray, "x\n").unwrap();
    at(&site, "2024-02-10T00:00:00Z")
        .args([
            "erase",
            "request",
            "--method",
            "overwrite",
            "--planned",
            "2024-02-09",
            "--reason",
            "x",
            "--file",
        ])
        .arg(&stray)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("past"));
}

/// Observation 10: a certificate made under `KURA_NOW` says so and shows the
/// real time.
#[test]
fn a_certificate_of_a_rehearsal_says_so_and_shows_the_real_time() {
    let (site, _) = site_with_six_months();
    let id = pruned_and_approved(&site);
    execute(&site, &id, 0);
    let c = certificate(&site, &id);
    assert_eq!(c["clock"]["overridden"], true);
    let real_year = chrono::Utc::now().format("%Y").to_string();
    assert!(c["clock"]["issued_at_real"]
        .as_str()
        .unwrap()
        .starts_with(&real_year));
    assert!(c["execution"]["executed_at"]
        .as_str()
        .unwrap()
        .starts_with("2024-04-20"));
    assert!(c["execution"]["executed_at_real"]
        .as_str()
        .unwrap()
        .starts_with(&real_year));
    site.kura()
        .args([
            "--lang",
            "ja",
            "erase",
            "certificate",
            &id,
            "--out",
            "c.html",
        ])
        .assert()
        .success();
    let html = fs::read_to_string(site.root.join("c.html")).unwrap();
    assert!(
        html.contains("class=\"rehearsal\"") && html.contains("KURA_NOW"),
        "{html}"
    );
    assert!(html.contains("実施日時") && html.contains("(実時刻 "));
}

/// A 256 MiB file requested, approved, and its `erase execute` stopped by
/// Ctrl-C in the middle of the overwrite: (site, request id, the file).
#[cfg(unix)]
fn interrupted_overwrite() -> (Site, String, std::path::PathBuf) {
    use crate::interrupt::{interrupt, last_event, spawn, wait_until};
    let site = Site::new();
    let big = site.root.join("old-export.bin");
    let mut data = vec![0u8; 256 << 20];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i % 251) as u8 | 1;
    }
    fs::write(&big, &data).unwrap();
    drop(data);
    let out = at(&site, crate::util::NOW)
        .args([
            "--json",
            "erase",
            "request",
            "--method",
            "overwrite",
            "--planned",
            "2024-01-31",
            "--reason",
            "保存期間満了",
            "--file",
        ])
        .arg(&big)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let id = json(&out)["id"].as_str().unwrap().to_string();
    at(&site, crate::util::NOW)
        .args(["erase", "approve", &id, "--approver", APPROVER])
        .assert()
        .success();
    let child = spawn(&site, &["erase", "execute", &id]);
    let db = site.root.join("kura-audit.sqlite");
    wait_until("the erasing event", || {
        rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.query_row(
                    "SELECT count(*) FROM events WHERE action = 'erase.item'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
            })
            .is_ok_and(|n| n > 0)
    });
    let (code, stderr) = interrupt(child, "INT");
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let last = last_event(&site);
    assert_eq!(last["action"], "erase.execute");
    assert_eq!(last["outcome"], "interrupted");
    let list = site
        .kura()
        .args(["--json", "erase", "list"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let req = json(&list)["requests"][0].clone();
    assert_eq!(req["items"][0]["status"], "erasing");
    assert!(big.exists(), "the interrupted run did not unlink it");
    (site, id, big)
}

/// Observation 11, for erasure: Ctrl-C in the middle of an overwrite is
/// recorded, and the next run finishes the item without calling it missing.
#[cfg(unix)]
#[test]
fn ctrl_c_during_an_overwrite_is_recorded_and_the_next_run_finishes_it_truthfully() {
    let (site, id, big) = interrupted_overwrite();
    let req = execute(&site, &id, 0);
    assert_eq!(req["items"][0]["status"], "erased");
    assert!(req["items"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("resumed"));
    assert!(!big.exists());
    assert_eq!(certificate(&site, &id)["complete"], true);
}

/// A file taken away while kura's overwrite of it was interrupted is not
/// called erased: kura had not finished, so it is missing.
#[cfg(unix)]
#[test]
fn a_file_taken_away_after_an_interrupted_overwrite_is_missing_not_erased() {
    let (site, id, big) = interrupted_overwrite();
    fs::rename(&big, site.root.join("kept-by-someone.bin")).unwrap();
    let req = execute(&site, &id, 1);
    assert_eq!(req["items"][0]["status"], "missing");
    assert_eq!(certificate(&site, &id)["complete"], false);
}

/// A request forged into the chain itself (the chain has no key: anyone who
/// can write the database can extend it) still cannot take what retention
/// keeps: execution checks the rules again.
#[test]
fn a_request_forged_into_the_chain_cannot_erase_the_newest_snapshot() {
    use kura::audit::{Actor, AuditLog, Outcome};
    let (site, ids) = site_with_six_months();
    let newest = site.dest().join("snapshots").join(&ids[5]);
    let volume = kura::media::read_marker(&site.dest()).unwrap().unwrap().id;
    let mut items = Vec::new();
    for (n, f) in fs::read_dir(&newest).unwrap().enumerate() {
        let path = f.unwrap().path();
        let (digest, size) = kura::sums::digest_reader(fs::File::open(&path).unwrap()).unwrap();
        items.push(serde_json::json!({
            "n": n + 1, "kind": "snapshot", "target": ids[5], "destination": "hdd1",
            "volume": volume, "path": path.display().to_string(), "size": size,
            "sha256": hex::encode(digest), "file_id": kura::erasure::guard::path_id(&path),
        }));
    }
    let id = "ER-2024-0042";
    let clock = kura::clock::Clock::from_env_value(Some(DAY)).unwrap();
    let mut log = AuditLog::open(&site.root.join("kura-audit.sqlite"), clock).unwrap();
    let actor = Actor::current(OPERATOR);
    let details = serde_json::json!({
        "request": id, "method": "overwrite", "planned": "2024-04-20", "reason": "forged",
        "details": {"media": []}, "request_sha256": "", "items": items,
    });
    let requested = log
        .append(&actor, "erase.request", id, Outcome::Ok, &details)
        .unwrap();
    let approved = log
        .append(
            &Actor::current(APPROVER),
            "erase.approve",
            id,
            Outcome::Ok,
            &serde_json::json!({ "request": id, "approved_by": APPROVER, "request_sha256": "" }),
        )
        .unwrap();
    let db = database(&site);
    db.execute(
        "INSERT INTO erasure_requests (id, created_at, requested_by, method, planned, reason,
             details, request_sha256, status, approved_by, approved_at)
         VALUES (?1, ?2, ?3, 'overwrite', '2024-04-20', 'forged', '{\"media\":[]}', '',
             'approved', ?4, ?5)",
        rusqlite::params![id, requested.time, OPERATOR, APPROVER, approved.time],
    )
    .unwrap();
    for i in &items {
        db.execute(
            "INSERT INTO erasure_items (request_id, n, kind, target, destination, volume, path,
                 size, sha256, file_id, status)
             VALUES (?1, ?2, 'snapshot', ?3, 'hdd1', ?4, ?5, ?6, ?7, ?8, 'pending')",
            rusqlite::params![
                id,
                i["n"].as_u64().unwrap(),
                ids[5],
                volume,
                i["path"].as_str().unwrap(),
                i["size"].as_u64().unwrap(),
                i["sha256"].as_str().unwrap(),
                i["file_id"].as_str()
            ],
        )
        .unwrap();
    }
    // The forgery is consistent: the tables agree with the chain.
    site.kura().args(["erase", "list"]).assert().success();
    at(&site, DAY)
        .args(["erase", "execute", id])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("retention"));
    assert!(
        newest.join("master.tar.zst.age").is_file(),
        "the newest snapshot is intact"
    );
    site.kura().args(["verify", &ids[5]]).assert().success();
}
