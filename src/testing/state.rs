//! The fake instance's state: users, organizations, clients, sessions, lockouts and rate limits,
//! and the Frontend API operations on them. No HTTP and no JSON here: operations take parsed
//! parameters and return what happened (an outcome) or an [`ApiError`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::api_error::ApiError;
use super::claims::{self, ActiveOrg, SessionFacts, TemplateFacts};
use super::config::Config;
use super::fault::Fault;
use super::fixtures::{FakeOrganization, FakeUser};
use super::ids;
use super::keys::SigningKey;
use super::lockout::{Lockout, WrongPassword};
use super::rate_limit::SignInRateLimit;
use super::stats::FakeClerkStats;
use super::time::{ms, now_ms};

/// Clerk's default maximum session lifetime.
const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// When an inactive session is abandoned (Clerk's default: 30 days).
const SESSION_ABANDON: Duration = Duration::from_secs(30 * 24 * 3600);
/// When an unfinished sign-in is abandoned.
const SIGN_IN_ABANDON: Duration = Duration::from_secs(24 * 3600);

/// The issuer and the current key, for minting tokens.
pub(crate) struct Minter {
    pub(crate) issuer: String,
    pub(crate) key: Arc<SigningKey>,
}

impl Minter {
    fn sign(&self, claims: &Value) -> String {
        self.key.sign(&self.key.clerk_header(), claims)
    }
}

/// A user with its lockout bookkeeping.
pub(crate) struct UserRecord {
    pub(crate) user: FakeUser,
    pub(crate) created_at: u64,
    pub(crate) lockout: Lockout,
}

impl UserRecord {
    /// Remaining lockout, `Some(None)` when locked with no end, `None` when not locked.
    pub(crate) fn lockout_remaining(&self, now: Instant) -> Option<Option<Duration>> {
        if self.user.locked {
            return Some(None);
        }
        self.lockout.remaining(now).map(Some)
    }
}

/// A session's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionStatus {
    Active,
    Pending,
    Revoked,
    Expired,
}

impl SessionStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    fn is_signed_in(self) -> bool {
        matches!(self, Self::Active | Self::Pending)
    }
}

/// A session.
pub(crate) struct SessionRecord {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) user_id: String,
    pub(crate) status: SessionStatus,
    pub(crate) tasks: Vec<String>,
    pub(crate) active_org: Option<String>,
    pub(crate) last_token: Option<String>,
    pub(crate) created_at: u64,
    pub(crate) updated_at: u64,
    pub(crate) last_active_at: u64,
    pub(crate) expire_at: u64,
    pub(crate) abandon_at: u64,
}

/// The sign-in attempt a client currently holds.
#[derive(Clone)]
pub(crate) struct SignInRecord {
    pub(crate) id: String,
    pub(crate) status: &'static str,
    pub(crate) identifier: String,
    pub(crate) user_id: String,
    pub(crate) first_factor_verified: bool,
    pub(crate) created_session_id: Option<String>,
    pub(crate) abandon_at: u64,
}

/// A client (a device), known by its token.
pub(crate) struct ClientRecord {
    pub(crate) id: String,
    pub(crate) token: String,
    /// Session ids, oldest first (so `sessions[0]` is never the newest sign-in).
    pub(crate) session_ids: Vec<String>,
    pub(crate) sign_in: Option<SignInRecord>,
    pub(crate) last_active_session_id: Option<String>,
    pub(crate) created_at: u64,
    pub(crate) updated_at: u64,
}

/// A sign-in was created: the attempt as it stands, on the client `client_token` (new or
/// known).
pub(crate) struct SignInOutcome {
    pub(crate) client_token: String,
    pub(crate) attempt: SignInRecord,
}

/// A touch went through: the session `session_id` of the client `client_token` is now the
/// client's last active session.
pub(crate) struct TouchOutcome {
    pub(crate) client_token: String,
    pub(crate) session_id: String,
}

/// A token was minted for the client `client_token`.
pub(crate) struct MintedToken {
    pub(crate) client_token: String,
    pub(crate) jwt: String,
}

/// What the sign-in form carried.
pub(crate) struct SignInForm<'a> {
    pub(crate) strategy: Option<&'a str>,
    pub(crate) identifier: Option<&'a str>,
    pub(crate) password: Option<&'a str>,
}

/// Everything the fake knows; behind one `Mutex`, never held across an await.
pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) users: Vec<UserRecord>,
    pub(crate) orgs: Vec<FakeOrganization>,
    clients: HashMap<String, ClientRecord>,
    pub(crate) sessions: HashMap<String, SessionRecord>,
    sign_in_rate: SignInRateLimit,
    pub(crate) stats: FakeClerkStats,
    pub(crate) fault: Option<Fault>,
    pub(crate) jwks_fault: Option<Fault>,
    pub(crate) latency: Duration,
    user_latency: Vec<(String, Duration)>,
}

impl State {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            users: Vec::new(),
            orgs: Vec::new(),
            clients: HashMap::new(),
            sessions: HashMap::new(),
            sign_in_rate: SignInRateLimit::default(),
            stats: FakeClerkStats::default(),
            fault: None,
            jwks_fault: None,
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

    /// `POST /v1/client/sign_ins`: creates a sign-in with a password, and a session when it
    /// completes. `client_token` is the request's `Authorization` (empty: no client yet).
    pub(crate) fn sign_in(
        &mut self,
        ip: IpAddr,
        client_token: &str,
        form: &SignInForm<'_>,
        minter: &Minter,
    ) -> Result<SignInOutcome, ApiError> {
        self.sign_in_rate
            .admit(ip, Instant::now(), self.config.sign_in_limit, self.config.sign_in_window)
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
        let identifier =
            form.identifier.filter(|id| !id.is_empty()).ok_or(ApiError::ParamMissing { param: "identifier" })?;
        let password = match form.strategy.filter(|s| !s.is_empty()) {
            Some("password") => {
                Some(form.password.filter(|p| !p.is_empty()).ok_or(ApiError::ParamMissing { param: "password" })?)
            }
            Some(_) => return Err(ApiError::ParamInvalid { param: "strategy" }),
            None => None,
        };
        let known_client = self.client(client_token).map(|client| client.token.clone());
        if self.config.single_session
            && let Some(token) = &known_client
            && self.signed_in_sessions(token).next().is_some()
        {
            return Err(ApiError::SessionExists);
        }
        let now = Instant::now();
        let threshold = self.config.lockout_threshold;
        let lockout_duration = self.config.lockout_duration;
        let record_index = self
            .users
            .iter()
            .position(|record| record.user.is_identified_by(identifier))
            .ok_or(ApiError::IdentifierNotFound)?;
        let record = &mut self.users[record_index];
        if record.user.banned {
            return Err(ApiError::UserBanned);
        }
        record.lockout.lift_if_over(now);
        if let Some(remaining) = record.lockout_remaining(now) {
            return Err(ApiError::UserLocked { remaining });
        }
        let user_id = record.user.id.clone();
        if let Some(token) = &known_client
            && let Some(session) = self.signed_in_sessions(token).find(|session| session.user_id == user_id)
        {
            return Err(ApiError::AlreadySignedIn { session_id: session.id.clone() });
        }
        let record = &mut self.users[record_index];
        let status = match password {
            None => "needs_first_factor",
            Some(password) if password != record.user.password => {
                return Err(match record.lockout.record_failure(now, threshold, lockout_duration) {
                    WrongPassword::Locked => ApiError::UserLocked { remaining: Some(lockout_duration) },
                    WrongPassword::Warning { attempts_left } => ApiError::LockoutWarning { attempts_left },
                    WrongPassword::Incorrect => ApiError::PasswordIncorrect,
                });
            }
            Some(_) => {
                record.lockout.record_success();
                record.user.second_step.map_or("complete", |step| step.status())
            }
        };
        let pending_tasks = record.user.pending_tasks.clone();
        let now_ms = now_ms();
        let token = known_client.unwrap_or_else(|| self.new_client(now_ms));
        let mut sign_in = SignInRecord {
            id: ids::clerk_id("sia"),
            status,
            identifier: identifier.to_owned(),
            user_id: user_id.clone(),
            first_factor_verified: password.is_some(),
            created_session_id: None,
            abandon_at: now_ms + ms(SIGN_IN_ABANDON),
        };
        if status == "complete" {
            let session_id = self.create_session(&token, &user_id, pending_tasks, now_ms);
            sign_in.created_session_id = Some(session_id.clone());
            let jwt = self.mint_session_token(&session_id, minter);
            if let Some(session) = self.sessions.get_mut(&session_id) {
                session.last_token = Some(jwt);
            }
            self.stats.sign_ins += 1;
        }
        let client = self.clients.get_mut(&token).expect("client exists");
        client.updated_at = now_ms;
        client.sign_in = (status != "complete").then(|| sign_in.clone());
        Ok(SignInOutcome { client_token: token, attempt: sign_in })
    }

    fn new_client(&mut self, now_ms: u64) -> String {
        let token = ids::client_token();
        self.clients.insert(
            token.clone(),
            ClientRecord {
                id: ids::clerk_id("client"),
                token: token.clone(),
                session_ids: Vec::new(),
                sign_in: None,
                last_active_session_id: None,
                created_at: now_ms,
                updated_at: now_ms,
            },
        );
        token
    }

    fn create_session(&mut self, client_token: &str, user_id: &str, tasks: Vec<String>, now_ms: u64) -> String {
        let client = self.clients.get_mut(client_token).expect("client exists");
        let id = ids::clerk_id("sess");
        client.session_ids.push(id.clone());
        client.last_active_session_id = Some(id.clone());
        let status = if tasks.is_empty() { SessionStatus::Active } else { SessionStatus::Pending };
        self.sessions.insert(
            id.clone(),
            SessionRecord {
                id: id.clone(),
                client_id: client.id.clone(),
                user_id: user_id.to_owned(),
                status,
                tasks,
                active_org: None,
                last_token: None,
                created_at: now_ms,
                updated_at: now_ms,
                last_active_at: now_ms,
                expire_at: now_ms + ms(SESSION_LIFETIME),
                abandon_at: now_ms + ms(SESSION_ABANDON),
            },
        );
        self.stats.sessions_created += 1;
        id
    }

    fn signed_in_sessions<'a>(&'a self, client_token: &str) -> impl Iterator<Item = &'a SessionRecord> + 'a {
        let ids = self.clients.get(client_token).map(|client| client.session_ids.as_slice()).unwrap_or_default();
        ids.iter().filter_map(|id| self.sessions.get(id)).filter(|session| session.status.is_signed_in())
    }

    /// Every client token handed out so far.
    pub(crate) fn client_tokens(&self) -> Vec<String> {
        self.clients.keys().cloned().collect()
    }

    /// Finds the session `session_id` of the client `client_token`, still signed in.
    fn owned_session(&mut self, client_token: &str, session_id: &str) -> Result<(), ApiError> {
        let client = self.client(client_token).ok_or(ApiError::AuthenticationInvalid)?;
        let client_id = client.id.clone();
        let session = self
            .sessions
            .get_mut(session_id)
            .filter(|session| session.client_id == client_id)
            .ok_or_else(|| ApiError::SessionNotFound { session_id: session_id.to_owned() })?;
        if session.status.is_signed_in() && session.expire_at <= now_ms() {
            session.status = SessionStatus::Expired;
        }
        if session.status.is_signed_in() { Ok(()) } else { Err(ApiError::AuthenticationInvalid) }
    }

    /// Resolves an organization for `session_id`'s user: `Ok(None)` for the personal account
    /// (empty value), an error when it does not exist or the user is not a member.
    fn resolve_org(&self, session_id: &str, value: &str, allow_slug: bool) -> Result<Option<String>, ApiError> {
        if value.is_empty() {
            return Ok(None);
        }
        let user_id = &self.sessions[session_id].user_id;
        let org = self
            .orgs
            .iter()
            .find(|org| org.id == value || (allow_slug && org.slug == value))
            .ok_or(ApiError::OrganizationNotFound)?;
        self.user_by_id(user_id)
            .and_then(|record| record.user.role_in(&org.id))
            .ok_or(ApiError::OrganizationNotFound)?;
        Ok(Some(org.id.clone()))
    }

    /// `POST /v1/client/sessions/{id}/touch`: sets the active organization (id or slug; empty:
    /// personal account; absent: unchanged) and mints a token into `last_active_token`.
    pub(crate) fn touch(
        &mut self,
        client_token: &str,
        session_id: &str,
        active_organization_id: Option<&str>,
        minter: &Minter,
    ) -> Result<TouchOutcome, ApiError> {
        self.owned_session(client_token, session_id)?;
        let org = active_organization_id.map(|value| self.resolve_org(session_id, value, true)).transpose()?;
        let now = now_ms();
        let session = self.sessions.get_mut(session_id).expect("session exists");
        if let Some(org) = org {
            if org.is_some() {
                session.tasks.retain(|task| task != "choose-organization");
                if session.tasks.is_empty() {
                    session.status = SessionStatus::Active;
                }
            }
            session.active_org = org;
        }
        session.last_active_at = now;
        session.updated_at = now;
        let jwt = self.mint_session_token(session_id, minter);
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.last_token = Some(jwt);
        }
        let client = self.clients.get_mut(client_token).expect("client exists");
        client.last_active_session_id = Some(session_id.to_owned());
        client.updated_at = now;
        Ok(TouchOutcome { client_token: client_token.to_owned(), session_id: session_id.to_owned() })
    }

    /// `POST /v1/client/sessions/{id}/tokens`: a fresh session token; `organization_id` (an id,
    /// not a slug) switches the active organization first (empty: personal account).
    pub(crate) fn session_token(
        &mut self,
        client_token: &str,
        session_id: &str,
        organization_id: Option<&str>,
        minter: &Minter,
    ) -> Result<MintedToken, ApiError> {
        self.owned_session(client_token, session_id)?;
        let org = organization_id.map(|value| self.resolve_org(session_id, value, false)).transpose()?;
        let session = self.sessions.get_mut(session_id).expect("session exists");
        if let Some(org) = org {
            session.active_org = org;
        }
        session.last_active_at = now_ms();
        let jwt = self.mint_session_token(session_id, minter);
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.last_token = Some(jwt.clone());
        }
        Ok(MintedToken { client_token: client_token.to_owned(), jwt })
    }

    /// `POST /v1/client/sessions/{id}/tokens/{template}`: a JWT template token for the
    /// session's user and active organization.
    pub(crate) fn template_token(
        &mut self,
        client_token: &str,
        session_id: &str,
        template_name: &str,
        minter: &Minter,
    ) -> Result<MintedToken, ApiError> {
        self.owned_session(client_token, session_id)?;
        let template = self
            .config
            .templates
            .get(template_name)
            .ok_or_else(|| ApiError::TemplateNotFound { name: template_name.to_owned() })?;
        let session = &self.sessions[session_id];
        let record = self
            .user_by_id(&session.user_id)
            .ok_or_else(|| ApiError::SessionNotFound { session_id: session_id.to_owned() })?;
        let claims = claims::template_claims(
            &template.claims,
            &TemplateFacts {
                issuer: &minter.issuer,
                user: &record.user,
                now_secs: now_ms() / 1000,
                lifetime: template.lifetime,
                org: self.active_org(&record.user, session.active_org.as_deref()),
            },
        );
        Ok(MintedToken { client_token: client_token.to_owned(), jwt: minter.sign(&claims) })
    }

    fn active_org<'a>(&'a self, user: &'a FakeUser, org_id: Option<&str>) -> Option<ActiveOrg<'a>> {
        let org = self.org_by_id(org_id?)?;
        let role = user.role_in(&org.id)?;
        Some(ActiveOrg { org, role })
    }

    /// Mints a v2 session token for `session_id` as it stands.
    fn mint_session_token(&self, session_id: &str, minter: &Minter) -> String {
        let session = &self.sessions[session_id];
        let now = now_ms();
        let user = self.user_by_id(&session.user_id).map(|record| &record.user);
        let claims = claims::session_claims(&SessionFacts {
            issuer: &minter.issuer,
            user_id: &session.user_id,
            session_id: &session.id,
            now_secs: now / 1000,
            lifetime: self.config.token_lifetime,
            first_factor_age_minutes: now.saturating_sub(session.created_at) / 60_000,
            pending: session.status == SessionStatus::Pending,
            org: user.and_then(|user| self.active_org(user, session.active_org.as_deref())),
        });
        minter.sign(&claims)
    }

    /// A v2 session token for `user_id` (and `org_id`) outside any client: a fresh `sid` that
    /// no FAPI route knows.
    ///
    /// # Panics
    /// If `org_id` is unknown or `user_id` (a known user) is not a member of it.
    pub(crate) fn direct_session_token(&self, user_id: &str, org_id: Option<&str>, minter: &Minter) -> String {
        let user = self.user_by_id(user_id).map(|record| &record.user);
        let org = org_id.map(|org_id| {
            let org = self.org_by_id(org_id).unwrap_or_else(|| panic!("FakeClerk knows no organization {org_id:?}"));
            let role = user
                .and_then(|user| user.role_in(org_id))
                .unwrap_or_else(|| panic!("user {user_id:?} is not a member of {org_id:?}"));
            ActiveOrg { org, role }
        });
        let session_id = ids::clerk_id("sess");
        let claims = claims::session_claims(&SessionFacts {
            issuer: &minter.issuer,
            user_id,
            session_id: &session_id,
            now_secs: now_ms() / 1000,
            lifetime: self.config.token_lifetime,
            first_factor_age_minutes: 0,
            pending: user.is_some_and(|user| !user.pending_tasks.is_empty()),
            org,
        });
        minter.sign(&claims)
    }
}
