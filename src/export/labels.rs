//! The words of the report and the charts, in Dutch (the default) and English, and the
//! way numbers and dates are written in each. The data (CSV, JSON) uses ids, never these.

use chrono::{Datelike, NaiveDate};

use super::data::NO_ASPECT;
use super::week::IsoWeek;
use super::Language;
use crate::alerts::settings::MailLanguage;

/// Fixed phrases of the report.
pub struct Words {
    pub title: &'static str,
    pub week: &'static str,
    pub summary: &'static str,
    pub mentions: &'static str,
    pub complaints: &'static str,
    pub voices: &'static str,
    pub definitions: &'static str,
    pub empty_week: &'static str,
    /// The exported week ended before the index's history begins.
    pub before_history: &'static str,
    /// The index's history begins within the exported week.
    pub partial_history: &'static str,
    pub previous_week: &'static str,
    pub mean: &'static str,
    pub weeks: &'static str,
    pub vs_previous: &'static str,
    pub vs_mean: &'static str,
    pub significant_up: &'static str,
    pub significant_down: &'static str,
    pub no_history: &'static str,
    pub trends: &'static str,
    pub per_aspect: &'static str,
    pub per_language: &'static str,
    pub per_source: &'static str,
    pub aspect_chart: &'static str,
    pub language_chart: &'static str,
    pub axis_week: &'static str,
    pub axis_complaints: &'static str,
    pub no_data: &'static str,
    pub other: &'static str,
    pub aspect: &'static str,
    pub language: &'static str,
    pub source: &'static str,
    pub this_week: &'static str,
    pub change: &'static str,
    pub significance: &'static str,
    pub recurring: &'static str,
    pub recurring_note: &'static str,
    pub posted: &'static str,
    pub by_authors: &'static str,
    /// `by_authors` for one account.
    pub by_one_author: &'static str,
    pub by_feeds: &'static str,
    pub collection_check: &'static str,
    pub examples: &'static str,
    pub emerging: &'static str,
    pub emerging_note: &'static str,
    pub term: &'static str,
    pub expected: &'static str,
    pub none: &'static str,
    pub incidents: &'static str,
    pub opened: &'static str,
    pub updated: &'static str,
    pub closed: &'static str,
    pub peak: &'static str,
    pub method: &'static str,
    pub attached: &'static str,
}

const NL: Words = Words {
    title: "Weekoverzicht webcare",
    week: "Week",
    summary: "Samenvatting",
    mentions: "Meldingen",
    complaints: "Klachten",
    voices: "Stemmen met een klacht",
    definitions: "Meldingen zijn openbare berichten over de asielprocedure in de index. webcare bewaart alleen relevante berichten, dus ‘meldingen’ en ‘relevante meldingen’ zijn hetzelfde aantal. Een klacht is een melding waarin iemand zich beklaagt over de procedure. Stemmen tellen mensen, niet berichten: een reeks vrijwel gelijke berichten is één stem, en één auteur met veel klachten ook. Trends en significantie per aspect, taal en bron gaan over stemmen, zodat één bericht dat veel gedeeld wordt geen trend maakt.",
    empty_week: "Geen meldingen in deze week.",
    before_history: "Van deze week is niets bekend: de gegevens in de index beginnen later (bij de eerste melding, of waar de bewaartermijn begint). Een 0 in de bestanden betekent voor deze week ‘geen gegevens’, niet ‘geen meldingen’.",
    partial_history: "De gegevens in de index beginnen in deze week: de aantallen gaan over een deel ervan.",
    previous_week: "vorige week",
    mean: "gemiddelde",
    weeks: "weken",
    vs_previous: "t.o.v. vorige week",
    vs_mean: "t.o.v. het gemiddelde",
    significant_up: "▲ significant hoger",
    significant_down: "▼ significant lager",
    no_history: "nog geen eerdere weken om mee te vergelijken",
    trends: "Verloop",
    per_aspect: "Stemmen met een klacht, per aspect",
    per_language: "Stemmen met een klacht, per taal",
    per_source: "Stemmen met een klacht, per bron",
    aspect_chart: "Stemmen met een klacht per aspect, per week",
    language_chart: "Stemmen met een klacht per taal, per week",
    axis_week: "ISO-week",
    axis_complaints: "stemmen",
    no_data: "Geen gegevens",
    other: "overig",
    aspect: "Aspect",
    language: "Taal",
    source: "Bron",
    this_week: "Deze week",
    change: "Verandering",
    significance: "Significant",
    recurring: "Terugkerende klachten",
    recurring_note: "Klachten die vrijwel gelijk meer dan eens geplaatst zijn, door de meeste verschillende (gepseudonimiseerde) accounts eerst. Hoe vaak iets gedeeld wordt zegt hoe ver het reikt; als stem telt het één keer.",
    posted: "keer geplaatst",
    by_authors: "door {n} verschillende accounts",
    by_one_author: "door één account",
    by_feeds: "in nieuwsfeeds (zonder auteur)",
    collection_check: "De week ervoor waren er {previous} meldingen. Controleer of de bronnen nog werken (webcare sources of /api/sources) voordat u hier een daling in leest.",
    examples: "Voorbeelden (persoonsgegevens verwijderd)",
    emerging: "Opkomende woorden",
    emerging_note: "Woorden die deze week in opvallend veel klachten staan en die nog bij geen aspect horen.",
    term: "Woord",
    expected: "Verwacht",
    none: "Geen.",
    incidents: "Incidenten",
    opened: "Geopend",
    updated: "Bijgewerkt",
    closed: "Gesloten",
    peak: "piek",
    method: "Significant: de kans op deze verandering bij toeval (Poisson) is kleiner dan 1%, en het grootste van de twee aantallen is minstens 5.",
    attached: "Het rapport (HTML, om te printen of door te sturen), de grafieken en de gegevens (CSV) zitten in de bijlagen.",
};

const EN: Words = Words {
    title: "Weekly webcare report",
    week: "Week",
    summary: "Summary",
    mentions: "Mentions",
    complaints: "Complaints",
    voices: "Complaint voices",
    definitions: "Mentions are public posts about the asylum procedure in the index. webcare keeps only relevant posts, so ‘mentions’ and ‘relevant mentions’ are the same number. A complaint is a mention in which someone complains about the procedure. Voices count people, not posts: a run of near-identical posts is one voice, and so is one author with many complaints. Trends and significance per aspect, language and source are on voices, so that one widely shared post makes no trend.",
    empty_week: "No mentions this week.",
    before_history: "Nothing is known of this week: the index's data begin later (with its first mention, or where the retention period begins). A 0 in the files means ‘no data’ for this week, not ‘no mentions’.",
    partial_history: "The index's data begin within this week: its counts cover part of it.",
    previous_week: "previous week",
    mean: "mean",
    weeks: "weeks",
    vs_previous: "against the previous week",
    vs_mean: "against the mean",
    significant_up: "▲ significantly higher",
    significant_down: "▼ significantly lower",
    no_history: "no earlier weeks to compare with yet",
    trends: "Trends",
    per_aspect: "Complaint voices per aspect",
    per_language: "Complaint voices per language",
    per_source: "Complaint voices per source",
    aspect_chart: "Complaint voices per aspect, per week",
    language_chart: "Complaint voices per language, per week",
    axis_week: "ISO week",
    axis_complaints: "voices",
    no_data: "No data",
    other: "other",
    aspect: "Aspect",
    language: "Language",
    source: "Source",
    this_week: "This week",
    change: "Change",
    significance: "Significant",
    recurring: "Recurring complaints",
    recurring_note: "Complaints posted near-identically more than once, spread over the most different (pseudonymised) accounts first. How often something is shared says how far it reached; as a voice it counts once.",
    posted: "times posted",
    by_authors: "by {n} different accounts",
    by_one_author: "by one account",
    by_feeds: "in news feeds (no author)",
    collection_check: "The week before had {previous} mentions. Check that the sources still work (webcare sources or /api/sources) before reading a fall into this.",
    examples: "Examples (personal data removed)",
    emerging: "Emerging words",
    emerging_note: "Words found in remarkably many complaints this week that no aspect covers yet.",
    term: "Word",
    expected: "Expected",
    none: "None.",
    incidents: "Incidents",
    opened: "Opened",
    updated: "Updated",
    closed: "Closed",
    peak: "peak",
    method: "Significant: the chance of this change by accident (Poisson) is below 1%, and the larger of the two counts is at least 5.",
    attached: "The report (HTML, to print or forward), the charts and the data (CSV) are attached.",
};

pub fn words(lang: Language) -> &'static Words {
    match lang {
        Language::Nl => &NL,
        Language::En => &EN,
    }
}

/// The name of an aspect of the procedure.
pub fn aspect(id: &str, lang: Language) -> String {
    if id == NO_ASPECT {
        return match lang {
            Language::Nl => "geen aspect",
            Language::En => "no aspect",
        }
        .to_string();
    }
    let mail = match lang {
        Language::Nl => MailLanguage::Nl,
        Language::En => MailLanguage::En,
    };
    crate::alerts::mail::aspect_label(id, mail).to_string()
}

/// Languages by ISO 639-1 code: (code, Dutch, English).
const LANGUAGES: &[(&str, &str, &str)] = &[
    ("nl", "Nederlands", "Dutch"),
    ("en", "Engels", "English"),
    ("ar", "Arabisch", "Arabic"),
    ("fa", "Perzisch", "Persian"),
    ("tr", "Turks", "Turkish"),
    ("uk", "Oekraïens", "Ukrainian"),
    ("fr", "Frans", "French"),
    ("de", "Duits", "German"),
    ("so", "Somalisch", "Somali"),
    ("ti", "Tigrinya", "Tigrinya"),
    ("es", "Spaans", "Spanish"),
    ("ru", "Russisch", "Russian"),
    ("it", "Italiaans", "Italian"),
    ("pt", "Portugees", "Portuguese"),
    ("und", "onbepaald", "undetermined"),
];

/// The name of a language, or its code when it has none here.
pub fn language(code: &str, lang: Language) -> String {
    LANGUAGES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, nl, en)| match lang {
            Language::Nl => *nl,
            Language::En => *en,
        })
        .unwrap_or(code)
        .to_string()
}

const MONTHS_NL: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn month(d: NaiveDate, lang: Language) -> &'static str {
    let i = d.month0() as usize % 12;
    match lang {
        Language::Nl => MONTHS_NL[i],
        Language::En => MONTHS_EN[i],
    }
}

/// `16 november 2026` / `16 November 2026`.
pub fn date(d: NaiveDate, lang: Language) -> String {
    format!("{} {} {}", d.day(), month(d, lang), d.year())
}

/// `16–22 november 2026`, or `28 december 2026 – 3 januari 2027` across months.
pub fn week_span(week: IsoWeek, lang: Language) -> String {
    let (from, to) = (week.monday(), week.sunday());
    if from.month() == to.month() && from.year() == to.year() {
        format!(
            "{}–{} {} {}",
            from.day(),
            to.day(),
            month(to, lang),
            to.year()
        )
    } else if from.year() == to.year() {
        format!("{} {} – {}", from.day(), month(from, lang), date(to, lang))
    } else {
        format!("{} – {}", date(from, lang), date(to, lang))
    }
}

/// A number with `decimals` decimals, a decimal comma in Dutch.
pub fn number(x: f64, decimals: usize, lang: Language) -> String {
    let text = format!("{x:.decimals$}");
    match lang {
        Language::Nl => text.replace('.', ","),
        Language::En => text,
    }
}

/// A change in per cent with its sign (`+12,5%`), or `–` when there is nothing to
/// compare with.
pub fn percent(pct: Option<f64>, lang: Language) -> String {
    match pct {
        Some(p) if p > 0.0 => format!("+{}%", number(p, 1, lang)),
        Some(p) => format!("{}%", number(p, 1, lang)),
        None => "–".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_numbers_read_as_people_write_them() {
        let w: IsoWeek = "2026-W47".parse().unwrap();
        assert_eq!(week_span(w, Language::Nl), "16–22 november 2026");
        assert_eq!(week_span(w, Language::En), "16–22 November 2026");
        let w: IsoWeek = "2026-W53".parse().unwrap();
        assert_eq!(
            week_span(w, Language::Nl),
            "28 december 2026 – 3 januari 2027"
        );
        let w: IsoWeek = "2026-W44".parse().unwrap();
        assert_eq!(week_span(w, Language::En), "26 October – 1 November 2026");
        assert_eq!(number(1.75, 2, Language::Nl), "1,75");
        assert_eq!(percent(Some(400.0), Language::Nl), "+400,0%");
        assert_eq!(percent(Some(-12.5), Language::En), "-12.5%");
        assert_eq!(percent(None, Language::En), "–");
        assert_eq!(aspect("interpreter", Language::Nl), "tolk");
        assert_eq!(aspect("none", Language::En), "no aspect");
        assert_eq!(language("uk", Language::Nl), "Oekraïens");
        assert_eq!(language("xx", Language::Nl), "xx");
    }
}
