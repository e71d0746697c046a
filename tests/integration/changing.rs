//! A source file that changes while it is read is read again; one that keeps
//! changing fails the backup instead of storing a torn copy. The changes are
//! made from inside the run (through its progress callback), so the tests are
//! deterministic rather than racing a writer thread.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use kura::backup::{self, BackupRequest};
use kura::clock::Clock;
use kura::policy::Policy;
use kura::progress::Progress;

use crate::util::{have_tool, sh, Site, OPERATOR, SNAPSHOT_ID};

/// Rewrites `file` (same size, new contents) the first `times` times any bytes
/// are read during an archive attempt.
struct Rewriter {
    file: PathBuf,
    times: u32,
    done: AtomicU32,
    armed: std::sync::atomic::AtomicBool,
}

impl Progress for Rewriter {
    fn start(&self, _: &str, _: u64) {
        self.armed.store(true, Ordering::SeqCst);
    }
    fn advance(&self, _: u64) {
        if self.armed.swap(false, Ordering::SeqCst) && self.done.load(Ordering::SeqCst) < self.times
        {
            let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
            let len = fs::metadata(&self.file).unwrap().len() as usize;
            let text = format!("version {n}\n");
            let data: Vec<u8> = text.bytes().cycle().take(len).collect();
            fs::write(&self.file, data).unwrap();
        }
    }
    fn finish(&self) {}
}

fn run_with(site: &Site, rewriter: &Rewriter) -> kura::Result<backup::BackupOutcome> {
    let policy = Policy::load(&site.policy_path(), kura::Lang::En).unwrap();
    backup::run(&BackupRequest {
        policy: &policy,
        operator: OPERATOR,
        destinations: &[],
        clock: Clock::from_env_value(Some(crate::util::NOW)).unwrap(),
        progress: rewriter,
        audit: None,
    })
}

fn only_system_log(site: &Site) -> PathBuf {
    // A single-file source so the first bytes read are this file's.
    let log = site.root.join("logs/system/System-202401.log");
    site.write_policy(&site.policy_text(&[&site.volume]).replace(
        "[[sources]]\nname = \"master\"\nlabel = \"マスターデータ\"\npaths = [\"data/master\"]\n\n",
        "",
    ));
    log
}

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Linux stock tools (age, zstd, tar, minisign, sqlite3, bagit.py); tests/integration/wine.rs takes kura.exe across to them"
)]
fn a_file_changed_during_reading_is_read_again_and_stored_whole() {
    if !(have_tool("age") && have_tool("zstd")) {
        return;
    }
    let site = Site::new();
    let log = only_system_log(&site);
    let rewriter = Rewriter {
        file: log.clone(),
        times: 1,
        done: AtomicU32::new(0),
        armed: false.into(),
    };
    run_with(&site, &rewriter).expect("the second attempt succeeds");
    assert_eq!(rewriter.done.load(Ordering::SeqCst), 1);
    let stored = sh(
        &format!(
            "age -d -i '{}' system-logs.tar.zst.age | zstd -d | tar -xO system/System-202401.log",
            site.identity.display()
        ),
        &site.dest().join("snapshots").join(SNAPSHOT_ID),
    );
    assert_eq!(
        stored.as_bytes(),
        fs::read(&log).unwrap(),
        "the stored copy is the final version"
    );
    assert!(stored.starts_with("version 1\n"));
}

#[test]
fn a_file_that_keeps_changing_fails_the_backup_and_nothing_is_published() {
    let site = Site::new();
    let log = only_system_log(&site);
    let rewriter = Rewriter {
        file: log,
        times: u32::MAX,
        done: AtomicU32::new(0),
        armed: false.into(),
    };
    let err = run_with(&site, &rewriter).unwrap_err();
    assert_eq!(err.exit_code().code(), 3);
    assert!(err.to_string().contains("System-202401.log"), "{err}");
    assert!(err.to_string().contains("kept changing"), "{err}");
    assert_eq!(rewriter.done.load(Ordering::SeqCst), backup::MAX_ATTEMPTS);
    assert!(Site::snapshot_entries(&site.dest()).is_empty());
}
