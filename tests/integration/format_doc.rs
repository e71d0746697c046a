//! `docs/FORMAT.md` is the format, and it stays true: its key tables are read
//! here and every JSON document kura writes in a small site's life —
//! `snapshot.json`, `kura-volume.json`, the erasure request form and
//! certificate, the monthly report, `check --json`, the audit export — must
//! have exactly the keys the tables list, with their types; and every audit
//! action the site produces must be in the action table with each of its
//! `details` keys.
//!
//! A table is marked by `<!-- keys: DOCUMENT PREFIX… -->` on the line before
//! it (no PREFIX or `.` for the top level, else dotted paths such as
//! `archives[]`, several when arrays share a shape); its `key` (or `field`) column names the key, its `type`
//! column the JSON types (`string`, `integer`, `boolean`, `object`, `array`,
//! `null`, joined by `or`; `optional` when it may be absent; `any keys` for
//! an object whose keys are data). An object or array of objects without a
//! table of its own must name each of its keys in backticks in its row.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use serde_json::Value;

use super::erase::{at, APPROVER};
use super::util::Site;

/// One row of a key table.
#[derive(Debug, Clone)]
struct Row {
    key: String,
    types: BTreeSet<&'static str>,
    optional: bool,
    any_keys: bool,
    /// The words inside backticks anywhere in the row.
    named: BTreeSet<String>,
}

type Tables = BTreeMap<(String, String), Vec<Row>>;

const TYPES: [&str; 7] = [
    "string", "integer", "number", "boolean", "object", "array", "null",
];

fn cells(line: &str) -> Vec<String> {
    let line = line.trim().trim_start_matches('|').trim_end_matches('|');
    line.split(" | ").map(|c| c.trim().to_string()).collect()
}

fn backticked(text: &str) -> BTreeSet<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|span| {
            span.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn types_of(cell: &str) -> BTreeSet<&'static str> {
    let cell = cell.to_lowercase();
    cell.split(" or ")
        .filter_map(|alt| {
            let alt = alt
                .trim()
                .trim_start_matches("an ")
                .trim_start_matches("a ");
            TYPES.iter().find(|t| alt.starts_with(**t)).copied()
        })
        .collect()
}

/// The marked key tables of FORMAT.md.
fn tables(text: &str) -> Tables {
    let mut out = Tables::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(mark) = line
            .trim()
            .strip_prefix("<!-- keys:")
            .and_then(|m| m.strip_suffix("-->"))
        else {
            continue;
        };
        let mut words = mark.split_whitespace();
        let doc = words.next().expect("document name").to_string();
        // One table may stand for several prefixes (arrays of one shape).
        let mut prefixes: Vec<String> = words
            .map(|p| {
                if p == "." {
                    String::new()
                } else {
                    p.to_string()
                }
            })
            .collect();
        if prefixes.is_empty() {
            prefixes.push(String::new());
        }
        let header = cells(lines.get(i + 1).expect("a table after the mark"));
        let key_col = header
            .iter()
            .position(|h| h == "key" || h == "field")
            .unwrap_or_else(|| panic!("FORMAT.md:{}: no key column", i + 2));
        let type_col = header
            .iter()
            .position(|h| h == "type")
            .unwrap_or_else(|| panic!("FORMAT.md:{}: no type column", i + 2));
        let mut rows = Vec::new();
        for row in lines[i + 3..]
            .iter()
            .take_while(|l| l.trim().starts_with('|'))
        {
            let c = cells(row);
            let key = c[key_col].trim_matches('`').to_string();
            let types = types_of(&c[type_col]);
            assert!(!types.is_empty(), "FORMAT.md: no type for {doc} {key}");
            rows.push(Row {
                key,
                types,
                optional: c[type_col].contains("optional"),
                any_keys: c[type_col].contains("any keys"),
                named: backticked(row),
            });
        }
        for prefix in prefixes {
            let rows = rows.iter().map(Row::clone).collect();
            out.insert((doc.clone(), prefix), rows);
        }
    }
    out
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks an object against the table of `prefix`, collecting what differs.
fn check(tables: &Tables, doc: &str, prefix: &str, obj: &Value, errs: &mut Vec<String>) {
    let Some(map) = obj.as_object() else { return };
    let Some(rows) = tables.get(&(doc.to_string(), prefix.to_string())) else {
        errs.push(format!("{doc}: no table for `{prefix}`"));
        return;
    };
    for (k, v) in map {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let Some(row) = rows.iter().find(|r| r.key == *k) else {
            errs.push(format!("{doc}: `{path}` is not documented"));
            continue;
        };
        if !row.types.contains(json_type(v)) {
            errs.push(format!(
                "{doc}: `{path}` is {}, documented as {:?}",
                json_type(v),
                row.types
            ));
        }
        if row.any_keys {
            continue;
        }
        let (inner, objects): (String, Vec<&Value>) = match v {
            Value::Object(_) => (path.clone(), vec![v]),
            Value::Array(items) => (
                format!("{path}[]"),
                items.iter().filter(|i| i.is_object()).collect(),
            ),
            _ => continue,
        };
        for o in objects {
            if tables.contains_key(&(doc.to_string(), inner.clone())) {
                check(tables, doc, &inner, o, errs);
            } else {
                for sub in o.as_object().into_iter().flat_map(|m| m.keys()) {
                    if !row.named.contains(sub) {
                        errs.push(format!(
                            "{doc}: `{inner}.{sub}` is not named in `{path}`'s row"
                        ));
                    }
                }
            }
        }
    }
    for row in rows.iter().filter(|r| !r.optional) {
        if !map.contains_key(&row.key) {
            errs.push(format!(
                "{doc}: documented `{prefix}.{}` is absent",
                row.key
            ));
        }
    }
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(site: &Site, now: &str, args: &[&str]) -> Vec<u8> {
    let out = at(site, now).args(args).output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn every_json_document_kura_writes_has_exactly_the_keys_format_md_lists() {
    let doc = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/FORMAT.md")).unwrap();
    let tables = tables(&doc);
    let site = Site::new();
    site.write_policy(
        &site
            .with_second_destination(&site.policy_text(&[&site.volume]))
            .replace(
                "contract_start = 2023-10-01",
                "contractor = \"株式会社サンプル保守\"\naddressee = \"札幌市長\"\ncontract_start = 2023-10-01",
            ),
    );
    let now = "2024-01-31T01:00:00Z";
    run(&site, now, &["backup"]);
    run(
        &site,
        "2024-01-31T02:00:00Z",
        &["verify", "-i", &site.identity.display().to_string()],
    );
    let restored = site.root.join("restore");
    run(
        &site,
        "2024-01-31T03:00:00Z",
        &[
            "restore",
            "latest",
            "--archive",
            "master",
            "--to",
            &restored.display().to_string(),
            "-i",
            &site.identity.display().to_string(),
        ],
    );
    let file = fs::read_dir(restored.join("master/master"))
        .unwrap()
        .flatten()
        .find(|e| e.path().is_file())
        .unwrap()
        .path();
    let out = run(
        &site,
        "2024-01-31T04:00:00Z",
        &[
            "--json",
            "erase",
            "request",
            "--file",
            &file.display().to_string(),
            "--method",
            "overwrite",
            "--planned",
            "2024-02-01",
            "--reason",
            "復元したデータの消去",
        ],
    );
    let id = serde_json::from_slice::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    run(
        &site,
        "2024-01-31T05:00:00Z",
        &["erase", "approve", &id, "--approver", APPROVER],
    );
    run(&site, "2024-02-01T01:00:00Z", &["erase", "execute", &id]);
    run(
        &site,
        "2024-02-01T02:00:00Z",
        &[
            "erase",
            "certificate",
            &id,
            "--format",
            "json",
            "--out",
            "cert.json",
        ],
    );
    run(
        &site,
        "2024-02-01T02:00:00Z",
        &[
            "erase",
            "form",
            &id,
            "--format",
            "json",
            "--out",
            "form.json",
        ],
    );
    run(&site, "2024-02-01T03:00:00Z", &["audit", "checkpoint"]);
    run(
        &site,
        "2024-02-01T04:00:00Z",
        &[
            "report",
            "monthly",
            "--month",
            "2024-01",
            "--format",
            "json",
            "--out",
            "report.json",
        ],
    );
    let check_out = run(&site, "2024-02-01T05:00:00Z", &["--json", "check"]);

    // A handover to the next contractor, who receives it.
    let next = Site::new();
    let package = site.root.join("handover.tar.zst.age");
    let master = site.root.join("data/master").display().to_string();
    run(
        &site,
        "2024-02-01T07:00:00Z",
        &[
            "handover",
            "create",
            "--include",
            &master,
            "--snapshots",
            "latest",
            "--with-audit",
            "--to",
            &next.recipient,
            "--out",
            &package.display().to_string(),
        ],
    );
    let received = next.root.join("received");
    let out = at(&next, "2024-02-01T08:00:00Z")
        .args(["handover", "receive"])
        .arg(&package)
        .arg("-i")
        .arg(&next.identity)
        .arg("--into")
        .arg(&received)
        .args(["--receiver", "株式会社つぎ保守 鈴木 一郎", "--sender-key"])
        .arg(site.root.join("keys/kura.pub"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt = fs::read_dir(&received)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    // The rest of the actions: a disk registered, a paper checkpoint
    // verified, a package verified, a request rejected.
    fs::create_dir_all(site.root.join("usb3")).unwrap();
    let usb3 = site.root.join("usb3/kura").display().to_string();
    run(
        &site,
        "2024-02-01T08:10:00Z",
        &["volume", "register", &usb3, "--label", "HDD3"],
    );
    let report = read_json(&site.root.join("report.json"));
    let paper = report["checkpoint"].as_str().unwrap().to_string();
    run(
        &site,
        "2024-02-01T08:20:00Z",
        &["audit", "verify", "--checkpoint", &paper],
    );
    let other = site.root.join("other.csv");
    fs::write(&other, "1,2\n").unwrap();
    let out = run(
        &site,
        "2024-02-01T08:30:00Z",
        &[
            "--json",
            "erase",
            "request",
            "--file",
            &other.display().to_string(),
            "--method",
            "overwrite",
            "--planned",
            "2024-02-02",
            "--reason",
            "テスト",
        ],
    );
    let second = serde_json::from_slice::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    run(
        &site,
        "2024-02-01T08:40:00Z",
        &[
            "erase",
            "reject",
            &second,
            "--approver",
            APPROVER,
            "--reason",
            "不要",
        ],
    );
    at(&next, "2024-02-01T08:50:00Z")
        .args(["handover", "verify"])
        .arg(&package)
        .arg("-i")
        .arg(&next.identity)
        .assert()
        .success();
    run(
        &site,
        "2024-02-01T09:00:00Z",
        &[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--out",
            "audit.jsonl",
        ],
    );

    let snapshot = fs::read_dir(site.dest().join("snapshots"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let documents = [
        ("snapshot.json", read_json(&snapshot.join("snapshot.json"))),
        (
            "kura-volume.json",
            read_json(&site.dest().join("kura-volume.json")),
        ),
        ("certificate", read_json(&site.root.join("cert.json"))),
        ("erasure-request", read_json(&site.root.join("form.json"))),
        ("monthly-report", read_json(&site.root.join("report.json"))),
        ("check", serde_json::from_slice(&check_out).unwrap()),
        (
            "handover-manifest",
            read_json(&site.root.join("handover.tar.zst.age.manifest.json")),
        ),
        ("receipt", read_json(&receipt)),
    ];
    let mut errs = Vec::new();
    for (name, value) in &documents {
        check(&tables, name, "", value, &mut errs);
    }
    let export = fs::read_to_string(site.root.join("audit.jsonl")).unwrap();
    let mut events: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The receiving side's events too.
    at(&next, "2024-02-01T09:00:00Z")
        .args([
            "audit",
            "export",
            "--format",
            "jsonl",
            "--out",
            "audit.jsonl",
        ])
        .assert()
        .success();
    let theirs = fs::read_to_string(next.root.join("audit.jsonl")).unwrap();
    events.extend(
        theirs
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()),
    );
    for e in &events {
        check(&tables, "audit-event", "", e, &mut errs);
    }
    // Every action with each of its details keys.
    let produced: BTreeSet<String> = events
        .iter()
        .map(|e| {
            let d: Value = serde_json::from_str(e["details"].as_str().unwrap()).unwrap();
            let keys: Vec<&String> = d.as_object().into_iter().flat_map(|m| m.keys()).collect();
            format!("{} {}: {keys:?}", e["action"], e["outcome"])
        })
        .collect();
    let actions = tables
        .get(&("audit-details".to_string(), String::new()))
        .unwrap_or_else(|| {
            panic!("no action table (<!-- keys: audit-details -->); produced:\n{produced:#?}")
        });
    let common = actions.iter().find(|r| r.key == "*").map(|r| &r.named);
    let mut seen = BTreeSet::new();
    for e in &events {
        let action = e["action"].as_str().unwrap();
        seen.insert(action.to_string());
        let details: Value = serde_json::from_str(e["details"].as_str().unwrap()).unwrap();
        let Some(row) = actions.iter().find(|r| r.key == action) else {
            errs.push(format!("audit action `{action}` is not documented"));
            continue;
        };
        for k in details.as_object().into_iter().flat_map(|m| m.keys()) {
            let known = row.named.contains(k) || common.is_some_and(|c| c.contains(k));
            if !known {
                errs.push(format!(
                    "audit action `{action}`: details key `{k}` is not documented"
                ));
            }
        }
    }
    assert!(
        seen.len() >= 8,
        "the site made too few kinds of events: {seen:?}"
    );
    assert!(
        errs.is_empty(),
        "FORMAT.md disagrees with what kura writes:\n{}",
        errs.join("\n")
    );
}

#[test]
fn the_table_reader_finds_keys_types_and_named_subkeys() {
    let text = "<!-- keys: x -->\n| key | type | meaning |\n|---|---|---|\n\
                | `a` | string or null | the `b`, `{c, d}` |\n| `e` | object (any keys), optional | |\n";
    let t = tables(text);
    let rows = &t[&("x".to_string(), String::new())];
    assert_eq!(rows[0].key, "a");
    assert_eq!(rows[0].types, BTreeSet::from(["string", "null"]));
    assert!(rows[0].named.contains("c") && rows[0].named.contains("d"));
    assert!(rows[1].optional && rows[1].any_keys);
    let mut errs = Vec::new();
    check(
        &t,
        "x",
        "",
        &serde_json::json!({"a": 1, "f": true}),
        &mut errs,
    );
    assert_eq!(errs.len(), 2, "{errs:?}");
}
