//! Clerk's signing keys behind protected routes, through a real axum server on loopback: fetched
//! from Clerk's JWKS on first sight and at most once per interval, kept while Clerk is down, or
//! given as a PEM key with no network at all.

use std::time::Duration;

use clerk_basic_auth::testing::{FakeClerk, Fault};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn a_token_from_a_rotated_key_passes_as_soon_as_a_refetch_is_allowed() {
    let clerk = clerk().await;
    let interval = Duration::from_millis(300);
    let addr = serve(config(&clerk).with_jwks_refetch_interval(interval)).await;
    assert_eq!(get_with(addr, "/me", &clerk.session_token(USER_ID, None)).await.0, 200);
    tokio::time::sleep(interval).await;
    let new_kid = clerk.rotate_signing_key(false);
    let rotated = clerk.session_token(USER_ID, None);
    assert_eq!(jsonwebtoken::decode_header(&rotated).unwrap().kid.as_deref(), Some(new_kid.as_str()));
    assert_eq!(get_with(addr, "/me", &rotated).await.0, 200, "the new key is fetched on first sight");
    assert_eq!(clerk.stats().jwks_fetches, 2);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_causes_one_jwks_fetch_per_interval() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let claims = session_claims(&clerk, json!({}));
    let requests = (0..100).map(|i| {
        let token = clerk
            .sign_with_header(json!({"alg": "RS256", "typ": "JWT", "kid": format!("ins_random_{i}")}), claims.clone());
        tokio::spawn(async move { refusal(addr, &token).await })
    });
    for request in requests.collect::<Vec<_>>() {
        let (status, message) = request.await.unwrap();
        assert_eq!((status, message.as_str()), (400, "the access token is signed with an unknown key"));
    }
    assert_eq!(clerk.stats().jwks_fetches, 1);
    // Valid tokens are not held up by the flood.
    assert_eq!(get_with(addr, "/me", &clerk.session_token(USER_ID, None)).await.0, 200);
    assert_eq!(clerk.stats().jwks_fetches, 1);
}

#[tokio::test]
async fn cached_keys_keep_serving_while_clerk_is_down() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_jwks_refetch_interval(Duration::ZERO).with_jwks_ttl(Duration::ZERO)).await;
    assert_eq!(get_with(addr, "/me", &clerk.session_token(USER_ID, None)).await.0, 200);
    clerk.set_jwks_fault(Some(Fault::Down));
    clerk.set_fault(Some(Fault::Down));
    for _ in 0..3 {
        // Every request finds the keys past their TTL and tries a refresh, which fails.
        let fresh = clerk.session_token(USER_ID, None);
        assert_eq!(get_with(addr, "/me", &fresh).await.0, 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(clerk.stats().jwks_fetches >= 2, "refreshes were attempted");
}

#[tokio::test]
async fn without_any_keys_the_answer_is_503_until_clerk_is_back() {
    let clerk = clerk().await;
    clerk.set_jwks_fault(Some(Fault::ServerError(503)));
    let addr = serve(config(&clerk).with_jwks_refetch_interval(Duration::from_millis(100))).await;
    let token = clerk.session_token(USER_ID, None);
    let response = http().get(format!("http://{addr}/2/footprints")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "10");
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "InternalError");
    clerk.set_jwks_fault(None);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(get_with(addr, "/me", &token).await.0, 200);
}

#[tokio::test]
async fn a_pem_key_verifies_without_any_network() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_jwt_key(&clerk.public_key_pem()).unwrap()).await;
    assert_eq!(get_with(addr, "/me", &clerk.session_token(USER_ID, None)).await.0, 200);
    let (status, jwks) = json_of(http().get(format!("http://{addr}/jwks")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["n"], clerk.jwks()["keys"][0]["n"]);
    let other = FakeClerk::builder().start().await;
    let foreign = other.sign_claims(session_claims(&clerk, json!({})));
    assert_eq!(refusal(addr, &foreign).await.0, 400);
    assert_eq!(clerk.stats().jwks_fetches, 0);
}

#[tokio::test]
async fn a_client_that_gives_up_does_not_cancel_the_key_fetch_for_everyone() {
    let clerk = clerk().await;
    clerk.set_latency(Duration::from_millis(400));
    let addr = serve(config(&clerk)).await;
    let token = clerk.session_token(USER_ID, None);
    let impatient =
        http().get(format!("http://{addr}/me")).bearer_auth(&token).timeout(Duration::from_millis(100)).send().await;
    assert!(impatient.is_err(), "the client gave up while the keys were fetched");
    tokio::time::sleep(Duration::from_millis(500)).await;
    clerk.set_latency(Duration::ZERO);
    assert_eq!(get_with(addr, "/me", &token).await.0, 200, "the fetch finished without its caller");
    assert_eq!(clerk.stats().jwks_fetches, 1);
}
