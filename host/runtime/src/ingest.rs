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

use crate::adapter::BoundAdapter;
use crate::graph::{OutputRef, Pipeline};

/// Where inputs come in: a source, or one of a service's named outputs.
#[derive(Debug, Clone)]
pub struct Origin {
    /// What documents and dead letters are kept under, and the metrics' component: a
    /// source's name (`carts`), a service's output (`punchout.orders`).
    pub name: String,
    /// Where its documents are routed from.
    pub output: OutputRef,
    /// The adapter that reads its input; without one, input is canonical JSON.
    pub decode: Option<BoundAdapter>,
    /// The adapter that encodes an `acknowledgement` as the answer; without one, JSON.
    pub reply: Option<BoundAdapter>,
    /// Blanks the secrets its input carries (a cXML `SharedSecret`) in what the store
    /// keeps of it: secrets never reach the store.
    pub blank_secrets: Option<BlankSecrets>,
}

/// An input's bytes with the secrets they carry blanked.
pub type BlankSecrets = fn(&[u8]) -> Vec<u8>;

impl Origin {
    /// What the store keeps of `raw`.
    fn kept<'a>(&self, raw: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        match self.blank_secrets {
            Some(blank) => std::borrow::Cow::Owned(blank(raw)),
            None => std::borrow::Cow::Borrowed(raw),
        }
    }
}

/// One input as a source received it.
#[derive(Debug, Clone)]
pub struct Input {
    pub raw: Vec<u8>,
    /// The canonical document a service already read from `raw` (to answer with what it
    /// says): not decoded again.
    pub decoded: Option<Vec<u8>>,
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

/// An [`Input`] whose bytes and context are shared with the code that may refuse it.
struct Received {
    raw: Arc<Vec<u8>>,
    decoded: Option<Vec<u8>>,
    context: Arc<CallContext>,
    key: Option<String>,
    fallback_key: Option<String>,
}

/// The documents an input became, one per sink, ready to commit.
struct Prepared {
    key: Option<String>,
    deliveries: Vec<(String, Vec<u8>)>,
    warnings: Diagnostics,
}

/// Why an input was refused: its diagnostics, and whether an adapter failed (rather than
/// the input being wrong).
#[derive(Debug)]
pub struct Refused {
    pub diagnostics: Diagnostics,
    pub adapter_failed: bool,
}

impl Refused {
    /// The HTTP status it is answered with: 500 when an adapter failed, 401 when the
    /// sender's credentials were refused, else 422.
    pub fn status(&self) -> u16 {
        if self.adapter_failed {
            500
        } else if self
            .diagnostics
            .iter()
            .any(|d| d.code.ends_with("authentication_failed"))
        {
            401
        } else {
            422
        }
    }
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
    /// gets once committed (`answer`, else an acknowledgement); or why it is refused.
    /// Counts it as received.
    pub async fn incoming(
        &self,
        origin: &Arc<Origin>,
        input: Input,
        answer: Option<Reply>,
    ) -> Result<Incoming, Refused> {
        let Input {
            raw,
            decoded,
            context,
            key,
            fallback_key,
        } = input;
        let received = Received {
            raw: Arc::new(raw),
            decoded,
            context: Arc::new(context),
            key,
            fallback_key,
        };
        self.prepare(origin, received, answer).await
    }

    /// [`Self::incoming`] of an input whose bytes and context the caller keeps too (to
    /// refuse it with), shared rather than copied.
    async fn prepare(
        &self,
        origin: &Arc<Origin>,
        received: Received,
        answer: Option<Reply>,
    ) -> Result<Incoming, Refused> {
        let received_at = Utc::now();
        let Received {
            raw,
            decoded,
            context,
            key,
            fallback_key,
        } = received;
        let prepared = {
            let (raw, context, pipeline, origin) = (
                raw.clone(),
                context.clone(),
                self.pipeline.clone(),
                origin.clone(),
            );
            tokio::task::spawn_blocking(move || {
                prepare(&pipeline, &origin, &raw, decoded.as_deref(), &context)
            })
            .await
        };
        metrics::counter!("tradewire_documents_received_total", "component" => origin.name.clone())
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
        let kept = origin.kept(&raw);
        let id = uuid::Uuid::now_v7().to_string();
        let sinks: Vec<&str> = prepared
            .deliveries
            .iter()
            .map(|(s, _)| s.as_str())
            .collect();
        let reply = if let Some(answer) = answer {
            answer
        } else {
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
            self.answer(origin, &context, 202, body, ack).await
        };
        Ok(Incoming {
            id: id.clone(),
            source: origin.name.clone(),
            key,
            content_hash: content_hash(&kept),
            received_at,
            raw: kept.into_owned(),
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
        match self.pipeline.sources.get(source) {
            Some(built) => self.take_from(&built.origin, input).await,
            None => self.unavailable("no such source"),
        }
    }

    /// Decodes, transforms and commits one input from `origin`.
    pub async fn take_from(&self, origin: &Arc<Origin>, input: Input) -> Outcome {
        let (raw, context) = (Arc::new(input.raw), Arc::new(input.context));
        let received = Received {
            raw: raw.clone(),
            decoded: input.decoded,
            context: context.clone(),
            key: input.key.clone(),
            fallback_key: input.fallback_key,
        };
        match self.prepare(origin, received, None).await {
            Ok(incoming) => self.commit(origin, &context, incoming).await,
            Err(refused) => {
                self.refuse(origin, &raw, &context, input.key, refused)
                    .await
            }
        }
    }

    /// Commits what [`Self::incoming`] made, and wakes the sinks it reaches.
    pub async fn commit(
        &self,
        origin: &Origin,
        context: &CallContext,
        incoming: Incoming,
    ) -> Outcome {
        let name = origin.name.clone();
        let (id, reply) = (incoming.id.clone(), incoming.reply.clone());
        let sinks: Vec<String> = incoming.deliveries.iter().map(|d| d.sink.clone()).collect();
        match self.store.accept(incoming).await {
            Ok(Acceptance::Accepted) => {
                self.wake(&sinks);
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
                    .refusal_reply(origin, context, 409, &diagnostics, None)
                    .await;
                Outcome::Conflict { reply }
            }
            Err(e) => {
                tracing::error!(source = %name, error = %e, "could not commit a document");
                self.unavailable(&e.to_string())
            }
        }
    }

    /// Wakes the workers of `sinks`: deliveries for them were committed.
    pub fn wake(&self, sinks: &[String]) {
        for sink in sinks {
            self.wakers.wake(sink);
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
        self.refuse(&built.origin, &[], &CallContext::default(), None, refused)
            .await
    }

    /// Answered when the store cannot commit: nothing was acknowledged.
    pub fn unavailable(&self, why: &str) -> Outcome {
        let body = json!({"status": "unavailable", "message": format!("not accepted, retry later: {why}")});
        Outcome::Unavailable {
            reply: json_reply(503, &body),
        }
    }

    /// Keeps a refused input as a dead letter and answers with why.
    pub async fn refuse(
        &self,
        source: &Origin,
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
            raw: source.kept(raw).into_owned(),
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
        let status = refused.status();
        let reply = self
            .refusal_reply(source, context, status, &refused.diagnostics, dead_letter)
            .await;
        Outcome::Refused { reply, dead_letter }
    }

    async fn refusal_reply(
        &self,
        source: &Origin,
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
        source: &Origin,
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
    origin: &Origin,
    raw: &[u8],
    decoded: Option<&[u8]>,
    context: &CallContext,
) -> Result<Prepared, Refused> {
    let mut warnings = Diagnostics::new();
    let decoded_now;
    let json: &[u8] = match (decoded, &origin.decode) {
        (Some(decoded), _) => decoded,
        (None, Some(adapter)) => match adapter.decode(raw, context) {
            Ok(reply) => {
                warnings.extend(reply.warnings);
                decoded_now = reply.bytes;
                &decoded_now
            }
            Err(CallError::Rejected(d)) => return Err(d.into()),
            Err(e) => {
                return Err(Refused {
                    diagnostics: e.into_diagnostics(),
                    adapter_failed: true,
                });
            }
        },
        (None, None) => raw,
    };
    // Canonical input is checked as a document before anything else sees it.
    let document = Document::from_json(json, None)?;
    let value: Value = serde_json::to_value(&document).map_err(|e| {
        Diagnostics::from(Diagnostic::error("", "document.not_json", e.to_string()))
    })?;
    let key = origin.decode.as_ref().and_then(|a| a.key_of(&value));
    let routed = pipeline.route(&origin.output, value)?;
    let mut deliveries = Vec::with_capacity(routed.len());
    for (sink, value) in routed {
        // What a transform made must still be a canonical document; written back with
        // `contract` first, as every document crosses the runtime.
        let document = Document::from_value(&value, None).map_err(|d| {
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
    /// Services answer their senders at once: a refused request is sent again by its
    /// sender, not replayed.
    #[error(
        "dead letter {id} was refused by service output `{output}` and answered to its sender, who sends it again; drop it once that is done"
    )]
    FromService { id: DeadLetterId, output: String },
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
            self.wake(std::slice::from_ref(&letter.summary.component));
            return Ok(Replayed::Requeued);
        }
        let source_name = letter.summary.component.clone();
        let Some(built) = self.pipeline.sources.iter().find(|s| s.name == source_name) else {
            let from_service = source_name.split_once('.').is_some_and(|(service, _)| {
                self.pipeline.services.iter().any(|s| s.name == service)
            });
            return Err(if from_service {
                ReplayError::FromService {
                    id,
                    output: source_name,
                }
            } else {
                ReplayError::UnknownSource { id, source_name }
            });
        };
        let context = letter
            .context
            .and_then(|c| serde_json::to_vec(&c).ok())
            .and_then(|c| CallContext::from_json(&c).ok())
            .unwrap_or_default();
        let input = Input {
            raw: letter.raw.unwrap_or_default(),
            decoded: None,
            context,
            key: letter.summary.key.clone(),
            fallback_key: None,
        };
        match self.incoming(&built.origin, input, None).await {
            Ok(incoming) => {
                let sinks: Vec<String> =
                    incoming.deliveries.iter().map(|d| d.sink.clone()).collect();
                let new_id = incoming.id.clone();
                Ok(match self.store.accept_replayed(id, incoming).await? {
                    Acceptance::Accepted => {
                        self.wake(&sinks);
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
