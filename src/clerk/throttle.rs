//! Sparing Clerk and its users: sliding windows (failed sign-ins per subject, sign-ins per client
//! address), holds on subjects Clerk is about to lock, and Clerk's own `Retry-After`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use quick_cache::sync::{Cache, EntryAction, EntryResult};

/// At most `limit` attempts per key within any `window` (a sliding window: the window never
/// reopens in full at once). Used for failed sign-ins per subject (an attempt is counted when it
/// starts, so concurrent attempts with different wrong passwords cannot all slip through; given
/// back if it failed for a reason that is not the credentials; cleared by a success) and for
/// sign-in attempts per client address.
pub(crate) struct SlidingWindow {
    limit: u32,
    window: Duration,
    attempts: Cache<String, Vec<(u64, Instant)>>,
}

/// How a reserved sign-in attempt ended.
pub(crate) enum Settle {
    /// The credentials were right: the count starts over.
    Success,
    /// Clerk refused the credentials: the attempt stays counted.
    Failure,
    /// Clerk failed or refused for another reason: the attempt is given back.
    NotCounted,
}

impl SlidingWindow {
    pub(crate) fn new(limit: u32, window: Duration, capacity: usize) -> Self {
        Self { limit: limit.max(1), window, attempts: Cache::new(capacity.max(1)) }
    }

    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// Counts attempt `ticket` for `key`, or says how long until the oldest counted attempt
    /// leaves the window.
    pub(crate) fn reserve(&self, key: &str, ticket: u64) -> Result<(), Duration> {
        let now = Instant::now();
        let (limit, window) = (self.limit, self.window);
        let mut refused = None;
        let count = |_: &String, attempts: &mut Vec<(u64, Instant)>| {
            attempts.retain(|(_, at)| now.saturating_duration_since(*at) < window);
            if attempts.len() >= limit as usize {
                let oldest = attempts.iter().map(|(_, at)| *at).min().unwrap_or(now);
                refused = Some(oldest.checked_add(window).map_or(window, |at| at.saturating_duration_since(now)));
            } else {
                attempts.push((ticket, now));
            }
            EntryAction::Retain(())
        };
        if let EntryResult::Vacant(guard) = self.attempts.entry(key, None, count) {
            let _ = guard.insert(vec![(ticket, now)]);
        }
        refused.map_or(Ok(()), |retry_after| Err(round_up(retry_after)))
    }

    /// Ends attempt `ticket` of [`reserve`](Self::reserve).
    pub(crate) fn settle(&self, key: &str, ticket: u64, outcome: Settle) {
        match outcome {
            Settle::Success => {
                self.attempts.remove(key);
            }
            Settle::Failure => {}
            Settle::NotCounted => {
                let give_back = |_: &String, attempts: &mut Vec<(u64, Instant)>| {
                    attempts.retain(|(held, _)| *held != ticket);
                    EntryAction::Retain(())
                };
                let _ = self.attempts.entry(key, Some(Duration::ZERO), give_back);
            }
        }
    }
}

/// Holds per key (a subject Clerk is about to lock): no attempt for the key until it passes.
pub(crate) struct Holds {
    until: Cache<String, Instant>,
}

impl Holds {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { until: Cache::new(capacity.max(1)) }
    }

    /// Holds `key` for `duration` from now (a longer hold already in force stays).
    pub(crate) fn hold(&self, key: &str, duration: Duration) {
        let Some(until) = Instant::now().checked_add(duration) else { return };
        let current = self.until.get(key);
        self.until.insert(key.to_owned(), current.map_or(until, |current| current.max(until)));
    }

    /// How long the hold on `key` still lasts, if it does.
    pub(crate) fn remaining(&self, key: &str) -> Option<Duration> {
        let left = self.until.get(key)?.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then(|| round_up(left))
    }
}

/// An identifier as Clerk matches it: e-mail addresses and usernames are case-insensitive.
pub(crate) fn normalised(identifier: &str) -> String {
    identifier.trim().to_lowercase()
}

/// A `Retry-After` from Clerk, in force until it has passed: no call of that kind meanwhile.
#[derive(Default)]
pub(crate) struct Backoff {
    until: Mutex<Option<Instant>>,
}

impl Backoff {
    /// How long the backoff still holds, if it does.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        let until = *self.until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let left = until?.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then(|| round_up(left))
    }

    /// Holds off for `duration` from now (a longer backoff already in force stays).
    pub(crate) fn hold(&self, duration: Duration) {
        let Some(until) = Instant::now().checked_add(duration) else { return };
        let mut current = self.until.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *current = Some(current.map_or(until, |current| current.max(until)));
    }
}

/// Whole seconds, rounded up, so a `Retry-After` never invites a retry that is still too early.
pub(crate) fn round_up(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs().saturating_add(u64::from(duration.subsec_nanos() > 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_counted_when_they_start_and_given_back_when_not_about_credentials() {
        let budget = SlidingWindow::new(2, Duration::from_secs(60), 10);
        assert!(budget.reserve("a@x", 1).is_ok());
        assert!(budget.reserve("a@x", 2).is_ok());
        let retry_after = budget.reserve("a@x", 3).unwrap_err();
        assert!((59..=60).contains(&retry_after.as_secs()));
        budget.settle("a@x", 2, Settle::NotCounted);
        assert!(budget.reserve("a@x", 4).is_ok(), "the given-back attempt is available again");
        budget.settle("a@x", 4, Settle::Success);
        assert!(budget.reserve("a@x", 5).is_ok() && budget.reserve("a@x", 6).is_ok(), "a success clears the count");
        assert!(budget.reserve("b@x", 7).is_ok(), "other keys have their own budget");
    }

    #[test]
    fn the_window_slides_instead_of_reopening_in_full() {
        let budget = SlidingWindow::new(2, Duration::from_millis(300), 10);
        assert!(budget.reserve("a", 1).is_ok());
        std::thread::sleep(Duration::from_millis(150));
        assert!(budget.reserve("a", 2).is_ok());
        assert!(budget.reserve("a", 3).is_err());
        std::thread::sleep(Duration::from_millis(200));
        assert!(budget.reserve("a", 4).is_ok(), "the first attempt left the window");
        assert!(budget.reserve("a", 5).is_err(), "the second is still in it: one slot, not two");
    }

    #[test]
    fn an_endless_window_does_not_overflow() {
        let budget = SlidingWindow::new(1, Duration::MAX, 10);
        assert!(budget.reserve("a", 1).is_ok());
        assert!(budget.reserve("a", 2).is_err());
        let backoff = Backoff::default();
        backoff.hold(Duration::MAX);
        assert_eq!(backoff.remaining(), None, "an impossible deadline is ignored, not a panic");
        let holds = Holds::new(10);
        holds.hold("a", Duration::MAX);
        assert_eq!(holds.remaining("a"), None);
    }

    #[test]
    fn a_hold_lasts_its_time_per_key() {
        let holds = Holds::new(10);
        holds.hold("a", Duration::from_millis(1500));
        assert_eq!(holds.remaining("a"), Some(Duration::from_secs(2)));
        holds.hold("a", Duration::from_millis(10));
        assert_eq!(holds.remaining("a"), Some(Duration::from_secs(2)), "a shorter hold does not shorten it");
        assert_eq!(holds.remaining("b"), None);
    }

    #[test]
    fn a_backoff_holds_until_it_passes_and_rounds_up() {
        let backoff = Backoff::default();
        assert_eq!(backoff.remaining(), None);
        backoff.hold(Duration::from_millis(1500));
        assert_eq!(backoff.remaining(), Some(Duration::from_secs(2)));
        backoff.hold(Duration::from_millis(10));
        assert_eq!(backoff.remaining(), Some(Duration::from_secs(2)), "a shorter hold does not shorten it");
        assert_eq!(round_up(Duration::from_millis(6_001)), Duration::from_secs(7));
        assert_eq!(round_up(Duration::from_secs(7)), Duration::from_secs(7));
    }
}
