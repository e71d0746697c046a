//! `kura volume register`: mark a disk as permitted media.

use std::path::PathBuf;

use clap::Subcommand;
use kura::audit::Outcome;
use kura::{media, Error, ExitCode};

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register a directory on a new disk as a volume; prints its id
    Register {
        /// The directory (created if absent), e.g. E:\kura
        dir: PathBuf,
        /// A label, e.g. "HDD1"
        #[arg(long)]
        label: String,
    },
}

pub fn run(ctx: &Ctx, command: Command) -> Result<ExitCode, Error> {
    let Command::Register { dir, label } = command;
    let policy = ctx.load_policy()?;
    let marker = ctx.audited(
        &policy,
        "volume.register",
        &dir.display().to_string(),
        |s| media::register(&dir, &label, &s.operator, ctx.clock.now()),
        |m| {
            (
                Outcome::Ok,
                serde_json::json!({ "volume": m.id, "label": m.label }),
            )
        },
    )?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "id": marker.id, "label": marker.label, "path": dir,
        }));
    } else {
        outln!("{}", marker.id);
        errln!(
            "{}",
            ctx.t(
                "この id をポリシーの保存先の volumes に追加すると、このディスクへバックアップできます。",
                "Add this id to the destination's volumes in the policy to back up onto this disk.",
            )
        );
    }
    Ok(ExitCode::Ok)
}
