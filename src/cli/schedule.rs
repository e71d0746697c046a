//! `kura schedule print`: the monthly job for systemd or the Windows Task Scheduler.

use std::io::IsTerminal;

use clap::Subcommand;
use kura::{Error, ExitCode};

use super::Ctx;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a systemd service + timer, or a Task Scheduler XML for `schtasks /Create /XML`
    Print {
        /// systemd or windows
        #[arg(long, value_parser = ["systemd", "windows"])]
        system: String,
        /// Write to a file instead (the Windows XML as UTF-16, as schtasks wants it; required for it unless stdout is a terminal)
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
}

/// The operator name the scheduled job runs as (list it in [access].operators).
const JOB_OPERATOR: &str = "scheduled-task";

pub fn run(ctx: &Ctx, command: Command) -> Result<ExitCode, Error> {
    let Command::Print { system, out } = command;
    let policy = ctx.load_policy()?;
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_string))
        .unwrap_or_else(|| "kura".to_string());
    let policy_path = std::path::absolute(&policy.file)
        .unwrap_or(policy.file.clone())
        .display()
        .to_string();
    let day = policy.schedule.day_of_month;
    let text = if system == "systemd" {
        systemd(&exe, &policy_path, day)
    } else {
        windows(&exe, &policy_path, day, &policy.site.name)
    };
    if !policy
        .operators
        .iter()
        .any(|o| kura::names::same_person(&o.name, JOB_OPERATOR))
    {
        errln!(
            "kura: {}",
            ctx.t(
                "注意: ポリシーの [access].operators に \"scheduled-task\" を追加してください",
                "note: add \"scheduled-task\" to [access].operators in the policy"
            )
        );
    }
    match out {
        // Task Scheduler wants the UTF-16 the declaration says. A redirection
        // cannot promise it (cmd.exe passes bytes, PowerShell 5.1 re-encodes
        // them), so only a terminal gets the text, for reading.
        None if system == "windows" && !std::io::stdout().is_terminal() => {
            return Err(Error::usage(
                "タスク スケジューラ用の XML は --out FILE で書き出してください (UTF-16 で書きます。リダイレクトでは文字コードが保証されません)",
                "write the Task Scheduler XML with --out FILE (it is written as UTF-16; a redirection cannot keep that encoding)",
            ));
        }
        None => out!("{text}"),
        Some(path) => {
            let bytes: Vec<u8> = if system == "windows" {
                // UTF-16LE with a byte-order mark, matching the XML declaration.
                let mut b = vec![0xff, 0xfe];
                b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
                b
            } else {
                text.into_bytes()
            };
            kura::media::write_document(&path, &bytes)?;
            outln!("{}", path.display());
        }
    }
    Ok(ExitCode::Ok)
}

fn quote_unit(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn systemd(exe: &str, policy: &str, day: u32) -> String {
    format!(
        "# /etc/systemd/system/kura-backup.service
[Unit]
Description=kura monthly backup and inspection check
Wants=local-fs.target
After=local-fs.target

[Service]
Type=oneshot
ExecStart={exe} --policy {policy} --operator {op} --quiet backup
ExecStartPost={exe} --policy {policy} check
Nice=10
IOSchedulingClass=idle

# /etc/systemd/system/kura-backup.timer
[Unit]
Description=kura monthly backup on day {day}

[Timer]
OnCalendar=*-*-{day:02} 02:00:00
Persistent=true
RandomizedDelaySec=10min

[Install]
WantedBy=timers.target
",
        exe = quote_unit(exe),
        policy = quote_unit(policy),
        op = quote_unit(JOB_OPERATOR),
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn windows(exe: &str, policy: &str, day: u32, site: &str) -> String {
    let arg = |rest: &str| {
        xml_escape(&format!(
            "--policy \"{policy}\" --operator \"{JOB_OPERATOR}\" {rest}"
        ))
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-16"?>
<!-- Made by: kura schedule print --system windows --out kura-backup.xml (UTF-16)
     then: schtasks /Create /TN "kura\monthly-backup" /XML kura-backup.xml /RU SYSTEM -->
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>kura: monthly backup and inspection check ({site})</Description>
    <URI>\kura\monthly-backup</URI>
  </RegistrationInfo>
  <Triggers>
    <CalendarTrigger>
      <StartBoundary>2024-01-{day:02}T02:00:00</StartBoundary>
      <Enabled>true</Enabled>
      <ScheduleByMonth>
        <DaysOfMonth><Day>{day}</Day></DaysOfMonth>
        <Months><January /><February /><March /><April /><May /><June /><July /><August /><September /><October /><November /><December /></Months>
      </ScheduleByMonth>
    </CalendarTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>S-1-5-18</UserId>
      <RunLevel>HighestAvailable</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <StartWhenAvailable>true</StartWhenAvailable>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <ExecutionTimeLimit>PT12H</ExecutionTimeLimit>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{exe}</Command>
      <Arguments>{backup}</Arguments>
    </Exec>
    <Exec>
      <Command>{exe}</Command>
      <Arguments>{check}</Arguments>
    </Exec>
  </Actions>
</Task>
"#,
        site = xml_escape(site),
        exe = xml_escape(exe),
        backup = arg("--quiet backup"),
        check = arg("check"),
    )
}
