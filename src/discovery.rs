//! OpenID Connect discovery (PACT 2.1+): the configuration document, with URLs built from how
//! the client reached the server, and Clerk's signing keys as a JWKS.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, HOST, VARY};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde::Serialize;

use crate::body::{Written, json_response};
use crate::protect::keys_unavailable;
use crate::verify::jwks::KeyStore;

/// How the discovery documents build their URLs, each with its default.
#[derive(Debug, Clone)]
pub(crate) struct DiscoverySettings {
    /// A fixed base URL instead of one derived from each request. Default: none.
    pub(crate) public_base_url: Option<String>,
    /// Honour `Forwarded` and `X-Forwarded-*`. Default: on.
    pub(crate) trust_forwarded_headers: bool,
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        Self { public_base_url: None, trust_forwarded_headers: true }
    }
}

/// The discovery routes of one layer.
pub(crate) struct Discovery {
    token_path: String,
    jwks_path: Option<String>,
    clerk_jwks_uri: String,
    public_base_url: Option<String>,
    trust_forwarded_headers: bool,
    keys: Arc<KeyStore>,
}

impl Discovery {
    /// Discovery for a token endpoint at `token_path` and keys served at `jwks_path` (or, without
    /// one, at Clerk's `clerk_jwks_uri`).
    pub(crate) fn new(
        settings: &DiscoverySettings,
        token_path: &str,
        jwks_path: Option<&str>,
        clerk_jwks_uri: String,
        keys: Arc<KeyStore>,
    ) -> Self {
        Self {
            token_path: token_path.to_owned(),
            jwks_path: jwks_path.map(str::to_owned),
            clerk_jwks_uri,
            public_base_url: settings.public_base_url.clone(),
            trust_forwarded_headers: settings.trust_forwarded_headers,
            keys,
        }
    }

    /// `GET /jwks`: Clerk's signing keys as this layer holds them.
    pub(crate) fn jwks<B>(&self, request: &Request<B>) -> Written {
        if let Some(refusal) = only_get(request.method()) {
            return Written::now(refusal);
        }
        let keys = Arc::clone(&self.keys);
        Written::later(async move {
            match keys.document().await {
                Ok(document) => {
                    let mut response = Response::new(document);
                    let headers = response.headers_mut();
                    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    headers.insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
                    response
                }
                Err(_) => keys_unavailable(),
            }
        })
    }

    /// `GET /.well-known/openid-configuration` (OpenID Connect Discovery, which PACT names) and
    /// `GET /.well-known/oauth-authorization-server` (RFC 8414, which OAuth-only clients such as
    /// oauth4webapi fetch): one document, advertising only what is served: the token endpoint,
    /// the client-credentials grant, both client authentication methods, the signing keys.
    pub(crate) fn metadata<B>(&self, request: &Request<B>) -> Response<Bytes> {
        #[derive(Serialize)]
        struct Document<'a> {
            issuer: &'a str,
            token_endpoint: String,
            jwks_uri: String,
            grant_types_supported: [&'static str; 1],
            token_endpoint_auth_methods_supported: [&'static str; 2],
            /// Required by both specs; empty, as there is no authorization endpoint.
            response_types_supported: [&'static str; 0],
        }
        if let Some(refusal) = only_get(request.method()) {
            return refusal;
        }
        let base = self.base_url(request);
        let jwks_uri = match &self.jwks_path {
            Some(path) => format!("{base}{path}"),
            None => self.clerk_jwks_uri.clone(),
        };
        let document = Document {
            issuer: &base,
            token_endpoint: format!("{base}{}", self.token_path),
            jwks_uri,
            grant_types_supported: ["client_credentials"],
            token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
            response_types_supported: [],
        };
        let mut response = json_response(StatusCode::OK, &document);
        let headers = response.headers_mut();
        if self.public_base_url.is_some() {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
        } else {
            // Built from this request's headers: no shared cache may hand it to another client.
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                VARY,
                HeaderValue::from_static("host, forwarded, x-forwarded-proto, x-forwarded-host, x-forwarded-prefix"),
            );
        }
        response
    }

    /// Scheme, host and path prefix under which the client reached this server.
    fn base_url<B>(&self, request: &Request<B>) -> String {
        if let Some(base) = &self.public_base_url {
            return base.clone();
        }
        let headers = request.headers();
        let forwarded =
            if self.trust_forwarded_headers { Forwarded::from_headers(headers) } else { Forwarded::default() };
        let is_scheme = |scheme: &str| matches!(scheme, "http" | "https");
        let scheme = forwarded
            .proto
            .filter(|scheme| is_scheme(scheme))
            .or_else(|| request.uri().scheme_str().filter(|scheme| is_scheme(scheme)).map(str::to_owned))
            .unwrap_or_else(|| "http".to_owned());
        let host = forwarded
            .host
            .filter(|host| is_host(host))
            .or_else(|| header_text(headers, HOST.as_str()).filter(|host| is_host(host)).map(str::to_owned))
            .or_else(|| {
                // An absolute-form target: its host and port only, never user info.
                let authority = request.uri().authority()?;
                let host = match authority.port_u16() {
                    Some(port) => format!("{}:{port}", authority.host()),
                    None => authority.host().to_owned(),
                };
                is_host(&host).then_some(host)
            })
            .unwrap_or_else(|| "localhost".to_owned());
        let prefix = forwarded.prefix.unwrap_or_default();
        format!("{scheme}://{host}{prefix}")
    }
}

fn only_get(method: &Method) -> Option<Response<Bytes>> {
    if method == Method::GET || method == Method::HEAD {
        return None;
    }
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    Some(response)
}

/// What a reverse proxy says about the original request: RFC 7239 `Forwarded` first, then the
/// `X-Forwarded-*` headers. Only the first (client-side) proxy's values count.
#[derive(Default)]
struct Forwarded {
    proto: Option<String>,
    host: Option<String>,
    prefix: Option<String>,
}

impl Forwarded {
    fn from_headers(headers: &HeaderMap) -> Self {
        let mut forwarded = Self::default();
        if let Some(first) = header_text(headers, "forwarded").and_then(|value| value.split(',').next()) {
            for pair in first.split(';') {
                let Some((name, value)) = pair.split_once('=') else { continue };
                let value = value.trim().trim_matches('"').to_owned();
                match name.trim().to_ascii_lowercase().as_str() {
                    "proto" => forwarded.proto = Some(value.to_ascii_lowercase()),
                    "host" => forwarded.host = Some(value),
                    _ => {}
                }
            }
        }
        let first = |name| header_text(headers, name).and_then(|value| value.split(',').next()).map(str::trim);
        forwarded.proto = forwarded.proto.or_else(|| first("x-forwarded-proto").map(str::to_ascii_lowercase));
        forwarded.host = forwarded.host.or_else(|| first("x-forwarded-host").map(str::to_owned));
        forwarded.prefix = first("x-forwarded-prefix")
            .map(|prefix| prefix.trim_end_matches('/'))
            .filter(|prefix| is_path_prefix(prefix))
            .map(str::to_owned);
        forwarded
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

/// A host and optional port: letters, digits, `-`, `.`, `:` and IPv6 brackets, nothing that
/// could break out of a URL.
fn is_host(host: &str) -> bool {
    !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']'))
}

/// A path that starts with exactly one `/` and has no `.` or `..` segment: it cannot name another
/// host (`//evil.example`) or climb out of the server's paths.
fn is_path_prefix(prefix: &str) -> bool {
    prefix.starts_with('/')
        && !prefix.starts_with("//")
        && prefix.bytes().all(is_path_byte)
        && prefix.split('/').all(|segment| segment != "." && segment != "..")
}

fn is_path_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'_' | b'.' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClerkBasicAuthConfig;

    fn discovery(configure: impl FnOnce(ClerkBasicAuthConfig) -> ClerkBasicAuthConfig) -> Discovery {
        let config = configure(ClerkBasicAuthConfig::new("https://clerk.example.com").unwrap());
        crate::layer::components(&config).discovery
    }

    fn document(discovery: &Discovery, request: Request<()>) -> serde_json::Value {
        let response = discovery.metadata(&request);
        assert_eq!(response.status(), 200);
        serde_json::from_slice(response.body()).unwrap()
    }

    #[test]
    fn urls_come_from_the_host_header() {
        let request = Request::get("/.well-known/openid-configuration").header("host", "api.example.com:8080");
        let doc = document(&discovery(|c| c), request.body(()).unwrap());
        assert_eq!(doc["issuer"], "http://api.example.com:8080");
        assert_eq!(doc["token_endpoint"], "http://api.example.com:8080/auth/token");
        assert_eq!(doc["jwks_uri"], "http://api.example.com:8080/jwks");
        assert_eq!(doc["grant_types_supported"], serde_json::json!(["client_credentials"]));
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post"])
        );
        assert_eq!(doc["response_types_supported"], serde_json::json!([]), "no authorization endpoint");
        assert!(doc.get("id_token_signing_alg_values_supported").is_none(), "no ID tokens are issued");
    }

    #[test]
    fn only_a_configured_base_url_makes_the_document_cacheable() {
        let request = || Request::get("/").header("host", "api.example.com").body(()).unwrap();
        let derived = discovery(|c| c).metadata(&request());
        assert_eq!(derived.headers()[CACHE_CONTROL], "no-store");
        let fixed = discovery(|c| c.with_public_base_url("https://api.example.com").unwrap());
        assert_eq!(fixed.metadata(&request()).headers()[CACHE_CONTROL], "public, max-age=300");
    }

    #[test]
    fn forwarding_headers_win_and_can_be_ignored() {
        let request = || {
            Request::get("/.well-known/openid-configuration")
                .header("host", "internal:3000")
                .header("x-forwarded-proto", "https")
                .header("x-forwarded-host", "pact.example.com")
                .header("x-forwarded-prefix", "/pact/")
                .body(())
                .unwrap()
        };
        let doc = document(&discovery(|c| c), request());
        assert_eq!(doc["token_endpoint"], "https://pact.example.com/pact/auth/token");
        let doc = document(&discovery(|c| c.with_forwarded_headers(false)), request());
        assert_eq!(doc["token_endpoint"], "http://internal:3000/auth/token");
    }

    #[test]
    fn rfc_7239_forwarded_is_read_first() {
        let request = Request::get("/")
            .header("forwarded", "for=192.0.2.60;proto=https;host=\"a.example.com\", for=10.0.0.1;proto=http")
            .header("x-forwarded-host", "b.example.com")
            .body(())
            .unwrap();
        assert_eq!(document(&discovery(|c| c), request)["issuer"], "https://a.example.com");
    }

    #[test]
    fn hostile_forwarding_values_are_dropped() {
        let request = Request::get("/")
            .header("host", "api.example.com")
            .header("x-forwarded-host", "evil.example.com/\"><script>")
            .header("x-forwarded-proto", "javascript")
            .header("x-forwarded-prefix", "//evil?x")
            .body(())
            .unwrap();
        assert_eq!(document(&discovery(|c| c), request)["token_endpoint"], "http://api.example.com/auth/token");
    }

    #[test]
    fn forwarded_prefixes_that_leave_the_server_and_hosts_with_user_info_are_dropped() {
        for prefix in ["//evil.example", "/../../x", "/a/./b", "/a/../b"] {
            let request = Request::get("/")
                .header("host", "api.example.com")
                .header("x-forwarded-prefix", prefix)
                .body(())
                .unwrap();
            assert_eq!(document(&discovery(|c| c), request)["issuer"], "http://api.example.com", "{prefix}");
        }
        let absolute = Request::get("http://user@evil.example:8443/.well-known/openid-configuration")
            .header("host", "bad host")
            .body(())
            .unwrap();
        assert_eq!(document(&discovery(|c| c), absolute)["issuer"], "http://evil.example:8443");
    }

    #[test]
    fn a_configured_base_url_and_paths_are_used_as_they_are() {
        let configured = discovery(|c| {
            c.with_public_base_url("https://api.example.com/pact/")
                .unwrap()
                .with_token_path("/oauth/token")
                .with_jwks_path(None)
        });
        let doc = document(&configured, Request::get("/").header("host", "x").body(()).unwrap());
        assert_eq!(doc["token_endpoint"], "https://api.example.com/pact/oauth/token");
        assert_eq!(doc["jwks_uri"], "https://clerk.example.com/.well-known/jwks.json");
    }

    #[test]
    fn only_get_and_head() {
        let response = discovery(|c| c).metadata(&Request::post("/").body(()).unwrap());
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[ALLOW], "GET, HEAD");
    }
}
