//! What the benchmarks share: the adapters called as plain Rust, the real and generated
//! inputs, and the floors — the same parser passing over the same bytes, building nothing.

// Benchmarks set themselves up from files in the repository: a setup that cannot work
// should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unused_imports)]

use std::borrow::Cow;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use percent_encoding::percent_decode;
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use serde_json::{Value, json};
use tradewire_core::{Document, LineKind, Order, Outcome, PriceList};
use tradewire_sdk::Adapter;

pub mod report;

pub use report::criterion;
pub use tradewire_econnecteur::Econnecteur;
pub use tradewire_oci_punchout::OciPunchout;
pub use tradewire_ois_orders::OisOrders;
pub use tradewire_payment_order::PaymentOrder;

/// The repository's root.
pub fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A file of `tests/conformance/`.
pub fn conformance(path: &str) -> Vec<u8> {
    read(&workspace().join("tests/conformance").join(path))
}

/// A fixture of adapter `adapter` (its directory name under `adapters/`).
pub fn fixture(adapter: &str, path: &str) -> Vec<u8> {
    read(
        &workspace()
            .join("adapters")
            .join(adapter)
            .join("fixtures")
            .join(path),
    )
}

fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An adapter called directly as Rust, whatever its type.
pub trait Codec {
    fn decode(&self, message: &str, input: &[u8]) -> Outcome<Document>;
    fn encode(&self, message: &str, document: &Document) -> Outcome<Vec<u8>>;
}

impl<A: Adapter> Codec for A {
    fn decode(&self, message: &str, input: &[u8]) -> Outcome<Document> {
        Adapter::decode(self, message, input)
    }

    fn encode(&self, message: &str, document: &Document) -> Outcome<Vec<u8>> {
        Adapter::encode(self, message, document)
    }
}

/// Adapter `A` with `config` (JSON, as a host would pass it).
pub fn adapter<A: Adapter>(config: Value) -> A {
    let config = serde_json::from_value(config).expect("the config deserialises");
    A::new(config).unwrap_or_else(|d| panic!("the config is refused: {d}"))
}

pub fn codec<A: Adapter>(config: Value) -> Rc<dyn Codec> {
    Rc::new(adapter::<A>(config))
}

/// The config `tests/tests/conversions.rs` decodes the vendor's sample order with: its
/// shipping is stated without VAT and its dates carry no offset.
pub fn econnecteur_vendor_config() -> Value {
    json!({ "shipping_includes_tax": false, "utc_offset": "+02:00" })
}

/// The config that makes `ois-orders` accept the vendor's sample order.
pub fn ois_config() -> Value {
    json!({
        "shipping_agents": { "Tarif unique - Fixed": "7" },
        "payment_options": { "etep_cb": "3" },
    })
}

pub fn decoded(codec: &dyn Codec, message: &str, input: &[u8]) -> Document {
    codec
        .decode(message, input)
        .unwrap_or_else(|d| panic!("`{message}` does not decode: {d}"))
        .value
}

pub fn encoded(codec: &dyn Codec, message: &str, document: &Document) -> Vec<u8> {
    codec
        .encode(message, document)
        .unwrap_or_else(|d| panic!("`{message}` does not encode: {d}"))
        .value
}

pub fn order(document: Document) -> Order {
    match document {
        Document::Order(order) => order,
        other => panic!("expected an order, got {:?}", other.kind()),
    }
}

pub fn canonical(path: &Path) -> Document {
    Document::from_json(&read(&path.to_path_buf()), None)
        .unwrap_or_else(|d| panic!("{}: {d}", path.display()))
}

/// The vendor's sample order as the econnecteur adapter decodes it, with the id and
/// payment reference a shop's order carries.
pub fn vendor_sample_order() -> Order {
    let econnecteur = adapter::<Econnecteur>(econnecteur_vendor_config());
    let mut order = order(decoded(
        &econnecteur,
        "order",
        &conformance("econnecteur/samples/order.xml"),
    ));
    order.id = Some("42".into());
    if let Some(payment) = &mut order.payment {
        payment.reference = Some("ETEP-20170402-0001".into());
    }
    order
}

/// `template` with `lines` article lines, copies of its first article line each with its
/// own SKU and number, followed by its other lines (shipping, fees); totals recomputed.
pub fn scaled_order(template: &Order, lines: usize) -> Order {
    let article = template
        .lines
        .iter()
        .find(|l| l.kind == LineKind::Article)
        .expect("the template has an article line");
    let mut order = template.clone();
    order.lines = (0..lines)
        .map(|i| {
            let mut line = article.clone();
            line.sku = Some(format!("{}-{i}", line.sku.as_deref().unwrap_or("SKU")));
            line.line_number = line.line_number.map(|_| (i + 1) as u32);
            line.parent_line = None;
            line
        })
        .chain(
            template
                .lines
                .iter()
                .filter(|l| l.kind != LineKind::Article)
                .cloned()
                .map(|mut line| {
                    line.line_number = None;
                    line.parent_line = None;
                    line
                }),
        )
        .collect();
    if let Some(totals) = &mut order.totals {
        totals.gross = order
            .lines
            .iter()
            .filter_map(|l| l.signed_gross_total())
            .sum();
        totals.net = None;
        totals.tax = None;
    }
    order
}

/// The first `rules` rules of `list`, repeated as needed.
pub fn scaled_price_list(list: &PriceList, rules: usize) -> PriceList {
    PriceList {
        rules: list.rules.iter().cycle().take(rules).cloned().collect(),
    }
}

/// The same parser as the codec passing over the same bytes and building nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// quick-xml events read and dropped.
    Xml,
    /// `name=value&…` pairs split and percent-decoded.
    Form,
    /// The form's pairs, and quick-xml events over its `data` value (the e-connecteur
    /// request carries an XML document in a form field).
    FormWithXml,
    /// UTF-8 checked and every `<…>` tag found (the cart page has no library parser; the
    /// codec's own scanner does this and more).
    Html,
    /// JSON into `serde::de::IgnoredAny`.
    Json,
}

impl Floor {
    /// Runs the floor over `bytes`; returns how many items it passed over.
    pub fn run(self, bytes: &[u8]) -> usize {
        match self {
            Self::Xml => xml_events(bytes),
            Self::Form => form_pairs(bytes, |_, _| 0),
            Self::FormWithXml => form_pairs(bytes, |name, value| {
                if name == b"data" {
                    xml_events(value)
                } else {
                    0
                }
            }),
            Self::Html => html_tags(bytes),
            Self::Json => {
                serde_json::from_slice::<serde::de::IgnoredAny>(bytes).expect("valid JSON");
                1
            }
        }
    }
}

fn xml_events(bytes: &[u8]) -> usize {
    let mut reader = Reader::from_reader(bytes);
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => return events,
            Ok(event) => {
                black_box(event);
                events += 1;
            }
        }
    }
}

fn form_pairs(bytes: &[u8], mut each: impl FnMut(&[u8], &[u8]) -> usize) -> usize {
    let mut items = 0;
    for pair in bytes.split(|&b| b == b'&') {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        let name = form_decode(name);
        let value = form_decode(value);
        items += 1 + each(&name, &value);
        black_box((name, value));
    }
    items
}

fn form_decode(raw: &[u8]) -> Cow<'_, [u8]> {
    if raw.contains(&b'+') {
        let spaced: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        Cow::Owned(percent_decode(&spaced).collect())
    } else {
        percent_decode(raw).into()
    }
}

fn html_tags(bytes: &[u8]) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let mut tags = 0;
    let mut rest: &str = &text;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        black_box(&rest[open..open + close]);
        tags += 1;
        rest = &rest[open + close + 1..];
    }
    tags
}

/// Writing `bytes` into a buffer allocated to size: what encoding costs at the least.
pub fn write_floor(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes);
    out
}
