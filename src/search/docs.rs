//! The pieces every reader of the index needs: an exact term, a window of publication
//! times, the stored fields of a document read back, the values of a string fast field
//! for a list of documents, and the size and voices of clusters.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;

use chrono::{DateTime, Utc};
use tantivy::collector::{Collector, DocSetCollector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, TantivyDocument, Value};
use tantivy::{Searcher, Term};

use super::Fields;

/// The index's date for a time (the index keeps whole seconds). Held within what the
/// index can hold (nanoseconds in 64 bits: the years 1678 to 2261), where it would wrap
/// round: `to=9999-12-31` means "all", not a day in 1816.
pub(crate) fn to_date(t: DateTime<Utc>) -> tantivy::DateTime {
    const LIMIT_SECS: i64 = 9_000_000_000;
    tantivy::DateTime::from_timestamp_secs(t.timestamp().clamp(-LIMIT_SECS, LIMIT_SECS))
}

/// `field` is exactly `value` (a `STRING` field: source, lang, aspect, cluster, …).
pub(crate) fn exact(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// Published within the bounds.
pub(crate) fn published(
    f: &Fields,
    from: Bound<DateTime<Utc>>,
    to: Bound<DateTime<Utc>>,
) -> Box<dyn Query> {
    let term = |t: DateTime<Utc>| Term::from_field_date_for_search(f.published, to_date(t));
    Box::new(RangeQuery::new(from.map(term), to.map(term)))
}

/// from <= published < to, and every `field:value` in `exact`.
pub(crate) fn published_between(
    f: &Fields,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    exact_values: &[(Field, &str)],
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
        Occur::Must,
        published(f, Bound::Included(from), Bound::Excluded(to)),
    )];
    for (field, value) in exact_values {
        clauses.push((Occur::Must, exact(*field, value)));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// A stored text field's first value.
pub(crate) fn stored_text(doc: &TantivyDocument, field: Field) -> Option<String> {
    doc.get_first(field)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// A date of the index (to the second, as [`to_date`] writes them).
pub(crate) fn from_date(d: tantivy::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(d.into_timestamp_secs(), 0)
}

/// A stored date field's first value (the epoch when absent).
pub(crate) fn stored_time(doc: &TantivyDocument, field: Field) -> DateTime<Utc> {
    doc.get_first(field)
        .and_then(|v| v.as_datetime())
        .and_then(from_date)
        .unwrap_or_default()
}

/// A mention as a short quote: title and text (the title left out when the text starts
/// with it), cut at `max_chars` characters with an ellipsis.
pub(crate) fn quoted(title: &str, text: &str, max_chars: usize) -> String {
    let mut shown = if title.is_empty() || text.starts_with(title) {
        text.to_string()
    } else {
        format!("{title} — {text}")
    };
    if shown.chars().count() > max_chars {
        shown = shown.chars().take(max_chars).collect::<String>() + "…";
    }
    shown
}

/// A string fast field's values for a list of one segment's documents.
struct Resolved {
    /// Where each document's values begin in `at` (and the last one's end).
    starts: Vec<usize>,
    /// Indices into `names`.
    at: Vec<usize>,
    names: Vec<String>,
}

impl Resolved {
    fn read(
        column: Option<&tantivy::columnar::StrColumn>,
        docs: &[tantivy::DocId],
    ) -> Result<Resolved, tantivy::TantivyError> {
        let mut starts = Vec::with_capacity(docs.len() + 1);
        let mut ords = Vec::with_capacity(docs.len());
        for &doc in docs {
            starts.push(ords.len());
            ords.extend(column.into_iter().flat_map(|c| c.term_ords(doc)));
        }
        starts.push(ords.len());
        let mut distinct = ords.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let mut names = Vec::with_capacity(distinct.len());
        if let Some(column) = column {
            column
                .dictionary()
                .sorted_ords_to_term_cb(&distinct, |bytes| {
                    names.push(String::from_utf8_lossy(bytes).into_owned());
                })
                .map_err(tantivy::TantivyError::from)?;
        }
        let at = ords
            .iter()
            .map(|ord| distinct.binary_search(ord).unwrap_or(usize::MAX))
            .collect();
        Ok(Resolved { starts, at, names })
    }

    fn values(&self, doc: usize) -> impl Iterator<Item = &str> {
        let (from, to) = (self.starts[doc], self.starts[doc + 1]);
        self.at[from..to]
            .iter()
            .filter_map(|&i| self.names.get(i).map(String::as_str))
    }
}

/// What voices are counted from: a post's near-duplicate cluster, its author's
/// pseudonym (where the source names one) and its time.
pub(crate) struct Post<'a> {
    pub cluster: &'a str,
    pub author: Option<&'a str>,
    /// Microseconds since the epoch.
    pub published: i64,
}

/// Calls `visit` with every document `query` matches, as a [`Post`] and the values of
/// the string fast `fields` (a multi-valued field gives several; none gives none). Each
/// segment's values are looked up in one ordered pass over each field's dictionary: one
/// lookup a value took ten times as long.
pub(crate) fn each_post(
    searcher: &Searcher,
    query: &dyn Query,
    fields: &[&str],
    mut visit: impl FnMut(&Post<'_>, &Values<'_>),
) -> Result<(), tantivy::TantivyError> {
    let mut docs: Vec<tantivy::DocAddress> = searcher
        .search(query, &DocSetCollector)?
        .into_iter()
        .collect();
    docs.sort_unstable();
    for segment_docs in docs.chunk_by(|a, b| a.segment_ord == b.segment_ord) {
        let segment = searcher.segment_reader(segment_docs[0].segment_ord);
        let fast = segment.fast_fields();
        let ids: Vec<tantivy::DocId> = segment_docs.iter().map(|d| d.doc_id).collect();
        let clusters = Resolved::read(fast.str("cluster")?.as_ref(), &ids)?;
        let authors = Resolved::read(fast.str("author")?.as_ref(), &ids)?;
        let published = fast.date("published")?;
        let columns = fields
            .iter()
            .map(|name| Resolved::read(fast.str(name)?.as_ref(), &ids))
            .collect::<Result<Vec<_>, tantivy::TantivyError>>()?;
        for (i, &doc) in ids.iter().enumerate() {
            let own: String;
            let cluster = match clusters.values(i).next() {
                Some(cluster) => cluster,
                None => {
                    // Every stored mention has a cluster; one without is its own.
                    own = format!("{}:{doc}", segment_docs[0].segment_ord);
                    &own
                }
            };
            let post = Post {
                cluster,
                author: authors.values(i).next(),
                published: published
                    .first(doc)
                    .map_or(0, |t| t.into_timestamp_micros()),
            };
            visit(
                &post,
                &Values {
                    columns: &columns,
                    doc: i,
                },
            );
        }
    }
    Ok(())
}

/// The values of the fields [`each_post`] was asked for, of one document.
pub(crate) struct Values<'a> {
    columns: &'a [Resolved],
    doc: usize,
}

impl<'a> Values<'a> {
    /// The values of the `field`-th field asked for.
    pub fn of(&self, field: usize) -> impl Iterator<Item = &'a str> + 'a {
        let doc = self.doc;
        self.columns
            .get(field)
            .into_iter()
            .flat_map(move |c| c.values(doc))
    }
}

/// For each of `clusters`, how many documents it holds (of those `within` matches, where
/// given) and their distinct authors (pseudonyms; a post without an author is no voice).
/// Counted exactly (an estimate, tantivy's cardinality, gave 3,003 voices to 3,000
/// authors), from the clusters' and authors' [`voice_key`](super::schema::voice_key)s.
pub(crate) fn cluster_counts(
    searcher: &Searcher,
    f: &Fields,
    within: Option<&dyn Query>,
    clusters: &[&str],
) -> Result<HashMap<String, ClusterCount>, tantivy::TantivyError> {
    if clusters.is_empty() {
        return Ok(HashMap::new());
    }
    let names: HashMap<u64, &str> = clusters
        .iter()
        .map(|c| (super::schema::voice_key(c), *c))
        .collect();
    // A few short posting lists: a disjunction of term queries visits only their
    // documents (a term-set query would build a bitset over every segment).
    let of_these: Box<dyn Query> = Box::new(BooleanQuery::new(
        clusters
            .iter()
            .map(|c| (Occur::Should, exact(f.cluster, c)))
            .collect(),
    ));
    let query: Box<dyn Query> = match within {
        Some(within) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, within.box_clone()),
            (Occur::Must, of_these),
        ])),
        None => of_these,
    };
    let mut found: HashMap<u64, (u64, HashSet<u64>)> = HashMap::new();
    for (cluster, author) in searcher.search(&*query, &VoiceKeys)? {
        let Some(cluster) = cluster.filter(|c| names.contains_key(c)) else {
            continue;
        };
        let (size, voices) = found.entry(cluster).or_default();
        *size += 1;
        voices.extend(author);
    }
    Ok(found
        .into_iter()
        .filter_map(|(key, (size, voices))| {
            let count = ClusterCount {
                size,
                voices: voices.len() as u64,
            };
            names.get(&key).map(|name| (name.to_string(), count))
        })
        .collect())
}

/// Collects each matching document's cluster key and author key.
struct VoiceKeys;

struct SegmentVoiceKeys {
    cluster: Option<Column<u64>>,
    author: Option<Column<u64>>,
    found: Vec<(Option<u64>, Option<u64>)>,
}

impl Collector for VoiceKeys {
    type Fruit = Vec<(Option<u64>, Option<u64>)>;
    type Child = SegmentVoiceKeys;

    fn for_segment(
        &self,
        _segment: tantivy::SegmentOrdinal,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<SegmentVoiceKeys> {
        let fast = reader.fast_fields();
        Ok(SegmentVoiceKeys {
            cluster: fast.column_opt("cluster_key")?,
            author: fast.column_opt("author_key")?,
            found: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        Ok(segments.concat())
    }
}

impl SegmentCollector for SegmentVoiceKeys {
    type Fruit = Vec<(Option<u64>, Option<u64>)>;

    fn collect(&mut self, doc: tantivy::DocId, _score: tantivy::Score) {
        let key = |column: &Option<Column<u64>>| column.as_ref().and_then(|c| c.first(doc));
        self.found.push((key(&self.cluster), key(&self.author)));
    }

    fn harvest(self) -> Self::Fruit {
        self.found
    }
}

/// What [`cluster_counts`] found of one cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ClusterCount {
    pub size: u64,
    pub voices: u64,
}
