//! Clerk's rate limits: at most `limit` requests within a sliding `window`, per key (a client IP
//! for the Frontend API's sign-in creations, the secret key for the Backend API).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::Duration;

use tokio::time::Instant;

/// When each key made its recent requests.
#[derive(Debug)]
pub(crate) struct RateLimit<K> {
    log: HashMap<K, VecDeque<Instant>>,
}

impl<K> Default for RateLimit<K> {
    fn default() -> Self {
        Self { log: HashMap::new() }
    }
}

impl<K: Hash + Eq> RateLimit<K> {
    /// Counts a request of `key` at `now`; `Err(retry after)` when `limit` requests within
    /// `window` are already counted (the refused one is not).
    pub(crate) fn admit(&mut self, key: K, now: Instant, limit: u32, window: Duration) -> Result<(), Duration> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let log = self.log.entry(key).or_default();
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
