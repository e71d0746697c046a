//! `kura verify`: check snapshots without a key, or fully with `-i`.

use std::path::PathBuf;

use kura::audit::Outcome;
use kura::verify::{self, DestinationVerdict, Selection};
use kura::{keys, Error, ExitCode};

use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  kura verify                                      latest snapshot, no key: sums, metadata, signature
  kura verify all                                  every snapshot on every destination
  kura verify -i kura-identity.age --operator \"山田 太郎\"     decrypt and check every file
  kura verify -i kura-identity.age --against-source --operator \"山田 太郎\"

Exit 0 intact, 1 a finding, 3 a disk missing or a wrong key.")]
pub struct Args {
    /// A snapshot id, `latest` or `all`
    #[arg(default_value = "latest")]
    snapshot: String,
    /// Only these destinations (repeatable) [default: all]
    #[arg(long = "dest", value_name = "NAME")]
    dest: Vec<String>,
    /// An age identity: also decrypt and check every file
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    identity: Option<PathBuf>,
    /// With -i: also compare with the live source files and list what changed since
    #[arg(long)]
    against_source: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let selection = Selection::parse(&args.snapshot)?;
    let public_key = match &policy.signing {
        Some(s) => Some(kura::signers::Signers::load(s)?),
        None => None,
    };
    let dests = policy.select_destinations(&args.dest)?;
    let progress = ctx.progress();
    if args.against_source && args.identity.is_none() {
        return Err(Error::Usage(
            ctx.t(
                "--against-source には -i (秘密鍵) が必要です",
                "--against-source needs -i IDENTITY",
            )
            .to_string(),
        ));
    }
    let check = |ids: Option<&keys::Identities>| {
        verify::verify_destinations(
            &dests,
            &selection,
            &verify::CheckOptions {
                signers: public_key.as_ref(),
                identities: ids,
                against_source: args.against_source.then_some(&policy.sources[..]),
                progress: &progress,
            },
        )
    };
    let verdicts = match &args.identity {
        // Reading decrypted data is an access: audited, with a named operator.
        Some(path) => ctx.audited(
            &policy,
            "verify.full",
            &args.snapshot,
            |_| check(Some(&keys::load_identities(path, &|p| ctx.passphrase(p))?)),
            |v| describe(v),
        )?,
        None => check(None)?,
    };
    let ok = verdicts
        .iter()
        .all(|d| d.error.is_none() && d.snapshots.iter().all(|s| s.ok()));
    let failure = first_problem(&verdicts);
    if ctx.json {
        let dests: Vec<_> = verdicts
            .iter()
            .map(|d| {
                serde_json::json!({
                    "name": d.name, "path": d.path,
                    "error": d.error.as_ref().map(|e| e.message(ctx.lang)),
                    "snapshots": d.snapshots,
                })
            })
            .collect();
        ctx.print_json(&serde_json::json!({ "ok": ok, "destinations": dests }));
    } else {
        print_human(ctx, &policy, &verdicts);
    }
    ctx.conclude(failure)
}

fn first_problem(verdicts: &[DestinationVerdict]) -> Option<Error> {
    // An operational failure (missing disk) outranks a finding.
    let operational = verdicts.iter().find_map(|d| match &d.error {
        Some(Error::DestinationMissing { dest, path }) => Some(Error::DestinationMissing {
            dest: dest.clone(),
            path: path.clone(),
        }),
        _ => None,
    });
    operational.or_else(|| {
        verdicts.iter().find_map(|d| {
            if let Some(Error::Integrity { path, detail }) = &d.error {
                return Some(Error::Integrity {
                    path: path.clone(),
                    detail: detail.clone(),
                });
            }
            d.snapshots
                .iter()
                .find(|s| !s.ok())
                .map(|s| Error::Integrity {
                    path: s.dir.clone(),
                    // Named after the archive file, as the key-less findings are.
                    detail: s
                        .findings
                        .iter()
                        .cloned()
                        .chain(s.archives.iter().flat_map(|a| {
                            let file = kura::snapshot::archive_file_name(&a.name);
                            a.findings.iter().map(move |f| format!("{file}: {f}"))
                        }))
                        .next()
                        .unwrap_or_default(),
                })
        })
    })
}

fn print_human(ctx: &Ctx, policy: &kura::policy::Policy, verdicts: &[DestinationVerdict]) {
    for d in verdicts {
        let title = match ctx.lang {
            kura::Lang::Ja => super::snapshots::destination_title(ctx, policy, &d.name),
            kura::Lang::En => d.name.clone(),
        };
        outln!("{title}: {}", d.path.display());
        if let Some(e) = &d.error {
            outln!("  {} {}", ctx.t("指摘", "FINDING"), e.message(ctx.lang));
        }
        for s in &d.snapshots {
            let level = if s.level == "full" {
                ctx.t("全件復号", "full")
            } else {
                ctx.t("鍵なし", "without key")
            };
            let verdict = if s.ok() {
                ctx.t("正常", "OK")
            } else {
                ctx.t("指摘", "FINDING")
            };
            let sig = match (s.signature, &s.signed_by) {
                (Some(true), Some(by)) if by.retired => format!(
                    "{} {})",
                    ctx.t(", 署名 正常 (旧鍵", ", signature valid (retired key"),
                    by.key_id
                ),
                (Some(true), _) => ctx.t(", 署名 正常", ", signature valid").to_string(),
                (Some(false), _) => ctx.t(", 署名 不正", ", signature INVALID").to_string(),
                (None, _) => String::new(),
            };
            outln!("  {} [{level}{sig}] {verdict}", s.id);
            for f in &s.findings {
                outln!("    - {f}");
            }
            for a in &s.archives {
                let mark = if a.findings.is_empty() {
                    ctx.t("正常", "OK")
                } else {
                    ctx.t("指摘", "FINDING")
                };
                outln!(
                    "    {:<14} {:>6} {}  {}",
                    a.name,
                    a.files,
                    ctx.t("ファイル", "files"),
                    mark
                );
                for f in &a.findings {
                    outln!("      - {f}");
                }
                if let Some(changes) = &a.changes {
                    if changes.is_empty() {
                        outln!(
                            "      {}",
                            ctx.t("元データから変更なし", "source unchanged since")
                        );
                    } else {
                        outln!(
                            "      {} {}",
                            changes.len(),
                            ctx.t(
                                "件の変更 (スナップショット以降):",
                                "changes since the snapshot:"
                            )
                        );
                        for c in changes {
                            outln!("        {c}");
                        }
                    }
                }
            }
        }
    }
}

/// The audit record of a full verify.
pub fn describe(verdicts: &[DestinationVerdict]) -> (Outcome, serde_json::Value) {
    let ok = verdicts
        .iter()
        .all(|d| d.error.is_none() && d.snapshots.iter().all(|s| s.ok()));
    let checked: Vec<_> = verdicts
        .iter()
        .flat_map(|d| {
            d.snapshots.iter().map(move |s| {
                serde_json::json!({
                    "destination": d.name, "snapshot": s.id, "ok": s.ok(),
                    "files": s.archives.iter().map(|a| a.files).sum::<u64>(),
                })
            })
        })
        .collect();
    (
        if ok { Outcome::Ok } else { Outcome::Finding },
        serde_json::json!({ "checked": checked }),
    )
}
