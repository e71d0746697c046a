//! `kura backup`: the monthly snapshot.

use kura::audit::{Outcome, Sealer};
use kura::backup::{self, BackupOutcome, BackupRequest};
use kura::{Error, ExitCode};

use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  kura backup --operator \"山田 太郎\"              every destination
  kura backup --operator scheduled-task --quiet    the scheduled job
  kura backup --dest hdd1 --operator \"山田 太郎\"   one destination only

Writes one snapshot (one archive per source, SHA256SUMS, signature) to each
registered destination; an unregistered disk refuses the whole run (exit 4).")]
pub struct Args {
    /// Only these destinations (repeatable) [default: all]
    #[arg(long = "dest", value_name = "NAME")]
    dest: Vec<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let progress = ctx.progress();
    let target = if args.dest.is_empty() {
        "all".to_string()
    } else {
        args.dest.join(",")
    };
    let outcome = ctx.audited(
        &policy,
        "backup",
        &target,
        |session| {
            backup::run(&BackupRequest {
                policy: &policy,
                operator: &session.operator,
                destinations: &args.dest,
                clock: ctx.clock,
                progress: &progress,
                audit: Some(&Sealer { log: &session.log }),
            })
        },
        describe,
    )?;
    let failure = outcome.failure();
    if ctx.json {
        let dests: Vec<_> = outcome
            .destinations
            .iter()
            .map(|d| match &d.result {
                Ok(dir) => serde_json::json!({
                    "name": d.name, "path": d.path, "ok": true, "snapshot_dir": dir,
                }),
                Err(e) => serde_json::json!({
                    "name": d.name, "path": d.path, "ok": false, "error": e.message(ctx.lang),
                }),
            })
            .collect();
        ctx.print_json(&serde_json::json!({
            "ok": failure.is_none(),
            "id": outcome.meta.id,
            "snapshot": outcome.meta,
            "destinations": dests,
            "skipped": outcome.skipped,
        }));
    } else {
        outln!(
            "{} {} ({} {})",
            ctx.t("スナップショット", "snapshot"),
            outcome.meta.id,
            ctx.t("対象月", "month"),
            outcome.meta.month
        );
        for a in &outcome.meta.archives {
            outln!(
                "  {:<14} {:>6} {}  {:>10} → {:>10}  {} {}",
                a.name,
                a.files,
                ctx.t("ファイル", "files"),
                kura::i18n::size(a.plaintext_bytes, ctx.lang),
                kura::i18n::size(a.ciphertext_bytes, ctx.lang),
                ctx.t("SHA-256", "sha256"),
                &a.ciphertext_sha256[..16]
            );
        }
        let title = |name: &str| match ctx.lang {
            kura::Lang::Ja => super::snapshots::destination_title(ctx, &policy, name),
            kura::Lang::En => name.to_string(),
        };
        for d in &outcome.destinations {
            match &d.result {
                Ok(dir) => outln!(
                    "  {} {}: {}",
                    ctx.t("保存済", "written"),
                    title(&d.name),
                    dir.display()
                ),
                Err(e) => outln!(
                    "  {} {}: {}",
                    ctx.t("失敗", "FAILED"),
                    title(&d.name),
                    e.message(ctx.lang)
                ),
            }
        }
        for p in &outcome.skipped {
            errln!(
                "kura: {}: {}",
                ctx.t("特殊ファイルのため対象外", "skipped special file"),
                p.display()
            );
        }
    }
    ctx.conclude(failure)
}

/// The audit record of a backup: ids, counts and hashes, never file names.
pub fn describe(outcome: &BackupOutcome) -> (Outcome, serde_json::Value) {
    let written: Vec<_> = outcome
        .destinations
        .iter()
        .filter(|d| d.result.is_ok())
        .map(|d| d.name.clone())
        .collect();
    // Which registered disk each copy went to: with rotation, a snapshot is
    // expected only on the disk it was written to (see kura::inventory).
    let volumes: serde_json::Map<String, serde_json::Value> = outcome
        .destinations
        .iter()
        .filter(|d| d.result.is_ok())
        .filter_map(|d| Some((d.name.clone(), d.volume.clone()?.into())))
        .collect();
    let failed: Vec<_> = outcome
        .destinations
        .iter()
        .filter_map(|d| d.result.as_ref().err().map(|e| format!("{}: {e}", d.name)))
        .collect();
    let archives: Vec<_> = outcome
        .meta
        .archives
        .iter()
        .map(|a| {
            serde_json::json!({
                "name": a.name, "files": a.files, "bytes": a.plaintext_bytes,
                "ciphertext_sha256": a.ciphertext_sha256,
            })
        })
        .collect();
    let result = if failed.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Failed
    };
    (
        result,
        serde_json::json!({
            "snapshot": outcome.meta.id,
            "month": outcome.meta.month,
            "written": written,
            "volumes": volumes,
            "failed": failed,
            "archives": archives,
            "sealed_audit_seq": outcome.meta.audit.as_ref().map(|a| a.seq),
        }),
    )
}
