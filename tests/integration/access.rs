//! Who may run kura: operators named in `[access].operators`, compared after
//! NFKC and whitespace folding, and bound to an OS account where the policy
//! says so. A refusal writes nothing and is recorded with the account that
//! really ran kura.

use predicates::prelude::*;

use crate::util::{Site, NOW, OPERATOR, SNAPSHOT_ID};

/// The standard policy with the operator bound to `os_user`.
fn bind_operator(site: &Site, os_user: &str) {
    let policy = site.policy_text(&[&site.volume]).replace(
        &format!("operators = [\"{OPERATOR}\", \"scheduled-task\"]"),
        &format!("operators = [{{ name = \"{OPERATOR}\", os_user = \"{os_user}\" }}, \"scheduled-task\"]"),
    );
    assert!(policy.contains("os_user"), "the policy was not rewritten");
    site.write_policy(&policy);
}

/// The OS account running the tests, as kura itself reads it.
fn me() -> String {
    whoami::username()
}

#[test]
fn backup_as_an_operator_bound_to_another_os_account_is_refused_and_recorded_with_the_real_one() {
    let site = Site::new();
    let someone_else = format!("not-{}", me());
    bind_operator(&site, &someone_else);
    site.backup()
        .assert()
        .code(4)
        .stderr(predicate::str::contains(someone_else.as_str()))
        .stderr(predicate::str::contains(me()));
    assert!(
        Site::snapshot_entries(&site.dest()).is_empty(),
        "nothing is written to the destination"
    );
    assert!(!site.dest().join("kura.lock").exists());
    let events = site.audit_log();
    let refused: Vec<_> = events
        .iter()
        .filter(|e| e["action"] == "backup" && e["outcome"] == "refused")
        .collect();
    assert_eq!(refused.len(), 1, "{events:?}");
    assert_eq!(refused[0]["os_user"], me().as_str(), "the real account");
    assert_eq!(refused[0]["operator"], OPERATOR);
    assert!(
        !events.iter().any(|e| e["outcome"] == "started"),
        "the backup never started: {events:?}"
    );
}

#[test]
fn backup_as_an_operator_bound_to_the_current_os_account_succeeds() {
    let site = Site::new();
    bind_operator(&site, &me());
    site.backup().assert().success();
    assert!(site.snapshot_dir().join("snapshot.json").is_file());
    let events = site.events();
    assert!(events
        .iter()
        .any(|(op, action, outcome)| op == OPERATOR && action == "backup" && outcome == "ok"));
}

#[test]
fn an_operator_typed_with_an_ideographic_space_is_the_registered_operator() {
    let site = Site::new();
    bind_operator(&site, &me());
    let typed = OPERATOR.replace(' ', "\u{3000}");
    assert_ne!(typed, OPERATOR);
    site.kura()
        .env("KURA_NOW", NOW)
        .args(["--operator", &typed, "backup"])
        .assert()
        .success();
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            site.dest()
                .join("snapshots")
                .join(SNAPSHOT_ID)
                .join("snapshot.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        meta["operator"], OPERATOR,
        "records carry the registered spelling"
    );
    for e in site.audit_log() {
        assert_eq!(e["operator"], OPERATOR, "{e}");
    }
}

#[test]
fn an_unknown_operator_is_refused_with_the_names_the_policy_registers() {
    let site = Site::new();
    site.kura()
        .env("KURA_NOW", NOW)
        .args(["--operator", "山田 次郎", "backup"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "registered: \"山田 太郎\", \"scheduled-task\"",
        ));
    assert!(Site::snapshot_entries(&site.dest()).is_empty());
}

#[test]
fn policy_check_shows_the_os_account_an_operator_is_bound_to() {
    let site = Site::new();
    bind_operator(&site, "yamada");
    site.kura()
        .args(["policy", "check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("山田 太郎 (OS: yamada)"));
}
