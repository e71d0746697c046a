//! `kura completions SHELL` and `kura man`: generated from the command line itself.

use clap::CommandFactory;
use kura::{Error, ExitCode};

use super::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode, Error> {
    let mut cmd = Cli::command();
    // Generated into memory first: clap_complete panics on a write error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "kura", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    Ok(ExitCode::Ok)
}

pub fn man() -> Result<ExitCode, Error> {
    let cmd = Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(|e| Error::io(kura::error::Action::Write, "stdout", e))?;
    out!("{}", String::from_utf8_lossy(&page));
    Ok(ExitCode::Ok)
}
