//! The layer as an attacker meets it, through the public API: nobody else's wrong guesses lock a
//! user out, one source cannot spend Clerk's sign-in limit for everyone, organization rules
//! cannot be side-stepped, and hostile headers or keys never become part of a URL.

use std::convert::Infallible;
use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use clerk_basic_auth::testing::FakeUser;
use clerk_basic_auth::{ClerkBasicAuthConfig, ClerkBasicAuthLayer, ConfigError};
use http::{Request, Response};
use http_body_util::Empty;
use serde_json::json;
use tower::{Layer as _, ServiceExt as _};

use crate::common::*;

/// The client address a test claims, from a header (all tests run on one loopback address).
fn test_peer(config: ClerkBasicAuthConfig) -> ClerkBasicAuthConfig {
    config.with_client_address(|request| request.headers.get("x-test-peer")?.to_str().ok()?.parse::<IpAddr>().ok())
}

#[tokio::test]
async fn the_owners_password_still_gets_a_token_after_fifty_wrong_guesses_by_others() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    access_token(addr, USER, PASSWORD).await;
    // Clerk ends the session: the owner must sign in again, while others guess.
    clerk.revoke_sessions(USER);
    let mut refused = 0;
    for _ in 0..50 {
        let status = token_request(addr, USER, "a-guess").send().await.unwrap().status();
        assert!(status == 401 || status == 429, "{status}");
        refused += usize::from(status == 429);
    }
    assert_eq!(refused, 45, "the budget held the guesses back after 5");
    assert_eq!(clerk.stats().sign_in_attempts, 1 + 5, "the owner's sign-in, then five guesses");
    assert_eq!(token_request(addr, USER, PASSWORD).send().await.unwrap().status(), 200, "the owner is not locked out");
}

#[tokio::test]
async fn a_flood_of_made_up_identifiers_from_one_address_does_not_block_another_address() {
    // Clerk's real limit: 5 sign-ins per 10 s from this server's address.
    let clerk = clerk_builder().sign_in_rate_limit(5, Duration::from_secs(10)).start().await;
    let addr = serve(test_peer(config(&clerk))).await;
    let mut statuses = Vec::new();
    for n in 0..20 {
        let request = token_request(addr, &format!("made-up-{n}@example.com"), "x").header("x-test-peer", "192.0.2.1");
        statuses.push(request.send().await.unwrap().status().as_u16());
    }
    assert!(statuses.iter().filter(|status| **status == 429).count() >= 17, "{statuses:?}");
    assert!(clerk.stats().sign_in_attempts <= 3, "one source spends at most 3 of Clerk's 5");
    let honest = token_request(addr, USER, PASSWORD).header("x-test-peer", "198.51.100.7");
    assert_eq!(honest.send().await.unwrap().status(), 200, "another address still signs in");
}

async fn call(config: ClerkBasicAuthConfig, request: Request<Empty<Bytes>>) -> u16 {
    let inner = tower::service_fn(|_request: Request<Empty<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
    });
    let service = ClerkBasicAuthLayer::new(config).layer(inner);
    service.oneshot(request).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_target_that_is_not_a_path_meets_every_organization_rule() {
    let clerk = clerk().await;
    let personal = clerk.session_token(USER_ID, None);
    let config = || config(&clerk).with_organization(ORG);
    let options = Request::options("*").header("authorization", format!("Bearer {personal}"));
    assert_eq!(call(config(), options.body(Empty::new()).unwrap()).await, 403, "OPTIONS * with a personal token");
    let in_org = clerk.session_token(USER_ID, Some(ORG));
    let options = Request::options("*").header("authorization", format!("Bearer {in_org}"));
    assert_eq!(call(config(), options.body(Empty::new()).unwrap()).await, 200);
}

#[tokio::test]
async fn an_organization_configured_by_id_is_never_matched_by_slug() {
    let clerk = clerk().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let impostor = clerk.sign_claims(json!({
        "sub": USER_ID, "sid": "sess_x", "iss": clerk.url(), "iat": now, "nbf": now, "exp": now + 60, "v": 2,
        "o": {"id": "org_evil", "slg": ORG, "rol": "admin"}
    }));
    let request = Request::get("/2/footprints").header("authorization", format!("Bearer {impostor}"));
    assert_eq!(call(config(&clerk).with_organization(ORG), request.body(Empty::new()).unwrap()).await, 403);
}

#[tokio::test]
async fn hostile_forwarded_values_and_hosts_never_reach_a_url() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    for (name, value) in [
        ("x-forwarded-prefix", "//evil.example"),
        ("x-forwarded-prefix", "/../../x"),
        ("x-forwarded-host", "evil.example/path"),
        ("x-forwarded-host", "user@evil.example"),
        ("x-forwarded-proto", "javascript"),
        ("forwarded", "host=\"evil.example\\\\x\";proto=https"),
    ] {
        let response = http()
            .get(format!("http://{addr}/.well-known/openid-configuration"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        let document = response.text().await.unwrap();
        assert!(!document.contains("evil") && !document.contains(".."), "{name}: {value} → {document}");
        assert!(!document.contains("javascript"), "{document}");
    }
}

#[test]
fn a_publishable_key_that_moves_the_host_is_a_config_error() {
    use base64::Engine as _;
    let encode = |text: &str| format!("pk_live_{}", base64::engine::general_purpose::STANDARD.encode(text));
    for host in
        ["evil.example\\clerk.example.com$", "evil.example/clerk.example.com$", "a@clerk.example.com$", "clerk$"]
    {
        let result = ClerkBasicAuthConfig::from_publishable_key(encode(host));
        assert!(matches!(result, Err(ConfigError::InvalidPublishableKey { .. })), "{host}");
    }
    assert!(ClerkBasicAuthConfig::from_publishable_key(encode("clerk.example.com$")).is_ok());
}

#[tokio::test]
async fn a_changed_password_stops_working_within_the_recheck_interval_without_the_backend_api() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_password_recheck(Duration::from_millis(300))).await;
    access_token(addr, USER, PASSWORD).await;
    assert!(clerk.set_password(USER, "TheNewPassword1"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    assert_eq!(clerk.stats().session_ends, 1, "the replaced session is ended at Clerk, not left behind");
    assert_eq!(clerk.stats().sign_in_attempts, 2, "one sign-in, one check: no second try");
    access_token(addr, USER, "TheNewPassword1").await;
}

#[tokio::test]
async fn a_changed_password_stops_working_within_the_recheck_interval_with_the_backend_api() {
    let clerk = clerk_builder().device_trust(true).start().await;
    let config = config(&clerk)
        .with_secret_key(clerk.secret_key())
        .unwrap()
        .with_backend_api_url(&clerk.backend_api_url())
        .unwrap()
        .with_password_recheck(Duration::from_millis(300));
    let addr = serve(config).await;
    access_token(addr, USER, PASSWORD).await;
    // Within the interval the cached token is handed out without any check.
    access_token(addr, USER, PASSWORD).await;
    assert_eq!(clerk.stats().password_checks, 1);
    assert!(clerk.set_password(USER, "TheNewPassword1"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    let stats = clerk.stats();
    assert_eq!((stats.password_checks, stats.session_ends, stats.sign_in_token_requests), (2, 1, 1));
    access_token(addr, USER, "TheNewPassword1").await;
}

#[tokio::test]
async fn an_email_address_and_a_username_of_one_user_share_one_budget_and_never_reach_clerks_lockout() {
    // Clerk's default: locked after 10 failures.
    let clerk = clerk_builder()
        .user(FakeUser::new("twin@way.cloud", "TwinPassword1").id("user_twin").username("twin_user"))
        .lockout_threshold(10)
        .start()
        .await;
    let config = config(&clerk)
        .with_secret_key(clerk.secret_key())
        .unwrap()
        .with_backend_api_url(&clerk.backend_api_url())
        .unwrap();
    let addr = serve(config).await;
    for attempt in 0..40 {
        let identifier = if attempt % 2 == 0 { "twin@way.cloud" } else { "TWIN_USER" };
        let status = token_request(addr, identifier, &format!("guess-{attempt}")).send().await.unwrap().status();
        assert!(status == 401 || status == 429, "{status}");
    }
    assert_eq!(clerk.stats().password_checks, 5, "one budget for the user, whichever identifier is guessed");
    assert_eq!(token_request(addr, "twin_user", "TwinPassword1").send().await.unwrap().status(), 429);
    // Clerk never locked the user: once the window passes, the owner signs in (here: another layer).
    let fresh = serve(
        crate::common::config(&clerk)
            .with_secret_key(clerk.secret_key())
            .unwrap()
            .with_backend_api_url(&clerk.backend_api_url())
            .unwrap(),
    )
    .await;
    assert_eq!(token_request(fresh, "twin@way.cloud", "TwinPassword1").send().await.unwrap().status(), 200);
}
