//! A sink worker over a real SQLite store, with a sink scripted here: what an outage does to
//! the attempts, and how the queue drains when the sink answers again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, watch};
use tradewire_runtime::breaker::{Breaker, TRIP_AFTER};
use tradewire_runtime::delivery::SinkWorker;
use tradewire_runtime::health::Health;
use tradewire_runtime::sinks::{Delivery, RetryConfig, SendOutcome, Sink};
use tradewire_store::sqlite::{SqliteOptions, SqliteStore};
use tradewire_store::{Incoming, NewDelivery, Reply, Store};

/// Answers 503 with `Retry-After: 3600` while `down`, 200 after; counts attempts by key.
#[derive(Debug, Default)]
struct Outage {
    down: AtomicBool,
    attempts: Mutex<HashMap<String, Vec<bool>>>,
}

impl Outage {
    fn attempts(&self) -> usize {
        self.attempts.lock().unwrap().values().map(Vec::len).sum()
    }

    fn delivered_keys(&self) -> Vec<String> {
        let attempts = self.attempts.lock().unwrap();
        let mut keys: Vec<String> = attempts
            .iter()
            .filter(|(_, outcomes)| outcomes.contains(&true))
            .map(|(key, _)| key.clone())
            .collect();
        keys.sort();
        keys
    }
}

#[async_trait::async_trait]
impl Sink for Outage {
    async fn deliver(&self, delivery: Delivery<'_>) -> SendOutcome {
        let down = self.down.load(Ordering::SeqCst);
        self.attempts
            .lock()
            .unwrap()
            .entry(delivery.key.to_owned())
            .or_default()
            .push(!down);
        if down {
            SendOutcome::Temporary {
                status: Some(503),
                detail: "down for maintenance".into(),
                retry_after: Some(Duration::from_secs(3600)),
            }
        } else {
            SendOutcome::Delivered {
                status: Some(200),
                detail: String::new(),
            }
        }
    }
}

fn incoming(n: usize) -> Incoming {
    Incoming {
        id: format!("doc-{n:03}"),
        source: "orders".into(),
        key: Some(format!("PO-{n:03}")),
        content_hash: format!("hash-{n}"),
        received_at: Utc::now(),
        raw: b"{}".to_vec(),
        context: serde_json::json!({}),
        reply: Reply {
            status: 202,
            content_type: "application/json".into(),
            body: Vec::new(),
        },
        deliveries: vec![NewDelivery {
            sink: "erp".into(),
            key: format!("delivery-{n:03}"),
            payload: b"{}".to_vec(),
        }],
    }
}

async fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !ready() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sink_is_probed_not_hammered_and_its_queue_drains_at_once_when_it_answers() {
    const DOCUMENTS: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path().join("store.db"), SqliteOptions::default()).unwrap());
    for n in 0..DOCUMENTS {
        store.accept(incoming(n)).await.unwrap();
    }
    let sink = Arc::new(Outage::default());
    sink.down.store(true, Ordering::SeqCst);
    let retry = RetryConfig {
        max_attempts: 1000,
        initial_backoff_secs: 0.05,
        max_backoff_secs: 0.2,
    };
    let health = Health::default();
    health.register("erp", "sink");
    let worker = SinkWorker {
        name: "erp".into(),
        sink: sink.clone(),
        breaker: Breaker::new(retry.clone()),
        retry,
        concurrency: 4,
        store: store.clone(),
        wake: Arc::new(Notify::new()),
        health: health.clone(),
    };
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(worker.run(stopped, Duration::from_secs(5)));

    // An outage of two seconds: probes every 0.05 to 0.2 s, not every document.
    wait_until("the sink is paused", Duration::from_secs(10), || {
        health.snapshot()["erp"]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("paused"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during_outage = sink.attempts();
    assert!(
        during_outage >= TRIP_AFTER as usize + 2,
        "the paused sink is still probed: {during_outage} attempts"
    );
    assert!(
        during_outage < DOCUMENTS,
        "{during_outage} attempts for {DOCUMENTS} waiting documents: each was tried"
    );
    let failing = &health.snapshot()["erp"];
    assert_eq!(failing.status, "failing");

    // Every failed attempt asked for an hour's wait; once a probe gets through, none waits.
    sink.down.store(false, Ordering::SeqCst);
    wait_until(
        "every document delivered after the outage",
        Duration::from_secs(30),
        || sink.delivered_keys().len() == DOCUMENTS,
    )
    .await;
    let attempts = sink.attempts.lock().unwrap().clone();
    for (key, outcomes) in &attempts {
        assert_eq!(
            outcomes.iter().filter(|delivered| **delivered).count(),
            1,
            "{key}: {outcomes:?}"
        );
    }
    assert_eq!(health.snapshot()["erp"].status, "ok");
    let stats = store.queue_stats(&["erp".into()]).await.unwrap();
    assert_eq!(stats[0].pending, 0, "{stats:?}");

    stop.send(true).unwrap();
    running.await.unwrap();
}
