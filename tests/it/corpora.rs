//! Every real third-party feed in `../shared/corpora/` goes through the parser without a
//! panic. Skips, saying so, where the corpora are not present (a fresh clone).

use std::path::{Path, PathBuf};

use webcare::sources::feed::parse_feed;
use webcare::sources::Body;

fn corpora() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    dir.is_dir().then_some(dir)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("xml" | "rss" | "rdf" | "atom" | "json")
        ) {
            out.push(path);
        }
    }
}

/// The Content-Type a feedparser test simulates in its `Header:` comment line.
fn simulated_content_type(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]);
    let line = head
        .lines()
        .find(|l| l.trim_start().starts_with("Header:"))?;
    let value = line
        .split_once("Content-type:")
        .or_else(|| line.split_once("Content-Type:"))?
        .1;
    Some(value.trim().to_string())
}

#[test]
fn every_corpus_feed_parses_or_fails_cleanly() {
    let Some(root) = corpora() else {
        eprintln!("SKIPPED: ../shared/corpora is absent (fresh clone); the corpus test needs it");
        return;
    };
    let mut paths = Vec::new();
    for set in [
        "feedparser",
        "feed-rs",
        "miniflux",
        "discourse-criticalfallibilism",
    ] {
        files(&root.join(set), &mut paths);
    }
    assert!(
        paths.len() > 2000,
        "expected the feed corpora, found {} files",
        paths.len()
    );
    let (mut parsed, mut refused, mut entries) = (0usize, 0usize, 0usize);
    for path in &paths {
        let bytes = std::fs::read(path).unwrap();
        let body = Body {
            url: url::Url::parse("https://corpus.example/feed").unwrap(),
            content_type: simulated_content_type(&bytes),
            etag: None,
            last_modified: None,
            link: None,
            bytes,
        };
        match std::panic::catch_unwind(|| parse_feed(&body)) {
            Ok(Ok(feed)) => {
                parsed += 1;
                entries += feed.entries.len();
            }
            Ok(Err(e)) => {
                assert!(!e.to_string().is_empty());
                refused += 1;
            }
            Err(_) => panic!("parser panicked on {}", path.display()),
        }
    }
    eprintln!(
        "corpora: {} files, {parsed} parsed ({entries} entries), {refused} refused with an error",
        paths.len()
    );
    assert!(
        parsed > paths.len() / 2,
        "only {parsed} of {} parsed",
        paths.len()
    );
}
