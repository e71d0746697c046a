//! Opening and reading files that come from a disk kura does not trust.
//!
//! A snapshot disk or a handover package may hold a symbolic link where a
//! file should be, a FIFO that never answers, or a device that never ends.
//! Everything kura reads from one goes through [`open_regular`]: opened
//! without following a link and without blocking (Unix: `O_NOFOLLOW |
//! O_NONBLOCK`), then checked on the open handle to be a regular file.
//! Metadata files are read with [`read_metadata_file`], which also caps
//! their size: over the cap is a finding naming the file.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use crate::error::{Action, Error, Result};

/// The most bytes of a `snapshot.json`, a signature, a volume marker or a
/// handover manifest.
pub const METADATA_CAP: u64 = 1 << 20;
/// The most bytes of a `SHA256SUMS`.
pub const SUMS_CAP: u64 = 16 << 20;

/// Opens `path` for reading: never through a link, never blocking on a
/// FIFO or device, and only if it is a regular file. A link or anything but
/// a regular file is an `InvalidData` error saying so.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(
            (rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32,
        );
    }
    #[cfg(not(unix))]
    {
        // No O_NOFOLLOW: refuse a link seen before opening.
        if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
            return Err(not_regular());
        }
    }
    let file = match options.open(path) {
        Ok(f) => f,
        #[cfg(unix)]
        Err(e)
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
                || e.raw_os_error() == Some(rustix::io::Errno::MLINK.raw_os_error()) =>
        {
            return Err(not_regular())
        }
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

fn not_regular() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "not a regular file (a link, FIFO, device or directory) / 通常のファイルではありません（リンク、FIFO、デバイスまたはフォルダー）",
    )
}

/// Reads a whole file opened with [`open_regular`], at most `cap` bytes;
/// more is an `InvalidData` error.
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {cap} bytes / {cap} バイトを超えています"),
        ));
    }
    Ok(bytes)
}

/// Reads a metadata file from a disk with [`read_capped`]. A link, a
/// non-regular file or one over `cap` is an integrity finding naming the
/// file; an unreadable one is an I/O error.
pub fn read_metadata_file(path: &Path, cap: u64) -> Result<Vec<u8>> {
    read_capped(path, cap).map_err(|e| finding_or_io(path, e))
}

/// Whether a failed read of a file a snapshot lists says something about
/// the snapshot — the file missing, or a link, device or oversized file
/// where it belongs — rather than about the disk's reading (an I/O error),
/// which is an operational failure, not a finding.
pub fn is_finding(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::InvalidData
    )
}

/// Maps an error of [`open_regular`] or [`read_capped`]: the file's own
/// shape (`InvalidData`) is an integrity finding, anything else an I/O error.
pub fn finding_or_io(path: &Path, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::InvalidData {
        Error::Integrity {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    } else {
        Error::io(Action::Read, path, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_within_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read_capped(&p, 5).unwrap(), b"12345");
        let err = read_metadata_file(&p, 4).unwrap_err();
        assert_eq!(err.exit_code().code(), 1, "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn links_and_devices_are_findings() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert_eq!(
            read_metadata_file(&link, 10)
                .unwrap_err()
                .exit_code()
                .code(),
            1
        );
        assert_eq!(
            read_metadata_file(Path::new("/dev/zero"), 10)
                .unwrap_err()
                .exit_code()
                .code(),
            1
        );
        assert_eq!(
            read_metadata_file(dir.path(), 10)
                .unwrap_err()
                .exit_code()
                .code(),
            1
        );
    }
}
