//! Each sink's worker: claims the sink's due deliveries from the store, attempts them (up to
//! the sink's concurrency at once), records every attempt and decides what comes next. One
//! worker per sink, so a sink that fails or hangs delays no other.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tradewire_store::{Attempt, AttemptOutcome, Claimed, DeliveryId, Next, Store};

use crate::breaker::{Breaker, Change, Gate, TRIP_AFTER};
use crate::health::Health;
use crate::sinks::{Delivery, RetryConfig, SendOutcome, Sink};

/// How long a claim holds a delivery: far longer than an attempt may take (a sink's
/// timeout), so only a worker that died loses its claims, and they come back.
const LEASE: Duration = Duration::from_secs(300);

/// The longest a worker sleeps without looking at the store: a delivery committed by
/// another process (a `dlq replay`) is picked up within this.
const IDLE_CHECK: Duration = Duration::from_secs(2);

/// The most of a response or an error kept with an attempt.
const DETAIL_BYTES: usize = 1024;

pub struct SinkWorker {
    pub name: String,
    pub sink: Arc<dyn Sink>,
    pub retry: RetryConfig,
    pub concurrency: usize,
    pub store: Arc<dyn Store>,
    pub wake: Arc<Notify>,
    pub health: Health,
    pub breaker: Breaker,
}

impl SinkWorker {
    /// Delivers until `shutdown` turns true, then lets attempts in flight finish for up to
    /// `drain`, abandons the rest and releases their claims.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>, drain: Duration) {
        let this = Arc::new(self);
        let concurrency = this.concurrency.max(1);
        let permits = Arc::new(Semaphore::new(concurrency));
        let active: Arc<Mutex<HashSet<DeliveryId>>> = Arc::default();
        let mut in_flight = JoinSet::new();
        // Claimed and not yet attempted. Claims are taken in batches of up to twice the
        // concurrency and topped up at half, so that a busy sink claims once per many
        // deliveries rather than once per freed slot: a claim is a write to the store.
        let mut claimed: VecDeque<Claimed> = VecDeque::new();
        let mut drained = false;
        this.health.set_ok(&this.name);
        while !*shutdown.borrow() {
            let gate = this.breaker.gate(Instant::now());
            if matches!(gate, Gate::Paused(_)) && !claimed.is_empty() {
                // The sink is failing: what was claimed and not attempted goes back, so that
                // a pause longer than a lease cannot hand this worker the same delivery twice.
                this.release(claimed.drain(..).map(|d| d.id).collect())
                    .await;
            }
            while !claimed.is_empty() {
                let gate = this.breaker.gate(Instant::now());
                if matches!(gate, Gate::Paused(_)) {
                    break;
                }
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    break;
                };
                let Some(delivery) = claimed.pop_front() else {
                    break;
                };
                if gate == Gate::ProbeDue {
                    this.breaker.probing();
                    tracing::info!(sink = %this.name, delivery = delivery.id, "probing the paused sink");
                }
                if let Ok(mut a) = active.lock() {
                    a.insert(delivery.id);
                }
                let (this, active) = (this.clone(), active.clone());
                in_flight.spawn(async move {
                    let id = delivery.id;
                    this.attempt(delivery).await;
                    if let Ok(mut a) = active.lock() {
                        a.remove(&id);
                    }
                    drop(permit);
                });
            }
            let wanted = match this.breaker.gate(Instant::now()) {
                Gate::Flowing if claimed.len() <= concurrency && !drained => {
                    2 * concurrency - claimed.len()
                }
                Gate::ProbeDue if claimed.is_empty() => 1,
                _ => 0,
            };
            if wanted > 0 {
                match this
                    .store
                    .claim(&this.name, wanted, Utc::now(), LEASE)
                    .await
                {
                    Ok(more) => {
                        // Fewer than asked: the queue is empty for now.
                        drained = more.len() < wanted;
                        let got_some = !more.is_empty();
                        claimed.extend(more);
                        if got_some {
                            continue;
                        }
                    }
                    Err(e) => {
                        tracing::error!(sink = %this.name, error = %e, "cannot claim deliveries");
                        this.health.set_failing(&this.name, &format!("store: {e}"));
                        drained = true;
                    }
                }
            }
            if let Gate::Paused(until) = this.breaker.gate(Instant::now()) {
                // Wait for the probe's answer, or for its time.
                let until = until.map(tokio::time::Instant::from_std);
                tokio::select! {
                    _ = in_flight.join_next(), if !in_flight.is_empty() => {}
                    () = sleep_until(until) => {}
                    _ = shutdown.changed() => {}
                }
                drained = false;
                continue;
            }
            if !claimed.is_empty() {
                // Claimed work waits for a slot.
                tokio::select! {
                    _ = in_flight.join_next(), if !in_flight.is_empty() => {}
                    _ = shutdown.changed() => {}
                }
                if claimed.len() <= concurrency {
                    drained = false;
                }
                continue;
            }
            let sleep = match this.store.next_due(&this.name).await {
                Ok(Some(due)) => (due - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(IDLE_CHECK),
                _ => IDLE_CHECK,
            };
            tokio::select! {
                () = this.wake.notified() => {}
                _ = in_flight.join_next(), if !in_flight.is_empty() => {}
                () = tokio::time::sleep(sleep.max(Duration::from_millis(5))) => {}
                _ = shutdown.changed() => {}
            }
            drained = false;
        }
        if !claimed.is_empty() {
            this.release(claimed.drain(..).map(|d| d.id).collect())
                .await;
        }
        let finished = tokio::time::timeout(drain, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            in_flight.abort_all();
            while in_flight.join_next().await.is_some() {}
            let abandoned: Vec<DeliveryId> = active
                .lock()
                .map(|a| a.iter().copied().collect())
                .unwrap_or_default();
            tracing::warn!(sink = %this.name, count = abandoned.len(), "attempts still running at the shutdown deadline were abandoned; their deliveries stay pending");
            this.release(abandoned).await;
        }
    }

    /// Hands claims back unattempted. Should that fail, their leases end on their own.
    async fn release(&self, deliveries: Vec<DeliveryId>) {
        if let Err(e) = self.store.release(&deliveries).await {
            tracing::error!(sink = %self.name, error = %e, "cannot release claims");
        }
    }

    async fn attempt(&self, delivery: Claimed) {
        let started = Instant::now();
        let at = Utc::now();
        let outcome = self
            .sink
            .deliver(Delivery {
                document: &delivery.document,
                key: &delivery.key,
                payload: &delivery.payload,
            })
            .await;
        let attempts = delivery.attempts + 1;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (outcome, status, detail, next) = match outcome {
            SendOutcome::Delivered { status, detail } => {
                (AttemptOutcome::Delivered, status, detail, Next::Delivered)
            }
            SendOutcome::Temporary {
                status,
                detail,
                retry_after,
            } => {
                let next = if attempts >= self.retry.max_attempts {
                    Next::DeadLetter {
                        reason: format!(
                            "gave up after {attempts} attempts; the last: {}",
                            one_line(&detail)
                        ),
                    }
                } else {
                    let wait = self.retry.backoff(attempts, retry_after);
                    Next::RetryAt(
                        at + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX),
                    )
                };
                (AttemptOutcome::Temporary, status, detail, next)
            }
            SendOutcome::Permanent { status, detail } => {
                let reason = match status {
                    Some(status) => format!("refused with status {status}: {}", one_line(&detail)),
                    None => format!("refused: {}", one_line(&detail)),
                };
                (
                    AttemptOutcome::Permanent,
                    status,
                    detail,
                    Next::DeadLetter { reason },
                )
            }
        };
        let label = match outcome {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Temporary => "temporary",
            AttemptOutcome::Permanent => "permanent",
        };
        metrics::counter!("tradewire_delivery_attempts_total", "component" => self.name.clone(), "outcome" => label).increment(1);
        let change = self.breaker.observe(outcome, Instant::now());
        match &next {
            Next::Delivered => {
                metrics::counter!("tradewire_documents_delivered_total", "component" => self.name.clone()).increment(1);
                let latency = (Utc::now() - delivery.created_at)
                    .to_std()
                    .unwrap_or_default();
                metrics::histogram!("tradewire_delivery_latency_seconds", "component" => self.name.clone()).record(latency.as_secs_f64());
                self.health.set_ok(&self.name);
            }
            Next::RetryAt(_) => {
                tracing::warn!(sink = %self.name, delivery = delivery.id, attempt = attempts, status, detail = %one_line(&detail), "delivery failed; will retry");
                // A paused sink's health says so (below), not only its last failure.
                if self.breaker.gate(Instant::now()) == Gate::Flowing {
                    self.health.set_failing(&self.name, &one_line(&detail));
                }
            }
            Next::DeadLetter { reason } => {
                metrics::counter!("tradewire_documents_dead_lettered_total", "component" => self.name.clone()).increment(1);
                tracing::error!(sink = %self.name, delivery = delivery.id, %reason, "delivery dead-lettered");
            }
        }
        let last_failure = (change == Some(Change::Tripped)).then(|| one_line(&detail));
        let attempt = Attempt {
            at,
            duration_ms,
            outcome,
            status,
            detail: truncate(detail),
        };
        if let Err(e) = self.store.record(delivery.id, attempt, next).await {
            // The claim ends with its lease and the delivery is attempted again, under the
            // same key: at least once, never lost.
            tracing::error!(sink = %self.name, delivery = delivery.id, error = %e, "cannot record an attempt");
        }
        match change {
            Some(Change::Tripped) => {
                let pause = self.breaker.pause_after(0);
                tracing::warn!(sink = %self.name, failures = TRIP_AFTER, ?pause, "the sink keeps failing: paused, probing it with one delivery at a time");
                metrics::gauge!("tradewire_sink_paused", "component" => self.name.clone()).set(1.0);
                self.health.set_failing(
                    &self.name,
                    &format!(
                        "paused after {TRIP_AFTER} failures in a row; the last: {}",
                        last_failure.unwrap_or_default()
                    ),
                );
            }
            Some(Change::Recovered) => {
                metrics::gauge!("tradewire_sink_paused", "component" => self.name.clone()).set(0.0);
                // What backed off during the outage is due now, not at the end of its backoff.
                match self.store.retry_now(&self.name, Utc::now()).await {
                    Ok(count) => {
                        tracing::info!(sink = %self.name, retried_now = count, "the sink answers again")
                    }
                    Err(e) => {
                        tracing::error!(sink = %self.name, error = %e, "cannot make the backed-off deliveries due")
                    }
                }
            }
            None => {}
        }
    }
}

fn one_line(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    line.trim().to_owned()
}

fn truncate(mut detail: String) -> String {
    if detail.len() > DETAIL_BYTES {
        let mut end = DETAIL_BYTES;
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        detail.truncate(end);
    }
    detail
}

/// Sleeps until `until`, or for ever without one.
async fn sleep_until(until: Option<tokio::time::Instant>) {
    match until {
        Some(until) => tokio::time::sleep_until(until).await,
        None => std::future::pending().await,
    }
}
