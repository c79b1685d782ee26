//! A token's JOSE header: its three segments, the header rules (alg, typ) read before any key is
//! looked up, and the last header that led to a verified token, kept so that the next token with
//! the same header segment is not decoded again (Clerk signs every token of a key with the same
//! header, so on a busy server nearly every new token has it).

use std::borrow::Cow;
use std::sync::Arc;

use arc_swap::{ArcSwapOption, Guard};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::auth_error::AuthError;

/// Room for a decoded JOSE header on the stack (Clerk's are under 100 bytes); a longer header
/// is refused as malformed.
pub(super) const HEADER_BUFFER: usize = 512;

/// The three segments of a compact JWS, as verification reads them.
pub(super) struct Segments<'t> {
    /// The base64url JOSE header.
    pub(super) header: &'t str,
    /// The base64url payload.
    pub(super) payload: &'t str,
    /// `header.payload`: what the signature signs.
    pub(super) signing_input: &'t str,
    /// The base64url signature.
    pub(super) signature: &'t str,
}

impl<'t> Segments<'t> {
    /// The segments of `token`: exactly three, separated by dots.
    pub(super) fn of(token: &'t str) -> Result<Self, AuthError> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(AuthError::Malformed)?;
        let (header, payload) = signing_input.split_once('.').ok_or(AuthError::Malformed)?;
        if payload.contains('.') {
            return Err(AuthError::Malformed);
        }
        Ok(Self { header, payload, signing_input, signature })
    }
}

/// The JOSE header fields the rules look at; strings are borrowed from the decoded header unless
/// they hold escapes.
#[derive(Deserialize)]
pub(super) struct Header<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(default, borrow)]
    typ: Option<Cow<'a, str>>,
    /// Clerk's token category (`@clerk/backend` `tokens/jwtCategories.ts`).
    #[serde(default, borrow)]
    pub(super) cat: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub(super) kid: Option<Cow<'a, str>>,
}

impl<'a> Header<'a> {
    /// The header of a token's header `segment`, decoded into `buffer`: RS256 only, `typ` `JWT`
    /// if present.
    pub(super) fn parse(segment: &str, buffer: &'a mut [u8; HEADER_BUFFER]) -> Result<Self, AuthError> {
        if segment.len() > HEADER_BUFFER * 4 / 3 {
            return Err(AuthError::Malformed);
        }
        let length = URL_SAFE_NO_PAD.decode_slice(segment, buffer).map_err(|_| AuthError::Malformed)?;
        let header: Self = serde_json::from_slice(&buffer[..length]).map_err(|_| AuthError::Malformed)?;
        if header.alg != "RS256" {
            return Err(AuthError::UnsupportedAlgorithm);
        }
        if header.typ.as_deref().is_some_and(|typ| typ != "JWT") {
            return Err(AuthError::UnsupportedType);
        }
        Ok(header)
    }
}

/// The header segment of the last token a verifier verified, with its `kid`.
///
/// Concurrency: [`get`](Self::get) and [`remember`](Self::remember) never wait; a reader sees the
/// previous or the next header, either of which passed every header rule of this verifier. Only
/// headers of verified tokens are kept, so tokens that fail cannot push out the one in use.
#[derive(Default)]
pub(super) struct LastHeader(ArcSwapOption<SeenHeader>);

/// A header segment that passed the header rules, and the `kid` it names.
struct SeenHeader {
    segment: Box<str>,
    kid: Option<Box<str>>,
}

/// The last verified header, as found for a token that has it (a guard, not a reference count:
/// readers on every core do not write to one shared counter).
pub(super) struct Seen(Guard<Option<Arc<SeenHeader>>>);

impl Seen {
    /// The `kid` the header names.
    pub(super) fn kid(&self) -> Option<&str> {
        self.0.as_deref().and_then(|seen| seen.kid.as_deref())
    }
}

impl LastHeader {
    /// The last verified header, if `segment` is it byte for byte (a base64url header decodes
    /// to one JSON text, so the rules' answer is the same).
    pub(super) fn get(&self, segment: &str) -> Option<Seen> {
        let seen = self.0.load();
        seen.as_deref().is_some_and(|seen| *seen.segment == *segment).then_some(Seen(seen))
    }

    /// Keeps `segment` as the last verified header (unless it is already).
    pub(super) fn remember(&self, segment: &str, kid: Option<&str>) {
        if self.0.load().as_ref().is_some_and(|seen| *seen.segment == *segment) {
            return;
        }
        let seen = SeenHeader { segment: segment.into(), kid: kid.map(Into::into) };
        self.0.store(Some(Arc::new(seen)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with_header(header: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header))
    }

    fn header(token: &str) -> Result<Option<String>, AuthError> {
        let segments = Segments::of(token)?;
        Header::parse(segments.header, &mut [0; HEADER_BUFFER]).map(|header| header.kid.map(Cow::into_owned))
    }

    #[test]
    fn only_rs256_with_typ_jwt_passes_the_header_rules() {
        let header = |json: &str| header(&token_with_header(json));
        assert_eq!(
            header(r#"{"alg":"RS256","typ":"JWT","kid":"ins_1","cat":"cl_B7d4PD111AAA"}"#),
            Ok(Some("ins_1".into()))
        );
        assert_eq!(header(r#"{"alg":"RS256"}"#), Ok(None));
        for alg in ["none", "HS256", "RS512", "ES256", "PS256", "rs256"] {
            let json = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
            assert_eq!(header(&json), Err(AuthError::UnsupportedAlgorithm), "{alg}");
        }
        assert_eq!(header(r#"{"alg":"RS256","typ":"at+jwt"}"#), Err(AuthError::UnsupportedType));
        assert_eq!(header(r#"{"typ":"JWT"}"#), Err(AuthError::Malformed));
    }

    #[test]
    fn a_token_has_exactly_three_segments() {
        for token in ["a.b", "a.b.c.d", "abc", "", "a..b.c"] {
            assert!(Segments::of(token).is_err(), "{token}");
        }
        let segments = Segments::of("h.p.s").unwrap();
        assert_eq!(
            (segments.header, segments.payload, segments.signing_input, segments.signature),
            ("h", "p", "h.p", "s")
        );
        assert_eq!(self::header("!!!.e30.c2ln"), Err(AuthError::Malformed));
    }

    #[test]
    fn the_last_header_answers_only_its_own_segment() {
        let last = LastHeader::default();
        assert!(last.get("eyJhbGciOiJSUzI1NiJ9").is_none(), "nothing verified yet");
        last.remember("eyJhbGciOiJSUzI1NiJ9", Some("ins_1"));
        assert_eq!(last.get("eyJhbGciOiJSUzI1NiJ9").unwrap().kid(), Some("ins_1"));
        assert!(last.get("eyJhbGciOiJSUzI1NiJ8").is_none(), "one byte differs");
        assert!(last.get("eyJhbGciOiJSUzI1NiJ").is_none(), "a prefix");
        last.remember("eyJhbGciOiJSUzI1NiIsImtpZCI6Imluc18yIn0", Some("ins_2"));
        assert!(last.get("eyJhbGciOiJSUzI1NiJ9").is_none(), "replaced by the newer header");
    }
}
