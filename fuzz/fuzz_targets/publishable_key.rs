//! The publishable-key decoder: an accepted key must name an `https://` URL of a bare host.
//!
//! First byte 0 mod 3: the rest is the key as configured (UTF-8). 1: the rest is the decoded
//! text of a `pk_test_` key, base64 with padding; 2: of a `pk_live_` key, without padding. The
//! fuzzer then works on the host text itself.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let key = match mode % 3 {
        0 => match std::str::from_utf8(rest) {
            Ok(key) => key.to_owned(),
            Err(_) => return,
        },
        1 => format!("pk_test_{}", STANDARD.encode(rest)),
        _ => format!("pk_live_{}", STANDARD_NO_PAD.encode(rest)),
    };
    clerk_basic_auth::fuzzing::publishable_key(&key);
});
