//! Native client tokens: Clerk may hand back a new one in any answer's `Authorization` header
//! and refuses the old one from then on, may drop the client (an empty header), and refuses a
//! client token it did not issue. The fake rotates on every call on a session by default.

use std::time::{Duration, Instant};

use clerk_basic_auth::testing::FakeClerk;

use crate::common::*;

/// Signs the demo user in on a new client: (client token, session id).
async fn signed_in(clerk: &FakeClerk) -> (String, String) {
    let answer = password_sign_in(clerk, USER, PASSWORD).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let sid = answer.body["response"]["created_session_id"].as_str().unwrap().to_owned();
    (answer.client_token.unwrap(), sid)
}

#[tokio::test]
async fn the_fake_rotates_client_tokens_and_refuses_the_old_ones() {
    let clerk = clerk().await;
    let (first, sid) = signed_in(&clerk).await;
    let tokens = format!("/v1/client/sessions/{sid}/tokens");
    let answer = fapi_post(clerk.url(), &tokens, Some(&first), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let second = answer.client_token.unwrap();
    assert_ne!(second, first, "a new client token");
    fapi_post(clerk.url(), &tokens, Some(&first), &[]).await.assert_error(401, "authentication_invalid");
    let touch = format!("/v1/client/sessions/{sid}/touch");
    let touched = fapi_post(clerk.url(), &touch, Some(&second), &[("active_organization_id", ORG)]).await;
    assert_eq!(touched.status, 200, "{}", touched.body);
    let third = touched.client_token.unwrap();
    assert_ne!(third, second);
    assert_eq!(touched.body["client"]["sessions"][0]["id"], sid.as_str(), "the same client");
    // A refused call rotates nothing.
    let refused = fapi_post(clerk.url(), &touch, Some(&third), &[("active_organization_id", "org_missing")]).await;
    refused.assert_error(404, "organization_not_found_or_unauthorized");
    assert!(refused.client_token.is_none());
    assert_eq!(fapi_post(clerk.url(), &tokens, Some(&third), &[]).await.status, 200);

    let form = [("strategy", "password"), ("identifier", "member@way.cloud"), ("password", "MemberPassword1")];
    fapi_post(clerk.url(), "/v1/client/sign_ins", Some(&first), &form)
        .await
        .assert_error(401, "authentication_invalid");
    assert_eq!(clerk.stats().client_token_rotations, 3);
    let handed_out = clerk.client_tokens();
    for token in [&first, &second, &third] {
        assert!(handed_out.contains(token), "client_tokens() lists rotated-away tokens too");
    }
}

#[tokio::test]
async fn the_fake_rotates_every_nth_call_or_never() {
    let clerk = clerk_builder().client_token_rotation(3).start().await;
    let (mut token, sid) = signed_in(&clerk).await;
    let path = format!("/v1/client/sessions/{sid}/tokens");
    let mut rotations = Vec::new();
    for _ in 0..6 {
        let answer = fapi_post(clerk.url(), &path, Some(&token), &[]).await;
        let next = answer.client_token.unwrap();
        rotations.push(next != token);
        token = next;
    }
    assert_eq!(rotations, [false, false, true, false, false, true]);

    let never = clerk_builder().client_token_rotation(0).start().await;
    let (token, sid) = signed_in(&never).await;
    for _ in 0..3 {
        let answer = fapi_post(never.url(), &format!("/v1/client/sessions/{sid}/tokens"), Some(&token), &[]).await;
        assert_eq!(answer.client_token.as_deref(), Some(token.as_str()));
    }
}

#[tokio::test]
async fn an_unknown_client_token_is_refused_on_sign_in() {
    let clerk = clerk().await;
    let form = [("strategy", "password"), ("identifier", USER), ("password", PASSWORD)];
    let answer = fapi_post(clerk.url(), "/v1/client/sign_ins", Some("not-a-client"), &form).await;
    answer.assert_error(401, "authentication_invalid");
    assert!(answer.client_token.is_none());
    assert_eq!(clerk.stats().sign_ins, 0);
}

#[tokio::test]
async fn a_dropped_client_answers_an_empty_client_token_and_ends_its_sessions() {
    let clerk = clerk().await;
    let (token, sid) = signed_in(&clerk).await;
    clerk.set_drop_clients(true);
    let path = format!("/v1/client/sessions/{sid}/tokens");
    let dropped = fapi_post(clerk.url(), &path, Some(&token), &[]).await;
    assert_eq!(dropped.status, 200, "{}", dropped.body);
    assert_eq!(dropped.client_token.as_deref(), Some(""), "an empty Authorization header");
    assert!(dropped.body["jwt"].is_string(), "the token in the answer is still good");
    fapi_post(clerk.url(), &path, Some(&token), &[]).await.assert_error(401, "authentication_invalid");
}

#[tokio::test]
async fn the_layer_keeps_working_across_client_token_rotations() {
    let clerk = clerk_builder().token_lifetime(Duration::from_secs(2)).start().await;
    let addr = serve(config(&clerk).with_organization(ORG).with_refresh_margin(Duration::from_secs(1))).await;
    let started = Instant::now();
    let mut tokens = Vec::new();
    while started.elapsed() < Duration::from_secs(5) {
        let token = access_token(addr, USER, PASSWORD).await;
        assert_eq!(get_with(addr, "/me", &token).await.0, 200);
        tokens.push(token);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokens.dedup();
    let stats = clerk.stats();
    assert!(tokens.len() >= 4, "{} tokens", tokens.len());
    assert_eq!(stats.sign_ins, 1, "no new sign-in: the rotated client token was taken every time: {stats:?}");
    assert!(stats.client_token_rotations >= 4, "{stats:?}");
    assert_eq!(stats.client_token_rotations, stats.touches + stats.token_mints, "every call rotated: {stats:?}");
}

#[tokio::test]
async fn a_dropped_client_leads_to_exactly_one_new_sign_in() {
    let clerk = clerk_builder().token_lifetime(Duration::from_secs(2)).start().await;
    let addr = serve(config(&clerk).with_refresh_margin(Duration::from_secs(1))).await;
    let first = access_token(addr, USER, PASSWORD).await;
    clerk.set_drop_clients(true);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let from_dropped = access_token(addr, USER, PASSWORD).await;
    assert_ne!(from_dropped, first, "the token that came with the dropped client is handed out");
    assert_eq!(claims_of(&from_dropped)["sid"], claims_of(&first)["sid"]);
    clerk.set_drop_clients(false);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for token in concurrent_access_tokens(addr, USER, PASSWORD, 5).await {
        assert_ne!(claims_of(&token)["sid"], claims_of(&first)["sid"], "a new session on a new client");
    }
    let stats = clerk.stats();
    assert_eq!(stats.sign_ins, 2, "{stats:?}");
    assert_eq!(stats.token_mints, 1, "no call with the dropped client's token: {stats:?}");
}
