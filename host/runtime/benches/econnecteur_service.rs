//! The served e-connecteur webservice at the issue's scale: a SQLite store holding 100,000
//! products and 100,000 orders (a tenth of them still waiting, in five states), and the
//! two calls an ERP makes most: `products_list` pages of 500 at random offsets, and
//! `orders_list` with a filter of two states. Each call is an HTTP POST to the service as
//! the runtime serves it (`run::run` of a pipeline with the service, on loopback), over a
//! kept-alive connection as e-connecteur's HTTP client makes them — the form read by the
//! adapter, the key checked, the store read, the answer written and sent — and its latency,
//! as the client sees it, is recorded; p50, p99 and the maximum are printed against the bar
//! (p99 ≤ 50 ms).
//!
//! `cargo bench -p tradewire-runtime --bench econnecteur_service`. `TRADEWIRE_BENCH_CALLS`
//! (default 500) sets the calls measured per resource.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::future::join_all;
use rand::Rng as _;
use serde_json::json;
use tradewire_plugins::Registry;
use tradewire_runtime::LoadOptions;
use tradewire_store::Store;
use tradewire_store::service::{CatalogueKind, NewServiceOrder, PutMode};
use tradewire_store::sqlite::{SqliteOptions, SqliteStore};

const PRODUCTS: usize = 100_000;
const ORDERS: usize = 100_000;
const PAGE: usize = 500;
const KEY: &str = "bench-key";
const BAR_P99: Duration = Duration::from_millis(50);

/// Calls in flight while filling the store: the writer commits them together.
const FILL_CONCURRENCY: usize = 2_000;

fn calls() -> usize {
    std::env::var("TRADEWIRE_BENCH_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(500)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench());
}

/// A loopback address whose port was free when asked.
fn loopback() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
}

async fn bench() {
    let directory = tempfile::tempdir().unwrap();
    let address = loopback();
    let pipeline = format!(
        r#"
[store]
path = "store.db"

[services.erp]
type = "econnecteur"
address = "{address}"
key = "{KEY}"

[sinks.products]
type = "file"
inputs = ["erp.products"]
path = "out/{{{{id}}}}.json"
"#
    );
    let file = directory.path().join("bench.toml");
    std::fs::write(&file, pipeline).unwrap();
    let pipeline = tradewire_runtime::load(&file, &LoadOptions::default()).unwrap();
    let store = Arc::new(
        SqliteStore::open(directory.path().join("store.db"), SqliteOptions::default()).unwrap(),
    );

    let started = Instant::now();
    fill(&store).await;
    println!(
        "filled: {PRODUCTS} products, {ORDERS} orders ({} waiting) in {:.1} s",
        ORDERS / 10,
        started.elapsed().as_secs_f64()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(tradewire_runtime::run::run(
        pipeline,
        store.clone() as Arc<dyn Store>,
        async move {
            let _ = stopped.await;
        },
    ));
    let client = reqwest::Client::new();
    let url = format!("http://{address}/econnecteur");
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.post(&url).send().await.is_err() {
        assert!(Instant::now() < deadline, "the service did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let n = calls();
    let mut products = Vec::with_capacity(n);
    for _ in 0..n {
        let offset = rand::rng().random_range(0..PRODUCTS);
        let limit = format!("{offset},{PAGE}");
        let (took, answer) = timed(&client, &url, "products_list", &[("limit", &limit)]).await;
        assert!(answer.contains("<products_list>"), "{answer}");
        products.push(took);
    }
    report("products_list, pages of 500", &mut products);

    let mut orders = Vec::with_capacity(n);
    let mut listed = 0;
    for _ in 0..n {
        let (took, answer) = timed(&client, &url, "orders_list", &[("filter", "2,3")]).await;
        listed = answer.matches("<order>").count();
        orders.push(took);
    }
    assert_eq!(
        listed,
        ORDERS / 10 * 2 / 5,
        "the waiting orders in states 2 and 3"
    );
    println!("orders_list answers {listed} orders");
    report("orders_list, filter = 2,3", &mut orders);
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}

/// 100,000 products; 100,000 orders in states 1 to 5, nine in ten then marked exported.
async fn fill(store: &SqliteStore) {
    let at = Utc::now();
    for chunk in (0..PRODUCTS).collect::<Vec<_>>().chunks(FILL_CONCURRENCY) {
        join_all(chunk.iter().map(|n| {
            let sku = format!("SKU-{n:06}");
            let document = format!(
                r#"{{"contract":"product/v1","sku":"{sku}","text":{{"name":"Product {n}"}}}}"#
            )
            .into_bytes();
            async move {
                store
                    .service_put_product(
                        "erp",
                        CatalogueKind::Product,
                        &sku,
                        document,
                        PutMode::Add,
                        at,
                    )
                    .await
                    .unwrap()
            }
        }))
        .await;
    }
    let order = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/conformance/econnecteur/samples/order.xml"),
    )
    .unwrap();
    let instance = Registry::with_builtins()
        .instantiate("econnecteur", &json!({}))
        .unwrap();
    let canonical = instance.decode("order", &order).unwrap().bytes;
    for chunk in (0..ORDERS).collect::<Vec<_>>().chunks(FILL_CONCURRENCY) {
        let ids = join_all(chunk.iter().map(|n| {
            let order = NewServiceOrder {
                document: format!("doc-{n}"),
                // Spread so that the waiting tenth (n % 10 == 0) is in every state too.
                state: ((n / 10) % 5 + 1).to_string(),
                order: canonical.clone(),
                received_at: at,
            };
            async move { (*n, store.service_add_order("erp", order).await.unwrap()) }
        }))
        .await;
        join_all(
            ids.into_iter()
                .filter(|(n, _)| n % 10 != 0)
                .map(|(_, id)| async move {
                    store
                        .service_mark_exported("erp", id, None, at)
                        .await
                        .unwrap()
                }),
        )
        .await;
    }
}

async fn timed(
    client: &reqwest::Client,
    url: &str,
    resource: &str,
    variables: &[(&str, &str)],
) -> (Duration, String) {
    let mut body = format!("key={KEY}&resource={resource}");
    for (name, value) in variables {
        body.push_str(&format!("&{name}={}", value.replace(',', "%2C")));
    }
    let started = Instant::now();
    let response = client
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let answer = response.text().await.unwrap();
    let took = started.elapsed();
    assert_eq!(status, 200, "{answer}");
    (took, answer)
}

fn report(what: &str, latencies: &mut [Duration]) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let p99 = at(0.99);
    println!(
        "{what}: {} calls, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms — bar p99 ≤ {} ms: {}",
        latencies.len(),
        at(0.50).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3,
        BAR_P99.as_millis(),
        if p99 <= BAR_P99 { "met" } else { "MISSED" }
    );
}
