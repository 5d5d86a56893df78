//! HTTP etiquette for every source: conditional GET, compression, timeouts, a size cap,
//! limited redirects, `Retry-After`, a User-Agent with a contact, at most N requests in
//! flight per host, a least time between two requests to a host (the strictest
//! `rate_limit` of the sources on it), and a pause until the quota resets when a host
//! says it is used up (`X-RateLimit-Remaining: 0`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config;
use crate::sources::json::parse_time;
use crate::sources::{Body, FetchRequest, Fetched};

/// Why a fetch failed. The scheduler decides what to do next from the variant.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("response body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("HTTP {status}")]
    Status { status: u16 },
    #[error("HTTP {status}; {}", asked_wait(*asked, *wait))]
    RetryAfter {
        status: u16,
        /// What the server asked for.
        asked: Duration,
        /// What is waited: at most `backoff_max`.
        wait: Duration,
        /// The host (name and port) that answered, which a 429 holds.
        host: String,
    },
    #[error("HTTP 304 Not Modified to a request that was not conditional (no ETag or Last-Modified was sent): the server sends nothing to read")]
    UnaskedNotModified,
    #[error("too many redirects (more than {0})")]
    Redirects(usize),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("this machine's clock is {skew} {direction} the server's (its Date header says {server}): nothing is read from it until the clock is right (is NTP running?)")]
    Clock {
        skew: String,
        direction: &'static str,
        server: String,
    },
    #[error("request failed: {0}")]
    Other(String),
}

/// What a `Retry-After` asked, in whole seconds as people read them, and what is waited
/// where `backoff_max` cut it short; one that names a time already past asks nothing,
/// and the source backs off as after any failure.
fn asked_wait(asked: Duration, wait: Duration) -> String {
    let seconds = |d: Duration| d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let asks = match seconds(asked) {
        0 => return "its Retry-After has passed; backing off".to_string(),
        1 => "server asks to wait 1 second".to_string(),
        secs => format!("server asks to wait {secs} seconds"),
    };
    match seconds(wait) < seconds(asked) {
        true => format!("{asks}; waiting {} (backoff_max)", seconds(wait)),
        false => asks,
    }
}

/// Which [`Host`] a request goes to: host name and port.
fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// The shared HTTP client with per-host limits.
pub struct Fetcher {
    client: reqwest::Client,
    settings: config::Poll,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    clock: Arc<ClockCheck>,
    /// Where a host's used-up quota is kept, so that a restart waits it out too.
    holds: Option<Arc<crate::state::StateDb>>,
}

/// How far this machine's clock may be from a server's (its `Date` plus `Age`) before
/// nothing fetched is judged by it. Items are dated, kept or dropped as too old (and
/// retention erases) by this clock: a month ahead erases a month of mentions, and
/// marks what it refused as seen. An hour covers caches that serve a response a while.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(3600);

/// What the servers' `Date` headers say of this machine's clock: each host's last
/// verdict, and when (by the monotonic clock, which a wrong wall clock does not move).
#[derive(Debug, Default)]
pub struct ClockCheck {
    /// Host → its last verdict.
    verdicts: Mutex<HashMap<String, Verdict>>,
    /// When a server last answered at all (by the monotonic clock).
    last_answer: Mutex<Option<std::time::Instant>>,
}

#[derive(Debug, Clone, Copy)]
struct Verdict {
    /// When, by the monotonic clock and by the wall clock then.
    at: std::time::Instant,
    wall: std::time::SystemTime,
    contradicts: bool,
}

impl Verdict {
    /// Whether it still speaks against the clock: it did, or the wall clock has moved by
    /// more than [`MAX_CLOCK_SKEW`] since (a jump a server agreed with before is no
    /// agreement with the clock as it is now).
    fn against(&self) -> bool {
        let expected = self.wall + self.at.elapsed();
        let drift = match std::time::SystemTime::now().duration_since(expected) {
            Ok(ahead) => ahead,
            Err(behind) => behind.duration(),
        };
        self.contradicts || drift > MAX_CLOCK_SKEW
    }
}

impl ClockCheck {
    /// A server answered (with a `Date` or without).
    pub(crate) fn answered(&self) {
        *self
            .last_answer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(std::time::Instant::now());
    }

    /// Whether any server answered within `window`: without an answer, nothing speaks
    /// for the clock or against it.
    pub fn answered_within(&self, window: Duration) -> bool {
        self.last_answer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some_and(|at| at.elapsed() < window)
    }

    fn note(&self, host: &str, contradicts: bool) {
        self.note_at(host, contradicts, std::time::SystemTime::now());
    }

    fn note_at(&self, host: &str, contradicts: bool, wall: std::time::SystemTime) {
        let verdict = Verdict {
            at: std::time::Instant::now(),
            wall,
            contradicts,
        };
        self.verdicts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(host.to_string(), verdict);
    }

    /// Whether the clock is in doubt: within the last `window` a server's `Date`
    /// contradicted it, and no more servers agreed with it than contradicted it. A clock
    /// that is wrong is contradicted by every server; one server with a wrong `Date` (or
    /// a cache serving a stale one) among servers that agree says more about itself.
    pub fn doubted_within(&self, window: Duration) -> bool {
        self.doubt_within(window).is_some()
    }

    /// How many servers heard within `window` contradicted the clock and how many were
    /// heard in all, when the clock is in doubt ([`Self::doubted_within`]).
    pub fn doubt_within(&self, window: Duration) -> Option<(usize, usize)> {
        let verdicts = self
            .verdicts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let recent: Vec<bool> = verdicts
            .values()
            .filter(|v| v.at.elapsed() < window)
            .map(Verdict::against)
            .collect();
        let against = recent.iter().filter(|&&c| c).count();
        (against > 0 && against * 2 >= recent.len()).then_some((against, recent.len()))
    }
}

/// How far `now` is ahead of the server's time by its `Date` and `Age` headers, in
/// seconds (negative: behind); `None` without a readable `Date`.
fn clock_skew(headers: &HeaderMap, now: std::time::SystemTime) -> Option<i64> {
    let date = headers.get(header::DATE)?.to_str().ok()?;
    let date = httpdate::parse_http_date(date).ok()?;
    let age: u64 = headers
        .get(header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let server = date + Duration::from_secs(age.min(MAX_CLOCK_SKEW.as_secs() * 24));
    Some(match now.duration_since(server) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(behind) => -(behind.duration().as_secs() as i64),
    })
}

/// A skew as people say it: "100 days", "3 hours", "1 hour".
fn roughly(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s >= 86_400 => ((s + 43_200) / 86_400, "day"),
        s => ((s + 1_800) / 3_600, "hour"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The error for a response whose `Date` contradicts `now` by more than
/// [`MAX_CLOCK_SKEW`], if it does.
#[cfg(test)]
fn clock_error(headers: &HeaderMap, now: std::time::SystemTime) -> Option<FetchError> {
    skew_error(clock_skew(headers, now)?, headers)
}

/// The error for a response whose `Date` is `skew` seconds behind ours, if that is more
/// than [`MAX_CLOCK_SKEW`].
fn skew_error(skew: i64, headers: &HeaderMap) -> Option<FetchError> {
    if skew.unsigned_abs() <= MAX_CLOCK_SKEW.as_secs() {
        return None;
    }
    Some(FetchError::Clock {
        skew: roughly(skew.unsigned_abs()),
        direction: if skew > 0 { "ahead of" } else { "behind" },
        server: header_text(headers, header::DATE).unwrap_or_default(),
    })
}

/// One host (name and port): its requests in flight and when the next one may start.
struct Host {
    slots: Semaphore,
    pace: Mutex<Pace>,
}

#[derive(Default)]
struct Pace {
    /// The start reserved last.
    last_start: Option<Instant>,
    /// The least time between two starts: the largest any source on this host asked for.
    min_interval: Duration,
    /// No request before this: the host's quota is used up or it asked us to wait.
    hold_until: Option<Instant>,
}

impl Host {
    fn pace(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves the next start for a request that asks for `min_interval` between requests.
    fn reserve(&self, min_interval: Duration) -> Instant {
        let mut pace = self.pace();
        pace.min_interval = pace.min_interval.max(min_interval);
        let now = Instant::now();
        // From the last start by the interval as it is now: the first request of a
        // source with a rate limit, after one of a source without, is spaced too.
        let next = pace.last_start.map(|last| last + pace.min_interval);
        let start = [Some(now), next, pace.hold_until]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(now);
        pace.last_start = Some(start);
        start
    }

    /// Whether a hold was set while a request waited for its turn.
    fn held(&self) -> bool {
        self.pace().hold_until.is_some_and(|t| t > Instant::now())
    }

    /// How long the host's hold lasts still, if it is held.
    fn held_for(&self) -> Option<Duration> {
        let until = self.pace().hold_until?;
        Some(until.saturating_duration_since(Instant::now())).filter(|d| !d.is_zero())
    }

    fn hold_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut pace = self.pace();
        if pace.hold_until.is_none_or(|t| t < until) {
            pace.hold_until = Some(until);
        }
    }
}

impl Fetcher {
    pub fn new(settings: &config::Poll) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            // Followed by `fetch` itself: each hop waits for its own host's slot and pace,
            // so that feeds redirected to one host count against that host's limit.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| FetchError::Other(e.to_string()))?;
        Ok(Fetcher {
            client,
            settings: settings.clone(),
            hosts: Mutex::new(HashMap::new()),
            clock: Arc::new(ClockCheck::default()),
            holds: None,
        })
    }

    /// Keeps each host's used-up quota in `state` as it is heard, as the poller keeps a
    /// 429's wait: a restart within the wait would otherwise ask at once.
    pub fn keep_holds_in(&mut self, state: Arc<crate::state::StateDb>) {
        self.holds = Some(state);
    }

    /// `host` is held for `wait` after its quota ran out; kept where holds are kept.
    fn hold_for_quota(&self, host: &Host, url: &Url, wait: Duration) {
        host.hold_for(wait);
        let Some(state) = &self.holds else { return };
        let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        let kept = super::cpu_bound(|| state.hold_host(&host_key(url), until));
        if let Err(e) = kept {
            tracing::warn!(host = %host_key(url), error = %e, "cannot keep the host's used-up quota for after a restart");
        }
    }

    fn host(&self, url: &Url) -> Arc<Host> {
        self.host_by_key(host_key(url))
    }

    fn host_by_key(&self, key: String) -> Arc<Host> {
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        hosts
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Host {
                    slots: Semaphore::new(self.settings.max_per_host),
                    pace: Mutex::new(Pace::default()),
                })
            })
            .clone()
    }

    /// Holds `host` (name and port, as [`FetchError::RetryAfter`] names it) for `wait`: a
    /// hold it asked for before a restart.
    pub fn hold_host(&self, host: &str, wait: Duration) {
        self.host_by_key(host.to_string()).hold_for(wait);
    }

    /// Makes `min_interval` known to `url`'s host before any request: the strictest
    /// source on a host sets its pace from the first request on, whichever asks first.
    pub fn know_pace(&self, url: &Url, min_interval: Duration) {
        let host = self.host(url);
        let mut pace = host.pace();
        pace.min_interval = pace.min_interval.max(min_interval);
    }

    /// Waits until the host may be asked again: its least interval since the last
    /// request, and any hold (quota used up, `Retry-After`) set meanwhile, also one set
    /// while this request waited for a slot. `waiting` hears each wait of over a second.
    async fn wait_turn(
        &self,
        host: &Host,
        min_interval: Duration,
        waiting: &(dyn Fn(Duration) + Sync),
    ) {
        loop {
            let start = host.reserve(min_interval);
            let wait = start.saturating_duration_since(Instant::now());
            if wait > Duration::from_secs(1) {
                waiting(wait);
            }
            tokio::time::sleep_until(start).await;
            if !host.held() {
                return;
            }
        }
    }

    /// What the servers said of this machine's clock.
    pub fn clock(&self) -> Arc<ClockCheck> {
        self.clock.clone()
    }

    /// Performs `request`, waiting for its host's turn and a free slot first; `waiting`
    /// hears how long when the host's pace or a hold keeps it back (so that the source's
    /// status can say when it will really be asked).
    pub async fn fetch(
        &self,
        request: &FetchRequest,
        waiting: &(dyn Fn(Duration) + Sync),
    ) -> Result<Fetched, FetchError> {
        let mut url = request.url.clone();
        let mut headers = request_headers(request);
        for _ in 0..=self.settings.max_redirects {
            match self.fetch_hop(request, &url, &headers, waiting).await? {
                Hop::Arrived(fetched) => return Ok(fetched),
                Hop::Redirected(next) => {
                    if host_key(&next) != host_key(&url) {
                        // As reqwest's own redirects do: a token is for the host it was
                        // configured for.
                        headers.remove(header::AUTHORIZATION);
                        headers.remove(header::COOKIE);
                    }
                    url = next;
                }
            }
        }
        Err(FetchError::Redirects(self.settings.max_redirects))
    }

    /// One request of `fetch` to `url`, in its host's turn and slot.
    async fn fetch_hop(
        &self,
        request: &FetchRequest,
        url: &Url,
        headers: &HeaderMap,
        waiting: &(dyn Fn(Duration) + Sync),
    ) -> Result<Hop, FetchError> {
        let host_name = url.host_str().unwrap_or_default().to_string();
        let host = self.host(url);
        // Queued for a slot behind the requests that wait out a hold: this one cannot
        // go before the hold ends either. Said at once, and again each second while it
        // queues (a hold set after it joined the queue), keeping its place in the queue.
        let say_held = || {
            if let Some(wait) = host.held_for().filter(|w| *w > Duration::from_secs(1)) {
                waiting(wait);
            }
        };
        say_held();
        let acquire = host.slots.acquire();
        tokio::pin!(acquire);
        let _permit = loop {
            tokio::select! {
                permit = &mut acquire => {
                    break permit.map_err(|e| FetchError::Other(e.to_string()))?;
                }
                _ = tokio::time::sleep(Duration::from_secs(1)) => say_held(),
            }
        };
        // After the slot: a hold set while this request queued for it is still seen.
        self.wait_turn(&host, request.min_interval, waiting).await;
        let response = self
            .client
            .get(url.clone())
            .headers(headers.clone())
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = response.status();
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            return redirect_target(url, response.headers()).map(Hop::Redirected);
        }
        self.clock.answered();
        // Every answer with a `Date` is a verdict on our clock, whatever its status.
        let skew = clock_skew(response.headers(), std::time::SystemTime::now());
        if let Some(skew) = skew {
            self.clock
                .note(&host_name, skew.unsigned_abs() > MAX_CLOCK_SKEW.as_secs());
        }
        let quota = quota_wait(response.headers(), Utc::now())
            .map(|wait| wait.min(self.settings.backoff_max));
        if let Some(wait) = quota {
            tracing::info!(host = %host_name, wait_secs = wait.as_secs_f64(), "rate limit used up; waiting for its reset before the next request");
            self.hold_for_quota(&host, url, wait);
        }
        if status == StatusCode::NOT_MODIFIED {
            // Not modified since nothing: a server (or a cache before it) that answers
            // so would leave the source showing "ok" for good with nothing ever read.
            let conditional = headers.contains_key(reqwest::header::IF_NONE_MATCH)
                || headers.contains_key(reqwest::header::IF_MODIFIED_SINCE);
            if !conditional {
                return Err(FetchError::UnaskedNotModified);
            }
            return Ok(Hop::Arrived(Fetched::NotModified));
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            if let Some(asked) = retry_after(response.headers()).or(quota) {
                let wait = asked.min(self.settings.backoff_max);
                // Too many requests: a quota of ours at the host, so every source on it
                // waits. Unavailable: this resource is (one feed of a news site down
                // for maintenance); only its source waits, by its backoff, and the
                // others on the host ask on.
                if status == StatusCode::TOO_MANY_REQUESTS {
                    host.hold_for(wait);
                }
                return Err(FetchError::RetryAfter {
                    status: status.as_u16(),
                    asked,
                    wait,
                    host: host_key(url),
                });
            }
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
            });
        }
        if let Some(wrong) = skew.and_then(|skew| skew_error(skew, response.headers())) {
            return Err(wrong);
        }
        let headers = response.headers().clone();
        let url = response.url().clone();
        let bytes = self.read_capped(response).await?;
        Ok(Hop::Arrived(Fetched::Body(Body {
            url,
            content_type: header_text(&headers, header::CONTENT_TYPE),
            etag: header_text(&headers, header::ETAG),
            last_modified: header_text(&headers, header::LAST_MODIFIED),
            link: header_text(&headers, header::LINK),
            bytes,
        })))
    }

    /// Reads the body, refusing anything over the cap without buffering it whole.
    async fn read_capped(&self, mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let limit = self.settings.max_body_bytes;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if bytes.len() as u64 + chunk.len() as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    fn classify(&self, e: reqwest::Error) -> FetchError {
        // reqwest names the URL in its message; shown as logs may show it.
        let shown = e.url().map(crate::sources::shown_url);
        let e = e.without_url();
        let with_url = |message: String| match &shown {
            Some(url) => format!("{message} ({url})"),
            None => message,
        };
        if e.is_timeout() {
            FetchError::Timeout(self.settings.timeout)
        } else if e.is_redirect() {
            FetchError::Redirects(self.settings.max_redirects)
        } else if e.is_connect() {
            FetchError::Connect(with_url(source_chain(&e)))
        } else {
            FetchError::Other(with_url(source_chain(&e)))
        }
    }
}

/// Where one request of a fetch ended.
enum Hop {
    Arrived(Fetched),
    Redirected(Url),
}

/// The `Location` of a redirect from `from`, resolved against it; only to http(s).
fn redirect_target(from: &Url, headers: &HeaderMap) -> Result<Url, FetchError> {
    let location = header_text(headers, header::LOCATION)
        .ok_or_else(|| FetchError::Other("a redirect without a Location".into()))?;
    let target = from
        .join(&location)
        .map_err(|e| FetchError::Other(format!("a redirect to an unreadable Location ({e})")))?;
    if !matches!(target.scheme(), "http" | "https") {
        return Err(FetchError::Other(format!(
            "a redirect to a {}: address, which is not fetched",
            target.scheme()
        )));
    }
    Ok(target)
}

fn request_headers(request: &FetchRequest) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static(request.accept));
    let mut put = |name, value: &Option<String>| {
        if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name, v);
        }
    };
    put(header::IF_NONE_MATCH, &request.etag);
    put(header::IF_MODIFIED_SINCE, &request.last_modified);
    if let Some(token) = &request.auth {
        if let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
            // Kept out of reqwest's and hyper's debug output.
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
    }
    headers
}

/// How long until the quota resets, when the host says it is used up
/// (`X-RateLimit-Remaining` below 1). `X-RateLimit-Reset` is an ISO 8601 time (Mastodon),
/// seconds from now, fractions allowed (Reddit), or a Unix time (the IETF draft's
/// `RateLimit-Reset`, as Bluesky sends it).
pub fn quota_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let header = |names: [&str; 2]| {
        names
            .into_iter()
            .find_map(|n| headers.get(n).and_then(|v| v.to_str().ok()))
            .map(str::trim)
    };
    let remaining: f64 = header(["x-ratelimit-remaining", "ratelimit-remaining"])?
        .parse()
        .ok()?;
    if remaining >= 1.0 {
        return None;
    }
    let reset = header(["x-ratelimit-reset", "ratelimit-reset"])?;
    let until = |at: DateTime<Utc>| (at - now).to_std().unwrap_or_default();
    if let Some(at) = parse_time(reset) {
        return Some(until(at));
    }
    let secs: f64 = reset.parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    if secs > 1_000_000_000.0 {
        return DateTime::from_timestamp_millis((secs * 1000.0) as i64).map(until);
    }
    Some(Duration::from_secs_f64(secs))
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// The error with its causes, for a message that says what actually went wrong.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The strictest source on a host sets its pace from the first request on, even when
    /// a source without a rate limit asked first.
    #[test]
    fn a_rate_limit_spaces_the_request_after_one_without() {
        let host = Host {
            slots: Semaphore::new(2),
            pace: Mutex::new(Pace::default()),
        };
        let first = host.reserve(Duration::ZERO);
        let second = host.reserve(Duration::from_secs(3));
        let third = host.reserve(Duration::ZERO);
        assert_eq!(second - first, Duration::from_secs(3));
        assert_eq!(third - second, Duration::from_secs(3));
    }

    /// Known before any request, the strictest pace holds from the first one on, even
    /// between two sources that ask for none.
    #[test]
    fn a_pace_known_at_start_spaces_the_first_requests() {
        let fetcher = Fetcher::new(&config::Poll {
            user_agent: "webcare-test (contact: test@example.org)".into(),
            timeout: Duration::from_secs(10),
            max_body_bytes: 1 << 20,
            max_redirects: 5,
            max_per_host: 2,
            backoff_max: Duration::from_secs(3600),
            jitter: 0.0,
        })
        .unwrap();
        let url = Url::parse("https://forum.example/feed.xml").unwrap();
        fetcher.know_pace(&url, Duration::from_secs(3));
        let host = fetcher.host(&url);
        let first = host.reserve(Duration::ZERO);
        let second = host.reserve(Duration::ZERO);
        assert_eq!(second - first, Duration::from_secs(3));
    }

    #[test]
    fn a_retry_after_reads_in_whole_seconds() {
        let said = |wait| {
            FetchError::RetryAfter {
                status: 503,
                asked: wait,
                wait,
                host: String::new(),
            }
            .to_string()
        };
        assert_eq!(
            said(Duration::from_millis(14_301)),
            "HTTP 503; server asks to wait 15 seconds"
        );
        assert_eq!(
            said(Duration::from_secs(1)),
            "HTTP 503; server asks to wait 1 second"
        );
        assert_eq!(
            said(Duration::ZERO),
            "HTTP 503; its Retry-After has passed; backing off"
        );
        // What the server asked and what backoff_max lets it wait are told apart.
        let capped = FetchError::RetryAfter {
            status: 429,
            asked: Duration::from_secs(600),
            wait: Duration::from_secs(120),
            host: String::new(),
        };
        assert_eq!(
            capped.to_string(),
            "HTTP 429; server asks to wait 600 seconds; waiting 120 (backoff_max)"
        );
    }

    #[test]
    fn one_server_with_a_wrong_date_among_others_does_not_put_the_clock_in_doubt() {
        let week = Duration::from_secs(7 * 86_400);
        let clock = ClockCheck::default();
        assert!(!clock.doubted_within(week));
        clock.note("stale-cache.example", true);
        // Alone, it cannot be told from a wrong clock.
        assert_eq!(clock.doubt_within(week), Some((1, 1)));
        clock.note("nos.example", false);
        clock.note("news.google.example", false);
        assert!(!clock.doubted_within(week));
        // A wrong clock is contradicted by most servers.
        clock.note("nos.example", true);
        assert_eq!(clock.doubt_within(week), Some((2, 3)));
        // A server that agrees again counts as agreeing.
        clock.note("stale-cache.example", false);
        assert!(!clock.doubted_within(week));
        assert!(!clock.doubted_within(Duration::ZERO));
    }

    /// Servers that agreed with the clock before it jumped a hundred days agree with it no
    /// longer: the retention run waits for them to be heard again.
    #[test]
    fn agreement_from_before_a_jump_of_the_clock_does_not_count() {
        let week = Duration::from_secs(7 * 86_400);
        let clock = ClockCheck::default();
        let before_the_jump = std::time::SystemTime::now() - Duration::from_secs(100 * 86_400);
        for host in ["a.example", "b.example", "c.example"] {
            clock.note_at(host, false, before_the_jump);
        }
        clock.note("d.example", false);
        assert_eq!(clock.doubt_within(week), Some((3, 4)));
    }

    #[test]
    fn a_server_that_answered_is_heard_for_the_window() {
        let day = Duration::from_secs(86_400);
        let clock = ClockCheck::default();
        assert!(!clock.answered_within(day));
        clock.answered();
        assert!(clock.answered_within(day));
        assert!(!clock.answered_within(Duration::ZERO));
    }

    #[test]
    fn the_servers_date_and_age_against_our_clock() {
        let now = httpdate::parse_http_date("Fri, 20 Nov 2026 10:00:00 GMT").unwrap();
        let date = |date: &'static str, age: Option<&'static str>| {
            let mut h = HeaderMap::new();
            h.insert(header::DATE, HeaderValue::from_static(date));
            if let Some(age) = age {
                h.insert(header::AGE, HeaderValue::from_static(age));
            }
            h
        };
        let ahead = date("Fri, 20 Nov 2026 07:00:00 GMT", None);
        assert_eq!(clock_skew(&ahead, now), Some(3 * 3600));
        let error = clock_error(&ahead, now).unwrap().to_string();
        assert!(
            error.starts_with("this machine's clock is 3 hours ahead of the server's"),
            "{error}"
        );
        // A cached response, two and a half hours old: the server's clock is right.
        let cached = date("Fri, 20 Nov 2026 07:30:00 GMT", Some("9000"));
        assert_eq!(clock_skew(&cached, now), Some(0));
        assert!(clock_error(&cached, now).is_none());
        let behind = date("Sat, 21 Nov 2026 10:00:00 GMT", None);
        assert!(clock_error(&behind, now)
            .unwrap()
            .to_string()
            .contains("is 1 day behind the server's"));
        assert!(clock_error(&date("Fri, 20 Nov 2026 10:50:00 GMT", None), now).is_none());
        assert_eq!(clock_skew(&date("yesterday", None), now), None);
        assert_eq!(clock_skew(&HeaderMap::new(), now), None);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn quota_headers_of_mastodon_reddit_and_bluesky() {
        let now = DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        let mastodon = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "2026-11-20T10:05:00.500000Z"),
        ]);
        assert_eq!(
            quota_wait(&mastodon, now),
            Some(Duration::from_millis(300_500))
        );
        let reddit = headers(&[
            ("x-ratelimit-remaining", "0.0"),
            ("x-ratelimit-reset", "42"),
        ]);
        assert_eq!(quota_wait(&reddit, now), Some(Duration::from_secs(42)));
        let bluesky = headers(&[
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "1795168860"),
        ]);
        assert_eq!(quota_wait(&bluesky, now), Some(Duration::from_secs(60)));
        let plenty = headers(&[
            ("x-ratelimit-remaining", "299"),
            ("x-ratelimit-reset", "42"),
        ]);
        assert_eq!(quota_wait(&plenty, now), None);
        // A reset in the past: no wait.
        let past = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "2026-11-20T09:00:00Z"),
        ]);
        assert_eq!(quota_wait(&past, now), Some(Duration::ZERO));
    }

    #[test]
    fn the_token_is_sent_but_never_printed() {
        let mut request = FetchRequest::get(
            url::Url::parse("https://m.example/api").unwrap(),
            "application/json",
        );
        request.auth = Some(config::Secret::new("s3cr3t-token"));
        assert!(!format!("{request:?}").contains("s3cr3t"));
        let headers = request_headers(&request);
        let auth = &headers[header::AUTHORIZATION];
        assert!(auth.is_sensitive());
        assert_eq!(auth.to_str().unwrap(), "Bearer s3cr3t-token");
        assert!(!format!("{headers:?}").contains("s3cr3t"));
    }
}
