//! Emerging complaints outside the taxonomy: words over-represented in recent
//! complaints against the baseline period, so that a new problem (a new appointment
//! system that fails, a new location) surfaces before anyone writes a rule for it.
//!
//! Like Elasticsearch's significant terms: a word's share of recent complaint voices
//! against its share of baseline complaint voices, tested with the same Poisson tail as
//! the aspect counts. A word counts once per voice: the distinct authors who first
//! posted a near-duplicate cluster that has it (as in [`super::counts`]). The words of
//! topic rules are left out, and an aspect list's words where the aspect stage gave most
//! of their posts that aspect: the aspect counts see those. So are stop words, numbers
//! and redaction placeholders.

use std::collections::{HashMap, HashSet};

use super::counts::{Example, Post, VoiceTally};
use super::stats::{compare_samples, Comparison, Thresholds};
use crate::pipeline::KnownTerm;

/// A word and how it compares.
#[derive(Debug, Clone, PartialEq)]
pub struct TermSignal {
    pub term: String,
    pub comparison: Comparison,
}

/// Words shorter than this say little on their own.
const MIN_WORD_CHARS: usize = 4;
/// Longer than the longest compounds ("verblijfsvergunningaanvraag" has 27): junk, a
/// run of letters or a pasted code, not a word anyone would search for.
const MAX_WORD_CHARS: usize = 40;

/// Function words of the languages the detector sees most, which are frequent in
/// every complaint and so never significant anyway, but cost counting.
const STOP_WORDS: &[&str] = &[
    // nl
    "maar", "niet", "geen", "voor", "naar", "over", "door", "zijn", "heeft", "hebben", "wordt",
    "worden", "werd", "deze", "omdat", "toen", "ook", "nog", "wel", "waar", "want", "alle",
    "alles", "iets", "niets", "niks", "dan", "hoe", "wat", "wie", "zich", "mijn", "onze", "jullie",
    "hier", "daar", "moet", "moeten", "kunnen", "kan", "zou", "zouden", "weer", "steeds", "echt",
    "eens", "dit", "dat", "met", "van", "een", "het", "de", "en", "ik", "je", "we", "wij", "ze",
    "zij", "hun", "hij", "al", "om", "te", "op", "in", "uit", "bij", "tot", "sinds", "na", "dus",
    "nu", "meer", "veel", "heel", "erg", // en
    "this", "that", "with", "from", "have", "been", "were", "they", "them", "their", "there",
    "what", "when", "where", "which", "while", "would", "could", "should", "about", "after",
    "again", "still", "just", "only", "even", "into", "than", "then", "your", "yours", "mine",
    "will", "shall", "does", "done", "being", "because", "every", "some", "very", "much", "many",
    "more", "most", "other", "also", "here",
    // Self-introductions, whose name redaction leaves them in every post that has one.
    "naam", "name", "heet",
];

/// Redaction placeholders (`[phone]` normalises to `phone`).
const PLACEHOLDERS: &[&str] = &[
    "email", "phone", "number", "address", "postcode", "plate", "iban", "name",
];

/// The distinct words of a mention worth counting.
pub fn words(example: &Example) -> HashSet<String> {
    let text = format!("{} {}", example.title, example.text);
    // A pseudonym (`@p_…`) is a person, not a word: normalised, its hex digits would
    // stand alone, and fourteen people naming one account would make it a headline.
    let text = crate::pipeline::pseudonym::pseudonym_pattern().replace_all(&text, " ");
    crate::pipeline::relevance::normalise(&text)
        .split_whitespace()
        .filter(|w| {
            (MIN_WORD_CHARS..=MAX_WORD_CHARS).contains(&w.chars().count())
                && !w.chars().all(|c| c.is_ascii_digit())
                && !STOP_WORDS.contains(w)
                && !PLACEHOLDERS.contains(w)
        })
        .map(str::to_string)
        .collect()
}

/// Adds `e` to `voices` ([`super::counts::VoiceTally`]).
fn add(voices: &mut VoiceTally, e: &Example) {
    voices.add(&Post {
        cluster: e.cluster.as_deref().unwrap_or(&e.id),
        author: e.author.as_deref(),
        published: e.published.timestamp_micros(),
    });
}

/// Voices per word (each word as `key` counts it), and in all.
fn voices_per_word(examples: &[Example], key: fn(String) -> String) -> (HashMap<String, u64>, u64) {
    let mut per_word: HashMap<String, VoiceTally> = HashMap::new();
    let mut all = VoiceTally::default();
    for e in examples {
        add(&mut all, e);
        let keys: HashSet<String> = words(e).into_iter().map(key).collect();
        for w in keys {
            add(per_word.entry(w).or_default(), e);
        }
    }
    let counts = per_word
        .into_iter()
        .map(|(w, voices)| (w, voices.voices()))
        .collect();
    (counts, all.voices())
}

/// The words of `examples` written with a capital wherever they stand (and not in
/// capitals only, as an abbreviation is): the names of people, whom the redaction does
/// not know in running text ("Okonkwo zei niets"), and of places no topic list knows.
/// A report or an alert must not make a person its headline. German writes every noun
/// with a capital: its texts say nothing here.
fn written_as_names(examples: &[Example]) -> HashSet<String> {
    let (mut capital, mut lower) = (HashSet::new(), HashSet::new());
    for e in examples.iter().filter(|e| e.lang != "de") {
        for text in [&e.title, &e.text] {
            for word in text.split(|c: char| !c.is_alphanumeric()) {
                let mut chars = word.chars();
                let Some(first) = chars.next() else {
                    continue;
                };
                let key = crate::pipeline::relevance::normalise(word)
                    .trim()
                    .to_string();
                if first.is_uppercase() && chars.any(char::is_lowercase) {
                    capital.insert(key);
                } else {
                    lower.insert(key);
                }
            }
        }
    }
    capital.retain(|w| !lower.contains(w));
    capital
}

/// Words significantly more frequent in `recent` than in `baseline` complaints, most
/// significant first. `known` says what the rules know of a word: a topic rule's word
/// is left out, and so is an aspect list's word where most of the recent complaints
/// that have it were given one of its aspects ([`covered`]); a word written only as a
/// name is left out too ([`written_as_names`]).
pub fn emerging(
    recent: &[Example],
    baseline: &[Example],
    thresholds: &Thresholds,
    known: &dyn Fn(&str) -> KnownTerm,
) -> Vec<TermSignal> {
    // A signal's word is an incident's key, as written in the text: kept whole.
    let (recent_words, recent_voices) = voices_per_word(recent, |w| w);
    let (baseline_words, baseline_voices) = voices_per_word(baseline, |w| w);
    let names = written_as_names(recent);
    // Every word used by enough voices in both samples together is a test, whether or
    // not the recent sample has enough of them: given its total, where its voices fall
    // is the chance the test weighs, and counting only the words that came out high
    // would hide how many were tried.
    let min = thresholds.min_voices;
    let in_baseline_only = baseline_words
        .iter()
        .filter(|(term, n)| **n >= min && !recent_words.contains_key(*term))
        .count();
    let tests = in_baseline_only
        + recent_words
            .iter()
            .filter(|(term, n)| **n + baseline_words.get(*term).copied().unwrap_or(0) >= min)
            .count();
    let mut tested: Vec<TermSignal> = recent_words
        .into_iter()
        .filter(|(_, n)| *n >= thresholds.min_voices)
        .filter(|(term, _)| !names.contains(term))
        .map(|(term, observed)| {
            let background = *baseline_words.get(&term).unwrap_or(&0) as f64;
            // The word's baseline share, smoothed so that an unseen word is rare, not
            // impossible.
            let share = (background + 0.5) / (baseline_voices as f64 + 1.0);
            let comparison = compare_samples(
                observed,
                background as u64,
                (recent_voices, baseline_voices),
                share * recent_voices as f64,
                thresholds,
            );
            TermSignal { term, comparison }
        })
        .collect();
    tested.sort_by(|a, b| {
        a.comparison
            .p_value
            .total_cmp(&b.comparison.p_value)
            .then_with(|| a.term.cmp(&b.term))
    });
    // Thousands of words are tested at once, and at p < 0.01 one in a hundred words
    // that did not change would pass: the Benjamini–Hochberg procedure keeps the share
    // of such false signals among those raised at `alpha` instead.
    tested.truncate(discoveries(&tested, tests, thresholds.alpha));
    tested
        .into_iter()
        .filter(|s| s.comparison.signal && !covered(&s.term, known(&s.term), recent))
        .collect()
}

/// How many of `sorted` (by p-value, smallest first; the rest of the `tests` were
/// weaker) the Benjamini–Hochberg procedure keeps at false discovery rate `alpha`: up
/// to the last rank `i` (from 1) whose p-value is at most `i / m × alpha`.
fn discoveries(sorted: &[TermSignal], tests: usize, alpha: f64) -> usize {
    let m = tests.max(sorted.len()) as f64;
    sorted
        .iter()
        .enumerate()
        .rev()
        .find(|(i, s)| s.comparison.p_value <= (*i + 1) as f64 / m * alpha)
        .map_or(0, |(i, _)| i + 1)
}

/// Whether the aspect counts already cover `term`: a topic rule's word always, an
/// aspect list's word where more than half of the `recent` complaints that have it carry
/// one of its aspects. Where the aspect stage turned the list down for most of them, the
/// aspect counts do not see those posts, and the word is a complaint of its own.
fn covered(term: &str, known: KnownTerm, recent: &[Example]) -> bool {
    match known {
        KnownTerm::Unknown => false,
        KnownTerm::Topic => true,
        KnownTerm::Aspects(aspects) => {
            let with_word: Vec<&Example> =
                recent.iter().filter(|e| words(e).contains(term)).collect();
            let tagged = with_word
                .iter()
                .filter(|e| e.aspects.iter().any(|a| aspects.contains(a)))
                .count();
            tagged * 2 > with_word.len()
        }
    }
}

/// The words that set `recent` apart most (for an incident's top terms), at most `n`.
pub fn top_terms(recent: &[Example], baseline: &[Example], n: usize) -> Vec<String> {
    let (recent_words, recent_voices) = voices_per_word(recent, without_article);
    let (baseline_words, baseline_voices) = voices_per_word(baseline, without_article);
    // They go into mail and reports as an incident's words: no names there either.
    let names = written_as_names(recent);
    let mut scored: Vec<(f64, String)> = recent_words
        .into_iter()
        .filter(|(_, count)| *count >= 2)
        .filter(|(word, _)| !names.contains(word))
        .map(|(w, count)| {
            let fg = count as f64 / recent_voices.max(1) as f64;
            let bg = (*baseline_words.get(&w).unwrap_or(&0) as f64 + 0.5)
                / (baseline_voices as f64 + 1.0);
            // JLH: absolute change times relative change.
            ((fg - bg) * (fg / bg), w)
        })
        .filter(|(score, _)| *score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let written = written_forms(recent, without_article);
    scored
        .into_iter()
        .take(n)
        .map(|(_, w)| written.get(&w).cloned().unwrap_or(w))
        .collect()
}

/// An Arabic word counted without its article (ال, also joined to the prepositions and
/// conjunctions before it: لل، بال، وال، ولل …) where three letters or more remain:
/// "المترجم" and "مترجم" are one word of an incident, not two of its top terms. Shown as
/// its writers wrote it most ([`written_forms`]).
fn without_article(word: String) -> String {
    const ARTICLES: &[&str] = &["ولل", "فلل", "وال", "فال", "بال", "كال", "لل", "ال"];
    for article in ARTICLES {
        if let Some(rest) = word.strip_prefix(article) {
            if rest.chars().count() >= 3 {
                return rest.to_string();
            }
        }
    }
    word
}

/// For each word as it is counted (folded: "للاطفال", "المبني"; by `key`), the form its
/// writers used most, in lower case ("للأطفال", "المبنى"): the folded one reads as
/// misspelt.
fn written_forms(examples: &[Example], key: fn(String) -> String) -> HashMap<String, String> {
    use crate::pipeline::relevance::{is_optional_mark, is_word_char, normalise};
    let mut counts: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for e in examples {
        for text in [&e.title, &e.text] {
            for word in text
                .split(|c: char| !is_word_char(c))
                .filter(|w| !w.is_empty())
            {
                let key = key(normalise(word).trim().to_string());
                // Turkish İ as i, which lower-casing would give a combining dot.
                let form: String = word
                    .chars()
                    .filter(|&c| !is_optional_mark(c) && c != crate::pipeline::relevance::TATWEEL)
                    .map(|c| if c == 'İ' { 'i' } else { c })
                    .flat_map(char::to_lowercase)
                    .collect();
                *counts.entry(key).or_default().entry(form).or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .filter_map(|(key, forms)| {
            let (form, _) = forms
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))?;
            (form != key).then_some((key, form))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(id: &str, text: &str) -> Example {
        Example {
            id: id.into(),
            url: None,
            title: String::new(),
            text: text.into(),
            cluster: Some(id.into()),
            author: Some(format!("p_{id}")),
            aspects: Vec::new(),
            lang: "nl".into(),
            published: chrono::Utc::now(),
        }
    }

    #[test]
    fn placeholders_their_phrases_and_junk_are_no_words_to_count() {
        let words = words(&example(
            "x",
            "Mijn naam is [name], tel [phone]. Tolkenbureau! yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy @p_0123456789abcdef01234567 (p_89abcdef0123456789abcdef)",
        ));
        assert_eq!(
            words.into_iter().collect::<Vec<_>>(),
            vec!["tolkenbureau".to_string()]
        );
    }

    #[test]
    fn top_terms_are_shown_as_their_writers_wrote_them() {
        let background: Vec<Example> = (0..50)
            .map(|i| example(&format!("b{i}"), "lang wachten op de IND"))
            .collect();
        let recent: Vec<Example> = (0..10)
            .map(|i| {
                let text = if i < 7 {
                    "المبنى بارد جدا وللأطفال لا يوجد ماء"
                } else {
                    "المبنى بارد جدا للاطفال"
                };
                example(&format!("r{i}"), text)
            })
            .collect();
        let top = top_terms(&recent, &background, 10);
        assert!(top.contains(&"المبنى".to_string()), "{top:?}");
        assert!(!top.contains(&"المبني".to_string()), "{top:?}");
    }

    #[test]
    fn an_arabic_word_with_and_without_its_article_is_one_top_term() {
        let background: Vec<Example> = (0..50)
            .map(|i| example(&format!("b{i}"), "lang wachten op de IND"))
            .collect();
        let recent: Vec<Example> = (0..10)
            .map(|i| {
                let text = match i % 3 {
                    0 => "المترجم لم يفهم لهجتي",
                    1 => "مترجم سيء جدا في المقابلة",
                    _ => "قلت للمترجم إنه يخطئ، والمترجم لم يسمع",
                };
                example(&format!("r{i}"), text)
            })
            .collect();
        let top = top_terms(&recent, &background, 10);
        let interpreter: Vec<&String> = top.iter().filter(|t| t.contains("مترجم")).collect();
        // One term for all ten voices, as they wrote it most.
        assert_eq!(interpreter, ["المترجم"], "{top:?}");
        // A word that only looks as if it had the article keeps its letters.
        assert_eq!(without_article("الم".into()), "الم");
        assert_eq!(without_article("tolkenbureau".into()), "tolkenbureau");
    }

    const THRESHOLDS: Thresholds = Thresholds {
        alpha: 0.001,
        min_voices: 5,
        min_ratio: 3.0,
    };

    /// Complaints about waiting in the weeks before, and the same in the recent window.
    fn waiting() -> (Vec<Example>, Vec<Example>) {
        let background = (0..200)
            .map(|i| example(&format!("b{i}"), "lang wachten op de beslissing van de IND"))
            .collect();
        let recent = (0..30)
            .map(|i| example(&format!("r{i}"), "lang wachten op de beslissing"))
            .collect();
        (background, recent)
    }

    /// Posts whose words come from one vocabulary before and in the recent window
    /// alike: thousands of words tested, none emerged. Among them, one word many people
    /// suddenly use still does.
    #[test]
    fn words_drawn_alike_before_and_now_do_not_emerge_by_chance() {
        let mut seed: u64 = 7;
        let mut next = move |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        let letters = |mut i: u64| {
            let mut word = String::from("wo");
            for _ in 0..3 {
                word.push(char::from(b'a' + (i % 26) as u8));
                i /= 26;
            }
            word
        };
        let mut post = |id: String| {
            // A few common words and many rare ones, as language has them.
            let words: Vec<String> = (0..10)
                .map(|_| letters(next(40) * next(400) + next(40)))
                .collect();
            example(&id, &words.join(" "))
        };
        // A week against the eight before it.
        let baseline: Vec<Example> = (0..4_000).map(|i| post(format!("b{i}"))).collect();
        let mut recent: Vec<Example> = (0..500).map(|i| post(format!("r{i}"))).collect();
        let t = Thresholds {
            alpha: 0.01,
            ..THRESHOLDS
        };
        let tested = emerging(&recent, &baseline, &t, &|_| KnownTerm::Unknown);
        assert!(
            tested.is_empty(),
            "{:?}",
            tested
                .iter()
                .map(|s| (&s.term, s.comparison))
                .collect::<Vec<_>>()
        );
        for (i, post) in recent.iter_mut().take(10).enumerate() {
            post.text.push_str(if i % 2 == 0 {
                " afsprakenapp"
            } else {
                " afsprakenapp kapot"
            });
        }
        let found = emerging(&recent, &baseline, &t, &|_| KnownTerm::Unknown);
        let terms: Vec<&str> = found.iter().map(|s| s.term.as_str()).collect();
        assert_eq!(terms, ["afsprakenapp"]);
    }

    #[test]
    fn a_new_word_in_many_voices_emerges_and_a_known_one_does_not() {
        let (background, mut recent) = waiting();
        for i in 0..8 {
            recent.push(example(
                &format!("n{i}"),
                "de nieuwe afsprakenapp van de IND crasht steeds, afsprakenapp kapot",
            ));
        }
        let t = THRESHOLDS;
        let found = emerging(&recent, &background, &t, &|_| KnownTerm::Unknown);
        let terms: Vec<&str> = found.iter().map(|s| s.term.as_str()).collect();
        assert!(terms.contains(&"afsprakenapp"), "{terms:?}");
        assert!(
            !terms.contains(&"beslissing") && !terms.contains(&"wachten"),
            "{terms:?}"
        );
        let topic = |w: &str| {
            if w == "afsprakenapp" {
                KnownTerm::Topic
            } else {
                KnownTerm::Unknown
            }
        };
        let known = emerging(&recent, &background, &t, &topic);
        assert!(!known.iter().any(|s| s.term == "afsprakenapp"));
        assert_eq!(top_terms(&recent, &background, 3)[0], "afsprakenapp");
    }

    /// A word of an aspect's list is left to the aspect counts where most of its posts
    /// were given that aspect; where the aspect stage turned it down for most, the
    /// aspect counts do not see them, and the word is a complaint of its own.
    #[test]
    fn a_list_word_emerges_where_its_posts_lack_its_aspect() {
        let (background, mut recent) = waiting();
        for i in 0..8 {
            let mut post = example(&format!("n{i}"), "geen reiskosten terug na mijn gehoor");
            // Three of the eight were given the list's aspect: not most.
            if i < 3 {
                post.aspects = vec!["facilities".into()];
            }
            post.aspects.push("hearing".into());
            recent.push(post);
        }
        let t = THRESHOLDS;
        let facilities = |w: &str| match w {
            "reiskosten" => KnownTerm::Aspects(vec!["facilities".into()]),
            _ => KnownTerm::Unknown,
        };
        let emerged = |recent: &[Example]| {
            emerging(recent, &background, &t, &facilities)
                .iter()
                .any(|s| s.term == "reiskosten")
        };
        assert!(emerged(&recent));
        // Five of the eight: most of them, and the aspect counts see them.
        for post in &mut recent[30..35] {
            post.aspects = vec!["facilities".into()];
        }
        assert!(!emerged(&recent));
        // Four of the eight is not most.
        recent[34].aspects = vec!["hearing".into()];
        assert!(emerged(&recent));
    }

    /// Ten people naming one officer in running text is no headline: the name is
    /// written with a capital wherever it stands. A German noun is, too, and stays.
    #[test]
    fn a_name_does_not_emerge() {
        let (background, mut recent) = waiting();
        for i in 0..8 {
            recent.push(example(
                &format!("n{i}"),
                "Medewerker Okonkwo lachte me uit. Okonkwo luisterde niet, het afsprakenloket ook niet",
            ));
            let mut german = example(&format!("g{i}"), "Die Terminvergabe ist kaputt");
            german.lang = "de".into();
            recent.push(german);
        }
        let t = THRESHOLDS;
        let found = emerging(&recent, &background, &t, &|_| KnownTerm::Unknown);
        let terms: Vec<&str> = found.iter().map(|s| s.term.as_str()).collect();
        assert!(!terms.contains(&"okonkwo"), "{terms:?}");
        assert!(!top_terms(&recent, &background, 5).contains(&"okonkwo".to_string()));
        assert!(terms.contains(&"afsprakenloket"), "{terms:?}");
        assert!(terms.contains(&"terminvergabe"), "{terms:?}");
    }

    #[test]
    fn a_repost_wave_is_one_voice() {
        let background: Vec<Example> = (0..100)
            .map(|i| example(&format!("b{i}"), "lang wachten"))
            .collect();
        let recent: Vec<Example> = (0..50)
            .map(|i| Example {
                cluster: Some("viral".into()),
                ..example(&format!("r{i}"), "tolkenbureau schandaal schandaal")
            })
            .collect();
        let t = THRESHOLDS;
        assert!(emerging(&recent, &background, &t, &|_| KnownTerm::Unknown).is_empty());
        // And so is one person writing it many times in other words.
        let one_person: Vec<Example> = (0..30)
            .map(|i| Example {
                author: Some("p_een".into()),
                ..example(&format!("o{i}"), &format!("tolkenbureau schandaal dag{i}"))
            })
            .collect();
        assert!(emerging(&one_person, &background, &t, &|_| KnownTerm::Unknown).is_empty());
    }
}
