//! The tantivy index of mentions: opening it, writing to it, searching it.
//!
//! Sources' positions (checkpoints) are stored *in the commit payload*, so the index
//! and the positions move together atomically: after a crash, the positions on disk are
//! exactly those of the mentions on disk, and polling resumes from there. Writes are
//! upserts keyed by the mention id, so replaying a poll never duplicates a mention.

pub(crate) mod docs;
pub mod erase;
pub mod erased;
pub mod fold;
pub mod query;
pub mod reindex;
pub mod schema;
pub mod stem;
pub mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::directory::MmapDirectory;
use tantivy::schema::TantivyDocument;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Term};

use crate::mention::Mention;
use crate::pipeline::aspects::AspectTag;
use crate::sources::Position;

pub use self::erase::{Erasure, ErasurePreview};
pub use self::query::{Hit, SearchRequest, SearchResults, Sort};
pub use self::schema::Fields;

/// The index lives in this folder under `data_dir`.
pub const INDEX_DIR: &str = "mentions";
/// Memory the writer may buffer before it flushes a segment.
const WRITER_HEAP_BYTES: usize = 128 * 1024 * 1024;

/// Errors of the index. Names the directory where that helps the administrator.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index at {path}: {source}")]
    Open {
        path: PathBuf,
        source: tantivy::TantivyError,
    },
    #[error("index at {path} is in use by another webcare process (is the daemon running?)")]
    Locked { path: PathBuf },
    #[error("index at {path} cannot be written by this process ({source}): check the directory's owner and mode, and that it is not on a read-only mount")]
    Unwritable {
        path: PathBuf,
        source: std::sync::Arc<std::io::Error>,
    },
    #[error("index at {path}: writing stopped, most often on a full disk or a file this user cannot write (`df -h`, and the mode of the files there): make room or set it right and try again; what was committed stays, and what is tried again is not stored twice")]
    WriterStopped { path: PathBuf },
    #[error("index at {path}: cannot create the directory: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("index at {path} was written by schema version {found}, this webcare needs {expected}: run `webcare reindex` to rebuild it from the mentions it stores (stop the daemon first)")]
    SchemaVersion {
        path: PathBuf,
        found: String,
        expected: u32,
    },
    #[error("index at {path} was written by a newer webcare (schema version {found}, this one knows {expected}): run that webcare, or restore the data directory's backup from before the upgrade (or the old index `webcare reindex --keep-old` kept as mentions.schema-{expected}, with the state database of then)")]
    SchemaNewer {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("index at {path} has segment files but no meta.json, which lists them: restore it from the backup, or move the directory aside to start a new index (opening it would make a new, empty index and delete those files)")]
    MetaMissing { path: PathBuf },
    #[error("index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("index checkpoint payload is unreadable: {0}")]
    Payload(String),
    #[error("{}: no index here to rebuild (webcare makes a new one when it first writes)", path.display())]
    NothingToRebuild { path: PathBuf },
    #[error("{}: a rebuild of the index stopped before the new one was put in place; run `webcare reindex` to finish it", path.display())]
    RebuildUnfinished { path: PathBuf },
    #[error(transparent)]
    Erased(#[from] erased::ErasedError),
}

/// What the index remembers of one source, saved in the same commit as its mentions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceCheckpoint {
    /// The adapter's opaque position (ETag, cursors, seen ids).
    pub position: Position,
    /// New items the source delivered in all polls so far (relevant or not).
    pub items_seen: u64,
    /// Items that were relevant and indexed.
    pub items_kept: u64,
    /// The last unfinished walk given up because the server refused its older page, with
    /// when: the posts it names will never come, which the administrator should still
    /// see after a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_skipped: Option<String>,
}

/// Checkpoints of all sources, by source name.
pub type Checkpoints = BTreeMap<String, SourceCheckpoint>;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Payload {
    schema_version: u32,
    #[serde(default)]
    sources: Checkpoints,
    /// An erasure deleted documents whose segments have not been rewritten since
    /// ([`MentionWriter::expunge`]): their text is still in the files.
    #[serde(default)]
    rewrite_pending: bool,
    /// How many permalinks and authors the list of erased posts held at this commit:
    /// a list missing beside an index that had some is refused
    /// ([`erased::ErasedList::load_expecting`]).
    #[serde(default)]
    erasures: usize,
}

/// Why the writer of the index at `path` could not be had: another process holds its
/// lock, or the lock file cannot be made (a directory this user cannot write, a
/// read-only mount), which is no other process.
pub(crate) fn lock_failure(path: &Path, e: tantivy::TantivyError) -> IndexError {
    use tantivy::directory::error::LockError;
    match e {
        tantivy::TantivyError::LockFailure(LockError::LockBusy, _) => IndexError::Locked {
            path: path.to_owned(),
        },
        tantivy::TantivyError::LockFailure(LockError::IoError(source), _) => {
            IndexError::Unwritable {
                path: path.to_owned(),
                source,
            }
        }
        other => IndexError::Tantivy(other),
    }
}

/// `e` from the writer of the index at `path`, named: tantivy's own words for indexing
/// threads that a failed write ended ("An index writer was killed") say neither where
/// nor why.
fn writer_failure(path: &Path, e: tantivy::TantivyError) -> IndexError {
    match e {
        tantivy::TantivyError::ErrorInThread(_) => IndexError::WriterStopped {
            path: path.to_owned(),
        },
        e => e.into(),
    }
}

/// The mention index: one per data directory.
#[derive(Clone)]
pub struct MentionIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    path: PathBuf,
}

/// Segment files without the `meta.json` that names them: a damaged or partly restored
/// index. tantivy would create a new, empty index there and remove the files as
/// garbage, losing every mention in them without a word.
fn refuse_orphaned_segments(path: &Path) -> Result<(), IndexError> {
    if path.join("meta.json").exists() {
        return Ok(());
    }
    if holds_segments(path) {
        return Err(IndexError::MetaMissing {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Whether the index directory `path` holds segment files: mentions were written there
/// (a new, empty index has none).
pub fn holds_segments(path: &Path) -> bool {
    std::fs::read_dir(path)
        .map(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.ends_with(".store") || name.ends_with(".idx") || name.ends_with(".term")
            })
        })
        .unwrap_or(false)
}

impl MentionIndex {
    /// Opens the index under `data_dir`, creating the directory and index if needed.
    pub fn open(data_dir: &Path) -> Result<MentionIndex, IndexError> {
        let path = data_dir.join(INDEX_DIR);
        // Not a new installation: the index is in `mentions.rebuilding`, complete. A new,
        // empty index here would make every mention look erased.
        if !path.join("meta.json").exists()
            && reindex::is_complete(&data_dir.join(reindex::REBUILDING))
        {
            return Err(IndexError::RebuildUnfinished { path });
        }
        crate::state::ensure_private_dir(data_dir)
            .and_then(|()| std::fs::create_dir_all(&path))
            .map_err(|source| IndexError::CreateDir {
                path: path.clone(),
                source,
            })?;
        let open_err = |source| IndexError::Open {
            path: path.clone(),
            source,
        };
        refuse_orphaned_segments(&path)?;
        let (schema, fields) = schema::build();
        let dir = MmapDirectory::open(&path).map_err(|e| open_err(e.into()))?;
        let index = Index::builder()
            .schema(schema)
            .settings(schema::settings())
            .open_or_create(dir)
            .map_err(|e| match e {
                // An index of another webcare version: say what to do, not tantivy's words.
                tantivy::TantivyError::SchemaError(_) => IndexError::SchemaVersion {
                    path: path.clone(),
                    found: "another".into(),
                    expected: schema::SCHEMA_VERSION,
                },
                // A lock file that cannot be made is named as the writer's is.
                e @ tantivy::TantivyError::LockFailure(..) => lock_failure(&path, e),
                e => open_err(e),
            })?;
        schema::register_analyzers(&index);
        // Searches must see a commit as soon as it returns: the writer reloads explicitly.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(open_err)?;
        let this = MentionIndex {
            index,
            reader,
            fields,
            path,
        };
        this.check_schema_version()?;
        Ok(this)
    }

    fn check_schema_version(&self) -> Result<(), IndexError> {
        let meta = self.index.load_metas()?;
        match &meta.payload {
            None => Ok(()),
            Some(text) => match serde_json::from_str::<Payload>(text) {
                Ok(p) if p.schema_version == schema::SCHEMA_VERSION => Ok(()),
                Ok(p) if p.schema_version > schema::SCHEMA_VERSION => {
                    Err(IndexError::SchemaNewer {
                        path: self.path.clone(),
                        found: p.schema_version,
                        expected: schema::SCHEMA_VERSION,
                    })
                }
                Ok(p) => Err(IndexError::SchemaVersion {
                    path: self.path.clone(),
                    found: p.schema_version.to_string(),
                    expected: schema::SCHEMA_VERSION,
                }),
                Err(e) => Err(IndexError::Payload(e.to_string())),
            },
        }
    }

    /// The checkpoints saved with the last commit (empty for a new index).
    pub fn checkpoints(&self) -> Result<Checkpoints, IndexError> {
        Ok(self.payload()?.sources)
    }

    /// What the last commit saved with it (the default for a new index).
    fn payload(&self) -> Result<Payload, IndexError> {
        let meta = self.index.load_metas()?;
        match meta.payload {
            None => Ok(Payload::default()),
            Some(text) => serde_json::from_str::<Payload>(&text)
                .map_err(|e| IndexError::Payload(e.to_string())),
        }
    }

    /// The single writer of this index. Fails with [`IndexError::Locked`] when another
    /// process (a running daemon) holds it.
    pub fn writer(&self) -> Result<MentionWriter, IndexError> {
        let writer = self
            .index
            .writer(WRITER_HEAP_BYTES)
            .map_err(|e| lock_failure(&self.path, e))?;
        let payload = self.payload()?;
        let mut writer = MentionWriter {
            writer,
            fields: self.fields.clone(),
            reader: self.reader.clone(),
            // Beside the index, not in it: an index moved aside for a schema upgrade and
            // imported again must not take the list of what was erased with it.
            erased: erased::ErasedList::load_expecting(
                self.path.parent().unwrap_or(&self.path),
                payload.erasures,
            )?,
            rewrite_pending: payload.rewrite_pending,
            path: self.path.clone(),
        };
        // What a failed commit left (a full disk, a crash) goes first: a commit with the
        // same stamp would find its file there, and fail.
        if let Err(e) = writer.collect_garbage() {
            tracing::warn!(error = %e, "cannot delete the index files no commit holds");
        }
        // Whoever writes first after a restore from an older backup erases again what
        // was erased since: an erasure is for good.
        let again = writer.erase_again()?;
        if again > 0 {
            tracing::warn!(
                mentions = again,
                "the index held mentions erased before (an erasure cut short by a crash before its commit, or an index restored from an older backup); erased them again"
            );
            writer.commit(&self.checkpoints()?)?;
        }
        // A deleted document's text stays in its segment's files until a merge rewrites
        // them: an erasure cut short after its commit (a crash, a failed rewrite) left
        // erased posts on disk, which no search finds and nothing else would remove.
        if writer.rewrite_pending {
            let deleted = writer.deleted_on_disk()?;
            tracing::info!(
                documents = deleted,
                "rewriting the index segments that still hold erased documents"
            );
            if let Err(e) = writer.expunge() {
                tracing::error!(error = %e, documents = deleted, "cannot rewrite the segments that hold erased documents; tried again at the next start or erasure");
            }
        }
        Ok(writer)
    }

    /// Makes the latest commit visible to searches (the daemon's writer does this itself).
    pub fn reload(&self) -> Result<(), IndexError> {
        Ok(self.reader.reload()?)
    }

    /// Number of mentions in the last visible commit.
    /// Feeds every indexed mention's cluster and signature to `table`, so that
    /// near-duplicate clusters carry on across restarts. Reads only fast fields.
    pub fn load_duplicates(
        &self,
        table: &mut crate::pipeline::duplicates::DuplicateIndex,
    ) -> Result<usize, IndexError> {
        use crate::pipeline::duplicates::{Signature, SIGNATURE_LEN};
        let searcher = self.reader.searcher();
        let mut loaded = 0;
        let mut cluster = String::new();
        let mut bytes = Vec::new();
        for segment in searcher.segment_readers() {
            let fast = segment.fast_fields();
            let (Some(clusters), Some(signatures)) =
                (fast.str("cluster")?, fast.bytes("signature")?)
            else {
                continue;
            };
            for doc in segment.doc_ids_alive() {
                let (Some(c), Some(s)) = (
                    clusters.term_ords(doc).next(),
                    signatures.term_ords(doc).next(),
                ) else {
                    continue;
                };
                cluster.clear();
                bytes.clear();
                clusters
                    .ord_to_str(c, &mut cluster)
                    .map_err(tantivy::TantivyError::from)?;
                signatures
                    .ord_to_bytes(s, &mut bytes)
                    .map_err(tantivy::TantivyError::from)?;
                if bytes.len() != SIGNATURE_LEN * 2 {
                    continue;
                }
                let mut signature: Signature = [0; SIGNATURE_LEN];
                for (value, pair) in signature.iter_mut().zip(bytes.chunks_exact(2)) {
                    *value = u16::from_le_bytes([pair[0], pair[1]]);
                }
                table.insert(&cluster, &signature);
                loaded += 1;
            }
        }
        Ok(loaded)
    }

    pub fn num_mentions(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn parts(&self) -> (&Index, &IndexReader, &Fields) {
        (&self.index, &self.reader, &self.fields)
    }
}

/// Adds and replaces mentions; nothing is visible or durable before [`MentionWriter::commit`].
pub struct MentionWriter {
    writer: IndexWriter,
    fields: Fields,
    reader: IndexReader,
    /// Permalinks and authors erased before: not stored again.
    erased: erased::ErasedList,
    /// Whether documents were erased and their segments not rewritten since (saved with
    /// every commit, so that the next writer finishes what a crash cut short).
    rewrite_pending: bool,
    /// The index's directory, for the errors that should name it.
    path: PathBuf,
}

impl MentionWriter {
    /// Adds `mention`, replacing any earlier document with the same id; `false` when it
    /// is not stored because its permalink or author was erased before.
    pub fn upsert(&mut self, mention: &Mention) -> Result<bool, IndexError> {
        if self.erased.blocks(mention) {
            return Ok(false);
        }
        self.writer
            .delete_term(Term::from_field_text(self.fields.id, &mention.id));
        self.writer
            .add_document(to_document(&self.fields, mention))
            .map_err(|e| writer_failure(&self.path, e))?;
        Ok(true)
    }

    /// Removes the mention with this id, if any.
    pub fn delete(&mut self, id: &str) {
        self.writer
            .delete_term(Term::from_field_text(self.fields.id, id));
    }

    /// Commits everything added so far together with `checkpoints`, then makes it
    /// visible to searches. The checkpoints replace those of the previous commit.
    pub fn commit(&mut self, checkpoints: &Checkpoints) -> Result<(), IndexError> {
        let payload = serde_json::to_string(&PayloadRef {
            schema_version: schema::SCHEMA_VERSION,
            sources: checkpoints,
            rewrite_pending: self.rewrite_pending,
            erasures: self.erased.entries(),
        })
        .map_err(|e| IndexError::Payload(e.to_string()))?;
        let mut prepared = self
            .writer
            .prepare_commit()
            .map_err(|e| writer_failure(&self.path, e))?;
        prepared.set_payload(&payload);
        prepared
            .commit()
            .map_err(|e| writer_failure(&self.path, e))?;
        // The commit is on disk: a reader that fails to reload (out of memory maps or
        // file handles) is no failed commit, which would be rolled back and fetched again.
        // Searches see it at the next commit's reload (an erasure asks for one itself).
        if let Err(error) = self.reader.reload() {
            tracing::error!(%error, "committed, but searches do not see it yet: the search reader did not reload");
        }
        Ok(())
    }

    /// Drops everything added since the last commit.
    pub fn rollback(&mut self) -> Result<(), IndexError> {
        self.writer.rollback()?;
        Ok(())
    }

    /// Deletes the files of the index that no commit holds: what a failed commit wrote
    /// (its next attempt would write a file of the same name, and fail for it).
    pub fn collect_garbage(&mut self) -> Result<(), IndexError> {
        self.writer.garbage_collect_files().wait()?;
        Ok(())
    }

    /// Waits for background merges; call before dropping at shutdown.
    pub fn finish(self) -> Result<(), IndexError> {
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}

#[derive(Serialize)]
struct PayloadRef<'a> {
    schema_version: u32,
    sources: &'a Checkpoints,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    rewrite_pending: bool,
    #[serde(skip_serializing_if = "is_zero")]
    erasures: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Every tag's reasons in one line, `interpreter: tolk, vertaling; hearing: gehoor`.
fn aspects_why(tags: &[AspectTag]) -> String {
    let mut why = String::with_capacity(tags.len() * 48);
    for (i, tag) in tags.iter().enumerate() {
        if i > 0 {
            why.push_str("; ");
        }
        tag.write_why(&mut why);
    }
    why
}

/// The tantivy document for a mention: stored display fields, plus the text indexed in
/// its language family's fields.
pub fn to_document(f: &Fields, m: &Mention) -> TantivyDocument {
    // Title and text go in twice (stored, and indexed in their family's field); sized
    // up front, the document's buffer is not copied over as it grows (a fifth of the
    // writer thread's time per mention went to that).
    let mut doc = TantivyDocument::with_capacity(2 * (m.title.len() + m.text.len()) + 1024);
    doc.add_text(f.id, &m.id);
    doc.add_text(f.source, &m.source);
    doc.add_text(f.lang, &m.lang);
    doc.add_f64(f.lang_confidence, m.lang_confidence);
    doc.add_date(f.published, docs::to_date(m.published));
    doc.add_date(f.fetched, docs::to_date(m.fetched));
    if let Some(url) = &m.url {
        doc.add_text(f.url, url);
    }
    doc.add_text(f.title, &m.title);
    doc.add_text(f.text, &m.text);
    if let Some(rel) = &m.relevance {
        doc.add_text(f.topic, &rel.rule);
        doc.add_text(f.why, rel.terms.join(", "));
    }
    for tag in &m.aspects {
        doc.add_text(f.aspect, &tag.id);
    }
    if !m.aspects.is_empty() {
        doc.add_text(f.aspect_why, aspects_why(&m.aspects));
    }
    if let Some(c) = &m.complaint {
        doc.add_text(f.complaint, if c.complaint { "true" } else { "false" });
        doc.add_f64(f.complaint_score, c.score);
        doc.add_text(f.complaint_why, c.why.join("; "));
    }
    if let Some(d) = &m.duplicate {
        doc.add_text(f.cluster, &d.cluster);
        let bytes: Vec<u8> = d.signature.iter().flat_map(|v| v.to_le_bytes()).collect();
        doc.add_bytes(f.signature, &bytes);
    }
    if let Some(author) = &m.author {
        doc.add_text(f.author, author);
    }
    add_voice_keys(
        &mut doc,
        f,
        m.duplicate.as_ref().map(|d| d.cluster.as_str()),
        m.author.as_deref(),
    );
    if let Some(thread) = &m.thread {
        doc.add_text(f.thread, thread);
    }
    add_searched_text(&mut doc, f, &m.lang, &m.title, &m.text);
    doc
}

/// The cluster's and the author's [`schema::voice_key`]s, as a rebuild of the index
/// ([`reindex`]) derives them anew from the stored names.
pub(crate) fn add_voice_keys(
    doc: &mut TantivyDocument,
    f: &Fields,
    cluster: Option<&str>,
    author: Option<&str>,
) {
    if let Some(cluster) = cluster {
        doc.add_u64(f.cluster_key, schema::voice_key(cluster));
    }
    if let Some(author) = author {
        doc.add_u64(f.author_key, schema::voice_key(author));
    }
}

/// The fields the schema analyses from the stored title and text: the text of the
/// language's family, and the words as written (for `word*`). A rebuild of the index
/// ([`reindex`]) derives them anew the same way.
pub(crate) fn add_searched_text(
    doc: &mut TantivyDocument,
    f: &Fields,
    lang: &str,
    title: &str,
    text: &str,
) {
    let family = schema::family_of(lang);
    doc.add_text(f.text_by_family[family], title);
    doc.add_text(f.text_by_family[family], text);
    doc.add_text(f.words, title);
    doc.add_text(f.words, text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::directory::error::LockError;

    /// Only a lock another process holds is "in use": a lock file that cannot be made
    /// is the directory's owner or mode, or a read-only mount, and says so.
    #[test]
    fn a_lock_that_cannot_be_taken_is_told_from_one_in_use() {
        let path = Path::new("/srv/webcare/mentions");
        let busy = lock_failure(
            path,
            tantivy::TantivyError::LockFailure(LockError::LockBusy, None),
        );
        assert!(
            busy.to_string()
                .contains("in use by another webcare process"),
            "{busy}"
        );
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let denied = lock_failure(
            path,
            tantivy::TantivyError::LockFailure(
                LockError::IoError(std::sync::Arc::new(denied)),
                None,
            ),
        )
        .to_string();
        assert!(
            denied.contains("/srv/webcare/mentions cannot be written by this process")
                && denied.contains("permission denied")
                && !denied.contains("in use"),
            "{denied}"
        );
    }
}
