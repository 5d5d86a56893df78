//! `webcare run --demo`: the real daemon on a bundled sample of feeds, served from a
//! local HTTP server, so a newcomer without internet sees mentions arrive and can search
//! them within a minute. The feeds are invented (see `src/demo/feeds/README.md`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Path;
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

/// Serves the bundled feeds on 127.0.0.1 (ephemeral port) with ETags; returns the address.
pub async fn serve_feeds() -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/feeds/{name}", get(feed));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "demo feed server stopped");
        }
    });
    Ok(addr)
}

async fn feed(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, content_type, bytes)) = FEEDS.iter().find(|(n, _, _)| *n == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{}\"", &blake3::hash(bytes).to_hex()[..16]);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::ETAG, etag),
        ],
        *bytes,
    )
        .into_response()
}

/// The bundled feeds that are about the procedure's world throughout (a volunteers'
/// blog of first-person experiences): sources marked `topical`.
const TOPICAL_FEEDS: &[&str] = &["refugee-voices.json"];

/// `config` turned into the demo: the bundled feeds as its only sources, and its own
/// data directory (`<data_dir>/demo`) so demo mentions never mix with real ones.
pub fn demo_config(mut config: Config, feeds: SocketAddr) -> Config {
    config.storage.data_dir = config.storage.data_dir.join("demo");
    config.access.users_file = config.storage.data_dir.join("users.toml");
    config.poll.jitter = 0.0;
    config.sources = FEEDS
        .iter()
        .filter_map(|(name, _, _)| {
            let url = url::Url::parse(&format!("http://{feeds}/feeds/{name}")).ok()?;
            Some(SourceConfig {
                name: format!("demo-{}", name.split('.').next().unwrap_or(name)),
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

/// Credentials for trying the demo: a `demo` admin (created once, with a random password
/// shown then) and a fresh API token on every start. Only in the demo's own users file.
pub fn demo_credentials(config: &Config) -> Result<DemoCredentials, crate::access::AccessError> {
    let path = &config.access.users_file;
    let mut users = crate::access::Users::load(path)?;
    let password = if users.get(DEMO_USER).is_none() {
        let password = crate::access::random_hex(12);
        users.set_user(DEMO_USER, crate::access::Role::Admin, &password)?;
        Some(password)
    } else {
        None
    };
    let token = users.add_token(DEMO_USER)?;
    users.save(path)?;
    Ok(DemoCredentials {
        user: DEMO_USER,
        password,
        token,
    })
}

const DEMO_USER: &str = "demo";

/// What [`demo_credentials`] made.
pub struct DemoCredentials {
    pub user: &'static str,
    /// Only on the first start (it is stored hashed).
    pub password: Option<String>,
    pub token: String,
}

/// The demo's index is disposable: one written by another webcare version is removed,
/// so that `run --demo` always starts. Returns whether it was.
pub fn reset_if_incompatible(data_dir: &std::path::Path) -> bool {
    match crate::search::MentionIndex::open(data_dir) {
        Err(crate::search::IndexError::SchemaVersion { path, .. }) => {
            tracing::warn!(path = %path.display(), "the demo index is from another webcare version; starting it afresh");
            std::fs::remove_dir_all(&path).is_ok()
        }
        _ => false,
    }
}
