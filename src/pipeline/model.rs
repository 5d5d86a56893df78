//! A learned linear model over the words of a mention: logistic regression on word and
//! word-pair features, trained by [`train`] from the project's labeled data and shipped
//! as a plain text file (`config/complaint/model.tsv`) that anyone can read.
//!
//! Why this shape: word lists written by hand were precise but missed most complaints
//! worded in ways nobody had listed. A linear model over words learns those wordings
//! from examples yet stays explainable — every decision is a sum of per-word weights,
//! and the strongest of them are shown as the reason — and it needs no download or
//! runtime beyond this file: training is a few hundred passes of gradient descent over a
//! thousand short texts.
//!
//! Features come from [`super::complaint::normalise_cues`] text: every word, and every
//! two words in a row within a sentence. Each text's features count equally and their
//! values are scaled by one over the square root of how many it has, so long texts do
//! not outvote short ones.

use std::collections::HashMap;

use std::hash::BuildHasher;

use rustc_hash::{FxBuildHasher, FxHashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The first column of the line that holds the intercept.
const BIAS: &str = "(bias)";
/// The token that marks a sentence end in normalised text (see `normalise_cues`).
pub(crate) const BREAK: &str = "|";
/// The token that marks a clause end (comma, colon, dash) in normalised text.
pub(crate) const CLAUSE: &str = "/";
/// The token every number is in normalised text.
pub(crate) const NUMBER: &str = "0";

/// Whether a word of normalised text is a sentence or clause mark: no feature itself,
/// and no pair spans it.
pub(crate) fn is_mark(word: &str) -> bool {
    word == BREAK || word == CLAUSE
}

/// Fewer words than this give a learned model nothing to weigh but an institution's
/// name: "IND?" had four aspects and a complaint from the weight of "ind" alone.
const MIN_WORDS: usize = 3;

/// Whether normalised text (words between single spaces) has the [`MIN_WORDS`] a learned
/// model needs; stops counting there, as most texts have many. Punctuation and clause
/// marks stand as tokens of their own: no words.
pub(crate) fn has_words_to_weigh(normalised: &str) -> bool {
    normalised
        .split(' ')
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .nth(MIN_WORDS - 1)
        .is_some()
}

/// Why a model file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
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
}

/// A damaged or unreadable model file stops startup like a damaged rule file: naming
/// the file and, where there is one, the line.
impl From<ModelError> for super::relevance::TopicError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::Read { path, source } => super::relevance::TopicError::Parse {
                path,
                message: format!("cannot read: {source}"),
            },
            ModelError::Invalid {
                path,
                line,
                message,
            } => super::relevance::TopicError::Invalid {
                path,
                line,
                message,
            },
        }
    }
}

/// Reads a model file with `parse`, whose error is (line, what is wrong); either way
/// the error names the file.
pub(crate) fn read_model_file<T>(
    path: &Path,
    parse: impl Fn(&str) -> Result<T, (usize, String)>,
) -> Result<T, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|(line, message)| ModelError::Invalid {
        path: path.to_path_buf(),
        line,
        message,
    })
}

/// A weight this small is written as 0.000 anyway: such features are left out of a
/// trained model, which keeps the file short.
pub(crate) const NEGLIGIBLE: f64 = 5e-4;

/// A model's reason as shown with a mention: `model:0.83[feature(+0.41), …]`, its
/// probability and strongest features.
pub(crate) fn reason(probability: f64, contributions: &[(&str, f64)]) -> String {
    let mut out = String::with_capacity(16 + 24 * contributions.len());
    out.push_str("model:");
    push_fixed(&mut out, probability, 2, false);
    out.push('[');
    for (i, (feature, c)) in contributions.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(feature);
        out.push('(');
        push_fixed(&mut out, *c, 2, true);
        out.push(')');
    }
    out.push(']');
    out
}

/// Appends `x` with `places` decimals (1 or 2), as `{:.2}` would (`0.83`; `+0.41`
/// with `sign`). Why not `{:.2}`: a mention's reasons hold a dozen numbers, and general
/// float formatting cost more than all the learned models' arithmetic (3% of the
/// pipeline).
pub(crate) fn push_fixed(out: &mut String, x: f64, places: u32, sign: bool) {
    let places = places.clamp(1, 2);
    let unit = 10_u64.pow(places);
    let scaled = (x * unit as f64).round();
    // Far beyond any probability, weight or contribution: the general formatting.
    if !scaled.is_finite() || scaled.abs() >= 1e15 {
        let p = places as usize;
        let _ = if sign {
            write!(out, "{x:+.p$}")
        } else {
            write!(out, "{x:.p$}")
        };
        return;
    }
    let n = scaled as i64;
    if n < 0 || (n == 0 && x.is_sign_negative()) {
        out.push('-');
    } else if sign {
        out.push('+');
    }
    let mut digits = [0u8; 24];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    // The decimals, the point, then the whole part (at least one digit).
    let mut written = 0;
    loop {
        if written == places {
            at -= 1;
            digits[at] = b'.';
        }
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        written += 1;
        if rest == 0 && written > places {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|d| char::from(*d)));
}

/// Weights per feature, and the intercept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WordModel {
    bias: f64,
    /// Weight per feature key ([`key`]). A mention looks up a hundred features: small
    /// entries without a pointer to chase keep the table in cache.
    weights: FxHashMap<u64, f32>,
    /// The features by name and their weights as read, for writing the file.
    names: Names,
    named_weights: Vec<f64>,
}

/// Feature names one after another in one string. A loaded model keeps tens of
/// thousands (for its file and its reasons): as a `String` each, a name of nine bytes
/// on average took some 56 bytes of memory; packed, the daemon's resident memory is
/// 3 MB smaller (BENCHMARKS.md, session 8).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Names {
    text: String,
    /// Where each name ends in `text`; it starts where the one before ends.
    ends: Vec<usize>,
}

impl Names {
    pub(crate) fn push(&mut self, name: &str) {
        self.text.push_str(name);
        self.ends.push(self.text.len());
    }

    /// The `i`th name; `i` is below [`Names::len`] (a row of the model that holds it).
    pub(crate) fn get(&self, i: usize) -> &str {
        let start = i.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.text[start..self.ends[i]]
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Gives back what growing while reading left unused.
    pub(crate) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// The table key of a feature: a 64-bit hash (collisions among some ten thousand
/// features are vanishingly unlikely; Fx because SipHash's protection against chosen
/// keys is not needed for a table only the project writes).
pub(crate) fn key(feature: &str) -> u64 {
    FxBuildHasher.hash_one(feature)
}

/// A model's judgement of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement<'a> {
    /// Probability of the positive class, 0..1.
    pub probability: f64,
    /// The weightiest features found (as many as asked) and their share of the logit
    /// (per occurrence), strongest first.
    pub contributions: Vec<(&'a str, f64)>,
}

/// Every feature of normalised text, as often as it occurs: words, and word pairs within
/// a sentence. Pairs are slices of the text itself (words are separated by one space
/// there), so nothing is allocated per feature. Repeats count again (a word said three
/// times weighs three times), which also spares a set per text.
pub fn features(normalised: &str) -> Vec<&str> {
    // About two features per word, sized up front.
    let mut out = Vec::with_capacity(2 * normalised.len() / 5);
    for_each_feature(normalised, |start, end| out.push(&normalised[start..end]));
    out
}

/// Calls `found` with the byte range of every feature of [`features`], in order.
fn for_each_feature(normalised: &str, mut found: impl FnMut(usize, usize)) {
    let mut previous: Option<usize> = None;
    for (start, word) in spaced_words(normalised) {
        if word.is_empty() {
            continue;
        }
        if is_mark(word) {
            previous = None;
            continue;
        }
        // A number alone says nothing (news is full of them); its pairs do ("0 maanden").
        if word != NUMBER {
            found(start, start + word.len());
        }
        if let Some(pair_start) = previous {
            found(pair_start, start + word.len());
        }
        previous = Some(start);
    }
}

/// The words of normalised text and where each starts, as `split(' ')` gives them
/// (empty ones included). A plain scan: `split`'s searcher is built for long haystacks,
/// and cost more than the models' lookups on words of a few letters.
pub(crate) fn spaced_words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let bytes = text.as_bytes();
    let mut next = 0;
    std::iter::from_fn(move || {
        let start = next;
        if start > bytes.len() {
            return None;
        }
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b' ')
            .map_or(bytes.len(), |at| start + at);
        next = end + 1;
        // Both ends are at a space or the text's edges: character boundaries.
        Some((start, text.get(start..end).unwrap_or_default()))
    })
}

/// The features of one normalised text as byte ranges and table keys: found and hashed
/// once per mention, then read by both learned models (complaint and aspects).
#[derive(Debug, Clone, Default)]
pub struct FeatureSet {
    spans: Vec<(u32, u32)>,
    keys: Vec<u64>,
}

impl FeatureSet {
    pub fn of(normalised: &str) -> FeatureSet {
        let mut set = FeatureSet {
            spans: Vec::with_capacity(2 * normalised.len() / 5),
            keys: Vec::with_capacity(2 * normalised.len() / 5),
        };
        for_each_feature(normalised, |start, end| {
            // Texts are capped far below 4 GB (MAX_TEXT_BYTES).
            set.spans.push((start as u32, end as u32));
            set.keys.push(key(&normalised[start..end]));
        });
        set
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ([`key`]) of every feature, in order.
    pub fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.keys.iter().copied()
    }

    /// (name, key) of every feature; `normalised` is the text the set was made of.
    pub fn iter<'a, 't: 'a>(
        &'a self,
        normalised: &'t str,
    ) -> impl Iterator<Item = (&'t str, u64)> + 'a {
        self.spans
            .iter()
            .zip(&self.keys)
            .map(move |(&(start, end), &key)| {
                (
                    normalised
                        .get(start as usize..end as usize)
                        .unwrap_or_default(),
                    key,
                )
            })
    }
}

/// The `n` strongest distinct items by `strength`, strongest first; among equally strong
/// ones, those for which `first(a, b)` holds come first (by name, say). A few are wanted
/// from a few hundred: kept in a short sorted list while scanning, rather than sorting
/// them all, and `first` is asked only of items that make the list.
pub(crate) fn strongest<K: Copy + PartialEq>(
    items: impl Iterator<Item = (K, f64)>,
    strength: impl Fn(f64) -> f64,
    n: usize,
    first: impl Fn(K, K) -> bool,
) -> Vec<(K, f64)> {
    let mut shown = Strongest::new(n);
    // `for_each`, not a `for` loop: the items are chained and mapped iterators, which
    // run much faster driven from inside (fold) than asked one by one (next).
    items.for_each(|(item, c)| shown.offer(item, c, &strength, &first));
    shown.into_vec()
}

/// The list [`strongest`] keeps, for callers that loop over their items themselves: a
/// plain loop over slices compiles to the same fast code however the compiler splits
/// the crate, where a chain of adapters was once 70% slower after an unrelated edit.
pub(crate) struct Strongest<K> {
    shown: Vec<(K, f64)>,
    n: usize,
}

impl<K: Copy + PartialEq> Strongest<K> {
    pub(crate) fn new(n: usize) -> Strongest<K> {
        Strongest {
            shown: Vec::with_capacity(n + 1),
            n,
        }
    }

    /// Keeps `item` if it is among the `n` strongest so far (see [`strongest`]).
    #[inline]
    pub(crate) fn offer(
        &mut self,
        item: K,
        c: f64,
        strength: impl Fn(f64) -> f64,
        first: impl Fn(K, K) -> bool,
    ) {
        let s = strength(c);
        let shown = &mut self.shown;
        let weaker_than_all =
            shown.len() == self.n && shown.last().is_some_and(|(_, w)| s <= strength(*w));
        if self.n == 0 || weaker_than_all || shown.iter().any(|(f, _)| *f == item) {
            return;
        }
        let at = shown
            .partition_point(|(f, w)| strength(*w) > s || (strength(*w) == s && first(*f, item)));
        shown.insert(at, (item, c));
        shown.truncate(self.n);
    }

    /// The items kept, strongest first.
    pub(crate) fn into_vec(self) -> Vec<(K, f64)> {
        self.shown
    }
}

/// [`strongest`] among named features, equally strong ones by name.
pub(crate) fn strongest_named<'t>(
    items: impl Iterator<Item = (&'t str, f64)>,
    strength: impl Fn(f64) -> f64,
    n: usize,
) -> Vec<(&'t str, f64)> {
    strongest(items, strength, n, |a, b| a <= b)
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl WordModel {
    /// Reads a model file: `feature<TAB>weight` per line, `#` comments, a `(bias)` line.
    pub fn load(path: &Path) -> Result<WordModel, ModelError> {
        read_model_file(path, WordModel::parse)
    }

    /// Parses the text of a model file; an error is (line, what is wrong).
    pub fn parse(text: &str) -> Result<WordModel, (usize, String)> {
        let mut model = WordModel::default();
        let mut has_bias = false;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((feature, weight)) = line.split_once('\t') else {
                return Err((number, "expected a feature, a tab and a weight".into()));
            };
            let weight: f64 = weight
                .trim()
                .parse()
                .ok()
                .filter(|w: &f64| w.is_finite())
                .ok_or_else(|| (number, format!("weight {weight:?} is not a number")))?;
            if feature == BIAS {
                model.bias = weight;
                has_bias = true;
            } else if feature.is_empty() || feature.contains(BREAK) {
                return Err((
                    number,
                    format!("feature {feature:?} is not one or two words"),
                ));
            } else if model.weights.insert(key(feature), weight as f32).is_some() {
                return Err((number, format!("feature {feature:?} appears twice")));
            } else {
                model.names.push(feature);
                model.named_weights.push(weight);
            }
        }
        if !has_bias {
            return Err((1, format!("no {BIAS} line: not a model file")));
        }
        model.names.shrink_to_fit();
        model.named_weights.shrink_to_fit();
        Ok(model)
    }

    /// Number of weighted features.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Judges normalised text; `reasons` is how many of the weightiest features found to
    /// return, distinct, strongest first.
    pub fn judge<'t>(&self, normalised: &'t str, reasons: usize) -> Judgement<'t> {
        self.judge_set(normalised, &FeatureSet::of(normalised), &[], reasons)
    }

    /// [`WordModel::judge`] on the features of `normalised` found already, plus `flags`:
    /// features that are not words (what rules found, as (name, [`key`])), counted like
    /// the words.
    pub fn judge_set<'t>(
        &self,
        normalised: &'t str,
        found: &FeatureSet,
        flags: &[(&'t str, u64)],
        reasons: usize,
    ) -> Judgement<'t> {
        let scale = 1.0 / ((found.len() + flags.len()).max(1) as f64).sqrt();
        let all = found.iter(normalised).chain(flags.iter().copied());
        let weighted = all.filter_map(|(name, key)| {
            self.weights
                .get(&key)
                .map(|w| (name, f64::from(*w) * scale))
        });
        let mut logit = self.bias;
        let contributions =
            strongest_named(weighted.inspect(|(_, c)| logit += c), f64::abs, reasons);
        Judgement {
            probability: sigmoid(logit),
            contributions,
        }
    }

    /// The model as file text: a header, the intercept, then features by weight.
    pub fn to_file_text(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(out, "{BIAS}\t{:.4}", self.bias);
        let mut weights: Vec<(&str, f64)> = self
            .names
            .iter()
            .zip(self.named_weights.iter().copied())
            .collect();
        weights.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        for (feature, weight) in weights {
            let _ = writeln!(out, "{feature}\t{weight:.4}");
        }
        out
    }
}

/// How training runs.
#[derive(Debug, Clone, Copy)]
pub struct Training {
    /// Inverse strength of the L2 penalty (as `C` in common libraries): larger fits the
    /// training data more closely.
    pub c: f64,
    /// A feature must occur in at least this many training texts to get a weight.
    pub min_count: usize,
    /// Gradient steps over the whole set.
    pub steps: usize,
}

impl Default for Training {
    fn default() -> Self {
        Training {
            c: 16.0,
            // A word seen in one post only is mostly noise: on 3,106 posts, dropping
            // them cost 0.002 of cross-validated F1 and three quarters of the file
            // (and of the table every mention looks up).
            min_count: 2,
            steps: 600,
        }
    }
}

/// Trains on (normalised text, label) pairs: class-balanced logistic regression with an
/// L2 penalty, full-batch Adam. Deterministic: the same examples give the same model.
pub fn train(examples: &[(String, bool)], settings: Training) -> WordModel {
    let rows: Vec<Vec<&str>> = examples.iter().map(|(t, _)| features(t)).collect();
    let labels: Vec<bool> = examples.iter().map(|(_, y)| *y).collect();
    train_rows(&rows, &labels, settings)
}

/// Trains on feature rows (words, pairs and any flags) and their labels.
pub fn train_rows(rows: &[Vec<&str>], labels: &[bool], settings: Training) -> WordModel {
    let labels: Vec<Vec<bool>> = labels.iter().map(|y| vec![*y]).collect();
    let trained = train_columns(rows, &labels, 1, settings);
    let named: Vec<(String, f64)> = trained
        .vocabulary
        .into_iter()
        .zip(trained.weights)
        .filter(|(_, weights)| weights[0].abs() >= NEGLIGIBLE)
        .map(|(f, weights)| (f, weights[0]))
        .collect();
    let mut names = Names::default();
    named.iter().for_each(|(f, _)| names.push(f));
    WordModel {
        bias: trained.bias[0],
        weights: named
            .iter()
            .map(|(f, weight)| (key(f), *weight as f32))
            .collect(),
        names,
        named_weights: named.iter().map(|(_, weight)| *weight).collect(),
    }
}

/// What [`train_columns`] learned: per feature one weight per column, and per column
/// an intercept.
pub struct Columns {
    pub vocabulary: Vec<String>,
    pub weights: Vec<Vec<f64>>,
    pub bias: Vec<f64>,
}

/// Trains `columns` independent logistic regressions (one per label column, each
/// class-balanced on its own) on the same feature rows at once: the multi-label case,
/// where every text is read once per step for all labels.
pub fn train_columns(
    rows: &[Vec<&str>],
    labels: &[Vec<bool>],
    columns: usize,
    settings: Training,
) -> Columns {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for row in rows {
        for f in row {
            *counts.entry(f).or_default() += 1;
        }
    }
    let mut vocabulary: Vec<&str> = counts
        .into_iter()
        .filter(|(f, n)| *n >= settings.min_count && !holds_an_identifier(f))
        .map(|(f, _)| f)
        .collect();
    vocabulary.sort_unstable();
    let position: HashMap<&str, usize> = vocabulary
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, i))
        .collect();
    // Every feature of a row weighs one over the square root of the row's length.
    let sparse: Vec<Vec<(usize, f64)>> = rows
        .iter()
        .map(|row| {
            let value = 1.0 / (row.len().max(1) as f64).sqrt();
            row.iter()
                .filter_map(|f| position.get(f).map(|&i| (i, value)))
                .collect()
        })
        .collect();
    let (weights, bias) = fit_columns(&sparse, vocabulary.len(), labels, columns, settings);
    Columns {
        weights,
        bias,
        vocabulary: vocabulary.into_iter().map(String::from).collect(),
    }
}

/// Fits `columns` class-balanced logistic regressions with an L2 penalty (full-batch
/// Adam) on sparse rows of (feature index below `features`, value): per feature one
/// weight per column, and per column an intercept. Deterministic.
pub(crate) fn fit_columns(
    sparse: &[Vec<(usize, f64)>],
    features: usize,
    labels: &[Vec<bool>],
    columns: usize,
    settings: Training,
) -> (Vec<Vec<f64>>, Vec<f64>) {
    let n = sparse.len().max(1) as f64;
    // Each class weighs as much as the other, however unequal their counts.
    let class_weights: Vec<(f64, f64)> = (0..columns)
        .map(|k| {
            let positives = labels.iter().filter(|y| y[k]).count().max(1) as f64;
            let negatives = (sparse.len() as f64 - positives).max(1.0);
            (n / (2.0 * negatives), n / (2.0 * positives))
        })
        .collect();
    let lambda = 1.0 / (settings.c * n);
    // Row-major: feature i, column k at i * columns + k; the last row is the intercept.
    let dims = (features + 1) * columns;
    let bias_row = features * columns;
    let mut w = vec![0.0; dims];
    let (mut m, mut v) = (vec![0.0; dims], vec![0.0; dims]);
    let (rate, beta1, beta2, eps) = (0.05, 0.9, 0.999, 1e-8);
    let mut grad = vec![0.0; dims];
    let mut error = vec![0.0; columns];
    // beta1 and beta2 to the power of the step, for Adam's bias correction.
    let (mut beta1_t, mut beta2_t) = (1.0, 1.0);
    for _ in 0..settings.steps {
        grad.iter_mut().for_each(|g| *g = 0.0);
        for (row, label) in sparse.iter().zip(labels) {
            for k in 0..columns {
                let z = w[bias_row + k]
                    + row
                        .iter()
                        .map(|&(i, value)| w[i * columns + k] * value)
                        .sum::<f64>();
                let (weight, target) = if label[k] {
                    (class_weights[k].1, 1.0)
                } else {
                    (class_weights[k].0, 0.0)
                };
                error[k] = weight * (sigmoid(z) - target) / n;
                grad[bias_row + k] += error[k];
            }
            for &(i, value) in row {
                for k in 0..columns {
                    grad[i * columns + k] += error[k] * value;
                }
            }
        }
        for i in 0..bias_row {
            grad[i] += lambda * w[i];
        }
        beta1_t *= beta1;
        beta2_t *= beta2;
        let (c1, c2) = (1.0 - beta1_t, 1.0 - beta2_t);
        for i in 0..dims {
            m[i] = beta1 * m[i] + (1.0 - beta1) * grad[i];
            v[i] = beta2 * v[i] + (1.0 - beta2) * grad[i] * grad[i];
            w[i] -= rate * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
        }
    }
    (
        w[..bias_row].chunks(columns).map(<[f64]>::to_vec).collect(),
        w[bias_row..].to_vec(),
    )
}

/// Whether a feature has a word mixing letters and digits ("nl91abna0417164300"): such a
/// word is an identifier, perhaps someone's, and the reasons shown with a mention (which
/// the complaint stage writes before redaction) must never echo one. Plain numbers are
/// `0` in normalised text already.
pub(crate) fn holds_an_identifier(feature: &str) -> bool {
    feature
        .split(' ')
        .any(|word| word != "0" && super::relevance::has_numeric(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::complaint::normalise_cues;

    #[test]
    fn features_are_words_and_pairs_within_a_sentence() {
        let text = normalise_cues("Nog steeds geen brief. Nog!");
        assert_eq!(
            features(&text),
            vec![
                "nog",
                "steeds",
                "nog steeds",
                "geen",
                "steeds geen",
                "brief",
                "geen brief",
                "nog"
            ]
        );
        assert!(features("").is_empty());
        // No pair across a comma; a number alone is no feature (news is full of them),
        // with its neighbour it is ("0 maanden").
        let text = normalise_cues("Al 14 maanden, schandalig");
        assert_eq!(
            features(&text),
            vec!["al", "al 0", "maanden", "0 maanden", "schandalig"]
        );
    }

    fn examples() -> Vec<(String, bool)> {
        let raw = [
            ("al maanden geen antwoord van de IND", true),
            ("weer geen antwoord, schandalig", true),
            ("de tolk was slecht en onbeleefd", true),
            ("schandalig hoe lang dit duurt", true),
            ("dank aan de tolk, heel goed geholpen", false),
            ("de IND publiceert nieuwe cijfers", false),
            ("goed geholpen bij het gehoor, dank", false),
            ("nieuwe cijfers over de opvang", false),
        ];
        raw.iter().map(|(t, y)| (normalise_cues(t), *y)).collect()
    }

    #[test]
    fn training_separates_what_it_was_shown_and_explains_it() {
        let model = train(&examples(), Training::default());
        let bad = normalise_cues("schandalig, geen antwoord");
        let good = normalise_cues("dank, goed geholpen");
        let judged = model.judge(&bad, 4);
        assert!(judged.probability > 0.7, "{judged:?}");
        assert!(model.judge(&good, 4).probability < 0.3);
        // The reasons are the words of the text that carry weight, strongest first.
        let words: Vec<&str> = judged.contributions.iter().map(|(f, _)| *f).collect();
        assert!(
            words.contains(&"schandalig") && words.contains(&"geen antwoord"),
            "{words:?}"
        );
        assert!(judged.contributions[0].1.abs() >= judged.contributions[1].1.abs());
        // Same data, same model.
        assert_eq!(model, train(&examples(), Training::default()));
    }

    #[test]
    fn names_give_back_each_name_as_pushed() {
        let mut names = Names::default();
        for name in ["tolk", "nog steeds", "", "انتظار", "~_tol"] {
            names.push(name);
        }
        names.shrink_to_fit();
        assert_eq!(names.len(), 5);
        assert_eq!(names.get(0), "tolk");
        assert_eq!(names.get(3), "انتظار");
        assert_eq!(
            names.iter().collect::<Vec<_>>(),
            ["tolk", "nog steeds", "", "انتظار", "~_tol"]
        );
    }

    #[test]
    fn a_model_file_reads_back_to_the_same_model_and_text() {
        let model = train(&examples(), Training::default());
        let text = model.to_file_text("");
        let read = WordModel::parse(&text).unwrap();
        // The weights as the file has them (four decimals), the names in file order.
        assert_eq!(read.len(), model.len());
        assert_eq!(read.to_file_text(""), text);
    }

    #[test]
    fn identifiers_get_no_weight() {
        let mut data = examples();
        data.push((
            normalise_cues("iban nl91abna0417164300 werkt niet, schandalig"),
            true,
        ));
        data.push((
            normalise_cues("iban nl91abna0417164300 staat goed, dank"),
            false,
        ));
        let model = train(&data, Training::default());
        let text = model.to_file_text("");
        assert!(!text.contains("nl91abna"), "{text}");
        assert!(text.contains("\niban\t"), "{text}");
    }

    #[test]
    fn reasons_show_two_decimals_as_the_general_formatting_would() {
        for x in [
            0.0, 0.004, 0.006, 0.04, 0.83, 0.999, 1.0, 12.345, 123.4567, -0.41, -2.5, -0.004,
            -0.04, 7.0,
        ] {
            let shown = |places, sign| {
                let mut out = String::new();
                push_fixed(&mut out, x, places, sign);
                out
            };
            // Halves may round either way in binary; none of these is one.
            assert_eq!(shown(2, true), format!("{x:+.2}"), "{x}");
            assert_eq!(shown(2, false), format!("{x:.2}"), "{x}");
            assert_eq!(shown(1, true), format!("{x:+.1}"), "{x}");
        }
        let mut huge = String::new();
        push_fixed(&mut huge, f64::INFINITY, 2, true);
        assert_eq!(huge, "+inf");
        assert_eq!(
            reason(0.834, &[("tolk", 0.41), ("~_tol", -0.2)]),
            "model:0.83[tolk(+0.41), ~_tol(-0.20)]"
        );
    }

    #[test]
    fn spaced_words_are_what_split_gives() {
        for text in ["", " ", "a", " tolk  en ا b ", "wacht|  ", "één twee"] {
            let ours: Vec<&str> = spaced_words(text).map(|(_, w)| w).collect();
            assert_eq!(ours, text.split(' ').collect::<Vec<_>>(), "{text:?}");
            for (start, word) in spaced_words(text) {
                assert_eq!(&text[start..start + word.len()], word);
            }
        }
    }

    #[test]
    fn the_file_round_trips() {
        let model = train(&examples(), Training::default());
        let text = model.to_file_text("trained for a test\non two lines");
        assert!(text.starts_with("# trained for a test\n# on two lines\n(bias)\t"));
        let read = WordModel::parse(&text).unwrap();
        assert_eq!(read.len(), model.len());
        let probe = normalise_cues("schandalig, geen antwoord");
        let (a, b) = (
            model.judge(&probe, 4).probability,
            read.judge(&probe, 4).probability,
        );
        assert!((a - b).abs() < 1e-3, "{a} {b}");
    }

    #[test]
    fn a_bad_line_names_its_number() {
        let err = WordModel::parse("(bias)\t0.1\nslecht 2.0\n").unwrap_err();
        assert_eq!(err.0, 2);
        let err = WordModel::parse("(bias)\t0.1\nslecht\tveel\n").unwrap_err();
        assert!(err.1.contains("not a number"), "{err:?}");
        let err = WordModel::parse("slecht\t1.0\n").unwrap_err();
        assert!(err.1.contains("(bias)"), "{err:?}");
        let err = WordModel::parse("(bias)\t0\na\t1\na\t2\n").unwrap_err();
        assert_eq!(err, (3, "feature \"a\" appears twice".into()));
    }
}
