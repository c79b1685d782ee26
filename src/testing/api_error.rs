//! What the fake refuses a request with, as data; [`error_envelope`](super::error_envelope)
//! renders it as Clerk's error answer. Frontend and Backend API refusals share the envelope.

use std::time::Duration;

/// A refusal of the fake Clerk (Frontend or Backend API), one variant per Clerk error code it
/// answers.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// 429 `too_many_requests`, announcing this wait in `Retry-After`.
    TooManyRequests { retry_after: Duration },
    /// 422 `form_param_missing`.
    ParamMissing { param: &'static str },
    /// 422 `form_param_value_invalid`.
    ParamInvalid { param: &'static str },
    /// 422 `form_param_unknown`: a parameter the endpoint does not take.
    ParamUnknown { param: String },
    /// 400 `request_body_invalid`: a Backend API body that is not a JSON object.
    RequestBodyInvalid,
    /// 400 `session_exists`: single session mode and the client is signed in.
    SessionExists,
    /// 400 `identifier_already_signed_in`: the client holds a session of this user.
    AlreadySignedIn { session_id: String },
    /// 422 `form_identifier_not_found`.
    IdentifierNotFound,
    /// 422 `form_password_incorrect`.
    PasswordIncorrect,
    /// 422 `form_password_or_identifier_incorrect`: a wrong password or an unknown identifier,
    /// under enumeration protection.
    PasswordOrIdentifierIncorrect,
    /// 400 `strategy_for_user_invalid`: a password sign-in of a user without a password.
    StrategyForUserInvalid,
    /// 401 `requires_captcha`: bot protection wants a CAPTCHA.
    RequiresCaptcha,
    /// 400 `native_api_disabled`: the instance's Native API is off.
    NativeApiDisabled,
    /// 400 `ticket_invalid_code`: no such sign-in token.
    TicketInvalid,
    /// 400 `ticket_expired_code`.
    TicketExpired,
    /// 400 `sign_in_token_already_used_code`.
    TicketAlreadyUsed,
    /// 422 `account_lockout_warning`: a wrong password, this many attempts before the lockout.
    LockoutWarning { attempts_left: u32 },
    /// 403 `user_locked`, for the remaining time (`None`: a lock with no end).
    UserLocked { remaining: Option<Duration> },
    /// 403 `user_banned`.
    UserBanned,
    /// 401 `authentication_invalid`: no client, an unknown client token, or one that was
    /// rotated away.
    AuthenticationInvalid,
    /// 401 `signed_out`: the session was revoked, ended or expired.
    SignedOut,
    /// 422 `missing_expired_token`: outage mode, and the token call did not carry the session's
    /// last token as `expired_token`.
    MissingExpiredToken,
    /// 404 `resource_not_found` for a session id.
    SessionNotFound { session_id: String },
    /// 404 `organization_not_found_or_unauthorized`.
    OrganizationNotFound,
    /// 404 `resource_not_found` for a JWT template name.
    TemplateNotFound { name: String },
    /// 404 `resource_not_found` for a route the fake does not serve.
    RouteNotFound,
    /// 404 `resource_not_found` for a Backend API user id.
    UserNotFound,
    /// 422 `incorrect_password` (Backend API `verify_password`).
    IncorrectPassword,
    /// 400 `no_password_set` (Backend API `verify_password`).
    NoPasswordSet,
    /// 401 `authorization_header_format_invalid`: a Backend API call without `Bearer <key>`.
    AuthorizationHeaderFormatInvalid,
    /// 401 `clerk_key_invalid`: a Backend API call with another secret key.
    ClerkKeyInvalid,
    /// 401 `dev_browser_unauthenticated`: a development instance request that is not native.
    DevBrowserUnauthenticated,
    /// 400 `request_header_missing`: a native request without `Authorization`.
    RequestHeaderMissing,
    /// 400 `origin_authorization_headers_conflict`.
    OriginAuthorizationConflict,
    /// 400 `multiple_authorization_header_values_forbidden`.
    MultipleAuthorizationValues,
    /// 400 `api_version_conflict`.
    ApiVersionConflict,
    /// `internal_clerk_error` with this status ([`Fault::ServerError`](super::Fault::ServerError)).
    ServerError { status: u16 },
}
