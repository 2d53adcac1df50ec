//! Sources: where documents come in. A source acknowledges an input only after the store
//! has committed it with its deliveries; input it cannot accept is refused, answered with
//! its diagnostics and kept as a dead letter.

pub mod econnecteur_poll;
pub mod file;
pub mod http;

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::adapter::{AdapterRef, BoundAdapter, bind_optional};
use crate::{BuildContext, ConfigError};
use tradewire_sdk::Direction;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SourceConfig {
    Http(http::HttpSourceConfig),
    File(file::FileSourceConfig),
    /// Takes a shop's orders from its e-connecteur webservice.
    EconnecteurPoll(econnecteur_poll::EconnecteurPollConfig),
}

impl SourceConfig {
    /// The `type` names.
    pub const TYPES: &'static [&'static str] = &["http", "file", "econnecteur_poll"];

    /// Reads a source of type `kind` from its table (without `type`). `Ok(None)`: no such
    /// type.
    pub fn deserialize_kind<'de, D: serde::Deserializer<'de>>(
        kind: &str,
        table: D,
    ) -> Result<Option<Self>, D::Error> {
        Ok(Some(match kind {
            "http" => Self::Http(http::HttpSourceConfig::deserialize(table)?),
            "file" => Self::File(file::FileSourceConfig::deserialize(table)?),
            "econnecteur_poll" => {
                Self::EconnecteurPoll(econnecteur_poll::EconnecteurPollConfig::deserialize(table)?)
            }
            _ => return Ok(None),
        }))
    }

    /// The adapter that decodes this source's input, if any (without one, input is canonical
    /// JSON).
    pub fn decode(&self) -> Option<Cow<'_, AdapterRef>> {
        match self {
            Self::Http(c) => c.decode.as_ref().map(Cow::Borrowed),
            Self::File(c) => c.decode.as_ref().map(Cow::Borrowed),
            Self::EconnecteurPoll(c) => Some(Cow::Owned(c.decode())),
        }
    }

    /// Binds the decoding adapter, checking it; `Ok(None)` without one. Error paths are
    /// the table's: `decode`, or for a poller, whose decoding is implied, `config`.
    pub fn bind_decode(
        &self,
        cx: &BuildContext<'_>,
    ) -> Result<Option<BoundAdapter>, Vec<ConfigError>> {
        match self {
            Self::EconnecteurPoll(c) => c.decode().bind(Direction::Decode, cx).map(Some),
            _ => bind_optional(self.decode().as_deref(), Direction::Decode, "decode", cx),
        }
    }
}
