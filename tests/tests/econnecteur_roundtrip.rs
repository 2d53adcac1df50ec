//! Tradewire on both ends of the e-connecteur universal webservice: the real `tradewire
//! run` polling (`econnecteur_poll`) a webservice answered by the `econnecteur` service's
//! handler over a SQLite store, on loopback. Orders routed to the service are taken once
//! each and marked exported there, even when the poller is killed mid-batch.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/runtime.rs"]
mod runtime;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runtime::{Runtime, loopback};
use serde_json::{Value, json};
use tradewire_plugins::Registry;
use tradewire_runtime::BuildContext;
use tradewire_runtime::services::econnecteur::{EconnecteurService, EconnecteurServiceConfig};
use tradewire_store::Store;
use tradewire_store::sqlite::{SqliteOptions, SqliteStore};

const KEY: &str = "served-key";

/// The service's handler behind an HTTP server of the test's own (until `tradewire run`
/// serves it): what it emitted is counted by output.
struct Served {
    address: SocketAddr,
    service: Arc<EconnecteurService>,
    store: Arc<SqliteStore>,
    emitted: Arc<Mutex<Vec<(String, Value)>>>,
    runtime: Option<tokio::runtime::Runtime>,
    _directory: tempfile::TempDir,
}

impl Served {
    fn start(call_delay: Duration) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let directory = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(directory.path().join("served.db"), SqliteOptions::default())
                .unwrap(),
        );
        let registry = Registry::with_builtins();
        let config: EconnecteurServiceConfig =
            serde_json::from_value(json!({"address": "127.0.0.1:0", "key": KEY})).unwrap();
        let service = Arc::new(
            config
                .build(
                    "erp",
                    &BuildContext {
                        registry: &registry,
                        base_dir: Path::new("."),
                    },
                )
                .unwrap(),
        );
        let emitted: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap();
        let (shared_service, shared_store, shared_emitted) =
            (service.clone(), store.clone(), emitted.clone());
        let app = axum::Router::new().route(
            "/econnecteur",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (service, store, emitted) = (
                        shared_service.clone(),
                        shared_store.clone(),
                        shared_emitted.clone(),
                    );
                    async move {
                        tokio::time::sleep(call_delay).await;
                        let content_type = headers
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        // A call runs to its end even when the caller hangs up (a poller
                        // killed): what it kept in the store is emitted all the same.
                        let answered = tokio::spawn(async move {
                            let answered = service.call(&*store, body.to_vec(), content_type).await;
                            for e in &answered.emitted {
                                let document =
                                    serde_json::from_slice(&e.document.to_json()).unwrap();
                                emitted
                                    .lock()
                                    .unwrap()
                                    .push((e.output.to_owned(), document));
                            }
                            answered
                        })
                        .await
                        .unwrap();
                        let status =
                            axum::http::StatusCode::from_u16(answered.reply.status).unwrap();
                        (status, answered.reply.body)
                    }
                },
            ),
        );
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            service,
            store,
            emitted,
            runtime: Some(runtime),
            _directory: directory,
        }
    }

    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.runtime.as_ref().unwrap().block_on(future)
    }

    fn waiting(&self) -> usize {
        self.block_on(self.store.service_list_orders("erp", &[]))
            .unwrap()
            .len()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The vendor's sample order as a shop's canonical order, with its own reference.
fn order(reference: &str) -> Vec<u8> {
    let sample = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/econnecteur/samples/order.xml"),
    )
    .unwrap();
    let instance = Registry::with_builtins()
        .instantiate("econnecteur", &json!({}))
        .unwrap();
    let mut order: Value =
        serde_json::from_slice(&instance.decode("order", &sample).unwrap().bytes).unwrap();
    order["reference"] = json!(reference);
    serde_json::to_vec(&order).unwrap()
}

/// The references of the orders the file sink wrote, sorted.
fn references_written(out: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut references: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| {
            let order: Value =
                serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
            order["reference"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    references.sort();
    references
}

#[test]
fn the_poller_takes_the_served_orders_once_and_marks_them_even_when_killed() {
    const ORDERS: usize = 150;
    let served = Served::start(Duration::from_millis(5));
    for n in 0..ORDERS {
        served
            .block_on(served.service.take_order(
                &*served.store,
                &format!("doc-{n}"),
                &order(&format!("WEB-{n:03}")),
            ))
            .unwrap();
    }
    assert_eq!(served.waiting(), ORDERS);

    let dir = tempfile::tempdir().unwrap();
    let api = loopback();
    let pipeline = format!(
        r#"
[store]
path = "store.db"

[api]
address = "{api}"

[sources.shop]
type = "econnecteur_poll"
url = "http://{address}/econnecteur"
key = "{KEY}"
filter = "created"
final_status = "5"
page_size = 20
interval_secs = 0.05

[sinks.files]
type = "file"
inputs = ["shop"]
path = "out/{{{{id}}}}.json"
"#,
        address = served.address
    );
    std::fs::write(dir.path().join("p.toml"), pipeline).unwrap();
    let mut runtime = Runtime::start(dir.path(), &dir.path().join("p.toml"), api, &[]);
    let mut kills = 0;
    while kills < 8 && served.waiting() > 0 {
        std::thread::sleep(Duration::from_millis(80 + 31 * kills));
        runtime.restart();
        kills += 1;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while served.waiting() > 0 {
        assert!(Instant::now() < deadline, "{}", runtime.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while references_written(&dir.path().join("out")).len() < ORDERS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    runtime.kill();
    let status_changes = || {
        served
            .emitted
            .lock()
            .unwrap()
            .iter()
            .filter(|(output, _)| output == "status_changes")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while status_changes() < ORDERS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }

    let written = references_written(&dir.path().join("out"));
    let distinct: BTreeSet<&String> = written.iter().collect();
    let changes = status_changes();
    println!(
        "kills: {kills}; orders: {ORDERS}; written: {}; distinct: {}; marked exported: {changes}",
        written.len(),
        distinct.len()
    );
    assert!(kills >= 3, "the batch ended before the kills ({kills})");
    assert_eq!(distinct.len(), ORDERS, "no order lost");
    assert_eq!(written.len(), ORDERS, "no order taken twice");
    assert!(changes >= ORDERS);
    for n in [0, ORDERS / 2, ORDERS - 1] {
        let stored = served
            .block_on(
                served
                    .store
                    .service_order("erp", i64::try_from(n).unwrap() + 1),
            )
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, "5", "moved to the final status");
        assert!(stored.exported_at.is_some());
    }
}
