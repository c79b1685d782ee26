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

    /// A satellite domain's Frontend API, as Clerk's backend derives it: `https://clerk.<domain>`.
    pub(crate) fn of_satellite(domain: &str) -> Result<Self, FrontendApiError> {
        let domain = domain.trim().trim_start_matches("https://").trim_end_matches('/');
        if !is_host_name(domain) {
            return Err(FrontendApiError::InvalidUrl("a satellite domain must be a host name"));
        }
        Self::parse(&format!("https://clerk.{domain}"))
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

/// Where requests to Clerk's Frontend API go, and which issuer (`iss`) its tokens carry: the
/// same for a plain instance; apart behind a proxy, where requests go to the proxy but tokens
/// keep the real Frontend API host (`@clerk/backend`: "tokens are issued by the actual Clerk
/// API, not proxy"); both moved for a satellite domain.
#[derive(Debug, Clone)]
pub(crate) struct InstanceSettings {
    /// From the publishable key or the Frontend API URL.
    pub(crate) primary: FrontendApi,
    /// `CLERK_PROXY_URL`. Default: none.
    pub(crate) proxy: Option<FrontendApi>,
    /// `clerk.<CLERK_DOMAIN>` of a satellite. Default: none.
    pub(crate) satellite: Option<FrontendApi>,
    /// An explicit issuer. Default: none (derived).
    pub(crate) issuer: Option<String>,
}

impl InstanceSettings {
    pub(crate) fn new(primary: FrontendApi) -> Self {
        Self { primary, proxy: None, satellite: None, issuer: None }
    }

    /// Where Frontend API requests go: the proxy, else the satellite's, else the instance's.
    pub(crate) fn requests_to(&self) -> &FrontendApi {
        self.proxy.as_ref().or(self.satellite.as_ref()).unwrap_or(&self.primary)
    }

    /// The `iss` Clerk's tokens carry: the configured one, else the satellite's Frontend API, else
    /// the instance's (never the proxy's).
    pub(crate) fn issuer(&self) -> &str {
        match (&self.issuer, &self.satellite) {
            (Some(issuer), _) => issuer,
            (None, Some(satellite)) => satellite.as_str(),
            (None, None) => self.primary.as_str(),
        }
    }
}

/// `localhost` or a loopback address (`127.0.0.0/8`, `[::1]`).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A DNS host name, maybe with a port: what Clerk's `isPublishableKey` accepts (a `.` in it) and
/// nothing that could move the URL elsewhere (`/`, `\`, `@`, `?`, `#`, spaces, control characters).
fn is_host_name(host: &str) -> bool {
    host.contains('.')
        && !host.starts_with(['.', '-', ':'])
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
}

/// The Frontend API host a publishable key carries: `pk_(test|live)_` + base64(`<host>$`), split
/// by `_` into exactly three parts, as Clerk's own parser requires.
fn decode_publishable_key(key: &str) -> Result<String, FrontendApiError> {
    let invalid = FrontendApiError::InvalidPublishableKey;
    let key = key.trim();
    let encoded = key
        .strip_prefix("pk_test_")
        .or_else(|| key.strip_prefix("pk_live_"))
        .ok_or(invalid("must start with pk_test_ or pk_live_"))?;
    if encoded.contains('_') {
        return Err(invalid("must be pk_test_ or pk_live_ followed by base64"));
    }
    let decoded = STANDARD_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| invalid("the part after the prefix is not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid("does not decode to text"))?;
    let host = decoded.strip_suffix('$').ok_or(invalid("does not decode to a host followed by '$'"))?;
    if !is_host_name(host) {
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
        for hostile in ["evil.example\\clerk.example.com$", "evil.example/x.com$", "a@b.com$", "localhost$", "a.com\n$"]
        {
            assert!(reason(&pk("pk_live_", hostile)).contains("host"), "{hostile:?}");
        }
        assert!(reason("pk_test_Y2xlcmsuZXhhbXBsZS5jb20k_x").contains("base64"));
    }

    #[test]
    fn behind_a_proxy_requests_move_but_the_issuer_stays() {
        let mut instance =
            InstanceSettings::new(FrontendApi::from_publishable_key(&pk("pk_live_", "clerk.example.com$")).unwrap());
        assert_eq!(instance.issuer(), "https://clerk.example.com");
        instance.proxy = Some(FrontendApi::parse("https://app.example.com/__clerk").unwrap());
        assert_eq!(instance.requests_to().as_str(), "https://app.example.com/__clerk");
        assert_eq!(instance.issuer(), "https://clerk.example.com");
        instance.satellite = Some(FrontendApi::of_satellite("satellite.dev").unwrap());
        assert_eq!(instance.issuer(), "https://clerk.satellite.dev");
        instance.issuer = Some("https://issuer.example.com".into());
        assert_eq!(instance.issuer(), "https://issuer.example.com");
        assert!(FrontendApi::of_satellite("evil.com/x").is_err());
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
