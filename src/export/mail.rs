//! The weekly report by e-mail: the HTML report is the message (with a plain-text
//! summary beside it), and the written files are attached — the CSV for a spreadsheet,
//! the PNG charts for slides, the HTML report to print or forward (mail programs often
//! leave out inline SVG, the attached page keeps it). It goes through the alert outbox,
//! so it is stored before it is sent and retried while the SMTP server is away.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::data::Report;
use super::week::IsoWeek;
use super::{labels, ExportError, Language, Request, Written};
use crate::alerts::mail::{queue_with_attachments, MailAttachment, Quote, QuoteShape};
use crate::state::StateDb;

/// The subject line: `Weekoverzicht webcare — week 47 (16–22 november 2026)`.
pub fn subject(report: &Report, lang: Language) -> String {
    let w = labels::words(lang);
    match report.week.parse::<IsoWeek>() {
        Ok(week) => format!(
            "{} — {} {} ({})",
            w.title,
            w.week.to_lowercase(),
            week.number(),
            labels::week_span(week, lang)
        ),
        Err(_) => format!("{} — {}", w.title, report.week),
    }
}

/// A few lines for mail programs that show no HTML.
pub fn plain_text(report: &Report, lang: Language) -> String {
    let w = labels::words(lang);
    let mut text = format!("{}\n\n", subject(report, lang));
    let before = report
        .current()
        .is_none_or(|week| week.history == super::data::History::Before);
    if before {
        text.push_str(w.before_history);
        text.push('\n');
    } else if report.is_empty_week() {
        text.push_str(w.empty_week);
        text.push('\n');
    } else {
        let c = &report.changes;
        let mark = |s: super::data::Significance| match s {
            super::data::Significance::Up => format!(" {}", w.significant_up),
            super::data::Significance::Down => format!(" {}", w.significant_down),
            super::data::Significance::None => String::new(),
        };
        let line = |name: &str, change: &super::data::Change| {
            // Nothing to compare with: the data's 0 for the week before is no count.
            if report.baseline_weeks == 0 {
                return format!("{name}: {} ({})\n", change.current, w.no_history);
            }
            format!(
                "{name}: {} ({} {}: {}{}; {} {}: {}{})\n",
                change.current,
                w.previous_week,
                change.previous,
                labels::percent(change.vs_previous_pct, lang),
                mark(change.vs_previous),
                w.mean,
                labels::number(change.mean, 2, lang),
                labels::percent(change.vs_mean_pct, lang),
                mark(change.vs_mean),
            )
        };
        text.push_str(&line(w.mentions, &c.mentions));
        text.push_str(&line(w.complaints, &c.complaints));
        if let Some(voices) = &c.complaint_voices {
            text.push_str(&line(w.voices, voices));
        }
        let example = report
            .top_complaints
            .first()
            .and_then(|top| top.examples.first());
        if let Some(example) = example {
            // In its own direction, as the HTML part quotes it.
            let quote = crate::alerts::mail::plain_quote(&example.text);
            text.push_str(&format!("\n{}: {quote}\n", w.recurring));
        }
    }
    text.push_str(&format!("\n{}\n", w.attached));
    text
}

/// The MIME type of an export file, by its extension; `None` for what is not attached
/// (the JSON is for programs, and the SVG when the PNG is there).
fn attachment_type(path: &Path, has_png: bool) -> Option<&'static str> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => Some("text/csv; charset=utf-8"),
        Some("html") => Some("text/html; charset=utf-8"),
        Some("png") => Some("image/png"),
        Some("svg") if !has_png => Some("image/svg+xml"),
        _ => None,
    }
}

/// Queues the report of `written` for `to`; returns the outbox id.
pub fn queue(
    state: &StateDb,
    to: &[String],
    written: &Written,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<i64, ExportError> {
    let lang = request.language;
    let report = &written.report;
    let html = super::html::render(report, &super::svg::charts(report, lang), lang);
    let has_png = written
        .files
        .iter()
        .any(|f| f.extension().is_some_and(|e| e == "png"));
    let mut attachments = Vec::new();
    for path in &written.files {
        let Some(content_type) = attachment_type(path, has_png) else {
            continue;
        };
        let body = std::fs::read(path).map_err(|source| ExportError::Write {
            path: path.clone(),
            source,
        })?;
        attachments.push(MailAttachment {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            content_type: content_type.to_string(),
            body,
        });
    }
    Ok(queue_with_attachments(
        state,
        to,
        &subject(report, lang),
        &plain_text(report, lang),
        &html,
        &quotes(report, lang),
        &attachments,
        now,
    )?)
}

/// The mentions the report quotes, as its message shows them: an erasure before the
/// message is sent, or while its copy is kept, takes them out.
fn quotes(report: &Report, lang: Language) -> Vec<Quote> {
    let examples = report
        .top_complaints
        .iter()
        .enumerate()
        .flat_map(|(c, complaint)| {
            complaint
                .examples
                .iter()
                .enumerate()
                .map(move |(e, q)| (c == 0 && e == 0, q))
        });
    examples
        .filter(|(_, q)| !q.id.is_empty())
        .map(|(in_text, q)| Quote {
            id: q.id.clone(),
            // The plain text quotes the first example only (see plain_text).
            text: if in_text {
                crate::alerts::mail::plain_quote(&q.text)
            } else {
                String::new()
            },
            html: super::html::example(q, lang),
            shape: QuoteShape::Block,
        })
        .collect()
}
