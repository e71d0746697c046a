//! `KURA_NOW` replaces the clock only where the policy is a rehearsal's
//! (`[rehearsal] allow_clock_override = true`); elsewhere every command that
//! reads the policy refuses (exit 4) and writes nothing. What a rehearsal
//! makes says so: `snapshot.json`, the monthly report and the receipt carry
//! the fact and the real time.

use predicates::prelude::*;

use crate::util::{tree, Site, NOW, OPERATOR};

/// A site whose policy is a production one: no `[rehearsal]` table.
fn production_site() -> Site {
    let site = Site::new();
    site.write_policy(&Site::without_rehearsal(&site.policy_text(&[&site.volume])));
    site
}

#[test]
fn kura_now_under_a_production_policy_is_refused_by_every_command_and_writes_nothing() {
    let site = production_site();
    let before = tree(&site.root);
    for args in [
        &["--operator", OPERATOR, "backup"][..],
        &["check"],
        &["--operator", OPERATOR, "prune"],
        &["policy", "check"],
        &["report", "monthly"],
        &[
            "--operator",
            OPERATOR,
            "verify",
            "latest",
            "-i",
            "keys/identity.txt",
        ],
    ] {
        site.kura()
            .env("KURA_NOW", NOW)
            .args(args)
            .assert()
            .code(4)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("KURA_NOW is set but the policy"))
            .stderr(predicate::str::contains(
                "does not allow the clock to be replaced",
            ))
            .stderr(predicate::str::contains(
                "[rehearsal] allow_clock_override = true",
            ));
    }
    assert_eq!(tree(&site.root), before, "nothing was written anywhere");
    assert!(Site::snapshot_entries(&site.dest()).is_empty());
    assert!(!site.root.join("kura-audit.sqlite").exists());

    // In Japanese too, and with --json the error object.
    site.kura()
        .env("KURA_NOW", NOW)
        .env("KURA_LANG", "ja")
        .args(["--operator", OPERATOR, "backup"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains(
            "KURA_NOW が設定されていますが、ポリシー",
        ))
        .stderr(predicate::str::contains("KURA_NOW を解除してください"));
    let out = site
        .kura()
        .env("KURA_NOW", NOW)
        .args(["--json", "check"])
        .assert()
        .code(4)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["error"]["exit_code"], 4);
}
