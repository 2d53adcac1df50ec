//! Tradewire's canonical model of commerce documents.
//!
//! One Rust type per business document ([`Order`], [`Product`], [`ProductList`], [`Customer`],
//! [`PriceList`], [`PunchoutSession`], [`OrderStatusChange`], and the webservice calls
//! [`ServiceRequest`] / [`ServiceResponse`] that move them), exact money
//! ([`Money`], [`Currency`]), ISO countries ([`Country`]), and [`Diagnostics`] for
//! everything that can be wrong with outside input. No I/O happens here.
//!
//! Every document serialises with serde as JSON tagged with its contract id
//! (`{"contract": "order/v1", ...}`, see [`Document`]) and has a JSON Schema under
//! `schemas/` in the repository. Additive changes keep a contract's version; a field is
//! never repurposed.

mod acknowledgement;
mod country;
mod customer;
mod diagnostics;
mod document;
mod money;
mod order;
mod party;
mod price_rule;
mod product;
mod punchout;
pub mod schema;
mod service;
mod status;
mod vat;

pub use acknowledgement::{AckStatus, Acknowledgement};
pub use country::{Country, CountryNames, NameLanguage, UnknownCountry};
pub use customer::{Contact, Customer, CustomerList, Payer, PaymentTerms};
pub use diagnostics::{Accepted, Diagnostic, Diagnostics, Outcome, Severity, pointer_token};
pub use document::{Document, DocumentKind, UnknownContract, from_json_with_paths};
pub use money::{Currency, MinorUnitError, Money, UnknownCurrency};
pub use order::{
    Attachment, Classification, CouponPayment, Delivery, DeliveryMethod, DeliverySpeed, Discount,
    DocumentRef, LineKind, Manufacturer, OptionValue, Order, OrderKind, OrderLine, OrderStatus,
    Payment, PickupLocation, Price, Totals,
};
pub use party::{Address, Party};
pub use price_rule::{Adjustment, PriceList, PriceRule};
pub use product::{
    CategoryPrice, Dimensions, Image, Product, ProductList, ProductText, Variant, is_valid_gtin,
};
pub use punchout::{
    HookUrlError, PunchoutFunction, PunchoutSession, Secret, check_hook_url, redact_userinfo,
};
pub use service::{
    OperationKind, OrderRef, ProductRef, ServiceOperation, ServiceReply, ServiceRequest,
    ServiceResponse,
};
pub use status::OrderStatusChange;
pub use vat::DerivedVatRate;

/// Re-exported so adapters use the same decimal type as the model.
pub use rust_decimal::Decimal;
