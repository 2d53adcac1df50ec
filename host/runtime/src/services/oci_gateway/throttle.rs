//! Slowing down repeated failed logins, by username and by address: after a few free
//! failures, each further one makes the key wait twice as long before it is tried again
//! (up to a bound). A success clears its username's count.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How many keys are remembered before the forgotten ones (past their wait) are dropped:
/// a bound on the memory a flood of usernames can take.
const TIDY_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct Throttle {
    free_failures: u32,
    max_wait: Duration,
    failures: Mutex<HashMap<String, Failures>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Throttle {
    pub fn new(free_failures: u32, max_wait: Duration) -> Self {
        Self {
            free_failures,
            max_wait,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// How long after its last failure a key with `count` failures waits.
    fn wait(&self, count: u32) -> Duration {
        let over = count.saturating_sub(self.free_failures);
        if over == 0 {
            return Duration::ZERO;
        }
        let doubled = Duration::from_secs(1).saturating_mul(1 << (over - 1).min(30));
        doubled.min(self.max_wait)
    }

    /// How long the longest-waiting of `keys` must still wait at `now`, if any must.
    pub fn waiting(&self, keys: &[String], now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        keys.iter()
            .filter_map(|key| failures.get(key))
            .map(|f| (f.last + self.wait(f.count)).saturating_duration_since(now))
            .filter(|left| !left.is_zero())
            .max()
    }

    /// Counts a failure for each of `keys` at `now`.
    pub fn failed(&self, keys: &[String], now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() > TIDY_ABOVE {
            let max_wait = self.max_wait;
            failures.retain(|_, f| now.saturating_duration_since(f.last) < max_wait);
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert(Failures {
                count: 0,
                last: now,
            });
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
    }

    /// Forgets `key`'s failures.
    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_free_ones_wait_twice_as_long_each_up_to_the_bound() {
        let throttle = Throttle::new(2, Duration::from_secs(5));
        let keys = ["user:buyer01".to_owned()];
        let t = Instant::now();
        throttle.failed(&keys, t);
        throttle.failed(&keys, t);
        assert_eq!(throttle.waiting(&keys, t), None, "two free failures");
        throttle.failed(&keys, t);
        assert_eq!(throttle.waiting(&keys, t), Some(Duration::from_secs(1)));
        throttle.failed(&keys, t);
        assert_eq!(throttle.waiting(&keys, t), Some(Duration::from_secs(2)));
        for _ in 0..10 {
            throttle.failed(&keys, t);
        }
        assert_eq!(throttle.waiting(&keys, t), Some(Duration::from_secs(5)));
        assert_eq!(throttle.waiting(&keys, t + Duration::from_secs(5)), None);
        throttle.succeeded("user:buyer01");
        throttle.failed(&keys, t);
        assert_eq!(throttle.waiting(&keys, t), None, "counting starts again");
    }

    #[test]
    fn the_longest_wait_of_any_key_counts() {
        let throttle = Throttle::new(0, Duration::from_secs(60));
        let t = Instant::now();
        throttle.failed(&["addr:192.0.2.1".to_owned()], t);
        throttle.failed(&["addr:192.0.2.1".to_owned()], t);
        let keys = ["user:someone".to_owned(), "addr:192.0.2.1".to_owned()];
        assert_eq!(throttle.waiting(&keys, t), Some(Duration::from_secs(2)));
    }
}
