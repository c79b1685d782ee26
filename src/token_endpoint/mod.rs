//! The OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials) that iLEAP and PACT clients
//! call: HTTP Basic credentials and `grant_type=client_credentials` in, a Clerk JWT out, every
//! failure as an RFC 6749 §5.2 JSON error.

mod basic;
mod error;
mod form;
mod response;

use std::sync::Arc;

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{HeaderValue, Method, Request, Response};
use http_body::Body;
use tracing::debug;

use crate::body::Written;
use crate::clerk::credentials::Credentials;
use crate::clerk::sessions::{AccessToken, Sessions};
use error::TokenError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the token endpoint accepts, each with its default.
#[derive(Debug, Clone)]
pub(crate) struct TokenEndpointSettings {
    /// Largest request body. Default: 16 KiB.
    pub(crate) max_body_size: usize,
    /// Form-decode the Basic user name and password (RFC 6749 §2.3.1). Default: off.
    pub(crate) form_encoded_credentials: bool,
    /// The realm of `WWW-Authenticate: Basic`. Default: `clerk-basic-auth`.
    pub(crate) realm: String,
}

impl Default for TokenEndpointSettings {
    fn default() -> Self {
        Self { max_body_size: 16 * 1024, form_encoded_credentials: false, realm: "clerk-basic-auth".to_owned() }
    }
}

/// The token endpoint of one layer.
pub(crate) struct TokenEndpoint {
    sessions: Arc<Sessions>,
    max_body_size: usize,
    form_encoded_credentials: bool,
    challenge: HeaderValue,
}

impl TokenEndpoint {
    pub(crate) fn new(settings: &TokenEndpointSettings, sessions: Sessions) -> Self {
        let challenge = format!("Basic realm=\"{}\", charset=\"UTF-8\"", settings.realm);
        Self {
            sessions: Arc::new(sessions),
            max_body_size: settings.max_body_size,
            form_encoded_credentials: settings.form_encoded_credentials,
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
        match self.check_head(&request) {
            Ok(credentials) => {
                let endpoint = Arc::clone(self);
                let body = request.into_body();
                Written::later(async move {
                    let issued = endpoint.issue(credentials, body).await;
                    endpoint.answer(issued)
                })
            }
            Err(error) => Written::now(self.answer(Err(error))),
        }
    }

    /// Everything that can be refused before the body is read.
    fn check_head<B>(&self, request: &Request<B>) -> Result<Credentials, TokenError> {
        if request.method() != Method::POST {
            return Err(TokenError::MethodNotAllowed);
        }
        let headers = request.headers();
        let credentials =
            basic::credentials(headers, self.form_encoded_credentials).map_err(TokenError::ClientAuthentication)?;
        form::check_content_type(headers)?;
        let declared = headers.get(CONTENT_LENGTH).and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.max_body_size as u64) {
            return Err(TokenError::BodyTooLarge { limit: self.max_body_size });
        }
        Ok(credentials)
    }

    async fn issue<B>(&self, credentials: Credentials, body: B) -> Result<Arc<AccessToken>, TokenError>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let body = form::read_body(body, self.max_body_size).await?;
        form::check_grant_type(&body)?;
        self.sessions.access_token(credentials).await.map_err(TokenError::from)
    }

    fn answer(&self, issued: Result<Arc<AccessToken>, TokenError>) -> Response<Bytes> {
        match issued {
            Ok(token) => response::token_response(&token),
            Err(error) => {
                debug!(%error, "token request refused");
                error.into_response(&self.challenge)
            }
        }
    }
}
