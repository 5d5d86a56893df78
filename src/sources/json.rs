//! Reading platform JSON with the path of every value at hand, so that a changed or broken
//! response names what is wrong: `mastodon: statuses[3].created_at: missing`.
//!
//! The adapters read fields one by one through [`At`] rather than deserialising into
//! structs: serde's derive would report "missing field `created_at`" without saying
//! which status, and the platforms add and drop optional fields all the time.

use std::fmt::Display;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use super::{Body, SourceError};

static NULL: Value = Value::Null;

/// Parses a response body as JSON. An HTML page (an error or login page served with
/// status 200), an empty body or a body cut off in the middle say so.
pub fn parse_body(kind: &str, body: &Body) -> Result<Value, SourceError> {
    let bytes = body
        .bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&body.bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let html = body
        .content_type
        .as_deref()
        .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
    let problem = match first {
        None => Some("the response is empty".to_string()),
        Some(b'<') => Some("expected JSON, got an HTML page".to_string()),
        Some(b'{' | b'[') => None,
        Some(_) if html => Some("expected JSON, got an HTML page".to_string()),
        Some(_) => None,
    };
    if let Some(problem) = problem {
        return Err(SourceError::Shape(format!(
            "{kind}: {problem} (from {}, content type {})",
            body.url,
            body.content_type.as_deref().unwrap_or("not given")
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let what = if e.is_eof() {
            "the JSON ends early; the response was cut off"
        } else {
            "the response is not valid JSON"
        };
        SourceError::Shape(format!("{kind}: {what} ({e})"))
    })
}

/// A JSON value and the path that led to it.
#[derive(Debug, Clone)]
pub struct At<'a> {
    value: &'a Value,
    path: String,
    kind: &'static str,
}

impl<'a> At<'a> {
    /// The whole response, named `name` in messages (e.g. `statuses` for a bare list).
    pub fn root(kind: &'static str, name: &str, value: &'a Value) -> At<'a> {
        At {
            value,
            path: name.to_string(),
            kind,
        }
    }

    pub fn value(&self) -> &'a Value {
        self.value
    }

    /// An error about this value: `kind: path: problem`.
    pub fn error(&self, problem: impl Display) -> SourceError {
        let path = if self.path.is_empty() {
            "response"
        } else {
            &self.path
        };
        SourceError::Shape(format!("{}: {path}: {problem}", self.kind))
    }

    fn child(&self, key: &str, value: &'a Value) -> At<'a> {
        let path = if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        };
        At {
            value,
            path,
            kind: self.kind,
        }
    }

    /// Field `key`, which must be present and not null.
    pub fn field(&self, key: &str) -> Result<At<'a>, SourceError> {
        self.opt(key)?
            .ok_or_else(|| self.child(key, &NULL).error("missing"))
    }

    /// Field `key`, or `None` when it is absent or null. This value must be an object.
    pub fn opt(&self, key: &str) -> Result<Option<At<'a>>, SourceError> {
        match self.value {
            Value::Object(map) => Ok(map
                .get(key)
                .filter(|v| !v.is_null())
                .map(|v| self.child(key, v))),
            other => Err(self.error(format!("expected an object, found {}", type_name(other)))),
        }
    }

    /// Field `key` as a string, which must be there.
    pub fn str_at(&self, key: &str) -> Result<&'a str, SourceError> {
        self.field(key)?.str()
    }

    /// Field `key` as a string, if present and not null.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, SourceError> {
        self.opt(key)?.map(|v| v.str()).transpose()
    }

    /// This value as a string where it is only a hint: of another type, `None`.
    pub fn hint(&self) -> Option<&'a str> {
        self.value.as_str()
    }

    /// Field `key` where it is only a hint (a language, a content warning, a flag):
    /// absent, null, or this value no object, `None` — a malformed hint must not cost
    /// the item.
    pub fn hint_at(&self, key: &str) -> Option<At<'a>> {
        self.opt(key).ok().flatten()
    }

    /// Field `key` as a string where it is only a hint ([`At::hint_at`]); of another
    /// type, `None`.
    pub fn hint_str(&self, key: &str) -> Option<&'a str> {
        self.hint_at(key).and_then(|v| v.value.as_str())
    }

    /// Field `key` as true or false where it is only a hint (a flag): as
    /// [`At::hint_str`].
    pub fn hint_bool(&self, key: &str) -> Option<bool> {
        let value = self.hint_at(key)?.value;
        // Some servers write flags as strings ("noindex": "true").
        value.as_bool().or(match value.as_str().map(str::trim) {
            Some(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Some(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        })
    }

    pub fn str(&self) -> Result<&'a str, SourceError> {
        self.value.as_str().ok_or_else(|| self.wrong("a string"))
    }

    pub fn f64(&self) -> Result<f64, SourceError> {
        self.value.as_f64().ok_or_else(|| self.wrong("a number"))
    }

    pub fn u64(&self) -> Result<u64, SourceError> {
        self.value
            .as_u64()
            .ok_or_else(|| self.wrong("a whole number"))
    }

    pub fn bool(&self) -> Result<bool, SourceError> {
        self.value
            .as_bool()
            .ok_or_else(|| self.wrong("true or false"))
    }

    /// The elements of a list, each with its index in the path.
    pub fn items(&self) -> Result<Vec<At<'a>>, SourceError> {
        let Value::Array(items) = self.value else {
            return Err(self.wrong("a list"));
        };
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| At {
                value,
                path: format!("{}[{i}]", self.path),
                kind: self.kind,
            })
            .collect())
    }

    /// An id, which platforms send as a string or as a number.
    pub fn id(&self) -> Result<String, SourceError> {
        match self.value {
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            Value::Number(n) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
            _ => Err(self.wrong("an id (a string or a whole number)")),
        }
    }

    /// A time in RFC 3339, or without an offset (Lemmy before 0.19), read as UTC.
    pub fn time(&self) -> Result<DateTime<Utc>, SourceError> {
        let text = self.str()?;
        parse_time(text).ok_or_else(|| {
            // Quoted only when it could be a time written otherwise: the error reaches
            // the log and the API, and a field can hold anything ("Fatima, fatima@…").
            let looks_like_a_time = text.len() <= 40
                && text
                    .chars()
                    .all(|c| c.is_ascii_digit() || " -:./TZ+,".contains(c));
            self.error(if looks_like_a_time {
                format!("expected a date and time, found {text:?}")
            } else {
                format!(
                    "expected a date and time, found text of {} characters",
                    text.chars().count()
                )
            })
        })
    }

    /// Seconds since 1970, whole or not (Reddit's `created_utc`).
    pub fn unix_time(&self) -> Result<DateTime<Utc>, SourceError> {
        let secs = self.f64()?;
        let millis = (secs * 1000.0).round();
        DateTime::from_timestamp_millis(millis as i64)
            .filter(|_| millis.is_finite())
            .ok_or_else(|| self.error(format!("{secs} is not a time")))
    }

    fn wrong(&self, expected: &str) -> SourceError {
        self.error(format!(
            "expected {expected}, found {}",
            type_name(self.value)
        ))
    }
}

/// RFC 3339, or an ISO 8601 date and time without offset taken as UTC.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(bytes: &[u8], content_type: &str) -> Body {
        Body {
            url: url::Url::parse("https://m.example/api").unwrap(),
            content_type: Some(content_type.to_string()),
            etag: None,
            last_modified: None,
            link: None,
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn errors_name_the_path() {
        let v: Value =
            serde_json::from_str(r#"[{"id":"1","created_at":"2026-11-20T10:00:00Z"},{"id":"2"}]"#)
                .unwrap();
        let statuses = At::root("mastodon", "statuses", &v).items().unwrap();
        assert!(statuses[0].field("created_at").unwrap().time().is_ok());
        let err = statuses[1].field("created_at").unwrap_err().to_string();
        assert!(
            err.contains("mastodon: statuses[1].created_at: missing"),
            "{err}"
        );
        let err = statuses[1]
            .field("id")
            .unwrap()
            .u64()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("statuses[1].id: expected a whole number, found a string"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_time_is_quoted_only_when_it_could_be_one() {
        let v: Value = serde_json::from_str(
            r#"[{"t":"20-11-2026 10:00"},{"t":"Fatima Haddad, fatima.haddad@example.org, 0612345678"}]"#,
        )
        .unwrap();
        let items = At::root("bluesky", "posts", &v).items().unwrap();
        let err = |i: usize| items[i].field("t").unwrap().time().unwrap_err().to_string();
        assert!(err(0).contains(r#"found "20-11-2026 10:00""#), "{}", err(0));
        let hidden = err(1);
        assert!(hidden.contains("found text of 52 characters"), "{hidden}");
        assert!(
            !hidden.contains("atima") && !hidden.contains('@'),
            "{hidden}"
        );
    }

    #[test]
    fn html_empty_and_truncated_bodies_are_named() {
        let err = parse_body("reddit", &body(b"<!doctype html><p>down", "text/html"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("reddit: expected JSON, got an HTML page"),
            "{err}"
        );
        let err = parse_body("reddit", &body(b"  ", "application/json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("empty"), "{err}");
        let err = parse_body(
            "reddit",
            &body(br#"{"data":{"children":[{"#, "application/json"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("cut off"), "{err}");
        assert!(parse_body("reddit", &body(b"\xEF\xBB\xBF{}", "application/json")).is_ok());
    }

    #[test]
    fn times_with_and_without_offset() {
        assert!(parse_time("2023-08-07T13:35:18.433381").is_some());
        assert!(parse_time("2023-08-07T13:35:18.433381Z").is_some());
        assert!(parse_time("2023-08-07T15:35:18+02:00").is_some());
        assert!(parse_time("yesterday").is_none());
        let v = serde_json::json!({"created_utc": 1574357468.0});
        let t = At::root("reddit", "", &v)
            .field("created_utc")
            .unwrap()
            .unix_time()
            .unwrap();
        assert_eq!(t.timestamp(), 1574357468);
    }
}
