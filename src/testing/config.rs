//! The instance settings fixed when the fake starts: token lifetime, sign-in rate limit, lockout,
//! session mode and JWT templates.

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
            templates: HashMap::new(),
        }
    }
}
