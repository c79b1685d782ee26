//! Property tests of the parsers of untrusted input, the ones the fuzz targets under `fuzz/`
//! exercise, on stable and in `cargo test`: none panics on any input, each round-trips what a
//! client or Clerk would send, and each refuses what it must.

use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::string::string_regex;
use serde_json::{Map, Value, json};

use crate::auth_error::AuthError;
use crate::auth_header::MAX_LEN;
use crate::claims::ClerkClaims;
use crate::clerk::frontend_api::FrontendApi;
use crate::protect::bearer_token;
use crate::token_endpoint::basic::{CredentialEncoding, credentials};
use crate::token_endpoint::error::TokenError;
use crate::token_endpoint::form;
use crate::verify::jwks::{FixedKey, KeyStore};
use crate::verify::{Verdict, Verifier, VerifySettings};

/// Cases per property for the cheap parsers (proptest's default is 256).
const CASES: u32 = 1024;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, ..ProptestConfig::default() }
}

fn regex(pattern: &str) -> BoxedStrategy<String> {
    string_regex(pattern).expect("a valid regex").boxed()
}

/// Any text, newlines included.
fn text(max: usize) -> BoxedStrategy<String> {
    regex(&format!("(?s).{{0,{max}}}"))
}

fn nonempty_text(max: usize) -> BoxedStrategy<String> {
    regex(&format!("(?s).{{1,{max}}}"))
}

fn authorization(value: &[u8]) -> Option<HeaderMap> {
    let value = HeaderValue::from_bytes(value).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    Some(headers)
}

fn basic(user_pass: &str) -> HeaderMap {
    authorization(format!("Basic {}", STANDARD.encode(user_pass)).as_bytes()).expect("base64 is a valid header value")
}

fn form_encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The bytes `application/x-www-form-urlencoded` encoders write as they are (the WHATWG set).
fn left_by_form_encoders(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"*-._".contains(&byte)
}

/// The bytes a form encoder writes as `%XX`: all but the ones it leaves and the space (`+`).
fn percent_escaped(byte: u8) -> bool {
    !left_by_form_encoders(byte) && byte != b' '
}

fn parsed(headers: &HeaderMap, encoding: CredentialEncoding) -> Option<(String, String)> {
    credentials(headers, encoding).ok().map(|c| (c.identifier().to_owned(), c.password().to_owned()))
}

/// User names and passwords from the classes that decide the encoding: only bytes a form
/// encoder leaves, those plus spaces, typical e-mail addresses and passwords, and anything.
fn credential_text() -> BoxedStrategy<String> {
    prop_oneof![
        regex("[A-Za-z0-9*._-]{1,12}"),
        regex("[A-Za-z0-9*._ -]{1,12}"),
        regex("[a-z0-9.+_-]{1,10}@[a-z0-9-]{1,8}\\.[a-z]{2,4}"),
        regex("[!-~]{1,16}"),
        regex("[%+&=:a-f0-9]{1,12}"),
        nonempty_text(16),
    ]
    .boxed()
}

/// Bytes that reach the Basic parser past the scheme and past base64 as often as not.
fn basic_header_bytes() -> BoxedStrategy<Vec<u8>> {
    let after_scheme = |(scheme, rest): (String, Vec<u8>)| [scheme.into_bytes(), rest].concat();
    let base64 = |(scheme, raw, tail): (String, Vec<u8>, String)| format!("{scheme}{}{tail}", STANDARD.encode(raw));
    prop_oneof![
        vec(any::<u8>(), 0..64),
        (regex("[Bb][Aa][Ss][Ii][Cc][ \t]{0,3}"), vec(any::<u8>(), 0..48)).prop_map(after_scheme),
        (regex("[Bb]asic {1,3}"), vec(any::<u8>(), 0..48), regex("[ =]{0,3}"))
            .prop_map(base64)
            .prop_map(String::into_bytes),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(CASES))]

    /// Any header value: no panic, and credentials only with a non-empty user name and password;
    /// read raw, they are the decoded text split on its first colon.
    #[test]
    fn basic_header_never_panics(value in basic_header_bytes()) {
        let Some(headers) = authorization(&value) else { return Ok(()) };
        for encoding in [CredentialEncoding::Auto, CredentialEncoding::Raw, CredentialEncoding::FormEncoded] {
            if let Ok(c) = credentials(&headers, encoding) {
                prop_assert!(!c.identifier().is_empty() && !c.password().is_empty());
            }
        }
        if let Some((identifier, password)) = parsed(&headers, CredentialEncoding::Raw) {
            prop_assert!(!identifier.contains(':'));
            let encoded = value[5..].trim_ascii();
            let decoded = STANDARD.decode(encoded).expect("accepted, so base64");
            prop_assert_eq!(format!("{identifier}:{password}").into_bytes(), decoded);
        }
    }

    /// RFC 7617: any user name without a colon and any non-empty password come back as sent.
    #[test]
    fn raw_basic_credentials_round_trip(
        identifier in regex("(?s)[^:]{1,24}"),
        password in nonempty_text(24),
        scheme in regex("[Bb][Aa][Ss][Ii][Cc]"),
        spaces in regex(" [ \t]{0,3}"),
    ) {
        let headers = authorization(format!("{scheme}{spaces}{}", STANDARD.encode(format!("{identifier}:{password}"))).as_bytes()).unwrap();
        prop_assert_eq!(parsed(&headers, CredentialEncoding::Raw), Some((identifier, password)));
    }

    /// RFC 6749 §2.3.1: anything non-empty, form-encoded on both sides of the colon, comes back
    /// decoded when form encoding is forced, colons in the user name included.
    #[test]
    fn form_encoded_basic_credentials_round_trip(identifier in credential_text(), password in credential_text()) {
        let headers = basic(&format!("{}:{}", form_encode(&identifier), form_encode(&password)));
        prop_assert_eq!(parsed(&headers, CredentialEncoding::FormEncoded), Some((identifier, password)));
    }

    /// Auto on a form encoder's output decodes exactly when
    /// (a) the user name has a byte the encoder writes as `%XX` (anything but `[A-Za-z0-9*._-]`
    ///     and the space), or
    /// (b) the user name has no such byte and no space, and the password has such a byte;
    /// otherwise it takes the text raw, which is the original unless a space became `+`: a user
    /// name of `[A-Za-z0-9*._ -]` with a space, or a password of `[A-Za-z0-9*._ -]` with a space
    /// after such a user name, comes out with `+` for the space.
    #[test]
    fn auto_decodes_form_encoded_credentials_exactly_when_told_apart(
        identifier in credential_text(),
        password in credential_text(),
    ) {
        let (user, pass) = (form_encode(&identifier), form_encode(&password));
        let headers = basic(&format!("{user}:{pass}"));
        let escaped = |text: &str| text.bytes().any(percent_escaped);
        let decodes = escaped(&identifier) || (!identifier.contains(' ') && escaped(&password));
        let expected = if decodes { (identifier.clone(), password.clone()) } else { (user, pass) };
        prop_assert_eq!(parsed(&headers, CredentialEncoding::Auto), Some(expected.clone()));
        let original = expected == (identifier.clone(), password.clone());
        prop_assert_eq!(original, decodes || !(identifier.contains(' ') || password.contains(' ')));
    }

    /// Auto on credentials as sent raw follows its rule exactly: form-decoded when the user name
    /// holds a `%XX` escape, or when the user name is all `[A-Za-z0-9*._-]` and the password is
    /// all that plus `%` and `+` with a `%XX` escape in it; raw otherwise (a space, `@` or any
    /// other byte no form encoder writes keeps the text raw).
    #[test]
    fn auto_follows_its_rule_on_raw_credentials(
        identifier in prop_oneof![credential_text(), regex("[A-Za-z0-9%+ ]{1,12}")],
        password in prop_oneof![credential_text(), regex("[A-Za-z0-9%+ ]{1,12}")],
    ) {
        let headers = basic(&format!("{}:{password}", identifier.replace(':', "")));
        let (Some(raw), Some(decoded)) = (parsed(&headers, CredentialEncoding::Raw), parsed(&headers, CredentialEncoding::FormEncoded)) else {
            return Ok(());
        };
        let escape = |text: &str| {
            let b = text.as_bytes();
            (0..b.len().saturating_sub(2)).any(|i| b[i] == b'%' && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit())
        };
        let (id, pw) = (&raw.0, &raw.1);
        let form = escape(id)
            || (id.bytes().all(left_by_form_encoders)
                && escape(pw)
                && pw.bytes().all(|b| left_by_form_encoders(b) || b == b'%' || b == b'+'));
        prop_assert_eq!(parsed(&headers, CredentialEncoding::Auto), Some(if form { decoded } else { raw }));
    }

    /// Auto never decodes what curl sends for an e-mail address (a byte a form encoder escapes,
    /// `@`, and no `%XX`), whatever the password holds.
    #[test]
    fn auto_keeps_raw_e_mail_credentials(
        identifier in regex("[A-Za-z0-9.+_!#$&'*/=?^`{|}~-]{1,12}@[a-z0-9-]{1,10}(\\.[a-z0-9-]{1,6}){0,2}"),
        password in nonempty_text(24),
    ) {
        let headers = basic(&format!("{identifier}:{password}"));
        prop_assert_eq!(parsed(&headers, CredentialEncoding::Auto), Some((identifier, password)));
    }
}

/// A parameter name with some of its bytes escaped as `%XX` (either case): the name a form
/// decoder sees is the same.
fn escaped_name(name: &'static str) -> BoxedStrategy<String> {
    vec((any::<bool>(), any::<bool>()), name.len())
        .prop_map(move |flags| {
            name.bytes()
                .zip(flags)
                .map(|(byte, (escape, lower))| match (escape, lower) {
                    (false, _) => char::from(byte).to_string(),
                    (true, false) => format!("%{byte:02X}"),
                    (true, true) => format!("%{byte:02x}"),
                })
                .collect()
        })
        .boxed()
}

/// Parameters the token endpoint ignores (`scope`, `audience`, anything).
fn other_parameters() -> BoxedStrategy<Vec<(String, String)>> {
    let name = prop_oneof![
        Just("scope".to_owned()),
        Just("audience".to_owned()),
        Just("resource".to_owned()),
        regex("[a-z_]{1,12}"),
        text(8),
    ]
    .prop_filter("not one the endpoint reads", |name| {
        !matches!(name.as_str(), "grant_type" | "client_id" | "client_secret")
    });
    vec((name, text(16)), 0..5).boxed()
}

/// `name=value` pairs, names already encoded (see [`escaped_name`]), shuffled and serialized.
fn serialize(pairs: Vec<(String, String)>) -> String {
    pairs.into_iter().map(|(name, value)| format!("{name}={}", form_encode(&value))).collect::<Vec<_>>().join("&")
}

fn token_form_body() -> BoxedStrategy<(String, Option<String>, Option<String>)> {
    (
        escaped_name("grant_type"),
        prop::option::of((escaped_name("client_id"), text(16))),
        prop::option::of((escaped_name("client_secret"), text(16))),
        other_parameters(),
    )
        .prop_flat_map(|(grant_type, client_id, client_secret, others)| {
            let mut pairs: Vec<(String, String)> =
                others.into_iter().map(|(name, value)| (form_encode(&name), value)).collect();
            pairs.push((grant_type, "client_credentials".to_owned()));
            pairs.extend(client_id.clone());
            pairs.extend(client_secret.clone());
            let (id, secret) = (client_id.map(|(_, v)| v), client_secret.map(|(_, v)| v));
            Just(pairs).prop_shuffle().prop_map(move |pairs| (serialize(pairs), id.clone(), secret.clone()))
        })
        .boxed()
}

fn repeated_client_id_body() -> BoxedStrategy<String> {
    (
        prop::option::of((escaped_name("grant_type"), prop_oneof![Just("client_credentials".to_owned()), text(8)])),
        (escaped_name("client_id"), text(8)),
        (escaped_name("client_id"), text(8)),
        prop::option::of((escaped_name("client_secret"), text(8))),
        other_parameters(),
    )
        .prop_flat_map(|(grant_type, first, second, client_secret, others)| {
            let mut pairs: Vec<(String, String)> =
                others.into_iter().map(|(name, value)| (form_encode(&name), value)).collect();
            pairs.extend(grant_type);
            pairs.extend(client_secret);
            pairs.push(first);
            pairs.push(second);
            Just(pairs).prop_shuffle().prop_map(serialize)
        })
        .boxed()
}

proptest! {
    #![proptest_config(config(CASES))]

    /// Any body: no panic; accepted only as UTF-8 naming the client-credentials grant.
    #[test]
    fn token_form_never_panics(body in prop_oneof![
        vec(any::<u8>(), 0..96),
        text(64).prop_map(String::into_bytes),
        regex("((grant_type|client_id|client_secret|scope|%[0-9a-fA-F]{2}|[a-z_+])*(=[a-z_%+=]*)?&?){0,5}").prop_map(String::into_bytes),
    ]) {
        if form::parse(&body).is_ok() {
            let text = std::str::from_utf8(&body).expect("accepted, so UTF-8");
            prop_assert!(form_urlencoded::parse(text.as_bytes()).any(|(name, value)| name == "grant_type" && value == "client_credentials"));
        }
    }

    /// The in-place split of bodies with nothing to decode reads every body exactly as
    /// `form_urlencoded::parse` does.
    #[test]
    fn form_pairs_are_read_as_form_urlencoded_reads_them(body in prop_oneof![
        text(64),
        regex("((grant_type|client_id|scope|%[0-9a-fA-F]{2}|[a-z_+ ])*(=[a-z_%+=]*)?&{0,2}){0,5}"),
        regex("[a-z=&]{0,40}"),
    ]) {
        let ours: Vec<_> = form::Pairs::of(&body).collect();
        let theirs: Vec<_> = form_urlencoded::parse(body.as_bytes()).collect();
        prop_assert_eq!(ours, theirs, "{:?}", body);
    }

    /// `grant_type=client_credentials` with any other parameters in any order, each name however
    /// escaped, and `client_id`/`client_secret` at most once: accepted, with those two decoded.
    #[test]
    fn token_form_accepts_client_credentials_with_anything_else((body, client_id, client_secret) in token_form_body()) {
        match form::parse(body.as_bytes()) {
            Ok(form) => {
                prop_assert_eq!(form.client_id.as_deref(), client_id.as_deref(), "{}", body);
                prop_assert_eq!(form.client_secret.as_deref(), client_secret.as_deref(), "{}", body);
            }
            Err(error) => prop_assert!(false, "{body:?} refused: {error:?}"),
        }
    }

    /// RFC 6749 §3.2: a `client_id` sent twice is refused as repeated, whatever else is there
    /// (the grant type too) and however its name is escaped.
    #[test]
    fn token_form_refuses_a_repeated_client_id(body in repeated_client_id_body()) {
        let result = form::parse(body.as_bytes());
        prop_assert!(matches!(result, Err(TokenError::RepeatedParameter("client_id"))), "{body:?}: {:?}", result.err());
    }
}

/// Token text: no ASCII white space at either end, anything a header value may hold inside.
fn token_text() -> BoxedStrategy<String> {
    prop_oneof![
        regex("[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{1,40}"),
        regex("[!-~]([ \t!-~\u{80}-\u{10FFFF}]{0,30}[!-~])?"),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(CASES))]

    /// Any header value: no panic; a token is never empty nor padded with white space, and is in
    /// the header as it was sent.
    #[test]
    fn bearer_token_never_panics(value in prop_oneof![
        vec(any::<u8>(), 0..64),
        (regex("[Bb][Ee][Aa][Rr][Ee][Rr]"), vec(any::<u8>(), 0..48)).prop_map(|(scheme, rest)| [scheme.into_bytes(), rest].concat()),
    ]) {
        let Some(headers) = authorization(&value) else { return Ok(()) };
        if let Ok(Some(token)) = bearer_token(&headers) {
            prop_assert!(!token.is_empty() && token.trim_ascii() == token);
            prop_assert!(value.trim_ascii_end().ends_with(token.as_bytes()));
        }
    }

    /// `Bearer <token>` with any case of the scheme, one or more spaces (then tabs too) before the
    /// token and white space after it: exactly the token.
    #[test]
    fn bearer_token_is_the_text_after_the_scheme(
        case in vec(any::<bool>(), 6),
        before in regex(" [ \t]{0,4}"),
        token in token_text(),
        after in regex("[ \t]{0,4}"),
    ) {
        let scheme: String = "bearer".chars().zip(case).map(|(c, upper)| if upper { c.to_ascii_uppercase() } else { c }).collect();
        let headers = authorization(format!("{scheme}{before}{token}{after}").as_bytes()).unwrap();
        prop_assert_eq!(bearer_token(&headers), Ok(Some(token.as_str())));
    }

    /// Past 8 KiB the header is refused unparsed; the scheme with nothing after it is no token.
    #[test]
    fn bearer_token_limits(extra in 1usize..64, spaces in regex(" {1,4}")) {
        let token = |value: String| bearer_token(&authorization(value.as_bytes()).unwrap()).map(|t| t.map(str::to_owned));
        prop_assert_eq!(token(format!("Bearer {}", "a".repeat(MAX_LEN - 7 + extra))), Err(AuthError::HeaderTooLarge));
        let at_limit = token(format!("Bearer {}", "a".repeat(MAX_LEN - 7)));
        prop_assert!(at_limit.is_ok());
        prop_assert_eq!(token(format!("Bearer{spaces}")), Err(AuthError::MissingToken));
    }
}

/// An RSA key that signs whatever header it is given, and a verifier that trusts it (fixed key,
/// no network, no remembered tokens).
struct Signer {
    key_pair: aws_lc_rs::rsa::KeyPair,
    verifier: Verifier,
}

const ISSUER: &str = "https://clerk.example.com";

static SIGNER: LazyLock<Signer> = LazyLock::new(|| {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair as _;
    let key_pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = key_pair.public_key().as_der().unwrap();
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(der.as_ref()));
    let key = FixedKey::from_pem(&pem).unwrap();
    let settings = VerifySettings { verified_token_capacity: 0, ..VerifySettings::default() };
    Signer { key_pair, verifier: Verifier::new(&settings, Arc::new(KeyStore::fixed(&key)), ISSUER) }
});

impl Signer {
    fn sign(&self, header: &[u8], claims: &Value) -> String {
        let mut jwt = URL_SAFE_NO_PAD.encode(header);
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                jwt.as_bytes(),
                &mut signature,
            )
            .unwrap();
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
        jwt
    }

    fn verify(&self, token: &str) -> Result<ClerkClaims, AuthError> {
        match self.verifier.verify_now(token) {
            Verdict::Verified(claims) => Ok(claims),
            Verdict::Refused(error) => Err(error),
            Verdict::NeedsKeys => panic!("a fixed key never needs fetching"),
        }
    }
}

fn valid_claims() -> Value {
    let now = crate::clock::unix_now();
    json!({"sub": "user_1", "iss": ISSUER, "iat": now, "exp": now + 600, "sid": "sess_1"})
}

/// A header field: absent, a string (interesting ones first), `null`, or not a string.
fn header_field(interesting: &'static [&'static str]) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        4 => Just(None),
        4 => prop::sample::select(interesting).prop_map(|s| Some(Value::from(s))),
        2 => text(8).prop_map(|s| Some(Value::from(s))),
        1 => Just(Some(Value::Null)),
        1 => any::<i64>().prop_map(|n| Some(Value::from(n))),
    ]
    .boxed()
}

proptest! {
    // Each case signs with RSA-2048 and verifies: fewer cases.
    #![proptest_config(config(256))]

    /// The JOSE header rules, on tokens that are otherwise valid and signed by the trusted key:
    /// `alg` exactly `RS256`, then `typ` absent or `JWT`, then `cat` absent, a session token's, or
    /// the opt-out one; any `kid` (a fixed key verifies whatever it names), unknown fields
    /// ignored. A header that is not a JSON object of those types is malformed.
    #[test]
    fn jose_header_rules(
        alg in header_field(&["RS256", "RS256", "rs256", "none", "HS256", "RS512", "ES256", "PS256"]),
        typ in header_field(&["JWT", "JWT", "jwt", "at+jwt", "JWS"]),
        cat in header_field(&["cl_B7d4PD111AAA", "cl_I7d4PD111III", "cl_B7d4PD222AAA", "cl_M2M"]),
        kid in header_field(&["ins_1", ""]),
        extra in prop::option::of((regex("x[a-z]{0,4}"), text(6))),
    ) {
        let mut header = Map::new();
        for (name, value) in [("alg", &alg), ("typ", &typ), ("cat", &cat), ("kid", &kid)] {
            if let Some(value) = value {
                header.insert(name.to_owned(), value.clone());
            }
        }
        if let Some((name, value)) = extra {
            header.entry(name).or_insert(Value::from(value));
        }
        let token = SIGNER.sign(Value::Object(header).to_string().as_bytes(), &valid_claims());
        let text_or_none = |field: &Option<Value>| match field {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(AuthError::Malformed),
        };
        let expected = (|| {
            let alg = match &alg {
                Some(Value::String(alg)) => alg,
                _ => return Err(AuthError::Malformed),
            };
            let (typ, cat) = (text_or_none(&typ)?, text_or_none(&cat)?);
            text_or_none(&kid)?;
            if alg != "RS256" {
                return Err(AuthError::UnsupportedAlgorithm);
            }
            if typ.is_some_and(|typ| typ != "JWT") {
                return Err(AuthError::UnsupportedType);
            }
            if cat.is_some_and(|cat| cat != "cl_B7d4PD111AAA" && cat != "cl_I7d4PD111III") {
                return Err(AuthError::NotASessionToken);
            }
            Ok(())
        })();
        prop_assert_eq!(SIGNER.verify(&token).map(|claims| claims.user_id().to_owned()), expected.map(|()| "user_1".to_owned()));
    }

    /// Tokens that are not what the key signed: no panic, never verified, whatever the header,
    /// claims and signature segments hold.
    #[test]
    fn forged_tokens_are_refused(
        token in prop_oneof![
            text(64),
            regex("[A-Za-z0-9_.=+/-]{0,80}"),
            (vec(any::<u8>(), 0..40), vec(any::<u8>(), 0..40), vec(any::<u8>(), 0..40)).prop_map(|(h, c, s)| {
                format!("{}.{}.{}", URL_SAFE_NO_PAD.encode(h), URL_SAFE_NO_PAD.encode(c), URL_SAFE_NO_PAD.encode(s))
            }),
        ],
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        prop_assert!(SIGNER.verify(&token).is_err(), "{token:?}");
        // One bit changed anywhere in a genuine token (still text): refused.
        let genuine = SIGNER.sign(br#"{"alg":"RS256","typ":"JWT"}"#, &valid_claims());
        let mut bytes = genuine.into_bytes();
        let at = flip.index(bytes.len());
        bytes[at] ^= 1 << bit;
        if let Ok(tampered) = String::from_utf8(bytes) {
            prop_assert!(SIGNER.verify(&tampered).is_err(), "{tampered:?}");
        }
    }
}

/// JSON values, nested a little.
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
        text(10).prop_map(Value::from),
        prop::sample::select(&["org:admin", "admin", "org:", "", "read,manage", "1,3", "o:a,u:b", "org_1"][..])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![vec(inner.clone(), 0..6).prop_map(Value::from), json_object(inner).prop_map(Value::Object),]
    })
    .boxed()
}

/// Claim names Clerk uses, and others.
fn claim_name() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(&[
            "sub", "iss", "exp", "iat", "nbf", "sid", "azp", "sts", "v", "o", "fea", "org_id", "org_slug",
            "org_role", "org_permissions", "id", "slg", "rol", "per", "fpm",
        ][..]).prop_map(str::to_owned),
        1 => text(6),
    ]
    .boxed()
}

fn json_object(values: BoxedStrategy<Value>) -> BoxedStrategy<Map<String, Value>> {
    vec((claim_name(), values), 0..10).prop_map(|pairs| pairs.into_iter().collect()).boxed()
}

/// Claim sets: arbitrary, or with the required claims in place and the organization claims of
/// either version made of arbitrary values.
fn claim_set() -> BoxedStrategy<Map<String, Value>> {
    prop_oneof![
        json_object(json_value()),
        (json_object(json_value()), text(8), any::<u64>(), prop::option::of(Just(2u64))).prop_map(
            |(mut map, sub, exp, v)| {
                map.insert("sub".into(), sub.into());
                map.insert("iss".into(), ISSUER.into());
                map.insert("exp".into(), exp.into());
                if let Some(v) = v {
                    map.insert("v".into(), v.into());
                }
                map
            }
        ),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(CASES))]

    /// Any claim set: no panic; accepted exactly when `sub` and `iss` are strings and `exp` a
    /// non-negative integer; nothing dropped; an organization only with a non-empty id, its role
    /// with one `org:` prefix.
    #[test]
    fn claims_never_panic(map in claim_set()) {
        let required = map.get("sub").is_some_and(Value::is_string)
            && map.get("iss").is_some_and(Value::is_string)
            && map.get("exp").and_then(Value::as_u64).is_some();
        // The payload as it is signed: JSON text, read by verification in one pass.
        let payload = Value::Object(map.clone()).to_string();
        let claims = ClerkClaims::from_json(&payload);
        prop_assert_eq!(claims.is_some(), required);
        let Some(claims) = claims else { return Ok(()) };
        // Nothing dropped: every claim, as a JSON parser reads the payload.
        let parsed: Map<String, Value> = serde_json::from_str(&payload).unwrap();
        prop_assert_eq!(claims.claims(), &parsed);
        prop_assert_eq!(Some(claims.user_id()), map["sub"].as_str());
        prop_assert_eq!(Some(claims.issuer()), map["iss"].as_str());
        let _ = (claims.expires_at(), claims.issued_at(), claims.not_before(), claims.session_id(), claims.authorized_party());
        if let Some(org) = claims.organization() {
            prop_assert!(!org.id().is_empty());
            if let Some(role) = org.role() {
                prop_assert!(role.starts_with("org:") && !role["org:".len()..].starts_with("org:"), "{role}");
                prop_assert!(org.has_role(role) && org.has_role(&role["org:".len()..]));
            }
            for permission in org.permissions() {
                if let Some(bare) = permission.strip_prefix("org:")
                    && !bare.starts_with("org:")
                {
                    prop_assert!(org.has_permission(permission) && org.has_permission(bare), "{permission}");
                }
            }
        }
    }

    /// The one-pass payload reader tells each claim the rules read apart exactly as a
    /// `serde_json::Value` of the same payload does: absent, a non-negative integer, a string,
    /// or something else.
    #[test]
    fn the_payload_reader_sees_what_a_json_value_sees(map in claim_set()) {
        use crate::claims::{Claim, Payload};
        let text = Value::Object(map.clone()).to_string();
        let payload = Payload::parse(&text).expect("one JSON object");
        let seen = |claim: &Claim<'_>| match claim {
            Claim::Absent => "absent".to_owned(),
            Claim::Number(number) => format!("number {number}"),
            Claim::Text(text) => format!("text {text}"),
            Claim::Other => "other".to_owned(),
        };
        let value = |name: &str| match map.get(name) {
            None => "absent".to_owned(),
            Some(value) => match (value.as_u64(), value.as_str()) {
                (Some(number), _) => format!("number {number}"),
                (_, Some(text)) => format!("text {text}"),
                _ => "other".to_owned(),
            },
        };
        for (name, claim) in [
            ("exp", &payload.exp), ("nbf", &payload.nbf), ("iat", &payload.iat), ("iss", &payload.iss),
            ("sub", &payload.sub), ("sid", &payload.sid), ("azp", &payload.azp), ("sts", &payload.sts),
            ("v", &payload.v), ("fea", &payload.fea), ("org_id", &payload.org_id),
            ("org_slug", &payload.org_slug), ("org_role", &payload.org_role),
        ] {
            prop_assert_eq!(seen(claim), value(name), "{}", name);
        }
    }

    /// v1 organization claims: the role gets one `org:` prefix, with or without it as sent; the
    /// permissions are the strings of `org_permissions`, in order.
    #[test]
    fn v1_organization_claims(
        org_id in regex("org_[A-Za-z0-9]{1,10}"),
        role in regex("(org:){0,2}[a-z_]{1,10}"),
        permissions in vec(prop_oneof![3 => regex("org:[a-z]{1,6}:[a-z]{1,6}").prop_map(Value::from), 1 => json_value()], 0..6),
    ) {
        let map = json!({"sub": "user_1", "iss": ISSUER, "exp": 1, "org_id": org_id, "org_role": role, "org_permissions": permissions});
        let Value::Object(map) = map else { unreachable!() };
        let claims = ClerkClaims::from_verified(map).unwrap();
        let org = claims.organization().unwrap();
        prop_assert_eq!(org.id(), org_id.as_str());
        let bare = role.trim_start_matches("org:");
        let expected_role = format!("org:{bare}");
        prop_assert_eq!(org.role(), Some(expected_role.as_str()));
        prop_assert!(org.has_role(bare) && org.has_role(&role));
        let strings: Vec<&str> = permissions.iter().filter_map(Value::as_str).collect();
        prop_assert_eq!(org.permissions(), strings.as_slice());
    }

    /// v2 organization claims: `org:<feature>:<permission>` for each bit set in the mask of each
    /// organization feature (`o` in its scope), least significant bit first, at most 64 bits.
    #[test]
    fn v2_organization_permissions(
        features in vec((regex("[ou]{1,2}"), regex("[a-z_]{1,8}")), 0..5),
        permissions in vec(regex("[a-z_]{1,8}"), 1..70),
        masks in vec(prop_oneof![any::<u64>(), 0u64..8], 0..6),
    ) {
        let fea = features.iter().map(|(scope, feature)| format!("{scope}:{feature}")).collect::<Vec<_>>().join(",");
        let per = permissions.join(",");
        let fpm = masks.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let map = json!({
            "sub": "user_1", "iss": ISSUER, "exp": 1, "v": 2, "fea": fea,
            "o": {"id": "org_1", "rol": "admin", "per": per, "fpm": fpm},
        });
        let Value::Object(map) = map else { unreachable!() };
        let claims = ClerkClaims::from_verified(map).unwrap();
        let org = claims.organization().unwrap();
        let mut expected = Vec::new();
        let org_features = features.iter().filter(|(scope, _)| scope.contains('o'));
        for ((_, feature), mask) in org_features.zip(&masks) {
            for (bit, permission) in permissions.iter().enumerate().take(64) {
                if (mask >> bit) & 1 == 1 {
                    expected.push(format!("org:{feature}:{permission}"));
                }
            }
        }
        prop_assert_eq!(org.permissions(), expected.as_slice());
        prop_assert_eq!(org.role(), Some("org:admin"));
    }

    /// `exp` that is not a non-negative integer (negative, fractional, text): no claims.
    #[test]
    fn exp_must_be_a_non_negative_integer(exp in prop_oneof![
        (i64::MIN..0).prop_map(Value::from),
        any::<f64>().prop_filter("finite, fractional", |f| f.is_finite() && f.fract() != 0.0).prop_map(Value::from),
        any::<u64>().prop_map(|n| Value::from(n.to_string())),
        Just(Value::Null),
    ]) {
        let Value::Object(map) = json!({"sub": "user_1", "iss": ISSUER, "exp": exp}) else { unreachable!() };
        prop_assert!(ClerkClaims::from_verified(map).is_none());
    }
}

/// A publishable key for `payload` (the text after decoding), padded or not.
fn publishable_key(live: bool, payload: &[u8], padded: bool) -> String {
    let prefix = if live { "pk_live_" } else { "pk_test_" };
    let encoded = if padded { STANDARD.encode(payload) } else { STANDARD_NO_PAD.encode(payload) };
    format!("{prefix}{encoded}")
}

/// Any `[a-z0-9-]+(\.[a-z0-9-]+)+`.
fn dotted_name() -> BoxedStrategy<String> {
    regex("[a-z0-9-]{1,10}(\\.[a-z0-9-]{1,10}){1,4}")
}

/// What the WHATWG URL parser reads as a number (an IPv4 part): decimal, octal or `0x` hex.
fn is_url_number(label: &str) -> bool {
    let hex = label.strip_prefix("0x").is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()));
    hex || (!label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()))
}

/// Host names a publishable key can carry: `[a-z0-9-]+(\.[a-z0-9-]+)+`, not starting with `-`
/// (`is_host_name`), the last label not a number (the URL parser would read an IPv4 address),
/// no `xn--` label (IDNA would have to decode it).
fn is_plain_host_name(host: &str) -> bool {
    !host.starts_with('-')
        && !is_url_number(host.rsplit('.').next().unwrap_or(""))
        && !host.split('.').any(|label| label.starts_with("xn--"))
}

fn host_name() -> BoxedStrategy<String> {
    prop_oneof![
        dotted_name(),
        regex("[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,3}\\.[a-z]{2,8}"),
    ]
    .prop_filter("a plain host name", |host| is_plain_host_name(host))
    .boxed()
}

/// What a key's host may not hold: anything that could move the URL elsewhere.
fn forbidden_char() -> BoxedStrategy<char> {
    prop_oneof![
        prop::sample::select(
            &['/', '\\', '@', ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{a0}', '\u{2028}', '\u{3000}'][..]
        ),
        prop::char::range('\0', '\u{1f}'),
        prop::char::range('\u{7f}', '\u{9f}'),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(CASES))]

    /// Any host name encoded as a publishable key, test or live, padded or not (and surrounded
    /// by white space), names `https://<host>`.
    #[test]
    fn publishable_keys_decode_to_their_host(
        host in host_name(),
        live in any::<bool>(),
        padded in any::<bool>(),
        around in regex("[ \t\n]{0,2}"),
    ) {
        let key = format!("{around}{}{around}", publishable_key(live, format!("{host}$").as_bytes(), padded));
        let api = FrontendApi::from_publishable_key(&key);
        prop_assert_eq!(api.map(|api| api.as_str().to_owned()), Ok(format!("https://{host}")), "{}", key);
    }

    /// The other `[a-z0-9-]+(\.[a-z0-9-]+)+`: refused, except labels that are all numbers, which
    /// the URL parser reads as an IPv4 address (`1.46` names `https://1.0.0.46`).
    #[test]
    fn publishable_keys_of_other_dotted_names(host in dotted_name(), padded in any::<bool>()) {
        let key = publishable_key(false, format!("{host}$").as_bytes(), padded);
        let url = FrontendApi::from_publishable_key(&key).map(|api| api.as_str().to_owned());
        if is_plain_host_name(&host) {
            prop_assert_eq!(url, Ok(format!("https://{host}")));
        } else if let Ok(url) = url {
            let address = url.strip_prefix("https://").and_then(|host| host.parse::<std::net::Ipv4Addr>().ok());
            prop_assert!(address.is_some() && host.split('.').all(is_url_number), "{host} names {url}");
        }
    }

    /// A key whose decoded text holds `/`, `\`, `@`, white space or a control character anywhere
    /// is refused, whatever surrounds it.
    #[test]
    fn publishable_keys_with_hostile_text_are_refused(
        before in prop_oneof![host_name(), text(8)],
        bad in forbidden_char(),
        after in prop_oneof![host_name(), text(8), Just(String::new())],
        live in any::<bool>(),
        padded in any::<bool>(),
    ) {
        let payload = format!("{before}{bad}{after}$");
        let key = publishable_key(live, payload.as_bytes(), padded);
        prop_assert!(FrontendApi::from_publishable_key(&key).is_err(), "{payload:?} accepted");
    }

    /// Any key: no panic; an accepted one names an `https://` URL of a bare host (no user info,
    /// path, query or fragment) that parses back to itself.
    #[test]
    fn publishable_key_never_panics(key in prop_oneof![
        text(48),
        regex("pk_(test|live)_[A-Za-z0-9+/=_-]{0,40}"),
        (any::<bool>(), vec(any::<u8>(), 0..40), any::<bool>()).prop_map(|(live, raw, padded)| publishable_key(live, &raw, padded)),
        (any::<bool>(), regex("[a-zA-Z0-9.:\\[\\]%-]{1,24}"), any::<bool>())
            .prop_map(|(live, host, padded)| publishable_key(live, format!("{host}$").as_bytes(), padded)),
    ]) {
        if let Ok(api) = FrontendApi::from_publishable_key(&key) {
            let url = api.as_str();
            let host = url.strip_prefix("https://").expect("https");
            prop_assert!(!host.is_empty() && !host.contains(['/', '\\', '@', '?', '#']) && !host.contains(char::is_whitespace), "{url}");
            prop_assert_eq!(FrontendApi::parse(url).map(|again| again.as_str().to_owned()), Ok(url.to_owned()));
        }
    }

    /// Frontend API URLs: no panic; an accepted one is `https://` (or `http://` on loopback),
    /// without user info, query, fragment or trailing slash, and parses back to itself.
    #[test]
    fn frontend_api_urls(raw in prop_oneof![
        text(48),
        (
            prop_oneof![Just("https://"), Just("http://"), Just("HTTPS://"), Just("ftp://"), Just("https:"), Just("")],
            prop_oneof![host_name(), Just("localhost".to_owned()), Just("127.0.0.1".to_owned()), Just("[::1]".to_owned()),
                regex("[a-z0-9.@:%\\[\\]-]{0,16}")],
            regex("(:[0-9]{0,6})?"),
            regex("(/[A-Za-z0-9._~%!$&'()*+,;=:@ -]{0,8}){0,3}/?"),
            regex("(\\?[a-z=]{0,4})?(#[a-z]{0,4})?"),
        ).prop_map(|(scheme, host, port, path, rest)| format!("{scheme}{host}{port}{path}{rest}")),
    ]) {
        let Ok(api) = FrontendApi::parse(&raw) else { return Ok(()) };
        let url = api.as_str();
        prop_assert!(url.starts_with("https://") || url.starts_with("http://"), "{url}");
        prop_assert!(!url.ends_with('/') && !url.contains(['?', '#']), "{url}");
        prop_assert!(!url.split("://").nth(1).unwrap().split('/').next().unwrap().contains('@'), "{url}");
        prop_assert_eq!(FrontendApi::parse(url).map(|again| again.as_str().to_owned()), Ok(url.to_owned()), "{}", raw);
    }
}
