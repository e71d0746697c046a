//! Across the boundary: kura.exe, run under Wine from Linux, makes snapshots
//! that the stock Linux `age`, `zstd`, GNU `tar` and `bsdtar` (libarchive,
//! the code of Windows' own `tar.exe`) restore, Japanese and long names
//! included; and kura.exe verifies and restores a snapshot made on Linux.
//!
//! They need a built kura.exe and a Wine prefix with the test shim, which
//! `tests/scripts/windows.sh` provides: it runs them with `--ignored` and
//! `KURA_WINDOWS_EXE` set. Elsewhere they are ignored with that reason.

#![cfg(not(windows))]

use std::fs;
use std::path::Path;
use std::process::Command as StdCommand;

use assert_cmd::Command;

use crate::util::{sh, tree, Site, NOW, OPERATOR, SNAPSHOT_ID};

/// kura.exe under Wine, with the clean environment of `util::kura`.
fn kura_exe() -> Command {
    let exe = std::env::var("KURA_WINDOWS_EXE")
        .expect("KURA_WINDOWS_EXE: run these through tests/scripts/windows.sh");
    let mut c = Command::new("wine");
    c.arg(exe);
    for var in crate::util::KURA_ENV {
        c.env_remove(var);
    }
    // Wine's locale (and so the UI language kura.exe reads) comes from here;
    // it must be a UTF-8 one for the Japanese file names.
    c.env("LANG", "en_US.UTF-8");
    c
}

/// A Linux path as Wine's Z: drive names it.
fn z(path: &Path) -> String {
    format!("Z:{}", path.display().to_string().replace('/', "\\"))
}

/// The stock tools, all required: these tests run only in the Windows stage.
fn require_tools() {
    for tool in [
        "wine",
        "age",
        "zstd",
        "tar",
        "bsdtar",
        "sha256sum",
        "minisign",
    ] {
        let found = StdCommand::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(found, "{tool} is required by the Windows stage");
    }
}

/// Restores every archive of `snap` with `age | zstd | <tar>` into `into`
/// and checks it against the sources and its own MANIFEST.sha256.
fn restore_with_stock_tools(site: &Site, snap: &Path, tar: &str, into: &Path) {
    for (archive, sources) in [
        ("master", vec!["data/master"]),
        ("system-logs", vec!["logs/system"]),
        ("app-logs", vec!["logs/app", "logs/app-extra.log"]),
    ] {
        let out = into.join(archive);
        fs::create_dir_all(&out).unwrap();
        sh(
            &format!(
                "age -d -i '{}' '{}' | zstd -d | {tar} -x -f - -C '{}'",
                site.identity.display(),
                snap.join(format!("{archive}.tar.zst.age")).display(),
                out.display()
            ),
            &site.root,
        );
        let checked = sh("sha256sum -c MANIFEST.sha256", &out);
        assert!(
            checked.lines().all(|l| l.ends_with(": OK")),
            "{tar}: {checked}"
        );
        fs::remove_file(out.join("MANIFEST.sha256")).unwrap();
        for src in sources {
            let src = site.root.join(src);
            let name = src.file_name().unwrap();
            if src.is_dir() {
                assert_eq!(tree(&out.join(name)), tree(&src), "{tar} {archive}");
            } else {
                assert_eq!(fs::read(out.join(name)).unwrap(), fs::read(&src).unwrap());
            }
        }
    }
    let master = into.join("master/master");
    assert!(master.join("台帳 メモ.txt").is_file(), "{tar}");
    let longest = tree(&master)
        .into_iter()
        .map(|(p, _)| p.to_string_lossy().len())
        .max()
        .unwrap();
    assert!(longest > 100, "{tar}: the longest path has {longest} bytes");
}

#[test]
#[ignore = "run by tests/scripts/windows.sh, which builds kura.exe and the Wine prefix"]
fn a_snapshot_taken_by_kura_exe_restores_with_stock_linux_age_zstd_gnu_tar_and_bsdtar() {
    require_tools();
    let site = Site::new();
    kura_exe()
        .current_dir(&site.root)
        .env("KURA_NOW", NOW)
        .args(["--policy", &z(&site.policy_path())])
        .args(["--operator", OPERATOR, "backup"])
        .assert()
        .success();
    let snap = site.snapshot_dir();
    let sums = sh("sha256sum -c SHA256SUMS", &snap);
    assert_eq!(
        sums.lines().filter(|l| l.ends_with(": OK")).count(),
        5,
        "{sums}"
    );
    sh(
        &format!(
            "minisign -V -q -p '{}' -m SHA256SUMS",
            site.root.join("keys/kura.pub").display()
        ),
        &snap,
    );
    restore_with_stock_tools(&site, &snap, "tar", &site.root.join("gnu"));
    restore_with_stock_tools(&site, &snap, "bsdtar", &site.root.join("bsd"));
    // And the Linux kura agrees with what kura.exe wrote.
    site.kura()
        .args(["verify", "latest", "-i"])
        .arg(&site.identity)
        .args(["--operator", OPERATOR])
        .assert()
        .success();
}

#[test]
#[ignore = "run by tests/scripts/windows.sh, which builds kura.exe and the Wine prefix"]
fn kura_exe_speaks_the_windows_ui_language_without_lang_or_kura_lang() {
    require_tools();
    let dir = tempfile::tempdir().unwrap();
    // Wine sets the UI language of the Windows side from the Unix locale.
    kura_exe()
        .current_dir(dir.path())
        .env("LANG", "ja_JP.UTF-8")
        .args(["policy", "check"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("エラー"));
    kura_exe()
        .current_dir(dir.path())
        .args(["policy", "check"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("error:"));
}

#[test]
#[ignore = "run by tests/scripts/windows.sh, which builds kura.exe and the Wine prefix"]
fn kura_exe_verifies_and_restores_a_snapshot_made_on_linux() {
    require_tools();
    let site = Site::new();
    site.backup().assert().success();
    let exe = |args: &[&str]| {
        let mut c = kura_exe();
        c.current_dir(&site.root)
            .args(["--policy", &z(&site.policy_path())])
            .args(["--operator", OPERATOR])
            .args(args);
        c
    };
    exe(&["verify", SNAPSHOT_ID, "-i", &z(&site.identity)])
        .assert()
        .success();
    let to = site.root.join("restored-on-windows");
    exe(&[
        "restore",
        SNAPSHOT_ID,
        "--to",
        &z(&to),
        "-i",
        &z(&site.identity),
    ])
    .assert()
    .success();
    assert_eq!(
        tree(&to.join("master").join("master")),
        tree(&site.root.join("data/master"))
    );
    assert_eq!(
        tree(&to.join("system-logs").join("system")),
        tree(&site.root.join("logs/system"))
    );
    // Both sides' audit events are in the one chain, which still verifies.
    site.kura().args(["audit", "verify"]).assert().success();
}
