//! One poll at a time, driven directly: conditional GET and position handling.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;

use webcare::pipeline::Pipeline;
use webcare::poll::{Poller, StatusBoard};
use webcare::search::writer::{self, CommitPolicy};
use webcare::search::{IndexError, MentionIndex, SourceCheckpoint};

use crate::fixtures;

/// A poller with its own index writer, for driving polls one step at a time.
pub struct Harness {
    pub index: MentionIndex,
    /// Shared, so that source loops (`spawn_sources`) can run on it too.
    pub poller: Arc<Poller>,
    /// What those loops report.
    pub board: StatusBoard,
    /// The index writer, for erasures.
    pub writer_handle: writer::WriterHandle,
    writer: std::thread::JoinHandle<Result<(), IndexError>>,
}

impl Harness {
    pub fn start(config: &webcare::Config) -> Harness {
        let index = MentionIndex::open(&config.storage.data_dir).unwrap();
        let policy = CommitPolicy {
            max_docs: 100,
            interval: std::time::Duration::from_millis(50),
        };
        let (handle, writer) =
            writer::spawn(&index, policy, tokio::runtime::Handle::current()).unwrap();
        let pipeline = Arc::new(Pipeline::from_config(&config.pipeline).unwrap());
        let board = StatusBoard::default();
        let poller = Arc::new(
            Poller::new(
                &config.poll,
                &config.privacy,
                pipeline,
                handle.clone(),
                board.clone(),
            )
            .unwrap(),
        );
        Harness {
            index,
            poller,
            board,
            writer_handle: handle,
            writer,
        }
    }

    /// What went wrong in one poll of `source` from `checkpoint`, which must fail.
    pub async fn failed_poll(
        &self,
        source: &dyn webcare::sources::Source,
        checkpoint: &mut SourceCheckpoint,
    ) -> String {
        self.poller
            .poll_once(source, checkpoint)
            .await
            .unwrap_err()
            .to_string()
    }

    /// Stops the writer (its final commit) and checks it ended without error.
    pub async fn finish(self) {
        drop(self.poller);
        drop(self.writer_handle);
        let writer = self.writer;
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_poll_is_conditional_and_changes_nothing() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixtures::config(dir.path(), &server, &[("etag", "/etag.xml")]);
    let harness = Harness::start(&config);
    let (index, poller) = (&harness.index, &harness.poller);
    let source = webcare::sources::build(&config.sources[0]).unwrap();

    let mut checkpoint = SourceCheckpoint::default();
    let first = poller
        .poll_once(source.as_ref(), &mut checkpoint)
        .await
        .unwrap();
    assert_eq!(
        (
            first.items_seen,
            first.kept,
            first.dropped,
            first.not_modified
        ),
        (5, 3, 2, false)
    );
    assert_eq!(checkpoint.position["etag"], "\"v1\"");
    assert_eq!(index.checkpoints().unwrap()["etag"], checkpoint);
    assert_eq!(index.num_mentions(), 3);

    let second = poller
        .poll_once(source.as_ref(), &mut checkpoint)
        .await
        .unwrap();
    assert!(second.not_modified);
    assert_eq!((second.items_seen, second.kept), (0, 0));
    assert_eq!(server.log.etag_not_modified.load(SeqCst), 1);
    assert_eq!(index.num_mentions(), 3);

    harness.finish().await;
}

/// A 304 to a request that asked for nothing conditional is no "unchanged": the source
/// would show "ok" for good while nothing is ever read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_304_to_a_first_request_is_a_failure() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixtures::config(dir.path(), &server, &[("cached", "/always-304")]);
    let harness = Harness::start(&config);
    let source = webcare::sources::build(&config.sources[0]).unwrap();
    let mut checkpoint = SourceCheckpoint::default();
    let err = harness.failed_poll(source.as_ref(), &mut checkpoint).await;
    assert!(
        err.contains("HTTP 304 Not Modified to a request that was not conditional"),
        "{err}"
    );
    assert_eq!(checkpoint, SourceCheckpoint::default());
    harness.finish().await;
}

/// A server whose clock is far from ours (ours a hundred days ahead: a dead battery, a
/// VM restored with a wrong clock) is not read: by our clock its items would be too old
/// to keep and marked seen, never to come back, and retention would erase the index.
/// Nothing is judged, the position stays, retention holds off; once the clocks agree
/// the same items are read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_clock_reads_nothing_until_it_is_right() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixtures::config(dir.path(), &server, &[("clock", "/clock.xml")]);
    let harness = Harness::start(&config);
    let (index, poller) = (&harness.index, &harness.poller);
    let source = webcare::sources::build(&config.sources[0]).unwrap();
    let mut checkpoint = SourceCheckpoint::default();
    let clock = poller.clock();
    assert!(!clock.doubted_within(std::time::Duration::from_secs(3600)));
    for days in [-100, 100] {
        server.log.clock_offset.store(days * 24 * 3600, SeqCst);
        let err = harness.failed_poll(source.as_ref(), &mut checkpoint).await;
        let direction = if days < 0 { "ahead of" } else { "behind" };
        assert!(
            err.contains(&format!("clock is 100 days {direction} the server's")),
            "{err}"
        );
        assert_eq!(index.num_mentions(), 0);
        assert_eq!(checkpoint, SourceCheckpoint::default());
    }
    assert!(clock.doubted_within(std::time::Duration::from_secs(3600)));
    // Half an hour off is a cache's doing, not a wrong clock.
    server.log.clock_offset.store(-1800, SeqCst);
    let read = poller
        .poll_once(source.as_ref(), &mut checkpoint)
        .await
        .unwrap();
    assert_eq!((read.items_seen, read.kept), (6, 3));
    assert_eq!(index.num_mentions(), 3);
    harness.finish().await;
}

/// A harness polling the fixture server's RSS 2.0 feed (3 relevant items of 6), and
/// that source.
async fn on_rss2(
    dir: &std::path::Path,
) -> (
    fixtures::FixtureServer,
    Harness,
    Box<dyn webcare::sources::Source>,
) {
    let server = fixtures::start().await;
    let config = fixtures::config(dir, &server, &[("rss2", "/rss2.xml")]);
    let harness = Harness::start(&config);
    let source = webcare::sources::build(&config.sources[0]).unwrap();
    (server, harness, source)
}

/// A feed without validators sends its items again every poll: the source's lifetime
/// count says how many new items it delivered, not how often it repeated them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_repeating_its_items_counts_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, harness, source) = on_rss2(dir.path()).await;
    let mut checkpoint = SourceCheckpoint::default();
    for _ in 0..3 {
        let report = harness
            .poller
            .poll_once(source.as_ref(), &mut checkpoint)
            .await
            .unwrap();
        // Each response holds all six items.
        assert_eq!(report.items_seen, 6);
    }
    assert_eq!((checkpoint.items_seen, checkpoint.items_kept), (6, 3));
    assert_eq!(harness.index.num_mentions(), 3);
    harness.finish().await;
}

/// Items published before the retention period are not stored at all (retention
/// would erase them), but counted, and the source's position moves past them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_older_than_the_retention_period_are_counted_not_stored() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = fixtures::config(dir.path(), &server, &[("etag", "/etag.xml")]);
    // The fixture's items are from October 2026: a day of retention leaves none.
    config.privacy.retention = std::time::Duration::from_secs(24 * 3600);
    let harness = Harness::start(&config);
    let source = webcare::sources::build(&config.sources[0]).unwrap();
    let mut checkpoint = SourceCheckpoint::default();
    let report = harness
        .poller
        .poll_once(source.as_ref(), &mut checkpoint)
        .await
        .unwrap();
    assert_eq!(
        (
            report.items_seen,
            report.too_old,
            report.kept,
            report.dropped
        ),
        (5, 5, 0, 0)
    );
    assert_eq!(harness.index.num_mentions(), 0);
    assert_eq!(checkpoint.position["etag"], "\"v1\"");
    assert_eq!(checkpoint.items_seen, 5);
    assert_eq!(harness.index.checkpoints().unwrap()["etag"], checkpoint);
    harness.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_n_requests_per_host_and_the_user_agent_names_a_contact() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        ("s1", "/slow/1"),
        ("s2", "/slow/2"),
        ("s3", "/slow/3"),
        ("s4", "/slow/4"),
    ];
    let toml = fixtures::config_toml_with(dir.path(), &server, &sources, 1);
    let config = webcare::Config::from_toml(std::path::Path::new("t.toml"), &toml).unwrap();
    let daemon = webcare::daemon::start(&config).await.unwrap();
    fixtures::until_all_polled(&daemon).await;
    daemon.shutdown().await.unwrap();
    // Four sources on one host, all due at once, one slot: never two requests at a time.
    assert_eq!(server.log.max_in_flight.load(SeqCst), 1);
    let agents = server.log.user_agents.lock().unwrap().clone();
    assert_eq!(agents.len(), 4);
    assert!(
        agents
            .iter()
            .all(|ua| ua == "webcare-test (contact: test@example.org)"),
        "{agents:?}"
    );
}

/// Feeds on four hosts that all redirect to one: the limit is that host's, where the
/// requests land, not the configured hosts' (before, each redirect took a slot of the
/// host it left, and four requests reached the one host at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_count_against_the_host_they_land_on() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = [
        ("r1", "/slow/1"),
        ("r2", "/slow/2"),
        ("r3", "/slow/3"),
        ("r4", "/slow/4"),
    ];
    let mut toml = fixtures::config_toml_with(dir.path(), &server, &sources, 1);
    for (_, path) in sources {
        let proxy = fixtures::redirector(server.url(path)).await;
        toml = toml.replace(&server.url(path), &format!("http://{proxy}/feed"));
    }
    let config = webcare::Config::from_toml(std::path::Path::new("t.toml"), &toml).unwrap();
    let daemon = webcare::daemon::start(&config).await.unwrap();
    fixtures::until_all_polled(&daemon).await;
    daemon.shutdown().await.unwrap();
    assert_eq!(server.log.user_agents.lock().unwrap().len(), 4);
    assert_eq!(server.log.max_in_flight.load(SeqCst), 1);
}

/// A host that asked to wait an hour is not asked again at once by a restarted daemon,
/// neither by the source it told nor by another on the same host; the status says why
/// the source waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_waits_servers_asked_for() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sources = [("told", "/rate-limited"), ("sibling", "/etag.xml")];
    let toml = fixtures::config_toml(dir.path(), &server, &sources).replace(
        &server.url("/etag.xml"),
        &server.url("/etag.xml").replace("127.0.0.1", "localhost"),
    );
    let config = webcare::Config::from_toml(std::path::Path::new("t.toml"), &toml).unwrap();
    let daemon = webcare::daemon::start(&config).await.unwrap();
    for _ in 0..100 {
        if server.log.rate_limited.load(SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    daemon.shutdown().await.unwrap();
    let (told, sibling) = (
        server.log.rate_limited.load(SeqCst),
        server.log.etag_requests.load(SeqCst),
    );
    assert_eq!(told, 1);

    let daemon = webcare::daemon::start(&config).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let board = daemon.board().snapshot();
    daemon.shutdown().await.unwrap();
    assert_eq!(server.log.rate_limited.load(SeqCst), told);
    assert_eq!(server.log.etag_requests.load(SeqCst), sibling);
    let status = board.iter().find(|s| s.name == "told").unwrap();
    assert_eq!(status.state, "retrying", "{status:?}");
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("server asks to wait 3600 seconds")),
        "{status:?}"
    );
    let next = status.next_poll.unwrap();
    assert!(
        next > chrono::Utc::now() + chrono::Duration::minutes(50),
        "{status:?}"
    );
    let holds = || {
        let state = webcare::state::StateDb::open(dir.path()).unwrap();
        state.source_holds(chrono::Utc::now()).unwrap()
    };
    let kept = holds().remove("told").expect("the source's wait is kept");
    // Until an hour from the 429, not from now nor an hour ago.
    let hour = chrono::Duration::hours(1);
    assert!(
        kept.until > chrono::Utc::now() + hour - chrono::Duration::minutes(5)
            && kept.until <= chrono::Utc::now() + hour,
        "{kept:?}"
    );

    // A start without the source forgets its wait.
    let without = webcare::Config::from_toml(
        std::path::Path::new("t.toml"),
        &fixtures::config_toml(dir.path(), &server, &[("other", "/rss2.xml")]),
    )
    .unwrap();
    let daemon = webcare::daemon::start(&without).await.unwrap();
    daemon.shutdown().await.unwrap();
    assert!(!holds().contains_key("told"), "{:?}", holds().keys());

    // The address corrected in the config: the source's wait was for the old one, and
    // the new one (on another host) is asked at once.
    let corrected = toml.replace(
        &server
            .url("/rate-limited")
            .replace("127.0.0.1", "localhost"),
        &server.url("/rss2.xml"),
    );
    assert_ne!(corrected, toml);
    let config = webcare::Config::from_toml(std::path::Path::new("t.toml"), &corrected).unwrap();
    let daemon = webcare::daemon::start(&config).await.unwrap();
    let mut polled = None;
    for _ in 0..100 {
        let board = daemon.board().snapshot();
        polled = board
            .into_iter()
            .find(|s| s.name == "told" && s.last_poll.is_some());
        if polled.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    daemon.shutdown().await.unwrap();
    let status = polled.expect("the corrected source was polled at once");
    assert_eq!(status.state, "ok", "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_responses_are_decoded() {
    let server = fixtures::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = fixtures::config(dir.path(), &server, &[("gzip", "/gzip.xml")]);
    let harness = Harness::start(&config);
    let poller = &harness.poller;
    let source = webcare::sources::build(&config.sources[0]).unwrap();
    let report = poller
        .poll_once(source.as_ref(), &mut SourceCheckpoint::default())
        .await
        .unwrap();
    assert_eq!((report.items_seen, report.kept), (6, 3));
    let accepted = server.log.accept_encodings.lock().unwrap().clone();
    assert!(
        accepted[0].contains("gzip") && accepted[0].contains("br"),
        "{accepted:?}"
    );
    harness.finish().await;
}

/// A source `told` at `path` and, on the same host as it, a feed polled every two
/// seconds (`same-host`), polling; with the status of each by name.
struct TwoOnOneHost {
    board: webcare::poll::StatusBoard,
    cancel: tokio_util::sync::CancellationToken,
    _tasks: tokio::task::JoinSet<()>,
    _harness: Harness,
    _dir: tempfile::TempDir,
}

impl TwoOnOneHost {
    async fn start(server: &fixtures::FixtureServer, path: &str) -> TwoOnOneHost {
        TwoOnOneHost::with_others(server, path, &["same-host"], 4).await
    }

    /// `path` as the source "told", and sources named `others` on its host, each due
    /// two seconds after the start, at most `max_per_host` requests to it at once.
    async fn with_others(
        server: &fixtures::FixtureServer,
        path: &str,
        others: &[&str],
        max_per_host: usize,
    ) -> TwoOnOneHost {
        let dir = tempfile::tempdir().unwrap();
        let mut toml =
            fixtures::config_toml_with(dir.path(), server, &[("told", path)], max_per_host);
        // The config gives the 429 fixture a host name of its own: the others follow it.
        let host = if path == "/rate-limited" {
            "localhost"
        } else {
            "127.0.0.1"
        };
        for (n, name) in others.iter().enumerate() {
            toml.push_str(&format!(
                "[[sources]]\nname = {name:?}\nkind = \"feed\"\nurl = {:?}\ninterval = \"2s\"\n",
                server
                    .url(&format!("/rss2.xml?n={n}"))
                    .replace("127.0.0.1", host)
            ));
        }
        let config = webcare::Config::from_toml(std::path::Path::new("test.toml"), &toml).unwrap();
        let harness = Harness::start(&config);
        let cancel = tokio_util::sync::CancellationToken::new();
        let tasks = webcare::poll::spawn_sources(
            harness.poller.clone(),
            &config.sources,
            &Default::default(),
            &cancel,
        )
        .unwrap();
        TwoOnOneHost {
            board: harness.board.clone(),
            cancel,
            _tasks: tasks,
            _harness: harness,
            _dir: dir,
        }
    }

    fn status(&self, name: &str) -> webcare::poll::SourceStatus {
        self.board
            .snapshot()
            .into_iter()
            .find(|s| s.name == name)
            .unwrap()
    }
}

/// A feed that is unavailable for an hour (503 with `Retry-After`) waits that hour; the
/// other feeds of its host are not held with it, as they are after a 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_unavailable_feed_does_not_hold_the_others_on_its_host() {
    let server = fixtures::start().await;
    let two = TwoOnOneHost::start(&server, "/maintenance").await;
    let hour_away = || chrono::Utc::now() + chrono::Duration::minutes(50);
    // Bounded: "same-host" is polled at once and again two seconds later.
    let mut first_success = None;
    for _ in 0..200 {
        let (down, other) = (two.status("told"), two.status("same-host"));
        let down_waits =
            down.state == "retrying" && down.next_poll.is_some_and(|t| t > hour_away());
        first_success = first_success.or(other.last_success);
        let polled_again = other.last_success > first_success && other.state == "ok";
        if down_waits && polled_again {
            assert!(
                other.next_poll.is_some_and(|t| t < hour_away()),
                "{other:?}"
            );
            two.cancel.cancel();
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    two.cancel.cancel();
    panic!(
        "told: {:?}; same-host: {:?}",
        two.status("told"),
        two.status("same-host")
    );
}

/// A post erased while it was in a feed is not stored again when the feed is read
/// afresh (it left and came back), and the source's counts say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_post_read_again_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, harness, source) = on_rss2(dir.path()).await;
    let mut checkpoint = SourceCheckpoint::default();
    let first = harness
        .poller
        .poll_once(source.as_ref(), &mut checkpoint)
        .await
        .unwrap();
    assert_eq!((first.kept, first.erased_before), (3, 0));
    let url = "https://nieuws.example.nl/binnenland/tolk-verkeerd-dialect-nader-gehoor";
    let erased = harness
        .writer_handle
        .erase(webcare::search::Erasure::Url(url.into()))
        .await
        .unwrap();
    assert_eq!(erased, 1);
    // Read afresh, as if every item had left the feed and come back.
    let mut afresh = SourceCheckpoint {
        items_kept: checkpoint.items_kept,
        ..SourceCheckpoint::default()
    };
    let again = harness
        .poller
        .poll_once(source.as_ref(), &mut afresh)
        .await
        .unwrap();
    assert_eq!((again.kept, again.erased_before), (2, 1));
    assert_eq!(afresh.items_kept, 3 + 2);
    assert_eq!(harness.index.num_mentions(), 2);
    harness.finish().await;
}

/// A source whose host asked another source to wait shows when it will really be
/// polled, not a time that has passed while it waits for the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_asked_to_wait_moves_the_next_poll_of_its_other_sources() {
    // One request to the host at a time: the second source waits out the hold in the
    // host's slot, the third queued for the slot behind it; both say when they will go.
    let server = fixtures::start().await;
    let two = TwoOnOneHost::with_others(&server, "/rate-limited", &["in-slot", "queued"], 1).await;
    let status = |name: &str| two.status(name);
    let cancel = two.cancel.clone();
    let hour_away = || chrono::Utc::now() + chrono::Duration::minutes(50);
    let moved = |name: &str| status(name).next_poll.is_some_and(|t| t > hour_away());
    // Bounded: the 429 comes at once, the others are due two seconds later (with time
    // to spare on a busy machine).
    for _ in 0..600 {
        if status("told").state == "retrying" && moved("in-slot") && moved("queued") {
            cancel.cancel();
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    cancel.cancel();
    panic!(
        "told: {:?}; next polls {:?} and {:?} (the host holds requests for an hour)",
        status("told").state,
        status("in-slot").next_poll,
        status("queued").next_poll
    );
}
