//! The pipeline: an ordered list of plain functions over a [`Mention`].
//!
//! Sources deliver mentions with text already extracted; each stage here reads what the
//! stages before it wrote and adds its own field. Adding a stage (aspects, complaint,
//! near-duplicates, redaction) means writing one function and adding it to [`STAGES`];
//! nothing in the sources, scheduler or index changes. Redaction runs first, right
//! after tidying: no stage sees personal data, so none can store it or name it in its
//! reasons.

pub mod aspect_model;
pub mod aspects;
pub mod complaint;
pub mod duplicates;
pub mod extract;
pub mod language;
pub mod model;
pub mod pseudonym;
pub mod redact;
pub mod relevance;
mod terms;

use std::sync::Mutex;

use crate::config;
use crate::mention::Mention;

use self::aspects::Aspects;
use self::complaint::ComplaintRules;
use self::duplicates::DuplicateIndex;
use self::language::LanguageDetector;
use self::pseudonym::{KeyError, Pseudonymiser};
use self::redact::Redactor;
use self::relevance::{SharedScan, TermHits, TopicError, Topics};

/// Text longer than this is cut: no public post is longer, and a hostile feed must not
/// make the index hold megabytes per item.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
pub const MAX_TITLE_BYTES: usize = 1024;

/// What the rules know of a word ([`Pipeline::known_term`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnownTerm {
    Unknown,
    /// A topic rule's word: it makes posts relevant, and is in every kind of complaint.
    Topic,
    /// A word of these aspects' lists. It is covered where the aspect stage gave a post
    /// one of them; the aspect model turns a list's word down where the post is about
    /// something else ("reiskosten" of the facilities list, in posts about the hearing).
    Aspects(Vec<String>),
}

/// What every stage may read: the loaded models and rules.
pub struct Pipeline {
    language: LanguageDetector,
    topics: Topics,
    aspects: Aspects,
    /// The terms of the topic rules and of the aspect lists, found in one pass.
    terms: SharedScan,
    complaint: ComplaintRules,
    privacy: Privacy,
    /// Sources whose mentions the relevance model may keep where no rule matched.
    topical_sources: std::collections::BTreeSet<String>,
    /// Every indexed mention's signature; shared by all sources' pollers.
    duplicates: Mutex<DuplicateIndex>,
}

/// What protects the people in a mention: redaction of personal data and pseudonyms
/// for authors and private @mentions. Also decides how the analysis reads a text
/// ([`Privacy::as_read`]), which training needs without the rest of the pipeline.
pub struct Privacy {
    redactor: Redactor,
    pseudonyms: Pseudonymiser,
}

impl Privacy {
    pub fn from_config(config: &config::Pipeline) -> Result<Privacy, PipelineError> {
        // Config validation has compiled the extra patterns already.
        let redactor = Redactor::new(&config.redact_patterns).map_err(|e| TopicError::Parse {
            path: "privacy.redact_patterns".into(),
            message: e.to_string(),
        })?;
        Ok(Privacy {
            redactor,
            pseudonyms: Pseudonymiser::new(&config.pseudonym_key, &config.public_accounts)?,
        })
    }

    /// `text` with personal data replaced and private @handles pseudonymised (see
    /// [`Pipeline::redact`]).
    pub fn redact(&self, text: &str) -> String {
        self.pseudonyms.mentions(&self.redactor.redact(text))
    }

    /// `text` as the analysis stages read it: personal data, links and private
    /// @mentions out (not replaced: a placeholder such as `[phone]` would be read as a
    /// word).
    pub fn as_read(&self, text: &str) -> String {
        self.pseudonyms
            .blank_mentions(&extract::blank_links(&self.redactor.blank(text)))
    }
}

/// Why the pipeline could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Rules(#[from] TopicError),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// One stage: reads the mention, adds what it knows.
type Stage = fn(&Pipeline, &mut Mention, &mut Scratch);

/// What stages derive from a mention once and share, never stored.
#[derive(Default)]
struct Scratch {
    /// Title and text as the analysis reads them, where that is not as stored: the
    /// personal data and private @mentions taken out instead of replaced by placeholders
    /// and pseudonyms (see [`Redactor::blank`]), and links taken out.
    read: Option<Read>,
    /// Title and text lower-cased with word boundaries as spaces, for the term matchers.
    normalised: Option<Normalised>,
    /// The aspect list terms in `normalised`, found with the topic terms.
    aspect_hits: Option<TermHits>,
    /// Title and text as the complaint stage and the learned models read them, that
    /// text passed through [`complaint::normalise_cues`], and its model features.
    cue_text: Option<CueText>,
}

impl Scratch {
    /// Title and text as the analysis reads them.
    fn read<'a>(&'a self, m: &'a Mention) -> (&'a str, &'a str) {
        read_of(&self.read, m)
    }

    fn normalised(&mut self, m: &Mention) -> &str {
        let (title, text) = read_of(&self.read, m);
        &self
            .normalised
            .get_or_insert_with(|| Normalised::of(title, text))
            .joined
    }

    /// The text for the cues and the models, its normalisation and its features.
    fn cue_text(&mut self, m: &Mention) -> &CueText {
        let read = self.read.as_ref();
        self.cue_text.get_or_insert_with(|| CueText::of(m, read))
    }
}

/// A mention's title and text as the analysis reads them, where that differs from what
/// is stored.
struct Read {
    title: String,
    text: String,
}

/// Title and text as the analysis reads them: `read` where there is one, else as stored
/// (a function of the one field, so that the others stay free to borrow).
fn read_of<'a>(read: &'a Option<Read>, m: &'a Mention) -> (&'a str, &'a str) {
    match read {
        Some(read) => (&read.title, &read.text),
        None => (&m.title, &m.text),
    }
}

/// A mention's title and text as the term matchers read them.
struct Normalised {
    /// [`relevance::normalise`] of title and text joined by a line break.
    joined: String,
    /// Where the normalisation of the text alone starts in `joined`.
    text_from: usize,
}

impl Normalised {
    /// Built as the title's normalisation without its closing space, followed by the
    /// text's: the same string as normalising the two joined (the line break between
    /// them is no word character, and every character folds on its own), with the
    /// text's normalisation as its tail, for the near-duplicate signature of a text
    /// that repeats its title.
    fn of(title: &str, text: &str) -> Normalised {
        let mut joined = String::with_capacity(title.len() + text.len() + 3);
        relevance::normalise_into(&mut joined, title);
        joined.pop();
        let text_from = joined.len();
        relevance::normalise_into(&mut joined, text);
        Normalised { joined, text_from }
    }

    /// [`relevance::normalise`] of the text alone.
    fn text(&self) -> &str {
        &self.joined[self.text_from..]
    }
}

/// A mention's text as the complaint cues and the learned models read it.
struct CueText {
    /// Title and text joined, when there is a title, or the text as read where that
    /// is not the mention's (else the mention's text alone is read).
    joined: Option<String>,
    /// [`complaint::normalise_cues`] of title and text.
    normalised: String,
    /// The word and word-pair features of `normalised`, hashed once for both models.
    found: model::FeatureSet,
}

impl CueText {
    fn of(m: &Mention, read: Option<&Read>) -> CueText {
        let joined = match read {
            Some(read) if read.title.is_empty() => Some(read.text.clone()),
            Some(read) => Some(format!("{}\n{}", read.title, read.text)),
            None => (!m.title.is_empty()).then(|| format!("{}\n{}", m.title, m.text)),
        };
        let normalised = complaint::normalise_cues(joined.as_deref().unwrap_or(&m.text));
        let found = model::FeatureSet::of(&normalised);
        CueText {
            joined,
            normalised,
            found,
        }
    }

    /// Title and text as read: the mention's own text when it has no title and is read
    /// as stored (no stage between the aspects and the complaint changes it).
    fn text<'a>(&'a self, m: &'a Mention) -> &'a str {
        self.joined.as_deref().unwrap_or(&m.text)
    }
}

/// The stages in the order they run.
const STAGES: &[(&str, Stage)] = &[
    ("tidy", tidy),
    // Before any analysis: no stage sees personal data, so none can store or explain
    // itself with it (a model's reasons name the words that weighed).
    ("redact", redact),
    ("pseudonymise", pseudonymise),
    ("language", detect_language),
    ("relevance", judge_relevance),
    ("aspects", tag_aspects),
    ("complaint", judge_complaint),
    // After redaction, so that reposts differing only in a phone number still match.
    ("duplicates", find_duplicates),
];

impl Pipeline {
    /// Builds the pipeline from its configuration (loads the topic files).
    pub fn from_config(config: &config::Pipeline) -> Result<Pipeline, PipelineError> {
        let topics = Topics::load_dir(&config.topics_dir)?;
        let aspects = Aspects::load_dir(&config.aspects_dir)?;
        Ok(Pipeline {
            language: LanguageDetector::new(&config.languages),
            terms: SharedScan::new(&topics, aspects.lists())?,
            topics,
            aspects,
            complaint: ComplaintRules::load_dir(&config.complaint_dir)?,
            privacy: Privacy::from_config(config)?,
            topical_sources: config.topical_sources.clone(),
            duplicates: Mutex::new(DuplicateIndex::default()),
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

    /// What in the configuration has no effect, one line each, for `check-config` and
    /// the log at start: a topic rule for a language `languages` leaves out.
    pub fn config_notes(&self) -> Vec<String> {
        self.topics
            .languages_left_out(self.language.allowed())
            .into_iter()
            .map(|(rule, lang)| {
                format!("topic rule {rule:?} is for language {lang:?}, which `[pipeline] languages` leaves out: it never fires for such posts")
            })
            .collect()
    }

    /// `text` with personal data replaced and private @handles pseudonymised, for
    /// messages that quote input (an error about a malformed response or line may echo
    /// part of it into logs and the API; a search query or a permalink goes into the
    /// audit trail).
    pub fn redact(&self, text: &str) -> String {
        self.privacy.redact(text)
    }

    /// The aspects a text is about (for telling known words from new ones).
    pub fn aspect_tags(&self, text: &str) -> Vec<self::aspects::AspectTag> {
        self.aspects.tag(text)
    }

    /// What the rules already know of `word`: a topic rule's word (the words that make a
    /// post relevant, "asielprocedure", ride along with every complaint), or an aspect
    /// list's. Emerging complaints are words no rule covers.
    pub fn known_term(&self, word: &str) -> KnownTerm {
        if self.topics().knows(&self::relevance::normalise(word)) {
            return KnownTerm::Topic;
        }
        let aspects: Vec<String> = self.aspect_tags(word).into_iter().map(|t| t.id).collect();
        if aspects.is_empty() {
            KnownTerm::Unknown
        } else {
            KnownTerm::Aspects(aspects)
        }
    }

    /// `text` as the analysis stages read it: personal data, links and private
    /// @mentions out.
    pub fn as_read(&self, text: &str) -> String {
        self.privacy.as_read(text)
    }

    /// The aspects the aspect stage finds in a text (word lists weighed by the model),
    /// whether or not the text is relevant: for measuring the stage on its own. The text
    /// is read as the pipeline reads it ([`Pipeline::as_read`]).
    pub fn judge_aspects(&self, text: &str) -> Vec<self::aspects::AspectTag> {
        let text = self.as_read(text);
        let cue = complaint::normalise_cues(&text);
        let found = model::FeatureSet::of(&cue);
        self.aspects
            .judge(&relevance::normalise(&text), &cue, &found)
    }

    /// The pseudonym of an author handle, as stored (for `forget --author`).
    pub fn pseudonym(&self, handle: &str) -> String {
        self.privacy.pseudonyms.pseudonym(handle)
    }

    pub fn complaint_rules(&self) -> &ComplaintRules {
        &self.complaint
    }

    /// Which learned models are loaded, for the administrator: a line such as
    /// `models: relevance 69186 features (11 topical sources), complaint 40153, aspects
    /// 63405` (a missing model file reads `none`: its rules decide alone).
    pub fn models_summary(&self) -> String {
        let count = |n: Option<usize>| n.map_or("none".to_string(), |n| n.to_string());
        format!(
            "models: relevance {} ({} topical sources), complaint {}, aspects {}",
            self.topics
                .model_features()
                .map_or("none".to_string(), |n| format!("{n} features")),
            self.topical_sources.len(),
            count(self.complaint.model().map(|m| m.len())),
            count(self.aspects.model_features()),
        )
    }

    /// The near-duplicate table, for rebuilding it from the index at start.
    pub fn duplicates(&self) -> std::sync::MutexGuard<'_, DuplicateIndex> {
        // A panic while holding the lock leaves the table usable: every write to it
        // is a complete push or insert.
        self.duplicates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Bounds the size of title and text and folds whitespace that sources left in (the
/// redaction writes look-alikes of ASCII that hide numbers as ASCII); a
/// publication date more than a day after the fetch (a forged date, a broken clock)
/// becomes the time of the fetch, the best known.
fn tidy(_: &Pipeline, m: &mut Mention, _: &mut Scratch) {
    if m.published > m.fetched + chrono::TimeDelta::days(1) {
        m.published = m.fetched;
    }
    extract::truncate_at_char(&mut m.title, MAX_TITLE_BYTES);
    extract::truncate_at_char(&mut m.text, MAX_TEXT_BYTES);
    if let Some(title) = extract::refold(&m.title) {
        m.title = title;
    }
    if let Some(text) = extract::refold(&m.text) {
        m.text = text;
    }
    extract::compose(&mut m.title);
    extract::compose(&mut m.text);
}

fn detect_language(p: &Pipeline, m: &mut Mention, scratch: &mut Scratch) {
    let (title, text) = scratch.read(m);
    let sample = if text.len() >= title.len() {
        text
    } else {
        title
    };
    let (lang, confidence) = p.language.detect(sample, m.lang_hint.as_deref());
    m.lang = lang;
    m.lang_confidence = confidence;
}

/// Personal data out of title and text, for every mention: what is not stored today
/// may be exported or logged by a stage tomorrow.
/// Also decides how the analysis reads the mention ([`Pipeline::as_read`]), where that
/// is not as stored.
fn redact(p: &Pipeline, m: &mut Mention, scratch: &mut Scratch) {
    let title = p.privacy.redactor.redact(&m.title);
    let text = p.privacy.redactor.redact(&m.text);
    // Read apart from what is stored: what redaction changed, a link, an @mention.
    let apart = |original: &str, redacted: &str| {
        redacted != original || extract::has_link(original) || original.contains('@')
    };
    if apart(&m.title, &title) || apart(&m.text, &text) {
        scratch.read = Some(Read {
            title: p.as_read(&m.title),
            text: p.as_read(&m.text),
        });
    }
    m.title = title;
    m.text = text;
    if let Some(thread) = &m.thread {
        m.thread = Some(p.privacy.redactor.redact(thread));
    }
}

/// Authors and @mentions of private persons become keyed pseudonyms.
/// (How the analysis reads them, the redaction stage has decided.)
fn pseudonymise(p: &Pipeline, m: &mut Mention, _: &mut Scratch) {
    if let Some(author) = m.author.take() {
        m.author = Some(p.privacy.pseudonyms.pseudonym(&author));
    }
    m.title = p.privacy.pseudonyms.mentions(&m.title);
    m.text = p.privacy.pseudonyms.mentions(&m.text);
    if let Some(thread) = m.thread.take() {
        m.thread = Some(p.privacy.pseudonyms.mentions(&thread));
    }
}

/// The aspects of the procedure, for relevant mentions (the others are not stored).
fn tag_aspects(p: &Pipeline, m: &mut Mention, scratch: &mut Scratch) {
    if m.is_relevant() {
        let hits = match scratch.aspect_hits.take() {
            Some(hits) => hits,
            None => p.aspects.lists().hits(scratch.normalised(m)),
        };
        let cue = scratch.cue_text(m);
        m.aspects = p.aspects.judge_hits(&hits, &cue.normalised, &cue.found);
    }
}

/// Grievance or not, for relevant mentions (the others are not stored).
fn judge_complaint(p: &Pipeline, m: &mut Mention, scratch: &mut Scratch) {
    if m.is_relevant() {
        // Its own normalisation: sentence ends and numbers matter here.
        let cue = scratch.cue_text(m);
        let judged =
            p.complaint
                .judge_normalised(cue.text(m), &cue.normalised, &cue.found, &m.lang);
        m.complaint = Some(judged);
    }
}

/// The near-duplicate cluster, for relevant mentions.
fn find_duplicates(p: &Pipeline, m: &mut Mention, scratch: &mut Scratch) {
    if !m.is_relevant() {
        return;
    }
    // Signed: title and text joined, or the text alone where it repeats the title.
    let repeats_title = !m.title.is_empty() && m.text.starts_with(&m.title);
    let unwrapped =
        || !duplicates::has_repost_wrapping(&m.title) && !duplicates::has_repost_wrapping(&m.text);
    let signature = match &scratch.normalised {
        // The relevance stage normalised title and text (an empty title adds nothing):
        // what is signed is there, as long as they were read as stored (see
        // [`Scratch::read`]) and there is no wrapping to take off.
        Some(normalised) if scratch.read.is_none() && unwrapped() => {
            duplicates::signature_of_normalised(if repeats_title {
                normalised.text()
            } else {
                &normalised.joined
            })
        }
        _ if m.title.is_empty() || repeats_title => duplicates::signature(&m.text),
        _ => duplicates::signature(&format!("{}\n{}", m.title, m.text)),
    };
    if let Some(signature) = signature {
        let cluster = p.duplicates().assign(&m.id, &signature);
        m.duplicate = Some(duplicates::Duplicate { cluster, signature });
    }
}

/// The rules decide. Where the context is about the procedure — a topical source, or a
/// reply in a thread whose title the rules find relevant — the learned model weighs
/// what they leave open (it reads the mention as the complaint and aspect stages do,
/// so the features are found once); elsewhere the rules decide alone: without such a
/// context, the model took everyday complaints about other offices for mentions of the
/// procedure (BENCHMARKS.md).
fn judge_relevance(p: &Pipeline, m: &mut Mention, scratch: &mut Scratch) {
    let [topic_hits, aspect_hits] =
        p.terms
            .scan(&p.topics, p.aspects.lists(), scratch.normalised(m));
    // The aspect stage reads these for a relevant mention.
    scratch.aspect_hits = Some(aspect_hits);
    let ruling = p.topics.rule_hits(&topic_hits, &m.lang);
    if !p.topics.weighs(&ruling) {
        m.relevance = Some(ruling.relevance);
        return;
    }
    // A topical source needs no more context; elsewhere, a thread about the procedure.
    let thread_rule = if p.topical_sources.contains(&m.source) {
        None
    } else if let Some(rule) = relevant_thread(p, m) {
        Some(rule)
    } else {
        m.relevance = Some(ruling.relevance);
        return;
    };
    let cue = scratch.cue_text(m);
    let mut judged = p.topics.weigh(ruling, &cue.normalised, &cue.found);
    if let Some(rule) = thread_rule {
        // Why the model had a say: the thread, named like the rules' terms.
        judged.terms.push(format!("thread:{rule}"));
    }
    m.relevance = Some(judged);
}

/// The rule that finds the mention's thread (the title of the post it replies to) about
/// the procedure, if it has one and a rule does.
fn relevant_thread(p: &Pipeline, m: &Mention) -> Option<String> {
    let thread = m.thread.as_deref().filter(|t| !t.is_empty())?;
    // The thread is read in the reply's language: a title is short to tell by.
    let ruling = p.topics.rule(&relevance::normalise(thread), &m.lang);
    ruling.relevance.relevant.then_some(ruling.relevance.rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_and_text_normalised_apart_equal_them_normalised_joined() {
        let pairs = [
            ("", ""),
            ("", "Wachten op de IND"),
            ("Wachten op de IND", ""),
            ("!!!", "IND"),
            ("IND", "!!!"),
            ("Ter Apel", "asiel"),
            ("Ter Apel: ", " asiel?"),
            ("İSTANBUL", "ÇOK"),
            ("اللجوء في", "هولندا"),
            ("🙏", "🙏"),
            ("a\u{200c}", "\u{064e}b"),
        ];
        for (title, text) in pairs {
            let mut m = Mention::new("s", "1", chrono::Utc::now(), chrono::Utc::now());
            m.title = title.to_string();
            m.text = text.to_string();
            let normalised = Normalised::of(&m.title, &m.text);
            let joined = relevance::normalise(&format!("{title}\n{text}"));
            assert_eq!(normalised.joined, joined, "{title:?} / {text:?}");
            assert_eq!(
                normalised.text(),
                relevance::normalise(text),
                "{title:?} / {text:?}"
            );
        }
    }

    /// "IND?" is about the procedure, but says nothing of an aspect or a grievance: the
    /// models do not speak from an institution's name alone.
    #[test]
    fn a_bare_name_of_an_institution_has_no_aspect_and_no_grievance() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/topics");
        let pipeline = Pipeline::from_config(&config::Pipeline::with_topics(dir)).unwrap();
        for text in ["IND?", "IND", "ind !!", "Waarom IND?"] {
            let mut m = Mention::new("s", "1", chrono::Utc::now(), chrono::Utc::now());
            m.text = text.to_string();
            let m = pipeline.process(m);
            assert!(m.aspects.is_empty(), "{text}: {:?}", m.aspects);
            assert!(
                !m.complaint.as_ref().is_some_and(|c| c.complaint),
                "{text}: {:?}",
                m.complaint
            );
        }
        // A short grievance the cue lists know still is one.
        let mut m = Mention::new("s", "2", chrono::Utc::now(), chrono::Utc::now());
        m.text = "IND schandalig".to_string();
        let m = pipeline.process(m);
        assert!(m.complaint.is_some_and(|c| c.complaint));
    }

    /// The pipeline with the shipped topic rules, cues and models.
    fn shipped_pipeline() -> Pipeline {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/topics");
        Pipeline::from_config(&config::Pipeline::with_topics(dir)).unwrap()
    }

    /// A mention of `text` as `pipeline` stores it.
    fn processed(pipeline: &Pipeline, text: &str) -> Mention {
        let mut m = Mention::new("s", "1", chrono::Utc::now(), chrono::Utc::now());
        m.text = text.to_string();
        pipeline.process(m)
    }

    #[test]
    fn tags_or_accounts_alone_are_no_grievance() {
        let pipeline = shipped_pipeline();
        let judge = |text: &str| processed(&pipeline, text);
        for text in ["#IND #asiel #terapel #coa", "@IND_NL @COAnl"] {
            let m = judge(text);
            assert!(m.is_relevant(), "{text}");
            let complaint = m.complaint.expect("relevant mentions are judged");
            assert!(!complaint.complaint, "{text}: {complaint:?}");
        }
        // With words of its own, the model weighs the tags too.
        let m = judge("#IND #terapel al twee jaar wachten en nog steeds niets gehoord");
        assert!(m.complaint.is_some_and(|c| c.complaint));
    }

    #[test]
    fn a_fediverse_handle_becomes_one_pseudonym_and_an_address_stays_an_address() {
        let pipeline = shipped_pipeline();
        let m = processed(
            &pipeline,
            "Vraag het @ayla@mastodon.social, of mail ayla.k@example.org over de IND",
        );
        let pseudonym = pipeline
            .privacy
            .pseudonyms
            .pseudonym("ayla@mastodon.social");
        assert!(
            m.text
                .starts_with(&format!("Vraag het @{pseudonym}, of mail [email] ")),
            "{}",
            m.text
        );
        assert!(!m.text.contains("ayla"), "{}", m.text);
        assert_eq!(
            pipeline.redact("cc @ayla@mastodon.social"),
            format!("cc @{pseudonym}")
        );
    }

    #[test]
    fn the_words_of_a_link_say_nothing() {
        let pipeline = shipped_pipeline();
        let judge = |text: &str| processed(&pipeline, text);
        for text in [
            "https://ind.nl",
            "https://www.ind.nl/nl/asiel",
            "Mijn nieuwe recept https://www.lekkerkoken.nl/azc-ovenschotel",
        ] {
            let m = judge(text);
            assert!(!m.is_relevant(), "{text}: {:?}", m.relevance);
            // Stored as it was.
            assert_eq!(m.text, text);
        }
        assert_eq!(judge("https://www.ind.nl/nl/asiel").lang, "und");
        // A post about the procedure stays one with its link.
        let m = judge("Al veertien maanden wacht ik op de IND. https://www.ind.nl/nl/asiel");
        assert!(m.is_relevant(), "{:?}", m.relevance);
    }

    #[test]
    fn no_reason_names_what_redaction_or_pseudonymisation_took_out() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/topics");
        let pipeline = Pipeline::from_config(&config::Pipeline::with_topics(dir)).unwrap();
        for text in [
            "Al veertien maanden wacht ik op de IND. Mail me: fatima.jansen@example.org",
            "Al veertien maanden wacht ik op de IND, de tolk was slecht. @fatima_jansen",
            "RT @ahmed_tolk: De IND stuurt geen brief, bel 06-12345678 als je hetzelfde hebt",
        ] {
            let mut m = Mention::new("s", "1", chrono::Utc::now(), chrono::Utc::now());
            m.text = text.to_string();
            let m = pipeline.process(m);
            assert!(m.is_relevant(), "{text}");
            let complaint = m.complaint.as_ref().expect("judged");
            let mut reasons = complaint.why.join(" ");
            for tag in &m.aspects {
                tag.write_why(&mut reasons);
            }
            reasons.push_str(&m.relevance.as_ref().expect("judged").terms.join(" "));
            // The models know these words (first names are in the labeled posts): they
            // were shown as reasons when the analysis read the text before redaction.
            assert!(reasons.contains("model:"), "{reasons}");
            for word in ["fatima", "jansen", "example", "ahmed", "12345678", "~fati"] {
                assert!(!reasons.contains(word), "{word} in {reasons}");
                assert!(!m.text.contains(word), "{word} in {}", m.text);
            }
        }
    }

    #[test]
    fn signatures_from_the_shared_normalisation_are_those_of_the_stored_text() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/topics");
        let pipeline = Pipeline::from_config(&config::Pipeline::with_topics(dir)).unwrap();
        let text = "Al veertien maanden wacht ik op de IND, mijn asielaanvraag ligt stil.";
        for (title, text) in [
            ("", text.to_string()),
            ("Wachten in Ter Apel", text.to_string()),
            // The text repeats the title: the text alone is signed.
            ("Al veertien maanden", text.to_string()),
            ("Al veertien", format!("{text} Bel me: 06-12345678")),
            // Redaction and pseudonymisation change what is signed.
            ("", format!("{text} Bel me: 06-12345678")),
            (
                "Asielzoekers in Ter Apel",
                format!("{text} @jan_de_vries weet ervan"),
            ),
            ("", format!("RT @someone: {text} https://x.example/a")),
        ] {
            let mut m = Mention::new("s", "1", chrono::Utc::now(), chrono::Utc::now());
            m.title = title.to_string();
            m.text = text.clone();
            let m = pipeline.process(m);
            assert!(m.is_relevant(), "{text}");
            let signed = if m.title.is_empty() || m.text.starts_with(&m.title) {
                m.text.clone()
            } else {
                format!("{}\n{}", m.title, m.text)
            };
            let stored = m.duplicate.as_ref().map(|d| d.signature);
            assert_eq!(stored, duplicates::signature(&signed), "{title} / {text}");
        }
    }
}
