//! Aspects: which parts of the asylum procedure a mention is about (multi-label).
//!
//! The taxonomy is fixed ([`ASPECTS`], as in DOMAIN.md); the words that point to each
//! aspect live in `config/aspects/*.toml`, one file per language, in the format of the
//! topic rules (see `config/aspects/README.md`): each `[[include]]` rule is named after
//! the aspect it tags, and every rule that matches adds its aspect. The webcare team
//! extends the word lists without a programmer; a rule named after an unknown aspect
//! stops startup with the file and the name.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::relevance::{TopicError, Topics};

/// The aspects of the procedure, ids exactly as in DOMAIN.md.
pub const ASPECTS: &[&str] = &[
    "waiting_time",
    "interpreter",
    "hearing",
    "treatment",
    "facilities",
    "reception",
    "communication",
    "decision",
    "legal_aid",
    "family_reunification",
    "documents",
];

/// One aspect found in a mention, with the terms that found it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AspectTag {
    pub id: String,
    pub terms: Vec<String>,
}

/// The compiled aspect rules.
pub struct Aspects {
    rules: Topics,
}

impl Aspects {
    /// Loads `dir/*.toml` and checks that every rule names a known aspect.
    pub fn load_dir(dir: &Path) -> Result<Aspects, TopicError> {
        Aspects::checked(Topics::load_dir(dir)?, dir)
    }

    /// Compiles aspect files given as (path, TOML text).
    pub fn from_sources(files: &[(PathBuf, String)]) -> Result<Aspects, TopicError> {
        Aspects::checked(Topics::from_sources(files)?, Path::new("aspects"))
    }

    fn checked(rules: Topics, dir: &Path) -> Result<Aspects, TopicError> {
        for id in rules.rule_ids() {
            let (file, aspect) = id.split_once('/').unwrap_or(("", id));
            if !ASPECTS.contains(&aspect) {
                return Err(TopicError::Parse {
                    path: dir.join(format!("{file}.toml")),
                    message: format!(
                        "rule {aspect:?} is not an aspect of the procedure; rules are named after one of: {}",
                        ASPECTS.join(", ")
                    ),
                });
            }
        }
        Ok(Aspects { rules })
    }

    /// The aspects `text` is about, each once, in taxonomy order.
    pub fn tag(&self, text: &str) -> Vec<AspectTag> {
        self.tag_normalised(&super::relevance::normalise(text))
    }

    /// [`Aspects::tag`] on text already normalised for matching.
    pub fn tag_normalised(&self, normalised: &str) -> Vec<AspectTag> {
        let mut tags: Vec<AspectTag> = Vec::new();
        for (id, terms) in self.rules.matching(normalised) {
            let aspect = id.split_once('/').map_or(id, |(_, a)| a);
            match tags.iter_mut().find(|t| t.id == aspect) {
                // Rules of several language files may match the same term.
                Some(tag) => {
                    for term in terms {
                        if !tag.terms.contains(&term) {
                            tag.terms.push(term);
                        }
                    }
                }
                None => tags.push(AspectTag {
                    id: aspect.to_string(),
                    terms,
                }),
            }
        }
        tags.sort_by_key(|t| ASPECTS.iter().position(|a| *a == t.id));
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aspects(text: &str) -> Result<Aspects, TopicError> {
        Aspects::from_sources(&[(PathBuf::from("a/nl.toml"), text.to_string())])
    }

    #[test]
    fn every_matching_rule_adds_its_aspect_once() {
        let a = aspects(
            "[[include]]\nid = \"interpreter\"\nany = [\"tolk*\"]\n\n[[include]]\nid = \"hearing\"\nany = [\"nader gehoor\", \"rapport\"]\n",
        )
        .unwrap();
        let tags = a.tag("De tolk bij mijn nader gehoor; het rapport klopt niet. Tolken!");
        let ids: Vec<&str> = tags.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, vec!["interpreter", "hearing"]);
        assert_eq!(tags[0].terms, vec!["tolk*"]);
        assert!(a.tag("Het weer is mooi").is_empty());
    }

    #[test]
    fn unknown_aspect_names_file_and_rule() {
        let err = aspects("[[include]]\nid = \"tolk\"\nany = [\"tolk\"]\n")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("nl.toml") && err.contains("\"tolk\" is not an aspect"),
            "{err}"
        );
    }
}
