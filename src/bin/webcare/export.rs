//! `webcare export`: the weekly trends written as files.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use webcare::config::Config;
use webcare::export::week::IsoWeek;
use webcare::export::{Format, Language, Progress, Request, Sources};
use webcare::search::MentionIndex;

use crate::setup::{audit_cli, days_or_exact, load_to_write, open_state};

/// `webcare export`'s options, before they are checked.
pub(crate) struct ExportArgs {
    pub(crate) week: Option<String>,
    pub(crate) weeks: Option<u32>,
    pub(crate) formats: Vec<String>,
    pub(crate) out: Option<PathBuf>,
    pub(crate) lang: Option<String>,
    pub(crate) bom: bool,
    pub(crate) csv_delimiter: Option<String>,
}

/// The export request from the options, with the config's `[export]` as defaults.
fn export_request(config: &Config, args: &ExportArgs) -> Result<Request> {
    use webcare::export::settings::{check_weeks, parse_csv_delimiter, parse_formats};
    let settings = &config.export;
    let tz = settings.schedule.tz;
    let week = match &args.week {
        Some(text) => text
            .parse::<IsoWeek>()
            .map_err(|e| anyhow::anyhow!("--week {e}"))?,
        None => IsoWeek::last_complete(chrono::Utc::now(), tz),
    };
    let current = IsoWeek::containing(chrono::Utc::now(), tz);
    if week > current {
        bail!(
            "--week {week} has not begun (it starts on {}); the last complete week is {}",
            week.monday(),
            current.previous()
        );
    }
    // A report of part of a week would be compared with whole weeks, and would change
    // under the same file names with every run.
    if week == current {
        bail!(
            "--week {week} is not over yet (it ends on Sunday {}); the last complete week is {}",
            week.sunday(),
            current.previous()
        );
    }
    check_within_retention(config, week)?;
    let weeks_before = match args.weeks {
        Some(n) => check_weeks(n).map_err(|m| anyhow::anyhow!("--weeks {m}"))?,
        None => settings.weeks,
    };
    let formats = if args.formats.is_empty() {
        Format::ALL.to_vec()
    } else {
        parse_formats(&args.formats).map_err(|m| anyhow::anyhow!("--format: {m}"))?
    };
    let language = match &args.lang {
        Some(code) => {
            Language::parse(code).ok_or_else(|| anyhow::anyhow!("--lang {code}: use nl or en"))?
        }
        None => settings.language,
    };
    Ok(Request {
        week,
        weeks_before,
        tz,
        formats,
        out_dir: args.out.clone().unwrap_or_else(|| settings.out_dir.clone()),
        language,
        bom: args.bom || settings.bom,
        csv_delimiter: match &args.csv_delimiter {
            Some(text) => {
                parse_csv_delimiter(text).map_err(|m| anyhow::anyhow!("--csv-delimiter {m}"))?
            }
            None => settings.csv_delimiter,
        },
    })
}

/// Refuses a week whose mentions retention has deleted: its report would read "no
/// mentions", which an analyst takes for silence. A week partly deleted is reported,
/// with a warning that its first days are missing.
fn check_within_retention(config: &Config, week: IsoWeek) -> Result<()> {
    let tz = config.export.schedule.tz;
    let cutoff = webcare::retention::mention_cutoff(&config.privacy, chrono::Utc::now());
    let retention = days_or_exact(config.privacy.retention);
    let kept_from = cutoff.with_timezone(&tz).format("%Y-%m-%d %H:%M");
    if week.end(tz) <= cutoff {
        let oldest = IsoWeek::containing(cutoff, tz);
        let oldest_whole = if oldest.start(tz) < cutoff {
            oldest.next()
        } else {
            oldest
        };
        let current = IsoWeek::containing(chrono::Utc::now(), tz);
        let oldest_kept = if oldest_whole < current {
            format!("the oldest whole week still kept is {oldest_whole}")
        } else {
            "no whole week is kept (the retention period is shorter than a week)".to_string()
        };
        bail!(
            "--week {week} ended on Sunday {}, before the retention period ([privacy] retention = \"{retention}\"): \
             mentions published before {kept_from} have been deleted, so nothing of that week is left to report; \
             {oldest_kept}",
            week.sunday()
        );
    }
    if week.start(tz) < cutoff {
        errln!(
            "warning: mentions published before {kept_from} have been deleted ([privacy] retention = \"{retention}\"): \
             {week} is reported without its first days"
        );
    }
    Ok(())
}

pub(crate) fn export(config_path: &Path, args: &ExportArgs) -> Result<()> {
    let config = load_to_write(config_path)?;
    let request = export_request(&config, args)?;
    let index = MentionIndex::open(&config.storage.data_dir)?;
    let state = open_state(&config)?;
    // What the rules cover, as the daemon's scheduled export reads it.
    let pipeline = webcare::pipeline::Pipeline::from_config(&config.pipeline)?;
    let known = |term: &str| pipeline.known_term(term);
    let sources = Sources {
        index: &index,
        state: Some(&state),
        known: &known,
        thresholds: config.alerts.thresholds(),
        kept_from: Some(webcare::retention::mention_cutoff(
            &config.privacy,
            chrono::Utc::now(),
        )),
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:32} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut progress = |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(p.step);
    };
    let written = webcare::export::export(&sources, &request, &mut progress);
    bar.finish_and_clear();
    let written = written?;
    audit_cli(
        &config,
        "export",
        &format!(
            "week {}: {} files in {}",
            written.report.week,
            written.files.len(),
            request.out_dir.display()
        ),
    )?;
    if let Some(week) = written.report.current() {
        errln!(
            "{}: {} mentions, {} complaints; {} files in {}",
            written.report.week,
            week.mentions,
            week.complaints,
            written.files.len(),
            request.out_dir.display()
        );
    }
    for file in &written.files {
        outln!("{}", file.display());
    }
    Ok(())
}
