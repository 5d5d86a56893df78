//! Counting complaint voices in the index, with tantivy aggregations.
//!
//! A voice is a person with a complaint: one post reposted a hundred times is one voice,
//! and so is one person posting twelve complaints in their own words; twenty people
//! describing the same problem are twenty. Counted as the smaller of the distinct
//! near-duplicate clusters and the distinct authors (with the clusters of posts that
//! have no author, such as news items, each counted as one): both are at least the
//! number of people, each overcounts a case the other gets right. Counts are per
//! aspect, or per aspect and facet value (`interpreter@source=nos-binnenland`), over a time
//! window of publication times.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::{AggregationResult, BucketResult, MetricResult};
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard, Key};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{Occur, Query};
use tantivy::schema::{TantivyDocument, Value};
use tantivy::Order;

use crate::search::docs::{published_between, stored_text, stored_time};
use crate::search::{Fields, MentionIndex};

/// Aspects in the taxonomy and facet values per aspect counted at most.
const MAX_KEYS: u32 = 200;

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
fn complaints_between(
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
    let (_, _, f) = index.parts();
    let all = distinct_per_aspect(index, complaints_between(f, from, to, None), facet)?;
    let anonymous = distinct_per_aspect(index, complaints_without_author(f, from, to), facet)?;
    Ok(all
        .into_iter()
        .map(|(key, (clusters, authors))| {
            let anonymous_clusters = anonymous.get(&key).map_or(0, |(c, _)| *c);
            (key, voices(clusters, authors, anonymous_clusters))
        })
        .collect())
}

/// Complaint voices: the smaller of the distinct near-duplicate clusters and the
/// distinct people, a complaint without an author standing for its cluster. Both
/// overcount (a repost wave has many authors, one person many clusters).
pub(crate) fn voices(clusters: u64, authors: u64, clusters_without_author: u64) -> u64 {
    clusters.min(authors + clusters_without_author)
}

/// The complaints of `[from, to)` whose source names no author: each of their clusters
/// counts as a person ([`voices`]).
pub(crate) fn complaints_without_author(
    f: &Fields,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Box<dyn Query> {
    Box::new(tantivy::query::BooleanQuery::new(vec![
        (Occur::Must, complaints_between(f, from, to, None)),
        (
            Occur::MustNot,
            Box::new(tantivy::query::ExistsQuery::new("author".into(), false)),
        ),
    ]))
}

/// Distinct (clusters, authors) of the documents `query` matches, per aspect (and per
/// `facet` value when given).
fn distinct_per_aspect(
    index: &MentionIndex,
    query: Box<dyn Query>,
    facet: Option<&str>,
) -> Result<BTreeMap<String, (u64, u64)>, tantivy::TantivyError> {
    let (_, reader, _) = index.parts();
    let searcher = reader.searcher();
    let voices = serde_json::json!({
        "voices": { "cardinality": { "field": "cluster" } },
        "authors": { "cardinality": { "field": "author" } },
    });
    let inner = match facet {
        None => voices,
        Some(facet) => serde_json::json!({
            "facet": { "terms": { "field": facet, "size": MAX_KEYS }, "aggs": voices }
        }),
    };
    let request = serde_json::json!({
        "aspects": { "terms": { "field": "aspect", "size": MAX_KEYS }, "aggs": inner }
    });
    let request: Aggregations =
        serde_json::from_value(request).expect("voice aggregation request is well-formed");
    let context = AggContextParams::new(
        AggregationLimitsGuard::default(),
        searcher.index().tokenizers().clone(),
    );
    let results = searcher.search(&*query, &AggregationCollector::from_aggs(request, context))?;
    let mut out = BTreeMap::new();
    let Some(AggregationResult::BucketResult(BucketResult::Terms { buckets, .. })) =
        results.0.get("aspects")
    else {
        return Ok(out);
    };
    let facet_name = facet.unwrap_or_default();
    for bucket in buckets {
        let Key::Str(aspect) = &bucket.key else {
            continue;
        };
        match facet {
            None => {
                out.insert(aspect.clone(), distinct(&bucket.sub_aggregation.0));
            }
            Some(_) => {
                let Some(AggregationResult::BucketResult(BucketResult::Terms {
                    buckets: values,
                    ..
                })) = bucket.sub_aggregation.0.get("facet")
                else {
                    continue;
                };
                for value in values {
                    if let Key::Str(v) = &value.key {
                        out.insert(
                            // Read back by [`key_parts`].
                            format!("{aspect}@{facet_name}={v}"),
                            distinct(&value.sub_aggregation.0),
                        );
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The (clusters, authors) cardinalities of a bucket.
fn distinct<S: std::hash::BuildHasher>(
    aggs: &std::collections::HashMap<String, AggregationResult, S>,
) -> (u64, u64) {
    let cardinality = |name: &str| match aggs.get(name) {
        Some(AggregationResult::MetricResult(MetricResult::Cardinality(v))) => {
            v.value.unwrap_or(0.0).round() as u64
        }
        _ => 0,
    };
    (cardinality("voices"), cardinality("authors"))
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
