use std::ffi::OsString;

use clap::CommandFactory;

use super::*;

/// Calls `visit` with each command of the built tree and its table key.
fn walk(cmd: &Command, path: &mut Vec<String>, visit: &mut dyn FnMut(&Command, &str)) {
    visit(cmd, &table_key(path));
    for sub in cmd.get_subcommands() {
        path.push(sub.get_name().to_string());
        walk(sub, path, visit);
        path.pop();
    }
}

fn built() -> Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

/// Commands or arguments deliberately left in English: none.
const UNTRANSLATED: &[&str] = &[];

#[test]
fn every_command_and_argument_has_japanese() {
    let mut missing = Vec::new();
    walk(&built(), &mut Vec::new(), &mut |cmd, key| {
        if about(key).is_none() && !UNTRANSLATED.contains(&key) {
            missing.push(format!("about of `{key}`"));
        }
        if cmd.get_after_help().is_some() && after_help(key).is_none() {
            missing.push(format!("after_help of `{key}`"));
        }
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if arg_help(key, arg).is_none() {
                missing.push(format!("help of `{key}` {id}"));
            }
            if arg.get_action().takes_values() && value_name(arg).is_none() {
                let name = english_value_name(arg);
                missing.push(format!("value name {name} (`{key}` {id})"));
            }
        }
    });
    assert!(missing.is_empty(), "no Japanese for: {missing:#?}");
}

#[test]
fn every_row_of_the_table_names_a_command_or_argument_that_exists() {
    let mut known = Vec::new();
    walk(&built(), &mut Vec::new(), &mut |cmd, key| {
        known.push((key.to_string(), None));
        for arg in cmd.get_arguments() {
            let path = if arg.is_global_set() { "" } else { key };
            known.push((path.to_string(), Some(arg.get_id().to_string())));
        }
    });
    for (path, arg, _) in table::HELP {
        if *path == table::ANY {
            continue;
        }
        let row = (path.to_string(), arg.map(str::to_string));
        assert!(known.contains(&row), "stale row in the table: {row:?}");
    }
    for (path, _) in table::AFTER_HELP {
        assert!(
            known.contains(&(path.to_string(), None)),
            "stale after_help: {path}"
        );
    }
}

#[test]
fn translated_tree_keeps_every_command_and_option() {
    let english = built();
    let japanese = translate(Cli::command());
    let names = |cmd: &Command| {
        let mut all = Vec::new();
        walk(cmd, &mut Vec::new(), &mut |c, key| {
            for a in c.get_arguments() {
                all.push(format!("{key} {:?} {:?}", a.get_long(), a.get_short()));
            }
        });
        all
    };
    assert_eq!(names(&english), names(&japanese));
}

#[test]
fn translated_help_has_japanese_headings_and_no_clap_english() {
    let mut cmd = translate(Cli::command());
    let sub = cmd
        .find_subcommand_mut("erase")
        .and_then(|c| c.find_subcommand_mut("certificate"));
    let help = japanese_usage(&sub.expect("erase certificate").render_help().to_string());
    // Lines are wrapped to the terminal's width: compare words.
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for ja in [
        "使い方:",
        "引数:",
        "オプション:",
        "<依頼番号>",
        "[既定: html]",
        "[指定できる値: html, md, json]",
        "[環境変数: KURA_POLICY]",
        "ヘルプを表示する",
    ] {
        assert!(help.contains(ja), "{ja} missing in:\n{help}");
    }
    for en in [
        "Usage",
        "Options",
        "Arguments",
        "default:",
        "possible values",
        "env:",
        "Print help",
        "The request id",
    ] {
        assert!(!help.contains(en), "{en} in:\n{help}");
    }
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

#[test]
fn lang_is_read_from_the_arguments_before_parsing() {
    assert_eq!(
        lang_argument(&os(&["kura", "--lang", "ja", "check"])),
        Some(Lang::Ja)
    );
    assert_eq!(
        lang_argument(&os(&["kura", "check", "--lang=en"])),
        Some(Lang::En)
    );
    assert_eq!(lang_argument(&os(&["kura", "--lang", "xx"])), None);
    assert_eq!(
        lang_argument(&os(&["kura", "--lang", "ja", "--lang", "en"])),
        Some(Lang::En)
    );
    assert_eq!(lang_argument(&os(&["kura", "--", "--lang", "ja"])), None);
    assert_eq!(lang_argument(&os(&["kura", "--lang"])), None);
}

#[test]
fn help_copies_under_the_help_command_share_the_originals_text() {
    let path = |p: &[&str]| table_key(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(path(&["help", "erase", "request"]), "erase request");
    assert_eq!(path(&["erase", "help", "request"]), "erase request");
    assert_eq!(path(&["erase", "help"]), "help");
    assert_eq!(path(&["help", "help"]), "help");
    assert_eq!(path(&[]), "");
}
