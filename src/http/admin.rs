//! Admin endpoints: erasure, the audit trail and the user list.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Principal;
use super::{ApiError, AppState};
use crate::alerts::outbox::OutboxFilter;
use crate::search::Erasure;

/// Most audit entries one request returns.
const MAX_AUDIT_ENTRIES: usize = 1_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgetRequest {
    url: Option<String>,
    /// The raw handle, hashed the way authors are before anything is looked up; or the
    /// pseudonym the API shows (`p_…`), taken as it is.
    author: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// What a forget request names, as an erasure.
pub fn erasure_for(
    pipeline: &crate::pipeline::Pipeline,
    url: Option<&str>,
    author: Option<&str>,
) -> Result<Erasure, String> {
    match (url, author) {
        // As given: the post may have been stored before what the canonical form now
        // takes out of a link was taken out (`url_forms` matches both).
        (Some(url), None) => crate::pipeline::extract::canonical_url(url.trim())
            .map(|_| Erasure::Url(without_fragment(url.trim())))
            .ok_or_else(|| format!("{url:?} is not an http(s) URL")),
        (None, Some(handle)) => author_erasure(pipeline, handle.trim()),
        _ => Err("name exactly one of `url` or `author`".into()),
    }
}

/// `url` without its `#fragment`, which no stored permalink has.
fn without_fragment(url: &str) -> String {
    url.split_once('#').map_or(url, |(url, _)| url).to_string()
}

/// Staff see authors only as pseudonyms: one of those names its author as is (in any
/// case). Something that looks like one but is cut short or too long is refused: hashed
/// as a handle it would erase nothing, and say it had erased all there was.
fn author_erasure(pipeline: &crate::pipeline::Pipeline, handle: &str) -> Result<Erasure, String> {
    use crate::pipeline::pseudonym::is_pseudonym;
    // Pasted with what stood around it: quotes, brackets.
    let bare = handle.trim_matches(|c: char| "\"'`<>()[]«»“”‘’".contains(c));
    // "", "@": no one's handle, whose hash would go on the list of erasures.
    if !bare
        .trim_start_matches('@')
        .chars()
        .any(char::is_alphanumeric)
    {
        return Err(format!(
            "`author` {handle:?} names no one: give the handle (@name) or the pseudonym (p_…) as shown"
        ));
    }
    // A Reddit user as Reddit writes one: stored, and pseudonymised in text, by name.
    let bare = ["/u/", "u/", "/user/"]
        .iter()
        .find_map(|prefix| bare.strip_prefix(prefix))
        .unwrap_or(bare);
    // Hashed whole, an address would erase no one and answer 0 as if all were gone.
    if bare.starts_with("http://") || bare.starts_with("https://") {
        return Err(format!(
            "`author` {handle:?} is an address: give the handle as posts name the author (name, @name, name@instance, u/name) or the pseudonym (p_…) as shown"
        ));
    }
    let rest = bare.strip_prefix("p_").or_else(|| bare.strip_prefix("P_"));
    // Meant as one: all hex digits, or mostly, as a pseudonym copied with a typo, a
    // full stop or cut short with an ellipsis.
    let hex_digits = rest.map_or(0, |r| r.chars().filter(char::is_ascii_hexdigit).count());
    let meant = rest
        .is_some_and(|r| !r.is_empty() && (hex_digits == r.chars().count() || hex_digits >= 16));
    let pseudonym = format!("p_{}", rest.unwrap_or_default().to_ascii_lowercase());
    match (meant, is_pseudonym(&pseudonym)) {
        (true, true) => Ok(Erasure::Author(pseudonym)),
        (true, false) => Err(format!(
            "`author` looks like a pseudonym but is not one: a pseudonym is p_ and 24 hex digits (this has {hex_digits} and {} other characters); copy it whole from the mention (to erase a handle spelled like this, write it with its @)",
            rest.map_or(0, |r| r.chars().count()) - hex_digits
        )),
        (false, _) => Ok(Erasure::Author(pipeline.pseudonym(bare))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped_pipeline() -> crate::pipeline::Pipeline {
        let config = crate::config::Pipeline::with_topics(std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/topics"
        )));
        crate::pipeline::Pipeline::from_config(&config).unwrap()
    }

    #[test]
    fn a_reddit_user_is_erased_by_name_and_an_address_is_refused() {
        let pipeline = shipped_pipeline();
        let by_name = pipeline.pseudonym("RedditUser");
        // As the text's "u/RedditUser" is pseudonymised.
        assert!(pipeline.redact("zie u/RedditUser").contains(&by_name));
        for written in ["u/RedditUser", "/u/RedditUser", "@RedditUser", "reddituser"] {
            let erasure = author_erasure(&pipeline, written).unwrap();
            assert_eq!(erasure, Erasure::Author(by_name.clone()), "{written}");
        }
        for address in [
            "https://www.reddit.com/user/RedditUser",
            "https://social.example/@ayla",
        ] {
            let refused = author_erasure(&pipeline, address).unwrap_err();
            assert!(refused.contains("is an address"), "{refused}");
        }
    }

    #[test]
    fn a_pseudonym_pasted_in_quotes_or_brackets_is_taken_as_one() {
        let pipeline = shipped_pipeline();
        let pseudonym = "p_0123456789abcdef01234567";
        for pasted in [
            format!("\"{pseudonym}\""),
            format!("<{pseudonym}>"),
            pseudonym.to_uppercase(),
        ] {
            match author_erasure(&pipeline, &pasted) {
                Ok(Erasure::Author(p)) => assert_eq!(p, pseudonym, "{pasted}"),
                other => panic!("{pasted}: {other:?}"),
            }
        }
        assert!(author_erasure(&pipeline, "\"p_0123456789abcdef0123456\"").is_err());
        // No one's handle: refused, rather than its hash put on the list of erasures.
        for nobody in ["", "@", " @ "] {
            let error = erasure_for(&pipeline, None, Some(nobody)).unwrap_err();
            assert!(error.contains("names no one"), "{nobody:?}: {error}");
        }
    }
}

/// `POST /api/admin/forget {"url"|"author", "dry_run"?}`: erases and reports how many.
pub async fn forget(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    super::ApiJson(request): super::ApiJson<ForgetRequest>,
) -> Result<Json<Value>, ApiError> {
    let erasure = erasure_for(
        &state.pipeline,
        request.url.as_deref(),
        request.author.as_deref(),
    )
    .map_err(ApiError::bad_request)?;
    if request.dry_run {
        let index = state.index.clone();
        let what = erasure.clone();
        let preview = tokio::task::spawn_blocking(move || index.preview_erasure(&what, 20))
            .await
            .map_err(|e| ApiError::internal("the preview of the erasure failed", e))?
            .map_err(|e| ApiError::internal("the preview of the erasure failed", e))?;
        state.audit_as(
            &principal,
            "forget_dry_run",
            &format!("{}: {} mentions", erasure.audited(), preview.matching),
        )?;
        return Ok(Json(
            json!({ "dry_run": true, "matching": preview.matching, "examples": preview.examples }),
        ));
    }
    let writer = state.writer.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server does not write the index",
        )
    })?;
    // A task of its own: a client that hangs up (or a proxy's timeout) drops this
    // request, not the erasure's audit entry and clean-up, which its retry would find
    // nothing left to start.
    let erased = tokio::spawn(erase_everywhere(
        Arc::clone(&state),
        writer.clone(),
        erasure,
        principal.clone(),
    ))
    .await
    .map_err(|e| ApiError::internal("the erasure failed", e))??;
    Ok(Json(json!({ "erased": erased })))
}

/// Erases from the index, records it, and takes the erased mentions out of their copies
/// (incidents, stored mail, report files).
async fn erase_everywhere(
    state: Arc<AppState>,
    writer: crate::search::writer::WriterHandle,
    erasure: Erasure,
    principal: Principal,
) -> Result<usize, ApiError> {
    // On record before anything goes: an erasure cut short by a crash is carried out
    // at the next start ([`crate::search::MentionIndex::writer`]), but never answered.
    state.audit_as(&principal, "forget_requested", &erasure.audited())?;
    let erased = match writer.erase(erasure.clone()).await {
        Ok(erased) => erased,
        Err(error) => {
            // Asked for, and perhaps done later: an erasure whose index commit failed is
            // in `erased.json` if that could be written, and the next writer sweeps it.
            // The request is on record either way, so this entry's own failure (logged)
            // does not hide the erasure's.
            let _ = state.audit_as(
                &principal,
                "forget_failed",
                &format!(
                    "{}: not erased now (see the log); recorded erasures are applied when the index can be written again",
                    erasure.audited()
                ),
            );
            return Err(ApiError::internal("the erasure failed", error));
        }
    };
    // Recorded first: the mentions are gone even if a copy's clean-up fails below.
    // The request is on record: the outcome is answered even if its entry fails (logged).
    let _ = state.audit_as(
        &principal,
        "forget",
        &format!("{}: {erased} mentions", erasure.audited()),
    );
    // Even when nothing matched: the retry of an erasure whose clean-up was cut short
    // finds the mentions gone, and the copies are what is left. Reads the index and
    // rewrites stored mail and report files: off the async threads.
    let copies = Arc::clone(&state);
    tokio::task::spawn_blocking(move || {
        crate::retention::forget_in_copies(&copies.index, &copies.state, copies.exports.as_deref())
    })
    .await
    .map_err(|e| ApiError::internal("the erasure's clean-up of copies failed", e))?
    .map_err(|e| ApiError::internal("the erasure's clean-up of copies failed", e))?;
    if state.state.scrub_pending() {
        tokio::spawn(scrub_until_done(Arc::clone(&state.state)));
    }
    Ok(erased)
}

/// How often, and how many times, an erasure tries again to empty the state database's
/// log that a reader kept in use (then the retention run and the next start do).
const SCRUB_RETRY: std::time::Duration = std::time::Duration::from_secs(30);
const SCRUB_TRIES: usize = 20;

/// Empties the state database's log once no reader holds it, so that an erased quote
/// does not wait in it for the next erasure.
async fn scrub_until_done(state: Arc<crate::state::StateDb>) {
    for _ in 0..SCRUB_TRIES {
        tokio::time::sleep(SCRUB_RETRY).await;
        let db = Arc::clone(&state);
        match tokio::task::spawn_blocking(move || db.scrub()).await {
            Ok(Ok(())) if !state.scrub_pending() => return,
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot empty the state database's log"),
            _ => {}
        }
    }
}

/// `GET /api/admin/audit?since=&user=&limit=`: newest first.
pub async fn audit(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    params: super::Params,
) -> Result<Json<Value>, ApiError> {
    params.only(&["since", "user", "limit"])?;
    let limit = params.limit(MAX_AUDIT_ENTRIES, 100)?;
    let super::Params(params) = params;
    let since = params
        .get("since")
        .map(|v| super::parse_time("since", v, false, state.time_zone))
        .transpose()?;
    let entries = state
        .state
        .audit_entries(since, params.get("user").map(String::as_str), limit)
        .map_err(|e| ApiError::internal("reading the audit trail failed", e))?;
    state.audit_as(&principal, "audit_read", "")?;
    Ok(Json(json!({ "entries": entries })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetUser {
    name: String,
    role: crate::access::Role,
    password: String,
}

fn access_error(e: crate::access::AccessError) -> ApiError {
    match e {
        crate::access::AccessError::Usage(m) => ApiError::bad_request(m),
        e => ApiError::internal("changing the users file failed", e),
    }
}

/// `GET /api/admin/outbox?status=waiting|sent|given_up&limit=`: the mail, newest
/// first, with recipients, attempts and errors, without the text (which quotes
/// mentions) or files.
pub async fn outbox(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    params: super::Params,
) -> Result<Json<Value>, ApiError> {
    params.only(&["status", "limit"])?;
    let filter = match params.0.get("status") {
        None => OutboxFilter::All,
        Some(name) => OutboxFilter::parse(name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid parameter `status`: {:?}; use {}",
                crate::pipeline::extract::bounded(name, 64),
                OutboxFilter::NAMES
            ))
        })?,
    };
    let limit = params.limit(MAX_AUDIT_ENTRIES, 100)?;
    let messages = state
        .state
        .outbox_entries(filter, limit)
        .map_err(|e| ApiError::internal("reading the outbox failed", e))?;
    state.audit_as(&principal, "outbox_read", "")?;
    Ok(Json(json!({ "messages": messages })))
}

/// `POST /api/admin/users {"name","role","password"}`: adds a user or sets their role
/// and password (stored as an argon2 hash).
pub async fn set_user(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    super::ApiJson(request): super::ApiJson<SetUser>,
) -> Result<Json<Value>, ApiError> {
    let (name, role) = (request.name.clone(), request.role);
    // A name no user may have is refused before it is on record as asked for.
    crate::access::check_name_form(&name).map_err(ApiError::bad_request)?;
    // Access is granted only on record: the request first, as the change cannot be
    // taken back once made (a new password replaces the old hash).
    state.audit_plain_as(&principal, "user_set_requested", &format!("{name}: {role}"))?;
    // The change and its audit entry in a task of their own: a client that hangs up
    // while the password is hashed must not leave a password reset unrecorded.
    let task_state = Arc::clone(&state);
    let shown = name.clone();
    tokio::spawn(async move {
        let users = task_state.users.clone();
        // Argon2 is slow on purpose: off the async workers, as many at once as logins.
        let what = task_state
            .passwords
            .run(move || {
                users.update(|u| u.set_user(&request.name, request.role, &request.password))
            })
            .await?
            .map_err(access_error)?;
        // The request is on record: the outcome's entry failing (logged) does not undo it.
        let _ =
            task_state.audit_plain_as(&principal, "user_set", &format!("{shown}: {role}, {what}"));
        Ok::<_, ApiError>(())
    })
    .await
    .map_err(|e| ApiError::internal("changing the user failed", e))??;
    Ok(Json(json!({ "name": name, "role": role })))
}

/// `DELETE /api/admin/users/{name}`.
pub async fn remove_user(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if name == principal.user {
        return Err(ApiError::bad_request("you cannot remove yourself"));
    }
    let removed = state
        .users
        .update(|u| u.remove(&name))
        .map_err(access_error)?;
    if !removed {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            state.users.current().no_user(&name),
        ));
    }
    // Taking access away is never refused for want of its entry (the failure is logged).
    let _ = state.audit_plain_as(&principal, "user_remove", &name);
    Ok(Json(json!({ "removed": name })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// A duration ("90d", "12h") or "never"; the default is
    /// [`crate::access::DEFAULT_TOKEN_LIFETIME`].
    expires: Option<String>,
    /// What the token is for ("export script").
    label: Option<String>,
}

/// `POST /api/admin/users/{name}/tokens {"expires"?, "label"?}`: a new API token, shown
/// this once.
pub async fn add_token(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    // Read whatever the content type: a body sent without one must not be dropped for
    // the defaults (a token asked for a day would work for ninety).
    let request: NewToken = if body.iter().all(u8::is_ascii_whitespace) {
        NewToken::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))?
    };
    let lifetime = crate::access::parse_token_lifetime(request.expires.as_deref())
        .map_err(|m| ApiError::bad_request(format!("expires: {m}")))?;
    if state.users.current().get(&name).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            state.users.current().no_user(&name),
        ));
    }
    let (token, stored) = state
        .users
        .update(|u| u.add_token(&name, lifetime, request.label.as_deref(), Utc::now()))
        .map_err(access_error)?;
    // The label was typed: redacted; the account is named as it is.
    let summary = state.pipeline.redact(&stored.summary());
    // Granted only on record: a token whose entry cannot be written is never shown (a
    // secret nobody has grants nothing) and is revoked, so that the list does not show
    // it as one that works.
    if let Err(refused) =
        state.audit_plain_as(&principal, "token_add", &format!("{name}: {summary}"))
    {
        if let Err(e) = state.users.update(|u| u.revoke_token(&name, stored.id())) {
            tracing::error!(error = %e, user = %name, "cannot revoke a token that was not recorded");
        }
        return Err(refused);
    }
    Ok(Json(json!({
        "name": name,
        "token": token,
        "id": stored.id(),
        "label": stored.label,
        "expires": stored.expires,
    })))
}

/// `DELETE /api/admin/users/{name}/tokens/{id}`: ends one token (the id is in the
/// user list).
pub async fn revoke_token(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    // As the list shows it, and as the command line records it: the same id in capitals
    // is the same token, and the trail should name it one way.
    let id = id.trim().to_ascii_lowercase();
    let id = id.as_str();
    if state.users.current().get(&name).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            state.users.current().no_user(&name),
        ));
    }
    let revoked = state
        .users
        .update(|u| u.revoke_token(&name, id))
        .map_err(access_error)?;
    if !revoked {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no token of this user has that id",
        ));
    }
    // Taking access away is never refused for want of its entry (the failure is logged).
    let _ = state.audit_plain_as(&principal, "token_revoke", &format!("{name}: token {id}"));
    Ok(Json(json!({ "name": name, "revoked": id })))
}

/// `GET /api/admin/users`: names, roles and tokens by id and expiry (never hashes).
pub async fn users(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    state.audit_as(&principal, "users_read", "")?;
    let users = state.users.current();
    let now = Utc::now();
    let list: Vec<Value> = users
        .all()
        .iter()
        .map(|u| {
            let tokens: Vec<Value> = u
                .tokens
                .iter()
                .map(|t| {
                    json!({
                        "id": t.id(),
                        "label": t.label,
                        "created": t.created,
                        "expires": t.expires,
                        "expired": t.is_expired(now),
                    })
                })
                .collect();
            json!({ "name": u.name, "role": u.role, "tokens": tokens, "password": u.password_hash.is_some() })
        })
        .collect();
    Ok(Json(json!({ "users": list })))
}
