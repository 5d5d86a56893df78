//! A query as a staff member (or anyone with a token) may type it, over a small index.
//!
//! The first byte picks the filters and the order; the rest is `q`. A query may be
//! refused as the caller's fault (400), never panic or fail as the server's (500).
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use webcare::pipeline::Pipeline;
use webcare::search::query::{SearchRequest, Sort};
use webcare::search::{Checkpoints, MentionIndex};
use webcare::Mention;

const POSTS: [&str; 10] = [
    "Al veertien maanden wacht ik op de IND. Mijn gehoor is nog steeds niet gepland.",
    "De tolk bij mijn nader gehoor sprak geen Tigrinya maar Amhaars.",
    "Het COA-locatie in Ter Apel is overvol, mensen slapen in het gras.",
    "Waiting for my asylum interview for a year now, no letter from the IND.",
    "İltica başvurum için IND'den hâlâ cevap yok, avukatım da aramıyor.",
    "انتظار طولانی برای مصاحبه با IND، مترجم هم نیامد",
    "لم أستلم أي رسالة من IND منذ ستة أشهر",
    "Dierenasiel zoekt vrijwilligers voor de katten",
    "Ми чекаємо на рішення IND вже вісім місяців, табір переповнений",
    "\"de asielprocedure\" duurt te lang; 50% wacht > 6 maanden… [name] belde",
];

fn index() -> &'static MentionIndex {
    static INDEX: OnceLock<MentionIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let topics = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/topics");
        let pipeline = Pipeline::from_config(&webcare::config::Pipeline::with_topics(topics))
            .expect("the project's own term lists load");
        let dir = tempfile::tempdir().expect("a temporary folder").keep();
        let index = MentionIndex::open(&dir).expect("a new index");
        let mut writer = index.writer().expect("the index writer");
        for (i, post) in POSTS.iter().enumerate() {
            let at = chrono::Utc::now() - chrono::Duration::days(i as i64);
            let mut mention = Mention::new("fuzz", &i.to_string(), at, at);
            mention.text = post.to_string();
            mention.author = Some(format!("@writer{}", i % 3));
            writer.upsert(&pipeline.process(mention)).expect("stored");
        }
        writer.commit(&Checkpoints::new()).expect("committed");
        writer.finish().expect("merges done");
        index.reload().expect("reloaded");
        index
    })
}

const LANGS: [Option<&str>; 4] = [None, Some("nl"), Some("und"), Some("fa")];
const ASPECTS: [Option<&str>; 4] = [None, Some("waiting_time"), Some("interpreter"), Some("nope")];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let request = SearchRequest {
        q: String::from_utf8_lossy(rest).into_owned(),
        lang: LANGS[usize::from(first & 0x03)].map(str::to_string),
        aspect: ASPECTS[usize::from((first >> 2) & 0x03)].map(str::to_string),
        complaint: [None, Some(true)][usize::from((first >> 4) & 0x01)],
        sort: [None, Some(Sort::Newest), Some(Sort::Relevance)][usize::from(first >> 5) % 3],
        limit: Some(5),
        ..SearchRequest::default()
    };
    if let Err(e) = index().search(&request) {
        assert!(e.is_bad_request(), "{:?} failed as the server's fault: {e}", request.q);
    }
});
