//! The pipeline: an ordered list of plain functions over a [`Mention`].
//!
//! Sources deliver mentions with text already extracted; each stage here reads what the
//! stages before it wrote and adds its own field. Adding a stage (aspects, complaint,
//! near-duplicates, redaction) means writing one function and adding it to [`STAGES`];
//! nothing in the sources, scheduler or index changes. Redaction runs last, right
//! before indexing, so that no later stage can reintroduce what it removed.

pub mod aspects;
pub mod extract;
pub mod language;
pub mod redact;
pub mod relevance;

use crate::config;
use crate::mention::Mention;

use self::aspects::Aspects;
use self::language::LanguageDetector;
use self::redact::Redactor;
use self::relevance::{TopicError, Topics};

/// Text longer than this is cut: no public post is longer, and a hostile feed must not
/// make the index hold megabytes per item.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
const MAX_TITLE_BYTES: usize = 1024;

/// What every stage may read: the loaded models and rules.
pub struct Pipeline {
    language: LanguageDetector,
    topics: Topics,
    aspects: Aspects,
    redactor: Redactor,
}

/// One stage: reads the mention, adds what it knows.
type Stage = fn(&Pipeline, &mut Mention, &mut Scratch);

/// What stages derive from a mention once and share, never stored.
#[derive(Default)]
struct Scratch {
    /// Title and text lower-cased with word boundaries as spaces, for the term matchers.
    normalised: Option<String>,
}

impl Scratch {
    fn normalised(&mut self, m: &Mention) -> &str {
        self.normalised.get_or_insert_with(|| {
            let mut text = String::with_capacity(m.title.len() + m.text.len() + 1);
            text.push_str(&m.title);
            text.push('\n');
            text.push_str(&m.text);
            relevance::normalise(&text)
        })
    }
}

/// The stages in the order they run.
const STAGES: &[(&str, Stage)] = &[
    ("tidy", tidy),
    ("language", detect_language),
    ("relevance", judge_relevance),
    ("aspects", tag_aspects),
    // Last, right before indexing: nothing after it may see or store the originals.
    ("redact", redact),
];

impl Pipeline {
    /// Builds the pipeline from its configuration (loads the topic files).
    pub fn from_config(config: &config::Pipeline) -> Result<Pipeline, TopicError> {
        // Config validation has compiled the extra patterns already.
        let redactor = Redactor::new(&config.redact_patterns).map_err(|e| TopicError::Parse {
            path: "privacy.redact_patterns".into(),
            message: e.to_string(),
        })?;
        Ok(Pipeline {
            language: LanguageDetector::new(&config.languages),
            topics: Topics::load_dir(&config.topics_dir)?,
            aspects: Aspects::load_dir(&config.aspects_dir)?,
            redactor,
        })
    }

    /// Runs every stage over `mention`.
    pub fn process(&self, mut mention: Mention) -> Mention {
        let mut scratch = Scratch::default();
        for (_, stage) in STAGES {
            stage(self, &mut mention, &mut scratch);
        }
        mention
    }

    /// Names of the stages in order (for logs and docs).
    pub fn stage_names() -> Vec<&'static str> {
        STAGES.iter().map(|(name, _)| *name).collect()
    }

    pub fn topics(&self) -> &Topics {
        &self.topics
    }
}

/// Bounds the size of title and text and folds whitespace that sources left in.
fn tidy(_: &Pipeline, m: &mut Mention, _: &mut Scratch) {
    extract::truncate_at_char(&mut m.title, MAX_TITLE_BYTES);
    extract::truncate_at_char(&mut m.text, MAX_TEXT_BYTES);
    if !extract::is_folded(&m.title) {
        m.title = extract::fold_whitespace(&m.title);
    }
    if !extract::is_folded(&m.text) {
        m.text = extract::fold_whitespace(&m.text);
    }
}

fn detect_language(p: &Pipeline, m: &mut Mention, _: &mut Scratch) {
    let sample = if m.text.len() >= m.title.len() {
        &m.text
    } else {
        &m.title
    };
    let (lang, confidence) = p.language.detect(sample, m.lang_hint.as_deref());
    m.lang = lang;
    m.lang_confidence = confidence;
}

/// Personal data out of title and text, for every mention: what is not stored today
/// may be exported or logged by a stage tomorrow.
fn redact(p: &Pipeline, m: &mut Mention, _: &mut Scratch) {
    m.title = p.redactor.redact(&m.title);
    m.text = p.redactor.redact(&m.text);
}

/// The aspects of the procedure, for relevant mentions (the others are not stored).
fn tag_aspects(p: &Pipeline, m: &mut Mention, scratch: &mut Scratch) {
    if m.is_relevant() {
        m.aspects = p.aspects.tag_normalised(scratch.normalised(m));
    }
}

fn judge_relevance(p: &Pipeline, m: &mut Mention, scratch: &mut Scratch) {
    m.relevance = Some(p.topics.judge_normalised(scratch.normalised(m)));
}
