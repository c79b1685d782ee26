//! What the [`FakeClerk`](super::FakeClerk) handle and the connection tasks share: the state,
//! the signing keys and the issuer.

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::keys::KeyRing;
use super::minting::Minter;
use super::state::State;

/// What the handle and the connection tasks share.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) keys: Mutex<KeyRing>,
    pub(crate) issuer: String,
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
}
