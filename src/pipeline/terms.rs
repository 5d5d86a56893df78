//! The term matcher of the topic rules, the aspect lists and the complaint cues.
//!
//! aho-corasick's contiguous NFA, walked by a loop of our own instead of its
//! overlapping-match iterator. A 300-byte post sets off about a hundred needles (the
//! aspect lists' stems among them), and the iterator leaves and re-enters its search
//! for every one, rebuilding its search state each time: that machinery cost as much as
//! the walk over the bytes itself (BENCHMARKS.md, session 9). The crate documents this
//! use of its `Automaton` trait ("implementing your own custom search routine"); the
//! matches come in the same order as from the iterator.

use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::contiguous;
use aho_corasick::{Anchored, BuildError, MatchKind};

/// States this close to the start of the word matchers get a transition table (the
/// rest a list searched per byte). Every needle starts with a space and a letter, so
/// the default of 2 left the states of the first letters of every word sparse; every
/// byte of every mention passes through them (BENCHMARKS.md).
const DENSE_DEPTH: usize = 4;

/// Where a needle goes on in the next word: "negativ* bescheid*" is the needle
/// " negativ" and, after the rest of that word, "bescheid". Never in normalised text.
pub const CONTINUES: char = '\u{1}';

/// Finds every needle in a text, overlapping ones included.
#[derive(Debug, Clone)]
pub struct TermMatcher {
    // Thousands of terms in twelve languages: a DFA of the topic terms and aspect
    // lists took 30 MB, the contiguous NFA a few, for 4% fewer instructions per mention
    // (both through the crate's iterator; BENCHMARKS.md, session 9).
    nfa: contiguous::NFA,
    /// Per pattern, what must follow from the next word on when the needle has a word
    /// with an open end inside it (the parts after each [`CONTINUES`]).
    continuations: Vec<Option<Box<[String]>>>,
}

impl TermMatcher {
    /// Compiles `needles` (none of them empty); pattern ids are their positions. A
    /// needle may go on past [`CONTINUES`]: the automaton looks for its first part,
    /// and a match is checked for the rest.
    pub fn new<I, P>(needles: I) -> Result<TermMatcher, BuildError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<str>,
    {
        let mut firsts = Vec::new();
        let mut continuations = Vec::new();
        for needle in needles {
            let mut parts = needle.as_ref().split(CONTINUES);
            firsts.push(parts.next().unwrap_or_default().to_string());
            let rest: Box<[String]> = parts.map(str::to_string).collect();
            continuations.push((!rest.is_empty()).then_some(rest));
        }
        let needles = firsts;
        let nfa = contiguous::NFA::builder()
            .match_kind(MatchKind::Standard)
            .dense_depth(DENSE_DEPTH)
            // Without a prefilter the start state is an ordinary state, and the walk
            // below needs no case for it. A prefilter skips ahead to where a needle may
            // start; for these needles (a space, or any letter, first) that is nearly
            // every byte.
            .prefilter(false)
            .build(needles)?;
        Ok(TermMatcher { nfa, continuations })
    }

    /// Calls `found(pattern, start, end)` for every occurrence of every needle in
    /// `haystack` (`end` is the byte offset just past it), in the order aho-corasick's
    /// overlapping search gives them: by the end of their first part, and at the same
    /// end longest first, equal needles in pattern order.
    #[inline]
    pub fn for_each_match(&self, haystack: &str, mut found: impl FnMut(usize, usize, usize)) {
        let nfa = &self.nfa;
        // Unanchored searches are always supported; the error cannot occur.
        let Ok(mut state) = nfa.start_state(Anchored::No) else {
            return;
        };
        for (at, &byte) in haystack.as_bytes().iter().enumerate() {
            state = nfa.next_state(Anchored::No, state, byte);
            if nfa.is_special(state) {
                // With the start state ordinary (no prefilter) and no dead state in an
                // unanchored standard search, a special state is a match state.
                for index in 0..nfa.match_len(state) {
                    let id = nfa.match_pattern(state, index);
                    let (pattern, end) = (id.as_usize(), at + 1);
                    let start = end - nfa.pattern_len(id);
                    match self.continuations.get(pattern) {
                        Some(Some(rest)) => {
                            if let Some(end) = goes_on(haystack, end, rest) {
                                found(pattern, start, end);
                            }
                        }
                        _ => found(pattern, start, end),
                    }
                }
            }
        }
    }
}

/// Where a match whose first part ended at `end`, inside or at the end of a word, ends
/// when each of `rest` starts the word after the one before it; `None` if one does not.
fn goes_on(haystack: &str, mut end: usize, rest: &[String]) -> Option<usize> {
    for part in rest {
        let word_end = end + haystack.get(end..)?.find(' ')?;
        end = word_end + 1;
        if !haystack.get(end..)?.starts_with(part.as_str()) {
            return None;
        }
        end += part.len();
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;

    /// The matches, as the crate's own overlapping iterator gives them.
    fn by_iterator(needles: &[&str], haystack: &str) -> Vec<(usize, usize)> {
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(needles)
            .expect("needles compile");
        matcher
            .find_overlapping_iter(haystack)
            .map(|m| (m.pattern().as_usize(), m.end()))
            .collect()
    }

    fn by_walk(needles: &[&str], haystack: &str) -> Vec<(usize, usize)> {
        let matcher = TermMatcher::new(needles).expect("needles compile");
        let mut found = Vec::new();
        matcher.for_each_match(haystack, |pattern, start, end| {
            assert_eq!(&haystack[start..end], needles[pattern]);
            found.push((pattern, end));
        });
        found
    }

    #[test]
    fn the_walk_finds_what_the_overlapping_iterator_finds_in_the_same_order() {
        let needles = [
            " asiel",
            " asielzoeker ",
            "zoeker ",
            " ind ",
            " ter apel ",
            " apel",
            " asiel",
            "el",
            " محامي",
            "محامي",
        ];
        let texts = [
            " de asielzoeker in ter apel wacht op de ind ",
            " asielasielzoeker ter apel apeldoorn ",
            " وكيل المحامي محامي ",
            "",
            " niets hier ",
        ];
        for text in texts {
            let expected = by_iterator(&needles, text);
            assert_eq!(by_walk(&needles, text), expected, "{text:?}");
        }
        // Not vacuous: the first text sets off overlapping needles, equal ones included,
        // longest first at the same end.
        let first = by_walk(&needles, texts[0]);
        assert_eq!(first[..5], [(0, 9), (6, 9), (7, 9), (1, 16), (2, 16)]);
    }

    #[test]
    fn a_needle_goes_on_in_the_next_words() {
        // "negativ* bescheid*", "demandeur* d asile", and a plain one.
        let needles = [" negativ\u{1}bescheid", " demandeur\u{1}d asile ", " ind "];
        let matcher = TermMatcher::new(needles).expect("needles compile");
        let spans = |text: &str| -> Vec<(usize, String)> {
            let mut found = Vec::new();
            matcher.for_each_match(text, |p, start, end| {
                found.push((p, text[start..end].to_string()));
            });
            found
        };
        assert_eq!(
            spans(" ein negativer bescheid der ind "),
            [(0, " negativer bescheid".into()), (2, " ind ".into())]
        );
        assert_eq!(
            spans(" negativ bescheiden "),
            [(0, " negativ bescheid".to_string())]
        );
        assert_eq!(
            spans(" les demandeurs d asile "),
            [(1, " demandeurs d asile ".to_string())]
        );
        // Not across another word, a sentence end, or into a longer word when closed.
        for text in [
            " negativer neuer bescheid ",
            " negativ | bescheid ",
            " demandeurs d asiles ",
            " negativ",
        ] {
            assert!(spans(text).is_empty(), "{text}");
        }
    }
}
