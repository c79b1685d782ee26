//! Refusals on protected routes in each error style, through a real axum server on loopback:
//! PACT and iLEAP bodies by default, PACT v3, and a custom style.

use clerk_basic_auth::ErrorStyle;
use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn missing_or_invalid_tokens_are_pact_bad_request_and_ileap_access_denied() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let garbage = "very-invalid-access-token-4f9a1c";
    for (method, path, status, code) in [
        ("GET", "/2/footprints", 400, "BadRequest"),
        ("POST", "/2/events", 400, "BadRequest"),
        ("GET", "/2/ileap/tad", 403, "AccessDenied"),
    ] {
        for token in [None, Some(garbage)] {
            let mut request = http().request(method.parse().unwrap(), format!("http://{addr}{path}"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), status, "{method} {path} {token:?}");
            assert_eq!(response.headers()["content-type"], "application/json");
            assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer realm="));
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], code);
            assert!(!body["message"].as_str().unwrap().contains(garbage), "the token leaked: {body}");
        }
    }
    let health = http().get(format!("http://{addr}/health")).send().await.unwrap();
    assert_eq!(health.status(), 400, "/health is protected unless made public");
}

#[tokio::test]
async fn pact_v3_style_answers_401_and_a_custom_style_answers_as_told() {
    let clerk = clerk().await;
    let v3 = serve(config(&clerk).with_error_style(ErrorStyle::pact_v3())).await;
    let (status, body) = json_of(http().get(format!("http://{v3}/2/footprints")).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("BadRequest")));
    let custom = ErrorStyle::custom(|error, parts| {
        http::Response::builder().status(418).body(bytes::Bytes::from(format!("{} {error}", parts.uri.path()))).unwrap()
    });
    let addr = serve(config(&clerk).with_error_style(custom)).await;
    let response = http().get(format!("http://{addr}/2/footprints")).send().await.unwrap();
    assert_eq!(response.status(), 418);
    assert_eq!(
        response.text().await.unwrap(),
        "/2/footprints an access token is required: send Authorization: Bearer <token>"
    );
}
