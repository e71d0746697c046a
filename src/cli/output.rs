//! Printing that never panics. `println!` panics when stdout is a closed pipe
//! (`kura check | head -2`; on Windows "Pipe not connected", os error 233),
//! a full disk or a file over its size limit (a scheduled job's log). kura's
//! output is a report of work already done and recorded, so a failed print
//! must neither abort that work half-way nor pass unnoticed: the first failure
//! is remembered, later prints are skipped, and [`exit_code`] turns it into
//! exit 3 once the command has finished (quietly for a closed pipe, whose
//! reader chose to stop; with a message on stderr otherwise).

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;

/// The first failed write to stdout, as (closed pipe?, message).
static STDOUT_FAILED: Mutex<Option<(bool, String)>> = Mutex::new(None);

/// Writes formatted text to stdout; see the module documentation.
pub fn stdout(args: fmt::Arguments<'_>) {
    let mut failed = STDOUT_FAILED.lock().unwrap_or_else(|e| e.into_inner());
    if failed.is_some() {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        *failed = Some((is_closed_pipe(&e), e.to_string()));
    }
}

/// Writes formatted text to stderr. A failure there has nowhere left to be
/// said; it is ignored and the exit code says what happened.
pub fn stderr(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.flush());
}

/// The exit code a failed print forces on a command that otherwise ended
/// with `code`: an operational failure (3) instead of success, after saying
/// why on stderr unless the reader just closed the pipe.
pub fn exit_code(code: kura::ExitCode, lang: kura::Lang) -> kura::ExitCode {
    let failed = STDOUT_FAILED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    match failed {
        Some((closed_pipe, message)) if code == kura::ExitCode::Ok => {
            if !closed_pipe {
                stderr(format_args!(
                    "kura: {}: {message}\n",
                    lang.pick(
                        "標準出力に書き込めませんでした (出力先の空き容量・書込み権限を確認してください)",
                        "could not write to standard output (check the free space and permissions where it goes)"
                    )
                ));
            }
            kura::ExitCode::Operational
        }
        _ => code,
    }
}

/// Whether a write failed because the reading end of a pipe went away.
fn is_closed_pipe(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return true;
    }
    // ERROR_BROKEN_PIPE, ERROR_NO_DATA ("The pipe is being closed") and
    // ERROR_PIPE_NOT_CONNECTED, which std does not all map to BrokenPipe.
    cfg!(windows) && matches!(e.raw_os_error(), Some(109 | 232 | 233))
}

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::output::stdout(format_args!($($arg)*)) };
}

/// `println!` that never panics.
macro_rules! outln {
    () => { $crate::cli::output::stdout(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::output::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    () => { $crate::cli::output::stderr(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::output::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}
