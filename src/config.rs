//! Configuration of the layer: where Clerk is, which organization to activate, and every knob,
//! each with a documented default.

use std::fmt;
use std::time::Duration;

use crate::clerk::bapi::{BapiSettings, check_secret_key};
use crate::clerk::call::HttpSettings;
use crate::clerk::frontend_api::{FrontendApi, FrontendApiError, InstanceSettings};
use crate::clerk::sessions::SessionSettings;
use crate::clerk::store::seal::MIN_SECRET_LEN;
use crate::clerk::store::{SessionStore, StoreSettings};
use crate::discovery::DiscoverySettings;
use crate::protect::{AccessRule, ErrorStyle, ProtectionSettings};
use crate::routes::RouteSettings;
use crate::token_endpoint::TokenEndpointSettings;
use crate::token_endpoint::basic::CredentialEncoding;
use crate::verify::VerifySettings;
use crate::verify::jwks::{FixedKey, KeySettings};

const ENV_FRONTEND_API_URL: &str = "CLERK_FRONTEND_API_URL";
const ENV_PUBLISHABLE_KEY: &str = "CLERK_PUBLISHABLE_KEY";
const ENV_ORGANIZATION_ID: &str = "CLERK_ORGANIZATION_ID";
const ENV_JWT_TEMPLATE: &str = "CLERK_JWT_TEMPLATE";
const ENV_JWT_KEY: &str = "CLERK_JWT_KEY";
const ENV_AUTHORIZED_PARTIES: &str = "CLERK_AUTHORIZED_PARTIES";

const ENV_SECRET_KEY: &str = "CLERK_SECRET_KEY";
const ENV_API_URL: &str = "CLERK_API_URL";
const ENV_PROXY_URL: &str = "CLERK_PROXY_URL";
const ENV_DOMAIN: &str = "CLERK_DOMAIN";
const ENV_IS_SATELLITE: &str = "CLERK_IS_SATELLITE";
const ENV_SESSION_STORE_URL: &str = "CLERK_SESSION_STORE_URL";
const ENV_PASSWORD_RECHECK_SECONDS: &str = "CLERK_PASSWORD_RECHECK_SECONDS";
const ENV_SESSION_STORE_SECRET: &str = "CLERK_SESSION_STORE_SECRET";

/// Configuration of a [`ClerkBasicAuthLayer`](crate::ClerkBasicAuthLayer).
///
/// Build it from the environment with [`from_env`](Self::from_env), from a Frontend API URL with
/// [`new`](Self::new) or from a publishable key with
/// [`from_publishable_key`](Self::from_publishable_key); adjust it with the `with_*` methods.
/// Everything that can be wrong with a configuration is reported by those constructors, so
/// turning a configuration into a layer cannot fail.
///
/// | setting | default |
/// |---|---|
/// | token path ([`with_token_path`](Self::with_token_path)) | `/auth/token` |
/// | organization to activate ([`with_organization`](Self::with_organization)) | none: the user's personal account |
/// | JWT template ([`with_jwt_template`](Self::with_jwt_template)) | none: Clerk's session token |
/// | timeout of each call to Clerk ([`with_http_timeout`](Self::with_http_timeout)) | 10 s |
/// | token request body limit ([`with_max_body_size`](Self::with_max_body_size)) | 16 KiB |
/// | form-decoding of Basic credentials ([`with_form_encoded_credentials`](Self::with_form_encoded_credentials)) | per request: form-decoded (RFC 6749 §2.3.1) when escapes say so, else as sent (RFC 7617) |
/// | refused credentials ([`with_pact_v2_invalid_client`](Self::with_pact_v2_invalid_client)) | `401 invalid_client` with `WWW-Authenticate` (RFC 6749 §5.2) |
/// | Basic realm ([`with_realm`](Self::with_realm)) | `clerk-basic-auth` |
/// | least time left on a cached token handed out ([`with_refresh_margin`](Self::with_refresh_margin)) | 15 s |
/// | credentials with a cached Clerk session ([`with_session_capacity`](Self::with_session_capacity)) | 10,000 |
/// | failed sign-ins per identifier before Clerk is spared ([`with_failure_throttle`](Self::with_failure_throttle)) | 5 in 15 min |
/// | routes protected | all but the token endpoint, the discovery routes and public paths ([`with_public_path`](Self::with_public_path), [`with_public_prefix`](Self::with_public_prefix), [`with_protected_prefix`](Self::with_protected_prefix)) |
/// | requests without a token ([`with_optional_auth`](Self::with_optional_auth)) | refused |
/// | clock leeway for `exp`, `nbf`, `iat` ([`with_leeway`](Self::with_leeway)) | 5 s |
/// | allowed authorized parties, `azp` ([`with_authorized_parties`](Self::with_authorized_parties)) | not checked |
/// | tokens of `pending` sessions ([`with_pending_sessions`](Self::with_pending_sessions)) | refused |
/// | JWKS refetch on an unknown `kid` ([`with_jwks_refetch_interval`](Self::with_jwks_refetch_interval)) | at most every 10 s |
/// | JWKS refresh ([`with_jwks_ttl`](Self::with_jwks_ttl)) | every 5 min |
/// | networkless key ([`with_jwt_key`](Self::with_jwt_key)) | none: keys come from the JWKS |
/// | verified tokens remembered ([`with_verified_token_cache`](Self::with_verified_token_cache)) | 10,000 |
/// | discovery routes ([`with_openid_configuration_path`](Self::with_openid_configuration_path), [`with_oauth_metadata_path`](Self::with_oauth_metadata_path), [`with_jwks_path`](Self::with_jwks_path)) | `/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server`, `/jwks` |
/// | forwarding headers for discovery URLs ([`with_forwarded_headers`](Self::with_forwarded_headers)) | honoured |
/// | error bodies on protected routes ([`with_error_style`](Self::with_error_style), [`with_error_style_for`](Self::with_error_style_for)) | by route: PACT v3 under `/3/`, iLEAP under `/2/ileap/`, PACT v2 elsewhere |
/// | access rules ([`with_access_rule`](Self::with_access_rule)) | none |
///
/// # Example
/// ```
/// use std::time::Duration;
/// use clerk_basic_auth::ClerkBasicAuthConfig;
///
/// let config = ClerkBasicAuthConfig::new("https://clerk.example.com")?
///     .with_organization("org_2xDemo")
///     .with_http_timeout(Duration::from_secs(5));
/// assert_eq!(config.frontend_api_url(), "https://clerk.example.com");
/// # Ok::<(), clerk_basic_auth::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClerkBasicAuthConfig {
    pub(crate) instance: InstanceSettings,
    pub(crate) bapi: BapiSettings,
    pub(crate) http: HttpSettings,
    pub(crate) routes: RouteSettings,
    pub(crate) token_endpoint: TokenEndpointSettings,
    pub(crate) sessions: SessionSettings,
    pub(crate) store: StoreSettings,
    pub(crate) verify: VerifySettings,
    pub(crate) keys: KeySettings,
    pub(crate) discovery: DiscoverySettings,
    pub(crate) protection: ProtectionSettings,
}

impl ClerkBasicAuthConfig {
    /// A configuration for the Clerk instance whose Frontend API is at `frontend_api_url`, for
    /// example `https://clerk.example.com` or `https://happy-hippo-1.clerk.accounts.dev`.
    ///
    /// The URL must be `https://`; plain `http://` is accepted only for loopback hosts (a fake
    /// Clerk in tests). A path is kept (Clerk's proxy mode serves the Frontend API under one);
    /// a query, fragment or user info is refused.
    ///
    /// # Errors
    /// [`ConfigError::InvalidFrontendApiUrl`] for anything but such a URL, and
    /// [`ConfigError::HttpClient`] if the HTTP client cannot be built (no TLS backend).
    pub fn new(frontend_api_url: impl AsRef<str>) -> Result<Self, ConfigError> {
        let raw = frontend_api_url.as_ref();
        let frontend_api = FrontendApi::parse(raw).map_err(|error| config_error(error, raw))?;
        Self::for_frontend_api(frontend_api)
    }

    fn for_frontend_api(frontend_api: FrontendApi) -> Result<Self, ConfigError> {
        Ok(Self {
            instance: InstanceSettings::new(frontend_api),
            bapi: BapiSettings::default(),
            http: HttpSettings::new().map_err(ConfigError::HttpClient)?,
            routes: RouteSettings::default(),
            token_endpoint: TokenEndpointSettings::default(),
            sessions: SessionSettings::default(),
            store: StoreSettings::default(),
            verify: VerifySettings::default(),
            keys: KeySettings::default(),
            discovery: DiscoverySettings::default(),
            protection: ProtectionSettings::default(),
        })
    }

    /// A configuration for the Clerk instance a publishable key (`pk_test_...` or `pk_live_...`)
    /// belongs to: the key carries the Frontend API host.
    ///
    /// ```
    /// use clerk_basic_auth::ClerkBasicAuthConfig;
    ///
    /// // "pk_test_" + base64("clerk.example.com$")
    /// let config = ClerkBasicAuthConfig::from_publishable_key("pk_test_Y2xlcmsuZXhhbXBsZS5jb20k")?;
    /// assert_eq!(config.frontend_api_url(), "https://clerk.example.com");
    /// # Ok::<(), clerk_basic_auth::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidPublishableKey`] when the key is not of that form.
    pub fn from_publishable_key(publishable_key: impl AsRef<str>) -> Result<Self, ConfigError> {
        let raw = publishable_key.as_ref();
        let frontend_api = FrontendApi::from_publishable_key(raw).map_err(|error| config_error(error, raw))?;
        Self::for_frontend_api(frontend_api)
    }

    /// A configuration from the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `CLERK_FRONTEND_API_URL` | the Frontend API URL (wins over the publishable key) |
    /// | `CLERK_PUBLISHABLE_KEY` | a publishable key, used when no URL is set |
    /// | `CLERK_ORGANIZATION_ID` | optional: organization id or slug to activate |
    /// | `CLERK_JWT_TEMPLATE` | optional: JWT template name for the access tokens |
    /// | `CLERK_JWT_KEY` | optional: the instance's PEM public key, to verify without fetching keys |
    /// | `CLERK_AUTHORIZED_PARTIES` | optional: comma-separated allowed `azp` origins |
    /// | `CLERK_SECRET_KEY` | optional, recommended: `sk_...`; Backend API sign-ins, which Device Trust does not stop ([`with_secret_key`](Self::with_secret_key)) |
    /// | `CLERK_API_URL` | optional: the Backend API base URL (default `https://api.clerk.com`) |
    /// | `CLERK_PROXY_URL` | optional: Clerk proxy URL that Frontend API requests go to ([`with_proxy_url`](Self::with_proxy_url)) |
    /// | `CLERK_IS_SATELLITE`, `CLERK_DOMAIN` | optional: `true` and the satellite domain ([`with_satellite_domain`](Self::with_satellite_domain)) |
    /// | `CLERK_PASSWORD_RECHECK_SECONDS` | optional: how often passwords are checked again (default 3600) |
    /// | `CLERK_SESSION_STORE_URL` | optional, feature `redis`: `redis://` or `rediss://` URL of the store replicas share; several, comma-separated, for nodes of a Redis Cluster |
    /// | `CLERK_SESSION_STORE_SECRET` | with a store URL: at least 32 random bytes, the same on every replica |
    ///
    /// Empty variables count as unset.
    ///
    /// # Errors
    /// [`ConfigError::MissingFrontendApi`] when neither the URL nor the key is set, and the
    /// errors of [`new`](Self::new) and [`from_publishable_key`](Self::from_publishable_key).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut config = if let Some(url) = var(ENV_FRONTEND_API_URL) {
            Self::new(url.trim())?
        } else if let Some(key) = var(ENV_PUBLISHABLE_KEY) {
            Self::from_publishable_key(key.trim())?
        } else {
            return Err(ConfigError::MissingFrontendApi);
        };
        if let Some(organization) = var(ENV_ORGANIZATION_ID) {
            config = config.with_organization(organization.trim());
        }
        if let Some(template) = var(ENV_JWT_TEMPLATE) {
            config = config.with_jwt_template(template.trim());
        }
        if let Some(pem) = var(ENV_JWT_KEY) {
            config = config.with_jwt_key(&pem)?;
        }
        if let Some(parties) = var(ENV_AUTHORIZED_PARTIES) {
            config = config.with_authorized_parties(parties.split(',').map(str::trim).filter(|p| !p.is_empty()));
        }
        if let Some(key) = var(ENV_SECRET_KEY) {
            config = config.with_secret_key(key.trim())?;
        }
        if let Some(url) = var(ENV_API_URL) {
            config = config.with_backend_api_url(url.trim())?;
        }
        if let Some(url) = var(ENV_PROXY_URL) {
            config = config.with_proxy_url(url.trim())?;
        }
        if let Some(seconds) = var(ENV_PASSWORD_RECHECK_SECONDS) {
            let seconds = seconds.trim().parse::<u64>().map_err(|_| ConfigError::InvalidPasswordRecheck)?;
            config = config.with_password_recheck(Duration::from_secs(seconds));
        }
        if let Some(secret) = var(ENV_SESSION_STORE_SECRET) {
            config = config.with_session_store_secret(secret.trim())?;
        }
        if let Some(url) = var(ENV_SESSION_STORE_URL) {
            #[cfg(feature = "redis")]
            {
                // Several URLs, comma-separated: nodes of a Redis Cluster.
                let nodes: Vec<&str> = url.split(',').map(str::trim).filter(|node| !node.is_empty()).collect();
                let store = match nodes.as_slice() {
                    [single] => SessionStore::redis(*single),
                    nodes => SessionStore::redis_cluster(nodes.iter().copied()),
                };
                config = config.with_session_store(store)?;
            }
            #[cfg(not(feature = "redis"))]
            {
                let _ = url;
                return Err(ConfigError::SessionStoreUnavailable);
            }
        }
        let satellite = var(ENV_IS_SATELLITE).is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
        if let (true, Some(domain)) = (satellite, var(ENV_DOMAIN)) {
            config = config.with_satellite_domain(domain.trim())?;
        }
        Ok(config)
    }

    /// The Frontend API URL every Clerk call goes to, without a trailing slash. It is also the
    /// issuer (`iss`) of the tokens Clerk signs.
    pub fn frontend_api_url(&self) -> &str {
        self.instance.requests_to().as_str()
    }

    /// Sign users in through Clerk's Backend API with the instance's secret key (`sk_test_...` or
    /// `sk_live_...`): the layer finds the user by e-mail address or username, checks the
    /// password (`verify_password`), and redeems a one-time sign-in token at the Frontend API.
    /// Clerk's Device Trust, which stops password sign-ins from new devices on applications
    /// created after 2025-11-14, does not apply to these sign-ins; the layer itself refuses users
    /// who are locked, banned or have a second factor. Default: none, Frontend API password
    /// sign-ins. The key never appears in `Debug`, logs or answers.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSecretKey`] if `key` is not of that form.
    pub fn with_secret_key(mut self, key: &str) -> Result<Self, ConfigError> {
        let key = key.trim();
        check_secret_key(key).map_err(|reason| ConfigError::InvalidSecretKey { reason })?;
        self.bapi.secret_key = Some(crate::secret::Secret::new(key));
        Ok(self)
    }

    /// The Backend API base URL, for tests against a fake Clerk or a regional endpoint. Default:
    /// `https://api.clerk.com`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidBackendApiUrl`] for anything but an `https://` URL (`http://` for
    /// loopback hosts).
    pub fn with_backend_api_url(mut self, url: &str) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidBackendApiUrl { url: url.to_owned(), reason };
        let api = FrontendApi::parse(url).map_err(|error| match error {
            FrontendApiError::InvalidUrl(reason) | FrontendApiError::InvalidPublishableKey(reason) => invalid(reason),
        })?;
        self.bapi.url = reqwest::Url::parse(api.as_str()).map_err(|_| invalid("not an absolute URL"))?;
        Ok(self)
    }

    /// Send Frontend API requests through Clerk's proxy at `url` (e.g.
    /// `https://app.example.com/__clerk`). Tokens keep the real Frontend API host as issuer, so
    /// the expected `iss` stays the instance's. Default: none.
    ///
    /// # Errors
    /// [`ConfigError::InvalidProxyUrl`] for anything but an absolute `https://` URL.
    pub fn with_proxy_url(mut self, url: &str) -> Result<Self, ConfigError> {
        let proxy = FrontendApi::parse(url).map_err(|error| match error {
            FrontendApiError::InvalidUrl(reason) | FrontendApiError::InvalidPublishableKey(reason) => {
                ConfigError::InvalidProxyUrl { url: url.to_owned(), reason }
            }
        })?;
        self.instance.proxy = Some(proxy);
        Ok(self)
    }

    /// Serve a satellite domain of a production instance: Frontend API requests go to, and
    /// tokens are issued by, `https://clerk.<domain>`, as Clerk's backend derives them.
    ///
    /// # Errors
    /// [`ConfigError::InvalidFrontendApiUrl`] if `domain` is not a host name.
    pub fn with_satellite_domain(mut self, domain: &str) -> Result<Self, ConfigError> {
        self.instance.satellite = Some(FrontendApi::of_satellite(domain).map_err(|error| config_error(error, domain))?);
        Ok(self)
    }

    /// Expect this issuer (`iss`) on tokens instead of the one derived from the publishable key,
    /// the Frontend API URL or the satellite domain (never from the proxy).
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.instance.issuer = Some(issuer.into().trim_end_matches('/').to_owned());
        self
    }

    /// The issuer (`iss`) tokens must carry.
    pub fn issuer(&self) -> &str {
        self.instance.issuer()
    }

    /// Keep sessions, failure budgets and Clerk's backoffs in `store`, e.g. Redis shared by every
    /// replica (`SessionStore::redis`, feature `redis`): one sign-in per credential across the
    /// fleet, a failure budget that holds across replicas, and no new sign-ins after a restart.
    /// A shared store needs the shared secret first
    /// ([`with_session_store_secret`](Self::with_session_store_secret)). Default:
    /// [`SessionStore::memory`].
    ///
    /// # Errors
    /// [`ConfigError::MissingSessionStoreSecret`] for a shared store without the secret, and
    /// [`ConfigError::InvalidSessionStoreUrl`] for a URL that is not a Redis URL.
    pub fn with_session_store(mut self, store: SessionStore) -> Result<Self, ConfigError> {
        if store.is_shared() && self.store.secret.is_none() {
            return Err(ConfigError::MissingSessionStoreSecret);
        }
        store.check().map_err(|reason| ConfigError::InvalidSessionStoreUrl { reason })?;
        self.store.store = store;
        Ok(self)
    }

    /// The secret every replica shares, from which the store's keys derive: the keyed hashes
    /// that name entries and the AES-256-GCM key that seals their values (client tokens, JWTs,
    /// session ids), so a Redis dump gives none of them away. At least 32 bytes, random (e.g.
    /// `openssl rand -base64 48`). Never logged or shown in `Debug`.
    ///
    /// # Errors
    /// [`ConfigError::WeakSessionStoreSecret`] if it is shorter than 32 bytes or one repeated
    /// character.
    pub fn with_session_store_secret(mut self, secret: &str) -> Result<Self, ConfigError> {
        let bytes = secret.as_bytes();
        if bytes.len() < MIN_SECRET_LEN || bytes.iter().all(|byte| *byte == bytes[0]) {
            return Err(ConfigError::WeakSessionStoreSecret);
        }
        self.store.secret = Some(crate::secret::Secret::new(secret));
        Ok(self)
    }

    /// Bound each call to the shared session store by `timeout`; a store slower than that is
    /// passed by (this replica goes on with its own state). Default: 200 ms.
    pub fn with_session_store_timeout(mut self, timeout: Duration) -> Self {
        self.store.timeout = timeout;
        self
    }

    /// Serve the token endpoint at `path` instead of `/auth/token`. A missing leading `/` is added.
    pub fn with_token_path(mut self, path: impl Into<String>) -> Self {
        self.routes.token_path = absolute_path(path.into());
        self
    }

    /// Activate this organization (id `org_...` or slug) on every session, so the access tokens
    /// carry it, and require it of every token on the protected routes: a valid token of the same
    /// Clerk instance for another organization, or for a personal account (say, from your own web
    /// app), is refused with 403 `AccessDenied`. Default: none, the tokens carry the user's
    /// personal account and any token of the instance is accepted.
    pub fn with_organization(mut self, organization: impl Into<String>) -> Self {
        let organization = organization.into();
        self.sessions.organization = Some(organization.clone());
        self.protection.organization = Some(organization);
        self
    }

    /// Whether the protected routes require the organization of
    /// [`with_organization`](Self::with_organization). Default: on; turn it off to accept tokens
    /// of any organization of the Clerk instance (and use [`AccessRule`]s instead).
    pub fn with_organization_required(mut self, required: bool) -> Self {
        self.protection.organization_required = required;
        self
    }

    /// Hand out tokens of this Clerk JWT template instead of the session token. Template tokens
    /// have the lifetime and claims set in the Clerk dashboard. Default: the session token.
    pub fn with_jwt_template(mut self, template: impl Into<String>) -> Self {
        self.sessions.jwt_template = Some(template.into());
        self.verify.accept_template_tokens = true;
        self
    }

    /// Bound each call to Clerk (connect, send, answer) by `timeout`. Default: 10 s.
    pub fn with_http_timeout(mut self, timeout: Duration) -> Self {
        self.http.timeout = timeout;
        self
    }

    /// Refuse token request bodies above `bytes` with `413 Payload Too Large`. Default: 16 KiB.
    /// A body that takes longer than 30 s to arrive is refused as unreadable.
    pub fn with_max_body_size(mut self, bytes: usize) -> Self {
        self.token_endpoint.max_body_size = bytes;
        self
    }

    /// Fix how the Basic user name and password are read: `true` form-decodes them always, as RFC
    /// 6749 §2.3.1 asks of OAuth clients (`%40` becomes `@`, `+` a space); `false` takes them as
    /// sent (RFC 7617), always. Default: neither, each request is told apart: credentials are
    /// form-decoded when the user name carries a `%XX` escape (Clerk identifiers cannot hold `%`)
    /// or, for a user name a form encoder leaves as it is, when the password carries one and
    /// nothing a form encoder would have escaped. Node's `openid-client` and `oauth4webapi` encode;
    /// curl, Python's authlib and requests-oauthlib and the PACT conformance tool do not; both get
    /// in with no setting. The layer never tries both readings at Clerk, which would spend the
    /// user's lockout budget.
    pub fn with_form_encoded_credentials(mut self, enabled: bool) -> Self {
        self.token_endpoint.credential_encoding =
            if enabled { CredentialEncoding::FormEncoded } else { CredentialEncoding::Raw };
        self
    }

    /// Answer refused credentials sent with HTTP Basic with `400 invalid_client`, as PACT v2's
    /// example does, instead of RFC 6749 §5.2's `401 invalid_client` with
    /// `WWW-Authenticate: Basic` (which PACT v3 allows too). Default: off, RFC 6749.
    pub fn with_pact_v2_invalid_client(mut self, enabled: bool) -> Self {
        self.token_endpoint.invalid_client_as_400 = enabled;
        self
    }

    /// The realm named in `WWW-Authenticate: Basic realm="..."`. Default: `clerk-basic-auth`.
    /// Quotes and backslashes are dropped.
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        let realm = realm.into().replace(['"', '\\'], "");
        self.token_endpoint.realm = realm.clone();
        self.protection.realm = realm;
        self
    }

    /// Hand out a cached token only while it has more than `margin` (or a quarter of its
    /// lifetime, if that is more) left; below that, get a fresh one from the same Clerk session.
    /// Default: 15 s, so a client never receives a token that expires before it can use it; with
    /// an hour-long template, tokens are handed out with at least 15 minutes left, so clients
    /// that take a token with a minute left for expired (Python's authlib) never do.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.sessions.refresh_margin = margin;
        self
    }

    /// Keep Clerk sessions for at most `credentials` different credentials (at least 1); past
    /// that, the least used are dropped first (quick_cache's CLOCK-Pro policy, which keeps
    /// entries in use over one-off ones). Sign-in attempts of credentials without a session are
    /// kept apart, in a cache of the same size, so they never push out live sessions.
    /// Default: 10,000.
    pub fn with_session_capacity(mut self, credentials: usize) -> Self {
        self.sessions.capacity = credentials.max(1);
        self
    }

    /// After `failures` failed sign-ins for one identifier within `window`, answer `429` without
    /// asking Clerk until the window ends, so a misconfigured client cannot spend the user's Clerk
    /// lockout budget (Clerk locks a user for an hour after 10 failures). A success resets the
    /// count. Default: 5 in 15 minutes. `failures` of 0 is taken as 1.
    pub fn with_failure_throttle(mut self, failures: u32, window: Duration) -> Self {
        self.sessions.failure_limit = failures.max(1);
        self.sessions.failure_window = window;
        self
    }

    /// At most `attempts` sign-ins within any `window` from one client address, for credentials
    /// not known to be good (a credential that succeeded before is never held back), so one
    /// source cannot spend the instance's Clerk sign-in limit (5 per 10 s per server IP) for
    /// everyone. Shared across replicas with a shared store. Default: 30 in 10 minutes, which an
    /// honest client, signing in once per credential and reusing the session, never reaches.
    /// The address comes from [`with_client_address`](Self::with_client_address).
    pub fn with_source_limit(mut self, attempts: u32, window: Duration) -> Self {
        self.sessions.source_limit = attempts.max(1);
        self.sessions.source_window = window;
        self
    }

    /// How the client address of a token request is found, for
    /// [`with_source_limit`](Self::with_source_limit). Default: a `std::net::SocketAddr` in the
    /// request extensions (hyper servers can insert the peer address); without one, no
    /// per-address limit applies. With axum, serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()` and read its `ConnectInfo`; behind a
    /// reverse proxy you trust, read its forwarded address instead.
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use axum::extract::ConnectInfo;
    /// use clerk_basic_auth::ClerkBasicAuthConfig;
    ///
    /// let config = ClerkBasicAuthConfig::new("https://clerk.example.com")?.with_client_address(|request| {
    ///     request.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip())
    /// });
    /// # Ok::<(), clerk_basic_auth::ConfigError>(())
    /// ```
    pub fn with_client_address<F>(mut self, address: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Option<std::net::IpAddr> + Send + Sync + 'static,
    {
        self.token_endpoint.client_address = std::sync::Arc::new(address);
        self
    }

    /// Check each credential's password again at least every `interval` while its Clerk session
    /// lives, so a changed password stops working within that time without anyone ending
    /// sessions: with the secret key, by `verify_password` at the Backend API; without, by a new
    /// sign-in whose session replaces the old one (which is ended at Clerk). Until the check,
    /// tokens of the old password are not handed out from the cache. Default: 1 hour
    /// (`CLERK_PASSWORD_RECHECK_SECONDS`).
    pub fn with_password_recheck(mut self, interval: Duration) -> Self {
        self.sessions.password_recheck = interval;
        self
    }

    /// Leave requests whose path is exactly `path` unprotected (a health check, say). A missing
    /// leading `/` is added.
    pub fn with_public_path(mut self, path: impl Into<String>) -> Self {
        self.routes.public_paths.push(absolute_path(path.into()));
        self
    }

    /// Leave requests whose path starts with `prefix` unprotected.
    pub fn with_public_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.routes.public_prefixes.push(absolute_path(prefix.into()));
        self
    }

    /// Protect only requests whose path starts with `prefix` (call it again for more prefixes);
    /// everything else passes untouched. Default: every route is protected.
    pub fn with_protected_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.routes.protected_prefixes.push(absolute_path(prefix.into()));
        self
    }

    /// Let requests without an `Authorization` header through to the inner service, without
    /// claims. A request with a bad token is still refused. Default: off.
    pub fn with_optional_auth(mut self, optional: bool) -> Self {
        self.protection.optional_auth = optional;
        self
    }

    /// Clock leeway for `exp`, `nbf` and `iat`, in whole seconds, at most one hour. Default: 5 s,
    /// as Clerk's SDKs.
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.verify.leeway = leeway.min(Duration::from_secs(3600));
        self
    }

    /// Accept only tokens whose authorized party (`azp`) is one of `parties` (origins such as
    /// `https://app.example.com`). Default: `azp` is not checked, since tokens Clerk mints for
    /// native clients, like the ones this layer hands out, carry none.
    pub fn with_authorized_parties<I, P>(mut self, parties: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.verify.authorized_parties = parties.into_iter().map(Into::into).collect();
        self
    }

    /// Accept tokens of sessions whose status (`sts`) is `pending` (tasks left, such as choosing
    /// an organization). Default: refused, as Clerk's SDKs treat them as signed out.
    pub fn with_pending_sessions(mut self, accept: bool) -> Self {
        self.verify.allow_pending_sessions = accept;
        self
    }

    /// Refetch Clerk's JWKS for an unknown `kid` at most once per `interval`, so tokens with
    /// made-up key ids cannot flood Clerk. Default: 10 s.
    pub fn with_jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.keys.refetch_interval = interval;
        self
    }

    /// Refresh Clerk's JWKS in the background once it is older than `ttl`, so a key Clerk
    /// withdrew stops verifying. The old keys serve until the refresh succeeds. Default: 5 min.
    pub fn with_jwks_ttl(mut self, ttl: Duration) -> Self {
        self.keys.ttl = ttl;
        self
    }

    /// Verify tokens with this PEM public key (the instance's "JWT public key" in the Clerk
    /// dashboard) instead of fetching Clerk's JWKS: no network on the verification path.
    ///
    /// # Errors
    /// [`ConfigError::InvalidJwtKey`] if `pem` is not an RSA public key.
    pub fn with_jwt_key(mut self, pem: &str) -> Result<Self, ConfigError> {
        self.keys.fixed_key = Some(FixedKey::from_pem(pem).map_err(|reason| ConfigError::InvalidJwtKey { reason })?);
        Ok(self)
    }

    /// Remember up to `tokens` verified tokens until they expire, so a token is verified once
    /// rather than on every request; 0 turns it off. Expiry is still checked on every request,
    /// and a token whose key leaves the JWKS is forgotten. Default: 10,000.
    pub fn with_verified_token_cache(mut self, tokens: usize) -> Self {
        self.verify.verified_token_capacity = tokens;
        self
    }

    /// Serve the OpenID Connect discovery document at `path`, or not at all with `None`.
    /// Default: `/.well-known/openid-configuration`.
    pub fn with_openid_configuration_path(mut self, path: Option<&str>) -> Self {
        self.routes.openid_configuration_path = path.map(|path| absolute_path(path.to_owned()));
        self
    }

    /// Serve the RFC 8414 authorization server metadata (what OAuth-only clients fetch) at
    /// `path`, or not at all with `None`. Default: `/.well-known/oauth-authorization-server`.
    pub fn with_oauth_metadata_path(mut self, path: Option<&str>) -> Self {
        self.routes.oauth_metadata_path = path.map(|path| absolute_path(path.to_owned()));
        self
    }

    /// Serve Clerk's signing keys (a JWKS) at `path`, or not at all with `None`. Default: `/jwks`.
    pub fn with_jwks_path(mut self, path: Option<&str>) -> Self {
        self.routes.jwks_path = path.map(|path| absolute_path(path.to_owned()));
        self
    }

    /// Build the discovery document's URLs from this base URL (e.g. `https://api.example.com/pact`)
    /// instead of from each request. Default: from the request.
    ///
    /// # Errors
    /// [`ConfigError::InvalidPublicBaseUrl`] if `url` is not an absolute `http(s)` URL.
    pub fn with_public_base_url(mut self, url: &str) -> Result<Self, ConfigError> {
        let parsed =
            reqwest::Url::parse(url.trim()).map_err(|_| ConfigError::InvalidPublicBaseUrl { url: url.to_owned() })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(ConfigError::InvalidPublicBaseUrl { url: url.to_owned() });
        }
        self.discovery.public_base_url = Some(parsed.as_str().trim_end_matches('/').to_owned());
        Ok(self)
    }

    /// Whether the discovery document's URLs honour `Forwarded`, `X-Forwarded-Proto`,
    /// `X-Forwarded-Host` and `X-Forwarded-Prefix` (set by a reverse proxy). Turn it off when
    /// clients reach the server directly. Default: on.
    pub fn with_forwarded_headers(mut self, honour: bool) -> Self {
        self.discovery.trust_forwarded_headers = honour;
        self
    }

    /// How refusals on every protected route are answered (prefixes given to
    /// [`with_error_style_for`](Self::with_error_style_for) excepted). Default:
    /// [`ErrorStyle::by_route`]: PACT v3 under `/3/`, iLEAP under `/2/ileap/`, PACT v2 elsewhere.
    pub fn with_error_style(mut self, style: ErrorStyle) -> Self {
        self.protection.error_styles.all = style;
        self
    }

    /// How refusals on routes under `prefix` are answered; the longest matching prefix wins.
    ///
    /// ```
    /// use clerk_basic_auth::{ClerkBasicAuthConfig, ErrorStyle};
    ///
    /// // A PACT v2 API served under /pact/ instead of /2/.
    /// let config = ClerkBasicAuthConfig::new("https://clerk.example.com")?
    ///     .with_error_style_for("/pact/", ErrorStyle::pact_v2());
    /// # Ok::<(), clerk_basic_auth::ConfigError>(())
    /// ```
    pub fn with_error_style_for(mut self, prefix: impl Into<String>, style: ErrorStyle) -> Self {
        self.protection.error_styles.by_prefix.push((absolute_path(prefix.into()), style));
        self
    }

    /// Require an organization, role or permission on some routes; see [`AccessRule`].
    pub fn with_access_rule(mut self, rule: AccessRule) -> Self {
        self.protection.access_rules.push(rule);
        self
    }

    /// Talk to Clerk through this client instead of the built-in one (e.g. for a proxy or extra
    /// root certificates). Build it with `redirect(reqwest::redirect::Policy::none())`, as the
    /// built-in one is: Clerk's API never redirects, and a client that follows a 307 would send
    /// the password form on to wherever it points. The configured timeout is applied per call.
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http.http_client = client;
        self
    }
}

/// Why a configuration could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither `CLERK_FRONTEND_API_URL` nor `CLERK_PUBLISHABLE_KEY` is set.
    MissingFrontendApi,
    /// The Frontend API URL is not a usable URL.
    InvalidFrontendApiUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The publishable key is not `pk_test_`/`pk_live_` followed by base64 of `<host>$`.
    InvalidPublishableKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The JWT key is not an RSA public key in PEM form.
    InvalidJwtKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The public base URL is not an absolute `http(s)` URL.
    InvalidPublicBaseUrl {
        /// The URL as given.
        url: String,
    },
    /// The HTTP client for Clerk could not be built.
    HttpClient(reqwest::Error),
    /// The secret key is not `sk_test_...` or `sk_live_...`.
    InvalidSecretKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The Backend API URL is not a usable URL.
    InvalidBackendApiUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `CLERK_PASSWORD_RECHECK_SECONDS` is not a number of seconds.
    InvalidPasswordRecheck,
    /// A shared session store was configured without the shared secret.
    MissingSessionStoreSecret,
    /// The session store secret is shorter than 32 bytes or not random.
    WeakSessionStoreSecret,
    /// The session store URL is not a Redis URL.
    InvalidSessionStoreUrl {
        /// What is wrong with it (the URL itself is not repeated: it may hold a password).
        reason: String,
    },
    /// `CLERK_SESSION_STORE_URL` is set, but the crate was built without the `redis` feature.
    SessionStoreUnavailable,
    /// The proxy URL is not a usable URL.
    InvalidProxyUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingFrontendApi => write!(
                f,
                "no Clerk instance configured: set {ENV_FRONTEND_API_URL} (e.g. https://clerk.example.com) \
                 or {ENV_PUBLISHABLE_KEY} (pk_test_... or pk_live_...)"
            ),
            Self::InvalidFrontendApiUrl { url, reason } => {
                write!(f, "invalid Clerk Frontend API URL {url:?}: {reason}")
            }
            Self::InvalidPublishableKey { reason } => {
                write!(f, "invalid Clerk publishable key: {reason}")
            }
            Self::InvalidJwtKey { reason } => write!(f, "invalid {ENV_JWT_KEY}: {reason}"),
            Self::InvalidPublicBaseUrl { url } => {
                write!(f, "invalid public base URL {url:?}: must be absolute http(s)")
            }
            Self::HttpClient(error) => write!(f, "cannot build the HTTP client for Clerk: {error}"),
            Self::InvalidSecretKey { reason } => write!(f, "invalid {ENV_SECRET_KEY}: {reason}"),
            Self::InvalidBackendApiUrl { url, reason } => write!(f, "invalid Clerk Backend API URL {url:?}: {reason}"),
            Self::InvalidProxyUrl { url, reason } => write!(f, "invalid {ENV_PROXY_URL} {url:?}: {reason}"),
            Self::InvalidPasswordRecheck => write!(f, "{ENV_PASSWORD_RECHECK_SECONDS} must be a number of seconds"),
            Self::MissingSessionStoreSecret => write!(
                f,
                "a shared session store needs {ENV_SESSION_STORE_SECRET} (with_session_store_secret): \
                 at least 32 random bytes that every replica shares"
            ),
            Self::WeakSessionStoreSecret => {
                write!(f, "{ENV_SESSION_STORE_SECRET} must be at least 32 random bytes (e.g. openssl rand -base64 48)")
            }
            Self::InvalidSessionStoreUrl { reason } => write!(f, "invalid {ENV_SESSION_STORE_URL}: {reason}"),
            Self::SessionStoreUnavailable => {
                write!(f, "{ENV_SESSION_STORE_URL} is set but clerk-basic-auth was built without its redis feature")
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::HttpClient(error) => Some(error),
            _ => None,
        }
    }
}

/// A URL or key that names no Frontend API, as the configuration error that names it.
fn config_error(error: FrontendApiError, raw: &str) -> ConfigError {
    match error {
        FrontendApiError::InvalidUrl(reason) => ConfigError::InvalidFrontendApiUrl { url: raw.to_owned(), reason },
        FrontendApiError::InvalidPublishableKey(reason) => ConfigError::InvalidPublishableKey { reason },
    }
}

fn absolute_path(path: String) -> String {
    if path.starts_with('/') { path } else { format!("/{path}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lookup_prefers_the_url_and_reads_the_options() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let config = ClerkBasicAuthConfig::from_lookup(env(&[
            (ENV_FRONTEND_API_URL, "https://a.example.com"),
            (ENV_PUBLISHABLE_KEY, "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k"),
            (ENV_ORGANIZATION_ID, " org_1 "),
            (ENV_JWT_TEMPLATE, ""),
        ]))
        .unwrap();
        assert_eq!(config.frontend_api_url(), "https://a.example.com");
        assert_eq!(config.sessions.organization.as_deref(), Some("org_1"));
        assert_eq!(config.protection.organization.as_deref(), Some("org_1"));
        assert_eq!(config.sessions.jwt_template, None);

        let config = ClerkBasicAuthConfig::from_lookup(env(&[
            (ENV_FRONTEND_API_URL, " "),
            (ENV_PUBLISHABLE_KEY, "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k"),
            (ENV_JWT_TEMPLATE, "pact"),
        ]))
        .unwrap();
        assert_eq!(config.frontend_api_url(), "https://clerk.example.com");
        assert_eq!(config.sessions.jwt_template.as_deref(), Some("pact"));

        let error = ClerkBasicAuthConfig::from_lookup(env(&[])).unwrap_err();
        assert!(matches!(error, ConfigError::MissingFrontendApi));
        assert!(error.to_string().contains(ENV_PUBLISHABLE_KEY));
    }

    #[test]
    fn paths_and_realm_are_normalised() {
        let config = ClerkBasicAuthConfig::new("https://clerk.example.com")
            .unwrap()
            .with_token_path("oauth/token")
            .with_realm("my \"realm\"\\");
        assert_eq!(config.routes.token_path, "/oauth/token");
        assert_eq!(config.token_endpoint.realm, "my realm");
        assert_eq!(config.protection.realm, "my realm");
    }
}
