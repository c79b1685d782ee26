//! `POST /v1/client/sign_ins`: a password sign-in, in steps: the per-IP rate limit, the form,
//! the client's sessions, the user's lockout and password, then the client and session it
//! creates.

use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::api_error::ApiError;
use super::fixtures::SecondStep;
use super::ids;
use super::lockout::WrongPassword;
use super::minting::Minter;
use super::records::{ClientRecord, SessionRecord, SessionStatus, SignInRecord, SignInStatus};
use super::state::State;
use super::time::{ms, now_ms};

/// Clerk's default maximum session lifetime.
const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// When an inactive session is abandoned (Clerk's default: 30 days).
const SESSION_ABANDON: Duration = Duration::from_secs(30 * 24 * 3600);
/// When an unfinished sign-in is abandoned.
const SIGN_IN_ABANDON: Duration = Duration::from_secs(24 * 3600);

/// What the sign-in form carried.
pub(crate) struct SignInForm<'a> {
    pub(crate) strategy: Option<&'a str>,
    pub(crate) identifier: Option<&'a str>,
    pub(crate) password: Option<&'a str>,
}

/// A sign-in was created: the attempt as it stands, on the client `client_token` (new or
/// known).
pub(crate) struct SignInOutcome {
    pub(crate) client_token: String,
    pub(crate) attempt: SignInRecord,
}

/// A checked sign-in form: the identifier, and the password when the strategy is `password`
/// (`None`: no strategy yet, the first factor is still to come).
struct Credentials<'a> {
    identifier: &'a str,
    password: Option<&'a str>,
}

impl<'a> SignInForm<'a> {
    /// An identifier is required; strategy `password` requires a password, other strategies are
    /// refused.
    fn credentials(&self) -> Result<Credentials<'a>, ApiError> {
        let identifier =
            self.identifier.filter(|id| !id.is_empty()).ok_or(ApiError::ParamMissing { param: "identifier" })?;
        let password = match self.strategy.filter(|s| !s.is_empty()) {
            Some("password") => {
                Some(self.password.filter(|p| !p.is_empty()).ok_or(ApiError::ParamMissing { param: "password" })?)
            }
            Some(_) => return Err(ApiError::ParamInvalid { param: "strategy" }),
            None => None,
        };
        Ok(Credentials { identifier, password })
    }
}

/// Where a correct password leads: the user's second step, or a complete sign-in.
fn status_after_password(second_step: Option<SecondStep>) -> SignInStatus {
    match second_step {
        None => SignInStatus::Complete,
        Some(SecondStep::SecondFactor) => SignInStatus::NeedsSecondFactor,
        Some(SecondStep::ClientTrust) => SignInStatus::NeedsClientTrust,
        Some(SecondStep::NewPassword) => SignInStatus::NeedsNewPassword,
    }
}

impl State {
    /// `POST /v1/client/sign_ins`: creates a sign-in with a password, and a session when it
    /// completes. `client_token` is the request's `Authorization` (empty: no client yet).
    pub(crate) fn sign_in(
        &mut self,
        ip: IpAddr,
        client_token: &str,
        form: &SignInForm<'_>,
        minter: &Minter,
    ) -> Result<SignInOutcome, ApiError> {
        self.count_sign_in_from(ip)?;
        let credentials = form.credentials()?;
        let known_client = self.client(client_token).map(|client| client.token.clone());
        self.refuse_second_session(known_client.as_deref())?;
        let now = Instant::now();
        let user_index = self
            .users
            .iter()
            .position(|record| record.user.is_identified_by(credentials.identifier))
            .ok_or(ApiError::IdentifierNotFound)?;
        self.check_standing(user_index, now)?;
        let user_id = self.users[user_index].user.id.clone();
        self.refuse_signed_in_user(known_client.as_deref(), &user_id)?;
        let status = self.check_password(user_index, credentials.password, now)?;
        Ok(self.create_sign_in(known_client, &credentials, user_index, status, minter))
    }

    /// The per-IP rate limit: counts this sign-in creation, or refuses it with the wait.
    fn count_sign_in_from(&mut self, ip: IpAddr) -> Result<(), ApiError> {
        self.sign_in_rate
            .admit(ip, Instant::now(), self.config.sign_in_limit, self.config.sign_in_window)
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })
    }

    /// Single session mode: a client that holds a signed-in session cannot sign in again.
    fn refuse_second_session(&self, known_client: Option<&str>) -> Result<(), ApiError> {
        if self.config.single_session
            && let Some(token) = known_client
            && self.signed_in_sessions(token).next().is_some()
        {
            return Err(ApiError::SessionExists);
        }
        Ok(())
    }

    /// Multi-session mode: a client cannot hold two sessions of one user.
    fn refuse_signed_in_user(&self, known_client: Option<&str>, user_id: &str) -> Result<(), ApiError> {
        if let Some(token) = known_client
            && let Some(session) = self.signed_in_sessions(token).find(|session| session.user_id == user_id)
        {
            return Err(ApiError::AlreadySignedIn { session_id: session.id.clone() });
        }
        Ok(())
    }

    /// The user's lockout, before the password is looked at: banned and locked users are refused,
    /// and a lock that has run out is lifted.
    fn check_standing(&mut self, user_index: usize, now: Instant) -> Result<(), ApiError> {
        let record = &mut self.users[user_index];
        if record.user.banned {
            return Err(ApiError::UserBanned);
        }
        record.lockout.lift_if_over(now);
        if let Some(remaining) = record.lockout_remaining(now) {
            return Err(ApiError::UserLocked { remaining });
        }
        Ok(())
    }

    /// The password, counted by the user's lockout: a wrong one counts towards the lock (and may
    /// lock), a right one starts the count over. Returns the status the sign-in reaches.
    fn check_password(
        &mut self,
        user_index: usize,
        password: Option<&str>,
        now: Instant,
    ) -> Result<SignInStatus, ApiError> {
        let Some(password) = password else {
            return Ok(SignInStatus::NeedsFirstFactor);
        };
        let threshold = self.config.lockout_threshold;
        let lockout_duration = self.config.lockout_duration;
        let record = &mut self.users[user_index];
        if password != record.user.password {
            return Err(match record.lockout.record_failure(now, threshold, lockout_duration) {
                WrongPassword::Locked => ApiError::UserLocked { remaining: Some(lockout_duration) },
                WrongPassword::Warning { attempts_left } => ApiError::LockoutWarning { attempts_left },
                WrongPassword::Incorrect => ApiError::PasswordIncorrect,
            });
        }
        record.lockout.record_success();
        Ok(status_after_password(record.user.second_step))
    }

    /// Records the attempt on the client (a new client when the request named none) and, when it
    /// is complete, creates the session with its first token. An unfinished attempt stays on the
    /// client; a complete one does not.
    fn create_sign_in(
        &mut self,
        known_client: Option<String>,
        credentials: &Credentials<'_>,
        user_index: usize,
        status: SignInStatus,
        minter: &Minter,
    ) -> SignInOutcome {
        let user = &self.users[user_index].user;
        let user_id = user.id.clone();
        let pending_tasks = user.pending_tasks.clone();
        let now_ms = now_ms();
        let token = known_client.unwrap_or_else(|| self.new_client(now_ms));
        let mut attempt = SignInRecord {
            id: ids::clerk_id("sia"),
            status,
            identifier: credentials.identifier.to_owned(),
            user_id: user_id.clone(),
            first_factor_verified: credentials.password.is_some(),
            created_session_id: None,
            abandon_at: now_ms + ms(SIGN_IN_ABANDON),
        };
        if status == SignInStatus::Complete {
            let session_id = self.create_session(&token, &user_id, pending_tasks, now_ms);
            self.refresh_session_token(&session_id, minter);
            attempt.created_session_id = Some(session_id);
            self.stats.sign_ins += 1;
        }
        let client = self.clients.get_mut(&token).expect("client exists");
        client.updated_at = now_ms;
        client.sign_in = (status != SignInStatus::Complete).then(|| attempt.clone());
        SignInOutcome { client_token: token, attempt }
    }

    /// A new client, known by the token it returns.
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

    /// A new session of `user_id` on the client `client_token`, pending while it has `tasks`;
    /// it becomes the client's last active session.
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
}
