//! RSS 0.9x/1.0/2.0, Atom and JSON Feed, parsed by feed-rs.
//!
//! Position: the response's ETag and Last-Modified (for conditional GET) and short hashes
//! of the item ids in the last document, so an unchanged item in a changed feed is not
//! processed again. Writes are idempotent anyway; the hashes only save work.

use std::borrow::Cow;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{Body, FetchRequest, Fetched, Page, Position, Source, SourceError};
use crate::config::SourceConfig;
use crate::mention::Mention;
use crate::pipeline::extract::{any_to_text, canonical_url, html_to_text, without_tracking};

const ACCEPT: &str =
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5";
/// Items read and remembered per feed; feeds hold tens of items, an archive thousands, a
/// hostile one millions. Of a longer feed the newest are read; the rest, older, are left
/// alone, counted in the log (remembering them all would make every saved position
/// large, and reading them without remembering would read them again every poll).
const MAX_SEEN: usize = 2_000;
/// Items remembered per item in the feed: those of the last response, and as many again
/// that left it. Feeds drop items and bring them back (a search feed reshuffles its
/// results, a CDN's nodes are out of step); one remembered only while it is in the feed
/// came back as new, was analysed again and counted twice.
const REMEMBERED_PER_ITEM: usize = 2;

pub struct FeedSource {
    name: String,
    url: Url,
    lang: Option<String>,
    rate_limit: std::time::Duration,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FeedPosition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_modified: Option<String>,
    /// A short hash of the configured URL the validators came from: a source given a new
    /// URL must not send the old feed's to it (a 304 for a feed never read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    url: Option<u64>,
    #[serde(default)]
    seen: Vec<u64>,
}

impl FeedPosition {
    fn from_value(position: &Position) -> FeedPosition {
        // A position this version cannot read starts afresh: idempotent writes make that
        // safe, and refusing to poll would lose mentions.
        serde_json::from_value(position.clone()).unwrap_or_default()
    }
}

impl FeedSource {
    pub fn new(config: &SourceConfig) -> FeedSource {
        FeedSource {
            name: config.name.clone(),
            url: config.url.clone(),
            lang: config.lang.clone(),
            rate_limit: config.rate_limit,
        }
    }
}

impl Source for FeedSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "feed"
    }

    fn first_request(&self, position: &Position) -> FetchRequest {
        let mut position = FeedPosition::from_value(position);
        if position.url != Some(short_hash(self.url.as_str())) {
            // Another URL's validators (or, from before they were tied to one, unknown):
            // read this URL whole once.
            (position.etag, position.last_modified) = (None, None);
        }
        FetchRequest {
            etag: position.etag,
            last_modified: position.last_modified,
            min_interval: self.rate_limit,
            ..FetchRequest::get(self.url.clone(), ACCEPT)
        }
    }

    fn parse(
        &self,
        _: &FetchRequest,
        position: &Position,
        fetched: Fetched,
        now: DateTime<Utc>,
    ) -> Result<Page, SourceError> {
        let body = match fetched {
            Fetched::NotModified => {
                return Ok(Page {
                    position: position.clone(),
                    ..Page::default()
                })
            }
            Fetched::Body(body) => body,
        };
        let (feed, unreadable) = read_feed(&body)?;
        let old = FeedPosition::from_value(position);
        let seen_before: HashSet<u64> = old.seen.iter().copied().collect();
        let read = newest_entries(&feed.entries, MAX_SEEN);
        if read.len() < feed.entries.len() {
            tracing::warn!(
                source = %self.name,
                items = feed.entries.len(),
                read = read.len(),
                "the feed holds more items than are read; the oldest are left alone"
            );
        }
        let mut seen = Vec::with_capacity(read.len());
        let mut in_response = HashSet::with_capacity(read.len());
        let mut mentions = Vec::new();
        for entry in read {
            let id = entry_id(entry);
            let key = short_hash(&id);
            // The same item twice in one response (a guid repeated) is one item.
            if !in_response.insert(key) {
                continue;
            }
            seen.push(key);
            // Remembered by an older webcare under its guid as written, tracking tags
            // and all: no new item either.
            let as_written = (id != entry.id).then(|| short_hash(&entry.id));
            if !seen_before.contains(&key) && !as_written.is_some_and(|k| seen_before.contains(&k))
            {
                mentions.push(self.mention(&feed, entry, &id, now));
            }
        }
        // Never fewer than before: one short or empty response (a server's bad minute)
        // must not make every item new again.
        let remembered = (seen.len() * REMEMBERED_PER_ITEM)
            .max(old.seen.len())
            .min(MAX_SEEN);
        let room = remembered.saturating_sub(seen.len());
        let gone = old.seen.iter().filter(|key| !in_response.contains(key));
        seen.extend(gone.copied().take(room));
        let new_position = FeedPosition {
            etag: body.etag,
            last_modified: body.last_modified,
            url: Some(short_hash(self.url.as_str())),
            seen,
        };
        Ok(Page {
            mentions,
            items_seen: feed.entries.len() + unreadable.len(),
            unreadable,
            withheld: 0,
            next: None,
            position: serde_json::to_value(new_position).unwrap_or_default(),
            skipped: None,
        })
    }
}

/// The `most` newest of `entries` (by publication, else update time; an entry without
/// either counts as newest, as feeds put new items first), in feed order.
fn newest_entries(entries: &[Entry], most: usize) -> Vec<&Entry> {
    if entries.len() <= most {
        return entries.iter().collect();
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    // Undated first, then newest first; ties keep feed order (a stable sort).
    order.sort_by_key(|&i| {
        let time = entries[i].published.or(entries[i].updated);
        (time.is_some(), std::cmp::Reverse(time))
    });
    order.truncate(most);
    order.sort_unstable();
    order.into_iter().map(|i| &entries[i]).collect()
}

impl FeedSource {
    fn mention(&self, feed: &Feed, entry: &Entry, id: &str, now: DateTime<Utc>) -> Mention {
        let published = entry.published.or(entry.updated).unwrap_or(now);
        let mut m = Mention::new(&self.name, id, published, now);
        m.title = entry
            .title
            .as_ref()
            .map(|t| any_to_text(&t.content))
            .unwrap_or_default();
        m.text = entry_text(entry);
        m.url = entry_link(entry);
        m.lang_hint = self
            .lang
            .clone()
            .or_else(|| entry.language.clone())
            .or_else(|| feed.language.clone());
        m
    }
}

/// The entry's body: full content if present, else the summary; markup removed.
fn entry_text(entry: &Entry) -> String {
    if let Some(content) = entry.content.as_ref() {
        if let Some(body) = content.body.as_deref() {
            // JSON Feed's `content_text`, Atom's `type="text"` (also Atom content without
            // a type, where feeds put escaped HTML all the same): read as HTML only when
            // it holds a whole tag or an entity, so "a < b" and "<3" stay.
            if content.content_type.essence().to_string() == "text/plain" {
                return any_to_text(body);
            }
            return html_to_text(body);
        }
    }
    match &entry.summary {
        Some(summary) if summary.content_type.essence().to_string() == "text/plain" => {
            any_to_text(&summary.content)
        }
        Some(summary) => html_to_text(&summary.content),
        None => String::new(),
    }
}

/// The entry's public link: the `alternate` one if marked, else the first, canonicalised;
/// without any, its id where that is an http(s) address (RSS's `guid` is the item's
/// permalink unless it says `isPermaLink="false"`, and a feed may give no `link` beside it).
fn entry_link(entry: &Entry) -> Option<String> {
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("alternate"))
        .or_else(|| entry.links.first());
    match link {
        Some(link) => canonical_url(&link.href),
        None => canonical_url(entry.id.trim()),
    }
}

/// The entry's identity: the id the feed gives it (RSS `guid`, Atom `id`, JSON Feed
/// `id`), a link's tracking parameters taken off (some feeds tag their guids with a
/// `utm_campaign` of the day, which made the same article new at every poll); without
/// one, its link as canonicalised (so `utm_*` that differ from poll to poll do not make
/// it a new item) with its title (several items may link to one page:
/// a live blog, a feed that links every item home); without a link, its title, text and
/// time. Nothing but the entry itself decides, so an item keeps its id whatever else
/// comes and goes in the feed. An edited title makes a new item, which the near-duplicate
/// stage then puts in one cluster with the old.
fn entry_id(entry: &Entry) -> String {
    if !entry.id.trim().is_empty() {
        return without_tracking(&entry.id).unwrap_or_else(|| entry.id.clone());
    }
    let title = entry.title.as_ref().map_or("", |t| t.content.as_str());
    if let Some(link) = entry_link(entry) {
        return format!("link:{:016x}", short_hash(&format!("{link}\u{1f}{title}")));
    }
    let time = entry.published.or(entry.updated).map(|t| t.to_rfc3339());
    let content = format!(
        "{title}\u{1f}{}\u{1f}{}",
        entry_text(entry),
        time.unwrap_or_default()
    );
    format!("content:{:016x}", short_hash(&content))
}

fn short_hash(id: &str) -> u64 {
    let hash = blake3::hash(id.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(bytes)
}

/// Parses a response body as a feed, in whatever encoding it came.
pub fn parse_feed(body: &Body) -> Result<Feed, SourceError> {
    read_feed(body).map(|(feed, _)| feed)
}

/// [`parse_feed`], with why each item left out could not be read: a JSON Feed item with
/// a field of the wrong type (`"content_text": 123`) makes the parser refuse the whole
/// document, and the feed's other items are read one by one rather than lost with it
/// for as long as that item stays in the feed.
fn read_feed(body: &Body) -> Result<(Feed, Vec<String>), SourceError> {
    let bytes = to_parseable(&body.bytes, body.content_type.as_deref());
    let bytes = json_feed_ids_as_strings(bytes);
    let url = body.url.as_str();
    match feed_from(url, bytes.as_ref()) {
        Ok(feed) => Ok((feed, Vec::new())),
        Err(message) => json_feed_item_by_item(url, bytes.as_ref())
            .ok_or_else(|| SourceError::Feed(not_a_feed(body).unwrap_or(message))),
    }
}

/// feed-rs's reading of `bytes`, or what it says is wrong.
///
/// The parser has been seen to panic on hostile input (quick-xml on an undeclared
/// UTF-16 document); a panic here becomes this source's error instead of ending its
/// polling loop.
fn feed_from(url: &str, bytes: &[u8]) -> Result<Feed, String> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(url))
        // No id of feed-rs's making: it hashes the raw link with the title, or draws a
        // random one; [`entry_id`] decides instead.
        .id_generator(|_, _, _| String::new())
        .build();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(bytes))) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => {
            Err("the feed parser failed on this document (malformed encoding or structure)".into())
        }
    }
}

/// A JSON Feed the parser refused, read one item at a time: the feed with its items, and
/// why each other item could not be read; `None` when it is no JSON Feed whose own
/// fields read, or none of its items does (then the feed's error stands).
fn json_feed_item_by_item(url: &str, bytes: &[u8]) -> Option<(Feed, Vec<String>)> {
    let mut shell: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let items = std::mem::take(shell.get_mut("items")?.as_array_mut()?);
    let with_items = |items: Vec<serde_json::Value>| {
        let mut one = shell.clone();
        one["items"] = serde_json::Value::Array(items);
        serde_json::to_vec(&one).map_err(|e| e.to_string())
    };
    let mut feed = feed_from(url, &with_items(Vec::new()).ok()?).ok()?;
    let mut unreadable = Vec::new();
    for (n, item) in items.into_iter().enumerate() {
        match with_items(vec![item]).and_then(|doc| feed_from(url, &doc)) {
            Ok(one) => feed.entries.extend(one.entries),
            Err(e) => unreadable.push(format!("item {}: {e}", n + 1)),
        }
    }
    (!feed.entries.is_empty()).then_some((feed, unreadable))
}

/// What a body the parser refused is, when it is plainly no feed: an empty response, or
/// an HTML page served with status 200 (a login wall, a CDN's error page, a site that
/// moved), which the parser would only call "no root element".
fn not_a_feed(body: &Body) -> Option<String> {
    let bytes = body
        .bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&body.bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let from = start.unwrap_or(bytes.len());
    let head =
        String::from_utf8_lossy(&bytes[from..bytes.len().min(from + 1024)]).to_ascii_lowercase();
    let html_type = body
        .content_type
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
    // A feed's own root (however it is served) gets the parser's word on what is wrong
    // with it, whatever HTML its items hold; a page has its <html> near the top, after a
    // doctype or a comment, before any feed's root.
    let feed_root = ["<rss", "<feed", "<rdf"]
        .iter()
        .filter_map(|root| head.find(root))
        .min()
        .or_else(|| head.starts_with('{').then_some(0));
    let page_root = head.find("<html");
    let page = match (page_root, feed_root) {
        (Some(page), Some(feed)) => page < feed,
        (Some(_), None) => true,
        (None, feed) => html_type && feed.is_none(),
    };
    let other_root = match feed_root {
        None => xml_root(&head),
        Some(_) => None,
    };
    let problem = if start.is_none() {
        "the response is empty".to_string()
    } else if page {
        "expected a feed, got an HTML page".to_string()
    } else if let Some(root) = other_root {
        // A sitemap, an API's XML error: the parser would say "no root element".
        format!("expected a feed (RSS, Atom or RDF), got an XML document whose root is <{root}>")
    } else {
        return None;
    };
    Some(format!(
        "{problem} (from {}, content type {})",
        crate::sources::shown_url(&body.url),
        body.content_type.as_deref().unwrap_or("not given")
    ))
}

/// The name of the first element of `head` (lower-cased XML), past its declaration,
/// comments and doctype.
fn xml_root(head: &str) -> Option<&str> {
    let mut rest = head;
    loop {
        rest = &rest[rest.find('<')? + 1..];
        if rest.starts_with(|c: char| c.is_alphabetic()) {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(rest.len());
            return Some(&rest[..end]);
        }
    }
}

/// A JSON Feed whose item ids are numbers, with those ids as strings: the spec asks
/// readers to take them so ("101" and 101 are the same item), and feed-rs refuses them.
/// Anything else passes as it came.
fn json_feed_ids_as_strings(bytes: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    let starts_as_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !starts_as_json {
        return bytes;
    }
    let Ok(mut feed) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return bytes;
    };
    let Some(items) = feed.get_mut("items").and_then(|i| i.as_array_mut()) else {
        return bytes;
    };
    let mut changed = false;
    for item in items {
        if let Some(id) = item.get_mut("id").filter(|id| id.is_number()) {
            *id = serde_json::Value::String(id.to_string());
            changed = true;
        }
    }
    match changed.then(|| serde_json::to_vec(&feed)) {
        Some(Ok(rewritten)) => Cow::Owned(rewritten),
        _ => bytes,
    }
}

/// Bytes feed-rs can read. feed-rs (through quick-xml) honours the XML prolog's
/// `encoding`; the rest is ours: a byte-order mark, or an undeclared non-UTF-8 body whose
/// charset only the HTTP header names (windows-1252 when nothing names one, as browsers do).
pub fn to_parseable<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    let sniffed =
        encoding_rs::Encoding::for_bom(bytes).or_else(|| utf16_without_bom(bytes).map(|e| (e, 0)));
    if let Some((encoding, bom_len)) = sniffed {
        if encoding == encoding_rs::UTF_8 {
            return Cow::Borrowed(&bytes[bom_len..]);
        }
        let (text, _) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
        return Cow::Owned(strip_declared_encoding(&text).into_bytes());
    }
    if declared_encoding(bytes).is_some() || std::str::from_utf8(bytes).is_ok() {
        return Cow::Borrowed(bytes);
    }
    let encoding = content_type
        .and_then(charset_of)
        .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
        .unwrap_or(encoding_rs::WINDOWS_1252);
    let (text, _, _) = encoding.decode(bytes);
    Cow::Owned(text.into_owned().into_bytes())
}

/// UTF-16 without a byte-order mark, recognised by `<` and `?` (or any ASCII) with a
/// zero byte beside them, as the XML spec's appendix F describes.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    match bytes {
        [0, a, 0, b, ..] if a.is_ascii() && b.is_ascii() && *a != 0 => Some(encoding_rs::UTF_16BE),
        [a, 0, b, 0, ..] if a.is_ascii() && b.is_ascii() && *a != 0 => Some(encoding_rs::UTF_16LE),
        _ => None,
    }
}

fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("charset"))
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// The `encoding` of the XML declaration, if the document starts with one.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(256)];
    let head = String::from_utf8_lossy(head);
    let decl = head.trim_start().strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let after = &decl[decl.find("encoding")? + "encoding".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &after[1..];
    Some(value[..value.find(quote)?].to_string())
}

/// Removes the `encoding` pseudo-attribute of the XML declaration once the text has been
/// decoded to UTF-8, so that the parser does not decode it a second time.
fn strip_declared_encoding(text: &str) -> String {
    let trimmed = text.trim_start();
    let Some(end) = trimmed
        .strip_prefix("<?xml")
        .and_then(|rest| rest.find("?>"))
    else {
        return text.to_string();
    };
    let decl = &trimmed[..end + 5 + 2];
    let Some(start) = decl.find("encoding") else {
        return text.to_string();
    };
    let after = &decl[start..];
    let Some(q1) = after.find(['"', '\'']) else {
        return text.to_string();
    };
    let quote = &after[q1..q1 + 1];
    let Some(q2) = after[q1 + 1..].find(quote) else {
        return text.to_string();
    };
    let attr_end = start + q1 + 1 + q2 + 1;
    format!(
        "{}{}{}",
        &decl[..start],
        &decl[attr_end..],
        &trimmed[decl.len()..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(bytes: &[u8], content_type: Option<&str>) -> Body {
        Body {
            url: Url::parse("https://example.org/feed").unwrap(),
            content_type: content_type.map(str::to_string),
            etag: None,
            last_modified: None,
            link: None,
            bytes: bytes.to_vec(),
        }
    }

    const RSS: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
        <item><guid>a</guid><title>Één titel</title><description>&lt;p&gt;Hallo&lt;/p&gt;</description></item></channel></rss>"#;

    #[test]
    fn validators_go_only_to_the_url_they_came_from() {
        let source = |url: &str| FeedSource {
            url: Url::parse(url).unwrap(),
            ..feed_source("nos")
        };
        let old = source("https://example.org/old.xml");
        let fetched = Body {
            etag: Some("\"v1\"".into()),
            last_modified: Some("Mon, 30 Nov 2026 08:00:00 GMT".into()),
            ..body(RSS.as_bytes(), None)
        };
        let page = old
            .parse(
                &old.first_request(&Position::Null),
                &Position::Null,
                Fetched::Body(fetched),
                Utc::now(),
            )
            .unwrap();
        let again = old.first_request(&page.position);
        assert_eq!(again.etag.as_deref(), Some("\"v1\""));
        assert!(again.last_modified.is_some());
        let moved = source("https://example.org/new.xml").first_request(&page.position);
        assert_eq!((moved.etag, moved.last_modified), (None, None));
        // A position from before validators were tied to a URL: read whole once.
        let legacy = serde_json::json!({ "etag": "\"v1\"", "seen": [] });
        assert_eq!(old.first_request(&legacy).etag, None);
    }

    /// A feed's address that now serves a web page, or nothing, says so; a broken feed
    /// still gets the parser's word.
    #[test]
    fn a_page_that_is_no_feed_is_named_for_what_it_is() {
        let error = |bytes: &[u8], content_type| {
            parse_feed(&body(bytes, content_type))
                .err()
                .unwrap()
                .to_string()
        };
        let page = b"\n<!DOCTYPE html><html><head><title>Log in</title></head></html>";
        for content_type in [Some("text/html; charset=utf-8"), None] {
            let err = error(page, content_type);
            assert!(
                err.starts_with("cannot parse the feed: expected a feed, got an HTML page (from https://example.org/feed"),
                "{err}"
            );
        }
        assert!(error(b"  \n", None).contains("the response is empty"));
        // A broken feed whose item holds a page is still a feed; a page whose style
        // holds braces is still a page.
        let holds_page = b"<rss version=\"2.0\"><channel><item><description><![CDATA[<html><p>x</p></html>]]></description>";
        let broken = error(holds_page, Some("application/rss+xml"));
        assert!(!broken.contains("HTML page"), "{broken}");
        let styled = b"<!doctype html><head><style>p { color: red }</style></head><p>moved</p>";
        assert!(error(styled, Some("text/html")).contains("expected a feed, got an HTML page"));
        // However much blank comes first.
        let mut padded = vec![b' '; 5000];
        padded.extend_from_slice(b"<html><body>moved</body></html>");
        assert!(error(&padded, None).contains("expected a feed, got an HTML page"));
        // A comment or an XML declaration before the page: a page all the same.
        let commented = b"<!-- cdn --><?xml version=\"1.0\"?><!DOCTYPE html><html></html>";
        assert!(error(commented, None).contains("expected a feed, got an HTML page"));
        // A broken feed gets the parser's word, served as what it is or as a page.
        for content_type in [Some("application/rss+xml"), Some("text/html")] {
            let broken = error(b"<rss version=\"2.0\"><channel><item>", content_type);
            assert!(
                !broken.contains("HTML page") && !broken.contains("empty"),
                "{broken}"
            );
        }
        // XML that is no feed is named by its root.
        let sitemap = b"<?xml version=\"1.0\"?><!-- generated --><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\"><url><loc>https://x.example/</loc></url></urlset>";
        assert!(
            error(sitemap, Some("application/xml")).contains(
                "expected a feed (RSS, Atom or RDF), got an XML document whose root is <urlset>"
            ),
            "{}",
            error(sitemap, None)
        );
    }

    #[test]
    fn declared_encoding_is_read() {
        assert_eq!(
            declared_encoding(br#"<?xml version="1.0" encoding="windows-1252"?><rss/>"#).as_deref(),
            Some("windows-1252")
        );
        assert_eq!(
            declared_encoding(b"<?xml version='1.0' encoding='ISO-8859-1' ?>").as_deref(),
            Some("ISO-8859-1")
        );
        assert_eq!(declared_encoding(b"<rss/>"), None);
    }

    #[test]
    fn header_charset_decodes_undeclared_body() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(RSS);
        let feed = parse_feed(&body(
            &bytes,
            Some("application/rss+xml; charset=\"windows-1252\""),
        ))
        .unwrap();
        assert_eq!(feed.entries[0].title.as_ref().unwrap().content, "Één titel");
    }

    #[test]
    fn utf16_with_bom_is_decoded() {
        let text = RSS.replace(
            "<?xml version=\"1.0\"?>",
            "<?xml version=\"1.0\" encoding=\"utf-16\"?>",
        );
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let feed = parse_feed(&body(&bytes, None)).unwrap();
        assert_eq!(feed.entries[0].title.as_ref().unwrap().content, "Één titel");
    }

    #[test]
    fn utf16_without_bom_is_detected() {
        let text = RSS.replace(
            "<?xml version=\"1.0\"?>",
            "<?xml version=\"1.0\" encoding=\"utf-16be\"?>",
        );
        let bytes: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        let feed = parse_feed(&body(&bytes, None)).unwrap();
        assert_eq!(feed.entries[0].title.as_ref().unwrap().content, "Één titel");
    }

    fn feed_source(name: &str) -> FeedSource {
        FeedSource::new(&SourceConfig {
            name: name.into(),
            kind: "feed".into(),
            url: Url::parse("https://example.org/feed").unwrap(),
            interval: std::time::Duration::from_secs(60),
            lang: None,
            enabled: true,
            rate_limit: std::time::Duration::ZERO,
            topical: false,
            platform: Default::default(),
        })
    }

    /// The ids the source gives the items of `feed`.
    fn ids_of(feed: &str) -> Vec<String> {
        let source = feed_source("t");
        let req = source.first_request(&Position::Null);
        source
            .parse(
                &req,
                &Position::Null,
                Fetched::Body(body(feed.as_bytes(), None)),
                Utc::now(),
            )
            .unwrap()
            .mentions
            .into_iter()
            .map(|m| m.external_id)
            .collect()
    }

    #[test]
    fn items_without_a_guid_keep_one_identity() {
        let rss = |items: &str| {
            format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>")
        };
        // The link as canonicalised, with the title: other tracking tags, same item.
        let a = ids_of(&rss("<item><title>Een</title><link>https://example.org/p?id=5&amp;utm_campaign=a1</link></item>"));
        let b = ids_of(&rss("<item><title>Een</title><link>https://example.org/p?id=5&amp;utm_campaign=b2</link></item>"));
        assert!(a[0].starts_with("link:"), "{a:?}");
        assert_eq!(a, b);
        // Without a link: the title alone does not make two items one.
        let ids = ids_of(&rss(
            "<item><title>Asiel</title><description>Ter Apel vol</description></item>\
             <item><title>Asiel</title><description>Budel vol</description></item>\
             <item><description>Alleen tekst</description></item>",
        ));
        assert_eq!(ids.len(), 3);
        assert!(
            ids[0] != ids[1] && ids.iter().all(|id| id.starts_with("content:")),
            "{ids:?}"
        );
        // ... and the same item read again is the same id (not a random one).
        let again = ids_of(&rss("<item><description>Alleen tekst</description></item>"));
        assert_eq!(again, vec![ids[2].clone()]);
        // A guid, when there is one, is the id.
        assert_eq!(ids_of(RSS), vec!["a".to_string()]);
        // Nor does a link that several items share (a feed linking every item home, a
        // live blog), and an item keeps its id when another comes to share its link or
        // leaves: it stays one document.
        let alone = ids_of(&rss(
            "<item><title>Een</title><link>https://example.org/nieuws</link></item>",
        ));
        let home = ids_of(&rss(
            "<item><title>Twee</title><link>https://example.org/nieuws</link></item>\
             <item><title>Een</title><link>https://example.org/nieuws</link></item>",
        ));
        assert!(home.len() == 2 && home[0] != home[1], "{home:?}");
        assert_eq!(alone[0], home[1]);
    }

    #[test]
    fn a_json_feed_with_numbers_for_ids_is_read() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[
            {"id":101,"content_text":"Wachten op de IND"},{"id":"102","content_text":"Tolk"}]}"#;
        assert_eq!(ids_of(json), vec!["101".to_string(), "102".to_string()]);
    }

    #[test]
    fn unchanged_items_are_not_returned_twice() {
        let source = feed_source("t");
        let req = source.first_request(&Position::Null);
        let now = Utc::now();
        let first = source
            .parse(
                &req,
                &Position::Null,
                Fetched::Body(body(RSS.as_bytes(), None)),
                now,
            )
            .unwrap();
        assert_eq!(first.mentions.len(), 1);
        assert_eq!(first.mentions[0].text, "Hallo.");
        let second = source
            .parse(
                &req,
                &first.position,
                Fetched::Body(body(RSS.as_bytes(), None)),
                now,
            )
            .unwrap();
        assert_eq!((second.mentions.len(), second.items_seen), (0, 1));
    }

    #[test]
    fn of_a_very_long_feed_the_newest_items_are_read_once() {
        // Oldest first, as some archives list them: the newest are at the end.
        let items: String = (0..MAX_SEEN + 500)
            .map(|i| {
                let day = chrono::DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z").unwrap()
                    + chrono::Duration::hours(i as i64);
                format!(
                    "<item><guid>g{i}</guid><title>t{i}</title><pubDate>{}</pubDate></item>",
                    day.to_rfc2822()
                )
            })
            .collect();
        let rss = format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>x</title>{items}</channel></rss>");
        let source = feed_source("archive");
        let req = source.first_request(&Position::Null);
        let now = Utc::now();
        let parse = |position: &Position| {
            source
                .parse(
                    &req,
                    position,
                    Fetched::Body(body(rss.as_bytes(), None)),
                    now,
                )
                .unwrap()
        };
        let first = parse(&Position::Null);
        assert_eq!(first.items_seen, MAX_SEEN + 500);
        assert_eq!(first.mentions.len(), MAX_SEEN);
        assert_eq!(first.mentions[0].title, "t500");
        assert_eq!(
            first.mentions.last().unwrap().title,
            format!("t{}", MAX_SEEN + 499)
        );
        // Nothing read again on the next poll.
        assert_eq!(parse(&first.position).mentions.len(), 0);
    }

    /// An RSS feed of items with these guids (and titles).
    fn rss_of(guids: &[&str]) -> String {
        let items: String = guids
            .iter()
            .map(|g| format!("<item><guid>{g}</guid><title>{g}</title></item>"))
            .collect();
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>x</title>{items}</channel></rss>")
    }

    /// Titles of the new items each response in turn gives, each read on the position
    /// the one before left.
    fn new_items(responses: &[&[&str]]) -> Vec<Vec<String>> {
        let source = feed_source("f");
        let req = source.first_request(&Position::Null);
        let mut position = Position::Null;
        let mut out = Vec::new();
        for guids in responses {
            let rss = rss_of(guids);
            let page = source
                .parse(
                    &req,
                    &position,
                    Fetched::Body(body(rss.as_bytes(), None)),
                    Utc::now(),
                )
                .unwrap();
            out.push(page.mentions.iter().map(|m| m.title.clone()).collect());
            position = page.position;
        }
        out
    }

    #[test]
    fn an_item_that_leaves_the_feed_and_comes_back_is_not_new() {
        let got = new_items(&[
            &["c", "b", "a"],
            &["c", "a"],
            &["c", "b", "a"],
            &["d", "c", "a"],
            &["d", "c", "b", "a"],
        ]);
        let want: Vec<Vec<&str>> = vec![vec!["c", "b", "a"], vec![], vec![], vec!["d"], vec![]];
        assert_eq!(got, want);
    }

    #[test]
    fn a_feed_remembers_twice_as_many_items_as_it_holds() {
        // One item in the feed: it and one gone before it are remembered, not more.
        let got = new_items(&[&["a"], &["b"], &["c"], &["a"], &["c"], &["b"]]);
        let want: Vec<Vec<&str>> = vec![
            vec!["a"],
            vec!["b"],
            vec!["c"],
            vec!["a"],
            vec![],
            vec!["b"],
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn one_empty_response_does_not_make_every_item_new_again() {
        let got = new_items(&[&["c", "b", "a"], &[], &["c", "b", "a"]]);
        let want: Vec<Vec<&str>> = vec![vec!["c", "b", "a"], vec![], vec![]];
        assert_eq!(got, want);
    }

    #[test]
    fn an_item_twice_in_one_response_is_one_item() {
        assert_eq!(new_items(&[&["a", "a", "b"]]), vec![vec!["a", "b"]]);
    }

    #[test]
    fn a_guids_tracking_tags_do_not_make_a_new_item() {
        let day = |d: &str| format!("https://example.org/a?id=1&amp;utm_campaign={d}");
        let (one, two) = (day("d1"), day("d2"));
        let got = new_items(&[&[one.as_str()], &[two.as_str()]]);
        assert_eq!(got[0].len(), 1);
        assert!(got[1].is_empty(), "{got:?}");
        assert_eq!(
            ids_of(&rss_of(&[one.as_str()])),
            vec!["https://example.org/a?id=1"]
        );
        // Only those: what tells items apart stays.
        for guid in [
            "https://example.org/live?x=1#post-2",
            "tag:example.org,2026:7",
        ] {
            assert_eq!(ids_of(&rss_of(&[guid])), vec![guid.to_string()]);
        }
    }

    #[test]
    fn an_item_remembered_by_its_guid_as_written_is_not_new() {
        let guid = "https://example.org/a?id=1&utm_campaign=d1";
        let position = serde_json::to_value(FeedPosition {
            seen: vec![short_hash(guid)],
            ..FeedPosition::default()
        })
        .unwrap();
        let source = feed_source("f");
        let rss = rss_of(&[&guid.replace('&', "&amp;")]);
        let page = source
            .parse(
                &source.first_request(&position),
                &position,
                Fetched::Body(body(rss.as_bytes(), None)),
                Utc::now(),
            )
            .unwrap();
        assert!(page.mentions.is_empty());
        assert_eq!(page.items_seen, 1);
    }

    #[test]
    fn an_rss_guid_is_the_link_of_an_item_without_one() {
        let source = feed_source("f");
        let rss = rss_of(&["https://example.org/p?id=3&amp;utm_source=x", "abc-123"]);
        let page = source
            .parse(
                &source.first_request(&Position::Null),
                &Position::Null,
                Fetched::Body(body(rss.as_bytes(), None)),
                Utc::now(),
            )
            .unwrap();
        let urls: Vec<Option<&str>> = page.mentions.iter().map(|m| m.url.as_deref()).collect();
        assert_eq!(urls, vec![Some("https://example.org/p?id=3"), None]);
    }

    #[test]
    fn a_json_feed_item_that_cannot_be_read_loses_only_itself() {
        let feed = r#"{"version":"https://jsonfeed.org/version/1.1","title":"x","items":[
            {"id":"a","content_text":"Asielzoekers in het azc"},
            {"id":"b","content_text":123},
            {"id":"c","content_text":"Het COA en de IND"}]}"#;
        let source = feed_source("f");
        let page = source
            .parse(
                &source.first_request(&Position::Null),
                &Position::Null,
                Fetched::Body(body(feed.as_bytes(), Some("application/feed+json"))),
                Utc::now(),
            )
            .unwrap();
        let ids: Vec<&str> = page
            .mentions
            .iter()
            .map(|m| m.external_id.as_str())
            .collect();
        assert_eq!(ids, vec!["a", "c"]);
        assert_eq!(page.items_seen, 3);
        assert_eq!(page.unreadable.len(), 1, "{:?}", page.unreadable);
        assert!(
            page.unreadable[0].starts_with("item 2: "),
            "{:?}",
            page.unreadable
        );
        // With no item to read, the feed's own error stands.
        let broken = r#"{"version":"https://jsonfeed.org/version/1.1","title":"x","items":[{"id":"b","content_text":123}]}"#;
        let err = parse_feed(&body(broken.as_bytes(), None))
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid type: integer `123`"), "{err}");
    }
}
