//! Snapshots restore and check with stock tools only: kura need not exist.

use std::fs;

use crate::util::{have_tool, sh, tree, Site};

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Linux stock tools (age, zstd, tar, minisign, sqlite3, bagit.py); tests/integration/wine.rs takes kura.exe across to them"
)]
fn every_archive_restores_with_stock_age_zstd_tar_and_matches_the_source() {
    if !(have_tool("age") && have_tool("zstd") && have_tool("tar") && have_tool("sha256sum")) {
        return;
    }
    let site = Site::new();
    site.backup().assert().success();
    let snap = site.snapshot_dir();
    let identity = site.identity.display().to_string();
    for (archive, sources) in [
        ("master", vec!["data/master"]),
        ("system-logs", vec!["logs/system"]),
        ("app-logs", vec!["logs/app", "logs/app-extra.log"]),
    ] {
        let out = site.root.join("restored").join(archive);
        fs::create_dir_all(&out).unwrap();
        sh(
            &format!(
                "age -d -i '{identity}' '{}' | zstd -d | tar -x -C '{}'",
                snap.join(format!("{archive}.tar.zst.age")).display(),
                out.display()
            ),
            &site.root,
        );
        let checked = sh("sha256sum -c MANIFEST.sha256", &out);
        assert!(checked.lines().all(|l| l.ends_with(": OK")), "{checked}");
        fs::remove_file(out.join("MANIFEST.sha256")).unwrap();
        for src in sources {
            let src = site.root.join(src);
            let name = src.file_name().unwrap();
            if src.is_dir() {
                assert_eq!(tree(&out.join(name)), tree(&src), "{archive}: tree differs");
            } else {
                assert_eq!(fs::read(out.join(name)).unwrap(), fs::read(&src).unwrap());
            }
        }
    }
    // The awkward cases really were in there.
    let master = site.root.join("restored/master/master");
    assert_eq!(fs::metadata(master.join("empty.dat")).unwrap().len(), 0);
    assert!(master.join("台帳 メモ.txt").is_file());
    assert!(master.join("name with  spaces .txt").is_file());
    assert!(master.join("空のディレクトリ").is_dir());
    let long = tree(&master)
        .into_iter()
        .map(|(p, _)| p.to_string_lossy().len())
        .max()
        .unwrap();
    assert!(
        long > 100,
        "the longest restored path has only {long} bytes"
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Linux stock tools (age, zstd, tar, minisign, sqlite3, bagit.py); tests/integration/wine.rs takes kura.exe across to them"
)]
fn snapshot_checks_with_sha256sum_and_minisign_without_any_key() {
    if !(have_tool("sha256sum") && have_tool("minisign")) {
        return;
    }
    let site = Site::new();
    site.backup().assert().success();
    let snap = site.snapshot_dir();
    let sums = sh("sha256sum -c SHA256SUMS", &snap);
    assert_eq!(
        sums.lines().filter(|l| l.ends_with(": OK")).count(),
        5,
        "{sums}"
    );
    sh(
        &format!(
            "minisign -V -p '{}' -m SHA256SUMS",
            site.root.join("keys/kura.pub").display()
        ),
        &snap,
    );
    // A changed checksum file no longer verifies with the stock tool.
    let mut text = fs::read_to_string(snap.join("SHA256SUMS")).unwrap();
    text = text.replacen('0', "1", 1);
    fs::write(snap.join("SHA256SUMS"), text).unwrap();
    let out = std::process::Command::new("minisign")
        .args(["-V", "-p"])
        .arg(site.root.join("keys/kura.pub"))
        .args(["-m", "SHA256SUMS"])
        .current_dir(&snap)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Linux stock tools (age, zstd, tar, minisign, sqlite3, bagit.py); tests/integration/wine.rs takes kura.exe across to them"
)]
fn stock_age_keygen_identity_and_minisign_keys_work_in_a_policy() {
    if !(have_tool("age-keygen") && have_tool("minisign") && have_tool("age")) {
        return;
    }
    let site = Site::new();
    let keys = site.root.join("keys");
    sh(
        "age-keygen -o stock-id.txt 2>/dev/null && age-keygen -y stock-id.txt > recipients.txt",
        &keys,
    );
    fs::remove_file(keys.join("kura.key")).unwrap();
    fs::remove_file(keys.join("kura.pub")).unwrap();
    sh("minisign -G -W -p kura.pub -s kura.key >/dev/null", &keys);
    site.backup().assert().success();
    site.kura()
        .args(["--operator", crate::util::OPERATOR, "verify", "-i"])
        .arg(keys.join("stock-id.txt"))
        .assert()
        .success();
    sh(
        &format!(
            "age -d -i '{}' master.tar.zst.age | zstd -d | tar -t | grep -q MANIFEST.sha256",
            keys.join("stock-id.txt").display()
        ),
        &site.snapshot_dir(),
    );
}
