//! `kura restore`: bring archives back into an empty directory, safely.

use std::path::PathBuf;

use kura::audit::Outcome;
use kura::restore::{self, RestoreOutcome, RestoreRequest};
use kura::verify::Selection;
use kura::{keys, snapshot, Error, ExitCode};

use super::Ctx;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  kura restore latest --to D:\\restore\\2024-06 -i kura-identity.age --operator \"山田 太郎\"
  kura restore 20240601T010000Z --archive master --to restored -i KEY --operator \"山田 太郎\"

Each archive lands in <to>/<archive>/ with its MANIFEST.sha256. The target must be
empty or absent; on any problem everything written is removed (exit 1).")]
pub struct Args {
    /// A snapshot id or `latest`
    snapshot: String,
    /// Target directory: must be empty or absent
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// The age identity that opens the archives
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    identity: PathBuf,
    /// Only these archives (repeatable) [default: all]
    #[arg(long = "archive", value_name = "NAME")]
    archive: Vec<String>,
    /// Read from this destination [default: the first that has the snapshot]
    #[arg(long = "dest", value_name = "NAME")]
    dest: Option<String>,
    /// Give restored files and directories their recorded Unix modes
    /// [default: files 0600, directories 0700]
    #[arg(long = "keep-modes")]
    keep_modes: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let selection = Selection::parse(&args.snapshot)?;
    if selection == Selection::All {
        return Err(Error::BadSnapshotArgument(args.snapshot));
    }
    let names: Vec<String> = args.dest.iter().cloned().collect();
    let dests = policy.select_destinations(&names)?;
    let public_key = match &policy.signing {
        Some(s) => Some(kura::signers::Signers::load(s)?),
        None => None,
    };
    let progress = ctx.progress();
    let outcome = ctx.audited(
        &policy,
        "restore",
        &args.snapshot,
        |_| {
            let (dest, dir) = find_snapshot(&dests, &selection)?;
            let identities = keys::load_identities(&args.identity, &|p| ctx.passphrase(p))?;
            let outcome = restore::restore(&RestoreRequest {
                snapshot_dir: &dir,
                archives: &args.archive,
                to: &args.to,
                identities: &identities,
                signers: public_key.as_ref(),
                keep_modes: args.keep_modes,
                progress: &progress,
            })?;
            Ok((dest, outcome))
        },
        |(dest, o)| describe(dest, o),
    )?;
    let (dest, outcome) = outcome;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "ok": true, "id": outcome.snapshot, "destination": dest, "to": outcome.to,
            "archives": outcome.archives,
        }));
    } else {
        outln!(
            "{} {} ({} {}) → {}",
            ctx.t("スナップショット", "snapshot"),
            outcome.snapshot,
            ctx.t("保存先", "from"),
            match ctx.lang {
                kura::Lang::Ja => super::snapshots::destination_title(ctx, &policy, &dest),
                kura::Lang::En => dest.clone(),
            },
            outcome.to.display()
        );
        for a in &outcome.archives {
            outln!(
                "  {:<14} {:>6} {}  {:>10}  {}  {}",
                a.name,
                a.files,
                ctx.t("ファイル", "files"),
                kura::i18n::size(a.bytes, ctx.lang),
                ctx.t("全件照合 正常", "all checked"),
                a.dir.display()
            );
        }
    }
    Ok(ExitCode::Ok)
}

/// The first destination (in policy order) that has the snapshot.
pub(super) fn find_snapshot(
    dests: &[&kura::policy::Destination],
    selection: &Selection,
) -> Result<(String, PathBuf), Error> {
    let mut missing = None;
    for d in dests {
        if !d.path.is_dir() {
            missing.get_or_insert(Error::DestinationMissing {
                dest: d.name.clone(),
                path: d.path.clone(),
            });
            continue;
        }
        let listed = snapshot::list(&d.path)?;
        let found = match selection {
            Selection::Id(id) => listed.into_iter().find(|s| &s.id == id),
            _ => listed.into_iter().last(),
        };
        if let Some(s) = found {
            return Ok((d.name.clone(), s.dir));
        }
    }
    Err(missing.unwrap_or_else(|| Error::Integrity {
        path: dests.first().map(|d| d.path.clone()).unwrap_or_default(),
        detail: match selection {
            Selection::Id(id) => format!("no destination holds snapshot {id}"),
            _ => "no snapshot on any destination".into(),
        },
    }))
}

fn describe(dest: &str, o: &RestoreOutcome) -> (Outcome, serde_json::Value) {
    (
        Outcome::Ok,
        serde_json::json!({
            "snapshot": o.snapshot,
            "destination": dest,
            "to": o.to,
            "archives": o.archives.iter().map(|a| serde_json::json!({
                "name": a.name, "files": a.files, "bytes": a.bytes,
            })).collect::<Vec<_>>(),
        }),
    )
}
