//! An erasure reaches the reports already written: the JSON and HTML files of the
//! weekly export quote mentions (the examples of the recurring complaints), and a post
//! erased on request or past the retention period must not stay quoted in the export
//! folder until the retention run deletes the file.
//!
//! Each quote carries its mention's id (`"id"` in the JSON, `data-mention` in the HTML),
//! by which it is found. The JSON drops the example; the HTML shows "(gewist / erased)"
//! where it stood. The counts stay as written: they hold no one's words, and a report is
//! a record of what was known that week. A file changed is replaced whole and keeps its
//! modification time, by which the retention run deletes it.

use std::path::{Path, PathBuf};

use super::data::Report;
use super::{is_export_file, json, write_atomically};
use crate::alerts::mail::ERASED_BLOCK;
use crate::pipeline::extract::unescape_markup;

/// How a quote starts in the HTML report ([`super::html::example`]).
const QUOTE_START: &str = "<blockquote data-mention=\"";
const QUOTE_END: &str = "</blockquote>\n";

/// Takes the quotes of mentions `exists` no longer finds out of the JSON and HTML export
/// files in `dir`; how many quotes went. A directory that does not exist holds none; a
/// file that cannot be read as a report (edited by hand), read or written is named in the
/// log and left, and the next erasure or start tries it again.
pub fn forget_in_files(dir: &Path, exists: &dyn Fn(&str) -> bool) -> usize {
    super::remove_stale_temporary_files(dir);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut paths: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(is_export_file)
        })
        .collect();
    paths.sort();
    forget_in(&paths, exists)
}

/// [`forget_in_files`] for these files (those of other formats are passed over).
pub fn forget_in(paths: &[PathBuf], exists: &dyn Fn(&str) -> bool) -> usize {
    let mut removed = 0;
    for path in paths {
        let forget = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => forget_in_json,
            Some("html") => forget_in_html,
            _ => continue,
        };
        // One file that cannot be read or written does not keep the others as they are.
        let before = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot read an export file: erased mentions may stay quoted in it");
                continue;
            }
        };
        let Some((after, gone)) = forget(&before, exists) else {
            tracing::warn!(path = %path.display(), "an export file that is no report as webcare writes it: erased mentions are not looked for in it");
            continue;
        };
        if gone == 0 {
            continue;
        }
        // The new file has the old one's permissions and time from the start.
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        if let Err(e) = write_atomically(path, &after, modified) {
            tracing::error!(error = %e, "erased mentions stay quoted in an export file");
            continue;
        }
        removed += gone;
    }
    removed
}

/// The JSON report without the examples of erased mentions, and how many went; `None`
/// when it is no report.
fn forget_in_json(bytes: &[u8], exists: &dyn Fn(&str) -> bool) -> Option<(Vec<u8>, usize)> {
    let mut report: Report = serde_json::from_slice(bytes).ok()?;
    let mut gone = 0;
    for complaint in &mut report.top_complaints {
        let before = complaint.examples.len();
        complaint
            .examples
            .retain(|q| q.id.is_empty() || exists(&q.id));
        gone += before - complaint.examples.len();
    }
    if gone == 0 {
        return Some((bytes.to_vec(), 0));
    }
    Some((json::render(&report).ok()?, gone))
}

/// The HTML report with the erased mark where an erased mention was quoted, and how
/// many; `None` when it is not UTF-8.
fn forget_in_html(bytes: &[u8], exists: &dyn Fn(&str) -> bool) -> Option<(Vec<u8>, usize)> {
    let page = std::str::from_utf8(bytes).ok()?;
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    let mut gone = 0;
    while let Some(start) = rest.find(QUOTE_START) {
        let after_start = &rest[start + QUOTE_START.len()..];
        // Quoted text is escaped: neither a quote mark in the id nor the end tag in the
        // text can be the post's own.
        let (Some(id_end), Some(end)) = (after_start.find('"'), rest[start..].find(QUOTE_END))
        else {
            break;
        };
        let end = start + end + QUOTE_END.len();
        out.push_str(&rest[..start]);
        let id = unescape_markup(&after_start[..id_end]);
        // A quote without an id cannot be told from others: it stays, as in the JSON.
        if id.is_empty() || exists(&id) {
            out.push_str(&rest[start..end]);
        } else {
            out.push_str(ERASED_BLOCK);
            gone += 1;
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    Some((out.into_bytes(), gone))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<h2>x</h2>\n<blockquote data-mention=\"a1\">Tolk &lt;kwam&gt; niet<br><span class=\"source\">s</span> </blockquote>\n<blockquote data-mention=\"b&amp;2\">Nog steeds geen brief<br></blockquote>\n<p>end</p>\n";

    #[test]
    fn an_erased_quote_in_the_html_gives_way_to_the_mark_and_nothing_else_changes() {
        let (after, gone) = forget_in_html(PAGE.as_bytes(), &|id| id != "b&2").unwrap();
        let after = String::from_utf8(after).unwrap();
        assert_eq!(gone, 1);
        assert!(!after.contains("geen brief"), "{after}");
        assert!(after.contains("Tolk &lt;kwam&gt; niet"), "{after}");
        assert_eq!(
            after,
            PAGE.replace(
                "<blockquote data-mention=\"b&amp;2\">Nog steeds geen brief<br></blockquote>\n",
                ERASED_BLOCK
            )
        );
    }

    #[test]
    fn a_page_with_no_erased_quote_stays_as_it_is() {
        let (after, gone) = forget_in_html(PAGE.as_bytes(), &|_| true).unwrap();
        assert_eq!((after.as_slice(), gone), (PAGE.as_bytes(), 0));
    }

    /// The retention run reads a report's age from its time, and an administrator may
    /// have closed it further than the export does.
    #[cfg(unix)]
    #[test]
    fn a_rewritten_report_keeps_its_time_and_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webcare-2026-W47.html");
        std::fs::write(&path, PAGE).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        let then =
            std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(then)
            .unwrap();
        assert_eq!(forget_in(std::slice::from_ref(&path), &|id| id != "a1"), 1);
        let page = std::fs::read_to_string(&path).unwrap();
        assert!(!page.contains("kwam"), "{page}");
        let metadata = std::fs::metadata(&path).unwrap();
        assert_eq!(metadata.permissions().mode() & 0o777, 0o400);
        assert_eq!(metadata.modified().unwrap(), then);
    }

    #[test]
    fn a_file_that_is_no_report_is_left_alone() {
        assert!(forget_in_json(b"{\"notes\": 1}", &|_| false).is_none());
        assert!(forget_in_html(&[0xff, 0xfe], &|_| false).is_none());
    }
}
