//! Checking a package: the signed manifest, the package hash, then every
//! entry and the bag in the stream, and the bag again as it lies on disk.

use super::*;

// ---------------------------------------------------------------------------
// Checking

/// How the manifest's signature was checked.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCheck {
    /// The key id of the key that verified it.
    pub key_id: String,
    /// Whether that key was given by the receiver (`--sender-key`) rather
    /// than taken from the manifest itself.
    pub pinned: bool,
    /// The signature's trusted comment.
    pub trusted_comment: String,
}

/// Reads `FILE.manifest.json` and checks its signature: with `sender_key`
/// (pinned), or else with the key the manifest itself names, which proves
/// only that manifest and signature belong together (the caller says so).
pub fn check_manifest(
    package: &Path,
    sender_key: Option<&minisign::PublicKey>,
) -> Result<(HandoverManifest, SignatureCheck)> {
    // A package that is not there is an operational problem, not a finding.
    fs::metadata(package).map_err(|e| Error::io(Action::Read, package, e))?;
    let manifest_file = manifest_path(package);
    let signature_file = audit::signature_path(&manifest_file);
    let bad = |detail: String| Error::Integrity {
        path: manifest_file.clone(),
        detail,
    };
    let bytes = match read_limited(&manifest_file, MAX_SMALL_FILE) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::Integrity {
                path: package.to_path_buf(),
                detail: format!("its manifest {} is missing", manifest_file.display()),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(bad("too large to be a handover manifest".into()))
        }
        Err(e) => return Err(Error::io(Action::Read, &manifest_file, e)),
    };
    if !signature_file.is_file() {
        return Err(Error::Integrity {
            path: signature_file.clone(),
            detail: "the manifest's signature is missing".into(),
        });
    }
    let parsed = serde_json::from_slice::<HandoverManifest>(&bytes)
        .map_err(|e| bad(format!("not a handover manifest: {e}")));
    let (key, pinned) = match sender_key {
        Some(k) => (k.clone(), true),
        None => {
            let m = parsed.as_ref().map_err(|e| bad(e.message(Lang::En)))?;
            let k =
                keys::public_key_from_base64(&m.sender.signing_public_key).ok_or_else(|| {
                    bad("sender.signing_public_key is not a minisign public key".into())
                })?;
            (k, false)
        }
    };
    let comment = keys::verify_signature_of(&key, io::Cursor::new(&bytes), &signature_file)?;
    let manifest = parsed?;
    if manifest.format != FORMAT {
        return Err(bad(format!("unknown format {:?}", manifest.format)));
    }
    if !is_valid_identifier(&manifest.external_identifier) {
        return Err(bad(format!(
            "external_identifier {:?} is not a safe name",
            manifest.external_identifier
        )));
    }
    if comment != manifest_trusted_comment(&manifest) {
        return Err(Error::Integrity {
            path: signature_file,
            detail: format!("the signature's trusted comment {comment:?} names another package"),
        });
    }
    let key_id = keys::key_id(&key);
    if pinned && manifest.sender.signing_key_id != key_id {
        return Err(bad(format!(
            "it names signing key {} but is signed with the given key {key_id}",
            manifest.sender.signing_key_id
        )));
    }
    Ok((
        manifest,
        SignatureCheck {
            key_id,
            pinned,
            trusted_comment: comment,
        },
    ))
}

/// Checks the package file's size and SHA-256 against its manifest.
pub fn check_package(
    package: &Path,
    manifest: &HandoverManifest,
    progress: &dyn Progress,
) -> Result<()> {
    let file = crate::bounded::open_regular(package)
        .map_err(|e| crate::bounded::finding_or_io(package, e))?;
    progress.start("sha256", manifest.package.bytes);
    let digest = sums::digest_reader(ProgressRead {
        inner: BufReader::with_capacity(1 << 20, file),
        progress,
    });
    progress.finish();
    let (digest, bytes) = digest.map_err(|e| Error::io(Action::Read, package, e))?;
    if bytes != manifest.package.bytes || hex::encode(digest) != manifest.package.sha256 {
        return Err(Error::Integrity {
            path: package.to_path_buf(),
            detail: format!(
                "the package ({bytes} bytes, SHA-256 {}) is not the one its manifest describes ({} bytes, SHA-256 {})",
                hex::encode(digest),
                manifest.package.bytes,
                manifest.package.sha256
            ),
        });
    }
    Ok(())
}

pub(super) struct ProgressRead<'a, R> {
    pub(super) inner: R,
    pub(super) progress: &'a dyn Progress,
}

impl<R: Read> Read for ProgressRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// The result of [`verify`].
#[derive(Debug, Clone)]
pub struct VerifyOutcome {
    /// The (signed) manifest.
    pub manifest: HandoverManifest,
    /// How the signature was checked.
    pub signature: SignatureCheck,
    /// Payload files read and checked.
    pub files: u64,
    /// Payload bytes read and checked.
    pub bytes: u64,
    /// Everything wrong inside the package; empty means intact.
    pub findings: Vec<Finding>,
}

/// Checks a package completely without writing anything: signature, package
/// hash, then every entry of the decrypted stream and the whole bag.
pub fn verify(
    package: &Path,
    identities: &Identities,
    sender_key: Option<&minisign::PublicKey>,
    progress: &dyn Progress,
) -> Result<VerifyOutcome> {
    verify_package(package, identities, sender_key, progress)
        .and_then(|outcome| crate::interrupt::check().map(|()| outcome))
        .map_err(crate::interrupt::or_interrupted)
}

pub(super) fn verify_package(
    package: &Path,
    identities: &Identities,
    sender_key: Option<&minisign::PublicKey>,
    progress: &dyn Progress,
) -> Result<VerifyOutcome> {
    let (manifest, signature) = check_manifest(package, sender_key)?;
    check_package(package, &manifest, progress)?;
    let observed = read_bag(
        package,
        &manifest,
        identities,
        &mut archive::Discard,
        false,
        progress,
    )?;
    let findings = validate(&observed, &manifest);
    let (files, bytes) = observed.payload_totals();
    Ok(VerifyOutcome {
        manifest,
        signature,
        files,
        bytes,
        findings,
    })
}

/// A bag as read, from the stream or from disk.
#[derive(Debug, Default)]
pub(super) struct Observed {
    /// Payload files (`data/…`): digest and size.
    pub(super) payload: BTreeMap<Vec<u8>, (Sha256Digest, u64)>,
    /// Every other file in the bag (tag files): digest.
    pub(super) tags: BTreeMap<Vec<u8>, Sha256Digest>,
    /// Contents of the tag files kura reads.
    pub(super) contents: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Whether `data/` exists.
    pub(super) has_data_dir: bool,
    /// Problems seen while reading.
    pub(super) findings: Vec<Finding>,
}

impl Observed {
    pub(super) fn payload_totals(&self) -> (u64, u64) {
        (
            self.payload.len() as u64,
            self.payload.values().map(|(_, n)| n).sum(),
        )
    }

    /// A file at `rel` (relative to the bag directory).
    pub(super) fn file(
        &mut self,
        rel: &[u8],
        digest: Sha256Digest,
        bytes: u64,
        captured: Option<Vec<u8>>,
    ) {
        let duplicate = if rel.starts_with(b"data/") {
            self.payload.insert(rel.to_vec(), (digest, bytes)).is_some()
        } else {
            self.tags.insert(rel.to_vec(), digest).is_some()
        };
        if duplicate {
            self.findings.push(finding(Some(rel), "stored twice"));
        }
        if let Some(c) = captured.filter(|c| c.len() as u64 == bytes) {
            self.contents.insert(rel.to_vec(), c);
        }
    }

    pub(super) fn directory(&mut self, rel: &[u8]) {
        if rel == b"data" {
            self.has_data_dir = true;
        }
    }
}

pub(super) fn finding(entry: Option<&[u8]>, detail: impl Into<String>) -> Finding {
    Finding {
        entry: entry.map(|e| String::from_utf8_lossy(e).into_owned()),
        detail: detail.into(),
    }
}

/// The most bytes of a tag file kept in memory, or `None` for payload files.
pub(super) fn capture_limit(rel: &[u8]) -> Option<usize> {
    if rel == PAYLOAD_MANIFEST.as_bytes() {
        Some(MAX_PAYLOAD_MANIFEST)
    } else if [BAGIT, BAG_INFO, TAG_MANIFEST]
        .iter()
        .any(|n| rel == n.as_bytes())
    {
        Some(MAX_SMALL_FILE)
    } else {
        None
    }
}

/// Decrypts the package and reads every entry into `sink`, observing the bag.
pub(super) fn read_bag(
    package: &Path,
    manifest: &HandoverManifest,
    identities: &Identities,
    sink: &mut dyn EntrySink,
    stop_at_unsafe: bool,
    progress: &dyn Progress,
) -> Result<Observed> {
    let top = manifest.external_identifier.as_bytes().to_vec();
    let relative = |name: &[u8]| -> Option<Vec<u8>> {
        let name = name.strip_suffix(b"/").unwrap_or(name);
        if name == top.as_slice() {
            return Some(Vec::new());
        }
        name.strip_prefix(top.as_slice())
            .and_then(|r| r.strip_prefix(b"/"))
            .map(<[u8]>::to_vec)
    };
    let file = crate::bounded::open_regular(package)
        .map_err(|e| crate::bounded::finding_or_io(package, e))?;
    // Hashed in the pass that decrypts: what is read is what was checked.
    let (plain, ciphertext) = match archive::open_hashed(file, identities.as_dyn()) {
        Ok(p) => p,
        Err(archive::ReadError::WrongKey) => {
            return Err(Error::WrongKey {
                path: package.to_path_buf(),
            })
        }
        Err(archive::ReadError::NotAnArchive(e)) => {
            return Err(Error::Integrity {
                path: package.to_path_buf(),
                detail: format!("not a readable age file: {e}"),
            })
        }
        Err(archive::ReadError::Io(e)) => return Err(Error::io(Action::Read, package, e)),
    };
    let mut observed = Observed::default();
    let mut findings = Vec::new();
    progress.start(&manifest.external_identifier, manifest.payload.bytes);
    let read = archive::read_entries(
        plain,
        progress,
        sink,
        stop_at_unsafe,
        &|name| relative(name).and_then(|r| capture_limit(&r)),
        &mut findings,
        &mut |entry, findings| match entry {
            ReadEntry::Directory { name } => match relative(&name) {
                Some(rel) => observed.directory(&rel),
                None => findings.push(finding(Some(&name), "outside the bag directory")),
            },
            ReadEntry::File {
                name,
                digest,
                bytes,
                captured,
            } => match relative(&name) {
                Some(rel) if !rel.is_empty() => observed.file(&rel, digest, bytes, captured),
                _ => findings.push(finding(Some(&name), "outside the bag directory")),
            },
        },
    )
    .and_then(|rest| match rest {
        Some(rest) => archive::drain_after_end(rest, &mut findings).map(|()| true),
        None => Ok(false),
    });
    progress.finish();
    match read {
        Ok(_) => {}
        Err(e) => {
            return Err(Error::Integrity {
                path: package.to_path_buf(),
                detail: format!("damaged (decryption, decompression or tar): {e}"),
            })
        }
    }
    if !ciphertext.matches(&manifest.package.sha256, manifest.package.bytes) {
        findings.push(archive::Finding {
            entry: None,
            detail: "the bytes decrypted are not the package its manifest describes (the file changed between reads, or the disk served other bytes) / 復号したデータがマニフェストの記載と一致しません".into(),
        });
    }
    findings.append(&mut observed.findings);
    observed.findings = findings;
    Ok(observed)
}

/// Reads an extracted bag directory: every file hashed, nothing but regular
/// files and directories accepted.
pub(super) fn observe_dir(bag_dir: &Path, progress: &dyn Progress) -> Result<Observed> {
    let mut observed = Observed::default();
    for entry in walkdir::WalkDir::new(bag_dir)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(bag_dir).to_path_buf();
            Error::io(
                Action::Read,
                path,
                e.into_io_error()
                    .unwrap_or_else(|| io::Error::other("unreadable")),
            )
        })?;
        let rel_path = entry.path().strip_prefix(bag_dir).unwrap_or(entry.path());
        let rel = archive::archive_name(rel_path)
            .map_err(|e| Error::io(Action::Read, entry.path(), e))?;
        let kind = entry.file_type();
        if kind.is_dir() {
            observed.directory(&rel);
        } else if kind.is_file() {
            let path = entry.path();
            let file = File::open(path).map_err(|e| Error::io(Action::Read, path, e))?;
            let (digest, bytes) = sums::digest_reader(ProgressRead {
                inner: BufReader::with_capacity(1 << 20, file),
                progress,
            })
            .map_err(|e| Error::io(Action::Read, path, e))?;
            let captured = match capture_limit(&rel) {
                Some(limit) if bytes <= limit as u64 => {
                    Some(read_limited(path, limit).map_err(|e| Error::io(Action::Read, path, e))?)
                }
                Some(_) => {
                    observed
                        .findings
                        .push(finding(Some(&rel), "too large for a tag file"));
                    None
                }
                None => None,
            };
            observed.file(&rel, digest, bytes, captured);
        } else {
            observed
                .findings
                .push(finding(Some(&rel), "not a regular file or directory"));
        }
    }
    Ok(observed)
}

/// Validates an observed bag against BagIt 1.0 and the signed manifest:
/// `bagit.txt`, every payload file against `manifest-sha256.txt` (nothing
/// missing, nothing extra), every tag file against `tagmanifest-sha256.txt`,
/// `bag-info.txt` (required fields, Payload-Oxum, External-Identifier), and
/// the counts the manifest promises.
pub(super) fn validate(observed: &Observed, manifest: &HandoverManifest) -> Vec<Finding> {
    let mut f = observed.findings.clone();
    check_bagit_txt(observed, &mut f);
    if !observed.has_data_dir {
        f.push(finding(Some("data/".as_bytes()), "missing"));
    }
    check_payload_manifest(observed, &mut f);
    check_tag_manifest(observed, &mut f);
    let (files, bytes) = observed.payload_totals();
    let computed = oxum(bytes, files);
    check_bag_info(observed, manifest, &computed, &mut f);
    if computed != manifest.payload.oxum
        || files != manifest.payload.files
        || bytes != manifest.payload.bytes
    {
        f.push(finding(
            None,
            format!(
                "the payload is {computed} ({files} files, {bytes} bytes); the manifest says {}",
                manifest.payload.oxum
            ),
        ));
    }
    f
}

/// `bagit.txt`: exactly the two lines of BagIt 1.0 in UTF-8.
pub(super) fn check_bagit_txt(observed: &Observed, f: &mut Vec<Finding>) {
    let content = |name: &str| observed.contents.get(name.as_bytes());
    let missing = |name: &str| finding(Some(name.as_bytes()), "missing");
    match content(BAGIT) {
        None => f.push(missing(BAGIT)),
        Some(text) => {
            let lines: Vec<String> = String::from_utf8_lossy(text)
                .lines()
                .map(|l| l.trim_end_matches('\r').to_string())
                .filter(|l| !l.is_empty())
                .collect();
            if lines != ["BagIt-Version: 1.0", "Tag-File-Character-Encoding: UTF-8"] {
                f.push(finding(
                    Some(BAGIT.as_bytes()),
                    "is not `BagIt-Version: 1.0` with `Tag-File-Character-Encoding: UTF-8`",
                ));
            }
        }
    }
}

/// Every payload file against `manifest-sha256.txt`: nothing missing,
/// nothing changed, nothing extra, nothing outside `data/`.
pub(super) fn check_payload_manifest(observed: &Observed, f: &mut Vec<Finding>) {
    let content = |name: &str| observed.contents.get(name.as_bytes());
    let missing = |name: &str| finding(Some(name.as_bytes()), "missing");
    match content(PAYLOAD_MANIFEST) {
        None => f.push(missing(PAYLOAD_MANIFEST)),
        Some(text) => match parse_manifest(text) {
            Err(e) => f.push(finding(Some(PAYLOAD_MANIFEST.as_bytes()), e)),
            Ok(listed) => {
                let mut unlisted: BTreeSet<&Vec<u8>> = observed.payload.keys().collect();
                for (path, want) in &listed {
                    if !path.starts_with(b"data/") || !archive::is_safe_entry_path(path) {
                        f.push(finding(
                            Some(path),
                            format!("{PAYLOAD_MANIFEST} lists a path outside data/"),
                        ));
                        continue;
                    }
                    match observed.payload.get(path) {
                        None => f.push(finding(
                            Some(path),
                            format!("listed in {PAYLOAD_MANIFEST} but missing"),
                        )),
                        Some((got, _)) if got != want => f.push(finding(
                            Some(path),
                            format!("contents do not match {PAYLOAD_MANIFEST}"),
                        )),
                        Some(_) => {}
                    }
                    unlisted.remove(path);
                }
                for path in unlisted {
                    f.push(finding(
                        Some(path),
                        format!("not listed in {PAYLOAD_MANIFEST}"),
                    ));
                }
            }
        },
    }
}

/// Every tag file against `tagmanifest-sha256.txt`, which may not list
/// itself or the payload.
pub(super) fn check_tag_manifest(observed: &Observed, f: &mut Vec<Finding>) {
    let content = |name: &str| observed.contents.get(name.as_bytes());
    let missing = |name: &str| finding(Some(name.as_bytes()), "missing");
    match content(TAG_MANIFEST) {
        None => f.push(missing(TAG_MANIFEST)),
        Some(text) => match parse_manifest(text) {
            Err(e) => f.push(finding(Some(TAG_MANIFEST.as_bytes()), e)),
            Ok(listed) => {
                let mut unlisted: BTreeSet<&Vec<u8>> = observed
                    .tags
                    .keys()
                    .filter(|k| k.as_slice() != TAG_MANIFEST.as_bytes())
                    .collect();
                for (path, want) in &listed {
                    if path.starts_with(b"data/")
                        || path.as_slice() == TAG_MANIFEST.as_bytes()
                        || !archive::is_safe_entry_path(path)
                    {
                        f.push(finding(
                            Some(path),
                            format!("{TAG_MANIFEST} may not list this path"),
                        ));
                        continue;
                    }
                    match observed.tags.get(path) {
                        None => f.push(finding(
                            Some(path),
                            format!("listed in {TAG_MANIFEST} but missing"),
                        )),
                        Some(got) if got != want => f.push(finding(
                            Some(path),
                            format!("contents do not match {TAG_MANIFEST}"),
                        )),
                        Some(_) => {}
                    }
                    unlisted.remove(path);
                }
                for path in unlisted {
                    f.push(finding(Some(path), format!("not listed in {TAG_MANIFEST}")));
                }
            }
        },
    }
}

/// `bag-info.txt`: the required fields, the Payload-Oxum against the payload
/// (`computed`), the External-Identifier against the manifest, the dates.
pub(super) fn check_bag_info(
    observed: &Observed,
    manifest: &HandoverManifest,
    computed: &str,
    f: &mut Vec<Finding>,
) {
    let content = |name: &str| observed.contents.get(name.as_bytes());
    let missing = |name: &str| finding(Some(name.as_bytes()), "missing");
    match content(BAG_INFO) {
        None => f.push(missing(BAG_INFO)),
        Some(text) => {
            let info = parse_bag_info(text);
            let get = |label: &str| -> Vec<&str> {
                info.iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case(label))
                    .map(|(_, v)| v.as_str())
                    .collect()
            };
            for label in REQUIRED_BAG_INFO {
                if get(label).is_empty() {
                    f.push(finding(
                        Some(BAG_INFO.as_bytes()),
                        format!("{label} is missing"),
                    ));
                }
            }
            match get("Payload-Oxum")[..] {
                [] => {}
                [one] if one == computed => {}
                [one] => f.push(finding(
                    Some(BAG_INFO.as_bytes()),
                    format!("Payload-Oxum is {one}, the payload is {computed}"),
                )),
                _ => f.push(finding(
                    Some(BAG_INFO.as_bytes()),
                    "Payload-Oxum is given more than once",
                )),
            }
            let ids = get("External-Identifier");
            if !ids.is_empty() && ids != [manifest.external_identifier.as_str()] {
                f.push(finding(
                    Some(BAG_INFO.as_bytes()),
                    format!(
                        "External-Identifier is {}, the manifest says {}",
                        ids.join(", "),
                        manifest.external_identifier
                    ),
                ));
            }
            for date in get("Bagging-Date") {
                if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
                    f.push(finding(
                        Some(BAG_INFO.as_bytes()),
                        format!("Bagging-Date {date:?} is not YYYY-MM-DD"),
                    ));
                }
            }
        }
    }
}
