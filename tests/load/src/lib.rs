//! An open-loop HTTP load driver for Tradewire pipelines.
//!
//! Requests leave at a fixed rate whatever the server does (open loop, as wrk2 and oha do):
//! each has a due time, and its latency is measured from that due time, not from when it
//! could be sent, so a server that stalls is charged for every request it held up
//! (coordinated omission corrected). Every request carries its own `Idempotency-Key`.
//! [`Sink`] stands in for the system a pipeline delivers to: it counts what arrived, by
//! the delivery's key, so that "delivered" is measured, not assumed, and it times each
//! document from its request's due time to its arrival (end to end).

pub mod host;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Latencies in microseconds, up to an hour, to 3 significant digits.
#[allow(clippy::expect_used)] // Constant bounds that hdrhistogram accepts.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// What the driver sends.
#[derive(Debug, Clone)]
pub struct Load {
    /// `http://127.0.0.1:8080/oci/cart`
    pub url: hyper::Uri,
    /// Requests per second.
    pub rate: f64,
    pub duration: Duration,
    pub body: Bytes,
    pub content_type: String,
    /// Requests waiting for an answer at most; past it the driver waits for one to end
    /// (the waiting is still charged to the requests, from their due times).
    pub max_in_flight: usize,
    /// Keys are `<prefix>-<n>`.
    pub key_prefix: String,
}

/// What came back.
#[derive(Debug)]
pub struct Outcome {
    /// Requests sent: all the run's, unless the server held the driver past its end.
    pub sent: u64,
    /// 2xx answers.
    pub acknowledged: u64,
    /// 4xx answers.
    pub refused: u64,
    /// 5xx answers and connection errors.
    pub failed: u64,
    /// From each acknowledged request's due time to its answer, in µs.
    pub ack_latency: Histogram<u64>,
    /// From the first due time to the last answer.
    pub elapsed: Duration,
}

impl Outcome {
    pub fn acknowledged_per_second(&self) -> f64 {
        self.acknowledged as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

struct Counts {
    acknowledged: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
}

/// Sends `load`, registering every acknowledged document with each tracker so that sinks
/// can time it end to end.
pub async fn drive(load: &Load, trackers: &[Tracker]) -> Outcome {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(load.max_in_flight)
        .build(connector);
    let permits = Arc::new(Semaphore::new(load.max_in_flight.max(1)));
    let counts = Arc::new(Counts {
        acknowledged: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    let latencies = Arc::new(Mutex::new(histogram()));
    let total = (load.rate * load.duration.as_secs_f64()).round() as u64;
    let interval = 1.0 / load.rate.max(f64::EPSILON);
    let start = Instant::now();
    let end = start + load.duration;
    let mut sent = 0;
    for n in 0..total {
        let due = start + Duration::from_secs_f64(n as f64 * interval);
        // A server slower than the rate holds the driver past the run's end: what is left
        // then is not sent (and the rate achieved says so).
        if Instant::now() > end {
            break;
        }
        tokio::time::sleep_until(due).await;
        sent += 1;
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let request = hyper::Request::post(load.url.clone())
            .header("content-type", load.content_type.as_str())
            .header("idempotency-key", format!("{}-{n}", load.key_prefix))
            .body(Full::new(load.body.clone()));
        let Ok(request) = request else {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let (client, counts, latencies, trackers) = (
            client.clone(),
            counts.clone(),
            latencies.clone(),
            trackers.to_vec(),
        );
        tokio::spawn(async move {
            let answer = match client.request(request).await {
                Ok(response) => {
                    let status = response.status();
                    let body = response.into_body().collect().await.map(|b| b.to_bytes());
                    body.ok().map(|b| (status, b))
                }
                Err(_) => None,
            };
            let latency = Instant::now().duration_since(due);
            match answer {
                Some((status, body)) if status.is_success() => {
                    counts.acknowledged.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut h) = latencies.lock() {
                        let _ = h.record(micros(latency));
                    }
                    if let Some(id) = document_id(&body) {
                        for tracker in &trackers {
                            tracker.acknowledged(&id, due);
                        }
                    }
                }
                Some((status, _)) if status.is_client_error() => {
                    counts.refused.fetch_add(1, Ordering::Relaxed);
                }
                _ => {
                    counts.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(permit);
        });
    }
    // Every request has ended once every permit is back.
    let _ = permits.acquire_many(load.max_in_flight.max(1) as u32).await;
    let elapsed = start.elapsed();
    let ack_latency = latencies
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|_| histogram());
    Outcome {
        sent,
        acknowledged: counts.acknowledged.load(Ordering::Relaxed),
        refused: counts.refused.load(Ordering::Relaxed),
        failed: counts.failed.load(Ordering::Relaxed),
        ack_latency,
        elapsed,
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// The `id` of a JSON answer (`{"id": "...", ...}`).
fn document_id(body: &[u8]) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    answer.get("id")?.as_str().map(str::to_owned)
}

/// Times documents from their request's due time to their arrival at one sink, whichever
/// of the two is learnt first (a delivery can arrive before its acknowledgement is read).
#[derive(Clone, Default)]
pub struct Tracker(Arc<Mutex<Tracked>>);

#[derive(Default)]
struct Tracked {
    due: HashMap<String, Instant>,
    arrived: HashMap<String, Instant>,
    delivered: HashSet<String>,
    requests: u64,
    end_to_end: Option<Histogram<u64>>,
}

impl Tracker {
    fn acknowledged(&self, id: &str, due: Instant) {
        let Ok(mut t) = self.0.lock() else { return };
        match t.arrived.remove(id) {
            Some(arrived) => t.record(arrived.duration_since(due)),
            None => {
                t.due.insert(id.to_owned(), due);
            }
        }
    }

    fn arrived(&self, id: &str) {
        let now = Instant::now();
        let Ok(mut t) = self.0.lock() else { return };
        t.requests += 1;
        if !t.delivered.insert(id.to_owned()) {
            return;
        }
        match t.due.remove(id) {
            Some(due) => t.record(now.duration_since(due)),
            None => {
                t.arrived.insert(id.to_owned(), now);
            }
        }
    }

    /// Documents that arrived (each counted once), and requests in all.
    pub fn delivered(&self) -> (u64, u64) {
        self.0
            .lock()
            .map(|t| (t.delivered.len() as u64, t.requests))
            .unwrap_or_default()
    }

    /// From each document's request due time to its first arrival, in µs.
    pub fn end_to_end(&self) -> Histogram<u64> {
        self.0
            .lock()
            .ok()
            .and_then(|t| t.end_to_end.clone())
            .unwrap_or_else(histogram)
    }
}

impl Tracked {
    fn record(&mut self, latency: Duration) {
        let _ = self
            .end_to_end
            .get_or_insert_with(histogram)
            .record(micros(latency));
    }
}

/// A loopback HTTP server standing in for a sink's receiver: it answers 200 (or 503 while
/// failing) and counts every request by its `Idempotency-Key` (`<document id>.<sink>`).
pub struct Sink {
    pub address: SocketAddr,
    pub tracker: Tracker,
    failing: Arc<AtomicBool>,
    server: tokio::task::JoinHandle<()>,
}

impl Sink {
    /// Listens on `address` (port 0 for any).
    pub async fn start(address: SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let tracker = Tracker::default();
        let failing = Arc::new(AtomicBool::new(false));
        let (t, f) = (tracker.clone(), failing.clone());
        let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
            let (tracker, failing) = (t.clone(), f.clone());
            async move {
                if failing.load(Ordering::Relaxed) {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let id = key.rsplit_once('.').map_or(key, |(id, _)| id);
                tracker.arrived(id);
                axum::http::StatusCode::OK
            }
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            address,
            tracker,
            failing,
            server,
        })
    }

    /// While failing, the sink answers 503 and counts nothing.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::Relaxed);
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `p50 / p99 / p99.9 / max` of a µs histogram, in ms.
pub fn percentiles(h: &Histogram<u64>) -> String {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    if h.is_empty() {
        return "-".to_owned();
    }
    format!(
        "p50 {:.2} / p99 {:.2} / p99.9 {:.2} / max {:.2} ms",
        ms(0.50),
        ms(0.99),
        ms(0.999),
        h.max() as f64 / 1000.0
    )
}
