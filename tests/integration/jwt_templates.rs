//! JWT templates through the layer: template tokens handed out and accepted, refreshed from the
//! session, and a missing template answered as a misconfiguration without a sign-in storm.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn template_tokens_from_the_token_endpoint_are_accepted_on_protected_routes() {
    // The organization in Clerk's v1 claims, which the layer reads (the common "pact" template
    // names it in a claim of its own).
    let template =
        json!({"aud": "pact", "org_id": "{{org.id}}", "org_slug": "{{org.slug}}", "org_role": "{{org.role}}"});
    let clerk = clerk_builder().jwt_template("pact-org", template, Duration::from_secs(3600)).start().await;
    let addr = serve(config(&clerk).with_organization(ORG).with_jwt_template("pact-org")).await;
    let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(header_of(token)["cat"], "cl_B7d4PD222AAA");
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert!((3590..=3600).contains(&expires_in), "the template's hour: {expires_in}");
    let (status, me) = get_with(addr, "/me", token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!((me["user_id"].as_str(), me["aud"].as_str()), (Some(USER_ID), Some("pact")));
    assert_eq!(me["session_id"], serde_json::Value::Null);
    assert_eq!(
        (me["organization"]["id"].as_str(), me["organization"]["role"].as_str()),
        (Some(ORG), Some("org:admin"))
    );
    let stats = clerk.stats();
    assert_eq!((stats.sign_ins, stats.touches, stats.token_mints), (1, 1, 1), "{stats:?}");
}

#[tokio::test]
async fn template_tokens_are_refreshed_from_the_same_session() {
    let clerk = clerk_builder().jwt_template("short", json!({"aud": "short"}), Duration::from_secs(3)).start().await;
    let addr = serve(config(&clerk).with_jwt_template("short").with_refresh_margin(Duration::from_secs(1))).await;
    let started = Instant::now();
    let mut tokens = Vec::new();
    while started.elapsed() < Duration::from_secs(5) {
        tokens.push(access_token(addr, USER, PASSWORD).await);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokens.dedup();
    assert!(tokens.len() >= 2, "{} tokens", tokens.len());
    let stats = clerk.stats();
    assert_eq!(stats.sign_ins, 1, "{stats:?}");
    assert_eq!(stats.token_mints as usize, tokens.len(), "one template call per token handed out: {stats:?}");
}

#[tokio::test]
async fn a_missing_template_is_a_500_naming_clerk_jwt_template_without_a_sign_in_storm() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_jwt_template("nope")).await;
    for attempt in 1..=10 {
        let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (500, Some("server_error")), "attempt {attempt}: {body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains("CLERK_JWT_TEMPLATE"), "attempt {attempt}: {description}");
    }
    let stats = clerk.stats();
    assert!(stats.sign_in_attempts <= 2, "at most 2 sign-ins for 10 token requests: {stats:?}");
    // Another credential is told the same after its own single try.
    let (status, _) = json_of(token_request(addr, "member@way.cloud", "MemberPassword1").send().await.unwrap()).await;
    assert_eq!(status, 500);
}

#[tokio::test]
async fn the_fake_answers_a_missing_template_as_a_missing_session() {
    let clerk = clerk().await;
    let signed_in = password_sign_in(&clerk, USER, PASSWORD).await;
    let sid = signed_in.body["response"]["created_session_id"].as_str().unwrap().to_owned();
    let token = signed_in.client_token.unwrap();
    let missing_template =
        fapi_post(clerk.url(), &format!("/v1/client/sessions/{sid}/tokens/nope"), Some(&token), &[]).await;
    missing_template.assert_error(404, "resource_not_found");
    let missing_session =
        fapi_post(clerk.url(), "/v1/client/sessions/sess_unknown/tokens/pact", Some(&token), &[]).await;
    missing_session.assert_error(404, "resource_not_found");
    assert!(missing_template.body["errors"][0]["long_message"].as_str().unwrap().contains("JWT template"));
    assert!(missing_session.body["errors"][0]["long_message"].as_str().unwrap().contains("session"));
}
