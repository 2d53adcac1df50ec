//! The mapping between canonical orders and Payline order objects, through the adapter's
//! public interface: conversions, round trips in both forms, currencies, bad input, and
//! the SOAP output checked against Payline's own schema with xmllint.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, NaiveDate};
use serde_json::Value;
use tradewire_payment_order::{PaymentOrder, PaymentOrderConfig};
use tradewire_sdk::core::{
    Address, Country, Currency, Decimal, Delivery, DeliveryMethod, DeliverySpeed, LineKind, Order,
    OrderLine, Payment, Price, Totals,
};
use tradewire_sdk::{Adapter, Diagnostics, Document};

fn adapter_with(config: &str) -> PaymentOrder {
    let config: PaymentOrderConfig = serde_json::from_str(config).expect("a valid config");
    PaymentOrder::new(config).expect("an accepted config")
}

/// Today is pinned so that expected-delivery checks do not depend on the day tests run.
fn adapter() -> PaymentOrder {
    adapter_with(r#"{"today": "2017-04-02"}"#)
}

fn dec(text: &str) -> Decimal {
    text.parse().expect("a decimal literal")
}

fn encode(adapter: &PaymentOrder, message: &str, order: &Order) -> Result<Vec<u8>, Diagnostics> {
    adapter
        .encode(message, &Document::Order(order.clone()))
        .map(|accepted| accepted.value)
}

fn encode_json(adapter: &PaymentOrder, order: &Order) -> Value {
    let bytes = encode(adapter, "order", order).unwrap_or_else(|d| panic!("encoding failed:\n{d}"));
    serde_json::from_slice(&bytes).expect("the output is JSON")
}

fn decode(adapter: &PaymentOrder, message: &str, input: &[u8]) -> Result<Order, Diagnostics> {
    match adapter.decode(message, input)?.value {
        Document::Order(order) => Ok(order),
        other => panic!("decoded a {:?}", other.kind()),
    }
}

/// The `(path, code)` of each diagnostic, to assert on.
fn findings(d: &Diagnostics) -> Vec<(String, String)> {
    d.iter().map(|d| (d.path.clone(), d.code.clone())).collect()
}

fn assert_refused(result: Result<impl std::fmt::Debug, Diagnostics>, path: &str, code: &str) {
    let d = result.expect_err("the input must be refused");
    assert!(
        d.iter()
            .any(|found| found.path == path && found.code == code && found.is_error()),
        "expected error {code} at {path}, got:\n{d}"
    );
}

/// The canonical equivalent of the e-connecteur vendor's sample order
/// (`tests/conformance/econnecteur/samples/order.xml`), built by hand because the
/// econnecteur adapter is written at the same time as this one. When it lands, the lead
/// switches this to decoding the real file with it.
///
/// The file has one article (FAC132, quantity 1, 75.90 net, VAT 20 %), shipping
/// `total_shipping` 20.00 with `carrier_tax_rate` 20 and `total_paid` 115.08 EUR, dated
/// 2017-04-02 18:51:48, billed in FR. 75.90 × 1.2 + 20.00 = 111.08, so `total_paid` only
/// adds up with the shipping's VAT on top: 20.00 is net and the shipping line costs
/// 24.00 with VAT. The file carries no order number (the e-connecteur request's `id`
/// names the order); `42` stands in for it.
fn econnecteur_sample_order() -> Order {
    let address = Address {
        first_name: Some("christophe".into()),
        last_name: Some("Michel".into()),
        street: Some("route de troubadour".into()),
        postal_code: Some("84110".into()),
        city: Some("Vaison".into()),
        country: Some(Country::from_alpha2("FR").unwrap()),
        phone: Some("0613157443".into()),
        ..Address::default()
    };
    Order {
        id: Some("42".into()),
        // No offset in the file; the shop is in France, on summer time since 26 March.
        created_at: Some(DateTime::parse_from_rfc3339("2017-04-02T18:51:48+02:00").unwrap()),
        billing_address: Some(address.clone()),
        delivery_address: Some(address),
        lines: vec![
            OrderLine {
                sku: Some("FAC132".into()),
                description: Some("FILTRE CHARBON ACTIF KUBOTA".into()),
                quantity: dec("1.0000"),
                unit_price: Some(Price::net(dec("75.9000"))),
                vat_rate: Some(dec("20.0000")),
                eco_tax: Some(dec("0.0000")),
                ..OrderLine::default()
            },
            OrderLine {
                kind: LineKind::Shipping,
                description: Some("Tarif unique - Fixed".into()),
                quantity: Decimal::ONE,
                unit_price: Some(Price::net(dec("20.0000"))),
                vat_rate: Some(dec("20")),
                ..OrderLine::default()
            },
        ],
        delivery: Some(Delivery {
            carrier: Some("Tarif unique - Fixed".into()),
            ..Delivery::default()
        }),
        payment: Some(Payment {
            method: Some("etep_cb".into()),
            ..Payment::default()
        }),
        totals: Some(Totals {
            gross: dec("115.0800"),
            net: None,
            tax: None,
        }),
        ..Order::new(Currency::EUR)
    }
}

#[test]
fn the_econnecteur_sample_order_becomes_a_payline_order() {
    let order = econnecteur_sample_order();
    assert!(order.validate().is_empty(), "{}", order.validate());

    let json = encode_json(&adapter(), &order);
    assert_eq!(json["amount"], "11508");
    assert_eq!(json["currency"], "978");
    assert_eq!(json["date"], "02/04/2017 18:51");
    let date = json["date"].as_str().unwrap().as_bytes();
    assert!(
        date.len() == 16
            && date.iter().enumerate().all(|(i, b)| match i {
                2 | 5 => *b == b'/',
                10 => *b == b' ',
                13 => *b == b':',
                _ => b.is_ascii_digit(),
            }),
        "`date` is dd/mm/yyyy HH:MM"
    );
    assert_eq!(json["ref"], "42");
    assert_eq!(json["country"], "FR");
    assert_eq!(json["deliveryCharge"], "2400");
    assert_eq!(json.get("origin"), None, "e-commerce is Payline's default");
    let details = json["details"].as_array().unwrap();
    assert_eq!(
        details.len(),
        1,
        "the shipping line is deliveryCharge, not a detail"
    );
    assert_eq!(details[0]["ref"], "FAC132");
    assert_eq!(details[0]["price"], "9108");
    assert_eq!(details[0]["quantity"], "1");
    assert_eq!(details[0]["taxRate"], "2000");
}

#[test]
fn the_date_is_written_in_the_configured_zone() {
    let order = econnecteur_sample_order();
    let tokyo = adapter_with(r#"{"time_zone": "Asia/Tokyo"}"#);
    assert_eq!(encode_json(&tokyo, &order)["date"], "03/04/2017 01:51");
    let utc = adapter_with(r#"{"time_zone": "UTC"}"#);
    assert_eq!(encode_json(&utc, &order)["date"], "02/04/2017 16:51");

    // Read back in the zone, with the zone's offset of that day (winter here).
    let json = br#"{"ref": "W", "amount": "1", "currency": "978", "date": "15/01/2025 09:00"}"#;
    let read = decode(&adapter(), "order", json).unwrap();
    assert_eq!(
        read.created_at.unwrap().to_rfc3339(),
        "2025-01-15T09:00:00+01:00"
    );

    let refused =
        PaymentOrder::new(serde_json::from_str(r#"{"time_zone": "Mars/Olympus"}"#).unwrap());
    assert_eq!(
        findings(&refused.unwrap_err()),
        [(
            "/config/time_zone".to_owned(),
            "payline.bad_time_zone".to_owned()
        )]
    );
}

/// An order as decoding produces it, using every mapped field, so that a round trip
/// through either form must give it back whole.
fn full_order() -> Order {
    let mut order = Order {
        reference: Some("CMD-2025-0042".into()),
        channel: Some("telephone".into()),
        created_at: Some(DateTime::parse_from_rfc3339("2025-06-30T23:59:00+02:00").unwrap()),
        billing_address: Some(Address {
            country: Some(Country::from_alpha2("BE").unwrap()),
            ..Address::default()
        }),
        lines: vec![
            OrderLine {
                sku: Some("FAC132".into()),
                description: Some("Filtre <charbon> & \"actif\"".into()),
                quantity: dec("3"),
                unit_price: Some(Price::gross(dec("91.08"))),
                vat_rate: Some(dec("5.5")),
                manufacturer: Some(tradewire_sdk::core::Manufacturer {
                    name: Some("Kubota".into()),
                    ..Default::default()
                }),
                classifications: vec![tradewire_sdk::core::Classification {
                    domain: "payline.category".into(),
                    code: "4".into(),
                    ..Default::default()
                }],
                options: vec![tradewire_sdk::core::OptionValue {
                    name: "colour".into(),
                    value: "black".into(),
                }],
                vendor: Some("Atelier Dupont".into()),
                extensions: [("payline.sellerType".to_owned(), "PRO".to_owned())].into(),
                ..OrderLine::default()
            },
            OrderLine {
                kind: LineKind::Shipping,
                quantity: Decimal::ONE,
                unit_price: Some(Price::gross(dec("4.90"))),
                ..OrderLine::default()
            },
            OrderLine {
                kind: LineKind::Discount,
                quantity: Decimal::ONE,
                unit_price: Some(Price::gross(dec("10.00"))),
                ..OrderLine::default()
            },
        ],
        delivery: Some(Delivery {
            method: Some(DeliveryMethod::ServicePoint),
            speed: Some(DeliverySpeed::Express),
            expected_date: NaiveDate::from_ymd_opt(2025, 7, 4),
            expected_delay_days: Some(4),
            ..Delivery::default()
        }),
        totals: Some(Totals {
            gross: dec("268.14"),
            net: None,
            tax: Some(dec("13.97")),
        }),
        ..Order::new(Currency::EUR)
    };
    for (key, value) in [
        ("payline.bookingReference", "PNR-ABC123"),
        ("payline.otaPackageType", "12"),
        ("payline.otaDestinationCountry", "US"),
        ("payline.orderDetail", "free text"),
    ] {
        order.extensions.insert(key.into(), value.into());
    }
    order
}

#[test]
fn a_full_order_survives_both_forms() {
    let adapter = adapter_with(r#"{"today": "2025-06-30"}"#);
    let order = full_order();
    for message in ["order", "order-soap"] {
        let bytes = encode(&adapter, message, &order).unwrap_or_else(|d| panic!("{message}: {d}"));
        let back = decode(&adapter, message, &bytes).unwrap_or_else(|d| panic!("{message}: {d}"));
        assert_eq!(
            back,
            order,
            "{message}:\n{}",
            String::from_utf8_lossy(&bytes)
        );
        // And the protocol side is stable: encoding the decoded order gives the same bytes.
        assert_eq!(
            encode(&adapter, message, &back).unwrap(),
            bytes,
            "{message}"
        );
    }
}

#[test]
fn payline_json_survives_decode_then_encode_byte_for_byte() {
    let adapter = adapter_with(r#"{"today": "2016-04-01"}"#);
    for case in ["with-details", "spec-example"] {
        let input = std::fs::read(fixtures().join(format!("order/{case}.json"))).unwrap();
        let order = decode(&adapter, "order", &input).unwrap();
        let again = encode(&adapter, "order", &order).unwrap();
        assert_eq!(
            String::from_utf8(again).unwrap(),
            String::from_utf8(input).unwrap(),
            "{case}"
        );
    }
}

#[test]
fn the_json_and_soap_forms_say_the_same() {
    let adapter = adapter();
    let order = econnecteur_sample_order();
    let from_json = decode(
        &adapter,
        "order",
        &encode(&adapter, "order", &order).unwrap(),
    )
    .unwrap();
    let from_soap = decode(
        &adapter,
        "order-soap",
        &encode(&adapter, "order-soap", &order).unwrap(),
    )
    .unwrap();
    assert_eq!(from_json, from_soap);
    assert_eq!(from_json.totals.unwrap().gross, dec("115.08"));
    assert_eq!(
        from_json.lines[0].unit_price,
        Some(Price::gross(dec("91.08")))
    );
    assert_eq!(from_json.lines[1].kind, LineKind::Shipping);
    assert_eq!(
        from_json.lines[1].unit_price,
        Some(Price::gross(dec("24.00")))
    );
}

fn order_in(currency: &str, gross: &str) -> Order {
    Order {
        reference: Some(format!("{currency}-1")),
        created_at: Some(DateTime::parse_from_rfc3339("2025-05-20T12:00:00Z").unwrap()),
        billing_address: Some(billed_in("NL")),
        lines: vec![OrderLine {
            sku: Some("ITEM".into()),
            quantity: Decimal::ONE,
            unit_price: Some(Price::gross(dec(gross))),
            ..OrderLine::default()
        }],
        totals: Some(Totals {
            gross: dec(gross),
            net: None,
            tax: None,
        }),
        ..Order::new(Currency::from_code(currency).unwrap())
    }
}

/// An address that only says its country.
fn billed_in(country: &str) -> Address {
    Address {
        country: Some(Country::from_alpha2(country).unwrap()),
        ..Address::default()
    }
}

#[test]
fn minor_units_follow_each_currency_exponent() {
    let adapter = adapter();
    for (currency, gross, amount, numeric) in [
        ("EUR", "60", "6000", "978"),
        ("USD", "0.99", "99", "840"),
        ("JPY", "1500", "1500", "392"),
        ("BHD", "12.345", "12345", "048"),
        ("KWD", "0.005", "5", "414"),
        ("CLF", "1.2345", "12345", "990"),
    ] {
        let json = encode_json(&adapter, &order_in(currency, gross));
        assert_eq!(json["amount"], amount, "{currency}");
        assert_eq!(json["details"][0]["price"], amount, "{currency}");
        assert_eq!(json["currency"], numeric, "{currency}");

        let back = decode(&adapter, "order", &serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(back.currency.code(), currency);
        assert_eq!(back.totals.unwrap().gross, dec(gross), "{currency}");
    }
}

#[test]
fn a_fraction_of_a_minor_unit_is_refused_not_rounded() {
    let adapter = adapter();
    for (currency, gross) in [("JPY", "1500.5"), ("BHD", "1.2345"), ("EUR", "0.001")] {
        assert_refused(
            encode(&adapter, "order", &order_in(currency, gross)),
            "/totals/gross",
            "payline.fraction_of_minor_unit",
        );
    }
}

#[test]
fn computed_amounts_are_rounded_half_away_from_zero_with_a_warning() {
    let mut order = order_in("EUR", "0");
    order.totals = None;
    order.lines[0].quantity = dec("3");
    order.lines[0].unit_price = Some(Price::net(dec("0.3125")));
    order.lines[0].vat_rate = Some(dec("20"));
    // 0.3125 × 1.2 = 0.375 a unit, 1.125 for three.
    let accepted = adapter()
        .encode("order", &Document::Order(order))
        .unwrap_or_else(|d| panic!("{d}"));
    let json: Value = serde_json::from_slice(&accepted.value).unwrap();
    assert_eq!(json["details"][0]["price"], "38");
    assert_eq!(json["amount"], "113");
    let found = findings(&accepted.warnings);
    for (path, code) in [
        ("/totals", "payline.amount_computed"),
        ("/totals", "payline.rounded"),
        ("/lines/0/unit_price", "payline.rounded"),
    ] {
        assert!(
            found.contains(&(path.into(), code.into())),
            "{code} at {path}: {found:?}"
        );
    }
}

#[test]
fn channels_map_to_origin_and_back() {
    let adapter = adapter();
    for (channel, origin, read_back) in [
        (None, None, "e-commerce"),
        (Some("e-commerce"), None, "e-commerce"),
        (Some("mail-order"), Some("MO"), "mail-order"),
        (Some("telephone"), Some("TO"), "telephone"),
        (Some("SVI_#12"), Some("SVI_#12"), "SVI_#12"),
    ] {
        let mut order = econnecteur_sample_order();
        order.channel = channel.map(str::to_owned);
        let json = encode_json(&adapter, &order);
        assert_eq!(
            json.get("origin").and_then(Value::as_str),
            origin,
            "{channel:?}"
        );
        let back = decode(&adapter, "order", &serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(back.channel.as_deref(), Some(read_back));
    }
}

#[test]
fn delivery_codes_follow_the_configured_mapping() {
    let mut order = econnecteur_sample_order();
    order.delivery = Some(Delivery {
        method: Some(DeliveryMethod::ServicePoint),
        speed: Some(DeliverySpeed::Express),
        ..Delivery::default()
    });
    let json = encode_json(&adapter(), &order);
    assert_eq!(
        (&json["deliveryMode"], &json["deliveryTime"]),
        (&"2".into(), &"1".into())
    );

    // A merchant whose pickup points are a carrier's says so; `null` leaves a field out.
    let remapped = adapter_with(
        r#"{"delivery_mode": {"service_point": 4}, "delivery_time": {"express": null}}"#,
    );
    let json = encode_json(&remapped, &order);
    assert_eq!(json["deliveryMode"], "4");
    assert_eq!(json.get("deliveryTime"), None);
    // Read back, 4 keeps its meaning in the specification (a carrier).
    let back = decode(&remapped, "order", &serde_json::to_vec(&json).unwrap()).unwrap();
    assert_eq!(
        back.delivery.unwrap().method,
        Some(DeliveryMethod::HomeDelivery)
    );

    let refused =
        PaymentOrder::new(serde_json::from_str(r#"{"delivery_time": {"standard": 3}}"#).unwrap());
    assert_eq!(
        findings(&refused.unwrap_err()),
        [(
            "/config/delivery_time/standard".to_owned(),
            "payline.bad_code".to_owned()
        )]
    );
}

#[test]
fn the_expected_delivery_date_must_be_after_the_injected_today() {
    let mut order = econnecteur_sample_order();
    order.delivery = Some(Delivery {
        expected_date: NaiveDate::from_ymd_opt(2025, 6, 2),
        ..Delivery::default()
    });
    let on = |today: &str| adapter_with(&format!(r#"{{"today": "{today}"}}"#));
    assert_eq!(
        encode_json(&on("2025-06-01"), &order)["deliveryExpectedDate"],
        "02/06/2025"
    );
    for today in ["2025-06-02", "2025-06-03"] {
        assert_refused(
            encode(&on(today), "order", &order),
            "/delivery/expected_date",
            "payline.delivery_date_not_future",
        );
    }
}

/// Each bad input of the task, refused with a diagnostic that names the field.
#[test]
fn bad_input_is_refused_naming_the_field() {
    let adapter = adapter();
    let json = |fields: &str| {
        format!(
            r#"{{"ref": "R-1", "amount": "6000", "currency": "978", "date": "07/04/2016 11:00", {fields}}}"#
        )
    };
    for (input, path, code) in [
        (
            json(r#""ref": "A\\B""#),
            "/ref",
            "payline.forbidden_character",
        ),
        (
            json(&format!(r#""ref": "{}""#, "x".repeat(51))),
            "/ref",
            "payline.too_long",
        ),
        (
            json(r#""date": "31/02/2025 10:00""#),
            "/date",
            "payline.no_such_date",
        ),
        (
            json(r#""currency": "999""#),
            "/currency",
            "payline.currency_without_minor_unit",
        ),
        (
            json(r#""currency": "1""#),
            "/currency",
            "payline.unknown_currency",
        ),
        (
            json(r#""currency": "EUR""#),
            "/currency",
            "payline.unknown_currency",
        ),
        (
            json(r#""amount": "-6000""#),
            "/amount",
            "payline.negative_amount",
        ),
        (
            json(r#""amount": "60.00""#),
            "/amount",
            "payline.not_a_number",
        ),
        (
            json(r#""amount": "1234567890123""#),
            "/amount",
            "payline.too_many_digits",
        ),
        (
            json(r#""details": [{"ref": "X", "taxRate": "1580.5"}]"#),
            "/details/0/taxRate",
            "payline.bad_tax_rate",
        ),
        (
            json(r#""details": [{"ref": "X", "quantity": "1.5"}]"#),
            "/details/0/quantity",
            "payline.not_a_number",
        ),
        (
            json(r#""details": [{"ref": "X", "price": "-1"}]"#),
            "/details/0/price",
            "payline.negative_amount",
        ),
    ] {
        // JSON keys repeat here; the later value wins, as in serde_json.
        assert_refused(decode(&adapter, "order", input.as_bytes()), path, code);
    }

    let details: Vec<String> = (0..101).map(|i| format!(r#"{{"ref": "S{i}"}}"#)).collect();
    let many = json(&format!(r#""details": [{}]"#, details.join(",")));
    assert_refused(
        decode(&adapter, "order", many.as_bytes()),
        "/details",
        "payline.too_many_details",
    );
    let hundred = json(&format!(r#""details": [{}]"#, details[..100].join(",")));
    assert_eq!(
        decode(&adapter, "order", hundred.as_bytes())
            .unwrap()
            .lines
            .len(),
        100
    );
}

#[test]
fn bad_canonical_orders_are_refused_at_their_pointer() {
    let adapter = adapter();
    let with = |change: &dyn Fn(&mut Order)| {
        let mut order = econnecteur_sample_order();
        change(&mut order);
        order
    };
    let cases: Vec<(Order, &str, &str)> = vec![
        (
            with(&|o| o.id = Some("A\\B".into())),
            "/id",
            "payline.forbidden_character",
        ),
        (
            with(&|o| o.reference = Some("r".repeat(51))),
            "/reference",
            "payline.too_long",
        ),
        (
            with(&|o| o.id = None),
            "/reference",
            "payline.missing_field",
        ),
        (
            with(&|o| o.created_at = None),
            "/created_at",
            "payline.missing_field",
        ),
        (
            with(&|o| o.totals.as_mut().unwrap().gross = dec("-115.08")),
            "/totals/gross",
            "payline.negative_amount",
        ),
        (
            with(&|o| o.totals.as_mut().unwrap().tax = Some(dec("19.185"))),
            "/totals/tax",
            "payline.fraction_of_minor_unit",
        ),
        (
            with(&|o| o.lines[0].vat_rate = Some(dec("15.805"))),
            "/lines/0/vat_rate",
            "payline.bad_tax_rate",
        ),
        (
            with(&|o| o.lines[0].quantity = dec("1.5")),
            "/lines/0/quantity",
            "payline.quantity_not_whole",
        ),
        (
            with(&|o| o.lines[0].unit_price = Some(Price::gross(dec("9.999")))),
            "/lines/0/unit_price/gross",
            "payline.fraction_of_minor_unit",
        ),
        (
            with(&|o| o.channel = Some("c".repeat(51))),
            "/channel",
            "payline.too_long",
        ),
        (
            with(&|o| o.currency = Currency::from_code("XAU").unwrap()),
            "/currency",
            "payline.currency_without_minor_unit",
        ),
        (
            with(&|o| o.lines = vec![o.lines[0].clone(); 101]),
            "/lines",
            "payline.too_many_details",
        ),
    ];
    for (order, path, code) in cases {
        for message in ["order", "order-soap"] {
            assert_refused(encode(&adapter, message, &order), path, code);
        }
    }
}

/// Shipping and discount lines too large to add up into `deliveryCharge` or
/// `discountAmount`: refused, where adding them used to panic.
#[test]
fn lines_too_large_to_add_up_are_refused() {
    let adapter = adapter();
    let priced = |kind: LineKind| OrderLine {
        kind,
        quantity: Decimal::ONE,
        unit_price: Some(Price::gross(Decimal::MAX)),
        ..OrderLine::default()
    };
    let mut discounted = priced(LineKind::Article);
    discounted.discounts = vec![
        tradewire_sdk::core::Discount {
            amount: Price::gross(Decimal::MAX),
            ..Default::default()
        };
        2
    ];
    let cases = [
        ("two shipping lines", vec![priced(LineKind::Shipping); 2]),
        ("two vouchers", vec![priced(LineKind::Voucher); 2]),
        ("an article's two discounts", vec![discounted.clone()]),
        (
            "a discount line and an article's discount",
            vec![priced(LineKind::Discount), {
                let mut one = discounted;
                one.discounts.truncate(1);
                one
            }],
        ),
    ];
    for (case, extra) in cases {
        let mut order = econnecteur_sample_order();
        order.lines.extend(extra);
        for message in ["order", "order-soap"] {
            let refused = encode(&adapter, message, &order).expect_err(case);
            assert!(
                findings(&refused).contains(&("/lines".into(), "payline.too_many_digits".into())),
                "{case}: {refused}"
            );
        }
    }
}

#[test]
fn an_order_without_country_is_refused_on_encode_and_reported_on_decode() {
    let adapter = adapter();
    let mut order = order_in("EUR", "12.00");
    order.billing_address = None;
    for message in ["order", "order-soap"] {
        assert_refused(
            encode(&adapter, message, &order),
            "/billing_address/country",
            "payline.missing_field",
        );
    }
    // The delivery country stands in for a missing billing one.
    order.delivery_address = Some(billed_in("DE"));
    assert_eq!(encode_json(&adapter, &order)["country"], "DE");

    let json =
        br#"{"ref": "R-1", "amount": "1200", "currency": "978", "date": "20/05/2025 14:00"}"#;
    let soap = br#"<order xmlns="http://obj.ws.payline.experian.com"><ref>R-1</ref>
        <amount>1200</amount><currency>978</currency><date>20/05/2025 14:00</date></order>"#;
    for (message, input, path) in [
        ("order", &json[..], "/country"),
        ("order-soap", &soap[..], "/order/country"),
    ] {
        let accepted = adapter.decode(message, input).unwrap();
        assert_eq!(
            findings(&accepted.warnings),
            [(path.to_owned(), "payline.country_missing".to_owned())],
            "{message}"
        );
        let Document::Order(order) = accepted.value else {
            panic!()
        };
        assert_eq!(order.billing_address, None);
    }
}

/// An order with shipping, a discount and the travel fields: `deliveryCharge` exists from
/// API version 18, the others from 21.
fn trip_order() -> Order {
    let mut order = order_in("EUR", "509.90");
    order.lines[0].unit_price = Some(Price::gross(dec("540.00")));
    for (kind, gross) in [(LineKind::Shipping, "9.90"), (LineKind::Discount, "40.00")] {
        order.lines.push(OrderLine {
            kind,
            quantity: Decimal::ONE,
            unit_price: Some(Price::gross(dec(gross))),
            ..OrderLine::default()
        });
    }
    for (field, value) in [
        ("otaPackageType", "02"),
        ("otaDestinationCountry", "IT"),
        ("bookingReference", "PNR-4XK9QZ"),
        ("orderDetail", "Flight AF1404 + hotel"),
    ] {
        order
            .extensions
            .insert(format!("payline.{field}"), value.to_owned());
    }
    order
}

#[test]
fn fields_are_written_only_from_the_api_version_that_has_them() {
    let later = [
        "discountAmount",
        "otaPackageType",
        "otaDestinationCountry",
        "bookingReference",
        "orderDetail",
    ];
    for (version, with_charge, with_later) in [
        (3, false, false),
        (17, false, false),
        (18, true, false),
        (20, true, false),
        (21, true, true),
        (34, true, true),
    ] {
        let adapter = adapter_with(&format!(
            r#"{{"today": "2017-04-02", "api_version": {version}}}"#
        ));
        let accepted = adapter
            .encode("order", &Document::Order(trip_order()))
            .unwrap_or_else(|d| panic!("{version}: {d}"));
        let json: Value = serde_json::from_slice(&accepted.value).unwrap();
        assert_eq!(
            json["amount"], "50990",
            "{version}: the amount never changes"
        );
        assert_eq!(
            json.get("deliveryCharge").is_some(),
            with_charge,
            "{version}"
        );
        for field in later {
            assert_eq!(json.get(field).is_some(), with_later, "{version}: {field}");
        }
        let left_out = accepted
            .warnings
            .iter()
            .filter(|w| w.code == "payline.not_in_api_version")
            .count();
        let expected = usize::from(!with_charge) + if with_later { 0 } else { later.len() };
        assert_eq!(left_out, expected, "{version}: {}", accepted.warnings);
    }
    // A field the version lacks is left out whatever its format.
    let mut order = trip_order();
    order
        .extensions
        .insert("payline.otaPackageType".into(), "Valise".into());
    let accepted = adapter_with(r#"{"today": "2017-04-02", "api_version": 17}"#)
        .encode("order", &Document::Order(order))
        .unwrap_or_else(|d| panic!("{d}"));
    assert!(!accepted.warnings.has_errors());
    // The default is 21: everything is written.
    let json = encode_json(&adapter(), &trip_order());
    assert_eq!(json["discountAmount"], "4000");
    assert_eq!(json["otaPackageType"], "02");
}

#[test]
fn ota_and_booking_reference_formats_are_errors_both_ways() {
    let adapter = adapter();
    for (field, value, code) in [
        ("otaPackageType", "Valise", "payline.not_a_number"),
        ("otaPackageType", "123", "payline.too_many_digits"),
        ("otaPackageType", "-1", "payline.not_a_number"),
        ("otaDestinationCountry", "GBR", "payline.unknown_country"),
        ("otaDestinationCountry", "XX", "payline.unknown_country"),
        ("bookingReference", &"B".repeat(101), "payline.too_long"),
    ] {
        let mut order = trip_order();
        order
            .extensions
            .insert(format!("payline.{field}"), value.to_owned());
        for message in ["order", "order-soap"] {
            assert_refused(
                encode(&adapter, message, &order),
                &format!("/extensions/payline.{field}"),
                code,
            );
        }
        let input = format!(
            r#"{{"ref": "R", "country": "FR", "amount": "1", "currency": "978", "date": "20/05/2025 14:00", "{field}": "{value}"}}"#
        );
        assert_refused(
            decode(&adapter, "order", input.as_bytes()),
            &format!("/{field}"),
            code,
        );
    }
    // At the limits.
    let mut order = trip_order();
    order
        .extensions
        .insert("payline.bookingReference".into(), "é".repeat(100));
    order
        .extensions
        .insert("payline.otaPackageType".into(), "7".into());
    let json = encode_json(&adapter, &order);
    assert_eq!(json["bookingReference"], "é".repeat(100));
    assert_eq!(json["otaPackageType"], "7");
}

#[test]
fn only_orders_are_written() {
    let list = Document::ProductList(Default::default());
    assert_refused(
        adapter().encode("order", &list).map(|a| a.value),
        "/contract",
        "payline.wrong_document",
    );
}

/// Payline's own responses leave `country` nil: they are read, with a warning, and what
/// they say cannot be sent back to Payline as it is. The fixtures hold copies with a
/// country, which round-trip.
#[test]
fn the_order_of_each_real_response_decodes_and_says_its_country_is_missing() {
    let adapter = adapter();
    for (file, reference, gross, date) in [
        (
            "getWebPaymentDetailsResponse00000.xml",
            "cb_a_plusieurs_20230228153137",
            "1900.00",
            "2008-05-26T17:30:00+02:00",
        ),
        (
            "getTransactionDetailsResponse00000.xml",
            "5e0ddbf19bssssssssssssssss0538aabfef",
            "1.90",
            "2023-12-07T16:20:00+01:00",
        ),
    ] {
        let input = std::fs::read(payline_dir().join("samples").join(file)).unwrap();
        let accepted = adapter
            .decode("order-soap", &input)
            .unwrap_or_else(|d| panic!("{file}:\n{d}"));
        let warned: Vec<_> = findings(&accepted.warnings)
            .into_iter()
            .filter(|(_, code)| code == "payline.country_missing")
            .collect();
        assert_eq!(
            warned,
            [(
                "/order/country".to_owned(),
                "payline.country_missing".to_owned()
            )],
            "{file}"
        );
        let Document::Order(order) = &accepted.value else {
            panic!("{file}: not an order")
        };
        assert_eq!(order.reference.as_deref(), Some(reference), "{file}");
        assert_eq!(order.currency, Currency::EUR, "{file}");
        assert_eq!(order.totals.unwrap().gross, dec(gross), "{file}");
        assert_eq!(order.created_at.unwrap().to_rfc3339(), date, "{file}");
        assert_eq!(order.billing_address, None, "{file}: country is nil");
        for message in ["order", "order-soap"] {
            assert_refused(
                encode(&adapter, message, order),
                "/billing_address/country",
                "payline.missing_field",
            );
        }
    }
}

/// The request sample of Payline's Java SDK carries `Valise` as `otaPackageType`, which
/// is `N2`: Payline refuses it, and so does reading it.
#[test]
fn the_request_sample_is_refused_for_its_ota_package_type() {
    let input = std::fs::read(payline_dir().join("samples/doWebPaymentRequestFull.xml")).unwrap();
    assert_refused(
        decode(&adapter(), "order-soap", &input),
        "/order/otaPackageType",
        "payline.not_a_number",
    );
}

#[test]
fn free_text_in_hint_fields_is_kept_verbatim_and_sent_back() {
    let adapter = adapter();
    // The request sample with a country and a conforming `otaPackageType`.
    let input = std::fs::read(fixtures().join("order-soap/doWebPaymentRequestFull-conforming.xml"))
        .unwrap();
    let accepted = adapter.decode("order-soap", &input).unwrap();
    let warned: Vec<_> = accepted
        .warnings
        .iter()
        .filter(|w| w.code == "payline.kept_verbatim")
        .map(|w| w.path.as_str())
        .collect();
    assert_eq!(
        warned,
        [
            "/order/taxes",
            "/order/deliveryCharge",
            "/order/deliveryTime",
            "/order/deliveryMode",
            "/order/deliveryExpectedDate"
        ]
    );
    let Document::Order(order) = &accepted.value else {
        panic!()
    };
    assert_eq!(order.extensions["payline.deliveryTime"], "entre 6h et 22h");
    assert_eq!(
        order.delivery.as_ref().unwrap().expected_delay_days,
        Some(200)
    );

    let sent = adapter.encode("order-soap", &accepted.value).unwrap();
    let text = String::from_utf8(sent.value).unwrap();
    assert!(
        text.contains("<deliveryTime>entre 6h et 22h</deliveryTime>"),
        "{text}"
    );
    assert!(
        sent.warnings
            .iter()
            .any(|w| w.code == "payline.nonconforming_value"
                && w.path == "/extensions/payline.deliveryTime")
    );
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The Payline material of the repository's conformance folder.
fn payline_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/payline")
}

/// Runs `xmllint --noout --schema payline-order-root.xsd` on `xml`.
fn assert_valid_against_payline_schema(name: &str, xml: &[u8]) {
    let schema = payline_dir().join("payline-order-root.xsd");
    assert!(
        schema.is_file(),
        "the Payline schema is missing: {}",
        schema.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{}.xml", name.replace('/', "-")));
    std::fs::write(&file, xml).unwrap();
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint runs (Debian package libxml2-utils)");
    assert!(
        output.status.success(),
        "{name} does not validate:\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(xml)
    );
}

#[test]
fn soap_output_validates_against_the_payline_schema() {
    let adapter = adapter_with(r#"{"today": "2016-04-01"}"#);
    let mut orders = vec![
        ("econnecteur".to_owned(), econnecteur_sample_order()),
        ("full".to_owned(), full_order()),
        ("yen".to_owned(), order_in("JPY", "1500")),
    ];
    // What the samples and the decode fixtures decode to, written back.
    for (folder, ext) in [("order-soap", "xml"), ("order", "json")] {
        for entry in std::fs::read_dir(fixtures().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            // Decode inputs only: `case.xml`, not `case.encoded.xml` or `case.expected.json`.
            let Some(case) = name.strip_suffix(&format!(".{ext}")) else {
                continue;
            };
            if case.contains('.') {
                continue;
            }
            let message = if ext == "xml" { "order-soap" } else { "order" };
            if let Ok(order) = decode(&adapter, message, &std::fs::read(&path).unwrap()) {
                orders.push((format!("{folder}/{case}"), order));
            }
        }
    }
    assert!(orders.len() >= 10, "{} orders", orders.len());
    for (name, order) in &orders {
        let xml = encode(&adapter, "order-soap", order).unwrap_or_else(|d| panic!("{name}: {d}"));
        assert_valid_against_payline_schema(name, &xml);
    }
}

/// The check above can fail: xmllint refuses what breaks the schema.
#[test]
fn the_schema_check_refuses_a_broken_order() {
    let schema = payline_dir().join("payline-order-root.xsd");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.xml");
    // `amount` before `ref`, `currency` and `date` missing.
    std::fs::write(
        &file,
        r#"<order xmlns="http://obj.ws.payline.experian.com"><amount>1</amount><ref>x</ref></order>"#,
    )
    .unwrap();
    let status = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint runs")
        .status;
    assert!(!status.success());
}
