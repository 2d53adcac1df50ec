//! Each call of the store as SQL over one connection, inside the transaction the caller
//! runs it in (the writer's savepoint, or a read transaction).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::DateTime;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Failure, sql};
use crate::{
    Acceptance, Attempt, AttemptOutcome, Claimed, DeadLetter, DeadLetterId, DeadLetterKind,
    DeadLetterSummary, DeliveryId, DeliveryState, DeliveryTrace, DocumentTrace, Incoming, Next,
    QueueStats, Refusal, Reply, StoreError, Timestamp, Trace, one_line, refusal_reason,
};

pub(super) fn accept(connection: &Connection, incoming: &Incoming) -> Result<Acceptance, Failure> {
    if let Some(key) = &incoming.key {
        let existing = connection
            .prepare_cached(sql::FIND_BY_KEY)?
            .query_row(params![incoming.source, key], |row| {
                let reply = Reply {
                    status: row.get(2)?,
                    content_type: row.get(3)?,
                    body: row.get(4)?,
                };
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, reply))
            })
            .optional()?;
        if let Some((id, content_hash, reply)) = existing {
            return Ok(if content_hash == incoming.content_hash {
                Acceptance::Duplicate { id, reply }
            } else {
                Acceptance::Conflict { id }
            });
        }
    }

    let received_at = millis(incoming.received_at);
    connection
        .prepare_cached(sql::INSERT_DOCUMENT)?
        .execute(params![
            incoming.id,
            incoming.source,
            incoming.key,
            incoming.content_hash,
            received_at,
            incoming.raw,
            incoming.context.to_string(),
            incoming.reply.status,
            incoming.reply.content_type,
            incoming.reply.body,
        ])?;
    let mut insert_delivery = connection.prepare_cached(sql::INSERT_DELIVERY)?;
    for delivery in &incoming.deliveries {
        insert_delivery.execute(params![
            incoming.id,
            delivery.sink,
            delivery.key,
            delivery.payload,
            received_at,
        ])?;
    }
    Ok(Acceptance::Accepted)
}

pub(super) fn refuse(connection: &Connection, refusal: &Refusal) -> Result<DeadLetterId, Failure> {
    connection
        .prepare_cached(sql::INSERT_REFUSAL)?
        .execute(params![
            millis(refusal.received_at),
            refusal_reason(&refusal.diagnostics),
            refusal.source,
            refusal.key,
            refusal.raw,
            refusal.context.to_string(),
            refusal.diagnostics.to_string(),
        ])?;
    Ok(connection.last_insert_rowid())
}

pub(super) fn claim(
    connection: &Connection,
    sink: &str,
    limit: usize,
    now: Timestamp,
    lease: Duration,
) -> Result<Vec<Claimed>, Failure> {
    let now = millis(now);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let claimed = connection
        .prepare_cached(sql::SELECT_DUE)?
        .query_map(params![sink, now, limit], |row| {
            Ok(Claimed {
                id: row.get(0)?,
                document: row.get(1)?,
                sink: row.get(2)?,
                key: row.get(3)?,
                payload: row.get(4)?,
                attempts: row.get(5)?,
                created_at: timestamp(row, 6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let lease_until = now.saturating_add(ceil_millis(lease));
    let mut take = connection.prepare_cached(sql::TAKE_LEASE)?;
    for delivery in &claimed {
        take.execute(params![delivery.id, lease_until])?;
    }
    Ok(claimed)
}

pub(super) fn record(
    connection: &Connection,
    delivery: DeliveryId,
    attempt: &Attempt,
    next: &Next,
) -> Result<(), Failure> {
    let state = connection
        .prepare_cached(sql::DELIVERY_STATE)?
        .query_row([delivery], |row| named::<DeliveryState>(row, 0))
        .optional()?
        .ok_or(Failure::Answer(StoreError::NoSuchDelivery(delivery)))?;
    connection
        .prepare_cached(sql::INSERT_ATTEMPT)?
        .execute(params![
            delivery,
            millis(attempt.at),
            i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX),
            attempt.outcome.name(),
            attempt.status,
            attempt.detail,
        ])?;
    if state != DeliveryState::Pending {
        // Another claim ended it first (this one's lease had run out): that end stands.
        connection
            .prepare_cached(sql::COUNT_LATE_ATTEMPT)?
            .execute([delivery])?;
        return Ok(());
    }
    let (state, next_attempt_at) = match next {
        Next::Delivered => (DeliveryState::Delivered, None),
        Next::RetryAt(at) => (DeliveryState::Pending, Some(millis(*at))),
        Next::DeadLetter { .. } => (DeliveryState::Dead, None),
    };
    connection
        .prepare_cached(sql::RECORD_NEXT)?
        .execute(params![delivery, state.name(), next_attempt_at])?;
    if let Next::DeadLetter { reason } = next {
        connection
            .prepare_cached(sql::INSERT_UNDELIVERABLE)?
            .execute(params![millis(attempt.at), one_line(reason), delivery])?;
    }
    Ok(())
}

pub(super) fn release(connection: &Connection, deliveries: &[DeliveryId]) -> Result<(), Failure> {
    let mut release = connection.prepare_cached(sql::RELEASE)?;
    for delivery in deliveries {
        release.execute([delivery])?;
    }
    Ok(())
}

pub(super) fn retry_now(
    connection: &Connection,
    sink: &str,
    now: Timestamp,
) -> Result<u64, Failure> {
    let changed = connection
        .prepare_cached(sql::RETRY_NOW)?
        .execute(params![sink, millis(now)])?;
    Ok(changed as u64)
}

/// Ends every claim: at open, since no claim outlives the process that made it.
pub(super) fn release_all(connection: &Connection) -> rusqlite::Result<usize> {
    connection.execute(sql::RELEASE_ALL, [])
}

pub(super) fn requeue(
    connection: &Connection,
    id: DeadLetterId,
    now: Timestamp,
) -> Result<(), Failure> {
    let delivery =
        dead_letter_of_kind(connection, id, DeadLetterKind::Undeliverable)?.ok_or_else(|| {
            Failure::Corrupt(format!("undeliverable dead letter {id} has no delivery"))
        })?;
    connection
        .prepare_cached(sql::REQUEUE)?
        .execute(params![delivery, millis(now)])?;
    delete_dead_letter(connection, id)?;
    Ok(())
}

pub(super) fn accept_replayed(
    connection: &Connection,
    id: DeadLetterId,
    incoming: &Incoming,
) -> Result<Acceptance, Failure> {
    dead_letter_of_kind(connection, id, DeadLetterKind::Refused)?;
    let acceptance = accept(connection, incoming)?;
    if acceptance == Acceptance::Accepted {
        delete_dead_letter(connection, id)?;
    }
    Ok(acceptance)
}

pub(super) fn refuse_again(
    connection: &Connection,
    id: DeadLetterId,
    diagnostics: &serde_json::Value,
) -> Result<(), Failure> {
    dead_letter_of_kind(connection, id, DeadLetterKind::Refused)?;
    connection
        .prepare_cached(sql::REPLACE_DIAGNOSTICS)?
        .execute(params![
            id,
            diagnostics.to_string(),
            refusal_reason(diagnostics)
        ])?;
    Ok(())
}

pub(super) fn drop_dead_letter(connection: &Connection, id: DeadLetterId) -> Result<bool, Failure> {
    Ok(delete_dead_letter(connection, id)?)
}

pub(super) fn prune(
    connection: &Connection,
    before: Timestamp,
    limit: usize,
) -> Result<u64, Failure> {
    // Deliveries and attempts go with their document (ON DELETE CASCADE).
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let pruned = connection
        .prepare_cached(sql::PRUNE)?
        .execute(rusqlite::params![millis(before), limit])?;
    Ok(u64::try_from(pruned).unwrap_or(u64::MAX))
}

pub(super) fn next_due(connection: &Connection, sink: &str) -> Result<Option<Timestamp>, Failure> {
    let unclaimed: Option<i64> = connection
        .prepare_cached(sql::NEXT_DUE_UNCLAIMED)?
        .query_row([sink], |row| row.get(0))
        .optional()?;
    let lease_end: Option<i64> = connection
        .prepare_cached(sql::NEXT_LEASE_END)?
        .query_row([sink], |row| row.get(0))?;
    let due = match (unclaimed, lease_end) {
        (Some(unclaimed), Some(lease_end)) => Some(unclaimed.min(lease_end)),
        (due, None) | (None, due) => due,
    };
    due.map(|due| {
        DateTime::from_timestamp_millis(due).ok_or_else(|| {
            Failure::Corrupt(format!("a delivery of {sink} is due at {due} ms, no time"))
        })
    })
    .transpose()
}

pub(super) fn queue_stats(
    connection: &Connection,
    sinks: &[String],
) -> Result<Vec<QueueStats>, Failure> {
    let mut stats: BTreeMap<String, QueueStats> = sinks
        .iter()
        .map(|sink| {
            let empty = QueueStats {
                sink: sink.clone(),
                pending: 0,
                oldest_pending_at: None,
            };
            (sink.clone(), empty)
        })
        .collect();
    let pending = connection
        .prepare_cached(sql::PENDING_BY_SINK)?
        .query_map([], |row| {
            Ok(QueueStats {
                sink: row.get(0)?,
                pending: row.get::<_, i64>(1)?.try_into().unwrap_or(0),
                oldest_pending_at: Some(timestamp(row, 2)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for queue in pending {
        stats.insert(queue.sink.clone(), queue);
    }
    Ok(stats.into_values().collect())
}

pub(super) fn dead_letters(connection: &Connection) -> Result<Vec<DeadLetterSummary>, Failure> {
    Ok(connection
        .prepare_cached(sql::DEAD_LETTERS)?
        .query_map([], dead_letter_summary)?
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn dead_letter(
    connection: &Connection,
    id: DeadLetterId,
) -> Result<Option<DeadLetter>, Failure> {
    let found = connection
        .prepare_cached(sql::DEAD_LETTER)?
        .query_row([id], whole_dead_letter)
        .optional()?;
    found
        .map(|found| found.with_delivery(connection))
        .transpose()
}

pub(super) fn trace(connection: &Connection, id_or_key: &str) -> Result<Trace, Failure> {
    let documents = connection
        .prepare_cached(sql::DOCUMENTS_BY_ID_OR_KEY)?
        .query_map([id_or_key], |row| {
            Ok(DocumentTrace {
                id: row.get(0)?,
                source: row.get(1)?,
                key: row.get(2)?,
                received_at: timestamp(row, 3)?,
                raw: row.get(4)?,
                context: json(row, 5)?,
                deliveries: Vec::new(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let documents = documents
        .into_iter()
        .map(|mut document| {
            document.deliveries =
                delivery_traces(connection, DeliveriesOf::Document(&document.id))?;
            Ok(document)
        })
        .collect::<Result<Vec<_>, Failure>>()?;

    let refusals = connection
        .prepare_cached(sql::REFUSALS_BY_KEY)?
        .query_map([id_or_key], whole_dead_letter)?
        .map(|found| found?.with_delivery(connection))
        .collect::<Result<Vec<_>, Failure>>()?;
    Ok(Trace {
        documents,
        refusals,
    })
}

enum DeliveriesOf<'a> {
    Document(&'a str),
    One(DeliveryId),
}

fn delivery_traces(
    connection: &Connection,
    of: DeliveriesOf<'_>,
) -> Result<Vec<DeliveryTrace>, Failure> {
    let row_to_trace = |row: &Row<'_>| {
        Ok(DeliveryTrace {
            id: row.get(0)?,
            sink: row.get(1)?,
            key: row.get(2)?,
            state: named(row, 3)?,
            payload: row.get(4)?,
            attempts: Vec::new(),
            next_attempt_at: optional_timestamp(row, 5)?,
            dead_letter: row.get(6)?,
        })
    };
    let mut deliveries = match of {
        DeliveriesOf::Document(document) => connection
            .prepare_cached(sql::DELIVERIES_OF_DOCUMENT)?
            .query_map([document], row_to_trace)?
            .collect::<Result<Vec<_>, _>>()?,
        DeliveriesOf::One(delivery) => connection
            .prepare_cached(sql::DELIVERY)?
            .query_map([delivery], row_to_trace)?
            .collect::<Result<Vec<_>, _>>()?,
    };
    let mut attempts = connection.prepare_cached(sql::ATTEMPTS_OF_DELIVERY)?;
    for delivery in &mut deliveries {
        delivery.attempts = attempts
            .query_map([delivery.id], |row| {
                Ok(Attempt {
                    at: timestamp(row, 0)?,
                    duration_ms: row.get::<_, i64>(1)?.try_into().unwrap_or(0),
                    outcome: named(row, 2)?,
                    status: row.get(3)?,
                    detail: row.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
    }
    Ok(deliveries)
}

fn dead_letter_summary(row: &Row<'_>) -> rusqlite::Result<DeadLetterSummary> {
    Ok(DeadLetterSummary {
        id: row.get(0)?,
        created_at: timestamp(row, 1)?,
        kind: named(row, 2)?,
        component: row.get(3)?,
        document: row.get(4)?,
        key: row.get(5)?,
        reason: row.get(6)?,
    })
}

/// A dead letter read whole but for its delivery, which takes more queries.
struct FoundDeadLetter {
    letter: DeadLetter,
    delivery: Option<DeliveryId>,
}

fn whole_dead_letter(row: &Row<'_>) -> rusqlite::Result<FoundDeadLetter> {
    Ok(FoundDeadLetter {
        letter: DeadLetter {
            summary: dead_letter_summary(row)?,
            raw: row.get(7)?,
            context: optional_json(row, 8)?,
            diagnostics: optional_json(row, 9)?,
            delivery: None,
        },
        delivery: row.get(10)?,
    })
}

impl FoundDeadLetter {
    fn with_delivery(mut self, connection: &Connection) -> Result<DeadLetter, Failure> {
        if let Some(delivery) = self.delivery {
            self.letter.delivery = delivery_traces(connection, DeliveriesOf::One(delivery))?.pop();
        }
        Ok(self.letter)
    }
}

/// The dead letter's delivery (none for a refused one), after checking that it exists and
/// is of `kind`.
fn dead_letter_of_kind(
    connection: &Connection,
    id: DeadLetterId,
    kind: DeadLetterKind,
) -> Result<Option<DeliveryId>, Failure> {
    let (found, delivery) = connection
        .prepare_cached(sql::DEAD_LETTER_KIND)?
        .query_row([id], |row| {
            Ok((named::<DeadLetterKind>(row, 0)?, row.get(1)?))
        })
        .optional()?
        .ok_or(Failure::Answer(StoreError::NoSuchDeadLetter(id)))?;
    if found != kind {
        return Err(Failure::Answer(StoreError::WrongKind { id, kind: found }));
    }
    Ok(delivery)
}

fn delete_dead_letter(connection: &Connection, id: DeadLetterId) -> rusqlite::Result<bool> {
    let deleted = connection
        .prepare_cached(sql::DELETE_DEAD_LETTER)?
        .execute([id])?;
    Ok(deleted > 0)
}

pub(super) fn millis(at: Timestamp) -> i64 {
    at.timestamp_millis()
}

/// A lease rounds up to the next millisecond: never shorter than asked.
fn ceil_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros().div_ceil(1000)).unwrap_or(i64::MAX)
}

pub(super) fn timestamp(row: &Row<'_>, index: usize) -> rusqlite::Result<Timestamp> {
    let millis: i64 = row.get(index)?;
    DateTime::from_timestamp_millis(millis).ok_or_else(|| {
        unreadable(
            index,
            Type::Integer,
            format!("{millis} ms is out of time's range"),
        )
    })
}

fn optional_timestamp(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Timestamp>> {
    match row.get_ref(index)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => timestamp(row, index).map(Some),
    }
}

pub(super) fn json(row: &Row<'_>, index: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|error| unreadable(index, Type::Text, error.to_string()))
}

fn optional_json(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<serde_json::Value>> {
    match row.get_ref(index)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => json(row, index).map(Some),
    }
}

fn named<T: Named>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let name: String = row.get(index)?;
    T::from_name(&name)
        .ok_or_else(|| unreadable(index, Type::Text, format!("unknown value {name:?}")))
}

fn unreadable(index: usize, kind: Type, why: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, kind, why.into())
}

/// An enum kept as its name in a TEXT column; the names are the ones the schema's CHECK
/// constraints allow.
trait Named: Sized {
    fn name(self) -> &'static str;
    fn from_name(name: &str) -> Option<Self>;
}

macro_rules! named {
    ($type:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl Named for $type {
            fn name(self) -> &'static str {
                match self {
                    $($type::$variant => $name),+
                }
            }

            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some($type::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

named!(DeliveryState {
    Pending => "pending",
    Delivered => "delivered",
    Dead => "dead",
});
named!(AttemptOutcome {
    Delivered => "delivered",
    Temporary => "temporary",
    Permanent => "permanent",
});
named!(DeadLetterKind {
    Refused => "refused",
    Undeliverable => "undeliverable",
});
