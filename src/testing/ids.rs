//! Random identifiers in Clerk's shapes (`user_2x...`, trace ids, client tokens, secret keys).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    aws_lc_rs::rand::fill(&mut bytes).expect("aws-lc-rs failed to produce random bytes");
    bytes
}

/// A Clerk-style object id: `<prefix>_` and 27 base62 characters starting with `2`, like
/// `user_2xDemo...`.
pub(crate) fn clerk_id(prefix: &str) -> String {
    let bytes: [u8; 26] = random_bytes();
    let mut id = String::with_capacity(prefix.len() + 28);
    id.push_str(prefix);
    id.push_str("_2");
    id.extend(bytes.iter().map(|b| BASE62[usize::from(*b) % BASE62.len()] as char));
    id
}

/// `len` random lowercase hex characters (`clerk_trace_id`, `jti`).
pub(crate) fn hex(len: usize) -> String {
    let bytes: [u8; 32] = random_bytes();
    bytes
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .take(len)
        .map(|nibble| char::from_digit(u32::from(nibble), 16).expect("nibble is a hex digit"))
        .collect()
}

/// An opaque client token for the `Authorization` header (real ones are JWTs; clients must treat
/// them as opaque).
pub(crate) fn client_token() -> String {
    let bytes: [u8; 32] = random_bytes();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A development instance's secret key: `sk_test_` and 40 base62 characters, the form Clerk's
/// keys have and this crate's configuration checks.
pub(crate) fn secret_key() -> String {
    let bytes: [u8; 40] = random_bytes();
    let mut key = String::from("sk_test_");
    key.extend(bytes.iter().map(|b| BASE62[usize::from(*b) % BASE62.len()] as char));
    key
}
