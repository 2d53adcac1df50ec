//! The embedded store: SQLite in one file.
//!
//! - WAL, `synchronous = FULL`: a call that returned `Ok` is on the disk.
//! - One writer thread owns the write connection and commits the calls queued while it
//!   was busy in one transaction, each call in its own savepoint ([`SqliteStore::commits`]
//!   counts the transactions).
//! - Reads run on tokio's blocking pool over their own connections, beside the writer.
//! - One runtime per file: [`Access::Exclusive`] holds an advisory lock on `<file>.lock`
//!   and clears every lease at open, since no claim outlives the process that made it.

mod ops;
mod punchout;
mod readers;
mod schema;
mod service;
mod sql;
mod writer;

use std::fmt;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};

use self::readers::Readers;
use self::writer::Writer;
use crate::service::{
    CatalogueEntry, CatalogueKind, NewServiceOrder, Put, PutMode, SalesDocument, ServiceOrder,
    ServiceOrderRef, StoredCustomer, StoredPriceRule, StoredProduct,
};
use crate::{
    Acceptance, Attempt, Claimed, DeadLetter, DeadLetterId, DeadLetterSummary, DeliveryId,
    Incoming, Next, QueueStats, Refusal, Store, StoreError, Timestamp, Trace,
};
use crate::{CartReturn, NewPunchoutSession, PunchoutSessionRecord, SessionLookup};

/// Prepared statements a connection keeps. The writer runs every statement of `sql.rs`,
/// the served webservice's and the punchout sessions'; with rusqlite's default of 16 the
/// least recent were parsed and planned again on each use.
const STATEMENT_CACHE: usize = 128;

pub use self::schema::SCHEMA_VERSION;

/// How a process uses the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// The runtime, which claims and delivers: one process per file. Opening takes the
    /// lock on `<file>.lock` (a second is refused, naming the file), creates the file if
    /// there is none, and clears every lease.
    #[default]
    Exclusive,
    /// A tool beside a running runtime (`tradewire dlq`, `tradewire trace`): no lock, leases
    /// left alone, and an existing file only. It should not claim: the runtime would not
    /// know of its claims.
    Shared,
}

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub access: Access,
    /// How long a statement waits on another process's lock before failing (SQLite's
    /// `busy_timeout`): only a [`Access::Shared`] process writing beside the runtime makes
    /// either wait.
    pub busy_timeout: Duration,
    /// At most this many calls share one transaction.
    pub max_batch: usize,
    /// Under load, how long the writer waits for more calls before it commits (PostgreSQL's
    /// `commit_delay`): more calls per fsync and per page written, for at most this much
    /// more latency. Not waited while calls come one at a time.
    pub commit_delay: Duration,
    /// Read connections kept open between reads.
    pub idle_readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            access: Access::Exclusive,
            busy_timeout: Duration::from_secs(5),
            max_batch: 256,
            commit_delay: Duration::from_micros(500),
            idle_readers: 4,
        }
    }
}

/// The SQLite [`Store`]. Dropping it (or [`SqliteStore::close`]) commits what is queued and
/// stops the writer; the lock goes last.
pub struct SqliteStore {
    readers: Arc<Readers>,
    /// After the readers: the last connection to close checkpoints the WAL into the file.
    writer: Writer,
    path: Arc<Path>,
    /// Last: let go once every connection above is closed.
    _lock: Option<File>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("commits", &self.commits())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the store at `path`, creating it if [`Access::Exclusive`] finds none, and
    /// migrates it to [`SCHEMA_VERSION`]. Refuses a file that is not a Tradewire store, one
    /// written by a newer Tradewire ([`StoreError::Incompatible`]), and one another runtime
    /// has open ([`StoreError::Unavailable`]). Blocks: call it before serving, or on the
    /// blocking pool.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        let path: Arc<Path> = Arc::from(path.as_ref());
        let lock = match options.access {
            Access::Exclusive => Some(lock(&path)?),
            Access::Shared => None,
        };
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if options.access == Access::Exclusive {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let mut connection = Connection::open_with_flags(&*path, flags)
            .and_then(|connection| {
                connection.busy_timeout(options.busy_timeout)?;
                connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                Ok(connection)
            })
            .map_err(|error| schema::unavailable(&path, error))?;
        schema::prepare(&mut connection, &path)?;
        if options.access == Access::Exclusive {
            ops::release_all(&connection).map_err(|error| schema::unavailable(&path, error))?;
        }
        Ok(Self {
            readers: Arc::new(Readers::new(
                Arc::clone(&path),
                options.busy_timeout,
                options.idle_readers,
            )),
            writer: Writer::start(
                connection,
                Arc::clone(&path),
                writer::Batching {
                    max_batch: options.max_batch,
                    commit_delay: options.commit_delay,
                },
            )?,
            path,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many transactions the writer has committed since the store was opened: fewer
    /// than the calls when calls come together.
    pub fn commits(&self) -> u64 {
        self.writer.commits()
    }

    /// Commits what is queued, stops the writer and closes the file, without blocking the
    /// reactor (dropping the store does the same, blocking).
    pub async fn close(mut self) -> Result<(), StoreError> {
        let Some(thread) = self.writer.stop() else {
            return Ok(());
        };
        let joined = tokio::task::spawn_blocking(move || thread.join()).await;
        match joined {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(StoreError::Unavailable(format!(
                "{}: the store's writer stopped abnormally",
                self.path.display()
            ))),
        }
    }
}

/// `<path>.lock`, locked exclusively for as long as the returned file is open: the lock is
/// the operating system's (`flock` on Unix), so a process killed with it is no obstacle.
fn lock(path: &Path) -> Result<File, StoreError> {
    let lock_path = lock_path(path);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|error| {
            StoreError::Unavailable(format!(
                "{}: cannot open its lock file {}: {error}",
                path.display(),
                lock_path.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Unavailable(format!(
            "{} is in use by another Tradewire runtime (it holds {}): one runtime per store file",
            path.display(),
            lock_path.display()
        ))),
        Err(TryLockError::Error(error)) => Err(StoreError::Unavailable(format!(
            "{}: cannot lock {}: {error}",
            path.display(),
            lock_path.display()
        ))),
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    PathBuf::from(lock_path)
}

/// Why a call did not do what was asked.
enum Failure {
    /// SQLite refused or failed: the store is unavailable.
    Sql(rusqlite::Error),
    /// What the store itself wrote reads back wrong.
    Corrupt(String),
    /// The call's own answer ([`StoreError::NoSuchDeadLetter`], ...).
    Answer(StoreError),
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sql(error)
    }
}

impl Failure {
    fn into_error(self, path: &Path) -> StoreError {
        match self {
            Self::Sql(error) => schema::unavailable(path, error),
            Self::Corrupt(what) => StoreError::Unavailable(format!("{}: {what}", path.display())),
            Self::Answer(error) => error,
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn accept(&self, incoming: Incoming) -> Result<Acceptance, StoreError> {
        self.writer
            .run(move |connection| ops::accept(connection, &incoming))
            .await
    }

    async fn refuse(&self, refusal: Refusal) -> Result<DeadLetterId, StoreError> {
        self.writer
            .run(move |connection| ops::refuse(connection, &refusal))
            .await
    }

    async fn claim(
        &self,
        sink: &str,
        limit: usize,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        let sink = sink.to_owned();
        self.writer
            .run(move |connection| ops::claim(connection, &sink, limit, now, lease))
            .await
    }

    async fn record(
        &self,
        delivery: DeliveryId,
        attempt: Attempt,
        next: Next,
    ) -> Result<(), StoreError> {
        self.writer
            .run(move |connection| ops::record(connection, delivery, &attempt, &next))
            .await
    }

    async fn release(&self, deliveries: &[DeliveryId]) -> Result<(), StoreError> {
        let deliveries = deliveries.to_vec();
        self.writer
            .run(move |connection| ops::release(connection, &deliveries))
            .await
    }

    async fn retry_now(&self, sink: &str, now: Timestamp) -> Result<u64, StoreError> {
        let sink = sink.to_owned();
        self.writer
            .run(move |connection| ops::retry_now(connection, &sink, now))
            .await
    }

    async fn next_due(&self, sink: &str) -> Result<Option<Timestamp>, StoreError> {
        let sink = sink.to_owned();
        self.readers
            .run(move |connection| ops::next_due(connection, &sink))
            .await
    }

    async fn queue_stats(&self, sinks: &[String]) -> Result<Vec<QueueStats>, StoreError> {
        let sinks = sinks.to_vec();
        self.readers
            .run(move |connection| ops::queue_stats(connection, &sinks))
            .await
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetterSummary>, StoreError> {
        self.readers.run(ops::dead_letters).await
    }

    async fn dead_letter(&self, id: DeadLetterId) -> Result<Option<DeadLetter>, StoreError> {
        self.readers
            .run(move |connection| ops::dead_letter(connection, id))
            .await
    }

    async fn requeue(&self, id: DeadLetterId) -> Result<(), StoreError> {
        let now = chrono::Utc::now();
        self.writer
            .run(move |connection| ops::requeue(connection, id, now))
            .await
    }

    async fn accept_replayed(
        &self,
        id: DeadLetterId,
        incoming: Incoming,
    ) -> Result<Acceptance, StoreError> {
        self.writer
            .run(move |connection| ops::accept_replayed(connection, id, &incoming))
            .await
    }

    async fn refuse_again(
        &self,
        id: DeadLetterId,
        diagnostics: serde_json::Value,
    ) -> Result<(), StoreError> {
        self.writer
            .run(move |connection| ops::refuse_again(connection, id, &diagnostics))
            .await
    }

    async fn drop_dead_letter(&self, id: DeadLetterId) -> Result<bool, StoreError> {
        self.writer
            .run(move |connection| ops::drop_dead_letter(connection, id))
            .await
    }

    async fn trace(&self, id_or_key: &str) -> Result<Trace, StoreError> {
        let id_or_key = id_or_key.to_owned();
        self.readers
            .run(move |connection| ops::trace(connection, &id_or_key))
            .await
    }

    async fn prune(&self, before: Timestamp, limit: usize) -> Result<u64, StoreError> {
        self.writer
            .run(move |connection| ops::prune(connection, before, limit))
            .await
    }

    // ---- A served webservice's state ----

    async fn service_put_product(
        &self,
        service: &str,
        kind: CatalogueKind,
        sku: &str,
        document: Vec<u8>,
        mode: PutMode,
        at: Timestamp,
    ) -> Result<Put, StoreError> {
        let (service, sku) = (service.to_owned(), sku.to_owned());
        self.writer
            .run(move |connection| {
                service::put_product(connection, &service, kind, &sku, &document, mode, at)
            })
            .await
    }

    async fn service_product(
        &self,
        service: &str,
        kind: CatalogueKind,
        sku: &str,
    ) -> Result<Option<StoredProduct>, StoreError> {
        let (service, sku) = (service.to_owned(), sku.to_owned());
        self.readers
            .run(move |connection| service::product(connection, &service, kind, &sku))
            .await
    }

    async fn service_list_products(
        &self,
        service: &str,
        kind: CatalogueKind,
        offset: u64,
        count: Option<u64>,
    ) -> Result<Vec<CatalogueEntry>, StoreError> {
        let service = service.to_owned();
        self.readers
            .run(move |connection| {
                service::list_products(connection, &service, kind, offset, count)
            })
            .await
    }

    async fn service_add_order(
        &self,
        service: &str,
        order: NewServiceOrder,
    ) -> Result<i64, StoreError> {
        let service = service.to_owned();
        self.writer
            .run(move |connection| service::add_order(connection, &service, &order))
            .await
    }

    async fn service_list_orders(
        &self,
        service: &str,
        states: &[String],
    ) -> Result<Vec<ServiceOrderRef>, StoreError> {
        let (service, states) = (service.to_owned(), states.to_vec());
        self.readers
            .run(move |connection| service::list_orders(connection, &service, &states))
            .await
    }

    async fn service_order(
        &self,
        service: &str,
        id: i64,
    ) -> Result<Option<ServiceOrder>, StoreError> {
        let service = service.to_owned();
        self.readers
            .run(move |connection| service::order(connection, &service, id))
            .await
    }

    async fn service_mark_exported(
        &self,
        service: &str,
        id: i64,
        final_state: Option<&str>,
        at: Timestamp,
    ) -> Result<Option<ServiceOrder>, StoreError> {
        let (service, final_state) = (service.to_owned(), final_state.map(str::to_owned));
        self.writer
            .run(move |connection| {
                service::mark_exported(connection, &service, id, final_state.as_deref(), at)
            })
            .await
    }

    async fn service_add_tracking(
        &self,
        service: &str,
        id: i64,
        number: &str,
        at: Timestamp,
    ) -> Result<Option<ServiceOrder>, StoreError> {
        let (service, number) = (service.to_owned(), number.to_owned());
        self.writer
            .run(move |connection| service::add_tracking(connection, &service, id, &number, at))
            .await
    }

    async fn service_put_customers(
        &self,
        service: &str,
        customers: Vec<(String, Vec<u8>)>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let service = service.to_owned();
        self.writer
            .run(move |connection| service::put_customers(connection, &service, &customers, at))
            .await
    }

    async fn service_list_customers(
        &self,
        service: &str,
        since: Option<Timestamp>,
    ) -> Result<Vec<StoredCustomer>, StoreError> {
        let service = service.to_owned();
        self.readers
            .run(move |connection| service::list_customers(connection, &service, since))
            .await
    }

    async fn service_put_price_rules(
        &self,
        service: &str,
        rules: Vec<(String, Vec<u8>)>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let service = service.to_owned();
        self.writer
            .run(move |connection| service::put_price_rules(connection, &service, &rules, at))
            .await
    }

    async fn service_price_rules(&self, service: &str) -> Result<Vec<StoredPriceRule>, StoreError> {
        let service = service.to_owned();
        self.readers
            .run(move |connection| service::price_rules(connection, &service))
            .await
    }

    async fn service_put_sales_document(
        &self,
        service: &str,
        document: SalesDocument,
    ) -> Result<(), StoreError> {
        let service = service.to_owned();
        self.writer
            .run(move |connection| service::put_sales_document(connection, &service, &document))
            .await
    }

    async fn service_sales_document(
        &self,
        service: &str,
        reference: &str,
    ) -> Result<Option<SalesDocument>, StoreError> {
        let (service, reference) = (service.to_owned(), reference.to_owned());
        self.readers
            .run(move |connection| service::sales_document(connection, &service, &reference))
            .await
    }

    // Punchout sessions (the `oci_gateway` service).

    async fn open_punchout_session(&self, session: NewPunchoutSession) -> Result<(), StoreError> {
        self.writer
            .run(move |connection| punchout::open_session(connection, &session))
            .await
    }

    async fn punchout_session(
        &self,
        lookup: SessionLookup,
    ) -> Result<Option<PunchoutSessionRecord>, StoreError> {
        self.readers
            .run(move |connection| punchout::session(connection, &lookup))
            .await
    }

    async fn punchout_sessions(
        &self,
        limit: usize,
    ) -> Result<Vec<PunchoutSessionRecord>, StoreError> {
        self.readers
            .run(move |connection| punchout::sessions(connection, limit))
            .await
    }

    async fn return_punchout_cart(
        &self,
        token_hash: &str,
        cart: Incoming,
        now: Timestamp,
    ) -> Result<CartReturn, StoreError> {
        let token_hash = token_hash.to_owned();
        self.writer
            .run(move |connection| punchout::return_cart(connection, &token_hash, &cart, now))
            .await
    }

    async fn prune_punchout_sessions(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        self.writer
            .run(move |connection| punchout::prune_sessions(connection, before, limit))
            .await
    }
}
