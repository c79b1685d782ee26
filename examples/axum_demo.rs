//! An iLEAP / PACT demo server on axum, protected by `ClerkBasicAuthLayer`.
//!
//! ```text
//! cargo run --example axum_demo
//! ```
//!
//! With no Clerk configured it starts the crate's fake Clerk on loopback with the demo user
//! `ileap-demo@way.cloud` / `HelloPrimaryData` (admin of organization `org_2xDemo`, slug
//! `way-demo`). With `CLERK_FRONTEND_API_URL` or `CLERK_PUBLISHABLE_KEY` set (and optionally
//! `CLERK_ORGANIZATION_ID`, `CLERK_JWT_TEMPLATE`, `CLERK_JWT_KEY`) it uses that Clerk instead.
//! `BIND_ADDR` sets the address (default `127.0.0.1:8080`); the demo binds it before anything
//! else and, when it is taken, says so in one line and exits with status 1.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use clerk_basic_auth::{ClerkBasicAuthConfig, ClerkBasicAuthLayer, ClerkClaims};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Where the demo listens unless `BIND_ADDR` says otherwise.
const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8080";

#[tokio::main]
async fn main() -> ExitCode {
    // Bind first: a busy port is one line on stderr and exit status 1, before the fake Clerk
    // starts or anything else is printed.
    let listener = match listen(std::env::var("BIND_ADDR").ok().as_deref()).await {
        Ok(listener) => listener,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,hyper=warn".into()),
        )
        .init();
    match serve(listener).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Binds the listener on `bind` (the value of `BIND_ADDR`, or [`DEFAULT_BIND_ADDR`]). The
/// error is one line for a person: `cannot listen on 127.0.0.1:8080: address already in use
/// (set BIND_ADDR to another address)`.
async fn listen(bind: Option<&str>) -> Result<TcpListener, String> {
    let text = bind.map(str::trim).filter(|text| !text.is_empty()).unwrap_or(DEFAULT_BIND_ADDR);
    let addr: SocketAddr =
        text.parse().map_err(|_| format!("BIND_ADDR={text:?} is not an address and port like {DEFAULT_BIND_ADDR}"))?;
    TcpListener::bind(addr).await.map_err(|error| {
        let reason = match error.kind() {
            std::io::ErrorKind::AddrInUse => "address already in use".to_owned(),
            std::io::ErrorKind::AddrNotAvailable => "address not available on this machine".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => error.to_string(),
        };
        format!("cannot listen on {addr}: {reason} (set BIND_ADDR to another address)")
    })
}

async fn serve(listener: TcpListener) -> Result<(), Box<dyn std::error::Error>> {
    let real_clerk = ["CLERK_FRONTEND_API_URL", "CLERK_PUBLISHABLE_KEY"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()));
    // Keep the fake Clerk alive for as long as the server runs.
    let (config, _fake_clerk) = if real_clerk {
        (ClerkBasicAuthConfig::from_env()?, None)
    } else {
        let clerk = common::demo_clerk().await;
        tracing::info!(url = clerk.url(), "started the fake Clerk (set CLERK_FRONTEND_API_URL to use a real one)");
        (ClerkBasicAuthConfig::new(clerk.url())?.with_organization(common::DEMO_ORG), Some(clerk))
    };
    let config = config.with_public_path("/health");

    let addr = listener.local_addr()?;
    tracing::info!("listening on http://{addr}");
    if !real_clerk {
        print_usage(addr);
    }
    axum::serve(listener, app(config)).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

/// The demo's routes. The layer serves `POST /auth/token` and the discovery routes itself, and
/// admits requests to every other route but `/health` only with a valid Clerk token.
fn app(config: ClerkBasicAuthConfig) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/me", get(me))
        .route("/2/footprints", get(list_footprints))
        .route("/2/footprints/{id}", get(get_footprint))
        .route("/2/events", post(events))
        .route("/2/ileap/tad", get(transport_activity_data))
        .layer(ClerkBasicAuthLayer::new(config))
}

/// The caller, as the verified token says.
async fn me(Extension(claims): Extension<ClerkClaims>) -> Json<Value> {
    let organization = claims
        .organization()
        .map(|org| json!({"id": org.id(), "slug": org.slug(), "role": org.role(), "permissions": org.permissions()}));
    Json(json!({"user_id": claims.user_id(), "session_id": claims.session_id(), "organization": organization}))
}

/// `GET /2/footprints?limit=N&offset=M`, with a `Link: <...>; rel="next"` while more remain.
async fn list_footprints(Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let all = common::footprints();
    let number = |name: &str, default: usize| query.get(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (limit, offset) = (number("limit", all.len()).max(1), number("offset", 0));
    let page: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
    let mut response = Json(json!({"data": page})).into_response();
    if offset + limit < all.len() {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let link = format!("<http://{host}/2/footprints?limit={limit}&offset={}>; rel=\"next\"", offset + limit);
        if let Ok(value) = link.parse() {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

async fn get_footprint(Path(id): Path<String>) -> Response {
    match common::footprints().into_iter().find(|footprint| footprint["id"] == id.as_str()) {
        Some(footprint) => Json(json!({"data": footprint})).into_response(),
        None => pact_error(StatusCode::NOT_FOUND, "NoSuchFootprint", "The requested footprint could not be found"),
    }
}

/// `POST /2/events`: accepts PACT CloudEvents (it only checks that they are JSON objects).
async fn events(body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(_)) => StatusCode::OK.into_response(),
        _ => pact_error(StatusCode::BAD_REQUEST, "BadRequest", "The event must be a JSON object"),
    }
}

/// `GET /2/ileap/tad`, optionally filtered by `mode`.
async fn transport_activity_data(Query(query): Query<HashMap<String, String>>) -> Json<Value> {
    let rows: Vec<Value> = common::transport_activity_data()
        .into_iter()
        .filter(|row| query.get("mode").is_none_or(|mode| row["mode"] == mode.as_str()))
        .collect();
    Json(json!({"data": rows}))
}

fn pact_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

fn print_usage(addr: SocketAddr) {
    println!(
        "\nTry it:\n\n  \
         TOKEN=$(curl -s -u {user}:{password} -d grant_type=client_credentials http://{addr}/auth/token | jq -r .access_token)\n  \
         curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/2/ileap/tad\n  \
         curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/me\n  \
         curl http://{addr}/.well-known/openid-configuration\n",
        user = common::DEMO_USER,
        password = common::DEMO_PASSWORD,
    );
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
