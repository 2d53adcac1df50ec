//! `tradewire validate | graph | run | dlq | trace`: the pipeline commands.

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use tradewire_runtime::LoadOptions;
use tradewire_runtime::config::{ConfigReport, PipelineConfig, Severity};
use tradewire_runtime::ingest::{Ingest, Replayed, Wakers};
use tradewire_store::sqlite::{Access, SqliteOptions, SqliteStore};
use tradewire_store::{
    DeadLetter, DeadLetterId, DeadLetterKind, DeliveryTrace, PunchoutSessionRecord, SessionLookup,
    Store, StoreError,
};

use crate::cli::{Failure, Format, write_stdout};

/// Prints a pipeline file's diagnostics: for people on stderr, or as JSON on stdout.
pub fn print_report(format: Format, report: &ConfigReport, valid: bool) {
    match format {
        Format::Text => eprint!("{report}"),
        Format::Json => {
            let body = json!({"valid": valid, "diagnostics": report.0});
            let _ = write_stdout(format!("{body}\n").as_bytes());
        }
    }
}

pub fn validate(file: &Path, options: &LoadOptions, format: Format) -> Result<(), Failure> {
    let pipeline = tradewire_runtime::load(file, options).map_err(Failure::Pipeline)?;
    print_report(format, &pipeline.warnings, true);
    if format == Format::Text {
        let warnings = pipeline
            .warnings
            .0
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count();
        let summary = format!(
            "{}: valid (sources: {}, services: {}, transforms: {}, sinks: {}, warnings: {warnings})\n",
            file.display(),
            pipeline.sources.len(),
            pipeline.services.len(),
            pipeline.config.transforms.len(),
            pipeline.sinks.len(),
        );
        write_stdout(summary.as_bytes())?;
    }
    Ok(())
}

pub fn graph(file: &Path, options: &LoadOptions) -> Result<(), Failure> {
    let pipeline = tradewire_runtime::load(file, options).map_err(Failure::Pipeline)?;
    write_stdout(pipeline.to_dot().as_bytes())
}

/// `tradewire run`: runs until SIGTERM or SIGINT, then stops within the pipeline's bound.
pub fn run(file: &Path, options: &LoadOptions, format: Format) -> Result<(), Failure> {
    let pipeline = tradewire_runtime::load(file, options).map_err(Failure::Pipeline)?;
    crate::cli::init_logging(format, pipeline.config.runtime.log_format, true);
    for warning in &pipeline.warnings.0 {
        tracing::warn!("{warning}");
    }
    let store_path = pipeline.config.file.resolve(&pipeline.config.store.path);
    server_runtime()?.block_on(async move {
        let store = SqliteStore::open(&store_path, SqliteOptions::default()).map_err(|e| {
            Failure::usage(
                "store.unavailable",
                format!("{}: {e}", store_path.display()),
            )
        })?;
        let store = Arc::new(store);
        let shared: Arc<dyn Store> = store.clone();
        tradewire_runtime::run::run(pipeline, shared, shutdown_signal())
            .await
            .map_err(|e| Failure::usage("run.start", e.to_string()))?;
        match Arc::try_unwrap(store) {
            Ok(store) => store
                .close()
                .await
                .map_err(|e| Failure::usage("store.unavailable", e.to_string())),
            // Something still holds the store (a task abandoned at the deadline): dropping
            // the last reference commits what is queued.
            Err(_) => Ok(()),
        }
    })
}

/// `tradewire __bench-ceiling ADDRESS`: the same runtime, listener and router as `run`,
/// answering 202 with a JSON id and doing nothing else.
pub fn bench_ceiling(address: std::net::SocketAddr) -> Result<(), Failure> {
    server_runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| Failure::usage("run.start", format!("cannot listen on {address}: {e}")))?;
        let router = axum::Router::new().fallback(|| async {
            (
                axum::http::StatusCode::ACCEPTED,
                [("content-type", "application/json")],
                r#"{"id":"ceiling"}"#,
            )
        });
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| Failure::usage("run.start", e.to_string()))
    })
}

/// The async runtime `run` serves on: a worker per core, and at most four threads for
/// adapter calls and store reads — more only switch between each other on a small machine
/// (BENCHMARKS.md part two).
fn server_runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tradewire")
        .max_blocking_threads(4)
        .build()
        .map_err(|e| {
            Failure::usage(
                "run.runtime",
                format!("cannot start the async runtime: {e}"),
            )
        })
}

/// SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutdown requested");
}

/// The store a pipeline file names, opened beside a runtime that may be running.
fn open_shared_store(config: &Path) -> Result<(SqliteStore, PipelineConfig), Failure> {
    let pipeline = PipelineConfig::read(config).map_err(Failure::Pipeline)?;
    let path = pipeline.file.resolve(&pipeline.store.path);
    let options = SqliteOptions {
        access: Access::Shared,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(&path, options)
        .map_err(|e| Failure::usage("store.unavailable", format!("{}: {e}", path.display())))?;
    Ok((store, pipeline))
}

fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::usage(
                "run.runtime",
                format!("cannot start the async runtime: {e}"),
            )
        })?
        .block_on(future)
}

fn store_failure(e: StoreError) -> Failure {
    match e {
        StoreError::NoSuchDeadLetter(id) => {
            Failure::usage("dlq.unknown", format!("no dead letter {id}"))
        }
        e => Failure::usage("store.unavailable", e.to_string()),
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum DlqCommand {
    /// Every dead letter: refused inputs and undeliverable documents.
    List,
    /// One dead letter whole: the input or document, why, and every attempt.
    Show { id: DeadLetterId },
    /// Refused inputs through their source's decode and transforms as configured now;
    /// undeliverable documents to their sink again, with their key.
    Replay {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<DeadLetterId>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
    },
    /// Forget dead letters (an undeliverable document is then pruned with its history).
    Drop {
        #[arg(required = true)]
        ids: Vec<DeadLetterId>,
    },
}

pub fn dlq(
    config: &Path,
    command: &DlqCommand,
    options: &LoadOptions,
    format: Format,
) -> Result<(), Failure> {
    match command {
        DlqCommand::List => {
            let (store, _) = open_shared_store(config)?;
            let letters = block_on(async { store.dead_letters().await.map_err(store_failure) })?;
            if format == Format::Json {
                return write_stdout(format!("{}\n", json!(letters)).as_bytes());
            }
            let mut out = String::from("ID\tKIND\tCOMPONENT\tCREATED\tKEY\tREASON\n");
            for l in &letters {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\n",
                    l.id,
                    kind_name(l.kind),
                    l.component,
                    l.created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    l.key.as_deref().unwrap_or("-"),
                    l.reason
                ));
            }
            write_stdout(out.as_bytes())
        }
        DlqCommand::Show { id } => {
            let (store, _) = open_shared_store(config)?;
            let letter =
                block_on(async { store.dead_letter(*id).await.map_err(store_failure) })?
                    .ok_or_else(|| Failure::usage("dlq.unknown", format!("no dead letter {id}")))?;
            if format == Format::Json {
                return write_stdout(format!("{}\n", dead_letter_json(&letter)).as_bytes());
            }
            write_stdout(show_dead_letter(&letter).as_bytes())
        }
        DlqCommand::Drop { ids } => {
            let (store, _) = open_shared_store(config)?;
            let mut missing = Vec::new();
            block_on(async {
                for id in ids {
                    if !store.drop_dead_letter(*id).await.map_err(store_failure)? {
                        missing.push(*id);
                    }
                }
                Ok(())
            })?;
            for id in ids.iter().filter(|id| !missing.contains(id)) {
                write_stdout(format!("dropped {id}\n").as_bytes())?;
            }
            if missing.is_empty() {
                Ok(())
            } else {
                Err(Failure::usage(
                    "dlq.unknown",
                    format!("no dead letter {missing:?}"),
                ))
            }
        }
        DlqCommand::Replay { ids, all } => {
            let pipeline = tradewire_runtime::load(config, options).map_err(Failure::Pipeline)?;
            let path = pipeline.config.file.resolve(&pipeline.config.store.path);
            let options = SqliteOptions {
                access: Access::Shared,
                ..SqliteOptions::default()
            };
            let store = SqliteStore::open(&path, options).map_err(|e| {
                Failure::usage("store.unavailable", format!("{}: {e}", path.display()))
            })?;
            let sinks: Vec<&str> = pipeline.sinks.iter().map(|s| s.name.as_str()).collect();
            let wakers = Arc::new(Wakers::new(sinks));
            let store: Arc<dyn Store> = Arc::new(store);
            let ingest = Ingest {
                pipeline: Arc::new(pipeline),
                store: store.clone(),
                wakers,
            };
            let mut refused_again = false;
            block_on(async {
                let ids = if *all {
                    store
                        .dead_letters()
                        .await
                        .map_err(store_failure)?
                        .iter()
                        .map(|l| l.id)
                        .collect()
                } else {
                    ids.clone()
                };
                for id in ids {
                    let result = ingest
                        .replay(id)
                        .await
                        .map_err(|e| Failure::usage("dlq.replay", e.to_string()))?;
                    refused_again |= matches!(
                        result,
                        Replayed::RefusedAgain { .. } | Replayed::Conflict { .. }
                    );
                    let line = match format {
                        Format::Json => {
                            format!("{}\n", json!({"dead_letter": id, "replay": result}))
                        }
                        Format::Text => format!("{id}: {}\n", replayed_text(&result)),
                    };
                    write_stdout(line.as_bytes())?;
                }
                Ok(())
            })?;
            if refused_again {
                Err(Failure::Rejected(tradewire_core::Diagnostics::new()))
            } else {
                Ok(())
            }
        }
    }
}

fn replayed_text(result: &Replayed) -> String {
    match result {
        Replayed::Accepted { id } => format!("accepted as document {id}"),
        Replayed::Duplicate { id } => {
            format!("already accepted as document {id}; dead letter kept")
        }
        Replayed::Conflict { id } => {
            format!("its key was accepted for other content (document {id}); dead letter kept")
        }
        Replayed::RefusedAgain { diagnostics } => format!("refused again: {diagnostics}"),
        Replayed::Requeued => "pending again for its sink".to_owned(),
    }
}

fn kind_name(kind: DeadLetterKind) -> &'static str {
    match kind {
        DeadLetterKind::Refused => "refused",
        DeadLetterKind::Undeliverable => "undeliverable",
    }
}

/// Bytes for people and JSON: text when they are UTF-8, else marked as not.
fn bytes_json(bytes: &[u8]) -> serde_json::Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => json!(text),
        Err(_) => json!({"not_utf8": String::from_utf8_lossy(bytes)}),
    }
}

/// A canonical document as JSON (it is stored as JSON text).
fn payload_json(payload: &[u8]) -> serde_json::Value {
    serde_json::from_slice(payload).unwrap_or_else(|_| bytes_json(payload))
}

fn delivery_json(d: &DeliveryTrace) -> serde_json::Value {
    json!({
        "id": d.id,
        "sink": d.sink,
        "key": d.key,
        "state": d.state,
        "next_attempt_at": d.next_attempt_at,
        "dead_letter": d.dead_letter,
        "attempts": d.attempts,
        "document": payload_json(&d.payload),
    })
}

fn dead_letter_json(l: &DeadLetter) -> serde_json::Value {
    json!({
        "summary": l.summary,
        "raw": l.raw.as_deref().map(bytes_json),
        "context": l.context,
        "diagnostics": l.diagnostics,
        "delivery": l.delivery.as_ref().map(delivery_json),
    })
}

fn show_dead_letter(l: &DeadLetter) -> String {
    let s = &l.summary;
    let mut out = format!(
        "dead letter {}: {} at {}\n  created: {}\n  key: {}\n  reason: {}\n",
        s.id,
        kind_name(s.kind),
        s.component,
        s.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        s.key.as_deref().unwrap_or("-"),
        s.reason
    );
    if let Some(diagnostics) = &l.diagnostics {
        out.push_str(&format!("  diagnostics: {diagnostics}\n"));
    }
    if let Some(context) = &l.context {
        out.push_str(&format!("  context: {context}\n"));
    }
    if let Some(delivery) = &l.delivery {
        out.push_str(&show_delivery(delivery));
    }
    if let Some(raw) = &l.raw {
        out.push_str(&format!(
            "  input ({} bytes):\n{}\n",
            raw.len(),
            String::from_utf8_lossy(raw)
        ));
    }
    out
}

fn show_delivery(d: &DeliveryTrace) -> String {
    let mut out = format!(
        "  to sink `{}`: {:?} (delivery {}, key {})\n",
        d.sink, d.state, d.id, d.key
    );
    if let Some(at) = d.next_attempt_at {
        out.push_str(&format!(
            "    next attempt: {}\n",
            at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ));
    }
    if let Some(letter) = d.dead_letter {
        out.push_str(&format!("    dead letter: {letter}\n"));
    }
    for (n, a) in d.attempts.iter().enumerate() {
        out.push_str(&format!(
            "    attempt {}: {} {:?} status {} in {} ms: {}\n",
            n + 1,
            a.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            a.outcome,
            a.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            a.duration_ms,
            a.detail.lines().next().unwrap_or("")
        ));
    }
    out
}

/// `tradewire trace ID_OR_KEY`: one document's story.
pub fn trace(config: &Path, id_or_key: &str, format: Format) -> Result<(), Failure> {
    let (store, _) = open_shared_store(config)?;
    let trace = block_on(async { store.trace(id_or_key).await.map_err(store_failure) })?;
    if trace.documents.is_empty() && trace.refusals.is_empty() {
        return Err(Failure::usage(
            "trace.not_found",
            format!("no document or refused input has the id or key `{id_or_key}`"),
        ));
    }
    if format == Format::Json {
        let documents: Vec<_> = trace
            .documents
            .iter()
            .map(|d| {
                json!({
                    "id": d.id,
                    "source": d.source,
                    "key": d.key,
                    "received_at": d.received_at,
                    "context": d.context,
                    "input": bytes_json(&d.raw),
                    "deliveries": d.deliveries.iter().map(delivery_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        let refusals: Vec<_> = trace.refusals.iter().map(dead_letter_json).collect();
        return write_stdout(
            format!(
                "{}\n",
                json!({"documents": documents, "refusals": refusals})
            )
            .as_bytes(),
        );
    }
    let mut out = String::new();
    for d in &trace.documents {
        out.push_str(&format!(
            "document {}\n  received: {} by source `{}`\n  key: {}\n  context: {}\n  input: {} bytes\n",
            d.id,
            d.received_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            d.source,
            d.key.as_deref().unwrap_or("-"),
            d.context,
            d.raw.len()
        ));
        for delivery in &d.deliveries {
            out.push_str(&show_delivery(delivery));
        }
    }
    for l in &trace.refusals {
        out.push_str(&show_dead_letter(l));
    }
    write_stdout(out.as_bytes())
}

#[derive(Debug, clap::Subcommand)]
pub enum SessionsCommand {
    /// The newest sessions: id, service, account, opened, expires, state, hook URL.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One session whole: what the login said (no password), and its cart.
    Show { id: String },
}

/// `open`, `returned` (a cart went back) or `expired`.
fn session_state(
    session: &PunchoutSessionRecord,
    now: chrono::DateTime<chrono::Utc>,
) -> &'static str {
    if session.cart.is_some() {
        "returned"
    } else if session.expires_at <= now {
        "expired"
    } else {
        "open"
    }
}

fn session_json(
    session: &PunchoutSessionRecord,
    now: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    let mut value = json!(session);
    if let Some(map) = value.as_object_mut() {
        map.insert("state".into(), json!(session_state(session, now)));
    }
    value
}

pub fn sessions(config: &Path, command: &SessionsCommand, format: Format) -> Result<(), Failure> {
    let (store, _) = open_shared_store(config)?;
    let now = chrono::Utc::now();
    let time =
        |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match command {
        SessionsCommand::List { limit } => {
            let sessions =
                block_on(async { store.punchout_sessions(*limit).await.map_err(store_failure) })?;
            if format == Format::Json {
                let all: Vec<_> = sessions.iter().map(|s| session_json(s, now)).collect();
                return write_stdout(format!("{}\n", json!(all)).as_bytes());
            }
            let mut out = String::from("ID\tSERVICE\tACCOUNT\tOPENED\tEXPIRES\tSTATE\tHOOK URL\n");
            for s in &sessions {
                let hook_url = s
                    .fields
                    .get("hook_url")
                    .and_then(|v| v.as_str())
                    .unwrap_or("-");
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    s.id,
                    s.service,
                    s.account,
                    time(&s.created_at),
                    time(&s.expires_at),
                    session_state(s, now),
                    tradewire_core::redact_userinfo(hook_url),
                ));
            }
            write_stdout(out.as_bytes())
        }
        SessionsCommand::Show { id } => {
            let session = block_on(async {
                store
                    .punchout_session(SessionLookup::Id(id.clone()))
                    .await
                    .map_err(store_failure)
            })?
            .ok_or_else(|| Failure::usage("sessions.unknown", format!("no session {id}")))?;
            if format == Format::Json {
                return write_stdout(format!("{}\n", session_json(&session, now)).as_bytes());
            }
            let mut out = format!(
                "session {}\n  service: {}\n  account: {}\n  opened: {}\n  expires: {}\n  state: {}\n",
                session.id,
                session.service,
                session.account,
                time(&session.created_at),
                time(&session.expires_at),
                session_state(&session, now),
            );
            if let Some(fields) = session.fields.as_object() {
                for (name, value) in fields {
                    let shown = match (name.as_str(), value.as_str()) {
                        ("hook_url", Some(url)) => {
                            tradewire_core::redact_userinfo(url).into_owned()
                        }
                        (_, Some(text)) => text.to_owned(),
                        _ => value.to_string(),
                    };
                    out.push_str(&format!("  {name}: {shown}\n"));
                }
            }
            if let Some(cart) = &session.cart {
                out.push_str(&format!(
                    "  cart: document {} returned {} (`tradewire trace {}`)\n",
                    cart.document,
                    time(&cart.returned_at),
                    cart.document
                ));
            }
            write_stdout(out.as_bytes())
        }
    }
}
