//! The daemon end to end: fixture feeds in, search and source status out over HTTP.

use crate::fixtures::{self, get_json};

const ALL: &[(&str, &str)] = &[
    ("rss2", "/rss2.xml"),
    ("rss1", "/rss1.rdf"),
    ("atom", "/atom.xml"),
    ("jsonfeed", "/feed.json"),
    ("cp1252", "/windows-1252.xml"),
    ("header-charset", "/header-charset.xml"),
    ("xss", "/xss.xml"),
    ("malformed", "/malformed.xml"),
    ("endless", "/endless"),
    ("stall", "/stall"),
    ("rate-limited", "/rate-limited"),
    ("redirect-loop", "/loop"),
    ("broken", "/gone"),
];

fn titles(body: &serde_json::Value) -> Vec<String> {
    body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap().to_string())
        .collect()
}

fn source<'a>(sources: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_are_polled_filtered_indexed_and_searchable() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    // And one source switched off, which a search may still name.
    let toml = fixtures::config_toml(dir.path(), &server, ALL)
        + &format!(
            "[[sources]]\nname = \"paused\"\nkind = \"feed\"\nurl = {:?}\nenabled = false\n",
            server.url("/rss2.xml")
        );
    let config = webcare::Config::from_toml(std::path::Path::new("t.toml"), &toml).unwrap();
    let daemon = webcare::daemon::start(&config).await.unwrap();
    let addr = daemon.addr();
    fixtures::until_all_polled(&daemon).await;

    let (status, inbox) = get_json(addr, "/api/search?q=*&limit=100").await;
    assert_eq!(status, 200);
    let titles = titles(&inbox);
    // Every relevant fixture item is in; every decoy is out.
    for expected in [
        "IND haalt beslistermijn voor asielaanvragen opnieuw niet",
        "Lange rijen bij aanmeldcentrum Ter Apel: asielzoekers slapen op stoelen",
        "Tolk sprak verkeerd dialect tijdens nader gehoor, zegt advocaat",
        "COA zoekt extra opvangplekken voor asielzoekers in Gelderland",
        "Overcrowding returns at Ter Apel registration centre",
        "COA opens a new reception location for asylum seekers",
        "Bewoners azc missen brieven over hun asielprocedure",
        "Situatie in aanmeldcentrum Ter Apel wordt geëvalueerd",
    ] {
        assert!(
            titles.iter().any(|t| t == expected),
            "missing {expected:?} in {titles:#?}"
        );
    }
    for decoy in [
        "Dierenasiel",
        "IND vs AUS",
        "gehoorapparaat",
        "Gebarentolk",
        "Home Office",
        "Animal shelter",
        "Britse regering",
    ] {
        assert!(
            !titles.iter().any(|t| t.contains(decoy)),
            "decoy {decoy:?} was indexed: {titles:#?}"
        );
    }
    // The inbox is newest first.
    let dates: Vec<&str> = inbox["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["published"].as_str().unwrap())
        .collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted);
    // The same windows-1252 feed, named by prolog or by header only, decodes the same.
    assert_eq!(
        titles
            .iter()
            .filter(|t| t.as_str() == "Situatie in aanmeldcentrum Ter Apel wordt geëvalueerd")
            .count(),
        2
    );
    assert_eq!(
        inbox["facets"]["source"]["cp1252"],
        inbox["facets"]["source"]["header-charset"]
    );

    check_text_is_clean_and_links_canonical(addr).await;
    check_search_features(addr).await;
    check_source_status(addr).await;
    daemon.shutdown().await.unwrap();
}

async fn check_text_is_clean_and_links_canonical(addr: std::net::SocketAddr) {
    let (_, body) = get_json(
        addr,
        "/api/search?q=%22aanmeldcentrum%20Ter%20Apel%22%20stoelen&source=rss2",
    )
    .await;
    let hit = &body["hits"][0];
    assert_eq!(
        hit["url"],
        "https://nieuws.example.nl/binnenland/ter-apel-rijen?id=42"
    );
    let (_, body) = get_json(addr, "/api/search?q=beslistermijn&source=rss2").await;
    let snippet = body["hits"][0]["snippet"].as_str().unwrap();
    assert!(
        !snippet.contains("alert(1)") && !snippet.contains("<script") && !snippet.contains("<p>"),
        "{snippet}"
    );
    assert!(snippet.contains("<b>beslistermijn</b>"), "{snippet}");
    // Strangers' markup comes back as text, escaped; a javascript: link is dropped.
    let (_, body) = get_json(addr, "/api/search?q=onerror&source=xss").await;
    let hit = &body["hits"][0];
    let snippet = hit["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("&lt;img src=x <b>onerror</b>=alert(1)&gt;"),
        "{snippet}"
    );
    assert!(hit["url"].is_null(), "{hit}");
    assert_eq!(
        hit["title"],
        "Asielzoekers in Ter Apel schrijven <script>alert(1)</script>"
    );
}

async fn check_search_features(addr: std::net::SocketAddr) {
    // Dutch stemming: "wachten" finds "wacht"/"wachttijd"-free forms via the stem.
    let (_, body) = get_json(addr, "/api/search?q=asielzoeker&lang=nl").await;
    assert!(body["total"].as_u64().unwrap() >= 3, "{body}");
    assert!(body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["lang"] == "nl"));
    // With how sure the language stage was, and when it was fetched.
    assert!(
        body["hits"].as_array().unwrap().iter().all(|h| {
            h["lang_confidence"]
                .as_f64()
                .is_some_and(|c| c > 0.0 && c <= 1.0)
                && h["fetched"]
                    .as_str()
                    .is_some_and(|t| t >= h["published"].as_str().unwrap())
        }),
        "{body}"
    );
    assert_eq!(
        body["facets"]["lang"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["nl"]
    );
    // English stemming: "seeker" matches "seekers".
    let (_, body) = get_json(addr, "/api/search?q=seeker&lang=en").await;
    assert!(body["total"].as_u64().unwrap() >= 1, "{body}");
    // Every kept mention says which rule kept it.
    assert!(body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["topic"].as_str().is_some_and(|t| t.contains('/'))));
    // Date range: nothing before 2000, everything up to 2100.
    let (_, none) = get_json(addr, "/api/search?to=2000-01-01").await;
    assert_eq!(none["total"], 0);
    let (_, all) = get_json(addr, "/api/search?from=2000-01-01&to=2100-01-01").await;
    let (_, inbox) = get_json(addr, "/api/search").await;
    assert_eq!(all["total"], inbox["total"]);
    // Paging: offset moves through the same list.
    let (_, page2) = get_json(addr, "/api/search?limit=2&offset=2").await;
    let (_, page1) = get_json(addr, "/api/search?limit=4").await;
    assert_eq!(page2["hits"][0]["id"], page1["hits"][2]["id"]);
    // Exclusions however written: "AND NOT" is "-", and "NOT x" alone is all but x.
    let total = |body: &serde_json::Value| body["total"].as_u64().unwrap();
    let (_, ind) = get_json(addr, "/api/search?q=IND").await;
    let (_, ind_tolk) = get_json(addr, "/api/search?q=IND%20AND%20tolk").await;
    assert!(
        total(&ind_tolk) > 0 && total(&ind_tolk) < total(&ind),
        "{ind_tolk}"
    );
    for q in ["IND%20AND%20NOT%20tolk", "IND%20-tolk", "IND%20NOT%20tolk"] {
        let (status, body) = get_json(addr, &format!("/api/search?q={q}")).await;
        assert_eq!(status, 200, "{q}: {body}");
        assert_eq!(total(&body), total(&ind) - total(&ind_tolk), "{q}");
    }
    let (_, everything) = get_json(addr, "/api/search?q=*").await;
    let (_, tolk) = get_json(addr, "/api/search?q=tolk").await;
    let (_, but_tolk) = get_json(addr, "/api/search?q=NOT%20tolk").await;
    assert_eq!(
        total(&but_tolk),
        total(&everything) - total(&tolk),
        "{but_tolk}"
    );
    // "IND: tolk" as staff type it: the word before the colon is a word, not a field.
    let (status, colon) = get_json(addr, "/api/search?q=IND:%20tolk").await;
    assert_eq!(status, 200, "{colon}");
    assert_eq!(total(&colon), total(&ind_tolk), "{colon}");
    // Colons the grammar cannot read as a field are punctuation: times, a trailing one.
    for q in ["IND:%20tolk%2010:30", "tolk:", "12:00%20-%2014:00%20tolk"] {
        let (status, body) = get_json(addr, &format!("/api/search?q={q}")).await;
        assert_eq!(status, 200, "{q}: {body}");
    }
    // Bad input: 400 with a message saying what is wrong, never a 500.
    for (query, expect) in [
        ("q=%22unclosed", "invalid query"),
        // No search by field: the filters are parameters, and the author's pseudonym
        // is not for listing what one person wrote.
        ("q=title:tolk", "there is no field search"),
        (
            "q=author:p_0123456789abcdef01234567",
            "there is no field search",
        ),
        ("q=url:*", "there is no field search"),
        ("q=IND%20OR%20id:*", "there is no field search"),
        (
            "q=published:%5B2020%20TO%202030%5D",
            "there is no field search",
        ),
        ("q=%5Ba%20TO%20z%5D", "there is no field search"),
        // A field that does not exist, asked for whole (found by fuzzing).
        ("q=nosuchfield:*", "no field"),
        ("q=tolk%20OR%20c:*", "no field"),
        ("limit=0", "`limit`"),
        ("limit=abc", "`limit`"),
        ("from=yesterday", "`from`"),
        ("sort=random", "`sort`"),
        ("lang=NL", "`lang`"),
        ("lang=dutch", "`lang`"),
        ("colour=red", "unknown parameter `colour`"),
        ("q=tolk&lang=nl&lang=en", "`lang` is given twice"),
        // Bytes that are no UTF-8 once decoded: searched with replacement characters, the
        // query would find nothing without a word.
        ("q=%E2%82", "not UTF-8"),
        ("q%FF=tolk", "not UTF-8"),
    ] {
        let (status, body) = get_json(addr, &format!("/api/search?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(expect),
            "{query}: {body}"
        );
    }
    // A filter value that no mention has and none can have is a typo, and said so,
    // rather than read as "nothing was said".
    for (query, expect) in [
        (
            "lang=xx",
            "no mention is in \"xx\", nor is it a language the daemon answers ([pipeline] languages): nl, en, ",
        ),
        (
            "q=tolk&source=rss-2",
            "no source \"rss-2\" is configured or in the index; the configured sources are atom, broken, ",
        ),
    ] {
        let (status, body) = get_json(addr, &format!("/api/search?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(expect),
            "{query}: {body}"
        );
    }
    // A language the daemon detects, a configured source that kept nothing (yet), a
    // source in the index: a search like any other, however few it finds.
    for query in [
        "lang=ti",
        "source=malformed",
        "source=paused",
        "q=zzyzx&source=rss2",
    ] {
        let (status, body) = get_json(addr, &format!("/api/search?{query}")).await;
        assert_eq!(
            (status, &body["total"]),
            (200, &serde_json::json!(0)),
            "{query}: {body}"
        );
    }
    // Aspects: a filter, a facet, and the terms that found each aspect.
    let (_, body) = get_json(addr, "/api/search?aspect=interpreter&limit=100").await;
    let hits = body["hits"].as_array().unwrap();
    assert!(
        hits.iter().any(
            |h| h["title"] == "Tolk sprak verkeerd dialect tijdens nader gehoor, zegt advocaat"
        ),
        "{body}"
    );
    assert!(hits.iter().all(|h| h["aspects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "interpreter")));
    assert!(hits
        .iter()
        .all(|h| h["aspects_why"].as_str().unwrap().contains("interpreter: ")));
    assert_eq!(body["facets"]["aspect"]["interpreter"], body["total"]);
    let (status, body) = get_json(addr, "/api/search?aspect=weather").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("known aspects: waiting_time, interpreter"),
        "{body}"
    );
    let (status, _) = get_json(addr, "/no/such/route").await;
    assert_eq!(status, 404);
    let (status, health) = get_json(addr, "/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    // The data directory's free space, which fails the check before a write does.
    assert!(health["disk_free_bytes"].as_u64().unwrap() > 0, "{health}");
    // A monitor's HEAD is a GET without the body: public too; a HEAD of the search is not.
    let head = |path: &str| {
        reqwest::Client::new()
            .head(format!("http://{addr}{path}"))
            .send()
    };
    assert_eq!(head("/healthz").await.unwrap().status(), 200);
    assert_eq!(head("/api/search").await.unwrap().status(), 401);
}

async fn check_source_status(addr: std::net::SocketAddr) {
    let (_, sources) = get_json(addr, "/api/sources").await;
    let rss2 = source(&sources, "rss2");
    assert_eq!(rss2["state"], "ok");
    assert_eq!(rss2["items_seen"], 6);
    assert_eq!(rss2["items_kept"], 3);
    assert_eq!(rss2["last_report"]["dropped"], 3);
    for (name, error) in [
        ("malformed", "cannot parse the feed"),
        ("endless", "larger than the limit of 262144 bytes"),
        ("stall", "timed out"),
        ("rate-limited", "server asks to wait 3600 seconds"),
        ("redirect-loop", "too many redirects"),
        ("broken", "HTTP 500"),
    ] {
        let status = source(&sources, name);
        assert_eq!(status["state"], "retrying", "{status}");
        let message = status["last_error"].as_str().unwrap();
        assert!(message.contains(error), "{name}: {message}");
    }
    // Retry-After is honoured: the next poll is about an hour away, not the backoff's.
    let next = source(&sources, "rate-limited")["next_poll"]
        .as_str()
        .unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(next).unwrap();
    assert!(
        next > chrono::Utc::now() + chrono::Duration::minutes(50),
        "{next}"
    );
}

/// A client that never finishes its request does not hold the shutdown: after a grace
/// period its connection is closed, and what the writer held is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_does_not_hold_the_shutdown() {
    use tokio::io::AsyncWriteExt;
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixtures::config(dir.path(), &server, &[("rss2", "/rss2.xml")]);
    let daemon = webcare::daemon::start(&config).await.unwrap();
    fixtures::until_all_polled(&daemon).await;
    let mut stalled = tokio::net::TcpStream::connect(daemon.addr()).await.unwrap();
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A guard against a hang, not a measurement: the grace period is 5 seconds.
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(60), daemon.shutdown()).await;
    assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
    drop(stalled);
    let index = webcare::search::MentionIndex::open(&config.storage.data_dir).unwrap();
    assert_eq!(index.num_mentions(), 3);
}

/// A client that sends its headers too slowly, opens a connection and sends nothing, or
/// stops in the middle of a body, is disconnected after `http.header_timeout`; others are
/// served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_slow_to_send_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = fixtures::config_toml(dir.path(), &server, &[]).replace(
        "listen = \"127.0.0.1:0\"\n",
        "listen = \"127.0.0.1:0\"\nheader_timeout = \"1s\"\n",
    );
    let config = webcare::Config::from_toml(std::path::Path::new("test.toml"), &toml).unwrap();
    assert_eq!(
        config.http.header_timeout,
        std::time::Duration::from_secs(1)
    );
    let daemon = webcare::daemon::start(&config).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(daemon.addr()).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut silent = tokio::net::TcpStream::connect(daemon.addr()).await.unwrap();
    // Whole headers, then a body that stops short of its length.
    let mut stalled_body = tokio::net::TcpStream::connect(daemon.addr()).await.unwrap();
    stalled_body
        .write_all(
            b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user\":",
        )
        .await
        .unwrap();
    // A body trickled a byte at a time, each within the deadline, the whole not: a
    // deadline per piece would hold this connection for as long as the body lasts.
    let trickled = tokio::net::TcpStream::connect(daemon.addr()).await.unwrap();
    let (mut trickled_in, mut trickled_out) = tokio::io::split(trickled);
    trickled_out
        .write_all(
            b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n",
        )
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..200 {
            if trickled_out.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    });
    let (status, _) = get_json(daemon.addr(), "/healthz").await;
    assert_eq!(status, 200);
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        trickled_in.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the trickling client is still connected");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 1s"), "{answer}");
    trickle.abort();
    // A guard, not a measurement: without a deadline neither connection is ever closed
    // by the server, and hyper's own default would close them after 30 seconds.
    for (name, stream) in [
        ("slow", &mut slow),
        ("silent", &mut silent),
        ("stalled body", &mut stalled_body),
    ] {
        let mut answer = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut answer),
        )
        .await;
        assert!(read.is_ok(), "the {name} client is still connected");
        assert!(
            !String::from_utf8_lossy(&answer).contains("200 OK"),
            "{name}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
    let (status, _) = get_json(daemon.addr(), "/healthz").await;
    assert_eq!(status, 200);
    daemon.shutdown().await.unwrap();
}

/// One address holds at most `MAX_PER_CLIENT` connections: more are closed at once,
/// and the others are served on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_a_bounded_number_of_connections() {
    use tokio::io::AsyncReadExt;
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixtures::config(dir.path(), &server, &[]);
    let daemon = webcare::daemon::start(&config).await.unwrap();
    let mut idle = Vec::new();
    for _ in 0..webcare::http::MAX_PER_CLIENT {
        idle.push(tokio::net::TcpStream::connect(daemon.addr()).await.unwrap());
    }
    // Accepted and counted in order: a request on the first of them is served.
    let mut one_more = tokio::net::TcpStream::connect(daemon.addr()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        one_more.read_to_end(&mut answer),
    )
    .await;
    assert!(
        matches!(read, Ok(Ok(0))),
        "the connection over the limit was not closed: {read:?}"
    );
    drop(idle.pop());
    // Closed: served again (its slot is given back once the server sees it closed).
    let mut served = false;
    for _ in 0..50 {
        if let Ok(response) = reqwest::get(format!("http://{}/healthz", daemon.addr())).await {
            served = response.status() == 200;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(served);
    drop(idle);
    daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_from_the_committed_position_without_duplicates() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixtures::config(
        dir.path(),
        &server,
        &[("etag", "/etag.xml"), ("atom", "/atom.xml")],
    );

    let daemon = webcare::daemon::start(&config).await.unwrap();
    fixtures::until_all_polled(&daemon).await;
    let (_, before) = get_json(daemon.addr(), "/api/search").await;
    daemon.shutdown().await.unwrap();

    let daemon = webcare::daemon::start(&config).await.unwrap();
    fixtures::until_all_polled(&daemon).await;
    let (_, after) = get_json(daemon.addr(), "/api/search").await;
    let (_, sources) = get_json(daemon.addr(), "/api/sources").await;
    daemon.shutdown().await.unwrap();

    // The ETag saved with the commit was sent again: the second poll was a 304.
    use std::sync::atomic::Ordering::SeqCst;
    assert_eq!(server.log.etag_requests.load(SeqCst), 2);
    assert_eq!(server.log.etag_not_modified.load(SeqCst), 1);
    assert_eq!(
        source(&sources, "etag")["last_report"]["not_modified"],
        true
    );
    // The atom feed was fetched again (no ETag) but nothing was duplicated.
    assert_eq!(before["total"], after["total"]);
    assert!(before["total"].as_u64().unwrap() >= 6);
    let ids = |v: &serde_json::Value| {
        let mut ids: Vec<String> = v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&before), ids(&after));
    // Counters survive the restart (they live in the checkpoint).
    assert_eq!(source(&sources, "etag")["items_seen"], 5);
}

/// `webcare run --demo`, the README's first command, as `main` assembles it: the
/// bundled feeds from their local server, the demo login, the real daemon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_indexes_the_bundled_feeds_and_leaves_the_decoys_out() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[storage]\ndata_dir = {:?}\ncommit_interval = \"200ms\"\n[http]\nlisten = \"127.0.0.1:0\"\n",
        dir.path().display().to_string()
    );
    let config = webcare::Config::from_toml(std::path::Path::new("demo.toml"), &toml).unwrap();
    let feeds = webcare::demo::serve_feeds().await.unwrap();
    let config = webcare::demo::demo_config(config, feeds);
    // Nothing of the real installation: its own export directory, key and users, no mail.
    let demo_dir = dir.path().join("demo");
    assert_eq!(config.export.out_dir, demo_dir.join("exports"));
    assert!(config.export.mail_to.is_empty() && config.mail.smtp.is_none());
    assert!(
        matches!(&config.pipeline.pseudonym_key,
            webcare::pipeline::pseudonym::KeySource::OwnFile { path, .. } if path.starts_with(&demo_dir)),
        "{:?}",
        config.pipeline.pseudonym_key
    );
    std::fs::create_dir_all(&config.storage.data_dir).unwrap();
    let first = webcare::demo::demo_credentials(&config).unwrap();
    // A second start shows a login too: the one printed last works, and only it.
    let login = webcare::demo::demo_credentials(&config).unwrap();
    assert_ne!(login.password, first.password);
    let daemon = webcare::daemon::start(&config).await.unwrap();
    fixtures::until_all_polled(&daemon).await;
    let addr = daemon.addr();
    for (password, status) in [(&first.password, 401), (&login.password, 200)] {
        let answer = fixtures::login(addr, login.user, password).await;
        assert_eq!(answer.status(), status);
    }
    // And so does only the token printed last: a start does not leave another
    // week-long admin token behind.
    for (token, status) in [(&first.token, 401), (&login.token, 200)] {
        let (answer, _) = fixtures::get_json_as(addr, "/api/me", Some(token)).await;
        assert_eq!(answer, status);
    }
    let get = |path: &str| {
        let (path, token) = (path.to_string(), login.token.clone());
        async move { fixtures::get_json_as(addr, &path, Some(&token)).await }
    };

    let (_, sources) = get("/api/sources").await;
    let sources = sources["sources"].as_array().unwrap().clone();
    assert_eq!(sources.len(), 4, "{sources:?}");
    for s in &sources {
        assert_eq!(s["state"], "ok", "{s}");
        let topical = s["name"] == "demo-refugee-voices";
        assert_eq!(s["topical"], topical, "{s}");
    }
    let kept: u64 = sources
        .iter()
        .map(|s| s["items_kept"].as_u64().unwrap())
        .sum();
    let (status, all) = get("/api/search?limit=100").await;
    assert_eq!(status, 200);
    assert_eq!(all["total"].as_u64(), Some(kept));
    // The feeds hold 48 items about the procedure and 16 decoys (their README).
    assert!((40..=48).contains(&kept), "{kept} kept");
    // Served with their dates moved to end today, whenever the demo runs: the inbox
    // (newest first) starts within a day of now.
    let newest = all["hits"][0]["published"].as_str().unwrap();
    let newest = chrono::DateTime::parse_from_rfc3339(newest).unwrap();
    let age = chrono::Utc::now() - newest.to_utc();
    assert!(
        age < chrono::Duration::days(1) && age > chrono::Duration::zero(),
        "newest mention published {newest}"
    );
    let (_, found) = get("/api/search?q=asielzoekers").await;
    assert!(found["total"].as_u64().unwrap() > 0, "{found}");
    for decoy in ["dierenasiel", "gehoorapparaat", "klooster"] {
        let (_, found) = get(&format!("/api/search?q={decoy}")).await;
        assert_eq!(found["total"], 0, "{decoy}: {found}");
    }
    daemon.shutdown().await.unwrap();
}
