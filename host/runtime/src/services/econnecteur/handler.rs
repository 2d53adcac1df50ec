//! Each resource of the universal webservice over the store: what a call reads or keeps,
//! what it answers, and what it emits on the service's outputs.
//!
//! The vendor's rules: `update_product` of an unknown reference and `add_product` of an
//! existing one are errors; `add_customer` and `add_grilles` add or update. `update_option`
//! adds or updates too: no resource adds an option, so the first update must.

use base64::Engine as _;
use chrono::{NaiveDate, TimeDelta, Utc};
use tradewire_core::{
    Customer, CustomerList, Document, DocumentKind, Order, OrderRef, OrderStatusChange, Product,
    ProductRef, ServiceOperation, ServiceReply, ServiceResponse,
};
use tradewire_store::service::{CatalogueKind, NewServiceOrder, Put, PutMode, SalesDocument};
use tradewire_store::{Store, StoreError, Timestamp};

use super::{EconnecteurService, TakeError, errors_of};
use crate::ingest::content_hash;

/// A canonical document for one of the service's outputs ([`super::OUTPUTS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    pub output: &'static str,
    pub document: Document,
}

/// A call carried out: the answer, and what to emit before it is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    pub response: ServiceResponse,
    pub emitted: Vec<Emitted>,
}

impl Handled {
    fn answer(reply: ServiceReply) -> Self {
        Self {
            response: ServiceResponse::new(reply),
            emitted: Vec::new(),
        }
    }

    fn error(message: impl Into<String>) -> Self {
        Self {
            response: ServiceResponse::error(message),
            emitted: Vec::new(),
        }
    }

    fn emitting(reply: ServiceReply, output: &'static str, document: Document) -> Self {
        Self {
            response: ServiceResponse::new(reply),
            emitted: vec![Emitted { output, document }],
        }
    }
}

pub(super) async fn handle(
    service: &EconnecteurService,
    store: &dyn Store,
    operation: ServiceOperation,
) -> Result<Handled, StoreError> {
    let name = service.name.as_str();
    let now = Utc::now();
    let kind = operation.kind();
    match operation {
        ServiceOperation::ListProducts { offset, count } => {
            let products = list(store, name, CatalogueKind::Product, offset, count).await?;
            Ok(Handled::answer(ServiceReply::ProductRefs { products }))
        }
        ServiceOperation::ListOptions { offset, count } => {
            let options = list(store, name, CatalogueKind::Option, offset, count).await?;
            Ok(Handled::answer(ServiceReply::OptionRefs { options }))
        }
        ServiceOperation::AddProduct { product } => {
            put(
                store,
                name,
                CatalogueKind::Product,
                PutMode::Add,
                product,
                now,
                kind,
            )
            .await
        }
        ServiceOperation::UpdateProduct { product } => {
            put(
                store,
                name,
                CatalogueKind::Product,
                PutMode::Update,
                product,
                now,
                kind,
            )
            .await
        }
        ServiceOperation::UpdateOption { product } => {
            put(
                store,
                name,
                CatalogueKind::Option,
                PutMode::Upsert,
                product,
                now,
                kind,
            )
            .await
        }
        ServiceOperation::ListOrders { states } => {
            let orders = store
                .service_list_orders(name, &service.states(&states))
                .await?
                .into_iter()
                .map(|o| OrderRef {
                    id: o.id.to_string(),
                    state: Some(o.state),
                })
                .collect();
            Ok(Handled::answer(ServiceReply::OrderRefs { orders }))
        }
        ServiceOperation::GetOrder { order_id } => {
            let Some(id) = order_number(&order_id) else {
                return Ok(no_such_order(&order_id));
            };
            let Some(stored) = store.service_order(name, id).await? else {
                return Ok(no_such_order(&order_id));
            };
            Ok(
                match Document::from_json(&stored.order, Some(DocumentKind::Order)) {
                    Ok(Document::Order(order)) => Handled::answer(ServiceReply::Order { order }),
                    Ok(_) | Err(_) => Handled::error(format!(
                        "order {id} is kept in a form this version cannot read"
                    )),
                },
            )
        }
        ServiceOperation::SetOrderExported {
            order_id,
            final_status,
        } => {
            let Some(id) = order_number(&order_id) else {
                return Ok(no_such_order(&order_id));
            };
            let Some(order) = store
                .service_mark_exported(name, id, final_status.as_deref(), now)
                .await?
            else {
                return Ok(no_such_order(&order_id));
            };
            let change = OrderStatusChange {
                order_id: order_identity(&order.order, &order.document),
                source_status: final_status.clone(),
                exported: true,
                changed_at: Some(now.fixed_offset()),
                ..OrderStatusChange::default()
            };
            Ok(Handled::emitting(
                ServiceReply::OrderExported {
                    order_id: id.to_string(),
                    final_status,
                },
                "status_changes",
                Document::OrderStatusChange(change),
            ))
        }
        ServiceOperation::AddTracking {
            order_id,
            tracking_number,
        } => {
            let Some(id) = order_number(&order_id) else {
                return Ok(no_such_order(&order_id));
            };
            let Some(order) = store
                .service_add_tracking(name, id, &tracking_number, now)
                .await?
            else {
                return Ok(no_such_order(&order_id));
            };
            let change = OrderStatusChange {
                order_id: order_identity(&order.order, &order.document),
                tracking_numbers: vec![tracking_number.clone()],
                changed_at: Some(now.fixed_offset()),
                ..OrderStatusChange::default()
            };
            Ok(Handled::emitting(
                ServiceReply::TrackingAdded {
                    order_id: id.to_string(),
                    tracking_number,
                },
                "status_changes",
                Document::OrderStatusChange(change),
            ))
        }
        ServiceOperation::ListCustomers { changed_since } => {
            let since = changed_since.map(start_of_day_anywhere);
            let mut customers = Vec::new();
            for stored in store.service_list_customers(name, since).await? {
                match Document::from_json(&stored.document, Some(DocumentKind::Customer)) {
                    Ok(Document::Customer(customer)) => customers.push(customer),
                    Ok(_) | Err(_) => {
                        return Ok(Handled::error(format!(
                            "customer {} is kept in a form this version cannot read",
                            stored.id
                        )));
                    }
                }
            }
            Ok(Handled::answer(ServiceReply::Customers {
                customers: CustomerList { customers },
            }))
        }
        ServiceOperation::UpsertCustomers { customers } => {
            let mut rows = Vec::with_capacity(customers.customers.len());
            for (index, customer) in customers.customers.iter().enumerate() {
                let Some(id) = customer_id(customer) else {
                    return Ok(Handled::error(format!(
                        "customer {} has no identifier (identifiant or codetiers)",
                        index + 1
                    )));
                };
                rows.push((id, Document::Customer(customer.clone()).to_json()));
            }
            store.service_put_customers(name, rows, now).await?;
            Ok(Handled::emitting(
                ServiceReply::Done { operation: kind },
                "customers",
                Document::CustomerList(customers),
            ))
        }
        ServiceOperation::UpsertPriceRules { price_list } => {
            let rows = price_list
                .rules
                .iter()
                .map(|rule| {
                    let json = serde_json::to_vec(rule).unwrap_or_default();
                    let key = rule.id.clone().unwrap_or_else(|| content_hash(&json));
                    (key, json)
                })
                .collect();
            store.service_put_price_rules(name, rows, now).await?;
            Ok(Handled::emitting(
                ServiceReply::Done { operation: kind },
                "price_rules",
                Document::PriceList(price_list),
            ))
        }
        ServiceOperation::AddSalesDocument {
            mut order,
            pdf_base64,
        } => {
            let Some(reference) = order
                .reference
                .clone()
                .or_else(|| order.id.clone())
                .filter(|r| !r.trim().is_empty())
            else {
                return Ok(Handled::error(
                    "a sales document needs its reference (commande/reference)",
                ));
            };
            let pdf = match pdf_base64.as_deref().map(decode_pdf).transpose() {
                Ok(pdf) => pdf,
                Err(why) => return Ok(Handled::error(why)),
            };
            store
                .service_put_sales_document(
                    name,
                    SalesDocument {
                        reference,
                        document: Document::Order(order.clone()).to_json(),
                        pdf,
                        received_at: now,
                    },
                )
                .await?;
            // Downstream, the PDF travels with the document, as the order message reads it.
            if let Some(pdf) = pdf_base64 {
                order.extensions.insert("pdf".to_owned(), pdf);
            }
            Ok(Handled::emitting(
                ServiceReply::Done { operation: kind },
                "documents",
                Document::Order(order),
            ))
        }
    }
}

async fn list(
    store: &dyn Store,
    service: &str,
    kind: CatalogueKind,
    offset: Option<u64>,
    count: Option<u64>,
) -> Result<Vec<ProductRef>, StoreError> {
    Ok(store
        .service_list_products(service, kind, offset.unwrap_or(0), count)
        .await?
        .into_iter()
        .map(|entry| ProductRef {
            id: entry.id.to_string(),
            sku: entry.sku,
        })
        .collect())
}

async fn put(
    store: &dyn Store,
    service: &str,
    kind: CatalogueKind,
    mode: PutMode,
    product: Product,
    at: Timestamp,
    operation: tradewire_core::OperationKind,
) -> Result<Handled, StoreError> {
    let document = Document::Product(product.clone()).to_json();
    let put = store
        .service_put_product(service, kind, &product.sku, document.clone(), mode, at)
        .await?;
    let sku = product.sku.clone();
    Ok(match put {
        Put::Done { .. } => Handled::emitting(
            ServiceReply::Done { operation },
            "products",
            Document::Product(product),
        ),
        Put::Exists { id } => {
            let mut refused = Handled::error(format!(
                "the product {sku:?} exists already (id {id}): update it with update_product"
            ));
            // The very push kept before: e-connecteur sends it again when it got no
            // answer, and the first emission may not have been committed. Refused as the
            // vendor says, and emitted again, so that none is lost downstream.
            let kept = store.service_product(service, kind, &sku).await?;
            if kept.is_some_and(|kept| kept.document == document) {
                refused.emitted.push(Emitted {
                    output: "products",
                    document: Document::Product(product),
                });
            }
            refused
        }
        Put::Unknown => {
            Handled::error(format!("no product {sku:?}: add it with add_product first"))
        }
    })
}

/// An order routed to the service, kept to wait for the ERP.
pub(super) async fn take_order(
    service: &EconnecteurService,
    store: &dyn Store,
    document: &str,
    payload: &[u8],
) -> Result<i64, TakeError> {
    let order = match Document::from_json(payload, Some(DocumentKind::Order)) {
        Ok(Document::Order(order)) => order,
        Ok(other) => {
            return Err(TakeError::Refused(format!(
                "the service keeps orders for the ERP, not {}",
                other.kind().contract_id()
            )));
        }
        Err(diagnostics) => return Err(TakeError::Refused(errors_of(&diagnostics))),
    };
    // An order the webservice could not give the ERP is refused now, not at every call.
    service
        .writable(&ServiceResponse::new(ServiceReply::Order {
            order: order.clone(),
        }))
        .await
        .map_err(|d| {
            TakeError::Refused(format!(
                "the order cannot be written for the ERP: {}",
                errors_of(&d)
            ))
        })?;
    let now = Utc::now();
    let id = store
        .service_add_order(
            &service.name,
            NewServiceOrder {
                document: document.to_owned(),
                state: service.order_state.clone(),
                order: payload.to_vec(),
                received_at: now,
            },
        )
        .await?;
    if let Some(customer) = customer_of(&order) {
        let id = customer_id(&customer).unwrap_or_default();
        store
            .service_put_customers(
                &service.name,
                vec![(id, Document::Customer(customer).to_json())],
                now,
            )
            .await?;
    }
    Ok(id)
}

/// The shop's customer an order names (by id, else by e-mail), with its addresses.
fn customer_of(order: &Order) -> Option<Customer> {
    let party = order.customer.as_ref()?;
    let id = party
        .id
        .clone()
        .or_else(|| party.email.clone())
        .filter(|id| !id.trim().is_empty())?;
    Some(Customer {
        id: Some(id),
        erp_code: party.erp_code.clone(),
        company: party.company.clone(),
        first_name: party.first_name.clone(),
        last_name: party.last_name.clone(),
        email: party.email.clone(),
        phone: party.phone.clone(),
        vat_number: party.vat_number.clone(),
        billing_address: order.billing_address.clone(),
        delivery_addresses: order.delivery_address.clone().into_iter().collect(),
        ..Customer::default()
    })
}

fn customer_id(customer: &Customer) -> Option<String> {
    customer
        .id
        .clone()
        .or_else(|| customer.erp_code.clone())
        .filter(|id| !id.trim().is_empty())
}

/// What names an order downstream: the source's id, else its reference, else the
/// document it came as.
fn order_identity(order: &[u8], document: &str) -> String {
    match Document::from_json(order, Some(DocumentKind::Order)) {
        Ok(Document::Order(order)) => order
            .id
            .or(order.reference)
            .unwrap_or_else(|| document.to_owned()),
        _ => document.to_owned(),
    }
}

/// The webservice's order ids are whole numbers.
fn order_number(id: &str) -> Option<i64> {
    id.trim().parse().ok()
}

fn no_such_order(id: &str) -> Handled {
    Handled::error(format!("no order {id:?}"))
}

/// The earliest instant `date` began anywhere (UTC+14): e-connecteur's date has no zone,
/// and listing a customer once too many is harmless where once too few is not.
fn start_of_day_anywhere(date: NaiveDate) -> Timestamp {
    date.and_time(chrono::NaiveTime::MIN).and_utc() - TimeDelta::hours(14)
}

fn decode_pdf(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| format!("the pdf is not base64: {e}"))
}
