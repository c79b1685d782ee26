//! Why a request to a protected route was refused.

use std::fmt;

/// Why a request to a protected route was refused.
///
/// The layer answers it as the configured [`ErrorStyle`](crate::ErrorStyle) says; a custom
/// handler ([`ErrorStyle::custom`](crate::ErrorStyle::custom)) receives it to build its own
/// response. Its `Display` names the reason and never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization` header.
    MissingToken,
    /// An `Authorization` header that is not `Bearer <token>`.
    NotBearer,
    /// An `Authorization` header above 8 KiB, refused unparsed.
    HeaderTooLarge,
    /// The token is not a well-formed JWT.
    Malformed,
    /// The token is not signed with RS256 (`none`, `HS256` and all others are refused).
    UnsupportedAlgorithm,
    /// The token's `typ` header is present and not `JWT`.
    UnsupportedType,
    /// The token names a signing key (`kid`) Clerk does not publish.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// The token has expired (`exp`, beyond the leeway).
    Expired,
    /// The token is not valid yet (`nbf`, beyond the leeway).
    NotYetValid,
    /// The token was issued in the future (`iat`, beyond the leeway).
    IssuedInFuture,
    /// The token was not issued by the configured Clerk instance (`iss`).
    WrongIssuer,
    /// The token's authorized party (`azp`) is not in the configured allow-list.
    WrongAuthorizedParty,
    /// The token is not a user's session token: a machine (M2M) token, or a JWT template token
    /// where the layer hands out none (Clerk's header `cat`, or a `sub` of `mch_...`).
    NotASessionToken,
    /// A required claim is missing or of the wrong type.
    MissingClaim(&'static str),
    /// The Clerk session is `pending` (`sts`): the user has tasks left before it is active.
    SessionPending,
    /// Clerk's signing keys could not be loaded, so no token can be checked now.
    KeysUnavailable,
    /// The token is valid but does not grant this route (organization, role or permission).
    AccessDenied(String),
}

/// The broad class of an [`AuthError`], which is what decides the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No token at all.
    Missing,
    /// A token that is malformed, forged, from elsewhere or otherwise unacceptable.
    Invalid,
    /// A genuine token past its expiry.
    Expired,
    /// A valid token without the rights the route needs.
    Forbidden,
    /// The layer cannot check tokens right now (Clerk's keys are unavailable).
    Unavailable,
}

impl AuthError {
    /// The broad class of this error.
    ///
    /// ```
    /// use clerk_basic_auth::{AuthError, AuthErrorKind};
    ///
    /// assert_eq!(AuthError::Expired.kind(), AuthErrorKind::Expired);
    /// assert_eq!(AuthError::BadSignature.kind(), AuthErrorKind::Invalid);
    /// ```
    pub fn kind(&self) -> AuthErrorKind {
        match self {
            Self::MissingToken => AuthErrorKind::Missing,
            Self::Expired => AuthErrorKind::Expired,
            Self::AccessDenied(_) => AuthErrorKind::Forbidden,
            Self::KeysUnavailable => AuthErrorKind::Unavailable,
            _ => AuthErrorKind::Invalid,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingToken => f.write_str("an access token is required: send Authorization: Bearer <token>"),
            Self::NotBearer => f.write_str("the Authorization header must use the Bearer scheme"),
            Self::HeaderTooLarge => f.write_str("the Authorization header is too large"),
            Self::Malformed => f.write_str("the access token is not a well-formed JWT"),
            Self::UnsupportedAlgorithm => f.write_str("the access token is not signed with RS256"),
            Self::UnsupportedType => f.write_str("the access token's type is not JWT"),
            Self::UnknownKey => f.write_str("the access token is signed with an unknown key"),
            Self::BadSignature => f.write_str("the access token's signature is invalid"),
            Self::Expired => f.write_str("the access token has expired"),
            Self::NotYetValid => f.write_str("the access token is not valid yet"),
            Self::IssuedInFuture => f.write_str("the access token claims to be issued in the future"),
            Self::WrongIssuer => f.write_str("the access token was not issued by this server's Clerk instance"),
            Self::WrongAuthorizedParty => f.write_str("the access token's authorized party is not allowed"),
            Self::NotASessionToken => f.write_str("the access token is not a session token of this service"),
            Self::MissingClaim(claim) => write!(f, "the access token has no valid {claim} claim"),
            Self::SessionPending => f.write_str("the session behind the access token is pending"),
            Self::KeysUnavailable => f.write_str("the signing keys are unavailable; try again later"),
            Self::AccessDenied(reason) => write!(f, "access denied: {reason}"),
        }
    }
}

impl std::error::Error for AuthError {}
