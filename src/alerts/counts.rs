//! Counting complaint voices in the index, with tantivy aggregations.
//!
//! A voice is a person with a complaint: one post reposted a hundred times is one voice,
//! and so is one person posting twelve complaints in their own words; twenty people
//! describing the same problem are twenty. Each near-duplicate cluster stands for the
//! author of its earliest post in the window (who wrote what the others repost), and
//! the voices are the distinct authors so found, a cluster whose first post names no
//! author (a news item) counting as one ([`VoiceTally`]). A repost wave and one busy
//! author at the same time are two voices: counting the smaller of the distinct
//! clusters and the distinct authors, as webcare did before, took them for many. Counts
//! are per aspect, or per aspect and facet value (`interpreter@source=nos-binnenland`),
//! over a time window of publication times, read from the complaints' fast fields.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::Query;
use tantivy::schema::{TantivyDocument, Value};
use tantivy::Order;

pub(crate) use crate::search::docs::Post;
use crate::search::docs::{each_post, published_between, stored_text, stored_time};
use crate::search::{Fields, MentionIndex};

/// Voices per key in one window.
pub type VoiceCounts = BTreeMap<String, u64>;

/// The parts of an aspect count's key: the aspect, and where it is counted per facet
/// value, the facet's name and the value (`interpreter@source=forum`). A key written
/// before facets were named (`interpreter@forum`) has the value alone.
pub fn key_parts(key: &str) -> (&str, Option<&str>, Option<&str>) {
    match key.split_once('@') {
        None => (key, None, None),
        Some((aspect, facet)) => match facet.split_once('=') {
            Some((name, value)) => (aspect, Some(name), Some(value)),
            None => (aspect, None, Some(facet)),
        },
    }
}

/// A mention as the detector sees it: enough for an example and for term counting.
#[derive(Debug, Clone)]
pub struct Example {
    pub id: String,
    pub url: Option<String>,
    pub title: String,
    pub text: String,
    pub cluster: Option<String>,
    /// The author's pseudonym, where the source names one.
    pub author: Option<String>,
    pub aspects: Vec<String>,
    /// ISO 639-1, or `und`.
    pub lang: String,
    pub published: DateTime<Utc>,
}

/// complaint:true AND from <= published < to (AND aspect:… when given).
pub(crate) fn complaints_between(
    f: &Fields,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    aspect: Option<&str>,
) -> Box<dyn Query> {
    let mut exact = vec![(f.complaint, "true")];
    exact.extend(aspect.map(|a| (f.aspect, a)));
    published_between(f, from, to, &exact)
}

/// Voices of complaints per aspect (and per `facet` value when given) in `[from, to)`.
pub fn voices_per_aspect(
    index: &MentionIndex,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    facet: Option<&str>,
) -> Result<VoiceCounts, tantivy::TantivyError> {
    let (_, reader, f) = index.parts();
    let fields: Vec<&str> = std::iter::once("aspect").chain(facet).collect();
    let mut tallies: BTreeMap<String, VoiceTally> = BTreeMap::new();
    each_post(
        &reader.searcher(),
        &*complaints_between(f, from, to, None),
        &fields,
        |post, values| {
            for aspect in values.of(0) {
                match facet {
                    None => tallies.entry(aspect.to_string()).or_default().add(post),
                    Some(name) => {
                        for value in values.of(1) {
                            // Read back by [`key_parts`].
                            let key = format!("{aspect}@{name}={value}");
                            tallies.entry(key).or_default().add(post);
                        }
                    }
                }
            }
        },
    )?;
    Ok(tallies
        .into_iter()
        .map(|(key, tally)| (key, tally.voices()))
        .collect())
}

/// The people behind a set of complaints: per cluster, the earliest post and its author.
#[derive(Debug, Default)]
pub(crate) struct VoiceTally {
    first: HashMap<String, (i64, Option<String>)>,
}

impl VoiceTally {
    pub fn add(&mut self, post: &Post<'_>) {
        let author = || post.author.map(str::to_string);
        match self.first.get_mut(post.cluster) {
            // Ties in time go to the smaller author, so that a count does not depend on
            // the order the index lists its documents in. Compared borrowed: most posts
            // of a cluster are not its first.
            Some(first) if (first.0, first.1.as_deref()) <= (post.published, post.author) => {}
            Some(first) => *first = (post.published, author()),
            None => {
                self.first
                    .insert(post.cluster.to_string(), (post.published, author()));
            }
        }
    }

    /// The distinct authors who first posted a cluster, and each cluster first posted
    /// without an author.
    pub fn voices(&self) -> u64 {
        let mut authors = HashSet::new();
        let mut anonymous = 0;
        for (_, author) in self.first.values() {
            match author {
                Some(a) => {
                    authors.insert(a.as_str());
                }
                None => anonymous += 1,
            }
        }
        (authors.len() + anonymous) as u64
    }
}

/// The complaints of `[from, to)` (of one aspect when given), newest first, at most
/// `limit`, with the total.
pub fn complaints(
    index: &MentionIndex,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    aspect: Option<&str>,
    limit: usize,
) -> Result<(Vec<Example>, usize), tantivy::TantivyError> {
    let (_, reader, f) = index.parts();
    let searcher = reader.searcher();
    let query = complaints_between(f, from, to, aspect);
    let newest = TopDocs::with_limit(limit.max(1))
        .order_by_fast_field::<tantivy::DateTime>("published", Order::Desc);
    let (docs, total) = searcher.search(&*query, &(newest, Count))?;
    let mut out = Vec::with_capacity(docs.len());
    for (_, address) in docs.into_iter().take(limit) {
        let doc: TantivyDocument = searcher.doc(address)?;
        out.push(example(f, &doc));
    }
    Ok((out, total))
}

fn example(f: &Fields, doc: &TantivyDocument) -> Example {
    Example {
        id: stored_text(doc, f.id).unwrap_or_default(),
        url: stored_text(doc, f.url),
        title: stored_text(doc, f.title).unwrap_or_default(),
        text: stored_text(doc, f.text).unwrap_or_default(),
        cluster: stored_text(doc, f.cluster),
        author: stored_text(doc, f.author),
        aspects: doc
            .get_all(f.aspect)
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        lang: stored_text(doc, f.lang).unwrap_or_default(),
        published: stored_time(doc, f.published),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voices(posts: &[(&str, Option<&str>, i64)]) -> u64 {
        let mut tally = VoiceTally::default();
        for &(cluster, author, published) in posts {
            tally.add(&Post {
                cluster,
                author,
                published,
            });
        }
        tally.voices()
    }

    #[test]
    fn a_cluster_stands_for_the_author_of_its_first_post() {
        let reposts: Vec<String> = (0..50).map(|i| format!("reposter{i}")).collect();
        let clusters: Vec<String> = (0..11).map(|i| format!("own{i}")).collect();
        let mut posts: Vec<(&str, Option<&str>, i64)> = vec![("viral", Some("first"), 0)];
        posts.extend(reposts.iter().map(|r| ("viral", Some(r.as_str()), 10)));
        assert_eq!(voices(&posts), 1, "a repost wave is one voice");
        let busy: Vec<(&str, Option<&str>, i64)> = clusters
            .iter()
            .map(|c| (c.as_str(), Some("busy"), 5))
            .collect();
        assert_eq!(voices(&busy), 1, "one person's complaints are one voice");
        posts.extend(&busy);
        assert_eq!(voices(&posts), 2, "and both at once are two");
        // Twenty people in their own words, each also reposting the viral post: twenty
        // voices and the viral post's author.
        let people: Vec<String> = (0..20).map(|i| format!("person{i}")).collect();
        let own: Vec<String> = (0..20).map(|i| format!("story{i}")).collect();
        let mut many = vec![("viral", Some("first"), 0)];
        for (person, story) in people.iter().zip(&own) {
            many.push((story.as_str(), Some(person.as_str()), 3));
            many.push(("viral", Some(person.as_str()), 4));
        }
        assert_eq!(voices(&many), 21);
        // News items without an author: each cluster is one.
        assert_eq!(
            voices(&[("n1", None, 0), ("n2", None, 0), ("n2", None, 1)]),
            2
        );
        // Listed in any order, the earliest post decides; ties go to the smaller author.
        let forward = [
            ("c", Some("b"), 1),
            ("c", Some("a"), 1),
            ("d", Some("b"), 0),
        ];
        let mut backward = forward;
        backward.reverse();
        assert_eq!(voices(&forward), 2);
        assert_eq!(voices(&backward), 2);
    }
}
