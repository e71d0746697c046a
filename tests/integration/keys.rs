//! `kura keys`: identities (plain and passphrase-protected) and signing keys.

use std::fs;

use predicates::prelude::*;

use crate::util::{have_tool, kura, sh};

#[test]
fn keys_age_without_passphrase_is_an_age_keygen_identity() {
    let dir = tempfile::tempdir().unwrap();
    let out = kura()
        .args(["keys", "age", "--no-passphrase", "--out"])
        .arg(dir.path().join("id.txt"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let recipient = String::from_utf8(out).unwrap().trim().to_string();
    assert!(recipient.starts_with("age1"));
    let text = fs::read_to_string(dir.path().join("id.txt")).unwrap();
    assert!(text.contains(&format!("# public key: {recipient}")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join("id.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "identity readable by others");
    }
    if have_tool("age-keygen") {
        let derived = sh("age-keygen -y id.txt", dir.path());
        assert_eq!(derived.trim(), recipient);
    }
    // The secret never reaches stdout.
    kura()
        .args(["keys", "recipient", "-i"])
        .arg(dir.path().join("id.txt"))
        .assert()
        .success()
        .stdout(predicate::str::contains(recipient.as_str()))
        .stdout(predicate::str::contains("AGE-SECRET-KEY").not());
}

#[test]
fn passphrase_protected_identity_opens_only_with_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().join("id.age");
    let out = kura()
        .env("KURA_PASSPHRASE", "correct horse battery staple")
        .args(["keys", "age", "--out"])
        .arg(&id)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let recipient = String::from_utf8(out).unwrap().trim().to_string();
    let text = fs::read_to_string(&id).unwrap();
    assert!(text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    assert!(!text.contains("AGE-SECRET-KEY"));
    kura()
        .env("KURA_PASSPHRASE", "correct horse battery staple")
        .args(["keys", "recipient", "-i"])
        .arg(&id)
        .assert()
        .success()
        .stdout(predicate::str::contains(recipient.as_str()));
    kura()
        .env("KURA_PASSPHRASE", "wrong horse battery staple")
        .args(["keys", "recipient", "-i"])
        .arg(&id)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("wrong passphrase"))
        .stderr(predicate::str::contains("horse").not());
    // No terminal and no variable: a clear error, not a hang.
    kura()
        .args(["keys", "recipient", "-i"])
        .arg(&id)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("passphrase"));
}

#[test]
fn keys_age_without_a_passphrase_source_refuses_instead_of_writing_a_plain_key() {
    let dir = tempfile::tempdir().unwrap();
    kura()
        .args(["keys", "age", "--out"])
        .arg(dir.path().join("id.age"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--no-passphrase"));
    assert!(!dir.path().join("id.age").exists());
}

#[test]
fn keys_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().join("id.txt");
    fs::write(&id, b"precious").unwrap();
    kura()
        .args(["keys", "age", "--no-passphrase", "--out"])
        .arg(&id)
        .assert()
        .code(4);
    assert_eq!(fs::read(&id).unwrap(), b"precious");
    kura()
        .args(["keys", "sign", "--secret"])
        .arg(&id)
        .arg("--public")
        .arg(dir.path().join("k.pub"))
        .assert()
        .code(4);
    assert_eq!(fs::read(&id).unwrap(), b"precious");
    assert!(!dir.path().join("k.pub").exists());
}

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Linux stock tools (age, zstd, tar, minisign, sqlite3, bagit.py); tests/integration/wine.rs takes kura.exe across to them"
)]
fn kura_signing_keys_work_with_the_stock_minisign() {
    if !have_tool("minisign") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    kura()
        .current_dir(dir.path())
        .args([
            "keys", "sign", "--secret", "kura.key", "--public", "kura.pub",
        ])
        .assert()
        .success();
    fs::write(dir.path().join("report.txt"), "点検結果\n").unwrap();
    sh(
        "minisign -S -s kura.key -m report.txt && minisign -V -p kura.pub -m report.txt",
        dir.path(),
    );
}

#[test]
fn garbage_identity_files_are_exit_3_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("random.txt", &b"\x00\x01\xffgarbage"[..]),
        ("empty.txt", b""),
        ("fake.age", b"age-encryption.org/v1\n-> X25519 broken\n"),
        ("wrongline.txt", b"# comment\nAGE-SECRET-KEY-1NOTAKEY\n"),
    ] {
        let path = dir.path().join(name);
        fs::write(&path, content).unwrap();
        kura()
            .args(["keys", "recipient", "-i"])
            .arg(&path)
            .assert()
            .code(3)
            .stderr(predicate::str::contains(name))
            .stderr(predicate::str::contains("NOTAKEY").not());
    }
}

#[test]
fn a_short_or_empty_passphrase_is_refused_even_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    for pass in ["", "short"] {
        kura()
            .env("KURA_PASSPHRASE", pass)
            .args(["keys", "age", "--out"])
            .arg(dir.path().join("id.age"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("12"));
        assert!(!dir.path().join("id.age").exists());
    }
}
