//! A stemming token filter that remembers the stems it has computed.
//!
//! Snowball stemming was the largest single cost of indexing (BENCHMARKS.md), and the
//! words of posts follow Zipf's law: a few thousand words make up most of every text.
//! This filter gives the stems of tantivy's own `Stemmer` (the same frostem algorithms;
//! for Dutch the Porter variant, see [`algorithm`]), looked up in a table shared by
//! every clone of the analyzer: tantivy
//! clones analyzers for every segment it writes and every query it parses, so a table
//! per clone would start cold at each commit.
//!
//! The table is read under a shared lock held for one text; the new stems a text brings
//! are added when it is done, only if the lock is free at once, so indexing threads
//! never wait for each other. The table stops growing at [`MAX_STEMS`] words (the
//! frequent words arrive first); later words are stemmed each time, as without it.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use frostem::Algorithm;
use rustc_hash::FxHashMap;
use tantivy::tokenizer::{Language, Token, TokenFilter, TokenStream, Tokenizer};

/// Words remembered per language: about 2 MB each when full.
pub const MAX_STEMS: usize = 30_000;

/// Words longer than this are rare (compounds, names): not worth a table entry.
const MAX_REMEMBERED_LEN: usize = 24;

type StemTable = FxHashMap<String, String>;

/// Token filter: stems lower-cased tokens like tantivy's `Stemmer`, remembering them.
#[derive(Clone)]
pub struct CachedStemmer {
    stemmer: frostem::Stemmer,
    table: Arc<RwLock<StemTable>>,
}

impl CachedStemmer {
    pub fn new(language: Language) -> CachedStemmer {
        CachedStemmer {
            stemmer: frostem::Stemmer::new(algorithm(language)),
            table: Arc::default(),
        }
    }

    /// Words remembered so far.
    pub fn remembered(&self) -> usize {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// tantivy keeps its own language-to-algorithm mapping private; this one covers the
/// languages the schema stems ([`super::schema::FAMILIES`]). Dutch is stemmed with
/// Snowball's Porter variant, which takes no prefix off: the current Dutch algorithm
/// takes "ge-" off, and "gezin" (family) became "zin" (sentence), "gehoor" (the asylum
/// interview) "hoor" (as in "leuk hoor"), "gemeente" "meen". A participle ("gewacht")
/// is then not found by its verb ("wachten"), nor "gezinnen" by "gezin" (`gezin*` is):
/// the lesser loss where the procedure's own words are at stake.
fn algorithm(language: Language) -> Algorithm {
    match language {
        Language::Arabic => Algorithm::Arabic,
        Language::Danish => Algorithm::Danish,
        Language::Dutch => Algorithm::DutchPorter,
        Language::English => Algorithm::English,
        Language::Finnish => Algorithm::Finnish,
        Language::French => Algorithm::French,
        Language::German => Algorithm::German,
        Language::Greek => Algorithm::Greek,
        Language::Hungarian => Algorithm::Hungarian,
        Language::Italian => Algorithm::Italian,
        Language::Norwegian => Algorithm::Norwegian,
        Language::Portuguese => Algorithm::Portuguese,
        Language::Romanian => Algorithm::Romanian,
        Language::Russian => Algorithm::Russian,
        Language::Spanish => Algorithm::Spanish,
        Language::Swedish => Algorithm::Swedish,
        Language::Tamil => Algorithm::Tamil,
        Language::Turkish => Algorithm::Turkish,
    }
}

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            stemmer: self.stemmer,
            table: self.table,
            inner,
        }
    }
}

#[derive(Clone)]
pub struct CachedStemmerFilter<T> {
    stemmer: frostem::Stemmer,
    table: Arc<RwLock<StemTable>>,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            stemmer: self.stemmer,
            known: Some(self.table.read().unwrap_or_else(PoisonError::into_inner)),
            table: &self.table,
            learned: Vec::new(),
        }
    }
}

pub struct CachedStemmerStream<'a, T> {
    tail: T,
    stemmer: frostem::Stemmer,
    /// The shared table, read-locked while this text is tokenised.
    known: Option<RwLockReadGuard<'a, StemTable>>,
    table: &'a RwLock<StemTable>,
    /// Stems computed for this text, added to the table when it is done.
    learned: Vec<(String, String)>,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if let Some(stem) = self.known.as_ref().and_then(|k| k.get(&token.text)) {
            token.text.clear();
            token.text.push_str(stem);
            return true;
        }
        let stem = self.stemmer.stem(&token.text).into_owned();
        if token.text.len() <= MAX_REMEMBERED_LEN {
            self.learned
                .push((std::mem::replace(&mut token.text, stem.clone()), stem));
        } else {
            token.text = stem;
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

impl<T> Drop for CachedStemmerStream<'_, T> {
    fn drop(&mut self) {
        // The read lock must go before the write lock is tried.
        self.known = None;
        if self.learned.is_empty() {
            return;
        }
        // Never wait: another thread holding the table only means these stems are
        // computed again next time.
        let Ok(mut table) = self.table.try_write() else {
            return;
        };
        for (word, stem) in self.learned.drain(..) {
            if table.len() >= MAX_STEMS {
                break;
            }
            table.insert(word, stem);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{LowerCaser, SimpleTokenizer, Stemmer, TextAnalyzer};

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        analyzer
            .token_stream(text)
            .process(&mut |t: &Token| out.push(t.text.clone()));
        out
    }

    const TEXTS: &[(Language, &str)] = &[
        (
            Language::Dutch,
            "Ik wacht al veertien maanden op mijn beslissing; de wachttijden bij de IND \
             zijn onacceptabel en de gehoren worden steeds uitgesteld. Wachten, wachten.",
        ),
        (
            Language::English,
            "The interpreters kept interrupting; interviews were rescheduled twice and \
             nobody answered the phone. Running, runs, ran.",
        ),
        (
            Language::Arabic,
            "المترجمون لم يفهموا لهجتي في المقابلة مع المترجم",
        ),
        (
            Language::Turkish,
            "Görüşmelerde tercümanlar lehçemi anlamadılar, görüşme",
        ),
        (
            Language::Russian,
            "Переводчики не понимали мой диалект, переводчик",
        ),
    ];

    #[test]
    fn gives_the_stems_of_tantivys_own_stemmer_cold_and_warm() {
        for (language, text) in TEXTS {
            let cached = CachedStemmer::new(*language);
            let mut ours = TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(LowerCaser)
                .filter(cached.clone())
                .build();
            let mut theirs = TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(LowerCaser)
                .filter(Stemmer::new(*language))
                .build();
            let expected = if *language == Language::Dutch {
                let porter = frostem::Stemmer::new(Algorithm::DutchPorter);
                let mut words = TextAnalyzer::builder(SimpleTokenizer::default())
                    .filter(LowerCaser)
                    .build();
                let words = tokens(&mut words, text);
                words.iter().map(|w| porter.stem(w).into_owned()).collect()
            } else {
                tokens(&mut theirs, text)
            };
            assert_eq!(tokens(&mut ours, text), expected, "cold, {language:?}");
            assert!(cached.remembered() > 0, "{language:?} learned nothing");
            // Second time from the table, and through a clone as tantivy makes them.
            let mut clone = ours.clone();
            assert_eq!(tokens(&mut clone, text), expected, "warm, {language:?}");
        }
    }

    /// Dutch takes no "ge-" off: the procedure's words stay apart from everyday ones.
    #[test]
    fn dutch_keeps_a_word_apart_from_the_word_without_ge() {
        let mut dutch = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(CachedStemmer::new(Language::Dutch))
            .build();
        let stem = |analyzer: &mut TextAnalyzer, word: &str| tokens(analyzer, word).join(" ");
        for (word, other) in [
            ("gezin", "zin"),
            ("gehoor", "hoor"),
            ("gerecht", "recht"),
            ("gewoon", "woon"),
        ] {
            assert_ne!(stem(&mut dutch, word), stem(&mut dutch, other), "{word}");
        }
        // Inflections still meet.
        assert_eq!(stem(&mut dutch, "wachten"), stem(&mut dutch, "wacht"));
        assert_eq!(stem(&mut dutch, "gehoren"), stem(&mut dutch, "gehoor"));
        assert_eq!(
            stem(&mut dutch, "beslissingen"),
            stem(&mut dutch, "beslissing")
        );
    }

    #[test]
    fn the_table_is_shared_by_clones_and_bounded() {
        let cached = CachedStemmer::new(Language::English);
        let mut a = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(cached.clone())
            .build();
        let mut b = a.clone();
        tokens(&mut a, "walking talking");
        assert_eq!(cached.remembered(), 2);
        tokens(&mut b, "walking singing");
        assert_eq!(cached.remembered(), 3, "a clone adds to the same table");
        let many: String = (0..MAX_STEMS + 100).map(|i| format!("w{i}x ")).collect();
        tokens(&mut a, &many);
        assert_eq!(cached.remembered(), MAX_STEMS);
        // Long words are stemmed, not remembered.
        let long = "onderzoeksverplichtingenbeleidsmedewerkers";
        let stems = tokens(&mut b, long);
        assert_eq!(stems.len(), 1);
    }
}
