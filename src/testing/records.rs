//! What the instance keeps about each user, session, sign-in attempt, client and sign-in token.

use std::time::Duration;

use tokio::time::Instant;

use super::fixtures::FakeUser;
use super::lockout::{Lockout, WrongPassword};

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

    /// Lifts a lock that has run out, then the remaining lockout as
    /// [`lockout_remaining`](Self::lockout_remaining) gives it.
    pub(crate) fn current_lock(&mut self, now: Instant) -> Option<Option<Duration>> {
        self.lockout.lift_if_over(now);
        self.lockout_remaining(now)
    }

    /// Checks `password`, counted by the lockout: a wrong one counts towards the lock (and may
    /// lock for `duration` after `threshold` failures), a right one starts the count over.
    pub(crate) fn attempt_password(
        &mut self,
        password: &str,
        now: Instant,
        threshold: u32,
        duration: Duration,
    ) -> Result<(), WrongPassword> {
        if password != self.user.password {
            return Err(self.lockout.record_failure(now, threshold, duration));
        }
        self.lockout.record_success();
        Ok(())
    }
}

/// A session's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionStatus {
    Active,
    Pending,
    Revoked,
    Expired,
    /// Ended with its client (the client was dropped).
    Ended,
}

impl SessionStatus {
    /// Active or pending: the session can be touched and mint tokens.
    pub(crate) fn is_signed_in(self) -> bool {
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

/// Where a sign-in attempt stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignInStatus {
    /// Created without a strategy: the password is still to come.
    NeedsFirstFactor,
    /// Multi-factor authentication.
    NeedsSecondFactor,
    /// Client trust (new device, password only).
    NeedsClientTrust,
    /// A password reset.
    NeedsNewPassword,
    /// Signed in: a session was created.
    Complete,
}

/// The sign-in attempt a client currently holds.
#[derive(Clone)]
pub(crate) struct SignInRecord {
    pub(crate) id: String,
    pub(crate) status: SignInStatus,
    pub(crate) identifier: String,
    pub(crate) user_id: String,
    /// The strategy of the verified first factor (`password`, `ticket`), if any.
    pub(crate) first_factor: Option<&'static str>,
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
    /// Successful calls on the client's sessions since its token last rotated.
    pub(crate) calls_since_rotation: u32,
    pub(crate) created_at: u64,
    pub(crate) updated_at: u64,
}

/// Where a Backend API sign-in token stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignInTokenStatus {
    /// Not redeemed yet.
    Pending,
    /// Redeemed by a ticket sign-in: it cannot be used again.
    Accepted,
}

/// A sign-in token (`POST /v1/sign_in_tokens`), redeemed as a Frontend API `ticket`.
pub(crate) struct SignInTokenRecord {
    pub(crate) id: String,
    pub(crate) user_id: String,
    /// The organization the session starts with, if the token names one.
    pub(crate) org_id: Option<String>,
    pub(crate) status: SignInTokenStatus,
    pub(crate) expires_at: Instant,
    pub(crate) created_at: u64,
    pub(crate) updated_at: u64,
}
