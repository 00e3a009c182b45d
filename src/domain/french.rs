//! French numbers, counts and dates for every layer that writes to people (pages, API
//! and CLI messages, import reports): thousands separated by a narrow no-break space
//! ("230 890"), nouns agreeing with their count ("1 action", "3 actions", never
//! "action(s)"), days with their month by name ("7 décembre 2026"). `web::words`
//! re-exports them beside the pages' own forms.

use chrono::{DateTime, Utc};

/// The months, January first.
pub const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// `230890` → "230 890" (U+202F between groups of three digits, French typography).
pub fn number(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    if value < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// A date as "7 décembre 2026".
pub fn date(date: DateTime<Utc>) -> String {
    day(date.date_naive())
}

/// A day as "7 décembre 2026", "1er mars 2027" (French writes the first as "1er").
pub fn day(day: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let number = match day.day() {
        1 => "1er".to_string(),
        n => n.to_string(),
    };
    format!("{number} {} {}", MONTHS[day.month0() as usize], day.year())
}

/// "a été supprimée le 7 décembre 2026": how every message says when something
/// (an action, a collectivité: feminine nouns) was deleted.
pub fn deleted_on(when: DateTime<Utc>) -> String {
    format!("a été supprimée le {}", date(when))
}

/// "0 action", "1 action", "3 actions": French puts 0 and 1 in the singular.
pub fn count(n: i64, singular: &str, plural: &str) -> String {
    format!(
        "{} {}",
        number(n),
        if n.abs() < 2 { singular } else { plural }
    )
}
