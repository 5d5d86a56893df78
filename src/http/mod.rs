//! The HTTP API: search for webcare staff, source status and erasure for the
//! administrator.
//!
//! [`router`] is separate from serving, so routes can be tested without a socket. Every
//! route is in [`ROUTES`] with who may use it, and the router is built from that table:
//! a route cannot exist without an access decision. Every error answers JSON
//! `{"error": "..."}` with a 4xx status when the request was at fault; a malformed query
//! is a 400, never a 500.

mod admin;
mod alerts;
pub mod auth;
mod search;
mod serve;
mod sources;

pub use self::admin::erasure_for;
pub use self::search::parse_time;
pub use self::serve::{serve, MAX_CONNECTIONS, MAX_PER_CLIENT};

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Method;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, MethodRouter};
use axum::{Json, Router};
use serde_json::json;

use crate::access::{LoginBrake, LoginLimiter, UsersStore};
use crate::pipeline::Pipeline;
use crate::poll::StatusBoard;
use crate::search::writer::WriterHandle;
use crate::search::MentionIndex;
use crate::state::StateDb;

/// Request bodies are small JSON at most; anything larger is refused early.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the handlers share.
pub struct AppState {
    pub index: MentionIndex,
    pub board: StatusBoard,
    pub started: chrono::DateTime<chrono::Utc>,
    pub state: Arc<StateDb>,
    pub users: Arc<UsersStore>,
    pub limiter: LoginBrake,
    /// Password checks and hashes running at once.
    pub passwords: auth::PasswordGate,
    /// Counts refused requests per address, so that only the first few are audited.
    pub audit_brake: LoginLimiter,
    /// The running writer, for erasure (`None` when serving a read-only index).
    pub writer: Option<WriterHandle>,
    /// For the pseudonym of a handle to erase.
    pub pipeline: Arc<Pipeline>,
    pub session_ttl: std::time::Duration,
    pub secure_cookies: bool,
    /// The detection window (for the search link of an alert).
    pub alerts_window: std::time::Duration,
    /// Where the weekly export writes: an erasure takes its quotes out of those files.
    pub exports: Option<std::path::PathBuf>,
    /// Whose days a date in `from=`/`to=` means (`[export] time_zone`).
    pub time_zone: chrono_tz::Tz,
    /// Proxies whose `X-Forwarded-For` names the client (`[http] trusted_proxies`).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Every configured source, enabled or not (a search names one that is not).
    pub source_names: Vec<String>,
    /// The languages detection answers (`[pipeline] languages`): a search names one.
    pub languages: Vec<String>,
}

impl AppState {
    /// The audit entry ([`AppState::audit_plain`]) of what a signed-in user did, saying which API token it was
    /// done with: an administrator can make a token for another user, and what is done
    /// with it must not read as that user's own doing.
    pub fn audit_as(
        &self,
        principal: &auth::Principal,
        action: &str,
        detail: &str,
    ) -> Result<(), ApiError> {
        self.audit_plain_as(principal, action, &self.pipeline.redact(detail))
    }

    /// [`AppState::audit_as`] for a detail the daemon composed of account names,
    /// addresses and ids, with nothing typed into a search or a note: not redacted, as
    /// the redaction would take an IPv4 address for a V-number and a user name like an
    /// e-mail address for one, and the trail would not say who did what from where.
    pub fn audit_plain_as(
        &self,
        principal: &auth::Principal,
        action: &str,
        detail: &str,
    ) -> Result<(), ApiError> {
        match &principal.token {
            Some(token) if detail.is_empty() => {
                self.audit_plain(&principal.user, action, &format!("with token {token}"))
            }
            Some(token) => self.audit_plain(
                &principal.user,
                action,
                &format!("{detail}; with token {token}"),
            ),
            None => self.audit_plain(&principal.user, action, detail),
        }
    }

    /// Appends to the audit trail, the detail as given: one the daemon composed
    /// ([`AppState::audit_plain_as`]); what a user typed goes through
    /// [`AppState::audit_as`], which takes personal data out first.
    ///
    /// Fails closed: the error (503) is for the caller to return *instead of* what was
    /// asked, so that no mention is shown and no access granted that the trail does not
    /// hold. Only what takes access away (a logout, a revoked token, a removed user) and
    /// a refusal go ahead without their entry; they ignore the error, which is logged.
    pub fn audit_plain(&self, actor: &str, action: &str, detail: &str) -> Result<(), ApiError> {
        self.state
            .audit(chrono::Utc::now(), actor, action, detail)
            .map_err(|e| {
                ApiError::unavailable(
                    "the audit trail cannot be written, and nothing is shown or changed that it would not hold",
                    format_args!("{action}: {e}"),
                )
            })
    }
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: only the health check and the login itself.
    Public,
    /// Any signed-in user.
    Viewer,
    Admin,
}

/// Every route, and who may use it. The router is built from this table.
pub const ROUTES: &[(Method, &str, Access)] = &[
    (Method::GET, "/healthz", Access::Public),
    (Method::POST, "/api/login", Access::Public),
    (Method::POST, "/api/logout", Access::Viewer),
    (Method::GET, "/api/me", Access::Viewer),
    (Method::GET, "/api/search", Access::Viewer),
    (Method::GET, "/api/mentions/{id}", Access::Viewer),
    (Method::GET, "/api/alerts", Access::Viewer),
    (Method::GET, "/api/alerts/{id}", Access::Viewer),
    (Method::POST, "/api/alerts/{id}/acknowledge", Access::Viewer),
    (Method::POST, "/api/alerts/{id}/resolve", Access::Viewer),
    (Method::GET, "/api/sources", Access::Admin),
    (Method::POST, "/api/admin/forget", Access::Admin),
    (Method::GET, "/api/admin/audit", Access::Admin),
    (Method::GET, "/api/admin/outbox", Access::Admin),
    (Method::GET, "/api/admin/users", Access::Admin),
    (Method::POST, "/api/admin/users", Access::Admin),
    (Method::DELETE, "/api/admin/users/{name}", Access::Admin),
    (
        Method::POST,
        "/api/admin/users/{name}/tokens",
        Access::Admin,
    ),
    (
        Method::DELETE,
        "/api/admin/users/{name}/tokens/{id}",
        Access::Admin,
    ),
];

/// The decision for a matched route.
pub fn route_access(method: &Method, path: &str) -> Option<Access> {
    // HEAD is GET without the body (the router answers it so): the same access.
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    ROUTES
        .iter()
        .find(|(m, p, _)| m == method && *p == path)
        .map(|(_, _, access)| *access)
}

/// The handler of a route in [`ROUTES`].
fn handler(method: &Method, path: &str) -> MethodRouter<Arc<AppState>> {
    match (method.as_str(), path) {
        ("GET", "/healthz") => get(healthz),
        ("POST", "/api/login") => post(auth::login),
        ("POST", "/api/logout") => post(auth::logout),
        ("GET", "/api/me") => get(auth::me),
        ("GET", "/api/search") => get(search::search),
        ("GET", "/api/mentions/{id}") => get(search::mention),
        ("GET", "/api/alerts") => get(alerts::list),
        ("GET", "/api/alerts/{id}") => get(alerts::get),
        ("POST", "/api/alerts/{id}/acknowledge") => post(alerts::acknowledge),
        ("POST", "/api/alerts/{id}/resolve") => post(alerts::resolve),
        ("GET", "/api/sources") => get(sources::sources),
        ("POST", "/api/admin/forget") => post(admin::forget),
        ("GET", "/api/admin/audit") => get(admin::audit),
        ("GET", "/api/admin/outbox") => get(admin::outbox),
        ("GET", "/api/admin/users") => get(admin::users),
        ("POST", "/api/admin/users") => post(admin::set_user),
        ("DELETE", "/api/admin/users/{name}") => delete(admin::remove_user),
        ("POST", "/api/admin/users/{name}/tokens") => post(admin::add_token),
        ("DELETE", "/api/admin/users/{name}/tokens/{id}") => delete(admin::revoke_token),
        // A route in the table without a handler is a programming error that every
        // test run catches at once.
        (m, p) => unreachable!("route {m} {p} is in ROUTES but has no handler"),
    }
}

/// All routes of the API.
pub fn router(state: AppState) -> Router {
    let state = Arc::new(state);
    let mut router = Router::new();
    for (method, path, _) in ROUTES {
        router = router.route(path, handler(method, path));
    }
    router
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Free space on the data directory's disk below which `/healthz` fails: a commit, a
/// segment merge or a week's report may need that much at any moment, and then nothing
/// fetched is stored. Seen before a write fails, not after.
pub const DISK_FAILING_BELOW: u64 = 64 << 20;
/// Free space below which `/healthz` warns, still answering 200.
pub const DISK_LOW_BELOW: u64 = 1 << 30;

/// What the free space on the data directory's disk means for `/healthz`: a problem
/// (503), a warning (200), or nothing.
pub fn disk_status(free_bytes: u64) -> (Option<String>, Option<String>) {
    let mib = free_bytes >> 20;
    if free_bytes < DISK_FAILING_BELOW {
        (
            Some(format!("the data directory's disk has {mib} MiB free: the next commit may fail and nothing fetched would be stored; make room")),
            None,
        )
    } else if free_bytes < DISK_LOW_BELOW {
        (
            None,
            Some(format!(
                "the data directory's disk has {mib} MiB free: make room before it fills"
            )),
        )
    } else {
        (None, None)
    }
}

/// Alive and storing: 503 when the index writer has stopped or its last commit failed,
/// so that a monitor sees a daemon that answers but stores nothing.
async fn healthz(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> (StatusCode, Json<serde_json::Value>) {
    let index_problem = state.writer.as_ref().and_then(|writer| {
        if !writer.is_running() {
            Some("the index writer has stopped: nothing fetched is stored; see the log, and restart the daemon".to_string())
        } else {
            // Anyone may ask: the error itself (with the index's path) is in the log.
            writer.commit_failure().map(|_| {
                "the index cannot be written: nothing fetched is stored until it can (a full disk? a read-only mount? see the log); the sources fetch it again then".to_string()
            })
        }
    });
    // Every search, login and erasure waits on an audit entry or a session.
    let state_problem = state.state.write_failure().map(|e| {
        tracing::warn!(error = %e, "the state database cannot be written");
        "the state database cannot be written: searches, logins and erasures are refused until it can (a full disk? its mode? see the log)".to_string()
    });
    // The disk, before a write fails on it. Unknown (a file system that cannot say) is
    // no problem of its own: the writes say it.
    let free_bytes = fs4::available_space(state.index.path()).ok();
    let (disk_problem, disk_warning) = free_bytes.map_or((None, None), disk_status);
    if let Some(warning) = disk_warning.as_ref().or(disk_problem.as_ref()) {
        tracing::warn!(free_bytes, path = %state.index.path().display(), "{warning}");
    }
    let problem = index_problem.or(state_problem).or(disk_problem);
    let mut body = json!({
        "status": if problem.is_some() { "failing" } else { "ok" },
        "mentions": state.index.num_mentions(),
        "started": state.started,
    });
    if let Some(free_bytes) = free_bytes {
        body["disk_free_bytes"] = json!(free_bytes);
    }
    if let Some(warning) = disk_warning {
        body["warning"] = json!(warning);
    }
    // Alerts that are not arriving: the daemon is up, so the status stays, but a monitor
    // can see it (the errors are in the log).
    let day_ago = chrono::Utc::now() - chrono::TimeDelta::days(1);
    match state.state.mail_backlog(day_ago) {
        Ok(backlog) if backlog.waiting > 0 || backlog.given_up > 0 => {
            body["mail"] = json!({
                "waiting": backlog.waiting,
                "waiting_since": backlog.waiting_since,
                "given_up_last_day": backlog.given_up,
            });
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the mail outbox for /healthz"),
    }
    let status = match problem {
        Some(problem) => {
            body["error"] = json!(problem);
            StatusCode::SERVICE_UNAVAILABLE
        }
        None => StatusCode::OK,
    };
    (status, Json(body))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such endpoint; see the README for the API",
    )
}

/// A path the API has, asked with a method it does not take: JSON like every other error.
async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("this endpoint does not take {method}; see the README for the API"),
    )
}

/// The longest error text from a layer below the handlers that is kept (axum's own
/// answers to an oversized body or an undecodable path are a line).
const MAX_ERROR_TEXT: usize = 1_000;

/// An error from a layer below the handlers (an oversized body, a path that is not
/// UTF-8) as JSON, like every error the handlers give: `{"error": "…"}`.
async fn as_json_error(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let status = response.status();
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), MAX_ERROR_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    ApiError::new(status, message).into_response()
}

/// Everything served is data from strangers: forbid browsers to run or sniff any of it.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = as_json_error(next.run(request).await).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Answers hold mentions, the audit trail, and once a new token: no cache (a
    // browser's, a proxy's) is to keep them.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// An error answer: status plus a message saying what to change.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// Seconds for `Retry-After` (a 429 or 503 that will pass).
    retry_after: Option<u64>,
    /// Already in the log with its detail.
    logged: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
            logged: false,
        }
    }

    /// The same error, telling the client to try again in `seconds` (at least 1).
    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// A failure of the server's own (a database, the index, a task): the detail goes to
    /// the log, where the administrator reads it; the answer says only `what` failed,
    /// as the detail may name files and internals.
    pub fn internal(what: &str, detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "{what}");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("{what}; the daemon's log says why"),
            retry_after: None,
            logged: true,
        }
    }

    /// [`ApiError::internal`] for what is out of order for now (the state database
    /// locked or full), not broken: 503.
    pub fn unavailable(what: &str, detail: impl std::fmt::Display) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            ..ApiError::internal(what, detail)
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

/// The query parameters, each given at most once: `lang=nl&lang=en` would otherwise be
/// read as one of the two, quietly.
pub struct Params(pub std::collections::HashMap<String, String>);

impl Params {
    /// Refuses a parameter the route does not know (a typo would otherwise be ignored,
    /// and the answer taken for the one asked), naming the ones it does.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(ApiError::bad_request(format!(
                "unknown parameter `{}`; known: {}",
                crate::pipeline::extract::bounded(unknown, 64),
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// `limit=`: a number from 1 to `max`, `default` when not given.
    pub fn limit(&self, max: usize, default: usize) -> Result<usize, ApiError> {
        match self.0.get("limit") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "invalid parameter `limit`: {:?}; a number from 1 to {max}",
                        crate::pipeline::extract::bounded(v, 64)
                    ))
                }),
            None => Ok(default),
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let mut params = std::collections::HashMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (name, value) = (form_decoded(name)?, form_decoded(value)?);
            if params.contains_key(&name) {
                let shown = crate::pipeline::extract::bounded(&name, 64);
                return Err(ApiError::bad_request(format!(
                    "parameter `{shown}` is given twice; give it once"
                )));
            }
            params.insert(name, value);
        }
        Ok(Params(params))
    }
}

/// A name or value of a query string as forms encode it (`+` a space, `%XX` a byte),
/// refused where its bytes are no UTF-8: read with replacement characters, a `q` would
/// search for what was never sent and find nothing, without a word.
fn form_decoded(part: &str) -> Result<String, ApiError> {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| {
            ApiError::bad_request(format!(
                "the query string's {:?} is not UTF-8 once decoded; encode its text as UTF-8",
                crate::pipeline::extract::bounded(part, 64)
            ))
        })
}

/// A JSON request body whose rejection (not JSON, a missing or mistyped field, the wrong
/// content type) answers as every other error does, `{"error": …}`, not as axum's plain
/// text.
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    Json<T>: axum::extract::FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(rejected(rejection)),
        }
    }
}

impl<S, T> axum::extract::OptionalFromRequest<S> for ApiJson<T>
where
    Json<T>:
        axum::extract::OptionalFromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, ApiError> {
        match <Json<T> as axum::extract::OptionalFromRequest<S>>::from_request(req, state).await {
            Ok(value) => Ok(value.map(|Json(value)| ApiJson(value))),
            Err(rejection) => Err(rejected(rejection)),
        }
    }
}

fn rejected(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
    ApiError::new(
        rejection.status(),
        format!(
            "invalid request body: {}",
            client_words(&rejection.body_text())
        ),
    )
}

/// A body's rejection as its client knows the body: serde names the Rust type it
/// expected ("expected struct SetUser"), which the client sends as a JSON object, and
/// axum's preamble speaks of "the target type"; serde's own words name the field.
fn client_words(text: &str) -> String {
    static RUST_TYPE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let rust_type = RUST_TYPE.get_or_init(|| {
        regex::Regex::new(r"\b(struct|enum) [A-Z][A-Za-z0-9]*").expect("the pattern compiles")
    });
    let text = text
        .replace(
            "Failed to deserialize the JSON body into the target type: ",
            "",
        )
        .replace("Failed to parse the request body as JSON: ", "");
    rust_type
        .replace_all(&text, |c: &regex::Captures| match &c[1] {
            "struct" => "a JSON object",
            _ => "one of the documented values",
        })
        .into_owned()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() && !self.logged {
            tracing::error!(status = self.status.as_u16(), error = %self.message, "request failed");
        }
        let mut response = (self.status, Json(json!({ "error": self.message }))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_filling_up_warns_then_fails_before_a_write_does() {
        assert_eq!(disk_status(50 << 30), (None, None));
        let (problem, warning) = disk_status(500 << 20);
        assert!(problem.is_none());
        assert!(warning.unwrap().contains("500 MiB free"));
        let (problem, warning) = disk_status(10 << 20);
        assert!(problem.unwrap().contains("10 MiB free"));
        assert!(warning.is_none());
    }
}
