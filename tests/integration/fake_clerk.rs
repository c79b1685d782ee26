//! Conformance tests of the fake Clerk Frontend API against Clerk's wire format, with a plain
//! HTTP client.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clerk_basic_auth::testing::{FakeClerk, FakeClerkStats, FakeOrganization, FakeUser, Fault};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, ORIGIN, RETRY_AFTER};
use serde_json::{Value, json};

const EMAIL: &str = "ileap-demo@way.cloud";
const PASSWORD: &str = "HelloPrimaryData";
const USER_ID: &str = "user_2xDemo";
const ORG_ID: &str = "org_2xDemo";
const ORG_SLUG: &str = "way-demo";

fn demo_user() -> FakeUser {
    FakeUser::new(EMAIL, PASSWORD).id(USER_ID).member_of(ORG_ID, "admin")
}

fn demo_org() -> FakeOrganization {
    FakeOrganization::new(ORG_ID, ORG_SLUG).role_permissions("admin", ["org:footprints:read", "org:footprints:manage"])
}

/// The demo instance, with Clerk's default limits. Device Trust is off and client tokens do not
/// rotate: these tests are about other topics and reuse one client token for many calls
/// (`tests/device_trust.rs` and `tests/client_tokens.rs` cover both on, as Clerk's defaults).
async fn demo_clerk() -> FakeClerk {
    FakeClerk::builder()
        .device_trust(false)
        .client_token_rotation(0)
        .user(demo_user())
        .user(FakeUser::new("other@way.cloud", "OtherSecret").id("user_2xOther"))
        .user(FakeUser::new("mfa@way.cloud", "MfaSecret").mfa())
        .user(FakeUser::new("trust@way.cloud", "TrustSecret").needs_client_trust())
        .user(FakeUser::new("reset@way.cloud", "ResetSecret").needs_new_password())
        .user(FakeUser::new("banned@way.cloud", "BannedSecret").banned())
        .user(FakeUser::new("locked@way.cloud", "LockedSecret").locked())
        .organization(demo_org())
        .organization(FakeOrganization::new("org_2xElse", "elsewhere"))
        .jwt_template("pact", json!({"aud": "pact", "org": "{{org.slug}}"}), Duration::from_secs(3600))
        .start()
        .await
}

/// An HTTP answer, read whole.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Self { status, headers, body }
    }

    fn code(&self) -> &str {
        self.body["errors"][0]["code"].as_str().unwrap_or_default()
    }

    fn client_token(&self) -> String {
        self.headers.get(AUTHORIZATION).expect("Authorization response header").to_str().unwrap().to_owned()
    }

    /// Asserts a Clerk error envelope with `status` and `code`.
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        let error = &self.body["errors"][0];
        assert!(error["message"].is_string(), "message in {error}");
        assert!(error["long_message"].is_string(), "long_message in {error}");
        assert!(error["meta"].is_object(), "meta in {error}");
        assert!(self.body["clerk_trace_id"].is_string());
        assert_eq!(self.headers[CONTENT_TYPE], "application/json");
    }
}

/// A native Frontend API client.
struct Fapi {
    http: reqwest::Client,
    url: String,
}

impl Fapi {
    fn new(clerk: &FakeClerk) -> Self {
        Self { http: reqwest::Client::new(), url: clerk.url().to_owned() }
    }

    /// POSTs `form` to `path` in native mode; `token` is the `Authorization` header (none when
    /// `None`).
    async fn post(&self, path: &str, token: Option<&str>, form: &[(&str, &str)]) -> Answer {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut request = self
            .http
            .post(format!("{}{path}{separator}_is_native=1", self.url))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode(form));
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, token);
        }
        Answer::read(request.send().await.expect("request")).await
    }

    async fn sign_in(&self, token: &str, identifier: &str, password: &str) -> Answer {
        self.post(
            "/v1/client/sign_ins",
            Some(token),
            &[("strategy", "password"), ("identifier", identifier), ("password", password)],
        )
        .await
    }

    /// Signs the demo user in on a new client: (client token, session id, jwt).
    async fn signed_in(&self) -> (String, String, String) {
        let answer = self.sign_in("", EMAIL, PASSWORD).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let sid = answer.body["response"]["created_session_id"].as_str().unwrap().to_owned();
        let jwt = session_of(&answer.body["client"], &sid)["last_active_token"]["jwt"].as_str().unwrap().to_owned();
        (answer.client_token(), sid, jwt)
    }

    async fn touch(&self, token: Option<&str>, sid: &str, org: Option<&str>) -> Answer {
        let form: Vec<(&str, &str)> = org.map(|org| ("active_organization_id", org)).into_iter().collect();
        self.post(&format!("/v1/client/sessions/{sid}/touch"), token, &form).await
    }

    async fn tokens(&self, token: Option<&str>, sid: &str, org: Option<&str>) -> Answer {
        let form: Vec<(&str, &str)> = org.map(|org| ("organization_id", org)).into_iter().collect();
        self.post(&format!("/v1/client/sessions/{sid}/tokens"), token, &form).await
    }

    async fn jwks(&self) -> Answer {
        let response = self.http.get(format!("{}/.well-known/jwks.json", self.url)).send().await.expect("jwks request");
        Answer::read(response).await
    }
}

fn encode(form: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish()
}

fn session_of<'a>(client: &'a Value, sid: &str) -> &'a Value {
    client["sessions"]
        .as_array()
        .expect("sessions")
        .iter()
        .find(|session| session["id"] == sid)
        .expect("session in client")
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The JWT header and claims, unverified.
fn decode_parts(jwt: &str) -> (Value, Value) {
    let mut parts = jwt.split('.');
    let mut part =
        || -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap() };
    (part(), part())
}

/// Verifies `jwt` against the fake's JWKS (RS256, issuer = url) and returns its claims.
async fn verify(fapi: &Fapi, jwt: &str, audience: Option<&str>) -> Value {
    let jwks = fapi.jwks().await.body;
    let kid = jsonwebtoken::decode_header(jwt).expect("header").kid.expect("kid");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} not in {jwks}"));
    let key = DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&fapi.url]);
    if let Some(audience) = audience {
        validation.set_audience(&[audience]);
    }
    jsonwebtoken::decode::<Value>(jwt, &key, &validation).expect("token verifies").claims
}

#[tokio::test]
async fn sign_in_answers_clerks_shape_and_a_client_token() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    let answer = fapi.sign_in("", EMAIL, PASSWORD).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.headers[CONTENT_TYPE], "application/json");
    let token = answer.client_token();
    assert!(token.len() >= 32, "opaque client token {token:?}");

    let sign_in = &answer.body["response"];
    assert_eq!(sign_in["object"], "sign_in_attempt");
    assert!(sign_in["id"].as_str().unwrap().starts_with("sia_"));
    assert_eq!(sign_in["status"], "complete");
    assert_eq!(sign_in["identifier"], EMAIL);
    let sid = sign_in["created_session_id"].as_str().unwrap();
    assert!(sid.starts_with("sess_"));

    let client = &answer.body["client"];
    assert_eq!(client["object"], "client");
    assert!(client["id"].as_str().unwrap().starts_with("client_"));
    assert_eq!(client["last_active_session_id"], sid);
    assert_eq!(client["sign_in"], Value::Null);
    let session = session_of(client, sid);
    assert_eq!(session["object"], "session");
    assert_eq!(session["status"], "active");
    assert_eq!(session["last_active_organization_id"], Value::Null);
    assert_eq!(session["user"]["id"], USER_ID);
    assert_eq!(session["last_active_token"]["object"], "token");
    let now_ms = now_secs() * 1000;
    let expire_at = session["expire_at"].as_u64().unwrap();
    let seven_days_ms = 7 * 24 * 3600 * 1000;
    assert!(expire_at.abs_diff(now_ms + seven_days_ms) < 5_000, "expire_at in ms, 7 days out");
    assert!(session["last_active_at"].as_u64().unwrap().abs_diff(now_ms) < 5_000);
    assert!(session["abandon_at"].as_u64().unwrap() > expire_at);

    let jwt = session["last_active_token"]["jwt"].as_str().unwrap();
    let (header, claims) = decode_parts(jwt);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["kid"], clerk.kids()[0].as_str());
    assert_eq!(claims["sub"], USER_ID);
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["iss"], clerk.url());
    assert_eq!(claims["v"], 2);
    let iat = claims["iat"].as_u64().unwrap();
    assert!(iat.abs_diff(now_secs()) <= 2);
    assert_eq!(claims["exp"].as_u64().unwrap(), iat + 60);
    assert_eq!(claims["nbf"].as_u64().unwrap(), iat - 10);
    assert!(claims["jti"].is_string());
    assert_eq!(claims["fva"], json!([0, -1]));
    for absent in ["azp", "o", "sts", "org_id"] {
        assert!(claims.get(absent).is_none(), "no {absent} in {claims}");
    }
    assert_eq!(verify(&fapi, jwt, None).await["sid"], sid);
}

#[tokio::test]
async fn the_url_has_no_trailing_slash_and_is_the_issuer() {
    let clerk = demo_clerk().await;
    assert!(clerk.url().starts_with("http://127.0.0.1:"));
    assert!(!clerk.url().ends_with('/'));
    assert_eq!(clerk.url(), format!("http://{}", clerk.addr()));
    fn shareable<T: Send + Sync + 'static>(_: &T) {}
    shareable(&clerk);
}

#[tokio::test]
async fn without_is_native_a_development_instance_wants_a_dev_browser() {
    let clerk = demo_clerk().await;
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/v1/client/sign_ins", clerk.url()))
        .header(AUTHORIZATION, "")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[("strategy", "password"), ("identifier", EMAIL), ("password", PASSWORD)]))
        .send()
        .await
        .unwrap();
    Answer::read(response).await.assert_error(401, "dev_browser_unauthenticated");

    let response = http
        .post(format!("{}/v1/client/sign_ins?_is_native=true", clerk.url()))
        .header(AUTHORIZATION, "")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[("strategy", "password"), ("identifier", EMAIL), ("password", PASSWORD)]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "_is_native=true is native too");
    assert_eq!(clerk.stats().sign_ins, 1);
}

#[tokio::test]
async fn native_requests_need_an_authorization_header_and_no_origin() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    let form = [("strategy", "password"), ("identifier", EMAIL), ("password", PASSWORD)];

    fapi.post("/v1/client/sign_ins", None, &form).await.assert_error(400, "request_header_missing");

    let conflict = fapi
        .http
        .post(format!("{}/v1/client/sign_ins?_is_native=1", clerk.url()))
        .header(AUTHORIZATION, "")
        .header(ORIGIN, "https://example.com")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&form))
        .send()
        .await
        .unwrap();
    Answer::read(conflict).await.assert_error(400, "origin_authorization_headers_conflict");

    let both_versions = fapi
        .http
        .post(format!("{}/v1/client/sign_ins?_is_native=1&__clerk_api_version=2025-11-10", clerk.url()))
        .header(AUTHORIZATION, "")
        .header("Clerk-API-Version", "2025-11-10")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&form))
        .send()
        .await
        .unwrap();
    assert_eq!(both_versions.status(), 400);

    let one_version = fapi.post("/v1/client/sign_ins?__clerk_api_version=2025-11-10", Some(""), &form).await;
    assert_eq!(one_version.status, 200, "the API version alone is accepted");
    assert_eq!(clerk.stats().sign_ins, 1);
}

#[tokio::test]
async fn sign_in_errors_carry_clerks_codes() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);

    let unknown = fapi.sign_in("", "nobody@way.cloud", PASSWORD).await;
    unknown.assert_error(422, "form_identifier_not_found");
    assert_eq!(unknown.body["errors"][0]["message"], "Couldn't find your account.");
    assert!(unknown.headers.get(AUTHORIZATION).is_none());

    let wrong = fapi.sign_in("", EMAIL, "wrong").await;
    wrong.assert_error(422, "form_password_incorrect");
    assert_eq!(wrong.body["errors"][0]["message"], "Password is incorrect. Try again, or use another method.");
    assert_eq!(wrong.body["errors"][0]["meta"]["param_name"], "password");

    let missing = fapi.post("/v1/client/sign_ins", Some(""), &[("strategy", "password"), ("identifier", EMAIL)]).await;
    missing.assert_error(422, "form_param_missing");
    assert_eq!(missing.body["errors"][0]["meta"]["param_name"], "password");

    let no_identifier =
        fapi.post("/v1/client/sign_ins", Some(""), &[("strategy", "password"), ("password", PASSWORD)]).await;
    no_identifier.assert_error(422, "form_param_missing");
    assert_eq!(no_identifier.body["errors"][0]["meta"]["param_name"], "identifier");

    fapi.sign_in("", "banned@way.cloud", "BannedSecret").await.assert_error(403, "user_banned");
}

#[tokio::test]
async fn a_json_body_is_not_a_form() {
    let clerk = demo_clerk().await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/client/sign_ins?_is_native=1", clerk.url()))
        .header(AUTHORIZATION, "")
        .header(CONTENT_TYPE, "application/json")
        .body(json!({"strategy": "password", "identifier": EMAIL, "password": PASSWORD}).to_string())
        .send()
        .await
        .unwrap();
    Answer::read(response).await.assert_error(422, "form_param_missing");
}

#[tokio::test]
async fn failed_passwords_warn_then_lock_the_user() {
    let clerk = FakeClerk::builder()
        .device_trust(false)
        .user(demo_user())
        .sign_in_rate_limit(u32::MAX, Duration::from_secs(10))
        .lockout_duration(Duration::from_secs(2))
        .start()
        .await;
    let fapi = Fapi::new(&clerk);

    // A success resets the failure counter.
    for _ in 0..5 {
        fapi.sign_in("", EMAIL, "wrong").await.assert_error(422, "form_password_incorrect");
    }
    assert_eq!(fapi.sign_in("", EMAIL, PASSWORD).await.status, 200);

    for _ in 0..7 {
        fapi.sign_in("", EMAIL, "wrong").await.assert_error(422, "form_password_incorrect");
    }
    for _ in 0..2 {
        fapi.sign_in("", EMAIL, "wrong").await.assert_error(422, "account_lockout_warning");
    }
    let locked = fapi.sign_in("", EMAIL, "wrong").await;
    locked.assert_error(403, "user_locked");
    assert_eq!(locked.body["errors"][0]["meta"]["lockout_expires_in_seconds"], 2);

    let still_locked = fapi.sign_in("", EMAIL, PASSWORD).await;
    still_locked.assert_error(403, "user_locked");
    let remaining = still_locked.body["errors"][0]["meta"]["lockout_expires_in_seconds"].as_u64().unwrap();
    assert!((1..=2).contains(&remaining));

    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(fapi.sign_in("", EMAIL, PASSWORD).await.status, 200, "the lock expired");
}

#[tokio::test]
async fn the_default_lockout_lasts_an_hour() {
    let clerk = FakeClerk::builder()
        .user(demo_user())
        .sign_in_rate_limit(u32::MAX, Duration::from_secs(10))
        .lockout_threshold(3)
        .start()
        .await;
    let fapi = Fapi::new(&clerk);
    fapi.sign_in("", EMAIL, "wrong").await.assert_error(422, "account_lockout_warning");
    fapi.sign_in("", EMAIL, "wrong").await.assert_error(422, "account_lockout_warning");
    let locked = fapi.sign_in("", EMAIL, "wrong").await;
    locked.assert_error(403, "user_locked");
    assert_eq!(locked.body["errors"][0]["meta"]["lockout_expires_in_seconds"], 3600);

    let forever = FakeClerk::builder().user(FakeUser::new("locked@way.cloud", "LockedSecret").locked()).start().await;
    let answer = Fapi::new(&forever).sign_in("", "locked@way.cloud", "LockedSecret").await;
    answer.assert_error(403, "user_locked");
    assert_eq!(answer.body["errors"][0]["meta"]["lockout_expires_in_seconds"], Value::Null);
}

#[tokio::test]
async fn unfinished_sign_ins_yield_no_session() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    for (identifier, password, status) in [
        ("mfa@way.cloud", "MfaSecret", "needs_second_factor"),
        ("trust@way.cloud", "TrustSecret", "needs_client_trust"),
        ("reset@way.cloud", "ResetSecret", "needs_new_password"),
    ] {
        let answer = fapi.sign_in("", identifier, password).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["response"]["status"], status);
        assert_eq!(answer.body["response"]["created_session_id"], Value::Null);
        assert_eq!(answer.body["client"]["sessions"], json!([]));
        assert_eq!(answer.body["client"]["sign_in"]["status"], status);
        assert_eq!(answer.body["client"]["last_active_session_id"], Value::Null);
    }
    // A wrong password is still wrong for an MFA user.
    fapi.sign_in("", "mfa@way.cloud", "wrong").await.assert_error(422, "form_password_incorrect");
    assert_eq!(clerk.stats().sign_ins, 0);
    assert_eq!(clerk.stats().sessions_created, 0);
}

#[tokio::test]
async fn sign_ins_are_rate_limited_per_ip() {
    let clerk = FakeClerk::builder()
        .device_trust(false)
        .user(demo_user())
        .sign_in_rate_limit(5, Duration::from_secs(2))
        .start()
        .await;
    let fapi = Fapi::new(&clerk);
    for attempt in 0..5 {
        // Failures count as sign-in creations too.
        let password = if attempt % 2 == 0 { "wrong" } else { PASSWORD };
        let answer = fapi.sign_in("", EMAIL, password).await;
        assert_ne!(answer.status, 429, "attempt {attempt}");
    }
    let limited = fapi.sign_in("", EMAIL, PASSWORD).await;
    limited.assert_error(429, "too_many_requests");
    let retry_after: u64 = limited.headers[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");

    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(fapi.sign_in("", EMAIL, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn the_default_rate_limit_is_five_per_ten_seconds() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    for _ in 0..5 {
        fapi.sign_in("", "nobody@way.cloud", "x").await.assert_error(422, "form_identifier_not_found");
    }
    let limited = fapi.sign_in("", EMAIL, PASSWORD).await;
    limited.assert_error(429, "too_many_requests");
    let retry_after: u64 = limited.headers[RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((9..=10).contains(&retry_after), "Retry-After {retry_after}");
}

#[tokio::test]
async fn a_client_holds_several_sessions_newest_last() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    let (token, first_sid, _) = fapi.signed_in().await;

    let second = fapi.sign_in(&token, "other@way.cloud", "OtherSecret").await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.client_token(), token, "same client");
    let new_sid = second.body["response"]["created_session_id"].as_str().unwrap();
    let sessions = second.body["client"]["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["id"], first_sid.as_str());
    assert_ne!(sessions[0]["id"], new_sid, "sessions[0] is not the new sign-in");
    assert_eq!(sessions[1]["id"], new_sid);
    assert_eq!(sessions[1]["user"]["id"], "user_2xOther");
    assert_eq!(second.body["client"]["last_active_session_id"], new_sid);

    let again = fapi.sign_in(&token, EMAIL, PASSWORD).await;
    again.assert_error(400, "identifier_already_signed_in");
    assert_eq!(again.body["errors"][0]["meta"]["session_id"], first_sid.as_str());

    // An unknown client token is refused, as Clerk refuses a client token it did not issue.
    let forged = fapi.sign_in("not-a-client", EMAIL, PASSWORD).await;
    forged.assert_error(401, "authentication_invalid");
    assert!(forged.headers.get(AUTHORIZATION).is_none());
}

#[tokio::test]
async fn single_session_mode_refuses_a_second_session() {
    let clerk = FakeClerk::builder()
        .device_trust(false)
        .user(demo_user())
        .user(FakeUser::new("other@way.cloud", "OtherSecret"))
        .single_session()
        .start()
        .await;
    let fapi = Fapi::new(&clerk);
    let (token, _, _) = fapi.signed_in().await;
    fapi.sign_in(&token, "other@way.cloud", "OtherSecret").await.assert_error(400, "session_exists");
    assert_eq!(fapi.sign_in("", "other@way.cloud", "OtherSecret").await.status, 200);
}

#[tokio::test]
async fn touch_needs_the_client_that_owns_the_session() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    let (token, sid, _) = fapi.signed_in().await;
    let (other_token, other_sid, _) = {
        let answer = fapi.sign_in("", "other@way.cloud", "OtherSecret").await;
        let sid = answer.body["response"]["created_session_id"].as_str().unwrap().to_owned();
        (answer.client_token(), sid, ())
    };

    fapi.touch(Some(""), &sid, Some(ORG_ID)).await.assert_error(401, "authentication_invalid");
    fapi.touch(Some("forged"), &sid, Some(ORG_ID)).await.assert_error(401, "authentication_invalid");
    fapi.touch(None, &sid, Some(ORG_ID)).await.assert_error(400, "request_header_missing");
    fapi.touch(Some(&other_token), &sid, Some(ORG_ID)).await.assert_error(404, "resource_not_found");
    fapi.touch(Some(&token), "sess_unknown", Some(ORG_ID)).await.assert_error(404, "resource_not_found");
    fapi.touch(Some(&token), &other_sid, None).await.assert_error(404, "resource_not_found");
    assert_eq!(clerk.stats().touches, 6);
}

#[tokio::test]
async fn touch_activates_an_organization_in_the_token() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    let (token, sid, _) = fapi.signed_in().await;

    let answer = fapi.touch(Some(&token), &sid, Some(ORG_ID)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.client_token(), token);
    let session = &answer.body["response"];
    assert_eq!(session["object"], "session");
    assert_eq!(session["id"], sid.as_str());
    assert_eq!(session["last_active_organization_id"], ORG_ID);
    assert_eq!(answer.body["client"]["object"], "client");
    let jwt = session["last_active_token"]["jwt"].as_str().unwrap();
    let claims = verify(&fapi, jwt, None).await;
    assert_eq!(claims["o"], json!({"id": ORG_ID, "slg": ORG_SLUG, "rol": "admin", "per": "read,manage", "fpm": "3"}));
    assert_eq!(claims["fea"], "o:footprints");
    assert_eq!(claims["sid"], sid.as_str());

    // By slug too; empty = personal account.
    let by_slug = fapi.touch(Some(&token), &sid, Some(ORG_SLUG)).await;
    assert_eq!(by_slug.body["response"]["last_active_organization_id"], ORG_ID);
    let personal = fapi.touch(Some(&token), &sid, Some("")).await;
    assert_eq!(personal.status, 200);
    assert_eq!(personal.body["response"]["last_active_organization_id"], Value::Null);
    let (_, claims) = decode_parts(personal.body["response"]["last_active_token"]["jwt"].as_str().unwrap());
    assert!(claims.get("o").is_none());

    fapi.touch(Some(&token), &sid, Some("org_2xElse"))
        .await
        .assert_error(404, "organization_not_found_or_unauthorized");
    fapi.touch(Some(&token), &sid, Some("org_missing"))
        .await
        .assert_error(404, "organization_not_found_or_unauthorized");
}

#[tokio::test]
async fn tokens_refresh_the_session_token_bare() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    let (token, sid, first_jwt) = fapi.signed_in().await;

    let answer = fapi.tokens(Some(&token), &sid, None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body.as_object().unwrap().len(), 2, "not wrapped: {}", answer.body);
    assert_eq!(answer.body["object"], "token");
    let jwt = answer.body["jwt"].as_str().unwrap();
    assert_ne!(jwt, first_jwt);
    let claims = verify(&fapi, jwt, None).await;
    assert_eq!(claims["sid"], sid.as_str());
    assert!(claims.get("o").is_none());

    // organization_id switches; absent keeps the active one; empty = personal.
    let with_org = fapi.tokens(Some(&token), &sid, Some(ORG_ID)).await;
    assert_eq!(decode_parts(with_org.body["jwt"].as_str().unwrap()).1["o"]["id"], ORG_ID);
    let kept = fapi.tokens(Some(&token), &sid, None).await;
    assert_eq!(decode_parts(kept.body["jwt"].as_str().unwrap()).1["o"]["id"], ORG_ID);
    let personal = fapi.tokens(Some(&token), &sid, Some("")).await;
    assert!(decode_parts(personal.body["jwt"].as_str().unwrap()).1.get("o").is_none());
    let still_personal = fapi.tokens(Some(&token), &sid, None).await;
    assert!(decode_parts(still_personal.body["jwt"].as_str().unwrap()).1.get("o").is_none());

    // The tokens route takes an organization id, not a slug.
    fapi.tokens(Some(&token), &sid, Some(ORG_SLUG)).await.assert_error(404, "organization_not_found_or_unauthorized");
    fapi.tokens(Some(""), &sid, None).await.assert_error(401, "authentication_invalid");
    fapi.tokens(Some(&token), "sess_unknown", None).await.assert_error(404, "resource_not_found");
}

#[tokio::test]
async fn template_tokens_carry_the_template_claims_and_no_sid() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    let (token, sid, _) = fapi.signed_in().await;
    fapi.touch(Some(&token), &sid, Some(ORG_ID)).await;

    let answer = fapi.post(&format!("/v1/client/sessions/{sid}/tokens/pact"), Some(&token), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["object"], "token");
    let claims = verify(&fapi, answer.body["jwt"].as_str().unwrap(), Some("pact")).await;
    assert_eq!(claims["aud"], "pact");
    assert_eq!(claims["org"], ORG_SLUG);
    assert_eq!(claims["sub"], USER_ID);
    assert_eq!(claims["iss"], clerk.url());
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 3600);
    assert!(claims.get("sid").is_none());

    fapi.post(&format!("/v1/client/sessions/{sid}/tokens/nope"), Some(&token), &[])
        .await
        .assert_error(404, "resource_not_found");
    fapi.post(&format!("/v1/client/sessions/{sid}/tokens/pact"), Some(""), &[])
        .await
        .assert_error(401, "authentication_invalid");
    assert_eq!(clerk.stats().token_mints, 3);
}

#[tokio::test]
async fn revoked_sessions_cannot_refresh() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    let (token, sid, _) = fapi.signed_in().await;
    assert_eq!(fapi.tokens(Some(&token), &sid, None).await.status, 200);

    assert_eq!(clerk.revoke_sessions(EMAIL), 1);
    fapi.tokens(Some(&token), &sid, None).await.assert_error(401, "signed_out");
    fapi.touch(Some(&token), &sid, Some(ORG_ID)).await.assert_error(401, "signed_out");
    fapi.post(&format!("/v1/client/sessions/{sid}/tokens/pact"), Some(&token), &[])
        .await
        .assert_error(401, "signed_out");

    // Signing in again (same client) gives a new, working session.
    let again = fapi.sign_in(&token, EMAIL, PASSWORD).await;
    assert_eq!(again.status, 200, "{}", again.body);
    let new_sid = again.body["response"]["created_session_id"].as_str().unwrap();
    assert_eq!(session_of(&again.body["client"], &sid)["status"], "revoked");
    assert_eq!(fapi.tokens(Some(&token), new_sid, None).await.status, 200);
}

#[tokio::test]
async fn pending_sessions_carry_sts_until_an_organization_is_chosen() {
    let clerk = FakeClerk::builder()
        .device_trust(false)
        .user(demo_user().pending_task("choose-organization"))
        .organization(demo_org())
        .start()
        .await;
    let fapi = Fapi::new(&clerk);
    let answer = fapi.sign_in("", EMAIL, PASSWORD).await;
    assert_eq!(answer.body["response"]["status"], "complete");
    let sid = answer.body["response"]["created_session_id"].as_str().unwrap();
    let session = session_of(&answer.body["client"], sid);
    assert_eq!(session["status"], "pending");
    assert_eq!(session["tasks"], json!([{"key": "choose-organization"}]));
    let (_, claims) = decode_parts(session["last_active_token"]["jwt"].as_str().unwrap());
    assert_eq!(claims["sts"], "pending");

    let touched = fapi.touch(Some(&answer.client_token()), sid, Some(ORG_ID)).await;
    assert_eq!(touched.body["response"]["status"], "active");
    let (_, claims) = decode_parts(touched.body["response"]["last_active_token"]["jwt"].as_str().unwrap());
    assert!(claims.get("sts").is_none());
    assert_eq!(claims["o"]["id"], ORG_ID);
}

#[tokio::test]
async fn jwks_serves_the_signing_keys_and_tokens_verify() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    let (_, _, jwt) = fapi.signed_in().await;

    let jwks = fapi.jwks().await;
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.headers[CONTENT_TYPE], "application/json");
    let keys = jwks.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["use"], "sig");
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["e"], "AQAB");
    assert!(key["kid"].as_str().unwrap().starts_with("ins_"));
    assert_eq!(decode_parts(&jwt).0["kid"], key["kid"]);
    assert_eq!(jwks.body, clerk.jwks());
    assert_eq!(verify(&fapi, &jwt, None).await["sub"], USER_ID);

    // A token signed by another instance under this instance's kid does not verify.
    let stranger = demo_clerk().await;
    let forged =
        stranger.sign_with_header(json!({"alg": "RS256", "kid": key["kid"], "typ": "JWT"}), decode_parts(&jwt).1);
    let ours = DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[clerk.url()]);
    assert!(jsonwebtoken::decode::<Value>(&jwt, &ours, &validation).is_ok());
    assert!(jsonwebtoken::decode::<Value>(&forged, &ours, &validation).is_err());
}

#[tokio::test]
async fn key_rotation_publishes_the_new_kid() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    let (token, sid, old_jwt) = fapi.signed_in().await;
    let old_kid = clerk.kids()[0].clone();

    let new_kid = clerk.rotate_signing_key(true);
    assert_eq!(clerk.kids(), vec![new_kid.clone(), old_kid.clone()]);
    let fresh = fapi.tokens(Some(&token), &sid, None).await;
    let fresh = fresh.body["jwt"].as_str().unwrap();
    assert_eq!(decode_parts(fresh).0["kid"], new_kid.as_str());
    verify(&fapi, fresh, None).await;
    verify(&fapi, &old_jwt, None).await;

    let newest = clerk.rotate_signing_key(false);
    assert_eq!(clerk.kids(), vec![newest.clone()]);
    let jwks = fapi.jwks().await.body;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], newest.as_str());
}

#[tokio::test]
async fn direct_signing_helpers() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);

    let token = clerk.session_token(USER_ID, Some(ORG_ID));
    let claims = verify(&fapi, &token, None).await;
    assert_eq!(claims["sub"], USER_ID);
    assert_eq!(claims["v"], 2);
    assert!(claims["sid"].as_str().unwrap().starts_with("sess_"));
    assert_eq!(claims["o"]["rol"], "admin");
    assert_eq!(claims["o"]["per"], "read,manage");

    // Networkless verification with the PEM public key.
    let pem = clerk.public_key_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
    let key = DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[clerk.url()]);
    let personal = clerk.session_token(USER_ID, None);
    let claims = jsonwebtoken::decode::<Value>(&personal, &key, &validation).unwrap().claims;
    assert!(claims.get("o").is_none());

    let signed = clerk.sign_claims(json!({"sub": "user_x", "exp": now_secs() + 60, "custom": true}));
    let (header, claims) = decode_parts(&signed);
    assert_eq!(header, json!({"alg": "RS256", "kid": clerk.kids()[0], "typ": "JWT"}));
    assert_eq!(claims["custom"], true);
    jsonwebtoken::decode::<Value>(&signed, &key, &Validation::new(Algorithm::RS256)).unwrap();

    let odd = clerk.sign_with_header(json!({"alg": "RS256", "typ": "at+jwt"}), json!({"sub": "x"}));
    assert_eq!(decode_parts(&odd).0, json!({"alg": "RS256", "typ": "at+jwt"}));
}

#[tokio::test]
async fn runtime_users_and_organizations() {
    let clerk = FakeClerk::builder().device_trust(false).start().await;
    let fapi = Fapi::new(&clerk);
    fapi.sign_in("", EMAIL, PASSWORD).await.assert_error(422, "form_identifier_not_found");
    clerk.add_user(demo_user());
    clerk.add_organization(demo_org());
    let (token, sid, _) = fapi.signed_in().await;
    let answer = fapi.touch(Some(&token), &sid, Some(ORG_ID)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn server_errors_and_garbage() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);

    clerk.set_fault(Some(Fault::ServerError(502)));
    let answer = fapi.sign_in("", EMAIL, PASSWORD).await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.code(), "internal_clerk_error");
    assert_eq!(fapi.jwks().await.status, 200, "set_fault leaves JWKS alone");

    clerk.set_fault(Some(Fault::Garbage));
    let response = fapi
        .http
        .post(format!("{}/v1/client/sign_ins?_is_native=1", clerk.url()))
        .header(AUTHORIZATION, "")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let bytes = response.bytes().await.unwrap();
    assert!(!bytes.is_empty());
    assert!(serde_json::from_slice::<Value>(&bytes).is_err(), "truncated JSON");

    clerk.set_fault(None);
    assert_eq!(fapi.sign_in("", EMAIL, PASSWORD).await.status, 200);
    assert_eq!(clerk.stats().sign_in_attempts, 3);
    assert_eq!(clerk.stats().sign_ins, 1);
}

#[tokio::test]
async fn down_closes_connections_without_an_answer() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    clerk.set_fault(Some(Fault::Down));
    let error = fapi
        .http
        .post(format!("{}/v1/client/sign_ins?_is_native=1", clerk.url()))
        .header(AUTHORIZATION, "")
        .body("")
        .send()
        .await
        .expect_err("no answer");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    assert_eq!(fapi.jwks().await.status, 200);

    clerk.set_fault(None);
    assert_eq!(fapi.sign_in("", EMAIL, PASSWORD).await.status, 200);
}

#[tokio::test]
async fn rate_limited_fault_spares_jwks() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    let (token, sid, _) = fapi.signed_in().await;
    clerk.set_fault(Some(Fault::RateLimited { retry_after: Duration::from_millis(2500) }));
    for answer in [
        fapi.sign_in("", EMAIL, PASSWORD).await,
        fapi.tokens(Some(&token), &sid, None).await,
        fapi.touch(Some(&token), &sid, Some(ORG_ID)).await,
    ] {
        answer.assert_error(429, "too_many_requests");
        assert_eq!(answer.headers[RETRY_AFTER], "3");
    }
    assert_eq!(fapi.jwks().await.status, 200);
    clerk.set_fault(None);
    assert_eq!(fapi.tokens(Some(&token), &sid, None).await.status, 200);
}

#[tokio::test]
async fn jwks_faults_leave_the_frontend_api_alone() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    clerk.set_jwks_fault(Some(Fault::ServerError(503)));
    assert_eq!(fapi.jwks().await.status, 503);
    let (token, sid, _) = fapi.signed_in().await;

    clerk.set_jwks_fault(Some(Fault::Down));
    let error = fapi.http.get(format!("{}/.well-known/jwks.json", clerk.url())).send().await;
    assert!(error.is_err());
    assert_eq!(fapi.tokens(Some(&token), &sid, None).await.status, 200);

    clerk.set_jwks_fault(None);
    assert_eq!(fapi.jwks().await.status, 200);
    assert_eq!(clerk.stats().jwks_fetches, 3);
}

#[tokio::test]
async fn latency_delays_answers() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);

    clerk.set_latency(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(fapi.jwks().await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    clerk.set_latency(Duration::ZERO);
    clerk.set_user_latency(EMAIL, Duration::from_millis(400));
    let started = Instant::now();
    let (token, sid, _) = fapi.signed_in().await;
    assert!(started.elapsed() >= Duration::from_millis(400), "sign-in of the slow user");
    let started = Instant::now();
    assert_eq!(fapi.tokens(Some(&token), &sid, None).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(400), "calls on the slow user's session");
    let started = Instant::now();
    assert_eq!(fapi.sign_in("", "other@way.cloud", "OtherSecret").await.status, 200);
    assert!(started.elapsed() < Duration::from_millis(400), "other users are fast");

    // A client with a shorter timeout gives up.
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    let error = impatient
        .post(format!("{}/v1/client/sessions/{sid}/tokens?_is_native=1", clerk.url()))
        .header(AUTHORIZATION, &token)
        .send()
        .await
        .expect_err("timeout");
    assert!(error.is_timeout());
}

#[tokio::test]
async fn counters_count() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    assert_eq!(clerk.stats(), FakeClerkStats::default());

    let (token, sid, _) = fapi.signed_in().await;
    fapi.sign_in("", EMAIL, "wrong").await;
    fapi.touch(Some(&token), &sid, Some(ORG_ID)).await;
    fapi.tokens(Some(&token), &sid, None).await;
    fapi.post(&format!("/v1/client/sessions/{sid}/tokens/pact"), Some(&token), &[]).await;
    fapi.jwks().await;
    fapi.jwks().await;
    assert_eq!(
        clerk.stats(),
        FakeClerkStats {
            sign_in_attempts: 2,
            sign_ins: 1,
            touches: 1,
            token_mints: 2,
            jwks_fetches: 2,
            sessions_created: 1,
            ..FakeClerkStats::default()
        }
    );
    clerk.reset_stats();
    assert_eq!(clerk.stats(), FakeClerkStats::default());
}

#[tokio::test]
async fn unknown_routes_answer_a_clerk_404() {
    let clerk = demo_clerk().await;
    let fapi = Fapi::new(&clerk);
    fapi.post("/v1/client/nowhere", Some(""), &[]).await.assert_error(404, "resource_not_found");
    let get = fapi
        .http
        .get(format!("{}/v1/client/sign_ins?_is_native=1", clerk.url()))
        .header(AUTHORIZATION, "")
        .send()
        .await
        .unwrap();
    Answer::read(get).await.assert_error(404, "resource_not_found");
    assert_eq!(clerk.stats().sign_in_attempts, 0);
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let clerk = demo_clerk().await;
    let url = clerk.url().to_owned();
    let http = reqwest::Client::new();
    assert!(http.get(format!("{url}/.well-known/jwks.json")).send().await.is_ok());
    drop(clerk);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(format!("{url}/.well-known/jwks.json")).send().await.is_err());
}
