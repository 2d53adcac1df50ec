//! Adapter `payment-order`: the `order` object of a Payline (Monext) payment request, to
//! and from the canonical [`Order`].
//!
//! A payment request to Payline carries an `order` that says what is paid for. The
//! provider refuses a request whose order breaks its formats, and uses `ref` to detect
//! duplicate requests. Two messages carry the same object:
//!
//! - `order` (`application/json`): the object as JSON with the specification's field
//!   names, every value a string, exactly the text the SOAP form carries;
//! - `order-soap` (`text/xml`): the SOAP `order` element of the web-payment API
//!   (namespace `http://obj.ws.payline.experian.com`), ready to sit inside a
//!   `doWebPaymentRequest`. Decoding accepts a bare `order` element or any document
//!   holding one, such as a whole SOAP envelope.
//!
//! `ref` is the order's idempotency key: decoding puts it in `reference`, encoding takes
//! `reference` (else `id`). The README has the field tables, formats, config and what is
//! refused.
//!
//! Diagnostics name the protocol's field when decoding (`/ref` and `/details/0/taxRate`
//! in JSON; `/order/ref` and `/order/details/details[1]/taxRate` in SOAP) and the JSON
//! Pointer into the canonical order when encoding (`/lines/0/vat_rate`). Codes start
//! with `payline.`.

mod config;
mod decode;
mod encode;
mod fields;
mod json_form;
mod soap_form;
mod text;

use tradewire_sdk::core::Order;
use tradewire_sdk::{
    Adapter, AdapterInfo, Diagnostic, Diagnostics, Document, DocumentKind, MessageSpec, Outcome,
};

pub use config::{
    DeliveryModeCodes, DeliveryTimeCodes, LATEST_ORDER_VERSION, PaymentOrderConfig, SoapElement,
};

use config::Settings;
use fields::Form;

/// The order object as JSON.
pub const ORDER: &str = "order";
/// The order object as the SOAP `order` element.
pub const ORDER_SOAP: &str = "order-soap";

/// The canonical field that holds Payline's `ref`, the key Payline detects duplicate
/// requests by: the document's idempotency key for a host's store (a JSON Pointer into
/// the canonical order).
pub const IDEMPOTENCY_KEY: &str = "/reference";

/// The adapter: a checked [`PaymentOrderConfig`].
#[derive(Debug, Clone)]
pub struct PaymentOrder {
    settings: Settings,
}

tradewire_sdk::export_adapter!(PaymentOrder);

impl Adapter for PaymentOrder {
    type Config = PaymentOrderConfig;

    fn describe() -> AdapterInfo {
        AdapterInfo {
            name: "payment-order".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "Tradewire".into(),
            description: "The Payline (Monext) payment order object, as JSON and as SOAP.".into(),
            messages: vec![
                MessageSpec::both(ORDER, DocumentKind::Order, "application/json").described(
                    "Payline's `order` object as JSON with the specification's field names; \
                     `ref` is the idempotency key (canonical `/reference`).",
                )
                .keyed_by("/reference"),
                MessageSpec::both(ORDER_SOAP, DocumentKind::Order, "text/xml").described(
                    "Payline's SOAP `order` element (obj namespace), for a doWebPaymentRequest; \
                     decodes a bare element or a SOAP envelope holding one.",
                )
                .keyed_by("/reference"),
            ],
        }
    }

    fn new(config: PaymentOrderConfig) -> Result<Self, Diagnostics> {
        Ok(Self {
            settings: Settings::new(config)?,
        })
    }

    fn decode(&self, message: &str, input: &[u8]) -> Outcome<Document> {
        let mut d = Diagnostics::new();
        let order = match message {
            ORDER => json_form::read(input, &mut d)
                .map(|raw| decode::to_order(&raw, Form::Json, &self.settings, &mut d)),
            ORDER_SOAP => soap_form::parse(input, &mut d).and_then(|root| {
                let raw = soap_form::read(&root, &mut d)?;
                Some(decode::to_order(&raw, Form::Soap, &self.settings, &mut d))
            }),
            other => return Err(unknown_message(other)),
        };
        match order {
            Some(order) => d.finish(Document::Order(order)),
            None => Err(d),
        }
    }

    fn encode(&self, message: &str, document: &Document) -> Outcome<Vec<u8>> {
        if message != ORDER && message != ORDER_SOAP {
            return Err(unknown_message(message));
        }
        let Document::Order(order) = document else {
            return Err(Diagnostic::error(
                "/contract",
                "payline.wrong_document",
                format!(
                    "a Payline order is written from an `order/v1` document, not a `{}`",
                    document.kind().contract_id()
                ),
            )
            .into());
        };
        self.encode_order(message, order)
    }
}

impl PaymentOrder {
    fn encode_order(&self, message: &str, order: &Order) -> Outcome<Vec<u8>> {
        let mut d = Diagnostics::new();
        let raw = encode::from_order(order, &self.settings, &mut d);
        if d.has_errors() {
            return Err(d);
        }
        let bytes = if message == ORDER {
            json_form::write(&raw)
        } else {
            match soap_form::write(&raw, self.settings.soap_element) {
                Ok(bytes) => bytes,
                Err(problems) => {
                    d.extend(problems);
                    return Err(d);
                }
            }
        };
        d.finish(bytes)
    }
}

fn unknown_message(message: &str) -> Diagnostics {
    Diagnostic::error(
        "",
        "payline.unknown_message",
        format!("this adapter speaks `{ORDER}` and `{ORDER_SOAP}`, not `{message}`"),
    )
    .into()
}
