//! Languages of human output. Messages are written in both Japanese and English
//! at the place they are made, so a translation can never drift from its text.

use serde::Serialize;

/// The language of human output, checks and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// 日本語 (the default on a Japanese system).
    Ja,
    /// English.
    En,
}

impl Lang {
    /// Picks the language from a `LANG`-style value: Japanese if it starts with `ja`.
    pub fn from_locale(value: Option<&str>) -> Lang {
        match value {
            Some(v) if v.to_ascii_lowercase().starts_with("ja") => Lang::Ja,
            _ => Lang::En,
        }
    }

    /// The language of the system, when neither `--lang` nor `KURA_LANG`
    /// says: on Windows the user's UI language (there is no `LANG`; a
    /// Japanese Windows Server says `ja-JP`); elsewhere the POSIX locale
    /// variables, the first one set of `LC_ALL`, `LC_MESSAGES` and `LANG`.
    pub fn from_system() -> Lang {
        #[cfg(windows)]
        {
            Lang::from_locale(sys_locale::get_locale().as_deref())
        }
        #[cfg(not(windows))]
        {
            let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
            Lang::from_locale(
                var("LC_ALL")
                    .or_else(|| var("LC_MESSAGES"))
                    .or_else(|| var("LANG"))
                    .as_deref(),
            )
        }
    }

    /// Parses `ja` or `en`.
    pub fn parse(value: &str) -> Option<Lang> {
        match value.to_ascii_lowercase().as_str() {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Chooses between a Japanese and an English text.
    pub fn pick<T>(self, ja: T, en: T) -> T {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }
}

/// An audit action as a person reads it: `verify.full` → 全件復号検証 (the
/// stored name, in English, is the key; an unknown one is shown as stored).
pub fn action_label(action: &str, lang: Lang) -> String {
    let (ja, en) = match action {
        "backup" => ("バックアップ", "backup"),
        "verify" => ("照合", "verify"),
        "verify.full" => ("全件復号検証", "full verify"),
        "restore" => ("復元", "restore"),
        "prune" => ("世代整理", "prune"),
        "volume.register" => ("媒体登録", "disk registration"),
        "audit.checkpoint" => ("監査ログのチェックポイント", "audit checkpoint"),
        "audit.verify" => ("監査ログの照合", "audit verification"),
        "audit.recover" => ("監査ログの復旧", "audit recovery"),
        "erase.request" => ("消去依頼", "erasure request"),
        "erase.approve" => ("消去承認", "erasure approval"),
        "erase.reject" => ("消去却下", "erasure rejection"),
        "erase.execute" => ("消去実施", "erasure"),
        "erase.item" => ("消去 (1 件)", "erasure of one item"),
        "handover.create" => ("引継ぎパッケージ作成", "handover package"),
        "handover.verify" => ("引継ぎパッケージ検証", "handover verification"),
        "handover.receive" => ("引継ぎパッケージ受領", "handover receipt"),
        "keys.sign" => ("署名鍵の作成", "signing key"),
        "keys.rotate" => ("署名鍵の更新", "signing key rotation"),
        "keys.recipients" => ("暗号化の受信者の変更", "recipient change"),
        "demo" => ("デモ", "demo"),
        other => return other.to_string(),
    };
    lang.pick(ja, en).to_string()
}

/// An event's outcome as a person reads it (stored in English).
pub fn outcome_label(outcome: &str, lang: Lang) -> String {
    let (ja, en) = match outcome {
        "started" => ("開始", "started"),
        "ok" => ("正常", "ok"),
        "failed" => ("失敗", "failed"),
        "refused" => ("拒否", "refused"),
        "finding" => ("指摘", "finding"),
        "interrupted" => ("中断", "interrupted"),
        other => return other.to_string(),
    };
    lang.pick(ja, en).to_string()
}

/// An erasure method as a person reads it (stored as `overwrite`,
/// `crypto-erase`, `destroy`).
pub fn method_label(method: &str, lang: Lang) -> String {
    let (ja, en) = match method {
        "overwrite" => ("上書き消去", "overwrite (NIST Clear)"),
        "crypto-erase" => ("暗号消去 (鍵の消去)", "cryptographic erase (NIST Purge)"),
        "destroy" => ("物理破壊", "physical destruction (NIST Destroy)"),
        other => return other.to_string(),
    };
    lang.pick(ja, en).to_string()
}

/// The NIST SP 800-88 category of an erasure method, in the words of the
/// guideline's Japanese translation (クリア, パージ, 破壊).
pub fn nist_label(method: &str, lang: Lang) -> String {
    let (ja, en) = match method {
        "overwrite" => ("NIST SP 800-88 のクリア", "NIST SP 800-88 Clear"),
        "crypto-erase" => (
            "NIST SP 800-88 のパージ (暗号消去)",
            "NIST SP 800-88 Purge (cryptographic erase)",
        ),
        "destroy" => ("NIST SP 800-88 の破壊", "NIST SP 800-88 Destroy"),
        other => return other.to_string(),
    };
    lang.pick(ja, en).to_string()
}

/// Why retention keeps a snapshot (`newest`, `monthly 2024-01`, `yearly
/// 2024`, as `prune --json` records it) as a person reads it.
pub fn retention_reason(reason: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return reason.to_string();
    }
    let month = |m: &str| {
        let (y, mo) = m.split_once('-')?;
        Some(format!("{y}年{}月", mo.trim_start_matches('0')))
    };
    match reason.split_once(' ') {
        None if reason == "newest" => "最新".into(),
        Some(("monthly", m)) => month(m)
            .map(|m| format!("{m}の月次保存"))
            .unwrap_or_else(|| reason.into()),
        Some(("yearly", y)) => format!("{y}年の年次保存"),
        _ => reason.into(),
    }
}

/// The state of an erasure item as a person reads it.
pub fn item_status_label(status: &str, lang: Lang) -> String {
    let (ja, en) = match status {
        "pending" => ("未消去", "not erased yet"),
        "erasing" => ("消去中 (中断)", "being erased (interrupted)"),
        "zeroed" => (
            "上書き済・削除前 (中断)",
            "overwritten, not yet removed (interrupted)",
        ),
        "erased" => ("消去済", "erased"),
        "recorded" => ("破壊を記録", "destruction recorded"),
        "failed" => ("失敗 (再実行で再試行)", "failed (run again to retry)"),
        "missing" => ("消去前に消失", "gone before erasure"),
        "mismatch" => ("内容が依頼時と不一致", "not as requested"),
        "linked" => ("リンクを介している", "reached through a link"),
        "replaced" => ("別のファイルに置換", "replaced by another file"),
        other => return other.to_string(),
    };
    lang.pick(ja, en).to_string()
}

/// The state of an erasure request as a person reads it.
pub fn request_status_label(status: &str, lang: Lang) -> String {
    let (ja, en) = match status {
        "requested" => ("承認待ち", "awaiting approval"),
        "approved" => ("承認済", "approved"),
        "rejected" => ("却下", "rejected"),
        "partial" => ("一部実施 (再実行で再開)", "partly executed"),
        "incomplete" => ("実施済 (指摘あり)", "executed with findings"),
        "executed" => ("実施済", "executed"),
        other => return other.to_string(),
    };
    lang.pick(ja, en).to_string()
}

/// The kind of an erasure item as a person reads it.
pub fn item_kind_label(kind: &str, lang: Lang) -> String {
    let (ja, en) = match kind {
        "snapshot" => ("スナップショット", "snapshot"),
        "file" => ("ファイル", "file"),
        "identity" => ("秘密鍵ファイル", "identity file"),
        "medium" => ("記録媒体", "medium"),
        other => return other.to_string(),
    };
    lang.pick(ja, en).to_string()
}

/// A size as a person reads it. English: binary units (`1.5 KiB`);
/// Japanese: as Windows Explorer and the inspection sheet print them
/// (binary, three significant digits, cut not rounded: a 2 TB disk is
/// `1.81 TB`, `499 GB`), since KiB is not a word a clerk reads.
pub fn size(n: u64, lang: Lang) -> String {
    if lang == Lang::En {
        return crate::error::human_bytes(n);
    }
    const UNITS: [&str; 5] = ["バイト", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let cut = |places: i32| {
        let scale = 10f64.powi(places);
        (value * scale).floor() / scale
    };
    match unit {
        0 => format!("{n} バイト"),
        _ if value < 10.0 => format!("{:.2} {}", cut(2), UNITS[unit]),
        _ if value < 100.0 => format!("{:.1} {}", cut(1), UNITS[unit]),
        _ => format!("{:.0} {}", cut(0), UNITS[unit]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_reasons_read_in_japanese() {
        assert_eq!(retention_reason("newest", Lang::Ja), "最新");
        assert_eq!(
            retention_reason("monthly 2024-01", Lang::Ja),
            "2024年1月の月次保存"
        );
        assert_eq!(
            retention_reason("yearly 2024", Lang::Ja),
            "2024年の年次保存"
        );
        assert_eq!(
            retention_reason("monthly 2024-01", Lang::En),
            "monthly 2024-01"
        );
    }

    #[test]
    fn locale_starting_with_ja_selects_japanese() {
        assert_eq!(Lang::from_locale(Some("ja_JP.UTF-8")), Lang::Ja);
        assert_eq!(Lang::from_locale(Some("en_US.UTF-8")), Lang::En);
        assert_eq!(Lang::from_locale(Some("C")), Lang::En);
        assert_eq!(Lang::from_locale(None), Lang::En);
        // What Windows' GetUserDefaultLocaleName gives on a Japanese server.
        assert_eq!(Lang::from_locale(Some("ja-JP")), Lang::Ja);
    }

    #[test]
    fn actions_outcomes_and_sizes_read_in_japanese() {
        assert_eq!(action_label("verify.full", Lang::Ja), "全件復号検証");
        assert_eq!(action_label("verify.full", Lang::En), "full verify");
        assert_eq!(action_label("x.unknown", Lang::Ja), "x.unknown");
        assert_eq!(outcome_label("refused", Lang::Ja), "拒否");
        assert_eq!(size(512, Lang::Ja), "512 バイト");
        assert_eq!(size(1536, Lang::Ja), "1.50 KB");
        assert_eq!(size(1536, Lang::En), "1.5 KiB");
        assert_eq!(size(2_000_398_934_016, Lang::Ja), "1.81 TB");
        assert_eq!(size(536_870_912_000 - 1, Lang::Ja), "499 GB");
        assert_eq!(size(76_433_940_480, Lang::Ja), "71.1 GB");
    }
}
