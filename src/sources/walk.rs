//! Walking a newest-first listing back to what was seen last: the paging every forum and
//! platform adapter shares.
//!
//! Every platform lists posts newest first and pages *back* (Mastodon `max_id`, Reddit
//! `after`, Bluesky `cursor`, Discourse `before` or `page`, Lemmy `page`). A poll fetches
//! the newest page and walks back until it reaches the *mark* — the newest item of the
//! last finished walk — or, on the first run, the `backfill` horizon. When that takes more
//! pages than one poll may fetch, the position keeps the unfinished walk as a *gap*: the
//! cursor to go on from, the floor it must reach, and the newest and oldest items it has
//! delivered. The next poll finishes the gap first, then starts a new walk from the top
//! down to the gap's newest item. So:
//!
//! - a new walk delivers the items newer than the mark;
//! - a gap delivers the items newer than its floor and older than the oldest item it has
//!   delivered (listings paged by number shift as posts arrive; this skips the repeats);
//! - closing a gap moves the mark to the newest item the walk delivered.
//!
//! Every page returns a position that is a valid place to resume, so wherever the poll
//! stops — the page limit, a rate limit, an error — nothing is missed and nothing is
//! delivered twice. Items are ordered by [`Key`]: time, then id. A listing's own order of
//! items with the same time need not be ours (Reddit's whole seconds, a run of equal
//! Bluesky `indexedAt`), so each bound remembers every item it has delivered at its time
//! ([`Edge`]), and those of that time it has not are delivered whatever their ids.
//!
//! A source may walk several listings (*streams*: posts and comments, several
//! communities). Each has its own mark and gap under a label, so changing one in the
//! config starts only that one afresh; a poll visits unfinished gaps first, then every
//! stream's newest page.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::{Body, FetchRequest, Fetched, Page, Position, Source, SourceError};
use crate::config::{Secret, SourceConfig};
use crate::mention::Mention;

/// Where an item sits in a listing: its time, then its id to break ties (ids compare by
/// length first, so numeric ids sort as numbers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub at: DateTime<Utc>,
    pub id: String,
}

impl Key {
    pub fn new(at: DateTime<Utc>, id: impl Into<String>) -> Key {
        Key { at, id: id.into() }
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        self.at
            .cmp(&other.at)
            .then_with(|| self.id.len().cmp(&other.id.len()))
            .then_with(|| self.id.cmp(&other.id))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A bound of a walk (its floor, its newest or its oldest delivered item), and the other
/// items at the same time that were delivered: at that time, the listing's order says
/// nothing of which were, only these ids do. Serialised as a [`Key`] with `ties` (a
/// position saved before ties were kept reads as an edge without them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Edge {
    #[serde(flatten)]
    key: Key,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ties: Vec<String>,
}

/// Most ids an [`Edge`] remembers at its time (a listing that dates by the day); one
/// forgotten is delivered again, which the index takes as the same mention.
const MAX_TIES: usize = 500;

impl Edge {
    fn new(key: Key) -> Edge {
        Edge {
            key,
            ties: Vec::new(),
        }
    }

    /// Whether `key` is this edge's item or one delivered with it at its time.
    fn holds(&self, key: &Key) -> bool {
        key.at == self.key.at && (key.id == self.key.id || self.ties.contains(&key.id))
    }

    /// Whether `key` is at or below this edge as far as delivering goes: older, or
    /// delivered at its time.
    fn covers(&self, key: &Key) -> bool {
        key.at < self.key.at || self.holds(key)
    }

    /// Whether `key` is at or above this edge: newer, or delivered at its time.
    fn passed(&self, key: &Key) -> bool {
        key.at > self.key.at || self.holds(key)
    }

    /// Records `id` as delivered at the edge's time.
    fn tie(&mut self, id: &str) {
        if id != self.key.id && !self.ties.iter().any(|t| t == id) && self.ties.len() < MAX_TIES {
            self.ties.push(id.to_owned());
        }
    }

    /// Moves the edge to `key` when `key` is further out (`further`: `Greater` for the
    /// newest, `Less` for the oldest), or records it as a tie at the edge's time.
    fn extend(edge: &mut Option<Edge>, key: &Key, further: Ordering) {
        match edge {
            Some(e) if e.key.at == key.at => e.tie(&key.id),
            Some(e) if key.at.cmp(&e.key.at) != further => {}
            _ => *edge = Some(Edge::new(key.clone())),
        }
    }
}

/// One item of a page and where it sits.
pub struct Item {
    pub key: Key,
    pub mention: Mention,
    /// Pinned to the top of the listing out of its order (a Lemmy community's featured
    /// post): delivered when new, but it neither ends a walk nor bounds it.
    pub pinned: bool,
    /// Not public, or taken down, or its author asked not to be indexed (a Mastodon
    /// direct message a token can search, a removed Reddit post): it counts for the walk,
    /// as it sits in the listing, but is never delivered.
    pub withheld: bool,
}

/// What an adapter read from one page.
pub struct Chunk {
    /// The page's items in the listing's order (newest first).
    pub items: Vec<Item>,
    /// The cursor of the next older page; `None` at the end of the listing.
    pub next: Option<String>,
    /// Why each item that could not be read was left out ([`read_items`]).
    pub unreadable: Vec<String>,
}

/// Reads a page's items with `read` (`None`: an item the listing holds that is not a
/// post, such as a Reddit "more" marker). One broken item — a status without its id,
/// a post without its time — is left out and named, so that it does not hold the
/// source up for as long as it stays on the first page; when none of them can be read,
/// the response is not what the API documents, and that is the source's error.
pub fn read_items<V>(
    views: &[V],
    read: impl Fn(&V) -> Result<Option<Item>, SourceError>,
) -> Result<(Vec<Item>, Vec<String>), SourceError> {
    let mut items = Vec::with_capacity(views.len());
    let mut unreadable = Vec::new();
    let mut first_error = None;
    for view in views {
        match read(view) {
            Ok(item) => items.extend(item),
            Err(e) => {
                unreadable.push(e.to_string());
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if items.is_empty() => Err(e),
        _ => Ok((items, unreadable)),
    }
}

/// The settings every walking source has.
#[derive(Debug, Clone)]
pub struct Walking {
    pub backfill: Duration,
    pub max_pages: usize,
    pub rate_limit: Duration,
    pub token: Option<Secret>,
}

impl Walking {
    pub fn from_config(config: &SourceConfig) -> Walking {
        Walking {
            backfill: config.platform.backfill,
            max_pages: config.platform.max_pages.max(1),
            rate_limit: config.rate_limit,
            token: config.platform.token.clone(),
        }
    }
}

/// A platform's newest-first listings: how to ask for a page and how to read one.
pub trait Listing: Send + Sync {
    fn name(&self) -> &str;
    fn kind(&self) -> &'static str;
    /// One label per stream, stable while its config is unchanged (`r/thenetherlands/new`).
    fn streams(&self) -> &[String];
    /// The newest page of `stream` (`cursor` is `None`) or the older page at `cursor`.
    /// `floor` is the newest item already delivered, for APIs that can filter by it.
    fn request(&self, stream: usize, cursor: Option<&str>, floor: Option<&Key>) -> FetchRequest;
    /// Whether HTTP `status` to a request for an older page means the platform will
    /// never give that page ([`Source::give_up`]); by default no status does.
    fn refuses_cursor(&self, _status: u16) -> bool {
        false
    }
    /// The items of one response of `stream`, newest first, and the next older cursor.
    fn read(
        &self,
        stream: usize,
        cursor: Option<&str>,
        body: &Body,
        now: DateTime<Utc>,
    ) -> Result<Chunk, SourceError>;
}

/// The saved position: per stream label, its mark and unfinished walk.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct WalkPosition {
    #[serde(default)]
    streams: BTreeMap<String, Stream>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stream {
    /// The newest item of the last finished walk: everything down from it is delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mark: Option<Edge>,
    /// A walk that is not finished yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gap: Option<Gap>,
    /// Items delivered with a time after ours (a server clock ahead, a forged date): the
    /// mark stays at our time, so they come again on every poll until it passes them,
    /// and are not delivered twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ahead: Vec<Key>,
}

/// Most items [`Stream::ahead`] remembers (the oldest go first; one forgotten is
/// delivered again, which the index takes as the same mention).
const MAX_AHEAD: usize = 200;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Gap {
    /// The cursor of the next older page.
    cursor: String,
    /// Where the walk ends: the mark it started from, or the backfill horizon.
    floor: Edge,
    /// The newest and the oldest item the walk has delivered (none yet: a first page of
    /// only the floor's time, or of pinned posts).
    top: Edge,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    low: Option<Edge>,
    /// Whether the walk has come down to the floor's time: all that is left below is
    /// what the listing holds of that very time (the page that ended there may be
    /// followed by more of it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    at_floor: bool,
    /// What the walk's last page listed: a hash of each item's key ([`item_hashes`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    last_items: Vec<u64>,
    /// Older pages in a row that listed mostly what the page before them did
    /// ([`STALLED_PAGES`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    stalled: u32,
    /// The cursors the walk has followed, hashed, the latest last; at most
    /// [`REMEMBERED_CURSORS`]. One followed again means the server's cursors go round.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    followed: Vec<u64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Older pages in a row that list mostly (half or more) what the page before them
/// listed, after which the server is taken to ignore the page number or cursor, and the
/// walk is given up, saying what it leaves out: otherwise every later poll would begin
/// there and never read a new post again. Such a server lists its newest page every
/// time, the same posts but for the few that arrived in between. A listing paged by
/// number whose posts shift down under a burst of new ones lists posts already
/// delivered, even newer ones, for as many pages as the burst had, but each page other
/// posts than the page before it; it overlaps that page by the posts that arrived
/// between the two requests, half a page's worth twice in a row only in a flood.
const STALLED_PAGES: u32 = 2;

/// Cursors of a walk remembered to tell one followed again ([`Gap::followed`]).
const REMEMBERED_CURSORS: usize = 32;

/// A page's items (by their keys) or a cursor as a number, to tell the same again.
fn hash_of<'a>(parts: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update(b"\0");
    }
    let mut first = [0u8; 8];
    first.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// Each item's key as a number, to tell the items of one page on the next.
fn item_hashes(items: &[Item]) -> Vec<u64> {
    items
        .iter()
        .map(|i| hash_of([i.key.at.to_rfc3339().as_str(), i.key.id.as_str()]))
        .collect()
}

/// Why a walk was given up, with the time span of posts it leaves out.
fn skipped(label: &str, gap: &Gap, why: &str) -> String {
    let time = |edge: &Edge| {
        edge.key
            .at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    if gap.at_floor {
        format!(
            "{label}: posts of {} listed below the pages read, if any, are skipped: {why}",
            time(&gap.floor),
        )
    } else {
        format!(
            "{label}: the posts after {} and before {} are skipped: {why}",
            time(&gap.floor),
            time(gap.low.as_ref().unwrap_or(&gap.top)),
        )
    }
}

/// State carried from page to page within one poll, in [`FetchRequest::context`].
#[derive(Debug, Serialize, Deserialize)]
struct Progress {
    state: WalkPosition,
    /// The stream the request is for.
    stream: usize,
    /// Streams whose newest page this poll has asked for.
    fresh: Vec<usize>,
}

impl WalkPosition {
    /// The saved position; one this version cannot read starts afresh (idempotent writes
    /// make that safe), and streams no longer configured are dropped.
    fn load(position: &Position, labels: &[String]) -> WalkPosition {
        let mut state: WalkPosition = serde_json::from_value(position.clone()).unwrap_or_default();
        state.streams.retain(|label, _| labels.contains(label));
        state
    }

    fn has_gap(&self, label: &str) -> bool {
        self.streams.get(label).is_some_and(|s| s.gap.is_some())
    }

    fn to_value(&self) -> Position {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// A [`Listing`] walked as described in the module docs: the [`Source`] the platform
/// adapters are used through.
pub struct Walk<L> {
    listing: L,
    settings: Walking,
}

impl<L: Listing> Walk<L> {
    pub fn new(listing: L, settings: Walking) -> Result<Walk<L>, SourceError> {
        if listing.streams().is_empty() {
            return Err(SourceError::Config(format!(
                "source {:?}: nothing to read (no tags, query, subreddits or communities)",
                listing.name()
            )));
        }
        Ok(Walk { listing, settings })
    }

    /// The next stream to fetch this poll: an unfinished walk first, then a stream whose
    /// newest page has not been asked for yet; `None` when the poll is done.
    fn pick(&self, progress: &Progress) -> Option<usize> {
        let labels = self.listing.streams();
        (0..labels.len())
            .find(|&i| progress.state.has_gap(&labels[i]))
            .or_else(|| (0..labels.len()).find(|i| !progress.fresh.contains(i)))
    }

    /// `progress` turned to `stream`.
    fn turn_to(&self, mut progress: Progress, stream: usize) -> Progress {
        let fresh = self
            .listing
            .streams()
            .get(stream)
            .is_some_and(|label| !progress.state.has_gap(label));
        if fresh && !progress.fresh.contains(&stream) {
            progress.fresh.push(stream);
        }
        progress.stream = stream;
        progress
    }

    fn start(&self, position: &Position) -> Progress {
        let progress = Progress {
            state: WalkPosition::load(position, self.listing.streams()),
            stream: 0,
            fresh: Vec::new(),
        };
        // At the start of a poll every stream is still to do, so `pick` finds one.
        let stream = self.pick(&progress).unwrap_or(0);
        self.turn_to(progress, stream)
    }

    fn request(&self, progress: &Progress) -> FetchRequest {
        let stream = self
            .listing
            .streams()
            .get(progress.stream)
            .and_then(|label| progress.state.streams.get(label));
        let mut request = match stream {
            Some(Stream { gap: Some(gap), .. }) => {
                // The horizon is not an item: there is nothing to filter by.
                let floor = Some(&gap.floor.key).filter(|f| !f.id.is_empty());
                self.listing
                    .request(progress.stream, Some(gap.cursor.as_str()), floor)
            }
            Some(Stream { mark, .. }) => {
                let floor = mark.as_ref().map(|m| &m.key);
                self.listing.request(progress.stream, None, floor)
            }
            None => self.listing.request(progress.stream, None, None),
        };
        request.min_interval = self.settings.rate_limit;
        request.auth = self.settings.token.clone();
        request.context = serde_json::to_value(progress).unwrap_or_default();
        request
    }

    fn horizon(&self, now: DateTime<Utc>) -> Edge {
        let back = TimeDelta::from_std(self.settings.backfill).unwrap_or(TimeDelta::MAX);
        let at = now
            .checked_sub_signed(back)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        Edge::new(Key::new(at, ""))
    }
}

impl<L: Listing> Source for Walk<L> {
    fn name(&self) -> &str {
        self.listing.name()
    }

    fn kind(&self) -> &'static str {
        self.listing.kind()
    }

    fn max_pages(&self) -> usize {
        self.settings.max_pages
    }

    fn first_request(&self, position: &Position) -> FetchRequest {
        self.request(&self.start(position))
    }

    fn give_up(
        &self,
        request: &FetchRequest,
        position: &Position,
        status: u16,
    ) -> Option<(Position, String)> {
        if !self.listing.refuses_cursor(status) {
            return None;
        }
        let mut progress: Progress = serde_json::from_value(request.context.clone())
            .unwrap_or_else(|_| self.start(position));
        let label = self.listing.streams().get(progress.stream)?.clone();
        let stream = progress.state.streams.get_mut(&label)?;
        let gap = stream.gap.take()?;
        // Closed as a finished walk is, the items between its floor and its oldest
        // delivered item left out.
        let given_up = skipped(&label, &gap, "the server refused the older page");
        stream.finish(Some(gap.top), Utc::now());
        remember_ahead(stream, Vec::new());
        Some((progress.state.to_value(), given_up))
    }

    fn parse(
        &self,
        request: &FetchRequest,
        position: &Position,
        fetched: Fetched,
        now: DateTime<Utc>,
    ) -> Result<Page, SourceError> {
        let mut progress: Progress = serde_json::from_value(request.context.clone())
            .unwrap_or_else(|_| self.start(position));
        let Some(label) = self.listing.streams().get(progress.stream).cloned() else {
            return Err(SourceError::Config(format!(
                "{}: no stream {}",
                self.listing.kind(),
                progress.stream
            )));
        };
        let body = match fetched {
            Fetched::Body(body) => body,
            // These APIs are not asked conditionally; a 304 would change nothing.
            Fetched::NotModified => {
                return Ok(Page {
                    position: progress.state.to_value(),
                    ..Page::default()
                })
            }
        };
        let mut stream = progress.state.streams.remove(&label).unwrap_or_default();
        let cursor = stream.gap.as_ref().map(|g| g.cursor.clone());
        let mut chunk = self
            .listing
            .read(progress.stream, cursor.as_deref(), &body, now)?;
        let items_seen = chunk.items.len() + chunk.unreadable.len();
        let unreadable = std::mem::take(&mut chunk.unreadable);
        let (mentions, withheld, given_up) = advance(&mut stream, chunk, self.horizon(now), now);
        let skipped = given_up.map(|(gap, why)| skipped(&label, &gap, why));
        progress.state.streams.insert(label, stream);
        let position = progress.state.to_value();
        let next = self
            .pick(&progress)
            .map(|s| self.request(&self.turn_to(progress, s)));
        Ok(Page {
            mentions,
            items_seen,
            unreadable,
            withheld,
            next,
            position,
            skipped,
        })
    }
}

/// Moves one stream's walk on by one page and returns the items it delivers, how many
/// new ones it withheld, and the walk it gave up (with why) when the server does not
/// page back.
///
/// Items keep the times the platform gives them, even in the future (a server clock
/// ahead of ours): pages and polls then agree where each sits. Only items dated up to
/// `now` raise the mark: a time in the future (a wrong clock, a forged date) must not
/// become what everything published after it is measured against, and neither may our
/// clock, which would pass every post written earlier that the server lists late. Items
/// dated after `now` then come again until our clock passes them; the stream remembers
/// them as delivered ([`Stream::ahead`]), so none is skipped and none delivered twice.
fn advance(
    stream: &mut Stream,
    chunk: Chunk,
    horizon: Edge,
    now: DateTime<Utc>,
) -> (Vec<Mention>, usize, Option<(Gap, &'static str)>) {
    let walk = stream.gap.take();
    let stalled = walk.as_ref().map_or(0, |g| g.stalled);
    let last_items = walk
        .as_ref()
        .map(|g| g.last_items.clone())
        .unwrap_or_default();
    let mut followed = walk
        .as_ref()
        .map(|g| g.followed.clone())
        .unwrap_or_default();
    let this_page = item_hashes(&chunk.items);
    let again = this_page.iter().filter(|h| last_items.contains(h)).count();
    let mostly_again = !this_page.is_empty() && again * 2 >= this_page.len();
    let requested = walk.as_ref().map(|g| g.cursor.clone());
    let floor = match (&walk, &stream.mark) {
        (Some(gap), _) => gap.floor.clone(),
        (None, Some(mark)) => mark.clone(),
        (None, None) => horizon,
    };
    // In a gap, what is not older than the walk's oldest item was delivered already.
    let below = walk.as_ref().and_then(|g| g.low.clone());
    let (mut top, mut low, mut at_floor) = match walk {
        Some(gap) => (Some(gap.top), gap.low, gap.at_floor),
        None => (None, None, false),
    };
    let mut reached = chunk.items.is_empty();
    let mut mentions = Vec::new();
    let mut withheld = 0;
    let mut ahead = Vec::new();
    for item in chunk.items {
        // Delivered on an earlier poll, or not to be delivered at all: it counts for the
        // walk, but is not delivered (again).
        let again = stream.ahead.contains(&item.key);
        let mut deliver = |item: Item| {
            if again {
                return;
            }
            if item.withheld {
                withheld += 1;
                return;
            }
            if item.key.at > now {
                ahead.push(item.key.clone());
            }
            mentions.push(item.mention);
        };
        let known = floor.covers(&item.key) || below.as_ref().is_some_and(|b| b.passed(&item.key));
        // An item dated after our clock does not raise the mark (it is remembered in
        // `ahead` instead): a mark at our clock would pass every post written before it
        // that the server lists late (federation, a moderation queue), and a post dated
        // in the year 3001 would hold it there for ever.
        let mark_may_rise = item.key.at <= now;
        if item.pinned {
            // Out of order: an old pinned post on top says nothing of what follows it,
            // and its time must not become the lower bound that skips newer posts below
            // it. A new one is delivered, and as the newest raises the mark like any.
            if !known {
                if mark_may_rise {
                    Edge::extend(&mut top, &item.key, Ordering::Greater);
                }
                deliver(item);
            }
            continue;
        }
        // Only an item older than the floor ends the walk: one at the floor's time may
        // be followed by others of that time that were not delivered.
        if item.key.at < floor.key.at {
            reached = true;
        }
        at_floor |= item.key.at == floor.key.at;
        if known {
            continue;
        }
        if mark_may_rise {
            Edge::extend(&mut top, &item.key, Ordering::Greater);
        }
        Edge::extend(&mut low, &item.key, Ordering::Less);
        deliver(item);
    }
    let mut given_up = None;
    match chunk.next {
        Some(cursor) if !reached => {
            let stalled = match &requested {
                Some(_) if mostly_again => stalled + 1,
                _ => 0,
            };
            let next_cursor = hash_of([cursor.as_str()]);
            let circle = followed.contains(&next_cursor);
            followed.push(next_cursor);
            if followed.len() > REMEMBERED_CURSORS {
                followed.remove(0);
            }
            let gap = Gap {
                // Only items dated ahead so far, or none new yet (a page of the floor's
                // time): the mark stays where it was.
                top: top.unwrap_or_else(|| floor.clone()),
                low,
                floor,
                at_floor,
                last_items: this_page,
                stalled,
                followed,
                cursor,
            };
            // A server that hands back the cursor it was asked for, or pages that go
            // round, would hold the walk there for ever and the newest posts would never
            // be read again: the walk ends there instead, and says what it leaves out.
            let why = if requested.as_ref() == Some(&gap.cursor) {
                Some("the server answered the older page with the cursor it was asked for")
            } else if circle {
                Some("the server's older pages lead back to one read before (its cursors go round in a circle)")
            } else if stalled >= STALLED_PAGES {
                Some("the server listed mostly the same posts again for older pages (it does not page back)")
            } else {
                None
            };
            match why {
                Some(why) => {
                    stream.finish(Some(gap.top.clone()), now);
                    given_up = Some((gap, why));
                }
                None => stream.gap = Some(gap),
            }
        }
        _ => stream.finish(top, now),
    }
    remember_ahead(stream, ahead);
    (mentions, withheld, given_up)
}

impl Stream {
    /// A walk finished: everything from its floor up to `top` is delivered, and the mark
    /// moves there. (A gap saved by an older version may hold a top ahead of our clock.)
    fn finish(&mut self, top: Option<Edge>, now: DateTime<Utc>) {
        let Some(mut top) = top else { return };
        if top.key.at > now {
            top = Edge::new(Key::new(now, ""));
        }
        match &mut self.mark {
            Some(mark) if mark.key.at == top.key.at => {
                for id in std::iter::once(&top.key.id).chain(&top.ties) {
                    mark.tie(id);
                }
            }
            Some(mark) if mark.key.at > top.key.at => {}
            _ => self.mark = Some(top),
        }
    }
}

/// Adds the items just delivered ahead of our clock to those remembered, and forgets
/// those the mark has passed (the walk stops there now).
fn remember_ahead(stream: &mut Stream, delivered: Vec<Key>) {
    stream.ahead.extend(delivered);
    let mark = stream.mark.clone();
    stream
        .ahead
        .retain(|k| mark.as_ref().is_none_or(|m| !m.covers(k)));
    stream.ahead.sort();
    stream.ahead.dedup();
    if stream.ahead.len() > MAX_AHEAD {
        let drop = stream.ahead.len() - MAX_AHEAD;
        stream.ahead.drain(..drop);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
    use std::sync::Mutex;

    use super::*;

    /// A listing over an in-memory list, paged by offset like Lemmy's page numbers (so
    /// new posts shift older ones to later pages).
    struct Fake {
        labels: Vec<String>,
        page: usize,
        /// Per stream, newest first.
        posts: Mutex<Vec<Vec<Key>>>,
        /// A post pinned on top of every stream's first page, as Lemmy lists featured
        /// posts.
        pinned: Mutex<Option<Key>>,
        /// A broken server's: the same next cursor whatever was asked.
        stuck: Option<String>,
        /// Another broken server's (a proxy that drops the query): the newest page
        /// whatever the cursor, with the next cursor as if it had paged.
        ignores_cursor: bool,
        /// And another's: next cursors that go round, modulo this offset.
        round: Option<usize>,
        /// Lists the posts of one time lowest id first, against our order.
        lowest_first: bool,
        /// Posts listed but not to be delivered (taken down, not public).
        withheld: Mutex<Vec<String>>,
        /// Entries on every page that cannot be read as posts.
        unreadable: usize,
        /// The HTTP status with which the server refuses an older page, if any.
        refuses: Option<u16>,
        /// Pages read.
        reads: AtomicUsize,
    }

    impl Fake {
        fn new(streams: usize, page: usize) -> Fake {
            Fake {
                labels: (0..streams).map(|i| format!("s{i}")).collect(),
                page,
                posts: Mutex::new(vec![Vec::new(); streams]),
                pinned: Mutex::new(None),
                stuck: None,
                ignores_cursor: false,
                round: None,
                lowest_first: false,
                withheld: Mutex::new(Vec::new()),
                unreadable: 0,
                refuses: None,
                reads: AtomicUsize::new(0),
            }
        }

        /// Takes post `id` off `stream` (deleted by its author).
        fn unpublish(&self, stream: usize, id: &str) {
            self.posts.lock().unwrap()[stream].retain(|key| key.id != id);
        }

        fn reads(&self) -> usize {
            self.reads.load(AtomicOrdering::SeqCst)
        }

        /// Adds posts `ids` to `stream`, a minute apart, the last one at `until`.
        fn publish(&self, stream: usize, ids: std::ops::Range<u32>, until: DateTime<Utc>) {
            let mut posts = self.posts.lock().unwrap();
            let last = i64::from(ids.end) - 1;
            for id in ids {
                let at = until - TimeDelta::minutes(last - i64::from(id));
                posts[stream].push(Key::new(at, format!("{stream}-{id}")));
            }
            self.order(&mut posts[stream]);
        }

        /// Adds posts `ids` to `stream`, all at `at`.
        fn publish_together(&self, stream: usize, ids: std::ops::Range<u32>, at: DateTime<Utc>) {
            let mut posts = self.posts.lock().unwrap();
            posts[stream].extend(ids.map(|id| Key::new(at, format!("{stream}-{id}"))));
            self.order(&mut posts[stream]);
        }

        /// Newest first, the posts of one time in our order or against it.
        fn order(&self, posts: &mut [Key]) {
            posts.sort_by(|a, b| match b.at.cmp(&a.at) {
                Ordering::Equal if self.lowest_first => a.cmp(b),
                Ordering::Equal => b.cmp(a),
                by_time => by_time,
            });
        }
    }

    impl Listing for Fake {
        fn name(&self) -> &str {
            "fake"
        }
        fn kind(&self) -> &'static str {
            "fake"
        }
        fn streams(&self) -> &[String] {
            &self.labels
        }
        fn request(
            &self,
            stream: usize,
            cursor: Option<&str>,
            floor: Option<&Key>,
        ) -> FetchRequest {
            let mut url = format!("http://fake/{stream}?offset={}", cursor.unwrap_or("0"));
            if let Some(floor) = floor {
                url.push_str(&format!("&since={}", floor.id));
            }
            FetchRequest::get(url::Url::parse(&url).unwrap(), "application/json")
        }
        fn refuses_cursor(&self, status: u16) -> bool {
            self.refuses == Some(status)
        }
        fn read(
            &self,
            stream: usize,
            cursor: Option<&str>,
            _: &Body,
            now: DateTime<Utc>,
        ) -> Result<Chunk, SourceError> {
            self.reads.fetch_add(1, AtomicOrdering::SeqCst);
            let asked: usize = cursor.map_or(0, |c| c.parse().unwrap());
            let offset = if self.ignores_cursor { 0 } else { asked };
            let posts = self.posts.lock().unwrap();
            let withheld = self.withheld.lock().unwrap();
            let item = |key: &Key, pinned| Item {
                key: key.clone(),
                mention: Mention::new("fake", &key.id, key.at, now),
                pinned,
                withheld: withheld.contains(&key.id),
            };
            let pinned = self.pinned.lock().unwrap();
            let items: Vec<Item> = pinned
                .iter()
                .filter(|_| offset == 0)
                .map(|key| item(key, true))
                .chain(
                    posts[stream]
                        .iter()
                        .skip(offset)
                        .take(self.page)
                        .map(|key| item(key, false)),
                )
                .collect();
            let next = (asked + items.len() < posts[stream].len())
                .then(|| ((asked + self.page) % self.round.unwrap_or(usize::MAX)).to_string())
                .map(|next| self.stuck.clone().unwrap_or(next));
            Ok(Chunk {
                items,
                next,
                unreadable: vec!["an entry without its id".into(); self.unreadable],
            })
        }
    }

    fn body() -> Body {
        Body {
            url: url::Url::parse("http://fake/").unwrap(),
            content_type: None,
            etag: None,
            last_modified: None,
            link: None,
            bytes: Vec::new(),
        }
    }

    fn walk(fake: Fake, max_pages: usize, backfill_hours: u64) -> Walk<Fake> {
        let settings = Walking {
            backfill: Duration::from_secs(backfill_hours * 3600),
            max_pages,
            rate_limit: Duration::ZERO,
            token: None,
        };
        Walk::new(fake, settings).unwrap()
    }

    /// One poll as the scheduler runs it; returns the delivered ids and the new position.
    fn poll(source: &dyn Source, saved: &Position, now: DateTime<Utc>) -> (Vec<String>, Position) {
        poll_over_time(source, saved, now, TimeDelta::zero())
    }

    /// [`poll`] with the clock moving on by `step` from page to page.
    fn poll_over_time(
        source: &dyn Source,
        saved: &Position,
        now: DateTime<Utc>,
        step: TimeDelta,
    ) -> (Vec<String>, Position) {
        let (ids, position, _) = poll_telling_skips(source, saved, now, step);
        (ids, position)
    }

    /// [`poll_over_time`], and what each walk it gave up left out.
    fn poll_telling_skips(
        source: &dyn Source,
        saved: &Position,
        now: DateTime<Utc>,
        step: TimeDelta,
    ) -> (Vec<String>, Position, Vec<String>) {
        let mut request = source.first_request(saved);
        let (mut ids, mut pages, mut skips) = (Vec::new(), 0, Vec::new());
        loop {
            let at = now + step * i32::try_from(pages).unwrap();
            let page = source
                .parse(&request, saved, Fetched::Body(body()), at)
                .unwrap();
            pages += 1;
            ids.extend(page.mentions.into_iter().map(|m| m.external_id));
            skips.extend(page.skipped);
            match page.next {
                Some(next) if pages < source.max_pages() => request = next,
                _ => return (ids, page.position, skips),
            }
        }
    }

    fn sorted(mut ids: Vec<String>) -> Vec<String> {
        ids.sort();
        ids
    }

    #[test]
    fn first_run_reaches_back_to_the_backfill_horizon_only() {
        let now = Utc::now();
        let fake = Fake::new(1, 50);
        // Posts 0..1000 a minute apart, the newest just before now: the 600 of the last
        // 10 hours are within the horizon.
        fake.publish(0, 0..1000, now - TimeDelta::seconds(30));
        let source = walk(fake, 50, 10);
        let (ids, _) = poll(&source, &Position::Null, now);
        assert_eq!(ids.len(), 600, "{:?}", &ids[..5]);
        assert_eq!(ids[0], "0-999");
    }

    #[test]
    fn a_burst_beyond_the_page_limit_is_delivered_over_polls_exactly_once() {
        let now = Utc::now();
        let fake = Fake::new(1, 5);
        fake.publish(0, 0..3, now - TimeDelta::hours(20));
        let source = walk(fake, 2, 48);
        let (first, mut position) = poll(&source, &Position::Null, now);
        assert_eq!(first.len(), 3);
        // 37 new posts: 2 pages of 5 per poll, so four polls to catch up — and 4 more
        // arrive while the gap is being filled.
        source
            .listing
            .publish(0, 100..137, now - TimeDelta::hours(2));
        let mut delivered = Vec::new();
        for round in 0..8 {
            if round == 1 {
                source
                    .listing
                    .publish(0, 200..204, now - TimeDelta::minutes(1));
            }
            let (ids, next) = poll(&source, &position, now);
            delivered.extend(ids);
            position = next;
        }
        let mut expected: Vec<String> = (100..137).map(|i| format!("0-{i}")).collect();
        expected.extend((200..204).map(|i| format!("0-{i}")));
        assert_eq!(sorted(delivered), sorted(expected));
        // Caught up: the next poll delivers nothing and changes nothing.
        let (ids, again) = poll(&source, &position, now);
        assert!(ids.is_empty());
        assert_eq!(again, position);
    }

    #[test]
    fn every_stream_is_walked_and_an_open_gap_goes_first() {
        let now = Utc::now();
        let fake = Fake::new(2, 5);
        fake.publish(0, 0..12, now - TimeDelta::minutes(5));
        fake.publish(1, 0..3, now - TimeDelta::minutes(5));
        let source = walk(fake, 2, 48);
        // Stream 0 needs 3 pages: the limit stops it with a gap; stream 1 waits.
        let (ids, position) = poll(&source, &Position::Null, now);
        assert_eq!(ids.len(), 10);
        assert!(position["streams"]["s0"]["gap"].is_object(), "{position}");
        // Next poll: the gap first (2 left), then stream 0's top, then stream 1.
        let (ids, position) = poll(&source, &position, now);
        assert_eq!(sorted(ids), vec!["0-0", "0-1"]);
        let (ids, position) = poll(&source, &position, now);
        assert_eq!(ids.len(), 3);
        assert!(position["streams"]["s1"]["mark"].is_object(), "{position}");
    }

    #[test]
    fn posts_dated_in_the_future_are_all_delivered_over_pages_and_polls() {
        let now = Utc::now();
        let fake = Fake::new(1, 5);
        fake.publish(0, 0..3, now - TimeDelta::hours(1));
        let source = walk(fake, 2, 48);
        let (first, position) = poll(&source, &Position::Null, now);
        assert_eq!(first.len(), 3);
        // A server clock ten minutes ahead: 17 posts "from the future", over four pages
        // while our clock moves on a second a page and a minute a poll.
        source
            .listing
            .publish(0, 100..117, now + TimeDelta::minutes(10));
        let mut delivered = Vec::new();
        let mut position = position;
        for round in 1..5 {
            let at = now + TimeDelta::minutes(round);
            let (ids, next) = poll_over_time(&source, &position, at, TimeDelta::seconds(1));
            delivered.extend(ids);
            position = next;
        }
        // Each once, though still ahead of our clock on later polls; none lost.
        let expected: Vec<String> = (100..117).map(|i| format!("0-{i}")).collect();
        assert_eq!(sorted(delivered), sorted(expected));
        // Once our clock has passed them, nothing more, and nothing is left remembered.
        let later = now + TimeDelta::minutes(30);
        let (ids, position) = poll(&source, &position, later);
        assert!(ids.is_empty(), "{ids:?}");
        let (ids, position) = poll(&source, &position, later);
        assert!(ids.is_empty(), "{ids:?}");
        assert!(
            position["streams"]["s0"].get("ahead").is_none(),
            "{position}"
        );
    }

    #[test]
    fn a_post_dated_far_ahead_does_not_hide_those_that_follow() {
        let now = Utc::now();
        let fake = Fake::new(1, 5);
        fake.publish(0, 0..2, now - TimeDelta::hours(1));
        fake.publish(0, 2..3, now + TimeDelta::days(365 * 100));
        let source = walk(fake, 2, 48);
        let (first, position) = poll(&source, &Position::Null, now);
        assert_eq!(first.len(), 3);
        source
            .listing
            .publish(0, 10..12, now + TimeDelta::minutes(1));
        let (ids, position) = poll(&source, &position, now + TimeDelta::minutes(2));
        assert_eq!(sorted(ids), vec!["0-10", "0-11"], "the far one not again");
        let (ids, _) = poll(&source, &position, now + TimeDelta::minutes(3));
        assert!(ids.is_empty(), "{ids:?}");
    }

    #[test]
    fn a_post_dated_ahead_does_not_make_the_walk_deaf_to_posts_listed_late() {
        let now = Utc::now();
        let fake = Fake::new(1, 5);
        fake.publish(0, 0..2, now - TimeDelta::hours(1));
        fake.publish(0, 2..3, now + TimeDelta::days(365 * 900));
        let source = walk(fake, 2, 48);
        let (first, position) = poll(&source, &Position::Null, now);
        assert_eq!(first.len(), 3);
        // Written a minute before that poll, listed by the server only after it
        // (federation, a moderation queue): the mark is not our clock.
        source
            .listing
            .publish(0, 10..11, now - TimeDelta::minutes(1));
        let (ids, position) = poll(&source, &position, now + TimeDelta::minutes(5));
        assert_eq!(ids, vec!["0-10"]);
        let (ids, _) = poll(&source, &position, now + TimeDelta::minutes(6));
        assert!(ids.is_empty(), "{ids:?}");
    }

    #[test]
    fn a_pinned_post_on_top_neither_ends_the_walk_nor_comes_twice() {
        let now = Utc::now();
        let ids = |range: std::ops::Range<u32>| -> Vec<String> {
            sorted(range.map(|i| format!("0-{i}")).collect())
        };
        let fake = Fake::new(1, 2);
        // Pinned long before the backfill horizon, above 7 posts of the last hours.
        *fake.pinned.lock().unwrap() = Some(Key::new(now - TimeDelta::days(90), "pin"));
        fake.publish(0, 0..7, now - TimeDelta::minutes(1));
        let source = walk(fake, 10, 24);
        let (got, position) = poll(&source, &Position::Null, now);
        assert_eq!(sorted(got), ids(0..7));
        // New posts under the pin: all of them, once.
        let later = now + TimeDelta::minutes(30);
        source
            .listing
            .publish(0, 7..12, later - TimeDelta::minutes(1));
        let (got, position) = poll(&source, &position, later);
        assert_eq!(sorted(got), ids(7..12));
        // A newly pinned post is delivered once, and what follows it still is.
        let pin = Key::new(later, "pin2");
        *source.listing.pinned.lock().unwrap() = Some(pin);
        let latest = later + TimeDelta::minutes(10);
        source
            .listing
            .publish(0, 12..14, latest - TimeDelta::minutes(1));
        let (got, position) = poll(&source, &position, latest);
        assert_eq!(
            sorted(got),
            sorted(vec!["0-12".into(), "0-13".into(), "pin2".into()])
        );
        let (got, _) = poll(&source, &position, latest);
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_cursor_that_does_not_move_ends_the_walk() {
        let now = Utc::now();
        let mut fake = Fake::new(1, 2);
        fake.stuck = Some("2".into());
        fake.publish(0, 0..9, now - TimeDelta::minutes(1));
        let source = walk(fake, 5, 24);
        let (got, position, skips) =
            poll_telling_skips(&source, &Position::Null, now, TimeDelta::zero());
        assert_eq!(sorted(got), vec!["0-5", "0-6", "0-7", "0-8"]);
        // What it left out is said, as for a refused cursor.
        assert_eq!(skips.len(), 1, "{skips:?}");
        assert!(
            skips[0].starts_with("s0: the posts after ")
                && skips[0].ends_with("are skipped: the server answered the older page with the cursor it was asked for"),
            "{skips:?}"
        );
        // The next poll reads the newest page again rather than the stuck cursor.
        let later = now + TimeDelta::minutes(10);
        source
            .listing
            .publish(0, 9..11, later - TimeDelta::minutes(1));
        let (got, _) = poll(&source, &position, later);
        assert_eq!(sorted(got), vec!["0-10", "0-9"]);
    }

    /// A server that ignores the cursor gives the newest page for every older one: the
    /// walk is given up after a few such pages, saying so, and later polls still read
    /// the newest posts (before, it was held on its gap for ever, reported as fine).
    #[test]
    fn a_server_that_does_not_page_back_is_not_followed_for_ever() {
        let now = Utc::now();
        let mut fake = Fake::new(1, 3);
        fake.ignores_cursor = true;
        fake.publish(0, 0..30, now - TimeDelta::minutes(1));
        let source = walk(fake, 3, 24);
        let mut position = Position::Null;
        let mut skips = Vec::new();
        let mut later = now;
        for _ in 0..4 {
            let (_, next, skipped) =
                poll_telling_skips(&source, &position, later, TimeDelta::zero());
            position = next;
            skips.extend(skipped);
            later += TimeDelta::minutes(10);
        }
        assert_eq!(skips.len(), 1, "{skips:?}");
        assert!(
            skips[0].contains("the server listed mostly the same posts again for older pages"),
            "{skips:?}"
        );
        // New posts are read, though the server still does not page.
        source
            .listing
            .publish(0, 30..32, later - TimeDelta::minutes(1));
        let (got, _) = poll(&source, &position, later);
        assert_eq!(sorted(got), vec!["0-30", "0-31"]);
    }

    /// A server that ignores the cursor while a post arrives before every request: no
    /// two pages are the same, but each lists mostly what the one before did. Given up
    /// within the poll, and what came meanwhile is read by the next walk from the top.
    #[test]
    fn a_server_that_does_not_page_back_is_caught_while_posts_trickle_in() {
        let now = Utc::now();
        let mut fake = Fake::new(1, 5);
        fake.ignores_cursor = true;
        fake.publish(0, 0..30, now - TimeDelta::hours(1));
        let source = walk(fake, 10, 24);
        let mut request = source.first_request(&Position::Null);
        let (mut delivered, mut skips, mut next_id) = (Vec::new(), Vec::new(), 30);
        let mut position = Position::Null;
        for _ in 0..10 {
            let page = source
                .parse(&request, &position, Fetched::Body(body()), now)
                .unwrap();
            delivered.extend(page.mentions.into_iter().map(|m| m.external_id));
            skips.extend(page.skipped);
            position = page.position;
            let Some(next) = page.next else { break };
            request = next;
            source
                .listing
                .publish(0, next_id..next_id + 1, now - TimeDelta::minutes(1));
            next_id += 1;
        }
        assert_eq!(skips.len(), 1, "{skips:?}");
        assert!(
            skips[0].contains("mostly the same posts again"),
            "{skips:?}"
        );
        // What arrived during the walk is read by the walk from the top.
        let later = now + TimeDelta::minutes(10);
        let (got, _) = poll(&source, &position, later);
        delivered.extend(got);
        for id in 30..next_id {
            assert!(
                delivered.contains(&format!("0-{id}")),
                "0-{id}: {delivered:?}"
            );
        }
    }

    /// Cursors that lead back to a page read before: given up at once, and said so.
    #[test]
    fn cursors_that_go_round_are_not_followed_for_ever() {
        let now = Utc::now();
        let mut fake = Fake::new(1, 3);
        fake.round = Some(9);
        fake.publish(0, 0..30, now - TimeDelta::minutes(1));
        let source = walk(fake, 10, 24);
        let (_, position, skips) =
            poll_telling_skips(&source, &Position::Null, now, TimeDelta::zero());
        assert_eq!(skips.len(), 1, "{skips:?}");
        assert!(
            skips[0].contains("its cursors go round in a circle"),
            "{skips:?}"
        );
        let later = now + TimeDelta::minutes(10);
        source
            .listing
            .publish(0, 30..32, later - TimeDelta::minutes(1));
        let (got, _) = poll(&source, &position, later);
        assert_eq!(sorted(got), vec!["0-30", "0-31"]);
    }

    /// Polls until a poll delivers nothing and leaves no walk unfinished; returns all
    /// that was delivered and the position.
    fn poll_until_quiet(
        source: &Walk<Fake>,
        mut position: Position,
        now: DateTime<Utc>,
    ) -> (Vec<String>, Position) {
        let mut delivered = Vec::new();
        for _ in 0..50 {
            let (ids, next) = poll(source, &position, now);
            let quiet = ids.is_empty() && next["streams"]["s0"].get("gap").is_none();
            delivered.extend(ids);
            position = next;
            if quiet {
                return (delivered, position);
            }
        }
        panic!("still walking after 50 polls: {position}");
    }

    /// A burst of many pages' worth of new posts while a walk paged by number is
    /// unfinished shifts the walk's posts down: its next pages list posts already
    /// delivered, newer ones even, for as many pages as the burst had. That is no server
    /// that fails to page: everything comes, once, and nothing is given up.
    #[test]
    fn a_burst_that_shifts_an_unfinished_walk_by_many_pages_loses_nothing() {
        let now = Utc::now();
        let fake = Fake::new(1, 3);
        fake.publish(0, 0..30, now - TimeDelta::hours(2));
        let source = walk(fake, 2, 48);
        let mut delivered = Vec::new();
        let (ids, mut position, skips) =
            poll_telling_skips(&source, &Position::Null, now, TimeDelta::zero());
        assert!(skips.is_empty() && position["streams"]["s0"].get("gap").is_some());
        delivered.extend(ids);
        // Seven pages' worth arrive before the next poll.
        source
            .listing
            .publish(0, 30..51, now + TimeDelta::minutes(30));
        let later = now + TimeDelta::hours(1);
        for _ in 0..60 {
            let (ids, next, skips) =
                poll_telling_skips(&source, &position, later, TimeDelta::zero());
            assert!(skips.is_empty(), "{skips:?}");
            let quiet = ids.is_empty() && next["streams"]["s0"].get("gap").is_none();
            delivered.extend(ids);
            position = next;
            if quiet {
                break;
            }
        }
        let mut expected: Vec<String> = (0..51).map(|i| format!("0-{i}")).collect();
        expected.sort();
        assert_eq!(sorted(delivered), expected);
    }

    #[test]
    fn posts_of_one_time_listed_against_our_order_all_come_across_page_breaks() {
        let now = Utc::now();
        let mut fake = Fake::new(1, 2);
        fake.lowest_first = true;
        fake.publish(0, 0..2, now - TimeDelta::hours(1));
        // One page a poll: every page break is also a break between polls.
        let source = walk(fake, 1, 48);
        let (first, position) = poll(&source, &Position::Null, now);
        assert_eq!(sorted(first), vec!["0-0", "0-1"]);
        // Seven posts of one second (Reddit's whole seconds), the lowest id listed
        // first: every page break falls inside that second.
        let second = now - TimeDelta::minutes(5);
        source.listing.publish_together(0, 10..17, second);
        let (got, position) = poll_until_quiet(&source, position, now);
        let expected: Vec<String> = (10..17).map(|i| format!("0-{i}")).collect();
        assert_eq!(sorted(got), sorted(expected));
        // Two more of that very second, listed among the others: they come, once.
        source.listing.publish_together(0, 3..5, second);
        let (got, position) = poll_until_quiet(&source, position, now);
        assert_eq!(sorted(got), vec!["0-3", "0-4"]);
        let (got, _) = poll_until_quiet(&source, position, now);
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_post_of_the_marks_time_listed_below_it_comes() {
        let now = Utc::now();
        let fake = Fake::new(1, 3);
        let second = now - TimeDelta::minutes(5);
        fake.publish(0, 0..4, second - TimeDelta::minutes(1));
        fake.publish_together(0, 20..22, second);
        let source = walk(fake, 5, 48);
        let (first, position) = poll(&source, &Position::Null, now);
        assert_eq!(first.len(), 6);
        // Of the mark's second but a lower id, so listed below the mark, on the next page
        // (our order): it is not taken for the mark's past.
        source.listing.publish_together(0, 5..6, second);
        let (got, position) = poll(&source, &position, now);
        assert_eq!(got, vec!["0-5"]);
        let (got, _) = poll(&source, &position, now);
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_position_saved_before_ties_were_kept_still_reads() {
        let now = Utc::now();
        let fake = Fake::new(1, 5);
        fake.publish(0, 0..3, now - TimeDelta::hours(1));
        let source = walk(fake, 5, 48);
        let mark = Key::new(now - TimeDelta::hours(1), "0-2");
        let low = Key::new(now - TimeDelta::hours(2), "0-1");
        let saved = serde_json::json!({"streams": {"s0": {
            "mark": mark,
            "gap": {"cursor": "5", "floor": mark, "top": mark, "low": low},
        }}});
        let state = WalkPosition::load(&saved, source.listing.streams());
        let stream = &state.streams["s0"];
        assert_eq!(stream.mark.as_ref().map(|m| &m.key), Some(&mark));
        let gap = stream.gap.as_ref().expect("the gap is kept");
        assert_eq!(gap.low.as_ref().map(|l| &l.key), Some(&low));
        assert!(gap.low.as_ref().is_some_and(|l| l.ties.is_empty()));
    }

    #[test]
    fn keys_order_by_time_then_numeric_id() {
        let t = Utc::now();
        assert!(Key::new(t, "9") < Key::new(t, "10"));
        assert!(Key::new(t, "99") < Key::new(t + TimeDelta::seconds(1), "1"));
        assert!(Key::new(t, "") < Key::new(t, "1"));
    }

    #[test]
    fn an_edge_remembers_each_tie_once_and_at_most_max_ties() {
        let t = Utc::now();
        let mut edge = Edge::new(Key::new(t, "a"));
        edge.tie("a");
        edge.tie("b");
        edge.tie("b");
        assert_eq!(edge.ties, vec!["b"], "neither its own id nor one twice");
        for i in 0..MAX_TIES + 10 {
            edge.tie(&format!("x{i}"));
        }
        assert_eq!(edge.ties.len(), MAX_TIES);
        assert_eq!(edge.ties[0], "b", "the first remembered are kept");
    }

    #[test]
    fn the_walk_is_the_listings_source() {
        let source = walk(Fake::new(1, 5), 2, 48);
        assert_eq!((source.name(), source.kind()), ("fake", "fake"));
        assert_eq!(source.max_pages(), 2);
    }

    /// A 304 (a proxy's, these APIs are not asked conditionally) changes nothing: the
    /// position stays, the walk is not started afresh from the backfill horizon.
    #[test]
    fn a_not_modified_answer_keeps_the_position() {
        let now = Utc::now();
        let fake = Fake::new(1, 5);
        fake.publish(0, 0..3, now - TimeDelta::hours(1));
        let source = walk(fake, 5, 48);
        let (_, position) = poll(&source, &Position::Null, now);
        assert!(position["streams"]["s0"]["mark"].is_object(), "{position}");
        let request = source.first_request(&position);
        let page = source
            .parse(&request, &position, Fetched::NotModified, now)
            .unwrap();
        assert!(page.mentions.is_empty() && page.next.is_none());
        assert_eq!(page.position, position);
    }

    /// What a page held is counted whole: posts new and known, entries that cannot be
    /// read, and new posts that are not to be delivered (withheld once, not again).
    #[test]
    fn a_page_counts_what_it_held_and_what_it_withheld() {
        let now = Utc::now();
        let mut fake = Fake::new(1, 5);
        fake.unreadable = 2;
        fake.publish(0, 0..3, now - TimeDelta::hours(1));
        fake.withheld.lock().unwrap().push("0-1".into());
        let source = walk(fake, 5, 48);
        let request = source.first_request(&Position::Null);
        let page = source
            .parse(&request, &Position::Null, Fetched::Body(body()), now)
            .unwrap();
        let ids: Vec<String> = page.mentions.into_iter().map(|m| m.external_id).collect();
        assert_eq!(sorted(ids), vec!["0-0", "0-2"]);
        assert_eq!((page.items_seen, page.withheld), (5, 1));
        assert_eq!(page.unreadable.len(), 2);
        // Known now, the withheld post is not counted again.
        let request = source.first_request(&page.position);
        let again = source
            .parse(&request, &page.position, Fetched::Body(body()), now)
            .unwrap();
        assert!(again.mentions.is_empty());
        assert_eq!((again.items_seen, again.withheld), (5, 0));
    }

    /// The newest item delivered is the floor the API may filter by; the backfill
    /// horizon is no item and is not sent.
    #[test]
    fn a_walk_tells_the_api_its_floor_item_and_no_horizon() {
        let now = Utc::now();
        let fake = Fake::new(1, 2);
        fake.publish(0, 0..5, now - TimeDelta::hours(1));
        let source = walk(fake, 1, 48);
        let (_, position) = poll(&source, &Position::Null, now);
        let gap = source.first_request(&position);
        assert_eq!(
            gap.url.as_str(),
            "http://fake/0?offset=2",
            "a first walk's gap"
        );
        let (_, position) = poll_until_quiet(&source, position, now);
        let mark = source.first_request(&position);
        assert_eq!(mark.url.as_str(), "http://fake/0?offset=0&since=0-4");
        // A walk from that mark left unfinished: its gap asks above the mark too.
        source
            .listing
            .publish(0, 10..15, now - TimeDelta::minutes(1));
        let (_, position) = poll(&source, &position, now);
        let gap = source.first_request(&position);
        assert_eq!(gap.url.as_str(), "http://fake/0?offset=2&since=0-4");
    }

    /// A server that refuses an older page (Bluesky's 403 beyond its search depth): the
    /// walk is closed where it is and what it leaves out is said; any other status is an
    /// error to retry, the walk kept.
    #[test]
    fn a_refused_older_page_gives_the_walk_up_and_other_statuses_keep_it() {
        let now = Utc::now();
        let mut fake = Fake::new(1, 2);
        fake.refuses = Some(403);
        fake.publish(0, 0..5, now - TimeDelta::hours(1));
        let source = walk(fake, 1, 48);
        let (first, position) = poll(&source, &Position::Null, now);
        assert_eq!(first, vec!["0-4", "0-3"]);
        let request = source.first_request(&position);
        assert_eq!(source.give_up(&request, &position, 500), None);
        let (given_up, why) = source.give_up(&request, &position, 403).unwrap();
        assert!(
            why.starts_with("s0: the posts after ")
                && why.ends_with("are skipped: the server refused the older page"),
            "{why}"
        );
        let stream = &given_up["streams"]["s0"];
        assert!(stream.get("gap").is_none(), "{given_up}");
        assert_eq!(stream["mark"]["id"], "0-4", "{given_up}");
        // The next poll reads only what is new.
        source.listing.publish(0, 5..6, now - TimeDelta::minutes(1));
        let (got, _) = poll(&source, &given_up, now);
        assert_eq!(got, vec!["0-5"]);
    }

    /// The walk stops at the first post older than its floor, also when the floor's own
    /// post is gone (deleted by its author): it does not page through the whole history.
    #[test]
    fn a_walk_ends_at_the_first_older_post_when_the_marks_post_is_gone() {
        let now = Utc::now();
        let fake = Fake::new(1, 2);
        fake.publish(0, 0..20, now - TimeDelta::hours(1));
        let source = walk(fake, 20, 48);
        let (first, position) = poll(&source, &Position::Null, now);
        assert_eq!(first.len(), 20);
        source.listing.unpublish(0, "0-19");
        source
            .listing
            .publish(0, 30..31, now - TimeDelta::minutes(1));
        let before = source.listing.reads();
        let (got, position) = poll(&source, &position, now);
        assert_eq!(got, vec!["0-30"]);
        assert_eq!(source.listing.reads() - before, 1, "one page read");
        assert!(position["streams"]["s0"].get("gap").is_none(), "{position}");
    }

    /// Posts of the floor's very time listed across page breaks below it: the walk goes
    /// on past a page that ends at that time, and they all come.
    #[test]
    fn posts_of_the_marks_time_listed_over_several_pages_below_it_come() {
        let now = Utc::now();
        let fake = Fake::new(1, 2);
        let second = now - TimeDelta::minutes(5);
        fake.publish(0, 0..4, second - TimeDelta::minutes(1));
        fake.publish_together(0, 20..22, second);
        let source = walk(fake, 10, 48);
        let (first, position) = poll(&source, &Position::Null, now);
        assert_eq!(first.len(), 6);
        // Of the mark's second, lower ids: listed below the mark's page.
        source.listing.publish_together(0, 5..8, second);
        let (got, position) = poll(&source, &position, now);
        assert_eq!(sorted(got), vec!["0-5", "0-6", "0-7"]);
        let (got, _) = poll(&source, &position, now);
        assert!(got.is_empty(), "{got:?}");
    }

    /// A walk given up at the floor's time says that only posts of that time may be
    /// left out, not a span of time.
    #[test]
    fn a_walk_given_up_at_the_floors_time_says_only_that_time_is_skipped() {
        let now = Utc::now();
        let second = now - TimeDelta::minutes(5);
        let fake = Fake::new(1, 2);
        fake.publish(0, 0..4, second - TimeDelta::minutes(1));
        fake.publish_together(0, 20..22, second);
        let mut source = walk(fake, 10, 48);
        let (_, position) = poll(&source, &Position::Null, now);
        source.listing.publish_together(0, 5..8, second);
        source.listing.stuck = Some("2".into());
        let (got, _, skips) = poll_telling_skips(&source, &position, now, TimeDelta::zero());
        assert_eq!(sorted(got), vec!["0-6", "0-7"]);
        let time = second.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert_eq!(
            skips,
            vec![format!(
                "s0: posts of {time} listed below the pages read, if any, are skipped: \
                 the server answered the older page with the cursor it was asked for"
            )]
        );
    }

    /// Cursors that go round through as many pages as are remembered are still caught.
    #[test]
    fn a_circle_of_as_many_cursors_as_are_remembered_is_caught() {
        let now = Utc::now();
        let mut fake = Fake::new(1, 1);
        fake.round = Some(REMEMBERED_CURSORS);
        fake.publish(0, 0..40, now - TimeDelta::hours(1));
        let source = walk(fake, 60, 48);
        let (_, _, skips) = poll_telling_skips(&source, &Position::Null, now, TimeDelta::zero());
        assert_eq!(skips.len(), 1, "{skips:?}");
        assert!(skips[0].contains("go round in a circle"), "{skips:?}");
        assert_eq!(source.listing.reads(), REMEMBERED_CURSORS + 1);
    }

    /// A gap saved by an older version with its newest item ahead of our clock: closing
    /// it puts the mark at our clock, not ahead, so posts written meanwhile still come.
    #[test]
    fn a_saved_walk_whose_top_is_ahead_closes_with_the_mark_at_our_clock() {
        let now = Utc::now();
        let fake = Fake::new(1, 5);
        fake.publish(0, 0..5, now - TimeDelta::hours(1));
        let source = walk(fake, 5, 48);
        let floor = Key::new(now - TimeDelta::hours(2), "0-0");
        let saved = serde_json::json!({"streams": {"s0": {
            "mark": floor,
            "gap": {"cursor": "3", "floor": floor, "top": Key::new(now + TimeDelta::days(365), "x")},
        }}});
        let (_, position) = poll(&source, &saved, now);
        let mark = &position["streams"]["s0"]["mark"];
        assert_eq!(mark["at"], serde_json::json!(now), "{position}");
        source
            .listing
            .publish(0, 10..11, now + TimeDelta::minutes(1));
        let (got, _) = poll(&source, &position, now + TimeDelta::minutes(2));
        assert_eq!(got, vec!["0-10"]);
    }

    #[test]
    fn a_finished_walk_never_moves_the_mark_back() {
        let now = Utc::now();
        let mut stream = Stream {
            mark: Some(Edge::new(Key::new(now, "new"))),
            ..Stream::default()
        };
        stream.finish(
            Some(Edge::new(Key::new(now - TimeDelta::hours(1), "old"))),
            now,
        );
        assert_eq!(stream.mark.map(|m| m.key.id), Some("new".into()));
    }

    #[test]
    fn at_most_max_ahead_posts_are_remembered_the_oldest_forgotten() {
        let now = Utc::now();
        let mut stream = Stream::default();
        let keys: Vec<Key> = (0..MAX_AHEAD + 50)
            .map(|i| Key::new(now + TimeDelta::minutes(i as i64 + 1), format!("{i}")))
            .collect();
        remember_ahead(&mut stream, keys.clone());
        assert_eq!(stream.ahead, keys[50..].to_vec());
    }
}
