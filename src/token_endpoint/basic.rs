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
            Self::Missing => {
                "client authentication required: send HTTP Basic credentials (or client_id and client_secret)"
            }
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

/// How the client encoded the user name and password inside the Basic credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum CredentialEncoding {
    /// Tell each request apart (the default): form-encoded (RFC 6749 §2.3.1, as Node's
    /// `openid-client` and `oauth4webapi` send them) when the user name carries a `%XX` escape
    /// (Clerk identifiers cannot hold `%`), or, for a user name a form encoder leaves unchanged,
    /// when the password carries one and nothing a form encoder would have escaped; raw (RFC 7617,
    /// as curl, authlib and the PACT conformance tool send them) otherwise. Never both: a second
    /// attempt at Clerk would spend the user's lockout budget.
    #[default]
    Auto,
    /// Always as sent.
    Raw,
    /// Always form-decoded.
    FormEncoded,
}

/// Reads `Authorization: Basic base64(user:password)`: scheme case-insensitive, split on the first
/// `:` (a password may hold colons), UTF-8, then form-decoded as `encoding` says.
pub(crate) fn credentials(headers: &HeaderMap, encoding: CredentialEncoding) -> Result<Credentials, BasicError> {
    let encoded = auth_header::credentials(headers, b"basic")
        .map_err(|error| match error {
            AuthHeaderError::TooLong => BasicError::TooLong,
            AuthHeaderError::Repeated | AuthHeaderError::OtherScheme => BasicError::NotBasic,
        })?
        .ok_or(BasicError::Missing)?;
    let decoded = STANDARD.decode(encoded.trim_ascii()).map_err(|_| BasicError::NotBase64)?;
    let decoded = String::from_utf8(decoded).map_err(|_| BasicError::NotUtf8)?;
    let split = decoded.find(':').ok_or(BasicError::NoColon)?;
    let form_encoded = match encoding {
        CredentialEncoding::Auto => looks_form_encoded(&decoded[..split], &decoded[split + 1..]),
        CredentialEncoding::Raw => false,
        CredentialEncoding::FormEncoded => true,
    };
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

/// Whether a user name and password are the output of a form encoder rather than raw text.
fn looks_form_encoded(identifier: &str, password: &str) -> bool {
    if has_escape(identifier) {
        return true;
    }
    if !identifier.bytes().all(is_left_by_form_encoders) {
        // `@`, `+` and the like are escaped by every form encoder: raw.
        return false;
    }
    has_escape(password) && password.bytes().all(|b| is_left_by_form_encoders(b) || matches!(b, b'%' | b'+'))
}

fn has_escape(text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// The bytes `application/x-www-form-urlencoded` encoders write as they are.
fn is_left_by_form_encoders(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'*' | b'-' | b'.' | b'_')
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
        let credentials = credentials(&basic("ileap@way.cloud:pa:ss:wörd ✓"), CredentialEncoding::Raw).unwrap();
        assert_eq!(credentials.identifier(), "ileap@way.cloud");
        assert_eq!(credentials.password(), "pa:ss:wörd ✓");
    }

    #[test]
    fn scheme_is_case_insensitive_and_extra_spaces_are_tolerated() {
        for scheme in ["basic", "BASIC", "bAsIc"] {
            let value = format!("{scheme}   {}", STANDARD.encode("a:b"));
            let credentials = credentials(&headers(value.as_bytes()), CredentialEncoding::Raw).unwrap();
            assert_eq!(credentials.identifier(), "a");
        }
    }

    #[test]
    fn every_malformation_has_its_own_error() {
        let parse = |map: &HeaderMap| credentials(map, CredentialEncoding::Raw).unwrap_err();
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
    fn raw_and_form_encoded_credentials_are_told_apart_without_a_setting() {
        let auto = |user_pass: &str| {
            let credentials = credentials(&basic(user_pass), CredentialEncoding::Auto).unwrap();
            (credentials.identifier().to_owned(), credentials.password().to_owned())
        };
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        // openid-client and oauth4webapi (which also escapes - _ .).
        assert_eq!(auto("ileap-demo%40way.cloud:Hello%21World"), pair("ileap-demo@way.cloud", "Hello!World"));
        assert_eq!(auto("ileap%2Ddemo%40way%2Ecloud:p%2Bq+r"), pair("ileap-demo@way.cloud", "p+q r"));
        // curl, authlib, requests-oauthlib and the PACT conformance tool.
        assert_eq!(auto("ileap-demo@way.cloud:Hello%21World"), pair("ileap-demo@way.cloud", "Hello%21World"));
        assert_eq!(auto("user+tag@way.cloud:a+b"), pair("user+tag@way.cloud", "a+b"));
        // A user name a form encoder leaves as it is: the password decides.
        assert_eq!(auto("service_1:s%3Acret"), pair("service_1", "s:cret"));
        assert_eq!(auto("service_1:s%3Ac ret"), pair("service_1", "s%3Ac ret"), "a space is never form output");
        assert_eq!(auto("service_1:plain"), pair("service_1", "plain"));
    }

    #[test]
    fn form_decoding_can_be_forced_either_way() {
        let map = basic("user%40example.com:p%3Ass+w%26rd%3D1");
        let raw = credentials(&map, CredentialEncoding::Raw).unwrap();
        assert_eq!(raw.identifier(), "user%40example.com");
        assert_eq!(raw.password(), "p%3Ass+w%26rd%3D1");
        let decoded = credentials(&map, CredentialEncoding::FormEncoded).unwrap();
        assert_eq!(decoded.identifier(), "user@example.com");
        assert_eq!(decoded.password(), "p:ss w&rd=1");
        let literal = credentials(&basic("a:x&y=z"), CredentialEncoding::FormEncoded).unwrap();
        assert_eq!(literal.password(), "x&y=z");
        let colon_in_user = credentials(&basic("a%3Ab:c"), CredentialEncoding::FormEncoded).unwrap();
        assert_eq!((colon_in_user.identifier(), colon_in_user.password()), ("a:b", "c"));
    }
}
