//! An iLEAP-flavoured gRPC service on tonic, protected by `ClerkBasicAuthLayer`.
//!
//! ```text
//! cargo run --example tonic_demo              # runs the walkthrough below, then exits
//! cargo run --example tonic_demo -- --serve   # runs it, then serves until Ctrl-C
//! ```
//!
//! It starts the crate's fake Clerk on loopback with the demo user `ileap-demo@way.cloud` /
//! `HelloPrimaryData` (admin of organization `org_2xDemo`) and the JWT template `pact` (an hour's
//! lifetime), configures the layer the recommended way (the fake's secret key and Backend API, so
//! Clerk's Device Trust does not stop the sign-in; the organization; the template), and serves,
//! on `BIND_ADDR` (default `127.0.0.1:50051`), one tonic server with
//! `.layer(ClerkBasicAuthLayer::new(config))`:
//!
//! - the gRPC service `ileap.TransportActivity`, whose handler reads the verified
//!   `ClerkClaims` from `request.extensions()` and answers with the transport activity data of
//!   the caller's organization;
//! - `POST /auth/token`, answered by the layer itself before tonic's router sees the request.
//!
//! tonic's server speaks only HTTP/2 unless told otherwise, and OAuth clients (curl, reqwest,
//! PACT conformance tools) ask for tokens over HTTP/1.1. `accept_http1(true)` makes the one port
//! answer both: gRPC over HTTP/2 (h2c with prior knowledge, as tonic's client does) and the token
//! endpoint over HTTP/1.1 or HTTP/2. Without it, token requests need an HTTP/2 client
//! (`curl --http2-prior-knowledge`), or the token endpoint has to be served elsewhere.
//!
//! The walkthrough gets a token from the token endpoint over HTTP/1.1, calls the service with
//! `authorization: Bearer <token>` metadata, and calls it once more without a token, which the
//! layer refuses with `UNAUTHENTICATED`. The exit code is non-zero if anything turns out
//! otherwise.
//!
//! No `protoc` is needed: the messages and the service glue below are hand-written versions of
//! what `tonic-prost-build` generates from
//!
//! ```text
//! syntax = "proto3";
//! package ileap;
//!
//! service TransportActivity {
//!   rpc ListTransportActivities(ListTransportActivitiesRequest) returns (ListTransportActivitiesResponse);
//! }
//! message ListTransportActivitiesRequest { string mode = 1; }  // "" for every mode
//! message ListTransportActivitiesResponse {
//!   string user_id = 1;
//!   string organization_id = 2;
//!   repeated TransportActivityData activities = 3;
//! }
//! message TransportActivityData {
//!   string activity_id = 1;
//!   string mode = 2;
//!   string origin = 3;
//!   string destination = 4;
//!   string mass_kg = 5;
//! }
//! ```
//!
//! With `--serve`, e.g. `grpcurl -plaintext -proto ileap.proto -H "authorization: Bearer $TOKEN"
//! 127.0.0.1:50051 ileap.TransportActivity/ListTransportActivities` calls it with that file.

mod common;

use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use clerk_basic_auth::{ClerkBasicAuthLayer, ClerkClaims};
use http::uri::PathAndQuery;
use serde_json::Value;
use tonic::body::Body;
use tonic::codegen::BoxFuture;
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Response, Status};
use tonic_prost::ProstCodec;

// ---- Messages -------------------------------------------------------------------------------

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListTransportActivitiesRequest {
    /// Only activities of this mode (`Road`, `Rail`, `Sea`, ...); empty for all.
    #[prost(string, tag = "1")]
    pub mode: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ListTransportActivitiesResponse {
    #[prost(string, tag = "1")]
    pub user_id: String,
    #[prost(string, tag = "2")]
    pub organization_id: String,
    #[prost(message, repeated, tag = "3")]
    pub activities: Vec<TransportActivityData>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TransportActivityData {
    #[prost(string, tag = "1")]
    pub activity_id: String,
    #[prost(string, tag = "2")]
    pub mode: String,
    #[prost(string, tag = "3")]
    pub origin: String,
    #[prost(string, tag = "4")]
    pub destination: String,
    #[prost(string, tag = "5")]
    pub mass_kg: String,
}

// ---- The handler ----------------------------------------------------------------------------

/// `ListTransportActivities`: the activities of the caller's organization.
async fn list_transport_activities(
    request: Request<ListTransportActivitiesRequest>,
) -> Result<Response<ListTransportActivitiesResponse>, Status> {
    // The layer admitted the call and put the token's verified claims into the extensions.
    let claims =
        request.extensions().get::<ClerkClaims>().ok_or_else(|| Status::unauthenticated("no verified Clerk token"))?;
    let organization =
        claims.organization().ok_or_else(|| Status::permission_denied("the token is not for an organization"))?;
    let mode = request.get_ref().mode.as_str();
    // The demo has data for its one organization only.
    let rows = if organization.id() == common::DEMO_ORG { common::transport_activity_data() } else { Vec::new() };
    let activities = rows
        .iter()
        .filter(|row| mode.is_empty() || row["mode"] == mode)
        .map(|row| {
            let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
            TransportActivityData {
                activity_id: text(&row["activityId"]),
                mode: text(&row["mode"]),
                origin: text(&row["origin"]["city"]),
                destination: text(&row["destination"]["city"]),
                mass_kg: text(&row["mass"]),
            }
        })
        .collect();
    Ok(Response::new(ListTransportActivitiesResponse {
        user_id: claims.user_id().to_owned(),
        organization_id: organization.id().to_owned(),
        activities,
    }))
}

// ---- Service glue, as tonic-build would generate it -----------------------------------------

const LIST_TRANSPORT_ACTIVITIES: &str = "/ileap.TransportActivity/ListTransportActivities";

/// The server side: routes a request by its path to the handler above.
#[derive(Clone)]
struct TransportActivityServer;

impl NamedService for TransportActivityServer {
    const NAME: &'static str = "ileap.TransportActivity";
}

impl tower::Service<http::Request<Body>> for TransportActivityServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match request.uri().path() {
            LIST_TRANSPORT_ACTIVITIES => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(tower::service_fn(list_transport_activities), request).await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) }),
        }
    }
}

/// The client side.
struct TransportActivityClient {
    grpc: tonic::client::Grpc<Channel>,
}

impl TransportActivityClient {
    fn new(channel: Channel) -> Self {
        Self { grpc: tonic::client::Grpc::new(channel) }
    }

    async fn list_transport_activities(
        &mut self,
        request: Request<ListTransportActivitiesRequest>,
    ) -> Result<Response<ListTransportActivitiesResponse>, Status> {
        self.grpc.ready().await.map_err(|error| Status::unavailable(format!("the channel is not ready: {error}")))?;
        let path = PathAndQuery::from_static(LIST_TRANSPORT_ACTIVITIES);
        self.grpc.unary(request, path, ProstCodec::default()).await
    }
}

// ---- The demo -------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,h2=warn,hyper=warn".into()),
        )
        .init();

    let bind: SocketAddr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:50051".into()).parse()?;
    let keep_serving = std::env::args().skip(1).any(|arg| arg == "--serve");

    // The fake Clerk stops when dropped: keep it for as long as the server runs.
    let clerk = common::demo_clerk().await;
    tracing::info!(url = clerk.url(), "started the fake Clerk");
    // The recommended setup: the secret key (Device Trust does not stop Backend API sign-ins),
    // the demo organization, and hour-long tokens of the `pact` template.
    let config = common::demo_config(&clerk)?;

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::builder()
        .accept_http1(true) // for POST /auth/token over HTTP/1.1; gRPC stays HTTP/2
        .layer(ClerkBasicAuthLayer::new(config))
        .add_service(TransportActivityServer)
        .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
            let _ = stopped.await;
        });
    let server = tokio::spawn(server);
    tracing::info!("gRPC and POST /auth/token on http://{addr}");

    let walkthrough = walkthrough(addr).await;
    if walkthrough.is_ok() && keep_serving {
        println!("Serving on http://{addr} until Ctrl-C.");
        tokio::signal::ctrl_c().await?;
    }
    let _ = stop.send(());
    server.await??;
    walkthrough
}

async fn walkthrough(addr: SocketAddr) -> Result<(), Box<dyn Error>> {
    // 1. A token from the layer's token endpoint, over HTTP/1.1 on the gRPC port.
    let token_response: Value = reqwest::Client::new()
        .post(format!("http://{addr}/auth/token"))
        .basic_auth(common::DEMO_USER, Some(common::DEMO_PASSWORD))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = token_response["access_token"].as_str().ok_or("the token response has no access_token")?;
    println!("\n1. POST http://{addr}/auth/token as {} -> a Clerk token (JWT template pact)", common::DEMO_USER);

    let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    let mut client = TransportActivityClient::new(channel);

    // 2. The call with the token in the `authorization` metadata.
    let mut request = Request::new(ListTransportActivitiesRequest { mode: String::new() });
    request.metadata_mut().insert("authorization", format!("Bearer {token}").parse()?);
    let response = client.list_transport_activities(request).await?.into_inner();
    println!(
        "\n2. ListTransportActivities with authorization: Bearer <token> -> OK, for {} of {}:",
        response.user_id, response.organization_id
    );
    for activity in &response.activities {
        println!(
            "     {}  {:<5} {} -> {} ({} kg)",
            activity.activity_id, activity.mode, activity.origin, activity.destination, activity.mass_kg
        );
    }

    // 3. The same call without a token: the layer answers, the handler never runs.
    let anonymous = Request::new(ListTransportActivitiesRequest { mode: "Road".into() });
    match client.list_transport_activities(anonymous).await {
        Err(status) if status.code() == Code::Unauthenticated => {
            println!("\n3. ListTransportActivities without a token -> {:?}: {}\n", status.code(), status.message());
            Ok(())
        }
        other => Err(format!("expected UNAUTHENTICATED without a token, got {other:?}").into()),
    }
}
