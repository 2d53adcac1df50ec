//! Transforms: what happens to a canonical document between its source and its sinks.
//! They run before the source acknowledges, so a transform that refuses a document refuses
//! the input: nothing is committed, the input is kept as a dead letter, the sender is told.

pub mod jq;
pub mod map;
pub mod pointer;
pub mod route;
pub mod validate;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use tradewire_core::Diagnostics;

use crate::{BuildContext, ConfigError};

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

/// A transform's table in the pipeline file, by its `type`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TransformConfig {
    Map(map::MapConfig),
    Jq(jq::JqConfig),
    Validate(validate::ValidateConfig),
    Route(route::RouteConfig),
}

impl TransformConfig {
    /// The `type` names.
    pub const TYPES: &'static [&'static str] = &["map", "jq", "validate", "route"];

    /// Reads a transform of type `kind` from its table (the pipeline loader removes `type`
    /// and `inputs` first and passes a toml deserializer, so that errors keep their line and
    /// key). `Ok(None)`: no such type.
    pub fn deserialize_kind<'de, D: serde::Deserializer<'de>>(
        kind: &str,
        table: D,
    ) -> Result<Option<Self>, D::Error> {
        Ok(Some(match kind {
            "map" => Self::Map(map::MapConfig::deserialize(table)?),
            "jq" => Self::Jq(jq::JqConfig::deserialize(table)?),
            "validate" => Self::Validate(validate::ValidateConfig::deserialize(table)?),
            "route" => Self::Route(route::RouteConfig::deserialize(table)?),
            _ => return Ok(None),
        }))
    }

    /// Builds the transform, checking everything that can be checked without running it;
    /// every problem is reported, each with its key path under the transform's table.
    pub fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Transform>, Vec<ConfigError>> {
        fn boxed<T: Transform + 'static>(transform: T) -> Box<dyn Transform> {
            Box::new(transform)
        }
        match self {
            Self::Map(config) => config.build(cx).map(boxed),
            Self::Jq(config) => config.build(cx).map(boxed),
            Self::Validate(config) => config.build(cx).map(boxed),
            Self::Route(config) => config.build(cx).map(boxed),
        }
    }
}
