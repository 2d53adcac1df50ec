//! Encoding decisions that the fixtures do not show: config defaults, inferred fields,
//! warnings, and where refusals point.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::DateTime;
use serde_json::{Value, json};
use tradewire_ois_orders::{OisConfig, OisOrders};
use tradewire_sdk::core::{
    Address, Country, CouponPayment, Currency, Decimal, Delivery, LineKind, Order, OrderKind,
    OrderLine, Party, Payment, Price, ProductList, Totals,
};
use tradewire_sdk::{Adapter, Diagnostics, Document};

fn adapter(config: Value) -> OisOrders {
    OisOrders::new(serde_json::from_value::<OisConfig>(config).unwrap()).unwrap()
}

/// One article of 10.00 gross, delivered home, with everything a regular order needs.
fn order() -> Order {
    Order {
        created_at: Some(DateTime::parse_from_rfc3339("2024-05-17T14:32:05+02:00").unwrap()),
        customer: Some(Party {
            first_name: Some("Jan".into()),
            last_name: Some("de Vries".into()),
            ..Party::default()
        }),
        delivery_address: Some(Address {
            first_name: Some("Jan".into()),
            last_name: Some("de Vries".into()),
            street: Some("Dorpsstraat".into()),
            house_number: Some("1".into()),
            postal_code: Some("1234 AB".into()),
            city: Some("Ede".into()),
            country: Some(Country::from_alpha2("NL").unwrap()),
            ..Address::default()
        }),
        lines: vec![OrderLine {
            sku: Some("A-1".into()),
            quantity: Decimal::ONE,
            unit_price: Some(Price::gross(Decimal::TEN)),
            vat_rate: Some(Decimal::from(21)),
            ..OrderLine::default()
        }],
        delivery: Some(Delivery {
            carrier: Some("PostNL".into()),
            carrier_id: Some("4".into()),
            ..Delivery::default()
        }),
        payment: Some(Payment {
            method: Some("ideal".into()),
            option_id: Some("12".into()),
            reference: Some("PSP-1".into()),
            ..Payment::default()
        }),
        totals: Some(Totals {
            gross: Decimal::TEN,
            net: None,
            tax: None,
        }),
        ..Order::new(Currency::EUR)
    }
}

fn encode(adapter: &OisOrders, order: Order) -> Result<(Value, Diagnostics), Diagnostics> {
    adapter
        .encode("order", &Document::Order(order))
        .map(|accepted| {
            (
                serde_json::from_slice(&accepted.value).unwrap(),
                accepted.warnings,
            )
        })
}

fn errors(d: &Diagnostics) -> Vec<(&str, &str)> {
    d.iter()
        .filter(|d| d.is_error())
        .map(|d| (d.path.as_str(), d.code.as_str()))
        .collect()
}

#[test]
fn ids_come_from_the_order_first_then_from_config() {
    let config = json!({
        "shipping_agents": {"PostNL": "40", "store_pickup": "41"},
        "default_shipping_agent_id": "49",
        "payment_options": {"ideal": "120"},
        "default_payment_option_id": "129"
    });
    let a = adapter(config);
    let (ois, _) = encode(&a, order()).unwrap();
    assert_eq!(
        (&ois["ShippingAgentId"], &ois["PaymentOptionId"]),
        (&json!("4"), &json!("12"))
    );

    let mut o = order();
    o.delivery.as_mut().unwrap().carrier_id = None;
    o.payment.as_mut().unwrap().option_id = None;
    let (ois, _) = encode(&a, o.clone()).unwrap();
    assert_eq!(
        (&ois["ShippingAgentId"], &ois["PaymentOptionId"]),
        (&json!("40"), &json!("120"))
    );

    o.delivery.as_mut().unwrap().carrier = Some("DHL".into());
    o.payment.as_mut().unwrap().method = Some("paypal".into());
    let (ois, _) = encode(&a, o.clone()).unwrap();
    assert_eq!(
        (&ois["ShippingAgentId"], &ois["PaymentOptionId"]),
        (&json!("49"), &json!("129"))
    );

    o.delivery.as_mut().unwrap().pickup_branch = Some("AMS-01".into());
    let (ois, _) = encode(&a, o).unwrap();
    assert_eq!(
        ois["DeliveryMethod"], "2",
        "a pickup branch without a method is a store pickup"
    );
    assert_eq!(ois["PickupBranchIdentifier"], "AMS-01");
    assert_eq!(ois["ShippingAgentId"], "41", "looked up by delivery method");
}

#[test]
fn without_ids_a_regular_order_is_refused_and_a_quote_is_not() {
    let mut o = order();
    o.delivery.as_mut().unwrap().carrier_id = None;
    o.payment = None;
    let d = encode(&adapter(json!({})), o.clone()).unwrap_err();
    assert_eq!(
        errors(&d),
        [
            ("/delivery/carrier_id", "ois.missing_field"),
            ("/payment/option_id", "ois.missing_field"),
            ("/payment/reference", "ois.missing_field"),
        ]
    );
    assert!(
        d.as_slice()[0].message.starts_with("OIS ShippingAgentId"),
        "{d}"
    );
    o.kind = OrderKind::Quote;
    assert!(encode(&adapter(json!({})), o).is_ok());
}

#[test]
fn shipping_terms_are_sent_only_when_set() {
    let (ois, _) = encode(&adapter(json!({})), order()).unwrap();
    assert!(ois.get("ShippingAgentServiceCode").is_none() && ois.get("ShippingTerms").is_none());
    let mut o = order();
    let delivery = o.delivery.as_mut().unwrap();
    delivery.service_code = Some("EVENING".into());
    delivery.shipping_terms = vec!["SIGNATURE".into()];
    let (ois, _) = encode(&adapter(json!({})), o).unwrap();
    assert_eq!(ois["ShippingAgentServiceCode"], "EVENING");
    assert_eq!(ois["ShippingTerms"], json!(["SIGNATURE"]));
}

#[test]
fn a_shipping_service_without_terms_is_refused_at_the_missing_one() {
    let mut o = order();
    o.delivery.as_mut().unwrap().service_code = Some("EVENING".into());
    let d = encode(&adapter(json!({})), o).unwrap_err();
    assert_eq!(
        errors(&d),
        [("/delivery/shipping_terms", "ois.shipping_terms_incomplete")]
    );
    assert!(
        d.as_slice()[0]
            .message
            .starts_with("OIS ShippingTerms: ShippingAgentServiceCode is given without"),
        "{d}"
    );

    let mut o = order();
    o.delivery.as_mut().unwrap().shipping_terms = vec!["SIGNATURE".into()];
    let d = encode(&adapter(json!({})), o).unwrap_err();
    assert_eq!(
        errors(&d),
        [("/delivery/service_code", "ois.shipping_terms_incomplete")]
    );
}

#[test]
fn a_gift_card_paying_part_of_the_order_is_sent_as_a_coupon_payment() {
    let mut o = order();
    o.payment.as_mut().unwrap().coupons.push(CouponPayment {
        code: "GIFTCARD-7731".into(),
        amount: Decimal::from(4),
        payment_option_id: Some("32".into()),
    });
    let (ois, d) = encode(&adapter(json!({})), o.clone()).unwrap();
    assert!(!d.has_errors(), "{d}");
    assert_eq!(
        ois["OrderCouponPayments"],
        json!([{"CouponCode": "GIFTCARD-7731", "Value": 4.0, "PaymentOptionId": "32"}])
    );
    // The order's lines are untouched: a gift card pays, it does not discount.
    assert_eq!(ois["OrderLines"].as_array().map(Vec::len), Some(1));
    assert_eq!(ois["TotalValue"], json!(10.0));

    // Gift cards cannot pay more than the order comes to.
    o.payment.as_mut().unwrap().coupons[0].amount = Decimal::from(11);
    let d = encode(&adapter(json!({})), o).unwrap_err();
    assert_eq!(
        errors(&d),
        [("/payment/coupons", "ois.gift_cards_exceed_total")]
    );
}

#[test]
fn a_voucher_without_coupon_payment_is_paid_with_the_configured_option() {
    let mut o = order();
    o.lines.push(OrderLine {
        kind: LineKind::Voucher,
        sku: Some("GIFT".into()),
        quantity: Decimal::ONE,
        unit_price: Some(Price::gross(Decimal::from(3))),
        vat_rate: Some(Decimal::ZERO),
        ..OrderLine::default()
    });
    o.totals.as_mut().unwrap().gross = Decimal::from(7);
    let d = encode(&adapter(json!({})), o.clone()).unwrap_err();
    assert_eq!(errors(&d), [("/lines/1", "ois.coupon_payment_missing")]);
    let (ois, _) = encode(&adapter(json!({"coupon_payment_option_id": "31"})), o).unwrap();
    assert_eq!(
        ois["OrderCouponPayments"],
        json!([{"CouponCode": "GIFT", "Value": 3.0, "PaymentOptionId": "31"}])
    );
}

#[test]
fn an_address_without_names_takes_the_customers_or_its_contact() {
    let mut o = order();
    let address = o.delivery_address.as_mut().unwrap();
    address.first_name = None;
    address.last_name = None;
    let (ois, warnings) = encode(&adapter(json!({})), o.clone()).unwrap();
    assert_eq!(ois["DeliveryAddress"]["FirstName"], "Jan");
    assert_eq!(ois["DeliveryAddress"]["LastName"], "de Vries");
    assert!(warnings.is_empty(), "{warnings}");

    o.delivery_address.as_mut().unwrap().contact = Some("Jan de Vries".into());
    let (ois, warnings) = encode(&adapter(json!({})), o.clone()).unwrap();
    assert!(ois["DeliveryAddress"].get("FirstName").is_none());
    assert_eq!(ois["DeliveryAddress"]["LastName"], "Jan de Vries");
    assert_eq!(warnings.as_slice()[0].code, "ois.name_not_split");

    // A name too long for XPRT is reported where it came from: the customer.
    o.delivery_address.as_mut().unwrap().contact = None;
    o.customer.as_mut().unwrap().last_name = Some("L".repeat(31));
    let d = encode(&adapter(json!({})), o).unwrap_err();
    assert_eq!(
        errors(&d),
        [
            ("/customer/last_name", "ois.field_too_long"),
            ("/customer/last_name", "ois.field_too_long")
        ],
        "once for Customer.LastName, once for DeliveryAddress.LastName"
    );
    assert!(
        d.as_slice()[1]
            .message
            .contains("DeliveryAddress.LastName is 31 characters long"),
        "{d}"
    );
}

#[test]
fn limits_on_derived_fields_point_at_what_they_come_from() {
    // A house number split from the street and a last name taken from the contact.
    let mut o = order();
    o.customer.as_mut().unwrap().last_name = Some("Vries".into());
    let address = o.delivery_address.as_mut().unwrap();
    address.house_number = None;
    address.street = Some("Keizersgracht 1234 Bis".into());
    address.first_name = None;
    address.last_name = None;
    address.contact = Some("Jan de Vries".into());
    let config = json!({"profile": "p", "profiles": {"p": {"fields": {
        "HouseNo": 3, "HouseNoExt": 2, "LastName": 5, "Description": 2
    }}}});
    let d = encode(&adapter(config), o).unwrap_err();
    assert_eq!(
        errors(&d),
        [
            ("/delivery_address/street", "ois.field_too_long"),
            ("/delivery_address/street", "ois.field_too_long"),
            ("/delivery_address/contact", "ois.field_too_long"),
        ]
    );
    let messages: Vec<&str> = d
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "OIS DeliveryAddress.HouseNo: DeliveryAddress.HouseNo is 4 characters long; the p profile allows at most 3",
            "OIS DeliveryAddress.HouseNoExt: DeliveryAddress.HouseNoExt is 3 characters long; the p profile allows at most 2",
            "OIS DeliveryAddress.LastName: DeliveryAddress.LastName is 12 characters long; the p profile allows at most 5",
        ]
    );
}

#[test]
fn a_split_street_that_is_too_long_points_at_the_street() {
    let mut o = order();
    let address = o.delivery_address.as_mut().unwrap();
    address.house_number = None;
    address.street = Some(format!("{} 12", "S".repeat(51)));
    let d = encode(&adapter(json!({})), o).unwrap_err();
    assert_eq!(
        errors(&d),
        [("/delivery_address/street", "ois.field_too_long")]
    );
    assert!(
        d.as_slice()[0]
            .message
            .contains("Street is 51 characters long; the xprt profile allows at most 50"),
        "{d}"
    );
}

#[test]
fn only_orders_are_encoded_and_only_as_order() {
    let a = adapter(json!({}));
    let d = a
        .encode("order", &Document::ProductList(ProductList::default()))
        .unwrap_err();
    assert_eq!(errors(&d), [("/contract", "ois.wrong_document")]);
    let d = a.encode("cart", &Document::Order(order())).unwrap_err();
    assert_eq!(errors(&d), [("", "ois.unknown_message")]);
}

#[test]
fn a_net_only_line_without_vat_rate_is_refused() {
    let mut o = order();
    o.lines[0].unit_price = Some(Price::net(Decimal::TEN));
    o.lines[0].vat_rate = None;
    o.totals = None;
    let d = encode(&adapter(json!({})), o.clone()).unwrap_err();
    assert_eq!(errors(&d), [("/lines/0/vat_rate", "ois.vat_rate_missing")]);
    // With net and gross, the rate they imply is used.
    o.lines[0].unit_price = Some(Price {
        net: Some(Decimal::TEN),
        gross: Some(Decimal::new(1210, 2)),
    });
    let (ois, _) = encode(&adapter(json!({})), o).unwrap();
    assert_eq!(ois["OrderLines"][0]["VATPercentage"], json!(21));
}

/// `order()` as a header-level protocol (cXML) states it: net prices, no rate on any
/// line, the VAT only in the totals.
fn order_with_header_tax(tax: &str) -> Order {
    let net = |sku: &str, kind: LineKind, quantity: i64, price: &str| OrderLine {
        kind,
        sku: Some(sku.into()),
        quantity: Decimal::from(quantity),
        unit_price: Some(Price::net(price.parse().unwrap())),
        ..OrderLine::default()
    };
    let tax: Decimal = tax.parse().unwrap();
    let net_total: Decimal = "35.27".parse().unwrap();
    Order {
        lines: vec![
            net("A-1", LineKind::Article, 3, "9.99"),
            net("A-2", LineKind::Article, 1, "0.35"),
            net("SHIP", LineKind::Shipping, 1, "4.95"),
        ],
        totals: Some(Totals {
            gross: net_total + tax,
            net: Some(net_total),
            tax: Some(tax),
        }),
        ..order()
    }
}

#[test]
fn a_rate_is_derived_from_the_header_tax_for_every_line() {
    // At 21 %, each line's VAT to the cent: 6.29 + 0.07 + 1.04 = 7.40.
    let (ois, warnings) = encode(&adapter(json!({})), order_with_header_tax("7.40")).unwrap();
    let lines = ois["OrderLines"].as_array().unwrap();
    let rates: Vec<String> = lines
        .iter()
        .map(|line| line["VATPercentage"].to_string())
        .collect();
    assert_eq!(rates, ["21", "21", "21"]);
    let values: Vec<String> = lines.iter().map(|line| line["Value"].to_string()).collect();
    assert_eq!(values, ["36.26", "0.42", "5.99"]);
    assert_eq!(ois["TotalValue"].to_string(), "42.67");
    let derived: Vec<_> = warnings
        .iter()
        .filter(|d| d.code == "ois.vat_rate_derived")
        .collect();
    assert_eq!(derived.len(), 1, "{warnings}");
    assert_eq!(derived[0].path, "/totals/tax");
    assert!(
        derived[0]
            .message
            .contains("lines 0, 1 and 2 state no VAT rate: 21 % is derived"),
        "{}",
        derived[0]
    );

    // A line that states its rate keeps it; the others share what is left.
    // 29.97 at 6 % is 1.80; 5.30 at 21 %, 1.11.
    let mut mixed = order_with_header_tax("2.91");
    mixed.lines[0].vat_rate = Some(Decimal::from(6));
    let (ois, _) = encode(&adapter(json!({})), mixed).unwrap();
    let rates: Vec<String> = ois["OrderLines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["VATPercentage"].to_string())
        .collect();
    assert_eq!(rates, ["6", "21", "21"]);
}

#[test]
fn a_header_tax_no_single_rate_explains_is_refused_once_with_the_reason() {
    // 7.00 is 19.85 % of 35.27: no rate with at most one decimal gives it.
    let d = encode(&adapter(json!({})), order_with_header_tax("7.00")).unwrap_err();
    assert_eq!(errors(&d), [("/totals/tax", "ois.vat_rate_missing")]);
    let message = &d.iter().find(|d| d.is_error()).unwrap().message;
    assert!(
        message.starts_with(
            "OIS needs every line's VATPercentage: lines 0, 1 and 2 state no VAT rate"
        ),
        "{message}"
    );
    assert!(message.contains("19.8469 %"), "{message}");
    assert!(message.contains("35.27 EUR"), "{message}");
    assert!(message.contains("mapping.vat_rate_field"), "{message}");

    // Without a stated tax there is nothing to derive from: said at the first line.
    let mut untaxed = order_with_header_tax("7.40");
    untaxed.totals.as_mut().unwrap().tax = None;
    let d = encode(&adapter(json!({})), untaxed).unwrap_err();
    assert_eq!(errors(&d), [("/lines/0/vat_rate", "ois.vat_rate_missing")]);
    assert!(d.as_slice()[0].message.contains("totals.tax"), "{d}");
}
