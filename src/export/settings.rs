//! `[export]` in the config: the weekly export's schedule, output and recipients. Strict,
//! with file, line and key in every error, like the other sections.

use std::path::{Path, PathBuf};

use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use super::schedule::Schedule;
use super::week::DEFAULT_TIME_ZONE;
use super::{Format, Language};
use crate::alerts::settings::Mail;
use crate::config::{ConfigError, Validator};

/// Off unless switched on: an export nobody reads is work for nothing.
const DEFAULT_ENABLED: bool = false;
const DEFAULT_WEEKDAY: Weekday = Weekday::Mon;
/// 07:00: before the Monday meeting, after the night's polls.
const DEFAULT_TIME: (u32, u32) = (7, 0);
/// The export folder under `data_dir`, unless configured elsewhere.
const DEFAULT_OUT_DIR: &str = "exports";
/// Weeks before the exported one that the trends and the mean cover.
pub const DEFAULT_WEEKS: u32 = 12;
/// Two years: more than retention keeps, and as far as a chart stays readable.
pub const MAX_WEEKS: u32 = 104;

/// The weekly export (`[export]`).
#[derive(Debug, Clone)]
pub struct Export {
    /// Run it on the schedule in the daemon.
    pub enabled: bool,
    /// When it runs, and the time zone of weeks and schedule alike.
    pub schedule: Schedule,
    pub out_dir: PathBuf,
    /// Weeks before the exported one.
    pub weeks: u32,
    pub formats: Vec<Format>,
    pub language: Language,
    /// Start the CSV with a byte-order mark, for spreadsheet programs.
    pub bom: bool,
    /// What separates the CSV's fields ([`parse_csv_delimiter`]).
    pub csv_delimiter: u8,
    /// Who gets the report by mail (through `[mail]` and its outbox).
    pub mail_to: Vec<String>,
}

impl Export {
    /// The defaults, with the output under `data_dir`.
    pub fn defaults(data_dir: &Path) -> Export {
        Export {
            enabled: DEFAULT_ENABLED,
            schedule: Schedule {
                weekday: DEFAULT_WEEKDAY,
                time: NaiveTime::from_hms_opt(DEFAULT_TIME.0, DEFAULT_TIME.1, 0)
                    .unwrap_or(NaiveTime::MIN),
                tz: DEFAULT_TIME_ZONE,
            },
            out_dir: data_dir.join(DEFAULT_OUT_DIR),
            weeks: DEFAULT_WEEKS,
            formats: Format::ALL.to_vec(),
            language: Language::Nl,
            bom: false,
            csv_delimiter: b',',
            mail_to: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExport {
    enabled: Option<bool>,
    weekday: Option<Spanned<String>>,
    time: Option<Spanned<String>>,
    time_zone: Option<Spanned<String>>,
    out_dir: Option<Spanned<String>>,
    weeks: Option<Spanned<u32>>,
    formats: Option<Spanned<Vec<String>>>,
    language: Option<Spanned<String>>,
    bom: Option<bool>,
    csv_delimiter: Option<Spanned<String>>,
    mail_to: Option<Spanned<Vec<String>>>,
}

/// A CSV delimiter from the config or the command line: `,`, `;` or a tab (`\t` or
/// `tab`).
pub fn parse_csv_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "," => Ok(b','),
        ";" => Ok(b';'),
        "\t" | "\\t" | "tab" => Ok(b'\t'),
        other => Err(format!(
            "{other:?}: use \",\" (the standard), \";\" (spreadsheets set to Dutch or German) or \"tab\""
        )),
    }
}

/// The weeks option, from the config or the command line.
pub fn check_weeks(weeks: u32) -> Result<u32, String> {
    if weeks == 0 || weeks > MAX_WEEKS {
        return Err(format!(
            "{weeks}: must be between 1 and {MAX_WEEKS} (weeks before the exported one)"
        ));
    }
    Ok(weeks)
}

/// A format list such as `["csv", "html"]`, from the config or the command line.
pub fn parse_formats(list: &[String]) -> Result<Vec<Format>, String> {
    let mut formats = Vec::new();
    for name in list {
        let format = Format::parse(name.trim()).ok_or_else(|| {
            format!(
                "unknown format {name:?}; known: {}",
                Format::ALL.map(Format::as_str).join(", ")
            )
        })?;
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    if formats.is_empty() {
        return Err(format!(
            "needs at least one format of {}",
            Format::ALL.map(Format::as_str).join(", ")
        ));
    }
    Ok(formats)
}

pub(crate) fn export(
    v: &Validator,
    raw: RawExport,
    data_dir: &Path,
    mail: &Mail,
) -> Result<Export, ConfigError> {
    let d = Export::defaults(data_dir);
    let weekday = match raw.weekday {
        Some(w) => w.get_ref().trim().parse::<Weekday>().map_err(|_| {
            v.invalid(
                Some(w.span()),
                "export.weekday",
                format!(
                    "{:?} is not a day of the week; use mon, tue, wed, thu, fri, sat or sun",
                    w.get_ref()
                ),
            )
        })?,
        None => d.schedule.weekday,
    };
    let time = match raw.time {
        Some(t) => NaiveTime::parse_from_str(t.get_ref().trim(), "%H:%M").map_err(|_| {
            v.invalid(
                Some(t.span()),
                "export.time",
                format!(
                    "{:?} is not a time of day; write it as \"07:00\"",
                    t.get_ref()
                ),
            )
        })?,
        None => d.schedule.time,
    };
    let tz = match raw.time_zone {
        Some(z) => z.get_ref().trim().parse::<Tz>().map_err(|_| {
            v.invalid(
                Some(z.span()),
                "export.time_zone",
                format!(
                    "{:?} is not a time zone of the IANA database, e.g. \"Europe/Amsterdam\"",
                    z.get_ref()
                ),
            )
        })?,
        None => d.schedule.tz,
    };
    let out_dir = match raw.out_dir {
        Some(dir) if dir.get_ref().trim().is_empty() => {
            return Err(v.invalid(
                Some(dir.span()),
                "export.out_dir",
                "must name a directory (it is created when missing)",
            ))
        }
        Some(dir) => {
            let span = dir.span();
            let path = PathBuf::from(dir.into_inner());
            crate::config::check_data_dir(&path)
                .map_err(|m| v.invalid(Some(span), "export.out_dir", m))?;
            path
        }
        None => d.out_dir,
    };
    let weeks = match raw.weeks {
        Some(n) => {
            check_weeks(*n.get_ref()).map_err(|m| v.invalid(Some(n.span()), "export.weeks", m))?
        }
        None => d.weeks,
    };
    let formats = match raw.formats {
        Some(list) => parse_formats(list.get_ref())
            .map_err(|m| v.invalid(Some(list.span()), "export.formats", m))?,
        None => d.formats,
    };
    let language = match raw.language {
        Some(l) => Language::parse(l.get_ref().trim()).ok_or_else(|| {
            v.invalid(
                Some(l.span()),
                "export.language",
                format!("{:?}: use \"nl\" or \"en\"", l.get_ref()),
            )
        })?,
        None => d.language,
    };
    let csv_delimiter = match raw.csv_delimiter {
        Some(text) => parse_csv_delimiter(text.get_ref())
            .map_err(|m| v.invalid(Some(text.span()), "export.csv_delimiter", m))?,
        None => d.csv_delimiter,
    };
    let mail_to = match raw.mail_to {
        Some(list) => {
            let span = list.span();
            if let Some(bad) = list
                .get_ref()
                .iter()
                .find(|a| a.parse::<lettre::message::Mailbox>().is_err())
            {
                return Err(v.invalid(
                    Some(span),
                    "export.mail_to",
                    format!("{bad:?} is not an e-mail address"),
                ));
            }
            if !list.get_ref().is_empty() && mail.smtp.is_none() {
                return Err(v.invalid(
                    Some(span),
                    "export.mail_to",
                    "the report can only be mailed with [mail] enabled (enabled = true and smtp_host)",
                ));
            }
            list.into_inner()
        }
        None => d.mail_to,
    };
    Ok(Export {
        enabled: raw.enabled.unwrap_or(d.enabled),
        schedule: Schedule { weekday, time, tz },
        out_dir,
        weeks,
        formats,
        language,
        bom: raw.bom.unwrap_or(d.bom),
        csv_delimiter,
        mail_to,
    })
}
