//! The integration tests, one module per subject, in one test binary: a binary per file would
//! link the crate and its dependencies (tokio, hyper, reqwest, tonic) once per file.
//!
//! Two tests keep binaries of their own, because each installs a process-wide handler that every
//! other test would write to: `tests/metrics.rs` (the `metrics` recorder) and
//! `tests/no_secrets_in_logs.rs` (the tracing subscriber).
//!
//! Run one subject with `cargo test --all-features --test integration abuse::`.

#[path = "../common/mod.rs"]
mod common;

mod abuse;
mod backend_api;
mod clerk_errors;
mod client_tokens;
mod device_trust;
mod discovery;
mod error_styles;
mod fake_clerk;
mod grpc;
mod hyper;
mod jwt_templates;
mod organizations;
mod outage_mode;
mod protection;
mod proxy;
mod sessions;
mod shared_sessions;
mod signing_keys;
mod token_categories;
mod token_endpoint;
mod verified_token_cache;
