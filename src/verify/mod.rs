//! Bearer token verification, with the rules Clerk's own backend SDK applies: RS256 only, `typ`
//! `JWT` if present, signature before claims, `exp`/`nbf`/`iat` with a leeway, `sub` required,
//! `iss` = the Frontend API, `azp` only against an allow-list, optionally no `pending` sessions.
//! A token that passed is remembered until it expires, so it is not verified again.

pub(crate) mod error;
pub(crate) mod jwks;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use quick_cache::sync::Cache;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::claims::ClerkClaims;
use crate::clerk::fapi::FapiClient;
use crate::config::ClerkBasicAuthConfig;
use crate::credentials::{MAX_HEADER_LEN, strip_scheme};
pub use error::{AuthError, AuthErrorKind};
use jwks::{KeySet, KeyStore};

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
    validation: Validation,
    leeway: u64,
    authorized_parties: Vec<String>,
    reject_pending: bool,
    verified: Option<Cache<Box<str>, Arc<VerifiedToken>>>,
}

/// A token that passed verification, remembered until it expires.
struct VerifiedToken {
    claims: ClerkClaims,
    kid: Option<String>,
}

impl Verifier {
    pub(crate) fn new(config: &ClerkBasicAuthConfig) -> Self {
        let keys = match &config.jwt_key {
            Some(key) => KeyStore::fixed(key),
            None => KeyStore::remote(FapiClient::new(config), config.jwks_refetch_interval, config.jwks_ttl),
        };
        let leeway = config.leeway.as_secs();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = leeway;
        validation.validate_nbf = true;
        // Clerk session tokens carry no `aud`; templates may, and Clerk's SDK ignores it unless told.
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.set_issuer(&[&config.frontend_api]);
        Self {
            keys: Arc::new(keys),
            validation,
            leeway,
            authorized_parties: config.authorized_parties.clone(),
            reject_pending: !config.allow_pending_sessions,
            verified: (config.verified_token_capacity > 0).then(|| Cache::new(config.verified_token_capacity)),
        }
    }

    pub(crate) fn keys(&self) -> &Arc<KeyStore> {
        &self.keys
    }

    /// Verifies `token` with the keys at hand, without waiting for anything.
    pub(crate) fn verify_now(&self, token: &str) -> Verdict {
        let keys = self.keys.snapshot();
        if let Some(claims) = self.remembered(token, &keys) {
            return Verdict::Verified(claims);
        }
        let header = match Header::parse(token) {
            Ok(header) => header,
            Err(error) => return Verdict::Refused(error),
        };
        match keys.get(header.kid.as_deref()) {
            Some(key) => match self.check(token, key) {
                Ok(claims) => Verdict::Verified(self.remember(token, claims, header.kid)),
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
        let header = Header::parse(&token)?;
        match self.keys.key_after_refetch(header.kid.as_deref()).await {
            Ok(Some(key)) => {
                let claims = self.check(&token, &key)?;
                Ok(self.remember(&token, claims, header.kid))
            }
            Ok(None) => Err(AuthError::UnknownKey),
            Err(jwks::KeysUnavailable) => Err(AuthError::KeysUnavailable),
        }
    }

    /// The signature, then the claims.
    fn check(&self, token: &str, key: &DecodingKey) -> Result<ClerkClaims, AuthError> {
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key, &self.validation)
            .map_err(|error| auth_error(error.kind()))?
            .claims;
        let now = unix_now();
        if claims.get("iat").and_then(Value::as_u64).is_some_and(|iat| iat > now.saturating_add(self.leeway)) {
            return Err(AuthError::IssuedInFuture);
        }
        if !self.authorized_parties.is_empty() {
            let azp = claims.get("azp").and_then(Value::as_str);
            if !azp.is_some_and(|azp| self.authorized_parties.iter().any(|allowed| allowed == azp)) {
                return Err(AuthError::WrongAuthorizedParty);
            }
        }
        if self.reject_pending && claims.get("sts").and_then(Value::as_str) == Some("pending") {
            return Err(AuthError::SessionPending);
        }
        ClerkClaims::from_verified(claims).ok_or(AuthError::MissingClaim("sub"))
    }

    /// A remembered token, if it is still within its validity and its key is still published.
    fn remembered(&self, token: &str, keys: &KeySet) -> Option<ClerkClaims> {
        let cache = self.verified.as_ref()?;
        let entry = cache.get(token)?;
        let now = unix_now();
        let in_time = entry.claims.expires_at_secs().saturating_add(self.leeway) >= now
            && entry.claims.not_before_secs().is_none_or(|nbf| nbf <= now.saturating_add(self.leeway));
        if in_time && keys.get(entry.kid.as_deref()).is_some() {
            return Some(entry.claims.clone());
        }
        // Expired, or its key left the JWKS: verify from scratch (and refuse) from now on.
        cache.remove(token);
        None
    }

    fn remember(&self, token: &str, claims: ClerkClaims, kid: Option<String>) -> ClerkClaims {
        if let Some(cache) = &self.verified {
            cache.insert(Box::from(token), Arc::new(VerifiedToken { claims: claims.clone(), kid }));
        }
        claims
    }
}

/// The bearer token of a request: `Ok(None)` when there is no `Authorization` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(AuthError::NotBearer);
    }
    if value.len() > MAX_HEADER_LEN {
        return Err(AuthError::HeaderTooLarge);
    }
    let token = strip_scheme(value.as_bytes(), b"bearer").ok_or(AuthError::NotBearer)?;
    let token = std::str::from_utf8(token.trim_ascii_end()).map_err(|_| AuthError::Malformed)?;
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(Some(token))
}

/// The JOSE header fields the rules look at, read before any key is looked up.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

impl Header {
    fn parse(token: &str) -> Result<Self, AuthError> {
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(AuthError::Malformed);
        };
        let json = URL_SAFE_NO_PAD.decode(header).map_err(|_| AuthError::Malformed)?;
        let header: Self = serde_json::from_slice(&json).map_err(|_| AuthError::Malformed)?;
        if header.alg != "RS256" {
            return Err(AuthError::UnsupportedAlgorithm);
        }
        if header.typ.as_deref().is_some_and(|typ| typ != "JWT") {
            return Err(AuthError::UnsupportedType);
        }
        Ok(header)
    }
}

fn auth_error(kind: &ErrorKind) -> AuthError {
    match kind {
        ErrorKind::InvalidSignature | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            AuthError::BadSignature
        }
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => AuthError::UnsupportedAlgorithm,
        ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => {
            AuthError::MissingClaim(match claim.as_str() {
                "exp" => "exp",
                "nbf" => "nbf",
                "sub" => "sub",
                "iss" => "iss",
                _ => "required",
            })
        }
        _ => AuthError::Malformed,
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for value in ["Bearer a.b.c", "bearer a.b.c", "BEARER   a.b.c  "] {
            assert_eq!(bearer_token(&headers(value.as_bytes())), Ok(Some("a.b.c")), "{value}");
        }
        assert_eq!(bearer_token(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn bad_authorization_headers_are_refused_before_parsing() {
        assert_eq!(bearer_token(&headers(b"Basic YTpi")), Err(AuthError::NotBearer));
        assert_eq!(bearer_token(&headers(b"Bearer")), Err(AuthError::NotBearer));
        assert_eq!(bearer_token(&headers(b"Bearer ")), Err(AuthError::MissingToken));
        let long = format!("Bearer {}", "a".repeat(MAX_HEADER_LEN));
        assert_eq!(bearer_token(&headers(long.as_bytes())), Err(AuthError::HeaderTooLarge));
        assert_eq!(bearer_token(&headers(b"Bearer \xff\xfe")), Err(AuthError::Malformed));
    }

    fn token_with_header(header: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header))
    }

    #[test]
    fn only_rs256_with_typ_jwt_passes_the_header_rules() {
        let header = |json: &str| Header::parse(&token_with_header(json)).map(|header| header.kid);
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
        assert_eq!(Header::parse("a.b").map(|_| ()), Err(AuthError::Malformed));
        assert_eq!(Header::parse("a.b.c.d").map(|_| ()), Err(AuthError::Malformed));
        assert_eq!(Header::parse("!!!.e30.c2ln").map(|_| ()), Err(AuthError::Malformed));
    }

    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn the_verified_token_cache_remembers_tokens_within_its_bound() {
        let clerk = crate::testing::FakeClerk::builder().start().await;
        let config = ClerkBasicAuthConfig::new(clerk.url())
            .unwrap()
            .with_jwt_key(&clerk.public_key_pem())
            .unwrap()
            .with_verified_token_cache(3);
        let verifier = Verifier::new(&config);
        let cache = verifier.verified.as_ref().unwrap();
        let first = clerk.session_token("user_1", None);
        assert!(matches!(verifier.verify_now(&first), Verdict::Verified(_)));
        assert!(cache.get(first.as_str()).is_some(), "remembered after one verification");
        for n in 0..20 {
            let token = clerk.session_token(&format!("user_{n}"), None);
            assert!(matches!(verifier.verify_now(&token), Verdict::Verified(_)));
            assert!(cache.len() <= 3, "{} entries", cache.len());
        }
        let refused = format!("{first}x");
        assert!(matches!(verifier.verify_now(&refused), Verdict::Refused(_)));
        assert!(cache.get(refused.as_str()).is_none(), "refused tokens are not remembered");
    }

    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn a_cache_of_zero_remembers_nothing() {
        let clerk = crate::testing::FakeClerk::builder().start().await;
        let config = ClerkBasicAuthConfig::new(clerk.url())
            .unwrap()
            .with_jwt_key(&clerk.public_key_pem())
            .unwrap()
            .with_verified_token_cache(0);
        let verifier = Verifier::new(&config);
        assert!(verifier.verified.is_none());
        assert!(matches!(verifier.verify_now(&clerk.session_token("user_1", None)), Verdict::Verified(_)));
    }
}
