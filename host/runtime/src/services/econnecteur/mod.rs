//! Service `econnecteur`: Tradewire as the shop's e-connecteur universal webservice, served
//! from the store, so that an ERP (EBP, Sage, Ciel, …) through the e-connecteur program
//! takes the orders routed here and pushes its products, customers, price grids and sales
//! documents back.
//!
//! This module answers one call: [`EconnecteurService::call`] reads the POST body with the
//! `econnecteur` adapter (`request`), checks the key, carries the call out over the store
//! ([`handler`]) and writes the answer (`response`). What the ERP pushed comes back with it
//! as canonical documents for the service's named outputs ([`OUTPUTS`]): the caller
//! commits those, then sends the answer. Orders reach the service through
//! [`EconnecteurService::take_order`].
//!
//! What a server must do around [`EconnecteurService::call`]: run it, and the commit of
//! what it emitted, to the end even when the caller hangs up (in a task of its own: a
//! dropped call may have written the store and not yet emitted); answer
//! [`EconnecteurService::unavailable`] when that commit fails. The call's own write and
//! that commit are two transactions: a crash between them loses the emission of a push the
//! store kept, which e-connecteur, never answered, sends again: re-emitted then (an
//! `add_product` sent again is refused as the vendor says, and emitted again when it is
//! the very push kept).

mod handler;
mod serve;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_core::{
    Diagnostics, Document, DocumentKind, Secret, ServiceOperation, ServiceRequest, ServiceResponse,
    Severity,
};
use tradewire_sdk::{CallContext, CallError, Direction};
use tradewire_store::{Reply, Store, StoreError};

use crate::adapter::{AdapterRef, BoundAdapter};
use crate::sinks::RetryConfig;
use crate::{BuildContext, ConfigError};

pub use handler::{Emitted, Handled};

/// The named outputs of the service (`erp.products`, …), each a stream of canonical
/// documents: products and options pushed (`product/v1`), customers (`customer-list/v1`),
/// price grids (`price-list/v1`), sales documents (`order/v1`, the PDF in
/// `extensions.pdf`), and orders marked exported or given a tracking number
/// (`order-status-change/v1`).
pub const OUTPUTS: [&str; 5] = [
    "products",
    "customers",
    "price_rules",
    "documents",
    "status_changes",
];

/// The shop's webservice for an ERP connector, served from the store.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EconnecteurServiceConfig {
    /// Where the webservice listens.
    pub address: SocketAddr,
    /// Its path (e-connecteur is given the whole URL).
    #[serde(default = "default_path")]
    pub path: String,
    /// The key e-connecteur sends with every call, compared in constant time; kept secret.
    #[schemars(with = "String")]
    pub key: Secret,
    /// The state (the service's own code) an order waits in; `orders_list` lists it
    /// under this code, and under the name `created`.
    #[serde(default = "default_order_state")]
    pub order_state: String,
    /// More state names `filter` may give, each the codes it stands for
    /// (`{ "paid" = ["2", "3"] }`).
    #[serde(default)]
    pub state_names: BTreeMap<String, Vec<String>>,
    /// The HTTP status of the error envelope. The later versions of the spec require 200
    /// (anything else stops e-connecteur's whole synchronisation); the vendor's sample
    /// modules answer 400.
    #[serde(default = "default_error_status")]
    pub error_status: u16,
    /// The `econnecteur` adapter's config (`currency`, `time_zone`, `order_format`, …);
    /// `expected_key` is not needed: the service checks `key`.
    #[serde(default = "crate::adapter::empty_object")]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub config: serde_json::Value,
    /// Calls larger than this are refused with 413 (a sales document's PDF comes inside).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// A call that has not arrived whole within this many seconds is answered 408.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// How the runtime retries keeping an order routed here when the store fails.
    #[serde(default)]
    pub retry: RetryConfig,
}

fn default_max_body_bytes() -> usize {
    64 << 20
}

fn default_request_timeout_secs() -> u64 {
    120
}

fn default_path() -> String {
    "/econnecteur".to_owned()
}

fn default_order_state() -> String {
    "1".to_owned()
}

fn default_error_status() -> u16 {
    200
}

/// The name `filter` gives the state new orders wait in (the vendor's newer test bench).
const CREATED: &str = "created";

/// One service, built.
#[derive(Debug, Clone)]
pub struct EconnecteurService {
    /// The service's name: its rows in the store are under it.
    pub name: String,
    path: String,
    max_body_bytes: usize,
    request_timeout: std::time::Duration,
    key: Secret,
    order_state: String,
    state_names: BTreeMap<String, Vec<String>>,
    error_status: u16,
    request: BoundAdapter,
    response: BoundAdapter,
}

/// What to answer one call, and what it emitted: commit `emitted` before sending `reply`.
#[derive(Debug, Clone)]
pub struct Answered {
    pub reply: Reply,
    pub emitted: Vec<Emitted>,
}

impl EconnecteurServiceConfig {
    /// Checks the config and binds the adapter; nothing starts. Error paths are relative to
    /// the service's table.
    pub fn build(
        &self,
        name: &str,
        cx: &BuildContext<'_>,
    ) -> Result<EconnecteurService, Vec<ConfigError>> {
        let mut errors: Vec<ConfigError> = self
            .retry
            .check()
            .into_iter()
            .map(|e| e.under("retry"))
            .collect();
        if !self.path.starts_with('/') || self.path.contains(['?', '#', '{', '}', '*']) {
            errors.push(ConfigError::new(
                &["path"],
                format!(
                    "`{}` is not a request path: it starts with `/` and has no `?`, `#`, `{{`, `}}` or `*`",
                    self.path
                ),
            ));
        }
        if self.request_timeout_secs == 0 {
            errors.push(ConfigError::new(
                &["request_timeout_secs"],
                "a call needs time to arrive: at least 1 second",
            ));
        }
        if self.key.expose().is_empty() {
            errors.push(ConfigError::new(&["key"], "the key is empty"));
        }
        if !(200..=599).contains(&self.error_status) {
            errors.push(ConfigError::new(
                &["error_status"],
                "must be an HTTP status from 200 to 599",
            ));
        }
        if self.order_state.trim().is_empty() || self.order_state.contains(',') {
            errors.push(ConfigError::new(
                &["order_state"],
                "a state is not empty and has no comma",
            ));
        }
        let bind = |message: &str, direction| {
            AdapterRef {
                adapter: "econnecteur".to_owned(),
                message: message.to_owned(),
                config: self.config.clone(),
            }
            .bind(direction, cx)
        };
        let request = bind("request", Direction::Decode)
            .map_err(|e| errors.extend(e))
            .ok();
        // The same adapter config: its errors were reported with `request`.
        let response = bind("response", Direction::Encode).ok();
        match (request, response) {
            (Some(request), Some(response)) if errors.is_empty() => Ok(EconnecteurService {
                name: name.to_owned(),
                path: self.path.clone(),
                max_body_bytes: self.max_body_bytes,
                request_timeout: std::time::Duration::from_secs(self.request_timeout_secs),
                key: self.key.clone(),
                order_state: self.order_state.clone(),
                state_names: self.state_names.clone(),
                error_status: self.error_status,
                request,
                response,
            }),
            _ => Err(errors),
        }
    }
}

impl EconnecteurService {
    /// Answers one call: `body` as POSTed, with the request's `Content-Type`.
    pub async fn call(
        &self,
        store: &dyn Store,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> Answered {
        let request = match self.read(body, content_type).await {
            Ok(request) => request,
            Err(diagnostics) => return self.refused(&errors_of(&diagnostics)).await,
        };
        // Nothing about the key is logged or answered beyond whether it matched.
        let key_ok = request
            .credential
            .as_ref()
            .is_some_and(|candidate| self.key.matches(candidate.expose()));
        if !key_ok {
            let why = if request.credential.is_none() {
                "the key is missing"
            } else {
                "the key is wrong"
            };
            tracing::warn!(service = %self.name, "a call was refused: {why}");
            return self.refused(why).await;
        }
        match self.handle(store, request.operation).await {
            Ok(handled) => {
                let status = match handled.response.reply {
                    tradewire_core::ServiceReply::Error { .. } => self.error_status,
                    _ => 200,
                };
                Answered {
                    reply: self.encode(status, &handled.response).await,
                    emitted: handled.emitted,
                }
            }
            Err(error) => self.unavailable(&error).await,
        }
    }

    /// The answer when what a call emitted could not be committed, or the store failed:
    /// the error envelope with 503, which stops e-connecteur's synchronisation until it
    /// tries again, rather than letting it skip what was not kept.
    pub async fn unavailable(&self, error: &StoreError) -> Answered {
        tracing::error!(service = %self.name, %error, "a call could not be carried out");
        let response = ServiceResponse::error("the shop cannot keep this now; try again later");
        Answered {
            reply: self.encode(503, &response).await,
            emitted: Vec::new(),
        }
    }

    /// Keeps an order routed to the service (`payload`, canonical JSON, delivered as
    /// document `document`) to wait for the ERP, in the configured state; its customer is
    /// listed by `customers_list` from then. Taking the same document again is a no-op.
    /// Returns the order's id in the webservice; refused when it is not an order.
    pub async fn take_order(
        &self,
        store: &dyn Store,
        document: &str,
        payload: &[u8],
    ) -> Result<i64, TakeError> {
        handler::take_order(self, store, document, payload).await
    }

    /// The call's request, read by the adapter.
    async fn read(
        &self,
        body: Vec<u8>,
        content_type: Option<String>,
    ) -> Result<ServiceRequest, Diagnostics> {
        let adapter = self.request.clone();
        let context = CallContext {
            content_type,
            ..CallContext::default()
        };
        let decoded = blocking(move || adapter.decode(&body, &context)).await?;
        match Document::from_json(&decoded, Some(DocumentKind::ServiceRequest))? {
            Document::ServiceRequest(request) => Ok(request),
            other => Err(Diagnostics::from(tradewire_core::Diagnostic::error(
                "",
                "service.not_a_request",
                format!("the call decoded as {}", other.kind().contract_id()),
            ))),
        }
    }

    async fn refused(&self, why: &str) -> Answered {
        Answered {
            reply: self
                .encode(self.error_status, &ServiceResponse::error(why))
                .await,
            emitted: Vec::new(),
        }
    }

    /// The answer written by the adapter; one it cannot write becomes the error envelope,
    /// which it always can.
    async fn encode(&self, status: u16, response: &ServiceResponse) -> Reply {
        let adapter = self.response.clone();
        let document = Document::ServiceResponse(response.clone()).to_json();
        match blocking(move || adapter.encode(&document, &CallContext::default())).await {
            Ok(body) => Reply {
                status,
                content_type: "application/xml; charset=UTF-8".to_owned(),
                body,
            },
            Err(diagnostics) => {
                tracing::error!(service = %self.name, %diagnostics, "the answer cannot be written");
                let envelope = ServiceResponse::error(format!(
                    "the answer cannot be written: {}",
                    errors_of(&diagnostics)
                ));
                let adapter = self.response.clone();
                let document = Document::ServiceResponse(envelope).to_json();
                let body = blocking(move || adapter.encode(&document, &CallContext::default()))
                    .await
                    .unwrap_or_default();
                Reply {
                    status: self.error_status,
                    content_type: "application/xml; charset=UTF-8".to_owned(),
                    body,
                }
            }
        }
    }

    /// Whether the adapter can write `response` (a dry run): why not, if it cannot.
    async fn writable(&self, response: &ServiceResponse) -> Result<(), Diagnostics> {
        let adapter = self.response.clone();
        let document = Document::ServiceResponse(response.clone()).to_json();
        blocking(move || adapter.encode(&document, &CallContext::default()))
            .await
            .map(drop)
    }

    /// The states `filter` names: codes as they are, `created` and the configured names
    /// as what they stand for.
    fn states(&self, filter: &[String]) -> Vec<String> {
        let mut states = Vec::new();
        for entry in filter {
            match self.state_names.get(entry) {
                Some(codes) => states.extend(codes.iter().cloned()),
                None if entry == CREATED => states.push(self.order_state.clone()),
                None => states.push(entry.clone()),
            }
        }
        states
    }

    /// Carries out one call over the store (the key already checked).
    pub async fn handle(
        &self,
        store: &dyn Store,
        operation: ServiceOperation,
    ) -> Result<Handled, StoreError> {
        handler::handle(self, store, operation).await
    }
}

/// Why an order routed to the service was not kept.
#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    /// Not an order, or not one the webservice can give the ERP: permanent.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The errors of `diagnostics`, one line each, at most ten: what the envelope says.
fn errors_of(diagnostics: &Diagnostics) -> String {
    const SHOWN: usize = 10;
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            if d.path.is_empty() {
                format!("{} ({})", d.message, d.code)
            } else {
                format!("{}: {} ({})", d.path, d.message, d.code)
            }
        })
        .collect();
    let mut text = errors
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if errors.len() > SHOWN {
        text.push_str(&format!("; and {} more", errors.len() - SHOWN));
    }
    if text.is_empty() {
        text.push_str("the call was refused");
    }
    text
}

/// An adapter call on the blocking pool; a refusal or failure as diagnostics.
async fn blocking(
    call: impl FnOnce() -> Result<tradewire_sdk::Reply, CallError> + Send + 'static,
) -> Result<Vec<u8>, Diagnostics> {
    match tokio::task::spawn_blocking(call).await {
        Ok(Ok(reply)) => Ok(reply.bytes),
        Ok(Err(error)) => Err(error.into_diagnostics()),
        Err(join) => Err(Diagnostics::from(tradewire_core::Diagnostic::error(
            "",
            "adapter.failed",
            format!("the adapter call stopped: {join}"),
        ))),
    }
}
