//! `webcare backtest FILE.jsonl`: replays timestamped mentions through the pipeline and
//! the detector with a fresh temporary index and state and a simulated clock, and says
//! which incidents would have opened — so that thresholds can be tuned on history
//! before they page anyone.
//!
//! The clock steps by `[alerts] every`, but at least an hour (a finer step changes
//! little and costs a detection run each). At every step the mentions published before
//! it are indexed and detection runs as the daemon would at that moment.

use std::io::BufRead;
use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use serde::Serialize;

use crate::alerts::incidents::Status;
use crate::alerts::settings::Alerts;
use crate::config::{KeySource, Pipeline as PipelineConfig};
use crate::mention::Mention;
use crate::pipeline::{Pipeline, PipelineError};
use crate::search::{IndexError, MentionIndex};
use crate::state::{StateDb, StateError};

/// The least step of the simulated clock.
const MIN_STEP: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot make a temporary directory: {0}")]
    Temp(std::io::Error),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Alerts(#[from] crate::alerts::AlertError),
    #[error("{path}: the lines span {years} years, from line {first_line} ({first}) to line {last_line} ({last}); a replay steps through every hour between them, so check those lines' dates (at most {MAX_SPAN_YEARS} years are replayed)")]
    Span {
        path: String,
        years: i64,
        first_line: usize,
        first: DateTime<Utc>,
        last_line: usize,
        last: DateTime<Utc>,
    },
}

/// The longest history replayed: a step an hour, a detection run a step. A date typed
/// wrong (the year 0001, 9999) would otherwise keep the replay busy for hours.
const MAX_SPAN_YEARS: i64 = 5;

/// An incident the replay opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestIncident {
    /// `aspect` or `term`.
    pub kind: String,
    pub key: String,
    pub opened: DateTime<Utc>,
    pub closed: Option<DateTime<Utc>>,
    /// Most voices in one window.
    pub peak: u64,
    pub mentions: Vec<String>,
}

/// What the replay did.
#[derive(Debug, Default, Serialize)]
pub struct BacktestReport {
    pub incidents: Vec<BacktestIncident>,
    pub lines: usize,
    pub indexed: usize,
    /// (line, what is wrong) for lines that were skipped.
    pub errors: Vec<(usize, String)>,
}

/// Replays `reader` (the import format) with `alerts` thresholds.
pub fn backtest<R: BufRead>(
    path: &str,
    mut reader: R,
    pipeline_config: &PipelineConfig,
    alerts: &Alerts,
) -> Result<BacktestReport, BacktestError> {
    let mut report = BacktestReport::default();
    let mut lines = read_mentions(path, &mut reader, &mut report)?;
    lines.sort_by(|(_, a), (_, b)| a.published.cmp(&b.published).then(a.id.cmp(&b.id)));
    let (Some((first_line, first)), Some((last_line, last))) = (lines.first(), lines.last()) else {
        return Ok(report);
    };
    let years = (last.published - first.published).num_days() / 365;
    if years > MAX_SPAN_YEARS {
        return Err(BacktestError::Span {
            path: path.to_string(),
            years,
            first_line: *first_line,
            first: first.published,
            last_line: *last_line,
            last: last.published,
        });
    }
    let step = alerts.every.max(MIN_STEP);
    let step_span = chrono::Duration::from_std(step).unwrap_or(chrono::Duration::hours(1));
    let start = first
        .published
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap_or(first.published)
        + step_span;
    let end = last.published
        + chrono::Duration::from_std(alerts.close_after).unwrap_or(chrono::Duration::days(2))
        + step_span;
    let dir = tempfile::tempdir().map_err(BacktestError::Temp)?;
    let mut config = pipeline_config.clone();
    // Nothing of the replay is kept: no key file.
    config.pseudonym_key = KeySource::Ephemeral;
    let pipeline = Pipeline::from_config(&config)?;
    for (_, error) in &mut report.errors {
        // A message may quote the line.
        *error = pipeline.redact(error);
    }
    let index = MentionIndex::open(dir.path())?;
    let state = StateDb::open(dir.path())?;
    let mut writer = index.writer()?;
    let mut next = lines.into_iter().map(|(_, m)| m).peekable();
    // A line repeated (the same id) is one mention, as in the index: counted once.
    let mut replayed = std::collections::HashSet::new();
    let mut now = start;
    while now <= end {
        let mut added = false;
        while let Some(mut m) = next.next_if(|m| m.published < now) {
            // Fetched when the simulated clock reads it, not today: a post dated after
            // today would be taken for a wrong date and re-dated to today.
            m.fetched = m.published;
            let m = pipeline.process(m);
            if m.is_relevant() {
                writer.upsert(&m)?;
                if replayed.insert(m.id.clone()) {
                    report.indexed += 1;
                }
                added = true;
            }
        }
        if added {
            writer.commit(&Default::default())?;
        }
        let detections = crate::alerts::detect(&index, &pipeline, alerts, now)?;
        state.apply_detections(&detections, now, alerts.close_after)?;
        now += step_span;
    }
    writer.finish()?;
    let mut incidents = state.incidents(None, usize::MAX >> 1)?;
    incidents.reverse();
    report.incidents = incidents
        .into_iter()
        .map(|i| BacktestIncident {
            kind: i.kind,
            key: i.key,
            opened: i.opened,
            closed: i.closed.filter(|_| i.status == Status::Closed),
            peak: i.peak,
            mentions: i.mentions,
        })
        .collect();
    Ok(report)
}

fn read_mentions<R: BufRead>(
    path: &str,
    reader: &mut R,
    report: &mut BacktestReport,
) -> Result<Vec<(usize, Mention)>, BacktestError> {
    let now = Utc::now();
    let mut buf = Vec::new();
    let mut mentions = Vec::new();
    loop {
        buf.clear();
        let read = crate::import::read_line_capped(reader, &mut buf).map_err(|source| {
            BacktestError::Read {
                path: path.to_string(),
                source,
            }
        })?;
        if read == 0 {
            return Ok(mentions);
        }
        report.lines += 1;
        match crate::import::parse_line(&buf, now) {
            // A link left out changes nothing the detector sees.
            Ok(Some(line)) => mentions.push((report.lines, line.mention)),
            Ok(None) => {}
            Err(e) => report.errors.push((report.lines, e)),
        }
    }
}
