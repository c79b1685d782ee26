//! The OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials) that iLEAP and PACT clients
//! call: HTTP Basic credentials and `grant_type=client_credentials` in, a Clerk JWT out, every
//! failure as an RFC 6749 §5.2 JSON error.

pub(crate) mod basic;
pub(crate) mod error;
pub(crate) mod form;
mod response;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response};
use http_body::Body;
use tracing::debug;

use crate::body::Written;
use crate::clerk::credentials::Credentials;
use crate::clerk::sessions::{Handed, Sessions};
use basic::{BasicError, CredentialEncoding};
use error::TokenError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How the client address of a token request is found: for the per-address sign-in limit.
pub(crate) type ClientAddress = Arc<dyn Fn(&Parts) -> Option<IpAddr> + Send + Sync>;

/// What the token endpoint accepts, each with its default.
#[derive(Clone)]
pub(crate) struct TokenEndpointSettings {
    /// Default: a `SocketAddr` in the request extensions (as hyper users insert it); axum's
    /// `ConnectInfo` and forwarded addresses through a function of the user's.
    pub(crate) client_address: ClientAddress,
    /// Largest request body. Default: 16 KiB.
    pub(crate) max_body_size: usize,
    /// How Basic user names and passwords are encoded. Default: told apart per request.
    pub(crate) credential_encoding: CredentialEncoding,
    /// Refused credentials sent with HTTP Basic get 400 (PACT v2's example) instead of RFC 6749
    /// §5.2's 401 with `WWW-Authenticate`. Default: off.
    pub(crate) invalid_client_as_400: bool,
    /// The realm of `WWW-Authenticate: Basic`. Default: `clerk-basic-auth`.
    pub(crate) realm: String,
}

impl Default for TokenEndpointSettings {
    fn default() -> Self {
        Self {
            client_address: Arc::new(|parts: &Parts| parts.extensions.get::<SocketAddr>().map(SocketAddr::ip)),
            max_body_size: 16 * 1024,
            credential_encoding: CredentialEncoding::Auto,
            invalid_client_as_400: false,
            realm: "clerk-basic-auth".to_owned(),
        }
    }
}

impl fmt::Debug for TokenEndpointSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpointSettings")
            .field("max_body_size", &self.max_body_size)
            .field("credential_encoding", &self.credential_encoding)
            .field("invalid_client_as_400", &self.invalid_client_as_400)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

/// The token endpoint of one layer.
pub(crate) struct TokenEndpoint {
    client_address: ClientAddress,
    sessions: Arc<Sessions>,
    max_body_size: usize,
    credential_encoding: CredentialEncoding,
    invalid_client_as_400: bool,
    challenge: HeaderValue,
}

/// Where the client's credentials were.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// `Authorization: Basic` (`client_secret_basic`).
    InHeader,
    /// `client_id` and `client_secret` form parameters (`client_secret_post`).
    InBody,
}

impl TokenEndpoint {
    pub(crate) fn new(settings: &TokenEndpointSettings, sessions: Sessions) -> Self {
        let challenge = format!("Basic realm=\"{}\", charset=\"UTF-8\"", settings.realm);
        Self {
            client_address: Arc::clone(&settings.client_address),
            sessions: Arc::new(sessions),
            max_body_size: settings.max_body_size,
            credential_encoding: settings.credential_encoding,
            invalid_client_as_400: settings.invalid_client_as_400,
            challenge: HeaderValue::try_from(challenge).unwrap_or(HeaderValue::from_static("Basic")),
        }
    }

    /// Answers one token request: at once when its head is refused, otherwise once its body is
    /// read and a token is had.
    pub(crate) fn respond<B>(self: &Arc<Self>, request: Request<B>) -> Written
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        match self.check_head(&parts) {
            Ok(basic) => {
                let endpoint = Arc::clone(self);
                let source = (self.client_address)(&parts);
                Written::later(async move {
                    let sent = if basic.is_some() { Sent::InHeader } else { Sent::InBody };
                    let issued = endpoint.issue(basic, body, source).await;
                    endpoint.answer(issued, sent)
                })
            }
            Err(error) => Written::now(self.answer(Err(error), Sent::InHeader)),
        }
    }

    /// Everything that can be refused before the body is read; the Basic credentials, if any.
    fn check_head(&self, parts: &Parts) -> Result<Option<Credentials>, TokenError> {
        if parts.method != Method::POST {
            return Err(TokenError::MethodNotAllowed);
        }
        let headers = &parts.headers;
        let credentials = match basic::credentials(headers, self.credential_encoding) {
            Ok(credentials) => Some(credentials),
            Err(BasicError::Missing) => None,
            Err(error) => return Err(TokenError::ClientAuthentication(error)),
        };
        form::check_content_type(headers)?;
        let declared = headers.get(CONTENT_LENGTH).and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.max_body_size as u64) {
            return Err(TokenError::BodyTooLarge { limit: self.max_body_size });
        }
        Ok(credentials)
    }

    async fn issue<B>(&self, basic: Option<Credentials>, body: B, source: Option<IpAddr>) -> Result<Handed, TokenError>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let body = form::read_body(body, self.max_body_size).await?;
        let form = form::parse(&body)?;
        let credentials = authenticate(basic, form)?;
        self.sessions.access_token(credentials, source).await.map_err(TokenError::from)
    }

    fn answer(&self, issued: Result<Handed, TokenError>, sent: Sent) -> Response<Bytes> {
        match issued {
            Ok(handed) => response::token_response(&handed),
            Err(error) => {
                debug!(%error, "token request refused");
                let challenged = sent == Sent::InHeader && !self.invalid_client_as_400;
                error.into_response(&self.challenge, challenged)
            }
        }
    }
}

/// The client's credentials, from exactly one method (RFC 6749 §2.3): HTTP Basic, or
/// `client_id` and `client_secret` in the body. A `client_id` in the body next to Basic
/// credentials of the same client is no second method (some clients send both).
fn authenticate(basic: Option<Credentials>, form: form::TokenForm<'_>) -> Result<Credentials, TokenError> {
    match (basic, form.client_id, form.client_secret) {
        (Some(_), _, Some(_)) => Err(TokenError::TwoAuthenticationMethods),
        (Some(basic), Some(id), None) if id != basic.identifier() => Err(TokenError::TwoAuthenticationMethods),
        (Some(basic), _, None) => Ok(basic),
        (None, Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
            Ok(Credentials::from_joined(format!("{id}:{secret}"), id.len()))
        }
        (None, Some(id), _) if id.is_empty() => Err(TokenError::ClientAuthentication(BasicError::EmptyUserName)),
        (None, Some(_), _) => Err(TokenError::ClientAuthentication(BasicError::EmptyPassword)),
        (None, None, _) => Err(TokenError::ClientAuthentication(BasicError::Missing)),
    }
}
