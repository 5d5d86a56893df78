//! Recurring complaints: the detector on a synthetic stream (backtest), alert mail
//! through a real SMTP server on 127.0.0.1, and the alerts API.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use webcare::alerts::incidents::{Change, Status};
use webcare::alerts::settings::{Alerts, Mail, MailLanguage, MailRule, Security, Smtp};
use webcare::state::StateDb;

use crate::fixtures::{self, get_json, get_json_as, repo, VIEWER_TOKEN};

// ---- a synthetic stream ------------------------------------------------------------

const OPENINGS: &[&str] = &[
    "Echt waar,",
    "Ik moet dit kwijt:",
    "Weer hetzelfde verhaal.",
    "Vandaag weer.",
    "Niemand luistert.",
    "Ongelooflijk.",
    "Mijn ervaring:",
    "Eerlijk gezegd,",
    "Even delen:",
    "Voor wie het nog niet wist:",
    "Zo gaat het dus:",
    "Sorry, lang bericht.",
    "Ik snap het niet.",
    "Wie herkent dit?",
    "Gisteren gebeurd:",
];
const CITIES: &[&str] = &[
    "Budel",
    "Zwolle",
    "Assen",
    "Emmen",
    "Gilze",
    "Arnhem",
    "Leeuwarden",
    "Venlo",
    "Almere",
    "Heerlen",
    "Delfzijl",
    "Zeist",
    "Ter Apel",
    "Rijswijk",
    "Den Bosch",
    "Zevenaar",
];
const PEOPLE: &[&str] = &[
    "mijn broer",
    "mijn zus",
    "mijn buurvrouw",
    "mijn vriend",
    "een kennis",
    "mijn neef",
    "een vrouw uit mijn kamer",
    "mijn oom",
    "een jongen uit Eritrea",
    "een gezin uit Syrië",
];
const CONSEQUENCES: &[&str] = &[
    "Niemand weet hoe het nu verder moet.",
    "We slapen er slecht van.",
    "De kinderen merken het ook.",
    "Werken mag niet, school ook niet echt.",
    "Ik heb hoofdpijn van de stress.",
    "Mijn moeder huilt elke avond.",
    "Wij hangen maar rond.",
    "Geen idee waar ik heen moet.",
    "Het maakt mensen kapot.",
    "Niemand neemt verantwoordelijkheid.",
    "We tellen de dagen.",
    "Iedereen hier zegt hetzelfde.",
];
const CLOSINGS: &[&str] = &[
    "Schandalig.",
    "Belachelijk.",
    "Dit is onacceptabel.",
    "Wat een schande.",
    "Onmenselijk gewoon.",
    "Ik ben het zat.",
    "Dit kan echt niet.",
    "Diep triest.",
    "Absurd.",
    "Te gek voor woorden.",
];

fn pick<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// A complaint sentence about one aspect, each naming the asylum procedure, built from
/// independent parts so that two posts rarely share most of their words.
fn aspect_sentence(aspect: &str, rng: &mut StdRng) -> String {
    let n = rng.random_range(2..30);
    let city = pick(rng, CITIES);
    let who = pick(rng, PEOPLE);
    let subjects: &[String] = &match aspect {
        "waiting_time" => vec![
            format!("al {n} maanden wachten op een beslissing van de IND over de asielaanvraag van {who}"),
            format!("de IND heeft de beslistermijn van {who} met {n} weken overschreden, asielzaak ligt stil"),
            format!("nog steeds geen datum voor het nader gehoor, {n} maanden na de asielaanvraag in {city}"),
            format!("wachttijd bij de IND voor asielzoekers in {city} is nu {n} maanden"),
        ],
        "interpreter" => vec![
            format!("de tolk bij het IND-gehoor van {who} in {city} sprak een ander dialect"),
            format!("tijdens het asielgehoor vertaalde de tolk {n} zinnen verkeerd, zegt {who}"),
            format!("de IND regelde een tolk die de taal van {who} nauwelijks sprak, in {city}"),
            format!("een telefonische tolk bij het gehoor in {city}, de verbinding viel {n} keer weg"),
        ],
        "communication" => vec![
            format!("brieven van de IND over de asielzaak van {who} komen alleen in het Nederlands"),
            format!("{n} keer gemaild naar de IND over mijn asielaanvraag, nooit een reactie"),
            format!("de IND-telefoonlijn voor asielzoekers: {n} minuten in de wacht en dan verbroken"),
            format!("de IND stuurde de uitnodiging van {who} naar het oude adres in {city}"),
        ],
        "reception" => vec![
            format!("in het azc in {city} is de verwarming al {n} dagen kapot en het COA reageert niet"),
            format!("opvang voor asielzoekers in {city}: {n} mensen op een kamer, het COA doet niets"),
            format!("in de noodopvang in {city} slapen asielzoekers al {n} nachten op de grond"),
            format!("het COA verhuisde {who} voor de {n}e keer naar een andere opvanglocatie"),
        ],
        "legal_aid" => vec![
            format!("de advocaat van {who} in de asielprocedure belt al {n} weken niet terug"),
            format!("de asieladvocaat in {city} diende de zienswijze voor de IND {n} dagen te laat in"),
            format!("geen advocaat te vinden voor het beroep van {who} tegen de IND-afwijzing, {n} gebeld"),
        ],
        _ => vec![
            format!("de nareis van het gezin van {who} bij de IND duurt al {n} maanden"),
            format!("nareisaanvraag bij de IND: {n} maanden niets gehoord, de kinderen wachten in {city}"),
            format!("voor de nareis eist de IND papieren die de familie van {who} niet kan krijgen"),
        ],
    };
    subjects[rng.random_range(0..subjects.len())].clone()
}

fn post(rng: &mut StdRng, aspect: &str) -> String {
    let opening = pick(rng, OPENINGS);
    let sentence = aspect_sentence(aspect, rng);
    let consequence = pick(rng, CONSEQUENCES);
    let closing = pick(rng, CLOSINGS);
    format!("{opening} {sentence}. {consequence} {closing}")
}

const ASPECTS: &[&str] = &[
    "waiting_time",
    "interpreter",
    "communication",
    "reception",
    "legal_aid",
    "family_reunification",
];

struct Stream {
    lines: Vec<String>,
    start: DateTime<Utc>,
}

impl Stream {
    fn at(&self, day: i64, hour: i64) -> DateTime<Utc> {
        self.start + chrono::Duration::days(day) + chrono::Duration::hours(hour)
    }

    fn push(&mut self, id: String, author: String, text: String, at: DateTime<Utc>) {
        self.lines.push(
            json!({ "id": id, "author": author, "text": text, "published": at.to_rfc3339(), "lang": "nl" })
                .to_string(),
        );
    }
}

const DAYS: i64 = 42;
const BURST_DAY: i64 = 30;
const WAVE_DAY: i64 = 34;
const NEW_TERM_DAY: i64 = 38;
const DECOY_DAY: i64 = 24;
const ONE_PERSON_DAY: i64 = 27;
const BOTH_DAY: i64 = 21;

/// Six weeks of background complaints (0–2 a day per aspect, at random hours), with a
/// burst about interpreters, a slowly growing wave about communication, a new complaint
/// no rule knows (an appointment app), one post reposted forty times, and one person
/// posting fourteen complaints of their own.
fn synthetic_stream() -> Stream {
    synthetic_stream_from(Utc.with_ymd_and_hms(2026, 9, 7, 0, 0, 0).unwrap())
}

fn synthetic_stream_from(start: DateTime<Utc>) -> Stream {
    let mut rng = StdRng::seed_from_u64(7);
    let mut s = Stream {
        lines: Vec::new(),
        start,
    };
    let mut n = 0;
    let mut next_id = || {
        n += 1;
        n
    };
    for day in 0..DAYS {
        for aspect in ASPECTS {
            for _ in 0..rng.random_range(0..3) {
                let id = next_id();
                let at = s.at(day, rng.random_range(0..24))
                    + chrono::Duration::minutes(rng.random_range(0..60));
                let text = post(&mut rng, aspect);
                s.push(
                    format!("bg{id}"),
                    format!("user{}", rng.random_range(0..5000)),
                    text,
                    at,
                );
            }
        }
    }
    // A burst: fourteen people about interpreters within ten hours.
    for i in 0..14 {
        let id = next_id();
        let text = post(&mut rng, "interpreter");
        s.push(
            format!("burst{id}"),
            format!("burst{i}"),
            text,
            s.at(BURST_DAY, 10 + i % 10),
        );
    }
    // A wave: communication complaints, eight on the first day, three more each day.
    for day in 0..6 {
        for i in 0..(8 + 3 * day) {
            let id = next_id();
            let text = post(&mut rng, "communication");
            let at = s.at(WAVE_DAY + day, 8 + (i % 12));
            s.push(format!("wave{id}"), format!("wave{day}-{i}"), text, at);
        }
    }
    // A new complaint that no aspect rule knows.
    let app = [
        "De nieuwe afsprakenapp van de IND voor asielzoekers crasht steeds. Belachelijk.",
        "Iemand anders ook last van de afsprakenapp van de IND? Mijn asielafspraak is weg. Schandalig.",
        "Afsprakenapp IND werkt niet, drie keer geprobeerd, asielzoekers kunnen niets. Ik ben het zat.",
        "Die afsprakenapp van de IND: inloggen mislukt, foutmelding na foutmelding. Asielprocedure vast. Schande.",
        "Sinds de afsprakenapp geen enkele afspraak meer bij de IND kunnen maken voor mijn asielzaak. Onacceptabel.",
        "De IND dwingt asielzoekers de afsprakenapp te gebruiken maar hij hangt. Echt onmenselijk.",
        "Afsprakenapp van de IND vraagt om een DigiD die asielzoekers niet hebben. Belachelijk.",
        "Mijn buurman in het asielproces kreeg via de afsprakenapp een afspraak in het verleden. Wat een schande.",
        "Na de update van de afsprakenapp ziet de IND mijn asielafspraak niet meer. Schandalig.",
    ];
    for (i, text) in app.iter().enumerate() {
        let id = next_id();
        s.push(
            format!("app{id}"),
            format!("app{i}"),
            text.to_string(),
            s.at(NEW_TERM_DAY, 9 + i as i64),
        );
    }
    // A decoy: one angry post reposted forty times by forty accounts.
    let viral = "In het azc in Zeist slapen kinderen al drie nachten op de grond, het COA doet niets voor deze asielzoekers. Schande!";
    for i in 0..40 {
        let id = next_id();
        let text = format!("RT @origineel: {viral}");
        s.push(
            format!("rt{id}"),
            format!("retweeter{i}"),
            text,
            s.at(DECOY_DAY, 12 + i / 8),
        );
    }
    // A decoy: one person, fourteen complaints in their own words within ten hours (the
    // burst's shape, from one voice).
    for i in 0..14 {
        let id = next_id();
        let text = post(&mut rng, "interpreter");
        s.push(
            format!("one{id}"),
            "een_boze_klager".to_string(),
            text,
            s.at(ONE_PERSON_DAY, 10 + i % 10),
        );
    }
    // Both at once, about one aspect: a post about the interpreter reposted by thirty
    // accounts, and one person's twelve interpreter complaints. Two voices; the smaller
    // of the distinct clusters (13) and the distinct authors (31) took them for many.
    let viral = "De tolk bij mijn gehoor bij de IND sprak mijn taal niet, ik kon mijn asielverhaal niet vertellen. Schande!";
    for i in 0..30 {
        let id = next_id();
        s.push(
            format!("both-rt{id}"),
            format!("herhaler{i}"),
            format!("RT @eerste: {viral}"),
            s.at(BOTH_DAY, 11 + i / 6),
        );
    }
    for i in 0..12 {
        let id = next_id();
        let text = post(&mut rng, "interpreter");
        s.push(
            format!("both-one{id}"),
            "nog_een_klager".to_string(),
            text,
            s.at(BOTH_DAY, 10 + i % 8),
        );
    }
    s
}

fn test_alerts() -> Alerts {
    Alerts {
        every: Duration::from_secs(3600),
        ..Alerts::default()
    }
}

/// The pipeline with the aspect word lists alone: these tests are about detecting what
/// recurs, on posts written from the lists' words, and must not change when the learned
/// aspect model is retrained (which reads the appointment app as communication, so that
/// the app's word joins the communication wave's incident instead). The directory must
/// live as long as the config.
fn lists_only_pipeline() -> (webcare::config::Pipeline, tempfile::TempDir) {
    let mut config = webcare::config::Pipeline::with_topics(repo().join("config/topics"));
    let lists = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo().join("config/aspects")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, lists.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    config.aspects_dir = lists.path().to_path_buf();
    (config, lists)
}

/// Ten people about "reiskosten" in a day: a word of the facilities list, but the
/// aspect model, reading the posts, turns facilities down for most of them (they are
/// about the interview and the IND's refund). Neither the aspect counts nor the
/// emerging words saw them, which left their aspect's word out: no alert at all. With
/// the shipped lists and model, as the daemon runs.
#[test]
fn ten_people_about_a_list_word_the_model_turned_down_raise_an_alert() {
    let mut stream = synthetic_stream();
    let day = DAYS - 1;
    let posts = [
        "The IND refuses to pay my reiskosten for the trip to the interview in Zevenaar, I had to borrow money.",
        "Geen reiskostenvergoeding van de IND voor mijn gehoor in Den Bosch, 40 euro kwijt.",
        "IND asielzoekers moeten zelf reiskosten voorschieten naar het aanmeldcentrum, belachelijk.",
        "I still have not received the reiskosten from the IND after three months, asylum seekers have no money for this.",
        "Reiskosten naar de IND in Ter Apel worden niet vergoed als je bij familie woont, oneerlijk.",
        "My lawyer says the IND should refund reiskosten but the form is lost every time, the asylum office never replies.",
        "Weer geen reiskosten terug van de IND, drie keer heen en weer naar Zevenaar voor mijn asielprocedure.",
        "The IND reiskosten form for asylum interviews is only in Dutch, nobody at the COA helps to fill it in.",
        "Asylum seekers in the COA have to pay reiskosten to the IND themselves, the weekly allowance is not enough.",
        "Reiskosten IND: ik moest 60 euro betalen voor een gehoor dat werd afgezegd, schandalig.",
        "The IND cancelled my asylum interview after I already paid the reiskosten, and I get nothing back.",
    ];
    for (i, text) in posts.iter().enumerate() {
        let at = stream.at(day, 9 + i as i64 / 2);
        stream.push(
            format!("rk{i}"),
            format!("reiziger{i}"),
            text.to_string(),
            at,
        );
    }
    let config = webcare::config::Pipeline::with_topics(repo().join("config/topics"));
    let report = webcare::backtest::backtest(
        "reiskosten.jsonl",
        stream.lines.join("\n").as_bytes(),
        &config,
        &test_alerts(),
    )
    .unwrap();
    let summary: Vec<String> = report
        .incidents
        .iter()
        .map(|i| format!("{} {} {} peak {}", i.opened, i.kind, i.key, i.peak))
        .collect();
    let from = stream.at(day, 9);
    assert!(
        report.incidents.iter().any(|i| {
            (i.kind == "term" && i.key == "reiskosten"
                || i.kind == "aspect" && i.key == "facilities")
                && (from..from + chrono::Duration::days(1)).contains(&i.opened)
        }),
        "no alert about the travel costs: {summary:#?}"
    );
}

/// A date typed wrong would keep the replay stepping through every hour since the year
/// 1: refused at once, naming the lines.
#[test]
fn a_backtest_over_centuries_names_the_lines_and_replays_nothing() {
    let (config, _lists) = lists_only_pipeline();
    let lines = [
        r#"{"id":"a","text":"De tolk bij de IND was slecht.","published":"2026-11-20T10:00:00Z"}"#,
        r#"{"id":"b","text":"De tolk bij de IND was slecht.","published":"0001-01-01T00:00:00Z"}"#,
    ];
    let error = webcare::backtest::backtest(
        "old.jsonl",
        lines.join("\n").as_bytes(),
        &config,
        &test_alerts(),
    )
    .unwrap_err()
    .to_string();
    assert!(error.starts_with("old.jsonl: the lines span 20"), "{error}");
    assert!(error.contains("years, from line 2 (0001-01-01"), "{error}");
    assert!(error.contains("to line 1 (2026-11-20"), "{error}");
}

#[test]
fn backtest_finds_bursts_waves_and_new_complaints_but_not_a_repost_wave() {
    let stream = synthetic_stream();
    let (config, _lists) = lists_only_pipeline();
    let report = webcare::backtest::backtest(
        "synthetic.jsonl",
        stream.lines.join("\n").as_bytes(),
        &config,
        &test_alerts(),
    )
    .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(
        report.indexed as f64 > 0.95 * report.lines as f64,
        "the synthetic posts should be relevant: {} of {}",
        report.indexed,
        report.lines
    );
    let opened_within_a_day = |kind: &str, key: &str, from: DateTime<Utc>| {
        report.incidents.iter().any(|i| {
            i.kind == kind
                && i.key == key
                && i.opened >= from
                && i.opened <= from + chrono::Duration::days(1)
        })
    };
    let summary: Vec<String> = report
        .incidents
        .iter()
        .map(|i| format!("{} {} {} peak {}", i.opened, i.kind, i.key, i.peak))
        .collect();
    assert!(
        opened_within_a_day("aspect", "interpreter", stream.at(BURST_DAY, 10)),
        "burst not found: {summary:#?}"
    );
    assert!(
        opened_within_a_day("aspect", "communication", stream.at(WAVE_DAY, 8)),
        "wave not found: {summary:#?}"
    );
    assert!(
        opened_within_a_day("term", "afsprakenapp", stream.at(NEW_TERM_DAY, 9)),
        "new complaint not found: {summary:#?}"
    );
    // Incidents opened in the two days from `day`.
    let opened_during = |day: i64| -> Vec<&String> {
        let days = stream.at(day, 0)..stream.at(day + 2, 0);
        report
            .incidents
            .iter()
            .zip(&summary)
            .filter(|(i, _)| days.contains(&i.opened))
            .map(|(_, s)| s)
            .collect()
    };
    // One wave of posts about the app is one term incident, whatever other words it
    // carries ("crasht", "schandalig"); no word a topic rule knows ("asielafspraak").
    let terms_of_the_wave: Vec<&String> = report
        .incidents
        .iter()
        .zip(&summary)
        .filter(|(i, _)| {
            i.kind == "term"
                && (stream.at(NEW_TERM_DAY, 0)..stream.at(NEW_TERM_DAY + 2, 0)).contains(&i.opened)
        })
        .map(|(_, s)| s)
        .collect();
    assert_eq!(terms_of_the_wave.len(), 1, "{terms_of_the_wave:#?}");
    // The repost wave is one voice: nothing opens for it.
    let during_decoy = opened_during(DECOY_DAY);
    assert!(
        during_decoy.is_empty(),
        "the repost wave opened {during_decoy:#?}"
    );
    // So is one person posting many times.
    let during_one_person = opened_during(ONE_PERSON_DAY);
    assert!(
        during_one_person.is_empty(),
        "one person opened {during_one_person:#?}"
    );
    // And both at once are two voices.
    let during_both = opened_during(BOTH_DAY);
    assert!(
        during_both.is_empty(),
        "a repost wave and one person at once opened {during_both:#?}"
    );
    // Outside the injected events, at most one false incident per week.
    let events = [
        stream.at(BURST_DAY, 0)..stream.at(BURST_DAY + 2, 0),
        stream.at(WAVE_DAY, 0)..stream.at(WAVE_DAY + 7, 0),
        stream.at(NEW_TERM_DAY, 0)..stream.at(NEW_TERM_DAY + 2, 0),
    ];
    let false_alarms: Vec<&String> = report
        .incidents
        .iter()
        .zip(&summary)
        .filter(|(i, _)| !events.iter().any(|e| e.contains(&i.opened)))
        .map(|(_, s)| s)
        .collect();
    assert!(
        false_alarms.len() as i64 <= DAYS / 7,
        "{} false incidents in {} weeks: {false_alarms:#?}",
        false_alarms.len(),
        DAYS / 7
    );
    // Incidents carry their mentions, and close once the signal is gone.
    let burst = report
        .incidents
        .iter()
        .find(|i| i.key == "interpreter" && i.opened >= stream.at(BURST_DAY, 0))
        .unwrap();
    assert!(burst.mentions.iter().filter(|m| !m.is_empty()).count() >= 10);
    assert!(burst.closed.is_some(), "{burst:?}");
    assert!(burst.peak >= 10, "{burst:?}");
}

/// History dated after today (a test set shifted forward, a clock set wrong) replays on
/// its own clock: the same incidents open at the same moments of it, none is lost to
/// posts re-dated to today.
#[test]
fn a_history_dated_after_today_replays_the_same() {
    let (config, _lists) = lists_only_pipeline();
    let replay = |start: DateTime<Utc>| {
        let stream = synthetic_stream_from(start);
        let report = webcare::backtest::backtest(
            "synthetic.jsonl",
            stream.lines.join("\n").as_bytes(),
            &config,
            &test_alerts(),
        )
        .unwrap();
        let opened: Vec<(String, String, chrono::Duration)> = report
            .incidents
            .iter()
            .map(|i| (i.kind.clone(), i.key.clone(), i.opened - start))
            .collect();
        (report.indexed, opened)
    };
    let past = replay(Utc.with_ymd_and_hms(2026, 9, 7, 0, 0, 0).unwrap());
    let future = replay(Utc.with_ymd_and_hms(2031, 9, 1, 0, 0, 0).unwrap());
    assert!(!past.1.is_empty());
    assert_eq!(past, future);
}

/// A line given twice (the same id) is one mention, as the index keeps it: the replay
/// counts it once and opens the same incidents.
#[test]
fn a_repeated_line_is_replayed_as_one_mention() {
    let (config, _lists) = lists_only_pipeline();
    let stream = synthetic_stream();
    let replay = |lines: &[String]| {
        webcare::backtest::backtest(
            "synthetic.jsonl",
            lines.join("\n").as_bytes(),
            &config,
            &test_alerts(),
        )
        .unwrap()
    };
    let once = replay(&stream.lines);
    let repeated = &stream.lines[..200];
    let twice = replay(&[&stream.lines[..], repeated].concat());
    assert!(once.indexed > 0 && !once.incidents.is_empty());
    assert_eq!(twice.lines, once.lines + 200);
    assert_eq!(twice.indexed, once.indexed);
    // The same incidents, their mentions listed in any order (ties of time).
    let sorted = |incidents: Vec<webcare::backtest::BacktestIncident>| {
        incidents
            .into_iter()
            .map(|mut i| {
                i.mentions.sort();
                i
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(sorted(twice.incidents), sorted(once.incidents));
}

/// With facets, a burst the whole aspect shows opens one incident, not one more per
/// language it was written in; a facet's incident searches with the facet as a filter.
#[test]
fn facets_do_not_repeat_what_the_whole_aspect_shows() {
    let stream = synthetic_stream();
    let (config, _lists) = lists_only_pipeline();
    let alerts = Alerts {
        facets: vec!["lang".into()],
        ..test_alerts()
    };
    let report = webcare::backtest::backtest(
        "synthetic.jsonl",
        stream.lines.join("\n").as_bytes(),
        &config,
        &alerts,
    )
    .unwrap();
    let burst = stream.at(BURST_DAY, 0)..stream.at(BURST_DAY + 2, 0);
    let keys: Vec<&str> = report
        .incidents
        .iter()
        .filter(|i| burst.contains(&i.opened) && i.key.starts_with("interpreter"))
        .map(|i| i.key.as_str())
        .collect();
    assert_eq!(keys, ["interpreter"]);
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let facet_incident = webcare::alerts::incidents::Incident {
        key: "interpreter@lang=nl".into(),
        ..open_incident(&state, Utc::now()).incident().clone()
    };
    let path = facet_incident.search_path(stream.at(BURST_DAY, 0));
    assert!(
        path.starts_with("/api/search?aspect=interpreter&complaint=true&from=")
            && path.ends_with("&lang=nl"),
        "{path}"
    );
}

/// The subject says the window the count is over: a burst found in the 6-hour window
/// is "14 in 6 hours", though the longest window is a day.
#[test]
fn the_subject_names_the_window_that_counted() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let now = Utc::now();
    let six_hours = webcare::alerts::Detection {
        window: Duration::from_secs(6 * 3600),
        ..interpreter_signal(now)
    };
    let changes = state
        .apply_detections(&[six_hours], now, Duration::from_secs(48 * 3600))
        .unwrap();
    let mail = mail_settings("127.0.0.1:25".parse().unwrap());
    let subject =
        webcare::alerts::mail::compose(&changes[0], &mail, now - chrono::Duration::hours(24))
            .subject;
    assert_eq!(
        subject,
        "Terugkerende klacht: tolk — 14 stemmen in 6 uur (normaal 2)"
    );
    // A quiet topic's usual count is a fraction, not "0"; an example without a
    // permalink gets no empty link; the Dutch mail is Dutch throughout.
    let mut quiet = interpreter_signal(now);
    quiet.key = "hearing".into();
    quiet.comparison = webcare::alerts::stats::compare(14, 0.2, &Alerts::default().thresholds());
    quiet.examples[0].url = None;
    let quiet_changes = state
        .apply_detections(&[quiet], now, Duration::from_secs(48 * 3600))
        .unwrap();
    let webcare::alerts::mail::Composed {
        subject,
        text,
        html,
        ..
    } = webcare::alerts::mail::compose(&quiet_changes[0], &mail, now - chrono::Duration::hours(24));
    assert!(subject.ends_with("(normaal minder dan 1)"), "{subject}");
    assert!(!html.contains("href=\"\""), "{html}");
    assert!(text.contains("(normaal minder dan 1, piek 14)"), "{text}");
    assert!(!text.contains("usual") && !text.contains("peak"), "{text}");
    // And it is kept with the incident.
    assert_eq!(
        state
            .incident(changes[0].incident().id)
            .unwrap()
            .unwrap()
            .window_secs,
        6 * 3600
    );
}

#[test]
fn an_empty_history_opens_nothing() {
    let config = webcare::config::Pipeline::with_topics(repo().join("config/topics"));
    let report =
        webcare::backtest::backtest("empty.jsonl", &b""[..], &config, &test_alerts()).unwrap();
    assert!(report.incidents.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let index = webcare::search::MentionIndex::open(dir.path()).unwrap();
    let pipeline = webcare::pipeline::Pipeline::from_config(&config).unwrap();
    assert!(
        webcare::alerts::detect(&index, &pipeline, &test_alerts(), Utc::now())
            .unwrap()
            .is_empty()
    );
}

// ---- a real SMTP server -------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone, Default)]
struct Inbox {
    messages: Arc<Mutex<Vec<Received>>>,
    current: Option<Received>,
    /// Addresses answered with 550 (no such mailbox).
    refused: Vec<String>,
}

impl mailin_embedded::Handler for Inbox {
    fn rcpt(&mut self, to: &str) -> mailin_embedded::Response {
        if self.refused.iter().any(|r| r == to) {
            mailin_embedded::response::NO_MAILBOX
        } else {
            mailin_embedded::response::OK
        }
    }

    fn data_start(
        &mut self,
        _domain: &str,
        from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.current = Some(Received {
            from: from.to_string(),
            to: to.to_vec(),
            data: String::new(),
        });
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.data.push_str(&String::from_utf8_lossy(buf));
        }
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        if let Some(done) = self.current.take() {
            self.messages.lock().unwrap().push(done);
        }
        mailin_embedded::response::OK
    }
}

/// Starts an SMTP server on `addr` (on its own thread, for the rest of the test run).
pub fn smtp_server(listener: TcpListener) -> Arc<Mutex<Vec<Received>>> {
    smtp_server_refusing(listener, &[])
}

/// An SMTP server that has no mailbox for `refused`.
fn smtp_server_refusing(listener: TcpListener, refused: &[&str]) -> Arc<Mutex<Vec<Received>>> {
    let inbox = Inbox {
        refused: refused.iter().map(|r| r.to_string()).collect(),
        ..Inbox::default()
    };
    let messages = inbox.messages.clone();
    let mut server = mailin_embedded::Server::new(inbox);
    server
        .with_name("smtp.test")
        .with_ssl(mailin_embedded::SslConfig::None)
        .unwrap()
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        // Serves until the test process ends.
        let _ = server.serve();
    });
    messages
}

pub fn smtp_settings(addr: SocketAddr) -> Smtp {
    Smtp {
        host: addr.ip().to_string(),
        port: addr.port(),
        security: Security::None,
        username: None,
        password: None,
        timeout: Duration::from_secs(5),
    }
}

fn mail_settings(addr: SocketAddr) -> Mail {
    Mail {
        smtp: Some(smtp_settings(addr)),
        from: "webcare <webcare@example.org>".into(),
        language: MailLanguage::Nl,
        update_every: Duration::from_secs(6 * 3600),
        link_base: "https://webcare.example.org".into(),
        rules: vec![
            MailRule {
                to: vec!["communicatie@example.org".into()],
                aspects: Vec::new(),
            },
            MailRule {
                to: vec!["tolken@example.org".into()],
                aspects: vec!["interpreter".into()],
            },
        ],
        digest_at: chrono::NaiveTime::from_hms_opt(8, 0, 0),
    }
}

/// An incident about interpreters, opened through the state database as the detector
/// would.
fn open_incident(state: &StateDb, now: DateTime<Utc>) -> Change {
    let mut changes = state
        .apply_detections(
            &[interpreter_signal(now)],
            now,
            Duration::from_secs(48 * 3600),
        )
        .unwrap();
    changes.remove(0)
}

/// What the detector finds in a burst about interpreters at `now`.
fn interpreter_signal(now: DateTime<Utc>) -> webcare::alerts::Detection {
    interpreter_signal_of(now, 14)
}

/// The same with `voices` voices.
fn interpreter_signal_of(now: DateTime<Utc>, voices: u64) -> webcare::alerts::Detection {
    let examples = (0..3)
        .map(|i| webcare::alerts::counts::Example {
            id: format!("m{i}"),
            url: Some(format!("https://forum.example/t/{i}")),
            title: String::new(),
            text: format!("De tolk sprak een ander dialect ({i}). <b>Schande</b>"),
            cluster: Some(format!("c{i}")),
            author: None,
            aspects: vec!["interpreter".into()],
            lang: "nl".into(),
            published: now,
        })
        .collect();
    webcare::alerts::Detection {
        kind: webcare::alerts::Kind::Aspect,
        key: "interpreter".into(),
        comparison: webcare::alerts::stats::compare(voices, 2.0, &Alerts::default().thresholds()),
        window: Duration::from_secs(24 * 3600),
        examples,
        top_terms: vec!["dialect".into(), "vertaald".into()],
    }
}

/// An incident about interpreters opened at `t0` (returned) and resolved an hour later;
/// its id.
fn resolved_an_hour_after_it_opened() -> (tempfile::TempDir, StateDb, DateTime<Utc>, i64) {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap();
    let first = open_incident(&state, t0).incident().id;
    state
        .set_incident_status(
            first,
            Status::Resolved,
            "opgelost",
            t0 + chrono::Duration::hours(1),
        )
        .unwrap();
    (dir, state, t0, first)
}

/// Resolved, then the signal grows to half as much again as when it was resolved: the
/// problem is back, and the incident opens again (and is mailed as news).
#[test]
fn a_resolved_incident_opens_again_when_its_signal_grows_well_past_it() {
    let (_dir, state, t0, first) = resolved_an_hour_after_it_opened();
    // Its opening was mailed.
    state.mark_mailed(first, t0, 14).unwrap();
    let hours = |h: i64| t0 + chrono::Duration::hours(h);
    let close_after = Duration::from_secs(48 * 3600);
    let at = |h: i64, voices: u64| {
        state
            .apply_detections(
                &[interpreter_signal_of(hours(h), voices)],
                hours(h),
                close_after,
            )
            .unwrap()
    };
    assert!(at(2, 20).is_empty(), "20 voices: not yet 1.5 × 14");
    let changes = at(3, 21);
    assert!(
        matches!(&changes[..], [Change::Opened(i)] if i.id == first && i.status == Status::Open && i.closed.is_none()),
        "{changes:?}"
    );
    assert_eq!(state.incidents(None, 10).unwrap().len(), 1);
    // Mailed as news, and as the same complaint come back.
    let mail = mail_settings("127.0.0.1:25".parse().unwrap());
    let composed =
        webcare::alerts::mail::compose(&changes[0], &mail, hours(3) - chrono::Duration::hours(24));
    assert!(
        composed
            .subject
            .starts_with("Opnieuw: Terugkerende klacht: tolk — 21 stemmen"),
        "{}",
        composed.subject
    );
}

/// Staff resolved an incident while its signal went on: that signal does not open a
/// new incident (and mail) minutes later; a signal that returns after a quiet spell does.
#[test]
fn a_resolved_incident_takes_its_ongoing_signal_quietly() {
    let (_dir, state, t0, first) = resolved_an_hour_after_it_opened();
    let hours = |h: i64| t0 + chrono::Duration::hours(h);
    let close_after = Duration::from_secs(48 * 3600);
    for h in [2, 3, 30] {
        let changes = state
            .apply_detections(&[interpreter_signal(hours(h))], hours(h), close_after)
            .unwrap();
        assert!(changes.is_empty(), "at +{h}h: {changes:?}");
    }
    assert_eq!(state.incidents(None, 10).unwrap().len(), 1);
    assert_eq!(
        state.incident(first).unwrap().unwrap().status,
        Status::Resolved
    );
    // Quiet for longer than close_after since +30h: a new incident.
    let changes = state
        .apply_detections(&[interpreter_signal(hours(80))], hours(80), close_after)
        .unwrap();
    assert!(
        matches!(&changes[..], [Change::Opened(i)] if i.id != first),
        "{changes:?}"
    );
}

/// Every recipient of the received messages, sorted.
pub fn all_recipients(messages: &Arc<Mutex<Vec<Received>>>) -> Vec<String> {
    let mut to: Vec<String> = messages
        .lock()
        .unwrap()
        .iter()
        .flat_map(|m| m.to.clone())
        .collect();
    to.sort();
    to
}

pub async fn until_received(messages: &Arc<Mutex<Vec<Received>>>, n: usize) {
    for _ in 0..200 {
        if messages.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{} messages received, expected {n}",
        messages.lock().unwrap().len()
    );
}

/// Opens an incident at `now` and queues its mail.
fn queue_an_opened_incident(state: &StateDb, mail: &Mail, now: DateTime<Utc>) {
    let change = open_incident(state, now);
    assert!(matches!(change, Change::Opened(_)));
    webcare::alerts::mail::queue(state, mail, &change, now - chrono::Duration::hours(24), now)
        .unwrap()
        .expect("an opened incident is mailed");
}

/// Mail held back (the SMTP server is away) while a quoted post is erased: what goes
/// out later no longer quotes it, in either part; the other quotes stay.
#[test]
fn an_erasure_takes_its_quote_out_of_mail_not_yet_sent() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let mail = mail_settings("127.0.0.1:25".parse().unwrap());
    queue_an_opened_incident(&state, &mail, Utc::now());
    let before = state.outbox().unwrap().remove(0);
    assert!(before.text.contains("ander dialect (1)") && before.html.contains("ander dialect (1)"));
    assert_eq!(state.forget_in_outbox(|id| id != "m1").unwrap(), 1);
    let after = state.outbox().unwrap().remove(0);
    for part in [&after.text, &after.html] {
        assert!(
            !part.contains("dialect (1)") && !part.contains("forum.example/t/1"),
            "{part}"
        );
        assert!(
            part.contains("dialect (0)") && part.contains("dialect (2)"),
            "{part}"
        );
        assert!(part.contains("(gewist / erased)"), "{part}");
    }
    // Asked again: nothing more to take out.
    assert_eq!(state.forget_in_outbox(|id| id != "m1").unwrap(), 0);
    // Nor, once out of the incident too, is it left in the database's files: not in
    // the log, not in free space.
    assert_eq!(state.forget_erased_mentions(|id| id != "m1").unwrap(), 1);
    state.scrub().unwrap();
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(11).any(|w| w == b"dialect (1)"),
                "{} holds the erased quote",
                path.display()
            );
        }
    }
    assert!(files > 0);
}

/// A state restored from a backup made before an erasure: the daemon takes the quotes
/// of what its index no longer holds out of incidents and unsent mail as it starts,
/// before anything is mailed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_start_nothing_quotes_what_the_index_no_longer_holds() {
    let dir = tempfile::tempdir().unwrap();
    let mail = mail_settings("127.0.0.1:25".parse().unwrap());
    let id = {
        let state = StateDb::open(dir.path()).unwrap();
        queue_an_opened_incident(&state, &mail, Utc::now());
        state.incidents(None, 1).unwrap()[0].id
    };
    // The index holds mentions, but not the quoted ones.
    let other = {
        let t = Utc::now();
        let mut m = webcare::mention::Mention::new("forum", "other", t, t);
        m.text = "Een ander bericht over de IND.".into();
        m.lang = "nl".into();
        m
    };
    // With the key its pseudonyms would have been made with (one is refused without).
    std::fs::write(
        dir.path().join("pseudonym.key"),
        "0123456789abcdef".repeat(4),
    )
    .unwrap();
    {
        let index = webcare::search::MentionIndex::open(dir.path()).unwrap();
        let mut writer = index.writer().unwrap();
        writer.upsert(&other).unwrap();
        writer.commit(&webcare::search::Checkpoints::new()).unwrap();
    }
    let server = fixtures::start().await;
    let daemon = webcare::daemon::start(&fixtures::config(dir.path(), &server, &[]))
        .await
        .unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let queued = state.outbox().unwrap().remove(0);
    assert!(!queued.text.contains("ander dialect ("), "{}", queued.text);
    assert_eq!(
        queued.html.matches("(gewist / erased)").count(),
        3,
        "{}",
        queued.html
    );
    assert!(state.incident(id).unwrap().unwrap().examples.is_empty());
    daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opened_incident_is_mailed_to_its_recipients_with_both_parts() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let messages = smtp_server(listener);
    let mail = mail_settings(addr);
    let now = Utc::now();
    queue_an_opened_incident(&state, &mail, now);
    let mailer =
        webcare::alerts::mail::Mailer::new(mail.smtp.as_ref().unwrap(), &mail.from).unwrap();
    let sent = mailer.send_due(&state, now).await.unwrap();
    assert_eq!(sent, 1);
    // Each recipient gets their own message.
    until_received(&messages, 2).await;
    let got = messages.lock().unwrap()[0].clone();
    assert_eq!(got.from, "webcare@example.org");
    assert_eq!(
        all_recipients(&messages),
        vec!["communicatie@example.org", "tolken@example.org"]
    );
    let ids: Vec<String> = messages
        .lock()
        .unwrap()
        .iter()
        .filter_map(|m| {
            m.data
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .map(str::to_string)
        })
        .collect();
    assert!(ids.len() == 2 && ids[0] != ids[1], "{ids:?}");
    assert!(
        got.data.contains(
            "Subject: Terugkerende klacht: tolk =E2=80=94 14 stemmen in 24 uur (normaal 2)"
        ) || got.data.contains("Terugkerende klacht: tolk"),
        "{}",
        got.data
    );
    assert!(got.data.contains("multipart/alternative"), "{}", got.data);
    assert!(got.data.contains("text/plain") && got.data.contains("text/html"));
    // Example text is escaped in the HTML part, set apart in its own direction (read
    // without quoted-printable's soft line breaks).
    let unwrapped = got.data.replace("=\r\n", "").replace("=\n", "");
    assert!(
        unwrapped.contains(
            "Kernwoorden: <bdi dir=3D\"ltr\">dialect</bdi>, <bdi dir=3D\"ltr\">vertaald</bdi>"
        ),
        "{}",
        got.data
    );
    assert!(
        unwrapped.contains("<li><bdi dir=3D\"ltr\">De tolk sprak een ander dialect (0). &lt;b&gt;Schande&lt;/b&gt;</bdi>"),
        "{}",
        got.data
    );
    assert!(got.data.contains("https://forum.example/t/0"));
    // Nothing left to send; a second round sends nothing again.
    assert_eq!(mailer.send_due(&state, now).await.unwrap(), 0);
    // The copy kept of a sent message no longer quotes a post erased afterwards.
    assert_eq!(state.forget_in_outbox(|id| id != "m0").unwrap(), 1);
    let kept = state.outbox().unwrap().remove(0);
    assert!(kept.sent.is_some());
    assert!(!kept.html.contains("forum.example/t/0"), "{}", kept.html);
    assert!(!kept.text.contains("forum.example/t/0"), "{}", kept.text);
    // An update soon after, or one that did not grow by half, is not mailed.
    let later = now + chrono::Duration::hours(1);
    let update = open_incident(&state, later);
    assert!(matches!(update, Change::Updated(_)));
    assert!(
        webcare::alerts::mail::queue(&state, &mail, &update, later, later)
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_waits_out_an_smtp_outage_and_a_restart_and_is_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    // The port is known but nothing listens yet: the server is down.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mail = mail_settings(addr);
    let now = Utc::now();
    {
        let state = StateDb::open(dir.path()).unwrap();
        let change = open_incident(&state, now);
        webcare::alerts::mail::queue(&state, &mail, &change, now, now)
            .unwrap()
            .unwrap();
        let mailer =
            webcare::alerts::mail::Mailer::new(mail.smtp.as_ref().unwrap(), &mail.from).unwrap();
        let sent = mailer.send_due(&state, now).await.unwrap();
        assert_eq!(sent, 0);
        let outbox = state.outbox().unwrap();
        assert_eq!(outbox[0].attempts, 1);
        assert!(outbox[0].sent.is_none() && outbox[0].last_error.is_some());
        // Not due again before its backoff.
        assert_eq!(state.due_mail(now).unwrap().len(), 0);
        // What `/healthz` shows: one message waiting since it was queued.
        let backlog = state.mail_backlog(now - chrono::Duration::days(1)).unwrap();
        assert_eq!((backlog.waiting, backlog.given_up), (1, 0));
        assert_eq!(backlog.unsent, 1);
        assert!(backlog.waiting_since.is_some());
        // The daemon is killed here: the message is stored, not sent.
    }
    // Restarted, with the server back.
    let messages = smtp_server(TcpListener::bind(addr).unwrap());
    let state = StateDb::open(dir.path()).unwrap();
    let mailer =
        webcare::alerts::mail::Mailer::new(mail.smtp.as_ref().unwrap(), &mail.from).unwrap();
    let later = now + chrono::Duration::hours(2);
    let sent = mailer.send_due(&state, later).await.unwrap();
    assert_eq!(sent, 1);
    assert_eq!(mailer.send_due(&state, later).await.unwrap(), 0);
    let backlog = state
        .mail_backlog(later - chrono::Duration::days(1))
        .unwrap();
    assert_eq!((backlog.waiting, backlog.given_up), (0, 0), "{backlog:?}");
    assert_eq!(backlog.unsent, 0);
    until_received(&messages, 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        messages.lock().unwrap().len(),
        2,
        "delivered once to each of the two recipients"
    );
}

/// The subjects of the alerts' mail in the outbox, not the daily digest's.
fn alert_subjects(state: &StateDb) -> Vec<String> {
    state
        .outbox()
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .filter(|s| !s.starts_with("webcare dagoverzicht"))
        .collect()
}

/// The incidents are saved before their mail is queued: when queueing fails (the state
/// database busy, a full disk), the closing is queued at the next run, and an opening
/// goes out as an opening at the incident's next change, not as an update.
#[test]
fn alert_mail_that_could_not_be_queued_is_queued_at_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let mail = mail_settings("127.0.0.1:25".parse().unwrap());
    let alerts = Alerts::default();
    let close_after = alerts.close_after;
    let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap();
    let opened = state
        .apply_detections(&[interpreter_signal(t0)], t0, close_after)
        .unwrap();
    let subjects = || alert_subjects(&state);
    webcare::alerts::mail_changes(&state, &alerts, &mail, &opened, t0).unwrap();
    assert_eq!(subjects().len(), 1);
    let db = rusqlite::Connection::open(dir.path().join("state.sqlite")).unwrap();
    let break_the_outbox = || {
        db.execute_batch(
            "CREATE TRIGGER full BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap()
    };
    let mend_the_outbox = || db.execute_batch("DROP TRIGGER full;").unwrap();
    // Quiet for two days: closed, and its mail cannot be queued.
    break_the_outbox();
    let quiet = t0 + chrono::Duration::hours(49);
    let closed = state.apply_detections(&[], quiet, close_after).unwrap();
    assert!(matches!(closed.as_slice(), [Change::Closed(_)]));
    // A new burst about hearings at the same moment: its opening fails too.
    let mut hearing = interpreter_signal(quiet);
    hearing.key = "hearing".into();
    let opened = state
        .apply_detections(&[hearing.clone()], quiet, close_after)
        .unwrap();
    let err = webcare::alerts::mail_changes(&state, &alerts, &mail, &closed, quiet);
    assert!(err.unwrap_err().to_string().contains("disk full"));
    assert!(webcare::alerts::mail_changes(&state, &alerts, &mail, &opened, quiet).is_err());
    assert_eq!(subjects().len(), 1);
    // Mended; the next run has only the hearings' burst going on.
    mend_the_outbox();
    let next = quiet + chrono::Duration::minutes(5);
    let changes = state
        .apply_detections(&[hearing], next, close_after)
        .unwrap();
    assert!(matches!(changes.as_slice(), [Change::Updated(_)]));
    webcare::alerts::mail_changes(&state, &alerts, &mail, &changes, next).unwrap();
    let subjects = subjects();
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(
        subjects.iter().any(|s| s.starts_with("Gesloten: tolk")),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Terugkerende klacht: gehoor")),
        "announced as opened: {subjects:?}"
    );
    // Once queued, not again.
    let later = next + chrono::Duration::minutes(5);
    webcare::alerts::mail_changes(&state, &alerts, &mail, &[], later).unwrap();
    assert_eq!(alert_subjects(&state), subjects);
}

/// With mail off, an incident is not queued nor read as `mailed`; switched on, the mail
/// goes out at the incident's next change, not as a backlog of everything before.
#[test]
fn with_mail_off_nothing_is_queued_and_an_open_incident_is_announced_once_it_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let alerts = Alerts::default();
    let close_after = alerts.close_after;
    let off = Mail {
        smtp: None,
        ..mail_settings("127.0.0.1:25".parse().unwrap())
    };
    let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap();
    let opened = state
        .apply_detections(&[interpreter_signal(t0)], t0, close_after)
        .unwrap();
    let mut hearing = interpreter_signal(t0);
    hearing.key = "hearing".into();
    let short = state.apply_detections(&[hearing], t0, close_after).unwrap();
    webcare::alerts::mail_changes(&state, &alerts, &off, &opened, t0).unwrap();
    webcare::alerts::mail_changes(&state, &alerts, &off, &short, t0).unwrap();
    assert!(state.outbox().unwrap().is_empty());
    let id = opened[0].incident().id;
    assert_eq!(state.incident(id).unwrap().unwrap().mailed, None);
    // The hearings go quiet and close while mail is off; the interpreters go on.
    let later = t0 + chrono::Duration::hours(49);
    let changes = state
        .apply_detections(&[interpreter_signal(later)], later, close_after)
        .unwrap();
    webcare::alerts::mail_changes(&state, &alerts, &off, &changes, later).unwrap();
    assert!(state.outbox().unwrap().is_empty());
    // Mail on: the ongoing incident is announced as opened; the closing long past is not
    // sent.
    let on = mail_settings("127.0.0.1:25".parse().unwrap());
    let next = later + chrono::Duration::hours(50);
    let changes = state
        .apply_detections(&[interpreter_signal(next)], next, close_after)
        .unwrap();
    webcare::alerts::mail_changes(&state, &alerts, &on, &changes, next).unwrap();
    let subjects = alert_subjects(&state);
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert!(
        subjects[0].starts_with("Terugkerende klacht: tolk"),
        "{subjects:?}"
    );
    assert!(state.incident(id).unwrap().unwrap().mailed.is_some());
}

/// An incident that stays open for years is still closed when its signal goes quiet,
/// and still in the digest, however many incidents opened after it.
#[test]
fn a_long_running_incident_closes_behind_ten_thousand_newer_ones() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap();
    let old = open_incident(&state, t0).incident().id;
    {
        // Ten thousand closed incidents after it, written straight into the database.
        let mut db = rusqlite::Connection::open(dir.path().join("state.sqlite")).unwrap();
        let tx = db.transaction().unwrap();
        for _ in 0..10_050 {
            tx.execute(
                "INSERT INTO incidents (kind, key, status, opened, updated, last_signal, closed, \
                 observed, expected, peak, counts, top_terms, examples, mentions) \
                 SELECT kind, 'other', 'closed', opened, updated, last_signal, opened, observed, \
                 expected, peak, counts, top_terms, examples, mentions FROM incidents WHERE id = ?1",
                [old],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    assert_eq!(state.active_incidents().unwrap().len(), 1);
    let quiet = t0 + chrono::Duration::hours(49);
    let changes = state
        .apply_detections(&[], quiet, Duration::from_secs(48 * 3600))
        .unwrap();
    assert!(
        matches!(changes.as_slice(), [Change::Closed(i)] if i.id == old),
        "{changes:?}"
    );
    assert!(state.active_incidents().unwrap().is_empty());
}

/// Mail every recipient refused (a relay that denies relaying since a change of mail
/// server) goes with the retention period like sent mail: else every alert and weekly
/// report, attachments and all, stays in the state database for good. Mail still being
/// tried stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_given_up_is_purged_after_the_retention_period() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    smtp_server_refusing(
        listener,
        &["communicatie@example.org", "tolken@example.org"],
    );
    let mail = mail_settings(addr);
    let now = Utc::now();
    let old = now - chrono::Duration::days(100);
    let change = open_incident(&state, old);
    webcare::alerts::mail::queue(&state, &mail, &change, old, old)
        .unwrap()
        .unwrap();
    let mailer =
        webcare::alerts::mail::Mailer::new(mail.smtp.as_ref().unwrap(), &mail.from).unwrap();
    assert_eq!(mailer.send_due(&state, old).await.unwrap(), 0);
    assert!(state.outbox().unwrap()[0].failed.is_some(), "given up");
    // What `/healthz` shows: one given up in the last day, none waiting.
    let backlog = state.mail_backlog(now - chrono::Duration::days(1)).unwrap();
    assert_eq!((backlog.waiting, backlog.given_up), (0, 1), "{backlog:?}");
    let mut hearing = interpreter_signal(now);
    hearing.key = "hearing".into();
    let recent = state
        .apply_detections(&[hearing], now, Duration::from_secs(48 * 3600))
        .unwrap()
        .into_iter()
        .find(|c| c.incident().key == "hearing")
        .unwrap();
    webcare::alerts::mail::queue(&state, &mail, &recent, now, now)
        .unwrap()
        .unwrap();
    assert_eq!(state.outbox().unwrap().len(), 2);
    let privacy = webcare::config::Privacy {
        retention: Duration::from_secs(90 * 86_400),
        audit_retention: Duration::from_secs(365 * 86_400),
    };
    let report = webcare::retention::purge_beside_mentions(&state, &privacy, None, now).unwrap();
    assert_eq!(report.mails, 1);
    let left = state.outbox().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].incident, Some(recent.incident().id));
    // Still being tried, it stays however old it gets.
    let later = now + chrono::Duration::days(200);
    let report = webcare::retention::purge_beside_mentions(&state, &privacy, None, later).unwrap();
    assert_eq!(report.mails, 0);
}

/// An alert to two recipients in the outbox of a state in `dir`, and the daemon's mail
/// sender at work on it against the server at `addr` (which may take its time: ten
/// minutes), with what stops it.
fn an_alert_being_sent(
    dir: &std::path::Path,
    addr: SocketAddr,
) -> (
    Arc<StateDb>,
    tokio::task::JoinHandle<()>,
    tokio_util::sync::CancellationToken,
) {
    let mut smtp = smtp_settings(addr);
    smtp.timeout = Duration::from_secs(600);
    let mut mail = mail_settings(addr);
    mail.smtp = Some(smtp.clone());
    let state = Arc::new(StateDb::open(dir).unwrap());
    let now = Utc::now();
    let change = open_incident(&state, now);
    webcare::alerts::mail::queue(&state, &mail, &change, now, now)
        .unwrap()
        .unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let sender = tokio::spawn(webcare::alerts::mail::run_sender(
        state.clone(),
        smtp,
        mail.from.clone(),
        cancel.clone(),
    ));
    (state, sender, cancel)
}

/// A mail server that accepts the connection and never answers must not hold up a stop
/// (systemd kills a daemon that takes minutes): the sender returns when cancelled, and
/// the message stays in the outbox for the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_does_not_wait_for_a_mail_server_that_never_answers() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        // Accepts and holds the connections, saying nothing.
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    let (state, sender, cancel) = an_alert_being_sent(dir.path(), addr);
    // Connected and waiting for the server's greeting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!sender.is_finished());
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(30), sender)
        .await
        .expect("the sender waited for the silent server instead of stopping")
        .unwrap();
    let outbox = state.outbox().unwrap();
    assert_eq!(outbox.len(), 1);
    assert!(outbox[0].sent.is_none(), "kept for the restart");
}

/// A stop while the mail server has taken the message for one recipient and keeps the
/// next waiting: the first delivery is on record, so the restart does not send that
/// recipient the message again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_mid_send_keeps_the_deliveries_made() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0usize));
    let count = accepted.clone();
    // A mail server that takes one message, then answers nothing more.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            held.push(stream.try_clone().unwrap());
            if *count.lock().unwrap() > 0 {
                continue;
            }
            let mut out = stream.try_clone().unwrap();
            let mut lines = BufReader::new(stream);
            out.write_all(b"220 test ESMTP\r\n").unwrap();
            let mut in_data = false;
            let mut line = String::new();
            while lines.read_line(&mut line).unwrap_or(0) > 0 {
                let reply: &[u8] = if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        *count.lock().unwrap() += 1;
                        b"250 queued\r\n"
                    } else {
                        b""
                    }
                } else if line.starts_with("QUIT") {
                    b"221 bye\r\n"
                } else if *count.lock().unwrap() > 0 {
                    // Silent from now on.
                    b""
                } else if line.starts_with("EHLO") || line.starts_with("HELO") {
                    b"250 test\r\n"
                } else if line.starts_with("DATA") {
                    in_data = true;
                    b"354 go on\r\n"
                } else {
                    b"250 ok\r\n"
                };
                if !reply.is_empty() {
                    out.write_all(reply).unwrap();
                }
                line.clear();
            }
        }
    });
    let (state, sender, cancel) = an_alert_being_sent(dir.path(), addr);
    assert_eq!(state.outbox().unwrap()[0].recipients.len(), 2);
    for _ in 0..300 {
        if *accepted.lock().unwrap() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        *accepted.lock().unwrap(),
        1,
        "the first recipient's message"
    );
    // Waiting on the second recipient.
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(30), sender)
        .await
        .expect("the sender stops")
        .unwrap();
    let outbox = state.outbox().unwrap();
    assert_eq!(outbox[0].delivered.len(), 1, "{:?}", outbox[0]);
    assert!(outbox[0].sent.is_none());
}

/// A server that refuses one recipient for good: the others still get the alert, and
/// the refused address is not tried again and again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_stops_no_one_else_and_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let messages = smtp_server_refusing(listener, &["tolken@example.org"]);
    let mail = mail_settings(addr);
    let now = Utc::now();
    let change = open_incident(&state, now);
    webcare::alerts::mail::queue(&state, &mail, &change, now, now)
        .unwrap()
        .unwrap();
    let mailer =
        webcare::alerts::mail::Mailer::new(mail.smtp.as_ref().unwrap(), &mail.from).unwrap();
    assert_eq!(mailer.send_due(&state, now).await.unwrap(), 1);
    until_received(&messages, 1).await;
    assert_eq!(
        messages.lock().unwrap()[0].to,
        vec!["communicatie@example.org"]
    );
    let outbox = state.outbox().unwrap();
    assert!(outbox[0].sent.is_some(), "{:?}", outbox[0]);
    assert_eq!(outbox[0].delivered, vec!["communicatie@example.org"]);
    assert_eq!(outbox[0].refused.len(), 1);
    assert_eq!(outbox[0].refused[0].0, "tolken@example.org");
    assert!(
        outbox[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("tolken@example.org"),
        "{:?}",
        outbox[0].last_error
    );
    // Nothing due any more, hours later.
    let later = now + chrono::Duration::hours(6);
    assert!(state.due_mail(later).unwrap().is_empty());
    assert_eq!(mailer.send_due(&state, later).await.unwrap(), 0);
    assert_eq!(messages.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_garbage_hangs_or_closes_mid_message_is_an_error_not_a_crash() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            use std::io::{BufRead, Write};
            if i == 0 {
                let _ = stream.write_all(b"HELLO? this is not smtp\r\n\x00\xff\r\n");
            } else if i == 1 {
                // A server that takes the envelope, starts the message, and hangs up.
                let _ = stream.write_all(b"220 smtp.test ready\r\n");
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    let command = line.to_ascii_uppercase();
                    let answer: &[u8] = if command.starts_with("EHLO") {
                        b"250 smtp.test\r\n"
                    } else if command.starts_with("DATA") {
                        let _ = stream.write_all(b"354 go ahead\r\n");
                        // Read a little of the message, then close.
                        line.clear();
                        let _ = reader.read_line(&mut line);
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = stream.write_all(answer);
                    line.clear();
                }
            } else {
                // Hang: accept and say nothing.
                let mut buf = [0u8; 64];
                let _ = stream.read(&mut buf);
                std::thread::sleep(Duration::from_secs(30));
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let mut mail = mail_settings(addr);
    if let Some(smtp) = &mut mail.smtp {
        smtp.timeout = Duration::from_secs(1);
    }
    let now = Utc::now();
    let change = open_incident(&state, now);
    webcare::alerts::mail::queue(&state, &mail, &change, now, now)
        .unwrap()
        .unwrap();
    let mailer =
        webcare::alerts::mail::Mailer::new(mail.smtp.as_ref().unwrap(), &mail.from).unwrap();
    for round in 0..3 {
        let at = now + chrono::Duration::hours(2 * round);
        let sent = mailer.send_due(&state, at).await.unwrap();
        assert_eq!(sent, 0);
    }
    let outbox = state.outbox().unwrap();
    assert_eq!(outbox[0].attempts, 3);
    assert!(outbox[0].sent.is_none());
}

#[test]
fn the_daily_digest_goes_once_a_day_after_its_local_time() {
    let dir = tempfile::tempdir().unwrap();
    let state = StateDb::open(dir.path()).unwrap();
    let mail = mail_settings("127.0.0.1:25".parse().unwrap());
    let at = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
    // Nothing open: no digest, however late.
    assert!(
        webcare::alerts::mail::queue_digest(&state, &mail, at(23, 9, 0))
            .unwrap()
            .is_none()
    );
    open_incident(&state, at(24, 1, 0));
    // 07:59 in Amsterdam (UTC+1 in November) is before 08:00.
    assert!(
        webcare::alerts::mail::queue_digest(&state, &mail, at(24, 6, 59))
            .unwrap()
            .is_none()
    );
    assert!(
        webcare::alerts::mail::queue_digest(&state, &mail, at(24, 7, 1))
            .unwrap()
            .is_some()
    );
    assert!(
        webcare::alerts::mail::queue_digest(&state, &mail, at(24, 12, 0))
            .unwrap()
            .is_none()
    );
    assert!(
        webcare::alerts::mail::queue_digest(&state, &mail, at(25, 7, 30))
            .unwrap()
            .is_some()
    );
    let outbox = state.outbox().unwrap();
    assert_eq!(outbox.len(), 2);
    assert!(
        outbox[0]
            .subject
            .starts_with("webcare dagoverzicht 2026-11-24: 1 open"),
        "{}",
        outbox[0].subject
    );
    // The usual count as the alert's own mail says it, and a link to follow.
    assert!(
        outbox[0]
            .text
            .contains("tolk — open (14 stemmen, normaal 2); http"),
        "{}",
        outbox[0].text
    );
    assert!(
        outbox[0].html.contains("<a href=\"http"),
        "{}",
        outbox[0].html
    );
    // Only the rules for everything get the digest.
    assert_eq!(outbox[0].recipients, vec!["communicatie@example.org"]);
}

// ---- the alerts API ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_listed_shown_acknowledged_and_resolved_over_the_api() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixtures::config(dir.path(), &server, &[]);
    let daemon = webcare::daemon::start(&config).await.unwrap();
    // Opened once the daemon runs: at its start it takes out the quotes of mentions its
    // index does not hold, and these examples were never indexed.
    let id = {
        let state = StateDb::open(&config.storage.data_dir).unwrap();
        open_incident(&state, Utc::now()).incident().id
    };
    let addr = daemon.addr();
    let (status, list) = get_json_as(addr, "/api/alerts", Some(VIEWER_TOKEN)).await;
    assert_eq!(status, 200);
    let alert = &list["alerts"][0];
    assert_eq!(alert["key"], "interpreter");
    assert_eq!(alert["status"], "open");
    assert!(alert["search"]
        .as_str()
        .unwrap()
        .starts_with("/api/search?aspect=interpreter&complaint=true"));
    // The same list again is not recorded again (a dashboard asks every half minute);
    // a list with a new alert in it is another reading, and the trail names the alerts.
    get_json_as(addr, "/api/alerts", Some(VIEWER_TOKEN)).await;
    let waiting = {
        let state = StateDb::open(&config.storage.data_dir).unwrap();
        let mut signal = interpreter_signal(Utc::now());
        signal.key = "waiting_time".into();
        let mut changes = state
            .apply_detections(&[signal], Utc::now(), Duration::from_secs(48 * 3600))
            .unwrap();
        changes.remove(0).incident().id
    };
    get_json_as(addr, "/api/alerts", Some(VIEWER_TOKEN)).await;
    let (_, audit) = get_json(addr, "/api/admin/audit?user=vic").await;
    let readings: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "alerts_read")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(readings.len(), 2, "{readings:?}");
    assert!(
        readings[0].starts_with(&format!("status=any: 2 alerts #{waiting} #{id} "))
            || readings[0].starts_with(&format!("status=any: 2 alerts #{id} #{waiting} ")),
        "{readings:?}"
    );
    assert!(
        readings[1].starts_with(&format!("status=any: 1 alerts #{id} ")),
        "{readings:?}"
    );
    let (status, one) = get_json(addr, &format!("/api/alerts/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["examples"].as_array().unwrap().len(), 3);
    let client = reqwest::Client::new();
    let post = |path: String, body: serde_json::Value| {
        client
            .post(format!("http://{addr}{path}"))
            .bearer_auth(VIEWER_TOKEN)
            .json(&body)
            .send()
    };
    let ack = post(
        format!("/api/alerts/{id}/acknowledge"),
        json!({ "note": "tolkencentrum gebeld, mevrouw Jansen terugbellen op 06-12345678" }),
    )
    .await
    .unwrap();
    assert_eq!(ack.status(), 200);
    let ack: serde_json::Value = ack.json().await.unwrap();
    assert_eq!(ack["status"], "acknowledged");
    // A note is kept as everything else is: without personal data.
    let note = ack["note"].as_str().unwrap();
    assert!(
        note.ends_with(": tolkencentrum gebeld, mevrouw [name] terugbellen op [phone] (vic)"),
        "{note}"
    );
    let resolved: serde_json::Value = post(
        format!("/api/alerts/{id}/resolve"),
        json!({ "note": "opgelost" }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(resolved["status"], "resolved");
    // A finished incident cannot be acknowledged back into being followed.
    let again = post(format!("/api/alerts/{id}/acknowledge"), json!({}))
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let again: serde_json::Value = again.json().await.unwrap();
    assert!(
        again["error"].as_str().unwrap().contains("is resolved"),
        "{again}"
    );
    // Nor resolved again, which would move when it was closed.
    let again = post(format!("/api/alerts/{id}/resolve"), json!({}))
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let (_, open) = get_json(addr, "/api/alerts?status=open").await;
    let open: Vec<&serde_json::Value> = open["alerts"].as_array().unwrap().iter().collect();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["id"], waiting, "{open:?}");
    let (status, _) = get_json(addr, "/api/alerts/999").await;
    assert_eq!(status, 404);
    let (status, _) = get_json(addr, "/api/alerts?status=weird").await;
    assert_eq!(status, 400);
    let (_, audit) = get_json(addr, "/api/admin/audit?user=vic").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"alert_acknowledge") && actions.contains(&"alert_resolve"));
    // Reading the alerts shows quotes, as a search does: audited like one.
    assert!(actions.contains(&"alerts_read"), "{actions:?}");
    let (_, audit) = get_json(addr, "/api/admin/audit").await;
    assert!(audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "alert_open"
            && e["detail"]
                .as_str()
                .unwrap()
                .starts_with(&format!("alert {id}; with token "))));
    let state = StateDb::open(&config.storage.data_dir).unwrap();
    assert_eq!(
        state.incident(id).unwrap().unwrap().status,
        Status::Resolved
    );
    daemon.shutdown().await.unwrap();
}

/// An alert says whether its mail arrived, not only that it was queued (`mailed`), in
/// counts that any user may read; the administrator's outbox names who refused it and
/// why, without the text that quotes mentions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alerts_and_the_outbox_say_whether_mail_arrived() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp = listener.local_addr().unwrap();
    let messages = smtp_server_refusing(listener, &["tolken@example.org"]);
    let down = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixtures::config(dir.path(), &server, &[]);
    let daemon = webcare::daemon::start(&config).await.unwrap();
    let now = Utc::now();
    let state = StateDb::open(&config.storage.data_dir).unwrap();
    let mail = mail_settings(smtp);
    // Interpreters: sent, but one of its two recipients has no mailbox.
    let interpreter = open_incident(&state, now);
    webcare::alerts::mail::queue(&state, &mail, &interpreter, now, now)
        .unwrap()
        .unwrap();
    let mailer =
        webcare::alerts::mail::Mailer::new(mail.smtp.as_ref().unwrap(), &mail.from).unwrap();
    assert_eq!(mailer.send_due(&state, now).await.unwrap(), 1);
    until_received(&messages, 1).await;
    // Hearings: tried once while the server was down, waiting for the next attempt.
    let mut hearing = interpreter_signal(now);
    hearing.key = "hearing".into();
    let hearing = state
        .apply_detections(&[hearing], now, Duration::from_secs(48 * 3600))
        .unwrap()
        .remove(0);
    webcare::alerts::mail::queue(&state, &mail, &hearing, now, now)
        .unwrap()
        .unwrap();
    let unreachable = webcare::alerts::mail::Mailer::new(&smtp_settings(down), &mail.from).unwrap();
    assert_eq!(unreachable.send_due(&state, now).await.unwrap(), 0);
    // Reception: no mail at all.
    let mut reception = interpreter_signal(now);
    reception.key = "reception".into();
    state
        .apply_detections(&[reception], now, Duration::from_secs(48 * 3600))
        .unwrap();

    let addr = daemon.addr();
    let (status, list) = get_json_as(addr, "/api/alerts", Some(VIEWER_TOKEN)).await;
    assert_eq!(status, 200, "{list}");
    let mail_of = |key: &str| {
        list["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == key)
            .unwrap()["mail"]
            .clone()
    };
    let sent = mail_of("interpreter");
    assert_eq!(
        (
            &sent["messages"],
            &sent["sent"],
            &sent["waiting"],
            &sent["partly_refused"]
        ),
        (&json!(1), &json!(1), &json!(0), &json!(1)),
        "{sent}"
    );
    assert!(sent["last_sent"].is_string(), "{sent}");
    let failing = mail_of("hearing");
    assert_eq!(
        (
            &failing["messages"],
            &failing["sent"],
            &failing["waiting"],
            &failing["failing"]
        ),
        (&json!(1), &json!(0), &json!(1), &json!(1)),
        "{failing}"
    );
    assert_eq!(mail_of("reception")["messages"], 0);
    // Counts only for a viewer: the refusal names the recipient.
    assert!(!list.to_string().contains("tolken@"), "{list}");
    let (_, one) = get_json(addr, &format!("/api/alerts/{}", hearing.incident().id)).await;
    assert_eq!(one["mail"], failing);

    let (status, _) = get_json_as(addr, "/api/admin/outbox", Some(VIEWER_TOKEN)).await;
    assert_eq!(status, 403);
    let (status, outbox) = get_json(addr, "/api/admin/outbox").await;
    assert_eq!(status, 200, "{outbox}");
    let listed = outbox["messages"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{outbox}");
    // Newest first: the hearing's, waiting.
    assert_eq!(listed[0]["incident"], hearing.incident().id);
    assert_eq!(listed[0]["attempts"], 1);
    assert!(listed[0]["next_attempt"].is_string() && listed[0]["sent"].is_null());
    assert!(listed[0]["last_error"].is_string(), "{outbox}");
    assert_eq!(listed[1]["incident"], interpreter.incident().id);
    assert_eq!(listed[1]["delivered"], json!(["communicatie@example.org"]));
    assert_eq!(listed[1]["refused"][0][0], "tolken@example.org");
    assert!(listed[1]["next_attempt"].is_null(), "{outbox}");
    // Not the text, which quotes mentions.
    assert!(!outbox.to_string().contains("dialect"), "{outbox}");
    let (_, waiting) = get_json(addr, "/api/admin/outbox?status=waiting").await;
    assert_eq!(waiting["messages"].as_array().unwrap().len(), 1);
    assert_eq!(waiting["messages"][0]["incident"], hearing.incident().id);
    let (_, given_up) = get_json(addr, "/api/admin/outbox?status=given_up&limit=5").await;
    assert!(given_up["messages"].as_array().unwrap().is_empty());
    for bad in ["status=lost", "limit=0", "limit=x", "since=2026-01-01"] {
        let (status, body) = get_json(addr, &format!("/api/admin/outbox?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (_, audit) = get_json(addr, "/api/admin/audit?limit=20").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "outbox_read"),
        "{audit}"
    );
    // The same list from the shell, for an administrator without a token at hand.
    let file = dir.path().join("c.toml");
    std::fs::write(&file, fixtures::config_toml(dir.path(), &server, &[])).unwrap();
    let outbox_cli = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_webcare"))
            .args(["alerts", "-c", &file.display().to_string(), "outbox"])
            .args(args)
            .current_dir(repo())
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (
            output.status.success(),
            text(&output.stdout),
            text(&output.stderr),
        )
    };
    let (ok, shown, errors) = outbox_cli(&[]);
    assert!(ok, "{shown}{errors}");
    assert!(
        shown.contains("refused by tolken@example.org: ")
            && shown.contains(&format!("(alert {})", interpreter.incident().id))
            && shown.contains("waiting, next attempt"),
        "{shown}"
    );
    let (ok, shown, errors) = outbox_cli(&["--status", "sent", "--json"]);
    assert!(ok, "{errors}");
    let listed: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["incident"], interpreter.incident().id);
    let (ok, _, errors) = outbox_cli(&["--status", "lost"]);
    assert!(
        !ok && errors.contains("--status \"lost\": use waiting, sent, given_up"),
        "{errors}"
    );
    daemon.shutdown().await.unwrap();
}

/// `webcare alerts test-mail` sends through the configured server, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_mail_from_the_command_line_arrives() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let messages = smtp_server(listener);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\n[pipeline]\ntopics_dir = {:?}\n[mail]\nenabled = true\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsecurity = \"none\"\nfrom = \"webcare <webcare@example.org>\"\n[[mail.rules]]\nto = [\"communicatie@example.org\"]\n",
            dir.path().join("data").display().to_string(),
            repo().join("config/topics").display().to_string(),
            addr.port()
        ),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_webcare"))
        .args(["alerts", "-c", &config.display().to_string(), "test-mail"])
        .current_dir(repo())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("test message accepted"), "{stdout}");
    until_received(&messages, 1).await;
    let got = messages.lock().unwrap()[0].clone();
    assert_eq!(got.to, vec!["communicatie@example.org"]);
    assert!(got.data.contains("testbericht"), "{}", got.data);
    // Sent at once, never through the outbox: a test that failed is not delivered
    // later by the daemon.
    let state = StateDb::open(&dir.path().join("data")).unwrap();
    assert!(state.outbox().unwrap().is_empty());
}
