//! A fake Clerk Frontend API for tests (feature `test-util`).
//!
//! [`FakeClerk`] is a real HTTP/1.1 server on `127.0.0.1:<random port>` that speaks the part of
//! Clerk's Frontend API this crate uses, in Clerk's wire format and in native mode
//! (`_is_native=1`, the client token in `Authorization`):
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/client/sign_ins` | password sign-in: `{"response": SignIn, "client": Client}`, client token in the `Authorization` response header |
//! | `POST /v1/client/sessions/{id}/touch` | sets the active organization: `{"response": Session, "client": Client}` |
//! | `POST /v1/client/sessions/{id}/tokens` | a fresh session token: `{"object": "token", "jwt": ...}` |
//! | `POST /v1/client/sessions/{id}/tokens/{template}` | a JWT template token, same shape |
//! | `GET /.well-known/jwks.json` | the public keys |
//!
//! Session tokens are RS256 v2 session tokens whose issuer is [`FakeClerk::url`]. Errors are
//! Clerk's error envelope with Clerk's codes: wrong passwords, lockout, bans, MFA, client trust,
//! per-IP sign-in rate limits, unknown or revoked sessions, organizations the user is not a
//! member of. Tests can also inject faults ([`Fault`]), latency, revoke sessions, rotate keys,
//! and sign arbitrary tokens. The server stops when the handle is dropped.
//!
//! ```
//! use std::time::Duration;
//! use clerk_basic_auth::testing::{FakeClerk, FakeOrganization, FakeUser};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let clerk = FakeClerk::builder()
//!     .user(
//!         FakeUser::new("ileap-demo@way.cloud", "HelloPrimaryData")
//!             .id("user_2xDemo")
//!             .member_of("org_2xDemo", "admin"),
//!     )
//!     .organization(
//!         FakeOrganization::new("org_2xDemo", "way-demo")
//!             .role_permissions("admin", ["org:footprints:read", "org:footprints:manage"]),
//!     )
//!     .jwt_template("pact", serde_json::json!({"aud": "pact"}), Duration::from_secs(3600))
//!     .start()
//!     .await;
//!
//! // A native sign-in, as a server-side Frontend API client sends it.
//! let response = reqwest::Client::new()
//!     .post(format!("{}/v1/client/sign_ins?_is_native=1", clerk.url()))
//!     .header("authorization", "") // empty: no client yet
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body("strategy=password&identifier=ileap-demo%40way.cloud&password=HelloPrimaryData")
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), 200);
//! assert!(response.headers().contains_key("authorization"));
//! let body: serde_json::Value = response.json().await.unwrap();
//! assert_eq!(body["response"]["status"], "complete");
//! assert_eq!(clerk.stats().sign_ins, 1);
//!
//! // Tokens can also be minted directly, for tests of verification.
//! let token = clerk.session_token("user_2xDemo", Some("org_2xDemo"));
//! assert_eq!(token.split('.').count(), 3);
//! # }
//! ```

mod api_error;
mod claims;
mod config;
mod error_envelope;
mod fault;
mod fixtures;
mod handler;
mod ids;
mod keys;
mod lockout;
mod minting;
mod native;
mod params;
mod rate_limit;
mod records;
mod response;
mod route;
mod server;
mod session_calls;
mod shared;
mod sign_in;
mod state;
mod stats;
mod time;
mod wire;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

use self::config::{Config, Template};
pub use self::fault::Fault;
pub use self::fixtures::{FakeOrganization, FakeUser};
use self::keys::{KeyRing, SigningKey};
use self::shared::Shared;
use self::state::State;
pub use self::stats::FakeClerkStats;

/// Configures a [`FakeClerk`] before it starts; see [`FakeClerk::builder`].
#[derive(Debug, Default)]
pub struct FakeClerkBuilder {
    users: Vec<FakeUser>,
    orgs: Vec<FakeOrganization>,
    config: Config,
}

impl FakeClerkBuilder {
    /// Adds a user.
    pub fn user(mut self, user: FakeUser) -> Self {
        self.users.push(user);
        self
    }

    /// Adds an organization.
    pub fn organization(mut self, org: FakeOrganization) -> Self {
        self.orgs.push(org);
        self
    }

    /// Registers the JWT template `name`: its `claims` (a JSON object; string values that are
    /// exactly a shortcode such as `"{{user.id}}"`, `"{{org.id}}"`, `"{{org.slug}}"` or
    /// `"{{org.role}}"` are filled in) and its token `lifetime`. Clerk's default claims (`iss`,
    /// `sub`, `iat`, `nbf`, `exp`, `jti`) are added and cannot be overridden; there is no `sid`.
    pub fn jwt_template(mut self, name: impl Into<String>, claims: Value, lifetime: Duration) -> Self {
        self.config.templates.insert(name.into(), Template { claims, lifetime });
        self
    }

    /// The session token lifetime (`exp - iat`); default 60 s, as Clerk.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.token_lifetime = lifetime;
        self
    }

    /// At most `max` sign-in creations per client IP within `window`; default 5 per 10 s, as
    /// Clerk. Over the limit: 429 `too_many_requests` with `Retry-After`. `u32::MAX` lifts it.
    pub fn sign_in_rate_limit(mut self, max: u32, window: Duration) -> Self {
        self.config.sign_in_limit = max;
        self.config.sign_in_window = window;
        self
    }

    /// Failed password attempts before a user is locked; default 10. The two attempts before
    /// the last answer 422 `account_lockout_warning`; the last locks the user for the lockout
    /// duration and answers 403 `user_locked`. 0 disables lockout.
    pub fn lockout_threshold(mut self, attempts: u32) -> Self {
        self.config.lockout_threshold = attempts;
        self
    }

    /// How long a lockout lasts; default 1 hour.
    pub fn lockout_duration(mut self, duration: Duration) -> Self {
        self.config.lockout_duration = duration;
        self
    }

    /// Single session mode: a sign-in on a client that already holds a signed-in session answers
    /// 400 `session_exists`. By default the fake is a multi-session instance: a sign-in with a
    /// known client token adds a session to that client (and the same user again answers 400
    /// `identifier_already_signed_in`).
    pub fn single_session(mut self) -> Self {
        self.config.single_session = true;
        self
    }

    /// Generates the signing key, binds `127.0.0.1:0` and starts serving.
    ///
    /// # Panics
    /// If no loopback port can be bound, or outside a Tokio runtime.
    pub async fn start(self) -> FakeClerk {
        let keys = tokio::task::spawn_blocking(KeyRing::generate).await.expect("RSA key generation panicked");
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.expect("FakeClerk cannot bind a loopback port");
        let addr = listener.local_addr().expect("bound listener has an address");
        let mut state = State::new(self.config);
        for org in self.orgs {
            state.add_organization(org);
        }
        for user in self.users {
            state.add_user(user);
        }
        let shared =
            Arc::new(Shared { state: Mutex::new(state), keys: Mutex::new(keys), issuer: format!("http://{addr}") });
        let (shutdown, stopped) = watch::channel(());
        server::spawn(listener, Arc::clone(&shared), stopped);
        FakeClerk { shared, addr, _shutdown: shutdown }
    }
}

/// A running fake Clerk Frontend API on loopback; see the [module docs](self). Dropping it stops
/// the server (in-flight answers finish first).
pub struct FakeClerk {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _shutdown: watch::Sender<()>,
}

impl fmt::Debug for FakeClerk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeClerk").field("url", &self.shared.issuer).finish_non_exhaustive()
    }
}

impl FakeClerk {
    /// A builder with Clerk's defaults and no users.
    pub fn builder() -> FakeClerkBuilder {
        FakeClerkBuilder::default()
    }

    /// The base URL, `http://127.0.0.1:PORT` (no trailing slash): the Frontend API URL and the
    /// `iss` of every token.
    pub fn url(&self) -> &str {
        &self.shared.issuer
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The request counters so far.
    pub fn stats(&self) -> FakeClerkStats {
        self.shared.state().stats
    }

    /// Sets all counters back to zero.
    pub fn reset_stats(&self) {
        self.shared.state().stats = FakeClerkStats::default();
    }

    /// Adds a user (replacing one with the same id) while running.
    pub fn add_user(&self, user: FakeUser) {
        self.shared.state().add_user(user);
    }

    /// Adds an organization (replacing one with the same id) while running.
    pub fn add_organization(&self, org: FakeOrganization) {
        self.shared.state().add_organization(org);
    }

    /// Delays every answer by `latency` (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.state().latency = latency;
    }

    /// Delays answers about the user named `identifier` (email or username): its sign-ins and
    /// the calls on its sessions. Adds to [`set_latency`](Self::set_latency).
    pub fn set_user_latency(&self, identifier: &str, latency: Duration) {
        self.shared.state().set_user_latency(identifier, latency);
    }

    /// Injects `fault` into every Frontend API route (everything but JWKS); `None` recovers.
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.shared.state().fault = fault;
    }

    /// Injects `fault` into the JWKS route only; `None` recovers.
    pub fn set_jwks_fault(&self, fault: Option<Fault>) {
        self.shared.state().jwks_fault = fault;
    }

    /// Revokes every signed-in session of the user named `identifier`, as when the user signs
    /// out elsewhere or an admin revokes them: later `touch` and `tokens` calls on them answer
    /// 401 `authentication_invalid`. Returns how many sessions were revoked.
    pub fn revoke_sessions(&self, identifier: &str) -> usize {
        self.shared.state().revoke_sessions(identifier)
    }

    /// Generates a new signing key and signs with it from now on; the old keys stay in JWKS when
    /// `keep_old`, else they are dropped. Returns the new `kid`. Takes about 100 ms.
    pub fn rotate_signing_key(&self, keep_old: bool) -> String {
        let key = SigningKey::generate();
        let kid = key.kid().to_owned();
        self.shared.keys().rotate(key, keep_old);
        kid
    }

    /// Every native client token the fake has handed out (in `Authorization` response headers),
    /// so tests can check that none of them leaks into logs or responses.
    pub fn client_tokens(&self) -> Vec<String> {
        self.shared.state().client_tokens()
    }

    /// The key ids JWKS publishes, the current signing key first.
    pub fn kids(&self) -> Vec<String> {
        self.shared.keys().kids()
    }

    /// The JWKS document `/.well-known/jwks.json` serves.
    pub fn jwks(&self) -> Value {
        self.shared.keys().jwks()
    }

    /// Signs arbitrary `claims` with the current key, header `{"alg": "RS256", "kid", "typ":
    /// "JWT"}`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let clerk = clerk_basic_auth::testing::FakeClerk::builder().start().await;
    /// let expired = clerk.sign_claims(serde_json::json!({"sub": "user_1", "exp": 1}));
    /// assert!(expired.starts_with("eyJ"));
    /// # }
    /// ```
    pub fn sign_claims(&self, claims: Value) -> String {
        let key = self.shared.keys().current();
        key.sign(&key.plain_header(), &claims)
    }

    /// Signs `claims` under exactly this `header` (any `alg`, `kid` or `typ`; the signature is
    /// RS256 with the current key whatever the header says), for tests of odd headers.
    pub fn sign_with_header(&self, header: Value, claims: Value) -> String {
        self.shared.keys().current().sign(&header, &claims)
    }

    /// A valid v2 session token for `user_id`, with organization `org_id` active (its role and
    /// permissions come from the user's membership), minted directly with a fresh `sid` that
    /// the Frontend API routes do not know. The user does not have to be registered when
    /// `org_id` is `None`.
    ///
    /// # Panics
    /// If `org_id` is not a registered organization or the user is not a member of it.
    pub fn session_token(&self, user_id: &str, org_id: Option<&str>) -> String {
        let minter = self.shared.minter();
        self.shared.state().direct_session_token(user_id, org_id, &minter)
    }

    /// The current public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), like the instance's
    /// `CLERK_JWT_KEY`, for networkless verification.
    pub fn public_key_pem(&self) -> String {
        self.shared.keys().current().public_key_pem()
    }
}
