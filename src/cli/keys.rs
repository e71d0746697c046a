//! `kura keys age|recipient|sign`: make and inspect keys. No policy needed.

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
}

pub fn run(ctx: &Ctx, command: Command) -> Result<ExitCode, Error> {
    match command {
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
