//! The retry policy every sink has.

use std::time::Duration;

use tradewire_runtime::sinks::{RETRY_AFTER_LIMIT, RetryConfig};

fn policy(initial: f64, max: f64) -> RetryConfig {
    RetryConfig {
        max_attempts: 10,
        initial_backoff_secs: initial,
        max_backoff_secs: max,
    }
}

#[test]
fn the_defaults_are_ten_attempts_from_one_second_to_five_minutes() {
    assert_eq!(RetryConfig::default(), policy(1.0, 300.0));
}

#[test]
fn the_ceiling_doubles_up_to_the_maximum() {
    let retry = policy(1.0, 300.0);
    let ceilings: Vec<u64> = (1..=11).map(|n| retry.ceiling(n).as_secs()).collect();
    assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    assert_eq!(retry.ceiling(u32::MAX), Duration::from_secs(300));
    assert_eq!(retry.ceiling(0), Duration::from_secs(1));
    assert_eq!(policy(0.25, 1.0).ceiling(2), Duration::from_millis(500));
}

#[test]
fn each_wait_is_drawn_between_zero_and_the_ceiling() {
    let retry = policy(1.0, 300.0);
    for attempt in [1, 4, 9, 30] {
        let ceiling = retry.ceiling(attempt);
        let waits: Vec<Duration> = (0..2000).map(|_| retry.backoff(attempt, None)).collect();
        assert!(
            waits.iter().all(|wait| *wait <= ceiling),
            "attempt {attempt}"
        );
        // Full jitter spreads over the whole range, not around the ceiling.
        let mean = waits.iter().sum::<Duration>() / 2000;
        assert!(
            mean > ceiling.mul_f64(0.4) && mean < ceiling.mul_f64(0.6),
            "attempt {attempt}: mean {mean:?} of a ceiling of {ceiling:?}"
        );
        assert!(waits.iter().any(|w| *w < ceiling.mul_f64(0.1)));
        assert!(waits.iter().any(|w| *w > ceiling.mul_f64(0.9)));
    }
}

#[test]
fn retry_after_is_waited_at_least_up_to_its_limit() {
    let retry = policy(1.0, 300.0);
    for _ in 0..200 {
        let wait = retry.backoff(1, Some(Duration::from_secs(50)));
        assert!(wait >= Duration::from_secs(50), "{wait:?}");
        assert!(
            wait <= Duration::from_secs(50),
            "the jitter of attempt 1 is under a second"
        );
    }
    // Asked for less than the jitter drew: the longer of the two.
    let late = retry.backoff(9, Some(Duration::from_millis(1)));
    assert!(late >= Duration::from_millis(1));
    // Asked for a week: an hour.
    let week = Duration::from_secs(7 * 24 * 3600);
    assert_eq!(retry.backoff(1, Some(week)), RETRY_AFTER_LIMIT);
    assert_eq!(RETRY_AFTER_LIMIT, Duration::from_secs(3600));
}
