//! A post as a stranger may write it, through every analysis stage.
//!
//! Finds panics (slicing inside a character, overflowing counts) and checks that what
//! the pipeline stores holds no personal data the redaction would still take.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use webcare::pipeline::redact::Redactor;
use webcare::pipeline::{extract, Pipeline};
use webcare::Mention;

fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        let topics = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/topics");
        Pipeline::from_config(&webcare::config::Pipeline::with_topics(topics))
            .expect("the project's own term lists load")
    })
}

fn redactor() -> &'static Redactor {
    static REDACTOR: OnceLock<Redactor> = OnceLock::new();
    REDACTOR.get_or_init(|| Redactor::new(&[]).expect("the built-in patterns compile"))
}

/// Language hints a source may give: none, known, unknown, malformed.
const HINTS: [Option<&str>; 6] = [None, Some("nl"), Some("en"), Some("ar"), Some("xx"), Some("")];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let input = String::from_utf8_lossy(rest);
    let (title, text) = input.split_once('\u{0}').unwrap_or(("", &input));

    // What the sources do with markup before the pipeline sees it.
    let _ = extract::html_to_text(text);
    let _ = extract::any_to_text(text);
    let _ = extract::canonical_url(text);

    let now = chrono::Utc::now();
    let mut mention = Mention::new("fuzz", "1", now, now);
    mention.title = title.to_string();
    mention.text = text.to_string();
    mention.lang_hint = HINTS[usize::from(first) % HINTS.len()].map(str::to_string);
    mention.author = (first & 0x80 != 0).then(|| "@someone".to_string());
    let stored = pipeline().process(mention);

    // Redaction is a fixed point: what is stored has no personal data left to take.
    // (Handles are left out: a pseudonym is itself pseudonymised again, by design.)
    let again = redactor().redact(&stored.text);
    assert_eq!(again, stored.text, "stored text would be redacted further");
});
