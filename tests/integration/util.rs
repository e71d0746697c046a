//! Test utilities: a site (keys, data, a registered disk, a policy) in a temp
//! directory, and the real `kura` binary run against it, so each test reads
//! like a session at the office.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use tempfile::TempDir;

pub const OPERATOR: &str = "山田 太郎";
pub const NOW: &str = "2024-01-31T01:02:03Z";
pub const SNAPSHOT_ID: &str = "20240131T010203Z";

/// Whether an external tool is there. Missing: the test is skipped with a
/// message, unless `KURA_REQUIRE_INTEROP=1` (CI), where it fails.
pub fn have_tool(name: &str) -> bool {
    // The stock tools the tests run are Linux programs; under Wine the tests
    // that need them are ignored, and optional checks with them skipped.
    if cfg!(windows) {
        eprintln!("skipped on Windows: {name} (a Linux stock tool)");
        return false;
    }
    let found = StdCommand::new(name)
        .arg("--version")
        .output()
        .or_else(|_| StdCommand::new(name).arg("-v").output())
        .is_ok();
    if !found {
        if std::env::var("KURA_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{name} is required (KURA_REQUIRE_INTEROP=1) but not installed");
        }
        eprintln!("skipped: {name} is not installed (set KURA_REQUIRE_INTEROP=1 to require it)");
    }
    found
}

/// The `kura` binary with a clean environment (English messages).
pub fn kura() -> Command {
    let mut c = Command::cargo_bin("kura").expect("kura binary");
    for var in KURA_ENV {
        c.env_remove(var);
    }
    c.env("LANG", ENGLISH_LOCALE);
    c
}

/// What kura reads from the environment, removed for a clean run.
pub const KURA_ENV: [&str; 7] = [
    "KURA_POLICY",
    "KURA_OPERATOR",
    "KURA_LANG",
    "KURA_NOW",
    "KURA_PASSPHRASE",
    "LC_ALL",
    "LC_MESSAGES",
];

/// The `LANG` a test gives kura for English output. On Windows kura never
/// reads `LANG` (it follows the UI language); Wine derives that from the Unix
/// locale it is given, and needs a UTF-8 one for Japanese file names.
pub const ENGLISH_LOCALE: &str = if cfg!(windows) { "en_US.UTF-8" } else { "C" };

/// A site: sources with awkward names, keys, one registered disk, a policy.
pub struct Site {
    _tmp: TempDir,
    pub root: PathBuf,
    pub identity: PathBuf,
    pub recipient: String,
    pub volume: String,
}

impl Site {
    pub fn new() -> Site {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().to_path_buf();
        let keys = root.join("keys");
        fs::create_dir_all(&keys).unwrap();
        let identity = keys.join("identity.txt");
        let recipient =
            kura::keys::generate_age_identity(&identity, None, chrono::Utc::now()).unwrap();
        fs::write(keys.join("recipients.txt"), format!("{recipient}\n")).unwrap();
        kura::keys::generate_signing_keypair(&keys.join("kura.key"), &keys.join("kura.pub"))
            .unwrap();
        write_sources(&root);
        fs::create_dir_all(root.join("usb")).unwrap(); // the mounted disk
        let volume =
            kura::media::register(&root.join("usb/kura"), "HDD1", OPERATOR, chrono::Utc::now())
                .unwrap()
                .id;
        let site = Site {
            _tmp: tmp,
            root,
            identity,
            recipient,
            volume,
        };
        site.write_policy(&site.policy_text(&[&site.volume]));
        site
    }

    pub fn policy_path(&self) -> PathBuf {
        self.root.join("kura.toml")
    }

    pub fn write_policy(&self, text: &str) {
        fs::write(self.policy_path(), text).unwrap();
    }

    /// The standard policy, accepting the given volume ids on `hdd1`. It
    /// allows `KURA_NOW` (`[rehearsal]`, before `[signing]` so that tests
    /// cutting the policy at `[signing]` keep it); [`Site::without_rehearsal`]
    /// makes a production one.
    pub fn policy_text(&self, volumes: &[&str]) -> String {
        let vols: Vec<String> = volumes.iter().map(|v| format!("\"{v}\"")).collect();
        format!(
            r#"[site]
name = "札幌市処理場管理事務所"
system = "し尿くみ取り世帯管理システム"
contract_start = 2023-10-01
contract_end = 2024-03-31

[access]
operators = ["{OPERATOR}", "scheduled-task"]

[[sources]]
name = "master"
label = "マスターデータ"
paths = ["data/master"]

[[sources]]
name = "system-logs"
paths = ["logs/system"]

[[sources]]
name = "app-logs"
paths = ["logs/app", "logs/app-extra.log"]

[[destinations]]
name = "hdd1"
path = "usb/kura"
volumes = [{vols}]

[encryption]
recipients_file = "keys/recipients.txt"

[rehearsal]
allow_clock_override = true

[signing]
secret_key = "keys/kura.key"
public_key = "keys/kura.pub"
"#,
            vols = vols.join(", ")
        )
    }

    /// A policy text without its `[rehearsal]` table: `KURA_NOW` is refused.
    pub fn without_rehearsal(text: &str) -> String {
        let cut = text.replace("[rehearsal]\nallow_clock_override = true\n\n", "");
        assert!(
            !cut.contains("[rehearsal]"),
            "no [rehearsal] table to remove"
        );
        cut
    }

    /// `kura` run in the site with its policy.
    pub fn kura(&self) -> Command {
        let mut c = kura();
        c.current_dir(&self.root)
            .arg("--policy")
            .arg(self.policy_path());
        c
    }

    /// `kura backup` by the listed operator at [`NOW`].
    pub fn backup(&self) -> Command {
        let mut c = self.kura();
        c.env("KURA_NOW", NOW)
            .args(["--operator", OPERATOR, "backup"]);
        c
    }

    /// Registers a second disk `usb2/kura` as destination `hdd2` and
    /// returns the policy text with both (`base` is the policy to extend).
    pub fn with_second_destination(&self, base: &str) -> String {
        fs::create_dir_all(self.root.join("usb2")).unwrap();
        let id = kura::media::register(
            &self.root.join("usb2/kura"),
            "HDD2",
            OPERATOR,
            chrono::Utc::now(),
        )
        .unwrap()
        .id;
        base.replace(
            "[encryption]",
            &format!(
                "[[destinations]]\nname = \"hdd2\"\npath = \"usb2/kura\"\nvolumes = [\"{id}\"]\n\n[encryption]"
            ),
        )
    }

    /// The events of the site's audit log, as `kura audit log --json` gives them.
    pub fn audit_log(&self) -> Vec<serde_json::Value> {
        let out = self
            .kura()
            .args(["--json", "audit", "log"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        v["events"].as_array().unwrap().clone()
    }

    /// The events of the site's audit log as (operator, action, outcome).
    pub fn events(&self) -> Vec<(String, String, String)> {
        self.audit_log()
            .iter()
            .map(|e| {
                let f = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                (f("operator"), f("action"), f("outcome"))
            })
            .collect()
    }

    pub fn dest(&self) -> PathBuf {
        self.root.join("usb").join("kura")
    }

    pub fn snapshot_dir(&self) -> PathBuf {
        self.dest().join("snapshots").join(SNAPSHOT_ID)
    }

    /// Every entry under `snapshots/` of a destination, visible or not.
    pub fn snapshot_entries(dest: &Path) -> Vec<String> {
        match fs::read_dir(dest.join("snapshots")) {
            Err(_) => Vec::new(),
            Ok(rd) => rd
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
        }
    }
}

/// Source trees with the cases that break naive archivers.
fn write_sources(root: &Path) {
    let master = root.join("data/master");
    let deep = master.join(
        "深い階層のディレクトリ名/さらに長いディレクトリ名その二/もっと長いディレクトリ名その三",
    );
    fs::create_dir_all(&deep).unwrap();
    let mut csv = String::from("世帯番号,世帯主氏名,住所\n");
    for i in 0..5000 {
        csv.push_str(&format!(
            "{:07},佐藤 花子{i},札幌市東区北{}条東{}丁目\n",
            1000000 + i,
            i % 50,
            i % 20
        ));
    }
    fs::write(master.join("households.csv"), csv).unwrap();
    fs::write(master.join("empty.dat"), b"").unwrap();
    fs::write(master.join("台帳 メモ.txt"), "メモ: テスト\n").unwrap();
    fs::write(master.join("name with  spaces .txt"), b"spaces").unwrap();
    fs::write(
        deep.join("とても長いファイル名のファイル.bin"),
        (0..=255u8).cycle().take(70_000).collect::<Vec<_>>(),
    )
    .unwrap();
    let mut noise = vec![0u8; 300_000];
    let mut x: u64 = 0x9E3779B97F4A7C15;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    fs::write(master.join("ledger.bin"), noise).unwrap();
    fs::create_dir_all(root.join("data/master/空のディレクトリ")).unwrap();
    let system = root.join("logs/system");
    fs::create_dir_all(&system).unwrap();
    fs::write(
        system.join("System-202401.log"),
        "2024-01-01 INFO started\n".repeat(2000),
    )
    .unwrap();
    let app = root.join("logs/app");
    fs::create_dir_all(&app).unwrap();
    fs::write(
        app.join("app-20240130.log"),
        "2024-01-30 WARN 世帯番号 1000001 更新\n".repeat(1000),
    )
    .unwrap();
    fs::write(root.join("logs/app-extra.log"), "extra\n").unwrap();
}

/// Every regular file and directory under `dir`, relative, with contents.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out: Vec<_> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            let data = e.file_type().is_file().then(|| fs::read(e.path()).unwrap());
            (rel, data)
        })
        .collect();
    out.sort();
    out
}

/// The SHA-256 of a file in hex, as `sha256sum` prints it (no shell needed).
pub fn sha256_hex(path: &Path) -> String {
    let file = fs::File::open(path).unwrap();
    hex::encode(kura::sums::digest_reader(file).unwrap().0)
}

/// Copies a directory tree (`cp -r` without a shell).
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A relative path written with `/`, in the platform's separators, as kura
/// prints it.
pub fn native(path: &str) -> String {
    path.replace('/', std::path::MAIN_SEPARATOR_STR)
}

/// Runs a shell pipeline, panicking with its stderr on failure.
pub fn sh(script: &str, dir: &Path) -> String {
    let out = StdCommand::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`{script}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
