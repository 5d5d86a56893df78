//! Complaint: does a relevant mention voice a grievance about the procedure, as opposed
//! to news, a question, advice or praise?
//!
//! A weighted word list per language in `config/complaint/*.toml` (see its README): each
//! `[[cue]]` adds its `weight` for every distinct term of it found in the mention —
//! positive for grievance ("schandalig", "nog steeds geen", "rejected"), negative for
//! what a complaint is not (thanks, praise, news wording, a plain question). A negation
//! word of the mention's language in the three words before a cue, within its sentence,
//! turns it round ("niet slecht", "no problems with the interpreter"), an intensifier
//! right before it ("heel slecht") makes it count half as much again, and exclamation or
//! repeated question marks strengthen a grievance already there. In terms, `#` stands
//! for any number ("al # maanden" matches "al 14 maanden"). The sum is the raw score; a mention is a complaint when it reaches
//! [`THRESHOLD`], and `score` maps the sum onto 0..1 (0.5 at the threshold) for sorting
//! and for the trend counts. Every contribution is recorded in `why`, so a wrong call can
//! be traced to a term in a file.
//!
//! A learned word model (`model.tsv` beside the cue files, see [`super::model`]) adds
//! what the lists miss: the final score is a weighted mean of the cue score and the
//! model's probability ([`MODEL_SHARE`]), rescaled so that 0.5 is again the point from
//! which a mention is a complaint, and the model's strongest words join the reasons.
//! Without `model.tsv` the cues decide alone.
//!
//! Why keep the word lists beside a model: the webcare team must be able to see and
//! change why something counts as a complaint, in every language they read, at once and
//! without retraining; the model is trained by `webcare train` on the project's labeled
//! posts, and its file is plain text too.

use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::model::{is_mark, FeatureSet, WordModel};
use super::relevance::{needle, TopicError};
use super::terms::TermMatcher;

/// The raw score from which a mention counts as a complaint.
pub const THRESHOLD: f64 = 1.0;
/// How many words before a cue a negation reaches.
const NEGATION_REACH: usize = 3;
/// How many words after a cue a negation written after it reaches ("kötü değil", "kaba
/// biri değildi").
const NEGATION_REACH_AFTER: usize = 2;
/// Factor for a cue right after an intensifier.
const INTENSIFIED: f64 = 1.5;
/// Factor for a negated cue: "niet slecht" is mild praise, not strong praise.
const NEGATED: f64 = -0.5;
/// Added to a grievance for `!!`, `?!` or `??` in the text.
const EMPHASIS: f64 = 0.5;
/// The learned model's share of the mixed score; the cues have the rest.
pub const MODEL_SHARE: f64 = 0.4;
/// The mixed score from which a mention is a complaint. Share and threshold were chosen
/// on 415 relevant posts that neither the cue lists nor the model had seen (BENCHMARKS.md): the
/// cue score of a text without cues is 0.18, so a mild cue and a leaning model suffice.
const MIXED_THRESHOLD: f64 = 0.3;
/// The name of the model file in the complaint directory.
pub const MODEL_FILE: &str = "model.tsv";
/// How many of the model's words are given as reasons.
const MODEL_REASONS: usize = 4;

/// The outcome of the complaint stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Complaint {
    pub complaint: bool,
    /// 0..1; 0.5 at the threshold.
    pub score: f64,
    /// Each contribution, as `file/cue:term(+w)`, in the order found.
    pub why: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CueFile {
    #[serde(default)]
    negators: Vec<Spanned<String>>,
    /// Negations written after the word they turn round (Turkish "değil", Persian "نبود").
    #[serde(default)]
    negators_after: Vec<Spanned<String>>,
    #[serde(default)]
    intensifiers: Vec<Spanned<String>>,
    #[serde(default)]
    cue: Vec<RawCue>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCue {
    id: Spanned<String>,
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    weight: Spanned<f64>,
    any: Spanned<Vec<String>>,
}

/// One term of a cue, as compiled into the matcher.
#[derive(Debug)]
struct Term {
    cue: usize,
    text: String,
    /// Whether the term itself starts with a negation ("geen antwoord"): then the
    /// negation is the grievance and must not turn it round.
    negated_already: bool,
}

/// The compiled complaint cues.
pub struct ComplaintRules {
    cues: Vec<(String, f64)>,
    terms: Vec<Term>,
    matcher: TermMatcher,
    /// Negation words per file (language); "niet" is Dutch, "pas" is not French here.
    negators: FxHashMap<String, FxHashSet<String>>,
    /// Every file's negation words, for text whose language is not known.
    all_negators: FxHashSet<String>,
    /// Negation words written after the cue, per file (language).
    negators_after: FxHashMap<String, FxHashSet<String>>,
    /// Every file's negation words written after the cue.
    all_negators_after: FxHashSet<String>,
    intensifiers: FxHashSet<String>,
    /// The learned word model, when `model.tsv` exists.
    model: Option<WordModel>,
}

/// The token a number becomes, in texts and in terms (`#`).
const NUMBER: &str = super::model::NUMBER;
/// The token a sentence end becomes: no term and no negation reaches across it.
const BREAK: &str = super::model::BREAK;
/// The token a clause mark (comma, colon, dash) becomes: no negation reaches across it
/// ("niet kortaf, erg behulpzaam" is praise), and the models pair no words across it.
const CLAUSE: &str = super::model::CLAUSE;

/// What the last mark written was, so that marks are not repeated.
#[derive(Clone, Copy, PartialEq)]
enum LastMark {
    Word,
    Clause,
    Break,
}

/// Lower-cased words as for the topic rules, but with sentence ends kept as [`BREAK`],
/// clause marks as [`CLAUSE`] and every number as [`NUMBER`].
pub fn normalise_cues(text: &str) -> String {
    // One pass: the same words as the topic rules' normalisation, plus the marks.
    let mut out = String::with_capacity(text.len() + 8);
    out.push(' ');
    let mut word_start = 0;
    let mut in_word = false;
    let mut all_digits = true;
    let mut last_mark = LastMark::Break;
    let mut previous = ' ';
    let mut chars = text.chars().peekable();
    let end_word = |out: &mut String, word_start: usize, all_digits: bool| {
        if all_digits {
            out.truncate(word_start);
            out.push_str(NUMBER);
        }
        out.push(' ');
    };
    while let Some(c) = chars.next() {
        if c == super::relevance::TATWEEL && super::relevance::stretches(chars.peek().copied()) {
            continue;
        }
        if super::relevance::is_word_char(c) {
            if !in_word {
                word_start = out.len();
                in_word = true;
                all_digits = true;
            }
            all_digits = all_digits && super::relevance::is_numeric(c);
            super::relevance::push_folded(&mut out, c);
        } else {
            let next = chars.peek().copied().unwrap_or(' ');
            // "2.400", "13,5" and "10:30" are one number, not a sentence end.
            let in_number =
                matches!(c, '.' | ',' | ':') && previous.is_ascii_digit() && next.is_ascii_digit();
            if !in_number {
                if in_word {
                    end_word(&mut out, word_start, all_digits);
                    in_word = false;
                    last_mark = LastMark::Word;
                }
                let sentence_end =
                    matches!(c, '.' | '!' | '?' | ';' | '\n' | '؟' | '።' | '。' | '…');
                let clause_end = matches!(c, ',' | ':' | '،' | '፣' | '؛' | '–' | '—');
                if sentence_end && last_mark != LastMark::Break {
                    if last_mark == LastMark::Clause {
                        out.truncate(out.len() - CLAUSE.len() - 1);
                    }
                    out.push_str(BREAK);
                    out.push(' ');
                    last_mark = LastMark::Break;
                } else if clause_end && last_mark == LastMark::Word {
                    out.push_str(CLAUSE);
                    out.push(' ');
                    last_mark = LastMark::Clause;
                }
            }
        }
        previous = c;
    }
    if in_word {
        end_word(&mut out, word_start, all_digits);
    }
    out
}

/// A word of a cue file's lists as it reads in [`normalise_cues`]d text: lower case, and
/// letters written several ways folded to one (Persian "نیست" has the yeh that the text
/// folds to Arabic's), so that the two compare.
fn as_in_text(word: &str) -> String {
    normalise_cues(word).trim().to_string()
}

/// What a negator or intensifier must be, as the error says it.
const ONE_WORD: &str = "is not one word: negators and intensifiers are single words of letters, each compared with one word of the text (\"niet\" already turns \"helemaal niet onbeleefd\" round)";

/// A negator or intensifier as the text is compared with it; `None` when it is not one
/// word of letters (a phrase, `*` or nothing would never match, without a word).
fn one_word(word: &str) -> Option<String> {
    let read = as_in_text(word);
    let letters = word
        .trim()
        .chars()
        .all(|c| super::relevance::is_word_char(c) || matches!(c, '\'' | '\u{2019}'));
    (letters && !read.is_empty() && !read.contains(' ')).then_some(read)
}

/// A cue's reason as shown: `nl/grief:schandalig(+2.0 intensified)`. Written by hand:
/// float formatting was a noticeable share of the pipeline's cost.
fn cue_reason(cue_id: &str, term: &str, weight: f64, note: &str) -> String {
    let mut out = String::with_capacity(cue_id.len() + term.len() + 8 + note.len());
    out.push_str(cue_id);
    out.push(':');
    out.push_str(term);
    out.push('(');
    super::model::push_fixed(&mut out, weight, 1, true);
    out.push_str(note);
    out.push(')');
    out
}

/// The matcher needle for a cue term: `#`, like any number written out, is any number
/// (the text holds every number as [`NUMBER`]: "10/10" reads "0 0"). A term of numbers
/// alone is refused: it would count in every mention with a figure.
fn cue_needle(term: &str) -> Result<String, &'static str> {
    let words: Vec<&str> = term
        .split_whitespace()
        .map(|w| {
            let digits = w.trim_end_matches('*');
            let is_number =
                w == "#" || (!digits.is_empty() && digits.chars().all(char::is_numeric));
            if is_number {
                NUMBER
            } else {
                w
            }
        })
        .collect();
    let needle = needle(&words.join(" "))?;
    let only_numbers = needle
        .split([' ', super::terms::CONTINUES])
        .filter(|w| !w.is_empty())
        .all(|w| w == NUMBER);
    if only_numbers {
        return Err("is only a number; it would count in every mention with a figure (pair it with a word: \"al # maanden\")");
    }
    Ok(needle)
}

impl ComplaintRules {
    /// Loads every `*.toml` in `dir`.
    pub fn load_dir(dir: &Path) -> Result<ComplaintRules, TopicError> {
        let rules = ComplaintRules::load_cues(dir)?;
        let path = dir.join(MODEL_FILE);
        if !path.exists() {
            return Ok(rules);
        }
        let model = WordModel::load(&path)?;
        Ok(rules.with_model(Some(model)))
    }

    /// Only the cue files of `dir`, never its model: what `webcare train` judges with,
    /// so that a damaged model file can be replaced by training a new one.
    pub fn load_cues(dir: &Path) -> Result<ComplaintRules, TopicError> {
        ComplaintRules::from_sources(&super::relevance::read_rule_files(dir)?)
    }

    /// The same cues with another learned model (or none: the cues decide alone).
    pub fn with_model(mut self, model: Option<WordModel>) -> ComplaintRules {
        self.model = model;
        self
    }

    /// The learned model, if one is loaded.
    pub fn model(&self) -> Option<&WordModel> {
        self.model.as_ref()
    }

    /// Compiles cue files given as (path, TOML text); the file stem prefixes cue ids.
    pub fn from_sources(files: &[(PathBuf, String)]) -> Result<ComplaintRules, TopicError> {
        let mut cues = Vec::new();
        let mut terms = Vec::new();
        let mut needles = Vec::new();
        let mut negators: FxHashMap<String, FxHashSet<String>> = FxHashMap::default();
        let mut negators_after: FxHashMap<String, FxHashSet<String>> = FxHashMap::default();
        let mut intensifiers = FxHashSet::default();
        // Each term counts once: listed twice, it would count twice, also when it is in
        // two files (the cues of every file are read in every mention; a copy of a file
        // kept beside it would count every term twice).
        let mut cue_of_needle: FxHashMap<String, String> = FxHashMap::default();
        for (path, text) in files {
            let file: CueFile = toml::from_str(text).map_err(|e| TopicError::Parse {
                path: path.clone(),
                message: e.to_string().trim_end().to_string(),
            })?;
            let invalid = |span: std::ops::Range<usize>, message: String| TopicError::Invalid {
                path: path.clone(),
                line: crate::config::line_of(text, span.start),
                message,
            };
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let words = |list: &[Spanned<String>], key: &str| {
                list.iter()
                    .map(|w| {
                        one_word(w.get_ref()).ok_or_else(|| {
                            invalid(w.span(), format!("`{key}`: {:?} {ONE_WORD}", w.get_ref()))
                        })
                    })
                    .collect::<Result<Vec<String>, TopicError>>()
            };
            negators
                .entry(stem.clone())
                .or_default()
                .extend(words(&file.negators, "negators")?);
            negators_after
                .entry(stem.clone())
                .or_default()
                .extend(words(&file.negators_after, "negators_after")?);
            intensifiers.extend(words(&file.intensifiers, "intensifiers")?);
            if file.cue.is_empty()
                && file.negators.is_empty()
                && file.negators_after.is_empty()
                && file.intensifiers.is_empty()
            {
                // Most likely cut short: a language would silently lose its cues.
                return Err(TopicError::Parse {
                    path: path.clone(),
                    message: "no cues, negators or intensifiers; a cue file holds [[cue]] tables"
                        .into(),
                });
            }
            let mut ids = FxHashSet::default();
            for raw in file.cue {
                let id = format!("{stem}/{}", raw.id.get_ref());
                if !ids.insert(id.clone()) {
                    return Err(invalid(
                        raw.id.span(),
                        format!("cue id {:?} is used twice in this file; each cue needs its own, as complaint_why names it", raw.id.get_ref()),
                    ));
                }
                let weight = *raw.weight.get_ref();
                if !weight.is_finite() || weight == 0.0 || weight.abs() > 10.0 {
                    return Err(invalid(
                        raw.weight.span(),
                        format!("cue {id:?}: weight must be a non-zero number from -10 to 10"),
                    ));
                }
                if raw.any.get_ref().is_empty() {
                    return Err(invalid(raw.any.span(), format!("cue {id:?} has no terms")));
                }
                let index = cues.len();
                for term in raw.any.get_ref() {
                    let n = cue_needle(term).map_err(|problem| {
                        invalid(
                            raw.any.span(),
                            format!("cue {id:?}: term {term:?} {problem}"),
                        )
                    })?;
                    match cue_of_needle.get(&n) {
                        // Two spellings that read the same (case, hamza forms): once.
                        Some(other) if *other == id => continue,
                        Some(other) => {
                            return Err(invalid(
                                raw.any.span(),
                                format!("cue {id:?}: term {term:?} is in cue {other:?} already; a term counts in one cue only"),
                            ))
                        }
                        None => {
                            cue_of_needle.insert(n.clone(), id.clone());
                        }
                    }
                    needles.push(n);
                    terms.push(Term {
                        cue: index,
                        text: term.clone(),
                        negated_already: false,
                    });
                }
                cues.push((id, weight));
            }
        }
        let all_negators: FxHashSet<String> = negators.values().flatten().cloned().collect();
        let all_negators_after: FxHashSet<String> =
            negators_after.values().flatten().cloned().collect();
        for term in &mut terms {
            let folded = as_in_text(&term.text.replace('*', " "));
            let mut words = folded.split_whitespace();
            let first = words.next().unwrap_or("");
            let last = words.next_back().unwrap_or(first);
            term.negated_already =
                all_negators.contains(first) || all_negators_after.contains(last);
        }
        let matcher = TermMatcher::new(&needles).map_err(|e| TopicError::Parse {
            path: PathBuf::from("complaint"),
            message: format!("cannot compile the complaint terms: {e}"),
        })?;
        Ok(ComplaintRules {
            cues,
            terms,
            matcher,
            negators,
            all_negators,
            negators_after,
            all_negators_after,
            intensifiers,
            model: None,
        })
    }

    /// Judges `text` (title and body as the user sees them) written in `lang` (an ISO
    /// code, or `und`: then every language's negation words apply).
    pub fn judge(&self, text: &str, lang: &str) -> Complaint {
        self.judge_with(text, lang, self.model.as_ref())
    }

    /// As [`ComplaintRules::judge`], with another learned model or none (for training
    /// and measuring a model before it is written).
    pub fn judge_with(&self, text: &str, lang: &str, model: Option<&WordModel>) -> Complaint {
        let normalised = normalise_cues(text);
        let found = FeatureSet::of(&normalised);
        self.judge_normalised_with(text, &normalised, &found, lang, model)
    }

    /// [`ComplaintRules::judge`] on `text` already passed through [`normalise_cues`]
    /// (`normalised`, whose model features are `found`), so that the aspect model and
    /// the complaint share one normalisation and one feature hashing.
    pub fn judge_normalised(
        &self,
        text: &str,
        normalised: &str,
        found: &FeatureSet,
        lang: &str,
    ) -> Complaint {
        self.judge_normalised_with(text, normalised, found, lang, self.model.as_ref())
    }

    fn judge_normalised_with(
        &self,
        text: &str,
        normalised: &str,
        found: &FeatureSet,
        lang: &str,
        model: Option<&WordModel>,
    ) -> Complaint {
        let negators = match (self.negators.get(lang), self.negators.get("intl")) {
            (Some(own), _) => own,
            (None, _) => &self.all_negators,
        };
        let intl = self.negators.get("intl");
        let is_negator = |w: &str| negators.contains(w) || intl.is_some_and(|n| n.contains(w));
        let negators_after = self
            .negators_after
            .get(lang)
            .unwrap_or(&self.all_negators_after);
        let is_negator_after = |w: &str| negators_after.contains(w);
        let mut score = 0.0;
        let mut why = Vec::new();
        // A term does not reach across a clause mark, as negation does not: "luisteren,
        // niet invullen" is not the grievance "luisteren niet" (on the building data,
        // terms matched across commas changed decisions only for the worse).
        let matches = self.longest_matches(normalised);
        let turns = has_contrast(normalised);
        for (i, &(start, end, term)) in matches.iter().enumerate() {
            // The same word may be a term of two files ("super", "süper").
            let next = matches[i + 1..].iter().find(|next| next.0 > start);
            if self.intensifies_the_next(normalised, (start, end), next) {
                continue;
            }
            let (cue_id, weight) = &self.cues[term.cue];
            let before = last_words(&normalised[..start], NEGATION_REACH);
            let negated = !term.negated_already
                && (before.iter().any(|w| is_negator(w))
                    || next_words(after_match(normalised, end), NEGATION_REACH_AFTER)
                        .any(is_negator_after));
            let intensified = before
                .last()
                .is_some_and(|w| self.intensifiers.contains(*w));
            let mut w = *weight;
            let mut note = "";
            if negated {
                w *= NEGATED;
                note = " negated";
            } else if intensified {
                w *= INTENSIFIED;
                note = " intensified";
            }
            if turns && contrasted_later(after_match(normalised, end)) {
                w *= CONTRASTED;
                note = match note {
                    " negated" => " negated, before but",
                    " intensified" => " intensified, before but",
                    _ => " before but",
                };
            }
            score += w;
            why.push(cue_reason(cue_id, &term.text, w, note));
        }
        if score > 0.0 && has_emphasis(text) {
            score += EMPHASIS;
            why.push(format!("emphasis(+{EMPHASIS:.1})"));
        }
        // Fewer words give the model nothing to weigh but an institution's name ("IND?"
        // was a complaint by the weight of "ind"): the cues decide alone.
        let enough = super::model::has_words_to_weigh(normalised) && has_words_of_its_own(text);
        let Some(model) = model.filter(|_| enough) else {
            return Complaint {
                complaint: score >= THRESHOLD,
                score: squash(score),
                why,
            };
        };
        let judged = model.judge_set(normalised, found, &[], MODEL_REASONS);
        why.push(super::model::reason(
            judged.probability,
            &judged.contributions,
        ));
        let mixed = (1.0 - MODEL_SHARE) * squash(score) + MODEL_SHARE * judged.probability;
        // Decided on the score as shown (rounded), so that the two can never disagree.
        let score = rescale(mixed);
        Complaint {
            complaint: score >= 0.5,
            score,
            why,
        }
    }

    /// Whether the cue found at `start..end` is an intensifier right before the `next`
    /// cue ("super rude", "echt waardeloos"): it makes that one stronger and is no cue
    /// of its own there, so German and Turkish praise "super" is no praise in "super
    /// onbeleefd".
    fn intensifies_the_next(
        &self,
        normalised: &str,
        (start, end): (usize, usize),
        next: Option<&(usize, usize, &Term)>,
    ) -> bool {
        // Needles carry their boundary spaces: the next cue may begin with this one's.
        next.is_some_and(|&(next_start, _, _)| {
            normalised
                .get(end..next_start.max(end))
                .is_some_and(|gap| gap.trim().is_empty())
        }) && normalised
            .get(start..end)
            .is_some_and(|word| self.intensifiers.contains(word.trim()))
    }

    /// Every distinct term found, each once, dropping matches inside a longer one
    /// ("geen" inside "nog steeds geen").
    fn longest_matches<'a>(&'a self, normalised: &str) -> Vec<(usize, usize, &'a Term)> {
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        self.matcher
            .for_each_match(normalised, |pattern, start, end| {
                found.push((start, end, pattern));
            });
        // Longest first at each start, so containment checks see the outer match first.
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut kept: Vec<(usize, usize, &Term)> = Vec::new();
        let mut seen_terms: FxHashSet<usize> = FxHashSet::default();
        for (start, end, pattern) in found {
            // Needles carry their boundary spaces, so compare the words inside them.
            let inside = kept
                .iter()
                .any(|(s, e, _)| *s <= start && end <= *e && (*s, *e) != (start, end));
            if inside || !seen_terms.insert(pattern) {
                continue;
            }
            kept.push((start, end, &self.terms[pattern]));
        }
        kept
    }

    /// Number of cues loaded (for the startup log).
    pub fn cue_count(&self) -> usize {
        self.cues.len()
    }
}

/// Words that set what follows against what came before in a sentence ("geen problemen
/// met de tolk, maar het rapport zat vol fouten"): the writer's point is after them.
const CONTRASTS: &[&str] = &[
    "maar", "but", "aber", "mais", "pero", "ama", "fakat", "но", "але", "لكن", "ولكن", "اما", "ولی",
];

/// Factor for a cue before a contrast in its sentence.
const CONTRASTED: f64 = 0.5;

/// Whether normalised text (words between single spaces) holds a word of [`CONTRASTS`]
/// at all: most do not, and then no cue's sentence is read for one.
fn has_contrast(normalised: &str) -> bool {
    // A substring search each: cheaper than one automaton over every byte (callgrind).
    static SPACED: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| CONTRASTS.iter().map(|w| format!(" {w} ")).collect());
    SPACED.iter().any(|w| normalised.contains(w.as_str()))
}

/// Whether the rest of a cue's sentence (`after` it, normalised) turns to a contrast.
fn contrasted_later(after: &str) -> bool {
    after
        .split_whitespace()
        .take_while(|w| *w != super::model::BREAK)
        .any(|w| CONTRASTS.contains(&w))
}

/// Whether `text` has a word that is no hashtag or handle. Tags alone ("#IND #asiel
/// #terapel #coa") or accounts alone ("@IND_NL @COAnl") say what a post is about, not
/// that anything went wrong: the model, which knows those words from complaints, is not
/// asked (the cues still count).
fn has_words_of_its_own(text: &str) -> bool {
    text.split_whitespace()
        .any(|w| !w.starts_with(['#', '@']) && w.chars().any(char::is_alphanumeric))
}

/// Up to `n` last words of normalised text, back to a sentence end or a clause mark.
fn last_words(text: &str, n: usize) -> Vec<&str> {
    let mut words: Vec<&str> = text
        .split_whitespace()
        .rev()
        .take_while(|w| !is_mark(w))
        .take(n)
        .collect();
    words.reverse();
    words
}

/// The text after a match that ends at `end`, from the next whole word: a term such as
/// `kötü*` ends inside "kötüydü".
fn after_match(normalised: &str, end: usize) -> &str {
    let rest = normalised.get(end..).unwrap_or_default();
    if normalised[..end].ends_with(' ') || rest.starts_with(' ') {
        return rest;
    }
    rest.find(' ').map_or("", |at| &rest[at..])
}

/// Up to `n` first words of normalised text, up to a sentence end or a clause mark.
fn next_words(text: &str, n: usize) -> impl Iterator<Item = &str> {
    text.split_whitespace().take_while(|w| !is_mark(w)).take(n)
}

/// `!!`, `?!`, `!?` or `??`: the writer raising their voice.
fn has_emphasis(raw: &str) -> bool {
    // Two marks in a row; most bytes are no mark, and the second is then not read.
    let mark = |b: u8| b == b'!' || b == b'?';
    raw.as_bytes().windows(2).any(|w| mark(w[0]) && mark(w[1]))
}

/// Maps a mixed score onto 0..1 with 0.5 at [`MIXED_THRESHOLD`], linear on each side.
fn rescale(mixed: f64) -> f64 {
    let scaled = if mixed < MIXED_THRESHOLD {
        0.5 * mixed / MIXED_THRESHOLD
    } else {
        0.5 + 0.5 * (mixed - MIXED_THRESHOLD) / (1.0 - MIXED_THRESHOLD)
    };
    (scaled.clamp(0.0, 1.0) * 1000.0).round() / 1000.0
}

/// Maps the raw score onto 0..1, 0.5 at the threshold.
fn squash(raw: f64) -> f64 {
    let p = 1.0 / (1.0 + (-(raw - THRESHOLD) * 1.5).exp());
    (p * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_marks_in_a_row_are_emphasis() {
        for (text, emphasis) in [
            ("Echt?!", true),
            ("Nee!!", true),
            ("Wat?? Weer niets", true),
            ("Hoe lang nog!?", true),
            ("Wat? Nee! Waarom?", false),
            ("!", false),
            ("", false),
            ("؟!", false),
        ] {
            assert_eq!(has_emphasis(text), emphasis, "{text:?}");
        }
    }

    const NL: &str = r#"
negators = ["niet", "geen", "nooit"]
intensifiers = ["heel", "erg"]

[[cue]]
id = "grievance"
weight = 2.0
any = ["slecht", "schandalig", "geen antwoord", "nog steeds geen"]

[[cue]]
id = "praise"
weight = -2.0
any = ["vriendelijk", "dank*"]

[[cue]]
id = "question"
weight = -1.0
any = ["weet iemand"]
"#;

    fn rules() -> ComplaintRules {
        ComplaintRules::from_sources(&[(PathBuf::from("c/nl.toml"), NL.to_string())]).unwrap()
    }

    #[test]
    fn a_term_counts_once_and_in_one_cue_only() {
        let load = |text: &str| {
            ComplaintRules::from_sources(&[(PathBuf::from("c/nl.toml"), text.to_string())])
        };
        let once = load("[[cue]]\nid = \"g\"\nweight = 0.6\nany = [\"schandalig*\"]\n").unwrap();
        let twice =
            load("[[cue]]\nid = \"g\"\nweight = 0.6\nany = [\"schandalig*\", \"Schandalig*\"]\n")
                .unwrap();
        let text = "Schandalig, de IND.";
        assert_eq!(once.judge(text, "nl"), twice.judge(text, "nl"));
        let err = load(
            "[[cue]]\nid = \"g\"\nweight = 1.0\nany = [\"slecht\"]\n\n[[cue]]\nid = \"p\"\nweight = -1.0\nany = [\"goed\", \"slecht\"]\n",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.starts_with("c/nl.toml:9: cue \"nl/p\": term \"slecht\" is in cue \"nl/g\""),
            "{err}"
        );
    }

    /// The cues `config/complaint/` ships, without the learned model.
    fn shipped_cues() -> ComplaintRules {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/complaint");
        ComplaintRules::load_cues(&dir).unwrap()
    }

    /// "Was not good" is a grievance although "good" speaks for praise: the shipped cues
    /// say so in each language; "niet goed verstaan" (not understanding well) is no cue.
    #[test]
    fn the_shipped_cues_take_was_not_good_for_a_grievance() {
        let cues = shipped_cues();
        for (text, lang) in [
            ("De tolk bij de IND was niet goed.", "nl"),
            ("The interpreter at the IND was not good.", "en"),
            ("Der Dolmetscher war nicht gut.", "de"),
            ("El intérprete no fue bueno.", "es"),
            ("Le traducteur n'était pas bon.", "fr"),
            ("المترجم مش كويس", "ar"),
            ("مترجم خوب نبود", "fa"),
        ] {
            let c = cues.judge(text, lang);
            assert!(c.complaint, "{text}: {c:?}");
        }
        let tip = cues.judge("Je mag zeggen dat je de tolk niet goed verstaat.", "nl");
        assert!(!tip.complaint, "{tip:?}");
    }

    /// Every language's cues are read in every post: a short prefix of one language must
    /// not begin everyday words of another.
    #[test]
    fn the_shipped_cues_of_one_language_leave_everyday_words_of_another_alone() {
        let cues = shipped_cues();
        for (text, lang) in [
            (
                "Gefeliciteerd met je verblijfsvergunning, gefietst naar het gemeentehuis",
                "nl",
            ),
            (
                "Ich wurde gefragt, ob Geflüchtete hier gefeiert haben",
                "de",
            ),
        ] {
            let judged = cues.judge(text, lang);
            let foreign: Vec<&String> = judged
                .why
                .iter()
                .filter(|w| !w.starts_with(&format!("{lang}/")))
                .collect();
            assert!(foreign.is_empty(), "{text}: {foreign:?}");
        }
    }

    #[test]
    fn an_empty_cue_file_is_refused() {
        let err = ComplaintRules::from_sources(&[(PathBuf::from("c/nl.toml"), "\n".into())])
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("c/nl.toml: no cues"), "{err}");
    }

    #[test]
    fn grievance_counts_and_says_why() {
        let c = rules().judge("Schandalig hoe de IND met ons omgaat.", "nl");
        assert!(c.complaint);
        assert!(c.score > 0.5, "{c:?}");
        assert_eq!(c.why, vec!["nl/grievance:schandalig(+2.0)"]);
    }

    #[test]
    fn negation_turns_a_cue_round() {
        let c = rules().judge("Het gehoor was niet slecht eigenlijk.", "nl");
        assert!(!c.complaint, "{c:?}");
        assert!(c.why[0].contains("negated"), "{c:?}");
        let c = rules().judge("De medewerker was niet vriendelijk.", "nl");
        assert!(c.complaint, "{c:?}");
    }

    #[test]
    fn a_term_that_is_a_negation_is_not_turned_round() {
        let c = rules().judge("Na een jaar nog steeds geen antwoord.", "nl");
        assert!(c.complaint, "{c:?}");
        // "geen antwoord" and "nog steeds geen" overlap but are different terms.
        assert!(c.why.iter().all(|w| !w.contains("negated")), "{c:?}");
    }

    #[test]
    fn intensity_and_emphasis_raise_the_score() {
        let plain = rules().judge("Dat was slecht.", "nl");
        let strong = rules().judge("Dat was heel slecht!!", "nl");
        assert!(strong.score > plain.score, "{plain:?} {strong:?}");
        assert!(strong.why.iter().any(|w| w.contains("intensified")));
        assert!(strong.why.iter().any(|w| w.starts_with("emphasis")));
    }

    #[test]
    fn an_intensifier_that_is_also_praise_makes_the_next_cue_stronger() {
        let cues = shipped_cues();
        for (text, lang) in [
            ("The IND officer was super rude to my mother.", "en"),
            (
                "De IND-medewerker was super onbeleefd tijdens mijn gehoor.",
                "nl",
            ),
        ] {
            let c = cues.judge(text, lang);
            assert!(c.complaint, "{text}: {c:?}");
            assert!(c.why.iter().all(|w| !w.contains("praise")), "{text}: {c:?}");
            assert!(
                c.why.iter().any(|w| w.contains("intensified")),
                "{text}: {c:?}"
            );
        }
        // Where it stands on its own, it is praise, once: one file lists it (the cues of
        // every file are read in every mention).
        let c = cues.judge("Das Gespräch bei der IND war super.", "de");
        let praise: Vec<&String> = c.why.iter().filter(|w| w.contains("praise:")).collect();
        assert_eq!(praise, ["de/praise:super(-2.0)"], "{c:?}");
        let c = cues.judge("IND görüşmesi süper geçti.", "tr");
        assert!(c.why.iter().any(|w| w.contains("de/praise:super")), "{c:?}");
    }

    #[test]
    fn what_follows_but_outweighs_what_came_before() {
        let praised_first = rules().judge(
            "De tolk was vriendelijk, maar het rapport was slecht.",
            "nl",
        );
        assert!(praised_first.complaint, "{praised_first:?}");
        assert!(
            praised_first
                .why
                .contains(&"nl/praise:vriendelijk(-1.0 before but)".to_string()),
            "{praised_first:?}"
        );
        let praised_last = rules().judge(
            "Het rapport was slecht, maar de tolk was vriendelijk.",
            "nl",
        );
        assert!(!praised_last.complaint, "{praised_last:?}");
        // Only within its sentence.
        let apart = rules().judge(
            "De tolk was vriendelijk. Maar goed, het rapport was slecht.",
            "nl",
        );
        assert!(
            apart
                .why
                .contains(&"nl/praise:vriendelijk(-2.0)".to_string()),
            "{apart:?}"
        );
    }

    #[test]
    fn praise_questions_and_neutral_text_are_not_complaints() {
        for text in [
            "Dank aan de vriendelijke tolk",
            "Weet iemand hoe lang het duurt?",
            "De IND publiceert nieuwe cijfers.",
            "",
        ] {
            let c = rules().judge(text, "nl");
            assert!(!c.complaint, "{text}: {c:?}");
        }
        assert_eq!(rules().judge("", "nl").score, squash(0.0));
    }

    #[test]
    fn negation_stops_at_the_sentence_end_and_belongs_to_its_language() {
        // "geen" ends its sentence: it does not turn "schandalig" round.
        let c = rules().judge("Nog geen besluit. Schandalig!", "nl");
        assert!(c.complaint && !c.why[0].contains("negated"), "{c:?}");
        // Dutch negators do not apply to text known to be in another language.
        let c = rules().judge("geen schandalig", "xx");
        assert!(
            !c.complaint,
            "unknown language: every negator applies: {c:?}"
        );
        let other = ComplaintRules::from_sources(&[
            (PathBuf::from("c/nl.toml"), NL.to_string()),
            (
                PathBuf::from("c/en.toml"),
                "[[cue]]\nid = \"g\"\nweight = 2.0\nany = [\"terrible\"]\n".to_string(),
            ),
        ])
        .unwrap();
        let c = other.judge("geen terrible", "en");
        assert!(c.complaint, "a Dutch word does not negate English: {c:?}");
    }

    #[test]
    fn negation_stops_at_a_comma_colon_or_dash() {
        // Praise after a negated grievance stands: "niet slecht, heel vriendelijk".
        let c = rules().judge("De medewerker was niet slecht, heel vriendelijk", "nl");
        assert!(
            c.why
                .iter()
                .any(|w| w.contains("praise:vriendelijk(-3.0 intensified)")),
            "{c:?}"
        );
        for text in [
            "Niet te geloven: schandalig",
            "Niet te geloven – schandalig",
            "Niet te geloven, schandalig",
        ] {
            let c = rules().judge(text, "nl");
            assert!(
                c.complaint && !c.why[0].contains("negated"),
                "{text}: {c:?}"
            );
        }
        // Nor does a term: "luisteren, niet invullen" is not "luisteren niet".
        let nl = ComplaintRules::from_sources(&[(
            PathBuf::from("c/nl.toml"),
            "[[cue]]\nid = \"failing\"\nweight = 2.0\nany = [\"luisteren niet\"]\n".to_string(),
        )])
        .unwrap();
        assert!(nl.judge("Ze luisteren niet.", "nl").complaint);
        assert!(
            !nl.judge("Wat ik leerde: luisteren, niet invullen.", "nl")
                .complaint
        );
        // A number's comma or colon is no clause mark, and marks are not repeated.
        assert_eq!(
            normalise_cues("Om 10:30, na 13,5 uur: niets."),
            " om 0 / na 0 uur / niets | "
        );
        assert_eq!(normalise_cues("Nee, ... echt"), " nee | echt ");
    }

    #[test]
    fn a_negation_written_after_the_word_turns_it_round() {
        let tr = r#"
negators_after = ["değil", "değildi"]

[[cue]]
id = "grievance"
weight = 2.0
any = ["kaba", "kötü*", "iyi değil"]
"#;
        let rules =
            ComplaintRules::from_sources(&[(PathBuf::from("c/tr.toml"), tr.to_string())]).unwrap();
        for text in ["Tercüman kaba değildi.", "Kamp kötü değil, temiz."] {
            let c = rules.judge(text, "tr");
            assert!(
                !c.complaint && c.why[0].contains("negated"),
                "{text}: {c:?}"
            );
        }
        // A term that ends inside a word ("kötü*" in "kötüymüş") reads on from the next.
        let text = " kamp kötüymüş değil ";
        assert_eq!(after_match(text, " kamp kötü".len()), " değil ");
        assert_eq!(after_match(text, " kamp kötüymüş".len()), " değil ");
        // Not past a clause mark, not further than two words, not when the term holds it.
        for text in [
            "Tercüman kaba, değildi",
            "Tercüman kaba ve çok yavaş değildi",
            "Tercüman iyi değil",
        ] {
            let c = rules.judge(text, "tr");
            assert!(
                c.complaint && !c.why[0].contains("negated"),
                "{text}: {c:?}"
            );
        }
        // The lists are read as the text is: Persian "نیست" is written with the yeh that
        // the text folds to Arabic's.
        let fa = ComplaintRules::from_sources(&[(
            PathBuf::from("c/fa.toml"),
            "negators_after = [\"نیست\"]\nintensifiers = [\"خیلی\"]\n[[cue]]\nid = \"g\"\nweight = 2.0\nany = [\"بد\"]\n"
                .to_string(),
        )])
        .unwrap();
        assert!(fa.judge("اینجا بد نیست", "fa").why[0].contains("negated"));
        assert!(fa.judge("خیلی بد بود", "fa").why[0].contains("intensified"));
        // Another language's after-negators do not apply to Turkish-free text.
        let c = rules.judge("kaba değildi", "nl");
        assert!(
            c.why[0].contains("negated"),
            "a language without its own list: {c:?}"
        );
    }

    #[test]
    fn a_hash_in_a_term_is_any_number() {
        let rules = ComplaintRules::from_sources(&[(
            PathBuf::from("c/nl.toml"),
            "[[cue]]\nid = \"w\"\nweight = 1.5\nany = [\"al # maanden\"]\n".to_string(),
        )])
        .unwrap();
        assert!(
            rules
                .judge("Ik wacht al 14 maanden op de IND", "nl")
                .complaint
        );
        assert!(!rules.judge("Ik wacht al maanden", "nl").complaint);
        assert_eq!(
            normalise_cues("Op 2.400 plekken. Nu!"),
            " op 0 plekken | nu | "
        );
    }

    #[test]
    fn a_model_mixes_in_and_half_is_still_the_decision_point() {
        let examples: Vec<(String, bool)> = [
            ("wachten wachten en nog eens wachten", true),
            ("weer wachten, niemand belt terug", true),
            ("al maanden wachten op een brief", true),
            ("nieuwe cijfers over de opvang", false),
            ("de ind publiceert cijfers", false),
            ("cijfers van het coa over de opvang", false),
        ]
        .iter()
        .map(|(t, y)| (normalise_cues(t), *y))
        .collect();
        let model = super::super::model::train(&examples, Default::default());
        let rules = rules().with_model(Some(model));
        // No cue at all, yet the model knows this wording.
        let c = rules.judge("Wachten, wachten, wachten.", "nl");
        assert!(c.complaint, "{c:?}");
        let reason = c.why.last().unwrap();
        assert!(
            reason.starts_with("model:") && reason.contains("wachten(+"),
            "{c:?}"
        );
        for text in [
            "Wachten, wachten, wachten.",
            "Nieuwe cijfers van de IND.",
            "Schandalig!",
            "Dank aan de vriendelijke tolk",
            "",
        ] {
            let c = rules.judge(text, "nl");
            assert_eq!(c.complaint, c.score >= 0.5, "{text}: {c:?}");
            assert!((0.0..=1.0).contains(&c.score), "{text}: {c:?}");
        }
        assert!(
            !rules
                .judge("Nieuwe cijfers over de opvang.", "nl")
                .complaint
        );
        // The cues alone decide again without the model.
        assert!(
            !rules
                .with_model(None)
                .judge("Wachten, wachten.", "nl")
                .complaint
        );
    }

    #[test]
    fn bad_weight_names_file_and_line() {
        let text = "[[cue]]\nid = \"x\"\nweight = 0.0\nany = [\"a\"]\n";
        let err = ComplaintRules::from_sources(&[(PathBuf::from("c/en.toml"), text.into())])
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("c/en.toml:3:"), "{err}");
    }

    #[test]
    fn negators_and_intensifiers_are_single_words() {
        for (list, word) in [
            ("negators", "helemaal niet"),
            ("negators", ""),
            ("negators_after", "değil mi"),
            ("intensifiers", "*"),
            ("intensifiers", "heel*"),
        ] {
            let text = format!("# x\n{list} = [\"niet\",\n  \"{word}\"]\n");
            let err = ComplaintRules::from_sources(&[(PathBuf::from("c/nl.toml"), text)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.starts_with("c/nl.toml:3:")
                    && err.contains(&format!("`{list}`: {word:?} is not one word")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_term_in_two_files_is_refused_as_it_would_count_twice() {
        let cue = "[[cue]]\nid = \"personal\"\nweight = 0.4\nany = [\"mijn dochter\"]\n";
        let err = ComplaintRules::from_sources(&[
            (PathBuf::from("c/nl.toml"), cue.to_string()),
            (PathBuf::from("c/nl - kopie.toml"), cue.to_string()),
        ])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.starts_with("c/nl - kopie.toml:4:")
                && err.contains("term \"mijn dochter\" is in cue \"nl/personal\" already"),
            "{err}"
        );
    }

    #[test]
    fn edits_that_would_never_match_or_match_everything_are_refused() {
        let load = |cues: &str| {
            ComplaintRules::from_sources(&[(PathBuf::from("c/nl.toml"), cues.to_string())])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let cue = |any: &str| format!("[[cue]]\nid = \"x\"\nweight = 1.0\nany = [{any}]\n");
        for (any, problem) in [
            ("\"kwak*el\"", "has a * inside a word"),
            (
                "\"kwakkelburo, kwakkelbak\"",
                "two terms in one pair of quotes",
            ),
            ("\"#\"", "is only a number"),
            ("\"2023\"", "is only a number"),
            ("\"2023*\"", "is only a number"),
            ("\"# %\"", "a sign that matching does not read"),
        ] {
            let err = load(&cue(any));
            assert!(
                err.starts_with("c/nl.toml:4:") && err.contains(problem),
                "{any}: {err}"
            );
        }
        // A number with a word is fine, and a number written out is any number.
        assert_eq!(load(&cue("\"al # maanden\"")), "");
        let rules = ComplaintRules::from_sources(&[(
            PathBuf::from("c/en.toml"),
            cue("\"10 10 would recommend\""),
        )])
        .unwrap();
        assert!(
            rules.judge("10/10 would recommend the IND desk", "en").why[0]
                .contains("would recommend")
        );
        let twice = format!("{}{}", cue("\"a\""), cue("\"b\""));
        let err = load(&twice);
        assert!(
            err.starts_with("c/nl.toml:6:") && err.contains("used twice"),
            "{err}"
        );
    }
}
