//! Making a request: every item expanded to concrete files, each recorded
//! with what execution will insist on finding (size, SHA-256, volume, file
//! identity), after the rules of what may never go.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::path::{Component, Path, PathBuf};

use super::{guard, ledger, request_status, store, Item, ItemSpec, Method};
use super::{Entry, NewRequest, Request};
use crate::audit::{Actor, AuditLog, Outcome};
use crate::clock::Clock;
use crate::error::{Action, Error, Result};
use crate::keys::{self, PassphraseSource};
use crate::policy::Policy;
use crate::{media, retention, snapshot, sums};

/// Creates a request: expands every item to concrete files (refusing what
/// may never go and what cannot be listed completely) and records it as one
/// audit event, with the tables, in one transaction.
pub fn request(
    log: &mut AuditLog,
    actor: &Actor,
    policy: &Policy,
    clock: &Clock,
    new: &NewRequest,
    passphrase: PassphraseSource,
) -> Result<Request> {
    ledger::prepare(log)?;
    check_form(new, clock)?;
    let floor = retention_floor(policy)?;
    let mut items: Vec<Item> = Vec::new();
    let mut details = serde_json::Map::new();
    let mut media_list: Vec<serde_json::Value> = Vec::new();
    let mut seen = BTreeSet::new();
    for spec in &new.items {
        match spec {
            ItemSpec::Snapshot(id) => {
                if !seen.insert(format!("snapshot:{id}")) {
                    continue;
                }
                expand_snapshot(policy, &floor, id, &mut items, &mut media_list)?;
            }
            ItemSpec::File(path) | ItemSpec::Identity(path) => {
                let identity = matches!(spec, ItemSpec::Identity(_));
                let item = file_item(policy, &floor, path, identity)?;
                if !seen.insert(format!("file:{}", item.path.clone().unwrap_or_default())) {
                    return Err(Error::usage(
                        format!("{} が2回指定されています", path.display()),
                        format!("{} is listed twice", path.display()),
                    ));
                }
                if identity {
                    note_identity(policy, &item, passphrase, &mut details)?;
                }
                items.push(item);
            }
            ItemSpec::Medium(text) => items.push(Item::pending("medium", text.trim())),
        }
    }
    for (n, item) in items.iter_mut().enumerate() {
        item.n = n as u32 + 1;
    }
    place_items(policy, &items, &mut media_list);
    details.insert("media".into(), serde_json::Value::Array(media_list));

    let year = clock.local().format("%Y").to_string();
    let id = ledger::next_id(log, &year)?;
    let mut draft = Request {
        id: id.clone(),
        created_at: String::new(),
        requested_by: actor.operator.clone(),
        method: new.method.as_str().into(),
        planned: new.planned.to_string(),
        reason: new.reason.trim().to_string(),
        details: serde_json::Value::Object(details),
        request_sha256: String::new(),
        status: request_status::REQUESTED.into(),
        items,
        ..Request::default()
    };
    draft.request_sha256 = ledger::request_sha256(&draft);
    let record = serde_json::json!({
        "request": draft.id,
        "method": draft.method,
        "planned": draft.planned,
        "reason": draft.reason,
        "details": draft.details,
        "request_sha256": draft.request_sha256,
        "items": draft.items.iter().map(|i| serde_json::json!({
            "n": i.n, "kind": i.kind, "target": i.target, "destination": i.destination,
            "volume": i.volume, "path": i.path, "size": i.size, "sha256": i.sha256,
            "file_id": i.file_id,
        })).collect::<Vec<_>>(),
        "bytes": draft.bytes(),
    });
    let mut stored: BTreeMap<String, Entry> = BTreeMap::new();
    log.append_with(
        actor,
        "erase.request",
        &id,
        Outcome::Ok,
        &record,
        |tx, e| {
            ledger::fold(&mut stored, e);
            match stored.get(&id) {
                Some(entry) => store::insert(tx, &entry.request),
                None => Err(rusqlite::Error::InvalidQuery),
            }
        },
    )?;
    stored
        .remove(&id)
        .map(|e| e.request)
        .ok_or_else(|| Error::AuditUnavailable {
            path: log.path().to_path_buf(),
            detail: format!("request {id} was not recorded"),
        })
}

/// The form's own rules: items, a reason, a method that fits, a date not past.
fn check_form(new: &NewRequest, clock: &Clock) -> Result<()> {
    if new.items.is_empty() {
        return Err(Error::usage(
            "消去依頼には対象が1つ以上必要です (--snapshot, --file, --identity, --medium)",
            "an erasure request needs at least one item (--snapshot, --file, --identity or --medium)",
        ));
    }
    if new.reason.trim().is_empty() {
        return Err(Error::usage(
            "消去依頼には理由 (--reason) が必要です",
            "an erasure request needs a --reason",
        ));
    }
    let today = clock.local().date_naive();
    if new.planned < today {
        return Err(Error::usage(
            format!(
                "予定日 {} は過去の日付です (今日は {today})。今日以降の日付を指定してください",
                new.planned
            ),
            format!(
                "the planned date {} is in the past (today is {today}); give today or a later date",
                new.planned
            ),
        ));
    }
    for spec in &new.items {
        let fits = matches!(
            (new.method, spec),
            (Method::Overwrite, ItemSpec::Snapshot(_) | ItemSpec::File(_))
                | (Method::CryptoErase, ItemSpec::Identity(_))
                | (Method::Destroy, ItemSpec::Medium(_))
        );
        if !fits {
            return Err(Error::usage(
                format!("消去方法 {} は {spec:?} に使えません: overwrite は --snapshot/--file、crypto-erase は --identity、destroy は --medium", new.method.as_str()),
                format!("method {} does not apply to {spec:?}: overwrite takes --snapshot/--file, crypto-erase takes --identity, destroy takes --medium", new.method.as_str()),
            ));
        }
        if let ItemSpec::Snapshot(id) = spec {
            if !snapshot::is_snapshot_id(id) {
                return Err(Error::usage(
                    format!("{id} はスナップショット ID (YYYYMMDDTHHMMSSZ) ではありません"),
                    format!("{id} is not a snapshot id (YYYYMMDDTHHMMSSZ)"),
                ));
            }
        }
        if let ItemSpec::Medium(text) = spec {
            if text.trim().is_empty() {
                return Err(Error::usage(
                    "--medium には媒体の説明 (製造者・型番・製造番号) を指定してください",
                    "--medium must describe the medium (maker, model, serial number)",
                ));
            }
        }
    }
    Ok(())
}

/// The retention floor: every snapshot retention keeps, with why. Read once
/// per command from every reachable destination.
pub(super) fn retention_floor(policy: &Policy) -> Result<BTreeMap<String, String>> {
    let decisions = retention::select(
        &all_snapshots(policy)?,
        policy.retention.keep_monthly,
        policy.retention.keep_yearly,
    );
    Ok(decisions
        .into_iter()
        .filter(|d| d.keep)
        .map(|d| (d.id, d.reasons.join(", ")))
        .collect())
}

/// Every snapshot on every reachable destination, once per id.
pub fn all_snapshots(policy: &Policy) -> Result<Vec<retention::Candidate>> {
    let mut out: Vec<retention::Candidate> = Vec::new();
    for dest in &policy.destinations {
        if !dest.path.is_dir() {
            continue;
        }
        for s in snapshot::list(&dest.path)? {
            if out.iter().any(|c| c.id == s.id) {
                continue;
            }
            let month = match &s.meta {
                Ok(m) => m.month.clone(),
                Err(_) => format!("{}-{}", &s.id[..4], &s.id[4..6]),
            };
            out.push(retention::Candidate { id: s.id, month });
        }
    }
    Ok(out)
}

/// Every file of every copy of a snapshot, each checked against its
/// `SHA256SUMS`; the checksum file and its signature go last, so an
/// interrupted execution can still check what remains.
fn expand_snapshot(
    policy: &Policy,
    floor: &BTreeMap<String, String>,
    id: &str,
    items: &mut Vec<Item>,
    media_list: &mut Vec<serde_json::Value>,
) -> Result<()> {
    if let Some(why) = floor.get(id) {
        return Err(Error::refused(
            format!("スナップショット {id} は保持規則により保持されるため消去できません ({why})"),
            format!("snapshot {id} is kept by the retention policy ({why}); it cannot be erased"),
        ));
    }
    let mut found = false;
    for dest in &policy.destinations {
        if !dest.path.is_dir() {
            return Err(Error::DestinationMissing {
                dest: dest.name.clone(),
                path: dest.path.clone(),
            });
        }
        let dir = dest.path.join(snapshot::SNAPSHOTS_DIR).join(id);
        if fs::symlink_metadata(&dir).is_err() {
            continue;
        }
        if let Some(link) = guard::first_link(Some(&dest.path), &dir) {
            return Err(Error::finding(
                format!(
                    "保存先 {} のスナップショット {id} はリンク ({}) を介しています。依頼は作成していません。誰が作ったリンクか確認してください",
                    dest.name,
                    link.display()
                ),
                format!(
                    "snapshot {id} on {} is reached through a link ({}); nothing was requested — find out who made it",
                    dest.name,
                    link.display()
                ),
            ));
        }
        found = true;
        let volume = media::read_marker(&dest.path)?;
        media_list.push(serde_json::json!({
            "kind": "destination",
            "destination": dest.name, "label": dest.label,
            "volume": volume.as_ref().map(|m| m.id.clone()),
            "volume_label": volume.as_ref().map(|m| m.label.clone()),
            "path": dest.path,
        }));
        let sums = read_sums(&dir)?;
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(|e| Error::io(Action::List, &dir, e))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(Action::List, &dir, e))?;
        let rank = |p: &PathBuf| match p.file_name().and_then(|n| n.to_str()) {
            Some(snapshot::SUMS) => 2,
            Some(snapshot::SUMS_SIG) => 1,
            _ => 0,
        };
        files.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
        for f in files {
            let (size, digest, file_id) = record_file(&f)?;
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let covered = rank(&f) == 0;
            match sums.get(&name) {
                Some(expected) if *expected != digest => {
                    return Err(Error::finding(
                        format!(
                            "保存先 {} のスナップショット {id}: {name} が SHA256SUMS と一致しません。依頼は作成していません (kura verify {id} で確認してください)",
                            dest.name
                        ),
                        format!(
                            "snapshot {id} on {}: {name} does not match SHA256SUMS; nothing was requested (run kura verify {id})",
                            dest.name
                        ),
                    ));
                }
                None if covered => {
                    return Err(Error::finding(
                        format!(
                            "保存先 {} のスナップショット {id}: {name} は SHA256SUMS にありません。依頼は作成していません (kura verify {id} で確認してください)",
                            dest.name
                        ),
                        format!(
                            "snapshot {id} on {}: {name} is not listed in SHA256SUMS; nothing was requested (run kura verify {id})",
                            dest.name
                        ),
                    ));
                }
                _ => {}
            }
            items.push(Item {
                destination: Some(dest.name.clone()),
                volume: volume.as_ref().map(|m| m.id.clone()),
                path: Some(f.display().to_string()),
                size: Some(size),
                sha256: Some(digest),
                file_id,
                ..Item::pending("snapshot", id)
            });
        }
    }
    if !found {
        return Err(Error::usage(
            format!("スナップショット {id} はどの保存先にもありません"),
            format!("no destination holds snapshot {id}"),
        ));
    }
    Ok(())
}

/// `SHA256SUMS` of a snapshot directory as name → hex digest (empty if absent).
fn read_sums(dir: &Path) -> Result<BTreeMap<String, String>> {
    let path = dir.join(snapshot::SUMS);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(Error::io(Action::Read, &path, e)),
    };
    let entries = sums::parse(std::io::BufReader::new(file)).map_err(|e| Error::Integrity {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    Ok(entries
        .into_iter()
        .map(|e| {
            (
                String::from_utf8_lossy(&e.name).into_owned(),
                hex::encode(e.digest),
            )
        })
        .collect())
}

/// Size, SHA-256 and identity of a regular file reached without a link.
fn record_file(path: &Path) -> Result<(u64, String, Option<String>)> {
    let meta = fs::symlink_metadata(path).map_err(|e| Error::io(Action::Read, path, e))?;
    if !meta.is_file() {
        return Err(Error::refused(
            format!(
                "{} は通常のファイルではありません (リンクやディレクトリを介した消去はしません)",
                path.display()
            ),
            format!(
                "{} is not a regular file (links and directories are not erased through)",
                path.display()
            ),
        ));
    }
    let mut file = File::open(path).map_err(|e| Error::io(Action::Read, path, e))?;
    let file_id = guard::file_id(&file);
    if file_id.is_some() && file_id != guard::path_id(path) {
        return Err(Error::refused(
            format!("{} は読み取り中に置き換えられました", path.display()),
            format!("{} was replaced while it was read", path.display()),
        ));
    }
    let (digest, size) =
        sums::digest_reader(&mut file).map_err(|e| Error::io(Action::Read, path, e))?;
    Ok((size, hex::encode(digest), file_id))
}

/// A `--file` or `--identity` item, after the rules of what may never go.
fn file_item(
    policy: &Policy,
    floor: &BTreeMap<String, String>,
    path: &Path,
    identity: bool,
) -> Result<Item> {
    let path = normalised(path)?;
    if let Some(link) = guard::first_link(None, &path) {
        return Err(Error::refused(
            format!(
                "{} へのパスにリンク {} があります。リンクを介した消去はしません",
                path.display(),
                link.display()
            ),
            format!(
                "the path to {} passes through the link {}; nothing is erased through a link",
                path.display(),
                link.display()
            ),
        ));
    }
    let kept = |id: &str| Ok(floor.get(id).cloned());
    if !identity {
        guard::refuse_protected(policy, &path, &kept)?;
    }
    let (size, digest, file_id) = record_file(&path)?;
    Ok(Item {
        path: Some(path.display().to_string()),
        size: Some(size),
        sha256: Some(digest),
        file_id,
        ..Item::pending(
            if identity { "identity" } else { "file" },
            &path.display().to_string(),
        )
    })
}

/// The absolute path of a `--file` or `--identity`, without `.` or `..`
/// (`site/../restore/x` is recorded and printed as `restore/x`). Where `..`
/// was removed, the shortened path must name the very file the given one
/// does: `link/..` is the link target's parent, not the link's, so a
/// difference is refused rather than guessed.
fn normalised(given: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(given).map_err(|e| Error::io(Action::Read, given, e))?;
    let out = lexical(&absolute);
    let had_parent = absolute
        .components()
        .any(|c| matches!(c, Component::ParentDir));
    let same = || match (guard::path_id(&absolute), guard::path_id(&out)) {
        (Some(a), Some(b)) => a == b,
        _ => fs::canonicalize(&absolute).ok() == fs::canonicalize(&out).ok(),
    };
    if had_parent && !same() {
        return Err(Error::refused(
            format!(
                "{} の \"..\" はリンクを通るため、どのファイルを指すか一意に決まりません。\"..\" を含まないパスで指定してください",
                given.display()
            ),
            format!(
                "the \"..\" in {} passes through a link, so the file it names is ambiguous; give the path without \"..\"",
                given.display()
            ),
        ));
    }
    Ok(out)
}

/// `path` without `.` and `..`, read as text (`a/b/../c` is `a/c`): what a
/// person means by the path, not what links may make of it.
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Records on which medium each file item is (the destination it lies in,
/// else the `[[disks]]` drive it is on), so the request and the certificate
/// name the real medium even after the file is gone: `details.media[]`
/// entries get `items`, the numbers of the items on them. Snapshot copies
/// are on their destination's entry already.
fn place_items(policy: &Policy, items: &[Item], media: &mut Vec<serde_json::Value>) {
    for item in items {
        let key = match (item.kind.as_str(), &item.destination, &item.path) {
            ("snapshot", Some(dest), _) => {
                serde_json::json!({"kind": "destination", "destination": dest})
            }
            ("file" | "identity", _, Some(path)) => medium_of_file(policy, Path::new(path)),
            _ => continue,
        };
        // One entry per destination or drive; unknown media by their root.
        let found = media.iter().position(|m| {
            m["kind"] == key["kind"]
                && m.get("destination") == key.get("destination")
                && m.get("disk") == key.get("disk")
                && (key["kind"] != "unknown" || m.get("path") == key.get("path"))
        });
        let at = match found {
            Some(at) => at,
            None => {
                let mut entry = key.clone();
                entry["items"] = serde_json::json!([]);
                media.push(entry);
                media.len() - 1
            }
        };
        if let Some(list) = media[at]
            .as_object_mut()
            .map(|m| m.entry("items").or_insert_with(|| serde_json::json!([])))
            .and_then(|v| v.as_array_mut())
        {
            list.push(serde_json::json!(item.n));
        }
    }
}

/// The medium a file is on: a destination whose directory holds it, else
/// the `[[disks]]` drive it is on, else `unknown` (with the path's root).
fn medium_of_file(policy: &Policy, path: &Path) -> serde_json::Value {
    let canonical = |p: &Path| fs::canonicalize(p).ok();
    let file = canonical(path);
    let within = policy
        .destinations
        .iter()
        .find(|d| match (canonical(&d.path), &file) {
            (Some(dir), Some(file)) => file.starts_with(dir),
            _ => false,
        });
    if let Some(dest) = within {
        let volume = crate::media::read_marker(&dest.path).ok().flatten();
        return serde_json::json!({
            "kind": "destination", "destination": dest.name, "label": dest.label,
            "volume": volume.as_ref().map(|m| m.id.clone()),
            "volume_label": volume.as_ref().map(|m| m.label.clone()),
            "path": dest.path,
        });
    }
    match crate::media::disk_of(&policy.disks, path) {
        Some(i) => serde_json::json!({
            "kind": "disk", "disk": policy.disks[i].label, "path": policy.disks[i].path,
        }),
        None => serde_json::json!({
            "kind": "unknown",
            "path": path.components().next().map(|c| PathBuf::from(c.as_os_str())),
        }),
    }
}

/// For crypto-erase: the identity's recipients and the snapshots only it opens.
fn note_identity(
    policy: &Policy,
    item: &Item,
    passphrase: PassphraseSource,
    details: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    let path = PathBuf::from(item.path.clone().unwrap_or_default());
    let recipients = keys::load_identities(&path, passphrase)
        .map(|ids| ids.recipients())
        .ok();
    let only = match &recipients {
        Some(r) => snapshots_only_openable_by(policy, r)?,
        None => Vec::new(),
    };
    let entry = details
        .entry("crypto_erase")
        .or_insert_with(|| serde_json::json!({ "identities": [] }));
    if let Some(list) = entry["identities"].as_array_mut() {
        list.push(serde_json::json!({
            "file": path,
            "recipients": recipients,
            "snapshots_only_it_opens": only,
        }));
    }
    Ok(())
}

/// Snapshots whose every recipient is among `recipients`: once those
/// identities are gone, nobody can open them.
fn snapshots_only_openable_by(policy: &Policy, recipients: &[String]) -> Result<Vec<String>> {
    let mut out = BTreeSet::new();
    for dest in &policy.destinations {
        if !dest.path.is_dir() {
            continue;
        }
        for s in snapshot::list(&dest.path)? {
            if let Ok(m) = &s.meta {
                if !m.recipients.is_empty() && m.recipients.iter().all(|r| recipients.contains(r)) {
                    out.insert(s.id.clone());
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}
