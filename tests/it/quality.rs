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
const ASPECTS_MICRO_F1_FLOOR: f64 = 0.77;
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
/// lists nor any other labeled post: (relevance, complaint, aspects) floors.
const SECOND_FLOORS: (f64, f64, f64) = (0.97, 0.90, 0.76);

#[test]
fn second_held_out_quality_does_not_drop_below_its_floors() {
    let config = webcare::config::Pipeline::with_topics(repo().join("config/topics"));
    let pipeline = Pipeline::from_config(&config).unwrap();
    let file = std::fs::File::open(repo().join("tests/data/labeled-heldout-2.jsonl")).unwrap();
    let report = evaluate(BufReader::new(file), &pipeline, None).unwrap();
    assert_eq!(report.items, 240);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let (relevance, complaint, aspects) = SECOND_FLOORS;
    for (what, measured, floor) in [
        ("relevance F1", report.relevance.f1, relevance),
        ("complaint F1", report.complaint.f1, complaint),
        ("aspect micro-F1", report.aspects_micro.f1, aspects),
    ] {
        assert!(measured >= floor, "{what} {measured:.3} < floor {floor}");
    }
}
