//! The token request's form body parser (`grant_type=client_credentials`, each parameter once).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    clerk_basic_auth::fuzzing::token_form(data);
});
