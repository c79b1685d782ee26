//! Everything that talks to Clerk's Frontend API.

pub(crate) mod fapi;
pub(crate) mod sessions;
pub(crate) mod throttle;
