//! What the [`FakeClerk`](super::FakeClerk) handle and the connection tasks share: the state,
//! the signing keys, the issuer, where the Frontend API is served and the secret key.

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::keys::KeyRing;
use super::minting::Minter;
use super::state::State;

/// What the handle and the connection tasks share.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) keys: Mutex<KeyRing>,
    /// `http://127.0.0.1:PORT`: the `iss` of every token.
    pub(crate) issuer: String,
    /// The path the Frontend API is served under (a proxy path such as `/__clerk`), or empty.
    pub(crate) proxy_prefix: String,
    /// The instance's secret key, `sk_test_...`, which every Backend API call must carry.
    pub(crate) secret_key: String,
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn keys(&self) -> MutexGuard<'_, KeyRing> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The issuer and the current signing key.
    pub(crate) fn minter(&self) -> Minter {
        Minter { issuer: self.issuer.clone(), key: self.keys().current() }
    }

    /// Where the Frontend API answers: the issuer, plus the proxy path if there is one.
    pub(crate) fn frontend_api(&self) -> String {
        format!("{}{}", self.issuer, self.proxy_prefix)
    }
}
