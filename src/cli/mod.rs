//! The command line. Each subcommand is one file that parses its arguments,
//! calls the library, and renders text or JSON. This module holds the global
//! options, the shared context, and the one place where an error becomes a
//! message on stderr and an exit code.

#[macro_use]
mod output;

mod audit;
mod backup;
mod check;
mod completions;
mod demo;
mod erase;
mod handover;
mod help_ja;
mod keys;
mod policy;
mod progress;
mod prune;
mod report;
mod restore;
mod schedule;
mod snapshots;
mod verify;
mod volume;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use kura::audit::{Actor, AuditLog, Outcome};
use kura::clock::Clock;
use kura::policy::Policy;
use kura::{Error, ExitCode, Lang};

const EXIT_CODES: &str = "\
Start here / はじめに:
  kura demo                                  a sandbox with the whole monthly job (./kura-demo)
  kura policy check                          is kura.toml valid? prints what kura understood

Every month / 毎月:
  kura backup --operator \"山田 太郎\"      snapshot onto the registered USB disk(s)
  kura check                                 the data-backup rows of the inspection sheet
  kura report monthly --out report.html      the monthly forms (別添3, 別添4, 別添7) to print and sign
  kura verify -i KEY --operator \"山田 太郎\" restore drill: decrypt and check every file

Exit codes / 終了コード:
  0  success; everything checked is intact / 正常
  1  integrity problem or inspection finding / 完全性の問題・点検での指摘
  2  usage or policy error / 使い方・ポリシーの誤り
  3  operational failure (I/O, destination missing, out of space, lock held, key) / 運用上の失敗
     or interrupted (Ctrl-C, SIGTERM): what was half-written is removed / 中断 (書きかけは削除)
  4  refused by rule (unregistered volume, operator not authorised, …) / 規則による拒否

Environment: KURA_POLICY, KURA_OPERATOR, KURA_LANG, KURA_PASSPHRASE,
  KURA_NOW (RFC 3339; only where the policy has [rehearsal] allow_clock_override = true)
  / KURA_NOW はポリシーで [rehearsal] allow_clock_override = true の場合のみ (リハーサル用)";

/// kura (蔵): encrypted, checksummed, audited monthly snapshots of a system's
/// master data and logs, restorable with stock age, zstd and tar.
#[derive(Debug, Parser)]
#[command(name = "kura", bin_name = "kura", version, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    /// Policy file [default: kura.toml in the current directory]
    #[arg(long, global = true, env = "KURA_POLICY", value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The person doing the work (must be listed in [access].operators)
    #[arg(long, global = true, env = "KURA_OPERATOR", value_name = "NAME")]
    operator: Option<String>,
    /// Print one JSON object on stdout instead of human text
    #[arg(long, global = true)]
    json: bool,
    /// Language of human output [default: the system's: LANG on Unix, the UI language on Windows]
    #[arg(long, global = true, env = "KURA_LANG", value_parser = ["ja", "en"])]
    lang: Option<String>,
    /// No progress output
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a sandbox and run the whole monthly job in it
    Demo(demo::Args),
    /// Check and print the policy
    #[command(subcommand)]
    Policy(policy::Command),
    /// Create and inspect keys
    #[command(subcommand)]
    Keys(keys::Command),
    /// Register backup media
    #[command(subcommand)]
    Volume(volume::Command),
    /// Take a snapshot of every source onto the destinations
    Backup(backup::Args),
    /// List snapshots on the destinations
    Snapshots(snapshots::Args),
    /// Verify snapshots (without a key, or fully with -i)
    Verify(verify::Args),
    /// Restore archives of a snapshot into an empty directory
    Restore(restore::Args),
    /// Handover packages for the next contractor: create, verify, receive (第11条, 第12条)
    #[command(subcommand)]
    Handover(handover::Command),
    /// Turn the retention rules into one erasure request (deletes nothing)
    Prune(prune::Args),
    /// The erasure workflow: request, approve, execute, certificate (第13条)
    #[command(subcommand)]
    Erase(erase::Command),
    /// The data-backup rows of the monthly inspection sheet (正常/指摘)
    Check,
    /// Reports for the city (別添3, 別添4, 別添7)
    #[command(subcommand)]
    Report(report::Command),
    /// Print the monthly job for systemd or the Windows Task Scheduler
    #[command(subcommand)]
    Schedule(schedule::Command),
    /// Print shell completions
    Completions {
        /// bash, zsh, fish, powershell or elvish
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff)
    Man,
    /// The tamper-evident audit log
    #[command(subcommand)]
    Audit(audit::Command),
}

/// An audited command under way.
pub struct Session {
    log: AuditLog,
    actor: Actor,
    operator: String,
    /// Set when the work appended its own closing event (an erasure step,
    /// whose record is that event, written with its tables).
    closed: bool,
}

/// What every command gets: global options resolved once.
pub struct Ctx {
    lang: Lang,
    json: bool,
    quiet: bool,
    policy: Option<PathBuf>,
    operator: Option<String>,
    clock: Clock,
    /// Language of printed documents (receipts): `--lang`/`KURA_LANG` when
    /// given, else Japanese, the customer's language, whatever `LANG` says.
    document_lang: Lang,
}

impl Ctx {
    /// Loads and validates the policy, and refuses a clock replaced by
    /// `KURA_NOW` unless the policy is a rehearsal's: every command that
    /// reads the policy goes through here, so none runs on a false clock.
    fn load_policy(&self) -> Result<Policy, Error> {
        let file = self
            .policy
            .clone()
            .unwrap_or_else(|| PathBuf::from("kura.toml"));
        let policy = Policy::load(&file, self.lang)?;
        policy.allow_clock(&self.clock)?;
        Ok(policy)
    }

    /// The operator, checked against the policy.
    fn operator(&self, policy: &Policy) -> Result<String, Error> {
        policy.authorise(self.operator.as_deref())
    }

    /// Runs `work` as an audited use of the data: the operator is checked
    /// (a refusal is recorded too), a `started` event is appended, and the
    /// outcome `describe` gives — or the error — is appended at the end.
    fn audited<T>(
        &self,
        policy: &Policy,
        action: &str,
        target: &str,
        work: impl FnOnce(&mut Session) -> Result<T, Error>,
        describe: impl FnOnce(&T) -> (Outcome, serde_json::Value),
    ) -> Result<T, Error> {
        self.audited_as(policy, action, target, work, |value| {
            let (outcome, details) = describe(value);
            (outcome, None, details)
        })
    }

    /// Like [`Ctx::audited`], but the outcome may name a target that exists
    /// only once the work is done (e.g. the id of a new request).
    fn audited_as<T>(
        &self,
        policy: &Policy,
        action: &str,
        target: &str,
        work: impl FnOnce(&mut Session) -> Result<T, Error>,
        describe: impl FnOnce(&T) -> (Outcome, Option<String>, serde_json::Value),
    ) -> Result<T, Error> {
        let mut log = AuditLog::open(&policy.audit_database, self.clock)?;
        let claimed = self.operator.clone().unwrap_or_default();
        let operator = match self.operator(policy) {
            Ok(op) => op,
            Err(e) => {
                log.append(
                    &Actor::current(claimed.trim()),
                    action,
                    target,
                    Outcome::Refused,
                    &serde_json::json!({
                        "reason": e.message(Lang::En),
                        "exit_code": e.exit_code().code(),
                        "mistake": true,
                    }),
                )?;
                return Err(e);
            }
        };
        let actor = Actor::current(&operator);
        log.append(
            &actor,
            action,
            target,
            Outcome::Started,
            &serde_json::json!({}),
        )?;
        let mut session = Session {
            log,
            actor,
            operator,
            closed: false,
        };
        // Whatever stopped the work once an interruption was asked for, the
        // interruption is why.
        let result = work(&mut session).map_err(kura::interrupt::or_interrupted);
        if session.closed && result.is_ok() {
            return result;
        }
        let (outcome, final_target, details) = match &result {
            Ok(value) => describe(value),
            Err(Error::Interrupted) => (
                Outcome::Interrupted,
                None,
                serde_json::json!({
                    "error": "interrupted",
                    "exit_code": Error::Interrupted.exit_code().code(),
                }),
            ),
            Err(e) => (
                match e.exit_code() {
                    ExitCode::Refused => Outcome::Refused,
                    ExitCode::Integrity => Outcome::Finding,
                    _ => Outcome::Failed,
                },
                None,
                serde_json::json!({
                    "error": e.message(Lang::En),
                    "exit_code": e.exit_code().code(),
                    "mistake": e.is_mistake(),
                }),
            ),
        };
        let target = final_target.as_deref().unwrap_or(target);
        session
            .log
            .append(&session.actor, action, target, outcome, &details)?;
        result
    }

    /// Ends a command that has already printed its result: the error, if
    /// any, goes to stderr and decides the exit code.
    fn conclude(&self, failure: Option<Error>) -> Result<ExitCode, Error> {
        match failure {
            None => Ok(ExitCode::Ok),
            Some(e) => {
                print_error(&e, self.lang);
                Ok(e.exit_code())
            }
        }
    }

    fn t<'a>(&self, ja: &'a str, en: &'a str) -> &'a str {
        self.lang.pick(ja, en)
    }

    /// Prints a JSON value on stdout.
    fn print_json(&self, value: &serde_json::Value) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => outln!("{text}"),
            Err(e) => errln!("kura: {e}"),
        }
    }

    fn progress(&self) -> progress::Bar {
        progress::Bar::new(!self.quiet && std::io::stderr().is_terminal())
    }

    /// A passphrase from `KURA_PASSPHRASE`, or asked on the terminal.
    fn passphrase(&self, prompt: &str) -> Option<age::secrecy::SecretString> {
        if let Ok(p) = std::env::var("KURA_PASSPHRASE") {
            return Some(p.into());
        }
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return None;
        }
        rpassword::prompt_password(format!("{}: ", prompt_text(prompt, self.lang)))
            .ok()
            .map(Into::into)
    }
}

/// A passphrase prompt in the reader's language: the library asks for
/// `Passphrase for FILE` or `password of FILE`; the CLI's own prompts come
/// translated already.
fn prompt_text(prompt: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return prompt.to_string();
    }
    if let Some(file) = prompt.strip_prefix("Passphrase for ") {
        return format!("鍵ファイル {file} のパスフレーズ");
    }
    if let Some(file) = prompt.strip_prefix("password of ") {
        return format!("署名鍵 {file} のパスワード");
    }
    prompt.to_string()
}

/// Parses the command line, runs the command and returns its exit code.
pub fn main() -> std::process::ExitCode {
    let cli = match help_ja::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // Ctrl-C and SIGTERM/SIGHUP on Unix; Ctrl+C, Ctrl+Break and a closed
    // console on Windows. The handler only asks the work to stop; it stops
    // at its next check, cleans up and records `interrupted` (exit 3). If the
    // handler cannot be installed, kura runs as before without it.
    let _ = ctrlc::set_handler(kura::interrupt::request);
    let lang = cli
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(Lang::from_system);
    let json = cli.json;
    let document_lang = cli
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::Ja);
    let result =
        Clock::from_env_value(std::env::var("KURA_NOW").ok().as_deref()).and_then(|clock| {
            let ctx = Ctx {
                lang,
                json,
                quiet: cli.quiet,
                policy: cli.policy,
                operator: cli.operator,
                clock,
                document_lang,
            };
            run(&ctx, cli.command)
        });
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            report_error(&e, lang, json);
            e.exit_code()
        }
    };
    let code = output::exit_code(code, lang);
    std::process::ExitCode::from(code.code() as u8)
}

fn run(ctx: &Ctx, command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::Demo(a) => demo::run(ctx, a),
        Command::Policy(c) => policy::run(ctx, c),
        Command::Keys(c) => keys::run(ctx, c),
        Command::Volume(c) => volume::run(ctx, c),
        Command::Backup(a) => backup::run(ctx, a),
        Command::Snapshots(a) => snapshots::run(ctx, a),
        Command::Verify(a) => verify::run(ctx, a),
        Command::Audit(c) => audit::run(ctx, c),
        Command::Check => check::run(ctx),
        Command::Report(c) => report::run(ctx, c),
        Command::Schedule(c) => schedule::run(ctx, c),
        Command::Completions { shell } => completions::completions(shell),
        Command::Man => completions::man(),
        Command::Restore(a) => restore::run(ctx, a),
        Command::Handover(c) => handover::run(ctx, c),
        Command::Prune(a) => prune::run(ctx, a),
        Command::Erase(c) => erase::run(ctx, c),
    }
}

/// The one place an error reaches the user.
fn report_error(e: &Error, lang: Lang, json: bool) {
    print_error(e, lang);
    if json {
        let value = serde_json::json!({
            "ok": false,
            "error": { "exit_code": e.exit_code().code(), "message": e.message(lang) },
        });
        if let Ok(text) = serde_json::to_string_pretty(&value) {
            outln!("{text}");
        }
    }
}

fn print_error(e: &Error, lang: Lang) {
    let label = lang.pick("エラー", "error");
    errln!("kura: {label}: {}", e.message(lang));
    if let Some(hint) = e.hint(lang) {
        errln!("  {}: {hint}", lang.pick("対処", "hint"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_prompts_are_japanese_under_japanese() {
        let ja = prompt_text("Passphrase for F:\\kura-identity.age", Lang::Ja);
        assert_eq!(ja, "鍵ファイル F:\\kura-identity.age のパスフレーズ");
        assert_eq!(
            prompt_text("password of keys/approver.key", Lang::Ja),
            "署名鍵 keys/approver.key のパスワード"
        );
        assert_eq!(
            prompt_text("Passphrase for x.age", Lang::En),
            "Passphrase for x.age"
        );
    }
}
