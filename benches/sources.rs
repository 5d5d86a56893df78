//! Many quiet sources: the daemon's CPU share and memory while it polls 10,000
//! configured sources (feeds and the five platform kinds) on a 5-minute cycle against a
//! local server that answers 304 to feeds and empty pages to platforms.
//!
//! Run: `cargo bench --bench sources` (15 minutes; WEBCARE_BENCH_SOURCES and
//! WEBCARE_BENCH_MINUTES change the size and the length). The local server runs on its
//! own runtime with threads named `bench-server`; the CPU figure counts every other
//! thread of the process, i.e. the daemon alone. Under `cargo test` a 2-second smoke run.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::extract::Path as UrlPath;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const KINDS: &[&str] = &[
    "feed",
    "feed",
    "feed",
    "feed",
    "feed",
    "mastodon",
    "reddit",
    "bluesky",
    "lemmy",
    "discourse",
];

async fn feed(UrlPath(_n): UrlPath<String>, headers: HeaderMap) -> Response {
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v == "\"v1\"")
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml"),
            (header::ETAG, "\"v1\""),
        ],
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>q</title></channel></rss>",
    )
        .into_response()
}

/// An empty page in each platform's shape.
async fn platform(uri: Uri) -> Response {
    let path = uri.path();
    let body = if path.starts_with("/api/v1/") {
        "[]"
    } else if path.starts_with("/r/") || path.starts_with("/search") {
        r#"{"kind":"Listing","data":{"after":null,"before":null,"children":[]}}"#
    } else if path.starts_with("/xrpc/") {
        r#"{"posts":[]}"#
    } else if path.starts_with("/api/v3/") {
        if path.contains("comment") {
            r#"{"comments":[]}"#
        } else {
            r#"{"posts":[]}"#
        }
    } else if path.starts_with("/posts.json") {
        r#"{"latest_posts":[]}"#
    } else {
        return StatusCode::NOT_FOUND.into_response();
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("bench-server".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("bench-server")
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let app = Router::new()
                    .route("/feed/{n}", get(feed))
                    .fallback(platform);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                axum::serve(listener, app).await.expect("serve");
            });
        })
        .expect("server thread");
    rx.recv().expect("server address")
}

fn config(dir: &Path, server: SocketAddr, sources: usize) -> webcare::Config {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let users = dir.join("users.toml");
    std::fs::write(&users, "").expect("users file");
    let mut toml = format!(
        "[storage]\ndata_dir = {:?}\n[access]\nusers_file = {:?}\n[http]\nlisten = \"127.0.0.1:0\"\n[poll]\nuser_agent = \"webcare-bench (contact: bench@example.org)\"\nmax_per_host = 4\n[alerts]\nenabled = false\n[pipeline]\ntopics_dir = {:?}\n",
        dir.join("data").display().to_string(),
        users.display().to_string(),
        repo.join("config/topics").display().to_string(),
    );
    for i in 0..sources {
        let kind = KINDS[i % KINDS.len()];
        let base = format!("http://{server}");
        let (url, keys) = match kind {
            "feed" => (format!("{base}/feed/{i}"), String::new()),
            "mastodon" => (
                base,
                "tags = [\"asielzoekers\"]\nrate_limit = \"1ms\"\n".into(),
            ),
            "reddit" => (
                base,
                "subreddits = [\"thenetherlands\"]\nrate_limit = \"1ms\"\n".into(),
            ),
            "bluesky" => (
                base,
                "query = \"asielzoekers\"\nrate_limit = \"1ms\"\n".into(),
            ),
            "lemmy" => (
                base,
                "communities = [\"nederland\"]\nrate_limit = \"1ms\"\n".into(),
            ),
            _ => (base, "rate_limit = \"1ms\"\n".into()),
        };
        toml.push_str(&format!(
            "[[sources]]\nname = \"s{i}\"\nkind = \"{kind}\"\nurl = {url:?}\ninterval = \"5m\"\n{keys}"
        ));
    }
    webcare::Config::from_toml(Path::new("bench.toml"), &toml).expect("bench config")
}

/// CPU seconds of every thread but the server's, and resident memory in bytes.
fn usage() -> (f64, u64) {
    let ticks = 100.0; // USER_HZ on Linux
    let mut cpu = 0.0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim() == "bench-server" {
                continue;
            }
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            // Fields after the command name (which may hold spaces) start after ") ".
            let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let (utime, stime) = (
                fields
                    .get(11)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0),
                fields
                    .get(12)
                    .and_then(|v| v.parse::<f64>().ok())
                    .unwrap_or(0.0),
            );
            cpu += (utime + stime) / ticks;
        }
    }
    let rss = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024;
    (cpu, rss)
}

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let env = |key: &str, default: u64| {
        std::env::var(key)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (sources, run) = if smoke {
        (100, Duration::from_secs(2))
    } else {
        (
            env("WEBCARE_BENCH_SOURCES", 10_000) as usize,
            Duration::from_secs(60 * env("WEBCARE_BENCH_MINUTES", 15)),
        )
    };
    let server = start_server();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path(), server, sources);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let daemon = webcare::daemon::start(&config).await.expect("daemon starts");
        // The first minute is the start-up burst (every source once); measure after it.
        let warm_up = if smoke { Duration::from_millis(500) } else { Duration::from_secs(60) };
        tokio::time::sleep(warm_up).await;
        let (cpu0, _) = usage();
        let started = Instant::now();
        let mut rss = Vec::new();
        while started.elapsed() < run {
            tokio::time::sleep(if smoke { Duration::from_millis(250) } else { Duration::from_secs(10) }).await;
            rss.push(usage().1);
        }
        let (cpu1, _) = usage();
        let elapsed = started.elapsed().as_secs_f64();
        let polled = daemon.board().snapshot().iter().filter(|s| s.last_poll.is_some()).count();
        let failing: Vec<String> = daemon
            .board()
            .snapshot()
            .iter()
            .filter(|s| s.last_error.is_some())
            .take(3)
            .map(|s| format!("{}: {}", s.name, s.last_error.clone().unwrap_or_default()))
            .collect();
        rss.sort_unstable();
        let median = rss.get(rss.len() / 2).copied().unwrap_or(0);
        let max = rss.last().copied().unwrap_or(0);
        println!(
            "{sources} sources, {polled} polled, measured {elapsed:.0} s after warm-up: CPU {:.2}% of one core; RSS median {:.1} MB, max {:.1} MB",
            100.0 * (cpu1 - cpu0) / elapsed,
            median as f64 / 1e6,
            max as f64 / 1e6
        );
        if !failing.is_empty() {
            println!("  sources with errors, e.g.: {failing:?}");
        }
        assert!(smoke || polled == sources, "not every source was polled");
        daemon.shutdown().await.expect("clean shutdown");
    });
}
