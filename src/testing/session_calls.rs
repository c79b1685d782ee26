//! The Frontend API calls on a client's signed-in session: touch (the active organization),
//! fresh session tokens and JWT template tokens.

use super::api_error::ApiError;
use super::claims::{self, TemplateFacts};
use super::minting::Minter;
use super::records::SessionStatus;
use super::state::State;
use super::time::now_ms;

/// A touch went through: the session `session_id` of the client `client_token` is now the
/// client's last active session.
pub(crate) struct TouchOutcome {
    pub(crate) client_token: String,
    pub(crate) session_id: String,
}

/// A token was minted for the client `client_token`.
pub(crate) struct MintedToken {
    pub(crate) client_token: String,
    pub(crate) jwt: String,
}

impl State {
    /// Finds the session `session_id` of the client `client_token`, still signed in.
    fn owned_session(&mut self, client_token: &str, session_id: &str) -> Result<(), ApiError> {
        let client = self.client(client_token).ok_or(ApiError::AuthenticationInvalid)?;
        let client_id = client.id.clone();
        let session = self
            .sessions
            .get_mut(session_id)
            .filter(|session| session.client_id == client_id)
            .ok_or_else(|| ApiError::SessionNotFound { session_id: session_id.to_owned() })?;
        if session.status.is_signed_in() && session.expire_at <= now_ms() {
            session.status = SessionStatus::Expired;
        }
        if session.status.is_signed_in() { Ok(()) } else { Err(ApiError::AuthenticationInvalid) }
    }

    /// Resolves an organization for `session_id`'s user: `Ok(None)` for the personal account
    /// (empty value), an error when it does not exist or the user is not a member.
    fn resolve_org(&self, session_id: &str, value: &str, allow_slug: bool) -> Result<Option<String>, ApiError> {
        if value.is_empty() {
            return Ok(None);
        }
        let user_id = &self.sessions[session_id].user_id;
        let org = self
            .orgs
            .iter()
            .find(|org| org.id == value || (allow_slug && org.slug == value))
            .ok_or(ApiError::OrganizationNotFound)?;
        self.user_by_id(user_id)
            .and_then(|record| record.user.role_in(&org.id))
            .ok_or(ApiError::OrganizationNotFound)?;
        Ok(Some(org.id.clone()))
    }

    /// `POST /v1/client/sessions/{id}/touch`: sets the active organization (id or slug; empty:
    /// personal account; absent: unchanged) and mints a token into `last_active_token`.
    pub(crate) fn touch(
        &mut self,
        client_token: &str,
        session_id: &str,
        active_organization_id: Option<&str>,
        minter: &Minter,
    ) -> Result<TouchOutcome, ApiError> {
        self.owned_session(client_token, session_id)?;
        let org = active_organization_id.map(|value| self.resolve_org(session_id, value, true)).transpose()?;
        let now = now_ms();
        let session = self.sessions.get_mut(session_id).expect("session exists");
        if let Some(org) = org {
            if org.is_some() {
                session.tasks.retain(|task| task != "choose-organization");
                if session.tasks.is_empty() {
                    session.status = SessionStatus::Active;
                }
            }
            session.active_org = org;
        }
        session.last_active_at = now;
        session.updated_at = now;
        self.refresh_session_token(session_id, minter);
        let client = self.clients.get_mut(client_token).expect("client exists");
        client.last_active_session_id = Some(session_id.to_owned());
        client.updated_at = now;
        Ok(TouchOutcome { client_token: client_token.to_owned(), session_id: session_id.to_owned() })
    }

    /// `POST /v1/client/sessions/{id}/tokens`: a fresh session token; `organization_id` (an id,
    /// not a slug) switches the active organization first (empty: personal account).
    pub(crate) fn session_token(
        &mut self,
        client_token: &str,
        session_id: &str,
        organization_id: Option<&str>,
        minter: &Minter,
    ) -> Result<MintedToken, ApiError> {
        self.owned_session(client_token, session_id)?;
        let org = organization_id.map(|value| self.resolve_org(session_id, value, false)).transpose()?;
        let session = self.sessions.get_mut(session_id).expect("session exists");
        if let Some(org) = org {
            session.active_org = org;
        }
        session.last_active_at = now_ms();
        let jwt = self.refresh_session_token(session_id, minter);
        Ok(MintedToken { client_token: client_token.to_owned(), jwt })
    }

    /// `POST /v1/client/sessions/{id}/tokens/{template}`: a JWT template token for the
    /// session's user and active organization.
    pub(crate) fn template_token(
        &mut self,
        client_token: &str,
        session_id: &str,
        template_name: &str,
        minter: &Minter,
    ) -> Result<MintedToken, ApiError> {
        self.owned_session(client_token, session_id)?;
        let template = self
            .config
            .templates
            .get(template_name)
            .ok_or_else(|| ApiError::TemplateNotFound { name: template_name.to_owned() })?;
        let session = &self.sessions[session_id];
        let record = self
            .user_by_id(&session.user_id)
            .ok_or_else(|| ApiError::SessionNotFound { session_id: session_id.to_owned() })?;
        let claims = claims::template_claims(
            &template.claims,
            &TemplateFacts {
                issuer: &minter.issuer,
                user: &record.user,
                now_secs: now_ms() / 1000,
                lifetime: template.lifetime,
                org: self.active_org(&record.user, session.active_org.as_deref()),
            },
        );
        Ok(MintedToken { client_token: client_token.to_owned(), jwt: minter.sign(&claims) })
    }
}
