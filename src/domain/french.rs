//! French numbers and counts for every layer that writes to people (pages, CLI,
//! import reports): thousands separated by a narrow no-break space ("230 890"), nouns
//! agreeing with their count ("1 action", "3 actions", never "action(s)").
//! `web::words` re-exports them beside the dates.

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

/// "0 action", "1 action", "3 actions": French puts 0 and 1 in the singular.
pub fn count(n: i64, singular: &str, plural: &str) -> String {
    format!(
        "{} {}",
        number(n),
        if n.abs() < 2 { singular } else { plural }
    )
}
