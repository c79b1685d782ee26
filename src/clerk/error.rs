//! What Clerk's answers mean: every Clerk error code this crate tells apart, and what it says of
//! the user, the session or this server's setup.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

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

impl ClerkRefusal {
    /// Why Clerk refused, in words for the client: the reason for an `invalid_client` answer.
    /// Meaningful for refusals [about the user](Self::is_about_the_user); never quotes what the
    /// client sent.
    pub(crate) fn client_reason(&self) -> String {
        match self.code.as_str() {
            "form_password_incorrect" => "the password is incorrect".to_owned(),
            "form_identifier_not_found" => "no user with this client_id".to_owned(),
            "form_password_or_identifier_incorrect" => "the client_id or the password is incorrect".to_owned(),
            "account_lockout_warning" => {
                "the password is incorrect, and the account is close to being locked".to_owned()
            }
            "user_locked" => match self.lockout_expires_in {
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
            _ if self.message.is_empty() => format!("refused by the identity provider ({})", self.code),
            _ => self.message.clone(),
        }
    }
}

/// Why a sign-in that Clerk did not complete (`status` other than `complete`) gives no token, in
/// words for the client.
pub(crate) fn incomplete_reason(status: &str) -> String {
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

    fn refusal(status: StatusCode, code: &str) -> FapiError {
        FapiError::Refused(ClerkRefusal {
            status,
            code: code.into(),
            message: String::new(),
            lockout_expires_in: None,
            trace_id: None,
        })
    }

    #[test]
    fn session_gone_means_401_or_404_from_clerk() {
        assert!(refusal(StatusCode::UNAUTHORIZED, "resource_not_found").is_session_gone());
        assert!(refusal(StatusCode::NOT_FOUND, "resource_not_found").is_session_gone());
        assert!(!refusal(StatusCode::UNPROCESSABLE_ENTITY, "resource_not_found").is_session_gone());
        assert!(!FapiError::Timeout.is_session_gone());
    }

    #[test]
    fn only_resource_not_found_or_401_means_the_session_is_gone() {
        assert!(refusal(StatusCode::NOT_FOUND, "resource_not_found").is_session_gone());
        assert!(!refusal(StatusCode::NOT_FOUND, "organization_not_found_or_unauthorized").is_session_gone());
    }
}
