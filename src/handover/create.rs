//! Making a package: the snapshots and includes chosen and checked, the
//! audit log exported, the bag streamed through tar, zstd and age, the
//! manifest signed, everything published at once.

use super::*;

// ---------------------------------------------------------------------------
// Creating

/// Which snapshots go into a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotChoice {
    /// None.
    None,
    /// The newest on any destination.
    Latest,
    /// Every snapshot on any destination.
    All,
}

/// A package to create.
pub struct CreateRequest<'a> {
    /// The sending policy.
    pub policy: &'a Policy,
    /// The operator making it.
    pub operator: &'a str,
    /// Files and directories to include, each under `data/<base name>/`.
    pub include: &'a [PathBuf],
    /// Snapshots to include, as their encrypted files.
    pub snapshots: SnapshotChoice,
    /// The audit log, to include an export of it (`--with-audit`).
    pub audit: Option<&'a AuditLog>,
    /// `age1…` recipients (see [`resolve_recipients`]).
    pub recipients: &'a [String],
    /// The package file to write; must not exist.
    pub out: &'a Path,
    /// The receiving organisation.
    pub to_organization: Option<&'a str>,
    /// The bag's External-Description.
    pub description: Option<&'a str>,
    /// The clock.
    pub clock: Clock,
    /// Language of usage errors.
    pub lang: Lang,
    /// Progress.
    pub progress: &'a dyn Progress,
}

/// What [`create`] made.
#[derive(Debug, Clone)]
pub struct CreateOutcome {
    /// The manifest as written beside the package.
    pub manifest: HandoverManifest,
    /// The package file.
    pub package: PathBuf,
    /// `FILE.manifest.json`.
    pub manifest_file: PathBuf,
    /// `FILE.manifest.json.minisig`.
    pub signature_file: PathBuf,
    /// Special files left out (sockets, FIFOs, devices).
    pub skipped: Vec<PathBuf>,
}

/// Reads `--to` values: `age1…` recipients, or files listing one per line
/// (`#` comments and empty lines ignored). Duplicates are dropped.
pub fn resolve_recipients(values: &[String], lang: Lang) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for value in values {
        let texts: Vec<String> = if value.trim().starts_with("age1") {
            vec![value.trim().to_string()]
        } else if Path::new(value).is_file() {
            let path = Path::new(value);
            let text = read_limited(path, MAX_SMALL_FILE).map_err(|e| Error::key_io(path, &e))?;
            String::from_utf8_lossy(&text)
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        } else {
            return Err(Error::Usage(match lang {
                Lang::Ja => format!(
                    "--to「{value}」は age の受信者 (age1…) でも受信者ファイルでもありません"
                ),
                Lang::En => format!(
                    "--to {value:?} is neither an age recipient (age1…) nor a recipients file"
                ),
            }));
        };
        keys::parse_recipients(&texts)?;
        for t in texts {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    if out.is_empty() {
        return Err(Error::Usage(
            lang.pick(
                "受信者 (--to) がありません",
                "no recipients were given (--to)",
            )
            .to_string(),
        ));
    }
    Ok(out)
}

/// Builds a package: a BagIt bag streamed as tar → zstd → age into `out`,
/// `out.manifest.json` and its signature. Needs `[signing]` in the policy.
/// Interrupted, it leaves no package (its temporary files are removed).
pub fn create(req: &CreateRequest) -> Result<CreateOutcome> {
    create_package(req).map_err(crate::interrupt::or_interrupted)
}

pub(super) fn create_package(req: &CreateRequest) -> Result<CreateOutcome> {
    let lang = req.lang;
    let signing = req.policy.signing.as_ref().ok_or_else(|| {
        Error::Usage(
            lang.pick(
                "引継ぎパッケージには署名が必要です。ポリシーに [signing] を設定してください (kura keys sign)",
                "a handover package must be signed: set [signing] in the policy (kura keys sign)",
            )
            .to_string(),
        )
    })?;
    let key = keys::load_signing_key(&signing.secret_key, &signing.public_key)?;
    let outputs = outputs(req)?;
    if req.recipients.is_empty() {
        return Err(Error::Usage(
            lang.pick(
                "受信者 (--to) がありません",
                "no recipients were given (--to)",
            )
            .to_string(),
        ));
    }
    let recipients = keys::parse_recipients(req.recipients)?;
    let includes = check_includes(req, &outputs.dir)?;
    let signers = crate::signers::Signers::load(signing)?;
    let snapshots = select_snapshots(req.policy, req.snapshots, &signers)?;

    let (staging, audit_export) = stage_audit(req)?;

    let now = req.clock.now();
    let id = external_identifier(&req.policy.site, now);
    let site = &req.policy.site;
    let organization = site
        .contractor
        .clone()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| site.name.clone());
    let description = req.description.map(str::to_string).unwrap_or_else(|| {
        format!(
            "{} / {}: handover package made by {} {}",
            site.name,
            site.system,
            crate::TOOL_NAME,
            crate::TOOL_VERSION
        )
    });
    let bag = BagSpec {
        id: &id,
        mtime: Mtime {
            secs: u64::try_from(now.timestamp()).unwrap_or(0),
            nanos: 0,
        },
        includes: &includes,
        snapshots: &snapshots,
        audit_dir: staging.as_ref().map(|d| d.path().join(AUDIT_DIR)),
        info: BagInfo {
            organization: &organization,
            contact: req.operator,
            description: &description,
            bagging_date: req.clock.local().format("%Y-%m-%d").to_string(),
            to_organization: req.to_organization,
        },
    };
    let (written, package_tmp) = write_with_retries(&bag, req, &recipients, &outputs.dir)?;
    drop(staging);

    let manifest = HandoverManifest {
        format: FORMAT.to_string(),
        external_identifier: id.clone(),
        created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        clock_overridden: req.clock.is_overridden(),
        bagging_date: bag.info.bagging_date.clone(),
        tool: tool(),
        package: PackageMeta {
            file: outputs.file_name.clone(),
            sha256: hex::encode(written.sha256),
            bytes: written.bytes,
            tar_bytes: written.tar_bytes,
        },
        payload: PayloadMeta {
            oxum: oxum(written.payload_bytes, written.payload_files),
            files: written.payload_files,
            bytes: written.payload_bytes,
        },
        contents: ContentsMeta {
            included_paths: includes.len() as u64,
            snapshots: snapshots.iter().map(|s| s.id.clone()).collect(),
            audit: audit_export,
        },
        sender: SenderMeta {
            organization: organization.clone(),
            site: site_meta(site),
            operator: req.operator.to_string(),
            signing_key_id: keys::key_id(key.public_key()),
            signing_public_key: key.public_key().to_base64(),
        },
        to_organization: req.to_organization.map(str::to_string),
        description: Some(description.clone()),
        recipients: req.recipients.to_vec(),
        compression: CompressionMeta {
            algorithm: "zstd".into(),
            level: req.policy.compression.level,
        },
    };
    sign_and_publish(&manifest, &key, package_tmp, req.out, &outputs)?;
    Ok(CreateOutcome {
        manifest,
        package: req.out.to_path_buf(),
        manifest_file: outputs.manifest_file,
        signature_file: outputs.signature_file,
        skipped: written.skipped,
    })
}

/// The audit log exported for `--with-audit`: the one thing staged, as
/// `VACUUM INTO` writes a file. The directory goes when the package is
/// written.
pub(super) fn stage_audit(
    req: &CreateRequest,
) -> Result<(Option<tempfile::TempDir>, Option<AuditExportMeta>)> {
    let staging = match req.audit {
        Some(_) => Some(
            // Beside the audit database (see backup): a leftover reveals
            // nothing beyond the log itself.
            tempfile::Builder::new()
                .prefix(".kura-handover-")
                .tempdir_in(audit_dir(req.policy))
                .map_err(|e| Error::io(Action::Create, audit_dir(req.policy), e))?,
        ),
        None => None,
    };
    let audit_export = match (req.audit, &staging) {
        (Some(log), Some(dir)) => Some(export_audit(log, dir.path(), req.clock)?),
        _ => None,
    };
    Ok((staging, audit_export))
}

/// Where a package and its manifest go, all checked not to exist yet.
pub(super) struct Outputs {
    /// The package's file name, as the manifest records it.
    pub(super) file_name: String,
    /// The directory the three files are published in.
    pub(super) dir: PathBuf,
    /// `FILE.manifest.json`.
    pub(super) manifest_file: PathBuf,
    /// `FILE.manifest.json.minisig`.
    pub(super) signature_file: PathBuf,
}

/// The package's, manifest's and signature's paths; none may exist yet.
pub(super) fn outputs(req: &CreateRequest) -> Result<Outputs> {
    let manifest_file = manifest_path(req.out);
    let signature_file = audit::signature_path(&manifest_file);
    for p in [req.out, &manifest_file, &signature_file] {
        if fs::symlink_metadata(p).is_ok() {
            return Err(Error::WouldOverwrite {
                path: p.to_path_buf(),
            });
        }
    }
    let file_name = req
        .out
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Usage(match req.lang {
                Lang::Ja => format!("--out {} はファイル名ではありません", req.out.display()),
                Lang::En => format!("--out {} is not a file name", req.out.display()),
            })
        })?;
    let dir = match req.out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(Outputs {
        file_name,
        dir,
        manifest_file,
        signature_file,
    })
}

/// Writes the package into a temporary file in `out_dir`, starting again
/// (up to `MAX_ATTEMPTS` times) when a source changes while it is read.
pub(super) fn write_with_retries(
    bag: &BagSpec,
    req: &CreateRequest,
    recipients: &[age::x25519::Recipient],
    out_dir: &Path,
) -> Result<(Written, tempfile::NamedTempFile)> {
    let mut measured: Vec<PathBuf> = bag.includes.to_vec();
    measured.extend(bag.snapshots.iter().map(|s| s.dir.clone()));
    req.progress.start("handover", archive::measure(&measured));
    let mut attempt = 0;
    let written = loop {
        attempt += 1;
        let tmp = temp_in(out_dir)?;
        match write_package(bag, req, recipients, &tmp) {
            Ok(w) => break Ok((w, tmp)),
            Err(WriteError::SourceChanged(path)) if attempt < MAX_ATTEMPTS => {
                let _ = path;
                req.progress.start("handover", archive::measure(&measured));
            }
            Err(WriteError::SourceChanged(path)) => {
                break Err(Error::SourceChanging {
                    path,
                    attempts: attempt,
                })
            }
            Err(WriteError::Failed(e)) => break Err(e),
        }
    };
    req.progress.finish();
    written
}

/// Writes and signs the manifest, then renames the package, the manifest
/// and its signature into place together.
pub(super) fn sign_and_publish(
    manifest: &HandoverManifest,
    key: &SigningKey,
    package_tmp: tempfile::NamedTempFile,
    package: &Path,
    outputs: &Outputs,
) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(manifest)
        .map_err(|e| Error::io(Action::Write, &outputs.manifest_file, io::Error::other(e)))?;
    json.push(b'\n');
    let manifest_tmp = temp_in(&outputs.dir)?;
    write_temp(&manifest_tmp, &json)?;
    let signature_tmp = temp_in(&outputs.dir)?;
    key.sign_file(
        manifest_tmp.path(),
        signature_tmp.path(),
        &manifest_trusted_comment(manifest),
    )?;
    publish(
        vec![
            (package_tmp, package.to_path_buf()),
            (manifest_tmp, outputs.manifest_file.clone()),
            (signature_tmp, outputs.signature_file.clone()),
        ],
        &outputs.dir,
    )
}

pub(super) fn tool() -> ToolMeta {
    ToolMeta {
        name: crate::TOOL_NAME.into(),
        version: crate::TOOL_VERSION.into(),
    }
}

pub(super) fn site_meta(site: &Site) -> SiteMeta {
    SiteMeta {
        name: site.name.clone(),
        system: site.system.clone(),
        contractor: site.contractor.clone(),
        contract_code: site.contract_code.clone(),
    }
}

pub(super) fn oxum(bytes: u64, files: u64) -> String {
    format!("{bytes}.{files}")
}

/// The included paths, checked: they exist, have distinct Unicode base names
/// that do not collide with `snapshots`/`audit` when those are included, and
/// do not contain the output directory (the package would read itself).
pub(super) fn check_includes(req: &CreateRequest, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let lang = req.lang;
    let usage = |ja: String, en: String| Error::Usage(lang.pick(ja, en));
    if req.include.is_empty() {
        return Err(usage(
            "--include で引き継ぐファイルまたはディレクトリを指定してください".into(),
            "name what to hand over with --include".into(),
        ));
    }
    let out_canonical =
        fs::canonicalize(out_dir).map_err(|e| Error::io(Action::Read, out_dir, e))?;
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut out = Vec::new();
    for path in req.include {
        let meta = fs::metadata(path).map_err(|e| Error::io(Action::Read, path, e))?;
        let shown = path.display();
        let base = path
            .file_name()
            .ok_or_else(|| {
                usage(
                    format!(
                        "--include {shown} には名前がありません。ディレクトリ名で指定してください"
                    ),
                    format!("--include {shown} has no base name; name the directory itself"),
                )
            })?
            .to_str()
            .ok_or_else(|| {
                usage(
                    format!("--include {shown} の名前が Unicode ではありません"),
                    format!("--include {shown}: the name is not valid Unicode"),
                )
            })?;
        let reserved = (base.eq_ignore_ascii_case(SNAPSHOTS_DIR)
            && req.snapshots != SnapshotChoice::None)
            || (base.eq_ignore_ascii_case(AUDIT_DIR) && req.audit.is_some());
        if reserved {
            return Err(usage(
                format!("--include {shown}: 名前「{base}」はパッケージ内で予約されています"),
                format!("--include {shown}: the name {base:?} is reserved in the package"),
            ));
        }
        if let Some(first) = seen.insert(base.to_lowercase(), path.clone()) {
            return Err(usage(
                format!(
                    "--include {shown} と {} は同じ名前「{base}」になります",
                    first.display()
                ),
                format!(
                    "--include {shown} and {} have the same name {base:?}",
                    first.display()
                ),
            ));
        }
        if meta.is_dir() {
            let canonical = fs::canonicalize(path).map_err(|e| Error::io(Action::Read, path, e))?;
            if out_canonical.starts_with(&canonical) {
                return Err(usage(
                    format!("--out の置き場所が --include {shown} の中にあります。パッケージが自分自身を含んでしまいます"),
                    format!("--out lies inside --include {shown}: the package would contain itself"),
                ));
            }
        }
        out.push(path.clone());
    }
    Ok(out)
}

/// One snapshot going into a package.
pub(super) struct ChosenSnapshot {
    pub(super) id: String,
    pub(super) dir: PathBuf,
    /// Its `SHA256SUMS`, by file name.
    pub(super) sums: BTreeMap<Vec<u8>, Sha256Digest>,
}

/// The chosen snapshots, each from the first destination (in policy order)
/// that has it, each passing the key-less check.
pub(super) fn select_snapshots(
    policy: &Policy,
    choice: SnapshotChoice,
    signers: &crate::signers::Signers,
) -> Result<Vec<ChosenSnapshot>> {
    if choice == SnapshotChoice::None {
        return Ok(Vec::new());
    }
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut missing = None;
    for d in &policy.destinations {
        if !d.path.is_dir() {
            missing.get_or_insert(Error::DestinationMissing {
                dest: d.name.clone(),
                path: d.path.clone(),
            });
            continue;
        }
        for s in snapshot::list(&d.path)? {
            found.entry(s.id).or_insert(s.dir);
        }
    }
    if found.is_empty() {
        return Err(missing.unwrap_or_else(|| Error::Integrity {
            path: policy
                .destinations
                .first()
                .map(|d| d.path.clone())
                .unwrap_or_default(),
            detail: "no snapshot on any destination".into(),
        }));
    }
    let chosen: Vec<(String, PathBuf)> = match choice {
        SnapshotChoice::Latest => found.into_iter().next_back().into_iter().collect(),
        _ => found.into_iter().collect(),
    };
    let mut out = Vec::new();
    for (id, dir) in chosen {
        let verdict = verify::check_snapshot(
            &dir,
            &verify::CheckOptions {
                signers: Some(signers),
                identities: None,
                against_source: None,
                progress: &Silent,
            },
        )?;
        if let Some(f) = verdict.findings.first() {
            return Err(Error::Integrity {
                path: dir,
                detail: f.clone(),
            });
        }
        let sums_path = dir.join(snapshot::SUMS);
        let file = File::open(&sums_path).map_err(|e| Error::io(Action::Read, &sums_path, e))?;
        let sums = sums::parse(BufReader::new(file))
            .map_err(|e| Error::Integrity {
                path: sums_path.clone(),
                detail: e.to_string(),
            })?
            .into_iter()
            .map(|e| (e.name, e.digest))
            .collect();
        out.push(ChosenSnapshot { id, dir, sums });
    }
    Ok(out)
}

/// Writes a consistent copy of the audit database and a JSON Lines export of
/// that same copy into `<staging>/audit/`.
pub(super) fn export_audit(
    log: &AuditLog,
    staging: &Path,
    clock: Clock,
) -> Result<AuditExportMeta> {
    let dir = staging.join(AUDIT_DIR);
    fs::create_dir(&dir).map_err(|e| Error::io(Action::Create, &dir, e))?;
    let copy = dir.join(AUDIT_SQLITE);
    log.copy_to(&copy)?;
    let jsonl = dir.join(AUDIT_JSONL);
    let file = File::create(&jsonl).map_err(|e| Error::io(Action::Create, &jsonl, e))?;
    let mut out = BufWriter::new(file);
    let mut events = 0u64;
    let mut head = format!("0:{}", hex::encode(audit::GENESIS));
    {
        let exported = AuditLog::open_existing(&copy, clock)?;
        exported.for_each(|e| {
            events += 1;
            head = format!("{}:{}", e.seq, e.hash);
            let line = serde_json::to_string(&e).map_err(io::Error::other);
            line.and_then(|l| writeln!(out, "{l}"))
                .map_err(|e| Error::io(Action::Write, &jsonl, e))
        })?;
    }
    let file = out
        .into_inner()
        .map_err(|e| Error::io(Action::Write, &jsonl, e.into_error()))?;
    file.sync_all()
        .map_err(|e| Error::io(Action::Sync, &jsonl, e))?;
    Ok(AuditExportMeta { events, head })
}

/// What the bag holds, for the writer.
pub(super) struct BagSpec<'a> {
    pub(super) id: &'a str,
    pub(super) mtime: Mtime,
    pub(super) includes: &'a [PathBuf],
    pub(super) snapshots: &'a [ChosenSnapshot],
    pub(super) audit_dir: Option<PathBuf>,
    pub(super) info: BagInfo<'a>,
}

/// The `bag-info.txt` fields known before the payload is read.
pub(super) struct BagInfo<'a> {
    pub(super) organization: &'a str,
    pub(super) contact: &'a str,
    pub(super) description: &'a str,
    pub(super) bagging_date: String,
    pub(super) to_organization: Option<&'a str>,
}

/// What one pass of [`write_package`] wrote.
pub(super) struct Written {
    pub(super) sha256: Sha256Digest,
    pub(super) bytes: u64,
    pub(super) tar_bytes: u64,
    pub(super) payload_files: u64,
    pub(super) payload_bytes: u64,
    pub(super) skipped: Vec<PathBuf>,
}

/// One pass: the bag as a tar stream, compressed and encrypted into `tmp`.
pub(super) fn write_package(
    bag: &BagSpec,
    req: &CreateRequest,
    recipients: &[age::x25519::Recipient],
    tmp: &tempfile::NamedTempFile,
) -> std::result::Result<Written, WriteError> {
    let out = HashingWriter::new(BufWriter::with_capacity(1 << 20, tmp.as_file()));
    let (stats, tar_bytes, out) = archive::write_encrypted_tar(
        recipients,
        req.policy.compression.level,
        req.policy.compression.threads,
        out,
        |builder| write_bag(builder, bag, req.progress),
    )?;
    let (buffered, sha256, bytes) = out.finish();
    let file = buffered
        .into_inner()
        .map_err(|e| Error::io(Action::Write, tmp.path(), e.into_error()))?;
    file.sync_all()
        .map_err(|e| Error::io(Action::Sync, tmp.path(), e))?;
    Ok(Written {
        sha256,
        bytes,
        tar_bytes,
        payload_files: stats.files,
        payload_bytes: stats.plaintext_bytes,
        skipped: stats.skipped,
    })
}
