//! Clerk's Device Trust, on by default for applications created after 2025-11-14: the fake
//! answers a password sign-in on a new client `needs_client_trust`, and the layer either refuses
//! clearly (no secret key) or signs in through the Backend API (with the secret key).

use std::time::Duration;

use clerk_basic_auth::testing::{FakeClerk, FakeUser};
use serde_json::Value;

use crate::common::*;

/// Clerk's default for a new application: Device Trust on. A user who bypasses it, and a banned
/// one, join the usual users.
async fn trusting_clerk() -> FakeClerk {
    clerk_builder()
        .device_trust(true)
        .user(FakeUser::new("bypass@way.cloud", "BypassPassword1").id("user_bypass").bypass_client_trust())
        .user(FakeUser::new("banned@way.cloud", "BannedPassword1").id("user_banned").banned())
        .start()
        .await
}

#[tokio::test]
async fn the_fake_answers_a_password_sign_in_on_a_new_client_with_needs_client_trust() {
    let clerk = trusting_clerk().await;
    let answer = password_sign_in(&clerk, USER, PASSWORD).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.client_token.as_deref().is_some_and(|token| !token.is_empty()), "a client was created");
    let sign_in = &answer.body["response"];
    assert_eq!(sign_in["status"], "needs_client_trust");
    assert_eq!(sign_in["client_trust_state"], "new");
    assert_eq!(sign_in["created_session_id"], Value::Null);
    assert_eq!(sign_in["supported_second_factors"][0]["strategy"], "email_code");
    assert_eq!(answer.body["client"]["sessions"], serde_json::json!([]));

    // A wrong password is still just wrong; MFA wins over client trust.
    password_sign_in(&clerk, USER, "wrong").await.assert_error(422, "form_password_incorrect");
    let mfa = password_sign_in(&clerk, "mfa@way.cloud", "MfaPassword1").await;
    assert_eq!(mfa.body["response"]["status"], "needs_second_factor");
    // A user with bypass_client_trust completes.
    let bypass = password_sign_in(&clerk, "bypass@way.cloud", "BypassPassword1").await;
    assert_eq!(bypass.body["response"]["status"], "complete", "{}", bypass.body);
    let stats = clerk.stats();
    assert_eq!((stats.client_trust_prompts, stats.sign_ins, stats.sessions_created), (1, 1, 1));
}

#[tokio::test]
async fn a_ticket_sign_in_is_not_subject_to_device_trust_and_makes_the_client_known() {
    let clerk = trusting_clerk().await;
    let ticket = sign_in_token(&clerk, USER_ID, 60).await;
    let answer = ticket_sign_in(&clerk, &ticket).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["response"]["status"], "complete");
    assert_eq!(answer.body["response"]["first_factor_verification"]["strategy"], "ticket");
    let client_token = answer.client_token.unwrap();
    let sid = answer.body["response"]["created_session_id"].as_str().unwrap().to_owned();

    // On the same client, once its session is gone, a password completes: a known device.
    assert_eq!(clerk.revoke_sessions(USER), 1);
    let form = [("strategy", "password"), ("identifier", USER), ("password", PASSWORD)];
    let again = fapi_post(clerk.url(), "/v1/client/sign_ins", Some(&client_token), &form).await;
    assert_eq!(again.body["response"]["status"], "complete", "{}", again.body);
    assert_ne!(again.body["response"]["created_session_id"], sid.as_str());
    // Another user on that client is on a new device all the same.
    let other = fapi_post(
        clerk.url(),
        "/v1/client/sign_ins",
        Some(&client_token),
        &[("strategy", "password"), ("identifier", "member@way.cloud"), ("password", "MemberPassword1")],
    )
    .await;
    assert_eq!(other.body["response"]["status"], "needs_client_trust", "{}", other.body);
}

#[tokio::test]
async fn with_device_trust_off_a_password_completes_on_a_new_client() {
    let clerk = clerk().await;
    let answer = password_sign_in(&clerk, USER, PASSWORD).await;
    assert_eq!(answer.body["response"]["status"], "complete", "{}", answer.body);
    assert_eq!(clerk.stats().client_trust_prompts, 0);
}

#[tokio::test]
async fn without_a_secret_key_device_trust_is_a_clear_refusal_that_is_neither_throttled_nor_retried() {
    let clerk = trusting_clerk().await;
    let addr = serve(config(&clerk)).await;
    for attempt in 1..=10 {
        let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "attempt {attempt}: {body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains("Device Trust"), "attempt {attempt}: {description}");
        assert!(description.contains("CLERK_SECRET_KEY"), "attempt {attempt}: {description}");
    }
    let stats = clerk.stats();
    assert_eq!(stats.sign_in_attempts, 1, "the refusal is remembered per credential: {stats:?}");
    assert_eq!(stats.client_trust_prompts, 1);

    // Other credentials are not answered from that memory: each asks Clerk once.
    let (status, body) =
        json_of(token_request(addr, "member@way.cloud", "MemberPassword1").send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    assert_eq!(clerk.stats().sign_in_attempts, 2);
    let token = access_token(addr, "bypass@way.cloud", "BypassPassword1").await;
    assert_eq!(claims_of(&token)["sub"], "user_bypass");
    assert_eq!(clerk.stats().sign_in_attempts, 3);
}

#[tokio::test]
async fn with_the_secret_key_device_trust_does_not_stop_the_sign_in() {
    let clerk = trusting_clerk().await;
    let addr = serve(secret_config(&clerk)).await;
    let token = access_token(addr, USER, PASSWORD).await;
    let claims = claims_of(&token);
    assert_eq!(claims["sub"], USER_ID);
    assert_eq!(claims["iss"], clerk.url());
    assert!(claims["sid"].as_str().unwrap().starts_with("sess_"));
    let (status, me) = get_with(addr, "/me", &token).await;
    assert_eq!((status, me["user_id"].as_str()), (200, Some(USER_ID)), "{me}");
    let stats = clerk.stats();
    assert_eq!(
        (stats.user_lists, stats.password_checks, stats.sign_in_token_requests, stats.sign_in_attempts, stats.sign_ins),
        (1, 1, 1, 1, 1),
        "{stats:?}"
    );
    assert_eq!(stats.client_trust_prompts, 0);
    // The cached token is handed out again without a call to Clerk.
    assert_eq!(access_token(addr, USER, PASSWORD).await, token);
    assert_eq!(clerk.stats().user_lists, 1);
}

#[tokio::test]
async fn with_the_secret_key_a_wrong_password_and_an_unknown_user_are_the_same_invalid_client() {
    let clerk = trusting_clerk().await;
    let addr = serve(secret_config(&clerk)).await;
    let (status, wrong) = json_of(token_request(addr, USER, "wrong-password").send().await.unwrap()).await;
    assert_eq!((status, wrong["error"].as_str()), (401, Some("invalid_client")), "{wrong}");
    let (status, unknown) = json_of(token_request(addr, "nobody@way.cloud", "whatever-1").send().await.unwrap()).await;
    assert_eq!((status, unknown["error"].as_str()), (401, Some("invalid_client")), "{unknown}");
    assert_eq!(wrong["error_description"], unknown["error_description"], "no telling which identifiers exist");
    let stats = clerk.stats();
    assert_eq!((stats.user_lists, stats.password_checks), (2, 1), "{stats:?}");
    assert_eq!((stats.sign_in_token_requests, stats.sign_in_attempts), (0, 0), "{stats:?}");
}

#[tokio::test]
async fn with_the_secret_key_users_with_mfa_a_lock_or_a_ban_are_refused() {
    let clerk = trusting_clerk().await;
    let addr = serve(secret_config(&clerk)).await;
    for (user, password, reason) in [
        ("mfa@way.cloud", "MfaPassword1", "multi-factor"),
        ("locked@way.cloud", "LockedPassword1", "locked"),
        ("banned@way.cloud", "BannedPassword1", "banned"),
    ] {
        let (status, body) = json_of(token_request(addr, user, password).send().await.unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{user}: {body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(reason), "{user}: {description}");
    }
    let stats = clerk.stats();
    assert_eq!((stats.sign_in_token_requests, stats.sign_in_attempts), (0, 0), "no ticket for them: {stats:?}");
}

#[tokio::test]
async fn with_the_secret_key_the_layer_stops_before_clerks_lockout_and_the_owner_still_gets_in() {
    let clerk = clerk_builder().device_trust(true).lockout_threshold(3).start().await;
    let addr = serve(secret_config(&clerk).with_failure_throttle(10, Duration::from_secs(60))).await;
    access_token(addr, USER, PASSWORD).await;
    clerk.revoke_sessions(USER);
    // Clerk counts the first wrong password (3 attempts left, then 2) ...
    let response = token_request(addr, USER, "wrong-0").send().await.unwrap();
    assert_eq!(response.status(), 401);
    // ... with 2 left, one more credential per failure window (the owner's chance to get in) ...
    let response = token_request(addr, USER, "wrong-1").send().await.unwrap();
    assert_eq!(response.status(), 401);
    // ... and no other within it.
    for attempt in 2..6 {
        let response = token_request(addr, USER, &format!("wrong-{attempt}")).send().await.unwrap();
        assert_eq!(response.status(), 429, "attempt {attempt}");
    }
    assert_eq!(clerk.stats().password_checks, 3, "the owner's sign-in and two wrong passwords reached Clerk");
    // The credential that last succeeded still gets in, and Clerk never locked the user.
    let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn twenty_concurrent_requests_for_one_credential_make_exactly_one_sign_in_token() {
    let clerk = trusting_clerk().await;
    clerk.set_latency(Duration::from_millis(100));
    let addr = serve(secret_config(&clerk)).await;
    let mut tokens = concurrent_access_tokens(addr, USER, PASSWORD, 20).await;
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "everyone got the one token");
    let stats = clerk.stats();
    assert_eq!(
        (stats.user_lists, stats.password_checks, stats.sign_in_token_requests, stats.sign_ins),
        (1, 1, 1, 1),
        "{stats:?}"
    );
}
