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

/// Words of a title and a summary searched at most for "projets proches".
pub const MAX_NEARBY_WORDS: usize = 10;

/// French words too common to say what an action is about, left out of the words
/// compared for "projets proches" (folded, as [`tokens`] gives them). PostgreSQL's
/// `french` configuration drops them too; FTS5 has no such list.
const STOP_WORDS: &[&str] = &[
    "au", "aux", "avec", "ce", "ces", "dans", "de", "des", "du", "elle", "en", "et", "il", "la",
    "le", "les", "leur", "leurs", "ou", "or", "par", "pas", "plus", "pour", "qu", "que", "qui",
    "sa", "se", "ses", "son", "sur", "un", "une", "vos", "votre", "nos", "notre", "est", "sont",
    "ont",
];

/// The words of an action's title and summary that "projets proches" compares: folded,
/// stemmed as query words, without stop words and numbers, each once, at most
/// [`MAX_NEARBY_WORDS`] (the title's first).
pub fn nearby_words(title: &str, summary: Option<&str>) -> Vec<String> {
    let text = format!("{title} {}", summary.unwrap_or(""));
    let mut words: Vec<String> = Vec::new();
    let folded = fold(&text);
    for token in folded.split(|c: char| !c.is_alphanumeric()) {
        if token.chars().count() < 2
            || token.chars().all(|c| c.is_ascii_digit())
            || STOP_WORDS.contains(&token)
        {
            continue;
        }
        let word = stem(token).to_string();
        if !words.contains(&word) {
            words.push(word);
        }
        if words.len() == MAX_NEARBY_WORDS {
            break;
        }
    }
    words
}

/// The FTS5 `MATCH` expression finding any of `words` (each quoted; the first
/// [`MAX_PREFIX_TERMS`] of at least [`MIN_PREFIX_CHARS`] characters as prefixes, as in
/// [`fts5_query`]), ORed. `None` without words.
pub fn fts5_any(words: &[String]) -> Option<String> {
    let mut prefixes = 0;
    let terms: Vec<String> = words
        .iter()
        .map(|word| {
            let prefix = prefixes < MAX_PREFIX_TERMS && word.chars().count() >= MIN_PREFIX_CHARS;
            prefixes += usize::from(prefix);
            format!("\"{word}\"{}", if prefix { "*" } else { "" })
        })
        .collect();
    (!terms.is_empty()).then(|| terms.join(" OR "))
}

/// The text given to `websearch_to_tsquery('french', maillage_unaccent(…))` finding
/// any of `words`: the words joined by `or`, which that function reads as OR and
/// never as an error; words are letters and digits only (see [`nearby_words`], which
/// leaves the word `or` out). `None` without words.
pub fn tsquery_any(words: &[String]) -> Option<String> {
    (!words.is_empty()).then(|| words.join(" or "))
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

    #[test]
    fn nearby_words_and_queries() {
        let words = nearby_words(
            "École numérique pour les habitants (2024)",
            Some("Les écoles de Lille, en ligne ; or et numérique."),
        );
        assert_eq!(words, ["ecole", "numerique", "habitant", "lille", "ligne"]);
        assert_eq!(
            fts5_any(&words).unwrap(),
            "\"ecole\"* OR \"numerique\"* OR \"habitant\"* OR \"lille\"* OR \"ligne\""
        );
        assert_eq!(
            tsquery_any(&words).unwrap(),
            "ecole or numerique or habitant or lille or ligne"
        );
        assert!(nearby_words("« » 2024 - de la", None).is_empty());
        assert!(fts5_any(&[]).is_none() && tsquery_any(&[]).is_none());
        // Query syntax never survives.
        assert!(nearby_words("a\" OR 1=1 --", None).is_empty());
        let many = "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima";
        assert_eq!(nearby_words(many, None).len(), MAX_NEARBY_WORDS);
    }
}
