//! `kura report monthly`: the month for 別添3 and 別添7, in Japanese by default.

use std::path::PathBuf;

use clap::Subcommand;
use kura::audit::AuditLog;
use kura::{check, keys, media, report, Error, ExitCode};

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The monthly forms: 別添3 (inspection sheet), 別添4 (完了届, completion notice),
    /// 別添7 (personal-information report), then the evidence annex
    Monthly {
        /// The month [default: this month]
        #[arg(long, value_name = "YYYY-MM")]
        month: Option<String>,
        /// html (printable A4), md or json
        #[arg(long, default_value = "html", value_parser = ["html", "md", "json"])]
        format: String,
        /// Output file [default: stdout]; signed beside it when [signing] is set
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

pub fn run(ctx: &Ctx, command: Command) -> Result<ExitCode, Error> {
    let Command::Monthly { month, format, out } = command;
    let policy = ctx.load_policy()?;
    let lang = ctx.document_lang;
    let first = match &month {
        Some(m) => report::parse_month(m)?,
        None => {
            let today = ctx.clock.local().date_naive();
            report::parse_month(&today.format("%Y-%m").to_string())?
        }
    };
    let log = if policy.audit_database.is_file() {
        Some(AuditLog::open_existing(&policy.audit_database, ctx.clock)?)
    } else {
        None
    };
    let check = check::run(&policy, &ctx.clock, lang)?;
    let r = report::build(&policy, log.as_ref(), check, first, &ctx.clock)?;
    let text = match format.as_str() {
        "json" => serde_json::to_string_pretty(&r).unwrap_or_default() + "\n",
        "md" => report::render_markdown(&r, lang),
        _ => report::render_html(&r, lang),
    };
    match &out {
        None => out!("{text}"),
        Some(path) => {
            media::write_document(path, text.as_bytes())?;
            let signature = match &policy.signing {
                Some(s) => {
                    let key = keys::load_signing_key(&s.secret_key, &s.public_key)?;
                    let sig = kura::audit::signature_path(path);
                    key.sign_file(path, &sig, &format!("kura-monthly-report {}", r.month))?;
                    Some(sig)
                }
                None => None,
            };
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "id": r.month, "file": path, "signature": signature, "checkpoint": r.checkpoint,
                }));
            } else {
                outln!("{}", path.display());
            }
        }
    }
    Ok(ExitCode::Ok)
}
