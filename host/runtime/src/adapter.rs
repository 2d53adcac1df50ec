//! A component's use of an adapter: `decode = { adapter = "oci-punchout", message = "cart",
//! config = { ... } }` on a source, `encode = { ... }` on a sink or a `validate` transform.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_core::DocumentKind;
use tradewire_sdk::{AdapterInstance, CallContext, CallError, Direction};

use crate::{BuildContext, ConfigError};

/// Which adapter, which of its messages, and the adapter's config.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdapterRef {
    /// The adapter's name (`tradewire adapters` lists them).
    pub adapter: String,
    /// One of its messages (`cart`, `order-request`).
    pub message: String,
    /// The adapter's config, checked against its schema (`tradewire schema --adapter NAME`).
    #[serde(default = "empty_object")]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub config: serde_json::Value,
}

/// An empty JSON object: an adapter config or a service's adapter settings left out.
pub(crate) fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// An instantiated adapter bound to one message, ready to be called on the blocking pool.
#[derive(Debug, Clone)]
pub struct BoundAdapter {
    pub instance: Arc<AdapterInstance>,
    pub message: String,
    pub document: DocumentKind,
    pub media_type: String,
}

/// Binds an optional `decode`, `encode` or `reply` table of a component; error paths start
/// with `key`.
pub fn bind_optional(
    adapter: Option<&AdapterRef>,
    direction: Direction,
    key: &str,
    cx: &BuildContext<'_>,
) -> Result<Option<BoundAdapter>, Vec<ConfigError>> {
    adapter
        .map(|adapter| adapter.bind(direction, cx))
        .transpose()
        .map_err(|errors| errors.into_iter().map(|e| e.under(key)).collect())
}

impl AdapterRef {
    /// Instantiates the adapter with its config and checks that `message` converts in
    /// `direction`. Error paths are relative to this table (`["adapter"]`, `["config",
    /// "charset"]`).
    pub fn bind(
        &self,
        direction: Direction,
        cx: &BuildContext<'_>,
    ) -> Result<BoundAdapter, Vec<ConfigError>> {
        let Some(entry) = cx.registry.get(&self.adapter) else {
            let mut known: Vec<_> = cx
                .registry
                .entries()
                .iter()
                .map(|e| e.manifest().name.clone())
                .collect();
            known.sort_unstable();
            return Err(vec![ConfigError::new(
                &["adapter"],
                format!(
                    "no adapter named `{}` (loaded: {})",
                    self.adapter,
                    known.join(", ")
                ),
            )]);
        };
        let manifest = entry.manifest();
        let Some(spec) = manifest.message(&self.message) else {
            let known: Vec<_> = manifest.messages.iter().map(|m| m.name.as_str()).collect();
            return Err(vec![ConfigError::new(
                &["message"],
                format!(
                    "`{}` has no message `{}` (it has: {})",
                    self.adapter,
                    self.message,
                    known.join(", ")
                ),
            )]);
        };
        if !spec.supports(direction) {
            let can = match (spec.decodes, spec.encodes) {
                (true, false) => "it only decodes",
                (false, true) => "it only encodes",
                _ => "it converts neither way",
            };
            return Err(vec![ConfigError::new(
                &["message"],
                format!(
                    "`{}` message `{}` cannot {direction}: {can}",
                    self.adapter, self.message
                ),
            )]);
        }
        let (document, media_type) = (spec.document, spec.media_type.clone());
        let instance = cx
            .registry
            .instantiate(&self.adapter, &self.config)
            .map_err(|diagnostics| {
                diagnostics
                    .iter()
                    .map(|d| {
                        let mut path = vec!["config".to_owned()];
                        path.extend(
                            d.path
                                .trim_start_matches("/config")
                                .split('/')
                                .filter(|s| !s.is_empty())
                                .map(str::to_owned),
                        );
                        ConfigError {
                            path,
                            message: format!("{} ({})", d.message, d.code),
                        }
                    })
                    .collect::<Vec<_>>()
            })?;
        Ok(BoundAdapter {
            instance: Arc::new(instance),
            message: self.message.clone(),
            document,
            media_type,
        })
    }
}

impl BoundAdapter {
    /// Decodes with the call's context; a library of ABI 1.0, which cannot take one, is
    /// called without it.
    pub fn decode(
        &self,
        input: &[u8],
        context: &CallContext,
    ) -> Result<tradewire_sdk::Reply, CallError> {
        match self
            .instance
            .decode_in_context(&self.message, input, context)
        {
            Err(CallError::Unsupported(_)) => self.instance.decode(&self.message, input),
            other => other,
        }
    }

    /// Encodes with the call's context; a library of ABI 1.0 is called without it.
    pub fn encode(
        &self,
        document: &[u8],
        context: &CallContext,
    ) -> Result<tradewire_sdk::Reply, CallError> {
        match self
            .instance
            .encode_in_context(&self.message, document, context)
        {
            Err(CallError::Unsupported(_)) => self.instance.encode(&self.message, document),
            other => other,
        }
    }

    /// The request headers this message reads from its call context.
    pub fn wanted_headers(&self) -> Vec<String> {
        self.instance
            .manifest()
            .message(&self.message)
            .map(|m| m.headers.clone())
            .unwrap_or_default()
    }

    /// The sender's identifier in a document this message decoded, by the manifest's key
    /// path: the idempotency key when the transport gives none.
    pub fn key_of(&self, document: &serde_json::Value) -> Option<String> {
        let pointer = self
            .instance
            .manifest()
            .message(&self.message)?
            .key
            .as_deref()?;
        match document.pointer(pointer)? {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}
