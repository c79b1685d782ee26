//! A [tower](https://docs.rs/tower) layer that bridges OAuth 2.0 client-credentials clients (iLEAP, PACT) to users kept
//! in [Clerk](https://clerk.com).
//!
//! Put [`ClerkBasicAuthLayer`] on any tower-compatible server (axum, tonic, hyper) and it
//!
//! 1. serves the token endpoint `POST /auth/token`: a client sends its credentials (HTTP Basic,
//!    raw or form-encoded, or `client_secret_post`) and `grant_type=client_credentials`; the
//!    layer signs that user in at Clerk (with the instance's secret key through the Backend API
//!    and a one-time sign-in token, or with the password at the Frontend API), optionally
//!    activates an organization, and answers with an OAuth 2.0 access token, which is Clerk's own
//!    JWT (a session token, or a JWT template's);
//! 2. protects the other routes: it verifies `Authorization: Bearer <jwt>` against Clerk's keys
//!    and puts the verified [`ClerkClaims`] into the request extensions; a request without a valid
//!    token never reaches the inner service;
//! 3. answers every failure the way iLEAP/PACT clients expect: RFC 6749 JSON errors on the token
//!    endpoint, `{"code", "message"}` bodies on protected routes by route (PACT v3 under `/3/`,
//!    iLEAP under `/2/ileap/`, PACT v2 elsewhere; [`ErrorStyle`]), gRPC statuses for gRPC
//!    requests; it serves OpenID Connect and RFC 8414 discovery too.
//!
//! It is kind to Clerk and to the users: a credential's Clerk session is signed in once and
//! reused, tokens are refreshed from it, concurrent requests share one call, failed sign-ins are
//! throttled per user (never the credential that last succeeded), sign-ins are limited per client
//! address, and Clerk's rate limit is honoured. The README has the details and the guarantees.
//!
//! # Setup
//! ```
//! use axum::{routing::get, Extension, Router};
//! use clerk_basic_auth::{AccessRule, ClerkBasicAuthConfig, ClerkBasicAuthLayer, ClerkClaims};
//!
//! async fn list_footprints(Extension(claims): Extension<ClerkClaims>) -> String {
//!     let organization = claims.organization().map_or("personal account", |org| org.id());
//!     format!("footprints of {organization} for {}", claims.user_id())
//! }
//!
//! # fn main() -> Result<(), clerk_basic_auth::ConfigError> {
//! // In production: ClerkBasicAuthConfig::from_env()? (CLERK_PUBLISHABLE_KEY, CLERK_SECRET_KEY, ...).
//! let config = ClerkBasicAuthConfig::new("https://clerk.example.com")?
//!     .with_organization("org_2xDemo")
//!     .with_jwt_template("pact")
//!     .with_public_path("/health")
//!     .with_access_rule(AccessRule::for_prefix("/2/").require_permission("org:footprints:read"));
//! let app: Router = Router::new()
//!     .route("/2/footprints", get(list_footprints))
//!     .route("/health", get(|| async { "ok" }))
//!     .layer(ClerkBasicAuthLayer::new(config));
//! # Ok(()) }
//! ```
//!
//! The same layer goes on `tonic::transport::Server::builder().layer(...)`, and through
//! `hyper_util::service::TowerToHyperService` on a bare hyper server; their handlers read
//! `request.extensions().get::<ClerkClaims>()`. Every setting, its default and its environment
//! variable: [`ClerkBasicAuthConfig`] and [`ClerkBasicAuthConfig::from_env`].
//!
//! # The token endpoint
//! `POST /auth/token` ([`ClerkBasicAuthConfig::with_token_path`]): credentials in, a Clerk JWT out
//! (`{"access_token", "token_type": "Bearer", "expires_in"}`, `Cache-Control: no-store`). With
//! [`ClerkBasicAuthConfig::with_secret_key`], Clerk's Device Trust does not stop the sign-ins;
//! [`ClerkBasicAuthConfig::with_jwt_template`] hands out template tokens of the lifetime you set
//! in Clerk (an hour suits client-credentials clients).
//!
//! # Protected routes
//! Every other route but the discovery routes and [public paths](ClerkBasicAuthConfig::with_public_path)
//! needs a valid token: RS256 with Clerk's keys, the instance's issuer, not expired, a session
//! (or the configured template's) token, and the [`AccessRule`]s of its path.
//!
//! # Errors
//! Refusals on protected routes are [`AuthError`]s, answered in the [`ErrorStyle`] of the route
//! ([`ClerkBasicAuthConfig::with_error_style_for`]); configuration mistakes are [`ConfigError`]s
//! when the configuration is built, so building the layer never fails.
//!
//! # Running replicas
//! With the `redis` feature, [`SessionStore::redis`](SessionStore) shares sessions, failure
//! budgets and backoffs between replicas ([`ClerkBasicAuthConfig::with_session_store`]): one
//! sign-in per credential across the fleet, no new sign-ins after a restart.
//!
//! # Testing
//! With the `test-util` feature, `testing::FakeClerk` runs a fake Clerk (Frontend and Backend
//! API) on loopback that speaks Clerk's wire format with Clerk's defaults for a new application,
//! so your own tests need no Clerk account.
//!
//! # Features
//! | feature | gives |
//! |---|---|
//! | (none) | the layer, its configuration, in-process sessions |
//! | `redis` | `SessionStore::redis`: sessions, budgets and backoffs shared by replicas through Redis or Valkey |
//! | `test-util` | `testing::FakeClerk`, a fake Clerk on loopback for your tests |
//!
//! Operators see counters and histograms through the [`metrics`](https://docs.rs/metrics) facade
//! (names in the README) and events through [`tracing`](https://docs.rs/tracing); neither ever
//! carries a password, a token or a secret key.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth_error;
mod auth_header;
mod body;
mod claims;
mod clerk;
mod clock;
mod config;
mod discovery;
mod layer;
#[cfg(test)]
mod proptests;
mod protect;
mod routes;
mod secret;
mod telemetry;
mod token_endpoint;
mod verify;

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;

#[cfg(fuzzing)]
#[doc(hidden)]
#[allow(missing_docs)]
pub mod fuzzing;

pub use auth_error::{AuthError, AuthErrorKind};
pub use body::ResponseBody;
pub use claims::{ClerkClaims, Organization};
pub use clerk::store::SessionStore;
pub use config::{ClerkBasicAuthConfig, ConfigError};
pub use layer::{ClerkBasicAuth, ClerkBasicAuthLayer, ResponseFuture};
pub use protect::{AccessRule, ErrorStyle};

/// The README's examples, compiled as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
