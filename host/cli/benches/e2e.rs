//! Part two of BENCHMARKS.md: what an order costs end to end. The release `tradewire run`
//! takes SAP OCI carts over loopback HTTP, commits them to its SQLite store
//! (`synchronous = FULL`), maps them and delivers them as OIS JSON to a local HTTP sink;
//! `tradewire-load` drives it open-loop and counts what the sink received.
//!
//! `cargo bench -p tradewire-cli --bench e2e` runs every measure (about 15 minutes);
//! `-- throughput`, `ceiling`, `latency`, `growth`, `failing` or `footprint` runs one;
//! `-- cost` prints the CPU an order costs at a fixed rate, to compare builds by.
//! `TRADEWIRE_BENCH_SECONDS` (default 60) sets the sustained run's length, and the others'
//! in proportion; `TRADEWIRE_BENCH_COST_RATE` (default 7000) the rate of `cost`. Driver,
//! sinks and host share the machine's cores: the host is one process, the driver and its
//! sinks another, and neither is pinned.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tradewire_load::host::{Host, free_address, metric};
use tradewire_load::{Load, Outcome, Sink, drive, percentiles};

const BAR_THROUGHPUT: f64 = 5_000.0;
/// How far measure 1's whole run steps down from a rate that held for its probe only.
const SUSTAINED_STEP_DOWN: f64 = 500.0;
const BAR_CEILING_RATIO: f64 = 0.25;
const BAR_ACK_P99_MS: f64 = 10.0;
const BAR_GROWTH: f64 = 0.10;
const BAR_IDLE_RSS_MB: f64 = 30.0;
const BAR_LOADED_RSS_MB: f64 = 150.0;
const BAR_START_MS: f64 = 200.0;

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tradewire"))
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn seconds() -> f64 {
    env_number("TRADEWIRE_BENCH_SECONDS", 60.0)
}

fn cost_rate() -> f64 {
    env_number("TRADEWIRE_BENCH_COST_RATE", 7_000.0)
}

/// The number in environment variable `name`, else `default`.
fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// CPU this process (the driver and its sinks) has used so far.
fn own_cpu_time() -> Duration {
    tradewire_load::host::cpu_time(std::process::id()).unwrap_or_default()
}

/// An OCI cart form body of `lines` article lines, encoded by the adapter itself.
fn cart(lines: usize) -> Vec<u8> {
    let sample = repo("adapters/oci-punchout/fixtures/cart/discountoffice.txt");
    if lines == 3 {
        return std::fs::read(sample).unwrap();
    }
    let decoded = Command::new(binary())
        .args(["decode", "--compact", "oci-punchout", "cart"])
        .arg(&sample)
        .output()
        .unwrap();
    let mut order: Value = serde_json::from_slice(&decoded.stdout).unwrap();
    let article = order["lines"][0].clone();
    order["lines"] = Value::Array(
        (0..lines)
            .map(|n| {
                let mut line = article.clone();
                line["sku"] = json!(format!("SKU-{n}"));
                line
            })
            .collect(),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("order.json");
    std::fs::write(&file, serde_json::to_vec(&order).unwrap()).unwrap();
    let encoded = Command::new(binary())
        .args(["encode", "oci-punchout", "cart"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        encoded.status.success(),
        "{}",
        String::from_utf8_lossy(&encoded.stderr)
    );
    encoded.stdout
}

/// The measured pipeline: carts → map (what a cart lacks for OIS) → OIS JSON to each sink.
fn pipeline(listen: SocketAddr, api: SocketAddr, sinks: &[SocketAddr]) -> String {
    let mut text = format!(
        r#"
[store]
path = "store.db"

[api]
address = "{api}"

[sources.carts]
type = "http"
address = "{listen}"
path = "/oci/cart"
decode = {{ adapter = "oci-punchout", message = "cart" }}

[transforms.as_order]
type = "map"
inputs = ["carts"]
set = {{ "/kind" = "order", "/created_at" = "2026-12-05T10:00:00+01:00", "/delivery_address" = {{ company = "Discount Office BV", first_name = "Anna", last_name = "de Vries", street = "Keizersgracht", house_number = "12", postal_code = "1015 CJ", city = "Amsterdam", country = "NL" }}, "/delivery/carrier_id" = "3", "/payment/option_id" = "12", "/payment/reference" = "on-account" }}
"#
    );
    for (n, sink) in sinks.iter().enumerate() {
        text.push_str(&format!(
            r#"
[sinks.ois{n}]
type = "http"
inputs = ["as_order"]
uri = "http://{sink}/v1/Orders"
encode = {{ adapter = "ois-orders", message = "order" }}
concurrency = 64
retry = {{ max_attempts = 1000, initial_backoff_secs = 0.1, max_backoff_secs = 1 }}
"#
        ));
    }
    text
}

/// A host on a fresh store, with `sinks` counting sinks.
struct Rig {
    /// Holds the pipeline file and the store until the rig is dropped.
    _dir: tempfile::TempDir,
    host: Host,
    listen: SocketAddr,
    sinks: Vec<Sink>,
}

impl Rig {
    async fn start(sinks: usize, store: Option<&Path>) -> Self {
        Self::start_with(sinks, false, store).await
    }

    /// A host with one sink more whose address nothing listens on: its deliveries fail, it
    /// pauses, and what comes in for it stays pending.
    async fn start_with_sink_down() -> Self {
        Self::start_with(0, true, None).await
    }

    async fn start_with(sinks: usize, one_down: bool, store: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        if let Some(store) = store {
            let copy = dir.path().join("store.db");
            std::fs::copy(store, &copy).unwrap();
            // Written out before the host starts: otherwise the kernel flushes gigabytes of
            // the copy during the run, and every fsync of the host waits behind them.
            std::fs::File::open(&copy).unwrap().sync_all().unwrap();
        }
        let mut started = Vec::new();
        for _ in 0..sinks {
            started.push(Sink::start("127.0.0.1:0".parse().unwrap()).await.unwrap());
        }
        let (listen, api) = (free_address().unwrap(), free_address().unwrap());
        let mut addresses: Vec<_> = started.iter().map(|s| s.address).collect();
        if one_down {
            addresses.push(free_address().unwrap());
        }
        std::fs::write(dir.path().join("p.toml"), pipeline(listen, api, &addresses)).unwrap();
        let (path, p) = (dir.path().to_owned(), PathBuf::from("p.toml"));
        let host = tokio::task::spawn_blocking(move || Host::start(&binary(), &path, &p, api))
            .await
            .unwrap()
            .unwrap();
        Self {
            _dir: dir,
            host,
            listen,
            sinks: started,
        }
    }

    fn load(&self, rate: f64, duration: Duration, body: &[u8], max_in_flight: usize) -> Load {
        Load {
            url: format!("http://{}/oci/cart", self.listen).parse().unwrap(),
            rate,
            duration,
            body: body.to_vec().into(),
            content_type: "application/x-www-form-urlencoded".into(),
            max_in_flight,
            key_prefix: format!("bench-{rate}"),
        }
    }

    async fn queue_depth(&self, sink: usize) -> f64 {
        let api = self.host.api;
        let name = format!("ois{sink}");
        tokio::task::spawn_blocking(move || {
            metric(api, "tradewire_queue_depth", &name).unwrap_or(f64::NAN)
        })
        .await
        .unwrap_or(f64::NAN)
    }
}

/// One run at a fixed rate, with what the sinks received while it ran.
struct Run {
    outcome: Outcome,
    /// Per sink: documents received by the end of the run.
    delivered: Vec<u64>,
    /// Queue depth of sink 0 a third of the way in and at the end.
    queue: (f64, f64),
}

impl Run {
    fn delivered_per_second(&self, sink: usize) -> f64 {
        self.delivered[sink] as f64 / self.outcome.elapsed.as_secs_f64()
    }

    /// Acknowledged and delivered at the rate, and the queue not growing by more than a
    /// tenth of a second of input over the last two thirds of the run.
    fn sustained(&self, rate: f64) -> bool {
        self.outcome.acknowledged as f64 >= 0.999 * self.outcome.sent as f64
            && self.outcome.acknowledged_per_second() >= 0.98 * rate
            && self.delivered_per_second(0) >= 0.98 * rate
            && self.queue.1 - self.queue.0 <= rate * 0.1
    }
}

async fn run_at(rig: &Rig, rate: f64, duration: Duration, body: &[u8]) -> Run {
    let before: Vec<u64> = rig.sinks.iter().map(|s| s.tracker.delivered().0).collect();
    let trackers: Vec<_> = rig.sinks.iter().map(|s| s.tracker.clone()).collect();
    let load = rig.load(rate, duration, body, 4096);
    let driving = tokio::spawn(async move { drive(&load, &trackers).await });
    tokio::time::sleep(duration / 3).await;
    let early = rig.queue_depth(0).await;
    let outcome = driving.await.unwrap();
    let late = rig.queue_depth(0).await;
    let delivered = rig
        .sinks
        .iter()
        .zip(before)
        .map(|(s, b)| s.tracker.delivered().0 - b)
        .collect();
    Run {
        outcome,
        delivered,
        queue: (early, late),
    }
}

/// Waits until every sink has every acknowledged document or `limit` passes.
async fn drain(rig: &Rig, acknowledged: u64, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline
        && rig
            .sinks
            .iter()
            .any(|s| s.tracker.delivered().0 < acknowledged)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn verdict(pass: bool) -> &'static str {
    if pass { "pass" } else { "MISS" }
}

struct Table(Vec<[String; 4]>);

impl Table {
    fn row(&mut self, what: &str, figure: String, bar: &str, pass: Option<bool>) {
        self.0.push([
            what.to_owned(),
            figure,
            bar.to_owned(),
            pass.map_or("-", verdict).to_owned(),
        ]);
    }

    fn print(&self, title: &str) {
        println!("\n### {title}\n\n| measure | figure | bar | verdict |\n|---|---|---|---|");
        for [a, b, c, d] in &self.0 {
            println!("| {a} | {b} | {c} | {d} |");
        }
    }
}

/// The highest rate, in steps, that is acknowledged and delivered for a short probe; then
/// the sustained run at it.
async fn throughput(table: &mut Table) -> f64 {
    let body = cart(3);
    let probe = Duration::from_secs_f64((seconds() / 6.0).max(5.0));
    let mut rate = 2_000.0;
    let mut sustained = 0.0;
    loop {
        let rig = Rig::start(1, None).await;
        let run = run_at(&rig, rate, probe, &body).await;
        eprintln!(
            "probe {rate}/s: acknowledged {:.0}/s, delivered {:.0}/s, queue {:.0} → {:.0}, ack {}",
            run.outcome.acknowledged_per_second(),
            run.delivered_per_second(0),
            run.queue.0,
            run.queue.1,
            percentiles(&run.outcome.ack_latency)
        );
        if !run.sustained(rate) || rate >= 20_000.0 {
            break;
        }
        sustained = rate;
        rate += 1_000.0;
    }
    // A probe is short: at the edge, a rate can hold for it and not for the whole run.
    // The whole run then steps down until one holds.
    let duration = Duration::from_secs_f64(seconds());
    let mut not_held = Vec::new();
    let (run, peak_kib) = loop {
        let rig = Rig::start(1, None).await;
        let run = run_at(&rig, sustained, duration, &body).await;
        let (_, peak_kib) = rig.host.memory_kib();
        drain(&rig, run.outcome.acknowledged, Duration::from_secs(30)).await;
        if run.sustained(sustained) || sustained <= SUSTAINED_STEP_DOWN {
            break (run, peak_kib);
        }
        eprintln!(
            "{sustained}/s held for the probe, not for {:.0} s (delivered {:.0}/s, queue {:.0} → {:.0})",
            duration.as_secs_f64(),
            run.delivered_per_second(0),
            run.queue.0,
            run.queue.1
        );
        not_held.push(format!("{sustained:.0}/s"));
        sustained -= SUSTAINED_STEP_DOWN;
    };
    let ok = run.sustained(sustained);
    let stepped_down = if not_held.is_empty() {
        String::new()
    } else {
        format!(
            " ({} held for the probe, not for the whole run)",
            not_held.join(", ")
        )
    };
    table.row(
        "1. sustained: acknowledged and delivered, queue flat",
        format!(
            "{sustained:.0}/s for {:.0} s: acknowledged {:.0}/s, delivered {:.0}/s during the run, queue {:.0} → {:.0}{stepped_down}",
            duration.as_secs_f64(),
            run.outcome.acknowledged_per_second(),
            run.delivered_per_second(0),
            run.queue.0,
            run.queue.1
        ),
        "≥ 5,000/s",
        Some(ok && sustained >= BAR_THROUGHPUT),
    );
    table.row(
        "6. resident memory under measure 1",
        format!("{:.1} MB peak", peak_kib as f64 / 1024.0),
        "≤ 150 MB",
        Some(peak_kib as f64 / 1024.0 <= BAR_LOADED_RSS_MB),
    );
    sustained
}

/// CPU per order as the kernel counts it, at a fixed rate for ten seconds: the host's, for
/// the measure-1 pipeline and for its ingest alone, and this process's (the driver and its
/// sinks); then the bare server's per request. What builds are compared by: on a VM
/// without hardware counters, `perf` puts kernel time where interrupts come back on.
async fn cost(table: &mut Table) {
    let rate = cost_rate();
    let duration = Duration::from_secs(10);
    let body = cart(3);
    let per = |time: Duration, count: u64| time.as_secs_f64() * 1e6 / count.max(1) as f64;
    for sink_down in [false, true] {
        // One host at a time: an idle one beside would count in the driver's machine.
        let (what, rig) = if sink_down {
            (
                "ingest alone (its sink down and paused, deliveries left pending)",
                Rig::start_with_sink_down().await,
            )
        } else {
            ("the measure-1 pipeline", Rig::start(1, None).await)
        };
        let (host, own) = (rig.host.cpu_time(), own_cpu_time());
        let run = run_at(&rig, rate, duration, &body).await;
        let (host, own) = (
            rig.host.cpu_time().saturating_sub(host),
            own_cpu_time().saturating_sub(own),
        );
        let orders = run.outcome.acknowledged;
        table.row(
            &format!("cost: CPU per order at {rate:.0}/s, {what}"),
            format!(
                "host {:.0} µs; driver and sink {:.0} µs ({orders} acknowledged)",
                per(host, orders),
                per(own, orders)
            ),
            "-",
            None,
        );
    }
    let (mut child, address) = start_bare_server();
    let load = Load {
        url: format!("http://{address}/").parse().unwrap(),
        rate,
        duration,
        body: body.into(),
        content_type: "application/x-www-form-urlencoded".into(),
        max_in_flight: 4096,
        key_prefix: "cost".into(),
    };
    let (server, own) = (tradewire_load::host::cpu_time(child.id()), own_cpu_time());
    let outcome = drive(&load, &[]).await;
    let server = tradewire_load::host::cpu_time(child.id())
        .zip(server)
        .map(|(after, before)| after.saturating_sub(before))
        .unwrap_or_default();
    let own = own_cpu_time().saturating_sub(own);
    let _ = child.kill();
    let _ = child.wait();
    table.row(
        &format!("cost: CPU per request at {rate:.0}/s, the bare 202 server"),
        format!(
            "server {:.0} µs; driver {:.0} µs",
            per(server, outcome.acknowledged),
            per(own, outcome.acknowledged)
        ),
        "-",
        None,
    );
}

/// `tradewire __bench-ceiling` on a free address, once it takes connections.
fn start_bare_server() -> (std::process::Child, SocketAddr) {
    let address = free_address().unwrap();
    let child = Command::new(binary())
        .args(["__bench-ceiling", &address.to_string()])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(address).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    (child, address)
}

/// The bare server's capacity: as many requests as it answers with 256 in flight.
async fn ceiling(table: &mut Table, sustained: f64) {
    let (mut child, address) = start_bare_server();
    let load = Load {
        url: format!("http://{address}/").parse().unwrap(),
        rate: 200_000.0,
        duration: Duration::from_secs_f64((seconds() / 6.0).max(5.0)),
        body: cart(3).into(),
        content_type: "application/x-www-form-urlencoded".into(),
        max_in_flight: 256,
        key_prefix: "ceiling".into(),
    };
    let outcome = drive(&load, &[]).await;
    let _ = child.kill();
    let _ = child.wait();
    let capacity = outcome.acknowledged_per_second();
    table.row(
        "2. ceiling: a bare 202 server on the same stack",
        format!(
            "{capacity:.0}/s; measure 1 is {:.2}× of it",
            sustained / capacity
        ),
        "measure 1 ≥ 0.25×",
        Some(sustained / capacity >= BAR_CEILING_RATIO),
    );
}

async fn latency(table: &mut Table, sustained: f64) {
    let body = cart(3);
    for share in [0.5, 0.9] {
        let rig = Rig::start(1, None).await;
        let rate = (sustained * share).round();
        let run = run_at(&rig, rate, Duration::from_secs_f64(seconds() / 2.0), &body).await;
        drain(&rig, run.outcome.acknowledged, Duration::from_secs(30)).await;
        let p99 = run.outcome.ack_latency.value_at_quantile(0.99) as f64 / 1000.0;
        table.row(
            &format!("3. acknowledgement at {:.0} % ({rate:.0}/s)", share * 100.0),
            percentiles(&run.outcome.ack_latency),
            if share == 0.5 { "p99 ≤ 10 ms" } else { "-" },
            (share == 0.5).then_some(p99 <= BAR_ACK_P99_MS),
        );
        table.row(
            &format!("3. end to end at {:.0} %", share * 100.0),
            percentiles(&rig.sinks[0].tracker.end_to_end()),
            "-",
            None,
        );
    }
}

/// Saturated: 256 requests in flight for a probe's length, then until everything
/// acknowledged was delivered. Returns what was acknowledged per second while driven, and
/// orders acknowledged *and* delivered per second over the whole (the end-to-end capacity:
/// driven flat out, ingest takes the cores first and delivery catches up after).
async fn saturated(rig: &Rig, body: &[u8]) -> (f64, f64) {
    let before = rig.sinks[0].tracker.delivered().0;
    let load = rig.load(
        100_000.0,
        Duration::from_secs_f64((seconds() / 6.0).max(5.0)),
        body,
        256,
    );
    let started = Instant::now();
    let outcome = drive(&load, &[]).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    while rig.sinks[0].tracker.delivered().0 - before < outcome.acknowledged
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let whole = started.elapsed().as_secs_f64();
    (
        outcome.acknowledged_per_second(),
        outcome.acknowledged as f64 / whole,
    )
}

async fn growth(table: &mut Table) {
    let mut per_line = Vec::new();
    for lines in [1, 10, 100] {
        let rig = Rig::start(1, None).await;
        let (acknowledged, end_to_end) = saturated(&rig, &cart(lines)).await;
        per_line.push((lines, end_to_end));
        table.row(
            &format!("4. {lines}-line carts, saturated"),
            format!("{end_to_end:.0}/s acknowledged and delivered ({acknowledged:.0}/s acknowledged while driven)"),
            "-",
            None,
        );
    }
    let (first, last) = (per_line[0].1, per_line[2].1);
    table.row(
        "4. cost per line",
        format!(
            "{:.1} µs of the whole machine per line",
            (1.0 / last - 1.0 / first) / 99.0 * 1e6
        ),
        "-",
        None,
    );

    let million = prefilled_store(1_000_000).await;
    let size = std::fs::metadata(&million).map(|m| m.len()).unwrap_or(0);
    table.row(
        "4. store size per document",
        format!("{:.0} bytes", size as f64 / 1e6),
        "-",
        None,
    );
    let body = cart(3);
    // Empty, full, full, empty: a drift of the machine during the four runs weighs on both.
    let (mut empty_rate, mut full_rate) = (0.0, 0.0);
    for prefilled in [false, true, true, false] {
        let rig = Rig::start(1, prefilled.then_some(million.as_path())).await;
        let (_, rate) = saturated(&rig, &body).await;
        if prefilled {
            full_rate += rate / 2.0;
        } else {
            empty_rate += rate / 2.0;
        }
    }
    table.row(
        "4. with 1,000,000 documents in the store",
        format!(
            "{full_rate:.0}/s against {empty_rate:.0}/s empty ({:+.1} %)",
            (full_rate / empty_rate - 1.0) * 100.0
        ),
        "within 10 %",
        Some(full_rate >= empty_rate * (1.0 - BAR_GROWTH)),
    );
    let dir = million.parent().map(Path::to_owned).unwrap_or_default();
    let rig_dir = tempfile::tempdir().unwrap();
    std::fs::copy(&million, rig_dir.path().join("store.db")).unwrap();
    let started = started_on(rig_dir.path()).await;
    table.row(
        "6. start to ready with 1,000,000 documents",
        format!("{:.0} ms", started.as_secs_f64() * 1000.0),
        "≤ 200 ms",
        Some(started.as_secs_f64() * 1000.0 <= BAR_START_MS),
    );
    retention(table, &million).await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Start to ready of a host on the store in `dir`.
async fn started_on(dir: &Path) -> Duration {
    let sink = Sink::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (listen, api) = (free_address().unwrap(), free_address().unwrap());
    std::fs::write(dir.join("p.toml"), pipeline(listen, api, &[sink.address])).unwrap();
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let host = Host::start(&binary(), &dir, Path::new("p.toml"), api).unwrap();
        host.start_to_ready
    })
    .await
    .unwrap()
}

/// A store holding `count` documents, every delivery delivered, written through the Store
/// trait as the runtime writes them.
async fn prefilled_store(count: usize) -> PathBuf {
    use tradewire_store::sqlite::{SqliteOptions, SqliteStore};
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("store.db");
    let store = Arc::new(SqliteStore::open(&path, SqliteOptions::default()).unwrap());
    let started = Instant::now();
    fill(&store, 0, count).await;
    eprintln!(
        "prefilled {count} documents in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    close(store).await;
    path
}

async fn close(store: Arc<tradewire_store::sqlite::SqliteStore>) {
    match Arc::try_unwrap(store) {
        Ok(store) => store.close().await.unwrap(),
        Err(_) => panic!("the store is still shared"),
    }
}

/// Documents `first..first + count`, accepted, claimed and recorded delivered, in batches
/// as concurrent sources and a sink would.
async fn fill(store: &Arc<tradewire_store::sqlite::SqliteStore>, first: usize, count: usize) {
    use tradewire_store::{Attempt, AttemptOutcome, Incoming, NewDelivery, Next, Reply, Store};
    let payload = {
        let out = Command::new(binary())
            .args(["decode", "--compact", "oci-punchout", "cart"])
            .arg(repo(
                "adapters/oci-punchout/fixtures/cart/discountoffice.txt",
            ))
            .output()
            .unwrap();
        out.stdout
    };
    let raw = cart(3);
    let chunk = 512;
    for start in (first..first + count).step_by(chunk) {
        let mut batch = tokio::task::JoinSet::new();
        for n in start..(start + chunk).min(first + count) {
            let store = store.clone();
            let (payload, raw) = (payload.clone(), raw.clone());
            batch.spawn(async move {
                let id = format!("prefill-{n:08}");
                let incoming = Incoming {
                    id: id.clone(),
                    source: "carts".into(),
                    key: Some(format!("prefill-{n}")),
                    content_hash: format!("{n:064x}"),
                    received_at: chrono::Utc::now(),
                    raw,
                    context: json!({"version": 1, "content_type": "application/x-www-form-urlencoded"}),
                    reply: Reply {
                        status: 202,
                        content_type: "application/json".into(),
                        body: format!(r#"{{"id":"{id}"}}"#).into_bytes(),
                    },
                    deliveries: vec![NewDelivery {
                        sink: "ois0".into(),
                        key: format!("{id}.ois0"),
                        payload,
                    }],
                };
                store.accept(incoming).await.unwrap();
            });
        }
        while batch.join_next().await.is_some() {}
        let claimed = store
            .claim("ois0", chunk, chrono::Utc::now(), Duration::from_secs(60))
            .await
            .unwrap();
        let mut records = tokio::task::JoinSet::new();
        for delivery in claimed {
            let store = store.clone();
            records.spawn(async move {
                let attempt = Attempt {
                    at: chrono::Utc::now(),
                    duration_ms: 1,
                    outcome: AttemptOutcome::Delivered,
                    status: Some(200),
                    detail: String::new(),
                };
                store
                    .record(delivery.id, attempt, Next::Delivered)
                    .await
                    .unwrap();
            });
        }
        while records.join_next().await.is_some() {}
    }
}

/// Retention: pruning every delivered document frees pages that new documents reuse, so a
/// store under steady retention stops growing.
async fn retention(table: &mut Table, store_path: &Path) {
    use tradewire_store::Store;
    use tradewire_store::sqlite::{SqliteOptions, SqliteStore};
    let store = Arc::new(SqliteStore::open(store_path, SqliteOptions::default()).unwrap());
    let full = std::fs::metadata(store_path).map(|m| m.len()).unwrap_or(0);
    let started = Instant::now();
    let before = chrono::Utc::now() + chrono::Duration::days(1);
    let mut pruned = 0;
    loop {
        let n = store.prune(before, 1000).await.unwrap();
        pruned += n;
        if n < 1000 {
            break;
        }
    }
    let took = started.elapsed();
    let refill = 200_000;
    fill(&store, 10_000_000, refill).await;
    close(store).await;
    let after = std::fs::metadata(store_path).map(|m| m.len()).unwrap_or(0);
    table.row(
        "4. retention: prune, then 200,000 new documents",
        format!(
            "pruned {pruned} in {:.1} s (1,000 a transaction); the file {:.0} MB before, {:.0} MB after the new documents",
            took.as_secs_f64(),
            full as f64 / 1e6,
            after as f64 / 1e6
        ),
        "bounded",
        Some(after <= full),
    );
}

async fn failing(table: &mut Table, sustained: f64) {
    let body = cart(3);
    let rate = (sustained * 0.5).round();
    let duration = Duration::from_secs_f64(seconds() / 3.0);
    let rig = Rig::start(2, None).await;
    let baseline = run_at(&rig, rate, duration, &body).await;
    drain(&rig, baseline.outcome.acknowledged, Duration::from_secs(30)).await;
    let baseline_e2e = rig.sinks[0].tracker.end_to_end();

    let rig = Rig::start(2, None).await;
    rig.sinks[1].set_failing(true);
    let failed = run_at(&rig, rate, duration, &body).await;
    let healthy_e2e = rig.sinks[0].tracker.end_to_end();
    let (base_rate, fail_rate) = (
        baseline.delivered_per_second(0),
        failed.delivered_per_second(0),
    );
    let (base_p99, fail_p99) = (
        baseline_e2e.value_at_quantile(0.99) as f64,
        healthy_e2e.value_at_quantile(0.99) as f64,
    );
    table.row(
        "5. healthy sink beside one answering 503",
        format!(
            "{fail_rate:.0}/s against {base_rate:.0}/s; end to end p99 {:.1} ms against {:.1} ms",
            fail_p99 / 1000.0,
            base_p99 / 1000.0
        ),
        "within 10 %",
        Some(fail_rate >= base_rate * 0.9 && fail_p99 <= base_p99 * 1.1),
    );
    let backlog = failed.outcome.acknowledged;
    rig.sinks[1].set_failing(false);
    let recovered = Instant::now();
    let deadline = recovered + Duration::from_secs(300);
    while rig.sinks[1].tracker.delivered().0 < backlog && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = recovered.elapsed();
    table.row(
        "5. the failing sink's backlog once it recovers",
        format!(
            "{backlog} documents in {:.1} s: {:.0}/s",
            drained.as_secs_f64(),
            backlog as f64 / drained.as_secs_f64()
        ),
        "full speed",
        None,
    );
}

async fn idle_footprint(table: &mut Table) {
    let rig = Rig::start(1, None).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss, _) = rig.host.memory_kib();
    table.row(
        "6. resident memory idle (four adapters, the store)",
        format!("{:.1} MB", rss as f64 / 1024.0),
        "≤ 30 MB",
        Some(rss as f64 / 1024.0 <= BAR_IDLE_RSS_MB),
    );
    table.row(
        "6. start to ready, empty store",
        format!("{:.0} ms", rig.host.start_to_ready.as_secs_f64() * 1000.0),
        "-",
        None,
    );
}

fn main() {
    let chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| chosen.is_empty() || chosen.iter().any(|c| c == name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let machine = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    println!(
        "machine: {} cores, {machine}; release `tradewire` and the driver share them",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    runtime.block_on(async {
        let mut table = Table(Vec::new());
        let needs_rate = ["throughput", "ceiling", "latency", "failing"]
            .iter()
            .any(|m| run(m));
        let sustained = if needs_rate {
            throughput(&mut table).await
        } else {
            BAR_THROUGHPUT
        };
        if run("ceiling") {
            ceiling(&mut table, sustained).await;
        }
        if run("latency") {
            latency(&mut table, sustained).await;
        }
        if run("growth") {
            growth(&mut table).await;
        }
        if run("failing") {
            failing(&mut table, sustained).await;
        }
        if run("footprint") {
            idle_footprint(&mut table).await;
        }
        if run("cost") {
            cost(&mut table).await;
        }
        table.print("End to end (BENCHMARKS.md, part two)");
    });
}
