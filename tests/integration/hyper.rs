//! The layer in front of a bare hyper 1 server (`TowerToHyperService` around
//! `ServiceBuilder::new().layer(..).service_fn(..)`) on loopback, called by a real HTTP client.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use clerk_basic_auth::{ClerkBasicAuthConfig, ClerkBasicAuthLayer, ClerkClaims};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tower::ServiceBuilder;

use crate::common::*;

/// A hyper server behind a layer built from `config`, on a loopback port; counts the requests
/// that reach the handler.
struct HyperServer {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
}

impl HyperServer {
    async fn start(config: ClerkBasicAuthConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let layer = ClerkBasicAuthLayer::new(config);
        let counter = Arc::clone(&calls);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let counter = Arc::clone(&counter);
                let service = ServiceBuilder::new().layer(layer.clone()).service_fn(move |request| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    handler(request)
                });
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                        .await;
                });
            }
        });
        Self { addr, calls }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Answers with what it found in the request extensions and the body it read.
async fn handler(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let claims = request.extensions().get::<ClerkClaims>().map(|claims| {
        let organization = claims.organization();
        json!({
            "user_id": claims.user_id(),
            "session_id": claims.session_id(),
            "organization": organization.map(|org| org.id()),
            "role": organization.and_then(|org| org.role()),
        })
    });
    let path = request.uri().path().to_owned();
    let body = request.into_body().collect().await.map(|body| body.to_bytes()).unwrap_or_default();
    let answer = json!({"path": path, "claims": claims, "body": String::from_utf8_lossy(&body)});
    let mut response = Response::new(Full::new(Bytes::from(answer.to_string())));
    response.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
    Ok(response)
}

#[tokio::test]
async fn the_token_endpoint_answers_through_hyper() {
    let clerk = clerk().await;
    let server = HyperServer::start(config(&clerk).with_organization(ORG)).await;
    let response = token_request(server.addr, USER, PASSWORD).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!((claims["sub"].as_str(), claims["o"]["id"].as_str()), (Some(USER_ID), Some(ORG)));

    let (status, body) = json_of(token_request(server.addr, USER, "wrong-password").send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{body}");
    let response = http().get(server.url("/auth/token")).basic_auth(USER, Some(PASSWORD)).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let (status, discovery) =
        json_of(http().get(server.url("/.well-known/openid-configuration")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(discovery["token_endpoint"], server.url("/auth/token"));
    assert_eq!(server.calls(), 0, "the layer answered all of them itself");
}

#[tokio::test]
async fn a_valid_token_passes_with_its_claims_in_the_extensions() {
    let clerk = clerk().await;
    let server = HyperServer::start(config(&clerk).with_organization(ORG)).await;
    let token = access_token(server.addr, USER, PASSWORD).await;
    // The first request waits for Clerk's keys, the second finds them at hand.
    for _ in 0..2 {
        let (status, answer) = get_with(server.addr, "/me", &token).await;
        assert_eq!(status, 200, "{answer}");
        let sid = claims_of(&token)["sid"].clone();
        let expected = json!({"user_id": USER_ID, "session_id": sid, "organization": ORG, "role": "org:admin"});
        assert_eq!(answer["claims"], expected);
    }
    let event = r#"{"type":"org.wbcsd.pathfinder.ProductFootprintRequest.Created.v1"}"#;
    let response = http().post(server.url("/2/events")).bearer_auth(&token).body(event).send().await.unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!(status, 200);
    assert_eq!(answer["body"], event, "the request body reaches the handler untouched");
    assert_eq!(answer["claims"]["user_id"], USER_ID);
    assert_eq!(server.calls(), 3);
}

#[tokio::test]
async fn bad_tokens_are_refused_with_pact_bodies_before_the_handler() {
    let clerk = clerk().await;
    let server = HyperServer::start(config(&clerk)).await;
    let garbage = "very-invalid-access-token-4f9a1c";
    let now = unix_now();
    let expired = clerk.sign_claims(
        json!({"sub": USER_ID, "sid": "sess_x", "iss": clerk.url(), "iat": now - 200, "exp": now - 120, "v": 2}),
    );
    let cases = [
        (None, "/2/footprints", 400, "BadRequest", "an access token is required: send Authorization: Bearer <token>"),
        (Some(garbage), "/2/footprints", 400, "BadRequest", "the access token is not a well-formed JWT"),
        (Some(garbage), "/2/ileap/tad", 403, "AccessDenied", "the access token is not a well-formed JWT"),
        (Some(expired.as_str()), "/2/footprints", 401, "TokenExpired", "the access token has expired"),
    ];
    for (token, path, status, code, message) in cases {
        let mut request = http().get(server.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{path} {token:?}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.starts_with("Bearer realm="), "{challenge}");
        let body = response.text().await.unwrap();
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({"code": code, "message": message}));
        if let Some(token) = token {
            assert!(!body.contains(token) && !challenge.contains(token), "the token leaked");
        }
    }
    assert_eq!(server.calls(), 0, "no refused request reached the handler");
}

#[tokio::test]
async fn a_refused_request_with_a_large_body_leaves_the_connection_usable() {
    let clerk = clerk().await;
    let server = HyperServer::start(config(&clerk)).await;
    let client = http();
    let big = vec![b'x'; 1024 * 1024];
    let (status, body) = json_of(client.post(server.url("/2/events")).body(big).send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("BadRequest")));
    let token = clerk.session_token(USER_ID, None);
    let response = client.post(server.url("/2/events")).bearer_auth(&token).body("after").send().await.unwrap();
    let (status, answer) = json_of(response).await;
    assert_eq!((status, answer["body"].as_str()), (200, Some("after")));
    assert_eq!(server.calls(), 1);
}

#[tokio::test]
async fn public_paths_reach_the_handler_without_claims() {
    let clerk = clerk().await;
    let server = HyperServer::start(config(&clerk).with_public_path("/health")).await;
    let (status, answer) = json_of(http().get(server.url("/health")).send().await.unwrap()).await;
    assert_eq!((status, &answer["claims"]), (200, &Value::Null));
    // A token sent to a public path is not verified, so it brings no claims either.
    let token = clerk.session_token(USER_ID, None);
    let (status, answer) = json_of(http().get(server.url("/health")).bearer_auth(token).send().await.unwrap()).await;
    assert_eq!((status, &answer["claims"]), (200, &Value::Null));
    assert_eq!(server.calls(), 2);
    assert_eq!(clerk.stats().jwks_fetches, 0);
    assert_eq!(http().get(server.url("/health/deep")).send().await.unwrap().status(), 400, "only /health is public");
    assert_eq!(server.calls(), 2);
}
