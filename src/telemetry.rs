//! What an operator sees, through the `metrics` facade (install any recorder, e.g. a Prometheus
//! exporter, to collect them). Every label value is a fixed string of this file's callers: no
//! identifier, password, token or client address can reach a label.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `clerk_basic_auth_token_requests_total` | counter | `result`: `cached`, `renewed`, `refused` |
//! | `clerk_basic_auth_sign_ins_total` | counter | `outcome`: `success`, `wrong_credentials`, `user_step`, `deployment`, `unavailable`, `rate_limited`, `session_gone` |
//! | `clerk_basic_auth_throttled_total` | counter | `reason`: `failure_budget`, `lockout_protection`, `client_address`, `clerk_backoff` |
//! | `clerk_basic_auth_refusals_total` | counter | `kind`: `missing`, `invalid`, `expired`, `forbidden`, `unavailable` |
//! | `clerk_basic_auth_verified_tokens_total` | counter | `result`: `cached`, `verified` |
//! | `clerk_basic_auth_clerk_call_seconds` | histogram | `call`: `fapi_sign_in`, `fapi_touch`, `fapi_tokens`, `fapi_jwks`, `bapi_users`, `bapi_verify_password`, `bapi_sign_in_tokens`; `outcome`: `ok`, `error` |

//!
//! The counters on the hot paths (cached token requests, remembered and newly verified tokens)
//! are registered with the recorder once, at their first use: install the recorder before the
//! first request.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::Counter;

use crate::auth_error::AuthErrorKind;

/// A request answered from the session cache: the hot path of the token endpoint.
pub(crate) fn cached_token_request() {
    static CACHED: OnceLock<Counter> = OnceLock::new();
    CACHED
        .get_or_init(|| metrics::counter!("clerk_basic_auth_token_requests_total", "result" => "cached"))
        .increment(1);
}

pub(crate) fn token_request(result: &'static str) {
    metrics::counter!("clerk_basic_auth_token_requests_total", "result" => result).increment(1);
}

pub(crate) fn sign_in(outcome: &'static str) {
    metrics::counter!("clerk_basic_auth_sign_ins_total", "outcome" => outcome).increment(1);
}

pub(crate) fn throttled(reason: &'static str) {
    metrics::counter!("clerk_basic_auth_throttled_total", "reason" => reason).increment(1);
}

pub(crate) fn refused(kind: AuthErrorKind) {
    let kind = match kind {
        AuthErrorKind::Missing => "missing",
        AuthErrorKind::Invalid => "invalid",
        AuthErrorKind::Expired => "expired",
        AuthErrorKind::Forbidden => "forbidden",
        AuthErrorKind::Unavailable => "unavailable",
    };
    metrics::counter!("clerk_basic_auth_refusals_total", "kind" => kind).increment(1);
}

/// A token verified before: the hot path of protected routes.
pub(crate) fn remembered_token() {
    static CACHED: OnceLock<Counter> = OnceLock::new();
    CACHED
        .get_or_init(|| metrics::counter!("clerk_basic_auth_verified_tokens_total", "result" => "cached"))
        .increment(1);
}

/// A token verified on first sight: once per token, and every request when the cache is off.
pub(crate) fn newly_verified_token() {
    static VERIFIED: OnceLock<Counter> = OnceLock::new();
    VERIFIED
        .get_or_init(|| metrics::counter!("clerk_basic_auth_verified_tokens_total", "result" => "verified"))
        .increment(1);
}

pub(crate) fn clerk_call(call: &'static str, ok: bool, took: Duration) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::histogram!("clerk_basic_auth_clerk_call_seconds", "call" => call, "outcome" => outcome)
        .record(took.as_secs_f64());
}
