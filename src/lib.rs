//! A [tower](https://docs.rs/tower) layer that bridges OAuth 2.0 client-credentials clients (iLEAP, PACT) to users kept
//! in [Clerk](https://clerk.com).
//!
//! Put [`ClerkBasicAuthLayer`] on any tower-compatible server (axum, tonic, hyper) and it
//!
//! 1. serves the token endpoint `POST /auth/token`: a client sends HTTP Basic credentials and
//!    `grant_type=client_credentials`; the layer signs that user in at Clerk's Frontend API
//!    (password strategy, native mode), optionally activates an organization, and answers with an
//!    OAuth 2.0 access token, which is Clerk's own JWT;
//! 2. protects the other routes: it verifies `Authorization: Bearer <jwt>` against Clerk's keys
//!    and puts the verified [`ClerkClaims`] into the request extensions; a request without a valid
//!    token never reaches the inner service;
//! 3. answers every failure the way iLEAP/PACT clients expect: RFC 6749 JSON errors on the token
//!    endpoint, `{"code", "message"}` bodies on protected routes ([`ErrorStyle`]), gRPC statuses
//!    for gRPC requests; it serves OpenID Connect discovery too.
//!
//! It is kind to Clerk: a credential's Clerk session is signed in once and reused, tokens are
//! refreshed from it, concurrent requests share one call, failed sign-ins are throttled, and
//! Clerk's rate limit is honoured. See the README for the caching trade-off.
//!
//! # Example
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
//! // In production: ClerkBasicAuthConfig::from_env()? (CLERK_PUBLISHABLE_KEY, ...).
//! let config = ClerkBasicAuthConfig::new("https://clerk.example.com")?
//!     .with_organization("org_2xDemo")
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
//! `request.extensions().get::<ClerkClaims>()`.
//!
//! # Testing
//! With the `test-util` feature, `testing::FakeClerk` runs a fake Clerk Frontend API on loopback
//! that speaks Clerk's wire format, so your own tests need no Clerk account.
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
