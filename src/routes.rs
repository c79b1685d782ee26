//! Which branch of the layer a request path takes.

/// The branches of [`ClerkBasicAuth`](crate::ClerkBasicAuth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Branch {
    TokenEndpoint,
    /// The OpenID and RFC 8414 discovery documents.
    Metadata,
    Jwks,
    Public,
    Protected,
}

/// The path rules of one layer, each with its default.
#[derive(Debug, Clone)]
pub(crate) struct RouteSettings {
    /// Default: `/auth/token`.
    pub(crate) token_path: String,
    /// Default: `/.well-known/openid-configuration`.
    pub(crate) openid_configuration_path: Option<String>,
    /// Default: `/.well-known/oauth-authorization-server` (RFC 8414).
    pub(crate) oauth_metadata_path: Option<String>,
    /// Default: `/jwks`.
    pub(crate) jwks_path: Option<String>,
    /// Paths passed through untouched. Default: none.
    pub(crate) public_paths: Vec<String>,
    /// Default: none.
    pub(crate) public_prefixes: Vec<String>,
    /// When not empty, only paths under these are protected. Default: empty.
    pub(crate) protected_prefixes: Vec<String>,
}

impl Default for RouteSettings {
    fn default() -> Self {
        Self {
            token_path: "/auth/token".to_owned(),
            openid_configuration_path: Some("/.well-known/openid-configuration".to_owned()),
            oauth_metadata_path: Some("/.well-known/oauth-authorization-server".to_owned()),
            jwks_path: Some("/jwks".to_owned()),
            public_paths: Vec::new(),
            public_prefixes: Vec::new(),
            protected_prefixes: Vec::new(),
        }
    }
}

/// The path rules of one layer.
pub(crate) struct Routes {
    settings: RouteSettings,
}

impl Routes {
    pub(crate) fn new(settings: &RouteSettings) -> Self {
        Self { settings: settings.clone() }
    }

    pub(crate) fn token_path(&self) -> &str {
        &self.settings.token_path
    }

    pub(crate) fn branch(&self, path: &str) -> Branch {
        let settings = &self.settings;
        if path == settings.token_path {
            Branch::TokenEndpoint
        } else if settings.openid_configuration_path.as_deref() == Some(path)
            || settings.oauth_metadata_path.as_deref() == Some(path)
        {
            Branch::Metadata
        } else if settings.jwks_path.as_deref() == Some(path) {
            Branch::Jwks
        } else if self.is_public(path) {
            Branch::Public
        } else {
            Branch::Protected
        }
    }

    fn is_public(&self, path: &str) -> bool {
        let RouteSettings { public_paths, public_prefixes, protected_prefixes, .. } = &self.settings;
        public_paths.iter().any(|public| public == path)
            || public_prefixes.iter().any(|prefix| path.starts_with(prefix.as_str()))
            || (!protected_prefixes.is_empty()
                && !protected_prefixes.iter().any(|prefix| path.starts_with(prefix.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClerkBasicAuthConfig;

    fn config() -> ClerkBasicAuthConfig {
        ClerkBasicAuthConfig::new("https://clerk.example.com").unwrap()
    }

    #[test]
    fn by_default_everything_but_the_layers_own_routes_is_protected() {
        let routes = Routes::new(&config().with_public_path("/health").routes);
        assert_eq!(routes.branch("/auth/token"), Branch::TokenEndpoint);
        assert_eq!(routes.branch("/.well-known/openid-configuration"), Branch::Metadata);
        assert_eq!(routes.branch("/.well-known/oauth-authorization-server"), Branch::Metadata);
        assert_eq!(routes.branch("/jwks"), Branch::Jwks);
        assert_eq!(routes.branch("/health"), Branch::Public);
        assert_eq!(routes.branch("/health/deep"), Branch::Protected);
        assert_eq!(routes.branch("/2/footprints"), Branch::Protected);
        assert_eq!(routes.branch("/"), Branch::Protected);
    }

    #[test]
    fn prefixes_narrow_or_widen_protection() {
        let routes = Routes::new(&config().with_protected_prefix("/2/").with_public_prefix("/2/public/").routes);
        assert_eq!(routes.branch("/2/footprints"), Branch::Protected);
        assert_eq!(routes.branch("/2/public/info"), Branch::Public);
        assert_eq!(routes.branch("/metrics"), Branch::Public);
    }

    #[test]
    fn discovery_routes_can_be_moved_or_turned_off() {
        let config = config().with_openid_configuration_path(None).with_jwks_path(Some("/.well-known/jwks.json"));
        let routes = Routes::new(&config.routes);
        assert_eq!(routes.branch("/.well-known/openid-configuration"), Branch::Protected);
        assert_eq!(routes.branch("/.well-known/jwks.json"), Branch::Jwks);
        assert_eq!(routes.branch("/jwks"), Branch::Protected);
    }
}
