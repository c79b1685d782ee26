//! Admission to a protected route: the bearer token, its verification, the access rules, and the
//! answer to a refusal, decided in one place.

mod rules;
mod style;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};

use crate::auth_error::AuthError;
use crate::auth_header::{self, AuthHeaderError};
use crate::claims::ClerkClaims;
use crate::verify::{Verdict, Verifier};
pub use rules::AccessRule;
use rules::check_rules;
pub use style::ErrorStyle;
pub(crate) use style::{ErrorStyles, keys_unavailable};

/// What the protection of the protected routes does, each with its default.
#[derive(Debug, Clone)]
pub(crate) struct ProtectionSettings {
    /// Organization every token must be for (when `organization_required`). Default: none.
    pub(crate) organization: Option<String>,
    /// Default: on.
    pub(crate) organization_required: bool,
    /// Let requests without a token through (rules permitting). Default: off.
    pub(crate) optional_auth: bool,
    /// Default: [`ErrorStyle::by_route`] for every route, no prefix of its own.
    pub(crate) error_styles: ErrorStyles,
    /// Default: none.
    pub(crate) access_rules: Vec<AccessRule>,
    /// The realm of `WWW-Authenticate: Bearer`. Default: `clerk-basic-auth`.
    pub(crate) realm: String,
}

impl Default for ProtectionSettings {
    fn default() -> Self {
        Self {
            organization: None,
            organization_required: true,
            optional_auth: false,
            error_styles: ErrorStyles::default(),
            access_rules: Vec::new(),
            realm: "clerk-basic-auth".to_owned(),
        }
    }
}

/// The decision on a request to a protected route.
pub(crate) enum Admission<B> {
    /// Let it in: the request, its token's [`ClerkClaims`](crate::ClerkClaims) in its extensions
    /// (none in optional-auth mode without a token).
    Pass(Request<B>),
    /// The finished answer to a refused request.
    Refuse(Response<Bytes>),
    /// Its token names a key not at hand: the decision comes once Clerk's keys are fetched.
    Pending(Pending<B>),
}

/// A decision still to come (it is never `Pending` again).
pub(crate) type Pending<B> = Pin<Box<dyn Future<Output = Admission<B>> + Send>>;

/// The protection of one layer's protected routes.
pub(crate) struct Protection {
    verifier: Arc<Verifier>,
    rules: Vec<AccessRule>,
    styles: ErrorStyles,
    realm: String,
    optional: bool,
}

impl Protection {
    pub(crate) fn new(settings: &ProtectionSettings, verifier: Arc<Verifier>) -> Self {
        let mut rules = settings.access_rules.clone();
        if let (Some(organization), true) = (&settings.organization, settings.organization_required) {
            rules.insert(0, AccessRule::for_prefix("/").require_organization(organization.clone()));
        }
        Self {
            verifier,
            rules,
            styles: settings.error_styles.clone(),
            realm: settings.realm.clone(),
            optional: settings.optional_auth,
        }
    }

    /// Decides on `request`: at once with the keys at hand (no allocation for a remembered
    /// token), or later when its token names a key that must be fetched first.
    pub(crate) fn admit<B: Send + 'static>(self: &Arc<Self>, request: Request<B>) -> Admission<B> {
        let token = match bearer_token(request.headers()) {
            Ok(Some(token)) => token,
            Ok(None) if self.optional => {
                return match check_rules(&self.rules, request.uri().path(), None) {
                    Ok(()) => Admission::Pass(request),
                    Err(error) => Admission::Refuse(self.refuse(&error, request)),
                };
            }
            Ok(None) => return Admission::Refuse(self.refuse(&AuthError::MissingToken, request)),
            Err(error) => return Admission::Refuse(self.refuse(&error, request)),
        };
        let verdict = match self.verifier.verify_now(token) {
            Verdict::Verified(claims) => Ok(claims),
            Verdict::Refused(error) => Err(error),
            Verdict::NeedsKeys => {
                let token = token.to_owned();
                let protection = Arc::clone(self);
                return Admission::Pending(Box::pin(async move {
                    let verdict = Arc::clone(&protection.verifier).verify_fetching_keys(token).await;
                    protection.decide(verdict, request)
                }));
            }
        };
        self.decide(verdict, request)
    }

    /// The access rules on a verified token, then the request with its claims, or the refusal.
    fn decide<B>(&self, verdict: Result<ClerkClaims, AuthError>, mut request: Request<B>) -> Admission<B> {
        let checked = verdict.and_then(|claims| {
            check_rules(&self.rules, request.uri().path(), Some(&claims))?;
            Ok(claims)
        });
        match checked {
            Ok(claims) => {
                request.extensions_mut().insert(claims);
                Admission::Pass(request)
            }
            Err(error) => Admission::Refuse(self.refuse(&error, request)),
        }
    }

    /// The answer to a refused request.
    fn refuse<B>(&self, error: &AuthError, request: Request<B>) -> Response<Bytes> {
        let (parts, _body) = request.into_parts();
        tracing::debug!(path = parts.uri.path(), %error, "request refused");
        crate::telemetry::refused(error.kind());
        self.styles.respond(error, &parts, &self.realm)
    }
}

/// The bearer token of a request: `Ok(None)` when there is no `Authorization` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let token = match auth_header::credentials(headers, b"bearer") {
        Ok(Some(token)) => token,
        Ok(None) => return Ok(None),
        Err(AuthHeaderError::TooLong) => return Err(AuthError::HeaderTooLarge),
        Err(AuthHeaderError::Repeated | AuthHeaderError::OtherScheme) => return Err(AuthError::NotBearer),
    };
    let token = std::str::from_utf8(token.trim_ascii_end()).map_err(|_| AuthError::Malformed)?;
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(Some(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::AUTHORIZATION;

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
        let long = format!("Bearer {}", "a".repeat(auth_header::MAX_LEN));
        assert_eq!(bearer_token(&headers(long.as_bytes())), Err(AuthError::HeaderTooLarge));
        assert_eq!(bearer_token(&headers(b"Bearer \xff\xfe")), Err(AuthError::Malformed));
    }
}
