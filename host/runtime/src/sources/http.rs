//! Source `http`: documents POSTed to one path of one address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_sdk::CallContext;

use crate::adapter::AdapterRef;
use crate::ingest::Input;

/// Takes documents POSTed to `path` on `address`. Answers 2xx only once the document and its
/// deliveries are committed: a JSON body with the document's id, or what `reply` encodes;
/// 4xx with the diagnostics when the input is refused (and kept as a dead letter), 409 when
/// its idempotency key was used for other content.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSourceConfig {
    /// Where to listen, e.g. `127.0.0.1:8080`.
    pub address: SocketAddr,
    /// The request path that takes documents.
    #[serde(default = "default_path")]
    pub path: String,
    /// The adapter message that reads a request body; without one, bodies are canonical JSON.
    #[serde(default)]
    pub decode: Option<AdapterRef>,
    /// An adapter message that encodes the answer (an `acknowledgement` document, e.g.
    /// `oci-punchout` `order-response` for a cXML `Response`); without one, the answer is
    /// JSON.
    #[serde(default)]
    pub reply: Option<AdapterRef>,
    /// Request headers passed to the adapter in its call context, besides those its
    /// message declares it reads (`tradewire adapters --format json` lists them).
    #[serde(default)]
    pub headers: Vec<String>,
    /// The request header that carries the sender's idempotency key.
    #[serde(default = "default_key_header")]
    pub key_header: String,
    /// Bodies larger than this are refused with 413 before they are read whole.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// A request that has not arrived whole within this many seconds is answered 408.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
}

fn default_path() -> String {
    "/".to_owned()
}

fn default_key_header() -> String {
    "idempotency-key".to_owned()
}

fn default_max_body_bytes() -> usize {
    10 << 20
}

fn default_request_timeout_secs() -> u64 {
    30
}

/// The `http` sources listening on one address, each on its path.
pub struct HttpListener {
    pub address: SocketAddr,
    pub listener: tokio::net::TcpListener,
    pub routes: Vec<(usize, HttpSourceConfig)>,
}

impl HttpListener {
    /// Binds `address` now, so that a port in use stops the start before anything runs.
    pub async fn bind(
        address: SocketAddr,
        routes: Vec<(usize, HttpSourceConfig)>,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        Ok(Self {
            address,
            listener,
            routes,
        })
    }

    /// Serves until `shutdown` resolves, then lets requests in flight finish (their inputs
    /// are committed and answered) and returns.
    pub async fn serve(
        self,
        ingest: crate::ingest::Ingest,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let mut router = axum::Router::new();
        for (source, config) in self.routes {
            let mut passed: Vec<String> = ingest
                .pipeline
                .sources
                .get(source)
                .and_then(|s| s.origin.decode.as_ref())
                .map(|d| d.wanted_headers())
                .unwrap_or_default();
            passed.extend(config.headers.iter().map(|h| h.to_ascii_lowercase()));
            passed.sort_unstable();
            passed.dedup();
            let state = Arc::new(Route {
                source,
                config,
                passed,
                ingest: ingest.clone(),
            });
            router = router.route(
                &state.config.path.clone(),
                axum::routing::post(move |headers: HeaderMap, body: Body| {
                    take(state.clone(), headers, body)
                }),
            );
        }
        axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

struct Route {
    source: usize,
    config: HttpSourceConfig,
    /// The request headers put in the call context: the adapter's and the config's.
    passed: Vec<String>,
    ingest: crate::ingest::Ingest,
}

/// The longest idempotency key taken: a key is an identifier, not a payload.
const MAX_KEY_LEN: usize = 256;

async fn take(route: Arc<Route>, headers: HeaderMap, body: Body) -> Response {
    let config = &route.config;
    let key = match headers.get(config.key_header.as_str()) {
        None => None,
        Some(value) => match value.to_str().map(str::trim) {
            Ok(key) if !key.is_empty() && key.len() <= MAX_KEY_LEN => Some(key.to_owned()),
            _ => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "source.bad_key",
                    &format!(
                        "`{}` must be 1 to {MAX_KEY_LEN} visible ASCII characters",
                        config.key_header
                    ),
                );
            }
        },
    };
    let timeout = Duration::from_secs(config.request_timeout_secs);
    let raw = match read_body(&headers, body, config.max_body_bytes, timeout).await {
        Ok(raw) => raw,
        Err(refused) => return refusal(refused.status, refused.code, &refused.message),
    };
    let mut context = CallContext {
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        ..CallContext::default()
    };
    for name in &route.passed {
        let values: Vec<&str> = headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if !values.is_empty() {
            context
                .headers
                .insert(name.to_ascii_lowercase(), values.join(", "));
        }
    }
    let outcome = route
        .ingest
        .take(
            route.source,
            Input {
                raw,
                decoded: None,
                context,
                key,
                fallback_key: None,
            },
        )
        .await;
    let reply = outcome.reply();
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, reply.body.clone()).into_response();
    if let Ok(value) = HeaderValue::from_str(&reply.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// Why a request's body was not read.
#[derive(Debug)]
pub(crate) struct BodyRefused {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// Reads a request's body whole: refused with 413 when it is, or says it is, over `limit`
/// bytes (before it is read whole), 408 when it has not arrived within `timeout`, 400 when
/// the connection broke.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Vec<u8>, BodyRefused> {
    let too_large = || BodyRefused {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "source.too_large",
        message: format!("the body is over {limit} bytes"),
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(BodyRefused {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "source.timeout",
            message: "the body did not arrive in time".to_owned(),
        }),
        Ok(Err(e)) => {
            // `to_bytes` fails on a body over the limit (one sent without a length) or a
            // connection that broke.
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                Err(too_large())
            } else {
                Err(BodyRefused {
                    status: StatusCode::BAD_REQUEST,
                    code: "source.unreadable",
                    message: format!("the body could not be read: {e}"),
                })
            }
        }
        Ok(Ok(raw)) => Ok(raw.to_vec()),
    }
}

/// A refusal before the input was read whole: nothing to keep.
fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "status": "refused",
        "diagnostics": [{"severity": "error", "path": "", "code": code, "message": message}],
    });
    (status, axum::Json(body)).into_response()
}
