//! Access rules: an organization, a role or a permission a set of routes requires of the
//! verified token.

use crate::auth_error::AuthError;
use crate::claims::ClerkClaims;

/// A requirement on the verified token for the routes under a path prefix. A request that does
/// not meet every rule whose prefix matches its path is refused with 403 `AccessDenied`.
///
/// Within one rule, [`require_role`](Self::require_role) given several times means any of those
/// roles, and [`require_permission`](Self::require_permission) given several times means all of
/// those permissions. Roles and permissions may be written with or without Clerk's `org:`
/// prefix, and both claim formats (v1 and v2) are understood.
///
/// ```
/// use clerk_basic_auth::{AccessRule, ClerkBasicAuthConfig};
///
/// let config = ClerkBasicAuthConfig::new("https://clerk.example.com")?
///     // Every data route needs a token for the way-demo organization ...
///     .with_access_rule(AccessRule::for_prefix("/2/").require_organization("way-demo"))
///     // ... and events may only be posted by admins who can manage footprints.
///     .with_access_rule(
///         AccessRule::for_prefix("/2/events")
///             .require_role("admin")
///             .require_permission("org:footprints:manage"),
///     );
/// # Ok::<(), clerk_basic_auth::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct AccessRule {
    prefix: String,
    organization: Option<String>,
    roles: Vec<String>,
    permissions: Vec<String>,
}

impl AccessRule {
    /// A rule for every path starting with `prefix` (`/` for all protected routes).
    pub fn for_prefix(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into(), organization: None, roles: Vec::new(), permissions: Vec::new() }
    }

    /// The token must be active for this organization: named by id (`org_...`), it matches the
    /// organization id only; named otherwise, the slug only (so another organization whose slug
    /// equals a configured id is never admitted).
    pub fn require_organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = Some(organization.into());
        self
    }

    /// The user must have this role in the token's organization (or one of the other roles
    /// this rule names).
    pub fn require_role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// The user must have this permission in the token's organization (and every other
    /// permission this rule names).
    pub fn require_permission(mut self, permission: impl Into<String>) -> Self {
        self.permissions.push(permission.into());
        self
    }

    /// Whether the rule applies to a request for `path`. A target that is not a path (`*` of
    /// `OPTIONS *`, an authority) meets every rule.
    pub(crate) fn applies_to(&self, path: &str) -> bool {
        !path.starts_with('/') || path.starts_with(&self.prefix)
    }

    /// Whether `claims` meet this rule; the error says what is missing.
    pub(crate) fn check(&self, claims: &ClerkClaims) -> Result<(), AuthError> {
        let denied = |reason: String| Err(AuthError::AccessDenied(reason));
        let needs_organization = self.organization.is_some() || !self.roles.is_empty() || !self.permissions.is_empty();
        let Some(organization) = claims.organization() else {
            return if needs_organization { denied("the token is not for an organization".into()) } else { Ok(()) };
        };
        let matches = |wanted: &str| match wanted.starts_with("org_") {
            true => organization.id() == wanted,
            false => organization.slug() == Some(wanted),
        };
        if let Some(wanted) = &self.organization
            && !matches(wanted)
        {
            return denied(format!("the token is not for organization {wanted}"));
        }
        if !self.roles.is_empty() && !self.roles.iter().any(|role| organization.has_role(role)) {
            return denied(format!("requires the role {}", self.roles.join(" or ")));
        }
        if let Some(missing) = self.permissions.iter().find(|permission| !organization.has_permission(permission)) {
            return denied(format!("requires the permission {missing}"));
        }
        Ok(())
    }
}

/// Checks every rule that applies to `path`.
pub(crate) fn check_rules(rules: &[AccessRule], path: &str, claims: Option<&ClerkClaims>) -> Result<(), AuthError> {
    let mut applicable = rules.iter().filter(|rule| rule.applies_to(path)).peekable();
    if applicable.peek().is_none() {
        return Ok(());
    }
    let claims = claims.ok_or(AuthError::MissingToken)?;
    applicable.try_for_each(|rule| rule.check(claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: serde_json::Value) -> ClerkClaims {
        let serde_json::Value::Object(mut map) = value else { panic!("an object") };
        map.extend([("sub".into(), json!("user_1")), ("iss".into(), json!("i")), ("exp".into(), json!(9))]);
        ClerkClaims::from_verified(map).unwrap()
    }

    fn admin() -> ClerkClaims {
        claims(
            json!({"v": 2, "fea": "o:footprints", "o": {"id": "org_1", "slg": "acme", "rol": "admin", "per": "read,manage", "fpm": "3"}}),
        )
    }

    #[test]
    fn organization_by_id_or_slug() {
        assert!(AccessRule::for_prefix("/").require_organization("org_1").check(&admin()).is_ok());
        assert!(AccessRule::for_prefix("/").require_organization("acme").check(&admin()).is_ok());
        let slug_like_an_id = claims(json!({"v": 2, "o": {"id": "org_evil", "slg": "org_1", "rol": "admin"}}));
        assert!(
            AccessRule::for_prefix("/").require_organization("org_1").check(&slug_like_an_id).is_err(),
            "an id matches ids only"
        );
        let id_like_a_slug = claims(json!({"v": 2, "o": {"id": "acme", "slg": "other", "rol": "admin"}}));
        assert!(AccessRule::for_prefix("/").require_organization("acme").check(&id_like_a_slug).is_err());
        let error = AccessRule::for_prefix("/").require_organization("org_2").check(&admin()).unwrap_err();
        assert_eq!(error, AuthError::AccessDenied("the token is not for organization org_2".into()));
    }

    #[test]
    fn roles_are_any_of_and_permissions_all_of() {
        let rule = AccessRule::for_prefix("/").require_role("member").require_role("org:admin");
        assert!(rule.check(&admin()).is_ok());
        let rule = AccessRule::for_prefix("/")
            .require_permission("footprints:read")
            .require_permission("org:footprints:manage");
        assert!(rule.check(&admin()).is_ok());
        let rule = rule.require_permission("footprints:delete");
        assert_eq!(
            rule.check(&admin()).unwrap_err(),
            AuthError::AccessDenied("requires the permission footprints:delete".into())
        );
        assert!(AccessRule::for_prefix("/").require_role("member").check(&admin()).is_err());
    }

    #[test]
    fn personal_account_tokens_meet_only_rules_without_requirements() {
        let personal = claims(json!({}));
        assert!(AccessRule::for_prefix("/").check(&personal).is_ok());
        assert!(AccessRule::for_prefix("/").require_role("admin").check(&personal).is_err());
    }

    #[test]
    fn only_rules_for_the_path_apply() {
        let rules = [AccessRule::for_prefix("/2/events").require_role("member")];
        assert!(check_rules(&rules, "/2/footprints", Some(&admin())).is_ok());
        assert!(check_rules(&rules, "/2/events", Some(&admin())).is_err());
        assert!(check_rules(&rules, "/2/footprints", None).is_ok());
        assert_eq!(check_rules(&rules, "/2/events", None), Err(AuthError::MissingToken));
        assert!(check_rules(&rules, "*", Some(&admin())).is_err(), "OPTIONS * meets every rule");
        assert!(check_rules(&rules, "", Some(&admin())).is_err(), "so does an authority-form target");
    }
}
