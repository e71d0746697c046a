//! The operations manual runs as written. Every ```` ```sh ```` block of
//! `docs/ja/運用手順書.md` and `docs/en/operations.md` is run, in document
//! order, with `bash -euo pipefail` in one sandbox: the manual starts in an
//! empty directory `site/` (which plays `C:\ProgramData\kura\`) and builds
//! everything else itself, from `kura demo --dir ../demo` onwards.
//!
//! Two invisible notes steer a block: `<!-- at: TIME -->` sets `KURA_NOW` for
//! it and the blocks after it (the rehearsal's clock), and
//! `<!-- expect: N -->` names the exit code of the next block (0 otherwise).
//! Blocks that run the stock `age` get a terminal (`script`), because `age`
//! reads an identity's passphrase only from one; kura reads it from
//! `KURA_PASSPHRASE`. A failing block fails the test with its line in the
//! Markdown file and its output.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::have_tool;

/// The rehearsal's passphrase for every identity the manual makes.
const PASSPHRASE: &str = "rehearsal passphrase 2024";
/// A block that runs longer than this is stuck (e.g. waiting for input).
const BLOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// One ```` ```sh ```` block.
#[derive(Debug, Clone, PartialEq)]
struct Block {
    /// The line of the opening fence (1-based).
    line: usize,
    text: String,
    /// `KURA_NOW`, from the last `<!-- at: … -->` before the block.
    now: Option<String>,
    /// The exit code the block must end with.
    expect: i32,
}

/// The value of an HTML comment note `<!-- name: value -->` on this line.
fn note<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    inner.strip_prefix(name)?.strip_prefix(':').map(str::trim)
}

/// Every `sh` block in document order, with the notes that apply to it.
fn sh_blocks(markdown: &str, name: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut now: Option<String> = None;
    let mut expect: Option<(usize, i32)> = None;
    // (info string, line of the fence, text) of the fence we are in.
    let mut open: Option<(String, usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let number = i + 1;
        if let Some((info, start, text)) = &mut open {
            if line.trim() == "```" {
                if info == "sh" {
                    blocks.push(Block {
                        line: *start,
                        text: std::mem::take(text),
                        now: now.clone(),
                        expect: expect.take().map_or(0, |(_, code)| code),
                    });
                }
                open = None;
            } else {
                text.push_str(line);
                text.push('\n');
            }
            continue;
        }
        if let Some(info) = line.trim_start().strip_prefix("```") {
            let info = info.trim().to_string();
            if let Some((at, _)) = expect {
                assert_eq!(
                    info, "sh",
                    "{name}:{at}: the expect note is followed by a ```{info} block, not ```sh"
                );
            }
            open = Some((info, number, String::new()));
        } else if let Some(time) = note(line, "at") {
            now = Some(time.to_string());
        } else if let Some(code) = note(line, "expect") {
            let code = code
                .parse()
                .unwrap_or_else(|_| panic!("{name}:{number}: bad expect note {line:?}"));
            expect = Some((number, code));
        }
    }
    assert!(open.is_none(), "{name}: a code fence is not closed");
    assert!(
        expect.is_none(),
        "{name}: an expect note has no block after it"
    );
    blocks
}

/// Whether the block runs the stock `age` (which asks for a passphrase on a
/// terminal).
fn runs_stock_age(text: &str) -> bool {
    text.lines().any(|line| {
        line.split(['|', ';', '&', '('])
            .any(|part| part.trim_start().starts_with("age "))
    })
}

/// The directory of the `kura` binary under test, for `PATH`.
fn kura_dir() -> PathBuf {
    let bin = assert_cmd::cargo::cargo_bin("kura");
    assert!(bin.is_file(), "{} is not built", bin.display());
    bin.parent().expect("the binary's directory").to_path_buf()
}

/// The command that runs one block script in `dir`.
fn block_command(script: &Path, dir: &Path, lang: &str, now: Option<&str>, tty: bool) -> Command {
    let mut c = if tty {
        let mut c = Command::new("script");
        c.arg("-qec")
            .arg(format!("bash -euo pipefail '{}'", script.display()))
            .arg("/dev/null");
        c
    } else {
        let mut c = Command::new("bash");
        c.arg("-euo").arg("pipefail").arg(script);
        c
    };
    for var in [
        "KURA_POLICY",
        "KURA_OPERATOR",
        "KURA_LANG",
        "KURA_NOW",
        "KURA_PASSPHRASE",
        "LC_ALL",
        "LC_MESSAGES",
    ] {
        c.env_remove(var);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![kura_dir()];
    paths.extend(std::env::split_paths(&path));
    c.current_dir(dir)
        .env("PATH", std::env::join_paths(paths).expect("PATH"))
        .env("LANG", lang)
        .env("TZ", "Asia/Tokyo")
        .env("KURA_PASSPHRASE", PASSPHRASE);
    if let Some(now) = now {
        c.env("KURA_NOW", now);
    }
    c
}

/// Runs one block; returns its exit code and everything it printed.
fn run_block(block: &Block, scratch: &Path, site: &Path, lang: &str) -> (i32, String) {
    let script = scratch.join(format!("block-{}.sh", block.line));
    fs::write(&script, &block.text).expect("write the block");
    let log_path = scratch.join(format!("block-{}.log", block.line));
    let log = File::create(&log_path).expect("log file");
    let tty = runs_stock_age(&block.text);
    let mut command = block_command(&script, site, lang, block.now.as_deref(), tty);
    command
        .stdin(if tty { Stdio::piped() } else { Stdio::null() })
        .stdout(log.try_clone().expect("log file"))
        .stderr(log);
    let mut child = command.spawn().expect("run bash");
    if let Some(mut stdin) = child.stdin.take() {
        // One line per passphrase prompt; `age` asks once per archive.
        let answers = format!("{PASSPHRASE}\n").repeat(16);
        // A block that ends before reading them all is judged by its exit code.
        let _ = stdin.write_all(answers.as_bytes());
    }
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for bash") {
            break Some(status);
        }
        if started.elapsed() > BLOCK_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = String::from_utf8_lossy(&fs::read(&log_path).unwrap_or_default()).into_owned();
    match status {
        Some(status) => (status.code().unwrap_or(-1), output),
        None => (
            -1,
            format!("{output}\n(killed after {BLOCK_TIMEOUT:?}: waiting for input?)"),
        ),
    }
}

/// Runs every `sh` block of the manual in a fresh sandbox, in order.
fn manual_runs_as_written(relative: &str, lang: &str) {
    let tools = ["age", "zstd", "tar", "sha256sum", "minisign", "script"];
    if !tools.iter().all(|t| have_tool(t)) {
        eprintln!("skipped: {relative} needs {}", tools.join(", "));
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let markdown = fs::read_to_string(&path).expect("read the manual");
    let blocks = sh_blocks(&markdown, relative);
    assert!(
        blocks.len() >= 40,
        "{relative}: only {} sh blocks found",
        blocks.len()
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let scratch = tmp.path().join(".blocks");
    let site = tmp.path().join("site");
    fs::create_dir_all(&scratch).unwrap();
    fs::create_dir_all(&site).unwrap();
    for block in &blocks {
        let started = Instant::now();
        let (code, output) = run_block(block, &scratch, &site, lang);
        eprintln!(
            "{relative}:{}: exit {code} in {:.1} s",
            block.line,
            started.elapsed().as_secs_f64()
        );
        assert_ne!(
            code, 101,
            "{relative}:{}: kura panicked\n--- block ---\n{}--- output ---\n{output}",
            block.line, block.text
        );
        assert_eq!(
            code,
            block.expect,
            "{relative}:{}: the block exited with {code}, expected {} (KURA_NOW={})\n\
             --- block ---\n{}--- output ---\n{output}",
            block.line,
            block.expect,
            block.now.as_deref().unwrap_or("unset"),
            block.text
        );
    }
}

#[test]
fn the_japanese_manual_runs_as_written() {
    manual_runs_as_written("docs/ja/運用手順書.md", "ja_JP.UTF-8");
}

#[test]
fn the_english_manual_runs_as_written() {
    manual_runs_as_written("docs/en/operations.md", "C.UTF-8");
}

/// The two manuals are one procedure in two languages: the same commands, at
/// the same rehearsal times, with the same exit codes (comments aside).
#[test]
fn both_manuals_run_the_same_commands() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let commands = |relative: &str| -> Vec<(Option<String>, i32, String)> {
        let markdown = fs::read_to_string(root.join(relative)).expect("read the manual");
        sh_blocks(&markdown, relative)
            .into_iter()
            .map(|b| {
                let text: Vec<&str> = b
                    .text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with('#'))
                    .collect();
                (b.now, b.expect, text.join("\n"))
            })
            .collect()
    };
    let ja = commands("docs/ja/運用手順書.md");
    let en = commands("docs/en/operations.md");
    assert_eq!(
        ja.len(),
        en.len(),
        "the manuals have different numbers of sh blocks"
    );
    for (n, (j, e)) in ja.iter().zip(&en).enumerate() {
        assert_eq!(j, e, "sh block {} differs between the manuals", n + 1);
    }
}

#[test]
fn notes_and_fences_are_read_as_the_test_means_them() {
    let md = "text\n<!-- at: 2024-05-01T10:00:00+09:00 -->\n```sh\nkura check\n```\n\
              ```bat\nkura check\n```\n<!-- expect: 1 -->\n```sh\nkura check\n```\n\
              ```sh\necho | age -d x\n```\n";
    let blocks = sh_blocks(md, "example.md");
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0].line, 3);
    assert_eq!(blocks[0].now.as_deref(), Some("2024-05-01T10:00:00+09:00"));
    assert_eq!(blocks[0].expect, 0);
    assert_eq!(blocks[1].expect, 1);
    assert_eq!(
        blocks[1].now, blocks[0].now,
        "the clock note stays in force"
    );
    assert_eq!(blocks[2].expect, 0, "an expect note applies to one block");
    assert!(!runs_stock_age(&blocks[0].text));
    assert!(runs_stock_age(&blocks[2].text));
    assert!(runs_stock_age("  age -d -i K f | zstd -d\n"));
    assert!(!runs_stock_age("kura keys age --out k\n"));
}
