//! Protected routes through a real axum server on loopback: verification rules, claims in the
//! extensions, and which routes are protected.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clerk_basic_auth::testing::FakeClerk;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_its_claims() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_organization(ORG)).await;
    let token = access_token(addr, USER, PASSWORD).await;
    let (status, me) = get_with(addr, "/me", &token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user_id"], USER_ID);
    assert_eq!(me["session_id"], claims_of(&token)["sid"]);
    assert_eq!(me["organization"]["id"], ORG);
    assert_eq!(me["organization"]["slug"], "way-demo");
    assert_eq!(me["organization"]["role"], "org:admin");
    assert_eq!(me["organization"]["permissions"], json!(["org:footprints:read", "org:footprints:manage"]));
}

#[tokio::test]
async fn v1_organization_claims_are_normalised_too() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let v1 = json!({"org_id": ORG, "org_slug": "way-demo", "org_role": "org:member", "org_permissions": ["org:footprints:read"]});
    let mut claims = session_claims(&clerk, v1);
    claims.as_object_mut().unwrap().remove("v");
    let (status, me) = get_with(addr, "/me", &clerk.sign_claims(claims)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        me["organization"],
        json!({"id": ORG, "slug": "way-demo", "role": "org:member", "permissions": ["org:footprints:read"]})
    );
}

#[tokio::test]
async fn an_expired_token_is_401_token_expired_beyond_the_leeway_only() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let now = unix_now();
    let expired = clerk.sign_claims(session_claims(&clerk, json!({"iat": now - 70, "nbf": now - 80, "exp": now - 6})));
    for path in ["/2/footprints", "/2/ileap/tad"] {
        let response = http().get(format!("http://{addr}{path}")).bearer_auth(&expired).send().await.unwrap();
        assert_eq!(response.status(), 401);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"code": "TokenExpired", "message": "the access token has expired"}));
    }
    let within_leeway = clerk.sign_claims(session_claims(&clerk, json!({"exp": now - 2})));
    assert_eq!(get_with(addr, "/me", &within_leeway).await.0, 200);
}

#[tokio::test]
async fn tokens_are_refused_for_the_reason_they_fail() {
    let clerk = clerk().await;
    let other = FakeClerk::builder().start().await;
    let addr = serve(config(&clerk)).await;
    let now = unix_now();
    let kid = clerk.kids()[0].clone();
    let valid = clerk.sign_claims(session_claims(&clerk, json!({})));
    let [header, payload, signature]: [&str; 3] = valid.split('.').collect::<Vec<_>>().try_into().unwrap();

    let tampered_payload = URL_SAFE_NO_PAD.encode(session_claims(&clerk, json!({"sub": "user_admin"})).to_string());
    let forged =
        other.sign_with_header(json!({"alg": "RS256", "kid": kid, "typ": "JWT"}), session_claims(&clerk, json!({})));
    let cases = [
        (format!("{header}.{tampered_payload}.{signature}"), "signature is invalid"),
        (forged, "signature is invalid"),
        (format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode([7u8; 256])), "signature is invalid"),
        (clerk.sign_claims(session_claims(&clerk, json!({"iss": "https://evil.example.com"}))), "not issued by"),
        (clerk.sign_claims(session_claims(&clerk, json!({"nbf": now + 60}))), "not valid yet"),
        (clerk.sign_claims(session_claims(&clerk, json!({"iat": now + 60}))), "issued in the future"),
        (clerk.sign_claims(json!({"iss": clerk.url(), "exp": now + 60})), "no valid sub claim"),
        (clerk.sign_claims(json!({"sub": 42, "iss": clerk.url(), "exp": now + 60})), "no valid sub claim"),
        (clerk.sign_claims(json!({"sub": USER_ID, "iss": clerk.url()})), "no valid exp claim"),
        (clerk.sign_claims(session_claims(&clerk, json!({"sts": "pending"}))), "pending"),
        (
            clerk.sign_with_header(
                json!({"alg": "RS256", "kid": kid, "typ": "at+jwt"}),
                session_claims(&clerk, json!({})),
            ),
            "type is not JWT",
        ),
        (
            clerk.sign_with_header(json!({"alg": "RS256", "kid": "ins_unknown"}), session_claims(&clerk, json!({}))),
            "unknown key",
        ),
        ("a.b".to_owned(), "not a well-formed JWT"),
        (format!("{header}.{payload}"), "not a well-formed JWT"),
        (format!("{}.!!!.c2ln", URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#)), "unknown key"),
        (format!("{header}.!!!.{signature}"), "signature is invalid"),
    ];
    for (token, reason) in cases {
        let (status, message) = refusal(addr, &token).await;
        assert_eq!(status, 400, "{reason}: {message}");
        assert!(message.contains(reason), "expected {reason:?}, got {message:?}");
    }
    assert_eq!(refusal(addr, &valid).await.0, 200);
}

#[tokio::test]
async fn alg_none_and_hmac_with_the_public_key_are_refused_before_any_key_lookup() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let claims = session_claims(&clerk, json!({}));
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    // Algorithm confusion: HS256 keyed with the RSA public key a verifier holds.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(clerk.kids()[0].clone());
    let hs256 = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(clerk.public_key_pem().as_bytes()),
    )
    .unwrap();
    for token in [none, hs256] {
        let (status, message) = refusal(addr, &token).await;
        assert_eq!((status, message.as_str()), (400, "the access token is not signed with RS256"));
    }
    assert_eq!(clerk.stats().jwks_fetches, 0, "refused before any key lookup");
}

#[tokio::test]
async fn an_oversized_authorization_header_is_refused_unparsed() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    for size in [9 * 1024, 200 * 1024] {
        let response = http()
            .get(format!("http://{addr}/2/footprints"))
            .header("authorization", format!("Bearer {}", "a".repeat(size)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{size} bytes");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["message"], "the Authorization header is too large");
    }
    assert_eq!(clerk.stats().jwks_fetches, 0);
}

#[tokio::test]
async fn optional_auth_lets_anonymous_requests_through_but_not_bad_tokens() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_optional_auth(true)).await;
    let anonymous = http().get(format!("http://{addr}/anonymous")).send().await.unwrap();
    assert_eq!(anonymous.text().await.unwrap(), "false");
    let token = clerk.session_token(USER_ID, None);
    let signed_in = http().get(format!("http://{addr}/anonymous")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(signed_in.text().await.unwrap(), "true");
    assert_eq!(refusal(addr, "not-a-token").await.0, 400);
}

#[tokio::test]
async fn public_paths_and_protected_prefixes_choose_what_is_protected() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_public_path("/health")).await;
    assert_eq!(http().get(format!("http://{addr}/health")).send().await.unwrap().text().await.unwrap(), "ok");
    let narrow = serve(config(&clerk).with_protected_prefix("/2/")).await;
    assert_eq!(http().get(format!("http://{narrow}/health")).send().await.unwrap().status(), 200);
    assert_eq!(http().get(format!("http://{narrow}/2/footprints")).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn pending_sessions_and_authorized_parties_follow_the_configuration() {
    let clerk = clerk().await;
    let pending = clerk.sign_claims(session_claims(&clerk, json!({"sts": "pending"})));
    let accepting = serve(config(&clerk).with_pending_sessions(true)).await;
    assert_eq!(get_with(accepting, "/me", &pending).await.0, 200);

    let strict = serve(config(&clerk).with_authorized_parties(["https://app.example.com"])).await;
    let from_app = clerk.sign_claims(session_claims(&clerk, json!({"azp": "https://app.example.com"})));
    let from_elsewhere = clerk.sign_claims(session_claims(&clerk, json!({"azp": "https://evil.example.com"})));
    assert_eq!(get_with(strict, "/me", &from_app).await.0, 200);
    for token in [from_elsewhere, clerk.session_token(USER_ID, None)] {
        assert_eq!(
            refusal(strict, &token).await,
            (400, "the access token's authorized party is not allowed".to_owned())
        );
    }
}
