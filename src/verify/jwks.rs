//! Clerk's signing keys: read lock-free on every request, fetched lazily, refetched on an
//! unknown `kid` at most once per interval (concurrent refetches collapse into one), refreshed
//! after a TTL, and kept serving when a refresh fails. Or one fixed PEM key, with no network.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use bytes::Bytes;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use serde::Deserialize;
use serde_json::Value;
use tracing::{debug, info, warn};

use crate::clerk::fapi::FapiClient;
use crate::clock::unix_now_millis;

/// Where the keys come from and how often they are fetched, each with its default.
#[derive(Debug, Clone)]
pub(crate) struct KeySettings {
    /// Refetch on an unknown `kid` at most this often. Default: 10 s.
    pub(crate) refetch_interval: Duration,
    /// Refresh the keys after this long. Default: 5 min.
    pub(crate) ttl: Duration,
    /// One fixed key instead of Clerk's JWKS. Default: none.
    pub(crate) fixed_key: Option<FixedKey>,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self { refetch_interval: Duration::from_secs(10), ttl: Duration::from_secs(5 * 60), fixed_key: None }
    }
}

/// An RS256 public key, parsed once (aws-lc-rs), so checking a signature is the RSA operation
/// and nothing else.
pub(crate) struct VerifyKey(ParsedPublicKey);

impl VerifyKey {
    /// The key of an RSA public key in DER (PKCS#1 `RSAPublicKey`).
    fn from_der(der: &[u8]) -> Option<Self> {
        ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).ok().map(Self)
    }

    /// The key of a `jsonwebtoken` RSA key (from a JWK's `n` and `e`, or from PEM).
    fn from_decoding_key(key: &DecodingKey) -> Option<Self> {
        match key.kind() {
            jsonwebtoken::DecodingKeyKind::SecretOrDer(der) => Self::from_der(der),
            jsonwebtoken::DecodingKeyKind::RsaModulusExponent { n, e } => {
                let components = aws_lc_rs::rsa::PublicKeyComponents { n: n.as_slice(), e: e.as_slice() };
                let der = components.as_der().ok()?;
                Self::from_der(der.as_ref())
            }
        }
    }

    /// Whether `signature` is this key's RS256 signature of `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify_sig(message, signature).is_ok()
    }
}

/// The keys a token may be signed with, as one immutable snapshot.
#[derive(Default)]
pub(crate) struct KeySet {
    by_kid: HashMap<String, Arc<VerifyKey>>,
    /// A fixed PEM key verifies every token, whatever its `kid` (as Clerk's SDKs do).
    fixed: Option<Arc<VerifyKey>>,
    /// The JWKS document, served by the discovery routes.
    document: Bytes,
    /// When the set was fetched, in Unix milliseconds (wall-clock time, so that a request reads
    /// one clock for the TTL and for the token rules).
    fetched_at: Option<u64>,
}

impl KeySet {
    pub(crate) fn get(&self, kid: Option<&str>) -> Option<&Arc<VerifyKey>> {
        self.fixed.as_ref().or_else(|| self.by_kid.get(kid?))
    }

    fn is_empty(&self) -> bool {
        self.fixed.is_none() && self.by_kid.is_empty()
    }
}

/// A fixed RSA public key from PEM (`CLERK_JWT_KEY`): verifies tokens with no network at all.
#[derive(Clone)]
pub(crate) struct FixedKey {
    key: Arc<VerifyKey>,
    document: Bytes,
}

impl std::fmt::Debug for FixedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FixedKey(..)")
    }
}

impl FixedKey {
    /// Parses an RSA public key in PEM (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`).
    pub(crate) fn from_pem(pem: &str) -> Result<Self, &'static str> {
        // Clerk's dashboard shows the key with escaped newlines when copied into one line.
        let pem = pem.trim().replace("\\n", "\n");
        let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| "not an RSA public key in PEM form")?;
        let jsonwebtoken::DecodingKeyKind::SecretOrDer(der) = key.kind() else {
            return Err("not an RSA public key in PEM form");
        };
        let public = aws_lc_rs::rsa::PublicKey::from_der(der).map_err(|_| "not a valid RSA public key")?;
        let encode = |bytes: &[u8]| {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        };
        let (n, e) = (
            encode(public.modulus().big_endian_without_leading_zero()),
            encode(public.exponent().big_endian_without_leading_zero()),
        );
        let jwk: Jwk = serde_json::from_value(serde_json::json!({"kty": "RSA", "n": n, "e": e}))
            .map_err(|_| "not a valid RSA public key")?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|_| "not a valid RSA public key")?;
        let document = serde_json::json!({"keys": [
            {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e}
        ]});
        let key = VerifyKey::from_der(der).ok_or("not a valid RSA public key")?;
        Ok(Self { key: Arc::new(key), document: Bytes::from(document.to_string()) })
    }
}

/// Why no keys could be had.
#[derive(Debug)]
pub(crate) struct KeysUnavailable;

/// The signing keys of one layer.
pub(crate) struct KeyStore {
    fapi: Option<FapiClient>,
    current: ArcSwap<KeySet>,
    epoch: Instant,
    /// Milliseconds after `epoch` of the last fetch attempt; 0 = never.
    last_attempt_ms: AtomicU64,
    /// Held by the one fetch in flight, on its own task; callers of a refetch wait here.
    refetch_gate: Arc<tokio::sync::Mutex<()>>,
    refreshing: AtomicBool,
    min_refetch_interval: Duration,
    ttl: Duration,
}

impl KeyStore {
    /// The fixed key of `settings`, or else keys fetched from the Frontend API's
    /// `/.well-known/jwks.json` by `fapi`.
    pub(crate) fn new(settings: &KeySettings, fapi: FapiClient) -> Self {
        match &settings.fixed_key {
            Some(key) => Self::fixed(key),
            None => Self::with(Some(fapi), KeySet::default(), settings.refetch_interval, settings.ttl),
        }
    }

    /// One fixed key: nothing is ever fetched.
    pub(crate) fn fixed(key: &FixedKey) -> Self {
        let set = KeySet { fixed: Some(Arc::clone(&key.key)), document: key.document.clone(), ..KeySet::default() };
        Self::with(None, set, Duration::MAX, Duration::MAX)
    }

    fn with(fapi: Option<FapiClient>, set: KeySet, min_refetch_interval: Duration, ttl: Duration) -> Self {
        Self {
            fapi,
            current: ArcSwap::from_pointee(set),
            epoch: Instant::now(),
            last_attempt_ms: AtomicU64::new(0),
            refetch_gate: Arc::new(tokio::sync::Mutex::new(())),
            refreshing: AtomicBool::new(false),
            min_refetch_interval,
            ttl,
        }
    }

    /// The current key set at `now_millis` (Unix milliseconds), without a lock. Past its TTL, a
    /// refresh starts in the background (the current keys keep serving meanwhile). A wall clock
    /// set back before the fetch counts as past the TTL too: one refresh too many, never one
    /// too few.
    pub(crate) fn snapshot(self: &Arc<Self>, now_millis: u64) -> arc_swap::Guard<Arc<KeySet>> {
        let set = self.current.load();
        let ttl = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        if set.fetched_at.is_some_and(|at| now_millis.checked_sub(at).is_none_or(|age| age > ttl)) {
            self.refresh_in_background();
        }
        set
    }

    /// The key for `kid`, refetching the key set first if it is unknown and the last fetch is
    /// older than the minimum interval. Concurrent callers share one fetch: they wait for the
    /// one in flight (it may bring their key) and then find the interval not yet over. The fetch
    /// runs on its own task, so a caller that gives up does not cancel it for the others.
    pub(crate) async fn key_after_refetch(
        self: &Arc<Self>,
        kid: Option<&str>,
    ) -> Result<Option<Arc<VerifyKey>>, KeysUnavailable> {
        if self.current.load().get(kid).is_none() {
            let gate = Arc::clone(&self.refetch_gate).lock_owned().await;
            if self.current.load().get(kid).is_none() && self.may_fetch() {
                let store = Arc::clone(self);
                let fetch = tokio::spawn(async move {
                    store.fetch().await;
                    drop(gate);
                });
                // A fetch that panicked left the old keys; what they hold is answered below.
                let _ = fetch.await;
            }
        }
        let set = self.current.load();
        match set.get(kid) {
            Some(key) => Ok(Some(Arc::clone(key))),
            None if set.is_empty() => Err(KeysUnavailable),
            None => Ok(None),
        }
    }

    /// The JWKS document, fetching it first if it never was.
    pub(crate) async fn document(self: &Arc<Self>) -> Result<Bytes, KeysUnavailable> {
        if self.current.load().is_empty() {
            self.key_after_refetch(None).await?;
        }
        let set = self.current.load();
        if set.is_empty() { Err(KeysUnavailable) } else { Ok(set.document.clone()) }
    }

    fn may_fetch(&self) -> bool {
        if self.fapi.is_none() {
            return false;
        }
        match self.last_attempt_ms.load(Ordering::Acquire) {
            0 => true,
            last => {
                let interval = u64::try_from(self.min_refetch_interval.as_millis()).unwrap_or(u64::MAX);
                self.now_ms().saturating_sub(last) >= interval
            }
        }
    }

    fn now_ms(&self) -> u64 {
        // Never 0, which means "never fetched".
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX).max(1)
    }

    fn refresh_in_background(self: &Arc<Self>) {
        if !self.may_fetch() || self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.refreshing.store(false, Ordering::Release);
            return;
        };
        let store = Arc::clone(self);
        runtime.spawn(async move {
            debug!("signing keys past their TTL; refreshing");
            let _gate = Arc::clone(&store.refetch_gate).lock_owned().await;
            if store.may_fetch() {
                store.fetch().await;
            }
            store.refreshing.store(false, Ordering::Release);
        });
    }

    /// Fetches and installs the key set; on any failure the old keys stay.
    async fn fetch(&self) {
        let Some(fapi) = &self.fapi else { return };
        self.last_attempt_ms.store(self.now_ms(), Ordering::Release);
        let fetched = match fapi.jwks().await {
            Ok(document) => parse(document),
            Err(error) => {
                warn!(%error, clerk_trace_id = error.trace_id(), "fetching Clerk's signing keys failed; keeping the old ones");
                return;
            }
        };
        match fetched {
            Some(set) => {
                let kids: Vec<&str> = set.by_kid.keys().map(String::as_str).collect();
                info!(?kids, "signing keys loaded from Clerk");
                self.current.store(Arc::new(set));
            }
            None => warn!("Clerk's JWKS holds no usable RS256 key; keeping the old ones"),
        }
    }
}

/// The usable keys of a JWKS document: RSA, for signatures, RS256 or unspecified, with a `kid`.
/// Keys of other kinds are skipped, not fatal.
fn parse(document: Bytes) -> Option<KeySet> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<Value>,
    }
    let keys = serde_json::from_slice::<Document>(&document).ok()?.keys;
    let by_kid: HashMap<String, Arc<VerifyKey>> = keys
        .into_iter()
        .filter_map(|key| serde_json::from_value::<Jwk>(key).ok())
        .filter_map(|jwk| {
            let usable = matches!(jwk.common.key_algorithm, None | Some(KeyAlgorithm::RS256))
                && matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature));
            let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else { return None };
            let key = DecodingKey::from_rsa_components(&rsa.n, &rsa.e).ok().filter(|_| usable)?;
            Some((jwk.common.key_id?, Arc::new(VerifyKey::from_decoding_key(&key)?)))
        })
        .collect();
    if by_kid.is_empty() {
        return None;
    }
    Some(KeySet { by_kid, fixed: None, document, fetched_at: Some(unix_now_millis()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::KeyPair as _;
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    /// A fresh RSA key: its modulus (base64url) and its public key in PEM.
    fn rsa_key() -> (String, String) {
        let pair = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let der = public.as_der().unwrap();
        let body = STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = body.as_bytes().chunks(64).map(|line| std::str::from_utf8(line).unwrap()).collect();
        (n, format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n")))
    }

    #[test]
    fn parses_rs256_signature_keys_and_skips_the_rest() {
        let (n, _) = rsa_key();
        let document = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "ins_1", "use": "sig", "alg": "RS256", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "ins_2", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": n, "e": "AQAB"},
            {"kty": "RSA", "kid": "rs512", "alg": "RS512", "n": n, "e": "AQAB"},
            {"kty": "RSA", "n": n, "e": "AQAB"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "weird", "kid": "w"},
            "not even an object"
        ]});
        let set = parse(Bytes::from(document.to_string())).expect("two usable keys");
        let mut kids: Vec<_> = set.by_kid.keys().cloned().collect();
        kids.sort();
        assert_eq!(kids, ["ins_1", "ins_2"]);
        assert!(set.get(Some("ins_1")).is_some());
        assert!(set.get(Some("enc")).is_none());
        assert!(set.get(None).is_none());
    }

    #[test]
    fn a_document_without_usable_keys_is_refused() {
        assert!(parse(Bytes::from_static(b"{\"keys\": []}")).is_none());
        assert!(parse(Bytes::from_static(b"<html>")).is_none());
        assert!(
            parse(Bytes::from_static(b"{\"keys\": [{\"kty\": \"oct\", \"k\": \"AA\", \"kid\": \"h\"}]}")).is_none()
        );
    }

    #[test]
    fn pem_keys_are_parsed_and_published_as_a_jwk() {
        let (n, pem) = rsa_key();
        let key = FixedKey::from_pem(&pem).expect("a valid key");
        let document: Value = serde_json::from_slice(&key.document).unwrap();
        assert_eq!(document["keys"][0]["n"], n.as_str());
        assert_eq!(document["keys"][0]["e"], "AQAB");
        assert_eq!(document["keys"][0]["alg"], "RS256");
        assert_eq!(document["keys"][0]["kid"].as_str().map(str::len), Some(43), "an RFC 7638 SHA-256 thumbprint");
        // One-line form with escaped newlines, as copied into an environment variable.
        assert!(FixedKey::from_pem(&pem.replace('\n', "\\n")).is_ok());
        assert!(FixedKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err());
        assert!(FixedKey::from_pem("not a key").is_err());
    }

    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn keys_past_their_ttl_or_fetched_after_now_are_refreshed_in_the_background() {
        let clerk = crate::testing::FakeClerk::builder().start().await;
        let api = crate::clerk::frontend_api::FrontendApi::parse(clerk.url()).unwrap();
        let fapi = FapiClient::new(api, &crate::clerk::call::HttpSettings::new().unwrap());
        let settings = KeySettings { refetch_interval: Duration::ZERO, ttl: Duration::from_secs(60), fixed_key: None };
        let store = Arc::new(KeyStore::new(&settings, fapi));
        let kid = clerk.kids().remove(0);
        assert!(store.key_after_refetch(Some(&kid)).await.unwrap().is_some());
        let fetches = || clerk.stats().jwks_fetches;
        // A refresh asked Clerk, and is over (so the next one may start).
        let refreshed = |before: u64| {
            let (clerk, store) = (&clerk, &store);
            async move {
                for _ in 0..200 {
                    if clerk.stats().jwks_fetches > before && !store.refreshing.load(Ordering::Acquire) {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                false
            }
        };
        let fetched_at = store.current.load().fetched_at.unwrap();

        let before = fetches();
        assert!(store.snapshot(fetched_at + 59_000).get(Some(&kid)).is_some());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(fetches(), before, "within the TTL nothing is fetched");

        assert!(store.snapshot(fetched_at + 61_000).get(Some(&kid)).is_some(), "old keys serve meanwhile");
        assert!(refreshed(before).await, "past the TTL a refresh starts");

        let fetched_at = store.current.load().fetched_at.unwrap();
        let before = fetches();
        store.snapshot(fetched_at - 1_000);
        assert!(refreshed(before).await, "a wall clock set back before the fetch refreshes too");
    }
}
