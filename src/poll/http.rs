//! HTTP etiquette for every source: conditional GET, compression, timeouts, a size cap,
//! limited redirects, `Retry-After`, a User-Agent with a contact, and at most N requests
//! in flight per host.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::StatusCode;
use tokio::sync::Semaphore;

use crate::config;
use crate::sources::{Body, FetchRequest, Fetched};

/// Why a fetch failed. The scheduler decides what to do next from the variant.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("response body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("HTTP {status}")]
    Status { status: u16 },
    #[error("HTTP {status}; server asks to wait {wait:?}")]
    RetryAfter { status: u16, wait: Duration },
    #[error("too many redirects (more than {0})")]
    Redirects(usize),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("request failed: {0}")]
    Other(String),
}

/// The shared HTTP client with per-host limits.
pub struct Fetcher {
    client: reqwest::Client,
    settings: config::Poll,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Fetcher {
    pub fn new(settings: &config::Poll) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::limited(settings.max_redirects))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| FetchError::Other(e.to_string()))?;
        Ok(Fetcher {
            client,
            settings: settings.clone(),
            hosts: Mutex::new(HashMap::new()),
        })
    }

    fn host_slots(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self
            .hosts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        hosts
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.max_per_host)))
            .clone()
    }

    /// Performs `request`, waiting for a free slot on its host first.
    pub async fn fetch(&self, request: &FetchRequest) -> Result<Fetched, FetchError> {
        let host = request.url.host_str().unwrap_or_default().to_string();
        let slots = self.host_slots(&host);
        let _permit = slots
            .acquire()
            .await
            .map_err(|e| FetchError::Other(e.to_string()))?;
        let response = self
            .client
            .get(request.url.clone())
            .headers(request_headers(request))
            .send()
            .await
            .map_err(|e| self.classify(e))?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            if let Some(wait) = retry_after(response.headers()) {
                return Err(FetchError::RetryAfter {
                    status: status.as_u16(),
                    wait: wait.min(self.settings.backoff_max),
                });
            }
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
            });
        }
        let headers = response.headers().clone();
        let url = response.url().clone();
        let bytes = self.read_capped(response).await?;
        Ok(Fetched::Body(Body {
            url,
            content_type: header_text(&headers, header::CONTENT_TYPE),
            etag: header_text(&headers, header::ETAG),
            last_modified: header_text(&headers, header::LAST_MODIFIED),
            link: header_text(&headers, header::LINK),
            bytes,
        }))
    }

    /// Reads the body, refusing anything over the cap without buffering it whole.
    async fn read_capped(&self, mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let limit = self.settings.max_body_bytes;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if bytes.len() as u64 + chunk.len() as u64 > limit {
                return Err(FetchError::TooLarge { limit });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    fn classify(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout(self.settings.timeout)
        } else if e.is_redirect() {
            FetchError::Redirects(self.settings.max_redirects)
        } else if e.is_connect() {
            FetchError::Connect(source_chain(&e))
        } else {
            FetchError::Other(source_chain(&e))
        }
    }
}

fn request_headers(request: &FetchRequest) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static(request.accept));
    let mut put = |name, value: &Option<String>| {
        if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name, v);
        }
    };
    put(header::IF_NONE_MATCH, &request.etag);
    put(header::IF_MODIFIED_SINCE, &request.last_modified);
    headers
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// The error with its causes, for a message that says what actually went wrong.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        h.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
