//! Services: components that answer a request/response protocol themselves (the OCI
//! punchout gateway) and emit what they take on named outputs (`punchout.carts`), which
//! transforms and sinks name in their `inputs` like any other output.
//!
//! A service emits through the path sources use ([`crate::ingest`]): a document is decoded,
//! transformed and committed with one delivery per sink it reaches before the service
//! answers; what it refuses is kept as a dead letter under `<service>.<output>`.

pub mod econnecteur;
pub mod oci_gateway;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_store::Store;

use crate::adapter::BoundAdapter;
use crate::graph::OutputRef;
use crate::ingest::{BlankSecrets, Ingest, Origin};
use crate::{BuildContext, ConfigError};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServiceConfig {
    OciGateway(oci_gateway::OciGatewayConfig),
}

impl ServiceConfig {
    /// The `type` names.
    pub const TYPES: &'static [&'static str] = &["oci_gateway"];

    /// Reads a service of type `kind` from its table (without `type`). `Ok(None)`: no such
    /// type.
    pub fn deserialize_kind<'de, D: serde::Deserializer<'de>>(
        kind: &str,
        table: D,
    ) -> Result<Option<Self>, D::Error> {
        Ok(Some(match kind {
            "oci_gateway" => Self::OciGateway(oci_gateway::OciGatewayConfig::deserialize(table)?),
            _ => return Ok(None),
        }))
    }

    /// Its `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OciGateway(_) => "oci_gateway",
        }
    }

    /// Where it serves HTTP.
    pub fn address(&self) -> SocketAddr {
        match self {
            Self::OciGateway(c) => c.address,
        }
    }

    /// The named outputs it emits documents on: `inputs` name them `<service>.<output>`.
    pub fn outputs(&self) -> &'static [&'static str] {
        match self {
            Self::OciGateway(_) => oci_gateway::OUTPUTS,
        }
    }

    /// Builds the service (adapters bound, every value checked); starts nothing.
    pub fn build(
        &self,
        name: &str,
        cx: &BuildContext<'_>,
    ) -> Result<Arc<dyn Service>, Vec<ConfigError>> {
        match self {
            Self::OciGateway(c) => Ok(Arc::new(oci_gateway::OciGateway::build(name, c, cx)?)),
        }
    }
}

/// A service built, ready to serve.
pub trait Service: Send + Sync + fmt::Debug + 'static {
    /// The HTTP routes that serve it. The runtime serves them at the config's `address`,
    /// with the peer's address as `axum::extract::ConnectInfo<SocketAddr>`, and stops them
    /// gracefully (requests in flight are answered) on shutdown.
    fn router(self: Arc<Self>, runtime: ServiceRuntime) -> axum::Router;
}

/// What a running service emits through: the pipeline's ingest, on its named outputs.
#[derive(Clone)]
pub struct ServiceRuntime {
    /// The service's component name.
    pub name: String,
    pub ingest: Ingest,
}

impl fmt::Debug for ServiceRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceRuntime")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ServiceRuntime {
    /// Where documents emitted on `output` come in: kept as `<service>.<output>`, routed
    /// from that output, read by `decode` (canonical JSON without), answered by `reply`,
    /// kept with the secrets `blank_secrets` finds blanked.
    pub fn origin(
        &self,
        output: &str,
        decode: Option<BoundAdapter>,
        reply: Option<BoundAdapter>,
        blank_secrets: Option<BlankSecrets>,
    ) -> Arc<Origin> {
        Arc::new(Origin {
            name: format!("{}.{output}", self.name),
            output: OutputRef::new(&self.name, Some(output)),
            decode,
            reply,
            blank_secrets,
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.ingest.store
    }
}
