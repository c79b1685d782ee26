//! How a credential is signed in at Clerk: a Frontend API password sign-in, or, with the
//! instance's secret key, a Backend API password check redeemed as a ticket sign-in. Both in two
//! steps, so that the caller can apply the failure budget of the right subject in between.

use super::bapi::{self, BapiClient, BapiUser};
use super::credentials::Credentials;
use super::error::{ClerkError, Meaning};
use super::fapi::{FapiClient, SignedIn};
use super::throttle::normalised;

/// Clerk warns at this many attempts left before a lockout (`account_lockout_warning` comes at
/// 2, 1 and 0): a credential not known to be good is not tried below it.
const LOCKOUT_MARGIN: u64 = 2;

/// The sign-in path of one layer.
pub(crate) enum SignInMethod {
    /// `strategy=password` at the Frontend API, as a new native client. Clerk's Device Trust
    /// stops it for users without a second factor on instances that have it on.
    Password,
    /// The password checked at the Backend API (`verify_password`), then `strategy=ticket` with a
    /// sign-in token: not subject to Device Trust or CAPTCHA, so the layer itself refuses locked,
    /// banned and multi-factor users.
    Ticket(BapiClient),
}

/// What a check of a live session's password found.
pub(crate) enum Recheck {
    /// Still the user's password.
    Good,
    /// Not the user's password any more.
    Changed,
    /// Clerk could not say now.
    Unknown,
    /// Only a new sign-in can tell (no Backend API).
    NeedsSignIn,
}

/// A sign-in about to be tried: whose it is, and what Clerk said of the user so far.
pub(crate) struct Attempt {
    /// Who failures count against: the Clerk user (`user:<id>`) where the Backend API named it,
    /// so an e-mail address and a username of one user share one budget; the identifier as Clerk
    /// matches it (lower case) otherwise.
    pub(crate) subject: String,
    user: Option<BapiUser>,
}

impl Attempt {
    /// Whether Clerk is within [`LOCKOUT_MARGIN`] attempts of locking the user out.
    pub(crate) fn near_lockout(&self) -> bool {
        self.user.as_ref().and_then(BapiUser::attempts_remaining).is_some_and(|left| left <= LOCKOUT_MARGIN)
    }
}

impl SignInMethod {
    /// The first step: nothing for a password sign-in; for a ticket sign-in, the user, and the
    /// account states that refuse it before any password is checked (unknown, banned, locked).
    pub(crate) async fn prepare(&self, credentials: &Credentials) -> Result<Attempt, ClerkError> {
        let Self::Ticket(bapi) = self else {
            return Ok(Attempt { subject: normalised(credentials.identifier()), user: None });
        };
        let user = bapi.find_user(credentials.identifier()).await?.ok_or_else(bapi::wrong_credentials)?;
        if let Some(refusal) = user.refusal() {
            return Err(refusal);
        }
        Ok(Attempt { subject: format!("user:{}", user.id), user: Some(user) })
    }

    /// Checks the password of a credential whose session lives: `verify_password` at the
    /// Backend API (which needs no new session), or a new sign-in.
    pub(crate) async fn recheck(&self, user_id: Option<&str>, credentials: &Credentials) -> Recheck {
        let Self::Ticket(bapi) = self else { return Recheck::NeedsSignIn };
        let user_id = match user_id {
            Some(user_id) => user_id.to_owned(),
            None => match bapi.find_user(credentials.identifier()).await {
                Ok(Some(user)) => user.id,
                Ok(None) => return Recheck::Changed,
                Err(_) => return Recheck::Unknown,
            },
        };
        match bapi.verify_password(&user_id, credentials.password()).await {
            Ok(()) => Recheck::Good,
            Err(error) if error.meaning() == Meaning::WrongCredentials => Recheck::Changed,
            Err(_) => Recheck::Unknown,
        }
    }

    /// The second step: the password, and the session.
    pub(crate) async fn complete(
        &self,
        fapi: &FapiClient,
        attempt: Attempt,
        credentials: &Credentials,
    ) -> Result<SignedIn, ClerkError> {
        let (Self::Ticket(bapi), Some(user)) = (self, attempt.user) else {
            return fapi.sign_in(credentials).await;
        };
        match bapi.verify_password(&user.id, credentials.password()).await {
            Ok(()) => {}
            // One answer for a wrong password and an unknown user: no identifier is confirmed.
            Err(error) if error.meaning() == Meaning::WrongCredentials => return Err(bapi::wrong_credentials()),
            Err(error) => return Err(error),
        }
        // Only someone who knows the password learns that a second factor stands in the way.
        if user.has_multi_factor() {
            return Err(ClerkError::SignInIncomplete { status: "needs_second_factor".to_owned() });
        }
        let ticket = bapi.sign_in_token(&user.id).await?;
        fapi.sign_in_with_ticket(&ticket).await
    }
}
