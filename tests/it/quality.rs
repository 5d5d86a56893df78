//! Quality floors on the held-out labeled sets (`tests/data/labeled-heldout.jsonl` and
//! `labeled-heldout-2.jsonl`): CI fails when a change makes the pipeline understand
//! mentions worse than it did. The floors are the figures measured when they were set
//! (see BENCHMARKS.md), rounded down; the held-out parts are never used to build the
//! rules or train the models.

use std::io::BufReader;

use webcare::eval::evaluate;
use webcare::pipeline::Pipeline;

use crate::fixtures::repo;

const LANGUAGE_ACCURACY_FLOOR: f64 = 0.975;
const RELEVANCE_F1_FLOOR: f64 = 0.92;
const PII_RECALL_FLOOR: f64 = 0.96;
const ASPECTS_MICRO_F1_FLOOR: f64 = 0.79;
/// The aspect stage on its own, on the items labeled relevant (0.852 when set).
const ASPECTS_STAGE_F1_FLOOR: f64 = 0.85;
/// 0.934 when set at 0.93; 0.925 since the analysis reads texts without their personal
/// data (two complaints had been found on the strength of a redacted number).
const COMPLAINT_F1_FLOOR: f64 = 0.92;
const DUPLICATES_F1_FLOOR: f64 = 0.95;
const FALSE_REDACTION_CEILING: f64 = 0.01;

#[test]
fn held_out_quality_does_not_drop_below_the_floors() {
    let config = webcare::config::Pipeline::with_topics(repo().join("config/topics"));
    let pipeline = Pipeline::from_config(&config).unwrap();
    let file = std::fs::File::open(repo().join("tests/data/labeled-heldout.jsonl")).unwrap();
    let mut predictions = Vec::new();
    let report = evaluate(BufReader::new(file), &pipeline, Some(&mut predictions)).unwrap();
    assert!(
        report.items >= 250,
        "held-out set shrank to {} items",
        report.items
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(
        report.language.accuracy >= LANGUAGE_ACCURACY_FLOOR,
        "language accuracy {:.3} < floor {LANGUAGE_ACCURACY_FLOOR}",
        report.language.accuracy
    );
    assert!(
        report.relevance.f1 >= RELEVANCE_F1_FLOOR,
        "relevance F1 {:.3} < floor {RELEVANCE_F1_FLOOR}",
        report.relevance.f1
    );
    assert!(
        report.aspects_micro.f1 >= ASPECTS_MICRO_F1_FLOOR,
        "aspect micro-F1 {:.3} < floor {ASPECTS_MICRO_F1_FLOOR}",
        report.aspects_micro.f1
    );
    assert!(
        report.aspects_stage.f1 >= ASPECTS_STAGE_F1_FLOOR,
        "aspect micro-F1 of the stage alone {:.3} < floor {ASPECTS_STAGE_F1_FLOOR}",
        report.aspects_stage.f1
    );
    assert!(
        report.complaint.f1 >= COMPLAINT_F1_FLOOR,
        "complaint F1 {:.3} < floor {COMPLAINT_F1_FLOOR}",
        report.complaint.f1
    );
    assert!(
        report.duplicates.f1 >= DUPLICATES_F1_FLOOR,
        "near-duplicate pairwise F1 {:.3} < floor {DUPLICATES_F1_FLOOR}",
        report.duplicates.f1
    );
    assert!(
        report.pii.recall >= PII_RECALL_FLOOR,
        "pii recall {:.3} < floor {PII_RECALL_FLOOR}",
        report.pii.recall
    );
    assert!(
        report.pii.false_redaction_rate <= FALSE_REDACTION_CEILING,
        "ordinary numbers wrongly redacted: {:.3} > {FALSE_REDACTION_CEILING}",
        report.pii.false_redaction_rate
    );
    // One prediction line per item, in the documented shape.
    let lines: Vec<serde_json::Value> = String::from_utf8(predictions)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), report.items);
    for key in [
        "id",
        "lang",
        "relevant",
        "complaint",
        "complaint_score",
        "aspects",
        "cluster",
        "text",
    ] {
        assert!(
            lines[0].get(key).is_some(),
            "prediction lacks `{key}`: {}",
            lines[0]
        );
    }
}

/// The second held-out set, written in session 4 by a writer who saw neither the word
/// lists nor any other labeled post: (relevance, complaint, aspects, aspects of the
/// stage alone) floors. Aspects 0.821 and 0.836 (the stage) when the floors were last
/// raised, in session 12, after 1,200 posts in the languages of people in the procedure.
const SECOND_FLOORS: (f64, f64, f64, f64) = (0.97, 0.90, 0.81, 0.82);

#[test]
fn second_held_out_quality_does_not_drop_below_its_floors() {
    let report = evaluated("labeled-heldout-2.jsonl", false);
    assert_eq!(report.items, 240);
    let (relevance, complaint, aspects, stage) = SECOND_FLOORS;
    for (what, measured, floor) in [
        ("relevance F1", report.relevance.f1, relevance),
        ("complaint F1", report.complaint.f1, complaint),
        ("aspect micro-F1", report.aspects_micro.f1, aspects),
        (
            "aspect micro-F1 of the stage alone",
            report.aspects_stage.f1,
            stage,
        ),
    ] {
        assert!(measured >= floor, "{what} {measured:.3} < floor {floor}");
    }
}

/// Both held-out sets as from a topical source, where the learned relevance model
/// weighs what the rules leave open: (file, relevance floor, aspects floor).
const TOPICAL_FLOORS: [(&str, f64, f64); 2] = [
    ("labeled-heldout.jsonl", 0.93, 0.80),
    ("labeled-heldout-2.jsonl", 0.97, 0.80),
];

#[test]
fn held_out_quality_from_a_topical_source_does_not_drop_below_its_floors() {
    for (file, relevance, aspects) in TOPICAL_FLOORS {
        let report = evaluated(file, true);
        for (what, measured, floor) in [
            ("relevance F1", report.relevance.f1, relevance),
            ("aspect micro-F1", report.aspects_micro.f1, aspects),
        ] {
            assert!(
                measured >= floor,
                "{file}, topical: {what} {measured:.3} < floor {floor}"
            );
        }
    }
}

/// At most how many items of text about anything else may be taken for mentions of the
/// procedure: (file, items, from an ordinary source, from a topical source). The files
/// hold 7,500 sentences in fifteen languages (news, encyclopaedia) and 600 everyday
/// social posts, many of them complaints about other offices, none about the procedure.
/// The rules alone took 8 and 1; the learned model, asked only in topical sources, 6
/// and 31 (a forum about the procedure carries little such chatter).
const ORDINARY_CEILINGS: [(&str, usize, usize, usize); 2] = [
    ("ordinary-heldout.jsonl", 7500, 10, 8),
    ("ordinary-social-heldout.jsonl", 600, 2, 36),
];

#[test]
fn ordinary_text_is_not_taken_for_mentions_of_the_procedure() {
    for (file, items, ordinary, topical) in ORDINARY_CEILINGS {
        for (is_topical, ceiling) in [(false, ordinary), (true, topical)] {
            let report = evaluated(file, is_topical);
            assert_eq!(report.items, items);
            assert_eq!(report.relevance.true_positives, 0);
            assert!(
                report.relevance.false_positives <= ceiling,
                "{file} (topical: {is_topical}): {} items taken for mentions, ceiling {ceiling}",
                report.relevance.false_positives
            );
        }
    }
}

/// `tests/data/FILE` through the shipped pipeline, its items as from a topical source
/// or not.
fn evaluated(file: &str, topical: bool) -> webcare::eval::Report {
    let mut config = webcare::config::Pipeline::with_topics(repo().join("config/topics"));
    if topical {
        config
            .topical_sources
            .insert(webcare::eval::SOURCE.to_string());
    }
    let pipeline = Pipeline::from_config(&config).unwrap();
    let input = std::fs::File::open(repo().join("tests/data").join(file)).unwrap();
    let report = evaluate(BufReader::new(input), &pipeline, None).unwrap();
    assert!(report.errors.is_empty(), "{file}: {:?}", report.errors);
    report
}

#[test]
fn a_bad_labeled_line_is_reported_by_number_and_the_rest_is_measured() {
    let pipeline = Pipeline::from_config(&webcare::config::Pipeline::with_topics(
        repo().join("config/topics"),
    ))
    .unwrap();
    let item = |id: &str| {
        format!(
            r#"{{"id":"{id}","lang":"nl","text":"Al veertien maanden wacht ik op de IND.","relevant":true,"complaint":true,"aspects":["waiting_time"],"pii":[],"dup_group":null}}"#
        )
    };
    // A byte-order mark, as some editors start a file with, is read past.
    let mut input = "\u{feff}".as_bytes().to_vec();
    input.extend_from_slice(item("1").as_bytes());
    input.extend_from_slice(b"\n{\"id\":\"2\",\"text\":\"\xff\xfe\"}\n{not json\n");
    input.extend_from_slice(item("4").as_bytes());
    input.push(b'\n');
    // A typo in an aspect id would count as a miss; an id twice would mix two items.
    input.extend_from_slice(item("5").replace("waiting_time", "wachttijd").as_bytes());
    input.push(b'\n');
    input.extend_from_slice(item("4").as_bytes());
    let report = evaluate(BufReader::new(&input[..]), &pipeline, None).unwrap();
    assert_eq!(report.items, 2);
    let lines: Vec<usize> = report.errors.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, vec![2, 3, 5, 6], "{:?}", report.errors);
    let messages: Vec<&str> = report.errors.iter().map(|(_, m)| m.as_str()).collect();
    assert!(messages[0].starts_with("not UTF-8"), "{messages:?}");
    assert_eq!(
        messages[1],
        "invalid labeled item: key must be a string (column 2)"
    );
    assert!(
        messages[2].starts_with(
            "field `aspects`: \"wachttijd\" is not an aspect; known aspects: waiting_time"
        ),
        "{messages:?}"
    );
    assert_eq!(messages[3], "id \"4\" is on line 4 already");
}

#[test]
fn the_relevance_model_speaks_only_in_a_context_about_the_procedure() {
    let mut config = webcare::config::Pipeline::with_topics(repo().join("config/topics"));
    config.topical_sources.insert("forum".to_string());
    let pipeline = Pipeline::from_config(&config).unwrap();
    let judge = |source: &str, text: &str| {
        let now = chrono::Utc::now();
        let mut mention = webcare::mention::Mention::new(source, "1", now, now);
        mention.text = text.to_string();
        pipeline.process(mention).relevance.unwrap()
    };
    // No institution, place or asylum word: no rule matches it.
    let indirect = "Al veertien maanden geen nieuws na mijn tweede gesprek. \
                    Mijn advocaat zegt alleen: wachten.";
    let in_forum = judge("forum", indirect);
    assert!(in_forum.relevant, "{in_forum:?}");
    assert_eq!(in_forum.rule, "model");
    assert!(in_forum.terms[0].starts_with("model:0.9"), "{in_forum:?}");
    let in_news = judge("news", indirect);
    assert!(!in_news.relevant, "{in_news:?}");
    assert_eq!((in_news.rule.as_str(), in_news.terms.len()), ("none", 0));
    // An everyday complaint about another office stays out, also in the forum.
    let other_office = "Waiting for my rent allowance decision for seven weeks now, \
                        nobody answers the phone.";
    assert!(!judge("forum", other_office).relevant);

    // In a general source, a reply in a thread about the procedure has the context.
    let reply = |thread: &str| {
        let now = chrono::Utc::now();
        let mut mention = webcare::mention::Mention::new("news", "2", now, now);
        mention.text = indirect.to_string();
        mention.thread = Some(thread.to_string());
        pipeline.process(mention).relevance.unwrap()
    };
    let about_ter_apel = reply("Weer slapen asielzoekers buiten in Ter Apel");
    assert!(about_ter_apel.relevant, "{about_ter_apel:?}");
    assert_eq!(about_ter_apel.rule, "model");
    assert!(
        about_ter_apel.terms.last().unwrap().starts_with("thread:"),
        "{about_ter_apel:?}"
    );
    let about_trains = reply("De nieuwe dienstregeling van de NS");
    assert!(!about_trains.relevant, "{about_trains:?}");
}
