//! Interruptions: Ctrl-C, SIGTERM, a closed Windows console.
//!
//! The command line installs a handler that only calls [`request`]; nothing
//! stops at the signal itself. Long work polls [`check`] (or [`check_io`]
//! inside `Read` and `Write` implementations) in its streaming loops, at least
//! once per 1 MiB buffer, and unwinds with [`Error::Interrupted`] through its
//! ordinary error paths: a backup's staging directories are removed, a
//! restore removes what it wrote into `--to`, and the command's closing audit
//! event says `interrupted` (exit 3).
//!
//! Invariant: code that cleans up or records (removing staging directories,
//! appending the closing event) never polls, so a second signal cannot cut
//! the cleanup short.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks the work under way to stop at its next check. Safe to call from a
/// signal-handling thread.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether an interruption was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// `Err(Error::Interrupted)` once an interruption was requested.
pub fn check() -> Result<()> {
    if requested() {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

/// The marker carried inside an `io::Error` by [`check_io`].
#[derive(Debug)]
struct Marker;

impl std::fmt::Display for Marker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Marker {}

/// [`check`] for `Read` and `Write` implementations: an `io::Error` that
/// [`Error::io`] turns back into [`Error::Interrupted`]. Its kind is `Other`,
/// never `ErrorKind::Interrupted`, which readers retry.
pub fn check_io() -> io::Result<()> {
    if requested() {
        Err(io_error())
    } else {
        Ok(())
    }
}

fn io_error() -> io::Error {
    io::Error::other(Marker)
}

/// Whether an `io::Error` is (or wraps) an interruption made by [`check_io`].
pub fn is_interruption(e: &io::Error) -> bool {
    let mut inner: Option<&(dyn std::error::Error + 'static)> =
        e.get_ref().map(|i| i as &(dyn std::error::Error + 'static));
    while let Some(err) = inner {
        if err.is::<Marker>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if let Some(i) = io.get_ref() {
                inner = Some(i as &(dyn std::error::Error + 'static));
                continue;
            }
        }
        inner = err.source();
    }
    false
}

/// `e`, unless an interruption was requested: then [`Error::Interrupted`].
/// For the error paths that turn an I/O failure into a finding or a message
/// and would otherwise report an interrupted read as damage.
pub fn or_interrupted(e: Error) -> Error {
    if requested() {
        Error::Interrupted
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The flag is process-wide and the unit tests run in parallel, so no test
    // here sets it; the integration tests send real signals.

    #[test]
    fn the_io_marker_is_recognised_through_wrapping_and_becomes_error_interrupted() {
        let e = io_error();
        assert!(is_interruption(&e));
        assert_ne!(e.kind(), io::ErrorKind::Interrupted, "readers would retry");
        let wrapped = io::Error::other(e);
        assert!(is_interruption(&wrapped));
        assert!(!is_interruption(&io::Error::other("disk full")));
        let err = Error::io(crate::error::Action::Read, "x", wrapped);
        assert!(matches!(err, Error::Interrupted), "{err:?}");
        assert_eq!(err.exit_code().code(), 3);
        assert_eq!(err.message(crate::Lang::Ja), "中断しました");
        assert_eq!(err.message(crate::Lang::En), "interrupted");
    }
}
