//! Clerk's JSON shapes: Client, Session, SignIn, User, Token, SignInToken, and the answers of the
//! Frontend and Backend API routes built from the state's outcomes.

use serde_json::{Value, json};

use super::backend::SignInTokenOutcome;
use super::fixtures::SecondStep;
use super::records::{ClientRecord, SessionRecord, SessionStatus, SignInRecord, SignInStatus, UserRecord};
use super::session_calls::{MintedToken, TouchOutcome};
use super::sign_in::SignInOutcome;
use super::state::State;
use super::time::{ceil_secs, now_ms};

/// The answer to a sign-in: `{"response": SignIn, "client": Client}`.
pub(crate) fn sign_in_response(state: &State, outcome: &SignInOutcome) -> Value {
    json!({
        "response": sign_in_json(state, &outcome.attempt),
        "client": client_json_of(state, &outcome.client_token),
    })
}

/// The answer to a touch: `{"response": Session, "client": Client}`.
pub(crate) fn touch_response(state: &State, outcome: &TouchOutcome) -> Value {
    let session = state.sessions.get(&outcome.session_id).map_or(Value::Null, |session| session_json(state, session));
    json!({"response": session, "client": client_json_of(state, &outcome.client_token)})
}

/// The answer of the `/tokens` routes: the bare Token object.
pub(crate) fn token_response(minted: &MintedToken) -> Value {
    token_json(&minted.jwt)
}

/// The Client object of the client holding `client_token`, `null` if there is none.
fn client_json_of(state: &State, client_token: &str) -> Value {
    state.client(client_token).map_or(Value::Null, |client| client_json(state, client))
}

/// `{"object": "token", "jwt": ...}`, the Token object.
fn token_json(jwt: &str) -> Value {
    json!({"object": "token", "jwt": jwt})
}

/// The Client object, sessions oldest first.
fn client_json(state: &State, client: &ClientRecord) -> Value {
    let sessions: Vec<Value> = client
        .session_ids
        .iter()
        .filter_map(|id| state.sessions.get(id))
        .map(|session| session_json(state, session))
        .collect();
    let last_active = client
        .last_active_session_id
        .as_ref()
        .filter(|id| state.sessions.get(*id).is_some_and(|s| s.status.is_signed_in()));
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

/// A session status as Clerk spells it.
fn session_status(status: SessionStatus) -> &'static str {
    match status {
        SessionStatus::Active => "active",
        SessionStatus::Pending => "pending",
        SessionStatus::Revoked => "revoked",
        SessionStatus::Expired => "expired",
        SessionStatus::Ended => "ended",
    }
}

/// A sign-in status as Clerk spells it.
fn sign_in_status(status: SignInStatus) -> &'static str {
    match status {
        SignInStatus::NeedsFirstFactor => "needs_first_factor",
        SignInStatus::NeedsSecondFactor => "needs_second_factor",
        SignInStatus::NeedsClientTrust => "needs_client_trust",
        SignInStatus::NeedsNewPassword => "needs_new_password",
        SignInStatus::Complete => "complete",
    }
}

/// The Session object.
fn session_json(state: &State, session: &SessionRecord) -> Value {
    let user = state.user_by_id(&session.user_id);
    let tasks: Option<Vec<Value>> =
        (!session.tasks.is_empty()).then(|| session.tasks.iter().map(|key| json!({"key": key})).collect());
    json!({
        "object": "session",
        "id": session.id,
        "status": session_status(session.status),
        "expire_at": session.expire_at,
        "abandon_at": session.abandon_at,
        "last_active_at": session.last_active_at,
        "last_active_organization_id": session.active_org,
        "last_active_token": session
            .last_token
            .as_deref()
            .filter(|_| !state.toggles.omit_last_active_token)
            .map(token_json),
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
fn sign_in_json(state: &State, sign_in: &SignInRecord) -> Value {
    let user = state.user_by_id(&sign_in.user_id);
    let second_factors = match sign_in.status {
        SignInStatus::NeedsSecondFactor => json!([{"strategy": "totp"}]),
        SignInStatus::NeedsClientTrust => user.map_or(Value::Null, |record| {
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
    let first_factor_verification = sign_in.first_factor.map(|strategy| {
        json!({
            "object": format!("verification_{strategy}"),
            "status": "verified",
            "strategy": strategy,
            "attempts": null,
            "expire_at": null,
        })
    });
    let mut json = json!({
        "object": "sign_in_attempt",
        "id": sign_in.id,
        "status": sign_in_status(sign_in.status),
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
    if sign_in.status == SignInStatus::NeedsClientTrust {
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
        "password_enabled": user.password_enabled,
        "two_factor_enabled": user.second_step == Some(SecondStep::SecondFactor),
        "totp_enabled": user.second_step == Some(SecondStep::SecondFactor),
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
        "verification_attempts_remaining": record.lockout.attempts_remaining(state.config.lockout_threshold),
        "created_at": record.created_at,
        "updated_at": record.created_at,
        "last_sign_in_at": null,
    })
}

/// The Backend API's `GET /v1/users` answer: a bare array of User objects, with the fields only
/// the Backend API shows (`bypass_client_trust`, `private_metadata`, MFA dates).
pub(crate) fn user_list_response(state: &State, indices: &[usize]) -> Value {
    Value::Array(
        indices
            .iter()
            .map(|index| {
                let record = &state.users[*index];
                let mut user = user_json(state, record);
                user["bypass_client_trust"] = json!(record.user.bypass_client_trust);
                user["private_metadata"] = json!({});
                let mfa = record.user.second_step == Some(SecondStep::SecondFactor);
                user["mfa_enabled_at"] = json!(mfa.then_some(record.created_at));
                user["mfa_disabled_at"] = Value::Null;
                user
            })
            .collect(),
    )
}

/// The Backend API's `verify_password` answer.
pub(crate) fn verified_response() -> Value {
    json!({"verified": true})
}

/// The Backend API's SignInToken object, with the URL that redeems it at `frontend_api`.
pub(crate) fn sign_in_token_response(state: &State, outcome: &SignInTokenOutcome, frontend_api: &str) -> Value {
    let Some(record) = state.sign_in_tokens.get(&outcome.token) else {
        return Value::Null;
    };
    json!({
        "object": "sign_in_token",
        "id": record.id,
        "status": "pending",
        "user_id": record.user_id,
        "token": outcome.token,
        "url": format!("{frontend_api}/v1/tickets/accept?ticket={}", outcome.token),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    })
}
