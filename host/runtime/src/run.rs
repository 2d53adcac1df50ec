//! Running a built pipeline: sinks' workers first, then the sources, the API and the
//! pruner; on shutdown the reverse — sources stop taking input and finish what they took,
//! then sinks finish their attempts in flight — all within the configured bound.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tradewire_store::Store;

use crate::breaker::Breaker;
use crate::delivery::SinkWorker;
use crate::graph::Pipeline;
use crate::health::Health;
use crate::ingest::{Ingest, Wakers};
use crate::services::{Calls, ServiceRuntime};
use crate::sources::SourceConfig;
use crate::sources::econnecteur_poll::Poller;
use crate::sources::file::FileWatcher;
use crate::sources::http::HttpListener;

/// Why a pipeline could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot listen on {address} ({what}): {error}")]
    Bind {
        address: SocketAddr,
        what: String,
        error: std::io::Error,
    },
    #[error("source `{source_name}`: cannot use {path}: {error}")]
    Directory {
        source_name: String,
        path: String,
        error: std::io::Error,
    },
}

/// How often delivered documents past their retention are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Documents pruned in one transaction (a few milliseconds of the writer's time).
const PRUNE_CHUNK: usize = 1000;

/// Runs `pipeline` over `store` until `shutdown` resolves; returns once everything stopped.
pub async fn run(
    pipeline: Pipeline,
    store: Arc<dyn Store>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), RunError> {
    let pipeline = Arc::new(pipeline);
    let health = Health::default();
    // What deliveries are made to: the sinks, and the services that take inputs.
    let delivered_to: Vec<String> = pipeline
        .sinks
        .iter()
        .map(|s| s.name.clone())
        .chain(
            pipeline
                .services
                .iter()
                .filter(|s| s.config.takes_inputs())
                .map(|s| s.name.clone()),
        )
        .collect();
    let wakers = Arc::new(Wakers::new(delivered_to.iter().map(String::as_str)));
    let ingest = Ingest {
        pipeline: pipeline.clone(),
        store: store.clone(),
        wakers: wakers.clone(),
    };
    let base = pipeline.config.file.base_dir();
    let timeout = Duration::from_secs(pipeline.config.runtime.shutdown_timeout_secs);

    // Everything that can fail to start is tried before anything runs.
    let mut by_address: BTreeMap<SocketAddr, Vec<_>> = BTreeMap::new();
    let mut watchers = Vec::new();
    let mut pollers = Vec::new();
    for (index, source) in pipeline.sources.iter().enumerate() {
        health.register(&source.name, "source");
        match &source.config {
            SourceConfig::Http(http) => by_address
                .entry(http.address)
                .or_default()
                .push((index, http.clone())),
            SourceConfig::File(file) => {
                let watcher = FileWatcher {
                    name: source.name.clone(),
                    source: index,
                    config: file.clone(),
                    directory: base.join(&file.directory),
                    health: health.clone(),
                };
                watcher.prepare().map_err(|error| RunError::Directory {
                    source_name: source.name.clone(),
                    path: watcher.directory.display().to_string(),
                    error,
                })?;
                watchers.push(watcher);
            }
            SourceConfig::EconnecteurPoll(poll) => {
                if let Some(shop) = &source.shop {
                    pollers.push(Poller {
                        name: source.name.clone(),
                        source: index,
                        config: poll.clone(),
                        shop: shop.clone(),
                        health: health.clone(),
                    });
                }
            }
        }
    }
    let mut listeners = Vec::new();
    for (address, routes) in by_address {
        let names = routes
            .iter()
            .filter_map(|(i, _)| pipeline.sources.get(*i).map(|s| s.name.clone()))
            .collect::<Vec<_>>();
        let listener =
            HttpListener::bind(address, routes)
                .await
                .map_err(|error| RunError::Bind {
                    address,
                    what: format!("source {}", names.join(", ")),
                    error,
                })?;
        tracing::info!(%address, sources = ?names, "listening");
        for name in names {
            health.set_ok(&name);
        }
        listeners.push(listener);
    }
    let mut services = Vec::new();
    for service in &pipeline.services {
        health.register(&service.name, "service");
        let address = service.config.address();
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|error| RunError::Bind {
                address,
                what: format!("service {}", service.name),
                error,
            })?;
        tracing::info!(%address, service = %service.name, kind = service.config.kind(), "listening");
        health.set_ok(&service.name);
        services.push((listener, service));
    }
    let api =
        match &pipeline.config.api {
            Some(api) => Some(tokio::net::TcpListener::bind(api.address).await.map_err(
                |error| RunError::Bind {
                    address: api.address,
                    what: "api".into(),
                    error,
                },
            )?),
            None => None,
        };
    if let Some(api) = &pipeline.config.api {
        tracing::info!(address = %api.address, "/health and /metrics");
    }

    let (stop, stopped) = watch::channel(false);
    let mut sinks = JoinSet::new();
    for sink in &pipeline.sinks {
        health.register(&sink.name, "sink");
        let worker = SinkWorker {
            name: sink.name.clone(),
            sink: sink.sink.clone(),
            retry: sink.config.retry(),
            concurrency: sink.config.concurrency().get(),
            store: store.clone(),
            wake: wakers.get(&sink.name),
            health: health.clone(),
            breaker: Breaker::new(sink.config.retry()),
        };
        sinks.spawn(worker.run(stopped.clone(), timeout));
    }
    for built in &pipeline.services {
        let Some(intake) = built.service.clone().intake(store.clone()) else {
            continue;
        };
        // One at a time: orders wait for the ERP in the order they were committed.
        let worker = SinkWorker {
            name: built.name.clone(),
            sink: intake,
            retry: built.config.retry(),
            concurrency: 1,
            store: store.clone(),
            wake: wakers.get(&built.name),
            health: health.clone(),
            breaker: Breaker::new(built.config.retry()),
        };
        sinks.spawn(worker.run(stopped.clone(), timeout));
    }
    let mut sources = JoinSet::new();
    for listener in listeners {
        let mut stopped = stopped.clone();
        let address = listener.address;
        let ingest = ingest.clone();
        sources.spawn(async move {
            let signal = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = listener.serve(ingest, signal).await {
                tracing::error!(%address, error = %e, "the http source stopped");
            }
        });
    }
    for watcher in watchers {
        sources.spawn(watcher.run(ingest.clone(), stopped.clone()));
    }
    for poller in pollers {
        sources.spawn(poller.run(ingest.clone(), stopped.clone()));
    }
    // Services stop with the sources: no new requests, those in flight answered.
    for (listener, built) in services {
        let mut stopped = stopped.clone();
        let name = built.name.clone();
        let calls = Calls::default();
        let router = built.service.clone().router(ServiceRuntime {
            name: built.name.clone(),
            ingest: ingest.clone(),
            calls: calls.clone(),
        });
        sources.spawn(async move {
            let signal = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            let served = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(signal)
            .await;
            if let Err(e) = served {
                tracing::error!(service = %name, error = %e, "the service stopped");
            }
            // Calls whose callers hung up run on: they finish before the service stops.
            calls.finished().await;
        });
    }
    let mut background = JoinSet::new();
    if let Some(listener) = api {
        let router = crate::api::router(health.clone(), store.clone(), delivered_to.clone());
        let mut stopped = stopped.clone();
        background.spawn(async move {
            let signal = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(signal)
                .await
            {
                tracing::error!(error = %e, "the api stopped");
            }
        });
    }
    let retention = chrono::Duration::days(i64::from(pipeline.config.store.retention_days));
    let pruning_store = store.clone();
    let mut pruner_stopped = stopped.clone();
    background.spawn(async move {
        loop {
            let before = Utc::now() - retention;
            let mut pruned = 0;
            loop {
                // In chunks, with a pause between: a prune holds the store's writer, and
                // every commit waits for it.
                match pruning_store.prune(before, PRUNE_CHUNK).await {
                    Ok(n) => {
                        pruned += n;
                        if n < PRUNE_CHUNK as u64 {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot prune");
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // Punchout sessions are kept as long as documents past their expiry, for
            // support staff (`tradewire sessions`).
            loop {
                match pruning_store
                    .prune_punchout_sessions(before, PRUNE_CHUNK)
                    .await
                {
                    Ok(n) if n < PRUNE_CHUNK as u64 => break,
                    Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot prune punchout sessions");
                        break;
                    }
                }
            }
            if pruned > 0 {
                tracing::info!(
                    documents = pruned,
                    "pruned delivered documents past their retention"
                );
            }
            tokio::select! {
                () = tokio::time::sleep(PRUNE_EVERY) => {}
                _ = pruner_stopped.wait_for(|s| *s) => return,
            }
        }
    });
    tracing::info!(
        sources = pipeline.sources.len(),
        services = pipeline.services.len(),
        transforms = pipeline.config.transforms.len(),
        sinks = pipeline.sinks.len(),
        "pipeline running"
    );

    shutdown.await;
    tracing::info!(
        bound_secs = timeout.as_secs(),
        "stopping: no new input; finishing what is in flight"
    );
    let deadline = tokio::time::Instant::now() + timeout;
    let _ = stop.send(true);
    if tokio::time::timeout_at(deadline, async {
        while sources.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        tracing::warn!("sources still answering at the shutdown deadline were stopped");
        sources.abort_all();
    }
    // Sinks drain within their own bound (the same deadline), then release their claims.
    while sinks.join_next().await.is_some() {}
    background.abort_all();
    while background.join_next().await.is_some() {}
    tracing::info!("stopped");
    Ok(())
}
