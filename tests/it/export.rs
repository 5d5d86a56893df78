//! The weekly export: golden CSV and JSON of a fixture index, the charts parsed, the
//! HTML report (and, where Chromium is installed, opened in it), bad input, the
//! schedule on a moved clock, and the report mailed to a real SMTP server.
//!
//! The fixture index is built from `tests/fixtures/export/mentions.json` with every
//! field set directly (no pipeline, whose word lists change), so the goldens change only
//! when the export does. `tests/fixtures/export/reference.py` computes the goldens
//! independently; `WEBCARE_BLESS=1` rewrites them from this code instead.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc, Weekday};

use webcare::alerts::settings::Alerts;
use webcare::alerts::stats::Thresholds;
use webcare::alerts::{Detection, Kind};
use webcare::export::data::History;
use webcare::export::schedule::{self, Schedule};
use webcare::export::settings::Export;
use webcare::export::week::IsoWeek;
use webcare::export::{Format, Language, Progress, Request, Sources};
use webcare::mention::{Mention, Relevance};
use webcare::pipeline::aspects::AspectTag;
use webcare::pipeline::complaint::Complaint;
use webcare::pipeline::duplicates::{Duplicate, SIGNATURE_LEN};
use webcare::pipeline::KnownTerm;
use webcare::search::{Checkpoints, MentionIndex};
use webcare::state::StateDb;

use crate::alerts::{smtp_server, smtp_settings, until_received};
use crate::fixtures::repo;

const AMSTERDAM: chrono_tz::Tz = chrono_tz::Europe::Amsterdam;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn golden_dir() -> PathBuf {
    repo().join("tests/fixtures/export")
}

/// A mention with every field the export reads set directly.
fn mention(item: &serde_json::Value) -> Mention {
    let text = |key: &str| item[key].as_str().map(str::to_string);
    let published = utc(item["published"].as_str().unwrap());
    let mut m = Mention::new(
        item["source"].as_str().unwrap(),
        item["id"].as_str().unwrap(),
        published,
        published,
    );
    // The fixture's own id, which the goldens' quotes carry (reference.py has no blake3).
    m.id = text("id").unwrap();
    m.url = text("url");
    m.text = text("text").unwrap_or_default();
    m.lang = text("lang").unwrap();
    m.lang_confidence = 1.0;
    m.relevance = Some(Relevance {
        relevant: true,
        rule: "fixture/asylum".into(),
        terms: Vec::new(),
    });
    m.aspects = item["aspects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| AspectTag {
            id: a.as_str().unwrap().into(),
            terms: Vec::new(),
        })
        .collect();
    let complaint = item["complaint"].as_bool().unwrap();
    m.complaint = Some(Complaint {
        complaint,
        score: if complaint { 0.9 } else { 0.1 },
        why: Vec::new(),
    });
    m.duplicate = Some(Duplicate {
        cluster: text("cluster").unwrap(),
        signature: [0; SIGNATURE_LEN],
    });
    m.author = text("author");
    m
}

fn fixture_mentions() -> Vec<Mention> {
    let text = std::fs::read_to_string(golden_dir().join("mentions.json")).unwrap();
    let items: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    items.iter().map(mention).collect()
}

/// An index under `data_dir` holding `mentions`, committed.
fn index_of(data_dir: &Path, mentions: &[Mention]) -> MentionIndex {
    let index = MentionIndex::open(data_dir).unwrap();
    let mut writer = index.writer().unwrap();
    for m in mentions {
        writer.upsert(m).unwrap();
    }
    writer.commit(&Checkpoints::new()).unwrap();
    writer.finish().unwrap();
    index.reload().unwrap();
    index
}

fn detection(kind: Kind, key: &str, observed: u64, top_terms: &[&str]) -> Detection {
    Detection {
        kind,
        key: key.into(),
        comparison: webcare::alerts::stats::compare(observed, 2.0, &Alerts::default().thresholds()),
        window: std::time::Duration::from_secs(24 * 3600),
        examples: Vec::new(),
        top_terms: top_terms.iter().map(|t| t.to_string()).collect(),
    }
}

/// The incidents of the goldens (reference.py writes them out by hand): interpreter
/// opened in week 46 and closed in 47, reception opened in 46 and updated in 47, a new
/// word opened in 47.
fn incidents_of_the_fixture(state: &StateDb) {
    let close_after = Duration::from_secs(48 * 3600);
    state
        .apply_detections(
            &[
                detection(Kind::Aspect, "interpreter", 9, &["dialect"]),
                detection(Kind::Aspect, "reception", 6, &["verwarming"]),
            ],
            utc("2026-11-10T10:00:00Z"),
            close_after,
        )
        .unwrap();
    state
        .apply_detections(
            &[
                detection(Kind::Term, "afsprakenapp", 7, &["afsprakenapp", "crasht"]),
                detection(Kind::Aspect, "reception", 11, &["kou"]),
            ],
            utc("2026-11-18T10:00:00Z"),
            close_after,
        )
        .unwrap();
}

/// No emerging terms in the goldens: their words depend on the normalisation, which
/// has its own tests; see `emerging_terms_come_from_the_week_against_the_weeks_before`.
const NO_TERMS: Thresholds = Thresholds {
    alpha: 0.001,
    min_voices: 1_000,
    min_ratio: 3.0,
};

fn nothing_known(_: &str) -> KnownTerm {
    KnownTerm::Unknown
}

struct Fixture {
    data_dir: PathBuf,
    index: MentionIndex,
    state: StateDb,
    /// Last, so that it is removed after the index and the database are closed.
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let index = index_of(&data_dir, &fixture_mentions());
    let state = StateDb::open(&data_dir).unwrap();
    incidents_of_the_fixture(&state);
    Fixture {
        data_dir,
        index,
        state,
        _dir: dir,
    }
}

impl Fixture {
    fn sources(&self) -> Sources<'_> {
        Sources {
            index: &self.index,
            state: Some(&self.state),
            known: &nothing_known,
            thresholds: NO_TERMS,
            kept_from: None,
        }
    }
}

fn request(week: &str, weeks_before: u32, formats: &[Format], out_dir: &Path) -> Request {
    Request {
        week: week.parse().unwrap(),
        weeks_before,
        tz: AMSTERDAM,
        formats: formats.to_vec(),
        out_dir: out_dir.to_path_buf(),
        language: Language::Nl,
        bom: false,
        csv_delimiter: b',',
    }
}

/// Compares `got` with the golden file `name`; `WEBCARE_BLESS=1` rewrites it instead.
fn assert_golden(name: &str, got: &[u8]) {
    let path = golden_dir().join(name);
    if std::env::var_os("WEBCARE_BLESS").is_some() {
        std::fs::write(path, got).unwrap();
        return;
    }
    let want = std::fs::read(path).unwrap();
    if got != want.as_slice() {
        let got_text = String::from_utf8_lossy(got);
        let want_text = String::from_utf8_lossy(&want);
        let line = got_text
            .lines()
            .zip(want_text.lines())
            .position(|(g, w)| g != w)
            .unwrap_or(0);
        panic!(
            "{name} differs from the golden file from line {}:\n  got:  {:?}\n  want: {:?}\n\
             (WEBCARE_BLESS=1 rewrites the golden; tests/fixtures/export/reference.py recomputes it)",
            line + 1,
            got_text.lines().nth(line),
            want_text.lines().nth(line)
        );
    }
}

#[test]
fn golden_csv_and_json_for_a_fixture_index() {
    let f = fixture();
    let out = f.data_dir.join("exports");
    let mut steps: Vec<Progress> = Vec::new();
    let written = webcare::export::export(
        &f.sources(),
        &request("2026-W47", 4, &[Format::Csv, Format::Json], &out),
        &mut |p| steps.push(p),
    )
    .unwrap();
    assert_eq!(
        written.files,
        [
            out.join("webcare-2026-W47.csv"),
            out.join("webcare-2026-W47.json")
        ]
    );
    assert_golden(
        "webcare-2026-W47.csv",
        &std::fs::read(&written.files[0]).unwrap(),
    );
    assert_golden(
        "webcare-2026-W47.json",
        &std::fs::read(&written.files[1]).unwrap(),
    );
    // Progress: one step per week, three for the rest, one per format; ends complete.
    assert_eq!(steps.len(), 5 + 3 + 2);
    let last = steps.last().unwrap();
    assert_eq!((last.done, last.total), (10, 10));
    assert_eq!(steps[0].step, "2026-W43");
    // The week boundaries as the goldens show them: the Sunday 23:59 mention is in week
    // 47, the Monday 00:00 one is not; week 43 has the extra hour of October.
    let w47 = written.report.current().unwrap();
    assert_eq!(w47.mentions, 11);
    assert_eq!(w47.start, "2026-11-16T00:00:00+01:00");
    assert_eq!(written.report.weeks[0].end, "2026-10-26T00:00:00+01:00");
    assert_eq!(written.report.weeks[0].start, "2026-10-19T00:00:00+02:00");
}

/// A week retention has cut short is no week to compare with: it reads as a quiet one,
/// and the week after as a rise. A 90-day retention cuts the first of thirteen weeks.
#[test]
fn a_week_retention_cut_short_is_not_compared_with() {
    let f = fixture();
    let out = f.data_dir.join("kept");
    let whole = webcare::export::export(
        &f.sources(),
        &request("2026-W47", 4, &[Format::Json], &out),
        &mut |_| {},
    )
    .unwrap();
    // Nor is the week in which the index's history begins: the fixture's oldest
    // mention is of Tuesday 20 October, so W43 holds only part of a week.
    assert_eq!(whole.report.baseline_weeks, 3, "W44..W46");
    assert_eq!(whole.report.weeks[0].mentions, 3);
    let histories = |report: &webcare::export::data::Report| -> Vec<History> {
        report.weeks.iter().map(|w| w.history).collect()
    };
    use History::{Before, Partial, Whole};
    assert_eq!(
        histories(&whole.report),
        [Partial, Whole, Whole, Whole, Whole]
    );
    // Two weeks more: they ended before the oldest mention, and nothing of them is known.
    let longer = webcare::export::export(
        &f.sources(),
        &request("2026-W47", 6, &[Format::Json, Format::Csv], &out),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        histories(&longer.report),
        [Before, Before, Partial, Whole, Whole, Whole, Whole]
    );
    assert_eq!(longer.report.baseline_weeks, 3, "still W44..W46");
    let csv = std::fs::read_to_string(out.join("webcare-2026-W47.csv")).unwrap();
    assert!(
        csv.contains("\r\n2026-W41,2026-10-05,*,*,0,0,0,before\r\n")
            && csv.contains("\r\n2026-W43,2026-10-19,*,*,3,2,2,partial\r\n"),
        "{csv}"
    );
    // Everything published before Wednesday of W44 erased.
    let cut = Sources {
        kept_from: Some(utc("2026-10-28T00:00:00Z")),
        ..f.sources()
    };
    let report = webcare::export::export(
        &cut,
        &request("2026-W47", 4, &[Format::Json], &out),
        &mut |_| {},
    )
    .unwrap()
    .report;
    assert_eq!(report.baseline_weeks, 2, "W45..W46");
    assert_eq!(
        report.weeks.len(),
        5,
        "W43 and W44 are still listed, with what is left of them"
    );
    assert_eq!(histories(&report), [Before, Partial, Whole, Whole, Whole]);
    // The report of a week before the history says nothing is known of it, not that
    // nothing was said; one of the week the history begins in says it is part of one.
    let page = |week: &str| {
        let written = webcare::export::export(
            &f.sources(),
            &request(week, 1, &[Format::Html], &out),
            &mut |_| {},
        )
        .unwrap();
        let html = std::fs::read_to_string(&written.files[0]).unwrap();
        let mail = webcare::export::mail::plain_text(&written.report, Language::Nl);
        (html, mail)
    };
    let (html, mail) = page("2026-W41");
    for text in [&html, &mail] {
        assert!(text.contains("Van deze week is niets bekend"), "{text}");
        assert!(!text.contains("Geen meldingen in deze week"), "{text}");
    }
    assert!(
        !html.contains("Samenvatting"),
        "no summary of unknown counts: {html}"
    );
    let (html, _) = page("2026-W43");
    assert!(
        html.contains("de aantallen gaan over een deel ervan"),
        "{html}"
    );
    assert!(!html.contains("niets bekend"), "{html}");
    let (html, _) = page("2026-W46");
    assert!(!html.contains("niets bekend") && !html.contains("een deel ervan"));
    // The week after the partial one has nothing to compare with: the week before's 0
    // in the data is a placeholder, which the report and the mail do not show as a count.
    let (html, mail) = page("2026-W44");
    let row = html
        .lines()
        .find(|l| l.starts_with("<tr><td>Meldingen</td>"))
        .unwrap_or_else(|| panic!("{html}"));
    let cells: Vec<&str> = row.split("<td class=\"n\">").skip(1).collect();
    assert!(
        cells[1].starts_with("–<") && cells[2].starts_with("–<"),
        "{row}"
    );
    assert!(
        mail.contains("Meldingen: ")
            && mail.contains("(nog geen eerdere weken om mee te vergelijken)"),
        "{mail}"
    );
    assert!(!mail.contains("vorige week 0"), "{mail}");
}

#[test]
fn the_csv_is_rfc_4180_and_the_bom_is_optional() {
    let f = fixture();
    let out = f.data_dir.join("exports");
    let mut with_bom = request("2026-W47", 4, &[Format::Csv], &out);
    with_bom.bom = true;
    let written = webcare::export::export(&f.sources(), &with_bom, &mut |_| {}).unwrap();
    let bytes = std::fs::read(&written.files[0]).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let golden = std::fs::read(golden_dir().join("webcare-2026-W47.csv")).unwrap();
    assert_eq!(&bytes[3..], golden.as_slice());
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with(
        "week,week_start,aspect,language,mentions,complaints,complaint_voices,history\r\n"
    ));
    assert_eq!(
        text.matches("\r\n").count(),
        text.matches('\n').count(),
        "CRLF only"
    );
    assert!(text.contains("2026-W47,2026-11-16,interpreter,nl,5,5,2,whole\r\n"));
}

#[test]
fn rerunning_an_export_writes_the_same_bytes() {
    let f = fixture();
    let out = f.data_dir.join("exports");
    let all = request("2026-W47", 4, &Format::ALL, &out);
    let first = webcare::export::export(&f.sources(), &all, &mut |_| {}).unwrap();
    let names: Vec<String> = first
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "webcare-2026-W47.csv",
            "webcare-2026-W47.json",
            "webcare-2026-W47.html",
            "webcare-2026-W47-aspects.svg",
            "webcare-2026-W47-languages.svg",
            "webcare-2026-W47-aspects.png",
            "webcare-2026-W47-languages.png",
        ]
    );
    let before: Vec<Vec<u8>> = first
        .files
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let second = webcare::export::export(&f.sources(), &all, &mut |_| {}).unwrap();
    for (path, bytes) in second.files.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(path).unwrap(),
            bytes,
            "{} changed",
            path.display()
        );
    }
    // PNGs are PNGs, at twice the SVG's 880×440.
    let png = &before[5];
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
    assert_eq!((width, height), (1760, 880));
    // No temporary files left behind.
    assert_eq!(std::fs::read_dir(out).unwrap().count(), 7);
}

fn series_of(svg: &str, element: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    let mut out: Vec<String> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == element)
        .filter_map(|n| n.attribute("data-series").map(str::to_string))
        .collect();
    out.dedup();
    out
}

#[test]
fn the_charts_are_valid_svg_with_a_series_per_aspect_and_language() {
    let f = fixture();
    let out = f.data_dir.join("exports");
    let written = webcare::export::export(
        &f.sources(),
        &request("2026-W47", 4, &[Format::Svg], &out),
        &mut |_| {},
    )
    .unwrap();
    let aspects = std::fs::read_to_string(&written.files[0]).unwrap();
    let languages = std::fs::read_to_string(&written.files[1]).unwrap();
    // One line per aspect with complaints, in the taxonomy's order; none for aspects
    // without complaints (reception's only complaint-free week aside, `none` has none).
    assert_eq!(
        series_of(&aspects, "polyline"),
        ["waiting_time", "interpreter", "reception", "communication"]
    );
    assert_eq!(
        series_of(&aspects, "g"),
        ["waiting_time", "interpreter", "reception", "communication"]
    );
    let doc = roxmltree::Document::parse(&aspects).unwrap();
    let line = doc
        .descendants()
        .find(|n| {
            n.tag_name().name() == "polyline" && n.attribute("data-series") == Some("interpreter")
        })
        .unwrap();
    assert_eq!(
        line.attribute("points").unwrap().split(' ').count(),
        5,
        "a point per week"
    );
    // Asked for more weeks than the index holds, a line begins at its first week with
    // mentions: the weeks before are unknown, not weeks without complaints.
    let longer = webcare::export::export(
        &f.sources(),
        &request("2026-W47", 8, &[Format::Svg], &f.data_dir.join("exports-9")),
        &mut |_| {},
    )
    .unwrap();
    let longer = std::fs::read_to_string(&longer.files[0]).unwrap();
    let longer = roxmltree::Document::parse(&longer).unwrap();
    let points: Vec<&str> = longer
        .descendants()
        .find(|n| {
            n.tag_name().name() == "polyline" && n.attribute("data-series") == Some("interpreter")
        })
        .and_then(|n| n.attribute("points"))
        .unwrap()
        .split(' ')
        .collect();
    assert_eq!(points.len(), 5, "W43..W47 only: {points:?}");
    let markers = longer
        .descendants()
        .filter(|n| n.attribute("data-series") == Some("interpreter"))
        .flat_map(|n| n.children())
        .filter(|n| n.is_element() && n.tag_name().name() != "polyline")
        .count();
    assert_eq!(markers, 5, "a marker per week of history");
    // The first week of the history alone: a marker, and no line of one point.
    let first = webcare::export::export(
        &f.sources(),
        &request(
            "2026-W43",
            2,
            &[Format::Svg],
            &f.data_dir.join("exports-10"),
        ),
        &mut |_| {},
    )
    .unwrap();
    let first = std::fs::read_to_string(&first.files[0]).unwrap();
    let first = roxmltree::Document::parse(&first).unwrap();
    let series = first
        .descendants()
        .find(|n| n.tag_name().name() == "g" && n.attribute("data-series") == Some("interpreter"))
        .unwrap();
    let shapes: Vec<&str> = series
        .children()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    assert_eq!(shapes.len(), 1, "{shapes:?}");
    assert_ne!(shapes[0], "polyline");
    // Lines differ by dash pattern too, so they survive greyscale.
    let dashes: std::collections::HashSet<Option<&str>> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "polyline")
        .map(|n| n.attribute("stroke-dasharray"))
        .collect();
    assert_eq!(dashes.len(), 4);
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    for label in [
        "Stemmen met een klacht per aspect, per week",
        "wachttijd",
        "tolk",
        "opvang",
        "communicatie",
        "W43",
        "W47",
        "stemmen",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(label)),
            "{label} missing: {texts:?}"
        );
    }
    // Bars: most complaint voices first (English's three complaints are two voices, as
    // many as Arabic's: then by code); every segment is a rect of its series.
    assert_eq!(series_of(&languages, "g"), ["nl", "ar", "en"]);
    let doc = roxmltree::Document::parse(&languages).unwrap();
    let nl_bars = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "rect" && n.attribute("data-series") == Some("nl"))
        .count();
    assert_eq!(nl_bars, 5, "Dutch complaints in each of the five weeks");
    // Side by side, each from zero: voices do not add up over languages (one person
    // writing in two is a voice in each), so no bar stands on another.
    let bottoms: Vec<f64> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "rect" && n.attribute("data-series").is_some())
        .map(|n| {
            let number = |a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
            number("y") + number("height")
        })
        .collect();
    assert!(bottoms.len() > 5, "{bottoms:?}");
    assert!(
        bottoms.iter().all(|b| (b - bottoms[0]).abs() < 0.2),
        "{bottoms:?}"
    );
    assert!(languages.contains("Nederlands") && languages.contains("Arabisch"));
}

#[test]
fn the_html_report_is_self_contained_escaped_and_made_for_a4() {
    let f = fixture();
    let out = f.data_dir.join("exports");
    let written = webcare::export::export(
        &f.sources(),
        &request("2026-W47", 4, &[Format::Html], &out),
        &mut |_| {},
    )
    .unwrap();
    let html = std::fs::read_to_string(&written.files[0]).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"nl\">"));
    assert!(html.contains("@page { size: A4;"));
    assert!(html.contains("Weekoverzicht webcare — Week 47"), "{html}");
    assert!(html.contains("16–22 november 2026"));
    assert_eq!(html.matches("<svg ").count(), 2);
    // Nothing to fetch, nothing to run.
    for bad in ["<script", "src=", "<link", "@import", "url(http"] {
        assert!(!html.contains(bad), "{bad} in the report");
    }
    // The quote's markup is text; the javascript: permalink is not a link.
    assert!(html.contains("De tolk kwam &lt;b&gt;weer&lt;/b&gt; niet opdagen bij mijn gehoor &amp; het is &quot;weer&quot; uitgesteld."));
    assert!(!html.contains("<b>weer</b>"));
    assert!(!html.contains("href=\"javascript:"));
    assert!(html.contains("<a href=\"https://forum.example/t/112?page=2&amp;post=7\">"));
    // The numbers, the significance in words, the recurring complaint, the incidents.
    assert!(html.contains("+400,0%"));
    assert!(html.contains("▲ significant hoger"));
    assert!(html.contains("4 keer geplaatst door 3 verschillende accounts"));
    assert!(html.contains("#3 “afsprakenapp”"));
    assert!(html.contains("#1 Tolk"));
    assert!(html.contains("#2 Opvang"));
    // And in English.
    let mut english = request("2026-W47", 4, &[Format::Html], &out);
    english.language = Language::En;
    let written = webcare::export::export(&f.sources(), &english, &mut |_| {}).unwrap();
    let html = std::fs::read_to_string(&written.files[0]).unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("Weekly webcare report — Week 47"));
    assert!(html.contains("▲ significantly higher"));
    assert!(html.contains("Complaint voices per aspect, per week"));
}

#[test]
fn an_empty_week_is_a_report_that_says_so() {
    let f = fixture();
    let out = f.data_dir.join("exports");
    let written = webcare::export::export(
        &f.sources(),
        &request("2026-W30", 3, &Format::ALL, &out),
        &mut |_| {},
    )
    .unwrap();
    assert!(written.report.is_empty_week());
    let html = std::fs::read_to_string(out.join("webcare-2026-W30.html")).unwrap();
    // Before the index's first mention: nothing is known of it, which is not "no
    // mentions" (a week without any within the history:
    // `a_repost_wave_or_one_busy_author_makes_no_trend_but_many_people_do`).
    assert!(html.contains("Van deze week is niets bekend"), "{html}");
    assert!(!html.contains("Geen meldingen in deze week."), "{html}");
    assert!(
        html.contains("Geen gegevens"),
        "the charts say there is no data"
    );
    let csv = std::fs::read_to_string(out.join("webcare-2026-W30.csv")).unwrap();
    // The totals row of each week, and nothing to split.
    assert_eq!(
        csv,
        "week,week_start,aspect,language,mentions,complaints,complaint_voices,history\r\n\
         2026-W27,2026-06-29,*,*,0,0,0,before\r\n2026-W28,2026-07-06,*,*,0,0,0,before\r\n2026-W29,2026-07-13,*,*,0,0,0,before\r\n2026-W30,2026-07-20,*,*,0,0,0,before\r\n"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("webcare-2026-W30.json")).unwrap()).unwrap();
    assert_eq!(json["weeks"].as_array().unwrap().len(), 4);
    assert_eq!(json["weeks"][3]["mentions"], 0);
    assert_eq!(json["baseline_weeks"], 0);
    assert_eq!(json["changes"]["complaints"]["vs_mean"], "none");
    assert!(out.join("webcare-2026-W30-languages.png").exists());
}

#[test]
fn emerging_terms_come_from_the_week_against_the_weeks_before() {
    let dir = tempfile::tempdir().unwrap();
    let complaint = |n: usize, at: &str, text: &str| {
        mention(&serde_json::json!({
            "id": format!("e{n}"), "published": at, "lang": "nl", "source": "forum",
            "aspects": ["waiting_time"], "complaint": true, "cluster": format!("e{n}"),
            "author": format!("p_e{n}"), "url": format!("https://forum.example/e/{n}"),
            "text": text
        }))
    };
    let mut mentions = Vec::new();
    for n in 0..40 {
        let day = 2 + (n % 20);
        mentions.push(complaint(
            n,
            &format!("2026-11-{day:02}T10:00:00Z"),
            "lang wachten op de beslissing van de IND",
        ));
    }
    for n in 40..50 {
        mentions.push(complaint(
            n,
            "2026-11-24T10:00:00Z",
            "lang wachten op de beslissing",
        ));
    }
    for n in 50..58 {
        mentions.push(complaint(
            n,
            "2026-11-25T10:00:00Z",
            "de nieuwe afsprakenapp van de IND crasht, afsprakenapp kapot",
        ));
    }
    let index = index_of(dir.path(), &mentions);
    let sources = Sources {
        index: &index,
        state: None,
        known: &nothing_known,
        thresholds: Alerts::default().thresholds(),
        kept_from: None,
    };
    let written = webcare::export::export(
        &sources,
        &request("2026-W48", 3, &[Format::Json], &dir.path().join("out")),
        &mut |_| {},
    )
    .unwrap();
    let terms: Vec<&str> = written
        .report
        .emerging_terms
        .iter()
        .map(|t| t.term.as_str())
        .collect();
    assert!(terms.contains(&"afsprakenapp"), "{terms:?}");
    assert!(!terms.contains(&"beslissing"), "{terms:?}");
    let app =
        &written.report.emerging_terms[terms.iter().position(|t| *t == "afsprakenapp").unwrap()];
    assert_eq!(app.voices, 8);
    // A topic rule's word is left out; so is an aspect list's word whose posts were
    // given that aspect (the aspect counts see them), but not one whose posts were not.
    let emerges_when = |rules: KnownTerm| {
        let known = |term: &str| {
            if term == "afsprakenapp" {
                rules.clone()
            } else {
                KnownTerm::Unknown
            }
        };
        let sources = Sources {
            known: &known,
            ..sources
        };
        let written = webcare::export::export(
            &sources,
            &request("2026-W48", 3, &[Format::Json], &dir.path().join("out")),
            &mut |_| {},
        )
        .unwrap();
        written
            .report
            .emerging_terms
            .iter()
            .any(|t| t.term == "afsprakenapp")
    };
    assert!(!emerges_when(KnownTerm::Topic));
    assert!(!emerges_when(KnownTerm::Aspects(vec![
        "waiting_time".into()
    ])));
    assert!(emerges_when(KnownTerm::Aspects(vec!["facilities".into()])));
}

fn settings(out_dir: &Path) -> Export {
    Export {
        enabled: true,
        schedule: Schedule {
            weekday: Weekday::Mon,
            time: NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
            tz: AMSTERDAM,
        },
        out_dir: out_dir.to_path_buf(),
        weeks: 4,
        formats: vec![Format::Csv, Format::Json, Format::Html, Format::Png],
        language: Language::Nl,
        bom: false,
        csv_delimiter: b',',
        mail_to: Vec::new(),
    }
}

#[test]
fn the_schedule_on_a_moved_clock_exports_each_last_complete_week_once() {
    let f = fixture();
    let out = f.data_dir.join("scheduled");
    let settings = settings(&out);
    // Wednesday 18 November: the next run is Monday 23 November 07:00 (06:00 UTC) ...
    let at = schedule::next_run(utc("2026-11-18T12:00:00Z"), &settings.schedule);
    assert_eq!(at, utc("2026-11-23T06:00:00Z"));
    // A new installation missed no run: nothing to catch up at its first start, even
    // with mentions in the index.
    assert!(!schedule::missing(&f.state, &settings, at));
    // ... but a daemon that has run the schedule since before then did: week 47 is
    // missing until it has run.
    schedule::note_start(&f.state, utc("2026-11-18T12:00:00Z")).unwrap();
    schedule::note_start(&f.state, utc("2026-11-30T12:00:00Z")).unwrap();
    assert!(schedule::missing(&f.state, &settings, at));
    let written = schedule::run_once(&f.sources(), &f.state, &settings, at).unwrap();
    assert_eq!(written.report.week, "2026-W47");
    assert!(!schedule::missing(&f.state, &settings, at));
    let audited = f.state.audit_entries(None, Some("system"), 10).unwrap();
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0].action, "export");
    assert!(
        audited[0].detail.starts_with("week 2026-W47: "),
        "{audited:?}"
    );
    let csv = std::fs::read(out.join("webcare-2026-W47.csv")).unwrap();
    assert_eq!(
        csv,
        std::fs::read(golden_dir().join("webcare-2026-W47.csv")).unwrap()
    );
    // A restart after the run finds nothing to catch up; running it again anyway
    // writes the same files.
    let later = utc("2026-11-24T09:00:00Z");
    assert_eq!(schedule::previous_run(later, &settings.schedule), at);
    assert!(!schedule::missing(
        &f.state,
        &settings,
        schedule::previous_run(later, &settings.schedule)
    ));
    let again = schedule::run_once(&f.sources(), &f.state, &settings, at).unwrap();
    for path in &again.files {
        let name = path.file_name().unwrap();
        assert_eq!(
            std::fs::read(path).unwrap(),
            std::fs::read(
                written
                    .files
                    .iter()
                    .find(|p| p.file_name().unwrap() == name)
                    .unwrap()
            )
            .unwrap()
        );
    }
    // The clock moves on a week: week 48, which has only the Monday 00:00 mention.
    let next = schedule::next_run(at, &settings.schedule);
    assert_eq!(next, utc("2026-11-30T06:00:00Z"));
    assert!(schedule::missing(&f.state, &settings, next));
    // Someone exports week 48 by hand first: the scheduled run (which also mails the
    // report) is still to be done.
    webcare::export::export(
        &f.sources(),
        &schedule::request(&settings, next),
        &mut |_| {},
    )
    .unwrap();
    assert!(out.join("webcare-2026-W48.csv").exists());
    assert!(schedule::missing(&f.state, &settings, next));
    let written = schedule::run_once(&f.sources(), &f.state, &settings, next).unwrap();
    assert_eq!(written.report.week, "2026-W48");
    assert_eq!(written.report.current().unwrap().mentions, 1);
    // Nothing is mailed without recipients.
    assert!(f.state.outbox().unwrap().is_empty());
}

#[test]
fn shipped_and_default_export_settings() {
    let config = webcare::Config::load(&repo().join("config/webcare.toml")).unwrap();
    let e = &config.export;
    assert!(e.enabled);
    assert_eq!(e.schedule.weekday, Weekday::Mon);
    assert_eq!(e.schedule.time, NaiveTime::from_hms_opt(7, 0, 0).unwrap());
    assert_eq!(e.schedule.tz, AMSTERDAM);
    assert_eq!(e.out_dir, PathBuf::from("index/exports"));
    assert_eq!(
        (e.weeks, e.formats.len(), e.language),
        (12, 5, Language::Nl)
    );
    let defaults = Export::defaults(Path::new("/srv/webcare"));
    assert!(!defaults.enabled);
    assert_eq!(defaults.out_dir, PathBuf::from("/srv/webcare/exports"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_is_mailed_with_its_files_to_a_real_smtp_server() {
    let f = fixture();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp = smtp_settings(listener.local_addr().unwrap());
    let messages = smtp_server(listener);
    let mut settings = settings(&f.data_dir.join("mailed"));
    settings.mail_to = vec![
        "analisten@example.org".into(),
        "directie@example.org".into(),
    ];
    let at = utc("2026-11-23T06:00:00Z");
    let written = schedule::run_once(&f.sources(), &f.state, &settings, at).unwrap();
    // The same run again (a retry after a failure past the queueing, or a catch-up at
    // a restart): the files are written again, the mail not queued twice.
    schedule::run_once(&f.sources(), &f.state, &settings, at).unwrap();
    let outbox = f.state.outbox().unwrap();
    assert_eq!(outbox.len(), 1);
    let queued = &outbox[0];
    assert_eq!(
        queued.subject,
        "Weekoverzicht webcare — week 47 (16–22 november 2026)"
    );
    let attached: Vec<&str> = queued.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        attached,
        [
            "webcare-2026-W47.csv",
            "webcare-2026-W47.html",
            "webcare-2026-W47-aspects.png",
            "webcare-2026-W47-languages.png",
        ]
    );
    assert_eq!(
        queued.attachments[0].body,
        std::fs::read(&written.files[0]).unwrap()
    );
    let mailer =
        webcare::alerts::mail::Mailer::new(&smtp, "webcare <webcare@example.org>").unwrap();
    assert_eq!(mailer.send_due(&f.state, Utc::now()).await.unwrap(), 1);
    // Each recipient gets their own message, files and all.
    until_received(&messages, 2).await;
    let got = messages.lock().unwrap()[0].clone();
    assert_eq!(
        crate::alerts::all_recipients(&messages),
        ["analisten@example.org", "directie@example.org"]
    );
    for needle in [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/csv",
        "image/png",
        "filename=\"webcare-2026-W47.csv\"",
        "filename=\"webcare-2026-W47-aspects.png\"",
        "DOCTYPE html",
    ] {
        assert!(
            got.data.contains(needle),
            "{needle} not in the message:\n{}",
            got.data.chars().take(4000).collect::<String>()
        );
    }
    // Sent once: nothing is due any more.
    assert_eq!(mailer.send_due(&f.state, Utc::now()).await.unwrap(), 0);
}

// ---- the command line -----------------------------------------------------------------

fn webcare(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args(args)
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A config whose data directory holds the fixture index.
fn cli_config(f: &Fixture) -> String {
    let path = f.data_dir.join("webcare.toml");
    let text = format!(
        "[storage]\ndata_dir = {:?}\n[privacy]\nretention = \"3650d\"\n[pipeline]\ntopics_dir = {:?}\naspects_dir = {:?}\ncomplaint_dir = {:?}\n",
        f.data_dir.display().to_string(),
        repo().join("config/topics").display().to_string(),
        repo().join("config/aspects").display().to_string(),
        repo().join("config/complaint").display().to_string(),
    );
    std::fs::write(&path, text).unwrap();
    // The key the index's pseudonyms would have been made with: the command line refuses
    // to make a new one beside an index.
    let key = f.data_dir.join("pseudonym.key");
    if !key.exists() {
        std::fs::write(key, "0123456789abcdef".repeat(4)).unwrap();
    }
    path.display().to_string()
}

#[test]
fn the_command_writes_the_export_and_refuses_bad_input_clearly() {
    let f = fixture();
    let config = cli_config(&f);
    let out = f.data_dir.join("cli-out");
    let out_arg = out.display().to_string();
    let (code, stdout, stderr) = webcare(&[
        "export", "-c", &config, "--week", "2026-W47", "--weeks", "4", "--format", "csv,json",
        "--out", &out_arg,
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("webcare-2026-W47.csv") && stdout.contains("webcare-2026-W47.json"));
    assert!(
        stderr.contains("2026-W47: 11 mentions, 10 complaints"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(out.join("webcare-2026-W47.csv")).unwrap(),
        std::fs::read(golden_dir().join("webcare-2026-W47.csv")).unwrap()
    );
    let cases: [(&[&str], &str); 8] = [
        (&["--week", "2026-W60"], "--week 2026-W60: week 60 does not exist in 2026 (it has 53)"),
        // Deleted by retention, not silent: a report of it would read "no mentions".
        (&["--week", "2010-W10"], "--week 2010-W10 ended on Sunday 2010-03-14, before the retention period ([privacy] retention = \"3650d\")"),
        (&["--week", "2999-W01"], "--week 2999-W01 has not begun (it starts on 2998-12-31)"),
        (&["--week", "yesterday"], "--week yesterday: not an ISO week; write the year, W and the week number, e.g. 2026-W47"),
        (&["--week", "2026-W47", "--weeks", "0"], "--weeks 0: must be between 1 and 104"),
        (&["--week", "2026-W47", "--format", "csv,pdf"], "--format: unknown format \"pdf\""),
        (&["--week", "2026-W47", "--lang", "fr"], "--lang fr: use nl or en"),
        (&["--week", "2026-W47", "--out", "/proc/webcare-export"], "output directory /proc/webcare-export: cannot write there"),
    ];
    for (extra, message) in cases {
        let mut args: Vec<&str> = vec!["export", "-c", config.as_str()];
        args.extend_from_slice(extra);
        if !extra.contains(&"--out") {
            args.extend_from_slice(&["--out", out_arg.as_str()]);
        }
        let (code, stdout, stderr) = webcare(&args);
        assert_ne!(code, 0, "{extra:?} was accepted: {stdout}");
        assert!(
            stderr.contains(message),
            "{extra:?}: expected {message:?} in: {stderr}"
        );
    }
    // The week in progress: not a whole week to compare, and not the same bytes twice.
    let current =
        webcare::export::week::IsoWeek::containing(chrono::Utc::now(), AMSTERDAM).to_string();
    let (code, stdout, stderr) = webcare(&[
        "export", "-c", &config, "--week", &current, "--out", &out_arg,
    ]);
    assert_ne!(code, 0, "the week in progress was exported: {stdout}");
    assert!(
        stderr.contains(&format!("--week {current} is not over yet")),
        "{stderr}"
    );
    // A directory below a file cannot be made: the message names it too.
    let file = f.data_dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let below = file.join("exports").display().to_string();
    let (code, _, stderr) = webcare(&[
        "export", "-c", &config, "--week", "2026-W47", "--out", &below,
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains(&format!("output directory {below}: cannot write there")),
        "{stderr}"
    );
    // A device where the directory should be is named as what it is.
    if std::path::Path::new("/dev/full").exists() {
        let (code, _, stderr) = webcare(&[
            "export",
            "-c",
            &config,
            "--week",
            "2026-W47",
            "--out",
            "/dev/full",
        ]);
        assert_ne!(code, 0);
        assert!(
            stderr.contains(
                "output directory /dev/full: cannot write there: it is a file, not a directory"
            ),
            "{stderr}"
        );
    }
}

/// An erasure reaches what was written before it: the report files in the export folder
/// and the stored report mail (its message and its attached page) no longer quote the
/// erased post, the other quotes and every count stay, and a file keeps its time (by
/// which the retention run deletes it). Erased from the command line, as an
/// administrator does.
#[test]
fn an_erasure_takes_its_quote_out_of_the_written_reports_and_the_stored_mail() {
    let f = fixture();
    let config = cli_config(&f);
    // The command line's default export folder, where the schedule writes here too.
    let out = f.data_dir.join("exports");
    let mut settings = settings(&out);
    settings.mail_to = vec!["analisten@example.org".into()];
    let at = utc("2026-11-23T06:00:00Z");
    let written = schedule::run_once(&f.sources(), &f.state, &settings, at).unwrap();
    // A quote with a permalink to erase by, beside another of the same complaint.
    let (n, top) = written
        .report
        .top_complaints
        .iter()
        .enumerate()
        .find(|(_, c)| {
            c.examples.len() >= 2
                && c.examples[0]
                    .url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://"))
        })
        .unwrap();
    let (erased, kept) = (top.examples[0].clone(), top.examples[1].clone());
    assert!(!erased.id.is_empty());
    let file = |ext: &str| out.join(format!("webcare-2026-W47.{ext}"));
    let read = |ext: &str| std::fs::read_to_string(file(ext)).unwrap();
    let shown = webcare::export::svg::escape;
    let (csv_before, json_before) = (read("csv"), read("json"));
    assert!(read("html").contains(&shown(&erased.text)));
    assert!(f.state.outbox().unwrap()[0]
        .html
        .contains(&shown(&erased.text)));
    let week_ago = std::time::SystemTime::now() - Duration::from_secs(7 * 86_400);
    for ext in ["json", "html"] {
        let handle = std::fs::File::options()
            .write(true)
            .open(file(ext))
            .unwrap();
        handle.set_modified(week_ago).unwrap();
    }

    let url = erased.url.clone().unwrap();
    let (code, stdout, stderr) = webcare(&["forget", "-c", &config, "--url", &url]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("erased 1 mentions"), "{stdout}");

    let report: serde_json::Value = serde_json::from_str(&read("json")).unwrap();
    let before: serde_json::Value = serde_json::from_str(&json_before).unwrap();
    let examples = &report["top_complaints"][n]["examples"];
    let ids: Vec<&str> = examples
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&erased.id.as_str()), "{ids:?}");
    assert!(ids.contains(&kept.id.as_str()), "{ids:?}");
    assert!(!read("json").contains(&erased.text));
    // The counts are the week's record: they stay as written.
    assert_eq!(report["weeks"], before["weeks"]);
    assert_eq!(report["top_complaints"], {
        let mut without = before["top_complaints"].clone();
        let examples = without[n]["examples"].as_array_mut().unwrap();
        examples.retain(|q| q["id"] != erased.id.as_str());
        without
    });
    assert_eq!(read("csv"), csv_before);
    let page = read("html");
    assert!(!page.contains(&shown(&erased.text)), "{page}");
    assert!(page.contains(&shown(&kept.text)));
    assert!(page.contains("(gewist / erased)"));
    for ext in ["json", "html"] {
        let modified = std::fs::metadata(file(ext)).unwrap().modified().unwrap();
        assert_eq!(modified, week_ago, "{ext}");
    }
    let mail = &f.state.outbox().unwrap()[0];
    assert!(!mail.html.contains(&shown(&erased.text)), "{}", mail.html);
    assert!(mail.html.contains(&shown(&kept.text)));
    assert!(mail.html.contains("(gewist / erased)"));
    assert!(!mail.text.contains(&erased.text), "{}", mail.text);
    let attached = mail
        .attachments
        .iter()
        .find(|a| a.name.ends_with(".html"))
        .unwrap();
    let attached = String::from_utf8(attached.body.clone()).unwrap();
    assert!(!attached.contains(&shown(&erased.text)));
    assert!(attached.contains(&shown(&kept.text)));
}

// ---- a real browser ------------------------------------------------------------------

const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs Chromium headless with `args`; fails the test if it takes over two minutes.
fn chromium(args: &[&str], profile: &Path) -> std::process::Output {
    let mut command = Command::new(CHROMIUM);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args);
    // `output` reads stdout while it waits (a DOM dump is larger than a pipe holds).
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(command.output());
    });
    result
        .recv_timeout(Duration::from_secs(120))
        .expect("chromium finished within two minutes")
        .expect("chromium starts")
}

#[test]
fn the_report_opens_in_a_real_browser_with_its_charts() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!(
            "SKIPPED the_report_opens_in_a_real_browser_with_its_charts: {CHROMIUM} is not installed (apt-get install chromium)"
        );
        return;
    }
    let f = fixture();
    let out = f.data_dir.join("browser");
    let written = webcare::export::export(
        &f.sources(),
        &request("2026-W47", 4, &[Format::Html], &out),
        &mut |_| {},
    )
    .unwrap();
    let page = format!("file://{}", written.files[0].display());
    let profile = f.data_dir.join("chromium-profile");
    // The DOM as the browser built it: both charts, with their series.
    let dom = chromium(&["--dump-dom", &page], &profile);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(dom.matches("<svg").count(), 2, "{dom}");
    for series in [
        "data-series=\"interpreter\"",
        "data-series=\"nl\"",
        "Geopend",
    ] {
        assert!(dom.contains(series), "{series} not in the page");
    }
    // A screenshot of an A4-wide page (794 CSS pixels at 96 dpi).
    let shot = f.data_dir.join("report.png");
    let output = chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=794,1123",
            &page,
        ],
        &profile,
    );
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    // Keep it for a person to look at when asked to.
    if let Some(dir) = std::env::var_os("WEBCARE_SCREENSHOT_DIR") {
        std::fs::copy(shot, Path::new(&dir).join("webcare-2026-W47.png")).unwrap();
    }
}

#[test]
fn iso_weeks_parse_as_the_command_line_takes_them() {
    let w: IsoWeek = "2026-W53".parse().unwrap();
    assert_eq!(w.start(AMSTERDAM), utc("2026-12-27T23:00:00Z"));
    assert_eq!(w.end(AMSTERDAM), utc("2027-01-03T23:00:00Z"));
}

/// A recurring complaint's authors are counted to the last one: an estimate listed a
/// week's complaint with more authors than posts.
#[test]
fn a_recurring_complaint_counts_every_author_once() {
    let item = |id: String, second: usize, author: Option<String>| {
        serde_json::json!({
            "id": id, "lang": "nl", "source": "forum", "aspects": ["waiting_time"],
            "published": format!("2026-11-1{}T{:02}:{:02}:{:02}Z", 7 + second / 86_400 % 3,
                second / 3_600 % 24, second / 60 % 60, second % 60),
            "complaint": true, "cluster": "wave", "author": author,
            "url": null, "text": "De IND reageert niet.",
        })
    };
    let mut items: Vec<serde_json::Value> = (0..3_000)
        .map(|a| item(format!("w{a}"), a * 37, Some(format!("p_{a:024x}"))))
        .collect();
    // The first author twice more, and a copy without an author (a feed's).
    items.push(item("again-1".into(), 5, Some(format!("p_{:024x}", 0))));
    items.push(item("again-2".into(), 6, Some(format!("p_{:024x}", 0))));
    items.push(item("feed".into(), 7, None));
    let dir = tempfile::tempdir().unwrap();
    let mentions: Vec<Mention> = items.iter().map(mention).collect();
    let index = index_of(&dir.path().join("data"), &mentions);
    let sources = Sources {
        index: &index,
        state: None,
        known: &nothing_known,
        thresholds: NO_TERMS,
        kept_from: None,
    };
    let out = dir.path().join("out");
    let written = webcare::export::export(
        &sources,
        &request("2026-W47", 0, &[Format::Json], &out),
        &mut |_| {},
    )
    .unwrap();
    let top = &written.report.top_complaints[0];
    assert_eq!(top.cluster, "wave");
    assert_eq!((top.mentions, top.authors), (3_003, 3_000));
}

/// One post reposted by twenty accounts is one voice, and one person posting six
/// complaints is one voice: neither makes a trend, while twenty people who each complain
/// do (the audit's case: "+2414% ▲ significant" for one repost wave).
#[test]
fn a_repost_wave_or_one_busy_author_makes_no_trend_but_many_people_do() {
    let item = |id: String, at: &str, aspect: &str, cluster: String, author: Option<String>| {
        serde_json::json!({
            "id": id, "published": at, "lang": "nl", "source": "forum", "aspects": [aspect],
            "complaint": true, "cluster": cluster, "author": author,
            "url": null, "text": "De IND reageert niet.",
        })
    };
    let mut items = Vec::new();
    // Four quiet weeks (W43–W46): three people a week about waiting.
    for (w, monday) in ["2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09"]
        .iter()
        .enumerate()
    {
        for p in 0..3 {
            items.push(item(
                format!("q{w}{p}"),
                &format!("{monday}T10:0{p}:00Z"),
                "waiting_time",
                format!("cq{w}{p}"),
                Some(format!("p_q{p}")),
            ));
        }
    }
    // W47: the same three, a treatment post reposted by 20 accounts (one cluster), and
    // one person with six complaints about the hearing in their own words.
    for p in 0..3 {
        items.push(item(
            format!("r{p}"),
            &format!("2026-11-16T10:0{p}:00Z"),
            "waiting_time",
            format!("cr{p}"),
            Some(format!("p_q{p}")),
        ));
    }
    for a in 0..20 {
        items.push(item(
            format!("v{a:02}"),
            &format!("2026-11-17T12:{a:02}:00Z"),
            "treatment",
            "viral".into(),
            Some(format!("p_v{a}")),
        ));
    }
    for n in 0..6 {
        items.push(item(
            format!("s{n}"),
            &format!("2026-11-18T0{n}:00:00Z"),
            "hearing",
            format!("cs{n}"),
            Some("p_serial".into()),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let mentions: Vec<Mention> = items.iter().map(mention).collect();
    let index = index_of(&dir.path().join("data"), &mentions);
    let sources = Sources {
        index: &index,
        state: None,
        known: &nothing_known,
        thresholds: NO_TERMS,
        kept_from: None,
    };
    let out = dir.path().join("out");
    let mut csv_request = request(
        "2026-W47",
        4,
        &[Format::Json, Format::Csv, Format::Html],
        &out,
    );
    csv_request.csv_delimiter = b';';
    let written = webcare::export::export(&sources, &csv_request, &mut |_| {}).unwrap();
    let report = &written.report;
    let week = report.current().unwrap();
    // Voices as the alerts count them: the three people, the one who first posted what
    // twenty reposted, and the one with six complaints. (The smaller of the distinct
    // clusters, 10, and the distinct authors, 24, took the busy author for six.)
    assert_eq!((week.complaints, week.complaint_voices), (29, 5));
    let changes = &report.changes;
    use webcare::export::data::Significance;
    // The posts jump; per aspect the people do not.
    assert_eq!(changes.complaints.vs_previous, Significance::Up);
    assert_eq!(changes.aspects["treatment"].current, 1);
    assert_eq!(changes.aspects["treatment"].vs_mean, Significance::None);
    assert_eq!(changes.aspects["hearing"].current, 1);
    assert_eq!(changes.aspects["hearing"].vs_mean, Significance::None);
    // The repost wave is listed by how far it spread, as one voice.
    assert_eq!(report.top_complaints[0].cluster, "viral");
    assert_eq!(report.top_complaints[0].authors, 20);
    let csv = std::fs::read_to_string(out.join("webcare-2026-W47.csv")).unwrap();
    assert!(csv.starts_with(
        "week;week_start;aspect;language;mentions;complaints;complaint_voices;history\r\n"
    ));
    assert!(
        csv.contains("2026-W47;2026-11-16;*;*;29;29;5;whole\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains("2026-W47;2026-11-16;treatment;*;20;20;1;whole\r\n"),
        "{csv}"
    );
    let html = std::fs::read_to_string(out.join("webcare-2026-W47.html")).unwrap();
    assert!(
        html.contains(
            "<td>Stemmen met een klacht</td><td class=\"n\">5</td><td class=\"n\">3</td>"
        ),
        "{html}"
    );
    assert!(html.contains("dir=\"ltr\" lang=\"nl\""));

    // Twenty people, each in their own words, are a trend.
    let many: Vec<Mention> = (0..20)
        .map(|p| {
            mention(&item(
                format!("m{p:02}"),
                &format!("2026-11-19T10:{p:02}:00Z"),
                "interpreter",
                format!("cm{p}"),
                Some(format!("p_m{p}")),
            ))
        })
        .collect();
    let mut writer = index.writer().unwrap();
    for m in &many {
        writer.upsert(m).unwrap();
    }
    writer.commit(&Checkpoints::new()).unwrap();
    writer.finish().unwrap();
    index.reload().unwrap();
    let written = webcare::export::export(
        &sources,
        &request("2026-W47", 4, &[Format::Json], &out),
        &mut |_| {},
    )
    .unwrap();
    let changes = &written.report.changes;
    assert_eq!(
        changes.complaint_voices.as_ref().unwrap().vs_previous,
        Significance::Up
    );
    assert_eq!(changes.aspects["interpreter"].current, 20);
    assert_eq!(changes.aspects["interpreter"].vs_mean, Significance::Up);

    // A week with nothing after a busy one says to check the sources.
    let written = webcare::export::export(
        &sources,
        &request("2026-W48", 4, &[Format::Html], &out),
        &mut |_| {},
    )
    .unwrap();
    assert!(written.report.is_empty_week());
    let html = std::fs::read_to_string(out.join("webcare-2026-W48.html")).unwrap();
    assert!(html.contains("Geen meldingen in deze week."));
    assert!(
        html.contains("De week ervoor waren er 49 meldingen. Controleer of de bronnen nog werken"),
        "{html}"
    );
    assert!(
        html.contains("<td>Meldingen</td><td class=\"n\">0</td><td class=\"n\">49</td>"),
        "{html}"
    );
}
