//! The pieces every reader of the index needs: an exact term, a window of publication
//! times, and the stored fields of a document read back.

use std::ops::Bound;

use chrono::{DateTime, Utc};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, TantivyDocument, Value};
use tantivy::Term;

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
