//! `webcare search`: the index searched from the shell.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Result};

use webcare::demo;
use webcare::search::{MentionIndex, SearchRequest, SearchResults};

use crate::setup::{audit_cli, demo_of_another_version, load_to_write};

pub(crate) fn search(
    config_path: &Path,
    demo_mode: bool,
    mut request: SearchRequest,
    (from, to): (Option<String>, Option<String>),
    json: bool,
) -> Result<()> {
    let mut config = load_to_write(config_path)?;
    if demo_mode {
        // The demo's own index, audit trail and key.
        demo::use_demo_files(&mut config);
        let index = config.storage.data_dir.join(webcare::search::INDEX_DIR);
        if !index.join("meta.json").exists() {
            // Rather than make an empty demo index, audit trail and key, and find nothing.
            bail!(
                "no demo has run here yet ({} holds no index): start one with `webcare run --demo`, in another shell",
                config.storage.data_dir.display()
            );
        }
        if demo_of_another_version(&config.storage.data_dir) {
            // The demo is disposable: its own start replaces it, no `reindex` needed.
            bail!(
                "the demo in {} was made by another webcare version: `webcare run --demo` (in another shell) starts it afresh for this one",
                config.storage.data_dir.display()
            );
        }
    }
    let tz = config.export.schedule.tz;
    request.from = from
        .map(|v| parse_time("--from", &v, false, tz))
        .transpose()?;
    request.to = to.map(|v| parse_time("--to", &v, true, tz)).transpose()?;
    let request = &request;
    // Recorded before anything is shown: a search that cannot be audited is not run.
    audit_cli(&config, "search", &request.describe())?;
    let index = MentionIndex::open(&config.storage.data_dir)?;
    // A typo in `--source` is answered with the sources this index is polled from.
    let sources = match demo_mode {
        true => demo::source_names(),
        false => config.source_names(),
    };
    let results = index.search_known(request, &sources, &config.pipeline.languages)?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &results)?;
        writeln!(out)?;
    } else {
        print_results(&mut out, &results, request.offset.unwrap_or(0), tz)?;
    }
    Ok(())
}

/// The hits for reading: times on the team's clocks (`[export] time_zone`, as the date
/// filters read them), with the zone's abbreviation.
fn print_results(
    out: &mut impl Write,
    results: &SearchResults,
    offset: usize,
    tz: chrono_tz::Tz,
) -> Result<()> {
    let shown = results.hits.len();
    let total = match results.total {
        1 => "1 mention".to_string(),
        n => format!("{n} mentions"),
    };
    if shown == results.total {
        writeln!(out, "{total}")?;
    } else if shown == 0 {
        writeln!(out, "{total}, none from {}", offset + 1)?;
    } else {
        // Which page this is, for reading on with `--offset`.
        let (first, last) = (offset + 1, offset + shown);
        writeln!(out, "{total}, {first}-{last} shown")?;
    }
    for hit in &results.hits {
        writeln!(out)?;
        writeln!(
            out,
            "{}  [{}] {}  ({})",
            hit.published.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z"),
            hit.lang,
            hit.title,
            hit.source
        )?;
        writeln!(out, "  {}", strip_tags(&hit.snippet))?;
        let mut labels = Vec::new();
        if !hit.aspects.is_empty() {
            labels.push(hit.aspects.join(", "));
        }
        if hit.complaint == Some(true) {
            labels.push(format!(
                "complaint {:.2}",
                hit.complaint_score.unwrap_or_default()
            ));
        }
        if hit.cluster_size > 1 {
            // The cluster holds this mention too: "3 alike" is it and two others.
            let voices = match hit.voices {
                1 => "1 voice".to_string(),
                n => format!("{n} voices"),
            };
            labels.push(format!("{} alike, {voices}", hit.cluster_size));
        }
        if !labels.is_empty() {
            writeln!(out, "  ({})", labels.join("; "))?;
        }
        if let Some(url) = &hit.url {
            writeln!(out, "  {url}")?;
        }
    }
    Ok(())
}

/// Snippets are HTML for the API; the terminal gets the highlighted words in *stars*.
fn strip_tags(snippet: &str) -> String {
    webcare::pipeline::extract::unescape_markup(&snippet.replace("<b>", "*").replace("</b>", "*"))
}

pub(crate) fn parse_time(
    flag: &str,
    value: &str,
    end_of_day: bool,
    tz: chrono_tz::Tz,
) -> Result<chrono::DateTime<chrono::Utc>> {
    // The message names the parameter already: "invalid parameter `--from`: …".
    webcare::http::parse_time(flag, value, end_of_day, tz)
        .map_err(|e| anyhow::anyhow!("{}", e.message()))
}
