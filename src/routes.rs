//! Which branch of the layer a request path takes.

use crate::config::ClerkBasicAuthConfig;

/// The branches of [`ClerkBasicAuth`](crate::ClerkBasicAuth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Branch {
    TokenEndpoint,
    OpenIdConfiguration,
    Jwks,
    Public,
    Protected,
}

/// The path rules of one layer.
pub(crate) struct Routes {
    token_path: String,
    openid_configuration_path: Option<String>,
    jwks_path: Option<String>,
    public_paths: Vec<String>,
    public_prefixes: Vec<String>,
    protected_prefixes: Vec<String>,
}

impl Routes {
    pub(crate) fn new(config: &ClerkBasicAuthConfig) -> Self {
        Self {
            token_path: config.token_path.clone(),
            openid_configuration_path: config.openid_configuration_path.clone(),
            jwks_path: config.jwks_path.clone(),
            public_paths: config.public_paths.clone(),
            public_prefixes: config.public_prefixes.clone(),
            protected_prefixes: config.protected_prefixes.clone(),
        }
    }

    pub(crate) fn token_path(&self) -> &str {
        &self.token_path
    }

    pub(crate) fn branch(&self, path: &str) -> Branch {
        if path == self.token_path {
            Branch::TokenEndpoint
        } else if self.openid_configuration_path.as_deref() == Some(path) {
            Branch::OpenIdConfiguration
        } else if self.jwks_path.as_deref() == Some(path) {
            Branch::Jwks
        } else if self.is_public(path) {
            Branch::Public
        } else {
            Branch::Protected
        }
    }

    fn is_public(&self, path: &str) -> bool {
        self.public_paths.iter().any(|public| public == path)
            || self.public_prefixes.iter().any(|prefix| path.starts_with(prefix.as_str()))
            || (!self.protected_prefixes.is_empty()
                && !self.protected_prefixes.iter().any(|prefix| path.starts_with(prefix.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ClerkBasicAuthConfig {
        ClerkBasicAuthConfig::new("https://clerk.example.com").unwrap()
    }

    #[test]
    fn by_default_everything_but_the_layers_own_routes_is_protected() {
        let routes = Routes::new(&config().with_public_path("/health"));
        assert_eq!(routes.branch("/auth/token"), Branch::TokenEndpoint);
        assert_eq!(routes.branch("/.well-known/openid-configuration"), Branch::OpenIdConfiguration);
        assert_eq!(routes.branch("/jwks"), Branch::Jwks);
        assert_eq!(routes.branch("/health"), Branch::Public);
        assert_eq!(routes.branch("/health/deep"), Branch::Protected);
        assert_eq!(routes.branch("/2/footprints"), Branch::Protected);
        assert_eq!(routes.branch("/"), Branch::Protected);
    }

    #[test]
    fn prefixes_narrow_or_widen_protection() {
        let routes = Routes::new(&config().with_protected_prefix("/2/").with_public_prefix("/2/public/"));
        assert_eq!(routes.branch("/2/footprints"), Branch::Protected);
        assert_eq!(routes.branch("/2/public/info"), Branch::Public);
        assert_eq!(routes.branch("/metrics"), Branch::Public);
    }

    #[test]
    fn discovery_routes_can_be_moved_or_turned_off() {
        let routes =
            Routes::new(&config().with_openid_configuration_path(None).with_jwks_path(Some("/.well-known/jwks.json")));
        assert_eq!(routes.branch("/.well-known/openid-configuration"), Branch::Protected);
        assert_eq!(routes.branch("/.well-known/jwks.json"), Branch::Jwks);
        assert_eq!(routes.branch("/jwks"), Branch::Protected);
    }
}
