//! What Clerk's answers mean: every Clerk error code this crate tells apart, in explicit lists,
//! and what each says of the user, the session, this server's setup or Clerk itself.
//!
//! Codes are those of Clerk's error catalogue (clerk-docs `data/api_errors.json`) and of the
//! Frontend and Backend API specs (`clerk/openapi-specs`, 2026-05-12).

use std::fmt;
use std::time::Duration;

use http::StatusCode;

/// What went wrong talking to Clerk (Frontend or Backend API).
#[derive(Debug, Clone)]
pub(crate) enum ClerkError {
    /// Clerk answered 4xx (but 429) with an error of its own, e.g. `form_password_incorrect`.
    Refused(ClerkRefusal),
    /// The password was right but the sign-in needs a step a server cannot take (`status` is the
    /// sign-in's, e.g. `needs_client_trust`).
    SignInIncomplete { status: String },
    /// The configured JWT template does not exist: a 404 on the template call while the plain
    /// token call on the same session works.
    TemplateMissing,
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

/// What an answer of Clerk means for the request that caused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meaning {
    /// The user's fault: a wrong password, an unknown identifier, a locked or banned account.
    /// The only class that counts against the failure budget.
    WrongCredentials,
    /// The password is right, but the user (or an administrator) must take a step first: a
    /// second factor, client trust, a new password, a Protect check, an organization
    /// membership. Remembered briefly per credential.
    UserStep,
    /// This deployment's fault: a Clerk setting or this layer's configuration. Logged for the
    /// operator, answered `500`, remembered briefly per credential.
    Deployment,
    /// Clerk is down, slow or busy: answered `503`.
    Unavailable,
    /// Clerk's rate limit: answered `429`.
    RateLimited,
    /// Clerk no longer knows the session (signed out, revoked, ended): sign in again.
    SessionGone,
}

/// Refusals about the credentials or the account.
const WRONG_CREDENTIALS: &[&str] = &[
    "form_password_incorrect",
    "form_identifier_not_found",
    "form_password_or_identifier_incorrect",
    "account_lockout_warning",
    "incorrect_password",
    "user_locked",
    "user_banned",
    "user_deactivated",
];

/// Refusals that a step of the user or an administrator ends.
const USER_STEPS: &[&str] = &[
    "form_password_pwned",
    "form_password_compromised",
    "password_reset_required",
    "strategy_for_user_invalid",
    "no_password_set",
    "session_reverification_required",
    "requires_protect_check",
    "organization_not_found_or_unauthorized",
    "not_a_member_in_organization",
];

/// Sign-in statuses (other than `complete`) and the step each asks for.
const SIGN_IN_STEPS: &[&str] = &[
    "needs_identifier",
    "needs_first_factor",
    "needs_second_factor",
    "needs_client_trust",
    "needs_new_password",
    "needs_protect_check",
    "abandoned",
];

/// Refusals because of how this deployment is set up.
const DEPLOYMENT: &[&str] = &[
    "native_api_disabled",
    "requires_captcha",
    "form_param_unknown",
    "form_param_missing",
    "form_param_format_invalid",
    "organization_not_enabled_in_instance",
    "dev_browser_unauthenticated",
    "origin_authorization_headers_conflict",
    "clerk_key_invalid",
    "authorization_header_format_invalid",
];

/// Refusals that mean the session (or the client holding it) is gone.
const SESSION_GONE: &[&str] = &[
    "signed_out",
    "resource_not_found",
    "action_for_session_not_authorized",
    "authentication_invalid",
    "client_not_found",
];

/// Refusals that mean Clerk cannot serve the call right now.
const UNAVAILABLE: &[&str] = &["resource_locked", "missing_expired_token"];

impl ClerkError {
    /// What this answer means. A code in none of the lists is taken as the deployment's: it is
    /// logged for the operator and never counts against a user.
    pub(crate) fn meaning(&self) -> Meaning {
        match self {
            Self::Refused(refusal) => refusal.meaning(),
            Self::SignInIncomplete { .. } => Meaning::UserStep,
            Self::TemplateMissing => Meaning::Deployment,
            Self::RateLimited { .. } => Meaning::RateLimited,
            Self::ServerError { .. } | Self::Timeout | Self::Unreachable { .. } | Self::Malformed { .. } => {
                Meaning::Unavailable
            }
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

    /// Whether this is Clerk's outage mode on a token call (`missing_expired_token`): retry once
    /// with the last token as `expired_token`.
    pub(crate) fn is_missing_expired_token(&self) -> bool {
        matches!(self, Self::Refused(refusal) if refusal.code == "missing_expired_token")
    }

    /// Whether a token call's 404 may mean a missing template rather than a missing session.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, Self::Refused(refusal) if refusal.status == StatusCode::NOT_FOUND && refusal.code == "resource_not_found")
    }

    /// Why the token request fails, in words for the client: what is wrong, or what to do.
    /// Never quotes what the client sent.
    pub(crate) fn client_reason(&self) -> String {
        match self {
            Self::Refused(refusal) => refusal.client_reason(),
            Self::SignInIncomplete { status } => incomplete_reason(status),
            Self::TemplateMissing => {
                "the token service is misconfigured: the JWT template it is set to hand out (CLERK_JWT_TEMPLATE) \
                 does not exist in Clerk"
                    .to_owned()
            }
            _ => self.to_string(),
        }
    }
}

impl ClerkRefusal {
    fn meaning(&self) -> Meaning {
        let code = self.code.as_str();
        if WRONG_CREDENTIALS.contains(&code) {
            Meaning::WrongCredentials
        } else if USER_STEPS.contains(&code) {
            Meaning::UserStep
        } else if SESSION_GONE.contains(&code) {
            Meaning::SessionGone
        } else if UNAVAILABLE.contains(&code) {
            Meaning::Unavailable
        } else {
            debug_assert!(DEPLOYMENT.contains(&code) || !SIGN_IN_STEPS.contains(&code));
            Meaning::Deployment
        }
    }

    /// Why Clerk refused, in words for the client.
    fn client_reason(&self) -> String {
        match self.code.as_str() {
            "form_password_incorrect" | "incorrect_password" => "the password is incorrect".to_owned(),
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
            "form_password_pwned" | "form_password_compromised" => {
                "Clerk refuses this password because it appeared in a data breach; set a new one".to_owned()
            }
            "password_reset_required" => "the user must set a new password first".to_owned(),
            "strategy_for_user_invalid" | "no_password_set" => "the user cannot sign in with a password".to_owned(),
            "organization_not_found_or_unauthorized" | "not_a_member_in_organization" => {
                "the user is not a member of the configured organization".to_owned()
            }
            "session_reverification_required" => "Clerk asks the user to verify again".to_owned(),
            "requires_protect_check" => "Clerk Protect asks for a check a server cannot pass".to_owned(),
            code if DEPLOYMENT.contains(&code) || self.meaning() == Meaning::Deployment => {
                format!("the token service is misconfigured: {}", setting_hint(code))
            }
            _ if self.message.is_empty() => format!("refused by the identity provider ({})", self.code),
            _ => self.message.clone(),
        }
    }
}

/// Which setting a deployment refusal points at, for the operator and the client's description.
fn setting_hint(code: &str) -> &'static str {
    match code {
        "native_api_disabled" => "Clerk's Native API is off (Clerk Dashboard → Native applications)",
        "requires_captcha" => {
            "Clerk asks for a CAPTCHA (bot protection); configure CLERK_SECRET_KEY or turn bot protection off"
        }
        "organization_not_enabled_in_instance" => {
            "organizations are not enabled in Clerk; enable them or unset CLERK_ORGANIZATION_ID"
        }
        "clerk_key_invalid" | "authorization_header_format_invalid" => "Clerk refuses CLERK_SECRET_KEY",
        "dev_browser_unauthenticated" | "origin_authorization_headers_conflict" => {
            "Clerk refuses native-mode calls; check CLERK_FRONTEND_API_URL / CLERK_PROXY_URL"
        }
        "form_param_unknown" | "form_param_missing" | "form_param_format_invalid" => {
            "Clerk refuses a parameter this layer sends; check the Clerk API version"
        }
        _ => "Clerk refused a call (see the server's logs)",
    }
}

/// Why a sign-in that Clerk did not complete (`status` other than `complete`) gives no token, in
/// words for the client, with what to do.
fn incomplete_reason(status: &str) -> String {
    match status {
        "needs_second_factor" => {
            "the user has multi-factor authentication, which a client-credentials client cannot complete".to_owned()
        }
        "needs_client_trust" => {
            "Clerk's Device Trust (client trust) asks to verify a new device, which a server cannot do: turn \
                                 off Device Trust for the instance (Clerk Dashboard → Protect → Rules), set \
                                 bypass_client_trust on this user, or configure CLERK_SECRET_KEY"
                .to_owned()
        }
        "needs_new_password" => "the user must set a new password first".to_owned(),
        "needs_protect_check" => "Clerk Protect asks for a check a server cannot pass".to_owned(),
        other => format!("the sign-in is not complete ({other})"),
    }
}

impl fmt::Display for ClerkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(refusal) => {
                write!(f, "Clerk refused ({} {}): {}", refusal.status.as_u16(), refusal.code, refusal.message)
            }
            Self::SignInIncomplete { status } => write!(f, "sign-in not complete: {status}"),
            Self::TemplateMissing => f.write_str("the configured JWT template does not exist"),
            Self::RateLimited { retry_after, .. } => write!(f, "rate-limited by Clerk for {}s", retry_after.as_secs()),
            Self::ServerError { status, .. } => write!(f, "Clerk answered {status}"),
            Self::Timeout => f.write_str("Clerk did not answer in time"),
            Self::Unreachable { reason } => write!(f, "Clerk is unreachable: {reason}"),
            Self::Malformed { reason } => write!(f, "unexpected answer from Clerk: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(status: StatusCode, code: &str) -> ClerkError {
        ClerkError::Refused(ClerkRefusal {
            status,
            code: code.into(),
            message: String::new(),
            lockout_expires_in: None,
            trace_id: None,
        })
    }

    #[test]
    fn only_the_codes_that_mean_it_end_a_session() {
        for code in ["signed_out", "resource_not_found", "action_for_session_not_authorized", "authentication_invalid"]
        {
            assert_eq!(refusal(StatusCode::UNAUTHORIZED, code).meaning(), Meaning::SessionGone, "{code}");
        }
        // requires_captcha is a 401 too, but about this deployment.
        assert_eq!(refusal(StatusCode::UNAUTHORIZED, "requires_captcha").meaning(), Meaning::Deployment);
        let org = refusal(StatusCode::NOT_FOUND, "organization_not_found_or_unauthorized");
        assert_eq!(org.meaning(), Meaning::UserStep);
        assert!(!ClerkError::Timeout.is_not_found());
        assert!(refusal(StatusCode::NOT_FOUND, "resource_not_found").is_not_found());
    }

    #[test]
    fn each_class_of_refusal_is_told_apart_by_code() {
        let meaning = |status, code| refusal(status, code).meaning();
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        assert_eq!(meaning(unprocessable, "form_password_incorrect"), Meaning::WrongCredentials);
        assert_eq!(meaning(unprocessable, "form_password_or_identifier_incorrect"), Meaning::WrongCredentials);
        assert_eq!(meaning(StatusCode::FORBIDDEN, "user_locked"), Meaning::WrongCredentials);
        assert_eq!(meaning(unprocessable, "form_param_unknown"), Meaning::Deployment);
        assert_eq!(meaning(StatusCode::FORBIDDEN, "organization_not_enabled_in_instance"), Meaning::Deployment);
        assert_eq!(meaning(StatusCode::FORBIDDEN, "session_reverification_required"), Meaning::UserStep);
        assert_eq!(meaning(StatusCode::BAD_REQUEST, "native_api_disabled"), Meaning::Deployment);
        assert_eq!(meaning(StatusCode::CONFLICT, "resource_locked"), Meaning::Unavailable);
        assert_eq!(meaning(unprocessable, "missing_expired_token"), Meaning::Unavailable);
        assert_eq!(meaning(unprocessable, "some_code_from_the_future"), Meaning::Deployment);
        let incomplete = ClerkError::SignInIncomplete { status: "needs_client_trust".into() };
        assert_eq!(incomplete.meaning(), Meaning::UserStep);
        assert!(incomplete.client_reason().contains("CLERK_SECRET_KEY"));
        assert_eq!(ClerkError::TemplateMissing.meaning(), Meaning::Deployment);
        assert!(ClerkError::TemplateMissing.client_reason().contains("CLERK_JWT_TEMPLATE"));
    }

    #[test]
    fn deployment_refusals_name_the_setting() {
        let reason = refusal(StatusCode::BAD_REQUEST, "native_api_disabled");
        let ClerkError::Refused(refusal) = reason else { unreachable!() };
        assert!(refusal.client_reason().contains("Native API"));
    }
}
