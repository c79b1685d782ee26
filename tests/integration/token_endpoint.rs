//! The token endpoint through a real axum server on loopback, against the fake Clerk.

use std::time::{Duration, Instant};

use clerk_basic_auth::testing::Fault;
use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn a_token_request_gets_clerks_session_token_as_an_oauth_response() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let response = token_request(addr, USER, PASSWORD).header("accept", "application/json").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert!((55..=60).contains(&expires_in), "expires_in {expires_in}");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], USER_ID);
    assert_eq!(claims["iss"], clerk.url());
    assert!(claims["sid"].as_str().unwrap().starts_with("sess_"));
    assert!(claims.get("o").is_none(), "no organization was asked for");
    let left = claims["exp"].as_u64().unwrap() - unix_now();
    assert!(left.abs_diff(expires_in) <= 1, "expires_in {expires_in} vs {left} s left per exp");
    let stats = clerk.stats();
    assert_eq!((stats.sign_in_attempts, stats.sign_ins, stats.touches, stats.token_mints), (1, 1, 0, 0));
}

#[tokio::test]
async fn the_layer_serves_the_token_path_the_router_does_not_have() {
    let clerk = clerk().await;
    let bare = serve_router(router()).await;
    assert_eq!(token_request(bare, USER, PASSWORD).send().await.unwrap().status(), 404);
    let layered = serve(config(&clerk)).await;
    assert_eq!(token_request(layered, USER, PASSWORD).send().await.unwrap().status(), 200);
    let moved = serve(config(&clerk).with_token_path("/oauth/token")).await;
    let response = http()
        .post(format!("http://{moved}/oauth/token"))
        .basic_auth(USER, Some(PASSWORD))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn other_methods_are_refused_with_allow_post() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let response =
        http().get(format!("http://{addr}/auth/token")).basic_auth(USER, Some(PASSWORD)).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_request");
    assert_eq!(clerk.stats().sign_in_attempts, 0);
}

#[tokio::test]
async fn missing_or_garbled_basic_credentials_are_401_invalid_client_with_a_challenge() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_realm("pact")).await;
    let post = || {
        http()
            .post(format!("http://{addr}/auth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
    };
    for request in [
        post(),
        post().header("authorization", "Basic !!!not-base64!!!"),
        post().header("authorization", "Basic bm8tY29sb24="),
        post().header("authorization", "Bearer abc"),
        post().header("authorization", "Basic "),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Basic realm=\"pact\", charset=\"UTF-8\"");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
        assert!(!body["error_description"].as_str().unwrap().is_empty());
    }
    assert_eq!(clerk.stats().sign_in_attempts, 0);
}

#[tokio::test]
async fn clerk_refusals_are_401_invalid_client_with_a_challenge_that_say_why() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let cases = [
        (USER, "wrong-password", "password is incorrect"),
        ("nobody@way.cloud", "whatever-1", "no user"),
        ("mfa@way.cloud", "MfaPassword1", "multi-factor"),
        ("trust@way.cloud", "TrustPassword1", "client trust"),
        ("locked@way.cloud", "LockedPassword1", "locked"),
    ];
    for (user, password, reason) in cases {
        let (status, body) = json_of(token_request(addr, user, password).send().await.unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{user}: {body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(reason), "{user}: {description}");
        assert!(!body.to_string().contains(password), "{user}: the password leaked into {body}");
    }
}

#[tokio::test]
async fn grant_type_and_body_errors_follow_rfc_6749() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let post = |content_type: &str, body: Vec<u8>| {
        http()
            .post(format!("http://{addr}/auth/token"))
            .basic_auth(USER, Some(PASSWORD))
            .header("content-type", content_type)
            .body(body)
    };
    let form = "application/x-www-form-urlencoded";
    let cases: [(reqwest::RequestBuilder, u16, &str); 7] = [
        (post(form, b"grant_type=password".to_vec()), 400, "unsupported_grant_type"),
        (post(form, b"grant_type=authorization_code&code=x".to_vec()), 400, "unsupported_grant_type"),
        (post(form, b"scope=footprints".to_vec()), 400, "invalid_request"),
        (post(form, b"grant_type=client_credentials&grant_type=client_credentials".to_vec()), 400, "invalid_request"),
        (post("application/json", br#"{"grant_type":"client_credentials"}"#.to_vec()), 400, "invalid_request"),
        (post(form, b"grant_type=client_credentials\xff\xfe".to_vec()), 400, "invalid_request"),
        (post("text/plain", b"grant_type=client_credentials".to_vec()), 400, "invalid_request"),
    ];
    for (request, status, error) in cases {
        let (got, body) = json_of(request.send().await.unwrap()).await;
        assert_eq!((got, body["error"].as_str()), (status, Some(error)), "{body}");
    }
    assert_eq!(clerk.stats().sign_in_attempts, 0, "nothing reached Clerk");
    let charset = post("application/x-www-form-urlencoded; charset=UTF-8", b"grant_type=client_credentials".to_vec());
    assert_eq!(charset.send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn passwords_with_colons_and_non_ascii_characters_are_taken_as_sent() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let token = access_token(addr, "colon@way.cloud", "pa:ss:wörd ✓ 🔑").await;
    assert_eq!(claims_of(&token)["sub"], "user_colon");
}

#[tokio::test]
async fn form_encoded_credentials_are_decoded_with_no_setting_unless_forced_raw() {
    let clerk = clerk().await;
    let raw = serve(config(&clerk).with_form_encoded_credentials(false)).await;
    let decoding = serve(config(&clerk)).await;
    let (user, password) = ("colon%40way.cloud", "pa%3Ass%3Aw%C3%B6rd+%E2%9C%93+%F0%9F%94%91");
    let (status, body) = json_of(token_request(raw, user, password).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    assert_eq!(claims_of(&access_token(decoding, user, password).await)["sub"], "user_colon");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_whether_announced_or_streamed() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    let mebibyte = format!("grant_type=client_credentials&padding={}", "x".repeat(1024 * 1024));
    let announced = token_request(addr, USER, PASSWORD).body(mebibyte.clone());
    let (status, body) = json_of(announced.send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("invalid_request")));
    // Chunked, with no Content-Length to refuse it up front: the limit applies while reading.
    let response = chunked_token_request(addr, mebibyte.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    let small = serve(config(&clerk).with_max_body_size(16)).await;
    assert_eq!(
        token_request(small, USER, PASSWORD).body("grant_type=client_credentials").send().await.unwrap().status(),
        413
    );
    assert_eq!(clerk.stats().sign_in_attempts, 0);
}

/// A token request whose body goes out in 8 KiB chunks, over a plain TCP connection.
async fn chunked_token_request(addr: std::net::SocketAddr, body: &[u8]) -> String {
    use base64::Engine as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let head = format!(
        "POST /auth/token HTTP/1.1\r\nhost: {addr}\r\nauthorization: Basic {basic}\r\n\
         content-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(8192) {
        // The server may answer and close before the whole body is sent.
        if stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.is_err()
            || stream.write_all(chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = vec![0; 4096];
    let read = stream.read(&mut response).await.unwrap();
    String::from_utf8_lossy(&response[..read]).into_owned()
}

#[tokio::test]
async fn a_jwt_template_token_is_handed_out_when_configured() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_organization(ORG).with_jwt_template("pact")).await;
    let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "pact");
    assert_eq!(claims["org"], ORG, "the template sees the activated organization");
    assert!(claims.get("sid").is_none(), "template tokens carry no sid");
    assert!(body["expires_in"].as_u64().unwrap() > 3500);
    let stats = clerk.stats();
    assert_eq!((stats.sign_ins, stats.touches, stats.token_mints), (1, 1, 1));
}

#[tokio::test]
async fn clerk_down_slow_failing_or_garbled_is_503_and_rate_limited_is_429() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk).with_http_timeout(Duration::from_millis(500))).await;
    let cases =
        [(Fault::Down, 503), (Fault::ServerError(502), 503), (Fault::ServerError(500), 503), (Fault::Garbage, 503)];
    for (fault, status) in cases {
        clerk.set_fault(Some(fault.clone()));
        let (got, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
        assert_eq!((got, body["error"].as_str()), (status, Some("temporarily_unavailable")), "{fault:?}");
    }
    clerk.set_fault(None);
    clerk.set_latency(Duration::from_secs(5));
    let started = Instant::now();
    let (status, _) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
    assert_eq!(status, 503);
    assert!(started.elapsed() < Duration::from_secs(3), "the timeout bounds the call");
    clerk.set_latency(Duration::ZERO);
    assert_eq!(token_request(addr, USER, PASSWORD).send().await.unwrap().status(), 200, "recovers with Clerk");
}

#[tokio::test]
async fn clerk_rate_limit_is_passed_on_as_429_with_retry_after() {
    let clerk = clerk().await;
    let addr = serve(config(&clerk)).await;
    clerk.set_fault(Some(Fault::RateLimited { retry_after: Duration::from_secs(7) }));
    let response = token_request(addr, USER, PASSWORD).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((6..=7).contains(&retry_after), "{retry_after}");
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn an_unreachable_clerk_is_503() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let config = clerk_basic_auth::ClerkBasicAuthConfig::new(format!("http://{closed}")).unwrap();
    let addr = serve(config).await;
    let (status, body) = json_of(token_request(addr, USER, PASSWORD).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("temporarily_unavailable")));
}
