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
//!   do, on words long enough that the rest is an article and a word of three letters;
//!   then the article itself ([`ARTICLES`]).
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
            alphanumeric: &ALPHANUMERIC,
            chars: text.char_indices(),
            token: &mut self.token,
            parts: None,
        }
    }
}

/// The words of a text: runs of letters and digits, as tantivy's `SimpleTokenizer`
/// splits them; a word written with a zero-width non-joiner between two of them is one
/// word, then its parts. Persian writes one inside many words as often as it leaves it
/// out: after a prefix ("می‌کنم", I do, and "میکنم") and before a suffix ("درخواست‌های",
/// requests, and "درخواستهای"). The whole word (which [`ScriptFolding`] takes the
/// non-joiner out of) is found by either spelling, the first part by the word without
/// its suffix ("درخواست"). The parts take the whole's position, as a stemmer's forms
/// would: a phrase finds the word by any of them. A query is read without non-joiners,
/// so as the whole.
pub struct WordStream<'a> {
    text: &'a str,
    /// [`ALPHANUMERIC`], looked up once per text rather than once per character.
    alphanumeric: &'static [bool],
    chars: std::str::CharIndices<'a>,
    token: &'a mut Token,
    /// What is left of a word written with a non-joiner: its parts come after it.
    parts: Option<(usize, usize)>,
}

impl WordStream<'_> {
    /// Where the word whose first character ends at `end` ends, and whether it has a
    /// non-joiner in it. One pass over the text, as tantivy's tokenizer makes: the
    /// character that ends a word is read with it (it is no part of a word, so the next
    /// word cannot start there), and a non-joiner is part of the word only when a letter
    /// or digit follows it.
    fn word_end(&mut self, mut end: usize) -> (usize, bool) {
        let mut joined = false;
        while let Some((at, c)) = self.chars.next() {
            if self.is_alphanumeric(c) {
                end = at + c.len_utf8();
                continue;
            }
            if c != ZWNJ {
                break;
            }
            match self.chars.next() {
                Some((at, c)) if self.is_alphanumeric(c) => {
                    joined = true;
                    end = at + c.len_utf8();
                }
                _ => break,
            }
        }
        (end, joined)
    }

    /// [`char::is_alphanumeric`]: ASCII by itself, the Latin, Cyrillic, Arabic and
    /// Ge'ez blocks from [`ALPHANUMERIC`], only the rest from the Unicode tables (whose
    /// search was two thirds of the splitter's cost on the benchmark's mix).
    #[inline]
    fn is_alphanumeric(&self, c: char) -> bool {
        if c.is_ascii() {
            c.is_ascii_alphanumeric()
        } else {
            match self.alphanumeric.get(c as usize) {
                Some(&known) => known,
                None => c.is_alphanumeric(),
            }
        }
    }

    fn emit(&mut self, start: usize, end: usize) {
        self.token.offset_from = start;
        self.token.offset_to = end;
        self.token.text.push_str(&self.text[start..end]);
    }

    /// The next part of a word written with a non-joiner, at the whole's position.
    fn next_part(&mut self, (from, to): (usize, usize)) {
        let end = self.text[from..to].find(ZWNJ).map_or(to, |i| from + i);
        self.emit(from, end);
        let next = end + ZWNJ.len_utf8();
        self.parts = (next < to).then_some((next, to));
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        if let Some(rest) = self.parts {
            self.next_part(rest);
            return true;
        }
        self.token.position = self.token.position.wrapping_add(1);
        while let Some((start, c)) = self.chars.next() {
            if self.is_alphanumeric(c) {
                let (end, joined) = self.word_end(start + c.len_utf8());
                self.emit(start, end);
                if joined {
                    self.parts = Some((start, end));
                }
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// [`char::is_alphanumeric`] of every code point below U+2000, made by it; but the
/// Ukrainian apostrophe ʼ, a letter by its category, splits words as ' and ’ do.
static ALPHANUMERIC: std::sync::LazyLock<Box<[bool]>> = std::sync::LazyLock::new(|| {
    (0..0x2000)
        .map(|code| {
            char::from_u32(code).is_some_and(|c| {
                c.is_alphanumeric() && c != crate::pipeline::relevance::MODIFIER_APOSTROPHE
            })
        })
        .collect()
});

/// The zero-width non-joiner.
pub(crate) const ZWNJ: char = '\u{200c}';

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

/// The article, also joined to "with", "like" and "for" ("بال", "كال", "لل"), as
/// Larkey's light10 takes them off: the Arabic stemmer took "ب" off "بطاقة" (card) as
/// "with", but left "البطاقة" (the card) an article and "بطاق", so the two were other
/// words; "الكرفان" lost "ان" as a dual ending where "كرفان" did not. Without the
/// article the stemmer sees one word either way.
const ARTICLES: &[&str] = &["بال", "كال", "ال", "لل"];

/// Letters a word keeps after its article at least: "الدين" is "دين", "الم" stays.
const ARTICLE_REST_MIN_CHARS: usize = 3;

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
        if let Some(article) = ARTICLES.iter().find(|a| token.text.starts_with(**a)) {
            // Every Arabic letter is two bytes.
            if token.text.len() - article.len() >= 2 * ARTICLE_REST_MIN_CHARS {
                token.text.drain(..article.len());
            }
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
        // The article, also joined to "with" and "for", comes off before stemming.
        assert_eq!(arabic_stems("البطاقة"), arabic_stems("بطاقة"));
        assert_eq!(arabic_stems("بالبطاقة"), arabic_stems("بطاقة"));
        assert_eq!(arabic_stems("الكرفان للمحامي"), arabic_stems("كرفان محامي"));
        assert_eq!(arabic_stems("والكافيتريا"), arabic_stems("كافيتريا"));
        assert_eq!(
            arabic_stems("الم"),
            ["الم"],
            "too short for an article and a word"
        );
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
        // The Ukrainian apostrophe splits as ' and ’ do.
        assert_eq!(
            tokens("інтервʼю інтерв'ю інтерв’ю"),
            ["інтерв", "ю"].repeat(3)
        );
        // Persian with and without the zero-width non-joiner inside a word; one at a
        // word's edge, or two, still part words.
        assert_eq!(
            tokens("می\u{200c}کنم میکنم"),
            ["ميكنم", "مي", "كنم", "ميكنم"]
        );
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
        // A word written with a non-joiner, then its parts, at its position.
        let mut analyzer = TextAnalyzer::builder(PlaceholderTokenizer::default()).build();
        let text = "از درخواست\u{200c}های\u{200c}مان ما.";
        let mut spans = Vec::new();
        analyzer
            .token_stream(text)
            .process(&mut |t| spans.push((t.position, &text[t.offset_from..t.offset_to])));
        assert_eq!(
            spans,
            [
                (0, "از"),
                (1, "درخواست\u{200c}های\u{200c}مان"),
                (1, "درخواست"),
                (1, "های"),
                (1, "مان"),
                (2, "ما")
            ]
        );
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
