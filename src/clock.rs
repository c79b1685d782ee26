//! Unix time, the one clock every rule reads: token expiry, verified-token lifetimes, session
//! expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now (0 on a clock set before 1970).
pub(crate) fn unix_now() -> u64 {
    unix_now_millis() / 1000
}

/// Milliseconds since the Unix epoch, now (0 on a clock set before 1970): for a caller that
/// needs seconds for the rules and finer time for something else from one reading.
pub(crate) fn unix_now_millis() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// Seconds since the epoch as a `SystemTime`, clamped to the year 9999 so that no claim value
/// can overflow the platform's time.
pub(crate) fn from_unix(secs: u64) -> SystemTime {
    const YEAR_9999: u64 = 253_402_300_799;
    UNIX_EPOCH + Duration::from_secs(secs.min(YEAR_9999))
}

/// Milliseconds since the epoch (Clerk's session `expire_at`) as a `SystemTime`, clamped the same way.
pub(crate) fn from_unix_millis(ms: u64) -> SystemTime {
    from_unix(ms / 1000) + Duration::from_millis(ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_claim_values_are_clamped_not_overflowed() {
        assert_eq!(from_unix(u64::MAX), from_unix(253_402_300_799));
        assert_eq!(from_unix_millis(1_500), UNIX_EPOCH + Duration::from_millis(1_500));
        assert!(unix_now() > 1_700_000_000);
    }
}
