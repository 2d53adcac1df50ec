//! What the adapter writes validates against the vendor's XSDs, checked with
//! `xmllint --schema` (libxml2-utils), wherever an XSD applies:
//!
//! | XSD                          | output                                          |
//! |------------------------------|-------------------------------------------------|
//! | 10-Details-commande.xsd      | `order` with `order_format = "xsd"`             |
//! | 4-Liste-des-produits.xsd     | `response`: a products_list answer              |
//! | 6-Mise-a-jour-produit.xsd    | `response`: the update_product acknowledgement  |
//! | 7-Ajout-produit.xsd, 16-…    | `response`: the add_product acknowledgement     |
//!
//! The vendor's XSD 9 (orders_list) describes the older unwrapped answer, which the
//! adapter reads but does not write; 9-Mise-a-jour-option and 15-Grilles-de-prix are
//! copies of the product acknowledgement schema that name `update_product`/`add_product`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tradewire_econnecteur::{Econnecteur, EconnecteurConfig};
use tradewire_sdk::core::{OperationKind, ProductRef, ServiceReply, ServiceResponse};
use tradewire_sdk::{Adapter, Document};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn adapter(config: serde_json::Value) -> Econnecteur {
    let config: EconnecteurConfig = serde_json::from_value(config).unwrap();
    Econnecteur::new(config).unwrap()
}

/// Runs `xmllint --noout --schema` on `xml`; Err with its output when invalid.
fn xmllint(xsd: &str, xml: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("output.xml");
    std::fs::write(&file, xml).unwrap();
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(
            crate_dir()
                .join("../../tests/conformance/econnecteur/xsd")
                .join(xsd),
        )
        .arg(&file)
        .output()
        .expect("xmllint is installed (libxml2-utils)");
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(xml)
        ))
    }
}

fn decoded_order(fixture: &str) -> Document {
    let input = std::fs::read(crate_dir().join("fixtures/order").join(fixture)).unwrap();
    adapter(serde_json::json!({}))
        .decode("order", &input)
        .unwrap()
        .value
}

#[test]
fn orders_in_the_xsd_layout_validate_against_xsd_10() {
    let xsd = adapter(serde_json::json!({ "order_format": "xsd" }));
    // The vendor's sample order has no customer id, which the XSD requires (unsignedInt):
    // refused, at the field, rather than written invalid.
    let Document::Order(mut sample) = decoded_order("vendor-sdk-order.xml") else {
        panic!()
    };
    let refused = xsd
        .encode("order", &Document::Order(sample.clone()))
        .unwrap_err();
    let errors: Vec<_> = refused.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{refused}");
    assert_eq!(errors[0].path, "/customer/id");
    sample.customer.as_mut().unwrap().id = Some("42".into());

    for (fixture, order) in [
        ("vendor-sdk-order.xml", Document::Order(sample)),
        ("every-field.xml", decoded_order("every-field.xml")),
    ] {
        let written = xsd.encode("order", &order).unwrap();
        xmllint("10-Details-commande.xsd", &written.value).unwrap();
        let text = String::from_utf8(written.value.clone()).unwrap();
        assert!(text.contains("<date_add>"), "{text}");
        // What the XSD has no place for is left out, and said so.
        if fixture == "every-field.xml" {
            assert!(text.contains("<date_add>30/06/2019</date_add>"), "{text}");
            let dropped = &written.warnings.as_slice()[0];
            assert_eq!(dropped.code, "econnecteur.field_dropped");
            for field in ["pdf", "kind", "status", "reference"] {
                assert!(dropped.message.contains(field), "{}", dropped.message);
            }
        }
        // And it reads back.
        xsd.decode("order", &written.value).unwrap();
    }
}

#[test]
fn the_document_layout_is_what_the_xsd_refuses() {
    // The default layout follows the spec (yyyy-mm-dd dates, optional elements left
    // out); the check above would be worthless if it passed the XSD too.
    let written = adapter(serde_json::json!({}))
        .encode("order", &decoded_order("every-field.xml"))
        .unwrap();
    assert!(xmllint("10-Details-commande.xsd", &written.value).is_err());
}

#[test]
fn answers_validate_against_their_xsds() {
    let writer = adapter(serde_json::json!({}));
    let encode = |reply: ServiceReply| {
        writer
            .encode(
                "response",
                &Document::ServiceResponse(ServiceResponse::new(reply)),
            )
            .unwrap()
            .value
    };
    let list = encode(ServiceReply::ProductRefs {
        products: vec![
            ProductRef {
                id: "1".into(),
                sku: "FAC132".into(),
            },
            ProductRef {
                id: "2".into(),
                sku: "ACTI0001".into(),
            },
        ],
    });
    xmllint("4-Liste-des-produits.xsd", &list).unwrap();
    let updated = encode(ServiceReply::Done {
        operation: OperationKind::UpdateProduct,
    });
    xmllint("6-Mise-a-jour-produit.xsd", &updated).unwrap();
    let added = encode(ServiceReply::Done {
        operation: OperationKind::AddProduct,
    });
    xmllint("7-Ajout-produit.xsd", &added).unwrap();
    xmllint("16-Ajout-produit-gamme.xsd", &added).unwrap();
    assert!(xmllint("4-Liste-des-produits.xsd", &added).is_err());
}
