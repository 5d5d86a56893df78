//! Authentication and roles for every route, login and logout, and the audit of both.
//!
//! A request proves who it is with an API token (`Authorization: Bearer wct_…`) or a
//! session cookie from `POST /api/login` (HttpOnly, SameSite=Strict, `Secure` when so
//! configured). Both are stored only as SHA-256 hashes. The route table in
//! [`super::ROUTES`] decides, per route, whether it is public or needs a viewer or an
//! admin; a failed or forged credential answers 401 without saying why (an expired
//! token says it expired), and is audited.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::{route_access, Access, ApiError, AppState};
use crate::access::{random_hex, sha256_hex, LoginBrake, LoginRefusal, Role, LOGIN_WINDOW};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "webcare_session";

/// Who is asking, as the handlers see it.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    /// The id of the API token the request came with; `None`: the session cookie (which
    /// a browser adds by itself).
    pub token: Option<String>,
}

impl Principal {
    /// Signed in with the session cookie, not a token.
    pub fn by_cookie(&self) -> bool {
        self.token.is_none()
    }
}

/// The middleware: finds the route's decision, checks the credential and the role.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let access = path
        .as_deref()
        .and_then(|p| route_access(request.method(), p))
        // No decision for this route: deny (the route table is the only way in).
        .unwrap_or(Access::Admin);
    if access == Access::Public {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = client_address(peer, request.headers(), &state.trusted_proxies);
    let principal = match identify(&state, request.headers()) {
        Identity::Known(p) => p,
        Identity::Anonymous => return unauthorised(),
        Identity::Invalid(kind) => {
            audit_sampled(
                &state,
                &client,
                "-",
                "auth_failed",
                format!("{kind} from {client}"),
            );
            return unauthorised();
        }
        Identity::ExpiredToken { owner, id } => {
            audit_sampled(
                &state,
                &client,
                "-",
                "auth_failed",
                format!("expired bearer token {id} of {owner} from {client}"),
            );
            return expired_token();
        }
    };
    if principal.by_cookie() && !request.method().is_safe() && from_another_site(request.headers())
    {
        audit_sampled(
            &state,
            &client,
            &principal.user,
            "cross_site_refused",
            format!(
                "{} {} from {client}",
                request.method(),
                path.unwrap_or_default()
            ),
        );
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "a request from another site may not use your session; use the API from this site, or with a token",
        )
        .into_response();
    }
    let needed = match access {
        Access::Admin => Role::Admin,
        _ => Role::Viewer,
    };
    if principal.role < needed {
        // A refusal: answered the same whether or not its entry could be written.
        let _ = state.audit_as(
            &principal,
            "forbidden",
            &format!("{} {}", request.method(), path.unwrap_or_default()),
        );
        return ApiError::new(StatusCode::FORBIDDEN, "your role may not use this endpoint")
            .into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// Whether a browser sent the request for a page of another origin. A browser adds the
/// session cookie to a request that a page of a sibling site (another host under the
/// same domain) makes, `SameSite=Strict` notwithstanding, so a change (a POST, a DELETE)
/// made with the cookie must come from this origin. Browsers say where a request comes
/// from in `Sec-Fetch-Site`; older ones only in `Origin`, checked against `Host`. A
/// request with neither header is no browser's (curl, a script), and has no cookie it did
/// not mean to send.
fn from_another_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = origin.to_str().ok().and_then(|o| o.split_once("://"));
    match (origin, host) {
        (Some((scheme, origin)), Some(host)) => {
            // "Host: example:443" is the origin "https://example".
            let default = match scheme {
                "https" => ":443",
                _ => ":80",
            };
            let bare = |a: &'_ str| a.strip_suffix(default).unwrap_or(a).to_ascii_lowercase();
            bare(origin) != bare(host)
        }
        // "null" (a sandboxed page, a redirect across sites) or no Host: not this site.
        _ => true,
    }
}

enum Identity {
    Known(Principal),
    Anonymous,
    /// A credential was presented but is not valid: what kind, for the audit trail.
    Invalid(&'static str),
    /// A token that was valid once: whose and which, so that the administrator can tell
    /// them.
    ExpiredToken {
        owner: String,
        id: String,
    },
}

fn identify(state: &AppState, headers: &HeaderMap) -> Identity {
    let users = state.users.current();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            // The scheme is case-insensitive (RFC 9110, 11.1): "bearer" is "Bearer".
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        return match token.and_then(|t| users.token_holder(t)) {
            Some((owner, token)) if token.is_expired(Utc::now()) => Identity::ExpiredToken {
                owner: owner.name.clone(),
                id: token.id().to_string(),
            },
            Some((user, token)) => Identity::Known(Principal {
                user: user.name.clone(),
                role: user.role,
                token: Some(token.id().to_string()),
            }),
            None => Identity::Invalid("invalid bearer token"),
        };
    }
    let Some(session) = cookie(headers, SESSION_COOKIE) else {
        return Identity::Anonymous;
    };
    let user = state
        .state
        .session_user(&sha256_hex(session), Utc::now())
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read sessions");
            None
        });
    // The role comes from the users file now, not from when the session began; the
    // password must still be the one it began with.
    let current = user.and_then(|(name, credential)| {
        users
            .get(&name)
            .filter(|u| !credential.is_empty() && u.credential() == credential)
    });
    match current {
        Some(user) => Identity::Known(Principal {
            user: user.name.clone(),
            role: user.role,
            token: None,
        }),
        None => Identity::Invalid("expired or unknown session cookie"),
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Records a refused request (a bad credential, a login while the brake holds), the
/// first [`crate::access::MAX_FAILED_LOGINS`] of its `action` from an address within
/// [`LOGIN_WINDOW`]: each was a row in the audit trail, kept for a year, and a write to
/// disk, so a client that keeps trying would fill the disk. The last one recorded says
/// so; the answers stay the same. Counted apart from the logins' brake, whose table
/// a flood of bad tokens from many addresses must not fill.
fn audit_sampled(state: &AppState, client: &str, actor: &str, action: &str, detail: String) {
    let Some(more) = sample(&state.audit_brake, client, action, Instant::now()) else {
        return;
    };
    let detail = match more {
        Some(from) => format!(
            "{detail}; more {action} from {from} within {} minutes are not recorded",
            LOGIN_WINDOW.as_secs() / 60
        ),
        None => detail,
    };
    // Composed of addresses, account names and ids: an IPv4 address is no V-number. A
    // refusal: answered the same whether or not its entry could be written.
    let _ = state.audit_plain(actor, action, &detail);
}

/// Refused requests of one kind recorded from all addresses together within
/// [`LOGIN_WINDOW`], at most: many addresses (an IPv6 /48 holds 65,536 /64s) must not
/// fill the disk either.
const AUDITED_FROM_ALL: usize = 1_000;

/// Whether a refused request of `action` from `client` is recorded (`None`: not), and if
/// so whether it is the last one for a while, and from whom ("this address", "any
/// address").
fn sample(
    brake: &crate::access::LoginLimiter,
    client: &str,
    action: &str,
    now: Instant,
) -> Option<Option<&'static str>> {
    let here = format!("{action}:{}", brake_key(client));
    let all = format!("{action}:*");
    let (here, all) = ([here.as_str()], [all.as_str()]);
    if brake.blocked(&here, now).is_some()
        || brake.blocked_after(&all, now, AUDITED_FROM_ALL).is_some()
    {
        return None;
    }
    brake.record_failure(&[here[0], all[0]], now);
    Some(
        if brake.blocked_after(&all, now, AUDITED_FROM_ALL).is_some() {
            Some("any address")
        } else if brake.blocked(&here, now).is_some() {
            Some("this address")
        } else {
            None
        },
    )
}

/// Password checks (argon2) running at once, at most: each takes tens of milliseconds
/// of a core and 19 MiB on purpose, so a crowd of logins must queue, not run the
/// machine out of memory.
pub struct PasswordGate {
    permits: Arc<tokio::sync::Semaphore>,
    wait: std::time::Duration,
}

impl Default for PasswordGate {
    fn default() -> PasswordGate {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordGate::new(cores.clamp(1, 4), std::time::Duration::from_secs(5))
    }
}

impl PasswordGate {
    /// `permits` checks at once; a check that cannot start within `wait` is refused.
    pub fn new(permits: usize, wait: std::time::Duration) -> PasswordGate {
        PasswordGate {
            permits: Arc::new(tokio::sync::Semaphore::new(permits)),
            wait,
        }
    }

    /// Runs `check` (a password check or hash) off the async workers when a permit is
    /// free; 503 with `Retry-After` when none is within the wait.
    pub async fn run<T: Send + 'static>(
        &self,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| too_many_at_once(1))?
            .map_err(|_| too_many_at_once(1))?;
        // The permit goes with the work: a client that hangs up does not free it while
        // the check still runs.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            check()
        })
        .await
        .map_err(|e| ApiError::internal("the password check failed", e))
    }
}

/// 503: more logins at once than are let through (by the brake, or for the password
/// checks); they pass in `seconds`.
fn too_many_at_once(seconds: u64) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many logins at once; try again in a moment",
    )
    .retry_after(seconds)
}

/// An IPv6 address's network of `bits` bits; an IPv4 address as it is.
pub(crate) fn network_of(address: IpAddr, bits: u32) -> IpAddr {
    match address {
        IpAddr::V6(v6) => {
            let host_bits = 128 - bits.min(128);
            let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
            IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & mask))
        }
        v4 => v4,
    }
}

/// What the brakes count a client by: its address, or for IPv6 its /64 network, which
/// one machine has whole (a counter per address would be one per attempt).
fn brake_key(client: &str) -> String {
    match client.parse::<IpAddr>() {
        Ok(v6 @ IpAddr::V6(_)) => format!("{}/64", network_of(v6, 64)),
        _ => client.to_string(),
    }
}

/// The IPv6 /48 a client is in, which the brake on failed logins also counts: one
/// allocation holds 65,536 /64s. `None` for IPv4.
fn network_key(client: &str) -> Option<String> {
    match client.parse::<IpAddr>() {
        Ok(v6 @ IpAddr::V6(_)) => Some(format!("{}/48", network_of(v6, 48))),
        _ => None,
    }
}

/// Gives `brake` what it knew before a restart, from the audit trail: the addresses
/// users signed in from in the last [`crate::access::KNOWN_ADDRESS_FOR`] (`login`
/// entries), so that strangers' guesses do not lock users out of their own desks again;
/// then the failed logins of the last [`LOGIN_WINDOW`] (`login_failed`), so that a
/// restart gives no one fresh guesses. The trail records the first
/// [`crate::access::MAX_FAILED_LOGINS`] failures per address in the window, as many as
/// the brake needs to hold.
pub fn remember_logins(brake: &LoginBrake, state: &crate::state::StateDb) {
    let now = Utc::now();
    let clock = Instant::now();
    let days = crate::access::KNOWN_ADDRESS_FOR;
    for login in read_back(state, "login", days, now) {
        if let Some((client, ago)) = from_address(&login, now) {
            brake.remember(&login.actor, &brake_key(client), ago, clock);
        }
    }
    let mut failures = read_back(state, "login_failed", LOGIN_WINDOW, now);
    // Oldest first, as they were counted.
    failures.reverse();
    for failure in failures {
        if let Some((client, ago)) = from_address(&failure, now) {
            // "-": a name that is no user's, which the trail does not keep.
            let user = Some(failure.actor.as_str()).filter(|a| *a != "-");
            brake.failed_earlier(
                user,
                &brake_key(client),
                network_key(client).as_deref(),
                ago,
                clock,
            );
        }
    }
}

/// The audit trail's `action` entries of the last `window`, newest first; none (and a
/// warning) when the trail cannot be read.
fn read_back(
    state: &crate::state::StateDb,
    action: &str,
    window: std::time::Duration,
    now: chrono::DateTime<Utc>,
) -> Vec<crate::state::AuditEntry> {
    let since = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::days(30));
    state.audit_since(action, since, 10_000).unwrap_or_else(|error| {
        tracing::warn!(%error, action, "cannot read the audit trail back for the login brake; it starts without those entries");
        Vec::new()
    })
}

/// The address of a `login` or `login_failed` entry ("[unknown user name ]from ADDRESS[;
/// more …]"), and how long ago it was written.
fn from_address(
    entry: &crate::state::AuditEntry,
    now: chrono::DateTime<Utc>,
) -> Option<(&str, std::time::Duration)> {
    let (_, rest) = entry.detail.split_once("from ")?;
    let client = rest.split(';').next()?.trim();
    let ago = (now - entry.at).to_std().unwrap_or_default();
    (!client.is_empty()).then_some((client, ago))
}

/// Who is asking: the connection's peer, or where a trusted proxy says the request came
/// from (the right-most address in `X-Forwarded-For` that is not one of the proxies: a
/// client can write any address to the left of what its proxy appends).
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> String {
    let Some(peer) = peer.map(|p| p.to_canonical()) else {
        return "unknown".into();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .rev()
        .map_while(|hop| {
            let hop = hop.trim();
            // Some proxies write the client's port too: "203.0.113.9:5678", "[2001:db8::1]:5678".
            hop.parse::<IpAddr>()
                .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
                .ok()
                .map(|ip| ip.to_canonical())
        })
        .find(|hop| !trusted.contains(hop))
        .unwrap_or(peer)
        .to_string()
}

fn unauthorised() -> Response {
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "authentication required").into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"webcare\""),
    );
    response
}

/// 401 for a token past its expiry, saying so as RFC 6750 (3.1) has it, so that whoever
/// runs the script knows to ask for a new one rather than suspect the server.
fn expired_token() -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "the API token has expired; ask an administrator for a new one",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            "Bearer realm=\"webcare\", error=\"invalid_token\", error_description=\"The access token expired\"",
        ),
    );
    response
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    user: String,
    password: String,
}

/// `POST /api/login {"user","password"}`: a session cookie, or 401; 429 after too many
/// failures from one address or for one user name.
pub async fn login(
    State(state): State<Arc<AppState>>,
    connect: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    super::ApiJson(login): super::ApiJson<Login>,
) -> Result<Response, ApiError> {
    let peer = connect.map(|c| c.0 .0.ip());
    let client = client_address(peer, &headers, &state.trusted_proxies);
    // What was typed as a name is recorded only where it is a user's: a password typed
    // into the wrong field must not land in the audit trail.
    let (actor, unknown) = match state.users.current().get(&login.user) {
        Some(user) => (user.name.clone(), ""),
        None => ("-".to_string(), "unknown user name "),
    };
    let attempt = match state.limiter.begin(
        &brake_key(&client),
        network_key(&client).as_deref(),
        &login.user,
        Instant::now(),
    ) {
        Ok(attempt) => attempt,
        Err(LoginRefusal::Wait(wait)) => {
            audit_sampled(
                &state,
                &client,
                &actor,
                "login_blocked",
                format!("{unknown}from {client}"),
            );
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many failed logins; try again later",
            )
            .retry_after(wait.as_secs()));
        }
        Err(LoginRefusal::Busy(wait)) => return Err(too_many_at_once(wait.as_secs())),
    };
    let users = state.users.current();
    let name = login.user.clone();
    let checked = state
        .passwords
        .run(move || {
            users
                .check_password(&name, &login.password)
                .map(|u| (u.name.clone(), u.role, u.credential()))
        })
        .await;
    let user = match checked {
        Ok(user) => user,
        Err(busy) => {
            attempt.withdraw();
            return Err(busy);
        }
    };
    let Some((user, role, credential)) = user else {
        attempt.failed(Instant::now());
        // Counted when it began. Sampled like other refusals: the brake bounds one
        // address, not many.
        audit_sampled(
            &state,
            &client,
            &actor,
            "login_failed",
            format!("{unknown}from {client}"),
        );
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong user name or password",
        ));
    };
    attempt.succeeded(Instant::now());
    let token = random_hex(32);
    let now = Utc::now();
    let ttl = state.session_ttl;
    let expires = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12));
    state
        .state
        .create_session(&sha256_hex(&token), &user, &credential, now, expires)
        // The state database locked or full: the daemon is not broken, sign-in waits.
        .map_err(|e| ApiError::unavailable("the session could not be stored", e).retry_after(60))?;
    // Read back at start for the brake ([`remember_logins`]): the address as it is. No
    // session that the trail does not hold: one whose login cannot be recorded ends.
    if let Err(refused) = state.audit_plain(&user, "login", &format!("from {client}")) {
        if let Err(e) = state.state.delete_session(&sha256_hex(&token)) {
            tracing::error!(error = %e, "cannot delete a session");
        }
        return Err(refused);
    }
    let cookie = session_cookie(&token, ttl.as_secs(), state.secure_cookies);
    let mut response = Json(json!({ "user": user, "role": role })).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// `POST /api/logout`: ends the session of the cookie, if any.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    axum::Extension(principal): axum::Extension<Principal>,
    headers: HeaderMap,
) -> Response {
    let Some(session) = cookie(&headers, SESSION_COOKIE) else {
        // Signed in with a token: there is no session to end, and answering 200 would
        // say it ended.
        return super::ApiError::bad_request(
            "logout ends a browser session, and this request has none; a token is ended by revoking it (DELETE /api/admin/users/{name}/tokens/{id}, or `webcare token NAME --revoke ID`)",
        )
        .into_response();
    };
    if let Err(e) = state.state.delete_session(&sha256_hex(session)) {
        tracing::error!(error = %e, "cannot delete a session");
    }
    // Taking access away is never refused for want of its entry (the failure is logged).
    let _ = state.audit_as(&principal, "logout", "");
    let mut response = Json(json!({ "user": principal.user })).into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0, state.secure_cookies)) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// `GET /api/me`: who the credential belongs to.
pub async fn me(axum::Extension(principal): axum::Extension<Principal>) -> Json<serde_json::Value> {
    Json(json!({ "user": principal.user, "role": principal.role }))
}

fn session_cookie(token: &str, max_age: u64, secure: bool) -> String {
    let mut cookie =
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn the_client_behind_a_trusted_proxy_is_the_last_address_it_did_not_add_itself() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [proxy, inner];
        let client = |peer: &str, headers: &HeaderMap| {
            client_address(Some(peer.parse().unwrap()), headers, &trusted)
        };
        // What the proxy appended, not what the client wrote before it.
        let spoofed = forwarded(&["9.9.9.9, 5.6.7.8"]);
        assert_eq!(client("10.0.0.1", &spoofed), "5.6.7.8");
        // Through two proxies, in one header or several.
        assert_eq!(
            client("10.0.0.1", &forwarded(&["5.6.7.8, 10.0.0.2"])),
            "5.6.7.8"
        );
        assert_eq!(
            client("10.0.0.1", &forwarded(&["5.6.7.8", "10.0.0.2"])),
            "5.6.7.8"
        );
        assert_eq!(
            client("10.0.0.1", &forwarded(&["2001:db8::7"])),
            "2001:db8::7"
        );
        // No header, or nonsense in it: the proxy itself.
        assert_eq!(client("10.0.0.1", &HeaderMap::new()), "10.0.0.1");
        assert_eq!(client("10.0.0.1", &forwarded(&["unknown"])), "10.0.0.1");
        // The proxy on a dual-stack listener, as it reports IPv4 peers.
        assert_eq!(client("::ffff:10.0.0.1", &spoofed), "5.6.7.8");
        // From anyone else the header is not believed.
        assert_eq!(client("5.6.7.8", &forwarded(&["1.1.1.1"])), "5.6.7.8");
        // A proxy that writes the client's port too.
        assert_eq!(
            client("10.0.0.1", &forwarded(&["203.0.113.9:5678"])),
            "203.0.113.9"
        );
        assert_eq!(
            client("10.0.0.1", &forwarded(&["[2001:db8::1]:443"])),
            "2001:db8::1"
        );
        assert_eq!(
            client_address(None, &spoofed, &trusted),
            "unknown".to_string()
        );
    }

    #[test]
    fn refused_requests_are_recorded_a_few_per_address_and_a_thousand_in_all() {
        let brake = crate::access::LoginLimiter::default();
        let now = Instant::now();
        let from = |client: &str| sample(&brake, client, "auth_failed", now);
        for _ in 1..crate::access::MAX_FAILED_LOGINS {
            assert_eq!(from("192.0.2.1"), Some(None));
        }
        assert_eq!(from("192.0.2.1"), Some(Some("this address")));
        assert_eq!(from("192.0.2.1"), None);
        // Other kinds of refusal are counted apart.
        assert_eq!(
            sample(&brake, "192.0.2.1", "login_blocked", now),
            Some(None)
        );
        // Many addresses: a thousand rows in all, the last saying so.
        let recorded = (0..2_000u32)
            .filter_map(|i| from(&std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string()))
            .collect::<Vec<_>>();
        assert_eq!(
            recorded.len(),
            AUDITED_FROM_ALL - crate::access::MAX_FAILED_LOGINS
        );
        assert_eq!(recorded.last(), Some(&Some("any address")));
    }

    #[test]
    fn a_change_with_the_session_cookie_must_come_from_this_site() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        // No browser: a script, curl.
        assert!(!from_another_site(&headers(&[])));
        assert!(!from_another_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        // Typed into the address bar, a bookmark.
        assert!(!from_another_site(&headers(&[("sec-fetch-site", "none")])));
        // A page of a sibling host under the same domain, or of any other site.
        assert!(from_another_site(&headers(&[(
            "sec-fetch-site",
            "same-site"
        )])));
        assert!(from_another_site(&headers(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
        // Older browsers: Origin against Host.
        let same = [
            ("origin", "https://webcare.example.nl"),
            ("host", "webcare.example.nl"),
        ];
        assert!(!from_another_site(&headers(&same)));
        let sibling = [
            ("origin", "https://blog.example.nl"),
            ("host", "webcare.example.nl"),
        ];
        assert!(from_another_site(&headers(&sibling)));
        let port = [
            ("origin", "http://127.0.0.1:8081"),
            ("host", "127.0.0.1:8080"),
        ];
        assert!(from_another_site(&headers(&port)));
        let default_port = [
            ("origin", "https://webcare.example.nl"),
            ("host", "webcare.example.nl:443"),
        ];
        assert!(!from_another_site(&headers(&default_port)));
        assert!(from_another_site(&headers(&[
            ("origin", "null"),
            ("host", "127.0.0.1:8080")
        ])));
    }

    #[tokio::test]
    async fn password_checks_queue_for_a_permit_and_give_up_after_the_wait() {
        let gate = PasswordGate::new(1, std::time::Duration::from_millis(50));
        assert_eq!(gate.run(|| 7).await.unwrap(), 7);
        let held = gate.permits.clone().acquire_owned().await.unwrap();
        let refused = gate.run(|| 7).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.retry_after, Some(1));
        drop(held);
        assert_eq!(gate.run(|| 8).await.unwrap(), 8);
    }

    #[test]
    fn the_brakes_count_an_ipv6_client_by_its_network() {
        assert_eq!(brake_key("2001:db8:1:2:aaaa::7"), "2001:db8:1:2::/64");
        assert_eq!(brake_key("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(brake_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(brake_key("unknown"), "unknown");
    }
}
