//! The Backend API operations: the secret key and rate limit of every call, `GET /v1/users`,
//! `POST /v1/users/{id}/verify_password` and `POST /v1/sign_in_tokens`, as Clerk's spec
//! (`bapi/2026-05-12.yml`) describes them. JSON bodies are parsed here; `verify_password` refuses
//! unknown properties (`additionalProperties: false` in the spec), `sign_in_tokens` ignores them
//! (the spec does not close its schema).
//!
//! The fake's choices where Clerk's documentation is silent:
//! - A wrong password at `verify_password` counts toward the user's lockout exactly as a wrong
//!   password at a sign-in does (the stricter reading), and a right one starts the count over.
//!   The lock shows in the user's `locked`, `lockout_expires_in_seconds` and
//!   `verification_attempts_remaining`; the answer itself stays 422 `incorrect_password`.
//! - While the user is locked, `verify_password` answers 403 `user_locked`, whatever the
//!   password.
//! - A body that is not a JSON object answers 400 `request_body_invalid`.

use std::time::Duration;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::api_error::ApiError;
use super::ids;
use super::params::Params;
use super::records::{SignInTokenRecord, SignInTokenStatus};
use super::state::State;
use super::time::now_ms;

/// Clerk's default lifetime of a sign-in token: 30 days.
const SIGN_IN_TOKEN_LIFETIME_SECS: u64 = 2_592_000;

/// The query parameters `GET /v1/users` takes (Clerk's spec, 2026-05-12).
const USER_LIST_PARAMS: &[&str] = &[
    "email_address",
    "phone_number",
    "external_id",
    "username",
    "web3_wallet",
    "user_id",
    "organization_id",
    "query",
    "email_address_query",
    "phone_number_query",
    "username_query",
    "name_query",
    "banned",
    "last_active_at_before",
    "last_active_at_after",
    "last_active_at_since",
    "created_at_before",
    "created_at_after",
    "last_sign_in_at_before",
    "last_sign_in_at_after",
    "provider",
    "provider_user_id",
    "limit",
    "offset",
    "starting_after",
    "order_by",
];

/// A sign-in token was created.
pub(crate) struct SignInTokenOutcome {
    pub(crate) token: String,
}

/// Checks the `Authorization` header of a Backend API call: `Bearer <secret key>`.
pub(crate) fn check_secret_key(headers: &HeaderMap, secret_key: &str) -> Result<(), ApiError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(ApiError::AuthorizationHeaderFormatInvalid);
    };
    let key = value
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .ok_or(ApiError::AuthorizationHeaderFormatInvalid)?;
    if key == secret_key { Ok(()) } else { Err(ApiError::ClerkKeyInvalid) }
}

/// A JSON object body; with `closed`, one with only those keys.
fn json_object<'a>(body: &'a Value, closed: Option<&[&str]>) -> Result<&'a Map<String, Value>, ApiError> {
    let object = body.as_object().ok_or(ApiError::RequestBodyInvalid)?;
    if let Some(allowed) = closed
        && let Some(unknown) = object.keys().find(|key| !allowed.contains(&key.as_str()))
    {
        return Err(ApiError::ParamUnknown { param: unknown.clone() });
    }
    Ok(object)
}

/// A non-negative integer query parameter within `range`.
fn number(query: &Params, param: &'static str, range: std::ops::RangeInclusive<u64>) -> Result<Option<u64>, ApiError> {
    query
        .get(param)
        .map(|value| value.parse::<u64>().ok().filter(|n| range.contains(n)).ok_or(ApiError::ParamInvalid { param }))
        .transpose()
}

impl State {
    /// The Backend API's rate limit, keyed by the secret key: counts this call, or refuses it
    /// with the wait.
    pub(crate) fn admit_backend_call(&mut self) -> Result<(), ApiError> {
        self.backend_rate
            .admit((), Instant::now(), self.config.backend_limit, self.config.backend_window)
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })
    }

    /// `GET /v1/users`: the indices of the users the filters select, newest first (or as
    /// `order_by` says), paged by `limit` (default 10, at most 500) and `offset`. Filters of
    /// one kind are alternatives (repeated keys), filters of different kinds all apply. The fake
    /// users have no phone numbers, external ids, Web3 wallets or external accounts, so those
    /// filters select nobody; the date filters are accepted and ignored.
    pub(crate) fn list_users(&self, query: &Params) -> Result<Vec<usize>, ApiError> {
        if let Some(unknown) = query.keys().find(|key| !USER_LIST_PARAMS.contains(key)) {
            return Err(ApiError::ParamUnknown { param: unknown.to_owned() });
        }
        let limit = number(query, "limit", 1..=500)?.unwrap_or(10);
        let offset = number(query, "offset", 0..=u64::from(u32::MAX))?.unwrap_or(0);
        let values = |key: &'static str| -> Vec<String> {
            query.all(key).filter(|value| !value.is_empty()).map(str::to_lowercase).collect()
        };
        let contains =
            |haystack: Option<&str>, needle: &str| haystack.is_some_and(|h| h.to_lowercase().contains(needle));
        let emails = values("email_address");
        let usernames = values("username");
        let user_ids: Vec<&str> = query.all("user_id").filter(|value| !value.is_empty()).collect();
        let orgs: Vec<&str> = query.all("organization_id").filter(|value| !value.is_empty()).collect();
        let unmatched = ["phone_number", "external_id", "web3_wallet", "provider_user_id"]
            .iter()
            .any(|key| query.all(key).any(|value| !value.is_empty()));
        let banned = query.get("banned").map(|value| value == "true");
        let substring = |key: &'static str| query.get(key).filter(|v| !v.is_empty()).map(str::to_lowercase);
        let (any, email_part, username_part) =
            (substring("query"), substring("email_address_query"), substring("username_query"));
        let mut selected: Vec<usize> = self
            .users
            .iter()
            .enumerate()
            .filter(|(_, record)| {
                let user = &record.user;
                let username = user.username.as_deref();
                !unmatched
                    && (emails.is_empty() || emails.iter().any(|email| user.email.eq_ignore_ascii_case(email)))
                    && (usernames.is_empty()
                        || usernames.iter().any(|name| username.is_some_and(|u| u.eq_ignore_ascii_case(name))))
                    && (user_ids.is_empty() || user_ids.contains(&user.id.as_str()))
                    && (orgs.is_empty() || orgs.iter().any(|org| user.role_in(org).is_some()))
                    && banned.is_none_or(|banned| user.banned == banned)
                    && any.as_deref().is_none_or(|q| {
                        contains(Some(&user.email), q) || contains(username, q) || contains(Some(&user.id), q)
                    })
                    && email_part.as_deref().is_none_or(|q| contains(Some(&user.email), q))
                    && username_part.as_deref().is_none_or(|q| contains(username, q))
            })
            .map(|(index, _)| index)
            .collect();
        // Users are kept oldest first.
        if !matches!(query.get("order_by"), Some("created_at" | "+created_at")) {
            selected.reverse();
        }
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(selected.into_iter().skip(offset).take(limit).collect())
    }

    /// `POST /v1/users/{id}/verify_password` with `{"password": ...}`; see the module docs for
    /// how it meets the lockout.
    pub(crate) fn verify_password(&mut self, user_id: &str, body: &Value) -> Result<(), ApiError> {
        let object = json_object(body, Some(&["password"]))?;
        let password = object
            .get("password")
            .and_then(Value::as_str)
            .filter(|password| !password.is_empty())
            .ok_or(ApiError::ParamMissing { param: "password" })?;
        let now = Instant::now();
        let (threshold, duration) = (self.config.lockout_threshold, self.config.lockout_duration);
        let record = self.users.iter_mut().find(|record| record.user.id == user_id).ok_or(ApiError::UserNotFound)?;
        if !record.user.password_enabled {
            return Err(ApiError::NoPasswordSet);
        }
        if let Some(remaining) = record.current_lock(now) {
            return Err(ApiError::UserLocked { remaining });
        }
        record.attempt_password(password, now, threshold, duration).map_err(|_| ApiError::IncorrectPassword)
    }

    /// `POST /v1/sign_in_tokens` with `{"user_id", "expires_in_seconds"?, "org_id"?}`: a
    /// one-time token for a ticket sign-in, valid for `expires_in_seconds` (at least 1; default
    /// 30 days). `org_id` must be an organization the user is a member of; the session the
    /// ticket creates starts with it active.
    pub(crate) fn create_sign_in_token(&mut self, body: &Value) -> Result<SignInTokenOutcome, ApiError> {
        let object = json_object(body, None)?;
        let user_id = object
            .get("user_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or(ApiError::ParamMissing { param: "user_id" })?;
        let lifetime = match object.get("expires_in_seconds") {
            None | Some(Value::Null) => SIGN_IN_TOKEN_LIFETIME_SECS,
            Some(value) => value
                .as_u64()
                .filter(|secs| *secs >= 1)
                .ok_or(ApiError::ParamInvalid { param: "expires_in_seconds" })?,
        };
        let record = self.user_by_id(user_id).ok_or(ApiError::UserNotFound)?;
        let org_id = match object.get("org_id") {
            None | Some(Value::Null) => None,
            Some(value) => {
                let org_id = value.as_str().ok_or(ApiError::ParamInvalid { param: "org_id" })?;
                self.active_org(&record.user, Some(org_id)).ok_or(ApiError::OrganizationNotFound)?;
                Some(org_id.to_owned())
            }
        };
        let token = ids::client_token();
        let now = now_ms();
        self.sign_in_tokens.insert(
            token.clone(),
            SignInTokenRecord {
                id: ids::clerk_id("sit"),
                user_id: user_id.to_owned(),
                org_id,
                status: SignInTokenStatus::Pending,
                expires_at: Instant::now() + Duration::from_secs(lifetime),
                created_at: now,
                updated_at: now,
            },
        );
        Ok(SignInTokenOutcome { token })
    }
}
