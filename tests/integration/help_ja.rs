//! `--help` and clap's usage errors under Japanese: every command's help
//! (found by walking the コマンド: lists, so a new command is checked too)
//! and each kind of usage error read as a person would, with no English word
//! left but the names one types and the products' names. English is as
//! before.

use std::collections::BTreeSet;

use super::util::kura;

/// Words that stay as they are inside Japanese text, by why.
const KEPT: &[&[&str]] = &[
    // products, formats and tools
    &[
        "kura",
        "age",
        "keygen",
        "zstd",
        "tar",
        "minisign",
        "minisig",
        "JSON",
        "json",
        "JSONL",
        "jsonl",
        "HTML",
        "html",
        "csv",
        "USB",
        "HDD",
        "SHA",
        "RFC",
        "BagIt",
        "SQLite",
        "Unix",
        "Windows",
        "windows",
        "systemd",
        "schtasks",
        "Create",
        "XML",
        "UTF",
        "roff",
        "BUFFALO",
        "Ctrl",
        "SIGTERM",
        "LANG",
        "bash",
        "zsh",
        "fish",
        "powershell",
        "elvish",
    ],
    // values one types: snapshot selectors, erasure methods, the scheduled
    // job's operator name, an audit action id
    &[
        "latest",
        "all",
        "none",
        "overwrite",
        "crypto",
        "destroy",
        "scheduled",
        "task",
        "full",
    ],
    // file and directory names, and the shapes of dates and ids
    &[
        "toml",
        "manifest",
        "certificates",
        "requests",
        "data",
        "bag",
        "info",
        "txt",
        "MANIFEST",
        "YYYY",
        "NNNN",
    ],
    // policy keys
    &[
        "access",
        "operators",
        "erasure",
        "approvers",
        "signing",
        "rehearsal",
        "allow_clock_override",
        "secret_key",
        "public_key",
        // the extensions of minisign key files (kura-2025.key, kura-2025.pub)
        "key",
        "pub",
        "previous_public_keys",
        "until",
        "true",
    ],
];

/// The English words left in `text`: runs of ASCII letters (with `_`) of
/// three or more, without a digit, that are neither an option (`--operator`),
/// a command name, a `KURA_*` variable nor in [`KEPT`].
fn english_left(text: &str, commands: &BTreeSet<String>, also: &[&str]) -> Vec<String> {
    let mut without_options = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '-' && chars.peek() == Some(&'-') {
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '-')
            {
                chars.next();
            }
            without_options.push(' ');
        } else {
            without_options.push(c);
        }
    }
    let mut left = Vec::new();
    for word in without_options.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let kept = word.len() < 3
            || word.chars().any(|c| c.is_ascii_digit())
            || word.starts_with("KURA_")
            || commands.contains(word)
            || also.contains(&word)
            || KEPT.iter().any(|group| group.contains(&word));
        if !kept && !left.contains(&word.to_string()) {
            left.push(word.to_string());
        }
    }
    left
}

fn ja_help(path: &[&str]) -> String {
    let out = kura()
        .args(["--lang", "ja"])
        .args(path)
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "kura {path:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// The names under the コマンド: heading of a help text, `help` aside.
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "コマンド:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A name is indented by two; a wrapped description by more.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every command path, found from `kura --lang ja --help` down.
fn every_command() -> Vec<Vec<String>> {
    let mut found = vec![Vec::new()];
    let mut at = 0;
    while at < found.len() {
        let path = found[at].clone();
        let words: Vec<&str> = path.iter().map(String::as_str).collect();
        for name in listed_commands(&ja_help(&words)) {
            let mut sub = path.clone();
            sub.push(name);
            found.push(sub);
        }
        at += 1;
    }
    found
}

#[test]
fn help_of_every_command_is_japanese() {
    let paths = every_command();
    assert!(paths.len() > 30, "too few commands found: {paths:?}");
    for wanted in [
        &["erase", "request"][..],
        &["policy", "check"],
        &["keys", "age"],
    ] {
        assert!(
            paths.iter().any(|p| p == wanted),
            "{wanted:?} not found in the コマンド: lists"
        );
    }
    let mut commands: BTreeSet<String> = paths.iter().flatten().cloned().collect();
    commands.insert("help".to_string());
    for path in &paths {
        let words: Vec<&str> = path.iter().map(String::as_str).collect();
        let help = ja_help(&words);
        assert!(
            help.contains("使い方: kura"),
            "kura {words:?} --help:\n{help}"
        );
        assert!(
            help.contains("オプション:"),
            "kura {words:?} --help:\n{help}"
        );
        assert!(help.contains("ヘルプを表示する"), "kura {words:?}:\n{help}");
        let left = english_left(&help, &commands, &[]);
        assert!(
            left.is_empty(),
            "English in `kura --lang ja {} --help`: {left:?}\n{help}",
            words.join(" ")
        );
    }
}

#[test]
fn help_command_gives_the_same_japanese_help() {
    let out = kura().args(["--lang", "ja", "help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let listed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(listed, ja_help(&[]));
    assert!(listed.contains("  help         この一覧、または指定したコマンドのヘルプを表示する"));
    let out = kura()
        .args(["--lang", "ja", "help", "erase", "request"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        ja_help(&["erase", "request"])
    );
}

#[test]
fn kura_lang_ja_without_the_option_gives_japanese_help() {
    let out = kura()
        .env("KURA_LANG", "ja")
        .args(["backup", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("使い方: kura backup [オプション]"), "{help}");
    assert!(help.contains("この保存先だけ"), "{help}");
    assert!(!help.contains("Usage"), "{help}");
}

#[test]
#[cfg(not(windows))]
fn a_japanese_system_gives_japanese_help() {
    let out = kura()
        .env("LANG", "ja_JP.UTF-8")
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("終了コード:"), "{help}");
    assert!(!help.contains("Exit codes"), "{help}");
}

#[test]
fn english_help_is_unchanged() {
    let out = kura()
        .env("KURA_LANG", "ja")
        .args(["--lang", "en", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for en in [
        "Usage: kura [OPTIONS] <COMMAND>",
        "Commands:",
        "Options:",
        "--policy <FILE>",
        "[possible values: ja, en]",
        "Print help",
        "Exit codes / 終了コード:",
    ] {
        assert!(help.contains(en), "{en} missing:\n{help}");
    }
    assert!(!help.contains("使い方:"), "{help}");
    let out = kura()
        .args(["report", "monthly", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("別添4 (完了届"), "{help}");
    assert!(help.contains("evidence annex"), "{help}");
}

/// Runs a command line expected to be a usage error under Japanese and
/// returns its stderr, checked for exit 2, nothing on stdout, the shape of
/// the message and no English but `input` (what the person typed).
fn ja_usage_error(args: &[&str], input: &[&str]) -> String {
    let out = kura().env("KURA_LANG", "ja").args(args).output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "kura {args:?}: {err}");
    assert!(out.stdout.is_empty(), "kura {args:?}: stdout not empty");
    assert!(err.starts_with("kura: エラー: "), "{err}");
    assert!(err.contains("を見てください。"), "{err}");
    let commands: BTreeSet<String> = ["kura", "backup", "verify", "erase", "approve", "request"]
        .iter()
        .chain(["report", "monthly", "check", "demo"].iter())
        .map(|s| s.to_string())
        .collect();
    let left = english_left(&err, &commands, input);
    assert!(left.is_empty(), "English in kura {args:?}: {left:?}\n{err}");
    err
}

#[test]
fn unknown_option_is_said_in_japanese_with_a_suggestion() {
    let err = ja_usage_error(&["backup", "--oprator", "x"], &[]);
    assert!(err.contains("不明なオプション '--oprator' です。"), "{err}");
    assert!(err.contains("もしかして: '--operator'"), "{err}");
    assert!(err.contains("使い方: kura backup"), "{err}");
    assert!(
        err.contains("詳しくは 'kura backup --help' を見てください。"),
        "{err}"
    );
}

#[test]
fn unknown_command_is_said_in_japanese_with_a_suggestion() {
    let err = ja_usage_error(&["verfy"], &["verfy"]);
    assert!(err.contains("不明なコマンド 'verfy' です。"), "{err}");
    assert!(err.contains("もしかして: 'verify'"), "{err}");
    assert!(
        err.contains("使い方: kura [オプション] <コマンド>"),
        "{err}"
    );
}

#[test]
fn missing_required_argument_is_said_in_japanese() {
    let err = ja_usage_error(&["erase", "approve"], &[]);
    assert!(err.contains("次の必須の引数が指定されていません:"), "{err}");
    assert!(err.contains("--approver <氏名>"), "{err}");
    assert!(err.contains("<依頼番号>"), "{err}");
    assert!(err.contains("'kura erase approve --help'"), "{err}");
}

#[test]
fn invalid_values_are_said_in_japanese_with_the_valid_ones() {
    let err = ja_usage_error(&["--lang", "xx", "check"], &["xx"]);
    assert!(
        err.contains("'--lang <言語>' に 'xx' は指定できません。"),
        "{err}"
    );
    assert!(err.contains("[指定できる値: ja, en]"), "{err}");
    let err = ja_usage_error(&["report", "monthly", "--format", "pdf"], &["pdf"]);
    assert!(err.contains("'pdf' は指定できません。"), "{err}");
    assert!(err.contains("[指定できる値: html, md, json]"), "{err}");
    assert!(err.contains("'kura report monthly --help'"), "{err}");
}

#[test]
fn a_date_that_does_not_parse_is_said_in_japanese() {
    let err = ja_usage_error(
        &[
            "erase",
            "request",
            "--method",
            "overwrite",
            "--planned",
            "2024-13-01",
            "--reason",
            "期間満了",
        ],
        &[],
    );
    assert!(err.contains("'2024-13-01' が正しくありません。"), "{err}");
    assert!(err.contains("YYYY-MM-DD の形で"), "{err}");
    assert!(!err.contains("out of range"), "{err}");
}

#[test]
fn english_usage_errors_are_unchanged() {
    let out = kura()
        .args(["--lang", "en", "backup", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("error: unexpected argument '--bogus' found"),
        "{err}"
    );
    assert!(err.contains("Usage: kura backup [OPTIONS]"), "{err}");
}

#[test]
fn japanese_version_prints_and_exits_zero() {
    let out = kura().args(["--lang", "ja", "--version"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("kura "));
}

#[test]
fn english_left_finds_english_but_not_names_one_types() {
    let none = BTreeSet::new();
    assert_eq!(english_left("Print help", &none, &[]), ["Print", "help"]);
    assert!(english_left("--against-source と KURA_NOW、hdd1、age1…", &none, &[]).is_empty());
}
