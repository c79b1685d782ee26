//! Clerk's JSON, as the Frontend API writes it: only the fields this crate reads.

use serde::Deserialize;

use crate::secret::Secret;

/// `{"response": T, "client": Client | null}`.
#[derive(Deserialize)]
pub(super) struct Envelope<T> {
    pub(super) response: T,
    #[serde(default)]
    pub(super) client: Option<ClientWire>,
}

/// A sign-in attempt (`object: "sign_in_attempt"`).
#[derive(Deserialize)]
pub(super) struct SignInWire {
    pub(super) status: String,
    #[serde(default)]
    pub(super) created_session_id: Option<String>,
}

/// A client (`object: "client"`) and its sessions.
#[derive(Deserialize)]
pub(super) struct ClientWire {
    #[serde(default)]
    pub(super) sessions: Vec<SessionWire>,
}

/// A session (`object: "session"`).
#[derive(Deserialize)]
pub(super) struct SessionWire {
    pub(super) id: String,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub(super) expire_at: Option<u64>,
    #[serde(default)]
    pub(super) last_active_organization_id: Option<String>,
    #[serde(default)]
    pub(super) last_active_token: Option<TokenWire>,
    #[serde(default)]
    pub(super) user: Option<UserWire>,
}

#[derive(Deserialize)]
pub(super) struct UserWire {
    pub(super) id: String,
}

/// A token (`object: "token"`).
#[derive(Deserialize)]
pub(super) struct TokenWire {
    pub(super) jwt: Secret,
}

/// `{"errors": [...], "clerk_trace_id": "..."}`.
#[derive(Deserialize)]
pub(super) struct ErrorsWire {
    pub(super) errors: Vec<ErrorWire>,
    #[serde(default)]
    pub(super) clerk_trace_id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ErrorWire {
    pub(super) code: String,
    #[serde(default)]
    pub(super) message: String,
    #[serde(default)]
    pub(super) long_message: Option<String>,
    #[serde(default)]
    pub(super) meta: ErrorMetaWire,
}

#[derive(Deserialize, Default)]
pub(super) struct ErrorMetaWire {
    #[serde(default)]
    pub(super) lockout_expires_in_seconds: Option<u64>,
}

/// A user of the Backend API (`object: "user"`): the fields that say whether a password may sign
/// it in. All are required in Clerk's spec; missing ones are read as the safer value.
#[derive(Deserialize)]
pub(super) struct BapiUserWire {
    pub(super) id: String,
    #[serde(default)]
    pub(super) password_enabled: bool,
    #[serde(default = "yes")]
    pub(super) two_factor_enabled: bool,
    #[serde(default)]
    pub(super) totp_enabled: bool,
    #[serde(default)]
    pub(super) backup_code_enabled: bool,
    #[serde(default = "yes")]
    pub(super) banned: bool,
    #[serde(default = "yes")]
    pub(super) locked: bool,
    #[serde(default)]
    pub(super) lockout_expires_in_seconds: Option<u64>,
    /// Attempts left before Clerk locks the user; `null` when lockout is off.
    #[serde(default)]
    pub(super) verification_attempts_remaining: Option<u64>,
}

fn yes() -> bool {
    true
}

/// `{"verified": true}` of `verify_password`.
#[derive(Deserialize)]
pub(super) struct VerifiedWire {
    pub(super) verified: bool,
}

/// A sign-in token (`object: "sign_in_token"`).
#[derive(Deserialize)]
pub(super) struct SignInTokenWire {
    pub(super) token: Option<Secret>,
}
