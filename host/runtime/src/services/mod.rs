//! Services: components that answer a request/response protocol themselves (the OCI
//! punchout gateway, the e-connecteur webservice) and emit what they take on named outputs
//! (`punchout.carts`, `erp.products`), which transforms and sinks name in their `inputs`
//! like any other output.
//!
//! A service emits through the path sources use ([`crate::ingest`]): a document is decoded,
//! transformed and committed with one delivery per sink it reaches before the service
//! answers; what it refuses is kept as a dead letter under `<service>.<output>`.
//!
//! A service that takes `inputs` (`econnecteur`) is a consumer in the graph like a sink:
//! each document routed to it is committed with a delivery to it, which the runtime's
//! delivery worker hands to the service's [`Service::intake`] with the sinks' retries and
//! dead letters.

pub mod econnecteur;
pub mod oci_gateway;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_store::Store;

use crate::adapter::BoundAdapter;
use crate::graph::OutputRef;
use crate::ingest::{BlankSecrets, Ingest, Origin};
use crate::sinks::{RetryConfig, Sink};
use crate::{BuildContext, ConfigError};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServiceConfig {
    /// The shop's side of an OCI punchout: logins, returned carts, cXML orders.
    OciGateway(Box<oci_gateway::OciGatewayConfig>),
    /// The shop's e-connecteur universal webservice, served from the store, for an ERP.
    Econnecteur(econnecteur::EconnecteurServiceConfig),
}

impl ServiceConfig {
    /// The `type` names.
    pub const TYPES: &'static [&'static str] = &["oci_gateway", "econnecteur"];

    /// Reads a service of type `kind` from its table (without `type`). `Ok(None)`: no such
    /// type.
    pub fn deserialize_kind<'de, D: serde::Deserializer<'de>>(
        kind: &str,
        table: D,
    ) -> Result<Option<Self>, D::Error> {
        Ok(Some(match kind {
            "oci_gateway" => {
                Self::OciGateway(Box::new(oci_gateway::OciGatewayConfig::deserialize(table)?))
            }
            "econnecteur" => {
                Self::Econnecteur(econnecteur::EconnecteurServiceConfig::deserialize(table)?)
            }
            _ => return Ok(None),
        }))
    }

    /// Its `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::OciGateway(_) => "oci_gateway",
            Self::Econnecteur(_) => "econnecteur",
        }
    }

    /// Where it serves HTTP.
    pub fn address(&self) -> SocketAddr {
        match self {
            Self::OciGateway(c) => c.address,
            Self::Econnecteur(c) => c.address,
        }
    }

    /// The named outputs it emits documents on: `inputs` name them `<service>.<output>`.
    pub fn outputs(&self) -> &'static [&'static str] {
        match self {
            Self::OciGateway(_) => oci_gateway::OUTPUTS,
            Self::Econnecteur(_) => &econnecteur::OUTPUTS,
        }
    }

    /// Whether it takes `inputs`: documents routed to it are delivered to its
    /// [`Service::intake`]. Such a service keeps what it takes and what it is sent, so an
    /// output nothing takes is not an error: what would go there stays with the service.
    pub fn takes_inputs(&self) -> bool {
        Self::TAKING_INPUTS.contains(&self.kind())
    }

    /// The `type`s that take `inputs` ([`Self::takes_inputs`]).
    pub const TAKING_INPUTS: &'static [&'static str] = &["econnecteur"];

    /// How the runtime retries deliveries to its intake.
    pub fn retry(&self) -> RetryConfig {
        match self {
            Self::OciGateway(_) => RetryConfig::default(),
            Self::Econnecteur(c) => c.retry.clone(),
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
            Self::Econnecteur(c) => Ok(Arc::new(c.build(name, cx)?)),
        }
    }
}

/// A service built, ready to serve.
pub trait Service: Send + Sync + fmt::Debug + 'static {
    /// The HTTP routes that serve it. The runtime serves them at the config's `address`,
    /// with the peer's address as `axum::extract::ConnectInfo<SocketAddr>`, and stops them
    /// gracefully (requests in flight are answered) on shutdown.
    fn router(self: Arc<Self>, runtime: ServiceRuntime) -> axum::Router;

    /// Where the documents routed to it (its `inputs`) are delivered, one delivery at a
    /// time by the runtime's delivery worker, under the service's name. `None`: it takes
    /// no inputs.
    fn intake(self: Arc<Self>, _store: Arc<dyn Store>) -> Option<Arc<dyn Sink>> {
        None
    }
}

/// What a running service emits through: the pipeline's ingest, on its named outputs.
#[derive(Clone)]
pub struct ServiceRuntime {
    /// The service's component name.
    pub name: String,
    pub ingest: Ingest,
    /// Work that runs to its end whatever the caller does; the runtime waits for it on
    /// shutdown.
    pub calls: Calls,
}

/// Work a service runs to completion even when its caller hangs up (axum drops a
/// handler's future then): a call that wrote the store must also emit what it wrote.
/// Shutdown waits for it ([`Calls::finished`]).
#[derive(Debug, Clone, Default)]
pub struct Calls(Arc<tokio::sync::RwLock<()>>);

impl Calls {
    /// Runs `work` in a task of its own; its result, unless the task panicked.
    pub async fn complete<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        // Held by the task, not by the caller's future: released when the work is done.
        let running = self.0.clone().read_owned().await;
        let task = tokio::spawn(async move {
            let result = work.await;
            drop(running);
            result
        });
        task.await.ok()
    }

    /// Waits until every call started has finished.
    pub async fn finished(&self) {
        drop(self.0.write().await);
    }
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
