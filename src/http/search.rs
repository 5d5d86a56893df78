//! `GET /api/search?q=&lang=&source=&aspect=&complaint=&from=&to=&limit=&offset=&sort=`

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};

use super::auth::Principal;
use super::{ApiError, AppState};
use crate::search::query::SearchError;
use crate::search::{Hit, SearchRequest, SearchResults, Sort};

const PARAMS: &[&str] = &[
    "q",
    "lang",
    "source",
    "aspect",
    "complaint",
    "from",
    "to",
    "limit",
    "offset",
    "sort",
];

pub async fn search(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    params: super::Params,
) -> Result<Json<SearchResults>, ApiError> {
    params.only(PARAMS)?;
    let request = parse_request(&params.0, state.time_zone)?;
    state.audit_as(&principal, "search", &request.describe())?;
    let index = state.index.clone();
    let configured = state.source_names.clone();
    let languages = state.languages.clone();
    let results =
        tokio::task::spawn_blocking(move || index.search_known(&request, &configured, &languages))
            .await
            .map_err(|e| ApiError::internal("the search failed", e))?;
    results.map(Json).map_err(|e| match e {
        e @ SearchError::Index(_) => ApiError::internal("the search failed", e),
        e => ApiError::bad_request(e.to_string()),
    })
}

/// `GET /api/mentions/{id}`: one mention with its whole text (audited as opened).
pub async fn mention(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Hit>, ApiError> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(
            "invalid mention id: 32 hexadecimal digits expected",
        ));
    }
    // Ids are written in lower case; the same digits in capitals are the same id.
    let id = id.to_ascii_lowercase();
    let index = state.index.clone();
    let lookup = id.clone();
    let hit = tokio::task::spawn_blocking(move || index.mention(&lookup))
        .await
        .map_err(|e| ApiError::internal("reading the mention failed", e))?
        .map_err(|e| ApiError::internal("reading the mention failed", e))?;
    state.audit_as(&principal, "open", &id)?;
    hit.map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no mention with this id"))
}

/// Turns query parameters (only [`PARAMS`]) into a request, naming the parameter that is
/// wrong.
pub fn parse_request(
    params: &HashMap<String, String>,
    tz: chrono_tz::Tz,
) -> Result<SearchRequest, ApiError> {
    let text = |key: &str| {
        params
            .get(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    Ok(SearchRequest {
        q: text("q").unwrap_or_default(),
        lang: text("lang"),
        source: text("source"),
        aspect: text("aspect").map(|a| parse_aspect(&a)).transpose()?,
        complaint: text("complaint")
            .map(|v| parse_bool("complaint", &v))
            .transpose()?,
        from: text("from")
            .map(|v| parse_time("from", &v, false, tz))
            .transpose()?,
        to: text("to")
            .map(|v| parse_time("to", &v, true, tz))
            .transpose()?,
        limit: text("limit")
            .map(|v| parse_number("limit", &v))
            .transpose()?,
        offset: text("offset")
            .map(|v| parse_number("offset", &v))
            .transpose()?,
        sort: text("sort").map(|v| parse_sort(&v)).transpose()?,
    })
}

fn parse_aspect(value: &str) -> Result<String, ApiError> {
    use crate::pipeline::aspects::ASPECTS;
    if ASPECTS.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(ApiError::bad_request(format!(
            "invalid parameter `aspect`: {value:?}; known aspects: {}",
            ASPECTS.join(", ")
        )))
    }
}

fn parse_bool(param: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(ApiError::bad_request(format!(
            "invalid parameter `{param}`: {other:?}; use \"true\" or \"false\""
        ))),
    }
}

fn parse_number(param: &str, value: &str) -> Result<usize, ApiError> {
    value.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid parameter `{param}`: {value:?} is not a whole number"
        ))
    })
}

fn parse_sort(value: &str) -> Result<Sort, ApiError> {
    match value {
        "newest" => Ok(Sort::Newest),
        "relevance" => Ok(Sort::Relevance),
        other => Err(ApiError::bad_request(format!(
            "invalid parameter `sort`: {other:?}; use \"newest\" or \"relevance\""
        ))),
    }
}

/// RFC 3339 (`2026-11-20T08:00:00Z`) or a date (`2026-11-20`): a date as `from` means its
/// start, as `to` its end, on the clocks of `tz` (the team's days, as the weekly export
/// counts them: a post at 00:30 in Amsterdam belongs to that day, not to the one before).
pub fn parse_time(
    param: &str,
    value: &str,
    end_of_day: bool,
    tz: chrono_tz::Tz,
) -> Result<DateTime<Utc>, ApiError> {
    let invalid = || {
        ApiError::bad_request(format!(
            "invalid parameter `{param}`: {value:?} is not a date (2026-11-20) or an RFC 3339 time (2026-11-20T08:00:00Z)"
        ))
    };
    // A year of four digits, as both forms write it: chrono also reads "+2026" and
    // "-0001" as years.
    let year = value.as_bytes().get(..5);
    if !year.is_some_and(|y| y[..4].iter().all(u8::is_ascii_digit) && y[4] == b'-') {
        return Err(invalid());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| invalid())?;
    let time = if end_of_day {
        date.and_hms_opt(23, 59, 59)
    } else {
        date.and_hms_opt(0, 0, 0)
    };
    // A time the clocks skip (a zone that moves them at midnight) is read an hour later,
    // when the day has begun; one they pass twice, at its first reading.
    time.and_then(|t| {
        t.and_local_timezone(tz).earliest().or_else(|| {
            (t + chrono::Duration::hours(1))
                .and_local_timezone(tz)
                .earliest()
        })
    })
    .map(|t| t.with_timezone(&Utc))
    .ok_or_else(|| ApiError::bad_request(format!("invalid parameter `{param}`: {value:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A date is a day of the team's time zone, winter or summer; a time is as written.
    #[test]
    fn a_date_is_a_day_on_the_teams_clocks() {
        let tz = chrono_tz::Europe::Amsterdam;
        let at = |value: &str, end: bool| parse_time("from", value, end, tz).unwrap().to_rfc3339();
        assert_eq!(at("2026-11-16", false), "2026-11-15T23:00:00+00:00");
        assert_eq!(at("2026-11-16", true), "2026-11-16T22:59:59+00:00");
        assert_eq!(at("2026-07-01", false), "2026-06-30T22:00:00+00:00");
        assert_eq!(
            at("2026-11-16T00:30:00+01:00", false),
            "2026-11-15T23:30:00+00:00"
        );
        let utc = parse_time("to", "2026-11-16", true, chrono_tz::UTC).unwrap();
        assert_eq!(utc.to_rfc3339(), "2026-11-16T23:59:59+00:00");
        // Santiago moves its clocks at midnight: 2026-09-06 begins at 01:00.
        let santiago = parse_time("from", "2026-09-06", false, chrono_tz::America::Santiago);
        assert_eq!(santiago.unwrap().to_rfc3339(), "2026-09-06T04:00:00+00:00");
        let err = parse_time("from", "16-11-2026", false, tz).err().unwrap();
        assert!(err.message().contains("`from`"), "{}", err.message());
        for signed in [
            "+2026-11-20",
            "-2026-11-20",
            "-0001-01-01",
            "+2026-11-20T08:00:00Z",
        ] {
            let err = parse_time("from", signed, false, tz).err().unwrap();
            assert!(err.message().contains("is not a date"), "{signed}");
        }
    }
}
