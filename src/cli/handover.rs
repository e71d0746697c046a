//! `kura handover create|verify|receive`: packages for the next contractor.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use kura::audit::Outcome;
use kura::handover::{
    self, CreateOutcome, CreateRequest, ReceiveOutcome, ReceiveRequest, SnapshotChoice,
    VerifyOutcome,
};
use kura::{keys, Error, ExitCode};

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a signed, encrypted BagIt package (tar → zstd → age) for the next contractor
    Create(CreateArgs),
    /// Check a package completely (signature, hash, every file) without extracting it
    Verify(VerifyArgs),
    /// Verify, extract into an empty directory and write the receipt (預り証)
    Receive(ReceiveArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Snapshots {
    None,
    Latest,
    All,
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Files or directories to hand over (each goes to data/<base name>/)
    #[arg(long = "include", value_name = "PATH", required = true, num_args = 1..)]
    include: Vec<PathBuf>,
    /// Snapshots to include, as their encrypted files
    #[arg(long, value_enum, default_value = "none")]
    snapshots: Snapshots,
    /// Also include an export of the audit log (JSON Lines and a SQLite copy)
    #[arg(long)]
    with_audit: bool,
    /// Recipients: age1… public keys or recipients files (repeatable)
    #[arg(long = "to", value_name = "RECIPIENT", required = true, num_args = 1..)]
    to: Vec<String>,
    /// The package file to write (must not exist); FILE.manifest.json goes beside it
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The receiving organisation
    #[arg(long = "to-org", value_name = "ORG")]
    to_org: Option<String>,
    /// A description for bag-info.txt (External-Description)
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The package file (FILE.manifest.json and its .minisig beside it)
    file: PathBuf,
    /// An age identity that is one of the package's recipients
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    identity: PathBuf,
    /// The sender's minisign public key, obtained separately (pins the signature)
    #[arg(long = "sender-key", value_name = "FILE")]
    sender_key: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ReceiveArgs {
    /// The package file (FILE.manifest.json and its .minisig beside it)
    file: PathBuf,
    /// An age identity that is one of the package's recipients
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    identity: PathBuf,
    /// Where to extract the bag: must be empty or absent
    #[arg(long, value_name = "DIR")]
    into: PathBuf,
    /// The receiver named on the receipt (person and organisation)
    #[arg(long, value_name = "NAME")]
    receiver: String,
    /// The sender's minisign public key, obtained separately (pins the signature)
    #[arg(long = "sender-key", value_name = "FILE")]
    sender_key: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, command: Command) -> Result<ExitCode, Error> {
    match command {
        Command::Create(a) => create(ctx, a),
        Command::Verify(a) => verify(ctx, a),
        Command::Receive(a) => receive(ctx, a),
    }
}

fn create(ctx: &Ctx, args: CreateArgs) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let recipients = handover::resolve_recipients(&args.to, ctx.lang)?;
    let progress = ctx.progress();
    let target = args.out.display().to_string();
    let outcome = ctx.audited(
        &policy,
        "handover.create",
        &target,
        |session| {
            handover::create(&CreateRequest {
                policy: &policy,
                operator: &session.operator,
                include: &args.include,
                snapshots: match args.snapshots {
                    Snapshots::None => SnapshotChoice::None,
                    Snapshots::Latest => SnapshotChoice::Latest,
                    Snapshots::All => SnapshotChoice::All,
                },
                audit: args.with_audit.then_some(&session.log),
                recipients: &recipients,
                out: &args.out,
                to_organization: args.to_org.as_deref(),
                description: args.description.as_deref(),
                clock: ctx.clock,
                lang: ctx.lang,
                progress: &progress,
            })
        },
        describe_create,
    )?;
    for path in &outcome.skipped {
        errln!(
            "kura: {}: {}",
            ctx.t(
                "特殊ファイルのため含めませんでした",
                "left out (not a regular file)"
            ),
            path.display()
        );
    }
    let m = &outcome.manifest;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "ok": true,
            "id": m.external_identifier,
            "package": outcome.package,
            "manifest_file": outcome.manifest_file,
            "signature_file": outcome.signature_file,
            "manifest": m,
            "skipped": outcome.skipped,
        }));
    } else {
        outln!(
            "{} {}",
            ctx.t("引継ぎパッケージ", "handover package"),
            m.external_identifier
        );
        outln!(
            "  {}: {}",
            ctx.t("ファイル", "file"),
            outcome.package.display()
        );
        outln!(
            "  {}: {} ({} {})",
            ctx.t("大きさ", "size"),
            kura::i18n::size(m.package.bytes, ctx.lang),
            m.package.bytes,
            ctx.t("バイト", "bytes")
        );
        outln!("  SHA-256: {}", m.package.sha256);
        outln!(
            "  {}: {} {} / {}{}",
            ctx.t("内容", "payload"),
            m.payload.files,
            ctx.t("ファイル", "files"),
            kura::i18n::size(m.payload.bytes, ctx.lang),
            oxum(ctx, &m.payload.oxum)
        );
        if !m.contents.snapshots.is_empty() {
            outln!(
                "  {}: {}",
                ctx.t("スナップショット", "snapshots"),
                m.contents.snapshots.join(", ")
            );
        }
        if let Some(a) = &m.contents.audit {
            outln!(
                "  {}: {} {} ({})",
                ctx.t("監査ログ", "audit log"),
                a.events,
                ctx.t("件", "events"),
                a.head
            );
        }
        outln!(
            "  {}: {}",
            ctx.t("受信者", "recipients"),
            m.recipients.join(", ")
        );
        outln!(
            "  {}: {}",
            ctx.t("マニフェスト", "manifest"),
            outcome.manifest_file.display()
        );
        outln!(
            "  {}: {} ({} {})",
            ctx.t("署名", "signature"),
            outcome.signature_file.display(),
            ctx.t("鍵ID", "key id"),
            m.sender.signing_key_id
        );
        outln!(
            "{}",
            ctx.t(
                "受領側には送付元の公開鍵 (署名用 .pub) を別経路で渡し、--sender-key で指定してもらってください。",
                "Give the receiver your signing public key (.pub) by another channel, for --sender-key."
            )
        );
    }
    Ok(ExitCode::Ok)
}

fn describe_create(o: &CreateOutcome) -> (Outcome, serde_json::Value) {
    let m = &o.manifest;
    (
        Outcome::Ok,
        serde_json::json!({
            "id": m.external_identifier,
            "package_sha256": m.package.sha256,
            "package_bytes": m.package.bytes,
            "payload_oxum": m.payload.oxum,
            "files": m.payload.files,
            "snapshots": m.contents.snapshots,
            "audit": m.contents.audit.is_some(),
            "recipients": m.recipients,
            "to_organization": m.to_organization,
            "signing_key_id": m.sender.signing_key_id,
        }),
    )
}

fn load_sender_key(path: Option<&PathBuf>) -> Result<Option<minisign::PublicKey>, Error> {
    path.map(|p| keys::load_public_key(p)).transpose()
}

fn verify(ctx: &Ctx, args: VerifyArgs) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let sender_key = load_sender_key(args.sender_key.as_ref())?;
    let progress = ctx.progress();
    let target = args.file.display().to_string();
    // Decrypting is an access: audited, with a named operator.
    let outcome = ctx.audited(
        &policy,
        "handover.verify",
        &target,
        |_| {
            let identities = keys::load_identities(&args.identity, &|p| ctx.passphrase(p))?;
            handover::verify(&args.file, &identities, sender_key.as_ref(), &progress)
        },
        describe_verify,
    )?;
    let ok = outcome.findings.is_empty();
    let m = &outcome.manifest;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "ok": ok,
            "id": m.external_identifier,
            "signature": outcome.signature,
            "package": m.package,
            "payload": m.payload,
            "files": outcome.files,
            "bytes": outcome.bytes,
            "sender": m.sender,
            "findings": outcome.findings.iter().map(|f| serde_json::json!({
                "entry": f.entry, "detail": f.detail,
            })).collect::<Vec<_>>(),
        }));
    } else {
        outln!(
            "{} {}",
            ctx.t("引継ぎパッケージ", "handover package"),
            m.external_identifier
        );
        print_signature(ctx, &outcome.signature, m);
        outln!(
            "  SHA-256: {} ({})",
            ctx.t("マニフェストと一致", "matches the manifest"),
            m.package.sha256
        );
        let verdict = if ok {
            ctx.t("正常", "valid")
        } else {
            ctx.t("指摘", "FINDING")
        };
        outln!(
            "  {}: {verdict}  {} {} / {}{}",
            ctx.t("パッケージの中身", "BagIt"),
            outcome.files,
            ctx.t("ファイル全件照合", "files checked"),
            kura::i18n::size(outcome.bytes, ctx.lang),
            oxum(ctx, &m.payload.oxum)
        );
        for f in &outcome.findings {
            match &f.entry {
                Some(e) => outln!("    - {e}: {}", f.detail),
                None => outln!("    - {}", f.detail),
            }
        }
    }
    warn_unpinned(ctx, &outcome.signature);
    let failure = outcome.findings.first().map(|f| Error::Integrity {
        path: args.file.clone(),
        detail: match &f.entry {
            Some(e) => format!("{e}: {}", f.detail),
            None => f.detail.clone(),
        },
    });
    ctx.conclude(failure)
}

fn describe_verify(o: &VerifyOutcome) -> (Outcome, serde_json::Value) {
    (
        if o.findings.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Finding
        },
        serde_json::json!({
            "id": o.manifest.external_identifier,
            "package_sha256": o.manifest.package.sha256,
            "files": o.files,
            "findings": o.findings.len(),
            "signing_key_id": o.signature.key_id,
            "key_pinned": o.signature.pinned,
        }),
    )
}

fn print_signature(ctx: &Ctx, sig: &handover::SignatureCheck, m: &handover::HandoverManifest) {
    let how = if sig.pinned {
        ctx.t("--sender-key の公開鍵で確認", "checked with --sender-key")
    } else {
        ctx.t(
            "マニフェスト記載の公開鍵で確認 (未固定)",
            "checked with the key in the manifest (NOT pinned)",
        )
    };
    outln!(
        "  {}: {} — {} {} ({how})",
        ctx.t("署名", "signature"),
        ctx.t("正常", "valid"),
        ctx.t("鍵ID", "key id"),
        sig.key_id
    );
    outln!(
        "  {}: {} / {} ({})",
        ctx.t("送付元", "sender"),
        m.sender.organization,
        m.sender.operator,
        m.created_at
    );
}

/// Says, on stderr, that an unpinned signature proves little, and what to do.
fn warn_unpinned(ctx: &Ctx, sig: &handover::SignatureCheck) {
    if sig.pinned {
        return;
    }
    errln!(
        "kura: {}",
        match ctx.lang {
            kura::Lang::Ja => format!(
                "注意: 送付元の公開鍵が固定されていません。署名はパッケージ自身が記載する鍵 (鍵ID {}) で確認しただけです。この鍵IDを送付元に電話等で確認するか、送付元の公開鍵を --sender-key で指定してください。",
                sig.key_id
            ),
            kura::Lang::En => format!(
                "warning: the sender's key is not pinned; the signature was checked only with the key the package names itself (key id {}). Confirm this key id with the sender by phone, or give their public key with --sender-key.",
                sig.key_id
            ),
        }
    );
}

fn receive(ctx: &Ctx, args: ReceiveArgs) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let sender_key = load_sender_key(args.sender_key.as_ref())?;
    let signing = match &policy.signing {
        Some(s) => Some(keys::load_signing_key(&s.secret_key, &s.public_key)?),
        None => None,
    };
    if args.receiver.trim().is_empty() {
        return Err(Error::Usage(
            ctx.t(
                "--receiver に受領者の氏名を指定してください",
                "--receiver needs the receiver's name",
            )
            .to_string(),
        ));
    }
    let progress = ctx.progress();
    let target = args.file.display().to_string();
    let outcome = ctx.audited(
        &policy,
        "handover.receive",
        &target,
        |session| {
            let identities = keys::load_identities(&args.identity, &|p| ctx.passphrase(p))?;
            let started = session.log.head()?;
            handover::receive(&ReceiveRequest {
                package: &args.file,
                identities: &identities,
                sender_key: sender_key.as_ref(),
                into: &args.into,
                receiver: args.receiver.trim(),
                operator: &session.operator,
                site: &policy.site,
                signing: signing.as_ref(),
                audit: started,
                clock: ctx.clock,
                lang: ctx.document_lang,
                progress: &progress,
            })
        },
        describe_receive,
    )?;
    let r = &outcome.receipt;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "ok": true,
            "id": r.external_identifier,
            "bag_dir": outcome.bag_dir,
            "receipt_json": outcome.receipt_json,
            "receipt_html": outcome.receipt_html,
            "signatures": outcome.signatures,
            "signature": outcome.signature,
            "receipt": r,
        }));
    } else {
        outln!(
            "{} {}",
            ctx.t(
                "引継ぎパッケージを受領しました",
                "received handover package"
            ),
            r.external_identifier
        );
        outln!(
            "  SHA-256: {} ({})",
            ctx.t("マニフェストと一致", "matches the manifest"),
            r.package.sha256
        );
        outln!(
            "  {}: {}  {} {} / {}{}",
            ctx.t("パッケージの中身", "BagIt"),
            ctx.t("正常", "valid"),
            r.payload.files,
            ctx.t(
                "ファイル全件照合 (展開後も再照合)",
                "files checked (again after extraction)"
            ),
            kura::i18n::size(r.payload.bytes, ctx.lang),
            oxum(ctx, &r.payload_oxum)
        );
        outln!(
            "  {}: {}",
            ctx.t("展開先", "bag"),
            outcome.bag_dir.display()
        );
        outln!(
            "  {}: {}",
            ctx.t("預り証", "receipt"),
            outcome.receipt_json.display()
        );
        outln!("  HTML: {}", outcome.receipt_html.display());
        if outcome.signatures.is_empty() {
            outln!(
                "  {}",
                ctx.t(
                    "預り証は署名されていません (ポリシーに [signing] がありません)",
                    "the receipt is not signed (no [signing] in the policy)"
                )
            );
        }
    }
    warn_unpinned(ctx, &outcome.signature);
    Ok(ExitCode::Ok)
}

fn describe_receive(o: &ReceiveOutcome) -> (Outcome, serde_json::Value) {
    let r = &o.receipt;
    let receipt_sha256 = std::fs::File::open(&o.receipt_json)
        .and_then(|f| kura::sums::digest_reader(std::io::BufReader::new(f)))
        .map(|(d, _)| hex::encode(d))
        .unwrap_or_default();
    (
        Outcome::Ok,
        serde_json::json!({
            "id": r.external_identifier,
            "package_sha256": r.package.sha256,
            "payload_oxum": r.payload_oxum,
            "files": r.payload.files,
            "receiver": r.receiver.name,
            "sender": r.sender.organization,
            "signing_key_id": o.signature.key_id,
            "key_pinned": o.signature.pinned,
            "receipt": o.receipt_json.file_name().map(|n| n.to_string_lossy().into_owned()),
            "receipt_sha256": receipt_sha256,
        }),
    )
}

/// BagIt's `Payload-Oxum` for the English reader who knows BagIt; under
/// Japanese the file count and size already say it in words.
fn oxum(ctx: &Ctx, oxum: &str) -> String {
    match ctx.lang {
        kura::Lang::Ja => String::new(),
        kura::Lang::En => format!("  (Payload-Oxum {oxum})"),
    }
}
