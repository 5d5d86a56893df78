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

/// The forms of a permalink that name the same post: over http or https, with or
/// without `www.`, with or without a slash at the end; as given and as canonicalised
/// now (an older webcare stored links with less taken out of them: a user name before
/// the host, a session in the query). Whoever asks for an erasure copies the address
/// from wherever they saw it; a source stores one of these.
pub fn url_forms(url: &str) -> Vec<String> {
    let mut forms = forms_of(url);
    if let Some(canonical) = crate::pipeline::extract::canonical_url(url) {
        for form in forms_of(&canonical) {
            if !forms.contains(&form) {
                forms.push(form);
            }
        }
    }
    forms
}

/// [`url_forms`] of `url` as it is.
fn forms_of(url: &str) -> Vec<String> {
    let mut forms = vec![url.to_string()];
    let Ok(parsed) = url::Url::parse(url) else {
        return forms;
    };
    let Some(host) = parsed.host_str() else {
        return forms;
    };
    let bare = host.strip_prefix("www.").unwrap_or(host);
    let path = parsed.path();
    let trimmed = path.trim_end_matches('/');
    let rest = |path: &str| {
        let mut rest = path.to_string();
        if let Some(query) = parsed.query() {
            rest.push('?');
            rest.push_str(query);
        }
        rest
    };
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    for scheme in ["https", "http"] {
        for host in [bare.to_string(), format!("www.{bare}")] {
            for path in [trimmed.to_string(), format!("{trimmed}/")] {
                let form = format!("{scheme}://{host}{port}{}", rest(&path));
                if !forms.contains(&form) {
                    forms.push(form);
                }
            }
        }
    }
    forms
}

impl Erasure {
    fn query(&self, f: &Fields) -> Box<dyn Query> {
        match self {
            Erasure::Url(url) => Box::new(tantivy::query::BooleanQuery::new(
                url_forms(url)
                    .iter()
                    .map(|form| (tantivy::query::Occur::Should, exact(f.url, form)))
                    .collect(),
            )),
            Erasure::Author(pseudonym) => exact(f.author, pseudonym),
            Erasure::PublishedBefore(t) => published(f, Bound::Unbounded, Bound::Excluded(*t)),
        }
    }

    /// For the audit trail: never the raw handle (only its pseudonym is known). A
    /// permalink may name its author: the audit trail's writer pseudonymises it
    /// ([`crate::pipeline::Pipeline::redact`]), and logs get [`Erasure::summary`].
    pub fn describe(&self) -> String {
        match self {
            Erasure::Url(url) => format!("url={}", canonical(url)),
            Erasure::Author(pseudonym) => format!("author={pseudonym}"),
            // Whole seconds: nine digits of nanoseconds pass for a BSN to the redaction
            // that the audit trail applies.
            Erasure::PublishedBefore(t) => format!(
                "published before {}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        }
    }

    /// For the audit trail, which is kept for a year: a permalink may name its author
    /// (a profile path, a title with a name) where the redaction sees none, and the post
    /// was erased to be gone. So the site and the first 12 hex digits of the permalink's
    /// BLAKE3 hash, as `erased.json` keeps it: whoever holds the request's permalink can
    /// match it (`webcare forget --url URL --dry-run` prints the same).
    pub fn audited(&self) -> String {
        match self {
            Erasure::Url(url) => format!(
                "{} #{}",
                self.summary(),
                &super::erased::hash(&canonical(url))[..12]
            ),
            other => other.describe(),
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

/// A permalink as sources store it now: what an erasure says it is about (the one it was
/// asked with may hold a password before the host).
fn canonical(url: &str) -> String {
    crate::pipeline::extract::canonical_url(url).unwrap_or_else(|| url.to_string())
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
    /// then deletes every mention `erasure` matches (visible after the next commit),
    /// and says how many.
    pub fn erase(&mut self, erasure: &Erasure) -> Result<usize, IndexError> {
        self.erased.remember(erasure)?;
        let query = erasure.query(&self.fields);
        let searcher = self.reader.searcher();
        if let Erasure::Author(_) = erasure {
            // An author's posts may come back without the author: remembered each.
            let mut posts = Vec::new();
            for address in searcher.search(&*query, &tantivy::collector::DocSetCollector)? {
                let doc: TantivyDocument = searcher.doc(address)?;
                let id = stored_text(&doc, self.fields.id).unwrap_or_default();
                posts.push((stored_text(&doc, self.fields.url), id));
            }
            self.erased.remember_posts(&posts)?;
        }
        let matching = searcher.search(&*query, &Count)?;
        if matching > 0 {
            self.writer.delete_query(query)?;
            self.rewrite_pending = true;
        }
        Ok(matching)
    }

    /// Deletes the mentions the list of erased posts names that are in the index all the
    /// same: an index restored from a backup made before an erasure holds them again.
    /// Reads the permalinks from the index's own term list (the list keeps only their
    /// hashes); how many mentions go (visible after the next commit).
    pub fn erase_again(&mut self) -> Result<usize, IndexError> {
        let searcher = self.reader.searcher();
        let mut terms: Vec<tantivy::Term> = self
            .erased
            .authors()
            .map(|pseudonym| tantivy::Term::from_field_text(self.fields.author, pseudonym))
            .collect();
        if self.erased.has_urls() {
            let mut urls = std::collections::BTreeSet::new();
            for segment in searcher.segment_readers() {
                let inverted = segment.inverted_index(self.fields.url)?;
                let mut stream = inverted
                    .terms()
                    .stream()
                    .map_err(|e| IndexError::Tantivy(e.into()))?;
                while stream.advance() {
                    if let Ok(url) = std::str::from_utf8(stream.key()) {
                        if self.erased.blocks_url(url) {
                            urls.insert(url.to_string());
                        }
                    }
                }
            }
            terms.extend(
                urls.iter()
                    .map(|url| tantivy::Term::from_field_text(self.fields.url, url)),
            );
        }
        let mut again = 0;
        for term in terms {
            let query = tantivy::query::TermQuery::new(
                term.clone(),
                tantivy::schema::IndexRecordOption::Basic,
            );
            let matching = searcher.search(&query, &Count)?;
            if matching > 0 {
                again += matching;
                self.writer.delete_term(term);
                self.rewrite_pending = true;
            }
        }
        Ok(again)
    }

    /// How many deleted documents the committed segments still hold (their text is in
    /// the segment files until [`MentionWriter::expunge`] or a merge): erased ones, and
    /// older versions of mentions stored again.
    pub fn deleted_on_disk(&self) -> Result<u32, IndexError> {
        Ok(self
            .writer
            .index()
            .searchable_segment_metas()?
            .iter()
            .map(tantivy::index::SegmentMeta::num_deleted_docs)
            .sum())
    }

    /// After an erasure's commit: rewrites the segments that hold erased documents
    /// without them, and deletes the old files. Until a merge, a deleted document's text
    /// stays in its segment's files, and an erasure is for good. A segment that a
    /// background merge already holds is left to it (that merge leaves them out too,
    /// unless a crash cuts it short: the next writer tries again).
    pub fn expunge(&mut self) -> Result<(), IndexError> {
        let mut all = true;
        let holding: Vec<tantivy::index::SegmentId> = self
            .writer
            .index()
            .searchable_segment_metas()?
            .into_iter()
            .filter(|m| m.has_deletes())
            .map(|m| m.id())
            .collect();
        for segment in holding {
            if let Err(e) = self.writer.merge(&[segment]).wait() {
                tracing::warn!(error = %e, segment = %segment.short_uuid_string(), "erased documents left to the running merge");
                all = false;
            }
        }
        self.reader.reload()?;
        self.writer.garbage_collect_files().wait()?;
        self.rewrite_pending = !all;
        Ok(())
    }
}

impl MentionIndex {
    /// Erases at once, with a writer of its own: for the command line when the daemon
    /// is not running (it holds the writer otherwise; use the admin API then).
    pub fn erase_now(&self, erasure: &Erasure) -> Result<usize, IndexError> {
        let mut writer = self.writer()?;
        let matching = writer.erase(erasure)?;
        if matching > 0 {
            writer.commit(&self.checkpoints()?)?;
            writer.expunge()?;
        }
        writer.finish()?;
        Ok(matching)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mention::Mention;
    use crate::search::{Checkpoints, SourceCheckpoint};

    fn mention(id: &str, text: &str) -> Mention {
        let t = Utc::now();
        let mut m = Mention::new("s", id, t, t);
        m.url = Some(format!("https://forum.example/t/{id}"));
        m.text = text.to_string();
        m.lang = "nl".into();
        m
    }

    /// Documents held by the segments' files, deleted ones included.
    fn held(index: &MentionIndex) -> u32 {
        let (_, reader, _) = index.parts();
        reader.reload().unwrap();
        let searcher = reader.searcher();
        searcher.segment_readers().iter().map(|s| s.max_doc()).sum()
    }

    #[test]
    fn an_erased_document_leaves_the_segment_files_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let index = MentionIndex::open(dir.path()).unwrap();
        let mut checkpoints = Checkpoints::new();
        checkpoints.insert(
            "s".into(),
            SourceCheckpoint {
                position: serde_json::json!({ "etag": "v1" }),
                items_seen: 20,
                items_kept: 20,
                last_skipped: None,
            },
        );
        {
            let mut w = index.writer().unwrap();
            // Several to a segment: a segment whose every document goes is dropped anyway.
            for i in 0..20 {
                w.upsert(&mention(&i.to_string(), "wachten op de IND"))
                    .unwrap();
            }
            w.commit(&checkpoints).unwrap();
            w.finish().unwrap();
        }
        let files = |dir: &std::path::Path| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".store"))
                .collect();
            names.sort();
            names
        };
        let before = files(index.path());
        assert_eq!(held(&index), 20);
        let erased = index
            .erase_now(&Erasure::Url("https://forum.example/t/2".into()))
            .unwrap();
        assert_eq!(erased, 1);
        assert_eq!(index.num_mentions(), 19);
        assert_eq!(held(&index), 19, "the erased document is in no segment");
        let after = files(index.path());
        let segments = index.parts().1.searcher().segment_readers().len();
        assert_eq!(
            after.len(),
            segments,
            "no file of a segment that held it is left: {before:?} → {after:?}"
        );
        assert!(
            before.iter().any(|f| !after.contains(f)),
            "{before:?} → {after:?}"
        );
        assert_eq!(index.checkpoints().unwrap(), checkpoints, "positions stay");
        // The same post named as a browser shows it.
        let erased = index
            .erase_now(&Erasure::Url("http://www.forum.example/t/3/".into()))
            .unwrap();
        assert_eq!(erased, 1);
    }

    #[test]
    fn an_erasure_cut_short_before_its_rewrite_is_rewritten_by_the_next_writer() {
        let dir = tempfile::tempdir().unwrap();
        let index = MentionIndex::open(dir.path()).unwrap();
        let checkpoints = Checkpoints::new();
        {
            let mut w = index.writer().unwrap();
            for i in 0..20 {
                w.upsert(&mention(&i.to_string(), "wachten op de IND"))
                    .unwrap();
            }
            w.commit(&checkpoints).unwrap();
            // The erasure's commit, then a crash before the segments are rewritten.
            w.erase(&Erasure::Url("https://forum.example/t/2".into()))
                .unwrap();
            w.commit(&checkpoints).unwrap();
            assert_eq!(w.deleted_on_disk().unwrap(), 1);
        }
        assert_eq!(index.num_mentions(), 19);
        assert_eq!(held(&index), 20, "the erased text is still in the files");
        let mut w = index.writer().unwrap();
        assert_eq!(w.deleted_on_disk().unwrap(), 0);
        assert_eq!(held(&index), 19, "the erased document is in no segment");
        assert_eq!(index.num_mentions(), 19);
        // A mention stored again leaves its older version deleted in the files: no
        // erasure, so no rewrite at the next start (it would cost every start a merge).
        w.upsert(&mention("5", "wachten op de IND, nog steeds"))
            .unwrap();
        w.commit(&checkpoints).unwrap();
        w.finish().unwrap();
        let w = index.writer().unwrap();
        assert_eq!(w.deleted_on_disk().unwrap(), 1);
        w.finish().unwrap();
    }

    #[test]
    fn a_permalink_is_known_in_its_other_forms() {
        let forms = url_forms("https://forum.example/t/c?id=2");
        assert_eq!(forms.len(), 8, "{forms:?}");
        for form in [
            "http://forum.example/t/c?id=2",
            "https://www.forum.example/t/c/?id=2",
            "http://www.forum.example/t/c/?id=2",
        ] {
            assert!(forms.contains(&form.to_string()), "{form}: {forms:?}");
        }
        assert_eq!(url_forms("not a url"), ["not a url"]);
    }
}
