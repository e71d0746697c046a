//! Errors and the exit codes they map to.
//!
//! Policy: every error names the thing at fault (a file, a destination, a source)
//! and says what is wrong in one sentence, in Japanese or English. The mapping
//! from error to exit code lives only in [`Error::exit_code`], so a command can
//! never invent its own. Errors never carry key material: key errors name the
//! key file, never its contents.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::i18n::Lang;

/// A `Result` whose error is kura's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The exit codes of the product contract (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Success; everything checked is intact.
    Ok = 0,
    /// Integrity problem or inspection finding.
    Integrity = 1,
    /// Usage or policy error.
    Usage = 2,
    /// Operational failure: I/O, destination missing, out of space, lock held, key.
    Operational = 3,
    /// Refused by rule: unregistered volume, operator not authorised, ….
    Refused = 4,
}

impl ExitCode {
    /// The process exit status.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Everything that can go wrong, with the file or thing it concerns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy file is invalid at a known place.
    Policy {
        /// The policy file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong, already in the user's language where it came from us.
        message: String,
    },
    /// The policy file could not be read at all.
    PolicyUnreadable {
        /// The policy file.
        file: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Bad flags or arguments that clap could not catch.
    Usage(String),
    /// No operator was given to a command that needs one.
    OperatorMissing,
    /// The operator is not listed in `[access].operators`.
    OperatorNotAuthorised {
        /// The name given.
        operator: String,
        /// The policy file.
        policy: PathBuf,
        /// The names the policy registers.
        known: Vec<String>,
    },
    /// The operator is bound to another OS account than the one running kura.
    OperatorWrongAccount {
        /// The operator, as registered.
        operator: String,
        /// The OS account actually running kura.
        os_user: String,
        /// The OS account the policy binds the operator to.
        expected: String,
    },
    /// An I/O operation on a named file failed.
    Io {
        /// What kura was doing, e.g. "reading", "writing".
        action: Action,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A destination directory is not there (disk not connected?).
    DestinationMissing {
        /// Destination name from the policy.
        dest: String,
        /// Its path.
        path: PathBuf,
    },
    /// A destination's volume is not registered or not accepted by the policy.
    UnregisteredVolume {
        /// Destination name.
        dest: String,
        /// Its path.
        path: PathBuf,
        /// The id found on the volume, if any.
        found: Option<String>,
    },
    /// A volume marker exists but cannot be understood.
    BadVolumeMarker {
        /// The marker file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A directory already carries a volume marker.
    AlreadyRegistered {
        /// The directory.
        path: PathBuf,
        /// Its id.
        id: String,
    },
    /// Not enough free space on a destination.
    OutOfSpace {
        /// Destination name.
        dest: String,
        /// Its path.
        path: PathBuf,
        /// Bytes needed.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// Another kura run holds the destination's lock.
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// A source path named in the policy does not exist.
    SourceMissing {
        /// Source name.
        source_name: String,
        /// The missing path.
        path: PathBuf,
        /// Where it is named: `policy:line:column`.
        location: String,
    },
    /// A source file kept changing while it was read.
    SourceChanging {
        /// The file.
        path: PathBuf,
        /// How many times it was read.
        attempts: u32,
    },
    /// A `prepare` command failed.
    PrepareFailed {
        /// Source name.
        source_name: String,
        /// The program.
        program: String,
        /// Exit status or spawn error.
        detail: String,
    },
    /// A snapshot with this id already exists.
    SnapshotExists {
        /// The snapshot directory.
        path: PathBuf,
    },
    /// A key file is missing, unreadable, malformed, or the passphrase is wrong.
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong (never the key itself).
        detail: String,
        /// The same in Japanese.
        detail_ja: String,
    },
    /// The identity does not open the archive.
    WrongKey {
        /// The archive.
        path: PathBuf,
    },
    /// A file that kura refuses to overwrite.
    WouldOverwrite {
        /// The file.
        path: PathBuf,
    },
    /// Some destinations failed while others succeeded.
    PartialFailure {
        /// One line per failed destination.
        failures: Vec<String>,
    },
    /// `--dest` names no destination of the policy.
    UnknownDestination {
        /// The name given.
        name: String,
        /// The names the policy has.
        known: Vec<String>,
    },
    /// A snapshot argument that is neither an id, `latest` nor `all`.
    BadSnapshotArgument(String),
    /// `KURA_NOW` is not an RFC 3339 time.
    BadClock {
        /// The value.
        value: String,
        /// The parser's complaint.
        detail: String,
    },
    /// `KURA_NOW` is set but the policy does not allow the clock to be replaced.
    ClockOverrideRefused {
        /// The policy file.
        policy: PathBuf,
    },
    /// `kura demo` was pointed at a directory it did not create.
    ForeignDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// Another process holds the audit database longer than the busy timeout.
    AuditBusy {
        /// The database.
        path: PathBuf,
    },
    /// The audit database is damaged or not kura's.
    AuditCorrupt {
        /// The database.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The audit database's tables, indexes or triggers are not exactly
    /// kura's: nothing is appended to it.
    AuditSchema {
        /// The database.
        path: PathBuf,
        /// One line per object: `extra trigger spy on events`, ….
        problems: Vec<String>,
    },
    /// The audit database cannot be opened or written.
    AuditUnavailable {
        /// The database.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A restore target that is not an empty directory.
    TargetNotEmpty {
        /// The target.
        path: PathBuf,
    },
    /// `--archive` names no archive of the snapshot.
    UnknownArchive {
        /// The name given.
        name: String,
        /// The archives the snapshot has.
        known: Vec<String>,
    },
    /// The command was interrupted (Ctrl-C, SIGTERM, a closed console) and
    /// stopped cleanly; see [`crate::interrupt`].
    Interrupted,
    /// A refusal by rule, said in both languages.
    RefusedSaid {
        /// 日本語.
        ja: String,
        /// English.
        en: String,
    },
    /// A usage error, said in both languages.
    UsageSaid {
        /// 日本語.
        ja: String,
        /// English.
        en: String,
    },
    /// An integrity finding (exit 1), said in both languages.
    FindingSaid {
        /// 日本語.
        ja: String,
        /// English.
        en: String,
    },
    /// An operational failure (exit 3), said in both languages.
    FailedSaid {
        /// 日本語.
        ja: String,
        /// English.
        en: String,
    },
    /// A refusal by rule that has no variant of its own.
    Refused(String),
    /// An integrity finding: a checksum, a signature, or a structure is wrong.
    Integrity {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// What kura was doing when an I/O error struck; part of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Reading a file.
    Read,
    /// Writing a file.
    Write,
    /// Creating a file or directory.
    Create,
    /// Listing a directory.
    List,
    /// Renaming into place.
    Rename,
    /// Removing.
    Remove,
    /// Flushing to stable storage.
    Sync,
    /// Asking the file system for free space.
    Stat,
}

impl Action {
    fn text(self, lang: Lang) -> &'static str {
        match self {
            Action::Read => lang.pick("読み取れません", "cannot read"),
            Action::Write => lang.pick("書き込めません", "cannot write"),
            Action::Create => lang.pick("作成できません", "cannot create"),
            Action::List => lang.pick("一覧を取得できません", "cannot list"),
            Action::Rename => lang.pick("名前を変更できません", "cannot rename"),
            Action::Remove => lang.pick("削除できません", "cannot remove"),
            Action::Sync => lang.pick("ディスクへ確定できません", "cannot sync"),
            Action::Stat => lang.pick("空き容量を取得できません", "cannot read free space of"),
        }
    }
}

impl Error {
    /// A refusal by rule (exit 4), in Japanese and English.
    pub fn refused(ja: impl Into<String>, en: impl Into<String>) -> Error {
        Error::RefusedSaid {
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// A usage error (exit 2), in Japanese and English.
    pub fn usage(ja: impl Into<String>, en: impl Into<String>) -> Error {
        Error::UsageSaid {
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// An integrity finding (exit 1), in Japanese and English.
    pub fn finding(ja: impl Into<String>, en: impl Into<String>) -> Error {
        Error::FindingSaid {
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// An operational failure (exit 3), in Japanese and English.
    pub fn failed(ja: impl Into<String>, en: impl Into<String>) -> Error {
        Error::FailedSaid {
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// A key file that cannot be used (exit 3), why in Japanese and English.
    pub fn key(path: impl AsRef<Path>, ja: impl Into<String>, en: impl Into<String>) -> Error {
        Error::Key {
            path: path.as_ref().to_path_buf(),
            detail: en.into(),
            detail_ja: ja.into(),
        }
    }

    /// A key file the system could not read or write.
    pub fn key_io(path: impl AsRef<Path>, source: &io::Error) -> Error {
        Error::key(
            path,
            os_reason(source, Lang::Ja),
            os_reason(source, Lang::En),
        )
    }

    /// A key file that age or minisign rejected, the library's own words
    /// kept for support inside a Japanese sentence.
    pub fn key_library(path: impl AsRef<Path>, library: &str, said: &str) -> Error {
        Error::key(
            path,
            format!("{library} が処理できませんでした ({library} の詳細: {said})"),
            said.to_string(),
        )
    }

    /// Shorthand for an I/O error on a path. An I/O error that carries an
    /// interruption ([`crate::interrupt::check_io`]) is [`Error::Interrupted`].
    pub fn io(action: Action, path: impl AsRef<Path>, source: io::Error) -> Error {
        if crate::interrupt::is_interruption(&source) {
            return Error::Interrupted;
        }
        Error::Io {
            action,
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// The exit code of this error: the only place where that mapping is made.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Integrity { .. }
            | Error::AuditCorrupt { .. }
            | Error::AuditSchema { .. }
            | Error::FindingSaid { .. } => ExitCode::Integrity,
            // A policy that is not where it was said to be is a usage
            // error; one that is there but cannot be read, an I/O failure.
            Error::PolicyUnreadable { source, .. } if source.kind() != io::ErrorKind::NotFound => {
                ExitCode::Operational
            }
            Error::Policy { .. }
            | Error::PolicyUnreadable { .. }
            | Error::Usage(_)
            | Error::UnknownDestination { .. }
            | Error::BadSnapshotArgument(_)
            | Error::BadClock { .. }
            | Error::UnknownArchive { .. }
            | Error::UsageSaid { .. }
            | Error::OperatorMissing => ExitCode::Usage,
            Error::Io { .. }
            | Error::DestinationMissing { .. }
            | Error::OutOfSpace { .. }
            | Error::Locked { .. }
            | Error::SourceMissing { .. }
            | Error::SourceChanging { .. }
            | Error::PrepareFailed { .. }
            | Error::SnapshotExists { .. }
            | Error::Key { .. }
            | Error::WrongKey { .. }
            | Error::BadVolumeMarker { .. }
            | Error::AuditBusy { .. }
            | Error::AuditUnavailable { .. }
            | Error::FailedSaid { .. }
            | Error::Interrupted
            | Error::PartialFailure { .. } => ExitCode::Operational,
            Error::OperatorNotAuthorised { .. }
            | Error::OperatorWrongAccount { .. }
            | Error::UnregisteredVolume { .. }
            | Error::AlreadyRegistered { .. }
            | Error::WouldOverwrite { .. }
            | Error::ForeignDirectory { .. }
            | Error::ClockOverrideRefused { .. }
            | Error::TargetNotEmpty { .. }
            | Error::RefusedSaid { .. }
            | Error::Refused(_) => ExitCode::Refused,
        }
    }

    /// Whether this is a person's mistake at the keyboard rather than a
    /// failure of the system or a finding: a typo or bad argument, a name
    /// not on the operator list, a refusal by rule, a wrong key or
    /// passphrase. The monthly report lists these as 操作ミス, not as
    /// incidents (別添7 (4)); the audit event records it as
    /// `details.mistake`.
    pub fn is_mistake(&self) -> bool {
        matches!(self, Error::Key { .. } | Error::WrongKey { .. })
            || matches!(self.exit_code(), ExitCode::Usage | ExitCode::Refused)
    }

    /// A one-sentence message in the given language.
    pub fn message(&self, lang: Lang) -> String {
        let ja = lang == Lang::Ja;
        match self {
            Error::Policy {
                file,
                line,
                column,
                message,
            } => format!("{}:{line}:{column}: {message}", file.display()),
            Error::PolicyUnreadable { file, source } => {
                if ja {
                    format!(
                        "ポリシーファイル {} を読み取れません: {}",
                        file.display(),
                        os_reason(source, lang)
                    )
                } else {
                    format!("cannot read policy file {}: {source}", file.display())
                }
            }
            Error::Usage(m) => m.clone(),
            Error::OperatorMissing => lang
                .pick(
                    "作業者の氏名が必要です (--operator または KURA_OPERATOR)",
                    "this command needs the operator's name (--operator or KURA_OPERATOR)",
                )
                .to_string(),
            Error::OperatorNotAuthorised {
                operator,
                policy,
                known,
            } => {
                if ja {
                    let known = known
                        .iter()
                        .map(|k| format!("「{k}」"))
                        .collect::<Vec<_>>()
                        .join("、");
                    format!(
                        "作業者「{operator}」は {} の [access].operators に登録されていません (登録されている作業者: {known})",
                        policy.display()
                    )
                } else {
                    let known = known
                        .iter()
                        .map(|k| format!("\"{k}\""))
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!(
                        "operator \"{operator}\" is not listed in [access].operators of {} (registered: {known})",
                        policy.display()
                    )
                }
            }
            Error::OperatorWrongAccount {
                operator,
                os_user,
                expected,
            } => {
                if ja {
                    format!(
                        "作業者「{operator}」は OS アカウント「{expected}」でのみ実行できます (実行中のアカウント: 「{os_user}」)"
                    )
                } else {
                    format!(
                        "operator \"{operator}\" may run kura only as OS user \"{expected}\", not as \"{os_user}\""
                    )
                }
            }
            Error::Io {
                action,
                path,
                source,
            } => {
                if ja && *action == Action::Stat {
                    format!(
                        "{} の空き容量を取得できません: {}",
                        path.display(),
                        os_reason(source, lang)
                    )
                } else if ja {
                    format!(
                        "{} を{}: {}",
                        path.display(),
                        action.text(lang),
                        os_reason(source, lang)
                    )
                } else {
                    format!("{} {}: {source}", action.text(lang), path.display())
                }
            }
            Error::DestinationMissing { dest, path } => {
                if ja {
                    format!(
                        "保存先「{dest}」が接続されていません: {} が見つかりません",
                        path.display()
                    )
                } else {
                    format!(
                        "destination \"{dest}\" is not connected: {} does not exist",
                        path.display()
                    )
                }
            }
            Error::UnregisteredVolume { dest, path, found } => match (ja, found) {
                (true, Some(id)) => format!(
                    "保存先「{dest}」({}) のボリューム {id} はポリシーの volumes に含まれていないため、何も書き込みませんでした",
                    path.display()
                ),
                (true, None) => format!(
                    "保存先「{dest}」({}) は登録されたボリュームではありません (kura-volume.json がありません)。何も書き込みませんでした",
                    path.display()
                ),
                (false, Some(id)) => format!(
                    "volume {id} at destination \"{dest}\" ({}) is not listed in its volumes; nothing was written",
                    path.display()
                ),
                (false, None) => format!(
                    "destination \"{dest}\" ({}) is not a registered volume (no kura-volume.json); nothing was written",
                    path.display()
                ),
            },
            Error::BadVolumeMarker { path, detail } => {
                if ja {
                    format!("ボリューム識別ファイル {} が不正です: {detail}", path.display())
                } else {
                    format!("volume marker {} is invalid: {detail}", path.display())
                }
            }
            Error::AlreadyRegistered { path, id } => {
                if ja {
                    format!("{} は登録済みです (ボリューム {id})", path.display())
                } else {
                    format!("{} is already registered as volume {id}", path.display())
                }
            }
            Error::OutOfSpace {
                dest,
                path,
                needed,
                available,
            } => {
                if ja {
                    format!(
                        "保存先「{dest}」({}) の空き容量が不足しています: 必要 {} / 空き {}",
                        path.display(),
                        human_bytes(*needed),
                        human_bytes(*available)
                    )
                } else {
                    format!(
                        "not enough free space on destination \"{dest}\" ({}): need {}, {} free",
                        path.display(),
                        human_bytes(*needed),
                        human_bytes(*available)
                    )
                }
            }
            Error::Locked { path } => {
                if ja {
                    format!(
                        "別の kura が実行中です (ロック {} が使用中)",
                        path.display()
                    )
                } else {
                    format!("another kura run holds the lock {}", path.display())
                }
            }
            Error::SourceMissing {
                source_name,
                path,
                location,
            } => {
                if ja {
                    format!(
                        "バックアップ対象「{source_name}」の {} が見つかりません ({location} で指定)",
                        path.display()
                    )
                } else {
                    format!(
                        "source \"{source_name}\": {} does not exist (named at {location})",
                        path.display()
                    )
                }
            }
            Error::SourceChanging { path, attempts } => {
                if ja {
                    format!(
                        "{} が読み取り中に変更され続けました ({attempts} 回試行)。不完全な複製は保存していません",
                        path.display()
                    )
                } else {
                    format!(
                        "{} kept changing while it was read ({attempts} attempts); no torn copy was stored",
                        path.display()
                    )
                }
            }
            Error::PrepareFailed {
                source_name,
                program,
                detail,
            } => {
                if ja {
                    format!("バックアップ対象「{source_name}」の事前処理 {program} が失敗しました: {detail}")
                } else {
                    format!("prepare command {program} of source \"{source_name}\" failed: {detail}")
                }
            }
            Error::SnapshotExists { path } => {
                if ja {
                    format!("スナップショット {} は既に存在します", path.display())
                } else {
                    format!("snapshot {} already exists", path.display())
                }
            }
            Error::Key {
                path,
                detail,
                detail_ja,
            } => {
                if ja {
                    format!("鍵ファイル {} を使用できません: {detail_ja}", path.display())
                } else {
                    format!("key file {} cannot be used: {detail}", path.display())
                }
            }
            Error::WrongKey { path } => {
                if ja {
                    format!("指定された鍵では {} を復号できません", path.display())
                } else {
                    format!("the given identity cannot decrypt {}", path.display())
                }
            }
            Error::WouldOverwrite { path } => {
                if ja {
                    format!("{} は既に存在するため上書きしません", path.display())
                } else {
                    format!("{} already exists; kura does not overwrite it", path.display())
                }
            }
            Error::PartialFailure { failures } => {
                let list = failures.join("; ");
                if ja {
                    format!("一部の保存先で失敗しました: {list}")
                } else {
                    format!("some destinations failed: {list}")
                }
            }
            Error::UnknownDestination { name, known } => {
                let known = known.join(", ");
                if ja {
                    format!("保存先「{name}」はポリシーにありません (あるもの: {known})")
                } else {
                    format!("no destination named \"{name}\" in the policy (known: {known})")
                }
            }
            Error::BadSnapshotArgument(arg) => {
                if ja {
                    format!("「{arg}」はスナップショットID (YYYYMMDDTHHMMSSZ)、latest、all のいずれでもありません")
                } else {
                    format!("{arg:?} is not a snapshot id (YYYYMMDDTHHMMSSZ), `latest` or `all`")
                }
            }
            Error::BadClock { value, detail } => {
                if ja {
                    format!("KURA_NOW={value:?} は RFC 3339 形式の時刻 (例: 2024-01-31T01:02:03Z) ではありません: {detail}")
                } else {
                    format!("KURA_NOW={value:?} is not an RFC 3339 time (e.g. 2024-01-31T01:02:03Z): {detail}")
                }
            }
            Error::ClockOverrideRefused { policy } => {
                if ja {
                    format!("KURA_NOW が設定されていますが、ポリシー {} は時計の置き換えを許可していません。何も実行していません", policy.display())
                } else {
                    format!("KURA_NOW is set but the policy {} does not allow the clock to be replaced; nothing was done", policy.display())
                }
            }
            Error::ForeignDirectory { path } => {
                if ja {
                    format!("{} は kura demo が作成したディレクトリではないため使用しません。別の --dir を指定してください", path.display())
                } else {
                    format!("{} exists and was not created by `kura demo`; choose another --dir", path.display())
                }
            }
            Error::AuditBusy { path } => {
                if ja {
                    format!("監査ログ {} が他の処理に使用されたままです (待機後に中止しました)", path.display())
                } else {
                    format!("the audit database {} stayed locked by another process; gave up waiting", path.display())
                }
            }
            Error::AuditCorrupt { path, detail } => {
                if ja {
                    format!("監査ログ {} が破損しているか kura のものではありません: {detail}", path.display())
                } else {
                    format!("the audit database {} is damaged or not kura's: {detail}", path.display())
                }
            }
            Error::AuditSchema { path, problems } => {
                let list = problems.join("; ");
                if ja {
                    format!("監査ログ {} のスキーマが kura の定義と異なるため、追記しません: {list}", path.display())
                } else {
                    format!("the audit database {} does not have kura's schema, so nothing is appended to it: {list}", path.display())
                }
            }
            Error::AuditUnavailable { path, detail } => {
                if ja {
                    format!("監査ログ {} を使用できません: {detail}", path.display())
                } else {
                    format!("cannot use the audit database {}: {detail}", path.display())
                }
            }
            Error::TargetNotEmpty { path } => {
                if ja {
                    format!("復元先 {} は空のディレクトリではないため、何も書き込みませんでした", path.display())
                } else {
                    format!("restore target {} is not an empty directory; nothing was written", path.display())
                }
            }
            Error::UnknownArchive { name, known } => {
                let known = known.join(", ");
                if ja {
                    format!("アーカイブ「{name}」はこのスナップショットにありません (あるもの: {known})")
                } else {
                    format!("the snapshot has no archive \"{name}\" (it has: {known})")
                }
            }
            Error::RefusedSaid { ja: j, en }
            | Error::UsageSaid { ja: j, en }
            | Error::FindingSaid { ja: j, en }
            | Error::FailedSaid { ja: j, en } => {
                lang.pick(j, en).clone()
            }
            Error::Interrupted => lang.pick("中断しました", "interrupted").to_string(),
            Error::Refused(m) => m.clone(),
            Error::Integrity { path, detail } => {
                if ja {
                    format!("{} の検証に失敗しました: {detail}", path.display())
                } else {
                    format!("integrity check failed for {}: {detail}", path.display())
                }
            }
        }
    }

    /// A hint for what to do next, where one helps.
    pub fn hint(&self, lang: Lang) -> Option<String> {
        let text = match self {
            Error::OperatorMissing | Error::OperatorNotAuthorised { .. } => lang.pick(
                "ポリシーの [access].operators に記載された氏名を --operator で指定してください",
                "give a name listed in the policy's [access].operators with --operator",
            ),
            Error::OperatorWrongAccount { .. } => lang.pick(
                "その作業者に割り当てられた OS アカウントでログオンして実行するか、ポリシーの [access].operators の os_user を正してください",
                "log on as the OS account the policy binds this operator to, or correct os_user in [access].operators",
            ),
            Error::DestinationMissing { .. } => lang.pick(
                "USB外付けHDDが接続されているか、ドライブ文字が正しいか確認してください",
                "check that the USB disk is connected and mounted at the policy's path",
            ),
            Error::UnregisteredVolume { found: None, .. } => lang.pick(
                "新しいディスクは kura volume register で登録し、表示された id をポリシーの volumes に追加してください",
                "register a new disk with `kura volume register`, then add the printed id to the destination's volumes",
            ),
            Error::UnregisteredVolume { .. } => lang.pick(
                "許可された媒体か確認し、許可する場合はその id をポリシーの volumes に追加してください",
                "if this disk is permitted media, add its id to the destination's volumes in the policy",
            ),
            Error::Locked { .. } => lang.pick(
                "前回の実行が終わるのを待ってから再実行してください",
                "wait for the other run to finish, then run again",
            ),
            Error::ClockOverrideRefused { .. } => lang.pick(
                "KURA_NOW を解除してください。リハーサルの場合はポリシーに [rehearsal] allow_clock_override = true を設定してください",
                "unset KURA_NOW, or for a rehearsal set `[rehearsal] allow_clock_override = true` in the policy",
            ),
            Error::AuditSchema { .. } => lang.pick(
                "kura audit verify で内容を確認し、管理者に報告してください。証拠となるため、自分で削除・修正しないでください",
                "run `kura audit verify` and report the finding; do not remove or mend the object yourself, it is evidence",
            ),
            Error::Key { .. } => lang.pick(
                "鍵ファイルのパスが正しいか、鍵を保管した媒体 (USBメモリなど) が接続されているか確認してください",
                "check the key file's path, and that the medium it is kept on is connected",
            ),
            Error::Io { source, .. } => match source.kind() {
                io::ErrorKind::NotFound => lang.pick(
                    "パスが正しいか、USB外付けHDDなどの媒体が接続されているか確認してください",
                    "check the path, and that the disk it is on is connected",
                ),
                io::ErrorKind::PermissionDenied => lang.pick(
                    "kura を実行しているアカウントにそのファイルやフォルダのアクセス権があるか確認してください (管理者として実行する必要があるかもしれません)",
                    "check that the account running kura may access it (it may need to run as administrator)",
                ),
                io::ErrorKind::StorageFull => lang.pick(
                    "空き容量を確保してから再実行してください (kura check で各ドライブの空き容量を確認できます)",
                    "free some space and run again (kura check shows each drive's free space)",
                ),
                io::ErrorKind::ReadOnlyFilesystem => lang.pick(
                    "媒体の書き込み禁止を解除するか、書き込める媒体を使ってください",
                    "make the medium writable, or use one that is",
                ),
                _ => return None,
            },
            Error::PolicyUnreadable { source, .. } if source.kind() != io::ErrorKind::NotFound => {
                lang.pick(
                    "ポリシーファイルのあるディスクとアクセス権を確認してから再実行してください",
                    "check the disk the policy is on and its permissions, then run again",
                )
            }
            Error::PolicyUnreadable { .. } => lang.pick(
                "--policy でポリシーファイルを指定するか、kura.toml のあるディレクトリで実行してください",
                "give the policy with --policy, or run where kura.toml is",
            ),
            _ => return None,
        };
        Some(text.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Lang::En))
    }
}

/// Why a system call failed, as a person reads it. English: the operating
/// system's own message. Japanese: a sentence for the common causes, with
/// the system's error number for the rest (its text is English on most
/// systems), so no English sentence lands inside a Japanese one.
pub fn os_reason(e: &io::Error, lang: Lang) -> String {
    if lang == Lang::En {
        return e.to_string();
    }
    use io::ErrorKind as K;
    let said = match e.kind() {
        K::NotFound => "ファイルまたはフォルダが見つかりません",
        K::PermissionDenied => "アクセスが拒否されました (権限がありません)",
        K::AlreadyExists => "同じ名前のファイルが既にあります",
        K::StorageFull => "ディスクの空き容量が足りません",
        K::ReadOnlyFilesystem => "書き込み禁止の媒体です",
        K::FileTooLarge => "ファイルが大きすぎます",
        K::NotADirectory => "フォルダではありません",
        K::IsADirectory => "ファイルではなくフォルダです",
        K::DirectoryNotEmpty => "フォルダが空ではありません",
        K::CrossesDevices => "別のドライブへは移動できません",
        K::ResourceBusy => "ほかのプログラムが使用中です",
        K::TimedOut => "応答がありません (タイムアウト)",
        K::Interrupted => "中断されました",
        K::UnexpectedEof => "ファイルが途中で終わっています",
        K::InvalidData => "内容が正しくありません",
        K::InvalidInput => "指定が正しくありません",
        K::Unsupported => "この OS または媒体では使えない操作です",
        K::OutOfMemory => "メモリが足りません",
        _ => "",
    };
    match (said, e.raw_os_error()) {
        ("", Some(n)) => format!("OS のエラー (エラー番号 {n})"),
        ("", None) => "入出力のエラー".to_string(),
        (said, Some(n)) => format!("{said} (エラー番号 {n})"),
        (said, None) => said.to_string(),
    }
}

/// Formats a byte count the way people read disk sizes (binary units).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_maps_to_exit_4_and_every_policy_error_to_exit_2() {
        let refused = Error::UnregisteredVolume {
            dest: "hdd1".into(),
            path: "x".into(),
            found: None,
        };
        assert_eq!(refused.exit_code().code(), 4);
        let policy = Error::Policy {
            file: "kura.toml".into(),
            line: 3,
            column: 7,
            message: "bad".into(),
        };
        assert_eq!(policy.exit_code().code(), 2);
        assert!(policy.message(Lang::En).starts_with("kura.toml:3:7: "));
    }

    #[test]
    fn an_os_error_under_japanese_is_a_japanese_sentence_with_its_number() {
        let e = Error::io(Action::Read, "kura.toml", io::Error::from_raw_os_error(2));
        let ja = e.message(Lang::Ja);
        assert!(
            ja.contains("ファイルまたはフォルダが見つかりません"),
            "{ja}"
        );
        assert!(!ja.contains("No such file"), "{ja}");
        assert!(!ja.contains("os error"), "{ja}");
        assert!(e.hint(Lang::Ja).is_some_and(|h| h.contains("接続")));
        assert!(e.message(Lang::En).contains("os error 2"));
        let odd = io::Error::other("weird");
        assert_eq!(os_reason(&odd, Lang::Ja), "入出力のエラー");
    }

    #[test]
    fn an_unreadable_policy_is_exit_3_and_a_missing_one_exit_2() {
        let missing = Error::PolicyUnreadable {
            file: "kura.toml".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        assert_eq!(missing.exit_code().code(), 2);
        let failed = Error::PolicyUnreadable {
            file: "kura.toml".into(),
            source: io::Error::from_raw_os_error(5), // EIO
        };
        assert_eq!(failed.exit_code().code(), 3);
    }

    #[test]
    fn human_bytes_uses_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
