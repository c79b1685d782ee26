//! The layer in front of a real tonic server on loopback, called by a real tonic client: claims
//! reach the handler through the request extensions, and every refusal is a proper gRPC status.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use clerk_basic_auth::testing::{FakeClerk, Fault};
use clerk_basic_auth::{AccessRule, ClerkBasicAuthConfig, ClerkBasicAuthLayer, ClerkClaims};
use http::uri::PathAndQuery;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tonic::body::Body;
use tonic::codegen::BoxFuture;
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;

use crate::common::*;

// ---- A `WhoAmI` service that answers with the claims its handler found ----------------------

#[derive(Clone, PartialEq, prost::Message)]
struct WhoAmIRequest {}

#[derive(Clone, PartialEq, prost::Message)]
struct WhoAmIReply {
    #[prost(string, tag = "1")]
    user_id: String,
    #[prost(string, tag = "2")]
    session_id: String,
    #[prost(string, tag = "3")]
    organization_id: String,
    #[prost(string, tag = "4")]
    organization_role: String,
    #[prost(string, repeated, tag = "5")]
    permissions: Vec<String>,
}

const WHO_AM_I: &str = "/test.Identity/WhoAmI";

/// Server glue as tonic-build would generate it; counts the calls that reach the handler.
#[derive(Clone, Default)]
struct IdentityServer {
    calls: Arc<AtomicUsize>,
}

impl NamedService for IdentityServer {
    const NAME: &'static str = "test.Identity";
}

impl tower::Service<http::Request<Body>> for IdentityServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let calls = Arc::clone(&self.calls);
        match request.uri().path() {
            WHO_AM_I => Box::pin(async move {
                let handler = tower::service_fn(move |request: Request<WhoAmIRequest>| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async move { who_am_i_handler(request) }
                });
                Ok(tonic::server::Grpc::new(ProstCodec::default()).unary(handler, request).await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

fn who_am_i_handler(request: Request<WhoAmIRequest>) -> Result<Response<WhoAmIReply>, Status> {
    let claims = request
        .extensions()
        .get::<ClerkClaims>()
        .ok_or_else(|| Status::internal("no ClerkClaims in the extensions"))?;
    let organization = claims.organization();
    Ok(Response::new(WhoAmIReply {
        user_id: claims.user_id().to_owned(),
        session_id: claims.session_id().unwrap_or_default().to_owned(),
        organization_id: organization.map(|org| org.id().to_owned()).unwrap_or_default(),
        organization_role: organization.and_then(|org| org.role()).unwrap_or_default().to_owned(),
        permissions: organization.map(|org| org.permissions().to_vec()).unwrap_or_default(),
    }))
}

/// A tonic server behind a layer built from `config`, on a loopback port.
struct GrpcServer {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
}

impl GrpcServer {
    async fn start(config: ClerkBasicAuthConfig) -> Self {
        Self::start_with(config, true).await
    }

    async fn start_with(config: ClerkBasicAuthConfig, accept_http1: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = IdentityServer::default();
        let calls = Arc::clone(&service.calls);
        let server = Server::builder()
            .accept_http1(accept_http1)
            .layer(ClerkBasicAuthLayer::new(config))
            .add_service(service)
            .serve_with_incoming(TcpIncoming::from(listener));
        tokio::spawn(async move { server.await.unwrap() });
        Self { addr, calls }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr)).unwrap().connect().await.unwrap()
    }

    /// Calls `WhoAmI` on a new connection, with `authorization: Bearer <token>` when given.
    async fn who_am_i(&self, token: Option<&str>) -> Result<WhoAmIReply, Status> {
        let metadata = token.map(|token| format!("Bearer {token}"));
        call_who_am_i(self.channel().await, metadata.as_deref()).await
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// Client glue as tonic-build would generate it, with `authorization` metadata when given.
async fn call_who_am_i(channel: Channel, authorization: Option<&str>) -> Result<WhoAmIReply, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|error| Status::unavailable(error.to_string()))?;
    let mut request = Request::new(WhoAmIRequest {});
    if let Some(authorization) = authorization {
        request.metadata_mut().insert("authorization", authorization.parse().unwrap());
    }
    let response = grpc.unary(request, PathAndQuery::from_static(WHO_AM_I), ProstCodec::default()).await?;
    Ok(response.into_inner())
}

/// Asserts a call failed with `code`, a message containing `reason`, and no trace of `token`.
#[track_caller]
fn assert_refused(result: Result<WhoAmIReply, Status>, code: Code, reason: &str, token: &str) {
    let status = match result {
        Ok(reply) => panic!("expected {code:?} ({reason}), the call passed: {reply:?}"),
        Err(status) => status,
    };
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(reason), "expected {reason:?} in {:?}", status.message());
    if !token.is_empty() {
        assert!(!status.message().contains(token), "the token leaked into the message: {status:?}");
        for entry in status.metadata().iter() {
            if let tonic::metadata::KeyAndValueRef::Ascii(key, value) = entry {
                let value = value.to_str().unwrap_or_default();
                assert!(!value.contains(token), "the token leaked into the metadata {key}: {value}");
            }
        }
    }
}

fn session_claims(clerk: &FakeClerk, extra: Value) -> Value {
    let now = unix_now();
    let mut claims = json!({
        "sub": USER_ID, "sid": "sess_grpc", "iss": clerk.url(), "iat": now, "nbf": now - 10, "exp": now + 60, "v": 2
    });
    claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    claims
}

// ---- Tests ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_from_the_token_endpoint_on_the_same_port_passes_with_its_claims() {
    let clerk = clerk().await;
    let server = GrpcServer::start(config(&clerk).with_organization(ORG)).await;
    // POST /auth/token over HTTP/1.1 to the tonic server: the layer answers it.
    let token = access_token(server.addr, USER, PASSWORD).await;
    let sid = claims_of(&token)["sid"].as_str().unwrap().to_owned();
    // The first call waits for Clerk's keys, the second is verified with the cached ones.
    for call in 1..=2 {
        let reply = server.who_am_i(Some(&token)).await.unwrap_or_else(|status| panic!("call {call}: {status:?}"));
        assert_eq!(reply.user_id, USER_ID);
        assert_eq!(reply.session_id, sid);
        assert_eq!(reply.organization_id, ORG);
        assert_eq!(reply.organization_role, "org:admin");
        assert_eq!(reply.permissions, ["org:footprints:read", "org:footprints:manage"]);
    }
    assert_eq!(server.calls(), 2);
    assert_eq!(clerk.stats().jwks_fetches, 1);
}

#[tokio::test]
async fn a_session_token_of_the_fake_passes_with_its_claims() {
    let clerk = clerk().await;
    let server = GrpcServer::start(config(&clerk)).await;
    let member = clerk.session_token("user_member", Some(ORG));
    let reply = server.who_am_i(Some(&member)).await.unwrap();
    assert_eq!((reply.user_id.as_str(), reply.organization_id.as_str()), ("user_member", ORG));
    assert_eq!(reply.organization_role, "org:member");
    assert_eq!(reply.session_id, claims_of(&member)["sid"].as_str().unwrap());
    let personal = server.who_am_i(Some(&clerk.session_token("user_loner", None))).await.unwrap();
    assert_eq!((personal.user_id.as_str(), personal.organization_id.as_str()), ("user_loner", ""));
}

#[tokio::test]
async fn concurrent_calls_on_one_connection_pass_while_the_keys_are_fetched() {
    let clerk = clerk().await;
    clerk.set_latency(Duration::from_millis(100));
    let server = GrpcServer::start(config(&clerk)).await;
    let channel = server.channel().await;
    let users = ["user_2xDemo", "user_member", "user_loner", "user_colon"];
    let calls = (0..20).map(|i| {
        let user = users[i % users.len()];
        let authorization = format!("Bearer {}", clerk.session_token(user, None));
        let channel = channel.clone();
        tokio::spawn(async move { (user, call_who_am_i(channel, Some(&authorization)).await) })
    });
    for call in calls.collect::<Vec<_>>() {
        let (user, reply) = call.await.unwrap();
        assert_eq!(reply.unwrap().user_id, user);
    }
    assert_eq!(server.calls(), 20);
    assert_eq!(clerk.stats().jwks_fetches, 1);
}

#[tokio::test]
async fn a_call_without_a_token_is_unauthenticated() {
    let clerk = clerk().await;
    let server = GrpcServer::start(config(&clerk)).await;
    let result = server.who_am_i(None).await;
    assert_refused(result, Code::Unauthenticated, "an access token is required", "");
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}")));
    let result = call_who_am_i(server.channel().await, Some(&basic)).await;
    assert_refused(result, Code::Unauthenticated, "must use the Bearer scheme", PASSWORD);
    assert_eq!(server.calls(), 0, "the handler never ran");
}

#[tokio::test]
async fn an_expired_token_is_unauthenticated_and_says_so() {
    let clerk = clerk().await;
    let server = GrpcServer::start(config(&clerk)).await;
    let now = unix_now();
    let expired =
        clerk.sign_claims(session_claims(&clerk, json!({"iat": now - 200, "nbf": now - 200, "exp": now - 120})));
    // Twice: once while the keys are fetched, once with the keys at hand.
    for _ in 0..2 {
        let result = server.who_am_i(Some(&expired)).await;
        assert_refused(result, Code::Unauthenticated, "the access token has expired", &expired);
    }
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn garbage_and_forged_tokens_are_unauthenticated() {
    let clerk = clerk().await;
    let other = FakeClerk::builder().start().await;
    let server = GrpcServer::start(config(&clerk)).await;
    let forged = other.sign_with_header(
        json!({"alg": "RS256", "kid": clerk.kids()[0], "typ": "JWT"}),
        session_claims(&clerk, json!({})),
    );
    let wrong_issuer = clerk.sign_claims(session_claims(&clerk, json!({"iss": "https://evil.example.com"})));
    for (token, reason) in [
        ("very-invalid-access-token-4f9a1c", "not a well-formed JWT"),
        (forged.as_str(), "signature is invalid"),
        (wrong_issuer.as_str(), "not issued by"),
    ] {
        let result = server.who_am_i(Some(token)).await;
        assert_refused(result, Code::Unauthenticated, reason, token);
    }
    assert_eq!(server.calls(), 0);
}

#[tokio::test]
async fn an_access_rule_refusal_is_permission_denied() {
    let clerk = clerk().await;
    let config = config(&clerk).with_access_rule(AccessRule::for_prefix("/").require_role("admin"));
    let server = GrpcServer::start(config).await;
    let member = clerk.session_token("user_member", Some(ORG));
    let result = server.who_am_i(Some(&member)).await;
    assert_refused(result, Code::PermissionDenied, "access denied: requires the role admin", &member);
    assert_eq!(server.calls(), 0);
    let admin = server.who_am_i(Some(&clerk.session_token(USER_ID, Some(ORG)))).await.unwrap();
    assert_eq!(admin.organization_role, "org:admin");
    // With the keys at hand now, the member is refused the same way.
    let result = server.who_am_i(Some(&member)).await;
    assert_refused(result, Code::PermissionDenied, "requires the role admin", &member);
    assert_eq!(server.calls(), 1);
}

#[tokio::test]
async fn unavailable_keys_are_unavailable_until_clerk_is_back() {
    let clerk = clerk().await;
    clerk.set_jwks_fault(Some(Fault::ServerError(503)));
    let server = GrpcServer::start(config(&clerk).with_jwks_refetch_interval(Duration::from_millis(100))).await;
    let token = clerk.session_token(USER_ID, None);
    let result = server.who_am_i(Some(&token)).await;
    assert_refused(result, Code::Unavailable, "the signing keys are unavailable", &token);
    assert_eq!(server.calls(), 0);
    clerk.set_jwks_fault(None);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(server.who_am_i(Some(&token)).await.unwrap().user_id, USER_ID);
}

#[tokio::test]
async fn without_accept_http1_the_token_endpoint_still_answers_over_http2() {
    let clerk = clerk().await;
    let server = GrpcServer::start_with(config(&clerk), false).await;
    // An HTTP/1.1 client cannot talk to tonic's default HTTP/2-only server at all ...
    assert!(token_request(server.addr, USER, PASSWORD).send().await.is_err());
    // ... but an HTTP/2 (prior knowledge) client gets its token from the layer.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Full<Bytes>>();
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let request = http::Request::post(format!("http://{}/auth/token", server.addr))
        .header("authorization", format!("Basic {credentials}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(b"grant_type=client_credentials")))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(server.who_am_i(Some(token)).await.unwrap().user_id, USER_ID);

    // Discovery finds the host in the HTTP/2 `:authority`, there being no `Host` header.
    let discovery = format!("http://{}/.well-known/openid-configuration", server.addr);
    let response = client.get(discovery.parse().unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
    let document: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(document["token_endpoint"], format!("http://{}/auth/token", server.addr));
}
