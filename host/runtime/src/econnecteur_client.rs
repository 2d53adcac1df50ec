//! Calling a shop's e-connecteur universal webservice, as the e-connecteur program does:
//! one POST per call (`key`, `resource`, `data`), the answer a `<connecteur>` document.
//! The `econnecteur` adapter writes the call (`request`) and reads the answer
//! (`response`) through the registry, on the blocking pool; this module sends it and says
//! how it went. The `econnecteur_poll` source and the `econnecteur` sink share it.

use std::time::{Duration, SystemTime};

use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Response, Url};
use tradewire_core::{
    Document, DocumentKind, Secret, ServiceOperation, ServiceReply, ServiceRequest,
};
use tradewire_sdk::{CallContext, Direction};

use crate::adapter::{AdapterRef, BoundAdapter};
use crate::sinks::http::{
    Scrubber, TlsConfig, absolute_http_url, error_text, is_temporary, keep, retry_after,
};
use crate::sinks::positive_seconds;
use crate::{BuildContext, ConfigError};

/// The adapter both roles use.
const ADAPTER: &str = "econnecteur";

/// The largest answer read: the adapter's own default limit on documents (32 MiB).
const ANSWER_LIMIT: usize = 32 << 20;

/// One call that did not get its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// Worth trying again: no answer (connection, timeout), or 408, 425, 429, 5xx.
    Temporary {
        status: Option<u16>,
        detail: String,
        retry_after: Option<Duration>,
    },
    /// The same call would fail again: another HTTP status, a call the adapter cannot
    /// write, an answer it cannot read.
    Permanent { status: Option<u16>, detail: String },
    /// The webservice answered its error envelope (`<connecteur><error>`, HTTP 200).
    Refused { message: String },
    /// The webservice answered (2xx) what the adapter cannot read: its bytes, and why.
    Unreadable { detail: String, raw: Vec<u8> },
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Temporary { detail, .. }
            | Self::Permanent { detail, .. }
            | Self::Unreadable { detail, .. } => f.write_str(detail),
            Self::Refused { message } => write!(f, "the webservice answered an error: {message}"),
        }
    }
}

/// An answer: what it says, and its bytes as received.
#[derive(Debug, Clone)]
pub struct Answer {
    pub reply: ServiceReply,
    pub raw: Vec<u8>,
}

/// A shop's webservice, ready to call.
#[derive(Debug)]
pub struct ShopClient {
    client: Client,
    url: Url,
    key: Secret,
    timeout: Duration,
    request: BoundAdapter,
    response: BoundAdapter,
}

/// What a component configures about the shop it calls (its fields are the component's
/// own keys, so their errors point at them).
pub struct ShopSettings<'a> {
    pub url: &'a str,
    pub key: &'a Secret,
    pub tls: &'a TlsConfig,
    pub timeout_secs: f64,
    /// The `econnecteur` adapter's config (`currency`, `time_zone`, …); error paths start
    /// with `config`.
    pub adapter_config: &'a serde_json::Value,
}

impl ShopClient {
    /// Checks the settings and prepares the client; nothing is sent.
    pub fn build(
        settings: &ShopSettings<'_>,
        cx: &BuildContext<'_>,
    ) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let url = keep(
            absolute_http_url(settings.url).map_err(|why| vec![ConfigError::new(&["url"], why)]),
            &mut errors,
        );
        if settings.key.expose().is_empty() {
            errors.push(ConfigError::new(&["key"], "the webservice's key is empty"));
        }
        let timeout = keep(
            positive_seconds(settings.timeout_secs).ok_or_else(|| {
                vec![ConfigError::new(
                    &["timeout_secs"],
                    "must be a number of seconds above 0",
                )]
            }),
            &mut errors,
        );
        let client = keep(settings.tls.client(cx), &mut errors);
        let bind = |message: &str, direction| {
            AdapterRef {
                adapter: ADAPTER.to_owned(),
                message: message.to_owned(),
                config: settings.adapter_config.clone(),
            }
            .bind(direction, cx)
        };
        let request = keep(bind("request", Direction::Encode), &mut errors);
        // Both bindings check the same config: its errors are reported once.
        let response = bind("response", Direction::Decode).ok();
        match (url, timeout, client, request, response) {
            (Some(url), Some(timeout), Some(client), Some(request), Some(response))
                if errors.is_empty() =>
            {
                Ok(Self {
                    client,
                    url,
                    key: settings.key.clone(),
                    timeout,
                    request,
                    response,
                })
            }
            _ => Err(errors),
        }
    }

    /// Makes one call and reads its answer. The key is scrubbed from every detail.
    pub async fn call(&self, operation: ServiceOperation) -> Result<Answer, CallFailure> {
        let request = ServiceRequest {
            credential: Some(self.key.clone()),
            ..ServiceRequest::new(operation)
        };
        let document = Document::ServiceRequest(request).to_json();
        let adapter = self.request.clone();
        let body = blocking(move || adapter.encode(&document, &CallContext::default()))
            .await?
            .bytes;
        let content_type = content_type(&body);
        let request = self
            .client
            .post(self.url.clone())
            .timeout(self.timeout)
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .build()
            .map_err(|e| CallFailure::Permanent {
                status: None,
                detail: format!("cannot build the request: {}", error_text(e)),
            })?;
        let scrubber = Scrubber::new(vec![self.key.expose()], &request);
        let mut response =
            self.client
                .execute(request)
                .await
                .map_err(|e| CallFailure::Temporary {
                    status: None,
                    detail: scrubber.detail(&error_text(e)),
                    retry_after: None,
                })?;
        let status = response.status();
        let raw = read_bounded(&mut response, ANSWER_LIMIT).await;
        let raw = match raw {
            Ok(raw) => raw,
            Err(detail) => {
                return Err(CallFailure::Temporary {
                    status: Some(status.as_u16()),
                    detail: scrubber.detail(&detail),
                    retry_after: None,
                });
            }
        };
        if !status.is_success() {
            let detail = scrubber.detail(&format!(
                "the webservice answered {status}: {}",
                String::from_utf8_lossy(&raw)
            ));
            return Err(if is_temporary(status) {
                CallFailure::Temporary {
                    status: Some(status.as_u16()),
                    detail,
                    retry_after: retry_after(response.headers(), SystemTime::now()),
                }
            } else {
                CallFailure::Permanent {
                    status: Some(status.as_u16()),
                    detail,
                }
            });
        }
        let adapter = self.response.clone();
        let bytes = raw.clone();
        let decoded = match blocking(move || adapter.decode(&bytes, &CallContext::default())).await
        {
            Ok(decoded) => decoded,
            Err(CallFailure::Permanent { detail, .. }) => {
                return Err(CallFailure::Unreadable {
                    detail: scrubber.detail(&format!("the answer cannot be read: {detail}")),
                    raw,
                });
            }
            Err(other) => return Err(other),
        };
        let reply = match Document::from_json(&decoded.bytes, Some(DocumentKind::ServiceResponse)) {
            Ok(Document::ServiceResponse(response)) => response.reply,
            Ok(other) => {
                return Err(CallFailure::Unreadable {
                    detail: format!("the answer decoded as a {}", other.kind()),
                    raw,
                });
            }
            Err(diagnostics) => {
                return Err(CallFailure::Unreadable {
                    detail: format!("the answer is not a service response: {diagnostics}"),
                    raw,
                });
            }
        };
        match reply {
            ServiceReply::Error { message } => Err(CallFailure::Refused {
                message: scrubber.detail(&message),
            }),
            reply => Ok(Answer { reply, raw }),
        }
    }
}

/// The body's content type: the adapter writes multipart (starting with its boundary) when
/// it packs `data` or sends a file, a form otherwise.
fn content_type(body: &[u8]) -> String {
    let first_line = body
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    match first_line.strip_prefix(b"--") {
        Some(boundary) if !boundary.is_empty() => format!(
            "multipart/form-data; boundary={}",
            String::from_utf8_lossy(boundary)
        ),
        _ => "application/x-www-form-urlencoded".to_owned(),
    }
}

/// The whole body, or why not (over `limit`, or broken off).
async fn read_bounded(response: &mut Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > limit {
                    return Err(format!("the answer is over {limit} bytes"));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(bytes),
            Err(e) => return Err(format!("the answer broke off: {}", error_text(e))),
        }
    }
}

/// An adapter call on the blocking pool. A refusal or a failure of the adapter is
/// permanent: the same call would meet it again.
async fn blocking(
    call: impl FnOnce() -> Result<tradewire_sdk::Reply, tradewire_sdk::CallError> + Send + 'static,
) -> Result<tradewire_sdk::Reply, CallFailure> {
    match tokio::task::spawn_blocking(call).await {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(error)) => Err(CallFailure::Permanent {
            status: None,
            detail: error.into_diagnostics().to_string(),
        }),
        Err(join) if join.is_cancelled() => Err(CallFailure::Temporary {
            status: None,
            detail: "the adapter call was cancelled (shutting down)".to_owned(),
            retry_after: None,
        }),
        Err(join) => Err(CallFailure::Permanent {
            status: None,
            detail: format!("the adapter call panicked: {join}"),
        }),
    }
}
