//! Clerk's outage mode: token calls answer 422 `missing_expired_token` unless they carry the
//! session's last token as `expired_token`, and the layer retries once with it, as clerk-js does.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn the_fake_wants_the_sessions_last_token_in_outage_mode() {
    let clerk = clerk().await;
    let signed_in = password_sign_in(&clerk, USER, PASSWORD).await;
    let sid = signed_in.body["response"]["created_session_id"].as_str().unwrap().to_owned();
    let last = signed_in.body["client"]["sessions"][0]["last_active_token"]["jwt"].as_str().unwrap().to_owned();
    let mut token = signed_in.client_token.unwrap();
    clerk.set_outage_mode(true);

    let path = format!("/v1/client/sessions/{sid}/tokens");
    fapi_post(clerk.url(), &path, Some(&token), &[]).await.assert_error(422, "missing_expired_token");
    let stranger = clerk.session_token(USER_ID, None);
    let wrong = fapi_post(clerk.url(), &format!("{path}?expired_token={stranger}"), Some(&token), &[]).await;
    wrong.assert_error(422, "missing_expired_token");
    let retried = fapi_post(clerk.url(), &format!("{path}?expired_token={last}"), Some(&token), &[]).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    let fresh = retried.body["jwt"].as_str().unwrap().to_owned();
    assert_ne!(fresh, last);
    token = retried.client_token.unwrap();

    // The template route wants the last session token too, never a template token.
    let template_path = format!("/v1/client/sessions/{sid}/tokens/pact");
    let template = fapi_post(clerk.url(), &format!("{template_path}?expired_token={fresh}"), Some(&token), &[]).await;
    assert_eq!(template.status, 200, "{}", template.body);
    let template_jwt = template.body["jwt"].as_str().unwrap().to_owned();
    token = template.client_token.unwrap();
    let by_template =
        fapi_post(clerk.url(), &format!("{template_path}?expired_token={template_jwt}"), Some(&token), &[]).await;
    by_template.assert_error(422, "missing_expired_token");

    clerk.set_outage_mode(false);
    assert_eq!(fapi_post(clerk.url(), &path, Some(&token), &[]).await.status, 200);
    let stats = clerk.stats();
    assert_eq!((stats.outage_refusals, stats.expired_token_mints), (3, 2), "{stats:?}");
}

#[tokio::test]
async fn the_token_endpoint_still_gets_a_token_when_a_refresh_meets_outage_mode() {
    let clerk = clerk_builder().token_lifetime(Duration::from_secs(3)).start().await;
    let addr = serve(config(&clerk).with_refresh_margin(Duration::from_secs(1))).await;
    let first = access_token(addr, USER, PASSWORD).await;
    clerk.set_outage_mode(true);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let refreshed = access_token(addr, USER, PASSWORD).await;
    assert_ne!(refreshed, first, "a fresh token despite the outage");
    assert_eq!(claims_of(&refreshed)["sid"], claims_of(&first)["sid"], "from the same session");
    let stats = clerk.stats();
    assert_eq!((stats.outage_refusals, stats.expired_token_mints), (1, 1), "one refusal, one retry: {stats:?}");
    assert_eq!((stats.sign_ins, stats.token_mints), (1, 2), "{stats:?}");
}

#[tokio::test]
async fn with_an_organization_the_retry_carries_the_token_of_the_touch() {
    let clerk = clerk_builder().token_lifetime(Duration::from_secs(3)).start().await;
    let addr = serve(config(&clerk).with_organization(ORG).with_refresh_margin(Duration::from_secs(1))).await;
    let first = access_token(addr, USER, PASSWORD).await;
    assert_eq!(claims_of(&first)["o"]["id"], ORG);
    clerk.set_outage_mode(true);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let refreshed = access_token(addr, USER, PASSWORD).await;
    assert_ne!(refreshed, first);
    assert_eq!(claims_of(&refreshed)["o"]["id"], ORG);
    let stats = clerk.stats();
    assert_eq!((stats.outage_refusals, stats.expired_token_mints, stats.sign_ins), (1, 1, 1), "{stats:?}");
}

#[tokio::test]

async fn with_a_template_the_retry_carries_the_last_session_token() {
    let clerk = clerk_builder().jwt_template("short", json!({"aud": "short"}), Duration::from_secs(3)).start().await;
    let addr = serve(config(&clerk).with_jwt_template("short").with_refresh_margin(Duration::from_secs(1))).await;
    let first = access_token(addr, USER, PASSWORD).await;
    clerk.set_outage_mode(true);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["access_token"].as_str().unwrap(), first);
    let stats = clerk.stats();
    assert_eq!((stats.expired_token_mints, stats.sign_ins), (1, 1), "{stats:?}");
}
