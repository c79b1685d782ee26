//! The OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials) that iLEAP and PACT clients
//! call: HTTP Basic credentials and `grant_type=client_credentials` in, a Clerk JWT out, every
//! failure as an RFC 6749 §5.2 JSON error.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use tracing::debug;

use crate::body::json_response;
use crate::clerk::fapi::{ClerkRefusal, FapiError};
use crate::clerk::sessions::{AccessToken, SessionError, Sessions};
use crate::config::ClerkBasicAuthConfig;
use crate::credentials::{BasicError, Credentials};

/// How long a client may take to send the (small) request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The token endpoint of one layer.
pub(crate) struct TokenEndpoint {
    sessions: Arc<Sessions>,
    max_body_size: usize,
    form_encoded_credentials: bool,
    challenge: HeaderValue,
}

impl TokenEndpoint {
    pub(crate) fn new(config: &ClerkBasicAuthConfig) -> Self {
        let challenge = format!("Basic realm=\"{}\", charset=\"UTF-8\"", config.realm);
        Self {
            sessions: Arc::new(Sessions::new(config)),
            max_body_size: config.max_body_size,
            form_encoded_credentials: config.form_encoded_credentials,
            challenge: HeaderValue::try_from(challenge).unwrap_or(HeaderValue::from_static("Basic")),
        }
    }

    /// Answers one token request: at once when its head is refused, otherwise once its body is
    /// read and a token is had.
    pub(crate) fn respond<B>(self: &Arc<Self>, request: Request<B>) -> Answer
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        match self.check_head(&request) {
            Ok(credentials) => {
                let endpoint = Arc::clone(self);
                let body = request.into_body();
                Answer::Later(Box::pin(async move {
                    let issued = endpoint.issue(credentials, body).await;
                    endpoint.answer(issued)
                }))
            }
            Err(error) => Answer::Now(self.answer(Err(error))),
        }
    }

    /// Everything that can be refused before the body is read.
    fn check_head<B>(&self, request: &Request<B>) -> Result<Credentials, TokenError> {
        if request.method() != Method::POST {
            return Err(TokenError::MethodNotAllowed);
        }
        let headers = request.headers();
        let credentials = Credentials::from_headers(headers, self.form_encoded_credentials)
            .map_err(TokenError::ClientAuthentication)?;
        check_content_type(headers)?;
        let declared = headers.get(CONTENT_LENGTH).and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.max_body_size as u64) {
            return Err(TokenError::BodyTooLarge { limit: self.max_body_size });
        }
        Ok(credentials)
    }

    async fn issue<B>(&self, credentials: Credentials, body: B) -> Result<Arc<AccessToken>, TokenError>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let body = read_body(body, self.max_body_size).await?;
        check_grant_type(&body)?;
        self.sessions.access_token(credentials).await.map_err(TokenError::from)
    }

    fn answer(&self, issued: Result<Arc<AccessToken>, TokenError>) -> Response<Bytes> {
        match issued {
            Ok(token) => token_response(&token),
            Err(error) => {
                debug!(%error, "token request refused");
                error.into_response(&self.challenge)
            }
        }
    }
}

/// A token endpoint's answer: ready now, or after the body is read and Clerk is asked.
pub(crate) enum Answer {
    Now(Response<Bytes>),
    Later(Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>),
}

fn check_content_type(headers: &HeaderMap) -> Result<(), TokenError> {
    let value = headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let mut parts = value.split(';').map(str::trim);
    let is_form = parts.next().is_some_and(|media| media.eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    let charset_ok = parts.all(|param| match param.split_once('=') {
        Some((name, charset)) if name.trim().eq_ignore_ascii_case("charset") => {
            let charset = charset.trim().trim_matches('"');
            charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("us-ascii")
        }
        _ => true,
    });
    if is_form && charset_ok { Ok(()) } else { Err(TokenError::UnsupportedContentType) }
}

async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, TokenError>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let mut collect = std::pin::pin!(Limited::new(body, limit).collect());
    // Most bodies have arrived with the headers: only a body still on its way gets a timer.
    let collected = match std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await {
        Poll::Ready(collected) => collected,
        Poll::Pending => {
            let timeout = Box::pin(tokio::time::timeout(BODY_TIMEOUT, collect));
            timeout.await.map_err(|_| TokenError::BodyUnreadable)?
        }
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(TokenError::BodyTooLarge { limit }),
        Err(_) => Err(TokenError::BodyUnreadable),
    }
}

fn check_grant_type(body: &[u8]) -> Result<(), TokenError> {
    if std::str::from_utf8(body).is_err() {
        return Err(TokenError::BodyUnreadable);
    }
    let mut grant_types = form_urlencoded::parse(body).filter(|(name, _)| name == "grant_type").map(|(_, value)| value);
    match (grant_types.next(), grant_types.next()) {
        (None, _) => Err(TokenError::MissingGrantType),
        (Some(_), Some(_)) => Err(TokenError::RepeatedGrantType),
        (Some(grant_type), None) if grant_type == "client_credentials" => Ok(()),
        (Some(_), None) => Err(TokenError::UnsupportedGrantType),
    }
}

/// `{"access_token": jwt, "token_type": "Bearer", "expires_in": seconds}`, written directly:
/// the JWT is base64url and dots (checked when it came from Clerk), so it needs no escaping, and
/// the body is the hot path of every cached token request.
fn token_response(token: &AccessToken) -> Response<Bytes> {
    use std::io::Write as _;
    let jwt = token.jwt.expose();
    let mut body = Vec::with_capacity(jwt.len() + 72);
    body.extend_from_slice(b"{\"access_token\":\"");
    body.extend_from_slice(jwt.as_bytes());
    body.extend_from_slice(b"\",\"token_type\":\"Bearer\",\"expires_in\":");
    write!(body, "{}}}", token.expires_in()).expect("writing to a Vec cannot fail");
    let mut response = Response::new(Bytes::from(body));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    no_store(response)
}

/// RFC 6749 §5.1: token responses, and errors of the token endpoint, are never cached.
fn no_store(mut response: Response<Bytes>) -> Response<Bytes> {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Why a token request failed. Mapped to a status and an RFC 6749 §5.2 error in one place,
/// [`TokenError::into_response`]; the description never carries a secret.
#[derive(Debug)]
pub(crate) enum TokenError {
    MethodNotAllowed,
    ClientAuthentication(BasicError),
    UnsupportedContentType,
    BodyTooLarge {
        limit: usize,
    },
    BodyUnreadable,
    MissingGrantType,
    RepeatedGrantType,
    UnsupportedGrantType,
    /// Clerk refused these credentials: wrong, unknown, locked, or needing a step a server
    /// cannot take. The text says which.
    CredentialsRefused(String),
    /// Too many failed sign-ins for this identifier; Clerk is spared until the window ends.
    Throttled {
        retry_after: Duration,
    },
    /// Clerk's rate limit is in force.
    ClerkRateLimited {
        retry_after: Duration,
    },
    /// Clerk failed, timed out or could not be reached.
    ClerkUnavailable,
    /// Clerk refused because of how this server is set up (see the logs).
    Misconfigured,
    Internal,
}

impl TokenError {
    fn into_response(self, challenge: &HeaderValue) -> Response<Bytes> {
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            error: &'static str,
            error_description: &'a str,
        }
        let (status, error) = self.status_and_code();
        let description = self.to_string();
        let mut response = no_store(json_response(status, &ErrorBody { error, error_description: &description }));
        let headers = response.headers_mut();
        match self {
            Self::MethodNotAllowed => {
                headers.insert(ALLOW, HeaderValue::from_static("POST"));
            }
            Self::ClientAuthentication(_) => {
                headers.insert(WWW_AUTHENTICATE, challenge.clone());
            }
            Self::Throttled { retry_after } | Self::ClerkRateLimited { retry_after } => {
                headers.insert(RETRY_AFTER, HeaderValue::from(retry_after.as_secs().max(1)));
            }
            _ => {}
        }
        response
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "invalid_request"),
            Self::ClientAuthentication(_) => (StatusCode::UNAUTHORIZED, "invalid_client"),
            Self::CredentialsRefused(_) => (StatusCode::BAD_REQUEST, "invalid_client"),
            Self::UnsupportedContentType | Self::BodyUnreadable | Self::MissingGrantType | Self::RepeatedGrantType => {
                (StatusCode::BAD_REQUEST, "invalid_request")
            }
            Self::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
            Self::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            Self::Throttled { .. } | Self::ClerkRateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable")
            }
            Self::ClerkUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            Self::Misconfigured | Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MethodNotAllowed => f.write_str("the token endpoint accepts POST only"),
            Self::ClientAuthentication(error) => write!(f, "{error}"),
            Self::UnsupportedContentType => {
                f.write_str("the request body must be application/x-www-form-urlencoded (UTF-8)")
            }
            Self::BodyTooLarge { limit } => write!(f, "the request body is larger than {limit} bytes"),
            Self::BodyUnreadable => f.write_str("the request body could not be read as a UTF-8 form"),
            Self::MissingGrantType => f.write_str("grant_type is missing (use grant_type=client_credentials)"),
            Self::RepeatedGrantType => f.write_str("grant_type must be sent once"),
            Self::UnsupportedGrantType => f.write_str("only grant_type=client_credentials is supported"),
            Self::CredentialsRefused(reason) => write!(f, "invalid client credentials: {reason}"),
            Self::Throttled { retry_after } => write!(
                f,
                "too many failed sign-ins for this client_id; try again in {} seconds",
                retry_after.as_secs().max(1)
            ),
            Self::ClerkRateLimited { retry_after } => write!(
                f,
                "the identity provider is rate-limiting sign-ins; try again in {} seconds",
                retry_after.as_secs().max(1)
            ),
            Self::ClerkUnavailable => f.write_str("the identity provider is unavailable; try again later"),
            Self::Misconfigured => f.write_str("the token service is misconfigured"),
            Self::Internal => f.write_str("internal error"),
        }
    }
}

impl From<SessionError> for TokenError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::Throttled { retry_after } => Self::Throttled { retry_after },
            SessionError::Internal => Self::Internal,
            SessionError::Clerk(error) => match error {
                FapiError::Refused(refusal) => refused(&refusal),
                FapiError::SignInIncomplete { status } => Self::CredentialsRefused(incomplete(&status)),
                FapiError::RateLimited { retry_after, .. } => Self::ClerkRateLimited { retry_after },
                FapiError::ServerError { .. }
                | FapiError::Timeout
                | FapiError::Unreachable { .. }
                | FapiError::Malformed { .. } => Self::ClerkUnavailable,
            },
        }
    }
}

/// Clerk's refusals about the user (422 form errors, 403 account states, a user who cannot use
/// a password or the organization) are the client's `invalid_client`; the others (native API
/// off, a missing template, ...) are this server's configuration.
fn refused(refusal: &ClerkRefusal) -> TokenError {
    if !refusal.is_about_the_user() {
        tracing::error!(code = %refusal.code, status = refusal.status.as_u16(), clerk_trace_id = refusal.trace_id.as_deref(),
            message = %refusal.message, "Clerk refused a call because of this server's configuration");
        return TokenError::Misconfigured;
    }
    let reason = match refusal.code.as_str() {
        "form_password_incorrect" => "the password is incorrect".to_owned(),
        "form_identifier_not_found" => "no user with this client_id".to_owned(),
        "form_password_or_identifier_incorrect" => "the client_id or the password is incorrect".to_owned(),
        "account_lockout_warning" => "the password is incorrect, and the account is close to being locked".to_owned(),
        "user_locked" => match refusal.lockout_expires_in {
            Some(left) => format!("the account is locked; try again in {} minutes", left.as_secs().div_ceil(60)),
            None => "the account is locked".to_owned(),
        },
        "user_banned" => "the account is banned".to_owned(),
        "user_deactivated" => "the account is deactivated".to_owned(),
        "form_password_pwned" => "Clerk refuses this password because it appeared in a data breach".to_owned(),
        "strategy_for_user_invalid" | "no_password_set" => "the user cannot sign in with a password".to_owned(),
        "organization_not_found_or_unauthorized" | "not_a_member_in_organization" => {
            "the user is not a member of the configured organization".to_owned()
        }
        _ if refusal.message.is_empty() => format!("refused by the identity provider ({})", refusal.code),
        _ => refusal.message.clone(),
    };
    TokenError::CredentialsRefused(reason)
}

fn incomplete(status: &str) -> String {
    match status {
        "needs_second_factor" => {
            "the user has multi-factor authentication, which a client-credentials client cannot complete".to_owned()
        }
        "needs_client_trust" => {
            "Clerk asks to verify a new device (client trust); turn it off for this service account".to_owned()
        }
        "needs_new_password" => "the user must set a new password first".to_owned(),
        other => format!("the sign-in is not complete ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_type(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn form_content_types_with_a_utf8_charset_are_accepted() {
        for ok in [
            "application/x-www-form-urlencoded",
            "Application/X-WWW-Form-Urlencoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "application/x-www-form-urlencoded;charset=\"utf-8\"",
        ] {
            assert!(check_content_type(&content_type(ok)).is_ok(), "{ok}");
        }
        for bad in ["application/json", "text/plain", "application/x-www-form-urlencoded; charset=latin1"] {
            assert!(matches!(check_content_type(&content_type(bad)), Err(TokenError::UnsupportedContentType)), "{bad}");
        }
        assert!(check_content_type(&HeaderMap::new()).is_err());
    }

    #[test]
    fn grant_type_must_be_client_credentials_exactly_once() {
        assert!(check_grant_type(b"grant_type=client_credentials").is_ok());
        assert!(check_grant_type(b"scope=x&grant_type=client_credentials&audience=y").is_ok());
        assert!(matches!(check_grant_type(b""), Err(TokenError::MissingGrantType)));
        assert!(matches!(
            check_grant_type(b"{\"grant_type\":\"client_credentials\"}"),
            Err(TokenError::MissingGrantType)
        ));
        assert!(matches!(check_grant_type(b"grant_type=password"), Err(TokenError::UnsupportedGrantType)));
        assert!(matches!(
            check_grant_type(b"grant_type=client_credentials&grant_type=client_credentials"),
            Err(TokenError::RepeatedGrantType)
        ));
        assert!(matches!(check_grant_type(b"grant_type=\xff"), Err(TokenError::BodyUnreadable)));
    }

    #[test]
    fn the_token_body_is_the_json_a_serializer_would_write() {
        let token = AccessToken {
            jwt: crate::secret::Secret::new("eyJh.eyJz-_.c2ln"),
            expires_at: std::time::SystemTime::now() + Duration::from_secs(42),
        };
        let response = token_response(&token);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        let expires_in = body["expires_in"].as_u64().unwrap();
        assert!((41..=42).contains(&expires_in));
        assert_eq!(
            body,
            serde_json::json!({"access_token": "eyJh.eyJz-_.c2ln", "token_type": "Bearer", "expires_in": expires_in})
        );
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    }

    fn refusal(status: StatusCode, code: &str) -> ClerkRefusal {
        ClerkRefusal {
            status,
            code: code.into(),
            message: "Clerk says so".into(),
            lockout_expires_in: Some(Duration::from_secs(1790)),
            trace_id: None,
        }
    }

    #[test]
    fn clerk_refusals_about_the_user_are_invalid_client_with_a_reason() {
        let text = |status, code| match refused(&refusal(status, code)) {
            TokenError::CredentialsRefused(reason) => reason,
            other => panic!("{code}: expected a refusal, got {other:?}"),
        };
        assert_eq!(text(StatusCode::UNPROCESSABLE_ENTITY, "form_password_incorrect"), "the password is incorrect");
        assert_eq!(text(StatusCode::UNPROCESSABLE_ENTITY, "form_identifier_not_found"), "no user with this client_id");
        assert_eq!(text(StatusCode::FORBIDDEN, "user_locked"), "the account is locked; try again in 30 minutes");
        assert_eq!(text(StatusCode::UNPROCESSABLE_ENTITY, "some_new_code"), "Clerk says so");
        assert!(text(StatusCode::NOT_FOUND, "organization_not_found_or_unauthorized").contains("organization"));
    }

    #[test]
    fn clerk_refusals_about_the_setup_are_server_errors() {
        for (status, code) in [
            (StatusCode::BAD_REQUEST, "native_api_disabled"),
            (StatusCode::UNAUTHORIZED, "dev_browser_unauthenticated"),
            (StatusCode::NOT_FOUND, "resource_not_found"),
        ] {
            let error = refused(&refusal(status, code));
            assert!(matches!(error, TokenError::Misconfigured), "{code}");
            assert_eq!(error.status_and_code(), (StatusCode::INTERNAL_SERVER_ERROR, "server_error"));
        }
    }
}
