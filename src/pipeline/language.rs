//! Language of a mention: a platform or config hint wins; otherwise whatlang, restricted
//! to the configured languages, answers when it is sure enough, and `und` when not.

use whatlang::{Detector, Lang, Script};

use crate::mention::UNDETERMINED;

/// ISO 639-1 codes the daemon knows, with whatlang's language where it has one.
/// Somali, Tigrinya, Pashto and Kurdish have none: they can come from hints (and, for
/// Tigrinya, from its script).
const LANGUAGES: &[(&str, Option<Lang>)] = &[
    ("nl", Some(Lang::Nld)),
    ("en", Some(Lang::Eng)),
    ("ar", Some(Lang::Ara)),
    ("fa", Some(Lang::Pes)),
    ("tr", Some(Lang::Tur)),
    ("uk", Some(Lang::Ukr)),
    ("fr", Some(Lang::Fra)),
    ("de", Some(Lang::Deu)),
    ("es", Some(Lang::Spa)),
    ("ru", Some(Lang::Rus)),
    ("it", Some(Lang::Ita)),
    ("pl", Some(Lang::Pol)),
    ("pt", Some(Lang::Por)),
    ("af", Some(Lang::Afr)),
    ("ur", Some(Lang::Urd)),
    ("am", Some(Lang::Amh)),
    ("so", None),
    ("ti", None),
    ("ps", None),
    ("ku", None),
];

/// Below this many letters a guess is worse than `und`.
const MIN_LETTERS: usize = 12;
/// whatlang's confidence from which an unreliable-flagged answer is still taken.
const MIN_CONFIDENCE: f64 = 0.5;
/// Detection reads at most this many bytes: more text costs time and adds nothing.
const MAX_SAMPLE_BYTES: usize = 2048;

/// The whatlang language of an ISO 639-1 code, or `None` if the code is unknown.
pub fn lookup(code: &str) -> Option<Option<Lang>> {
    LANGUAGES.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// Every code [`lookup`] knows, for error messages.
pub fn known_codes() -> Vec<&'static str> {
    LANGUAGES.iter().map(|(c, _)| *c).collect()
}

fn code_of(lang: Lang) -> Option<&'static str> {
    LANGUAGES.iter().find(|(_, l)| *l == Some(lang)).map(|(c, _)| *c)
}

/// Language detection restricted to an allow-list.
pub struct LanguageDetector {
    detector: Detector,
    allowed: Vec<String>,
}

impl LanguageDetector {
    /// `allowed` holds ISO 639-1 codes; unknown ones are ignored (config validates them).
    pub fn new(allowed: &[String]) -> LanguageDetector {
        let whatlangs: Vec<Lang> = allowed.iter().filter_map(|c| lookup(c).flatten()).collect();
        let detector = if whatlangs.is_empty() {
            Detector::new()
        } else {
            Detector::with_allowlist(whatlangs)
        };
        LanguageDetector {
            detector,
            allowed: allowed.to_vec(),
        }
    }

    /// The language code and a confidence in 0..=1 for `text`.
    pub fn detect(&self, text: &str, hint: Option<&str>) -> (String, f64) {
        if let Some(code) = hint.and_then(normalise_hint) {
            return (code.to_string(), 1.0);
        }
        let sample = sample(text);
        if sample.chars().filter(|c| c.is_alphabetic()).count() < MIN_LETTERS {
            return (UNDETERMINED.to_string(), 0.0);
        }
        if let Some(found) = self.by_script(sample) {
            return found;
        }
        match self.detector.detect(sample) {
            Some(info) if info.is_reliable() || info.confidence() >= MIN_CONFIDENCE => match code_of(info.lang()) {
                Some(code) => (code.to_string(), info.confidence()),
                None => (UNDETERMINED.to_string(), 0.0),
            },
            _ => (UNDETERMINED.to_string(), 0.0),
        }
    }

    /// Ethiopic script here is almost always Tigrinya (Eritreans are a large group of
    /// asylum seekers in the Netherlands); whatlang only knows Amharic for it.
    fn by_script(&self, sample: &str) -> Option<(String, f64)> {
        let script = whatlang::detect_script(sample)?;
        if script == Script::Ethiopic && self.allowed.iter().any(|c| c == "ti") {
            return Some(("ti".to_string(), 0.6));
        }
        None
    }
}

/// "nl-NL", "NL", "nl_BE" → "nl", if the daemon knows the language.
fn normalise_hint(hint: &str) -> Option<&'static str> {
    let primary = hint.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    LANGUAGES.iter().find(|(c, _)| *c == primary).map(|(c, _)| *c)
}

fn sample(text: &str) -> &str {
    if text.len() <= MAX_SAMPLE_BYTES {
        return text;
    }
    let mut cut = MAX_SAMPLE_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector() -> LanguageDetector {
        let codes: Vec<String> = ["nl", "en", "ar", "fa", "tr", "uk", "fr", "de", "so", "ti", "es", "ru"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        LanguageDetector::new(&codes)
    }

    #[test]
    fn detects_dutch_and_english() {
        let d = detector();
        assert_eq!(d.detect("Ik wacht al veertien maanden op een beslissing van de IND over mijn asielaanvraag.", None).0, "nl");
        assert_eq!(d.detect("I have been waiting fourteen months for a decision on my asylum application.", None).0, "en");
    }

    #[test]
    fn hint_wins_and_is_normalised() {
        assert_eq!(detector().detect("whatever text this is", Some("nl-NL")), ("nl".to_string(), 1.0));
    }

    #[test]
    fn unknown_hint_is_ignored() {
        let (lang, _) = detector().detect("Ik wacht al veertien maanden op een beslissing van de IND.", Some("xx"));
        assert_eq!(lang, "nl");
    }

    #[test]
    fn too_little_text_is_undetermined() {
        let d = detector();
        assert_eq!(d.detect("", None).0, "und");
        assert_eq!(d.detect("🙂🙂🙂 https://t.co/x", None).0, "und");
        assert_eq!(d.detect("ok ok", None).0, "und");
    }

    #[test]
    fn ethiopic_script_is_tigrinya() {
        assert_eq!(detector().detect("ኣብ ሆላንድ ንዑቕባ ዝሓተትኩ ካብ ዓመት ንላዕሊ ተጸቢየ ኣለኹ", None).0, "ti");
    }

    #[test]
    fn arabic_and_persian_are_told_apart() {
        let d = detector();
        assert_eq!(d.detect("انتظرت أكثر من سنة للحصول على قرار بشأن طلب اللجوء الخاص بي في هولندا", None).0, "ar");
        assert_eq!(d.detect("من بیش از یک سال است که منتظر تصمیم اداره مهاجرت درباره پناهندگی خودم هستم", None).0, "fa");
    }
}
