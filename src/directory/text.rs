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

/// Longest full-text query, in characters: a longer `q` is refused (`422` naming `q`).
pub const MAX_QUERY_CHARS: usize = 200;
/// Words of a query searched at most (the first ones; the others are ignored).
pub const MAX_TERMS: usize = 8;
/// Words searched by prefix at most on SQLite (the first long enough ones); the others
/// must match a whole word. Each prefix reads every indexed word it starts.
pub const MAX_PREFIX_TERMS: usize = 4;
/// Shortest word searched by prefix: a shorter one must match a whole word (`de`
/// does not find `des` or `demarche`, which would read most of the index).
pub const MIN_PREFIX_CHARS: usize = 3;

/// Words of a query: folded, split on anything not a letter or a digit, at most
/// [`MAX_TERMS`], without one-letter words.
pub fn tokens(query: &str) -> Vec<String> {
    fold(query)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| t.chars().count() > 1)
        .take(MAX_TERMS)
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

/// The query's words (stemmed), each with whether it is searched by prefix: the
/// first [`MAX_PREFIX_TERMS`] words of at least [`MIN_PREFIX_CHARS`] characters.
fn terms(query: &str) -> Vec<(String, bool)> {
    let mut prefixes = 0;
    tokens(query)
        .iter()
        .map(|t| {
            let word = stem(t).to_string();
            let prefix = prefixes < MAX_PREFIX_TERMS && word.chars().count() >= MIN_PREFIX_CHARS;
            prefixes += usize::from(prefix);
            (word, prefix)
        })
        .collect()
}

/// The estimated cost of searching `query`'s text, in units of the search-cost limit
/// (`directory.search_cost_per_minute`): 0 without words (no full-text search), else
/// 1, plus 1 per whole word, plus per prefix word 2 to 4 (the shorter the prefix, the
/// more indexed words it reads: 4 for 3 characters, 3 for 4, 2 beyond).
pub fn cost(query: &str) -> u32 {
    let terms = terms(query);
    if terms.is_empty() {
        return 0;
    }
    1 + terms
        .iter()
        .map(|(word, prefix)| match (prefix, word.chars().count()) {
            (false, _) => 1,
            (true, 0..=3) => 4,
            (true, 4) => 3,
            (true, _) => 2,
        })
        .sum::<u32>()
}

/// The FTS5 `MATCH` expression for `query`: every word quoted, the first ones as
/// prefixes (see [`MAX_PREFIX_TERMS`]), ANDed (`"ecole"* "numerique"* "de"`).
/// `None` when the query has no word.
pub fn fts5_query(query: &str) -> Option<String> {
    let words: Vec<String> = terms(query)
        .iter()
        .map(|(word, prefix)| format!("\"{word}\"{}", if *prefix { "*" } else { "" }))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The text given to `plainto_tsquery('french', maillage_unaccent(…))` for `query`:
/// the words, space-separated; `plainto_tsquery` ANDs them and reads no operator, so
/// no character of the query (nor what `unaccent` turns it into: `ː` becomes `:`,
/// `⑴` becomes `(1)`) can make tsquery syntax. The `french` stemmer folds plurals
/// there, so no prefix match: a prefix of a stem (`numer:*`) would also find
/// `numérisation`, which FTS5 does not. `None` when the query has no word.
pub fn tsquery(query: &str) -> Option<String> {
    let words: Vec<String> = terms(query).into_iter().map(|(word, _)| word).collect();
    (!words.is_empty()).then(|| words.join(" "))
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
        assert_eq!(tsquery("écoles numérique").unwrap(), "ecole numerique");
        assert_eq!(fts5_query("l'école").unwrap(), "\"ecole\"*");
        assert!(fts5_query("  ' \" * ").is_none());
        assert_eq!(tsquery("bus"), Some("bus".into()));
        // Nothing of the query syntax survives tokenisation.
        assert_eq!(fts5_query("a\" OR 1=1 --").unwrap(), "\"or\"");
    }

    #[test]
    fn search_cost_is_bounded() {
        // Short words match whole; four prefixes at most; eight words at most.
        assert_eq!(
            fts5_query("de la ville numérique").unwrap(),
            "\"de\" \"la\" \"ville\"* \"numerique\"*"
        );
        let many = "alpha bravo charlie delta echo foxtrot golf hotel india juliett";
        assert_eq!(
            fts5_query(many).unwrap(),
            "\"alpha\"* \"bravo\"* \"charlie\"* \"delta\"* \"echo\" \"foxtrot\" \"golf\" \"hotel\""
        );
        assert_eq!(cost(""), 0);
        assert_eq!(cost("' ;"), 0);
        assert_eq!(cost("bus"), 5);
        assert_eq!(cost("numérique"), 3);
        assert_eq!(cost(many), 1 + 4 * 2 + 4);
        assert!(cost("abc abd abe abf abg abh abi abj abk") <= 1 + 4 * 4 + 4);
    }
}
