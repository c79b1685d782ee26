//! clerk-basic-auth: a tower layer that lets OAuth2 client-credentials clients (iLEAP, PACT)
//! sign in with their Clerk users.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod clerk;
mod config;
mod credentials;
mod layer;
mod secret;
mod token_endpoint;

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;

pub use body::ResponseBody;
pub use config::{
    ClerkBasicAuthConfig, ConfigError, ENV_FRONTEND_API_URL, ENV_JWT_TEMPLATE, ENV_ORGANIZATION_ID, ENV_PUBLISHABLE_KEY,
};
pub use layer::{ClerkBasicAuth, ClerkBasicAuthLayer, ResponseFuture};
