//! [`Mention`]: the one thing that flows from a source through the pipeline into the index.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The language code used when detection is not reliable.
pub const UNDETERMINED: &str = "und";

/// A public post, article or comment that may be about the asylum procedure.
///
/// Sources fill in what the platform gives (`source`, `external_id`, `url`, `title`,
/// `text`, `published`, `lang_hint`); pipeline stages fill in the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    /// Stable id: the same item polled twice gets the same id (see [`mention_id`]).
    pub id: String,
    /// Name of the configured source it came from.
    pub source: String,
    /// The platform's or feed's own id for the item.
    pub external_id: String,
    pub url: Option<String>,
    pub title: String,
    /// Clean text: no markup, entities decoded, whitespace normalised.
    pub text: String,
    pub published: DateTime<Utc>,
    pub fetched: DateTime<Utc>,
    /// Language the platform, feed or config says the item is in.
    pub lang_hint: Option<String>,
    /// ISO 639-1 code, or [`UNDETERMINED`].
    pub lang: String,
    pub lang_confidence: f64,
    /// Why the mention is (or is not) about the asylum procedure; `None` until judged.
    pub relevance: Option<Relevance>,
    /// The aspects of the procedure it is about (relevant mentions only).
    #[serde(default)]
    pub aspects: Vec<crate::pipeline::aspects::AspectTag>,
    /// Whether it voices a grievance about the procedure (relevant mentions only).
    #[serde(default)]
    pub complaint: Option<crate::pipeline::complaint::Complaint>,
    /// Its near-duplicate cluster and the signature that placed it there.
    #[serde(default)]
    pub duplicate: Option<crate::pipeline::duplicates::Duplicate>,
    /// Who wrote it. Sources put the platform's handle here; the privacy stage replaces
    /// it with a keyed pseudonym before anything is stored, so only the pseudonym is
    /// ever indexed, logged or exported.
    #[serde(default)]
    pub author: Option<String>,
    /// Context of a reply or comment: the title of the thread or post it belongs to.
    #[serde(default)]
    pub thread: Option<String>,
}

/// The outcome of the relevance stage, with the rule that decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relevance {
    pub relevant: bool,
    /// Id of the deciding rule, as `file/rule` (e.g. `nl/asylum-core`).
    pub rule: String,
    /// The terms in the mention that made the rule match.
    pub terms: Vec<String>,
}

impl Mention {
    /// A new mention as a source sees it; the pipeline fills in language and relevance.
    pub fn new(
        source: &str,
        external_id: &str,
        published: DateTime<Utc>,
        fetched: DateTime<Utc>,
    ) -> Mention {
        Mention {
            id: mention_id(source, external_id),
            source: source.to_string(),
            external_id: external_id.to_string(),
            url: None,
            title: String::new(),
            text: String::new(),
            published,
            fetched,
            lang_hint: None,
            lang: UNDETERMINED.to_string(),
            lang_confidence: 0.0,
            relevance: None,
            aspects: Vec::new(),
            complaint: None,
            duplicate: None,
            author: None,
            thread: None,
        }
    }

    /// Whether the relevance stage kept it.
    pub fn is_relevant(&self) -> bool {
        self.relevance.as_ref().is_some_and(|r| r.relevant)
    }

    /// Whether the complaint stage found a grievance.
    pub fn is_complaint(&self) -> bool {
        self.complaint.as_ref().is_some_and(|c| c.complaint)
    }

    /// The near-duplicate cluster, if the mention has one.
    pub fn cluster(&self) -> Option<&str> {
        self.duplicate.as_ref().map(|d| d.cluster.as_str())
    }

    /// The rule that decided relevance, if any.
    pub fn topic(&self) -> Option<&str> {
        self.relevance.as_ref().map(|r| r.rule.as_str())
    }
}

/// The stable id of an item: a hash of the source name and the item's own id, so that
/// polling the same item twice, or importing it twice, gives the same document.
pub fn mention_id(source: &str, external_id: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(source.as_bytes());
    hasher.update(&[0]);
    hasher.update(external_id.as_bytes());
    hasher.finalize().to_hex()[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_stable_and_depends_on_source_and_item() {
        assert_eq!(mention_id("a", "1"), mention_id("a", "1"));
        assert_ne!(mention_id("a", "1"), mention_id("b", "1"));
        // The separator keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(mention_id("ab", "c"), mention_id("a", "bc"));
        assert_eq!(mention_id("a", "1").len(), 32);
    }
}
