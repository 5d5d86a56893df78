//! The index schema and its language-aware analysis.
//!
//! Text is indexed once, in the field of its language family (`text_nl`, `text_en`, …,
//! `text_std` for languages without a stemmer here), each with its own analyzer; the
//! title is a second value of the same field, which halves the fields a query visits
//! (a title-or-text disjunction per term costs search and indexing alike); the
//! original title and text are stored once, unindexed, for display and snippets. A query
//! without a language filter searches every family's fields; with one, only that
//! family's, which is also cheaper.

use tantivy::schema::{
    BytesOptions, DateOptions, DateTimePrecision, Field, IndexRecordOption, NumericOptions, Schema,
    TextFieldIndexing, TextOptions, FAST, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, TextAnalyzer,
};
use tantivy::Index;

use super::fold::{ArabicConjunction, PlaceholderTokenizer, ScriptFolding};
use super::stem::CachedStemmer;

/// Bumped when the schema changes incompatibly; stored beside the index.
pub const SCHEMA_VERSION: u32 = 13;

/// Analyzer families: (name, stemmer). `std` lower-cases and splits on non-alphanumerics,
/// which suits Persian, Ukrainian, Somali, Tigrinya and anything undetermined.
pub const FAMILIES: &[(&str, Option<Language>)] = &[
    ("nl", Some(Language::Dutch)),
    ("en", Some(Language::English)),
    ("de", Some(Language::German)),
    ("fr", Some(Language::French)),
    ("es", Some(Language::Spanish)),
    ("it", Some(Language::Italian)),
    ("pt", Some(Language::Portuguese)),
    ("tr", Some(Language::Turkish)),
    ("ru", Some(Language::Russian)),
    ("ar", Some(Language::Arabic)),
    ("std", None),
];

/// Tokens longer than this are junk (base64, URLs glued together), not words.
const MAX_TOKEN_LEN: usize = 60;

/// The analyzer family a language code is indexed with.
pub fn family_of(lang: &str) -> usize {
    FAMILIES
        .iter()
        .position(|(name, _)| *name == lang)
        .unwrap_or(FAMILIES.len() - 1)
}

/// Handles to every field of the schema.
#[derive(Clone)]
pub struct Fields {
    pub id: Field,
    pub source: Field,
    pub lang: Field,
    pub lang_confidence: Field,
    pub published: Field,
    pub fetched: Field,
    pub url: Field,
    pub title: Field,
    pub text: Field,
    pub topic: Field,
    pub why: Field,
    /// Aspect ids (multi-valued), and the terms that found them.
    pub aspect: Field,
    pub aspect_why: Field,
    /// `true` or `false` (relevant mentions), the score (0..1) and its reasons.
    pub complaint: Field,
    pub complaint_score: Field,
    pub complaint_why: Field,
    /// Near-duplicate cluster id, and the MinHash signature (to rebuild the table).
    pub cluster: Field,
    pub signature: Field,
    /// The author's pseudonym (never the handle), for counting distinct voices.
    pub author: Field,
    /// The cluster and the author as numbers ([`voice_key`]): a search page's cluster
    /// sizes and voices are counted from these, where reading the names out of the
    /// string columns' dictionaries took two fifths of a search's instructions.
    pub cluster_key: Field,
    pub author_key: Field,
    /// Title of the thread a comment belongs to (display only).
    pub thread: Field,
    /// Indexed text per family, in [`FAMILIES`] order.
    pub text_by_family: Vec<Field>,
    /// The words of title and text as written (lower case, folded, not stemmed), whatever
    /// the language: what `word*` looks in. A stem is no word's beginning ("beslissing"
    /// is kept as "besliss", "gehoor" as "hoor").
    pub words: Field,
}

/// The analyzer of [`Fields::words`].
const WORDS_TOKENIZER: &str = "wc_words";

fn tokenizer_name(family: &str) -> String {
    format!("wc_{family}")
}

fn analyzed(family: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(&tokenizer_name(family))
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// A cluster's or an author's name as a number: the first 8 bytes of its BLAKE3 hash.
/// Two names share one at odds of one in 2^64 per pair.
pub fn voice_key(name: &str) -> u64 {
    let hash = blake3::hash(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// How the index stores its documents: in blocks of 4 KiB, compressed each. A page of
/// hits reads 20 documents, most in blocks of their own; with tantivy's 16 KiB blocks,
/// decompressing them took a tenth of a search's instructions. Only an index made anew
/// (or rebuilt by `webcare reindex`) takes it; an existing one keeps what it was made
/// with.
pub fn settings() -> tantivy::IndexSettings {
    tantivy::IndexSettings {
        docstore_blocksize: 4_096,
        ..Default::default()
    }
}

/// Builds the schema and the field handles.
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let date = DateOptions::default()
        .set_indexed()
        .set_stored()
        .set_fast()
        .set_precision(DateTimePrecision::Seconds);
    let id = b.add_text_field("id", STRING | STORED);
    let source = b.add_text_field("source", STRING | STORED | FAST);
    let lang = b.add_text_field("lang", STRING | STORED | FAST);
    let lang_confidence =
        b.add_f64_field("lang_confidence", NumericOptions::default().set_stored());
    let published = b.add_date_field("published", date);
    // Only shown, never searched or sorted by.
    let fetched = b.add_date_field("fetched", DateOptions::default().set_stored());
    let url = b.add_text_field("url", STRING | STORED);
    let title = b.add_text_field("title", STORED);
    let text = b.add_text_field("text", STORED);
    let topic = b.add_text_field("topic", STRING | STORED);
    let why = b.add_text_field("why", STORED);
    let aspect = b.add_text_field("aspect", STRING | STORED | FAST);
    let aspect_why = b.add_text_field("aspect_why", STORED);
    let complaint = b.add_text_field("complaint", STRING | STORED | FAST);
    let complaint_score = b.add_f64_field(
        "complaint_score",
        NumericOptions::default().set_stored().set_fast(),
    );
    let complaint_why = b.add_text_field("complaint_why", STORED);
    let cluster = b.add_text_field("cluster", STRING | STORED | FAST);
    let signature = b.add_bytes_field("signature", BytesOptions::default().set_fast());
    let author = b.add_text_field("author", STRING | STORED | FAST);
    let cluster_key = b.add_u64_field("cluster_key", NumericOptions::default().set_fast());
    let author_key = b.add_u64_field("author_key", NumericOptions::default().set_fast());
    let thread = b.add_text_field("thread", STORED);
    let mut text_by_family = Vec::new();
    for (family, _) in FAMILIES {
        text_by_family.push(b.add_text_field(&format!("text_{family}"), analyzed(family)));
    }
    // Which documents hold a word is all a prefix search asks: no frequencies, no positions.
    let words = b.add_text_field(
        "words",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(WORDS_TOKENIZER)
                .set_index_option(IndexRecordOption::Basic),
        ),
    );
    let fields = Fields {
        id,
        source,
        lang,
        lang_confidence,
        published,
        fetched,
        url,
        title,
        text,
        topic,
        why,
        aspect,
        aspect_why,
        complaint,
        complaint_score,
        complaint_why,
        cluster,
        signature,
        author,
        cluster_key,
        author_key,
        thread,
        text_by_family,
        words,
    };
    (b.build(), fields)
}

/// Folding "geëvalueerd" to "geevalueerd" lets people search these without diacritics;
/// Turkish is typed without its letters as often as with them ("basvuru", "başvuru"):
/// its stems are folded (after stemming, see [`register_analyzers`]).
fn folds(family: &str) -> bool {
    matches!(family, "nl" | "de" | "fr" | "es" | "it" | "pt" | "tr")
}

/// Registers every family's analyzer on `index`; needed before writing or searching.
pub fn register_analyzers(index: &Index) {
    for (family, stemmer) in FAMILIES {
        let base = TextAnalyzer::builder(PlaceholderTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN))
            .filter(LowerCaser)
            .filter(ScriptFolding);
        let analyzer = match stemmer {
            // The Turkish stemmer reads vowel harmony, which needs ı, ö, ü: stemmed
            // folded, "kararı" stayed "karari" and was another word than "karar".
            Some(Language::Turkish) => base
                .filter(CachedStemmer::new(Language::Turkish))
                .filter(AsciiFoldingFilter)
                .build(),
            Some(lang) if folds(family) => base
                .filter(AsciiFoldingFilter)
                .filter(CachedStemmer::new(*lang))
                .build(),
            Some(Language::Arabic) => base
                .filter(ArabicConjunction)
                .filter(CachedStemmer::new(Language::Arabic))
                .build(),
            Some(lang) => base.filter(CachedStemmer::new(*lang)).build(),
            None => base.build(),
        };
        index
            .tokenizers()
            .register(&tokenizer_name(family), analyzer);
    }
    index
        .tokenizers()
        .register(WORDS_TOKENIZER, words_analyzer());
}

/// Lower case and folded, not stemmed: the words as written.
fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(PlaceholderTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN))
        .filter(LowerCaser)
        .filter(ScriptFolding)
        .filter(AsciiFoldingFilter)
        .build()
}

/// How the words in [`Fields::words`] begin that `word*` asks for: `word` as that field
/// writes words (lower case, folded); `None` when it is not one word.
pub fn prefix_start(word: &str) -> Option<String> {
    let mut out = Vec::new();
    words_analyzer()
        .token_stream(word)
        .process(&mut |t| out.push(t.text.clone()));
    let [start] = <[String; 1]>::try_from(out).ok()?;
    Some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The terms the analyzer of `family` makes of `text`.
    fn terms(family: &str, text: &str) -> Vec<String> {
        let index = Index::create_in_ram(build().0);
        register_analyzers(&index);
        let mut analyzer = index
            .tokenizers()
            .get(&tokenizer_name(family))
            .expect("registered");
        let mut out = Vec::new();
        analyzer
            .token_stream(text)
            .process(&mut |t| out.push(t.text.clone()));
        out
    }

    #[test]
    fn turkish_is_stemmed_with_its_letters_and_folded_after() {
        assert_eq!(terms("tr", "karar kararı kararlar kararını"), ["karar"; 4]);
        assert_eq!(terms("tr", "avukat avukatı"), ["avukat"; 2]);
        // Typed without the Turkish letters, as with them.
        assert_eq!(terms("tr", "başvuru basvuru"), ["basvur"; 2]);
        assert_eq!(terms("tr", "İltica iltica"), ["iltica"; 2]);
    }
}
