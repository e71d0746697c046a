//! The write side of `restore` and `handover receive`: everything goes
//! through one open handle of `--to`, never through a link; restored
//! personal data and kura's own records are private (0600 / 0700); names
//! Windows cannot hold are refused when a backup is made.
#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::util::{Site, OPERATOR, SNAPSHOT_ID};

fn restore_cmd(site: &Site, to: &Path) -> assert_cmd::Command {
    let mut c = site.kura();
    c.args(["--operator", OPERATOR, "restore", SNAPSHOT_ID, "--to"])
        .arg(to)
        .arg("-i")
        .arg(&site.identity)
        .args(["--archive", "master"]);
    c
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_directory_swapped_for_a_link_during_restore_never_lets_a_file_land_outside() {
    let site = Site::new();
    // Many files under the directory the attacker swaps: a real race window.
    let many = site.root.join("data/master/深い階層のディレクトリ名/多数");
    fs::create_dir_all(&many).unwrap();
    for i in 0..1500 {
        fs::write(many.join(format!("f{i:04}.txt")), format!("個人情報 {i}\n")).unwrap();
    }
    site.backup().assert().success();
    // The victim mirrors the tree below the swapped directory, so a write
    // through the link has somewhere to land.
    let victim = site.root.join("victim");
    fs::create_dir_all(victim.join("多数")).unwrap();
    fs::create_dir_all(
        victim.join("さらに長いディレクトリ名その二/もっと長いディレクトリ名その三"),
    )
    .unwrap();
    let mut outcomes = Vec::new();
    let mut swaps_total = 0;
    for round in 0..8 {
        let to = site.root.join(format!("restored-{round}"));
        let swapped = to.join("master/master/深い階層のディレクトリ名");
        let stop = Arc::new(AtomicBool::new(false));
        let racer = {
            let (stop, swapped, victim, to) =
                (stop.clone(), swapped.clone(), victim.clone(), to.clone());
            std::thread::spawn(move || {
                let mut swaps = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    if let Ok(m) = fs::symlink_metadata(&swapped) {
                        if m.is_dir() {
                            let aside = to.join(format!("aside-{swaps}"));
                            if fs::rename(&swapped, &aside).is_ok()
                                && std::os::unix::fs::symlink(&victim, &swapped).is_ok()
                            {
                                swaps += 1;
                            }
                        }
                    }
                    std::hint::spin_loop();
                }
                swaps
            })
        };
        let out = restore_cmd(&site, &to).output().unwrap();
        stop.store(true, Ordering::SeqCst);
        let swaps = racer.join().unwrap();
        swaps_total += swaps;
        let code = out.status.code();
        assert!(
            matches!(code, Some(0) | Some(1) | Some(3)),
            "round {round}: {code:?} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        outcomes.push((code, swaps));
        let landed: Vec<_> = walkdir::WalkDir::new(&victim)
            .min_depth(1)
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| !e.file_type().is_dir())
            .map(|e| e.path().to_path_buf())
            .collect();
        assert!(
            landed.is_empty(),
            "round {round}: files landed outside --to: {landed:?}"
        );
    }
    eprintln!("race outcomes (exit code, swaps): {outcomes:?}; swaps in all: {swaps_total}");
}

#[test]
fn restored_personal_data_is_private_to_the_operator() {
    let site = Site::new();
    site.backup().assert().success();
    let to = site.root.join("restored");
    restore_cmd(&site, &to).assert().success();
    assert_eq!(mode(&to), 0o700, "--to");
    let mut seen = 0;
    for e in walkdir::WalkDir::new(&to).min_depth(1) {
        let e = e.unwrap();
        let want = if e.file_type().is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(e.path()), want, "{}", e.path().display());
        seen += 1;
    }
    assert!(seen > 5);

    // --keep-modes gives the recorded modes back.
    let kept = site.root.join("kept");
    restore_cmd(&site, &kept)
        .arg("--keep-modes")
        .assert()
        .success();
    assert_eq!(mode(&kept.join("master/master/households.csv")), 0o644);
}

#[test]
fn a_target_others_can_write_to_is_refused_before_anything_is_written() {
    let site = Site::new();
    site.backup().assert().success();
    let to = site.root.join("shared");
    fs::create_dir(&to).unwrap();
    fs::set_permissions(&to, fs::Permissions::from_mode(0o770)).unwrap();
    let out = restore_cmd(&site, &to).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::read_dir(&to).unwrap().count(), 0);
}

#[test]
fn the_audit_database_and_checkpoints_are_private() {
    let site = Site::new();
    site.backup().assert().success();
    let db = site.root.join("kura-audit.sqlite");
    assert_eq!(mode(&db), 0o600, "{}", db.display());
    for e in fs::read_dir(&site.root).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("kura-audit.sqlite") {
            assert_eq!(mode(&p), 0o600, "{name}");
        }
    }
    // A checkpoint file and an erasure certificate, kura's other records.
    site.kura()
        .env("KURA_NOW", crate::util::NOW)
        .args(["--operator", crate::util::OPERATOR, "audit", "checkpoint"])
        .assert()
        .success();
    let checkpoints: Vec<_> = fs::read_dir(site.root.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    assert!(!checkpoints.is_empty());
    for p in &checkpoints {
        assert_eq!(mode(p), 0o600, "{}", p.display());
    }
    let stray = site.root.join("stray.csv");
    fs::write(&stray, "x\n").unwrap();
    let at = |args: &[&str]| {
        let mut c = site.kura();
        c.env("KURA_NOW", crate::util::NOW)
            .args(["--operator", crate::util::OPERATOR])
            .args(args);
        c
    };
    let out = at(&[
        "--json",
        "erase",
        "request",
        "--method",
        "overwrite",
        "--planned",
        "2024-01-31",
        "--reason",
        "x",
        "--file",
    ])
    .arg(&stray)
    .assert()
    .success()
    .get_output()
    .stdout
    .clone();
    let id = serde_json::from_slice::<serde_json::Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    at(&["erase", "approve", &id, "--approver", "札幌 花子"])
        .assert()
        .success();
    at(&["erase", "execute", &id]).assert().success();
    site.kura()
        .args(["erase", "certificate", &id])
        .assert()
        .success();
    let cert = site.root.join("certificates").join(format!("{id}.html"));
    assert_eq!(mode(&cert), 0o600, "{}", cert.display());
}

#[test]
fn a_backup_source_with_a_windows_device_name_is_refused_naming_the_file() {
    let site = Site::new();
    fs::write(
        site.root.join("data/master/CON.txt"),
        b"device on Windows\n",
    )
    .unwrap();
    let out = site.backup().output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(said.contains("CON.txt"), "{said}");
}
