//! Verified tokens, remembered until they expire, so a token is verified once rather than on
//! every request.

use std::sync::Arc;

use quick_cache::sync::Cache;

use super::jwks::KeySet;
use crate::claims::ClerkClaims;

/// A bounded map from token text to the claims it was verified with (quick_cache, lock-free
/// reads). Concurrency: every method may be called from any number of tasks at once.
pub(super) struct VerifiedTokens {
    cache: Cache<Box<str>, Arc<VerifiedToken>>,
    /// Seconds of clock leeway, as for verification.
    leeway: u64,
}

/// A token that passed verification.
struct VerifiedToken {
    claims: ClerkClaims,
    kid: Option<Box<str>>,
}

impl VerifiedTokens {
    pub(super) fn new(capacity: usize, leeway: u64) -> Self {
        Self { cache: Cache::new(capacity), leeway }
    }

    /// The claims of a remembered `token`, if it is still within its validity at `now` (Unix
    /// seconds) and its key is still among `keys`; otherwise it is forgotten (and verified from
    /// scratch next time).
    pub(super) fn get(&self, token: &str, keys: &KeySet, now: u64) -> Option<ClerkClaims> {
        let entry = self.cache.get(token)?;
        let in_time = entry.claims.expires_at_secs().saturating_add(self.leeway) >= now
            && entry.claims.not_before_secs().is_none_or(|nbf| nbf <= now.saturating_add(self.leeway));
        if in_time && keys.get(entry.kid.as_deref()).is_some() {
            return Some(entry.claims.clone());
        }
        self.cache.remove(token);
        None
    }

    /// Remembers a token that just passed verification with the key `kid`.
    pub(super) fn insert(&self, token: &str, claims: ClerkClaims, kid: Option<&str>) {
        self.cache.insert(Box::from(token), Arc::new(VerifiedToken { claims, kid: kid.map(Box::from) }));
    }

    #[cfg(test)]
    pub(super) fn contains(&self, token: &str) -> bool {
        self.cache.get(token).is_some()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.cache.len()
    }
}
