//! `kura erase request|form|approve|reject|execute|certificate|list`: the only way
//! data leaves (第13条).

use std::path::PathBuf;

use clap::Subcommand;
use kura::audit::{AuditLog, Outcome};
use kura::documents::{certificate, erase_request};
use kura::erasure::{self, ItemSpec, Method, NewRequest, Request};
use kura::{i18n, keys, media, Error, ExitCode};

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Request an erasure (nothing is deleted until it is approved and executed)
    #[command(after_help = "\
Examples:
  kura erase request --snapshot 20240101T010000Z --method overwrite --planned 2024-07-01 \\
       --reason \"保存期間満了\" --operator \"山田 太郎\"
  kura erase request --identity E:\\keys\\kura-identity.age --identity F:\\safe\\kura-identity.age \\
       --method crypto-erase --planned 2024-10-01 --reason \"契約満了\" --operator \"山田 太郎\"
  kura erase request --medium \"USB HDD BUFFALO HD-PCG1.0U3 S/N 12345\" --method destroy \\
       --planned 2024-10-01 --reason \"故障\" --operator \"山田 太郎\"")]
    Request {
        /// A snapshot: every file of every copy on every destination (repeatable)
        #[arg(long = "snapshot", value_name = "ID")]
        snapshots: Vec<String>,
        /// A file (repeatable)
        #[arg(long = "file", value_name = "PATH")]
        files: Vec<PathBuf>,
        /// An identity file, for crypto-erase; list every copy (repeatable)
        #[arg(long = "identity", value_name = "FILE")]
        identities: Vec<PathBuf>,
        /// A physical medium, described (maker, model, serial), for destroy (repeatable)
        #[arg(long = "medium", value_name = "TEXT")]
        media: Vec<String>,
        /// overwrite, crypto-erase or destroy
        #[arg(long, value_parser = ["overwrite", "crypto-erase", "destroy"])]
        method: String,
        /// Planned date (YYYY-MM-DD); execution is refused before it
        #[arg(long, value_name = "YYYY-MM-DD")]
        planned: chrono::NaiveDate,
        /// Why
        #[arg(long)]
        reason: String,
    },
    /// Print the written request of 第13条2 (消去依頼書) for the city's approval
    Form {
        /// The request id (ER-YYYY-NNNN)
        request: String,
        /// html, md or json
        #[arg(long, default_value = "html", value_parser = ["html", "md", "json"])]
        format: String,
        /// Output file [default: requests/<id>.<format> beside the audit database]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Record the written approval of a request
    Approve {
        /// The request id (ER-YYYY-NNNN)
        request: String,
        /// Who approved it (the city's 業務主任)
        #[arg(long)]
        approver: String,
        /// The approver's minisign secret key (needed where [erasure].approvers lists keys)
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// Record the rejection of a request
    Reject {
        /// The request id
        request: String,
        /// Who rejected it
        #[arg(long)]
        approver: String,
        /// Why
        #[arg(long)]
        reason: String,
    },
    /// Execute an approved request (resumes a partial one)
    Execute {
        /// The request id
        request: String,
        /// The witness present (required for destroy)
        #[arg(long)]
        witness: Option<String>,
    },
    /// Issue the certificate of erasure (消去証明書) of an executed request
    Certificate {
        /// The request id
        request: String,
        /// html, md or json
        #[arg(long, default_value = "html", value_parser = ["html", "md", "json"])]
        format: String,
        /// Output file [default: certificates/<id>.<format> beside the audit database]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List erasure requests
    List,
}

pub fn run(ctx: &Ctx, command: Command) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    match command {
        Command::Request {
            snapshots,
            files,
            identities,
            media,
            method,
            planned,
            reason,
        } => {
            let mut items: Vec<ItemSpec> = snapshots.into_iter().map(ItemSpec::Snapshot).collect();
            items.extend(files.into_iter().map(ItemSpec::File));
            items.extend(identities.into_iter().map(ItemSpec::Identity));
            items.extend(media.into_iter().map(ItemSpec::Medium));
            let new = NewRequest {
                items,
                method: Method::parse(&method).unwrap_or(Method::Overwrite),
                planned,
                reason,
            };
            let req = request(ctx, &policy, "new", &new, &|p| ctx.passphrase(p))?;
            print_request(ctx, &req);
            Ok(ExitCode::Ok)
        }
        Command::Approve {
            request,
            approver,
            key,
        } => {
            let passphrase = |p: &str| ctx.passphrase(p);
            let req = ctx.audited(
                &policy,
                "erase.approve",
                &request,
                |s| {
                    let key = key.as_deref().map(|k| erasure::ApprovalKey {
                        secret_key: k,
                        passphrase: &passphrase,
                    });
                    let r =
                        erasure::approve(&mut s.log, &s.actor, &policy, &request, &approver, key)?;
                    s.closed = true;
                    Ok(r)
                },
                |_| (Outcome::Ok, serde_json::json!({})),
            )?;
            print_request(ctx, &req);
            Ok(ExitCode::Ok)
        }
        Command::Reject {
            request,
            approver,
            reason,
        } => {
            let req = ctx.audited(
                &policy,
                "erase.reject",
                &request,
                |s| {
                    let r = erasure::reject(&mut s.log, &s.actor, &request, &approver, &reason)?;
                    s.closed = true;
                    Ok(r)
                },
                |_| (Outcome::Ok, serde_json::json!({})),
            )?;
            print_request(ctx, &req);
            Ok(ExitCode::Ok)
        }
        Command::Execute { request, witness } => {
            let run = ctx.audited(
                &policy,
                "erase.execute",
                &request,
                |s| {
                    let run = erasure::execute(
                        &mut s.log,
                        &s.actor,
                        &policy,
                        &ctx.clock,
                        &request,
                        witness.as_deref(),
                    )?;
                    s.closed = true;
                    Ok(run)
                },
                |_| (Outcome::Ok, serde_json::json!({})),
            )?;
            print_request(ctx, &run.request);
            ctx.conclude(run.error())
        }
        Command::Certificate {
            request,
            format,
            out,
        } => {
            let log = AuditLog::open_existing(&policy.audit_database, ctx.clock)?;
            let cert = certificate::build(&log, &policy, &ctx.clock, &request)?;
            let text = match format.as_str() {
                "json" => serde_json::to_string_pretty(&cert).unwrap_or_default() + "\n",
                "md" => certificate::render_markdown(&cert, &policy, ctx.document_lang),
                _ => certificate::render_html(&cert, &policy, ctx.document_lang),
            };
            let comment = format!("kura-erasure-certificate {request}");
            let (path, signature) = write_paper(
                &policy,
                "certificates",
                &request,
                &format,
                out,
                &text,
                &comment,
            )?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "id": request, "file": path, "signature": signature, "complete": cert.complete,
                }));
            } else {
                outln!("{}", path.display());
            }
            Ok(ExitCode::Ok)
        }
        Command::Form {
            request,
            format,
            out,
        } => {
            let log = AuditLog::open_existing(&policy.audit_database, ctx.clock)?;
            let form = erase_request::build(&log, &policy, &request)?;
            let text = match format.as_str() {
                "json" => serde_json::to_string_pretty(&form).unwrap_or_default() + "\n",
                "md" => erase_request::render_markdown(&form, &policy, ctx.document_lang),
                _ => erase_request::render_html(&form, &policy, ctx.document_lang),
            };
            let comment = format!("kura-erasure-request {request} {}", form.request_sha256);
            let (path, signature) =
                write_paper(&policy, "requests", &request, &format, out, &text, &comment)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "id": request, "file": path, "signature": signature,
                    "request_sha256": form.request_sha256,
                }));
            } else {
                outln!("{}", path.display());
            }
            Ok(ExitCode::Ok)
        }
        Command::List => {
            let log = AuditLog::open_existing(&policy.audit_database, ctx.clock)?;
            let (all, problems) = erasure::list(&log)?;
            let all: Vec<&Request> = all.iter().map(|e| &e.request).collect();
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "requests": all, "problems": problems }));
            } else if all.is_empty() {
                outln!("{}", ctx.t("消去依頼はありません", "no erasure requests"));
            } else {
                for r in &all {
                    let lang = ctx.lang;
                    outln!(
                        "{}  {}  {}  {} {}  {} {}  {}",
                        r.id,
                        i18n::request_status_label(&r.status, lang),
                        i18n::method_label(&r.method, lang),
                        r.items.len(),
                        ctx.t("件", "items"),
                        ctx.t("予定", "planned"),
                        r.planned,
                        r.reason
                    );
                }
            }
            ctx.conclude(problems.first().map(|_| {
                Error::finding(
                    format!(
                        "消去記録の表が監査ログと一致しません ({} 件): {}",
                        problems.len(),
                        problems.join("; ")
                    ),
                    format!(
                        "the erasure tables disagree with the audit chain ({}): {}",
                        problems.len(),
                        problems.join("; ")
                    ),
                )
            }))
        }
    }
}

/// Creates a request as an audited command (also used by `kura prune`).
pub fn request(
    ctx: &Ctx,
    policy: &kura::policy::Policy,
    target: &str,
    new: &NewRequest,
    passphrase: kura::keys::PassphraseSource,
) -> Result<Request, Error> {
    ctx.audited(
        policy,
        "erase.request",
        target,
        |s| {
            let r = erasure::request(&mut s.log, &s.actor, policy, &ctx.clock, new, passphrase)?;
            s.closed = true;
            Ok(r)
        },
        |_| (Outcome::Ok, serde_json::json!({})),
    )
}

/// Writes an erasure paper (to `out`, or `<dir>/<id>.<format>` beside the
/// audit database) and signs it when `[signing]` is set: the file and its
/// signature.
fn write_paper(
    policy: &kura::policy::Policy,
    dir: &str,
    id: &str,
    format: &str,
    out: Option<PathBuf>,
    text: &str,
    comment: &str,
) -> Result<(PathBuf, Option<PathBuf>), Error> {
    let path = out.unwrap_or_else(|| {
        kura::audit::checkpoint_dir(&policy.audit_database)
            .with_file_name(dir)
            .join(format!("{id}.{format}"))
    });
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(kura::error::Action::Create, dir, e))?;
    }
    media::write_document(&path, text.as_bytes())?;
    let signature = match &policy.signing {
        Some(s) => {
            let key = keys::load_signing_key(&s.secret_key, &s.public_key)?;
            let sig = kura::audit::signature_path(&path);
            key.sign_file(&path, &sig, comment)?;
            Some(sig)
        }
        None => None,
    };
    Ok((path, signature))
}

fn print_request(ctx: &Ctx, r: &Request) {
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "id": r.id, "request": r }));
        return;
    }
    let lang = ctx.lang;
    outln!(
        "{} {}  {}: {}  {}: {}  {}: {}",
        ctx.t("消去依頼", "erasure request"),
        r.id,
        ctx.t("状態", "status"),
        i18n::request_status_label(&r.status, lang),
        ctx.t("方法", "method"),
        i18n::method_label(&r.method, lang),
        ctx.t("予定日", "planned"),
        r.planned
    );
    for i in &r.items {
        // The detail is English (it is what the JSON records); under
        // Japanese the state's words say what happened.
        let detail = match (lang, &i.detail) {
            (kura::Lang::En, Some(d)) => format!("  {d}"),
            _ => String::new(),
        };
        outln!(
            "  {:>3} {}  {}  {}{detail}",
            i.n,
            i18n::item_kind_label(&i.kind, lang),
            i18n::item_status_label(&i.status, lang),
            i.path.as_deref().unwrap_or(&i.target),
        );
    }
}
