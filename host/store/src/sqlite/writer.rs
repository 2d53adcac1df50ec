//! The one writer: a thread that owns the write connection and commits the calls queued
//! while it was busy together, one transaction (one fsync) for many.
//!
//! Each call runs in its own savepoint of the shared transaction, so that one call's failure
//! undoes only that call. The callers are answered only once the transaction has committed:
//! an `Ok` is on the disk.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::Failure;
use crate::StoreError;

pub(super) struct Writer {
    /// `None` once stopping: the thread drains what is queued, then ends.
    calls: Option<mpsc::Sender<Box<dyn Call>>>,
    thread: Option<JoinHandle<()>>,
    commits: Arc<AtomicU64>,
    path: Arc<Path>,
}

impl Writer {
    /// Starts the writer thread on `connection`; it takes at most `batching.max_batch` calls
    /// into one transaction.
    pub(super) fn start(
        connection: Connection,
        path: Arc<Path>,
        batching: Batching,
    ) -> Result<Self, StoreError> {
        let (calls, queue) = mpsc::channel();
        let commits = Arc::new(AtomicU64::new(0));
        let thread = std::thread::Builder::new()
            .name("tradewire-store-writer".to_owned())
            .spawn({
                let commits = Arc::clone(&commits);
                let path = Arc::clone(&path);
                move || write_until_closed(&connection, &queue, batching, &commits, &path)
            })
            .map_err(|error| {
                StoreError::Unavailable(format!(
                    "{}: cannot start the writer thread: {error}",
                    path.display()
                ))
            })?;
        Ok(Self {
            calls: Some(calls),
            thread: Some(thread),
            commits,
            path,
        })
    }

    /// Queues `work` for the next transaction at once; the future answers once that
    /// transaction has committed.
    pub(super) fn run<T, W>(
        &self,
        work: W,
    ) -> impl Future<Output = Result<T, StoreError>> + Send + 'static
    where
        T: Send + 'static,
        W: FnOnce(&Connection) -> Result<T, Failure> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let call = Box::new(Queued {
            work: Some(work),
            outcome: None,
            reply,
        });
        let queued = self
            .calls
            .as_ref()
            .is_some_and(|calls| calls.send(call).is_ok());
        let path = Arc::clone(&self.path);
        async move {
            if !queued {
                return Err(stopped(&path));
            }
            answer.await.unwrap_or_else(|_| Err(stopped(&path)))
        }
    }

    /// How many transactions the writer has committed since the store was opened.
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Stops taking calls; the thread ends once it has committed what was queued. Returns the
    /// thread to join, the first time.
    pub(super) fn stop(&mut self) -> Option<JoinHandle<()>> {
        self.calls = None;
        self.thread.take()
    }
}

fn stopped(path: &Path) -> StoreError {
    StoreError::Unavailable(format!(
        "{}: the store's writer has stopped",
        path.display()
    ))
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(thread) = self.stop() {
            // A panic there has been reported by the hook already; nothing is left to undo.
            let _ = thread.join();
        }
    }
}

/// A call waiting for the writer: its work, then its answer once the transaction is settled.
trait Call: Send {
    /// Runs the work in its own savepoint; returns its error, if it failed.
    fn run(&mut self, connection: &Connection, path: &Path) -> Option<StoreError>;

    /// Answers the caller: the work's outcome if the transaction committed, else why not.
    fn answer(self: Box<Self>, settled: Result<(), &StoreError>);
}

struct Queued<T, W> {
    work: Option<W>,
    outcome: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, W> Call for Queued<T, W>
where
    T: Send,
    W: FnOnce(&Connection) -> Result<T, Failure> + Send,
{
    fn run(&mut self, connection: &Connection, path: &Path) -> Option<StoreError> {
        let work = self.work.take()?;
        let outcome = in_savepoint(connection, work).map_err(|failure| failure.into_error(path));
        let error = outcome.as_ref().err().cloned();
        self.outcome = Some(outcome);
        error
    }

    fn answer(self: Box<Self>, settled: Result<(), &StoreError>) {
        let answer = match (self.outcome, settled) {
            // The call's own failure says more than the transaction's.
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(error)) => Err(error.clone()),
            (None, Ok(())) => Err(StoreError::Unavailable(
                "the store's writer committed without running this call".to_owned(),
            )),
        };
        // The caller may have gone (its future dropped); what was done stays done.
        let _ = self.reply.send(answer);
    }
}

fn in_savepoint<T>(
    connection: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, Failure>,
) -> Result<T, Failure> {
    // Prepared once and kept: a writer runs two of these per call.
    connection.prepare_cached("SAVEPOINT call")?.execute([])?;
    match work(connection) {
        Ok(value) => {
            connection.prepare_cached("RELEASE call")?.execute([])?;
            Ok(value)
        }
        Err(failure) => {
            // SQLite may have rolled the whole transaction back already (a full disk); then
            // there is no savepoint left to return to, and the batch sees it.
            if !connection.is_autocommit() {
                connection.execute_batch("ROLLBACK TO call; RELEASE call")?;
            }
            Err(failure)
        }
    }
}

/// How the writer gathers calls into one transaction.
#[derive(Debug, Clone, Copy)]
pub(super) struct Batching {
    pub max_batch: usize,
    /// While calls keep coming (the last transaction held more than one), how long the
    /// writer waits for more before it commits.
    pub commit_delay: std::time::Duration,
}

fn write_until_closed(
    connection: &Connection,
    queue: &mpsc::Receiver<Box<dyn Call>>,
    batching: Batching,
    commits: &AtomicU64,
    path: &Path,
) {
    let max_batch = batching.max_batch.max(1);
    let mut busy = false;
    // Blocks for the first call, then takes whatever queued up meanwhile: while one batch
    // is being fsynced the next one gathers. Under load it also waits `commit_delay` for
    // more, since every commit writes each page it touched once, whether for one call or a
    // hundred (measured: BENCHMARKS.md part two). Ends once every sender is gone and the
    // queue is empty.
    while let Ok(first) = queue.recv() {
        let mut batch = Vec::with_capacity(max_batch.min(64));
        batch.push(first);
        let linger = if busy {
            batching.commit_delay
        } else {
            std::time::Duration::ZERO
        };
        let linger_until = std::time::Instant::now() + linger;
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(call) => batch.push(call),
                Err(mpsc::TryRecvError::Empty) => {
                    let now = std::time::Instant::now();
                    if now >= linger_until {
                        break;
                    }
                    match queue.recv_timeout(linger_until - now) {
                        Ok(call) => batch.push(call),
                        Err(_) => break,
                    }
                }
                Err(mpsc::TryRecvError::Disconnected) => break,
            }
        }
        busy = batch.len() > 1;
        commit_batch(connection, batch, commits, path);
    }
}

fn commit_batch(
    connection: &Connection,
    batch: Vec<Box<dyn Call>>,
    commits: &AtomicU64,
    path: &Path,
) {
    let mut calls = batch.into_iter();
    let mut in_transaction: Vec<Box<dyn Call>> = Vec::new();
    loop {
        if !connection.is_autocommit() {
            // A transaction left open by a failed COMMIT and ROLLBACK: nothing in it was
            // answered Ok, so it goes.
            let _ = connection.execute_batch("ROLLBACK");
        }
        if let Err(error) = connection.execute_batch("BEGIN IMMEDIATE") {
            let error = super::schema::unavailable(path, error);
            for call in calls {
                call.answer(Err(&error));
            }
            return;
        }
        let mut ended_by = None;
        for mut call in calls.by_ref() {
            let failure = call.run(connection, path);
            in_transaction.push(call);
            if connection.is_autocommit() {
                ended_by = Some(failure.map_or_else(
                    || "SQLite ended the transaction".to_owned(),
                    |error| error.to_string(),
                ));
                break;
            }
        }
        let Some(cause) = ended_by else { break };
        // SQLite ended the transaction on that call's failure: every call run in it is
        // undone, and the rest start a new one.
        let error = StoreError::Unavailable(format!(
            "{}: the transaction was rolled back with another call that failed: {cause}",
            path.display()
        ));
        for call in in_transaction.drain(..) {
            call.answer(Err(&error));
        }
    }
    match connection.execute_batch("COMMIT") {
        Ok(()) => {
            commits.fetch_add(1, Ordering::Relaxed);
            for call in in_transaction {
                call.answer(Ok(()));
            }
        }
        Err(error) => {
            let error = super::schema::unavailable(path, error);
            if !connection.is_autocommit() {
                // Should this fail too, the next batch rolls back before it begins.
                let _ = connection.execute_batch("ROLLBACK");
            }
            for call in in_transaction {
                call.answer(Err(&error));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    /// `t`, whose `parent` must name a row by the end of the transaction.
    fn table(connection: &Connection) {
        connection
            .execute_batch(
                "PRAGMA foreign_keys = ON;
                 CREATE TABLE t (n INTEGER PRIMARY KEY,
                     parent INTEGER REFERENCES t (n) DEFERRABLE INITIALLY DEFERRED);",
            )
            .unwrap();
    }

    fn rows(connection: &Connection) -> Vec<i64> {
        let mut select = connection.prepare("SELECT n FROM t ORDER BY n").unwrap();
        select
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    type Answer<T> = oneshot::Receiver<Result<T, StoreError>>;

    fn call<T: Send + 'static>(
        work: impl FnOnce(&Connection) -> Result<T, Failure> + Send + 'static,
    ) -> (Box<dyn Call>, Answer<T>) {
        let (reply, answer) = oneshot::channel();
        let call = Box::new(Queued {
            work: Some(work),
            outcome: None,
            reply,
        });
        (call, answer)
    }

    fn insert(n: i64) -> (Box<dyn Call>, Answer<i64>) {
        call(move |connection| {
            connection.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
            Ok(n)
        })
    }

    fn answered<T>(mut answer: Answer<T>) -> Result<T, StoreError> {
        answer.try_recv().expect("answered once the batch settled")
    }

    fn unavailable_with(answer: Result<impl std::fmt::Debug, StoreError>, words: &str) {
        match answer {
            Err(StoreError::Unavailable(message)) if message.contains(words) => {}
            other => panic!("expected unavailable, with {words:?}: {other:?}"),
        }
    }

    #[test]
    fn a_failed_call_is_undone_alone_and_the_others_commit_together() {
        let connection = Connection::open_in_memory().unwrap();
        table(&connection);
        let (first, first_answer) = insert(1);
        let (failing, failing_answer) = call(|connection| {
            connection.execute("INSERT INTO t (n) VALUES (2)", [])?;
            connection.execute("INSERT INTO t (n) VALUES (2)", [])?;
            Ok(2)
        });
        let (last, last_answer) = insert(3);
        let commits = AtomicU64::new(0);

        commit_batch(
            &connection,
            vec![first, failing, last],
            &commits,
            Path::new("t.db"),
        );

        assert_eq!(answered(first_answer), Ok(1));
        unavailable_with(answered(failing_answer), "UNIQUE constraint failed");
        assert_eq!(answered(last_answer), Ok(3));
        assert_eq!(
            rows(&connection),
            [1, 3],
            "the failed call's first insert is undone"
        );
        assert_eq!(commits.load(Ordering::Relaxed), 1);
    }

    /// As SQLite does on a full disk: the whole transaction is rolled back under the calls.
    #[test]
    fn a_transaction_sqlite_ended_fails_every_call_in_it_and_the_rest_go_on() {
        let connection = Connection::open_in_memory().unwrap();
        table(&connection);
        let (before, before_answer) = insert(1);
        let (ending, ending_answer) = call(|connection| -> Result<(), Failure> {
            connection.execute_batch("ROLLBACK")?;
            Err(Failure::Corrupt("the disk is full".to_owned()))
        });
        let (after, after_answer) = insert(3);
        let commits = AtomicU64::new(0);

        commit_batch(
            &connection,
            vec![before, ending, after],
            &commits,
            Path::new("t.db"),
        );

        unavailable_with(
            answered(before_answer),
            "rolled back with another call that failed",
        );
        unavailable_with(answered(ending_answer), "the disk is full");
        assert_eq!(answered(after_answer), Ok(3));
        assert_eq!(rows(&connection), [3]);
        assert_eq!(commits.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_failed_commit_fails_every_call_and_the_next_batch_commits() {
        let connection = Connection::open_in_memory().unwrap();
        table(&connection);
        let (first, first_answer) = insert(1);
        // Checked only at COMMIT: a parent that no row has.
        let (orphan, orphan_answer) = call(|connection| {
            connection.execute("INSERT INTO t (n, parent) VALUES (2, 99)", [])?;
            Ok(2)
        });
        let commits = AtomicU64::new(0);

        commit_batch(
            &connection,
            vec![first, orphan],
            &commits,
            Path::new("t.db"),
        );

        unavailable_with(answered(first_answer), "FOREIGN KEY constraint failed");
        unavailable_with(answered(orphan_answer), "FOREIGN KEY constraint failed");
        assert_eq!(rows(&connection), Vec::<i64>::new());
        assert_eq!(commits.load(Ordering::Relaxed), 0);

        let (next, next_answer) = insert(4);
        commit_batch(&connection, vec![next], &commits, Path::new("t.db"));
        assert_eq!(answered(next_answer), Ok(4));
        assert_eq!(rows(&connection), [4]);
    }

    #[test]
    fn dropping_the_writer_commits_what_was_queued() {
        let directory = tempfile::tempdir().unwrap();
        let path: Arc<Path> = Arc::from(directory.path().join("t.db"));
        let connection = Connection::open(&path).unwrap();
        table(&connection);
        let writer = Writer::start(connection, Arc::clone(&path), batching(8)).unwrap();
        let answers: Vec<_> = (0..50)
            .map(|n| {
                writer.run(move |connection| {
                    Ok(connection.execute("INSERT INTO t (n) VALUES (?1)", [n])?)
                })
            })
            .collect();

        drop(writer);

        let mut context = Context::from_waker(Waker::noop());
        for answer in answers {
            assert_eq!(pin!(answer).poll(&mut context), Poll::Ready(Ok(1)));
        }
        assert_eq!(
            rows(&Connection::open(&path).unwrap()),
            (0..50).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_stopped_writer_refuses_calls() {
        let directory = tempfile::tempdir().unwrap();
        let path: Arc<Path> = Arc::from(directory.path().join("t.db"));
        let mut writer = Writer::start(
            Connection::open(&path).unwrap(),
            Arc::clone(&path),
            batching(8),
        )
        .unwrap();
        writer.stop().unwrap().join().unwrap();

        let answer = writer.run(|_| Ok(()));
        let mut context = Context::from_waker(Waker::noop());
        match pin!(answer).poll(&mut context) {
            Poll::Ready(Err(StoreError::Unavailable(message))) => {
                assert!(
                    message.contains("t.db: the store's writer has stopped"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    fn batching(max_batch: usize) -> Batching {
        Batching {
            max_batch,
            commit_delay: std::time::Duration::ZERO,
        }
    }
}
