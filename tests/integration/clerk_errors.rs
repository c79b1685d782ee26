//! Each class of Clerk refusal the fake can give, through the token endpoint: its status, and
//! whether it counts against the layer's failure budget (only wrong credentials do). The budget
//! is 2 failures per identifier here; different passwords are different credentials, so each
//! request reaches Clerk (a refusal is remembered per credential only).

use std::time::Duration;

use clerk_basic_auth::ClerkBasicAuthConfig;
use serde_json::Value;

use crate::common::*;

fn budget_of_two(config: ClerkBasicAuthConfig) -> ClerkBasicAuthConfig {
    config.with_failure_throttle(2, Duration::from_secs(60))
}

/// Token requests for `USER` with four different passwords: their statuses and descriptions.
async fn four_tries(addr: std::net::SocketAddr) -> Vec<(u16, Value)> {
    let mut answers = Vec::new();
    for attempt in 0..4 {
        answers.push(json_of(token_request(addr, USER, &format!("{PASSWORD}-{attempt}")).send().await.unwrap()).await);
    }
    answers
}

#[tokio::test]
async fn requires_captcha_is_a_500_server_error_that_does_not_count() {
    let clerk = clerk().await;
    clerk.set_requires_captcha(true);
    let addr = serve(budget_of_two(config(&clerk))).await;
    let answer = password_sign_in(&clerk, USER, PASSWORD).await;
    answer.assert_error(401, "requires_captcha");
    for (status, body) in four_tries(addr).await {
        assert_eq!((status, body["error"].as_str()), (500, Some("server_error")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("CAPTCHA"), "{body}");
    }
    clerk.set_requires_captcha(false);
    assert_eq!(access_token(addr, USER, PASSWORD).await.split('.').count(), 3, "the budget is untouched");
}

#[tokio::test]
async fn a_disabled_native_api_is_a_500_server_error_that_does_not_count() {
    let clerk = clerk_builder().native_api(false).start().await;
    password_sign_in(&clerk, USER, PASSWORD).await.assert_error(400, "native_api_disabled");
    let addr = serve(budget_of_two(config(&clerk))).await;
    for (status, body) in four_tries(addr).await {
        assert_eq!((status, body["error"].as_str()), (500, Some("server_error")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("Native API"), "{body}");
    }
    assert_eq!(clerk.stats().sign_in_attempts, 5, "never throttled");
}

#[tokio::test]
async fn under_enumeration_protection_wrong_credentials_are_401_invalid_client_and_count() {
    let clerk = clerk_builder().enumeration_protection(true).start().await;
    password_sign_in(&clerk, USER, "wrong").await.assert_error(422, "form_password_or_identifier_incorrect");
    password_sign_in(&clerk, "nobody@way.cloud", "wrong")
        .await
        .assert_error(422, "form_password_or_identifier_incorrect");
    let addr = serve(budget_of_two(config(&clerk))).await;
    let answers = four_tries(addr).await;
    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [401, 401, 429, 429], "{answers:?}");
    assert!(answers[0].1["error_description"].as_str().unwrap().contains("client_id or the password"));
    let (status, unknown) = json_of(token_request(addr, "nobody@way.cloud", "wrong").send().await.unwrap()).await;
    assert_eq!((status, unknown["error_description"].clone()), (401, answers[0].1["error_description"].clone()));
}

#[tokio::test]
async fn a_wrong_secret_key_is_a_500_naming_clerk_secret_key_that_does_not_count() {
    let clerk = clerk().await;
    let config = config(&clerk)
        .with_secret_key("sk_test_NotTheInstancesKey0000000000000000000000")
        .unwrap()
        .with_backend_api_url(&clerk.backend_api_url())
        .unwrap();
    let addr = serve(budget_of_two(config)).await;
    for (status, body) in four_tries(addr).await {
        assert_eq!((status, body["error"].as_str()), (500, Some("server_error")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("CLERK_SECRET_KEY"), "{body}");
    }
    assert_eq!(clerk.stats().user_lists, 4);
}

#[tokio::test]
async fn a_null_last_active_token_is_made_up_for_with_a_tokens_call() {
    let clerk = clerk().await;
    clerk.set_omit_last_active_token(true);
    let answer = password_sign_in(&clerk, USER, PASSWORD).await;
    assert_eq!(answer.body["client"]["sessions"][0]["last_active_token"], Value::Null, "{}", answer.body);
    for config in [config(&clerk), config(&clerk).with_organization(ORG)] {
        let addr = serve(config).await;
        let token = access_token(addr, USER, PASSWORD).await;
        assert_eq!(get_with(addr, "/me", &token).await.0, 200);
    }
    let stats = clerk.stats();
    assert_eq!((stats.sign_ins, stats.touches, stats.token_mints), (3, 1, 2), "{stats:?}");
}

#[tokio::test]
async fn a_signed_out_session_leads_to_one_new_sign_in_and_does_not_count() {
    let clerk = clerk_builder().token_lifetime(Duration::from_secs(2)).start().await;
    let addr = serve(budget_of_two(config(&clerk)).with_refresh_margin(Duration::from_secs(1))).await;
    for round in 0..3 {
        let token = access_token(addr, USER, PASSWORD).await;
        assert_eq!(clerk.revoke_sessions(USER), 1, "round {round}");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_ne!(access_token(addr, USER, PASSWORD).await, token, "round {round}");
        assert_eq!(clerk.revoke_sessions(USER), 1, "round {round}");
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let stats = clerk.stats();
    assert_eq!(stats.sign_ins, 6, "each signed-out session cost one sign-in, never a throttle: {stats:?}");
}

#[tokio::test]
async fn with_the_secret_key_wrong_credentials_are_401_invalid_client_and_count() {
    let clerk = clerk().await;
    let addr = serve(budget_of_two(secret_config(&clerk))).await;
    let statuses: Vec<u16> = four_tries(addr).await.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [401, 401, 429, 429]);
    let stats = clerk.stats();
    assert_eq!((stats.password_checks, stats.sign_in_token_requests), (2, 0), "{stats:?}");
}

#[tokio::test]
async fn a_user_step_such_as_device_trust_is_401_invalid_client_and_does_not_count() {
    let clerk = clerk_builder().device_trust(true).start().await;
    let addr = serve(budget_of_two(config(&clerk))).await;
    let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("Device Trust"), "{body}");
    let statuses: Vec<u16> = four_tries(addr).await.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [401, 401, 429, 429], "the Device Trust refusal left both failures of the budget");
}
