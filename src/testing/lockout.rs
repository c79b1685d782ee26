//! A user's lockout: failed password attempts count towards a lock for a while, a correct
//! password starts the count over, and a lock that has run out is lifted.

use std::time::Duration;

use tokio::time::Instant;

/// The failed attempts of one user and the lock they led to.
#[derive(Debug, Default)]
pub(crate) struct Lockout {
    failures: u32,
    locked_until: Option<Instant>,
}

/// What a wrong password leads to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WrongPassword {
    /// Just wrong: lockout is disabled or still far away.
    Incorrect,
    /// Wrong, with one or two attempts left before the lock.
    Warning { attempts_left: u32 },
    /// The last attempt: the user is now locked for the lockout duration.
    Locked,
}

impl Lockout {
    /// Lifts a lock that has run out; the failed attempts start over.
    pub(crate) fn lift_if_over(&mut self, now: Instant) {
        if self.locked_until.is_some_and(|until| until <= now) {
            self.locked_until = None;
            self.failures = 0;
        }
    }

    /// The time left on a running lock.
    pub(crate) fn remaining(&self, now: Instant) -> Option<Duration> {
        self.locked_until.filter(|until| *until > now).map(|until| until - now)
    }

    /// Attempts left before the lock, `None` when lockout is disabled (`threshold` 0).
    pub(crate) fn attempts_remaining(&self, threshold: u32) -> Option<u32> {
        (threshold > 0).then(|| threshold.saturating_sub(self.failures))
    }

    /// Counts a wrong password; the last attempt before `threshold` locks for `duration`.
    pub(crate) fn record_failure(&mut self, now: Instant, threshold: u32, duration: Duration) -> WrongPassword {
        self.failures += 1;
        match self.attempts_remaining(threshold) {
            Some(0) => {
                self.locked_until = Some(now + duration);
                WrongPassword::Locked
            }
            Some(attempts_left @ 1..=2) => WrongPassword::Warning { attempts_left },
            _ => WrongPassword::Incorrect,
        }
    }

    /// A correct password: the failed attempts start over.
    pub(crate) fn record_success(&mut self) {
        self.failures = 0;
    }
}
