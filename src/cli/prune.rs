//! `kura prune`: turn retention into one erasure request; deletes nothing.

use kura::erasure::{self, ItemSpec, Method, NewRequest};
use kura::{retention, Error, ExitCode};

use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  kura prune --dry-run                             what retention would erase, and why
  kura prune --operator \"山田 太郎\"                one erasure request (deletes nothing)

Then: kura erase approve ID --approver NAME, kura erase execute ID --witness NAME.")]
pub struct Args {
    /// Only show what would be requested, and why
    #[arg(long)]
    dry_run: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    // Every copy must be listed: all destinations must be connected.
    for d in &policy.destinations {
        if !d.path.is_dir() {
            return Err(Error::DestinationMissing {
                dest: d.name.clone(),
                path: d.path.clone(),
            });
        }
    }
    let decisions = retention::select(
        &erasure::all_snapshots(&policy)?,
        policy.retention.keep_monthly,
        policy.retention.keep_yearly,
    );
    let mut going: Vec<String> = decisions
        .iter()
        .filter(|d| !d.keep)
        .map(|d| d.id.clone())
        .collect();
    going.sort();
    if args.dry_run || going.is_empty() {
        if ctx.json {
            ctx.print_json(&serde_json::json!({
                "dry_run": args.dry_run, "decisions": decisions, "request": null,
            }));
        } else {
            for d in &decisions {
                if d.keep {
                    outln!(
                        "{} {}  {} ({})",
                        ctx.t("保持", "keep  "),
                        d.id,
                        d.month,
                        d.reasons
                            .iter()
                            .map(|r| kura::i18n::retention_reason(r, ctx.lang))
                            .collect::<Vec<_>>()
                            .join(ctx.t("、", ", "))
                    );
                } else {
                    outln!("{} {}  {}", ctx.t("消去", "erase "), d.id, d.month);
                }
            }
            if going.is_empty() {
                outln!("{}", ctx.t("消去対象はありません", "nothing to prune"));
            }
        }
        return Ok(ExitCode::Ok);
    }
    let new = NewRequest {
        items: going.into_iter().map(ItemSpec::Snapshot).collect(),
        method: Method::Overwrite,
        planned: ctx.clock.local().date_naive(),
        // The reason is printed on the city's papers (消去依頼書, 証明書).
        reason: match ctx.document_lang {
            kura::Lang::Ja => format!(
                "保存期間の満了 (保持のルール: 月次 {} か月、年次 {} 年)",
                policy.retention.keep_monthly, policy.retention.keep_yearly
            ),
            kura::Lang::En => format!(
                "retention: keep_monthly = {}, keep_yearly = {}",
                policy.retention.keep_monthly, policy.retention.keep_yearly
            ),
        },
    };
    let req = super::erase::request(ctx, &policy, "prune", &new, &|_| None)?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "id": req.id, "dry_run": false, "decisions": decisions, "request": req,
        }));
    } else {
        outln!(
            "{} {} ({} {} {} {})",
            ctx.t("消去依頼を作成しました:", "erasure request created:"),
            req.id,
            req.snapshots().len(),
            ctx.t("スナップショット,", "snapshots,"),
            req.items.len(),
            ctx.t("ファイル", "files")
        );
        outln!(
            "{}",
            ctx.t(
                "書面で承認を得てから kura erase approve / execute を実行してください。まだ何も削除していません。",
                "Nothing was deleted. After written approval: kura erase approve, then kura erase execute."
            )
        );
    }
    Ok(ExitCode::Ok)
}
