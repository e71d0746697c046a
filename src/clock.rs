//! The clock, which rehearsals and tests replace with `KURA_NOW`.
//!
//! Snapshot ids, schedules, retention and reports follow [`Clock::now`]; events
//! that must also say when they really happened use [`Clock::real_now`].

use chrono::{DateTime, Local, Utc};

use crate::error::{Error, Result};
use crate::i18n::Lang;

/// The time kura acts at.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    now: DateTime<Utc>,
    overridden: bool,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock {
            now: Utc::now(),
            overridden: false,
        }
    }

    /// The clock given by an RFC 3339 `KURA_NOW` value, or the system clock.
    pub fn from_env_value(value: Option<&str>) -> Result<Clock> {
        match value {
            None => Ok(Clock::system()),
            Some(text) if text.trim().is_empty() => Ok(Clock::system()),
            Some(text) => DateTime::parse_from_rfc3339(text.trim())
                .map(|t| Clock {
                    now: t.with_timezone(&Utc),
                    overridden: true,
                })
                .map_err(|e| Error::BadClock {
                    value: text.to_string(),
                    detail: e.to_string(),
                }),
        }
    }

    /// A fixed clock, as if `KURA_NOW` were set.
    pub fn fixed(now: DateTime<Utc>) -> Clock {
        Clock {
            now,
            overridden: true,
        }
    }

    /// Now, in UTC: the real time, or under `KURA_NOW` the given time, which
    /// stands still for the whole run so ids and months are reproducible.
    pub fn now(&self) -> DateTime<Utc> {
        if self.overridden {
            self.now
        } else {
            Utc::now()
        }
    }

    /// Now, in the machine's local time zone.
    pub fn local(&self) -> DateTime<Local> {
        self.now().with_timezone(&Local)
    }

    /// The real time, whatever `KURA_NOW` says.
    pub fn real_now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Whether `KURA_NOW` replaced the clock.
    pub fn is_overridden(&self) -> bool {
        self.overridden
    }

    /// Under `KURA_NOW`, the real time in local time as RFC 3339, for the
    /// documents that must say when they were really made; else `None`.
    pub fn real_time_if_overridden(&self) -> Option<String> {
        self.overridden.then(|| {
            self.real_now()
                .with_timezone(&Local)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        })
    }
}

/// The banner of every document made under `KURA_NOW` (report, receipt):
/// it says the clock was replaced and when the document was really made.
pub fn rehearsal_banner(real_time: &str, lang: Lang) -> String {
    match lang {
        Lang::Ja => {
            format!("リハーサル: 時計が KURA_NOW で置き換えられています (実時刻 {real_time})")
        }
        Lang::En => {
            format!("Rehearsal: the clock was replaced by KURA_NOW (real time {real_time})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kura_now_overrides_the_clock_and_says_so() {
        let c = Clock::from_env_value(Some("2024-01-31T01:02:03Z")).unwrap();
        assert!(c.is_overridden());
        assert_eq!(c.now().to_rfc3339(), "2024-01-31T01:02:03+00:00");
        assert!(!Clock::from_env_value(None).unwrap().is_overridden());
    }

    #[test]
    fn malformed_kura_now_is_a_usage_error() {
        let e = Clock::from_env_value(Some("yesterday")).unwrap_err();
        assert_eq!(e.exit_code().code(), 2);
    }
}
