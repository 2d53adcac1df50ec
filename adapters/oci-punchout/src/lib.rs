//! Tradewire adapter `oci-punchout`: the SAP OCI 4.0/5.0 punchout round trip and the
//! cXML order that follows it.
//!
//! | message          | canonical document    | protocol side                                             |
//! |------------------|-----------------------|-----------------------------------------------------------|
//! | `login`          | `punchout-session/v1` | the call-up: a query string, URL or form body             |
//! | `cart`           | `order/v1` (cart)     | the `NEW_ITEM-<FIELD>[n]` form body posted to the hook URL |
//! | `cart-page`      | `order/v1` (cart)     | the HTML page that posts that form through the browser    |
//! | `order-request`  | `order/v1`            | cXML 1.2.063 `OrderRequest`                               |
//! | `order-response` | `acknowledgement/v1`  | cXML 1.2.063 `Response`                                   |
//!
//! Every message decodes and encodes, so each can be checked by a round trip; the field
//! mapping, what is configurable and what is refused are in the crate's README.
//!
//! Diagnostics name the protocol's field when decoding (`NEW_ITEM-PRICE[3]`, `hook_url`,
//! `/cXML/Request/OrderRequest/ItemOut[2]/@quantity`) and a JSON Pointer into the
//! canonical document when encoding (`/lines/2/unit_price/net`). Codes start with `oci.`,
//! except the SDK parsers' own (`form.invalid_encoding`, `xml.malformed`). No diagnostic
//! ever quotes a password or shared secret.

mod cart;
mod config;
mod cxml;
mod fields;
mod login;
mod page;
mod url;

pub use cart::{EXT_CHARSET, EXT_FORM_PREFIX, EXT_HOOK_URL, EXT_RETURNTARGET, MATGROUP_DOMAIN};
pub use config::{
    Config, CredentialConfig, CustField, CxmlConfig, FieldMapping, LineIdentifier, OciVersion,
};
pub use cxml::{CXML_VERSION, ext as cxml_ext};

use tradewire_sdk::{
    Adapter, AdapterInfo, CallContext, Diagnostic, Diagnostics, Document, DocumentKind,
    MessageSpec, Outcome, form,
};

use crate::config::Settings;

/// Message names, as used on the CLI and in pipelines.
pub mod message {
    pub const LOGIN: &str = "login";
    pub const CART: &str = "cart";
    pub const CART_PAGE: &str = "cart-page";
    pub const ORDER_REQUEST: &str = "order-request";
    pub const ORDER_RESPONSE: &str = "order-response";
}

const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";
const CXML_MEDIA_TYPE: &str = "text/xml";

/// The adapter: a checked [`Config`].
#[derive(Debug, Clone)]
pub struct OciPunchout {
    settings: Settings,
}

tradewire_sdk::export_adapter!(OciPunchout);

impl Adapter for OciPunchout {
    type Config = Config;

    fn describe() -> AdapterInfo {
        AdapterInfo {
            name: "oci-punchout".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "Tradewire".into(),
            description: "SAP OCI 4.0/5.0 punchout: the login, the cart as form body and as \
                          HTML page, and the cXML OrderRequest and Response that follow."
                .into(),
            messages: vec![
                MessageSpec::both(message::LOGIN, DocumentKind::PunchoutSession, FORM_MEDIA_TYPE)
                    .described("The OCI call-up (GET query, URL or POST body) with username, password, hook_url and the OCI parameters."),
                MessageSpec::both(message::CART, DocumentKind::Order, FORM_MEDIA_TYPE)
                    .described("The cart as NEW_ITEM-<FIELD>[n] form fields, in the session's charset."),
                MessageSpec::both(message::CART_PAGE, DocumentKind::Order, "text/html")
                    .described("The HTML page that posts the cart to the hook URL through the browser."),
                MessageSpec::both(message::ORDER_REQUEST, DocumentKind::Order, CXML_MEDIA_TYPE)
                    .described("A cXML 1.2.063 OrderRequest, valid against the cXML DTD.")
                    .keyed_by("/extensions/cxml.payloadID"),
                MessageSpec::both(message::ORDER_RESPONSE, DocumentKind::Acknowledgement, CXML_MEDIA_TYPE)
                    .described("The cXML Response a supplier answers an OrderRequest with."),
            ],
        }
    }

    fn new(config: Config) -> Result<Self, Diagnostics> {
        Ok(Self {
            settings: Settings::new(config)?,
        })
    }

    fn decode(&self, message: &str, input: &[u8]) -> Outcome<Document> {
        let settings = &self.settings;
        match message {
            message::LOGIN => {
                login::decode_login(settings, input).map(|accepted| accepted.map(Document::from))
            }
            message::CART => {
                let form = form::decode_form(input, settings.charset)?;
                let mut d = Diagnostics::new();
                let order = cart::decode_cart(settings, form.iter(), &mut d);
                d.finish(Document::from(order))
            }
            message::CART_PAGE => {
                page::decode_page(settings, input).map(|accepted| accepted.map(Document::from))
            }
            message::ORDER_REQUEST => cxml::decode_order_request(settings, input)
                .map(|accepted| accepted.map(Document::from)),
            message::ORDER_RESPONSE => {
                cxml::decode_response(input).map(|accepted| accepted.map(Document::from))
            }
            other => Err(unknown_message(other)),
        }
    }

    fn encode(&self, message: &str, document: &Document) -> Outcome<Vec<u8>> {
        let settings = &self.settings;
        match (message, document) {
            (message::LOGIN, Document::PunchoutSession(session)) => {
                login::encode_login(settings, session)
            }
            (message::CART, Document::Order(order)) => {
                let mut d = Diagnostics::new();
                let pairs = cart::encode_cart(settings, order, &mut d);
                let charset = match order.extensions.get(EXT_CHARSET) {
                    Some(label) => config::resolve_charset(label).unwrap_or_else(|| {
                        d.push(config::unknown_charset(
                            &format!(
                                "/extensions/{}",
                                tradewire_sdk::core::pointer_token(EXT_CHARSET)
                            ),
                            label,
                        ));
                        settings.charset
                    }),
                    None => settings.charset,
                };
                let body = form::encode_form(
                    pairs
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_str())),
                    charset,
                );
                d.finish(body)
            }
            (message::CART_PAGE, Document::Order(order)) => page::encode_page(settings, order),
            (message::ORDER_REQUEST, Document::Order(order)) => {
                cxml::encode_order_request(settings, order)
            }
            (message::ORDER_RESPONSE, Document::Acknowledgement(ack)) => {
                cxml::encode_response(settings, ack)
            }
            (
                message::LOGIN
                | message::CART
                | message::CART_PAGE
                | message::ORDER_REQUEST
                | message::ORDER_RESPONSE,
                other,
            ) => Err(Diagnostic::error(
                "/contract",
                "oci.wrong_document",
                format!(
                    "`{message}` is not written from a `{}` document",
                    other.kind()
                ),
            )
            .into()),
            (other, _) => Err(unknown_message(other)),
        }
    }

    /// A cart of a punchout session goes where the session says, with what it says: its
    /// hook URL, return target, charset and SAP fields (`~OkCode`, `~TARGET`, `~CALLER`)
    /// replace the order's own, so that a cart cannot send itself anywhere else.
    fn encode_in_context(
        &self,
        message: &str,
        document: &Document,
        context: &CallContext,
    ) -> Outcome<Vec<u8>> {
        match (message, document, &context.punchout_session) {
            (message::CART | message::CART_PAGE, Document::Order(order), Some(session)) => {
                let order = cart::for_session(order, session);
                self.encode(message, &Document::Order(order))
            }
            _ => self.encode(message, document),
        }
    }
}

fn unknown_message(message: &str) -> Diagnostics {
    Diagnostic::error(
        "",
        "oci.unknown_message",
        format!(
            "this adapter speaks login, cart, cart-page, order-request and order-response, not `{message}`"
        ),
    )
    .into()
}
