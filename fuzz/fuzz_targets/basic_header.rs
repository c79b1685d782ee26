//! The token endpoint's `Authorization: Basic` parser, in each encoding mode.
//!
//! First byte even: the rest is the header value as sent. Odd: the rest is what the client
//! base64-encoded, sent as `Basic <base64>`, so the fuzzer works on the credentials themselves.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        clerk_basic_auth::fuzzing::basic_header(rest);
    } else {
        clerk_basic_auth::fuzzing::basic_header(format!("Basic {}", STANDARD.encode(rest)).as_bytes());
    }
});
