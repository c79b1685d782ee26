//! Pagination links (`Link: <…>; rel="next"`) with the scheme and host the client used.
//!
//! Behind a reverse proxy that terminates TLS, the request reaching the demo is plain HTTP for
//! an internal host; the proxy says what the client used in RFC 7239 `Forwarded`
//! (`proto=https;host=api.example.com`) or in `X-Forwarded-Proto` / `X-Forwarded-Host`, and
//! a path it strips in `X-Forwarded-Prefix`. PACT wants the link absolute and on the host the
//! client asked for, and the conformance service cuts its base URL off the link before calling
//! it, so the link must start with exactly that base URL.
//!
//! Each value is taken from the first source that has a valid one: `Forwarded` (its first
//! element: the proxy nearest the client), then the `X-Forwarded-*` header (its first value),
//! then `Host` and the request's authority. A scheme is `http` or `https`; a host is a DNS name,
//! an IPv4 address or a bracketed IPv6 address, with an optional port: anything else (a `/`,
//! `@`, `\`, space, quote, …) is ignored, so a header cannot turn the link into another URL.

use axum::http::{HeaderMap, Uri, header};

/// `scheme://host[/prefix]` under which the client reached this server.
pub fn base_url(headers: &HeaderMap, uri: &Uri) -> String {
    let forwarded = headers.get(header::FORWARDED).and_then(|value| value.to_str().ok()).map(first_element);
    let forwarded = |name: &str| {
        forwarded
            .as_ref()
            .and_then(|pairs| pairs.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)))
            .map(|(_, value)| value.as_str())
    };
    let first_value =
        |name: &str| headers.get(name)?.to_str().ok().and_then(|value| value.split(',').next()).map(str::trim);
    let scheme =
        [forwarded("proto"), first_value("x-forwarded-proto")].into_iter().flatten().find_map(scheme).unwrap_or("http");
    let host = [
        forwarded("host"),
        first_value("x-forwarded-host"),
        headers.get(header::HOST).and_then(|host| host.to_str().ok()),
        uri.authority().map(|authority| authority.as_str()),
    ]
    .into_iter()
    .flatten()
    .find(|host| is_host(host))
    .unwrap_or("localhost");
    let prefix = first_value("x-forwarded-prefix")
        .map(|prefix| prefix.trim_end_matches('/'))
        .filter(|prefix| prefix.starts_with('/') && prefix.bytes().all(is_path_byte))
        .unwrap_or("");
    format!("{scheme}://{host}{prefix}")
}

/// The `Link` header value for the page after `offset + limit` of `path`: the query's other
/// parameters (the filters) stay, `limit` and `offset` are set anew.
pub fn next_page(base_url: &str, path: &str, query: &[(String, String)], limit: usize, offset: usize) -> String {
    let mut next = form_urlencoded::Serializer::new(String::new());
    for (name, value) in query {
        if !name.eq_ignore_ascii_case("limit") && !name.eq_ignore_ascii_case("offset") {
            next.append_pair(name, value);
        }
    }
    next.append_pair("limit", &limit.to_string());
    next.append_pair("offset", &offset.to_string());
    format!("<{base_url}{path}?{}>; rel=\"next\"", next.finish())
}

fn scheme(value: &str) -> Option<&'static str> {
    ["http", "https"].into_iter().find(|scheme| value.eq_ignore_ascii_case(scheme))
}

/// The `;`-separated `name=value` pairs of a `Forwarded` header's first `,`-separated element,
/// with quoted values unquoted (RFC 7239 §4: `host="[2001:db8::1]:8443"`).
fn first_element(header: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut pair = String::new();
    let mut chars = header.chars();
    let mut quoted = false;
    let mut push = |pair: &mut String| {
        if let Some((name, value)) = pair.split_once('=') {
            pairs.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        pair.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => pair.extend(chars.next()),
            ';' if !quoted => push(&mut pair),
            ',' if !quoted => break,
            c => pair.push(c),
        }
    }
    push(&mut pair);
    pairs
}

/// `host[:port]`: a DNS name or IPv4 address (dot-separated labels of letters, digits, `-` and
/// `_`) or a bracketed IPv6 address, then an optional port.
pub fn is_host(text: &str) -> bool {
    let (host, port) = match text.find(']') {
        Some(close) if text.starts_with('[') => match &text[close + 1..] {
            "" => (&text[..=close], None),
            rest => (&text[..=close], Some(rest.strip_prefix(':').unwrap_or(""))),
        },
        Some(_) => return false,
        None => match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        },
    };
    let host_ok = match host.strip_prefix('[').and_then(|ip| ip.strip_suffix(']')) {
        Some(ip) => ip.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            // A fully qualified name may end with a dot.
            let name = host.strip_suffix('.').unwrap_or(host);
            !name.is_empty()
                && name.len() <= 253
                && name.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                })
        }
    };
    let port_ok = port.is_none_or(|port| {
        (1..=5).contains(&port.len())
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| p <= 65_535)
    });
    host_ok && port_ok
}

fn is_path_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'_' | b'.' | b'~')
}
