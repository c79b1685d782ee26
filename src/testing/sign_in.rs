//! `POST /v1/client/sign_ins`: a password or ticket sign-in, in steps: the client token, the
//! per-IP rate limit, bot protection, the form, the client's sessions, the ticket or the user's
//! lockout, password and Device Trust, then the client and session it creates.

use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

use super::api_error::ApiError;
use super::fixtures::SecondStep;
use super::ids;
use super::lockout::WrongPassword;
use super::minting::Minter;
use super::records::{ClientRecord, SessionRecord, SessionStatus, SignInRecord, SignInStatus, SignInTokenStatus};
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
    pub(crate) ticket: Option<&'a str>,
}

/// A sign-in was created: the attempt as it stands, on the client `client_token` (new or
/// known).
pub(crate) struct SignInOutcome {
    pub(crate) client_token: String,
    pub(crate) attempt: SignInRecord,
}

/// A sign-in as checked: what the attempt records.
struct Attempt<'a> {
    identifier: &'a str,
    first_factor: Option<&'static str>,
    user_index: usize,
    status: SignInStatus,
    /// The organization the session starts with (a sign-in token's `org_id`).
    org: Option<String>,
}

/// What proves the user: a redeemed ticket, or the password (`None`: no strategy yet, the first
/// factor is still to come).
enum Factor<'a> {
    Ticket,
    Password(Option<&'a str>),
}

/// A checked sign-in form.
enum Credentials<'a> {
    /// An identifier and, with strategy `password`, the password (`None`: no strategy yet, the
    /// first factor is still to come).
    Identifier { identifier: &'a str, password: Option<&'a str> },
    /// Strategy `ticket`: a Backend API sign-in token.
    Ticket(&'a str),
}

impl<'a> SignInForm<'a> {
    /// Strategy `ticket` requires a ticket; otherwise an identifier is required, and strategy
    /// `password` requires a password. Other strategies are refused.
    fn credentials(&self) -> Result<Credentials<'a>, ApiError> {
        let present = |value: Option<&'a str>| value.filter(|value| !value.is_empty());
        let strategy = present(self.strategy);
        if strategy == Some("ticket") {
            let ticket = present(self.ticket).ok_or(ApiError::ParamMissing { param: "ticket" })?;
            return Ok(Credentials::Ticket(ticket));
        }
        let identifier = present(self.identifier).ok_or(ApiError::ParamMissing { param: "identifier" })?;
        let password = match strategy {
            Some("password") => Some(present(self.password).ok_or(ApiError::ParamMissing { param: "password" })?),
            Some(_) => return Err(ApiError::ParamInvalid { param: "strategy" }),
            None => None,
        };
        Ok(Credentials::Identifier { identifier, password })
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
    /// `POST /v1/client/sign_ins`: creates a sign-in with a password or a ticket, and a session
    /// when it completes. `client_token` is the request's `Authorization` (empty: no client yet;
    /// anything else must be a client token the fake handed out and has not rotated away).
    pub(crate) fn sign_in(
        &mut self,
        ip: IpAddr,
        client_token: &str,
        form: &SignInForm<'_>,
        minter: &Minter,
    ) -> Result<SignInOutcome, ApiError> {
        let known_client = match client_token {
            "" => None,
            token => Some(self.client(token).ok_or(ApiError::AuthenticationInvalid)?.token.clone()),
        };
        self.count_sign_in_from(ip)?;
        if self.toggles.requires_captcha {
            return Err(ApiError::RequiresCaptcha);
        }
        let credentials = form.credentials()?;
        self.refuse_second_session(known_client.as_deref())?;
        let now = Instant::now();
        let (user_index, identifier, factor, org) = match credentials {
            Credentials::Ticket(ticket) => {
                let (user_index, org) = self.redeem_ticket(ticket, now)?;
                (user_index, self.users[user_index].user.email.clone(), Factor::Ticket, org)
            }
            Credentials::Identifier { identifier, password } => {
                let user_index = self
                    .users
                    .iter()
                    .position(|record| record.user.is_identified_by(identifier))
                    .ok_or_else(|| self.enumeration_protected(ApiError::IdentifierNotFound))?;
                (user_index, identifier.to_owned(), Factor::Password(password), None)
            }
        };
        self.check_standing(user_index, now)?;
        let user_id = self.users[user_index].user.id.clone();
        self.refuse_signed_in_user(known_client.as_deref(), &user_id)?;
        let (status, strategy) = match factor {
            // Passwordless: neither Device Trust nor a second factor stops a ticket.
            Factor::Ticket => (SignInStatus::Complete, Some("ticket")),
            Factor::Password(password) => {
                let mut status = self.check_password(user_index, password, now)?;
                if status == SignInStatus::Complete && !self.trusts(known_client.as_deref(), user_index) {
                    status = SignInStatus::NeedsClientTrust;
                }
                (status, password.map(|_| "password"))
            }
        };
        let attempt = Attempt { identifier: &identifier, first_factor: strategy, user_index, status, org };
        Ok(self.create_sign_in(known_client, &attempt, minter))
    }

    /// Under enumeration protection, an unknown identifier and a wrong password are one answer.
    fn enumeration_protected(&self, error: ApiError) -> ApiError {
        if self.config.enumeration_protection { ApiError::PasswordOrIdentifierIncorrect } else { error }
    }

    /// Device Trust: whether a correct password alone completes a sign-in of this user on this
    /// client. Off for the instance, a user with `bypass_client_trust`, or a client on which the
    /// user has had a session before (a known device).
    fn trusts(&self, known_client: Option<&str>, user_index: usize) -> bool {
        let user = &self.users[user_index].user;
        if !self.config.device_trust || user.bypass_client_trust {
            return true;
        }
        let Some(client) = known_client.and_then(|token| self.clients.get(token)) else {
            return false;
        };
        client.session_ids.iter().filter_map(|id| self.sessions.get(id)).any(|session| session.user_id == user.id)
    }

    /// Redeems a Backend API sign-in token: once, before it expires. Returns the user's index
    /// and the organization the token names.
    fn redeem_ticket(&mut self, ticket: &str, now: Instant) -> Result<(usize, Option<String>), ApiError> {
        let record = self.sign_in_tokens.get_mut(ticket).ok_or(ApiError::TicketInvalid)?;
        if record.status == SignInTokenStatus::Accepted {
            return Err(ApiError::TicketAlreadyUsed);
        }
        if record.expires_at <= now {
            return Err(ApiError::TicketExpired);
        }
        record.status = SignInTokenStatus::Accepted;
        record.updated_at = now_ms();
        let (user_id, org) = (record.user_id.clone(), record.org_id.clone());
        let user_index =
            self.users.iter().position(|record| record.user.id == user_id).ok_or(ApiError::TicketInvalid)?;
        Ok((user_index, org))
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
        match record.current_lock(now) {
            Some(remaining) => Err(ApiError::UserLocked { remaining }),
            None => Ok(()),
        }
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
        if !self.users[user_index].user.password_enabled {
            return Err(ApiError::StrategyForUserInvalid);
        }
        let threshold = self.config.lockout_threshold;
        let lockout_duration = self.config.lockout_duration;
        let protected = self.config.enumeration_protection;
        let record = &mut self.users[user_index];
        record.attempt_password(password, now, threshold, lockout_duration).map_err(|wrong| match wrong {
            WrongPassword::Locked => ApiError::UserLocked { remaining: Some(lockout_duration) },
            _ if protected => ApiError::PasswordOrIdentifierIncorrect,
            WrongPassword::Warning { attempts_left } => ApiError::LockoutWarning { attempts_left },
            WrongPassword::Incorrect => ApiError::PasswordIncorrect,
        })?;
        Ok(status_after_password(record.user.second_step))
    }

    /// Records the attempt on the client (a new client when the request named none) and, when it
    /// is complete, creates the session with its first token. An unfinished attempt stays on the
    /// client; a complete one does not.
    fn create_sign_in(
        &mut self,
        known_client: Option<String>,
        attempt: &Attempt<'_>,
        minter: &Minter,
    ) -> SignInOutcome {
        let user = &self.users[attempt.user_index].user;
        let user_id = user.id.clone();
        let pending_tasks = user.pending_tasks.clone();
        let now_ms = now_ms();
        let token = known_client.unwrap_or_else(|| self.new_client(now_ms));
        let mut record = SignInRecord {
            id: ids::clerk_id("sia"),
            status: attempt.status,
            identifier: attempt.identifier.to_owned(),
            user_id: user_id.clone(),
            first_factor: attempt.first_factor,
            created_session_id: None,
            abandon_at: now_ms + ms(SIGN_IN_ABANDON),
        };
        if attempt.status == SignInStatus::NeedsClientTrust {
            self.stats.client_trust_prompts += 1;
        }
        let complete = attempt.status == SignInStatus::Complete;
        if complete {
            let session_id = self.create_session(&token, &user_id, pending_tasks, attempt.org.clone(), now_ms);
            self.refresh_session_token(&session_id, minter);
            record.created_session_id = Some(session_id);
            self.stats.sign_ins += 1;
        }
        let client = self.clients.get_mut(&token).expect("client exists");
        client.updated_at = now_ms;
        client.sign_in = (!complete).then(|| record.clone());
        SignInOutcome { client_token: token, attempt: record }
    }

    /// A new client, known by the token it returns.
    fn new_client(&mut self, now_ms: u64) -> String {
        let token = ids::client_token();
        self.handed_out.push(token.clone());
        self.clients.insert(
            token.clone(),
            ClientRecord {
                id: ids::clerk_id("client"),
                token: token.clone(),
                session_ids: Vec::new(),
                sign_in: None,
                last_active_session_id: None,
                calls_since_rotation: 0,
                created_at: now_ms,
                updated_at: now_ms,
            },
        );
        token
    }

    /// A new session of `user_id` on the client `client_token`, pending while it has `tasks`;
    /// it becomes the client's last active session.
    fn create_session(
        &mut self,
        client_token: &str,
        user_id: &str,
        tasks: Vec<String>,
        active_org: Option<String>,
        now_ms: u64,
    ) -> String {
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
                active_org,
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
