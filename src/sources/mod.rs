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
//! Adding a platform is one file here plus one arm in [`build`]. The forum and platform
//! adapters share the paging in [`walk`] (newest first, back to what was seen last) and
//! the field-by-field JSON reading in [`json`]; each only says how to ask for a page and
//! how to read one.

pub mod bluesky;
pub mod discourse;
pub mod feed;
pub mod json;
pub mod lemmy;
pub mod mastodon;
pub mod reddit;
pub mod walk;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use url::Url;

use crate::config::{Secret, SourceConfig};
use crate::mention::Mention;

/// `Accept` for the platforms' JSON APIs.
pub const ACCEPT_JSON: &str = "application/json";

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
    /// Least time between two requests to this URL's host (the source's `rate_limit`).
    pub min_interval: Duration,
    /// Sent as `Authorization: Bearer …`. Prints as `[secret]`.
    pub auth: Option<Secret>,
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
            min_interval: Duration::ZERO,
            auth: None,
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
    /// Why each item that could not be read was left out.
    pub unreadable: Vec<String>,
    /// New items not delivered because they are not public or were taken down
    /// ([`walk::Item::withheld`]).
    pub withheld: usize,
    /// Another page to fetch within this poll (paging back to the last position).
    pub next: Option<FetchRequest>,
    /// The position to save once the mentions are committed.
    pub position: Position,
    /// An unfinished walk this page gave up because the server does not page back, with
    /// the time span of posts it leaves out (as [`Source::give_up`] says it).
    pub skipped: Option<String>,
}

/// Why a response could not be used. Names the field or place where it knows it.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot parse the feed: {0}")]
    Feed(String),
    #[error("unexpected response: {0}")]
    Shape(String),
    #[error("source configuration: {0}")]
    Config(String),
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
    ///
    /// `position` is the one saved before this poll; state from earlier pages of the same
    /// poll travels in `request.context`. Every page's position must be a valid place to
    /// resume: the scheduler saves the last one it got when the poll stops early (page
    /// limit, or a failure after some pages).
    fn parse(
        &self,
        request: &FetchRequest,
        position: &Position,
        fetched: Fetched,
        now: DateTime<Utc>,
    ) -> Result<Page, SourceError>;
    /// `request` was answered with HTTP `status`: where that is the platform refusing
    /// the cursor of an older page for good (Bluesky refuses cursors to anonymous
    /// searches with a 403; Discourse has no search page after the tenth, a 400), a
    /// position that gives up the unfinished walk, and a description of what is given
    /// up. Otherwise `None`: the source fails and tries again, as after any failure.
    /// Without this, the walk would start every poll with that cursor and fail there,
    /// and never read a new post again. The poll keeps the given-up position only once
    /// the newest page has been read after it.
    fn give_up(
        &self,
        _request: &FetchRequest,
        _position: &Position,
        _status: u16,
    ) -> Option<(Position, String)> {
        None
    }

    /// Pages one poll may fetch; the scheduler stops there and saves the last position.
    fn max_pages(&self) -> usize {
        crate::config::DEFAULT_MAX_PAGES
    }
}

/// Builds the adapter for a configured source; an unknown kind lists the known ones
/// (config validation refuses those first, with file and line).
pub fn build(config: &SourceConfig) -> Result<Box<dyn Source>, SourceError> {
    let settings = || walk::Walking::from_config(config);
    Ok(match config.kind.as_str() {
        "feed" => Box::new(feed::FeedSource::new(config)),
        "mastodon" => Box::new(walk::Walk::new(
            mastodon::Mastodon::new(config),
            settings(),
        )?),
        "discourse" => Box::new(walk::Walk::new(
            discourse::Discourse::new(config),
            settings(),
        )?),
        "reddit" => Box::new(walk::Walk::new(reddit::Reddit::new(config), settings())?),
        "bluesky" => Box::new(walk::Walk::new(bluesky::Bluesky::new(config), settings())?),
        "lemmy" => Box::new(walk::Walk::new(lemmy::Lemmy::new(config), settings())?),
        other => {
            return Err(SourceError::Config(format!(
                "source {:?}: unknown kind {other:?}; known kinds: {}",
                config.name,
                crate::config::SOURCE_KINDS.join(", ")
            )))
        }
    })
}

/// Query parameters whose value is a credential, by their name (lower case).
const SECRET_PARAMS: &[&str] = &[
    "key",
    "api_key",
    "apikey",
    "access_token",
    "token",
    "auth",
    "secret",
    "password",
    "sig",
    "signature",
    "client_secret",
];

/// `url` as logs and `/api/sources` show it: without a user name and password, and with
/// the values of credential parameters (`api_key=`, `token=`, …) hidden. A private
/// feed's address may carry its key.
pub fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() || shown.password().is_some() {
        let _ = shown.set_username("***");
        let _ = shown.set_password(None);
    }
    let secret = |name: &str| SECRET_PARAMS.contains(&name.to_ascii_lowercase().as_str());
    if shown.query_pairs().any(|(name, _)| secret(&name)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if secret(&name) {
                    "***".into()
                } else {
                    value.into_owned()
                };
                (name.into_owned(), value)
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.to_string()
}

/// `base` with `segments` appended to its path, each percent-encoded; a base path is
/// kept (a forum installed under `/forum`), its query and fragment are not.
pub fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// [`endpoint`] with query parameters `pairs` (form-encoded, in this order).
/// `name@instance` for an account on a federated platform, the instance being the host of
/// an address of the account (its profile, its ActivityPub id); `None` without one.
pub fn at_instance(name: &str, address: Option<&str>) -> Option<String> {
    let host = Url::parse(address?).ok()?.host_str()?.to_string();
    Some(format!("{name}@{host}"))
}

pub fn api_url(base: &Url, segments: &[&str], pairs: &[(&str, &str)]) -> Url {
    let mut url = endpoint(base, segments);
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    url
}

/// The target of relation `rel` in a `Link` header (RFC 8288), e.g. Mastodon's `next`.
pub fn link_target(link: &str, rel: &str) -> Option<Url> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().strip_prefix('<')?.split_once('>')?;
        let has_rel = params.split(';').any(|param| {
            param.split_once('=').is_some_and(|(key, value)| {
                key.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|r| r.eq_ignore_ascii_case(rel))
            })
        });
        if has_rel {
            Url::parse(target).ok()
        } else {
            None
        }
    })
}

/// The value of query parameter `name` in `url`.
pub fn query_value(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_keep_no_credentials() {
        let shown = |url: &str| shown_url(&Url::parse(url).unwrap());
        assert_eq!(
            shown(
                "http://feeduser:FeedPassw0rd@127.0.0.1:18499/feed.xml?api_key=SECRET123&lang=nl"
            ),
            "http://***@127.0.0.1:18499/feed.xml?api_key=***&lang=nl"
        );
        assert_eq!(
            shown("https://news.example/rss?q=asiel&Token=abc"),
            "https://news.example/rss?q=asiel&Token=***"
        );
        // Nothing to hide: as configured, byte for byte.
        let plain = "https://news.google.com/rss/search?q=asielzoekers+IND&hl=nl";
        assert_eq!(shown(plain), plain);
    }

    #[test]
    fn endpoint_keeps_the_base_path_and_encodes_segments() {
        let base = Url::parse("https://forum.example/community/?x=1#top").unwrap();
        assert_eq!(
            endpoint(&base, &["search.json"]).as_str(),
            "https://forum.example/community/search.json"
        );
        let base = Url::parse("https://mastodon.example").unwrap();
        assert_eq!(
            endpoint(&base, &["api", "v1", "timelines", "tag", "ter apel"]).as_str(),
            "https://mastodon.example/api/v1/timelines/tag/ter%20apel"
        );
    }

    #[test]
    fn link_header_relations() {
        let link = r#"<https://m.example/api/v1/timelines/tag/ind?max_id=109>; rel="next", <https://m.example/api/v1/timelines/tag/ind?min_id=120>; rel="prev""#;
        let next = link_target(link, "next").unwrap();
        assert_eq!(query_value(&next, "max_id").as_deref(), Some("109"));
        let prev = link_target(link, "prev").unwrap();
        assert_eq!(query_value(&prev, "min_id").as_deref(), Some("120"));
        assert!(link_target(link, "last").is_none());
        assert!(link_target("garbage", "next").is_none());
    }
}
