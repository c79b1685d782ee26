//! Minting session tokens from the state: the session as it stands (user, active organization,
//! pending tasks), or a user and organization outside any client.

use std::sync::Arc;

use serde_json::Value;

use super::claims::{self, ActiveOrg, SessionFacts, TemplateFacts};
use super::config::Template;
use super::fixtures::FakeUser;
use super::ids;
use super::keys::{Category, SigningKey};
use super::records::SessionStatus;
use super::state::State;
use super::time::now_ms;

/// The issuer and the current key, for minting tokens.
pub(crate) struct Minter {
    pub(crate) issuer: String,
    pub(crate) key: Arc<SigningKey>,
}

impl Minter {
    /// Signs session token `claims` under Clerk's header (`cat` of a session token) with the
    /// current key.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.key.sign(&self.key.clerk_header(Category::Session), claims)
    }

    /// Signs JWT template token `claims` (`cat` of a template token).
    pub(crate) fn sign_template(&self, claims: &Value) -> String {
        self.key.sign(&self.key.clerk_header(Category::Template), claims)
    }

    /// A token of `template` for `user`, with `org` active, issued now.
    pub(crate) fn template_token(&self, template: &Template, user: &FakeUser, org: Option<ActiveOrg<'_>>) -> String {
        let facts =
            TemplateFacts { issuer: &self.issuer, user, now_secs: now_ms() / 1000, lifetime: template.lifetime, org };
        self.sign_template(&claims::template_claims(&template.claims, &facts))
    }

    /// Signs machine-to-machine token `claims` (`cat` of an M2M token).
    pub(crate) fn sign_machine(&self, claims: &Value) -> String {
        self.key.sign(&self.key.clerk_header(Category::Machine), claims)
    }
}

impl State {
    /// The organization `org_id` with the user's role in it, if it exists and the user is a member.
    pub(crate) fn active_org<'a>(&'a self, user: &'a FakeUser, org_id: Option<&str>) -> Option<ActiveOrg<'a>> {
        let org = self.org_by_id(org_id?)?;
        let role = user.role_in(&org.id)?;
        Some(ActiveOrg { org, role })
    }

    /// Mints a v2 session token for `session_id` and keeps it as the session's last active
    /// token.
    pub(crate) fn refresh_session_token(&mut self, session_id: &str, minter: &Minter) -> String {
        let jwt = self.mint_session_token(session_id, minter);
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.last_token = Some(jwt.clone());
        }
        jwt
    }

    /// Mints a v2 session token for `session_id` as it stands.
    fn mint_session_token(&self, session_id: &str, minter: &Minter) -> String {
        let session = &self.sessions[session_id];
        let now = now_ms();
        let user = self.user_by_id(&session.user_id).map(|record| &record.user);
        let claims = claims::session_claims(&SessionFacts {
            issuer: &minter.issuer,
            user_id: &session.user_id,
            session_id: &session.id,
            now_secs: now / 1000,
            lifetime: self.config.token_lifetime,
            first_factor_age_minutes: now.saturating_sub(session.created_at) / 60_000,
            pending: session.status == SessionStatus::Pending,
            org: user.and_then(|user| self.active_org(user, session.active_org.as_deref())),
        });
        minter.sign(&claims)
    }

    /// A v2 session token for `user_id` (and `org_id`) outside any client: a fresh `sid` that
    /// no FAPI route knows.
    ///
    /// # Panics
    /// If `org_id` is unknown or `user_id` (a known user) is not a member of it.
    pub(crate) fn direct_session_token(&self, user_id: &str, org_id: Option<&str>, minter: &Minter) -> String {
        let user = self.user_by_id(user_id).map(|record| &record.user);
        let org = org_id.map(|org_id| {
            let org = self.org_by_id(org_id).unwrap_or_else(|| panic!("FakeClerk knows no organization {org_id:?}"));
            let role = user
                .and_then(|user| user.role_in(org_id))
                .unwrap_or_else(|| panic!("user {user_id:?} is not a member of {org_id:?}"));
            ActiveOrg { org, role }
        });
        let session_id = ids::clerk_id("sess");
        let claims = claims::session_claims(&SessionFacts {
            issuer: &minter.issuer,
            user_id,
            session_id: &session_id,
            now_secs: now_ms() / 1000,
            lifetime: self.config.token_lifetime,
            first_factor_age_minutes: 0,
            pending: user.is_some_and(|user| !user.pending_tasks.is_empty()),
            org,
        });
        minter.sign(&claims)
    }
}

impl State {
    /// A JWT template token of `template_name` for `user_id` (and `org_id`), outside any
    /// session.
    ///
    /// # Panics
    /// If the template or the user is unknown, or `org_id` is unknown or not one of the user's.
    pub(crate) fn direct_template_token(
        &self,
        template_name: &str,
        user_id: &str,
        org_id: Option<&str>,
        minter: &Minter,
    ) -> String {
        let template = self
            .config
            .templates
            .get(template_name)
            .unwrap_or_else(|| panic!("FakeClerk knows no JWT template {template_name:?}"));
        let record = self.user_by_id(user_id).unwrap_or_else(|| panic!("FakeClerk knows no user {user_id:?}"));
        let org = org_id.map(|org_id| {
            self.active_org(&record.user, Some(org_id))
                .unwrap_or_else(|| panic!("{org_id:?} is unknown or user {user_id:?} is not a member"))
        });
        minter.template_token(template, &record.user, org)
    }
}

/// The claims of a machine-to-machine JWT: `sub` is the machine (`mch_...`), `jti` an `mt_` id,
/// an hour's lifetime, no `sid`.
pub(crate) fn machine_claims(machine_id: &str, issuer: &str) -> Value {
    let now = now_ms() / 1000;
    serde_json::json!({
        "aud": [],
        "exp": now + 3600,
        "iat": now,
        "iss": issuer,
        "jti": format!("mt_{}", ids::hex(32)),
        "nbf": now.saturating_sub(5),
        "scopes": "",
        "sub": machine_id,
    })
}
