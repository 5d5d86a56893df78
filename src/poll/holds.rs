//! Waits that outlast a restart: a source's backoff after failures and a host's hold
//! after it answered 429 with `Retry-After` or said our quota there is used up. A
//! deploy, a config change or a crash loop would otherwise answer "wait an hour" with a
//! request within a second, which is how a client gets banned from a platform's API.
//! Kept in the state database; a hold that has run out is read as none.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::state::{parse_timestamp, timestamp, StateDb, StateError};

/// A failing source's wait, as it stood when the daemon stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceHold {
    /// The address the source had: one corrected in the config is asked at once.
    pub url: String,
    pub until: DateTime<Utc>,
    pub failures: u32,
    /// As the status showed it (redacted).
    pub last_error: String,
}

impl StateDb {
    /// Records that `source` waits until `hold.until` after `hold.failures` failures.
    pub fn hold_source(&self, source: &str, hold: &SourceHold) -> Result<(), StateError> {
        self.conn().execute(
            "INSERT OR REPLACE INTO source_holds (source, url, until, failures, last_error)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                source,
                hold.url,
                timestamp(hold.until),
                hold.failures,
                hold.last_error
            ],
        )?;
        Ok(())
    }

    /// `source` polled well again: it waits for nothing any more.
    pub fn release_source(&self, source: &str) -> Result<(), StateError> {
        self.conn().execute(
            "DELETE FROM source_holds WHERE source = ?1",
            params![source],
        )?;
        Ok(())
    }

    /// Every source's wait that has not run out by `now`, and the failures of one that
    /// has (the next wait grows from them), by source name.
    pub fn source_holds(
        &self,
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, SourceHold>, StateError> {
        let conn = self.conn();
        let mut statement =
            conn.prepare("SELECT source, url, until, failures, last_error FROM source_holds")?;
        let rows = statement.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                SourceHold {
                    url: r.get(1)?,
                    until: parse_timestamp(&r.get::<_, String>(2)?),
                    failures: r.get(3)?,
                    last_error: r.get(4)?,
                },
            ))
        })?;
        let mut holds = HashMap::new();
        for row in rows {
            let (source, hold) = row?;
            // Its failures still count, as they would have in a daemon that ran on.
            if hold.until > now || hold.failures > 0 {
                holds.insert(source, hold);
            }
        }
        Ok(holds)
    }

    /// Forgets the waits of sources not among `configured` (removed from the config).
    pub fn release_sources_except(&self, configured: &[&str]) -> Result<usize, StateError> {
        let conn = self.conn();
        let mut gone = Vec::new();
        {
            let mut statement = conn.prepare("SELECT source FROM source_holds")?;
            let names = statement.query_map([], |r| r.get::<_, String>(0))?;
            for name in names {
                let name = name?;
                if !configured.contains(&name.as_str()) {
                    gone.push(name);
                }
            }
        }
        for name in &gone {
            conn.execute("DELETE FROM source_holds WHERE source = ?1", params![name])?;
        }
        Ok(gone.len())
    }

    /// Records that `host` (name and port) asked for no request before `until`.
    pub fn hold_host(&self, host: &str, until: DateTime<Utc>) -> Result<(), StateError> {
        self.conn().execute(
            "INSERT INTO host_holds (host, until) VALUES (?1, ?2)
             ON CONFLICT(host) DO UPDATE SET until = max(until, excluded.until)",
            params![host, timestamp(until)],
        )?;
        Ok(())
    }

    /// The hosts still held at `now`, and until when; those that ran out are forgotten.
    pub fn host_holds(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StateError> {
        let conn = self.conn();
        conn.execute(
            "DELETE FROM host_holds WHERE until <= ?1",
            params![timestamp(now)],
        )?;
        let mut statement = conn.prepare("SELECT host, until FROM host_holds ORDER BY host")?;
        let rows = statement.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                parse_timestamp(&r.get::<_, String>(1)?),
            ))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_are_kept_until_they_run_out_or_are_released() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDb::open(dir.path()).unwrap();
        // As stored: to the microsecond.
        let now = DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap();
        let hold = SourceHold {
            url: "https://oauth.reddit.com/r/x/new".into(),
            until: now + chrono::Duration::hours(1),
            failures: 2,
            last_error: "HTTP 429; server asks to wait 3600 seconds".into(),
        };
        state.hold_source("reddit", &hold).unwrap();
        state.hold_host("oauth.reddit.com:443", hold.until).unwrap();
        // An earlier hold of the host does not shorten a later one.
        state.hold_host("oauth.reddit.com:443", now).unwrap();
        state
            .hold_host("gone.example:443", now - chrono::Duration::seconds(1))
            .unwrap();
        // Reopened, as after a restart.
        drop(state);
        let state = StateDb::open(dir.path()).unwrap();
        assert_eq!(state.source_holds(now).unwrap()["reddit"], hold);
        let hosts = state.host_holds(now).unwrap();
        assert_eq!(hosts.len(), 1);
        assert_eq!(hosts[0].0, "oauth.reddit.com:443");
        assert_eq!(hosts[0].1, hold.until);
        state.hold_source("removed", &hold).unwrap();
        assert_eq!(state.release_sources_except(&["reddit"]).unwrap(), 1);
        assert_eq!(state.source_holds(now).unwrap().len(), 1);
        state.release_source("reddit").unwrap();
        assert!(state.source_holds(now).unwrap().is_empty());
    }

    /// A wait that has run out is no wait, but its failures still set the next one.
    #[test]
    fn a_run_out_hold_is_kept_only_for_its_failures() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDb::open(dir.path()).unwrap();
        let now = DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap();
        let hold = |until, failures| SourceHold {
            url: "https://f.example/rss".into(),
            until,
            failures,
            last_error: String::new(),
        };
        let hour = chrono::Duration::hours(1);
        state.hold_source("waits", &hold(now + hour, 0)).unwrap();
        state.hold_source("failed", &hold(now - hour, 2)).unwrap();
        state.hold_source("over", &hold(now - hour, 0)).unwrap();
        state.hold_source("over-now", &hold(now, 0)).unwrap();
        let holds = state.source_holds(now).unwrap();
        let mut names: Vec<&str> = holds.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["failed", "waits"]);
        assert_eq!(holds["failed"].failures, 2);
    }
}
