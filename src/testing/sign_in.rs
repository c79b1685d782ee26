//! `POST /v1/client/sign_ins`: a password sign-in, and the client and session it creates.

use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::api_error::ApiError;
use super::ids;
use super::lockout::WrongPassword;
use super::minting::Minter;
use super::records::{ClientRecord, SessionRecord, SessionStatus, SignInRecord};
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
}
