//! The report as CSV (RFC 4180: comma-separated, CRLF line ends, quotes only where
//! needed, UTF-8), with a header row and, per week, the totals and one row per aspect ×
//! language.
//!
//! `*` stands for all: the row `*,*` holds the week's totals (the report's summary),
//! `*,nl` a language's, `waiting_time,*` an aspect's; the rows after them split those
//! per aspect and language. Every (aspect, language) pair that occurs in any week of the
//! export gets a row in every week, zeros included, so that a pivot table or a chart
//! over the weeks has no holes. A mention with several aspects counts in each, so the
//! aspect rows of a week add up to more than its mentions, and voices never add up:
//! read totals from the `*` rows. Mentions without an aspect are under aspect `none`.
//! An optional UTF-8 byte-order mark makes spreadsheet programs read "Oekraïens" and
//! "één" as such; a `;` delimiter lets a spreadsheet set to Dutch split the columns.
//!
//! The last column, `history`, says whether the index holds the whole week (`whole`),
//! part of it (`partial`: its history begins within the week) or none of it (`before`:
//! the week ended before its oldest mention, or before the retention cut-off): the
//! zeros of a week `before` are for want of data, not of mentions.

use super::data::{Report, Tally};
use super::ExportError;

pub const HEADER: [&str; 8] = [
    "week",
    "week_start",
    "aspect",
    "language",
    "mentions",
    "complaints",
    "complaint_voices",
    "history",
];

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn failed(e: impl std::fmt::Display) -> ExportError {
    ExportError::Render {
        what: "CSV".into(),
        message: e.to_string(),
    }
}

/// The (aspect, language) pairs of any week: aspects in the taxonomy's order, languages
/// alphabetically.
fn pairs(report: &Report) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for aspect in report.aspects() {
        let mut languages: Vec<&String> = report
            .weeks
            .iter()
            .filter_map(|w| w.aspect_languages.get(&aspect))
            .flat_map(|by_language| by_language.keys())
            .collect();
        languages.sort();
        languages.dedup();
        for language in languages {
            out.push((aspect.clone(), language.clone()));
        }
    }
    out
}

/// What a row's aspect or language is when it stands for all of them.
pub const ALL: &str = "*";

pub fn render(report: &Report, bom: bool, delimiter: u8) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(BOM);
    }
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .delimiter(delimiter)
        .from_writer(out);
    writer.write_record(HEADER).map_err(failed)?;
    let pairs = pairs(report);
    let languages = report.languages();
    let aspects = report.aspects();
    for week in &report.weeks {
        // The local date of Monday: the start is written as 2026-11-16T00:00:00+01:00.
        let week_start = week.start.get(..10).unwrap_or(week.start.as_str());
        let totals = Tally {
            mentions: week.mentions,
            complaints: week.complaints,
            complaint_voices: week.complaint_voices,
        };
        let rows = std::iter::once((ALL, ALL, totals))
            .chain(languages.iter().map(|l| {
                let tally = week.languages.get(l).copied().unwrap_or_default();
                (ALL, l.as_str(), tally)
            }))
            .chain(aspects.iter().map(|a| {
                let tally = week.aspects.get(a).copied().unwrap_or_default();
                (a.as_str(), ALL, tally)
            }))
            .chain(pairs.iter().map(|(aspect, language)| {
                let tally = week
                    .aspect_languages
                    .get(aspect)
                    .and_then(|by_language| by_language.get(language))
                    .copied()
                    .unwrap_or_default();
                (aspect.as_str(), language.as_str(), tally)
            }));
        for (aspect, language, tally) in rows {
            let (mentions, complaints, voices) = (
                tally.mentions.to_string(),
                tally.complaints.to_string(),
                tally.complaint_voices.to_string(),
            );
            writer
                .write_record([
                    week.week.as_str(),
                    week_start,
                    aspect,
                    language,
                    mentions.as_str(),
                    complaints.as_str(),
                    voices.as_str(),
                    week.history.name(),
                ])
                .map_err(failed)?;
        }
    }
    writer.into_inner().map_err(failed)
}
