//! `kura audit verify|log|export|checkpoint`: the tamper-evident log.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use kura::audit::{self, Actor, AuditLog, Checkpoint, Event, Outcome};
use kura::{keys, Error, ExitCode};

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Recompute the chain and check every checkpoint (snapshots, files, --checkpoint)
    Verify {
        /// A checkpoint SEQ:HASH from a paper report (repeatable)
        #[arg(long = "checkpoint", value_name = "SEQ:HASH")]
        checkpoints: Vec<String>,
    },
    /// Show events
    Log {
        /// From this day (YYYY-MM-DD, inclusive)
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
        /// Until this day (YYYY-MM-DD, inclusive)
        #[arg(long, value_name = "DATE")]
        until: Option<chrono::NaiveDate>,
        /// Only this action (e.g. backup, verify.full)
        #[arg(long, value_name = "ACTION")]
        action: Option<String>,
    },
    /// Export every event for an auditor
    Export {
        /// jsonl or csv
        #[arg(long, value_parser = ["jsonl", "csv"])]
        format: String,
        /// Output file [default: stdout]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Append a checkpoint event and print SEQ:HASH for the paper record
    Checkpoint,
    /// On a rebuilt server: restore the audit log from a snapshot and record the gap
    #[command(after_help = "\
Example:
  kura audit recover --from latest -i F:\\kura-identity.age --failed-at \"2024-06-03 08:30 サーバ起動不能\" \\
       --checkpoint 57:7dad6c5d... --operator \"山田 太郎\"

The audit database must be missing or empty. The chain is restored from the snapshot's
audit archive, checked against the head the snapshot sealed, and an audit.recover event
records the gap: the last event recovered, the failure time, and every newer checkpoint
from the paper reports, which audit verify then accepts as lost with the server.")]
    Recover {
        /// A snapshot id or `latest` (the newest on the first destination that has one)
        #[arg(long = "from", value_name = "SNAPSHOT")]
        from: String,
        /// The age identity that opens the snapshot
        #[arg(short = 'i', long = "identity", value_name = "FILE")]
        identity: PathBuf,
        /// Read from this destination [default: the first that has the snapshot]
        #[arg(long = "dest", value_name = "NAME")]
        dest: Option<String>,
        /// When the server failed, as you know it (free text, recorded as given)
        #[arg(long = "failed-at", value_name = "TEXT")]
        failed_at: Option<String>,
        /// A checkpoint SEQ:HASH newer than the snapshot, from a paper report (repeatable)
        #[arg(long = "checkpoint", value_name = "SEQ:HASH")]
        checkpoints: Vec<String>,
    },
}

pub fn run(ctx: &Ctx, command: Command) -> Result<ExitCode, Error> {
    let policy = ctx.load_policy()?;
    let db = &policy.audit_database;
    match command {
        Command::Verify { checkpoints } => verify(ctx, &policy, &checkpoints),
        Command::Log {
            since,
            until,
            action,
        } => {
            let log = AuditLog::open_existing(db, ctx.clock)?;
            let mut events = Vec::new();
            log.for_each(|e| {
                if matches(&e, since, until, action.as_deref()) {
                    events.push(e);
                }
                Ok(())
            })?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "events": events }));
            } else {
                for e in &events {
                    // Under Japanese the action, outcome and the targets
                    // `all` / `latest` in words; the details stay the
                    // record's JSON.
                    let (action, outcome, target) = match ctx.lang {
                        kura::Lang::En => (e.action.clone(), e.outcome.clone(), e.target.clone()),
                        kura::Lang::Ja => (
                            kura::i18n::action_label(&e.action, ctx.lang),
                            kura::i18n::outcome_label(&e.outcome, ctx.lang),
                            match e.target.as_str() {
                                "all" => "全件".to_string(),
                                "latest" => "最新".to_string(),
                                other => other.to_string(),
                            },
                        ),
                    };
                    outln!(
                        "{:>6}  {}  {:<10}  {:<16} {:<8} {}  {}",
                        e.seq,
                        e.time,
                        e.operator,
                        action,
                        outcome,
                        target,
                        e.details
                    );
                }
            }
            Ok(ExitCode::Ok)
        }
        Command::Export { format, out } => {
            let log = AuditLog::open_existing(db, ctx.clock)?;
            let mut sink: Box<dyn Write> = match &out {
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .map_err(|e| Error::io(kura::error::Action::Create, path, e))?,
                )),
            };
            let target = out.clone().unwrap_or_else(|| PathBuf::from("stdout"));
            let io_err = |e| Error::io(kura::error::Action::Write, &target, e);
            if format == "csv" {
                writeln!(sink, "seq,time,real_time,clock_overridden,operator,os_user,host,action,target,outcome,details,prev_hash,hash")
                    .map_err(io_err)?;
            }
            let mut count = 0u64;
            log.for_each(|e| {
                count += 1;
                let line = if format == "csv" {
                    csv_line(&e)
                } else {
                    serde_json::to_string(&e).unwrap_or_default()
                };
                writeln!(sink, "{line}").map_err(io_err)
            })?;
            sink.flush().map_err(io_err)?;
            if ctx.json && out.is_some() {
                ctx.print_json(&serde_json::json!({ "events": count, "file": out }));
            }
            Ok(ExitCode::Ok)
        }
        Command::Recover {
            from,
            identity,
            dest,
            failed_at,
            checkpoints,
        } => recover(
            ctx,
            &policy,
            &from,
            &identity,
            dest,
            failed_at,
            &checkpoints,
        ),
        Command::Checkpoint => {
            let operator = ctx.operator(&policy)?;
            // The key first: an event is not recorded for a file that cannot be signed.
            let key = match &policy.signing {
                Some(s) => Some(keys::load_signing_key(&s.secret_key, &s.public_key)?),
                None => None,
            };
            let mut log = AuditLog::open(db, ctx.clock)?;
            let event = log.append(
                &Actor::current(&operator),
                "audit.checkpoint",
                "audit",
                Outcome::Ok,
                &serde_json::json!({ "previous_head": log.head()?.map(|(s, h)| format!("{s}:{h}")) }),
            )?;
            let file = audit::checkpoint_dir(db).join(format!("checkpoint-{:08}.txt", event.seq));
            let signature =
                audit::write_checkpoint_file(&file, &policy.site.name, &event, key.as_ref())?;
            let id = format!("{}:{}", event.seq, event.hash);
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "id": id, "seq": event.seq, "hash": event.hash, "file": file, "signature": signature,
                }));
            } else {
                outln!("{id}");
                errln!(
                    "{}: {}",
                    ctx.t("チェックポイント", "checkpoint file"),
                    file.display()
                );
            }
            Ok(ExitCode::Ok)
        }
    }
}

/// `kura audit verify`: the chain, every checkpoint, the schema and the
/// inventory. A run in which every `--checkpoint` (paper, from outside the
/// server) passed is recorded as an `audit.verify` event listing them, which
/// `kura check` looks for (`[audit] external_checkpoint_days`).
fn verify(
    ctx: &Ctx,
    policy: &kura::policy::Policy,
    checkpoints: &[String],
) -> Result<ExitCode, Error> {
    let db = &policy.audit_database;
    let mut given = checkpoints
        .iter()
        .map(|c| Checkpoint::parse(c, audit::EXTERNAL_CHECKPOINT_SOURCE))
        .collect::<Result<Vec<_>, _>>()?;
    // The run is recorded when it checked paper checkpoints: under the
    // operator's name when one is given (and then it must be listed).
    let operator = match &ctx.operator {
        Some(_) if !given.is_empty() => ctx.operator(policy)?,
        _ => String::new(),
    };
    let log = AuditLog::open_existing(db, ctx.clock)?;
    let (recorded, mut problems) = audit::recorded_checkpoints(policy)?;
    given.extend(recorded);
    // The erasure records beside the events must say what the chain says.
    match kura::erasure::reconcile(&log) {
        Ok(found) => problems.extend(found.into_iter().map(|p| format!("erasure record {p}"))),
        Err(e) => problems.push(format!("erasure records: {}", e.message(ctx.lang))),
    }
    // A recovery names the snapshot it came from: where that snapshot is
    // still on a disk, the head it sealed must be the one recovered.
    problems.extend(kura::recovery::disagreements(&log, &given)?);
    let report = log.verify(&given)?;
    let schema = log.schema_problems()?;
    let inventory = kura::inventory::reconcile(policy, &log)?;
    let ok = report.ok() && problems.is_empty() && schema.is_empty() && inventory.ok();
    let external: Vec<&audit::CheckpointResult> = report
        .checkpoints
        .iter()
        .filter(|c| c.checkpoint.source == audit::EXTERNAL_CHECKPOINT_SOURCE)
        .collect();
    // Every paper checkpoint agreed with an intact chain in a database whose
    // schema is kura's (so appending is safe): that is an anchor outside the
    // server, verified today.
    let anchored = !external.is_empty()
        && external.iter().all(|c| c.problem.is_none())
        && report.first_bad.is_none()
        && schema.is_empty();
    let recorded_event = if anchored {
        let listed: Vec<_> = external
            .iter()
            .map(|c| serde_json::json!({ "seq": c.checkpoint.seq, "hash": c.checkpoint.hash }))
            .collect();
        // A log that cannot be written (an auditor's read-only copy, say)
        // is still verified; the record's absence shows in `kura check`.
        let appended = AuditLog::open(db, ctx.clock).and_then(|mut writer| {
            writer.append(
                &Actor::current(&operator),
                audit::VERIFY_ACTION,
                "audit",
                if ok { Outcome::Ok } else { Outcome::Finding },
                &serde_json::json!({
                    "external_checkpoints": listed,
                    "checkpoints_checked": report.checkpoints.len(),
                    "events": report.events,
                    "ok": ok,
                }),
            )
        });
        match appended {
            Ok(event) => Some(event),
            // An append that does not read back is an integrity problem.
            Err(e) if e.exit_code() != ExitCode::Operational || matches!(e, Error::Interrupted) => {
                return Err(e)
            }
            Err(e) => {
                errln!(
                    "kura: {}: {}",
                    ctx.t(
                        "外部チェックポイントの照合を記録できませんでした",
                        "the off-server checkpoint verification could not be recorded"
                    ),
                    e.message(ctx.lang)
                );
                None
            }
        }
    } else {
        None
    };
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "ok": ok, "database": db, "report": report, "problems": problems,
            "schema": schema, "inventory": inventory,
            "recorded": recorded_event.as_ref().map(|e| e.seq),
        }));
    } else {
        outln!("{}: {}", ctx.t("監査ログ", "audit log"), db.display());
        outln!("  {}: {}", ctx.t("イベント数", "events"), report.events);
        if let Some((seq, hash)) = &report.head {
            outln!("  {}: {seq}:{hash}", ctx.t("最新", "head"));
        }
        match &report.first_bad {
            None => outln!(
                "  {}: {}",
                ctx.t("ハッシュ連鎖", "chain"),
                ctx.t("正常", "intact")
            ),
            Some(b) => outln!(
                "  {}: {} {} — {}",
                ctx.t("ハッシュ連鎖", "chain"),
                ctx.t("指摘 イベント", "BROKEN at event"),
                b.seq,
                b.detail
            ),
        }
        if schema.is_empty() {
            outln!(
                "  {}: {}",
                ctx.t("スキーマ", "schema"),
                ctx.t("kura の定義どおり", "kura's, exactly")
            );
        }
        for p in &schema {
            outln!(
                "  {} {}: {p}",
                ctx.t("指摘", "FINDING"),
                ctx.t("スキーマ", "schema")
            );
        }
        let last = report.head.as_ref().map_or(0, |(s, _)| *s);
        for c in &report.checkpoints {
            let cp = &c.checkpoint;
            let mark = match (&c.problem, ctx.lang) {
                (None, kura::Lang::Ja) if c.documented_gap.is_some() => format!(
                    "サーバ障害で失われた記録 (復旧イベント {} に記録済)",
                    c.documented_gap.unwrap_or_default()
                ),
                (None, kura::Lang::En) if c.documented_gap.is_some() => format!(
                    "lost with the server (documented by recovery event {})",
                    c.documented_gap.unwrap_or_default()
                ),
                (None, _) => ctx.t("一致", "agrees").to_string(),
                (Some(p), kura::Lang::En) => format!("FINDING — {p}"),
                (Some(_), kura::Lang::Ja) if cp.seq > last => format!(
                    "指摘 — 監査ログはイベント {last} で終わっていますが、チェックポイントはイベント {} を記録しています (切り詰め)",
                    cp.seq
                ),
                (Some(_), kura::Lang::Ja) => format!(
                    "指摘 — イベント {} のハッシュがチェックポイントの記録と異なります (書き換え)",
                    cp.seq
                ),
            };
            outln!(
                "  {} {}:{} ({}): {mark}",
                ctx.t("チェックポイント", "checkpoint"),
                cp.seq,
                &cp.hash[..16],
                checkpoint_source(&cp.source, policy, ctx.lang)
            );
        }
        for p in &problems {
            outln!("  {} {p}", ctx.t("指摘", "FINDING"));
        }
        if inventory.ok() {
            outln!(
                "  {}: {} ({})",
                ctx.t("保存先の目録", "inventory"),
                ctx.t("監査ログと一致", "the log and the disks agree"),
                inventory
                    .checked
                    .iter()
                    .map(|name| match ctx.lang {
                        kura::Lang::Ja => super::snapshots::destination_title(ctx, policy, name),
                        kura::Lang::En => name.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(ctx.t("、", ", "))
            );
        }
        for m in &inventory.mismatches {
            outln!("  {} {}", ctx.t("指摘", "FINDING"), m.message(ctx.lang));
        }
        if let Some(e) = &recorded_event {
            outln!(
                "  {} ({} {})",
                ctx.t(
                    "外部チェックポイントの照合を記録しました",
                    "off-server checkpoint verification recorded"
                ),
                ctx.t("イベント", "event"),
                e.seq
            );
        }
    }
    let failure = if ok {
        None
    } else {
        let detail = report
            .first_bad
            .as_ref()
            .map(|b| format!("event {}: {}", b.seq, b.detail))
            .or_else(|| {
                report.checkpoints.iter().find_map(|c| {
                    c.problem
                        .as_ref()
                        .map(|p| format!("checkpoint from {}: {p}", c.checkpoint.source))
                })
            })
            .or_else(|| schema.first().map(|p| format!("schema: {p}")))
            .or_else(|| problems.first().cloned())
            .or_else(|| inventory.mismatches.first().map(|m| m.message(ctx.lang)))
            .unwrap_or_default();
        Some(Error::Integrity {
            path: db.clone(),
            detail,
        })
    };
    ctx.conclude(failure)
}

fn matches(
    e: &Event,
    since: Option<chrono::NaiveDate>,
    until: Option<chrono::NaiveDate>,
    action: Option<&str>,
) -> bool {
    let day = e
        .time
        .get(..10)
        .and_then(|d| d.parse::<chrono::NaiveDate>().ok());
    let after = since.is_none_or(|s| day.is_some_and(|d| d >= s));
    let before = until.is_none_or(|u| day.is_some_and(|d| d <= u));
    let act = action.is_none_or(|a| e.action == a || e.action.starts_with(&format!("{a}.")));
    after && before && act
}

/// One RFC 4180 CSV line.
fn csv_line(e: &Event) -> String {
    let fields = [
        e.seq.to_string(),
        e.time.clone(),
        e.real_time.clone(),
        u8::from(e.clock_overridden).to_string(),
        e.operator.clone(),
        e.os_user.clone(),
        e.host.clone(),
        e.action.clone(),
        e.target.clone(),
        e.outcome.clone(),
        e.details.clone(),
        e.prev_hash.clone(),
        e.hash.clone(),
    ];
    fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Where a checkpoint came from, as a person reads it: a snapshot on a
/// destination (by its label), `--checkpoint`, or a checkpoint file.
fn checkpoint_source(source: &str, policy: &kura::policy::Policy, lang: kura::Lang) -> String {
    if lang == kura::Lang::En {
        return source.to_string();
    }
    if source == audit::EXTERNAL_CHECKPOINT_SOURCE {
        return "--checkpoint で指定".to_string();
    }
    let on = source
        .strip_prefix("snapshot ")
        .and_then(|rest| rest.split_once(" on "));
    match on {
        Some((id, dest)) => {
            let label = policy
                .destinations
                .iter()
                .find(|d| d.name == dest)
                .map_or(dest, |d| d.label.as_str());
            format!("スナップショット {id}、{label}")
        }
        None => format!("ファイル {source}"),
    }
}

/// `kura audit recover`: the chain back from a snapshot, and the gap recorded.
fn recover(
    ctx: &Ctx,
    policy: &kura::policy::Policy,
    from: &str,
    identity: &std::path::Path,
    dest: Option<String>,
    failed_at: Option<String>,
    checkpoints: &[String],
) -> Result<ExitCode, Error> {
    let operator = ctx.operator(policy)?;
    let lost = checkpoints
        .iter()
        .map(|c| Checkpoint::parse(c, audit::EXTERNAL_CHECKPOINT_SOURCE))
        .collect::<Result<Vec<_>, _>>()?;
    let selection = kura::verify::Selection::parse(from)?;
    if selection == kura::verify::Selection::All {
        return Err(Error::BadSnapshotArgument(from.to_string()));
    }
    let names: Vec<String> = dest.into_iter().collect();
    let dests = policy.select_destinations(&names)?;
    let (destination, dir) = super::restore::find_snapshot(&dests, &selection)?;
    let public_key = match &policy.signing {
        Some(s) => Some(kura::signers::Signers::load(s)?),
        None => None,
    };
    let identities = keys::load_identities(identity, &|p| ctx.passphrase(p))?;
    let progress = ctx.progress();
    let done = kura::recovery::recover(&kura::recovery::RecoverRequest {
        policy,
        snapshot_dir: &dir,
        destination: &destination,
        identities: &identities,
        signers: public_key.as_ref(),
        operator: &operator,
        failed_at: failed_at.as_deref(),
        lost: &lost,
        clock: ctx.clock,
        progress: &progress,
    })?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "ok": true, "database": done.database, "snapshot": done.snapshot,
            "recovered": format!("{}:{}", done.recovered_seq, done.recovered_head),
            "event": { "seq": done.event.seq, "hash": done.event.hash },
            "lost_checkpoints": lost.len(),
        }));
    } else {
        outln!(
            "{}: {}",
            ctx.t("監査ログを復旧しました", "audit log recovered"),
            done.database.display()
        );
        outln!(
            "  {}: {} ({} {}:{})",
            ctx.t("復旧元", "from"),
            done.snapshot,
            ctx.t("最後の記録", "last event"),
            done.recovered_seq,
            done.recovered_head
        );
        outln!(
            "  {}: {}:{}",
            ctx.t("復旧の記録", "recovery event"),
            done.event.seq,
            done.event.hash
        );
        outln!(
            "  {}: {}",
            ctx.t(
                "失われたと記録したチェックポイント",
                "checkpoints recorded as lost"
            ),
            lost.len()
        );
    }
    Ok(ExitCode::Ok)
}
