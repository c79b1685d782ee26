//! The Clerk Frontend API client: password sign-in, organization activation, token minting and
//! the JWKS, in Clerk's native mode (`_is_native=1`, client token in `Authorization`), as
//! clerk-ios, clerk-android and clerk-expo speak it.

use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{AUTHORIZATION, RETRY_AFTER};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use super::credentials::Credentials;
use super::error::{ClerkRefusal, FapiError};
use super::frontend_api::FrontendApi;
use super::wire::{Envelope, ErrorsWire, SessionWire, SignInWire, TokenWire};
use crate::clock::from_unix_millis;
use crate::secret::Secret;

/// The Frontend API version whose wire format this client speaks.
const API_VERSION: &str = "2025-11-10";
/// Clerk's answers are small; anything above this is not Clerk.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// How long to hold off after a 429 that names no `Retry-After`: Clerk's sign-in window.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(10);

/// How to reach Clerk: the HTTP client and the bound on each call.
#[derive(Debug, Clone)]
pub(crate) struct FapiSettings {
    /// Redirects off: Clerk's API never redirects, and a client that follows a 307 would send the
    /// password form on to wherever it points.
    pub(crate) http_client: reqwest::Client,
    /// Each call (connect, send, answer). Default: 10 s.
    pub(crate) timeout: Duration,
}

impl FapiSettings {
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

/// A client of one Clerk instance's Frontend API.
#[derive(Clone)]
pub(crate) struct FapiClient {
    http: reqwest::Client,
    api: FrontendApi,
    timeout: Duration,
}

/// A session Clerk created or refreshed, with its current token.
#[derive(Debug, Clone)]
pub(crate) struct ClerkSession {
    pub(crate) id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) jwt: Secret,
    pub(crate) expires_at: Option<SystemTime>,
    pub(crate) active_organization_id: Option<String>,
}

/// A completed password sign-in: the native client token and the session it created.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    pub(crate) client_token: Secret,
    pub(crate) session: ClerkSession,
}

/// A successful answer to a call made with a client token: Clerk may hand back a new one.
#[derive(Debug)]
pub(crate) struct Reply<T> {
    pub(crate) value: T,
    pub(crate) client_token: Option<Secret>,
}

impl FapiClient {
    pub(crate) fn new(api: FrontendApi, settings: &FapiSettings) -> Self {
        Self { http: settings.http_client.clone(), api, timeout: settings.timeout }
    }

    /// `POST /v1/client/sign_ins` with the password strategy, as a new native client.
    pub(crate) async fn sign_in(&self, credentials: &Credentials) -> Result<SignedIn, FapiError> {
        let form =
            [("strategy", "password"), ("identifier", credentials.identifier()), ("password", credentials.password())];
        let (headers, body) = self.post(&["v1", "client", "sign_ins"], None, &form).await?;
        let client_token = client_token_of(&headers).ok_or_else(|| FapiError::Malformed {
            reason: "no client token in the Authorization response header (is the Native API enabled?)".into(),
        })?;
        let envelope: Envelope<SignInWire> = parse_json(&body, "sign-in")?;
        let sign_in = envelope.response;
        if sign_in.status != "complete" {
            return Err(FapiError::SignInIncomplete { status: sign_in.status });
        }
        let session_id =
            sign_in.created_session_id.ok_or_else(|| malformed("a complete sign-in without created_session_id"))?;
        let session = envelope
            .client
            .and_then(|client| client.sessions.into_iter().find(|session| session.id == session_id))
            .ok_or_else(|| malformed("the created session is not among the client's sessions"))?;
        Ok(SignedIn { client_token, session: session.try_into()? })
    }

    /// `POST /v1/client/sessions/{id}/touch` with `active_organization_id`: makes the organization
    /// (id or slug) active and returns the session with a token that carries it.
    pub(crate) async fn activate_organization(
        &self,
        client_token: &Secret,
        session_id: &str,
        organization: &str,
    ) -> Result<Reply<ClerkSession>, FapiError> {
        let form = [("active_organization_id", organization)];
        let path = ["v1", "client", "sessions", session_id, "touch"];
        let (headers, body) = self.post(&path, Some(client_token), &form).await?;
        let envelope: Envelope<SessionWire> = parse_json(&body, "touch")?;
        Ok(Reply { value: envelope.response.try_into()?, client_token: client_token_of(&headers) })
    }

    /// `POST /v1/client/sessions/{id}/tokens[/{template}]`: a fresh token from the session.
    /// `organization_id` (session tokens only; the template endpoint takes no body) pins the
    /// organization the token carries.
    pub(crate) async fn create_token(
        &self,
        client_token: &Secret,
        session_id: &str,
        template: Option<&str>,
        organization_id: Option<&str>,
    ) -> Result<Reply<Secret>, FapiError> {
        let mut path = vec!["v1", "client", "sessions", session_id, "tokens"];
        let mut form = Vec::new();
        match (template, organization_id) {
            (Some(template), _) => path.push(template),
            (None, Some(organization_id)) => form.push(("organization_id", organization_id)),
            (None, None) => {}
        }
        let (headers, body) = self.post(&path, Some(client_token), &form).await?;
        let token: TokenWire = parse_json(&body, "token")?;
        Ok(Reply { value: token.jwt, client_token: client_token_of(&headers) })
    }

    /// `GET /.well-known/jwks.json`: Clerk's public signing keys, as published.
    pub(crate) async fn jwks(&self) -> Result<Bytes, FapiError> {
        let request =
            self.http.get(self.api.jwks_url()).timeout(self.timeout).header(http::header::ACCEPT, "application/json");
        let (_, body) = self.send(request).await?;
        Ok(body)
    }

    async fn post(
        &self,
        segments: &[&str],
        client_token: Option<&Secret>,
        form: &[(&str, &str)],
    ) -> Result<(HeaderMap, Bytes), FapiError> {
        let mut url = self.api.url_of(segments);
        url.query_pairs_mut().append_pair("_is_native", "1").append_pair("__clerk_api_version", API_VERSION);
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = self
            .http
            .post(url)
            .timeout(self.timeout)
            // Native mode: the client token, or an empty value for "no client yet". Never an Origin.
            .header(AUTHORIZATION, client_token.map_or("", Secret::expose))
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::ACCEPT, "application/json")
            .body(body);
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(HeaderMap, Bytes), FapiError> {
        let mut response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let body = read_capped(response).await?;
        if status.is_success() {
            return Ok((headers, body));
        }
        Err(error_of(status, &headers, &body))
    }
}

async fn read_capped(mut response: reqwest::Response) -> Result<Bytes, FapiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(malformed("an answer larger than 1 MiB"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn transport_error(error: reqwest::Error) -> FapiError {
    if error.is_timeout() {
        FapiError::Timeout
    } else if error.is_decode() || error.is_body() {
        FapiError::Unreachable { reason: format!("the answer broke off: {}", error.without_url()) }
    } else {
        FapiError::Unreachable { reason: error.without_url().to_string() }
    }
}

fn error_of(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> FapiError {
    let errors: Option<ErrorsWire> = serde_json::from_slice(body).ok();
    let trace_id = errors.as_ref().and_then(|errors| errors.clerk_trace_id.clone());
    if status == StatusCode::TOO_MANY_REQUESTS {
        return FapiError::RateLimited { retry_after: retry_after(headers), trace_id };
    }
    if status.is_server_error() {
        return FapiError::ServerError { status: status.as_u16(), trace_id };
    }
    match errors.and_then(|errors| errors.errors.into_iter().next()) {
        Some(error) => FapiError::Refused(ClerkRefusal {
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

fn client_token_of(headers: &HeaderMap) -> Option<Secret> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    (!value.is_empty()).then(|| Secret::new(value))
}

fn malformed(reason: impl Into<String>) -> FapiError {
    FapiError::Malformed { reason: reason.into() }
}

/// JSON of a Clerk answer. The reason names where the parse failed but never quotes the input,
/// which holds tokens.
fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T, FapiError> {
    serde_json::from_slice(body).map_err(|error| {
        malformed(format!(
            "{what} answer is not the expected JSON ({:?} error at line {} column {})",
            error.classify(),
            error.line(),
            error.column()
        ))
    })
}

impl TryFrom<SessionWire> for ClerkSession {
    type Error = FapiError;

    fn try_from(session: SessionWire) -> Result<Self, FapiError> {
        let token = session.last_active_token.ok_or_else(|| malformed("a session without last_active_token"))?;
        Ok(Self {
            id: session.id,
            user_id: session.user.map(|user| user.id),
            jwt: token.jwt,
            expires_at: session.expire_at.map(from_unix_millis),
            active_organization_id: session.last_active_organization_id,
        })
    }
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
        let FapiError::Refused(refusal) = error_of(StatusCode::FORBIDDEN, &HeaderMap::new(), body) else {
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
        assert!(matches!(limited, FapiError::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(7)));
        let unreadable = error_of(StatusCode::TOO_MANY_REQUESTS, &headers(&[("retry-after", "soon")]), b"");
        assert!(matches!(unreadable, FapiError::RateLimited { retry_after, .. } if retry_after == DEFAULT_RETRY_AFTER));
        assert!(matches!(
            error_of(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html>"),
            FapiError::ServerError { status: 502, .. }
        ));
        assert!(matches!(error_of(StatusCode::NOT_FOUND, &HeaderMap::new(), b"<html>"), FapiError::Malformed { .. }));
    }

    #[test]
    fn parse_errors_never_quote_the_input() {
        #[derive(Debug, Deserialize)]
        struct Number {
            #[allow(dead_code)]
            n: u64,
        }
        // serde_json's own message would read: invalid type: string "eyJsecret", expected u64.
        let error = parse_json::<Number>(br#"{"n": "eyJsecret"}"#, "token").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("token answer is not the expected JSON"), "{text}");
        assert!(!text.contains("eyJsecret"), "{text}");
    }
}
