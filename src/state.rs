//! The state database: what the daemon must remember that is not a mention — the audit
//! trail and login sessions now; incidents and weekly aggregates later.
//!
//! SQLite in `<data_dir>/state.sqlite` (WAL mode, one connection behind a mutex: the
//! writes are few and small). Tables are created and migrated by `user_version`, so a
//! newer webcare opens an older file and an older webcare refuses a newer one. Nothing
//! here holds personal data of the people in the mentions: the audit trail names staff
//! accounts, search terms and mention ids, never the text.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// The file under `data_dir`.
pub const STATE_FILE: &str = "state.sqlite";

/// Creates `data_dir` if needed and makes it readable by its owner only: the index and
/// the state database hold what people wrote (redacted, yet about them) and the audit
/// trail; other local accounts have no business there. A directory that others could
/// read is tightened, once, with a message saying so.
pub fn ensure_private_dir(data_dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data_dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))?;
            tracing::info!(data_dir = %data_dir.display(), was = format!("{:o}", mode & 0o777), "data directory made private to its owner (700)");
        }
    }
    Ok(())
}

/// Schema migrations, in order; `user_version` counts those applied.
pub const MIGRATIONS: &[&str] = &[
    // 1: audit trail and sessions.
    "CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
     );
     CREATE INDEX audit_at ON audit(at);
     -- Append-only: the daemon never changes an entry; only retention removes old ones.
     CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
     CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        created TEXT NOT NULL,
        expires TEXT NOT NULL
     );",
    // 2: incidents of recurring complaints, and the mail outbox.
    "CREATE TABLE incidents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        status TEXT NOT NULL,
        opened TEXT NOT NULL,
        updated TEXT NOT NULL,
        last_signal TEXT NOT NULL,
        closed TEXT,
        observed INTEGER NOT NULL,
        expected REAL NOT NULL,
        peak INTEGER NOT NULL,
        counts TEXT NOT NULL,
        top_terms TEXT NOT NULL,
        examples TEXT NOT NULL,
        mentions TEXT NOT NULL,
        note TEXT,
        mailed TEXT,
        mailed_observed INTEGER NOT NULL DEFAULT 0
     );
     CREATE INDEX incidents_key ON incidents(kind, key, status);
     CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        incident INTEGER,
        created TEXT NOT NULL,
        recipients TEXT NOT NULL,
        subject TEXT NOT NULL,
        text_body TEXT NOT NULL,
        html_body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT NOT NULL,
        sent TEXT,
        last_error TEXT
     );
     CREATE INDEX outbox_due ON outbox(sent, next_attempt);",
    // 3: small facts the daemon remembers (the day of the last digest).
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 4: files sent with an outbox message (the weekly report's).
    "CREATE TABLE outbox_attachments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        outbox INTEGER NOT NULL REFERENCES outbox(id),
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        body BLOB NOT NULL
     );
     CREATE INDEX outbox_attachments_of ON outbox_attachments(outbox);",
    // 5: a session belongs to the password it began with: removing a user (and adding
    // one of that name again) or setting a new password ends it. Sessions from before
    // cannot be checked so, and end.
    "DELETE FROM sessions;
     ALTER TABLE sessions ADD COLUMN credential TEXT NOT NULL DEFAULT '';",
    // 6: mail goes to each recipient on its own: who has it, who refused it for good
    // (no more attempts for them), and when a message was given up (every recipient
    // refused it).
    "ALTER TABLE outbox ADD COLUMN delivered TEXT NOT NULL DEFAULT '[]';
     ALTER TABLE outbox ADD COLUMN refused TEXT NOT NULL DEFAULT '[]';
     ALTER TABLE outbox ADD COLUMN failed TEXT;",
    // 7: the window an incident's count is over (0: not recorded, from before).
    "ALTER TABLE incidents ADD COLUMN window_secs INTEGER NOT NULL DEFAULT 0;",
    // 8: the mentions a message quotes, as its parts show them, for erasure before it
    // is sent (`[]`: none, or from before).
    "ALTER TABLE outbox ADD COLUMN quotes TEXT NOT NULL DEFAULT '[]';",
    // 9: waits that outlast a restart (`crate::poll::holds`): a failing source's backoff,
    // and a host that answered 429.
    "CREATE TABLE source_holds (
        source TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        until TEXT NOT NULL,
        failures INTEGER NOT NULL,
        last_error TEXT NOT NULL
     );
     CREATE TABLE host_holds (host TEXT PRIMARY KEY, until TEXT NOT NULL);",
];

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("state database {path} was written by a newer webcare (schema {found}, this one knows {known})")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("state database {path} was written by an older webcare (schema {found}, this one needs {known}): stop the daemon of that version, then start this one (`webcare run`) or run `webcare reindex`, which upgrade it; this command leaves it as it is, so that the older daemon can still start")]
    TooOld {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    #[error("state database {path} can only be read by this process (its owner or mode, or a read-only mount): the audit trail, the sessions and the alerts are written there")]
    ReadOnly { path: PathBuf },
    #[error("state database {path} was deleted or replaced while the daemon ran: what it writes now would be lost (the audit trail among it); restore the file from a backup, or stop the daemon, and start it again")]
    Replaced { path: PathBuf },
    #[error("state database: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The staff account, or `system` for the daemon's own work (retention).
    pub actor: String,
    /// `search`, `open`, `forget`, `purge`, `login`, `login_failed`, `logout`, …
    pub action: String,
    pub detail: String,
}

/// `text` with its control and direction characters written as escapes (`\u{a}`): an
/// entry is one line in `webcare audit`, and a query with a line break in it must not
/// print as an entry of its own (nor one with a right-to-left override read backwards).
fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c == '\\' || crate::access::misleads(c))
    {
        return text.into();
    }
    // A backslash typed is written twice, so that `\u{a}` typed reads apart from a
    // line break.
    text.chars()
        .map(|c| match c {
            '\\' => "\\\\".to_string(),
            c if crate::access::misleads(c) => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect::<String>()
        .into()
}

/// One row of `SELECT id, at, actor, action, detail FROM audit`.
fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let at: String = r.get(1)?;
    Ok(AuditEntry {
        id: r.get(0)?,
        at: parse_timestamp(&at),
        actor: r.get(2)?,
        action: r.get(3)?,
        detail: r.get(4)?,
    })
}

/// The state database.
pub struct StateDb {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Why the last audit entry or session could not be written, until one is: what
    /// every request then waits on fails, and `/healthz` says so.
    write_failure: Mutex<Option<String>>,
    /// A [`StateDb::scrub`] found the log in use: an erased quote may still be in it.
    scrub_pending: std::sync::atomic::AtomicBool,
    /// The file opened (device and inode), to notice it deleted or replaced under the
    /// open connection, which would go on writing into the unlinked file.
    file: Option<(u64, u64)>,
}

impl StateDb {
    /// Whether the file at the path is no longer the one opened (deleted or replaced).
    fn replaced(&self) -> bool {
        self.file.is_some() && file_identity(&self.path) != self.file
    }
}

/// A file's device and inode, where the platform has them.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb").field("path", &self.path).finish()
    }
}

impl StateDb {
    /// Opens (creating and migrating) `data_dir/state.sqlite`: for the daemon and for
    /// `reindex`, which take charge of the data directory.
    pub fn open(data_dir: &Path) -> Result<StateDb, StateError> {
        let db = StateDb::connect(data_dir)?;
        db.migrate()?;
        Ok(db)
    }

    /// Opens `data_dir/state.sqlite` (creating it where there is none), but refuses one
    /// an older webcare wrote rather than upgrade it: a command tried beside a running
    /// daemon of that version, or refused for another reason, must not leave a file
    /// that daemon cannot open at its next start.
    pub fn open_current(data_dir: &Path) -> Result<StateDb, StateError> {
        let db = StateDb::connect(data_dir)?;
        let version = db.version()?;
        if version > 0 && version < MIGRATIONS.len() as i64 {
            return Err(StateError::TooOld {
                path: db.path.clone(),
                found: version,
                known: MIGRATIONS.len(),
            });
        }
        db.migrate()?;
        Ok(db)
    }

    fn connect(data_dir: &Path) -> Result<StateDb, StateError> {
        let path = data_dir.join(STATE_FILE);
        let open_err = |source| StateError::Open {
            path: path.clone(),
            source,
        };
        ensure_private_dir(data_dir).map_err(|source| StateError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let conn = Connection::open(&path).map_err(open_err)?;
        // SQLite opens a file it may not write read-only, and says so only at the first
        // write: an audit entry a user's request waits on.
        if conn.is_readonly(rusqlite::MAIN_DB).map_err(open_err)? {
            return Err(StateError::ReadOnly { path });
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        // The write-ahead log keeps the size of its largest transaction (a weekly report's
        // attachments) unless told to shrink back after a checkpoint.
        conn.pragma_update(None, "journal_size_limit", 16 * 1024 * 1024)
            .map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_err)?;
        // What is deleted or rewritten is overwritten with zeros, not left in free
        // space: an erased post's quote must not stay in the file ([`StateDb::scrub`]).
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(open_err)?;
        Ok(StateDb {
            conn: Mutex::new(conn),
            file: file_identity(&path),
            path,
            write_failure: Mutex::new(None),
            scrub_pending: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// How many [`MIGRATIONS`] the file has had.
    fn version(&self) -> Result<i64, StateError> {
        Ok(self
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&self) -> Result<(), StateError> {
        let version = self.version()?;
        let mut conn = self.conn();
        if version > MIGRATIONS.len() as i64 {
            return Err(StateError::TooNew {
                path: self.path.clone(),
                found: version,
                known: MIGRATIONS.len(),
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // Every use is a single statement or a transaction: a panic cannot leave
        // half-done work in the connection.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends an entry to the audit trail.
    pub fn audit(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        detail: &str,
    ) -> Result<(), StateError> {
        let written = self.conn().execute(
            "INSERT INTO audit (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![
                timestamp(at),
                one_line(actor),
                one_line(action),
                one_line(detail)
            ],
        );
        self.note_write(written)
    }

    /// Remembers whether a write the users' requests need succeeded, and into the file
    /// that is still at its path.
    fn note_write(&self, written: rusqlite::Result<usize>) -> Result<(), StateError> {
        let written = match written {
            Ok(_) if self.replaced() => Err(StateError::Replaced {
                path: self.path.clone(),
            }),
            Ok(_) => Ok(()),
            Err(e) => Err(StateError::from(e)),
        };
        let mut failure = self
            .write_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *failure = written.as_ref().err().map(ToString::to_string);
        written
    }

    /// Moves the write-ahead log into the file and empties it: after an erasure, the
    /// log still holds the pages as they were before (an erased post's quote in an
    /// incident or a mail), until a checkpoint the daemon would otherwise leave to
    /// chance. A reader of another process (a command) can keep the log in use: then
    /// [`StateDb::scrub_pending`] says so until a later scrub empties it.
    pub fn scrub(&self) -> Result<(), StateError> {
        let conn = self.conn();
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        self.scrub_pending
            .store(busy != 0, std::sync::atomic::Ordering::Relaxed);
        if busy != 0 {
            tracing::warn!(path = %self.path.display(), "the state database's log is in use by another process: an erased quote stays in it until it is emptied (tried again shortly)");
        }
        Ok(())
    }

    /// Whether the last [`StateDb::scrub`] found the log in use.
    pub fn scrub_pending(&self) -> bool {
        self.scrub_pending
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Why the audit trail or the sessions cannot be written, `None` when they can.
    /// After a failure, an entry is tried (and rolled back) and a page written, so
    /// that room made on the disk or a mode set right is seen without a user's
    /// request.
    pub fn write_failure(&self) -> Option<String> {
        // A file deleted under the daemon is noticed here too (the probe's write then
        // records it), before any request writes.
        if !self.replaced()
            && self
                .write_failure
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_none()
        {
            return None;
        }
        let probe = || -> rusqlite::Result<usize> {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO audit (at, actor, action, detail) VALUES ('', '', 'probe', '')",
                [],
            )?;
            tx.rollback()?;
            // A page of its own, which a full disk refuses.
            conn.pragma_update(None, "user_version", MIGRATIONS.len() as i64)?;
            Ok(0)
        };
        let probed = probe();
        let _ = self.note_write(probed);
        self.write_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Audit entries, newest first, optionally since a time and for one actor.
    pub fn audit_entries(
        &self,
        since: Option<DateTime<Utc>>,
        actor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StateError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT id, at, actor, action, detail FROM audit
             WHERE at >= ?1 AND (?2 IS NULL OR actor = ?2)
             ORDER BY id DESC LIMIT ?3",
        )?;
        let since = since.map(timestamp).unwrap_or_default();
        let rows = statement.query_map(params![since, actor, limit as i64], audit_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The entries of `action` since `since`, newest first, at most `limit`: the brake
    /// on failed logins reads back where each user signed in from (`login`, "from
    /// ADDRESS") and the failures it counted (`login_failed`) after a restart.
    pub fn audit_since(
        &self,
        action: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StateError> {
        let conn = self.conn();
        let mut statement = conn.prepare(
            "SELECT id, at, actor, action, detail FROM audit
             WHERE at >= ?1 AND action = ?2
             ORDER BY id DESC LIMIT ?3",
        )?;
        let rows =
            statement.query_map(params![timestamp(since), action, limit as i64], audit_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Deletes audit entries older than `before` (the trail's own retention).
    pub fn purge_audit(&self, before: DateTime<Utc>) -> Result<usize, StateError> {
        Ok(self.conn().execute(
            "DELETE FROM audit WHERE at < ?1",
            params![timestamp(before)],
        )?)
    }

    /// Stores a session (by the hash of its token), with the credential it began with
    /// ([`crate::access::User::credential`]).
    pub fn create_session(
        &self,
        token_hash: &str,
        user: &str,
        credential: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let written = self.conn().execute(
            "INSERT INTO sessions (token_hash, user, credential, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![token_hash, user, credential, timestamp(now), timestamp(expires)],
        );
        self.note_write(written)
    }

    /// The user and the credential of a session that has not expired.
    pub fn session_user(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, String)>, StateError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT user, credential FROM sessions WHERE token_hash = ?1 AND expires > ?2",
                params![token_hash, timestamp(now)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    pub fn delete_session(&self, token_hash: &str) -> Result<(), StateError> {
        self.conn().execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            params![token_hash],
        )?;
        Ok(())
    }

    /// A remembered fact.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StateError> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StateError> {
        self.conn().execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
            params![key, value],
        )?;
        Ok(())
    }

    /// Removes the messages (and their attachments) created before `before` that are
    /// done with: sent, or given up (every recipient refused): those would otherwise
    /// stay for good, attachments and all. Mail still being tried stays until it is.
    pub fn purge_mail(&self, before: DateTime<Utc>) -> Result<usize, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM outbox_attachments WHERE outbox IN \
             (SELECT id FROM outbox WHERE (sent IS NOT NULL OR failed IS NOT NULL) AND created < ?1)",
            params![timestamp(before)],
        )?;
        let removed = tx.execute(
            "DELETE FROM outbox WHERE (sent IS NOT NULL OR failed IS NOT NULL) AND created < ?1",
            params![timestamp(before)],
        )?;
        tx.commit()?;
        Ok(removed)
    }

    /// Removes expired sessions.
    pub fn purge_sessions(&self, now: DateTime<Utc>) -> Result<usize, StateError> {
        Ok(self.conn().execute(
            "DELETE FROM sessions WHERE expires <= ?1",
            params![timestamp(now)],
        )?)
    }
}

/// RFC 3339 with a fixed width, so that text order is time order.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn parse_timestamp(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_audit_entry_is_one_line_whatever_was_typed() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(dir.path()).unwrap();
        let t = |d| Utc.with_ymd_and_hms(2026, 11, d, 9, 0, 0).unwrap();
        let forged =
            "q=tolk\n2026-12-01 03:00:00  alice  forget  url on forum.example #3f9a0c\u{202e}x\0";
        db.audit(t(1), "vic", "search", forged).unwrap();
        let entries = db.audit_entries(None, None, 10).unwrap();
        assert_eq!(
            entries[0].detail,
            "q=tolk\\u{a}2026-12-01 03:00:00  alice  forget  url on forum.example #3f9a0c\\u{202e}x\\u{0}"
        );
        db.audit(t(3), "vic", "search", "q=a\\u{a}b\u{2028}c")
            .unwrap();
        let entries = db.audit_entries(None, None, 10).unwrap();
        assert_eq!(
            entries[0].detail, "q=a\\\\u{a}b\\u{2028}c",
            "typed apart from made"
        );
        db.audit(t(4), "vic", "search", "q=\"de tolk\" ë").unwrap();
        let entries = db.audit_entries(None, None, 10).unwrap();
        assert_eq!(entries[0].detail, "q=\"de tolk\" ë", "the rest as it is");
    }

    #[test]
    fn audit_is_append_only_newest_first_and_purgeable() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(dir.path()).unwrap();
        let t = |d| Utc.with_ymd_and_hms(2026, 11, d, 9, 0, 0).unwrap();
        db.audit(t(1), "ann", "search", "q=tolk").unwrap();
        db.audit(t(2), "bob", "forget", "url=https://x.example/1: 1 mention")
            .unwrap();
        let all = db.audit_entries(None, None, 10).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].actor, "bob");
        assert_eq!(all[1].at, t(1));
        assert_eq!(db.audit_entries(None, Some("ann"), 10).unwrap().len(), 1);
        assert_eq!(db.audit_entries(Some(t(2)), None, 10).unwrap().len(), 1);
        let changed = db
            .conn()
            .execute("UPDATE audit SET actor = 'eve'", [])
            .unwrap_err()
            .to_string();
        assert!(changed.contains("append-only"), "{changed}");
        assert_eq!(db.purge_audit(t(2)).unwrap(), 1);
        // Reopening keeps what is there and does not migrate twice.
        drop(db);
        let db = StateDb::open(dir.path()).unwrap();
        assert_eq!(db.audit_entries(None, None, 10).unwrap().len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn the_data_directory_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        // A new one, as the default umask would leave it (755), and an existing one
        // others may read.
        let new = dir.path().join("new/data");
        StateDb::open(&new).unwrap();
        assert_eq!(mode(&new), 0o700);
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        crate::search::MentionIndex::open(&open).unwrap();
        assert_eq!(mode(&open), 0o700);
    }

    #[test]
    fn sessions_expire() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(dir.path()).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        let later = now + chrono::Duration::hours(12);
        db.create_session("h1", "ann", "c1", now, later).unwrap();
        assert_eq!(
            db.session_user("h1", now).unwrap(),
            Some(("ann".to_string(), "c1".to_string()))
        );
        assert_eq!(db.session_user("h1", later).unwrap(), None);
        assert_eq!(db.session_user("nope", now).unwrap(), None);
        assert_eq!(db.purge_sessions(later).unwrap(), 1);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(StateDb::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join(STATE_FILE)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = StateDb::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("newer webcare"), "{err}");
        let err = StateDb::open_current(dir.path()).unwrap_err().to_string();
        assert!(err.contains("newer webcare"), "{err}");
    }

    /// Only the daemon and `reindex` upgrade the file of an older webcare: a command
    /// tried beside that webcare's daemon leaves the file as that daemon needs it.
    #[test]
    fn an_older_database_is_upgraded_by_open_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        let version = || -> i64 {
            Connection::open(&path)
                .unwrap()
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap()
        };
        let err = StateDb::open_current(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("older webcare (schema 1") && err.contains("`webcare run`"),
            "{err}"
        );
        assert_eq!(version(), 1);
        StateDb::open(dir.path()).unwrap();
        assert_eq!(version(), MIGRATIONS.len() as i64);
        StateDb::open_current(dir.path()).unwrap();
        // A new file is made by either.
        let new = tempfile::tempdir().unwrap();
        StateDb::open_current(new.path()).unwrap();
    }

    /// An erasure's scrub while a command reads the database leaves the log for later,
    /// and says so; the next scrub empties it.
    #[test]
    fn a_log_in_use_by_a_reader_is_emptied_once_it_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(dir.path()).unwrap();
        db.audit(Utc::now(), "ann", "search", "q=tolk").unwrap();
        // A command reading the database, mid-transaction.
        let reader = Connection::open(dir.path().join("state.sqlite")).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let _: i64 = reader
            .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
            .unwrap();
        db.audit(Utc::now(), "ann", "search", "q=gehoor").unwrap();
        db.conn()
            .busy_timeout(std::time::Duration::from_millis(50))
            .unwrap();
        db.scrub().unwrap();
        assert!(db.scrub_pending());
        reader.execute_batch("COMMIT").unwrap();
        db.scrub().unwrap();
        assert!(!db.scrub_pending());
        let wal = std::fs::metadata(dir.path().join("state.sqlite-wal")).unwrap();
        assert_eq!(wal.len(), 0);
    }

    /// A failed audit entry is remembered (for `/healthz`) until one is written, or
    /// until a probe finds the file writable again.
    #[test]
    fn a_failed_write_is_known_until_the_file_takes_writes_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(dir.path()).unwrap();
        let t = |d| Utc.with_ymd_and_hms(2026, 11, d, 9, 0, 0).unwrap();
        assert_eq!(db.write_failure(), None);
        db.conn()
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON audit
                 BEGIN SELECT RAISE(ABORT, 'refused for the test'); END;",
            )
            .unwrap();
        assert!(db.audit(t(1), "ann", "search", "q").is_err());
        let failure = db.write_failure().unwrap();
        assert!(failure.contains("refused for the test"), "{failure}");
        // Still refused: the probe's entry is refused too.
        assert!(db.write_failure().is_some());
        db.conn().execute_batch("DROP TRIGGER refuse").unwrap();
        assert_eq!(db.write_failure(), None);
        assert!(db.audit_entries(None, None, 10).unwrap().is_empty());
        db.audit(t(2), "ann", "search", "q").unwrap();
        assert_eq!(db.audit_entries(None, None, 10).unwrap().len(), 1);
    }

    /// The file deleted under the open connection: SQLite would go on writing into the
    /// unlinked file, and the audit trail would be gone when the daemon stops.
    #[cfg(unix)]
    #[test]
    fn a_file_deleted_under_the_daemon_fails_its_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(dir.path()).unwrap();
        let t = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap();
        db.audit(t, "ann", "search", "q").unwrap();
        for file in ["state.sqlite", "state.sqlite-wal", "state.sqlite-shm"] {
            let _ = std::fs::remove_file(dir.path().join(file));
        }
        let failure = db.write_failure().expect("noticed without a write");
        assert!(failure.contains("was deleted or replaced"), "{failure}");
        let error = db.audit(t, "ann", "search", "q").unwrap_err().to_string();
        assert!(error.contains("restore the file from a backup"), "{error}");
        assert!(db.write_failure().is_some());
    }
}
