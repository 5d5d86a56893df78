//! Retention: what is older than the configured period goes, daily, without anyone
//! asking — mentions from the index (through the writer), sent mail (which quotes
//! mentions) and weekly export files (which do too), entries from the audit trail,
//! expired sessions. `webcare purge --dry-run` shows which mentions the next run erases.
//! What arrives already older than the period (a feed's archive, a backfill) is not
//! stored at all: the poller and the import drop it against [`mention_cutoff`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::config::Privacy;
use crate::search::writer::WriterHandle;
use crate::search::{Erasure, MentionIndex};
use crate::state::StateDb;

/// How often the daemon runs retention.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);
/// The first run after start waits this long, so that a restart loop cannot hammer it.
const FIRST_AFTER: Duration = Duration::from_secs(60);

/// What one retention run removed.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct RetentionReport {
    pub mentions: usize,
    /// Sent messages (alerts, reports) older than the retention.
    pub mails: usize,
    /// Export files older than the retention.
    pub export_files: usize,
    pub audit_entries: usize,
    pub sessions: usize,
}

/// The cut-off for mentions at `now`.
pub fn mention_cutoff(privacy: &Privacy, now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::from_std(privacy.retention).unwrap_or(chrono::Duration::MAX)
}

fn audit_cutoff(privacy: &Privacy, now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::from_std(privacy.audit_retention).unwrap_or(chrono::Duration::MAX)
}

/// One retention run as of `now` (a parameter, so tests can move the clock).
pub async fn run_once(
    writer: &WriterHandle,
    index: &MentionIndex,
    state: &StateDb,
    privacy: &Privacy,
    exports: Option<&std::path::Path>,
    now: DateTime<Utc>,
) -> Result<RetentionReport, String> {
    let cutoff = mention_cutoff(privacy, now);
    let mentions = writer
        .erase(Erasure::PublishedBefore(cutoff))
        .await
        .map_err(|e| e.to_string())?;
    forget_in_copies(index, state, exports).map_err(|e| e.to_string())?;
    let report = RetentionReport {
        mentions,
        ..purge_beside_mentions(state, privacy, exports, now).map_err(|e| e.to_string())?
    };
    let RetentionReport {
        mails,
        export_files,
        audit_entries,
        sessions,
        ..
    } = report;
    let detail = format!(
        "before {}: {mentions} mentions; {mails} sent mails; {export_files} export files; {audit_entries} audit entries; {sessions} expired sessions",
        // Whole seconds: nine digits of nanoseconds can pass for a BSN to the redaction.
        cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    state
        .audit(now, "system", "retention", &detail)
        .map_err(|e| e.to_string())?;
    Ok(report)
}

/// The part of a retention run beside the mentions (which the daemon's writer or the
/// command line erases): sent mail and export files past the retention period, audit
/// entries past theirs, expired sessions. `mentions` is 0 in what it returns.
pub fn purge_beside_mentions(
    state: &StateDb,
    privacy: &Privacy,
    exports: Option<&std::path::Path>,
    now: DateTime<Utc>,
) -> Result<RetentionReport, crate::state::StateError> {
    let cutoff = mention_cutoff(privacy, now);
    Ok(RetentionReport {
        mentions: 0,
        mails: state.purge_sent_mail(cutoff)?,
        export_files: exports.map_or(0, |dir| purge_files(dir, cutoff)),
        audit_entries: state.purge_audit(audit_cutoff(privacy, now))?,
        sessions: state.purge_sessions(now)?,
    })
}

/// Takes the mentions no longer in `index` (just erased, or past retention) out of every
/// copy that quotes them: the alert incidents' examples, the stored mail (sent or not)
/// and the export files in `exports`; how many examples went from the incidents. A
/// mention the index cannot be asked about goes too. An export file that cannot be
/// rewritten is logged and tried again at the next erasure or start.
pub fn forget_in_copies(
    index: &MentionIndex,
    state: &StateDb,
    exports: Option<&std::path::Path>,
) -> Result<usize, crate::state::StateError> {
    let exists = |id: &str| index.contains(id).unwrap_or(false);
    let removed = state.forget_erased_mentions(exists)?;
    let in_mail = state.forget_in_outbox(exists)?;
    let in_files = exports.map_or(0, |dir| crate::export::erase::forget_in_files(dir, &exists));
    if removed > 0 || in_mail > 0 || in_files > 0 {
        tracing::info!(
            examples = removed,
            quotes_in_mail = in_mail,
            quotes_in_export_files = in_files,
            "erased mentions taken out of alert incidents, stored mail and export files"
        );
    }
    Ok(removed)
}

/// The export files in `dir` last written before `cutoff`. Only the files an export
/// writes: the directory may be shared, or set to the data directory (with the
/// pseudonym key and the users file in it).
pub fn old_export_files(dir: &std::path::Path, cutoff: DateTime<Utc>) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut old: Vec<std::path::PathBuf> = entries
        .flatten()
        .filter(|entry| {
            let ours = entry
                .file_name()
                .to_str()
                .is_some_and(crate::export::is_export_file);
            ours && entry.file_type().is_ok_and(|t| t.is_file())
                && entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| DateTime::<Utc>::from(t) < cutoff)
        })
        .map(|entry| entry.path())
        .collect();
    old.sort();
    old
}

/// Deletes [`old_export_files`]; how many went. Errors are logged: a file that cannot go
/// now is tried again tomorrow.
fn purge_files(dir: &std::path::Path, cutoff: DateTime<Utc>) -> usize {
    let mut removed = crate::export::remove_stale_temporary_files(dir);
    for path in old_export_files(dir, cutoff) {
        match std::fs::remove_file(&path) {
            Ok(()) => removed += 1,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove an old export file")
            }
        }
    }
    removed
}

/// Runs retention daily until `cancel`.
pub async fn run_daily(
    writer: WriterHandle,
    index: MentionIndex,
    clock: std::sync::Arc<crate::poll::http::ClockCheck>,
    state: std::sync::Arc<StateDb>,
    privacy: Privacy,
    exports: Option<std::path::PathBuf>,
    cancel: CancellationToken,
) {
    let mut wait = FIRST_AFTER;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = EVERY;
        // Retention erases by this clock: one a hundred days ahead would erase every
        // mention, for good. The servers say it is wrong; try again later.
        if let Some((against, heard)) = clock.doubt_within(EVERY) {
            tracing::error!(
                servers_against = against,
                servers_heard = heard,
                "retention run skipped: the Date headers of {against} of the {heard} servers heard in the last day say this machine's clock is wrong (see the sources' errors); if the clock is right, those servers are not"
            );
            wait = Duration::from_secs(3600);
            continue;
        }
        match run_once(
            &writer,
            &index,
            &state,
            &privacy,
            exports.as_deref(),
            Utc::now(),
        )
        .await
        {
            Ok(report) => tracing::info!(
                mentions = report.mentions,
                sent_mails = report.mails,
                export_files = report.export_files,
                audit_entries = report.audit_entries,
                sessions = report.sessions,
                "retention run"
            ),
            Err(error) => tracing::error!(%error, "retention run failed; retrying next time"),
        }
    }
}
