//! Receiving a package: checked, extracted only inside an empty directory,
//! checked again on disk, and the receipt (預り証) written beside it.

use super::*;

// ---------------------------------------------------------------------------
// Receiving

/// A package to receive.
pub struct ReceiveRequest<'a> {
    /// The package file.
    pub package: &'a Path,
    /// Identities, one of which is a recipient.
    pub identities: &'a Identities,
    /// The sender's public key, when the receiver has it (`--sender-key`).
    pub sender_key: Option<&'a minisign::PublicKey>,
    /// Where to extract: empty or absent.
    pub into: &'a Path,
    /// The receiver named on the receipt (`--receiver`).
    pub receiver: &'a str,
    /// The receiving operator.
    pub operator: &'a str,
    /// The receiving site.
    pub site: &'a Site,
    /// The receiving policy's signing key: the receipt is signed when set.
    pub signing: Option<&'a SigningKey>,
    /// The receive's own audit event (`seq`, `hash`), recorded on the receipt.
    pub audit: Option<(u64, String)>,
    /// The clock.
    pub clock: Clock,
    /// Language of the printable receipt.
    pub lang: Lang,
    /// Progress.
    pub progress: &'a dyn Progress,
}

/// A receipt (預り証), written as JSON and printable HTML.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Receipt {
    /// Always [`RECEIPT_FORMAT`].
    pub format: String,
    /// `receipt-<External-Identifier>`.
    pub id: String,
    /// The package's External-Identifier.
    pub external_identifier: String,
    /// The package file as received.
    pub package: PackageMeta,
    /// The verified Payload-Oxum.
    pub payload_oxum: String,
    /// The verified payload.
    pub payload: PayloadMeta,
    /// Who sent it (from the signed manifest).
    pub sender: ReceiptSender,
    /// Who received it.
    pub receiver: ReceiptReceiver,
    /// When, RFC 3339 UTC.
    pub received_at: String,
    /// When, in the receiving machine's local time (RFC 3339 with offset).
    pub received_at_local: String,
    /// The local date in 和暦, e.g. `令和6年1月31日`.
    pub received_date_wareki: String,
    /// Whether `KURA_NOW` replaced the clock (a rehearsal).
    pub clock_overridden: bool,
    /// The real time of the receipt (RFC 3339, local), when `KURA_NOW`
    /// replaced the clock: `received_at` then says what the rehearsal pretended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_time: Option<String>,
    /// Where the bag was extracted.
    pub bag_directory: PathBuf,
    /// What was checked.
    pub checks: ReceiptChecks,
    /// What was received: documents, snapshots, the audit log copy (absent
    /// in receipts of older kura versions).
    #[serde(default)]
    pub contents: ReceivedContents,
    /// The city the receipt is addressed to (the receiving policy's
    /// `[site] addressee`), besides the sender.
    #[serde(default)]
    pub addressee: Option<String>,
    /// The receive's audit event on the receiving side.
    pub audit: Option<snapshot::AuditMeta>,
    /// Which tool wrote it.
    pub tool: ToolMeta,
}

/// The sender, as the signed manifest names it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReceiptSender {
    /// Source-Organization.
    pub organization: String,
    /// The sending site.
    pub site: SiteMeta,
    /// The operator who made the package.
    pub operator: String,
    /// When the package was made.
    pub created_at: String,
    /// The key id its manifest is signed with.
    pub signing_key_id: String,
}

/// The receiver.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReceiptReceiver {
    /// The receiver named with `--receiver`.
    pub name: String,
    /// The receiving operator.
    pub operator: String,
    /// The receiving site (its policy's `[site]`).
    pub site: SiteMeta,
}

/// What was checked before the receipt was written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReceiptChecks {
    /// `"valid"`: the manifest's signature verified.
    pub signature: String,
    /// Whether the key was the receiver's own copy (`--sender-key`).
    pub key_pinned: bool,
    /// `"match"`: the package's SHA-256 and size are the manifest's.
    pub package_sha256: String,
    /// `"valid"`: the bag validated in the stream and again on disk.
    pub bag: String,
    /// Payload files checked.
    pub files_checked: u64,
}

/// What [`receive`] did.
#[derive(Debug, Clone)]
pub struct ReceiveOutcome {
    /// The receipt.
    pub receipt: Receipt,
    /// How the signature was checked.
    pub signature: SignatureCheck,
    /// The extracted bag directory.
    pub bag_dir: PathBuf,
    /// `receipt-<id>.json`.
    pub receipt_json: PathBuf,
    /// `receipt-<id>.html`.
    pub receipt_html: PathBuf,
    /// Their `.minisig` files, when the receiver signs.
    pub signatures: Vec<PathBuf>,
}

/// Verifies a package, extracts its bag into `into` (empty or absent), checks
/// the bag again on disk and writes the receipt beside it. On any problem
/// everything written is removed again.
pub fn receive(req: &ReceiveRequest) -> Result<ReceiveOutcome> {
    let (manifest, signature) = check_manifest(req.package, req.sender_key)
        .and_then(|(m, s)| check_package(req.package, &m, req.progress).map(|()| (m, s)))
        .map_err(crate::interrupt::or_interrupted)?;
    let target = restore::prepare_target(req.into)?;
    let result = extract_and_receipt(req, &target, &manifest, &signature);
    if result.is_err() {
        // Interrupted too: nothing half-extracted is left.
        restore::remove_written(target);
    }
    result.map_err(crate::interrupt::or_interrupted)
}

pub(super) fn extract_and_receipt(
    req: &ReceiveRequest,
    target: &restore::Target,
    manifest: &HandoverManifest,
    signature: &SignatureCheck,
) -> Result<ReceiveOutcome> {
    let id = &manifest.external_identifier;
    let root = target
        .dir
        .try_clone()
        .map_err(|e| Error::io(Action::Read, req.into, e))?;
    let mut sink = RestoreSink::new(root, req.into, false);
    let observed = match read_bag(
        req.package,
        manifest,
        req.identities,
        &mut sink,
        true,
        req.progress,
    ) {
        Ok(o) => o,
        Err(e) => return Err(sink.failure.take().unwrap_or(e)),
    };
    let findings = validate(&observed, manifest);
    if let Some(first) = findings.first() {
        return Err(integrity(req.package, first, findings.len()));
    }
    restore::set_dir_times(&target.dir, req.into, &sink.dir_times)?;

    let bag_dir = req.into.join(id);
    let on_disk = check_on_disk(req, manifest, &bag_dir)?;
    let receipt = make_receipt(req, manifest, signature, &on_disk, &bag_dir);
    let (receipt_json, receipt_html, signatures) =
        write_receipt(req, &receipt, manifest, signature)?;
    Ok(ReceiveOutcome {
        receipt,
        signature: signature.clone(),
        bag_dir,
        receipt_json,
        receipt_html,
        signatures,
    })
}

/// The bag validated once more, as it now lies on disk, with nothing beside
/// it in the target directory.
pub(super) fn check_on_disk(
    req: &ReceiveRequest,
    manifest: &HandoverManifest,
    bag_dir: &Path,
) -> Result<Observed> {
    let id = manifest.external_identifier.as_str();
    let on_disk = observe_dir(bag_dir, &Silent)?;
    let mut findings = validate(&on_disk, manifest);
    let entries = fs::read_dir(req.into).map_err(|e| Error::io(Action::List, req.into, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(Action::List, req.into, e))?;
        if entry.file_name().to_str() != Some(id) {
            findings.push(finding(
                Some(entry.file_name().to_string_lossy().as_bytes()),
                "outside the bag directory",
            ));
        }
    }
    if let Some(first) = findings.first() {
        return Err(integrity(bag_dir, first, findings.len()));
    }
    Ok(on_disk)
}

/// The receipt of a received bag, from what lies on disk (`on_disk`), the
/// signed manifest and the receiving policy.
pub(super) fn make_receipt(
    req: &ReceiveRequest,
    manifest: &HandoverManifest,
    signature: &SignatureCheck,
    on_disk: &Observed,
    bag_dir: &Path,
) -> Receipt {
    let id = &manifest.external_identifier;
    let (files, bytes) = on_disk.payload_totals();
    let now = req.clock.now();
    let local = now.with_timezone(&chrono::Local);
    Receipt {
        format: RECEIPT_FORMAT.into(),
        id: format!("receipt-{id}"),
        external_identifier: id.clone(),
        package: PackageMeta {
            file: req
                .package
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..manifest.package.clone()
        },
        payload_oxum: oxum(bytes, files),
        payload: PayloadMeta {
            oxum: oxum(bytes, files),
            files,
            bytes,
        },
        sender: ReceiptSender {
            organization: manifest.sender.organization.clone(),
            site: manifest.sender.site.clone(),
            operator: manifest.sender.operator.clone(),
            created_at: manifest.created_at.clone(),
            signing_key_id: signature.key_id.clone(),
        },
        receiver: ReceiptReceiver {
            name: req.receiver.to_string(),
            operator: req.operator.to_string(),
            site: site_meta(req.site),
        },
        received_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        received_at_local: local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        received_date_wareki: wareki::format_ja(local.date_naive()),
        clock_overridden: req.clock.is_overridden(),
        real_time: req.clock.real_time_if_overridden(),
        bag_directory: absolute(bag_dir),
        checks: ReceiptChecks {
            signature: "valid".into(),
            key_pinned: signature.pinned,
            package_sha256: "match".into(),
            bag: "valid".into(),
            files_checked: files,
        },
        contents: receipt::contents(
            on_disk.payload.iter().map(|(p, (_, n))| (p.as_slice(), *n)),
            manifest,
        ),
        addressee: req.site.addressee.clone(),
        audit: req
            .audit
            .clone()
            .map(|(seq, head)| snapshot::AuditMeta { seq, head }),
        tool: tool(),
    }
}

/// Writes the receipt's JSON and HTML (and their signatures when the
/// receiving policy signs) under temporary names and publishes them together.
pub(super) fn write_receipt(
    req: &ReceiveRequest,
    receipt: &Receipt,
    manifest: &HandoverManifest,
    signature: &SignatureCheck,
) -> Result<(PathBuf, PathBuf, Vec<PathBuf>)> {
    let id = &manifest.external_identifier;
    let receipt_json = req.into.join(format!("{}.json", receipt.id));
    let receipt_html = req.into.join(format!("{}.html", receipt.id));
    let mut json = serde_json::to_vec_pretty(receipt)
        .map_err(|e| Error::io(Action::Write, &receipt_json, io::Error::other(e)))?;
    json.push(b'\n');
    let html = receipt::render_html(receipt, signature, req.site, req.lang);
    let json_tmp = temp_in(req.into)?;
    write_temp(&json_tmp, &json)?;
    let html_tmp = temp_in(req.into)?;
    write_temp(&html_tmp, html.as_bytes())?;
    let mut staged = vec![
        (json_tmp, receipt_json.clone()),
        (html_tmp, receipt_html.clone()),
    ];
    let mut signatures = Vec::new();
    if let Some(key) = req.signing {
        let comment = format!("kura-receipt {id} {}", manifest.package.sha256);
        let mut sigs = Vec::new();
        for (tmp, path) in &staged {
            let sig_tmp = temp_in(req.into)?;
            key.sign_file(tmp.path(), sig_tmp.path(), &comment)?;
            sigs.push((sig_tmp, audit::signature_path(path)));
        }
        signatures = sigs.iter().map(|(_, p)| p.clone()).collect();
        staged.extend(sigs);
    }
    publish(staged, req.into)?;
    Ok((receipt_json, receipt_html, signatures))
}

/// A path as it reads best on a receipt: absolute, without `..` where the
/// platform can say so plainly (Windows' canonical form is a `\\?\` path).
pub(super) fn absolute(path: &Path) -> PathBuf {
    let plain = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if cfg!(windows) {
        plain
    } else {
        fs::canonicalize(path).unwrap_or(plain)
    }
}

pub(super) fn integrity(path: &Path, first: &Finding, count: usize) -> Error {
    let mut detail = match &first.entry {
        Some(e) => format!("{e}: {}", first.detail),
        None => first.detail.clone(),
    };
    if count > 1 {
        detail.push_str(&format!(" (and {} more findings)", count - 1));
    }
    Error::Integrity {
        path: path.to_path_buf(),
        detail,
    }
}
