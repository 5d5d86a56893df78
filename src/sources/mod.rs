//! Sources: one file per platform, each turning HTTP responses into [`Mention`]s.
//!
//! The contract (see [`Source`]): a source never does I/O itself. The scheduler in
//! [`crate::poll`] owns the HTTP etiquette — intervals, conditional GET, timeouts, size
//! caps, `Retry-After`, backoff and per-host limits — and calls the source only to build
//! the next request and to parse what came back. The source returns the mentions and its
//! new *position* (ETag, cursors, last-seen ids); the scheduler saves that position only
//! in the index commit that holds the mentions, so a crash can neither lose nor
//! duplicate an item.
//!
//! Adding a platform is one file here plus one arm in [`build`].

pub mod feed;

use chrono::{DateTime, Utc};
use serde_json::Value;
use url::Url;

use crate::config::SourceConfig;
use crate::mention::Mention;

/// A source's saved position, opaque to everything but the source itself.
pub type Position = Value;

/// One HTTP GET a source wants made.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchRequest {
    pub url: Url,
    /// For conditional GET (`If-None-Match`).
    pub etag: Option<String>,
    /// For conditional GET (`If-Modified-Since`).
    pub last_modified: Option<String>,
    /// Value of the `Accept` header.
    pub accept: &'static str,
    /// State the source carries from one page of a poll to the next.
    pub context: Value,
}

impl FetchRequest {
    pub fn get(url: Url, accept: &'static str) -> FetchRequest {
        FetchRequest {
            url,
            etag: None,
            last_modified: None,
            accept,
            context: Value::Null,
        }
    }
}

/// What the scheduler got back for a [`FetchRequest`].
// One per response, moved once: boxing the body would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Fetched {
    /// 304: nothing changed since the position's ETag / Last-Modified.
    NotModified,
    Body(Body),
}

/// A successful (2xx) response, already size-capped and decompressed.
#[derive(Debug, Clone)]
pub struct Body {
    /// The URL after redirects (base for relative links).
    pub url: Url,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The `Link` header (RFC 8288), for APIs that page with it (Mastodon).
    pub link: Option<String>,
    pub bytes: Vec<u8>,
}

/// What a source made of one response.
#[derive(Debug, Default)]
pub struct Page {
    /// New mentions (items seen before are left out).
    pub mentions: Vec<Mention>,
    /// How many items the response held, new or not.
    pub items_seen: usize,
    /// Another page to fetch within this poll (paging back to the last position).
    pub next: Option<FetchRequest>,
    /// The position to save once the mentions are committed.
    pub position: Position,
}

/// Why a response could not be used. Names the field or place where it knows it.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot parse the feed: {0}")]
    Feed(String),
    #[error("unexpected response: {0}")]
    Shape(String),
}

/// A platform adapter. Implementations are pure: no I/O, no clocks but `now`.
pub trait Source: Send + Sync {
    /// The configured name (unique).
    fn name(&self) -> &str;
    /// The config `kind` this adapter serves.
    fn kind(&self) -> &'static str;
    /// The first request of a poll, given the saved position (`Value::Null` on first run).
    fn first_request(&self, position: &Position) -> FetchRequest;
    /// Turns one response into mentions, a new position and maybe a next page.
    fn parse(
        &self,
        request: &FetchRequest,
        position: &Position,
        fetched: Fetched,
        now: DateTime<Utc>,
    ) -> Result<Page, SourceError>;
}

/// Builds the adapter for a configured source; an unknown kind lists the known ones
/// (config validation refuses those first, with file and line).
pub fn build(config: &SourceConfig) -> Result<Box<dyn Source>, SourceError> {
    match config.kind.as_str() {
        "feed" => Ok(Box::new(feed::FeedSource::new(config))),
        other => Err(SourceError::Shape(format!(
            "source {:?}: unknown kind {other:?}; known kinds: {}",
            config.name,
            crate::config::SOURCE_KINDS.join(", ")
        ))),
    }
}
