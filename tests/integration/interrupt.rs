//! Interruptions: Ctrl-C (SIGINT) and SIGTERM sent to a running `kura`
//! stop it cleanly — nothing half-written is left visible, no plaintext is
//! left in a restore target — record an `interrupted` event and exit 3.
#![cfg(unix)]

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Site, NOW, OPERATOR};

/// 200 MiB of incompressible bytes in the master source, so that reading,
/// compressing and encrypting it (or decrypting it back) takes seconds.
pub(crate) fn big_site() -> Site {
    let site = Site::new();
    let mut x: u64 = 0x2545F4914F6CDD1D;
    let block: Vec<u64> = (0..(1 << 17))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
        .collect();
    let mut data = Vec::with_capacity(200 << 20);
    for i in 1..=200u64 {
        // Every MiB differs in every byte, so zstd finds no long repeats.
        let salt = i.wrapping_mul(0x0101_0101_0101_0101);
        for w in &block {
            data.extend_from_slice(&(w ^ salt).to_le_bytes());
        }
    }
    fs::write(site.root.join("data/master/big.bin"), data).unwrap();
    site
}

/// `kura` started as a child process, as `Site::kura` sets it up.
pub(crate) fn spawn(site: &Site, args: &[&str]) -> Child {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("kura"));
    for var in [
        "KURA_POLICY",
        "KURA_OPERATOR",
        "KURA_LANG",
        "KURA_PASSPHRASE",
    ] {
        c.env_remove(var);
    }
    c.env("LANG", crate::util::ENGLISH_LOCALE)
        .env("KURA_NOW", NOW)
        .current_dir(&site.root)
        .arg("--policy")
        .arg(site.policy_path())
        .args(["--operator", OPERATOR, "--quiet"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (at most 20 s) until `ready` holds, which says the streaming work
/// is under way.
pub(crate) fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} never happened"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `signal` to the child by its pid and collects how it ended; it
/// must end within a few seconds of the signal.
pub(crate) fn interrupt(child: Child, signal: &str) -> (i32, String) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal}");
    let sent = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "stopped {:?} after the signal",
        sent.elapsed()
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn staging_exists(dest: &Path) -> bool {
    Site::snapshot_entries(dest)
        .iter()
        .any(|e| e.starts_with(".tmp-"))
}

pub(crate) fn last_event(site: &Site) -> serde_json::Value {
    site.audit_log().last().cloned().unwrap()
}

fn details(event: &serde_json::Value) -> serde_json::Value {
    serde_json::from_str(event["details"].as_str().unwrap()).unwrap()
}

#[test]
fn ctrl_c_during_a_backup_leaves_no_snapshot_records_interrupted_and_exits_3() {
    let site = big_site();
    let child = spawn(&site, &["backup"]);
    wait_until("the staging directory", || staging_exists(&site.dest()));
    let (code, stderr) = interrupt(child, "INT");
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");

    let last = last_event(&site);
    assert_eq!(last["action"], "backup");
    assert_eq!(last["outcome"], "interrupted");
    assert_eq!(
        details(&last),
        serde_json::json!({ "error": "interrupted", "exit_code": 3 })
    );
    assert!(
        Site::snapshot_entries(&site.dest())
            .iter()
            .all(|e| !kura::snapshot::is_snapshot_id(e)),
        "no snapshot is visible: {:?}",
        Site::snapshot_entries(&site.dest())
    );
    let out = site.kura().args(["--json", "snapshots"]).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(crate::util::SNAPSHOT_ID),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The month's report counts it as an incident, in both languages.
    let report = site
        .kura()
        .env("KURA_NOW", NOW)
        .args(["--json", "report", "monthly", "--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert!(
        report["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["action"] == "backup" && l["outcome"] == "interrupted"),
        "{}",
        report["incidents"]
    );
    let md = site
        .kura()
        .env("KURA_NOW", NOW)
        .args(["--lang", "ja", "report", "monthly", "--format", "md"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&md.stdout).contains("中断"));

    // The next run cleans up whatever is left and succeeds.
    site.backup().assert().success();
    assert_eq!(
        Site::snapshot_entries(&site.dest()),
        [crate::util::SNAPSHOT_ID]
    );
    site.kura().args(["audit", "verify"]).assert().success();
}

#[test]
fn ctrl_c_during_a_restore_removes_every_plaintext_file_it_wrote() {
    let site = big_site();
    site.backup().assert().success();
    let to = site.root.join("restored");
    let child = spawn(
        &site,
        &[
            "restore",
            "latest",
            "--to",
            to.to_str().unwrap(),
            "-i",
            site.identity.to_str().unwrap(),
        ],
    );
    wait_until("the first restored file", || {
        to.join("master/master/big.bin").exists()
    });
    let (code, stderr) = interrupt(child, "INT");
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!to.exists(), "the target kura created is gone");
    let last = last_event(&site);
    assert_eq!(last["action"], "restore");
    assert_eq!(last["outcome"], "interrupted");
}

#[test]
fn sigterm_during_a_restore_into_an_empty_directory_leaves_it_empty() {
    let site = big_site();
    site.backup().assert().success();
    let to = site.root.join("given");
    fs::create_dir(&to).unwrap();
    let child = spawn(
        &site,
        &[
            "restore",
            "latest",
            "--to",
            to.to_str().unwrap(),
            "-i",
            site.identity.to_str().unwrap(),
        ],
    );
    wait_until("the first restored file", || {
        to.join("master/master/big.bin").exists()
    });
    let (code, stderr) = interrupt(child, "TERM");
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(to.is_dir(), "the directory given is kept");
    assert_eq!(
        fs::read_dir(&to).unwrap().count(),
        0,
        "and holds nothing restored"
    );
    assert_eq!(last_event(&site)["outcome"], "interrupted");
}

#[test]
fn ctrl_c_while_a_prepare_command_runs_stops_it_and_the_backup() {
    let site = Site::new();
    let policy = site.policy_text(&[&site.volume]).replace(
        "paths = [\"logs/system\"]",
        "paths = [\"logs/system\"]\nprepare = [\"sleep\", \"30\"]",
    );
    site.write_policy(&policy);
    let child = spawn(&site, &["backup"]);
    wait_until("the started event", || {
        site.root.join("kura-audit.sqlite").exists() && !site.audit_log().is_empty()
    });
    let (code, stderr) = interrupt(child, "INT");
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(last_event(&site)["outcome"], "interrupted");
    assert!(Site::snapshot_entries(&site.dest()).is_empty());
}

#[test]
fn ctrl_c_during_a_handover_receive_removes_everything_it_extracted() {
    let sender = big_site();
    let receiver = Site::new();
    let package = sender.root.join("handover.tar.zst.age");
    sender
        .kura()
        .env("KURA_NOW", NOW)
        .args(["--operator", OPERATOR, "handover", "create", "--include"])
        .arg(sender.root.join("data/master"))
        .args(["--to", &receiver.recipient, "--out"])
        .arg(&package)
        .assert()
        .success();
    let into = receiver.root.join("received");
    let child = spawn(
        &receiver,
        &[
            "handover",
            "receive",
            package.to_str().unwrap(),
            "-i",
            receiver.identity.to_str().unwrap(),
            "--into",
            into.to_str().unwrap(),
            "--receiver",
            "株式会社つぎ保守 鈴木 一郎",
            "--sender-key",
            sender.root.join("keys/kura.pub").to_str().unwrap(),
        ],
    );
    wait_until("the first extracted file", || {
        walkdir::WalkDir::new(&into)
            .into_iter()
            .flatten()
            .any(|e| e.file_name() == "big.bin")
    });
    let (code, stderr) = interrupt(child, "INT");
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!into.exists(), "the --into kura created is gone");
    let last = last_event(&receiver);
    assert_eq!(last["action"], "handover.receive");
    assert_eq!(last["outcome"], "interrupted");
}
