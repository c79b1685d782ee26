//! An iLEAP / PACT demo server on axum, protected by `ClerkBasicAuthLayer`.
//!
//! ```text
//! cargo run --example axum_demo
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
//! Routes (see `examples/pact/mod.rs`): PACT v2 (`/2/footprints`, `/2/footprints/{id}`,
//! `/2/events`), PACT v3 (`/3/footprints` with its filters, `/3/footprints/{id}`, `/3/events`),
//! iLEAP (`/2/ileap/tad`), `/me` and the public `/health`. Pagination links honour
//! `Forwarded`, `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Prefix` from a reverse
//! proxy that terminates TLS.

mod common;
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
    let config = config.with_public_path("/health");

    let addr = listener.local_addr()?;
    tracing::info!("listening on http://{addr}");
    if !real_clerk {
        print_usage(addr);
    }
    axum::serve(listener, pact::app(config)).with_graceful_shutdown(shutdown()).await?;
    Ok(())
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
