//! Erasure and retention: which mentions go, shown before they go.
//!
//! `webcare forget` and the admin API erase by permalink or by author; retention erases
//! what was published before a cut-off. All three are one [`Erasure`], previewed with
//! [`MentionIndex::preview_erasure`] (for `--dry-run` and the report) and carried out by
//! [`MentionWriter::erase`] inside the writer, followed at once by a commit.

use std::ops::Bound;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::Query;
use tantivy::schema::TantivyDocument;
use tantivy::Order;

use super::docs::{exact, published, stored_text, stored_time};
use super::{Fields, IndexError, MentionIndex, MentionWriter};

/// Which mentions to erase.
#[derive(Debug, Clone, PartialEq)]
pub enum Erasure {
    /// The mention with this permalink (canonicalised as sources store it).
    Url(String),
    /// Every mention by this author: the pseudonym, as stored.
    Author(String),
    /// Every mention published before this time (retention).
    PublishedBefore(DateTime<Utc>),
}

impl Erasure {
    fn query(&self, f: &Fields) -> Box<dyn Query> {
        match self {
            Erasure::Url(url) => exact(f.url, url),
            Erasure::Author(pseudonym) => exact(f.author, pseudonym),
            Erasure::PublishedBefore(t) => published(f, Bound::Unbounded, Bound::Excluded(*t)),
        }
    }

    /// For the audit trail: never the raw handle (only its pseudonym is known). A
    /// permalink may name its author: the audit trail's writer pseudonymises it
    /// ([`crate::pipeline::Pipeline::redact`]), and logs get [`Erasure::summary`].
    pub fn describe(&self) -> String {
        match self {
            Erasure::Url(url) => format!("url={url}"),
            Erasure::Author(pseudonym) => format!("author={pseudonym}"),
            Erasure::PublishedBefore(t) => format!("published before {}", t.to_rfc3339()),
        }
    }

    /// For logs, which keep no permalink: the site of a URL, the rest as described.
    pub fn summary(&self) -> String {
        match self {
            Erasure::Url(url) => format!(
                "url on {}",
                url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_default()
            ),
            other => other.describe(),
        }
    }
}

/// A mention that an erasure would remove, as a dry run shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ErasedMention {
    pub id: String,
    pub source: String,
    pub url: Option<String>,
    pub published: DateTime<Utc>,
}

/// How many mentions an erasure matches, and the oldest few of them.
#[derive(Debug, Clone, Serialize)]
pub struct ErasurePreview {
    pub matching: usize,
    pub examples: Vec<ErasedMention>,
}

impl MentionIndex {
    /// What `erasure` would remove from the last commit, without removing anything.
    pub fn preview_erasure(
        &self,
        erasure: &Erasure,
        examples: usize,
    ) -> Result<ErasurePreview, IndexError> {
        let (_, reader, f) = self.parts();
        let searcher = reader.searcher();
        let query = erasure.query(f);
        let oldest = TopDocs::with_limit(examples.max(1))
            .order_by_fast_field::<tantivy::DateTime>("published", Order::Asc);
        let (docs, matching) = searcher.search(&*query, &(oldest, Count))?;
        let mut out = Vec::with_capacity(docs.len());
        for (_, address) in docs.into_iter().take(examples) {
            let doc: TantivyDocument = searcher.doc(address)?;
            out.push(ErasedMention {
                id: stored_text(&doc, f.id).unwrap_or_default(),
                source: stored_text(&doc, f.source).unwrap_or_default(),
                url: stored_text(&doc, f.url),
                published: stored_time(&doc, f.published),
            });
        }
        Ok(ErasurePreview {
            matching,
            examples: out,
        })
    }
}

impl MentionWriter {
    /// Remembers a permalink or author so that it is not stored again — also when
    /// nothing of it is stored yet (an erasure asked for before the post arrives) —
    /// then deletes every mention `erasure` matches (visible after the next commit).
    pub fn erase(&mut self, erasure: &Erasure) -> Result<(), IndexError> {
        self.erased.remember(erasure)?;
        self.writer.delete_query(erasure.query(&self.fields))?;
        Ok(())
    }
}

impl MentionIndex {
    /// Erases at once, with a writer of its own: for the command line when the daemon
    /// is not running (it holds the writer otherwise; use the admin API then).
    pub fn erase_now(&self, erasure: &Erasure) -> Result<usize, IndexError> {
        let mut writer = self.writer()?;
        let matching = self.preview_erasure(erasure, 0)?.matching;
        writer.erase(erasure)?;
        if matching > 0 {
            writer.commit(&self.checkpoints()?)?;
        }
        writer.finish()?;
        Ok(matching)
    }
}
