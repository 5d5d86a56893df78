//! `webcare train FILE.jsonl…`: learns the relevance model, the complaint word model and
//! the aspect model from labeled posts.
//!
//! Reads labeled JSON Lines (the `webcare eval` format). The relevance model learns from
//! every item; the complaint and aspect models from the items labeled relevant
//! (complaints and aspects are only ever judged on those). Before writing the models it
//! reports how well they do on posts they were not trained on: k-fold
//! cross-validation. The rules and word lists may have been built on some of the same
//! posts, so figures with them flatter; the held-out files of `tests/data/` must never be
//! given here.

pub mod files;

use std::io::BufRead;
use std::path::PathBuf;

use serde::Serialize;

use crate::eval::{Labeled, Scores};
use crate::pipeline::aspect_model::{AspectExample, AspectModel};
use crate::pipeline::aspects::{listed_indexes, Aspects, ASPECTS};
use crate::pipeline::complaint::{normalise_cues, ComplaintRules};
use crate::pipeline::extract::any_to_text;
use crate::pipeline::model::{self, FeatureSet, Training, WordModel};
use crate::pipeline::relevance::{normalise, Ruling, Topics};

/// Why training could not start.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: this is the held-out file; it is for measuring only, never for training")]
    HeldOut { path: PathBuf },
    #[error("{path}:{line}: item {id:?} is marked \"held_out\": it is for measuring only, never for training")]
    HeldOutItem {
        path: PathBuf,
        line: usize,
        id: String,
    },
    #[error("too few relevant items of each kind to train on: {complaints} complaints and {} other relevant items; need at least 10 of each", relevant - complaints)]
    TooFew { relevant: usize, complaints: usize },
    #[error("too few items labeled not relevant to train the relevance model on ({0}): need at least 10")]
    TooFewIrrelevant(usize),
}

/// One labeled post prepared for training.
#[derive(Debug, Clone)]
pub struct Example {
    /// Text as the analysis reads it (not normalised).
    pub text: String,
    pub lang: String,
    pub relevant: bool,
    pub complaint: bool,
    /// Aspect ids as labeled.
    pub aspects: Vec<String>,
}

/// What training did.
#[derive(Debug, Serialize)]
pub struct TrainReport {
    pub files: Vec<String>,
    pub relevant: usize,
    pub complaints: usize,
    pub features: usize,
    pub folds: usize,
    /// The model alone, on the fold it was not trained on.
    pub model_out_of_fold: Scores,
    /// Model and cue lists mixed as in the pipeline, on the fold the model did not see.
    pub mixed_out_of_fold: Scores,
}

/// Reads every labeled item of `paths`, each text as the pipeline's analysis reads it
/// (`as_read`: [`crate::pipeline::Privacy::as_read`]), so that the models learn from what
/// they will be given; a bad line names file and line.
pub fn read_examples(
    paths: &[PathBuf],
    as_read: impl Fn(&str) -> String,
) -> Result<Vec<Example>, TrainError> {
    let mut out = Vec::new();
    // A post twice weighs double and passes `min_count` alone: ids are told apart, as
    // `webcare eval` does.
    let mut seen: std::collections::HashMap<String, (usize, usize)> = Default::default();
    for (file_no, path) in paths.iter().enumerate() {
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().contains("heldout"))
        {
            return Err(TrainError::HeldOut { path: path.clone() });
        }
        let file = std::fs::File::open(path).map_err(|source| TrainError::Read {
            path: path.clone(),
            source,
        })?;
        for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|source| TrainError::Read {
                path: path.clone(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let invalid = |message| TrainError::Invalid {
                path: path.clone(),
                line: index + 1,
                message,
            };
            let item = Labeled::parse(&line).map_err(invalid)?;
            if item.held_out {
                return Err(TrainError::HeldOutItem {
                    path: path.clone(),
                    line: index + 1,
                    id: item.id,
                });
            }
            if let Some((first_file, first_line)) =
                seen.insert(item.id.clone(), (file_no, index + 1))
            {
                return Err(invalid(format!(
                    "id {:?} is on {}:{first_line} already",
                    item.id,
                    paths[first_file].display()
                )));
            }
            out.push(Example {
                text: as_read(&any_to_text(&item.text)),
                lang: item.lang,
                relevant: item.relevant,
                complaint: item.complaint,
                aspects: item.aspects,
            });
        }
    }
    Ok(out)
}

/// Trains on every relevant example; cross-validates first with `folds` folds (at
/// least 2).
pub fn train(
    examples: &[Example],
    cues: &ComplaintRules,
    settings: Training,
    folds: usize,
) -> Result<(WordModel, TrainReport), TrainError> {
    let examples: Vec<&Example> = examples.iter().filter(|e| e.relevant).collect();
    let complaints = examples.iter().filter(|e| e.complaint).count();
    if complaints < 10 || examples.len() - complaints < 10 {
        return Err(TrainError::TooFew {
            relevant: examples.len(),
            complaints,
        });
    }
    let normalised: Vec<(String, bool)> = examples
        .iter()
        .map(|e| (normalise_cues(&e.text), e.complaint))
        .collect();
    let folds = folds.max(2);
    let (mut alone, mut mixed) = (Scores::default(), Scores::default());
    for fold in 0..folds {
        let training: Vec<(String, bool)> = normalised
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != fold)
            .map(|(_, e)| e.clone())
            .collect();
        let fold_model = model::train(&training, settings);
        for (i, example) in examples
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds == fold)
        {
            let probability = fold_model.judge(&normalised[i].0, 0).probability;
            alone.add(probability >= 0.5, example.complaint);
            let judged = cues.judge_with(&example.text, &example.lang, Some(&fold_model));
            mixed.add(judged.complaint, example.complaint);
        }
    }
    let model = model::train(&normalised, settings);
    let report = TrainReport {
        files: Vec::new(),
        relevant: examples.len(),
        complaints,
        features: model.len(),
        folds,
        model_out_of_fold: alone.finish(),
        mixed_out_of_fold: mixed.finish(),
    };
    Ok((model, report))
}

/// Posts an aspect needs before the model learns much of it.
const FEW_EXAMPLES: usize = 10;

/// What to look at before the models written replace the ones in use: a model that does
/// worse than the lists it weighs, an aspect it has (almost) no posts for.
pub fn warnings(
    examples: &[Example],
    aspects: &AspectReport,
    relevance: &RelevanceReport,
) -> Vec<String> {
    let mut out = Vec::new();
    let worse = |what: &str, model: f64, lists: f64, of: &str| {
        format!(
            "the {what} model does worse in cross-validation than the {of} alone (F1 {model:.3} against {lists:.3}); the {of} may flatter themselves if they were built on these posts, but more labeled posts are the likely remedy"
        )
    };
    if aspects.model_out_of_fold.f1 < aspects.lists.f1 {
        out.push(worse(
            "aspect",
            aspects.model_out_of_fold.f1,
            aspects.lists.f1,
            "word lists",
        ));
    }
    if relevance.model_out_of_fold.f1 < relevance.rules.f1 {
        out.push(worse(
            "relevance",
            relevance.model_out_of_fold.f1,
            relevance.rules.f1,
            "topic rules",
        ));
    }
    let few: Vec<String> = ASPECTS
        .iter()
        .map(|aspect| {
            let posts = examples
                .iter()
                .filter(|e| e.relevant && e.aspects.iter().any(|a| a == aspect))
                .count();
            (aspect, posts)
        })
        .filter(|(_, posts)| *posts < FEW_EXAMPLES)
        .map(|(aspect, posts)| format!("{aspect} ({posts})"))
        .collect();
    if !few.is_empty() {
        out.push(format!(
            "aspects with fewer than {FEW_EXAMPLES} labeled posts, which the aspect model learns little of: {}",
            few.join(", ")
        ));
    }
    out
}

/// What training the aspect model did.
#[derive(Debug, Serialize)]
pub struct AspectReport {
    pub relevant: usize,
    pub features: usize,
    pub folds: usize,
    /// The word lists alone, micro-averaged over every (post, aspect) (the lists may
    /// have been built on these posts).
    pub lists: Scores,
    /// The model (with what the lists found) on the fold it was not trained on.
    pub model_out_of_fold: Scores,
}

/// How the aspect model trains unless told otherwise: as the complaint model, with
/// more steps.
pub const ASPECT_TRAINING: Training = Training {
    c: 16.0,
    // Words and pairs in three posts or more: those in two made a quarter of the model
    // file (over 5 MB, and read into a table at every start) for 0.002 of
    // cross-validated micro-F1 (0.849 against 0.847 on 11,011 posts, session 12).
    min_count: 3,
    // Eleven columns share one step size; 600 steps left them short of converged
    // (cross-validated micro-F1 0.833 against 0.837 at 1,200; 2,500 gave no more).
    steps: 1200,
};

fn aspect_examples(examples: &[Example], lists: &Aspects) -> Vec<AspectExample> {
    examples
        .iter()
        .filter(|e| e.relevant)
        .map(|e| AspectExample {
            cue: normalise_cues(&e.text),
            listed: listed_indexes(&lists.tag_normalised(&normalise(&e.text))),
            labels: ASPECTS
                .iter()
                .map(|a| e.aspects.iter().any(|x| x == a))
                .collect(),
        })
        .collect()
}

/// Trains the aspect model on every example; cross-validates first with `folds` folds.
pub fn train_aspects(
    examples: &[Example],
    lists: &Aspects,
    settings: Training,
    folds: usize,
) -> (AspectModel, AspectReport) {
    let prepared = aspect_examples(examples, lists);
    let folds = folds.max(2);
    let (mut by_lists, mut by_model) = (Scores::default(), Scores::default());
    for example in &prepared {
        for (k, label) in example.labels.iter().enumerate() {
            by_lists.add(example.listed.contains(&k), *label);
        }
    }
    for fold in 0..folds {
        let training: Vec<&AspectExample> = prepared
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != fold)
            .map(|(_, e)| e)
            .collect();
        let fold_model = AspectModel::train(&training, settings);
        for example in prepared
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds == fold)
            .map(|(_, e)| e)
        {
            let judged = fold_model.judge(&example.cue, &example.listed, 0);
            for (j, label) in judged.iter().zip(&example.labels) {
                by_model.add(j.probability >= 0.5, *label);
            }
        }
    }
    let all: Vec<&AspectExample> = prepared.iter().collect();
    let model = AspectModel::train(&all, settings).trained_with(lists.list_terms());
    let report = AspectReport {
        relevant: prepared.len(),
        features: model.len(),
        folds,
        lists: by_lists.finish(),
        model_out_of_fold: by_model.finish(),
    };
    (model, report)
}

/// What training the relevance model did.
#[derive(Debug, Serialize)]
pub struct RelevanceReport {
    pub items: usize,
    pub relevant: usize,
    pub features: usize,
    pub folds: usize,
    /// The topic rules alone (they may have been built on some of these posts).
    pub rules: Scores,
    /// The rules weighed by the model as the pipeline does, on the fold the model was
    /// not trained on.
    pub model_out_of_fold: Scores,
}

/// One item as the relevance model sees it: its cue-normalised text, its features, what
/// the rules decided, and its label.
struct RelevanceExample {
    cue: String,
    found: FeatureSet,
    ruling: Ruling,
    relevant: bool,
}

/// The words, pairs and rule flags of an item: the features the pipeline weighs.
fn relevance_row<'a>(example: &'a RelevanceExample, rules: &'a Topics) -> Vec<&'a str> {
    let mut row = model::features(&example.cue);
    row.extend(
        rules
            .flags(&example.ruling)
            .into_iter()
            .map(|(name, _)| name),
    );
    row
}

/// Trains the relevance model on every example (relevant or not); cross-validates
/// first with `folds` folds. `rules` are the topic rules without a model.
pub fn train_relevance(
    examples: &[Example],
    rules: &Topics,
    settings: Training,
    folds: usize,
) -> Result<(WordModel, RelevanceReport), TrainError> {
    let irrelevant = examples.iter().filter(|e| !e.relevant).count();
    if irrelevant < 10 {
        return Err(TrainError::TooFewIrrelevant(irrelevant));
    }
    let prepared: Vec<RelevanceExample> = examples
        .iter()
        .map(|e| {
            let cue = normalise_cues(&e.text);
            RelevanceExample {
                found: FeatureSet::of(&cue),
                ruling: rules.rule(&normalise(&e.text), &e.lang),
                cue,
                relevant: e.relevant,
            }
        })
        .collect();
    let rows: Vec<Vec<&str>> = prepared.iter().map(|e| relevance_row(e, rules)).collect();
    let labels: Vec<bool> = prepared.iter().map(|e| e.relevant).collect();
    let folds = folds.max(2);
    let (mut by_rules, mut by_model) = (Scores::default(), Scores::default());
    for example in &prepared {
        by_rules.add(example.ruling.relevance.relevant, example.relevant);
    }
    for fold in 0..folds {
        let (training, training_labels): (Vec<Vec<&str>>, Vec<bool>) = rows
            .iter()
            .zip(&labels)
            .enumerate()
            .filter(|(i, _)| i % folds != fold)
            .map(|(_, (row, label))| (row.clone(), *label))
            .unzip();
        let fold_model = model::train_rows(&training, &training_labels, settings);
        for example in prepared
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds == fold)
            .map(|(_, e)| e)
        {
            let judged = rules.weigh_with(
                Some(&fold_model),
                example.ruling.clone(),
                &example.cue,
                &example.found,
            );
            by_model.add(judged.relevant, example.relevant);
        }
    }
    let model = model::train_rows(&rows, &labels, settings);
    let report = RelevanceReport {
        items: prepared.len(),
        relevant: labels.iter().filter(|y| **y).count(),
        features: model.len(),
        folds,
        rules: by_rules.finish(),
        model_out_of_fold: by_model.finish(),
    };
    Ok((model, report))
}

/// The comment block written above the relevance model's weights.
pub fn relevance_header(report: &RelevanceReport, files: &[String], settings: Training) -> String {
    format!(
        "webcare relevance model: weights of words, word pairs and what the topic rules\n\
         found (rules:include, rules:exclude, rules:none, rule:<id>), learned by logistic\n\
         regression (src/pipeline/model.rs). Positive weights speak for a mention of the\n\
         Dutch asylum procedure. It weighs what no strong rule decided: from probability\n\
         0.5 where a rule matched, from {} where none did (src/pipeline/relevance.rs).\n\
         Generated by `webcare train`; retraining overwrites it.\n\
         {}\n\
         {}-fold cross-validation, F1: the rules alone {:.3}; the rules weighed by the model {:.3}.",
        crate::pipeline::relevance::MODEL_ALONE,
        provenance(
            &format!("{} labeled items ({} relevant)", report.items, report.relevant),
            files,
            settings
        ),
        report.folds,
        report.rules.f1,
        report.model_out_of_fold.f1,
    )
}

/// The comment block written above the aspect model's weights.
pub fn aspect_header(report: &AspectReport, files: &[String], settings: Training) -> String {
    format!(
        "webcare aspect model: per word, word pair, list finding (lists:<aspect>) and word\n\
         part (~_tol: four characters, _ the word's edge) its idf and one weight per aspect,\n\
         learned by logistic regression (src/pipeline/aspect_model.rs). Positive weights\n\
         speak for the aspect. A text's words, pairs and list findings are one block, its\n\
         word parts another; each occurrence counts its idf, each block scaled to unit\n\
         length; an aspect is tagged from probability 0.5. Last, the list terms it was\n\
         trained with: a term added to the lists later decides where the model turns its\n\
         aspect down, until the next training.\n\
         Generated by `webcare train`; retraining overwrites it.\n\
         {}\n\
         {}-fold cross-validation, micro-F1: word lists alone {:.3}; model {:.3}.",
        provenance(
            &format!("{} relevant labeled posts", report.relevant),
            files,
            settings
        ),
        report.folds,
        report.lists.f1,
        report.model_out_of_fold.f1,
    )
}

/// The lines of a model's header that say what it was trained on, and how.
fn provenance(items: &str, files: &[String], settings: Training) -> String {
    format!(
        "Trained on {items} from: {}\nSettings: c = {}, min_count = {}, steps = {}.",
        files.join(", "),
        settings.c,
        settings.min_count,
        settings.steps,
    )
}

/// The comment block written above the weights.
pub fn header(report: &TrainReport, settings: Training) -> String {
    format!(
        "webcare complaint model: weights of words and word pairs, learned by logistic\n\
         regression (src/pipeline/model.rs). Positive weights speak for a complaint,\n\
         negative against; a text's weights are summed, scaled by one over the square\n\
         root of its number of features. Generated by `webcare train`; do not edit by\n\
         hand what you want to keep: retraining overwrites it.\n\
         {}\n\
         {}-fold cross-validation: model alone F1 {:.3}; mixed with the cue lists F1 {:.3}.",
        provenance(
            &format!(
                "{} relevant labeled posts ({} complaints)",
                report.relevant, report.complaints
            ),
            &report.files,
            settings
        ),
        report.folds,
        report.model_out_of_fold.f1,
        report.mixed_out_of_fold.f1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_few_says_which_kind_is_missing() {
        let example = |complaint| Example {
            text: "de tolk bij mijn gehoor".into(),
            lang: "nl".into(),
            relevant: true,
            complaint,
            aspects: Vec::new(),
        };
        let all_complaints: Vec<Example> = (0..60).map(|_| example(true)).collect();
        let cues = ComplaintRules::from_sources(&[]).unwrap();
        let err = train(&all_complaints, &cues, Training::default(), 2)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("60 complaints and 0 other relevant items; need at least 10 of each"),
            "{err}"
        );
    }
}
