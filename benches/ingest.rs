//! Ingest and search benchmark (a bench binary, not a timed test).
//!
//! 1. 100,000 synthetic multilingual mentions of about 300 bytes: the full pipeline
//!    (language, relevance) into the webcare index (upserts, commit), against two
//!    baselines in the same run that index the very same documents without the
//!    pipeline: a plain tantivy index (default tokenizer), and the webcare index itself.
//! 2. Search latency over 1,000,000 mentions for a two-term query with a language
//!    filter: `MentionIndex::search` (parse, filters, count, facets, snippets, stored
//!    fields) against a bare tantivy TopDocs + Count on the same index.
//!
//! Run: `cargo bench --bench ingest` (set WEBCARE_BENCH_SEARCH_DOCS to shrink part 2).
//! Prints medians of several rounds; the machine is shared and noisy.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema, STORED, STRING, TEXT};
use tantivy::{doc, Index, Term};

use webcare::mention::Mention;
use webcare::pipeline::Pipeline;
use webcare::search::{Checkpoints, MentionIndex, SearchRequest};

const INGEST_DOCS: usize = 100_000;
const ROUNDS: usize = 3;
const QUERIES: usize = 2_000;

const NL: &[&str] = &[
    "ik",
    "wacht",
    "al",
    "maanden",
    "op",
    "een",
    "beslissing",
    "van",
    "de",
    "over",
    "mijn",
    "het",
    "is",
    "niet",
    "goed",
    "geregeld",
    "tolk",
    "sprak",
    "verkeerd",
    "dialect",
    "tijdens",
    "gehoor",
    "brief",
    "kwam",
    "te",
    "laat",
    "wij",
    "slapen",
    "in",
    "wachtkamer",
    "kinderen",
    "zonder",
    "eten",
    "advocaat",
    "belt",
    "nooit",
    "terug",
    "en",
    "waarom",
    "duurt",
    "dit",
    "zo",
    "lang",
    "nog",
    "steeds",
    "geen",
    "antwoord",
    "telefoon",
    "niemand",
    "neemt",
];
const NL_TOPIC: &[&str] = &[
    "asielzoekers",
    "IND",
    "COA",
    "azc",
    "Ter Apel",
    "asielprocedure",
    "nader gehoor",
    "nareis",
];
const EN: &[&str] = &[
    "i",
    "have",
    "been",
    "waiting",
    "for",
    "months",
    "decision",
    "from",
    "the",
    "about",
    "my",
    "interview",
    "is",
    "not",
    "interpreter",
    "spoke",
    "wrong",
    "dialect",
    "during",
    "letter",
    "arrived",
    "too",
    "late",
    "we",
    "sleep",
    "in",
    "waiting",
    "room",
    "children",
    "without",
    "food",
    "lawyer",
    "never",
    "calls",
    "back",
    "and",
    "why",
    "does",
    "this",
    "take",
    "so",
    "long",
    "still",
    "no",
    "answer",
    "phone",
    "nobody",
    "picks",
    "up",
    "today",
];
const EN_TOPIC: &[&str] = &[
    "asylum seekers in the Netherlands",
    "Dutch immigration service",
    "Ter Apel registration centre",
    "COA",
    "IND asylum",
];
const AR: &[&str] = &[
    "انتظرت",
    "أكثر",
    "من",
    "سنة",
    "للحصول",
    "على",
    "قرار",
    "بشأن",
    "طلب",
    "اللجوء",
    "الخاص",
    "بي",
    "في",
    "هولندا",
    "المترجم",
    "كان",
    "يتكلم",
    "لهجة",
    "مختلفة",
    "المقابلة",
    "الرسالة",
    "وصلت",
    "متأخرة",
    "الأطفال",
    "ينامون",
];
const FA: &[&str] = &[
    "من",
    "بیش",
    "از",
    "یک",
    "سال",
    "است",
    "که",
    "منتظر",
    "تصمیم",
    "اداره",
    "مهاجرت",
    "درباره",
    "پناهندگی",
    "خودم",
    "هستم",
    "مترجم",
    "لهجه",
    "دیگری",
    "صحبت",
    "کرد",
    "نامه",
    "دیر",
    "رسید",
    "بچه‌ها",
    "هلند",
];
const TR: &[&str] = &[
    "aylardır",
    "karar",
    "bekliyorum",
    "başvurum",
    "hakkında",
    "hiçbir",
    "haber",
    "yok",
    "tercüman",
    "farklı",
    "bir",
    "lehçe",
    "konuştu",
    "mülakat",
    "sırasında",
    "mektup",
    "geç",
    "geldi",
    "çocuklar",
    "bekleme",
    "salonunda",
    "uyuyor",
    "Hollanda",
    "iltica",
    "avukatım",
];
const DECOY_NL: &[&str] = &[
    "dierenasiel",
    "katten",
    "asiel",
    "IND vs AUS",
    "wickets",
    "gehoorapparaat",
    "concert",
    "weer",
    "trein",
];

fn sentence(
    rng: &mut StdRng,
    words: &[&str],
    topic: &[&str],
    relevant: bool,
    target: usize,
) -> String {
    let mut text = String::with_capacity(target + 40);
    let mut placed = !relevant;
    while text.len() < target {
        if !placed && text.len() > target / 3 {
            text.push_str(topic[rng.random_range(0..topic.len())]);
            placed = true;
        } else {
            text.push_str(words[rng.random_range(0..words.len())]);
        }
        text.push(' ');
    }
    if !placed {
        text.push_str(topic[0]);
    }
    text
}

/// Deterministic synthetic mentions: 45% nl, 25% en, 10% each ar, fa, tr; 80% relevant.
fn synthetic(n: usize, seed: u64) -> Vec<Mention> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            let relevant = rng.random_range(0..10) < 8;
            let pick = rng.random_range(0..100);
            let text = match pick {
                0..45 if relevant => sentence(&mut rng, NL, NL_TOPIC, true, 280),
                0..45 => sentence(&mut rng, NL, DECOY_NL, true, 280),
                45..70 => sentence(&mut rng, EN, EN_TOPIC, relevant, 280),
                70..80 => sentence(&mut rng, AR, &["IND", "COA", "Ter Apel"], relevant, 280),
                80..90 => sentence(&mut rng, FA, &["IND", "COA", "azc"], relevant, 280),
                _ => sentence(&mut rng, TR, &["IND", "COA", "azc"], relevant, 280),
            };
            let published = start + chrono::Duration::seconds(i as i64 * 37);
            let mut m = Mention::new("bench", &format!("item-{seed}-{i}"), published, published);
            m.title = text.split(' ').take(6).collect::<Vec<_>>().join(" ");
            m.text = text;
            m
        })
        .collect()
}

/// Mentions per hand-over from a pipeline thread to the writer (a poll's worth).
const BATCH: usize = 100;

fn pipeline() -> Pipeline {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = webcare::config::Pipeline::with_topics(repo.join("config/topics"));
    Pipeline::from_config(&config).expect("topic files load")
}

/// Baseline: the same texts straight into a plain tantivy index (default tokenizer).
fn raw_tantivy(mentions: &[Mention]) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let mut b = Schema::builder();
    let id = b.add_text_field("id", STRING | STORED);
    let title = b.add_text_field("title", TEXT | STORED);
    let text = b.add_text_field("text", TEXT | STORED);
    let index = Index::create_in_dir(dir.path(), b.build()).unwrap();
    let started = Instant::now();
    let mut writer = index
        .writer::<tantivy::TantivyDocument>(128 * 1024 * 1024)
        .unwrap();
    for m in mentions {
        writer
            .add_document(
                doc!(id => m.id.as_str(), title => m.title.as_str(), text => m.text.as_str()),
            )
            .unwrap();
    }
    writer.commit().unwrap();
    started.elapsed()
}

/// The product: every mention through the pipeline, relevant ones upserted, one commit.
fn full_pipeline(mentions: Vec<Mention>, pipeline: &Pipeline) -> (Duration, usize) {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let started = Instant::now();
    let mut writer = index.writer().unwrap();
    let mut kept = 0;
    // As in the daemon, where every source's poll runs the pipeline on its own: the
    // pipeline on as many threads as there are cores, one writer taking the results.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = mentions.len().div_ceil(threads).max(1);
    // Results travel in batches, as a poll's items do in the daemon.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Mention>>(16);
    std::thread::scope(|scope| {
        let mut rest = mentions;
        while !rest.is_empty() {
            let tail = rest.split_off(chunk.min(rest.len()));
            let part = std::mem::replace(&mut rest, tail);
            let tx = tx.clone();
            scope.spawn(move || {
                let mut batch = Vec::with_capacity(BATCH);
                for m in part {
                    let m = pipeline.process(m);
                    if m.is_relevant() {
                        batch.push(m);
                    }
                    if batch.len() == BATCH && tx.send(std::mem::take(&mut batch)).is_err() {
                        return;
                    }
                }
                let _ = tx.send(batch);
            });
        }
        drop(tx);
        for batch in rx {
            for m in &batch {
                writer.upsert(m).unwrap();
                kept += 1;
            }
        }
    });
    writer.commit(&Checkpoints::new()).unwrap();
    (started.elapsed(), kept)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The same analysed documents straight into the webcare index: no pipeline stages.
fn straight_into_webcare_index(analysed: &[Mention]) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let index = MentionIndex::open(dir.path()).unwrap();
    let started = Instant::now();
    let mut writer = index.writer().unwrap();
    for m in analysed {
        writer.upsert(m).unwrap();
    }
    writer.commit(&Checkpoints::new()).unwrap();
    started.elapsed()
}

fn bench_ingest(pipeline: &Pipeline) {
    let mentions = synthetic(INGEST_DOCS, 1);
    let bytes: usize = mentions.iter().map(|m| m.text.len()).sum();
    // The documents the pipeline ends up indexing, analysed once up front, so that both
    // baselines index exactly what the pipeline indexes.
    let kept: Vec<Mention> = mentions
        .iter()
        .cloned()
        .map(|m| pipeline.process(m))
        .filter(Mention::is_relevant)
        .collect();
    println!(
        "ingest: {INGEST_DOCS} synthetic mentions of {} bytes on average, {} of them relevant (indexed)",
        bytes / INGEST_DOCS,
        kept.len()
    );
    let (mut raw, mut straight, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=ROUNDS {
        let r = raw_tantivy(&kept).as_secs_f64();
        let s = straight_into_webcare_index(&kept).as_secs_f64();
        let (elapsed, _) = full_pipeline(mentions.clone(), pipeline);
        let f = elapsed.as_secs_f64();
        println!(
            "  round {round}: raw tantivy {r:.2}s, webcare index without pipeline {s:.2}s, full pipeline {f:.2}s ({:.0} mentions/s)",
            INGEST_DOCS as f64 / f
        );
        raw.push(r);
        straight.push(s);
        full.push(f);
    }
    let (r, s, f) = (median(raw), median(straight), median(full));
    let rate = |secs: f64| INGEST_DOCS as f64 / secs;
    println!(
        "ingest median, as the time to take all {INGEST_DOCS} mentions in: raw tantivy {r:.2}s ({:.0}/s), webcare index without pipeline {s:.2}s ({:.0}/s), full pipeline {f:.2}s ({:.0}/s)",
        rate(r),
        rate(s),
        rate(f)
    );
    println!("  ratio full pipeline / raw tantivy: {:.2}; full pipeline / webcare index without pipeline: {:.2}", r / f, s / f);
    let sample = synthetic(20_000, 2);
    let sample_started = Instant::now();
    for m in sample {
        std::hint::black_box(pipeline.process(m));
    }
    println!(
        "analysis stages alone (one core): {:.0} mentions/s",
        20_000.0 / sample_started.elapsed().as_secs_f64()
    );
    stage_costs(pipeline);
}

/// Time per mention of each stage on its own, to see where the pipeline spends it.
fn stage_costs(pipeline: &Pipeline) {
    let sample = synthetic(20_000, 3);
    let languages: Vec<String> = [
        "nl", "en", "ar", "fa", "tr", "uk", "fr", "de", "so", "ti", "es", "ru",
    ]
    .map(String::from)
    .to_vec();
    let detector = webcare::pipeline::language::LanguageDetector::new(&languages);
    let time = |name: &str, f: &dyn Fn(&Mention)| {
        let t = Instant::now();
        for m in &sample {
            f(m);
        }
        println!(
            "  stage {name:<10} {:>6.2} µs per mention",
            t.elapsed().as_secs_f64() * 1e6 / sample.len() as f64
        );
    };
    time("tidy", &|m| {
        std::hint::black_box(webcare::pipeline::extract::fold_whitespace(&m.text));
    });
    time("language", &|m| {
        std::hint::black_box(detector.detect(&m.text, None));
    });
    time("relevance", &|m| {
        std::hint::black_box(pipeline.topics().judge(&m.text, &m.lang));
    });
    let redactor = webcare::pipeline::redact::Redactor::new(&[]).unwrap();
    time("redact", &|m| {
        std::hint::black_box(redactor.redact(&m.text));
    });
    // Real posts often hold digits (dates, times, counts): the slow path, measured too.
    time("redact 0-9", &|m| {
        std::hint::black_box(redactor.redact(&format!("Op 12-03-2026 om 06:30: {}", m.text)));
    });
    time("complaint", &|m| {
        std::hint::black_box(pipeline.complaint_rules().judge(&m.text, "nl"));
    });
    time("signature", &|m| {
        std::hint::black_box(webcare::pipeline::duplicates::signature(&m.text));
    });
    // Every stage together, one thread: what one core sustains before the index.
    let mut rates = Vec::new();
    for round in 0..ROUNDS {
        let fresh = self::pipeline();
        let batch = synthetic(20_000, 10 + round as u64);
        let t = Instant::now();
        for m in batch {
            std::hint::black_box(fresh.process(m));
        }
        rates.push(20_000.0 / t.elapsed().as_secs_f64());
    }
    println!(
        "  all analysis stages, one core: {:.0} mentions/s (median of {ROUNDS})",
        median(rates)
    );
    duplicate_lookup();
}

/// Time per near-duplicate lookup with 10,000 and 1,000,000 mentions in the table,
/// against a linear scan over the same signatures (the baseline LSH avoids).
fn duplicate_lookup() {
    use webcare::pipeline::duplicates::{signature, similarity, DuplicateIndex, SIMILAR};
    let sizes: Vec<usize> = match std::env::var("WEBCARE_BENCH_DUP_SIZES") {
        Ok(v) => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        Err(_) => vec![10_000, 1_000_000],
    };
    let probes: Vec<_> = synthetic(2_000, 99)
        .iter()
        .filter_map(|m| signature(&m.text))
        .collect();
    for size in sizes {
        let mut table = DuplicateIndex::default();
        let mut all = Vec::with_capacity(size);
        let mut seed = 1000;
        while all.len() < size {
            for m in synthetic((size - all.len()).min(50_000), seed) {
                if let Some(s) = signature(&m.text) {
                    table.insert(&m.id, &s);
                    all.push(s);
                }
            }
            seed += 1;
        }
        let mut lsh = Vec::new();
        let mut scan = Vec::new();
        for _ in 0..ROUNDS {
            let mut probe_table = std::mem::take(&mut table);
            let t = Instant::now();
            for (i, p) in probes.iter().enumerate() {
                std::hint::black_box(probe_table.assign(&format!("probe-{i}"), p));
            }
            lsh.push(t.elapsed().as_secs_f64() * 1e6 / probes.len() as f64);
            table = probe_table;
            let t = Instant::now();
            for p in probes.iter().take(100) {
                std::hint::black_box(all.iter().any(|s| similarity(p, s) >= SIMILAR));
            }
            scan.push(t.elapsed().as_secs_f64() * 1e6 / 100.0);
        }
        let (lsh, scan) = (median(lsh), median(scan));
        println!(
            "  duplicate lookup with {size:>9} in the table: {lsh:>7.2} µs (LSH) vs {scan:>10.1} µs (linear scan): {:.0}x",
            scan / lsh
        );
    }
}

fn build_search_index(dir: &Path, n: usize) -> MentionIndex {
    let index = MentionIndex::open(dir).unwrap();
    let mut writer = index.writer().unwrap();
    let langs = ["nl", "nl", "nl", "en", "en", "ar", "fa", "tr"];
    let aspects = webcare::pipeline::aspects::ASPECTS;
    let mut rng = StdRng::seed_from_u64(7);
    // One year of mentions, so that a 52-week export has every week filled.
    let start = Utc.with_ymd_and_hms(2025, 11, 1, 0, 0, 0).unwrap();
    let step = 365.0 * 86_400.0 / n.max(1) as f64;
    for (chunk, seed) in (0..n).step_by(100_000).zip(10u64..) {
        for (i, mut m) in synthetic(100_000.min(n - chunk), seed)
            .into_iter()
            .enumerate()
        {
            let at = start + chrono::Duration::seconds(((chunk + i) as f64 * step) as i64);
            m.published = at;
            m.lang = langs[rng.random_range(0..langs.len())].to_string();
            // What the pipeline would have added: relevance, aspects, complaint, cluster.
            m.relevance = Some(webcare::mention::Relevance {
                relevant: true,
                rule: "nl/core".into(),
                terms: vec!["ind".into()],
            });
            m.aspects = vec![webcare::pipeline::aspects::AspectTag {
                id: aspects[rng.random_range(0..aspects.len())].to_string(),
                terms: Vec::new(),
            }];
            m.complaint = Some(webcare::pipeline::complaint::Complaint {
                complaint: rng.random_range(0..10) < 6,
                score: 0.7,
                why: Vec::new(),
            });
            m.duplicate = Some(webcare::pipeline::duplicates::Duplicate {
                cluster: format!("c{}", rng.random_range(0..n as u64 / 3)),
                signature: [0; webcare::pipeline::duplicates::SIGNATURE_LEN],
            });
            m.author = Some(format!("p_{}", rng.random_range(0..50_000)));
            writer.upsert(&m).unwrap();
        }
    }
    writer.commit(&Checkpoints::new()).unwrap();
    writer.finish().unwrap();
    index.reload().unwrap();
    index
}

fn bench_search() {
    let n: usize = std::env::var("WEBCARE_BENCH_SEARCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let index = build_search_index(dir.path(), n);
    println!(
        "search: built an index of {} mentions in {:.1}s",
        index.num_mentions(),
        started.elapsed().as_secs_f64()
    );
    let mut rng = StdRng::seed_from_u64(3);
    let pairs: Vec<(String, String)> = (0..QUERIES)
        .map(|_| {
            (
                NL[rng.random_range(0..NL.len())].to_string(),
                NL[rng.random_range(0..NL.len())].to_string(),
            )
        })
        .collect();
    // Bare tantivy on the same index: the Dutch text field, stemmed terms, lang filter.
    let reader = tantivy::Index::open_in_dir(dir.path().join("mentions")).unwrap();
    webcare::search::schema::register_analyzers(&reader);
    let schema = reader.schema();
    let text_nl = schema.get_field("text_nl").unwrap();
    let lang = schema.get_field("lang").unwrap();
    let searcher = reader.reader().unwrap().searcher();
    let mut analyzer = reader.tokenizer_for_field(text_nl).unwrap();
    let mut stem = |w: &str| {
        let mut out = String::new();
        analyzer
            .token_stream(w)
            .process(&mut |t| out = t.text.clone());
        out
    };
    let (mut ours, mut bare) = (Vec::new(), Vec::new());
    let term = |field, text: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::WithFreqs,
        ))
    };
    for (a, b) in &pairs {
        let request = SearchRequest {
            q: format!("{a} {b}"),
            lang: Some("nl".into()),
            ..Default::default()
        };
        let words = vec![term(text_nl, &stem(a)), term(text_nl, &stem(b))];
        let (webcare, tantivy) = time_both(&index, &searcher, &request, words, lang);
        ours.push(webcare);
        bare.push(tantivy);
    }
    report(
        &format!("search over {n} mentions, {QUERIES} two-term queries with lang=nl"),
        ours,
        bare,
    );
    // The first four letters of a word as a prefix, and the other word as stemmed.
    let prefixed: Vec<(String, String, String)> = pairs
        .iter()
        .filter(|(a, _)| a.chars().count() >= 4)
        .take(500)
        .map(|(a, b)| {
            let prefix = a.chars().take(4).collect::<String>().to_lowercase();
            (prefix, b.clone(), stem(b))
        })
        .collect();
    bench_prefix_search(&index, &searcher, text_nl, lang, &prefixed);
    bench_export(&index);
}

/// `word* other` with `lang=nl`, against bare tantivy running the same prefix as a
/// `RegexQuery` with the other word's stem and the language filter.
fn bench_prefix_search(
    index: &MentionIndex,
    searcher: &tantivy::Searcher,
    text_nl: tantivy::schema::Field,
    lang: tantivy::schema::Field,
    prefixed: &[(String, String, String)],
) {
    let words = searcher.schema().get_field("words").unwrap();
    let (mut ours, mut bare) = (Vec::new(), Vec::new());
    for (prefix, b, b_stem) in prefixed {
        let request = SearchRequest {
            q: format!("{prefix}* {b}"),
            lang: Some("nl".into()),
            ..Default::default()
        };
        let parts: Vec<Box<dyn Query>> = vec![
            Box::new(
                tantivy::query::RegexQuery::from_pattern(&format!("{prefix}.*"), words).unwrap(),
            ),
            Box::new(TermQuery::new(
                Term::from_field_text(text_nl, b_stem),
                IndexRecordOption::WithFreqs,
            )),
        ];
        let (webcare, tantivy) = time_both(index, searcher, &request, parts, lang);
        ours.push(webcare);
        bare.push(tantivy);
    }
    report(
        &format!(
            "prefix search, {} queries `word* other` with lang=nl (bare: RegexQuery)",
            prefixed.len()
        ),
        ours,
        bare,
    );
}

/// Milliseconds for webcare's search of `request`, and for bare tantivy's conjunction of
/// `parts` and `lang=nl` (20 hits by score and the count) on the same index.
fn time_both(
    index: &MentionIndex,
    searcher: &tantivy::Searcher,
    request: &SearchRequest,
    parts: Vec<Box<dyn Query>>,
    lang: tantivy::schema::Field,
) -> (f64, f64) {
    let t = Instant::now();
    std::hint::black_box(index.search(request).unwrap());
    let webcare = t.elapsed().as_secs_f64() * 1000.0;
    let mut clauses: Vec<(Occur, Box<dyn Query>)> =
        parts.into_iter().map(|q| (Occur::Must, q)).collect();
    clauses.push((
        Occur::Must,
        Box::new(TermQuery::new(
            Term::from_field_text(lang, "nl"),
            IndexRecordOption::Basic,
        )),
    ));
    let query = BooleanQuery::new(clauses);
    let t = Instant::now();
    std::hint::black_box(
        searcher
            .search(&query, &(TopDocs::with_limit(20).order_by_score(), Count))
            .unwrap(),
    );
    (webcare, t.elapsed().as_secs_f64() * 1000.0)
}

/// One line of medians and p99s, webcare against bare tantivy.
fn report(what: &str, mut ours: Vec<f64>, mut bare: Vec<f64>) {
    ours.sort_by(f64::total_cmp);
    bare.sort_by(f64::total_cmp);
    println!(
        "{what}: webcare median {:.2} ms, p99 {:.2} ms; bare tantivy median {:.2} ms, p99 {:.2} ms; ratio of medians {:.1}",
        percentile(&ours, 0.5),
        percentile(&ours, 0.99),
        percentile(&bare, 0.5),
        percentile(&bare, 0.99),
        percentile(&ours, 0.5) / percentile(&bare, 0.5)
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful: run a
    // tiny smoke version there so the bench code stays compiled and working.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let pipeline = pipeline();
    if std::env::var_os("WEBCARE_BENCH_STAGES").is_some() {
        stage_costs(&pipeline);
        return;
    }
    if std::env::var_os("WEBCARE_BENCH_INDEX_ONLY").is_some() {
        // For profiling the index side alone: analysed documents into the webcare index.
        let kept: Vec<Mention> = synthetic(INGEST_DOCS, 1)
            .into_iter()
            .map(|m| pipeline.process(m))
            .filter(Mention::is_relevant)
            .collect();
        // One round is enough to count instructions (callgrind), and a fifth as long.
        let rounds = std::env::var("WEBCARE_BENCH_ROUNDS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(ROUNDS);
        for _ in 0..rounds {
            let secs = straight_into_webcare_index(&kept).as_secs_f64();
            println!("webcare index without pipeline: {secs:.2}s");
        }
        return;
    }
    if smoke {
        let (_, kept) = full_pipeline(synthetic(1_000, 1), &pipeline);
        assert!(
            kept > 500,
            "synthetic mentions should mostly be relevant, kept {kept}"
        );
        println!("bench smoke run ok ({kept} of 1000 kept)");
        return;
    }
    if std::env::var_os("WEBCARE_BENCH_SEARCH_ONLY").is_none() {
        bench_ingest(&pipeline);
    }
    if std::env::var_os("WEBCARE_BENCH_INGEST_ONLY").is_none() {
        bench_search();
    }
}

/// A 52-week export (CSV, JSON, HTML, SVG) over the search index, against counting the
/// same weeks' mentions with bare tantivy range queries in the same run.
fn bench_export(index: &MentionIndex) {
    use webcare::export::{export, Format, Language, Request, Sources};
    let dir = tempfile::tempdir().unwrap();
    let nothing_known = |_: &str| webcare::pipeline::KnownTerm::Unknown;
    let sources = Sources {
        index,
        state: None,
        known: &nothing_known,
        thresholds: webcare::alerts::settings::Alerts::default().thresholds(),
        kept_from: None,
    };
    let request = Request {
        week: "2026-W43".parse().unwrap(),
        weeks_before: 51,
        tz: chrono_tz::Europe::Amsterdam,
        formats: vec![Format::Csv, Format::Json, Format::Html, Format::Svg],
        out_dir: dir.path().to_path_buf(),
        language: Language::Nl,
        bom: false,
        csv_delimiter: b',',
    };
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        export(&sources, &request, &mut |_| {}).unwrap();
        times.push(t.elapsed().as_secs_f64());
    }
    println!(
        "export: 52 weeks over {} mentions, csv+json+html+svg: median {:.2}s of {ROUNDS}",
        index.num_mentions(),
        median(times)
    );
}
