//! `ClerkBasicAuthLayer` in front of a bare hyper 1 server, no framework.
//!
//! ```text
//! cargo run --example hyper_demo
//! ```
//!
//! It starts the crate's fake Clerk on loopback with the demo user `ileap-demo@way.cloud` /
//! `HelloPrimaryData` (admin of organization `org_2xDemo`) and the JWT template `pact` (an hour's
//! lifetime), configures the layer the recommended way (the fake's secret key and Backend API, so
//! Clerk's Device Trust does not stop the sign-in; the organization; the template), and serves
//! HTTP/1.1 on `BIND_ADDR` (default `127.0.0.1:8081`) until Ctrl-C. Every connection gets
//! `TowerToHyperService::new(ServiceBuilder::new().layer(layer).service_fn(handler))`: the layer
//! answers `POST /auth/token` and the discovery routes itself, lets `/health` through, and passes
//! every other request to `handler` only with a valid token, whose `ClerkClaims` the handler
//! reads from `request.extensions()`.

mod common;

use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;

use bytes::Bytes;
use clerk_basic_auth::{ClerkBasicAuthLayer, ClerkClaims};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tower::ServiceBuilder;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,hyper=warn".into()),
        )
        .init();

    let bind: SocketAddr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8081".into()).parse()?;
    // The fake Clerk stops when dropped: keep it for as long as the server runs.
    let clerk = common::demo_clerk().await;
    tracing::info!(url = clerk.url(), "started the fake Clerk");
    // The recommended setup: the secret key (Device Trust does not stop Backend API sign-ins),
    // the demo organization, and hour-long tokens of the `pact` template.
    let config = common::demo_config(&clerk)?.with_public_path("/health");
    // Build the layer once: its clones share the sessions, the keys and the verified tokens.
    let layer = ClerkBasicAuthLayer::new(config);

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    tracing::info!("listening on http://{addr}");
    print_usage(addr);

    let mut shutdown = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(ServiceBuilder::new().layer(layer.clone()).service_fn(handler));
        tokio::spawn(async move {
            if let Err(error) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(%error, "connection failed");
            }
        });
    }
    Ok(())
}

/// Every route the layer lets through.
async fn handler(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() == "/health" {
        return Ok(text(StatusCode::OK, "ok"));
    }
    // Anything that got here past the layer carries the claims of a verified token.
    let Some(claims) = request.extensions().get::<ClerkClaims>() else {
        return Ok(text(StatusCode::INTERNAL_SERVER_ERROR, "no Clerk claims: is the layer in front?"));
    };
    let response = match (request.method(), request.uri().path()) {
        (&Method::GET, "/me") => {
            let organization = claims.organization().map(
                |org| json!({"id": org.id(), "slug": org.slug(), "role": org.role(), "permissions": org.permissions()}),
            );
            json_response(
                StatusCode::OK,
                &json!({"user_id": claims.user_id(), "session_id": claims.session_id(), "organization": organization}),
            )
        }
        (&Method::GET, "/2/ileap/tad") => {
            json_response(StatusCode::OK, &json!({"data": common::transport_activity_data()}))
        }
        (&Method::GET, "/2/footprints") => json_response(StatusCode::OK, &json!({"data": common::footprints()})),
        _ => json_response(StatusCode::NOT_FOUND, &json!({"code": "NotFound", "message": "no such route"})),
    };
    Ok(response)
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

fn print_usage(addr: SocketAddr) {
    println!(
        "\nTry it:\n\n  \
         TOKEN=$(curl -s -u {user}:{password} -d grant_type=client_credentials http://{addr}/auth/token | jq -r .access_token)\n  \
         curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/me\n  \
         curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/2/ileap/tad\n  \
         curl -i http://{addr}/2/footprints   # no token: 400 BadRequest\n  \
         curl http://{addr}/health\n",
        user = common::DEMO_USER,
        password = common::DEMO_PASSWORD,
    );
}
