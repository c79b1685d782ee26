//! HTTP Basic client credentials (RFC 7617), as iLEAP and PACT clients send them.

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;

use crate::auth_header::{self, AuthHeaderError};
use crate::clerk::credentials::Credentials;

/// Why the `Authorization` header holds no usable Basic credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BasicError {
    Missing,
    NotBasic,
    TooLong,
    NotBase64,
    NotUtf8,
    NoColon,
    EmptyUserName,
    EmptyPassword,
}

impl fmt::Display for BasicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "client authentication required: send HTTP Basic credentials",
            Self::NotBasic => "the Authorization header must use the Basic scheme",
            Self::TooLong => "the Authorization header is too long",
            Self::NotBase64 => "the Basic credentials are not valid base64",
            Self::NotUtf8 => "the Basic credentials are not valid UTF-8",
            Self::NoColon => "the Basic credentials must be client_id:client_secret",
            Self::EmptyUserName => "the client_id is empty",
            Self::EmptyPassword => "the client_secret is empty",
        })
    }
}

/// Reads `Authorization: Basic base64(user:password)`: scheme case-insensitive, split on the first
/// `:` (a password may hold colons), UTF-8. With `form_encoded`, both parts are form-decoded
/// first (RFC 6749 §2.3.1).
pub(crate) fn credentials(headers: &HeaderMap, form_encoded: bool) -> Result<Credentials, BasicError> {
    let encoded = auth_header::credentials(headers, b"basic")
        .map_err(|error| match error {
            AuthHeaderError::TooLong => BasicError::TooLong,
            AuthHeaderError::Repeated | AuthHeaderError::OtherScheme => BasicError::NotBasic,
        })?
        .ok_or(BasicError::Missing)?;
    let decoded = STANDARD.decode(encoded.trim_ascii()).map_err(|_| BasicError::NotBase64)?;
    let decoded = String::from_utf8(decoded).map_err(|_| BasicError::NotUtf8)?;
    let split = decoded.find(':').ok_or(BasicError::NoColon)?;
    let credentials = if form_encoded {
        let (user, password) = (form_decode(&decoded[..split]), form_decode(&decoded[split + 1..]));
        Credentials::from_joined(format!("{user}:{password}"), user.len())
    } else {
        Credentials::from_joined(decoded, split)
    };
    if credentials.identifier().is_empty() {
        return Err(BasicError::EmptyUserName);
    }
    if credentials.password().is_empty() {
        return Err(BasicError::EmptyPassword);
    }
    Ok(credentials)
}

/// `application/x-www-form-urlencoded` decoding of one value.
fn form_decode(value: &str) -> Cow<'_, str> {
    let mut decoded = form_urlencoded::parse(value.as_bytes()).map(|(key, rest)| {
        // `parse` splits on `&` and `=`; a lone value comes back as a key without a value.
        if rest.is_empty() { key } else { Cow::Owned(format!("{key}={rest}")) }
    });
    match (value.contains(['&', '=']), decoded.next()) {
        (false, Some(single)) => single,
        _ => Cow::Owned(percent_decode_keeping_separators(value)),
    }
}

/// Form-decoding of a value that holds `&` or `=`, which `form_urlencoded::parse` would split on.
fn percent_decode_keeping_separators(value: &str) -> String {
    value
        .split('&')
        .map(|part| {
            part.split('=')
                .map(|piece| form_urlencoded::parse(piece.as_bytes()).map(|(k, _)| k.into_owned()).collect::<String>())
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::AUTHORIZATION;

    fn headers(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    fn basic(user_pass: &str) -> HeaderMap {
        headers(format!("Basic {}", STANDARD.encode(user_pass)).as_bytes())
    }

    #[test]
    fn splits_on_the_first_colon_and_keeps_unicode() {
        let credentials = credentials(&basic("ileap@way.cloud:pa:ss:wörd ✓"), false).unwrap();
        assert_eq!(credentials.identifier(), "ileap@way.cloud");
        assert_eq!(credentials.password(), "pa:ss:wörd ✓");
    }

    #[test]
    fn scheme_is_case_insensitive_and_extra_spaces_are_tolerated() {
        for scheme in ["basic", "BASIC", "bAsIc"] {
            let value = format!("{scheme}   {}", STANDARD.encode("a:b"));
            let credentials = credentials(&headers(value.as_bytes()), false).unwrap();
            assert_eq!(credentials.identifier(), "a");
        }
    }

    #[test]
    fn every_malformation_has_its_own_error() {
        let parse = |map: &HeaderMap| credentials(map, false).unwrap_err();
        assert_eq!(parse(&HeaderMap::new()), BasicError::Missing);
        assert_eq!(parse(&headers(b"Bearer abc")), BasicError::NotBasic);
        assert_eq!(parse(&headers(b"Basicabc")), BasicError::NotBasic);
        assert_eq!(parse(&headers(b"Basic")), BasicError::NotBasic);
        assert_eq!(parse(&headers(b"Basic !!!")), BasicError::NotBase64);
        let not_utf8 = format!("Basic {}", STANDARD.encode([0xff, b':', b'x']));
        assert_eq!(parse(&headers(not_utf8.as_bytes())), BasicError::NotUtf8);
        assert_eq!(parse(&basic("no-colon")), BasicError::NoColon);
        assert_eq!(parse(&basic(":secret")), BasicError::EmptyUserName);
        assert_eq!(parse(&basic("user:")), BasicError::EmptyPassword);
        let long = format!("Basic {}", "A".repeat(crate::auth_header::MAX_LEN));
        assert_eq!(parse(&headers(long.as_bytes())), BasicError::TooLong);
        let mut two = basic("a:b");
        two.append(AUTHORIZATION, HeaderValue::from_static("Basic YTpi"));
        assert_eq!(parse(&two), BasicError::NotBasic);
    }

    #[test]
    fn form_decoding_is_opt_in() {
        let map = basic("user%40example.com:p%3Ass+w%26rd%3D1");
        let raw = credentials(&map, false).unwrap();
        assert_eq!(raw.identifier(), "user%40example.com");
        assert_eq!(raw.password(), "p%3Ass+w%26rd%3D1");
        let decoded = credentials(&map, true).unwrap();
        assert_eq!(decoded.identifier(), "user@example.com");
        assert_eq!(decoded.password(), "p:ss w&rd=1");
        let literal = credentials(&basic("a:x&y=z"), true).unwrap();
        assert_eq!(literal.password(), "x&y=z");
        let colon_in_user = credentials(&basic("a%3Ab:c"), true).unwrap();
        assert_eq!((colon_in_user.identifier(), colon_in_user.password()), ("a:b", "c"));
    }
}
