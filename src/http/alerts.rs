//! `GET /api/alerts`, `GET /api/alerts/{id}`, and acknowledging or resolving one with a
//! note (`POST /api/alerts/{id}/acknowledge`, `POST /api/alerts/{id}/resolve`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Principal;
use super::{ApiError, AppState};
use crate::alerts::incidents::{Incident, Status};

const MAX_ALERTS: usize = 500;

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal("reading or writing the alerts failed", e)
}

fn with_search(state: &AppState, incident: &Incident) -> Value {
    let window_start = incident.last_signal
        - chrono::Duration::from_std(state.alerts_window).unwrap_or(chrono::Duration::days(1));
    let mut value = serde_json::to_value(incident).unwrap_or(Value::Null);
    value["search"] = json!(incident.search_path(window_start));
    value
}

/// `GET /api/alerts?status=open|acknowledged|resolved|closed&limit=`: newest first.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    super::Params(params): super::Params,
) -> Result<Json<Value>, ApiError> {
    if let Some(unknown) = params
        .keys()
        .find(|k| !["status", "limit"].contains(&k.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "unknown parameter `{unknown}`; known: status, limit"
        )));
    }
    let status = match params.get("status").map(String::as_str) {
        None => None,
        Some("open") => Some(Status::Open),
        Some("acknowledged") => Some(Status::Acknowledged),
        Some("resolved") => Some(Status::Resolved),
        Some("closed") => Some(Status::Closed),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid parameter `status`: {other:?}; use open, acknowledged, resolved or closed"
            )))
        }
    };
    let limit = match params.get("limit") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_ALERTS).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "invalid parameter `limit`: {v:?}; a number from 1 to {MAX_ALERTS}"
                ))
            })?,
        None => 100,
    };
    let incidents = state.state.incidents(status, limit).map_err(internal)?;
    // The alerts quote mentions, as a search does: read like one, audited like one —
    // once per user and view in the window, as a dashboard asks every half minute and
    // each row is kept for a year.
    let shown = params.get("status").map_or("any", String::as_str);
    let key = format!("alerts_read:{}:{shown}", principal.user);
    let now = std::time::Instant::now();
    if state.audit_brake.blocked_after(&[&key], now, 1).is_none() {
        state.audit_brake.record_failure(&[&key], now);
        state.audit_as(
            &principal,
            "alerts_read",
            &format!(
                "status={shown}: {} alerts (the same view again within {} minutes is not recorded)",
                incidents.len(),
                crate::access::LOGIN_WINDOW.as_secs() / 60
            ),
        );
    }
    let list: Vec<Value> = incidents.iter().map(|i| with_search(&state, i)).collect();
    Ok(Json(json!({ "alerts": list })))
}

fn parse_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad_request("invalid alert id: a positive whole number expected"))
}

/// `GET /api/alerts/{id}`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    match state.state.incident(id).map_err(internal)? {
        Some(i) => {
            state.audit_as(&principal, "alert_open", &format!("alert {id}"));
            Ok(Json(with_search(&state, &i)))
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no alert with this id",
        )),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    #[serde(default)]
    note: String,
}

/// Longest note accepted.
const MAX_NOTE_CHARS: usize = 2_000;

async fn set_status(
    state: &AppState,
    principal: &Principal,
    id: &str,
    status: Status,
    note: &str,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(id)?;
    // One note is one line of the incident's history: a line break would let it write
    // lines that look like someone else's.
    let note: String = note
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    if note.chars().any(crate::access::misleads) {
        return Err(ApiError::bad_request(
            "the note holds control or direction characters",
        ));
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::bad_request(format!(
            "the note is longer than {MAX_NOTE_CHARS} characters"
        )));
    }
    let current = state
        .state
        .incident(id)
        .map_err(internal)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no alert with this id"))?;
    // Acknowledging would make a finished incident followed again, and resolving it
    // again would move when it was closed.
    if !current.status.is_active() {
        let verb = match status {
            Status::Resolved => "resolved",
            _ => "acknowledged",
        };
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "alert {id} is {}; only an open or acknowledged alert can be {verb}",
                current.status.as_str_public()
            ),
        ));
    }
    // Staff write about people too ("mevrouw X belde, 06-…"): personal data out, as
    // from everything else that is kept.
    let note = format!(
        "{} ({})",
        state.pipeline.redact(note.trim()),
        principal.user
    );
    let updated = state
        .state
        .set_incident_status(id, status, &note, chrono::Utc::now())
        .map_err(internal)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no alert with this id"))?;
    let action = match status {
        Status::Resolved => "alert_resolve",
        _ => "alert_acknowledge",
    };
    state.audit_as(principal, action, &format!("alert {id}"));
    Ok(Json(with_search(state, &updated)))
}

/// `POST /api/alerts/{id}/acknowledge {"note"?}`: seen, being handled; still followed.
pub async fn acknowledge(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    body: Option<super::ApiJson<Note>>,
) -> Result<Json<Value>, ApiError> {
    let note = body.map(|super::ApiJson(n)| n.note).unwrap_or_default();
    set_status(&state, &principal, &id, Status::Acknowledged, &note).await
}

/// `POST /api/alerts/{id}/resolve {"note"?}`: handled; a new signal opens a new alert.
pub async fn resolve(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    body: Option<super::ApiJson<Note>>,
) -> Result<Json<Value>, ApiError> {
    let note = body.map(|super::ApiJson(n)| n.note).unwrap_or_default();
    set_status(&state, &principal, &id, Status::Resolved, &note).await
}
