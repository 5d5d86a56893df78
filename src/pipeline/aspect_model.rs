//! A learned model of which aspects a mention is about: one logistic regression per
//! aspect over the words and word pairs of the text (as the complaint model,
//! [`super::model`]), plus what the word lists of `config/aspects/` found.
//!
//! Why: the word lists find an aspect wherever one of its words occurs, but people
//! mention an azc, a letter or a lawyer in passing while writing about something else,
//! and describe a wait or rude treatment without any listed word. On posts written by
//! people who never saw the lists, the lists alone reached an aspect micro-F1 of about
//! 0.65–0.77 while a second annotator agreed with the first at 0.89–0.97
//! (BENCHMARKS.md). The model weighs the lists' finding together with the rest of the
//! wording: what the lists found is a feature (`lists:reception`), so the webcare team's
//! word lists still steer the result, and a list word added later counts at once.
//!
//! The model is a plain text file (`config/aspects/model.tsv`): a header row naming the
//! aspects, then per feature one weight per aspect. `webcare train` writes it from the
//! project's labeled posts. Every decision is explainable: the aspect's strongest
//! features are shown with it.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

use rustc_hash::FxHashMap;

use super::aspects::ASPECTS;
use super::model::{
    features, key, read_model_file, sigmoid, strongest, Columns, FeatureSet, ModelError, NEGLIGIBLE,
};

/// The name of the model file in the aspects directory.
pub const MODEL_FILE: &str = "model.tsv";
/// First column of the header row and of the intercept row.
const HEADER: &str = "feature";
const BIAS: &str = "(bias)";

/// The feature that says the word lists found an aspect, per aspect in [`ASPECTS`]
/// order. A colon never occurs in normalised text, so these cannot be words.
static LISTED: LazyLock<Vec<(String, u64)>> = LazyLock::new(|| {
    ASPECTS
        .iter()
        .map(|a| {
            let name = format!("lists:{a}");
            let key = key(&name);
            (name, key)
        })
        .collect()
});

/// The features of a text for the aspect model: its words and word pairs (from
/// [`super::complaint::normalise_cues`] text), and one feature per aspect the word lists
/// found (`listed`: indexes into [`ASPECTS`]).
pub fn aspect_features<'t>(cue_normalised: &'t str, listed: &[usize]) -> Vec<&'t str> {
    let mut out = features(cue_normalised);
    out.extend(
        listed
            .iter()
            .filter_map(|&i| LISTED.get(i))
            .map(|(name, _)| name.as_str()),
    );
    out
}

/// Per feature a weight for every aspect, and per aspect an intercept.
#[derive(Debug, Clone, Default)]
pub struct AspectModel {
    bias: Vec<f64>,
    /// Row of each feature key in `weights`.
    rows: FxHashMap<u64, u32>,
    /// Row-major, [`ASPECTS`]`.len()` weights per row.
    weights: Vec<f32>,
    /// Feature names by row, for writing the file.
    named: Vec<String>,
}

/// The model's view of one aspect of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct AspectJudgement<'t> {
    /// Index into [`ASPECTS`].
    pub aspect: usize,
    pub probability: f64,
    /// The strongest features for this aspect found in the text, strongest first.
    pub contributions: Vec<(&'t str, f64)>,
}

impl AspectModel {
    /// Reads a model file; a bad line names the file and line.
    pub fn load(path: &Path) -> Result<AspectModel, ModelError> {
        read_model_file(path, AspectModel::parse)
    }

    /// Parses model file text; an error is (line, what is wrong).
    pub fn parse(text: &str) -> Result<AspectModel, (usize, String)> {
        let mut model = AspectModel::default();
        let mut header_seen = false;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let mut cells = line.split('\t');
            let feature = cells.next().unwrap_or_default();
            if !header_seen {
                let names: Vec<&str> = cells.collect();
                if feature != HEADER || names != ASPECTS {
                    return Err((
                        number,
                        format!(
                            "expected the header row: {HEADER}, then the aspects {} (tab-separated)",
                            ASPECTS.join(", ")
                        ),
                    ));
                }
                header_seen = true;
                continue;
            }
            let weights = parse_weights(cells)
                .map_err(|message| (number, format!("feature {feature:?}: {message}")))?;
            if feature == BIAS {
                model.bias = weights.into_iter().map(f64::from).collect();
            } else if feature.is_empty() || feature.contains('|') {
                return Err((
                    number,
                    format!("feature {feature:?} is not one or two words"),
                ));
            } else if model
                .rows
                .insert(key(feature), model.named.len() as u32)
                .is_some()
            {
                return Err((number, format!("feature {feature:?} appears twice")));
            } else {
                model.named.push(feature.to_string());
                model.weights.extend(weights);
            }
        }
        if model.bias.is_empty() {
            return Err((1, format!("no {BIAS} row: not an aspect model file")));
        }
        Ok(model)
    }

    /// Builds the model from what the trainer learned, one column per aspect in
    /// [`ASPECTS`] order; features whose weights all round to zero are left out.
    pub fn from_columns(trained: Columns) -> AspectModel {
        let mut model = AspectModel {
            bias: trained.bias,
            ..AspectModel::default()
        };
        for (feature, weights) in trained.vocabulary.into_iter().zip(trained.weights) {
            if weights.iter().all(|w| w.abs() < NEGLIGIBLE) {
                continue;
            }
            model.rows.insert(key(&feature), model.named.len() as u32);
            model.named.push(feature);
            model.weights.extend(weights.iter().map(|w| *w as f32));
        }
        model
    }

    /// Number of weighted features.
    pub fn len(&self) -> usize {
        self.named.len()
    }

    pub fn is_empty(&self) -> bool {
        self.named.is_empty()
    }

    /// Judges every aspect of a text given as its [`aspect_features`]; `reasons` is how
    /// many of the strongest features to give for each aspect judged at 0.5 or above.
    pub fn judge<'t>(&self, found: &[&'t str], reasons: usize) -> Vec<AspectJudgement<'t>> {
        self.judge_rows(found.iter().map(|f| (*f, key(f))), found.len(), reasons)
    }

    /// [`AspectModel::judge`] on the features of `cue_normalised` found already (see
    /// [`FeatureSet`]) and the aspects the lists found (`listed`, indexes into
    /// [`ASPECTS`]): the same features as [`aspect_features`], hashed once per mention.
    pub fn judge_set<'t>(
        &self,
        cue_normalised: &'t str,
        found: &FeatureSet,
        listed: &[usize],
        reasons: usize,
    ) -> Vec<AspectJudgement<'t>> {
        let flags = listed
            .iter()
            .filter_map(|&i| LISTED.get(i))
            .map(|(name, key)| (name.as_str(), *key));
        let all = found.iter(cue_normalised).chain(flags);
        self.judge_rows(all, found.len() + listed.len(), reasons)
    }

    fn judge_rows<'t>(
        &self,
        found: impl Iterator<Item = (&'t str, u64)>,
        count: usize,
        reasons: usize,
    ) -> Vec<AspectJudgement<'t>> {
        let width = ASPECTS.len();
        let scale = 1.0 / (count.max(1) as f64).sqrt();
        let rows: Vec<(&'t str, usize)> = found
            .filter_map(|(f, key)| self.rows.get(&key).map(|&row| (f, row as usize * width)))
            .collect();
        let mut logits = self.bias.clone();
        for (_, row) in &rows {
            for (logit, w) in logits.iter_mut().zip(&self.weights[*row..*row + width]) {
                *logit += f64::from(*w) * scale;
            }
        }
        logits
            .into_iter()
            .enumerate()
            .map(|(aspect, logit)| {
                let probability = sigmoid(logit);
                let contributions = if probability >= 0.5 {
                    let speaking_for = rows
                        .iter()
                        .map(|(f, row)| (*f, f64::from(self.weights[row + aspect]) * scale))
                        .filter(|(_, c)| *c > 0.0);
                    strongest(speaking_for, |c| c, reasons)
                } else {
                    Vec::new()
                };
                AspectJudgement {
                    aspect,
                    probability,
                    contributions,
                }
            })
            .collect()
    }

    /// The model as file text: a header, the aspects row, the intercepts, then the
    /// features in name order (a stable order keeps retrained files diffable).
    pub fn to_file_text(&self, header: &str) -> String {
        let width = ASPECTS.len();
        let mut out = String::new();
        for line in header.lines() {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(out, "{HEADER}\t{}", ASPECTS.join("\t"));
        let row_text = |out: &mut String, name: &str, weights: &mut dyn Iterator<Item = f64>| {
            out.push_str(name);
            for w in weights {
                let _ = write!(out, "\t{w:.3}");
            }
            out.push('\n');
        };
        row_text(&mut out, BIAS, &mut self.bias.iter().copied());
        let mut order: Vec<usize> = (0..self.named.len()).collect();
        order.sort_by(|a, b| self.named[*a].cmp(&self.named[*b]));
        for row in order {
            let weights = &self.weights[row * width..(row + 1) * width];
            row_text(
                &mut out,
                &self.named[row],
                &mut weights.iter().map(|w| f64::from(*w)),
            );
        }
        out
    }
}

fn parse_weights<'a>(cells: impl Iterator<Item = &'a str>) -> Result<Vec<f32>, String> {
    let weights: Vec<f32> = cells
        .map(|cell| {
            cell.trim()
                .parse::<f32>()
                .ok()
                .filter(|w| w.is_finite())
                .ok_or_else(|| format!("weight {cell:?} is not a number"))
        })
        .collect::<Result<_, _>>()?;
    if weights.len() != ASPECTS.len() {
        return Err(format!(
            "{} weights, expected one per aspect ({})",
            weights.len(),
            ASPECTS.len()
        ));
    }
    Ok(weights)
}

#[cfg(test)]
mod tests {
    use super::super::complaint::normalise_cues;
    use super::super::model::{train_columns, Training};
    use super::*;

    fn examples() -> Vec<(String, Vec<usize>, Vec<&'static str>)> {
        [
            (
                "al veertien maanden wachten op de beslissing",
                vec![],
                vec!["waiting_time"],
            ),
            (
                "nog steeds wachten, maanden niets gehoord",
                vec![],
                vec!["waiting_time"],
            ),
            (
                "de tolk sprak een ander dialect",
                vec![1],
                vec!["interpreter"],
            ),
            (
                "de tolk vertaalde mijn verhaal verkeerd",
                vec![1],
                vec!["interpreter"],
            ),
            ("op het azc is het koud en vies", vec![5], vec!["reception"]),
            // The azc in passing: about the wait, not the reception.
            (
                "vanuit het azc al maanden wachten",
                vec![5],
                vec!["waiting_time"],
            ),
        ]
        .into_iter()
        .map(|(t, listed, aspects)| (normalise_cues(t), listed, aspects))
        .collect()
    }

    fn trained() -> AspectModel {
        let examples = examples();
        let rows: Vec<Vec<&str>> = examples
            .iter()
            .map(|(t, listed, _)| aspect_features(t, listed))
            .collect();
        let labels: Vec<Vec<bool>> = examples
            .iter()
            .map(|(_, _, a)| ASPECTS.iter().map(|x| a.contains(x)).collect())
            .collect();
        AspectModel::from_columns(train_columns(
            &rows,
            &labels,
            ASPECTS.len(),
            Training::default(),
        ))
    }

    fn tagged(model: &AspectModel, text: &str, listed: &[usize]) -> Vec<&'static str> {
        let text = normalise_cues(text);
        model
            .judge(&aspect_features(&text, listed), 2)
            .into_iter()
            .filter(|j| j.probability >= 0.5)
            .map(|j| ASPECTS[j.aspect])
            .collect()
    }

    #[test]
    fn learns_aspects_from_words_and_from_what_the_lists_found() {
        let model = trained();
        assert_eq!(tagged(&model, "maanden wachten", &[]), vec!["waiting_time"]);
        assert_eq!(tagged(&model, "de tolk", &[1]), vec!["interpreter"]);
        let text = normalise_cues("de tolk sprak een ander dialect");
        let judged = model.judge(&aspect_features(&text, &[1]), 2);
        let interpreter = &judged[1];
        assert!(interpreter.probability > 0.5);
        assert!(interpreter.contributions.len() == 2);
        assert!(judged[0].contributions.is_empty(), "no reasons below 0.5");
    }

    #[test]
    fn the_file_reads_back_to_the_same_judgements() {
        let model = trained();
        let text = model.to_file_text("test model\nsecond line");
        assert!(text.starts_with("# test model\n# second line\nfeature\twaiting_time\t"));
        let read = AspectModel::parse(&text).unwrap();
        assert_eq!(read.len(), model.len());
        let sample = normalise_cues("de tolk op het azc, maanden wachten");
        let found = aspect_features(&sample, &[1, 5]);
        for (a, b) in model.judge(&found, 3).iter().zip(read.judge(&found, 3)) {
            // Weights are written with three decimals.
            assert!((a.probability - b.probability).abs() < 0.01, "{a:?} {b:?}");
        }
    }

    #[test]
    fn the_strongest_are_distinct_positive_and_in_order() {
        let items = [
            ("a", 0.5),
            ("b", 0.9),
            ("a", 0.5),
            ("c", -1.0),
            ("d", 0.7),
            ("e", 0.5),
        ];
        let top = strongest(items.into_iter(), |c| c, 3);
        assert_eq!(top, vec![("b", 0.9), ("d", 0.7), ("a", 0.5)]);
        let by_size = strongest(items.into_iter(), f64::abs, 2);
        assert_eq!(by_size, vec![("c", -1.0), ("b", 0.9)]);
        assert_eq!(strongest(items.into_iter(), |c| c, 0), vec![]);
    }

    #[test]
    fn a_damaged_file_names_the_line() {
        let header = format!("{HEADER}\t{}\n", ASPECTS.join("\t"));
        let zeros = vec!["0"; ASPECTS.len()].join("\t");
        let err =
            AspectModel::parse(&format!("# x\n{header}{BIAS}\t{zeros}\ntolk\t1\t2\n")).unwrap_err();
        assert_eq!(err.0, 4);
        assert!(err.1.contains("2 weights"), "{}", err.1);
        let err = AspectModel::parse("feature\twaiting_time\n").unwrap_err();
        assert_eq!(err.0, 1);
        assert!(err.1.contains("header row"), "{}", err.1);
        let err = AspectModel::parse(&header).unwrap_err();
        assert!(err.1.contains("(bias)"), "{}", err.1);
        let err = AspectModel::parse(&format!(
            "{header}{BIAS}\t{zeros}\nx\t{}\n",
            vec!["NaN"; ASPECTS.len()].join("\t")
        ))
        .unwrap_err();
        assert_eq!(err.0, 3);
        assert!(err.1.contains("not a number"), "{}", err.1);
    }
}
