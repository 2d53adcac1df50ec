//! The file's layout, and what opening a file checks and migrates.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use crate::StoreError;

/// `PRAGMA application_id` of a Tradewire store ("TWST"), so that a SQLite file of another
/// application is told apart from an empty one (`file(1)` shows it too).
const APPLICATION_ID: i32 = 0x5457_5354;

/// One entry per schema version, applied in order: version `n` is `MIGRATIONS[..n]`. An
/// entry is never edited once released; a change is a new entry.
const MIGRATIONS: &[&str] = &[V1, V2_SERVICE_STATE, V3_PUNCHOUT_SESSIONS];

/// The schema version this build writes, kept in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Timestamps are integer milliseconds since 1970 (UTC). Tables are STRICT: a value of the
/// wrong type is refused by SQLite rather than stored.
const V1: &str = "
CREATE TABLE documents (
    id TEXT PRIMARY KEY NOT NULL,
    source TEXT NOT NULL,
    key TEXT,
    content_hash TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    raw BLOB NOT NULL,
    context TEXT NOT NULL,
    reply_status INTEGER NOT NULL,
    reply_content_type TEXT NOT NULL,
    reply_body BLOB NOT NULL
) STRICT;
-- The idempotency key: one accepted document per source and key. Refusals hold none.
CREATE UNIQUE INDEX documents_by_source_key ON documents (source, key) WHERE key IS NOT NULL;
-- trace by key, whatever the source.
CREATE INDEX documents_by_key ON documents (key) WHERE key IS NOT NULL;
-- prune by age.
CREATE INDEX documents_by_received_at ON documents (received_at);

-- AUTOINCREMENT: an id is never reused after a prune, so a late record of a pruned delivery
-- cannot land on another.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    sink TEXT NOT NULL,
    key TEXT NOT NULL,
    payload BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    -- When it is due; set exactly while pending.
    next_attempt_at INTEGER CHECK ((state = 'pending') = (next_attempt_at IS NOT NULL)),
    -- When its claim ends; set only while claimed.
    lease_until INTEGER CHECK (lease_until IS NULL OR state = 'pending')
) STRICT;
-- claim (sink, due, oldest due first) and next_due among the unclaimed.
CREATE INDEX deliveries_due ON deliveries (sink, next_attempt_at) WHERE state = 'pending';
-- next_due among the claimed, and clearing every lease at open.
CREATE INDEX deliveries_leased ON deliveries (sink, lease_until) WHERE lease_until IS NOT NULL;
-- queue_stats: how many are pending per sink, and the oldest.
CREATE INDEX deliveries_pending_by_age ON deliveries (sink, created_at) WHERE state = 'pending';
-- trace and prune, from a document to its deliveries.
CREATE INDEX deliveries_by_document ON deliveries (document);

CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    delivery INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'temporary', 'permanent')),
    status INTEGER,
    detail TEXT NOT NULL
) STRICT;
CREATE INDEX attempts_by_delivery ON attempts (delivery);

-- AUTOINCREMENT: `tradewire dlq drop 7` must never reach a later letter that took 7.
-- A refused letter holds the input; an undeliverable one points at its delivery, which a
-- prune leaves alone while the letter lives (no ON DELETE: deleting it fails).
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('refused', 'undeliverable')),
    created_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    source TEXT,
    key TEXT,
    raw BLOB,
    context TEXT,
    diagnostics TEXT,
    delivery INTEGER UNIQUE REFERENCES deliveries (id),
    CHECK (CASE kind
        WHEN 'refused' THEN source IS NOT NULL AND raw IS NOT NULL AND context IS NOT NULL
            AND diagnostics IS NOT NULL AND delivery IS NULL
        ELSE delivery IS NOT NULL AND source IS NULL AND key IS NULL AND raw IS NULL
            AND context IS NULL AND diagnostics IS NULL
    END)
) STRICT;
-- trace: refused inputs by key.
CREATE INDEX dead_letters_refused_by_key ON dead_letters (key) WHERE kind = 'refused';
";

/// A served webservice's state (the `econnecteur` service). Documents are canonical JSON.
const V2_SERVICE_STATE: &str = "
-- The catalogue. `id` is the service's id for an entry and the order of lists: a new
-- entry comes after every other, so it never shifts a page already read.
CREATE TABLE service_products (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('product', 'option')),
    sku TEXT NOT NULL,
    document BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX service_products_by_sku ON service_products (service, kind, sku);
CREATE INDEX service_products_in_order ON service_products (service, kind, id);

-- Orders for the ERP. `id` is e-connecteur's order id; one per routed document.
CREATE TABLE service_orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    document TEXT NOT NULL,
    state TEXT NOT NULL,
    document_json BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    exported_at INTEGER
) STRICT;
CREATE UNIQUE INDEX service_orders_by_document ON service_orders (service, document);
-- orders_list: the waiting ones only, by state.
CREATE INDEX service_orders_waiting ON service_orders (service, state, id)
    WHERE exported_at IS NULL;
CREATE INDEX service_orders_waiting_in_order ON service_orders (service, id)
    WHERE exported_at IS NULL;

CREATE TABLE service_tracking (
    order_id INTEGER NOT NULL REFERENCES service_orders (id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (order_id, number)
) STRICT;

CREATE TABLE service_customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    customer TEXT NOT NULL,
    document BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX service_customers_by_id ON service_customers (service, customer);
-- customers_list by date.
CREATE INDEX service_customers_by_date ON service_customers (service, updated_at, id);

CREATE TABLE service_price_rules (
    service TEXT NOT NULL,
    key TEXT NOT NULL,
    document BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (service, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE service_sales_documents (
    service TEXT NOT NULL,
    reference TEXT NOT NULL,
    document BLOB NOT NULL,
    pdf BLOB,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (service, reference)
) STRICT;
";

/// Punchout sessions (the `oci_gateway` service). The token is kept as its digest only.
/// `cart_document` has no foreign key: documents are pruned on their own schedule, and a
/// session still says it returned its cart.
const V3_PUNCHOUT_SESSIONS: &str = "
CREATE TABLE punchout_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    service TEXT NOT NULL,
    account TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    fields TEXT NOT NULL,
    cart_document TEXT,
    cart_returned_at INTEGER,
    page_status INTEGER,
    page_content_type TEXT,
    page_body BLOB,
    CHECK ((cart_document IS NULL) = (cart_returned_at IS NULL)
        AND (cart_document IS NULL) = (page_status IS NULL)
        AND (cart_document IS NULL) = (page_content_type IS NULL)
        AND (cart_document IS NULL) = (page_body IS NULL))
) STRICT;
-- sessions list, newest first.
CREATE INDEX punchout_sessions_by_created_at ON punchout_sessions (created_at);
-- prune by expiry.
CREATE INDEX punchout_sessions_by_expires_at ON punchout_sessions (expires_at);
";

/// Checks that the file at `path` is a Tradewire store this build can use (or an empty file
/// to make one), sets the connection up as the writer's, and migrates the schema to
/// [`SCHEMA_VERSION`].
pub(super) fn prepare(connection: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found = read_header(connection).map_err(|error| header_error(path, error))?;
    found.check(path)?;

    let journal_mode: String = connection
        .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
        .map_err(|error| unavailable(path, error))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!(
            "{}: SQLite cannot keep this file in WAL mode (it stays in {journal_mode} mode)",
            path.display()
        )));
    }
    // FULL: a commit is on the disk (the WAL fsynced) before the call returns. Orders are
    // money; NORMAL would lose the last commits on a power cut.
    // The writer's page cache: 16 MiB (SQLite's default is 2) keeps the inner pages of
    // every index of a store of millions of documents in memory, so an insert reads none
    // from the file (measured: BENCHMARKS.md part two, measure 4).
    // temp_store MEMORY keeps the sub-journal of each call's savepoint (the pages it
    // changed, as they were) in memory: on file, a batch of many calls spilled it past
    // 64 KiB into a temporary file, a write system call per page.
    connection
        .pragma_update(None, "synchronous", "FULL")
        .and_then(|()| connection.pragma_update(None, "foreign_keys", true))
        .and_then(|()| connection.pragma_update(None, "cache_size", -16_384))
        .and_then(|()| connection.pragma_update(None, "temp_store", "MEMORY"))
        .map_err(|error| unavailable(path, error))?;

    migrate(connection).map_err(|error| unavailable(path, error))
}

/// What a file says it is, before anything is written to it.
struct Header {
    application_id: i32,
    version: i64,
    has_tables: bool,
}

impl Header {
    fn check(&self, path: &Path) -> Result<(), StoreError> {
        let empty = self.application_id == 0 && !self.has_tables;
        if self.application_id != APPLICATION_ID && !empty {
            return Err(StoreError::Incompatible(format!(
                "{} is a SQLite database of another application, not a Tradewire store",
                path.display()
            )));
        }
        if self.version < 0 {
            return Err(StoreError::Incompatible(format!(
                "{} has no valid store schema version ({})",
                path.display(),
                self.version
            )));
        }
        if self.version > SCHEMA_VERSION {
            return Err(StoreError::Incompatible(format!(
                "{} was written by a newer Tradewire (store schema {}; this one knows up to {})",
                path.display(),
                self.version,
                SCHEMA_VERSION
            )));
        }
        Ok(())
    }
}

fn read_header(connection: &Connection) -> rusqlite::Result<Header> {
    Ok(Header {
        application_id: connection.pragma_query_value(None, "application_id", |row| row.get(0))?,
        version: connection.pragma_query_value(None, "user_version", |row| row.get(0))?,
        has_tables: connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema)",
            [],
            |row| row.get(0),
        )?,
    })
}

/// The first read of a file is where one that is not SQLite at all shows itself.
fn header_error(path: &Path, error: rusqlite::Error) -> StoreError {
    if error.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
        StoreError::Incompatible(format!(
            "{} is not a Tradewire store: it is not a SQLite database",
            path.display()
        ))
    } else {
        unavailable(path, error)
    }
}

/// Applies the migrations the file lacks, all in one transaction. The version is read again
/// inside it: another process (`tradewire dlq` beside the runtime) may have migrated first.
fn migrate(connection: &mut Connection) -> rusqlite::Result<()> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let missing = usize::try_from(version).map_or(&[][..], |applied| {
        MIGRATIONS.get(applied..).unwrap_or_default()
    });
    if missing.is_empty() {
        return transaction.commit();
    }
    for migration in missing {
        transaction.execute_batch(migration)?;
    }
    transaction.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    transaction.pragma_update(None, "application_id", APPLICATION_ID)?;
    transaction.commit()
}

pub(super) fn unavailable(path: &Path, error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("{}: {error}", path.display()))
}

/// The current schema on `connection`, for the tests that read query plans.
#[cfg(test)]
pub(super) fn create_for_test(connection: &Connection) {
    for migration in MIGRATIONS {
        connection.execute_batch(migration).unwrap();
    }
}

/// A store file of schema `version` (older than this build's), for the tests that migrate.
#[cfg(test)]
pub(super) fn create_version_for_test(connection: &Connection, version: usize) {
    for migration in &MIGRATIONS[..version] {
        connection.execute_batch(migration).unwrap();
    }
    connection
        .pragma_update(None, "user_version", version as i64)
        .unwrap();
    connection
        .pragma_update(None, "application_id", APPLICATION_ID)
        .unwrap();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{SubsecRound, Utc};
    use rusqlite::Connection;

    use super::{APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION};
    use crate::Store;
    use crate::service::{CatalogueKind, Put, PutMode};
    use crate::sqlite::{SqliteOptions, SqliteStore};

    /// A store file of schema 1 (before the served webservice's tables), with one document
    /// in it, opens as the current schema with the document kept.
    #[tokio::test]
    async fn a_store_of_schema_1_is_upgraded_in_place() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("old.db");
        {
            let connection = Connection::open(&path).unwrap();
            connection.execute_batch(MIGRATIONS[0]).unwrap();
            connection.pragma_update(None, "user_version", 1).unwrap();
            connection
                .pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            connection
                .execute(
                    "INSERT INTO documents (id, source, key, content_hash, received_at, raw,
                        context, reply_status, reply_content_type, reply_body)
                     VALUES ('doc-1', 'web', 'order-1', 'h', 0, x'7b7d', '{}', 202,
                        'application/json', x'7b7d')",
                    [],
                )
                .unwrap();
        }
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        let trace = store.trace("order-1").await.unwrap();
        assert_eq!(trace.documents.len(), 1, "the old document is kept");
        let at = Utc::now().trunc_subsecs(3);
        let put = store
            .service_put_product(
                "erp",
                CatalogueKind::Product,
                "A-1",
                b"{}".to_vec(),
                PutMode::Add,
                at,
            )
            .await
            .unwrap();
        assert!(matches!(put, Put::Done { .. }));
        store.close().await.unwrap();
        let connection = Connection::open(&path).unwrap();
        let version: i64 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }
}
