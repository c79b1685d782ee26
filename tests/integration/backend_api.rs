//! The fake's Backend API against Clerk's spec (`bapi/2026-05-12.yml`) and error catalogue: the
//! secret key on every call, users by e-mail address or username, `verify_password` and its
//! lockout, sign-in tokens redeemed once by a ticket sign-in, the rate limit and faults.

use std::time::Duration;

use clerk_basic_auth::testing::{FakeClerk, FakeUser, Fault};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

async fn backend_clerk() -> FakeClerk {
    clerk_builder()
        .user(FakeUser::new("named@way.cloud", "NamedPassword1").id("user_named").username("named-one"))
        .user(FakeUser::new("nopass@way.cloud", "unused").id("user_nopass").without_password())
        .user(FakeUser::new("bypass@way.cloud", "BypassPassword1").id("user_bypass").bypass_client_trust())
        .user(FakeUser::new("banned@way.cloud", "BannedPassword1").id("user_banned").banned())
        .start()
        .await
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    Answer::read(request.send().await.unwrap()).await
}

async fn users(clerk: &FakeClerk, query: &str) -> Answer {
    send(bapi(clerk, Method::GET, &format!("/v1/users{query}"))).await
}

async fn verify_password(clerk: &FakeClerk, user_id: &str, body: Value) -> Answer {
    send(bapi(clerk, Method::POST, &format!("/v1/users/{user_id}/verify_password")).json(&body)).await
}

#[tokio::test]
async fn every_backend_api_call_needs_the_secret_key() {
    let clerk = backend_clerk().await;
    let key = clerk.secret_key();
    assert!(key.starts_with("sk_test_") && key.len() == 48, "{key}");
    assert!(key["sk_test_".len()..].bytes().all(|b| b.is_ascii_alphanumeric()), "{key}");
    assert_ne!(clerk.backend_api_url(), clerk.url(), "the Backend API has its own address");

    let url = format!("{}/v1/users?email_address={USER}", clerk.backend_api_url());
    send(http().get(&url)).await.assert_error(401, "authorization_header_format_invalid");
    send(http().get(&url).header("authorization", key)).await.assert_error(401, "authorization_header_format_invalid");
    send(http().get(&url).basic_auth("x", Some(key))).await.assert_error(401, "authorization_header_format_invalid");
    send(http().get(&url).bearer_auth("sk_test_0000000000")).await.assert_error(401, "clerk_key_invalid");
    let other = FakeClerk::builder().start().await;
    send(http().get(&url).bearer_auth(other.secret_key())).await.assert_error(401, "clerk_key_invalid");
    assert_eq!(send(http().get(&url).bearer_auth(key)).await.status, 200);
    assert_eq!(clerk.stats().user_lists, 6, "every request is counted, refused or not");

    // Each API on its own port: no Backend API on the Frontend API's, and the other way round.
    let on_frontend = send(http().get(format!("{}/v1/users?email_address={USER}", clerk.url())).bearer_auth(key)).await;
    on_frontend.assert_error(404, "resource_not_found");
    let form = [("strategy", "password"), ("identifier", USER), ("password", PASSWORD)];
    let on_backend = fapi_post(&clerk.backend_api_url(), "/v1/client/sign_ins", Some(""), &form).await;
    assert_eq!(on_backend.status, 401, "the Backend API wants its key first: {}", on_backend.body);
    assert_eq!(clerk.stats().sign_in_attempts, 0);
}

#[tokio::test]
async fn users_are_found_by_email_address_or_username_as_a_bare_array() {
    let clerk = backend_clerk().await;
    let found = users(&clerk, &format!("?email_address={}&limit=2", USER.to_uppercase())).await;
    assert_eq!(found.status, 200, "{}", found.body);
    let list = found.body.as_array().expect("a bare array");
    assert_eq!(list.len(), 1);
    let user = &list[0];
    assert_eq!(user["object"], "user");
    assert_eq!(user["id"], USER_ID);
    for (field, value) in [
        ("password_enabled", json!(true)),
        ("two_factor_enabled", json!(false)),
        ("totp_enabled", json!(false)),
        ("backup_code_enabled", json!(false)),
        ("banned", json!(false)),
        ("locked", json!(false)),
        ("lockout_expires_in_seconds", Value::Null),
        ("verification_attempts_remaining", json!(10)),
        ("bypass_client_trust", json!(false)),
        ("mfa_enabled_at", Value::Null),
    ] {
        assert_eq!(user[field], value, "{field} in {user}");
    }
    assert_eq!(user["email_addresses"][0]["email_address"], USER);

    let named = users(&clerk, "?username=NAMED-ONE").await;
    assert_eq!(named.body[0]["id"], "user_named", "{}", named.body);
    let both = users(&clerk, &format!("?email_address={USER}&email_address=member%40way.cloud")).await;
    let ids: Vec<_> = both.body.as_array().unwrap().iter().map(|user| user["id"].clone()).collect();
    assert_eq!(ids, [json!("user_member"), json!(USER_ID)], "repeated keys are alternatives, newest first");
    assert_eq!(users(&clerk, "?email_address=nobody%40way.cloud").await.body, json!([]));
    assert_eq!(users(&clerk, &format!("?email_address={USER}&username=named-one")).await.body, json!([]));

    let mfa = users(&clerk, "?email_address=mfa%40way.cloud").await;
    assert_eq!(
        (mfa.body[0]["two_factor_enabled"].clone(), mfa.body[0]["totp_enabled"].clone()),
        (json!(true), json!(true))
    );
    let locked = users(&clerk, "?email_address=locked%40way.cloud").await;
    assert_eq!(locked.body[0]["locked"], true);
    assert_eq!(locked.body[0]["lockout_expires_in_seconds"], Value::Null, "locked with no end");
    let bypass = users(&clerk, "?email_address=bypass%40way.cloud").await;
    assert_eq!(bypass.body[0]["bypass_client_trust"], true);
    let banned = users(&clerk, "?email_address=banned%40way.cloud").await;
    assert_eq!(banned.body[0]["banned"], true);
    let nopass = users(&clerk, "?email_address=nopass%40way.cloud").await;
    assert_eq!(nopass.body[0]["password_enabled"], false);

    let unknown = users(&clerk, &format!("?email_address[]={USER}")).await;
    unknown.assert_error(422, "form_param_unknown");
    assert_eq!(unknown.body["errors"][0]["meta"]["param_name"], "email_address[]");
    users(&clerk, "?limit=0").await.assert_error(422, "form_param_value_invalid");
    users(&clerk, "?limit=501").await.assert_error(422, "form_param_value_invalid");
    assert_eq!(users(&clerk, "?limit=1").await.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn verify_password_answers_as_clerks_spec_says() {
    let clerk = backend_clerk().await;
    let right = verify_password(&clerk, USER_ID, json!({"password": PASSWORD})).await;
    assert_eq!((right.status, right.body.clone()), (200, json!({"verified": true})));
    verify_password(&clerk, USER_ID, json!({"password": "wrong"})).await.assert_error(422, "incorrect_password");
    verify_password(&clerk, "user_nobody", json!({"password": "x"})).await.assert_error(404, "resource_not_found");
    verify_password(&clerk, "user_nopass", json!({"password": "unused"})).await.assert_error(400, "no_password_set");
    verify_password(&clerk, USER_ID, json!({})).await.assert_error(422, "form_param_missing");
    let extra = verify_password(&clerk, USER_ID, json!({"password": PASSWORD, "strategy": "x"})).await;
    extra.assert_error(422, "form_param_unknown");
    assert_eq!(extra.body["errors"][0]["meta"]["param_name"], "strategy");
    let form =
        bapi(&clerk, Method::POST, &format!("/v1/users/{USER_ID}/verify_password")).form(&[("password", PASSWORD)]);
    send(form).await.assert_error(400, "request_body_invalid");
    assert_eq!(clerk.stats().password_checks, 7);
}

#[tokio::test]
async fn wrong_passwords_at_verify_password_count_toward_the_lockout() {
    let clerk = clerk_builder().lockout_threshold(3).lockout_duration(Duration::from_secs(600)).start().await;
    for _ in 0..3 {
        verify_password(&clerk, USER_ID, json!({"password": "wrong"})).await.assert_error(422, "incorrect_password");
    }
    let user = users(&clerk, &format!("?email_address={USER}")).await.body[0].clone();
    assert_eq!(user["locked"], true, "{user}");
    let left = user["lockout_expires_in_seconds"].as_u64().unwrap();
    assert!((599..=600).contains(&left), "{left}");
    assert_eq!(user["verification_attempts_remaining"], 0);
    let locked = verify_password(&clerk, USER_ID, json!({"password": PASSWORD})).await;
    locked.assert_error(403, "user_locked");
    password_sign_in(&clerk, USER, PASSWORD).await.assert_error(403, "user_locked");

    // A right password starts the count over.
    let fresh = clerk_builder().lockout_threshold(3).start().await;
    for password in ["wrong", "wrong", PASSWORD, "wrong", "wrong"] {
        verify_password(&fresh, USER_ID, json!({"password": password})).await;
    }
    let user = users(&fresh, &format!("?email_address={USER}")).await.body[0].clone();
    assert_eq!((user["locked"].clone(), user["verification_attempts_remaining"].clone()), (json!(false), json!(1)));
}

#[tokio::test]
async fn a_sign_in_token_is_redeemed_once_by_a_ticket_sign_in() {
    let clerk = backend_clerk().await;
    let created = send(
        bapi(&clerk, Method::POST, "/v1/sign_in_tokens").json(&json!({"user_id": USER_ID, "expires_in_seconds": 60})),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let token = &created.body;
    assert_eq!(token["object"], "sign_in_token");
    assert!(token["id"].as_str().unwrap().starts_with("sit_"));
    assert_eq!(token["status"], "pending");
    assert_eq!(token["user_id"], USER_ID);
    let ticket = token["token"].as_str().unwrap();
    assert!(token["url"].as_str().unwrap().contains(ticket));
    assert!(created.client_token.is_none(), "the Backend API hands out no client token");

    let signed_in = ticket_sign_in(&clerk, ticket).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(signed_in.body["response"]["status"], "complete");
    let sid = signed_in.body["response"]["created_session_id"].as_str().unwrap();
    let session = &signed_in.body["client"]["sessions"][0];
    assert_eq!((session["id"].as_str(), session["user"]["id"].as_str()), (Some(sid), Some(USER_ID)));
    assert!(signed_in.client_token.is_some_and(|token| !token.is_empty()));

    ticket_sign_in(&clerk, ticket).await.assert_error(400, "sign_in_token_already_used_code");
    ticket_sign_in(&clerk, "not-a-ticket").await.assert_error(400, "ticket_invalid_code");
    let short = sign_in_token(&clerk, USER_ID, 1).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ticket_sign_in(&clerk, &short).await.assert_error(400, "ticket_expired_code");
    let no_ticket = fapi_post(clerk.url(), "/v1/client/sign_ins", Some(""), &[("strategy", "ticket")]).await;
    no_ticket.assert_error(422, "form_param_missing");

    let create = |body: Value| send(bapi(&clerk, Method::POST, "/v1/sign_in_tokens").json(&body));
    create(json!({"user_id": "user_nobody"})).await.assert_error(404, "resource_not_found");
    create(json!({"expires_in_seconds": 60})).await.assert_error(422, "form_param_missing");
    create(json!({"user_id": USER_ID, "expires_in_seconds": 0})).await.assert_error(422, "form_param_value_invalid");
    // The spec leaves the body open: an unknown property is ignored.
    assert_eq!(create(json!({"user_id": USER_ID, "ttl": 60})).await.status, 200);
    let stats = clerk.stats();
    assert_eq!((stats.sign_in_token_requests, stats.sign_ins), (6, 1), "{stats:?}");
}

#[tokio::test]
async fn a_ticket_skips_the_second_factor_but_not_a_ban_and_may_name_the_organization() {
    let clerk = backend_clerk().await;
    let mfa = ticket_sign_in(&clerk, &sign_in_token(&clerk, "user_mfa", 60).await).await;
    assert_eq!(mfa.body["response"]["status"], "complete", "{}", mfa.body);
    let banned = ticket_sign_in(&clerk, &sign_in_token(&clerk, "user_banned", 60).await).await;
    banned.assert_error(403, "user_banned");

    let body = json!({"user_id": USER_ID, "expires_in_seconds": 60, "org_id": ORG});
    let created = send(bapi(&clerk, Method::POST, "/v1/sign_in_tokens").json(&body)).await;
    let signed_in = ticket_sign_in(&clerk, created.body["token"].as_str().unwrap()).await;
    let session = &signed_in.body["client"]["sessions"][0];
    assert_eq!(session["last_active_organization_id"], ORG, "{}", signed_in.body);
    assert_eq!(claims_of(session["last_active_token"]["jwt"].as_str().unwrap())["o"]["id"], ORG);
    let outsider = json!({"user_id": USER_ID, "org_id": "org_other"});
    let refused = send(bapi(&clerk, Method::POST, "/v1/sign_in_tokens").json(&outsider)).await;
    assert_eq!(refused.status, 404, "{}", refused.body);
}

#[tokio::test]
async fn the_backend_api_is_rate_limited_per_secret_key() {
    let clerk = clerk_builder().backend_api_rate_limit(3, Duration::from_secs(2)).start().await;
    for _ in 0..3 {
        assert_eq!(users(&clerk, "?limit=1").await.status, 200);
    }
    let limited = users(&clerk, "?limit=1").await;
    limited.assert_error(429, "too_many_requests");
    let retry_after: u64 = limited.retry_after.unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(users(&clerk, "?limit=1").await.status, 200);
}

#[tokio::test]
async fn backend_api_faults_leave_the_frontend_api_alone() {
    let clerk = clerk().await;
    clerk.set_backend_api_fault(Some(Fault::ServerError(503)));
    users(&clerk, "").await.assert_error(503, "internal_clerk_error");
    assert_eq!(password_sign_in(&clerk, USER, PASSWORD).await.status, 200);
    clerk.set_backend_api_fault(Some(Fault::Down));
    assert!(bapi(&clerk, Method::GET, "/v1/users").send().await.is_err());
    clerk.set_backend_api_fault(None);
    assert_eq!(users(&clerk, "").await.status, 200);
}

#[tokio::test]
async fn with_the_backend_api_down_the_layer_answers_503_and_recovers() {
    let clerk = clerk().await;
    let addr = serve(secret_config(&clerk).with_http_timeout(Duration::from_millis(500))).await;
    for fault in [Fault::ServerError(502), Fault::Down, Fault::Garbage] {
        clerk.set_backend_api_fault(Some(fault.clone()));
        let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (503, Some("temporarily_unavailable")), "{fault:?}: {body}");
    }
    clerk.set_backend_api_fault(Some(Fault::RateLimited { retry_after: Duration::from_secs(1) }));
    assert_eq!(token_request(addr, USER, PASSWORD).send().await.unwrap().status(), 429);
    clerk.set_backend_api_fault(None);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(token_request(addr, USER, PASSWORD).send().await.unwrap().status(), 200);
    assert_eq!(clerk.stats().sign_ins, 1);
}
