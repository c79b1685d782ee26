//! The one `Authorization` header of a request, read the same way for Basic (token endpoint) and
//! Bearer (protected routes): exactly one header, at most [`MAX_LEN`] bytes, the scheme matched
//! case-insensitively. What the credentials mean is the caller's business.

use http::HeaderMap;
use http::header::AUTHORIZATION;

/// The longest `Authorization` header read; anything longer is refused unparsed.
pub(crate) const MAX_LEN: usize = 8 * 1024;

/// Why the `Authorization` header holds no credentials of the wanted scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthHeaderError {
    /// More than one `Authorization` header.
    Repeated,
    /// Longer than [`MAX_LEN`].
    TooLong,
    /// Another scheme, or the scheme without a space after it.
    OtherScheme,
}

/// The credentials after `<scheme> ` (leading spaces skipped), or `Ok(None)` without the header.
pub(crate) fn credentials<'a>(headers: &'a HeaderMap, scheme: &[u8]) -> Result<Option<&'a [u8]>, AuthHeaderError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(AuthHeaderError::Repeated);
    }
    if value.len() > MAX_LEN {
        return Err(AuthHeaderError::TooLong);
    }
    strip_scheme(value.as_bytes(), scheme).map(Some).ok_or(AuthHeaderError::OtherScheme)
}

fn strip_scheme<'a>(value: &'a [u8], scheme: &[u8]) -> Option<&'a [u8]> {
    let (head, rest) = value.split_at_checked(scheme.len())?;
    if !head.eq_ignore_ascii_case(scheme) {
        return None;
    }
    match rest.first() {
        Some(b' ') => Some(rest.trim_ascii_start()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(AUTHORIZATION, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn one_header_of_the_scheme_yields_its_credentials() {
        assert_eq!(credentials(&headers(&["bAsIc   abc"]), b"basic"), Ok(Some(&b"abc"[..])));
        assert_eq!(credentials(&headers(&[]), b"basic"), Ok(None));
        assert_eq!(credentials(&headers(&["Basic"]), b"basic"), Err(AuthHeaderError::OtherScheme));
        assert_eq!(credentials(&headers(&["Basicabc"]), b"basic"), Err(AuthHeaderError::OtherScheme));
        assert_eq!(credentials(&headers(&["Bearer x"]), b"basic"), Err(AuthHeaderError::OtherScheme));
        assert_eq!(credentials(&headers(&["Basic a", "Basic b"]), b"basic"), Err(AuthHeaderError::Repeated));
        let long = HeaderValue::try_from(format!("Basic {}", "a".repeat(MAX_LEN))).unwrap();
        let mut map = HeaderMap::new();
        map.insert(AUTHORIZATION, long);
        assert_eq!(credentials(&map, b"basic"), Err(AuthHeaderError::TooLong));
    }
}
