//! Retention: which snapshots the policy keeps, as pure code.
//!
//! `keep_monthly = N` keeps the newest snapshot of each of the N most recent
//! months that have a snapshot; `keep_yearly = M` the newest of each of the M
//! most recent years that have one; the newest snapshot of all is always kept.
//! Months count only when they hold a snapshot (as restic and borg count), so a
//! stretch without backups — a disk away for repair — never makes older
//! snapshots expire faster. Months are the snapshot's own `month` (local time).
//!
//! Nothing here deletes: `kura prune` turns the result into one erasure request.

use serde::Serialize;

/// A snapshot as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Snapshot id (UTC start time; sorts in time order).
    pub id: String,
    /// `YYYY-MM`, local time.
    pub month: String,
}

/// What retention decides for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Snapshot id.
    pub id: String,
    /// Its month.
    pub month: String,
    /// Whether it is kept.
    pub keep: bool,
    /// Why it is kept (empty when it goes), e.g. `newest`, `monthly 2024-01`.
    pub reasons: Vec<String>,
}

/// Decides, newest first, which snapshots to keep.
pub fn select(snapshots: &[Candidate], keep_monthly: u32, keep_yearly: u32) -> Vec<Decision> {
    let mut sorted: Vec<&Candidate> = snapshots.iter().collect();
    sorted.sort_by(|a, b| b.id.cmp(&a.id));
    sorted.dedup_by(|a, b| a.id == b.id);
    let mut months_seen: Vec<&str> = Vec::new();
    let mut years_seen: Vec<&str> = Vec::new();
    sorted
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut reasons = Vec::new();
            if i == 0 {
                reasons.push("newest".to_string());
            }
            let month = s.month.as_str();
            let year = month.get(..4).unwrap_or(month);
            if !months_seen.contains(&month) {
                months_seen.push(month);
                if months_seen.len() as u32 <= keep_monthly {
                    reasons.push(format!("monthly {month}"));
                }
            }
            if !years_seen.contains(&year) {
                years_seen.push(year);
                if years_seen.len() as u32 <= keep_yearly {
                    reasons.push(format!("yearly {year}"));
                }
            }
            Decision {
                id: s.id.clone(),
                month: s.month.clone(),
                keep: !reasons.is_empty(),
                reasons,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, month: &str) -> Candidate {
        Candidate {
            id: id.into(),
            month: month.into(),
        }
    }

    fn kept(d: &[Decision]) -> Vec<&str> {
        d.iter().filter(|d| d.keep).map(|d| d.id.as_str()).collect()
    }

    #[test]
    fn keeps_the_newest_of_each_of_the_last_n_months_across_a_year_boundary() {
        let snaps = [
            c("20231101T010000Z", "2023-11"),
            c("20231201T010000Z", "2023-12"),
            c("20231215T010000Z", "2023-12"),
            c("20240101T010000Z", "2024-01"),
            c("20240201T010000Z", "2024-02"),
        ];
        let d = select(&snaps, 3, 0);
        assert_eq!(
            kept(&d),
            ["20240201T010000Z", "20240101T010000Z", "20231215T010000Z"]
        );
        let gone: Vec<_> = d
            .iter()
            .filter(|d| !d.keep)
            .map(|d| d.id.as_str())
            .collect();
        assert_eq!(gone, ["20231201T010000Z", "20231101T010000Z"]);
    }

    #[test]
    fn months_without_snapshots_do_not_count() {
        // January to May missing (disk away): December stays within 2 months.
        let snaps = [
            c("20231201T010000Z", "2023-12"),
            c("20240601T010000Z", "2024-06"),
        ];
        assert_eq!(kept(&select(&snaps, 2, 0)).len(), 2);
    }

    #[test]
    fn uneven_months_and_several_snapshots_a_month() {
        let snaps = [
            c("20240131T230000Z", "2024-02"), // 08:00 JST on 1 February
            c("20240229T010000Z", "2024-02"),
            c("20240301T010000Z", "2024-03"),
            c("20240331T010000Z", "2024-03"),
        ];
        let d = select(&snaps, 2, 0);
        assert_eq!(kept(&d), ["20240331T010000Z", "20240229T010000Z"]);
    }

    #[test]
    fn yearly_keeps_the_newest_of_each_year_and_the_newest_is_always_kept() {
        let snaps = [
            c("20220601T010000Z", "2022-06"),
            c("20221201T010000Z", "2022-12"),
            c("20230601T010000Z", "2023-06"),
            c("20231201T010000Z", "2023-12"),
            c("20240101T010000Z", "2024-01"),
        ];
        let d = select(&snaps, 0, 2);
        assert_eq!(kept(&d), ["20240101T010000Z", "20231201T010000Z"]);
        assert_eq!(d[0].reasons, ["newest", "yearly 2024"]);
        assert_eq!(kept(&select(&snaps, 0, 0)), ["20240101T010000Z"]);
        assert_eq!(kept(&select(&snaps, 0, 3)).len(), 3);
    }

    #[test]
    fn nothing_in_nothing_out() {
        assert!(select(&[], 12, 1).is_empty());
    }
}
