//! What the outbox holds, read for people: where each incident's mail stands (for the
//! alerts, which any signed-in user reads: counts only) and the administrator's list of
//! messages with their recipients and errors (which name addresses: admins only).
//!
//! An incident's `mailed` says when its message was queued; whether it arrived is here.
//! Messages sent or given up leave the outbox after `[privacy] retention`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::params;
use serde::Serialize;

use crate::state::{parse_timestamp, timestamp, StateDb, StateError};

/// Mail that is not arriving ([`StateDb::mail_backlog`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MailBacklog {
    /// Messages not yet sent to every recipient after at least one failed attempt.
    pub waiting: u64,
    /// When the oldest of them was queued.
    pub waiting_since: Option<DateTime<Utc>>,
    /// Messages given up (every recipient refused them) in the period asked about.
    pub given_up: u64,
    /// Messages neither sent nor given up, tried or not: what mail switched off holds
    /// back.
    pub unsent: u64,
}

/// Where an incident's messages stand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MailStatus {
    /// Its messages still in the outbox.
    pub messages: u64,
    /// Accepted for every recipient (or refused for good by some, accepted by the rest).
    pub sent: u64,
    /// Not yet sent: queued, or tried and to be tried again.
    pub waiting: u64,
    /// Of those waiting, the ones that failed at least once.
    pub failing: u64,
    /// Given up: every recipient refused them.
    pub given_up: u64,
    /// Sent, but refused for good by at least one recipient.
    pub partly_refused: u64,
    /// When the last of them was sent.
    pub last_sent: Option<DateTime<Utc>>,
}

/// Which messages the administrator's list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxFilter {
    All,
    /// Not yet sent to every recipient, and not given up.
    Waiting,
    Sent,
    GivenUp,
}

impl OutboxFilter {
    pub const NAMES: &'static str = "waiting, sent, given_up";

    pub fn parse(name: &str) -> Option<OutboxFilter> {
        match name {
            "waiting" => Some(OutboxFilter::Waiting),
            "sent" => Some(OutboxFilter::Sent),
            "given_up" => Some(OutboxFilter::GivenUp),
            _ => None,
        }
    }

    fn condition(self) -> &'static str {
        match self {
            OutboxFilter::All => "1 = 1",
            OutboxFilter::Waiting => "sent IS NULL AND failed IS NULL",
            OutboxFilter::Sent => "sent IS NOT NULL",
            OutboxFilter::GivenUp => "failed IS NOT NULL",
        }
    }
}

/// One message as the administrator's list shows it: without its text (which quotes
/// mentions) or its files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    /// The incident it announces; none for a digest, a weekly report or a test.
    pub incident: Option<i64>,
    pub created: DateTime<Utc>,
    pub subject: String,
    pub recipients: Vec<String>,
    pub attempts: u32,
    /// When it is tried next, while it waits.
    pub next_attempt: Option<DateTime<Utc>>,
    pub sent: Option<DateTime<Utc>>,
    pub given_up: Option<DateTime<Utc>>,
    /// Recipients whose server accepted it.
    pub delivered: Vec<String>,
    /// Recipients that refused it for good, with the server's answer.
    pub refused: Vec<(String, String)>,
    /// The last attempt's error, if it failed.
    pub last_error: Option<String>,
    /// The names of the files sent with it.
    pub attachments: Vec<String>,
}

impl StateDb {
    /// What waits in the outbox after a failed attempt, and the mail given up since
    /// `since`: for `/healthz`, where a monitor must see that alerts are not arriving
    /// (an incident is `mailed` once its message is queued). Counts and times only: the
    /// errors name the recipients, and `/healthz` answers anyone.
    pub fn mail_backlog(&self, since: DateTime<Utc>) -> Result<MailBacklog, StateError> {
        let conn = self.conn();
        let (unsent, waiting, oldest): (i64, Option<i64>, Option<String>) = conn.query_row(
            "SELECT COUNT(*), SUM(attempts > 0), MIN(CASE WHEN attempts > 0 THEN created END) \
             FROM outbox WHERE sent IS NULL AND failed IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let given_up: i64 = conn.query_row(
            "SELECT COUNT(*) FROM outbox WHERE failed IS NOT NULL AND failed >= ?1",
            params![timestamp(since)],
            |r| r.get(0),
        )?;
        Ok(MailBacklog {
            waiting: waiting.unwrap_or(0).max(0) as u64,
            waiting_since: oldest.map(|t| parse_timestamp(&t)),
            given_up: given_up.max(0) as u64,
            unsent: unsent.max(0) as u64,
        })
    }

    /// [`MailStatus`] of every incident with a message in the outbox.
    pub fn mail_statuses(&self) -> Result<HashMap<i64, MailStatus>, StateError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT incident, COUNT(*), \
                    SUM(sent IS NOT NULL), \
                    SUM(sent IS NULL AND failed IS NULL), \
                    SUM(sent IS NULL AND failed IS NULL AND attempts > 0), \
                    SUM(failed IS NOT NULL), \
                    SUM(sent IS NOT NULL AND refused != '[]'), \
                    MAX(sent) \
             FROM outbox WHERE incident IS NOT NULL GROUP BY incident",
        )?;
        let count = |r: &rusqlite::Row<'_>, i: usize| -> rusqlite::Result<u64> {
            Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
        };
        let rows = statement.query_map([], |r| {
            let last_sent: Option<String> = r.get(7)?;
            Ok((
                r.get::<_, i64>(0)?,
                MailStatus {
                    messages: count(r, 1)?,
                    sent: count(r, 2)?,
                    waiting: count(r, 3)?,
                    failing: count(r, 4)?,
                    given_up: count(r, 5)?,
                    partly_refused: count(r, 6)?,
                    last_sent: last_sent.map(|t| parse_timestamp(&t)),
                },
            ))
        })?;
        Ok(rows.collect::<Result<HashMap<_, _>, _>>()?)
    }

    /// The outbox's messages, newest first, at most `limit`.
    pub fn outbox_entries(
        &self,
        filter: OutboxFilter,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, StateError> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT id, incident, created, subject, recipients, attempts, next_attempt, sent, failed, \
                    delivered, refused, last_error, \
                    (SELECT json_group_array(name) FROM outbox_attachments WHERE outbox = outbox.id) \
             FROM outbox WHERE {} ORDER BY id DESC LIMIT ?1",
            filter.condition()
        ))?;
        let rows = statement.query_map(params![limit.min(i64::MAX as usize) as i64], |r| {
            let json = |i: usize| -> rusqlite::Result<String> { r.get(i) };
            let time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
                Ok(r.get::<_, Option<String>>(i)?.map(|t| parse_timestamp(&t)))
            };
            let (sent, given_up) = (time(7)?, time(8)?);
            Ok(OutboxEntry {
                id: r.get(0)?,
                incident: r.get(1)?,
                created: parse_timestamp(&r.get::<_, String>(2)?),
                subject: r.get(3)?,
                recipients: serde_json::from_str(&json(4)?).unwrap_or_default(),
                attempts: r.get::<_, i64>(5)?.max(0) as u32,
                next_attempt: time(6)?.filter(|_| sent.is_none() && given_up.is_none()),
                sent,
                given_up,
                delivered: serde_json::from_str(&json(9)?).unwrap_or_default(),
                refused: serde_json::from_str(&json(10)?).unwrap_or_default(),
                last_error: r.get(11)?,
                attachments: serde_json::from_str(&json(12)?).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}
