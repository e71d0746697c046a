//! The monthly backup: one snapshot, one archive per source, on every destination.
//!
//! Order of work, chosen so that a refusal writes nothing and a failure leaves
//! nothing visible:
//! 1. the media rule on every chosen destination (any unregistered volume
//!    refuses the whole run before a byte is written; a missing disk only
//!    drops that destination);
//! 2. a lock per destination, then removal of a killed run's leftovers;
//! 3. `prepare` commands run; source paths must exist; free space is checked;
//! 4. each archive is produced once and its ciphertext written to every
//!    destination's staging directory at the same time (one read of the
//!    sources, identical files everywhere); a destination whose write fails is
//!    dropped while the others go on;
//! 5. `snapshot.json`, `SHA256SUMS` and its signature, fsync, rename.
//!
//! The audit log plugs in through [`AuditSeal`]: its head is sealed into
//! `snapshot.json` and a consistent copy of its database becomes the `audit`
//! archive.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::archive::{self, ArchiveSettings, ArchiveStats, OutputError, WriteError};
use crate::clock::Clock;
use crate::error::{Action, Error, Result};
use crate::keys;
use crate::media::{self, DestinationLock};
use crate::policy::{Destination, Policy, Source};
use crate::progress::Progress;
use crate::snapshot::{
    self, ArchiveMeta, AuditMeta, CompressionMeta, SiteMeta, SnapshotMeta, Staging, ToolMeta,
};
use crate::sums::{self, HashingWriter};

/// How many times an archive is started over when a source file changes.
pub const MAX_ATTEMPTS: u32 = 3;
const GIB: u64 = 1 << 30;

/// What the audit log lends a backup.
pub trait AuditSeal {
    /// The current chain head, to be sealed into `snapshot.json`.
    fn head(&self) -> Result<AuditMeta>;
    /// Writes a consistent copy of the audit database to `to` (a new file).
    fn copy_database(&self, to: &Path) -> Result<()>;
}

/// A backup to run.
pub struct BackupRequest<'a> {
    /// The validated policy.
    pub policy: &'a Policy,
    /// The authorised operator.
    pub operator: &'a str,
    /// Destination names; empty means all.
    pub destinations: &'a [String],
    /// The clock (snapshot id and month).
    pub clock: Clock,
    /// Progress of the archives.
    pub progress: &'a dyn Progress,
    /// The audit log, when it is on.
    pub audit: Option<&'a dyn AuditSeal>,
}

/// What happened on one destination.
#[derive(Debug)]
pub struct DestinationOutcome {
    /// Destination name.
    pub name: String,
    /// Its directory.
    pub path: PathBuf,
    /// The id of the registered volume written to (rotation: which disk).
    pub volume: Option<String>,
    /// The published snapshot, or why there is none.
    pub result: std::result::Result<PathBuf, Error>,
}

/// What a backup did.
#[derive(Debug)]
pub struct BackupOutcome {
    /// The snapshot's metadata (identical on every destination).
    pub meta: SnapshotMeta,
    /// Per destination.
    pub destinations: Vec<DestinationOutcome>,
    /// Special files that were left out.
    pub skipped: Vec<PathBuf>,
    /// Staging directories of killed runs that were removed.
    pub leftovers_removed: Vec<PathBuf>,
}

impl BackupOutcome {
    /// The error to exit with when some destination got no snapshot.
    pub fn failure(&self) -> Option<Error> {
        let failures: Vec<String> = self
            .destinations
            .iter()
            .filter_map(|d| d.result.as_ref().err().map(|e| format!("{}: {e}", d.name)))
            .collect();
        (!failures.is_empty()).then_some(Error::PartialFailure { failures })
    }
}

/// One destination while the run is under way.
struct Target<'a> {
    dest: &'a Destination,
    volume: Option<String>,
    _lock: Option<DestinationLock>,
    staging: Option<Staging>,
    error: Option<Error>,
}

impl Target<'_> {
    fn alive(&self) -> bool {
        self.error.is_none()
    }

    fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(disk_gone(self.dest, e));
        }
        self.staging = None; // dropping removes the staging directory
    }
}

/// Runs a backup.
pub fn run(req: &BackupRequest) -> Result<BackupOutcome> {
    let policy = req.policy;
    let chosen = policy.select_destinations(req.destinations)?;

    // 1. The media rule, before anything is written anywhere.
    let mut targets = Vec::new();
    for dest in chosen {
        let (volume, error) = match media::check_destination(dest) {
            Ok(marker) => (Some(marker.id), None),
            Err(e @ Error::DestinationMissing { .. }) => (None, Some(e)),
            Err(e) => return Err(e),
        };
        targets.push(Target {
            dest,
            volume,
            _lock: None,
            staging: None,
            error,
        });
    }
    if let Some(Target { error: Some(_), .. }) = targets
        .first()
        .filter(|_| targets.iter().all(|t| !t.alive()))
    {
        let first = targets.swap_remove(0);
        return Err(first
            .error
            .unwrap_or_else(|| Error::Refused("no destination".into())));
    }

    // 2. Locks and leftovers.
    let mut leftovers_removed = Vec::new();
    for t in targets.iter_mut().filter(|t| t.alive()) {
        t._lock = Some(DestinationLock::acquire(&t.dest.path)?);
        leftovers_removed.extend(snapshot::remove_leftovers(&t.dest.path)?);
    }

    // 3. Sources, prepare, free space.
    // `prepare` first: it may create the files its source names.
    for source in &policy.sources {
        run_prepare(policy, source)?;
    }
    for source in &policy.sources {
        check_source_paths(policy, source)?;
    }
    for t in targets.iter_mut().filter(|t| t.alive()) {
        // The disk may have gone while `prepare` ran, leaving its mount point:
        // an empty directory on the system drive. Check the marker again
        // rather than write there (and note the disk: it may have been
        // swapped for another registered one).
        match media::check_destination(t.dest) {
            Ok(marker) => {
                t.volume = Some(marker.id);
                if let Err(e) = check_space(t.dest) {
                    t.fail(e);
                }
            }
            Err(_) => t.fail(Error::DestinationMissing {
                dest: t.dest.name.clone(),
                path: t.dest.path.clone(),
            }),
        }
    }

    let start = req.clock.now();
    let real_start = req.clock.real_now();
    let id = snapshot::snapshot_id(start);
    for t in targets.iter_mut().filter(|t| t.alive()) {
        match Staging::create(&t.dest.path, &id) {
            Ok(s) => t.staging = Some(s),
            Err(e) => t.fail(e),
        }
    }
    ensure_any_alive(&mut targets)?;

    // 4. Archives.
    let recipients = keys::parse_recipients(&policy.recipients)?;
    let settings = ArchiveSettings {
        level: policy.compression.level,
        threads: policy.compression.threads,
        manifest_mtime: start.timestamp().max(0) as u64,
    };
    let mut archives = Vec::new();
    let mut skipped = Vec::new();
    for source in &policy.sources {
        let paths: Vec<PathBuf> = source.paths.iter().map(|p| p.path.clone()).collect();
        let (meta, stats) = write_to_all(
            &mut targets,
            &source.name,
            &source.label,
            &paths,
            &recipients,
            settings,
            req.progress,
        )?;
        skipped.extend(stats.skipped);
        archives.push(meta);
    }
    let audit = match req.audit {
        None => None,
        Some(log) => {
            let head = log.head()?;
            // Beside the live database, not in the system temp directory: a
            // copy left by a killed run then reveals nothing the log itself
            // does not, under the same access rights.
            let beside = policy
                .audit_database
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let copy_dir = tempfile::Builder::new()
                .prefix(".kura-audit-copy-")
                .tempdir_in(beside)
                .map_err(|e| Error::io(Action::Create, beside, e))?;
            let copy = copy_dir.path().join("kura-audit.sqlite");
            log.copy_database(&copy)?;
            let (meta, _) = write_to_all(
                &mut targets,
                snapshot::AUDIT_ARCHIVE,
                "監査ログ",
                &[copy],
                &recipients,
                settings,
                req.progress,
            )?;
            archives.push(meta);
            Some(head)
        }
    };

    // 5. Metadata, checksums, signature, publication. Interrupted before
    // this point, the staging directories go as `targets` drops; from here
    // on the snapshot is sealed and published everywhere.
    crate::interrupt::check()?;
    let finished = req.clock.now().max(start);
    let meta = SnapshotMeta {
        format: snapshot::FORMAT.to_string(),
        id: id.clone(),
        created_at: rfc3339(start),
        finished_at: rfc3339(finished),
        month: start
            .with_timezone(&chrono::Local)
            .format("%Y-%m")
            .to_string(),
        site: SiteMeta {
            name: policy.site.name.clone(),
            system: policy.site.system.clone(),
            contractor: policy.site.contractor.clone(),
            contract_code: policy.site.contract_code.clone(),
        },
        tool: ToolMeta {
            name: crate::TOOL_NAME.to_string(),
            version: crate::TOOL_VERSION.to_string(),
        },
        operator: req.operator.to_string(),
        clock_overridden: req.clock.is_overridden(),
        real_created_at: req.clock.is_overridden().then(|| rfc3339(real_start)),
        recipients: policy.recipients.clone(),
        compression: CompressionMeta {
            algorithm: "zstd".to_string(),
            level: policy.compression.level,
        },
        archives,
        audit,
    };
    let signer = match &policy.signing {
        Some(s) => Some(keys::load_signing_key(&s.secret_key, &s.public_key)?),
        None => None,
    };
    let sealed = Seal::new(&meta, signer.as_ref())?;
    let mut destinations = Vec::new();
    for mut t in targets {
        let result = match (t.error.take(), t.staging.take()) {
            (Some(e), _) => Err(e),
            (None, None) => Err(Error::Refused("no staging directory".into())),
            (None, Some(staging)) => sealed.apply(staging).map_err(|e| disk_gone(t.dest, e)),
        };
        destinations.push(DestinationOutcome {
            name: t.dest.name.clone(),
            path: t.dest.path.clone(),
            volume: t.volume.clone(),
            result,
        });
    }
    if destinations.iter().all(|d| d.result.is_err()) {
        let first = destinations.remove(0);
        return Err(first
            .result
            .err()
            .unwrap_or(Error::Refused("no destination".into())));
    }
    Ok(BackupOutcome {
        meta,
        destinations,
        skipped,
        leftovers_removed,
    })
}

/// A write that failed because the disk went away (unplugged, unmounted) is
/// reported as the disk missing, not as the file it was writing.
fn disk_gone(dest: &Destination, e: Error) -> Error {
    match e {
        Error::Io { .. } if media::check_destination(dest).is_err() => Error::DestinationMissing {
            dest: dest.name.clone(),
            path: dest.path.clone(),
        },
        e => e,
    }
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn ensure_any_alive(targets: &mut Vec<Target>) -> Result<()> {
    if targets.iter().any(Target::alive) {
        return Ok(());
    }
    let first = targets.swap_remove(0);
    Err(first
        .error
        .unwrap_or(Error::Refused("no destination".into())))
}

fn check_source_paths(policy: &Policy, source: &Source) -> Result<()> {
    for p in &source.paths {
        if fs::symlink_metadata(&p.path).is_err() {
            return Err(Error::SourceMissing {
                source_name: source.name.clone(),
                path: p.path.clone(),
                location: format!(
                    "{}:{}:{}",
                    policy.file.display(),
                    p.location.line,
                    p.location.column
                ),
            });
        }
    }
    Ok(())
}

/// Runs a source's `prepare` command in the policy's directory.
fn run_prepare(policy: &Policy, source: &Source) -> Result<()> {
    let Some(cmd) = &source.prepare else {
        return Ok(());
    };
    let failed = |detail: String| Error::PrepareFailed {
        source_name: source.name.clone(),
        program: cmd[0].clone(),
        detail,
    };
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .current_dir(&policy.dir)
        .stdin(std::process::Stdio::null())
        // Its chatter goes to stderr so `--json` output stays one object.
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    // Waited for in short steps, so an interruption stops it too (a signal
    // sent to kura alone, as by `kill` or a service manager, does not reach it).
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| failed(e.to_string()))? {
            break status;
        }
        if crate::interrupt::requested() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Interrupted);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    if status.success() {
        Ok(())
    } else {
        Err(failed(status.to_string()))
    }
}

/// Free space must cover `min_free_gib` plus the size of the destination's
/// latest snapshot (this month's will be about as big). Compressed size cannot
/// be known beforehand; a disk that fills anyway fails cleanly mid-write.
fn check_space(dest: &Destination) -> Result<()> {
    let (available, _) = media::space(&dest.path)?;
    let last = snapshot::list(&dest.path)?
        .into_iter()
        .rev()
        .find_map(|s| s.meta.ok())
        .map_or(0, |m| {
            m.archives.iter().map(|a| a.ciphertext_bytes).sum::<u64>()
        });
    let needed = dest
        .min_free_gib
        .unwrap_or(0)
        .saturating_mul(GIB)
        .saturating_add(last);
    if available < needed {
        return Err(Error::OutOfSpace {
            dest: dest.name.clone(),
            path: dest.path.clone(),
            needed,
            available,
        });
    }
    Ok(())
}

/// Writes one archive into the staging directory of every live target.
fn write_to_all(
    targets: &mut [Target],
    name: &str,
    label: &str,
    paths: &[PathBuf],
    recipients: &[age::x25519::Recipient],
    settings: ArchiveSettings,
    progress: &dyn Progress,
) -> Result<(ArchiveMeta, ArchiveStats)> {
    let file_name = snapshot::archive_file_name(name);
    progress.start(label, archive::measure(paths));
    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        let tee = Tee::create(targets, &file_name)?;
        match archive::write_archive(
            paths,
            recipients,
            settings,
            HashingWriter::new(tee),
            progress,
        ) {
            Ok((stats, hashing)) => {
                let (tee, digest, bytes) = hashing.finish();
                tee.finish(targets);
                ensure_any_alive_slice(targets)?;
                break Ok((
                    ArchiveMeta {
                        name: name.to_string(),
                        label: label.to_string(),
                        file: file_name.clone(),
                        ciphertext_sha256: hex::encode(digest),
                        ciphertext_bytes: bytes,
                        plaintext_bytes: stats.plaintext_bytes,
                        tar_bytes: stats.tar_bytes,
                        files: stats.files,
                    },
                    stats,
                ));
            }
            Err(WriteError::SourceChanged(path)) if attempt < MAX_ATTEMPTS => {
                let _ = path;
                progress.start(label, archive::measure(paths));
                continue;
            }
            Err(WriteError::SourceChanged(path)) => {
                break Err(Error::SourceChanging {
                    path,
                    attempts: attempt,
                })
            }
            Err(WriteError::Failed(e)) => {
                // If every destination died, the write error is theirs.
                ensure_any_alive_slice(targets)?;
                break Err(e);
            }
        }
    };
    progress.finish();
    result
}

fn ensure_any_alive_slice(targets: &mut [Target]) -> Result<()> {
    if targets.iter().any(Target::alive) {
        return Ok(());
    }
    let errors: Vec<String> = targets
        .iter()
        .filter_map(|t| t.error.as_ref().map(|e| format!("{}: {e}", t.dest.name)))
        .collect();
    match targets.iter_mut().find_map(|t| t.error.take()) {
        Some(e) if errors.len() == 1 => Err(e),
        _ => Err(Error::PartialFailure { failures: errors }),
    }
}

/// What sealing writes into every copy of a snapshot: the same
/// `snapshot.json`, `SHA256SUMS` and signature bytes on every destination.
struct Seal {
    json: Vec<u8>,
    sums: Vec<u8>,
    signature: Option<String>,
}

impl Seal {
    /// Builds the files once, signing `SHA256SUMS` once.
    fn new(meta: &SnapshotMeta, signer: Option<&keys::SigningKey>) -> Result<Seal> {
        let mut json = serde_json::to_vec_pretty(meta)
            .map_err(|e| Error::io(Action::Write, snapshot::SNAPSHOT_JSON, io::Error::other(e)))?;
        json.push(b'\n');
        let mut lines: Vec<(String, [u8; 32])> = meta
            .archives
            .iter()
            .map(|a| {
                let mut d = [0u8; 32];
                hex::decode_to_slice(&a.ciphertext_sha256, &mut d).map(|()| (a.file.clone(), d))
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::io(Action::Write, snapshot::SUMS, io::Error::other(e)))?;
        lines.push((
            snapshot::SNAPSHOT_JSON.to_string(),
            sums::digest_reader(&json[..])
                .map_err(|e| Error::io(Action::Read, snapshot::SNAPSHOT_JSON, e))?
                .0,
        ));
        lines.sort();
        let mut sums = Vec::new();
        for (name, digest) in &lines {
            sums.extend(sums::format_line(digest, name.as_bytes()));
        }
        let signature = match signer {
            Some(key) => {
                Some(key.sign_bytes(&sums, &format!("kura-snapshot {} {}", meta.id, meta.month))?)
            }
            None => None,
        };
        Ok(Seal {
            json,
            sums,
            signature,
        })
    }

    /// Seals a staging directory: snapshot.json, SHA256SUMS, signature, publish.
    fn apply(&self, staging: Staging) -> Result<PathBuf> {
        let dir = staging.dir().to_path_buf();
        write_synced(&dir.join(snapshot::SNAPSHOT_JSON), &self.json)?;
        write_synced(&dir.join(snapshot::SUMS), &self.sums)?;
        if let Some(sig) = &self.signature {
            write_synced(&dir.join(snapshot::SUMS_SIG), sig.as_bytes())?;
        }
        staging.publish()
    }
}

fn write_synced(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(|e| Error::io(Action::Create, path, e))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(Action::Write, path, e))
}

/// Writes the same ciphertext to one file per live target; a target whose
/// write fails is dropped and the others go on. Fails only when none is left.
struct Tee {
    sinks: Vec<Sink>,
}

struct Sink {
    target: usize,
    path: PathBuf,
    file: Option<File>,
    error: Option<io::Error>,
}

impl Tee {
    fn create(targets: &mut [Target], file_name: &str) -> Result<Tee> {
        let mut sinks = Vec::new();
        for (i, t) in targets.iter_mut().enumerate() {
            let Some(staging) = t.staging.as_ref().filter(|_| t.error.is_none()) else {
                continue;
            };
            let path = staging.dir().join(file_name);
            match File::create(&path) {
                Ok(file) => sinks.push(Sink {
                    target: i,
                    path,
                    file: Some(file),
                    error: None,
                }),
                Err(e) => t.fail(Error::io(Action::Create, &path, e)),
            }
        }
        if sinks.is_empty() {
            ensure_any_alive_slice(targets)?;
        }
        Ok(Tee { sinks })
    }

    /// Syncs the files and records every failure on its target.
    fn finish(self, targets: &mut [Target]) {
        for mut sink in self.sinks {
            if sink.error.is_none() {
                if let Some(file) = sink.file.take() {
                    if let Err(e) = file.sync_all() {
                        sink.error = Some(e);
                    }
                }
            }
            if let Some(e) = sink.error {
                targets[sink.target].fail(Error::io(Action::Write, &sink.path, e));
            }
        }
    }
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut alive = 0;
        for sink in &mut self.sinks {
            let Some(file) = sink.file.as_mut() else {
                continue;
            };
            match file.write_all(buf) {
                Ok(()) => alive += 1,
                Err(e) => {
                    sink.error = Some(e);
                    sink.file = None;
                }
            }
        }
        if alive == 0 {
            let first = self.sinks.iter_mut().find(|s| s.error.is_some());
            let (path, source) = match first {
                Some(s) => (
                    s.path.clone(),
                    io::Error::new(
                        s.error
                            .as_ref()
                            .map_or(io::ErrorKind::Other, io::Error::kind),
                        s.error.as_ref().map_or(String::new(), ToString::to_string),
                    ),
                ),
                None => (
                    PathBuf::from("archive output"),
                    io::Error::other("no output"),
                ),
            };
            let kind = source.kind();
            return Err(io::Error::new(kind, OutputError { path, source }));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
