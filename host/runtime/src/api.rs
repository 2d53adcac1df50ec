//! `[api]`: `GET /health` (each component's state, 503 while one is failing) and
//! `GET /metrics` (Prometheus text).

use std::sync::{Arc, OnceLock};

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tradewire_store::Store;

use crate::health::Health;

/// Delivery latency buckets, in seconds: from a local sink's milliseconds to a retried
/// delivery's hours.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
    7200.0,
];

/// The process's metrics recorder, installed on first use (there is one per process).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("tradewire_delivery_latency_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

#[derive(Clone)]
struct Api {
    health: Health,
    store: Arc<dyn Store>,
    sinks: Arc<Vec<String>>,
    metrics: Option<PrometheusHandle>,
}

pub fn router(health: Health, store: Arc<dyn Store>, sinks: Vec<String>) -> axum::Router {
    let api = Api {
        health,
        store,
        sinks: Arc::new(sinks),
        metrics: metrics_handle(),
    };
    let health_api = api.clone();
    axum::Router::new()
        .route(
            "/health",
            axum::routing::get(move || report_health(health_api.clone())),
        )
        .route(
            "/metrics",
            axum::routing::get(move || render_metrics(api.clone())),
        )
}

async fn report_health(api: Api) -> Response {
    let components = api.health.snapshot();
    let ok = components.values().all(|c| c.status == "ok");
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "failing" },
        "components": components,
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn render_metrics(api: Api) -> Response {
    match api.store.queue_stats(&api.sinks).await {
        Ok(stats) => {
            let now = Utc::now();
            for q in stats {
                metrics::gauge!("tradewire_queue_depth", "component" => q.sink.clone())
                    .set(q.pending as f64);
                let age = q
                    .oldest_pending_at
                    .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
                metrics::gauge!("tradewire_queue_oldest_age_seconds", "component" => q.sink)
                    .set(age);
            }
        }
        Err(e) => tracing::warn!(error = %e, "queue depths not read for /metrics"),
    }
    let text = api
        .metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
