//! Helpers shared by the integration tests: a fake Clerk with known users, an axum app behind the
//! layer on a loopback port, and a real HTTP client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use clerk_basic_auth::testing::{FakeClerk, FakeClerkBuilder, FakeOrganization, FakeUser};
use clerk_basic_auth::{ClerkBasicAuthConfig, ClerkBasicAuthLayer, ClerkClaims};
use serde_json::{Value, json};

pub const USER: &str = "ileap-demo@way.cloud";
pub const PASSWORD: &str = "HelloPrimaryData";
pub const USER_ID: &str = "user_2xDemo";
pub const ORG: &str = "org_2xDemo";

/// The fake Clerk's users: the demo admin, a member, and users in every state a sign-in can end in.
///
/// Device Trust is off: these tests are about other topics and configure the layer without a
/// secret key, which works only on an instance whose operators turned Device Trust off (as they
/// must). `tests/device_trust.rs` covers it on. Everything else is Clerk's default (client tokens
/// rotate on every call), but for the per-IP sign-in limit.
pub fn clerk_builder() -> FakeClerkBuilder {
    FakeClerk::builder()
        .device_trust(false)
        .user(FakeUser::new(USER, PASSWORD).id(USER_ID).member_of(ORG, "admin"))
        .user(FakeUser::new("member@way.cloud", "MemberPassword1").id("user_member").member_of(ORG, "member"))
        .user(FakeUser::new("colon@way.cloud", "pa:ss:wörd ✓ 🔑").id("user_colon"))
        .user(FakeUser::new("mfa@way.cloud", "MfaPassword1").id("user_mfa").mfa())
        .user(FakeUser::new("trust@way.cloud", "TrustPassword1").id("user_trust").needs_client_trust())
        .user(FakeUser::new("locked@way.cloud", "LockedPassword1").id("user_locked").locked())
        .user(FakeUser::new("loner@way.cloud", "LonerPassword1").id("user_loner"))
        .organization(
            FakeOrganization::new(ORG, "way-demo")
                .role_permissions("admin", ["org:footprints:read", "org:footprints:manage"])
                .role_permissions("member", ["org:footprints:read"]),
        )
        .organization(FakeOrganization::new("org_other", "other-co"))
        .jwt_template("pact", json!({"aud": "pact", "org": "{{org.id}}"}), Duration::from_secs(3600))
        // Tests sign in more often than Clerk's 5 per 10 s allow a single IP; tests of the
        // limit itself build their own fake.
        .sign_in_rate_limit(u32::MAX, Duration::from_secs(10))
}

pub async fn clerk() -> FakeClerk {
    clerk_builder().start().await
}

pub fn config(clerk: &FakeClerk) -> ClerkBasicAuthConfig {
    ClerkBasicAuthConfig::new(clerk.url()).expect("the fake's URL is a valid Frontend API URL")
}

/// Handlers that show what the layer let through.
pub fn router() -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/me", get(me))
        .route("/2/footprints", get(me))
        .route("/2/events", post(me))
        .route("/2/ileap/tad", get(me))
        .route(
            "/anonymous",
            get(|claims: Option<Extension<ClerkClaims>>| async move { format!("{}", claims.is_some()) }),
        )
}

async fn me(Extension(claims): Extension<ClerkClaims>) -> Json<Value> {
    let organization = claims
        .organization()
        .map(|org| json!({"id": org.id(), "slug": org.slug(), "role": org.role(), "permissions": org.permissions()}));
    Json(json!({
        "user_id": claims.user_id(),
        "session_id": claims.session_id(),
        "organization": organization,
        "aud": claims.get("aud"),
    }))
}

/// Serves `router` behind a layer built from `config` on a loopback port.
pub async fn serve(config: ClerkBasicAuthConfig) -> SocketAddr {
    serve_router(router().layer(ClerkBasicAuthLayer::new(config))).await
}

pub async fn serve_router(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// One HTTP client for all tests of a binary: building one loads the TLS roots (milliseconds),
/// which would skew timing assertions. It keeps no idle connections, because each test has its
/// own runtime and a pooled connection would outlive the runtime that drives it.
pub fn http() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder().timeout(Duration::from_secs(30)).pool_max_idle_per_host(0).build().unwrap()
        })
        .clone()
}

/// A token request with these credentials.
pub fn token_request(addr: SocketAddr, user: &str, password: &str) -> reqwest::RequestBuilder {
    http()
        .post(format!("http://{addr}/auth/token"))
        .basic_auth(user, Some(password))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
}

/// Status and JSON body of a response.
pub async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A token for these credentials; panics unless the layer answers 200.
pub async fn access_token(addr: SocketAddr, user: &str, password: &str) -> String {
    let (status, body) = json_of(token_request(addr, user, password).send().await.unwrap()).await;
    assert_eq!(status, 200, "token request failed: {body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// `n` token requests for one credential at once, each answered 200: their access tokens, in
/// the order the requests were made.
pub async fn concurrent_access_tokens(addr: SocketAddr, user: &str, password: &str, n: usize) -> Vec<String> {
    let requests: Vec<_> = (0..n)
        .map(|_| {
            let (user, password) = (user.to_owned(), password.to_owned());
            tokio::spawn(async move { access_token(addr, &user, &password).await })
        })
        .collect();
    let mut tokens = Vec::with_capacity(n);
    for request in requests {
        tokens.push(request.await.unwrap());
    }
    tokens
}

/// The claims of a JWT, unverified (for assertions on what Clerk put in).
pub fn claims_of(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// A GET with a bearer token.
pub async fn get_with(addr: SocketAddr, path: &str, token: &str) -> (u16, Value) {
    json_of(http().get(format!("http://{addr}{path}")).bearer_auth(token).send().await.unwrap()).await
}

/// Claims of a valid v2 session token of the fake, with `extra` merged in.
pub fn session_claims(clerk: &FakeClerk, extra: Value) -> Value {
    let now = unix_now();
    let mut claims = json!({"sub": USER_ID, "sid": "sess_test", "iss": clerk.url(), "iat": now, "nbf": now - 10, "exp": now + 60, "v": 2});
    claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    claims
}

/// Status and message of a GET /2/footprints with this token.
pub async fn refusal(addr: SocketAddr, token: &str) -> (u16, String) {
    let (status, body) = get_with(addr, "/2/footprints", token).await;
    (status, body["message"].as_str().unwrap_or_default().to_owned())
}

/// The recommended configuration: sign-ins through the fake's Backend API with its secret key.
pub fn secret_config(clerk: &FakeClerk) -> ClerkBasicAuthConfig {
    config(clerk)
        .with_secret_key(clerk.secret_key())
        .expect("the fake's secret key is a valid secret key")
        .with_backend_api_url(&clerk.backend_api_url())
        .expect("the fake's Backend API URL is valid")
}

/// An answer of the fake, read whole.
pub struct Answer {
    pub status: u16,
    /// The `Authorization` response header (a client token), if any.
    pub client_token: Option<String>,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).map(|value| value.to_str().unwrap().to_owned());
        let (client_token, retry_after) = (header("authorization"), header("retry-after"));
        let body = response.json().await.unwrap_or(Value::Null);
        Self { status, client_token, retry_after, body }
    }

    /// The first error's code, empty when there is none.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or_default()
    }

    /// Asserts Clerk's error envelope with `status` and `code`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.code()), (status, code), "body: {}", self.body);
        assert!(self.body["errors"][0]["long_message"].is_string(), "{}", self.body);
        assert!(self.body["clerk_trace_id"].is_string(), "{}", self.body);
    }
}

/// A native Frontend API POST to `base` (the Frontend API URL) + `path`: `client_token` is the
/// `Authorization` header (none when `None`), `form` the body.
pub async fn fapi_post(base: &str, path: &str, client_token: Option<&str>, form: &[(&str, &str)]) -> Answer {
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut request = http().post(format!("{base}{path}{separator}_is_native=1")).form(form);
    if let Some(token) = client_token {
        request = request.header("authorization", token);
    }
    Answer::read(request.send().await.unwrap()).await
}

/// A password sign-in on a new native client.
pub async fn password_sign_in(clerk: &FakeClerk, identifier: &str, password: &str) -> Answer {
    let form = [("strategy", "password"), ("identifier", identifier), ("password", password)];
    fapi_post(&clerk.proxy_url(), "/v1/client/sign_ins", Some(""), &form).await
}

/// A ticket sign-in on a new native client.
pub async fn ticket_sign_in(clerk: &FakeClerk, ticket: &str) -> Answer {
    fapi_post(&clerk.proxy_url(), "/v1/client/sign_ins", Some(""), &[("strategy", "ticket"), ("ticket", ticket)]).await
}

/// A Backend API request with the fake's secret key.
pub fn bapi(clerk: &FakeClerk, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    http().request(method, format!("{}{path}", clerk.backend_api_url())).bearer_auth(clerk.secret_key())
}

/// A sign-in token (a ticket) of the Backend API for `user_id`, valid for `seconds`.
pub async fn sign_in_token(clerk: &FakeClerk, user_id: &str, seconds: u64) -> String {
    let body = json!({"user_id": user_id, "expires_in_seconds": seconds});
    let answer =
        Answer::read(bapi(clerk, reqwest::Method::POST, "/v1/sign_in_tokens").json(&body).send().await.unwrap()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["token"].as_str().unwrap().to_owned()
}

/// The JOSE header of a JWT, unverified.
pub fn header_of(jwt: &str) -> Value {
    use base64::Engine as _;
    let header = jwt.split('.').next().expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}
