//! Where sessions, failure budgets and Clerk's backoffs live: in this process only (the default),
//! or also in Redis, shared by every replica (feature `redis`). Each replica keeps its own cache
//! as the first level; the shared store is read on a local miss and written on a change, so a
//! cached token request never touches it. Every value is sealed (AES-256-GCM) and named by a
//! keyed hash under keys derived from a secret all replicas share.

#[cfg(feature = "redis")]
mod redis;
pub(crate) mod seal;

use std::fmt;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::credentials::Credentials;
use crate::secret::Secret;
use seal::Seal;

/// Where a layer keeps what its replicas share.
///
/// ```
/// use clerk_basic_auth::{ClerkBasicAuthConfig, SessionStore};
///
/// let config = ClerkBasicAuthConfig::new("https://clerk.example.com")?.with_session_store(SessionStore::memory())?;
/// # Ok::<(), clerk_basic_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct SessionStore(Kind);

#[derive(Clone)]
enum Kind {
    Memory,
    /// The URL, which may carry a password.
    #[cfg(feature = "redis")]
    Redis(Secret),
    /// The URLs of some nodes of a Redis Cluster.
    #[cfg(feature = "redis")]
    RedisCluster(Vec<Secret>),
}

impl SessionStore {
    /// This process only (the default): every replica and every restart signs each credential
    /// in on its own, and each replica keeps its own failure budget.
    pub fn memory() -> Self {
        Self(Kind::Memory)
    }

    /// Redis (or Valkey) at `url` (`redis://host:6379/0`, `rediss://` for TLS; Redis Cluster and
    /// Sentinel are not supported), shared by every replica: sessions, failure budgets and
    /// Clerk's backoffs. Nothing is connected until the first request needs it; Redis slow or
    /// down never blocks a request beyond the store timeout
    /// ([`with_session_store_timeout`](crate::ClerkBasicAuthConfig::with_session_store_timeout)).
    /// The URL is checked by
    /// [`with_session_store`](crate::ClerkBasicAuthConfig::with_session_store), which also
    /// requires the shared secret.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(url: impl Into<String>) -> Self {
        Self(Kind::Redis(Secret::new(url.into().trim())))
    }

    /// A Redis Cluster, found from the URLs of some of its nodes
    /// (`redis://10.0.0.1:6379`, ...), through the `redis` crate's cluster client: it follows the
    /// cluster's slots and fail-overs. Otherwise as [`redis`](Self::redis); every key the store
    /// writes is used alone, so keys spread over any slots.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis_cluster<I, U>(nodes: I) -> Self
    where
        I: IntoIterator<Item = U>,
        U: Into<String>,
    {
        Self(Kind::RedisCluster(nodes.into_iter().map(|url| Secret::new(url.into().trim())).collect()))
    }

    /// Whether replicas share it (and so need the shared secret).
    pub(crate) fn is_shared(&self) -> bool {
        !matches!(self.0, Kind::Memory)
    }

    /// Why the store cannot be used, if it cannot: a URL that is not a Redis URL. The reason
    /// never quotes the URL (it may hold a password).
    pub(crate) fn check(&self) -> Result<(), String> {
        match &self.0 {
            Kind::Memory => Ok(()),
            #[cfg(feature = "redis")]
            Kind::Redis(url) => ::redis::Client::open(url.expose())
                .map(drop)
                .map_err(|error| error.to_string().replace(url.expose(), "<url>")),
            #[cfg(feature = "redis")]
            Kind::RedisCluster(nodes) => cluster_client(nodes).map(drop),
        }
    }
}

impl Default for SessionStore {
    fn default() -> Self {
        Self::memory()
    }
}

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A Redis URL may carry a password: never shown.
        f.write_str(match self.0 {
            Kind::Memory => "SessionStore::memory",
            #[cfg(feature = "redis")]
            Kind::Redis(_) => "SessionStore::redis(..)",
            #[cfg(feature = "redis")]
            Kind::RedisCluster(_) => "SessionStore::redis_cluster(..)",
        })
    }
}

/// The store of one layer, each setting with its default.
#[derive(Clone, Debug)]
pub(crate) struct StoreSettings {
    /// Default: [`SessionStore::memory`].
    pub(crate) store: SessionStore,
    /// The secret every replica shares (at least 32 bytes). Default: none.
    pub(crate) secret: Option<Secret>,
    /// Bound on each call to the shared store. Default: 200 ms.
    pub(crate) timeout: Duration,
    /// How long a replica waits for another one's sign-in of the same credential before it signs
    /// in itself. Default: 5 s.
    pub(crate) lease_wait: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            store: SessionStore::memory(),
            secret: None,
            timeout: Duration::from_millis(200),
            lease_wait: Duration::from_secs(5),
        }
    }
}

/// The keyed hash of a credential (identifier and password): the name of its entries. The
/// cache never holds a password, and a different password never finds another's entry.
pub(crate) type CredentialKey = [u8; 32];

/// A Clerk session as replicas share it.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredSession {
    pub(crate) client_token: String,
    pub(crate) session_id: String,
    /// Unix seconds.
    pub(crate) session_expires_at: Option<u64>,
    pub(crate) organization_id: Option<String>,
    /// The token handed out (a template token, when the layer hands those out).
    pub(crate) jwt: String,
    /// The session's last session token, for Clerk's outage mode.
    pub(crate) session_jwt: Option<String>,
    pub(crate) user_id: Option<String>,
    /// Unix seconds.
    pub(crate) password_checked_at: u64,
}

/// What a lease on a credential's sign-in or refresh says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lease {
    /// This replica does the work (it holds the lease, or there is nobody to share with).
    Mine,
    /// Another replica is at it: wait for its result.
    Theirs,
}

/// The store of one layer.
pub(crate) struct Store {
    seal: Seal,
    lease_wait: Duration,
    #[cfg(feature = "redis")]
    shared: Option<redis::RedisStore>,
}

impl Store {
    pub(crate) fn new(settings: &StoreSettings) -> Self {
        let seal = match &settings.secret {
            Some(secret) => Seal::from_secret(secret.expose().as_bytes()),
            None => Seal::random(),
        };
        Self {
            seal,
            lease_wait: settings.lease_wait,
            #[cfg(feature = "redis")]
            shared: match &settings.store.0 {
                Kind::Memory => None,
                // Checked by the configuration; a URL that still fails leaves the store local.
                Kind::Redis(url) => match ::redis::Client::open(url.expose()) {
                    Ok(client) => {
                        Some(redis::RedisStore::new(redis::Target::Single(Box::new(client)), settings.timeout))
                    }
                    Err(_) => {
                        tracing::error!("the session store URL is not a Redis URL; keeping sessions in this process");
                        None
                    }
                },
                Kind::RedisCluster(nodes) => match cluster_client(nodes) {
                    Ok(client) => {
                        Some(redis::RedisStore::new(redis::Target::Cluster(Box::new(client)), settings.timeout))
                    }
                    Err(_) => {
                        tracing::error!("the session store URLs are not Redis URLs; keeping sessions in this process");
                        None
                    }
                },
            },
        }
    }

    /// The name of a credential's entries.
    pub(crate) fn credential_key(&self, credentials: &Credentials) -> CredentialKey {
        self.seal.name(&[b"credential", credentials.identifier().as_bytes(), credentials.password().as_bytes()])
    }

    /// The name of what is kept per subject (a normalised identifier, or a Clerk user id).
    pub(crate) fn subject_key(&self, subject: &str) -> [u8; 32] {
        self.seal.name(&[b"subject", subject.as_bytes()])
    }

    /// A keyed fingerprint of an identifier, for log lines about failures: a client that sends
    /// its secret as the user name must not find it in the logs.
    pub(crate) fn fingerprint(&self, identifier: &str) -> String {
        let tag = self.seal.name(&[b"fingerprint", identifier.as_bytes()]);
        tag[..6].iter().fold(String::with_capacity(12), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
    }

    /// How long to wait for another replica's result.
    pub(crate) fn lease_wait(&self) -> Duration {
        self.lease_wait
    }

    /// The credential's session as another replica (or an earlier run) stored it.
    pub(crate) async fn load(&self, key: &CredentialKey) -> Option<StoredSession> {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            let sealed = shared.get(&entry_name("session", key)).await?;
            let plain = self.seal.open(&sealed, key)?;
            return serde_json::from_slice(&plain).ok();
        }
        let _ = key;
        None
    }

    /// Stores the credential's session until `ttl` has passed.
    pub(crate) async fn save(&self, key: &CredentialKey, session: &StoredSession, ttl: Duration) {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            let plain = serde_json::to_vec(session).expect("a stored session serializes");
            shared.set(&entry_name("session", key), self.seal.seal(&plain, key), ttl).await;
        }
        let _ = (key, session, ttl);
    }

    /// Forgets the credential's session (Clerk ended it).
    pub(crate) async fn forget(&self, key: &CredentialKey) {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            shared.delete(&entry_name("session", key)).await;
        }
        let _ = key;
    }

    /// A lease on the work for a credential (`what`: sign-in or refresh), so one replica does it.
    pub(crate) async fn lease(&self, key: &CredentialKey, what: &str) -> Lease {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            // Twice the wait: a slow sign-in keeps its lease while the others wait.
            return match shared.set_if_absent(&entry_name(what, key), self.lease_wait * 2).await {
                Some(false) => Lease::Theirs,
                // Taken, or the store is down: this replica goes ahead on its own.
                Some(true) | None => Lease::Mine,
            };
        }
        let _ = (key, what);
        Lease::Mine
    }

    /// Gives a lease back.
    pub(crate) async fn release(&self, key: &CredentialKey, what: &str) {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            shared.delete(&entry_name(what, key)).await;
        }
        let _ = (key, what);
    }

    /// Whether another replica still holds the lease.
    pub(crate) async fn is_leased(&self, key: &CredentialKey, what: &str) -> bool {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            return shared.exists(&entry_name(what, key)).await.unwrap_or(false);
        }
        let _ = (key, what);
        false
    }

    /// Counts an attempt in the shared sliding window named `subject` (a failure budget, a
    /// client address's sign-ins): `None` without a shared store (or while it is down), so the
    /// caller counts locally; `Some(Err(retry_after))` when the window is full.
    pub(crate) async fn reserve_attempt(
        &self,
        subject: &[u8; 32],
        ticket: u64,
        limit: u32,
        window: Duration,
    ) -> Option<Result<(), Duration>> {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            return shared.reserve(&entry_name("attempts", subject), ticket, limit, window).await;
        }
        let _ = (subject, ticket, limit, window);
        None
    }

    /// Ends a shared reservation: kept (a failure), given back, or the window cleared (a success).
    pub(crate) async fn settle_attempt(&self, subject: &[u8; 32], ticket: u64, keep: bool, clear: bool) {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            shared.settle(&entry_name("attempts", subject), ticket, keep, clear).await;
        }
        let _ = (subject, ticket, keep, clear);
    }

    /// Holds off calls of `kind` on every replica for `duration` (Clerk's `Retry-After`).
    pub(crate) async fn hold(&self, kind: &str, duration: Duration) {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            shared.set(&format!("clerk-basic-auth:v1:backoff:{kind}"), vec![1], duration).await;
        }
        let _ = (kind, duration);
    }

    /// How long another replica's backoff of `kind` still holds.
    pub(crate) async fn held(&self, kind: &str) -> Option<Duration> {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            return shared.remaining(&format!("clerk-basic-auth:v1:backoff:{kind}")).await;
        }
        let _ = kind;
        None
    }

    /// Remembers, on every replica, that `credential` succeeded.
    pub(crate) async fn remember_good(&self, credential: &CredentialKey, ttl: Duration) {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            shared.set(&entry_name("good", credential), vec![1], ttl).await;
        }
        let _ = (credential, ttl);
    }

    /// Forgets that `credential` succeeded (its password changed).
    pub(crate) async fn forget_good(&self, credential: &CredentialKey) {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            shared.delete(&entry_name("good", credential)).await;
        }
        let _ = credential;
    }

    /// Whether `credential` succeeded on any replica (`false` without a shared store).
    pub(crate) async fn is_good(&self, credential: &CredentialKey) -> bool {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            return shared.exists(&entry_name("good", credential)).await.unwrap_or(false);
        }
        let _ = credential;
        false
    }

    /// Whether replicas share this store.
    pub(crate) fn is_shared(&self) -> bool {
        #[cfg(feature = "redis")]
        return self.shared.is_some();
        #[cfg(not(feature = "redis"))]
        false
    }
}

/// The cluster client of some nodes' URLs; the error never quotes a URL (it may hold a password).
#[cfg(feature = "redis")]
fn cluster_client(nodes: &[Secret]) -> Result<::redis::cluster::ClusterClient, String> {
    if nodes.is_empty() {
        return Err("no cluster node given".to_owned());
    }
    ::redis::cluster::ClusterClient::new(nodes.iter().map(|url| url.expose().to_owned()))
        .map_err(|error| nodes.iter().fold(error.to_string(), |text, url| text.replace(url.expose(), "<url>")))
}

/// The Redis key of an entry: a fixed prefix, its kind, and its keyed name in hex.
#[cfg(feature = "redis")]
fn entry_name(kind: &str, name: &[u8; 32]) -> String {
    let mut key = format!("clerk-basic-auth:v1:{kind}:");
    for byte in name {
        let _ = write!(key, "{byte:02x}");
    }
    key
}
