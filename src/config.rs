//! Configuration of the layer: where Clerk is, which organization to activate, and every knob,
//! each with a documented default.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use reqwest::Url;

/// The environment variable naming the Clerk Frontend API URL (`https://clerk.example.com`).
pub const ENV_FRONTEND_API_URL: &str = "CLERK_FRONTEND_API_URL";
/// The environment variable holding a Clerk publishable key (`pk_test_...` / `pk_live_...`).
pub const ENV_PUBLISHABLE_KEY: &str = "CLERK_PUBLISHABLE_KEY";
/// The environment variable naming the organization (id or slug) activated for every session.
pub const ENV_ORGANIZATION_ID: &str = "CLERK_ORGANIZATION_ID";
/// The environment variable naming a Clerk JWT template for the handed-out access tokens.
pub const ENV_JWT_TEMPLATE: &str = "CLERK_JWT_TEMPLATE";

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
/// | form-decoding of Basic credentials ([`with_form_encoded_credentials`](Self::with_form_encoded_credentials)) | off: taken as sent (RFC 7617) |
/// | Basic realm ([`with_realm`](Self::with_realm)) | `clerk-basic-auth` |
/// | least time left on a cached token handed out ([`with_refresh_margin`](Self::with_refresh_margin)) | 15 s |
/// | credentials with a cached Clerk session ([`with_session_capacity`](Self::with_session_capacity)) | 10,000 |
/// | failed sign-ins per identifier before Clerk is spared ([`with_failure_throttle`](Self::with_failure_throttle)) | 5 in 15 min |
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
#[derive(Clone)]
pub struct ClerkBasicAuthConfig {
    pub(crate) frontend_api: String,
    pub(crate) http_client: reqwest::Client,
    pub(crate) token_path: String,
    pub(crate) organization: Option<String>,
    pub(crate) jwt_template: Option<String>,
    pub(crate) http_timeout: Duration,
    pub(crate) max_body_size: usize,
    pub(crate) form_encoded_credentials: bool,
    pub(crate) realm: String,
    pub(crate) refresh_margin: Duration,
    pub(crate) session_capacity: usize,
    pub(crate) failure_limit: u32,
    pub(crate) failure_window: Duration,
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
        let frontend_api = normalise_frontend_api(frontend_api_url.as_ref())?;
        let http_client = default_http_client()?;
        Ok(Self {
            frontend_api,
            http_client,
            token_path: "/auth/token".to_owned(),
            organization: None,
            jwt_template: None,
            http_timeout: Duration::from_secs(10),
            max_body_size: 16 * 1024,
            form_encoded_credentials: false,
            realm: "clerk-basic-auth".to_owned(),
            refresh_margin: Duration::from_secs(15),
            session_capacity: 10_000,
            failure_limit: 5,
            failure_window: Duration::from_secs(15 * 60),
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
        let host = decode_publishable_key(publishable_key.as_ref())?;
        Self::new(format!("https://{host}"))
    }

    /// A configuration from the environment:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `CLERK_FRONTEND_API_URL` | the Frontend API URL (wins over the publishable key) |
    /// | `CLERK_PUBLISHABLE_KEY` | a publishable key, used when no URL is set |
    /// | `CLERK_ORGANIZATION_ID` | optional: organization id or slug to activate |
    /// | `CLERK_JWT_TEMPLATE` | optional: JWT template name for the access tokens |
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
        Ok(config)
    }

    /// The Frontend API URL every Clerk call goes to, without a trailing slash. It is also the
    /// issuer (`iss`) of the tokens Clerk signs.
    pub fn frontend_api_url(&self) -> &str {
        &self.frontend_api
    }

    /// Serve the token endpoint at `path` instead of `/auth/token`. A missing leading `/` is added.
    pub fn with_token_path(mut self, path: impl Into<String>) -> Self {
        self.token_path = absolute_path(path.into());
        self
    }

    /// Activate this organization (id `org_...` or slug) on every session, so the access tokens
    /// carry it. Default: none, the tokens carry the user's personal account.
    pub fn with_organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// Hand out tokens of this Clerk JWT template instead of the session token. Template tokens
    /// have the lifetime and claims set in the Clerk dashboard. Default: the session token.
    pub fn with_jwt_template(mut self, template: impl Into<String>) -> Self {
        self.jwt_template = Some(template.into());
        self
    }

    /// Bound each call to Clerk (connect, send, answer) by `timeout`. Default: 10 s.
    pub fn with_http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Refuse token request bodies above `bytes` with `413 Payload Too Large`. Default: 16 KiB.
    pub fn with_max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }

    /// Form-decode the Basic user name and password before use, as RFC 6749 §2.3.1 asks of
    /// OAuth clients (`%3A` becomes `:`, `+` a space). Default: off, the credentials are taken as
    /// sent (RFC 7617), which is what iLEAP and PACT clients do; turn it on only if your clients
    /// encode.
    pub fn with_form_encoded_credentials(mut self, enabled: bool) -> Self {
        self.form_encoded_credentials = enabled;
        self
    }

    /// The realm named in `WWW-Authenticate: Basic realm="..."`. Default: `clerk-basic-auth`.
    /// Quotes and backslashes are dropped.
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into().replace(['"', '\\'], "");
        self
    }

    /// Hand out a cached token only while it has more than `margin` left; below that, get a fresh
    /// one from the same Clerk session. Default: 15 s, so a client never receives a token that
    /// expires before it can use it.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Keep Clerk sessions for at most `credentials` different credentials (least recently used
    /// are dropped first; at least 1). Default: 10,000.
    pub fn with_session_capacity(mut self, credentials: usize) -> Self {
        self.session_capacity = credentials.max(1);
        self
    }

    /// After `failures` failed sign-ins for one identifier within `window`, answer `429` without
    /// asking Clerk until the window ends, so a misconfigured client cannot spend the user's Clerk
    /// lockout budget (Clerk locks a user for an hour after 10 failures). A success resets the
    /// count. Default: 5 in 15 minutes. `failures` of 0 is taken as 1.
    pub fn with_failure_throttle(mut self, failures: u32, window: Duration) -> Self {
        self.failure_limit = failures.max(1);
        self.failure_window = window;
        self
    }

    /// Talk to Clerk through this client instead of the built-in one (e.g. for a proxy or extra
    /// root certificates). Keep redirects off: Clerk's API never redirects.
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = client;
        self
    }
}

impl fmt::Debug for ClerkBasicAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkBasicAuthConfig")
            .field("frontend_api", &self.frontend_api)
            .field("token_path", &self.token_path)
            .field("organization", &self.organization)
            .field("jwt_template", &self.jwt_template)
            .field("http_timeout", &self.http_timeout)
            .field("max_body_size", &self.max_body_size)
            .field("form_encoded_credentials", &self.form_encoded_credentials)
            .field("realm", &self.realm)
            .field("refresh_margin", &self.refresh_margin)
            .field("session_capacity", &self.session_capacity)
            .field("failure_limit", &self.failure_limit)
            .field("failure_window", &self.failure_window)
            .finish_non_exhaustive()
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
    /// The HTTP client for Clerk could not be built.
    HttpClient(reqwest::Error),
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
            Self::HttpClient(error) => write!(f, "cannot build the HTTP client for Clerk: {error}"),
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

fn default_http_client() -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .user_agent(concat!("clerk-basic-auth/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(ConfigError::HttpClient)
}

fn normalise_frontend_api(raw: &str) -> Result<String, ConfigError> {
    let invalid = |reason| ConfigError::InvalidFrontendApiUrl { url: raw.to_owned(), reason };
    let url = Url::parse(raw.trim()).map_err(|_| invalid("not an absolute URL"))?;
    let host = url.host_str().ok_or_else(|| invalid("no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => return Err(invalid("must use https:// (http:// is allowed for loopback hosts only)")),
        _ => return Err(invalid("must use https://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry user info"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not carry a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `localhost` or a loopback address (`127.0.0.0/8`, `[::1]`).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The Frontend API host a publishable key carries: `pk_(test|live)_` + base64(`<host>$`).
fn decode_publishable_key(key: &str) -> Result<String, ConfigError> {
    let invalid = |reason| ConfigError::InvalidPublishableKey { reason };
    let encoded = key
        .trim()
        .strip_prefix("pk_test_")
        .or_else(|| key.trim().strip_prefix("pk_live_"))
        .ok_or_else(|| invalid("must start with pk_test_ or pk_live_"))?;
    let decoded = STANDARD_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| invalid("the part after the prefix is not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid("does not decode to text"))?;
    let host = decoded.strip_suffix('$').ok_or_else(|| invalid("does not decode to a host followed by '$'"))?;
    if host.is_empty() || host.contains(['$', '/', '?', '#', '@']) || host.contains(char::is_whitespace) {
        return Err(invalid("does not decode to a host name"));
    }
    Ok(host.to_owned())
}

fn absolute_path(path: String) -> String {
    if path.starts_with('/') { path } else { format!("/{path}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn pk(prefix: &str, payload: &str) -> String {
        format!("{prefix}{}", STANDARD.encode(payload))
    }

    #[test]
    fn publishable_key_decodes_with_and_without_padding() {
        // "clerk.example.com$" is 18 bytes: base64 pads it with "==".
        let padded = pk("pk_live_", "clerk.example.com$");
        assert!(padded.ends_with("=="));
        assert_eq!(decode_publishable_key(&padded).unwrap(), "clerk.example.com");
        assert_eq!(decode_publishable_key(padded.trim_end_matches('=')).unwrap(), "clerk.example.com");
        let dev = pk("pk_test_", "happy-hippo-1.clerk.accounts.dev$");
        assert_eq!(decode_publishable_key(&dev).unwrap(), "happy-hippo-1.clerk.accounts.dev");
    }

    #[test]
    fn publishable_key_errors_are_specific() {
        let reason = |key: &str| match decode_publishable_key(key) {
            Err(ConfigError::InvalidPublishableKey { reason }) => reason,
            other => panic!("expected an error, got {other:?}"),
        };
        assert!(reason("sk_test_abc").contains("pk_test_"));
        assert!(reason("pk_test_!!!").contains("base64"));
        assert!(reason(&pk("pk_test_", "clerk.example.com")).contains("'$'"));
        assert!(reason(&pk("pk_test_", "clerk.example.com$$")).contains("host"));
        assert!(reason(&pk("pk_test_", "$")).contains("host"));
        assert!(reason(&format!("pk_test_{}", STANDARD.encode([0xff, 0xfe, b'$']))).contains("text"));
    }

    #[test]
    fn frontend_api_must_be_https_unless_loopback() {
        assert_eq!(normalise_frontend_api("https://clerk.example.com/").unwrap(), "https://clerk.example.com");
        assert_eq!(normalise_frontend_api("https://example.com/__clerk/").unwrap(), "https://example.com/__clerk");
        assert_eq!(normalise_frontend_api("http://127.0.0.1:4000").unwrap(), "http://127.0.0.1:4000");
        assert_eq!(normalise_frontend_api("http://localhost:4000").unwrap(), "http://localhost:4000");
        assert_eq!(normalise_frontend_api("http://[::1]:4000").unwrap(), "http://[::1]:4000");
        for bad in [
            "http://clerk.example.com",
            "http://127.0.0.1.example.com",
            "ftp://clerk.example.com",
            "clerk.example.com",
            "https://user:pw@clerk.example.com",
            "https://clerk.example.com/?x=1",
            "https://clerk.example.com/#x",
            "",
        ] {
            assert!(
                matches!(normalise_frontend_api(bad), Err(ConfigError::InvalidFrontendApiUrl { .. })),
                "{bad:?} should be refused"
            );
        }
    }

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
        assert_eq!(config.organization.as_deref(), Some("org_1"));
        assert_eq!(config.jwt_template, None);

        let config = ClerkBasicAuthConfig::from_lookup(env(&[
            (ENV_FRONTEND_API_URL, " "),
            (ENV_PUBLISHABLE_KEY, "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k"),
            (ENV_JWT_TEMPLATE, "pact"),
        ]))
        .unwrap();
        assert_eq!(config.frontend_api_url(), "https://clerk.example.com");
        assert_eq!(config.jwt_template.as_deref(), Some("pact"));

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
        assert_eq!(config.token_path, "/oauth/token");
        assert_eq!(config.realm, "my realm");
    }
}
