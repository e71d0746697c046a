//! Hostile snapshot disks (issue 14): names in `snapshot.json` that would
//! lead outside the target, metadata files that are FIFOs or endless devices,
//! bombs that need no key, and a disk that serves other bytes on the second
//! read. Each snapshot is forged from a real one and re-sealed with the site's
//! own signing key, so only the attack itself is wrong.

use std::fs;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::util::{Site, OPERATOR, SNAPSHOT_ID};

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Rewrites `SHA256SUMS` over every other file of the snapshot and signs it
/// with the site's key, without reading `snapshot.json` through kura.
pub(crate) fn reseal(site: &Site, month: &str) {
    let snap = site.snapshot_dir();
    let mut names: Vec<String> = fs::read_dir(&snap)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != kura::snapshot::SUMS && n != kura::snapshot::SUMS_SIG)
        .collect();
    names.sort();
    let mut text = Vec::new();
    for name in &names {
        let digest = sha256(&fs::read(snap.join(name)).unwrap());
        text.extend(kura::sums::format_line(&digest, name.as_bytes()));
    }
    let sums = snap.join(kura::snapshot::SUMS);
    fs::write(&sums, text).unwrap();
    let keys = site.root.join("keys");
    kura::keys::load_signing_key(&keys.join("kura.key"), &keys.join("kura.pub"))
        .unwrap()
        .sign_file(
            &sums,
            &snap.join(kura::snapshot::SUMS_SIG),
            &format!("kura-snapshot {SNAPSHOT_ID} {month}"),
        )
        .unwrap();
}

/// Edits `snapshot.json` of the site's snapshot and re-seals it.
fn forge_meta(site: &Site, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = site.snapshot_dir().join(kura::snapshot::SNAPSHOT_JSON);
    let mut meta: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    edit(&mut meta);
    let month = meta["month"].as_str().unwrap_or_default().to_string();
    fs::write(&path, serde_json::to_vec_pretty(&meta).unwrap()).unwrap();
    reseal(site, &month);
}

fn backed_up() -> Site {
    let site = Site::new();
    site.backup().assert().success();
    site
}

/// Runs a command with a watchdog: killed and failed after 20 s.
fn run_watched(mut cmd: Command) -> (ExitStatus, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return (out.status, text);
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kura hung on a hostile disk (killed after 20 s)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kura_cmd(site: &Site, args: &[&str]) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("kura"));
    c.current_dir(&site.root)
        .env("LANG", crate::util::ENGLISH_LOCALE)
        .arg("--policy")
        .arg(site.policy_path())
        .args(["--operator", OPERATOR])
        .args(args);
    c
}

fn restore_to(site: &Site, to: &Path) -> std::process::Output {
    site.kura()
        .args(["--operator", OPERATOR, "restore", SNAPSHOT_ID, "--to"])
        .arg(to)
        .arg("-i")
        .arg(&site.identity)
        .output()
        .unwrap()
}

fn verify_full(site: &Site) -> std::process::Output {
    site.kura()
        .args(["--operator", OPERATOR, "verify", "-i"])
        .arg(&site.identity)
        .output()
        .unwrap()
}

// ---------------------------------------------------------------------------
// Names

#[test]
fn restore_refuses_an_archive_named_dot_dot() {
    let site = backed_up();
    forge_meta(&site, |m| {
        let a = m["archives"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|a| a["name"] == "master")
            .unwrap();
        a["name"] = "../../victimhome/.ssh".into();
    });
    // The victim's home exists next to the target's parent.
    let victim = site.root.join("a/victimhome");
    fs::create_dir_all(&victim).unwrap();
    let to = site.root.join("a/b/here");
    fs::create_dir_all(to.parent().unwrap()).unwrap();

    let out = restore_to(&site, &to);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(!victim.join(".ssh").exists(), "restore wrote outside --to");
    assert_eq!(fs::read_dir(&victim).unwrap().count(), 0);
    assert!(!to.exists() || fs::read_dir(&to).unwrap().count() == 0);

    let out = verify_full(&site);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(!victim.join(".ssh").exists());
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("victimhome"), "{text}");
}

#[test]
fn restore_refuses_an_archive_file_that_is_not_its_name() {
    let site = backed_up();
    // `file` points at another archive: restore would read it as master.
    forge_meta(&site, |m| {
        for a in m["archives"].as_array_mut().unwrap() {
            if a["name"] == "master" {
                a["file"] = "../master.tar.zst.age".into();
            }
        }
    });
    let to = site.root.join("here");
    let out = restore_to(&site, &to);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(!to.exists() || fs::read_dir(&to).unwrap().count() == 0);
}

#[test]
fn verify_refuses_a_snapshot_id_that_is_not_its_directory() {
    let site = backed_up();
    forge_meta(&site, |m| m["id"] = "../../20240131T010203Z".into());
    let out = verify_full(&site);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = site.kura().args(["verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

// ---------------------------------------------------------------------------
// Metadata files that block or never end

#[cfg(unix)]
#[test]
fn a_snapshot_json_fifo_does_not_hang_check_or_snapshots() {
    let site = backed_up();
    let json = site.snapshot_dir().join(kura::snapshot::SNAPSHOT_JSON);
    fs::remove_file(&json).unwrap();
    let made = Command::new("mkfifo").arg(&json).status().unwrap();
    assert!(made.success());

    let (status, text) = run_watched(kura_cmd(&site, &["snapshots"]));
    assert!(text.contains(SNAPSHOT_ID), "{text}");
    let _ = status;
    let (status, text) = run_watched(kura_cmd(&site, &["check"]));
    assert_eq!(status.code(), Some(1), "{text}");
    let (status, text) = run_watched(kura_cmd(&site, &["verify"]));
    assert_eq!(status.code(), Some(1), "{text}");
}

/// The peak resident set (VmHWM) of a running process, in KiB.
#[cfg(target_os = "linux")]
pub(crate) fn peak_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs a command to its end, sampling its peak RSS; killed after 120 s.
#[cfg(target_os = "linux")]
pub(crate) fn run_measured(mut cmd: Command) -> (ExitStatus, u64) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = Instant::now();
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak);
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kura did not finish (killed after 120 s)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_snapshot_json_linked_to_dev_zero_is_a_finding_in_bounded_memory() {
    let site = backed_up();
    let json = site.snapshot_dir().join(kura::snapshot::SNAPSHOT_JSON);
    fs::remove_file(&json).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &json).unwrap();
    let (status, peak) = run_measured(kura_cmd(&site, &["verify"]));
    eprintln!("peak RSS of kura verify with snapshot.json -> /dev/zero: {peak} KiB");
    assert_eq!(status.code(), Some(1));
    assert!(peak > 0 && peak < 64 * 1024, "peak RSS {peak} KiB");
    let (status, _) = run_watched(kura_cmd(&site, &["check"]));
    assert_eq!(status.code(), Some(1));
}

// ---------------------------------------------------------------------------
// Bombs that need no key

/// A tar stream written straight into zstd → age to the site's recipient.
fn encrypt_with(site: &Site, write_tar: impl FnOnce(&mut dyn std::io::Write)) -> Vec<u8> {
    use std::io::Write;
    let recipient: age::x25519::Recipient = site.recipient.parse().unwrap();
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .unwrap();
    let mut out = Vec::new();
    {
        let age_writer = encryptor.wrap_output(&mut out).unwrap();
        let mut zstd = zstd::stream::write::Encoder::new(age_writer, 3).unwrap();
        zstd.include_checksum(true).unwrap();
        write_tar(&mut zstd);
        zstd.finish().unwrap().finish().unwrap();
    }
    out.flush().unwrap();
    out
}

fn header(kind: tar::EntryType, name: &str, size: u64) -> [u8; 512] {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_path(name).unwrap();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    *h.as_bytes()
}

/// `size` zero bytes, streamed, then padding to whole blocks.
fn zeros(w: &mut dyn std::io::Write, size: u64) {
    let block = vec![0u8; 1 << 20];
    let mut left = size.div_ceil(512) * 512;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        w.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
}

const GIB: u64 = 1 << 30;

/// Puts `ciphertext` as the master archive, with snapshot.json, SHA256SUMS
/// and the signature agreeing with it.
fn install_master(site: &Site, ciphertext: &[u8]) {
    let snap = site.snapshot_dir();
    fs::write(snap.join("master.tar.zst.age"), ciphertext).unwrap();
    forge_meta(site, |m| {
        for a in m["archives"].as_array_mut().unwrap() {
            if a["name"] == "master" {
                a["ciphertext_sha256"] = hex::encode(sha256(ciphertext)).into();
                a["ciphertext_bytes"] = (ciphertext.len() as u64).into();
            }
        }
    });
    site.kura().arg("verify").assert().success();
}

#[cfg(target_os = "linux")]
fn full_verify_measured(site: &Site) -> (ExitStatus, u64) {
    let mut c = kura_cmd(site, &["verify", "-i"]);
    c.arg(&site.identity);
    run_measured(c)
}

#[cfg(target_os = "linux")]
#[test]
fn verify_of_a_manifest_of_one_gib_of_zeros_stays_under_64_mib() {
    let site = backed_up();
    let ciphertext = encrypt_with(&site, |w| {
        w.write_all(&header(tar::EntryType::Regular, "master/a.txt", 1))
            .unwrap();
        w.write_all(b"a").unwrap();
        w.write_all(&[0u8; 511]).unwrap();
        w.write_all(&header(
            tar::EntryType::Regular,
            kura::archive::MANIFEST_NAME,
            GIB,
        ))
        .unwrap();
        zeros(w, GIB);
        w.write_all(&[0u8; 1024]).unwrap();
    });
    assert!(ciphertext.len() < 1 << 20, "{} bytes", ciphertext.len());
    install_master(&site, &ciphertext);
    let (status, peak) = full_verify_measured(&site);
    eprintln!("peak RSS of verify -i on a 1 GiB manifest of zeros: {peak} KiB");
    assert_eq!(status.code(), Some(1));
    assert!(
        peak > 0 && peak < 64 * 1024,
        "peak RSS {peak} KiB is over 64 MiB"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn verify_of_a_one_gib_pax_header_stays_under_64_mib() {
    let site = backed_up();
    let ciphertext = encrypt_with(&site, |w| {
        w.write_all(&header(tar::EntryType::XHeader, "PaxHeaders/a", GIB))
            .unwrap();
        zeros(w, GIB);
        w.write_all(&header(tar::EntryType::Regular, "master/a.txt", 0))
            .unwrap();
        w.write_all(&[0u8; 1024]).unwrap();
    });
    assert!(ciphertext.len() < 1 << 20, "{} bytes", ciphertext.len());
    install_master(&site, &ciphertext);
    let (status, peak) = full_verify_measured(&site);
    eprintln!("peak RSS of verify -i on a 1 GiB PAX header: {peak} KiB");
    assert_eq!(status.code(), Some(1));
    assert!(
        peak > 0 && peak < 64 * 1024,
        "peak RSS {peak} KiB is over 64 MiB"
    );
}

#[test]
fn full_verify_does_not_decrypt_when_the_sums_fail() {
    let site = backed_up();
    // A damaged archive fails SHA256SUMS; -i must say so and not decrypt it.
    let path = site.snapshot_dir().join("master.tar.zst.age");
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&path, bytes).unwrap();
    let out = verify_full(&site);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("not decrypted"), "{text}");
    assert!(!text.contains("damaged"), "{text}");
}

// ---------------------------------------------------------------------------
// One read of the ciphertext

/// The master archive replaced by a FIFO whose writer serves the real bytes
/// on the first open and a forged, valid-looking archive on the second.
#[cfg(unix)]
#[test]
fn restore_of_an_archive_that_serves_other_bytes_on_the_second_read_writes_nothing() {
    use std::io::Write;
    let site = backed_up();
    let path = site.snapshot_dir().join("master.tar.zst.age");
    let real = fs::read(&path).unwrap();
    let forged = encrypt_with(&site, |w| {
        w.write_all(&header(tar::EntryType::Regular, "master/forged.txt", 6))
            .unwrap();
        w.write_all(b"forged").unwrap();
        w.write_all(&[0u8; 506]).unwrap();
        w.write_all(&[0u8; 1024]).unwrap();
    });
    fs::remove_file(&path).unwrap();
    assert!(Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap()
        .success());
    let fifo = path.clone();
    let writer = std::thread::spawn(move || {
        for bytes in [real, forged] {
            let Ok(mut f) = fs::OpenOptions::new().write(true).open(&fifo) else {
                return;
            };
            let _ = f.write_all(&bytes);
        }
    });
    let to = site.root.join("here");
    let out = restore_to(&site, &to);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(!to.exists() || fs::read_dir(&to).unwrap().count() == 0);
    let out = verify_full(&site);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // Unblock the writer if kura never opened the FIFO for reading.
    for _ in 0..2 {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(&path);
    }
    let _ = writer;
}
