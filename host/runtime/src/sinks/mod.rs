//! Sinks: where documents go once acknowledged. The runtime claims each delivery from the
//! store, hands it to its sink, records the attempt and decides what comes next (delivered,
//! retried after a backoff, dead-lettered); a sink only says how one attempt went.

pub mod econnecteur;
pub mod file;
pub mod http;
pub mod stdout;

mod encode;
mod retry;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;

pub use encode::CANONICAL_MEDIA_TYPE;
pub use retry::{RETRY_AFTER_LIMIT, RetryConfig};

use crate::{BuildContext, ConfigError};

/// One delivery as a sink sees it.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The document's id (as the source answered it).
    pub document: &'a str,
    /// The delivery's stable key: the same on every attempt and replay. HTTP sinks send it
    /// as `Idempotency-Key`.
    pub key: &'a str,
    /// The canonical document (JSON, `contract` first), before the sink's `encode`.
    pub payload: &'a [u8],
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Delivered {
        status: Option<u16>,
        detail: String,
    },
    /// Worth retrying: a connection error, a timeout, 408, 425, 429, 5xx.
    Temporary {
        status: Option<u16>,
        detail: String,
        /// What the receiver asked for (`Retry-After`), if it did.
        retry_after: Option<Duration>,
    },
    /// Not worth retrying: another 4xx, an encode refusal, an adapter failure.
    Permanent {
        status: Option<u16>,
        detail: String,
    },
}

/// One sink, built from its config. Attempts may run concurrently.
#[async_trait::async_trait]
pub trait Sink: Send + Sync + std::fmt::Debug {
    async fn deliver(&self, delivery: Delivery<'_>) -> SendOutcome;
}

/// A sink's table in the pipeline file: `type` picks the variant.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SinkConfig {
    /// Sends each document to an HTTP endpoint.
    Http(http::HttpSinkConfig),
    /// Writes each document to its own file.
    File(file::FileSinkConfig),
    /// Writes each document to standard output, one a line.
    Stdout(stdout::StdoutSinkConfig),
    /// Pushes products, customers and price grids to a shop's e-connecteur webservice.
    Econnecteur(econnecteur::EconnecteurSinkConfig),
}

impl SinkConfig {
    /// Every `type` a sink may have.
    pub const TYPES: &'static [&'static str] = &["http", "file", "stdout", "econnecteur"];

    /// Reads a sink of type `kind` from its table (the loader strips `type` and `inputs`
    /// and passes a toml deserializer so errors keep line and key). `Ok(None)`: no such
    /// type.
    pub fn deserialize_kind<'de, D: serde::Deserializer<'de>>(
        kind: &str,
        table: D,
    ) -> Result<Option<Self>, D::Error> {
        Ok(Some(match kind {
            "http" => Self::Http(http::HttpSinkConfig::deserialize(table)?),
            "file" => Self::File(file::FileSinkConfig::deserialize(table)?),
            "stdout" => Self::Stdout(stdout::StdoutSinkConfig::deserialize(table)?),
            "econnecteur" => {
                Self::Econnecteur(econnecteur::EconnecteurSinkConfig::deserialize(table)?)
            }
            _ => return Ok(None),
        }))
    }

    /// Builds the sink, or says everything wrong with its config (paths relative to the
    /// sink's table). Never starts anything (no socket, no file written, no thread):
    /// `tradewire validate` calls it. It reads what the config names, such as a TLS CA file.
    pub fn build(&self, cx: &BuildContext<'_>) -> Result<Arc<dyn Sink>, Vec<ConfigError>> {
        let mut errors: Vec<ConfigError> = self
            .retry()
            .check()
            .into_iter()
            .map(|e| e.under("retry"))
            .collect();
        let sink: Result<Arc<dyn Sink>, Vec<ConfigError>> = match self {
            Self::Http(config) => config.build(cx).map(|s| Arc::new(s) as Arc<dyn Sink>),
            Self::File(config) => config.build(cx).map(|s| Arc::new(s) as Arc<dyn Sink>),
            Self::Stdout(config) => config.build(cx).map(|s| Arc::new(s) as Arc<dyn Sink>),
            Self::Econnecteur(config) => config.build(cx).map(|s| Arc::new(s) as Arc<dyn Sink>),
        };
        match sink {
            Ok(sink) if errors.is_empty() => Ok(sink),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.extend(more);
                Err(errors)
            }
        }
    }

    /// How the runtime retries this sink.
    pub fn retry(&self) -> RetryConfig {
        match self {
            Self::Http(config) => config.retry.clone(),
            Self::File(config) => config.retry.clone(),
            Self::Stdout(config) => config.retry.clone(),
            Self::Econnecteur(config) => config.retry.clone(),
        }
    }

    /// How many of this sink's deliveries the runtime attempts at once.
    pub fn concurrency(&self) -> NonZeroUsize {
        match self {
            Self::Http(config) => config.concurrency,
            Self::File(config) => config.concurrency,
            Self::Stdout(config) => config.concurrency,
            Self::Econnecteur(config) => config.concurrency,
        }
    }
}

/// Deliveries attempted at once by a sink that does not say (`concurrency`).
pub const DEFAULT_CONCURRENCY: NonZeroUsize = match NonZeroUsize::new(4) {
    Some(n) => n,
    None => panic!("4 is not zero"),
};

fn default_concurrency() -> NonZeroUsize {
    DEFAULT_CONCURRENCY
}

/// `secs` as a duration, if it is a finite number of seconds above zero that a duration
/// can hold.
pub(crate) fn positive_seconds(secs: f64) -> Option<Duration> {
    if secs > 0.0 {
        Duration::try_from_secs_f64(secs).ok()
    } else {
        None
    }
}
