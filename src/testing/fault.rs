//! The faults a test can inject into the fake's answers.

use std::time::Duration;

/// A fault the fake injects into its answers, set with [`FakeClerk::set_fault`] (Frontend API
/// routes) or [`FakeClerk::set_jwks_fault`] (the JWKS route).
///
/// [`FakeClerk::set_fault`]: super::FakeClerk::set_fault
/// [`FakeClerk::set_jwks_fault`]: super::FakeClerk::set_jwks_fault
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status (e.g. 500, 502, 503) and Clerk's `internal_clerk_error` body.
    ServerError(u16),
    /// Read the request, then close the connection without answering.
    Down,
    /// Answer 200 `application/json` with truncated JSON.
    Garbage,
    /// Answer 429 `too_many_requests` with `Retry-After` (whole seconds, rounded up).
    RateLimited {
        /// The wait announced in `Retry-After`.
        retry_after: Duration,
    },
}
