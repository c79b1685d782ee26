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
use crate::clerk::error::{ClerkError, Meaning};
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
    /// RFC 6749 §3.2: a parameter sent more than once.
    RepeatedParameter(&'static str),
    /// Credentials both in the `Authorization` header and in the body (RFC 6749 §2.3).
    TwoAuthenticationMethods,
    UnsupportedGrantType,
    /// Clerk refused these credentials: wrong, unknown, locked, or needing a step a server
    /// cannot take. The text says which.
    CredentialsRefused(String),
    /// Too many failed sign-ins for this identifier; Clerk is spared until the window ends.
    Throttled {
        retry_after: Duration,
    },
    /// Too many sign-ins from the client's address.
    SourceLimited {
        retry_after: Duration,
    },
    /// Clerk's rate limit is in force.
    ClerkRateLimited {
        retry_after: Duration,
    },
    /// Clerk failed, timed out or could not be reached.
    ClerkUnavailable,
    /// Clerk refused because of how this server is set up: the text names the setting.
    Misconfigured(String),
    Internal,
}

impl TokenError {
    /// The answer. `challenged` says that refused credentials came in the `Authorization` header
    /// and are answered as RFC 6749 §5.2 asks: 401 with `WWW-Authenticate` (not PACT v2's 400).
    pub(super) fn into_response(self, challenge: &HeaderValue, challenged: bool) -> Response<Bytes> {
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            error: &'static str,
            error_description: &'a str,
        }
        let (mut status, error) = self.status_and_code();
        let challenged = match self {
            Self::ClientAuthentication(_) => true,
            Self::CredentialsRefused(_) => challenged,
            _ => false,
        };
        if challenged {
            status = StatusCode::UNAUTHORIZED;
        }
        let description = self.to_string();
        let mut response = no_store(json_response(status, &ErrorBody { error, error_description: &description }));
        let headers = response.headers_mut();
        match self {
            Self::MethodNotAllowed => {
                headers.insert(ALLOW, HeaderValue::from_static("POST"));
            }
            _ if challenged => {
                headers.insert(WWW_AUTHENTICATE, challenge.clone());
            }
            Self::Throttled { retry_after }
            | Self::SourceLimited { retry_after }
            | Self::ClerkRateLimited { retry_after } => {
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
            Self::UnsupportedContentType
            | Self::BodyUnreadable
            | Self::MissingGrantType
            | Self::RepeatedParameter(_)
            | Self::TwoAuthenticationMethods => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
            Self::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            Self::Throttled { .. } | Self::SourceLimited { .. } | Self::ClerkRateLimited { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable")
            }
            Self::ClerkUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            Self::Misconfigured(_) | Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
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
            Self::RepeatedParameter(name) => write!(f, "{name} must be sent once"),
            Self::TwoAuthenticationMethods => f.write_str(
                "use one client authentication method: HTTP Basic, or client_id and client_secret in the body",
            ),
            Self::UnsupportedGrantType => f.write_str("only grant_type=client_credentials is supported"),
            Self::CredentialsRefused(reason) => write!(f, "invalid client credentials: {reason}"),
            Self::Throttled { retry_after } => write!(
                f,
                "too many failed sign-ins for this client_id; try again in {} seconds",
                retry_after.as_secs().max(1)
            ),
            Self::SourceLimited { retry_after } => write!(
                f,
                "too many sign-ins from this client address; try again in {} seconds",
                retry_after.as_secs().max(1)
            ),
            Self::ClerkRateLimited { retry_after } => write!(
                f,
                "the identity provider is rate-limiting sign-ins; try again in {} seconds",
                retry_after.as_secs().max(1)
            ),
            Self::ClerkUnavailable => f.write_str("the identity provider is unavailable; try again later"),
            Self::Misconfigured(reason) => f.write_str(reason),
            Self::Internal => f.write_str("internal error"),
        }
    }
}

impl From<SessionError> for TokenError {
    fn from(error: SessionError) -> Self {
        let error = match error {
            SessionError::Throttled { retry_after } => return Self::Throttled { retry_after },
            SessionError::SourceLimited { retry_after } => return Self::SourceLimited { retry_after },
            SessionError::RateLimited { retry_after } => return Self::ClerkRateLimited { retry_after },
            SessionError::Internal => return Self::Internal,
            SessionError::Clerk(error) => error,
        };
        match (error.meaning(), &error) {
            (Meaning::WrongCredentials | Meaning::UserStep, _) => Self::CredentialsRefused(error.client_reason()),
            (Meaning::Deployment, _) => {
                tracing::error!(clerk_trace_id = error.trace_id(), %error,
                    "Clerk refused a call because of this server's configuration");
                Self::Misconfigured(error.client_reason())
            }
            (_, ClerkError::RateLimited { retry_after, .. }) => Self::ClerkRateLimited { retry_after: *retry_after },
            (Meaning::RateLimited | Meaning::Unavailable | Meaning::SessionGone, _) => Self::ClerkUnavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clerk::error::ClerkRefusal;

    fn refused(status: StatusCode, code: &str) -> TokenError {
        TokenError::from(SessionError::Clerk(ClerkError::Refused(ClerkRefusal {
            status,
            code: code.into(),
            message: "Clerk says so".into(),
            lockout_expires_in: Some(Duration::from_secs(1790)),
            trace_id: None,
        })))
    }

    #[test]
    fn clerk_refusals_about_the_user_are_invalid_client_with_a_reason() {
        let text = |status, code| match refused(status, code) {
            TokenError::CredentialsRefused(reason) => reason,
            other => panic!("{code}: expected a refusal, got {other:?}"),
        };
        assert_eq!(text(StatusCode::UNPROCESSABLE_ENTITY, "form_password_incorrect"), "the password is incorrect");
        assert_eq!(text(StatusCode::UNPROCESSABLE_ENTITY, "form_identifier_not_found"), "no user with this client_id");
        assert_eq!(text(StatusCode::FORBIDDEN, "user_locked"), "the account is locked; try again in 30 minutes");
        assert!(text(StatusCode::NOT_FOUND, "organization_not_found_or_unauthorized").contains("organization"));
        let incomplete =
            TokenError::from(SessionError::Clerk(ClerkError::SignInIncomplete { status: "needs_client_trust".into() }));
        assert!(incomplete.to_string().contains("Device Trust"), "{incomplete}");
    }

    #[test]
    fn clerk_refusals_about_the_setup_are_server_errors_that_name_the_setting() {
        for (status, code, setting) in [
            (StatusCode::BAD_REQUEST, "native_api_disabled", "Native API"),
            (StatusCode::UNAUTHORIZED, "dev_browser_unauthenticated", "CLERK_FRONTEND_API_URL"),
            (StatusCode::UNAUTHORIZED, "requires_captcha", "CAPTCHA"),
            (StatusCode::UNAUTHORIZED, "clerk_key_invalid", "CLERK_SECRET_KEY"),
            (StatusCode::UNPROCESSABLE_ENTITY, "some_new_code", "logs"),
        ] {
            let error = refused(status, code);
            assert!(matches!(&error, TokenError::Misconfigured(reason) if reason.contains(setting)), "{code}: {error}");
            assert_eq!(error.status_and_code(), (StatusCode::INTERNAL_SERVER_ERROR, "server_error"));
        }
    }

    #[test]
    fn clerk_being_down_or_busy_is_temporarily_unavailable() {
        assert_eq!(refused(StatusCode::CONFLICT, "resource_locked").status_and_code().0, 503);
        assert_eq!(refused(StatusCode::UNPROCESSABLE_ENTITY, "missing_expired_token").status_and_code().0, 503);
        let limited = ClerkError::RateLimited { retry_after: Duration::from_secs(7), trace_id: None };
        let error = TokenError::from(SessionError::Clerk(limited));
        assert!(matches!(error, TokenError::ClerkRateLimited { retry_after } if retry_after.as_secs() == 7));
    }
}
