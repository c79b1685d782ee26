//! The claims of the tokens the fake mints: v2 session tokens and JWT template tokens.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::fixtures::{FakeOrganization, FakeUser, split_permission};
use super::ids;

/// Clerk sets a session token's `nbf` this many seconds before `iat`.
const SESSION_NBF_LEEWAY_SECS: u64 = 10;
/// A JWT template's default "allowed clock skew".
const TEMPLATE_NBF_LEEWAY_SECS: u64 = 5;

/// The organization a token is minted for, with the user's role in it.
pub(crate) struct ActiveOrg<'a> {
    pub(crate) org: &'a FakeOrganization,
    pub(crate) role: &'a str,
}

/// What a session token says about its session.
pub(crate) struct SessionFacts<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) user_id: &'a str,
    pub(crate) session_id: &'a str,
    pub(crate) now_secs: u64,
    pub(crate) lifetime: Duration,
    /// Minutes since the first factor was verified (`fva[0]`).
    pub(crate) first_factor_age_minutes: u64,
    pub(crate) pending: bool,
    pub(crate) org: Option<ActiveOrg<'a>>,
}

/// The claims of a v2 session token (API version 2025-04-10 and later): `sub`, `sid`, `iss`,
/// `exp`, `nbf` (`iat - 10`), `iat`, `jti`, `v: 2`, `fva`, `sts` when pending, and `o` + `fea`
/// for an active organization. No `azp`: native requests have no `Origin`.
pub(crate) fn session_claims(facts: &SessionFacts<'_>) -> Value {
    let mut claims = json!({
        "exp": facts.now_secs + facts.lifetime.as_secs(),
        "fva": [facts.first_factor_age_minutes, -1],
        "iat": facts.now_secs,
        "iss": facts.issuer,
        "jti": ids::hex(20),
        "nbf": facts.now_secs.saturating_sub(SESSION_NBF_LEEWAY_SECS),
        "sid": facts.session_id,
        "sub": facts.user_id,
        "v": 2,
    });
    if facts.pending {
        claims["sts"] = json!("pending");
    }
    if let Some(active) = &facts.org {
        let (o, fea) = org_claim(active);
        claims["o"] = o;
        if let Some(fea) = fea {
            claims["fea"] = json!(fea);
        }
    }
    claims
}

/// The `o` claim and the `fea` claim for an active organization, encoded as Clerk does and as
/// `@clerk/shared`'s `jwtPayloadParser` decodes:
/// - `fea`: `o:<feature>` for each feature of the role's permissions, in first-seen order;
/// - `o.per`: the distinct actions, in first-seen order;
/// - `o.fpm`: per feature (same order as `fea`), a decimal bitmask over `per`, bit 0 = `per[0]`.
///
/// `org:footprints:read, org:footprints:manage` gives `fea = "o:footprints"`,
/// `per = "read,manage"`, `fpm = "3"`. System permissions (`org:sys_*`) are left out.
fn org_claim(active: &ActiveOrg<'_>) -> (Value, Option<String>) {
    let mut features: Vec<&str> = Vec::new();
    let mut actions: Vec<&str> = Vec::new();
    let mut masks: Vec<u64> = Vec::new();
    for permission in active.org.permissions_of(active.role) {
        let Some((feature, action)) = split_permission(permission) else {
            continue;
        };
        if feature.starts_with("sys_") {
            continue;
        }
        let feature_index = features.iter().position(|f| *f == feature).unwrap_or_else(|| {
            features.push(feature);
            masks.push(0);
            features.len() - 1
        });
        let action_index = actions.iter().position(|a| *a == action).unwrap_or_else(|| {
            actions.push(action);
            actions.len() - 1
        });
        masks[feature_index] |= 1 << action_index;
    }
    let mut o = json!({
        "id": active.org.id,
        "rol": active.role,
        "slg": active.org.slug,
    });
    if features.is_empty() {
        return (o, None);
    }
    o["per"] = json!(actions.join(","));
    o["fpm"] = json!(masks.iter().map(u64::to_string).collect::<Vec<_>>().join(","));
    let fea = features.iter().map(|feature| format!("o:{feature}")).collect::<Vec<_>>().join(",");
    (o, Some(fea))
}

/// What a JWT template token is minted from.
pub(crate) struct TemplateFacts<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) user: &'a FakeUser,
    pub(crate) now_secs: u64,
    pub(crate) lifetime: Duration,
    pub(crate) org: Option<ActiveOrg<'a>>,
}

/// The claims of a JWT template token: the template's claims with shortcodes filled in, then
/// Clerk's default claims, which a template cannot override: `iss`, `sub`, `iat`, `nbf`, `exp`,
/// `jti`. Template tokens carry no `sid` and no `v`.
pub(crate) fn template_claims(template: &Value, facts: &TemplateFacts<'_>) -> Value {
    let mut claims = match fill_shortcodes(template, facts) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let defaults = json!({
        "exp": facts.now_secs + facts.lifetime.as_secs(),
        "iat": facts.now_secs,
        "iss": facts.issuer,
        "jti": ids::hex(20),
        "nbf": facts.now_secs.saturating_sub(TEMPLATE_NBF_LEEWAY_SECS),
        "sub": facts.user.id,
    });
    if let Value::Object(defaults) = defaults {
        claims.extend(defaults);
    }
    Value::Object(claims)
}

/// Replaces string values that are exactly one of Clerk's shortcodes: `{{user.id}}`,
/// `{{user.primary_email_address}}`, `{{user.username}}`, `{{org.id}}`, `{{org.slug}}`,
/// `{{org.name}}`, `{{org.role}}` (`org:` prefixed, as Clerk renders it). Without an active
/// organization the `org.*` ones become `null`.
fn fill_shortcodes(value: &Value, facts: &TemplateFacts<'_>) -> Value {
    match value {
        Value::String(text) => {
            let org = facts.org.as_ref();
            match text.as_str() {
                "{{user.id}}" => json!(facts.user.id),
                "{{user.primary_email_address}}" => json!(facts.user.email),
                "{{user.username}}" => json!(facts.user.username),
                "{{org.id}}" => json!(org.map(|o| &o.org.id)),
                "{{org.slug}}" => json!(org.map(|o| &o.org.slug)),
                "{{org.name}}" => json!(org.map(|o| &o.org.name)),
                "{{org.role}}" => json!(org.map(|o| format!("org:{}", o.role))),
                _ => value.clone(),
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|item| fill_shortcodes(item, facts)).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(key, item)| (key.clone(), fill_shortcodes(item, facts))).collect())
        }
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_encoded_as_clerk_v2_feature_permission_maps() {
        let org = FakeOrganization::new("org_1", "acme").role_permissions(
            "admin",
            ["org:impersonation:read", "org:memberships:read", "org:memberships:manage", "org:sys_profile:manage"],
        );
        let (o, fea) = org_claim(&ActiveOrg { org: &org, role: "admin" });
        assert_eq!(fea.as_deref(), Some("o:impersonation,o:memberships"));
        assert_eq!(o, json!({"id": "org_1", "slg": "acme", "rol": "admin", "per": "read,manage", "fpm": "1,3"}));
    }

    #[test]
    fn a_role_without_permissions_has_no_per_or_fpm() {
        let org = FakeOrganization::new("org_1", "acme");
        let (o, fea) = org_claim(&ActiveOrg { org: &org, role: "member" });
        assert_eq!(fea, None);
        assert_eq!(o, json!({"id": "org_1", "slg": "acme", "rol": "member"}));
    }
}
