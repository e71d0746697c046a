//! The `kura` command: parse, call the library, print. See `src/cli/`.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    quiet_on_closed_pipe();
    cli::main()
}

/// kura's own output goes through `cli::output`, which never panics. This is
/// the net under anything else that prints with `print!` (a library): a
/// failed print to stdout or stderr ends with the exit code of an I/O failure
/// (3), not a backtrace and 101.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to std") {
            std::process::exit(3);
        }
        default(info);
    }));
}
