//! `kura demo`: build a sandbox and run the monthly job in it.

use std::path::{Path, PathBuf};

use kura::audit::Sealer;
use kura::backup::{self, BackupRequest};
use kura::policy::Policy;
use kura::verify::{self, Selection};
use kura::{demo, keys, Error, ExitCode};

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The sandbox directory (replaced only if `kura demo` made it)
    #[arg(long, default_value = "kura-demo")]
    dir: PathBuf,
    /// Size of the synthetic data in MiB
    #[arg(long, default_value_t = 8)]
    size_mib: u64,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode, Error> {
    let say = |ja: &str, en: &str| {
        if !ctx.json {
            outln!("{}", ctx.t(ja, en));
        }
    };
    say(
        "1. サンドボックスを作成しています…",
        "1. Building the sandbox…",
    );
    let sandbox = demo::prepare(&args.dir, args.size_mib, &ctx.clock)?;
    let policy = Policy::load(&sandbox.policy, ctx.lang)?;
    policy.allow_clock(&ctx.clock)?;
    // The demo acts as its own operator, in its own audit log.
    let demo_ctx = Ctx {
        lang: ctx.lang,
        json: ctx.json,
        quiet: ctx.quiet,
        policy: Some(sandbox.policy.clone()),
        operator: Some(demo::DEMO_OPERATOR.to_string()),
        clock: ctx.clock,
        document_lang: ctx.document_lang,
    };

    say(
        "2. バックアップを取得しています…",
        "2. Taking the monthly backup…",
    );
    let progress = ctx.progress();
    let outcome = demo_ctx.audited(
        &policy,
        "backup",
        "all",
        |session| {
            backup::run(&BackupRequest {
                policy: &policy,
                operator: &session.operator,
                destinations: &[],
                clock: ctx.clock,
                progress: &progress,
                audit: Some(&Sealer { log: &session.log }),
            })
        },
        super::backup::describe,
    )?;
    if let Some(e) = outcome.failure() {
        return Err(e);
    }

    say(
        "3. 全件復号して検証しています…",
        "3. Verifying every file with the demo key…",
    );
    let ids = keys::load_identities(&sandbox.identity, &|_| None)?;
    let public_key = match &policy.signing {
        Some(s) => Some(kura::signers::Signers::load(s)?),
        None => None,
    };
    let dests: Vec<_> = policy.destinations.iter().collect();
    let verdicts = demo_ctx.audited(
        &policy,
        "verify.full",
        &outcome.meta.id,
        |_| {
            verify::verify_destinations(
                &dests,
                &Selection::Id(outcome.meta.id.clone()),
                &verify::CheckOptions {
                    signers: public_key.as_ref(),
                    identities: Some(&ids),
                    against_source: None,
                    progress: &progress,
                },
            )
        },
        |v| super::verify::describe(v),
    )?;
    let verified = verdicts
        .iter()
        .all(|d| d.error.is_none() && d.snapshots.iter().all(|s| s.ok()));

    say(
        "4. 点検項目を確認し、月次報告書を作成しています…",
        "4. Running the inspection check and writing the monthly report…",
    );
    let check = kura::check::run(&policy, &ctx.clock, ctx.lang)?;
    let log = kura::audit::AuditLog::open_existing(&policy.audit_database, ctx.clock)?;
    let month = kura::report::parse_month(&ctx.clock.local().format("%Y-%m").to_string())?;
    let report_check = kura::check::run(&policy, &ctx.clock, ctx.document_lang)?;
    let monthly = kura::report::build(&policy, Some(&log), report_check, month, &ctx.clock)?;
    let report_path = sandbox
        .dir
        .join("reports")
        .join(format!("monthly-{}.html", monthly.month));
    if let Some(dir) = report_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(kura::error::Action::Create, dir, e))?;
    }
    kura::media::write_atomically(
        &report_path,
        kura::report::render_html(&monthly, ctx.document_lang).as_bytes(),
    )?;

    let dir = std::path::absolute(&sandbox.dir).unwrap_or(sandbox.dir.clone());
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "ok": verified,
            "id": outcome.meta.id,
            "dir": dir,
            "policy": sandbox.policy,
            "identity": sandbox.identity,
            "snapshot": outcome.meta,
            "verified": verdicts,
            "check": check,
            "report": report_path,
        }));
    } else {
        let files: u64 = outcome.meta.archives.iter().map(|a| a.files).sum();
        outln!();
        outln!(
            "{} {} ({} {} {})",
            ctx.t("スナップショット", "Snapshot"),
            outcome.meta.id,
            files,
            ctx.t("ファイル,", "files,"),
            if verified {
                ctx.t("全件検証 正常", "all verified")
            } else {
                ctx.t("検証で指摘あり", "verification FAILED")
            }
        );
        for d in &outcome.destinations {
            if let Ok(p) = &d.result {
                outln!("  {}: {}", d.name, p.display());
            }
        }
        outln!();
        outln!(
            "{}",
            ctx.t("点検 (保守点検チェックシート):", "Inspection check:")
        );
        for item in &check.items {
            let mark = if item.status == "ok" {
                ctx.t("正常", "OK")
            } else {
                ctx.t("指摘", "FINDING")
            };
            outln!("  [{mark}] {}: {}", item.label, item.detail);
        }
        outln!(
            "{} {}",
            ctx.t("月次報告書:", "Monthly report:"),
            report_path.display()
        );
        if let Some(cp) = &monthly.checkpoint {
            outln!(
                "{} {cp}",
                ctx.t(
                    "監査ログのチェックポイント (紙の報告書に記入):",
                    "Audit checkpoint (for the paper report):"
                )
            );
        }
        let snap = outcome
            .destinations
            .first()
            .and_then(|d| d.result.as_ref().ok())
            .cloned()
            .unwrap_or_default();
        outln!();
        outln!("{}", ctx.t("次に試すこと:", "Try next:"));
        for line in try_next(
            &sandbox.policy,
            &sandbox.identity,
            &dir.join("keys").join("kura.pub"),
            &snap,
        ) {
            outln!("  {line}");
        }
        outln!(
            "{}",
            ctx.t(
                "鍵 (keys/) はデモ専用です。本番には使わないでください。",
                "The keys under keys/ are demo keys: never use them for real data."
            )
        );
    }
    Ok(if verified {
        ExitCode::Ok
    } else {
        ExitCode::Integrity
    })
}

/// The commands to try after the demo, as this user can type them: kura as
/// it was started (`cargo run --release --` under cargo, else the program as
/// typed), and the stock-tool checks of the platform (on Windows `certutil`
/// and a `cmd.exe` pipe: PowerShell 5.1 corrupts binary pipes).
fn try_next(policy: &Path, identity: &Path, public_key: &Path, snapshot: &Path) -> Vec<String> {
    let kura = invocation();
    let p = quote(policy);
    let id = quote(identity);
    let mut lines: Vec<String> = [
        "snapshots",
        "verify",
        "check",
        "audit verify",
        "prune --dry-run",
    ]
    .iter()
    .map(|c| format!("{kura} --policy {p} {c}"))
    .collect();
    lines.push(format!(
        "{kura} --policy {p} --operator \"{}\" verify -i {id}",
        demo::DEMO_OPERATOR
    ));
    let sums = quote(&snapshot.join("SHA256SUMS"));
    let archive = quote(&snapshot.join("master.tar.zst.age"));
    let public_key = quote(public_key);
    if cfg!(windows) {
        lines.push(format!("certutil -hashfile {archive} SHA256"));
        lines.push(format!("minisign -V -p {public_key} -m {sums}"));
        lines.push(format!(
            "cmd /c \"age -d -i {id} {archive} | zstd -d | tar -tf -\""
        ));
    } else {
        lines.push(format!(
            "(cd {} && sha256sum -c SHA256SUMS && minisign -V -p {public_key} -m SHA256SUMS)",
            quote(snapshot)
        ));
        lines.push(format!("age -d -i {id} {archive} | zstd -d | tar -t"));
    }
    lines
}

/// How kura was started, for the hints it prints.
fn invocation() -> String {
    let under_cargo = std::env::var_os("CARGO").is_some()
        && std::env::var("CARGO_PKG_NAME").as_deref() == Ok("kura");
    if under_cargo {
        let release = std::env::current_exe()
            .map(|e| e.components().any(|c| c.as_os_str() == "release"))
            .unwrap_or(false);
        return if release {
            "cargo run --release --".to_string()
        } else {
            "cargo run --".to_string()
        };
    }
    let typed = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(if cfg!(windows) { "kura.exe" } else { "kura" }));
    quote(&typed)
}

/// A path as a shell argument: in double quotes on Windows (cmd.exe), in
/// single quotes elsewhere when it holds anything a POSIX shell would split.
fn quote(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = |c: char| c.is_alphanumeric() || "/._-+:=@,".contains(c) || c == '\\';
    if !text.is_empty() && text.chars().all(plain) {
        text
    } else if cfg!(windows) {
        format!("\"{text}\"")
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
