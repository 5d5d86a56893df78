//! `GET /api/sources`: each source's last poll, last error, items seen and kept.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::AppState;

pub async fn sources(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({ "sources": state.board.snapshot() }))
}
