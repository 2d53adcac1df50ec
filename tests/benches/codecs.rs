//! Measures 1 and 2 of BENCHMARKS.md: every adapter's messages decoded and encoded on real
//! and generated inputs, each beside its floor, and the cost per line from 1 to 1,000 lines.
//!
//! `cargo bench -p tradewire-tests --bench codecs` runs them and prints the tables;
//! `-- econnecteur/order` runs one group.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::hint::black_box;
use std::rc::Rc;

use criterion::{Criterion, Throughput};
use serde_json::{Value, json};
use support::report::{self, Results};
use support::{
    Codec, Econnecteur, Floor, OciPunchout, OisOrders, PaymentOrder, codec, conformance, decoded,
    encoded, fixture, scaled_order, scaled_price_list,
};
use tradewire_core::{Document, PriceList};

/// One input of one message.
struct Case {
    adapter: &'static str,
    message: &'static str,
    input: String,
    /// Article lines (or price rules) in a generated input.
    lines: Option<usize>,
    codec: Rc<dyn Codec>,
    bytes: Vec<u8>,
    floor: Floor,
    /// The decoded document, to encode back, when the message encodes.
    encode: Option<Document>,
}

impl Case {
    fn group(&self) -> String {
        format!("{}/{}/{}", self.adapter, self.message, self.input)
    }
}

/// Builds cases of one adapter's message: the adapter, its config and its floor once.
struct Message {
    adapter: &'static str,
    message: &'static str,
    codec: Rc<dyn Codec>,
    floor: Floor,
    encodes: bool,
}

impl Message {
    fn new<A: tradewire_sdk::Adapter>(
        adapter: &'static str,
        message: &'static str,
        config: Value,
        floor: Floor,
        encodes: bool,
    ) -> Self {
        Self {
            adapter,
            message,
            codec: codec::<A>(config),
            floor,
            encodes,
        }
    }

    /// A real input.
    fn real(&self, input: &str, bytes: Vec<u8>) -> Case {
        self.case(input.to_owned(), None, bytes)
    }

    /// A generated input of `lines` lines, written by the adapter from `document`.
    fn generated(&self, lines: usize, document: Document) -> Case {
        let bytes = encoded(&*self.codec, self.message, &document);
        self.case(format!("lines-{lines:04}"), Some(lines), bytes)
    }

    fn case(&self, input: String, lines: Option<usize>, bytes: Vec<u8>) -> Case {
        let document = decoded(&*self.codec, self.message, &bytes);
        // A real sample the adapter cannot write back (a cXML order needs the config's
        // identities, say) is measured decoding only.
        let encode = (self.encodes && self.codec.encode(self.message, &document).is_ok())
            .then_some(document);
        Case {
            adapter: self.adapter,
            message: self.message,
            input,
            lines,
            codec: Rc::clone(&self.codec),
            bytes,
            floor: self.floor,
            encode,
        }
    }
}

const SIZES: [usize; 4] = [1, 10, 100, 1000];

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(oci_punchout());
    cases.extend(econnecteur());
    cases.extend(ois_orders());
    cases.extend(payment_order());
    cases
}

fn oci_punchout() -> Vec<Case> {
    const OCI: &str = "oci-punchout";
    let login = Message::new::<OciPunchout>(OCI, "login", json!({}), Floor::Form, true);
    let cart = Message::new::<OciPunchout>(OCI, "cart", json!({}), Floor::Form, true);
    let page = Message::new::<OciPunchout>(OCI, "cart-page", json!({}), Floor::Html, false);
    let cxml_config: Value =
        serde_json::from_slice(&fixture(OCI, "order-request/full-order.config.json")).unwrap();
    let request = Message::new::<OciPunchout>(OCI, "order-request", cxml_config, Floor::Xml, true);
    // The cXML sample carries its own shared secret: read it with no secret configured.
    let any_sender = Message::new::<OciPunchout>(OCI, "order-request", json!({}), Floor::Xml, true);
    let response = Message::new::<OciPunchout>(OCI, "order-response", json!({}), Floor::Xml, true);

    let cart_template = support::order(support::canonical(
        &support::workspace().join("adapters/oci-punchout/fixtures/cart/every-field.encode.json"),
    ));
    let cxml_template = support::order(support::canonical(
        &support::workspace()
            .join("adapters/oci-punchout/fixtures/order-request/full-order.encode.json"),
    ));

    let mut cases = vec![
        login.real(
            "discountoffice-post",
            fixture(OCI, "login/discountoffice-post.txt"),
        ),
        cart.real("discountoffice", fixture(OCI, "cart/discountoffice.txt")),
        page.real(
            "real-world-cart-page",
            conformance("oci/real_world_cart_page.html"),
        ),
        page.real(
            "meplato-extensions-cart-page",
            conformance("oci/meplato_extensions_cart_page.html"),
        ),
        any_sender.real("cxml-sample", conformance("cxml/samples/OrderRequest.xml")),
        request.generated(200, scaled_order(&cxml_template, 200).into()),
        response.real(
            "response-200",
            fixture(OCI, "order-response/response-200.xml"),
        ),
    ];
    for lines in SIZES {
        cases.push(cart.generated(lines, scaled_order(&cart_template, lines).into()));
    }
    cases
}

fn econnecteur() -> Vec<Case> {
    const EC: &str = "econnecteur";
    let config = support::econnecteur_vendor_config;
    let order = Message::new::<Econnecteur>(EC, "order", config(), Floor::Xml, true);
    let grilles = Message::new::<Econnecteur>(EC, "grilles", config(), Floor::Xml, true);
    let product = Message::new::<Econnecteur>(EC, "product", config(), Floor::Xml, true);
    let option = Message::new::<Econnecteur>(EC, "option", config(), Floor::Xml, true);
    let customers = Message::new::<Econnecteur>(EC, "customers", config(), Floor::Xml, true);
    let response = Message::new::<Econnecteur>(EC, "response", config(), Floor::Xml, true);
    let request = Message::new::<Econnecteur>(EC, "request", config(), Floor::FormWithXml, true);

    let grid = conformance("econnecteur/samples/grilles_2.xml");
    let mut cases = vec![
        order.real(
            "vendor-sample",
            conformance("econnecteur/samples/order.xml"),
        ),
        grilles.real("grilles-2", grid.clone()),
        product.real(
            "add-product-16-gammes",
            conformance("econnecteur/samples/add_product.16-Ajout-produit-gamme.xml"),
        ),
        product.real(
            "add-product-7",
            conformance("econnecteur/samples/add_product.7-Ajout-produit.xml"),
        ),
        option.real(
            "update-option-9",
            conformance("econnecteur/samples/update_option.9-Mise-a-jour-option.xml"),
        ),
        customers.real("spec-example", fixture(EC, "customers/spec-example.xml")),
        response.real("orders-list", fixture(EC, "response/orders-list.xml")),
        response.real("products-list", fixture(EC, "response/products-list.xml")),
        request.real(
            "add-grilles-spec",
            fixture(EC, "request/add-grilles-spec.form"),
        ),
        request.real("add-grilles-2-push", grid_push(&grid)),
    ];
    let template = support::vendor_sample_order();
    for lines in SIZES {
        cases.push(order.generated(lines, scaled_order(&template, lines).into()));
    }
    let Document::PriceList(rules) = decoded(&*grilles.codec, "grilles", &grid) else {
        panic!("grilles decode to a price list");
    };
    for count in [10, 100, 1000] {
        let list: PriceList = scaled_price_list(&rules, count);
        cases.push(grilles.generated(count, list.into()));
    }
    cases
}

/// The full price grid pushed as a shop's back office does: `add_grilles` with the real
/// 1,790-rule file as the form's `data`.
fn grid_push(grid: &[u8]) -> Vec<u8> {
    let mut body = b"key=s3cret&resource=add_grilles&data=".to_vec();
    body.extend(
        percent_encoding::percent_encode(grid, percent_encoding::NON_ALPHANUMERIC)
            .flat_map(str::bytes),
    );
    body
}

fn ois_orders() -> Vec<Case> {
    let order = Message::new::<OisOrders>(
        "ois-orders",
        "order",
        support::ois_config(),
        Floor::Json,
        true,
    );
    vec![
        order.real(
            "home-delivery-received",
            fixture("ois-orders", "order/home-delivery-received.json"),
        ),
        order.generated(
            100,
            scaled_order(&support::vendor_sample_order(), 100).into(),
        ),
    ]
}

fn payment_order() -> Vec<Case> {
    const PO: &str = "payment-order";
    let json_order = Message::new::<PaymentOrder>(PO, "order", json!({}), Floor::Json, true);
    let soap = Message::new::<PaymentOrder>(PO, "order-soap", json!({}), Floor::Xml, true);
    let template = support::vendor_sample_order();
    vec![
        // The request sample is refused (its `otaPackageType` is not N2); this response
        // decodes, and is measured decoding only (its `country` is nil, so it cannot be
        // written back).
        soap.real(
            "get-web-payment-details-response",
            conformance("payline/samples/getWebPaymentDetailsResponse00000.xml"),
        ),
        soap.generated(100, scaled_order(&template, 100).into()),
        json_order.generated(100, scaled_order(&template, 100).into()),
    ]
}

fn bench(criterion: &mut Criterion, case: &Case) {
    let mut group = criterion.benchmark_group(case.group());
    group.throughput(Throughput::Bytes(case.bytes.len() as u64));
    group.bench_function("floor", |b| {
        b.iter(|| case.floor.run(black_box(&case.bytes)))
    });
    group.bench_function("decode", |b| {
        b.iter(|| case.codec.decode(case.message, black_box(&case.bytes)))
    });
    if let Some(document) = &case.encode {
        let written = encoded(&*case.codec, case.message, document);
        group.throughput(Throughput::Bytes(written.len() as u64));
        group.bench_function("write", |b| {
            b.iter(|| support::write_floor(black_box(&written)))
        });
        group.bench_function("encode", |b| {
            b.iter(|| case.codec.encode(case.message, black_box(document)))
        });
    }
    group.finish();
}

fn main() {
    // The allocator set up as `tradewire` sets it, so that the figures are the host's.
    tradewire_plugins::memory::keep_freed_heap();
    let cases = cases();
    let mut criterion = support::criterion();
    for case in &cases {
        bench(&mut criterion, case);
    }
    criterion.final_summary();

    let results = Results::read();
    let rows: Vec<report::CodecRow> = cases
        .iter()
        .map(|case| report::CodecRow {
            group: case.group(),
            lines: case.lines,
            input_bytes: case.bytes.len(),
            output_bytes: case
                .encode
                .as_ref()
                .map(|document| encoded(&*case.codec, case.message, document).len()),
        })
        .collect();
    println!("{}", report::codec_table(&results, &rows));
    println!("{}", report::linear_table(&results, &rows));
}
