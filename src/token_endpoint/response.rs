//! The token endpoint's successful answer (RFC 6749 §5.1), and the caching rule every answer of
//! the endpoint follows.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::{HeaderValue, Response};

use crate::clerk::sessions::Handed;

/// `{"access_token": jwt, "token_type": "Bearer", "expires_in": seconds}`, written directly:
/// the JWT is base64url and dots (checked when it came from Clerk), so it needs no escaping, and
/// the body is the hot path of every cached token request.
pub(super) fn token_response(handed: &Handed) -> Response<Bytes> {
    use std::io::Write as _;
    let jwt = handed.token.jwt.expose();
    let mut body = Vec::with_capacity(jwt.len() + 72);
    body.extend_from_slice(b"{\"access_token\":\"");
    body.extend_from_slice(jwt.as_bytes());
    body.extend_from_slice(b"\",\"token_type\":\"Bearer\",\"expires_in\":");
    write!(body, "{}}}", handed.expires_in).expect("writing to a Vec cannot fail");
    let mut response = Response::new(Bytes::from(body));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    no_store(response)
}

/// RFC 6749 §5.1: token responses, and errors of the token endpoint, are never cached.
pub(super) fn no_store(mut response: Response<Bytes>) -> Response<Bytes> {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_token_body_is_the_json_a_serializer_would_write() {
        let token = crate::clerk::sessions::AccessToken {
            jwt: crate::secret::Secret::new("eyJh.eyJz-_.c2ln"),
            expires_at: std::time::SystemTime::now() + Duration::from_secs(42),
            recheck_at: std::time::SystemTime::now() + Duration::from_secs(3600),
            quarter_life: Duration::from_secs(15),
        };
        let expires_in = token.expires_in();
        let response = token_response(&Handed { token: std::sync::Arc::new(token), expires_in });
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        let expires_in = body["expires_in"].as_u64().unwrap();
        assert!((41..=42).contains(&expires_in));
        assert_eq!(
            body,
            serde_json::json!({"access_token": "eyJh.eyJz-_.c2ln", "token_type": "Bearer", "expires_in": expires_in})
        );
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    }
}
