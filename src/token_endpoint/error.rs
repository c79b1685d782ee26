//! Why a token request failed, and the one place that maps it to an RFC 6749 §5.2 answer.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;

use super::basic::BasicError;
use super::response::no_store;
use crate::body::json_response;
use crate::clerk::error::{ClerkRefusal, FapiError, incomplete_reason};
use crate::clerk::sessions::SessionError;

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
    pub(super) fn into_response(self, challenge: &HeaderValue) -> Response<Bytes> {
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
            SessionError::RateLimited { retry_after } => Self::ClerkRateLimited { retry_after },
            SessionError::Internal => Self::Internal,
            SessionError::Clerk(error) => match error {
                FapiError::Refused(refusal) => refused(&refusal),
                FapiError::SignInIncomplete { status } => Self::CredentialsRefused(incomplete_reason(&status)),
                FapiError::RateLimited { retry_after, .. } => Self::ClerkRateLimited { retry_after },
                FapiError::ServerError { .. }
                | FapiError::Timeout
                | FapiError::Unreachable { .. }
                | FapiError::Malformed { .. } => Self::ClerkUnavailable,
            },
        }
    }
}

/// Clerk's refusals about the user are the client's `invalid_client`, with Clerk's reason; the
/// others (native API off, a missing template, ...) are this server's configuration.
fn refused(refusal: &ClerkRefusal) -> TokenError {
    if refusal.is_about_the_user() {
        return TokenError::CredentialsRefused(refusal.client_reason());
    }
    tracing::error!(code = %refusal.code, status = refusal.status.as_u16(), clerk_trace_id = refusal.trace_id.as_deref(),
        message = %refusal.message, "Clerk refused a call because of this server's configuration");
    TokenError::Misconfigured
}

#[cfg(test)]
mod tests {
    use super::*;

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
