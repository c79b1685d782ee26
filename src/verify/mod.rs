//! Bearer token verification, with the rules Clerk's own backend SDK applies: RS256 only, `typ`
//! `JWT` if present, signature before claims, `exp`/`nbf`/`iat` with a leeway, `sub` required,
//! `iss` = the Frontend API, `azp` only against an allow-list, optionally no `pending` sessions.
//! A token that passed is remembered until it expires, so it is not verified again.

mod cache;
pub(crate) mod jwks;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::auth_error::AuthError;
use crate::claims::{Claim, ClerkClaims, KnownClaims, Payload};
use crate::clock::unix_now;
use crate::telemetry;
use cache::VerifiedTokens;
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
        }
    }

    /// Verifies `token` with the keys at hand, without waiting for anything.
    pub(crate) fn verify_now(&self, token: &str) -> Verdict {
        let keys = self.keys.snapshot();
        if let Some(claims) = self.verified.as_ref().and_then(|verified| verified.get(token, &keys)) {
            telemetry::remembered_token();
            return Verdict::Verified(claims);
        }
        let mut buffer = [0; HEADER_BUFFER];
        let header = match self.header(token, &mut buffer) {
            Ok(header) => header,
            Err(error) => return Verdict::Refused(error),
        };
        match keys.get(header.kid.as_deref()) {
            Some(key) => match self.check(token, key) {
                Ok(claims) => Verdict::Verified(self.remember(token, claims, header.kid.as_deref())),
                Err(error) => Verdict::Refused(error),
            },
            // No `kid` can match a published key; there is nothing to fetch.
            None if header.kid.is_none() => Verdict::Refused(AuthError::UnknownKey),
            None => Verdict::NeedsKeys,
        }
    }

    /// Verifies `token`, fetching Clerk's keys first when it names one not at hand (at most once
    /// per refetch interval, shared with concurrent callers).
    pub(crate) async fn verify_fetching_keys(self: Arc<Self>, token: String) -> Result<ClerkClaims, AuthError> {
        let kid = {
            let mut buffer = [0; HEADER_BUFFER];
            self.header(&token, &mut buffer)?.kid.map(Cow::into_owned)
        };
        match self.keys.key_after_refetch(kid.as_deref()).await {
            Ok(Some(key)) => {
                let claims = self.check(&token, &key)?;
                Ok(self.remember(&token, claims, kid.as_deref()))
            }
            Ok(None) => Err(AuthError::UnknownKey),
            Err(jwks::KeysUnavailable) => Err(AuthError::KeysUnavailable),
        }
    }

    /// The JOSE header, with the token category policy: machine (M2M) tokens are never user
    /// sessions; JWT template tokens only where the layer hands them out; session tokens, tokens
    /// of instances that stamp no category, and tokens without `cat` as usual.
    fn header<'b>(&self, token: &str, buffer: &'b mut [u8; HEADER_BUFFER]) -> Result<Header<'b>, AuthError> {
        let header = Header::parse(token, buffer)?;
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
    fn check(&self, token: &str, key: &VerifyKey) -> Result<ClerkClaims, AuthError> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(AuthError::Malformed)?;
        let (_, payload) = signing_input.split_once('.').ok_or(AuthError::Malformed)?;
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
            self.check_claims(&claims)?;
            KnownClaims::from_payload(&claims).ok_or(AuthError::MissingClaim("sub"))?
        };
        Ok(ClerkClaims::new(known, json))
    }

    fn check_claims(&self, claims: &Payload<'_>) -> Result<(), AuthError> {
        let now = unix_now();
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
    Header::parse(token, &mut [0; HEADER_BUFFER]).map(drop)
}

/// `cat` of a session token.
const CATEGORY_SESSION: &str = "cl_B7d4PD111AAA";
/// `cat` of a JWT template token (no `sid`; outlives the revocation of its session).
const CATEGORY_TEMPLATE: &str = "cl_B7d4PD222AAA";
/// `cat` stamped on every token by instances that opt out of categories.
const CATEGORY_IGNORE: &str = "cl_I7d4PD111III";

/// The longest RS256 signature decoded on the stack: a 4096-bit modulus (Clerk's are 2048).
const STACK_SIGNATURE: usize = 512;
/// Room for a decoded JOSE header on the stack (Clerk's are under 100 bytes); a longer header
/// is refused as malformed.
const HEADER_BUFFER: usize = 512;

/// The JOSE header fields the rules look at, read before any key is looked up; strings are
/// borrowed from the decoded header unless they hold escapes.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(default, borrow)]
    typ: Option<Cow<'a, str>>,
    /// Clerk's token category (`@clerk/backend` `tokens/jwtCategories.ts`).
    #[serde(default, borrow)]
    cat: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    kid: Option<Cow<'a, str>>,
}

impl<'a> Header<'a> {
    /// The header of `token`, decoded into `buffer`.
    fn parse(token: &str, buffer: &'a mut [u8; HEADER_BUFFER]) -> Result<Self, AuthError> {
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(AuthError::Malformed);
        };
        if header.len() > HEADER_BUFFER * 4 / 3 {
            return Err(AuthError::Malformed);
        }
        let length = URL_SAFE_NO_PAD.decode_slice(header, buffer).map_err(|_| AuthError::Malformed)?;
        let header: Self = serde_json::from_slice(&buffer[..length]).map_err(|_| AuthError::Malformed)?;
        if header.alg != "RS256" {
            return Err(AuthError::UnsupportedAlgorithm);
        }
        if header.typ.as_deref().is_some_and(|typ| typ != "JWT") {
            return Err(AuthError::UnsupportedType);
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with_header(header: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header))
    }

    #[test]
    fn only_rs256_with_typ_jwt_passes_the_header_rules() {
        let header = |json: &str| {
            Header::parse(&token_with_header(json), &mut [0; HEADER_BUFFER])
                .map(|header| header.kid.map(Cow::into_owned))
        };
        assert_eq!(
            header(r#"{"alg":"RS256","typ":"JWT","kid":"ins_1","cat":"cl_B7d4PD111AAA"}"#),
            Ok(Some("ins_1".into()))
        );
        assert_eq!(header(r#"{"alg":"RS256"}"#), Ok(None));
        for alg in ["none", "HS256", "RS512", "ES256", "PS256", "rs256"] {
            let json = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
            assert_eq!(header(&json), Err(AuthError::UnsupportedAlgorithm), "{alg}");
        }
        assert_eq!(header(r#"{"alg":"RS256","typ":"at+jwt"}"#), Err(AuthError::UnsupportedType));
        assert_eq!(header(r#"{"typ":"JWT"}"#), Err(AuthError::Malformed));
        assert_eq!(Header::parse("a.b", &mut [0; HEADER_BUFFER]).map(|_| ()), Err(AuthError::Malformed));
        assert_eq!(Header::parse("a.b.c.d", &mut [0; HEADER_BUFFER]).map(|_| ()), Err(AuthError::Malformed));
        assert_eq!(Header::parse("!!!.e30.c2ln", &mut [0; HEADER_BUFFER]).map(|_| ()), Err(AuthError::Malformed));
    }

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
    async fn a_cache_of_zero_remembers_nothing() {
        let clerk = crate::testing::FakeClerk::builder().start().await;
        let verifier = verifier(&clerk, 0);
        assert!(verifier.verified.is_none());
        assert!(matches!(verifier.verify_now(&clerk.session_token("user_1", None)), Verdict::Verified(_)));
    }
}
