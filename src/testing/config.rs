//! The instance settings fixed when the fake starts: token lifetime, sign-in rate limit, lockout,
//! session mode, Device Trust, enumeration protection, the Native API, client token rotation, the
//! proxy path, the Backend API rate limit and JWT templates.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

/// A JWT template registered on the builder.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    pub(crate) claims: Value,
    pub(crate) lifetime: Duration,
}

/// The instance settings fixed at start.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) token_lifetime: Duration,
    pub(crate) sign_in_limit: u32,
    pub(crate) sign_in_window: Duration,
    pub(crate) lockout_threshold: u32,
    pub(crate) lockout_duration: Duration,
    pub(crate) single_session: bool,
    /// Device Trust (client trust): on, as for applications created after 2025-11-14.
    pub(crate) device_trust: bool,
    /// Enumeration protection: off, as Clerk's default.
    pub(crate) enumeration_protection: bool,
    /// The Native API: on.
    pub(crate) native_api: bool,
    /// A new client token every this many calls on a client's sessions; 0: never. Default 1.
    pub(crate) client_token_rotation: u32,
    /// The path prefix the Frontend API is served under (a proxy), e.g. `/__clerk`.
    pub(crate) proxy_path: Option<String>,
    /// Backend API requests per secret key within the window: 100 per 10 s (development).
    pub(crate) backend_limit: u32,
    pub(crate) backend_window: Duration,
    pub(crate) templates: HashMap<String, Template>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            token_lifetime: Duration::from_secs(60),
            sign_in_limit: 5,
            sign_in_window: Duration::from_secs(10),
            lockout_threshold: 10,
            lockout_duration: Duration::from_secs(3600),
            single_session: false,
            device_trust: true,
            enumeration_protection: false,
            native_api: true,
            client_token_rotation: 1,
            proxy_path: None,
            backend_limit: 100,
            backend_window: Duration::from_secs(10),
            templates: HashMap::new(),
        }
    }
}
