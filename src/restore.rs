//! Safe restore: the archive is not trusted.
//!
//! Invariants:
//! - nothing is written outside `--to`, which must be empty or absent;
//! - only regular files and directories with safe relative names are written
//!   (no absolute paths, no `..`, no links, no devices): the first unsafe entry
//!   stops the restore ([`crate::archive::read_archive`] with `stop_at_unsafe`);
//! - files are created with `create_new` and every directory on the way is
//!   checked to be a real directory, so nothing is ever written through a link;
//! - every file is hashed as it is written and checked against the archive's
//!   manifest; if anything is wrong, everything written is removed again;
//! - mtimes (and Unix permission bits) are restored.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
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
    pub public_key: Option<&'a minisign::PublicKey>,
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
            public_key: req.public_key,
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

    let created = prepare_target(req.to)?;
    let result = (|| -> Result<Vec<RestoredArchive>> {
        let mut done = Vec::new();
        let mut dir_times = Vec::new();
        for a in &chosen {
            done.push(restore_archive(req, a, &mut dir_times)?);
        }
        set_dir_times(&dir_times)?;
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
            remove_written(req.to, created);
            Err(crate::interrupt::or_interrupted(e))
        }
    }
}

/// Gives directories their recorded mtimes, deepest last-written first.
/// Called after everything is written: writing into a directory changes its
/// mtime.
pub(crate) fn set_dir_times(dir_times: &[(PathBuf, Mtime)]) -> Result<()> {
    for (dir, mtime) in dir_times.iter().rev() {
        let t = filetime::FileTime::from_system_time(mtime.to_system_time());
        filetime::set_file_mtime(dir, t).map_err(|e| Error::io(Action::Write, dir, e))?;
    }
    Ok(())
}

/// Creates the target or checks it is an empty directory. Returns whether
/// kura created it.
pub(crate) fn prepare_target(to: &Path) -> Result<bool> {
    match fs::symlink_metadata(to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(to).map_err(|e| Error::io(Action::Create, to, e))?;
            Ok(true)
        }
        Err(e) => Err(Error::io(Action::Read, to, e)),
        Ok(m) if !m.is_dir() => Err(Error::TargetNotEmpty {
            path: to.to_path_buf(),
        }),
        Ok(_) => {
            let mut entries = fs::read_dir(to).map_err(|e| Error::io(Action::List, to, e))?;
            if entries.next().is_some() {
                return Err(Error::TargetNotEmpty {
                    path: to.to_path_buf(),
                });
            }
            Ok(false)
        }
    }
}

/// Removes what a failed restore wrote: the target was empty (or absent).
pub(crate) fn remove_written(to: &Path, created: bool) {
    if created {
        let _ = fs::remove_dir_all(to);
        return;
    }
    if let Ok(entries) = fs::read_dir(to) {
        for e in entries.flatten() {
            let p = e.path();
            let _ = if p.is_dir() && !p.is_symlink() {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
        }
    }
}

fn restore_archive(
    req: &RestoreRequest,
    a: &snapshot::ArchiveMeta,
    dir_times: &mut Vec<(PathBuf, Mtime)>,
) -> Result<RestoredArchive> {
    let path = req.snapshot_dir.join(&a.file);
    let root = req.to.join(&a.name);
    fs::create_dir(&root).map_err(|e| Error::io(Action::Create, &root, e))?;
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
    let mut sink = RestoreSink::new(&root);
    req.progress.start(&a.name, a.plaintext_bytes);
    let read = archive::read_archive(plain, req.progress, &mut sink, true);
    req.progress.finish();
    let report = match read {
        Ok(r) => r,
        Err(e) => {
            return Err(sink.failure.take().unwrap_or(Error::Integrity {
                path,
                detail: format!("damaged (decryption, decompression or tar): {e}"),
            }))
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
    dir_times.append(&mut sink.dir_times);
    Ok(RestoredArchive {
        name: a.name.clone(),
        dir: root,
        files: report.files,
        bytes: report.bytes,
    })
}

/// Writes safe entries under `root`, never through a link. Also used by
/// `kura handover receive`.
pub(crate) struct RestoreSink {
    root: PathBuf,
    checked_dirs: HashSet<PathBuf>,
    /// Every directory written and the mtime it is to get, in archive order.
    pub(crate) dir_times: Vec<(PathBuf, Mtime)>,
    /// The first write failure, which explains the error the reader saw.
    pub(crate) failure: Option<Error>,
}

impl RestoreSink {
    /// A sink writing under `root`, an existing directory.
    pub(crate) fn new(root: &Path) -> RestoreSink {
        RestoreSink {
            root: root.to_path_buf(),
            checked_dirs: HashSet::from([root.to_path_buf()]),
            dir_times: Vec::new(),
            failure: None,
        }
    }

    /// The path of a (validated) archive name under the root.
    fn target(&self, name: &[u8]) -> io::Result<PathBuf> {
        let text = std::str::from_utf8(name)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "entry name is not UTF-8"));
        let mut path = self.root.clone();
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let _ = &text;
            for part in name.split(|b| *b == b'/').filter(|p| !p.is_empty()) {
                path.push(std::ffi::OsStr::from_bytes(part));
            }
        }
        #[cfg(not(unix))]
        for part in text?.split('/').filter(|p| !p.is_empty()) {
            path.push(part);
        }
        Ok(path)
    }

    /// Makes sure `dir` and every directory between it and the root are real
    /// directories (created if absent), never links.
    fn ensure_dir(&mut self, dir: &Path) -> io::Result<()> {
        if self.checked_dirs.contains(dir) {
            return Ok(());
        }
        if let Some(parent) = dir.parent() {
            if dir != self.root {
                self.ensure_dir(parent)?;
            }
        }
        match fs::symlink_metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} is not a directory", dir.display()),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir(dir)?,
            Err(e) => return Err(e),
        }
        self.checked_dirs.insert(dir.to_path_buf());
        Ok(())
    }

    fn fail(&mut self, e: Error) -> io::Error {
        let text = e.to_string();
        self.failure.get_or_insert(e);
        io::Error::other(text)
    }
}

impl EntrySink for RestoreSink {
    fn directory(&mut self, name: &[u8], _mode: u32, mtime: Mtime) -> io::Result<()> {
        let dir = self.target(name)?;
        if let Err(e) = self.ensure_dir(&dir) {
            return Err(self.fail(Error::io(Action::Create, &dir, e)));
        }
        self.dir_times.push((dir, mtime));
        Ok(())
    }

    fn file(
        &mut self,
        name: &[u8],
        mode: u32,
        mtime: Mtime,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        let path = self.target(name)?;
        if let Some(parent) = path.parent() {
            if let Err(e) = self.ensure_dir(parent) {
                return Err(self.fail(Error::io(Action::Create, parent, e)));
            }
        }
        let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(self.fail(Error::Integrity {
                    path: path.clone(),
                    detail: "the archive holds this path twice".into(),
                }))
            }
            Err(e) => return Err(self.fail(Error::io(Action::Create, &path, e))),
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
                return Err(self.fail(Error::io(Action::Write, &path, e)));
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = file.set_permissions(fs::Permissions::from_mode(mode | 0o600));
        }
        #[cfg(not(unix))]
        let _ = mode;
        if let Err(e) = file.set_modified(mtime.to_system_time()) {
            return Err(self.fail(Error::io(Action::Write, &path, e)));
        }
        Ok(())
    }
}
