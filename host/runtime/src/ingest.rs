//! What every source does with an input: decode, transform, commit, answer. An input is
//! acknowledged only once the store has committed it with one delivery per sink it reaches;
//! an input that cannot be is refused, kept as a dead letter, and answered with why.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tradewire_core::{AckStatus, Acknowledgement, Diagnostic, Diagnostics, Document};
use tradewire_sdk::{CallContext, CallError};
use tradewire_store::{Acceptance, DeadLetterId, Incoming, NewDelivery, Refusal, Reply, Store};

use crate::graph::{BuiltSource, Pipeline};

/// One input as a source received it.
#[derive(Debug, Clone)]
pub struct Input {
    pub raw: Vec<u8>,
    pub context: CallContext,
    /// The transport's idempotency key (an `Idempotency-Key` header), if it gave one.
    pub key: Option<String>,
    /// The key when neither the transport nor the document gives one (a file source's
    /// name and digest, so that a file taken again after a crash is known).
    pub fallback_key: Option<String>,
}

/// What became of an input, and what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Committed now: answer `reply`.
    Accepted { id: String, reply: Reply },
    /// Committed before under the same key with the same content: answer as the first time.
    Duplicate { id: String, reply: Reply },
    /// Refused and kept as a dead letter (none when even that failed).
    Refused {
        reply: Reply,
        dead_letter: Option<DeadLetterId>,
    },
    /// The key was committed before with other content; nothing kept.
    Conflict { reply: Reply },
    /// The store could not commit: nothing was acknowledged, the sender should retry.
    Unavailable { reply: Reply },
}

impl Outcome {
    pub fn reply(&self) -> &Reply {
        match self {
            Self::Accepted { reply, .. }
            | Self::Duplicate { reply, .. }
            | Self::Refused { reply, .. }
            | Self::Conflict { reply }
            | Self::Unavailable { reply } => reply,
        }
    }
}

/// Wakes each sink's worker when a delivery for it was committed.
#[derive(Debug, Default)]
pub struct Wakers(HashMap<String, Arc<Notify>>);

impl Wakers {
    pub fn new<'a>(sinks: impl IntoIterator<Item = &'a str>) -> Self {
        Self(
            sinks
                .into_iter()
                .map(|s| (s.to_owned(), Arc::new(Notify::new())))
                .collect(),
        )
    }

    pub fn get(&self, sink: &str) -> Arc<Notify> {
        self.0.get(sink).cloned().unwrap_or_default()
    }

    fn wake(&self, sink: &str) {
        if let Some(n) = self.0.get(sink) {
            n.notify_one();
        }
    }
}

/// The documents an input became, one per sink, ready to commit.
struct Prepared {
    key: Option<String>,
    deliveries: Vec<(String, Vec<u8>)>,
    warnings: Diagnostics,
}

/// Why an input was refused: its diagnostics, and whether an adapter failed (rather than
/// the input being wrong).
struct Refused {
    diagnostics: Diagnostics,
    adapter_failed: bool,
}

impl From<Diagnostics> for Refused {
    fn from(diagnostics: Diagnostics) -> Self {
        Self {
            diagnostics,
            adapter_failed: false,
        }
    }
}

/// Takes inputs for every source of one pipeline.
#[derive(Clone)]
pub struct Ingest {
    pub pipeline: Arc<Pipeline>,
    pub store: Arc<dyn Store>,
    pub wakers: Arc<Wakers>,
}

impl Ingest {
    /// Decodes and transforms an input into what the store commits, with the answer it
    /// gets once committed; or why it is refused. Counts it as received.
    async fn incoming(
        &self,
        built: &BuiltSource,
        source: usize,
        raw: Arc<Vec<u8>>,
        context: Arc<CallContext>,
        key: Option<String>,
        fallback_key: Option<String>,
    ) -> Result<Incoming, Refused> {
        let received_at = Utc::now();
        let prepared = {
            let (raw, context, pipeline) = (raw.clone(), context.clone(), self.pipeline.clone());
            tokio::task::spawn_blocking(move || prepare(&pipeline, source, &raw, &context)).await
        };
        metrics::counter!("tradewire_documents_received_total", "component" => built.name.clone())
            .increment(1);
        let prepared = match prepared {
            Ok(prepared) => prepared?,
            Err(join) => {
                let diagnostics =
                    Diagnostic::error("", "adapter.failed", format!("decoding stopped: {join}"))
                        .into();
                return Err(Refused {
                    diagnostics,
                    adapter_failed: true,
                });
            }
        };
        let key = key.or(prepared.key).or(fallback_key);
        let id = uuid::Uuid::now_v7().to_string();
        let sinks: Vec<&str> = prepared
            .deliveries
            .iter()
            .map(|(s, _)| s.as_str())
            .collect();
        let reply = {
            let ack = Acknowledgement {
                status: if prepared.warnings.is_empty() {
                    AckStatus::Accepted
                } else {
                    AckStatus::AcceptedWithWarnings
                },
                in_reply_to: key.clone(),
                code: Some(200),
                message: Some(format!("accepted as {id}")),
                diagnostics: prepared.warnings.as_slice().to_vec(),
                timestamp: Some(received_at.fixed_offset()),
            };
            let body = json!({
                "status": "accepted",
                "id": id,
                "key": key,
                "sinks": sinks,
                "warnings": prepared.warnings,
            });
            self.answer(built, &context, 202, body, ack).await
        };
        Ok(Incoming {
            id: id.clone(),
            source: built.name.clone(),
            key,
            content_hash: content_hash(&raw),
            received_at,
            raw: raw.to_vec(),
            context: context_json(&context),
            reply,
            deliveries: prepared
                .deliveries
                .into_iter()
                .map(|(sink, payload)| NewDelivery {
                    key: format!("{id}.{sink}"),
                    sink,
                    payload,
                })
                .collect(),
        })
    }

    /// Decodes, transforms and commits one input of source number `source`.
    pub async fn take(&self, source: usize, input: Input) -> Outcome {
        let Some(built) = self.pipeline.sources.get(source) else {
            return self.unavailable("no such source");
        };
        let name = built.name.clone();
        let (raw, context) = (Arc::new(input.raw), Arc::new(input.context));
        let incoming = match self
            .incoming(
                built,
                source,
                raw.clone(),
                context.clone(),
                input.key.clone(),
                input.fallback_key,
            )
            .await
        {
            Ok(incoming) => incoming,
            Err(refused) => return self.refuse(built, &raw, &context, input.key, refused).await,
        };
        let (id, reply) = (incoming.id.clone(), incoming.reply.clone());
        let sinks: Vec<String> = incoming.deliveries.iter().map(|d| d.sink.clone()).collect();
        match self.store.accept(incoming).await {
            Ok(Acceptance::Accepted) => {
                for sink in &sinks {
                    self.wakers.wake(sink);
                }
                Outcome::Accepted { id, reply }
            }
            Ok(Acceptance::Duplicate { id, reply }) => Outcome::Duplicate { id, reply },
            Ok(Acceptance::Conflict { id: first }) => {
                metrics::counter!("tradewire_documents_refused_total", "component" => name)
                    .increment(1);
                let diagnostics: Diagnostics = Diagnostic::error(
                    "",
                    "source.key_conflict",
                    format!(
                        "this idempotency key was accepted for other content, as document {first}"
                    ),
                )
                .into();
                let reply = self
                    .refusal_reply(built, &context, 409, &diagnostics, None)
                    .await;
                Outcome::Conflict { reply }
            }
            Err(e) => {
                tracing::error!(source = %name, error = %e, "could not commit a document");
                self.unavailable(&e.to_string())
            }
        }
    }

    /// Refuses an input too large to read: the dead letter keeps why, not the bytes.
    pub async fn refuse_unread(&self, source: usize, why: &str) -> Outcome {
        let Some(built) = self.pipeline.sources.get(source) else {
            return self.unavailable("no such source");
        };
        let refused = Refused::from(Diagnostics::from(Diagnostic::error(
            "",
            "source.too_large",
            why,
        )));
        self.refuse(built, &[], &CallContext::default(), None, refused)
            .await
    }

    fn unavailable(&self, why: &str) -> Outcome {
        let body = json!({"status": "unavailable", "message": format!("not accepted, retry later: {why}")});
        Outcome::Unavailable {
            reply: json_reply(503, &body),
        }
    }

    async fn refuse(
        &self,
        source: &BuiltSource,
        raw: &[u8],
        context: &CallContext,
        key: Option<String>,
        refused: Refused,
    ) -> Outcome {
        metrics::counter!("tradewire_documents_refused_total", "component" => source.name.clone())
            .increment(1);
        let diagnostics_json = serde_json::to_value(&refused.diagnostics).unwrap_or(Value::Null);
        let refusal = Refusal {
            source: source.name.clone(),
            key,
            received_at: Utc::now(),
            raw: raw.to_vec(),
            context: context_json(context),
            diagnostics: diagnostics_json,
        };
        let dead_letter = match self.store.refuse(refusal).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::error!(source = %source.name, error = %e, "could not keep a refused input");
                return self.unavailable(&e.to_string());
            }
        };
        let status = if refused.adapter_failed { 500 } else { 422 };
        let reply = self
            .refusal_reply(source, context, status, &refused.diagnostics, dead_letter)
            .await;
        Outcome::Refused { reply, dead_letter }
    }

    async fn refusal_reply(
        &self,
        source: &BuiltSource,
        context: &CallContext,
        status: u16,
        diagnostics: &Diagnostics,
        dead_letter: Option<DeadLetterId>,
    ) -> Reply {
        let ack = Acknowledgement {
            status: AckStatus::Rejected,
            in_reply_to: None,
            code: Some(status),
            message: Some(
                diagnostics
                    .iter()
                    .next()
                    .map_or_else(|| "refused".to_owned(), |d| d.message.clone()),
            ),
            diagnostics: diagnostics.as_slice().to_vec(),
            timestamp: Some(Utc::now().fixed_offset()),
        };
        let body = json!({
            "status": "refused",
            "dead_letter": dead_letter,
            "diagnostics": diagnostics,
        });
        self.answer(source, context, status, body, ack).await
    }

    /// The answer: `ack` encoded by the source's reply adapter when it has one, else `body`.
    async fn answer(
        &self,
        source: &BuiltSource,
        context: &CallContext,
        status: u16,
        body: Value,
        ack: Acknowledgement,
    ) -> Reply {
        let Some(adapter) = source.reply.clone() else {
            return json_reply(status, &body);
        };
        let document = Document::Acknowledgement(ack).to_json();
        let context = context.clone();
        let encoded = tokio::task::spawn_blocking(move || {
            adapter
                .encode(&document, &context)
                .map(|r| (r.bytes, adapter.media_type.clone()))
        })
        .await;
        match encoded {
            Ok(Ok((body, content_type))) => Reply {
                status,
                content_type,
                body,
            },
            Ok(Err(e)) => {
                tracing::error!(source = %source.name, error = %e, "the reply adapter refused the answer; answering JSON");
                json_reply(status, &body)
            }
            Err(e) => {
                tracing::error!(source = %source.name, error = %e, "the reply adapter failed; answering JSON");
                json_reply(status, &body)
            }
        }
    }
}

fn json_reply(status: u16, body: &Value) -> Reply {
    Reply {
        status,
        content_type: "application/json".to_owned(),
        body: serde_json::to_vec(body).unwrap_or_default(),
    }
}

/// The transport context as stored: the content type and the headers the source kept.
fn context_json(context: &CallContext) -> Value {
    serde_json::from_slice(&context.to_json()).unwrap_or(Value::Null)
}

/// A digest of the raw input, to tell a repeat from a reused key.
pub fn content_hash(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decode, route, and check every document a sink is to receive — on the blocking pool.
fn prepare(
    pipeline: &Pipeline,
    source: usize,
    raw: &[u8],
    context: &CallContext,
) -> Result<Prepared, Refused> {
    let Some(built) = pipeline.sources.get(source) else {
        return Err(
            Diagnostics::from(Diagnostic::error("", "source.unknown", "no such source")).into(),
        );
    };
    let mut warnings = Diagnostics::new();
    let decoded;
    let json: &[u8] = match &built.decode {
        Some(adapter) => match adapter.decode(raw, context) {
            Ok(reply) => {
                warnings.extend(reply.warnings);
                decoded = reply.bytes;
                &decoded
            }
            Err(CallError::Rejected(d)) => return Err(d.into()),
            Err(e) => {
                return Err(Refused {
                    diagnostics: e.into_diagnostics(),
                    adapter_failed: true,
                });
            }
        },
        None => raw,
    };
    // Canonical input is checked as a document before anything else sees it.
    let document = Document::from_json(json, None)?;
    let value: Value = serde_json::to_value(&document).map_err(|e| {
        Diagnostics::from(Diagnostic::error("", "document.not_json", e.to_string()))
    })?;
    let key = built.decode.as_ref().and_then(|a| a.key_of(&value));
    let routed = pipeline.route(&built.name, value)?;
    let mut deliveries = Vec::with_capacity(routed.len());
    for (sink, value) in routed {
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        // What a transform made must still be a canonical document; written back with
        // `contract` first, as every document crosses the runtime.
        let document = Document::from_json(&bytes, None).map_err(|d| {
            let mut all = Diagnostics::new();
            all.extend(d.into_iter().map(|mut d| {
                d.message = format!(
                    "the document for sink `{sink}` is not canonical: {}",
                    d.message
                );
                d
            }));
            all
        })?;
        deliveries.push((sink, document.to_json()));
    }
    Ok(Prepared {
        key,
        deliveries,
        warnings,
    })
}

/// What replaying a dead letter did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Replayed {
    /// A refused input passed this time and was committed; its dead letter is gone.
    Accepted { id: String },
    /// A refused input passed and had been committed already under its key.
    Duplicate { id: String },
    /// A refused input passed but its key was committed for other content.
    Conflict { id: String },
    /// A refused input was refused again; its dead letter now holds the new diagnostics.
    RefusedAgain { diagnostics: Value },
    /// An undeliverable document is pending again for its sink, with the same key.
    Requeued,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Store(#[from] tradewire_store::StoreError),
    #[error("no dead letter {0}")]
    NoSuchDeadLetter(DeadLetterId),
    #[error("dead letter {id} came from source `{source_name}`, which this pipeline no longer has")]
    UnknownSource {
        id: DeadLetterId,
        source_name: String,
    },
}

impl Ingest {
    /// Replays a dead letter: a refused input through its source's decode and the
    /// transforms as they are configured now; an undeliverable document to its sink again.
    pub async fn replay(&self, id: DeadLetterId) -> Result<Replayed, ReplayError> {
        let letter = self
            .store
            .dead_letter(id)
            .await?
            .ok_or(ReplayError::NoSuchDeadLetter(id))?;
        if letter.summary.kind == tradewire_store::DeadLetterKind::Undeliverable {
            self.store.requeue(id).await?;
            self.wakers.wake(&letter.summary.component);
            return Ok(Replayed::Requeued);
        }
        let source_name = letter.summary.component.clone();
        let Some((source, built)) = self
            .pipeline
            .sources
            .iter()
            .enumerate()
            .find(|(_, s)| s.name == source_name)
        else {
            return Err(ReplayError::UnknownSource { id, source_name });
        };
        let raw = Arc::new(letter.raw.unwrap_or_default());
        let context = letter
            .context
            .and_then(|c| serde_json::to_vec(&c).ok())
            .and_then(|c| CallContext::from_json(&c).ok())
            .unwrap_or_default();
        let fallback_key = None;
        match self
            .incoming(
                built,
                source,
                raw,
                Arc::new(context),
                letter.summary.key.clone(),
                fallback_key,
            )
            .await
        {
            Ok(incoming) => {
                let sinks: Vec<String> =
                    incoming.deliveries.iter().map(|d| d.sink.clone()).collect();
                let new_id = incoming.id.clone();
                Ok(match self.store.accept_replayed(id, incoming).await? {
                    Acceptance::Accepted => {
                        for sink in &sinks {
                            self.wakers.wake(sink);
                        }
                        Replayed::Accepted { id: new_id }
                    }
                    Acceptance::Duplicate { id, .. } => Replayed::Duplicate { id },
                    Acceptance::Conflict { id } => Replayed::Conflict { id },
                })
            }
            Err(refused) => {
                let diagnostics = serde_json::to_value(&refused.diagnostics).unwrap_or(Value::Null);
                self.store.refuse_again(id, diagnostics.clone()).await?;
                Ok(Replayed::RefusedAgain { diagnostics })
            }
        }
    }
}
