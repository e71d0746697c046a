//! The command line in Japanese: `--help` and clap's usage errors. clap
//! writes English, so under Japanese the command tree is rebuilt with the
//! texts of [`table`] before parsing (descriptions, option help, value
//! placeholders, headings, the help template), and a usage error is written
//! by [`error`] from its kind and context instead of by clap.
//!
//! The language must be known before parsing: `--lang` (pre-scanned from
//! the raw arguments), then `KURA_LANG`, then the system's — the order
//! `main` uses after parsing. English goes through `Cli::parse()` unchanged.

mod error;
mod table;

use std::ffi::OsString;

use clap::builder::{Arg, Command, PossibleValue};
use clap::{CommandFactory, FromArgMatches, Parser};
use kura::Lang;

use super::Cli;

/// Parses the command line in the language it will be answered in. `Err` is
/// the exit code after help, a version or a usage error has been printed.
pub fn parse() -> Result<Cli, std::process::ExitCode> {
    let args: Vec<OsString> = std::env::args_os().collect();
    match language(&args) {
        Lang::En => Ok(Cli::parse_from(args)),
        Lang::Ja => parse_ja(args),
    }
}

/// The language of the answer, decided before clap has read anything.
pub fn language(args: &[OsString]) -> Lang {
    lang_argument(args)
        .or_else(|| {
            std::env::var("KURA_LANG")
                .ok()
                .as_deref()
                .and_then(Lang::parse)
        })
        .unwrap_or_else(Lang::from_system)
}

/// The last valid `--lang ja` / `--lang=ja` before a `--`.
fn lang_argument(args: &[OsString]) -> Option<Lang> {
    let mut found = None;
    let mut words = args.iter().skip(1).map(|a| a.to_str());
    while let Some(word) = words.next() {
        let value = match word {
            Some("--") => break,
            Some("--lang") => words.next().flatten(),
            Some(w) => w.strip_prefix("--lang="),
            None => None,
        };
        if let Some(lang) = value.and_then(Lang::parse) {
            found = Some(lang);
        }
    }
    found
}

fn parse_ja(args: Vec<OsString>) -> Result<Cli, std::process::ExitCode> {
    let cmd = translate(Cli::command());
    let result = cmd
        .clone()
        .try_get_matches_from(&args)
        .and_then(|mut matches| Cli::from_arg_matches_mut(&mut matches));
    result.map_err(|e| {
        let (text, to_stdout) = error::render(&e, &cmd, &args);
        if to_stdout {
            outln!("{text}");
        } else {
            errln!("{text}");
        }
        std::process::ExitCode::from(e.exit_code().clamp(0, 255) as u8)
    })
}

/// The usage line heading and the headings of the help's sections.
const TEMPLATE: &str = "\
{before-help}{about-with-newline}
使い方: {usage}

{all-args}{after-help}";
const COMMANDS: &str = "コマンド";
const OPTIONS: &str = "オプション";
const ARGUMENTS: &str = "引数";

/// The command tree with Japanese texts. It is built first, so that the
/// arguments clap adds (`--help`, `--version`, the `help` command, global
/// options copied into each subcommand) exist and are translated too.
pub fn translate(mut cmd: Command) -> Command {
    cmd.build();
    translate_command(cmd, &[])
}

fn translate_command(cmd: Command, path: &[String]) -> Command {
    let key = table_key(path);
    let mut cmd = cmd
        .help_template(TEMPLATE)
        .subcommand_help_heading(COMMANDS)
        .subcommand_value_name(COMMANDS)
        .long_about(None)
        .after_long_help(None)
        .before_help(None)
        .before_long_help(None);
    if let Some(about) = about(&key) {
        cmd = cmd.about(about);
    }
    if cmd.get_after_help().is_some() {
        cmd = cmd.after_help(after_help(&key).unwrap_or_default());
    }
    cmd = cmd.mut_args(|arg| translate_arg(arg, &key));
    cmd.mut_subcommands(|sub| {
        let mut path = path.to_vec();
        path.push(sub.get_name().to_string());
        translate_command(sub, &path)
    })
}

fn translate_arg(arg: Arg, key: &str) -> Arg {
    let mut help = arg_help(key, &arg).unwrap_or_default().to_string();
    // clap's own `[default: …]`, `[env: …]` and `[possible values: …]`
    // are English; they are hidden and said here instead.
    let takes_values = arg.get_action().takes_values();
    if takes_values && !arg.is_hide_default_value_set() && !arg.get_default_values().is_empty() {
        let values: Vec<_> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy())
            .collect();
        help.push_str(&format!(" [既定: {}]", values.join(" ")));
    }
    if let Some(env) = arg.get_env().filter(|_| !arg.is_hide_env_set()) {
        help.push_str(&format!(" [環境変数: {}]", env.to_string_lossy()));
    }
    let possible = possible_values(&arg);
    if takes_values && !arg.is_hide_possible_values_set() && !possible.is_empty() {
        help.push_str(&format!(" [指定できる値: {}]", possible.join(", ")));
    }
    let heading = if arg.is_positional() {
        ARGUMENTS
    } else {
        OPTIONS
    };
    let mut arg = arg
        .help(help)
        .long_help(None)
        .hide_default_value(true)
        .hide_env(true)
        .hide_possible_values(true)
        .help_heading(heading);
    if takes_values {
        if let Some(ja) = value_name(&arg) {
            arg = arg.value_name(ja);
        }
    }
    arg
}

/// The table's key for a command path. The `help` command holds a copy of
/// the tree (`help erase request`), described like the original.
fn table_key(path: &[String]) -> String {
    if path.last().is_some_and(|p| p == "help") {
        return "help".to_string();
    }
    let words: Vec<&str> = path
        .iter()
        .map(String::as_str)
        .filter(|p| *p != "help")
        .collect();
    words.join(" ")
}

fn about(key: &str) -> Option<&'static str> {
    table::HELP
        .iter()
        .find(|(path, arg, _)| *path == key && arg.is_none())
        .map(|(_, _, ja)| *ja)
}

fn after_help(key: &str) -> Option<&'static str> {
    table::AFTER_HELP
        .iter()
        .find(|(path, _)| *path == key)
        .map(|(_, ja)| *ja)
}

fn arg_help(key: &str, arg: &Arg) -> Option<&'static str> {
    let id = arg.get_id().as_str();
    let find = |key: &str| {
        table::HELP
            .iter()
            .find(|(path, a, _)| *path == key && *a == Some(id))
            .map(|(_, _, ja)| *ja)
    };
    let own = if arg.is_global_set() { "" } else { key };
    find(own).or_else(|| find(table::ANY))
}

/// The placeholder clap shows for an argument's value, in English.
fn english_value_name(arg: &Arg) -> String {
    match arg.get_value_names().and_then(|names| names.first()) {
        Some(name) => name.to_string(),
        None => arg.get_id().as_str().to_uppercase(),
    }
}

fn value_name(arg: &Arg) -> Option<&'static str> {
    let english = english_value_name(arg);
    table::VALUE_NAMES
        .iter()
        .find(|(en, _)| *en == english)
        .map(|(_, ja)| *ja)
}

fn possible_values(arg: &Arg) -> Vec<String> {
    arg.get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(PossibleValue::get_name)
        .map(str::to_string)
        .collect()
}

/// Replaces the English words clap writes into a usage line itself.
fn japanese_usage(text: &str) -> String {
    text.replace("[OPTIONS]", "[オプション]")
}

#[cfg(test)]
mod tests;
