//! Search terms: a product is found when every word of the query is a prefix of some word
//! of its name, case-insensitively ("blue mu" finds "Blue Mug"; "머그" finds "머그컵 세트").

use std::collections::BTreeSet;

/// Longest prefix indexed; longer query words match on their first 20 characters.
pub const MAX_TERM_CHARS: usize = 20;
/// More query words than this are ignored (each costs a semi-join).
pub const MAX_QUERY_WORDS: usize = 8;

/// Lower-cased words: runs of letters and digits (any script).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn prefix(word: &str, chars: usize) -> String {
    word.chars().take(chars).collect()
}

/// Every prefix (1..=20 characters) of every word of a product name.
pub fn index_terms(name: &str) -> BTreeSet<String> {
    let mut terms = BTreeSet::new();
    for word in words(name) {
        let n = word.chars().count().min(MAX_TERM_CHARS);
        for len in 1..=n {
            terms.insert(prefix(&word, len));
        }
    }
    terms
}

/// The terms a query must all match; empty for a query without words (lists everything).
pub fn query_terms(q: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    words(q)
        .into_iter()
        .map(|w| prefix(&w, MAX_TERM_CHARS))
        .filter(|w| seen.insert(w.clone()))
        .take(MAX_QUERY_WORDS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finds(name: &str, q: &str) -> bool {
        let terms = index_terms(name);
        query_terms(q).iter().all(|t| terms.contains(t))
    }

    #[test]
    fn every_query_word_must_prefix_a_name_word() {
        assert!(finds("Blue Mug", "blue mu"));
        assert!(finds("Blue Mug", "MUG"));
        assert!(finds("Blue Mug", "mu bl"));
        assert!(!finds("Blue Mug", "lue"));
        assert!(!finds("Blue Mug", "blue cup"));
    }

    #[test]
    fn korean_and_short_words_are_found() {
        assert!(finds("머그 컵 세트", "머그"));
        assert!(finds("머그컵 세트", "머그"));
        assert!(finds("A4 paper", "a"));
        assert!(!finds("머그컵", "컵"));
    }

    #[test]
    fn punctuation_splits_words_and_long_words_match_on_their_prefix() {
        assert!(finds("T-shirt (XL)", "shirt xl"));
        assert!(finds("Supercalifragilisticexpialidocious", "supercalifragilisticexpi"));
        assert!(query_terms("  ...  ").is_empty());
        assert_eq!(query_terms("mug MUG mu").len(), 2);
    }
}
