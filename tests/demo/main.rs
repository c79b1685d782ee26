//! The README's demo under test: its PACT routes (`demo_pact`) and third-party OAuth 2.0
//! clients against its token endpoint (`oauth_clients`), in one test binary. The demo's own code
//! (`examples/common`, `examples/pact`) is compiled here as the demo compiles it, at the crate
//! root, where it expects itself; the other integration tests are in `tests/integration`.

#[path = "../../examples/common/mod.rs"]
mod common;
#[path = "../../examples/pact/mod.rs"]
mod pact;

mod demo_pact;
mod oauth_clients;
