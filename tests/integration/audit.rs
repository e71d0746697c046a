//! The audit log: tampering of every kind is found, checkpoints catch what
//! the chain alone cannot, the chain can be recomputed from the documented
//! format alone, and concurrent writers never fork it.

use std::fs;

use predicates::prelude::*;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

use crate::util::{have_tool, sh, Site, OPERATOR};

fn db(site: &Site) -> std::path::PathBuf {
    site.root.join("kura-audit.sqlite")
}

/// Opens the database as an attacker would: triggers dropped.
fn tamper(site: &Site) -> Connection {
    let c = Connection::open(db(site)).unwrap();
    c.execute_batch(
        "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;",
    )
    .unwrap();
    c
}

/// Runs `sql` on the database as a careful attacker would: the triggers
/// dropped first and put back exactly as they were afterwards, so the schema
/// shows nothing.
fn tamper_and_cover(site: &Site, sql: &str) {
    let c = Connection::open(db(site)).unwrap();
    let triggers: Vec<String> = c
        .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    c.execute_batch(
        "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;",
    )
    .unwrap();
    c.execute_batch(sql).unwrap();
    for t in triggers {
        c.execute_batch(&t).unwrap();
    }
}

/// The `audit.seq` sealed into the site's snapshot.
fn sealed_seq(site: &Site) -> u64 {
    let meta: serde_json::Value =
        serde_json::from_slice(&fs::read(site.snapshot_dir().join("snapshot.json")).unwrap())
            .unwrap();
    meta["audit"]["seq"].as_u64().unwrap()
}

/// A site with a backup and some checkpoints: events 1..=7.
fn site_with_events() -> Site {
    let site = Site::new();
    site.backup().assert().success();
    for _ in 0..5 {
        checkpoint(&site);
    }
    site
}

fn checkpoint(site: &Site) -> String {
    let out = site
        .kura()
        .args(["--operator", OPERATOR, "audit", "checkpoint"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap().trim().to_string()
}

fn verify(site: &Site) -> assert_cmd::assert::Assert {
    site.kura().args(["audit", "verify"]).assert()
}

#[test]
fn an_untouched_log_verifies() {
    let site = site_with_events();
    verify(&site)
        .success()
        .stdout(predicate::str::contains("events: 7"));
}

#[test]
fn an_edited_field_is_found_at_its_event() {
    let site = site_with_events();
    tamper(&site)
        .execute("UPDATE events SET operator = '誰か 別人' WHERE seq = 4", [])
        .unwrap();
    verify(&site)
        .code(1)
        .stderr(predicate::str::contains("event 4"));
}

#[test]
fn a_deleted_middle_row_is_found() {
    let site = site_with_events();
    tamper(&site)
        .execute("DELETE FROM events WHERE seq = 3", [])
        .unwrap();
    verify(&site)
        .code(1)
        .stderr(predicate::str::contains("event 3"));
}

#[test]
fn a_reordered_pair_is_found() {
    let site = site_with_events();
    let c = tamper(&site);
    c.execute_batch(
        "UPDATE events SET seq = -1 WHERE seq = 4;
         UPDATE events SET seq = 4 WHERE seq = 5;
         UPDATE events SET seq = 5 WHERE seq = -1;",
    )
    .unwrap();
    verify(&site)
        .code(1)
        .stderr(predicate::str::contains("event 4"));
}

#[test]
fn a_tail_truncated_behind_a_snapshot_checkpoint_is_found() {
    let site = site_with_events();
    // The second backup seals event 8 (its own start) into its snapshot.
    site.kura()
        .env("KURA_NOW", "2024-02-29T01:00:00Z")
        .args(["--operator", OPERATOR, "backup"])
        .assert()
        .success();
    fs::remove_dir_all(site.root.join("checkpoints")).unwrap();
    tamper(&site)
        .execute("DELETE FROM events WHERE seq >= 8", [])
        .unwrap();
    verify(&site)
        .code(1)
        .stdout(predicate::str::contains("snapshot 20240229T010000Z"))
        .stderr(predicate::str::contains("truncated"));
}

#[test]
fn a_tail_truncated_behind_a_paper_checkpoint_is_found() {
    let site = site_with_events();
    let paper = checkpoint(&site); // event 8, written down on the monthly report
    checkpoint(&site);
    fs::remove_dir_all(site.root.join("checkpoints")).unwrap();
    tamper_and_cover(&site, "DELETE FROM events WHERE seq >= 8");
    verify(&site).success(); // without the paper record, the truncation is invisible
    site.kura()
        .args(["audit", "verify", "--checkpoint", &paper])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("truncated"));
}

/// The chain as `docs/FORMAT.md` describes it, written from the document
/// without calling kura's hasher.
fn documented_hash(row: &[String; 13], prev: &[u8]) -> String {
    let field = |h: &mut Sha256, s: &str| {
        h.update((s.len() as u32).to_be_bytes());
        h.update(s.as_bytes());
    };
    let mut h = Sha256::new();
    field(&mut h, "kura-audit/1");
    h.update(row[0].parse::<u64>().unwrap().to_be_bytes());
    field(&mut h, &row[1]);
    field(&mut h, &row[2]);
    h.update([row[3].parse::<u8>().unwrap()]);
    for f in &row[4..11] {
        field(&mut h, f);
    }
    h.update(prev);
    hex::encode(h.finalize())
}

fn rows(c: &Connection) -> Vec<[String; 13]> {
    let mut stmt = c
        .prepare(
            "SELECT seq, time, real_time, clock_overridden, operator, os_user, host, action,
                    target, outcome, details, prev_hash, hash FROM events ORDER BY seq",
        )
        .unwrap();
    stmt.query_map([], |r| {
        let mut out: [String; 13] = Default::default();
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = match r.get_ref(i)? {
                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                v => v.as_str()?.to_string(),
            };
        }
        Ok(out)
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn the_chain_recomputes_from_the_documented_format() {
    let site = site_with_events();
    let c = Connection::open(db(&site)).unwrap();
    let mut prev = vec![0u8; 32];
    for row in rows(&c) {
        assert_eq!(row[11], hex::encode(&prev), "prev_hash of event {}", row[0]);
        assert_eq!(
            documented_hash(&row, &prev),
            row[12],
            "hash of event {}",
            row[0]
        );
        prev = hex::decode(&row[12]).unwrap();
    }
}

#[test]
fn a_whole_chain_rewrite_passes_the_chain_but_not_the_snapshot_checkpoints() {
    let site = site_with_events();
    let c = tamper(&site);
    c.execute("UPDATE events SET operator = '誰か 別人' WHERE seq = 1", [])
        .unwrap();
    // Recompute every hash, as an attacker who knows the format would.
    let mut prev = vec![0u8; 32];
    for row in rows(&c) {
        let hash = documented_hash(&row, &prev);
        c.execute(
            "UPDATE events SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![hex::encode(&prev), hash, row[0].parse::<i64>().unwrap()],
        )
        .unwrap();
        prev = hex::decode(hash).unwrap();
    }
    fs::remove_dir_all(site.root.join("checkpoints")).unwrap();
    verify(&site)
        .code(1)
        .stdout(predicate::str::contains("chain: intact"))
        .stderr(predicate::str::contains("rewritten"));
}

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Linux stock tools (age, zstd, tar, minisign, sqlite3, bagit.py); tests/integration/wine.rs takes kura.exe across to them"
)]
fn the_audit_archive_restores_with_stock_tools_to_a_sound_database() {
    if !(have_tool("age") && have_tool("zstd") && have_tool("sqlite3")) {
        return;
    }
    let site = Site::new();
    site.backup().assert().success();
    let out = site.root.join("restored-audit");
    fs::create_dir_all(&out).unwrap();
    sh(
        &format!(
            "age -d -i '{}' '{}' | zstd -d | tar -x -C '{}'",
            site.identity.display(),
            site.snapshot_dir().join("audit.tar.zst.age").display(),
            out.display()
        ),
        &site.root,
    );
    let restored = out.join("kura-audit.sqlite");
    assert_eq!(
        sh(
            &format!("sqlite3 '{}' 'pragma integrity_check'", restored.display()),
            &out
        )
        .trim(),
        "ok"
    );
    let copy = rows(&Connection::open(&restored).unwrap());
    let live = rows(&Connection::open(db(&site)).unwrap());
    let meta: serde_json::Value =
        serde_json::from_slice(&fs::read(site.snapshot_dir().join("snapshot.json")).unwrap())
            .unwrap();
    assert_eq!(copy.len() as u64, meta["audit"]["seq"].as_u64().unwrap());
    assert_eq!(
        copy[..],
        live[..copy.len()],
        "the copy holds the same events"
    );
}

#[test]
fn concurrent_appends_from_two_processes_leave_one_valid_chain() {
    let site = Site::new();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..12 {
                    checkpoint(&site);
                }
            });
        }
    });
    verify(&site)
        .success()
        .stdout(predicate::str::contains("events: 24"));
}

#[test]
fn refusals_and_failures_are_recorded_too() {
    let site = Site::new();
    site.kura()
        .env("KURA_NOW", crate::util::NOW)
        .args(["--operator", "知らない 人", "backup"])
        .assert()
        .code(4);
    fs::remove_dir_all(site.root.join("usb")).unwrap();
    site.backup().assert().code(3);
    let events = site.audit_log();
    assert_eq!(
        site.events(),
        [
            ("知らない 人".into(), "backup".into(), "refused".into()),
            (OPERATOR.into(), "backup".into(), "started".into()),
            (OPERATOR.into(), "backup".into(), "failed".into()),
        ]
    );
    assert!(events
        .iter()
        .all(|e| e["host"].as_str().is_some_and(|h| !h.is_empty())));
}

#[test]
fn export_writes_jsonl_and_csv_with_every_event() {
    let site = site_with_events();
    let jsonl = site
        .kura()
        .args(["audit", "export", "--format", "jsonl"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[6]["seq"], 7);
    site.kura()
        .args(["audit", "export", "--format", "csv", "--out", "audit.csv"])
        .assert()
        .success();
    let csv = fs::read_to_string(site.root.join("audit.csv")).unwrap();
    assert!(csv.starts_with("seq,time,"));
    assert_eq!(csv.lines().count(), 8);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Linux stock tools (age, zstd, tar, minisign, sqlite3, bagit.py); tests/integration/wine.rs takes kura.exe across to them"
)]
fn the_checkpoint_signature_verifies_with_minisign() {
    if !have_tool("minisign") {
        return;
    }
    let site = Site::new();
    let cp = checkpoint(&site);
    let seq: u64 = cp.split(':').next().unwrap().parse().unwrap();
    let file = format!("checkpoints/checkpoint-{seq:08}.txt");
    sh(
        &format!("minisign -V -p keys/kura.pub -m {file}"),
        &site.root,
    );
    assert!(fs::read_to_string(site.root.join(&file))
        .unwrap()
        .contains(&cp));
}

#[test]
fn a_garbage_database_is_named_and_never_panics() {
    let site = Site::new();
    fs::write(
        db(&site),
        b"this is not a database at all, not even close......",
    )
    .unwrap();
    site.kura()
        .args(["audit", "verify"])
        .assert()
        .code(predicate::in_iter([1, 3]))
        .stderr(predicate::str::contains("kura-audit.sqlite"));
    site.backup()
        .assert()
        .code(predicate::in_iter([1, 3]))
        .stderr(predicate::str::contains("kura-audit.sqlite"));
    assert!(Site::snapshot_entries(&site.dest()).is_empty());
}

/// The attack: a trigger that deletes every restore event as it is written,
/// so reading decrypted data leaves no trace. `audit verify` names it, and
/// the next command that would append refuses (exit 1) instead of running
/// with it.
#[test]
#[cfg_attr(
    windows,
    ignore = "edits the audit database with the Linux sqlite3 shell"
)]
fn a_planted_trigger_that_swallows_restore_events_is_named_and_nothing_runs_with_it() {
    if !have_tool("sqlite3") {
        return;
    }
    let site = Site::new();
    site.backup().assert().success();
    let before = site.audit_log().len();
    sh(
        &format!(
            "sqlite3 '{}' \"CREATE TRIGGER spy AFTER INSERT ON events WHEN NEW.action='restore' \
             BEGIN DELETE FROM events WHERE seq=NEW.seq; END;\"",
            db(&site).display()
        ),
        &site.root,
    );
    verify(&site)
        .code(1)
        .stdout(predicate::str::contains("extra trigger spy on events"))
        .stderr(predicate::str::contains("spy"));
    site.kura()
        .env("KURA_NOW", "2024-02-29T01:00:00Z")
        .args(["--operator", OPERATOR, "backup"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("spy"));
    let to = site.root.join("restored");
    site.kura()
        .args(["--operator", OPERATOR, "restore", "latest", "--to"])
        .arg(&to)
        .arg("-i")
        .arg(&site.identity)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("spy"));
    assert!(!to.exists(), "nothing was restored");
    assert_eq!(
        Site::snapshot_entries(&site.dest()),
        [crate::util::SNAPSHOT_ID],
        "no second snapshot"
    );
    assert_eq!(site.audit_log().len(), before, "nothing was appended");
}

/// Without its delete trigger the log can lose its tail back to the last
/// snapshot's checkpoint, and the chain and that checkpoint still agree:
/// the missing trigger is what shows it.
#[test]
#[cfg_attr(
    windows,
    ignore = "edits the audit database with the Linux sqlite3 shell"
)]
fn a_dropped_delete_trigger_and_a_tail_cut_back_to_the_snapshot_checkpoint_are_found() {
    if !have_tool("sqlite3") {
        return;
    }
    let site = site_with_events();
    fs::remove_dir_all(site.root.join("checkpoints")).unwrap();
    let sealed = sealed_seq(&site);
    sh(
        &format!(
            "sqlite3 '{}' 'DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq > {sealed};'",
            db(&site).display()
        ),
        &site.root,
    );
    verify(&site)
        .code(1)
        .stdout(predicate::str::contains(format!("events: {sealed}")))
        .stdout(predicate::str::contains("chain: intact"))
        .stderr(predicate::str::contains(
            "missing trigger events_no_delete on events",
        ));
    site.kura()
        .args(["--json", "check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("events_no_delete"));
}
