//! Clerk's JSON shapes: Client, Session, SignIn, User, Token, and the error envelope.

use std::time::Duration;

use serde_json::{Value, json};

use super::ids;
use super::state::{ClientRecord, SessionRecord, SignInRecord, State, UserRecord};
use super::time::{ceil_secs, now_ms};

/// A Clerk error answer: status, `code`, messages, `meta`, and `Retry-After` for 429.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    code: &'static str,
    message: String,
    long_message: String,
    meta: Value,
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: &str, long_message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            long_message: long_message.to_owned(),
            meta: json!({}),
            retry_after: None,
        }
    }

    fn meta(mut self, meta: Value) -> Self {
        self.meta = meta;
        self
    }

    /// The body: `{"errors": [{code, message, long_message, meta}], "clerk_trace_id"}`.
    pub(crate) fn body(&self) -> Value {
        json!({
            "errors": [{
                "message": self.message,
                "long_message": self.long_message,
                "code": self.code,
                "meta": self.meta,
            }],
            "clerk_trace_id": ids::hex(32),
        })
    }

    pub(crate) fn too_many_requests(retry_after: Duration) -> Self {
        let mut error = Self::new(429, "too_many_requests", "Too many requests", "Too many requests, retry later");
        error.retry_after = Some(ceil_secs(retry_after).max(1));
        error
    }

    pub(crate) fn param_missing(param: &str) -> Self {
        Self::new(422, "form_param_missing", "is missing", &format!("{param} must be included."))
            .meta(json!({"param_name": param}))
    }

    pub(crate) fn param_invalid(param: &str) -> Self {
        Self::new(422, "form_param_value_invalid", "is invalid", &format!("{param} is invalid."))
            .meta(json!({"param_name": param}))
    }

    pub(crate) fn session_exists() -> Self {
        Self::new(
            400,
            "session_exists",
            "Session already exists",
            "You're currently in single session mode. You can only be signed into one account at a time.",
        )
    }

    pub(crate) fn already_signed_in(session_id: &str) -> Self {
        Self::new(400, "identifier_already_signed_in", "You're already signed in", "You're already signed in")
            .meta(json!({"session_id": session_id}))
    }

    pub(crate) fn identifier_not_found() -> Self {
        Self::new(422, "form_identifier_not_found", "Couldn't find your account.", "Couldn't find your account.")
            .meta(json!({"param_name": "identifier"}))
    }

    pub(crate) fn password_incorrect() -> Self {
        let message = "Password is incorrect. Try again, or use another method.";
        Self::new(422, "form_password_incorrect", message, message).meta(json!({"param_name": "password"}))
    }

    pub(crate) fn lockout_warning(attempts_left: u32) -> Self {
        let attempts =
            if attempts_left == 1 { "1 more attempt".to_owned() } else { format!("{attempts_left} more attempts") };
        let message = format!("Password is incorrect. You have {attempts} before your account is locked.");
        Self::new(422, "account_lockout_warning", &message, &message).meta(json!({"param_name": "password"}))
    }

    /// 403 `user_locked`; `meta.lockout_expires_in_seconds` is the remaining time, `null` for a
    /// lock with no end.
    pub(crate) fn user_locked(remaining: Option<Duration>) -> Self {
        let long_message = match remaining {
            Some(remaining) => format!(
                "Your account is locked. You will be able to try again in {}. For more information, please contact support.",
                human_duration(remaining)
            ),
            None => "Your account is locked. For more information, please contact support.".to_owned(),
        };
        Self::new(403, "user_locked", "Account locked", &long_message)
            .meta(json!({"lockout_expires_in_seconds": remaining.map(ceil_secs)}))
    }

    pub(crate) fn user_banned() -> Self {
        Self::new(
            403,
            "user_banned",
            "User banned",
            "You have been banned. If you think this was by mistake, please contact support.",
        )
    }

    pub(crate) fn authentication_invalid() -> Self {
        Self::new(
            401,
            "authentication_invalid",
            "Invalid authentication",
            "Unable to authenticate the request, you need to supply an active session",
        )
    }

    pub(crate) fn session_not_found(session_id: &str) -> Self {
        Self::new(404, "resource_not_found", "not found", &format!("No session was found with id {session_id}"))
    }

    pub(crate) fn organization_not_found() -> Self {
        Self::new(
            404,
            "organization_not_found_or_unauthorized",
            "not found or unauthorized",
            "Given organization not found, or you don't have permission to access the organization",
        )
    }

    pub(crate) fn template_not_found(name: &str) -> Self {
        Self::new(404, "resource_not_found", "not found", &format!("No JWT template exists with name: {name}"))
    }

    pub(crate) fn route_not_found() -> Self {
        Self::new(404, "resource_not_found", "not found", "The requested resource was not found")
    }

    pub(crate) fn dev_browser_unauthenticated() -> Self {
        Self::new(
            401,
            "dev_browser_unauthenticated",
            "Browser unauthenticated",
            "Unable to authenticate this browser for your development instance. Check your Clerk cookies and try again. If the issue persists, reach out to support@clerk.com.",
        )
    }

    pub(crate) fn request_header_missing() -> Self {
        Self::new(
            400,
            "request_header_missing",
            "Invalid request headers",
            "Your Clerk Frontend API is accessible from browsers and native applications. To protect against common web attacks, we require the HTTP Authorization header to be present in native application requests. Make sure the HTTP Authorization header is set a valid Clerk client JWT or set it to an empty string for your first Frontend API request that will return your Clerk client JWT.",
        )
    }

    pub(crate) fn origin_authorization_conflict() -> Self {
        Self::new(
            400,
            "origin_authorization_headers_conflict",
            "Setting both the 'Origin' and 'Authorization' headers is forbidden",
            "For security purposes, only one of the 'Origin' and 'Authorization' headers should be provided, but not both. In browser contexts, the 'Origin' header is set automatically by the browser. In native application contexts (e.g. mobile apps), set the 'Authorization' header.",
        )
    }

    pub(crate) fn multiple_authorization_values() -> Self {
        Self::new(
            400,
            "multiple_authorization_header_values_forbidden",
            "Multiple 'Authorization' header values",
            "Setting multiple values in the 'Authorization' header is forbidden",
        )
    }

    pub(crate) fn api_version_conflict() -> Self {
        Self::new(
            400,
            "api_version_conflict",
            "Conflicting API versions",
            "The API version can be set with the __clerk_api_version query parameter or the Clerk-API-Version header, but not both.",
        )
    }

    pub(crate) fn server_error(status: u16) -> Self {
        Self::new(
            status,
            "internal_clerk_error",
            "Oops, an unexpected error occurred",
            "There was an internal error on our servers. We've been notified and are working on fixing it.",
        )
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

/// `{"object": "token", "jwt": ...}`, the bare body of the `/tokens` routes.
pub(crate) fn token_json(jwt: &str) -> Value {
    json!({"object": "token", "jwt": jwt})
}

/// The Client object, sessions oldest first.
pub(crate) fn client_json(state: &State, client: &ClientRecord) -> Value {
    let sessions: Vec<Value> = client
        .session_ids
        .iter()
        .filter_map(|id| state.sessions.get(id))
        .map(|session| session_json(state, session))
        .collect();
    let last_active = client
        .last_active_session_id
        .as_ref()
        .filter(|id| state.sessions.get(*id).is_some_and(|s| matches!(s.status.as_str(), "active" | "pending")));
    json!({
        "object": "client",
        "id": client.id,
        "sessions": sessions,
        "sign_in": client.sign_in.as_ref().map(|sign_in| sign_in_json(state, sign_in)),
        "sign_up": null,
        "last_active_session_id": last_active,
        "last_authentication_strategy": client.session_ids.last().map(|_| "password"),
        "cookie_expires_at": null,
        "captcha_bypass": false,
        "created_at": client.created_at,
        "updated_at": client.updated_at,
    })
}

/// The Session object.
pub(crate) fn session_json(state: &State, session: &SessionRecord) -> Value {
    let user = state.user_by_id(&session.user_id);
    let tasks: Option<Vec<Value>> =
        (!session.tasks.is_empty()).then(|| session.tasks.iter().map(|key| json!({"key": key})).collect());
    json!({
        "object": "session",
        "id": session.id,
        "status": session.status.as_str(),
        "expire_at": session.expire_at,
        "abandon_at": session.abandon_at,
        "last_active_at": session.last_active_at,
        "last_active_organization_id": session.active_org,
        "last_active_token": session.last_token.as_deref().map(token_json),
        "actor": null,
        "tasks": tasks,
        "user": user.map_or_else(|| json!({"id": session.user_id}), |record| user_json(state, record)),
        "public_user_data": user.map(|record| public_user_data(record, true)),
        "factor_verification_age": [now_ms().saturating_sub(session.created_at) / 60_000, -1],
        "created_at": session.created_at,
        "updated_at": session.updated_at,
    })
}

/// The SignIn object.
pub(crate) fn sign_in_json(state: &State, sign_in: &SignInRecord) -> Value {
    let user = state.user_by_id(&sign_in.user_id);
    let second_factors = match sign_in.status {
        "needs_second_factor" => json!([{"strategy": "totp"}]),
        "needs_client_trust" => user.map_or(Value::Null, |record| {
            json!([{
                "strategy": "email_code",
                "safe_identifier": record.user.email,
                "email_address_id": record.user.email_address_id,
                "primary": true,
            }])
        }),
        _ => Value::Null,
    };
    let mut identifiers = vec!["email_address"];
    if user.is_some_and(|record| record.user.username.is_some()) {
        identifiers.push("username");
    }
    let first_factors = user.map(|record| {
        json!([
            {"strategy": "password"},
            {
                "strategy": "email_code",
                "safe_identifier": record.user.email,
                "email_address_id": record.user.email_address_id,
                "primary": true,
            },
        ])
    });
    let first_factor_verification = sign_in.first_factor_verified.then(|| {
        json!({
            "object": "verification_password",
            "status": "verified",
            "strategy": "password",
            "attempts": null,
            "expire_at": null,
        })
    });
    let mut json = json!({
        "object": "sign_in_attempt",
        "id": sign_in.id,
        "status": sign_in.status,
        "supported_identifiers": identifiers,
        "supported_first_factors": first_factors,
        "supported_second_factors": second_factors,
        "first_factor_verification": first_factor_verification,
        "second_factor_verification": null,
        "identifier": sign_in.identifier,
        "user_data": user.map(|record| public_user_data(record, false)),
        "created_session_id": sign_in.created_session_id,
        "abandon_at": sign_in.abandon_at,
    });
    if sign_in.status == "needs_client_trust" {
        json["client_trust_state"] = json!("new");
    }
    json
}

/// `public_user_data` of a session (`with_identifier`) or `user_data` of a sign-in.
fn public_user_data(record: &UserRecord, with_identifier: bool) -> Value {
    let mut data = json!({
        "first_name": null,
        "last_name": null,
        "image_url": "",
        "has_image": false,
    });
    if with_identifier {
        data["identifier"] = json!(record.user.email);
        data["user_id"] = json!(record.user.id);
        data["username"] = json!(record.user.username);
    }
    data
}

/// The User object (the fields a server-side client may look at).
fn user_json(state: &State, record: &UserRecord) -> Value {
    let user = &record.user;
    let memberships: Vec<Value> = user
        .memberships
        .iter()
        .filter_map(|(org_id, role)| {
            let org = state.org_by_id(org_id)?;
            Some(json!({
                "object": "organization_membership",
                "id": format!("orgmem_{}", &org.id.trim_start_matches("org_")),
                "organization": {
                    "object": "organization",
                    "id": org.id,
                    "name": org.name,
                    "slug": org.slug,
                    "image_url": "",
                    "has_image": false,
                    "public_metadata": {},
                },
                "role": format!("org:{role}"),
                "permissions": org.permissions_of(role),
                "public_metadata": {},
                "created_at": record.created_at,
                "updated_at": record.created_at,
            }))
        })
        .collect();
    let now = tokio::time::Instant::now();
    let lockout = record.lockout_remaining(now);
    json!({
        "object": "user",
        "id": user.id,
        "username": user.username,
        "first_name": null,
        "last_name": null,
        "image_url": "",
        "has_image": false,
        "primary_email_address_id": user.email_address_id,
        "primary_phone_number_id": null,
        "primary_web3_wallet_id": null,
        "password_enabled": true,
        "two_factor_enabled": user.second_step.is_some_and(|step| step.status() == "needs_second_factor"),
        "totp_enabled": user.second_step.is_some_and(|step| step.status() == "needs_second_factor"),
        "backup_code_enabled": false,
        "email_addresses": [{
            "object": "email_address",
            "id": user.email_address_id,
            "email_address": user.email,
            "reserved": false,
            "verification": {"status": "verified", "strategy": "email_code", "attempts": null, "expire_at": null},
            "linked_to": [],
            "created_at": record.created_at,
            "updated_at": record.created_at,
        }],
        "phone_numbers": [],
        "web3_wallets": [],
        "passkeys": [],
        "external_accounts": [],
        "enterprise_accounts": [],
        "organization_memberships": memberships,
        "public_metadata": {},
        "unsafe_metadata": {},
        "external_id": null,
        "banned": user.banned,
        "locked": lockout.is_some(),
        "lockout_expires_in_seconds": lockout.flatten().map(ceil_secs),
        "verification_attempts_remaining": record.attempts_remaining(state.config.lockout_threshold),
        "created_at": record.created_at,
        "updated_at": record.created_at,
        "last_sign_in_at": null,
    })
}
