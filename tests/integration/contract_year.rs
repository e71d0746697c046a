//! A whole contract year, rehearsed with `KURA_NOW`: twelve monthly backups,
//! inspections and reports; restore drills; a missed month; a disk away for a
//! month; a lost master file recovered the next business day; retention
//! through an approved erasure with its certificate; and at the end the
//! handover to the next contractor with a receipt, the crypto-erase of the
//! outgoing key, and both audit logs verified against every checkpoint the
//! monthly reports put on paper (each one also at the next month's visit).

use std::fs;
use std::path::Path;

use crate::util::{have_tool, Site, OPERATOR};

const JOB: &str = "scheduled-task";
const APPROVER: &str = "札幌 花子";
const WITNESS: &str = "札幌 次郎";
const NEXT: &str = "株式会社つぎ保守 鈴木 一郎";

fn run(site: &Site, now: &str, operator: &str, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = site
        .kura()
        .env("KURA_NOW", now)
        .args(["--operator", operator, "--json"])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(
        code,
        101,
        "kura panicked on {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        code,
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn expect(site: &Site, now: &str, operator: &str, args: &[&str], code: i32) -> serde_json::Value {
    let (got, json, stderr) = run(site, now, operator, args);
    assert_eq!(got, code, "{now} kura {args:?}: {stderr}\n{json}");
    json
}

fn item_status(check: &serde_json::Value, key: &str) -> String {
    check["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .map(|i| i["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The outgoing contractor's site: two disks, six months kept.
fn outgoing() -> Site {
    let site = Site::new();
    let policy = site
        .with_second_destination(&site.policy_text(&[&site.volume]))
        .replace("contract_end = 2024-03-31", "contract_end = 2024-09-30")
        + "\n[retention]\nkeep_monthly = 6\nkeep_yearly = 0\n";
    site.write_policy(&policy);
    site
}

fn same_file(a: &Path, b: &Path) {
    assert_eq!(
        fs::read(a).unwrap(),
        fs::read(b).unwrap(),
        "{} differs from {}",
        a.display(),
        b.display()
    );
}

#[test]
fn a_contract_year_from_first_backup_to_handover_and_key_destruction() {
    let site = outgoing();
    let master = site.root.join("data/master/households.csv");
    let mut checkpoints: Vec<String> = Vec::new();
    let months = [
        (2023, 10),
        (2023, 11),
        (2023, 12),
        (2024, 1),
        (2024, 2),
        (2024, 3),
        (2024, 4),
        (2024, 5),
        (2024, 6),
        (2024, 7),
        (2024, 8),
        (2024, 9),
    ];
    for (y, m) in months {
        let day = |d: u32, h: u32| format!("{y}-{m:02}-{d:02}T{h:02}:00:00Z");
        // The master data changes a little every month.
        fs::write(
            &master,
            format!("世帯番号,世帯主氏名\n{y}{m:02}001,佐藤 花子\n").repeat(200),
        )
        .unwrap();

        // The monthly visit begins with the paper: last month's report
        // gives the checkpoint, verified against the log (an anchor outside
        // the server, which `check` asks for every 62 days).
        if let Some(paper) = checkpoints.last() {
            let visit = if (y, m) == (2024, 1) { 10 } else { 2 };
            let out = expect(
                &site,
                &day(visit, 0),
                OPERATOR,
                &["audit", "verify", "--checkpoint", paper.as_str()],
                0,
            );
            assert!(out["recorded"].is_u64(), "{out}");
        }

        if (y, m) == (2024, 1) {
            // January: the job did not run. The visit on the 10th finds it.
            let check = expect(&site, &day(10, 1), OPERATOR, &["check"], 1);
            assert_eq!(
                item_status(&check, "schedule"),
                "finding",
                "missed month reported"
            );
            // The engineer takes the backup by hand the same day.
            expect(&site, &day(10, 2), OPERATOR, &["backup"], 0);
        } else if (y, m) == (2024, 3) {
            // March: HDD2 is away for repair. HDD1 still gets the snapshot.
            fs::rename(site.root.join("usb2"), site.root.join("usb2-away")).unwrap();
            let (code, _, stderr) = run(&site, &day(1, 1), JOB, &["backup"]);
            assert_eq!(code, 3, "{stderr}");
            assert!(stderr.contains("hdd2"), "{stderr}");
            let check = expect(&site, &day(2, 1), OPERATOR, &["check"], 1);
            assert_eq!(item_status(&check, "backup_device.hdd2"), "finding");
            assert_eq!(item_status(&check, "schedule"), "ok");
            fs::rename(site.root.join("usb2-away"), site.root.join("usb2")).unwrap();
        } else {
            expect(&site, &day(1, 1), JOB, &["backup"], 0);
            let check = expect(&site, &day(2, 1), OPERATOR, &["check"], 0);
            assert_eq!(check["ok"], true, "{check}");
        }

        // Restore drills in December and June: every byte back.
        if m == 12 || m == 6 {
            let to = site.root.join(format!("drill-{y}{m:02}"));
            let out = expect(
                &site,
                &day(3, 1),
                OPERATOR,
                &[
                    "restore",
                    "latest",
                    "--archive",
                    "master",
                    "--to",
                    to.to_str().unwrap(),
                    "-i",
                    site.identity.to_str().unwrap(),
                ],
                0,
            );
            assert_eq!(out["archives"][0]["name"], "master");
            same_file(&to.join("master/master/households.csv"), &master);
            expect(
                &site,
                &day(3, 2),
                OPERATOR,
                &[
                    "verify",
                    "-i",
                    site.identity.to_str().unwrap(),
                    "--against-source",
                ],
                0,
            );
        }

        // May: the master file is lost on the 20th; restored by the next business day.
        if (y, m) == (2024, 5) {
            let before = fs::read(&master).unwrap();
            fs::remove_file(&master).unwrap();
            let to = site.root.join("recovery-202405");
            expect(
                &site,
                &day(21, 0),
                OPERATOR,
                &[
                    "restore",
                    "latest",
                    "--archive",
                    "master",
                    "--to",
                    to.to_str().unwrap(),
                    "-i",
                    site.identity.to_str().unwrap(),
                ],
                0,
            );
            fs::copy(to.join("master/master/households.csv"), &master).unwrap();
            assert_eq!(
                fs::read(&master).unwrap(),
                before,
                "recovered as of the last backup"
            );
        }

        // June: retention through the erasure door.
        if (y, m) == (2024, 6) {
            let dry = expect(&site, &day(5, 1), OPERATOR, &["prune", "--dry-run"], 0);
            let going = dry["decisions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["keep"] == false)
                .count();
            assert_eq!(going, 3, "October to December go, six months stay: {dry}");
            let req = expect(&site, &day(5, 1), OPERATOR, &["prune"], 0);
            let id = req["id"].as_str().unwrap().to_string();
            expect(&site, &day(5, 2), OPERATOR, &["erase", "execute", &id], 4);
            expect(
                &site,
                &day(6, 1),
                OPERATOR,
                &["erase", "approve", &id, "--approver", APPROVER],
                0,
            );
            expect(
                &site,
                &day(7, 1),
                OPERATOR,
                &["erase", "execute", &id, "--witness", WITNESS],
                0,
            );
            let cert = site.root.join(format!("{id}.json"));
            expect(
                &site,
                &day(7, 2),
                OPERATOR,
                &[
                    "erase",
                    "certificate",
                    &id,
                    "--format",
                    "json",
                    "--out",
                    cert.to_str().unwrap(),
                ],
                0,
            );
            let c: serde_json::Value = serde_json::from_slice(&fs::read(&cert).unwrap()).unwrap();
            assert_eq!(c["complete"], true);
            assert_eq!(c["approval"]["approved_by"], APPROVER);
            for dest in [site.dest(), site.root.join("usb2/kura")] {
                assert!(
                    Site::snapshot_entries(&dest)
                        .iter()
                        .all(|s| s.as_str() >= "20240101"),
                    "{}",
                    dest.display()
                );
            }
        }

        // The monthly report: its checkpoint goes on the paper record.
        let last = if m == 2 {
            29
        } else if [4, 6, 9, 11].contains(&m) {
            30
        } else {
            31
        };
        let report = expect(
            &site,
            &day(last, 12),
            OPERATOR,
            &["report", "monthly", "--format", "json"],
            0,
        );
        assert_eq!(report["month"], format!("{y}-{m:02}"));
        assert!(
            !report["snapshots"].as_array().unwrap().is_empty(),
            "{y}-{m:02} has its snapshot"
        );
        let checkpoint = report["checkpoint"].as_str().unwrap().to_string();
        checkpoints.push(checkpoint);
    }

    // All snapshots still there verify; the chain holds against every report.
    expect(
        &site,
        "2024-09-30T13:00:00Z",
        OPERATOR,
        &["verify", "all"],
        0,
    );
    let mut args: Vec<&str> = vec!["audit", "verify"];
    for c in &checkpoints {
        args.push("--checkpoint");
        args.push(c);
    }
    expect(&site, "2024-09-30T13:00:00Z", OPERATOR, &args, 0);

    // Contract end: hand over to the next contractor.
    let next = Site::new();
    let package = site.root.join("handover.tar.zst.age");
    let created = expect(
        &site,
        "2024-09-30T14:00:00Z",
        OPERATOR,
        &[
            "handover",
            "create",
            "--include",
            site.root.join("data/master").to_str().unwrap(),
            "--snapshots",
            "latest",
            "--with-audit",
            "--to",
            &next.recipient,
            "--out",
            package.to_str().unwrap(),
            "--to-org",
            "株式会社つぎ保守",
            "--description",
            "契約満了に伴う引継ぎ",
        ],
        0,
    );
    let external_id = created["id"].as_str().unwrap().to_string();
    let into = next.root.join("received");
    expect(
        &next,
        "2024-10-01T01:00:00Z",
        OPERATOR,
        &[
            "handover",
            "receive",
            package.to_str().unwrap(),
            "-i",
            next.identity.to_str().unwrap(),
            "--into",
            into.to_str().unwrap(),
            "--receiver",
            NEXT,
            "--sender-key",
            site.root.join("keys/kura.pub").to_str().unwrap(),
        ],
        0,
    );
    let receipt: serde_json::Value = serde_json::from_slice(
        &fs::read(into.join(format!("receipt-{external_id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(receipt["receiver"]["name"], NEXT);
    if have_tool("minisign") {
        crate::util::sh(
            &format!("minisign -V -p keys/kura.pub -m 'received/receipt-{external_id}.json'"),
            &next.root,
        );
    }

    // The outgoing contractor's key is destroyed: every copy listed.
    let req = expect(
        &site,
        "2024-10-01T02:00:00Z",
        OPERATOR,
        &[
            "erase",
            "request",
            "--method",
            "crypto-erase",
            "--identity",
            site.identity.to_str().unwrap(),
            "--planned",
            "2024-10-01",
            "--reason",
            "契約満了: 受託者の鍵の廃棄",
        ],
        0,
    );
    let key_req = req["id"].as_str().unwrap().to_string();
    let only =
        &req["request"]["details"]["crypto_erase"]["identities"][0]["snapshots_only_it_opens"];
    assert!(
        !only.as_array().unwrap().is_empty(),
        "the certificate names what became unreadable"
    );
    expect(
        &site,
        "2024-10-01T03:00:00Z",
        OPERATOR,
        &["erase", "approve", &key_req, "--approver", APPROVER],
        0,
    );
    expect(
        &site,
        "2024-10-01T04:00:00Z",
        OPERATOR,
        &["erase", "execute", &key_req, "--witness", WITNESS],
        0,
    );
    assert!(!site.identity.exists());

    // A year later the logs still verify on both sides, against every paper checkpoint.
    expect(&site, "2025-10-01T00:00:00Z", OPERATOR, &args, 0);
    expect(
        &next,
        "2025-10-01T00:00:00Z",
        OPERATOR,
        &["audit", "verify"],
        0,
    );
}
