//! How a credential is signed in at Clerk: a Frontend API password sign-in, or, with the
//! instance's secret key, a Backend API password check redeemed as a ticket sign-in.

use super::bapi::{self, BapiClient};
use super::credentials::Credentials;
use super::error::ClerkError;
use super::fapi::{FapiClient, SignedIn};

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

impl SignInMethod {
    /// Signs `credentials` in, as the method says.
    pub(crate) async fn sign_in(&self, fapi: &FapiClient, credentials: &Credentials) -> Result<SignedIn, ClerkError> {
        let bapi = match self {
            Self::Password => return fapi.sign_in(credentials).await,
            Self::Ticket(bapi) => bapi,
        };
        let user = bapi.find_user(credentials.identifier()).await?.ok_or_else(bapi::wrong_credentials)?;
        if let Some(refusal) = user.refusal() {
            return Err(refusal);
        }
        match bapi.verify_password(&user.id, credentials.password()).await {
            Ok(()) => {}
            Err(error) if error.meaning() == super::error::Meaning::WrongCredentials => {
                return Err(bapi::wrong_credentials());
            }
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
