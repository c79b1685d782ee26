//! The token request's form body: its content type, its size and time limits, and the grant type.

use std::borrow::Cow;
use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::TokenError;

/// How long a client may take to send the (small) request body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The media type of a token request.
const FORM: &[u8] = b"application/x-www-form-urlencoded";

pub(super) fn check_content_type(headers: &HeaderMap) -> Result<(), TokenError> {
    let value = headers.get(CONTENT_TYPE);
    // What nearly every client sends, as it is: nothing to split or compare case-insensitively.
    if value.is_some_and(|value| value.as_bytes() == FORM) {
        return Ok(());
    }
    let value = value.and_then(|value| value.to_str().ok()).unwrap_or("");
    let mut parts = value.split(';').map(str::trim);
    let is_form = parts.next().is_some_and(|media| media.eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    let charset_ok = parts.all(|param| match param.split_once('=') {
        Some((name, charset)) if name.trim().eq_ignore_ascii_case("charset") => {
            let charset = charset.trim().trim_matches('"');
            charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("us-ascii")
        }
        _ => true,
    });
    if is_form && charset_ok { Ok(()) } else { Err(TokenError::UnsupportedContentType) }
}

pub(super) async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, TokenError>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let mut collect = std::pin::pin!(Limited::new(body, limit).collect());
    // Most bodies have arrived with the headers: only a body still on its way gets a timer.
    let collected = match std::future::poll_fn(|cx| Poll::Ready(collect.as_mut().poll(cx))).await {
        Poll::Ready(collected) => collected,
        Poll::Pending => {
            let timeout = Box::pin(tokio::time::timeout(BODY_TIMEOUT, collect));
            timeout.await.map_err(|_| TokenError::BodyUnreadable)?
        }
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(TokenError::BodyTooLarge { limit }),
        Err(_) => Err(TokenError::BodyUnreadable),
    }
}

/// The parameters of a token request this endpoint reads. `scope`, `audience`, `resource` (PACT
/// v3 allows them) and any other parameter are accepted and ignored: the answer grants and
/// echoes none of them.
pub(crate) struct TokenForm<'a> {
    /// `client_secret_post` (RFC 6749 §2.3.1): the client's credentials in the body.
    pub(crate) client_id: Option<Cow<'a, str>>,
    pub(crate) client_secret: Option<Cow<'a, str>>,
}

/// Reads a UTF-8 form body: `grant_type=client_credentials` exactly once, each parameter at most
/// once (RFC 6749 §3.2).
pub(crate) fn parse(body: &[u8]) -> Result<TokenForm<'_>, TokenError> {
    let Ok(body) = std::str::from_utf8(body) else {
        return Err(TokenError::BodyUnreadable);
    };
    let (mut grant_type, mut client_id, mut client_secret) = (None, None, None);
    for (name, value) in Pairs::of(body) {
        let (slot, name) = match name.as_ref() {
            "grant_type" => (&mut grant_type, "grant_type"),
            "client_id" => (&mut client_id, "client_id"),
            "client_secret" => (&mut client_secret, "client_secret"),
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(TokenError::RepeatedParameter(name));
        }
    }
    match grant_type {
        None => Err(TokenError::MissingGrantType),
        Some(grant_type) if grant_type == "client_credentials" => Ok(TokenForm { client_id, client_secret }),
        Some(_) => Err(TokenError::UnsupportedGrantType),
    }
}

/// The name-value pairs of a form body, as `form_urlencoded::parse` reads them (pairs split on
/// `&`, empty ones skipped, name and value split on the first `=`). A body with nothing to decode,
/// no `%` and no `+`, as `grant_type=client_credentials` is, is split in place.
pub(crate) enum Pairs<'a> {
    Plain(std::str::Split<'a, char>),
    Encoded(form_urlencoded::Parse<'a>),
}

impl<'a> Pairs<'a> {
    pub(crate) fn of(body: &'a str) -> Self {
        if body.contains(['%', '+']) {
            Self::Encoded(form_urlencoded::parse(body.as_bytes()))
        } else {
            Self::Plain(body.split('&'))
        }
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (Cow<'a, str>, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Plain(pairs) => {
                let pair = pairs.find(|pair| !pair.is_empty())?;
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                Some((Cow::Borrowed(name), Cow::Borrowed(value)))
            }
            Self::Encoded(pairs) => pairs.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn content_type(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn form_content_types_with_a_utf8_charset_are_accepted() {
        for ok in [
            "application/x-www-form-urlencoded",
            "Application/X-WWW-Form-Urlencoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "application/x-www-form-urlencoded;charset=\"utf-8\"",
        ] {
            assert!(check_content_type(&content_type(ok)).is_ok(), "{ok}");
        }
        for bad in ["application/json", "text/plain", "application/x-www-form-urlencoded; charset=latin1"] {
            assert!(matches!(check_content_type(&content_type(bad)), Err(TokenError::UnsupportedContentType)), "{bad}");
        }
        assert!(check_content_type(&HeaderMap::new()).is_err());
    }

    #[test]
    fn grant_type_must_be_client_credentials_exactly_once() {
        assert!(parse(b"grant_type=client_credentials").is_ok());
        assert!(parse(b"scope=x&grant_type=client_credentials&audience=y").is_ok());
        assert!(matches!(parse(b""), Err(TokenError::MissingGrantType)));
        assert!(matches!(parse(b"{\"grant_type\":\"client_credentials\"}"), Err(TokenError::MissingGrantType)));
        assert!(matches!(parse(b"grant_type=password"), Err(TokenError::UnsupportedGrantType)));
        assert!(matches!(
            parse(b"grant_type=client_credentials&grant_type=client_credentials"),
            Err(TokenError::RepeatedParameter("grant_type"))
        ));
        assert!(matches!(parse(b"grant_type=\xff"), Err(TokenError::BodyUnreadable)));
        let post = parse(b"grant_type=client_credentials&client_id=a%40b.c&client_secret=s%26t&scope=x").unwrap();
        assert_eq!((post.client_id.as_deref(), post.client_secret.as_deref()), (Some("a@b.c"), Some("s&t")));
        assert!(matches!(
            parse(b"grant_type=client_credentials&client_id=a&client_id=b"),
            Err(TokenError::RepeatedParameter("client_id"))
        ));
    }
}
