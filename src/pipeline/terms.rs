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
use aho_corasick::{Anchored, BuildError, MatchKind, PatternID};

/// States this close to the start of the word matchers get a transition table (the
/// rest a list searched per byte). Every needle starts with a space and a letter, so
/// the default of 2 left the states of the first letters of every word sparse; every
/// byte of every mention passes through them (BENCHMARKS.md).
const DENSE_DEPTH: usize = 4;

/// Finds every needle in a text, overlapping ones included.
#[derive(Debug, Clone)]
pub struct TermMatcher {
    // Thousands of terms in twelve languages: a DFA of the topic terms and aspect
    // lists took 30 MB, the contiguous NFA a few, for 4% fewer instructions per mention
    // (both through the crate's iterator; BENCHMARKS.md, session 9).
    nfa: contiguous::NFA,
}

impl TermMatcher {
    /// Compiles `needles` (none of them empty); pattern ids are their positions.
    pub fn new<I, P>(needles: I) -> Result<TermMatcher, BuildError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        let nfa = contiguous::NFA::builder()
            .match_kind(MatchKind::Standard)
            .dense_depth(DENSE_DEPTH)
            // Without a prefilter the start state is an ordinary state, and the walk
            // below needs no case for it. A prefilter skips ahead to where a needle may
            // start; for these needles (a space, or any letter, first) that is nearly
            // every byte.
            .prefilter(false)
            .build(needles)?;
        Ok(TermMatcher { nfa })
    }

    /// Calls `found(pattern, end)` for every occurrence of every needle in `haystack`
    /// (`end` is the byte offset just past it), in the order aho-corasick's overlapping
    /// search gives them: by end, and at the same end longest first, equal needles in
    /// pattern order.
    #[inline]
    pub fn for_each_match(&self, haystack: &str, mut found: impl FnMut(usize, usize)) {
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
                    found(nfa.match_pattern(state, index).as_usize(), at + 1);
                }
            }
        }
    }

    /// The length in bytes of needle `pattern`.
    pub fn needle_len(&self, pattern: usize) -> usize {
        if pattern < self.nfa.patterns_len() {
            self.nfa.pattern_len(PatternID::new_unchecked(pattern))
        } else {
            0
        }
    }
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
        matcher.for_each_match(haystack, |pattern, end| found.push((pattern, end)));
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
    fn a_needle_knows_its_length() {
        let matcher = TermMatcher::new([" ind ", "محامي"]).expect("needles compile");
        assert_eq!(matcher.needle_len(0), 5);
        assert_eq!(matcher.needle_len(1), 10);
        assert_eq!(matcher.needle_len(2), 0);
    }
}
