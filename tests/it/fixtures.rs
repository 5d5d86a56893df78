//! A real HTTP server serving the fixture feeds and misbehaving endpoints, and helpers
//! to configure a daemon against it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/fixtures/feeds").join(name)).expect("fixture feed exists")
}

/// What the fixture server saw, for assertions on behaviour rather than timing.
#[derive(Default)]
pub struct Log {
    pub etag_requests: AtomicUsize,
    pub etag_not_modified: AtomicUsize,
    pub rate_limited: AtomicUsize,
    /// Requests to `/slow/*` being served right now, and the most ever at once.
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    /// User-Agent and Accept-Encoding of every `/slow/*` and `/gzip.xml` request.
    pub user_agents: std::sync::Mutex<Vec<String>>,
    pub accept_encodings: std::sync::Mutex<Vec<String>>,
    /// Seconds `/clock.xml` puts its `Date` header off the true time.
    pub clock_offset: std::sync::atomic::AtomicI64,
}

pub struct FixtureServer {
    pub addr: SocketAddr,
    pub log: Arc<Log>,
}

impl FixtureServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A feed with a payload that must come back escaped, and a relevant item.
pub const XSS_FEED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>xss</title>
<item><guid>xss-1</guid><title>Asielzoekers in Ter Apel schrijven &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;</title>
<link>javascript:alert(1)</link>
<description>Bericht over asielzoekers: &amp;lt;img src=x onerror=alert(1)&amp;gt; stond in de tekst.</description>
<pubDate>Mon, 23 Nov 2026 10:00:00 +0100</pubDate></item>
</channel></rss>"#;

pub async fn start() -> FixtureServer {
    let log = Arc::new(Log::default());
    let app = Router::new()
        .route(
            "/rss2.xml",
            get(|| async { xml(fixture("rss2.xml"), "application/rss+xml") }),
        )
        .route(
            "/rss1.rdf",
            get(|| async { xml(fixture("rss1.rdf"), "application/rdf+xml") }),
        )
        .route(
            "/atom.xml",
            get(|| async { xml(fixture("atom.xml"), "application/atom+xml") }),
        )
        .route(
            "/feed.json",
            get(|| async { xml(fixture("feed.json"), "application/feed+json") }),
        )
        .route(
            "/windows-1252.xml",
            get(|| async { xml(fixture("windows-1252.xml"), "text/xml") }),
        )
        .route("/header-charset.xml", get(header_charset))
        .route(
            "/malformed.xml",
            get(|| async { xml(fixture("malformed.xml"), "application/rss+xml") }),
        )
        .route(
            "/xss.xml",
            get(|| async { xml(XSS_FEED.as_bytes().to_vec(), "application/rss+xml") }),
        )
        .route("/etag.xml", get(etag))
        .route("/endless", get(endless))
        .route("/stall", get(stall))
        .route("/rate-limited", get(rate_limited))
        // One feed of a site down for maintenance, for an hour.
        .route(
            "/maintenance",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "3600")],
                )
            }),
        )
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]) }),
        )
        .route("/gone", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        // A server (or a cache before it) that answers every request with 304.
        .route("/always-304", get(|| async { StatusCode::NOT_MODIFIED }))
        .route("/slow/{n}", get(slow))
        .route("/gzip.xml", get(gzipped))
        .route("/clock.xml", get(clock))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FixtureServer { addr, log }
}

fn xml(bytes: Vec<u8>, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

/// The windows-1252 fixture with its prolog's encoding removed: only the HTTP header
/// says what it is.
async fn header_charset() -> Response {
    let bytes = fixture("windows-1252.xml");
    let text = String::from_utf8_lossy(&bytes);
    let end = text.find("?>").unwrap() + 2;
    let mut body = br#"<?xml version="1.0"?>"#.to_vec();
    body.extend_from_slice(&bytes[end..]);
    xml(body, "application/rss+xml; charset=windows-1252")
}

async fn etag(State(log): State<Arc<Log>>, headers: HeaderMap) -> Response {
    log.etag_requests.fetch_add(1, Ordering::SeqCst);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some("\"v1\"")
    {
        log.etag_not_modified.fetch_add(1, Ordering::SeqCst);
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml"),
            (header::ETAG, "\"v1\""),
        ],
        fixture("rss1.rdf"),
    )
        .into_response()
}

/// A body that never ends: the size cap must stop it.
async fn endless() -> Response {
    let chunk = axum::body::Bytes::from(vec![b'x'; 16 * 1024]);
    let stream = futures_stream(chunk);
    (
        [(header::CONTENT_TYPE, "application/rss+xml")],
        Body::from_stream(stream),
    )
        .into_response()
}

fn futures_stream(
    chunk: axum::body::Bytes,
) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::io::Error>> {
    futures_util::stream::iter(std::iter::repeat(chunk).map(Ok))
}

/// Sends headers, then nothing: the timeout must stop it.
async fn stall() -> Response {
    let stream = futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
    (
        [(header::CONTENT_TYPE, "application/rss+xml")],
        Body::from_stream(stream),
    )
        .into_response()
}

fn header_of(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A server of its own (another host, as far as limits per host go) that redirects every
/// request to `to`, as a feed proxy or a short domain does.
pub async fn redirector(to: String) -> SocketAddr {
    let app = Router::new().fallback(move || {
        let to = to.clone();
        async move { (StatusCode::FOUND, [(header::LOCATION, to)]) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Serves a feed slowly while counting how many such requests are in flight at once.
async fn slow(State(log): State<Arc<Log>>, headers: HeaderMap) -> Response {
    log.user_agents
        .lock()
        .unwrap()
        .push(header_of(&headers, header::USER_AGENT));
    let now = log.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    log.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    log.in_flight.fetch_sub(1, Ordering::SeqCst);
    xml(fixture("atom.xml"), "application/atom+xml")
}

/// The RSS 2.0 fixture gzip-compressed, as servers send it to clients that accept it.
async fn gzipped(State(log): State<Arc<Log>>, headers: HeaderMap) -> Response {
    use std::io::Write;
    let accepts = header_of(&headers, header::ACCEPT_ENCODING);
    log.accept_encodings.lock().unwrap().push(accepts.clone());
    if !accepts.contains("gzip") {
        return xml(fixture("rss2.xml"), "application/rss+xml");
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&fixture("rss2.xml")).unwrap();
    let body = encoder.finish().unwrap();
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml"),
            (header::CONTENT_ENCODING, "gzip"),
        ],
        body,
    )
        .into_response()
}

/// The RSS 2.0 fixture from a server whose clock is `clock_offset` seconds off.
async fn clock(State(log): State<Arc<Log>>) -> Response {
    let offset = log.clock_offset.load(Ordering::SeqCst);
    let now = std::time::SystemTime::now();
    let shifted = if offset >= 0 {
        now + std::time::Duration::from_secs(offset.unsigned_abs())
    } else {
        now - std::time::Duration::from_secs(offset.unsigned_abs())
    };
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml".to_string()),
            (header::DATE, httpdate::fmt_http_date(shifted)),
        ],
        fixture("rss2.xml"),
    )
        .into_response()
}

async fn rate_limited(State(log): State<Arc<Log>>) -> Response {
    log.rate_limited.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, "3600")],
    )
        .into_response()
}

/// A daemon config (TOML) for `sources` (name, path on the fixture server).
pub fn config_toml(data_dir: &Path, server: &FixtureServer, sources: &[(&str, &str)]) -> String {
    config_toml_with(data_dir, server, sources, 4)
}

pub fn config_toml_with(
    data_dir: &Path,
    server: &FixtureServer,
    sources: &[(&str, &str)],
    max_per_host: usize,
) -> String {
    let users_file = write_users(data_dir);
    let mut toml = format!(
        r#"[storage]
data_dir = {data_dir:?}
commit_interval = "200ms"
[access]
users_file = {users_file:?}
[http]
listen = "127.0.0.1:0"
[poll]
user_agent = "webcare-test (contact: test@example.org)"
timeout = "2s"
max_body_bytes = 262144
max_per_host = {max_per_host}
jitter = 0.0
# The fixtures' items carry fixed dates: kept whatever today's date is.
[privacy]
retention = "36500d"
[pipeline]
topics_dir = {topics:?}
"#,
        data_dir = data_dir.display().to_string(),
        topics = repo().join("config/topics").display().to_string(),
        users_file = users_file.display().to_string(),
    );
    for (name, path) in sources {
        let mut url = server.url(path);
        if *path == "/rate-limited" {
            // A 429 holds back every source on its host (as it should): this one gets a
            // host name of its own, so that it does not hold back the other fixtures.
            url = url.replace("127.0.0.1", "localhost");
        }
        toml.push_str(&format!(
            "[[sources]]\nname = {name:?}\nkind = \"feed\"\nurl = {url:?}\ninterval = \"1h\"\n"
        ));
    }
    toml
}

pub fn config(
    data_dir: &Path,
    server: &FixtureServer,
    sources: &[(&str, &str)],
) -> webcare::Config {
    webcare::Config::from_toml(
        Path::new("test.toml"),
        &config_toml(data_dir, server, sources),
    )
    .expect("test config is valid")
}

/// Waits until every source has been polled at least once (bounded; not a timing assertion).
pub async fn until_all_polled(daemon: &webcare::daemon::Daemon) {
    for _ in 0..300 {
        let board = daemon.board().snapshot();
        if !board.is_empty() && board.iter().all(|s| s.last_poll.is_some()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "sources were not all polled: {:#?}",
        daemon.board().snapshot()
    );
}

/// API tokens of the test users (tests only: the users file holds their hashes).
pub const ADMIN_TOKEN: &str = "wct_test_admin_0123456789abcdef0123456789abcdef";
pub const VIEWER_TOKEN: &str = "wct_test_viewer_0123456789abcdef0123456789abcdef";
/// The viewer's password, for login tests.
pub const VIEWER_PASSWORD: &str = "viewer password for tests";

/// Writes a users file with an admin (`ann`) and a viewer (`vic`) under `dir`.
pub fn write_users(dir: &Path) -> PathBuf {
    use webcare::access::{hash_password, sha256_hex};
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("users.toml");
    let text = format!(
        "[[user]]\nname = \"ann\"\nrole = \"admin\"\ntokens = [{:?}]\n\n[[user]]\nname = \"vic\"\nrole = \"viewer\"\npassword_hash = {:?}\ntokens = [{:?}]\n",
        sha256_hex(ADMIN_TOKEN),
        hash_password(VIEWER_PASSWORD),
        sha256_hex(VIEWER_TOKEN),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `POST /api/login` with a user name and password, as the sign-in form sends them.
pub async fn login(addr: SocketAddr, user: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("http://{addr}/api/login"))
        .json(&serde_json::json!({ "user": user, "password": password }))
        .send()
        .await
        .unwrap()
}

/// GET as the admin user, expecting JSON.
pub async fn get_json(addr: SocketAddr, path_and_query: &str) -> (u16, serde_json::Value) {
    get_json_as(addr, path_and_query, Some(ADMIN_TOKEN)).await
}

/// GET with the given bearer token (or none), expecting JSON.
pub async fn get_json_as(
    addr: SocketAddr,
    path_and_query: &str,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path_and_query}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    // Every answer: no cache keeps it, no browser runs or sniffs it.
    let header = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        header(header::CACHE_CONTROL),
        "no-store",
        "{path_and_query}"
    );
    assert_eq!(header(header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert!(header(header::CONTENT_SECURITY_POLICY).starts_with("default-src 'none'"));
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap(),
    )
}
