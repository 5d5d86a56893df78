//! Admin endpoints: erasure, the audit trail and the user list.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Principal;
use super::{ApiError, AppState};
use crate::search::Erasure;

/// Most audit entries one request returns.
const MAX_AUDIT_ENTRIES: usize = 1_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgetRequest {
    url: Option<String>,
    /// The raw handle; it is hashed the way authors are before anything is looked up.
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
        (Some(url), None) => crate::pipeline::extract::canonical_url(url.trim())
            .map(Erasure::Url)
            .ok_or_else(|| format!("{url:?} is not an http(s) URL")),
        (None, Some(handle)) if !handle.trim().is_empty() => {
            Ok(Erasure::Author(pipeline.pseudonym(handle)))
        }
        _ => Err("name exactly one of `url` or `author`".into()),
    }
}

/// `POST /api/admin/forget {"url"|"author", "dry_run"?}`: erases and reports how many.
pub async fn forget(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Json(request): Json<ForgetRequest>,
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
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        state.audit(
            &principal.user,
            "forget_dry_run",
            &format!("{}: {} mentions", erasure.describe(), preview.matching),
        );
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
    let erased = writer
        .erase(erasure.clone())
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    state.audit(
        &principal.user,
        "forget",
        &format!("{}: {erased} mentions", erasure.describe()),
    );
    Ok(Json(json!({ "erased": erased })))
}

/// `GET /api/admin/audit?since=&user=&limit=`: newest first.
pub async fn audit(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    if let Some(unknown) = params
        .keys()
        .find(|k| !["since", "user", "limit"].contains(&k.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "unknown parameter `{unknown}`; known: since, user, limit"
        )));
    }
    let since = params
        .get("since")
        .map(|v| super::parse_time("since", v, false))
        .transpose()?;
    let limit = match params.get("limit") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_AUDIT_ENTRIES).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "invalid parameter `limit`: {v:?}; a number from 1 to {MAX_AUDIT_ENTRIES}"
                ))
            })?,
        None => 100,
    };
    let entries = state
        .state
        .audit_entries(since, params.get("user").map(String::as_str), limit)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    state.audit(&principal.user, "audit_read", "");
    Ok(Json(json!({ "entries": entries })))
}

/// `GET /api/admin/users`: names and roles (never hashes).
pub async fn users(State(state): State<Arc<AppState>>) -> Json<Value> {
    let users = state.users.current();
    let list: Vec<Value> = users
        .all()
        .iter()
        .map(|u| json!({ "name": u.name, "role": u.role, "tokens": u.tokens.len(), "password": u.password_hash.is_some() }))
        .collect();
    Json(json!({ "users": list }))
}
