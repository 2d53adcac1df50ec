//! The approved order: a cXML `OrderRequest` from an account's procurement system,
//! committed on `<name>.orders` before the cXML `Response`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tradewire_core::{Diagnostic, Diagnostics};
use tradewire_sdk::{CallContext, CallError};
use tradewire_store::Reply;

use super::Running;
use crate::ingest::{Input, Outcome, Refused};
use crate::sources::http::read_body;

fn answer(reply: &Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, reply.body.clone()).into_response();
    if let Ok(value) = HeaderValue::from_str(&reply.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// The account whose `From` credential the order carries, by index.
fn account_of(running: &Running, order: &serde_json::Value) -> Option<usize> {
    let extensions = order.get("extensions")?;
    running.gateway.accounts.iter().position(|account| {
        account.orders.as_ref().is_some_and(|(_, from)| {
            extensions
                .get(format!("cxml.From.{}", from.domain))
                .and_then(serde_json::Value::as_str)
                .is_some_and(|identity| identity.trim() == from.identity)
        })
    })
}

pub(super) async fn order(
    State(running): State<Arc<Running>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let config = &running.gateway.config;
    let ingest = &running.runtime.ingest;
    let timeout = Duration::from_secs(config.request_timeout_secs);
    let context = CallContext {
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        ..CallContext::default()
    };
    let raw = match read_body(&headers, body, config.max_body_bytes, timeout).await {
        Ok(raw) => raw,
        Err(why) => {
            let refused = Refused::from(Diagnostics::from(Diagnostic::error(
                "",
                why.code,
                why.message,
            )));
            let outcome = ingest
                .refuse(&running.orders, &[], &context, None, refused)
                .await;
            let mut response = answer(outcome.reply());
            *response.status_mut() = why.status;
            return response;
        }
    };

    // Which account the order claims to come from; its own decode then checks the shared
    // secret (and everything else).
    let probe = running.gateway.order_probe.clone();
    let claimed = {
        let (raw, context) = (raw.clone(), context.clone());
        tokio::task::spawn_blocking(move || probe.decode(&raw, &context)).await
    };
    let refused = match claimed {
        Ok(Ok(reply)) => {
            let order: serde_json::Value = serde_json::from_slice(&reply.bytes).unwrap_or_default();
            let origin = account_of(&running, &order)
                .and_then(|i| running.account_orders.get(i).cloned().flatten());
            match origin {
                Some(origin) => {
                    let input = Input {
                        raw,
                        decoded: None,
                        context,
                        key: None,
                        fallback_key: None,
                    };
                    let outcome = ingest.take_from(&origin, input).await;
                    if matches!(outcome, Outcome::Accepted { .. }) {
                        metrics::counter!(
                            "tradewire_punchout_orders_total",
                            "component" => running.gateway.name.clone()
                        )
                        .increment(1);
                    }
                    return answer(outcome.reply());
                }
                None => Refused::from(Diagnostics::from(Diagnostic::error(
                    "/cXML/Header/From/Credential",
                    "punchout.authentication_failed",
                    "the order's From credential is not one of this gateway's accounts",
                ))),
            }
        }
        Ok(Err(CallError::Rejected(d))) => Refused::from(d),
        Ok(Err(e)) => Refused {
            diagnostics: e.into_diagnostics(),
            adapter_failed: true,
        },
        Err(e) => Refused {
            diagnostics: Diagnostics::from(Diagnostic::error(
                "",
                "adapter.failed",
                format!("decoding stopped: {e}"),
            )),
            adapter_failed: true,
        },
    };
    let outcome = ingest
        .refuse(&running.orders, &raw, &context, None, refused)
        .await;
    answer(outcome.reply())
}
