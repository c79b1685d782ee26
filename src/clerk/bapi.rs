//! The Clerk Backend API client, for the sign-in with the instance's secret key: find the user,
//! check the password, mint a sign-in token (`ticket`) that the Frontend API redeems. Device
//! Trust, CAPTCHA and second-factor prompts do not apply to ticket sign-ins, so the account rules
//! a password sign-in would meet (locked, banned, multi-factor) are checked here.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;

use super::call::{self, HttpSettings, malformed, parse_json};
use super::error::{ClerkError, ClerkRefusal};
use super::wire::{BapiUserWire, SignInTokenWire, VerifiedWire};
use crate::secret::Secret;

/// Clerk's Backend API.
pub(crate) const DEFAULT_API_URL: &str = "https://api.clerk.com";
/// How long a minted sign-in token is valid: it is redeemed at once.
const SIGN_IN_TOKEN_SECONDS: u64 = 60;

/// Where the Backend API is, and the key to it.
#[derive(Clone)]
pub(crate) struct BapiSettings {
    /// `sk_test_...` or `sk_live_...`. Default: none, so no Backend API sign-in.
    pub(crate) secret_key: Option<Secret>,
    /// Default: `https://api.clerk.com`.
    pub(crate) url: Url,
}

impl Default for BapiSettings {
    fn default() -> Self {
        Self { secret_key: None, url: Url::parse(DEFAULT_API_URL).expect("a valid URL") }
    }
}

impl fmt::Debug for BapiSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.secret_key.as_ref().map(|_| "sk_..");
        f.debug_struct("BapiSettings").field("secret_key", &key).field("url", &self.url.as_str()).finish()
    }
}

/// Whether `key` has the form of a Clerk secret key (`sk_test_...` / `sk_live_...`).
pub(crate) fn check_secret_key(key: &str) -> Result<(), &'static str> {
    let rest = key.strip_prefix("sk_test_").or_else(|| key.strip_prefix("sk_live_"));
    match rest {
        Some(rest) if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok(()),
        Some(_) => Err("must be sk_test_ or sk_live_ followed by letters and digits"),
        None => Err("must start with sk_test_ or sk_live_"),
    }
}

/// A client of one Clerk instance's Backend API.
#[derive(Clone)]
pub(crate) struct BapiClient {
    http: reqwest::Client,
    url: Url,
    secret_key: Secret,
    timeout: Duration,
}

/// What the Backend API says of a user.
#[derive(Debug)]
pub(crate) struct BapiUser {
    pub(crate) id: String,
    password_enabled: bool,
    multi_factor: bool,
    banned: bool,
    locked: bool,
    lockout_expires_in: Option<Duration>,
    attempts_remaining: Option<u64>,
}

impl BapiUser {
    /// Failed attempts left before Clerk locks the user (`None`: lockout is off).
    pub(crate) fn attempts_remaining(&self) -> Option<u64> {
        self.attempts_remaining
    }

    /// Why a correct password alone must not sign this user in, as the refusal Clerk's Frontend
    /// API would give: banned, locked, no password, or a second factor set up.
    pub(crate) fn refusal(&self) -> Option<ClerkError> {
        if self.banned {
            return Some(refusal(StatusCode::FORBIDDEN, "user_banned", None));
        }
        if self.locked {
            return Some(refusal(StatusCode::FORBIDDEN, "user_locked", self.lockout_expires_in));
        }
        if !self.password_enabled {
            return Some(refusal(StatusCode::BAD_REQUEST, "no_password_set", None));
        }
        None
    }

    /// Whether the user set up a second factor, which a client-credentials client cannot pass.
    pub(crate) fn has_multi_factor(&self) -> bool {
        self.multi_factor
    }
}

/// The refusal for an identifier without a user or a wrong password: one answer for both, so
/// the token endpoint does not tell which identifiers exist.
pub(crate) fn wrong_credentials() -> ClerkError {
    refusal(StatusCode::UNPROCESSABLE_ENTITY, "form_password_or_identifier_incorrect", None)
}

fn refusal(status: StatusCode, code: &str, lockout_expires_in: Option<Duration>) -> ClerkError {
    ClerkError::Refused(ClerkRefusal {
        status,
        code: code.to_owned(),
        message: String::new(),
        lockout_expires_in,
        trace_id: None,
    })
}

impl BapiClient {
    /// A client, if `settings` hold a secret key.
    pub(crate) fn new(settings: &BapiSettings, http: &HttpSettings) -> Option<Self> {
        let secret_key = settings.secret_key.clone()?;
        Some(Self { http: http.http_client.clone(), url: settings.url.clone(), secret_key, timeout: http.timeout })
    }

    /// `GET /v1/users?email_address=...` (an identifier with `@`) or `?username=...`: the one user
    /// with this identifier, if there is exactly one.
    pub(crate) async fn find_user(&self, identifier: &str) -> Result<Option<BapiUser>, ClerkError> {
        let mut url = self.url(&["v1", "users"]);
        let filter = if identifier.contains('@') { "email_address" } else { "username" };
        url.query_pairs_mut().append_pair(filter, identifier).append_pair("limit", "2");
        let body = self.send(self.http.get(url), "bapi_users").await?;
        let mut users: Vec<BapiUserWire> = parse_json(&body, "user list")?;
        if users.len() != 1 {
            return Ok(None);
        }
        let user = users.remove(0);
        Ok(Some(BapiUser {
            id: user.id,
            password_enabled: user.password_enabled,
            multi_factor: user.two_factor_enabled || user.totp_enabled || user.backup_code_enabled,
            banned: user.banned,
            locked: user.locked,
            lockout_expires_in: user.lockout_expires_in_seconds.map(Duration::from_secs),
            attempts_remaining: user.verification_attempts_remaining,
        }))
    }

    /// `POST /v1/users/{id}/verify_password`: whether `password` is the user's. A wrong one is
    /// Clerk's `422 incorrect_password`.
    pub(crate) async fn verify_password(&self, user_id: &str, password: &str) -> Result<(), ClerkError> {
        let url = self.url(&["v1", "users", user_id, "verify_password"]);
        let body = serde_json::json!({ "password": password }).to_string();
        let request = self.http.post(url).header(CONTENT_TYPE, "application/json").body(body);
        let answer = self.send(request, "bapi_verify_password").await?;
        let verified: VerifiedWire = parse_json(&answer, "verify_password")?;
        if verified.verified {
            Ok(())
        } else {
            Err(refusal(StatusCode::UNPROCESSABLE_ENTITY, "incorrect_password", None))
        }
    }

    /// `POST /v1/sign_in_tokens`: a one-time sign-in token (a Frontend API `ticket`) for the user.
    pub(crate) async fn sign_in_token(&self, user_id: &str) -> Result<Secret, ClerkError> {
        let url = self.url(&["v1", "sign_in_tokens"]);
        let body = serde_json::json!({ "user_id": user_id, "expires_in_seconds": SIGN_IN_TOKEN_SECONDS }).to_string();
        let request = self.http.post(url).header(CONTENT_TYPE, "application/json").body(body);
        let answer = self.send(request, "bapi_sign_in_tokens").await?;
        let token: SignInTokenWire = parse_json(&answer, "sign-in token")?;
        token.token.ok_or_else(|| malformed("a sign-in token without its token"))
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn send(&self, request: reqwest::RequestBuilder, call: &'static str) -> Result<Bytes, ClerkError> {
        let bearer = format!("Bearer {}", self.secret_key.expose());
        let request = request.timeout(self.timeout).header(AUTHORIZATION, bearer).header(ACCEPT, "application/json");
        Ok(call::send(request, call).await?.1)
    }
}
