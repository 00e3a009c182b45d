//! Text for the directory's search: folding (case and accents), tokens, a light French
//! plural stemmer for query words, and the query syntax of each engine. Both engines
//! get the same tokens, so "école numérique", "ecole numerique" and "écoles
//! numériques" find the same actions on SQLite (FTS5 prefix queries over folded text)
//! and on PostgreSQL (`french` stemming over `unaccent`ed text).

use unicode_normalization::UnicodeNormalization;

/// Lowercase, accents removed, `œ`/`æ` spelled out: the key used to compare names
/// (software, providers) across nodes.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'œ' => "oe".to_string(),
            'æ' => "ae".to_string(),
            other => other.to_string(),
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Words of a query: folded, split on anything not a letter or a digit, at most 12,
/// without one-letter words.
pub fn tokens(query: &str) -> Vec<String> {
    fold(query)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| t.chars().count() > 1)
        .take(12)
        .map(str::to_string)
        .collect()
}

/// A light French plural stemmer for query words: `écoles` → `ecole`, `numériques` →
/// `numerique`, `travaux` → `travau`; short words are left alone. Searching by prefix
/// then finds singular and plural forms alike.
pub fn stem(token: &str) -> &str {
    if token.chars().count() > 3 && (token.ends_with('s') || token.ends_with('x')) {
        &token[..token.len() - 1]
    } else {
        token
    }
}

/// The FTS5 `MATCH` expression for `query`: every word, as a prefix (`"ecole"*
/// "numerique"*`, an implicit AND). `None` when the query has no word.
pub fn fts5_query(query: &str) -> Option<String> {
    let words: Vec<String> = tokens(query)
        .iter()
        .map(|t| format!("\"{}\"*", stem(t)))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The `to_tsquery('french', …)` text for `query`: every word, ANDed (`ecole &
/// numerique`). The `french` stemmer folds plurals there, so no prefix match: a prefix
/// of a stem (`numer:*`) would also find `numérisation`, which FTS5 does not.
/// `None` when the query has no word.
pub fn tsquery(query: &str) -> Option<String> {
    let words: Vec<String> = tokens(query).iter().map(|t| stem(t).to_string()).collect();
    (!words.is_empty()).then(|| words.join(" & "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        assert_eq!(fold("École  NUMÉRIQUE"), "ecole numerique");
        assert_eq!(fold("Cœur de ville"), "coeur de ville");
        assert_eq!(fold("Démarches simplifiées"), "demarches simplifiees");
    }

    #[test]
    fn queries() {
        assert_eq!(
            fts5_query("Écoles numériques").unwrap(),
            "\"ecole\"* \"numerique\"*"
        );
        assert_eq!(tsquery("écoles numérique").unwrap(), "ecole & numerique");
        assert_eq!(fts5_query("l'école").unwrap(), "\"ecole\"*");
        assert!(fts5_query("  ' \" * ").is_none());
        assert_eq!(tsquery("bus"), Some("bus".into()));
        // Nothing of the query syntax survives tokenisation.
        assert_eq!(fts5_query("a\" OR 1=1 --").unwrap(), "\"or\"*");
    }
}
