//! RSA signing keys of the fake instance: key generation, JWS signing, JWKS and PEM export.

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::ids;

/// The token categories Clerk stamps in the `cat` header (`@clerk/backend`
/// `tokens/jwtCategories.ts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Category {
    /// `cl_B7d4PD111AAA`: a session token.
    Session,
    /// `cl_B7d4PD222AAA`: a JWT template token (no `sid`).
    Template,
    /// `cl_B7d4PD333AAA`: a machine-to-machine token (`sub` `mch_...`).
    Machine,
}

impl Category {
    pub(crate) fn cat(self) -> &'static str {
        match self {
            Self::Session => "cl_B7d4PD111AAA",
            Self::Template => "cl_B7d4PD222AAA",
            Self::Machine => "cl_B7d4PD333AAA",
        }
    }
}

/// One RS256 key pair with its key id.
pub(crate) struct SigningKey {
    kid: String,
    key_pair: KeyPair,
}

impl SigningKey {
    /// Generates a fresh 2048-bit RSA key with an `ins_...` key id (Clerk names keys after the
    /// instance). Costs about 100 ms.
    pub(crate) fn generate() -> Self {
        let key_pair = KeyPair::generate(KeySize::Rsa2048).expect("aws-lc-rs failed to generate an RSA key");
        Self { kid: ids::clerk_id("ins"), key_pair }
    }

    /// The key id (`kid` header and JWKS entry).
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The JWK of the public key, as Clerk's `/.well-known/jwks.json` lists it.
    pub(crate) fn jwk(&self) -> Value {
        let public = self.key_pair.public_key();
        json!({
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), like Clerk's `CLERK_JWT_KEY`.
    pub(crate) fn public_key_pem(&self) -> String {
        let der = self.key_pair.public_key().as_der().expect("aws-lc-rs failed to encode the public key");
        let body = STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in body.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// The header Clerk puts on the tokens of `category` it mints: `{alg, cat, kid, typ}`.
    pub(crate) fn clerk_header(&self, category: Category) -> Value {
        json!({"alg": "RS256", "cat": category.cat(), "kid": self.kid, "typ": "JWT"})
    }

    /// The plain header `{alg, kid, typ}`.
    pub(crate) fn plain_header(&self) -> Value {
        json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"})
    }

    /// Signs `header.claims` with RSASSA-PKCS1-v1_5 SHA-256, whatever `header` says.
    pub(crate) fn sign(&self, header: &Value, claims: &Value) -> String {
        let mut jwt = URL_SAFE_NO_PAD.encode(header.to_string());
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), jwt.as_bytes(), &mut signature)
            .expect("aws-lc-rs failed to sign");
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
        jwt
    }
}

/// The instance's keys: the current signing key first, then older keys still published in JWKS.
pub(crate) struct KeyRing {
    keys: Vec<Arc<SigningKey>>,
}

impl KeyRing {
    /// A ring with one fresh key.
    pub(crate) fn generate() -> Self {
        Self { keys: vec![Arc::new(SigningKey::generate())] }
    }

    /// The key new tokens are signed with.
    pub(crate) fn current(&self) -> Arc<SigningKey> {
        Arc::clone(&self.keys[0])
    }

    /// Installs `key` as the current key; older keys stay published only when `keep_old`.
    pub(crate) fn rotate(&mut self, key: SigningKey, keep_old: bool) {
        if !keep_old {
            self.keys.clear();
        }
        self.keys.insert(0, Arc::new(key));
    }

    /// The published key ids, current first.
    pub(crate) fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|key| key.kid.clone()).collect()
    }

    /// The JWKS document.
    pub(crate) fn jwks(&self) -> Value {
        json!({"keys": self.keys.iter().map(|key| key.jwk()).collect::<Vec<_>>()})
    }
}
