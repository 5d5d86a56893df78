//! What was erased stays erased: the permalinks and authors that `forget` removed are
//! remembered, so that the same post polled again (it left a feed and came back, a
//! platform walk reaches it again, a backfill holds it) is not stored a second time.
//!
//! Kept in `erased.json` in the data directory, beside the index (not in it: an index
//! moved aside to be imported again keeps it), and written before the erasure it
//! records: a crash in between leaves a post blocked that is
//! still in the index until the erasure is run again, never one that comes back.
//! Permalinks are kept as BLAKE3 hashes (a permalink may name its author); authors as
//! the pseudonyms the index already holds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Erasure;
use crate::files::Permissions;
use crate::mention::Mention;

/// The file name, in the data directory.
pub const ERASED_FILE: &str = "erased.json";

/// Why the list of erased posts could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ErasedError {
    #[error("{path}: cannot read the list of erased posts: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the list of erased posts is damaged ({message}); restore it from a backup: without it, erased posts could be stored again")]
    Damaged { path: PathBuf, message: String },
    #[error("{path}: the list of erased posts is missing, but the index was last written beside one of {entries} permalinks and authors: restore the file from the backup of the data directory (without it, erased posts could be stored again); if no backup has it, write `{{}}` into it to go on without")]
    Missing { path: PathBuf, entries: usize },
    #[error("{path}: cannot write the list of erased posts: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErasedFile {
    /// BLAKE3 (hex) of each erased permalink, as canonicalised.
    #[serde(default)]
    urls: BTreeSet<String>,
    /// The pseudonyms of erased authors.
    #[serde(default)]
    authors: BTreeSet<String>,
    /// BLAKE3 (hex) of the stable id of each post erased with its author: the same post
    /// may come back without its author (a platform shows a deleted account's posts as
    /// by "[deleted]") and without a permalink (an import).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    posts: BTreeSet<String>,
}

/// The permalinks and authors erased so far.
#[derive(Debug)]
pub struct ErasedList {
    path: PathBuf,
    erased: ErasedFile,
    /// Whether the file lacks what the list holds: a save failed (a full disk), and the
    /// erasure asked again adds nothing new, yet must be written.
    unsaved: bool,
    /// Whether there was no file (nothing was ever erased, or it was lost).
    missing: bool,
}

impl ErasedList {
    /// The list kept in `data_dir`; empty when nothing was ever erased.
    pub fn load(data_dir: &Path) -> Result<ErasedList, ErasedError> {
        let path = data_dir.join(ERASED_FILE);
        let (erased, missing) = match std::fs::read_to_string(&path) {
            Ok(text) => (
                serde_json::from_str(&text).map_err(|e| ErasedError::Damaged {
                    path: path.clone(),
                    message: e.to_string(),
                })?,
                false,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (ErasedFile::default(), true),
            Err(source) => return Err(ErasedError::Read { path, source }),
        };
        Ok(ErasedList {
            path,
            erased,
            unsaved: false,
            missing,
        })
    }

    /// The list, refused when its file is missing though the index was last written
    /// with `recorded` erasures on it (a restore that left it out): a list of none
    /// would let every erased post be stored again, without a word.
    pub fn load_expecting(data_dir: &Path, recorded: usize) -> Result<ErasedList, ErasedError> {
        let list = ErasedList::load(data_dir)?;
        if list.missing && recorded > 0 {
            return Err(ErasedError::Missing {
                path: list.path,
                entries: recorded,
            });
        }
        Ok(list)
    }

    /// How many entries the list holds: each author, and each permalink in every form
    /// it may be stored under. More than none means something was erased.
    pub fn entries(&self) -> usize {
        self.erased.urls.len() + self.erased.authors.len() + self.erased.posts.len()
    }

    /// Whether `mention` was erased before and must not be stored again.
    pub fn blocks(&self, mention: &Mention) -> bool {
        mention
            .url
            .as_deref()
            .is_some_and(|url| self.blocks_url(url))
            || mention
                .author
                .as_ref()
                .is_some_and(|author| self.erased.authors.contains(author))
            || (!self.erased.posts.is_empty() && self.erased.posts.contains(&hash(&mention.id)))
    }

    /// Whether the post at `url` (as stored) was erased.
    pub fn blocks_url(&self, url: &str) -> bool {
        !self.erased.urls.is_empty() && self.erased.urls.contains(&hash(url))
    }

    pub fn has_urls(&self) -> bool {
        !self.erased.urls.is_empty()
    }

    /// The pseudonyms of the authors erased.
    pub fn authors(&self) -> impl Iterator<Item = &str> {
        self.erased.authors.iter().map(String::as_str)
    }

    /// Remembers what `erasure` removes (a permalink or an author; retention is not
    /// remembered: an old post is refused by its date) and saves the list at once.
    pub fn remember(&mut self, erasure: &Erasure) -> Result<(), ErasedError> {
        let added = match erasure {
            Erasure::Url(url) => {
                // Every form, not only until one is new.
                let mut added = false;
                for form in super::erase::url_forms(url) {
                    added |= self.erased.urls.insert(hash(&form));
                }
                added
            }
            Erasure::Author(pseudonym) => self.erased.authors.insert(pseudonym.clone()),
            Erasure::PublishedBefore(_) => false,
        };
        if added || self.unsaved {
            self.unsaved = true;
            self.save()?;
            self.unsaved = false;
        }
        Ok(())
    }

    /// Remembers the posts an author's erasure removes, by their permalinks (in every
    /// form) and stable ids, so that none comes back under another author or none, and
    /// saves the list.
    pub fn remember_posts(
        &mut self,
        posts: &[(Option<String>, String)],
    ) -> Result<(), ErasedError> {
        let mut added = false;
        for (url, id) in posts {
            for form in url.iter().flat_map(|u| super::erase::url_forms(u)) {
                added |= self.erased.urls.insert(hash(&form));
            }
            added |= self.erased.posts.insert(hash(id));
        }
        if added || self.unsaved {
            self.unsaved = true;
            self.save()?;
            self.unsaved = false;
        }
        Ok(())
    }

    /// Replaces the file whole, private to its owner. The write is on disk when it
    /// returns: an erasure asked for before the post arrives has no index commit after
    /// it to carry it there.
    fn save(&self) -> Result<(), ErasedError> {
        let fail = |source| ErasedError::Write {
            path: self.path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(&self.erased).map_err(std::io::Error::other);
        crate::files::replace(
            &self.path,
            ".erased.",
            &json.map_err(fail)?,
            Permissions::Private,
        )
        .map_err(fail)
    }
}

/// How `erased.json` keeps a permalink (the audit trail names an erasure by its start).
pub(super) fn hash(url: &str) -> String {
    blake3::hash(url.as_bytes()).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mention(url: Option<&str>, author: Option<&str>) -> Mention {
        let now = chrono::Utc::now();
        let mut m = Mention::new("s", "1", now, now);
        m.url = url.map(str::to_string);
        m.author = author.map(str::to_string);
        m
    }

    #[test]
    fn what_was_erased_is_refused_after_a_restart_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let mut list = ErasedList::load(dir.path()).unwrap();
        assert!(!list.blocks(&mention(Some("https://f.example/t/1"), Some("p_1"))));
        list.remember(&Erasure::Url("https://f.example/t/1".into()))
            .unwrap();
        list.remember(&Erasure::Author("p_2".into())).unwrap();
        list.remember(&Erasure::PublishedBefore(chrono::Utc::now()))
            .unwrap();
        let list = ErasedList::load(dir.path()).unwrap();
        assert!(list.blocks(&mention(Some("https://f.example/t/1"), None)));
        assert!(list.blocks(&mention(Some("http://www.f.example/t/1/"), None)));
        assert!(list.blocks(&mention(Some("https://f.example/t/9"), Some("p_2"))));
        assert!(!list.blocks(&mention(Some("https://f.example/t/9"), Some("p_1"))));
        assert!(!list.blocks(&mention(None, None)));
        // The permalink itself is not kept.
        let text = std::fs::read_to_string(dir.path().join(ERASED_FILE)).unwrap();
        assert!(
            !text.contains("f.example") && text.contains("p_2"),
            "{text}"
        );
    }

    /// The admin's retry after a failed save (a full disk) adds nothing new to the list
    /// in memory, and must still write it: else the post returns after a restart.
    #[test]
    fn an_erasure_asked_again_after_a_failed_save_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let mut list = ErasedList::load(dir.path()).unwrap();
        let file = dir.path().join(ERASED_FILE);
        // A directory where the file goes: the rename over it fails.
        std::fs::create_dir(&file).unwrap();
        let erasure = Erasure::Url("https://f.example/t/1".into());
        assert!(list.remember(&erasure).is_err());
        std::fs::remove_dir(&file).unwrap();
        list.remember(&erasure).unwrap();
        let list = ErasedList::load(dir.path()).unwrap();
        assert!(list.blocks(&mention(Some("https://f.example/t/1"), None)));
    }

    #[test]
    fn the_list_counts_and_names_what_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let mut list = ErasedList::load(dir.path()).unwrap();
        assert_eq!(list.entries(), 0);
        assert!(!list.has_urls());
        assert_eq!(list.authors().count(), 0);
        list.remember(&Erasure::Author("p_2".into())).unwrap();
        assert!(!list.has_urls(), "an author is no permalink");
        list.remember(&Erasure::Url("https://f.example/t/1".into()))
            .unwrap();
        list.remember(&Erasure::Url("https://f.example/t/2".into()))
            .unwrap();
        let list = ErasedList::load(dir.path()).unwrap();
        // Each permalink in each of the forms it may be stored under, and the author.
        let forms = super::super::erase::url_forms("https://f.example/t/1").len();
        assert!(forms > 1);
        assert_eq!(list.entries(), 2 * forms + 1);
        assert!(list.has_urls());
        assert_eq!(list.authors().collect::<Vec<_>>(), ["p_2"]);
    }

    /// A restore that left the list out must not let every erased post back in.
    #[test]
    fn a_missing_list_is_refused_when_the_index_recorded_erasures() {
        let dir = tempfile::tempdir().unwrap();
        let err = ErasedList::load_expecting(dir.path(), 3).unwrap_err();
        assert!(
            matches!(err, ErasedError::Missing { entries: 3, .. }),
            "{err}"
        );
        assert_eq!(
            ErasedList::load_expecting(dir.path(), 0).unwrap().entries(),
            0
        );
    }

    /// Only a list that is not there is read as none: one that cannot be read stops.
    #[test]
    fn an_unreadable_list_is_an_error_not_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(ERASED_FILE)).unwrap();
        let err = ErasedList::load(dir.path()).unwrap_err();
        assert!(matches!(err, ErasedError::Read { .. }), "{err}");
    }

    #[test]
    fn a_damaged_list_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ERASED_FILE), "{\"urls\": [1]}").unwrap();
        let err = ErasedList::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("erased.json") && err.contains("damaged"),
            "{err}"
        );
    }
}
