//! The `kura` command: parse, call the library, print. See `src/cli/`.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
