//! The BagIt bag itself: writing it as a tar stream, its tag files, the
//! manifest path encoding, and reading the tag files back; the temporary
//! files and the publication that make nothing half-written visible.

use super::*;

pub(super) fn write_bag(
    builder: &mut tar::Builder<archive::TarStream>,
    bag: &BagSpec,
    progress: &dyn Progress,
) -> std::result::Result<ArchiveStats, WriteError> {
    let out_err = |e: io::Error| WriteError::Failed(Error::io(Action::Write, "package output", e));
    let top = format!("{}/", bag.id);
    let data = format!("{top}data/");
    archive::append_directory(builder, bag.id.as_bytes(), bag.mtime).map_err(out_err)?;
    archive::append_bytes(
        builder,
        format!("{top}{BAGIT}").as_bytes(),
        BAGIT_TXT.as_bytes(),
        bag.mtime,
    )
    .map_err(out_err)?;
    archive::append_directory(builder, format!("{top}data").as_bytes(), bag.mtime)
        .map_err(out_err)?;

    // (path relative to the bag, digest), in tar order.
    let mut payload: Vec<(Vec<u8>, Sha256Digest)> = Vec::new();
    let mut stats = ArchiveStats::default();
    let strip = top.len();
    for root in bag.includes {
        archive::add_root(
            builder,
            root,
            data.as_bytes(),
            &mut |name, digest, _| {
                if let Some(why) = unlistable(name) {
                    // `data/<base>/<rest>`: back to the file on disk.
                    let rel = String::from_utf8_lossy(&name[data.len()..]).into_owned();
                    let path = match rel.split_once('/') {
                        Some((_, rest)) => root.join(rest),
                        None => root.clone(),
                    };
                    return Err(Error::io(
                        Action::Read,
                        path,
                        io::Error::new(io::ErrorKind::InvalidInput, why),
                    ));
                }
                payload.push((name[strip..].to_vec(), *digest));
                Ok(())
            },
            &mut stats,
            progress,
        )?;
    }
    if !bag.snapshots.is_empty() {
        append_snapshots(
            builder,
            bag,
            &data,
            strip,
            &mut payload,
            &mut stats,
            progress,
        )?;
    }
    if let Some(dir) = &bag.audit_dir {
        archive::add_root(
            builder,
            dir,
            data.as_bytes(),
            &mut |name, digest, _| {
                payload.push((name[strip..].to_vec(), *digest));
                Ok(())
            },
            &mut stats,
            &Silent,
        )?;
    }

    append_tag_files(builder, bag, &top, &payload, &stats).map_err(out_err)?;
    Ok(stats)
}

/// The snapshots under `data/snapshots/<id>/`, each file checked against the
/// snapshot's `SHA256SUMS` as it is read (a snapshot that changed since it
/// was chosen fails the package).
pub(super) fn append_snapshots(
    builder: &mut tar::Builder<archive::TarStream>,
    bag: &BagSpec,
    data: &str,
    strip: usize,
    payload: &mut Vec<(Vec<u8>, Sha256Digest)>,
    stats: &mut ArchiveStats,
    progress: &dyn Progress,
) -> std::result::Result<(), WriteError> {
    let out_err = |e: io::Error| WriteError::Failed(Error::io(Action::Write, "package output", e));
    let prefix = format!("{data}{SNAPSHOTS_DIR}/");
    archive::append_directory(builder, prefix.trim_end_matches('/').as_bytes(), bag.mtime)
        .map_err(out_err)?;
    for s in bag.snapshots {
        let inside = format!("{prefix}{}/", s.id);
        let mut matched = BTreeSet::new();
        archive::add_root(
            builder,
            &s.dir,
            prefix.as_bytes(),
            &mut |name, digest, _| {
                payload.push((name[strip..].to_vec(), *digest));
                let file = name.strip_prefix(inside.as_bytes()).unwrap_or(name);
                if file == snapshot::SUMS.as_bytes() || file == snapshot::SUMS_SIG.as_bytes() {
                    return Ok(());
                }
                match s.sums.get(file) {
                    Some(want) if want == digest => {
                        matched.insert(file.to_vec());
                        Ok(())
                    }
                    _ => Err(Error::Integrity {
                        path: s.dir.join(String::from_utf8_lossy(file).as_ref()),
                        detail: format!(
                            "does not match {} as it is read (changed since it was checked?)",
                            snapshot::SUMS
                        ),
                    }),
                }
            },
            stats,
            progress,
        )?;
        if matched.len() != s.sums.len() {
            return Err(WriteError::Failed(Error::Integrity {
                path: s.dir.clone(),
                detail: format!("a file listed in {} disappeared", snapshot::SUMS),
            }));
        }
    }
    Ok(())
}

/// The tag files, known only after the payload, so they follow it:
/// `manifest-sha256.txt`, `bag-info.txt`, `tagmanifest-sha256.txt`.
pub(super) fn append_tag_files(
    builder: &mut tar::Builder<archive::TarStream>,
    bag: &BagSpec,
    top: &str,
    payload: &[(Vec<u8>, Sha256Digest)],
    stats: &ArchiveStats,
) -> io::Result<()> {
    let mut manifest = Vec::new();
    for (name, digest) in payload {
        manifest.extend_from_slice(hex::encode(digest).as_bytes());
        manifest.extend_from_slice(b"  ");
        manifest.extend_from_slice(&encode_path(name));
        manifest.push(b'\n');
    }
    let info = bag_info_text(bag, stats);
    let mut tagmanifest = Vec::new();
    for (name, bytes) in [
        (BAGIT, BAGIT_TXT.as_bytes()),
        (BAG_INFO, info.as_bytes()),
        (PAYLOAD_MANIFEST, &manifest[..]),
    ] {
        let (digest, _) = sums::digest_reader(bytes)?;
        tagmanifest.extend_from_slice(format!("{}  {name}\n", hex::encode(digest)).as_bytes());
    }
    for (name, bytes) in [
        (PAYLOAD_MANIFEST, &manifest[..]),
        (BAG_INFO, info.as_bytes()),
        (TAG_MANIFEST, &tagmanifest[..]),
    ] {
        archive::append_bytes(builder, format!("{top}{name}").as_bytes(), bytes, bag.mtime)?;
    }
    Ok(())
}

pub(super) fn bag_info_text(bag: &BagSpec, stats: &ArchiveStats) -> String {
    // One line per value: line breaks in free text become spaces.
    let clean = |s: &str| s.replace(['\r', '\n'], " ").trim().to_string();
    let mut fields = vec![
        ("Source-Organization", clean(bag.info.organization)),
        ("Contact-Name", clean(bag.info.contact)),
        ("External-Description", clean(bag.info.description)),
        ("Bagging-Date", bag.info.bagging_date.clone()),
        ("External-Identifier", bag.id.to_string()),
        ("Bag-Size", human_bytes(stats.plaintext_bytes)),
        ("Payload-Oxum", oxum(stats.plaintext_bytes, stats.files)),
        (
            "Bag-Software-Agent",
            format!("{} {}", crate::TOOL_NAME, crate::TOOL_VERSION),
        ),
    ];
    if let Some(to) = bag.info.to_organization {
        fields.push(("To-Organization", clean(to)));
    }
    fields
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect()
}

/// A manifest path as BagIt writes it: LF and CR percent-encoded, and `%`
/// where it would otherwise read as one of the three escapes (`%25`, `%0A`,
/// `%0D`). RFC 8493 asks for every `%` to be encoded, but `bagit.py` 1.9 does
/// not decode `%25`; a lone `%` is unambiguous to both, so it stays as it is.
pub(super) fn encode_path(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len());
    for (i, &b) in name.iter().enumerate() {
        match b {
            b'%' if is_escape(&name[i..]) => out.extend_from_slice(b"%25"),
            b'\n' => out.extend_from_slice(b"%0A"),
            b'\r' => out.extend_from_slice(b"%0D"),
            _ => out.push(b),
        }
    }
    out
}

/// Whether `text` starts with `%25`, `%0A` or `%0D` (any case).
pub(super) fn is_escape(text: &[u8]) -> bool {
    text.len() >= 3
        && text[0] == b'%'
        && matches!(&text[1..3].to_ascii_uppercase()[..], b"25" | b"0A" | b"0D")
}

/// Why a stored name cannot go into a package: `bagit.py` strips whitespace
/// at the end of a manifest line and Windows drops it from file names, so a
/// name ending in whitespace would not survive; a line break in a name is
/// mis-read by the `tar` crate's PAX parser (which splits records at LF), so
/// kura itself could not read it back, and Windows cannot hold it.
pub(super) fn unlistable(name: &[u8]) -> Option<&'static str> {
    if name.iter().any(|b| matches!(b, b'\n' | b'\r')) {
        return Some(
            "a file name holding a line break cannot go into a handover package (kura's tar reader and Windows cannot carry it); rename the file",
        );
    }
    let text = std::str::from_utf8(name).ok()?;
    if text
        .split('/')
        .any(|p| crate::entry_names::windows_name_problem(p).is_some())
    {
        return Some(
            "a file name that Windows cannot hold or reads as something else (CON, NUL, AUX, COM1, a trailing dot or space, `:`, `\\`, < > \" | ? * or a control character) cannot go into a handover package; rename the file",
        );
    }
    let last = text.chars().next_back()?;
    (last.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&last)).then_some(
        "a file name ending in whitespace cannot be listed in a BagIt manifest that other tools read back (bagit.py strips it, Windows drops it); rename the file",
    )
}

/// The inverse of [`encode_path`]; other `%` sequences are kept as they are.
pub(super) fn decode_path(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if is_escape(&text[i..]) {
            out.push(match &text[i + 1..i + 3].to_ascii_uppercase()[..] {
                b"25" => b'%',
                b"0A" => b'\n',
                _ => b'\r',
            });
            i += 3;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

pub(super) fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".kura-tmp-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(Action::Create, dir, e))
}

pub(super) fn write_temp(tmp: &tempfile::NamedTempFile, contents: &[u8]) -> Result<()> {
    let mut file = tmp.as_file();
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(Action::Write, tmp.path(), e))
}

/// Renames finished temporary files into place, never replacing a file. If
/// one fails, those already renamed are removed again, so either all appear
/// or none.
pub(super) fn publish(files: Vec<(tempfile::NamedTempFile, PathBuf)>, dir: &Path) -> Result<()> {
    let mut done: Vec<PathBuf> = Vec::new();
    for (tmp, path) in files {
        // Temporary files are private; what is published here is not.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = tmp
                .as_file()
                .set_permissions(fs::Permissions::from_mode(0o644));
        }
        if let Err(e) = tmp.persist_noclobber(&path) {
            for p in &done {
                let _ = fs::remove_file(p);
            }
            return Err(if e.error.kind() == io::ErrorKind::AlreadyExists {
                Error::WouldOverwrite { path }
            } else {
                Error::io(Action::Rename, &path, e.error)
            });
        }
        done.push(path);
    }
    sync_dir(dir)
}

pub(super) fn read_limited(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    // Never through a link, never blocking, regular files only.
    crate::bounded::read_capped(path, limit as u64)
}

/// Parses a BagIt manifest: `<hex digest> <whitespace> <path>` per line,
/// paths percent-decoded. Duplicates are an error.
pub(super) fn parse_manifest(
    text: &[u8],
) -> std::result::Result<Vec<(Vec<u8>, Sha256Digest)>, String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}", i + 1);
        let split = line
            .iter()
            .position(|b| *b == b' ' || *b == b'\t')
            .ok_or_else(|| bad("not `CHECKSUM PATH`"))?;
        let (hex_part, rest) = line.split_at(split);
        let path = rest
            .iter()
            .position(|b| *b != b' ' && *b != b'\t')
            .map(|start| &rest[start..])
            .ok_or_else(|| bad("no path after the checksum"))?;
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut digest)
            .map_err(|_| bad("the checksum is not 64 hexadecimal digits"))?;
        let path = decode_path(path);
        if !seen.insert(path.clone()) {
            return Err(bad(&format!(
                "{} is listed twice",
                String::from_utf8_lossy(&path)
            )));
        }
        out.push((path, digest));
    }
    Ok(out)
}

/// Parses `bag-info.txt`: `Label: value` lines, a line starting with
/// whitespace continuing the value before it.
pub(super) fn parse_bag_info(text: &[u8]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in String::from_utf8_lossy(text).lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}
