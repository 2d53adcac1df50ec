//! The trait adapter authors implement.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use tradewire_core::{Diagnostics, Document, Outcome};

use crate::AdapterInfo;

/// A protocol adapter: maps a protocol's messages to and from canonical documents.
///
/// Implement this, then export it with [`crate::export_adapter!`]. Calls are synchronous and
/// CPU-bound; an instance is shared between threads, so keep per-call state on the stack.
/// Return diagnostics for bad input; the SDK turns a panic into an error diagnostic, but a
/// panic is a bug.
pub trait Adapter: Send + Sync + Sized + 'static {
    /// The adapter's configuration. Its JSON Schema is published in the manifest, and the
    /// host validates configs against it; write `#[serde(default)]` for what has a default.
    type Config: DeserializeOwned + JsonSchema;

    /// Name, version, vendor and the messages the adapter speaks.
    fn describe() -> AdapterInfo;

    /// Builds an instance from a checked config.
    fn new(config: Self::Config) -> Result<Self, Diagnostics>;

    /// Protocol bytes of `message` → a canonical document of the kind the message declares.
    /// Only called for messages declared as decoding.
    fn decode(&self, message: &str, input: &[u8]) -> Outcome<Document>;

    /// A canonical document of the kind `message` declares → protocol bytes. Only called for
    /// messages declared as encoding, with a document of the declared kind.
    fn encode(&self, message: &str, document: &Document) -> Outcome<Vec<u8>>;
}
