//! A memory guard: peak RSS of `kura backup` on incompressible data (the worst
//! case for zstd's buffers) stays under 64 MiB. Read from `/proc` (Linux);
//! time is never asserted here — that is the benchmark's job.

#![cfg(target_os = "linux")]

use std::fs;
use std::time::Duration;

use crate::util::{Site, NOW, OPERATOR};

/// The peak resident set (VmHWM) of a running process, in KiB.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn backup_of_incompressible_data_stays_under_64_mib() {
    let site = Site::new();
    // 96 MiB of noise: several zstd jobs per worker, nothing compresses.
    let mut x: u64 = 0x2545F4914F6CDD1D;
    let mut block = vec![0u8; 1 << 20];
    let mut file =
        std::io::BufWriter::new(fs::File::create(site.root.join("data/master/noise.bin")).unwrap());
    for _ in 0..96 {
        for b in block.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = (x >> 32) as u8;
        }
        std::io::Write::write_all(&mut file, &block).unwrap();
    }
    drop(file);
    let bin = assert_cmd::cargo::cargo_bin("kura");
    let mut child = std::process::Command::new(bin)
        .current_dir(&site.root)
        .env("KURA_NOW", NOW)
        .env("LANG", crate::util::ENGLISH_LOCALE)
        .args([
            "--policy",
            "kura.toml",
            "--operator",
            OPERATOR,
            "-q",
            "backup",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success());
    eprintln!("peak RSS of kura backup on 96 MiB of noise: {} KiB", peak);
    assert!(peak > 0, "the peak was read");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB is over 64 MiB");
}
