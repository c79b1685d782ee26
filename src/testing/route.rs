//! The routes the fake serves, from the API a request reached, its method and its path.

use http::Method;

/// Which of the fake's listeners a request reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    /// The Frontend API (and JWKS), under the proxy path if one is set.
    Frontend,
    /// The Backend API.
    Backend,
}

/// The routes the fake serves.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Jwks,
    SignIns,
    Touch(String),
    /// `POST /v1/client/sessions/{id}/end`.
    End(String),
    Tokens(String),
    Template(String, String),
    /// Backend API `GET /v1/users`.
    Users,
    /// Backend API `POST /v1/users/{id}/verify_password`.
    VerifyPassword(String),
    /// Backend API `POST /v1/sign_in_tokens`.
    SignInTokens,
    NotFound,
}

impl Route {
    /// The route of a request to `api`; anything else is `NotFound`. Frontend API paths must
    /// start with `prefix` (the proxy path, or empty).
    pub(crate) fn parse(api: Api, prefix: &str, method: &Method, path: &str) -> Self {
        match api {
            Api::Frontend => path.strip_prefix(prefix).map_or(Self::NotFound, |path| Self::frontend(method, path)),
            Api::Backend => Self::backend(method, path),
        }
    }

    fn frontend(method: &Method, path: &str) -> Self {
        if path == "/.well-known/jwks.json" {
            return if method == Method::GET { Self::Jwks } else { Self::NotFound };
        }
        if method != Method::POST {
            return Self::NotFound;
        }
        if path == "/v1/client/sign_ins" {
            return Self::SignIns;
        }
        let Some(rest) = path.strip_prefix("/v1/client/sessions/") else {
            return Self::NotFound;
        };
        let segments: Vec<&str> = rest.split('/').collect();
        match segments.as_slice() {
            [sid, "touch"] if !sid.is_empty() => Self::Touch((*sid).to_owned()),
            [sid, "end"] if !sid.is_empty() => Self::End((*sid).to_owned()),
            [sid, "tokens"] if !sid.is_empty() => Self::Tokens((*sid).to_owned()),
            [sid, "tokens", template] if !sid.is_empty() && !template.is_empty() => {
                Self::Template((*sid).to_owned(), (*template).to_owned())
            }
            _ => Self::NotFound,
        }
    }

    fn backend(method: &Method, path: &str) -> Self {
        match (method, path) {
            (&Method::GET, "/v1/users") => return Self::Users,
            (&Method::POST, "/v1/sign_in_tokens") => return Self::SignInTokens,
            _ => {}
        }
        let Some(rest) = path.strip_prefix("/v1/users/") else {
            return Self::NotFound;
        };
        match rest.split('/').collect::<Vec<_>>().as_slice() {
            [id, "verify_password"] if !id.is_empty() && method == Method::POST => {
                Self::VerifyPassword((*id).to_owned())
            }
            _ => Self::NotFound,
        }
    }

    /// The session id in the path of a session route.
    pub(crate) fn session_id(&self) -> Option<&str> {
        match self {
            Self::Touch(sid) | Self::Tokens(sid) | Self::Template(sid, _) => Some(sid),
            _ => None,
        }
    }
}
