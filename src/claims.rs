//! The verified claims of a Clerk token, as handlers read them from the request extensions.

mod payload;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::clock::from_unix;
pub(crate) use payload::{Claim, OrganizationClaim, Payload};

/// The verified claims of the Clerk token a request carried.
///
/// The layer puts it into the request extensions before the inner service runs, so an axum
/// handler takes `Extension<ClerkClaims>`, and tonic or hyper code reads
/// `request.extensions().get::<ClerkClaims>()`. Cloning is cheap (the claims are shared).
///
/// The active organization is normalised from both claim formats Clerk has used: the v2 `o`
/// claim (`{id, slg, rol, per, fpm}` with the feature list in `fea`) and the v1 `org_id`,
/// `org_slug`, `org_role`, `org_permissions` claims. Any other claim, such as the custom claims
/// of a JWT template, is in [`get`](Self::get) and [`claims`](Self::claims).
///
/// ```
/// use axum::{routing::get, Extension, Router};
/// use clerk_basic_auth::ClerkClaims;
///
/// async fn me(Extension(claims): Extension<ClerkClaims>) -> String {
///     match claims.organization() {
///         Some(org) => format!("{} acting for {}", claims.user_id(), org.id()),
///         None => format!("{} on their personal account", claims.user_id()),
///     }
/// }
///
/// let app: Router = Router::new().route("/me", get(me));
/// ```
#[derive(Clone)]
pub struct ClerkClaims(Arc<Inner>);

struct Inner {
    known: KnownClaims,
    /// The payload's JSON text, as Clerk signed it (kept as decoded: no shrinking copy).
    json: String,
    /// Every claim, parsed from `json` the first time a handler asks for [`ClerkClaims::claims`]
    /// or [`ClerkClaims::get`] (verification reads only the claims it checks).
    claims: OnceLock<Map<String, Value>>,
}

/// The claims the accessors answer, normalised, read from a [`Payload`].
pub(crate) struct KnownClaims {
    user_id: String,
    session_id: Option<String>,
    issuer: String,
    issued_at: Option<u64>,
    expires_at: u64,
    not_before: Option<u64>,
    authorized_party: Option<String>,
    organization: Option<Organization>,
    session_status: Option<String>,
}

impl KnownClaims {
    /// `None` when `sub`, `iss` or `exp` is missing or of the wrong type.
    pub(crate) fn from_payload(payload: &Payload<'_>) -> Option<Self> {
        let text = |claim: &Claim<'_>| claim.text().map(str::to_owned);
        Some(Self {
            user_id: text(&payload.sub)?,
            issuer: text(&payload.iss)?,
            expires_at: payload.exp.number()?,
            session_id: text(&payload.sid),
            issued_at: payload.iat.number(),
            not_before: payload.nbf.number(),
            authorized_party: text(&payload.azp),
            session_status: text(&payload.sts),
            organization: Organization::from_payload(payload),
        })
    }
}

/// The organization a token is active for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    id: String,
    slug: Option<String>,
    role: Option<String>,
    permissions: Vec<String>,
}

impl ClerkClaims {
    /// Claims from the JSON text of a verified payload and what was read from it.
    pub(crate) fn new(known: KnownClaims, json: String) -> Self {
        Self(Arc::new(Inner { known, json, claims: OnceLock::new() }))
    }

    /// Claims from a JSON payload text, read as verification reads it (for tests and fuzzing).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn from_json(json: &str) -> Option<Self> {
        let known = KnownClaims::from_payload(&Payload::parse(json)?)?;
        Some(Self::new(known, json.to_owned()))
    }

    /// Claims from a claim set (for tests).
    #[cfg(test)]
    pub(crate) fn from_verified(claims: Map<String, Value>) -> Option<Self> {
        Self::from_json(&Value::Object(claims).to_string())
    }

    /// The Clerk user id (`sub`), e.g. `user_2xDemo`.
    pub fn user_id(&self) -> &str {
        &self.0.known.user_id
    }

    /// The Clerk session id (`sid`); JWT template tokens have none.
    pub fn session_id(&self) -> Option<&str> {
        self.0.known.session_id.as_deref()
    }

    /// The issuer (`iss`): the Clerk Frontend API URL.
    pub fn issuer(&self) -> &str {
        &self.0.known.issuer
    }

    /// When the token was issued (`iat`).
    pub fn issued_at(&self) -> Option<SystemTime> {
        self.0.known.issued_at.map(from_unix)
    }

    /// When the token expires (`exp`).
    pub fn expires_at(&self) -> SystemTime {
        from_unix(self.0.known.expires_at)
    }

    /// When the token becomes valid (`nbf`).
    pub fn not_before(&self) -> Option<SystemTime> {
        self.0.known.not_before.map(from_unix)
    }

    /// The authorized party (`azp`): the origin of the browser that asked Clerk for the token.
    /// Tokens minted for native clients, as this layer's are, carry none.
    pub fn authorized_party(&self) -> Option<&str> {
        self.0.known.authorized_party.as_deref()
    }

    /// The active organization, if the token is for one rather than the personal account.
    pub fn organization(&self) -> Option<&Organization> {
        self.0.known.organization.as_ref()
    }

    /// The session status (`sts`), e.g. `pending` for a session with tasks left.
    pub fn session_status(&self) -> Option<&str> {
        self.0.known.session_status.as_deref()
    }

    /// One claim by name, e.g. a custom claim of a JWT template.
    pub fn get(&self, claim: &str) -> Option<&Value> {
        self.claims().get(claim)
    }

    /// All claims as Clerk signed them.
    ///
    /// The claim set is parsed from the token's payload the first time this (or
    /// [`get`](Self::get)) is called for a token, and shared by every later request with the
    /// same token.
    pub fn claims(&self) -> &Map<String, Value> {
        // The payload was read as one JSON object when it was verified, so this parse succeeds.
        self.0.claims.get_or_init(|| serde_json::from_str(&self.0.json).unwrap_or_default())
    }

    pub(crate) fn expires_at_secs(&self) -> u64 {
        self.0.known.expires_at
    }

    pub(crate) fn not_before_secs(&self) -> Option<u64> {
        self.0.known.not_before
    }
}

impl fmt::Debug for ClerkClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClerkClaims")
            .field("user_id", &self.0.known.user_id)
            .field("session_id", &self.0.known.session_id)
            .field("organization", &self.0.known.organization)
            .field("expires_at", &self.0.known.expires_at)
            .finish_non_exhaustive()
    }
}

impl Organization {
    /// The organization id, e.g. `org_2xDemo`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The organization slug, e.g. `way-demo`.
    pub fn slug(&self) -> Option<&str> {
        self.slug.as_deref()
    }

    /// The user's role in the organization, in Clerk's canonical form with the `org:` prefix,
    /// e.g. `org:admin`, whichever claim format the token used.
    pub fn role(&self) -> Option<&str> {
        self.role.as_deref()
    }

    /// The user's permissions in the organization, e.g. `org:footprints:read`.
    pub fn permissions(&self) -> &[String] {
        &self.permissions
    }

    /// Whether the user has this role; `admin` and `org:admin` are the same role.
    pub fn has_role(&self, role: &str) -> bool {
        self.role.as_deref().is_some_and(|own| own == with_org_prefix(role))
    }

    /// Whether the user has this permission; `footprints:read` and `org:footprints:read` are
    /// the same permission.
    pub fn has_permission(&self, permission: &str) -> bool {
        let wanted = with_org_prefix(permission);
        self.permissions.contains(&wanted)
    }

    /// As Clerk's `jwtPayloadParser` does: the version claim `v` decides the format.
    fn from_payload(payload: &Payload<'_>) -> Option<Self> {
        if payload.v.number() != Some(2) {
            return Self::from_v1(payload);
        }
        match &payload.o {
            OrganizationClaim::Object { id, slg, rol, per, fpm } => {
                // v2: `per` names the permissions, `fpm` holds one bit mask (least significant
                // bit = first permission) per organization feature in `fea`.
                let permissions = match (per.non_empty_text(), fpm.non_empty_text()) {
                    (Some(per), Some(fpm)) => v2_permissions(payload.fea.text().unwrap_or(""), per, fpm),
                    _ => Vec::new(),
                };
                Some(Self {
                    id: id.non_empty_text()?.to_owned(),
                    slug: slg.non_empty_text().map(str::to_owned),
                    role: rol.non_empty_text().map(with_org_prefix),
                    permissions,
                })
            }
            OrganizationClaim::NotAnObject => None,
        }
    }

    fn from_v1(payload: &Payload<'_>) -> Option<Self> {
        Some(Self {
            id: payload.org_id.non_empty_text()?.to_owned(),
            slug: payload.org_slug.non_empty_text().map(str::to_owned),
            role: payload.org_role.non_empty_text().map(with_org_prefix),
            permissions: payload.org_permissions.0.iter().map(|permission| permission.clone().into_owned()).collect(),
        })
    }
}

/// `org:<feature>:<permission>` for every bit set in the masks of `fpm`, as Clerk's
/// `jwtPayloadParser` decodes them.
fn v2_permissions(fea: &str, per: &str, fpm: &str) -> Vec<String> {
    let org_features = fea.split(',').map(str::trim).filter_map(|entry| {
        let (scope, feature) = entry.split_once(':')?;
        scope.contains('o').then_some(feature)
    });
    let masks = fpm.split(',').map(|mask| mask.trim().parse::<u64>().unwrap_or(0));
    let mut granted = Vec::new();
    for (feature, mask) in org_features.zip(masks).filter(|&(_, mask)| mask != 0) {
        // `per` split again per feature (a token has a few): no list of it is built.
        for (bit, permission) in per.split(',').map(str::trim).enumerate().take(64) {
            if mask & (1 << bit) != 0 {
                let mut name = String::with_capacity(5 + feature.len() + permission.len());
                for part in ["org:", feature, ":", permission] {
                    name.push_str(part);
                }
                granted.push(name);
            }
        }
    }
    granted
}

fn with_org_prefix(value: &str) -> String {
    let bare = value.trim_start_matches("org:");
    let mut prefixed = String::with_capacity(4 + bare.len());
    prefixed.push_str("org:");
    prefixed.push_str(bare);
    prefixed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{Duration, UNIX_EPOCH};

    fn claims(value: Value) -> ClerkClaims {
        let Value::Object(map) = value else { panic!("an object") };
        ClerkClaims::from_verified(map).expect("valid claims")
    }

    #[test]
    fn v2_organization_claims_are_decoded_like_clerk_does() {
        // The example of Clerk's own jwtPayloadParser tests.
        let claims = claims(json!({
            "sub": "user_1", "iss": "https://clerk.example.com", "exp": 2, "sid": "sess_1", "v": 2,
            "fea": "o:impersonation,u:billing,o:memberships",
            "o": {"id": "org_1", "slg": "acme", "rol": "admin", "per": "read,manage", "fpm": "1,3"}
        }));
        let org = claims.organization().unwrap();
        assert_eq!(org.id(), "org_1");
        assert_eq!(org.slug(), Some("acme"));
        assert_eq!(org.role(), Some("org:admin"));
        assert_eq!(org.permissions(), ["org:impersonation:read", "org:memberships:read", "org:memberships:manage"]);
        assert!(org.has_role("admin") && org.has_role("org:admin") && !org.has_role("member"));
        assert!(org.has_permission("memberships:manage") && !org.has_permission("impersonation:manage"));
        assert_eq!(claims.session_id(), Some("sess_1"));
    }

    #[test]
    fn the_version_claim_decides_the_format_not_the_presence_of_o() {
        let o = json!({"id": "org_1", "slg": "acme", "rol": "admin"});
        let without_v = claims(json!({"sub": "user_1", "iss": "i", "exp": 2, "o": o, "org_id": "org_2"}));
        assert_eq!(without_v.organization().map(Organization::id), Some("org_2"), "v1 claims read without v");
        let v2_without_o = claims(json!({"sub": "user_1", "iss": "i", "exp": 2, "v": 2, "org_id": "org_2"}));
        assert!(v2_without_o.organization().is_none(), "v2 ignores v1 claims");
    }

    #[test]
    fn v2_bit_masks_are_read_least_significant_bit_first() {
        let granted = v2_permissions("o:a,ou:b", "read,create,update,delete,revoke", "7,21");
        assert_eq!(
            granted,
            ["org:a:read", "org:a:create", "org:a:update", "org:b:read", "org:b:update", "org:b:revoke"]
        );
        assert!(v2_permissions("o:a", "read", "garbage").is_empty());
    }

    #[test]
    fn v1_organization_claims_are_normalised_the_same_way() {
        let claims = claims(json!({
            "sub": "user_1", "iss": "https://clerk.example.com", "exp": 2,
            "org_id": "org_1", "org_slug": "acme", "org_role": "org:admin",
            "org_permissions": ["org:footprints:read"]
        }));
        let org = claims.organization().unwrap();
        assert_eq!(org.role(), Some("org:admin"));
        assert_eq!(org.permissions(), ["org:footprints:read"]);
        assert!(org.has_permission("footprints:read"));
    }

    #[test]
    fn no_organization_claims_mean_the_personal_account() {
        let claims = claims(json!({"sub": "user_1", "iss": "i", "exp": 2, "custom": {"tier": "gold"}}));
        assert!(claims.organization().is_none());
        assert_eq!(claims.get("custom"), Some(&json!({"tier": "gold"})));
        assert_eq!(claims.expires_at(), UNIX_EPOCH + Duration::from_secs(2));
    }

    #[test]
    fn sub_iss_and_exp_are_required() {
        for missing in ["sub", "iss", "exp"] {
            let mut map = json!({"sub": "u", "iss": "i", "exp": 2}).as_object().unwrap().clone();
            map.remove(missing);
            assert!(ClerkClaims::from_verified(map).is_none(), "{missing}");
        }
    }
}
