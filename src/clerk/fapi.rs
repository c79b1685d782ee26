//! The Clerk Frontend API client: password sign-in, organization activation, token minting and
//! the JWKS, in Clerk's native mode (`_is_native=1`, client token in `Authorization`), as
//! clerk-ios, clerk-android and clerk-expo speak it.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::header::{AUTHORIZATION, RETRY_AFTER};
use http::{HeaderMap, StatusCode};
use reqwest::Url;
use serde::Deserialize;

use crate::config::ClerkBasicAuthConfig;
use crate::credentials::Credentials;
use crate::secret::Secret;

/// The Frontend API version whose wire format this client speaks.
const API_VERSION: &str = "2025-11-10";
/// Clerk's answers are small; anything above this is not Clerk.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// How long to hold off after a 429 that names no `Retry-After`: Clerk's sign-in window.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(10);

/// A client of one Clerk instance's Frontend API.
#[derive(Clone)]
pub(crate) struct FapiClient {
    http: reqwest::Client,
    base: Url,
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

/// What went wrong talking to Clerk.
#[derive(Debug, Clone)]
pub(crate) enum FapiError {
    /// Clerk answered 4xx (but 429) with an error of its own, e.g. `form_password_incorrect`.
    Refused(ClerkRefusal),
    /// The password was right but the sign-in needs a step a server cannot take.
    SignInIncomplete { status: String },
    /// Clerk's rate limit: no call for `retry_after`.
    RateLimited { retry_after: Duration, trace_id: Option<String> },
    /// Clerk answered 5xx.
    ServerError { status: u16, trace_id: Option<String> },
    /// No answer within the configured timeout.
    Timeout,
    /// No connection, or the connection broke.
    Unreachable { reason: String },
    /// An answer that is not Clerk's wire format.
    Malformed { reason: String },
}

/// Clerk's own error: the first of `{"errors": [...]}` plus the trace id.
#[derive(Debug, Clone)]
pub(crate) struct ClerkRefusal {
    pub(crate) status: StatusCode,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) lockout_expires_in: Option<Duration>,
    pub(crate) trace_id: Option<String>,
}

impl FapiError {
    /// Whether Clerk no longer knows the session (revoked, ended, expired): sign in again.
    pub(crate) fn is_session_gone(&self) -> bool {
        // 404 `organization_not_found_or_unauthorized` is about the organization, not the session.
        matches!(self, Self::Refused(refusal)
            if refusal.status == StatusCode::UNAUTHORIZED
                || (refusal.status == StatusCode::NOT_FOUND && refusal.code == "resource_not_found"))
    }

    /// Whether the error is about the credentials or the account (a wrong password, an unknown
    /// user, a lockout, a step a server cannot take) and so counts as a failed attempt; not
    /// Clerk's availability or this server's setup (`native_api_disabled`, ...).
    pub(crate) fn is_credential_failure(&self) -> bool {
        match self {
            Self::Refused(refusal) => refusal.is_about_the_user(),
            Self::SignInIncomplete { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn trace_id(&self) -> Option<&str> {
        match self {
            Self::Refused(ClerkRefusal { trace_id, .. })
            | Self::RateLimited { trace_id, .. }
            | Self::ServerError { trace_id, .. } => trace_id.as_deref(),
            _ => None,
        }
    }
}

impl ClerkRefusal {
    /// Whether Clerk refused because of the user (422 form errors such as a wrong password, 403
    /// account states such as a lockout, a user who cannot use a password or the organization),
    /// rather than because of how this server talks to Clerk (native API off, a missing
    /// template, ...).
    pub(crate) fn is_about_the_user(&self) -> bool {
        matches!(self.status, StatusCode::UNPROCESSABLE_ENTITY | StatusCode::FORBIDDEN)
            || matches!(
                self.code.as_str(),
                "strategy_for_user_invalid" | "no_password_set" | "organization_not_found_or_unauthorized"
            )
    }
}

impl fmt::Display for FapiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(refusal) => {
                write!(f, "Clerk refused ({} {}): {}", refusal.status.as_u16(), refusal.code, refusal.message)
            }
            Self::SignInIncomplete { status } => write!(f, "sign-in not complete: {status}"),
            Self::RateLimited { retry_after, .. } => write!(f, "rate-limited by Clerk for {}s", retry_after.as_secs()),
            Self::ServerError { status, .. } => write!(f, "Clerk answered {status}"),
            Self::Timeout => f.write_str("Clerk did not answer in time"),
            Self::Unreachable { reason } => write!(f, "Clerk is unreachable: {reason}"),
            Self::Malformed { reason } => write!(f, "unexpected answer from Clerk: {reason}"),
        }
    }
}

impl FapiClient {
    pub(crate) fn new(config: &ClerkBasicAuthConfig) -> Self {
        let base = Url::parse(&config.frontend_api).expect("the configuration validated the URL");
        Self { http: config.http_client.clone(), base, timeout: config.http_timeout }
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
        let mut url = self.base.clone();
        url.path_segments_mut().expect("an http(s) URL has a path").pop_if_empty().extend([".well-known", "jwks.json"]);
        let request = self.http.get(url).timeout(self.timeout).header(http::header::ACCEPT, "application/json");
        let (_, body) = self.send(request).await?;
        Ok(body)
    }

    async fn post(
        &self,
        segments: &[&str],
        client_token: Option<&Secret>,
        form: &[(&str, &str)],
    ) -> Result<(HeaderMap, Bytes), FapiError> {
        let mut url = self.base.clone();
        url.path_segments_mut().expect("an http(s) URL has a path").pop_if_empty().extend(segments);
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

#[derive(Deserialize)]
struct Envelope<T> {
    response: T,
    #[serde(default)]
    client: Option<ClientWire>,
}

#[derive(Deserialize)]
struct SignInWire {
    status: String,
    #[serde(default)]
    created_session_id: Option<String>,
}

#[derive(Deserialize)]
struct ClientWire {
    #[serde(default)]
    sessions: Vec<SessionWire>,
}

#[derive(Deserialize)]
struct SessionWire {
    id: String,
    #[serde(default)]
    expire_at: Option<u64>,
    #[serde(default)]
    last_active_organization_id: Option<String>,
    #[serde(default)]
    last_active_token: Option<TokenWire>,
    #[serde(default)]
    user: Option<UserWire>,
}

#[derive(Deserialize)]
struct UserWire {
    id: String,
}

#[derive(Deserialize)]
struct TokenWire {
    jwt: Secret,
}

#[derive(Deserialize)]
struct ErrorsWire {
    errors: Vec<ErrorWire>,
    #[serde(default)]
    clerk_trace_id: Option<String>,
}

#[derive(Deserialize)]
struct ErrorWire {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    long_message: Option<String>,
    #[serde(default)]
    meta: ErrorMetaWire,
}

#[derive(Deserialize, Default)]
struct ErrorMetaWire {
    #[serde(default)]
    lockout_expires_in_seconds: Option<u64>,
}

impl TryFrom<SessionWire> for ClerkSession {
    type Error = FapiError;

    fn try_from(session: SessionWire) -> Result<Self, FapiError> {
        let token = session.last_active_token.ok_or_else(|| malformed("a session without last_active_token"))?;
        Ok(Self {
            id: session.id,
            user_id: session.user.map(|user| user.id),
            jwt: token.jwt,
            expires_at: session.expire_at.map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
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
    fn session_gone_means_401_or_404_from_clerk() {
        let refusal = |status| {
            FapiError::Refused(ClerkRefusal {
                status,
                code: "resource_not_found".into(),
                message: String::new(),
                lockout_expires_in: None,
                trace_id: None,
            })
        };
        assert!(refusal(StatusCode::UNAUTHORIZED).is_session_gone());
        assert!(refusal(StatusCode::NOT_FOUND).is_session_gone());
        assert!(!refusal(StatusCode::UNPROCESSABLE_ENTITY).is_session_gone());
        assert!(!FapiError::Timeout.is_session_gone());
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

    #[test]
    fn only_resource_not_found_or_401_means_the_session_is_gone() {
        let refusal = |status, code: &str| {
            FapiError::Refused(ClerkRefusal {
                status,
                code: code.into(),
                message: String::new(),
                lockout_expires_in: None,
                trace_id: None,
            })
        };
        assert!(refusal(StatusCode::NOT_FOUND, "resource_not_found").is_session_gone());
        assert!(!refusal(StatusCode::NOT_FOUND, "organization_not_found_or_unauthorized").is_session_gone());
    }
}
