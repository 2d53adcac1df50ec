//! What the adapter writes as cXML is valid against the cXML 1.2.063 DTD, checked by
//! `xmllint --dtdvalid` (libxml2-utils).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tradewire_oci_punchout::{Config, CredentialConfig, CxmlConfig, OciPunchout};
use tradewire_sdk::core::{
    AckStatus, Acknowledgement, Decimal, Diagnostic, LineKind, Order, OrderKind, Secret, Totals,
};
use tradewire_sdk::{Adapter, Document};

fn dtd() -> PathBuf {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/cxml/cXML.dtd");
    assert!(local.exists(), "the cXML DTD is at {}", local.display());
    local
}

/// Runs xmllint on `xml`, failing with its report when the document is not valid.
fn assert_valid(name: &str, xml: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.xml"));
    std::fs::write(&file, xml).unwrap();
    let output = Command::new("xmllint")
        .args(["--noout", "--nonet", "--dtdvalid"])
        .arg(dtd())
        .arg(&file)
        .output()
        .expect("xmllint runs (Debian package libxml2-utils)");
    assert!(
        output.status.success(),
        "{name} is not valid against the cXML DTD:\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(xml)
    );
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn configured() -> OciPunchout {
    configured_with(Config::default())
}

/// `config` with the cXML credentials and secret of these tests.
fn configured_with(config: Config) -> OciPunchout {
    let credential = |domain: &str, identity: &str| {
        Some(CredentialConfig {
            domain: domain.into(),
            identity: identity.into(),
        })
    };
    OciPunchout::new(Config {
        cxml: CxmlConfig {
            from: credential("NetworkId", "AN01000000001"),
            to: credential("DUNS", "123456789"),
            sender: credential("NetworkId", "AN01000000001"),
            shared_secret: Some(Secret::new("s3cr3t")),
            ..config.cxml
        },
        ..config
    })
    .unwrap()
}

#[test]
fn xmllint_catches_an_invalid_document() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invalid.xml");
    // A Response without its Status.
    std::fs::write(
        &file,
        "<?xml version=\"1.0\"?><cXML payloadID=\"1\" timestamp=\"2024-01-01T00:00:00+00:00\"><Response/></cXML>",
    )
    .unwrap();
    let status = Command::new("xmllint")
        .args(["--noout", "--nonet", "--dtdvalid"])
        .arg(dtd())
        .arg(&file)
        .output()
        .unwrap()
        .status;
    assert!(!status.success(), "the check this file relies on can fail");
}

#[test]
fn order_requests_are_valid() {
    let adapter = configured();
    // The sample (whose shared secret is not ours), decoded and written again.
    let sample = OciPunchout::new(Config::default())
        .unwrap()
        .decode(
            "order-request",
            &fixture("order-request/sample-order-request.xml"),
        )
        .unwrap()
        .value;
    assert_valid(
        "sample",
        &adapter.encode("order-request", &sample).unwrap().value,
    );

    // Every element the adapter writes.
    let full = Document::from_json(&fixture("order-request/full-order.encode.json"), None).unwrap();
    assert_valid(
        "full",
        &adapter.encode("order-request", &full).unwrap().value,
    );

    // A cart from a captured OCI page, made into an order: no addresses in OCI, so a
    // BillTo is added; the lines carry no classification and get the default one.
    let page = adapter
        .decode("cart-page", &fixture("cart-page/real-world-cart-page.html"))
        .unwrap()
        .value;
    let Document::Order(mut order) = page else {
        panic!("a cart is an order")
    };
    order.purchase_order = Some("4500012345".into());
    order.created_at = Some(chrono_like("2024-05-02T10:00:00+02:00"));
    order.billing_address = match Document::from_json(
        &fixture("order-request/full-order.encode.json"),
        None,
    )
    .unwrap()
    {
        Document::Order(full) => full.billing_address,
        _ => None,
    };
    for (i, line) in order.lines.iter_mut().enumerate() {
        line.sku = Some(format!("SKU-{i}"));
    }
    let encoded = adapter
        .encode("order-request", &Document::Order(order))
        .unwrap();
    assert!(
        encoded
            .warnings
            .iter()
            .any(|d| d.code == "oci.cxml.classification_defaulted")
    );
    assert_valid("from-cart", &encoded.value);
}

/// The full order, with an article without unit, a shipping line and a payment fee line
/// without descriptions.
fn order_lacking_units_and_descriptions() -> Document {
    let Document::Order(mut order) =
        Document::from_json(&fixture("order-request/full-order.encode.json"), None).unwrap()
    else {
        panic!("an order")
    };
    order.lines[0].unit = None;
    let shipping = order
        .lines
        .iter_mut()
        .find(|line| line.kind == LineKind::Shipping)
        .unwrap();
    shipping.description = None;
    let mut fee = shipping.clone();
    fee.kind = LineKind::PaymentFee;
    fee.sku = Some("FEE".into());
    fee.unit = Some("EA".into());
    order.lines.push(fee);
    order.totals = None;
    Document::Order(order)
}

#[test]
fn configured_units_and_descriptions_fill_what_an_order_lacks() {
    let order = order_lacking_units_and_descriptions();
    let refused = configured().encode("order-request", &order).unwrap_err();
    let errors: Vec<_> = refused.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{refused}");
    assert_eq!(
        (errors[0].path.as_str(), errors[0].code.as_str()),
        ("/lines/0/unit", "oci.cxml.unit_missing")
    );

    let config: Config = serde_json::from_str(
        r#"{ "default_unit": "EA", "payment_fee_description": "Zahlungsgebühr" }"#,
    )
    .unwrap();
    let encoded = configured_with(config)
        .encode("order-request", &order)
        .unwrap();
    assert_valid("defaults", &encoded.value);
    let text = String::from_utf8(encoded.value).unwrap();
    assert!(
        text.contains(
            "<ShortName>Werkbank 1500</ShortName></Description><UnitOfMeasure>EA</UnitOfMeasure>"
        ),
        "{text}"
    );
    assert!(
        text.contains("<Shipping><Money currency=\"EUR\">49.90</Money><Description xml:lang=\"de\">Shipping</Description></Shipping>"),
        "{text}"
    );
    assert!(
        text.contains("<Description xml:lang=\"de\">Zahlungsgebühr</Description><UnitOfMeasure>EA</UnitOfMeasure>"),
        "{text}"
    );
    let warnings: Vec<_> = encoded
        .warnings
        .iter()
        .map(|d| (d.path.as_str(), d.code.as_str()))
        .filter(|(_, code)| *code != "oci.cxml.classification_defaulted")
        .collect();
    assert_eq!(
        warnings,
        [
            ("/lines/0/unit", "oci.unit_defaulted"),
            ("/lines/2/description", "oci.description_defaulted"),
            ("/lines/3/description", "oci.description_defaulted"),
        ]
    );
}

/// The discountoffice cart (articles at 21 % and 6 %, shipping at 21 %), made an order.
fn order_with_vat_on_its_lines() -> Order {
    let Document::Order(mut order) = configured()
        .decode("cart", &fixture("cart/discountoffice.txt"))
        .unwrap()
        .value
    else {
        panic!("a cart is an order")
    };
    let Document::Order(full) =
        Document::from_json(&fixture("order-request/full-order.encode.json"), None).unwrap()
    else {
        panic!("an order")
    };
    order.kind = OrderKind::Order;
    order.purchase_order = Some("4500012345".into());
    order.created_at = full.created_at;
    order.billing_address = full.billing_address;
    order.extensions.clear();
    order
}

fn encode_order(order: &Order) -> String {
    let encoded = configured()
        .encode("order-request", &Document::Order(order.clone()))
        .unwrap_or_else(|d| panic!("{d}"));
    assert_valid("order", &encoded.value);
    String::from_utf8(encoded.value).unwrap()
}

fn decode_totals(xml: &str) -> Totals {
    let Document::Order(order) = OciPunchout::new(Config::default())
        .unwrap()
        .decode("order-request", xml.as_bytes())
        .unwrap_or_else(|d| panic!("{d}"))
        .value
    else {
        panic!("an order")
    };
    order.totals.unwrap()
}

#[test]
fn the_vat_of_the_lines_is_written_as_tax() {
    // 2 × 12.45 at 21 %, 2500 × 3.90 / 500 at 6 %, shipping 7.50 at 21 %:
    // 5.229 + 1.17 + 1.575 = 7.974 of VAT.
    let order = order_with_vat_on_its_lines();
    let xml = encode_order(&order);
    assert!(
        xml.contains(
            "<Shipping><Money currency=\"EUR\">7.5</Money><Description xml:lang=\"en\">Frais de livraison</Description></Shipping>\
             <Tax><Money currency=\"EUR\">7.97</Money><Description xml:lang=\"en\">VAT 6 %, 21 %</Description></Tax>"
        ),
        "{xml}"
    );
    let totals = decode_totals(&xml);
    assert_eq!(totals.tax, Some(Decimal::new(797, 2)));
    assert_eq!(totals.net, Some(Decimal::new(5190, 2)));

    // The stated tax and its description win over the lines'.
    let mut stated = order.clone();
    stated.totals = Some(Totals {
        gross: Decimal::new(5988, 2),
        net: Some(Decimal::new(5190, 2)),
        tax: Some(Decimal::new(798, 2)),
    });
    stated
        .extensions
        .insert("cxml.Tax.Description".into(), "TVA".into());
    assert!(
        encode_order(&stated).contains(
            "<Tax><Money currency=\"EUR\">7.98</Money><Description xml:lang=\"en\">TVA</Description></Tax>"
        )
    );

    // Gross and net totals without a tax state it by their difference.
    let mut implied = order.clone();
    for line in &mut implied.lines {
        line.vat_rate = None;
    }
    implied.totals = Some(Totals {
        gross: Decimal::new(5988, 2),
        net: Some(Decimal::new(5190, 2)),
        tax: None,
    });
    assert!(
        encode_order(&implied).contains(
            "<Tax><Money currency=\"EUR\">7.98</Money><Description xml:lang=\"en\">Tax</Description></Tax>"
        )
    );

    // An order that says nothing of VAT has no Tax.
    let mut silent = order.clone();
    for line in &mut silent.lines {
        line.vat_rate = None;
    }
    let xml = encode_order(&silent);
    assert!(!xml.contains("<Tax>"), "{xml}");
    assert!(xml.contains("<Shipping>"), "{xml}");
}

#[test]
fn vat_known_for_some_lines_only_is_refused() {
    let mut order = order_with_vat_on_its_lines();
    order.lines[1].vat_rate = None;
    let refused = configured()
        .encode("order-request", &Document::Order(order))
        .unwrap_err();
    let errors: Vec<_> = refused
        .iter()
        .filter(|d| d.is_error())
        .map(|d| (d.path.as_str(), d.code.as_str()))
        .collect();
    assert_eq!(errors, [("/lines/1/vat_rate", "oci.cxml.tax_unknown")]);
}

fn chrono_like(text: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(text).unwrap()
}

#[test]
fn responses_are_valid() {
    let adapter = configured();
    let accepted = Acknowledgement::for_diagnostics(Some("1@x".into()), &Default::default());
    let refused = Acknowledgement {
        status: AckStatus::Rejected,
        in_reply_to: None,
        code: None,
        message: Some("Refused <because> & \"why\"".into()),
        diagnostics: vec![Diagnostic::error(
            "/cXML/Request/OrderRequest/ItemOut[1]/@quantity",
            "oci.quantity_not_positive",
            "the quantity must be greater than 0",
        )],
        timestamp: None,
    };
    for (name, ack) in [("accepted", accepted), ("refused", refused)] {
        let encoded = adapter
            .encode("order-response", &Document::Acknowledgement(ack.clone()))
            .unwrap()
            .value;
        assert_valid(name, &encoded);
        let text = String::from_utf8(encoded).unwrap();
        let code = if ack.status == AckStatus::Rejected {
            "400"
        } else {
            "200"
        };
        assert!(text.contains(&format!("<Status code=\"{code}\"")), "{text}");
    }
}
