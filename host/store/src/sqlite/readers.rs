//! Read connections beside the writer. WAL lets a reader see the last commit while the
//! writer writes the next, so `trace`, `dlq list` and `/metrics` neither wait for a batch
//! nor hold one up.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::Failure;
use crate::StoreError;

pub(super) struct Readers {
    path: Arc<Path>,
    busy_timeout: Duration,
    /// Connections between reads; a read takes one, or opens one when none is idle.
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
}

impl Readers {
    pub(super) fn new(path: Arc<Path>, busy_timeout: Duration, max_idle: usize) -> Self {
        Self {
            path,
            busy_timeout,
            idle: Mutex::new(Vec::new()),
            max_idle,
        }
    }

    /// Runs `work` in one read transaction (one snapshot), on tokio's blocking pool: SQLite
    /// calls block, and the reactor must not.
    pub(super) async fn run<T, W>(self: &Arc<Self>, work: W) -> Result<T, StoreError>
    where
        T: Send + 'static,
        W: FnOnce(&Connection) -> Result<T, Failure> + Send + 'static,
    {
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || readers.read(work))
            .await
            .unwrap_or_else(|error| {
                Err(StoreError::Unavailable(format!(
                    "{}: a read stopped: {error}",
                    self.path.display()
                )))
            })
    }

    fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let connection = match self.take_idle() {
            Some(connection) => connection,
            None => self.open()?,
        };
        let outcome = in_read_transaction(&connection, work);
        self.put_back(connection);
        outcome.map_err(|failure| failure.into_error(&self.path))
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let connection = Connection::open_with_flags(
            &*self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|connection| {
            connection.busy_timeout(self.busy_timeout)?;
            connection.set_prepared_statement_cache_capacity(super::STATEMENT_CACHE);
            connection.pragma_update(None, "query_only", true)?;
            Ok(connection)
        });
        connection.map_err(|error| super::schema::unavailable(&self.path, error))
    }

    fn take_idle(&self) -> Option<Connection> {
        // Nothing panics while the lock is held; a poisoned list is still a list.
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    fn put_back(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push(connection);
        }
    }
}

fn in_read_transaction<T>(
    connection: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, Failure>,
) -> Result<T, Failure> {
    connection.execute_batch("BEGIN")?;
    let outcome = work(connection);
    // A read transaction has nothing to keep: ending it either way lets the WAL be
    // checkpointed past it.
    let ended = connection.execute_batch(if outcome.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    });
    let value = outcome?;
    ended?;
    Ok(value)
}
