//! The trait adapter authors implement.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use tradewire_core::{Diagnostics, Document, Outcome};

use crate::{AdapterInfo, CallContext};

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

    /// [`decode`](Self::decode) with what the call knows beyond its bytes: the transport's
    /// metadata (content type, headers) and values the runtime holds for it. Override it
    /// when a message needs them; by default the context is not used.
    fn decode_in_context(
        &self,
        message: &str,
        input: &[u8],
        context: &CallContext,
    ) -> Outcome<Document> {
        let _ = context;
        self.decode(message, input)
    }

    /// [`encode`](Self::encode) with what the call knows beyond the document (see
    /// [`decode_in_context`](Self::decode_in_context)); by default the context is not used.
    fn encode_in_context(
        &self,
        message: &str,
        document: &Document,
        context: &CallContext,
    ) -> Outcome<Vec<u8>> {
        let _ = context;
        self.encode(message, document)
    }
}
