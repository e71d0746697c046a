//! Hostile archives: a snapshot whose sums and signature are all correct but
//! whose archive holds entries that would reach outside the restore target
//! (`..`, an absolute path, a symlink with a file written through it, hard links
//! out of the tree) or make special files (a device node, a FIFO).
//!
//! Each archive is built here header by header (the `tar` crate's builder
//! refuses these names), compressed, encrypted to the site's recipient and
//! sealed into the snapshot with fresh `snapshot.json`, `SHA256SUMS` and
//! signature, so the only thing wrong is inside: `kura verify` without a key
//! passes, while `verify -i` and `restore` give exit 1 and nothing appears
//! outside the target.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use sha2::{Digest, Sha256};

use crate::util::{have_tool, sh, Site, OPERATOR, SNAPSHOT_ID};

/// The archive every hostile case replaces.
const ARCHIVE: &str = "master";
/// What the outside file holds; it must still hold it afterwards.
const OUTSIDE_TEXT: &[u8] = b"not yours to touch\n";

// ---------------------------------------------------------------------------
// Building archives

/// One tar entry, written as a raw header so that any name survives.
struct Entry {
    kind: tar::EntryType,
    name: Vec<u8>,
    link: Vec<u8>,
    data: Vec<u8>,
    device: Option<(u32, u32)>,
    /// Listed in `MANIFEST.sha256`.
    listed: bool,
}

impl Entry {
    fn new(kind: tar::EntryType, name: &str) -> Entry {
        Entry {
            kind,
            name: name.as_bytes().to_vec(),
            link: Vec::new(),
            data: Vec::new(),
            device: None,
            listed: false,
        }
    }

    /// A regular file, listed in the manifest with its true digest.
    fn file(name: &str, data: &[u8]) -> Entry {
        Entry {
            data: data.to_vec(),
            listed: true,
            ..Entry::new(tar::EntryType::Regular, name)
        }
    }

    /// A regular file under a hostile name (not listed: the manifest stays a
    /// list a careful `sha256sum -c` would accept).
    fn hostile_file(name: &str, data: &[u8]) -> Entry {
        Entry {
            data: data.to_vec(),
            ..Entry::new(tar::EntryType::Regular, name)
        }
    }

    fn dir(name: &str) -> Entry {
        Entry::new(tar::EntryType::Directory, name)
    }

    fn symlink(name: &str, target: &str) -> Entry {
        Entry {
            link: target.as_bytes().to_vec(),
            ..Entry::new(tar::EntryType::Symlink, name)
        }
    }

    fn hard_link(name: &str, target: &str) -> Entry {
        Entry {
            link: target.as_bytes().to_vec(),
            ..Entry::new(tar::EntryType::Link, name)
        }
    }

    fn char_device(name: &str, major: u32, minor: u32) -> Entry {
        Entry {
            device: Some((major, minor)),
            ..Entry::new(tar::EntryType::Char, name)
        }
    }

    fn fifo(name: &str) -> Entry {
        Entry::new(tar::EntryType::Fifo, name)
    }
}

/// A plaintext tar stream and what `snapshot.json` should say about it.
struct Plain {
    tar: Vec<u8>,
    files: u64,
    bytes: u64,
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// A GNU long-name (`L`) or long-link (`K`) entry for names of 100 bytes or more.
fn append_long(builder: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &[u8]) {
    let mut h = tar::Header::new_gnu();
    let tag = b"././@LongLink";
    h.as_old_mut().name[..tag.len()].copy_from_slice(tag);
    h.set_entry_type(kind);
    h.set_size(name.len() as u64 + 1);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    let mut data = name.to_vec();
    data.push(0);
    builder.append(&h, &data[..]).unwrap();
}

/// Appends an entry with its name and link name copied byte for byte.
fn append_raw(builder: &mut tar::Builder<Vec<u8>>, e: &Entry) {
    if e.name.len() >= 100 {
        append_long(builder, tar::EntryType::GNULongName, &e.name);
    }
    if e.link.len() >= 100 {
        append_long(builder, tar::EntryType::GNULongLink, &e.link);
    }
    let mut h = tar::Header::new_gnu();
    {
        let old = h.as_old_mut();
        let n = e.name.len().min(old.name.len());
        old.name[..n].copy_from_slice(&e.name[..n]);
        let n = e.link.len().min(old.linkname.len());
        old.linkname[..n].copy_from_slice(&e.link[..n]);
    }
    h.set_entry_type(e.kind);
    h.set_size(e.data.len() as u64);
    h.set_mode(if e.kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_mtime(1_706_662_923);
    h.set_uid(0);
    h.set_gid(0);
    if let Some((major, minor)) = e.device {
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
    }
    h.set_cksum();
    builder.append(&h, &e.data[..]).unwrap();
}

/// The entries, then a `MANIFEST.sha256` with the true digest of every listed file.
fn build_tar(entries: &[Entry]) -> Plain {
    let mut builder = tar::Builder::new(Vec::new());
    let mut manifest = Vec::new();
    let (mut files, mut bytes) = (0, 0);
    for e in entries {
        append_raw(&mut builder, e);
        if e.listed {
            manifest.extend(kura::sums::format_line(&sha256(&e.data), &e.name));
            files += 1;
            bytes += e.data.len() as u64;
        }
    }
    append_raw(
        &mut builder,
        &Entry::hostile_file(kura::archive::MANIFEST_NAME, &manifest),
    );
    Plain {
        tar: builder.into_inner().unwrap(),
        files,
        bytes,
    }
}

/// tar → zstd (frame checksum on) → age to the site's recipient.
fn encrypt(site: &Site, tar: &[u8]) -> Vec<u8> {
    let mut zstd = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    zstd.include_checksum(true).unwrap();
    zstd.write_all(tar).unwrap();
    let compressed = zstd.finish().unwrap();

    let recipient: age::x25519::Recipient = site.recipient.parse().unwrap();
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .unwrap();
    let mut out = Vec::new();
    let mut writer = encryptor.wrap_output(&mut out).unwrap();
    writer.write_all(&compressed).unwrap();
    writer.finish().unwrap();
    out
}

// ---------------------------------------------------------------------------
// Sealing

/// Puts `ciphertext` in place of the `name` archive and re-seals the snapshot:
/// `snapshot.json` (digest, size and, given `plain`, the counts), `SHA256SUMS`
/// and its signature with the site's own key. Then checks that `kura verify`
/// without a key passes, so whatever `-i` or `restore` find is inside the archive.
fn install_archive(site: &Site, name: &str, ciphertext: &[u8], plain: Option<&Plain>) {
    let snap = site.snapshot_dir();
    let file = kura::snapshot::archive_file_name(name);
    fs::write(snap.join(&file), ciphertext).unwrap();

    let json_path = snap.join(kura::snapshot::SNAPSHOT_JSON);
    let mut meta: serde_json::Value =
        serde_json::from_slice(&fs::read(&json_path).unwrap()).unwrap();
    let archive = meta["archives"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no archive {name} in snapshot.json"));
    archive["file"] = file.clone().into();
    archive["ciphertext_sha256"] = hex::encode(sha256(ciphertext)).into();
    archive["ciphertext_bytes"] = (ciphertext.len() as u64).into();
    if let Some(p) = plain {
        archive["files"] = p.files.into();
        archive["plaintext_bytes"] = p.bytes.into();
        archive["tar_bytes"] = (p.tar.len() as u64).into();
    }
    let mut json = serde_json::to_vec_pretty(&meta).unwrap();
    json.push(b'\n');
    fs::write(&json_path, json).unwrap();

    reseal(site);
    site.kura().arg("verify").assert().success();
}

/// Rewrites `SHA256SUMS` over every other file of the snapshot (coreutils
/// format, sorted by name) and signs it with the site's key, as `backup` does.
fn reseal(site: &Site) {
    let snap = site.snapshot_dir();
    let mut names: Vec<String> = fs::read_dir(&snap)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != kura::snapshot::SUMS && n != kura::snapshot::SUMS_SIG)
        .collect();
    names.sort();
    let mut text = Vec::new();
    for name in &names {
        let digest = sha256(&fs::read(snap.join(name)).unwrap());
        text.extend(kura::sums::format_line(&digest, name.as_bytes()));
    }
    let sums = snap.join(kura::snapshot::SUMS);
    fs::write(&sums, text).unwrap();

    let meta = kura::snapshot::read_meta(&snap).unwrap();
    let keys = site.root.join("keys");
    kura::keys::load_signing_key(&keys.join("kura.key"), &keys.join("kura.pub"))
        .unwrap()
        .sign_file(
            &sums,
            &snap.join(kura::snapshot::SUMS_SIG),
            &format!("kura-snapshot {} {}", meta.id, meta.month),
        )
        .unwrap();
}

// ---------------------------------------------------------------------------
// The cases

/// Where a restore goes and what lies next to it: `place/here` is the target
/// (absent at first); `place/outside.txt` and `place/outside-dir/` are what a
/// hostile entry aims at.
struct Layout {
    place: PathBuf,
    target: PathBuf,
    outside_file: PathBuf,
    outside_dir: PathBuf,
}

impl Layout {
    fn new(place: PathBuf) -> Layout {
        let layout = Layout {
            target: place.join("here"),
            outside_file: place.join("outside.txt"),
            outside_dir: place.join("outside-dir"),
            place,
        };
        fs::create_dir_all(&layout.outside_dir).unwrap();
        fs::write(&layout.outside_file, OUTSIDE_TEXT).unwrap();
        fs::write(layout.outside_dir.join("keep.txt"), OUTSIDE_TEXT).unwrap();
        layout
    }
}

fn text(path: &Path) -> String {
    path.to_str().expect("UTF-8 temp path").to_string()
}

#[derive(Debug, Clone, Copy)]
enum Hostile {
    ParentTraversal,
    NestedParentTraversal,
    AbsolutePath,
    SymlinkToAbsoluteDir,
    SymlinkOutOfTree,
    HardLinkToAbsolutePath,
    HardLinkOutOfTree,
    CharDevice,
    Fifo,
}

const ALL: [Hostile; 9] = [
    Hostile::ParentTraversal,
    Hostile::NestedParentTraversal,
    Hostile::AbsolutePath,
    Hostile::SymlinkToAbsoluteDir,
    Hostile::SymlinkOutOfTree,
    Hostile::HardLinkToAbsolutePath,
    Hostile::HardLinkOutOfTree,
    Hostile::CharDevice,
    Hostile::Fifo,
];

/// A hostile archive and what to look for.
struct Case {
    entries: Vec<Entry>,
    /// The entry a finding or refusal must name.
    culprit: String,
    /// Paths outside the target a naive extractor would have created.
    must_not_exist: Vec<PathBuf>,
}

impl Hostile {
    fn slug(self) -> String {
        format!("{self:?}").to_lowercase()
    }

    fn case(self, l: &Layout) -> Case {
        let (hostile, culprit, must_not_exist) = match self {
            Hostile::ParentTraversal => (
                vec![Entry::hostile_file("../escape.txt", b"escaped\n")],
                "../escape.txt".to_string(),
                vec![l.place.join("escape.txt")],
            ),
            Hostile::NestedParentTraversal => (
                vec![Entry::hostile_file("master/../../escape.txt", b"escaped\n")],
                "master/../../escape.txt".to_string(),
                vec![l.place.join("escape.txt")],
            ),
            Hostile::AbsolutePath => {
                let abs = l.place.join("absolute-escape.txt");
                (
                    vec![Entry::hostile_file(&text(&abs), b"escaped\n")],
                    text(&abs),
                    vec![abs],
                )
            }
            Hostile::SymlinkToAbsoluteDir => (
                vec![
                    Entry::symlink("master/link", &text(&l.outside_dir)),
                    Entry::file("master/link/pwned.txt", b"written through a symlink\n"),
                ],
                "master/link".to_string(),
                vec![l.outside_dir.join("pwned.txt")],
            ),
            Hostile::SymlinkOutOfTree => (
                // From `here/master/`, `../../outside-dir` is `place/outside-dir`.
                vec![
                    Entry::symlink("master/link", "../../outside-dir"),
                    Entry::file("master/link/pwned.txt", b"written through a symlink\n"),
                ],
                "master/link".to_string(),
                vec![l.outside_dir.join("pwned.txt")],
            ),
            Hostile::HardLinkToAbsolutePath => (
                // The link, then a file of the same name written through it.
                vec![
                    Entry::hard_link("master/hard", &text(&l.outside_file)),
                    Entry::file("master/hard", b"written through a hard link\n"),
                ],
                "master/hard".to_string(),
                vec![],
            ),
            Hostile::HardLinkOutOfTree => (
                // Hard link names are relative to the extraction root.
                vec![
                    Entry::hard_link("master/hard", "../outside.txt"),
                    Entry::file("master/hard", b"written through a hard link\n"),
                ],
                "master/hard".to_string(),
                vec![],
            ),
            Hostile::CharDevice => (
                vec![Entry::char_device("master/null", 1, 3)],
                "master/null".to_string(),
                vec![],
            ),
            Hostile::Fifo => (
                vec![Entry::fifo("master/pipe")],
                "master/pipe".to_string(),
                vec![],
            ),
        };
        // Ordinary files before and after, so a restore has written some of
        // them by the time it meets the hostile entry.
        let mut entries = vec![
            Entry::dir("master/"),
            Entry::file(
                "master/households.csv",
                "世帯番号,世帯主氏名,住所\n1000000,佐藤 花子,札幌市東区北1条東1丁目\n".as_bytes(),
            ),
            Entry::file("master/note.txt", b"an ordinary file\n"),
        ];
        entries.extend(hostile);
        entries.push(Entry::file(
            "master/after.txt",
            b"after the hostile entry\n",
        ));
        Case {
            entries,
            culprit,
            must_not_exist,
        }
    }
}

/// Names only the hostile `master` archive holds; none may appear in a target.
const HOSTILE_ARCHIVE_NAMES: &[&str] = &[
    "households.csv",
    "note.txt",
    "after.txt",
    "escape.txt",
    "absolute-escape.txt",
    "link",
    "pwned.txt",
    "hard",
    "null",
    "pipe",
];

/// A site with a real snapshot whose `master` archive is replaced by `hostile`.
fn hostile_site(hostile: Hostile) -> (Site, Layout, Case) {
    let site = Site::new();
    site.backup().assert().success();
    let layout = Layout::new(site.root.join("restore"));
    let case = hostile.case(&layout);
    let plain = build_tar(&case.entries);
    install_archive(&site, ARCHIVE, &encrypt(&site, &plain.tar), Some(&plain));
    (site, layout, case)
}

// ---------------------------------------------------------------------------
// Looking for escapes

/// Everything under the site root except the target and kura's own state (the
/// audit database, the destination lock), with a fingerprint of each.
fn outside_tree(site: &Site, target: &Path) -> BTreeMap<PathBuf, String> {
    walkdir::WalkDir::new(&site.root)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| e.path() != target)
        .map(|e| e.unwrap())
        .filter(|e| {
            let name = e.file_name().to_string_lossy();
            !name.starts_with("kura-audit.sqlite") && name != kura::media::LOCK_FILE
        })
        .map(|e| {
            let ft = e.file_type();
            let print = if ft.is_dir() {
                "dir".to_string()
            } else if ft.is_symlink() {
                format!("symlink -> {}", fs::read_link(e.path()).unwrap().display())
            } else if ft.is_file() {
                format!("file {}", hex::encode(sha256(&fs::read(e.path()).unwrap())))
            } else {
                "special file".to_string()
            };
            (e.path().to_path_buf(), print)
        })
        .collect()
}

/// Symlinks, devices, FIFOs and sockets anywhere under `dir` (the site has none).
fn odd_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_type().is_file() && !e.file_type().is_dir())
        .map(|e| e.path().to_path_buf())
        .collect()
}

/// Everything under `dir`, relative; empty when `dir` is absent.
fn contents(dir: &Path) -> Vec<PathBuf> {
    if fs::symlink_metadata(dir).is_err() {
        return Vec::new();
    }
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap().path().strip_prefix(dir).unwrap().to_path_buf())
        .collect()
}

fn combined(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Problems found after a refused restore: anything outside the target that
/// was not there `before`, a changed or re-linked outside file, special files.
fn escapes(
    site: &Site,
    layout: &Layout,
    case: &Case,
    before: &BTreeMap<PathBuf, String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for p in &case.must_not_exist {
        if fs::symlink_metadata(p).is_ok() {
            problems.push(format!("{} was created", p.display()));
        }
    }
    if fs::read(&layout.outside_file).ok().as_deref() != Some(OUTSIDE_TEXT) {
        problems.push(format!("{} was changed", layout.outside_file.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let links = fs::metadata(&layout.outside_file).map_or(0, |m| m.nlink());
        if links != 1 {
            problems.push(format!(
                "{} has {links} links, not 1",
                layout.outside_file.display()
            ));
        }
    }
    let in_dir = contents(&layout.outside_dir);
    if in_dir != [PathBuf::from("keep.txt")] {
        problems.push(format!("{} holds {in_dir:?}", layout.outside_dir.display()));
    }
    let after = outside_tree(site, &layout.target);
    for (path, print) in &after {
        match before.get(path) {
            None => problems.push(format!("{} appeared ({print})", path.display())),
            Some(was) if was != print => {
                problems.push(format!("{} changed ({was} → {print})", path.display()))
            }
            Some(_) => {}
        }
    }
    for path in before.keys().filter(|p| !after.contains_key(*p)) {
        problems.push(format!("{} disappeared", path.display()));
    }
    for path in odd_files(&site.root) {
        problems.push(format!(
            "{} is not a regular file or directory",
            path.display()
        ));
    }
    problems
}

/// `kura restore` of the snapshot into the layout's target.
fn restore(site: &Site, layout: &Layout, archives: &[&str]) -> Output {
    let mut cmd = site.kura();
    cmd.args(["--operator", OPERATOR, "restore", SNAPSHOT_ID, "--to"])
        .arg(&layout.target)
        .arg("-i")
        .arg(&site.identity);
    for a in archives {
        cmd.args(["--archive", a]);
    }
    cmd.output().unwrap()
}

/// Restores only the hostile archive: exit 1, the culprit named, nothing
/// outside the target, and the target absent or empty.
fn restore_refuses(hostile: Hostile) {
    let (site, layout, case) = hostile_site(hostile);
    let before = outside_tree(&site, &layout.target);
    let out = restore(&site, &layout, &[ARCHIVE]);
    let said = combined(&out);
    assert_eq!(out.status.code(), Some(1), "{hostile:?}: {said}");
    assert!(
        said.contains(&case.culprit),
        "{hostile:?}: the refusal does not name {}: {said}",
        case.culprit
    );
    let problems = escapes(&site, &layout, &case, &before);
    assert!(problems.is_empty(), "{hostile:?}: {problems:#?}");
    let left = contents(&layout.target);
    assert!(
        left.is_empty(),
        "{hostile:?}: the target keeps what the refused archive wrote: {left:?}"
    );
}

// ---------------------------------------------------------------------------
// The tests

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Linux stock tools (age, zstd, tar, minisign, sqlite3, bagit.py); tests/integration/wine.rs takes kura.exe across to them"
)]
fn hostile_archives_carry_their_entries_verbatim_for_stock_tar() {
    if !have_tool("tar") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let layout = Layout::new(scratch.path().join("restore"));
    for hostile in ALL {
        let case = hostile.case(&layout);
        let file = scratch.path().join(format!("{}.tar", hostile.slug()));
        fs::write(&file, build_tar(&case.entries).tar).unwrap();
        let listing = sh(
            &format!(
                "tar --list --verbose --absolute-names -f '{}'",
                file.display()
            ),
            scratch.path(),
        );
        assert!(
            listing.contains(&case.culprit),
            "{hostile:?}: stock tar does not list {}: {listing}",
            case.culprit
        );
        let kind = match hostile {
            Hostile::SymlinkToAbsoluteDir | Hostile::SymlinkOutOfTree => Some("\nl"),
            Hostile::HardLinkToAbsolutePath | Hostile::HardLinkOutOfTree => Some(" link to "),
            Hostile::CharDevice => Some("\nc"),
            Hostile::Fifo => Some("\np"),
            _ => None,
        };
        if let Some(kind) = kind {
            assert!(
                format!("\n{listing}").contains(kind),
                "{hostile:?}: not the entry type meant: {listing}"
            );
        }
        assert!(listing.contains("MANIFEST.sha256"), "{listing}");
    }
}

#[test]
fn full_verify_reports_each_hostile_entry_with_exit_1() {
    let site = Site::new();
    site.backup().assert().success();
    let mut failures = Vec::new();
    for hostile in ALL {
        let layout = Layout::new(site.root.join(format!("restore-{}", hostile.slug())));
        let case = hostile.case(&layout);
        let plain = build_tar(&case.entries);
        install_archive(&site, ARCHIVE, &encrypt(&site, &plain.tar), Some(&plain));
        let out = site
            .kura()
            .args(["--operator", OPERATOR, "verify", "-i"])
            .arg(&site.identity)
            .output()
            .unwrap();
        let said = combined(&out);
        if out.status.code() != Some(1) {
            failures.push(format!("{hostile:?}: exit {:?}: {said}", out.status.code()));
        } else if !said.contains(&case.culprit) {
            failures.push(format!("{hostile:?}: {} not named: {said}", case.culprit));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn restore_refuses_parent_traversal_and_writes_nothing_outside() {
    restore_refuses(Hostile::ParentTraversal);
}

#[test]
fn restore_refuses_parent_traversal_inside_a_path_and_writes_nothing_outside() {
    restore_refuses(Hostile::NestedParentTraversal);
}

#[test]
fn restore_refuses_an_absolute_path_and_writes_nothing_there() {
    restore_refuses(Hostile::AbsolutePath);
}

#[test]
fn restore_refuses_a_symlink_to_an_absolute_directory_and_writes_nothing_through_it() {
    restore_refuses(Hostile::SymlinkToAbsoluteDir);
}

#[test]
fn restore_refuses_a_relative_symlink_out_of_the_tree_and_writes_nothing_through_it() {
    restore_refuses(Hostile::SymlinkOutOfTree);
}

#[test]
fn restore_refuses_a_hard_link_to_an_absolute_path_and_leaves_the_linked_file_alone() {
    restore_refuses(Hostile::HardLinkToAbsolutePath);
}

#[test]
fn restore_refuses_a_hard_link_out_of_the_tree_and_leaves_the_linked_file_alone() {
    restore_refuses(Hostile::HardLinkOutOfTree);
}

#[test]
fn restore_refuses_a_character_device_and_creates_no_device_node() {
    restore_refuses(Hostile::CharDevice);
}

#[test]
fn restore_refuses_a_fifo_and_creates_no_fifo() {
    restore_refuses(Hostile::Fifo);
}

#[test]
fn restore_of_every_archive_refuses_each_hostile_master_and_writes_nothing_outside() {
    let site = Site::new();
    site.backup().assert().success();
    let mut failures = Vec::new();
    for hostile in ALL {
        let layout = Layout::new(site.root.join(format!("restore-{}", hostile.slug())));
        let case = hostile.case(&layout);
        let plain = build_tar(&case.entries);
        install_archive(&site, ARCHIVE, &encrypt(&site, &plain.tar), Some(&plain));
        let before = outside_tree(&site, &layout.target);
        let out = restore(&site, &layout, &[]);
        if out.status.code() != Some(1) {
            failures.push(format!(
                "{hostile:?}: exit {:?}: {}",
                out.status.code(),
                combined(&out)
            ));
        }
        for problem in escapes(&site, &layout, &case, &before) {
            failures.push(format!("{hostile:?}: {problem}"));
        }
        for path in contents(&layout.target) {
            let name = path.file_name().unwrap().to_string_lossy();
            if HOSTILE_ARCHIVE_NAMES.contains(&name.as_ref()) {
                failures.push(format!(
                    "{hostile:?}: the target keeps {} from the refused archive",
                    path.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The snapshot with its `master` archive cut in half and everything re-sealed.
fn truncated_site() -> Site {
    let site = Site::new();
    site.backup().assert().success();
    let path = site
        .snapshot_dir()
        .join(kura::snapshot::archive_file_name(ARCHIVE));
    let whole = fs::read(&path).unwrap();
    install_archive(&site, ARCHIVE, &whole[..whole.len() / 2], None);
    site
}

#[test]
fn full_verify_finds_a_truncated_archive_with_rewritten_sums_and_signature() {
    let site = truncated_site();
    let out = site
        .kura()
        .args(["--operator", OPERATOR, "verify", "-i"])
        .arg(&site.identity)
        .output()
        .unwrap();
    let said = combined(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains(ARCHIVE), "{said}");
}

#[test]
fn restore_refuses_a_truncated_archive_with_rewritten_sums_and_leaves_nothing() {
    let site = truncated_site();
    let layout = Layout::new(site.root.join("restore"));
    let case = Case {
        entries: Vec::new(),
        culprit: String::new(),
        must_not_exist: Vec::new(),
    };
    let before = outside_tree(&site, &layout.target);
    let out = restore(&site, &layout, &[ARCHIVE]);
    assert_eq!(out.status.code(), Some(1), "{}", combined(&out));
    let problems = escapes(&site, &layout, &case, &before);
    assert!(problems.is_empty(), "{problems:#?}");
    let left = contents(&layout.target);
    assert!(
        left.is_empty(),
        "the target keeps part of a truncated archive: {left:?}"
    );
}

/// A forged `master` archive of `entries` restored into a fresh target:
/// exit 1 and nothing left in the target.
fn forged_restore_is_a_finding(entries: &[Entry], culprit: &str) {
    let site = Site::new();
    site.backup().assert().success();
    let layout = Layout::new(site.root.join("restore"));
    let plain = build_tar(entries);
    install_archive(&site, ARCHIVE, &encrypt(&site, &plain.tar), Some(&plain));
    let out = restore(&site, &layout, &[ARCHIVE]);
    let said = combined(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains(culprit), "does not name {culprit}: {said}");
    let left = contents(&layout.target);
    assert!(left.is_empty(), "the target keeps {left:?}");
}

#[test]
fn restore_refuses_a_windows_device_name_that_would_open_a_device_there() {
    forged_restore_is_a_finding(
        &[
            Entry::dir("master/"),
            Entry::file("master/a.txt", b"fine\n"),
            Entry::file("master/aux.txt", b"device\n"),
        ],
        "aux.txt",
    );
}

#[test]
fn restore_refuses_two_entries_that_become_one_file_after_case_folding() {
    forged_restore_is_a_finding(
        &[
            Entry::dir("master/"),
            Entry::file("master/Ab.txt", b"first\n"),
            Entry::file(
                "master/ab.txt",
                b"second, overwriting the first on Windows\n",
            ),
        ],
        "ab.txt",
    );
}

#[test]
fn restore_refuses_two_entries_that_become_one_file_after_nfc() {
    forged_restore_is_a_finding(
        &[
            Entry::dir("master/"),
            Entry::file("master/\u{304c}.txt", b"first\n"),
            Entry::file("master/\u{304b}\u{3099}.txt", b"second\n"),
        ],
        ".txt",
    );
}
