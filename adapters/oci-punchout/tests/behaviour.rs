//! What the adapter does with real pages, bad input and secrets, checked on values.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tradewire_oci_punchout::{Config, CxmlConfig, OciPunchout};
use tradewire_sdk::core::{Decimal, LineKind, Order, PunchoutSession, Secret};
use tradewire_sdk::{Adapter, CallContext, Diagnostics, Document};

fn adapter() -> OciPunchout {
    OciPunchout::new(Config::default()).unwrap()
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn order(document: Document) -> Order {
    match document {
        Document::Order(order) => order,
        other => panic!("expected an order, got {:?}", other.kind()),
    }
}

fn decode_order(message: &str, input: &[u8]) -> Order {
    order(
        adapter()
            .decode(message, input)
            .unwrap_or_else(|d| panic!("{d}"))
            .value,
    )
}

fn refusal(message: &str, input: &[u8]) -> Diagnostics {
    adapter()
        .decode(message, input)
        .expect_err("the input is refused")
}

fn codes_at(diagnostics: &Diagnostics) -> Vec<(String, String)> {
    diagnostics
        .iter()
        .map(|d| (d.path.clone(), d.code.clone()))
        .collect()
}

#[test]
fn the_real_world_page_decodes_with_its_ten_lines() {
    let order = decode_order("cart-page", &fixture("cart-page/real-world-cart-page.html"));
    assert_eq!(order.lines.len(), 10);
    assert_eq!(order.currency.code(), "EUR");
    let first = &order.lines[0];
    assert_eq!(first.unit_price.unwrap().net, Some(Decimal::new(17309, 1)));
    assert_eq!(first.quantity, Decimal::ONE);
    assert_eq!(first.price_basis_quantity, Some(Decimal::ONE));
    assert_eq!(first.unit.as_deref(), Some("PCE"));
    assert_eq!(first.product_id.as_deref(), Some("491901E"));
    assert_eq!(
        first.manufacturer.as_ref().unwrap().part_number.as_deref(),
        Some("491901E")
    );
    assert!(
        first
            .long_text
            .as_deref()
            .unwrap()
            .contains("Großfeldlupen")
    );
    assert_eq!(order.lines[2].lead_time_days, Some(20));
    assert_eq!(order.lines[3].unit.as_deref(), Some("PA"));
    assert_eq!(
        order.lines[9].description.as_deref(),
        Some("Ordnungsmappe Ordonator, A4, 12 Fächer, schwarz")
    );
    // A value spread over two lines of the page keeps its line break.
    assert!(
        order.lines[7]
            .long_text
            .as_deref()
            .unwrap()
            .contains("(B x H).\n")
    );
    assert_eq!(order.extensions["oci.hook_url"], "http://return.to/me");
    assert_eq!(order.extensions["oci.form._snowman"], "☃");
    assert_eq!(order.extensions["oci.http_content_charset"], "UTF-8");
}

#[test]
fn the_meplato_page_keeps_its_extension_fields() {
    let order = decode_order(
        "cart-page",
        &fixture("cart-page/meplato-extensions-cart-page.html"),
    );
    assert_eq!(order.lines.len(), 10);
    let second = &order.lines[1];
    assert_eq!(second.extensions["NEW_ITEM-TAX_RATE"], "0.19");
    assert_eq!(second.extensions["NEW_ITEM-SOLD_BY"], "Seller 2");
    assert_eq!(second.extensions["NEW_ITEM-MPS_SAGE_CONTRACT"], "AA03");
    assert_eq!(
        order.lines[9].extensions["NEW_ITEM-CUST_FIELD50"],
        "50th cust field with up to 100 characters"
    );
    assert_eq!(
        order.lines[7].unit_price.unwrap().net,
        Some(Decimal::new(1268, 2))
    );
}

#[test]
fn long_descriptions_are_warned_about_when_read_and_cut_when_written() {
    let accepted = adapter()
        .decode("cart-page", &fixture("cart-page/real-world-cart-page.html"))
        .unwrap();
    let warning = accepted
        .warnings
        .iter()
        .find(|d| d.path == "NEW_ITEM-DESCRIPTION[1]")
        .expect("the 74-character description is reported");
    assert_eq!(warning.code, "oci.field_too_long");

    let encoded = adapter().encode("cart", &accepted.value).unwrap();
    let body = String::from_utf8(encoded.value).unwrap();
    assert!(
        body.contains("NEW_ITEM-DESCRIPTION%5B1%5D=MantisRegistered+Elite+Stereo-Betrachtun&"),
        "cut to 40 characters: {body}"
    );
    assert!(
        encoded
            .warnings
            .iter()
            .any(|d| d.code == "oci.description_shortened" && d.path == "/lines/0/description")
    );
}

#[test]
fn the_cart_page_has_the_form_the_buyer_expects() {
    let mut order = decode_order("cart", &fixture("cart/discountoffice.txt"));
    order.extensions.insert(
        "oci.hook_url".into(),
        "https://srm.example/sap/bc/gui/sap/its/bbpsc02?sap-client=100&~language=DE".into(),
    );
    let page = adapter()
        .encode("cart-page", &Document::Order(order))
        .unwrap()
        .value;
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains(
        "<form id=\"oci-cart\" method=\"post\" action=\"https://srm.example/sap/bc/gui/sap/its/bbpsc02\" target=\"_top\" accept-charset=\"UTF-8\">"
    ));
    assert!(page.contains("<meta charset=\"UTF-8\">"));
    assert!(page.contains("<input type=\"hidden\" name=\"sap-client\" value=\"100\">"));
    assert!(page.contains("<input type=\"hidden\" name=\"~language\" value=\"DE\">"));
    assert!(page.contains("<input type=\"hidden\" name=\"~OkCode\" value=\"ADDI\">"));
    assert!(page.contains("<button type=\"submit\">Return to procurement system</button>"));
    assert!(page.contains("document.getElementById(\"oci-cart\").submit();"));
    assert!(page.contains(
        "name=\"NEW_ITEM-LONGTEXT_1:132[]\" value=\"Agrafeuse en métal.&#10;Capacité 20 feuilles.\""
    ));
}

#[test]
fn the_order_charset_wins_over_the_config() {
    let mut order = decode_order("cart", &fixture("cart/discountoffice.txt"));
    order
        .extensions
        .insert("oci.http_content_charset".into(), "ISO-8859-1".into());
    let body = adapter()
        .encode("cart", &Document::Order(order))
        .unwrap()
        .value;
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("Agrafeuse+en+m%E9tal."), "{body}");
}

#[test]
fn a_cart_page_without_a_valid_hook_url_is_refused() {
    let order = decode_order("cart", &fixture("cart/discountoffice.txt"));
    let missing = adapter()
        .encode("cart-page", &Document::Order(order.clone()))
        .unwrap_err();
    assert_eq!(
        codes_at(&missing),
        [(
            "/extensions/oci.hook_url".to_owned(),
            "oci.hook_url_missing".to_owned()
        )]
    );
    for bad in [
        "javascript:alert(1)",
        "ftp://srm/",
        "//srm.example/hook",
        "https://",
    ] {
        let mut order = order.clone();
        order.extensions.insert("oci.hook_url".into(), bad.into());
        let refused = adapter()
            .encode("cart-page", &Document::Order(order))
            .unwrap_err();
        assert_eq!(refused.as_slice()[0].code, "oci.hook_url_not_http", "{bad}");
    }
    let configured = OciPunchout::new(Config {
        hook_url: Some("vbscript:msgbox".into()),
        ..Config::default()
    })
    .unwrap_err();
    assert_eq!(configured.as_slice()[0].path, "/config/hook_url");
}

/// In a punchout session's context, the cart goes where the session says, whatever the
/// order carries, with the session's charset and SAP fields.
#[test]
fn a_cart_page_in_a_sessions_context_follows_the_session() {
    let mut order = decode_order("cart", &fixture("cart/discountoffice.txt"));
    order.extensions.insert(
        "oci.hook_url".into(),
        "https://attacker.example/steal".into(),
    );
    order
        .extensions
        .insert("oci.form.~OkCode".into(), "FROM-THE-ORDER".into());
    let context = CallContext {
        punchout_session: Some(PunchoutSession {
            username: "buyer01".into(),
            hook_url: "https://srm.example/hook?sap-client=100".into(),
            return_target: Some("_parent".into()),
            charset: Some("ISO-8859-1".into()),
            ok_code: Some("ADDI".into()),
            caller: Some("CTLG".into()),
            ..PunchoutSession::default()
        }),
        ..CallContext::default()
    };
    let page = adapter()
        .encode_in_context("cart-page", &Document::Order(order.clone()), &context)
        .unwrap_or_else(|d| panic!("{d}"))
        .value;
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&page);
    assert!(
        text.contains(r#"action="https://srm.example/hook""#),
        "{text}"
    );
    assert!(text.contains(r#"target="_parent""#), "{text}");
    assert!(text.contains(r#"accept-charset="ISO-8859-1""#), "{text}");
    assert!(text.contains(r#"name="sap-client" value="100""#), "{text}");
    assert!(text.contains(r#"name="~OkCode" value="ADDI""#), "{text}");
    assert!(text.contains(r#"name="~CALLER" value="CTLG""#), "{text}");
    assert!(!text.contains("attacker"), "{text}");
    assert!(!text.contains("FROM-THE-ORDER"), "{text}");
    // Without a session, the order's own values are used, as before.
    let plain = adapter()
        .encode_in_context(
            "cart-page",
            &Document::Order(order),
            &CallContext::default(),
        )
        .unwrap_or_else(|d| panic!("{d}"))
        .value;
    assert!(String::from_utf8_lossy(&plain).contains("attacker.example"));
}

#[test]
fn bad_cart_fields_are_named() {
    let cases: [(&[u8], &str, &str); 6] = [
        (
            b"NEW_ITEM-DESCRIPTION%5B1%5D=A&NEW_ITEM-QUANTITY%5B1%5D=1&NEW_ITEM-UNIT%5B1%5D=PCE&NEW_ITEM-PRICE%5B1%5D=1%2C234.50",
            "NEW_ITEM-PRICE[1]",
            "oci.number_invalid",
        ),
        (
            b"NEW_ITEM-DESCRIPTION%5B1%5D=A&NEW_ITEM-QUANTITY%5B1%5D=0&NEW_ITEM-UNIT%5B1%5D=PCE",
            "NEW_ITEM-QUANTITY[1]",
            "oci.quantity_not_positive",
        ),
        (
            b"NEW_ITEM-DESCRIPTION%5B1%5D=A&NEW_ITEM-QUANTITY%5B1%5D=-3&NEW_ITEM-UNIT%5B1%5D=PCE",
            "NEW_ITEM-QUANTITY[1]",
            "oci.quantity_not_positive",
        ),
        (
            b"NEW_ITEM-DESCRIPTION%5B1%5D=A&NEW_ITEM-QUANTITY%5B1%5D=1&NEW_ITEM-LEADTIME%5B1%5D=2.5",
            "NEW_ITEM-LEADTIME[1]",
            "oci.number_not_whole",
        ),
        (
            b"NEW_ITEM-DESCRIPTION%5B1%5D=A&NEW_ITEM-QUANTITY%5B1%5D=1&NEW_ITEM-CURRENCY%5B1%5D=EURO",
            "NEW_ITEM-CURRENCY[1]",
            "oci.unknown_currency",
        ),
        (
            b"NEW_ITEM-DESCRIPTION%5B1%5D=A&NEW_ITEM-QUANTITY%5B1%5D=1&NEW_ITEM-DESCRIP",
            "NEW_ITEM-DESCRIP",
            "oci.malformed_field_name",
        ),
    ];
    for (body, path, code) in cases {
        let refused = refusal("cart", body);
        assert!(
            codes_at(&refused).contains(&(path.to_owned(), code.to_owned())),
            "{}: {refused}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn line_zero_is_read_with_a_warning_and_gaps_are_closed() {
    let accepted = adapter()
        .decode(
            "cart",
            b"NEW_ITEM-DESCRIPTION%5B5%5D=B&NEW_ITEM-QUANTITY%5B5%5D=2&NEW_ITEM-UNIT%5B5%5D=PCE\
              &NEW_ITEM-DESCRIPTION%5B0%5D=A&NEW_ITEM-QUANTITY%5B0%5D=1&NEW_ITEM-UNIT%5B0%5D=PCE\
              &NEW_ITEM-PARENT_ID%5B5%5D=0",
        )
        .unwrap();
    assert_eq!(accepted.warnings.as_slice()[0].code, "oci.index_zero");
    let order = order(accepted.value);
    assert_eq!(order.lines[0].description.as_deref(), Some("A"));
    assert_eq!(order.lines[1].description.as_deref(), Some("B"));
    assert_eq!(
        order.lines[1].parent_line,
        Some(1),
        "line 0 is the first line"
    );
}

#[test]
fn cart_fields_match_in_any_case_and_lines_in_any_order() {
    let accepted = adapter()
        .decode(
            "cart",
            b"NEW_ITEM-QUANTITY[0]=1&NEW_ITEM-DESCRIPTION[2]=B&new_item-description[0]=A\
              &NEW_ITEM-Aardvark[0]=x&NEW_ITEM-aardvark[0]=x&NEW_ITEM-QUANTITY[2]=2\
              &NEW_ITEM-unit[0]=PCE&NEW_ITEM-UNIT[2]=PCE&NEW_ITEM-ZZZ[2]=z&NEW_ITEM-PARENT_ID[2]=0",
        )
        .unwrap();
    // Line 0 is named by the field first in name order, known or not.
    assert_eq!(
        codes_at(&accepted.warnings),
        [(
            "NEW_ITEM-Aardvark[0]".to_owned(),
            "oci.index_zero".to_owned()
        )]
    );
    let order = order(accepted.value);
    assert_eq!(order.lines[0].description.as_deref(), Some("A"));
    assert_eq!(order.lines[0].unit.as_deref(), Some("PCE"));
    assert_eq!(
        order.lines[0]
            .extensions
            .get("NEW_ITEM-Aardvark")
            .map(String::as_str),
        Some("x")
    );
    assert_eq!(order.lines[1].description.as_deref(), Some("B"));
    assert_eq!(order.lines[1].parent_line, Some(1));
    assert_eq!(
        order.lines[1]
            .extensions
            .get("NEW_ITEM-ZZZ")
            .map(String::as_str),
        Some("z")
    );

    let known_first = adapter()
        .decode(
            "cart",
            b"NEW_ITEM-ZZZ[0]=z&NEW_ITEM-QUANTITY[0]=1&new_item-Description[0]=A&NEW_ITEM-UNIT[0]=PCE",
        )
        .unwrap();
    assert_eq!(
        codes_at(&known_first.warnings),
        [(
            "new_item-Description[0]".to_owned(),
            "oci.index_zero".to_owned()
        )]
    );

    let refused = refusal(
        "cart",
        b"NEW_ITEM-Zebra[1]=z&NEW_ITEM-DESCRIPTION[1]=A&NEW_ITEM-QUANTITY[1]=1&NEW_ITEM-UNIT[1]=PCE\
          &NEW_ITEM-ZEBRA[1]=other&NEW_ITEM-price[1]=1&NEW_ITEM-PRICE[1]=2&NEW_ITEM-zebra[1]=z&NEW_ITEM-CURRENCY[1]=EUR",
    );
    let found: Vec<_> = refused
        .iter()
        .map(|d| (d.path.as_str(), d.code.as_str(), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "NEW_ITEM-ZEBRA[1]",
                "oci.duplicate_field",
                "the field is sent twice, also as NEW_ITEM-Zebra[1]"
            ),
            (
                "NEW_ITEM-PRICE[1]",
                "oci.duplicate_field",
                "the field is sent twice, also as NEW_ITEM-price[1]"
            ),
        ]
    );
}

/// Unknown field names of every length, 19 characters among them (one past the longest
/// known name, which once indexed past the end of a lookup table), are kept as extensions.
#[test]
fn unknown_fields_of_any_length_are_kept() {
    let panicked_once = adapter()
        .decode("cart", b"NEW_ITEM-ABCDEFGHIJKLMNOPQRS[1]=x")
        .expect_err("a line with no DESCRIPTION and no QUANTITY is refused");
    assert!(
        panicked_once
            .iter()
            .all(|d| d.code != "adapter.failed" && d.path.starts_with("NEW_ITEM-")),
        "{panicked_once}"
    );
    for length in 1..=40 {
        let name = "Z".repeat(length);
        let body = format!(
            "NEW_ITEM-DESCRIPTION[1]=A&NEW_ITEM-QUANTITY[1]=1&NEW_ITEM-UNIT[1]=PCE&NEW_ITEM-{name}[1]=x"
        );
        let order = decode_order("cart", body.as_bytes());
        assert_eq!(
            order.lines[0]
                .extensions
                .get(&format!("NEW_ITEM-{name}"))
                .map(String::as_str),
            Some("x"),
            "{length}"
        );
    }
}

#[test]
fn service_lines_and_vat_follow_the_mapping() {
    let order = decode_order("cart", &fixture("cart/discountoffice.txt"));
    assert_eq!(order.lines[2].kind, LineKind::Shipping);
    assert_eq!(order.lines[0].vat_rate, Some(Decimal::from(21)));
    assert_eq!(order.lines[0].sku.as_deref(), Some("FAC132"));
    assert_eq!(order.lines[0].product_id.as_deref(), Some("10452"));

    let mapped: Config = serde_json::from_str(
        r#"{ "mapping": { "ext_product_id": "sku", "vendormat": "none", "vat_rate_field": "CUST_FIELD3", "service_decodes_as": "payment_fee" } }"#,
    )
    .unwrap();
    let adapter = OciPunchout::new(mapped).unwrap();
    let order = self::order(
        adapter
            .decode("cart", &fixture("cart/discountoffice.txt"))
            .unwrap()
            .value,
    );
    assert_eq!(order.lines[0].sku.as_deref(), Some("10452"));
    assert_eq!(order.lines[0].product_id, None);
    assert_eq!(order.lines[0].extensions["NEW_ITEM-VENDORMAT"], "FAC132");
    assert_eq!(order.lines[0].extensions["NEW_ITEM-CUST_FIELD1"], "21");
    assert_eq!(order.lines[0].vat_rate, None);
    assert_eq!(order.lines[2].kind, LineKind::PaymentFee);
}

fn cart_with_vat_field(field: &str, value: &str) -> Vec<u8> {
    format!(
        "NEW_ITEM-DESCRIPTION%5B1%5D=Agrafeuse&NEW_ITEM-QUANTITY%5B1%5D=2&NEW_ITEM-UNIT%5B1%5D=PCE\
         &NEW_ITEM-PRICE%5B1%5D=12.45&NEW_ITEM-CURRENCY%5B1%5D=EUR&NEW_ITEM-{field}%5B1%5D={value}"
    )
    .into_bytes()
}

#[test]
fn the_vat_percentage_is_read_as_buyers_write_it() {
    for (sent, rate) in [
        ("21", Decimal::from(21)),
        ("21%25", Decimal::from(21)),
        ("21+%25", Decimal::from(21)),
        ("21,00", Decimal::from(21)),
        ("21.00", Decimal::from(21)),
        ("+5,5+%25+", Decimal::new(55, 1)),
        ("0", Decimal::ZERO),
    ] {
        let accepted = adapter()
            .decode("cart", &cart_with_vat_field("CUST_FIELD1", sent))
            .unwrap_or_else(|d| panic!("{sent}: {d}"));
        assert!(
            accepted.warnings.is_empty(),
            "{sent}: {}",
            accepted.warnings
        );
        let line = &order(accepted.value).lines[0];
        assert_eq!(line.vat_rate, Some(rate), "{sent}");
        assert_eq!(
            line.vat_rate.unwrap().to_string(),
            rate.to_string(),
            "{sent}"
        );
        assert!(line.extensions.is_empty(), "{sent}: {:?}", line.extensions);
    }
}

#[test]
fn a_vat_field_that_is_no_rate_keeps_the_line_and_its_text() {
    for (sent, text) in [
        ("n%2Fa", "n/a"),
        ("TVA+21", "TVA 21"),
        ("150", "150"),
        ("-6", "-6"),
        ("21+%25+%25", "21 % %"),
    ] {
        let accepted = adapter()
            .decode("cart", &cart_with_vat_field("CUST_FIELD1", sent))
            .unwrap_or_else(|d| panic!("{sent}: {d}"));
        assert_eq!(
            codes_at(&accepted.warnings),
            [(
                "NEW_ITEM-CUST_FIELD1[1]".to_owned(),
                "oci.vat_rate_unreadable".to_owned()
            )],
            "{sent}"
        );
        let document = accepted.value;
        let line = &order(document.clone()).lines[0];
        assert_eq!(line.vat_rate, None, "{sent}");
        assert_eq!(line.quantity, Decimal::from(2), "{sent}");
        assert_eq!(line.extensions["NEW_ITEM-CUST_FIELD1"], text, "{sent}");

        // The text goes back in its field, and reads the same.
        let body = adapter().encode("cart", &document).unwrap().value;
        let again = decode_order("cart", &body);
        assert_eq!(again.lines[0].extensions["NEW_ITEM-CUST_FIELD1"], text);
        assert_eq!(again.lines[0].vat_rate, None);
    }

    // Another configured field reads the same way; CUST_FIELD1 is then free text.
    let mapped: Config =
        serde_json::from_str(r#"{ "mapping": { "vat_rate_field": "CUST_FIELD3" } }"#).unwrap();
    let mapped = OciPunchout::new(mapped).unwrap();
    let decoded = order(
        mapped
            .decode("cart", &cart_with_vat_field("CUST_FIELD3", "6+%25"))
            .unwrap()
            .value,
    );
    assert_eq!(decoded.lines[0].vat_rate, Some(Decimal::from(6)));
    let accepted = mapped
        .decode("cart", &cart_with_vat_field("CUST_FIELD3", "exempt"))
        .unwrap();
    assert_eq!(
        accepted.warnings.as_slice()[0].path,
        "NEW_ITEM-CUST_FIELD3[1]"
    );
    assert_eq!(
        order(accepted.value).lines[0].extensions["NEW_ITEM-CUST_FIELD3"],
        "exempt"
    );
}

#[test]
fn a_line_with_a_rate_and_the_vat_field_as_extension_is_refused() {
    let mut order = decode_order("cart", &cart_with_vat_field("CUST_FIELD1", "21"));
    order.lines[0]
        .extensions
        .insert("NEW_ITEM-CUST_FIELD1".into(), "n/a".into());
    let refused = adapter()
        .encode("cart", &Document::Order(order))
        .unwrap_err();
    assert_eq!(
        codes_at(&refused),
        [(
            "/lines/0/extensions/NEW_ITEM-CUST_FIELD1".to_owned(),
            "oci.extension_collides".to_owned()
        )]
    );
}

/// A cart of an article without unit, a shipping line and a payment fee line without
/// descriptions, and an article known by MATNR alone.
fn cart_lacking_units_and_descriptions() -> Document {
    Document::from_json(
        br#"{
          "contract": "order/v1", "kind": "cart", "currency": "EUR",
          "lines": [
            { "description": "Stift blau", "quantity": "1", "unit_price": { "net": "1.5" } },
            { "kind": "shipping", "quantity": "1", "unit": "PCE", "unit_price": { "net": "7.5" } },
            { "kind": "payment_fee", "quantity": "1", "unit": "PCE", "unit_price": { "net": "0.5" } },
            { "buyer_part_id": "MAT-1", "quantity": "3", "unit_price": { "net": "2" } }
          ]
        }"#,
        None,
    )
    .unwrap()
}

fn form_value(body: &[u8], name: &str) -> Option<String> {
    let form = tradewire_sdk::form::decode_form(body, encoding_rs::UTF_8).unwrap();
    form.iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

#[test]
fn lines_without_unit_or_description_take_the_configured_ones() {
    let cart = cart_lacking_units_and_descriptions();

    // By default: service lines are described, an article without a unit is refused,
    // and the message names the key that would fix it.
    let refused = adapter().encode("cart", &cart).unwrap_err();
    let errors: Vec<_> = refused.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{refused}");
    assert_eq!(
        (errors[0].path.as_str(), errors[0].code.as_str()),
        ("/lines/0/unit", "oci.unit_missing")
    );
    assert!(errors[0].message.contains("`default_unit`"));

    let configured: Config = serde_json::from_str(
        r#"{ "default_unit": "ST", "units": { "ST": "PCE" },
             "shipping_description": "Frais de livraison" }"#,
    )
    .unwrap();
    let encoded = OciPunchout::new(configured)
        .unwrap()
        .encode("cart", &cart)
        .unwrap();
    let body = &encoded.value;
    assert_eq!(form_value(body, "NEW_ITEM-UNIT[1]").as_deref(), Some("PCE"));
    assert_eq!(
        form_value(body, "NEW_ITEM-DESCRIPTION[2]").as_deref(),
        Some("Frais de livraison")
    );
    assert_eq!(
        form_value(body, "NEW_ITEM-DESCRIPTION[3]").as_deref(),
        Some("Payment fee")
    );
    // A line with a MATNR needs no unit, so it gets none.
    assert_eq!(form_value(body, "NEW_ITEM-UNIT[4]"), None);
    assert_eq!(form_value(body, "NEW_ITEM-DESCRIPTION[4]"), None);
    assert_eq!(
        codes_at(&encoded.warnings),
        [
            ("/lines/0/unit".to_owned(), "oci.unit_defaulted".to_owned()),
            (
                "/lines/1/description".to_owned(),
                "oci.description_defaulted".to_owned()
            ),
            (
                "/lines/2/description".to_owned(),
                "oci.description_defaulted".to_owned()
            ),
        ]
    );

    // `null` refuses service lines without a description again.
    let strict: Config = serde_json::from_str(
        r#"{ "default_unit": "PCE", "shipping_description": null, "payment_fee_description": null }"#,
    )
    .unwrap();
    let refused = OciPunchout::new(strict)
        .unwrap()
        .encode("cart", &cart)
        .unwrap_err();
    let refused: Vec<_> = refused
        .iter()
        .filter(|d| d.is_error())
        .map(|d| (d.path.clone(), d.code.clone()))
        .collect();
    assert_eq!(
        refused,
        [
            (
                "/lines/1/description".to_owned(),
                "oci.description_missing".to_owned()
            ),
            (
                "/lines/2/description".to_owned(),
                "oci.description_missing".to_owned()
            ),
        ]
    );
}

#[test]
fn bad_configs_are_refused_at_their_key() {
    let cases = [
        (r#"{ "charset": "klingon" }"#, "/config/charset"),
        (r#"{ "charset": "UTF-16" }"#, "/config/charset"),
        (
            r#"{ "units": { "ST": "PCE", "STK": "PCE" } }"#,
            "/config/units/STK",
        ),
        (r#"{ "units": { "ST": "PIECE" } }"#, "/config/units/ST"),
        (r#"{ "default_unit": " " }"#, "/config/default_unit"),
        (
            r#"{ "mapping": { "ext_product_id": "sku", "vendormat": "sku" } }"#,
            "/config/mapping/vendormat",
        ),
        (
            r#"{ "mapping": { "service_line_kinds": ["voucher"] } }"#,
            "/config/mapping/service_line_kinds/0",
        ),
    ];
    for (json, path) in cases {
        let config: Config = serde_json::from_str(json).unwrap();
        let refused = OciPunchout::new(config).unwrap_err();
        assert!(refused.iter().any(|d| d.path == path), "{json}: {refused}");
    }
}

const PASSWORD: &str = "hunter2-Geheim";

#[test]
fn the_password_never_appears_in_diagnostics() {
    let logins = [
        format!("username=u&password={PASSWORD}"),
        format!("username=u&password={PASSWORD}&hook_url=javascript%3Aalert(1)"),
        format!("username=u&password={PASSWORD}&password=other&hook_url=https%3A%2F%2Fs%2Fh"),
        format!(
            "password={PASSWORD}&hook_url=https%3A%2F%2Fs%2Fh&FUNCTION=VALIDATE&PRODUCTID=1&QUANTITY=x"
        ),
        format!(
            "password={PASSWORD}&hook_url=https%3A%2F%2Fs%2Fh&FUNCTION=NOPE&http_content_charset=klingon"
        ),
        format!("username=u&password={PASSWORD}%FF&hook_url=https%3A%2F%2Fs%2Fh"),
    ];
    for login in logins {
        let diagnostics = match adapter().decode("login", login.as_bytes()) {
            Ok(accepted) => accepted.warnings,
            Err(refused) => refused,
        };
        assert!(!diagnostics.is_empty(), "{login} has something to report");
        let shown = format!("{diagnostics}{diagnostics:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    let session = adapter()
        .decode(
            "login",
            format!("username=u&password={PASSWORD}&hook_url=https%3A%2F%2Fs%2Fh").as_bytes(),
        )
        .unwrap()
        .value;
    assert!(!format!("{session:?}").contains("hunter2"));
}

#[test]
fn the_shared_secret_never_appears_in_diagnostics() {
    let sample = fixture("order-request/sample-order-request.xml");
    let adapter = OciPunchout::new(Config {
        cxml: CxmlConfig {
            shared_secret: Some(Secret::new("roadrunner")),
            ..CxmlConfig::default()
        },
        ..Config::default()
    })
    .unwrap();
    let refused = adapter.decode("order-request", &sample).unwrap_err();
    assert_eq!(refused.as_slice()[0].code, "oci.cxml.authentication_failed");
    let shown = format!("{refused}{refused:?}");
    assert!(
        !shown.contains("coyote") && !shown.contains("roadrunner"),
        "{shown}"
    );
    // Nor is the secret kept in the decoded order.
    let accepted = OciPunchout::new(Config::default())
        .unwrap()
        .decode("order-request", &sample)
        .unwrap();
    assert!(
        !String::from_utf8(accepted.value.to_json())
            .unwrap()
            .contains("coyote")
    );
}

#[test]
fn the_sample_order_request_decodes() {
    let order = decode_order(
        "order-request",
        &fixture("order-request/sample-order-request.xml"),
    );
    assert_eq!(order.purchase_order.as_deref(), Some("DO1234"));
    assert_eq!(order.lines.len(), 2);
    assert_eq!(order.lines[1].quantity, Decimal::from(20));
    assert_eq!(
        order.lines[1].unit_price.unwrap().net,
        Some(Decimal::new(320, 2))
    );
    assert_eq!(order.lines[1].comment.as_deref(), Some("Test comment"));
    assert_eq!(order.totals.unwrap().net, Some(Decimal::new(8500, 2)));
    let ship_to = order.delivery_address.unwrap();
    assert_eq!(ship_to.country.unwrap().alpha2(), "US");
    assert_eq!(ship_to.contact.as_deref(), Some("Joe Smith"));
    assert_eq!(
        order.billing_address.unwrap().city.as_deref(),
        Some("Solingen")
    );
}

/// An OrderRequest of two items (10 × 2.10 and 20 × 3.20: 85.00), with `header` after
/// the BillTo (Shipping, Tax) and `total` as its Total.
fn order_request(total: &str, header: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<cXML payloadID="1@buyer" timestamp="2024-05-02T10:00:00+02:00">
  <Header>
    <From><Credential domain="NetworkId"><Identity>buyer</Identity></Credential></From>
    <To><Credential domain="NetworkId"><Identity>supplier</Identity></Credential></To>
    <Sender><Credential domain="NetworkId"><Identity>buyer</Identity></Credential><UserAgent>ERP</UserAgent></Sender>
  </Header>
  <Request>
    <OrderRequest>
      <OrderRequestHeader orderID="PO-7" orderDate="2024-05-02T10:00:00+02:00">
        <Total><Money currency="EUR">{total}</Money></Total>
        <BillTo><Address><Name xml:lang="en">Zinc</Name></Address></BillTo>
        {header}
      </OrderRequestHeader>
      <ItemOut quantity="10"><ItemID><SupplierPartID>A</SupplierPartID></ItemID>
        <ItemDetail><UnitPrice><Money currency="EUR">2.10</Money></UnitPrice>
          <Description xml:lang="en">a</Description><UnitOfMeasure>EA</UnitOfMeasure>
          <Classification domain="custom">0</Classification></ItemDetail></ItemOut>
      <ItemOut quantity="20"><ItemID><SupplierPartID>B</SupplierPartID></ItemID>
        <ItemDetail><UnitPrice><Money currency="EUR">3.20</Money></UnitPrice>
          <Description xml:lang="en">b</Description><UnitOfMeasure>EA</UnitOfMeasure>
          <Classification domain="custom">0</Classification></ItemDetail></ItemOut>
    </OrderRequest>
  </Request>
</cXML>"#
    )
    .into_bytes()
}

const SHIPPING_AND_TAX: &str = r#"<Shipping><Money currency="EUR">9.90</Money><Description xml:lang="en">Parcel</Description></Shipping>
        <Tax><Money currency="EUR">19.93</Money><Description xml:lang="en">VAT 21 %</Description></Tax>"#;

fn totals_of(order: &Order) -> (Decimal, Option<Decimal>, Option<Decimal>, &str) {
    let totals = order.totals.unwrap();
    (
        totals.gross,
        totals.net,
        totals.tax,
        order.extensions["cxml.Total.convention"].as_str(),
    )
}

#[test]
fn a_total_of_the_items_alone_is_read_as_cxml_defines_it() {
    let order = decode_order("order-request", &order_request("85.00", SHIPPING_AND_TAX));
    assert_eq!(
        totals_of(&order),
        (
            Decimal::new(11483, 2),
            Some(Decimal::new(9490, 2)),
            Some(Decimal::new(1993, 2)),
            "items"
        )
    );
    let xml = adapter()
        .encode(
            "order-request",
            &Document::Order(with_credentials(order.clone())),
        )
        .unwrap()
        .value;
    let text = String::from_utf8(xml).unwrap();
    assert!(
        text.contains("<Total><Money currency=\"EUR\">85.00</Money></Total>"),
        "{text}"
    );
}

#[test]
fn a_total_with_shipping_and_tax_is_read_and_written_back_so() {
    let order = decode_order("order-request", &order_request("114.83", SHIPPING_AND_TAX));
    assert_eq!(
        totals_of(&order),
        (
            Decimal::new(11483, 2),
            Some(Decimal::new(9490, 2)),
            Some(Decimal::new(1993, 2)),
            "items_shipping_tax"
        )
    );
    // Within rounding: a cent per line and one for the order.
    let rounded = decode_order("order-request", &order_request("114.85", SHIPPING_AND_TAX));
    assert_eq!(totals_of(&rounded).3, "items_shipping_tax");
    assert_eq!(totals_of(&rounded).0, Decimal::new(11485, 2));

    // Written as it came, and read back the same.
    let document = Document::Order(with_credentials(order));
    let xml = adapter().encode("order-request", &document).unwrap().value;
    let text = String::from_utf8(xml.clone()).unwrap();
    assert!(
        text.contains("<Total><Money currency=\"EUR\">114.83</Money></Total>"),
        "{text}"
    );
    let back = decode_order("order-request", &xml);
    assert_eq!(Document::Order(back).to_json(), document.to_json());
}

#[test]
fn a_total_that_fits_neither_convention_is_refused_with_the_sums() {
    // Items with shipping but without tax: 94.90.
    let refused = refusal("order-request", &order_request("94.90", SHIPPING_AND_TAX));
    assert_eq!(
        codes_at(&refused),
        [(
            "/cXML/Request/OrderRequest/OrderRequestHeader/Total/Money".to_owned(),
            "oci.cxml.total_mismatch".to_owned()
        )]
    );
    let message = &refused.as_slice()[0].message;
    for sum in [
        "94.90 EUR",
        "85.00 EUR",
        "shipping 9.90",
        "tax 19.93",
        "114.83 EUR",
    ] {
        assert!(message.contains(sum), "{sum}: {message}");
    }
    // Without shipping and tax the two conventions agree, and a wrong Total is still one.
    let refused = refusal("order-request", &order_request("85.10", ""));
    assert_eq!(refused.as_slice()[0].code, "oci.cxml.total_mismatch");
    let order = decode_order("order-request", &order_request("85", ""));
    assert_eq!(totals_of(&order).3, "items");
}

/// Amounts at the edge of what a decimal holds: each line's amount, the shipping lines'
/// sum, the items' sum and the stated totals less shipping all overflow. Every one is
/// refused as too large, where multiplying or adding them used to panic.
#[test]
fn an_order_request_of_amounts_too_large_to_add_up_is_refused() {
    let max = Decimal::MAX.to_string();
    let line = |kind: &str, quantity: &str| {
        format!(
            r#"{{ "kind": "{kind}", "sku": "A", "unit": "EA", "quantity": "{quantity}",
                 "unit_price": {{ "net": "{max}" }} }}"#
        )
    };
    let order = |totals: &str, lines: &[String]| {
        let json = format!(
            r#"{{ "contract": "order/v1", "id": "PO-1", "created_at": "2024-05-02T10:00:00+02:00",
                 "currency": "EUR", "billing_address": {{ "company": "Zinc" }}{totals},
                 "lines": [{}] }}"#,
            lines.join(",")
        );
        with_credentials(order(Document::from_json(json.as_bytes(), None).unwrap()))
    };
    let negative_max = format!("-{max}");
    for (case, order, path) in [
        (
            "a shipping line's amount",
            order("", &[line("article", "1"), line("shipping", "2")]),
            "/lines/1",
        ),
        (
            "the shipping lines' sum",
            order(
                "",
                &[
                    line("article", "1"),
                    line("shipping", "1"),
                    line("shipping", "1"),
                ],
            ),
            "/lines/2",
        ),
        (
            "an item's amount",
            order("", &[line("article", "2")]),
            "/lines",
        ),
        (
            "the items' sum",
            order("", &[line("article", "1"), line("article", "1")]),
            "/lines",
        ),
        (
            "totals.net less shipping",
            order(
                &format!(r#", "totals": {{ "gross": "1", "net": "{negative_max}" }}"#),
                &[line("article", "1"), line("shipping", "1")],
            ),
            "/totals",
        ),
        (
            "totals.gross less tax",
            order(
                &format!(r#", "totals": {{ "gross": "{negative_max}", "tax": "{max}" }}"#),
                &[line("article", "1")],
            ),
            "/totals",
        ),
    ] {
        let refused = adapter()
            .encode("order-request", &Document::Order(order))
            .expect_err(case);
        assert!(
            codes_at(&refused).contains(&(path.to_owned(), "oci.number_too_large".to_owned())),
            "{case}: {refused}"
        );
    }
}

/// `order` with the credentials an OrderRequest needs from the config or the order.
fn with_credentials(mut order: Order) -> Order {
    for party in ["From", "To", "Sender"] {
        order
            .extensions
            .entry(format!("cxml.{party}.NetworkId"))
            .or_insert_with(|| "party".into());
    }
    order
}

#[test]
fn malformed_xml_is_a_diagnostic() {
    for (input, code) in [
        (&b"<cXML><Header>"[..], "xml.truncated"),
        (b"<cXML></Header>", "xml.malformed"),
        (b"", "xml.malformed"),
        (
            b"<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><cXML>&x;</cXML>",
            "xml.unknown_entity",
        ),
    ] {
        for message in ["order-request", "order-response"] {
            let refused = refusal(message, input);
            assert_eq!(refused.as_slice()[0].code, code, "{message}: {refused}");
        }
    }
}

proptest! {
    #[test]
    fn no_input_makes_a_decoder_panic(input in prop::collection::vec(any::<u8>(), 0..300)) {
        let adapter = adapter();
        for message in ["login", "cart", "cart-page", "order-request", "order-response"] {
            let _ = adapter.decode(message, &input);
        }
    }

    #[test]
    fn no_form_soup_makes_a_decoder_panic(
        parts in prop::collection::vec(prop::sample::select(vec![
            "NEW_ITEM-", "DESCRIPTION", "QUANTITY", "PRICE", "PARENT_ID", "LONGTEXT_", ":132",
            "[", "]", "%5B", "%5D", "0", "1", "99999999", "=", "&", "-", ".", ",", "%", "%FF",
            "hook_url", "https%3A%2F%2Fa", "FUNCTION", "VALIDATE", "<form>", "<input name=",
            "\"", "'", "</form>", " value=", ">", "HTTP/1.1 200\r\n\r\n",
        ]), 0..40)
    ) {
        let input = parts.concat();
        let adapter = adapter();
        for message in ["login", "cart", "cart-page"] {
            let _ = adapter.decode(message, input.as_bytes());
        }
    }
}
