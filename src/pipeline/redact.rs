//! Redaction: personal data in title and text replaced by typed placeholders before
//! anything is stored.
//!
//! The monitor is about patterns in the procedure, not about persons: contact details and
//! identifiers are of no use to it and of great risk to the people who posted them.
//! Runs as the first stage after tidying, so no later stage sees, stores or explains
//! itself with the originals. Checksums keep ordinary numbers: a BSN is only a BSN when it passes the
//! 11-check, an IBAN only with a valid mod-97; dates (12-03-2026), times (06:30), counts
//! (2.400) and years stay. Digits in any script count (`\d` is Unicode), so Arabic-Indic
//! and Persian numbers are caught too.

use regex::{Captures, Regex, RegexSet};

/// One kind of personal data and how to find it.
struct Pattern {
    placeholder: String,
    regex: Regex,
    /// Extra check on the match (checksums); `None` accepts every match.
    check: Option<fn(&str) -> bool>,
}

/// The compiled patterns, in the order they are applied (longest, most specific first).
pub struct Redactor {
    patterns: Vec<Pattern>,
    /// All patterns at once: one pass finds which ones need replacing at all.
    any: RegexSet,
    /// No configured patterns, which may match text without digits.
    only_built_in: bool,
}

/// A pattern from the configuration, added after the built-in ones.
#[derive(Debug, Clone)]
pub struct ExtraPattern {
    pub placeholder: String,
    pub regex: String,
}

// Word boundaries are ASCII (`(?-u:\b)`) and digits are `[0-9]`: a Unicode `\b` makes
// the regex engine leave its fast automata on any non-ASCII text (a third of ours), which
// cost 35 µs per mention. Numbers in Arabic-Indic and Persian digits have their own
// pattern, without boundaries.
const BUILT_IN: &[(&str, &str)] = &[
    ("[email]", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    // IBAN: country, check digits, then groups of up to four letters or digits.
    (
        "[iban]",
        r"(?-u:\b)[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?-u:\b)",
    ),
    // International numbers: + or 00 and a country code, then groups with spaces, dots
    // or dashes.
    (
        "[phone]",
        r"(?:\+|(?-u:\b)00)[0-9]{1,3}(?:[\s.-]?\(?[0-9]{1,4}\)?){1,2}(?:[\s.-]?[0-9]{2,4}){2,4}(?-u:\b)",
    ),
    // Dutch numbers: a leading 0 and nine more digits, grouped any way.
    ("[phone]", r"(?-u:\b)0(?:[\s.-]?[0-9]){9}(?-u:\b)"),
    // The same in Arabic-Indic or Persian digits.
    ("[phone]", r"[٠۰](?:[\s.-]?[٠-٩۰-۹]){9}"),
    // V-number (the foreigner's number): ten digits, with or without its label.
    ("[v-number]", r"(?-u:\b)[1-9][0-9]{9}(?-u:\b)"),
    // BSN: nine digits, possibly grouped; kept unless it passes the 11-check.
    (
        "[bsn]",
        r"(?-u:\b)[0-9]{3}[ .]?[0-9]{2,3}[ .]?[0-9]{3,4}(?-u:\b)",
    ),
    // A street and house number: "Dorpsstraat 12", "Molenweg 21a".
    (
        "[address]",
        r"(?-u:\b)[A-Z][a-zà-ÿ]+(?:straat|laan|weg|plein|gracht|kade|dijk|singel|dreef|hof|steeg|pad|markt|veld|baan|wal|dam|ring)\s[0-9]{1,4}(?:\s?[a-zA-Z])?(?-u:\b)",
    ),
    // A Dutch postcode: "9561 AB".
    ("[postcode]", r"(?-u:\b)[1-9][0-9]{3}\s?[A-Z]{2}(?-u:\b)"),
    // Dutch licence plates (the side codes with dashes).
    (
        "[plate]",
        r"(?-u:\b)(?:[A-Z]{2}-[0-9]{2}-[0-9]{2}|[0-9]{2}-[0-9]{2}-[A-Z]{2}|[0-9]{2}-[A-Z]{2}-[0-9]{2}|[A-Z]{2}-[0-9]{2}-[A-Z]{2}|[A-Z]{2}-[A-Z]{2}-[0-9]{2}|[0-9]{2}-[A-Z]{2}-[A-Z]{2}|[0-9]{2}-[A-Z]{3}-[0-9]|[0-9]-[A-Z]{3}-[0-9]{2}|[A-Z]{2}-[0-9]{3}-[A-Z]|[A-Z]-[0-9]{3}-[A-Z]{2}|[A-Z]{3}-[0-9]{2}-[A-Z]|[A-Z]-[0-9]{2}-[A-Z]{3}|[0-9]-[A-Z]{2}-[0-9]{3}|[0-9]{3}-[A-Z]{2}-[0-9])(?-u:\b)",
    ),
];

/// A configured pattern that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("redaction pattern {placeholder:?}: {message}")]
pub struct PatternError {
    pub placeholder: String,
    pub message: String,
}

impl Redactor {
    /// The built-in patterns plus `extra` ones.
    pub fn new(extra: &[ExtraPattern]) -> Result<Redactor, PatternError> {
        let mut patterns: Vec<Pattern> = BUILT_IN
            .iter()
            .map(|(placeholder, regex)| Pattern {
                placeholder: placeholder.to_string(),
                regex: Regex::new(regex).expect("built-in redaction patterns compile"),
                check: check_for(placeholder),
            })
            .collect();
        for p in extra {
            let regex = Regex::new(&p.regex).map_err(|e| PatternError {
                placeholder: p.placeholder.clone(),
                message: e.to_string(),
            })?;
            patterns.push(Pattern {
                placeholder: p.placeholder.clone(),
                regex,
                check: None,
            });
        }
        let any =
            RegexSet::new(patterns.iter().map(|p| p.regex.as_str())).map_err(|e| PatternError {
                placeholder: "(all)".into(),
                message: e.to_string(),
            })?;
        Ok(Redactor {
            patterns,
            any,
            only_built_in: extra.is_empty(),
        })
    }

    /// `text` with every piece of personal data replaced by its placeholder.
    pub fn redact(&self, text: &str) -> String {
        self.replace(text, |p| &p.placeholder)
    }

    /// `text` with every piece of personal data taken out (a space where it was): as
    /// the analysis reads a mention, where a placeholder's word ("phone", "email")
    /// would speak for an aspect the writer never mentioned.
    pub fn blank(&self, text: &str) -> String {
        self.replace(text, |_| " ")
    }

    fn replace(&self, text: &str, replacement: impl Fn(&Pattern) -> &str) -> String {
        // Every built-in pattern needs a digit or an @; most posts have neither.
        if self.only_built_in && !needs_a_look(text) {
            return text.to_string();
        }
        let found = self.any.matches(text);
        if !found.matched_any() {
            return text.to_string();
        }
        let mut out = text.to_string();
        for p in found.iter().map(|i| &self.patterns[i]) {
            out = p
                .regex
                .replace_all(&out, |c: &Captures| {
                    let found = &c[0];
                    match p.check {
                        Some(check) if !check(found) => found.to_string(),
                        _ => replacement(p).to_string(),
                    }
                })
                .into_owned();
        }
        out
    }
}

/// Whether `text` holds an @ or a digit (of any script).
fn needs_a_look(text: &str) -> bool {
    text.contains('@') || crate::pipeline::relevance::has_numeric(text)
}

fn check_for(placeholder: &str) -> Option<fn(&str) -> bool> {
    match placeholder {
        "[bsn]" => Some(is_bsn),
        "[iban]" => Some(is_iban),
        _ => None,
    }
}

fn digits(text: &str) -> Vec<u32> {
    text.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// The Dutch 11-check ("elfproef") for a BSN: nine digits, weights 9..2 and −1.
pub fn is_bsn(text: &str) -> bool {
    let d = digits(text);
    if d.len() != 9 || d.iter().all(|&x| x == 0) {
        return false;
    }
    let sum: i64 = d[..8]
        .iter()
        .zip((2..=9).rev())
        .map(|(&x, w)| i64::from(x) * w)
        .sum::<i64>()
        - i64::from(d[8]);
    sum % 11 == 0
}

/// ISO 13616 mod-97 check of an IBAN.
pub fn is_iban(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() < 15 || compact.len() > 34 {
        return false;
    }
    let rearranged = compact[4..].chars().chain(compact[..4].chars());
    let mut remainder: u32 = 0;
    for c in rearranged {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        let step = if value < 10 { 10 } else { 100 };
        remainder = (remainder * step + value) % 97;
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> String {
        Redactor::new(&[]).unwrap().redact(text)
    }

    #[test]
    fn a_digit_of_any_script_or_an_at_sign_is_looked_at() {
        for text in [
            "",
            "geen cijfers",
            "bel 06",
            "mail a@b",
            "تلفن ۰۹۱۲",
            "هاتف ٠٦",
            "½ uur",
            "ⅻ",
            "één",
            "وقت طويل",
            "Тернопіль",
        ] {
            let reference = text.chars().any(|c| c == '@' || c.is_numeric());
            assert_eq!(needs_a_look(text), reference, "{text:?}");
        }
    }

    #[test]
    fn personal_data_is_replaced_by_typed_placeholders() {
        for (input, expected) in [
            ("bel 06-12345678 of 0612345678", "bel [phone] of [phone]"),
            ("bel 06 1234 5678.", "bel [phone]."),
            ("+31 6 1234 5678 en +49 151 23456789", "[phone] en [phone]"),
            (
                "0031 6 12 34 56 78 of 0049-151-23456789",
                "[phone] of [phone]",
            ),
            ("vast: 020-1234567", "vast: [phone]"),
            ("اتصل ٠٦١٢٣٤٥٦٧٨ شكرا", "اتصل [phone] شكرا"),
            ("شماره ۰۶۸۷۶۵۴۳۲۱ است", "شماره [phone] است"),
            ("mail naam.achternaam+x@example.org nu", "mail [email] nu"),
            ("V-nummer 2612345678.", "V-nummer [v-number]."),
            ("BSN 111222333 en 123456782", "BSN [bsn] en [bsn]"),
            ("BSN 123.45.6782", "BSN [bsn]"),
            (
                "IBAN NL91ABNA0417164300 of NL91 ABNA 0417 1643 00",
                "IBAN [iban] of [iban]",
            ),
            ("Molenweg 21, 7811 KL Emmen", "[address], [postcode] Emmen"),
            (
                "busje met kenteken VK-204-G en 12-ABC-3",
                "busje met kenteken [plate] en [plate]",
            ),
        ] {
            assert_eq!(redact(input), expected, "{input}");
        }
    }

    #[test]
    fn ordinary_numbers_stay() {
        for text in [
            "Op 12-03-2026 om 06:30 stonden 2.400 asielzoekers in de rij.",
            "Sinds 2019, al 14 maanden, 3 kinderen, 250 euro.",
            "Zaaknummer 123456789 klopt niet met de elfproef.",
            "NL00ABNA0000000000 is geen geldig rekeningnummer.",
            "In 1.500 van de 11.000 zaken (13,6%) ging het mis.",
        ] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn checksums() {
        assert!(is_bsn("111222333") && is_bsn("123456782"));
        assert!(!is_bsn("123456789") && !is_bsn("000000000"));
        assert!(is_iban("NL91ABNA0417164300") && is_iban("NL20 INGB 0001 2345 67"));
        assert!(!is_iban("NL91ABNA0417164301"));
    }

    #[test]
    fn bad_extra_pattern_is_refused_naming_it() {
        let extra = [ExtraPattern {
            placeholder: "[case]".into(),
            regex: "(".into(),
        }];
        let err = Redactor::new(&extra).err().unwrap().to_string();
        assert!(err.contains("[case]"), "{err}");
    }
}
