//! Clerk's time units: milliseconds since the Unix epoch in Frontend API objects, whole seconds
//! rounded up in `Retry-After` and lockout remainders.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, Clerk's timestamp unit in FAPI objects.
pub(crate) fn now_ms() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// `duration` in milliseconds.
pub(crate) fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Whole seconds, rounded up (a `Retry-After` or lockout remainder is never 0 while it lasts).
pub(crate) fn ceil_secs(duration: Duration) -> u64 {
    let secs = duration.as_secs();
    if duration.subsec_nanos() > 0 { secs + 1 } else { secs }
}
