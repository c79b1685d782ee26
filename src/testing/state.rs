//! The fake instance's state: users, organizations, clients, sessions, sign-in tokens, the rate
//! limits, counters, faults and latency, with the lookups the operations share. No HTTP and no
//! JSON here: the operations ([`sign_in`](super::sign_in),
//! [`session_calls`](super::session_calls), [`backend`](super::backend)) take parsed parameters
//! and return what happened (an outcome) or an [`ApiError`](super::api_error::ApiError).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use super::config::Config;
use super::fault::Fault;
use super::fixtures::{FakeOrganization, FakeUser};
use super::lockout::Lockout;
use super::rate_limit::RateLimit;
use super::records::{ClientRecord, SessionRecord, SessionStatus, SignInTokenRecord, UserRecord};
use super::stats::FakeClerkStats;
use super::time::now_ms;

/// Everything the fake knows; behind one `Mutex`, never held across an await.
pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) users: Vec<UserRecord>,
    pub(crate) orgs: Vec<FakeOrganization>,
    pub(crate) clients: HashMap<String, ClientRecord>,
    pub(crate) sessions: HashMap<String, SessionRecord>,
    /// Backend API sign-in tokens, by their token (the `ticket`).
    pub(crate) sign_in_tokens: HashMap<String, SignInTokenRecord>,
    /// Every client token handed out, rotated-away ones included.
    pub(crate) handed_out: Vec<String>,
    pub(crate) sign_in_rate: RateLimit<IpAddr>,
    pub(crate) backend_rate: RateLimit<()>,
    pub(crate) stats: FakeClerkStats,
    pub(crate) fault: Option<Fault>,
    pub(crate) jwks_fault: Option<Fault>,
    pub(crate) backend_fault: Option<Fault>,
    pub(crate) toggles: Toggles,
    pub(crate) latency: Duration,
    user_latency: Vec<(String, Duration)>,
}

/// Behaviours a test switches on and off while the fake runs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Toggles {
    /// Every sign-in answers 401 `requires_captcha`.
    pub(crate) requires_captcha: bool,
    /// Token calls want the session's last token as `expired_token` (Clerk's outage mode).
    pub(crate) outage_mode: bool,
    /// Calls on sessions answer an empty `Authorization` header and drop the client.
    pub(crate) drop_clients: bool,
    /// Sessions in sign-in and touch answers carry `last_active_token: null`.
    pub(crate) omit_last_active_token: bool,
}

impl State {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            users: Vec::new(),
            orgs: Vec::new(),
            clients: HashMap::new(),
            sessions: HashMap::new(),
            sign_in_tokens: HashMap::new(),
            handed_out: Vec::new(),
            sign_in_rate: RateLimit::default(),
            backend_rate: RateLimit::default(),
            stats: FakeClerkStats::default(),
            fault: None,
            jwks_fault: None,
            backend_fault: None,
            toggles: Toggles::default(),
            latency: Duration::ZERO,
            user_latency: Vec::new(),
        }
    }

    /// Adds a user, replacing one with the same id.
    pub(crate) fn add_user(&mut self, user: FakeUser) {
        self.users.retain(|record| record.user.id != user.id);
        self.users.push(UserRecord { user, created_at: now_ms(), lockout: Lockout::default() });
    }

    /// Adds an organization, replacing one with the same id.
    pub(crate) fn add_organization(&mut self, org: FakeOrganization) {
        self.orgs.retain(|known| known.id != org.id);
        self.orgs.push(org);
    }

    /// Delays answers about the user named `identifier` (sign-ins with that identifier, and
    /// calls on that user's sessions).
    pub(crate) fn set_user_latency(&mut self, identifier: &str, latency: Duration) {
        self.user_latency.retain(|(known, _)| !known.eq_ignore_ascii_case(identifier));
        self.user_latency.push((identifier.to_owned(), latency));
    }

    /// The delay before answering: the global latency plus the latency of the user named by
    /// `identifier` or owning `session_id`.
    pub(crate) fn latency_for(&self, identifier: Option<&str>, session_id: Option<&str>) -> Duration {
        let user = session_id
            .and_then(|sid| self.sessions.get(sid))
            .and_then(|session| self.user_by_id(&session.user_id))
            .or_else(|| identifier.and_then(|id| self.user_by_identifier(id)));
        let per_user = self
            .user_latency
            .iter()
            .filter(|(known, _)| {
                identifier.is_some_and(|id| known.eq_ignore_ascii_case(id))
                    || user.is_some_and(|record| record.user.is_identified_by(known))
            })
            .map(|(_, latency)| *latency)
            .max()
            .unwrap_or_default();
        self.latency + per_user
    }

    /// Sets the password of the user named `identifier`; whether there is such a user.
    pub(crate) fn set_password(&mut self, identifier: &str, password: &str) -> bool {
        match self.users.iter_mut().find(|record| record.user.is_identified_by(identifier)) {
            Some(record) => {
                record.user.password = password.to_owned();
                true
            }
            None => false,
        }
    }

    /// Revokes every signed-in session of the user named `identifier`; returns how many.
    pub(crate) fn revoke_sessions(&mut self, identifier: &str) -> usize {
        let Some(user_id) = self.user_by_identifier(identifier).map(|record| record.user.id.clone()) else {
            return 0;
        };
        let now = now_ms();
        let mut revoked = 0;
        for session in self.sessions.values_mut() {
            if session.user_id == user_id && session.status.is_signed_in() {
                session.status = SessionStatus::Revoked;
                session.updated_at = now;
                revoked += 1;
            }
        }
        revoked
    }

    pub(crate) fn user_by_identifier(&self, identifier: &str) -> Option<&UserRecord> {
        self.users.iter().find(|record| record.user.is_identified_by(identifier))
    }

    pub(crate) fn user_by_id(&self, user_id: &str) -> Option<&UserRecord> {
        self.users.iter().find(|record| record.user.id == user_id)
    }

    pub(crate) fn org_by_id(&self, org_id: &str) -> Option<&FakeOrganization> {
        self.orgs.iter().find(|org| org.id == org_id)
    }

    /// The client holding `token`, if any (an empty token names no client).
    pub(crate) fn client(&self, token: &str) -> Option<&ClientRecord> {
        self.clients.get(token).filter(|_| !token.is_empty())
    }

    /// The signed-in sessions of the client `client_token`.
    pub(crate) fn signed_in_sessions<'a>(&'a self, client_token: &str) -> impl Iterator<Item = &'a SessionRecord> + 'a {
        let ids = self.clients.get(client_token).map(|client| client.session_ids.as_slice()).unwrap_or_default();
        ids.iter().filter_map(|id| self.sessions.get(id)).filter(|session| session.status.is_signed_in())
    }

    /// Every client token handed out so far, rotated-away ones included.
    pub(crate) fn client_tokens(&self) -> Vec<String> {
        self.handed_out.clone()
    }
}
