//! Being kind to Clerk: session reuse, single flight, refresh from the session, throttling,
//! Clerk's rate limit and faults, proven with the fake Clerk's counters.

use std::time::{Duration, Instant};

use clerk_basic_auth::testing::{FakeUser, Fault};
use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn a_hundred_concurrent_requests_for_one_credential_sign_in_once() {
    let clerk = clerk().await;
    clerk.set_latency(Duration::from_millis(200));
    let addr = serve(config(&clerk)).await;
    let mut tokens = concurrent_access_tokens(addr, USER, PASSWORD, 100).await;
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "everyone got the one token");
    let stats = clerk.stats();
    assert_eq!((stats.sign_in_attempts, stats.sign_ins, stats.token_mints), (1, 1, 0));
}

#[tokio::test]
async fn concurrent_credentials_sign_in_once_each_and_never_wait_on_each_other() {
    let mut builder = clerk_builder();
    for i in 0..20 {
        builder = builder.user(FakeUser::new(format!("client{i}@way.cloud"), format!("Password-{i}")));
    }
    let clerk = builder.start().await;
    clerk.set_user_latency("client0@way.cloud", Duration::from_secs(3));
    let addr = serve(config(&clerk)).await;
    let started = Instant::now();
    let requests: Vec<_> = (0..200)
        .map(|n| {
            let i = n % 20;
            tokio::spawn(async move {
                let response = token_request(addr, &format!("client{i}@way.cloud"), &format!("Password-{i}"));
                let status = response.send().await.unwrap().status();
                (i, status, started.elapsed())
            })
        })
        .collect();
    for request in requests {
        let (i, status, elapsed) = request.await.unwrap();
        assert_eq!(status, 200, "client{i}");
        if i == 0 {
            assert!(elapsed >= Duration::from_secs(3), "client0 waits for its slow sign-in");
        } else {
            assert!(elapsed < Duration::from_secs(2), "client{i} waited {elapsed:?} behind client0's slow sign-in");
        }
    }
    let stats = clerk.stats();
    assert_eq!((stats.sign_in_attempts, stats.sign_ins), (20, 20));
}

#[tokio::test]
async fn tokens_are_refreshed_from_the_session_and_never_handed_out_near_expiry() {
    let clerk = clerk_builder().token_lifetime(Duration::from_secs(3)).start().await;
    let margin = Duration::from_secs(1);
    let addr = serve(config(&clerk).with_refresh_margin(margin)).await;
    let started = Instant::now();
    let mut tokens = Vec::new();
    while started.elapsed() < Duration::from_secs(8) {
        let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
        assert_eq!(status, 200);
        let token = body["access_token"].as_str().unwrap().to_owned();
        let left = claims_of(&token)["exp"].as_u64().unwrap().saturating_sub(unix_now());
        assert!(left >= margin.as_secs(), "a token with {left} s left was handed out");
        tokens.push(token);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokens.dedup();
    let stats = clerk.stats();
    assert_eq!(stats.sign_ins, 1, "one sign-in over several token lifetimes");
    assert!(stats.token_mints >= 3, "fresh tokens came from /tokens: {stats:?}");
    assert_eq!(tokens.len() as u64, stats.token_mints + 1, "each mint is handed out, no more");
    let sessions: std::collections::HashSet<_> = tokens.iter().map(|t| claims_of(t)["sid"].clone()).collect();
    assert_eq!(sessions.len(), 1, "every token is from the same Clerk session");
}

#[tokio::test]
async fn a_revoked_session_leads_to_exactly_one_new_sign_in() {
    let clerk = clerk_builder().token_lifetime(Duration::from_secs(2)).start().await;
    let addr = serve(config(&clerk).with_refresh_margin(Duration::from_secs(1))).await;
    let first = access_token(addr, USER, PASSWORD).await;
    assert_eq!(clerk.revoke_sessions(USER), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for token in concurrent_access_tokens(addr, USER, PASSWORD, 10).await {
        assert_ne!(claims_of(&token)["sid"], claims_of(&first)["sid"], "a new session");
    }
    let stats = clerk.stats();
    assert_eq!(stats.sign_ins, 2);
    assert_eq!(stats.token_mints, 1, "one refresh attempt found the session gone");
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_before_they_reach_clerk() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    for attempt in 1..=5 {
        let (status, body) = json_of(token_request(addr, USER, "wrong").send().await.unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "attempt {attempt}");
    }
    let response = token_request(addr, USER, "wrong").send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((890..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "temporarily_unavailable");
    // The identifier is throttled whatever the case, and even with the right password.
    assert_eq!(token_request(addr, &USER.to_uppercase(), PASSWORD).send().await.unwrap().status(), 429);
    assert_eq!(clerk.stats().sign_in_attempts, 5, "the 6th and 7th never reached Clerk");
    // Other identifiers are unaffected.
    assert_eq!(token_request(addr, "member@way.cloud", "MemberPassword1").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_success_resets_the_failure_count_and_cached_sessions_are_not_throttled() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_failure_throttle(2, Duration::from_secs(60))).await;
    access_token(addr, USER, PASSWORD).await;
    for _ in 0..2 {
        assert_eq!(token_request(addr, USER, "wrong").send().await.unwrap().status(), 401);
    }
    assert_eq!(token_request(addr, USER, "wrong").send().await.unwrap().status(), 429);
    // The right password still has its cached session: no sign-in needed, no throttle.
    assert_eq!(token_request(addr, USER, PASSWORD).send().await.unwrap().status(), 200);

    let fresh = serve(config(&clerk).with_failure_throttle(2, Duration::from_secs(60))).await;
    assert_eq!(token_request(fresh, USER, "wrong").send().await.unwrap().status(), 401);
    access_token(fresh, USER, PASSWORD).await;
    assert_eq!(token_request(fresh, USER, "wrong").send().await.unwrap().status(), 401, "the count started over");
}

#[tokio::test]
async fn concurrent_wrong_passwords_share_one_failure() {
    let clerk = clerk().await;
    clerk.set_latency(Duration::from_millis(200));
    let addr = serve(config(&clerk)).await;
    let requests: Vec<_> = (0..50)
        .map(|_| tokio::spawn(async move { token_request(addr, USER, "wrong").send().await.unwrap().status() }))
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), 401);
    }
    assert_eq!(clerk.stats().sign_in_attempts, 1);
}

#[tokio::test]
async fn clerks_retry_after_is_honoured_without_calling_clerk() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    clerk.set_fault(Some(Fault::RateLimited { retry_after: Duration::from_secs(2) }));
    assert_eq!(token_request(addr, USER, PASSWORD).send().await.unwrap().status(), 429);
    clerk.set_fault(None);
    let attempts = clerk.stats().sign_in_attempts;
    for user in [USER, "member@way.cloud"] {
        let response = token_request(addr, user, "anything").send().await.unwrap();
        assert_eq!(response.status(), 429, "{user}");
        let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&retry_after), "{retry_after}");
    }
    assert_eq!(clerk.stats().sign_in_attempts, attempts, "no call to Clerk while its limit holds");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(token_request(addr, USER, PASSWORD).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_real_sign_in_rate_limit_is_passed_on_and_waited_out() {
    let clerk = clerk_builder().sign_in_rate_limit(5, Duration::from_secs(2)).start().await;
    let mut builder_users = Vec::new();
    for i in 0..6 {
        let user = FakeUser::new(format!("burst{i}@way.cloud"), format!("Burst-{i}"));
        builder_users.push((format!("burst{i}@way.cloud"), format!("Burst-{i}")));
        clerk.add_user(user);
    }
    let addr = serve(config(&clerk)).await;
    let mut statuses = Vec::new();
    for (user, password) in &builder_users {
        statuses.push(token_request(addr, user, password).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    assert_eq!(clerk.stats().sign_in_attempts, 6);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (user, password) = &builder_users[5];
    assert_eq!(token_request(addr, user, password).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn cached_tokens_are_served_while_clerk_is_down_and_new_credentials_get_503() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_http_timeout(Duration::from_millis(300))).await;
    let cached = access_token(addr, USER, PASSWORD).await;
    for fault in [Fault::Down, Fault::ServerError(500), Fault::Garbage] {
        clerk.set_fault(Some(fault.clone()));
        assert_eq!(access_token(addr, USER, PASSWORD).await, cached, "{fault:?}");
        let (status, body) =
            json_of(token_request(addr, "member@way.cloud", "MemberPassword1").send().await.unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (503, Some("temporarily_unavailable")), "{fault:?}");
    }
    clerk.set_fault(None);
    clerk.set_latency(Duration::from_secs(3));
    let started = Instant::now();
    assert_eq!(token_request(addr, "member@way.cloud", "MemberPassword1").send().await.unwrap().status(), 503);
    assert!(started.elapsed() < Duration::from_secs(2), "bounded by the timeout: {:?}", started.elapsed());
    clerk.set_latency(Duration::ZERO);
    assert_eq!(token_request(addr, "member@way.cloud", "MemberPassword1").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_client_that_gives_up_does_not_abandon_the_sign_in() {
    let clerk = clerk().await;
    clerk.set_latency(Duration::from_millis(500));
    let addr = serve(config(&clerk)).await;
    let impatient = token_request(addr, USER, PASSWORD).timeout(Duration::from_millis(100)).send().await;
    assert!(impatient.is_err(), "the client gave up");
    tokio::time::sleep(Duration::from_millis(700)).await;
    clerk.set_latency(Duration::ZERO);
    access_token(addr, USER, PASSWORD).await;
    assert_eq!(clerk.stats().sign_ins, 1, "the retry found the finished sign-in");
}

#[tokio::test]
async fn a_different_password_for_the_same_identifier_never_hits_the_cache() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    access_token(addr, USER, PASSWORD).await;
    let (status, _) = json_of(token_request(addr, USER, "HelloPrimaryData ").send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert_eq!(clerk.stats().sign_in_attempts, 2);
}

#[tokio::test]
async fn the_session_cache_is_bounded() {
    let mut builder = clerk_builder();
    for i in 0..6 {
        builder = builder.user(FakeUser::new(format!("c{i}@way.cloud"), format!("Password-{i}")));
    }
    let clerk = builder.start().await;
    let addr = serve(config(&clerk).with_session_capacity(2)).await;
    for i in 0..6 {
        access_token(addr, &format!("c{i}@way.cloud"), &format!("Password-{i}")).await;
    }
    for i in 0..6 {
        access_token(addr, &format!("c{i}@way.cloud"), &format!("Password-{i}")).await;
    }
    let sign_ins = clerk.stats().sign_ins;
    assert!(sign_ins > 6, "with room for 2 sessions, some of 6 credentials had to sign in again ({sign_ins})");
}

#[tokio::test]
async fn a_flood_of_made_up_credentials_neither_stops_refreshes_nor_evicts_sessions() {
    // Clerk's real limit: 5 sign-ins per 10 s from this server's IP.
    let clerk = clerk_builder()
        .sign_in_rate_limit(5, Duration::from_secs(10))
        .token_lifetime(Duration::from_secs(2))
        .start()
        .await;
    let addr = serve(config(&clerk).with_refresh_margin(Duration::from_secs(1)).with_session_capacity(4)).await;
    let first = access_token(addr, USER, PASSWORD).await;
    for i in 0..12 {
        let status = token_request(addr, &format!("attacker{i}@evil.example"), "guess").send().await.unwrap().status();
        assert!(status == 401 || status == 429, "{status}");
    }
    assert_eq!(
        token_request(addr, "member@way.cloud", "MemberPassword1").send().await.unwrap().status(),
        429,
        "new sign-ins wait out Clerk's limit"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refreshed = access_token(addr, USER, PASSWORD).await;
    assert_ne!(refreshed, first, "a fresh token from the session, despite Clerk's sign-in limit");
    let stats = clerk.stats();
    assert_eq!(stats.sign_ins, 1, "the live session survived the flood: {stats:?}");
    assert_eq!(stats.token_mints, 1);
}

#[tokio::test]
async fn concurrent_different_wrong_passwords_stay_within_the_failure_budget() {
    let clerk = clerk().await;
    clerk.set_latency(Duration::from_millis(200));
    let addr = serve(config(&clerk)).await;
    let requests: Vec<_> = (0..20)
        .map(|i| {
            tokio::spawn(async move { token_request(addr, USER, &format!("wrong-{i}")).send().await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap().as_u16());
    }
    statuses.sort();
    assert_eq!(statuses, [[401; 5].as_slice(), [429; 15].as_slice()].concat());
    assert_eq!(clerk.stats().sign_in_attempts, 5, "only the budget reached Clerk");
}

#[tokio::test]
async fn setup_errors_do_not_spend_the_failure_budget() {
    let clerk = clerk().await;
    clerk.set_fault(Some(Fault::ServerError(503)));
    let addr = serve(config(&clerk).with_failure_throttle(2, Duration::from_secs(60))).await;
    for _ in 0..4 {
        assert_eq!(token_request(addr, USER, PASSWORD).send().await.unwrap().status(), 503);
    }
    clerk.set_fault(None);
    assert_eq!(token_request(addr, USER, PASSWORD).send().await.unwrap().status(), 200, "Clerk's outage did not count");
}
