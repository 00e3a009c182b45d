//! How the pages write numbers, counts and dates in French: thousands separated by a
//! narrow no-break space ("230 890"), nouns agreeing with their count ("1 action",
//! "3 actions", never "action(s)"), months by name ("décembre 2026").

use chrono::{DateTime, Utc};

pub use crate::domain::french::{count, date, day, number};

use crate::domain::french::MONTHS;

/// `2026-12` → "décembre 2026"; anything else is returned as it is.
pub fn month(key: &str) -> String {
    let parsed = key.split_once('-').and_then(|(year, month)| {
        let month: usize = month.parse().ok()?;
        Some((year, MONTHS.get(month.checked_sub(1)?)?))
    });
    match parsed {
        Some((year, name)) => format!("{name} {year}"),
        None => key.to_string(),
    }
}

/// A moment as "7 décembre 2026 à 14 h 05", in the server's local time.
pub fn date_time(moment: DateTime<Utc>) -> String {
    use chrono::Timelike;
    let local = moment.with_timezone(&chrono::Local);
    format!(
        "{} à {} h {:02}",
        date(local.naive_local().and_utc()),
        local.hour(),
        local.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_counts_and_months() {
        assert_eq!(number(230890), "230\u{202f}890");
        assert_eq!(number(999), "999");
        assert_eq!(number(-1234567), "-1\u{202f}234\u{202f}567");
        assert_eq!(count(0, "action", "actions"), "0 action");
        assert_eq!(count(1, "collectivité", "collectivités"), "1 collectivité");
        assert_eq!(count(3, "collectivité", "collectivités"), "3 collectivités");
        assert_eq!(count(1500, "action", "actions"), "1\u{202f}500 actions");
        assert_eq!(month("2026-12"), "décembre 2026");
        assert_eq!(month("2026-01"), "janvier 2026");
        assert_eq!(month("2026-13"), "2026-13");
        assert_eq!(month("n/a"), "n/a");
        let day_of = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(day(day_of(2026, 12, 7)), "7 décembre 2026");
        assert_eq!(day(day_of(2027, 3, 1)), "1er mars 2027");
    }
}
