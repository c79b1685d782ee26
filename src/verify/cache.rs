//! Verified tokens, remembered until they expire, so a token is verified once rather than on
//! every request.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use quick_cache::Equivalent;
use quick_cache::sync::Cache;

use super::jwks::KeySet;
use crate::claims::ClerkClaims;

/// A bounded map from token text to the claims it was verified with (quick_cache, lock-free
/// reads). Concurrency: every method may be called from any number of tasks at once.
pub(super) struct VerifiedTokens {
    cache: Cache<TokenText, Arc<VerifiedToken>>,
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
        let entry = self.cache.get(&Lookup(token))?;
        let in_time = entry.claims.expires_at_secs().saturating_add(self.leeway) >= now
            && entry.claims.not_before_secs().is_none_or(|nbf| nbf <= now.saturating_add(self.leeway));
        if in_time && keys.get(entry.kid.as_deref()).is_some() {
            return Some(entry.claims.clone());
        }
        self.cache.remove(&Lookup(token));
        None
    }

    /// Remembers a token that just passed verification with the key `kid`.
    pub(super) fn insert(&self, token: &str, claims: ClerkClaims, kid: Option<&str>) {
        self.cache.insert(TokenText(Box::from(token)), Arc::new(VerifiedToken { claims, kid: kid.map(Box::from) }));
    }

    #[cfg(test)]
    pub(super) fn contains(&self, token: &str) -> bool {
        self.cache.get(&Lookup(token)).is_some()
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.cache.len()
    }
}

/// The text of a remembered token: equal only to the same text, hashed by its last
/// [`HASHED_TAIL`] bytes.
///
/// The tail is the end of the RS256 signature, which differs between any two tokens Clerk signed
/// (PKCS #1 v1.5 signatures are a function of the signed text), so hashing the rest of the ~800
/// bytes would only cost time on every lookup. Only verified tokens are stored, so nobody can
/// fill the cache with keys chosen to share a hash; a token made up to share a stored token's
/// tail finds that entry's slot and is then told apart by the full comparison.
#[derive(PartialEq, Eq)]
struct TokenText(Box<str>);

/// How many bytes at the end of a token its hash covers.
const HASHED_TAIL: usize = 64;

fn hash_tail<H: Hasher>(token: &str, state: &mut H) {
    let bytes = token.as_bytes();
    bytes[bytes.len().saturating_sub(HASHED_TAIL)..].hash(state);
}

impl Hash for TokenText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_tail(&self.0, state);
    }
}

/// A token looked up by its text, hashed as [`TokenText`] is.
struct Lookup<'a>(&'a str);

impl Hash for Lookup<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_tail(self.0, state);
    }
}

impl Equivalent<TokenText> for Lookup<'_> {
    fn equivalent(&self, key: &TokenText) -> bool {
        *self.0 == *key.0
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher as _;

    use super::*;

    #[test]
    fn a_lookup_hashes_as_the_stored_text_and_equals_only_the_same_text() {
        let hasher = std::collections::hash_map::RandomState::new();
        let token = format!("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEifQ.{}", "s".repeat(342));
        let stored = TokenText(Box::from(token.as_str()));
        assert_eq!(hasher.hash_one(Lookup(&token)), hasher.hash_one(&stored));
        // Another token with the same tail: the same hash, not the same key.
        let other = token.replacen("eyJzdWIiOiJ1c2VyXzEifQ", "eyJzdWIiOiJ1c2VyXzIifQ", 1);
        assert_eq!(hasher.hash_one(Lookup(&other)), hasher.hash_one(&stored));
        assert!(Lookup(&token).equivalent(&stored) && !Lookup(&other).equivalent(&stored));
        // Shorter than the tail: hashed whole.
        assert_eq!(hasher.hash_one(Lookup("a.b.c")), hasher.hash_one(TokenText(Box::from("a.b.c"))));
        assert_ne!(hasher.hash_one(Lookup("a.b.c")), hasher.hash_one(Lookup("a.b.d")));
    }
}
