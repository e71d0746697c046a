//! clap's usage errors, written in Japanese from their kind and context.
//! The shape follows clap's: what is wrong, a suggestion, the usage line and
//! where to read more. Context clap only has as English prose (an error's
//! `source`, most `tip:` lines) is left out or re-said, never shown as is.

use std::ffi::OsString;

use clap::builder::Command;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use super::japanese_usage;

/// The text to print for `e`, and whether it goes to stdout (help and
/// version) rather than stderr.
pub(super) fn render(e: &clap::Error, cmd: &Command, args: &[OsString]) -> (String, bool) {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            (japanese_usage(e.render().to_string().trim_end()), true)
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            (japanese_usage(e.render().to_string().trim_end()), false)
        }
        _ => (usage_error(e, cmd, args), false),
    }
}

fn usage_error(e: &clap::Error, cmd: &Command, args: &[OsString]) -> String {
    let mut lines = vec![format!("kura: エラー: {}", message(e))];
    lines.extend(suggestions(e));
    let usage = text(e.get(ContextKind::Usage)).map(|u| {
        let u = u.trim_end();
        japanese_usage(u.strip_prefix("Usage: ").unwrap_or(u))
    });
    let command = usage
        .as_deref()
        .map(command_of_usage)
        .unwrap_or_else(|| command_of_args(cmd, args));
    if let Some(usage) = usage {
        lines.push(String::new());
        lines.push(format!("使い方: {usage}"));
    }
    lines.push(String::new());
    lines.push(format!("詳しくは '{command} --help' を見てください。"));
    lines.join("\n")
}

/// What is wrong, in one sentence (and a list where clap gives one).
fn message(e: &clap::Error) -> String {
    let arg = text(e.get(ContextKind::InvalidArg)).unwrap_or_default();
    let value = text(e.get(ContextKind::InvalidValue)).unwrap_or_default();
    let number = |kind| match e.get(kind) {
        Some(ContextValue::Number(n)) => n.to_string(),
        _ => "?".to_string(),
    };
    match e.kind() {
        ErrorKind::UnknownArgument if arg.starts_with('-') => {
            format!("不明なオプション '{arg}' です。")
        }
        ErrorKind::UnknownArgument => format!("余分な引数 '{arg}' があります。"),
        ErrorKind::InvalidSubcommand => {
            let sub = text(e.get(ContextKind::InvalidSubcommand)).unwrap_or_default();
            format!("不明なコマンド '{sub}' です。")
        }
        ErrorKind::MissingSubcommand => {
            let sub = text(e.get(ContextKind::InvalidSubcommand)).unwrap_or_default();
            let mut m = format!("'{sub}' の後にコマンドを指定してください。");
            if let Some(valid) = list(e.get(ContextKind::ValidSubcommand)) {
                m.push_str(&format!("\n  [コマンド: {}]", valid.join(", ")));
            }
            m
        }
        ErrorKind::MissingRequiredArgument => {
            let mut m = "次の必須の引数が指定されていません:".to_string();
            for a in list(e.get(ContextKind::InvalidArg)).unwrap_or_default() {
                m.push_str(&format!("\n  {a}"));
            }
            m
        }
        ErrorKind::InvalidValue if value.is_empty() => {
            format!("'{arg}' に値が指定されていません。")
        }
        ErrorKind::InvalidValue => {
            let mut m = format!("'{arg}' に '{value}' は指定できません。");
            if let Some(valid) = list(e.get(ContextKind::ValidValue)) {
                m.push_str(&format!("\n  [指定できる値: {}]", valid.join(", ")));
            }
            m
        }
        ErrorKind::ValueValidation => {
            format!(
                "'{arg}' の値 '{value}' が正しくありません。{}",
                what_is_expected(e)
            )
        }
        ErrorKind::TooManyValues => {
            format!("'{arg}' への値 '{value}' は余分です (これ以上は指定できません)。")
        }
        ErrorKind::TooFewValues => format!(
            "'{arg}' には値が {} 個必要ですが、{} 個しかありません。",
            number(ContextKind::MinValues),
            number(ContextKind::ActualNumValues)
        ),
        ErrorKind::WrongNumberOfValues => format!(
            "'{arg}' には値が {} 個必要ですが、{} 個指定されました。",
            number(ContextKind::ExpectedNumValues),
            number(ContextKind::ActualNumValues)
        ),
        ErrorKind::ArgumentConflict => match e.get(ContextKind::PriorArg) {
            Some(ContextValue::String(prior)) if *prior == arg => {
                format!("'{arg}' は 1 回しか指定できません。")
            }
            Some(prior) => {
                let prior = list(Some(prior)).unwrap_or_default().join("', '");
                format!("'{arg}' は '{prior}' と一緒には使えません。")
            }
            None => format!("'{arg}' は他の引数と一緒には使えません。"),
        },
        ErrorKind::NoEquals => format!("'{arg}' の値は '=' でつないで書いてください。"),
        ErrorKind::InvalidUtf8 => "引数に UTF-8 として読めない文字があります。".to_string(),
        _ => "コマンドラインを解釈できませんでした。".to_string(),
    }
}

/// What a value that did not parse should look like, from the type of the
/// parser's (English) error.
fn what_is_expected(e: &clap::Error) -> &'static str {
    let source = std::error::Error::source(e);
    if source.is_some_and(|s| s.is::<chrono::ParseError>()) {
        "日付は YYYY-MM-DD の形で、実在する日を書いてください。"
    } else if source.is_some_and(|s| s.is::<std::num::ParseIntError>()) {
        "0 以上の整数で書いてください。"
    } else {
        ""
    }
}

/// 「もしかして」 lines: clap's suggestions of a similar command, option or
/// value, and its `tip:` lines re-said in Japanese.
fn suggestions(e: &clap::Error) -> Vec<String> {
    let mut lines = Vec::new();
    for kind in [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ] {
        if let Some(similar) = list(e.get(kind)) {
            let similar: Vec<String> = similar.iter().map(|s| format!("'{s}'")).collect();
            lines.push(format!("  もしかして: {}", similar.join(", ")));
        }
    }
    if let Some(ContextValue::StyledStrs(tips)) = e.get(ContextKind::Suggested) {
        for tip in tips {
            if let Some(ja) = tip_ja(&tip.to_string()) {
                lines.push(format!("  ヒント: {ja}"));
            }
        }
    }
    if !lines.is_empty() {
        lines.insert(0, String::new());
    }
    lines
}

/// The `tip:` sentences clap 4 writes, by their quoted parts; one it does
/// not know is left out rather than printed in English.
fn tip_ja(tip: &str) -> Option<String> {
    let quoted: Vec<&str> = tip.split('\'').skip(1).step_by(2).collect();
    match quoted.as_slice() {
        [value, how] if tip.starts_with("to pass") => Some(format!(
            "'{value}' を値として渡すには '{how}' と書いてください。"
        )),
        [sub, _] if tip.starts_with("subcommand") => Some(format!(
            "コマンド '{sub}' を使うには、前の '--' を取ってください。"
        )),
        [exists] if tip.ends_with("exists") => Some(format!("'{exists}' という指定ならあります。")),
        _ => None,
    }
}

/// The command path a usage line starts with (`kura erase approve`).
fn command_of_usage(usage: &str) -> String {
    let words: Vec<&str> = usage
        .split_whitespace()
        .take_while(|w| !w.starts_with(['-', '[', '<']))
        .collect();
    if words.is_empty() {
        "kura".to_string()
    } else {
        words.join(" ")
    }
}

/// The command path of the arguments, for errors without a usage line:
/// each word that names a subcommand of the command reached so far.
fn command_of_args(cmd: &Command, args: &[OsString]) -> String {
    let mut path = vec![cmd.get_name().to_string()];
    let mut at = cmd;
    for word in args.iter().skip(1).filter_map(|a| a.to_str()) {
        if word == "--" {
            break;
        }
        if let Some(sub) = at.find_subcommand(word).filter(|s| s.get_name() != "help") {
            path.push(sub.get_name().to_string());
            at = sub;
        }
    }
    path.join(" ")
}

fn text(value: Option<&ContextValue>) -> Option<String> {
    match value? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        other => list(Some(other)).map(|l| l.join(", ")),
    }
}

fn list(value: Option<&ContextValue>) -> Option<Vec<String>> {
    match value? {
        ContextValue::String(s) => Some(vec![s.clone()]),
        ContextValue::Strings(l) if !l.is_empty() => Some(l.clone()),
        ContextValue::StyledStr(s) => Some(vec![s.to_string()]),
        ContextValue::StyledStrs(l) if !l.is_empty() => {
            Some(l.iter().map(|s| s.to_string()).collect())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_tips_are_re_said_in_japanese_or_left_out() {
        assert_eq!(
            tip_ja("to pass '-x' as a value, use '-- -x'").as_deref(),
            Some("'-x' を値として渡すには '-- -x' と書いてください。")
        );
        assert_eq!(
            tip_ja("'erase approve --approver' exists").as_deref(),
            Some("'erase approve --approver' という指定ならあります。")
        );
        assert_eq!(
            tip_ja("subcommand 'check' exists; to use it, remove the '--' before it").as_deref(),
            Some("コマンド 'check' を使うには、前の '--' を取ってください。")
        );
        assert_eq!(tip_ja("some tip clap adds one day"), None);
    }

    #[test]
    fn the_command_of_a_usage_line_is_its_leading_words() {
        assert_eq!(
            command_of_usage("kura erase approve --approver <氏名> <依頼番号>"),
            "kura erase approve"
        );
        assert_eq!(command_of_usage("kura [オプション] <コマンド>"), "kura");
    }
}
