//! `kura demo`: build a sandbox and run the monthly job in it.

use std::path::PathBuf;

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
            println!("{}", ctx.t(ja, en));
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
        Some(s) => Some(keys::load_public_key(&s.public_key)?),
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
                    public_key: public_key.as_ref(),
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
        println!();
        println!(
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
                println!("  {}: {}", d.name, p.display());
            }
        }
        println!();
        println!(
            "{}",
            ctx.t("点検 (保守点検チェックシート):", "Inspection check:")
        );
        for item in &check.items {
            let mark = if item.status == "ok" {
                ctx.t("正常", "OK")
            } else {
                ctx.t("指摘", "FINDING")
            };
            println!("  [{mark}] {}: {}", item.label, item.detail);
        }
        println!(
            "{} {}",
            ctx.t("月次報告書:", "Monthly report:"),
            report_path.display()
        );
        if let Some(cp) = &monthly.checkpoint {
            println!(
                "{} {cp}",
                ctx.t(
                    "監査ログのチェックポイント (紙の報告書に記入):",
                    "Audit checkpoint (for the paper report):"
                )
            );
        }
        let p = sandbox.policy.display();
        let snap = outcome
            .destinations
            .first()
            .and_then(|d| d.result.as_ref().ok())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        println!();
        println!("{}", ctx.t("次に試すこと:", "Try next:"));
        println!("  cargo run --release -- --policy {p} snapshots");
        println!("  cargo run --release -- --policy {p} verify");
        println!("  cargo run --release -- --policy {p} check");
        println!("  cargo run --release -- --policy {p} audit verify");
        println!("  cargo run --release -- --policy {p} prune --dry-run");
        println!(
            "  cargo run --release -- --policy {p} --operator \"{}\" verify -i {}",
            demo::DEMO_OPERATOR,
            sandbox.identity.display()
        );
        println!(
            "  (cd {snap} && sha256sum -c SHA256SUMS && minisign -V -p {} -m SHA256SUMS)",
            dir.join("keys/kura.pub").display()
        );
        println!(
            "  age -d -i {} {snap}/master.tar.zst.age | zstd -d | tar -t",
            sandbox.identity.display()
        );
        println!(
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
