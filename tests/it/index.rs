//! The index's promises: idempotent writes, positions committed with their mentions,
//! nothing visible or kept that was not committed, and import of JSON Lines.

use std::path::Path;

use chrono::{TimeZone, Utc};
use webcare::mention::Mention;
use webcare::pipeline::Pipeline;
use webcare::search::writer::{self, Batch, CommitPolicy};
use webcare::search::{Checkpoints, MentionIndex, SearchRequest, SourceCheckpoint};

fn mention(source: &str, id: &str, text: &str) -> Mention {
    let t = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
    let mut m = Mention::new(source, id, t, t);
    m.title = format!("titel {id}");
    m.text = text.to_string();
    m.lang = "nl".into();
    m
}

fn count(index: &MentionIndex, q: &str) -> usize {
    index
        .search(&SearchRequest {
            q: q.into(),
            ..Default::default()
        })
        .unwrap()
        .total
}

fn checkpoint(etag: &str) -> Checkpoints {
    let mut c = Checkpoints::new();
    c.insert(
        "s".into(),
        SourceCheckpoint {
            position: serde_json::json!({ "etag": etag }),
            items_seen: 1,
            items_kept: 1,
            last_skipped: None,
        },
    );
    c
}

#[test]
fn same_mention_twice_is_one_document() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let mut w = index.writer().unwrap();
    w.upsert(&mention("s", "1", "eerste versie")).unwrap();
    w.upsert(&mention("s", "1", "tweede versie")).unwrap();
    w.commit(&Checkpoints::new()).unwrap();
    w.upsert(&mention("s", "1", "derde versie")).unwrap();
    w.commit(&Checkpoints::new()).unwrap();
    assert_eq!(index.num_mentions(), 1);
    assert_eq!(count(&index, "derde"), 1);
    assert_eq!(count(&index, "eerste"), 0);
}

#[test]
fn apostrophes_in_words_are_searched_as_words() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let mut w = index.writer().unwrap();
    w.upsert(&mention(
        "s",
        "1",
        "Zo'n wachttijd bij de IND in 's-Hertogenbosch, en geen foto's terug.",
    ))
    .unwrap();
    w.upsert(&mention("s", "2", "Een foto van de wachtkamer."))
        .unwrap();
    w.commit(&Checkpoints::new()).unwrap();
    assert_eq!(count(&index, "zo'n wachttijd"), 1);
    assert_eq!(count(&index, "'s-Hertogenbosch"), 1);
    assert_eq!(count(&index, "\"geen foto's\""), 1);
    assert_eq!(count(&index, "foto"), 2);
    // The plural's 's left out, as a plural ending is by stemming; and an elided article.
    assert_eq!(count(&index, "foto's"), 2);
    assert_eq!(count(&index, "d'wachtkamer"), 1);
    // A longer ending is a word of its own (Turkish: IND'den, from the IND).
    assert_eq!(count(&index, "IND'den"), 0);
}

/// `from` and `to` hold exactly the posts at or after, and at or before, the times
/// given, also with a fraction of a second, which the index does not keep.
#[test]
fn a_range_with_a_fraction_of_a_second_is_exact() {
    let (_dir, index) = index_of(&[("1", "Wachten op de IND.")]);
    // Published at 09:00:00 (`mention`).
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    let total = |from: Option<&str>, to: Option<&str>| {
        index
            .search(&SearchRequest {
                from: from.map(at),
                to: to.map(at),
                ..Default::default()
            })
            .unwrap()
            .total
    };
    assert_eq!(total(Some("2026-11-20T09:00:00Z"), None), 1);
    assert_eq!(total(Some("2026-11-20T08:59:59.5Z"), None), 1);
    assert_eq!(total(Some("2026-11-20T09:00:00.5Z"), None), 0);
    assert_eq!(total(None, Some("2026-11-20T09:00:00.5Z")), 1);
    assert_eq!(total(None, Some("2026-11-20T08:59:59.5Z")), 0);
}

/// Dutch words of the procedure are not found by the everyday word without their
/// "ge-" (nor the other way round); their inflections are.
#[test]
fn gezin_does_not_find_zin_nor_gehoor_hoor() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let mut w = index.writer().unwrap();
    for (id, text) in [
        ("1", "Mijn gezin wacht al een jaar op de nareis."),
        ("2", "Ik heb geen zin meer in dit wachten, leuk hoor."),
        ("3", "Het gehoor bij de IND is weer uitgesteld."),
        ("4", "De gehoren duren steeds langer."),
    ] {
        w.upsert(&mention("s", id, text)).unwrap();
    }
    w.commit(&Checkpoints::new()).unwrap();
    assert_eq!(count(&index, "gezin"), 1);
    assert_eq!(count(&index, "zin"), 1);
    assert_eq!(count(&index, "gehoor"), 2, "gehoor and gehoren");
    assert_eq!(count(&index, "hoor"), 1);
    assert_eq!(count(&index, "wachten"), 2, "wacht and wachten");
}

#[test]
fn a_star_after_a_word_finds_the_words_it_begins() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let mut w = index.writer().unwrap();
    for (id, text) in [
        ("1", "Weer geen nieuws over mijn asielaanvraag."),
        ("2", "De asielzoekers in Ter Apel slapen buiten."),
        ("3", "Het asielbeleid van het kabinet."),
        ("4", "Het dierenasiel zoekt een baasje voor Max."),
        ("5", "Ändern sich die Asylverfahren bald?"),
        ("6", "Het gehoor is weer uitgesteld, de beslissing ook."),
    ] {
        w.upsert(&mention("s", id, text)).unwrap();
    }
    w.commit(&Checkpoints::new()).unwrap();
    let search = |q: &str| {
        index.search(&SearchRequest {
            q: q.into(),
            ..Default::default()
        })
    };
    assert_eq!(count(&index, "asiel"), 0, "without the * a whole word");
    assert_eq!(count(&index, "asiel*"), 3);
    assert_eq!(count(&index, "\"asiel\"*"), 3);
    assert_eq!(count(&index, "ASIEL*"), 3);
    // The whole word, as written.
    assert_eq!(count(&index, "asielzoekers*"), 1);
    assert_eq!(count(&index, "asiel* AND NOT ter"), 2);
    assert_eq!(count(&index, "asiel* -ter"), 2);
    assert_eq!(count(&index, "NOT asiel*"), 3);
    assert_eq!(count(&index, "asiel* OR dierenasiel"), 4);
    // Diacritics folded as the index folds them.
    assert_eq!(count(&index, "änd*"), 1);
    // The words as written, not their stems ("beslissing" is kept as "besliss", and
    // "gehoor" as "gehor").
    assert_eq!(count(&index, "beslissi*"), 1);
    assert_eq!(count(&index, "geho*"), 1);
    assert_eq!(count(&index, "hoor*"), 0);
    // Any space, and IN as a word.
    assert_eq!(count(&index, "asiel*\u{a0}kabinet"), 1);
    assert_eq!(count(&index, "gehoor IN uitgesteld"), 0);
    // Without the post that has "in": 1 and 3.
    assert_eq!(count(&index, "(IN OR asiel*) -IN"), 2);
    // A hashtag or a question's sign before the beginning of a word.
    assert_eq!(count(&index, "#asiel*"), 3);
    assert_eq!(count(&index, "#asielzoekers*"), 1);
    assert_eq!(count(&index, "¿asiel*"), 3);
    let found = search("asielaan*").unwrap();
    assert_eq!(found.total, 1);
    assert!(
        found.hits[0].snippet.contains("<b>asielaanvraag</b>"),
        "the word found is highlighted: {}",
        found.hits[0].snippet
    );
    let too_short = search("as*").unwrap_err().to_string();
    assert!(
        too_short.contains("as*") && too_short.contains('3'),
        "{too_short}"
    );
    let regex = search("text_nl:/asiel.*/").unwrap_err().to_string();
    assert!(regex.contains("regular expressions"), "{regex}");
    // What the parser would quietly read as something else is refused.
    for (q, says) in [
        ("asiel**", "a * goes at the end of a word"),
        ("*asiel", "a * goes at the end of a word"),
        ("\"de asielpro*\"", "after its closing quote"),
        ("tolk~1", "there is no fuzzy search"),
        ("asiel-*", "right after the letters of a word"),
        ("tolk.*", "right after the letters of a word"),
        ("\"de asielpro \"*", "right after the letters of a word"),
        ("#*", "right after the letters of a word"),
        ("[name]", "placeholders ([name], [phone], …) are no words"),
    ] {
        let err = search(q).unwrap_err().to_string();
        assert!(err.contains(says), "{q}: {err}");
    }
}

#[test]
fn an_index_without_its_meta_file_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = MentionIndex::open(dir.path()).unwrap();
        let mut w = index.writer().unwrap();
        w.upsert(&mention("s", "1", "vastgelegd")).unwrap();
        w.commit(&Checkpoints::new()).unwrap();
        w.finish().unwrap();
    }
    let mentions = dir.path().join("mentions");
    let files = || std::fs::read_dir(&mentions).unwrap().count();
    std::fs::remove_file(mentions.join("meta.json")).unwrap();
    let before = files();
    let err = MentionIndex::open(dir.path()).err().unwrap().to_string();
    assert!(
        err.contains("has segment files but no meta.json") && err.contains("mentions"),
        "{err}"
    );
    assert_eq!(files(), before, "nothing was deleted");
}

#[test]
fn uncommitted_work_is_gone_after_a_crash_and_so_is_its_position() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = MentionIndex::open(dir.path()).unwrap();
        let mut w = index.writer().unwrap();
        w.upsert(&mention("s", "1", "vastgelegd")).unwrap();
        w.commit(&checkpoint("v1")).unwrap();
        w.upsert(&mention("s", "2", "niet vastgelegd")).unwrap();
        // A crash: the writer goes away without committing.
        drop(w);
    }
    let index = MentionIndex::open(dir.path()).unwrap();
    assert_eq!(index.num_mentions(), 1);
    // The saved position is the one committed with mention 1, so mention 2's poll is redone.
    assert_eq!(index.checkpoints().unwrap(), checkpoint("v1"));
}

/// The writer task on `index`, committing after `max_docs` mentions or `interval`.
fn start_writer(
    index: &MentionIndex,
    max_docs: usize,
    interval: std::time::Duration,
) -> (
    writer::WriterHandle,
    std::thread::JoinHandle<Result<(), webcare::search::IndexError>>,
) {
    let policy = CommitPolicy { max_docs, interval };
    writer::spawn(index, policy, tokio::runtime::Handle::current()).unwrap()
}

/// Drops the last handle and waits for the writer's final commit.
async fn stop_writer(
    handle: writer::WriterHandle,
    thread: std::thread::JoinHandle<Result<(), webcare::search::IndexError>>,
) {
    drop(handle);
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_acknowledges_only_after_the_commit_that_holds_batch_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let (handle, thread) = start_writer(&index, 1_000, std::time::Duration::from_millis(100));
    let batch = Batch {
        source: "s".into(),
        mentions: vec![
            mention("s", "1", "asielzoekers"),
            mention("s", "2", "asielzoekers"),
        ],
        checkpoint: checkpoint("v2").remove("s"),
    };
    handle.write(batch).await.unwrap();
    // Visible to searches and durable with its position as soon as write() returns.
    assert_eq!(count(&index, "asielzoekers"), 2);
    assert_eq!(index.checkpoints().unwrap(), checkpoint("v2"));
    stop_writer(handle, thread).await;
    // A second writer cannot be opened while one runs; after it ended, it can.
    index.writer().unwrap();
}

/// A busy source does not wait out the commit interval: once `max_docs` mentions wait,
/// they are committed and acknowledged at once; fewer wait for the interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_commits_at_once_when_max_docs_mentions_wait() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let (handle, thread) = start_writer(&index, 2, std::time::Duration::from_secs(3600));
    let batch = |ids: &[&str]| Batch {
        source: "s".into(),
        mentions: ids
            .iter()
            .map(|id| mention("s", id, "asielzoekers"))
            .collect(),
        checkpoint: None,
    };
    // One mention is fewer than max_docs: it waits for the interval (an hour).
    let one = handle.clone();
    let waiting = tokio::spawn(async move { one.write(batch(&["1"])).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "one mention was committed at once");
    assert_eq!(count(&index, "asielzoekers"), 0);
    // The second makes two: both are committed, and both senders hear so, well within
    // the hour.
    let second = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        handle.write(batch(&["2"])),
    )
    .await
    .expect("two mentions waited for the interval")
    .unwrap();
    assert_eq!(second, 0);
    let first = tokio::time::timeout(std::time::Duration::from_secs(30), waiting)
        .await
        .expect("the first sender was not answered by the same commit")
        .unwrap()
        .unwrap();
    assert_eq!(first, 0);
    assert_eq!(count(&index, "asielzoekers"), 2);
    stop_writer(handle, thread).await;
}

#[test]
fn a_second_writer_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let _first = index.writer().unwrap();
    let err = index.writer().err().unwrap().to_string();
    assert!(err.contains("in use by another webcare process"), "{err}");
}

fn pipeline() -> Pipeline {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = webcare::config::Pipeline::with_topics(repo.join("config/topics"));
    Pipeline::from_config(&config).unwrap()
}

#[test]
fn import_says_which_lines_are_longer_than_the_pipeline_reads() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let long = |words: &str, n: usize, end: &str| format!("{}{end}", words.repeat(n));
    let lines = [
        serde_json::json!({"id": "a", "published": "2026-11-20T10:00:00Z",
            "text": long("Lorem ipsum dolor sit amet. ", 3_000, "De tolk bij de IND was slecht.")}),
        serde_json::json!({"id": "b", "published": "2026-11-20T10:00:00Z",
            "title": long("Asielzoekers ", 100, ""), "text": "Asielzoekers wachten weer in Ter Apel."}),
        serde_json::json!({"id": "c", "published": "2026-11-20T10:00:00Z",
            "text": "Asielzoekers wachten weer in Ter Apel."}),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let report =
        webcare::import::import("in.jsonl", input.as_bytes(), &pipeline(), &index, None).unwrap();
    // The first line's relevant sentence is past what is read: not relevant, and said so.
    assert_eq!((report.indexed, report.not_relevant), (2, 1));
    assert_eq!(report.notes.len(), 2, "{:?}", report.notes);
    assert_eq!(report.notes[0].0, 1);
    assert_eq!(
        report.notes[0].1,
        "field `text`: 84030 bytes as text; only the first 65536 are analysed and stored"
    );
    assert_eq!(report.notes[1].0, 2);
    assert!(
        report.notes[1].1.starts_with("field `title`: 1299 bytes")
            && report.notes[1]
                .1
                .ends_with("only the first 1024 are analysed and stored"),
        "{:?}",
        report.notes
    );
}

#[test]
fn import_reports_bad_lines_by_number_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let input = concat!(
        r#"{"id":"a","text":"Al veertien maanden wacht ik op de IND, mijn asielaanvraag ligt stil.","published":"2026-11-20T10:00:00+01:00","url":"https://x.example/a?utm_source=x"}"#,
        "\n",
        r#"{"id":"b","text":"Katten uit het asiel zoeken een baasje","published":"2026-11-20T10:00:00Z"}"#,
        "\n",
        r#"{"id":"c","text":"kapot","published":"gisteren"}"#,
        "\n",
        "{niet eens json\n",
        r#"{"id":"e","text":"Asielzoekers wachten weer in Ter Apel.","published":"2026-11-21T08:00:00Z","source":"a/b"}"#,
        "\n",
        r#"{"id":"f","text":"Asielzoekers wachten weer in Ter Apel.","published":"2026-11-21T08:00:00Z","source":"mail-0687654321"}"#,
        "\n",
        "\n",
        r#"{"id":"d","text":"Asylum seekers slept outside the Ter Apel registration centre again.","published":"2026-11-21T08:00:00Z","source":"other","lang":"en","url":" javascript:alert(1)"}"#,
        "\n",
        // The same id again (a corrected post): it replaces the first, and is no second
        // mention in the count either. The same id from another source is another post.
        r#"{"id":"a","text":"Al vijftien maanden wacht ik op de IND, mijn asielaanvraag ligt stil.","published":"2026-11-20T10:00:00+01:00","url":"https://x.example/a?utm_medium=y"}"#,
        "\n",
        r#"{"id":"a","text":"Al vijftien maanden wacht ik op de IND, mijn asielaanvraag ligt stil.","published":"2026-11-20T10:00:00+01:00","source":"other","url":"mailto:jan.jansen@example.nl"}"#,
        "\n",
    );
    let p = pipeline();
    let report = webcare::import::import("in.jsonl", input.as_bytes(), &p, &index, None).unwrap();
    assert_eq!(
        (
            report.lines,
            report.indexed,
            report.repeated,
            report.not_relevant
        ),
        (10, 3, 1, 1)
    );
    assert_eq!(index.num_mentions(), 3);
    let lines: Vec<usize> = report.errors.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![3, 4, 5, 6]);
    assert!(
        report.errors[3]
            .1
            .contains("field `source` looks like it holds personal data")
            && !report.errors[3].1.contains("0687654321"),
        "{:?}",
        report.errors
    );
    assert!(report.errors[0].1.contains("field `published`"));
    assert!(
        report.errors[2].1.contains("field `source`"),
        "{:?}",
        report.errors
    );
    // A link that is not http(s) is left out, stored without, and said so; the note is
    // redacted like content.
    let notes: Vec<usize> = report.notes.iter().map(|(l, _)| *l).collect();
    assert_eq!(notes, vec![8, 10], "{:?}", report.notes);
    assert!(
        report.notes[0]
            .1
            .starts_with("field `url`: \"javascript:alert(1)\" is not an http(s) link"),
        "{:?}",
        report.notes
    );
    assert!(!report.notes[1].1.contains("jansen"), "{:?}", report.notes);
    // Importing again changes nothing.
    webcare::import::import("in.jsonl", input.as_bytes(), &p, &index, None).unwrap();
    assert_eq!(index.num_mentions(), 3);
    let found = |q: &str| {
        index
            .search(&SearchRequest {
                q: q.into(),
                source: Some("import".into()),
                ..Default::default()
            })
            .unwrap()
    };
    assert_eq!(found("veertien").total, 0);
    let results = found("vijftien");
    assert_eq!(results.total, 1);
    assert_eq!(results.hits[0].url.as_deref(), Some("https://x.example/a"));
    assert_eq!(results.hits[0].source, "import");
    assert_eq!(results.hits[0].lang, "nl");
}

#[test]
fn pipeline_survives_garbage() {
    let p = pipeline();
    let t = Utc::now();
    for text in [
        String::new(),
        "🙂".repeat(500),
        "https://t.co/abc".to_string(),
        String::from_utf8_lossy(&[0xff, 0xfe, 0x00, 0x01, 0x80, 0x81]).into_owned(),
        "asielzoeker ".repeat(400_000),
        "ᚠᛇᚻ 漢字 العربية Кирилиця ግዕዝ".to_string(),
    ] {
        let mut m = Mention::new("s", "x", t, t);
        m.text = text;
        let m = p.process(m);
        assert!(m.text.len() <= webcare::pipeline::MAX_TEXT_BYTES);
        assert!(m.relevance.is_some());
    }
}

#[test]
fn dates_far_ahead_or_far_back_do_not_wrap_round() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let p = pipeline();
    let fetched = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
    let forged = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
    let mut m = Mention::new("s", "far", forged, fetched);
    m.text = "Al veertien maanden wacht ik op de IND in Ter Apel.".into();
    let m = p.process(m);
    assert_eq!(m.published, fetched);
    let mut w = index.writer().unwrap();
    w.upsert(&m).unwrap();
    w.commit(&Checkpoints::new()).unwrap();
    let found = |from: &str, to: &str| {
        index
            .search(&SearchRequest {
                from: Some(from.parse().unwrap()),
                to: Some(to.parse().unwrap()),
                ..Default::default()
            })
            .unwrap()
            .total
    };
    assert_eq!(found("2026-01-01T00:00:00Z", "9999-12-31T00:00:00Z"), 1);
    assert_eq!(found("0001-01-01T00:00:00Z", "2026-12-31T00:00:00Z"), 1);
    assert_eq!(found("0001-01-01T00:00:00Z", "2025-12-31T00:00:00Z"), 0);
}

/// Posts full of personal data go in; none of it may be found afterwards, neither
/// through the search API's answers nor anywhere in the data directory's files.
#[test]
fn no_personal_data_reaches_the_index() {
    let pii = [
        "06-12345678",
        "+31 6 2345 6789",
        "sara.m@example.org",
        "2612345678",
        "123456782",
        "NL91ABNA0417164300",
        "Molenweg 21",
        "7811 KL",
        "VK-204-G",
        "٠٦١٢٣٤٥٦٧٨",
        "mevrouw Fatima El-Amrani",
        "8 (912) 345-67-89",
        "karim.haddad@gmail",
        "naam@domein\u{200f}.nl",
        "Bedankt@karim_h",
    ];
    let lines: Vec<String> = pii
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::json!({
                "id": format!("p{i}"),
                "title": format!("Asielzoeker in Ter Apel zoekt hulp ({p})"),
                "text": format!("Mijn asielaanvraag bij de IND: neem contact op via {p}, dank je. Op 12-03-2026 om 06:30 waren er 2.400 mensen."),
                "published": "2026-11-20T10:00:00Z",
            })
            .to_string()
        })
        .collect();
    let (dir, index) = imported(&lines);
    let all = index
        .search(&SearchRequest {
            limit: Some(100),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.total, pii.len());
    let answers = serde_json::to_string(&all).unwrap();
    // Nor any part of them that names the person.
    let parts = ["karim_h", "karim.haddad", "naam@domein", "345-67-89"];
    let pii: Vec<&str> = pii.iter().chain(&parts).copied().collect();
    for p in &pii {
        assert!(!answers.contains(p), "{p:?} in the search answers");
    }
    // Ordinary numbers are kept.
    assert!(
        answers.contains("12-03-2026") && answers.contains("06:30") && answers.contains("2.400")
    );
    // And nothing in the stored files, compressed or not, holds the originals.
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                files.push(std::fs::read(entry.path()).unwrap());
            }
        }
    }
    assert!(!files.is_empty());
    for p in pii {
        let needle = p.as_bytes();
        for bytes in &files {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{p:?} found in the data directory"
            );
        }
    }
}

fn post(id: &str, author: &str, text: &str) -> String {
    serde_json::json!({
        "id": id,
        "author": author,
        "text": text,
        "published": "2026-11-20T10:00:00Z",
        "lang": "nl",
    })
    .to_string()
}

/// The source facet names every source, the quietest too: an installation with more
/// than fifty sources lost the smallest from it.
#[test]
fn the_source_facet_names_every_source() {
    let lines: Vec<String> = (0..120)
        .map(|i| {
            serde_json::json!({
                "id": format!("m{i}"),
                "source": format!("feed{:03}", i % 60),
                "text": format!("Wachten op de IND in Ter Apel, dag {i}"),
                "published": "2026-11-20T10:00:00Z",
                "lang": "nl",
            })
            .to_string()
        })
        .collect();
    let (_dir, index) = imported(&lines);
    assert_eq!(lines.len(), 120);
    let all = index.search(&SearchRequest::default()).unwrap();
    let sources = &all.facets["source"];
    assert_eq!(sources.len(), 60, "{sources:?}");
    assert_eq!(sources.values().sum::<u64>(), all.total as u64);
}

/// Complaint, near-duplicate clusters with their distinct voices, and pseudonymous
/// authors, through import, the index and search; clusters survive a restart.
/// A complaint copied by thousands is counted to the last voice: an estimate gave 2,977
/// voices to 3,000 authors.
#[test]
fn every_voice_of_a_large_cluster_is_counted() {
    let wave = "Al veertien maanden wachten op de IND, niemand belt terug. Schandalig.";
    let mut lines: Vec<String> = (0..3_000)
        .map(|i| post(&format!("w{i}"), &format!("@writer{i}"), wave))
        .collect();
    // Two posts more by the first writer, and a feed's copy without an author.
    lines.push(post("again-1", "@writer0", wave));
    lines.push(post("again-2", "@WRITER0", wave));
    lines.push(
        serde_json::json!({"id": "feed", "text": wave, "published": "2026-11-20T10:00:00Z"})
            .to_string(),
    );
    let (_dir, index) = imported(&lines);
    let found = index.search(&SearchRequest::default()).unwrap();
    assert_eq!(found.total, 3_003);
    for hit in &found.hits {
        assert_eq!((hit.cluster_size, hit.voices), (3_003, 3_000), "{}", hit.id);
    }
}

#[test]
fn a_query_that_only_leaves_out_lists_the_rest_newest_first() {
    let at = |id: &str, day: u32, text: &str| {
        serde_json::json!({"id": id, "text": text, "published": format!("2026-11-{day:02}T10:00:00Z"), "lang": "nl"})
            .to_string()
    };
    // Indexed oldest in the middle: the order of indexing is not the order of time.
    let lines = [
        at(
            "mid",
            12,
            "De tolk bij mijn gehoor bij de IND sprak een ander dialect.",
        ),
        at(
            "old",
            3,
            "Al acht maanden wachten op een beslissing van de IND over mijn asielaanvraag.",
        ),
        at(
            "coa",
            20,
            "Het COA heeft het azc in Budel nog steeds niet gerepareerd.",
        ),
        at(
            "new",
            25,
            "Mijn advocaat hoort niets van de IND over de nareis van mijn kinderen.",
        ),
    ];
    let (_dir, index) = imported(&lines);
    for q in ["-coa", "NOT coa"] {
        let found = index
            .search(&SearchRequest {
                q: q.into(),
                ..Default::default()
            })
            .unwrap();
        let days: Vec<String> = found
            .hits
            .iter()
            .map(|h| h.published.to_string()[8..10].to_string())
            .collect();
        assert_eq!(days, ["25", "12", "03"], "{q}");
    }
}

#[test]
fn a_post_without_an_author_or_words_to_compare_is_one_voice() {
    let item = |id: &str, text: &str| {
        serde_json::json!({"id": id, "text": text, "published": "2026-11-20T10:00:00Z", "lang": "nl"})
            .to_string()
    };
    let news =
        "Het aanmeldcentrum in Ter Apel zit opnieuw vol; asielzoekers sliepen buiten op het gras.";
    let lines = [
        item("n1", news),
        item("n2", news),
        post("r1", "@amina", "RT @IND_NL: https://ind.nl/nieuws/x"),
    ];
    let (_dir, index) = imported(&lines);
    let all = index.search(&SearchRequest::default()).unwrap();
    for hit in &all.hits {
        let expected = if hit.cluster.is_some() {
            (2, 1)
        } else {
            (1, 1)
        };
        assert_eq!((hit.cluster_size, hit.voices), expected, "{hit:?}");
    }
    assert_eq!(all.hits.iter().filter(|h| h.cluster.is_none()).count(), 1);
}

#[test]
fn complaints_and_clusters_are_searchable_and_survive_a_restart() {
    let wave = "Vannacht weer 80 mensen buiten geslapen voor het aanmeldcentrum in Ter Apel. Kinderen ook. Schandalig.";
    let lines = [
        post("1", "@amina", wave),
        post("2", "@bert", &format!("RT @amina: {wave}")),
        post("3", "@amina", &format!("{wave} https://t.co/x1")),
        post(
            "4",
            "@chris",
            "De IND-medewerker bij mijn gehoor was vriendelijk en geduldig. Dank!",
        ),
        post(
            "5",
            "@dana",
            "Weet iemand hoe lang de nareis bij de IND nu duurt?",
        ),
    ]
    .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let p = pipeline();
    {
        let index = MentionIndex::open(dir.path()).unwrap();
        let report =
            webcare::import::import("wave.jsonl", lines.as_bytes(), &p, &index, None).unwrap();
        assert_eq!(report.indexed, 5, "{report:?}");
        let complaints = index
            .search(&SearchRequest {
                complaint: Some(true),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(complaints.total, 3, "{:#?}", complaints.hits);
        let hit = &complaints.hits[0];
        assert_eq!(hit.cluster_size, 3);
        assert_eq!(hit.voices, 2, "amina twice and bert: two voices");
        assert!(hit.complaint_why.as_deref().unwrap().contains("schandalig"));
        assert!(hit.complaint_score.unwrap() > 0.5);
        // Authors and @mentions are pseudonyms, the same for the same person.
        let answers = serde_json::to_string(&complaints).unwrap();
        for handle in ["amina", "bert"] {
            assert!(!answers.contains(handle), "{handle} readable: {answers}");
        }
        let amina = p.pseudonym("@amina");
        assert!(complaints
            .hits
            .iter()
            .any(|h| h.author.as_deref() == Some(amina.as_str())));
        let others = index
            .search(&SearchRequest {
                complaint: Some(false),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(others.total, 2);
        assert!(others.hits.iter().all(|h| h.cluster_size == 1));
        let all = index.search(&SearchRequest::default()).unwrap();
        assert_eq!(all.facets["complaint"]["true"], 3);
        assert_eq!(all.facets["complaint"]["false"], 2);
    }
    // A new process: the table is rebuilt from the index, and a fourth copy joins.
    let index = MentionIndex::open(dir.path()).unwrap();
    let restarted = pipeline();
    assert_eq!(
        index.load_duplicates(&mut restarted.duplicates()).unwrap(),
        5
    );
    let late = post("6", "@eve", &format!("Precies dit 👇 {wave}"));
    webcare::import::import("late.jsonl", late.as_bytes(), &restarted, &index, None).unwrap();
    let complaints = index
        .search(&SearchRequest {
            complaint: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(complaints.total, 4);
    assert!(complaints.hits.iter().all(|h| h.cluster_size == 4));
}

/// An index written by an older webcare (here: schema 6, before the words `word*` reads)
/// is refused with the way out, and `reindex` rebuilds it from what it stored: every
/// mention found as in an index written afresh (snippets, aspects, clusters and all),
/// `word*` working, the sources' positions kept, the old index kept beside it.
#[test]
fn an_index_of_an_older_schema_is_rebuilt_with_nothing_lost() {
    use tantivy::schema::{Schema, TantivyDocument};
    let pipeline = pipeline();
    let texts = [
        "Al veertien maanden wacht ik op de IND, mijn asielaanvraag ligt stil.",
        "Al veertien maanden wacht ik op de IND, mijn asielaanvraag ligt stil!!",
        "De tolk bij mijn gehoor in Ter Apel vertaalde mijn verhaal verkeerd.",
        "The interpreter at my asylum interview with the IND did not speak my dialect.",
    ];
    let mentions: Vec<Mention> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut m = mention("s", &i.to_string(), text);
            m.author = Some(format!("user{}", i % 2));
            pipeline.process(m)
        })
        .collect();
    assert!(mentions.iter().all(Mention::is_relevant));
    let positions = checkpoint("\"v7\"");

    // The same mentions written afresh, to compare with.
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = MentionIndex::open(fresh_dir.path()).unwrap();
    let mut w = fresh.writer().unwrap();
    for m in &mentions {
        w.upsert(m).unwrap();
    }
    w.commit(&positions).unwrap();

    // As schema 6 wrote them: no `words` field nor the clusters' and authors' keys (schema
    // 12), its version in the payload.
    let newer = ["words", "cluster_key", "author_key"];
    let old_dir = tempfile::tempdir().unwrap();
    let path = old_dir.path().join(webcare::search::INDEX_DIR);
    std::fs::create_dir_all(&path).unwrap();
    let (schema, fields) = webcare::search::schema::build();
    let mut builder = Schema::builder();
    for (_, entry) in schema.fields().filter(|(_, e)| !newer.contains(&e.name())) {
        builder.add_field(entry.clone());
    }
    let old_schema = builder.build();
    let old = tantivy::Index::create_in_dir(&path, old_schema.clone()).unwrap();
    webcare::search::schema::register_analyzers(&old);
    let mut writer: tantivy::IndexWriter<TantivyDocument> = old.writer(50_000_000).unwrap();
    for m in &mentions {
        let mut doc = TantivyDocument::default();
        // By name: the fields after those left out have other numbers there.
        for (field, value) in webcare::search::to_document(&fields, m).field_values() {
            if let Ok(old_field) = old_schema.get_field(schema.get_field_name(field)) {
                doc.add_field_value(old_field, value);
            }
        }
        writer.add_document(doc).unwrap();
    }
    let mut prepared = writer.prepare_commit().unwrap();
    let payload = serde_json::json!({ "schema_version": 6, "sources": positions });
    prepared.set_payload(&payload.to_string());
    prepared.commit().unwrap();
    drop(writer);

    let refused = MentionIndex::open(old_dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("run `webcare reindex`"), "{refused}");
    let rebuilt = webcare::search::reindex::reindex(old_dir.path(), true).unwrap();
    let kept_at = old_dir.path().join("mentions.schema-6");
    assert_eq!(
        rebuilt,
        webcare::search::reindex::Reindexed::Rebuilt {
            mentions: 4,
            from_version: "6".into(),
            kept_at: Some(kept_at.clone()),
        }
    );
    assert!(kept_at.join("meta.json").exists());
    assert!(!old_dir.path().join("mentions.rebuilding").exists());

    let index = MentionIndex::open(old_dir.path()).unwrap();
    assert_eq!(index.checkpoints().unwrap(), positions);
    for q in [
        "*",
        "wachten",
        "asielaanv*",
        "tolk",
        "\"ter apel\"",
        "interpreter",
    ] {
        let request = SearchRequest {
            q: q.into(),
            ..Default::default()
        };
        // Mentions that tie (the same time, the same score) may come in another order.
        let by_id = |mut results: webcare::search::SearchResults| {
            results.hits.sort_by(|a, b| a.id.cmp(&b.id));
            serde_json::to_value(results).unwrap()
        };
        let got = by_id(index.search(&request).unwrap());
        let want = by_id(fresh.search(&request).unwrap());
        assert_eq!(got, want, "{q}");
        assert!(got["total"].as_u64().unwrap() > 0, "{q}: {got}");
    }
    // The near-duplicate signatures came along: the table is whole after a restart.
    let mut table = pipeline.duplicates();
    assert_eq!(index.load_duplicates(&mut table).unwrap(), 4);
    assert_eq!(
        webcare::search::reindex::reindex(old_dir.path(), false).unwrap(),
        webcare::search::reindex::Reindexed::Current
    );
    drop(index);
    // Stopped between the two renames: the old index moved aside, the new one complete
    // but not in place. Opening makes no new, empty index (every quote elsewhere would
    // look erased); reindex puts the new one in its place.
    let path = old_dir.path().join(webcare::search::INDEX_DIR);
    std::fs::rename(&path, old_dir.path().join("mentions.rebuilding")).unwrap();
    let refused = MentionIndex::open(old_dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        refused.contains("run `webcare reindex` to finish it"),
        "{refused}"
    );
    assert!(!path.exists());
    assert_eq!(
        webcare::search::reindex::reindex(old_dir.path(), false).unwrap(),
        webcare::search::reindex::Reindexed::Finished { mentions: 4 }
    );
    let index = MentionIndex::open(old_dir.path()).unwrap();
    assert_eq!(index.num_mentions(), 4);
    assert_eq!(index.checkpoints().unwrap(), positions);
    // An index of a newer schema (a rollback) is not rebuilt into an older one.
    drop(index);
    let newer = tantivy::Index::open_in_dir(&path).unwrap();
    let mut writer: tantivy::IndexWriter<TantivyDocument> = newer.writer(50_000_000).unwrap();
    let mut prepared = writer.prepare_commit().unwrap();
    prepared.set_payload(&serde_json::json!({ "schema_version": 99, "sources": {} }).to_string());
    prepared.commit().unwrap();
    drop(writer);
    let refused = webcare::search::reindex::reindex(old_dir.path(), false)
        .err()
        .unwrap()
        .to_string();
    // Which says to run the newer webcare, not `reindex` again.
    assert!(
        refused.contains("newer webcare (schema version 99")
            && !refused.contains("run `webcare reindex`"),
        "{refused}"
    );
    let refused = MentionIndex::open(old_dir.path())
        .err()
        .unwrap()
        .to_string();
    assert!(
        refused.contains("newer webcare (schema version 99"),
        "{refused}"
    );
    assert_eq!(
        tantivy::Index::open_in_dir(&path)
            .unwrap()
            .reader()
            .unwrap()
            .searcher()
            .num_docs(),
        4
    );
}

/// A word is found however the writer's keyboard spelled it: accents composed or not,
/// Turkish İ and letters typed without their marks, Persian typed with Arabic letters or
/// with and without the zero-width non-joiner, Persian digits, Russian ё; and the redaction's placeholders are no words to find.
#[test]
fn a_word_is_found_however_it_was_typed() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let pipeline = pipeline();
    let posts = [
        // "décision" with the accent as a character of its own (NFD).
        ("fr", "La de\u{301}cision de l'IND sur ma demande d'asile aux Pays-Bas n'arrive pas, de\u{301}sole\u{301}."),
        ("tr-cap", "İltica başvurum için COA kampında bekliyorum, IND görüşmesi hâlâ yok."),
        ("tr-ascii", "COA kampinda iltica basvurum icin bekliyoruz, IND gorusmesi yok."),
        ("fa-arabic-letters", "در كمپ COA خيلي شلوغ است و IND جواب نمي دهد بعد از ۱۴ ماه"),
        // With the zero-width non-joiner inside its words.
        ("fa-zwnj", "ما در مرکز COA روی زمین می\u{200c}خوابیم و IND هشت ماه است که به درخواست\u{200c}های ما جواب نمی\u{200c}دهد"),
        ("ru", "Мы ждём решения IND по убежищу в Нидерландах уже год, COA молчит."),
        ("pii", "Ik heet Jan de Vries en wacht al een jaar op de IND in het azc."),
    ];
    let mut w = index.writer().unwrap();
    for (id, text) in posts {
        let m = pipeline.process(mention("s", id, text));
        assert!(m.is_relevant(), "{id}: {:?}", m.relevance);
        w.upsert(&m).unwrap();
    }
    w.commit(&Checkpoints::new()).unwrap();
    let ids = |q: &str| -> Vec<String> {
        let mut ids: Vec<String> = index
            .search(&SearchRequest {
                q: q.into(),
                ..Default::default()
            })
            .unwrap()
            .hits
            .into_iter()
            .map(|h| h.title.trim_start_matches("titel ").to_string())
            .collect();
        ids.sort();
        ids
    };
    for q in ["décision", "de\u{301}cision", "decision", "désolé"] {
        assert_eq!(ids(q), ["fr"], "{q}");
    }
    for q in ["iltica", "İltica", "ILTICA", "ilti*"] {
        assert_eq!(ids(q), ["tr-ascii", "tr-cap"], "{q}");
    }
    for q in ["başvuru", "basvuru"] {
        assert_eq!(ids(q), ["tr-ascii", "tr-cap"], "{q}");
    }
    for q in ["کمپ", "كمپ", "خیلی", "14"] {
        assert_eq!(ids(q), ["fa-arabic-letters"], "{q}");
    }
    // The whole word by either spelling; the word without its suffix by its first part.
    for q in [
        "میخوابیم",
        "می\u{200c}خوابیم",
        "نمیدهد",
        "میخو*",
        "می\u{200c}خو*",
        "درخواست",
        "درخواستهای",
        "درخواست\u{200c}های",
        "\"درخواست\u{200c}های ما\"",
    ] {
        assert_eq!(ids(q), ["fa-zwnj"], "{q}");
    }
    for q in ["ждем", "ждём", "ждем*"] {
        assert_eq!(ids(q), ["ru"], "{q}");
    }
    // The name was taken out; "name" is no word of the post. (The post introduces the
    // name with "heet": "naam" would be found, as Dutch stems it "nam", like "name".)
    assert_eq!(ids("name"), Vec::<String>::new());
    assert_eq!(ids("vries"), Vec::<String>::new());
    assert_eq!(ids("azc"), ["pii"]);
}

/// `COA-locat*` finds "COA-locatie", and `"de coa-loc"*` too: the words in a row, the
/// last of which begins so as written (a stem is no word's beginning: "locatie" is kept
/// as "locati"), not the first words here and such a word there.
#[test]
fn a_hyphenated_compound_is_found_by_its_beginning() {
    let (_dir, index) = index_of(&[
        (
            "1",
            "Brand op de COA-locatie in Budel, de IND-medewerker kwam niet.",
        ),
        ("2", "Het COA heeft een nieuwe opvang geopend, de IND niet."),
    ]);
    for q in [
        "COA-loc*",
        "coa-locat*",
        "IND-med*",
        "COA-locatie",
        "\"COA-locat\"*",
        "\"de coa-loc\"*",
        "\"heeft een nieuwe opv\"*",
    ] {
        assert_eq!(count(&index, q), 1, "{q}");
    }
    // The words in a row, as in the compound: not "COA" here and an "opv…" word there.
    assert_eq!(count(&index, "COA-opv*"), 0);
    assert_eq!(count(&index, "\"het coa gep\"*"), 0);
    // Too short a beginning is refused as for any word*.
    let err = index
        .search(&SearchRequest {
            q: "IND-m*".into(),
            ..Default::default()
        })
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("m* is too short"), "{err}");
}

/// A snippet gives a match its context, even one at the very end of a long post; it ends
/// where its words end ("50%", a closing quote), and says with "…" that the post goes on.
#[test]
fn a_snippet_shows_the_match_in_its_context() {
    let filler = "Op de locatie van het COA is de bus naar de stad vaak te laat en ".repeat(6);
    let late = format!("{filler}de kapstok");
    let (_dir, index) = index_of(&[
        ("late", late.as_str()),
        ("tail", "De wachttijd bij het COA steeg dit jaar met 50%"),
        ("quote", "Het COA zei tegen de bewoners: \"wij doen niets\""),
    ]);
    let snippet = |q: &str| {
        let results = index
            .search(&SearchRequest {
                q: q.into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(results.total, 1, "{q}");
        results.hits[0].snippet.clone()
    };
    let late = snippet("kapstok");
    assert!(
        late.starts_with('…') && late.ends_with("de <b>kapstok</b>"),
        "{late}"
    );
    assert!(late.chars().count() > 150, "{late}");
    assert!(late.contains("vaak te laat en de <b>kapstok</b>"), "{late}");
    assert_eq!(
        snippet("wachttijd"),
        "De <b>wachttijd</b> bij het COA steeg dit jaar met 50%"
    );
    assert!(
        snippet("bewoners").ends_with("niets&quot;"),
        "{}",
        snippet("bewoners")
    );
    let long = snippet("bus");
    assert!(long.ends_with('…') && !long.starts_with('…'), "{long}");
}

/// A new index in a temporary directory holding the JSON Lines `lines`, imported
/// through the pipeline; every line must be indexed.
fn imported(lines: &[String]) -> (tempfile::TempDir, MentionIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let report = webcare::import::import(
        "posts.jsonl",
        lines.join("\n").as_bytes(),
        &pipeline(),
        &index,
        None,
    )
    .unwrap();
    assert_eq!(report.indexed, lines.len(), "{report:?}");
    (dir, index)
}

/// A new index in a temporary directory holding `posts` (id, text), committed.
fn index_of(posts: &[(&str, &str)]) -> (tempfile::TempDir, MentionIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let mut w = index.writer().unwrap();
    for (id, text) in posts {
        w.upsert(&mention("s", id, text)).unwrap();
    }
    w.commit(&Checkpoints::new()).unwrap();
    (dir, index)
}

/// A query that would take the search thread's stack (nested NOTs or groups, under the
/// length limit) or gigabytes of memory (a phrase's slop in the billions) is a bad
/// request, said why; what staff write is searched. Searched on a thread with the stack
/// of the daemon's search threads (2 MiB), where the deep ones aborted the process.
#[test]
fn a_query_that_would_exhaust_the_stack_or_the_memory_is_refused() {
    let (_dir, index) = index_of(&[
        (
            "1",
            "De tolk van de IND was er niet, de hele dag gewacht in Ter Apel",
        ),
        ("2", "Het COA in Ter Apel: de tolk kwam te laat"),
    ]);
    let search = |q: String| {
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn_scoped(scope, || {
                    index
                        .search(&SearchRequest {
                            q,
                            ..Default::default()
                        })
                        .map(|r| r.total)
                        .map_err(|e| (e.is_bad_request(), e.to_string()))
                })
                .unwrap()
                .join()
                .unwrap()
        })
    };
    for deep in [
        format!("{}ind", "NOT ".repeat(249)),
        format!("{}ind{}", "(-".repeat(330), ")".repeat(330)),
        format!("{}tolk{}", "+(".repeat(300), ")".repeat(300)),
        format!("tolk {}\"tolk ind\"", "-".repeat(400)),
        // Spelled so that a count on the text as typed missed them: apostrophes the
        // grammar reads as spaces, an escaped quote it reads inside a word.
        format!("{}'ind", "'NOT".repeat(249)),
        format!("\\\" {}ind{}", "(-".repeat(330), ")".repeat(330)),
        format!("\\\" {}ind", "NOT ".repeat(248)),
    ] {
        assert!(deep.len() <= webcare::search::query::MAX_QUERY_LEN);
        let (bad_request, message) = search(deep.clone()).unwrap_err();
        assert!(
            bad_request && message.contains("nests too deep") && message.contains("at most 20"),
            "{deep}: {message}"
        );
    }
    let (bad_request, message) =
        search("\"de het een van en in op is\"~4294967295".into()).unwrap_err();
    assert!(
        bad_request && message.contains("at most 20 words apart"),
        "{message}"
    );
    // What staff write: groups, exclusions and a phrase with room between its words.
    search(format!("{}tolk", "NOT ".repeat(19))).unwrap();
    assert_eq!(search("tolk AND NOT (coa OR azc)".into()).unwrap(), 1);
    assert_eq!(
        search("(tolk -(coa OR azc)) \"tolk ind\"~20".into()).unwrap(),
        1
    );
    assert_eq!(search("\"tolk ind\"~1".into()).unwrap(), 0);
    assert_eq!(search("ter-apel tolk".into()).unwrap(), 2);
    // Many words side by side are no nesting.
    let words: Vec<String> = (0..120).map(|i| format!("w{i}")).collect();
    assert_eq!(
        search(format!("tolk OR {}", words.join(" OR "))).unwrap(),
        2
    );
    assert_eq!(search(format!("tolk {}", words.join(" "))).unwrap(), 0);
}

/// A post stored by an older webcare, whose permalink kept what the canonical form now
/// takes out (a user name and password before the host, a session in the query), is
/// erased by that permalink as staff see it, and by the link as it is canonicalised now.
#[test]
fn a_permalink_stored_before_it_lost_its_secrets_is_erased_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let mut w = index.writer().unwrap();
    let stored = [
        (
            "1",
            "https://jan%40mail.example:geheim@forum.example.nl/t/ui1?sid=42",
        ),
        (
            "2",
            "https://forum.example.nl/t/ui2?contact=jan(at)mail.example&page=2",
        ),
    ];
    for (id, url) in stored {
        let mut m = mention("s", id, "De tolk kwam niet opdagen bij het gehoor");
        m.url = Some(url.to_string());
        w.upsert(&m).unwrap();
    }
    w.commit(&Checkpoints::new()).unwrap();
    let pipeline = pipeline();
    let shown = webcare::http::erasure_for(&pipeline, Some(stored[0].1), None).unwrap();
    // The audit trail's form of it holds no password.
    assert!(!shown.describe().contains("geheim"), "{}", shown.describe());
    assert_eq!(w.erase(&shown).unwrap(), 1);
    let canonical = webcare::http::erasure_for(
        &pipeline,
        Some("https://forum.example.nl/t/ui2?page=2#reply"),
        None,
    )
    .unwrap();
    assert_eq!(
        w.erase(&canonical).unwrap(),
        0,
        "the old link kept the address"
    );
    let shown = webcare::http::erasure_for(&pipeline, Some(stored[1].1), None).unwrap();
    assert_eq!(w.erase(&shown).unwrap(), 1);
    w.commit(&Checkpoints::new()).unwrap();
    assert_eq!(count(&index, "tolk"), 0);
}

/// `reindex` where there is nothing to rebuild says so: no index yet, or one never
/// written to.
#[test]
fn reindex_without_mentions_says_there_is_nothing_to_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let err = webcare::search::reindex::reindex(dir.path(), false)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no index here to rebuild"), "{err}");
    MentionIndex::open(dir.path()).unwrap();
    assert_eq!(
        webcare::search::reindex::reindex(dir.path(), false).unwrap(),
        webcare::search::reindex::Reindexed::Current
    );
}

/// A full disk ends tantivy's indexing threads. Once there is room again the writer
/// stores again, without a restart (a version that refused the batches of a writer that
/// had lost its threads, without rolling back, stopped storing for good), and what was
/// refused meanwhile had its position kept back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_stores_again_once_a_full_disk_has_room() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "none"])
        .arg(&disk)
        .stderr(std::process::Stdio::null())
        .status();
    if !matches!(mounted, Ok(status) if status.success()) {
        eprintln!("skipped: a full disk is a small tmpfs here, and mounting one needs root");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            // Lazily: the index's files may still be open when a failed assertion
            // unwinds here.
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let _unmount = Unmount(disk.clone());
    let index = MentionIndex::open(&disk).unwrap();
    let (handle, _thread) = start_writer(&index, 1_000, std::time::Duration::from_millis(50));
    let text = "Wachten op de IND in Ter Apel. ".repeat(40);
    let batch = |round: usize| Batch {
        source: "s".into(),
        mentions: (0..40)
            .map(|i| mention("s", &format!("{round}-{i}"), &text))
            .collect(),
        checkpoint: checkpoint(&format!("v{round}")).remove("s"),
    };
    handle.write(batch(0)).await.unwrap();
    // The disk full.
    let filler = disk.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 64 * 1024];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);
    for round in 1..=6 {
        assert!(handle.write(batch(round)).await.is_err(), "round {round}");
    }
    // Named, and why: where tantivy's words were "An index writer was killed", ours.
    let failure = handle.commit_failure().unwrap();
    assert!(
        failure.contains(&index.path().display().to_string())
            && (failure.contains("full disk") || failure.contains("No space left")),
        "{failure}"
    );
    assert_eq!(index.checkpoints().unwrap(), checkpoint("v0"));
    // Room again: the next batch is stored (tantivy's threads are new), with its position.
    std::fs::remove_file(&filler).unwrap();
    handle.write(batch(7)).await.unwrap();
    assert_eq!(index.checkpoints().unwrap(), checkpoint("v7"));
    assert!(handle.commit_failure().is_none());
    index.reload().unwrap();
    assert_eq!(index.num_mentions(), 80);
}

/// An author's erased posts stay erased when they come back without the author (a
/// platform shows a deleted account's posts as by "[deleted]"; an import leaves the
/// author out), by their permalink or, without one, as the same item of the same source.
#[test]
fn an_erased_authors_posts_do_not_come_back_without_the_author() {
    let author = "p_000000000000000000000002";
    let mut linked = mention("s", "linked", "Wachten op de IND in Ter Apel.");
    linked.author = Some(author.into());
    linked.url = Some("https://forum.example/t/ayla/1".into());
    let mut bare = mention("s", "bare", "De tolk bij mijn gehoor was slecht.");
    bare.author = Some(author.into());
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let mut w = index.writer().unwrap();
    w.upsert(&linked).unwrap();
    w.upsert(&bare).unwrap();
    w.commit(&Checkpoints::new()).unwrap();
    drop(w);
    let erasure = webcare::search::Erasure::Author(author.into());
    assert_eq!(index.erase_now(&erasure).unwrap(), 2);
    let mut w = index.writer().unwrap();
    let mut linked_again = mention("other-source", "x1", "Wachten op de IND in Ter Apel.");
    linked_again.url = linked.url.clone();
    let bare_again = Mention {
        author: None,
        ..bare.clone()
    };
    assert!(!w.upsert(&linked_again).unwrap(), "by its permalink");
    assert!(!w.upsert(&bare_again).unwrap(), "as the same item");
    let other = mention("s", "other", "De tolk bij mijn gehoor was slecht.");
    assert!(w.upsert(&other).unwrap(), "someone else's post is stored");
    let list = std::fs::read_to_string(dir.path().join("erased.json")).unwrap();
    assert!(!list.contains("ayla") && !list.contains("bare"), "{list}");
}

/// A restore that left out `erased.json` beside an index last written with one is
/// refused by every writer and by `reindex`: a list of none would let the erased posts
/// be stored again, without a word. Written as `{}` by hand, it is taken.
#[test]
fn a_missing_list_of_erased_posts_is_refused_where_the_index_had_one() {
    let mut gone = mention("s", "gone", "Wachten op de IND in Ter Apel.");
    gone.author = Some("p_000000000000000000000001".into());
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let mut w = index.writer().unwrap();
    w.upsert(&gone).unwrap();
    w.commit(&Checkpoints::new()).unwrap();
    drop(w);
    let erasure = webcare::search::Erasure::Author("p_000000000000000000000001".into());
    assert_eq!(index.erase_now(&erasure).unwrap(), 1);
    let list = dir.path().join("erased.json");
    std::fs::remove_file(&list).unwrap();
    let refused = index.writer().err().unwrap().to_string();
    assert!(
        refused.contains("erased.json")
            && refused.contains("missing")
            && refused.contains("restore"),
        "{refused}"
    );
    let refused = webcare::search::reindex::reindex(dir.path(), false)
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("missing"), "{refused}");
    std::fs::write(&list, "{}").unwrap();
    let mut w = index.writer().unwrap();
    assert!(
        w.upsert(&gone).unwrap(),
        "stored again: the list is empty now"
    );
    // An index that never had an erasure needs no list.
    let (other, index) = index_of(&[("1", "Wachten op de IND.")]);
    assert!(!other.path().join("erased.json").exists());
    index.writer().unwrap();
}
