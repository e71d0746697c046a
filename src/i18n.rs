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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_starting_with_ja_selects_japanese() {
        assert_eq!(Lang::from_locale(Some("ja_JP.UTF-8")), Lang::Ja);
        assert_eq!(Lang::from_locale(Some("en_US.UTF-8")), Lang::En);
        assert_eq!(Lang::from_locale(Some("C")), Lang::En);
        assert_eq!(Lang::from_locale(None), Lang::En);
        // What Windows' GetUserDefaultLocaleName gives on a Japanese server.
        assert_eq!(Lang::from_locale(Some("ja-JP")), Lang::Ja);
    }
}
