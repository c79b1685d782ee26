//! The fake's request counters.

/// Request counters of a [`FakeClerk`](super::FakeClerk). Requests are counted when they arrive
/// on their route, whatever the answer (faults included); `sign_ins` and `sessions_created` count
/// outcomes.
///
/// ```
/// use clerk_basic_auth::testing::FakeClerkStats;
///
/// let expected = FakeClerkStats { sign_ins: 1, sessions_created: 1, ..Default::default() };
/// assert_eq!(expected.touches, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FakeClerkStats {
    /// `POST /v1/client/sign_ins` requests.
    pub sign_in_attempts: u64,
    /// Sign-ins that completed (status `complete`).
    pub sign_ins: u64,
    /// `POST /v1/client/sessions/{id}/touch` requests.
    pub touches: u64,
    /// `POST /v1/client/sessions/{id}/tokens` and `/tokens/{template}` requests.
    pub token_mints: u64,
    /// `GET /.well-known/jwks.json` requests.
    pub jwks_fetches: u64,
    /// Sessions created.
    pub sessions_created: u64,
}
