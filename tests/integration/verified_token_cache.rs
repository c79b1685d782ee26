//! The verified-token cache is a cache, never a back door: expiry is checked on every hit, a
//! token whose key left the JWKS is forgotten, and a token one byte off is verified from scratch.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

fn claims(clerk: &clerk_basic_auth::testing::FakeClerk, exp: u64) -> serde_json::Value {
    let now = unix_now();
    json!({"sub": USER_ID, "sid": "sess_cache", "iss": clerk.url(), "iat": now, "nbf": now - 10, "exp": exp, "v": 2})
}

#[tokio::test]
async fn a_cached_token_is_refused_once_it_expires() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_leeway(Duration::ZERO)).await;
    let token = clerk.sign_claims(claims(&clerk, unix_now() + 2));
    assert_eq!(get_with(addr, "/me", &token).await.0, 200);
    assert_eq!(get_with(addr, "/me", &token).await.0, 200, "served from the cache");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, body) = get_with(addr, "/me", &token).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("TokenExpired")));
}

#[tokio::test]
async fn a_cached_token_is_refused_once_its_key_leaves_the_jwks() {
    let clerk = clerk().await;
    let ttl = Duration::from_millis(200);
    let addr = serve(config(&clerk).with_jwks_ttl(ttl).with_jwks_refetch_interval(Duration::ZERO)).await;
    let token = clerk.session_token(USER_ID, None);
    assert_eq!(get_with(addr, "/me", &token).await.0, 200);
    clerk.rotate_signing_key(false);
    tokio::time::sleep(ttl * 2).await;
    // This request finds the keys past their TTL and starts a refresh; it may still pass.
    get_with(addr, "/me", &token).await;
    let mut refused = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (status, body) = get_with(addr, "/me", &token).await;
        if status != 200 {
            refused = Some((status, body["message"].as_str().unwrap_or_default().to_owned()));
            break;
        }
    }
    assert_eq!(refused, Some((400, "the access token is signed with an unknown key".to_owned())));
    assert_eq!(get_with(addr, "/me", &clerk.session_token(USER_ID, None)).await.0, 200, "the new key works");
}

#[tokio::test]
async fn a_token_one_byte_off_a_cached_one_is_verified_from_scratch() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let token = clerk.session_token(USER_ID, None);
    assert_eq!(get_with(addr, "/me", &token).await.0, 200);
    let signature_start = token.rfind('.').unwrap() + 1;
    for position in [signature_start + 20, token.find('.').unwrap() + 10, 5] {
        let mut bytes = token.clone().into_bytes();
        bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(bytes).unwrap();
        let (status, body) = get_with(addr, "/me", &forged).await;
        assert_eq!(status, 400, "byte {position}: {body}");
    }
    assert_eq!(get_with(addr, "/me", &token).await.0, 200, "the genuine token still passes");
}
