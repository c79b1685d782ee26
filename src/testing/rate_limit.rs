//! Clerk's per-IP limit on sign-in creations: at most `limit` within a sliding `window`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

/// When each client IP created its recent sign-ins.
#[derive(Debug, Default)]
pub(crate) struct SignInRateLimit {
    log: HashMap<IpAddr, VecDeque<Instant>>,
}

impl SignInRateLimit {
    /// Counts a sign-in creation from `ip` at `now`; `Err(retry after)` when `limit` creations
    /// within `window` are already counted (the refused one is not).
    pub(crate) fn admit(&mut self, ip: IpAddr, now: Instant, limit: u32, window: Duration) -> Result<(), Duration> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let log = self.log.entry(ip).or_default();
        while log.front().is_some_and(|at| now - *at >= window) {
            log.pop_front();
        }
        if log.len() >= limit {
            let oldest = log.front().copied().unwrap_or(now);
            return Err(window.saturating_sub(now - oldest));
        }
        log.push_back(now);
        Ok(())
    }
}
