//! `kura keys age|recipient|sign|rotate`: make and inspect keys (no policy
//! needed), and record a signing-key rotation in the audit log.

use std::path::PathBuf;

use clap::Subcommand;
use kura::{keys, Error, ExitCode};

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an age identity (passphrase-protected unless --no-passphrase); prints its recipient
    Age {
        /// Where to write the identity (never overwritten)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Write the identity unencrypted (as age-keygen does)
        #[arg(long)]
        no_passphrase: bool,
    },
    /// Print the recipient (age1…) of an identity file
    Recipient {
        /// The identity file (kura's or age-keygen's, plain or passphrase-protected)
        #[arg(short = 'i', long = "identity", value_name = "FILE")]
        identity: PathBuf,
    },
    /// Create an unencrypted minisign key pair for signing snapshots and reports
    Sign {
        /// Secret key file (keep readable only by the backup job)
        #[arg(long, value_name = "FILE")]
        secret: PathBuf,
        /// Public key file
        #[arg(long, value_name = "FILE")]
        public: PathBuf,
    },
    /// Record a signing-key rotation the policy now says (new [signing] key, the old one
    /// under previous_public_keys)
    #[command(after_help = "\
Procedure:
  1. kura keys sign --secret keys\\kura-2025.key --public keys\\kura-2025.pub
  2. In the policy: [signing] secret_key/public_key = the new pair, and
     previous_public_keys = [{ public_key = \"keys\\kura-2024.pub\", until = 2025-04-01 }]
  3. kura keys rotate --operator \"山田 太郎\"   (an audit event, and a line in the month's report)")]
    Rotate,
    /// List, per age recipient, the snapshots on the connected disks it opens
    Coverage {
        /// Only the recipients of this identity file
        #[arg(short = 'i', long = "identity", value_name = "FILE")]
        identity: Option<PathBuf>,
    },
    /// Record the policy's age recipients as they are now (added and retired since the last record)
    Recipients,
}

pub fn run(ctx: &Ctx, command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::Rotate => return rotate(ctx),
        Command::Coverage { identity } => return coverage(ctx, identity),
        Command::Recipients => return recipients(ctx),
        Command::Age { out, no_passphrase } => {
            let passphrase = if no_passphrase {
                None
            } else {
                Some(new_passphrase(ctx)?)
            };
            let recipient = keys::generate_age_identity(&out, passphrase, ctx.clock.now())?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "id": recipient, "recipient": recipient, "file": out,
                    "passphrase_protected": !no_passphrase,
                }));
            } else {
                outln!("{recipient}");
                errln!(
                    "{} {}",
                    ctx.t("秘密鍵を書き込みました:", "identity written to"),
                    out.display()
                );
            }
        }
        Command::Recipient { identity } => {
            let ids = keys::load_identities(&identity, &|p| ctx.passphrase(p))?;
            let recipients = ids.recipients();
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "recipients": recipients }));
            } else {
                for r in recipients {
                    outln!("{r}");
                }
            }
        }
        Command::Sign { secret, public } => {
            let key = keys::generate_signing_keypair(&secret, &public)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "id": key, "key_id": key, "secret_file": secret, "public_file": public,
                }));
            } else {
                outln!("{key}");
                errln!(
                    "{} {} / {}",
                    ctx.t("署名鍵を書き込みました:", "signing keys written to"),
                    secret.display(),
                    public.display()
                );
            }
        }
    }
    Ok(ExitCode::Ok)
}

/// A new passphrase: `KURA_PASSPHRASE`, or asked twice on the terminal.
fn new_passphrase(ctx: &Ctx) -> Result<age::secrecy::SecretString, Error> {
    use age::secrecy::ExposeSecret;
    let missing = || {
        Error::Usage(
            ctx.t(
                "パスフレーズが必要です: 端末で実行するか KURA_PASSPHRASE を設定してください (デモ・試験用のみ --no-passphrase)",
                "a passphrase is needed: run on a terminal or set KURA_PASSPHRASE (or --no-passphrase, for demos and tests only)",
            )
            .to_string(),
        )
    };
    let first = ctx
        .passphrase(ctx.t("新しいパスフレーズ", "New passphrase"))
        .ok_or_else(missing)?;
    let second = if std::env::var_os("KURA_PASSPHRASE").is_some() {
        first.clone()
    } else {
        ctx.passphrase(ctx.t("もう一度入力してください", "Repeat the passphrase"))
            .ok_or_else(missing)?
    };
    if first.expose_secret() != second.expose_secret() {
        return Err(Error::Usage(
            ctx.t("パスフレーズが一致しません", "the passphrases differ")
                .to_string(),
        ));
    }
    if first.expose_secret().chars().count() < 12 {
        return Err(Error::Usage(
            ctx.t(
                "パスフレーズは12文字以上にしてください",
                "the passphrase must be at least 12 characters",
            )
            .to_string(),
        ));
    }
    Ok(first)
}

/// `kura keys rotate`: the policy's new signing key and the keys it retired,
/// recorded as a `keys.rotate` event.
fn rotate(ctx: &Ctx) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let Some(signing) = &policy.signing else {
        return Err(Error::usage(
            "ポリシーに [signing] がありません",
            "the policy has no [signing]",
        ));
    };
    // The new pair must belong together, and the old keys must load.
    let key = keys::load_signing_key(&signing.secret_key, &signing.public_key)?;
    let signers = kura::signers::Signers::load(signing)?;
    let id = keys::key_id(key.public_key());
    if signers.retired.is_empty() {
        return Err(Error::refused(
            "[signing] previous_public_keys に旧鍵がありません。旧鍵の公開鍵と使用終了日 (until) を記載してから記録してください",
            "[signing] lists no previous_public_keys; add the old public key and its until day first",
        ));
    }
    let operator = ctx.operator(&policy)?;
    let mut log = kura::audit::AuditLog::open(&policy.audit_database, ctx.clock)?;
    if log.find_last("keys.rotate", &id)?.is_some() {
        return Err(Error::refused(
            format!("署名鍵 {id} への更新は既に記録されています"),
            format!("the rotation to signing key {id} is already recorded"),
        ));
    }
    let previous: Vec<serde_json::Value> = signers
        .retired
        .iter()
        .map(|r| serde_json::json!({ "key_id": r.id, "until": r.until.to_string() }))
        .collect();
    let event = log.append(
        &kura::audit::Actor::current(&operator),
        "keys.rotate",
        &id,
        kura::audit::Outcome::Ok,
        &serde_json::json!({
            "key_id": id,
            "public_key": key.public_key().to_base64(),
            "previous": previous,
        }),
    )?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "id": id, "key_id": id, "previous": previous, "event": event.seq,
        }));
    } else {
        outln!(
            "{} {id} ({} {}:{})",
            ctx.t(
                "署名鍵の更新を記録しました:",
                "signing key rotation recorded:"
            ),
            ctx.t("監査記録", "audit event"),
            event.seq,
            event.hash
        );
    }
    Ok(ExitCode::Ok)
}

/// `kura keys coverage`: per recipient, the snapshots it opens.
fn coverage(ctx: &Ctx, identity: Option<PathBuf>) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let only = match &identity {
        Some(path) => Some(keys::load_identities(path, &|p| ctx.passphrase(p))?.recipients()),
        None => None,
    };
    let (mut all, absent) = kura::coverage::coverage(&policy)?;
    if let Some(only) = &only {
        all.retain(|c| only.contains(&c.recipient));
    }
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "recipients": all, "not_connected": absent }));
        return Ok(ExitCode::Ok);
    }
    for c in &all {
        let sole = c.snapshots.iter().filter(|s| s.recipients == 1).count();
        outln!(
            "{}  {}",
            c.recipient,
            match (ctx.lang, c.in_policy) {
                (kura::Lang::Ja, true) => "(ポリシーの受信者)",
                (kura::Lang::Ja, false) => "(ポリシーにない受信者)",
                (kura::Lang::En, true) => "(in the policy)",
                (kura::Lang::En, false) => "(not in the policy)",
            }
        );
        outln!(
            "  {}",
            match ctx.lang {
                kura::Lang::Ja => format!(
                    "開けるスナップショット {} 件 (うちこの鍵だけが開けるもの {sole} 件)",
                    c.snapshots.len()
                ),
                kura::Lang::En => format!(
                    "opens {} snapshot copies ({sole} only it opens)",
                    c.snapshots.len()
                ),
            }
        );
        for s in &c.snapshots {
            outln!(
                "    {}  {}",
                s.id,
                super::snapshots::destination_title(ctx, &policy, &s.destination)
            );
        }
    }
    if only.is_some() && all.is_empty() {
        outln!(
            "{}",
            ctx.t(
                "この鍵で開けるスナップショットはありません",
                "this identity opens no snapshot"
            )
        );
    }
    for d in &absent {
        errln!(
            "{}: {}",
            ctx.t(
                "未接続のため数えていない保存先",
                "not connected, not counted"
            ),
            super::snapshots::destination_title(ctx, &policy, d)
        );
    }
    Ok(ExitCode::Ok)
}

/// `kura keys recipients`: the policy's recipients now, and what changed
/// since the last `keys.recipients` event.
fn recipients(ctx: &Ctx) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let operator = ctx.operator(&policy)?;
    let mut log = kura::audit::AuditLog::open(&policy.audit_database, ctx.clock)?;
    let mut before: Vec<String> = Vec::new();
    log.for_each(|e| {
        if e.action == "keys.recipients" && e.outcome == "ok" {
            let d: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
            before = d["recipients"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .filter_map(|r| r.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
        }
        Ok(())
    })?;
    let now = &policy.recipients;
    let added: Vec<&String> = now.iter().filter(|r| !before.contains(r)).collect();
    let retired: Vec<&String> = before.iter().filter(|r| !now.contains(r)).collect();
    if added.is_empty() && retired.is_empty() {
        return Err(Error::refused(
            "受信者は前回の記録から変わっていません",
            "the recipients are as last recorded",
        ));
    }
    let event = log.append(
        &kura::audit::Actor::current(&operator),
        "keys.recipients",
        "recipients",
        kura::audit::Outcome::Ok,
        &serde_json::json!({ "recipients": now, "added": added, "retired": retired }),
    )?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "recipients": now, "added": added, "retired": retired, "event": event.seq,
        }));
    } else {
        for r in &added {
            outln!("{} {r}", ctx.t("追加:", "added:"));
        }
        for r in &retired {
            outln!("{} {r}", ctx.t("廃止:", "retired:"));
        }
        outln!(
            "{} {}:{}",
            ctx.t("監査記録", "audit event"),
            event.seq,
            event.hash
        );
    }
    Ok(ExitCode::Ok)
}
