//! Rebuilding the index in this version's schema from what an older one stored, after an
//! upgrade that changed how text is indexed ([`schema::SCHEMA_VERSION`]): nothing the
//! daemon collected is lost, and nothing has to be fetched again (a feed keeps only its
//! latest items; the index is the only copy of the rest).
//!
//! Every stored value is copied by its field's name; what the schema derives from them
//! (the text per language family, the words for `word*`) is analysed anew from the
//! stored title and text, as [`super::to_document`] does; the near-duplicate signature is
//! read from its column. The new index is written beside the old one and committed with
//! the old one's source positions; only then is the old one moved aside
//! (`mentions.schema-7`) and the new one put in its place, so a failure at any point
//! before leaves the old index as it was. The old one is then deleted unless asked to
//! keep it: a copy that erasure and retention do not reach must not be left behind
//! unnoticed.

use std::path::{Path, PathBuf};

use tantivy::schema::{Schema, TantivyDocument, Value};
use tantivy::{Index, IndexWriter, SegmentReader};

use super::{
    add_searched_text, add_voice_keys, schema, Checkpoints, IndexError, PayloadRef, INDEX_DIR,
};
use crate::pipeline::extract::compose;

/// The schema version of an index whose commits carry none.
const UNKNOWN: &str = "unknown";
/// Where the new index is written until it is complete.
pub(crate) const REBUILDING: &str = "mentions.rebuilding";
/// Memory the rebuilding writer may buffer.
const HEAP_BYTES: usize = 128 * 1024 * 1024;

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reindexed {
    /// The index already has this version's schema: nothing was done.
    Current,
    /// A rebuild that stopped after its commit, before the new index was in place, is
    /// finished: it holds this many mentions.
    Finished { mentions: u64 },
    /// Rebuilt: the mentions copied, the old schema version, and where the old index
    /// was kept (when asked to).
    Rebuilt {
        mentions: u64,
        from_version: String,
        kept_at: Option<PathBuf>,
    },
}

/// Rebuilds the index under `data_dir` in this version's schema; see the module.
pub fn reindex(data_dir: &Path, keep_old: bool) -> Result<Reindexed, IndexError> {
    let path = data_dir.join(INDEX_DIR);
    let rebuilding = data_dir.join(REBUILDING);
    if !path.join("meta.json").exists() {
        // Stopped between moving the old index aside and putting the new one in its
        // place: the new one is complete (it is moved only after its commit).
        if is_complete(&rebuilding) {
            return finish_interrupted(data_dir, &rebuilding, &path);
        }
        return Err(IndexError::NothingToRebuild { path });
    }
    let tantivy_err = |e: tantivy::TantivyError| super::lock_failure(&path, e);
    // Opened with the schema it was written with, whatever this version's is.
    let old = Index::open_in_dir(&path).map_err(tantivy_err)?;
    // Held until the new index is in place: the daemon (or an import) must not write to
    // the old one while its mentions are copied.
    let lock: IndexWriter<TantivyDocument> = old
        .writer_with_num_threads(1, 20_000_000)
        .map_err(tantivy_err)?;
    let (from_version, checkpoints, erasures) = old_payload(&old)?;
    // Carried over, and refused like any writer would refuse it: the list of erased
    // posts missing beside an index that had some.
    let erasures = super::erased::ErasedList::load_expecting(data_dir, erasures)?
        .entries()
        .max(erasures);
    // A new index that was never written to holds nothing to rebuild either.
    let never_written = from_version == UNKNOWN && !super::holds_segments(&path);
    if from_version == schema::SCHEMA_VERSION.to_string() || never_written {
        return Ok(Reindexed::Current);
    }
    if let Some(found) = from_version
        .parse::<u32>()
        .ok()
        .filter(|&v| v > schema::SCHEMA_VERSION)
    {
        return Err(IndexError::SchemaNewer {
            path,
            found,
            expected: schema::SCHEMA_VERSION,
        });
    }
    let mentions = match build_beside(&old, &rebuilding, &checkpoints, erasures) {
        Ok(mentions) => mentions,
        Err(e) => {
            // A copy of every post must not stay behind where erasure never looks.
            let _ = std::fs::remove_dir_all(&rebuilding);
            return Err(e);
        }
    };
    let kept_at = free_name(data_dir, &format!("{INDEX_DIR}.schema-{from_version}"));
    let fail_move = |source| IndexError::CreateDir {
        path: path.clone(),
        source,
    };
    std::fs::rename(&path, &kept_at).map_err(fail_move)?;
    std::fs::rename(&rebuilding, &path).map_err(fail_move)?;
    drop(lock);
    // The renames are durable before anyone writes to the new index.
    if let Ok(dir) = std::fs::File::open(data_dir) {
        let _ = dir.sync_all();
    }
    let kept_at = if keep_old {
        Some(kept_at)
    } else {
        std::fs::remove_dir_all(&kept_at).map_err(|source| IndexError::CreateDir {
            path: kept_at.clone(),
            source,
        })?;
        None
    };
    Ok(Reindexed::Rebuilt {
        mentions,
        from_version,
        kept_at,
    })
}

/// Writes the new index in `rebuilding` from `old`'s mentions and commits it with
/// `checkpoints` (and the count of `erasures` on record); how many mentions, checked
/// against what it holds.
fn build_beside(
    old: &Index,
    rebuilding: &Path,
    checkpoints: &Checkpoints,
    erasures: usize,
) -> Result<u64, IndexError> {
    let fail_dir = |source| IndexError::CreateDir {
        path: rebuilding.to_path_buf(),
        source,
    };
    // What an interrupted rebuild left: started over.
    if rebuilding.exists() {
        std::fs::remove_dir_all(rebuilding).map_err(fail_dir)?;
    }
    std::fs::create_dir_all(rebuilding).map_err(fail_dir)?;
    let (new_schema, fields) = schema::build();
    let new = Index::builder()
        .schema(new_schema.clone())
        .settings(schema::settings())
        .create_in_dir(rebuilding)?;
    schema::register_analyzers(&new);
    let mut writer: IndexWriter<TantivyDocument> = new.writer(HEAP_BYTES)?;
    let searcher = old.reader()?.searcher();
    let payload = serde_json::to_string(&PayloadRef {
        schema_version: schema::SCHEMA_VERSION,
        sources: checkpoints,
        // Copied from the live documents only: nothing erased is in the new files.
        rewrite_pending: false,
        erasures,
    })
    .map_err(|e| IndexError::Payload(e.to_string()))?;
    let mut write = || -> Result<u64, IndexError> {
        let mut mentions = 0u64;
        for segment in searcher.segment_readers() {
            mentions += copy_segment(segment, &old.schema(), &new_schema, &fields, &writer)?;
        }
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        Ok(mentions)
    };
    // tantivy's words for a write that failed ("An index writer was killed") say
    // neither where nor why.
    let mentions = write().map_err(|e| match e {
        IndexError::Tantivy(e) => super::writer_failure(rebuilding, e),
        e => e,
    })?;
    writer
        .wait_merging_threads()
        .map_err(|e| super::writer_failure(rebuilding, e))?;
    let copied = new.reader()?.searcher().num_docs();
    if copied != mentions {
        return Err(IndexError::Payload(format!(
            "{}: the rebuilt index holds {copied} mentions of {mentions}; the old index is left as it was",
            rebuilding.display()
        )));
    }
    Ok(mentions)
}

/// Whether `rebuilding` holds a committed index of this schema: one whose rebuild ended.
pub(crate) fn is_complete(rebuilding: &Path) -> bool {
    let Ok(index) = Index::open_in_dir(rebuilding) else {
        return false;
    };
    old_payload(&index).is_ok_and(|(version, ..)| version == schema::SCHEMA_VERSION.to_string())
}

/// Puts the complete new index in its place after a rebuild stopped between the two
/// renames; the old one stays where it was moved (`mentions.schema-N`).
fn finish_interrupted(
    data_dir: &Path,
    rebuilding: &Path,
    path: &Path,
) -> Result<Reindexed, IndexError> {
    std::fs::rename(rebuilding, path).map_err(|source| IndexError::CreateDir {
        path: path.to_path_buf(),
        source,
    })?;
    if let Ok(dir) = std::fs::File::open(data_dir) {
        let _ = dir.sync_all();
    }
    let index = Index::open_in_dir(path)?;
    Ok(Reindexed::Finished {
        mentions: index.reader()?.searcher().num_docs(),
    })
}

/// The schema version, the sources' positions and the count of erasures on record in
/// the old index's last commit.
fn old_payload(old: &Index) -> Result<(String, Checkpoints, usize), IndexError> {
    let payload = old.load_metas()?.payload.unwrap_or_default();
    if payload.is_empty() {
        return Ok((UNKNOWN.into(), Checkpoints::new(), 0));
    }
    let value: serde_json::Value =
        serde_json::from_str(&payload).map_err(|e| IndexError::Payload(e.to_string()))?;
    let version = value
        .get("schema_version")
        .map_or_else(|| UNKNOWN.into(), |v| v.to_string());
    let checkpoints = match value.get("sources") {
        Some(sources) => serde_json::from_value(sources.clone())
            .map_err(|e| IndexError::Payload(format!("the sources' positions: {e}")))?,
        None => Checkpoints::new(),
    };
    let erasures = value
        .get("erasures")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    Ok((version, checkpoints, erasures as usize))
}

/// Copies the live mentions of one old segment into `writer`; how many.
fn copy_segment(
    segment: &SegmentReader,
    old_schema: &Schema,
    new_schema: &Schema,
    fields: &schema::Fields,
    writer: &IndexWriter<TantivyDocument>,
) -> Result<u64, IndexError> {
    let store = segment
        .get_store_reader(64)
        .map_err(|e| IndexError::Tantivy(e.into()))?;
    let signatures = segment.fast_fields().bytes("signature")?;
    let mut bytes = Vec::new();
    let mut copied = 0;
    for doc in segment.doc_ids_alive() {
        let stored: TantivyDocument = store.get(doc)?;
        let mut fresh = TantivyDocument::default();
        let (mut lang, mut title, mut text) = (String::new(), String::new(), String::new());
        let (mut cluster, mut author) = (None, None);
        for (field, value) in stored.field_values() {
            let name = old_schema.get_field_name(field);
            let Ok(target) = new_schema.get_field(name) else {
                continue;
            };
            // Title and text composed (NFC) as the pipeline now stores them: a post
            // written in decomposed form is found like the others.
            match (name, value.as_str()) {
                ("title" | "text", Some(s)) => {
                    let kept = if name == "title" {
                        &mut title
                    } else {
                        &mut text
                    };
                    *kept = s.to_string();
                    compose(kept);
                    fresh.add_text(target, kept.as_str());
                    continue;
                }
                ("lang", Some(s)) => lang = s.to_string(),
                ("cluster", Some(s)) => cluster = Some(s.to_string()),
                ("author", Some(s)) => author = Some(s.to_string()),
                _ => {}
            }
            fresh.add_field_value(target, value);
        }
        if let Some(column) = &signatures {
            if let Some(ord) = column.term_ords(doc).next() {
                bytes.clear();
                column
                    .ord_to_bytes(ord, &mut bytes)
                    .map_err(tantivy::TantivyError::from)?;
                fresh.add_bytes(fields.signature, &bytes);
            }
        }
        add_searched_text(&mut fresh, fields, &lang, &title, &text);
        add_voice_keys(&mut fresh, fields, cluster.as_deref(), author.as_deref());
        writer.add_document(fresh)?;
        copied += 1;
    }
    Ok(copied)
}

/// `data_dir/name`, or with `-2`, `-3`, … when that is taken (an earlier rebuild's).
fn free_name(data_dir: &Path, name: &str) -> PathBuf {
    let mut candidate = data_dir.join(name);
    let mut n = 2;
    while candidate.exists() {
        candidate = data_dir.join(format!("{name}-{n}"));
        n += 1;
    }
    candidate
}
