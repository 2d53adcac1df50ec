//! Punchout sessions over SQL (the `oci_gateway` service): statements and calls, apart
//! from the documents' so that each reads on its own.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Failure;
use super::ops::{accept, json, millis, timestamp};
use crate::{
    Acceptance, CartReturn, Incoming, NewPunchoutSession, PunchoutSessionRecord, Reply,
    ReturnedCart, SessionLookup, Timestamp,
};

pub(super) const INSERT_SESSION: &str = "
    INSERT INTO punchout_sessions (id, token_hash, service, account, created_at, expires_at,
        fields)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// A session, over `punchout_sessions`, then the clause in `$where`.
macro_rules! session_select {
    ($where:literal) => {
        concat!(
            "SELECT id, service, account, created_at, expires_at, fields, cart_document,
                 cart_returned_at, page_status, page_content_type, page_body
             FROM punchout_sessions ",
            $where
        )
    };
}

pub(super) const SESSION_BY_ID: &str = session_select!("WHERE id = ?1");

pub(super) const SESSION_BY_TOKEN_HASH: &str = session_select!("WHERE token_hash = ?1");

pub(super) const SESSIONS_NEWEST_FIRST: &str =
    session_select!("ORDER BY created_at DESC, id DESC LIMIT ?1");

pub(super) const RECORD_CART: &str = "
    UPDATE punchout_sessions SET cart_document = ?2, cart_returned_at = ?3, page_status = ?4,
        page_content_type = ?5, page_body = ?6
    WHERE token_hash = ?1 AND cart_document IS NULL";

pub(super) const PRUNE_SESSIONS: &str = "
    DELETE FROM punchout_sessions WHERE id IN (
        SELECT id FROM punchout_sessions WHERE expires_at < ?1 ORDER BY expires_at LIMIT ?2)";

pub(super) fn open_session(
    connection: &Connection,
    session: &NewPunchoutSession,
) -> Result<(), Failure> {
    connection.prepare_cached(INSERT_SESSION)?.execute(params![
        session.id,
        session.token_hash,
        session.service,
        session.account,
        millis(session.created_at),
        millis(session.expires_at),
        session.fields.to_string(),
    ])?;
    Ok(())
}

pub(super) fn session(
    connection: &Connection,
    lookup: &SessionLookup,
) -> Result<Option<PunchoutSessionRecord>, Failure> {
    let (statement, value) = match lookup {
        SessionLookup::Id(id) => (SESSION_BY_ID, id),
        SessionLookup::TokenHash(hash) => (SESSION_BY_TOKEN_HASH, hash),
    };
    Ok(connection
        .prepare_cached(statement)?
        .query_row([value], session_row)
        .optional()?)
}

pub(super) fn sessions(
    connection: &Connection,
    limit: usize,
) -> Result<Vec<PunchoutSessionRecord>, Failure> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(connection
        .prepare_cached(SESSIONS_NEWEST_FIRST)?
        .query_map([limit], session_row)?
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn return_cart(
    connection: &Connection,
    token_hash: &str,
    cart: &Incoming,
    now: Timestamp,
) -> Result<CartReturn, Failure> {
    let Some(found) = session(connection, &SessionLookup::TokenHash(token_hash.to_owned()))? else {
        return Ok(CartReturn::Unknown);
    };
    if let Some(returned) = found.cart {
        return Ok(CartReturn::AlreadyReturned {
            document: returned.document,
            page: returned.page,
        });
    }
    if found.expires_at <= now {
        return Ok(CartReturn::Expired);
    }
    let acceptance = accept(connection, cart)?;
    if acceptance == Acceptance::Accepted {
        connection.prepare_cached(RECORD_CART)?.execute(params![
            token_hash,
            cart.id,
            millis(cart.received_at),
            cart.reply.status,
            cart.reply.content_type,
            cart.reply.body,
        ])?;
    }
    Ok(CartReturn::Returned(acceptance))
}

pub(super) fn prune_sessions(
    connection: &Connection,
    before: Timestamp,
    limit: usize,
) -> Result<u64, Failure> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let deleted = connection
        .prepare_cached(PRUNE_SESSIONS)?
        .execute(params![millis(before), limit])?;
    Ok(deleted as u64)
}

fn session_row(row: &Row<'_>) -> rusqlite::Result<PunchoutSessionRecord> {
    let cart = match row.get::<_, Option<String>>(6)? {
        None => None,
        Some(document) => Some(ReturnedCart {
            document,
            returned_at: timestamp(row, 7)?,
            page: Reply {
                status: row.get(8)?,
                content_type: row.get(9)?,
                body: row.get(10)?,
            },
        }),
    };
    Ok(PunchoutSessionRecord {
        id: row.get(0)?,
        service: row.get(1)?,
        account: row.get(2)?,
        created_at: timestamp(row, 3)?,
        expires_at: timestamp(row, 4)?,
        fields: json(row, 5)?,
        cart,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails by panicking")]
mod tests {
    use super::*;
    use crate::sqlite::{SqliteOptions, SqliteStore};
    use crate::{NewDelivery, Store};

    #[test]
    fn every_lookup_finds_its_rows_through_an_index() {
        let connection = Connection::open_in_memory().unwrap();
        super::super::schema::create_for_test(&connection);
        for statement in [
            SESSION_BY_ID,
            SESSION_BY_TOKEN_HASH,
            SESSIONS_NEWEST_FIRST,
            RECORD_CART,
            PRUNE_SESSIONS,
        ] {
            let mut explain = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {statement}"))
                .unwrap();
            let mut steps = explain.raw_query();
            while let Some(step) = steps.next().unwrap() {
                let step: String = step.get(3).unwrap();
                let scans_a_table = step.starts_with("SCAN") && !step.contains(" INDEX ");
                assert!(!scans_a_table, "{statement}\nscans a table: {step}");
            }
        }
    }

    /// A file written before sessions existed opens, keeps its documents, and takes
    /// sessions.
    #[tokio::test]
    async fn a_store_of_schema_1_is_migrated() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("tradewire.db");
        let now = chrono::Utc::now();
        {
            let connection = Connection::open(&path).unwrap();
            super::super::schema::create_version_for_test(&connection, 1);
            let old = Incoming {
                id: "doc-1".into(),
                source: "carts".into(),
                key: Some("k1".into()),
                content_hash: "h".into(),
                received_at: now,
                raw: b"{}".to_vec(),
                context: serde_json::json!({}),
                reply: Reply {
                    status: 202,
                    content_type: "application/json".into(),
                    body: b"{}".to_vec(),
                },
                deliveries: vec![NewDelivery {
                    sink: "out".into(),
                    key: "doc-1.out".into(),
                    payload: b"{}".to_vec(),
                }],
            };
            assert!(accept(&connection, &old).is_ok());
        }
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        assert_eq!(store.trace("k1").await.unwrap().documents.len(), 1);
        store
            .open_punchout_session(NewPunchoutSession {
                id: "s-1".into(),
                token_hash: "t".into(),
                service: "punchout".into(),
                account: "buyer01".into(),
                created_at: now,
                expires_at: now + chrono::TimeDelta::hours(1),
                fields: serde_json::json!({"hook_url": "https://srm.example/"}),
            })
            .await
            .unwrap();
        let found = store
            .punchout_session(SessionLookup::Id("s-1".into()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.account, "buyer01");
        store.close().await.unwrap();
    }
}
