//! Tradewire on both ends of the e-connecteur universal webservice: a `tradewire run`
//! polling (`econnecteur_poll`) the webservice a second `tradewire run` serves (service
//! `econnecteur`), two processes on loopback. The orders routed to the service are taken
//! once each and marked exported there, even when the poller is killed mid-batch.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/runtime.rs"]
mod runtime;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use runtime::{Runtime, http_exchange, loopback};
use serde_json::{Value, json};
use tradewire_plugins::Registry;
use tradewire_store::Store;
use tradewire_store::sqlite::{Access, SqliteOptions, SqliteStore};

const KEY: &str = "served-key";

/// The shop's side: `tradewire run` with its orders coming in at an `http` source, routed
/// to the service `erp`, whose status changes are written as files.
struct Served {
    orders: SocketAddr,
    service: SocketAddr,
    dir: tempfile::TempDir,
    runtime: Runtime,
}

impl Served {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (orders, service, api) = (loopback(), loopback(), loopback());
        let pipeline = format!(
            r#"
[store]
path = "served.db"

[api]
address = "{api}"

[sources.web_orders]
type = "http"
address = "{orders}"
path = "/orders"

[services.erp]
type = "econnecteur"
address = "{service}"
key = "{KEY}"
inputs = ["web_orders"]

[sinks.status]
type = "file"
inputs = ["erp.status_changes"]
path = "status/{{{{id}}}}.json"
"#
        );
        std::fs::write(dir.path().join("served.toml"), pipeline).unwrap();
        let runtime = Runtime::start(dir.path(), &dir.path().join("served.toml"), api, &[]);
        Self {
            orders,
            service,
            dir,
            runtime,
        }
    }

    /// The ids `orders_list` gives for the orders not yet exported.
    fn waiting(&self) -> usize {
        let response = http_exchange(
            self.service,
            "POST",
            "/econnecteur",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            format!("key={KEY}&resource=orders_list&filter=created").as_bytes(),
        )
        .expect("the service answers");
        let body = String::from_utf8_lossy(&response.body).into_owned();
        assert_eq!(response.status, 200, "{body}");
        body.matches("<id>").count()
    }

    /// The orders whose change of status the service emitted, by reference.
    fn status_changes(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("status")) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|e| serde_json::from_slice::<Value>(&std::fs::read(e.path()).ok()?).ok())
            .map(|c| c["order_id"].as_str().unwrap_or_default().to_owned())
            .collect()
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
    const ORDERS: usize = 300;
    let served = Served::start();
    for n in 0..ORDERS {
        let response = http_exchange(
            served.orders,
            "POST",
            "/orders",
            &[
                ("Content-Type", "application/json"),
                ("Idempotency-Key", &format!("web-{n}")),
            ],
            &order(&format!("WEB-{n:03}")),
        )
        .unwrap();
        assert_eq!(response.status, 202);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while served.waiting() < ORDERS {
        assert!(Instant::now() < deadline, "{}", served.runtime.log());
        std::thread::sleep(Duration::from_millis(50));
    }

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
        address = served.service
    );
    std::fs::write(dir.path().join("p.toml"), pipeline).unwrap();
    let mut runtime = Runtime::start(dir.path(), &dir.path().join("p.toml"), api, &[]);
    let mut kills = 0;
    while kills < 8 && served.waiting() > 0 {
        std::thread::sleep(Duration::from_millis(60 + 23 * kills));
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
    let deadline = Instant::now() + Duration::from_secs(20);
    while served.status_changes().len() < ORDERS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }

    let written = references_written(&dir.path().join("out"));
    let distinct: BTreeSet<&String> = written.iter().collect();
    let changes = served.status_changes();
    let changed: BTreeSet<&String> = changes.iter().collect();
    println!(
        "kills: {kills}; orders: {ORDERS}; written: {}; distinct: {}; marked exported: {} ({} orders)",
        written.len(),
        distinct.len(),
        changes.len(),
        changed.len()
    );
    assert!(kills >= 3, "the batch ended before the kills ({kills})");
    assert_eq!(distinct.len(), ORDERS, "no order lost");
    assert_eq!(written.len(), ORDERS, "no order taken twice");
    assert_eq!(
        changed.len(),
        ORDERS,
        "every order marked exported, its change emitted"
    );

    // The served store, read beside its runtime: each order in its final state.
    let store = SqliteStore::open(
        served.dir.path().join("served.db"),
        SqliteOptions {
            access: Access::Shared,
            ..SqliteOptions::default()
        },
    )
    .unwrap();
    let reader = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for n in [1, ORDERS / 2, ORDERS] {
        let stored = reader
            .block_on(store.service_order("erp", i64::try_from(n).unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, "5", "moved to the final status");
        assert!(stored.exported_at.is_some());
    }
}
