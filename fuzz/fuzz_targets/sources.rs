//! A response body as a feed or platform may send it, read by each source adapter.
//!
//! The first byte picks the adapter (and whether a `Link` header comes with it); the
//! rest is the body. An adapter may refuse a body, never panic on it.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use webcare::sources::{self, Body, Fetched, Position, Source};

const CONFIG: &str = r#"
[[sources]]
name = "feed"
kind = "feed"
url = "https://example.org/feed"

[[sources]]
name = "mastodon"
kind = "mastodon"
url = "https://mastodon.example"
tags = ["asielzoekers"]

[[sources]]
name = "discourse"
kind = "discourse"
url = "https://forum.example"
query = "asiel"

[[sources]]
name = "reddit"
kind = "reddit"
subreddits = ["thenetherlands"]
query = "asiel"

[[sources]]
name = "bluesky"
kind = "bluesky"
query = "asielzoekers"

[[sources]]
name = "lemmy"
kind = "lemmy"
url = "https://lemmy.example"
communities = ["nederland"]
include_comments = true
"#;

const CONTENT_TYPES: [Option<&str>; 4] = [
    None,
    Some("application/json"),
    Some("text/xml; charset=iso-8859-1"),
    Some("application/rss+xml; charset=\"utf-16\""),
];

fn adapters() -> &'static [Box<dyn Source>] {
    static ADAPTERS: OnceLock<Vec<Box<dyn Source>>> = OnceLock::new();
    ADAPTERS.get_or_init(|| {
        // `parse_feed` catches a panic of the feed parser itself (quick-xml asserts on a
        // second XML declaration in mid-document) and reports the feed as unreadable:
        // not a finding. Every other panic is.
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_parser = info.location().is_some_and(|at| {
                at.file().contains("/quick-xml-") || at.file().contains("/feed-rs-")
            });
            if !in_parser {
                abort(info);
            }
        }));
        let data_dir = tempfile::tempdir().expect("a temporary folder").keep();
        let config_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
        let dir = |name: &str| format!("{:?}", config_dir.join(name).display().to_string());
        let text = format!(
            "[storage]\ndata_dir = {:?}\n[pipeline]\ntopics_dir = {}\naspects_dir = {}\ncomplaint_dir = {}\n{CONFIG}",
            data_dir.display().to_string(),
            dir("topics"),
            dir("aspects"),
            dir("complaint"),
        );
        let config = webcare::Config::from_toml(Path::new("fuzz.toml"), &text)
            .expect("the fuzz config is valid");
        config
            .sources
            .iter()
            .map(|s| sources::build(s).expect("each adapter builds"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let adapters = adapters();
    let source = &adapters[usize::from(first & 0x07) % adapters.len()];
    let request = source.first_request(&Position::Null);
    let link = (first & 0x08 != 0).then(|| {
        format!("<{}?max_id=1>; rel=\"next\"", request.url)
    });
    let body = Body {
        url: request.url.clone(),
        content_type: CONTENT_TYPES[usize::from(first >> 4) % CONTENT_TYPES.len()]
            .map(str::to_string),
        etag: None,
        last_modified: None,
        link,
        bytes: body.to_vec(),
    };
    let now = chrono::Utc::now();
    if let Ok(page) = source.parse(&request, &Position::Null, Fetched::Body(body), now) {
        // A next page, if any, must be one the adapter can read in turn.
        if let Some(next) = page.next {
            let _ = source.first_request(&page.position);
            let _ = next.url.as_str();
        }
    }
});
