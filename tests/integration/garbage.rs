//! Garbage everywhere kura reads: every file a command opens — archives,
//! `snapshot.json`, `SHA256SUMS`, the signature, the volume marker, the
//! policy, the recipients file, key files, the audit database, checkpoint
//! files — emptied, truncated, overwritten with random bytes or with one bit
//! flipped, and each command that reads it run against it. The answer must be
//! the SPEC's exit code and a message naming the file, never a panic (exit
//! 101). Table-driven: one row per file, the mutations that make sense for it,
//! and the commands with the codes they may give.
//!
//! A second part feeds the same parsers the fuzz targets in `fuzz/` cover
//! with thousands of seeded random and mutated inputs, in-process, so the
//! normal suite keeps them honest even where `cargo fuzz` cannot run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use sha2::{Digest, Sha256};

use crate::faults::Rng;
use crate::util::{Site, OPERATOR, SNAPSHOT_ID};

/// How a file is damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Damage {
    Empty,
    FirstByte,
    Half,
    AllButLast,
    /// As many random bytes as the file had.
    Random,
    /// 64 random bytes.
    ShortRandom,
    /// One bit flipped in the middle.
    BitFlip,
}

const ALL: &[Damage] = &[
    Damage::Empty,
    Damage::FirstByte,
    Damage::Half,
    Damage::AllButLast,
    Damage::Random,
    Damage::ShortRandom,
    Damage::BitFlip,
];
/// For a JSON file ending in a newline, which without it is the same
/// document: every damage but the cut of that last byte.
const JSON_WITH_NEWLINE: &[Damage] = &[
    Damage::Empty,
    Damage::FirstByte,
    Damage::Half,
    Damage::Random,
    Damage::ShortRandom,
    Damage::BitFlip,
];
/// For text files where a missing last newline or one changed character can
/// still be valid (policy, keys): only damage that cannot be.
const BROKEN_TEXT: &[Damage] = &[
    Damage::Empty,
    Damage::FirstByte,
    Damage::Half,
    Damage::Random,
    Damage::ShortRandom,
];

fn damage(original: &[u8], how: Damage, rng: &mut Rng) -> Vec<u8> {
    let n = original.len();
    match how {
        Damage::Empty => Vec::new(),
        Damage::FirstByte => original[..n.min(1)].to_vec(),
        Damage::Half => original[..n / 2].to_vec(),
        Damage::AllButLast => original[..n.saturating_sub(1)].to_vec(),
        Damage::Random => rng.bytes(n),
        Damage::ShortRandom => rng.bytes(64),
        Damage::BitFlip => {
            let mut d = original.to_vec();
            if n > 0 {
                d[n / 2] ^= 0x01;
            }
            d
        }
    }
}

/// One command run against a damaged file, and the exit codes it may give.
struct Run {
    args: &'static [&'static str],
    codes: &'static [i32],
}

/// One file, the damage done to it, the commands that read it.
struct Row {
    /// Relative to the site; `{snap}` is the snapshot directory.
    file: &'static str,
    damage: &'static [Damage],
    runs: &'static [Run],
    /// Re-seal the snapshot's sums, signature and metadata over the damaged
    /// file, so the damage reaches the decrypting reader.
    reseal: bool,
}

const VERIFY: Run = Run {
    args: &["verify", SNAPSHOT_ID],
    codes: &[1],
};
/// `{id}` and `{to}` are filled in: the identity and a fresh target.
const FULL_VERIFY: Run = Run {
    args: &["--operator", OPERATOR, "verify", SNAPSHOT_ID, "-i", "{id}"],
    codes: &[1],
};
const RESTORE: Run = Run {
    args: &[
        "--operator",
        OPERATOR,
        "restore",
        SNAPSHOT_ID,
        "--to",
        "{to}",
        "-i",
        "{id}",
    ],
    codes: &[1],
};
const NEXT_BACKUP: &[&str] = &["--operator", OPERATOR, "backup"];

fn rows() -> Vec<Row> {
    vec![
        Row {
            file: "{snap}/master.tar.zst.age",
            damage: ALL,
            runs: &[VERIFY, FULL_VERIFY, RESTORE],
            reseal: false,
        },
        // The same damage behind correct sums and signature: found by the
        // age, zstd and tar readers themselves.
        Row {
            file: "{snap}/master.tar.zst.age",
            damage: ALL,
            runs: &[
                Run {
                    args: &["verify", SNAPSHOT_ID],
                    codes: &[0],
                },
                FULL_VERIFY,
                RESTORE,
            ],
            reseal: true,
        },
        Row {
            file: "{snap}/audit.tar.zst.age",
            damage: &[Damage::Half, Damage::Random, Damage::BitFlip],
            runs: &[FULL_VERIFY, RESTORE],
            reseal: true,
        },
        Row {
            file: "{snap}/snapshot.json",
            damage: ALL,
            runs: &[
                VERIFY,
                RESTORE,
                Run {
                    args: &["snapshots"],
                    codes: &[0, 1],
                },
                // A damaged old snapshot does not stop next month's backup.
                Run {
                    args: NEXT_BACKUP,
                    codes: &[0],
                },
            ],
            reseal: false,
        },
        Row {
            file: "{snap}/SHA256SUMS",
            damage: ALL,
            runs: &[VERIFY, RESTORE],
            reseal: false,
        },
        Row {
            file: "{snap}/SHA256SUMS.minisig",
            // Without its last newline a signature is still the signature.
            damage: &[
                Damage::Empty,
                Damage::FirstByte,
                Damage::Half,
                Damage::Random,
                Damage::ShortRandom,
                Damage::BitFlip,
            ],
            runs: &[VERIFY, RESTORE],
            reseal: false,
        },
        Row {
            file: "usb/kura/kura-volume.json",
            damage: JSON_WITH_NEWLINE,
            runs: &[
                // Unreadable marker: 3; readable but another id: 4.
                Run {
                    args: NEXT_BACKUP,
                    codes: &[3, 4],
                },
                Run {
                    args: &[
                        "--operator",
                        OPERATOR,
                        "volume",
                        "register",
                        "usb/kura",
                        "--label",
                        "X",
                    ],
                    codes: &[3, 4],
                },
            ],
            reseal: false,
        },
        Row {
            file: "kura.toml",
            damage: BROKEN_TEXT,
            runs: &[
                Run {
                    args: &["policy", "check"],
                    codes: &[2],
                },
                Run {
                    args: NEXT_BACKUP,
                    codes: &[2],
                },
                Run {
                    args: &["verify"],
                    codes: &[2],
                },
                Run {
                    args: &["audit", "verify"],
                    codes: &[2],
                },
            ],
            reseal: false,
        },
        Row {
            file: "keys/recipients.txt",
            damage: &[
                Damage::FirstByte,
                Damage::Half,
                Damage::Random,
                Damage::ShortRandom,
                Damage::BitFlip,
            ],
            runs: &[
                Run {
                    args: &["policy", "check"],
                    codes: &[2],
                },
                Run {
                    args: NEXT_BACKUP,
                    codes: &[2],
                },
            ],
            reseal: false,
        },
        Row {
            file: "keys/identity.txt",
            damage: BROKEN_TEXT,
            runs: &[
                Run {
                    args: &["--operator", OPERATOR, "verify", SNAPSHOT_ID, "-i", "{id}"],
                    codes: &[3],
                },
                Run {
                    args: RESTORE.args,
                    codes: &[3],
                },
            ],
            reseal: false,
        },
        Row {
            file: "keys/kura.key",
            damage: BROKEN_TEXT,
            runs: &[Run {
                args: NEXT_BACKUP,
                codes: &[3],
            }],
            reseal: false,
        },
        Row {
            file: "keys/kura.pub",
            damage: BROKEN_TEXT,
            runs: &[
                Run {
                    args: &["verify", SNAPSHOT_ID],
                    codes: &[1, 3],
                },
                Run {
                    args: NEXT_BACKUP,
                    codes: &[3],
                },
            ],
            reseal: false,
        },
        Row {
            file: "kura-audit.sqlite",
            damage: &[
                Damage::FirstByte,
                Damage::Half,
                Damage::Random,
                Damage::ShortRandom,
            ],
            runs: &[
                Run {
                    args: &["audit", "verify"],
                    codes: &[1, 3],
                },
                Run {
                    args: &["audit", "log"],
                    codes: &[1, 3],
                },
                Run {
                    args: NEXT_BACKUP,
                    codes: &[1, 3],
                },
            ],
            reseal: false,
        },
        Row {
            file: "checkpoints/checkpoint-00000003.txt",
            damage: ALL,
            runs: &[Run {
                args: &["audit", "verify"],
                codes: &[1],
            }],
            reseal: false,
        },
    ]
}

/// A site with one snapshot and a signed checkpoint file.
fn site_with_snapshot() -> Site {
    let site = Site::new();
    site.backup().assert().success();
    site.kura()
        .args(["--operator", OPERATOR, "audit", "checkpoint"])
        .assert()
        .success();
    assert!(site
        .root
        .join("checkpoints/checkpoint-00000003.txt")
        .is_file());
    site
}

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Puts the snapshot's metadata, `SHA256SUMS` and signature in agreement
/// with the archive files as they now are, as a forger with the signing key
/// would: what is left to find is inside the archives.
fn reseal(site: &Site) {
    let snap = site.snapshot_dir();
    let json_path = snap.join(kura::snapshot::SNAPSHOT_JSON);
    let mut meta: serde_json::Value =
        serde_json::from_slice(&fs::read(&json_path).unwrap()).unwrap();
    for a in meta["archives"].as_array_mut().unwrap() {
        let data = fs::read(snap.join(a["file"].as_str().unwrap())).unwrap();
        a["ciphertext_sha256"] = hex::encode(sha256(&data)).into();
        a["ciphertext_bytes"] = (data.len() as u64).into();
    }
    let mut json = serde_json::to_vec_pretty(&meta).unwrap();
    json.push(b'\n');
    fs::write(&json_path, json).unwrap();
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
    let keys = site.root.join("keys");
    kura::keys::load_signing_key(&keys.join("kura.key"), &keys.join("kura.pub"))
        .unwrap()
        .sign_file(
            &sums,
            &snap.join(kura::snapshot::SUMS_SIG),
            &format!("kura-snapshot {} resealed", SNAPSHOT_ID),
        )
        .unwrap();
}

/// Every file under `dir`, with contents, to restore the site between cases.
fn snapshot_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), fs::read(e.path()).unwrap()))
        .collect()
}

fn put_back(dir: &Path, saved: &[(PathBuf, Vec<u8>)]) {
    // Anything new (next month's snapshot, restore targets) goes.
    for e in walkdir::WalkDir::new(dir)
        .contents_first(true)
        .into_iter()
        .map(|e| e.unwrap())
    {
        let known = saved.iter().any(|(p, _)| p.starts_with(e.path()));
        if !known {
            if e.file_type().is_dir() {
                fs::remove_dir_all(e.path()).unwrap();
            } else {
                fs::remove_file(e.path()).unwrap();
            }
        }
    }
    for (path, data) in saved {
        if fs::read(path).ok().as_deref() != Some(&data[..]) {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, data).unwrap();
        }
    }
}

fn combined(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs every row whose file matches `select`; returns (cases, runs).
fn run_rows(select: impl Fn(&Row) -> bool) -> (usize, usize) {
    let site = site_with_snapshot();
    let saved = snapshot_of(&site.root);
    let mut rng = Rng::new(0x6761_7262);
    let (mut cases, mut runs) = (0, 0);
    for row in rows().iter().filter(|r| select(r)) {
        let rel = row
            .file
            .replace("{snap}", &format!("usb/kura/snapshots/{SNAPSHOT_ID}"));
        let path = site.root.join(&rel);
        let base = Path::new(&rel)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let original = fs::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        for &how in row.damage {
            let damaged = damage(&original, how, &mut rng);
            fs::write(&path, &damaged).unwrap();
            if row.reseal {
                reseal(&site);
            }
            for (i, run) in row.runs.iter().enumerate() {
                let to = site.root.join(format!("restored-{i}"));
                let args: Vec<String> = run
                    .args
                    .iter()
                    .map(|a| match *a {
                        "{id}" => site.identity.to_string_lossy().into_owned(),
                        "{to}" => to.to_string_lossy().into_owned(),
                        other => other.to_string(),
                    })
                    .collect();
                let out = site
                    .kura()
                    .env("KURA_NOW", "2024-02-29T01:00:00Z")
                    .args(&args)
                    .output()
                    .unwrap();
                let what = format!("{rel} {how:?}: kura {}", args.join(" "));
                let text = combined(&out);
                assert!(!text.contains("panicked"), "{what}: panic\n{text}");
                let code = out
                    .status
                    .code()
                    .unwrap_or_else(|| panic!("{what}: killed by {:?}", out.status));
                assert!(
                    run.codes.contains(&code),
                    "{what}: exit {code}, expected {:?}\n{text}",
                    run.codes
                );
                if code != 0 {
                    assert!(text.contains(&base), "{what}: does not name {base}\n{text}");
                }
                if args.iter().any(|a| a == "restore") {
                    assert!(
                        !to.exists() || fs::read_dir(&to).unwrap().next().is_none(),
                        "{what}: a failed restore left files"
                    );
                }
                runs += 1;
            }
            cases += 1;
            put_back(&site.root, &saved);
        }
    }
    (cases, runs)
}

#[test]
fn damaged_snapshot_files_give_exit_1_naming_the_file() {
    let (cases, runs) = run_rows(|r| r.file.starts_with("{snap}") && !r.reseal);
    eprintln!("garbage in snapshot files (no re-seal): {cases} damaged files, {runs} runs, all with the SPEC code, no panic");
}

#[test]
fn damaged_archives_behind_valid_sums_give_exit_1_from_the_readers() {
    let (cases, runs) = run_rows(|r| r.reseal);
    eprintln!("garbage archives behind re-sealed sums and signature: {cases} damaged files, {runs} runs, all exit 1 (verify -i, restore), no panic");
}

#[test]
fn damaged_policy_keys_marker_and_audit_files_give_their_exit_codes() {
    let (cases, runs) = run_rows(|r| !r.file.starts_with("{snap}"));
    eprintln!("garbage policy, recipients, identity, signing keys, volume marker, audit database, checkpoint: {cases} damaged files, {runs} runs, all with the SPEC code, no panic");
}

// ---------------------------------------------------------------------------
// The fuzz targets' parsers, in the normal suite

/// Deletes, inserts, overwrites or duplicates a few bytes of `seed`.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut d = seed.to_vec();
    for _ in 0..1 + rng.next_u64() % 8 {
        let at = if d.is_empty() {
            0
        } else {
            (rng.next_u64() % d.len() as u64) as usize
        };
        match rng.next_u64() % 5 {
            0 if !d.is_empty() => {
                let n = (1 + rng.next_u64() % 16) as usize;
                d.drain(at..(at + n).min(d.len()));
            }
            1 => {
                let n = 1 + (rng.next_u64() % 8) as usize;
                let b = rng.bytes(n);
                d.splice(at..at, b);
            }
            2 if !d.is_empty() => d[at] = rng.next_u64() as u8,
            3 if !d.is_empty() => {
                let end = (at + 1 + (rng.next_u64() % 64) as usize).min(d.len());
                let piece = d[at..end].to_vec();
                d.splice(at..at, piece);
            }
            _ => d.truncate(at),
        }
    }
    d
}

/// Seeded random and mutated inputs for each parser: `ROUNDS` each.
const ROUNDS: usize = 3000;

#[test]
fn the_policy_parser_survives_random_and_mutated_text() {
    let site = Site::new();
    let valid = fs::read(site.policy_path()).unwrap();
    let mut rng = Rng::new(1);
    let mut errors = 0;
    for i in 0..ROUNDS {
        let input = if i % 4 == 0 {
            {
                let n = (rng.next_u64() % 300) as usize;
                rng.bytes(n)
            }
        } else {
            mutate(&valid, &mut rng)
        };
        let text = String::from_utf8_lossy(&input);
        for lang in [kura::Lang::En, kura::Lang::Ja] {
            match kura::policy::Policy::parse(&text, Path::new("kura.toml"), &site.root, lang) {
                Ok(_) => {}
                Err(e) => {
                    errors += 1;
                    assert_eq!(e.exit_code().code(), 2, "{e}");
                    assert!(e.message(lang).contains("kura.toml"), "{e}");
                }
            }
        }
    }
    eprintln!("policy parser: {ROUNDS} random/mutated texts × 2 languages, {errors} errors, all exit 2 naming the file");
}

#[test]
fn the_checksum_parser_survives_random_input_and_round_trips() {
    let mut rng = Rng::new(2);
    let mut good = Vec::new();
    for i in 0..20u8 {
        let name: Vec<u8> = match i % 4 {
            0 => format!("master/file {i}.txt").into_bytes(),
            1 => b"back\\slash\nnew\rline".to_vec(),
            2 => "台帳/メモ.txt".as_bytes().to_vec(),
            _ => rng.bytes(12).into_iter().filter(|b| *b != 0).collect(),
        };
        if !name.is_empty() {
            good.extend(kura::sums::format_line(&sha256(&name), &name));
        }
    }
    for i in 0..ROUNDS {
        let input = if i % 3 == 0 {
            {
                let n = (rng.next_u64() % 400) as usize;
                rng.bytes(n)
            }
        } else {
            mutate(&good, &mut rng)
        };
        if let Ok(entries) = kura::sums::parse(&input[..]) {
            for e in entries {
                let line = kura::sums::format_line(&e.digest, &e.name);
                assert_eq!(kura::sums::parse(&line[..]).unwrap(), vec![e]);
            }
        }
    }
}

/// A small valid archive's plaintext tar, as kura writes it.
fn valid_tar(site: &Site) -> Vec<u8> {
    let ids = kura::keys::load_identities(&site.identity, &|_| None).unwrap();
    let file = fs::File::open(site.snapshot_dir().join("app-logs.tar.zst.age")).unwrap();
    let mut plain = match kura::archive::open(std::io::BufReader::new(file), ids.as_dyn()) {
        Ok(p) => p,
        Err(_) => panic!("cannot open the archive"),
    };
    let mut tar = Vec::new();
    std::io::copy(&mut plain, &mut tar).unwrap();
    tar
}

#[test]
fn the_archive_reader_survives_random_and_mutated_tar_streams() {
    let site = Site::new();
    site.backup().assert().success();
    let tar = valid_tar(&site);
    let report = kura::archive::check_archive(&tar[..], &kura::progress::Silent).unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    let mut rng = Rng::new(3);
    let (mut errors, mut findings) = (0, 0);
    for i in 0..ROUNDS {
        let input = if i % 10 == 0 {
            {
                let n = (rng.next_u64() % 4096) as usize;
                rng.bytes(n)
            }
        } else {
            mutate(&tar, &mut rng)
        };
        match kura::archive::check_archive(&input[..], &kura::progress::Silent) {
            Err(_) => errors += 1,
            Ok(r) if !r.findings.is_empty() => findings += 1,
            Ok(_) => {}
        }
    }
    eprintln!("archive reader: {ROUNDS} random/mutated tar streams: {errors} read errors, {findings} with findings, no panic");
}

/// Opens `data` as an archive and reads it to the end; whether it opened.
fn open_and_read(data: &[u8], ids: &kura::keys::Identities) -> bool {
    match kura::archive::open(std::io::Cursor::new(data.to_vec()), ids.as_dyn()) {
        Ok(plain) => {
            let _ = kura::archive::check_archive(plain, &kura::progress::Silent);
            true
        }
        Err(_) => false,
    }
}

#[test]
fn age_opening_survives_random_and_mutated_ciphertext() {
    let site = Site::new();
    site.backup().assert().success();
    let ciphertext = fs::read(site.snapshot_dir().join("app-logs.tar.zst.age")).unwrap();
    let ids = kura::keys::load_identities(&site.identity, &|_| None).unwrap();
    let mut rng = Rng::new(4);
    let mut opened = 0;
    for i in 0..ROUNDS / 3 {
        let input = if i % 5 == 0 {
            let mut d = b"age-encryption.org/v1\n".to_vec();
            d.extend({
                let n = (rng.next_u64() % 300) as usize;
                rng.bytes(n)
            });
            d
        } else {
            mutate(&ciphertext, &mut rng)
        };
        if open_and_read(&input, &ids) {
            opened += 1;
        }
    }
    eprintln!(
        "age header: {} random/mutated archives, {opened} opened, no panic",
        ROUNDS / 3
    );
}

#[test]
fn the_small_parsers_survive_random_text() {
    let mut rng = Rng::new(5);
    let seeds: &[&[u8]] = &[
        b"12:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        b"1700000000.123456789",
        b"20240131T010203Z",
        b"2024-01-31T01:02:03Z",
        b"master/sub/file.txt",
        br#"{"format":"kura-volume/1","id":"kv-0123456789ab","label":"x","registered_at":"2024-01-01T00:00:00Z","registered_by":"y"}"#,
    ];
    for i in 0..ROUNDS {
        let input = if i % 3 == 0 {
            {
                let n = (rng.next_u64() % 80) as usize;
                rng.bytes(n)
            }
        } else {
            mutate(seeds[i % seeds.len()], &mut rng)
        };
        let _ = serde_json::from_slice::<kura::snapshot::SnapshotMeta>(&input);
        let _ = serde_json::from_slice::<kura::media::VolumeMarker>(&input);
        let _ = kura::archive::is_safe_entry_path(&input);
        let text = String::from_utf8_lossy(&input);
        let _ = kura::audit::Checkpoint::parse(&text, "test");
        let _ = kura::archive::Mtime::parse_pax(&text);
        let _ = kura::verify::Selection::parse(&text);
        let _ = kura::clock::Clock::from_env_value(Some(&text));
    }
}

/// Regression: `a_truncated_audit_database_was_replaced_by_a_new_log`.
/// SQLite takes a file shorter than its header for an empty database, so a
/// log cut to a few bytes was silently overwritten by a new chain at the next
/// backup. Now the backup refuses (exit 1, naming the database), writes no
/// snapshot, and leaves the damaged file as it was for inspection.
#[test]
fn a_truncated_audit_database_was_replaced_by_a_new_log() {
    let site = Site::new();
    site.backup().assert().success();
    let db = site.root.join("kura-audit.sqlite");
    for cut in [1usize, 15, 99] {
        let original = fs::read(&db).unwrap();
        fs::write(&db, &original[..cut]).unwrap();
        let out = site
            .kura()
            .env("KURA_NOW", "2024-02-29T01:00:00Z")
            .args(["--operator", OPERATOR, "backup"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "cut to {cut}: {}",
            combined(&out)
        );
        assert!(combined(&out).contains("kura-audit.sqlite"));
        assert_eq!(
            fs::read(&db).unwrap(),
            &original[..cut],
            "the damaged log was kept"
        );
        assert_eq!(
            Site::snapshot_entries(&site.dest()),
            vec![SNAPSHOT_ID.to_string()]
        );
        fs::write(&db, &original).unwrap();
    }
}

/// Regression: `full_verify_error_did_not_name_the_damaged_archive`. When an
/// archive behind valid sums could not be read, `verify -i` ended with
/// "integrity check failed for <snapshot directory>: not a readable age
/// file", naming no file; the message now names the archive file.
#[test]
fn full_verify_error_did_not_name_the_damaged_archive() {
    let site = Site::new();
    site.backup().assert().success();
    let archive = site.snapshot_dir().join("system-logs.tar.zst.age");
    fs::write(&archive, b"age-encryption.org/v1\n-> garbage\n").unwrap();
    reseal(&site);
    let out = site
        .kura()
        .args(["--operator", OPERATOR, "verify", "-i"])
        .arg(&site.identity)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", combined(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("system-logs.tar.zst.age"), "{err}");
}
