//! The `kura` command: parse, call the library, print. See `src/cli/`.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    quiet_on_closed_pipe();
    cli::main()
}

/// `kura check | head -2` closes stdout early. Rust then fails the next print
/// with a panic; a closed pipe is not a bug, so end quietly with the exit code
/// of an I/O failure (3) instead of a backtrace and 101.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("failed printing to stdout") && text.contains("Broken pipe") {
            std::process::exit(3);
        }
        default(info);
    }));
}
