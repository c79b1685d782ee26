//! One Clerk session per credential, reused: a cached token while it has time left, a fresh one
//! from the same session (`/tokens`) when it runs low, a new sign-in only when Clerk has ended
//! the session. Concurrent requests for one credential share one call to Clerk; failed sign-ins
//! are throttled per identifier; Clerk's own `429` is honoured for its whole `Retry-After`. With
//! a shared store, replicas adopt each other's sessions, take a lease before they sign in or
//! refresh (so one replica does it), and share failure budgets and backoffs.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwapOption;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use quick_cache::sync::Cache;
use serde::Deserialize;
use tracing::{debug, info, trace, warn};

use super::credentials::Credentials;
use super::error::{ClerkError, Meaning};
use super::fapi::{ClientToken, FapiClient, SignedIn};
use super::local_key::{LocalKey, LocalKeys};
use super::sign_in::{Attempt, Recheck, SignInMethod};
use super::store::{CredentialKey, Lease, Store, StoredSession};
use super::throttle::{Backoff, Holds, Settle, SlidingWindow};
use crate::clock::{from_unix, unix_now};
use crate::secret::Secret;
use crate::telemetry;

/// What the sessions of one layer do, each with its default.
#[derive(Debug, Clone)]
pub(crate) struct SessionSettings {
    /// Organization (id or slug) to activate on every session. Default: none.
    pub(crate) organization: Option<String>,
    /// JWT template to hand out instead of the session token. Default: none.
    pub(crate) jwt_template: Option<String>,
    /// Least time left on a cached token handed out. Default: 15 s.
    pub(crate) refresh_margin: Duration,
    /// Credentials with a cached Clerk session (and, apart, credentials being signed in). Default: 10,000.
    pub(crate) capacity: usize,
    /// Failed sign-ins per identifier within `failure_window` before Clerk is spared. Default: 5.
    pub(crate) failure_limit: u32,
    /// Default: 15 min.
    pub(crate) failure_window: Duration,
    /// Sign-in attempts per client address within `source_window`, for credentials not known
    /// to be good. Default: 30.
    pub(crate) source_limit: u32,
    /// Default: 10 min.
    pub(crate) source_window: Duration,
    /// How often a credential's password is checked again while its session lives. Default: 1 h.
    pub(crate) password_recheck: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            organization: None,
            jwt_template: None,
            refresh_margin: Duration::from_secs(15),
            capacity: 10_000,
            failure_limit: 5,
            failure_window: Duration::from_secs(15 * 60),
            source_limit: 30,
            source_window: Duration::from_secs(10 * 60),
            password_recheck: Duration::from_secs(3600),
        }
    }
}

/// How long a refusal that will not change soon (a step the user must take, this deployment's
/// setup) is answered again without asking Clerk, per credential.
const REFUSAL_MEMORY: Duration = Duration::from_secs(30);

/// How long past its due time a password check that Clerk could not answer may stay pending.
const RECHECK_GRACE: Duration = Duration::from_secs(5 * 60);
/// How often a replica that waits for another one's result looks in the shared store.
const LEASE_POLL: Duration = Duration::from_millis(50);
/// How long a shared session is kept when Clerk gave no expiry: Clerk's default session lifetime.
const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Names of Clerk's backoffs in the shared store: sign-ins, and calls on sessions.
const SIGN_INS: &str = "sign-ins";
const SESSION_CALLS: &str = "session-calls";

/// Sign-ins one client address may start within [`SOURCE_BURST_WINDOW`]: fewer than Clerk's 5
/// per 10 s per server address, so one source never spends them all.
const SOURCE_BURST: u32 = 3;
/// The same with the secret key, where wrong guesses never reach Clerk's sign-in limit.
const SOURCE_BURST_TICKET: u32 = 10;
const SOURCE_BURST_WINDOW: Duration = Duration::from_secs(10);

/// A counted sign-in attempt, to be settled when it ends.
struct Reservation {
    ticket: u64,
    /// Counted in the shared store (else in this replica's window).
    shared: bool,
}

/// Who asks for a token: the credentials, and the client address when it is known.
struct Caller {
    credentials: Credentials,
    source: Option<IpAddr>,
}

/// A unique id for one counted attempt (unique across replicas).
fn random_ticket() -> u64 {
    let mut ticket = [0; 8];
    // The system random source does not fail on supported platforms; a zero ticket would still count.
    let _ = SystemRandom::new().fill(&mut ticket);
    u64::from_be_bytes(ticket)
}

/// The block a client address counts for: an IPv4 address itself (IPv4-mapped IPv6 included),
/// an IPv6 address's /64, which one client usually holds whole.
fn address_block(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

fn hex(name: &[u8; 32]) -> String {
    name.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// How long Clerk said it is about to lock, or has locked, the user: an
/// `account_lockout_warning` (2, 1 or 0 attempts left) holds for the failure window, a
/// `user_locked` for the lockout's time.
fn announced_lockout(error: &ClerkError, window: Duration) -> Option<Duration> {
    let ClerkError::Refused(refusal) = error else { return None };
    match refusal.code.as_str() {
        "account_lockout_warning" => Some(window),
        "user_locked" => Some(refusal.lockout_expires_in.unwrap_or(Duration::from_secs(3600)).max(window)),
        _ => None,
    }
}

/// An access token to hand out: a Clerk JWT and when it expires.
#[derive(Debug)]
pub(crate) struct AccessToken {
    /// Three base64url segments joined by dots (checked when the token arrives), so the text
    /// never needs escaping wherever it is written.
    pub(crate) jwt: Secret,
    pub(crate) expires_at: SystemTime,
    /// When the password behind it must be checked again: the token is not handed out after.
    pub(crate) recheck_at: SystemTime,
    /// A quarter of its lifetime (`exp - iat`): it is handed out only while at least this much
    /// is left, so clients that refresh a minute early (authlib) get an hour-long template token
    /// with 15 minutes to spare, not one they take for expired.
    pub(crate) quarter_life: Duration,
}

impl AccessToken {
    fn from_jwt(jwt: Secret) -> Result<Self, ClerkError> {
        let compact = jwt.expose().split('.').count() == 3
            && jwt.expose().bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !compact {
            return Err(ClerkError::Malformed { reason: "a token from Clerk that is not a compact JWT".into() });
        }
        #[derive(Deserialize)]
        struct Expiry {
            exp: u64,
            #[serde(default)]
            iat: Option<u64>,
        }
        // The token comes straight from Clerk over TLS; only its expiry is read here.
        let expiry: Expiry = jsonwebtoken::dangerous::insecure_decode_claims(jwt.expose())
            .map_err(|_| ClerkError::Malformed { reason: "a token from Clerk without a readable exp".into() })?;
        let lifetime = expiry.iat.map_or(0, |iat| expiry.exp.saturating_sub(iat));
        Ok(Self {
            jwt,
            expires_at: from_unix(expiry.exp),
            recheck_at: from_unix(u64::MAX),
            quarter_life: Duration::from_secs(lifetime / 4),
        })
    }

    /// Seconds left, rounded down.
    #[cfg(test)]
    pub(crate) fn expires_in(&self) -> u64 {
        self.expires_in_at(SystemTime::now())
    }

    /// Seconds left at `now`, rounded down.
    fn expires_in_at(&self, now: SystemTime) -> u64 {
        self.expires_at.duration_since(now).map_or(0, |left| left.as_secs())
    }

    /// Whether it may be handed out: more than `margin` (or a quarter of its lifetime, if that
    /// is more) left, and its password check not due.
    fn has_left(&self, margin: Duration) -> bool {
        self.has_left_at(SystemTime::now(), margin)
    }

    /// [`has_left`](Self::has_left) at `now`.
    fn has_left_at(&self, now: SystemTime, margin: Duration) -> bool {
        let margin = margin.max(self.quarter_life);
        now < self.recheck_at && self.expires_at.duration_since(now).is_ok_and(|left| left > margin)
    }
}

/// A token as it is handed out: with the whole seconds it had left then (`expires_in`).
pub(crate) struct Handed {
    pub(crate) token: Arc<AccessToken>,
    pub(crate) expires_in: u64,
}

impl Handed {
    fn at(token: Arc<AccessToken>, now: SystemTime) -> Self {
        let expires_in = token.expires_in_at(now);
        Self { token, expires_in }
    }
}

/// Why no token could be had.
#[derive(Debug, Clone)]
pub(crate) enum SessionError {
    /// Clerk refused, failed, or could not be reached.
    Clerk(ClerkError),
    /// Too many failed sign-ins for this identifier lately: Clerk is not asked.
    Throttled { retry_after: Duration },
    /// Too many sign-ins from the client's address lately: Clerk is not asked.
    SourceLimited { retry_after: Duration },
    /// Clerk's rate limit holds (a `429` now, or one whose `Retry-After` has not passed).
    RateLimited { retry_after: Duration },
    /// The renewal task died (a bug): nothing else is known.
    Internal,
}

/// The per-credential sessions of one layer.
pub(crate) struct Sessions {
    fapi: FapiClient,
    method: SignInMethod,
    organization: Option<String>,
    template: Option<String>,
    refresh_margin: Duration,
    password_recheck: Duration,
    /// Names credentials for what replicas share, fingerprints identifiers, and (when shared)
    /// holds what replicas share.
    store: Store,
    /// Names credentials in this process's memory (`live`, `attempts`), on every request.
    local_keys: LocalKeys,
    /// Credentials with a Clerk session.
    live: Cache<LocalKey, Arc<Slot>>,
    /// Credentials being signed in, or whose sign-in failed: apart from `live`, so a flood of
    /// made-up credentials cannot push out the sessions of real clients.
    attempts: Cache<LocalKey, Arc<Slot>>,
    /// Failed sign-ins per subject (this replica's; the shared store's when there is one).
    failures: SlidingWindow,
    /// Sign-in attempts per client address, for credentials not known to be good: a burst
    /// window below Clerk's own per-IP limit, and the configured sustained one.
    source_burst: SlidingWindow,
    sources: SlidingWindow,
    /// Credentials that succeeded (until their password fails): they pass the per-address
    /// limits and the failure budget, so nobody else's wrong guesses lock their owners out.
    known_good: Cache<CredentialKey, ()>,
    /// Subjects Clerk is about to lock (or has locked): no attempt with another credential.
    protected: Holds,
    /// Clerk's `Retry-After` for sign-ins, and for calls on sessions (touch, tokens): Clerk rate
    /// limits each endpoint on its own, so a sign-in flood does not stop refreshes.
    sign_in_backoff: Backoff,
    session_backoff: Backoff,
}

/// What is known for one credential.
#[derive(Default)]
struct Slot {
    /// The current token, read without a lock by every request.
    token: ArcSwapOption<AccessToken>,
    /// Until when the last refusal is answered again without asking Clerk (see [`REFUSAL_MEMORY`]).
    refused_until: ArcSwapOption<Instant>,
    /// Bumped when a renewal finishes, so requests that waited for it take its outcome.
    generation: AtomicU64,
    /// Held by the one renewal in flight; the others wait here.
    flight: Arc<tokio::sync::Mutex<Flight>>,
}

#[derive(Default)]
struct Flight {
    session: Option<LiveSession>,
    outcome: Option<Result<Arc<AccessToken>, SessionError>>,
}

/// A Clerk session this layer signed in and keeps using.
struct LiveSession {
    client_token: Secret,
    /// Clerk dropped the client (an empty client token in an answer): the session is unusable.
    client_cleared: bool,
    id: String,
    expires_at: Option<SystemTime>,
    /// The last session token had from the session (not a template token), for Clerk's outage
    /// mode (`expired_token`).
    last_jwt: Option<Secret>,
    /// The organization made active on the session, once it is.
    organization_id: Option<String>,
    /// The Clerk user, when Clerk said.
    user_id: Option<String>,
    /// When the password was last checked (the sign-in, or a later check).
    password_checked_at: SystemTime,
}

impl Sessions {
    pub(crate) fn new(settings: &SessionSettings, fapi: FapiClient, method: SignInMethod, store: Store) -> Self {
        // A ticket sign-in needs the right password first: wrong guesses cost Backend API calls
        // (100 or 1000 per 10 s per instance), never Frontend API sign-ins (5 per 10 s per IP).
        let burst = if matches!(method, SignInMethod::Ticket(_)) { SOURCE_BURST_TICKET } else { SOURCE_BURST };
        Self {
            fapi,
            method,
            organization: settings.organization.clone(),
            template: settings.jwt_template.clone(),
            refresh_margin: settings.refresh_margin,
            password_recheck: settings.password_recheck,
            store,
            local_keys: LocalKeys::random(),
            live: Cache::new(settings.capacity.max(1)),
            attempts: Cache::new(settings.capacity.max(1)),
            failures: SlidingWindow::new(settings.failure_limit, settings.failure_window, settings.capacity),
            source_burst: SlidingWindow::new(burst, SOURCE_BURST_WINDOW, settings.capacity),
            sources: SlidingWindow::new(settings.source_limit, settings.source_window, settings.capacity),
            known_good: Cache::new(settings.capacity.max(1)),
            protected: Holds::new(settings.capacity),
            sign_in_backoff: Backoff::default(),
            session_backoff: Backoff::default(),
        }
    }

    /// A token for these credentials: cached, refreshed from the session, or from a new sign-in.
    pub(crate) async fn access_token(
        self: &Arc<Self>,
        credentials: Credentials,
        source: Option<IpAddr>,
    ) -> Result<Handed, SessionError> {
        let local = self.local_keys.name(&credentials);
        let slot = self.slot(&local);
        let seen = slot.generation.load(Ordering::Acquire);
        // One clock read decides and dates a cache hit.
        let now = SystemTime::now();
        if let Some(token) = slot.token.load_full().filter(|token| token.has_left_at(now, self.refresh_margin)) {
            trace!(identifier = credentials.identifier(), "token from cache");
            telemetry::cached_token_request();
            return Ok(Handed::at(token, now));
        }
        let renewed = if slot.refused_until.load().as_deref().is_some_and(|until| Instant::now() < *until) {
            Box::pin(slot.remembered_refusal()).await
        } else {
            // Boxed, so the cache hit above does not carry the renewal's state in its future.
            Box::pin(self.join_or_renew(local, slot, seen, Caller { credentials, source })).await
        };
        telemetry::token_request(if renewed.is_ok() { "renewed" } else { "refused" });
        renewed.map(|token| Handed::at(token, SystemTime::now()))
    }

    /// Waits for the renewal in flight, or starts one.
    async fn join_or_renew(
        self: &Arc<Self>,
        local: LocalKey,
        slot: Arc<Slot>,
        seen: u64,
        caller: Caller,
    ) -> Result<Arc<AccessToken>, SessionError> {
        let flight = Arc::clone(&slot.flight).lock_owned().await;
        if slot.generation.load(Ordering::Acquire) != seen {
            // A renewal finished while this request waited: its outcome is this request's too.
            return flight.outcome.clone().unwrap_or(Err(SessionError::Internal));
        }
        // The renewal runs on its own task: a caller that gives up does not abandon a sign-in
        // half-way (which would leave Clerk a session nobody uses), and the next caller finds it.
        let sessions = Arc::clone(self);
        tokio::spawn(async move { sessions.renew(local, &slot, flight, &caller).await })
            .await
            .unwrap_or(Err(SessionError::Internal))
    }

    /// The name of a credential in what replicas share (and in the failure and known-good
    /// bookkeeping): a keyed HMAC, computed only when the local cache has no answer.
    fn key(&self, credentials: &Credentials) -> CredentialKey {
        self.store.credential_key(credentials)
    }

    /// The credential's slot: its live session, or the slot its sign-in attempts share.
    fn slot(&self, local: &LocalKey) -> Arc<Slot> {
        if let Some(slot) = self.live.get(local) {
            return slot;
        }
        let fresh = || Ok::<_, Infallible>(Arc::default());
        self.attempts.get_or_insert_with(local, fresh).unwrap_or_else(|never| match never {})
    }

    /// A keyed fingerprint of an identifier, for log lines about failures: a client that sends
    /// its secret as the user name must not find it in the logs. Successful sign-ins log the
    /// identifier next to it, so operators can tell whose it is.
    fn fingerprint(&self, identifier: &str) -> String {
        self.store.fingerprint(identifier)
    }

    async fn renew(
        &self,
        local: LocalKey,
        slot: &Arc<Slot>,
        mut flight: tokio::sync::OwnedMutexGuard<Flight>,
        caller: &Caller,
    ) -> Result<Arc<AccessToken>, SessionError> {
        let key = self.key(&caller.credentials);
        let outcome = self.renew_in(&mut flight, caller, &key).await.map(Arc::new);
        match &outcome {
            Ok(token) => {
                slot.token.store(Some(Arc::clone(token)));
                slot.refused_until.store(None);
                self.live.insert(local, Arc::clone(slot));
            }
            Err(SessionError::Clerk(error)) if matches!(error.meaning(), Meaning::UserStep | Meaning::Deployment) => {
                slot.refused_until.store(Instant::now().checked_add(REFUSAL_MEMORY).map(Arc::new));
            }
            Err(_) => {}
        }
        flight.outcome = Some(outcome.clone());
        slot.generation.fetch_add(1, Ordering::Release);
        outcome
    }

    async fn renew_in(
        &self,
        flight: &mut Flight,
        caller: &Caller,
        key: &CredentialKey,
    ) -> Result<AccessToken, SessionError> {
        let identifier = caller.credentials.identifier();
        if flight.session.is_none()
            && let Some((session, token)) = self.adopt(key).await
        {
            // Another replica, or an earlier run, signed this credential in.
            let session = flight.session.insert(session);
            if let Some(token) = token.filter(|token| token.has_left(self.refresh_margin)) {
                debug!(identifier, session_id = %session.id, "session and token from the shared store");
                return Ok(token);
            }
        }
        if let Some(session) = flight.session.as_mut().filter(|session| session.is_live())
            && session.password_due(self.password_recheck)
            && let Err(refusal) = self.recheck_password(session, caller).await
        {
            info!(client = %self.fingerprint(identifier), session_id = %session.id,
                "the password changed; ending the session");
            self.fapi.end_session(&session.client_token, &session.id).await;
            self.store.forget(key).await;
            self.known_good.remove(key);
            self.store.forget_good(key).await;
            flight.session = None;
            return Err(refusal);
        }
        if let Some(session) = flight.session.as_mut().filter(|session| session.is_live()) {
            if let Some(retry_after) = self.backoff_remaining(&self.session_backoff, SESSION_CALLS).await {
                return Err(SessionError::RateLimited { retry_after });
            }
            let lease = self.store.lease(key, "refresh").await;
            if lease == Lease::Theirs
                && let Some((adopted, token)) = self.wait_for(key, "refresh").await
            {
                *session = adopted;
                return Ok(token);
            }
            let refreshed = self.token_from(session, None).await;
            if lease == Lease::Mine {
                self.store.release(key, "refresh").await;
            }
            match refreshed {
                Ok(token) => {
                    debug!(identifier, session_id = %session.id, "token refreshed from the session");
                    self.save(key, session, &token).await;
                    return Ok(token);
                }
                Err(error) if error.meaning() == Meaning::SessionGone => {
                    info!(identifier, session_id = %session.id, clerk_trace_id = error.trace_id(),
                        "Clerk ended the session; signing in again");
                    self.store.forget(key).await;
                }
                Err(error) => {
                    return Err(self.clerk_failure(identifier, error, &self.session_backoff, SESSION_CALLS).await);
                }
            }
        }
        flight.session = None;
        let lease = self.store.lease(key, "sign-in").await;
        if lease == Lease::Theirs
            && let Some((session, token)) = self.wait_for(key, "sign-in").await
        {
            flight.session = Some(session);
            return Ok(token);
        }
        let signed_in = self.signed_in_token(flight, caller, key).await;
        if lease == Lease::Mine {
            self.store.release(key, "sign-in").await;
        }
        signed_in
    }

    /// A new sign-in, and the token of its session, stored for the other replicas.
    async fn signed_in_token(
        &self,
        flight: &mut Flight,
        caller: &Caller,
        key: &CredentialKey,
    ) -> Result<AccessToken, SessionError> {
        let credentials = &caller.credentials;
        let SignedIn { client_token, session } = self.sign_in(caller, key).await?;
        let live = flight.session.insert(LiveSession {
            client_token,
            client_cleared: false,
            id: session.id,
            expires_at: session.expires_at,
            last_jwt: None,
            organization_id: None,
            user_id: session.user_id,
            password_checked_at: SystemTime::now(),
        });
        match self.token_from(live, session.jwt).await {
            Ok(token) => {
                self.save(key, live, &token).await;
                Ok(token)
            }
            Err(error) => {
                Err(self.clerk_failure(credentials.identifier(), error, &self.session_backoff, SESSION_CALLS).await)
            }
        }
    }

    /// Checks that the credential's password is still the user's: with the Backend API, by its
    /// `verify_password`; without, by a new sign-in, whose session then replaces this one (which
    /// is ended at Clerk). A check Clerk cannot answer now leaves the session as it is; a
    /// changed password is the refusal to answer with.
    async fn recheck_password(&self, session: &mut LiveSession, caller: &Caller) -> Result<(), SessionError> {
        match self.method.recheck(session.user_id.as_deref(), &caller.credentials).await {
            Recheck::Good => {
                session.password_checked_at = SystemTime::now();
                Ok(())
            }
            Recheck::Changed => Err(SessionError::Clerk(super::bapi::wrong_credentials())),
            Recheck::Unknown => self.within_recheck_grace(session),
            Recheck::NeedsSignIn => match self.sign_in(caller, &self.key(&caller.credentials)).await {
                Ok(SignedIn { client_token, session: fresh }) => {
                    self.fapi.end_session(&session.client_token, &session.id).await;
                    *session = LiveSession {
                        client_token,
                        client_cleared: false,
                        id: fresh.id,
                        expires_at: fresh.expires_at,
                        last_jwt: fresh.jwt,
                        organization_id: None,
                        user_id: fresh.user_id,
                        password_checked_at: SystemTime::now(),
                    };
                    Ok(())
                }
                Err(SessionError::Clerk(error)) if error.meaning() == Meaning::WrongCredentials => {
                    Err(SessionError::Clerk(error))
                }
                Err(_) => self.within_recheck_grace(session),
            },
        }
    }

    /// A password check Clerk could not answer leaves the session usable for
    /// [`RECHECK_GRACE`] past its due time, then no more: a changed password must not keep
    /// working for as long as Clerk is unreachable.
    fn within_recheck_grace(&self, session: &LiveSession) -> Result<(), SessionError> {
        let due = session.password_checked_at.checked_add(self.password_recheck + RECHECK_GRACE);
        if due.is_some_and(|due| due > SystemTime::now()) {
            return Ok(());
        }
        Err(SessionError::Clerk(ClerkError::Unreachable {
            reason: "the password could not be checked again in time".to_owned(),
        }))
    }

    /// The credential's session (and its token, if it is readable) from the shared store.
    async fn adopt(&self, key: &CredentialKey) -> Option<(LiveSession, Option<AccessToken>)> {
        let stored = self.store.load(key).await?;
        let jwt = Secret::new(stored.jwt);
        let session = LiveSession {
            client_token: Secret::new(stored.client_token),
            client_cleared: false,
            id: stored.session_id,
            expires_at: stored.session_expires_at.map(from_unix),
            last_jwt: stored.session_jwt.map(Secret::new),
            organization_id: stored.organization_id,
            user_id: stored.user_id,
            password_checked_at: from_unix(stored.password_checked_at),
        };
        let token = AccessToken::from_jwt(jwt).ok().map(|token| session.bound(token, self.password_recheck));
        Some((session, token))
    }

    /// Waits (at most the lease wait) for the replica holding the `what` lease to store a token
    /// with time left; gives up early once it let go of the lease without storing one.
    async fn wait_for(&self, key: &CredentialKey, what: &str) -> Option<(LiveSession, AccessToken)> {
        let deadline = Instant::now() + self.store.lease_wait();
        while Instant::now() < deadline {
            tokio::time::sleep(LEASE_POLL).await;
            if let Some((session, Some(token))) = self.adopt(key).await
                && token.has_left(self.refresh_margin)
            {
                return Some((session, token));
            }
            if !self.store.is_leased(key, what).await {
                break;
            }
        }
        None
    }

    /// Stores the session and its token for the other replicas, until the session expires.
    async fn save(&self, key: &CredentialKey, session: &LiveSession, token: &AccessToken) {
        if !self.store.is_shared() {
            return;
        }
        let expires_at = session.expires_at.and_then(|at| at.duration_since(std::time::UNIX_EPOCH).ok());
        let ttl = expires_at.map_or(DEFAULT_SESSION_TTL, |at| at.saturating_sub(Duration::from_secs(unix_now())));
        let stored = StoredSession {
            client_token: session.client_token.expose().to_owned(),
            session_id: session.id.clone(),
            session_expires_at: expires_at.map(|at| at.as_secs()),
            organization_id: session.organization_id.clone(),
            jwt: token.jwt.expose().to_owned(),
            session_jwt: session.last_jwt.as_ref().map(|jwt| jwt.expose().to_owned()),
            user_id: session.user_id.clone(),
            password_checked_at: session
                .password_checked_at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_secs()),
        };
        self.store.save(key, &stored, ttl.max(Duration::from_secs(1))).await;
    }

    /// How long Clerk's `Retry-After` for calls of this kind still holds, here or on any replica.
    async fn backoff_remaining(&self, local: &Backoff, kind: &str) -> Option<Duration> {
        match local.remaining() {
            Some(left) => Some(left),
            None => self.store.held(kind).await,
        }
    }

    /// A sign-in, spared when Clerk's sign-in backoff holds; for a credential not known to be
    /// good, also within its subject's failure budget, away from a lockout Clerk announced, and
    /// within its client address's sign-in limit.
    async fn sign_in(&self, caller: &Caller, key: &CredentialKey) -> Result<SignedIn, SessionError> {
        let credentials = &caller.credentials;
        let identifier = credentials.identifier();
        if let Some(retry_after) = self.backoff_remaining(&self.sign_in_backoff, SIGN_INS).await {
            debug!(
                retry_after_secs = retry_after.as_secs(),
                "Clerk's sign-in rate limit still holds; not calling Clerk"
            );
            telemetry::throttled("clerk_backoff");
            return Err(SessionError::RateLimited { retry_after });
        }
        let known_good = self.is_known_good(key).await;
        if !known_good && let Some(source) = caller.source {
            self.limit_source(source).await?;
        }
        let attempt = match self.method.prepare(credentials).await {
            Ok(attempt) => attempt,
            Err(error) => return Err(self.clerk_failure(identifier, error, &self.sign_in_backoff, SIGN_INS).await),
        };
        let subject = self.store.subject_key(&attempt.subject);
        let reservation = if known_good { None } else { Some(self.admit_attempt(caller, &attempt, &subject).await?) };
        let outcome = self.method.complete(&self.fapi, attempt, credentials).await;
        telemetry::sign_in(match &outcome {
            Ok(_) => "success",
            Err(error) => match error.meaning() {
                Meaning::WrongCredentials => "wrong_credentials",
                Meaning::UserStep => "user_step",
                Meaning::Deployment => "deployment",
                Meaning::Unavailable => "unavailable",
                Meaning::RateLimited => "rate_limited",
                Meaning::SessionGone => "session_gone",
            },
        });
        let settle = match &outcome {
            Ok(_) => Settle::Success,
            Err(error) if error.meaning() == Meaning::WrongCredentials => Settle::Failure,
            Err(_) => Settle::NotCounted,
        };
        if let Some(reservation) = reservation {
            self.settle_failure(&subject, reservation, &settle).await;
        }
        match outcome {
            Ok(signed_in) => {
                self.remember_good(key).await;
                info!(identifier, client = %self.fingerprint(identifier), session_id = %signed_in.session.id,
                    user_id = signed_in.session.user_id.as_deref(), "signed in at Clerk");
                Ok(signed_in)
            }
            Err(error) => {
                if known_good && matches!(settle, Settle::Failure) {
                    // The password changed: this credential is good no more.
                    self.known_good.remove(key);
                    self.store.forget_good(key).await;
                }
                if let Some(lockout) = announced_lockout(&error, self.failures.window()) {
                    self.protect(&subject, identifier, lockout).await;
                }
                Err(self.clerk_failure(identifier, error, &self.sign_in_backoff, SIGN_INS).await)
            }
        }
    }

    /// Whether the credential `key` succeeded before (here, or on any replica).
    async fn is_known_good(&self, key: &CredentialKey) -> bool {
        if self.known_good.get(key).is_some() {
            return true;
        }
        let good = self.store.is_good(key).await;
        if good {
            self.known_good.insert(*key, ());
        }
        good
    }

    async fn remember_good(&self, key: &CredentialKey) {
        self.known_good.insert(*key, ());
        self.store.remember_good(key, DEFAULT_SESSION_TTL).await;
    }

    /// The per-address sign-in limits, for a credential not known to be good: a burst window
    /// below Clerk's own per-IP limit, and the configured sustained one.
    async fn limit_source(&self, source: IpAddr) -> Result<(), SessionError> {
        let source = address_block(source);
        let burst = self.store.subject_key(&format!("source-burst:{source}"));
        let sustained = self.store.subject_key(&format!("source:{source}"));
        for (window, name) in [(&self.source_burst, &burst), (&self.sources, &sustained)] {
            if let Err(retry_after) = self.reserve(window, name, random_ticket()).await {
                warn!(source = %source, "too many sign-ins from one client address; not calling Clerk");
                telemetry::throttled("client_address");
                return Err(SessionError::SourceLimited { retry_after });
            }
        }
        Ok(())
    }

    /// The checks a credential not known to be good passes before Clerk is asked to check its
    /// password: no lockout announced for its subject, its subject within its failure budget
    /// (counted now, settled when Clerk answers).
    async fn admit_attempt(
        &self,
        caller: &Caller,
        attempt: &Attempt,
        subject: &[u8; 32],
    ) -> Result<Reservation, SessionError> {
        let identifier = caller.credentials.identifier();
        if let Some(retry_after) = self.protected_for(subject).await {
            debug!(client = %self.fingerprint(identifier), "Clerk is about to lock this user out; not calling Clerk");
            telemetry::throttled("lockout_protection");
            return Err(SessionError::Throttled { retry_after });
        }
        if attempt.near_lockout() {
            // One attempt per failure window while Clerk is this close to a lockout: enough for
            // the owner to get in (which resets Clerk's count), too few to reach the lockout soon.
            self.protect(subject, identifier, self.failures.window()).await;
        }
        let ticket = random_ticket();
        match self.reserve(&self.failures, subject, ticket).await {
            Ok(shared) => Ok(Reservation { ticket, shared }),
            Err(retry_after) => {
                warn!(client = %self.fingerprint(identifier), "too many failed sign-ins; protecting the user, not calling Clerk");
                telemetry::throttled("failure_budget");
                Err(SessionError::Throttled { retry_after })
            }
        }
    }

    /// Counts an attempt in a sliding window: the shared one when there is one (and it answers),
    /// this replica's otherwise. `Ok(true)`: counted in the shared store.
    async fn reserve(&self, window: &SlidingWindow, name: &[u8; 32], ticket: u64) -> Result<bool, Duration> {
        match self.store.reserve_attempt(name, ticket, window.limit(), window.window()).await {
            Some(reserved) => reserved.map(|()| true),
            None => window.reserve(&hex(name), ticket).map(|()| false),
        }
    }

    /// Ends a reservation of the failure budget.
    async fn settle_failure(&self, subject: &[u8; 32], reservation: Reservation, settle: &Settle) {
        if reservation.shared {
            let (keep, clear) = (matches!(settle, Settle::Failure), matches!(settle, Settle::Success));
            self.store.settle_attempt(subject, reservation.ticket, keep, clear).await;
        } else {
            let outcome = match settle {
                Settle::Success => Settle::Success,
                Settle::Failure => Settle::Failure,
                Settle::NotCounted => Settle::NotCounted,
            };
            self.failures.settle(&hex(subject), reservation.ticket, outcome);
        }
    }

    /// Stops attempts for `subject` by credentials not known to be good, for `duration`, here and
    /// on every replica.
    async fn protect(&self, subject: &[u8; 32], identifier: &str, duration: Duration) {
        warn!(client = %self.fingerprint(identifier), minutes = duration.as_secs().div_ceil(60),
            "Clerk is close to locking this user out: only the credential that last succeeded is tried");
        self.protected.hold(&hex(subject), duration);
        self.store.hold(&format!("protect-{}", hex(subject)), duration).await;
    }

    async fn protected_for(&self, subject: &[u8; 32]) -> Option<Duration> {
        let name = hex(subject);
        match self.protected.remaining(&name) {
            Some(left) => Some(left),
            None => self.store.held(&format!("protect-{name}")).await,
        }
    }

    /// The token to hand out from a live session: activates the configured organization if it is
    /// not yet, then takes the template token, the token Clerk just gave (`fresh`), or a new one.
    async fn token_from(
        &self,
        session: &mut LiveSession,
        mut fresh: Option<Secret>,
    ) -> Result<AccessToken, ClerkError> {
        if let (Some(organization), None) = (&self.organization, &session.organization_id) {
            let reply = self.fapi.activate_organization(&session.client_token, &session.id, organization).await?;
            session.take_client_token(reply.client_token);
            session.organization_id = Some(reply.value.active_organization_id.unwrap_or_else(|| organization.clone()));
            fresh = reply.value.jwt;
        }
        if let Some(jwt) = &fresh {
            session.last_jwt = Some(jwt.clone());
        }
        let jwt = match (&self.template, fresh) {
            (Some(template), _) => self.template_token(session, template).await?,
            (None, Some(jwt)) => jwt,
            (None, None) => self.create_token(session, None).await?,
        };
        AccessToken::from_jwt(jwt).map(|token| session.bound(token, self.password_recheck))
    }

    /// A token of the configured template. Clerk answers `404 resource_not_found` both for a
    /// missing session and a missing template: a plain token call on the same session tells
    /// which, so a missing template never looks like a lost session (and a sign-in storm).
    async fn template_token(&self, session: &mut LiveSession, template: &str) -> Result<Secret, ClerkError> {
        match self.create_token(session, Some(template)).await {
            Err(error) if error.is_not_found() => match self.create_token(session, None).await {
                Ok(_) => {
                    tracing::error!(template, "Clerk has no JWT template of this name (CLERK_JWT_TEMPLATE)");
                    Err(ClerkError::TemplateMissing)
                }
                Err(session_error) => Err(session_error),
            },
            other => other,
        }
    }

    /// A fresh token from the session; in Clerk's outage mode (`missing_expired_token`), asked
    /// once more with the session's last session token (never a template token), as clerk-js does.
    async fn create_token(&self, session: &mut LiveSession, template: Option<&str>) -> Result<Secret, ClerkError> {
        let organization_id = session.organization_id.as_deref();
        let (client_token, id) = (&session.client_token, &session.id);
        let reply = match self.fapi.create_token(client_token, id, template, organization_id, None).await {
            Err(error) if error.is_missing_expired_token() && session.last_jwt.is_some() => {
                debug!(session_id = %session.id, "Clerk's outage mode: asking again with the last token");
                let last = session.last_jwt.as_ref();
                self.fapi.create_token(client_token, id, template, organization_id, last).await?
            }
            other => other?,
        };
        session.take_client_token(reply.client_token);
        if template.is_none() {
            session.last_jwt = Some(reply.value.clone());
        }
        Ok(reply.value)
    }

    /// Logs a failed call and, for Clerk's `429`, holds off calls of that kind here and on every
    /// replica.
    async fn clerk_failure(&self, identifier: &str, error: ClerkError, backoff: &Backoff, kind: &str) -> SessionError {
        warn!(client = %self.fingerprint(identifier), clerk_trace_id = error.trace_id(), %error, "call to Clerk failed");
        match error {
            ClerkError::RateLimited { retry_after, .. } => {
                backoff.hold(retry_after);
                self.store.hold(kind, retry_after).await;
                SessionError::RateLimited { retry_after }
            }
            error => SessionError::Clerk(error),
        }
    }
}

impl Slot {
    /// The outcome of the last renewal, which ended in a refusal that is still remembered.
    async fn remembered_refusal(&self) -> Result<Arc<AccessToken>, SessionError> {
        self.flight.lock().await.outcome.clone().unwrap_or(Err(SessionError::Internal))
    }
}

impl LiveSession {
    /// Whether the password is due to be checked again.
    fn password_due(&self, every: Duration) -> bool {
        self.password_checked_at.checked_add(every).is_some_and(|due| due <= SystemTime::now())
    }

    /// `token`, to be handed out only until this session's password check is due.
    fn bound(&self, mut token: AccessToken, recheck: Duration) -> AccessToken {
        if let Some(due) = self.password_checked_at.checked_add(recheck) {
            token.recheck_at = due;
        }
        token
    }

    fn is_live(&self) -> bool {
        !self.client_cleared && self.expires_at.is_none_or(|expires_at| expires_at > SystemTime::now())
    }

    /// Native clients keep whatever client token Clerk last handed back.
    fn take_client_token(&mut self, client_token: ClientToken) {
        match client_token {
            ClientToken::Unchanged => {}
            ClientToken::Rotated(client_token) => self.client_token = client_token,
            ClientToken::Cleared => self.client_cleared = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::time::UNIX_EPOCH;

    fn jwt_with(claims: &str) -> Secret {
        Secret::new(format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(claims)))
    }

    #[test]
    fn access_token_reads_the_expiry_of_the_jwt() {
        let exp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 60;
        let token = AccessToken::from_jwt(jwt_with(&format!(r#"{{"exp":{exp},"sub":"user_1"}}"#))).unwrap();
        assert!((58..=60).contains(&token.expires_in()), "{}", token.expires_in());
        assert!(token.has_left(Duration::from_secs(15)));
        assert!(!token.has_left(Duration::from_secs(61)));
        assert!(AccessToken::from_jwt(jwt_with(r#"{"sub":"user_1"}"#)).is_err());
        assert!(AccessToken::from_jwt(Secret::new("not-a-jwt")).is_err());
        let quoted = jwt_with(&format!(r#"{{"exp":{exp}}}"#)).expose().replace("c2ln", "c2\"ln");
        assert!(AccessToken::from_jwt(Secret::new(quoted)).is_err(), "a token that would need escaping");
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64_block_and_a_mapped_ipv4_as_ipv4() {
        let block = |text: &str| address_block(text.parse().unwrap()).to_string();
        assert_eq!(block("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(block("2001:db8:1:2::1"), block("2001:db8:1:2:ffff::9"));
        assert_ne!(block("2001:db8:1:2::1"), block("2001:db8:1:3::1"));
        assert_eq!(block("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(block("192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn an_expired_token_has_nothing_left() {
        let token = AccessToken::from_jwt(jwt_with(r#"{"exp":1}"#)).unwrap();
        assert_eq!(token.expires_in(), 0);
        assert!(!token.has_left(Duration::ZERO));
    }
}
