//! `kura check`: the data-backup rows of the monthly inspection sheet.

use kura::{check, Error, ExitCode};

use super::Ctx;

pub fn run(ctx: &Ctx) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let report = check::run(&policy, &ctx.clock, ctx.lang)?;
    if ctx.json {
        ctx.print_json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        for item in &report.items {
            let mark = if item.status == "ok" {
                ctx.t("正常", "OK     ")
            } else {
                ctx.t("指摘", "FINDING")
            };
            outln!("[{mark}] {}: {}", item.label, item.detail);
        }
    }
    Ok(if report.ok {
        ExitCode::Ok
    } else {
        ExitCode::Integrity
    })
}
