//! The numbers of a weekly export, computed from the index with tantivy aggregations.
//!
//! One query per week (its `[start, end)` of publication times) with nested terms
//! aggregations — complaint, aspect × language, language, source — so that a 52-week
//! export reads counts, not mentions. Complaint voices are counted as the alerts count
//! them ([`crate::alerts::counts`]), from the fast fields of the week's complaints: each
//! near-duplicate cluster stands for the author of its earliest post, and the voices are
//! the distinct authors so found. One post reposted twenty times is one voice, one person
//! posting six complaints is one voice, and both at once are two. Only the
//! examples of the top recurring complaints and the samples for emerging terms read
//! stored documents, and those are bounded.
//!
//! Only relevant mentions are indexed (the pipeline counts the others and drops them),
//! so `mentions` and `relevant_mentions` are the same number: both are in the schema so
//! that the day the index keeps irrelevant mentions too, nothing downstream changes.
//!
//! This module's [`Report`] is the JSON schema (`docs/export-schema.md`); field names
//! are stable.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::{AggregationResult, BucketEntry, BucketResult};
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard, Key};
use tantivy::collector::{Count, TopDocs};

use tantivy::schema::TantivyDocument;
use tantivy::{Order, Searcher, TantivyError};

use super::week::IsoWeek;
use super::{ExportError, Sources};
use crate::alerts::incidents::{Incident, Status};
use crate::alerts::{counts, stats, terms};
use crate::search::docs::{cluster_counts, published_between, quoted, stored_text, stored_time};
use crate::search::Fields;
use crate::state::{StateDb, StateError};

/// Names the JSON schema and its version; bumped only when a field changes meaning or
/// goes away (new fields do not bump it).
pub const SCHEMA: &str = "webcare-weekly-export/2";
/// The aspect of mentions that have none.
pub const NO_ASPECT: &str = "none";
/// Distinct aspects, languages and sources counted per week at most.
const MAX_KEYS: u32 = 1000;
/// Recurring complaints listed.
const TOP_COMPLAINTS: usize = 10;
/// Clusters of the week looked at for them.
const CLUSTER_CANDIDATES: u32 = 200;
/// A cluster recurs when it has at least this many complaints in the week.
const MIN_RECURRING: u64 = 2;
/// Example quotes per recurring complaint.
const EXAMPLES: usize = 3;
/// Characters of an example kept.
const EXAMPLE_CHARS: usize = 280;
/// Complaints of the week, and of the weeks before, read for emerging terms.
const RECENT_SAMPLE: usize = 5_000;
const BASELINE_SAMPLE: usize = 20_000;
/// Emerging terms listed.
const EMERGING_TERMS: usize = 20;
/// Incidents read from the state database.
const MAX_INCIDENTS: usize = 10_000;
/// A change is significant when the Poisson tail in its direction is below this ...
pub const ALPHA: f64 = 0.01;
/// ... and the larger of the two counts is at least this: 0 → 3 is not a trend.
pub const MIN_COUNT: u64 = 5;
/// The least expected count assumed (a never-seen key still has some chance).
const EXPECTED_FLOOR: f64 = 0.5;

/// The whole export: the JSON file is this, serialised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: String,
    /// The exported week, `2026-W47`.
    pub week: String,
    /// IANA name of the time zone of the week boundaries.
    pub time_zone: String,
    /// Weeks before `week` in `weeks`.
    pub weeks_before: u32,
    /// Of those, the weeks the index has data for (from the first week with a
    /// mention): the mean and the tests use only these.
    pub baseline_weeks: u32,
    /// Oldest first; the last one is `week`.
    pub weeks: Vec<WeekCounts>,
    /// `week` against the week before and against the mean of the baseline weeks.
    pub changes: Changes,
    /// Near-duplicate clusters of complaints in `week`, posted by the most accounts first.
    pub top_complaints: Vec<RecurringComplaint>,
    /// Words over-represented in `week`'s complaints against the weeks before.
    pub emerging_terms: Vec<EmergingTerm>,
    pub incidents: Incidents,
}

/// The counts of one week.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WeekCounts {
    pub week: String,
    /// Monday 00:00 and the next Monday 00:00, local time with offset (RFC 3339).
    pub start: String,
    pub end: String,
    /// Indexed mentions published in the week.
    pub mentions: u64,
    /// The same as `mentions`: only relevant mentions are indexed.
    pub relevant_mentions: u64,
    pub complaints: u64,
    /// The people behind the complaints: each near-duplicate cluster stands for the
    /// author of its earliest post in the week, and these are the distinct authors so
    /// found (a cluster first posted without an author counts as one).
    pub complaint_voices: u64,
    /// Per aspect (a mention can have several; [`NO_ASPECT`] for none).
    pub aspects: BTreeMap<String, Tally>,
    /// Per language (ISO 639-1, `und` when undetermined).
    pub languages: BTreeMap<String, Tally>,
    /// Per configured source.
    pub sources: BTreeMap<String, Tally>,
    /// Per aspect, then language: the rows of the CSV.
    pub aspect_languages: BTreeMap<String, BTreeMap<String, Tally>>,
    /// How much of the week the index still holds: its zeros mean "none" only where
    /// this is [`History::Whole`]. Files written before it was added read as whole.
    #[serde(default)]
    pub history: History,
}

/// How much of a week lies within the index's history, which begins with its oldest
/// mention (an installation starts mid-week, an import brings older posts) and, with a
/// retention period, no earlier than the retention cut-off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum History {
    /// From its start: its counts are what was said.
    #[default]
    Whole,
    /// The history begins within the week: its counts are of part of it.
    Partial,
    /// The week ended before the history begins: nothing of it is known, and its
    /// counts are zeros for want of data, not for want of mentions.
    Before,
}

impl History {
    /// The week `[start, end)` against a history that begins at `from` (none: the index
    /// holds nothing).
    pub fn of(start: DateTime<Utc>, end: DateTime<Utc>, from: Option<DateTime<Utc>>) -> History {
        match from {
            None => History::Before,
            Some(from) if end <= from => History::Before,
            Some(from) if start < from => History::Partial,
            Some(_) => History::Whole,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            History::Whole => "whole",
            History::Partial => "partial",
            History::Before => "before",
        }
    }
}

/// Mentions, complaints and complaint voices of one group in one week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub mentions: u64,
    pub complaints: u64,
    pub complaint_voices: u64,
}

/// Whether a change is significant, and which way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Significance {
    Up,
    Down,
    #[default]
    None,
}

/// A count of the exported week against the week before and the baseline mean.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub current: u64,
    pub previous: u64,
    /// Per cent, one decimal; null when the previous week had none.
    pub vs_previous_pct: Option<f64>,
    pub vs_previous: Significance,
    /// The Poisson tail in the direction of the change (four decimals).
    pub p_previous: f64,
    /// Mean over the baseline weeks (two decimals).
    pub mean: f64,
    pub vs_mean_pct: Option<f64>,
    pub vs_mean: Significance,
    pub p_mean: f64,
}

/// The changes of the exported week: mentions, complaints and complaint voices overall,
/// and complaint voices per aspect, language and source (a repost wave is no trend).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    pub mentions: Change,
    pub complaints: Change,
    /// Absent from reports of schema 1, which an erasure still reads and writes back
    /// without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complaint_voices: Option<Change>,
    pub aspects: BTreeMap<String, Change>,
    pub languages: BTreeMap<String, Change>,
    pub sources: BTreeMap<String, Change>,
}

/// A near-duplicate cluster of complaints: one complaint, however often it was posted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecurringComplaint {
    pub cluster: String,
    /// Complaints of the week in the cluster.
    pub mentions: u64,
    /// Distinct accounts (pseudonyms) that posted it: how far it spread, not its voices
    /// (near-identical posts are one voice). Feed items have no author.
    pub authors: u64,
    /// Its aspects, most frequent first.
    pub aspects: Vec<String>,
    /// The first few of the week, oldest first.
    pub examples: Vec<Quote>,
}

/// An example: the redacted text as stored, and where it was published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// The mention's id: an erasure finds the quote by it in the files already written
    /// ([`super::erase::forget_in_files`]). Files written before it was added have none.
    #[serde(default)]
    pub id: String,
    pub text: String,
    pub url: Option<String>,
    pub published: String,
    pub source: String,
    pub lang: String,
}

/// A word that came up in the week's complaints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmergingTerm {
    pub term: String,
    /// Complaint voices (clusters) with the word in the week.
    pub voices: u64,
    /// Voices expected from its share in the weeks before (two decimals).
    pub expected: f64,
    pub p_value: f64,
}

/// Incidents of recurring complaints that opened, changed or closed in the week.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Incidents {
    pub opened: Vec<IncidentSummary>,
    /// Had a signal (or a status change) in the week, without opening or closing in it.
    pub updated: Vec<IncidentSummary>,
    pub closed: Vec<IncidentSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSummary {
    pub id: i64,
    /// `aspect` or `term`.
    pub kind: String,
    pub key: String,
    pub status: Status,
    pub opened: String,
    pub updated: String,
    pub closed: Option<String>,
    /// Most voices in a window at any signal.
    pub peak: u64,
    pub top_terms: Vec<String>,
}

/// The weeks of an export.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub week: IsoWeek,
    pub weeks_before: u32,
    pub tz: Tz,
}

/// Progress steps of [`compute`]: one per week, and three for the rest.
pub fn steps(weeks_before: u32) -> u64 {
    u64::from(weeks_before) + 1 + 3
}

/// Computes the report of `period`, calling `progress` after each step.
pub fn compute(
    sources: &Sources,
    period: &Period,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, ExportError> {
    let (_, reader, fields) = sources.index.parts();
    let searcher = reader.searcher();
    let tz = period.tz;
    let first = period.week.minus(period.weeks_before);
    // The index's history begins with its oldest mention: the week that holds it began
    // before it (an installation starts mid-week), and is no more a whole week than one
    // retention cut short.
    let history_from = crate::search::query::published_at_end(&searcher, Order::Asc)?
        .map(|oldest| sources.kept_from.map_or(oldest, |kept| kept.max(oldest)));
    let mut weeks = Vec::new();
    let mut week = first;
    for _ in 0..=period.weeks_before {
        let mut counts = week_counts(&searcher, fields, week, tz)?;
        counts.history = History::of(week.start(tz), week.end(tz), history_from);
        weeks.push(counts);
        progress(&week.to_string());
        week = week.next();
    }
    // The weeks to compare with begin at the first with mentions that neither retention
    // nor the start of the index's history cut short: a week half erased or half
    // collected would read as a quiet one, and every week after it as a rise (a 90-day
    // retention cuts the first of thirteen weeks).
    let history = weeks
        .iter()
        .position(|w| w.mentions > 0 && w.history == History::Whole);
    let baseline_weeks = history.map_or(0, |h| (weeks.len() - 1).saturating_sub(h)) as u32;
    let changes = changes(&weeks, baseline_weeks as usize);
    let (start, end) = (period.week.start(tz), period.week.end(tz));
    let top_complaints = top_complaints(&searcher, fields, start, end, tz)?;
    progress("top complaints");
    let emerging_terms = emerging_terms(sources, first.start(tz), start, end)?;
    progress("emerging terms");
    let incidents = match sources.state {
        Some(state) => incidents(state, start, end, tz)?,
        None => Incidents::default(),
    };
    progress("incidents");
    Ok(Report {
        schema: SCHEMA.to_string(),
        week: period.week.to_string(),
        time_zone: tz.name().to_string(),
        weeks_before: period.weeks_before,
        baseline_weeks,
        weeks,
        changes,
        top_complaints,
        emerging_terms,
        incidents,
    })
}

impl Report {
    /// The exported week's counts.
    pub fn current(&self) -> Option<&WeekCounts> {
        self.weeks.last()
    }

    /// The index of the first week the index's history reaches into: the weeks before
    /// it lie before that history (or before retention), where nothing is known, not
    /// zero.
    pub fn first_week_of_history(&self) -> Option<usize> {
        self.weeks.iter().position(|w| w.history != History::Before)
    }

    /// Whether nothing at all was published in the exported week.
    pub fn is_empty_week(&self) -> bool {
        self.current().is_none_or(|w| w.mentions == 0)
    }

    /// Every aspect in any week, in the taxonomy's order, [`NO_ASPECT`] last.
    pub fn aspects(&self) -> Vec<String> {
        let seen: BTreeSet<&String> = self.weeks.iter().flat_map(|w| w.aspects.keys()).collect();
        aspect_order(seen.into_iter().map(String::as_str))
    }

    /// Every language in any week, alphabetically.
    pub fn languages(&self) -> Vec<String> {
        let seen: BTreeSet<&String> = self.weeks.iter().flat_map(|w| w.languages.keys()).collect();
        seen.into_iter().cloned().collect()
    }
}

/// `keys` in the taxonomy's order, unknown ones alphabetically after, [`NO_ASPECT`] last.
pub fn aspect_order<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut keys: Vec<&str> = keys.into_iter().collect();
    let rank = |k: &str| {
        crate::pipeline::aspects::ASPECTS
            .iter()
            .position(|a| *a == k)
            .unwrap_or(if k == NO_ASPECT {
                usize::MAX
            } else {
                usize::MAX - 1
            })
    };
    keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
    keys.dedup();
    keys.into_iter().map(str::to_string).collect()
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).to_rfc3339()
}

/// `x` rounded to `places` decimals, half away from zero, never `-0.0`.
pub fn round(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (x * scale).round() / scale + 0.0
}

// ---- queries and aggregations ----------------------------------------------------------

fn collector(
    searcher: &Searcher,
    request: serde_json::Value,
) -> Result<AggregationCollector, TantivyError> {
    let aggs: Aggregations = serde_json::from_value(request)
        .map_err(|e| TantivyError::InvalidArgument(format!("aggregation request: {e}")))?;
    let context = AggContextParams::new(
        AggregationLimitsGuard::default(),
        searcher.index().tokenizers().clone(),
    );
    Ok(AggregationCollector::from_aggs(aggs, context))
}

/// `inner` for the whole week and under each split of it: aspect (and aspect ×
/// language), language, source.
fn split_by_group(inner: serde_json::Value) -> serde_json::Value {
    let by_lang = json!({
        "terms": { "field": "lang", "size": MAX_KEYS },
        "aggs": inner.clone()
    });
    let mut per_aspect = inner.clone();
    per_aspect["lang"] = by_lang.clone();
    let mut out = inner.clone();
    out["aspect"] = json!({
        "terms": { "field": "aspect", "size": MAX_KEYS, "missing": NO_ASPECT },
        "aggs": per_aspect
    });
    out["lang"] = by_lang;
    out["source"] = json!({
        "terms": { "field": "source", "size": MAX_KEYS },
        "aggs": inner
    });
    out
}

/// The aggregation of one week: every split carries its complaints.
fn week_request() -> serde_json::Value {
    split_by_group(json!({
        "complaint": { "terms": { "field": "complaint", "size": 2 } }
    }))
}

type Aggs<S> = HashMap<String, AggregationResult, S>;

/// The voices of one week's complaints, split as [`week_request`] splits them.
#[derive(Default)]
struct WeekVoices {
    all: counts::VoiceTally,
    aspect: BTreeMap<String, counts::VoiceTally>,
    lang: BTreeMap<String, counts::VoiceTally>,
    source: BTreeMap<String, counts::VoiceTally>,
    aspect_lang: BTreeMap<String, BTreeMap<String, counts::VoiceTally>>,
}

impl WeekVoices {
    fn read(
        searcher: &Searcher,
        f: &Fields,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<WeekVoices, TantivyError> {
        let mut week = WeekVoices::default();
        let query = counts::complaints_between(f, start, end, None);
        let fields = ["aspect", "lang", "source"];
        crate::search::docs::each_post(searcher, &*query, &fields, |post, values| {
            week.all.add(post);
            let mut aspects: Vec<&str> = values.of(0).collect();
            if aspects.is_empty() {
                aspects.push(NO_ASPECT);
            }
            for aspect in aspects {
                let tally = |map: &mut BTreeMap<String, counts::VoiceTally>, key: &str| {
                    map.entry(key.to_string()).or_default().add(post);
                };
                tally(&mut week.aspect, aspect);
                let per_lang = week.aspect_lang.entry(aspect.to_string()).or_default();
                for lang in values.of(1) {
                    tally(per_lang, lang);
                }
            }
            for lang in values.of(1) {
                week.lang.entry(lang.to_string()).or_default().add(post);
            }
            for source in values.of(2) {
                week.source.entry(source.to_string()).or_default().add(post);
            }
        })?;
        Ok(week)
    }
}

/// Voices per key.
fn voices_of(tallies: &BTreeMap<String, counts::VoiceTally>) -> BTreeMap<String, u64> {
    tallies
        .iter()
        .map(|(key, tally)| (key.clone(), tally.voices()))
        .collect()
}

fn buckets<'a, S: BuildHasher>(aggs: &'a Aggs<S>, name: &str) -> &'a [BucketEntry] {
    match aggs.get(name) {
        Some(AggregationResult::BucketResult(BucketResult::Terms { buckets, .. })) => {
            buckets.as_slice()
        }
        _ => &[],
    }
}

fn key(bucket: &BucketEntry) -> Option<&str> {
    match &bucket.key {
        Key::Str(k) => Some(k.as_str()),
        _ => None,
    }
}

/// The complaints (`complaint:true`) under a bucket.
fn complaints_of<S: BuildHasher>(aggs: &Aggs<S>) -> u64 {
    buckets(aggs, "complaint")
        .iter()
        .find(|b| key(b) == Some("true"))
        .map_or(0, |b| b.doc_count)
}

fn tally(bucket: &BucketEntry, complaint_voices: u64) -> Tally {
    Tally {
        mentions: bucket.doc_count,
        complaints: complaints_of(&bucket.sub_aggregation.0),
        complaint_voices,
    }
}

/// The tallies of the terms aggregation `name`, with the voices of each key.
fn tallies<S: BuildHasher>(
    aggs: &Aggs<S>,
    name: &str,
    voices: &BTreeMap<String, u64>,
) -> BTreeMap<String, Tally> {
    buckets(aggs, name)
        .iter()
        .filter_map(|b| {
            let key = key(b)?;
            Some((
                key.to_string(),
                tally(b, voices.get(key).copied().unwrap_or(0)),
            ))
        })
        .collect()
}

fn week_counts(
    searcher: &Searcher,
    f: &Fields,
    week: IsoWeek,
    tz: Tz,
) -> Result<WeekCounts, TantivyError> {
    let (start, end) = (week.start(tz), week.end(tz));
    let query = published_between(f, start, end, &[]);
    let (mentions, results) =
        searcher.search(&*query, &(Count, collector(searcher, week_request())?))?;
    let aggs = &results.0;
    let voices = WeekVoices::read(searcher, f, start, end)?;
    let aspect_languages = buckets(aggs, "aspect")
        .iter()
        .filter_map(|b| {
            let aspect = key(b)?;
            let per_lang = voices
                .aspect_lang
                .get(aspect)
                .map(voices_of)
                .unwrap_or_default();
            Some((
                aspect.to_string(),
                tallies(&b.sub_aggregation.0, "lang", &per_lang),
            ))
        })
        .collect();
    Ok(WeekCounts {
        week: week.to_string(),
        start: local(start, tz),
        end: local(end, tz),
        mentions: mentions as u64,
        relevant_mentions: mentions as u64,
        complaints: complaints_of(aggs),
        complaint_voices: voices.all.voices(),
        aspects: tallies(aggs, "aspect", &voices_of(&voices.aspect)),
        languages: tallies(aggs, "lang", &voices_of(&voices.lang)),
        sources: tallies(aggs, "source", &voices_of(&voices.source)),
        aspect_languages,
        // Known only against the index's history: set by the caller.
        history: History::default(),
    })
}

// ---- changes ----------------------------------------------------------------------------

/// Tests `observed` against `expected` with the Poisson tail in the direction of the
/// change; returns the verdict and the tail.
pub fn significance(observed: u64, expected: f64) -> (Significance, f64) {
    if observed == 0 && expected <= 0.0 {
        return (Significance::None, 1.0);
    }
    let lambda = expected.max(EXPECTED_FLOOR);
    if observed as f64 >= lambda {
        let p = stats::poisson_upper_tail(observed, lambda);
        let up = p < ALPHA && observed >= MIN_COUNT;
        (
            if up {
                Significance::Up
            } else {
                Significance::None
            },
            p,
        )
    } else {
        // P(X <= observed) = 1 - P(X >= observed + 1).
        let p = (1.0 - stats::poisson_upper_tail(observed + 1, lambda)).max(0.0);
        let down = p < ALPHA && lambda >= MIN_COUNT as f64;
        (
            if down {
                Significance::Down
            } else {
                Significance::None
            },
            p,
        )
    }
}

fn percent(current: u64, reference: f64) -> Option<f64> {
    (reference > 0.0).then(|| round((current as f64 - reference) / reference * 100.0, 1))
}

/// `current` against `previous` (none before the index's history) and `baseline`.
pub fn change(current: u64, previous: Option<u64>, baseline: &[u64]) -> Change {
    let mut c = Change {
        current,
        previous: previous.unwrap_or(0),
        p_previous: 1.0,
        p_mean: 1.0,
        ..Change::default()
    };
    if let Some(previous) = previous {
        let (verdict, p) = significance(current, previous as f64);
        c.vs_previous_pct = percent(current, previous as f64);
        c.vs_previous = verdict;
        c.p_previous = round(p, 4);
    }
    if !baseline.is_empty() {
        let mean = baseline.iter().sum::<u64>() as f64 / baseline.len() as f64;
        let (verdict, p) = significance(current, mean);
        c.mean = round(mean, 2);
        c.vs_mean_pct = percent(current, mean);
        c.vs_mean = verdict;
        c.p_mean = round(p, 4);
    }
    c
}

fn changes(weeks: &[WeekCounts], baseline_weeks: usize) -> Changes {
    let Some((current, before)) = weeks.split_last() else {
        return Changes::default();
    };
    let baseline = &before[before.len() - baseline_weeks.min(before.len())..];
    let of = |get: &dyn Fn(&WeekCounts) -> u64| {
        let earlier: Vec<u64> = baseline.iter().map(get).collect();
        change(get(current), earlier.last().copied(), &earlier)
    };
    let per = |group: &dyn Fn(&WeekCounts) -> &BTreeMap<String, Tally>| {
        let keys: BTreeSet<&String> = weeks.iter().flat_map(|w| group(w).keys()).collect();
        keys.into_iter()
            .map(|k| {
                let voices = |w: &WeekCounts| group(w).get(k).map_or(0, |t| t.complaint_voices);
                (k.clone(), of(&voices))
            })
            .collect::<BTreeMap<String, Change>>()
    };
    Changes {
        mentions: of(&|w| w.mentions),
        complaints: of(&|w| w.complaints),
        complaint_voices: Some(of(&|w| w.complaint_voices)),
        aspects: per(&|w| &w.aspects),
        languages: per(&|w| &w.languages),
        sources: per(&|w| &w.sources),
    }
}

// ---- recurring complaints, emerging terms, incidents -------------------------------------

fn top_complaints(
    searcher: &Searcher,
    f: &Fields,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<RecurringComplaint>, TantivyError> {
    let query = published_between(f, start, end, &[(f.complaint, "true")]);
    let request = json!({
        "clusters": {
            "terms": { "field": "cluster", "size": CLUSTER_CANDIDATES, "min_doc_count": MIN_RECURRING },
            "aggs": {
                "aspects": { "terms": { "field": "aspect", "size": 50 } }
            }
        }
    });
    let results = searcher.search(&*query, &collector(searcher, request)?)?;
    let mut found: Vec<RecurringComplaint> = buckets(&results.0, "clusters")
        .iter()
        .filter_map(|b| {
            let mut aspects: Vec<(u64, &str)> = buckets(&b.sub_aggregation.0, "aspects")
                .iter()
                .filter_map(|a| Some((a.doc_count, key(a)?)))
                .collect();
            aspects.sort_by(|x, y| y.0.cmp(&x.0).then_with(|| x.1.cmp(y.1)));
            Some(RecurringComplaint {
                cluster: key(b)?.to_string(),
                mentions: b.doc_count,
                // Counted exactly below.
                authors: 0,
                aspects: aspects.into_iter().map(|(_, a)| a.to_string()).collect(),
                examples: Vec::new(),
            })
        })
        .filter(|c| c.mentions >= MIN_RECURRING)
        .collect();
    let names: Vec<&str> = found.iter().map(|c| c.cluster.as_str()).collect();
    let counts = cluster_counts(searcher, f, Some(&*query), &names)?;
    for complaint in &mut found {
        complaint.authors = counts.get(&complaint.cluster).map_or(0, |c| c.voices);
    }
    // Spread over many accounts first: twenty reposts by one account rank below a
    // complaint copied by ten people.
    found.sort_by(|a, b| {
        b.authors
            .cmp(&a.authors)
            .then(b.mentions.cmp(&a.mentions))
            .then_with(|| a.cluster.cmp(&b.cluster))
    });
    found.truncate(TOP_COMPLAINTS);
    for complaint in &mut found {
        complaint.examples = quotes(searcher, f, start, end, &complaint.cluster, tz)?;
    }
    Ok(found)
}

/// The first [`EXAMPLES`] complaints of `cluster` in the week.
fn quotes(
    searcher: &Searcher,
    f: &Fields,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    cluster: &str,
    tz: Tz,
) -> Result<Vec<Quote>, TantivyError> {
    let query = published_between(
        f,
        start,
        end,
        &[(f.complaint, "true"), (f.cluster, cluster)],
    );
    let oldest = TopDocs::with_limit(EXAMPLES)
        .order_by_fast_field::<tantivy::DateTime>("published", Order::Asc);
    let docs = searcher.search(&*query, &oldest)?;
    let mut out = Vec::with_capacity(docs.len());
    for (_, address) in docs {
        let doc: TantivyDocument = searcher.doc(address)?;
        out.push(quote(f, &doc, tz));
    }
    Ok(out)
}

fn quote(f: &Fields, doc: &TantivyDocument, tz: Tz) -> Quote {
    let text = |field| stored_text(doc, field).unwrap_or_default();
    let shown = quoted(&text(f.title), &text(f.text), EXAMPLE_CHARS);
    let published = stored_time(doc, f.published);
    let url = text(f.url);
    Quote {
        id: text(f.id),
        text: shown,
        url: (!url.is_empty()).then_some(url),
        published: local(published, tz),
        source: text(f.source),
        lang: text(f.lang),
    }
}

fn emerging_terms(
    sources: &Sources,
    baseline_start: DateTime<Utc>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<EmergingTerm>, TantivyError> {
    if baseline_start >= start {
        return Ok(Vec::new());
    }
    let (recent, _) = counts::complaints(sources.index, start, end, None, RECENT_SAMPLE)?;
    if recent.is_empty() {
        return Ok(Vec::new());
    }
    let (baseline, _) =
        counts::complaints(sources.index, baseline_start, start, None, BASELINE_SAMPLE)?;
    if baseline.is_empty() {
        // Against nothing every word is new: no history, no emerging terms.
        return Ok(Vec::new());
    }
    Ok(
        terms::emerging(&recent, &baseline, &sources.thresholds, sources.known)
            .into_iter()
            .take(EMERGING_TERMS)
            .map(|s| EmergingTerm {
                term: s.term,
                voices: s.comparison.observed,
                expected: round(s.comparison.expected, 2),
                p_value: round(s.comparison.p_value, 4),
            })
            .collect(),
    )
}

fn summary(i: &Incident, tz: Tz) -> IncidentSummary {
    IncidentSummary {
        id: i.id,
        kind: i.kind.clone(),
        key: i.key.clone(),
        status: i.status,
        opened: local(i.opened, tz),
        updated: local(i.updated, tz),
        closed: i.closed.map(|c| local(c, tz)),
        peak: i.peak,
        top_terms: i.top_terms.clone(),
    }
}

/// Whether a day of an incident's signal counts (`2026-11-18`, a UTC date) falls in
/// `[start, end)`, judged by its noon.
fn signal_day_within(day: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .map(|t| t.and_utc())
        .is_some_and(|t| (start..end).contains(&t))
}

fn incidents(
    state: &StateDb,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    tz: Tz,
) -> Result<Incidents, StateError> {
    let within = |t: DateTime<Utc>| (start..end).contains(&t);
    let mut all = state.incidents(None, MAX_INCIDENTS)?;
    all.sort_by_key(|i| i.id);
    let mut out = Incidents::default();
    for i in &all {
        let opened = within(i.opened);
        let closed = i.closed.is_some_and(within);
        let active = within(i.updated)
            || i.counts
                .keys()
                .any(|day| signal_day_within(day, start, end));
        if opened {
            out.opened.push(summary(i, tz));
        }
        if closed {
            out.closed.push(summary(i, tz));
        }
        if active && !opened && !closed {
            out.updated.push(summary(i, tz));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_significant_only_when_improbable_and_not_tiny() {
        // 10 where 1.75 is usual: up.
        let c = change(10, Some(2), &[2, 2, 1, 2]);
        assert_eq!(c.vs_mean, Significance::Up);
        assert_eq!(c.vs_previous, Significance::Up);
        assert_eq!(c.mean, 1.75);
        assert_eq!(c.vs_previous_pct, Some(400.0));
        // 3 where 0 was: improbable, but too few to call a trend.
        let c = change(3, Some(0), &[0, 0]);
        assert_eq!(c.vs_previous, Significance::None);
        assert_eq!(c.vs_previous_pct, None);
        // 2 where 20 is usual: down.
        assert_eq!(change(2, Some(20), &[20, 20]).vs_mean, Significance::Down);
        // 18 where 20 is usual: nothing.
        assert_eq!(change(18, Some(20), &[20, 22]).vs_mean, Significance::None);
        // No history: nothing to compare with.
        let c = change(7, None, &[]);
        assert_eq!(
            (c.vs_previous, c.vs_mean, c.p_mean),
            (Significance::None, Significance::None, 1.0)
        );
    }

    #[test]
    fn aspects_keep_the_taxonomy_order() {
        assert_eq!(
            aspect_order(["none", "reception", "interpreter", "waiting_time", "zzz"]),
            ["waiting_time", "interpreter", "reception", "zzz", "none"]
        );
    }

    #[test]
    fn rounding_is_half_away_from_zero_and_never_negative_zero() {
        assert_eq!(round(0.125, 2), 0.13);
        assert_eq!(round(-0.00001, 2).to_string(), "0");
        assert_eq!(round(-12.25, 1), -12.3);
    }

    #[test]
    fn signal_days_count_by_their_noon() {
        let start = DateTime::parse_from_rfc3339("2026-11-15T23:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let end = DateTime::parse_from_rfc3339("2026-11-22T23:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(!signal_day_within("2026-11-15", start, end));
        assert!(signal_day_within("2026-11-16", start, end));
        assert!(signal_day_within("2026-11-22", start, end));
        assert!(!signal_day_within("2026-11-23", start, end));
        assert!(!signal_day_within("garbage", start, end));
    }

    #[test]
    fn a_week_is_whole_partial_or_before_the_history() {
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let (start, end) = (at("2026-11-15T23:00:00Z"), at("2026-11-22T23:00:00Z"));
        let of = |from: Option<&str>| History::of(start, end, from.map(at));
        assert_eq!(of(Some("2026-11-01T00:00:00Z")), History::Whole);
        assert_eq!(of(Some("2026-11-15T23:00:00Z")), History::Whole);
        assert_eq!(of(Some("2026-11-18T10:00:00Z")), History::Partial);
        assert_eq!(of(Some("2026-11-22T23:00:00Z")), History::Before);
        assert_eq!(of(None), History::Before, "an empty index knows no week");
        let json = serde_json::to_string(&History::Before).unwrap();
        assert_eq!(json, "\"before\"");
    }
}
