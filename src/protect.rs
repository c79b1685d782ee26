//! Admission to a protected route: bearer token, verification, access rules, and the refusal.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};

use crate::authorize::{AccessRule, check_rules};
use crate::claims::ClerkClaims;
use crate::config::ClerkBasicAuthConfig;
use crate::rejection::ErrorStyle;
use crate::verify::{AuthError, Verdict, Verifier, bearer_token};

/// What to do with a request to a protected route.
pub(crate) enum Admission {
    /// Let it in, with the claims of its token (none in optional-auth mode without a token).
    Admit(Option<ClerkClaims>),
    Refuse(AuthError),
    /// Its token names a key not at hand: finish with [`Protection::admit_fetching_keys`].
    FetchKeys(String),
}

/// The protection of one layer's protected routes.
pub(crate) struct Protection {
    verifier: Arc<Verifier>,
    rules: Vec<AccessRule>,
    style: ErrorStyle,
    realm: String,
    optional: bool,
}

impl Protection {
    pub(crate) fn new(config: &ClerkBasicAuthConfig, verifier: Arc<Verifier>) -> Self {
        let mut rules = config.access_rules.clone();
        if let (Some(organization), true) = (&config.organization, config.organization_required) {
            rules.insert(0, AccessRule::for_prefix("/").require_organization(organization.clone()));
        }
        Self {
            verifier,
            rules,
            style: config.error_style.clone(),
            realm: config.realm.clone(),
            optional: config.optional_auth,
        }
    }

    /// Decides with what is at hand, without waiting.
    pub(crate) fn admit(&self, headers: &HeaderMap, path: &str) -> Admission {
        let token = match bearer_token(headers) {
            Ok(Some(token)) => token,
            Ok(None) if self.optional => {
                return match check_rules(&self.rules, path, None) {
                    Ok(()) => Admission::Admit(None),
                    Err(error) => Admission::Refuse(error),
                };
            }
            Ok(None) => return Admission::Refuse(AuthError::MissingToken),
            Err(error) => return Admission::Refuse(error),
        };
        match self.verifier.verify_now(token) {
            Verdict::Verified(claims) => match check_rules(&self.rules, path, Some(&claims)) {
                Ok(()) => Admission::Admit(Some(claims)),
                Err(error) => Admission::Refuse(error),
            },
            Verdict::Refused(error) => Admission::Refuse(error),
            Verdict::NeedsKeys => Admission::FetchKeys(token.to_owned()),
        }
    }

    /// Decides a [`Admission::FetchKeys`] request once Clerk's keys are fetched.
    pub(crate) async fn admit_fetching_keys(
        self: Arc<Self>,
        token: String,
        path: String,
    ) -> Result<ClerkClaims, AuthError> {
        let claims = Arc::clone(&self.verifier).verify_fetching_keys(token).await?;
        check_rules(&self.rules, &path, Some(&claims))?;
        Ok(claims)
    }

    /// The answer to a refused request.
    pub(crate) fn refuse<B>(&self, error: &AuthError, request: Request<B>) -> Response<Bytes> {
        let (parts, _body) = request.into_parts();
        tracing::debug!(path = parts.uri.path(), %error, "request refused");
        self.style.respond(error, &parts, &self.realm)
    }
}
