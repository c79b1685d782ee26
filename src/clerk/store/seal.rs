//! The keys of a shared session store, all derived from one secret that every replica holds:
//! a key for the keyed hashes that name entries, and an AES-256-GCM key that seals their values,
//! so a Redis dump or a compromised Redis yields no client token, JWT or identifier.

#[cfg(feature = "redis")]
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, KeyType, Salt};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// The least length of the shared secret, in bytes.
pub(crate) const MIN_SECRET_LEN: usize = 32;

/// Keys derived from the store secret (HKDF-SHA256, one label each).
pub(crate) struct Seal {
    naming: hmac::Key,
    /// Values are sealed only in a shared store.
    #[cfg(feature = "redis")]
    sealing: LessSafeKey,
    #[cfg(feature = "redis")]
    random: SystemRandom,
}

struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl Seal {
    /// Keys from `secret` (at least [`MIN_SECRET_LEN`] bytes, checked by the configuration).
    pub(crate) fn from_secret(secret: &[u8]) -> Self {
        let prk = Salt::new(HKDF_SHA256, b"clerk-basic-auth session store v1").extract(secret);
        let mut naming = [0; 32];
        let mut sealing = [0; 32];
        for (label, out) in [(&b"naming"[..], &mut naming), (&b"sealing"[..], &mut sealing)] {
            prk.expand(&[label], Len(32)).and_then(|okm| okm.fill(out)).expect("32 bytes are a valid HKDF output");
        }
        #[cfg(not(feature = "redis"))]
        let _ = sealing;
        Self {
            naming: hmac::Key::new(hmac::HMAC_SHA256, &naming),
            #[cfg(feature = "redis")]
            sealing: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &sealing).expect("32 bytes are an AES-256 key")),
            #[cfg(feature = "redis")]
            random: SystemRandom::new(),
        }
    }

    /// Keys that no other process shares: entries are named per process (the in-memory store).
    pub(crate) fn random() -> Self {
        let mut secret = [0; 32];
        SystemRandom::new().fill(&mut secret).expect("the system random source is available");
        Self::from_secret(&secret)
    }

    /// The keyed hash that names an entry.
    pub(crate) fn name(&self, parts: &[&[u8]]) -> [u8; 32] {
        // One buffer, one HMAC call: each part after its length.
        let mut stack = [0u8; 512];
        let length: usize = parts.iter().map(|part| 8 + part.len()).sum();
        let mut heap = Vec::new();
        let buffer = if length <= stack.len() {
            &mut stack[..length]
        } else {
            heap.resize(length, 0);
            &mut heap[..]
        };
        let mut at = 0;
        for part in parts {
            buffer[at..at + 8].copy_from_slice(&(part.len() as u64).to_be_bytes());
            buffer[at + 8..at + 8 + part.len()].copy_from_slice(part);
            at += 8 + part.len();
        }
        let mut name = [0; 32];
        name.copy_from_slice(hmac::sign(&self.naming, buffer).as_ref());
        name
    }

    /// `plaintext` sealed: a random nonce, then the ciphertext and its tag. `bound_to` (the
    /// entry's name) is authenticated too, so a value moved to another entry does not open.
    #[cfg(feature = "redis")]
    pub(crate) fn seal(&self, plaintext: &[u8], bound_to: &[u8]) -> Vec<u8> {
        let mut nonce = [0; NONCE_LEN];
        self.random.fill(&mut nonce).expect("the system random source is available");
        let mut sealed = Vec::with_capacity(NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let mut in_out = sealed.split_off(NONCE_LEN);
        self.sealing
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(bound_to), &mut in_out)
            .expect("AES-GCM seals any length this store writes");
        sealed.extend_from_slice(&in_out);
        sealed
    }

    /// The plaintext of a sealed value, or `None` if it was not sealed under this key for this entry.
    #[cfg(feature = "redis")]
    pub(crate) fn open(&self, sealed: &[u8], bound_to: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self.sealing.open_in_place(nonce, Aad::from(bound_to), &mut in_out).ok()?;
        Some(plaintext.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "redis")]
    #[test]
    fn sealed_values_open_only_with_the_same_secret_and_entry() {
        let seal = Seal::from_secret(&[7; 32]);
        let sealed = seal.seal(b"client token", b"entry-1");
        assert!(!sealed.windows(12).any(|w| w == b"client token"), "no plaintext in the sealed value");
        assert_eq!(seal.open(&sealed, b"entry-1").as_deref(), Some(&b"client token"[..]));
        assert_eq!(seal.open(&sealed, b"entry-2"), None, "bound to its entry");
        assert_eq!(Seal::from_secret(&[8; 32]).open(&sealed, b"entry-1"), None, "another secret");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(seal.open(&tampered, b"entry-1"), None);
        assert_eq!(seal.open(&sealed[..5], b"entry-1"), None);
        assert_ne!(seal.seal(b"x", b"e"), seal.seal(b"x", b"e"), "a fresh nonce each time");
    }

    #[test]
    fn names_are_keyed_and_unambiguous() {
        let seal = Seal::from_secret(&[7; 32]);
        assert_eq!(seal.name(&[b"a", b"bc"]), Seal::from_secret(&[7; 32]).name(&[b"a", b"bc"]));
        assert_ne!(seal.name(&[b"a", b"bc"]), seal.name(&[b"ab", b"c"]));
        assert_ne!(seal.name(&[b"a"]), Seal::from_secret(&[9; 32]).name(&[b"a"]));
    }
}
