//! Safe restore: the archive is not trusted.
//!
//! Invariants:
//! - nothing is written outside `--to`, which must be empty or absent;
//! - only regular files and directories with safe relative names are written
//!   (no absolute paths, no `..`, no links, no devices): the first unsafe entry
//!   stops the restore ([`crate::archive::read_archive`] with `stop_at_unsafe`);
//! - `--to` is opened once (created 0700, or refused when another user owns
//!   it or can write to it) and everything is created, written and removed
//!   through that handle with cap-std: every directory on the way is created
//!   and opened relative to its parent's handle, never through a link, and
//!   files are created with `create_new`;
//! - every file is hashed as it is written and checked against the archive's
//!   manifest; if anything is wrong, everything written is removed again;
//! - mtimes are restored; files are 0600 and directories 0700 unless
//!   `keep_modes` asks for the recorded Unix permission bits;
//! - two entries that become one name after NFC or case folding are a finding.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::archive::{self, EntrySink, Mtime, ReadError};
use crate::error::{Action, Error, Result};
use crate::keys::Identities;
use crate::progress::Progress;
use crate::snapshot;
use crate::verify;

/// A restore to run.
pub struct RestoreRequest<'a> {
    /// The snapshot directory to restore from.
    pub snapshot_dir: &'a Path,
    /// Archive names; empty means all.
    pub archives: &'a [String],
    /// The target directory (empty or absent).
    pub to: &'a Path,
    /// The identities that open the archives.
    pub identities: &'a Identities,
    /// The policy's signing key, if it signs.
    pub signers: Option<&'a crate::signers::Signers>,
    /// Give files and directories their recorded modes (else 0600 / 0700).
    pub keep_modes: bool,
    /// Progress.
    pub progress: &'a dyn Progress,
}

/// One restored archive.
#[derive(Debug, Clone, Serialize)]
pub struct RestoredArchive {
    /// Archive name.
    pub name: String,
    /// Where it went: `<to>/<name>/`.
    pub dir: PathBuf,
    /// Files written (the manifest not counted).
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreOutcome {
    /// The snapshot id.
    pub snapshot: String,
    /// The target.
    pub to: PathBuf,
    /// Per archive.
    pub archives: Vec<RestoredArchive>,
}

/// Restores the chosen archives of a snapshot into `<to>/<archive name>/`.
pub fn restore(req: &RestoreRequest) -> Result<RestoreOutcome> {
    // The snapshot must pass the key-less check before anything is written.
    let check = verify::check_snapshot(
        req.snapshot_dir,
        &verify::CheckOptions {
            signers: req.signers,
            identities: None,
            against_source: None,
            progress: req.progress,
        },
    )?;
    if let Some(f) = check.findings.first() {
        return Err(Error::Integrity {
            path: req.snapshot_dir.to_path_buf(),
            detail: f.clone(),
        });
    }
    let meta = snapshot::read_meta(req.snapshot_dir)?;
    let chosen: Vec<&snapshot::ArchiveMeta> = if req.archives.is_empty() {
        meta.archives.iter().collect()
    } else {
        req.archives
            .iter()
            .map(|n| {
                meta.archives
                    .iter()
                    .find(|a| &a.name == n)
                    .ok_or_else(|| Error::UnknownArchive {
                        name: n.clone(),
                        known: meta.archives.iter().map(|a| a.name.clone()).collect(),
                    })
            })
            .collect::<Result<_>>()?
    };

    let target = prepare_target(req.to)?;
    let result = (|| -> Result<Vec<RestoredArchive>> {
        let mut done = Vec::new();
        let mut dir_times = Vec::new();
        for a in &chosen {
            done.push(restore_archive(req, &target, a, &mut dir_times)?);
        }
        set_dir_times(&target.dir, req.to, &dir_times)?;
        Ok(done)
    })();
    match result {
        Ok(archives) => Ok(RestoreOutcome {
            snapshot: meta.id,
            to: req.to.to_path_buf(),
            archives,
        }),
        Err(e) => {
            // Interrupted too: no plaintext is left behind.
            remove_written(target);
            Err(crate::interrupt::or_interrupted(e))
        }
    }
}

/// The target directory of a restore or a receive, opened once: everything is
/// created, written and removed through this handle, never by path again.
pub(crate) struct Target {
    /// The open `--to`.
    pub(crate) dir: cap_std::fs::Dir,
    /// Whether kura created it.
    pub(crate) created: bool,
    /// Its path, for messages and for removing it when kura created it.
    pub(crate) path: PathBuf,
}

/// Creates the target (0700 on Unix) or checks it is an empty directory that
/// no other user owns or can write to, and opens it once.
pub(crate) fn prepare_target(to: &Path) -> Result<Target> {
    let created = match fs::symlink_metadata(to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|e| Error::io(Action::Create, parent, e))?;
            }
            #[cfg_attr(not(unix), allow(unused_mut))]
            let mut builder = fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder
                .create(to)
                .map_err(|e| Error::io(Action::Create, to, e))?;
            true
        }
        Err(e) => return Err(Error::io(Action::Read, to, e)),
        Ok(m) if !m.is_dir() => {
            return Err(Error::TargetNotEmpty {
                path: to.to_path_buf(),
            })
        }
        Ok(_) => false,
    };
    let dir = cap_std::fs::Dir::open_ambient_dir(to, cap_std::ambient_authority())
        .map_err(|e| Error::io(Action::Read, to, e))?;
    let target = Target {
        dir,
        created,
        path: to.to_path_buf(),
    };
    if !created {
        // Checked on the open handle, not the path.
        let meta = target
            .dir
            .dir_metadata()
            .map_err(|e| Error::io(Action::Read, to, e))?;
        check_target_owner(to, &meta)?;
        let mut entries = target
            .dir
            .entries()
            .map_err(|e| Error::io(Action::List, to, e))?;
        if entries.next().is_some() {
            return Err(Error::TargetNotEmpty {
                path: to.to_path_buf(),
            });
        }
    }
    // Windows: the target and everything it will hold, owner-only (inherited
    // from it); on Unix the 0700/0600 modes do this.
    crate::private::restrict(to).map_err(|e| Error::io(Action::Create, to, e))?;
    Ok(target)
}

/// Refuses an existing target that another user owns or that group or others
/// can write to: they could swap what kura writes.
#[cfg(unix)]
fn check_target_owner(to: &Path, meta: &cap_std::fs::Metadata) -> Result<()> {
    use cap_std::fs::{MetadataExt, PermissionsExt};
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(Error::refused(
            format!(
                "復元先 {} はほかの利用者が書き込めます（権限 {:o}）。自分だけが書き込める空のディレクトリか、まだない場所を指定してください",
                to.display(),
                mode & 0o777
            ),
            format!(
                "the target {} can be written by other users (mode {:o}); give an empty directory only you can write to, or one that does not exist yet",
                to.display(),
                mode & 0o777
            ),
        ));
    }
    #[cfg(target_os = "linux")]
    {
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(Error::refused(
                format!(
                    "復元先 {} はほかの利用者（uid {}）のものです。自分のディレクトリを指定してください",
                    to.display(),
                    meta.uid()
                ),
                format!(
                    "the target {} belongs to another user (uid {}); give a directory of your own",
                    to.display(),
                    meta.uid()
                ),
            ));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = meta.uid();
    Ok(())
}

#[cfg(not(unix))]
fn check_target_owner(_to: &Path, _meta: &cap_std::fs::Metadata) -> Result<()> {
    Ok(())
}

/// Removes what a failed restore wrote, through the target's handle: the
/// target was empty (or absent). Never polls for interruptions.
pub(crate) fn remove_written(target: Target) {
    // A removal the system refuses once (a transient error) is tried again,
    // so a failed run's cleanup does not itself leave half a restore.
    for _ in 0..CLEANUP_ATTEMPTS {
        let Ok(entries) = target.dir.entries() else {
            continue;
        };
        let mut left = false;
        for e in entries.flatten() {
            let name = e.file_name();
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let removed = if is_dir {
                target.dir.remove_dir_all(&name)
            } else {
                target.dir.remove_file(&name)
            };
            left |= removed.is_err();
        }
        if !left {
            break;
        }
    }
    // Windows removes no directory while a handle to it is open.
    let Target { dir, created, path } = target;
    drop(dir);
    if created {
        for _ in 0..CLEANUP_ATTEMPTS {
            if fs::remove_dir(&path).is_ok() || !path.exists() {
                break;
            }
        }
    }
}

/// How often a failed run's cleanup tries each removal.
const CLEANUP_ATTEMPTS: u32 = 5;

/// Opens `rel` (components already validated) under `root` one directory at
/// a time, never through a link.
fn open_nofollow(root: &cap_std::fs::Dir, rel: &Path) -> io::Result<cap_std::fs::Dir> {
    let mut dir = root.try_clone()?;
    for part in rel.iter() {
        let meta = dir.symlink_metadata(part)?;
        if !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is not a directory", Path::new(part).display()),
            ));
        }
        // cap-std never leaves `dir`, even if `part` were swapped for a link
        // since the check above.
        let next = dir.open_dir(part)?;
        if !next.dir_metadata()?.is_dir() {
            return Err(io::Error::other("not a directory"));
        }
        dir = next;
    }
    Ok(dir)
}

/// How a directory is opened to set its times: for reading on Unix; on
/// Windows with FILE_FLAG_BACKUP_SEMANTICS (without it a directory cannot be
/// opened at all) and the right to write its attributes.
fn dir_for_times() -> cap_std::fs::OpenOptions {
    let mut options = cap_std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(windows)]
    {
        use cap_std::fs::OpenOptionsExt;
        const FILE_READ_ATTRIBUTES: u32 = 0x0080;
        const FILE_WRITE_ATTRIBUTES: u32 = 0x0100;
        const SYNCHRONIZE: u32 = 0x0010_0000;
        const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
        options
            .access_mode(FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE)
            .custom_flags(FILE_FLAG_BACKUP_SEMANTICS);
    }
    options
}

/// Gives directories their recorded mtimes, deepest last-written first.
/// Called after everything is written: writing into a directory changes its
/// mtime. Paths are relative to `root`.
pub(crate) fn set_dir_times(
    root: &cap_std::fs::Dir,
    shown: &Path,
    dir_times: &[(PathBuf, Mtime)],
) -> Result<()> {
    for (dir, mtime) in dir_times.iter().rev() {
        let path = shown.join(dir);
        let parent = dir.parent().unwrap_or(Path::new(""));
        let leaf = dir.file_name().unwrap_or_default();
        // cap-std's directory handles cannot take times (O_PATH on Linux):
        // open the checked directory for reading through its parent.
        let file = open_nofollow(root, parent)
            .and_then(|p| {
                if !p.symlink_metadata(leaf)?.is_dir() {
                    return Err(io::Error::other("not a directory"));
                }
                p.open_with(leaf, &dir_for_times())
            })
            .map_err(|e| Error::io(Action::Write, &path, e))?
            .into_std();
        file.set_modified(mtime.to_system_time())
            .map_err(|e| Error::io(Action::Write, &path, e))?;
    }
    Ok(())
}

fn restore_archive(
    req: &RestoreRequest,
    target: &Target,
    a: &snapshot::ArchiveMeta,
    dir_times: &mut Vec<(PathBuf, Mtime)>,
) -> Result<RestoredArchive> {
    let path = req.snapshot_dir.join(&a.file);
    let root = req.to.join(&a.name);
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut builder = cap_std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use cap_std::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    target
        .dir
        .create_dir_with(&a.name, &builder)
        .map_err(|e| Error::io(Action::Create, &root, e))?;
    let root_dir = open_nofollow(&target.dir, Path::new(&a.name))
        .map_err(|e| Error::io(Action::Create, &root, e))?;
    let file =
        crate::bounded::open_regular(&path).map_err(|e| crate::bounded::finding_or_io(&path, e))?;
    let (plain, ciphertext) = match archive::open_hashed(file, req.identities.as_dyn()) {
        Ok(p) => p,
        Err(ReadError::WrongKey) => return Err(Error::WrongKey { path }),
        Err(ReadError::NotAnArchive(e)) => {
            return Err(Error::Integrity {
                path,
                detail: format!("not a readable age file: {e}"),
            })
        }
        Err(ReadError::Io(e)) => return Err(Error::io(Action::Read, &path, e)),
    };
    let mut sink = RestoreSink::new(root_dir, &root, req.keep_modes);
    req.progress.start(&a.name, a.plaintext_bytes);
    let read = archive::read_archive(plain, req.progress, &mut sink, true);
    req.progress.finish();
    let report = match read {
        Ok(r) => r,
        Err(e) => {
            return Err(sink
                .failure
                .take()
                .unwrap_or_else(|| match ciphertext.read_error() {
                    // The disk failed a read: operational, not damage.
                    Some(io) => Error::io(Action::Read, &path, io),
                    None => Error::Integrity {
                        path,
                        detail: format!("damaged (decryption, decompression or tar): {e}"),
                    },
                }));
        }
    };
    if let Some(f) = report.findings.first() {
        return Err(Error::Integrity {
            path,
            detail: match &f.entry {
                Some(entry) => format!("{entry}: {}", f.detail),
                None => f.detail.clone(),
            },
        });
    }
    if report.files != a.files {
        return Err(Error::Integrity {
            path,
            detail: format!(
                "holds {} files, snapshot.json says {}",
                report.files, a.files
            ),
        });
    }
    // What was decrypted counts only if it was the file SHA256SUMS lists;
    // otherwise the caller removes everything written.
    if !ciphertext.matches(&a.ciphertext_sha256, a.ciphertext_bytes) {
        return Err(Error::Integrity {
            path,
            detail: verify::CHANGED_WHILE_READ.to_string(),
        });
    }
    dir_times.extend(
        sink.dir_times
            .drain(..)
            .map(|(d, t)| (Path::new(&a.name).join(d), t)),
    );
    Ok(RestoredArchive {
        name: a.name.clone(),
        dir: root,
        files: report.files,
        bytes: report.bytes,
    })
}

/// Writes safe entries under `root`, an open directory, never through a link
/// and never outside it (cap-std). Also used by `kura handover receive`.
pub(crate) struct RestoreSink {
    root: cap_std::fs::Dir,
    /// `root`'s path, for messages only.
    shown: PathBuf,
    /// Recorded modes instead of 0600 / 0700 (Unix; Windows has none).
    #[cfg_attr(not(unix), allow(dead_code))]
    keep_modes: bool,
    /// Open handles of the directories created so far (relative paths).
    dirs: HashMap<PathBuf, cap_std::fs::Dir>,
    /// Every directory written (relative to the root) and the mtime it is to
    /// get, in archive order.
    pub(crate) dir_times: Vec<(PathBuf, Mtime)>,
    /// The first write failure, which explains the error the reader saw.
    pub(crate) failure: Option<Error>,
    /// Names seen, after NFC and case folding: two entries that would become
    /// one file on Windows or macOS are a finding.
    folded: HashSet<String>,
}

impl RestoreSink {
    /// A sink writing under `root`, an open empty directory shown as `shown`.
    pub(crate) fn new(root: cap_std::fs::Dir, shown: &Path, keep_modes: bool) -> RestoreSink {
        RestoreSink {
            root,
            shown: shown.to_path_buf(),
            keep_modes,
            dirs: HashMap::new(),
            dir_times: Vec::new(),
            failure: None,
            folded: HashSet::new(),
        }
    }

    /// The relative path of a (validated) archive name.
    fn relative(name: &[u8]) -> io::Result<PathBuf> {
        let text = std::str::from_utf8(name)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "entry name is not UTF-8"))?;
        Ok(text.split('/').filter(|p| !p.is_empty()).collect())
    }

    /// Refuses a second entry that folds to the same name as an earlier one.
    fn check_collision(&mut self, name: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(name);
        let key = crate::entry_names::fold(text.trim_end_matches('/'));
        if !self.folded.insert(key) {
            return Err(self.fail(Error::Integrity {
                path: self.shown.join(text.trim_end_matches('/')),
                detail: "two entries become the same name after Unicode NFC or case folding".into(),
            }));
        }
        Ok(())
    }

    /// The open handle of `rel` (relative), creating every directory on the
    /// way relative to its parent's handle, 0700 unless modes are kept.
    fn ensure_dir(&mut self, rel: &Path, mode: u32) -> io::Result<cap_std::fs::Dir> {
        if rel.as_os_str().is_empty() {
            return self.root.try_clone();
        }
        if let Some(d) = self.dirs.get(rel) {
            return d.try_clone();
        }
        let parent = match rel.parent() {
            Some(p) => self.ensure_dir(p, 0o700)?,
            None => self.root.try_clone()?,
        };
        let leaf = rel
            .file_name()
            .ok_or_else(|| io::Error::other("empty path component"))?;
        #[cfg_attr(not(unix), allow(unused_mut))]
        let mut builder = cap_std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use cap_std::fs::DirBuilderExt;
            builder.mode(if self.keep_modes { mode | 0o700 } else { 0o700 });
        }
        #[cfg(not(unix))]
        let _ = mode;
        match parent.create_dir_with(leaf, &builder) {
            Ok(()) => {}
            // Created earlier by this restore (a directory entry after a
            // file below it); anything else is caught by the open.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let dir = open_nofollow(&parent, Path::new(leaf))?;
        self.dirs.insert(rel.to_path_buf(), dir.try_clone()?);
        Ok(dir)
    }

    fn fail(&mut self, e: Error) -> io::Error {
        let text = e.to_string();
        self.failure.get_or_insert(e);
        io::Error::other(text)
    }
}

impl EntrySink for RestoreSink {
    fn directory(&mut self, name: &[u8], mode: u32, mtime: Mtime) -> io::Result<()> {
        let rel = Self::relative(name)?;
        self.check_collision(name)?;
        if let Err(e) = self.ensure_dir(&rel, mode) {
            let shown = self.shown.join(&rel);
            return Err(self.fail(Error::io(Action::Create, &shown, e)));
        }
        self.dir_times.push((rel, mtime));
        Ok(())
    }

    fn file(
        &mut self,
        name: &[u8],
        mode: u32,
        mtime: Mtime,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        let rel = Self::relative(name)?;
        self.check_collision(name)?;
        let shown = self.shown.join(&rel);
        let parent_rel = rel.parent().unwrap_or(Path::new(""));
        let parent = match self.ensure_dir(parent_rel, 0o700) {
            Ok(d) => d,
            Err(e) => {
                let p = self.shown.join(parent_rel);
                return Err(self.fail(Error::io(Action::Create, &p, e)));
            }
        };
        let leaf = rel
            .file_name()
            .ok_or_else(|| io::Error::other("empty path component"))?;
        let mut options = cap_std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use cap_std::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = match parent.open_with(leaf, &options) {
            Ok(f) => f.into_std(),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(self.fail(Error::Integrity {
                    path: shown,
                    detail: "the archive holds this path twice".into(),
                }))
            }
            Err(e) => return Err(self.fail(Error::io(Action::Create, &shown, e))),
        };
        let mut buf = vec![0u8; 1 << 20];
        loop {
            crate::interrupt::check_io()?;
            let n = match data.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if let Err(e) = file.write_all(&buf[..n]) {
                return Err(self.fail(Error::io(Action::Write, &shown, e)));
            }
        }
        #[cfg(unix)]
        if self.keep_modes {
            use std::os::unix::fs::PermissionsExt;
            let _ = file.set_permissions(fs::Permissions::from_mode(mode | 0o600));
        }
        #[cfg(not(unix))]
        let _ = mode;
        if let Err(e) = file.set_modified(mtime.to_system_time()) {
            return Err(self.fail(Error::io(Action::Write, &shown, e)));
        }
        Ok(())
    }
}
