//! A served webservice's state as SQL (tables in `schema.rs`, V2): the statements, then
//! each call over one connection. `sql.rs`'s test checks that every lookup here goes
//! through an index too.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Failure;
use super::ops::{millis, timestamp};
use crate::Timestamp;
use crate::service::{
    CatalogueEntry, CatalogueKind, NewServiceOrder, Put, PutMode, SalesDocument, ServiceOrder,
    ServiceOrderRef, StoredCustomer, StoredPriceRule, StoredProduct,
};

pub(super) const PRODUCT_ID_BY_SKU: &str =
    "SELECT id FROM service_products WHERE service = ?1 AND kind = ?2 AND sku = ?3";

pub(super) const INSERT_PRODUCT: &str = "
    INSERT INTO service_products (service, kind, sku, document, updated_at)
    VALUES (?1, ?2, ?3, ?4, ?5)";

pub(super) const UPDATE_PRODUCT: &str =
    "UPDATE service_products SET document = ?2, updated_at = ?3 WHERE id = ?1";

pub(super) const PRODUCT_BY_SKU: &str = "
    SELECT id, sku, document, updated_at FROM service_products
    WHERE service = ?1 AND kind = ?2 AND sku = ?3";

/// A page: the index on (service, kind, id) is walked from the start, `LIMIT -1` being
/// SQLite's "no limit".
pub(super) const PRODUCTS_IN_ORDER: &str = "
    SELECT id, sku FROM service_products WHERE service = ?1 AND kind = ?2
    ORDER BY id LIMIT ?4 OFFSET ?3";

pub(super) const ORDER_ID_BY_DOCUMENT: &str =
    "SELECT id FROM service_orders WHERE service = ?1 AND document = ?2";

pub(super) const INSERT_ORDER: &str = "
    INSERT INTO service_orders (service, document, state, document_json, received_at)
    VALUES (?1, ?2, ?3, ?4, ?5)";

pub(super) const WAITING_ORDERS: &str = "
    SELECT id, state FROM service_orders WHERE service = ?1 AND exported_at IS NULL
    ORDER BY id";

pub(super) const WAITING_ORDERS_IN_STATE: &str = "
    SELECT id, state FROM service_orders
    WHERE service = ?1 AND state = ?2 AND exported_at IS NULL ORDER BY id";

pub(super) const ORDER_BY_ID: &str = "
    SELECT id, document, state, document_json, received_at, exported_at FROM service_orders
    WHERE service = ?1 AND id = ?2";

pub(super) const TRACKING_OF_ORDER: &str =
    "SELECT number FROM service_tracking WHERE order_id = ?1 ORDER BY added_at, rowid";

pub(super) const MARK_EXPORTED: &str = "
    UPDATE service_orders SET exported_at = coalesce(exported_at, ?3), state = coalesce(?4, state)
    WHERE service = ?1 AND id = ?2";

pub(super) const INSERT_TRACKING: &str = "
    INSERT INTO service_tracking (order_id, number, added_at) VALUES (?1, ?2, ?3)
    ON CONFLICT (order_id, number) DO NOTHING";

pub(super) const UPSERT_CUSTOMER: &str = "
    INSERT INTO service_customers (service, customer, document, updated_at)
    VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (service, customer) DO UPDATE
    SET document = excluded.document, updated_at = excluded.updated_at";

pub(super) const CUSTOMERS_SINCE: &str = "
    SELECT customer, document, updated_at FROM service_customers
    WHERE service = ?1 AND updated_at >= ?2 ORDER BY updated_at, id";

pub(super) const UPSERT_PRICE_RULE: &str = "
    INSERT INTO service_price_rules (service, key, document, updated_at) VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT (service, key) DO UPDATE
    SET document = excluded.document, updated_at = excluded.updated_at";

pub(super) const PRICE_RULES: &str = "
    SELECT key, document, updated_at FROM service_price_rules WHERE service = ?1 ORDER BY key";

pub(super) const UPSERT_SALES_DOCUMENT: &str = "
    INSERT INTO service_sales_documents (service, reference, document, pdf, received_at)
    VALUES (?1, ?2, ?3, ?4, ?5)
    ON CONFLICT (service, reference) DO UPDATE
    SET document = excluded.document, pdf = excluded.pdf, received_at = excluded.received_at";

pub(super) const SALES_DOCUMENT: &str = "
    SELECT reference, document, pdf, received_at FROM service_sales_documents
    WHERE service = ?1 AND reference = ?2";

/// Every statement above but the inserts, for the index check.
#[cfg(test)]
pub(super) const LOOKUPS: &[&str] = &[
    PRODUCT_ID_BY_SKU,
    UPDATE_PRODUCT,
    PRODUCT_BY_SKU,
    PRODUCTS_IN_ORDER,
    ORDER_ID_BY_DOCUMENT,
    WAITING_ORDERS,
    WAITING_ORDERS_IN_STATE,
    ORDER_BY_ID,
    TRACKING_OF_ORDER,
    MARK_EXPORTED,
    CUSTOMERS_SINCE,
    PRICE_RULES,
    SALES_DOCUMENT,
];

pub(super) fn put_product(
    connection: &Connection,
    service: &str,
    kind: CatalogueKind,
    sku: &str,
    document: &[u8],
    mode: PutMode,
    at: Timestamp,
) -> Result<Put, Failure> {
    let existing: Option<i64> = connection
        .prepare_cached(PRODUCT_ID_BY_SKU)?
        .query_row(params![service, kind.as_str(), sku], |row| row.get(0))
        .optional()?;
    Ok(match (existing, mode) {
        (Some(id), PutMode::Add) => Put::Exists { id },
        (None, PutMode::Update) => Put::Unknown,
        (Some(id), PutMode::Update | PutMode::Upsert) => {
            connection.prepare_cached(UPDATE_PRODUCT)?.execute(params![
                id,
                document,
                millis(at)
            ])?;
            Put::Done { id }
        }
        (None, PutMode::Add | PutMode::Upsert) => {
            connection.prepare_cached(INSERT_PRODUCT)?.execute(params![
                service,
                kind.as_str(),
                sku,
                document,
                millis(at)
            ])?;
            Put::Done {
                id: connection.last_insert_rowid(),
            }
        }
    })
}

pub(super) fn product(
    connection: &Connection,
    service: &str,
    kind: CatalogueKind,
    sku: &str,
) -> Result<Option<StoredProduct>, Failure> {
    Ok(connection
        .prepare_cached(PRODUCT_BY_SKU)?
        .query_row(params![service, kind.as_str(), sku], |row| {
            Ok(StoredProduct {
                id: row.get(0)?,
                sku: row.get(1)?,
                document: row.get(2)?,
                updated_at: timestamp(row, 3)?,
            })
        })
        .optional()?)
}

pub(super) fn list_products(
    connection: &Connection,
    service: &str,
    kind: CatalogueKind,
    offset: u64,
    count: Option<u64>,
) -> Result<Vec<CatalogueEntry>, Failure> {
    // SQLite's integers are signed: past i64::MAX there is nothing left to skip or to take.
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let limit = count.map_or(-1, |count| i64::try_from(count).unwrap_or(i64::MAX));
    let entries = connection
        .prepare_cached(PRODUCTS_IN_ORDER)?
        .query_map(params![service, kind.as_str(), offset, limit], |row| {
            Ok(CatalogueEntry {
                id: row.get(0)?,
                sku: row.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(entries)
}

pub(super) fn add_order(
    connection: &Connection,
    service: &str,
    order: &NewServiceOrder,
) -> Result<i64, Failure> {
    let existing: Option<i64> = connection
        .prepare_cached(ORDER_ID_BY_DOCUMENT)?
        .query_row(params![service, order.document], |row| row.get(0))
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    connection.prepare_cached(INSERT_ORDER)?.execute(params![
        service,
        order.document,
        order.state,
        order.order,
        millis(order.received_at)
    ])?;
    Ok(connection.last_insert_rowid())
}

pub(super) fn list_orders(
    connection: &Connection,
    service: &str,
    states: &[String],
) -> Result<Vec<ServiceOrderRef>, Failure> {
    let entry = |row: &Row<'_>| {
        Ok(ServiceOrderRef {
            id: row.get(0)?,
            state: row.get(1)?,
        })
    };
    if states.is_empty() {
        return Ok(connection
            .prepare_cached(WAITING_ORDERS)?
            .query_map(params![service], entry)?
            .collect::<Result<Vec<_>, _>>()?);
    }
    // One indexed range per state, merged by id.
    let mut statement = connection.prepare_cached(WAITING_ORDERS_IN_STATE)?;
    let mut orders = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for state in states {
        if seen.insert(state.as_str()) {
            for entry in statement.query_map(params![service, state], entry)? {
                orders.push(entry?);
            }
        }
    }
    orders.sort_by_key(|o| o.id);
    Ok(orders)
}

pub(super) fn order(
    connection: &Connection,
    service: &str,
    id: i64,
) -> Result<Option<ServiceOrder>, Failure> {
    let found = connection
        .prepare_cached(ORDER_BY_ID)?
        .query_row(params![service, id], |row| {
            Ok(ServiceOrder {
                id: row.get(0)?,
                document: row.get(1)?,
                state: row.get(2)?,
                order: row.get(3)?,
                received_at: timestamp(row, 4)?,
                exported_at: match row.get::<_, Option<i64>>(5)? {
                    Some(_) => Some(timestamp(row, 5)?),
                    None => None,
                },
                tracking: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut order) = found else {
        return Ok(None);
    };
    order.tracking = connection
        .prepare_cached(TRACKING_OF_ORDER)?
        .query_map([order.id], |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(Some(order))
}

pub(super) fn mark_exported(
    connection: &Connection,
    service: &str,
    id: i64,
    final_state: Option<&str>,
    at: Timestamp,
) -> Result<Option<ServiceOrder>, Failure> {
    let changed = connection.prepare_cached(MARK_EXPORTED)?.execute(params![
        service,
        id,
        millis(at),
        final_state
    ])?;
    if changed == 0 {
        return Ok(None);
    }
    order(connection, service, id)
}

pub(super) fn add_tracking(
    connection: &Connection,
    service: &str,
    id: i64,
    number: &str,
    at: Timestamp,
) -> Result<Option<ServiceOrder>, Failure> {
    if order(connection, service, id)?.is_none() {
        return Ok(None);
    }
    connection
        .prepare_cached(INSERT_TRACKING)?
        .execute(params![id, number, millis(at)])?;
    order(connection, service, id)
}

pub(super) fn put_customers(
    connection: &Connection,
    service: &str,
    customers: &[(String, Vec<u8>)],
    at: Timestamp,
) -> Result<(), Failure> {
    let mut upsert = connection.prepare_cached(UPSERT_CUSTOMER)?;
    for (id, document) in customers {
        upsert.execute(params![service, id, document, millis(at)])?;
    }
    Ok(())
}

pub(super) fn list_customers(
    connection: &Connection,
    service: &str,
    since: Option<Timestamp>,
) -> Result<Vec<StoredCustomer>, Failure> {
    let since = since.map_or(i64::MIN, millis);
    Ok(connection
        .prepare_cached(CUSTOMERS_SINCE)?
        .query_map(params![service, since], |row| {
            Ok(StoredCustomer {
                id: row.get(0)?,
                document: row.get(1)?,
                updated_at: timestamp(row, 2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn put_price_rules(
    connection: &Connection,
    service: &str,
    rules: &[(String, Vec<u8>)],
    at: Timestamp,
) -> Result<(), Failure> {
    let mut upsert = connection.prepare_cached(UPSERT_PRICE_RULE)?;
    for (key, document) in rules {
        upsert.execute(params![service, key, document, millis(at)])?;
    }
    Ok(())
}

pub(super) fn price_rules(
    connection: &Connection,
    service: &str,
) -> Result<Vec<StoredPriceRule>, Failure> {
    Ok(connection
        .prepare_cached(PRICE_RULES)?
        .query_map(params![service], |row| {
            Ok(StoredPriceRule {
                key: row.get(0)?,
                document: row.get(1)?,
                updated_at: timestamp(row, 2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn put_sales_document(
    connection: &Connection,
    service: &str,
    document: &SalesDocument,
) -> Result<(), Failure> {
    connection
        .prepare_cached(UPSERT_SALES_DOCUMENT)?
        .execute(params![
            service,
            document.reference,
            document.document,
            document.pdf,
            millis(document.received_at)
        ])?;
    Ok(())
}

pub(super) fn sales_document(
    connection: &Connection,
    service: &str,
    reference: &str,
) -> Result<Option<SalesDocument>, Failure> {
    Ok(connection
        .prepare_cached(SALES_DOCUMENT)?
        .query_row(params![service, reference], |row| {
            Ok(SalesDocument {
                reference: row.get(0)?,
                document: row.get(1)?,
                pdf: row.get(2)?,
                received_at: timestamp(row, 3)?,
            })
        })
        .optional()?)
}
