//! Sparing Clerk: a budget of failed sign-ins per identifier, and Clerk's own `Retry-After`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use quick_cache::sync::{Cache, EntryAction, EntryResult};

/// At most `limit` failed sign-ins per identifier within `window`. An attempt is counted when it
/// starts (so concurrent attempts with different wrong passwords cannot all slip through), given
/// back if it failed for a reason that is not the credentials, and the count is cleared by a
/// success.
pub(crate) struct FailureBudget {
    limit: u32,
    window: Duration,
    windows: Cache<String, FailureWindow>,
}

#[derive(Clone, Copy)]
struct FailureWindow {
    started: Instant,
    count: u32,
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

impl FailureBudget {
    pub(crate) fn new(limit: u32, window: Duration, capacity: usize) -> Self {
        Self { limit: limit.max(1), window, windows: Cache::new(capacity.max(1)) }
    }

    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// Counts an attempt for `identifier`, or says how long until one is allowed again.
    pub(crate) fn reserve(&self, identifier: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let (limit, window) = (self.limit, self.window);
        let mut refused = None;
        let count = |_: &String, current: &mut FailureWindow| {
            if now.saturating_duration_since(current.started) >= window {
                *current = FailureWindow { started: now, count: 0 };
            }
            if current.count >= limit {
                let reopens = current.started.checked_add(window);
                refused = Some(reopens.map_or(window, |at| at.saturating_duration_since(now)));
            } else {
                current.count += 1;
            }
            EntryAction::Retain(())
        };
        if let EntryResult::Vacant(guard) = self.windows.entry(&normalised(identifier), None, count) {
            let _ = guard.insert(FailureWindow { started: now, count: 1 });
        }
        refused.map_or(Ok(()), |retry_after| Err(round_up(retry_after)))
    }

    /// Ends an attempt [`reserve`](Self::reserve) counted.
    pub(crate) fn settle(&self, identifier: &str, outcome: Settle) {
        match outcome {
            Settle::Success => {
                self.windows.remove(&normalised(identifier));
            }
            Settle::Failure => {}
            Settle::NotCounted => {
                let give_back = |_: &String, current: &mut FailureWindow| {
                    current.count = current.count.saturating_sub(1);
                    EntryAction::Retain(())
                };
                let _ = self.windows.entry(&normalised(identifier), Some(Duration::ZERO), give_back);
            }
        }
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
        let budget = FailureBudget::new(2, Duration::from_secs(60), 10);
        assert!(budget.reserve("a@x").is_ok());
        assert!(budget.reserve("A@X ").is_ok(), "identifiers are case-insensitive");
        let retry_after = budget.reserve("a@x").unwrap_err();
        assert!((59..=60).contains(&retry_after.as_secs()));
        budget.settle("a@x", Settle::NotCounted);
        assert!(budget.reserve("a@x").is_ok(), "the given-back attempt is available again");
        budget.settle("a@x", Settle::Success);
        assert!(budget.reserve("a@x").is_ok() && budget.reserve("a@x").is_ok(), "a success clears the count");
        assert!(budget.reserve("b@x").is_ok(), "other identifiers have their own budget");
    }

    #[test]
    fn the_window_reopens() {
        let budget = FailureBudget::new(1, Duration::from_millis(30), 10);
        assert!(budget.reserve("a").is_ok());
        assert!(budget.reserve("a").is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(budget.reserve("a").is_ok());
    }

    #[test]
    fn an_endless_window_does_not_overflow() {
        let budget = FailureBudget::new(1, Duration::MAX, 10);
        assert!(budget.reserve("a").is_ok());
        assert!(budget.reserve("a").is_err());
        let backoff = Backoff::default();
        backoff.hold(Duration::MAX);
        assert_eq!(backoff.remaining(), None, "an impossible deadline is ignored, not a panic");
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
