//! The Clerk Frontend API client: sign-in (password or ticket), organization activation, token
//! minting and the JWKS, in Clerk's native mode (`_is_native=1`, client token in
//! `Authorization`), as clerk-ios, clerk-android and clerk-expo speak it.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::call::{self, HttpSettings, malformed, parse_json};
use super::credentials::Credentials;
use super::error::ClerkError;
use super::frontend_api::FrontendApi;
use super::wire::{Envelope, SessionWire, SignInWire, TokenWire};
use crate::clock::from_unix_millis;
use crate::secret::Secret;

/// The Frontend API version whose wire format this client speaks.
const API_VERSION: &str = "2025-11-10";

/// A client of one Clerk instance's Frontend API.
#[derive(Clone)]
pub(crate) struct FapiClient {
    http: reqwest::Client,
    api: FrontendApi,
    timeout: Duration,
}

/// A session Clerk created or refreshed, with its current token if Clerk sent one
/// (`last_active_token` may be `null`: then ask `/tokens`).
#[derive(Debug, Clone)]
pub(crate) struct ClerkSession {
    pub(crate) id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) jwt: Option<Secret>,
    pub(crate) expires_at: Option<SystemTime>,
    pub(crate) active_organization_id: Option<String>,
}

/// A completed sign-in: the native client token and the session it created.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    pub(crate) client_token: Secret,
    pub(crate) session: ClerkSession,
}

/// What an answer says of the native client token (its `Authorization` response header).
#[derive(Debug, Clone)]
pub(crate) enum ClientToken {
    /// No header: keep the token.
    Unchanged,
    /// A new token (Clerk rotates them): use it from now on.
    Rotated(Secret),
    /// An empty value or a bare `Bearer`: Clerk dropped the client (clerk-ios reads it so).
    Cleared,
}

/// A successful answer to a call made with a client token.
#[derive(Debug)]
pub(crate) struct Reply<T> {
    pub(crate) value: T,
    pub(crate) client_token: ClientToken,
}

impl FapiClient {
    pub(crate) fn new(api: FrontendApi, settings: &HttpSettings) -> Self {
        Self { http: settings.http_client.clone(), api, timeout: settings.timeout }
    }

    /// `POST /v1/client/sign_ins` with the password strategy, as a new native client.
    pub(crate) async fn sign_in(&self, credentials: &Credentials) -> Result<SignedIn, ClerkError> {
        let form =
            [("strategy", "password"), ("identifier", credentials.identifier()), ("password", credentials.password())];
        self.sign_in_with(&form).await
    }

    /// `POST /v1/client/sign_ins` with the ticket strategy (a Backend API sign-in token), as a new
    /// native client.
    pub(crate) async fn sign_in_with_ticket(&self, ticket: &Secret) -> Result<SignedIn, ClerkError> {
        self.sign_in_with(&[("strategy", "ticket"), ("ticket", ticket.expose())]).await
    }

    async fn sign_in_with(&self, form: &[(&str, &str)]) -> Result<SignedIn, ClerkError> {
        let (headers, body) = self.post(&["v1", "client", "sign_ins"], None, &[], form).await?;
        let ClientToken::Rotated(client_token) = client_token_of(&headers) else {
            return Err(malformed("no client token in the Authorization response header (is the Native API enabled?)"));
        };
        let envelope: Envelope<SignInWire> = parse_json(&body, "sign-in")?;
        let sign_in = envelope.response;
        if sign_in.status != "complete" {
            return Err(ClerkError::SignInIncomplete { status: sign_in.status });
        }
        let session_id =
            sign_in.created_session_id.ok_or_else(|| malformed("a complete sign-in without created_session_id"))?;
        let session = envelope
            .client
            .and_then(|client| client.sessions.into_iter().find(|session| session.id == session_id))
            .ok_or_else(|| malformed("the created session is not among the client's sessions"))?;
        Ok(SignedIn { client_token, session: session.into() })
    }

    /// `POST /v1/client/sessions/{id}/touch` with `active_organization_id`: makes the organization
    /// (id or slug) active and returns the session with a token that carries it.
    pub(crate) async fn activate_organization(
        &self,
        client_token: &Secret,
        session_id: &str,
        organization: &str,
    ) -> Result<Reply<ClerkSession>, ClerkError> {
        let form = [("active_organization_id", organization)];
        let path = ["v1", "client", "sessions", session_id, "touch"];
        let (headers, body) = self.post(&path, Some(client_token), &[], &form).await?;
        let envelope: Envelope<SessionWire> = parse_json(&body, "touch")?;
        Ok(Reply { value: envelope.response.into(), client_token: client_token_of(&headers) })
    }

    /// `POST /v1/client/sessions/{id}/tokens[/{template}]`: a fresh token from the session.
    /// `organization_id` (session tokens only; the template endpoint takes no body) pins the
    /// organization the token carries; `expired_token` is the last token, sent (as clerk-js does)
    /// when Clerk's outage mode asked for it.
    pub(crate) async fn create_token(
        &self,
        client_token: &Secret,
        session_id: &str,
        template: Option<&str>,
        organization_id: Option<&str>,
        expired_token: Option<&Secret>,
    ) -> Result<Reply<Secret>, ClerkError> {
        let mut path = vec!["v1", "client", "sessions", session_id, "tokens"];
        let mut form = Vec::new();
        match (template, organization_id) {
            (Some(template), _) => path.push(template),
            (None, Some(organization_id)) => form.push(("organization_id", organization_id)),
            (None, None) => {}
        }
        let query: Vec<_> = expired_token.map(|jwt| ("expired_token", jwt.expose())).into_iter().collect();
        let (headers, body) = self.post(&path, Some(client_token), &query, &form).await?;
        let token: TokenWire = parse_json(&body, "token")?;
        Ok(Reply { value: token.jwt, client_token: client_token_of(&headers) })
    }

    /// `POST /v1/client/sessions/{id}/end`: ends a session the layer no longer uses (its
    /// password changed, or a new session replaced it). A failure is only logged: Clerk ends
    /// unused sessions on its own in the end.
    pub(crate) async fn end_session(&self, client_token: &Secret, session_id: &str) {
        let path = ["v1", "client", "sessions", session_id, "end"];
        if let Err(error) = self.post(&path, Some(client_token), &[], &[]).await {
            tracing::info!(session_id, %error, "Clerk did not end a replaced session");
        }
    }

    /// `GET /.well-known/jwks.json`: Clerk's public signing keys, as published.
    pub(crate) async fn jwks(&self) -> Result<Bytes, ClerkError> {
        let request =
            self.http.get(self.api.jwks_url()).timeout(self.timeout).header(http::header::ACCEPT, "application/json");
        let (_, body) = call::send(request, "fapi_jwks").await?;
        Ok(body)
    }

    async fn post(
        &self,
        segments: &[&str],
        client_token: Option<&Secret>,
        query: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Result<(HeaderMap, Bytes), ClerkError> {
        let mut url = self.api.url_of(segments);
        url.query_pairs_mut()
            .append_pair("_is_native", "1")
            .append_pair("__clerk_api_version", API_VERSION)
            .extend_pairs(query);
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = self
            .http
            .post(url)
            .timeout(self.timeout)
            // Native mode: the client token, or an empty value for "no client yet". Never an Origin.
            .header(AUTHORIZATION, client_token.map_or("", Secret::expose))
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(http::header::ACCEPT, "application/json")
            .body(body);
        let call = match segments.last() {
            Some(&"sign_ins") => "fapi_sign_in",
            Some(&"touch") => "fapi_touch",
            Some(&"end") => "fapi_end",
            _ => "fapi_tokens",
        };
        call::send(request, call).await
    }
}

/// The client token an answer carries, sent back verbatim on later calls.
fn client_token_of(headers: &HeaderMap) -> ClientToken {
    let Some(value) = headers.get(AUTHORIZATION) else { return ClientToken::Unchanged };
    match value.to_str().map(str::trim) {
        Ok("") => ClientToken::Cleared,
        Ok(bare) if bare.eq_ignore_ascii_case("bearer") => ClientToken::Cleared,
        Ok(token) => ClientToken::Rotated(Secret::new(token)),
        Err(_) => ClientToken::Unchanged,
    }
}

impl From<SessionWire> for ClerkSession {
    fn from(session: SessionWire) -> Self {
        Self {
            id: session.id,
            user_id: session.user.map(|user| user.id),
            jwt: session.last_active_token.map(|token| token.jwt),
            expires_at: session.expire_at.map(from_unix_millis),
            active_organization_id: session.last_active_organization_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn an_empty_or_bare_bearer_client_token_clears_the_client() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
            client_token_of(&headers)
        };
        assert!(matches!(client_token_of(&HeaderMap::new()), ClientToken::Unchanged));
        assert!(matches!(with(""), ClientToken::Cleared));
        assert!(matches!(with("Bearer"), ClientToken::Cleared));
        assert!(matches!(with(" bearer "), ClientToken::Cleared));
        assert!(matches!(with("Bearer eyJ.a.b"), ClientToken::Rotated(token) if token.expose() == "Bearer eyJ.a.b"));
        assert!(matches!(with("eyJ.a.b"), ClientToken::Rotated(token) if token.expose() == "eyJ.a.b"));
    }
}
