//! `validate`: refuses here, before the source acknowledges, what would fail later.
//!
//! ```toml
//! [transforms.checked]
//! type = "validate"
//! inputs = ["by_country.nl"]
//! encode = { adapter = "ois-orders", message = "order", config = { profile = "xprt" } }
//! ```

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use tradewire_core::{Diagnostic, Diagnostics, Document};
use tradewire_sdk::Direction;

use super::{Routed, Transform};
use crate::adapter::{AdapterRef, BoundAdapter, bind_optional};
use crate::{BuildContext, ConfigError};

/// Checks each document against the canonical rules (those of `tradewire validate`:
/// errors refuse the document, warnings let it pass) and, with `encode`, against an
/// adapter's encode as a dry run. The document passes on unchanged.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateConfig {
    /// Also encode each document with this adapter and message, discarding the bytes: a
    /// document the adapter refuses (the OIS `xprt` profile's field limits, say) is refused
    /// here. The message must encode, and documents of another contract are refused.
    #[serde(default)]
    pub encode: Option<AdapterRef>,
}

/// A built `validate`.
#[derive(Debug)]
pub struct Validate {
    encode: Option<BoundAdapter>,
}

impl ValidateConfig {
    /// Instantiates the `encode` adapter, if any, with its config.
    pub fn build(&self, cx: &BuildContext<'_>) -> Result<Validate, Vec<ConfigError>> {
        let encode = bind_optional(self.encode.as_ref(), Direction::Encode, "encode", cx)?;
        Ok(Validate { encode })
    }
}

impl Transform for Validate {
    fn apply(&self, document: Value) -> Result<Vec<Routed>, Diagnostics> {
        let json = serde_json::to_vec(&document).map_err(|e| {
            Diagnostics::one(Diagnostic::error(
                "",
                "validate.not_json",
                format!("the document cannot be written as JSON: {e}"),
            ))
        })?;
        let expected = self.encode.as_ref().map(|adapter| adapter.document);
        let parsed = Document::from_json(&json, expected)?;
        parsed.validate().into_result()?;
        if let Some(adapter) = &self.encode {
            adapter
                .instance
                .encode(&adapter.message, &parsed.to_json())
                .map_err(|refusal| refusal.into_diagnostics())?;
        }
        Ok(vec![Routed {
            output: None,
            document,
        }])
    }
}
