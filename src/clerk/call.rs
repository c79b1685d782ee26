//! One HTTP call to Clerk (Frontend or Backend API): the client and its bound, the capped read of
//! the answer, and Clerk's error envelope turned into a [`ClerkError`].

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::RETRY_AFTER;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::error::{ClerkError, ClerkRefusal};
use super::wire::ErrorsWire;

/// Clerk's answers are small; anything above this is not Clerk.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// How long to hold off after a 429 that names no `Retry-After`: Clerk's sign-in window.
pub(super) const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(10);

/// How to reach Clerk: the HTTP client and the bound on each call.
#[derive(Debug, Clone)]
pub(crate) struct HttpSettings {
    /// Redirects off: Clerk's APIs never redirect, and a client that follows a 307 would send the
    /// password form on to wherever it points.
    pub(crate) http_client: reqwest::Client,
    /// Each call (connect, send, answer). Default: 10 s.
    pub(crate) timeout: Duration,
}

impl HttpSettings {
    /// The defaults: this crate's own HTTP client, 10 s per call.
    pub(crate) fn new() -> Result<Self, reqwest::Error> {
        let http_client = reqwest::Client::builder()
            .user_agent(concat!("clerk-basic-auth/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self { http_client, timeout: Duration::from_secs(10) })
    }
}

/// Sends `request` and reads the answer (at most 1 MiB): its headers and body when it is a
/// success, otherwise Clerk's error.
pub(super) async fn send(
    request: reqwest::RequestBuilder,
    call: &'static str,
) -> Result<(HeaderMap, Bytes), ClerkError> {
    let started = std::time::Instant::now();
    let answer = answer(request).await;
    crate::telemetry::clerk_call(call, answer.is_ok(), started.elapsed());
    answer
}

async fn answer(request: reqwest::RequestBuilder) -> Result<(HeaderMap, Bytes), ClerkError> {
    let mut response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let body = read_capped(response).await?;
    if status.is_success() {
        return Ok((headers, body));
    }
    Err(error_of(status, &headers, &body))
}

async fn read_capped(mut response: reqwest::Response) -> Result<Bytes, ClerkError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(malformed("an answer larger than 1 MiB"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn transport_error(error: reqwest::Error) -> ClerkError {
    if error.is_timeout() {
        ClerkError::Timeout
    } else if error.is_decode() || error.is_body() {
        ClerkError::Unreachable { reason: format!("the answer broke off: {}", error.without_url()) }
    } else {
        ClerkError::Unreachable { reason: error.without_url().to_string() }
    }
}

fn error_of(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ClerkError {
    let errors: Option<ErrorsWire> = serde_json::from_slice(body).ok();
    let trace_id = errors.as_ref().and_then(|errors| errors.clerk_trace_id.clone());
    if status == StatusCode::TOO_MANY_REQUESTS {
        return ClerkError::RateLimited { retry_after: retry_after(headers), trace_id };
    }
    if status.is_server_error() {
        return ClerkError::ServerError { status: status.as_u16(), trace_id };
    }
    match errors.and_then(|errors| errors.errors.into_iter().next()) {
        Some(error) => ClerkError::Refused(ClerkRefusal {
            status,
            lockout_expires_in: error.meta.lockout_expires_in_seconds.map(Duration::from_secs),
            message: error.long_message.filter(|m| !m.is_empty()).unwrap_or(error.message),
            code: error.code,
            trace_id,
        }),
        None => malformed(format!("{status} without a Clerk error body")),
    }
}

/// `Retry-After` in seconds (Clerk's form); a missing or unreadable value means Clerk's window.
fn retry_after(headers: &HeaderMap) -> Duration {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(DEFAULT_RETRY_AFTER, |seconds| Duration::from_secs(seconds.clamp(1, 3600)))
}

pub(super) fn malformed(reason: impl Into<String>) -> ClerkError {
    ClerkError::Malformed { reason: reason.into() }
}

/// JSON of a Clerk answer. The reason names where the parse failed but never quotes the input,
/// which holds tokens.
pub(super) fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T, ClerkError> {
    serde_json::from_slice(body).map_err(|error| {
        malformed(format!(
            "{what} answer is not the expected JSON ({:?} error at line {} column {})",
            error.classify(),
            error.line(),
            error.column()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (http::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn a_clerk_error_body_becomes_a_refusal() {
        let body = br#"{"errors":[{"code":"user_locked","message":"Account locked","long_message":"Your account is locked.","meta":{"lockout_expires_in_seconds":1800}}],"clerk_trace_id":"t-1"}"#;
        let ClerkError::Refused(refusal) = error_of(StatusCode::FORBIDDEN, &HeaderMap::new(), body) else {
            panic!("expected a refusal")
        };
        assert_eq!(refusal.code, "user_locked");
        assert_eq!(refusal.message, "Your account is locked.");
        assert_eq!(refusal.lockout_expires_in, Some(Duration::from_secs(1800)));
        assert_eq!(refusal.trace_id.as_deref(), Some("t-1"));
    }

    #[test]
    fn rate_limits_and_server_errors_are_classified_by_status() {
        let limited = error_of(StatusCode::TOO_MANY_REQUESTS, &headers(&[("retry-after", "7")]), b"{}");
        assert!(
            matches!(limited, ClerkError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(7))
        );
        let unreadable = error_of(StatusCode::TOO_MANY_REQUESTS, &headers(&[("retry-after", "soon")]), b"");
        assert!(
            matches!(unreadable, ClerkError::RateLimited { retry_after, .. } if retry_after == DEFAULT_RETRY_AFTER)
        );
        assert!(matches!(
            error_of(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html>"),
            ClerkError::ServerError { status: 502, .. }
        ));
        assert!(matches!(error_of(StatusCode::NOT_FOUND, &HeaderMap::new(), b"<html>"), ClerkError::Malformed { .. }));
    }

    #[test]
    fn parse_errors_never_quote_the_input() {
        // serde_json's own message would read: invalid type: string "eyJsecret", expected u64.
        let error = parse_json::<u64>(br#""eyJsecret""#, "token").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("token answer is not the expected JSON"), "{text}");
        assert!(!text.contains("eyJsecret"), "{text}");
    }
}
