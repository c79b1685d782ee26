//! The fake's request counters.

/// Request counters of a [`FakeClerk`](super::FakeClerk). Requests are counted when they arrive
/// on their route, whatever the answer (faults and refusals included); `sign_ins`,
/// `sessions_created`, `client_trust_prompts`, `outage_refusals`, `expired_token_mints` and
/// `client_token_rotations` count outcomes.
///
/// ```
/// use clerk_basic_auth::testing::FakeClerkStats;
///
/// let expected = FakeClerkStats { sign_ins: 1, sessions_created: 1, ..Default::default() };
/// assert_eq!(expected.touches, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FakeClerkStats {
    /// `POST /v1/client/sign_ins` requests (password and ticket).
    pub sign_in_attempts: u64,
    /// Sign-ins that completed (status `complete`).
    pub sign_ins: u64,
    /// Sign-ins answered `needs_client_trust` (Device Trust, or a user that always needs it).
    pub client_trust_prompts: u64,
    /// `POST /v1/client/sessions/{id}/touch` requests.
    pub touches: u64,
    /// Sessions ended by `POST /v1/client/sessions/{id}/end`.
    pub session_ends: u64,
    /// `POST /v1/client/sessions/{id}/tokens` and `/tokens/{template}` requests.
    pub token_mints: u64,
    /// `GET /.well-known/jwks.json` requests.
    pub jwks_fetches: u64,
    /// Sessions created.
    pub sessions_created: u64,
    /// Token calls refused with `422 missing_expired_token` in outage mode.
    pub outage_refusals: u64,
    /// Tokens minted in outage mode from a call that carried the session's last token as
    /// `expired_token` (the retry clerk-js makes).
    pub expired_token_mints: u64,
    /// Client tokens replaced by a new one in an answer's `Authorization` header.
    pub client_token_rotations: u64,
    /// Backend API `GET /v1/users` requests.
    pub user_lists: u64,
    /// Backend API `POST /v1/users/{id}/verify_password` requests.
    pub password_checks: u64,
    /// Backend API `POST /v1/sign_in_tokens` requests.
    pub sign_in_token_requests: u64,
}
