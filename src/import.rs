//! `webcare import FILE.jsonl`: mentions from JSON Lines through the same pipeline into
//! the index — for backfills, moving data in from other tools, and evaluation.
//!
//! One object per line: `{"id","text","published"(RFC 3339),"title"?,"url"?,"author"?,
//! "source"?,"lang"?}`; other fields are ignored. A bad line is reported with its number
//! and skipped; the rest goes in. Importing the same file twice changes nothing: ids are
//! derived from (`source`, `id`) and writes replace.

use std::hash::BuildHasher;
use std::io::BufRead;

use chrono::{DateTime, Utc};
use rustc_hash::{FxBuildHasher, FxHashSet};
use serde::Deserialize;

use crate::mention::Mention;
use crate::pipeline::extract::{any_to_text, canonical_url};
use crate::pipeline::{Pipeline, MAX_TEXT_BYTES, MAX_TITLE_BYTES};
use crate::search::{IndexError, MentionIndex};

/// The source name of imported lines that name none.
pub const DEFAULT_SOURCE: &str = "import";
/// Commit after this many lines, so a long import that fails late keeps its progress.
const COMMIT_EVERY: usize = 50_000;
/// Longest line read; a longer one is reported and skipped, not buffered.
const MAX_LINE_BYTES: usize = 1024 * 1024;

/// One line of the import format.
#[derive(Debug, Deserialize)]
pub struct ImportRecord {
    pub id: String,
    pub text: String,
    pub published: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// The author's handle; only its pseudonym is stored.
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
}

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportReport {
    pub lines: usize,
    /// Blank lines, read past without a word.
    pub blank: usize,
    /// Mentions written, each once: a line whose id an earlier line had is `repeated`.
    pub indexed: usize,
    /// Lines with the id of an earlier line of the file (after the pipeline, so from the
    /// same source): stored over it, as a second poll of an item would be.
    pub repeated: usize,
    pub not_relevant: usize,
    /// Published before the retention period: not stored, as retention would erase them.
    pub too_old: usize,
    /// Erased before (their permalink or author): not stored again.
    pub erased_before: usize,
    /// (line number, what is wrong), for every skipped line.
    pub errors: Vec<(usize, String)>,
    /// (line number, what was left out), for lines read without all they had: a `url`
    /// that is not an http(s) link, which a reader of the mention could not follow; a
    /// title or text longer than the pipeline reads, whose end is neither analysed nor
    /// stored.
    pub notes: Vec<(usize, String)>,
}

/// One line read: its mention, and what of the line was left out and why.
#[derive(Debug)]
pub struct ParsedLine {
    pub mention: Mention,
    pub note: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl ImportRecord {
    /// The mention this record describes, or what is wrong with it.
    pub fn into_mention(self, now: DateTime<Utc>) -> Result<ParsedLine, String> {
        if self.id.trim().is_empty() {
            return Err("field `id` is empty".into());
        }
        let published = DateTime::parse_from_rfc3339(self.published.trim())
            .map_err(|e| {
                format!(
                    "field `published`: {:?} (each digit shown as 9) is not an RFC 3339 time ({e}); write it as \"2026-11-20T10:00:00Z\"",
                    digits_as_nines(&self.published)
                )
            })?
            .with_timezone(&Utc);
        let source = self
            .source
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SOURCE.into());
        // As a configured source's name must be: it is a path segment of links and a
        // search filter.
        // A direction mark would turn the text after the name around where it is shown.
        if source.contains('/')
            || source
                .chars()
                .any(|c| c.is_control() || crate::pipeline::extract::is_direction_mark(c))
        {
            return Err(format!(
                "field `source`: {source:?} must be a name without '/', control characters (a tab, a line break) or direction marks"
            ));
        }
        let mut m = Mention::new(&source, &self.id, published, now);
        m.text = any_to_text(&self.text);
        m.title = self.title.map(|t| any_to_text(&t)).unwrap_or_default();
        m.url = self.url.as_deref().and_then(canonical_url);
        let mut notes = Vec::new();
        match self.url.as_deref().map(str::trim) {
            Some(url) if m.url.is_none() && !url.is_empty() => notes.push(format!(
                "field `url`: {:?} is not an http(s) link; stored without a link",
                cut_short(url)
            )),
            _ => {}
        }
        // The pipeline keeps the start of an overlong text: whatever its end says (a
        // relevant sentence after pages of other text) counts for nothing, and the
        // importer should know.
        for (field, text, max) in [
            ("title", &m.title, MAX_TITLE_BYTES),
            ("text", &m.text, MAX_TEXT_BYTES),
        ] {
            if text.len() > max {
                notes.push(format!(
                    "field `{field}`: {} bytes as text; only the first {max} are analysed and stored",
                    text.len()
                ));
            }
        }
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        m.lang_hint = self.lang;
        m.author = self.author.filter(|a| !a.trim().is_empty());
        Ok(ParsedLine { mention: m, note })
    }
}

/// Imports `reader` (named `path` in messages) into `index`. Lines published before
/// `kept_from` (the retention cut-off, [`crate::retention::mention_cutoff`]) are counted,
/// not stored: retention would erase them, and until it ran they would be kept longer
/// than the period allows.
pub fn import<R: BufRead>(
    path: &str,
    mut reader: R,
    pipeline: &Pipeline,
    index: &MentionIndex,
    kept_from: Option<DateTime<Utc>>,
) -> Result<ImportReport, ImportError> {
    let mut writer = index.writer()?;
    let checkpoints = index.checkpoints()?;
    let mut report = ImportReport::default();
    let mut buf = Vec::new();
    let now = Utc::now();
    // The ids written, hashed: a backfill of millions of lines needs 8 bytes a mention.
    let mut written: FxHashSet<u64> = FxHashSet::default();
    loop {
        buf.clear();
        let read = read_line_capped(&mut reader, &mut buf).map_err(|source| ImportError::Read {
            path: path.to_string(),
            source,
        })?;
        if read == 0 {
            break;
        }
        report.lines += 1;
        let line_no = report.lines;
        let parsed = parse_line(&buf, now).and_then(|line| match line {
            // The source name is stored and shown as it is, never redacted: one that
            // redaction would change ("mail-0612345678") holds personal data.
            Some(line) if pipeline.redact(&line.mention.source) != line.mention.source => {
                Err("field `source` looks like it holds personal data (a phone number, an e-mail address, …); name the source without it".to_string())
            }
            line => Ok(line),
        });
        match parsed {
            Ok(None) => report.blank += 1,
            Ok(Some(line)) if kept_from.is_some_and(|cutoff| line.mention.published < cutoff) => {
                report.too_old += 1;
            }
            Ok(Some(ParsedLine { mention, note })) => {
                if let Some(note) = note {
                    // The link may carry personal data: redacted like content.
                    report.notes.push((line_no, pipeline.redact(&note)));
                }
                let mention = pipeline.process(mention);
                if !mention.is_relevant() {
                    report.not_relevant += 1;
                } else if writer.upsert(&mention)? {
                    if written.insert(FxBuildHasher.hash_one(&mention.id)) {
                        report.indexed += 1;
                    } else {
                        report.repeated += 1;
                    }
                } else {
                    report.erased_before += 1;
                }
            }
            Err(message) => {
                // The message may quote the line: redacted like content.
                let message = pipeline.redact(&message);
                tracing::debug!(file = path, line = line_no, error = %message, "skipping line");
                report.errors.push((line_no, message));
            }
        }
        if line_no % COMMIT_EVERY == 0 {
            writer.commit(&checkpoints)?;
        }
    }
    writer.commit(&checkpoints)?;
    writer.finish()?;
    Ok(report)
}

/// Reads one line into `buf`; a line over [`MAX_LINE_BYTES`] is consumed and replaced by
/// a marker that [`parse_line`] reports.
pub fn read_line_capped<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(cap_content(buf, total));
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let len = chunk.len();
        // Once too long, the rest of the line is only counted: appended to the marker,
        // a short last chunk would turn it into an unreadable line.
        let too_long = buf.as_slice() == TOO_LONG;
        // Room for the line's end (`\r\n`), which the limit does not count.
        if !too_long && buf.len() + len <= MAX_LINE_BYTES + 2 {
            buf.extend_from_slice(chunk);
        } else if !too_long {
            buf.clear();
            buf.extend_from_slice(TOO_LONG);
        }
        reader.consume(len);
        total += len;
        if done {
            return Ok(cap_content(buf, total));
        }
    }
}

/// `total`, with `buf` made the marker of a line too long where its content (without
/// its line end) is over [`MAX_LINE_BYTES`].
fn cap_content(buf: &mut Vec<u8>, total: usize) -> usize {
    let content = buf.strip_suffix(b"\n").unwrap_or(buf);
    let content = content.strip_suffix(b"\r").unwrap_or(content);
    if buf.as_slice() != TOO_LONG && content.len() > MAX_LINE_BYTES {
        buf.clear();
        buf.extend_from_slice(TOO_LONG);
    }
    total
}

const TOO_LONG: &[u8] = b"\x00too long";

/// serde_json's message for an error in one line of JSON Lines, which says "at line 1
/// column 7" of a line the caller has already named: only the column is kept.
pub fn json_error(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.strip_suffix(&format!(" at line 1 column {}", e.column())) {
        Some(plain) if e.line() == 1 => format!("{plain} (column {})", e.column()),
        _ => message,
    }
}

/// A value quoted in a message, at most 80 characters: a `data:` link can be megabytes.
fn cut_short(value: &str) -> String {
    match value.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_string(),
    }
}

/// One line of JSON Lines as a `T`, or what is wrong with it: the field, where one is
/// to blame, and the column.
pub fn json_line<T: serde::de::DeserializeOwned>(line: &str) -> Result<T, String> {
    // `null`, `42`, `[…]`: serde would say what it expected in its own type's words.
    if !line.trim_start().starts_with('{') {
        return Err("not a JSON object: each line is one {…}".to_string());
    }
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let field = e.path().to_string();
        let message = json_error(e.inner());
        // Only a value of the wrong kind is a field's fault; "." is the object itself
        // (a missing field, a line that is no object) and "?" a place the parser did
        // not reach (a line cut short).
        let data = e.inner().classify() == serde_json::error::Category::Data;
        if !data || field == "." || field == "?" || message.starts_with("missing field") {
            message
        } else {
            format!("field `{field}`: {message}")
        }
    })?;
    // What follows the object would be lost without a word: a second object, or the
    // next lines of a file whose lines end in a lone carriage return.
    deserializer.end().map_err(|e| {
        format!(
            "{}: one JSON object a line, and lines end in a line feed (\\n)",
            json_error(&e)
        )
    })?;
    Ok(value)
}

/// `Ok(None)` for a blank line; a byte-order mark before the JSON is read past.
pub fn parse_line(line: &[u8], now: DateTime<Utc>) -> Result<Option<ParsedLine>, String> {
    if line == TOO_LONG {
        return Err(format!("line is longer than {MAX_LINE_BYTES} bytes"));
    }
    let text = std::str::from_utf8(line).map_err(|e| format!("not UTF-8 ({e})"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Ok(None);
    }
    // Without its line end: a line cut short is then "EOF … (column N)", not a position
    // on a second line that the file does not have.
    let text = text.trim_end_matches(['\n', '\r']);
    let record: ImportRecord =
        json_line(text).map_err(|e| match e.starts_with("field `published`") {
            // A number here is often a Unix time, which redaction would take for a V-number
            // or a phone number in the message: its shape is shown instead.
            true => format!(
            "invalid JSON: {}: write the time as text in RFC 3339, e.g. \"2026-11-20T10:00:00Z\"",
            quoted_digits_as_nines(&e)
        ),
            false => format!("invalid JSON: {e}"),
        })?;
    record.into_mention(now).map(Some)
}

/// A time as written, with every digit a 9: its shape ("9999999999", a Unix time;
/// "+99999-99-99…", a year of five digits) says what is wrong, where its digits, quoted,
/// would be redacted from the message as a phone or a V-number and tell the importer
/// nothing.
fn digits_as_nines(written: &str) -> String {
    written
        .chars()
        .map(|c| if c.is_numeric() { '9' } else { c })
        .collect()
}

/// `message` with [`digits_as_nines`] in what it quotes between backticks (the value;
/// not the column it stands in).
fn quoted_digits_as_nines(message: &str) -> String {
    message
        .split('`')
        .enumerate()
        .map(|(i, part)| match i % 2 {
            1 => digits_as_nines(part),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_time_is_shown_by_its_shape() {
        let now = Utc::now();
        for (line, says) in [
            (
                r#"{"id":"1","text":"x","published":"1764600000"}"#,
                "\"9999999999\" (each digit shown as 9) is not an RFC 3339 time",
            ),
            (
                r#"{"id":"1","text":"x","published":"+12026-12-01T10:00:00Z"}"#,
                "\"+99999-99-99T99:99:99Z\"",
            ),
            (
                r#"{"id":"1","text":"x","published":1764600000}"#,
                "invalid type: integer `9999999999`",
            ),
        ] {
            let error = parse_line(line.as_bytes(), now).unwrap_err();
            assert!(error.contains(says), "{error}");
        }
    }

    #[test]
    fn record_errors_name_the_field() {
        let now = Utc::now();
        let bad_time = r#"{"id":"1","text":"x","published":"gisteren"}"#;
        assert!(parse_line(bad_time.as_bytes(), now)
            .unwrap_err()
            .contains("field `published`"));
        assert!(parse_line(br#"{"id":"1","text":"x"}"#, now)
            .unwrap_err()
            .contains("published"));
        assert!(parse_line(b"{not json", now)
            .unwrap_err()
            .starts_with("invalid JSON"));
        // A line cut short, as read with its line end: a column of this line.
        assert_eq!(
            parse_line(b"{\"id\":\"1\",\"text\":\"x\"\n", now).unwrap_err(),
            "invalid JSON: EOF while parsing an object (column 20)"
        );
        // A value of the wrong type names its field.
        assert_eq!(
            parse_line(
                br#"{"id":7,"text":"x","published":"2026-11-20T10:00:00Z"}"#,
                now
            )
            .unwrap_err(),
            "invalid JSON: field `id`: invalid type: integer `7`, expected a string (column 7)"
        );
        assert!(parse_line(b"\xff\xfe", now)
            .unwrap_err()
            .starts_with("not UTF-8"));
        assert!(parse_line(b"   \n", now).unwrap().is_none());
        // A Unix time is told how to write it.
        assert_eq!(
            parse_line(br#"{"id":"1","text":"x","published":1764547200}"#, now).unwrap_err(),
            "invalid JSON: field `published`: invalid type: integer `9999999999`, expected a string (column 43): write the time as text in RFC 3339, e.g. \"2026-11-20T10:00:00Z\""
        );
        assert!(parse_line(
            br#"{"id":"1","text":"x","published":"2026-11-20T10:00:00Z","source":"a\tb"}"#,
            now
        )
        .unwrap_err()
        .contains("control characters"));
        assert!(parse_line(
            "{\"id\":\"1\",\"text\":\"x\",\"published\":\"2026-11-20T10:00:00Z\",\"source\":\"a\u{202e}b\"}".as_bytes(),
            now
        )
        .unwrap_err()
        .contains("direction marks"));
        // Nothing after the object is dropped without a word: a second object, or the
        // lines of a file whose lines end in a lone \r, read as one.
        let record = r#"{"id":"1","text":"x","published":"2026-11-20T10:00:00Z"}"#;
        for line in [
            format!("{record}{record}"),
            format!("{record}\r{record}\r"),
            format!("{record} garbage"),
        ] {
            let err = parse_line(line.as_bytes(), now).unwrap_err();
            assert!(
                err.starts_with("invalid JSON: trailing characters (column ")
                    && err.contains("one JSON object a line"),
                "{err}"
            );
        }
        assert!(parse_line(format!("{record} \r\n").as_bytes(), now)
            .unwrap()
            .is_some());
        // A line that is no object says so, not what serde expected.
        for line in ["[1,2]", "null", "42", "\"text\""] {
            assert_eq!(
                parse_line(line.as_bytes(), now).unwrap_err(),
                "invalid JSON: not a JSON object: each line is one {…}",
                "{line}"
            );
        }
    }

    #[test]
    fn the_line_limit_counts_the_content_not_the_line_end() {
        for (content, end, kept) in [
            (MAX_LINE_BYTES, &b"\r\n"[..], true),
            (MAX_LINE_BYTES, b"\n", true),
            (MAX_LINE_BYTES, b"", true),
            (MAX_LINE_BYTES + 1, b"\n", false),
            (MAX_LINE_BYTES + 1, b"", false),
            (MAX_LINE_BYTES + 1, b"\r\n", false),
        ] {
            let mut input = vec![b'x'; content];
            input.extend_from_slice(end);
            if !end.is_empty() {
                input.extend_from_slice(b"next\n");
            }
            let mut reader = std::io::BufReader::with_capacity(64 * 1024, &input[..]);
            let mut buf = Vec::new();
            let read = read_line_capped(&mut reader, &mut buf).unwrap();
            let what = format!("{content} bytes and {end:?}");
            assert_eq!(buf != TOO_LONG, kept, "{what}");
            if kept {
                assert_eq!(buf.len(), content + end.len(), "{what}");
            }
            assert_eq!(read, content + end.len(), "{what}");
            if end.is_empty() {
                // The file's last line, without a line end.
                continue;
            }
            buf.clear();
            read_line_capped(&mut reader, &mut buf).unwrap();
            assert_eq!(buf, b"next\n", "{what}");
        }
    }

    #[test]
    fn overlong_lines_are_skipped_without_buffering() {
        // Just over the cap, and well over it (read in many chunks after the cap).
        for over in [10, MAX_LINE_BYTES / 5, 2 * MAX_LINE_BYTES] {
            let mut input = vec![b'x'; MAX_LINE_BYTES + over];
            input.extend_from_slice(b"\n{\"id\":\"2\"}\n");
            let mut reader = std::io::BufReader::with_capacity(64 * 1024, &input[..]);
            let mut buf = Vec::new();
            read_line_capped(&mut reader, &mut buf).unwrap();
            assert_eq!(buf, TOO_LONG, "{over}");
            assert!(parse_line(&buf, Utc::now())
                .unwrap_err()
                .starts_with("line is longer than"));
            buf.clear();
            read_line_capped(&mut reader, &mut buf).unwrap();
            assert_eq!(buf, b"{\"id\":\"2\"}\n");
        }
    }
}
