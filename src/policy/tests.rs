//! Policy validation that needs no file: names, tables, duplicates.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

/// A minimal valid policy with `access` as its `[access]` table and `extra`
/// appended.
fn policy(access: &str, extra: &str) -> String {
    format!(
        r#"[site]
name = "札幌市処理場管理事務所"
system = "し尿くみ取り世帯管理システム"
contract_start = 2023-10-01
contract_end = 2024-03-31

[access]
{access}

[[sources]]
name = "master"
paths = ["data/master"]

[[destinations]]
name = "hdd1"
path = "usb/kura"

[encryption]
recipients = ["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"]
{extra}"#
    )
}

fn parse(text: &str) -> Result<Policy> {
    Policy::parse(text, Path::new("kura.toml"), Path::new("/site"), Lang::En)
}

fn error_text(text: &str) -> String {
    let e = parse(text).expect_err("the policy must be refused");
    assert_eq!(e.exit_code().code(), 2, "{e}");
    e.message(Lang::En)
}

#[test]
fn operators_may_be_plain_names_or_tables_with_an_os_user() {
    let p = parse(&policy(
        r#"operators = [{ name = "山田 太郎", os_user = "yamada" }, "scheduled-task", { name = "佐藤 花子" }]"#,
        "",
    ))
    .unwrap();
    assert_eq!(
        p.operators,
        vec![
            Operator {
                name: "山田 太郎".into(),
                os_user: Some("yamada".into())
            },
            Operator {
                name: "scheduled-task".into(),
                os_user: None
            },
            Operator {
                name: "佐藤 花子".into(),
                os_user: None
            },
        ]
    );
}

#[test]
fn an_unknown_key_in_an_operator_table_is_reported_at_its_place() {
    let m = error_text(&policy(
        r#"operators = [{ name = "山田 太郎", os_usr = "yamada" }]"#,
        "",
    ));
    assert!(m.starts_with("kura.toml:8:32: "), "{m}");
    assert!(m.contains("os_usr"), "{m}");
}

#[test]
fn an_operator_table_without_a_name_is_refused() {
    let m = error_text(&policy(r#"operators = [{ os_user = "yamada" }]"#, ""));
    assert!(m.starts_with("kura.toml:8:"), "{m}");
    assert!(m.contains("name"), "{m}");
}

#[test]
fn an_operator_that_is_neither_a_name_nor_a_table_is_refused() {
    let m = error_text(&policy("operators = [42]", ""));
    assert!(m.starts_with("kura.toml:8:14: "), "{m}");
}

#[test]
fn empty_names_and_os_users_are_refused() {
    let m = error_text(&policy("operators = [\"\u{3000}\"]", ""));
    assert!(m.contains("must not be empty"), "{m}");
    let m = error_text(&policy(
        r#"operators = [{ name = "山田 太郎", os_user = " " }]"#,
        "",
    ));
    assert!(m.contains("os_user must not be empty"), "{m}");
}

#[test]
fn the_same_operator_in_two_spellings_is_listed_twice() {
    let m = error_text(&policy(
        "operators = [\"山田 太郎\", { name = \"山田\u{3000}太郎\", os_user = \"yamada\" }]",
        "",
    ));
    assert!(m.starts_with("kura.toml:8:"), "{m}");
    assert!(m.contains("listed twice"), "{m}");
    let m = error_text(&policy(
        "operators = [\"scheduled-task\", \"ｓｃｈｅｄｕｌｅｄ－ｔａｓｋ\"]",
        "",
    ));
    assert!(m.contains("listed twice"), "{m}");
}

#[test]
fn authorise_compares_normalised_names_and_returns_the_registered_spelling() {
    let p = parse(&policy(r#"operators = ["山田 太郎"]"#, "")).unwrap();
    assert_eq!(
        p.authorise_as(Some("山田\u{3000}太郎"), "anyone").unwrap(),
        "山田 太郎"
    );
    assert_eq!(
        p.authorise_as(Some(" 山田  太郎\t"), "anyone").unwrap(),
        "山田 太郎"
    );
}

#[test]
fn an_unknown_operator_is_refused_with_the_registered_names() {
    let p = parse(&policy(
        r#"operators = ["山田 太郎", "scheduled-task"]"#,
        "",
    ))
    .unwrap();
    let e = p.authorise_as(Some("鈴木 一郎"), "suzuki").unwrap_err();
    assert_eq!(e.exit_code().code(), 4);
    let m = e.message(Lang::En);
    assert!(m.contains("\"山田 太郎\", \"scheduled-task\""), "{m}");
    assert!(e
        .message(Lang::Ja)
        .contains("「山田 太郎」、「scheduled-task」"));
    let missing = p.authorise_as(Some("\u{3000}"), "suzuki").unwrap_err();
    assert_eq!(missing.exit_code().code(), 2, "a blank name is no name");
}

#[test]
fn an_operator_bound_to_an_os_user_is_refused_from_another_account() {
    let p = parse(&policy(
        r#"operators = [{ name = "山田 太郎", os_user = "yamada" }]"#,
        "",
    ))
    .unwrap();
    assert_eq!(
        p.authorise_as(Some("山田 太郎"), "yamada").unwrap(),
        "山田 太郎"
    );
    let e = p.authorise_as(Some("山田 太郎"), "sato").unwrap_err();
    assert_eq!(e.exit_code().code(), 4);
    match &e {
        Error::OperatorWrongAccount {
            operator,
            os_user,
            expected,
        } => {
            assert_eq!(operator, "山田 太郎");
            assert_eq!(os_user, "sato");
            assert_eq!(expected, "yamada");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.message(Lang::Ja).contains("yamada"));
}

const APPROVER: &str =
    r#"approvers = [{ name = "札幌 花子", public_key = "keys/approver-hanako.pub" }]"#;

#[test]
fn approvers_resolve_their_keys_against_the_policy_directory() {
    let p = parse(&policy(
        r#"operators = ["山田 太郎"]"#,
        &format!("\n[erasure]\nallow_self_approval = true\n{APPROVER}\n"),
    ))
    .unwrap();
    assert!(p.erasure.allow_self_approval);
    assert_eq!(
        p.erasure.approvers,
        vec![Approver {
            name: "札幌 花子".into(),
            public_key: Path::new("/site/keys/approver-hanako.pub").to_path_buf(),
        }]
    );
    let none = parse(&policy(r#"operators = ["山田 太郎"]"#, "")).unwrap();
    assert_eq!(none.erasure, ErasureRules::default());
}

#[test]
fn the_same_approver_in_two_spellings_is_listed_twice() {
    let m = error_text(&policy(
        r#"operators = ["山田 太郎"]"#,
        "\n[erasure]\napprovers = [\n  { name = \"札幌 花子\", public_key = \"a.pub\" },\n  { name = \"札幌\u{3000}花子\", public_key = \"b.pub\" },\n]\n",
    ));
    assert!(m.starts_with("kura.toml:24:12: "), "{m}");
    assert!(
        m.contains("approver \"札幌\u{3000}花子\" is listed twice"),
        "{m}"
    );
}

#[test]
fn an_approver_needs_a_name_and_a_key_and_nothing_else() {
    let extra = |a: &str| format!("\n[erasure]\napprovers = [{a}]\n");
    let m = error_text(&policy(
        r#"operators = ["x"]"#,
        &extra(r#"{ name = "札幌 花子" }"#),
    ));
    assert!(m.contains("public_key"), "{m}");
    let m = error_text(&policy(
        r#"operators = ["x"]"#,
        &extra(r#"{ name = "札幌 花子", public_key = "a.pub", role = "係長" }"#),
    ));
    assert!(m.starts_with("kura.toml:22:54: "), "{m}");
    assert!(m.contains("unknown field `role`"), "{m}");
    let m = error_text(&policy(
        r#"operators = ["x"]"#,
        &extra(r#"{ name = " ", public_key = "a.pub" }"#),
    ));
    assert!(
        m.contains("erasure.approvers.name must not be empty"),
        "{m}"
    );
}

/// A site on disk: the policy with `extra`, and the approver's key pair.
fn site_with(extra: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    fs::create_dir_all(&keys).unwrap();
    crate::keys::generate_signing_keypair(
        &keys.join("approver-hanako.key"),
        &keys.join("approver-hanako.pub"),
    )
    .unwrap();
    let file = dir.path().join("kura.toml");
    fs::write(&file, policy(r#"operators = ["山田 太郎"]"#, extra)).unwrap();
    (dir, file)
}

#[test]
fn an_approver_key_that_loads_is_accepted() {
    let (_dir, file) = site_with(&format!("\n[erasure]\n{APPROVER}\n"));
    let p = Policy::load(&file, Lang::En).unwrap();
    assert_eq!(p.erasure.approvers.len(), 1);
}

#[test]
fn a_missing_or_bad_approver_key_is_a_policy_error_at_its_line() {
    let (dir, file) = site_with(&format!(
        "\n[erasure]\n{}\n",
        APPROVER.replace("approver-hanako.pub", "nope.pub")
    ));
    let e = Policy::load(&file, Lang::En).unwrap_err();
    assert_eq!(e.exit_code().code(), 2);
    let m = e.message(Lang::En);
    assert!(m.contains("kura.toml:22:45: "), "{m}");
    assert!(m.contains("nope.pub") && m.contains("札幌 花子"), "{m}");

    // A secret key, or any other file, is not a public key.
    fs::write(
        &file,
        policy(
            r#"operators = ["山田 太郎"]"#,
            &format!(
                "\n[erasure]\n{}\n",
                APPROVER.replace("approver-hanako.pub", "approver-hanako.key")
            ),
        ),
    )
    .unwrap();
    let m = Policy::load(&file, Lang::Ja).unwrap_err().message(Lang::Ja);
    assert!(m.contains("kura.toml:22:45: "), "{m}");
    assert!(m.contains("承認者「札幌 花子」の公開鍵"), "{m}");
    drop(dir);
}

#[test]
fn kura_now_is_allowed_only_by_a_rehearsal_table() {
    let fixed = Clock::fixed(chrono::Utc::now());
    let production = parse(&policy(r#"operators = ["x"]"#, "")).unwrap();
    assert!(!production.rehearsal.allow_clock_override);
    let e = production.allow_clock(&fixed).unwrap_err();
    assert_eq!(e.exit_code().code(), 4);
    assert!(matches!(e, Error::ClockOverrideRefused { .. }));
    assert!(e
        .hint(Lang::En)
        .unwrap()
        .contains("allow_clock_override = true"));
    production.allow_clock(&Clock::system()).unwrap();

    let rehearsal = parse(&policy(
        r#"operators = ["x"]"#,
        "\n[rehearsal]\nallow_clock_override = true\n",
    ))
    .unwrap();
    rehearsal.allow_clock(&fixed).unwrap();
    rehearsal.allow_clock(&Clock::system()).unwrap();

    let m = error_text(&policy(
        r#"operators = ["x"]"#,
        "\n[rehearsal]\nallow_clock = true\n",
    ));
    assert!(m.starts_with("kura.toml:22:1: "), "{m}");
}
