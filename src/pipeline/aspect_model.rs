//! A learned model of which aspects a mention is about: one logistic regression per
//! aspect over the words, word pairs and word parts of the text, plus what the word
//! lists of `config/aspects/` found.
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
//! Word parts (four characters, [`for_each_gram`]) connect the forms and compounds of a
//! word that words alone cannot (tolk, tolken, tolkgesprek); with features weighed by
//! how rare they are (tf-idf) they raised cross-validated micro-F1 from 0.822 to 0.846
//! on the project's data, new writers' sets held out together (BENCHMARKS.md).
//!
//! The model is a plain text file (`config/aspects/model.tsv`): a header row naming the
//! aspects, then per feature its idf and one weight per aspect, then the list terms it
//! was trained with (`(list term)`, the aspect, the term). `webcare train` writes it
//! from the project's labeled posts.
//!
//! A term the team adds to a list after training is one the model has never weighed:
//! where it finds an aspect that the model turns down, the list decides, until the next
//! training weighs the term with the rest (see [`AspectModel::is_new_term`]). Without
//! that, a word the team added counted only as far as the model's general trust in the
//! lists went: in long posts with other words, not at all. Every decision is explainable: the aspect's
//! strongest features are shown with it (`~_tol` is a word part: a word starting "tol").

use std::fmt::Write as _;
use std::hash::Hasher;
use std::path::Path;
use std::sync::LazyLock;

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use super::aspects::ASPECTS;
use super::model::{
    features, fit_columns, holds_an_identifier, key, read_model_file, sigmoid, spaced_words,
    FeatureSet, ModelError, Names, Strongest, Training,
};
use super::relevance::has_numeric;

/// The name of the model file in the aspects directory.
pub const MODEL_FILE: &str = "model.tsv";
/// First column of the header row and of the intercept row.
const HEADER: &str = "feature";
/// Second column of the header row.
const IDF: &str = "idf";
const BIAS: &str = "(bias)";
/// The intercept row's idf cell: it has none.
const NO_IDF: &str = "-";
/// First column of a row naming a list term the model was trained with.
const TERM_ROW: &str = "(list term)";
/// How many characters a word part has.
const GRAM: usize = 4;
/// A word part must occur in this many training posts to get a weight: parts are many,
/// and one seen in two posts only is mostly noise (a fifth of the parts, on the
/// project's data, for 0.003 of cross-validated F1).
const GRAM_MIN_COUNT: usize = 3;
/// Marks a word part in the model file and in a mention's reasons.
const GRAM_MARK: char = '~';
/// Stands for a word's edge in a part's name: `~_tol` is the start of "tolk".
const EDGE: char = '_';
/// Mixed into every part's key, so that parts and words live apart in one table.
const GRAM_TAG: u64 = 0x7e7e_7e7e_7e7e_7e7e;
/// One weight per aspect.
const WIDTH: usize = ASPECTS.len();
/// A row of weights padded to a multiple of four, so that adding one is three vector
/// instructions rather than eleven scalar ones (every relevant mention adds hundreds).
const LANES: usize = WIDTH.next_multiple_of(4);

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

/// Calls `found` with every part of [`GRAM`] characters of every word of cue-normalised
/// text, the word framed by spaces so that its start and end are parts of their own:
/// "tolk" gives " tol", "tolk" and "olk ". A shorter word is one part. Why: the same
/// word comes in many forms and compounds (tolken, tolkgesprek, tolkentelefoon;
/// wachttijd, wachtte) that words alone cannot connect, in every language.
///
/// Words with a digit of any script are left out (as [`holds_an_identifier`] judges):
/// an identifier's parts must neither speak for an aspect nor be shown as a reason
/// (numbers are `0` in cue-normalised text already).
fn for_each_gram(cue: &str, mut found: impl FnMut(&str)) {
    let mut padded = String::with_capacity(64);
    let mut bounds: Vec<usize> = Vec::with_capacity(64);
    for (_, word) in spaced_words(cue) {
        if word.is_empty() || super::model::is_mark(word) || has_numeric(word) {
            continue;
        }
        padded.clear();
        padded.push(' ');
        padded.push_str(word);
        padded.push(' ');
        if padded.is_ascii() {
            if padded.len() <= GRAM {
                found(&padded);
            } else {
                (0..=padded.len() - GRAM).for_each(|i| found(&padded[i..i + GRAM]));
            }
            continue;
        }
        bounds.clear();
        bounds.extend(padded.char_indices().map(|(i, _)| i));
        bounds.push(padded.len());
        let chars = bounds.len() - 1;
        if chars <= GRAM {
            found(&padded);
        } else {
            (0..=chars - GRAM).for_each(|i| found(&padded[bounds[i]..bounds[i + GRAM]]));
        }
    }
}

/// The table key of a word part, kept apart (by a tag) from the keys of words and pairs
/// ([`key`]), whose text may well be the same four letters. A part is at most four characters of four bytes:
/// packed into two words and mixed, which costs a fraction of hashing a string (every
/// relevant mention looks up a hundred parts or more).
fn gram_key(gram: &str) -> u64 {
    let mut packed = [0u8; 16];
    let bytes = gram.as_bytes();
    let n = bytes.len().min(packed.len());
    packed[..n].copy_from_slice(&bytes[..n]);
    let (low, high) = packed.split_at(8);
    let word = |half: &[u8]| u64::from_le_bytes(half.try_into().unwrap_or_default());
    let mut hasher = FxHasher::default();
    hasher.write_u64(word(low));
    hasher.write_u64(word(high) ^ GRAM_TAG);
    hasher.finish()
}

/// A word part's name in the model file and the reasons: `~_tol`.
fn gram_name(gram: &str) -> String {
    let mut name = String::with_capacity(gram.len() + 1);
    name.push(GRAM_MARK);
    name.extend(gram.chars().map(|c| if c == ' ' { EDGE } else { c }));
    name
}

/// The table key of a feature by its name in the file.
fn name_key(name: &str) -> u64 {
    match name.strip_prefix(GRAM_MARK) {
        Some(part) => gram_key(&part.replace(EDGE, " ")),
        None => key(name),
    }
}

/// One labeled post as the model trains on it.
#[derive(Debug, Clone)]
pub struct AspectExample {
    /// The text, [`super::complaint::normalise_cues`]d.
    pub cue: String,
    /// The aspects the word lists found, as indexes into [`ASPECTS`].
    pub listed: Vec<usize>,
    /// One flag per aspect in [`ASPECTS`] order.
    pub labels: Vec<bool>,
}

/// The two blocks of features of a text, by name: its words, word pairs and what the
/// lists found; and its word parts.
fn feature_names<'t>(cue: &'t str, listed: &[usize]) -> [Vec<std::borrow::Cow<'t, str>>; 2] {
    let mut words: Vec<std::borrow::Cow<'t, str>> =
        features(cue).into_iter().map(Into::into).collect();
    words.extend(
        listed
            .iter()
            .filter_map(|&i| LISTED.get(i))
            .map(|(name, _)| name.clone().into()),
    );
    let mut parts = Vec::with_capacity(cue.len());
    for_each_gram(cue, |g| parts.push(gram_name(g).into()));
    [words, parts]
}

/// Per feature an inverse document frequency and a weight for every aspect, and per
/// aspect an intercept.
///
/// A text is read as two blocks of features, each weighed by tf-idf and scaled to unit
/// length: its words and word pairs (with what the lists found), and its word parts
/// ([`for_each_gram`]). Every occurrence of a feature the model knows adds its idf;
/// features it does not know are left out, as in training.
#[derive(Debug, Clone, Default)]
pub struct AspectModel {
    bias: Vec<f64>,
    /// Row of each feature key in `weights`.
    rows: FxHashMap<u64, u32>,
    /// Per row a weight for every aspect (then zeros up to [`LANES`]).
    weights: Vec<[f32; LANES]>,
    /// Inverse document frequency by row.
    idf: Vec<f32>,
    /// Feature names by row, for the file and the reasons.
    named: Names,
    /// The list terms the model was trained with ([`term_key`]), when the file says.
    trained_terms: Option<FxHashSet<u64>>,
    /// The same as (aspect, term), for writing the file.
    trained_term_rows: Vec<(String, String)>,
}

/// The key of `term` of `aspect`'s lists in [`AspectModel::trained_terms`].
fn term_key(aspect: &str, term: &str) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(aspect.as_bytes());
    hasher.write_u8(0xff);
    hasher.write(term.as_bytes());
    hasher.finish()
}

/// The model's view of one aspect of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct AspectJudgement<'m> {
    /// Index into [`ASPECTS`].
    pub aspect: usize,
    pub probability: f64,
    /// The strongest features for this aspect found in the text, strongest first.
    pub contributions: Vec<(&'m str, f64)>,
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
            let idf = cells.next().unwrap_or_default();
            if !header_seen {
                let names: Vec<&str> = cells.collect();
                if feature != HEADER || idf != IDF || names != ASPECTS {
                    return Err((
                        number,
                        format!(
                            "expected the header row: {HEADER}, {IDF}, then the aspects {} (tab-separated)",
                            ASPECTS.join(", ")
                        ),
                    ));
                }
                header_seen = true;
                continue;
            }
            if feature == TERM_ROW {
                model
                    .read_term_row(idf, cells.next(), cells.next().is_some())
                    .map_err(|message| (number, message))?;
                continue;
            }
            let weights = parse_weights(cells)
                .map_err(|message| (number, format!("feature {feature:?}: {message}")))?;
            if feature == BIAS {
                if idf != NO_IDF {
                    return Err((number, format!("the {BIAS} row has {NO_IDF:?} for its idf")));
                }
                model.bias = weights.into_iter().map(f64::from).collect();
                continue;
            }
            let idf: f32 = idf
                .trim()
                .parse()
                .ok()
                .filter(|w: &f32| w.is_finite() && *w > 0.0)
                .ok_or_else(|| (number, format!("idf {idf:?} is not a positive number")))?;
            if feature.is_empty()
                || feature.contains(super::model::BREAK)
                || feature.contains(super::model::CLAUSE)
            {
                return Err((
                    number,
                    format!("feature {feature:?} is not one or two words or a word part"),
                ));
            }
            if model
                .rows
                .insert(name_key(feature), model.named.len() as u32)
                .is_some()
            {
                return Err((number, format!("feature {feature:?} appears twice")));
            }
            // parse_weights checked that there is one per aspect.
            let mut row = [0.0; LANES];
            row.iter_mut().zip(&weights).for_each(|(r, w)| *r = *w);
            model.named.push(feature);
            model.idf.push(idf);
            model.weights.push(row);
        }
        if model.bias.is_empty() {
            return Err((1, format!("no {BIAS} row: not an aspect model file")));
        }
        model.named.shrink_to_fit();
        model.idf.shrink_to_fit();
        model.weights.shrink_to_fit();
        Ok(model)
    }

    /// Reads the cells after [`TERM_ROW`]: the aspect, the term, and nothing after.
    fn read_term_row(
        &mut self,
        aspect: &str,
        term: Option<&str>,
        more: bool,
    ) -> Result<(), String> {
        let expected = || format!("expected {TERM_ROW}, an aspect, a list term (tab-separated)");
        let Some(term) = term.filter(|t| !t.trim().is_empty() && !more) else {
            return Err(expected());
        };
        if !ASPECTS.contains(&aspect) {
            return Err(format!("{}; {aspect:?} is not an aspect", expected()));
        }
        self.remember_term(aspect, term);
        Ok(())
    }

    fn remember_term(&mut self, aspect: &str, term: &str) {
        if self
            .trained_terms
            .get_or_insert_with(FxHashSet::default)
            .insert(term_key(aspect, term))
        {
            self.trained_term_rows
                .push((aspect.to_string(), term.to_string()));
        }
    }

    /// Records the list terms the model is trained with (aspect, term as written).
    pub fn trained_with<'t>(
        mut self,
        terms: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> AspectModel {
        self.trained_terms = Some(FxHashSet::default());
        for (aspect, term) in terms {
            self.remember_term(aspect, term);
        }
        self
    }

    /// Whether `term` of `aspect`'s lists came after the model was trained: the file
    /// names the terms it was trained with, and this is none of them. A file from
    /// before terms were written names none, and every term counts as known.
    pub fn is_new_term(&self, aspect: &str, term: &str) -> bool {
        self.trained_terms
            .as_ref()
            .is_some_and(|known| !known.contains(&term_key(aspect, term)))
    }

    /// Trains on labeled posts: class-balanced logistic regression per aspect (see
    /// [`fit_columns`]). A word or pair must occur in `settings.min_count` posts, a word
    /// part in [`GRAM_MIN_COUNT`]; words holding an identifier get no weight.
    /// Deterministic: the same examples give the same model.
    pub fn train(examples: &[&AspectExample], settings: Training) -> AspectModel {
        let named: Vec<[Vec<std::borrow::Cow<'_, str>>; 2]> = examples
            .iter()
            .map(|e| feature_names(&e.cue, &e.listed))
            .collect();
        let mut seen_in: FxHashMap<&str, (usize, usize)> = FxHashMap::default();
        for (n, blocks) in named.iter().enumerate() {
            for feature in blocks.iter().flatten() {
                let entry = seen_in.entry(feature.as_ref()).or_insert((0, usize::MAX));
                // Posts, not occurrences: the document frequency.
                if entry.1 != n {
                    *entry = (entry.0 + 1, n);
                }
            }
        }
        let mut vocabulary: Vec<(&str, usize)> = seen_in
            .into_iter()
            .filter(|(f, (posts, _))| match f.strip_prefix(GRAM_MARK) {
                Some(_) => *posts >= GRAM_MIN_COUNT,
                None => *posts >= settings.min_count && !holds_an_identifier(f),
            })
            .map(|(f, (posts, _))| (f, posts))
            .collect();
        vocabulary.sort_unstable();
        let position: FxHashMap<&str, usize> = vocabulary
            .iter()
            .enumerate()
            .map(|(i, (f, _))| (*f, i))
            .collect();
        let posts = examples.len() as f64;
        // Smoothed, as in common libraries: as if one more post held every feature.
        let idf: Vec<f64> = vocabulary
            .iter()
            .map(|(_, df)| ((1.0 + posts) / (1.0 + *df as f64)).ln() + 1.0)
            .collect();
        let sparse: Vec<Vec<(usize, f64)>> = named
            .iter()
            .map(|blocks| {
                let mut row = Vec::new();
                for block in blocks {
                    let known = block
                        .iter()
                        .filter_map(|f| position.get(f.as_ref()).copied());
                    add_block(&mut row, known.map(|i| (i, idf[i])));
                }
                row.sort_unstable_by_key(|(i, _)| *i);
                row.dedup_by(|later, kept| {
                    let same = later.0 == kept.0;
                    if same {
                        kept.1 += later.1;
                    }
                    same
                });
                row
            })
            .collect();
        let labels: Vec<Vec<bool>> = examples.iter().map(|e| e.labels.clone()).collect();
        let (weights, bias) =
            fit_columns(&sparse, vocabulary.len(), &labels, ASPECTS.len(), settings);
        let mut model = AspectModel {
            bias,
            ..AspectModel::default()
        };
        // Every feature stays, however small its weights: it is part of the length each
        // text is scaled by.
        for (((feature, _), weights), idf) in vocabulary.into_iter().zip(weights).zip(idf) {
            model
                .rows
                .insert(name_key(feature), model.named.len() as u32);
            model.named.push(feature);
            model.idf.push(idf as f32);
            let mut row = [0.0; LANES];
            row.iter_mut()
                .zip(&weights)
                .for_each(|(r, w)| *r = *w as f32);
            model.weights.push(row);
        }
        model
    }

    /// Number of weighted features (words, pairs, word parts and the lists' flags).
    pub fn len(&self) -> usize {
        self.named.len()
    }

    pub fn is_empty(&self) -> bool {
        self.named.is_empty()
    }

    /// Judges every aspect of cue-normalised text, where the lists found `listed`
    /// (indexes into [`ASPECTS`]); `reasons` is how many of the strongest features to
    /// give for each aspect judged at 0.5 or above.
    pub fn judge(&self, cue: &str, listed: &[usize], reasons: usize) -> Vec<AspectJudgement<'_>> {
        self.judge_set(cue, &FeatureSet::of(cue), listed, reasons)
    }

    /// [`AspectModel::judge`] with the words and pairs of `cue` found already (see
    /// [`FeatureSet`]; hashed once per mention for both learned models).
    pub fn judge_set(
        &self,
        cue: &str,
        found: &FeatureSet,
        listed: &[usize],
        reasons: usize,
    ) -> Vec<AspectJudgement<'_>> {
        // Both blocks summed unscaled as they are read, each scaled by its length at
        // the end; the hits are kept for the reasons.
        let mut blocks = [Block::default(), Block::default()];
        let mut hits: Vec<(u32, f32)> = Vec::with_capacity(found.len() + cue.len());
        let flags = listed
            .iter()
            .filter_map(|&i| LISTED.get(i))
            .map(|(_, k)| *k);
        found
            .keys()
            .chain(flags)
            .for_each(|key| self.add(&mut blocks[0], &mut hits, key));
        let words = hits.len();
        for_each_gram(cue, |g| self.add(&mut blocks[1], &mut hits, gram_key(g)));
        let scales = blocks.each_ref().map(Block::scale);
        let mut logits = [0.0; WIDTH];
        for (k, logit) in logits.iter_mut().enumerate() {
            *logit = self.bias[k]
                + f64::from(blocks[0].sums[k] * scales[0] + blocks[1].sums[k] * scales[1]);
        }
        let (word_hits, part_hits) = hits.split_at(words);
        logits
            .into_iter()
            .enumerate()
            .map(|(aspect, logit)| {
                let probability = sigmoid(logit);
                let contributions = if probability >= 0.5 {
                    let blocks = [(word_hits, scales[0]), (part_hits, scales[1])];
                    self.speaking_for(aspect, blocks, reasons)
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

    /// The `n` features that speak most for `aspect`, strongest first, each once; the
    /// names are looked at only for ties among those that make the list.
    fn speaking_for(
        &self,
        aspect: usize,
        blocks: [(&[(u32, f32)], f32); 2],
        n: usize,
    ) -> Vec<(&str, f64)> {
        let by_name = |a: u32, b: u32| self.named.get(a as usize) <= self.named.get(b as usize);
        let mut shown = Strongest::new(n);
        for (hits, scale) in blocks {
            for &(row, idf) in hits {
                let c = f64::from(self.weights[row as usize][aspect] * idf * scale);
                if c > 0.0 {
                    shown.offer(row, c, |c| c, by_name);
                }
            }
        }
        shown
            .into_vec()
            .into_iter()
            .map(|(row, c)| (self.named.get(row as usize), c))
            .collect()
    }

    /// Adds the feature with table key `key`, if the model knows it, to `block`.
    /// Kept out of line: inlined into the loop over word parts, the compiler's code for
    /// it cost 10,000 more instructions a mention (callgrind, session 23), and which of
    /// the two it chose changed with unrelated code elsewhere in the crate.
    #[inline(never)]
    fn add(&self, block: &mut Block, hits: &mut Vec<(u32, f32)>, key: u64) {
        let Some(&row) = self.rows.get(&key) else {
            return;
        };
        let idf = self.idf[row as usize];
        block.squares += idf * idf;
        let weights = &self.weights[row as usize];
        for (sum, w) in block.sums.iter_mut().zip(weights) {
            *sum += w * idf;
        }
        hits.push((row, idf));
    }

    /// The model as file text: a header, the aspects row, the intercepts, then the
    /// features in name order (a stable order keeps retrained files diffable).
    pub fn to_file_text(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(out, "{HEADER}\t{IDF}\t{}", ASPECTS.join("\t"));
        let row_text = |out: &mut String, name: &str, idf: &str, weights: &[f64]| {
            let _ = write!(out, "{name}\t{idf}");
            // Two decimals: a weight is multiplied by a feature's share of its block (a
            // tenth or so), so the third moved no held-out decision, and cost an eighth of
            // the file. Rounded first, so that no "-0.00" is written.
            for w in weights {
                let w = (w * 100.0).round() / 100.0 + 0.0;
                let _ = write!(out, "\t{w:.2}");
            }
            out.push('\n');
        };
        row_text(&mut out, BIAS, NO_IDF, &self.bias);
        let mut order: Vec<usize> = (0..self.named.len()).collect();
        order.sort_by(|a, b| self.named.get(*a).cmp(self.named.get(*b)));
        for row in order {
            let weights: Vec<f64> = self.weights[row][..WIDTH]
                .iter()
                .map(|w| f64::from(*w))
                .collect();
            let idf = format!("{:.3}", self.idf[row]);
            row_text(&mut out, self.named.get(row), &idf, &weights);
        }
        let mut terms: Vec<&(String, String)> = self.trained_term_rows.iter().collect();
        terms.sort();
        for (aspect, term) in terms {
            let _ = writeln!(out, "{TERM_ROW}\t{aspect}\t{term}");
        }
        out
    }
}

/// One block of a text's features as read: per aspect the sum of weight × idf, and the
/// sum of the squared idfs (the block's squared length).
#[derive(Default)]
struct Block {
    sums: [f32; LANES],
    squares: f32,
}

impl Block {
    /// What scales the block to unit length.
    fn scale(&self) -> f32 {
        if self.squares > 0.0 {
            1.0 / self.squares.sqrt()
        } else {
            0.0
        }
    }
}

/// Appends one block of (row, idf) occurrences to `row`, scaled so that the block has
/// unit length: a long text's many features do not outvote a short one's few.
fn add_block(row: &mut Vec<(usize, f64)>, block: impl Iterator<Item = (usize, f64)>) {
    let start = row.len();
    row.extend(block);
    let length = row[start..].iter().map(|(_, v)| v * v).sum::<f64>().sqrt();
    if length > 0.0 {
        row[start..].iter_mut().for_each(|(_, v)| *v /= length);
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
    use super::super::model::strongest_named;
    use super::*;

    fn examples() -> Vec<AspectExample> {
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
            ("weer een slechte tolk gehad", vec![1], vec!["interpreter"]),
            ("op het azc is het koud en vies", vec![5], vec!["reception"]),
            // The azc in passing: about the wait, not the reception.
            (
                "vanuit het azc al maanden wachten",
                vec![5],
                vec!["waiting_time"],
            ),
        ]
        .into_iter()
        .map(|(t, listed, aspects)| AspectExample {
            cue: normalise_cues(t),
            listed,
            labels: ASPECTS.iter().map(|x| aspects.contains(x)).collect(),
        })
        .collect()
    }

    fn trained() -> AspectModel {
        let examples = examples();
        let refs: Vec<&AspectExample> = examples.iter().collect();
        AspectModel::train(&refs, Training::default())
    }

    fn tagged(model: &AspectModel, text: &str, listed: &[usize]) -> Vec<&'static str> {
        model
            .judge(&normalise_cues(text), listed, 2)
            .into_iter()
            .filter(|j| j.probability >= 0.5)
            .map(|j| ASPECTS[j.aspect])
            .collect()
    }

    #[test]
    fn word_parts_are_four_characters_of_the_framed_word() {
        let mut parts = Vec::new();
        for_each_gram(
            &normalise_cues("Tolk, ik? Wachttijd: 14 maanden. Ан"),
            |g| parts.push(g.to_string()),
        );
        assert_eq!(
            parts,
            vec![
                " tol", "tolk", "olk ", " ik ", " wac", "wach", "acht", "chtt", "htti", "ttij",
                "tijd", "ijd ", " maa", "maan", "aand", "ande", "nden", "den ", " ан "
            ],
            "the number is left out, the sentence breaks too"
        );
        let mut parts = Vec::new();
        for_each_gram(" nl91abna0417164300 انتظار ", |g| {
            parts.push(g.to_string())
        });
        assert_eq!(
            parts,
            vec![" انت", "انتظ", "نتظا", "تظار", "ظار "],
            "no identifier"
        );
        assert_eq!(gram_name(" tol"), "~_tol");
        assert_eq!(name_key("~_tol"), gram_key(" tol"));
        assert_ne!(name_key("tolk"), gram_key("tolk"), "a part is not the word");
    }

    #[test]
    fn learns_aspects_from_words_parts_and_what_the_lists_found() {
        let model = trained();
        assert_eq!(tagged(&model, "maanden wachten", &[]), vec!["waiting_time"]);
        assert_eq!(tagged(&model, "de tolk", &[1]), vec!["interpreter"]);
        // A form never seen whole, known by its parts.
        assert_eq!(tagged(&model, "tolkgesprek", &[]), vec!["interpreter"]);
        let judged = model.judge(&normalise_cues("de tolk sprak een ander dialect"), &[1], 2);
        let interpreter = &judged[1];
        assert!(interpreter.probability > 0.5);
        assert_eq!(interpreter.contributions.len(), 2);
        assert!(judged[0].contributions.is_empty(), "no reasons below 0.5");
        let parts = model.judge(&normalise_cues("tolkgesprek"), &[], 3);
        assert!(
            parts[1]
                .contributions
                .iter()
                .all(|(f, _)| f.starts_with('~')),
            "{:?}",
            parts[1].contributions
        );
    }

    #[test]
    fn the_file_reads_back_to_the_same_judgements() {
        let model = trained();
        let text = model.to_file_text("test model\nsecond line");
        assert!(
            text.starts_with("# test model\n# second line\nfeature\tidf\twaiting_time\t"),
            "{text}"
        );
        assert!(text.contains("\n(bias)\t-\t"), "{text}");
        assert!(text.contains("\n~_tol\t"), "{text}");
        let read = AspectModel::parse(&text).unwrap();
        assert_eq!(read.len(), model.len());
        let sample = normalise_cues("de tolk op het azc, maanden wachten");
        for (a, b) in model
            .judge(&sample, &[1, 5], 3)
            .iter()
            .zip(read.judge(&sample, &[1, 5], 3))
        {
            // Weights are written with two decimals.
            assert!((a.probability - b.probability).abs() < 0.01, "{a:?} {b:?}");
            assert_eq!(a.contributions.len(), b.contributions.len());
        }
    }

    #[test]
    fn training_is_deterministic_and_leaves_identifiers_out() {
        let mut examples = examples();
        for text in [
            "iban nl91abna0417164300 en de tolk",
            "tolk en iban nl91abna0417164300",
            "nl91abna0417164300 tolk",
        ] {
            examples.push(AspectExample {
                cue: normalise_cues(text),
                listed: vec![1],
                labels: ASPECTS.iter().map(|a| *a == "interpreter").collect(),
            });
        }
        let refs: Vec<&AspectExample> = examples.iter().collect();
        let text = AspectModel::train(&refs, Training::default()).to_file_text("");
        assert!(!text.contains("nl91"), "{text}");
        assert!(text.contains("\niban\t"), "{text}");
        assert_eq!(
            text,
            AspectModel::train(&refs, Training::default()).to_file_text("")
        );
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
        let top = strongest_named(items.into_iter(), |c| c, 3);
        assert_eq!(top, vec![("b", 0.9), ("d", 0.7), ("a", 0.5)]);
        let by_size = strongest_named(items.into_iter(), f64::abs, 2);
        assert_eq!(by_size, vec![("c", -1.0), ("b", 0.9)]);
        assert_eq!(strongest_named(items.into_iter(), |c| c, 0), vec![]);
    }

    #[test]
    fn a_damaged_file_names_the_line() {
        let header = format!("{HEADER}\t{IDF}\t{}\n", ASPECTS.join("\t"));
        let zeros = vec!["0"; ASPECTS.len()].join("\t");
        let bias = format!("{BIAS}\t-\t{zeros}\n");
        let err = AspectModel::parse(&format!("# x\n{header}{bias}tolk\t1.5\t1\t2\n")).unwrap_err();
        assert_eq!(err.0, 4);
        assert!(err.1.contains("2 weights"), "{}", err.1);
        let err = AspectModel::parse("feature\twaiting_time\n").unwrap_err();
        assert_eq!(err.0, 1);
        assert!(err.1.contains("header row"), "{}", err.1);
        let err = AspectModel::parse(&header).unwrap_err();
        assert!(err.1.contains("(bias)"), "{}", err.1);
        let err = AspectModel::parse(&format!(
            "{header}{bias}x\t1\t{}\n",
            vec!["NaN"; ASPECTS.len()].join("\t")
        ))
        .unwrap_err();
        assert_eq!(err.0, 3);
        assert!(err.1.contains("not a number"), "{}", err.1);
        let err = AspectModel::parse(&format!("{header}{bias}x\t-2\t{zeros}\n")).unwrap_err();
        assert!(err.1.contains("idf \"-2\""), "{}", err.1);
        let err = AspectModel::parse(&format!("{header}{BIAS}\t1\t{zeros}\n")).unwrap_err();
        assert!(err.1.contains("idf"), "{}", err.1);
        let err = AspectModel::parse(&format!(
            "{header}{bias}~_tol\t1\t{zeros}\n~_tol\t1\t{zeros}\n"
        ))
        .unwrap_err();
        assert_eq!(err, (4, "feature \"~_tol\" appears twice".into()));
        let err = AspectModel::parse(&format!("{header}{bias}{TERM_ROW}\tlawyer\tadvocaat\n"))
            .unwrap_err();
        assert_eq!(err.0, 3);
        assert!(err.1.contains("\"lawyer\" is not an aspect"), "{}", err.1);
        let err =
            AspectModel::parse(&format!("{header}{bias}{TERM_ROW}\tlegal_aid\n")).unwrap_err();
        assert!(err.1.contains("an aspect, a list term"), "{}", err.1);
    }

    #[test]
    fn the_list_terms_it_was_trained_with_are_kept_in_the_file() {
        let model = trained();
        assert!(
            !model.is_new_term("interpreter", "tolk*"),
            "a file that names no terms"
        );
        let model = model.trained_with([("interpreter", "tolk*"), ("reception", "azc")]);
        assert!(!model.is_new_term("interpreter", "tolk*"));
        assert!(model.is_new_term("interpreter", "taalhulp*"));
        assert!(
            model.is_new_term("reception", "tolk*"),
            "the term of another aspect"
        );
        let text = model.to_file_text("test");
        assert!(
            text.ends_with("(list term)\tinterpreter\ttolk*\n(list term)\treception\tazc\n"),
            "{text}"
        );
        let read = AspectModel::parse(&text).unwrap();
        assert!(!read.is_new_term("reception", "azc"));
        assert!(read.is_new_term("reception", "opvang"));
        assert_eq!(read.to_file_text("test"), text);
    }
}
