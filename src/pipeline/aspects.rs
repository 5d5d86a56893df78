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

use super::aspect_model::{AspectModel, MODEL_FILE};
use super::model::{reason, FeatureSet};
use super::relevance::{TermHits, TopicError, Topics};

/// How many of the model's strongest features are given with an aspect.
const MODEL_REASONS: usize = 3;

/// What the aspect lists' rule ids name (for the error when one does not).
const ASPECT_RULES: &str = "an aspect of the procedure";

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

impl AspectTag {
    /// The aspect and what found it, as shown and stored: `interpreter: tolk*, model:…`.
    pub fn why(&self) -> String {
        let mut why = String::new();
        self.write_why(&mut why);
        why
    }

    /// [`AspectTag::why`], appended to `out` (the index writes every tag's into one line).
    pub fn write_why(&self, out: &mut String) {
        out.push_str(&self.id);
        out.push_str(": ");
        for (i, term) in self.terms.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(term);
        }
    }
}

/// The compiled aspect rules, and the learned model when there is one.
pub struct Aspects {
    rules: Topics,
    model: Option<AspectModel>,
}

impl Aspects {
    /// Loads `dir/*.toml`, checking that every rule names a known aspect, and the
    /// learned model `dir/model.tsv` if it exists.
    pub fn load_dir(dir: &Path) -> Result<Aspects, TopicError> {
        let aspects = Aspects::load_lists(dir)?;
        let path = dir.join(MODEL_FILE);
        if !path.exists() {
            return Ok(aspects);
        }
        Ok(aspects.with_model(Some(AspectModel::load(&path)?)))
    }

    /// Only the word lists of `dir`, never its model: what `webcare train` trains the
    /// model on, so that a damaged model file can be replaced by training a new one.
    pub fn load_lists(dir: &Path) -> Result<Aspects, TopicError> {
        let rules = Topics::load_rules_named(dir, ASPECTS, ASPECT_RULES)?;
        Ok(Aspects { rules, model: None })
    }

    /// The word lists, compiled as topic rules (for a [`super::relevance::SharedScan`]).
    pub fn lists(&self) -> &Topics {
        &self.rules
    }

    /// The number of weighted features of the learned model, if there is one.
    pub fn model_features(&self) -> Option<usize> {
        self.model.as_ref().map(AspectModel::len)
    }

    /// The same lists with another learned model (or none: the lists decide alone).
    pub fn with_model(mut self, model: Option<AspectModel>) -> Aspects {
        self.model = model;
        self
    }

    /// Compiles aspect files given as (path, TOML text).
    pub fn from_sources(files: &[(PathBuf, String)]) -> Result<Aspects, TopicError> {
        let rules = Topics::from_sources_named(files, Some((ASPECTS, ASPECT_RULES)))?;
        Ok(Aspects { rules, model: None })
    }

    /// The aspects of a mention: what the word lists find (in `normalised`, see
    /// [`super::relevance::normalise`]), weighed by the learned model when there is one
    /// (on `cue_normalised`, see [`super::complaint::normalise_cues`], whose features
    /// are `found`).
    pub fn judge(
        &self,
        normalised: &str,
        cue_normalised: &str,
        found: &FeatureSet,
    ) -> Vec<AspectTag> {
        self.judge_hits(&self.rules.hits(normalised), cue_normalised, found)
    }

    /// [`Aspects::judge`] on the list terms a [`super::relevance::SharedScan`] found.
    pub fn judge_hits(
        &self,
        hits: &TermHits,
        cue_normalised: &str,
        found: &FeatureSet,
    ) -> Vec<AspectTag> {
        let listed = self.tag_hits(hits);
        let Some(model) = &self.model else {
            return listed;
        };
        // The lists still speak.
        if !super::model::has_words_to_weigh(cue_normalised) {
            return listed;
        }
        model
            .judge_set(
                cue_normalised,
                found,
                &listed_indexes(&listed),
                MODEL_REASONS,
            )
            .into_iter()
            .filter_map(|judged| {
                let id = ASPECTS[judged.aspect];
                let listed = listed.iter().find(|t| t.id == id).map(|t| &t.terms[..]);
                let said = if judged.probability >= 0.5 {
                    reason(judged.probability, &judged.contributions)
                } else {
                    // A term added since training decides: the model never weighed it.
                    let new = listed?.iter().find(|t| model.is_new_term(id, t))?;
                    format!("new:{new}(model:{:.2})", judged.probability)
                };
                // The list terms first (the words the team chose), then the model's.
                let mut terms = listed.map(<[String]>::to_vec).unwrap_or_default();
                terms.push(said);
                Some(AspectTag {
                    id: id.to_string(),
                    terms,
                })
            })
            .collect()
    }

    /// Every term of the word lists as written, with the aspect it finds.
    pub fn list_terms(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.rules
            .include_terms()
            .map(|(id, term)| (aspect_of_rule(id), term))
    }

    /// The aspects the word lists find in `text`, each once, in taxonomy order: also
    /// what tells whether a word is one the team already follows.
    pub fn tag(&self, text: &str) -> Vec<AspectTag> {
        self.tag_normalised(&super::relevance::normalise(text))
    }

    /// [`Aspects::tag`] on text already normalised for matching.
    pub fn tag_normalised(&self, normalised: &str) -> Vec<AspectTag> {
        self.tag_hits(&self.rules.hits(normalised))
    }

    fn tag_hits(&self, hits: &TermHits) -> Vec<AspectTag> {
        let mut tags: Vec<AspectTag> = Vec::new();
        for (id, terms) in self.rules.matching_hits(hits) {
            let aspect = aspect_of_rule(id);
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

/// The aspect a rule id names: the rules of every file are named after their aspect
/// (`nl/interpreter`).
fn aspect_of_rule(id: &str) -> &str {
    id.split_once('/').map_or(id, |(_, a)| a)
}

/// Positions in [`ASPECTS`] of the aspects the lists found.
pub fn listed_indexes(listed: &[AspectTag]) -> Vec<usize> {
    listed
        .iter()
        .filter_map(|t| ASPECTS.iter().position(|a| *a == t.id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aspects(text: &str) -> Result<Aspects, TopicError> {
        Aspects::from_sources(&[(PathBuf::from("a/nl.toml"), text.to_string())])
    }

    #[test]
    fn a_rule_named_after_no_aspect_is_refused_with_its_line() {
        let err = aspects(
            "[[include]]\nid = \"interpreter\"\nany = [\"tolk*\"]\n\n[[include]]\nid = \"waitingtime\"\nany = [\"wacht\"]\n",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.starts_with("a/nl.toml:6: rule \"waitingtime\" is not an aspect"),
            "{err}"
        );
        assert!(err.contains("waiting_time"), "{err}");
    }

    #[test]
    fn an_aspect_list_for_some_languages_is_refused() {
        let err =
            aspects("[[include]]\nid = \"interpreter\"\nany = [\"tolk*\"]\nlanguages = [\"nl\"]\n")
                .err()
                .unwrap()
                .to_string();
        assert!(
            err.starts_with("a/nl.toml:4:") && err.contains("for topic rules only"),
            "{err}"
        );
        // Nor is a strong one: it would be read and do nothing.
        let err = aspects("[[include]]\nid = \"interpreter\"\nstrong = true\nany = [\"tolk*\"]\n")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("a/nl.toml:2:") && err.contains("`strong` is for topic rules only"),
            "{err}"
        );
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

    /// A model trained on `examples` (text, aspects) as `lists` find them.
    fn trained_on(
        lists: &Aspects,
        examples: &[(&str, Vec<&str>)],
    ) -> super::super::aspect_model::AspectModel {
        use super::super::aspect_model::{AspectExample, AspectModel};
        use super::super::complaint::normalise_cues;
        let prepared: Vec<AspectExample> = examples
            .iter()
            .map(|(text, labels)| AspectExample {
                cue: normalise_cues(text),
                listed: listed_indexes(&lists.tag(text)),
                labels: ASPECTS.iter().map(|a| labels.contains(a)).collect(),
            })
            .collect();
        let refs: Vec<&AspectExample> = prepared.iter().collect();
        AspectModel::train(&refs, super::super::model::Training::default())
    }

    #[test]
    fn a_model_weighs_what_the_lists_found_and_says_why() {
        use super::super::complaint::normalise_cues;
        use super::super::relevance::normalise;
        let lists = aspects(
            "[[include]]\nid = \"interpreter\"\nany = [\"tolk*\"]\n\n[[include]]\nid = \"reception\"\nany = [\"azc\"]\n",
        )
        .unwrap();
        // The azc named in passing is not what these posts are about; the tolk is.
        let examples = [
            ("de tolk begreep mijn dialect niet", vec!["interpreter"]),
            ("weer een tolk die slecht vertaalde", vec!["interpreter"]),
            ("op het azc is de verwarming kapot", vec!["reception"]),
            ("het azc heeft geen dokter", vec!["reception"]),
            (
                "vanuit het azc al maanden wachten op de beslissing",
                vec!["waiting_time"],
            ),
            ("in het azc wacht ik al een jaar", vec!["waiting_time"]),
        ];
        let model = trained_on(&lists, &examples);
        let lists = lists.with_model(Some(model));
        let judge = |text: &str| {
            let cue = normalise_cues(text);
            lists.judge(&normalise(text), &cue, &FeatureSet::of(&cue))
        };
        let tags = judge("De tolk bij mijn gehoor");
        assert_eq!(tags.len(), 1, "{tags:?}");
        assert_eq!(tags[0].id, "interpreter");
        // The list term first, then the model's reasons.
        assert_eq!(tags[0].terms[0], "tolk*");
        assert!(tags[0].terms[1].starts_with("model:"), "{tags:?}");
        let ids: Vec<String> = judge("Vanuit het azc wacht ik al maanden")
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(
            ids,
            vec!["waiting_time"],
            "the model overrules the list word"
        );
        // Without the model, the lists alone.
        let plain = aspects("[[include]]\nid = \"reception\"\nany = [\"azc\"]\n").unwrap();
        let text = "Vanuit het azc wacht ik al maanden";
        let cue = normalise_cues(text);
        let ids: Vec<String> = plain
            .judge(&normalise(text), &cue, &FeatureSet::of(&cue))
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(ids, vec!["reception"]);
    }

    #[test]
    fn a_list_term_added_after_training_decides_where_the_model_turns_it_down() {
        use super::super::complaint::normalise_cues;
        use super::super::relevance::normalise;
        let before = "[[include]]\nid = \"reception\"\nany = [\"azc\"]\n";
        let after = "[[include]]\nid = \"reception\"\nany = [\"azc\", \"opvangplek\"]\n";
        let examples = [
            ("op het azc is de verwarming kapot", vec!["reception"]),
            ("het azc heeft geen dokter", vec!["reception"]),
            ("vanuit het azc al maanden wachten", vec!["waiting_time"]),
            ("in het azc wacht ik al een jaar", vec!["waiting_time"]),
            ("ik wacht al maanden op de ind", vec!["waiting_time"]),
        ];
        let lists = aspects(before).unwrap();
        let trained = trained_on(&lists, &examples);
        let text = "Vanuit de opvangplek wacht ik al maanden";
        let judge = |lists: &Aspects| {
            let cue = normalise_cues(text);
            lists.judge(&normalise(text), &cue, &FeatureSet::of(&cue))
        };
        // Trained with the term, the model weighs it: not about the reception.
        let knows = aspects(after).unwrap();
        let model = trained.clone().trained_with(knows.list_terms());
        let ids: Vec<String> = judge(&knows.with_model(Some(model)))
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(ids, vec!["waiting_time"]);
        // Added since: the list decides, and says so.
        let model = trained.trained_with(lists.list_terms());
        let tags = judge(&aspects(after).unwrap().with_model(Some(model)));
        let reception = tags
            .iter()
            .find(|t| t.id == "reception")
            .expect("reception");
        assert_eq!(reception.terms[0], "opvangplek");
        assert!(
            reception.terms[1].starts_with("new:opvangplek(model:0."),
            "{tags:?}"
        );
        assert!(tags.iter().any(|t| t.id == "waiting_time"), "{tags:?}");
    }

    #[test]
    fn an_exclude_rule_in_an_aspect_list_is_refused() {
        let err = aspects(
            "[[include]]\nid = \"reception\"\nany = [\"azc\"]\n\n[[exclude]]\nid = \"reception\"\nany = [\"azc\"]\n",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.starts_with("a/nl.toml:6: an aspect list has no [[exclude]]"),
            "{err}"
        );
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
