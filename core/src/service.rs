//! Calls to a commerce webservice and their answers, in protocol-neutral terms.
//!
//! Some protocols are not a single document but a small API: an ERP connector calls the
//! shop's webservice to list products, push a product or a price grid, fetch an order,
//! mark it exported (e-connecteur's universal webservice is one). A [`ServiceRequest`] is
//! one such call: what is asked ([`ServiceOperation`]) and the credential it comes with.
//! A [`ServiceResponse`] is the answer ([`ServiceReply`]): references, a document, an
//! acknowledgement or an error. Both carry the canonical documents the call moves
//! ([`Product`], [`Order`], [`CustomerList`], [`PriceList`]) rather than protocol fields.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{CustomerList, Diagnostics, Order, PriceList, Product, Secret};

/// Which operation a call asks for, without its arguments (see [`ServiceOperation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    ListProducts,
    ListOptions,
    UpdateProduct,
    AddProduct,
    UpdateOption,
    ListOrders,
    GetOrder,
    SetOrderExported,
    AddTracking,
    ListCustomers,
    UpsertCustomers,
    UpsertPriceRules,
    AddSalesDocument,
}

/// What a call asks the service to do, with its arguments.
// One value per call, moved a few times: boxing the large variants would cost an
// allocation per call to save a memcpy.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServiceOperation {
    /// The products the service knows, as id/SKU pairs, optionally one page of them.
    ListProducts {
        /// How many to skip.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<u64>,
        /// How many to return at most.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
    },
    /// The product options (sold as products of their own) the service knows, paged as
    /// [`Self::ListProducts`].
    ListOptions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
    },
    /// Update an existing product, found by its SKU; an unknown SKU is an error.
    UpdateProduct { product: Product },
    /// Create a product; a SKU that already exists is an error.
    AddProduct { product: Product },
    /// Update an existing product option, found by its SKU.
    UpdateOption { product: Product },
    /// The orders ready to be taken, optionally only those in the given states (the
    /// service's own state codes or names, as the caller was configured with them).
    ListOrders {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        states: Vec<String>,
    },
    /// One order in full.
    GetOrder { order_id: String },
    /// The order was taken over by the caller; move it to `final_status` (the service's
    /// own status code) when given.
    SetOrderExported {
        order_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        final_status: Option<String>,
    },
    /// The order shipped with this tracking number.
    AddTracking {
        order_id: String,
        tracking_number: String,
    },
    /// The customers, or only those changed since a date.
    ListCustomers {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        changed_since: Option<NaiveDate>,
    },
    /// Create or update these customers (matched on their identifiers).
    UpsertCustomers { customers: CustomerList },
    /// Create or update these price rules (matched on their identifiers).
    UpsertPriceRules { price_list: PriceList },
    /// A sales document of the caller (an ERP's quote, order, invoice) to show in the
    /// service, with the document itself as a PDF when the caller has one.
    AddSalesDocument {
        order: Order,
        /// The PDF, base64 (RFC 4648, standard alphabet).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pdf_base64: Option<String>,
    },
}

impl ServiceOperation {
    pub fn kind(&self) -> OperationKind {
        match self {
            Self::ListProducts { .. } => OperationKind::ListProducts,
            Self::ListOptions { .. } => OperationKind::ListOptions,
            Self::UpdateProduct { .. } => OperationKind::UpdateProduct,
            Self::AddProduct { .. } => OperationKind::AddProduct,
            Self::UpdateOption { .. } => OperationKind::UpdateOption,
            Self::ListOrders { .. } => OperationKind::ListOrders,
            Self::GetOrder { .. } => OperationKind::GetOrder,
            Self::SetOrderExported { .. } => OperationKind::SetOrderExported,
            Self::AddTracking { .. } => OperationKind::AddTracking,
            Self::ListCustomers { .. } => OperationKind::ListCustomers,
            Self::UpsertCustomers { .. } => OperationKind::UpsertCustomers,
            Self::UpsertPriceRules { .. } => OperationKind::UpsertPriceRules,
            Self::AddSalesDocument { .. } => OperationKind::AddSalesDocument,
        }
    }

    fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        match self {
            Self::ListProducts { count, .. } | Self::ListOptions { count, .. } => {
                if *count == Some(0) {
                    d.warning(
                        "/count",
                        "service.empty_page",
                        "a page of 0 entries returns nothing",
                    );
                }
            }
            Self::UpdateProduct { product }
            | Self::AddProduct { product }
            | Self::UpdateOption { product } => d.extend_under("/product", product.validate()),
            Self::ListOrders { .. } | Self::ListCustomers { .. } => {}
            Self::GetOrder { order_id } | Self::SetOrderExported { order_id, .. } => {
                require("/order_id", order_id, &mut d);
            }
            Self::AddTracking {
                order_id,
                tracking_number,
            } => {
                require("/order_id", order_id, &mut d);
                require("/tracking_number", tracking_number, &mut d);
            }
            Self::UpsertCustomers { customers } => {
                d.extend_under("/customers", customers.validate());
            }
            Self::UpsertPriceRules { price_list } => {
                d.extend_under("/price_list", price_list.validate());
            }
            Self::AddSalesDocument { order, .. } => d.extend_under("/order", order.validate()),
        }
        d
    }
}

fn require(path: &str, value: &str, d: &mut Diagnostics) {
    if value.trim().is_empty() {
        d.error(
            path,
            "service.value_missing",
            format!("{} is required", path.trim_start_matches('/')),
        );
    }
}

/// One call to a webservice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceRequest {
    /// The caller's credential (e-connecteur `key`), carried for the host to check. It
    /// never prints; it serialises in full because the host needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Secret>,
    pub operation: ServiceOperation,
    /// Fields of the call the model has no place for, kept by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, String>,
}

impl ServiceRequest {
    /// A call without credential or extensions.
    pub fn new(operation: ServiceOperation) -> Self {
        Self {
            credential: None,
            operation,
            extensions: BTreeMap::new(),
        }
    }

    /// Checks the documents the call carries and the arguments it needs.
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        d.extend_under("/operation", self.operation.validate());
        d
    }
}

/// A product (or option) as a list answers it: the service's id and the SKU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductRef {
    /// The service's own identifier.
    pub id: String,
    /// The article code systems match products on.
    pub sku: String,
}

/// An order as a list answers it: its id and the state it is in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderRef {
    pub id: String,
    /// The service's own state code (the caller decides what it may take).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// What a webservice answers.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServiceReply {
    /// Answer to [`ServiceOperation::ListProducts`].
    ProductRefs { products: Vec<ProductRef> },
    /// Answer to [`ServiceOperation::ListOptions`].
    OptionRefs { options: Vec<ProductRef> },
    /// Answer to [`ServiceOperation::ListOrders`].
    OrderRefs { orders: Vec<OrderRef> },
    /// Answer to [`ServiceOperation::GetOrder`].
    Order { order: Order },
    /// Answer to [`ServiceOperation::SetOrderExported`]: what was set.
    OrderExported {
        order_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        final_status: Option<String>,
    },
    /// Answer to [`ServiceOperation::AddTracking`]: what was recorded.
    TrackingAdded {
        order_id: String,
        tracking_number: String,
    },
    /// Answer to [`ServiceOperation::ListCustomers`].
    Customers { customers: CustomerList },
    /// The operation was carried out; nothing more to say.
    Done { operation: OperationKind },
    /// The call failed; `message` says why, for people.
    Error { message: String },
}

/// The answer to one [`ServiceRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceResponse {
    pub reply: ServiceReply,
}

impl ServiceResponse {
    pub fn new(reply: ServiceReply) -> Self {
        Self { reply }
    }

    /// An error answer.
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(ServiceReply::Error {
            message: message.into(),
        })
    }

    /// Checks the documents the answer carries.
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        match &self.reply {
            ServiceReply::ProductRefs { products: refs }
            | ServiceReply::OptionRefs { options: refs } => {
                for (i, r) in refs.iter().enumerate() {
                    if r.id.trim().is_empty() {
                        d.error(
                            format!("/reply/{}/{i}/id", list_field(&self.reply)),
                            "service.value_missing",
                            "id is required",
                        );
                    }
                }
            }
            ServiceReply::OrderRefs { orders } => {
                for (i, order) in orders.iter().enumerate() {
                    require(&format!("/reply/orders/{i}/id"), &order.id, &mut d);
                }
            }
            ServiceReply::Order { order } => d.extend_under("/reply/order", order.validate()),
            ServiceReply::OrderExported { order_id, .. } => {
                require("/reply/order_id", order_id, &mut d);
            }
            ServiceReply::TrackingAdded {
                order_id,
                tracking_number,
            } => {
                require("/reply/order_id", order_id, &mut d);
                require("/reply/tracking_number", tracking_number, &mut d);
            }
            ServiceReply::Customers { customers } => {
                d.extend_under("/reply/customers", customers.validate());
            }
            ServiceReply::Done { .. } => {}
            ServiceReply::Error { message } => require("/reply/message", message, &mut d),
        }
        d
    }
}

fn list_field(reply: &ServiceReply) -> &'static str {
    match reply {
        ServiceReply::OptionRefs { .. } => "options",
        _ => "products",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Currency, Document, DocumentKind};

    #[test]
    fn the_credential_never_prints_but_serialises() {
        let request = ServiceRequest {
            credential: Some(Secret::new("s3cret-key")),
            ..ServiceRequest::new(ServiceOperation::ListProducts {
                offset: Some(0),
                count: Some(500),
            })
        };
        assert!(!format!("{request:?}").contains("s3cret-key"));
        let json = Document::ServiceRequest(request.clone()).to_json();
        assert!(String::from_utf8_lossy(&json).contains("s3cret-key"));
        assert_eq!(
            Document::from_json(&json, Some(DocumentKind::ServiceRequest)),
            Ok(Document::ServiceRequest(request))
        );
    }

    #[test]
    fn nested_documents_are_validated_at_their_path() {
        let request = ServiceRequest::new(ServiceOperation::AddSalesDocument {
            order: Order::new(Currency::EUR),
            pdf_base64: None,
        });
        let d = request.validate();
        assert_eq!(d.as_slice()[0].path, "/operation/order/lines");
        assert_eq!(d.as_slice()[0].code, "order.no_lines");

        let tracking = ServiceRequest::new(ServiceOperation::AddTracking {
            order_id: "12".into(),
            tracking_number: " ".into(),
        });
        assert_eq!(
            tracking.validate().as_slice()[0].path,
            "/operation/tracking_number"
        );
    }

    #[test]
    fn answers_are_tagged_by_type() {
        let answer = ServiceResponse::new(ServiceReply::Done {
            operation: OperationKind::UpsertPriceRules,
        });
        let json =
            String::from_utf8(Document::ServiceResponse(answer).to_json()).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"contract":"service-response/v1","reply":{"type":"done","operation":"upsert_price_rules"}}"#
        );
        assert_eq!(
            ServiceResponse::error("").validate().as_slice()[0].code,
            "service.value_missing"
        );
    }
}
