//! The scheduler: one loop per source, all sharing one HTTP client and one index writer.
//!
//! Each loop waits for its interval (with jitter), polls once — fetch and parse up to the
//! source's `max_pages` pages, pipeline, write — and waits for the index commit before
//! it adopts the new position. Failures
//! back off exponentially up to `backoff_max`; `Retry-After` is honoured; a slow or
//! hostile source only ever delays itself, because every source has its own loop, every
//! request a timeout and a size cap, and every host a limit on requests in flight.

pub mod holds;
pub mod http;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use self::http::{FetchError, Fetcher};
use crate::config::{self, SourceConfig};
use crate::mention::Mention;
use crate::pipeline::Pipeline;
use crate::search::writer::{Batch, WriteError, WriterHandle};
use crate::search::{Checkpoints, SourceCheckpoint};
use crate::sources::{self, FetchRequest, Page, Position, Source, SourceError};

/// The most pages one poll may fetch, whatever a source asks for (`max_pages`).
const MAX_PAGES_PER_POLL: usize = 100;
/// How soon a source is polled again after the index could not be written, at the
/// soonest (its own interval, if longer).
const STORAGE_RETRY: Duration = Duration::from_secs(30);

/// Consecutive failures after which a source counts as failing.
const FAILING_AFTER: u32 = 3;
/// Longest stagger of the first poll, so that a restart does not fire every source at once.
const MAX_FIRST_DELAY: Duration = Duration::from_secs(10);

/// Why one poll failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// What one successful poll did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PollReport {
    /// Items the responses held.
    pub items_seen: usize,
    /// New items that were relevant and indexed.
    pub kept: usize,
    /// New items that were not about the asylum procedure (counted, not indexed).
    pub dropped: usize,
    /// New items published before the retention period (counted, neither analysed nor
    /// indexed: retention would erase them).
    pub too_old: usize,
    /// Items left out because they could not be read (a status without its id); the
    /// log names why.
    pub unreadable: usize,
    /// New relevant items not stored because their permalink or author was erased
    /// before (`webcare forget`).
    pub erased_before: usize,
    /// New items not delivered: not public (a direct message a token can search), taken
    /// down, or by an author who opted out of being indexed.
    pub withheld: usize,
    /// Items not new: delivered by an earlier poll, or dated before where the source
    /// reads back to (its last walk's newest item or, on a platform's first poll, the
    /// `backfill` horizon; a post whose date or id puts it there, as a forged or broken
    /// one may). With them every item seen is counted once: `items_seen` is the sum of
    /// `kept`, `dropped`, `too_old`, `unreadable`, `erased_before`, `withheld` and
    /// `earlier`.
    pub earlier: usize,
    pub pages: usize,
    pub not_modified: bool,
    /// What the source gave up this poll because the server refused to page further
    /// back ([`Source::give_up`]): posts it will never deliver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What the pages of one poll gave, and the error that stopped it early, if one did.
struct Collected {
    report: PollReport,
    mentions: Vec<Mention>,
    /// The last page's position (the saved one if no page was parsed).
    position: Position,
    failure: Option<PollError>,
    /// The walk given up in this poll, with when ([`SourceStatus::last_skipped`]).
    skipped: Option<String>,
}

/// How a source is doing, as `/api/sources` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub interval_secs: u64,
    /// Whether the relevance model weighs this source's mentions (`topical = true`).
    pub topical: bool,
    /// `pending` (not polled yet), `ok`, `retrying` or `failing`.
    pub state: &'static str,
    pub last_poll: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    pub next_poll: Option<DateTime<Utc>>,
    /// New items delivered over the source's lifetime, relevant or not.
    pub items_seen: u64,
    pub items_kept: u64,
    pub last_report: Option<PollReport>,
    /// The last unfinished walk given up because the server refused its older page
    /// (kept until another is: the posts it names will never come).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_skipped: Option<String>,
}

/// Every source's status, shared between the pollers and the HTTP API.
#[derive(Clone, Default)]
pub struct StatusBoard(Arc<RwLock<BTreeMap<String, SourceStatus>>>);

impl StatusBoard {
    pub fn snapshot(&self) -> Vec<SourceStatus> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut SourceStatus)) {
        let mut board = self.0.write().unwrap_or_else(|p| p.into_inner());
        if let Some(status) = board.get_mut(name) {
            change(status);
        }
    }

    fn insert(&self, status: SourceStatus) {
        let mut board = self.0.write().unwrap_or_else(|p| p.into_inner());
        board.insert(status.name.clone(), status);
    }
}

/// Everything a poll needs, shared by all source loops.
pub struct Poller {
    fetcher: Fetcher,
    pipeline: Arc<Pipeline>,
    writer: WriterHandle,
    board: StatusBoard,
    settings: config::Poll,
    privacy: config::Privacy,
    /// Where waits are kept across restarts ([`holds`]); none in tests that need not.
    holds: Option<Arc<crate::state::StateDb>>,
    /// The sources' waits kept from before the start, each taken by its loop.
    kept: Mutex<HashMap<String, holds::SourceHold>>,
}

impl Poller {
    /// `privacy` gives the retention period: older items are not stored.
    pub fn new(
        settings: &config::Poll,
        privacy: &config::Privacy,
        pipeline: Arc<Pipeline>,
        writer: WriterHandle,
        board: StatusBoard,
    ) -> Result<Poller, FetchError> {
        Ok(Poller {
            fetcher: Fetcher::new(settings)?,
            pipeline,
            writer,
            board,
            settings: settings.clone(),
            privacy: privacy.clone(),
            holds: None,
            kept: Default::default(),
        })
    }

    /// Keeps the waits of failing sources, and of hosts that answered 429 or said their
    /// quota is used up, in `state`, so that a restart keeps them too; and takes up those
    /// kept there before.
    pub fn with_holds(mut self, state: Arc<crate::state::StateDb>) -> Poller {
        match state.host_holds(Utc::now()) {
            Ok(hosts) => {
                for (host, until) in hosts {
                    let wait = (until - Utc::now()).to_std().unwrap_or_default();
                    tracing::info!(host = %host, wait_secs = wait.as_secs(), "the host asked to wait before the restart; waiting still");
                    self.fetcher.hold_host(&host, wait);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the waits kept from before the restart")
            }
        }
        self.fetcher.keep_holds_in(state.clone());
        match state.source_holds(Utc::now()) {
            Ok(kept) => self.kept = Mutex::new(kept),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the waits kept from before the restart")
            }
        }
        self.holds = Some(state);
        self
    }

    /// The wait `source` was in when the daemon stopped, if it is not over.
    fn kept_hold(&self, source: &str) -> Option<holds::SourceHold> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(source)
    }

    /// Forgets the waits of sources no longer configured (or disabled).
    fn release_unconfigured(&self, configs: &[SourceConfig]) {
        let Some(state) = &self.holds else { return };
        let names: Vec<&str> = configs
            .iter()
            .filter(|c| c.enabled)
            .map(|c| c.name.as_str())
            .collect();
        if let Err(e) = state.release_sources_except(&names) {
            tracing::warn!(error = %e, "cannot forget the waits of sources no longer configured");
        }
    }

    /// Keeps `source`'s wait (`None`: it polled well and waits for nothing), and the
    /// host's that a 429 asked for.
    fn keep_hold(&self, source: &str, hold: Option<holds::SourceHold>, error: Option<&PollError>) {
        let Some(state) = &self.holds else { return };
        let kept = cpu_bound(|| {
            if let Some(PollError::Fetch(FetchError::RetryAfter {
                status: 429,
                wait,
                host,
                ..
            })) = error
            {
                state.hold_host(host, Utc::now() + to_chrono(*wait))?;
            }
            match &hold {
                Some(hold) => state.hold_source(source, hold),
                None => state.release_source(source),
            }
        });
        if let Err(e) = kept {
            tracing::warn!(source, error = %e, "cannot keep the source's wait for after a restart");
        }
    }

    /// What the servers' `Date` headers said of this machine's clock.
    pub fn clock(&self) -> Arc<http::ClockCheck> {
        self.fetcher.clock()
    }

    /// One poll of `source`: fetch every page, run the pipeline, and write the mentions
    /// with the new checkpoint. Returns after the index commit that holds them, and then
    /// `checkpoint` is the saved one.
    ///
    /// A failure after some pages (a rate limit half-way through a long walk back) still
    /// writes what those pages gave, with the last page's position — every page's
    /// position is a valid place to resume — and then returns the error. A failure on
    /// the first page leaves `checkpoint` unchanged.
    pub async fn poll_once(
        &self,
        source: &dyn Source,
        checkpoint: &mut SourceCheckpoint,
    ) -> Result<PollReport, PollError> {
        let Collected {
            mut report,
            mut mentions,
            position,
            failure,
            skipped,
        } = self.collect(source, &checkpoint.position).await?;
        // Nothing new and nowhere else to resume from (a 304, an empty page of a
        // platform, a feed repeating what it sent): no write, so ten thousand quiet
        // sources cost no commits.
        let unchanged = mentions.is_empty() && position == checkpoint.position;
        if unchanged && failure.is_none() {
            return Ok(report);
        }
        // An old item (a feed's archive, a platform's history walked back) would be
        // erased by the next retention run: kept from the start for no longer than the
        // period allows, not at all.
        let cutoff = crate::retention::mention_cutoff(&self.privacy, Utc::now());
        let before = mentions.len();
        mentions.retain(|m| m.published >= cutoff);
        // Counted in the "polled" log line and the source's status.
        report.too_old = before - mentions.len();
        let (kept, dropped) = cpu_bound(|| self.analyse(source.name(), mentions));
        report.kept = kept.len();
        report.dropped = dropped;
        let next = SourceCheckpoint {
            position,
            // New items only: a feed repeats its last fifty items every poll.
            items_seen: checkpoint.items_seen
                + (report.kept + report.dropped + report.too_old) as u64,
            items_kept: checkpoint.items_kept + report.kept as u64,
            last_skipped: skipped.or_else(|| checkpoint.last_skipped.clone()),
        };
        let refused = self
            .writer
            .write(Batch {
                source: source.name().to_string(),
                mentions: kept,
                checkpoint: Some(next.clone()),
            })
            .await?;
        // Posts whose permalink or author was erased before: relevant, but not stored.
        report.kept -= refused;
        report.erased_before = refused;
        *checkpoint = SourceCheckpoint {
            items_kept: next.items_kept - refused as u64,
            ..next
        };
        match failure {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    /// Fetches and parses pages until the source has no next page or its page limit is
    /// reached. An error on the first page is returned; a later one is kept in
    /// [`Collected::failure`] with what the earlier pages gave.
    async fn collect(&self, source: &dyn Source, saved: &Position) -> Result<Collected, PollError> {
        let max_pages = source.max_pages().clamp(1, MAX_PAGES_PER_POLL);
        let mut request = source.first_request(saved);
        let mut collected = Collected {
            report: PollReport::default(),
            mentions: Vec::new(),
            position: saved.clone(),
            failure: None,
            skipped: None,
        };
        // The position before an unfinished walk was given up, until the newest page has
        // been read after it: a server that refuses that page too refuses more than the
        // cursor (a block, a rate limit in a 4xx), and the walk is kept for next time.
        let mut before_giving_up: Option<Position> = None;
        loop {
            let (page, not_modified) = match self.fetch_page(source, &request, saved).await {
                Ok(fetched) => fetched,
                Err(error) => {
                    let refused = match &error {
                        PollError::Fetch(FetchError::Status { status }) => Some(*status),
                        _ => None,
                    };
                    let given_up = refused
                        .filter(|_| collected.report.skipped.is_none())
                        .and_then(|status| source.give_up(&request, &collected.position, status));
                    if let Some((position, skipped)) = given_up {
                        before_giving_up =
                            Some(std::mem::replace(&mut collected.position, position));
                        request = source.first_request(&collected.position);
                        collected.report.skipped = Some(format!("{skipped} ({error})"));
                        continue;
                    }
                    if let Some(position) = before_giving_up.take() {
                        collected.position = position;
                        collected.report.skipped = None;
                    }
                    if collected.report.pages == 0 {
                        return Err(error);
                    }
                    collected.failure = Some(error);
                    return Ok(collected);
                }
            };
            if let Some(skipped) = before_giving_up
                .take()
                .and(collected.report.skipped.clone())
            {
                self.note_skipped(source, &mut collected, skipped);
            }
            if let Some(skipped) = &page.skipped {
                collected.report.skipped = Some(skipped.clone());
                self.note_skipped(source, &mut collected, skipped.clone());
            }
            collected.report.pages += 1;
            collected.report.not_modified = not_modified;
            collected.report.items_seen += page.items_seen;
            collected.report.withheld += page.withheld;
            collected.report.earlier += page
                .items_seen
                .saturating_sub(page.mentions.len() + page.withheld + page.unreadable.len());
            if let Some(first) = page.unreadable.first() {
                // The reason may quote the response: redacted like content.
                let first = self.pipeline.redact(first);
                tracing::warn!(source = %source.name(), items = page.unreadable.len(), first = %first, "items left out: they cannot be read");
                collected.report.unreadable += page.unreadable.len();
            }
            collected.mentions.extend(page.mentions);
            collected.position = page.position;
            match page.next {
                Some(next) if collected.report.pages < max_pages => request = next,
                _ => return Ok(collected),
            }
        }
    }

    /// A walk given up: logged, and kept as the source's `last_skipped` (with when).
    fn note_skipped(&self, source: &dyn Source, collected: &mut Collected, skipped: String) {
        tracing::warn!(source = %source.name(), "{skipped}");
        let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let skipped = format!("{at}: {skipped}");
        collected.skipped = Some(skipped.clone());
        self.board
            .update(source.name(), |s| s.last_skipped = Some(skipped));
    }

    async fn fetch_page(
        &self,
        source: &dyn Source,
        request: &FetchRequest,
        saved: &Position,
    ) -> Result<(Page, bool), PollError> {
        // When the fetch waits for the host, say when it will really be asked.
        let waiting = |wait: std::time::Duration| {
            self.board.update(source.name(), |s| {
                s.next_poll = Utc::now().checked_add_signed(to_chrono(wait));
            });
        };
        let fetched = self.fetcher.fetch(request, &waiting).await?;
        let not_modified = matches!(fetched, sources::Fetched::NotModified);
        // A response that makes an adapter panic is that response's failure, not the
        // end of the source's task (which nothing would start again).
        let parsed = cpu_bound(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                source.parse(request, saved, fetched, Utc::now())
            }))
        })
        .map_err(|_| {
            sources::SourceError::Shape(
                "the response made webcare's adapter fail (a bug: please report it with the response)"
                    .into(),
            )
        })?;
        let page = parsed?;
        Ok((page, not_modified))
    }

    /// Runs the pipeline over new mentions; returns the relevant ones and how many were
    /// dropped (not relevant, or an item the pipeline failed on).
    fn analyse(&self, source: &str, mentions: Vec<Mention>) -> (Vec<Mention>, usize) {
        let mut kept = Vec::with_capacity(mentions.len());
        let mut dropped = 0;
        for mention in mentions {
            let id = mention.id.clone();
            // One item the pipeline cannot handle must not end the source's loop.
            let processed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.pipeline.process(mention)
            }));
            match processed {
                Ok(mention) if mention.is_relevant() => kept.push(mention),
                Ok(mention) => {
                    tracing::debug!(source, id = %mention.id, rule = mention.topic().unwrap_or("none"), "not relevant");
                    dropped += 1;
                }
                Err(_) => {
                    tracing::error!(source, %id, "pipeline failed on an item; skipped");
                    dropped += 1;
                }
            }
        }
        (kept, dropped)
    }

    /// Polls `source` every `interval` until `cancel` fires.
    async fn run_source(
        self: Arc<Self>,
        source: Box<dyn Source>,
        interval: Duration,
        mut checkpoint: SourceCheckpoint,
        Kept { url, hold: kept }: Kept,
        cancel: CancellationToken,
    ) {
        let name = source.name().to_string();
        let mut wait = first_delay(interval, self.settings.jitter);
        let mut held = kept.is_some();
        let mut failures = kept.as_ref().map_or(0, |h| h.failures);
        if let Some(hold) = kept {
            wait = wait.max((hold.until - Utc::now()).to_std().unwrap_or_default());
            tracing::info!(source = %name, failures, wait_secs = wait.as_secs(), "waiting as before the restart");
            self.board.update(&name, |s| {
                s.state = failing_or_retrying(failures);
                s.last_error = Some(hold.last_error);
                s.consecutive_failures = failures;
            });
        }
        loop {
            self.board.update(&name, |s| {
                s.next_poll = Utc::now().checked_add_signed(to_chrono(wait));
            });
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            let started = Utc::now();
            let outcome = tokio::select! {
                _ = cancel.cancelled() => return,
                outcome = self.poll_once(source.as_ref(), &mut checkpoint) => outcome,
            };
            wait = match outcome {
                Ok(report) => {
                    failures = 0;
                    if std::mem::take(&mut held) {
                        self.keep_hold(&name, None, None);
                    }
                    self.record_success(&name, started, &checkpoint, report);
                    self.jittered(interval)
                }
                Err(error) => {
                    failures = failures_after(failures, &error);
                    let wait = after_failure(&self.settings, interval, failures, &error);
                    let shown = self.record_failure(
                        &name,
                        started,
                        failures.max(1),
                        &error,
                        wait,
                        &checkpoint,
                    );
                    let hold = holds::SourceHold {
                        url: url.clone(),
                        until: Utc::now() + to_chrono(wait),
                        failures,
                        last_error: shown,
                    };
                    self.keep_hold(&name, Some(hold), Some(&error));
                    held = true;
                    wait
                }
            };
        }
    }

    /// The interval moved by up to ±jitter, so that sources drift apart over time.
    fn jittered(&self, interval: Duration) -> Duration {
        jittered(interval, self.settings.jitter)
    }

    fn record_success(
        &self,
        name: &str,
        at: DateTime<Utc>,
        checkpoint: &SourceCheckpoint,
        report: PollReport,
    ) {
        tracing::info!(
            source = name,
            seen = report.items_seen,
            kept = report.kept,
            dropped = report.dropped,
            too_old = report.too_old,
            unreadable = report.unreadable,
            erased_before = report.erased_before,
            withheld = report.withheld,
            earlier = report.earlier,
            not_modified = report.not_modified,
            "polled"
        );
        self.board.update(name, |s| {
            s.state = "ok";
            s.last_poll = Some(at);
            s.last_success = Some(at);
            s.last_error = None;
            s.consecutive_failures = 0;
            s.items_seen = checkpoint.items_seen;
            s.items_kept = checkpoint.items_kept;
            s.last_report = Some(report);
        });
    }

    fn record_failure(
        &self,
        name: &str,
        at: DateTime<Utc>,
        failures: u32,
        error: &PollError,
        wait: Duration,
        checkpoint: &SourceCheckpoint,
    ) -> String {
        // Errors may quote the response: redacted like content before they are shown.
        let error = self.pipeline.redact(&error.to_string());
        tracing::warn!(source = name, failures, retry_in_secs = wait.as_secs(), error = %error, "poll failed");
        self.board.update(name, |s| {
            s.state = failing_or_retrying(failures);
            s.last_poll = Some(at);
            s.last_error = Some(error.clone());
            s.consecutive_failures = failures;
            // What the pages before the failure gave is committed and counted.
            s.items_seen = checkpoint.items_seen;
            s.items_kept = checkpoint.items_kept;
        });
        error
    }
}

/// The wait before a source's first poll: up to `jitter` of its interval, at most
/// [`MAX_FIRST_DELAY`], so that sources that start together do not all ask at once.
fn first_delay(interval: Duration, jitter: f64) -> Duration {
    let most = interval.mul_f64(jitter).min(MAX_FIRST_DELAY);
    most.mul_f64(rand::rng().random_range(0.0..=1.0))
}

/// The wait after a failed poll: exponential backoff from the interval, capped; never
/// sooner than `Retry-After`; an index that could not be written retried at the
/// source's pace (at least [`STORAGE_RETRY`]) whatever the failures before.
fn after_failure(
    settings: &config::Poll,
    interval: Duration,
    failures: u32,
    error: &PollError,
) -> Duration {
    let backoff = backoff(interval, failures, settings.backoff_max);
    match error {
        PollError::Fetch(FetchError::RetryAfter { wait, .. }) => backoff.max(*wait),
        PollError::Write(WriteError::Commit(_)) => {
            jittered(interval.max(STORAGE_RETRY), settings.jitter)
        }
        _ => jittered_backoff(backoff, interval, settings.backoff_max, settings.jitter),
    }
}

/// Runs CPU-heavy or blocking work (parsing, the pipeline, files) so that it does not hold up the other
/// sources' tasks on this worker thread: on a multi-threaded runtime, tokio moves them
/// elsewhere meanwhile.
pub(crate) fn cpu_bound<R>(work: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// The source's consecutive failures after `error`. The index that could not be written
/// (a full disk, a read-only mount) is not the source's failure: a backoff growing with
/// it would poll the source again long after the disk is mended, while its feed moves
/// on. The same items are fetched again at the next poll.
fn failures_after(failures: u32, error: &PollError) -> u32 {
    match error {
        PollError::Write(WriteError::Commit(_)) => failures,
        // A writer that has stopped does not come back: the sources back off.
        _ => failures + 1,
    }
}

/// A failing source's state as the status shows it.
fn failing_or_retrying(failures: u32) -> &'static str {
    if failures >= FAILING_AFTER {
        "failing"
    } else {
        "retrying"
    }
}

/// `interval` moved by up to ±`jitter` (a fraction).
fn jittered(interval: Duration, jitter: f64) -> Duration {
    if jitter == 0.0 {
        return interval;
    }
    interval.mul_f64(1.0 + rand::rng().random_range(-jitter..=jitter))
}

/// A failing source's wait: its backoff with jitter, which spreads the retries of
/// sources that failed together but never lifts one over the ceiling.
fn jittered_backoff(backoff: Duration, interval: Duration, max: Duration, jitter: f64) -> Duration {
    jittered(backoff, jitter).min(max.max(interval))
}

/// `interval × 2^(failures−1)`, at most `max` (and never less than the interval).
pub fn backoff(interval: Duration, failures: u32, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
    interval.saturating_mul(factor).min(max.max(interval))
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Starts a loop for every enabled source, each resuming from its saved checkpoint.
pub fn spawn_sources(
    poller: Arc<Poller>,
    configs: &[SourceConfig],
    checkpoints: &Checkpoints,
    cancel: &CancellationToken,
) -> Result<JoinSet<()>, SourceError> {
    let mut ready = Vec::new();
    for config in configs.iter().filter(|c| c.enabled) {
        let source = sources::build(config)?;
        let checkpoint = checkpoints.get(&config.name).cloned().unwrap_or_default();
        // Every source's pace is known on its host before any source asks it.
        let first = source.first_request(&checkpoint.position);
        poller.fetcher.know_pace(&first.url, first.min_interval);
        poller.board.insert(initial_status(config, &checkpoint));
        // A wait kept for another address (corrected in the config since) is none.
        let url = config.url.to_string();
        let kept = match poller.kept_hold(&config.name) {
            Some(hold) if hold.url == url => Some(hold),
            Some(_) => {
                poller.keep_hold(&config.name, None, None);
                None
            }
            None => None,
        };
        ready.push((
            source,
            config.interval,
            checkpoint,
            Kept { url, hold: kept },
        ));
    }
    poller.release_unconfigured(configs);
    let mut tasks = JoinSet::new();
    for (source, interval, checkpoint, kept) in ready {
        tasks.spawn(
            poller
                .clone()
                .run_source(source, interval, checkpoint, kept, cancel.clone()),
        );
    }
    Ok(tasks)
}

/// A source's address, and the wait it was in when the daemon stopped.
struct Kept {
    url: String,
    hold: Option<holds::SourceHold>,
}

fn initial_status(config: &SourceConfig, checkpoint: &SourceCheckpoint) -> SourceStatus {
    SourceStatus {
        name: config.name.clone(),
        kind: config.kind.clone(),
        url: crate::sources::shown_url(&config.url),
        interval_secs: config.interval.as_secs(),
        topical: config.topical,
        state: "pending",
        last_poll: None,
        last_success: None,
        last_error: None,
        consecutive_failures: 0,
        next_poll: None,
        items_seen: checkpoint.items_seen,
        items_kept: checkpoint.items_kept,
        last_report: None,
        last_skipped: checkpoint.last_skipped.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_that_cannot_be_written_is_no_failure_of_the_source() {
        let full = PollError::Write(WriteError::Commit("No space left on device".into()));
        let broken = PollError::Source(SourceError::Shape("no items".into()));
        assert_eq!(failures_after(0, &full), 0);
        assert_eq!(failures_after(2, &full), 2);
        assert_eq!(failures_after(2, &broken), 3);
        assert_eq!(failures_after(2, &PollError::Write(WriteError::Stopped)), 3);
    }

    #[test]
    fn a_failure_waits_as_the_server_asked_and_a_full_disk_at_the_sources_pace() {
        let settings = config::Poll {
            user_agent: String::new(),
            timeout: Duration::from_secs(10),
            max_body_bytes: 1 << 20,
            max_redirects: 5,
            max_per_host: 2,
            backoff_max: Duration::from_secs(6 * 3600),
            jitter: 0.0,
        };
        let minute = Duration::from_secs(60);
        let asked = PollError::Fetch(FetchError::RetryAfter {
            status: 503,
            asked: Duration::from_secs(2 * 3600),
            wait: Duration::from_secs(2 * 3600),
            host: String::new(),
        });
        assert_eq!(
            after_failure(&settings, minute, 1, &asked),
            Duration::from_secs(7200)
        );
        // The backoff when it is longer than what was asked.
        assert_eq!(
            after_failure(&settings, minute, 20, &asked),
            Duration::from_secs(6 * 3600)
        );
        // A full disk after many failures: at the source's pace, at least 30 s.
        let full = PollError::Write(WriteError::Commit("No space left on device".into()));
        let second = Duration::from_secs(1);
        assert_eq!(after_failure(&settings, second, 9, &full), STORAGE_RETRY);
        assert_eq!(after_failure(&settings, minute, 9, &full), minute);
        let broken = PollError::Source(SourceError::Shape("no items".into()));
        assert_eq!(after_failure(&settings, minute, 3, &broken), 4 * minute);
    }

    #[test]
    fn sources_starting_together_are_spread_over_their_first_seconds() {
        let delays: Vec<Duration> = (0..100)
            .map(|_| first_delay(Duration::from_secs(600), 0.1))
            .collect();
        assert!(delays.iter().all(|d| *d <= MAX_FIRST_DELAY), "{delays:?}");
        assert!(
            delays.iter().any(|d| *d > Duration::from_secs(1)),
            "{delays:?}"
        );
        assert_eq!(first_delay(Duration::from_secs(600), 0.0), Duration::ZERO);
    }

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let m = Duration::from_secs(60);
        let max = Duration::from_secs(3600);
        assert_eq!(backoff(m, 1, max), m);
        assert_eq!(backoff(m, 2, max), 2 * m);
        assert_eq!(backoff(m, 4, max), 8 * m);
        assert_eq!(backoff(m, 40, max), max);
        // An interval longer than the ceiling is never shortened by failing.
        assert_eq!(backoff(2 * max, 3, max), 2 * max);
        // Jitter spreads the waits but never lifts one over the ceiling.
        let waits: Vec<Duration> = (0..200)
            .map(|_| jittered_backoff(backoff(m, 40, max), m, max, 0.5))
            .collect();
        assert!(waits.iter().all(|w| *w <= max), "{waits:?}");
        assert!(waits.iter().any(|w| *w < max.mul_f64(0.9)), "{waits:?}");
    }
}
