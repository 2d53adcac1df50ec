//! A sink that keeps failing is probed, not hammered. After [`TRIP_AFTER`] temporary
//! failures in a row its worker stops attempting deliveries and sends one probe at a time,
//! the pause between probes growing like a delivery's backoff; the first attempt the sink
//! answers (delivered, or refused for the document's own sake) lets everything flow again.
//!
//! Without it, every document waiting for a dead sink is attempted and recorded on its own
//! schedule: thousands of attempts a second, each a store write, taking CPU and the store's
//! writer from the sinks that work. Deliveries held back are not attempted, so an outage
//! spends no delivery's retry budget but the probes'.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tradewire_store::AttemptOutcome;

use crate::sinks::RetryConfig;

/// Temporary failures in a row that pause a sink. Enough that one slow or refused request
/// among many does not, few enough that a dead sink is found within one batch of attempts.
pub const TRIP_AFTER: u32 = 5;

/// Whether the worker may start an attempt now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// The sink works: attempt as much as its concurrency allows.
    Flowing,
    /// The sink is paused and a probe is due: start one attempt, then [`Breaker::probing`].
    ProbeDue,
    /// The sink is paused: attempt nothing until the instant (none while a probe is out).
    Paused(Option<Instant>),
}

/// What an outcome changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The sink was flowing and is now paused.
    Tripped,
    /// The sink was paused and answers again.
    Recovered,
}

#[derive(Debug)]
pub struct Breaker {
    retry: RetryConfig,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    failures_in_a_row: u32,
    pause: Pause,
    /// Failed probes since the sink paused: the pause grows with them.
    failed_probes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pause {
    None,
    Until(Instant),
    Probing,
}

impl Breaker {
    pub fn new(retry: RetryConfig) -> Self {
        Self {
            retry,
            state: Mutex::new(State {
                failures_in_a_row: 0,
                pause: Pause::None,
                failed_probes: 0,
            }),
        }
    }

    pub fn gate(&self, now: Instant) -> Gate {
        let Ok(state) = self.state.lock() else {
            return Gate::Flowing;
        };
        match state.pause {
            Pause::None => Gate::Flowing,
            Pause::Until(until) if until <= now => Gate::ProbeDue,
            Pause::Until(until) => Gate::Paused(Some(until)),
            Pause::Probing => Gate::Paused(None),
        }
    }

    /// A probe was started (after [`Gate::ProbeDue`]): nothing else starts until it ends.
    pub fn probing(&self) {
        if let Ok(mut state) = self.state.lock()
            && matches!(state.pause, Pause::Until(_))
        {
            state.pause = Pause::Probing;
        }
    }

    /// Takes an attempt's outcome into account, `now` being when it ended.
    pub fn observe(&self, outcome: AttemptOutcome, now: Instant) -> Option<Change> {
        let Ok(mut state) = self.state.lock() else {
            return None;
        };
        match outcome {
            // A refusal is the document's fault, not the sink's: the sink answers.
            AttemptOutcome::Delivered | AttemptOutcome::Permanent => {
                state.failures_in_a_row = 0;
                state.failed_probes = 0;
                let was_paused = state.pause != Pause::None;
                state.pause = Pause::None;
                was_paused.then_some(Change::Recovered)
            }
            AttemptOutcome::Temporary => {
                state.failures_in_a_row = state.failures_in_a_row.saturating_add(1);
                match state.pause {
                    Pause::None if state.failures_in_a_row >= TRIP_AFTER => {
                        state.pause = Pause::Until(now + self.pause_after(0));
                        Some(Change::Tripped)
                    }
                    Pause::Probing => {
                        state.failed_probes = state.failed_probes.saturating_add(1);
                        state.pause = Pause::Until(now + self.pause_after(state.failed_probes));
                        None
                    }
                    // An attempt started before the pause failed too: nothing new.
                    Pause::None | Pause::Until(_) => None,
                }
            }
        }
    }

    /// The pause before the next probe: the retry's initial backoff, doubled for each
    /// failed probe, up to its maximum. Not jittered: one probe per sink cannot stampede.
    pub fn pause_after(&self, failed_probes: u32) -> Duration {
        self.retry.ceiling(failed_probes.saturating_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(RetryConfig {
            max_attempts: 10,
            initial_backoff_secs: 1.0,
            max_backoff_secs: 4.0,
        })
    }

    #[test]
    fn a_sink_pauses_after_failures_in_a_row_only() {
        let b = breaker();
        let t = Instant::now();
        for _ in 0..TRIP_AFTER - 1 {
            assert_eq!(b.observe(AttemptOutcome::Temporary, t), None);
        }
        // One success starts the count again.
        assert_eq!(b.observe(AttemptOutcome::Delivered, t), None);
        for _ in 0..TRIP_AFTER - 1 {
            b.observe(AttemptOutcome::Temporary, t);
        }
        assert_eq!(b.gate(t), Gate::Flowing);
        assert_eq!(
            b.observe(AttemptOutcome::Temporary, t),
            Some(Change::Tripped)
        );
        assert_eq!(b.gate(t), Gate::Paused(Some(t + Duration::from_secs(1))));
    }

    #[test]
    fn failed_probes_lengthen_the_pause_up_to_the_maximum() {
        let b = breaker();
        let mut t = Instant::now();
        for _ in 0..TRIP_AFTER {
            b.observe(AttemptOutcome::Temporary, t);
        }
        let mut pauses = Vec::new();
        for _ in 0..4 {
            let Gate::Paused(Some(until)) = b.gate(t) else {
                panic!("paused with a probe time")
            };
            pauses.push(until - t);
            t = until;
            assert_eq!(b.gate(t), Gate::ProbeDue);
            b.probing();
            assert_eq!(b.gate(t), Gate::Paused(None), "one probe at a time");
            assert_eq!(b.observe(AttemptOutcome::Temporary, t), None);
        }
        let secs: Vec<u64> = pauses.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 4]);
    }

    #[test]
    fn a_probe_the_sink_answers_lets_everything_flow() {
        for answer in [AttemptOutcome::Delivered, AttemptOutcome::Permanent] {
            let b = breaker();
            let t = Instant::now();
            for _ in 0..TRIP_AFTER {
                b.observe(AttemptOutcome::Temporary, t);
            }
            let later = t + Duration::from_secs(1);
            assert_eq!(b.gate(later), Gate::ProbeDue);
            b.probing();
            assert_eq!(b.observe(answer, later), Some(Change::Recovered));
            assert_eq!(b.gate(later), Gate::Flowing);
            // And the count starts again from nothing.
            for _ in 0..TRIP_AFTER - 1 {
                b.observe(AttemptOutcome::Temporary, later);
            }
            assert_eq!(b.gate(later), Gate::Flowing);
        }
    }

    #[test]
    fn failures_of_attempts_started_before_the_pause_do_not_extend_it() {
        let b = breaker();
        let t = Instant::now();
        for _ in 0..TRIP_AFTER + 20 {
            b.observe(AttemptOutcome::Temporary, t);
        }
        assert_eq!(b.gate(t), Gate::Paused(Some(t + Duration::from_secs(1))));
    }
}
