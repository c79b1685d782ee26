//! What the benches send, shared by them (`mod support;` in each bench; a folder, so cargo does
//! not take it for a bench of its own).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, Request, Uri};
use serde_json::{Value, json};

/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/auth/token";
/// The body of a client-credentials token request.
pub const FORM: &str = "grant_type=client_credentials";

/// A client-credentials token request, as an iLEAP / PACT client sends it.
#[allow(dead_code)]
pub fn token_request(authorization: &HeaderValue) -> Request<Body> {
    let mut request = Request::new(Body::from(FORM));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = Uri::from_static(TOKEN_PATH);
    let headers = request.headers_mut();
    headers.insert(AUTHORIZATION, authorization.clone());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(FORM.len()));
    request
}

/// The claims of a Clerk v2 session token for an organization admin, valid for ten years,
/// distinct by `jti`.
#[allow(dead_code)]
pub fn clerk_claims(issuer: &str, jti: &str) -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    json!({
        "exp": now + 10 * 365 * 24 * 3600,
        "fea": "o:footprints",
        "fva": [0, -1],
        "iat": now,
        "iss": issuer,
        "jti": jti,
        "nbf": now - 10,
        "o": {"id": "org_2xDemo", "slg": "way-demo", "rol": "admin", "per": "read,manage", "fpm": "3"},
        "sid": "sess_2xBenchSession00000000000",
        "sub": "user_2xDemo",
        "v": 2,
    })
}
