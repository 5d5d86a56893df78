//! `webcare run --demo`: the real daemon on a bundled sample of feeds, served from a
//! local HTTP server, so a newcomer without internet sees mentions arrive and can search
//! them within a minute. The feeds are invented (see `src/demo/feeds/README.md`).

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::config::{Config, SourceConfig};

/// The bundled feeds: (file name, content type, bytes, language hint).
const FEEDS: &[(&str, &str, &[u8])] = &[
    (
        "nieuws-binnenland.xml",
        "application/rss+xml",
        include_bytes!("demo/feeds/nieuws-binnenland.xml"),
    ),
    (
        "regio-noord.xml",
        "application/atom+xml",
        include_bytes!("demo/feeds/regio-noord.xml"),
    ),
    (
        "refugee-voices.json",
        "application/feed+json",
        include_bytes!("demo/feeds/refugee-voices.json"),
    ),
    (
        "forum-digest.xml",
        "application/rss+xml",
        include_bytes!("demo/feeds/forum-digest.xml"),
    ),
];
/// Demo sources poll often, so conditional GET (304) shows in the status too.
const DEMO_INTERVAL: Duration = Duration::from_secs(30);

/// The bundled feeds as served: their dates moved by whole days so that the newest
/// falls on the day the demo starts, however long after the sample was written. The
/// demo then shows this week's mentions and trends, and retention (which erases what is
/// older than its period, counted from today) keeps them.
struct Served {
    feeds: Vec<ServedFeed>,
}

struct ServedFeed {
    name: &'static str,
    content_type: &'static str,
    body: axum::body::Bytes,
    etag: String,
}

/// Serves the bundled feeds on 127.0.0.1 (ephemeral port) with ETags; returns the address.
pub async fn serve_feeds() -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let days = days_behind(chrono::Utc::now());
    let served = Arc::new(Served {
        feeds: FEEDS
            .iter()
            .map(|(name, content_type, bytes)| {
                let body = shift_dates(bytes, days);
                ServedFeed {
                    name,
                    content_type,
                    etag: format!("\"{}\"", &blake3::hash(&body).to_hex()[..16]),
                    body: body.into(),
                }
            })
            .collect(),
    });
    let app = Router::new()
        .route("/feeds/{name}", get(feed))
        .with_state(served);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "demo feed server stopped");
        }
    });
    Ok(addr)
}

/// RFC 3339 (Atom, JSON Feed) and RFC 2822 (RSS) dates in the bundled feeds.
static DATES: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}",
    )
    .expect("the date pattern compiles")
});

/// Whole days from the newest date of the bundled feeds to `now` (none when the sample
/// is newer).
fn days_behind(now: chrono::DateTime<chrono::Utc>) -> i64 {
    let newest = FEEDS
        .iter()
        .flat_map(|(_, _, bytes)| {
            let text = String::from_utf8_lossy(bytes);
            DATES
                .find_iter(&text)
                .filter_map(|m| parse_date(m.as_str()))
                .map(|d| d.to_utc())
                .collect::<Vec<_>>()
        })
        .max();
    newest.map_or(0, |newest| (now - newest).num_days().max(0))
}

fn parse_date(text: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_rfc2822(text))
        .ok()
}

/// `bytes` with every date moved `days` later, in the format it was written in.
fn shift_dates(bytes: &[u8], days: i64) -> Vec<u8> {
    if days == 0 {
        return bytes.to_vec();
    }
    let text = String::from_utf8_lossy(bytes);
    DATES
        .replace_all(&text, |c: &regex::Captures| {
            let found = &c[0];
            let Some(date) = parse_date(found) else {
                return found.to_string();
            };
            let moved = date + chrono::Duration::days(days);
            if found.ends_with('Z') {
                moved
                    .to_utc()
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            } else if found.contains('T') {
                moved.to_rfc3339()
            } else {
                moved.to_rfc2822()
            }
        })
        .into_owned()
        .into_bytes()
}

async fn feed(
    State(served): State<Arc<Served>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(feed) = served.feeds.iter().find(|f| f.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = feed.etag.clone();
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, feed.content_type.to_string()),
            (header::ETAG, etag),
        ],
        feed.body.clone(),
    )
        .into_response()
}

/// The bundled feeds that are about the procedure's world throughout (a volunteers'
/// blog of first-person experiences): sources marked `topical`.
const TOPICAL_FEEDS: &[&str] = &["refugee-voices.json"];

/// `config` turned into the demo: the bundled feeds as its only sources, and its own
/// data directory (`<data_dir>/demo`) so demo mentions never mix with real ones. Nothing
/// of the real installation is touched: the demo has its own users, pseudonym key and
/// export directory, and sends no mail (its reports and alerts would reach the real
/// recipients, and its export would count as the real week's).
pub fn demo_config(mut config: Config, feeds: SocketAddr) -> Config {
    use_demo_files(&mut config);
    config.export.mail_to.clear();
    config.mail.smtp = None;
    config.poll.jitter = 0.0;
    config.sources = FEEDS
        .iter()
        .filter_map(|(name, _, _)| {
            let url = url::Url::parse(&format!("http://{feeds}/feeds/{name}")).ok()?;
            Some(SourceConfig {
                name: source_name(name),
                kind: "feed".to_string(),
                url,
                interval: DEMO_INTERVAL,
                lang: None,
                enabled: true,
                rate_limit: std::time::Duration::ZERO,
                topical: TOPICAL_FEEDS.contains(name),
                platform: Default::default(),
            })
        })
        .collect();
    config.pipeline.topical_sources = crate::config::topical_sources(&config.sources);
    config
}

/// The names of the demo's sources, as `demo_config` gives them: what `search --demo`
/// knows, where the installation's config names its own.
pub fn source_names() -> Vec<String> {
    FEEDS.iter().map(|(file, _, _)| source_name(file)).collect()
}

/// The source of a bundled feed: `demo-` and the file's name without its extension.
fn source_name(file: &str) -> String {
    format!("demo-{}", file.split('.').next().unwrap_or(file))
}

/// Points `config` at the demo's own files, inside the real data directory
/// (`<data_dir>/demo`): its index, state and audit trail, users, pseudonym key and
/// exports. For `run --demo` and `search --demo` alike.
pub fn use_demo_files(config: &mut Config) {
    config.storage.data_dir = config.storage.data_dir.join("demo");
    let dir = &config.storage.data_dir;
    config.access.users_file = dir.join("users.toml");
    // Its own key, also where WEBCARE_PSEUDONYM_KEY is set for the installation.
    if let crate::pipeline::pseudonym::KeySource::File { .. } = config.pipeline.pseudonym_key {
        config.pipeline.pseudonym_key = crate::pipeline::pseudonym::KeySource::OwnFile {
            path: dir.join("pseudonym.key"),
            data_dir: dir.clone(),
        };
    }
    config.export.out_dir = dir.join("exports");
}

/// Credentials for trying the demo: a `demo` admin with a fresh random password and a
/// fresh API token on every start, which end the ones printed before (a password only
/// shown at the first start would be lost with that terminal; the demo's file does not
/// fill up with a week-long admin token per start). Only in the demo's own users file.
pub fn demo_credentials(config: &Config) -> Result<DemoCredentials, crate::access::AccessError> {
    let path = &config.access.users_file;
    let (password, token) = crate::access::Users::change_file(path, |users| {
        let password = crate::access::random_hex(12);
        users.set_user(DEMO_USER, crate::access::Role::Admin, &password)?;
        // Only its own: other users of the demo keep theirs.
        users.revoke_tokens(DEMO_USER)?;
        let now = chrono::Utc::now();
        let (token, _) =
            users.add_token(DEMO_USER, Some(DEMO_TOKEN_LIFETIME), Some("demo"), now)?;
        Ok((password, token))
    })?;
    Ok(DemoCredentials {
        user: DEMO_USER,
        password,
        token,
    })
}

const DEMO_USER: &str = "demo";
const DEMO_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// What [`demo_credentials`] made.
pub struct DemoCredentials {
    pub user: &'static str,
    /// New at every start (it is stored hashed).
    pub password: String,
    pub token: String,
}

/// The demo's index is disposable: one written by another webcare version is removed,
/// so that `run --demo` always starts. Returns whether it was. Not while that version's
/// daemon still runs on it (it holds the index writer's lock): that is
/// [`IndexError::Locked`], and the running demo keeps its index.
///
/// [`IndexError::Locked`]: crate::search::IndexError::Locked
pub fn reset_if_incompatible(
    data_dir: &std::path::Path,
) -> Result<bool, crate::search::IndexError> {
    use tantivy::directory::{Directory, MmapDirectory, INDEX_WRITER_LOCK};
    let path = match crate::search::MentionIndex::open(data_dir) {
        Err(
            crate::search::IndexError::SchemaVersion { path, .. }
            | crate::search::IndexError::SchemaNewer { path, .. },
        ) => path,
        _ => return Ok(false),
    };
    let Ok(dir) = MmapDirectory::open(&path) else {
        // Not to be had: the daemon's start says what is wrong with it.
        return Ok(false);
    };
    // Held while the directory goes: no daemon can take it meanwhile.
    let _lock = dir.acquire_lock(&INDEX_WRITER_LOCK).map_err(|e| {
        crate::search::lock_failure(&path, tantivy::TantivyError::LockFailure(e, None))
    })?;
    tracing::warn!(path = %path.display(), "the demo index is from another webcare version; starting it afresh");
    Ok(std::fs::remove_dir_all(&path).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_demo_index_is_kept_while_its_daemon_runs_and_replaced_after() {
        let dir = tempfile::tempdir().unwrap();
        drop(crate::search::MentionIndex::open(dir.path()).unwrap());
        let path = dir.path().join(crate::search::INDEX_DIR);
        let index = tantivy::Index::open_in_dir(&path).unwrap();
        // An index another webcare version wrote, whose daemon holds its writer.
        let mut running: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        let mut prepared = running.prepare_commit().unwrap();
        prepared.set_payload(r#"{"schema_version": 99, "sources": {}}"#);
        prepared.commit().unwrap();
        let refused = reset_if_incompatible(dir.path()).unwrap_err().to_string();
        assert!(
            refused.contains("in use by another webcare process"),
            "{refused}"
        );
        assert!(
            path.join("meta.json").exists(),
            "the running demo's index stays"
        );
        // Once it has stopped, the demo starts afresh.
        drop(running);
        assert!(reset_if_incompatible(dir.path()).unwrap());
        assert!(!path.exists());
        crate::search::MentionIndex::open(dir.path()).unwrap();
    }

    fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn dates_move_by_whole_days_in_the_format_they_were_written_in() {
        let feed = br#"<pubDate>Fri, 27 Nov 2026 09:30:00 +0100</pubDate> "date_published": "2026-11-01T10:00:00+01:00" <updated>2026-11-27T11:30:00Z</updated> 2026-11-27 stays"#;
        let moved = String::from_utf8(shift_dates(feed, 3)).unwrap();
        assert_eq!(
            moved,
            r#"<pubDate>Mon, 30 Nov 2026 09:30:00 +0100</pubDate> "date_published": "2026-11-04T10:00:00+01:00" <updated>2026-11-30T11:30:00Z</updated> 2026-11-27 stays"#
        );
        assert_eq!(shift_dates(feed, 0), feed.to_vec());
    }

    #[test]
    fn the_newest_bundled_item_falls_on_the_day_the_demo_starts() {
        // Long after the sample was written, and before its newest date.
        for now in [at("2029-03-14T12:00:00Z"), at("2026-11-02T12:00:00Z")] {
            let days = days_behind(now);
            let newest = FEEDS
                .iter()
                .flat_map(|(name, _, bytes)| {
                    let feed = feed_rs::parser::parse(&shift_dates(bytes, days)[..])
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    feed.entries
                        .into_iter()
                        .filter_map(|e| e.published.or(e.updated))
                })
                .max()
                .unwrap();
            if days > 0 {
                assert!(
                    newest <= now && now - newest < chrono::Duration::days(1),
                    "{newest} for {now}"
                );
            } else {
                assert!(newest > now, "not moved back: {newest}");
            }
        }
    }
}
