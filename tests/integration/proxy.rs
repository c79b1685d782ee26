//! Clerk behind a proxy: the fake serves its Frontend API only under `/__clerk`, while its
//! tokens keep the instance's own host as `iss`; the layer sends its calls to the proxy and
//! expects the instance's issuer.

use clerk_basic_auth::ClerkBasicAuthConfig;
use clerk_basic_auth::testing::FakeClerk;
use serde_json::json;

use crate::common::*;

async fn proxied_clerk() -> FakeClerk {
    clerk_builder().proxy_path("/__clerk").start().await
}

#[tokio::test]
async fn the_fake_serves_its_frontend_api_under_the_proxy_path_only() {
    let clerk = proxied_clerk().await;
    assert_eq!(clerk.proxy_url(), format!("{}/__clerk", clerk.url()));
    let form = [("strategy", "password"), ("identifier", USER), ("password", PASSWORD)];
    let proxied = fapi_post(&clerk.proxy_url(), "/v1/client/sign_ins", Some(""), &form).await;
    assert_eq!(proxied.status, 200, "{}", proxied.body);
    let jwt = proxied.body["client"]["sessions"][0]["last_active_token"]["jwt"].as_str().unwrap();
    assert_eq!(claims_of(jwt)["iss"], clerk.url(), "the issuer is the instance's host, not the proxy");
    fapi_post(clerk.url(), "/v1/client/sign_ins", Some(""), &form).await.assert_error(404, "resource_not_found");
    let jwks = http().get(format!("{}/.well-known/jwks.json", clerk.proxy_url())).send().await.unwrap();
    assert_eq!(jwks.status(), 200);
    let root_jwks = http().get(format!("{}/.well-known/jwks.json", clerk.url())).send().await.unwrap();
    assert_eq!(root_jwks.status(), 404);
    assert_eq!(clerk.stats().sign_ins, 1);
}

#[tokio::test]
async fn behind_a_proxy_the_layer_mints_tokens_its_protected_routes_accept() {
    let clerk = proxied_clerk().await;
    let config = config(&clerk).with_proxy_url(&clerk.proxy_url()).unwrap();
    assert_eq!(config.issuer(), clerk.url());
    let addr = serve(config).await;
    let token = access_token(addr, USER, PASSWORD).await;
    assert_eq!(claims_of(&token)["iss"], clerk.url());
    let (status, me) = get_with(addr, "/me", &token).await;
    assert_eq!((status, me["user_id"].as_str()), (200, Some(USER_ID)), "{me}");
    let stats = clerk.stats();
    assert_eq!((stats.sign_ins, stats.jwks_fetches), (1, 1), "sign-in and keys through the proxy: {stats:?}");

    // A token whose iss is the proxy (or anything but the instance) is refused.
    for iss in [clerk.proxy_url(), "https://evil.example.com".to_owned()] {
        let forged = clerk.sign_claims(session_claims(&clerk, json!({"iss": iss})));
        let (status, message) = refusal(addr, &forged).await;
        assert_eq!(status, 400, "{iss}: {message}");
        assert!(message.contains("not issued by"), "{iss}: {message}");
    }
}

#[tokio::test]
async fn a_publishable_key_with_the_instance_issuer_and_the_secret_key_work_behind_a_proxy() {
    let clerk = clerk_builder().device_trust(true).proxy_path("/__clerk").start().await;
    // The key names the instance's host (and means https://); the fake speaks http, so the
    // issuer is given as well.
    let config = ClerkBasicAuthConfig::from_publishable_key(clerk.publishable_key())
        .unwrap()
        .with_issuer(clerk.url())
        .with_proxy_url(&clerk.proxy_url())
        .unwrap()
        .with_secret_key(clerk.secret_key())
        .unwrap()
        .with_backend_api_url(&clerk.backend_api_url())
        .unwrap();
    assert_eq!(config.frontend_api_url(), clerk.proxy_url());
    let addr = serve(config).await;
    let token = access_token(addr, USER, PASSWORD).await;
    assert_eq!(get_with(addr, "/me", &token).await.0, 200);
    let stats = clerk.stats();
    assert_eq!((stats.sign_in_token_requests, stats.sign_ins, stats.client_trust_prompts), (1, 1, 0), "{stats:?}");
}

#[tokio::test]
async fn a_layer_that_ignores_the_proxy_gets_no_token() {
    let clerk = proxied_clerk().await;
    let addr = serve(config(&clerk)).await;
    let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
    assert_ne!(status, 200, "{body}");
    assert_eq!(clerk.stats().sign_ins, 0);
}
