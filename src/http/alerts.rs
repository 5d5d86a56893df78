//! `GET /api/alerts`, `GET /api/alerts/{id}`, and acknowledging or resolving one with a
//! note (`POST /api/alerts/{id}/acknowledge`, `POST /api/alerts/{id}/resolve`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Principal;
use super::{ApiError, AppState};
use crate::alerts::incidents::{Incident, Status};
use crate::alerts::outbox::MailStatus;

const MAX_ALERTS: usize = 500;

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal("reading or writing the alerts failed", e)
}

/// Where the alerts' mail stands, by incident: `mailed` says only that it was queued.
fn mail_statuses(state: &AppState) -> Result<HashMap<i64, MailStatus>, ApiError> {
    state.state.mail_statuses().map_err(internal)
}

/// An incident as the API shows it: with the search that lists its mentions and where
/// its mail stands (counts only: the errors name the recipients, for admins to read in
/// `/api/admin/outbox`).
fn as_shown(state: &AppState, incident: &Incident, mail: &HashMap<i64, MailStatus>) -> Value {
    let window_start = incident.last_signal
        - chrono::Duration::from_std(state.alerts_window).unwrap_or(chrono::Duration::days(1));
    let mut value = serde_json::to_value(incident).unwrap_or(Value::Null);
    value["search"] = json!(incident.search_path(window_start));
    value["mail"] = json!(mail.get(&incident.id).cloned().unwrap_or_default());
    value
}

/// `GET /api/alerts?status=open|acknowledged|resolved|closed&limit=`: newest first.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    params: super::Params,
) -> Result<Json<Value>, ApiError> {
    params.only(&["status", "limit"])?;
    let status = match params.0.get("status").map(String::as_str) {
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
    let limit = params.limit(MAX_ALERTS, 100)?;
    let incidents = state.state.incidents(status, limit).map_err(internal)?;
    // The alerts quote mentions, as a search does: read like one, audited like one —
    // once per user and list in the window, as a dashboard asks every half minute and
    // each row is kept for a year. A list with another alert in it is another reading.
    let shown = params.0.get("status").map_or("any", String::as_str);
    let ids: Vec<String> = incidents.iter().map(|i| i.id.to_string()).collect();
    let key = format!(
        "alerts_read:{}:{shown}:{}",
        principal.user,
        crate::access::sha256_hex(&ids.join(","))
    );
    let now = std::time::Instant::now();
    if state.audit_brake.blocked_after(&[&key], now, 1).is_none() {
        state.audit_as(
            &principal,
            "alerts_read",
            &format!(
                "status={shown}: {} alerts{} (the same list again within {} minutes is not recorded)",
                incidents.len(),
                listed_ids(&ids),
                crate::access::LOGIN_WINDOW.as_secs() / 60
            ),
        )?;
        // Only once it is on record: a view that could not be is recorded next time.
        state.audit_brake.record_failure(&[&key], now);
    }
    let mail = mail_statuses(&state)?;
    let list: Vec<Value> = incidents
        .iter()
        .map(|i| as_shown(&state, i, &mail))
        .collect();
    Ok(Json(json!({ "alerts": list })))
}

/// Alerts listed at most by id in an `alerts_read` entry.
const LISTED_IDS: usize = 20;

/// " #12 #11 #9" (and how many more), as the trail names the alerts a user saw.
fn listed_ids(ids: &[String]) -> String {
    let mut listed: String = ids
        .iter()
        .take(LISTED_IDS)
        .map(|id| format!(" #{id}"))
        .collect();
    if ids.len() > LISTED_IDS {
        listed.push_str(&format!(" and {} more", ids.len() - LISTED_IDS));
    }
    listed
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
            state.audit_as(&principal, "alert_open", &format!("alert {id}"))?;
            Ok(Json(as_shown(&state, &i, &mail_statuses(&state)?)))
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
    let action = match status {
        Status::Resolved => "alert_resolve",
        _ => "alert_acknowledge",
    };
    // On record before the change (it closes an alert for everyone); an alert that is
    // not there is answered as such, not recorded.
    if state.state.incident(id).map_err(internal)?.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no alert with this id",
        ));
    }
    state.audit_as(principal, action, &format!("alert {id}"))?;
    let updated = state
        .state
        .set_incident_status(id, status, &note, chrono::Utc::now())
        .map_err(internal)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no alert with this id"))?;
    Ok(Json(as_shown(state, &updated, &mail_statuses(state)?)))
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
