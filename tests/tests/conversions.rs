//! Conversions across adapters on real material: the e-connecteur vendor's sample order
//! (`tests/conformance/econnecteur/samples/order.xml`) decoded by `econnecteur` and
//! encoded by `ois-orders` and `payment-order`, as `tradewire convert` does it.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use tradewire_core::{Document, DocumentKind};
use tradewire_host::Registry;

use tradewire_econnecteur as _;
use tradewire_ois_orders as _;
use tradewire_payment_order as _;

const SAMPLE: &[u8] = include_bytes!("../conformance/econnecteur/samples/order.xml");

/// The sample decoded to canonical JSON. It carries no order id — the `orders` request
/// that fetched it does — so the id is set here as a host would.
fn canonical_sample(registry: &Registry) -> Vec<u8> {
    // The sample states shipping without VAT (115.08 = 75.90 × 1.2 + 20.00 × 1.2), though the
    // spec says with: the adapter's documented setting for such shops. Its dates carry no
    // offset: the shop is French, and in April that is +02:00.
    let config = json!({ "shipping_includes_tax": false, "utc_offset": "+02:00" });
    let econnecteur = registry
        .instantiate("econnecteur", &config)
        .expect("econnecteur");
    let decoded = econnecteur
        .decode("order", SAMPLE)
        .expect("the vendor sample decodes");
    let Document::Order(mut order) =
        Document::from_json(&decoded.bytes, Some(DocumentKind::Order)).expect("json")
    else {
        panic!("an order");
    };
    let problems = order.validate();
    assert!(
        !problems.has_errors(),
        "the decoded sample is a valid order: {problems}"
    );
    order.id = Some("42".into());
    Document::Order(order).to_json()
}

#[test]
fn econnecteur_sample_order_converts_to_ois_json() {
    let registry = Registry::with_builtins();
    let canonical = canonical_sample(&registry);
    let config = json!({
        "shipping_agents": { "Tarif unique - Fixed": "7" },
        "payment_options": { "etep_cb": "3" },
    });
    let ois = registry
        .instantiate("ois-orders", &config)
        .expect("ois-orders");
    // OIS wants the payment provider's reference on a regular order; the sample has none.
    let mut document: Value = serde_json::from_slice(&canonical).expect("json");
    document["payment"]["reference"] = json!("ETEP-20170402-0001");
    let encoded = ois
        .encode("order", &serde_json::to_vec(&document).expect("json"))
        .expect("OIS accepts it");
    let order: Value = serde_json::from_slice(&encoded.bytes).expect("OIS JSON");

    assert_eq!(order["TotalValue"].to_string(), "115.08");
    let lines = order["OrderLines"].as_array().expect("lines");
    let types: Vec<&str> = lines
        .iter()
        .map(|l| l["LineType"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(types, ["Article", "ShippingCost"]);
    assert_eq!(lines[0]["ArticleNumber"], "FAC132");
    assert_eq!(lines[0]["VATPercentage"].to_string(), "20");
    let total: f64 = lines
        .iter()
        .map(|l| l["Value"].as_f64().unwrap_or(0.0))
        .sum();
    assert!(
        (total - 115.08).abs() < 0.005,
        "line values add up to the total: {total}"
    );
    assert_eq!(order["ShippingAgentId"], "7");
    assert_eq!(order["PaymentOptionId"], "3");
}

#[test]
fn econnecteur_sample_order_converts_to_a_payline_order() {
    let registry = Registry::with_builtins();
    let canonical = canonical_sample(&registry);
    let payline = registry
        .instantiate("payment-order", &json!({}))
        .expect("payment-order");
    let encoded = payline
        .encode("order", &canonical)
        .expect("Payline accepts it");
    let order: Value = serde_json::from_slice(&encoded.bytes).expect("JSON");
    assert_eq!(order["amount"], "11508");
    assert_eq!(order["currency"], "978");
    assert_eq!(order["date"], "02/04/2017 18:51");
    assert_eq!(order["ref"], "42");
    assert_eq!(order["country"], "FR");
}
