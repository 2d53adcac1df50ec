//! Every statement the store runs, in one place to read beside the indexes of `schema.rs`;
//! a test checks that each finds its rows through an index.

/// A dead letter's summary, over `dead_letters l` with its delivery `d` and that delivery's
/// document `doc` (both NULL for a refused letter), then the columns in `$more`.
macro_rules! dead_letter_select {
    ($($more:literal)?) => {
        concat!(
            "SELECT l.id, l.created_at, l.kind, coalesce(l.source, d.sink), d.document,
                 coalesce(l.key, doc.key), l.reason",
            $(", ", $more,)?
            " FROM dead_letters l LEFT JOIN deliveries d ON d.id = l.delivery
             LEFT JOIN documents doc ON doc.id = d.document"
        )
    };
}

/// A delivery, with the dead letter that holds it if one does.
macro_rules! delivery_select {
    () => {
        "SELECT d.id, d.sink, d.key, d.state, d.payload, d.next_attempt_at, l.id
         FROM deliveries d LEFT JOIN dead_letters l ON l.delivery = d.id"
    };
}

// accept

pub(super) const FIND_BY_KEY: &str = "
    SELECT id, content_hash, reply_status, reply_content_type, reply_body
    FROM documents WHERE source = ?1 AND key = ?2";

pub(super) const INSERT_DOCUMENT: &str = "
    INSERT INTO documents (id, source, key, content_hash, received_at, raw, context,
        reply_status, reply_content_type, reply_body)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// A new delivery is due at once: at its document's `received_at`.
pub(super) const INSERT_DELIVERY: &str = "
    INSERT INTO deliveries (document, sink, key, payload, state, created_at, next_attempt_at)
    VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)";

// refuse

pub(super) const INSERT_REFUSAL: &str = "
    INSERT INTO dead_letters (kind, created_at, reason, source, key, raw, context, diagnostics)
    VALUES ('refused', ?1, ?2, ?3, ?4, ?5, ?6, ?7)";

// claim, record, release

pub(super) const SELECT_DUE: &str = "
    SELECT id, document, sink, key, payload, attempts, created_at FROM deliveries
    WHERE sink = ?1 AND state = 'pending' AND next_attempt_at <= ?2
        AND (lease_until IS NULL OR lease_until <= ?2)
    ORDER BY next_attempt_at, id LIMIT ?3";

pub(super) const TAKE_LEASE: &str = "UPDATE deliveries SET lease_until = ?2 WHERE id = ?1";

pub(super) const DELIVERY_STATE: &str = "SELECT state FROM deliveries WHERE id = ?1";

pub(super) const INSERT_ATTEMPT: &str = "
    INSERT INTO attempts (delivery, at, duration_ms, outcome, status, detail)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

pub(super) const COUNT_LATE_ATTEMPT: &str =
    "UPDATE deliveries SET attempts = attempts + 1 WHERE id = ?1";

pub(super) const RECORD_NEXT: &str = "
    UPDATE deliveries
    SET attempts = attempts + 1, state = ?2, next_attempt_at = ?3, lease_until = NULL
    WHERE id = ?1";

pub(super) const INSERT_UNDELIVERABLE: &str = "
    INSERT INTO dead_letters (kind, created_at, reason, delivery)
    VALUES ('undeliverable', ?1, ?2, ?3)";

pub(super) const RELEASE: &str =
    "UPDATE deliveries SET lease_until = NULL WHERE id = ?1 AND state = 'pending'";

pub(super) const RETRY_NOW: &str = "
    UPDATE deliveries SET next_attempt_at = ?2
    WHERE sink = ?1 AND state = 'pending' AND next_attempt_at > ?2 AND lease_until IS NULL";

pub(super) const RELEASE_ALL: &str =
    "UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL";

// dead letters

pub(super) const DEAD_LETTER_KIND: &str = "SELECT kind, delivery FROM dead_letters WHERE id = ?1";

pub(super) const REQUEUE: &str = "
    UPDATE deliveries SET state = 'pending', next_attempt_at = ?2, lease_until = NULL
    WHERE id = ?1";

pub(super) const REPLACE_DIAGNOSTICS: &str =
    "UPDATE dead_letters SET diagnostics = ?2, reason = ?3 WHERE id = ?1";

pub(super) const DELETE_DEAD_LETTER: &str = "DELETE FROM dead_letters WHERE id = ?1";

pub(super) const DEAD_LETTERS: &str = concat!(dead_letter_select!(), " ORDER BY l.id");

pub(super) const DEAD_LETTER: &str = concat!(
    dead_letter_select!("l.raw, l.context, l.diagnostics, l.delivery"),
    " WHERE l.id = ?1"
);

// prune: deliveries and attempts go with their document (ON DELETE CASCADE).

pub(super) const PRUNE: &str = "
    DELETE FROM documents WHERE id IN (
        SELECT id FROM documents WHERE received_at < ?1 AND NOT EXISTS (
            SELECT 1 FROM deliveries
            WHERE deliveries.document = documents.id AND (state = 'pending'
                OR EXISTS (SELECT 1 FROM dead_letters WHERE dead_letters.delivery = deliveries.id)))
        ORDER BY received_at LIMIT ?2)";

// next_due, queue_stats

pub(super) const NEXT_DUE_UNCLAIMED: &str = "
    SELECT next_attempt_at FROM deliveries
    WHERE sink = ?1 AND state = 'pending' AND lease_until IS NULL
    ORDER BY next_attempt_at LIMIT 1";

pub(super) const NEXT_LEASE_END: &str =
    "SELECT min(lease_until) FROM deliveries WHERE sink = ?1 AND lease_until IS NOT NULL";

pub(super) const PENDING_BY_SINK: &str = "
    SELECT sink, count(*), min(created_at) FROM deliveries WHERE state = 'pending'
    GROUP BY sink";

// trace

pub(super) const DOCUMENTS_BY_ID_OR_KEY: &str = "
    SELECT id, source, key, received_at, raw, context FROM documents
    WHERE id = ?1 OR key = ?1 ORDER BY received_at, id";

pub(super) const REFUSALS_BY_KEY: &str = concat!(
    dead_letter_select!("l.raw, l.context, l.diagnostics, l.delivery"),
    " WHERE l.kind = 'refused' AND l.key = ?1 ORDER BY l.id"
);

pub(super) const DELIVERIES_OF_DOCUMENT: &str =
    concat!(delivery_select!(), " WHERE d.document = ?1 ORDER BY d.id");

pub(super) const DELIVERY: &str = concat!(delivery_select!(), " WHERE d.id = ?1");

pub(super) const ATTEMPTS_OF_DELIVERY: &str = "
    SELECT at, duration_ms, outcome, status, detail FROM attempts
    WHERE delivery = ?1 ORDER BY id";

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    /// Every statement above but the inserts, which find no rows.
    const LOOKUPS: &[&str] = &[
        FIND_BY_KEY,
        SELECT_DUE,
        TAKE_LEASE,
        DELIVERY_STATE,
        COUNT_LATE_ATTEMPT,
        RECORD_NEXT,
        RELEASE,
        RETRY_NOW,
        RELEASE_ALL,
        DEAD_LETTER_KIND,
        REQUEUE,
        REPLACE_DIAGNOSTICS,
        DELETE_DEAD_LETTER,
        DEAD_LETTERS,
        DEAD_LETTER,
        PRUNE,
        NEXT_DUE_UNCLAIMED,
        NEXT_LEASE_END,
        PENDING_BY_SINK,
        DOCUMENTS_BY_ID_OR_KEY,
        REFUSALS_BY_KEY,
        DELIVERIES_OF_DOCUMENT,
        DELIVERY,
        ATTEMPTS_OF_DELIVERY,
    ];

    /// `dlq list` lists every dead letter: reading them all is what it asks.
    const READS_EVERY_ROW: &[&str] = &[DEAD_LETTERS];

    #[test]
    fn every_lookup_finds_its_rows_through_an_index() {
        let connection = Connection::open_in_memory().unwrap();
        super::super::schema::create_for_test(&connection);
        for statement in LOOKUPS.iter().chain(super::super::service::LOOKUPS) {
            let mut explain = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {statement}"))
                .unwrap();
            // Unbound parameters are NULL: the plan does not depend on them.
            let mut steps = explain.raw_query();
            let mut plan = Vec::new();
            while let Some(step) = steps.next().unwrap() {
                plan.push(step.get::<_, String>(3).unwrap());
            }
            for step in &plan {
                // A scan is of a whole table unless it goes through an index (a partial
                // index holds only the rows asked for: the pending, the leased).
                let scans_a_table = step.starts_with("SCAN") && !step.contains(" INDEX ");
                assert!(
                    !scans_a_table || READS_EVERY_ROW.contains(statement),
                    "{statement}\nscans a table: {step}\nplan: {plan:#?}"
                );
            }
        }
    }
}
