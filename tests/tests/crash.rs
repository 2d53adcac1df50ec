//! The promise, under a process that dies: every order a source acknowledged reaches its
//! sink, even when the runtime is killed with SIGKILL at any moment, and no order takes
//! effect twice. And a SIGTERM under load stops it in bounded time, losing nothing.
//!
//! The load generator behaves as a real client: each order has its own idempotency key,
//! and a request that fails (a refused or broken connection, a 503) is sent again, with the
//! same key and body, until it is acknowledged. A kill between the commit and the answer
//! is rare, so every tenth order is also sent again after its answer, as by a client whose
//! answer was lost on the way: it must be answered as the first time and take effect once. A kill between the commit and the answer
//! is rare in a short run, so every tenth order is also sent again after its answer, as a
//! client whose answer was lost on the way would: the runtime must know it.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/runtime.rs"]
mod runtime;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use runtime::{Receiver, Runtime, canonical_order, http_request, loopback, orders_pipeline};
use serde_json::{Value, json};

fn pipeline(listen: SocketAddr, api: SocketAddr, receiver: &Receiver) -> String {
    let sink = format!(
        r#"
[sinks.erp]
type = "http"
inputs = ["orders"]
uri = "http://{}/orders"
retry = {{ max_attempts = 1000, initial_backoff_secs = 0.05, max_backoff_secs = 0.5 }}
"#,
        receiver.address
    );
    orders_pipeline(listen, api, &sink)
}

/// Clients posting orders until stopped; what was acknowledged.
struct Load {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<BTreeSet<String>>>,
    attempts: Arc<Mutex<u64>>,
    clients: Vec<JoinHandle<()>>,
}

impl Load {
    /// `clients` threads; each sends its next order once the last was acknowledged. After
    /// `stop`, an order not yet acknowledged is given up when its next try fails, as a
    /// client that gives up would.
    fn start(source: SocketAddr, clients: usize) -> Self {
        let template = canonical_order("");
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let attempts: Arc<Mutex<u64>> = Arc::default();
        let clients = (0..clients)
            .map(|client| {
                let (stop, acknowledged, attempts, template) = (
                    stop.clone(),
                    acknowledged.clone(),
                    attempts.clone(),
                    template.clone(),
                );
                std::thread::spawn(move || {
                    for n in 0.. {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let key = format!("order-{client}-{n}");
                        let mut order = template.clone();
                        order["reference"] = json!(key);
                        let body = serde_json::to_vec(&order).unwrap();
                        let sends = if n % 10 == 0 { 2 } else { 1 };
                        let mut answers = Vec::new();
                        while answers.len() < sends {
                            *attempts.lock().unwrap() += 1;
                            match http_request(
                                source,
                                "POST",
                                "/orders",
                                &[("Idempotency-Key", &key)],
                                &body,
                            ) {
                                Some((202, answer)) => answers.push(answer),
                                Some((status, answer)) if status != 503 => {
                                    panic!("order {key} answered {status}: {answer}")
                                }
                                _ if stop.load(Ordering::SeqCst) => return,
                                _ => std::thread::sleep(Duration::from_millis(20)),
                            }
                        }
                        assert!(
                            answers.iter().all(|a| a == &answers[0]),
                            "order {key} was answered differently: {answers:?}"
                        );
                        acknowledged.lock().unwrap().insert(key);
                    }
                })
            })
            .collect();
        Self {
            stop,
            acknowledged,
            attempts,
            clients,
        }
    }

    fn finish(self) -> (BTreeSet<String>, u64) {
        self.stop.store(true, Ordering::SeqCst);
        for client in self.clients {
            client.join().expect("a client panicked");
        }
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        let attempts = *self.attempts.lock().unwrap();
        (acknowledged, attempts)
    }
}

/// What the receiving sink saw: per order reference, the delivery keys it came with, and
/// the requests in all.
struct Effects {
    keys_by_order: BTreeMap<String, BTreeSet<String>>,
    requests: usize,
}

fn effects(receiver: &Receiver) -> Effects {
    let requests = receiver.requests();
    let mut keys_by_order: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for request in &requests {
        let order: Value = serde_json::from_slice(&request.body).expect("the sink got JSON");
        let reference = order["reference"].as_str().expect("a reference").to_owned();
        let key = request
            .headers
            .get("idempotency-key")
            .cloned()
            .expect("an Idempotency-Key");
        keys_by_order.entry(reference).or_default().insert(key);
    }
    Effects {
        keys_by_order,
        requests: requests.len(),
    }
}

/// Waits until every acknowledged order reached the receiver, then checks that none took
/// effect twice (two delivery keys for one order would be two documents: the idempotency
/// key failed), and prints the counts.
fn assert_every_acknowledged_order_delivered_once(
    receiver: &Receiver,
    acknowledged: &BTreeSet<String>,
    runtime: &Runtime,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let effects = loop {
        let effects = effects(receiver);
        let missing: Vec<_> = acknowledged
            .iter()
            .filter(|k| !effects.keys_by_order.contains_key(*k))
            .collect();
        if missing.is_empty() {
            break effects;
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged orders never reached the sink, e.g. {:?}\n{}",
            missing.len(),
            &missing[..missing.len().min(5)],
            runtime.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let twice: Vec<_> = effects
        .keys_by_order
        .iter()
        .filter(|(_, keys)| keys.len() > 1)
        .collect();
    let unique = effects
        .keys_by_order
        .values()
        .map(BTreeSet::len)
        .sum::<usize>();
    println!(
        "acknowledged orders: {}; orders at the sink: {}; unique delivery keys: {unique}; raw requests: {} ({} repeats of a key already delivered); orders with two effects: {}",
        acknowledged.len(),
        effects.keys_by_order.len(),
        effects.requests,
        effects.requests - unique,
        twice.len()
    );
    assert!(twice.is_empty(), "orders that took effect twice: {twice:?}");
}

#[test]
fn acknowledged_orders_survive_ten_sigkills_and_none_takes_effect_twice() {
    let receiver = Receiver::start(|_, _| (200, Duration::ZERO));
    let (listen, api) = (loopback(), loopback());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), pipeline(listen, api, &receiver)).unwrap();
    let mut runtime = Runtime::start(dir.path(), Path::new("p.toml"), api, &[]);

    let load = Load::start(listen, 4);
    let mut kills = 0;
    for round in 0..10u64 {
        // Kills land at different moments of the work: in a request, a commit, a delivery.
        std::thread::sleep(Duration::from_millis(150 + (round * 73) % 300));
        runtime.restart();
        kills += 1;
    }
    std::thread::sleep(Duration::from_millis(300));
    let (acknowledged, attempts) = load.finish();
    println!("SIGKILLs: {kills}; requests sent by the clients: {attempts}");
    assert!(
        acknowledged.len() > 20,
        "the load generator barely ran: {} orders",
        acknowledged.len()
    );
    assert_every_acknowledged_order_delivered_once(&receiver, &acknowledged, &runtime);
}

#[test]
fn sigterm_under_load_exits_zero_in_bounded_time_and_loses_nothing() {
    let receiver = Receiver::start(|_, _| (200, Duration::from_millis(5)));
    let (listen, api) = (loopback(), loopback());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), pipeline(listen, api, &receiver)).unwrap();
    let mut runtime = Runtime::start(dir.path(), Path::new("p.toml"), api, &[]);

    let load = Load::start(listen, 4);
    std::thread::sleep(Duration::from_millis(800));
    let (status, took) = runtime.terminate(Duration::from_secs(30));
    let (acknowledged, _) = load.finish();
    println!(
        "stopped in {took:?} with {} orders acknowledged",
        acknowledged.len()
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?}:\n{}",
        runtime.log()
    );
    assert!(
        took < Duration::from_secs(11),
        "the bound is 10 s; took {took:?}"
    );
    assert!(!acknowledged.is_empty());

    // What was acknowledged and not yet delivered is delivered by the next run.
    runtime.restart();
    assert_every_acknowledged_order_delivered_once(&receiver, &acknowledged, &runtime);
}
