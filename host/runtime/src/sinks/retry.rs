//! How the runtime retries a sink's temporary failures: exponential backoff with full
//! jitter, a receiver's `Retry-After` honoured.

use std::time::Duration;

use rand::Rng;
use schemars::JsonSchema;
use serde::Deserialize;

use super::positive_seconds;
use crate::ConfigError;

/// The longest `Retry-After` honoured: a receiver asking for more (a day, a week) is
/// retried after an hour, so that one answer cannot park a delivery for days; it can ask
/// again then.
pub const RETRY_AFTER_LIMIT: Duration = Duration::from_secs(3600);

/// How often, and how patiently, a sink's temporary failures are retried.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts in all, the first included; after the last temporary failure the document
    /// goes to the dead-letter table.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The ceiling of the first backoff, in seconds (fractions allowed); it doubles after
    /// each failed attempt. The wait itself is drawn at random below the ceiling (full
    /// jitter), so that deliveries failing together do not retry together.
    #[serde(default = "default_initial_backoff_secs")]
    pub initial_backoff_secs: f64,
    /// The highest the ceiling grows to, in seconds.
    #[serde(default = "default_max_backoff_secs")]
    pub max_backoff_secs: f64,
}

fn default_max_attempts() -> u32 {
    10
}

fn default_initial_backoff_secs() -> f64 {
    1.0
}

fn default_max_backoff_secs() -> f64 {
    300.0
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: default_max_attempts(),
            initial_backoff_secs: default_initial_backoff_secs(),
            max_backoff_secs: default_max_backoff_secs(),
        }
    }
}

impl RetryConfig {
    /// What is wrong with these values; paths are relative to the `retry` table.
    pub fn check(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if self.max_attempts == 0 {
            errors.push(ConfigError::new(
                &["max_attempts"],
                "must be at least 1 (the first attempt counts)",
            ));
        }
        let initial_ok = positive_seconds(self.initial_backoff_secs).is_some();
        if !initial_ok {
            errors.push(ConfigError::new(
                &["initial_backoff_secs"],
                "must be a number of seconds above 0",
            ));
        }
        if positive_seconds(self.max_backoff_secs).is_none() {
            errors.push(ConfigError::new(
                &["max_backoff_secs"],
                "must be a number of seconds above 0",
            ));
        } else if initial_ok && self.max_backoff_secs < self.initial_backoff_secs {
            errors.push(ConfigError::new(
                &["max_backoff_secs"],
                format!(
                    "must not be below initial_backoff_secs ({})",
                    self.initial_backoff_secs
                ),
            ));
        }
        errors
    }

    /// How long to wait after failed attempt number `attempt` (1 for the first) before the
    /// next: a random duration between zero and `initial × 2^(attempt-1)`, that ceiling
    /// capped at `max_backoff_secs`. When the receiver asked for `retry_after`, the wait is
    /// at least that (up to [`RETRY_AFTER_LIMIT`]).
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let jittered = self.ceiling(attempt).mul_f64(rand::rng().random::<f64>());
        match retry_after {
            Some(asked) => jittered.max(asked.min(RETRY_AFTER_LIMIT)),
            None => jittered,
        }
    }

    /// The backoff's upper bound after failed attempt number `attempt`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        // Past 2^63 the doubling has long passed any sane maximum; clamping the exponent
        // keeps the arithmetic finite.
        let exponent = attempt.saturating_sub(1).min(63) as i32;
        let grown = self.initial_backoff_secs * 2f64.powi(exponent);
        // A value no duration holds was refused at build; zero keeps this total.
        positive_seconds(grown.min(self.max_backoff_secs)).unwrap_or(Duration::ZERO)
    }
}
