//! What an adapter says about itself: name, version, vendor, messages, config schema.

use serde::{Deserialize, Serialize};
use tradewire_core::DocumentKind;

use crate::abi::AbiVersion;

/// One message an adapter speaks, and the canonical document it maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSpec {
    /// The name used on the CLI and in pipelines (`cart`, `order-request`).
    pub name: String,
    /// The canonical document the message maps to.
    pub document: DocumentKind,
    /// Protocol bytes → canonical document.
    pub decodes: bool,
    /// Canonical document → protocol bytes.
    pub encodes: bool,
    /// The protocol side's media type (`application/x-www-form-urlencoded`).
    pub media_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where the decoded document carries the sender's own identifier for it (a JSON
    /// Pointer, `/reference`): the runtime takes it as the idempotency key when the
    /// transport gives none. Added after ABI 1.0 as an optional manifest field: libraries
    /// that predate it have none, and hosts that predate it ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Request headers the adapter reads from its call context (lower-case names, e.g.
    /// `x-payload-id`): a runtime's HTTP source passes these, and no others unless its
    /// config names them. Optional in the manifest, like `key`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
}

impl MessageSpec {
    fn new(
        name: &str,
        document: DocumentKind,
        media_type: &str,
        decodes: bool,
        encodes: bool,
    ) -> Self {
        Self {
            name: name.to_owned(),
            document,
            decodes,
            encodes,
            media_type: media_type.to_owned(),
            description: String::new(),
            key: None,
            headers: Vec::new(),
        }
    }

    /// A message the adapter decodes and encodes.
    pub fn both(name: &str, document: DocumentKind, media_type: &str) -> Self {
        Self::new(name, document, media_type, true, true)
    }

    /// A message the adapter only decodes.
    pub fn decode_only(name: &str, document: DocumentKind, media_type: &str) -> Self {
        Self::new(name, document, media_type, true, false)
    }

    /// A message the adapter only encodes.
    pub fn encode_only(name: &str, document: DocumentKind, media_type: &str) -> Self {
        Self::new(name, document, media_type, false, true)
    }

    /// The JSON Pointer to the sender's identifier in the decoded document (see
    /// [`MessageSpec::key`]).
    pub fn keyed_by(mut self, pointer: &str) -> Self {
        self.key = Some(pointer.to_owned());
        self
    }

    /// The request headers the adapter wants in its call context (see
    /// [`MessageSpec::headers`]).
    pub fn wants_headers(mut self, names: &[&str]) -> Self {
        self.headers = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        self
    }

    pub fn described(mut self, description: &str) -> Self {
        self.description = description.to_owned();
        self
    }

    pub fn supports(&self, direction: Direction) -> bool {
        match direction {
            Direction::Decode => self.decodes,
            Direction::Encode => self.encodes,
        }
    }
}

/// Which way a call converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Decode,
    Encode,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Decode => "decode",
            Self::Encode => "encode",
        })
    }
}

/// What an adapter author declares (see [`crate::Adapter::describe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterInfo {
    /// Unique among loaded adapters; lowercase with dashes (`oci-punchout`).
    pub name: String,
    /// The adapter's own version (semver).
    pub version: String,
    pub vendor: String,
    pub description: String,
    pub messages: Vec<MessageSpec>,
}

/// The manifest as it crosses the boundary (JSON): the author's [`AdapterInfo`] plus what
/// the SDK fills in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub vendor: String,
    #[serde(default)]
    pub description: String,
    pub abi: AbiVersion,
    /// The version of `tradewire-sdk` the library was built with.
    pub sdk_version: String,
    pub messages: Vec<MessageSpec>,
    /// JSON Schema of the adapter's config; the host validates configs against it before
    /// the adapter sees them.
    pub config_schema: serde_json::Value,
}

impl Manifest {
    pub fn message(&self, name: &str) -> Option<&MessageSpec> {
        self.messages.iter().find(|m| m.name == name)
    }
}
