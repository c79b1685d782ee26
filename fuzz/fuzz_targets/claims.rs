//! Verified claims as JSON, normalised into `ClerkClaims` (v1 and v2 organization claims).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    clerk_basic_auth::fuzzing::claims(data);
});
