//! An iLEAP / PACT demo server on axum, protected by `ClerkBasicAuthLayer`.
//!
//! ```text
//! cargo run -p demo
//! ```
//!
//! With no Clerk configured it starts the crate's fake Clerk on loopback with the demo user
//! `ileap-demo@way.cloud` / `HelloPrimaryData` (admin of organization `org_2xDemo`, slug
//! `way-demo`) and the JWT template `pact` (an hour's lifetime, so OAuth clients that refresh a
//! minute early, such as authlib, do not refresh all the time). The fake has Clerk's defaults
//! for a new application, Device Trust included, so the demo configures the layer the
//! recommended way: the fake's secret key and Backend API URL, the organization, the template.
//!
//! With `CLERK_FRONTEND_API_URL` or `CLERK_PUBLISHABLE_KEY` set it uses that Clerk instead,
//! configured from the environment as `ClerkBasicAuthConfig::from_env` reads it:
//! `CLERK_PUBLISHABLE_KEY` or `CLERK_FRONTEND_API_URL`, `CLERK_PROXY_URL`, `CLERK_SECRET_KEY`
//! (recommended: without it, Clerk's Device Trust stops the sign-ins unless it is turned off),
//! `CLERK_API_URL`, `CLERK_JWT_TEMPLATE`, `CLERK_ORGANIZATION_ID`, `CLERK_JWT_KEY`.
//! `BIND_ADDR` sets the address (default `127.0.0.1:8080`); the demo binds it before anything
//! else and, when it is taken, says so in one line and exits with status 1.
//!
//! Replicas (built with `--features redis`, so the plain demo does not compile a Redis client):
//! `CLERK_SESSION_STORE_URL` (or `REDIS_URL`) and `CLERK_SESSION_STORE_SECRET` put the
//! sessions, failure budgets and backoffs in Redis, shared by every replica. `DEMO_REPLICAS=2`
//! serves two replicas from this process, on `BIND_ADDR` and the next port, sharing one (fake or
//! real) Clerk and the Redis store; with the fake Clerk and no secret set, the replicas share a
//! secret made up at start. Two processes against one real Clerk share the store the same way.
//! The token endpoint limits sign-ins per client address (the peer address of each connection).
//!
//! Routes (see `examples/pact/mod.rs`): PACT v2 (`/2/footprints`, `/2/footprints/{id}`,
//! `/2/events`), PACT v3 (`/3/footprints` with its filters, `/3/footprints/{id}`, `/3/events`),
//! iLEAP (`/2/ileap/tad`), `/me` and the public `/health`. Pagination links honour
//! `Forwarded`, `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Prefix` from a reverse
//! proxy that terminates TLS.

// Shared with the crate's tests (tests/demo/: demo_pact.rs, oauth_clients.rs), which is why they
// stay in the crate's examples/ and are published with it.
#[path = "../../examples/common/mod.rs"]
mod common;
#[path = "../../examples/pact/mod.rs"]
mod pact;

use std::net::SocketAddr;
use std::process::ExitCode;

use clerk_basic_auth::ClerkBasicAuthConfig;

#[tokio::main]
async fn main() -> ExitCode {
    // Bind first: a busy port is one line on stderr and exit status 1, before the fake Clerk
    // starts or anything else is printed.
    let listener = match pact::listen(std::env::var("BIND_ADDR").ok().as_deref()).await {
        Ok(listener) => listener,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        // RUST_LOG as a `target=level` list, e.g. `info,clerk_basic_auth=debug`.
        let filter = std::env::var("RUST_LOG").ok().and_then(|filter| filter.parse().ok());
        let filter: tracing_subscriber::filter::Targets =
            filter.unwrap_or_else(|| "info,hyper=warn".parse().expect("a valid filter"));
        tracing_subscriber::registry().with(tracing_subscriber::fmt::layer()).with(filter).init();
    }
    match serve(listener).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(listener: tokio::net::TcpListener) -> Result<(), Box<dyn std::error::Error>> {
    let real_clerk = ["CLERK_FRONTEND_API_URL", "CLERK_PUBLISHABLE_KEY"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()));
    // Keep the fake Clerk alive for as long as the server runs.
    let (config, _fake_clerk) = if real_clerk {
        (ClerkBasicAuthConfig::from_env()?, None)
    } else {
        let clerk = common::demo_clerk().await;
        tracing::info!(url = clerk.url(), "started the fake Clerk (set CLERK_FRONTEND_API_URL to use a real one)");
        (common::demo_config(&clerk)?, Some(clerk))
    };
    let config = with_session_store(config.with_public_path("/health").with_client_address(peer_address), real_clerk)?;

    let replicas: usize = std::env::var("DEMO_REPLICAS").ok().and_then(|n| n.trim().parse().ok()).unwrap_or(1).max(1);
    let addr = listener.local_addr()?;
    let mut listeners = vec![listener];
    for n in 1..replicas {
        let next = SocketAddr::new(addr.ip(), addr.port() + n as u16);
        listeners.push(pact::listen(Some(&next.to_string())).await?);
    }
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        tracing::info!("listening on http://{}", listener.local_addr()?);
        let app = pact::app(config.clone()).into_make_service_with_connect_info::<SocketAddr>();
        servers.spawn(async move { axum::serve(listener, app).with_graceful_shutdown(shutdown()).await });
    }
    if !real_clerk {
        print_usage(addr);
    }
    while let Some(served) = servers.join_next().await {
        served??;
    }
    Ok(())
}

/// The connection's peer address, which axum puts in the request extensions.
fn peer_address(request: &http::request::Parts) -> Option<std::net::IpAddr> {
    request.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
}

/// The Redis store of `CLERK_SESSION_STORE_URL` (or `REDIS_URL`), if either is set.
#[cfg(feature = "redis")]
fn with_session_store(
    config: ClerkBasicAuthConfig,
    real_clerk: bool,
) -> Result<ClerkBasicAuthConfig, Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.trim().is_empty());
    let Some(url) = var("CLERK_SESSION_STORE_URL").or_else(|| var("REDIS_URL")) else { return Ok(config) };
    let config = match (var("CLERK_SESSION_STORE_SECRET"), real_clerk) {
        (Some(secret), _) => config.with_session_store_secret(&secret)?,
        (None, false) => {
            // The fake Clerk lives in this process: so do its replicas, which share this secret.
            let mut random = [0u8; 32];
            aws_lc_rs::rand::fill(&mut random).map_err(|_| "no random source")?;
            let secret: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
            config.with_session_store_secret(&secret)?
        }
        (None, true) => return Err("set CLERK_SESSION_STORE_SECRET (the same on every replica)".into()),
    };
    tracing::info!("sessions, failure budgets and backoffs shared through Redis");
    Ok(config.with_session_store(clerk_basic_auth::SessionStore::redis(url))?)
}

/// Without the `redis` feature: no store, and a clear word if one is asked for.
#[cfg(not(feature = "redis"))]
fn with_session_store(
    config: ClerkBasicAuthConfig,
    _real_clerk: bool,
) -> Result<ClerkBasicAuthConfig, Box<dyn std::error::Error>> {
    let asked = ["CLERK_SESSION_STORE_URL", "REDIS_URL"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|value| !value.trim().is_empty()));
    if asked {
        return Err("a Redis session store needs the demo's redis feature: cargo run -p demo --features redis".into());
    }
    Ok(config)
}

fn print_usage(addr: SocketAddr) {
    println!(
        "\nTry it:\n\n  \
         TOKEN=$(curl -s -u {user}:{password} -d grant_type=client_credentials http://{addr}/auth/token | jq -r .access_token)\n  \
         curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/2/ileap/tad\n  \
         curl -i -H \"Authorization: Bearer $TOKEN\" 'http://{addr}/3/footprints?status=Active&limit=1'\n  \
         curl -H \"Authorization: Bearer $TOKEN\" 'http://{addr}/3/footprints?geography=DE&validOn=2025-06-01T00:00:00Z'\n  \
         curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/me\n  \
         curl http://{addr}/.well-known/openid-configuration\n",
        user = common::DEMO_USER,
        password = common::DEMO_PASSWORD,
    );
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
