//! `KURA_NOW` replaces the clock only where the policy is a rehearsal's
//! (`[rehearsal] allow_clock_override = true`); elsewhere every command that
//! reads the policy refuses (exit 4) and writes nothing. What a rehearsal
//! makes says so: `snapshot.json`, the monthly report and the receipt carry
//! the fact and the real time.

use std::fs;

use chrono::{DateTime, Utc};
use predicates::prelude::*;

use crate::util::{tree, Site, NOW, OPERATOR};

const BANNER_JA: &str = "リハーサル: 時計が KURA_NOW で置き換えられています (実時刻 ";
const BANNER_EN: &str = "Rehearsal: the clock was replaced by KURA_NOW (real time ";

/// A site whose policy is a production one: no `[rehearsal]` table.
fn production_site() -> Site {
    let site = Site::new();
    site.write_policy(&Site::without_rehearsal(&site.policy_text(&[&site.volume])));
    site
}

/// Whether an RFC 3339 time is within a day of the real now.
fn is_real_time(text: &str) -> bool {
    DateTime::parse_from_rfc3339(text)
        .is_ok_and(|t| (t.with_timezone(&Utc) - Utc::now()).num_hours().abs() < 24)
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

#[test]
fn a_production_policy_works_on_the_real_clock_and_its_snapshot_has_no_rehearsal_fields() {
    let site = production_site();
    site.kura()
        .args(["--operator", OPERATOR, "backup"])
        .assert()
        .success();
    let ids = Site::snapshot_entries(&site.dest());
    assert_eq!(ids.len(), 1);
    let text = fs::read_to_string(
        site.dest()
            .join("snapshots")
            .join(&ids[0])
            .join("snapshot.json"),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v.get("clock_overridden").is_none(), "{text}");
    assert!(v.get("real_created_at").is_none(), "{text}");
    assert!(is_real_time(v["created_at"].as_str().unwrap()));
    site.kura().arg("check").assert().success();
}

#[test]
fn a_rehearsal_snapshot_says_the_clock_was_replaced_and_when_it_really_was_taken() {
    let site = Site::new();
    site.backup().assert().success();
    let text = fs::read_to_string(site.snapshot_dir().join("snapshot.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["created_at"], "2024-01-31T01:02:03Z",
        "the rehearsal's time"
    );
    assert_eq!(v["clock_overridden"], true);
    let real = v["real_created_at"].as_str().unwrap();
    assert!(is_real_time(real), "{real}");
    // The snapshot still verifies: the fields are covered by SHA256SUMS.
    site.kura()
        .env("KURA_NOW", NOW)
        .args(["verify", "latest"])
        .assert()
        .success();
    site.kura()
        .env("KURA_NOW", NOW)
        .arg("snapshots")
        .assert()
        .success()
        .stdout(predicate::str::contains("rehearsal (KURA_NOW)"));
}

#[test]
fn a_monthly_report_made_under_kura_now_carries_the_rehearsal_banner_and_a_real_one_does_not() {
    let site = Site::new();
    site.backup().assert().success();
    let report = |format: &str, lang: Option<&str>, now: Option<&str>| -> String {
        let mut c = site.kura();
        if let Some(now) = now {
            c.env("KURA_NOW", now);
        }
        if let Some(l) = lang {
            c.args(["--lang", l]);
        }
        let out = c
            .args([
                "report", "monthly", "--month", "2024-01", "--format", format,
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let html = report("html", None, Some(NOW));
    assert!(html.contains(BANNER_JA), "the banner is on the cover");
    assert!(
        html.matches(BANNER_JA).count() >= 4,
        "and on every sheet: 別添3, 別添4, 別添7 and the annex"
    );
    assert!(report("md", None, Some(NOW)).contains(BANNER_JA));
    assert!(report("html", Some("en"), Some(NOW)).contains(BANNER_EN));
    let v: serde_json::Value = serde_json::from_str(&report("json", None, Some(NOW))).unwrap();
    assert_eq!(v["clock_overridden"], true);
    assert!(is_real_time(v["real_time"].as_str().unwrap()), "{v}");
    assert_eq!(v["format"], "kura-monthly-report/1");
    let generated = v["generated_at"].as_str().unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(generated).map(|t| t.to_utc()),
        chrono::DateTime::parse_from_rfc3339(NOW).map(|t| t.to_utc()),
        "RFC 3339 with its offset, at kura's clock: {generated}"
    );

    // The same month reported on the real clock: no banner, no fields.
    for format in ["html", "md"] {
        let text = report(format, None, None);
        assert!(
            !text.contains("リハーサル") && !text.contains("KURA_NOW"),
            "{text}"
        );
    }
    let v: serde_json::Value = serde_json::from_str(&report("json", None, None)).unwrap();
    assert!(v.get("clock_overridden").is_none(), "{v}");
    assert!(v.get("real_time").is_none(), "{v}");
}
