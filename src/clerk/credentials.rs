//! A user's Clerk identifier and password, as a client presented them.

use std::fmt;

/// A Clerk identifier (e-mail address or username) and a password, held in one buffer as
/// `identifier:password` (one allocation per token request). `Debug` never shows the password.
pub(crate) struct Credentials {
    /// `identifier`, a separator, `password`; the separator is at `split`.
    text: String,
    split: usize,
}

impl Credentials {
    /// `text` is `identifier`, one separator byte at `split`, then `password`.
    pub(crate) fn from_joined(text: String, split: usize) -> Self {
        debug_assert!(text.is_char_boundary(split) && text.is_char_boundary(split + 1));
        Self { text, split }
    }

    /// The identifier: an e-mail address or a username.
    pub(crate) fn identifier(&self) -> &str {
        &self.text[..self.split]
    }

    /// The password. Read it only to send it to Clerk or to derive a key, never to log it.
    pub(crate) fn password(&self) -> &str {
        &self.text[self.split + 1..]
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("identifier", &self.identifier()).field("password", &"..").finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let credentials = Credentials::from_joined("user:hunter2".to_owned(), 4);
        assert_eq!((credentials.identifier(), credentials.password()), ("user", "hunter2"));
        let debug = format!("{credentials:?}");
        assert!(debug.contains("user"));
        assert!(!debug.contains("hunter2"));
    }
}
