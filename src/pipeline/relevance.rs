//! Relevance: is a mention about the Dutch asylum procedure at all?
//!
//! Decided by topic rules that the webcare team edits in `config/topics/*.toml` (one file
//! per language, plus any others). Every decision names the rule and the terms that made
//! it, so a wrong call can be traced to a line in a file.
//!
//! A rule matches when *any* of its terms occurs (`any = [...]`), or when a term from
//! *every* group occurs (`all = [[...], [...]]`), and none of its `unless` terms occurs.
//! The first tier with a matching rule decides:
//! 1. a strong `exclude` → not relevant (other countries' asylum systems);
//! 2. a strong `include` → relevant (words that only mean the asylum procedure);
//! 3. an `exclude` → not relevant ("dierenasiel", cricket, …);
//! 4. an `include` → relevant;
//! 5. nothing matched → not relevant.
//!
//! Term syntax: lower-case words; `woord*` matches any word starting with `woord`,
//! `*woord` any word ending in it, `*woord*` any word containing it; several words
//! (`ter apel`) match in a row. Case and punctuation in the text do not matter.
//!
//! **The learned model** (`config/topics/model.tsv`, written by `webcare train`) weighs
//! the decisions the rules leave open, for mentions from sources marked `topical` and
//! replies in threads about the procedure (the pipeline decides which): a
//! logistic regression over the words and word pairs of the mention and what the rules
//! found (`rules:include`, `rule:nl/ind`, …). Why: people who write about the procedure
//! without naming an institution or a place ("fourteen months and still no answer about
//! my interview") match no rule; on posts by writers who never saw the rules, the rules
//! found 64–86% of the relevant ones (BENCHMARKS.md). Why only there: such a post reads
//! like an everyday complaint about any other office, and in posts about anything else
//! the model took many of those for mentions of the procedure; a source or thread about
//! the procedure is the context that tells them apart. Strong rules stay final, as their
//! tier promises; the model decides the weak tiers from probability 0.5, and where no
//! rule matched from [`MODEL_ALONE`]. Every decision the model makes names its
//! strongest features.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::mention::{Relevance, UNDETERMINED};

use super::model::{self, FeatureSet, WordModel};
use super::terms::{TermMatcher, CONTINUES};

/// The rule id recorded when nothing matched.
pub const NO_RULE: &str = "none";
/// The rule id recorded when the learned model decided against the rules.
pub const MODEL_RULE: &str = "model";
/// The name of the model file in the topics directory.
pub const MODEL_FILE: &str = "model.tsv";
/// The probability the model needs to keep a mention that no rule matched. Higher than
/// the 0.5 of the weak tiers: even a source about the procedure carries chatter about
/// anything else; at 0.7 the model took in 10 of 7,500 ordinary sentences where the
/// rules took 8, and gave up 0.01 of F1 on posts of new writers (BENCHMARKS.md).
pub const MODEL_ALONE: f64 = 0.7;
/// How many of the model's strongest features a decision names.
const MODEL_REASONS: usize = 4;
/// The model features that say which tier of rules decided.
const RULES_INCLUDE: &str = "rules:include";
const RULES_EXCLUDE: &str = "rules:exclude";
const RULES_NONE: &str = "rules:none";

/// A topic file that could not be used; names the file and, where known, the line.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("{path}: cannot read rule files: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: no rule files (*.toml) found; the pipeline needs them")]
    Empty { path: PathBuf },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicFile {
    #[serde(default)]
    include: Vec<RawRule>,
    #[serde(default)]
    exclude: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    /// For the people who edit the file; accepted so that it is not an unknown key.
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
    #[serde(default)]
    strong: bool,
    any: Option<Spanned<Vec<String>>>,
    all: Option<Spanned<Vec<Vec<String>>>>,
    #[serde(default)]
    unless: Vec<String>,
    /// Only for posts in these languages (as detected): a Dutch word of the procedure
    /// ("gehoor") is a sure sign in a post in Arabic, and ordinary Dutch in Dutch.
    #[serde(default)]
    languages: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RuleKind {
    Include,
    Exclude,
}

#[derive(Debug)]
struct Rule {
    id: String,
    kind: RuleKind,
    strong: bool,
    /// Number of term groups that must each match (1 for `any`).
    groups: usize,
    /// Whether the rule has `unless` terms (their group index is `groups`).
    has_unless: bool,
    /// Index of the rule's first slot in the flat per-judgement hit table.
    first_slot: usize,
    /// The model feature that says this rule decided (`rule:<id>`), and its key.
    flag: (String, u64),
    /// The languages of the posts it is for; empty: every post.
    languages: Vec<String>,
}

impl Rule {
    /// Whether the rule is for a post in `lang`.
    fn is_for(&self, lang: &str) -> bool {
        self.languages.is_empty() || self.languages.iter().any(|l| l == lang)
    }

    /// Decision tier: lower decides first.
    fn tier(&self) -> u8 {
        match (self.kind, self.strong) {
            (RuleKind::Exclude, true) => 0,
            (RuleKind::Include, true) => 1,
            (RuleKind::Exclude, false) => 2,
            (RuleKind::Include, false) => 3,
        }
    }
}

/// The compiled topic rules, and the learned model that weighs what they leave open.
pub struct Topics {
    rules: Vec<Rule>,
    matcher: TermMatcher,
    /// For each pattern, the term as written (for the reasons).
    terms: Vec<String>,
    /// For each pattern, the slot it fills (looked up for every match).
    pattern_slot: Vec<u32>,
    /// For each pattern, what the matcher looks for (for [`SharedScan`]).
    needles: Vec<String>,
    /// For each slot, the rule it belongs to.
    slot_rule: Vec<usize>,
    model: Option<WordModel>,
}

/// A (rule, group) slot that a term filled, and the first pattern that did (32 bits
/// each: sorted for every text).
struct Hit {
    slot: u32,
    pattern: u32,
}

/// The slots that terms filled in one text, in slot order, for the rules to decide on:
/// found by [`Topics::rule`] itself, or handed over from a [`SharedScan`].
pub struct TermHits(Vec<Hit>);

/// Gathers the hits of one text: a text fills a handful of the hundreds of slots, often
/// many times over, so a flag per slot, and the filled ones listed.
struct HitCollector {
    filled: Vec<bool>,
    hits: Vec<Hit>,
}

impl HitCollector {
    fn new(topics: &Topics) -> HitCollector {
        HitCollector {
            filled: vec![false; topics.slot_rule.len()],
            // A 300-byte post sets off a few dozen terms (the aspect lists' stems among
            // them): room for them at once rather than growing the list five times.
            hits: Vec::with_capacity(64),
        }
    }

    /// Records that `pattern` of `topics` occurs (only its first occurrence per slot).
    fn add(&mut self, topics: &Topics, pattern: usize) {
        let slot = topics.pattern_slot[pattern];
        if !std::mem::replace(&mut self.filled[slot as usize], true) {
            // Fewer patterns than `u32::MAX`: `Builder::add_rule` counts them so.
            self.hits.push(Hit {
                slot,
                pattern: pattern as u32,
            });
        }
    }

    fn finish(mut self) -> TermHits {
        // Each slot once: the keys are distinct, so an unstable sort (which allocates
        // nothing) keeps the first pattern of every slot.
        self.hits.sort_unstable_by_key(|h| h.slot);
        TermHits(self.hits)
    }
}

/// One scan of a text for the terms of two rule sets (the topic rules and the aspect
/// lists read the same normalised text): the matcher's pass over every byte is the
/// largest single cost of the pipeline, and one pass instead of two saves most of one.
pub struct SharedScan {
    matcher: TermMatcher,
    /// Patterns below this are the first set's; the rest, shifted, the second's.
    first_patterns: usize,
    second_patterns: usize,
}

impl SharedScan {
    /// A matcher for the terms of both rule sets; [`SharedScan::scan`] must be given
    /// the same two.
    pub fn new(first: &Topics, second: &Topics) -> Result<SharedScan, TopicError> {
        let needles = first.needles.iter().chain(&second.needles);
        Ok(SharedScan {
            matcher: compile(needles)?,
            first_patterns: first.needles.len(),
            second_patterns: second.needles.len(),
        })
    }

    /// The hits of each rule set in text already passed through [`normalise`].
    pub fn scan(&self, first: &Topics, second: &Topics, normalised: &str) -> [TermHits; 2] {
        debug_assert_eq!(
            (first.needles.len(), second.needles.len()),
            (self.first_patterns, self.second_patterns),
            "a shared scan is used with the rule sets it was built from"
        );
        let mut hits = [HitCollector::new(first), HitCollector::new(second)];
        self.matcher.for_each_match(normalised, |pattern, _, _| {
            match pattern.checked_sub(self.first_patterns) {
                None => hits[0].add(first, pattern),
                Some(pattern) => hits[1].add(second, pattern),
            }
        });
        hits.map(HitCollector::finish)
    }
}

/// The matcher for a rule set's needles.
fn compile<I, P>(needles: I) -> Result<TermMatcher, TopicError>
where
    I: IntoIterator<Item = P>,
    P: AsRef<str>,
{
    TermMatcher::new(needles).map_err(|e| TopicError::Parse {
        path: PathBuf::from("topics"),
        message: format!("cannot compile the topic terms: {e}"),
    })
}

/// What the rules decided, before the model weighs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ruling {
    /// The deciding rule, if one matched.
    rule: Option<usize>,
    /// The decision as the rules alone make it.
    pub relevance: Relevance,
}

impl Topics {
    /// Loads every `*.toml` file in `dir` (sorted by name, so rule order is stable), and
    /// the learned model (`model.tsv`) when the directory has one.
    pub fn load_dir(dir: &Path) -> Result<Topics, TopicError> {
        let path = dir.join(MODEL_FILE);
        let model = if path.exists() {
            Some(WordModel::load(&path)?)
        } else {
            None
        };
        Ok(Topics::load_rules(dir)?.with_model(model))
    }

    /// The rules of `dir` alone, without the model (to train a new one).
    pub fn load_rules(dir: &Path) -> Result<Topics, TopicError> {
        Topics::from_sources(&read_rule_files(dir)?)
    }

    /// These rules weighed by `model` (or by none).
    pub fn with_model(mut self, model: Option<WordModel>) -> Topics {
        self.model = model;
        self
    }

    /// The number of weighted features of the learned model, if there is one.
    pub fn model_features(&self) -> Option<usize> {
        self.model.as_ref().map(WordModel::len)
    }

    /// Compiles topic files given as (path, TOML text); the file stem prefixes rule ids.
    pub fn from_sources(files: &[(PathBuf, String)]) -> Result<Topics, TopicError> {
        Topics::from_sources_named(files, None)
    }

    /// [`Topics::load_rules`] where every rule id must be one of `allowed`, which name
    /// `what` (for the error).
    pub fn load_rules_named(
        dir: &Path,
        allowed: &'static [&'static str],
        what: &'static str,
    ) -> Result<Topics, TopicError> {
        Topics::from_sources_named(&read_rule_files(dir)?, Some((allowed, what)))
    }

    /// [`Topics::from_sources`], the rule ids checked as in [`Topics::load_rules_named`].
    pub fn from_sources_named(
        files: &[(PathBuf, String)],
        allowed: Option<(&'static [&'static str], &'static str)>,
    ) -> Result<Topics, TopicError> {
        let mut builder = Builder {
            allowed_ids: allowed,
            ..Builder::default()
        };
        for (path, text) in files {
            builder.add_file(path, text)?;
        }
        builder.build()
    }

    /// Decides whether `text`, in language `lang`, is about the asylum procedure, and
    /// why: the rules, weighed by the model when there is one.
    pub fn judge(&self, text: &str, lang: &str) -> Relevance {
        let ruling = self.rule(&normalise(text), lang);
        if !self.weighs(&ruling) {
            return ruling.relevance;
        }
        let cue = super::complaint::normalise_cues(text);
        self.weigh(ruling, &cue, &FeatureSet::of(&cue))
    }

    /// Whether the model has a say in `ruling`: there is one, and no strong rule decided.
    pub fn weighs(&self, ruling: &Ruling) -> bool {
        self.model.is_some() && !self.strong(ruling)
    }

    /// Whether a strong rule decided `ruling` (which the model never overrules).
    fn strong(&self, ruling: &Ruling) -> bool {
        ruling.rule.is_some_and(|i| self.rules[i].strong)
    }

    /// The decision on `ruling` with the model's view of the text: its
    /// [`super::complaint::normalise_cues`] form and that form's features (`found`).
    pub fn weigh(&self, ruling: Ruling, cue_normalised: &str, found: &FeatureSet) -> Relevance {
        self.weigh_with(self.model.as_ref(), ruling, cue_normalised, found)
    }

    /// [`Topics::weigh`] with another model than the loaded one (for training it).
    pub fn weigh_with(
        &self,
        model: Option<&WordModel>,
        ruling: Ruling,
        cue_normalised: &str,
        found: &FeatureSet,
    ) -> Relevance {
        let Some(model) = model.filter(|_| !self.strong(&ruling)) else {
            return ruling.relevance;
        };
        let flags = self.flags(&ruling);
        let judged = model.judge_set(cue_normalised, found, &flags, MODEL_REASONS);
        let threshold = if ruling.rule.is_some() {
            0.5
        } else {
            MODEL_ALONE
        };
        let relevant = judged.probability >= threshold;
        let reason = model::reason(judged.probability, &judged.contributions);
        let mut decided = ruling.relevance;
        if relevant == decided.relevant {
            decided.terms.push(reason);
        } else {
            // The model overruled: it is the rule now, and the rule it overruled is named.
            let overruled = std::mem::replace(&mut decided.rule, MODEL_RULE.to_string());
            decided.relevant = relevant;
            decided.terms = vec![reason];
            if overruled != NO_RULE {
                decided.terms.push(format!("over:{overruled}"));
            }
        }
        decided
    }

    /// The model features that say what the rules decided: the tier, and the rule.
    pub fn flags(&self, ruling: &Ruling) -> Vec<(&str, u64)> {
        let tier = match ruling.rule.map(|i| self.rules[i].kind) {
            Some(RuleKind::Include) => RULES_INCLUDE,
            Some(RuleKind::Exclude) => RULES_EXCLUDE,
            None => RULES_NONE,
        };
        let mut flags = vec![(tier, model::key(tier))];
        if let Some(i) = ruling.rule {
            let (name, key) = &self.rules[i].flag;
            flags.push((name.as_str(), *key));
        }
        flags
    }

    /// What the rules alone decide about text in language `lang` already passed through
    /// [`normalise`] (so that several rule sets can share one normalisation).
    pub fn rule(&self, normalised: &str, lang: &str) -> Ruling {
        self.rule_hits(&self.hits(normalised), lang)
    }

    /// [`Topics::rule`] on the hits a [`SharedScan`] found.
    pub fn rule_hits(&self, hits: &TermHits, lang: &str) -> Ruling {
        // The first tier with a matching rule decides; within it, the first rule.
        let decision = self
            .matched(&hits.0)
            .filter(|(i, _)| self.rules[*i].is_for(lang))
            .min_by_key(|(i, _)| (self.rules[*i].tier(), *i));
        let relevance = match decision {
            Some((i, terms)) => Relevance {
                relevant: self.rules[i].kind == RuleKind::Include,
                rule: self.rules[i].id.clone(),
                terms: terms.iter().map(|h| self.term(h).to_string()).collect(),
            },
            None => Relevance {
                relevant: false,
                rule: NO_RULE.to_string(),
                terms: Vec::new(),
            },
        };
        Ruling {
            rule: decision.map(|(i, _)| i),
            relevance,
        }
    }

    /// Every `include` rule that matches `normalised` text (see [`normalise`]), with its
    /// terms: for multi-label tagging, where each matching rule adds its label.
    pub fn matching(&self, normalised: &str) -> Vec<(&str, Vec<String>)> {
        self.matching_hits(&self.hits(normalised))
    }

    /// [`Topics::matching`] on the hits a [`SharedScan`] found.
    pub fn matching_hits(&self, hits: &TermHits) -> Vec<(&str, Vec<String>)> {
        self.matched(&hits.0)
            .filter(|(i, _)| self.rules[*i].kind == RuleKind::Include)
            .map(|(i, terms)| {
                (
                    self.rules[i].id.as_str(),
                    terms.iter().map(|h| self.term(h).to_string()).collect(),
                )
            })
            .collect()
    }

    /// Every term of an include rule as written, with its rule's id, in file order
    /// (`unless` terms left out): what the word lists look for.
    pub fn include_terms(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.terms
            .iter()
            .zip(&self.pattern_slot)
            .filter_map(|(term, &slot)| {
                let rule = &self.rules[self.slot_rule[slot as usize]];
                let group = slot as usize - rule.first_slot;
                (rule.kind == RuleKind::Include && group < rule.groups)
                    .then_some((rule.id.as_str(), term.as_str()))
            })
    }

    /// Whether a term of any rule (include or exclude) is found in `normalised`.
    pub fn knows(&self, normalised: &str) -> bool {
        !self.hits(normalised).0.is_empty()
    }

    /// The slots (rule, group) that a term of `normalised` filled, in slot order, each
    /// with the first term found for it.
    pub fn hits(&self, normalised: &str) -> TermHits {
        let mut hits = HitCollector::new(self);
        self.matcher
            .for_each_match(normalised, |pattern, _, _| hits.add(self, pattern));
        hits.finish()
    }

    /// The term as written in the rule file that made `hit`.
    fn term(&self, hit: &Hit) -> &str {
        &self.terms[hit.pattern as usize]
    }

    /// Every rule that `hits` match, in rule order, with the hits of its groups: a term
    /// for every group, and none of its `unless` terms.
    fn matched<'h>(&'h self, hits: &'h [Hit]) -> impl Iterator<Item = (usize, &'h [Hit])> + 'h {
        // A rule's slots are contiguous and numbered in rule order, so the sorted hits
        // come rule by rule.
        let mut rest = hits;
        std::iter::from_fn(move || loop {
            let slot = rest.first()?.slot as usize;
            let index = self.slot_rule[slot];
            let rule = &self.rules[index];
            let unless_slot = rule.first_slot + rule.groups;
            let end = unless_slot + usize::from(rule.has_unless);
            let (mine, after) = rest.split_at(rest.partition_point(|h| (h.slot as usize) < end));
            rest = after;
            let groups = mine.partition_point(|h| (h.slot as usize) < unless_slot);
            let vetoed = mine.len() > groups;
            if groups == rule.groups && !vetoed {
                return Some((index, &mine[..groups]));
            }
        })
    }

    /// Number of rules loaded (for the startup log).
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Each rule's language that `allowed` (`[pipeline] languages`) leaves out: the
    /// detector never answers it, so the rule never fires for it. Not refused, so that a
    /// language can be dropped from the list without editing every rule file.
    pub fn languages_left_out(&self, allowed: &[String]) -> Vec<(&str, &str)> {
        self.rules
            .iter()
            .flat_map(|rule| rule.languages.iter().map(move |l| (rule, l)))
            .filter(|(_, l)| l.as_str() != UNDETERMINED && !allowed.contains(l))
            .map(|(rule, l)| (rule.id.as_str(), l.as_str()))
            .collect()
    }
}

#[derive(Default)]
struct Builder {
    rules: Vec<Rule>,
    /// For each slot (a rule's groups and `unless` group, rule after rule), its rule.
    slot_rule: Vec<usize>,
    needles: Vec<String>,
    terms: Vec<String>,
    pattern_slot: Vec<u32>,
    ids: HashSet<String>,
    /// The only rule ids allowed, and what they name (the aspect lists' rules are the
    /// aspects of the taxonomy).
    allowed_ids: Option<(&'static [&'static str], &'static str)>,
}

impl Builder {
    fn add_file(&mut self, path: &Path, text: &str) -> Result<(), TopicError> {
        let file: TopicFile = toml::from_str(text).map_err(|e| TopicError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file.include.is_empty() && file.exclude.is_empty() {
            // Most likely cut short: a language would silently lose its rules.
            return Err(TopicError::Parse {
                path: path.to_owned(),
                message: "no rules; a rule file holds [[include]] or [[exclude]] tables".into(),
            });
        }
        let rules = file
            .include
            .into_iter()
            .map(|r| (RuleKind::Include, r))
            .chain(file.exclude.into_iter().map(|r| (RuleKind::Exclude, r)));
        for (kind, raw) in rules {
            self.add_rule(path, text, &stem, kind, raw)?;
        }
        Ok(())
    }

    fn add_rule(
        &mut self,
        path: &Path,
        text: &str,
        stem: &str,
        kind: RuleKind,
        raw: RawRule,
    ) -> Result<(), TopicError> {
        let invalid = |span: std::ops::Range<usize>, message: String| TopicError::Invalid {
            path: path.to_owned(),
            line: crate::config::line_of(text, span.start),
            message,
        };
        if kind == RuleKind::Exclude && self.allowed_ids.is_some() {
            // The aspect stage reads include rules only: one would do nothing.
            return Err(invalid(
                raw.id.span(),
                "an aspect list has no [[exclude]] rules: to keep words from finding an aspect, give its [[include]] rule an `unless` list".into(),
            ));
        }
        let id = format!("{stem}/{}", raw.id.get_ref());
        if raw.id.get_ref().trim().is_empty() || !self.ids.insert(id.clone()) {
            return Err(invalid(
                raw.id.span(),
                format!("rule id {:?} is empty or used twice", raw.id.get_ref()),
            ));
        }
        if let Some((allowed, what)) = self.allowed_ids {
            if !allowed.contains(&raw.id.get_ref().as_str()) {
                return Err(invalid(
                    raw.id.span(),
                    format!(
                        "rule {:?} is not {what}; rules are named after one of: {}",
                        raw.id.get_ref(),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        if raw.strong && self.allowed_ids.is_some() {
            return Err(invalid(
                raw.id.span(),
                format!("rule {id:?}: `strong` is for topic rules only; an aspect rule tags every post it matches"),
            ));
        }
        let languages = match raw.languages {
            None => Vec::new(),
            // The aspects are judged on every post alike (their lists share this format).
            Some(list) if self.allowed_ids.is_some() => {
                return Err(invalid(
                    list.span(),
                    format!("rule {id:?}: `languages` is for topic rules only"),
                ))
            }
            Some(list) => {
                let span = list.span();
                let codes = list.into_inner();
                // A code the detector never answers would leave the rule silent.
                let known = crate::pipeline::language::known_codes();
                let bad = codes
                    .iter()
                    .find(|c| !known.contains(&c.as_str()) && c.as_str() != UNDETERMINED);
                if codes.is_empty() || bad.is_some() {
                    return Err(invalid(
                        span,
                        format!(
                            "rule {id:?}: `languages` lists language codes in lower case, as detected ({}, or {UNDETERMINED}){}",
                            known.join(", "),
                            bad.map_or(String::new(), |b| format!("; {b:?} is none"))
                        ),
                    ));
                }
                codes
            }
        };
        let groups: Vec<Vec<String>> = match (raw.any, raw.all) {
            (Some(any), None) => vec![any.into_inner()],
            (None, Some(all)) => all.into_inner(),
            _ => {
                return Err(invalid(
                    raw.id.span(),
                    format!("rule {id:?} needs exactly one of `any` or `all`"),
                ))
            }
        };
        if groups.is_empty() || groups.iter().any(Vec::is_empty) {
            return Err(invalid(
                raw.id.span(),
                format!("rule {id:?} has an empty term list"),
            ));
        }
        let rule_index = self.rules.len();
        let has_unless = !raw.unless.is_empty();
        let mut groups = groups;
        if has_unless {
            groups.push(raw.unless);
        }
        for (g, group) in groups.iter().enumerate() {
            for term in group {
                let needle = needle(term).map_err(|problem| {
                    invalid(
                        raw.id.span(),
                        format!("rule {id:?}: term {term:?} {problem}"),
                    )
                })?;
                let slot = u32::try_from(self.slot_rule.len() + g)
                    .ok()
                    .filter(|_| u32::try_from(self.terms.len()).is_ok())
                    .ok_or_else(|| {
                        invalid(
                            raw.id.span(),
                            format!("rule {id:?}: too many terms in all (at most {})", u32::MAX),
                        )
                    })?;
                self.needles.push(needle);
                self.terms.push(term.clone());
                self.pattern_slot.push(slot);
            }
        }
        let flag = format!("rule:{id}");
        let flag_key = model::key(&flag);
        self.rules.push(Rule {
            flag: (flag, flag_key),
            id,
            kind,
            strong: raw.strong,
            groups: groups.len() - usize::from(has_unless),
            has_unless,
            first_slot: self.slot_rule.len(),
            languages,
        });
        self.slot_rule
            .extend(std::iter::repeat_n(rule_index, groups.len()));
        Ok(())
    }

    fn build(self) -> Result<Topics, TopicError> {
        let matcher = compile(&self.needles)?;
        Ok(Topics {
            rules: self.rules,
            matcher,
            terms: self.terms,
            pattern_slot: self.pattern_slot,
            needles: self.needles,
            slot_rule: self.slot_rule,
            model: None,
        })
    }
}

/// Reads every `*.toml` file in `dir`, sorted by name so that rule order is stable; a
/// directory without any is an error (rules are never optional).
pub fn read_rule_files(dir: &Path) -> Result<Vec<(PathBuf, String)>, TopicError> {
    let read_err = |source| TopicError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    if let Some(near) = files.iter().find(|p| is_near_rule_file(p)) {
        // Saved as "nl.toml.txt" or "nl.TOML", a file the team edited would be left out
        // without a word.
        return Err(TopicError::Parse {
            path: near.clone(),
            message: "not read: rule files are named NAME.toml, in lower case; rename it (or move it out of this directory)".into(),
        });
    }
    files.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    if files.is_empty() {
        return Err(TopicError::Empty {
            path: dir.to_owned(),
        });
    }
    let mut sources = Vec::with_capacity(files.len());
    for file in files {
        let bytes = std::fs::read(&file).map_err(|source| TopicError::Read {
            path: file.clone(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| TopicError::Invalid {
            // The text up to the first bad byte is UTF-8: its line is the bad one's.
            line: std::str::from_utf8(&e.as_bytes()[..e.utf8_error().valid_up_to()])
                .map_or(1, |valid| crate::config::line_of(valid, valid.len())),
            path: file.clone(),
            message: "not UTF-8 text (saved as UTF-16, ANSI or Windows-1252?): save it as UTF-8"
                .into(),
        })?;
        sources.push((file, text));
    }
    Ok(sources)
}

/// A file that looks meant as a rule file but is not named as one: `nl.TOML`,
/// `nl.toml.txt`.
fn is_near_rule_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let exact = path.extension().is_some_and(|x| x == "toml");
    !exact && (name.ends_with(".toml") || name.ends_with(".toml.txt"))
}

/// Lower-case, every run of non-alphanumerics one space, padded with spaces so that
/// word boundaries are plain spaces for the matcher.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    normalise_into(&mut out, text);
    out
}

/// [`normalise`] of `text`, appended to `out`.
pub(crate) fn normalise_into(out: &mut String, text: &str) {
    out.push(' ');
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        // The next character is read only after a tatweel: most text has none.
        if c == TATWEEL && stretches(chars.clone().next()) {
            continue;
        }
        if is_word_char(c) {
            push_folded(out, c);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
}

/// Whether `c` belongs to a word: a letter, a digit or a joiner. ASCII first: most text
/// is; then the table of the first 8,192 code points (Latin, Cyrillic, Arabic, Ge'ez);
/// the Unicode tables only beyond.
#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else if let Some(&folded) = FOLDED.get(c as usize) {
        folded != 0
    } else {
        is_word_char_slow(c)
    }
}

fn is_word_char_slow(c: char) -> bool {
    (c.is_alphanumeric() && c != MODIFIER_APOSTROPHE) || is_joiner(c)
}

/// The apostrophe Unicode recommends for Ukrainian ("інтервʼю"), a modifier letter
/// by its category: read as the apostrophes ' and ’ are, between two words, so that a
/// term written with one finds text written with another.
pub(crate) const MODIFIER_APOSTROPHE: char = '\u{02bc}';

/// Appends the word character `c` lower-cased, with [`fold_letter`]'s foldings.
#[inline]
pub(crate) fn push_folded(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    match FOLDED.get(c as usize).copied() {
        Some(DROPPED) => {}
        Some(f) if f != 0 => out.extend(char::from_u32(u32::from(f))),
        _ => push_folded_slow(out, c),
    }
}

fn push_folded_slow(out: &mut String, c: char) {
    if is_optional_mark(c) {
        return;
    }
    if let Some(folded) = fold_letter(c) {
        out.push(folded);
    } else {
        out.extend(c.to_lowercase());
    }
}

/// Arabic vowel marks (harakat, the superscript alef): optional in writing, so a word
/// reads the same with or without them ("المُتَرْجِم" and "المترجم"), as the index reads
/// it. Part of the word they are in, they add nothing to it.
pub(crate) fn is_optional_mark(c: char) -> bool {
    matches!(c, '\u{064b}'..='\u{065f}' | '\u{0670}')
}

/// The Arabic tatweel (kashida), which stretches a word.
pub(crate) const TATWEEL: char = '\u{0640}';

/// Whether a tatweel followed by `next` stretches an Arabic word for emphasis
/// ("المترجـــم"): one before another or before an Arabic letter, which the word reads as
/// not written. One before a Latin letter joins an Arabic prefix to a name ("الـIND") and
/// stays: the topic rules find such names by it.
pub(crate) fn stretches(next: Option<char>) -> bool {
    next.is_some_and(|n| {
        matches!(
            n,
            TATWEEL | '\u{0620}'..='\u{064a}' | '\u{066e}'..='\u{06d3}' | '\u{06fa}'..='\u{06ff}'
        )
    })
}

/// The entry of [`FOLDED`] for a word character that adds nothing ([`is_optional_mark`]).
const DROPPED: u16 = 1;

/// Code points below this have their folding in [`FOLDED`].
const FOLDED_BELOW: u32 = 0x2000;

/// For each code point below [`FOLDED_BELOW`]: 0 if it is not a word character,
/// [`DROPPED`] if it is one that writes nothing, else the one character
/// [`push_folded_slow`] writes for it. Non-ASCII letters were the
/// costliest part of normalising Arabic, Persian and Cyrillic posts (Unicode property
/// and case lookups); 16 KB of table makes each a load. Built from the slow functions
/// themselves, so the two cannot disagree (a test checks every entry).
static FOLDED: std::sync::LazyLock<Box<[u16]>> = std::sync::LazyLock::new(|| {
    (0..FOLDED_BELOW)
        .map(|code| {
            let Some(c) = char::from_u32(code).filter(|&c| is_word_char_slow(c)) else {
                return 0;
            };
            let mut folded = String::new();
            push_folded_slow(&mut folded, c);
            let mut chars = folded.chars();
            match (chars.next(), chars.next()) {
                // Every folding in this range is one character of the same range.
                (Some(f), None) => u16::try_from(u32::from(f)).unwrap_or(0),
                (None, _) => DROPPED,
                _ => 0,
            }
        })
        .collect()
});

/// [`char::is_numeric`] (a digit or number sign of any script), from a table below
/// [`FOLDED_BELOW`]: in Arabic and Persian posts every character would otherwise be a
/// Unicode table lookup for the redaction's and the cues' digit checks.
#[inline]
pub(crate) fn is_numeric(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else if let Some(&numeric) = NUMERIC.get(c as usize) {
        numeric
    } else {
        c.is_numeric()
    }
}

/// Whether `text` holds a digit or number sign of any script ([`is_numeric`]): ASCII
/// text by its bytes, other characters from the table.
#[inline]
pub(crate) fn has_numeric(text: &str) -> bool {
    // One pass over the bytes; the characters are read only in text beyond ASCII.
    let mut beyond_ascii = false;
    for &b in text.as_bytes() {
        if b.is_ascii_digit() {
            return true;
        }
        beyond_ascii |= !b.is_ascii();
    }
    // The table once for the whole text, not once per character.
    beyond_ascii && {
        let table = &*NUMERIC;
        text.chars().any(|c| {
            table
                .get(c as usize)
                .copied()
                .unwrap_or_else(|| c.is_numeric())
        })
    }
}

/// For each code point below [`FOLDED_BELOW`], [`char::is_numeric`].
static NUMERIC: std::sync::LazyLock<Box<[bool]>> = std::sync::LazyLock::new(|| {
    (0..FOLDED_BELOW)
        .map(|code| char::from_u32(code).is_some_and(char::is_numeric))
        .collect()
});

/// Letters written several ways for one sound: folded so that a term matches every
/// spelling. Turkish dotted capital I (whose lower case would carry a combining dot);
/// the letters of the Turkish alphabet beyond a–z, which a keyboard without them types
/// as c, g, i, o, s and u ("tercuman", "siginma basvurusu": without the folding such a
/// post lost most of its aspects and a fifth of its relevance), as search folds them;
/// Arabic and Persian yeh and kaf, alef with hamza or madda, alef maksura.
pub(crate) fn fold_letter(c: char) -> Option<char> {
    match c {
        'İ' | 'ı' => Some('i'),
        'Ç' | 'ç' => Some('c'),
        'Ğ' | 'ğ' => Some('g'),
        'Ö' | 'ö' => Some('o'),
        'Ş' | 'ş' => Some('s'),
        'Ü' | 'ü' => Some('u'),
        '\u{06cc}' | '\u{0649}' => Some('\u{064a}'),
        '\u{06a9}' => Some('\u{0643}'),
        '\u{0622}' | '\u{0623}' | '\u{0625}' => Some('\u{0627}'),
        _ => None,
    }
}

/// Marks that belong inside words: combining marks (Arabic vowels) and the Persian
/// zero-width non-joiner.
pub(crate) fn is_joiner(c: char) -> bool {
    c == '\u{200c}'
        || ('\u{064b}'..='\u{065f}').contains(&c)
        || ('\u{0300}'..='\u{036f}').contains(&c)
}

/// The matcher needle for a term: spaces mark the word boundaries the term wants, and
/// [`CONTINUES`] where a word inside it has an open end ("negativ* bescheid*"). Or
/// what is wrong with the term: a mistake a person editing the lists makes that would
/// otherwise leave a term that never matches, or matches what was not meant.
pub(crate) fn needle(term: &str) -> Result<String, &'static str> {
    if term.contains([',', ';']) {
        return Err("holds a comma or semicolon: two terms in one pair of quotes? Write them as \"one\", \"two\"");
    }
    if let Some(problem) = unread_sign(term) {
        return Err(problem);
    }
    let open_start = term.starts_with('*');
    let open_end = term.ends_with('*');
    let words: Vec<&str> = term.trim_matches('*').split_whitespace().collect();
    // The parts between words with an open end, each its words normalised.
    let mut parts: Vec<String> = vec![String::new()];
    for (i, word) in words.iter().enumerate() {
        let last = i + 1 == words.len();
        let (word, open) = match word.strip_suffix('*') {
            Some(stem) if !last => (stem, true),
            _ => (*word, false),
        };
        if word.is_empty() {
            return Err("has a * standing alone; a * belongs to a word (\"woord*\")");
        }
        if word.contains('*') {
            return Err("has a * inside a word; a * works at the end of a word (\"woord*\", \"negativ* bescheid*\") or at the start of the term (\"*woord\")");
        }
        let body = normalise(word);
        let body = body.trim();
        let part = parts.last_mut().filter(|_| !body.is_empty());
        if let Some(part) = part {
            if !part.is_empty() {
                part.push(' ');
            }
            part.push_str(body);
        }
        if open && parts.last().is_some_and(|p| !p.is_empty()) {
            parts.push(String::new());
        }
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() {
        return Err("has no letters or digits");
    }
    let mut needle = String::with_capacity(term.len() + 2);
    if !open_start {
        needle.push(' ');
    }
    needle.push_str(&parts.join(&CONTINUES.to_string()));
    if !open_end {
        needle.push(' ');
    }
    Ok(needle)
}

/// What is wrong with a sign in `term` that matching would not read as written: text
/// is matched as words, so a sign is read as the space between two words. Between two
/// letters or digits that is what the text holds too ("e-mail", "24/7", "i.n.d"); at a
/// word's edge the sign is lost and the term finds another word (".net" the word "net",
/// "c++" the letter "c"), and a regular expression is read as its letters.
fn unread_sign(term: &str) -> Option<&'static str> {
    let chars: Vec<char> = term.chars().collect();
    let word_at = |i: Option<usize>| {
        i.and_then(|i| chars.get(i))
            .is_some_and(|&c| is_word_char(c))
    };
    for (i, &c) in chars.iter().enumerate() {
        let allowed = is_word_char(c)
            || matches!(c, '*' | '\'' | '\u{2019}' | '-' | '\u{2010}' | '\u{2013}')
            || (c.is_whitespace() && !c.is_control());
        if allowed {
            continue;
        }
        if c.is_control()
            || matches!(
                c,
                '\u{200b}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{00ad}'
            )
        {
            return Some("holds an invisible character (a tab, a line break, a zero-width space or joiner, a soft hyphen): retype the term");
        }
        if c == '#' {
            return Some("holds #: a hashtag is found by its word (\"wachttijd\" finds #wachttijd); # for any number is for complaint cues, standing alone (\"al # maanden\")");
        }
        let between_words = word_at(i.checked_sub(1)) && word_at(Some(i + 1));
        if !between_words || "\\+?|^$[](){}".contains(c) {
            return Some("holds a sign that matching does not read: a term is words of letters and digits (a sign between two of them reads as a space, as in the text), with * at a word's end or the term's start; \".net\" would find the word \"net\", \"c++\" the letter \"c\", and a regular expression is not read as one");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_matching_would_not_read_are_refused() {
        for term in [
            "e-mail",
            "24/7",
            "i.n.d",
            "zo'n",
            "l’ind",
            "*asiel*",
            "tolk* verkeerd",
            "سال\u{200c}ها",
            "a\u{a0}b",
        ] {
            assert!(needle(term).is_ok(), "{term}");
        }
        for (term, says) in [
            (".net", "\"net\""),
            ("c++", "\"net\""),
            ("\\d+ dagen", "regular expression"),
            ("[x]", "regular expression"),
            ("a(b", "regular expression"),
            ("c#", "hashtag"),
            ("#wachttijd", "hashtag"),
            ("wacht\u{200b}tijd", "invisible"),
            ("wacht\ttijd", "invisible"),
            ("30%", "sign"),
        ] {
            let problem = needle(term).expect_err(term);
            assert!(problem.contains(says), "{term}: {problem}");
        }
    }

    #[test]
    fn a_rule_file_misnamed_or_not_utf8_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let rule = "[[include]]\nid = \"x\"\nany = [\"tolk\"]\n";
        std::fs::write(dir.path().join("nl.toml"), rule).unwrap();
        assert_eq!(read_rule_files(dir.path()).unwrap().len(), 1);
        std::fs::write(dir.path().join("README.md"), "words").unwrap();
        assert_eq!(
            read_rule_files(dir.path()).unwrap().len(),
            1,
            "other files are no rules"
        );
        for name in ["en.toml.txt", "en.TOML"] {
            std::fs::write(dir.path().join(name), rule).unwrap();
            let err = read_rule_files(dir.path()).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains("rename it"), "{err}");
            std::fs::remove_file(dir.path().join(name)).unwrap();
        }
        // Windows-1252 "é" on the third line.
        std::fs::write(dir.path().join("fr.toml"), b"# x\n\n# caf\xe9\n").unwrap();
        let err = read_rule_files(dir.path()).unwrap_err().to_string();
        assert!(err.ends_with("fr.toml:3: not UTF-8 text (saved as UTF-16, ANSI or Windows-1252?): save it as UTF-8"), "{err}");
    }

    #[test]
    fn the_ukrainian_apostrophe_is_read_as_the_others() {
        let text = normalise("чекаю на воззʼєднання, моє інтервʼю");
        assert_eq!(text, normalise("чекаю на возз'єднання, моє інтерв’ю"));
        let rules = Topics::from_sources(&[(
            PathBuf::from("t/uk.toml"),
            "[[include]]\nid = \"family\"\nany = [\"возз'єднання*\"]\n".into(),
        )])
        .unwrap();
        assert!(rules.knows(&text), "{text}");
    }

    #[test]
    fn an_empty_rule_file_is_refused() {
        let err = Topics::from_sources(&[(PathBuf::from("t/nl.toml"), "# cut short\n".into())])
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("t/nl.toml: no rules"), "{err}");
    }

    #[test]
    fn turkish_is_read_alike_with_or_without_its_letters() {
        let plain = normalise("siginma basvurusu, tercuman gorusmede yoktu");
        for written in [
            "Sığınma başvurusu, tercüman görüşmede yoktu",
            "SIĞINMA BAŞVURUSU, TERCÜMAN GÖRÜŞMEDE YOKTU",
            "İltica değil: sığınma başvurusu, tercüman görüşmede yoktu",
        ] {
            assert!(normalise(written).ends_with(&plain[1..]), "{written}");
        }
        // So a term as the lists write it finds the post as a keyboard without the
        // letters typed it.
        let t = Topics::from_sources(&[(
            PathBuf::from("t/tr.toml"),
            "[[include]]\nid = \"x\"\ndescription = \"x\"\nany = [\"tercüman*\", \"sığınma başvuru*\"]\n".into(),
        )])
        .unwrap();
        let r = t.judge("Tercumanim gelmedi, siginma basvurum bekliyor", "tr");
        assert!(r.relevant, "{r:?}");
    }

    #[test]
    fn arabic_vowel_marks_and_tatweel_are_read_as_not_written() {
        let plain = normalise("المترجم في المقابلة ظلم");
        assert_eq!(plain, " المترجم في المقابلة ظلم ");
        for written in ["المُتَرْجِمُ فِي المُقَابَلَةِ ظُلْمٌ", "المترجـــم في المقابلة ظلـــم"]
        {
            assert_eq!(normalise(written), plain, "{written}");
        }
        // Before a Latin letter, a tatweel joins the article to a name, and stays.
        assert_eq!(normalise("الـــIND"), " الـind ");
    }

    #[test]
    fn the_folding_table_agrees_with_the_unicode_functions() {
        for c in (0..FOLDED_BELOW + 64).filter_map(char::from_u32) {
            assert_eq!(is_word_char(c), is_word_char_slow(c), "{c:?}");
            assert_eq!(is_numeric(c), c.is_numeric(), "{c:?}");
            assert_eq!(
                has_numeric(c.encode_utf8(&mut [0; 4])),
                c.is_numeric(),
                "{c:?}"
            );
            if is_word_char(c) {
                let (mut fast, mut slow) = (String::new(), String::new());
                push_folded(&mut fast, c);
                push_folded_slow(&mut slow, c);
                assert_eq!(fast, slow, "{c:?}");
            }
        }
        assert_eq!(
            normalise("İSTANBUL Ярмарка كتاب ሰላም"),
            " istanbul ярмарка كتاب ሰላም "
        );
    }

    const NL: &str = r#"
[[include]]
id = "core"
strong = true
any = ["asielzoeker*", "ter apel", "azc"]

[[include]]
id = "ind-context"
all = [["ind"], ["asiel*", "verblijfsvergunning*"]]

[[exclude]]
id = "animal-shelter"
any = ["dierenasiel*", "kat*", "hond*"]

[[exclude]]
id = "foreign"
strong = true
any = ["bamf", "home office"]
unless = ["ind", "nederland*"]
"#;

    fn topics() -> Topics {
        Topics::from_sources(&[(PathBuf::from("nl.toml"), NL.to_string())]).unwrap()
    }

    #[test]
    fn strong_terms_make_relevant_and_say_why() {
        let r = topics().judge("Opnieuw slapen Asielzoekers op stoelen in Ter Apel.", "nl");
        assert!(r.relevant);
        assert_eq!(r.rule, "nl/core");
        assert_eq!(r.terms, vec!["asielzoeker*"]);
    }

    #[test]
    fn all_groups_must_match() {
        let t = topics();
        assert!(!t.judge("IND wint van AUS met vijf wickets", "nl").relevant);
        let r = t.judge("De IND beslist te laat over asielaanvragen", "nl");
        assert!(r.relevant);
        assert_eq!(r.rule, "nl/ind-context");
        assert_eq!(r.terms, vec!["ind", "asiel*"]);
    }

    #[test]
    fn exclude_vetoes_weak_rules() {
        let r = topics().judge("Katten uit het asiel: de IND van het dierenasiel", "nl");
        assert!(!r.relevant);
        assert_eq!(r.rule, "nl/animal-shelter");
    }

    #[test]
    fn strong_exclude_wins_unless_its_exceptions_occur() {
        let t = topics();
        let r = t.judge("In Duitsland wachten asielzoekers langer op het BAMF", "nl");
        assert_eq!((r.relevant, r.rule.as_str()), (false, "nl/foreign"));
        let r = t.judge(
            "Asielzoekers die het BAMF afwees, melden zich in Nederland",
            "nl",
        );
        assert_eq!((r.relevant, r.rule.as_str()), (true, "nl/core"));
    }

    #[test]
    fn a_shared_scan_hands_each_rule_set_what_its_own_scan_finds() {
        let topics = topics();
        // A second set whose terms overlap the first's and each other's.
        let second = Topics::from_sources(&[(
            PathBuf::from("aspects.toml"),
            r#"
[[include]]
id = "waiting"
any = ["wacht*", "*tijd", "asielzoeker*"]

[[include]]
id = "hearing"
all = [["ind"], ["gehoor*"]]
"#
            .to_string(),
        )])
        .unwrap();
        let shared = SharedScan::new(&topics, &second).unwrap();
        for text in [
            "Asielzoekers wachten in Ter Apel op hun gehoor bij de IND",
            "Katten uit het dierenasiel; de wachttijd is lang",
            "Het BAMF en de IND in Nederland",
            "",
        ] {
            let normalised = normalise(text);
            let [first_hits, second_hits] = shared.scan(&topics, &second, &normalised);
            assert_eq!(
                topics.rule_hits(&first_hits, "nl"),
                topics.rule(&normalised, "nl"),
                "{text}"
            );
            assert_eq!(
                second.matching_hits(&second_hits),
                second.matching(&normalised),
                "{text}"
            );
        }
        let [_, hits] = shared.scan(
            &topics,
            &second,
            &normalise("wachttijd en gehoor bij de IND"),
        );
        let found: Vec<_> = second
            .matching_hits(&hits)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(found, ["aspects/waiting", "aspects/hearing"]);
    }

    #[test]
    fn nothing_matched_is_not_relevant() {
        let r = topics().judge("Het weer wordt morgen zonnig.", "nl");
        assert_eq!((r.relevant, r.rule.as_str()), (false, NO_RULE));
    }

    /// A model with made-up weights: "maanden" speaks strongly for the procedure,
    /// "gehoor" weakly, a weak exclusion against it.
    fn weighed() -> Topics {
        let model =
            WordModel::parse("(bias)\t-1\nmaanden\t6\ngehoor\t2\nrules:exclude\t-2\n").unwrap();
        topics().with_model(Some(model))
    }

    #[test]
    fn the_model_keeps_what_no_rule_matched_only_when_sure() {
        let t = weighed();
        // Two features (the word and rules:none): logit -1 + 6/√2, p 0.96.
        let r = t.judge("Maanden!", "nl");
        assert_eq!((r.relevant, r.rule.as_str()), (true, MODEL_RULE));
        assert!(r.terms[0].starts_with("model:0.96[maanden(+4.24)"), "{r:?}");
        assert_eq!(r.terms.len(), 1, "no rule was overruled: {r:?}");
        // p 0.60: enough where a rule agrees, not where the model stands alone.
        let r = t.judge("Gehoor.", "nl");
        assert_eq!((r.relevant, r.rule.as_str()), (false, NO_RULE));
        assert!(r.terms[0].starts_with("model:0.60[gehoor"), "{r:?}");
    }

    #[test]
    fn the_model_weighs_weak_rules_and_names_the_one_it_overrules() {
        let t = weighed();
        // A weak include with little for it (p 0.44): overruled.
        let r = t.judge("IND asiel gehoor", "nl");
        assert_eq!((r.relevant, r.rule.as_str()), (false, MODEL_RULE));
        assert_eq!(r.terms[1], "over:nl/ind-context", "{r:?}");
        // A weak exclude against much for it (p 0.69): overruled.
        let r = t.judge("kat maanden", "nl");
        assert_eq!((r.relevant, r.rule.as_str()), (true, MODEL_RULE));
        assert_eq!(r.terms[1], "over:nl/animal-shelter", "{r:?}");
        // A weak include the model agrees with keeps its rule and terms.
        let r = t.judge("IND asiel maanden", "nl");
        assert_eq!((r.relevant, r.rule.as_str()), (true, "nl/ind-context"));
        assert_eq!(r.terms[..2], ["ind", "asiel*"]);
        assert!(r.terms[2].starts_with("model:"), "{r:?}");
    }

    #[test]
    fn strong_rules_stay_final() {
        let t = weighed();
        let r = t.judge("Asielzoekers in Ter Apel", "nl");
        assert_eq!((r.relevant, r.rule.as_str()), (true, "nl/core"));
        assert_eq!(r.terms, vec!["asielzoeker*"]);
        let r = t.judge("Maanden wachten op het BAMF", "nl");
        assert_eq!((r.relevant, r.rule.as_str()), (false, "nl/foreign"));
    }

    /// The traps of DOMAIN.md in the languages of the people who write about them: the
    /// monastery of Ter Apel and India's cricket team, in the shipped rules.
    #[test]
    fn the_shipped_rules_know_the_monastery_and_cricket_in_other_languages() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/topics");
        let rules = Topics::load_rules(&dir).unwrap();
        for (lang, text) in [
            (
                "de",
                "Wochenendtipp: Das Kloster Ter Apel bietet Führungen auf Deutsch an",
            ),
            (
                "ru",
                "Были на экскурсии в монастыре Тер Апел, очень красивый сад",
            ),
            (
                "uk",
                "Їздили на вихідних у Тер Апел, там старий монастир і сад",
            ),
            ("ru", "Крикет: IND обыграла AUS на последнем мяче"),
        ] {
            let r = rules.judge(text, lang);
            assert!(!r.relevant, "{text}: {r:?}");
        }
        // The village's words are no sign without the village: a church in a post about
        // a conversion doubted at the hearing, a writer's village of birth.
        for (lang, text) in [
            ("nl", "Afgewezen: ze geloven mijn bekering niet, terwijl ik elke week naar de kerk ga. Mijn advocaat gaat in beroep."),
            ("en", "The report of my second interview has my village wrong and the interpreter skipped half my story."),
        ] {
            let r = rules.judge(text, lang);
            assert!(r.relevant, "{text}: {r:?}");
        }
        let r = rules.judge(
            "Kerstmarkt in de kloostertuin van Ter Apel, met koor in de kerk",
            "nl",
        );
        assert!(!r.relevant && r.rule == "nl/ter-apel-village", "{r:?}");
        // The registration centre in the same scripts stays a mention.
        assert!(
            rules
                .judge(
                    "Мы ночевали на траве в Тер Апел, в IND никто не отвечает",
                    "ru"
                )
                .relevant
        );
    }

    #[test]
    fn the_shipped_rules_tell_dutch_asiel_from_the_borrowed_word() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/topics");
        let rules = Topics::load_rules(&dir).unwrap();
        // "asiel" in a Dutch sentence about asking for it is the procedure ...
        for text in [
            "Hij heeft asiel gevraagd in Nederland en wacht al acht maanden.",
            "Vluchtelingen die asiel aanvroegen slapen op stoelen in Ter Apel.",
            "Wie asiel vraagt in Nederland moet vaak maanden wachten.",
        ] {
            let r = rules.judge(text, "nl");
            assert!(r.relevant, "{text}: {r:?}");
        }
        // ... and borrowed into another language, the animal shelter.
        for (lang, text) in [
            (
                "en",
                "Shelter update: Asiel Leeuwarden took in 12 rabbits from a hoarding case.",
            ),
            ("ru", "Кто брал кошку в asiel в Амстердаме?"),
            (
                "es",
                "Llevo 3 semanas esperando respuesta del asiel para adoptar una gata.",
            ),
        ] {
            let r = rules.judge(text, lang);
            assert!(!r.relevant, "{text}: {r:?}");
            assert_eq!(r.rule, "nl/asiel-in-other-languages", "{text}");
        }
    }

    #[test]
    fn a_term_with_a_star_inside_or_two_terms_in_one_is_refused() {
        for (term, problem) in [
            ("kwak*el", "has a * inside a word"),
            ("asiel *zoeker", "has a * inside a word"),
            ("ter * apel", "has a * standing alone"),
            (
                "asielzoeker, vluchteling",
                "two terms in one pair of quotes",
            ),
        ] {
            let rules = format!("[[include]]\nid = \"x\"\nany = [\"asiel\", {term:?}]\n");
            let err = Topics::from_sources(&[(PathBuf::from("t/nl.toml"), rules)])
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.starts_with("t/nl.toml:2:") && err.contains(problem),
                "{err}"
            );
        }
        // Wildcards at either end stay what they were; one at the end of a word inside
        // the term goes on in the next word.
        assert_eq!(needle("*asiel*").as_deref(), Ok("asiel"));
        assert_eq!(needle("tolk*").as_deref(), Ok(" tolk"));
        assert_eq!(
            needle("Negativ* Bescheid*").as_deref(),
            Ok(" negativ\u{1}bescheid")
        );
        assert_eq!(
            needle("demandeur* d'asile").as_deref(),
            Ok(" demandeur\u{1}d asile ")
        );
        let rules = Topics::from_sources(&[(
            PathBuf::from("t/de.toml"),
            "[[include]]\nid = \"x\"\nany = [\"negativ* bescheid*\"]\n".to_string(),
        )])
        .unwrap();
        assert!(
            rules
                .judge("Heute kam der negative Bescheid vom BAMF", "nl")
                .relevant
        );
        assert!(!rules.judge("negative Zahlen im Bescheid", "nl").relevant);
    }

    #[test]
    fn word_boundaries_hold() {
        // "azc" must not match inside another word.
        assert!(!topics().judge("xazcx plazc", "nl").relevant);
    }

    /// A rule for posts in some languages: the Dutch word of the procedure in a French
    /// post is the procedure; in a Dutch one it is also the sense of hearing.
    #[test]
    fn a_rule_for_some_languages_decides_only_their_posts() {
        let file =
            "[[include]]\nid = \"loanword\"\nlanguages = [\"fr\", \"ar\"]\nany = [\"gehoor\"]\n";
        let t = Topics::from_sources(&[(PathBuf::from("t/intl.toml"), file.to_string())]).unwrap();
        let r = t.judge("Ça fait 14 mois que j'ai eu mon gehoor.", "fr");
        assert!(r.relevant && r.rule == "intl/loanword", "{r:?}");
        assert!(
            !t.judge("Mijn gehoor wordt slechter met de jaren.", "nl")
                .relevant
        );
        // The shipped rules have it too.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/topics");
        let rules = Topics::load_rules(&dir).unwrap();
        for (lang, text) in [
            (
                "fr",
                "Ça fait 14 mois que j'ai eu mon gehoor. Toujours pas de décision.",
            ),
            ("ru", "Переводчик на gehoor был по телефону и смягчал всё."),
            (
                "so",
                "Gehoorkaygii labaad wuxuu ahaa Janaayo, go'aan weli ma jiro.",
            ),
        ] {
            let r = rules.judge(text, lang);
            assert!(r.relevant, "{text}: {r:?}");
        }
        let r = rules.judge("Mijn gehoor wordt slechter met de jaren.", "nl");
        assert!(!r.relevant, "{r:?}");
        // A hearing aid stays a hearing aid in any language.
        let r = rules.judge(
            "Hooyaday waxay u baahan tahay gehoorapparaat cusub, audicien.",
            "so",
        );
        assert!(!r.relevant, "{r:?}");
    }

    /// Zevenaar and Budel, with a word of the site as people in the procedure know it;
    /// not the towns' own news.
    #[test]
    fn the_procedure_sites_are_told_from_the_towns_news() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/topics");
        let rules = Topics::load_rules(&dir).unwrap();
        for (lang, text) in [
            ("en", "Waited six hours in the waiting area in Zevenaar with my kids before my interview."),
            ("nl", "In het kamp in Budel zitten we met twaalf op een kamer en de verwarming doet het niet."),
        ] {
            let r = rules.judge(text, lang);
            assert!(r.relevant && r.rule == "intl/procedure-sites", "{text}: {r:?}");
        }
        for text in [
            "Interview met de burgemeester van Zevenaar over de begroting voor 2027.",
            "Gemeente Zevenaar opent een nieuw loket voor parkeervergunningen in het centrum.",
            "Zomerkamp in Budel dit jaar weer een groot succes, 120 kinderen deden mee.",
            "Verkeer: afsluiting van de A12 bij Zevenaar dit weekend door werkzaamheden.",
        ] {
            let r = rules.judge(text, "nl");
            assert!(!r.relevant, "{text}: {r:?}");
        }
    }

    #[test]
    fn a_language_list_that_names_no_language_is_refused_with_its_line() {
        let file = "[[include]]\nid = \"x\"\nany = [\"gehoor\"]\nlanguages = [\"fr\", \"Dutch\"]\n";
        let err = Topics::from_sources(&[(PathBuf::from("t/intl.toml"), file.to_string())])
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("t/intl.toml:4:"), "{err}");
        assert!(err.contains("\"Dutch\" is none"), "{err}");
        // Well formed, but a code the detector never answers: the rule would be silent.
        let file = "[[include]]\nid = \"x\"\nany = [\"gehoor\"]\nlanguages = [\"fr\", \"xx\"]\n";
        let err = Topics::from_sources(&[(PathBuf::from("t/intl.toml"), file.to_string())])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("t/intl.toml:4:") && err.contains("\"xx\" is none"),
            "{err}"
        );
    }

    #[test]
    fn a_rule_language_the_configuration_leaves_out_is_named() {
        let file =
            "[[include]]\nid = \"x\"\nany = [\"gehoor\"]\nlanguages = [\"fr\", \"it\", \"und\"]\n";
        let topics =
            Topics::from_sources(&[(PathBuf::from("t/intl.toml"), file.to_string())]).unwrap();
        let allowed = ["nl".to_string(), "fr".to_string()];
        let left_out = topics.languages_left_out(&allowed);
        assert_eq!(left_out.len(), 1, "{left_out:?}");
        assert!(
            left_out[0].0.ends_with('x') && left_out[0].1 == "it",
            "{left_out:?}"
        );
        let all = ["nl".to_string(), "fr".to_string(), "it".to_string()];
        assert!(topics.languages_left_out(&all).is_empty());
    }

    #[test]
    fn bad_rule_names_file_and_line() {
        let bad = "[[include]]\nid = \"x\"\n\n[[include]]\nid = \"y\"\nany = []\n";
        let err = Topics::from_sources(&[(PathBuf::from("t/nl.toml"), bad.to_string())])
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("t/nl.toml:2:"), "{err}");
        let err = Topics::from_sources(&[(PathBuf::from("t/nl.toml"), "[[include]\n".to_string())])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("t/nl.toml") && err.contains("line 1"), "{err}");
    }
}
