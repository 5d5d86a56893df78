//! Searching mentions: the query language, filters, sorting, snippets and facets.
//!
//! One function serves the HTTP API and the command line, so both answer alike.

use std::collections::BTreeMap;
use std::ops::Bound;

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::{AggregationResult, AggregationResults, BucketResult};
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard, Key};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::query_grammar::{Delimiter, UserInputAst, UserInputLeaf, UserInputLiteral};
use tantivy::schema::Field;
use tantivy::schema::{IndexRecordOption, TantivyDocument, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Searcher, Term};

use super::docs::{exact, from_date, published, stored_text, stored_time};
use super::schema::{family_of, prefix_start, FAMILIES};
use super::{Fields, MentionIndex};

/// Most hits one request may ask for.
pub const MAX_LIMIT: usize = 100;
/// Deepest page one may ask for; deeper paging is a scraper, not a person.
pub const MAX_OFFSET: usize = 10_000;
/// Longest query accepted.
pub const MAX_QUERY_LEN: usize = 1_000;
/// How many groups and NOT, - or + operators a query may hold (each may nest in the
/// one before: [`nesting_bound`]). Staff write two or three; each level is a recursion
/// of the grammar, the query builder and the scorer, and a few hundred under the length
/// limit took the search thread's stack, and with it the daemon, down.
pub const MAX_NESTING: usize = 20;
/// The largest slop of a phrase (`"…"~N`: how many words apart its words may stand).
/// A slop in the millions made tantivy's phrase search allocate gigabytes.
pub const MAX_SLOP: u32 = 20;
const DEFAULT_LIMIT: usize = 20;
const SNIPPET_CHARS: usize = 240;
/// Values a facet lists at most: every source of a large installation (fifty left the
/// quietest sources out, the ones worth checking for a stuck source).
const FACET_SIZE: u32 = 1_000;
/// The word beginnings a query searches with `word*` (as [`Fields::words`] writes them).
type Prefixes = Vec<String>;

/// Fewest letters before a `*`: "a*" would stand for a good part of the dictionary.
pub const MIN_PREFIX_CHARS: usize = 3;
/// Most words one prefix highlights in a snippet (the search itself takes all).
const PREFIX_HIGHLIGHTS: usize = 64;
/// Words a hyphenated `COA-loc*` ends in at most, as tantivy's phrase prefix takes.
const PHRASE_PREFIX_WORDS: usize = 50;

/// How hits are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    Newest,
    Relevance,
}

/// A search as a user asks it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Query text; empty or `*` lists everything (the inbox).
    pub q: String,
    pub lang: Option<String>,
    pub source: Option<String>,
    /// Only mentions about this aspect of the procedure.
    pub aspect: Option<String>,
    /// Only complaints (`true`) or only what is not a complaint (`false`).
    pub complaint: Option<bool>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// Defaults to relevance for a query, newest for the inbox.
    pub sort: Option<Sort>,
}

impl SearchRequest {
    /// What was asked, for the audit trail (from the API and the command line alike):
    /// the query and the filters that are set, and which page of hits. Text a user
    /// typed is quoted as JSON (`q="asiel; lang=nl"`), so that it cannot pass for
    /// another filter or for the trail's own words.
    pub fn describe(&self) -> String {
        // A refused request is recorded too: no more of it than a search may hold.
        let quoted = |value: &str| {
            let cut = crate::pipeline::extract::bounded(value, MAX_QUERY_LEN);
            let quoted = serde_json::Value::from(cut).to_string();
            if cut.len() < value.len() {
                format!("{quoted}…")
            } else {
                quoted
            }
        };
        let mut parts = vec![format!("q={}", quoted(&self.q))];
        let mut add = |key: &str, value: Option<String>| {
            if let Some(value) = value {
                parts.push(format!("{key}={value}"));
            }
        };
        add("lang", self.lang.as_deref().map(quoted));
        add("source", self.source.as_deref().map(quoted));
        add("aspect", self.aspect.as_deref().map(quoted));
        add("complaint", self.complaint.map(|c| c.to_string()));
        add("from", self.from.map(|t| t.to_rfc3339()));
        add("to", self.to.map(|t| t.to_rfc3339()));
        add("offset", self.offset.map(|n| n.to_string()));
        add("limit", self.limit.map(|n| n.to_string()));
        parts.join(" ")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
    /// Counts per value of `lang` and `source` over all matching mentions.
    pub facets: BTreeMap<String, BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hit {
    pub id: String,
    pub url: Option<String>,
    pub title: String,
    /// HTML-escaped text with the query terms in `<b>…</b>`.
    pub snippet: String,
    pub lang: String,
    /// How sure the language stage was (0..1; 1 for a source's own hint, 0 for `und`).
    pub lang_confidence: Option<f64>,
    pub published: DateTime<Utc>,
    /// When webcare fetched it.
    pub fetched: DateTime<Utc>,
    pub source: String,
    /// The relevance rule that kept the mention, and the terms that matched it.
    pub topic: Option<String>,
    pub why: Option<String>,
    /// Aspects of the procedure, and the terms that found them.
    pub aspects: Vec<String>,
    pub aspects_why: Option<String>,
    /// Whether it voices a grievance, how strongly (0..1, 0.5 at the threshold), and why.
    pub complaint: Option<bool>,
    pub complaint_score: Option<f64>,
    pub complaint_why: Option<String>,
    /// The near-duplicate cluster, how many indexed mentions it holds and from how
    /// many distinct authors (pseudonyms): one viral post is one voice.
    pub cluster: Option<String>,
    pub cluster_size: u64,
    pub voices: u64,
    /// The author's pseudonym (never the handle).
    pub author: Option<String>,
    /// Title of the thread a comment belongs to.
    pub thread: Option<String>,
    /// The whole stored text (plain, unescaped): only when one mention is opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A request that cannot be answered as asked; the message says what to change.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("invalid query: {0}")]
    Query(String),
    #[error("invalid parameter `{param}`: {message}")]
    Param {
        param: &'static str,
        message: String,
    },
    #[error("search failed: {0}")]
    Index(#[from] tantivy::TantivyError),
}

impl SearchError {
    /// Whether the fault is the caller's (400) rather than the server's (500).
    pub fn is_bad_request(&self) -> bool {
        !matches!(self, SearchError::Index(_))
    }
}

impl MentionIndex {
    /// Runs `request` against the last visible commit.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        // The schema is webcare's own: a field the index does not have, wherever the
        // search meets it, comes from the query.
        self.run(request).map_err(as_query_error)
    }

    /// [`MentionIndex::search`], and where nothing is found, whether a filter asked for
    /// what cannot be there: a `lang` that is neither among `languages` (what the
    /// daemon answers, `[pipeline] languages`) nor held by any mention, or a `source`
    /// that is neither among `configured` nor held by any mention. A typo there would
    /// otherwise read as "nothing was said", the answer staff are least likely to
    /// question.
    pub fn search_known(
        &self,
        request: &SearchRequest,
        configured: &[String],
        languages: &[String],
    ) -> Result<SearchResults, SearchError> {
        let results = self.search(request)?;
        if results.total == 0 {
            self.check_filter_values(request, configured, languages)?;
        }
        Ok(results)
    }

    fn check_filter_values(
        &self,
        request: &SearchRequest,
        configured: &[String],
        languages: &[String],
    ) -> Result<(), SearchError> {
        let (_, reader, f) = self.parts();
        let searcher = reader.searcher();
        let held = |field, value: &str| -> Result<bool, SearchError> {
            Ok(searcher.doc_freq(&Term::from_field_text(field, value))? > 0)
        };
        if let Some(lang) = &request.lang {
            if lang != "und" && !languages.contains(lang) && !held(f.lang, lang)? {
                return Err(SearchError::Param {
                    param: "lang",
                    message: format!(
                        "no mention is in {lang:?}, nor is it a language the daemon answers ([pipeline] languages): {}, or und",
                        languages.join(", ")
                    ),
                });
            }
        }
        if let Some(source) = &request.source {
            if !configured.contains(source) && !held(f.source, source)? {
                let mut names: Vec<&str> = configured.iter().map(String::as_str).collect();
                names.sort_unstable();
                let listed = if names.is_empty() {
                    "no source is configured".to_string()
                } else {
                    format!("the configured sources are {}", names.join(", "))
                };
                return Err(SearchError::Param {
                    param: "source",
                    message: format!(
                        "no source {source:?} is configured or in the index; {listed}"
                    ),
                });
            }
        }
        Ok(())
    }

    fn run(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let (index, reader, fields) = self.parts();
        let searcher = reader.searcher();
        let plan = Plan::new(index, &searcher, fields, request)?;
        let (addresses, total, aggs) = plan.collect(&searcher)?;
        let highlighted = with_prefixed_words(
            &searcher,
            &*plan.text_query,
            fields,
            &plan.families,
            &plan.prefixes,
        )?;
        let snippets = Snippets::new(&searcher, &*highlighted, fields, &plan.families)?;
        let mut hits = Vec::with_capacity(addresses.len());
        for address in addresses {
            let doc: TantivyDocument = searcher.doc(address)?;
            hits.push(to_hit(fields, &doc, &snippets));
        }
        add_cluster_counts(&searcher, fields, &mut hits)?;
        Ok(SearchResults {
            total,
            hits,
            facets: facets(aggs, request, total),
        })
    }
}

/// When the oldest (`Order::Asc`) or newest (`Order::Desc`) mention `searcher` sees was
/// published; `None` for an empty index.
pub(crate) fn published_at_end(
    searcher: &tantivy::Searcher,
    order: Order,
) -> tantivy::Result<Option<DateTime<Utc>>> {
    let end = TopDocs::with_limit(1).order_by_fast_field::<tantivy::DateTime>("published", order);
    // Every mention has a time; asked for, a document without one could sort first.
    let every = tantivy::query::ExistsQuery::new("published".into(), false);
    let found = searcher.search(&every, &end)?;
    Ok(found.first().and_then(|(t, _)| *t).and_then(from_date))
}

impl MentionIndex {
    /// When the newest mention stored was published; `None` for an empty index.
    pub fn newest_published(&self) -> Result<Option<DateTime<Utc>>, SearchError> {
        let (_, reader, _) = self.parts();
        Ok(published_at_end(&reader.searcher(), Order::Desc)?)
    }

    /// Whether a mention with this id is in the last visible commit.
    pub fn contains(&self, id: &str) -> Result<bool, SearchError> {
        let (_, reader, fields) = self.parts();
        let query = TermQuery::new(
            Term::from_field_text(fields.id, id),
            IndexRecordOption::Basic,
        );
        Ok(reader.searcher().search(&query, &Count)? > 0)
    }

    /// One mention by id, with its whole text and its cluster counts.
    pub fn mention(&self, id: &str) -> Result<Option<Hit>, SearchError> {
        let (_, reader, fields) = self.parts();
        let searcher = reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(fields.id, id),
            IndexRecordOption::Basic,
        );
        let found = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
        let Some((_, address)) = found.into_iter().next() else {
            return Ok(None);
        };
        let doc: TantivyDocument = searcher.doc(address)?;
        let snippets = Snippets {
            by_family: (0..FAMILIES.len()).map(|_| None).collect(),
        };
        let mut hit = to_hit(fields, &doc, &snippets);
        hit.text = doc
            .get_first(fields.text)
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let mut hits = [hit];
        add_cluster_counts(&searcher, fields, &mut hits)?;
        let [hit] = hits;
        Ok(Some(hit))
    }
}

struct Plan {
    /// The user's query alone (for snippets).
    text_query: Box<dyn Query>,
    /// The word beginnings searched for with `word*` (for snippets).
    prefixes: Prefixes,
    /// The query with all filters.
    full_query: Box<dyn Query>,
    sort: Sort,
    limit: usize,
    offset: usize,
    /// Facets still to count (see [`open_facets`]).
    facet_names: Vec<&'static str>,
    /// Analyzer families whose snippets may be needed.
    families: Vec<usize>,
}

impl Plan {
    fn new(
        index: &tantivy::Index,
        searcher: &Searcher,
        f: &Fields,
        r: &SearchRequest,
    ) -> Result<Plan, SearchError> {
        let limit = r.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(SearchError::Param {
                param: "limit",
                message: format!("must be between 1 and {MAX_LIMIT}"),
            });
        }
        let offset = r.offset.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(SearchError::Param {
                param: "offset",
                message: format!("must be at most {MAX_OFFSET}"),
            });
        }
        if r.q.len() > MAX_QUERY_LEN {
            return Err(SearchError::Param {
                param: "q",
                message: format!("is longer than {MAX_QUERY_LEN} bytes"),
            });
        }
        if let Some(lang) = &r.lang {
            let code =
                lang.len() >= 2 && lang.len() <= 3 && lang.bytes().all(|b| b.is_ascii_lowercase());
            if !code {
                return Err(SearchError::Param {
                    param: "lang",
                    message: format!(
                        "{lang:?} is no language code; use one in lower case: nl, en, ar, fa, …, or und"
                    ),
                });
            }
        }
        if let (Some(from), Some(to)) = (r.from, r.to) {
            if from > to {
                return Err(SearchError::Param {
                    param: "from",
                    message: "is later than `to`".to_string(),
                });
            }
        }
        let mut q = r.q.trim().to_string();
        crate::pipeline::extract::compose(&mut q);
        // A word asked for is its whole form, with or without the non-joiner: the index
        // holds the whole of every word written with one, and its parts ([`WordStream`]).
        //
        // [`WordStream`]: super::fold::WordStream
        if q.contains(super::fold::ZWNJ) {
            q.retain(|c| c != super::fold::ZWNJ);
        }
        let q = q.as_str();
        let is_inbox = q.is_empty() || q == "*";
        let (text_query, prefixes) = if is_inbox {
            (Box::new(AllQuery) as Box<dyn Query>, Vec::new())
        } else {
            parse_text_query(index, searcher, f, q, r.lang.as_deref())?
        };
        let full_query = with_filters(f, text_query.box_clone(), r);
        // Every mention but some: the inbox with those left out, in the inbox's order
        // (each hit scores the same, so "relevance" would be the order of indexing).
        let sort = r
            .sort
            .unwrap_or(if is_inbox || excludes_only(&*text_query) {
                Sort::Newest
            } else {
                Sort::Relevance
            });
        let families = match &r.lang {
            Some(lang) => vec![family_of(lang)],
            None => (0..FAMILIES.len()).collect(),
        };
        Ok(Plan {
            text_query,
            prefixes,
            full_query,
            sort,
            limit,
            offset,
            facet_names: open_facets(r),
            families,
        })
    }

    fn collect(
        &self,
        searcher: &Searcher,
    ) -> Result<(Vec<DocAddress>, usize, AggregationResults), SearchError> {
        let aggs = facet_collector(searcher, &self.facet_names);
        let top = TopDocs::with_limit(self.limit).and_offset(self.offset);
        Ok(match self.sort {
            Sort::Relevance => {
                let (docs, total, aggs) =
                    searcher.search(&*self.full_query, &(top.order_by_score(), Count, aggs))?;
                (docs.into_iter().map(|(_, a)| a).collect(), total, aggs)
            }
            Sort::Newest => {
                let by_date =
                    top.order_by_fast_field::<tantivy::DateTime>("published", Order::Desc);
                let (docs, total, aggs) =
                    searcher.search(&*self.full_query, &(by_date, Count, aggs))?;
                (docs.into_iter().map(|(_, a)| a).collect(), total, aggs)
            }
        })
    }
}

/// Parses the query in the fields of the requested language's family, or of all families.
/// Terms are joined with AND: staff type a few words and expect all of them. Also gives
/// the word beginnings a `word*` searches.
fn parse_text_query(
    index: &tantivy::Index,
    searcher: &Searcher,
    f: &Fields,
    q: &str,
    lang: Option<&str>,
) -> Result<(Box<dyn Query>, Prefixes), SearchError> {
    let families: Vec<usize> = match lang {
        Some(lang) => vec![family_of(lang)],
        None => (0..FAMILIES.len()).collect(),
    };
    let fields: Vec<Field> = families.iter().map(|&i| f.text_by_family[i]).collect();
    let mut parser = QueryParser::for_index(index, fields);
    parser.set_conjunction_by_default();
    // The expressions `word*` becomes below; one typed by the user is refused first.
    parser.allow_regexes();
    if let Some(problem) = unread_operators(q) {
        return Err(SearchError::Query(problem));
    }
    let q = plain_words(&apostrophes_as_spaces(q));
    let nested = nesting_bound(&q);
    if nested > MAX_NESTING {
        return Err(too_deep(nested));
    }
    // "IND: 10:30", "tolk:", "12:00 - 14:00": colons the grammar cannot read as a field,
    // and a dash standing alone, are punctuation, as they are to staff.
    let ast = tantivy::query_grammar::parse_query(&q)
        .or_else(|e| match q.contains(':') || q.contains(" - ") {
            true => tantivy::query_grammar::parse_query(&q.replace(':', " ").replace(" - ", " ")),
            false => Err(e),
        })
        .map_err(|_| {
            let mut message = describe_query_error(&tantivy::query::QueryParserError::SyntaxError(
                q.to_string(),
            ));
            if q.contains(['[', ']', '{', '}']) {
                // `[name]`: staff who see placeholders in snippets search for them.
                message.push_str("; [ ] and { } are for ranges, which are not searched, and the redaction's placeholders ([name], [phone], …) are no words to find");
            }
            SearchError::Query(message)
        })?;
    // Clauses, groups and the leaf: two levels for each counted above, and room.
    if ast_depth(&ast) > 2 * MAX_NESTING + 4 {
        return Err(too_deep(nested));
    }
    let mut prefixes = Vec::new();
    let schema = index.schema();
    // The index's own fields, and the names of what a search answer shows, which staff
    // may take for fields ("title:tolk"): refused, and said why. Any other `word:` is
    // words.
    let is_field = |name: &str| {
        schema.get_field(name).is_ok()
            || ANSWER_FIELDS
                .iter()
                .any(|field| field.eq_ignore_ascii_case(name))
    };
    let ast = with_prefixes(ast, &is_field, &mut |prefix| match prefix {
        Prefix::Word(word) => prefix_leaf(index, f, word, &mut prefixes),
        Prefix::AfterWords { head, last } => {
            phrases_ending_in(searcher, f, head, last, &mut prefixes)
        }
    })?;
    let parsed = match parser.build_query_from_user_input_ast(ast.clone()) {
        // "NOT coa" alone: everything but, as staff mean it; the parser refuses a query
        // of nothing but exclusions.
        Err(tantivy::query::QueryParserError::AllButQueryForbidden) => {
            let all = UserInputAst::Leaf(Box::new(UserInputLeaf::All));
            parser.build_query_from_user_input_ast(UserInputAst::Clause(vec![
                (Some(Occur::Must), all),
                (Some(Occur::Must), ast),
            ]))
        }
        other => other,
    };
    let query = parsed
        .map(hoist_exclusions)
        .map_err(|e| SearchError::Query(describe_query_error(&e)))?;
    Ok((query, prefixes))
}

/// `ast` with each `word*` (a word without a field, quoted or not) replaced by what
/// `expand` makes of the word. The parser has no such search for one word (it reads a
/// `*` as the end of a phrase of two words or more), and Dutch joins words: staff search
/// `asiel*` for asielzoeker, asielaanvraag and asielbeleid at once.
fn with_prefixes(
    ast: UserInputAst,
    is_field: &dyn Fn(&str) -> bool,
    expand: &mut dyn FnMut(Prefix) -> Result<UserInputAst, SearchError>,
) -> Result<UserInputAst, SearchError> {
    Ok(match ast {
        UserInputAst::Clause(clauses) => UserInputAst::Clause(
            clauses
                .into_iter()
                .map(|(occur, sub)| Ok((occur, with_prefixes(sub, is_field, expand)?)))
                .collect::<Result<_, SearchError>>()?,
        ),
        UserInputAst::Boost(sub, boost) => {
            UserInputAst::Boost(Box::new(with_prefixes(*sub, is_field, expand)?), boost)
        }
        UserInputAst::Leaf(leaf) => match *leaf {
            UserInputLeaf::Regex { .. } => return Err(SearchError::Query(
                "regular expressions are not searched; word* finds the words that begin with word"
                    .to_string(),
            )),
            UserInputLeaf::Literal(mut literal) if literal.field_name.is_some() => {
                let field = literal.field_name.take().unwrap_or_default();
                if is_field(&field) {
                    return Err(no_field_search(&format!("`{field}:`")));
                }
                // "IND: wachttijd" typed as staff write: the word before the colon is a
                // word to find, like the one after it.
                let word = UserInputLiteral {
                    field_name: None,
                    phrase: field,
                    delimiter: Delimiter::None,
                    slop: 0,
                    prefix: false,
                };
                UserInputAst::Clause(vec![
                    (
                        Some(Occur::Must),
                        UserInputAst::Leaf(Box::new(UserInputLeaf::Literal(word))),
                    ),
                    (
                        Some(Occur::Must),
                        with_prefixes(
                            UserInputAst::Leaf(Box::new(UserInputLeaf::Literal(literal))),
                            is_field,
                            expand,
                        )?,
                    ),
                ])
            }
            UserInputLeaf::Range { .. } => return Err(no_field_search("a range (`[a TO b]`, or a word after `<`, `>`, `<=`, `>=`; quote it to search the signs as text)")),
            UserInputLeaf::Set { .. } => return Err(no_field_search("a set (`IN [a b]`)")),
            UserInputLeaf::Exists { field } => {
                return Err(no_field_search(&format!("`{field}:*`")))
            }
            UserInputLeaf::Literal(literal) => {
                refuse_misplaced_operators(&literal)?;
                if let Some(ast) = hyphenated_prefix(&literal, expand)? {
                    return Ok(ast);
                }
                // The grammar keeps the * of an unquoted word in the word, and marks a
                // quoted one's as a prefix.
                let word = match literal.phrase.strip_suffix('*') {
                    Some(word) if literal.delimiter == Delimiter::None => word,
                    _ if literal.prefix => literal.phrase.as_str(),
                    _ => "",
                };
                // A hashtag's or a question's sign before it (`#asiel*`, `¿asiel*`): the
                // index keeps the word without it.
                let word = word.trim_start_matches(|c: char| !c.is_alphanumeric());
                if !word.is_empty() && word.chars().all(char::is_alphanumeric) {
                    expand(Prefix::Word(word))?
                } else {
                    UserInputAst::Leaf(Box::new(UserInputLeaf::Literal(literal)))
                }
            }
            other => UserInputAst::Leaf(Box::new(other)),
        },
    })
}

/// What a hit in a search answer holds, by name.
const ANSWER_FIELDS: &[&str] = &[
    "id",
    "url",
    "title",
    "text",
    "snippet",
    "lang",
    "published",
    "source",
    "author",
    "aspect",
    "aspects",
    "complaint",
    "cluster",
    "topic",
];

/// The answer to a search by field: the API's filters are its parameters, and the
/// index's other fields (the author's pseudonym, the cluster) are not for searching
/// people by (PRIVACY.md, Purpose).
fn no_field_search(what: &str) -> SearchError {
    SearchError::Query(format!(
        "{what}: there is no field search; search words, \"phrases\", AND/OR/NOT, word*, or filter with lang=, source=, aspect=, complaint=, from=, to="
    ))
}

/// What a `*` asks for: the words that begin so, or, after a hyphenated compound's first
/// words (`COA-loc*`), those words followed by one that begins so.
enum Prefix<'a> {
    Word(&'a str),
    AfterWords { head: &'a str, last: &'a str },
}

/// A compound with a hyphen, `COA-locat*`, or a phrase with a `*`, `"ter ape"*`: its first
/// words, then a word that begins with its last as written. `None` for anything else.
fn hyphenated_prefix(
    literal: &tantivy::query_grammar::UserInputLiteral,
    expand: &mut dyn FnMut(Prefix) -> Result<UserInputAst, SearchError>,
) -> Result<Option<UserInputAst>, SearchError> {
    let words = match (literal.delimiter, literal.phrase.strip_suffix('*')) {
        (Delimiter::None, Some(words)) => words,
        (Delimiter::DoubleQuotes, _) if literal.prefix => literal.phrase.as_str(),
        _ => return Ok(None),
    };
    let last_break = words
        .char_indices()
        .rev()
        .find(|(_, c)| !c.is_alphanumeric());
    let Some((at, mark)) = last_break else {
        return Ok(None);
    };
    let (head, tail) = (&words[..at], &words[at + mark.len_utf8()..]);
    if tail.is_empty() {
        // `tol-*`, `tolk.*`: the grammar would search the word without its `*`.
        return Err(SearchError::Query(format!(
            "{words}*: a * goes right after the letters of a word (asiel*, COA-loc*)"
        )));
    }
    if !head.chars().any(char::is_alphanumeric) {
        return Ok(None);
    }
    Ok(Some(expand(Prefix::AfterWords { head, last: tail })?))
}

/// Phrases cannot be asked in this index for a word's beginning: a stem is no word's
/// beginning ("locatie" is kept as "locati", "gehoor" as "hoor"), so tantivy's phrase
/// prefix on the stemmed field misses words `last` begins. Instead: the words as
/// written that begin with `last` (as many as tantivy's phrase prefix takes), each as
/// the end of the phrase `head word`. Noted in `prefixes` for the snippets.
fn phrases_ending_in(
    searcher: &Searcher,
    f: &Fields,
    head: &str,
    last: &str,
    prefixes: &mut Prefixes,
) -> Result<UserInputAst, SearchError> {
    let start = beginning(last)?;
    let words = words_beginning(searcher, f, &start, PHRASE_PREFIX_WORDS)?;
    prefixes.push(start);
    let phrase = |end: &str| {
        UserInputAst::Leaf(Box::new(UserInputLeaf::Literal(
            tantivy::query_grammar::UserInputLiteral {
                field_name: None,
                phrase: format!("{head} {end}"),
                delimiter: Delimiter::DoubleQuotes,
                slop: 0,
                prefix: false,
            },
        )))
    };
    if words.is_empty() {
        // Nothing begins so: the phrase as typed, which finds nothing either, keeps the
        // query whole.
        return Ok(phrase(last));
    }
    Ok(UserInputAst::Clause(
        words
            .iter()
            .map(|word| (Some(tantivy::query_grammar::Occur::Should), phrase(word)))
            .collect(),
    ))
}

/// A `*` or `~` where the parser would quietly read something else than was meant:
/// `asiel**` and `*asiel` as `asiel`, `"de asielpro*"` as the phrase without a prefix,
/// `tolk~1` (a fuzzy search elsewhere) as `tolk`.
fn refuse_misplaced_operators(
    literal: &tantivy::query_grammar::UserInputLiteral,
) -> Result<(), SearchError> {
    let phrase = literal.phrase.as_str();
    let refuse = |message: String| Err(SearchError::Query(message));
    match literal.delimiter {
        Delimiter::None => {
            let stars = phrase.matches('*').count();
            if stars > 1 || (stars == 1 && !phrase.ends_with('*')) || literal.prefix {
                return refuse(format!(
                    "{phrase:?}: a * goes at the end of a word (asiel*), once"
                ));
            }
            // The grammar keeps a ~ after a word in the word (a phrase "tolk 1").
            if literal.slop > 0 || phrase.contains('~') {
                return refuse(format!(
                    "{phrase:?}: ~ is for phrases (\"gehoor uitgesteld\"~2); there is no fuzzy search"
                ));
            }
        }
        _ if literal.slop > MAX_SLOP => {
            return refuse(format!(
                "\"{phrase}\"~{}: a phrase's words may stand at most {MAX_SLOP} words apart",
                literal.slop
            ));
        }
        _ if phrase.contains('*') => {
            return refuse(format!(
                "\"{phrase}\": the * of a phrase goes after its closing quote (\"de asielpro\"*)"
            ));
        }
        _ => {}
    }
    Ok(())
}

/// How deep `q` may nest groups and the operators NOT, - and + that apply to what
/// follows them, at most: every group and every such operator counted, wherever it
/// stands (a phrase, an escaped character, a flat list of exclusions count too). Read
/// on the text the grammar parses, so no spelling hides one from it; the grammar's
/// recursion is what must be bounded, and each level needs one of them.
fn nesting_bound(q: &str) -> usize {
    let mut count = 0;
    let mut previous = ' ';
    for c in q.chars() {
        match c {
            '(' => count += 1,
            '-' | '+' if !previous.is_alphanumeric() => count += 1,
            _ => {}
        }
        previous = c;
    }
    count
        + q.split(|c: char| !c.is_alphanumeric())
            .filter(|word| *word == "NOT")
            .count()
}

/// The nesting of a parsed query, for a grammar that nests more than
/// [`nesting_bound`] foresaw: refused before a query is built from it.
fn ast_depth(ast: &UserInputAst) -> usize {
    match ast {
        UserInputAst::Clause(clauses) => {
            1 + clauses
                .iter()
                .map(|(_, sub)| ast_depth(sub))
                .max()
                .unwrap_or(0)
        }
        UserInputAst::Boost(sub, _) => 1 + ast_depth(sub),
        UserInputAst::Leaf(_) => 1,
    }
}

/// The error for a query nested deeper than [`MAX_NESTING`].
fn too_deep(what: usize) -> SearchError {
    SearchError::Param {
        param: "q",
        message: format!(
            "nests too deep: it has {what} groups and NOT, - or + operators, and at most {MAX_NESTING} are searched"
        ),
    }
}

/// The beginning `word*` asks for, as [`Fields::words`] writes words; refused when too
/// short to search or not one word.
fn beginning(word: &str) -> Result<String, SearchError> {
    if word.chars().count() < MIN_PREFIX_CHARS {
        return Err(SearchError::Query(format!(
            "{word}* is too short to search: a * needs at least {MIN_PREFIX_CHARS} letters before it"
        )));
    }
    prefix_start(word)
        .ok_or_else(|| SearchError::Query(format!("{word}*: a * goes after one word")))
}

/// What `word*` searches: the words as written ([`Fields::words`]) that begin so. The
/// beginning is also noted in `prefixes`, for the snippets.
fn prefix_leaf(
    index: &tantivy::Index,
    f: &Fields,
    word: &str,
    prefixes: &mut Prefixes,
) -> Result<UserInputAst, SearchError> {
    let start = beginning(word)?;
    let leaf = UserInputLeaf::Regex {
        field: Some(index.schema().get_field_name(f.words).to_string()),
        pattern: format!("{}.*", regex::escape(&start)),
    };
    prefixes.push(start);
    Ok(UserInputAst::Leaf(Box::new(leaf)))
}

/// The first `most` words of [`Fields::words`] that begin with `start` (as that field
/// writes words), in order, over all segments.
fn words_beginning(
    searcher: &Searcher,
    f: &Fields,
    start: &str,
    most: usize,
) -> Result<std::collections::BTreeSet<String>, SearchError> {
    let mut words = std::collections::BTreeSet::new();
    for segment in searcher.segment_readers() {
        let index = segment.inverted_index(f.words)?;
        let mut stream = index
            .terms()
            .range()
            .ge(start.as_bytes())
            .into_stream()
            .map_err(tantivy::TantivyError::from)?;
        // Each segment's first `most`: together they hold the index's first `most`.
        let mut taken = 0;
        while taken < most && stream.advance() {
            match std::str::from_utf8(stream.key()) {
                Ok(word) if word.starts_with(start) => {
                    words.insert(word.to_string());
                    taken += 1;
                }
                _ => break,
            }
        }
    }
    Ok(words.into_iter().take(most).collect())
}

/// `query` and, for the snippet generator, the words that begin with `prefixes` (a few
/// each) as each family's field keeps them (stemmed): the generator highlights the words
/// a query names and cannot list those an expression matches.
fn with_prefixed_words(
    searcher: &Searcher,
    query: &dyn Query,
    f: &Fields,
    families: &[usize],
    prefixes: &[String],
) -> Result<Box<dyn Query>, SearchError> {
    if prefixes.is_empty() {
        return Ok(query.box_clone());
    }
    let mut words = std::collections::BTreeSet::new();
    for start in prefixes {
        words.extend(words_beginning(searcher, f, start, PREFIX_HIGHLIGHTS)?);
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Should, query.box_clone())];
    for &family in families {
        let field = f.text_by_family[family];
        let mut analyzer = searcher.index().tokenizer_for_field(field)?;
        for word in &words {
            analyzer.token_stream(word).process(&mut |token| {
                clauses.push((
                    Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(field, &token.text),
                        IndexRecordOption::Basic,
                    )),
                ));
            });
        }
    }
    Ok(Box::new(BooleanQuery::new(clauses)))
}

/// The parsed query with every required part that only excludes ("IND AND NOT coa"
/// parses as IND and a part holding nothing but NOT coa) merged into the query around
/// it: alone, such a part matches no document, and with it the whole query (tantivy
/// #2584). Merged, it excludes from what the rest matches, as `IND -coa` does.
fn hoist_exclusions(query: Box<dyn Query>) -> Box<dyn Query> {
    let Some(boolean) = query.downcast_ref::<BooleanQuery>() else {
        return query;
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (occur, sub) in boolean.clauses() {
        let sub = hoist_exclusions(sub.box_clone());
        let only_excludes = sub.downcast_ref::<BooleanQuery>().filter(|inner| {
            !inner.clauses().is_empty() && inner.clauses().iter().all(|(o, _)| *o == Occur::MustNot)
        });
        match only_excludes {
            Some(inner) if *occur == Occur::Must => {
                clauses.extend(inner.clauses().iter().map(|(o, q)| (*o, q.box_clone())))
            }
            _ => clauses.push((*occur, sub)),
        }
    }
    // Nothing left that includes: everything but what is excluded.
    if clauses.iter().all(|(o, _)| *o == Occur::MustNot) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// What is wrong with a query whose signs the grammar would drop without a word:
/// operators of other search tools (`||`, `&&`, `!`), which read as nothing, so that
/// `tolk || gehoor` asked for both; or no word at all (`?`, `...`), which found nothing.
fn unread_operators(q: &str) -> Option<String> {
    let outside_phrases: String = q.split('"').step_by(2).collect::<Vec<_>>().join(" ");
    // `!` before a word reads as "not" elsewhere; after one ("schandalig!") it is
    // punctuation, as everywhere in a query.
    let chars: Vec<char> = outside_phrases.chars().collect();
    let negating = chars.iter().enumerate().any(|(i, &c)| {
        let starts = i == 0 || chars[i - 1].is_whitespace() || chars[i - 1] == '(';
        let before_word = chars
            .get(i + 1)
            .is_some_and(|&n| n.is_alphanumeric() || n == '(' || n == '"');
        c == '!' && starts && before_word
    });
    for (sign, found, instead) in [
        ("||", outside_phrases.contains("||"), "OR"),
        ("&&", outside_phrases.contains("&&"), "AND"),
        ("!", negating, "NOT or -"),
    ] {
        if found {
            return Some(format!(
                "{sign:?} is not an operator here: write {instead} (`tolk OR gehoor`, `tolk AND gehoor`, `tolk -coa`)"
            ));
        }
    }
    // A `*` without a word has its own message.
    let wordless = !q.chars().any(char::is_alphanumeric) && !q.contains('*');
    wordless.then(|| {
        "the query holds no word to search for; leave `q` empty (or `*`) for every mention"
            .to_string()
    })
}

/// Whether `query` matches every mention but those it excludes (`-coa`, `NOT coa`), as
/// [`hoist_exclusions`] writes such a query.
fn excludes_only(query: &dyn Query) -> bool {
    query.downcast_ref::<BooleanQuery>().is_some_and(|b| {
        b.clauses().iter().all(|(occur, sub)| {
            *occur == Occur::MustNot
                || (*occur == Occur::Must
                    && (sub.downcast_ref::<AllQuery>().is_some() || excludes_only(&**sub)))
        })
    })
}

/// `q` with every `'` outside a "phrase" read as a space. To the query parser it opens a
/// phrase, but in the languages searched here it is part of words: foto's, zo'n,
/// 's-Hertogenbosch, l'IND, IND'de, it's. The index splits words there too, so the
/// words on either side are searched as the index holds them — except a single letter,
/// which says nothing of what is searched: the `'s` of a plural or a possessive (azc's,
/// foto's, IND's, zo'n) and an article elided before a word (l'IND, d'asile) are left
/// out, so that `azc's` finds what `azc` finds, as `asielzoekers` finds what
/// `asielzoeker` finds.
/// The apostrophe as typed: ASCII, typographic (U+2019, what phones write) and the
/// modifier letter (U+02BC, Ukrainian).
const APOSTROPHES: [char; 3] = [
    '\'',
    '\u{2019}',
    crate::pipeline::relevance::MODIFIER_APOSTROPHE,
];

fn apostrophes_as_spaces(q: &str) -> std::borrow::Cow<'_, str> {
    if !q.contains(APOSTROPHES) {
        return std::borrow::Cow::Borrowed(q);
    }
    // A phone types ’, Ukrainian writes ʼ: each is the apostrophe.
    let chars: Vec<char> = q
        .chars()
        .map(|c| if APOSTROPHES.contains(&c) { '\'' } else { c })
        .collect();
    let letter = |at: Option<usize>| {
        at.and_then(|at| chars.get(at))
            .is_some_and(|c| c.is_alphabetic())
    };
    let mut out = String::with_capacity(q.len());
    let mut in_phrase = false;
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        if c == '"' {
            in_phrase = !in_phrase;
        }
        if c != '\'' || in_phrase {
            out.push(c);
            at += 1;
            continue;
        }
        let (before, after) = (letter(at.checked_sub(1)), letter(Some(at + 1)));
        if before && after && !letter(Some(at + 2)) {
            // A one-letter ending: the word is before it.
            at += 2;
        } else if before && after && !letter(at.checked_sub(2)) {
            // A one-letter article: the word is after it.
            out.pop();
            at += 1;
        } else {
            out.push(' ');
            at += 1;
        }
    }
    out.into()
}

/// `q` with every kind of space (a non-breaking one pasted from a web page) a plain one,
/// a comma or semicolon outside a phrase a space, and the word `IN` in lower case wherever the grammar would read it as a word: alone,
/// after `-` or `+`, or beside a sign that ends its words (`(IN tolk)`). The grammar
/// takes it for the start of a set (`field: IN [a b]`) and refuses the query. The index
/// lower-cases words anyway, also in a phrase.
fn plain_words(q: &str) -> String {
    // A comma or semicolon between words outside a phrase lists them ("IND,COA"):
    // read as a space, each word is searched, rather than the two as a phrase, which
    // found only posts that write them side by side. (A slash stays: `/…/` is how a
    // regular expression is written, which is refused with its own message.)
    let mut in_phrase = false;
    let spaced: String = q
        .chars()
        .map(|c| {
            in_phrase ^= c == '"';
            let lists = !in_phrase && matches!(c, ',' | ';');
            if c.is_whitespace() || lists {
                ' '
            } else {
                c
            }
        })
        .collect();
    if !spaced.contains("IN") {
        return spaced;
    }
    let mut out = String::with_capacity(spaced.len());
    let mut rest = spaced.as_str();
    while !rest.is_empty() {
        let end = rest.find(ends_a_word).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        match word.trim_start_matches(['-', '+']) == "IN" {
            true => out.push_str(&word.to_lowercase()),
            false => out.push_str(word),
        }
        let sign = after.chars().next().map_or(0, char::len_utf8);
        out.push_str(&after[..sign]);
        rest = &after[sign..];
    }
    out
}

/// Where the query grammar ends a word: a space, or a sign of its own.
fn ends_a_word(c: char) -> bool {
    c == ' ' || "^`:{}\"'[]()\\".contains(c)
}

/// A query the parser took that the index cannot run ("url:*" asks which mentions have
/// a url, which only fast fields can answer; "nosuchfield:*" for a field there is not,
/// which the parser leaves to the search): the query's fault, not the server's.
fn as_query_error(e: SearchError) -> SearchError {
    match e {
        SearchError::Index(tantivy::TantivyError::SchemaError(detail)) => SearchError::Query(
            format!("this query cannot be run ({detail}); search words, \"phrases\", AND/OR/NOT, or filter with lang=, source=, from=, to="),
        ),
        SearchError::Index(tantivy::TantivyError::FieldNotFound(field)) => SearchError::Query(
            format!("there is no field {field:?}; search words, \"phrases\", AND/OR/NOT, or filter with lang=, source=, from=, to="),
        ),
        other => other,
    }
}

fn describe_query_error(e: &tantivy::query::QueryParserError) -> String {
    use tantivy::query::QueryParserError as E;
    match e {
        E::SyntaxError(detail) => {
            format!("syntax error ({detail}); quote phrases with \"…\" and balance parentheses")
        }
        E::FieldDoesNotExist(field) | E::FieldNotIndexed(field) => {
            format!("there is no field {field:?}; search words, \"phrases\", AND/OR/NOT, or filter with lang=, source=, from=, to=")
        }
        other => other.to_string(),
    }
}

fn with_filters(f: &Fields, text: Box<dyn Query>, r: &SearchRequest) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if let Some(lang) = &r.lang {
        clauses.push((Occur::Must, exact(f.lang, lang)));
    }
    if let Some(source) = &r.source {
        clauses.push((Occur::Must, exact(f.source, source)));
    }
    if let Some(aspect) = &r.aspect {
        clauses.push((Occur::Must, exact(f.aspect, aspect)));
    }
    if let Some(complaint) = r.complaint {
        let value = if complaint { "true" } else { "false" };
        clauses.push((Occur::Must, exact(f.complaint, value)));
    }
    if r.from.is_some() || r.to.is_some() {
        // Both ends inclusive: `to=2026-11-20` means to the end of that day. The index
        // keeps whole seconds: a `from` with a fraction begins at the next one, or a post
        // at 22:59:59 would be found from 22:59:59.5.
        let bound = |t: Option<DateTime<Utc>>| t.map_or(Bound::Unbounded, Bound::Included);
        let from = r.from.map(|t| {
            let whole = t.with_nanosecond(0).unwrap_or(t);
            if whole < t {
                whole + chrono::Duration::seconds(1)
            } else {
                whole
            }
        });
        clauses.push((Occur::Must, published(f, bound(from), bound(r.to))));
    }
    if clauses.is_empty() {
        return text;
    }
    clauses.extend(conjunction_clauses(text));
    Box::new(BooleanQuery::new(clauses))
}

/// The words' clauses, for the filters to join. Wrapped as one clause, a conjunction of
/// words became a conjunction inside another, which tantivy walks through a boxed scorer
/// for every candidate; joined, it intersects every clause at once, rarest first.
fn conjunction_clauses(text: Box<dyn Query>) -> Vec<(Occur, Box<dyn Query>)> {
    if let Some(words) = text.downcast_ref::<BooleanQuery>() {
        let clauses = words.clauses();
        // With a Should clause the words are a disjunction, which stays one clause.
        if clauses.iter().any(|(occur, _)| *occur == Occur::Must)
            && clauses.iter().all(|(occur, _)| *occur != Occur::Should)
        {
            return clauses
                .iter()
                .map(|(occur, query)| (*occur, query.box_clone()))
                .collect();
        }
    }
    vec![(Occur::Must, text)]
}

/// The facets a request still needs counted: a filter already answers its own facet.
fn open_facets(r: &SearchRequest) -> Vec<&'static str> {
    let mut names = Vec::with_capacity(3);
    if r.lang.is_none() {
        names.push("lang");
    }
    if r.source.is_none() {
        names.push("source");
    }
    names.push("aspect");
    if r.complaint.is_none() {
        names.push("complaint");
    }
    names
}

fn facet_collector(searcher: &Searcher, names: &[&str]) -> AggregationCollector {
    let request: serde_json::Map<String, serde_json::Value> = names
        .iter()
        .map(|name| {
            let agg = serde_json::json!({ "terms": { "field": name, "size": FACET_SIZE } });
            (name.to_string(), agg)
        })
        .collect();
    let request: Aggregations = serde_json::from_value(serde_json::Value::Object(request))
        .expect("facet aggregation request is well-formed");
    let context = AggContextParams::new(
        AggregationLimitsGuard::default(),
        searcher.index().tokenizers().clone(),
    );
    AggregationCollector::from_aggs(request, context)
}

fn facets(
    results: AggregationResults,
    request: &SearchRequest,
    total: usize,
) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    let complaint = request.complaint.map(|c| c.to_string());
    for (name, filter) in [
        ("lang", &request.lang),
        ("source", &request.source),
        ("complaint", &complaint),
    ] {
        if let Some(value) = filter {
            let counts = if total > 0 {
                BTreeMap::from([(value.clone(), total as u64)])
            } else {
                BTreeMap::new()
            };
            out.insert(name.to_string(), counts);
        }
    }
    for name in ["lang", "source", "aspect", "complaint"] {
        if out.contains_key(name) {
            continue;
        }
        let mut counts = BTreeMap::new();
        if let Some(AggregationResult::BucketResult(BucketResult::Terms { buckets, .. })) =
            results.0.get(name)
        {
            for bucket in buckets {
                let key = match &bucket.key {
                    Key::Str(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                counts.insert(key, bucket.doc_count);
            }
        }
        out.insert(name.to_string(), counts);
    }
    out
}

/// One snippet generator per family, built lazily from the user's query.
struct Snippets {
    by_family: Vec<Option<SnippetGenerator>>,
}

impl Snippets {
    fn new(
        searcher: &Searcher,
        query: &dyn Query,
        f: &Fields,
        families: &[usize],
    ) -> Result<Snippets, SearchError> {
        let mut by_family: Vec<Option<SnippetGenerator>> =
            (0..FAMILIES.len()).map(|_| None).collect();
        for &family in families {
            let mut generator =
                SnippetGenerator::create(searcher, query, f.text_by_family[family])?;
            generator.set_max_num_chars(SNIPPET_CHARS);
            by_family[family] = Some(generator);
        }
        Ok(Snippets { by_family })
    }

    fn render(&self, lang: &str, text: &str) -> String {
        let generator = self.by_family.get(family_of(lang)).and_then(Option::as_ref);
        let html = generator
            .map(|g| framed(text, &g.snippet(text)))
            .unwrap_or_default();
        if html.is_empty() {
            // No term of the query is in the text (inbox, or a title-only match): show its start.
            return balanced_directions(crate::pipeline::extract::escape_markup(&opening(text)));
        }
        balanced_directions(html)
    }
}

/// The start of `text`, about [`SNIPPET_CHARS`] long, for a snippet without a query
/// term: cut after the last whole word in the second half of its reach, or, where there
/// is no space there, between two characters that a reader sees as two (not inside an
/// emoji joined by zero-width joiners, nor between a letter and its mark), and marked
/// `…` where text follows.
fn opening(text: &str) -> String {
    let Some((reach, _)) = text.char_indices().nth(SNIPPET_CHARS) else {
        return text.to_string();
    };
    let within = &text[..reach];
    let end = match within.rfind(char::is_whitespace) {
        // A space early on would leave a word and cut a long link: only in the second
        // half of the reach.
        Some(space) if space >= within.len() / 2 => space,
        _ => {
            // A joiner, a variation selector, a skin tone or a mark belongs to the
            // character before it; a zero-width joiner also to the one after it.
            let attaches = |c: char| {
                c == '\u{200d}'
                    || ('\u{fe00}'..='\u{fe0f}').contains(&c)
                    || ('\u{1f3fb}'..='\u{1f3ff}').contains(&c)
                    || crate::pipeline::relevance::is_joiner(c)
            };
            let mut end = reach;
            while let Some(before) = text[..end].chars().next_back() {
                let next = text[end..].chars().next();
                if before == '\u{200d}' || next.is_some_and(attaches) {
                    end -= before.len_utf8();
                } else {
                    break;
                }
            }
            if end == 0 {
                reach
            } else {
                end
            }
        }
    };
    format!("{}…", within[..end].trim_end())
}

/// `snippet` with its direction embeddings and isolates paired: a cut can leave an
/// opening mark without its end, which would turn around whatever a page shows after
/// the snippet, or an end without its opening. An unpaired end is dropped; an opening
/// left open is closed at the end.
fn balanced_directions(snippet: String) -> String {
    let is_opening = |c: char| {
        matches!(
            c,
            '\u{202a}' | '\u{202b}' | '\u{202d}' | '\u{202e}' | '\u{2066}'..='\u{2068}'
        )
    };
    let is_isolate = |c: char| matches!(c, '\u{2066}'..='\u{2068}');
    if !snippet.contains(|c: char| is_opening(c) || c == '\u{202c}' || c == '\u{2069}') {
        return snippet;
    }
    let mut open: Vec<char> = Vec::new();
    let mut out = String::with_capacity(snippet.len() + 8);
    for c in snippet.chars() {
        match c {
            c if is_opening(c) => {
                open.push(c);
                out.push(c);
            }
            // The end of an isolate ends the embeddings inside it too.
            '\u{2069}' => {
                if let Some(at) = open.iter().rposition(|&o| is_isolate(o)) {
                    open.truncate(at);
                    out.push(c);
                }
            }
            '\u{202c}' => {
                if open.last().is_some_and(|&o| !is_isolate(o)) {
                    open.pop();
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    for o in open.into_iter().rev() {
        out.push(if is_isolate(o) {
            '\u{2069}'
        } else {
            '\u{202c}'
        });
    }
    out
}

/// Bytes a snippet's end may move on to end where its word group does ("50%", a closing
/// quote or bracket, an emoji).
const SNIPPET_TAIL_BYTES: usize = 24;

/// The snippet's fragment as a reader needs it: widened to about [`SNIPPET_CHARS`] with
/// the words before it (a match that opens the fragment, as one in a text's last window
/// does, would stand alone), ended where its word group ends rather than before "%" or
/// a closing quote, with "…" where the text goes on, escaped, and the matches in `<b>`.
/// Empty when nothing matched.
fn framed(text: &str, snippet: &tantivy::snippet::Snippet) -> String {
    if snippet.is_empty() {
        return String::new();
    }
    let fragment = snippet.fragment_range();
    let highlights: Vec<std::ops::Range<usize>> =
        tantivy::snippet::collapse_overlapped_ranges(snippet.highlighted())
            .into_iter()
            .map(|r| r.start + fragment.start..r.end + fragment.start)
            .collect();
    let tail = &text[fragment.end..];
    let word_group = tail.find(char::is_whitespace).unwrap_or(tail.len());
    let end = if word_group <= SNIPPET_TAIL_BYTES {
        fragment.end + word_group
    } else {
        fragment.end
    };
    let room = SNIPPET_CHARS.saturating_sub(text[fragment.start..end].chars().count());
    let before = &text[..fragment.start];
    let start = match before.char_indices().rev().nth(room.saturating_sub(1)) {
        _ if room == 0 || before.is_empty() => fragment.start,
        None => 0,
        // From the first whole word in reach.
        Some((at, _)) => before[at..]
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
            .map_or(fragment.start, |(space, c)| at + space + c.len_utf8()),
    };
    let escape = crate::pipeline::extract::escape_markup;
    let mut html = String::with_capacity(end - start + 64);
    if start > 0 {
        html.push('…');
    }
    let mut at = start;
    for range in highlights {
        html.push_str(&escape(&text[at..range.start]));
        html.push_str("<b>");
        html.push_str(&escape(&text[range.clone()]));
        html.push_str("</b>");
        at = range.end;
    }
    html.push_str(&escape(&text[at..end]));
    if end < text.len() {
        html.push('…');
    }
    html
}

fn to_hit(f: &Fields, doc: &TantivyDocument, snippets: &Snippets) -> Hit {
    let text_of = |field| stored_text(doc, field);
    let lang = text_of(f.lang).unwrap_or_default();
    let text = text_of(f.text).unwrap_or_default();
    Hit {
        id: text_of(f.id).unwrap_or_default(),
        url: text_of(f.url),
        title: text_of(f.title).unwrap_or_default(),
        snippet: snippets.render(&lang, &text),
        lang,
        lang_confidence: doc.get_first(f.lang_confidence).and_then(|v| v.as_f64()),
        published: stored_time(doc, f.published),
        fetched: stored_time(doc, f.fetched),
        source: text_of(f.source).unwrap_or_default(),
        topic: text_of(f.topic),
        why: text_of(f.why),
        aspects: doc
            .get_all(f.aspect)
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        aspects_why: text_of(f.aspect_why),
        complaint: text_of(f.complaint).map(|c| c == "true"),
        complaint_score: doc.get_first(f.complaint_score).and_then(|v| v.as_f64()),
        complaint_why: text_of(f.complaint_why),
        cluster: text_of(f.cluster),
        cluster_size: 0,
        voices: 0,
        author: text_of(f.author),
        thread: text_of(f.thread),
        text: None,
    }
}

/// Fills in each hit's cluster size and distinct voices, counted over the clusters on
/// the page (not over the whole result).
fn add_cluster_counts(
    searcher: &Searcher,
    f: &Fields,
    hits: &mut [Hit],
) -> Result<(), SearchError> {
    // A post without words to compare (a link, handles) has no cluster: it is one post
    // and one voice all the same.
    for hit in hits.iter_mut().filter(|h| h.cluster.is_none()) {
        hit.cluster_size = 1;
        hit.voices = 1;
    }
    let mut clusters: Vec<&str> = hits.iter().filter_map(|h| h.cluster.as_deref()).collect();
    clusters.sort_unstable();
    clusters.dedup();
    let counts = super::docs::cluster_counts(searcher, f, None, &clusters)?;
    for hit in hits {
        if let Some(count) = hit.cluster.as_ref().and_then(|c| counts.get(c)) {
            hit.cluster_size = count.size;
            // Posts that name no author (feed items) are one voice, as the alerts count
            // a cluster first posted without one.
            hit.voices = count.voices.max(1);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{
        apostrophes_as_spaces, balanced_directions, opening, plain_words, unread_operators,
        SNIPPET_CHARS,
    };

    #[test]
    fn operators_of_other_tools_and_queries_without_words_are_refused() {
        for (q, says) in [
            ("tolk || gehoor", "\"||\" is not an operator here: write OR"),
            ("tolk && gehoor", "write AND"),
            ("!tolk", "write NOT or -"),
            ("gehoor (!tolk)", "write NOT or -"),
            ("?", "no word to search for"),
            ("...", "no word to search for"),
            ("\"\"", "no word to search for"),
        ] {
            let problem = unread_operators(q).expect(q);
            assert!(problem.contains(says), "{q}: {problem}");
        }
        for q in [
            "schandalig!",
            "wachten !!",
            "\"tolk || gehoor\"",
            "tolk OR gehoor",
            "IND?",
        ] {
            assert_eq!(unread_operators(q), None, "{q}");
        }
    }

    #[test]
    fn the_opening_of_a_long_text_ends_at_a_word_or_a_whole_character() {
        let words = "De procedure bij de IND duurt lang ".repeat(10);
        let cut = opening(&words);
        let kept = cut.strip_suffix('…').expect("marked as cut");
        assert!(kept.chars().count() <= SNIPPET_CHARS, "{cut}");
        // A whole word: the text goes on with a space right after it.
        assert!(words[kept.len()..].starts_with(' '), "{cut}");
        assert!(words.starts_with(kept));
        assert_eq!(opening("kort"), "kort");
        // A short word and a long link: not the word alone.
        let link = format!("Zie https://example.org/{}", "a".repeat(300));
        assert_eq!(opening(&link).chars().count(), SNIPPET_CHARS + 1, "{link}");
        // No space in reach: not inside a family emoji, nor between a letter and its mark.
        let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦";
        let emoji = family.repeat(100);
        let cut = opening(&emoji);
        let kept = cut.trim_end_matches('…');
        assert!(
            !kept.ends_with('\u{200d}') && kept.ends_with('👦'),
            "{kept:?}"
        );
        let marked = "مُ".repeat(200);
        let kept = opening(&marked);
        assert!(kept.trim_end_matches('…').ends_with('\u{064f}'), "{kept:?}");
    }

    #[test]
    fn an_apostrophe_is_a_space_and_a_letter_beside_it_no_word() {
        for (typed, searched) in [
            ("azc's", "azc"),
            ("foto's en video's", "foto en video"),
            ("zo'n wachttijd", "zo wachttijd"),
            ("l'IND d'asile", "IND asile"),
            ("IND's", "IND"),
            // Longer on either side, or at a word's edge: a space, both words searched.
            ("IND'den", "IND den"),
            ("qu'il", "qu il"),
            ("'s-Hertogenbosch", " s-Hertogenbosch"),
            ("'s avonds", " s avonds"),
            ("tolk'", "tolk "),
            ("x'y", "x"),
            ("'", " "),
            // In a phrase, the index's words: left to the analyser.
            ("\"geen foto's\" azc's", "\"geen foto's\" azc"),
            // As a phone types it, and the Ukrainian apostrophe.
            ("azc\u{2019}s l\u{2019}IND", "azc IND"),
            ("IND\u{2019}den", "IND den"),
            ("azc\u{02bc}s", "azc"),
        ] {
            assert_eq!(apostrophes_as_spaces(typed), searched, "{typed}");
        }
        assert!(matches!(
            apostrophes_as_spaces("tolk"),
            std::borrow::Cow::Borrowed("tolk")
        ));
    }

    #[test]
    fn in_becomes_a_word_wherever_the_grammar_would_read_it_as_one() {
        for (typed, plain) in [
            ("wonen IN Ter Apel", "wonen in Ter Apel"),
            ("IN", "in"),
            ("(IN tolk)", "(in tolk)"),
            ("tolk -IN +IN", "tolk -in +in"),
            ("IN:tolk IN\"", "in:tolk in\""),
            ("\"wonen IN\" azc", "\"wonen in\" azc"),
            ("IN IN IN", "in in in"),
        ] {
            assert_eq!(plain_words(typed), plain, "{typed}");
        }
        // Words that only begin or end so, and the other operators, stay as typed.
        for kept in [
            "IND tolk",
            "MIN-IN",
            "IN-huis",
            "INburgering",
            "tolk AND NOT coa",
        ] {
            assert_eq!(plain_words(kept), kept);
        }
        // Every space a plain one, also where there is no IN.
        assert_eq!(plain_words("tolk\u{a0}gehoor\tIN"), "tolk gehoor in");
        assert_eq!(plain_words("tolk\u{2003}gehoor"), "tolk gehoor");
        // A list of words is each word; in a phrase, the phrase.
        assert_eq!(plain_words("IND,COA tolk;gehoor"), "IND COA tolk gehoor");
        assert_eq!(plain_words("\"IND,COA\" x,y"), "\"IND,COA\" x y");
    }

    #[test]
    fn a_snippet_cut_inside_an_isolate_is_closed_and_a_stray_end_dropped() {
        let lri = '\u{2066}';
        let pdi = '\u{2069}';
        assert_eq!(
            balanced_directions(format!("…قال فقط: {lri}Uw <b>aanvraag</b> is…")),
            format!("…قال فقط: {lri}Uw <b>aanvraag</b> is…{pdi}")
        );
        assert_eq!(
            balanced_directions(format!("…<b>beslissing</b>{pdi} وصلت")),
            "…<b>beslissing</b> وصلت"
        );
        let whole = format!("رسالة {lri}IND{pdi} اليوم");
        assert_eq!(balanced_directions(whole.clone()), whole);
        // An embedding inside an isolate ends with it; a PDF outside any is dropped.
        assert_eq!(
            balanced_directions(format!("{lri}a\u{202b}b{pdi}\u{202c}c")),
            format!("{lri}a\u{202b}b{pdi}c")
        );
    }
}
