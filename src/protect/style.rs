//! How a refused request to a protected route is answered: by route (PACT v3 under `/3/`, iLEAP
//! under `/2/ileap/`, PACT v2 elsewhere: the default), one profile for all, or a handler of your
//! own, chosen per path prefix; gRPC requests always get a gRPC status.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode, request::Parts};
use serde::Serialize;

use crate::auth_error::{AuthError, AuthErrorKind};
use crate::body::json_response;

type Handler = dyn Fn(&AuthError, &Parts) -> Response<Bytes> + Send + Sync;

/// Path prefix of the iLEAP data routes (`/2/ileap/tad`), which answer bad tokens with 403.
const ILEAP_PREFIX: &str = "/2/ileap/";
/// Path prefix of the PACT v3 routes, which answer bad tokens with 401.
const PACT_V3_PREFIX: &str = "/3/";

/// How refusals on protected routes are answered.
///
/// | refusal | [`pact_v2`](Self::pact_v2) | [`ileap`](Self::ileap) | [`pact_v3`](Self::pact_v3) |
/// |---|---|---|---|
/// | expired token | 401 `TokenExpired` | 401 `TokenExpired` | 401 `TokenExpired` |
/// | missing or invalid token | 400 `BadRequest` | 403 `AccessDenied` | 401 `BadRequest` |
/// | valid token, access rule not met | 403 `AccessDenied` | 403 `AccessDenied` | 403 `AccessDenied` |
/// | Clerk's keys unavailable | 503 `InternalError` | 503 `InternalError` | 503 `InternalError` |
///
/// The default, [`by_route`](Self::by_route), picks the profile by path with no configuration:
/// PACT v3 under `/3/`, iLEAP under `/2/ileap/`, PACT v2 everywhere else (`/2/...` and any other
/// route). [`ClerkBasicAuthConfig::with_error_style_for`](crate::ClerkBasicAuthConfig::with_error_style_for)
/// sets a profile for a prefix of your own.
///
/// Bodies are `{"code": "...", "message": "..."}` as `application/json`; the message names the
/// reason (expired, bad signature, unknown key, wrong issuer, ...) and never the token. Token
/// refusals carry `WWW-Authenticate: Bearer ...` (RFC 6750). Requests with a
/// `content-type: application/grpc*` get a gRPC answer instead: `grpc-status` 16
/// (UNAUTHENTICATED), 7 (PERMISSION_DENIED) or 14 (UNAVAILABLE), so tonic clients see a
/// proper `Status`.
///
/// ```
/// use bytes::Bytes;
/// use clerk_basic_auth::{AuthErrorKind, ClerkBasicAuthConfig, ErrorStyle};
///
/// let style = ErrorStyle::custom(|error, _request| {
///     let status = match error.kind() {
///         AuthErrorKind::Forbidden => 403,
///         AuthErrorKind::Unavailable => 503,
///         _ => 401,
///     };
///     http::Response::builder().status(status).body(Bytes::from(error.to_string())).unwrap()
/// });
/// let config = ClerkBasicAuthConfig::new("https://clerk.example.com")?.with_error_style(style);
/// # Ok::<(), clerk_basic_auth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ErrorStyle(Style);

#[derive(Clone)]
enum Style {
    ByRoute,
    PactV2,
    Ileap,
    PactV3,
    Custom(Arc<Handler>),
}

impl ErrorStyle {
    /// The profile of each route, with no configuration (the default): [`pact_v3`](Self::pact_v3)
    /// under `/3/`, [`ileap`](Self::ileap) under `/2/ileap/`, [`pact_v2`](Self::pact_v2)
    /// elsewhere.
    pub fn by_route() -> Self {
        Self(Style::ByRoute)
    }

    /// PACT v2: a missing or invalid token is 400 `BadRequest` (what the PACT v2 conformance
    /// service requires), except under `/2/ileap/` where it is 403 `AccessDenied` (iLEAP test
    /// case 7); an expired token is 401 `TokenExpired`.
    pub fn pact_v2() -> Self {
        Self(Style::PactV2)
    }

    /// iLEAP (`/2/ileap/tad`): a missing or invalid token is 403 `AccessDenied` (TC007), an
    /// expired one 401 `TokenExpired` (TC008).
    pub fn ileap() -> Self {
        Self(Style::Ileap)
    }

    /// PACT v3: a missing, invalid or expired token is 401 (the spec's MUST; code `BadRequest`, as
    /// the PACT conformance service expects, or `TokenExpired`), with
    /// `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3) and a JSON body (ADR-50).
    pub fn pact_v3() -> Self {
        Self(Style::PactV3)
    }

    /// Your own answer to every refusal, gRPC requests included. The handler gets the error and
    /// the request's head.
    pub fn custom<F>(handler: F) -> Self
    where
        F: Fn(&AuthError, &Parts) -> Response<Bytes> + Send + Sync + 'static,
    {
        Self(Style::Custom(Arc::new(handler)))
    }

    /// The answer to `error` for the request `parts`.
    pub(crate) fn respond(&self, error: &AuthError, parts: &Parts, realm: &str) -> Response<Bytes> {
        match &self.0 {
            Style::Custom(handler) => handler(error, parts),
            _ if is_grpc(parts) => grpc_response(error, parts),
            style => pact_response(style, error, parts.uri.path(), realm),
        }
    }
}

impl Default for ErrorStyle {
    fn default() -> Self {
        Self::by_route()
    }
}

/// The error styles of one layer: one for every route, and others for path prefixes (the
/// longest matching prefix wins).
#[derive(Clone, Debug, Default)]
pub(crate) struct ErrorStyles {
    /// Default: [`ErrorStyle::by_route`].
    pub(crate) all: ErrorStyle,
    /// Default: none.
    pub(crate) by_prefix: Vec<(String, ErrorStyle)>,
}

impl ErrorStyles {
    /// The answer to `error` for the request `parts`, in the style of its path.
    pub(crate) fn respond(&self, error: &AuthError, parts: &Parts, realm: &str) -> Response<Bytes> {
        let path = parts.uri.path();
        let chosen = self
            .by_prefix
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(&self.all, |(_, style)| style);
        chosen.respond(error, parts, realm)
    }
}

impl fmt::Debug for ErrorStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Style::ByRoute => "ErrorStyle::by_route",
            Style::PactV2 => "ErrorStyle::pact_v2",
            Style::Ileap => "ErrorStyle::ileap",
            Style::PactV3 => "ErrorStyle::pact_v3",
            Style::Custom(_) => "ErrorStyle::custom",
        })
    }
}

/// The answer while Clerk's keys are unavailable, for the routes that need them (the JWKS route
/// too): 503 `InternalError` with `Retry-After`.
pub(crate) fn keys_unavailable() -> Response<Bytes> {
    pact_response(&Style::PactV2, &AuthError::KeysUnavailable, "", "")
}

fn pact_response(style: &Style, error: &AuthError, path: &str, realm: &str) -> Response<Bytes> {
    #[derive(Serialize)]
    struct ErrorBody<'a> {
        code: &'static str,
        message: &'a str,
    }
    let profile = match style {
        Style::ByRoute if path.starts_with(PACT_V3_PREFIX) => &Style::PactV3,
        Style::ByRoute | Style::PactV2 if path.starts_with(ILEAP_PREFIX) => &Style::Ileap,
        style => style,
    };
    let (status, code) = match (error.kind(), profile) {
        (AuthErrorKind::Expired, _) => (StatusCode::UNAUTHORIZED, "TokenExpired"),
        (AuthErrorKind::Forbidden, _) => (StatusCode::FORBIDDEN, "AccessDenied"),
        (AuthErrorKind::Unavailable, _) => (StatusCode::SERVICE_UNAVAILABLE, "InternalError"),
        (_, Style::PactV3) => (StatusCode::UNAUTHORIZED, "BadRequest"),
        (_, Style::Ileap) => (StatusCode::FORBIDDEN, "AccessDenied"),
        _ => (StatusCode::BAD_REQUEST, "BadRequest"),
    };
    let message = error.to_string();
    let mut response = json_response(status, &ErrorBody { code, message: &message });
    let headers = response.headers_mut();
    if let Some(challenge) = bearer_challenge(error, realm) {
        headers.insert(WWW_AUTHENTICATE, challenge);
    }
    if error.kind() == AuthErrorKind::Unavailable {
        headers.insert(RETRY_AFTER, HeaderValue::from_static("10"));
    }
    response
}

/// RFC 6750 §3: no error code when no token was sent; `invalid_token` for a bad one;
/// `insufficient_scope` for a token without the rights.
fn bearer_challenge(error: &AuthError, realm: &str) -> Option<HeaderValue> {
    let challenge = match error.kind() {
        AuthErrorKind::Missing => format!("Bearer realm=\"{realm}\""),
        AuthErrorKind::Invalid | AuthErrorKind::Expired => {
            format!("Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{error}\"")
        }
        AuthErrorKind::Forbidden => format!("Bearer realm=\"{realm}\", error=\"insufficient_scope\""),
        AuthErrorKind::Unavailable => return None,
    };
    HeaderValue::try_from(challenge).ok()
}

fn is_grpc(parts: &Parts) -> bool {
    parts.headers.get(CONTENT_TYPE).is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

/// A trailers-only gRPC response: status and message in the headers, no body, in the request's
/// own content type (`application/grpc+proto`, `application/grpc-web`, ...).
fn grpc_response(error: &AuthError, parts: &Parts) -> Response<Bytes> {
    let status = match error.kind() {
        AuthErrorKind::Forbidden => "7",
        AuthErrorKind::Unavailable => "14",
        _ => "16",
    };
    let mut response = Response::new(Bytes::new());
    let headers = response.headers_mut();
    let content_type = parts.headers.get(CONTENT_TYPE).cloned();
    headers.insert(CONTENT_TYPE, content_type.unwrap_or(HeaderValue::from_static("application/grpc")));
    headers.insert("grpc-status", HeaderValue::from_static(status));
    if let Ok(message) = HeaderValue::try_from(grpc_percent_encode(&error.to_string())) {
        headers.insert("grpc-message", message);
    }
    response
}

/// gRPC's `grpc-message` encoding: printable ASCII but `%` as is, everything else `%XX`.
fn grpc_percent_encode(message: &str) -> String {
    let mut encoded = String::with_capacity(message.len());
    for byte in message.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;

    fn parts(path: &str, content_type: Option<&str>) -> Parts {
        let mut builder = Request::get(path);
        if let Some(content_type) = content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn answer(style: &ErrorStyle, error: AuthError, path: &str) -> (u16, serde_json::Value) {
        let response = style.respond(&error, &parts(path, None), "realm");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        (response.status().as_u16(), serde_json::from_slice(response.body()).unwrap())
    }

    #[test]
    fn pact_v2_answers_bad_tokens_with_bad_request_and_ileap_with_access_denied() {
        let style = ErrorStyle::pact_v2();
        let (status, body) = answer(&style, AuthError::BadSignature, "/2/footprints");
        assert_eq!((status, body["code"].as_str()), (400, Some("BadRequest")));
        assert_eq!(body["message"], "the access token's signature is invalid");
        assert_eq!(answer(&style, AuthError::MissingToken, "/2/events").0, 400);
        let (status, body) = answer(&style, AuthError::Malformed, "/2/ileap/tad");
        assert_eq!((status, body["code"].as_str()), (403, Some("AccessDenied")));
        let (status, body) = answer(&style, AuthError::Expired, "/2/ileap/tad");
        assert_eq!((status, body["code"].as_str()), (401, Some("TokenExpired")));
        let (status, body) = answer(&style, AuthError::KeysUnavailable, "/2/footprints");
        assert_eq!((status, body["code"].as_str()), (503, Some("InternalError")));
        let (status, body) = answer(&style, AuthError::AccessDenied("role".into()), "/2/footprints");
        assert_eq!((status, body["code"].as_str()), (403, Some("AccessDenied")));
    }

    #[test]
    fn pact_v3_answers_every_token_problem_with_401() {
        let style = ErrorStyle::pact_v3();
        assert_eq!(answer(&style, AuthError::MissingToken, "/3/footprints").0, 401);
        assert_eq!(answer(&style, AuthError::UnknownKey, "/2/ileap/tad").0, 401);
        assert_eq!(answer(&style, AuthError::Expired, "/3/footprints").1["code"], "TokenExpired");
    }

    #[test]
    fn by_route_answers_each_protocol_as_it_expects() {
        let style = ErrorStyle::by_route();
        let (status, body) = answer(&style, AuthError::BadSignature, "/3/footprints");
        assert_eq!((status, body["code"].as_str()), (401, Some("BadRequest")));
        assert_eq!(answer(&style, AuthError::Expired, "/3/footprints").0, 401);
        assert_eq!(answer(&style, AuthError::BadSignature, "/2/ileap/tad").0, 403);
        assert_eq!(answer(&style, AuthError::BadSignature, "/2/footprints").0, 400);
        assert_eq!(answer(&style, AuthError::BadSignature, "/me").0, 400);
        let v3 = style.respond(&AuthError::BadSignature, &parts("/3/footprints", None), "r");
        let challenge = v3.headers()[WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Bearer realm=\"r\", error=\"invalid_token\""), "{challenge}");
    }

    #[test]
    fn a_style_for_a_prefix_wins_over_the_style_for_all() {
        let styles = ErrorStyles {
            all: ErrorStyle::pact_v3(),
            by_prefix: vec![("/2/".into(), ErrorStyle::pact_v2()), ("/2/ileap/".into(), ErrorStyle::pact_v3())],
        };
        let status = |path: &str| styles.respond(&AuthError::Malformed, &parts(path, None), "r").status().as_u16();
        assert_eq!(status("/2/footprints"), 400);
        assert_eq!(status("/2/ileap/tad"), 401, "the longest prefix wins");
        assert_eq!(status("/other"), 401);
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        let style = ErrorStyle::pact_v2();
        let challenge = |error| style.respond(&error, &parts("/x", None), "r").headers().get(WWW_AUTHENTICATE).cloned();
        assert_eq!(challenge(AuthError::MissingToken).unwrap(), "Bearer realm=\"r\"");
        let expired = challenge(AuthError::Expired).unwrap();
        assert!(expired.to_str().unwrap().starts_with("Bearer realm=\"r\", error=\"invalid_token\""));
        assert!(challenge(AuthError::KeysUnavailable).is_none());
    }

    #[test]
    fn grpc_requests_get_a_grpc_status() {
        let style = ErrorStyle::pact_v2();
        let response = style.respond(&AuthError::Expired, &parts("/svc/Method", Some("application/grpc+proto")), "r");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["grpc-status"], "16");
        assert_eq!(response.headers()["grpc-message"], "the access token has expired");
        assert!(response.body().is_empty());
        assert_eq!(response.headers()[CONTENT_TYPE], "application/grpc+proto");
        let web = style.respond(&AuthError::MissingToken, &parts("/s/M", Some("application/grpc-web+proto")), "r");
        assert_eq!(web.headers()[CONTENT_TYPE], "application/grpc-web+proto");
        assert_eq!(web.headers()["grpc-status"], "16");
        let denied =
            style.respond(&AuthError::AccessDenied("100%".into()), &parts("/s/M", Some("application/grpc")), "r");
        assert_eq!(denied.headers()["grpc-status"], "7");
        assert_eq!(denied.headers()["grpc-message"], "access denied: 100%25");
    }

    #[test]
    fn a_custom_handler_answers_everything() {
        let style = ErrorStyle::custom(|error, parts| {
            Response::builder().status(418).body(Bytes::from(format!("{} {error}", parts.uri.path()))).unwrap()
        });
        let response = style.respond(&AuthError::Expired, &parts("/svc/M", Some("application/grpc")), "r");
        assert_eq!(response.status(), 418);
        assert_eq!(response.body(), "/svc/M the access token has expired");
    }
}
