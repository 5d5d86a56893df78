//! Access control, erasure, retention and the audit trail, against the real daemon.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{json, Value};
use webcare::http::{Access, ROUTES};

use crate::fixtures::{self, get_json, get_json_as, ADMIN_TOKEN, VIEWER_PASSWORD, VIEWER_TOKEN};

const POSTS: &[(&str, &str, &str)] = &[
    (
        "a",
        "@amina_w",
        "Al veertien maanden wacht ik op de IND, mijn asielaanvraag ligt stil. Schandalig.",
    ),
    (
        "b",
        "@amina_w",
        "Nog steeds geen nader gehoor gepland bij de IND. Ik slaap niet meer.",
    ),
    (
        "c",
        "@bert",
        // Entities decode to markup in the stored text, which must come back escaped.
        "De tolk bij mijn gehoor in Ter Apel sprak een ander dialect. &lt;script&gt;alert(1)&lt;/script&gt;",
    ),
];

/// Imports the posts (published `published`) before the daemon starts.
fn import_posts(config: &webcare::Config, published: &str) {
    let report = import_report(config, published);
    assert_eq!(report.indexed, POSTS.len(), "{report:?}");
}

/// What importing the posts (published `published`) did.
fn import_report(config: &webcare::Config, published: &str) -> webcare::import::ImportReport {
    let pipeline = webcare::pipeline::Pipeline::from_config(&config.pipeline).unwrap();
    let index = webcare::search::MentionIndex::open(&config.storage.data_dir).unwrap();
    let lines: Vec<String> = POSTS
        .iter()
        .map(|(id, author, text)| {
            json!({
                "id": id, "author": author, "text": text, "published": published,
                "url": format!("https://forum.example/t/{id}"), "lang": "nl",
            })
            .to_string()
        })
        .collect();
    webcare::import::import(
        "posts.jsonl",
        lines.join("\n").as_bytes(),
        &pipeline,
        &index,
        None,
    )
    .unwrap()
}

/// A config whose API sits behind a TLS proxy on this machine (`trusted_proxies`), so
/// that a test names each client's address in `X-Forwarded-For`.
async fn behind_a_proxy(dir: &Path) -> (fixtures::FixtureServer, webcare::Config) {
    let server = fixtures::start().await;
    let mut config = fixtures::config(dir, &server, &[]);
    config.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    (server, config)
}

async fn start(dir: &Path, published: &str) -> (webcare::daemon::Daemon, fixtures::FixtureServer) {
    let server = fixtures::start().await;
    let config = fixtures::config(dir, &server, &[]);
    import_posts(&config, published);
    (webcare::daemon::start(&config).await.unwrap(), server)
}

fn sample_path(path: &str) -> String {
    path.replace("{id}", "0123456789abcdef0123456789abcdef")
}

async fn call(
    addr: std::net::SocketAddr,
    method: &reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> StatusCode {
    let url = format!("http://{addr}{}", sample_path(path));
    let mut request = reqwest::Client::new().request(method.clone(), url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if *method == reqwest::Method::POST {
        request = request.json(&json!({}));
    }
    request.send().await.unwrap().status()
}

/// Every route in the table, with no credential, a forged one, a viewer's and an
/// admin's: a new route cannot be added without this table deciding who may use it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_guarded_as_its_table_entry_says() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, _server) = start(dir.path(), "2026-11-20T10:00:00Z").await;
    let addr = daemon.addr();
    assert!(ROUTES.len() >= 10);
    for (method, path, access) in ROUTES {
        let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
        let anonymous = call(addr, &method, path, None).await;
        let forged = call(addr, &method, path, Some("wct_forged")).await;
        let viewer = call(addr, &method, path, Some(VIEWER_TOKEN)).await;
        let admin = call(addr, &method, path, Some(ADMIN_TOKEN)).await;
        let denied = |s: StatusCode| s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN;
        match access {
            Access::Public => assert!(!denied(anonymous), "{method} {path}: {anonymous}"),
            Access::Viewer => {
                assert_eq!(anonymous, StatusCode::UNAUTHORIZED, "{method} {path}");
                assert_eq!(forged, StatusCode::UNAUTHORIZED, "{method} {path}");
                assert!(!denied(viewer), "{method} {path}: viewer got {viewer}");
                assert!(!denied(admin), "{method} {path}: admin got {admin}");
            }
            Access::Admin => {
                assert_eq!(anonymous, StatusCode::UNAUTHORIZED, "{method} {path}");
                assert_eq!(forged, StatusCode::UNAUTHORIZED, "{method} {path}");
                assert_eq!(viewer, StatusCode::FORBIDDEN, "{method} {path}");
                assert!(!denied(admin), "{method} {path}: admin got {admin}");
            }
        }
    }
    // The answer to a failed credential says nothing that helps an attacker.
    let (status, body) = get_json_as(addr, "/api/search", Some("wct_forged")).await;
    assert_eq!(status, 401);
    assert_eq!(body, json!({ "error": "authentication required" }));
    // ... and is audited.
    let (_, audit) = get_json(addr, "/api/admin/audit?limit=1000").await;
    let entries = audit["entries"].as_array().unwrap();
    let failed: Vec<&str> = entries
        .iter()
        .filter(|e| e["action"] == "auth_failed")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert!(failed.iter().all(|d| d.contains("bearer")), "{failed:?}");
    // Only the first few from one address: each is a row kept for a year, and a client
    // that keeps trying would fill the disk. The last one recorded says so.
    assert_eq!(
        failed.len(),
        webcare::access::MAX_FAILED_LOGINS,
        "{failed:?}"
    );
    assert!(
        failed[0]
            .ends_with("more auth_failed from this address within 15 minutes are not recorded"),
        "{failed:?}"
    );
    assert!(entries
        .iter()
        .any(|e| e["action"] == "forbidden" && e["actor"] == "vic"));
    daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sessions_logout_and_the_brake_on_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, _server) = start(dir.path(), "2026-11-20T10:00:00Z").await;
    let base = format!("http://{}", daemon.addr());
    let client = reqwest::Client::new();
    let login = |user: &str, password: &str| {
        client
            .post(format!("{base}/api/login"))
            .json(&json!({ "user": user, "password": password }))
            .send()
    };
    let ok = login("vic", VIEWER_PASSWORD).await.unwrap();
    assert_eq!(ok.status(), 200);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "not configured: {cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let me = client
        .get(format!("{base}/api/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.json::<Value>().await.unwrap()["role"], "viewer");
    // A forged cookie is refused.
    let forged = client
        .get(format!("{base}/api/me"))
        .header("cookie", "webcare_session=0000")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    // Logout ends a session; with a token there is none to end, and it says so.
    let with_token = client
        .post(format!("{base}/api/logout"))
        .bearer_auth(VIEWER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 400);
    // A method a path does not take: 405, in JSON like every error.
    let wrong = client
        .delete(format!("{base}/api/search"))
        .bearer_auth(VIEWER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 405);
    let wrong: Value = wrong.json().await.unwrap();
    assert!(
        wrong["error"]
            .as_str()
            .unwrap()
            .contains("does not take DELETE"),
        "{wrong}"
    );
    // What layers below the handlers refuse is JSON too: a body over the limit, a path
    // that is not UTF-8.
    let big = client
        .post(format!("{base}/api/admin/users/vic/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(format!("{{\"label\":\"{}\"}}", "x".repeat(100 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    // With the headers every answer carries, whichever layer gave it.
    for name in [
        "content-security-policy",
        "x-content-type-options",
        "cache-control",
    ] {
        assert!(big.headers().contains_key(name), "{name}: {big:?}");
    }
    let big: Value = big.json().await.unwrap();
    assert!(big["error"].is_string(), "{big}");
    let bad = client
        .get(format!("{base}/api/mentions/%FF%FE"))
        .bearer_auth(VIEWER_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert!(bad["error"].is_string(), "{bad}");
    let out = client
        .post(format!("{base}/api/logout"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 200);
    let after = client
        .get(format!("{base}/api/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    // Wrong passwords: 401 with nothing that tells whether the user exists; then 429.
    let wrong = login("vic", "not the password").await.unwrap();
    assert_eq!(wrong.status(), 401);
    let unknown = login("nobody", "not the password").await.unwrap();
    assert_eq!(unknown.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.unwrap(),
        unknown.json::<Value>().await.unwrap()
    );
    let mut statuses = Vec::new();
    for _ in 0..webcare::access::MAX_FAILED_LOGINS {
        statuses.push(login("vic", "still wrong").await.unwrap().status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // Even the right password waits now.
    let blocked = login("vic", VIEWER_PASSWORD).await.unwrap();
    assert_eq!(blocked.status(), 429);
    assert!(blocked.headers().contains_key("retry-after"));
    let (_, audit) = get_json(daemon.addr(), "/api/admin/audit?user=vic&limit=1000").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["login", "logout", "login_failed", "login_blocked"] {
        assert!(
            actions.contains(&action),
            "{action} not audited: {actions:?}"
        );
    }
    daemon.shutdown().await.unwrap();
}

/// Guesses sent all at once are counted as they arrive, not after their passwords are
/// checked: one burst gets no more checks than the brake allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_guesses_get_no_more_checks_than_the_brake_allows() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, _server) = start(dir.path(), "2026-11-20T10:00:00Z").await;
    let base = format!("http://{}", daemon.addr());
    let client = reqwest::Client::new();
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..24 {
        let (client, base) = (client.clone(), base.clone());
        burst.spawn(async move {
            let password = if i == 23 {
                VIEWER_PASSWORD
            } else {
                "a wrong guess"
            };
            client
                .post(format!("{base}/api/login"))
                .json(&json!({ "user": "vic", "password": password }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = burst.join_all().await;
    // Checked: right (200) or wrong (401); the others were told to come back in a
    // moment (503) or, once five had failed, after the window (429).
    let checked = statuses.iter().filter(|s| [200, 401].contains(*s)).count();
    assert!(
        checked <= webcare::access::MAX_FAILED_LOGINS,
        "{checked} passwords checked: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    daemon.shutdown().await.unwrap();
}

/// Five wrong guesses at a name from anywhere hold the name back, but not from an
/// address its user signed in from: strangers cannot keep a user out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_at_a_name_do_not_lock_its_user_out_of_an_address_they_used() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, config) = behind_a_proxy(dir.path()).await;
    let daemon = webcare::daemon::start(&config).await.unwrap();
    let base = format!("http://{}", daemon.addr());
    let vic =
        |from: &str, password: &str| login_as(&base, from.to_string(), "vic", password.to_string());
    assert_eq!(vic("145.97.39.158", VIEWER_PASSWORD).await, 200);
    for i in 0..webcare::access::MAX_FAILED_LOGINS {
        assert_eq!(vic(&format!("203.0.113.{i}"), "wrong").await, 401);
    }
    // From a new address the name waits; from vic's own it does not.
    assert_eq!(vic("203.0.113.99", VIEWER_PASSWORD).await, 429);
    assert_eq!(vic("145.97.39.158", VIEWER_PASSWORD).await, 200);
    // A login of one's own does not wipe out one's address's failures (an insider
    // trying colleagues' names between logins of their own).
    let colleague = |i: usize| {
        login_as(
            &base,
            "145.97.39.158".into(),
            format!("colleague{i}"),
            "guess".into(),
        )
    };
    for i in 0..webcare::access::MAX_FAILED_LOGINS - 1 {
        assert_eq!(colleague(i).await, 401);
    }
    assert_eq!(vic("145.97.39.158", VIEWER_PASSWORD).await, 200);
    assert_eq!(colleague(9).await, 401);
    // The address has had its five: the next guess at another name waits, while vic,
    // whose address it is, does not wait for colleagues' typos.
    assert_eq!(colleague(10).await, 429);
    assert_eq!(vic("145.97.39.158", VIEWER_PASSWORD).await, 200);
    // The trail says where from, as it is (ten digits, which the redaction of typed
    // text would take for a V-number).
    let (_, audit) = get_json(daemon.addr(), "/api/admin/audit?user=vic&limit=1000").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "login" && e["detail"] == "from 145.97.39.158"),
        "{audit}"
    );
    daemon.shutdown().await.unwrap();
    // After a restart both are read back from the audit trail: the name's failures
    // still count (a restart gives no fresh guesses), and the address is still vic's
    // (where the colleagues' guesses would hold it otherwise).
    let daemon = webcare::daemon::start(&config).await.unwrap();
    let base = format!("http://{}", daemon.addr());
    let vic =
        |from: &str, password: &str| login_as(&base, from.to_string(), "vic", password.to_string());
    assert_eq!(vic("203.0.113.98", VIEWER_PASSWORD).await, 429);
    assert_eq!(vic("145.97.39.158", VIEWER_PASSWORD).await, 200);
    assert_eq!(
        login_as(&base, "145.97.39.158".into(), "colleague11", "guess".into()).await,
        429
    );
    daemon.shutdown().await.unwrap();
}

/// The HTTP status of a login as `user` behind the test's proxy, from `from`.
async fn login_as(base: &str, from: String, user: impl Into<String>, password: String) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .header("x-forwarded-for", from)
        .json(&json!({ "user": user.into(), "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The session cookie is added by the browser to requests a page of a sibling site
/// makes: a change made with it must come from this site. Tokens are not sent by
/// browsers on their own, and are not held to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_with_the_session_cookie_from_another_site_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, _server) = start(dir.path(), "2026-11-20T10:00:00Z").await;
    let base = format!("http://{}", daemon.addr());
    let client = reqwest::Client::new();
    let ok = client
        .post(format!("{base}/api/login"))
        .json(&json!({ "user": "vic", "password": VIEWER_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let session = ok.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let logout = |headers: &'static [(&'static str, &'static str)]| {
        let mut request = client
            .post(format!("{base}/api/logout"))
            .header("cookie", &session);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request.send()
    };
    for refused in [
        &[("sec-fetch-site", "same-site")][..],
        &[("sec-fetch-site", "cross-site")],
        &[("origin", "http://blog.example.nl")],
    ] {
        let answer = logout(refused).await.unwrap();
        assert_eq!(answer.status(), 403, "{refused:?}");
        let body: Value = answer.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("another site"),
            "{body}"
        );
    }
    // Reading is not a change: a search with the cookie from a link elsewhere works.
    let read = client
        .get(format!("{base}/api/me"))
        .header("cookie", &session)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    // A token is not held to it (logout with one is a 400, not a 403).
    let with_token = client
        .post(format!("{base}/api/logout"))
        .bearer_auth(VIEWER_TOKEN)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), 400);
    // The session was never ended by the refused requests; this site's page ends it.
    let answer = logout(&[("sec-fetch-site", "same-origin")]).await.unwrap();
    assert_eq!(answer.status(), 200);
    let (_, audit) = get_json(daemon.addr(), "/api/admin/audit?user=vic").await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "cross_site_refused"),
        "{audit}"
    );
    daemon.shutdown().await.unwrap();
}

/// Behind the TLS proxy the README asks for, every client has the proxy's address: the
/// brake on failed logins goes by the address the proxy forwards, so five failures from
/// one client lock out that client, not everyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_brake_holds_the_client_not_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, config) = behind_a_proxy(dir.path()).await;
    import_posts(&config, "2026-11-20T10:00:00Z");
    let daemon = webcare::daemon::start(&config).await.unwrap();
    let base = format!("http://{}", daemon.addr());
    let client = reqwest::Client::new();
    let login = |from: &'static str, user: String| {
        client
            .post(format!("{base}/api/login"))
            // What the client wrote, then what the proxy appended.
            .header("x-forwarded-for", format!("192.0.2.1, {from}"))
            .json(&json!({ "user": user, "password": "wrong" }))
            .send()
    };
    let mut statuses = Vec::new();
    // A new name each time: only the address can be what brakes.
    for i in 0..=webcare::access::MAX_FAILED_LOGINS {
        let status = login("198.51.100.7", format!("guess{i}"))
            .await
            .unwrap()
            .status();
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    let other = login("203.0.113.9", "guess-other".into()).await.unwrap();
    assert_eq!(other.status(), 401, "another client is not held up");
    let (_, audit) = get_json(daemon.addr(), "/api/admin/audit?limit=1000").await;
    let details: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "login_failed" || e["action"] == "login_blocked")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert!(
        details.iter().any(|d| d.ends_with("from 198.51.100.7")),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.ends_with("from 203.0.113.9")),
        "{details:?}"
    );
    assert!(
        !details.iter().any(|d| d.contains("192.0.2.1")),
        "{details:?}"
    );
    daemon.shutdown().await.unwrap();
}

async fn post_json(addr: std::net::SocketAddr, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// An index that cannot be written (a full disk, a read-only mount) is a failing daemon
/// to `/healthz`, which answered "ok" while nothing was stored; once a commit succeeds
/// again, it is "ok" again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_fails_while_the_index_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, _server) = start(dir.path(), "2026-11-20T10:00:00Z").await;
    let addr = daemon.addr();
    let (status, health) = get_json_as(addr, "/healthz", None).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    // Where the commit writes the index's list of segments, a directory: it fails.
    let meta = dir.path().join("mentions/meta.json");
    let kept = std::fs::read(&meta).unwrap();
    std::fs::remove_file(&meta).unwrap();
    std::fs::create_dir(&meta).unwrap();
    let (status, _) = post_json(addr, "/api/admin/forget", json!({ "author": "amina_w" })).await;
    assert_eq!(status, 500);
    let (status, health) = get_json_as(addr, "/healthz", None).await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["status"], "failing");
    assert!(
        health["error"]
            .as_str()
            .unwrap()
            .starts_with("the index cannot be written"),
        "{health}"
    );
    // Mended: the erasure asked again commits, and the daemon is well again.
    std::fs::remove_dir(&meta).unwrap();
    std::fs::write(&meta, kept).unwrap();
    let (status, erased) =
        post_json(addr, "/api/admin/forget", json!({ "author": "amina_w" })).await;
    assert_eq!(
        (status, erased["erased"].as_u64()),
        (200, Some(2)),
        "{erased}"
    );
    let (status, health) = get_json_as(addr, "/healthz", None).await;
    assert_eq!(
        (status, health["status"].as_str()),
        (200, Some("ok")),
        "{health}"
    );
    daemon.shutdown().await.unwrap();
}

/// An audit trail that cannot be written (a full disk; here a trigger refuses every new
/// row) shows no mention and grants no access that it would not hold: what reads or
/// grants is refused with 503, and what takes access away still goes. Once the trail
/// can be written again, everything works, and it holds no entry for what was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_trail_that_cannot_be_written_shows_and_grants_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, _server) = start(dir.path(), "2026-11-20T10:00:00Z").await;
    let addr = daemon.addr();
    let (_, all) = get_json_as(addr, "/api/search?q=*", Some(VIEWER_TOKEN)).await;
    let id = all["hits"][0]["id"].as_str().unwrap().to_string();
    let alert = open_incident_quoting(dir.path(), &all);
    let (status, token) = post_json(addr, "/api/admin/users/vic/tokens", json!({})).await;
    assert_eq!(status, 200, "{token}");
    let spare = token["id"].as_str().unwrap().to_string();
    let db = rusqlite::Connection::open(dir.path().join("state.sqlite")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER audit_down BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    )
    .unwrap();

    let refused = |(status, body): (u16, Value)| {
        assert_eq!(status, 503, "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("the audit trail cannot be written"),
            "{body}"
        );
        assert!(!body.to_string().contains("Ter Apel"), "{body}");
    };
    for path in [
        "/api/search?q=*".to_string(),
        "/api/search?q=tolk".to_string(),
        format!("/api/mentions/{id}"),
        "/api/alerts".to_string(),
        format!("/api/alerts/{alert}"),
    ] {
        refused(get_json_as(addr, &path, Some(VIEWER_TOKEN)).await);
    }
    refused(get_json(addr, "/api/admin/audit").await);
    refused(get_json(addr, "/api/admin/users").await);
    refused(post_json(addr, &format!("/api/alerts/{alert}/resolve"), json!({})).await);
    refused(post_json(addr, "/api/admin/forget", json!({ "author": "amina_w" })).await);
    refused(
        post_json(
            addr,
            "/api/admin/forget",
            json!({ "author": "amina_w", "dry_run": true }),
        )
        .await,
    );
    refused(
        post_json(
            addr,
            "/api/admin/users",
            json!({ "name": "wendy", "role": "admin", "password": "a long enough password" }),
        )
        .await,
    );
    let (status, body) = post_json(addr, "/api/admin/users/vic/tokens", json!({})).await;
    refused((status, body.clone()));
    assert!(body.get("token").is_none(), "{body}");
    // A login that cannot be recorded gets no session.
    let login = fixtures::login(addr, "vic", VIEWER_PASSWORD).await;
    assert_eq!(login.status(), 503);
    assert!(login.headers().get("set-cookie").is_none());
    let sessions: i64 = db
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sessions, 0);
    // Taking access away goes ahead.
    let response = reqwest::Client::new()
        .delete(format!("http://{addr}/api/admin/users/vic/tokens/{spare}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A monitor sees it: every search and login is refused.
    let (status, health) = get_json_as(addr, "/healthz", None).await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["status"], "failing");
    assert!(
        health["error"]
            .as_str()
            .unwrap()
            .starts_with("the state database cannot be written"),
        "{health}"
    );

    db.execute_batch("DROP TRIGGER audit_down;").unwrap();
    // Seen without a user's request.
    let (status, health) = get_json_as(addr, "/healthz", None).await;
    assert_eq!((status, &health["status"]), (200, &json!("ok")), "{health}");
    let (status, all) = get_json_as(addr, "/api/search?q=*", Some(VIEWER_TOKEN)).await;
    assert_eq!((status, all["total"].as_u64()), (200, Some(3)), "{all}");
    let (_, alerts) = get_json_as(addr, "/api/alerts?status=open", Some(VIEWER_TOKEN)).await;
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 1, "{alerts}");
    let (_, users) = get_json(addr, "/api/admin/users").await;
    let names: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann", "vic"], "{users}");
    let vic = &users["users"][1]["tokens"];
    assert!(
        !vic.to_string().contains(&spare),
        "the spare token is revoked: {vic}"
    );
    assert_eq!(
        vic.as_array().unwrap().len(),
        1,
        "only the test's own token: the one not recorded is not kept: {vic}"
    );
    let (_, audit) = get_json(addr, "/api/admin/audit?limit=1000").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first: the reads after the outage, the admin's token made before it.
    assert_eq!(
        actions,
        ["users_read", "alerts_read", "search", "token_add", "search"],
        "{audit}"
    );
    daemon.shutdown().await.unwrap();
}

/// Erasure by permalink and by author through the admin API, each audited, and the
/// audited search and open; content from sources comes back escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_then_search_with_an_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, server) = start(dir.path(), "2026-11-20T10:00:00Z").await;
    let addr = daemon.addr();
    let (_, all) = get_json_as(addr, "/api/search?q=*", Some(VIEWER_TOKEN)).await;
    assert_eq!(all["total"], 3);
    // Authors are pseudonyms; the raw handle is nowhere in the answer.
    let text = all.to_string();
    assert!(!text.contains("amina") && !text.contains("bert"), "{text}");
    // Markup from a source is data: escaped in the snippet.
    let (_, tolk) = get_json_as(addr, "/api/search?q=tolk", Some(VIEWER_TOKEN)).await;
    let snippet = tolk["hits"][0]["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("&lt;script&gt;") && !snippet.contains("<script>"),
        "{snippet}"
    );
    let id = tolk["hits"][0]["id"].as_str().unwrap().to_string();
    // What a user typed cannot pass for the trail's own words or another filter.
    let (status, _) = get_json_as(
        addr,
        "/api/search?q=tolk%3B%20with%20token%20X%20lang%3Dnl&offset=10",
        Some(VIEWER_TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    // A backup of the index from before the erasures.
    let backup = tempfile::tempdir().unwrap();
    copy_files(&dir.path().join("mentions"), backup.path());
    // An alert incident quoting all three: an erasure takes the erased ones out of it.
    let incident = open_incident_quoting(dir.path(), &all);
    let (status, opened) =
        get_json_as(addr, &format!("/api/mentions/{id}"), Some(VIEWER_TOKEN)).await;
    assert_eq!(status, 200);
    assert!(opened["text"].as_str().unwrap().contains("ander dialect"));
    assert_eq!(opened["cluster_size"], 1);
    let shouted = format!("/api/mentions/{}", id.to_ascii_uppercase());
    let (status, same) = get_json_as(addr, &shouted, Some(VIEWER_TOKEN)).await;
    assert_eq!((status, &same["id"]), (200, &opened["id"]), "{same}");
    let (status, _) = get_json_as(addr, "/api/mentions/not-an-id", Some(VIEWER_TOKEN)).await;
    assert_eq!(status, 400);

    let (status, dry) = post_json(
        addr,
        "/api/admin/forget",
        json!({ "author": "@Amina_W", "dry_run": true }),
    )
    .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["matching"], 2);
    // Or by the pseudonym staff see in the answers.
    let pseudonym = tolk["hits"][0]["author"].as_str().unwrap();
    let (status, dry) = post_json(
        addr,
        "/api/admin/forget",
        json!({ "author": pseudonym, "dry_run": true }),
    )
    .await;
    assert_eq!((status, dry["matching"].as_u64()), (200, Some(1)), "{dry}");
    // In capitals too; one cut short is refused, not taken for a handle that erases
    // nothing.
    let (status, dry) = post_json(
        addr,
        "/api/admin/forget",
        json!({ "author": pseudonym.to_uppercase(), "dry_run": true }),
    )
    .await;
    assert_eq!((status, dry["matching"].as_u64()), (200, Some(1)), "{dry}");
    let (status, short) = post_json(
        addr,
        "/api/admin/forget",
        json!({ "author": &pseudonym[..pseudonym.len() - 1], "dry_run": true }),
    )
    .await;
    assert_eq!(status, 400, "{short}");
    assert!(
        short["error"]
            .as_str()
            .unwrap()
            .contains("this has 23 and 0 other characters"),
        "{short}"
    );
    // Copied with a typo or a full stop: refused too, not hashed as a handle.
    for typo in [
        format!("{}l", &pseudonym[..pseudonym.len() - 1]),
        format!("{pseudonym}."),
    ] {
        let (status, refused) = post_json(
            addr,
            "/api/admin/forget",
            json!({ "author": typo, "dry_run": true }),
        )
        .await;
        assert_eq!(status, 400, "{typo}: {refused}");
    }
    let (_, still) = get_json(addr, "/api/search?q=*").await;
    assert_eq!(still["total"], 3, "a dry run erases nothing");
    let (status, erased) =
        post_json(addr, "/api/admin/forget", json!({ "author": "amina_w" })).await;
    assert_eq!((status, erased["erased"].as_u64()), (200, Some(2)));
    let (status, erased) = post_json(
        addr,
        "/api/admin/forget",
        json!({ "url": "https://forum.example/t/c?utm_source=x" }),
    )
    .await;
    assert_eq!((status, erased["erased"].as_u64()), (200, Some(1)));
    let (_, none) = get_json(addr, "/api/search?q=*").await;
    assert_eq!(none["total"], 0);
    let (status, alert) =
        get_json_as(addr, &format!("/api/alerts/{incident}"), Some(VIEWER_TOKEN)).await;
    assert_eq!(status, 200, "{alert}");
    assert_eq!(alert["examples"], json!([]), "{alert}");
    assert_eq!(alert["mentions"], json!([]), "{alert}");
    for quoted in [
        "veertien maanden",
        "nader gehoor",
        "dialect",
        "forum.example",
    ] {
        assert!(!alert.to_string().contains(quoted), "{quoted} in {alert}");
    }
    let (status, bad) = post_json(addr, "/api/admin/forget", json!({})).await;
    assert_eq!(status, 400, "{bad}");
    // What staff type can be personal data: a search for a phone number or a handle,
    // the permalink of a post that names its author, a password typed as the name.
    let (status, _) = get_json_as(
        addr,
        "/api/search?q=0612345678%20OR%20%40secret_author",
        Some(VIEWER_TOKEN),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = post_json(
        addr,
        "/api/admin/forget",
        json!({ "url": "https://mastodon.example/@fatima_rahimi/113456789" }),
    )
    .await;
    assert_eq!(status, 200);
    let typo = fixtures::login(addr, "my-secret-passphrase", "x").await;
    assert_eq!(typo.status(), 401);

    let (_, audit) = get_json(addr, "/api/admin/audit?limit=1000").await;
    let entries = audit["entries"].as_array().unwrap();
    let has = |actor: &str, action: &str, detail: &str| {
        entries.iter().any(|e| {
            e["actor"] == actor
                && e["action"] == action
                && e["detail"].as_str().unwrap().contains(detail)
        })
    };
    assert!(has("vic", "search", r#"q="tolk""#), "{entries:#?}");
    assert!(
        has(
            "vic",
            "search",
            r#"q="tolk; with token X lang=nl" offset=10; with token "#
        ),
        "{entries:#?}"
    );
    // Which token it was done with: an admin may make one for another user.
    assert!(has("vic", "search", "; with token "), "{entries:#?}");
    assert!(has("vic", "open", &id));
    assert!(has("ann", "forget_dry_run", "2 mentions"));
    assert!(has("ann", "forget", "author=p_"));
    // The request is on record before the erasure starts (newest first: below it), so
    // that one cut short by a crash, and carried out at the next start, is too.
    let at = |action: &str| {
        entries.iter().position(|e| {
            e["actor"] == "ann"
                && e["action"] == action
                && e["detail"].as_str().unwrap().starts_with("author=p_")
        })
    };
    let (asked, done) = (at("forget_requested"), at("forget"));
    assert!(
        asked.is_some() && asked > done,
        "{asked:?} {done:?}: {entries:#?}"
    );
    // An erased post's permalink is not kept: its site and a hash to match it by.
    let hash = webcare::search::Erasure::Url("https://forum.example/t/c".into()).audited();
    assert!(
        has("ann", "forget", &format!("{hash}: 1 mentions")),
        "{entries:#?}"
    );
    assert!(!entries
        .iter()
        .any(|e| e["detail"].as_str().unwrap().contains("https://")));
    assert!(has("vic", "search", r#"q="[phone] OR @p_"#), "{entries:#?}");
    assert!(has("ann", "forget", "url on mastodon.example #"));
    assert!(has("-", "login_failed", "unknown user name from"));
    // The audit trail never holds the raw handle either, nor what was typed.
    let text = audit.to_string();
    for raw in [
        "amina",
        "0612345678",
        "secret_author",
        "fatima",
        "my-secret-passphrase",
    ] {
        assert!(!text.contains(raw), "{raw} in {audit}");
    }
    daemon.shutdown().await.unwrap();
    // The backup restored: whoever writes first erases them again, as the list of
    // erased posts says (the permalink's forms and the author's pseudonym).
    let index_dir = dir.path().join("mentions");
    std::fs::remove_dir_all(&index_dir).unwrap();
    copy_files(backup.path(), &index_dir);
    let restored = webcare::search::MentionIndex::open(dir.path()).unwrap();
    assert_eq!(restored.num_mentions(), 3);
    restored.writer().unwrap().finish().unwrap();
    restored.reload().unwrap();
    assert_eq!(restored.num_mentions(), 0, "erased posts came back");
    drop(restored);
    // What was erased stays erased: the same posts arriving again are not stored.
    let config = fixtures::config(dir.path(), &server, &[]);
    let again = import_report(&config, "2026-11-20T10:00:00Z");
    assert_eq!((again.indexed, again.erased_before), (0, 3), "{again:?}");
}

/// Copies the files of `from` (an index directory has no subdirectories) into `to`.
fn copy_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Opens an alert incident in the state under `data_dir` whose examples are the hits of
/// `search` (a search answer), as detection would; returns its id.
fn open_incident_quoting(data_dir: &Path, search: &Value) -> i64 {
    let state = webcare::state::StateDb::open(data_dir).unwrap();
    let now = chrono::Utc::now();
    let examples = search["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| webcare::alerts::counts::Example {
            id: hit["id"].as_str().unwrap().to_string(),
            url: hit["url"].as_str().map(str::to_string),
            title: hit["title"].as_str().unwrap_or_default().to_string(),
            text: hit["snippet"].as_str().unwrap_or_default().to_string(),
            cluster: None,
            author: None,
            aspects: vec!["waiting_time".into()],
            lang: hit["lang"].as_str().unwrap_or_default().to_string(),
            published: now,
        })
        .collect();
    let detection = webcare::alerts::Detection {
        kind: webcare::alerts::Kind::Aspect,
        key: "waiting_time".into(),
        comparison: webcare::alerts::stats::compare(
            14,
            2.0,
            &webcare::alerts::settings::Alerts::default().thresholds(),
        ),
        window: std::time::Duration::from_secs(24 * 3600),
        examples,
        top_terms: vec!["wacht".into()],
    };
    let changes = state
        .apply_detections(&[detection], now, std::time::Duration::from_secs(48 * 3600))
        .unwrap();
    let incident = changes[0].incident();
    assert_eq!(incident.examples.len(), 3, "{incident:?}");
    incident.id
}

/// Retention with a moved clock: nothing goes before its time, everything after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_erases_what_is_older_than_the_period() {
    let dir = tempfile::tempdir().unwrap();
    let server = fixtures::start().await;
    let mut config = fixtures::config(dir.path(), &server, &[]);
    config.privacy.retention = std::time::Duration::from_secs(90 * 24 * 3600);
    import_posts(&config, "2026-01-10T10:00:00Z");
    let index = webcare::search::MentionIndex::open(&config.storage.data_dir).unwrap();
    let state = webcare::state::StateDb::open(&config.storage.data_dir).unwrap();
    let policy = webcare::search::writer::CommitPolicy {
        max_docs: 100,
        interval: std::time::Duration::from_millis(50),
    };
    let (writer, thread) =
        webcare::search::writer::spawn(&index, policy, tokio::runtime::Handle::current()).unwrap();
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let all = index
        .search(&webcare::search::SearchRequest {
            q: "*".into(),
            ..Default::default()
        })
        .unwrap();
    let incident = open_incident_quoting(dir.path(), &serde_json::to_value(all).unwrap());
    // A weekly report written now, and a mail not yet sent.
    let exports = dir.path().join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    std::fs::write(exports.join("webcare-2026-W47.html"), "<p>quotes</p>").unwrap();
    webcare::alerts::mail::queue_message(
        &state,
        &["a@example.org".into()],
        "s",
        "t",
        chrono::Utc::now(),
    )
    .unwrap();
    // What retention goes by while no server vouches for the clock.
    assert_eq!(
        index.newest_published().unwrap(),
        Some(at("2026-01-10T10:00:00Z"))
    );
    // 90 days of retention: on 2026-04-09 the posts are 89 days old and stay.
    let early = webcare::retention::run_once(
        &writer,
        &index,
        &state,
        &config.privacy,
        Some(&exports),
        at("2026-04-09T09:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(early.mentions, 0);
    assert_eq!(index.num_mentions(), 3);
    let examples = |id| state.incident(id).unwrap().unwrap().examples.len();
    assert_eq!(examples(incident), 3);
    // A daemon's pipeline, with the mentions in its near-duplicate table.
    let pipeline = webcare::pipeline::Pipeline::from_config(&config.pipeline).unwrap();
    assert_eq!(
        index.load_duplicates(&mut pipeline.duplicates()).unwrap(),
        3
    );
    let late = webcare::retention::run_once(
        &writer,
        &index,
        &state,
        &config.privacy,
        Some(&exports),
        at("2026-04-10T11:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(late.mentions, 3);
    assert_eq!(index.num_mentions(), 0);
    // The daemon's near-duplicate table forgets them too (it held every mention since
    // the start, for as long as the daemon ran).
    assert_eq!(
        webcare::retention::forget_in_duplicates(&index, &pipeline).unwrap(),
        (3, 0)
    );
    assert!(pipeline.duplicates().is_empty());
    assert_eq!(examples(incident), 0, "the incident no longer quotes them");
    assert!(
        exports.join("webcare-2026-W47.html").exists(),
        "written after the cut-off"
    );
    // 100 days from now the report goes too; unsent mail stays until it is sent. Files
    // an export did not write stay, whatever their age: the directory may be shared.
    let others = [
        "budget-2026.xlsx",
        "webcare-notes.txt",
        "webcare-2026-W47-custom.pdf",
        "webcare-2026-W47.csv.bak",
    ];
    for name in others {
        std::fs::write(exports.join(name), "not webcare's").unwrap();
    }
    let later = chrono::Utc::now() + chrono::Duration::days(100);
    let last = webcare::retention::run_once(
        &writer,
        &index,
        &state,
        &config.privacy,
        Some(&exports),
        later,
    )
    .await
    .unwrap();
    assert_eq!((last.export_files, last.mails), (1, 0));
    assert!(!exports.join("webcare-2026-W47.html").exists());
    for name in others {
        assert!(exports.join(name).exists(), "{name} was deleted");
    }
    assert_eq!(state.outbox().unwrap().len(), 1);
    let entries = state.audit_entries(None, Some("system"), 10).unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries[1].detail.contains("3 mentions"), "{entries:?}");
    drop(writer);
    tokio::task::spawn_blocking(move || thread.join().unwrap().unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_users_means_no_listening_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let server = fixtures::start().await;
    let mut config = fixtures::config(dir.path(), &server, &[]);
    config.access.users_file = dir.path().join("nobody.toml");
    config.http.listen = "0.0.0.0:0".parse().unwrap();
    let err = webcare::daemon::start(&config)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("without any user") && err.contains("webcare user add"),
        "{err}"
    );
    // A users file with a plain-text password stops the start, naming file and line.
    std::fs::write(
        dir.path().join("plain.toml"),
        "[[user]]\nname = \"ann\"\nrole = \"admin\"\npassword = \"geheim\"\n",
    )
    .unwrap();
    config.access.users_file = dir.path().join("plain.toml");
    let err = webcare::daemon::start(&config)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("plain.toml:4:") && err.contains("plain-text"),
        "{err}"
    );
}

/// Admins manage users over the API: a new user can log in at once, gets a token shown
/// once, and is gone (token and all) when removed. Every step is audited.
/// API tokens have a lifetime and a label, are listed by id (never by hash) and ended
/// one at a time; an expired token is refused with a 401 that says so, and audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_and_are_revoked_one_at_a_time_over_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let server = fixtures::start().await;
    let config = fixtures::config(dir.path(), &server, &[]);
    let daemon = webcare::daemon::start(&config).await.unwrap();
    let addr = daemon.addr();
    let (status, body) = post_json(
        addr,
        "/api/admin/users",
        json!({ "name": "sam", "role": "viewer", "password": "a long enough password" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The only admin stepping down would leave nobody to manage users over the API.
    let (status, body) = post_json(
        addr,
        "/api/admin/users",
        json!({ "name": "ann", "role": "viewer", "password": "a long enough password" }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("last admin"),
        "{body}"
    );
    let (status, script) = post_json(
        addr,
        "/api/admin/users/sam/tokens",
        json!({ "expires": "30d", "label": "weekly export" }),
    )
    .await;
    assert_eq!(status, 200, "{script}");
    let expires =
        chrono::DateTime::parse_from_rfc3339(script["expires"].as_str().unwrap()).unwrap();
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.9..=30.0).contains(&days), "{script}");
    // Without a body: the default lifetime, 90 days.
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/admin/users/sam/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let laptop: Value = response.json().await.unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(laptop["expires"].as_str().unwrap()).unwrap();
    assert_eq!(
        (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days(),
        89,
        "{laptop}"
    );
    // A body sent without a content type is read all the same, not dropped for the
    // defaults.
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/admin/users/sam/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .body(r#"{"expires":"2d","label":"no header"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bare: Value = response.json().await.unwrap();
    assert_eq!(bare["label"], "no header", "{bare}");
    let expires = chrono::DateTime::parse_from_rfc3339(bare["expires"].as_str().unwrap()).unwrap();
    assert_eq!(
        (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days(),
        1,
        "{bare}"
    );
    // Copied in capitals with spaces around it, it is the same token, and the trail
    // names it as the list shows it.
    let id = bare["id"].as_str().unwrap();
    let revoked = reqwest::Client::new()
        .delete(format!(
            "http://{addr}/api/admin/users/sam/tokens/%20{}%20",
            id.to_ascii_uppercase()
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        revoked.status(),
        200,
        "an id in capitals with spaces around it"
    );
    let revoked: Value = revoked.json().await.unwrap();
    assert_eq!(revoked["revoked"], id, "{revoked}");
    let (_, audit) = get_json(addr, "/api/admin/audit?user=ann").await;
    let revocation = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "token_revoke");
    assert!(
        revocation.is_some_and(|e| e["detail"]
            .as_str()
            .unwrap()
            .starts_with(&format!("sam: token {id}; with token "))),
        "{audit}"
    );
    for bad in [
        json!({ "expires": "soon" }),
        json!({ "expires": "0s" }),
        json!({ "expires": "10m" }),
    ] {
        let (status, body) = post_json(addr, "/api/admin/users/sam/tokens", bad).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"].as_str().unwrap().starts_with("expires:"),
            "{body}"
        );
    }
    let (status, _) = post_json(addr, "/api/admin/users/nobody/tokens", json!({})).await;
    assert_eq!(status, 404);
    // Names are exact; one typed in other capitals is pointed to, as on the command line.
    let removed = reqwest::Client::new()
        .delete(format!("http://{addr}/api/admin/users/SAM"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 404);
    let body: serde_json::Value = removed.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no user \"SAM\"; names are exact: did you mean \"sam\"?"),
        "{body}"
    );
    for token in [&script, &laptop] {
        let (status, me) = get_json_as(addr, "/api/me", token["token"].as_str()).await;
        assert_eq!((status, &me["user"]), (200, &json!("sam")), "{me}");
    }
    // The list names tokens by id, with label and expiry, and never shows a hash.
    let (_, users) = get_json(addr, "/api/admin/users").await;
    let sam = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "sam")
        .unwrap();
    let listed = sam["tokens"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{sam}");
    assert_eq!(listed[0]["id"], script["id"]);
    assert_eq!(
        (&listed[0]["label"], &listed[0]["expired"]),
        (&json!("weekly export"), &json!(false))
    );
    let hash = webcare::access::sha256_hex(script["token"].as_str().unwrap());
    assert!(!users.to_string().contains(&hash), "{users}");
    // One revoked: it stops, the other works on.
    let revoke = |id: String| async move {
        reqwest::Client::new()
            .delete(format!("http://{addr}/api/admin/users/sam/tokens/{id}"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(
        revoke(laptop["id"].as_str().unwrap().to_string()).await,
        200
    );
    assert_eq!(
        revoke(laptop["id"].as_str().unwrap().to_string()).await,
        404
    );
    assert_eq!(
        get_json_as(addr, "/api/me", laptop["token"].as_str())
            .await
            .0,
        401
    );
    assert_eq!(
        get_json_as(addr, "/api/me", script["token"].as_str())
            .await
            .0,
        200
    );
    // The script's token past its expiry (the file edited as an administrator would):
    // refused, saying why, and the audit trail says whose it was.
    let path = &config.access.users_file;
    let text = std::fs::read_to_string(path).unwrap();
    let stamp = script["expires"].as_str().unwrap();
    let stored = text
        .lines()
        .find(|l| l.starts_with("expires") && l.contains(&stamp[..19]));
    assert!(stored.is_some(), "{text}");
    let edited = text.replace(stored.unwrap(), "expires = \"2026-01-01T00:00:00Z\"");
    // The daemon rereads the file when its modification time changes.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    std::fs::write(path, edited).unwrap();
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/api/me"))
        .bearer_auth(script["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let (_, users) = get_json(addr, "/api/admin/users").await;
    assert!(users.to_string().contains("\"expired\":true"), "{users}");
    let (_, audit) = get_json(addr, "/api/admin/audit").await;
    let text = audit.to_string();
    let script_id = script["id"].as_str().unwrap();
    assert!(
        text.contains(&format!("expired bearer token {script_id} of sam")),
        "{text}"
    );
    assert!(text.contains("(weekly export), expires"), "{text}");
    assert!(
        text.contains(&format!("sam: token {}", laptop["id"].as_str().unwrap())),
        "{text}"
    );
    daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_users_over_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (daemon, _server) = start(dir.path(), "2026-11-20T10:00:00Z").await;
    let addr = daemon.addr();
    let set_user = |name: &'static str, role: &'static str, password: &'static str| {
        post_json(
            addr,
            "/api/admin/users",
            json!({ "name": name, "role": role, "password": password }),
        )
    };
    let (status, body) = set_user("wendy", "viewer", "a long enough password").await;
    assert_eq!((status, &body["role"]), (200, &json!("viewer")), "{body}");
    let (status, _) = set_user("x", "viewer", "short").await;
    assert_eq!(status, 400);
    // A body that is not what the route reads answers in JSON too, saying why.
    let (status, body) = set_user("x", "god", "a long enough password").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("role"), "{body}");
    // In the words of the JSON the client sends, not of the server's own types.
    for bad in [
        json!("wendy"),
        json!({ "name": "x", "role": 5, "password": "p" }),
    ] {
        let (status, body) = post_json(addr, "/api/admin/users", bad).await;
        assert!(matches!(status, 400 | 422), "{body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.starts_with("invalid request body: "), "{error}");
        assert!(
            !error.contains("struct") && !error.contains("SetUser") && !error.contains("Role"),
            "{error}"
        );
        assert!(!error.contains("target type"), "{error}");
    }
    let (status, body) = post_json(addr, "/api/admin/users", json!("wendy")).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (
            422,
            "invalid request body: invalid type: string \"wendy\", expected a JSON object at line 1 column 7"
        )
    );
    for (content_type, text) in [("application/json", "{not json"), ("text/plain", "garbage")] {
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/api/login"))
            .header("content-type", content_type)
            .body(text)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(matches!(status, 400 | 415), "{status} {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .starts_with("invalid request body"),
            "{body}"
        );
    }
    let login = fixtures::login(addr, "wendy", "a long enough password").await;
    assert_eq!(login.status(), 200);
    let session = login.headers()["set-cookie"].to_str().unwrap();
    let session = session.split(';').next().unwrap().to_string();
    let me_with = |session: String| async move {
        let response = reqwest::Client::new()
            .get(format!("http://{addr}/api/me"))
            .header("cookie", session)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    // A new role applies to the running session at once.
    let (status, _) = set_user("wendy", "admin", "a long enough password").await;
    assert_eq!(status, 200);
    let (status, me) = me_with(session.clone()).await;
    assert_eq!((status, &me["role"]), (200, &json!("admin")), "{me}");
    // A new password ends the sessions that began with the old one.
    let (status, _) = set_user("wendy", "admin", "a new long password").await;
    assert_eq!(status, 200);
    let (status, _) = me_with(session.clone()).await;
    assert_eq!(status, 401, "a session outlives a password change");
    let relogin = |password: &'static str| async move {
        let response = fixtures::login(addr, "wendy", password).await;
        assert_eq!(response.status(), 200);
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_string()
    };
    let session = relogin("a new long password").await;
    let (status, me) = me_with(session.clone()).await;
    assert_eq!((status, &me["role"]), (200, &json!("admin")), "{me}");
    let (status, body) = post_json(addr, "/api/admin/users/wendy/tokens", json!({})).await;
    assert_eq!(status, 200);
    let token = body["token"].as_str().unwrap().to_string();
    let (status, me) = get_json_as(addr, "/api/me", Some(&token)).await;
    assert_eq!((status, &me["user"]), (200, &json!("wendy")));
    // The scheme in any case, as HTTP has it; another scheme is refused.
    for (scheme, expected) in [("bearer", 200), ("BEARER", 200), ("Basic", 401)] {
        let response = reqwest::Client::new()
            .get(format!("http://{addr}/api/me"))
            .header("authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected, "{scheme}");
    }
    let (_, users) = get_json(addr, "/api/admin/users").await;
    assert!(!users.to_string().contains("argon2"), "{users}");
    let removed = reqwest::Client::new()
        .delete(format!("http://{addr}/api/admin/users/wendy"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    let (status, _) = get_json_as(addr, "/api/me", Some(&token)).await;
    assert_eq!(status, 401);
    assert_eq!(me_with(session.clone()).await.0, 401);
    // The name given to someone else: the old session is not theirs.
    let (status, _) = set_user("wendy", "admin", "someone else's password").await;
    assert_eq!(status, 200);
    assert_eq!(
        me_with(session).await.0,
        401,
        "a removed user's session came back"
    );
    let (_, audit) = get_json(addr, "/api/admin/audit?user=ann").await;
    let text = audit.to_string();
    for action in ["user_set", "token_add", "user_remove"] {
        assert!(text.contains(action), "{action} not audited: {text}");
    }
    assert!(!text.contains("a long enough password"));
    daemon.shutdown().await.unwrap();
}
