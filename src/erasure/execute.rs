//! Executing an approved request: each item is erased only when it is the
//! very file that was requested, and every outcome is an audit event.
//!
//! For each item not yet done:
//! 1. its destination must be connected and be the registered volume the
//!    request recorded — otherwise it stays `pending` (exit 3; execute again);
//! 2. no component of its path may be a link, and the file at the path must
//!    have the identity, size and SHA-256 the request recorded — otherwise it
//!    is a finding (`linked`, `missing`, `replaced`, `mismatch`; exit 1) and
//!    nothing is written to it;
//! 3. an `erasing` event is appended, then the file is overwritten with zeros
//!    in place, fsynced, read back, unlinked, its directory fsynced and its
//!    absence confirmed; then an `erased` event.
//!
//! The `erasing` event is what lets an interrupted run be resumed truthfully:
//! an item kura had begun to overwrite is overwritten again (its contents are
//! partly zeros by then), and one that is gone was unlinked by kura, which
//! unlinks only after a complete overwrite and read-back.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::item_status::{self as st};
use super::{approve, guard, ledger, request, request_status, store, Entry, Item, Request};
use crate::audit::{Actor, AuditLog, Outcome};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::media;
use crate::policy::Policy;
use crate::{snapshot, sums};

/// What an execution did.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The request after it.
    pub request: Request,
    /// Items erased (or recorded) in this run.
    pub done_now: usize,
}

impl Execution {
    /// The exit status it deserves: findings (1), then pending or failed
    /// items (3), else success.
    pub fn error(&self) -> Option<Error> {
        let r = &self.request;
        let count = |f: &dyn Fn(&str) -> bool| r.items.iter().filter(|i| f(&i.status)).count();
        let findings = count(&st::is_finding);
        let open = count(&|s| !st::is_done(s) && !st::is_finding(s));
        if findings > 0 {
            Some(Error::finding(
                format!(
                    "消去依頼 {}: {findings} 件は依頼時の状態と異なるため消去していません (不存在・不一致・リンク・置換)。消去証明書は全件消去とは記載しません",
                    r.id
                ),
                format!(
                    "request {}: {findings} item(s) are not what was requested (missing, changed, linked or replaced) and were not erased; the certificate will not say all items were erased",
                    r.id
                ),
            ))
        } else if open > 0 {
            Some(Error::failed(
                format!(
                    "消去依頼 {}: {open} 件が未消去です (保存先が未接続など)。接続してから kura erase execute {} を再実行してください",
                    r.id, r.id
                ),
                format!(
                    "request {}: {open} item(s) are not erased yet (a destination not connected, or an I/O error); connect it and run kura erase execute {} again",
                    r.id, r.id
                ),
            ))
        } else {
            None
        }
    }
}

/// What one item's checks decided.
enum Step {
    /// Leave it pending, with why.
    Pending(String),
    /// A finding: (status, why).
    Finding(&'static str, String),
    /// Erase the file at this path.
    Erase(PathBuf),
}

/// Executes an approved request (or resumes a partial one).
pub fn execute(
    log: &mut AuditLog,
    actor: &Actor,
    policy: &Policy,
    clock: &Clock,
    id: &str,
    witness: Option<&str>,
) -> Result<Execution> {
    let entry = ledger::load(log, id)?;
    check_may_execute(policy, clock, &entry)?;
    let witness = witness.map(str::trim).filter(|w| !w.is_empty());
    if entry.request.method == "destroy" && witness.is_none() {
        return Err(Error::usage(
            "物理的破壊は立会者 (--witness) がいる場合のみ記録します",
            "physical destruction is recorded only with a --witness",
        ));
    }
    let mut run = Run {
        log,
        actor,
        id: id.to_string(),
        entry,
        witness,
        done_now: 0,
        pending: Vec::new(),
    };
    let todo: Vec<Item> = run
        .request()
        .items
        .iter()
        .filter(|i| !st::is_done(&i.status))
        .cloned()
        .collect();
    for item in &todo {
        // Between items is where an interruption stops a run cleanly: every
        // item so far is recorded, the rest stay as they are.
        crate::interrupt::check()?;
        let step = if item.kind == "medium" {
            run.record(
                item,
                st::RECORDED,
                Some(format!(
                    "destroyed on the word of {}, witnessed by {}",
                    actor.operator,
                    witness.unwrap_or("-")
                )),
            )?;
            continue;
        } else {
            decide(policy, item)
        };
        match step {
            Step::Pending(why) => run.note_pending(item.n, why),
            Step::Finding(status, why) => run.record(item, status, Some(why))?,
            Step::Erase(path) => run.erase(item, &path)?,
        }
    }
    remove_emptied_dirs(policy, run.request());
    let status = run.request().settled_status();
    let summary = |f: &dyn Fn(&Item) -> bool| -> Vec<u32> {
        run.request()
            .items
            .iter()
            .filter(|i| f(i))
            .map(|i| i.n)
            .collect()
    };
    let record = serde_json::json!({
        "request": id,
        "status": status,
        "witness": witness,
        "pending": run.pending,
        "failed": summary(&|i| matches!(i.status.as_str(), st::FAILED | st::ERASING | st::ZEROED)),
        "findings": summary(&|i| st::is_finding(&i.status)),
        "done_now": run.done_now,
        "bytes": run.request().bytes(),
    });
    let outcome = match status {
        request_status::EXECUTED => Outcome::Ok,
        request_status::INCOMPLETE => Outcome::Finding,
        _ if run.request().findings().next().is_some() => Outcome::Finding,
        _ => Outcome::Failed,
    };
    run.append("erase.execute", outcome, &record, None)?;
    let done_now = run.done_now;
    Ok(Execution {
        request: run.into_request(),
        done_now,
    })
}

/// The rules before anything is touched: approved, not before the planned
/// date, a signed approval where the policy asks for one.
fn check_may_execute(policy: &Policy, clock: &Clock, entry: &Entry) -> Result<()> {
    let req = &entry.request;
    let id = &req.id;
    match req.status.as_str() {
        request_status::APPROVED | request_status::PARTIAL | request_status::INCOMPLETE => {}
        request_status::EXECUTED => {
            return Err(Error::refused(
                format!("消去依頼 {id} は既に実施済みです"),
                format!("request {id} was already executed"),
            ));
        }
        other => {
            return Err(Error::refused(
                format!("消去依頼 {id} は {other} です: 承認済みの依頼のみ実施できます (kura erase approve)"),
                format!("request {id} is {other}: only an approved request can be executed (kura erase approve)"),
            ))
        }
    }
    let planned = NaiveDate::parse_from_str(&req.planned, "%Y-%m-%d").ok();
    if planned.is_some_and(|p| clock.local().date_naive() < p) {
        return Err(Error::refused(
            format!(
                "消去依頼 {id} の予定日は {} です。予定日より前には実施しません",
                req.planned
            ),
            format!(
                "request {id} is planned for {}; it is not executed earlier",
                req.planned
            ),
        ));
    }
    approve::check_signed_approval(policy, entry)?;
    // The rules of what may never go hold again now, whatever the request
    // says: a request forged into the chain (which anyone who can write the
    // database can extend) must not be a way round them.
    let floor = request::retention_floor(policy)?;
    for snap in req.snapshots() {
        if let Some(why) = floor.get(&snap) {
            return Err(Error::refused(
                format!(
                    "スナップショット {snap} は保持規則により保持されるため消去できません ({why})"
                ),
                format!(
                    "snapshot {snap} is kept by the retention policy ({why}); it is not erased"
                ),
            ));
        }
    }
    // The request must be the one its hash (what an approver signs) says.
    if ledger::request_sha256(req) != req.request_sha256 {
        return Err(Error::finding(
            format!("消去依頼 {id} の内容が記録された request_sha256 と一致しません。監査ログを確認してください (kura audit verify)"),
            format!("request {id} does not match its recorded request_sha256; check the audit log (kura audit verify)"),
        ));
    }
    let kept = |id: &str| Ok(floor.get(id).cloned());
    for item in req.items.iter().filter(|i| i.kind == "file") {
        if let Some(path) = &item.path {
            let path = Path::new(path);
            if fs::symlink_metadata(path).is_ok() {
                guard::refuse_protected(policy, path, &kept)?;
            }
        }
    }
    Ok(())
}

/// Decides what to do with one file item, touching nothing.
fn decide(policy: &Policy, item: &Item) -> Step {
    let Some(path) = item.path.as_deref().map(PathBuf::from) else {
        return Step::Finding(st::MISSING, "the request names no file".into());
    };
    let root = match &item.destination {
        Some(name) => {
            let Some(dest) = policy.destination(name) else {
                return Step::Pending(format!(
                    "destination {name} is no longer in the policy {}",
                    policy.file.display()
                ));
            };
            if !dest.path.is_dir() {
                return Step::Pending(format!(
                    "{} ({}) is not connected",
                    dest.label,
                    dest.path.display()
                ));
            }
            let found = match media::read_marker(&dest.path) {
                Ok(m) => m.map(|m| m.id),
                Err(e) => return Step::Pending(e.to_string()),
            };
            if found != item.volume {
                return Step::Pending(format!(
                    "the disk at {} is volume {}, not the requested volume {}",
                    dest.path.display(),
                    found.as_deref().unwrap_or("(none)"),
                    item.volume.as_deref().unwrap_or("(none)")
                ));
            }
            Some(dest.path.clone())
        }
        None => None,
    };
    if let Some(link) = guard::first_link(root.as_deref(), &path) {
        return Step::Finding(
            st::LINKED,
            format!(
                "{} is reached through the link {}; nothing was written",
                path.display(),
                link.display()
            ),
        );
    }
    match fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if item.status == st::ZEROED {
                // Overwritten and read back as zeros by the interrupted run,
                // whose last step was the unlink.
                return Step::Erase(path);
            }
            if item.status == st::ERASING {
                return Step::Finding(
                    st::MISSING,
                    format!(
                        "{} is gone, but the interrupted run that was overwriting it had not finished; kura did not unlink it",
                        path.display()
                    ),
                );
            }
            Step::Finding(
                st::MISSING,
                format!(
                    "{} was present when the request was made and is gone, but kura did not erase it",
                    path.display()
                ),
            )
        }
        Err(e) => Step::Pending(format!("{}: {e}", path.display())),
        Ok(m) if !m.is_file() => Step::Finding(
            st::REPLACED,
            format!("{} is no longer a regular file", path.display()),
        ),
        Ok(_) if item.file_id.is_some() && guard::path_id(&path) != item.file_id => Step::Finding(
            st::REPLACED,
            format!(
                "{} is another file than the one requested (its identity changed)",
                path.display()
            ),
        ),
        Ok(_) => Step::Erase(path),
    }
}

/// An execution under way: the request as the chain has it, kept in step
/// with every event appended.
struct Run<'a> {
    log: &'a mut AuditLog,
    actor: &'a Actor,
    id: String,
    entry: Entry,
    witness: Option<&'a str>,
    done_now: usize,
    pending: Vec<serde_json::Value>,
}

impl Run<'_> {
    fn request(&self) -> &Request {
        &self.entry.request
    }

    fn into_request(self) -> Request {
        self.entry.request
    }

    /// A pending item gets no event (nothing happened to it); the closing
    /// event lists it. Its reason is shown now.
    fn note_pending(&mut self, n: u32, why: String) {
        if let Some(i) = self.entry.request.items.iter_mut().find(|i| i.n == n) {
            i.detail = Some(why.clone());
        }
        self.pending.push(serde_json::json!({ "n": n, "why": why }));
    }

    fn append(
        &mut self,
        action: &str,
        outcome: Outcome,
        record: &serde_json::Value,
        item: Option<u32>,
    ) -> Result<()> {
        let id = self.id.clone();
        let entry = &mut self.entry;
        self.log
            .append_with(self.actor, action, &id, outcome, record, |tx, e| {
                ledger::fold_into(entry, e);
                if let Some(n) = item {
                    if let Some(i) = entry.request.items.iter().find(|i| i.n == n) {
                        store::update_item(tx, &id, i)?;
                    }
                }
                store::update_request(tx, &entry.request)
            })?;
        Ok(())
    }

    /// Appends an item's outcome.
    fn record(&mut self, item: &Item, status: &str, detail: Option<String>) -> Result<()> {
        self.record_with(item, status, detail, None)
    }

    fn record_with(
        &mut self,
        item: &Item,
        status: &str,
        detail: Option<String>,
        readback: Option<&str>,
    ) -> Result<()> {
        let outcome = match status {
            st::ERASED | st::RECORDED => Outcome::Ok,
            st::ERASING | st::ZEROED => Outcome::Started,
            st::FAILED => Outcome::Failed,
            _ => Outcome::Finding,
        };
        let record = serde_json::json!({
            "request": self.id, "n": item.n, "kind": item.kind, "target": item.target,
            "destination": item.destination, "path": item.path, "status": status,
            "size": item.size, "sha256": item.sha256, "detail": detail,
            "witness": self.witness, "readback": readback,
        });
        self.append("erase.item", outcome, &record, Some(item.n))?;
        if st::is_done(status) {
            self.done_now += 1;
        }
        Ok(())
    }

    fn erase(&mut self, item: &Item, path: &Path) -> Result<()> {
        let resumed = item.status == st::ERASING || item.status == st::ZEROED;
        let expected = Expected {
            size: item.size,
            sha256: if resumed { None } else { item.sha256.clone() },
            file_id: item.file_id.clone(),
        };
        let mut mark = |stage: &'static str, readback: Option<&'static str>| {
            if stage == st::ERASING {
                crate::interrupt::check()?;
            }
            if item.status == stage {
                return Ok(());
            }
            self.record_with(item, stage, None, readback)
        };
        let result = overwrite_checked(path, &expected, &mut mark);
        match result {
            Err(Fault::Stop(e)) => Err(e),
            Ok(Some(erased)) => {
                let note = match (resumed, erased.note) {
                    (true, n) => Some(format!(
                        "resumed: an interrupted run had begun overwriting it{}",
                        n.map(|n| format!("; {n}")).unwrap_or_default()
                    )),
                    (false, n) => n,
                };
                self.record_with(item, st::ERASED, note, Some(erased.readback))
            }
            Ok(None) => self.record(
                item,
                st::ERASED,
                Some(
                    "an interrupted run had overwritten it, read it back as zeros and unlinked it; absence confirmed now"
                        .into(),
                ),
            ),
            Err(Fault::Finding(status, why)) => self.record(item, status, Some(why)),
            // Interrupted mid-overwrite: the item stays `erasing`, and the
            // next run overwrites it again.
            Err(Fault::Io(e)) if crate::interrupt::is_interruption(&e) => Err(Error::Interrupted),
            Err(Fault::Io(e)) => self.record(item, st::FAILED, Some(e.to_string())),
        }
    }
}

/// Removes the snapshot directories whose files are all gone (also when an
/// earlier, interrupted run erased them); never through a link.
fn remove_emptied_dirs(policy: &Policy, req: &Request) {
    let mut dirs = BTreeSet::new();
    for item in req.items.iter().filter(|i| i.kind == "snapshot") {
        let (Some(dest), Some(path)) = (
            item.destination
                .as_deref()
                .and_then(|d| policy.destination(d)),
            item.path.as_deref(),
        ) else {
            continue;
        };
        if let Some(dir) = Path::new(path).parent() {
            if dir.parent() == Some(dest.path.join(snapshot::SNAPSHOTS_DIR).as_path()) {
                dirs.insert((dest.path.clone(), dir.to_path_buf()));
            }
        }
    }
    for (root, dir) in dirs {
        if guard::first_link(Some(&root), &dir).is_some() {
            continue;
        }
        let empty = fs::read_dir(&dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if empty && fs::remove_dir(&dir).is_ok() {
            if let Some(parent) = dir.parent() {
                let _ = media::sync_dir(parent);
            }
        }
    }
}

/// What the file to be erased must be.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// Its size.
    pub size: Option<u64>,
    /// Its SHA-256 (hex); `None` skips the check (a resumed overwrite).
    pub sha256: Option<String>,
    /// Its identity on the volume.
    pub file_id: Option<String>,
}

/// Why a file was not erased.
#[derive(Debug)]
pub enum Fault {
    /// It is not the requested file: (status, why). Nothing was written.
    Finding(&'static str, String),
    /// An I/O error; execute again to retry.
    Io(io::Error),
    /// Recording the item failed, or the run was interrupted, before a byte
    /// was written.
    Stop(Error),
}

impl From<io::Error> for Fault {
    fn from(e: io::Error) -> Fault {
        Fault::Io(e)
    }
}

/// What erasing one file recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    /// Its size before erasing.
    pub size: u64,
    /// Its SHA-256 before erasing.
    pub sha256: [u8; 32],
    /// A remark, e.g. other hard links that remain (now zeroed).
    pub note: Option<String>,
    /// Where the zeros were read back from: [`READBACK_DEVICE`] or
    /// [`READBACK_CACHE`].
    pub readback: &'static str,
}

/// The read-back read the device: the file's cached pages were dropped after
/// fsync (`posix_fadvise(POSIX_FADV_DONTNEED)`, Linux).
pub const READBACK_DEVICE: &str = "device";
/// The read-back went through the operating system's cache, which this
/// platform gives kura no way to drop.
pub const READBACK_CACHE: &str = "cache";

/// Drops the file's clean cached pages so the read-back reads the device.
#[cfg(target_os = "linux")]
fn drop_cache(file: &std::fs::File) -> &'static str {
    match rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed) {
        Ok(()) => READBACK_DEVICE,
        Err(_) => READBACK_CACHE,
    }
}

#[cfg(not(target_os = "linux"))]
fn drop_cache(_: &std::fs::File) -> &'static str {
    READBACK_CACHE
}

/// Checks the open file is the expected one (identity, size, SHA-256), then
/// overwrites every byte with zeros, fsyncs, reads every byte back, unlinks,
/// syncs the directory and confirms absence. `Ok(None)` if the file is
/// already gone. Never follows a link: a path that is not a regular file, or
/// whose open handle is another file, is a finding.
pub fn overwrite_and_remove(path: &Path, expected: &Expected) -> Result<Option<Erased>, Fault> {
    overwrite_checked(path, expected, &mut |_, _| Ok(()))
}

/// [`overwrite_and_remove`], calling `stage` with `erasing` once the file
/// has passed its checks and before its first byte is overwritten, and with
/// `zeroed` (and where the zeros were read from) once every byte has been
/// read back as zero, before the unlink: the execution records both.
fn overwrite_checked(
    path: &Path,
    expected: &Expected,
    stage: &mut dyn FnMut(&'static str, Option<&'static str>) -> Result<()>,
) -> Result<Option<Erased>, Fault> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if !meta.is_file() {
        return Err(Fault::Finding(
            st::REPLACED,
            "not a regular file: kura does not erase through links or special files".into(),
        ));
    }
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let id = guard::file_id(&file);
    if expected.file_id.is_some() && id != expected.file_id {
        return Err(Fault::Finding(
            st::REPLACED,
            format!(
                "{} opened as another file than the one requested",
                path.display()
            ),
        ));
    }
    let size = file.metadata()?.len();
    if expected.size.is_some_and(|s| s != size) {
        return Err(Fault::Finding(
            st::MISMATCH,
            format!(
                "{} is {size} bytes, the request recorded {}; nothing was written",
                path.display(),
                expected.size.unwrap_or_default()
            ),
        ));
    }
    let (digest, read) = sums::digest_reader(&mut file)?;
    if read != size {
        return Err(io::Error::other("the file changed while it was read").into());
    }
    if let Some(want) = &expected.sha256 {
        if !hex::encode(digest).eq_ignore_ascii_case(want) {
            return Err(Fault::Finding(
                st::MISMATCH,
                format!(
                    "{} has SHA-256 {}, the request recorded {want}; nothing was written",
                    path.display(),
                    hex::encode(digest)
                ),
            ));
        }
    }
    stage(st::ERASING, None).map_err(Fault::Stop)?;
    file.seek(SeekFrom::Start(0))?;
    let zeros = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        crate::interrupt::check_io()?;
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    // Read-back verification of every byte, from the device where the
    // platform lets kura drop the cached pages first.
    let readback = drop_cache(&file);
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        crate::interrupt::check_io()?;
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|b| *b != 0) {
            return Err(io::Error::other("read-back found bytes that were not overwritten").into());
        }
    }
    let note = links_note(&meta, &file);
    drop(file);
    stage(st::ZEROED, Some(readback)).map_err(Fault::Stop)?;
    fs::remove_file(path)?;
    if let Some(dir) = path.parent() {
        media::sync_dir(dir).map_err(|e| io::Error::other(e.to_string()))?;
    }
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(Erased {
            size,
            sha256: digest,
            note,
            readback,
        })),
        _ => Err(io::Error::other("the file is still present after unlinking").into()),
    }
}

/// Says so when other names still lead to the overwritten file.
fn links_note(meta: &fs::Metadata, file: &fs::File) -> Option<String> {
    #[cfg(unix)]
    let links = {
        use std::os::unix::fs::MetadataExt;
        let _ = file;
        meta.nlink()
    };
    #[cfg(windows)]
    let links = {
        let _ = meta;
        winapi_util::file::information(file)
            .map(|i| i.number_of_links())
            .unwrap_or(1)
    };
    #[cfg(not(any(unix, windows)))]
    let links = {
        let _ = (meta, file);
        1
    };
    (links > 1).then(|| {
        format!(
            "{} other hard link(s) remain; their contents are the overwritten zeros",
            links - 1
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrite_zeroes_every_byte_before_unlinking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.bin");
        fs::write(&path, vec![0xa5u8; 3 * 1024 * 1024 + 17]).unwrap();
        let other_name = dir.path().join("second-link.bin");
        fs::hard_link(&path, &other_name).unwrap();
        let Erased {
            size,
            sha256: digest,
            note,
            readback,
        } = overwrite_and_remove(&path, &Expected::default())
            .unwrap()
            .unwrap();
        assert_eq!(size, 3 * 1024 * 1024 + 17);
        assert_eq!(
            digest,
            sums::digest_reader(&vec![0xa5u8; size as usize][..])
                .unwrap()
                .0
        );
        assert!(!path.exists());
        let left = fs::read(&other_name).unwrap();
        assert_eq!(
            left.len() as u64,
            size,
            "overwritten in place, not truncated"
        );
        assert!(
            left.iter().all(|b| *b == 0),
            "the blocks themselves hold zeros now"
        );
        assert!(note.unwrap().contains("hard link"));
        #[cfg(target_os = "linux")]
        assert_eq!(
            readback, READBACK_DEVICE,
            "cached pages dropped before read-back"
        );
        #[cfg(not(target_os = "linux"))]
        let _ = readback;
        assert!(overwrite_and_remove(&path, &Expected::default())
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_file_that_is_not_the_requested_one_is_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("archive");
        fs::write(&path, b"decoy!").unwrap();
        let expected = Expected {
            size: Some(6),
            sha256: Some("00".repeat(32)),
            file_id: guard::path_id(&path),
        };
        match overwrite_and_remove(&path, &expected) {
            Err(Fault::Finding(st::MISMATCH, why)) => assert!(why.contains("SHA-256"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read(&path).unwrap(), b"decoy!");
        let wrong_size = Expected {
            size: Some(145199),
            ..Expected::default()
        };
        assert!(matches!(
            overwrite_and_remove(&path, &wrong_size),
            Err(Fault::Finding(st::MISMATCH, _))
        ));
        assert_eq!(fs::read(&path).unwrap(), b"decoy!");
    }

    #[cfg(unix)]
    #[test]
    fn links_are_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = overwrite_and_remove(&link, &Expected::default()).unwrap_err();
        assert!(matches!(err, Fault::Finding(st::REPLACED, ref why) if why.contains("links")));
        assert_eq!(fs::read(&target).unwrap(), b"keep");
    }
}
