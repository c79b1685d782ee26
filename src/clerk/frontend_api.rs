//! Where a Clerk instance's Frontend API is: a validated URL, from a URL or a publishable key.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use reqwest::Url;

/// A Clerk Frontend API URL: `https://` (plain `http://` only for loopback hosts, a fake Clerk in
/// tests), a host, maybe a path (Clerk's proxy mode serves the Frontend API under one), no user
/// info, query or fragment, no trailing slash.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct FrontendApi {
    url: Url,
    /// `url` as text, without a trailing slash.
    text: String,
}

/// Why a URL or a publishable key names no Frontend API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrontendApiError {
    InvalidUrl(&'static str),
    InvalidPublishableKey(&'static str),
}

impl FrontendApi {
    pub(crate) fn parse(raw: &str) -> Result<Self, FrontendApiError> {
        let invalid = FrontendApiError::InvalidUrl;
        let url = Url::parse(raw.trim()).map_err(|_| invalid("not an absolute URL"))?;
        let host = url.host_str().ok_or(invalid("no host"))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => return Err(invalid("must use https:// (http:// is allowed for loopback hosts only)")),
            _ => return Err(invalid("must use https://")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry user info"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("must not carry a query or fragment"));
        }
        let text = url.as_str().trim_end_matches('/').to_owned();
        Ok(Self { url, text })
    }

    /// The instance a publishable key (`pk_test_...` or `pk_live_...`) belongs to: the key carries
    /// the Frontend API host.
    pub(crate) fn from_publishable_key(key: &str) -> Result<Self, FrontendApiError> {
        let host = decode_publishable_key(key)?;
        Self::parse(&format!("https://{host}"))
    }

    /// The URL as text, without a trailing slash.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The URL of `segments` under the Frontend API.
    pub(crate) fn url_of(&self, segments: &[&str]) -> Url {
        let mut url = self.url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Clerk's JWKS: `{frontend api}/.well-known/jwks.json`.
    pub(crate) fn jwks_url(&self) -> Url {
        self.url_of(&[".well-known", "jwks.json"])
    }
}

impl fmt::Debug for FrontendApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

/// `localhost` or a loopback address (`127.0.0.0/8`, `[::1]`).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The Frontend API host a publishable key carries: `pk_(test|live)_` + base64(`<host>$`).
fn decode_publishable_key(key: &str) -> Result<String, FrontendApiError> {
    let invalid = FrontendApiError::InvalidPublishableKey;
    let encoded = key
        .trim()
        .strip_prefix("pk_test_")
        .or_else(|| key.trim().strip_prefix("pk_live_"))
        .ok_or(invalid("must start with pk_test_ or pk_live_"))?;
    let decoded = STANDARD_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| invalid("the part after the prefix is not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid("does not decode to text"))?;
    let host = decoded.strip_suffix('$').ok_or(invalid("does not decode to a host followed by '$'"))?;
    if host.is_empty() || host.contains(['$', '/', '?', '#', '@']) || host.contains(char::is_whitespace) {
        return Err(invalid("does not decode to a host name"));
    }
    Ok(host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn pk(prefix: &str, payload: &str) -> String {
        format!("{prefix}{}", STANDARD.encode(payload))
    }

    #[test]
    fn publishable_key_decodes_with_and_without_padding() {
        // "clerk.ex.com$" is 13 bytes: base64 pads it with "==".
        let padded = pk("pk_live_", "clerk.ex.com$");
        assert!(padded.ends_with("=="));
        assert_eq!(decode_publishable_key(&padded).unwrap(), "clerk.ex.com");
        assert_eq!(decode_publishable_key(padded.trim_end_matches('=')).unwrap(), "clerk.ex.com");
        let dev = pk("pk_test_", "happy-hippo-1.clerk.accounts.dev$");
        assert_eq!(decode_publishable_key(&dev).unwrap(), "happy-hippo-1.clerk.accounts.dev");
    }

    #[test]
    fn publishable_key_errors_are_specific() {
        let reason = |key: &str| match decode_publishable_key(key) {
            Err(FrontendApiError::InvalidPublishableKey(reason)) => reason,
            other => panic!("expected an error, got {other:?}"),
        };
        assert!(reason("sk_test_abc").contains("pk_test_"));
        assert!(reason("pk_test_!!!").contains("base64"));
        assert!(reason(&pk("pk_test_", "clerk.example.com")).contains("'$'"));
        assert!(reason(&pk("pk_test_", "clerk.example.com$$")).contains("host"));
        assert!(reason(&pk("pk_test_", "$")).contains("host"));
        assert!(reason(&format!("pk_test_{}", STANDARD.encode([0xff, 0xfe, b'$']))).contains("text"));
    }

    #[test]
    fn frontend_api_must_be_https_unless_loopback() {
        let parse = |raw: &str| FrontendApi::parse(raw).map(|api| api.as_str().to_owned());
        assert_eq!(parse("https://clerk.example.com/").unwrap(), "https://clerk.example.com");
        assert_eq!(parse("https://example.com/__clerk/").unwrap(), "https://example.com/__clerk");
        assert_eq!(parse("http://127.0.0.1:4000").unwrap(), "http://127.0.0.1:4000");
        assert_eq!(parse("http://localhost:4000").unwrap(), "http://localhost:4000");
        assert_eq!(parse("http://[::1]:4000").unwrap(), "http://[::1]:4000");
        for bad in [
            "http://clerk.example.com",
            "http://127.0.0.1.example.com",
            "ftp://clerk.example.com",
            "clerk.example.com",
            "https://user:pw@clerk.example.com",
            "https://clerk.example.com/?x=1",
            "https://clerk.example.com/#x",
            "",
        ] {
            assert!(matches!(parse(bad), Err(FrontendApiError::InvalidUrl(_))), "{bad:?} should be refused");
        }
    }

    #[test]
    fn urls_under_the_frontend_api_keep_its_path() {
        let api = FrontendApi::parse("https://example.com/__clerk/").unwrap();
        assert_eq!(api.jwks_url().as_str(), "https://example.com/__clerk/.well-known/jwks.json");
        assert_eq!(api.url_of(&["v1", "client"]).as_str(), "https://example.com/__clerk/v1/client");
    }
}
