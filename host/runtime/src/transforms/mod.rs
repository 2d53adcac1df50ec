//! Transforms: what happens to a canonical document between its source and its sinks.
//! They run before the source acknowledges, so a transform that refuses a document refuses
//! the input: nothing is committed, the input is kept as a dead letter, the sender is told.

use serde_json::Value;
use tradewire_core::Diagnostics;

/// A document on its way out of a transform, and on which of its outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed {
    /// `None`: the transform's only output (`inputs = ["as_order"]`); `Some(name)`: a named
    /// one (`inputs = ["by_country.nl"]`).
    pub output: Option<String>,
    /// Canonical JSON: `{"contract": "order/v1", ...}`.
    pub document: Value,
}

/// One transform, built from its config. Synchronous and CPU-bound: the runtime calls it on
/// the blocking pool, in the same task as the source's decode.
pub trait Transform: Send + Sync + std::fmt::Debug {
    /// The outputs other components may name in `inputs`: `None` for the unnamed one.
    fn outputs(&self) -> Vec<Option<String>> {
        vec![None]
    }

    /// Zero or more documents out for one in, or why the document is refused (each
    /// diagnostic's path points into the document).
    fn apply(&self, document: Value) -> Result<Vec<Routed>, Diagnostics>;
}
