//! Everything that talks to Clerk: where its Frontend API is, the client and Clerk's wire format,
//! what each of Clerk's error codes means, and the per-credential sessions with their throttles.

pub(crate) mod bapi;
pub(crate) mod call;
pub(crate) mod credentials;
pub(crate) mod error;
pub(crate) mod fapi;
pub(crate) mod frontend_api;
pub(crate) mod local_key;
pub(crate) mod sessions;
pub(crate) mod sign_in;
pub(crate) mod store;
pub(crate) mod throttle;
mod wire;
