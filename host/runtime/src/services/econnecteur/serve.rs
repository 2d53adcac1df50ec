//! The service served: e-connecteur's calls over HTTP at `path`, and the orders routed to
//! the service taken from the runtime's deliveries.
//!
//! A call runs to its end in a task of its own, whatever the caller does: what it wrote in
//! the store is emitted even when e-connecteur hung up. What it emitted is committed (each
//! document with its deliveries, as a source's input) before the answer is sent; when that
//! commit fails, e-connecteur is answered [`EconnecteurService::unavailable`] and sends the
//! call again.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tradewire_core::ServiceResponse;
use tradewire_sdk::CallContext;
use tradewire_store::{Reply, Store, StoreError};

use super::{EconnecteurService, Emitted, TakeError};
use crate::graph::OutputRef;
use crate::ingest::{Input, Origin, Outcome};
use crate::services::{Service, ServiceRuntime};
use crate::sinks::{Delivery, SendOutcome, Sink};
use crate::sources::http::read_body;

/// What the running service holds: itself, where it emits, and which outputs are taken.
struct Running {
    service: Arc<EconnecteurService>,
    runtime: ServiceRuntime,
    /// The origin of each output some component takes. What the ERP pushes on another
    /// stays with the service (it answers it on later calls) and is not emitted.
    origins: BTreeMap<&'static str, Arc<Origin>>,
}

impl Service for EconnecteurService {
    fn router(self: Arc<Self>, runtime: ServiceRuntime) -> axum::Router {
        let origins = super::OUTPUTS
            .iter()
            .filter(|output| {
                runtime
                    .ingest
                    .pipeline
                    .takes(&OutputRef::new(&runtime.name, Some(output)))
            })
            .map(|&output| (output, runtime.origin(output, None, None, None)))
            .collect();
        let path = self.path.clone();
        let running = Arc::new(Running {
            service: self,
            runtime,
            origins,
        });
        axum::Router::new()
            .route(&path, post(call))
            .with_state(running)
    }

    fn intake(self: Arc<Self>, store: Arc<dyn Store>) -> Option<Arc<dyn Sink>> {
        Some(Arc::new(OrderIntake {
            service: self,
            store,
        }))
    }
}

async fn call(State(running): State<Arc<Running>>, headers: HeaderMap, body: Body) -> Response {
    let service = running.service.clone();
    let body = match read_body(
        &headers,
        body,
        service.max_body_bytes,
        service.request_timeout,
    )
    .await
    {
        Ok(body) => body,
        Err(refused) => {
            let envelope = ServiceResponse::error(refused.message);
            return answer(service.encode(refused.status.as_u16(), &envelope).await);
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let work = {
        let running = running.clone();
        async move {
            let service = &running.service;
            let answered = service
                .call(&**running.runtime.store(), body, content_type)
                .await;
            match running.emit(answered.emitted).await {
                Ok(()) => answered.reply,
                Err(error) => service.unavailable(&error).await.reply,
            }
        }
    };
    match running.runtime.calls.complete(work).await {
        Some(reply) => answer(reply),
        None => {
            let error = StoreError::Unavailable("the call stopped before its end".to_owned());
            answer(service.unavailable(&error).await.reply)
        }
    }
}

impl Running {
    /// Commits what a call emitted, each document with its deliveries. A document the
    /// pipeline refuses (a transform's condition) is kept as a dead letter under its
    /// output, and the push stays answered: the ERP sending it again cannot change that.
    async fn emit(&self, emitted: Vec<Emitted>) -> Result<(), StoreError> {
        let ingest = &self.runtime.ingest;
        for Emitted { output, document } in emitted {
            let Some(origin) = self.origins.get(output) else {
                continue;
            };
            let json = document.to_json();
            let input = Input {
                raw: json.clone(),
                decoded: Some(json),
                context: CallContext::default(),
                key: None,
                fallback_key: None,
            };
            match ingest.take_from(origin, input).await {
                Outcome::Accepted { .. } | Outcome::Duplicate { .. } => {}
                Outcome::Refused { .. } | Outcome::Conflict { .. } => {
                    tracing::warn!(service = %self.service.name, output, "the pipeline refused what the ERP pushed; kept as a dead letter");
                }
                Outcome::Unavailable { .. } => {
                    return Err(StoreError::Unavailable(format!(
                        "what the ERP pushed on `{}` could not be committed",
                        origin.name
                    )));
                }
            }
        }
        Ok(())
    }
}

fn answer(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = (status, reply.body).into_response();
    if let Ok(value) = HeaderValue::from_str(&reply.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// Where the runtime delivers the documents routed to the service: each is kept as an
/// order waiting for the ERP. Not an order (or one the ERP could not be given) is
/// permanent; a store that fails is temporary.
struct OrderIntake {
    service: Arc<EconnecteurService>,
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for OrderIntake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderIntake")
            .field("service", &self.service.name)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Sink for OrderIntake {
    async fn deliver(&self, delivery: Delivery<'_>) -> SendOutcome {
        match self
            .service
            .take_order(&*self.store, delivery.document, delivery.payload)
            .await
        {
            Ok(id) => SendOutcome::Delivered {
                status: None,
                detail: format!("waiting for the ERP as order {id}"),
            },
            Err(TakeError::Refused(why)) => SendOutcome::Permanent {
                status: None,
                detail: why,
            },
            Err(TakeError::Store(error)) => SendOutcome::Temporary {
                status: None,
                detail: error.to_string(),
                retry_after: None,
            },
        }
    }
}
