//! 和暦 (Japanese era dates) for reports and certificates, which the city's
//! forms print as 令和6年1月31日. chrono has no era calendar, so this is the
//! small table the forms need: Heisei from 1989-01-08, Reiwa from 2019-05-01,
//! and the first year of an era written 元年.

use chrono::{Datelike, NaiveDate};

/// (era name, English name, first day) from the newest back.
const ERAS: &[(&str, &str, (i32, u32, u32))] = &[
    ("令和", "Reiwa", (2019, 5, 1)),
    ("平成", "Heisei", (1989, 1, 8)),
    ("昭和", "Showa", (1926, 12, 25)),
];

/// The era and year of a date, e.g. `("令和", 6)`; `None` before Shōwa.
pub fn era_year(date: NaiveDate) -> Option<(&'static str, &'static str, i32)> {
    ERAS.iter().find_map(|(ja, en, (y, m, d))| {
        let start = NaiveDate::from_ymd_opt(*y, *m, *d)?;
        (date >= start).then(|| (*ja, *en, date.year() - y + 1))
    })
}

/// A date in 和暦: `令和6年1月31日`, `令和元年5月1日`. Dates before Shōwa fall
/// back to the Gregorian `1900年1月1日`.
pub fn format_ja(date: NaiveDate) -> String {
    match era_year(date) {
        Some((era, _, 1)) => format!("{era}元年{}月{}日", date.month(), date.day()),
        Some((era, _, year)) => format!("{era}{year}年{}月{}日", date.month(), date.day()),
        None => format!("{}年{}月{}日", date.year(), date.month(), date.day()),
    }
}

/// A date in the era calendar for English text: `Reiwa 6 (2024)-01-31`.
pub fn format_en(date: NaiveDate) -> String {
    match era_year(date) {
        Some((_, era, year)) => format!("{era} {year} ({})", date.format("%Y-%m-%d")),
        None => date.format("%Y-%m-%d").to_string(),
    }
}

/// Both calendars, as the forms print them: `令和6年1月31日 (2024-01-31)`.
pub fn format_both(date: NaiveDate) -> String {
    format!("{} ({})", format_ja(date), date.format("%Y-%m-%d"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn reiwa_begins_on_2019_05_01_with_gannen() {
        assert_eq!(format_ja(d(2019, 4, 30)), "平成31年4月30日");
        assert_eq!(format_ja(d(2019, 5, 1)), "令和元年5月1日");
        assert_eq!(format_ja(d(2019, 12, 31)), "令和元年12月31日");
        assert_eq!(format_ja(d(2020, 1, 1)), "令和2年1月1日");
        assert_eq!(format_ja(d(2024, 1, 31)), "令和6年1月31日");
    }

    #[test]
    fn heisei_begins_on_1989_01_08_with_gannen() {
        assert_eq!(format_ja(d(1989, 1, 7)), "昭和64年1月7日");
        assert_eq!(format_ja(d(1989, 1, 8)), "平成元年1月8日");
        assert_eq!(format_ja(d(1990, 1, 1)), "平成2年1月1日");
    }

    #[test]
    fn english_and_combined_forms_keep_the_gregorian_date() {
        assert_eq!(format_en(d(2024, 1, 31)), "Reiwa 6 (2024-01-31)");
        assert_eq!(format_both(d(2024, 3, 31)), "令和6年3月31日 (2024-03-31)");
        assert_eq!(format_ja(d(1900, 1, 1)), "1900年1月1日");
    }
}
