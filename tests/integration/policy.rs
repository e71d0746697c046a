//! Policy errors name the file, line and column, with exit 2.

use std::fs;

use predicates::prelude::*;

use crate::util::{kura, Site};

/// Replaces `from` with `to` in the standard policy and expects exit 2 with
/// `kura.toml:LINE:COL` and `what` on stderr.
fn assert_policy_error(edit: impl Fn(String) -> String, at: &str, what: &str) {
    let site = Site::new();
    site.write_policy(&edit(site.policy_text(&[&site.volume])));
    site.kura()
        .arg("policy")
        .arg("check")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("kura.toml:{at}")))
        .stderr(predicate::str::contains(what));
}

#[test]
fn unknown_key_is_reported_at_its_line_and_column() {
    assert_policy_error(
        |p| p.replace("label = \"マスターデータ\"", "lable = \"x\""),
        "12:1",
        "unknown field `lable`",
    );
}

#[test]
fn wrong_type_is_reported_at_the_value() {
    assert_policy_error(
        |p| p.replace("paths = [\"data/master\"]", "paths = \"data/master\""),
        "13:9",
        "expected",
    );
}

#[test]
fn duplicate_source_names_are_reported() {
    assert_policy_error(
        |p| p.replace("name = \"system-logs\"", "name = \"master\""),
        "16:8",
        "used twice",
    );
}

#[test]
fn the_audit_source_name_is_reserved() {
    assert_policy_error(
        |p| p.replace("name = \"system-logs\"", "name = \"audit\""),
        "16:8",
        "reserved",
    );
}

#[test]
fn bad_source_name_is_reported() {
    assert_policy_error(
        |p| p.replace("name = \"system-logs\"", "name = \"System Logs\""),
        "16:8",
        "[a-z0-9]",
    );
}

#[test]
fn missing_recipients_file_is_reported_where_it_is_named() {
    assert_policy_error(
        |p| p.replace("keys/recipients.txt", "keys/nope.txt"),
        "29:19",
        "nope.txt",
    );
}

#[test]
fn a_recipient_that_is_not_an_age_key_is_reported() {
    assert_policy_error(
        |p| {
            p.replace(
                "recipients_file = \"keys/recipients.txt\"",
                "recipients = [\"age1notakey\"]",
            )
        },
        "29:15",
        "not an age recipient",
    );
}

#[test]
fn missing_required_table_is_reported() {
    assert_policy_error(
        |p| {
            p.replace(
                "[access]\noperators = [\"山田 太郎\", \"scheduled-task\"]",
                "",
            )
        },
        "1:1",
        "access",
    );
}

#[test]
fn syntax_error_is_reported_at_its_place() {
    assert_policy_error(
        |p| {
            p.replace(
                "contract_end = 2024-03-31",
                "contract_end = 2024-03-31 oops",
            )
        },
        "5:",
        "",
    );
}

#[test]
fn empty_and_random_policies_are_exit_2_not_a_panic() {
    let site = Site::new();
    for content in [&b""[..], b"\xff\xfe\x00garbage\x01", b"[[[", &[0u8; 100]] {
        fs::write(site.policy_path(), content).unwrap();
        site.kura()
            .args(["policy", "check"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("kura.toml:"));
    }
}

#[test]
fn a_missing_policy_file_is_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    kura()
        .current_dir(dir.path())
        .args(["policy", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("kura.toml"));
}

#[test]
fn policy_check_prints_the_effective_policy_with_resolved_paths() {
    let site = Site::new();
    let out = site
        .kura()
        .args(["--json", "policy", "check"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let p = &v["policy"];
    assert_eq!(p["recipients"][0], site.recipient.as_str());
    assert_eq!(p["compression"]["level"], 3, "defaults are shown");
    assert_eq!(p["retention"]["keep_monthly"], 12);
    let dest = p["destinations"][0]["path"].as_str().unwrap();
    assert!(std::path::Path::new(dest).is_absolute(), "{dest}");
    site.kura()
        .args(["policy", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("マスターデータ"));
}

#[test]
fn the_example_policies_in_the_repository_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        // Structure only: the files it names live on the customer's server.
        kura::policy::Policy::parse(&text, &path, &dir, kura::Lang::En)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        checked += 1;
    }
    assert!(checked >= 1);
}

#[test]
fn base_names_differing_only_in_case_are_refused() {
    assert_policy_error(
        |p| {
            p.replace(
                "paths = [\"logs/app\", \"logs/app-extra.log\"]",
                "paths = [\"logs/app\", \"other/APP\"]",
            )
        },
        "21:22",
        "two paths named",
    );
}

#[test]
fn an_approver_key_that_cannot_be_loaded_is_a_policy_error_at_its_line() {
    let site = Site::new();
    let base = site.policy_text(&[&site.volume]);
    let policy = format!(
        "{base}\n[erasure]\napprovers = [{{ name = \"札幌 花子\", public_key = \"keys/approver-hanako.pub\" }}]\n"
    );
    let line = policy.lines().count();
    site.write_policy(&policy);
    site.kura()
        .args(["policy", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("kura.toml:{line}:")))
        .stderr(predicate::str::contains("approver-hanako.pub"))
        .stderr(predicate::str::contains("札幌 花子"));

    // Not a minisign public key: still refused.
    fs::write(site.root.join("keys/approver-hanako.pub"), "not a key\n").unwrap();
    site.kura()
        .args(["policy", "check"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("kura.toml:{line}:")));

    // The approver's own key pair, made with kura.
    site.kura()
        .args([
            "keys",
            "sign",
            "--secret",
            "keys/approver-hanako.key",
            "--public",
            "keys/approver-hanako.pub.new",
        ])
        .assert()
        .success();
    fs::rename(
        site.root.join("keys/approver-hanako.pub.new"),
        site.root.join("keys/approver-hanako.pub"),
    )
    .unwrap();
    let out = site
        .kura()
        .args(["--json", "policy", "check"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let approvers = &v["policy"]["erasure"]["approvers"];
    assert_eq!(approvers[0]["name"], "札幌 花子");
    assert_eq!(
        approvers[0]["public_key"],
        site.root
            .join("keys")
            .join("approver-hanako.pub")
            .to_str()
            .unwrap()
    );
}

#[test]
fn two_approvers_with_one_name_in_two_spellings_are_refused() {
    assert_policy_error(
        |p| {
            format!(
                "{p}\n[erasure]\napprovers = [\n  {{ name = \"札幌 花子\", public_key = \"a.pub\" }},\n  {{ name = \"札幌\u{3000}花子\", public_key = \"b.pub\" }},\n]\n"
            )
        },
        "",
        "listed twice",
    );
}

#[test]
fn the_production_policy_does_not_allow_the_clock_to_be_replaced() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let path = dir.join("sapporo-shorijo.toml");
    let text = fs::read_to_string(&path).unwrap();
    let p = kura::policy::Policy::parse(&text, &path, &dir, kura::Lang::En).unwrap();
    assert!(!p.rehearsal.allow_clock_override);
    assert!(
        text.contains("# [rehearsal]\n# allow_clock_override = false"),
        "the table is there, commented, for the reader"
    );
}
