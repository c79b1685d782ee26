//! The protected routes' `Authorization: Bearer` parser, then the JOSE header rules.
//!
//! First byte even: the rest is the header value as sent. Odd: the rest is the JOSE header's
//! JSON, sent as `Bearer <base64url(json)>.e30.c2ln`, so the fuzzer works on the header rules.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        clerk_basic_auth::fuzzing::bearer_and_jose_header(rest);
    } else {
        let value = format!("Bearer {}.e30.c2ln", URL_SAFE_NO_PAD.encode(rest));
        clerk_basic_auth::fuzzing::bearer_and_jose_header(value.as_bytes());
    }
});
