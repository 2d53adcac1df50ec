//! The vendor's real material decodes as it should, and bad calls end in the protocol's
//! error envelope with diagnostics: never a panic, never unbounded memory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use tradewire_econnecteur::{Econnecteur, EconnecteurConfig, error_response};
use tradewire_sdk::core::{
    Adjustment, Decimal, Diagnostics, LineKind, OperationKind, Order, PriceList, Secret,
    ServiceOperation, ServiceReply,
};
use tradewire_sdk::{Adapter, Document};

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/econnecteur/samples")
        .join(name);
    std::fs::read(&path).expect("the vendor sample")
}

fn adapter(config: serde_json::Value) -> Econnecteur {
    let config: EconnecteurConfig = serde_json::from_value(config).expect("a valid config");
    Econnecteur::new(config).expect("the config is accepted")
}

fn default_adapter() -> Econnecteur {
    adapter(serde_json::json!({}))
}

fn d(value: &str) -> Decimal {
    value.parse().unwrap()
}

#[test]
fn the_real_price_grid_decodes_completely() {
    let input = sample("grilles_2.xml");
    let accepted = default_adapter().decode("grilles", &input).unwrap();
    assert!(accepted.warnings.is_empty(), "{}", accepted.warnings);
    let Document::PriceList(PriceList { rules }) = accepted.value else {
        panic!("a price list")
    };
    assert_eq!(rules.len(), 1790);
    // As many rules as <grille> elements: none was skipped.
    let text = String::from_utf8(input).unwrap();
    assert_eq!(text.matches("<grille ").count(), 1790);

    let first = &rules[0];
    assert_eq!(first.source.as_deref(), Some("palier_clitar"));
    assert_eq!(first.id.as_deref(), Some("TF00002"));
    assert_eq!(first.product_sku.as_deref(), Some("7412AGSVW"));
    // The undocumented `price` is a fixed price; `0` means no customer, no dates.
    assert_eq!(first.adjustment, Adjustment::FixedPrice(d("570.59")));
    assert_eq!(first.customer, None);
    assert_eq!(first.group.as_deref(), Some("TARIF2"));
    assert_eq!((first.valid_from, first.valid_to), (None, None));
    assert_eq!(first.min_quantity, Decimal::ONE);

    let fixed = rules
        .iter()
        .filter(|r| matches!(r.adjustment, Adjustment::FixedPrice(_)))
        .count();
    let percent = rules
        .iter()
        .filter(|r| matches!(r.adjustment, Adjustment::PercentOff(_)))
        .count();
    assert_eq!(fixed, text.matches(">price</reduction_type>").count());
    assert_eq!(
        percent,
        text.matches(">reduction_percentage</reduction_type>")
            .count()
    );
    assert!(fixed > 0 && percent > 0);
}

#[test]
fn the_real_price_grid_survives_a_compressed_round_trip() {
    let grilles = default_adapter()
        .decode("grilles", &sample("grilles_2.xml"))
        .unwrap()
        .value;
    let Document::PriceList(price_list) = grilles else {
        panic!()
    };
    for compression in 1..=3 {
        let writer = adapter(serde_json::json!({ "compression": compression }));
        let request = tradewire_sdk::core::ServiceRequest {
            credential: Some(Secret::new("s3cret")),
            ..tradewire_sdk::core::ServiceRequest::new(ServiceOperation::UpsertPriceRules {
                price_list: price_list.clone(),
            })
        };
        let body = writer
            .encode("request", &Document::ServiceRequest(request.clone()))
            .unwrap()
            .value;
        assert!(body.starts_with(b"--"), "a packed data goes as multipart");
        assert!(body.len() < 100_000, "{} bytes", body.len());
        let back = default_adapter().decode("request", &body).unwrap().value;
        assert_eq!(
            back,
            Document::ServiceRequest(request),
            "compression {compression}"
        );
    }
}

fn decode_order(config: serde_json::Value) -> (Order, Diagnostics) {
    let accepted = adapter(config)
        .decode("order", &sample("order.xml"))
        .unwrap();
    let Document::Order(order) = accepted.value else {
        panic!()
    };
    (order, accepted.warnings)
}

#[test]
fn the_vendor_sample_order_decodes_with_its_totals_and_lines() {
    let (order, warnings) = decode_order(serde_json::json!({ "shipping_includes_tax": false }));
    assert!(warnings.is_empty(), "{warnings}");
    assert_eq!(order.totals.unwrap().gross, d("115.0800"));
    assert_eq!(order.lines.len(), 2);
    let article = &order.lines[0];
    assert_eq!(article.kind, LineKind::Article);
    assert_eq!(article.sku.as_deref(), Some("FAC132"));
    assert_eq!(article.quantity, Decimal::ONE);
    assert_eq!(article.unit_price.unwrap().net, Some(d("75.90")));
    assert_eq!(article.vat_rate, Some(d("20")));
    let shipping = &order.lines[1];
    assert_eq!(shipping.kind, LineKind::Shipping);
    assert_eq!(shipping.unit_price.unwrap().net, Some(d("20")));
    assert_eq!(shipping.vat_rate, Some(d("20")));
    // 75.90 × 1.2 + 20 × 1.2 = 115.08: the lines add up to the stated total.
    assert_eq!(
        order.computed_gross_total().map(|t| t.round_dp(2)),
        Some(d("115.08"))
    );
    assert_eq!(
        order.delivery.as_ref().and_then(|x| x.carrier.as_deref()),
        Some("Tarif unique - Fixed")
    );
    assert_eq!(order.payment.unwrap().method.as_deref(), Some("etep_cb"));
    // No offset in the file: local time in Europe/Paris, on summer time since 26 March.
    assert_eq!(
        order.created_at.unwrap().to_rfc3339(),
        "2017-04-02T18:51:48+02:00"
    );

    // Read as the spec says (shipping with VAT), the totals disagree by the VAT on
    // shipping: a warning that names the setting, not a refusal.
    let (order, warnings) = decode_order(serde_json::json!({}));
    assert_eq!(order.lines[1].unit_price.unwrap().gross, Some(d("20")));
    assert_eq!(warnings.len(), 1, "{warnings}");
    assert_eq!(warnings.as_slice()[0].code, "order.total_mismatch");
    assert!(
        warnings.as_slice()[0]
            .message
            .contains("shipping_includes_tax")
    );
}

/// Decodes a request body with `config`; it must be refused. Returns the diagnostics
/// and the error envelope the webservice answers with.
fn refused(config: serde_json::Value, body: &[u8]) -> (Diagnostics, String) {
    let adapter = adapter(config);
    let diagnostics = adapter.decode("request", body).unwrap_err();
    assert!(diagnostics.has_errors());
    let envelope = adapter
        .encode(
            "response",
            &Document::ServiceResponse(error_response(&diagnostics)),
        )
        .unwrap()
        .value;
    let envelope = String::from_utf8(envelope).unwrap();
    assert!(
        envelope.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<connecteur>\n  <error>"),
        "{envelope}"
    );
    // The envelope reads back as the same error.
    let back = adapter
        .decode("response", envelope.as_bytes())
        .unwrap()
        .value;
    let Document::ServiceResponse(response) = back else {
        panic!()
    };
    assert!(matches!(response.reply, ServiceReply::Error { .. }));
    (diagnostics, envelope)
}

fn codes(diagnostics: &Diagnostics) -> Vec<&str> {
    diagnostics.iter().map(|d| d.code.as_str()).collect()
}

#[test]
fn a_wrong_or_missing_key_is_refused_without_being_echoed() {
    let config = serde_json::json!({ "expected_key": "s3cret-Key" });
    for body in [
        &b"key=s3cret-Kex&resource=products_list"[..],
        b"key=s3cret-Key-and-more&resource=products_list",
        b"data=%3Cconnecteur%3E%3Ckey%3Eguessed-key%3C%2Fkey%3E%3Cresource%3Eorders%3C%2Fresource%3E%3C%2Fconnecteur%3E",
    ] {
        let (diagnostics, envelope) = refused(config.clone(), body);
        assert_eq!(codes(&diagnostics), ["econnecteur.key_invalid"]);
        let shown = format!("{diagnostics:?} {envelope}");
        for secret in ["s3cret", "guessed-key"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
    let (diagnostics, _) = refused(config.clone(), b"resource=orders&id=1");
    assert_eq!(codes(&diagnostics), ["econnecteur.key_missing"]);
    // Unreadable data from a caller that sent no key says only that the key is missing.
    let (diagnostics, _) = refused(config.clone(), b"resource=orders&data=%3Cbroken");
    assert_eq!(codes(&diagnostics), ["econnecteur.key_missing"]);
    // A wrong key is refused before the data is unpacked or parsed.
    let (diagnostics, _) = refused(config, b"key=nope&resource=add_grilles&data=%3Cbroken");
    assert_eq!(codes(&diagnostics), ["econnecteur.key_invalid"]);

    // Without expected_key the key is the host's to check: carried, with a warning
    // when there is none.
    let accepted = default_adapter()
        .decode("request", b"key=abc&resource=orders&id=1")
        .unwrap();
    let Document::ServiceRequest(request) = accepted.value else {
        panic!()
    };
    assert_eq!(request.credential.as_ref().map(Secret::expose), Some("abc"));
    assert!(!format!("{request:?}").contains("abc\""));
    let keyless = default_adapter()
        .decode("request", b"resource=orders&id=1")
        .unwrap();
    assert_eq!(codes(&keyless.warnings), ["econnecteur.key_missing"]);
}

#[test]
fn bad_calls_end_in_the_error_envelope() {
    let cases: [(&[u8], &str); 9] = [
        (
            b"key=k&resource=drop_tables",
            "econnecteur.unknown_resource",
        ),
        (b"key=k&limit=0,500", "econnecteur.resource_missing"),
        (
            b"key=k&resource=products_list&limit=abc",
            "econnecteur.bad_limit",
        ),
        (
            b"key=k&resource=products_list&limit=-1",
            "econnecteur.bad_limit",
        ),
        (
            b"key=k&resource=customers_list&date=31-04-2020",
            "econnecteur.bad_date",
        ),
        (
            b"key=k&resource=add_grilles&data=%3Cconnecteur%3E%3Cgrilles%3E",
            "xml.truncated",
        ),
        (
            b"key=k&resource=add_grilles&data=%3Cconnecteur%3E%3C%2Fgrilles%3E",
            "xml.malformed",
        ),
        (b"key=k&resource=add_customer", "econnecteur.data_missing"),
        (
            b"key=k&resource=products_list&compression=9&data=x",
            "econnecteur.bad_compression",
        ),
    ];
    for (body, code) in cases {
        let (diagnostics, envelope) = refused(serde_json::json!({}), body);
        assert!(codes(&diagnostics).contains(&code), "{code}: {diagnostics}");
        assert!(envelope.contains(code), "{envelope}");
    }
}

#[test]
fn a_bomb_of_nested_elements_is_refused_quickly() {
    let data = format!("<connecteur>{}</connecteur>", "<a>".repeat(200_000));
    let body = format!("key=k&resource=add_product&data={data}");
    let started = Instant::now();
    let (diagnostics, _) = refused(serde_json::json!({}), body.as_bytes());
    assert_eq!(codes(&diagnostics), ["xml.too_deep"]);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_50_mb_data_is_refused_before_it_is_read() {
    let mut body = b"key=k&resource=add_grilles&data=".to_vec();
    body.resize(50 * 1000 * 1000, b'a');
    let started = Instant::now();
    let (diagnostics, envelope) = refused(serde_json::json!({}), &body);
    assert_eq!(codes(&diagnostics), ["econnecteur.too_large"]);
    assert!(envelope.len() < 1000);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_decompression_bomb_is_refused_at_the_cap() {
    use std::io::Write;
    // 40 MiB of spaces pack into about 40 KiB; the default cap is 32 MiB.
    let mut packer = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    packer.write_all(b"<connecteur>").unwrap();
    for _ in 0..40 {
        packer.write_all(&[b' '; 1 << 20]).unwrap();
    }
    packer.write_all(b"</connecteur>").unwrap();
    let packed = packer.finish().unwrap();
    let mut body =
        b"--b\r\nContent-Disposition: form-data; name=\"resource\"\r\n\r\nadd_grilles\r\n\
--b\r\nContent-Disposition: form-data; name=\"compression\"\r\n\r\n1\r\n\
--b\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n"
            .to_vec();
    body.extend_from_slice(&packed);
    body.extend_from_slice(b"\r\n--b--\r\n");
    let (diagnostics, _) = refused(serde_json::json!({}), &body);
    assert_eq!(codes(&diagnostics), ["econnecteur.too_large"]);
    // With a smaller cap, the same holds sooner.
    let (diagnostics, _) = refused(serde_json::json!({ "max_data_bytes": 1_000_000 }), &body);
    assert_eq!(codes(&diagnostics), ["econnecteur.too_large"]);
}

#[test]
fn a_plain_acknowledgement_is_well_formed() {
    // The spec writes `<update_product\>`; the answer is well-formed XML.
    for (operation, element) in [
        (OperationKind::UpdateProduct, "<update_product/>"),
        (OperationKind::AddProduct, "<add_product/>"),
        (OperationKind::UpdateOption, "<update_option/>"),
        (OperationKind::UpsertCustomers, "<add_customer/>"),
        (OperationKind::UpsertPriceRules, "<add_grilles/>"),
        (OperationKind::AddSalesDocument, "<add_order/>"),
    ] {
        let response = tradewire_sdk::core::ServiceResponse::new(ServiceReply::Done { operation });
        let bytes = default_adapter()
            .encode("response", &Document::ServiceResponse(response))
            .unwrap()
            .value;
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(element), "{text}");
    }
}

#[test]
fn the_config_is_checked() {
    for (config, path) in [
        (
            serde_json::json!({ "utc_offset": "Paris" }),
            "/config/utc_offset",
        ),
        (
            serde_json::json!({ "compression": 4 }),
            "/config/compression",
        ),
        (
            serde_json::json!({ "content_type": "text/plain" }),
            "/config/content_type",
        ),
        (
            serde_json::json!({ "expected_key": "" }),
            "/config/expected_key",
        ),
    ] {
        let config: EconnecteurConfig = serde_json::from_value(config).unwrap();
        let refused = Econnecteur::new(config).unwrap_err();
        assert_eq!(refused.as_slice()[0].path, path);
    }
}

#[test]
fn the_error_envelope_always_goes_out() {
    // A message quoting what no XML can hold still makes a well-formed envelope.
    let response = tradewire_sdk::core::ServiceResponse::error("bad byte \u{1} in <data> & more");
    let bytes = default_adapter()
        .encode("response", &Document::ServiceResponse(response))
        .unwrap()
        .value;
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains("<error>bad byte \u{fffd} in &lt;data&gt; &amp; more</error>"),
        "{text}"
    );
    default_adapter().decode("response", &bytes).unwrap();
}
