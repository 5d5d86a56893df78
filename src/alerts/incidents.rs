//! Incidents: what a detection opens, what later detections update, and what closes once
//! the signal has been back at its baseline for `close_after`. Kept in the state
//! database, so they survive restarts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::Detection;
use crate::state::{parse_timestamp, timestamp, StateDb, StateError};

/// Examples kept per incident.
const MAX_EXAMPLES: usize = 5;
/// Mention ids remembered per incident (for the backtest and the API).
const MAX_MENTIONS: usize = 500;
/// Characters of an example's text kept.
const EXAMPLE_CHARS: usize = 280;

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Acknowledged,
    Resolved,
    Closed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "acknowledged" => Status::Acknowledged,
            "resolved" => Status::Resolved,
            "closed" => Status::Closed,
            _ => Status::Open,
        }
    }

    /// The status as the API and mails name it.
    pub fn as_str_public(self) -> &'static str {
        self.as_str()
    }

    /// Still followed by the detector: later signals update it.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Open | Status::Acknowledged)
    }
}

/// One example mention: redacted text (as stored) and permalink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentExample {
    pub id: String,
    pub url: Option<String>,
    pub text: String,
    pub published: DateTime<Utc>,
}

/// An incident of a recurring complaint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: i64,
    /// `aspect` or `term`.
    pub kind: String,
    /// The aspect (`interpreter`, `interpreter@source`) or the word.
    pub key: String,
    pub status: Status,
    pub opened: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub last_signal: DateTime<Utc>,
    pub closed: Option<DateTime<Utc>>,
    /// Voices in the window at the last signal, and what is usual for it.
    pub observed: u64,
    pub expected: f64,
    pub peak: u64,
    /// Highest voices seen per day (`2026-11-24`).
    pub counts: BTreeMap<String, u64>,
    pub top_terms: Vec<String>,
    pub examples: Vec<IncidentExample>,
    /// Ids of the mentions that made it (the most recent).
    pub mentions: Vec<String>,
    pub note: Option<String>,
    /// When a mail about it was last queued, and with how many voices (or as many as
    /// it had when resolved, if more): what the team last knew of.
    pub mailed: Option<DateTime<Utc>>,
    pub mailed_observed: u64,
    /// The window `observed` and `expected` are over, in seconds (0 when not recorded).
    pub window_secs: u64,
}

impl Incident {
    /// The search that shows its mentions (relative to the API's address).
    pub fn search_path(&self, window_start: DateTime<Utc>) -> String {
        let from = window_start.format("%Y-%m-%d");
        match self.kind.as_str() {
            "term" => format!(
                "/api/search?q={}&complaint=true&from={from}",
                urlencode(&self.key)
            ),
            _ => {
                let (aspect, facet, value) = super::counts::key_parts(&self.key);
                let mut path = format!("/api/search?aspect={aspect}&complaint=true&from={from}");
                match (facet, value) {
                    // The facet is a filter of the search (`source=`, `lang=`).
                    (Some(name), Some(value)) => {
                        path.push_str(&format!("&{name}={}", urlencode(value)));
                    }
                    // A key from before facets were named.
                    (None, Some(value)) => path.push_str(&format!("&q={}", urlencode(value))),
                    _ => {}
                }
                path
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// What a detection run did to an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Opened(Incident),
    Updated(Incident),
    Closed(Incident),
}

impl Change {
    pub fn incident(&self) -> &Incident {
        match self {
            Change::Opened(i) | Change::Updated(i) | Change::Closed(i) => i,
        }
    }
}

const COLUMNS: &str = "id, kind, key, status, opened, updated, last_signal, closed, observed, \
    expected, peak, counts, top_terms, examples, mentions, note, mailed, mailed_observed, window_secs";

fn from_row(r: &Row) -> rusqlite::Result<Incident> {
    let json = |i: usize| -> rusqlite::Result<String> { r.get(i) };
    let time = |i: usize| -> rusqlite::Result<DateTime<Utc>> {
        let s: String = r.get(i)?;
        Ok(parse_timestamp(&s))
    };
    let optional_time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        let s: Option<String> = r.get(i)?;
        Ok(s.map(|s| parse_timestamp(&s)))
    };
    let status: String = r.get(3)?;
    Ok(Incident {
        id: r.get(0)?,
        kind: r.get(1)?,
        key: r.get(2)?,
        status: Status::parse(&status),
        opened: time(4)?,
        updated: time(5)?,
        last_signal: time(6)?,
        closed: optional_time(7)?,
        observed: r.get::<_, i64>(8)?.max(0) as u64,
        expected: r.get(9)?,
        peak: r.get::<_, i64>(10)?.max(0) as u64,
        counts: serde_json::from_str(&json(11)?).unwrap_or_default(),
        top_terms: serde_json::from_str(&json(12)?).unwrap_or_default(),
        examples: serde_json::from_str(&json(13)?).unwrap_or_default(),
        mentions: serde_json::from_str(&json(14)?).unwrap_or_default(),
        note: r.get(15)?,
        mailed: optional_time(16)?,
        mailed_observed: r.get::<_, i64>(17)?.max(0) as u64,
        window_secs: r.get::<_, i64>(18)?.max(0) as u64,
    })
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// How much a resolved incident's signal must grow, over what the team last knew of, to
/// open it again (as an update must grow to be mailed).
pub const COMEBACK: f64 = 1.5;

impl StateDb {
    /// Incidents, newest first; only those with `status` when given.
    pub fn incidents(
        &self,
        status: Option<Status>,
        limit: usize,
    ) -> Result<Vec<Incident>, StateError> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM incidents WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows =
            statement.query_map(params![status.map(Status::as_str), limit as i64], from_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Every open or acknowledged incident, newest first: however many incidents came
    /// after, a long-running one must still close and be in the digest.
    pub fn active_incidents(&self) -> Result<Vec<Incident>, StateError> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM incidents WHERE status IN (?1, ?2) ORDER BY id DESC"
        ))?;
        let rows = statement.query_map(
            params![Status::Open.as_str(), Status::Acknowledged.as_str()],
            from_row,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Incidents closed since `since` whose closing was not mailed, though their opening
    /// was: the run that closed them could not queue the mail.
    pub fn closings_not_mailed(&self, since: DateTime<Utc>) -> Result<Vec<Incident>, StateError> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM incidents WHERE status = ?1 AND closed >= ?2 \
             AND mailed IS NOT NULL AND mailed < closed ORDER BY id"
        ))?;
        let rows =
            statement.query_map(params![Status::Closed.as_str(), timestamp(since)], from_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    pub fn incident(&self, id: i64) -> Result<Option<Incident>, StateError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1"),
                params![id],
                from_row,
            )
            .optional()?)
    }

    /// The incident a signal belongs to: an active one, or one resolved while its signal
    /// went on (whose signal has not been quiet since `quiet_since`).
    fn followed_incident(
        &self,
        kind: &str,
        key: &str,
        quiet_since: DateTime<Utc>,
    ) -> Result<Option<Incident>, StateError> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM incidents WHERE kind = ?1 AND key = ?2 \
                     AND (status IN ('open', 'acknowledged') \
                          OR (status = 'resolved' AND last_signal > ?3)) \
                     ORDER BY id DESC LIMIT 1"
                ),
                params![kind, key, timestamp(quiet_since)],
                from_row,
            )
            .optional()?)
    }

    fn save_incident(&self, i: &Incident) -> Result<i64, StateError> {
        let conn = self.conn();
        let values = params![
            i.kind,
            i.key,
            i.status.as_str(),
            timestamp(i.opened),
            timestamp(i.updated),
            timestamp(i.last_signal),
            i.closed.map(timestamp),
            i.observed as i64,
            i.expected,
            i.peak as i64,
            to_json(&i.counts),
            to_json(&i.top_terms),
            to_json(&i.examples),
            to_json(&i.mentions),
            i.note,
            i.mailed.map(timestamp),
            i.mailed_observed as i64,
            i.window_secs as i64,
        ];
        if i.id == 0 {
            conn.execute(
                "INSERT INTO incidents (kind, key, status, opened, updated, last_signal, closed, \
                 observed, expected, peak, counts, top_terms, examples, mentions, note, mailed, \
                 mailed_observed, window_secs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
                 ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                values,
            )?;
            Ok(conn.last_insert_rowid())
        } else {
            conn.execute(
                "UPDATE incidents SET kind = ?1, key = ?2, status = ?3, opened = ?4, updated = ?5, \
                 last_signal = ?6, closed = ?7, observed = ?8, expected = ?9, peak = ?10, \
                 counts = ?11, top_terms = ?12, examples = ?13, mentions = ?14, note = ?15, \
                 mailed = ?16, mailed_observed = ?17, window_secs = ?18 WHERE id = ?19",
                rusqlite::params_from_iter(
                    values
                        .iter()
                        .copied()
                        .chain(std::iter::once(&i.id as &dyn rusqlite::ToSql)),
                ),
            )?;
            Ok(i.id)
        }
    }

    /// Takes out of every incident the examples and mention ids whose mention `exists`
    /// no longer finds, and says how many examples went. An example quotes its mention,
    /// and an erasure or the retention period is for good: called after each.
    pub fn forget_erased_mentions(
        &self,
        exists: impl Fn(&str) -> bool,
    ) -> Result<usize, StateError> {
        let all: Vec<Incident> = {
            let conn = self.conn();
            let mut statement = conn.prepare(&format!("SELECT {COLUMNS} FROM incidents"))?;
            let rows = statement.query_map([], from_row)?;
            rows.collect::<Result<_, _>>()?
        };
        let mut removed = 0;
        for mut incident in all {
            let (examples, mentions) = (incident.examples.len(), incident.mentions.len());
            incident.examples.retain(|e| exists(&e.id));
            incident.mentions.retain(|id| exists(id));
            if (examples, mentions) != (incident.examples.len(), incident.mentions.len()) {
                removed += examples - incident.examples.len();
                self.save_incident(&incident)?;
            }
        }
        Ok(removed)
    }

    /// Records that a mail about the incident was queued.
    pub fn mark_mailed(&self, id: i64, at: DateTime<Utc>, observed: u64) -> Result<(), StateError> {
        self.conn().execute(
            "UPDATE incidents SET mailed = ?1, mailed_observed = ?2 WHERE id = ?3",
            params![timestamp(at), observed as i64, id],
        )?;
        Ok(())
    }

    /// Acknowledges or resolves an incident with a note; `None` if there is none.
    pub fn set_incident_status(
        &self,
        id: i64,
        status: Status,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Incident>, StateError> {
        let Some(mut incident) = self.incident(id)? else {
            return Ok(None);
        };
        incident.status = status;
        incident.updated = now;
        if status == Status::Resolved {
            incident.closed = Some(now);
            // What the team knew when they resolved it: a signal that goes on is news
            // again only once it has grown well past this.
            incident.mailed_observed = incident.mailed_observed.max(incident.observed);
        }
        if !note.trim().is_empty() {
            incident.note = Some(match incident.note.take() {
                Some(old) => format!("{old}\n{}: {}", now.format("%Y-%m-%d %H:%M"), note.trim()),
                None => format!("{}: {}", now.format("%Y-%m-%d %H:%M"), note.trim()),
            });
        }
        self.save_incident(&incident)?;
        Ok(Some(incident))
    }

    /// Opens or updates an incident per detection, and closes active incidents whose
    /// signal has been gone for `close_after`. A signal that goes on after its incident
    /// was resolved updates it quietly (no change to mail), unless it grows to
    /// [`COMEBACK`] times what the team last knew of (at the last mail or at resolving):
    /// then the incident opens again, as news. A signal that returns after `close_after`
    /// of quiet opens a new incident.
    pub fn apply_detections(
        &self,
        detections: &[Detection],
        now: DateTime<Utc>,
        close_after: std::time::Duration,
    ) -> Result<Vec<Change>, StateError> {
        let mut changes = Vec::new();
        let day = now.format("%Y-%m-%d").to_string();
        let quiet_since =
            now - chrono::Duration::from_std(close_after).unwrap_or(chrono::Duration::MAX);
        for d in detections {
            let followed = self.followed_incident(d.kind.as_str(), &d.key, quiet_since)?;
            let (mut incident, opened) = match followed {
                Some(existing) => (existing, false),
                None => (
                    Incident {
                        id: 0,
                        kind: d.kind.as_str().to_string(),
                        key: d.key.clone(),
                        status: Status::Open,
                        opened: now,
                        updated: now,
                        last_signal: now,
                        closed: None,
                        observed: 0,
                        expected: 0.0,
                        peak: 0,
                        counts: BTreeMap::new(),
                        top_terms: Vec::new(),
                        examples: Vec::new(),
                        mentions: Vec::new(),
                        note: None,
                        mailed: None,
                        mailed_observed: 0,
                        window_secs: 0,
                    },
                    true,
                ),
            };
            incident.updated = now;
            incident.last_signal = now;
            incident.observed = d.comparison.observed;
            incident.window_secs = d.window.as_secs();
            incident.expected = d.comparison.expected;
            incident.peak = incident.peak.max(d.comparison.observed);
            let today = incident.counts.entry(day.clone()).or_default();
            *today = (*today).max(d.comparison.observed);
            if !d.top_terms.is_empty() {
                incident.top_terms = d.top_terms.clone();
            }
            merge_examples(&mut incident, d);
            let known = incident.mailed_observed.max(1) as f64;
            let reopened =
                incident.status == Status::Resolved && incident.observed as f64 >= COMEBACK * known;
            if reopened {
                incident.status = Status::Open;
                incident.closed = None;
            }
            incident.id = self.save_incident(&incident)?;
            if incident.status == Status::Resolved {
                continue;
            }
            changes.push(if opened || reopened {
                Change::Opened(incident)
            } else {
                Change::Updated(incident)
            });
        }
        let active: Vec<Incident> = self
            .active_incidents()?
            .into_iter()
            .filter(|i| i.last_signal <= quiet_since)
            .collect();
        for mut incident in active {
            incident.status = Status::Closed;
            incident.closed = Some(now);
            incident.updated = now;
            self.save_incident(&incident)?;
            changes.push(Change::Closed(incident));
        }
        Ok(changes)
    }
}

/// Newest examples first, one per cluster, redacted text as stored; every mention id.
fn merge_examples(incident: &mut Incident, d: &Detection) {
    for e in &d.examples {
        if !incident.mentions.contains(&e.id) {
            incident.mentions.push(e.id.clone());
        }
    }
    if incident.mentions.len() > MAX_MENTIONS {
        let drop = incident.mentions.len() - MAX_MENTIONS;
        incident.mentions.drain(..drop);
    }
    let mut examples: Vec<IncidentExample> = Vec::new();
    let mut clusters = std::collections::HashSet::new();
    for e in &d.examples {
        let cluster = e.cluster.clone().unwrap_or_else(|| e.id.clone());
        if examples.len() == MAX_EXAMPLES || !clusters.insert(cluster) {
            continue;
        }
        examples.push(IncidentExample {
            id: e.id.clone(),
            url: e.url.clone(),
            text: crate::search::docs::quoted(&e.title, &e.text, EXAMPLE_CHARS),
            published: e.published,
        });
    }
    if !examples.is_empty() {
        incident.examples = examples;
    }
}
