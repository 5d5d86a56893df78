//! Near-duplicates: reposts, quotes, "RT @x:" and copy-paste with small edits share a
//! cluster, so that counting treats one viral post as one voice.
//!
//! Each mention gets a MinHash [`Signature`] over the words and word pairs of its text, after the
//! repost wrapping is taken off (`RT @x:`, @handles, links). Two texts whose signatures
//! agree in at least [`SIMILAR`] of their positions share about that fraction of their
//! word pairs. Lookup is locality-sensitive hashing: the signature is cut into
//! [`BANDS`] bands of two values, and a new mention is compared only with the mentions
//! that share a band with it, so the cost per mention does not grow with the index (see
//! BENCHMARKS.md). A mention joins the cluster of its most similar candidate, or starts
//! its own; the cluster id is the id of the cluster's first mention.
//!
//! The signatures are stored in the index, and the daemon rebuilds this table from
//! there at start ([`DuplicateIndex::insert`]), so clusters survive restarts.

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};

/// Values per signature.
pub const SIGNATURE_LEN: usize = 24;
/// Values per band: two, so that a pair of texts sharing half their word pairs meets in
/// some band with a probability of 97% (1 − (1 − 0.5²)¹²).
const ROWS: usize = 2;
const BANDS: usize = SIGNATURE_LEN / ROWS;
/// Fraction of equal signature values from which two mentions are near-duplicates.
/// Chosen on the labeled building sets (BENCHMARKS.md): at 0.5, posts by different
/// writers retelling the same thing, whose true share is just under a half, crossed it
/// by the estimate's spread (24 values) in 27 of 239 pairs; at 0.55 in 7, for 2 reposts
/// missed of 259.
pub const SIMILAR: f64 = 0.55;

/// A MinHash signature (16-bit values: enough to estimate similarity, and small).
pub type Signature = [u16; SIGNATURE_LEN];

/// What the duplicates stage records on a mention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duplicate {
    /// Id of the cluster's first mention.
    pub cluster: String,
    pub signature: Signature,
}

/// The signature of a text, or `None` when it has no words to compare.
pub fn signature(text: &str) -> Option<Signature> {
    let canonical = strip_repost_wrapping(text);
    signature_of_normalised(&super::relevance::normalise(&canonical))
}

/// [`signature`] of a text without repost wrapping (see [`has_repost_wrapping`]) that
/// is already normalised, as the pipeline has it from the relevance stage.
pub fn signature_of_normalised(normalised: &str) -> Option<Signature> {
    // Normalised text separates its words by single spaces (no other white space is
    // left in it): a plain scan for them, not `split_whitespace`'s Unicode tables.
    let words: Vec<u64> = super::model::spaced_words(normalised)
        .filter(|(_, w)| !w.is_empty())
        .map(|(_, w)| word_hash(w))
        .collect();
    if words.is_empty() {
        return None;
    }
    let mut signature = [u16::MAX; SIGNATURE_LEN];
    let mut add = |shingle: u64| {
        // One strong hash per shingle, then a multiply per slot: each seed gives a
        // different (multiply-shift) permutation, at a fraction of a full mix each.
        let h = mix(shingle);
        for (slot, seed) in signature.iter_mut().zip(SEEDS) {
            let value = ((h ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) as u16;
            if value < *slot {
                *slot = value;
            }
        }
    };
    // Words and word pairs: pairs keep word order in, words keep a reordered sentence
    // ("kinderen ook" / "ook kinderen") close.
    words.iter().for_each(|w| add(*w));
    words
        .windows(2)
        .for_each(|pair| add(mix(pair[0].rotate_left(17) ^ pair[1])));
    Some(signature)
}

/// Fraction of positions where two signatures agree (estimates their Jaccard similarity).
pub fn similarity(a: &Signature, b: &Signature) -> f64 {
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / SIGNATURE_LEN as f64
}

/// Whether `text` may hold what [`signature`] takes off (a handle or a link).
pub fn has_repost_wrapping(text: &str) -> bool {
    text.contains('@') || text.contains("http") || text.contains("www.")
}

/// Takes off what a repost adds: `RT @x:`, @handles and links.
fn strip_repost_wrapping(text: &str) -> std::borrow::Cow<'_, str> {
    // Most texts have neither: skip the regex and the copy.
    if !has_repost_wrapping(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    static WRAPPING: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let pattern = WRAPPING.get_or_init(|| {
        regex::Regex::new(r"(?i)\bRT\b\s*@\w+:?|\bvia\s+@\w+|@\w+|https?://\S+|www\.\S+")
            .expect("repost pattern compiles")
    });
    pattern.replace_all(text, " ")
}

/// FNV-1a: fast, stable across runs and platforms (signatures are stored).
fn word_hash(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64's finaliser: turns one hash into independent-looking others.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const SEEDS: [u64; SIGNATURE_LEN] = {
    let mut seeds = [0u64; SIGNATURE_LEN];
    let mut i = 0;
    while i < SIGNATURE_LEN {
        seeds[i] = mix(0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(i as u64 + 1));
        i += 1;
    }
    seeds
};

/// One mention known to the table.
struct Entry {
    signature: Signature,
    cluster: u32,
}

/// The lookup table of every indexed mention's signature.
#[derive(Default)]
pub struct DuplicateIndex {
    /// Band key → the latest entry with that band.
    bands: FxHashMap<u64, u32>,
    entries: Vec<Entry>,
    /// Cluster ids, by number.
    clusters: Vec<String>,
    cluster_numbers: FxHashMap<String, u32>,
}

impl DuplicateIndex {
    /// The cluster for a new mention `id`: that of its most similar earlier mention, or
    /// a new one named after `id`. The mention is remembered for later lookups.
    pub fn assign(&mut self, id: &str, signature: &Signature) -> String {
        let cluster = match self.most_similar(signature) {
            Some(entry) => self.entries[entry as usize].cluster,
            None => self.new_cluster(id),
        };
        self.remember(signature, cluster);
        self.clusters[cluster as usize].clone()
    }

    /// A new cluster for mention `id`, named after it. When its name is taken, `id` was
    /// analysed before with a text that no longer resembles this one (a post replaced
    /// or edited at its source; the same text again would have found its own entry):
    /// the copies of its old text keep their cluster, and the new text gets
    /// `id-2` (`-3`, …), so that it is not counted with them.
    fn new_cluster(&mut self, id: &str) -> u32 {
        if !self.cluster_numbers.contains_key(id) {
            return self.cluster_number(id);
        }
        let name = (2..)
            .map(|k: u32| format!("{id}-{k}"))
            .find(|name| !self.cluster_numbers.contains_key(name))
            .unwrap_or_else(|| id.to_string());
        self.cluster_number(&name)
    }

    /// Adds a mention whose cluster is already known (rebuilding from the index).
    pub fn insert(&mut self, cluster: &str, signature: &Signature) {
        let number = self.cluster_number(cluster);
        self.remember(signature, number);
    }

    /// Mentions in the table.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn most_similar(&self, signature: &Signature) -> Option<u32> {
        let mut best: Option<(f64, u32)> = None;
        for band in 0..BANDS {
            let Some(&entry) = self.bands.get(&band_key(signature, band)) else {
                continue;
            };
            let s = similarity(signature, &self.entries[entry as usize].signature);
            if s >= SIMILAR && best.is_none_or(|(b, _)| s > b) {
                best = Some((s, entry));
            }
        }
        best.map(|(_, entry)| entry)
    }

    fn remember(&mut self, signature: &Signature, cluster: u32) {
        let entry = self.entries.len() as u32;
        self.entries.push(Entry {
            signature: *signature,
            cluster,
        });
        for band in 0..BANDS {
            self.bands.insert(band_key(signature, band), entry);
        }
    }

    fn cluster_number(&mut self, id: &str) -> u32 {
        if let Some(&n) = self.cluster_numbers.get(id) {
            return n;
        }
        let n = self.clusters.len() as u32;
        self.clusters.push(id.to_string());
        self.cluster_numbers.insert(id.to_string(), n);
        n
    }
}

fn band_key(signature: &Signature, band: usize) -> u64 {
    let values = &signature[band * ROWS..(band + 1) * ROWS];
    ((band as u64) << 32) | (u64::from(values[0]) << 16) | u64::from(values[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "Bel de IND: \"Alle medewerkers zijn in gesprek.\" Verbinding verbroken. Herhaal 30 keer. Dit is de asielprocedure. #IND";

    fn sig(text: &str) -> Signature {
        signature(text).unwrap()
    }

    #[test]
    fn reposts_and_small_edits_are_similar() {
        let original = sig(ORIGINAL);
        for variant in [
            format!("RT @amina_wacht: {ORIGINAL}"),
            format!("Precies dit 👇 RT @amina_wacht: {ORIGINAL}"),
            "Bel de IND: \"Alle medewerkers zijn in gesprek.\" Verbinding verbroken. Herhaal dat 30 keer. Dit is de asielprocedure. https://t.co/xY12abCq".to_string(),
        ] {
            let s = similarity(&original, &sig(&variant));
            assert!(s >= SIMILAR, "{s}: {variant}");
        }
    }

    #[test]
    fn different_texts_are_not() {
        let s = similarity(
            &sig(ORIGINAL),
            &sig("Vannacht weer 80 mensen buiten geslapen voor het aanmeldcentrum in Ter Apel. Kinderen ook."),
        );
        assert!(s < SIMILAR, "{s}");
    }

    #[test]
    fn the_first_mention_names_the_cluster() {
        let mut index = DuplicateIndex::default();
        assert_eq!(index.assign("a", &sig(ORIGINAL)), "a");
        assert_eq!(index.assign("b", &sig(&format!("RT @x: {ORIGINAL}"))), "a");
        assert_eq!(index.assign("c", &sig("Ter Apel zit weer vol. Weer.")), "c");
        // Re-processing the same text finds the same cluster (idempotent writes).
        assert_eq!(index.assign("a", &sig(ORIGINAL)), "a");
        assert_eq!(index.len(), 4);
    }

    #[test]
    fn a_mention_replaced_with_other_text_leaves_its_old_cluster() {
        let mut table = DuplicateIndex::default();
        let repost = format!("RT @x: {ORIGINAL}");
        assert_eq!(table.assign("a", &sig(ORIGINAL)), "a");
        assert_eq!(table.assign("b", &sig(&repost)), "a");
        // The same text again (a re-import): its cluster.
        assert_eq!(table.assign("a", &sig(ORIGINAL)), "a");
        // Other text under the same id: a cluster of its own, not the reposts'.
        let other = "Op het azc in Budel is de verwarming al drie weken kapot en niemand komt.";
        assert_eq!(table.assign("a", &sig(other)), "a-2");
        assert_eq!(table.assign("c", &sig(other)), "a-2");
        // The old text's copies still find each other.
        assert_eq!(table.assign("d", &sig(&repost)), "a");
        let third =
            "De tolk bij mijn nader gehoor sprak een ander dialect dan ik, niemand luisterde.";
        assert_eq!(table.assign("a", &sig(third)), "a-3");
    }

    #[test]
    fn a_rebuilt_table_keeps_the_clusters() {
        let mut index = DuplicateIndex::default();
        index.insert("first", &sig(ORIGINAL));
        assert_eq!(
            index.assign("later", &sig(&format!("{ORIGINAL} !!"))),
            "first"
        );
    }

    #[test]
    fn text_without_words_has_no_signature() {
        assert!(signature("").is_none());
        assert!(signature("🙏🙏 https://t.co/x @someone").is_none());
        assert!(signature("IND!").is_some());
    }

    #[test]
    fn signatures_are_stable() {
        // Stored in the index: a change here splits every existing cluster.
        assert_eq!(sig("ter apel zit vol")[..3], sig("Ter Apel zit vol!")[..3]);
        // The published FNV-1a test vector.
        assert_eq!(word_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
