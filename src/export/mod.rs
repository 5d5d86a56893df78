//! The weekly trend export: what people said in one ISO week and the weeks before it,
//! per aspect of the procedure, as data (CSV, JSON), charts (SVG, PNG) and a report to
//! forward (HTML), written to a folder and, on the daemon's schedule, mailed.
//!
//! [`data`] computes the numbers from the index with aggregations, one query per week,
//! never by loading every mention; the formats only render them ([`csv`], [`json`],
//! [`svg`], [`png`], [`html`]). Weeks are ISO weeks on the clocks of a time zone
//! ([`week`]). Nothing in the output depends on when it was made: exporting the same
//! week of the same index twice writes the same bytes, and each file is replaced
//! atomically, so a reader never sees half a file.

pub mod csv;
pub mod data;
pub mod erase;
pub mod html;
pub mod json;
pub mod labels;
pub mod mail;
pub mod png;
pub mod schedule;
pub mod settings;
pub mod svg;
pub mod week;

use std::path::{Path, PathBuf};

use chrono_tz::Tz;

use self::data::Report;
use self::week::IsoWeek;
use crate::alerts::stats::Thresholds;
use crate::files::{Draft, Permissions};
use crate::search::MentionIndex;
use crate::state::{StateDb, StateError};

/// What the export can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
    Html,
    Svg,
    Png,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Csv,
        Format::Json,
        Format::Html,
        Format::Svg,
        Format::Png,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Html => "html",
            Format::Svg => "svg",
            Format::Png => "png",
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(name))
    }
}

/// The language of the report and chart labels (the data is the same in both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Nl,
    En,
}

impl Language {
    pub fn parse(code: &str) -> Option<Language> {
        match code.to_ascii_lowercase().as_str() {
            "nl" => Some(Language::Nl),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Nl => "nl",
            Language::En => "en",
        }
    }
}

/// One export: which week, how far back, what to write where.
#[derive(Debug, Clone)]
pub struct Request {
    pub week: IsoWeek,
    /// Weeks before `week` in the trends and the mean.
    pub weeks_before: u32,
    pub tz: Tz,
    pub formats: Vec<Format>,
    pub out_dir: PathBuf,
    pub language: Language,
    /// Start the CSV with a UTF-8 byte-order mark.
    pub bom: bool,
    /// What separates the CSV's fields: `,` (RFC 4180) or `;` (a spreadsheet set to
    /// Dutch or German opens only that in columns), or a tab.
    pub csv_delimiter: u8,
}

/// The two charts, by the suffix of their file names.
pub const CHARTS: [&str; 2] = ["aspects", "languages"];

impl Request {
    /// The names of the files this request writes, in the order of its formats.
    pub fn files(&self) -> Vec<String> {
        self.formats
            .iter()
            .flat_map(|f| file_names(self.week, *f))
            .collect()
    }
}

/// `webcare-2026-W47.csv`; the charts are `webcare-2026-W47-aspects.svg` and
/// `webcare-2026-W47-languages.svg` (and `.png`).
pub fn file_names(week: IsoWeek, format: Format) -> Vec<String> {
    match format {
        Format::Svg | Format::Png => CHARTS
            .iter()
            .map(|chart| format!("webcare-{week}-{chart}.{}", format.as_str()))
            .collect(),
        _ => vec![format!("webcare-{week}.{}", format.as_str())],
    }
}

/// Whether `name` is a file an export writes (`webcare-2026-W47.csv`, …): the retention
/// run deletes only those, never other files that share the directory.
pub fn is_export_file(name: &str) -> bool {
    let week = name
        .strip_prefix("webcare-")
        .and_then(|rest| rest.get(..8))
        .and_then(|week| week.parse::<IsoWeek>().ok());
    week.is_some_and(|week| {
        Format::ALL
            .into_iter()
            .flat_map(|f| file_names(week, f))
            .any(|file| file == name)
    })
}

/// What an export reads.
pub struct Sources<'a> {
    pub index: &'a MentionIndex,
    /// For the incidents of the week; without it the report lists none.
    pub state: Option<&'a StateDb>,
    /// What the rules know of a word (emerging terms leave out what they cover:
    /// [`crate::alerts::terms::emerging`]).
    pub known: &'a dyn Fn(&str) -> crate::pipeline::KnownTerm,
    /// Emerging terms are tested with the alert thresholds.
    pub thresholds: Thresholds,
    /// Since when the index holds everything (what retention has not erased): a week
    /// that began earlier is incomplete, and no week to compare with.
    pub kept_from: Option<chrono::DateTime<chrono::Utc>>,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub report: Report,
    pub files: Vec<PathBuf>,
}

/// How far an export is, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
    /// What was just finished (`2026-W45`, `top complaints`, `html`, …).
    pub step: String,
}

/// Why an export failed. Each names the file, directory or part concerned.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("output directory {}: cannot write there: {source}", path.display())]
    OutDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading the index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{what}: {message}")]
    Render { what: String, message: String },
}

/// Computes the report of `request.week` and writes every requested format into
/// `request.out_dir`, calling `progress` after each step.
pub fn export(
    sources: &Sources,
    request: &Request,
    progress: &mut dyn FnMut(Progress),
) -> Result<Written, ExportError> {
    // Before the work: an unwritable directory should fail at once, not after a minute.
    check_out_dir(&request.out_dir)?;
    let total = data::steps(request.weeks_before) + request.formats.len() as u64;
    let mut done = 0;
    let mut tick = |step: &str| {
        done += 1;
        progress(Progress {
            done,
            total,
            step: step.to_string(),
        });
    };
    let period = data::Period {
        week: request.week,
        weeks_before: request.weeks_before,
        tz: request.tz,
    };
    let report = data::compute(sources, &period, &mut tick)?;
    let charts = svg::charts(&report, request.language);
    let mut files = Vec::new();
    for format in &request.formats {
        let names = file_names(request.week, *format);
        let contents = render(&report, &charts, *format, request)?;
        for (name, bytes) in names.into_iter().zip(contents) {
            let path = request.out_dir.join(name);
            write_atomically(&path, &bytes, None)?;
            files.push(path);
        }
        tick(format.as_str());
    }
    // A mention erased while the report was computed was cleaned from the files before
    // these existed: they are checked against the index as it is now.
    erase::forget_in(&files, &|id: &str| {
        sources.index.contains(id).unwrap_or(true)
    });
    Ok(Written { report, files })
}

/// The contents of `format`, one per file name of [`file_names`].
pub fn render(
    report: &Report,
    charts: &svg::Charts,
    format: Format,
    request: &Request,
) -> Result<Vec<Vec<u8>>, ExportError> {
    Ok(match format {
        Format::Csv => vec![csv::render(report, request.bom, request.csv_delimiter)?],
        Format::Json => vec![json::render(report)?],
        Format::Html => vec![html::render(report, charts, request.language).into_bytes()],
        Format::Svg => charts
            .all()
            .iter()
            .map(|svg| svg.as_bytes().to_vec())
            .collect(),
        Format::Png => {
            let mut out = Vec::new();
            for (name, svg) in CHARTS.iter().zip(charts.all()) {
                out.push(png::render(svg).map_err(|message| ExportError::Render {
                    what: format!("{name} chart as PNG"),
                    message,
                })?);
            }
            out
        }
    })
}

/// Creates `dir` if needed and proves it writable with a file that is removed again.
pub fn check_out_dir(dir: &Path) -> Result<(), ExportError> {
    let fail = |source| ExportError::OutDir {
        path: dir.to_path_buf(),
        source,
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    // The reports quote mentions: a directory made here is never writable by others,
    // whatever the umask (a directory that exists is left as its owner set it).
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o750);
    // A file, or a device (`/dev/full`), where the directory should be.
    if dir.exists() && !dir.is_dir() {
        return Err(fail(std::io::Error::other(
            "it is a file, not a directory; name a directory for the report files",
        )));
    }
    builder.create(dir).map_err(fail)?;
    tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    Ok(())
}

/// How the temporary files of [`write_atomically`] begin: one a crash left behind holds a
/// whole report with its quotes, and is known by this ([`remove_stale_temporary_files`]).
const TEMP_PREFIX: &str = ".webcare-export-";
/// A temporary file older than this was left by a crash: a report is written in seconds.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes the temporary files a crash left in `dir` while writing a report (they quote
/// mentions, which neither erasure nor retention would find there); how many went.
pub fn remove_stale_temporary_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let stale = |entry: &std::fs::DirEntry| {
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(TEMP_PREFIX));
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP);
        ours && old && entry.file_type().is_ok_and(|t| t.is_file())
    };
    entries
        .flatten()
        .filter(stale)
        .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
        .count()
}

/// Writes `path` whole or not at all ([`crate::files`]). A file it replaces keeps its
/// permissions from the start, so a report an administrator closed further is never open
/// to others, not even for a moment; given `modified`, the new file has that time (the one
/// the retention run reads: an erasure rewrites old reports and must not make them new).
fn write_atomically(
    path: &Path,
    bytes: &[u8],
    modified: Option<std::time::SystemTime>,
) -> Result<(), ExportError> {
    let fail = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    // A new export is for the team to read, as the umask allows.
    let mut draft = Draft::beside(path, TEMP_PREFIX, Permissions::KeepOr(0o644)).map_err(fail)?;
    draft.write_all(bytes).map_err(fail)?;
    if let Some(modified) = modified {
        draft.as_file().set_modified(modified).map_err(fail)?;
    }
    draft.put_in_place().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reports quote mentions: a directory the export makes keeps others out.
    #[cfg(unix)]
    #[test]
    fn a_directory_the_export_makes_is_closed_to_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("share/webcare");
        check_out_dir(&out).unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o007, 0, "mode {mode:o}");
    }

    /// A week exported again keeps what the administrator set on its report: a report
    /// closed to others is not opened by the next export.
    #[cfg(unix)]
    #[test]
    fn a_report_exported_again_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webcare-2026-W47.csv");
        write_atomically(&path, b"week,mentions\n", None).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomically(&path, b"week,mentions\n2026-W47,3\n", None).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
        assert!(std::fs::read_to_string(&path).unwrap().ends_with(",3\n"));
    }

    /// A crash while a report was written leaves a whole report under a temporary name;
    /// an hour on it goes, and nobody else's temporary files with it.
    #[test]
    fn a_temporary_report_a_crash_left_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join(format!("{TEMP_PREFIX}abc123"));
        let fresh = dir.path().join(format!("{TEMP_PREFIX}def456"));
        let theirs = dir.path().join(".tmpXYZ");
        for path in [&ours, &fresh, &theirs] {
            std::fs::write(path, "a quote").unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - 2 * STALE_TEMP;
        for path in [&ours, &theirs] {
            let file = std::fs::File::options().write(true).open(path).unwrap();
            file.set_modified(two_hours_ago).unwrap();
        }
        assert_eq!(remove_stale_temporary_files(dir.path()), 1);
        assert!(!ours.exists() && fresh.exists() && theirs.exists());
    }

    #[test]
    fn only_the_names_an_export_writes_are_export_files() {
        for name in [
            "webcare-2026-W47.csv",
            "webcare-2026-W47.json",
            "webcare-2026-W47-aspects.png",
            "webcare-2020-W53-languages.svg",
        ] {
            assert!(is_export_file(name), "{name}");
        }
        for name in [
            "webcare-2026-W47.csv.bak",
            "webcare-2026-W47-custom.pdf",
            "webcare-2026-W60.csv",
            "webcare-notes.txt",
            "pseudonym.key",
            "users.toml",
        ] {
            assert!(!is_export_file(name), "{name}");
        }
    }
}
