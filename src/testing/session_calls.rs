//! The Frontend API calls on a client's signed-in session: touch (the active organization),
//! fresh session tokens and JWT template tokens; Clerk's outage mode on the token calls, and the
//! client token each successful call answers with (rotated, or empty when the client is
//! dropped).

use super::api_error::ApiError;
use super::ids;
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
    /// Finds the session `session_id` of the client `client_token`, still signed in: an unknown
    /// client is 401 `authentication_invalid`, a session of another client 404, a session that
    /// was revoked, ended or has expired 401 `signed_out`.
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
        if session.status.is_signed_in() { Ok(()) } else { Err(ApiError::SignedOut) }
    }

    /// Clerk's outage mode: a token call must carry the session's last token (the session token
    /// last minted, never a template token) as `expired_token`. `Ok(true)` when it did, in
    /// outage mode; every other call in outage mode is refused and counted.
    fn check_outage(&mut self, session_id: &str, expired_token: Option<&str>) -> Result<bool, ApiError> {
        if !self.toggles.outage_mode {
            return Ok(false);
        }
        let last = self.sessions[session_id].last_token.as_deref();
        if expired_token.is_some() && expired_token == last {
            Ok(true)
        } else {
            self.stats.outage_refusals += 1;
            Err(ApiError::MissingExpiredToken)
        }
    }

    /// The client token a successful call on a session answers with: the same, a new one every
    /// [`client_token_rotation`](super::FakeClerkBuilder::client_token_rotation) calls (the old
    /// one is refused from then on), or empty when clients are being dropped (the client and its
    /// sessions end).
    fn answer_client_token(&mut self, client_token: &str) -> String {
        if self.toggles.drop_clients {
            self.drop_client(client_token);
            return String::new();
        }
        let every = self.config.client_token_rotation;
        let Some(client) = self.clients.get_mut(client_token) else {
            return client_token.to_owned();
        };
        client.calls_since_rotation += 1;
        if every == 0 || client.calls_since_rotation < every {
            return client_token.to_owned();
        }
        let mut client = self.clients.remove(client_token).expect("client exists");
        let token = ids::client_token();
        client.calls_since_rotation = 0;
        client.token.clone_from(&token);
        self.clients.insert(token.clone(), client);
        self.handed_out.push(token.clone());
        self.stats.client_token_rotations += 1;
        token
    }

    /// Forgets the client `client_token`; its signed-in sessions end.
    fn drop_client(&mut self, client_token: &str) {
        let Some(client) = self.clients.remove(client_token) else { return };
        let now = now_ms();
        for id in &client.session_ids {
            if let Some(session) = self.sessions.get_mut(id).filter(|session| session.status.is_signed_in()) {
                session.status = SessionStatus::Ended;
                session.updated_at = now;
            }
        }
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
        let client_token = self.answer_client_token(client_token);
        Ok(TouchOutcome { client_token, session_id: session_id.to_owned() })
    }

    /// `POST /v1/client/sessions/{id}/end`: the session ends (later calls on it answer 401
    /// `signed_out`); the answer is the ended session and its client, like touch's.
    pub(crate) fn end_session(&mut self, client_token: &str, session_id: &str) -> Result<TouchOutcome, ApiError> {
        self.owned_session(client_token, session_id)?;
        let now = now_ms();
        let session = self.sessions.get_mut(session_id).expect("session exists");
        session.status = SessionStatus::Ended;
        session.updated_at = now;
        let client_token = self.answer_client_token(client_token);
        Ok(TouchOutcome { client_token, session_id: session_id.to_owned() })
    }

    /// `POST /v1/client/sessions/{id}/tokens`: a fresh session token; `organization_id` (an id,
    /// not a slug) switches the active organization first (empty: personal account).
    /// `expired_token` is the query parameter of Clerk's outage mode.
    pub(crate) fn session_token(
        &mut self,
        client_token: &str,
        session_id: &str,
        organization_id: Option<&str>,
        expired_token: Option<&str>,
        minter: &Minter,
    ) -> Result<MintedToken, ApiError> {
        self.owned_session(client_token, session_id)?;
        let from_expired = self.check_outage(session_id, expired_token)?;
        let org = organization_id.map(|value| self.resolve_org(session_id, value, false)).transpose()?;
        let session = self.sessions.get_mut(session_id).expect("session exists");
        if let Some(org) = org {
            session.active_org = org;
        }
        session.last_active_at = now_ms();
        let jwt = self.refresh_session_token(session_id, minter);
        self.stats.expired_token_mints += u64::from(from_expired);
        let client_token = self.answer_client_token(client_token);
        Ok(MintedToken { client_token, jwt })
    }

    /// `POST /v1/client/sessions/{id}/tokens/{template}`: a JWT template token for the
    /// session's user and active organization. In outage mode, `expired_token` must be the
    /// session's last session token.
    pub(crate) fn template_token(
        &mut self,
        client_token: &str,
        session_id: &str,
        template_name: &str,
        expired_token: Option<&str>,
        minter: &Minter,
    ) -> Result<MintedToken, ApiError> {
        self.owned_session(client_token, session_id)?;
        let from_expired = self.check_outage(session_id, expired_token)?;
        let template = self
            .config
            .templates
            .get(template_name)
            .ok_or_else(|| ApiError::TemplateNotFound { name: template_name.to_owned() })?;
        let session = &self.sessions[session_id];
        let record = self
            .user_by_id(&session.user_id)
            .ok_or_else(|| ApiError::SessionNotFound { session_id: session_id.to_owned() })?;
        let jwt =
            minter.template_token(template, &record.user, self.active_org(&record.user, session.active_org.as_deref()));
        self.stats.expired_token_mints += u64::from(from_expired);
        let client_token = self.answer_client_token(client_token);
        Ok(MintedToken { client_token, jwt })
    }
}
