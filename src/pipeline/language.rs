//! Language of a mention: a platform or config hint wins; otherwise a cheap first pass
//! decides the clear cases, whatlang (restricted to the configured languages) the rest,
//! and `und` when neither is sure.
//!
//! The first pass: in Latin script, votes of common function words ("de het een" vs "the
//! and of"), which is both faster than trigrams and better on short posts, and covers
//! Somali, which whatlang lacks; in Cyrillic and Arabic script, letters only one of the
//! allowed languages uses (Ukrainian і ї є ґ, Russian ы э ъ ё; Persian پ چ ژ گ ک ی, Arabic
//! ة ي ك ى); Ethiopic script is Tigrinya.

use rustc_hash::FxHashMap;

use whatlang::{Detector, Lang, Script};

use super::extract::bounded;

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

/// Latin-script languages that people post in, that the allow-list usually leaves out,
/// and that whatlang restricted to it took for the nearest allowed language (see
/// [`LanguageDetector::by_whatlang`]).
const NEIGHBOURS: &[Lang] = &[
    Lang::Por,
    Lang::Ita,
    Lang::Pol,
    Lang::Afr,
    Lang::Swe,
    Lang::Dan,
    Lang::Nob,
];

/// Below this many letters a guess is worse than `und`.
const MIN_LETTERS: usize = 12;
/// whatlang's confidence from which an unreliable-flagged answer is still taken.
const MIN_CONFIDENCE: f64 = 0.5;
/// Script detection reads at most this many bytes.
const SCRIPT_SAMPLE_BYTES: usize = 160;
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
    LANGUAGES
        .iter()
        .find(|(_, l)| *l == Some(lang))
        .map(|(c, _)| *c)
}

/// Function words per Latin-script language, for the first pass.
const FUNCTION_WORDS: &[(&str, &[&str])] = &[
    (
        "nl",
        &[
            "de",
            "het",
            "een",
            "en",
            "van",
            "ik",
            "is",
            "niet",
            "op",
            "dat",
            "die",
            "te",
            "zijn",
            "voor",
            "met",
            "er",
            "maar",
            "om",
            "ook",
            "als",
            "bij",
            "nog",
            "wat",
            "mijn",
            "geen",
            "naar",
            "heb",
            "al",
            "wel",
            "deze",
            "dit",
            "je",
            "we",
            "wij",
            "ze",
            "hun",
            "hebben",
            "was",
            "werd",
            "kan",
            "moet",
            "zo",
            "omdat",
            "door",
            "over",
            "uit",
            "dan",
            "nu",
            "weer",
            "toch",
            "waarom",
            "hoe",
            "hij",
            "zij",
            "ons",
            "onze",
            "mij",
            "heeft",
            "wordt",
            "worden",
            "eindelijk",
            "niemand",
            "nooit",
            "iemand",
            "waar",
            "wachten",
            "wacht",
            "maanden",
            "jaar",
            "weken",
            // Shared with other lists below: a word of several languages votes for each,
            // so that it decides nothing between them ("in", "de", "en").
            "in",
        ],
    ),
    (
        "en",
        &[
            "the", "and", "of", "to", "a", "is", "that", "it", "for", "on", "with", "was", "my",
            "not", "this", "are", "i", "have", "be", "at", "but", "they", "no", "from", "you",
            "been", "has", "after", "about", "why", "still", "their", "our", "there", "what",
            "can", "will", "would", "had", "were", "we", "an", "or", "so", "just", "me", "got",
            "nobody", "never", "months", "waiting", "again", "how", "who", "does", "did", "your",
            "in",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "nicht", "ich", "mit", "von", "zu", "den", "dem",
            "ein", "eine", "auf", "für", "sich", "auch", "es", "wir", "sie", "war", "bei", "aus",
            "wie", "noch", "nach", "seit", "kein", "keine", "mein", "meine", "haben", "hat",
            "wurde", "einen", "einem", "oder", "aber", "warum", "schon", "in",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "et", "est", "des", "du", "un", "une", "je", "ne", "pas", "que",
            "qui", "dans", "pour", "sur", "avec", "mon", "ma", "mes", "nous", "vous", "il", "elle",
            "ce", "au", "aux", "son", "sa", "ont", "été", "plus", "depuis", "mais", "sont", "très",
            "j", "l", "d", "c", "qu", "n", "s", "de", "en", "a", "me", "si",
        ],
    ),
    (
        "es",
        &[
            "el", "los", "las", "y", "del", "una", "que", "no", "por", "para", "con", "mi", "mis",
            "se", "su", "lo", "muy", "pero", "nos", "nuestro", "hay", "desde", "fue", "está",
            "como", "es", "al", "sin", "más", "porque", "cuando", "también", "estoy", "tengo",
            "de", "en", "la", "a", "me", "si", "un",
        ],
    ),
    (
        "tr",
        // The last eight as a keyboard without the Turkish letters types them.
        &[
            "ve", "bir", "bu", "da", "için", "ile", "çok", "ama", "ne", "mi", "gibi", "daha",
            "ben", "benim", "biz", "var", "yok", "olarak", "sonra", "kadar", "hiç", "şu", "hala",
            "hâlâ", "değil", "oldu", "bana", "neden", "nasıl", "ay", "aydır", "bizim", "çünkü",
            "artık", "icin", "cok", "hic", "degil", "nasil", "aydir", "cunku", "artik",
        ],
    ),
    (
        "so",
        &[
            "iyo", "waa", "ka", "ku", "ee", "ayaa", "ah", "u", "oo", "aan", "uu", "ay", "waxay",
            "wuxuu", "si", "ma", "hadda", "iga", "ii", "igu", "laakiin", "kale", "waxaan", "qof",
            "ayaan", "ayay", "sidee", "weli", "wax", "la", "in", "ugu", "mar", "kasta",
        ],
    ),
];
/// Whether `word` (lower case) is a function word of one of the Latin-script languages
/// (for telling a lower-case name after "my name is" from the sentence going on).
pub fn is_function_word(word: &str) -> bool {
    FUNCTION_WORDS
        .iter()
        .any(|(_, words)| words.contains(&word))
}

/// Function words of Latin-script languages that people also post in but that the
/// allow-list usually leaves out, and that whatlang, restricted to the allow-list, gave
/// the nearest allowed language with high confidence (Portuguese as Spanish, Swedish as
/// German, Norwegian as Dutch, Polish as Spanish, Italian as French). They vote like
/// the others; where one of them wins, the post is `und` (unless the allow-list names
/// it). Only words that no allowed language writes as a word of its own: "da", "do",
/// "non", "con", "men", "kan" are left out.
const OUTSIDE_WORDS: &[(&str, &[&str])] = &[
    (
        "pt",
        &[
            "não", "uma", "com", "foi", "isso", "também", "você", "meu", "minha", "nós", "pelo",
            "pela", "ao", "são", "muito", "em", "ele", "ela", "eu", "seu", "sua", "quando",
            "ainda", "depois", "nao", "voce", "tambem", "um", "os", "há", "à", "aos", "às",
            "estou", "num", "numa", "pelos",
        ],
    ),
    (
        "it",
        &[
            "sono", "gli", "nel", "anche", "questo", "questa", "della", "alla", "delle", "degli",
            "stato", "molto", "più", "perché", "che", "hanno", "essere", "sulla", "dalla", "nella",
            "ancora", "dopo", "ho", "piu", "perche",
        ],
    ),
    (
        "sv",
        &[
            "och", "att", "det", "som", "för", "på", "är", "med", "av", "inte", "jag", "har",
            "ett", "eller", "från", "hade", "mycket", "när", "också", "vara", "så",
            // Danish and Norwegian, which share most of them: one vote, whichever of
            // the three a post is in.
            "og", "ikke", "jeg", "til", "mig", "vil", "ikkje", "meg", "hva", "hvor", "ble", "blev",
            "noget", "noe", "fordi", "også",
        ],
    ),
    (
        "pl",
        &[
            "się", "jest", "że", "jak", "tak", "dla", "czy", "jestem", "są", "już", "tylko",
            "przez", "bardzo", "jego", "mnie", "od", "sie", "juz",
        ],
    ),
];

// Votes are a bit set per word: at most sixteen voting languages.
const _: () = assert!(FUNCTION_WORDS.len() + OUTSIDE_WORDS.len() <= 16);

/// Words of Persian that Arabic does not write alone, as typed on an Arabic keyboard
/// (with ي and ك for ی and ک): is, (object marker), from, for, that, (verb prefixes),
/// one, has been, was, must, I am, I have, I do, did, very.
const PERSIAN_WORDS_IN_ARABIC_LETTERS: &[&str] = &[
    "است",
    "را",
    "از",
    "براي",
    "كه",
    "مي",
    "نمي",
    "هاي",
    "يك",
    "شده",
    "بود",
    "بايد",
    "هستم",
    "دارم",
    "ندارم",
    "كنم",
    "كرد",
    "كردم",
    "خيلي",
    "نيست",
];

/// Words only Arabic writes alone: in, on, to, about, this, which, who, not, was, that.
const ARABIC_WORDS: &[&str] = &[
    "في", "على", "الى", "إلى", "عن", "هذا", "هذه", "التي", "الذي", "لم", "لن", "كان", "أن",
];

/// Whether a text the letters took for Arabic (ي ك ى, no ة) is Persian typed on an
/// Arabic keyboard, which writes those for Persian ی and ک: two or more Persian words
/// of their own, and more of them than Arabic ones.
fn typed_on_an_arabic_keyboard(sample: &str) -> bool {
    if sample.contains('\u{0629}') {
        return false;
    }
    let (mut persian, mut arabic) = (0, 0);
    for word in sample
        .split(|c: char| !c.is_alphabetic())
        .take(MAX_VOTING_WORDS)
    {
        persian += usize::from(PERSIAN_WORDS_IN_ARABIC_LETTERS.contains(&word));
        arabic += usize::from(ARABIC_WORDS.contains(&word));
    }
    persian >= 2 && persian > arabic
}

/// Letters of Urdu (ٹ ڈ ڑ ں ے) and of Pashto (ټ ډ ړ) that Persian and Arabic do not
/// write (not Urdu's ھ, which some Arabic keyboards type for ه).
const URDU_LETTERS: &[char] = &[
    '\u{0679}', '\u{0688}', '\u{0691}', '\u{06ba}', '\u{06d2}', '\u{067c}', '\u{0689}', '\u{0693}',
];

/// The first pass answers when the best language has this many votes…
const MIN_VOTES: u32 = 2;
/// Cyrillic letters from which a text with neither Ukrainian nor Russian letters of its
/// own is taken for Russian ([`LanguageDetector::cyrillic`]).
const RUSSIAN_WITHOUT_MARKS: usize = 40;
/// …and at least this many times the votes of the runner-up.
const MIN_VOTE_RATIO: u32 = 2;
/// Words read for voting; more adds time and no certainty.
const MAX_VOTING_WORDS: usize = 80;

/// Language detection restricted to an allow-list.
pub struct LanguageDetector {
    detector: Detector,
    /// whatlang over the allow-list and its [`NEIGHBOURS`] outside it: what tells a
    /// post in one of those from one in the nearest allowed language (see
    /// [`Self::by_whatlang`]). `None` when the allow-list holds them all, or nothing.
    with_neighbours: Option<Detector>,
    allowed: Vec<String>,
    /// Function word → bit set of the voting languages (indexes into `voters`).
    function_words: FxHashMap<&'static str, u16>,
    voters: Vec<&'static str>,
}

impl LanguageDetector {
    /// The languages it answers (besides `und`): `[pipeline] languages`.
    pub fn allowed(&self) -> &[String] {
        &self.allowed
    }

    /// `allowed` holds ISO 639-1 codes; unknown ones are ignored (config validates them).
    pub fn new(allowed: &[String]) -> LanguageDetector {
        let whatlangs: Vec<Lang> = allowed.iter().filter_map(|c| lookup(c).flatten()).collect();
        let outside: Vec<Lang> = NEIGHBOURS
            .iter()
            .copied()
            .filter(|l| !whatlangs.contains(l))
            .collect();
        let with_neighbours = (!whatlangs.is_empty() && !outside.is_empty())
            .then(|| Detector::with_allowlist([whatlangs.clone(), outside].concat()));
        let detector = if whatlangs.is_empty() {
            Detector::new()
        } else {
            Detector::with_allowlist(whatlangs)
        };
        // The allowed languages vote, and those outside it, whose win is `und`.
        let outside = OUTSIDE_WORDS
            .iter()
            .filter(|(code, _)| !FUNCTION_WORDS.iter().any(|(c, _)| c == code));
        let voting: Vec<&(&'static str, &'static [&'static str])> = FUNCTION_WORDS
            .iter()
            .filter(|(code, _)| allowed.iter().any(|a| a == code))
            .chain(outside)
            .collect();
        let voters: Vec<&'static str> = voting.iter().map(|(code, _)| *code).collect();
        let mut function_words: FxHashMap<&'static str, u16> = FxHashMap::default();
        for (i, (_, words)) in voting.iter().enumerate() {
            for word in words.iter() {
                *function_words.entry(word).or_default() |= 1 << i;
            }
        }
        LanguageDetector {
            detector,
            with_neighbours,
            allowed: allowed.to_vec(),
            function_words,
            voters,
        }
    }

    fn allows(&self, code: &str) -> bool {
        self.allowed.iter().any(|a| a == code)
    }

    /// The language code and a confidence in 0..=1 for `text`.
    pub fn detect(&self, text: &str, hint: Option<&str>) -> (String, f64) {
        if let Some(code) = hint.and_then(normalise_hint) {
            // A hint names the language, but only those of the allow-list are kept.
            return if self.allows(code) {
                (code.to_string(), 1.0)
            } else {
                (UNDETERMINED.to_string(), 0.0)
            };
        }
        let sample = bounded(text, MAX_SAMPLE_BYTES);
        if !enough_letters(sample) {
            return (UNDETERMINED.to_string(), 0.0);
        }
        if let Some(found) = self.first_pass(sample) {
            return found;
        }
        self.by_whatlang(sample)
    }

    /// whatlang's answer where it is sure enough, else `und`; for a sample with
    /// [`enough_letters`].
    fn by_whatlang(&self, sample: &str) -> (String, f64) {
        // Restricted to the allow-list, whatlang names the nearest allowed language of a
        // post in another one, often sure of it (Portuguese as Spanish at 0.97): asked
        // with the neighbours too, a post it reliably puts among them is `und`. Where
        // that answer is unsure, the allow-list alone decides, as before. (Asked over
        // every language instead, it cost twice the instructions per post.)
        if let Some(info) = self.with_neighbours.as_ref().and_then(|d| d.detect(sample)) {
            let allowed = code_of(info.lang()).filter(|code| self.allows(code));
            match allowed {
                None if info.is_reliable() => return (UNDETERMINED.to_string(), 0.0),
                Some(code) if info.is_reliable() || info.confidence() >= MIN_CONFIDENCE => {
                    return (code.to_string(), info.confidence())
                }
                _ => {}
            }
        }
        match self.detector.detect(sample) {
            Some(info) if info.is_reliable() || info.confidence() >= MIN_CONFIDENCE => {
                match code_of(info.lang()) {
                    Some(code) => (code.to_string(), info.confidence()),
                    None => (UNDETERMINED.to_string(), 0.0),
                }
            }
            _ => (UNDETERMINED.to_string(), 0.0),
        }
    }

    /// The clear cases, decided cheaply; `None` leaves it to whatlang.
    fn first_pass(&self, sample: &str) -> Option<(String, f64)> {
        // The script of a post shows in its first few hundred bytes.
        match script_of(bounded(sample, SCRIPT_SAMPLE_BYTES))? {
            Script::Latin => match other_script_words(sample) {
                // Dutch words of the procedure in a post in another script ("gehoor
                // فردا، tolk نیست"): the post's language is that of its own words.
                Some(words) => Some(self.first_pass(&words).unwrap_or_else(|| {
                    if enough_letters(&words) {
                        self.by_whatlang(&words)
                    } else {
                        (UNDETERMINED.to_string(), 0.0)
                    }
                })),
                None => self.vote(sample),
            },
            Script::Cyrillic => self.cyrillic(sample),
            // Urdu (and Pashto) write letters Persian and Arabic do not: without them in
            // the allow-list, such a text is `und`, not the nearest allowed language.
            Script::Arabic
                if sample
                    .chars()
                    .filter(|c| URDU_LETTERS.contains(c))
                    .nth(1)
                    .is_some() =>
            {
                Some(if self.allows("ur") {
                    ("ur".to_string(), 0.8)
                } else {
                    (UNDETERMINED.to_string(), 0.0)
                })
            }
            Script::Arabic => match self.by_letters(
                sample,
                (
                    "fa",
                    &[
                        '\u{067e}', '\u{0686}', '\u{0698}', '\u{06af}', '\u{06a9}', '\u{06cc}',
                    ],
                ),
                ("ar", &['\u{0629}', '\u{064a}', '\u{0643}', '\u{0649}']),
            ) {
                Some((code, _)) if code == "ar" && typed_on_an_arabic_keyboard(sample) => {
                    self.allows("fa").then(|| ("fa".to_string(), 0.6))
                }
                decided => decided,
            },
            // Ethiopic script here is almost always Tigrinya (Eritreans are a large group
            // of asylum seekers in the Netherlands); whatlang only knows Amharic for it.
            Script::Ethiopic if self.allows("ti") => Some(("ti".to_string(), 0.6)),
            _ => None,
        }
    }

    /// Votes of function words; decided only with enough votes and a clear winner.
    fn vote(&self, sample: &str) -> Option<(String, f64)> {
        let mut votes = [0u32; 16];
        let mut word = String::with_capacity(16);
        for raw in sample
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .take(MAX_VOTING_WORDS)
        {
            word.clear();
            if raw.is_ascii() {
                // Most words: lower-cased without the Unicode tables.
                word.push_str(raw);
                word.make_ascii_lowercase();
            } else {
                word.extend(raw.chars().flat_map(char::to_lowercase));
            }
            if let Some(&langs) = self.function_words.get(word.as_str()) {
                for (i, vote) in votes.iter_mut().enumerate().take(self.voters.len()) {
                    *vote += u32::from(langs >> i & 1);
                }
            }
        }
        let (best, best_votes) = votes.iter().copied().enumerate().max_by_key(|(_, v)| *v)?;
        let runner_up = votes
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| *i != best)
            .map(|(_, v)| v)
            .max()
            .unwrap_or(0);
        if best_votes >= MIN_VOTES && best_votes >= MIN_VOTE_RATIO * runner_up.max(1) {
            let code = self.voters[best];
            if !self.allows(code) {
                // A language outside the allow-list: not the nearest allowed one.
                return Some((UNDETERMINED.to_string(), 0.0));
            }
            let confidence = 1.0 - f64::from(runner_up) / f64::from(best_votes);
            return Some((code.to_string(), confidence.max(0.5)));
        }
        None
    }

    /// Decides between two languages of one script by letters only one of them uses.
    fn by_letters(
        &self,
        sample: &str,
        a: (&str, &[char]),
        b: (&str, &[char]),
    ) -> Option<(String, f64)> {
        let count = |letters: &[char]| sample.chars().filter(|c| letters.contains(c)).count();
        let (na, nb) = (count(a.1), count(b.1));
        let pick = |code: &str| self.allows(code).then(|| (code.to_string(), 0.8));
        match (na, nb) {
            (x, 0) if x >= 2 => pick(a.0),
            (0, y) if y >= 2 => pick(b.0),
            _ => None,
        }
    }

    /// Ukrainian or Russian. Each writes letters the other never does (Ukrainian і ї є
    /// ґ; Russian ы э ъ ё), so one of them, without any of the other's, decides: a post
    /// in Russian that names "mijn IND" and an azc is too mixed for whatlang to be sure
    /// of, and it was `und`. With neither, a long text is Russian: і alone is about one
    /// Ukrainian letter in twenty, while Russian goes dozens of letters without its own
    /// (in 40 letters none of either is about seven times as likely in Russian).
    fn cyrillic(&self, sample: &str) -> Option<(String, f64)> {
        let (mut ukrainian, mut russian, mut letters) = (0usize, 0usize, 0usize);
        for c in sample.chars() {
            match c {
                'і' | 'ї' | 'є' | 'ґ' | 'І' | 'Ї' | 'Є' | 'Ґ' => ukrainian += 1,
                'ы' | 'э' | 'ъ' | 'ё' | 'Ы' | 'Э' | 'Ъ' | 'Ё' => russian += 1,
                _ => {}
            }
            letters += usize::from(('\u{0400}'..='\u{04ff}').contains(&c) && c.is_alphabetic());
        }
        let pick =
            |code: &str, confidence: f64| self.allows(code).then(|| (code.to_string(), confidence));
        match (ukrainian, russian) {
            (0, 0) if letters >= RUSSIAN_WITHOUT_MARKS => pick("ru", 0.6),
            (0, 0) => None,
            (u, 0) => pick("uk", if u >= 2 { 0.8 } else { 0.6 }),
            (0, r) => pick("ru", if r >= 2 { 0.8 } else { 0.6 }),
            // Both: a quote in the other language; whatlang weighs the whole.
            _ => None,
        }
    }
}

/// "nl-NL", "NL", "nl_BE" → "nl", if the daemon knows the language.
fn normalise_hint(hint: &str) -> Option<&'static str> {
    let primary = hint.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    LANGUAGES
        .iter()
        .find(|(c, _)| *c == primary)
        .map(|(c, _)| *c)
}

/// Whether `sample` has the letters a guess needs ([`MIN_LETTERS`]); stops counting as
/// soon as it has.
fn enough_letters(sample: &str) -> bool {
    sample
        .chars()
        .filter(|c| c.is_alphabetic())
        .nth(MIN_LETTERS - 1)
        .is_some()
}

/// The words of `sample` (mostly in Latin letters) in Arabic, Cyrillic or Ethiopic
/// script, in those letters only, where they hold at least a third of its letters: a
/// post code-switched into Dutch procedure words more than a Latin post quoting a word.
fn other_script_words(sample: &str) -> Option<String> {
    // The lead bytes of those scripts' letters in UTF-8: most Latin posts have none.
    if !sample
        .bytes()
        .any(|b| matches!(b, 0xD0..=0xD4 | 0xD8..=0xDD | 0xE1 | 0xEF))
    {
        return None;
    }
    let is_other = |c: char| matches!(c, '\u{0400}'..='\u{052f}' | '\u{0600}'..='\u{06ff}' | '\u{0750}'..='\u{077f}' | '\u{1200}'..='\u{139f}' | '\u{fb50}'..='\u{fdff}' | '\u{fe70}'..='\u{feff}');
    let (mut other, mut letters) = (0usize, 0usize);
    for c in sample.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        other += usize::from(is_other(c));
    }
    if other * 3 < letters {
        return None;
    }
    // Their letters alone, so that the script of what is judged is theirs.
    let words: Vec<String> = sample
        .split_whitespace()
        .map(|w| w.chars().filter(|&c| is_other(c)).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect();
    Some(words.join(" "))
}

/// The main script of `text`, as [`whatlang::detect_script`] says. Most posts start
/// in plain ASCII, where the answer is Latin if there is a letter at all: checked
/// without whatlang's count over 25 scripts for every character.
fn script_of(text: &str) -> Option<Script> {
    if text.is_ascii() {
        return text
            .bytes()
            .any(|b| b.is_ascii_alphabetic())
            .then_some(Script::Latin);
    }
    whatlang::detect_script(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_is_latin_as_whatlang_says() {
        for text in [
            "",
            "12:30 - 4/5 !!",
            "Wachten op de IND, 14 maanden",
            "x",
            "تلفن Ter Apel",
            "Ter Apel: التسجيل",
            "Ярмарка",
        ] {
            assert_eq!(script_of(text), whatlang::detect_script(text), "{text:?}");
        }
    }

    fn detector() -> LanguageDetector {
        let codes: Vec<String> = [
            "nl", "en", "ar", "fa", "tr", "uk", "fr", "de", "so", "ti", "es", "ru",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        LanguageDetector::new(&codes)
    }

    #[test]
    fn detects_dutch_and_english() {
        let d = detector();
        assert_eq!(d.detect("Ik wacht al veertien maanden op een beslissing van de IND over mijn asielaanvraag.", None).0, "nl");
        assert_eq!(
            d.detect(
                "I have been waiting fourteen months for a decision on my asylum application.",
                None
            )
            .0,
            "en"
        );
    }

    #[test]
    fn hint_wins_and_is_normalised() {
        assert_eq!(
            detector().detect("whatever text this is", Some("nl-NL")),
            ("nl".to_string(), 1.0)
        );
    }

    #[test]
    fn a_post_in_a_language_outside_the_allow_list_is_undetermined() {
        let d = detector();
        for text in [
            "Estou à espera da decisão do IND há mais de um ano, é uma vergonha para os requerentes de asilo.",
            "Ninguém do IND responde aos meus e-mails sobre o meu pedido de asilo.",
            "Aspetto la decisione dell'IND da più di un anno, è una vergogna per i richiedenti asilo.",
            "Jag har väntat på beslutet från IND i över ett år och ingen svarar på mina mejl.",
            "Jeg har ventet på svar fra IND i over et år, og ingen svarer på e-postene mine.",
            "Czekam na decyzję IND już ponad rok i nikt nie odpowiada na moje maile.",
        ] {
            assert_eq!(d.detect(text, None), ("und".to_string(), 0.0), "{text}");
        }
        // Allowed, it is named.
        let with_pt = LanguageDetector::new(&["pt".to_string(), "es".to_string()]);
        assert_eq!(
            with_pt
                .detect(
                    "Ninguém do IND responde aos meus e-mails sobre o meu pedido de asilo.",
                    None
                )
                .0,
            "pt"
        );
    }

    #[test]
    fn a_hint_outside_the_allow_list_is_undetermined() {
        let d = LanguageDetector::new(&["nl".to_string(), "en".to_string()]);
        assert_eq!(d.detect("Questo testo è italiano", Some("it")).0, "und");
        assert_eq!(d.detect("whatever", Some("pt-BR")).0, "und");
        assert_eq!(d.detect("whatever", Some("en-GB")).0, "en");
    }

    #[test]
    fn a_shared_function_word_decides_nothing_between_its_languages() {
        let d = detector();
        // "in" is Dutch, English, German and Somali: twice made these Somali.
        for text in [
            "Asielzoekers in Ter Apel slapen in tenten.",
            "Asylum seekers in Ter Apel sleeping in tents.",
        ] {
            assert_ne!(d.detect(text, None).0, "so", "{text}");
        }
        // "de" and "en" are Spanish and French as well as Dutch.
        let (lang, _) = d.detect(
            "Solicitud de asilo en España: la Policía Nacional tarda meses en dar cita.",
            None,
        );
        assert_eq!(lang, "es");
    }

    #[test]
    fn urdu_is_undetermined_unless_allowed() {
        let text = "میں نے ہالینڈ میں پناہ کی درخواست دی ہے اور ابھی تک کوئی جواب نہیں آیا۔";
        assert_eq!(detector().detect(text, None).0, "und");
        let with_urdu = LanguageDetector::new(&["fa".to_string(), "ur".to_string()]);
        assert_eq!(with_urdu.detect(text, None).0, "ur");
        // Persian stays Persian.
        let persian = "من در هلند درخواست پناهندگی داده‌ام و هنوز هیچ جوابی نگرفته‌ام.";
        assert_eq!(detector().detect(persian, None).0, "fa");
    }

    #[test]
    fn unknown_hint_is_ignored() {
        let (lang, _) = detector().detect(
            "Ik wacht al veertien maanden op een beslissing van de IND.",
            Some("xx"),
        );
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
    fn dutch_procedure_words_in_a_post_in_another_script_do_not_make_it_dutch() {
        let d = detector();
        for (text, expected) in [
            ("ጽባሕ gehoor እዩ፣ tolk የለን", "ti"),
            ("gehoor بكرة، tolk ما في", "ar"),
            // Too few of its own letters to tell: undetermined, not Dutch.
            ("gehoor فردا، tolk نیست", "und"),
            ("gehoor завтра, tolk нет", "und"),
        ] {
            assert_eq!(d.detect(text, None).0, expected, "{text}");
        }
        // A Dutch post quoting a word in another script stays Dutch.
        assert_eq!(
            d.detect(
                "Bij het gehoor in Ter Apel zei de tolk alleen شكرا en verder niets",
                None
            )
            .0,
            "nl"
        );
    }

    #[test]
    fn ethiopic_script_is_tigrinya() {
        assert_eq!(
            detector()
                .detect("ኣብ ሆላንድ ንዑቕባ ዝሓተትኩ ካብ ዓመት ንላዕሊ ተጸቢየ ኣለኹ", None)
                .0,
            "ti"
        );
    }

    #[test]
    fn ukrainian_and_russian_are_told_apart_in_posts_mixed_with_dutch() {
        let d = detector();
        for (text, expected) in [
            ("Через mijn IND наконец можно видеть статус дела, уже хорошо", "ru"),
            ("Мама, если читаешь: у меня всё хорошо, интервью перенесли", "ru"),
            ("Інтерв'ю в IND перенесли вже втретє, ми чекаємо в azc", "uk"),
            // Neither's letters, and long: Russian.
            ("ВНЖ забрать надо в Ден Босхе, запись через семь недель. А без пасса не берут на работу", "ru"),
        ] {
            assert_eq!(d.detect(text, None).0, expected, "{text}");
        }
        // Too short to tell without either's letters: left to whatlang, which may be unsure.
        assert_ne!(d.detect("Дякую волонтерам за допомогу", None).0, "ru");
    }

    #[test]
    fn turkish_typed_without_its_letters_is_turkish() {
        let d = detector();
        for text in [
            "Belgeleri IND'ye nasil gonderiyoruz? Avukat mi yapiyor yoksa biz mi?",
            "Itiraz icin avukata para odemem gerekiyor mu, yoksa devlet mi karsiliyor?",
            "Esim 9 aydir bekliyor, nareis dosyasi hala 'in behandeling', cocuklar artik sormuyor bile",
        ] {
            assert_eq!(d.detect(text, None).0, "tr", "{text}");
        }
    }

    #[test]
    fn arabic_and_persian_are_told_apart() {
        let d = detector();
        assert_eq!(
            d.detect(
                "انتظرت أكثر من سنة للحصول على قرار بشأن طلب اللجوء الخاص بي في هولندا",
                None
            )
            .0,
            "ar"
        );
        assert_eq!(
            d.detect(
                "من بیش از یک سال است که منتظر تصمیم اداره مهاجرت درباره پناهندگی خودم هستم",
                None
            )
            .0,
            "fa"
        );
        // Persian typed on an Arabic keyboard (ي and ك for ی and ک).
        assert_eq!(
            d.detect(
                "من يك سال است كه منتظر جواب اداره مهاجرت هستم و هنوز خبري نيست",
                None
            )
            .0,
            "fa"
        );
        // Arabic with those letters and no ة stays Arabic.
        assert_eq!(
            d.detect("انا في الكامب منذ سنتين ولم يتصل بي احد من المكتب", None)
                .0,
            "ar"
        );
    }
}
