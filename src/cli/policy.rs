//! `kura policy check`: validate the policy and print it as kura understands it.

use clap::Subcommand;
use kura::{Error, ExitCode};

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the policy and print the effective settings
    Check,
}

pub fn run(ctx: &Ctx, command: Command) -> Result<ExitCode, Error> {
    let Command::Check = command;
    let p = ctx.load_policy()?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "ok": true, "policy": p }));
        return Ok(ExitCode::Ok);
    }
    outln!("{}: {}", ctx.t("ポリシー", "policy"), p.file.display());
    outln!(
        "  {}: {} / {}",
        ctx.t("履行場所", "site"),
        p.site.name,
        p.site.system
    );
    if let Some(c) = &p.site.contractor {
        outln!("  {}: {c}", ctx.t("受託者", "contractor"));
    }
    outln!(
        "  {}: {} 〜 {}",
        ctx.t("契約期間", "contract"),
        p.site.contract_start,
        p.site.contract_end
    );
    outln!(
        "  {}: {}",
        ctx.t("作業者", "operators"),
        p.operators
            .iter()
            .map(|o| match &o.os_user {
                Some(u) => format!("{} (OS: {u})", o.name),
                None => o.name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !p.erasure.approvers.is_empty() {
        outln!("  {}:", ctx.t("消去の承認者", "erasure approvers"));
        for a in &p.erasure.approvers {
            outln!("    {} ({})", a.name, a.public_key.display());
        }
    }
    outln!("  {}:", ctx.t("バックアップ対象", "sources"));
    for s in &p.sources {
        outln!("    {} ({})", s.name, s.label);
        for path in &s.paths {
            outln!("      {}", path.path.display());
        }
        if let Some(cmd) = &s.prepare {
            outln!("      prepare: {}", cmd.join(" "));
        }
    }
    outln!("  {}:", ctx.t("保存先", "destinations"));
    for d in &p.destinations {
        outln!("    {} ({}): {}", d.name, d.label, d.path.display());
        outln!("      volumes: [{}]", d.volumes.join(", "));
        if let Some(g) = d.min_free_gib {
            outln!("      min_free_gib: {g}");
        }
    }
    outln!("  {}:", ctx.t("暗号化の受信者", "recipients"));
    for r in &p.recipients {
        outln!("    {r}");
    }
    match &p.signing {
        Some(s) => outln!(
            "  {}: {} / {}",
            ctx.t("署名", "signing"),
            s.secret_key.display(),
            s.public_key.display()
        ),
        None => outln!("  {}: {}", ctx.t("署名", "signing"), ctx.t("なし", "off")),
    }
    outln!(
        "  {}: zstd level {}, threads {}",
        ctx.t("圧縮", "compression"),
        p.compression.level,
        p.compression.threads
    );
    outln!(
        "  {}: {} {}, {} {}",
        ctx.t("スケジュール", "schedule"),
        ctx.t("毎月", "day of month"),
        p.schedule.day_of_month,
        ctx.t("猶予日数", "grace days"),
        p.schedule.grace_days
    );
    outln!(
        "  {}: keep_monthly {}, keep_yearly {}",
        ctx.t("保持", "retention"),
        p.retention.keep_monthly,
        p.retention.keep_yearly
    );
    outln!(
        "  {}: {}",
        ctx.t("監査ログ", "audit database"),
        p.audit_database.display()
    );
    for d in &p.disks {
        outln!(
            "  {} {}: {}",
            ctx.t("空き容量の点検", "disk"),
            d.label,
            d.path.display()
        );
    }
    for d in p.destinations.iter().filter(|d| d.volumes.is_empty()) {
        errln!(
            "kura: {}",
            if ctx.lang == kura::Lang::Ja {
                format!("注意: 保存先「{}」の volumes が空のため、バックアップは拒否されます。kura volume register で登録した id を追加してください", d.name)
            } else {
                format!("note: destination \"{}\" has no volumes yet, so backups to it are refused; add the id printed by `kura volume register`", d.name)
            }
        );
    }
    outln!("{}", ctx.t("ポリシーは有効です。", "The policy is valid."));
    Ok(ExitCode::Ok)
}
