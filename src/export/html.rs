//! The report as one self-contained HTML page: styles inline, charts inline as SVG, no
//! scripts, no fonts or images to fetch — it can be mailed, forwarded, opened offline
//! and printed on A4 as it is. Dutch by default, English on request.
//!
//! Every piece of text from the data (quotes, source names, words, permalinks) is
//! escaped, and only `http(s)` permalinks become links: a feed that sends
//! `javascript:` gets its text shown, not run.

use std::collections::BTreeMap;

use chrono::DateTime;

use super::data::{aspect_order, Change, History, Quote, Report, Significance, NO_ASPECT};
use super::labels::{self, Words};
use super::svg::{escape, Charts};
use super::week::IsoWeek;
use super::Language;

const STYLE: &str = r#"
@page { size: A4; margin: 14mm 13mm 16mm 13mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 10pt; line-height: 1.45;
       color: #111; background: #fff; max-width: 186mm; margin: 0 auto; padding: 10mm 6mm; }
h1 { font-size: 19pt; margin: 0 0 1mm; }
h2 { font-size: 13pt; margin: 8mm 0 2mm; padding-bottom: 1mm; border-bottom: 1.5px solid #444;
     break-after: avoid; page-break-after: avoid; }
h3 { font-size: 11pt; margin: 4mm 0 1mm; break-after: avoid; page-break-after: avoid; }
p { margin: 1.5mm 0; }
.meta { color: #444; font-size: 11pt; margin-bottom: 4mm; }
.note, .muted { color: #444; font-size: 9pt; }
.empty { font-size: 14pt; font-weight: bold; margin: 8mm 0; padding: 5mm; border: 2px solid #444; }
.warning { font-weight: bold; padding: 3mm; border-left: 4px solid #a00; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 3mm; font-size: 9pt; }
th, td { text-align: left; vertical-align: top; padding: 1.2mm 1.5mm; border-bottom: 1px solid #bbb; }
th { border-bottom: 1.5px solid #444; font-weight: bold; }
.n { text-align: right; font-variant-numeric: tabular-nums; }
tr { break-inside: avoid; page-break-inside: avoid; }
.sig { font-weight: bold; }
figure { margin: 3mm 0 5mm; break-inside: avoid; page-break-inside: avoid; }
figure svg { display: block; width: 100%; height: auto; }
ol.recurring > li { margin-bottom: 4mm; break-inside: avoid; page-break-inside: avoid; }
blockquote { margin: 1.5mm 0 1.5mm 2mm; padding: 0.5mm 0 0.5mm 3mm; border-left: 3px solid #777; }
.source { color: #444; font-size: 8.5pt; }
a { color: #0b4f8a; overflow-wrap: anywhere; }
footer { margin-top: 8mm; padding-top: 2mm; border-top: 1px solid #bbb; color: #444; font-size: 8.5pt; }
@media print {
  body { max-width: none; padding: 0; }
  a { color: #111; }
}
"#;

/// The report page.
pub fn render(report: &Report, charts: &Charts, lang: Language) -> String {
    let w = labels::words(lang);
    let mut html = String::new();
    head(&mut html, report, lang, w);
    let history = report
        .current()
        .map_or(History::Before, |week| week.history);
    if history == History::Before {
        // Its zeros are for want of data: no "no mentions", no summary of them.
        html.push_str(&format!(
            "<p class=\"warning\">{}</p>\n",
            escape(w.before_history)
        ));
    } else if report.is_empty_week() {
        html.push_str(&format!(
            "<p class=\"empty\">{}</p>\n",
            escape(w.empty_week)
        ));
        // A listening service that hears nothing after a busy week has more often lost
        // its sources than found a quiet week.
        let previous = report.changes.mentions.previous;
        if previous >= super::data::MIN_COUNT {
            html.push_str(&format!(
                "<p class=\"warning\">{}</p>\n",
                escape(
                    &w.collection_check
                        .replace("{previous}", &previous.to_string())
                )
            ));
        }
    }
    if history == History::Partial {
        html.push_str(&format!(
            "<p class=\"note\">{}</p>\n",
            escape(w.partial_history)
        ));
    }
    if history != History::Before {
        summary(&mut html, report, lang, w);
    }
    html.push_str(&format!(
        "<p class=\"note\">{}</p>\n",
        escape(w.definitions)
    ));
    html.push_str(&format!(
        "<h2>{}</h2>\n<figure>\n{}</figure>\n<figure>\n{}</figure>\n",
        escape(w.trends),
        charts.aspects,
        charts.languages
    ));
    if !report.is_empty_week() {
        groups(&mut html, report, lang, w);
        recurring(&mut html, report, lang, w);
        emerging(&mut html, report, lang, w);
    }
    incidents(&mut html, report, lang, w);
    html.push_str(&format!(
        "<footer><p>{}</p><p>webcare · {} · {} · {}</p></footer>\n</body>\n</html>\n",
        escape(w.method),
        escape(&report.week),
        escape(&report.time_zone),
        escape(&report.schema)
    ));
    html
}

fn capital(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

fn head(html: &mut String, report: &Report, lang: Language, w: &Words) {
    let week: Option<IsoWeek> = report.week.parse().ok();
    let span = week
        .map(|wk| labels::week_span(wk, lang))
        .unwrap_or_default();
    let number = week.map_or_else(|| report.week.clone(), |wk| wk.number().to_string());
    let title = format!("{} — {} {number}", w.title, w.week);
    html.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} ({})</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>{}</h1>\n<p class=\"meta\">{} · {} · {}</p>\n</header>\n",
        lang.as_str(),
        escape(&title),
        escape(&report.week),
        escape(&title),
        escape(&report.week),
        escape(&span),
        escape(&report.time_zone),
    ));
}

/// A change against a reference, with its significance in words (not only a colour).
fn change_cell(pct: Option<f64>, significance: Significance, lang: Language, w: &Words) -> String {
    let mut cell = escape(&labels::percent(pct, lang));
    match significance {
        Significance::Up => cell.push_str(&format!(
            " <span class=\"sig\">{}</span>",
            escape(w.significant_up)
        )),
        Significance::Down => cell.push_str(&format!(
            " <span class=\"sig\">{}</span>",
            escape(w.significant_down)
        )),
        Significance::None => {}
    }
    cell
}

fn change_header(first: &str, report: &Report, w: &Words) -> String {
    format!(
        "<tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th>\
         <th class=\"n\">{} ({} {})</th><th class=\"n\">{}</th></tr>\n",
        escape(first),
        escape(w.this_week),
        escape(&capital(w.previous_week)),
        escape(&capital(w.vs_previous)),
        escape(&capital(w.mean)),
        report.baseline_weeks,
        escape(w.weeks),
        escape(&capital(w.vs_mean)),
    )
}

fn change_row(label: &str, c: &Change, report: &Report, lang: Language, w: &Words) -> String {
    let (mean, vs_mean) = if report.baseline_weeks == 0 {
        ("–".to_string(), "–".to_string())
    } else {
        (
            labels::number(c.mean, 2, lang),
            change_cell(c.vs_mean_pct, c.vs_mean, lang, w),
        )
    };
    // Without baseline weeks the week before is not compared with (it lies before the
    // history or is only partly held): its 0 in the data is a placeholder, no count.
    let (previous, vs_previous) = if report.baseline_weeks == 0 {
        ("–".to_string(), "–".to_string())
    } else {
        (
            c.previous.to_string(),
            change_cell(c.vs_previous_pct, c.vs_previous, lang, w),
        )
    };
    format!(
        "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{previous}</td><td class=\"n\">{vs_previous}</td>\
         <td class=\"n\">{}</td><td class=\"n\">{vs_mean}</td></tr>\n",
        escape(label),
        c.current,
        escape(&mean),
    )
}

fn summary(html: &mut String, report: &Report, lang: Language, w: &Words) {
    html.push_str(&format!(
        "<h2>{}</h2>\n<table class=\"summary\">\n",
        escape(w.summary)
    ));
    html.push_str(&change_header("", report, w));
    html.push_str(&change_row(
        w.mentions,
        &report.changes.mentions,
        report,
        lang,
        w,
    ));
    html.push_str(&change_row(
        w.complaints,
        &report.changes.complaints,
        report,
        lang,
        w,
    ));
    if let Some(voices) = &report.changes.complaint_voices {
        html.push_str(&change_row(w.voices, voices, report, lang, w));
    }
    html.push_str("</table>\n");
    if report.baseline_weeks == 0 {
        html.push_str(&format!(
            "<p class=\"note\">{}</p>\n",
            escape(&capital(w.no_history))
        ));
    }
}

/// Rows worth showing: something this week, last week or on average.
fn shown(c: &Change) -> bool {
    c.current > 0 || c.previous > 0 || c.mean > 0.0
}

fn groups(html: &mut String, report: &Report, lang: Language, w: &Words) {
    let changes = &report.changes;
    let aspects = aspect_order(changes.aspects.keys().map(String::as_str));
    let rows: Vec<(String, &Change)> = aspects
        .iter()
        .filter_map(|a| Some((labels::aspect(a, lang), changes.aspects.get(a)?)))
        .filter(|(_, c)| shown(c))
        .collect();
    table(html, w.per_aspect, w.aspect, &rows, report, lang, w);
    let languages = by_count(&changes.languages, &|code| labels::language(code, lang));
    table(
        html,
        w.per_language,
        w.language,
        &languages,
        report,
        lang,
        w,
    );
    let sources = by_count(&changes.sources, &|name| name.to_string());
    table(html, w.per_source, w.source, &sources, report, lang, w);
}

/// The rows of a group with something to show, most complaints this week first.
fn by_count<'a>(
    group: &'a BTreeMap<String, Change>,
    name: &dyn Fn(&str) -> String,
) -> Vec<(String, &'a Change)> {
    let mut rows: Vec<(String, &Change)> = group
        .iter()
        .filter(|(_, c)| shown(c))
        .map(|(k, c)| (name(k), c))
        .collect();
    rows.sort_by(|a, b| b.1.current.cmp(&a.1.current).then_with(|| a.0.cmp(&b.0)));
    rows
}

fn table(
    html: &mut String,
    title: &str,
    first: &str,
    rows: &[(String, &Change)],
    report: &Report,
    lang: Language,
    w: &Words,
) {
    html.push_str(&format!("<h2>{}</h2>\n", escape(title)));
    if rows.is_empty() {
        html.push_str(&format!("<p>{}</p>\n", escape(w.none)));
        return;
    }
    html.push_str("<table>\n");
    html.push_str(&change_header(first, report, w));
    for (label, change) in rows {
        html.push_str(&change_row(label, change, report, lang, w));
    }
    html.push_str("</table>\n");
}

/// A permalink as a link when it is http(s), else as text.
fn permalink(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!("<a href=\"{0}\">{0}</a>", escape(url))
    } else {
        escape(url)
    }
}

fn local_date(rfc3339: &str, lang: Language) -> String {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| labels::date(t.date_naive(), lang))
        .unwrap_or_else(|_| rfc3339.to_string())
}

fn recurring(html: &mut String, report: &Report, lang: Language, w: &Words) {
    html.push_str(&format!(
        "<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
        escape(w.recurring),
        escape(w.recurring_note)
    ));
    if report.top_complaints.is_empty() {
        html.push_str(&format!("<p>{}</p>\n", escape(w.none)));
        return;
    }
    html.push_str("<ol class=\"recurring\">\n");
    for c in &report.top_complaints {
        let aspects: Vec<String> = if c.aspects.is_empty() {
            vec![labels::aspect(NO_ASPECT, lang)]
        } else {
            c.aspects.iter().map(|a| labels::aspect(a, lang)).collect()
        };
        let spread = match c.authors {
            0 => w.by_feeds.to_string(),
            1 => w.by_one_author.to_string(),
            n => w.by_authors.replace("{n}", &n.to_string()),
        };
        html.push_str(&format!(
            "<li><p><strong>{}</strong> — {} {} {}</p>\n<p class=\"muted\">{}</p>\n",
            escape(&capital(&aspects.join(", "))),
            c.mentions,
            escape(w.posted),
            escape(&spread),
            escape(w.examples)
        ));
        for q in &c.examples {
            html.push_str(&example(q, lang));
        }
        html.push_str("</li>\n");
    }
    html.push_str("</ol>\n");
}

/// A quote as the report shows it. It carries the mention's id, by which an erasure
/// finds it in a report already written ([`super::erase`]).
pub fn example(q: &Quote, lang: Language) -> String {
    let link = q.url.as_deref().map(permalink).unwrap_or_default();
    format!(
        "<blockquote data-mention=\"{}\" dir=\"{}\" lang=\"{}\">{}<br><span class=\"source\" dir=\"ltr\" lang=\"{}\">{} · {} · {}</span> {link}</blockquote>\n",
        escape(&q.id),
        crate::alerts::mail::direction(&q.text),
        escape(&q.lang),
        escape(&q.text),
        lang.as_str(),
        escape(&q.source),
        escape(&labels::language(&q.lang, lang)),
        escape(&local_date(&q.published, lang)),
    )
}

fn emerging(html: &mut String, report: &Report, lang: Language, w: &Words) {
    html.push_str(&format!(
        "<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
        escape(w.emerging),
        escape(w.emerging_note)
    ));
    if report.emerging_terms.is_empty() {
        html.push_str(&format!("<p>{}</p>\n", escape(w.none)));
        return;
    }
    html.push_str(&format!(
        "<table>\n<tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr>\n",
        escape(w.term),
        escape(w.voices),
        escape(w.expected)
    ));
    for t in &report.emerging_terms {
        html.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            escape(&t.term),
            t.voices,
            escape(&labels::number(t.expected, 1, lang))
        ));
    }
    html.push_str("</table>\n");
}

/// An incident's subject: the aspect (and facet) or the word.
fn incident_subject(kind: &str, key: &str, lang: Language) -> String {
    if kind == "term" {
        return format!("“{key}”");
    }
    match crate::alerts::counts::key_parts(key) {
        (aspect, _, Some(value)) => format!("{} ({value})", labels::aspect(aspect, lang)),
        (aspect, _, None) => labels::aspect(aspect, lang),
    }
}

fn incidents(html: &mut String, report: &Report, lang: Language, w: &Words) {
    html.push_str(&format!("<h2>{}</h2>\n", escape(w.incidents)));
    let lists = [
        (w.opened, &report.incidents.opened),
        (w.updated, &report.incidents.updated),
        (w.closed, &report.incidents.closed),
    ];
    if lists.iter().all(|(_, list)| list.is_empty()) {
        html.push_str(&format!("<p>{}</p>\n", escape(w.none)));
        return;
    }
    for (title, list) in lists {
        if list.is_empty() {
            continue;
        }
        html.push_str(&format!("<h3>{}</h3>\n<ul>\n", escape(title)));
        for i in list {
            let terms = if i.top_terms.is_empty() {
                String::new()
            } else {
                format!(" · {}", i.top_terms.join(", "))
            };
            html.push_str(&format!(
                "<li>#{} {} — {} {}, {}{}</li>\n",
                i.id,
                escape(&capital(&incident_subject(&i.kind, &i.key, lang))),
                escape(w.peak),
                i.peak,
                escape(&local_date(&i.opened, lang)),
                escape(&terms)
            ));
        }
        html.push_str("</ul>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_permalinks_become_links() {
        assert_eq!(
            permalink("https://forum.example/t/1?a=1&b=2"),
            "<a href=\"https://forum.example/t/1?a=1&amp;b=2\">https://forum.example/t/1?a=1&amp;b=2</a>"
        );
        assert_eq!(permalink("javascript:alert(1)"), "javascript:alert(1)");
        assert_eq!(permalink("JaVaScRiPt:\"x\""), "JaVaScRiPt:&quot;x&quot;");
    }

    #[test]
    fn capitals_and_subjects() {
        assert_eq!(capital("über"), "Über");
        assert_eq!(capital(""), "");
        assert_eq!(
            incident_subject("aspect", "interpreter@forum", Language::Nl),
            "tolk (forum)"
        );
        assert_eq!(
            incident_subject("term", "afsprakenapp", Language::En),
            "“afsprakenapp”"
        );
    }
}
