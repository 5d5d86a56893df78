//! The two charts, as hand-written SVG: complaint voices per aspect as trend lines
//! over the weeks, and complaint voices per language as bars side by side (voices: a
//! repost wave is one, as in the tables; not stacked, as voices do not add up over
//! languages: one person writing in two is a voice in each).
//!
//! Made to survive a greyscale printer and colour-blind readers: each line has its own
//! dash pattern and marker as well as its colour (Okabe–Ito first), each bar segment its
//! own hatching; every series is named in a legend. Every series is a `<g>` with a
//! `data-series` attribute (the aspect id or language code), and so is each of its
//! `<polyline>`s and `<rect>`s, for tools and tests. All text is escaped; the font
//! stack ends in `sans-serif`, so the PNG renderer finds a font on any system.

use std::fmt::Write;

use super::data::Report;
use super::labels::{self, Words};
use super::Language;

const WIDTH: f64 = 880.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 64.0;
/// Room for the legend.
const RIGHT: f64 = 210.0;
const TOP: f64 = 52.0;
const BOTTOM: f64 = 64.0;
const FONT: &str = "DejaVu Sans, Arial, Helvetica, sans-serif";
/// Languages shown on their own in the bars; the rest are summed as "other".
const MAX_LANGUAGES: usize = 7;
/// The series key of that sum.
pub const OTHER: &str = "other";

/// Okabe–Ito (safe for colour blindness), then Tol's muted tones.
const COLOURS: [&str; 12] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255",
    "#44AA99", "#999933", "#AA4499", "#666666",
];
/// Dash patterns (stroke-dasharray; empty is solid).
const DASHES: [&str; 6] = ["", "9 4", "2 3", "9 3 2 3", "14 4", "5 5"];

/// Both charts of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Charts {
    pub aspects: String,
    pub languages: String,
}

impl Charts {
    /// In the order of [`super::CHARTS`].
    pub fn all(&self) -> [&str; 2] {
        [self.aspects.as_str(), self.languages.as_str()]
    }
}

pub fn charts(report: &Report, lang: Language) -> Charts {
    Charts {
        aspects: aspect_trends(report, lang),
        languages: language_bars(report, lang),
    }
}

/// Text made safe for XML content and attribute values (the one escaping of the
/// project, shared with the API and the mails).
pub use crate::pipeline::extract::escape_markup as escape;

/// A top for the value axis and the step between its ticks: 1, 2 or 5 times a power
/// of ten, about five ticks, whole numbers (these are counts).
fn axis(max: u64) -> (f64, f64) {
    let max = (max as f64).max(1.0);
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
        .max(1.0)
        .round();
    ((max / step).ceil() * step, step)
}

struct Plot {
    weeks: Vec<String>,
    top: f64,
    step: f64,
}

impl Plot {
    fn width(&self) -> f64 {
        WIDTH - LEFT - RIGHT
    }

    fn height(&self) -> f64 {
        HEIGHT - TOP - BOTTOM
    }

    /// The centre of week `i`'s slot.
    fn x(&self, i: usize) -> f64 {
        let slot = self.width() / self.weeks.len().max(1) as f64;
        LEFT + slot * (i as f64 + 0.5)
    }

    fn slot(&self) -> f64 {
        self.width() / self.weeks.len().max(1) as f64
    }

    fn y(&self, value: f64) -> f64 {
        TOP + self.height() - value / self.top * self.height()
    }
}

fn open(out: &mut String, title: &str, id: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{t}\" data-chart=\"{id}\" \
         font-family=\"{FONT}\" font-size=\"12\">\n<title>{t}</title>\n\
         <rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n\
         <text x=\"{LEFT}\" y=\"28\" font-size=\"16\" font-weight=\"bold\" fill=\"#111111\">{t}</text>\n",
        t = escape(title),
    );
}

/// Grid, value ticks, week labels and axis titles.
fn frame(out: &mut String, plot: &Plot, words: &Words) {
    let right = LEFT + plot.width();
    let mut value = 0.0;
    while value <= plot.top + 1e-9 {
        let y = plot.y(value);
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{right:.1}\" y2=\"{y:.1}\" stroke=\"#dddddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#333333\">{value}</text>",
            LEFT - 6.0,
            y + 4.0,
        );
        value += plot.step;
    }
    let bottom = TOP + plot.height();
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{bottom:.1}\" x2=\"{right:.1}\" y2=\"{bottom:.1}\" stroke=\"#333333\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{bottom:.1}\" stroke=\"#333333\"/>"
    );
    // Every week labelled up to 13 weeks; beyond, every n-th (and always the last).
    let every = plot.weeks.len().div_ceil(13).max(1);
    for (i, week) in plot.weeks.iter().enumerate() {
        if !i.is_multiple_of(every) && i + 1 != plot.weeks.len() {
            continue;
        }
        let label = week.split_once('-').map_or(week.as_str(), |(_, w)| w);
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333333\">{}</text>",
            plot.x(i),
            bottom + 18.0,
            escape(label)
        );
    }
    let (first, last) = (
        plot.weeks.first().map_or("", String::as_str),
        plot.weeks.last().map_or("", String::as_str),
    );
    let span = if first == last {
        first.to_string()
    } else {
        format!("{first} – {last}")
    };
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333333\">{} ({})</text>\
         <text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\" fill=\"#333333\">{}</text>",
        LEFT + plot.width() / 2.0,
        bottom + 42.0,
        escape(words.axis_week),
        escape(&span),
        TOP + plot.height() / 2.0,
        escape(words.axis_complaints),
    );
}

fn no_data(out: &mut String, plot: &Plot, words: &Words) {
    let _ = writeln!(
        out,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"16\" fill=\"#555555\">{}</text>",
        LEFT + plot.width() / 2.0,
        TOP + plot.height() / 2.0,
        escape(words.no_data)
    );
}

/// A marker of shape `shape` at (x, y).
fn marker(out: &mut String, shape: usize, x: f64, y: f64, colour: &str) {
    let r = 4.5;
    let _ = match shape % 6 {
        0 => write!(out, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\" fill=\"{colour}\"/>"),
        1 => write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>",
            x - r,
            y - r,
            2.0 * r,
            2.0 * r
        ),
        2 => write!(
            out,
            "<path d=\"M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z\" fill=\"{colour}\"/>",
            y - r - 1.0,
            x + r + 1.0,
            y + r,
            x - r - 1.0,
            y + r
        ),
        3 => write!(
            out,
            "<path d=\"M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z\" fill=\"{colour}\"/>",
            y - r - 1.0,
            x + r + 1.0,
            y + r + 1.0,
            x - r - 1.0
        ),
        4 => write!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r}\" fill=\"#ffffff\" stroke=\"{colour}\" stroke-width=\"2\"/>"
        ),
        _ => write!(
            out,
            "<path d=\"M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}\" stroke=\"{colour}\" stroke-width=\"2.5\"/>",
            x - r,
            y - r,
            x + r,
            y + r,
            x - r,
            y + r,
            x + r,
            y - r
        ),
    };
}

/// The style of series `i`: colour, dash, marker shape — no two series share all three.
fn style(i: usize) -> (&'static str, &'static str, usize) {
    let dash = (i + i / DASHES.len()) % DASHES.len();
    (COLOURS[i % COLOURS.len()], DASHES[dash], i % 6)
}

fn legend_entry(out: &mut String, i: usize, label: &str, swatch: &str) {
    let x = WIDTH - RIGHT + 24.0;
    let y = TOP + 8.0 + 22.0 * i as f64;
    let _ = writeln!(
        out,
        "<g class=\"legend\" transform=\"translate({x:.1} {y:.1})\">{swatch}<text x=\"40\" y=\"4\" fill=\"#111111\">{}</text></g>",
        escape(label)
    );
}

/// Complaints per aspect per week, one line per aspect with any complaint.
fn aspect_trends(report: &Report, lang: Language) -> String {
    let words = labels::words(lang);
    let weeks: Vec<String> = report.weeks.iter().map(|w| w.week.clone()).collect();
    let series: Vec<(String, Vec<u64>)> = report
        .aspects()
        .into_iter()
        .map(|aspect| {
            let values = report
                .weeks
                .iter()
                .map(|w| w.aspects.get(&aspect).map_or(0, |t| t.complaint_voices))
                .collect::<Vec<u64>>();
            (aspect, values)
        })
        .filter(|(_, values)| values.iter().any(|v| *v > 0))
        .collect();
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0);
    let (top, step) = axis(max);
    let plot = Plot { weeks, top, step };
    let mut out = String::new();
    open(&mut out, words.aspect_chart, "aspects");
    frame(&mut out, &plot, words);
    if series.is_empty() {
        no_data(&mut out, &plot, words);
    }
    // A line begins where the history does: weeks before it are unknown, not quiet.
    let history = report.first_week_of_history().unwrap_or(0);
    for (i, (aspect, values)) in series.iter().enumerate() {
        let (colour, dash, shape) = style(i);
        let id = escape(aspect);
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .skip(history)
            .map(|(w, v)| format!("{:.1},{:.1}", plot.x(w), plot.y(*v as f64)))
            .collect();
        let _ = write!(out, "<g class=\"series\" data-series=\"{id}\">");
        // One week of history is a point, its marker: a line of one point is no line
        // (and the PNG's renderer warns of it).
        if points.len() > 1 {
            let _ = write!(
                out,
                "<polyline data-series=\"{id}\" points=\"{}\" \
                 fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\" stroke-linejoin=\"round\"{}/>",
                points.join(" "),
                dash_attr(dash)
            );
        }
        for (w, v) in values.iter().enumerate().skip(history) {
            marker(&mut out, shape, plot.x(w), plot.y(*v as f64), colour);
        }
        out.push_str("</g>\n");
        let mut swatch = format!(
            "<line x1=\"0\" y1=\"0\" x2=\"32\" y2=\"0\" stroke=\"{colour}\" stroke-width=\"2.5\"{}/>",
            dash_attr(dash)
        );
        marker(&mut swatch, shape, 16.0, 0.0, colour);
        legend_entry(&mut out, i, &labels::aspect(aspect, lang), &swatch);
    }
    out.push_str("</svg>\n");
    out
}

fn dash_attr(dash: &str) -> String {
    if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    }
}

/// A hatching for bar series `i`, over its colour, as an SVG pattern `id`.
fn pattern(i: usize, id: &str, colour: &str) -> String {
    let hatch = match i % 8 {
        0 => "",
        1 => "<path d=\"M0 8L8 0\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>",
        2 => "<circle cx=\"4\" cy=\"4\" r=\"1.5\" fill=\"#ffffff\"/>",
        3 => "<path d=\"M0 4H8\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>",
        4 => "<path d=\"M4 0V8\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>",
        5 => "<path d=\"M0 0L8 8M0 8L8 0\" stroke=\"#ffffff\" stroke-width=\"1.2\"/>",
        6 => "<path d=\"M0 0L8 8\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>",
        _ => "<path d=\"M0 4H8M4 0V8\" stroke=\"#ffffff\" stroke-width=\"1.2\"/>",
    };
    format!(
        "<pattern id=\"{id}\" patternUnits=\"userSpaceOnUse\" width=\"8\" height=\"8\">\
         <rect width=\"8\" height=\"8\" fill=\"{colour}\"/>{hatch}</pattern>"
    )
}

/// The languages shown on their own (most complaint voices first) and whether there are more.
fn bar_languages(report: &Report) -> (Vec<String>, bool) {
    let mut totals: Vec<(u64, String)> = report
        .languages()
        .into_iter()
        .map(|code| {
            let total = report
                .weeks
                .iter()
                .map(|w| w.languages.get(&code).map_or(0, |t| t.complaint_voices))
                .sum::<u64>();
            (total, code)
        })
        .filter(|(total, _)| *total > 0)
        .collect();
    totals.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let more = totals.len() > MAX_LANGUAGES;
    let keep = if more {
        MAX_LANGUAGES - 1
    } else {
        totals.len()
    };
    (
        totals.into_iter().take(keep).map(|(_, c)| c).collect(),
        more,
    )
}

/// Complaint voices per week as bars, one per language side by side.
fn language_bars(report: &Report, lang: Language) -> String {
    let words = labels::words(lang);
    let (shown, more) = bar_languages(report);
    let mut series: Vec<(String, String, Vec<u64>)> = shown
        .iter()
        .map(|code| {
            let values = report
                .weeks
                .iter()
                .map(|w| w.languages.get(code).map_or(0, |t| t.complaint_voices))
                .collect();
            (code.clone(), labels::language(code, lang), values)
        })
        .collect();
    if more {
        let values = report
            .weeks
            .iter()
            .map(|w| {
                w.languages
                    .iter()
                    .filter(|entry| !shown.contains(entry.0))
                    .map(|(_, t)| t.complaint_voices)
                    .sum::<u64>()
            })
            .collect();
        series.push((OTHER.to_string(), words.other.to_string(), values));
    }
    let highest = series
        .iter()
        .flat_map(|(_, _, values)| values.iter().copied())
        .max();
    let (top, step) = axis(highest.unwrap_or(0));
    let plot = Plot {
        weeks: report.weeks.iter().map(|w| w.week.clone()).collect(),
        top,
        step,
    };
    let mut out = String::new();
    open(&mut out, words.language_chart, "languages");
    out.push_str("<defs>");
    for i in 0..series.len() {
        out.push_str(&pattern(i, &format!("wc-lang-fill-{i}"), style(i).0));
    }
    out.push_str("</defs>\n");
    frame(&mut out, &plot, words);
    if series.is_empty() {
        no_data(&mut out, &plot, words);
    }
    // A week's bars share 80% of its slot.
    let group = plot.slot() * 0.8;
    let bar = group / series.len().max(1) as f64;
    for (i, (code, name, values)) in series.iter().enumerate() {
        let id = escape(code);
        let _ = write!(out, "<g class=\"series\" data-series=\"{id}\">");
        for (w, v) in values.iter().enumerate() {
            if *v == 0 {
                continue;
            }
            let (y_top, y_bottom) = (plot.y(*v as f64), plot.y(0.0));
            let _ = write!(
                out,
                "<rect data-series=\"{id}\" x=\"{:.1}\" y=\"{y_top:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" \
                 fill=\"url(#wc-lang-fill-{i})\" stroke=\"#ffffff\" stroke-width=\"0.8\"><title>{} {}: {v}</title></rect>",
                plot.x(w) - group / 2.0 + i as f64 * bar,
                y_bottom - y_top,
                escape(&plot.weeks[w]),
                escape(name),
            );
        }
        out.push_str("</g>\n");
        let swatch = format!(
            "<rect x=\"4\" y=\"-8\" width=\"24\" height=\"16\" fill=\"url(#wc-lang-fill-{i})\" stroke=\"#333333\" stroke-width=\"0.5\"/>"
        );
        legend_entry(&mut out, i, name, &swatch);
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_step_in_ones_twos_and_fives() {
        assert_eq!(axis(0), (1.0, 1.0));
        assert_eq!(axis(1), (1.0, 1.0));
        assert_eq!(axis(7), (8.0, 2.0));
        assert_eq!(axis(10), (10.0, 2.0));
        assert_eq!(axis(23), (25.0, 5.0));
        assert_eq!(axis(480), (500.0, 100.0));
    }

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("<b>\"x\" & 'y'</b>\u{1}"),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn no_two_series_look_alike() {
        let styles: std::collections::HashSet<_> = (0..12).map(style).collect();
        assert_eq!(styles.len(), 12);
        let greyscale: std::collections::HashSet<_> =
            (0..12).map(|i| (style(i).1, style(i).2)).collect();
        assert_eq!(
            greyscale.len(),
            12,
            "dash and marker alone tell all twelve apart"
        );
    }
}
