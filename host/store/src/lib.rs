//! What the runtime has acknowledged, kept until every sink has it.
//!
//! A source acknowledges a document only after [`Store::accept`] has committed it together
//! with one delivery per sink it is routed to; each sink then claims its deliveries from
//! here, records every attempt, and ends each delivery delivered or dead-lettered. Input
//! that was refused is kept too ([`Store::refuse`]), with its raw bytes, until it is
//! replayed or dropped.
//!
//! [`Store`] is the contract; [`conformance`] is the suite every implementation must pass;
//! [`sqlite`] is the embedded default (one file, WAL, `synchronous = FULL`, one writer
//! committing concurrent documents together).

pub mod conformance;
pub mod punchout;
pub mod service;
pub mod sqlite;

pub use punchout::{
    CartReturn, NewPunchoutSession, PunchoutSessionRecord, ReturnedCart, SessionLookup,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use service::{
    CatalogueEntry, CatalogueKind, NewServiceOrder, Put, PutMode, SalesDocument, ServiceOrder,
    ServiceOrderRef, StoredCustomer, StoredPriceRule, StoredProduct,
};

/// A point in time. Stores keep timestamps to the millisecond (the SQLite store keeps
/// integer milliseconds): what is read back is what was written, truncated to the
/// millisecond.
pub type Timestamp = DateTime<Utc>;

/// A delivery's row id. Dead letters have their own ids ([`DeadLetterId`]).
pub type DeliveryId = i64;

/// A dead letter's id, as `tradewire dlq` shows it. Never reused, so that an operator's
/// `dlq drop 7` cannot reach a later letter.
pub type DeadLetterId = i64;

/// A document a source has decoded and transformed, with what it is to become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Chosen by the runtime (a UUIDv7), so that the reply can name it before the commit.
    pub id: String,
    /// The source's component name.
    pub source: String,
    /// The idempotency key (the request's `Idempotency-Key`, else the adapter's key path),
    /// unique per source among accepted documents.
    pub key: Option<String>,
    /// A digest of the raw input: the same key with another digest is a conflict.
    pub content_hash: String,
    pub received_at: Timestamp,
    /// The bytes as received.
    pub raw: Vec<u8>,
    /// What the transport said about them (content type, the headers kept), as JSON.
    pub context: serde_json::Value,
    /// What the source answered, kept so that a repeat is answered the same.
    pub reply: Reply,
    /// One per sink the document is routed to. Never empty: a document that reaches no sink
    /// is refused, not acknowledged.
    pub deliveries: Vec<NewDelivery>,
}

/// A source's answer to an accepted input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub sink: String,
    /// Sent as the `Idempotency-Key` of every attempt, retries and replays alike.
    pub key: String,
    /// The canonical document as it reaches this sink (JSON, `contract` first).
    pub payload: Vec<u8>,
}

/// What [`Store::accept`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptance {
    /// Committed, with its deliveries.
    Accepted,
    /// The source already accepted this key with this content: nothing was written; answer
    /// with the first reply.
    Duplicate { id: String, reply: Reply },
    /// The source already accepted this key with other content: nothing was written.
    Conflict { id: String },
}

/// Input a source could not accept, kept with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub source: String,
    pub key: Option<String>,
    pub received_at: Timestamp,
    pub raw: Vec<u8>,
    pub context: serde_json::Value,
    /// The diagnostics, as the source answered them (JSON array).
    pub diagnostics: serde_json::Value,
}

/// A delivery a sink has claimed: no other claim returns it until it is recorded, released,
/// or its lease ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: DeliveryId,
    pub document: String,
    pub sink: String,
    pub key: String,
    pub payload: Vec<u8>,
    /// Attempts recorded so far.
    pub attempts: u32,
    /// When the delivery was created: its document's `received_at`.
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Delivered,
    /// Worth retrying: a connection error, a timeout, 408, 425, 429, 5xx.
    Temporary,
    /// Not worth retrying: another 4xx, an encode refusal, an adapter failure.
    Permanent,
}

/// One try at a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub at: Timestamp,
    pub duration_ms: u64,
    pub outcome: AttemptOutcome,
    /// The response's status, when there was a response.
    pub status: Option<u16>,
    /// The response's first bytes, or the error.
    pub detail: String,
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Delivered,
    RetryAt(Timestamp),
    DeadLetter { reason: String },
}

/// How a sink's queue stands, for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    pub sink: String,
    pub pending: u64,
    pub oldest_pending_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterSummary {
    pub id: DeadLetterId,
    pub created_at: Timestamp,
    /// `refused` (input a source could not accept) or `undeliverable`.
    pub kind: DeadLetterKind,
    /// The source (refused) or the sink (undeliverable).
    pub component: String,
    /// The document whose delivery was given up (undeliverable).
    pub document: Option<String>,
    /// The input's idempotency key (refused), or the document's (undeliverable): the key
    /// `trace` finds it by. A delivery's own key is in [`DeliveryTrace::key`].
    pub key: Option<String>,
    /// One line: the first diagnostic, or why the delivery was given up.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterKind {
    Refused,
    Undeliverable,
}

/// A dead letter whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub summary: DeadLetterSummary,
    /// Refused: the raw input and its transport context, and the diagnostics.
    pub raw: Option<Vec<u8>>,
    pub context: Option<serde_json::Value>,
    pub diagnostics: Option<serde_json::Value>,
    /// Undeliverable: the delivery, with every attempt.
    pub delivery: Option<DeliveryTrace>,
}

/// One document's story, for `tradewire trace`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentTrace {
    pub id: String,
    pub source: String,
    pub key: Option<String>,
    pub received_at: Timestamp,
    pub raw: Vec<u8>,
    pub context: serde_json::Value,
    pub deliveries: Vec<DeliveryTrace>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryTrace {
    pub id: DeliveryId,
    pub sink: String,
    pub key: String,
    pub state: DeliveryState,
    pub payload: Vec<u8>,
    pub attempts: Vec<Attempt>,
    pub next_attempt_at: Option<Timestamp>,
    pub dead_letter: Option<DeadLetterId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Dead,
}

/// What `trace` found for an id or key: accepted documents and refused inputs alike.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    pub documents: Vec<DocumentTrace>,
    pub refusals: Vec<DeadLetter>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The store could not be read or written (I/O, corruption, a full disk): nothing
    /// asked of it was done.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A file written by a newer Tradewire, or not a store at all.
    #[error("incompatible store: {0}")]
    Incompatible(String),
    #[error("no dead letter {0}")]
    NoSuchDeadLetter(DeadLetterId),
    /// [`Store::record`] of a delivery the store does not have.
    #[error("no delivery {0}")]
    NoSuchDelivery(DeliveryId),
    /// A dead letter of the other kind than the call handles.
    #[error("dead letter {id} is {kind:?}")]
    WrongKind {
        id: DeadLetterId,
        kind: DeadLetterKind,
    },
}

/// Where the runtime keeps what it acknowledged. Every method is one transaction: it happens
/// whole or not at all, and once it returns `Ok` it survives a crash of the process (and,
/// for the SQLite store, of the machine). A call whose future is dropped before it returns
/// may still have happened.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Commits a document with its deliveries, unless the source already accepted its key
    /// (see [`Acceptance`]).
    async fn accept(&self, incoming: Incoming) -> Result<Acceptance, StoreError>;

    /// Keeps refused input as a dead letter.
    async fn refuse(&self, refusal: Refusal) -> Result<DeadLetterId, StoreError>;

    /// Claims up to `limit` of `sink`'s pending deliveries that are due at `now`, oldest due
    /// first, for `lease`: until then no other claim returns them.
    async fn claim(
        &self,
        sink: &str,
        limit: usize,
        now: Timestamp,
        lease: std::time::Duration,
    ) -> Result<Vec<Claimed>, StoreError>;

    /// Records an attempt at a claimed delivery and what becomes of it; ends the claim. A
    /// dead letter is created for [`Next::DeadLetter`].
    ///
    /// The attempt is always kept. `next` applies only while the delivery is pending: once
    /// it has ended delivered or dead (another claim after this one's lease ran out ended
    /// it first), the first end stands.
    async fn record(
        &self,
        delivery: DeliveryId,
        attempt: Attempt,
        next: Next,
    ) -> Result<(), StoreError>;

    /// Ends claims without an attempt (a sink stopping): the deliveries are due again at once.
    /// Deliveries that have ended, or that the store does not have, are left as they are.
    async fn release(&self, deliveries: &[DeliveryId]) -> Result<(), StoreError>;

    /// Makes `sink`'s pending deliveries that wait for a later attempt due at `now` (claimed
    /// ones are left to their claim): a sink that answers again need not wait out the
    /// backoff its outage piled up. Returns how many.
    async fn retry_now(&self, sink: &str, now: Timestamp) -> Result<u64, StoreError>;

    /// When a claim for `sink` would next return something, if it has pending deliveries: the
    /// earliest due time of those unclaimed, or the earliest end of a lease if that comes
    /// first (a claim whose lease ends unrecorded is claimable again).
    async fn next_due(&self, sink: &str) -> Result<Option<Timestamp>, StoreError>;

    /// Every sink with pending deliveries, and sinks named in `sinks` even when empty, by
    /// sink name. Claimed deliveries are pending until recorded; the oldest is by creation
    /// (the document's `received_at`).
    async fn queue_stats(&self, sinks: &[String]) -> Result<Vec<QueueStats>, StoreError>;

    /// Every dead letter, oldest first.
    async fn dead_letters(&self) -> Result<Vec<DeadLetterSummary>, StoreError>;

    async fn dead_letter(&self, id: DeadLetterId) -> Result<Option<DeadLetter>, StoreError>;

    /// Replays an undeliverable dead letter: its delivery is pending again, due now, with
    /// the same key and its attempts kept; the dead letter is gone. [`StoreError::WrongKind`]
    /// for a refused one.
    async fn requeue(&self, id: DeadLetterId) -> Result<(), StoreError>;

    /// Replays a refused dead letter that now passes: accepts `incoming` and removes the dead
    /// letter in one transaction (a conflict or duplicate leaves the dead letter in place).
    /// [`StoreError::WrongKind`] for an undeliverable one.
    async fn accept_replayed(
        &self,
        id: DeadLetterId,
        incoming: Incoming,
    ) -> Result<Acceptance, StoreError>;

    /// Replaces a refused dead letter's diagnostics (and so its reason) after a replay was
    /// refused again.
    async fn refuse_again(
        &self,
        id: DeadLetterId,
        diagnostics: serde_json::Value,
    ) -> Result<(), StoreError>;

    /// Drops a dead letter of either kind. An undeliverable one's delivery stays dead and is
    /// pruned with its document. Returns whether there was one.
    async fn drop_dead_letter(&self, id: DeadLetterId) -> Result<bool, StoreError>;

    /// Documents whose id or key is `id_or_key`, and refused inputs with that key.
    async fn trace(&self, id_or_key: &str) -> Result<Trace, StoreError>;

    /// Deletes up to `limit` documents received before `before` whose deliveries have all
    /// ended delivered, or dead with their dead letter dropped, oldest first. Returns how
    /// many. The limit keeps one call short: a writer held by a prune holds every commit.
    async fn prune(&self, before: Timestamp, limit: usize) -> Result<u64, StoreError>;

    // ---- A served webservice's state (the `econnecteur` service; see [`service`]) ----
    //
    // Every call names its service: services sharing a store never see each other's rows.

    /// Writes a catalogue entry of `kind` under `sku`, as `mode` allows (see [`Put`]). A new
    /// entry gets the next id; an updated one keeps its id and its place in lists.
    async fn service_put_product(
        &self,
        service: &str,
        kind: CatalogueKind,
        sku: &str,
        document: Vec<u8>,
        mode: PutMode,
        at: Timestamp,
    ) -> Result<Put, StoreError>;

    /// The catalogue entry of `kind` under `sku`.
    async fn service_product(
        &self,
        service: &str,
        kind: CatalogueKind,
        sku: &str,
    ) -> Result<Option<StoredProduct>, StoreError>;

    /// Entries of `kind` by id (the order they were added in): `count` of them (all
    /// without), after skipping `offset`.
    async fn service_list_products(
        &self,
        service: &str,
        kind: CatalogueKind,
        offset: u64,
        count: Option<u64>,
    ) -> Result<Vec<CatalogueEntry>, StoreError>;

    /// Adds an order to wait for the ERP, once per document: the same document again
    /// returns the id it got the first time and changes nothing.
    async fn service_add_order(
        &self,
        service: &str,
        order: NewServiceOrder,
    ) -> Result<i64, StoreError>;

    /// The orders waiting (not yet marked exported), by id; only those in `states` unless
    /// it is empty.
    async fn service_list_orders(
        &self,
        service: &str,
        states: &[String],
    ) -> Result<Vec<ServiceOrderRef>, StoreError>;

    /// One order, waiting or exported.
    async fn service_order(
        &self,
        service: &str,
        id: i64,
    ) -> Result<Option<ServiceOrder>, StoreError>;

    /// Marks an order exported (it is listed no more), moving it to `final_state` when
    /// given. Returns the order as it now is, `None` when the service has no such order.
    /// Marking an exported order again changes only its state.
    async fn service_mark_exported(
        &self,
        service: &str,
        id: i64,
        final_state: Option<&str>,
        at: Timestamp,
    ) -> Result<Option<ServiceOrder>, StoreError>;

    /// Adds a tracking number to an order (one the order has already is not added
    /// twice). Returns the order as it now is, `None` when the service has no such order.
    async fn service_add_tracking(
        &self,
        service: &str,
        id: i64,
        number: &str,
        at: Timestamp,
    ) -> Result<Option<ServiceOrder>, StoreError>;

    /// Creates or replaces customers by id, all in one transaction; each is dated `at`.
    async fn service_put_customers(
        &self,
        service: &str,
        customers: Vec<(String, Vec<u8>)>,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Customers written at or after `since` (all without), oldest write first.
    async fn service_list_customers(
        &self,
        service: &str,
        since: Option<Timestamp>,
    ) -> Result<Vec<StoredCustomer>, StoreError>;

    /// Creates or replaces price rules by key, all in one transaction.
    async fn service_put_price_rules(
        &self,
        service: &str,
        rules: Vec<(String, Vec<u8>)>,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Every price rule of the service, by key.
    async fn service_price_rules(&self, service: &str) -> Result<Vec<StoredPriceRule>, StoreError>;

    /// Keeps an ERP's sales document, replacing one of the same reference.
    async fn service_put_sales_document(
        &self,
        service: &str,
        document: SalesDocument,
    ) -> Result<(), StoreError>;

    /// The sales document of that reference, with its PDF.
    async fn service_sales_document(
        &self,
        service: &str,
        reference: &str,
    ) -> Result<Option<SalesDocument>, StoreError>;
    // Punchout sessions (the `oci_gateway` service).

    /// Keeps a session a login opened. Its id and token digest are new (the caller draws
    /// them at random).
    async fn open_punchout_session(&self, session: NewPunchoutSession) -> Result<(), StoreError>;

    /// The session with this id or token digest, expired or not.
    async fn punchout_session(
        &self,
        lookup: SessionLookup,
    ) -> Result<Option<PunchoutSessionRecord>, StoreError>;

    /// Up to `limit` sessions, the newest first.
    async fn punchout_sessions(
        &self,
        limit: usize,
    ) -> Result<Vec<PunchoutSessionRecord>, StoreError>;

    /// Returns a session's cart, once: in one transaction, unless the session with this
    /// token digest is unknown, has expired at `now`, or returned a cart before, `cart` is
    /// accepted as by [`Store::accept`] and, when accepted, recorded as the session's with
    /// its reply (the page the browser is answered with, now and on any later return).
    async fn return_punchout_cart(
        &self,
        token_hash: &str,
        cart: Incoming,
        now: Timestamp,
    ) -> Result<CartReturn, StoreError>;

    /// Deletes up to `limit` sessions that expired before `before`, oldest first; their
    /// carts stay, as documents. Returns how many.
    async fn prune_punchout_sessions(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError>;
}

/// The one-line reason a refused dead letter is listed with: its first diagnostic (as
/// `tradewire_core::Diagnostic` displays), or the first entry as JSON when it is not one.
/// Every store derives it with this function, so `dlq list` reads the same over any of them.
pub fn refusal_reason(diagnostics: &serde_json::Value) -> String {
    let first = match diagnostics.as_array().map(|all| all.first()) {
        Some(Some(first)) => first,
        Some(None) => return "refused with no diagnostics".to_owned(),
        None => diagnostics,
    };
    match tradewire_core::Diagnostic::deserialize(first) {
        Ok(diagnostic) => one_line(&diagnostic.to_string()),
        Err(_) => one_line(&first.to_string()),
    }
}

/// `text` with each run of line breaks and the blanks around them made one space, so that
/// a reason fits on its line of `tradewire dlq list`.
pub fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    for (index, part) in text
        .lines()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .enumerate()
    {
        if index > 0 {
            line.push(' ');
        }
        line.push_str(part);
    }
    line
}
