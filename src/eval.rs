//! `webcare eval FILE.jsonl`: how well the pipeline understands mentions, measured on
//! labeled data.
//!
//! Input, one object per line (extra fields ignored):
//! `{"id","lang","text","relevant":bool,"complaint":bool,"aspects":[ids],"pii":[strings],"dup_group":string|null}`.
//! Each text runs through the same pipeline as the daemon's mentions. Measured:
//! - language accuracy (overall, per language, and on texts of 20 characters or more);
//! - precision/recall/F1 of relevance;
//! - complaint, on the items labeled relevant, judged by the complaint stage even where
//!   relevance missed the item (so that each stage is measured on its own);
//! - aspects, per aspect and micro-averaged over all items, as stored (an item relevance
//!   missed has none); and micro-averaged on the items labeled relevant, judged by the
//!   aspect stage even where relevance missed the item (the stage on its own, as
//!   complaint);
//! - near-duplicates: pairwise precision and recall of "same cluster" against
//!   "same `dup_group`", over all items (a fresh table, as the daemon's starts empty);
//! - redaction of personal data: recall of the labeled `pii` strings, and how often
//!   ordinary numbers (dates, times, counts) were redacted by mistake.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::mention::Mention;
use crate::pipeline::aspects::AspectTag;
use crate::pipeline::Pipeline;

/// Texts shorter than this are left out of the headline language accuracy.
pub const MIN_LANG_CHARS: usize = 20;

/// One labeled item.
#[derive(Debug)]
pub struct Labeled {
    pub id: String,
    pub lang: String,
    pub text: String,
    pub relevant: bool,
    pub complaint: bool,
    pub aspects: Vec<String>,
    pub pii: Vec<String>,
    pub dup_group: Option<String>,
    /// Marked as measuring data (`"held_out": true`): `webcare train` refuses it, in
    /// whatever file it was copied to.
    pub held_out: bool,
}

/// A labeled line as written: `complaint` and `aspects` may be left out of an item that
/// is not relevant, where they can only be false and empty.
#[derive(Deserialize)]
struct LabeledLine {
    id: String,
    lang: String,
    text: String,
    relevant: bool,
    #[serde(default)]
    complaint: Option<bool>,
    #[serde(default)]
    aspects: Option<Vec<String>>,
    #[serde(default)]
    pii: Vec<String>,
    #[serde(default)]
    dup_group: Option<String>,
    #[serde(default)]
    held_out: bool,
}

impl Labeled {
    /// One line of a labeled file, or what is wrong with it. A byte-order mark (as some
    /// editors write at the start of a file) is read past. Labels that cannot be scored
    /// as written are errors, as each would silently count as a hit or a miss: an aspect
    /// id outside the taxonomy, a relevant item without its complaint or aspect labels,
    /// an irrelevant one with them, a `pii` string that is not in the text.
    pub fn parse(line: &str) -> Result<Labeled, String> {
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        let item: LabeledLine =
            crate::import::json_line(line).map_err(|e| format!("invalid labeled item: {e}"))?;
        if item.id.trim().is_empty() {
            return Err("field `id` is empty".into());
        }
        // "NL" or "xx" would count as a wrong detection every time.
        if item.lang != "und" && crate::pipeline::language::lookup(&item.lang).is_none() {
            return Err(format!(
                "field `lang`: {:?} is not a language code (ISO 639-1 in lower case: nl, en, ar, …; und for none)",
                item.lang
            ));
        }
        let aspects = item.aspects.clone().unwrap_or_default();
        if let Some(unknown) = aspects
            .iter()
            .find(|a| !crate::pipeline::aspects::ASPECTS.contains(&a.as_str()))
        {
            return Err(format!(
                "field `aspects`: {unknown:?} is not an aspect; known aspects: {}",
                crate::pipeline::aspects::ASPECTS.join(", ")
            ));
        }
        check_labels(&item)?;
        if let Some(position) = item.pii.iter().position(|p| p.trim().is_empty()) {
            // An empty string occurs in every text and would count as redacted.
            return Err(format!(
                "field `pii`: string {} of {} is empty; list each piece of personal data exactly as written in `text`",
                position + 1,
                item.pii.len()
            ));
        }
        if let Some(position) = item
            .pii
            .iter()
            .position(|p| !item.text.contains(p.as_str()))
        {
            // Not quoted: it is personal data.
            return Err(format!(
                "field `pii`: string {} of {} does not occur in `text`; list each exactly as written there",
                position + 1,
                item.pii.len()
            ));
        }
        Ok(Labeled {
            id: item.id,
            lang: item.lang,
            text: item.text,
            relevant: item.relevant,
            complaint: item.complaint.unwrap_or(false),
            aspects,
            pii: item.pii,
            dup_group: item.dup_group,
            held_out: item.held_out,
        })
    }
}

/// A relevant item states its complaint and aspects; an irrelevant one has none.
fn check_labels(item: &LabeledLine) -> Result<(), String> {
    for (field, given) in [
        ("complaint", item.complaint.is_some()),
        ("aspects", item.aspects.is_some()),
    ] {
        if item.relevant && !given {
            return Err(format!(
                "field `{field}` is missing; an item labeled relevant needs it (`false` or `[]` if none)"
            ));
        }
    }
    if !item.relevant && item.complaint == Some(true) {
        return Err("field `complaint` is true on an item labeled not relevant; only posts about the procedure are complaints".into());
    }
    if !item.relevant && item.aspects.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err("field `aspects` is not empty on an item labeled not relevant; only posts about the procedure have aspects".into());
    }
    Ok(())
}

/// What the pipeline made of one item (`--predictions`).
#[derive(Debug, Serialize)]
pub struct Prediction {
    pub id: String,
    pub lang: String,
    /// How sure the language stage was (0..1).
    pub lang_confidence: f64,
    pub relevant: bool,
    pub complaint: bool,
    pub complaint_score: f64,
    /// Why the complaint stage decided as it did.
    pub complaint_why: Vec<String>,
    pub aspects: Vec<String>,
    /// Per aspect, what found it (list terms, the model's strongest features).
    pub aspect_why: Vec<String>,
    pub cluster: Option<String>,
    /// The text as it would be stored.
    pub text: String,
    /// The relevance rule that decided, and its terms.
    pub rule: String,
    pub terms: Vec<String>,
}

/// Precision, recall and F1 of a binary decision.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scores {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub true_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Scores {
    pub(crate) fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.true_positives += 1,
            (true, false) => self.false_positives += 1,
            (false, true) => self.false_negatives += 1,
            (false, false) => self.true_negatives += 1,
        }
    }

    pub(crate) fn finish(mut self) -> Scores {
        let ratio = |a: usize, b: usize| {
            if a + b == 0 {
                0.0
            } else {
                a as f64 / (a + b) as f64
            }
        };
        self.precision = ratio(self.true_positives, self.false_positives);
        self.recall = ratio(self.true_positives, self.false_negatives);
        self.f1 = if self.precision + self.recall == 0.0 {
            0.0
        } else {
            2.0 * self.precision * self.recall / (self.precision + self.recall)
        };
        self
    }
}

/// In `--json`, a figure with nothing to measure (a precision without predictions, an
/// F1 without any item of the class) is `null`, as the text shows it `n/a`: `0.0` would
/// read as a failure.
impl Serialize for Scores {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown {
            true_positives: usize,
            false_positives: usize,
            false_negatives: usize,
            true_negatives: usize,
            precision: Option<f64>,
            recall: Option<f64>,
            f1: Option<f64>,
        }
        let (tp, fp, fn_) = (
            self.true_positives,
            self.false_positives,
            self.false_negatives,
        );
        let measured = |out_of: usize, x: f64| (out_of > 0).then_some(x);
        Shown {
            true_positives: tp,
            false_positives: fp,
            false_negatives: fn_,
            true_negatives: self.true_negatives,
            precision: measured(tp + fp, self.precision),
            recall: measured(tp + fn_, self.recall),
            f1: measured(tp + fp + fn_, self.f1),
        }
        .serialize(serializer)
    }
}

/// Correct out of total.
#[derive(Debug, Default, Clone, Copy)]
pub struct Accuracy {
    pub correct: usize,
    pub total: usize,
    pub accuracy: f64,
}

/// `accuracy` is `null` in `--json` where there was nothing to measure (see [`Scores`]).
impl Serialize for Accuracy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown {
            correct: usize,
            total: usize,
            accuracy: Option<f64>,
        }
        Shown {
            correct: self.correct,
            total: self.total,
            accuracy: (self.total > 0).then_some(self.accuracy),
        }
        .serialize(serializer)
    }
}

impl Accuracy {
    fn add(&mut self, correct: bool) {
        self.total += 1;
        self.correct += usize::from(correct);
        self.accuracy = self.correct as f64 / self.total as f64;
    }
}

/// How well redaction did on the labeled personal data.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct PiiScores {
    /// Labeled personal-data strings, and how many are gone from the stored text.
    pub strings: usize,
    pub redacted: usize,
    pub recall: f64,
    /// Numbers in the texts that are not personal data, and how many were redacted.
    pub ordinary_numbers: usize,
    pub wrongly_redacted: usize,
    pub false_redaction_rate: f64,
}

/// The evaluation report (`--json` prints it as is).
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub items: usize,
    /// Language accuracy on texts of at least [`MIN_LANG_CHARS`] characters.
    pub language: Accuracy,
    pub language_all_lengths: Accuracy,
    pub language_by_lang: BTreeMap<String, Accuracy>,
    pub relevance: Scores,
    /// On the items labeled relevant.
    pub complaint: Scores,
    /// Pairs of items: predicted in one cluster vs labeled in one `dup_group`.
    pub duplicates: Scores,
    /// Per aspect, over all items (an irrelevant item has no aspects).
    pub aspects: BTreeMap<String, Scores>,
    /// Micro-averaged over every (item, aspect) decision.
    pub aspects_micro: Scores,
    /// Micro-averaged on the items labeled relevant, judged by the aspect stage even
    /// where relevance missed the item: the stage on its own.
    pub aspects_stage: Scores,
    pub pii: PiiScores,
    /// (line, what is wrong) for lines that were skipped.
    pub errors: Vec<(usize, String)>,
}

/// The source every evaluated item comes from: list it among the pipeline's
/// `topical_sources` to evaluate as for a topical source (`webcare eval --topical`).
pub const SOURCE: &str = "eval";

/// Runs `pipeline` over every labeled item of `reader`; writes predictions if asked.
pub fn evaluate<R: BufRead>(
    reader: R,
    pipeline: &Pipeline,
    mut predictions: Option<&mut dyn Write>,
) -> std::io::Result<Report> {
    let mut report = Report::default();
    let mut relevance = Scores::default();
    let mut complaint = Scores::default();
    let mut clusters = crate::pipeline::duplicates::DuplicateIndex::default();
    // (labeled group, predicted cluster) per item, for the pairwise duplicate scores.
    let mut groups: Vec<(Option<String>, Option<String>)> = Vec::new();
    let now = Utc::now();
    let mut seen_ids: std::collections::HashMap<String, usize> = Default::default();
    for (index, line) in reader.split(b'\n').enumerate() {
        let line = line?;
        // A line that is not UTF-8 is that line's error, as a bad item is.
        let line = match String::from_utf8(line) {
            Ok(line) => line,
            Err(e) => {
                report
                    .errors
                    .push((index + 1, format!("not UTF-8 ({})", e.utf8_error())));
                continue;
            }
        };
        if line.trim_start_matches('\u{feff}').trim().is_empty() {
            continue;
        }
        let item = match Labeled::parse(&line) {
            Ok(item) => item,
            Err(message) => {
                report.errors.push((index + 1, message));
                continue;
            }
        };
        // Items are told apart by id (predictions, duplicate clusters).
        if let Some(first) = seen_ids.insert(item.id.clone(), index + 1) {
            report.errors.push((
                index + 1,
                format!("id {:?} is on line {first} already", item.id),
            ));
            continue;
        }
        let text = crate::pipeline::extract::any_to_text(&item.text);
        let mut mention = Mention::new(SOURCE, &item.id, now, now);
        mention.text = text.clone();
        let mention = pipeline.process(mention);
        report.items += 1;
        score_language(&mut report, &item, &mention);
        relevance.add(mention.is_relevant(), item.relevant);
        // The stage's own verdict where it ran; where relevance missed the item, the
        // stage on the same text it would have read.
        let judged = mention.complaint.clone().unwrap_or_else(|| {
            pipeline
                .complaint_rules()
                .judge(&pipeline.as_read(&text), &mention.lang)
        });
        if item.relevant {
            complaint.add(judged.complaint, item.complaint);
        }
        let cluster = crate::pipeline::duplicates::signature(&mention.text)
            .map(|s| clusters.assign(&mention.id, &s));
        groups.push((item.dup_group.clone(), cluster.clone()));
        score_aspects(&mut report, &item, &mention);
        if item.relevant {
            // The stage's own verdict where it ran, else the stage on the same text.
            let judged_alone;
            let tags = if mention.is_relevant() {
                &mention.aspects
            } else {
                judged_alone = pipeline.judge_aspects(&text);
                &judged_alone
            };
            for (_, predicted, actual) in aspect_decisions(&item, tags) {
                report.aspects_stage.add(predicted, actual);
            }
        }
        score_pii(&mut report.pii, &item, &mention.text);
        if let Some(out) = predictions.as_mut() {
            serde_json::to_writer(&mut **out, &predict(&item, &mention, judged, cluster))?;
            out.write_all(b"\n")?;
        }
    }
    report.relevance = relevance.finish();
    report.complaint = complaint.finish();
    report.duplicates = pairwise(&groups);
    report.aspects_micro = report.aspects_micro.finish();
    report.aspects_stage = report.aspects_stage.finish();
    for scores in report.aspects.values_mut() {
        *scores = scores.finish();
    }
    let pii = &mut report.pii;
    pii.recall = ratio(pii.redacted, pii.strings);
    pii.false_redaction_rate = ratio(pii.wrongly_redacted, pii.ordinary_numbers);
    Ok(report)
}

/// Every pair of items: same predicted cluster against same labeled group.
fn pairwise(groups: &[(Option<String>, Option<String>)]) -> Scores {
    let mut scores = Scores::default();
    for (i, (group_a, cluster_a)) in groups.iter().enumerate() {
        for (group_b, cluster_b) in &groups[i + 1..] {
            let actual = group_a.is_some() && group_a == group_b;
            let predicted = cluster_a.is_some() && cluster_a == cluster_b;
            scores.add(predicted, actual);
        }
    }
    scores.finish()
}

fn score_language(report: &mut Report, item: &Labeled, mention: &Mention) {
    let correct = mention.lang == item.lang;
    report.language_all_lengths.add(correct);
    if item.text.chars().count() >= MIN_LANG_CHARS {
        report.language.add(correct);
        report
            .language_by_lang
            .entry(item.lang.clone())
            .or_default()
            .add(correct);
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Per aspect: (aspect, predicted by `tags`, labeled on `item`).
fn aspect_decisions<'a>(
    item: &'a Labeled,
    tags: &'a [AspectTag],
) -> impl Iterator<Item = (&'static str, bool, bool)> + 'a {
    crate::pipeline::aspects::ASPECTS.iter().map(|aspect| {
        let predicted = tags.iter().any(|t| t.id == *aspect);
        let actual = item.aspects.iter().any(|a| a == aspect);
        (*aspect, predicted, actual)
    })
}

fn score_aspects(report: &mut Report, item: &Labeled, mention: &Mention) {
    for (aspect, predicted, actual) in aspect_decisions(item, &mention.aspects) {
        report
            .aspects
            .entry(aspect.to_string())
            .or_default()
            .add(predicted, actual);
        report.aspects_micro.add(predicted, actual);
    }
}

/// A labeled string counts as redacted when neither it nor any run of three or more
/// of its digits is left in the stored text (a half-redacted phone number is a leak).
fn score_pii(scores: &mut PiiScores, item: &Labeled, stored: &str) {
    let runs = number_pattern();
    // The digits of a pseudonym are none of the post's: with a new key each run, they
    // would find a number (or a leak) by chance.
    let stored = &crate::pipeline::pseudonym::pseudonym_pattern().replace_all(stored, "p_");
    for pii in &item.pii {
        scores.strings += 1;
        let leaked = stored.contains(pii.as_str())
            || runs.find_iter(pii).any(|m| {
                m.as_str().chars().filter(char::is_ascii_digit).count() >= 3
                    && stored.contains(m.as_str())
            });
        scores.redacted += usize::from(!leaked);
    }
    for number in runs.find_iter(&item.text) {
        if item.pii.iter().any(|p| p.contains(number.as_str())) {
            continue;
        }
        // Digits in a handle or word ("@dierenvriend_88") are no date, time or count:
        // the handle goes whole into a pseudonym, and whether that happened to hold the
        // same digits would decide the count from one run to the next.
        let in_a_word = item.text[..number.start()]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '@');
        if in_a_word {
            continue;
        }
        scores.ordinary_numbers += 1;
        scores.wrongly_redacted += usize::from(!stored.contains(number.as_str()));
    }
}

/// Numbers as people write them: 2.400, 12-03-2026, 06:30, 13,6.
fn number_pattern() -> &'static regex::Regex {
    static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    PATTERN
        .get_or_init(|| regex::Regex::new(r"\d+(?:[.,:/-]\d+)*").expect("number pattern compiles"))
}

fn predict(
    item: &Labeled,
    mention: &Mention,
    judged: crate::pipeline::complaint::Complaint,
    cluster: Option<String>,
) -> Prediction {
    let (rule, terms) = match &mention.relevance {
        Some(r) => (r.rule.clone(), r.terms.clone()),
        None => (String::new(), Vec::new()),
    };
    Prediction {
        id: item.id.clone(),
        lang: mention.lang.clone(),
        lang_confidence: mention.lang_confidence,
        relevant: mention.is_relevant(),
        // As stored: only relevant mentions are judged.
        complaint: mention.is_relevant() && judged.complaint,
        complaint_score: if mention.is_relevant() {
            judged.score
        } else {
            0.0
        },
        complaint_why: judged.why,
        aspects: mention.aspects.iter().map(|t| t.id.clone()).collect(),
        aspect_why: mention.aspects.iter().map(AspectTag::why).collect(),
        cluster,
        text: mention.text.clone(),
        rule,
        terms,
    }
}

fn scores_line(label: &str, s: &Scores) -> String {
    let (tp, fp, fn_) = (s.true_positives, s.false_positives, s.false_negatives);
    let f1 = if tp + fp + fn_ == 0 {
        NOT_MEASURED.to_string()
    } else {
        format!("{:.3}", s.f1)
    };
    format!(
        "{label}: precision {} recall {} F1 {f1} (tp {}, fp {}, fn {}, tn {})\n",
        percent(s.precision, tp + fp),
        percent(s.recall, tp + fn_),
        s.true_positives,
        s.false_positives,
        s.false_negatives,
        s.true_negatives
    )
}

/// What a figure with nothing to measure shows: "0.0%" would read as a failure.
const NOT_MEASURED: &str = "n/a";

/// `x` as a percentage of `out_of` items, or [`NOT_MEASURED`] when there were none.
fn percent(x: f64, out_of: usize) -> String {
    if out_of == 0 {
        NOT_MEASURED.to_string()
    } else {
        format!("{:.1}%", x * 100.0)
    }
}

/// The report as a person reads it.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("items: {}\n", report.items));
    out.push_str(&format!(
        "language accuracy (texts of {MIN_LANG_CHARS}+ chars): {} ({}/{}); all lengths: {}\n",
        percent(report.language.accuracy, report.language.total),
        report.language.correct,
        report.language.total,
        percent(
            report.language_all_lengths.accuracy,
            report.language_all_lengths.total
        )
    ));
    for (lang, acc) in &report.language_by_lang {
        out.push_str(&format!(
            "  {lang}: {} ({}/{})\n",
            percent(acc.accuracy, acc.total),
            acc.correct,
            acc.total
        ));
    }
    out.push_str(&scores_line("relevance", &report.relevance));
    out.push_str(&scores_line(
        "complaint (on relevant items)",
        &report.complaint,
    ));
    out.push_str(&scores_line("aspects (micro)", &report.aspects_micro));
    for (aspect, scores) in &report.aspects {
        out.push_str(&scores_line(&format!("  {aspect}"), scores));
    }
    out.push_str(&scores_line(
        "aspects (micro, the stage alone on relevant items)",
        &report.aspects_stage,
    ));
    let p = &report.pii;
    out.push_str(&format!(
        "personal data: {} of {} labeled strings redacted (recall {}); {} of {} ordinary numbers wrongly redacted ({})\n",
        p.redacted,
        p.strings,
        percent(p.recall, p.strings),
        p.wrongly_redacted,
        p.ordinary_numbers,
        percent(p.false_redaction_rate, p.ordinary_numbers)
    ));
    out.push_str(&scores_line(
        "near-duplicates (pairs in one cluster)",
        &report.duplicates,
    ));
    for (line, error) in &report.errors {
        out.push_str(&format!("line {line}: {error}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(text: &str, pii: &[&str]) -> Labeled {
        Labeled {
            id: "t1".into(),
            lang: "nl".into(),
            text: text.into(),
            relevant: false,
            complaint: false,
            aspects: Vec::new(),
            pii: pii.iter().map(|p| p.to_string()).collect(),
            dup_group: None,
            held_out: false,
        }
    }

    /// In JSON as in the text: a figure with nothing to measure is no figure (`null`,
    /// `n/a`), not a 0 that reads as a failure.
    #[test]
    fn a_figure_with_nothing_to_measure_is_null() {
        let mut none = Scores::default();
        none.add(false, false);
        let json = serde_json::to_value(none.finish()).unwrap();
        for figure in ["precision", "recall", "f1"] {
            assert!(json[figure].is_null(), "{figure}: {json}");
        }
        assert_eq!(json["true_negatives"], 1);
        assert!(scores_line("x", &none.finish()).contains("F1 n/a"));
        // Predicted but never so: a precision of 0, and no recall to measure.
        let mut wrong = Scores::default();
        wrong.add(true, false);
        let json = serde_json::to_value(wrong.finish()).unwrap();
        assert_eq!(json["precision"], 0.0);
        assert!(json["recall"].is_null());
        assert_eq!(json["f1"], 0.0);
        let mut right = Scores::default();
        right.add(true, true);
        assert_eq!(serde_json::to_value(right.finish()).unwrap()["f1"], 1.0);
        let empty = serde_json::to_value(Accuracy::default()).unwrap();
        assert!(empty["accuracy"].is_null() && empty["total"] == 0);
        let mut one = Accuracy::default();
        one.add(true);
        assert_eq!(serde_json::to_value(one).unwrap()["accuracy"], 1.0);
    }

    /// What a pseudonym's hex digits hold decides nothing: the digits of a handle are
    /// no ordinary number, and a number or a leak is not found in a pseudonym.
    #[test]
    fn pseudonyms_decide_no_count() {
        let labeled = item(
            "RT @vriend_88: hond Bram, 9 jaar. Bel 0612345678",
            &["0612345678"],
        );
        for pseudonym in ["p_88aa0000000000000000bb00", "p_0612345678abcdef01234567"] {
            let mut scores = PiiScores::default();
            let stored = format!("RT @{pseudonym}: hond Bram, 9 jaar. Bel [phone]");
            score_pii(&mut scores, &labeled, &stored);
            assert_eq!((scores.strings, scores.redacted), (1, 1), "{pseudonym}");
            assert_eq!(
                (scores.ordinary_numbers, scores.wrongly_redacted),
                (1, 0),
                "{pseudonym}"
            );
        }
        // A number that is gone is counted as such.
        let mut scores = PiiScores::default();
        score_pii(
            &mut scores,
            &labeled,
            "RT @p_0123456789abcdef01234567: hond Bram, [phone] jaar.",
        );
        assert_eq!((scores.ordinary_numbers, scores.wrongly_redacted), (1, 1));
    }
}
