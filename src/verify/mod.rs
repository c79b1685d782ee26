//! Bearer token verification, with the rules Clerk's own backend SDK applies: RS256 only, `typ`
//! `JWT` if present, signature before claims, `exp`/`nbf`/`iat` with a leeway, `sub` required,
//! `iss` = the Frontend API, `azp` only against an allow-list, optionally no `pending` sessions.
//! A token that passed is remembered until it expires, so it is not verified again.

mod cache;
mod header;
pub(crate) mod jwks;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::auth_error::AuthError;
use crate::claims::{Claim, ClerkClaims, KnownClaims, Payload};
use crate::clock::{unix_now, unix_now_millis};
use crate::telemetry;
use cache::VerifiedTokens;
use header::{HEADER_BUFFER, Header, LastHeader, Segments};
use jwks::{KeyStore, VerifyKey};

/// The rules a token must pass, each with its default.
#[derive(Debug, Clone)]
pub(crate) struct VerifySettings {
    /// Clock leeway for `exp`, `nbf`, `iat`. Default: 5 s.
    pub(crate) leeway: Duration,
    /// Allowed authorized parties (`azp`); empty: not checked. Default: empty.
    pub(crate) authorized_parties: Vec<String>,
    /// Accept tokens of `pending` sessions. Default: no.
    pub(crate) allow_pending_sessions: bool,
    /// Verified tokens remembered until they expire; 0: none. Default: 10,000.
    pub(crate) verified_token_capacity: usize,
    /// Accept JWT template tokens (`cat` `cl_B7d4PD222AAA`), as the layer hands them out when it is
    /// configured with a template. Default: no, as Clerk's SDKs since 2026-08.
    pub(crate) accept_template_tokens: bool,
}

impl Default for VerifySettings {
    fn default() -> Self {
        Self {
            leeway: Duration::from_secs(5),
            authorized_parties: Vec::new(),
            allow_pending_sessions: false,
            verified_token_capacity: 10_000,
            accept_template_tokens: false,
        }
    }
}

/// What verifying with the keys at hand gave.
pub(crate) enum Verdict {
    Verified(ClerkClaims),
    Refused(AuthError),
    /// The token names a key not at hand: verify it with [`Verifier::verify_fetching_keys`].
    NeedsKeys,
}

/// The token verifier of one layer.
pub(crate) struct Verifier {
    keys: Arc<KeyStore>,
    /// The `iss` every token must carry.
    issuer: String,
    leeway: u64,
    authorized_parties: Vec<String>,
    reject_pending: bool,
    accept_template_tokens: bool,
    verified: Option<VerifiedTokens>,
    last_header: LastHeader,
}

impl Verifier {
    /// A verifier of tokens that `issuer` signed with `keys`.
    pub(crate) fn new(settings: &VerifySettings, keys: Arc<KeyStore>, issuer: &str) -> Self {
        let leeway = settings.leeway.as_secs();
        Self {
            keys,
            // Clerk session tokens carry no `aud`; templates may, and Clerk's SDK ignores it unless told.
            issuer: issuer.to_owned(),
            leeway,
            authorized_parties: settings.authorized_parties.clone(),
            reject_pending: !settings.allow_pending_sessions,
            accept_template_tokens: settings.accept_template_tokens,
            verified: (settings.verified_token_capacity > 0)
                .then(|| VerifiedTokens::new(settings.verified_token_capacity, leeway)),
            last_header: LastHeader::default(),
        }
    }

    /// Verifies `token` with the keys at hand, without waiting for anything.
    pub(crate) fn verify_now(&self, token: &str) -> Verdict {
        // One clock reading for the keys' TTL, the remembered token's lifetime and the rules.
        let now_millis = unix_now_millis();
        let now = now_millis / 1000;
        let keys = self.keys.snapshot(now_millis);
        if let Some(claims) = self.verified.as_ref().and_then(|verified| verified.get(token, &keys, now)) {
            telemetry::remembered_token();
            return Verdict::Verified(claims);
        }
        let segments = match Segments::of(token) {
            Ok(segments) => segments,
            Err(error) => return Verdict::Refused(error),
        };
        // The header of the last verified token passed the rules; any other is decoded.
        let seen = self.last_header.get(segments.header);
        let mut buffer = [0; HEADER_BUFFER];
        let parsed;
        let kid = match &seen {
            Some(seen) => seen.kid(),
            None => match self.header(segments.header, &mut buffer) {
                Ok(header) => {
                    parsed = header;
                    parsed.kid.as_deref()
                }
                Err(error) => return Verdict::Refused(error),
            },
        };
        match keys.get(kid) {
            Some(key) => match self.check(&segments, key, now) {
                Ok(claims) => {
                    if seen.is_none() {
                        self.last_header.remember(segments.header, kid);
                    }
                    Verdict::Verified(self.remember(token, claims, kid))
                }
                Err(error) => Verdict::Refused(error),
            },
            // No `kid` can match a published key; there is nothing to fetch.
            None if kid.is_none() => Verdict::Refused(AuthError::UnknownKey),
            None => Verdict::NeedsKeys,
        }
    }

    /// Verifies `token`, fetching Clerk's keys first when it names one not at hand (at most once
    /// per refetch interval, shared with concurrent callers).
    pub(crate) async fn verify_fetching_keys(self: Arc<Self>, token: String) -> Result<ClerkClaims, AuthError> {
        let segments = Segments::of(&token)?;
        let kid = {
            let mut buffer = [0; HEADER_BUFFER];
            self.header(segments.header, &mut buffer)?.kid.map(Cow::into_owned)
        };
        match self.keys.key_after_refetch(kid.as_deref()).await {
            Ok(Some(key)) => {
                let claims = self.check(&segments, &key, unix_now())?;
                Ok(self.remember(&token, claims, kid.as_deref()))
            }
            Ok(None) => Err(AuthError::UnknownKey),
            Err(jwks::KeysUnavailable) => Err(AuthError::KeysUnavailable),
        }
    }

    /// The JOSE header, with the token category policy: machine (M2M) tokens are never user
    /// sessions; JWT template tokens only where the layer hands them out; session tokens, tokens
    /// of instances that stamp no category, and tokens without `cat` as usual.
    fn header<'b>(&self, segment: &str, buffer: &'b mut [u8; HEADER_BUFFER]) -> Result<Header<'b>, AuthError> {
        let header = Header::parse(segment, buffer)?;
        match header.cat.as_deref() {
            None | Some(CATEGORY_SESSION | CATEGORY_IGNORE) => Ok(header),
            Some(CATEGORY_TEMPLATE) if self.accept_template_tokens => Ok(header),
            Some(_) => Err(AuthError::NotASessionToken),
        }
    }

    /// The signature (RS256 with a key parsed once), then the claims, read in one pass, by the
    /// rules of Clerk's backend SDK: `exp` required and not past, `nbf` and `iat` not in the
    /// future (each with the leeway), `iss` the instance's, `sub` a string, `azp` in the
    /// allow-list when there is one, no machine `sub`, no `pending` session unless allowed.
    fn check(&self, segments: &Segments<'_>, key: &VerifyKey, now: u64) -> Result<ClerkClaims, AuthError> {
        let Segments { payload, signing_input, signature, .. } = *segments;
        // RS256 signatures are as long as the modulus: up to 4096 bits on the stack, longer ones
        // (up to 8192 bits, the largest key verification accepts) on the heap.
        let mut stack = [0; STACK_SIGNATURE];
        let heap;
        let signature = if signature.len() <= STACK_SIGNATURE * 4 / 3 {
            let length = URL_SAFE_NO_PAD.decode_slice(signature, &mut stack).map_err(|_| AuthError::Malformed)?;
            &stack[..length]
        } else {
            heap = URL_SAFE_NO_PAD.decode(signature).map_err(|_| AuthError::Malformed)?;
            &heap[..]
        };
        if !key.verifies(signing_input.as_bytes(), signature) {
            return Err(AuthError::BadSignature);
        }
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| AuthError::Malformed)?;
        let json = String::from_utf8(json).map_err(|_| AuthError::Malformed)?;
        let known = {
            let claims = Payload::parse(&json).ok_or(AuthError::Malformed)?;
            self.check_claims(&claims, now)?;
            KnownClaims::from_payload(&claims).ok_or(AuthError::MissingClaim("sub"))?
        };
        Ok(ClerkClaims::new(known, json))
    }

    /// The claim rules at `now` (Unix seconds).
    fn check_claims(&self, claims: &Payload<'_>, now: u64) -> Result<(), AuthError> {
        let time = |claim: &Claim<'_>, name: &'static str| match claim {
            Claim::Absent => Ok(None),
            claim => claim.number().map(Some).ok_or(AuthError::MissingClaim(name)),
        };
        let exp = time(&claims.exp, "exp")?.ok_or(AuthError::MissingClaim("exp"))?;
        if exp.saturating_add(self.leeway) < now {
            return Err(AuthError::Expired);
        }
        if time(&claims.nbf, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(self.leeway)) {
            return Err(AuthError::NotYetValid);
        }
        if time(&claims.iat, "iat")?.is_some_and(|iat| iat > now.saturating_add(self.leeway)) {
            return Err(AuthError::IssuedInFuture);
        }
        match claims.iss.text() {
            Some(iss) if iss == self.issuer => {}
            Some(_) => return Err(AuthError::WrongIssuer),
            None => return Err(AuthError::MissingClaim("iss")),
        }
        if !self.authorized_parties.is_empty() {
            let azp = claims.azp.text();
            if !azp.is_some_and(|azp| self.authorized_parties.iter().any(|allowed| allowed == azp)) {
                return Err(AuthError::WrongAuthorizedParty);
            }
        }
        if claims.sub.text().is_some_and(|sub| sub.starts_with("mch_")) {
            return Err(AuthError::NotASessionToken);
        }
        if self.reject_pending && claims.sts.text() == Some("pending") {
            return Err(AuthError::SessionPending);
        }
        Ok(())
    }

    fn remember(&self, token: &str, claims: ClerkClaims, kid: Option<&str>) -> ClerkClaims {
        telemetry::newly_verified_token();
        if let Some(verified) = &self.verified {
            verified.insert(token, claims.clone(), kid);
        }
        claims
    }
}

/// Whether a token's JOSE header passes the header rules (alg, typ), read as verification reads
/// it, before any key is looked up.
#[cfg(fuzzing)]
pub(crate) fn check_header(token: &str) -> Result<(), AuthError> {
    Header::parse(Segments::of(token)?.header, &mut [0; HEADER_BUFFER]).map(drop)
}

/// `cat` of a session token.
const CATEGORY_SESSION: &str = "cl_B7d4PD111AAA";
/// `cat` of a JWT template token (no `sid`; outlives the revocation of its session).
const CATEGORY_TEMPLATE: &str = "cl_B7d4PD222AAA";
/// `cat` stamped on every token by instances that opt out of categories.
const CATEGORY_IGNORE: &str = "cl_I7d4PD111III";

/// The longest RS256 signature decoded on the stack: a 4096-bit modulus (Clerk's are 2048).
const STACK_SIGNATURE: usize = 512;

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "test-util")]
    fn verifier(clerk: &crate::testing::FakeClerk, verified_token_capacity: usize) -> Verifier {
        let key = jwks::FixedKey::from_pem(&clerk.public_key_pem()).unwrap();
        let issuer = crate::clerk::frontend_api::FrontendApi::parse(clerk.url()).unwrap();
        let settings = VerifySettings { verified_token_capacity, ..VerifySettings::default() };
        Verifier::new(&settings, Arc::new(KeyStore::fixed(&key)), issuer.as_str())
    }

    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn the_verified_token_cache_remembers_tokens_within_its_bound() {
        let clerk = crate::testing::FakeClerk::builder().start().await;
        let verifier = verifier(&clerk, 3);
        let cache = verifier.verified.as_ref().unwrap();
        let first = clerk.session_token("user_1", None);
        assert!(matches!(verifier.verify_now(&first), Verdict::Verified(_)));
        assert!(cache.contains(&first), "remembered after one verification");
        for n in 0..20 {
            let token = clerk.session_token(&format!("user_{n}"), None);
            assert!(matches!(verifier.verify_now(&token), Verdict::Verified(_)));
            assert!(cache.len() <= 3, "{} entries", cache.len());
        }
        let refused = format!("{first}x");
        assert!(matches!(verifier.verify_now(&refused), Verdict::Refused(_)));
        assert!(!cache.contains(&refused), "refused tokens are not remembered");
    }

    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn signatures_of_any_rsa_size_are_decoded_and_checked_not_refused_as_malformed() {
        let clerk = crate::testing::FakeClerk::builder().start().await;
        let verifier = verifier(&clerk, 0);
        let token = clerk.session_token("user_1", None);
        let (signed, _) = token.rsplit_once('.').unwrap();
        // 2048, 4096 (the last on the stack) and 8192 bits: a wrong signature, decoded and checked.
        for bytes in [256, 512, 1024] {
            let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(vec![7u8; bytes]));
            assert!(matches!(verifier.verify_now(&forged), Verdict::Refused(AuthError::BadSignature)), "{bytes}");
        }
        let not_base64 = format!("{signed}.{}", "*".repeat(700));
        assert!(matches!(verifier.verify_now(&not_base64), Verdict::Refused(AuthError::Malformed)));
    }

    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn both_ways_in_refuse_forged_expired_and_foreign_tokens_alike() {
        let clerk = crate::testing::FakeClerk::builder().start().await;
        let verifier = Arc::new(verifier(&clerk, 100));
        let now = unix_now();
        let claims = |iss: &str, exp: u64| serde_json::json!({"sub": "user_1", "sid": "sess_1", "iss": iss, "iat": now - 60, "exp": exp});
        let good = clerk.sign_claims(claims(clerk.url(), now + 60));
        let (signed, _) = good.rsplit_once('.').unwrap();
        let (_, rest) = good.split_once('.').unwrap();
        let cases = [
            (format!("{signed}.{}", URL_SAFE_NO_PAD.encode([0u8; 256])), AuthError::BadSignature),
            (clerk.sign_claims(claims(clerk.url(), now - 3600)), AuthError::Expired),
            (clerk.sign_claims(claims("https://other.example.com", now + 60)), AuthError::WrongIssuer),
            (format!("{}.{rest}", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#)), AuthError::UnsupportedAlgorithm),
            ("garbage".to_owned(), AuthError::Malformed),
        ];
        for (token, expected) in cases {
            let now = match verifier.verify_now(&token) {
                Verdict::Refused(error) => error,
                _ => panic!("{expected:?} was not refused with the keys at hand"),
            };
            let fetching = Arc::clone(&verifier).verify_fetching_keys(token.clone()).await.err();
            assert_eq!((now, fetching), (expected.clone(), Some(expected)));
        }
        assert!(matches!(verifier.verify_now(&good), Verdict::Verified(_)));
        assert!(Arc::clone(&verifier).verify_fetching_keys(good).await.is_ok());
    }

    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn a_remembered_header_spares_the_decoding_not_the_rules() {
        let clerk = crate::testing::FakeClerk::builder().start().await;
        let verifier = verifier(&clerk, 0);
        let first = clerk.session_token("user_1", None);
        let session_header = Segments::of(&first).unwrap().header.to_owned();
        assert!(verifier.last_header.get(&session_header).is_none());
        assert!(matches!(verifier.verify_now(&first), Verdict::Verified(_)));
        assert!(verifier.last_header.get(&session_header).is_some(), "kept once a token with it was verified");

        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&session_header).unwrap()).unwrap();
        let now = unix_now();
        let claims = |exp: u64| serde_json::json!({"sub": "user_2", "sid": "sess_2", "iss": clerk.url(), "iat": now - 60, "exp": exp});
        let (signed, _) = first.rsplit_once('.').unwrap();
        let payload = Segments::of(&first).unwrap().payload.to_owned();
        let mut template_header = header.clone();
        template_header["cat"] = CATEGORY_TEMPLATE.into();
        let refused = [
            // The remembered header, with a bad signature or expired claims.
            (format!("{signed}.{}", URL_SAFE_NO_PAD.encode([0u8; 256])), AuthError::BadSignature),
            (clerk.sign_with_header(header.clone(), claims(now - 3600)), AuthError::Expired),
            (format!("{session_header}.{payload}.c2ln.c2ln"), AuthError::Malformed),
            // Other headers, decoded and judged by the header rules.
            (clerk.sign_with_header(template_header, claims(now + 60)), AuthError::NotASessionToken),
            (clerk.m2m_token("mch_1"), AuthError::NotASessionToken),
            (
                format!("{}.{payload}.c2ln", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#)),
                AuthError::UnsupportedAlgorithm,
            ),
        ];
        for (token, expected) in refused {
            match verifier.verify_now(&token) {
                Verdict::Refused(error) => assert_eq!(error, expected),
                _ => panic!("{expected:?} was not refused"),
            }
        }
        assert!(verifier.last_header.get(&session_header).is_some(), "refused tokens do not replace it");
        let second = clerk.sign_with_header(header, claims(now + 60));
        assert!(matches!(verifier.verify_now(&second), Verdict::Verified(claims) if claims.user_id() == "user_2"));
    }

    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn a_cache_of_zero_remembers_nothing() {
        let clerk = crate::testing::FakeClerk::builder().start().await;
        let verifier = verifier(&clerk, 0);
        assert!(verifier.verified.is_none());
        assert!(matches!(verifier.verify_now(&clerk.session_token("user_1", None)), Verdict::Verified(_)));
    }
}
