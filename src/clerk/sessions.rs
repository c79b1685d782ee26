//! One Clerk session per credential, reused: a cached token while it has time left, a fresh one
//! from the same session (`/tokens`) when it runs low, a new sign-in only when Clerk has ended
//! the session. Concurrent requests for one credential share one call to Clerk; failed sign-ins
//! are throttled per identifier; Clerk's own `429` is honoured for its whole `Retry-After`.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use aws_lc_rs::hmac;
use quick_cache::sync::{Cache, EntryAction, EntryResult};
use serde::Deserialize;
use tracing::{debug, info, trace, warn};

use super::fapi::{FapiClient, FapiError, SignedIn};
use crate::config::ClerkBasicAuthConfig;
use crate::credentials::Credentials;
use crate::secret::Secret;

/// An access token to hand out: a Clerk JWT and when it expires.
#[derive(Debug)]
pub(crate) struct AccessToken {
    /// Three base64url segments joined by dots (checked when the token arrives), so the text
    /// never needs escaping wherever it is written.
    pub(crate) jwt: Secret,
    pub(crate) expires_at: SystemTime,
}

impl AccessToken {
    fn from_jwt(jwt: Secret) -> Result<Self, FapiError> {
        let compact = jwt.expose().split('.').count() == 3
            && jwt.expose().bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !compact {
            return Err(FapiError::Malformed { reason: "a token from Clerk that is not a compact JWT".into() });
        }
        #[derive(Deserialize)]
        struct Expiry {
            exp: u64,
        }
        // The token comes straight from Clerk over TLS; only its expiry is read here.
        let expiry: Expiry = jsonwebtoken::dangerous::insecure_decode_claims(jwt.expose())
            .map_err(|_| FapiError::Malformed { reason: "a token from Clerk without a readable exp".into() })?;
        Ok(Self { jwt, expires_at: UNIX_EPOCH + Duration::from_secs(expiry.exp) })
    }

    /// Seconds left, rounded down.
    pub(crate) fn expires_in(&self) -> u64 {
        self.expires_at.duration_since(SystemTime::now()).map_or(0, |left| left.as_secs())
    }

    fn has_left(&self, margin: Duration) -> bool {
        self.expires_at.duration_since(SystemTime::now()).is_ok_and(|left| left > margin)
    }
}

/// Why no token could be had.
#[derive(Debug, Clone)]
pub(crate) enum SessionError {
    /// Clerk refused, failed, or could not be reached.
    Clerk(FapiError),
    /// Too many failed sign-ins for this identifier lately: Clerk is not asked.
    Throttled { retry_after: Duration },
    /// The renewal task died (a bug): nothing else is known.
    Internal,
}

/// The per-credential sessions of one layer.
pub(crate) struct Sessions {
    fapi: FapiClient,
    organization: Option<String>,
    template: Option<String>,
    refresh_margin: Duration,
    failure_limit: u32,
    failure_window: Duration,
    credential_key: hmac::Key,
    slots: Cache<CredentialKey, Arc<Slot>>,
    failures: Cache<String, FailureWindow>,
    clerk_backoff_until: Mutex<Option<Instant>>,
}

/// HMAC-SHA256 of identifier and password under a per-process random key: the cache never holds
/// a password, and a different password never finds another's entry.
type CredentialKey = [u8; 32];

/// What is known for one credential.
#[derive(Default)]
struct Slot {
    /// The current token, read without a lock by every request.
    token: ArcSwapOption<AccessToken>,
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
    id: String,
    expires_at: Option<SystemTime>,
    /// The organization made active on the session, once it is.
    organization_id: Option<String>,
}

#[derive(Clone, Copy)]
struct FailureWindow {
    started: Instant,
    count: u32,
}

impl Sessions {
    pub(crate) fn new(config: &ClerkBasicAuthConfig) -> Self {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let credential_key =
            hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("the system random source is available");
        Self {
            fapi: FapiClient::new(config),
            organization: config.organization.clone(),
            template: config.jwt_template.clone(),
            refresh_margin: config.refresh_margin,
            failure_limit: config.failure_limit,
            failure_window: config.failure_window,
            credential_key,
            slots: Cache::new(config.session_capacity.max(1)),
            failures: Cache::new(config.session_capacity.max(1)),
            clerk_backoff_until: Mutex::new(None),
        }
    }

    /// A token for these credentials: cached, refreshed from the session, or from a new sign-in.
    pub(crate) async fn access_token(
        self: &Arc<Self>,
        credentials: Credentials,
    ) -> Result<Arc<AccessToken>, SessionError> {
        let slot = self.slot(&credentials);
        let seen = slot.generation.load(Ordering::Acquire);
        if let Some(token) = slot.token.load_full().filter(|token| token.has_left(self.refresh_margin)) {
            trace!(identifier = credentials.identifier(), "token from cache");
            return Ok(token);
        }
        // Boxed, so the cache hit above does not carry the renewal's state in its future.
        Box::pin(self.join_or_renew(slot, seen, credentials)).await
    }

    /// Waits for the renewal in flight, or starts one.
    async fn join_or_renew(
        self: &Arc<Self>,
        slot: Arc<Slot>,
        seen: u64,
        credentials: Credentials,
    ) -> Result<Arc<AccessToken>, SessionError> {
        let flight = Arc::clone(&slot.flight).lock_owned().await;
        if slot.generation.load(Ordering::Acquire) != seen {
            // A renewal finished while this request waited: its outcome is this request's too.
            return flight.outcome.clone().unwrap_or(Err(SessionError::Internal));
        }
        // The renewal runs on its own task: a caller that gives up does not abandon a sign-in
        // half-way (which would leave Clerk a session nobody uses), and the next caller finds it.
        let sessions = Arc::clone(self);
        tokio::spawn(async move { sessions.renew(&slot, flight, &credentials).await })
            .await
            .unwrap_or(Err(SessionError::Internal))
    }

    fn slot(&self, credentials: &Credentials) -> Arc<Slot> {
        let mut context = hmac::Context::with_key(&self.credential_key);
        context.update(&(credentials.identifier().len() as u64).to_be_bytes());
        context.update(credentials.identifier().as_bytes());
        context.update(credentials.password().as_bytes());
        let mut key = CredentialKey::default();
        key.copy_from_slice(context.sign().as_ref());
        let fresh = || Ok::<_, Infallible>(Arc::default());
        self.slots.get_or_insert_with(&key, fresh).unwrap_or_else(|never| match never {})
    }

    async fn renew(
        &self,
        slot: &Slot,
        mut flight: tokio::sync::OwnedMutexGuard<Flight>,
        credentials: &Credentials,
    ) -> Result<Arc<AccessToken>, SessionError> {
        let outcome = self.renew_in(&mut flight, credentials).await.map(Arc::new);
        if let Ok(token) = &outcome {
            slot.token.store(Some(Arc::clone(token)));
        }
        flight.outcome = Some(outcome.clone());
        slot.generation.fetch_add(1, Ordering::Release);
        outcome
    }

    async fn renew_in(&self, flight: &mut Flight, credentials: &Credentials) -> Result<AccessToken, SessionError> {
        self.check_clerk_backoff()?;
        let identifier = credentials.identifier();
        if let Some(session) = flight.session.as_mut().filter(|session| session.is_live()) {
            match self.token_from(session, None).await {
                Ok(token) => {
                    debug!(identifier, session_id = %session.id, "token refreshed from the session");
                    return Ok(token);
                }
                Err(error) if error.is_session_gone() => {
                    info!(identifier, session_id = %session.id, clerk_trace_id = error.trace_id(),
                        "Clerk ended the session; signing in again");
                }
                Err(error) => return Err(self.clerk_failure(identifier, error)),
            }
        }
        flight.session = None;
        self.check_failures(identifier)?;
        let signed_in =
            self.fapi.sign_in(credentials).await.map_err(|error| self.sign_in_failure(identifier, error))?;
        self.failures.remove(&failure_key(identifier));
        let SignedIn { client_token, session } = signed_in;
        info!(identifier, session_id = %session.id, user_id = session.user_id.as_deref(), "signed in at Clerk");
        let live = flight.session.insert(LiveSession {
            client_token,
            id: session.id,
            expires_at: session.expires_at,
            organization_id: None,
        });
        self.token_from(live, Some(session.jwt)).await.map_err(|error| self.clerk_failure(identifier, error))
    }

    /// The token to hand out from a live session: activates the configured organization if it is
    /// not yet, then takes the template token, the token Clerk just gave (`fresh`), or a new one.
    async fn token_from(&self, session: &mut LiveSession, mut fresh: Option<Secret>) -> Result<AccessToken, FapiError> {
        if let (Some(organization), None) = (&self.organization, &session.organization_id) {
            let reply = self.fapi.activate_organization(&session.client_token, &session.id, organization).await?;
            session.take_client_token(reply.client_token);
            session.organization_id = Some(reply.value.active_organization_id.unwrap_or_else(|| organization.clone()));
            fresh = Some(reply.value.jwt);
        }
        let jwt = match (&self.template, fresh) {
            (Some(template), _) => self.create_token(session, Some(template)).await?,
            (None, Some(jwt)) => jwt,
            (None, None) => self.create_token(session, None).await?,
        };
        AccessToken::from_jwt(jwt)
    }

    async fn create_token(&self, session: &mut LiveSession, template: Option<&str>) -> Result<Secret, FapiError> {
        let organization_id = session.organization_id.as_deref();
        let reply = self.fapi.create_token(&session.client_token, &session.id, template, organization_id).await?;
        session.take_client_token(reply.client_token);
        Ok(reply.value)
    }

    fn check_clerk_backoff(&self) -> Result<(), SessionError> {
        let until = *self.clerk_backoff_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match until.and_then(|until| until.checked_duration_since(Instant::now())) {
            Some(left) if !left.is_zero() => {
                debug!(retry_after_secs = left.as_secs(), "Clerk rate limit still in force; not calling Clerk");
                Err(SessionError::Clerk(FapiError::RateLimited { retry_after: round_up(left), trace_id: None }))
            }
            _ => Ok(()),
        }
    }

    fn clerk_failure(&self, identifier: &str, error: FapiError) -> SessionError {
        if let FapiError::RateLimited { retry_after, .. } = &error {
            let until = Instant::now() + *retry_after;
            let mut backoff = self.clerk_backoff_until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *backoff = Some(backoff.map_or(until, |current| current.max(until)));
        }
        warn!(identifier, clerk_trace_id = error.trace_id(), %error, "call to Clerk failed");
        SessionError::Clerk(error)
    }

    fn sign_in_failure(&self, identifier: &str, error: FapiError) -> SessionError {
        if error.is_credential_failure() {
            self.record_failure(identifier);
        }
        self.clerk_failure(identifier, error)
    }

    fn check_failures(&self, identifier: &str) -> Result<(), SessionError> {
        let Some(window) = self.failures.get(&failure_key(identifier)) else { return Ok(()) };
        let reopens = window.started + self.failure_window;
        match reopens.checked_duration_since(Instant::now()) {
            Some(left) if window.count >= self.failure_limit && !left.is_zero() => {
                warn!(identifier, failures = window.count, "too many failed sign-ins; not calling Clerk");
                Err(SessionError::Throttled { retry_after: round_up(left) })
            }
            _ => Ok(()),
        }
    }

    fn record_failure(&self, identifier: &str) {
        let now = Instant::now();
        let window = self.failure_window;
        let key = failure_key(identifier);
        let bump = |_: &String, current: &mut FailureWindow| {
            if now.duration_since(current.started) >= window {
                *current = FailureWindow { started: now, count: 0 };
            }
            current.count += 1;
            EntryAction::Retain(())
        };
        if let EntryResult::Vacant(guard) = self.failures.entry(&key, None, bump) {
            let _ = guard.insert(FailureWindow { started: now, count: 1 });
        }
    }
}

impl LiveSession {
    fn is_live(&self) -> bool {
        self.expires_at.is_none_or(|expires_at| expires_at > SystemTime::now())
    }

    /// Native clients keep whatever client token Clerk last handed back.
    fn take_client_token(&mut self, client_token: Option<Secret>) {
        if let Some(client_token) = client_token {
            self.client_token = client_token;
        }
    }
}

/// Clerk identifiers (e-mail addresses, usernames) are case-insensitive.
fn failure_key(identifier: &str) -> String {
    identifier.trim().to_lowercase()
}

/// Whole seconds, rounded up, so a `Retry-After` never invites a retry that is still too early.
fn round_up(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs() + u64::from(duration.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
    fn an_expired_token_has_nothing_left() {
        let token = AccessToken::from_jwt(jwt_with(r#"{"exp":1}"#)).unwrap();
        assert_eq!(token.expires_in(), 0);
        assert!(!token.has_left(Duration::ZERO));
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(round_up(Duration::from_millis(6_001)), Duration::from_secs(7));
        assert_eq!(round_up(Duration::from_secs(7)), Duration::from_secs(7));
    }
}
