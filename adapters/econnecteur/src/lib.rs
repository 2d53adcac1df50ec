//! A Tradewire adapter for the e-connecteur universal webservice (Vaisonet's "webservice
//! universel", document version 3.5 with what versions up to 4.2 and real callers add).
//!
//! e-connecteur links a webshop to an ERP (EBP, Sage, Ciel, ...): it calls the shop's
//! webservice with the POST variables `key`, `resource` and `data` (XML, UTF-8), and the
//! shop answers with a `<connecteur>` document. Tradewire can be that webservice (decode
//! `request`, encode `response`) and can call one (encode `request`, decode `response`).
//!
//! | message     | document           | what it is                                                        |
//! |-------------|--------------------|-------------------------------------------------------------------|
//! | `request`   | `service-request`  | one call, as its HTTP form body (urlencoded or multipart)         |
//! | `response`  | `service-response` | the `<connecteur>` answer, including the error envelope           |
//! | `order`     | `order`            | the order detail (`orders` answer, `add_order` push)              |
//! | `product`   | `product`          | a product push (`update_product`, `add_product`)                  |
//! | `option`    | `product`          | an option push (`update_option`), the same fields                 |
//! | `customers` | `customer-list`    | the ERP's customer push (`add_customer`), or the `customers_list` answer |
//! | `grilles`   | `price-list`       | a price grid push (`add_grilles`)                                  |
//!
//! The README beside this crate has the field mappings, formats and refusals.
//!
//! Bad input is refused with diagnostics: on decode their paths are the protocol's own
//! (`/connecteur/order/commande/date_add`, `limit`); on encode they are JSON Pointers
//! into the canonical document. For the webservice role, [`error_response`] turns a
//! refusal into the [`ServiceResponse`] that encodes as the protocol's error envelope.

mod common;
mod customers;
mod grilles;
mod order;
mod product;
mod request;
mod response;

use chrono::FixedOffset;
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_sdk::core::{
    Currency, Diagnostic, Diagnostics, NameLanguage, Secret, ServiceResponse, Severity,
};
use tradewire_sdk::{Adapter, AdapterInfo, Document, DocumentKind, MessageSpec, Outcome};

use common::{Countries, LocalZone, parse_xml};

/// How an order is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderFormat {
    /// As the spec documents it: `date_add` as `yyyy-mm-dd hh:mm:ss`, optional elements
    /// only when known, `depot`, `currency`, `type`, `statut`, extensions and `pdf` kept.
    #[default]
    Document,
    /// Valid against the vendor's `10-Details-commande.xsd`: `date_add` as `dd/mm/yyyy`,
    /// every address element, exactly the XSD's elements in its order (whatever else the
    /// order holds is left out with a warning), numeric customer id, whole quantities.
    Xsd,
}

/// How a fixed price (`Adjustment::FixedPrice`) is written in `reduction_type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FixedPriceType {
    /// `price`, what e-connecteur really sends (seen in real pushes).
    #[default]
    Price,
    /// `amount`, what the spec documents.
    Amount,
}

/// How a country (`pays`) is written: its ISO 3166-1 alpha-2 code, or its name in a
/// language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountryForm {
    /// `DE`.
    Iso,
    /// `Germany`.
    En,
    /// `Allemagne`.
    Fr,
    /// `Duitsland`.
    Nl,
    /// `Deutschland`.
    De,
}

impl CountryForm {
    /// The language of the name, `None` for the code.
    pub(crate) fn language(self) -> Option<NameLanguage> {
        match self {
            Self::Iso => None,
            Self::En => Some(NameLanguage::English),
            Self::Fr => Some(NameLanguage::French),
            Self::Nl => Some(NameLanguage::Dutch),
            Self::De => Some(NameLanguage::German),
        }
    }
}

/// Which shape the `customers` message writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustomersForm {
    /// The ERP's `add_customer` push: everything the model holds.
    #[default]
    AddCustomer,
    /// The shop's `customers_list` answer: id, names, e-mail and one address per customer.
    CustomersList,
}

/// How the adapter reads and writes. Every field has a default, so `{}` is a valid config.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EconnecteurConfig {
    /// The key callers must send. When set, a request without a key or with another one
    /// is refused (compared in constant time, never echoed). When unset, the key is
    /// passed on in the request's `credential` and the host checks it.
    pub expected_key: Option<Secret>,
    /// The currency of amounts, which e-connecteur documents do not state (an order's
    /// `commande/currency` overrides it).
    pub currency: Currency,
    /// The largest request body, and the largest `data` after decompression, accepted;
    /// also the largest XML document of the other messages. Default 32 MiB.
    pub max_data_bytes: u64,
    /// How orders are written (see [`OrderFormat`]).
    pub order_format: OrderFormat,
    /// Whether `total_shipping` includes VAT (the spec says so; some shops send it
    /// without, as the vendor's own sample order does).
    pub shipping_includes_tax: bool,
    /// The IANA time zone e-connecteur's date-times are local to (`date_add` carries no
    /// offset), daylight saving included. Default `Europe/Paris`.
    pub time_zone: Option<String>,
    /// Replaced by `time_zone`; still read: a fixed UTC offset (`+01:00`) for the
    /// date-times, all year round. Give one of the two.
    pub utc_offset: Option<String>,
    /// How `pays` is written: `iso` (the alpha-2 code), or the name in `en`, `fr`, `nl`
    /// or `de`. Unset: as the spec writes it, the code in orders and `customers_list`
    /// answers, the English name in `add_customer` pushes. The XSD layout of orders
    /// always writes the code (the XSD requires it). Every form is read.
    pub country_form: Option<CountryForm>,
    /// How a fixed price is named in `reduction_type`.
    pub fixed_price_type: FixedPriceType,
    /// Which shape the `customers` message writes.
    pub customers_form: CustomersForm,
    /// The request body's content type, when the host knows it from the HTTP header:
    /// `application/x-www-form-urlencoded`, or `multipart/form-data; boundary=…`. Unset,
    /// a body starting with `--` is read as multipart with the boundary of its first
    /// line. A boundary given here is also the one written.
    pub content_type: Option<String>,
    /// How `data` is packed in requests this adapter writes: 0 none, 1 zlib, 2 bzip2,
    /// 3 raw deflate (a packed `data` is sent as multipart).
    pub compression: u8,
}

impl Default for EconnecteurConfig {
    fn default() -> Self {
        Self {
            expected_key: None,
            currency: Currency::EUR,
            max_data_bytes: 32 * 1024 * 1024,
            order_format: OrderFormat::Document,
            shipping_includes_tax: true,
            time_zone: None,
            utc_offset: None,
            country_form: None,
            fixed_price_type: FixedPriceType::Price,
            customers_form: CustomersForm::AddCustomer,
            content_type: None,
            compression: 0,
        }
    }
}

/// How `data` is packed (the `compression` variable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Zlib,
    Bzip2,
    Deflate,
}

/// How a request body is framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyFormat {
    /// Multipart when the body starts with `--`, urlencoded otherwise.
    Detect,
    UrlEncoded,
    /// Multipart, with the configured boundary or the one on the body's first line.
    Multipart(Option<String>),
}

/// The checked config, as the codecs use it.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) expected_key: Option<Secret>,
    pub(crate) currency: Currency,
    pub(crate) max_data_bytes: usize,
    pub(crate) order_format: OrderFormat,
    pub(crate) shipping_includes_tax: bool,
    pub(crate) zone: LocalZone,
    pub(crate) countries: Countries,
    pub(crate) fixed_price_type: FixedPriceType,
    pub(crate) customers_form: CustomersForm,
    pub(crate) body_format: BodyFormat,
    pub(crate) compression: Compression,
}

impl Default for Settings {
    fn default() -> Self {
        // The default config is valid by construction.
        Settings::from_config(EconnecteurConfig::default()).unwrap_or_else(|_| unreachable!())
    }
}

impl Settings {
    fn from_config(config: EconnecteurConfig) -> Result<Self, Diagnostics> {
        let mut d = Diagnostics::new();
        let zone = match (&config.time_zone, &config.utc_offset) {
            (Some(_), Some(_)) => {
                d.error(
                    "/config/utc_offset",
                    "econnecteur.bad_config",
                    "give time_zone or utc_offset, not both (time_zone replaces utc_offset)",
                );
                LocalZone::default()
            }
            (Some(name), None) => match name.parse::<Tz>() {
                Ok(zone) => LocalZone::Named(zone),
                Err(_) => {
                    d.error(
                        "/config/time_zone",
                        "econnecteur.bad_config",
                        format!("{name:?} is not an IANA time zone name (such as Europe/Paris)"),
                    );
                    LocalZone::default()
                }
            },
            (None, Some(offset)) => match offset.parse::<FixedOffset>() {
                Ok(offset) => LocalZone::Fixed(offset),
                Err(_) => {
                    d.error(
                        "/config/utc_offset",
                        "econnecteur.bad_config",
                        format!("{offset:?} is not a UTC offset such as +01:00"),
                    );
                    LocalZone::default()
                }
            },
            (None, None) => LocalZone::default(),
        };
        let compression = match config.compression {
            0 => Compression::None,
            1 => Compression::Zlib,
            2 => Compression::Bzip2,
            3 => Compression::Deflate,
            other => {
                d.error(
                    "/config/compression",
                    "econnecteur.bad_config",
                    format!("compression {other} is not 0, 1, 2 or 3"),
                );
                Compression::None
            }
        };
        let body_format = match config.content_type.as_deref().map(str::trim) {
            None => BodyFormat::Detect,
            Some(value) => {
                let mut parts = value.split(';').map(str::trim);
                match parts.next().map(str::to_ascii_lowercase).as_deref() {
                    Some("application/x-www-form-urlencoded") => BodyFormat::UrlEncoded,
                    Some("multipart/form-data") => BodyFormat::Multipart(
                        parts
                            .filter_map(|p| p.split_once('='))
                            .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
                            .map(|(_, v)| v.trim().trim_matches('"').to_owned())
                            .filter(|b| !b.is_empty()),
                    ),
                    _ => {
                        d.error(
                            "/config/content_type",
                            "econnecteur.bad_config",
                            format!(
                                "{value:?} is neither application/x-www-form-urlencoded nor multipart/form-data"
                            ),
                        );
                        BodyFormat::Detect
                    }
                }
            }
        };
        if config.max_data_bytes == 0 {
            d.error(
                "/config/max_data_bytes",
                "econnecteur.bad_config",
                "max_data_bytes must be positive",
            );
        }
        if config
            .expected_key
            .as_ref()
            .is_some_and(|k| k.expose().is_empty())
        {
            d.error(
                "/config/expected_key",
                "econnecteur.bad_config",
                "expected_key is empty; leave it out to let the host check keys",
            );
        }
        let settings = Settings {
            expected_key: config.expected_key,
            currency: config.currency,
            max_data_bytes: usize::try_from(config.max_data_bytes).unwrap_or(usize::MAX),
            order_format: config.order_format,
            shipping_includes_tax: config.shipping_includes_tax,
            zone,
            countries: Countries::new(config.country_form),
            fixed_price_type: config.fixed_price_type,
            customers_form: config.customers_form,
            body_format,
            compression,
        };
        d.finish(settings).map(|accepted| accepted.value)
    }
}

/// The adapter: a checked [`EconnecteurConfig`].
#[derive(Debug, Clone)]
pub struct Econnecteur {
    settings: Settings,
}

tradewire_sdk::export_adapter!(Econnecteur);

const XML: &str = "application/xml";

impl Adapter for Econnecteur {
    type Config = EconnecteurConfig;

    fn describe() -> AdapterInfo {
        AdapterInfo {
            name: "econnecteur".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "Tradewire".into(),
            description: "The e-connecteur universal webservice (Vaisonet): calls and answers, \
                          orders, products and options, customers, price grids."
                .into(),
            messages: vec![
                MessageSpec::both("request", DocumentKind::ServiceRequest, "application/x-www-form-urlencoded")
                    .described("A webservice call: the POST body with key, resource and data (urlencoded, or multipart with a file)."),
                MessageSpec::both("response", DocumentKind::ServiceResponse, XML)
                    .described("The <connecteur> answer to a call, or the <connecteur><error> envelope."),
                MessageSpec::both("order", DocumentKind::Order, XML)
                    .described("The order detail: the orders answer and the add_order push."),
                MessageSpec::both("product", DocumentKind::Product, XML)
                    .described("A product push (update_product, add_product) as its XML data."),
                MessageSpec::both("option", DocumentKind::Product, XML)
                    .described("An option push (update_option) as its XML data."),
                MessageSpec::both("customers", DocumentKind::CustomerList, XML)
                    .described("The ERP's add_customer push (either form), or the customers_list answer."),
                MessageSpec::both("grilles", DocumentKind::PriceList, XML)
                    .described("A price grid push (add_grilles)."),
            ],
        }
    }

    fn new(config: EconnecteurConfig) -> Result<Self, Diagnostics> {
        Ok(Self {
            settings: Settings::from_config(config)?,
        })
    }

    fn decode(&self, message: &str, input: &[u8]) -> Outcome<Document> {
        let s = &self.settings;
        if message == "request" {
            let (request, warnings) = request::decode(input, s)?;
            return warnings.finish(Document::ServiceRequest(request));
        }
        let root = parse_xml(input, s.max_data_bytes)?;
        let mut d = Diagnostics::new();
        let document = match message {
            "response" => response::decode(&root, s, &mut d).map(|response| {
                order::soften(response.validate(), &mut d);
                Document::ServiceResponse(response)
            }),
            "order" => order::decode_document(&root, s, &mut d).map(|order| {
                order::validate(&order, &mut d);
                Document::Order(order)
            }),
            "product" | "option" => {
                if root.name == "connecteur" {
                    let product = product::decode(Some(&root), &[], None, s, &mut d);
                    d.extend(product.validate());
                    Some(Document::Product(product))
                } else {
                    d.error(
                        format!("/{}", root.name),
                        "econnecteur.bad_root",
                        format!(
                            "a product push is a <connecteur> document, not <{}>",
                            root.name
                        ),
                    );
                    None
                }
            }
            "customers" => customers::decode_document(&root, &s.countries, &mut d).map(|list| {
                d.extend(list.validate());
                Document::CustomerList(list)
            }),
            "grilles" => grilles::decode_document(&root, &mut d).map(|list| {
                d.extend(list.validate());
                Document::PriceList(list)
            }),
            other => return Err(unknown_message(other)),
        };
        match document {
            Some(document) => d.finish(document),
            None => Err(ensure_error(d)),
        }
    }

    fn encode(&self, message: &str, document: &Document) -> Outcome<Vec<u8>> {
        let s = &self.settings;
        let written = match (message, document) {
            ("request", Document::ServiceRequest(request)) => request::encode(request, s),
            ("response", Document::ServiceResponse(response)) => response::encode(response, s),
            ("order", Document::Order(order)) => order::encode_document(order, s),
            ("product" | "option", Document::Product(product)) => {
                product::encode_document(product, s)
            }
            ("customers", Document::CustomerList(list)) => match s.customers_form {
                CustomersForm::AddCustomer => customers::encode_push_document(list, &s.countries),
                CustomersForm::CustomersList => {
                    customers::encode_answer_document(list, &s.countries)
                }
            },
            ("grilles", Document::PriceList(list)) => grilles::encode_document(list, s),
            (other, document) => {
                return Err(Diagnostic::error(
                    "",
                    "econnecteur.wrong_document",
                    format!(
                        "message `{other}` does not encode a `{}` document",
                        document.kind()
                    ),
                )
                .into());
            }
        };
        let (bytes, warnings) = written?;
        warnings.finish(bytes)
    }
}

fn unknown_message(message: &str) -> Diagnostics {
    Diagnostic::error(
        "",
        "econnecteur.unknown_message",
        format!(
            "no message `{message}` (request, response, order, product, option, customers, grilles)"
        ),
    )
    .into()
}

/// A refusal always says why, even when a decoder found nothing more specific.
fn ensure_error(mut d: Diagnostics) -> Diagnostics {
    if !d.has_errors() {
        d.error("", "econnecteur.refused", "the document could not be read");
    }
    d
}

/// The answer a webservice gives to a call it refused: the `response` message encodes
/// it as `<connecteur><error>…</error></connecteur>`. The message lists the errors (at
/// most ten) with their paths and codes; diagnostics never contain the key, so neither
/// does the answer.
pub fn error_response(diagnostics: &Diagnostics) -> ServiceResponse {
    const SHOWN: usize = 10;
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    let mut parts: Vec<String> = errors
        .iter()
        .take(SHOWN)
        .map(|d| {
            if d.path.is_empty() {
                format!("{} ({})", d.message, d.code)
            } else {
                format!("{}: {} ({})", d.path, d.message, d.code)
            }
        })
        .collect();
    if errors.len() > SHOWN {
        parts.push(format!("and {} more", errors.len() - SHOWN));
    }
    if parts.is_empty() {
        parts.push("the call was refused".into());
    }
    ServiceResponse::error(parts.join("; "))
}
