//! A fake Clerk (Frontend API and Backend API) for tests (feature `test-util`).
//!
//! [`FakeClerk`] runs two real HTTP/1.1 servers on `127.0.0.1:<random port>`: the Frontend API
//! this crate uses, in Clerk's wire format and in native mode (`_is_native=1`, the client token
//! in `Authorization`), and the Backend API the crate uses with a secret key. It is meant to be
//! as strict as Clerk: where they differ, the fake is wrong.
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/client/sign_ins` | password or ticket sign-in: `{"response": SignIn, "client": Client}`, client token in the `Authorization` response header |
//! | `POST /v1/client/sessions/{id}/touch` | sets the active organization: `{"response": Session, "client": Client}` |
//! | `POST /v1/client/sessions/{id}/tokens` | a fresh session token: `{"object": "token", "jwt": ...}` |
//! | `POST /v1/client/sessions/{id}/tokens/{template}` | a JWT template token, same shape |
//! | `GET /.well-known/jwks.json` | the public keys |
//! | Backend API `GET /v1/users` | users by `email_address`, `username`, ... (repeated keys): a bare array of User objects |
//! | Backend API `POST /v1/users/{id}/verify_password` | `{"verified": true}`, or 422 `incorrect_password`, 400 `no_password_set`, 404 `resource_not_found` |
//! | Backend API `POST /v1/sign_in_tokens` | a one-time sign-in token, redeemed by a `strategy=ticket` sign-in |
//!
//! The Frontend API is served at [`FakeClerk::url`], or only under a proxy path
//! ([`FakeClerkBuilder::proxy_path`], [`FakeClerk::proxy_url`]); the Backend API at
//! [`FakeClerk::backend_api_url`], and every call to it must carry
//! `Authorization: Bearer <`[`FakeClerk::secret_key`]`>`.
//!
//! Clerk's defaults for a new application are on: Device Trust (a password sign-in of a user
//! without a second factor, on a client where that user never had a session, answers
//! `needs_client_trust`), 5 sign-ins per 10 s per IP, lockout after 10 failed attempts for an
//! hour, 60 s session tokens, and client tokens that rotate (here: a new one on every call on a
//! session, the old one refused from then on). Tokens carry Clerk's category in the `cat`
//! header (session, JWT template, machine); their issuer is [`FakeClerk::url`] even behind a
//! proxy. Errors are Clerk's error envelope with Clerk's codes: wrong passwords, lockout, bans,
//! MFA, client trust, rate limits, unknown clients, signed-out sessions, missing templates,
//! organizations the user is not a member of. Tests can switch on what Clerk does in some
//! setups or situations (enumeration protection, CAPTCHA, a disabled Native API, outage mode,
//! dropped clients, `last_active_token: null`), inject faults ([`Fault`]) and latency, revoke
//! sessions, rotate keys, and sign arbitrary tokens. The servers stop when the handle is
//! dropped.
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
//! let http = reqwest::Client::new();
//! let sign_in = |form: &'static str| {
//!     http.post(format!("{}/v1/client/sign_ins?_is_native=1", clerk.url()))
//!         .header("authorization", "") // empty: no client yet
//!         .header("content-type", "application/x-www-form-urlencoded")
//!         .body(form)
//! };
//!
//! // A native password sign-in, as a server-side Frontend API client sends it: Device Trust
//! // stops it on a new client.
//! let response = sign_in("strategy=password&identifier=ileap-demo%40way.cloud&password=HelloPrimaryData")
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), 200);
//! let body: serde_json::Value = response.json().await.unwrap();
//! assert_eq!(body["response"]["status"], "needs_client_trust");
//!
//! // With the secret key: a sign-in token from the Backend API, redeemed as a ticket.
//! let token: serde_json::Value = http
//!     .post(format!("{}/v1/sign_in_tokens", clerk.backend_api_url()))
//!     .bearer_auth(clerk.secret_key())
//!     .json(&serde_json::json!({"user_id": "user_2xDemo", "expires_in_seconds": 60}))
//!     .send()
//!     .await
//!     .unwrap()
//!     .json()
//!     .await
//!     .unwrap();
//! let ticket = token["token"].as_str().unwrap();
//! let response = http
//!     .post(format!("{}/v1/client/sign_ins?_is_native=1", clerk.url()))
//!     .header("authorization", "")
//!     .form(&[("strategy", "ticket"), ("ticket", ticket)])
//!     .send()
//!     .await
//!     .unwrap();
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
mod backend;
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
use self::route::Api;
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

    /// Device Trust ("client trust", Clerk Dashboard → Protect → Rules); default on, as for
    /// applications created after 2025-11-14. While on, a correct password (`strategy=password`)
    /// of a user without a second factor, on a client where that user has never had a session
    /// (a new device; a server that signs in as a new native client always is one), answers
    /// HTTP 200 with `status: "needs_client_trust"`, `client_trust_state: "new"` and no session.
    /// Users with [`FakeUser::bypass_client_trust`] and ticket sign-ins are not subject to it;
    /// users with MFA get `needs_second_factor` instead. Turn it off to model an instance whose
    /// operators turned it off (which a layer without a secret key needs).
    pub fn device_trust(mut self, on: bool) -> Self {
        self.config.device_trust = on;
        self
    }

    /// Enumeration protection; default off, as Clerk's. While on, a wrong password and an
    /// unknown identifier both answer 422 `form_password_or_identifier_incorrect` (lockout
    /// warnings too; the lock itself still answers 403 `user_locked`).
    pub fn enumeration_protection(mut self, on: bool) -> Self {
        self.config.enumeration_protection = on;
        self
    }

    /// The Native API (Clerk Dashboard → Native applications); default on. While off, every
    /// native Frontend API request (`_is_native`) answers 400 `native_api_disabled`.
    pub fn native_api(mut self, on: bool) -> Self {
        self.config.native_api = on;
        self
    }

    /// Hand out a new client token (in the `Authorization` response header) every `every`
    /// successful calls on a client's sessions (touch, tokens, template tokens), and refuse the
    /// old one from then on with 401 `authentication_invalid`. Default 1: every call rotates, the
    /// strictest test that a client keeps what Clerk last sent. 0: never.
    pub fn client_token_rotation(mut self, every: u32) -> Self {
        self.config.client_token_rotation = every;
        self
    }

    /// Serve the Frontend API (JWKS included) only under `path` (e.g. `/__clerk`), as a Clerk
    /// proxy on the application's domain does: requests go to [`FakeClerk::proxy_url`], while
    /// tokens keep [`FakeClerk::url`] (the instance's own host, no path) as their `iss`. Requests
    /// outside the path answer 404, so a client that ignores its proxy setting fails.
    pub fn proxy_path(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        let path = path.trim_end_matches('/');
        let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
        self.config.proxy_path = Some(path).filter(|path| path != "/");
        self
    }

    /// At most `max` Backend API calls within `window`, keyed by the secret key; default 100
    /// per 10 s, as a development instance. Over the limit: 429 `too_many_requests` with
    /// `Retry-After`. `u32::MAX` lifts it.
    pub fn backend_api_rate_limit(mut self, max: u32, window: Duration) -> Self {
        self.config.backend_limit = max;
        self.config.backend_window = window;
        self
    }

    /// Generates the signing key and the secret key, binds two ports on `127.0.0.1` (Frontend
    /// and Backend API) and starts serving.
    ///
    /// # Panics
    /// If no loopback port can be bound, or outside a Tokio runtime.
    pub async fn start(self) -> FakeClerk {
        let keys = tokio::task::spawn_blocking(KeyRing::generate).await.expect("RSA key generation panicked");
        let bind = || TcpListener::bind((Ipv4Addr::LOCALHOST, 0));
        let listener = bind().await.expect("FakeClerk cannot bind a loopback port");
        let backend_listener = bind().await.expect("FakeClerk cannot bind a loopback port");
        let addr = listener.local_addr().expect("bound listener has an address");
        let backend_addr = backend_listener.local_addr().expect("bound listener has an address");
        let proxy_prefix = self.config.proxy_path.clone().unwrap_or_default();
        let mut state = State::new(self.config);
        for org in self.orgs {
            state.add_organization(org);
        }
        for user in self.users {
            state.add_user(user);
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            keys: Mutex::new(keys),
            issuer: format!("http://{addr}"),
            proxy_prefix,
            secret_key: ids::secret_key(),
        });
        let (shutdown, stopped) = watch::channel(());
        server::spawn(listener, Api::Frontend, Arc::clone(&shared), stopped.clone());
        server::spawn(backend_listener, Api::Backend, Arc::clone(&shared), stopped);
        FakeClerk { shared, addr, backend_addr, _shutdown: shutdown }
    }
}

/// A running fake Clerk Frontend API on loopback; see the [module docs](self). Dropping it stops
/// the server (in-flight answers finish first).
pub struct FakeClerk {
    shared: Arc<Shared>,
    addr: SocketAddr,
    backend_addr: SocketAddr,
    _shutdown: watch::Sender<()>,
}

impl fmt::Debug for FakeClerk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeClerk")
            .field("url", &self.shared.issuer)
            .field("backend_api_url", &self.backend_api_url())
            .finish_non_exhaustive()
    }
}

impl FakeClerk {
    /// A builder with Clerk's defaults and no users.
    pub fn builder() -> FakeClerkBuilder {
        FakeClerkBuilder::default()
    }

    /// The instance's URL, `http://127.0.0.1:PORT` (no trailing slash): the `iss` of every
    /// token, and the Frontend API URL unless the Frontend API is served under a
    /// [proxy path](FakeClerkBuilder::proxy_path).
    pub fn url(&self) -> &str {
        &self.shared.issuer
    }

    /// Where the Frontend API answers: [`url`](Self::url) plus the
    /// [proxy path](FakeClerkBuilder::proxy_path), e.g. `http://127.0.0.1:PORT/__clerk`
    /// (without a proxy path, the same as `url`). Configure a layer with it as its proxy URL,
    /// and with `url` (or [`publishable_key`](Self::publishable_key)) as its instance.
    pub fn proxy_url(&self) -> String {
        self.shared.frontend_api()
    }

    /// A publishable key of the instance, `pk_test_` and base64 of `127.0.0.1:PORT$` (the host
    /// of [`url`](Self::url)). Clerk's key names a host only, so whoever reads it assumes
    /// `https://`: pair it with an explicit issuer ([`url`](Self::url)) to talk to the fake.
    pub fn publishable_key(&self) -> String {
        use base64::Engine as _;
        let host = self.shared.issuer.trim_start_matches("http://");
        let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{host}$"));
        format!("pk_test_{encoded}")
    }

    /// The Backend API base URL, `http://127.0.0.1:PORT` (another port than the Frontend API's),
    /// as `https://api.clerk.com` is Clerk's.
    pub fn backend_api_url(&self) -> String {
        format!("http://{}", self.backend_addr)
    }

    /// The instance's secret key (`sk_test_` and 40 letters and digits), which every Backend API
    /// call must carry as `Authorization: Bearer <key>`: without it (or another form) 401
    /// `authorization_header_format_invalid`, with another key 401 `clerk_key_invalid`.
    pub fn secret_key(&self) -> &str {
        &self.shared.secret_key
    }

    /// The socket address the Frontend API listens on.
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

    /// Injects `fault` into every Backend API route; `None` recovers.
    pub fn set_backend_api_fault(&self, fault: Option<Fault>) {
        self.shared.state().backend_fault = fault;
    }

    /// Bot protection wants a CAPTCHA: while on, every sign-in (password or ticket) answers 401
    /// `requires_captcha`, which a server cannot solve.
    pub fn set_requires_captcha(&self, on: bool) {
        self.shared.state().toggles.requires_captcha = on;
    }

    /// Clerk's outage mode: while on, `POST /v1/client/sessions/{id}/tokens[/{template}]`
    /// answers 422 `missing_expired_token` (counted in
    /// [`outage_refusals`](FakeClerkStats::outage_refusals)) unless the query carries the
    /// session's last session token as `expired_token` (as clerk-js retries); then it answers a
    /// fresh token (counted in [`expired_token_mints`](FakeClerkStats::expired_token_mints)).
    /// The last session token is the one the sign-in, a touch or a `/tokens` call last gave; a
    /// template token is never one.
    pub fn set_outage_mode(&self, on: bool) {
        self.shared.state().toggles.outage_mode = on;
    }

    /// While on, every successful call on a session (touch, tokens) answers an EMPTY
    /// `Authorization` header: Clerk dropped the client. The client is forgotten (its token is
    /// refused from then on with 401 `authentication_invalid`) and its sessions end; the token in
    /// the answer is still valid. Sign-ins are unaffected.
    pub fn set_drop_clients(&self, on: bool) {
        self.shared.state().toggles.drop_clients = on;
    }

    /// While on, sessions in sign-in and touch answers carry `last_active_token: null` (nullable
    /// in Clerk's spec): a client has to ask `/tokens`.
    pub fn set_omit_last_active_token(&self, on: bool) {
        self.shared.state().toggles.omit_last_active_token = on;
    }

    /// Changes the password of the user named `identifier`, as the user would in Clerk's UI; the
    /// sessions stay signed in (Clerk ends none by itself). Returns whether there is such a user.
    pub fn set_password(&self, identifier: &str, password: &str) -> bool {
        self.shared.state().set_password(identifier, password)
    }

    /// Revokes every signed-in session of the user named `identifier`, as when the user signs
    /// out elsewhere or an admin revokes them: later `touch` and `tokens` calls on them answer
    /// 401 `signed_out`. Returns how many sessions were revoked.
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
    /// rotated-away ones included, so tests can check that none of them leaks into logs or
    /// responses.
    pub fn client_tokens(&self) -> Vec<String> {
        self.shared.state().client_tokens()
    }

    /// Every sign-in token (`ticket`) the Backend API has handed out, redeemed or not, so tests
    /// can check that none of them leaks into logs or responses.
    pub fn sign_in_tokens(&self) -> Vec<String> {
        self.shared.state().sign_in_tokens.keys().cloned().collect()
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

    /// A valid v2 session token (header `cat: cl_B7d4PD111AAA`) for `user_id`, with
    /// organization `org_id` active (its role and permissions come from the user's membership),
    /// minted directly with a fresh `sid` that the Frontend API routes do not know. The user does not have to be registered when
    /// `org_id` is `None`.
    ///
    /// # Panics
    /// If `org_id` is not a registered organization or the user is not a member of it.
    pub fn session_token(&self, user_id: &str, org_id: Option<&str>) -> String {
        let minter = self.shared.minter();
        self.shared.state().direct_session_token(user_id, org_id, &minter)
    }

    /// A JWT template token of the registered template `template` for the registered user
    /// `user_id` (with organization `org_id` active), as the template route would mint it:
    /// header `cat: cl_B7d4PD222AAA`, no `sid`.
    ///
    /// # Panics
    /// If the template or the user is unknown, or the user is not a member of `org_id`.
    pub fn template_token(&self, template: &str, user_id: &str, org_id: Option<&str>) -> String {
        let minter = self.shared.minter();
        self.shared.state().direct_template_token(template, user_id, org_id, &minter)
    }

    /// A machine-to-machine JWT of the machine `machine_id` (`mch_...`): header
    /// `cat: cl_B7d4PD333AAA`, `sub` the machine, this instance's `iss`, an hour's lifetime.
    /// Never a user session: protected routes must refuse it.
    pub fn m2m_token(&self, machine_id: &str) -> String {
        let minter = self.shared.minter();
        minter.sign_machine(&minting::machine_claims(machine_id, &minter.issuer))
    }

    /// The current public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), like the instance's
    /// `CLERK_JWT_KEY`, for networkless verification.
    pub fn public_key_pem(&self) -> String {
        self.shared.keys().current().public_key_pem()
    }
}
