//! Entry points for the fuzz targets under `fuzz/` (compiled only with `--cfg fuzzing`, which
//! cargo-fuzz sets): each parser of untrusted input, on raw bytes. None of them may panic, and
//! each checks the invariants its callers rely on.

use http::{HeaderMap, HeaderValue};

/// The token endpoint's `Authorization: Basic` parser, in each encoding mode. Returns whether
/// the header held credentials.
pub fn basic_header(value: &[u8]) -> bool {
    use crate::token_endpoint::basic::{CredentialEncoding, credentials};
    let Ok(value) = HeaderValue::from_bytes(value) else { return false };
    let mut headers = HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, value);
    let mut any = false;
    for encoding in [CredentialEncoding::Auto, CredentialEncoding::Raw, CredentialEncoding::FormEncoded] {
        if let Ok(credentials) = credentials(&headers, encoding) {
            assert!(!credentials.identifier().is_empty() && !credentials.password().is_empty());
            any = true;
        }
    }
    any
}

/// The token request's form parser. Returns whether it was a valid client-credentials form.
pub fn token_form(body: &[u8]) -> bool {
    crate::token_endpoint::form::parse(body).is_ok()
}

/// The protected routes' `Authorization: Bearer` parser and the JOSE header rules. Returns
/// whether the token passed the header rules.
pub fn bearer_and_jose_header(value: &[u8]) -> bool {
    let Ok(value) = HeaderValue::from_bytes(value) else { return false };
    let mut headers = HeaderMap::new();
    headers.insert(http::header::AUTHORIZATION, value);
    match crate::protect::bearer_token(&headers) {
        Ok(Some(token)) => crate::verify::check_header(token).is_ok(),
        _ => false,
    }
}

/// Verified claims, read as verification reads a payload and normalised (v1 and v2
/// organization claims). Returns whether they were accepted as claims.
pub fn claims(json: &[u8]) -> bool {
    let Ok(json) = std::str::from_utf8(json) else { return false };
    match crate::claims::ClerkClaims::from_json(json) {
        Some(claims) => {
            let _ = (claims.user_id(), claims.organization().map(|org| org.permissions().len()), claims.expires_at());
            // Every payload read as claims is one JSON object, so the full claim set parses.
            assert!(serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json).is_ok());
            true
        }
        None => false,
    }
}

/// The publishable-key decoder. Returns the Frontend API URL it names, which must be an
/// `https://` URL of a host and nothing else.
pub fn publishable_key(key: &str) -> Option<String> {
    let api = crate::clerk::frontend_api::FrontendApi::from_publishable_key(key).ok()?;
    let url = api.as_str();
    let host = url.strip_prefix("https://").expect("a key names an https:// Frontend API");
    assert!(!host.contains(['/', '\\', '@', '?', '#']) && !host.contains(char::is_whitespace), "{url}");
    Some(url.to_owned())
}
