//! What the analyzers do beyond tantivy's own filters, so that a word is found however
//! its writer's keyboard spelled it:
//!
//! - [`ScriptFolding`]: one form for letters that writers use for each other. Turkish
//!   `İ` lower-cases to `i` plus a combining dot, which made "İltica" another word than
//!   "iltica"; Persian is typed with the Arabic `ي`/`ك` as often as with `ی`/`ک`; Arabic
//!   writes the alef with or without hamza, and vowel marks or the stretching tatweel
//!   now and then; Russian mostly writes `е` for `ё`; Arabic-Indic and Persian digits
//!   are digits. Run before the stemmers, which expect the Arabic forms.
//! - [`ArabicConjunction`]: "and" (و) and "so" (ف) are written joined to the word after
//!   them, and the Arabic stemmer leaves them on a word with the article (it cannot tell
//!   them from a root's first letter before an alef): "والمحامي" (and the lawyer) was
//!   another word than "المحامي". Taken off there, as light stemmers (Larkey's light10)
//!   do, on words long enough that the rest is an article and a word of three letters.
//! - [`PlaceholderTokenizer`]: the redaction's placeholders (`[name]`, `[phone]`, …) are
//!   no words of the post: a search for "name" or "address" must not find every post
//!   whose writer's name or address was taken out. They are blanked before the words are
//!   split (keeping every byte offset, which the snippets' highlighting reads).

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// The placeholders the redaction writes (see `pipeline::redact`).
pub const PLACEHOLDERS: &[&str] = &[
    "[name]",
    "[email]",
    "[phone]",
    "[iban]",
    "[v-number]",
    "[bsn]",
    "[address]",
    "[postcode]",
    "[plate]",
    "[birthdate]",
    "[id-number]",
];

/// Splits words ([`WordStream`]), after blanking [`PLACEHOLDERS`].
#[derive(Clone, Default)]
pub struct PlaceholderTokenizer {
    token: Token,
    blanked: String,
}

impl Tokenizer for PlaceholderTokenizer {
    type TokenStream<'a> = WordStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        self.token.reset();
        let text = if text.contains('[') {
            self.blanked.clear();
            self.blanked.push_str(text);
            blank_placeholders(&mut self.blanked);
            &self.blanked
        } else {
            text
        };
        WordStream {
            text,
            at: 0,
            token: &mut self.token,
        }
    }
}

/// The words of a text: runs of letters and digits, as tantivy's `SimpleTokenizer`
/// splits them, but not at a zero-width non-joiner between two of them. Persian writes
/// one inside many words ("می‌کنم", I do) as often as it leaves it out ("میکنم");
/// [`ScriptFolding`] drops it, so that both are one word.
pub struct WordStream<'a> {
    text: &'a str,
    at: usize,
    token: &'a mut Token,
}

impl WordStream<'_> {
    /// Where the word that begins at `start` ends.
    fn word_end(&self, start: usize) -> usize {
        let mut end = start;
        let mut chars = self.text[start..].char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c.is_alphanumeric() {
                end = start + i + c.len_utf8();
            } else if c != ZWNJ || !chars.peek().is_some_and(|(_, next)| next.is_alphanumeric()) {
                break;
            }
        }
        end
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        self.token.position = self.token.position.wrapping_add(1);
        let Some(found) = self.text[self.at..].find(char::is_alphanumeric) else {
            self.at = self.text.len();
            return false;
        };
        let start = self.at + found;
        let end = self.word_end(start);
        self.token.offset_from = start;
        self.token.offset_to = end;
        self.token.text.push_str(&self.text[start..end]);
        self.at = end;
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The zero-width non-joiner.
const ZWNJ: char = '\u{200c}';

/// Whether `c` may be part of a word as the query's grammar reads one (`word*`): a letter,
/// a digit or the zero-width non-joiner ([`WordStream`]).
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == ZWNJ
}

/// Replaces every placeholder in `text` with as many spaces (ASCII for ASCII: offsets
/// stay as they were).
fn blank_placeholders(text: &mut String) {
    for placeholder in PLACEHOLDERS {
        while let Some(at) = text.find(placeholder) {
            text.replace_range(at..at + placeholder.len(), &" ".repeat(placeholder.len()));
        }
    }
}

/// The token filter of [`ScriptFolding`]; see the module.
#[derive(Clone, Copy, Default)]
pub struct ScriptFolding;

impl TokenFilter for ScriptFolding {
    type Tokenizer<T: Tokenizer> = ScriptFoldingFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> Self::Tokenizer<T> {
        ScriptFoldingFilter {
            tokenizer,
            buffer: String::new(),
        }
    }
}

#[derive(Clone)]
pub struct ScriptFoldingFilter<T> {
    tokenizer: T,
    buffer: String,
}

impl<T: Tokenizer> Tokenizer for ScriptFoldingFilter<T> {
    type TokenStream<'a> = ScriptFoldingStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        ScriptFoldingStream {
            tail: self.tokenizer.token_stream(text),
            buffer: &mut self.buffer,
        }
    }
}

pub struct ScriptFoldingStream<'a, T> {
    tail: T,
    buffer: &'a mut String,
}

impl<T: TokenStream> TokenStream for ScriptFoldingStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if !token.text.is_ascii() && token.text.chars().any(|c| fold(c) != Some(c)) {
            self.buffer.clear();
            self.buffer.extend(token.text.chars().filter_map(fold));
            std::mem::swap(&mut token.text, self.buffer);
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

/// The token filter of [`ArabicConjunction`]; see the module. For the Arabic analyzer
/// only: Persian writes "and" apart, and "والدین" is its word for parents.
#[derive(Clone, Copy, Default)]
pub struct ArabicConjunction;

/// Characters a word with the conjunction and the article has at least: و or ف, ال,
/// and three letters ("والطعام"). "والدي" (my father), "والدين" stay whole.
const CONJUNCTION_MIN_CHARS: usize = 7;

impl TokenFilter for ArabicConjunction {
    type Tokenizer<T: Tokenizer> = ArabicConjunctionFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> Self::Tokenizer<T> {
        ArabicConjunctionFilter { tokenizer }
    }
}

#[derive(Clone)]
pub struct ArabicConjunctionFilter<T> {
    tokenizer: T,
}

impl<T: Tokenizer> Tokenizer for ArabicConjunctionFilter<T> {
    type TokenStream<'a> = ArabicConjunctionStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        ArabicConjunctionStream {
            tail: self.tokenizer.token_stream(text),
        }
    }
}

pub struct ArabicConjunctionStream<T> {
    tail: T,
}

impl<T: TokenStream> TokenStream for ArabicConjunctionStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        let joined = ["وال", "فال"].iter().any(|p| token.text.starts_with(p));
        if joined && token.text.chars().count() >= CONJUNCTION_MIN_CHARS {
            // و and ف are two bytes each.
            token.text.drain(..2);
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

/// One character as [`ScriptFolding`] writes it; `None` when it goes.
fn fold(c: char) -> Option<char> {
    match c {
        // Combining dot above: what lower-casing Turkish İ leaves after the i.
        '\u{0307}' => None,
        'ё' => Some('е'),
        // Arabic vowel marks (tashkeel), the superscript alef, and the tatweel; the
        // zero-width non-joiner inside a word (see [`WordStream`]).
        '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' | ZWNJ => None,
        // Persian yeh and alef maqsura as the Arabic yeh; Persian keheh as kaf.
        'ی' | 'ى' => Some('ي'),
        'ک' => Some('ك'),
        // Alef with hamza or madda, and alef wasla, as the bare alef.
        'أ' | 'إ' | 'آ' | 'ٱ' => Some('ا'),
        // Arabic-Indic and Persian digits as ASCII ones.
        '\u{0660}'..='\u{0669}' | '\u{06F0}'..='\u{06F9}' => {
            crate::pipeline::extract::eastern_digit(c)
        }
        c => Some(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{LowerCaser, TextAnalyzer};

    /// The token texts `analyzer` makes of `text`.
    fn texts_of(mut analyzer: TextAnalyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        analyzer
            .token_stream(text)
            .process(&mut |t| out.push(t.text.clone()));
        out
    }

    fn arabic_stems(text: &str) -> Vec<String> {
        let analyzer = TextAnalyzer::builder(PlaceholderTokenizer::default())
            .filter(LowerCaser)
            .filter(ScriptFolding)
            .filter(ArabicConjunction)
            .filter(crate::search::stem::CachedStemmer::new(
                tantivy::tokenizer::Language::Arabic,
            ))
            .build();
        texts_of(analyzer, text)
    }

    #[test]
    fn and_or_so_joined_to_a_word_with_the_article_is_the_same_word() {
        assert_eq!(
            arabic_stems("والمحامي فالمترجم والطعام"),
            arabic_stems("المحامي المترجم الطعام")
        );
        assert_eq!(arabic_stems("المحامي"), arabic_stems("محامي"));
        // Too short to be the conjunction, the article and a word: "my parents", "my father".
        assert_ne!(arabic_stems("والدين"), arabic_stems("الدين"));
        assert_ne!(arabic_stems("والدي"), arabic_stems("الدي"));
    }

    fn tokens(text: &str) -> Vec<String> {
        let analyzer = TextAnalyzer::builder(PlaceholderTokenizer::default())
            .filter(LowerCaser)
            .filter(ScriptFolding)
            .build();
        texts_of(analyzer, text)
    }

    #[test]
    fn spellings_of_one_word_are_one_word() {
        assert_eq!(tokens("İltica ILTICA iltica"), ["iltica"; 3]);
        assert_eq!(tokens("ждём ждем"), ["ждем"; 2]);
        assert_eq!(tokens("كمپ کمپ"), ["كمپ"; 2]);
        assert_eq!(tokens("خيلي خیلی"), ["خيلي"; 2]);
        assert_eq!(tokens("المحامى المحامي"), ["المحامي"; 2]);
        assert_eq!(tokens("المُتَرْجِمُ المترجم المتـرجم"), ["المترجم"; 3]);
        assert_eq!(tokens("أحمد احمد"), ["احمد"; 2]);
        assert_eq!(tokens("۱۴ ١٤ 14"), ["14"; 3]);
        // Persian with and without the zero-width non-joiner inside a word; one at a
        // word's edge, or two, still part words.
        assert_eq!(tokens("می\u{200c}کنم میکنم"), ["ميكنم"; 2]);
        assert_eq!(
            tokens("\u{200c}می\u{200c} کنم a\u{200c}\u{200c}b"),
            ["مي", "كنم", "a", "b"]
        );
    }

    /// Without a zero-width non-joiner, words are split as tantivy's own tokenizer
    /// splits them, at the same offsets.
    #[test]
    fn words_are_split_as_tantivy_splits_them() {
        use tantivy::tokenizer::SimpleTokenizer;
        let spans = |mut analyzer: TextAnalyzer, text: &str| {
            let mut out = Vec::new();
            analyzer.token_stream(text).process(&mut |t| {
                out.push((t.position, t.offset_from, t.offset_to, t.text.clone()))
            });
            out
        };
        for text in [
            "",
            "  ",
            "Hallo, wereld!",
            "De IND: 14 maanden wachten... ؟ مترجم ‌ ሰላም-ዓለም 😀x",
            "e\u{301}e word\u{200d}word",
            "end",
        ] {
            assert_eq!(
                spans(
                    TextAnalyzer::builder(PlaceholderTokenizer::default()).build(),
                    text
                ),
                spans(
                    TextAnalyzer::builder(SimpleTokenizer::default()).build(),
                    text
                ),
                "{text}"
            );
        }
        let mut analyzer = TextAnalyzer::builder(PlaceholderTokenizer::default()).build();
        let text = "از می\u{200c}کنم.";
        let mut spans = Vec::new();
        analyzer
            .token_stream(text)
            .process(&mut |t| spans.push(&text[t.offset_from..t.offset_to]));
        assert_eq!(spans, ["از", "می\u{200c}کنم"]);
    }

    #[test]
    fn placeholders_are_no_words_and_offsets_stay() {
        let text = "Ik ben [name], bel [phone] of mijn name";
        assert_eq!(tokens(text), ["ik", "ben", "bel", "of", "mijn", "name"]);
        let mut analyzer = TextAnalyzer::builder(PlaceholderTokenizer::default()).build();
        let mut last = None;
        analyzer
            .token_stream(text)
            .process(&mut |t| last = Some((t.offset_from, t.offset_to)));
        let (from, to) = last.unwrap();
        assert_eq!(&text[from..to], "name");
    }
}
