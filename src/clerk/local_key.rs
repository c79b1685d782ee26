//! The name of a credential in this process's memory, computed on every token request.
//!
//! SipHash-2-4 with its 128-bit output, a pseudorandom function designed for short inputs,
//! under a key drawn from the system's random source when the layer is built. Nobody outside
//! the process knows the key, so nobody can choose credentials whose name is another's (a plain
//! hash would let them try offline), and 128 bits leave no room for chance collisions. No
//! password is kept: only this name. It costs a fraction of an HMAC-SHA256 on these short
//! inputs, and HMAC is still used for what replicas share (the store's entry names, which
//! need a key every replica holds and are computed only when the local cache has no answer).

use std::hash::Hasher as _;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use siphasher::sip128::{Hasher128 as _, SipHasher24};

use super::credentials::Credentials;

/// The in-memory name of one credential.
pub(crate) type LocalKey = u128;

/// The key that names credentials in one layer's memory.
pub(crate) struct LocalKeys {
    key: [u8; 16],
}

impl LocalKeys {
    /// A key drawn at random.
    pub(crate) fn random() -> Self {
        let mut key = [0; 16];
        SystemRandom::new().fill(&mut key).expect("the system random source is available");
        Self { key }
    }

    /// The name of `credentials`: identifier and password, each after its length, so no two
    /// pairs share an input.
    pub(crate) fn name(&self, credentials: &Credentials) -> LocalKey {
        let mut hasher = SipHasher24::new_with_key(&self.key);
        for part in [credentials.identifier(), credentials.password()] {
            hasher.write_u64(part.len() as u64);
            hasher.write(part.as_bytes());
        }
        hasher.finish128().as_u128()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(identifier: &str, password: &str) -> Credentials {
        Credentials::from_joined(format!("{identifier}:{password}"), identifier.len())
    }

    #[test]
    fn a_name_depends_on_the_key_and_on_both_parts_apart() {
        let keys = LocalKeys::random();
        let name = keys.name(&credentials("user", "secret"));
        assert_eq!(name, keys.name(&credentials("user", "secret")), "stable under one key");
        assert_ne!(name, LocalKeys::random().name(&credentials("user", "secret")), "another key, another name");
        assert_ne!(name, keys.name(&credentials("user", "secreT")));
        assert_ne!(name, keys.name(&credentials("use", "rsecret")), "the split between the parts counts");
        assert_ne!(keys.name(&credentials("a:b", "c")), keys.name(&credentials("a", "b:c")));
    }
}
