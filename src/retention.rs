//! Retention: what is older than the configured period goes, daily, without anyone
//! asking — mentions from the index (through the writer), mail (which quotes
//! mentions) and weekly export files (which do too), entries from the audit trail,
//! expired sessions. `webcare purge --dry-run` shows which mentions the next run erases.
//! What arrives already older than the period (a feed's archive, a backfill) is not
//! stored at all: the poller and the import drop it against [`mention_cutoff`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use crate::config::Privacy;
use crate::pipeline::duplicates::DuplicateIndex;
use crate::pipeline::Pipeline;
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
    /// Messages (alerts, reports) sent or given up, older than the retention.
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
    // Reads and rewrites incidents, stored mail and files: the async worker this runs
    // on is handed over, not held up (the runtime has as many as the machine has cores).
    let beside = crate::poll::cpu_bound(|| {
        // Purged first: the clean-up of copies empties the log after both.
        let purged = purge_beside_mentions(state, privacy, exports, now)?;
        forget_in_copies(index, state, exports)?;
        Ok::<_, crate::state::StateError>(purged)
    })
    .map_err(|e| e.to_string())?;
    let report = RetentionReport { mentions, ..beside };
    let RetentionReport {
        mails,
        export_files,
        audit_entries,
        sessions,
        ..
    } = report;
    let detail = format!(
        "before {}: {mentions} mentions; {mails} mails; {export_files} export files; {audit_entries} audit entries; {sessions} expired sessions",
        // Whole seconds: nine digits of nanoseconds can pass for a BSN to the redaction.
        cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    state
        .audit(now, "system", "retention", &detail)
        .map_err(|e| e.to_string())?;
    Ok(report)
}

/// The part of a retention run beside the mentions (which the daemon's writer or the
/// command line erases): mail and export files past the retention period, audit
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
        mails: state.purge_mail(cutoff)?,
        export_files: exports.map_or(0, |dir| purge_files(dir, cutoff)),
        audit_entries: state.purge_audit(audit_cutoff(privacy, now))?,
        sessions: state.purge_sessions(now)?,
    })
}

/// Takes the mentions no longer in `index` (just erased, or past retention) out of every
/// copy that quotes them: the alert incidents' examples, the stored mail (sent or not)
/// and the export files in `exports`; how many examples went from the incidents. A
/// mention the index cannot be asked about goes too. An export file that cannot be
/// rewritten is logged and tried again at the next erasure or start. The state
/// database keeps no copy in its log or free space ([`StateDb::scrub`]).
pub fn forget_in_copies(
    index: &MentionIndex,
    state: &StateDb,
    exports: Option<&std::path::Path>,
) -> Result<usize, crate::state::StateError> {
    let exists = |id: &str| index.contains(id).unwrap_or(false);
    let removed = state.forget_erased_mentions(exists)?;
    let in_mail = state.forget_in_outbox(exists)?;
    let in_files = exports.map_or(0, |dir| crate::export::erase::forget_in_files(dir, &exists));
    // Out of the log too, which still holds the quotes as they were.
    state.scrub()?;
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

/// The time a retention run erases by, or why it must wait, by what the sources'
/// servers said of the clock within `window`. Retention erases by this clock, for
/// good: one a hundred days ahead would erase every mention.
/// - Servers heard contradict the clock: wait.
/// - Sources to ask (`sources` > 0) but none of their servers heard (a machine that
///   booted with a wrong clock before its network was up, or a long outage): the run
///   erases by the clock no further than a day past the newest mention stored
///   (`newest`), the evidence at hand, and says so; with no mention stored it waits.
/// - Otherwise: `now`.
pub fn erasing_time(
    clock: &crate::poll::http::ClockCheck,
    sources: usize,
    window: Duration,
    now: DateTime<Utc>,
    newest: Option<DateTime<Utc>>,
) -> Result<(DateTime<Utc>, Option<String>), String> {
    if let Some((against, heard)) = clock.doubt_within(window) {
        return Err(format!(
            "the Date headers of {against} of the {heard} servers heard in the last day say this machine's clock is wrong (see the sources' errors); if the clock is right, those servers are not"
        ));
    }
    if sources == 0 || clock.answered_within(window) {
        return Ok((now, None));
    }
    let unheard = format!(
        "none of the servers of the {sources} sources has answered in the last day, so this machine's clock cannot be checked against theirs (see the sources' errors)"
    );
    match newest {
        Some(newest) => {
            let at = now.min(newest + chrono::Duration::days(1));
            Ok((
                at,
                Some(format!(
                    "{unheard}: erasing as of {}, a day after the newest mention stored, at the latest",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )),
            ))
        }
        None => Err(format!("{unheard}, and no mention is stored to go by")),
    }
}

/// Everything the daily run needs.
pub struct Daily {
    pub writer: WriterHandle,
    pub index: MentionIndex,
    /// What the sources' servers said of the clock.
    pub clock: Arc<crate::poll::http::ClockCheck>,
    /// How many sources are polled.
    pub sources: usize,
    pub state: Arc<StateDb>,
    pub privacy: Privacy,
    pub exports: Option<std::path::PathBuf>,
    /// Whose near-duplicate table forgets what retention erased.
    pub pipeline: Arc<Pipeline>,
}

/// Runs retention daily until `cancel`.
pub async fn run_daily(daily: Daily, cancel: CancellationToken) {
    let mut wait = FIRST_AFTER;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = EVERY;
        let newest = daily.index.newest_published().unwrap_or(None);
        let at = match erasing_time(&daily.clock, daily.sources, EVERY, Utc::now(), newest) {
            Ok((at, note)) => {
                if let Some(note) = note {
                    tracing::warn!("retention run: {note}");
                }
                at
            }
            Err(reason) => {
                tracing::error!("retention run skipped, tried again in an hour: {reason}");
                wait = Duration::from_secs(3600);
                continue;
            }
        };
        let run = run_once(
            &daily.writer,
            &daily.index,
            &daily.state,
            &daily.privacy,
            daily.exports.as_deref(),
            at,
        )
        .await;
        match run {
            Ok(report) => {
                tracing::info!(
                    mentions = report.mentions,
                    mails = report.mails,
                    export_files = report.export_files,
                    audit_entries = report.audit_entries,
                    sessions = report.sessions,
                    "retention run"
                );
                if report.mentions > 0 {
                    let (index, pipeline) = (daily.index.clone(), daily.pipeline.clone());
                    let rebuilt = tokio::task::spawn_blocking(move || {
                        forget_in_duplicates(&index, &pipeline)
                    })
                    .await;
                    match rebuilt {
                        Ok(Ok((before, after))) => tracing::info!(
                            before,
                            after,
                            "near-duplicate table rebuilt without the erased mentions"
                        ),
                        Ok(Err(error)) => {
                            tracing::error!(%error, "cannot rebuild the near-duplicate table; it keeps the erased mentions until the next run")
                        }
                        Err(error) => {
                            tracing::error!(%error, "the near-duplicate table's rebuild did not finish")
                        }
                    }
                }
            }
            // Often a full disk, which the run itself would help free: not a day later.
            Err(error) => {
                tracing::error!(%error, "retention run failed; trying again in an hour");
                wait = Duration::from_secs(3600);
            }
        }
    }
}

/// Replaces `pipeline`'s near-duplicate table with one read from `index`: a daemon that
/// runs for months would otherwise hold every mention since its start in memory, and
/// cluster new posts with mentions long erased (as a restart would not). The table is
/// locked while it is read (at start the soak test's daemon read 10,827 in 35 ms: a few
/// seconds for a million), so no mention is
/// analysed against half a table; a mention analysed since the last commit is not in
/// the index yet and is left out, as it would be at a restart. Before and after: how
/// many mentions the table holds.
pub fn forget_in_duplicates(
    index: &MentionIndex,
    pipeline: &Pipeline,
) -> Result<(usize, usize), crate::search::IndexError> {
    let mut table = pipeline.duplicates();
    let before = table.len();
    let mut fresh = DuplicateIndex::default();
    index.load_duplicates(&mut fresh)?;
    *table = fresh;
    Ok((before, table.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::http::ClockCheck;

    /// A machine that booted with its clock months ahead and no network yet: the first
    /// run would erase every mention, for good. It erases by the newest mention stored.
    #[test]
    fn retention_erases_by_the_evidence_while_no_server_vouches_for_the_clock() {
        let day = Duration::from_secs(86_400);
        let clock = ClockCheck::default();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let ahead = at("2027-03-01T00:00:00Z");
        let newest = at("2026-11-30T10:00:00Z");
        let (when, note) = erasing_time(&clock, 3, day, ahead, Some(newest)).unwrap();
        assert_eq!(when, at("2026-12-01T10:00:00Z"));
        assert!(note
            .unwrap()
            .starts_with("none of the servers of the 3 sources has answered"),);
        // A clock that is right: its own time, the newest mention being recent.
        let right = at("2026-11-30T12:00:00Z");
        assert_eq!(
            erasing_time(&clock, 3, day, right, Some(newest)).unwrap().0,
            right
        );
        // Nothing stored to go by: wait.
        let reason = erasing_time(&clock, 3, day, ahead, None).unwrap_err();
        assert!(
            reason.ends_with("no mention is stored to go by"),
            "{reason}"
        );
        // Nothing to poll: an index filled by `webcare import`, by the clock.
        assert_eq!(erasing_time(&clock, 0, day, ahead, None), Ok((ahead, None)));
        // A server heard: the clock.
        clock.answered();
        assert_eq!(
            erasing_time(&clock, 3, day, ahead, Some(newest)),
            Ok((ahead, None))
        );
    }
}
