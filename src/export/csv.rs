//! The report as CSV (RFC 4180: comma-separated, CRLF line ends, quotes only where
//! needed, UTF-8), one row per week × aspect × language, with a header row.
//!
//! Every (aspect, language) pair that occurs in any week of the export gets a row in
//! every week, zeros included, so that a pivot table or a chart over the weeks has no
//! holes. A mention with several aspects counts in each, so the rows of a week add up to
//! more than its mentions; mentions without an aspect are under aspect `none`. An
//! optional UTF-8 byte-order mark makes spreadsheet programs read "Oekraïens" and "één"
//! as such.

use super::data::Report;
use super::ExportError;

pub const HEADER: [&str; 7] = [
    "week",
    "week_start",
    "aspect",
    "language",
    "mentions",
    "complaints",
    "complaint_voices",
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

pub fn render(report: &Report, bom: bool) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice(BOM);
    }
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    writer.write_record(HEADER).map_err(failed)?;
    let pairs = pairs(report);
    for week in &report.weeks {
        // The local date of Monday: the start is written as 2026-11-16T00:00:00+01:00.
        let week_start = week.start.get(..10).unwrap_or(week.start.as_str());
        for (aspect, language) in &pairs {
            let tally = week
                .aspect_languages
                .get(aspect)
                .and_then(|by_language| by_language.get(language))
                .copied()
                .unwrap_or_default();
            let (mentions, complaints, voices) = (
                tally.mentions.to_string(),
                tally.complaints.to_string(),
                tally.complaint_voices.to_string(),
            );
            writer
                .write_record([
                    week.week.as_str(),
                    week_start,
                    aspect.as_str(),
                    language.as_str(),
                    mentions.as_str(),
                    complaints.as_str(),
                    voices.as_str(),
                ])
                .map_err(failed)?;
        }
    }
    writer.into_inner().map_err(failed)
}
