//! `kura completions SHELL` and `kura man`: generated from the command line itself.

use clap::CommandFactory;
use kura::{Error, ExitCode};

use super::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode, Error> {
    use std::io::Write;
    let mut cmd = Cli::command();
    // Generated into memory first: clap_complete panics on a write error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kura", &mut script);
    std::io::stdout()
        .write_all(&script)
        .map_err(|e| Error::io(kura::error::Action::Write, "stdout", e))?;
    Ok(ExitCode::Ok)
}

pub fn man() -> Result<ExitCode, Error> {
    let cmd = Cli::command();
    clap_mangen::Man::new(cmd)
        .render(&mut std::io::stdout())
        .map_err(|e| Error::io(kura::error::Action::Write, "stdout", e))?;
    Ok(ExitCode::Ok)
}
