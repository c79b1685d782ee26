//! The servers `scripts/load.sh` puts under load, all in one process so they share one machine
//! and one measurement: the iLEAP route `GET /2/ileap/tad` bare, behind `ClerkBasicAuthLayer`, and
//! behind jwt-authorizer's layer (the most used JWT layer for axum), plus a bare JSON handler to
//! compare the token endpoint with.
//!
//! ```text
//! cargo run --release -p peers --bin load_target -- <directory>
//! ```
//!
//! It starts a fake Clerk with 20 users (`load-00@way.cloud` ... `load-19@way.cloud`, password
//! `LoadPassword-NN`), with Clerk's per-IP sign-in limit lifted so the run measures the layer, not
//! the limit, and Device Trust off (the layer signs in with passwords, no secret key). Into `<directory>` it writes `env` (ports and a valid token, as shell variables) and
//! `basic-credentials` (the 20 `Authorization: Basic` values, one per line), then prints `ready`.
//! `GET /stats` on the bare port answers the fake Clerk's counters.

// The examples' demo user and data, shared with the crate's examples rather than copied.
#[path = "../../../examples/common/mod.rs"]
mod common;

use std::net::SocketAddr;

use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use clerk_basic_auth::testing::{FakeClerk, FakeUser};
use clerk_basic_auth::{ClerkBasicAuthConfig, ClerkBasicAuthLayer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const USERS: usize = 20;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = std::env::args().nth(1).ok_or("usage: load_target <directory>")?;
    // Device Trust off: the layer signs in with passwords at the Frontend API, as a deployment
    // without a secret key does (its operators must turn Device Trust off).
    let mut builder = FakeClerk::builder().device_trust(false).sign_in_rate_limit(u32::MAX, Duration::from_secs(10));
    for n in 0..USERS {
        builder = builder.user(FakeUser::new(format!("load-{n:02}@way.cloud"), format!("LoadPassword-{n:02}")));
    }
    let clerk = Arc::new(builder.user(FakeUser::new(common::DEMO_USER, common::DEMO_PASSWORD)).start().await);

    let tad = Router::new().route("/2/ileap/tad", get(transport_activity_data));
    let bare = tad
        .clone()
        .route("/stats", get(stats))
        .route("/token-shape", post(token_shape))
        .layer(axum::Extension(Arc::clone(&clerk)));
    let layered = tad.layer(ClerkBasicAuthLayer::new(ClerkBasicAuthConfig::new(clerk.url())?));
    let bare_addr = serve(bare).await?;
    let layer_addr = serve(layered).await?;
    let peer_addr = serve_jwt_authorizer(&clerk.public_key_pem(), clerk.url()).await?;

    // A token valid for the whole run, signed like a Clerk session token.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let token = clerk.sign_claims(json!({
        "sub": "user_load", "sid": "sess_load", "iss": clerk.url(), "iat": now, "nbf": now - 10,
        "exp": now + 3600, "v": 2, "o": {"id": "org_2xDemo", "slg": "way-demo", "rol": "admin"}
    }));
    let credentials: Vec<String> = (0..USERS)
        .map(|n| {
            let pair = format!("load-{n:02}@way.cloud:LoadPassword-{n:02}");
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
        })
        .collect();
    std::fs::write(format!("{directory}/basic-credentials"), credentials.join("\n") + "\n")?;
    std::fs::write(
        format!("{directory}/env"),
        format!("BARE={bare_addr}\nLAYER={layer_addr}\nPEER={peer_addr}\nTOKEN={token}\n"),
    )?;
    println!("ready");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

async fn serve(app: Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The same route behind jwt-authorizer 0.15 (axum 0.7), checking the same RS256 key and issuer.
async fn serve_jwt_authorizer(pem: &str, issuer: &str) -> Result<SocketAddr, Box<dyn std::error::Error>> {
    use jwt_authorizer::{IntoLayer as _, JwtAuthorizer, Validation};
    let validation = Validation::new().iss(&[issuer]).leeway(5).nbf(true);
    let authorizer = JwtAuthorizer::<Value>::from_rsa_pem_text(pem).validation(validation).build().await?;
    let app = axum07::Router::new()
        .route(
            "/2/ileap/tad",
            axum07::routing::get(|| async { axum07::Json(json!({"data": common::transport_activity_data()})) }),
        )
        .layer(authorizer.into_layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum07::serve(listener, app).await });
    Ok(addr)
}

async fn transport_activity_data() -> Json<Value> {
    Json(json!({"data": common::transport_activity_data()}))
}

/// The token endpoint's answer, from a plain handler: the floor for the token endpoint.
async fn token_shape() -> Json<Value> {
    Json(json!({"access_token": "x".repeat(900), "token_type": "Bearer", "expires_in": 59}))
}

async fn stats(axum::Extension(clerk): axum::Extension<Arc<FakeClerk>>) -> Json<Value> {
    let stats = clerk.stats();
    Json(
        json!({"sign_in_attempts": stats.sign_in_attempts, "sign_ins": stats.sign_ins, "token_mints": stats.token_mints, "jwks_fetches": stats.jwks_fetches}),
    )
}
