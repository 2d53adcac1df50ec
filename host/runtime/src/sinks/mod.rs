//! Sinks: where documents go once acknowledged. The runtime claims each delivery from the
//! store, hands it to its sink, records the attempt and decides what comes next (delivered,
//! retried after a backoff, dead-lettered); a sink only says how one attempt went.

use std::time::Duration;

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
