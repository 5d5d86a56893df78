//! Recurring complaints: detection over the index, incidents in the state database, and
//! alert e-mail to the communications team.
//!
//! Every `every` (5 minutes) the daemon counts complaint *voices* — near-duplicate
//! clusters, so that one viral post is one voice — per aspect of the procedure (and per
//! configured facet) in the recent `window`, and compares each with what is usual: the
//! same window on the four weeks before (weekday and time of day alike) blended with the
//! whole `baseline` period. A count that is improbable under a Poisson model, at least
//! `min_voices` and at least `min_ratio` times the usual is a signal ([`stats`]). Words
//! over-represented in recent complaints and unknown to the aspect rules are signals too
//! ([`terms`]): a new problem surfaces before anyone writes a rule for it. Signals open
//! or update incidents ([`incidents`]); an incident closes after `close_after` without a
//! signal. Opening and growing incidents queue mail in the outbox ([`mail`]).

pub mod counts;
pub mod incidents;
pub mod mail;
pub mod outbox;
pub mod settings;
pub mod stats;
pub mod terms;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use self::counts::Example;
use self::incidents::Change;
use self::settings::{Alerts, Mail};
use self::stats::Comparison;
use crate::pipeline::Pipeline;
use crate::search::MentionIndex;
use crate::state::{StateDb, StateError};

/// Complaints read per window for examples and term counting.
const RECENT_SAMPLE: usize = 2_000;
/// Baseline complaints read for term counting (the most recent ones).
const BASELINE_SAMPLE: usize = 5_000;
/// Top terms kept per incident.
const TOP_TERMS: usize = 8;
/// History needed before anything can be unusual: with less, every first week would
/// alarm against an empty baseline.
pub(crate) const MIN_HISTORY: chrono::Duration = chrono::Duration::days(7);

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("detection: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// What a signal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An aspect of the procedure (or aspect and facet value).
    Aspect,
    /// A word over-represented in recent complaints.
    Term,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Aspect => "aspect",
            Kind::Term => "term",
        }
    }
}

/// One signal of one detection run.
#[derive(Debug, Clone)]
pub struct Detection {
    pub kind: Kind,
    pub key: String,
    pub comparison: Comparison,
    /// The window the comparison counted (the most significant of `windows`).
    pub window: std::time::Duration,
    /// Recent complaints behind it, newest first.
    pub examples: Vec<Example>,
    pub top_terms: Vec<String>,
}

fn span(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Looks at the index as of `now` and returns every signal.
pub fn detect(
    index: &MentionIndex,
    pipeline: &Pipeline,
    config: &Alerts,
    now: DateTime<Utc>,
) -> Result<Vec<Detection>, AlertError> {
    let window = span(config.window());
    let start = now - window;
    let baseline_start = start - span(config.baseline);
    let thresholds = config.thresholds();
    let mut facets: Vec<Option<&str>> = vec![None];
    facets.extend(config.facets.iter().map(|f| Some(f.as_str())));
    let (recent, _) = counts::complaints(index, start, now, None, RECENT_SAMPLE)?;
    if recent.is_empty() {
        return Ok(Vec::new());
    }
    let (baseline, _) = counts::complaints(index, baseline_start, start, None, BASELINE_SAMPLE)?;
    let history = baseline.iter().map(|e| e.published).min();
    let enough_history = baseline.len() >= BASELINE_SAMPLE
        // The baseline is longer than this (the config refuses a shorter one).
        || history.is_some_and(|oldest| start - oldest >= MIN_HISTORY);
    if !enough_history {
        return Ok(Vec::new());
    }
    let baseline_seconds = span(config.baseline).num_seconds().max(1) as f64;
    let mut out: Vec<Detection> = Vec::new();
    for facet in facets {
        let whole = counts::voices_per_aspect(index, baseline_start, start, facet)?;
        // The most significant window per key (hours catch a burst early, days a wave).
        let mut best: std::collections::BTreeMap<String, (Comparison, std::time::Duration)> =
            Default::default();
        for window in &config.windows {
            let w = span(*window);
            let from = now - w;
            let current = counts::voices_per_aspect(index, from, now, facet)?;
            let mut weekly: Vec<counts::VoiceCounts> = Vec::new();
            for week in 1..=4 {
                let shift = chrono::Duration::days(7 * week);
                if from - shift < baseline_start {
                    break;
                }
                weekly.push(counts::voices_per_aspect(
                    index,
                    from - shift,
                    now - shift,
                    facet,
                )?);
            }
            let per_window = w.num_seconds() as f64 / baseline_seconds;
            for (key, observed) in current {
                let earlier: Vec<u64> = weekly.iter().map(|x| *x.get(&key).unwrap_or(&0)).collect();
                let rate = *whole.get(&key).unwrap_or(&0) as f64 * per_window;
                let comparison =
                    stats::compare(observed, stats::expected_count(&earlier, rate), &thresholds);
                let better = best
                    .get(&key)
                    .is_none_or(|(b, _)| comparison.p_value < b.p_value);
                if comparison.signal && better {
                    best.insert(key, (comparison, *window));
                }
            }
        }
        for (key, (comparison, window)) in best {
            let (aspect, _, _) = counts::key_parts(&key);
            // A facet is there to find what the whole aspect hides (one source, one
            // language): where the whole aspect signals, its facets would only repeat it.
            if facet.is_some() && out.iter().any(|d| d.key == aspect) {
                continue;
            }
            let examples: Vec<Example> = recent
                .iter()
                .filter(|e| e.aspects.iter().any(|a| a == aspect))
                .cloned()
                .collect();
            let top_terms = terms::top_terms(&examples, &baseline, TOP_TERMS);
            out.push(Detection {
                kind: Kind::Aspect,
                key,
                comparison,
                window,
                examples,
                top_terms,
            });
        }
    }
    if config.emerging_terms {
        let known = |term: &str| pipeline.known_term(term);
        // The posts of the words already kept: one wave of posts brings many words
        // (its subject, its complaint words, a title's junk), and is one incident.
        let mut claimed: std::collections::HashSet<String> = std::collections::HashSet::new();
        // Aspects signalling now: a word that mostly rides on one of them is part of
        // that incident, not a new complaint outside the taxonomy.
        let signalling: Vec<String> = out
            .iter()
            .map(|d| counts::key_parts(&d.key).0.to_string())
            .collect();
        for signal in terms::emerging(&recent, &baseline, &thresholds, &known) {
            let words_of = |e: &Example| terms::words(e).contains(&signal.term);
            let examples: Vec<Example> = recent.iter().filter(|e| words_of(e)).cloned().collect();
            let covered = examples
                .iter()
                .filter(|e| e.aspects.iter().any(|a| signalling.contains(a)))
                .count();
            if covered * 2 > examples.len() {
                continue;
            }
            let carried = examples.iter().filter(|e| claimed.contains(&e.id)).count();
            if carried * 2 > examples.len() {
                continue;
            }
            claimed.extend(examples.iter().map(|e| e.id.clone()));
            let top_terms = terms::top_terms(&examples, &baseline, TOP_TERMS);
            out.push(Detection {
                kind: Kind::Term,
                key: signal.term,
                comparison: signal.comparison,
                // Words are compared over the longest window.
                window: config.window(),
                examples,
                top_terms,
            });
        }
    }
    Ok(out)
}

/// One detection run: signals into incidents, changes into the outbox.
pub fn run_once(
    index: &MentionIndex,
    pipeline: &Pipeline,
    state: &StateDb,
    alerts: &Alerts,
    mail: &Mail,
    now: DateTime<Utc>,
) -> Result<Vec<Change>, AlertError> {
    let mut detections = detect(index, pipeline, alerts, now)?;
    // Detection reads one snapshot of the index, for seconds: a mention erased since
    // must not be quoted in the incident and its mail (the erasure's clean-up of those
    // may have run already). The reader sees each commit as soon as it returns.
    for detection in &mut detections {
        detection
            .examples
            .retain(|e| index.contains(&e.id).unwrap_or(true));
    }
    let changes = state.apply_detections(&detections, now, alerts.close_after)?;
    mail_changes(state, alerts, mail, &changes, now)?;
    Ok(changes)
}

/// Queues the mail of a run's `changes` (saved already), and the digest when it is due.
/// A failure to queue (the state database busy, a full disk) must not cost the other
/// changes their mail, nor lose this one's: an incident never mailed is announced as
/// opened at its next change, and a closing not mailed is queued again at the next run.
/// With mail off (`[mail] enabled = false`) nothing is queued: no incident reads as
/// `mailed`. Switched on, the incidents still open are announced at the next run (each
/// run updates them), as ones whose mail could not be queued; closings from before are
/// not sent.
pub fn mail_changes(
    state: &StateDb,
    alerts: &Alerts,
    mail: &Mail,
    changes: &[Change],
    now: DateTime<Utc>,
) -> Result<(), AlertError> {
    if mail.smtp.is_none() {
        return Ok(());
    }
    let window_start = now - span(alerts.window());
    let mut first_failure = None;
    let mut queue = |change: &Change| {
        if let Err(error) = mail::queue(state, mail, change, window_start, now) {
            tracing::error!(%error, incident = change.incident().id, "cannot queue an alert mail; trying again at the next run");
            first_failure.get_or_insert(error);
        }
    };
    for change in changes {
        match change {
            Change::Updated(i) if i.mailed.is_none() => queue(&Change::Opened(i.clone())),
            change => queue(change),
        }
    }
    for incident in state.closings_not_mailed(now - span(alerts.close_after))? {
        queue(&Change::Closed(incident));
    }
    if let Some(error) = first_failure {
        return Err(error.into());
    }
    mail::queue_digest(state, mail, now)?;
    Ok(())
}

/// Runs detection every `every` until `cancel`, off the async workers.
pub async fn run_periodically(
    index: MentionIndex,
    pipeline: Arc<Pipeline>,
    state: Arc<StateDb>,
    alerts: Alerts,
    mail: Mail,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(alerts.every) => {}
        }
        let (index, pipeline, state, a, m) = (
            index.clone(),
            pipeline.clone(),
            state.clone(),
            alerts.clone(),
            mail.clone(),
        );
        let run = tokio::task::spawn_blocking(move || {
            run_once(&index, &pipeline, &state, &a, &m, Utc::now())
        })
        .await;
        match run {
            Ok(Ok(changes)) => {
                for change in &changes {
                    let i = change.incident();
                    let what = match change {
                        Change::Opened(_) => "incident opened",
                        Change::Updated(_) => "incident updated",
                        Change::Closed(_) => "incident closed",
                    };
                    tracing::info!(id = i.id, kind = %i.kind, key = %i.key, voices = i.observed, expected = i.expected, "{what}");
                }
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "detection run failed; trying again next time")
            }
            // The daemon stopping cancels the run: no fault.
            Err(error) if error.is_cancelled() => return,
            Err(error) => tracing::error!(%error, "detection run panicked; trying again next time"),
        }
    }
}
