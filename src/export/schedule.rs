//! The weekly export in the daemon: when it runs, and the run itself.
//!
//! The schedule is a weekday and a wall-clock time in a time zone (Monday 07:00 in
//! Amsterdam); [`next_run`] turns it into the next instant after a given one, a pure
//! function of its arguments, so the tests move the clock across daylight-saving changes
//! without waiting. Each run exports the last complete week before its scheduled time,
//! so a run is named by its week, and running it again writes the same files. A daemon
//! that was down at the scheduled time exports the missed week when it starts, if no
//! scheduled run did that week (a new installation has missed nothing).

use std::sync::Arc;

use chrono::{DateTime, Datelike, Days, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use tokio_util::sync::CancellationToken;

use super::settings::Export;
use super::week::{local_to_utc, IsoWeek};
use super::{ExportError, Request, Sources, Written};
use crate::alerts::stats::Thresholds;
use crate::pipeline::Pipeline;
use crate::search::MentionIndex;
use crate::state::StateDb;

/// The longest single sleep: the wall clock is looked at again after it, so a suspended
/// machine or a corrected clock does not push a run back by days.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(3600);

/// When the weekly export runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub weekday: Weekday,
    pub time: NaiveTime,
    pub tz: Tz,
}

/// The first scheduled instant strictly after `after`.
pub fn next_run(after: DateTime<Utc>, schedule: &Schedule) -> DateTime<Utc> {
    let today = after.with_timezone(&schedule.tz).date_naive();
    for days in 0..=14 {
        let Some(date) = today.checked_add_days(Days::new(days)) else {
            break;
        };
        if date.weekday() != schedule.weekday {
            continue;
        }
        let at = local_to_utc(schedule.tz, date.and_time(schedule.time));
        if at > after {
            return at;
        }
    }
    // Only at the end of chrono's calendar.
    after + chrono::Duration::days(7)
}

/// The last scheduled instant at or before `now`.
pub fn previous_run(now: DateTime<Utc>, schedule: &Schedule) -> DateTime<Utc> {
    let mut at = next_run(now - chrono::Duration::days(8), schedule);
    loop {
        let next = next_run(at, schedule);
        if next > now {
            return at;
        }
        at = next;
    }
}

/// The week a run scheduled at `at` exports: the last one complete by then.
pub fn week_of_run(at: DateTime<Utc>, schedule: &Schedule) -> IsoWeek {
    IsoWeek::last_complete(at, schedule.tz)
}

/// The request of the scheduled run at `at`.
pub fn request(settings: &Export, at: DateTime<Utc>) -> Request {
    Request {
        week: week_of_run(at, &settings.schedule),
        weeks_before: settings.weeks,
        tz: settings.schedule.tz,
        formats: settings.formats.clone(),
        out_dir: settings.out_dir.clone(),
        language: settings.language,
        bom: settings.bom,
        csv_delimiter: settings.csv_delimiter,
    }
}

/// The state's note of the last week a scheduled run exported (and mailed).
const DONE_KEY: &str = "weekly_export_done";

/// The state's note of when the daemon first ran the export on its schedule.
const SINCE_KEY: &str = "weekly_export_since";

/// Notes, once, that the daemon runs the export on its schedule from `now`: a run
/// scheduled before then was not missed (a new installation does not export, and mail,
/// last week's report at its first start).
pub fn note_start(state: &StateDb, now: DateTime<Utc>) -> Result<(), crate::state::StateError> {
    if state.meta(SINCE_KEY)?.is_none() {
        state.set_meta(SINCE_KEY, &now.to_rfc3339())?;
    }
    Ok(())
}

/// Whether the scheduled run at `at` was due and has not been done: the state notes the
/// last week a scheduled run did (files written by hand for that week, `webcare export`,
/// do not count: the run also mails the report), and when the schedule began.
pub fn missing(state: &StateDb, settings: &Export, at: DateTime<Utc>) -> bool {
    let week = week_of_run(at, &settings.schedule);
    match last_done(state).ok().flatten() {
        Some(done) => done < week,
        None => state
            .meta(SINCE_KEY)
            .ok()
            .flatten()
            .and_then(|since| DateTime::parse_from_rfc3339(&since).ok())
            .is_some_and(|since| since <= at),
    }
}

/// The last week a scheduled run did, as the state notes it.
/// The meta key of the last week whose report was queued for mail.
const MAILED_KEY: &str = "weekly_export_mailed";

fn last_done(state: &StateDb) -> Result<Option<IsoWeek>, crate::state::StateError> {
    Ok(state
        .meta(DONE_KEY)?
        .and_then(|done| done.parse::<IsoWeek>().ok()))
}

/// One scheduled run: exports the week before `at` and queues the mail, if any.
pub fn run_once(
    sources: &Sources,
    state: &StateDb,
    settings: &Export,
    at: DateTime<Utc>,
) -> Result<Written, ExportError> {
    let request = request(settings, at);
    let week = week_of_run(at, &settings.schedule);
    let written = super::export(sources, &request, &mut |_| {})?;
    // A run retried after a failure past the queueing (the audit, the note) must not
    // mail the week's report twice.
    let mailed = state
        .meta(MAILED_KEY)?
        .is_some_and(|w| w == week.to_string());
    if !settings.mail_to.is_empty() && !mailed {
        super::mail::queue(state, &settings.mail_to, &written, &request, Utc::now())?;
        state.set_meta(MAILED_KEY, &week.to_string())?;
        // As the files are (see `export`): the mail must not quote what was erased
        // while it was made.
        state.forget_in_outbox(|id| sources.index.contains(id).unwrap_or(true))?;
    }
    // Recorded as the command line's export is: the files quote mentions.
    state.audit(
        Utc::now(),
        "system",
        "export",
        &format!(
            "week {}: {} files in {}; mailed to {} addresses",
            written.report.week,
            written.files.len(),
            request.out_dir.display(),
            settings.mail_to.len()
        ),
    )?;
    // A run for an earlier week (catching up) does not move the note back.
    if last_done(state)?.is_none_or(|done| done < week) {
        state.set_meta(DONE_KEY, &week.to_string())?;
    }
    Ok(written)
}

/// Sleeps until `at` by the wall clock, or until `cancel`; false when cancelled.
async fn sleep_until(at: DateTime<Utc>, cancel: &CancellationToken) -> bool {
    loop {
        let left = (at - Utc::now()).to_std().unwrap_or_default();
        if left.is_zero() {
            return true;
        }
        tokio::select! {
            _ = cancel.cancelled() => return false,
            _ = tokio::time::sleep(left.min(MAX_SLEEP)) => {}
        }
    }
}

/// Everything a run needs, shared with the blocking task that computes it.
pub struct Weekly {
    pub index: MentionIndex,
    pub pipeline: Arc<Pipeline>,
    pub state: Arc<StateDb>,
    pub settings: Export,
    pub thresholds: Thresholds,
    /// `[privacy]`: what retention has erased is no part of any week to compare with.
    pub privacy: crate::config::Privacy,
}

impl Weekly {
    fn run_blocking(&self, at: DateTime<Utc>) -> Result<Written, ExportError> {
        let pipeline = self.pipeline.clone();
        let known = move |term: &str| pipeline.known_term(term);
        let sources = Sources {
            index: &self.index,
            state: Some(&self.state),
            known: &known,
            thresholds: self.thresholds,
            kept_from: Some(crate::retention::mention_cutoff(&self.privacy, Utc::now())),
        };
        run_once(&sources, &self.state, &self.settings, at)
    }
}

/// How long after a failed run the week's export is tried again.
const RETRY_AFTER_FAILURE: chrono::Duration = chrono::Duration::hours(1);

/// Runs the export on its schedule until `cancel`, off the async workers.
pub async fn run_weekly(weekly: Weekly, cancel: CancellationToken) {
    let weekly = Arc::new(weekly);
    let schedule = weekly.settings.schedule;
    if let Err(error) = note_start(&weekly.state, Utc::now()) {
        tracing::warn!(%error, "cannot note the start of the weekly export");
    }
    let last = previous_run(Utc::now(), &schedule);
    // The run's time, which names the week it exports, and when to wake for it: a
    // retry wakes later for the same week (one near the week's end would otherwise
    // export the next week, twice, and never this one).
    let mut scheduled = if missing(&weekly.state, &weekly.settings, last) {
        last
    } else {
        next_run(Utc::now(), &schedule)
    };
    let mut wake = scheduled;
    loop {
        if !sleep_until(wake, &cancel).await {
            return;
        }
        let job = weekly.clone();
        let at = scheduled;
        let run = tokio::task::spawn_blocking(move || job.run_blocking(at)).await;
        let next = next_run(scheduled.max(Utc::now()), &schedule);
        (scheduled, wake) = (next, next);
        match run {
            Ok(Ok(written)) => {
                tracing::info!(
                    week = %written.report.week,
                    files = written.files.len(),
                    dir = %weekly.settings.out_dir.display(),
                    "weekly export written"
                );
            }
            Ok(Err(error)) => {
                // A full disk or a directory taken away is often mended within the
                // day: the week's report is tried again hourly, not a week later.
                let retry = Utc::now() + RETRY_AFTER_FAILURE;
                if retry < next {
                    (scheduled, wake) = (at, retry);
                }
                tracing::error!(%error, retry_at = %wake, "weekly export failed; trying again");
            }
            // The daemon stopping (here: it could not listen) cancels the run: no fault.
            Err(error) if error.is_cancelled() => return,
            Err(error) => {
                tracing::error!(%error, "weekly export panicked; trying again next week");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn monday_seven() -> Schedule {
        Schedule {
            weekday: Weekday::Mon,
            time: NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
            tz: chrono_tz::Europe::Amsterdam,
        }
    }

    #[test]
    fn next_run_is_the_next_monday_seven_local() {
        let s = monday_seven();
        // Wednesday → next Monday 07:00 CET (06:00 UTC).
        assert_eq!(
            next_run(utc("2026-11-18T12:00:00Z"), &s),
            utc("2026-11-23T06:00:00Z")
        );
        // Monday before seven → the same day; at seven exactly → a week later.
        assert_eq!(
            next_run(utc("2026-11-23T05:59:59Z"), &s),
            utc("2026-11-23T06:00:00Z")
        );
        assert_eq!(
            next_run(utc("2026-11-23T06:00:00Z"), &s),
            utc("2026-11-30T06:00:00Z")
        );
    }

    #[test]
    fn next_run_follows_the_local_clock_across_daylight_saving() {
        let s = monday_seven();
        // Summer time starts on Sunday 29 March 2026: Monday 07:00 is 05:00 UTC after it.
        assert_eq!(
            next_run(utc("2026-03-23T06:00:00Z"), &s),
            utc("2026-03-30T05:00:00Z")
        );
        // It ends on Sunday 25 October 2026: 06:00 UTC again.
        assert_eq!(
            next_run(utc("2026-10-19T05:00:00Z"), &s),
            utc("2026-10-26T06:00:00Z")
        );
        // A schedule inside the spring gap (Sunday 02:30) runs at 03:00 that night.
        let gap = Schedule {
            weekday: Weekday::Sun,
            time: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            ..s
        };
        assert_eq!(
            next_run(utc("2026-03-28T12:00:00Z"), &gap),
            utc("2026-03-29T01:00:00Z")
        );
        // One inside the repeated autumn hour runs once, at the first 02:30.
        let twice = next_run(utc("2026-10-24T12:00:00Z"), &gap);
        assert_eq!(twice, utc("2026-10-25T00:30:00Z"));
        assert_eq!(next_run(twice, &gap), utc("2026-11-01T01:30:00Z"));
    }

    #[test]
    fn a_moved_clock_walks_the_weeks_and_each_run_names_its_week() {
        let s = monday_seven();
        let mut at = utc("2026-12-27T12:00:00Z");
        let mut weeks = Vec::new();
        for _ in 0..3 {
            at = next_run(at, &s);
            weeks.push(week_of_run(at, &s).to_string());
        }
        assert_eq!(weeks, ["2026-W52", "2026-W53", "2027-W01"]);
        // The run of Monday 4 January 2027 is the previous run until the next one.
        assert_eq!(
            previous_run(utc("2027-01-06T00:00:00Z"), &s),
            utc("2027-01-04T06:00:00Z")
        );
        assert_eq!(
            previous_run(utc("2027-01-04T06:00:00Z"), &s),
            utc("2027-01-04T06:00:00Z")
        );
        assert_eq!(
            previous_run(utc("2027-01-04T05:59:00Z"), &s),
            utc("2026-12-28T06:00:00Z")
        );
    }
}
