//! What a served webservice keeps (the `econnecteur` service: the shop side of the
//! e-connecteur universal webservice): its catalogue, the orders waiting for the ERP and
//! those it took, customers, price rules, the ERP's sales documents with their PDF, and
//! tracking numbers. Every row belongs to one service by name, so that several services
//! share a store file.
//!
//! Documents are kept as canonical JSON (`contract` first), as the runtime moves them; the
//! store does not read them.

use serde::Serialize;

use crate::Timestamp;

/// Which list of a service's catalogue: products, or options (sold as products of their
/// own, listed and updated apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogueKind {
    Product,
    Option,
}

impl CatalogueKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Product => "product",
            Self::Option => "option",
        }
    }
}

/// How [`crate::Store::service_put_product`] treats an existing SKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Only a SKU the catalogue lacks (e-connecteur's `add_product`).
    Add,
    /// Only a SKU the catalogue has (`update_product`, `update_option`).
    Update,
    /// Either.
    Upsert,
}

/// What [`crate::Store::service_put_product`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Written; the entry's id.
    Done { id: i64 },
    /// [`PutMode::Add`] of a SKU the catalogue has (under `id`): nothing written.
    Exists { id: i64 },
    /// [`PutMode::Update`] of a SKU the catalogue lacks: nothing written.
    Unknown,
}

/// A catalogue entry as lists give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogueEntry {
    /// The service's id for it: given when it was first added, never reused. Lists are in
    /// this order, so an entry added later never shifts a page already read.
    pub id: i64,
    pub sku: String,
}

/// A catalogue entry whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredProduct {
    pub id: i64,
    pub sku: String,
    /// The canonical product (JSON).
    pub document: Vec<u8>,
    pub updated_at: Timestamp,
}

/// An order routed to a service, to wait for the ERP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewServiceOrder {
    /// The runtime's document it came as: an order is added once per document, so that a
    /// delivery retried after a crash does not add it twice.
    pub document: String,
    /// The state it waits in (the service's own code).
    pub state: String,
    /// The canonical order (JSON).
    pub order: Vec<u8>,
    pub received_at: Timestamp,
}

/// An order as `orders_list` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceOrderRef {
    pub id: i64,
    pub state: String,
}

/// An order whole, with what the ERP did with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceOrder {
    /// The service's id for it (e-connecteur's order `id`).
    pub id: i64,
    pub document: String,
    pub state: String,
    pub order: Vec<u8>,
    pub received_at: Timestamp,
    /// When the ERP marked it exported; it is listed no more.
    pub exported_at: Option<Timestamp>,
    /// Tracking numbers, in the order they came.
    pub tracking: Vec<String>,
}

/// A customer as a service keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCustomer {
    /// The customer's identifier (the ERP's `identifiant`, or the shop's customer id).
    pub id: String,
    /// The canonical customer (JSON, one entry of a customer list).
    pub document: Vec<u8>,
    /// When it was last written: `customers_list` by date reads it.
    pub updated_at: Timestamp,
}

/// A price rule as a service keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPriceRule {
    /// What identifies the rule (the grid's `ref`, else a digest of the rule).
    pub key: String,
    /// The canonical price rule (JSON).
    pub document: Vec<u8>,
    pub updated_at: Timestamp,
}

/// An ERP's sales document (quote, order, invoice) pushed to a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SalesDocument {
    /// The ERP's reference for it; a push under the same reference replaces it.
    pub reference: String,
    /// The canonical order (JSON).
    pub document: Vec<u8>,
    /// The document as a PDF, when the ERP sent one.
    pub pdf: Option<Vec<u8>>,
    pub received_at: Timestamp,
}
