//! `kura snapshots`: what is on each destination.

use kura::{media, snapshot, Error, ExitCode};

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only these destinations (repeatable) [default: all]
    #[arg(long = "dest", value_name = "NAME")]
    dest: Vec<String>,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let mut json_dests = Vec::new();
    let mut missing = None;
    for d in policy.select_destinations(&args.dest)? {
        if !d.path.is_dir() {
            let e = Error::DestinationMissing {
                dest: d.name.clone(),
                path: d.path.clone(),
            };
            if ctx.json {
                json_dests.push(serde_json::json!({
                    "name": d.name, "path": d.path, "present": false, "snapshots": [],
                }));
            }
            missing.get_or_insert(e);
            continue;
        }
        let volume = media::read_marker(&d.path).ok().flatten().map(|m| m.id);
        let listed = snapshot::list(&d.path)?;
        if ctx.json {
            let snaps: Vec<_> = listed
                .iter()
                .map(|s| match &s.meta {
                    Ok(m) => serde_json::json!({
                        "id": s.id, "month": m.month, "created_at": m.created_at,
                        "operator": m.operator, "archives": m.archives.len(),
                        "files": m.archives.iter().map(|a| a.files).sum::<u64>(),
                        "bytes": m.archives.iter().map(|a| a.ciphertext_bytes).sum::<u64>(),
                        "signed": s.signed, "clock_overridden": m.clock_overridden,
                    }),
                    Err(e) => serde_json::json!({ "id": s.id, "error": e }),
                })
                .collect();
            json_dests.push(serde_json::json!({
                "name": d.name, "path": d.path, "present": true, "volume": volume,
                "snapshots": snaps,
            }));
            continue;
        }
        outln!(
            "{}: {}  [{}]",
            destination_title(ctx, &policy, &d.name),
            d.path.display(),
            volume.as_deref().unwrap_or("?")
        );
        if listed.is_empty() {
            outln!("  {}", ctx.t("(スナップショットなし)", "(no snapshots)"));
        }
        for s in &listed {
            match &s.meta {
                Ok(m) => outln!(
                    "  {}  {}  {:>2} {}  {:>10}  {}{}{}",
                    s.id,
                    m.month,
                    m.archives.len(),
                    ctx.t("アーカイブ", "archives"),
                    kura::i18n::size(
                        m.archives.iter().map(|a| a.ciphertext_bytes).sum(),
                        ctx.lang
                    ),
                    m.operator,
                    if s.signed {
                        ctx.t("  署名あり", "  signed")
                    } else {
                        ""
                    },
                    if m.clock_overridden {
                        ctx.t("  リハーサル (KURA_NOW)", "  rehearsal (KURA_NOW)")
                    } else {
                        ""
                    }
                ),
                Err(e) => outln!("  {}  {}: {e}", s.id, ctx.t("読めません", "unreadable")),
            }
        }
    }
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "destinations": json_dests }));
    }
    ctx.conclude(missing)
}

/// A destination as human output names it: `hdd1 (USB外付けHDD (HDD1))` in
/// English, where the name is what `--destination` takes; its label alone in
/// Japanese, where the name is a word the reader does not need.
pub(super) fn destination_title(ctx: &Ctx, policy: &kura::policy::Policy, name: &str) -> String {
    let label = policy
        .destinations
        .iter()
        .find(|d| d.name == name)
        .map(|d| d.label.as_str())
        .filter(|l| *l != name);
    match (ctx.lang, label) {
        (kura::Lang::Ja, Some(label)) => label.to_string(),
        (_, Some(label)) => format!("{name} ({label})"),
        (_, None) => name.to_string(),
    }
}
