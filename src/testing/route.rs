//! The routes the fake serves, from a request's method and path.

use http::Method;

/// The routes the fake serves.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Jwks,
    SignIns,
    Touch(String),
    Tokens(String),
    Template(String, String),
    NotFound,
}

impl Route {
    /// The route of a request; anything else is `NotFound`.
    pub(crate) fn parse(method: &Method, path: &str) -> Self {
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
            [sid, "tokens"] if !sid.is_empty() => Self::Tokens((*sid).to_owned()),
            [sid, "tokens", template] if !sid.is_empty() && !template.is_empty() => {
                Self::Template((*sid).to_owned(), (*template).to_owned())
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
