//! The users and organizations a [`FakeClerk`](super::FakeClerk) knows.

use super::ids;

/// A user of the fake instance, identified by an email address (and optionally a username) and
/// signing in with a password.
///
/// ```
/// use clerk_basic_auth::testing::FakeUser;
///
/// let user = FakeUser::new("ileap-demo@way.cloud", "HelloPrimaryData")
///     .id("user_2xDemo")
///     .username("ileap-demo")
///     .member_of("org_2xDemo", "admin");
/// assert_eq!(user.user_id(), "user_2xDemo");
/// ```
#[derive(Clone, Debug)]
pub struct FakeUser {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) username: Option<String>,
    pub(crate) password: String,
    pub(crate) password_enabled: bool,
    pub(crate) email_address_id: String,
    pub(crate) memberships: Vec<(String, String)>,
    pub(crate) second_step: Option<SecondStep>,
    pub(crate) banned: bool,
    pub(crate) locked: bool,
    pub(crate) bypass_client_trust: bool,
    pub(crate) pending_tasks: Vec<String>,
}

/// What a correct password leads to, when it is not a complete sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SecondStep {
    /// Multi-factor authentication is enabled: `needs_second_factor`.
    SecondFactor,
    /// Client trust on every password sign-in, whatever the instance's Device Trust setting:
    /// `needs_client_trust`.
    ClientTrust,
    /// A password reset is required: `needs_new_password`.
    NewPassword,
}

impl FakeUser {
    /// A user with this primary email address (the sign-in identifier) and password, a random
    /// `user_...` id and no organization.
    pub fn new(email: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            id: ids::clerk_id("user"),
            email: email.into(),
            username: None,
            password: password.into(),
            password_enabled: true,
            email_address_id: ids::clerk_id("idn"),
            memberships: Vec::new(),
            second_step: None,
            banned: false,
            locked: false,
            bypass_client_trust: false,
            pending_tasks: Vec::new(),
        }
    }

    /// Sets the user id (the `sub` claim), e.g. `user_2xDemo`.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Adds a username, accepted as a second sign-in identifier.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Makes the user a member of the organization `org_id` with `role` (`"admin"` or
    /// `"org:admin"`; tokens carry it without the `org:` prefix, as Clerk's v2 claims do).
    pub fn member_of(mut self, org_id: impl Into<String>, role: impl Into<String>) -> Self {
        let role = role.into();
        let role = role.strip_prefix("org:").unwrap_or(&role).to_owned();
        self.memberships.push((org_id.into(), role));
        self
    }

    /// The user has multi-factor authentication: a correct password answers
    /// `needs_second_factor` and no session.
    pub fn mfa(mut self) -> Self {
        self.second_step = Some(SecondStep::SecondFactor);
        self
    }

    /// Every password sign-in of this user answers `needs_client_trust` and no session, on any
    /// client and whether or not the instance has Device Trust on (see
    /// [`FakeClerkBuilder::device_trust`](super::FakeClerkBuilder::device_trust) for Clerk's
    /// instance-wide rule).
    pub fn needs_client_trust(mut self) -> Self {
        self.second_step = Some(SecondStep::ClientTrust);
        self
    }

    /// The user bypasses Device Trust, as the Backend API user field `bypass_client_trust: true`
    /// says: a correct password completes the sign-in on a new client too.
    pub fn bypass_client_trust(mut self) -> Self {
        self.bypass_client_trust = true;
        self
    }

    /// The user has no password (signs in some other way): `password_enabled` is `false`, a
    /// password sign-in answers 400 `strategy_for_user_invalid` and the Backend API's
    /// `verify_password` 400 `no_password_set`.
    pub fn without_password(mut self) -> Self {
        self.password_enabled = false;
        self
    }

    /// The user must reset the password: a correct password answers `needs_new_password` and no
    /// session.
    pub fn needs_new_password(mut self) -> Self {
        self.second_step = Some(SecondStep::NewPassword);
        self
    }

    /// The user is banned: every sign-in answers 403 `user_banned`.
    pub fn banned(mut self) -> Self {
        self.banned = true;
        self
    }

    /// The user is locked with no end (as with Clerk's `lockUser` and an unlimited lockout):
    /// every sign-in answers 403 `user_locked`.
    pub fn locked(mut self) -> Self {
        self.locked = true;
        self
    }

    /// Sessions of this user start `pending` with this session task (e.g.
    /// `"choose-organization"`): the sign-in completes, the session status is `pending` and its
    /// tokens carry `"sts": "pending"`.
    pub fn pending_task(mut self, key: impl Into<String>) -> Self {
        self.pending_tasks.push(key.into());
        self
    }

    /// The user id.
    pub fn user_id(&self) -> &str {
        &self.id
    }

    /// Whether `identifier` names this user (email case-insensitively, or the username).
    pub(crate) fn is_identified_by(&self, identifier: &str) -> bool {
        self.email.eq_ignore_ascii_case(identifier)
            || self.username.as_deref().is_some_and(|name| name.eq_ignore_ascii_case(identifier))
    }

    /// The role of the user in `org_id`, if a member.
    pub(crate) fn role_in(&self, org_id: &str) -> Option<&str> {
        self.memberships.iter().find(|(org, _)| org == org_id).map(|(_, role)| role.as_str())
    }
}

/// An organization of the fake instance, with the permissions of each role.
///
/// ```
/// use clerk_basic_auth::testing::FakeOrganization;
///
/// let org = FakeOrganization::new("org_2xDemo", "way-demo")
///     .role_permissions("admin", ["org:footprints:read", "org:footprints:manage"])
///     .role_permissions("member", ["org:footprints:read"]);
/// assert_eq!(org.slug(), "way-demo");
/// ```
#[derive(Clone, Debug)]
pub struct FakeOrganization {
    pub(crate) id: String,
    pub(crate) slug: String,
    pub(crate) name: String,
    pub(crate) roles: Vec<(String, Vec<String>)>,
}

impl FakeOrganization {
    /// An organization with this id (`org_...`) and slug; its name is the slug.
    pub fn new(id: impl Into<String>, slug: impl Into<String>) -> Self {
        let slug = slug.into();
        Self { id: id.into(), name: slug.clone(), slug, roles: Vec::new() }
    }

    /// Sets the display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the permissions of `role` (with or without the `org:` prefix), replacing earlier
    /// ones. Permissions are Clerk permission keys `org:<feature>:<action>`; system permissions
    /// (`org:sys_...`) are accepted but, like Clerk, left out of session tokens.
    ///
    /// # Panics
    /// If a permission is not of the form `org:<feature>:<action>`.
    pub fn role_permissions<I, S>(mut self, role: impl Into<String>, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let role = role.into();
        let role = role.strip_prefix("org:").unwrap_or(&role).to_owned();
        let permissions: Vec<String> = permissions.into_iter().map(Into::into).collect();
        for permission in &permissions {
            assert!(
                split_permission(permission).is_some(),
                "permission {permission:?} is not a Clerk permission key `org:<feature>:<action>`"
            );
        }
        self.roles.retain(|(name, _)| *name != role);
        self.roles.push((role, permissions));
        self
    }

    /// The organization id.
    pub fn org_id(&self) -> &str {
        &self.id
    }

    /// The slug.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The permission keys of `role` (without `org:` prefix); empty for an unknown role.
    pub(crate) fn permissions_of(&self, role: &str) -> &[String] {
        self.roles.iter().find(|(name, _)| name == role).map_or(&[], |(_, permissions)| permissions.as_slice())
    }
}

/// Splits `org:<feature>:<action>` into `(feature, action)`.
pub(crate) fn split_permission(permission: &str) -> Option<(&str, &str)> {
    let rest = permission.strip_prefix("org:")?;
    let (feature, action) = rest.split_once(':')?;
    let valid = |part: &str| !part.is_empty() && !part.contains([':', ',']);
    (valid(feature) && valid(action)).then_some((feature, action))
}
