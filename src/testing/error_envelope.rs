//! Clerk's error answer for each [`ApiError`]: the status, the envelope
//! `{"errors": [{message, long_message, code, meta}], "clerk_trace_id"}`, and `Retry-After` for 429.

use std::time::Duration;

use serde_json::{Value, json};

use super::api_error::ApiError;
use super::ids;
use super::time::ceil_secs;

/// An error answer, ready for HTTP.
pub(crate) struct ErrorAnswer {
    pub(crate) status: u16,
    pub(crate) body: Value,
    /// `Retry-After` in whole seconds.
    pub(crate) retry_after: Option<u64>,
}

/// Clerk's answer to `error`.
pub(crate) fn error_answer(error: &ApiError) -> ErrorAnswer {
    let Envelope { status, code, message, long_message, meta } = envelope(error);
    let body = json!({
        "errors": [{
            "message": message,
            "long_message": long_message,
            "code": code,
            "meta": meta,
        }],
        "clerk_trace_id": ids::hex(32),
    });
    let retry_after = match error {
        ApiError::TooManyRequests { retry_after } => Some(ceil_secs(*retry_after).max(1)),
        _ => None,
    };
    ErrorAnswer { status, body, retry_after }
}

/// The fields of one Clerk error.
struct Envelope {
    status: u16,
    code: &'static str,
    message: String,
    long_message: String,
    meta: Value,
}

impl Envelope {
    fn new(status: u16, code: &'static str, message: &str, long_message: &str) -> Self {
        Self { status, code, message: message.to_owned(), long_message: long_message.to_owned(), meta: json!({}) }
    }

    fn meta(mut self, meta: Value) -> Self {
        self.meta = meta;
        self
    }
}

fn envelope(error: &ApiError) -> Envelope {
    match error {
        ApiError::TooManyRequests { .. } => {
            Envelope::new(429, "too_many_requests", "Too many requests", "Too many requests, retry later")
        }
        ApiError::ParamMissing { param } => {
            Envelope::new(422, "form_param_missing", "is missing", &format!("{param} must be included."))
                .meta(json!({"param_name": param}))
        }
        ApiError::ParamInvalid { param } => {
            Envelope::new(422, "form_param_value_invalid", "is invalid", &format!("{param} is invalid."))
                .meta(json!({"param_name": param}))
        }
        ApiError::ParamUnknown { param } => Envelope::new(
            422,
            "form_param_unknown",
            "is unknown",
            &format!("{param} is not a valid parameter for this request."),
        )
        .meta(json!({"param_name": param})),
        ApiError::RequestBodyInvalid => Envelope::new(
            400,
            "request_body_invalid",
            "Request body invalid",
            "The request body is invalid. Please consult the API documentation for more information.",
        ),
        ApiError::SessionExists => Envelope::new(
            400,
            "session_exists",
            "Session already exists",
            "You're currently in single session mode. You can only be signed into one account at a time.",
        ),
        ApiError::AlreadySignedIn { session_id } => {
            Envelope::new(400, "identifier_already_signed_in", "You're already signed in", "You're already signed in")
                .meta(json!({"session_id": session_id}))
        }
        ApiError::IdentifierNotFound => Envelope::new(
            422,
            "form_identifier_not_found",
            "Couldn't find your account.",
            "Couldn't find your account.",
        )
        .meta(json!({"param_name": "identifier"})),
        ApiError::PasswordIncorrect => {
            let message = "Password is incorrect. Try again, or use another method.";
            Envelope::new(422, "form_password_incorrect", message, message).meta(json!({"param_name": "password"}))
        }
        ApiError::PasswordOrIdentifierIncorrect => Envelope::new(
            422,
            "form_password_or_identifier_incorrect",
            "Password or Identifier is incorrect",
            "Password or identifier is incorrect. Try again, or use another method.",
        ),
        ApiError::StrategyForUserInvalid => Envelope::new(
            400,
            "strategy_for_user_invalid",
            "Invalid verification strategy",
            "The verification strategy is not valid for this account",
        )
        .meta(json!({"param_name": "strategy"})),
        ApiError::RequiresCaptcha => Envelope::new(
            401,
            "requires_captcha",
            "CAPTCHA verification is required",
            "CAPTCHA verification is required to complete this request.",
        ),
        ApiError::NativeApiDisabled => Envelope::new(
            400,
            "native_api_disabled",
            "Native API is disabled",
            "The Native API is disabled for this instance. Enable it from the Clerk Dashboard, or send no _is_native={1|true} query parameter.",
        ),
        ApiError::TicketInvalid => {
            Envelope::new(400, "ticket_invalid_code", "is invalid", "The provided ticket is invalid.")
                .meta(json!({"param_name": "ticket"}))
        }
        ApiError::TicketExpired => {
            Envelope::new(400, "ticket_expired_code", "is expired", "The provided ticket has expired.")
                .meta(json!({"param_name": "ticket"}))
        }
        ApiError::TicketAlreadyUsed => Envelope::new(
            400,
            "sign_in_token_already_used_code",
            "Sign in token has already been used",
            "Each token can only be used once.",
        )
        .meta(json!({"param_name": "ticket"})),
        ApiError::LockoutWarning { attempts_left } => {
            let attempts = if *attempts_left == 1 {
                "1 more attempt".to_owned()
            } else {
                format!("{attempts_left} more attempts")
            };
            let message = format!("Password is incorrect. You have {attempts} before your account is locked.");
            Envelope::new(422, "account_lockout_warning", &message, &message).meta(json!({"param_name": "password"}))
        }
        ApiError::UserLocked { remaining } => {
            let long_message = match remaining {
                Some(remaining) => format!(
                    "Your account is locked. You will be able to try again in {}. For more information, please contact support.",
                    human_duration(*remaining)
                ),
                None => "Your account is locked. For more information, please contact support.".to_owned(),
            };
            // `null` for a lock with no end.
            Envelope::new(403, "user_locked", "Account locked", &long_message)
                .meta(json!({"lockout_expires_in_seconds": remaining.map(ceil_secs)}))
        }
        ApiError::UserBanned => Envelope::new(
            403,
            "user_banned",
            "User banned",
            "You have been banned. If you think this was by mistake, please contact support.",
        ),
        ApiError::AuthenticationInvalid => Envelope::new(
            401,
            "authentication_invalid",
            "Invalid authentication",
            "Unable to authenticate the request, you need to supply an active session",
        ),
        ApiError::SignedOut => Envelope::new(401, "signed_out", "Signed out", "You are signed out"),
        ApiError::MissingExpiredToken => Envelope::new(
            422,
            "missing_expired_token",
            "Missing expired token",
            "Clerk's origin is unavailable: retry with the session's last token as the expired_token query parameter.",
        ),
        ApiError::SessionNotFound { session_id } => {
            Envelope::new(404, "resource_not_found", "not found", &format!("No session was found with id {session_id}"))
        }
        ApiError::OrganizationNotFound => Envelope::new(
            404,
            "organization_not_found_or_unauthorized",
            "not found or unauthorized",
            "Given organization not found, or you don't have permission to access the organization",
        ),
        ApiError::TemplateNotFound { name } => {
            Envelope::new(404, "resource_not_found", "not found", &format!("No JWT template exists with name: {name}"))
        }
        ApiError::RouteNotFound => {
            Envelope::new(404, "resource_not_found", "not found", "The requested resource was not found")
        }
        ApiError::UserNotFound => Envelope::new(404, "resource_not_found", "not found", "The user does not exist"),
        ApiError::IncorrectPassword => Envelope::new(
            422,
            "incorrect_password",
            "Incorrect password",
            "The provided password is not the one the user has set",
        ),
        ApiError::NoPasswordSet => {
            Envelope::new(400, "no_password_set", "No password set", "The user does not have a password set.")
        }
        ApiError::AuthorizationHeaderFormatInvalid => Envelope::new(
            401,
            "authorization_header_format_invalid",
            "Invalid Authorization header format",
            "Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'",
        ),
        ApiError::ClerkKeyInvalid => Envelope::new(
            401,
            "clerk_key_invalid",
            "Secret Key invalid",
            "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.",
        ),
        ApiError::DevBrowserUnauthenticated => Envelope::new(
            401,
            "dev_browser_unauthenticated",
            "Browser unauthenticated",
            "Unable to authenticate this browser for your development instance. Check your Clerk cookies and try again. If the issue persists, reach out to support@clerk.com.",
        ),
        ApiError::RequestHeaderMissing => Envelope::new(
            400,
            "request_header_missing",
            "Invalid request headers",
            "Your Clerk Frontend API is accessible from browsers and native applications. To protect against common web attacks, we require the HTTP Authorization header to be present in native application requests. Make sure the HTTP Authorization header is set a valid Clerk client JWT or set it to an empty string for your first Frontend API request that will return your Clerk client JWT.",
        ),
        ApiError::OriginAuthorizationConflict => Envelope::new(
            400,
            "origin_authorization_headers_conflict",
            "Setting both the 'Origin' and 'Authorization' headers is forbidden",
            "For security purposes, only one of the 'Origin' and 'Authorization' headers should be provided, but not both. In browser contexts, the 'Origin' header is set automatically by the browser. In native application contexts (e.g. mobile apps), set the 'Authorization' header.",
        ),
        ApiError::MultipleAuthorizationValues => Envelope::new(
            400,
            "multiple_authorization_header_values_forbidden",
            "Multiple 'Authorization' header values",
            "Setting multiple values in the 'Authorization' header is forbidden",
        ),
        ApiError::ApiVersionConflict => Envelope::new(
            400,
            "api_version_conflict",
            "Conflicting API versions",
            "The API version can be set with the __clerk_api_version query parameter or the Clerk-API-Version header, but not both.",
        ),
        ApiError::ServerError { status } => Envelope::new(
            *status,
            "internal_clerk_error",
            "Oops, an unexpected error occurred",
            "There was an internal error on our servers. We've been notified and are working on fixing it.",
        ),
    }
}

/// "1 hour", "59 minutes", "30 seconds".
fn human_duration(duration: Duration) -> String {
    let secs = ceil_secs(duration);
    let (amount, unit) = if secs >= 3600 && secs.is_multiple_of(3600) {
        (secs / 3600, "hour")
    } else if secs >= 60 {
        (secs.div_ceil(60), "minute")
    } else {
        (secs, "second")
    };
    if amount == 1 { format!("1 {unit}") } else { format!("{amount} {unit}s") }
}
