//! A string that never shows itself: passwords, Clerk client tokens and JWTs.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer};

/// A secret string. `Debug` prints `Secret(..)`, there is no `Display`, and the only way to read
/// the value is [`Secret::expose`], so a secret reaches a log line or an error body only by an
/// explicit, greppable call.
///
/// Cloning is cheap (the text is shared), so a token handed to many callers is not copied.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(Arc<str>);

impl Secret {
    pub(crate) fn new(value: impl Into<Arc<str>>) -> Self {
        Self(value.into())
    }

    /// The secret text. Call it only where the value leaves for its destination (a request header,
    /// a response body, a key derivation), never for logging.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(Secret(..))");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn deserializes_from_a_json_string() {
        let secret: Secret = serde_json::from_str("\"eyJ.x.y\"").unwrap();
        assert_eq!(secret.expose(), "eyJ.x.y");
    }
}
