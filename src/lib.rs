//! clerk-basic-auth: a tower layer that lets OAuth2 client-credentials clients (iLEAP, PACT)
//! sign in with their Clerk users.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authorize;
mod body;
mod claims;
mod clerk;
mod config;
mod credentials;
mod discovery;
mod layer;
mod protect;
mod rejection;
mod routes;
mod secret;
mod token_endpoint;
mod verify;

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;

pub use authorize::AccessRule;
pub use body::ResponseBody;
pub use claims::{ClerkClaims, Organization};
pub use config::{
    ClerkBasicAuthConfig, ConfigError, ENV_AUTHORIZED_PARTIES, ENV_FRONTEND_API_URL, ENV_JWT_KEY, ENV_JWT_TEMPLATE,
    ENV_ORGANIZATION_ID, ENV_PUBLISHABLE_KEY,
};
pub use layer::{ClerkBasicAuth, ClerkBasicAuthLayer, ResponseFuture};
pub use rejection::ErrorStyle;
pub use verify::{AuthError, AuthErrorKind};

/// The README's examples, compiled as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
