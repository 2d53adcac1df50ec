//! Properties over generated orders: what the adapter emits satisfies OIS's price rule and
//! adds up to the order's total, comes back unchanged through decode and encode, and no
//! input, however broken, makes it panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::DateTime;
use proptest::prelude::*;
use serde_json::{Value, json};
use tradewire_ois_orders::ois::OisOrder;
use tradewire_ois_orders::{OisConfig, OisOrders};
use tradewire_sdk::core::{
    Address, Country, CouponPayment, Currency, Decimal, Delivery, DeliveryMethod, Discount,
    LineKind, Order, OrderLine, Party, Payment, PickupLocation, Price, Totals,
    from_json_with_paths,
};
use tradewire_sdk::{Adapter, Document};

const VAT_RATES: [&str; 7] = ["0", "5.5", "6", "9", "19", "20", "21"];

fn adapter() -> OisOrders {
    OisOrders::new(OisConfig::default()).unwrap()
}

fn cents(n: i64) -> Decimal {
    Decimal::new(n, 2)
}

fn vat() -> impl Strategy<Value = Decimal> {
    prop::sample::select(&VAT_RATES[..]).prop_map(|r| r.parse().unwrap())
}

/// A unit price given net (up to four decimals, as e-connecteur sends them) or gross.
fn unit_price() -> impl Strategy<Value = Price> {
    prop_oneof![
        (1_i64..=10_000_000).prop_map(|n| Price::net(Decimal::new(n, 4))),
        (1_i64..=100_000).prop_map(|n| Price::gross(cents(n))),
    ]
}

/// Quantities are mostly whole, sometimes a quarter step (sold by weight or length).
fn quantity() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        4 => (1_i64..=20).prop_map(Decimal::from),
        1 => (1_i64..=40).prop_map(|n| Decimal::new(n * 25, 2)),
    ]
}

fn article() -> impl Strategy<Value = OrderLine> {
    (
        quantity(),
        unit_price(),
        vat(),
        prop::collection::vec((1_i64..=15, any::<bool>()), 0..=2),
        prop::option::of(2_i64..=4),
    )
        .prop_map(|(quantity, unit_price, vat, discounts, basis)| {
            let mut line = OrderLine {
                kind: LineKind::Article,
                sku: Some("SKU-1".into()),
                quantity,
                unit_price: Some(unit_price),
                price_basis_quantity: basis.map(Decimal::from),
                vat_rate: Some(vat),
                ..OrderLine::default()
            };
            let gross = line.signed_gross_total().unwrap();
            // Each discount is at most 15 % of the line, cut to the cent, net or gross.
            line.discounts = discounts
                .into_iter()
                .map(|(percent, as_net)| {
                    let amount =
                        (gross * Decimal::from(percent) / Decimal::ONE_HUNDRED).trunc_with_scale(2);
                    Discount {
                        amount: if as_net {
                            Price::net(amount)
                        } else {
                            Price::gross(amount)
                        },
                        code: Some(format!("D{percent}")),
                        ..Discount::default()
                    }
                })
                .collect();
            line
        })
}

fn charge(kind: LineKind) -> impl Strategy<Value = OrderLine> {
    (unit_price(), vat()).prop_map(move |(unit_price, vat)| OrderLine {
        kind,
        quantity: Decimal::ONE,
        unit_price: Some(unit_price),
        vat_rate: Some(vat),
        ..OrderLine::default()
    })
}

fn delivery() -> impl Strategy<Value = Delivery> {
    prop_oneof![
        Just(Delivery {
            method: Some(DeliveryMethod::HomeDelivery),
            ..Delivery::default()
        }),
        Just(Delivery {
            method: Some(DeliveryMethod::StorePickup),
            pickup_branch: Some("B-7".into()),
            ..Delivery::default()
        }),
        Just(Delivery {
            method: Some(DeliveryMethod::ServicePoint),
            pickup_location: Some(PickupLocation {
                code: "SP-1".into(),
                name: Some("Kiosk".into()),
            }),
            ..Delivery::default()
        }),
    ]
}

/// A valid canonical order: articles (a variant may repeat), maybe shipping, a payment
/// fee, a voucher paid as a coupon and an order-level discount, and the total it adds up
/// to.
fn valid_order() -> impl Strategy<Value = Order> {
    (
        prop::collection::vec(article(), 1..=5),
        prop::option::of(charge(LineKind::Shipping)),
        prop::option::of(charge(LineKind::PaymentFee)),
        prop::option::of(1_i64..=40),
        prop::option::of(1_i64..=20),
        delivery(),
        prop::sample::select(
            &[
                "Keizersgracht 123 A",
                "route de troubadour",
                "12 rue de la Paix",
            ][..],
        ),
    )
        .prop_map(
            |(articles, shipping, fee, voucher_percent, discount_percent, mut delivery, street)| {
                let articles_total: Decimal = articles
                    .iter()
                    .filter_map(OrderLine::signed_gross_total)
                    .sum();
                let mut lines = articles;
                lines.extend(shipping);
                lines.extend(fee);
                let mut coupons = Vec::new();
                if let Some(percent) = voucher_percent {
                    let amount = (articles_total * Decimal::from(percent) / Decimal::ONE_HUNDRED)
                        .trunc_with_scale(2);
                    if amount > Decimal::ZERO {
                        lines.push(OrderLine {
                            kind: LineKind::Voucher,
                            sku: Some("GIFT".into()),
                            quantity: Decimal::ONE,
                            unit_price: Some(Price::gross(amount)),
                            vat_rate: Some(Decimal::ZERO),
                            ..OrderLine::default()
                        });
                        coupons.push(CouponPayment {
                            code: "GIFT".into(),
                            amount,
                            payment_option_id: Some("31".into()),
                        });
                    }
                }
                if let Some(percent) = discount_percent {
                    let amount = (articles_total * Decimal::from(percent) / Decimal::ONE_HUNDRED)
                        .trunc_with_scale(2);
                    if amount > Decimal::ZERO {
                        lines.push(OrderLine {
                            kind: LineKind::Discount,
                            sku: Some("WELCOME".into()),
                            quantity: Decimal::ONE,
                            unit_price: Some(Price::gross(amount)),
                            ..OrderLine::default()
                        });
                    }
                }
                delivery.carrier_id = Some("4".into());
                let address = Address {
                    first_name: Some("Jan".into()),
                    last_name: Some("de Vries".into()),
                    street: Some(street.into()),
                    postal_code: Some("1015 CJ".into()),
                    city: Some("Amsterdam".into()),
                    country: Some(Country::from_alpha2("NL").unwrap()),
                    ..Address::default()
                };
                let mut order = Order {
                    created_at: Some(
                        DateTime::parse_from_rfc3339("2024-05-17T14:32:05+02:00").unwrap(),
                    ),
                    customer: Some(Party {
                        first_name: Some("Jan".into()),
                        last_name: Some("de Vries".into()),
                        ..Party::default()
                    }),
                    delivery_address: Some(address),
                    lines,
                    delivery: Some(delivery),
                    payment: Some(Payment {
                        option_id: Some("12".into()),
                        reference: Some("PSP-1".into()),
                        coupons,
                        ..Payment::default()
                    }),
                    ..Order::new(Currency::EUR)
                };
                let total = order.computed_gross_total().unwrap();
                order.totals = Some(Totals {
                    gross: Currency::EUR.round(total),
                    net: None,
                    tax: None,
                });
                order
            },
        )
}

fn encode(order: &Order) -> Result<Vec<u8>, String> {
    adapter()
        .encode("order", &Document::Order(order.clone()))
        .map(|accepted| accepted.value)
        .map_err(|d| d.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn emitted_lines_keep_the_price_rule_and_add_up_to_the_total(order in valid_order()) {
        prop_assert!(order.validate().is_empty(), "the generator made an invalid order: {}", order.validate());
        let bytes = encode(&order).map_err(TestCaseError::fail)?;
        let ois: OisOrder = from_json_with_paths(&bytes).unwrap();

        let mut sum = Decimal::ZERO;
        for line in &ois.order_lines {
            let original = line.original_price.unwrap().0;
            let price = line.price.unwrap().0;
            let value = line.value.unwrap().0;
            let discounts: Decimal = line.order_discounts.iter().map(|d| d.value.unwrap().0).sum();
            prop_assert_eq!(original, price + discounts, "OriginalPrice = Price + OrderDiscounts");
            prop_assert_eq!(value, price);
            for amount in [original, price, value, discounts] {
                prop_assert!(amount >= Decimal::ZERO);
                prop_assert_eq!(amount, amount.round_dp(2), "amounts are in cents");
            }
            let kind = line.line_type.as_ref().unwrap().parse().unwrap().kind();
            sum += kind.sign() * value;
        }
        let total = order.totals.unwrap().gross;
        prop_assert!(
            (sum - total).abs() <= order.rounding_tolerance(),
            "the lines add up to {} but the total is {} (tolerance {})", sum, total, order.rounding_tolerance()
        );
        prop_assert_eq!(ois.total_value.unwrap().0, total);
        // Order-level discounts are spread over the articles, never sent as lines.
        let canonical_lines = order.lines.iter().filter(|l| l.kind != LineKind::Discount).count();
        prop_assert_eq!(ois.order_lines.len(), canonical_lines);
    }

    #[test]
    fn what_is_emitted_decodes_and_encodes_to_the_same_bytes(order in valid_order()) {
        let first = encode(&order).map_err(TestCaseError::fail)?;
        let decoded = adapter().decode("order", &first).map_err(|d| TestCaseError::fail(d.to_string()))?;
        let Document::Order(decoded) = decoded.value else {
            return Err(TestCaseError::fail("not an order"));
        };
        let second = encode(&decoded).map_err(TestCaseError::fail)?;
        prop_assert_eq!(String::from_utf8(first).unwrap(), String::from_utf8(second).unwrap());
        // The amounts the ERP books survive: the decoded order adds up to the same total.
        let total = decoded.totals.unwrap().gross;
        prop_assert!((decoded.computed_gross_total().unwrap() - total).abs() <= decoded.rounding_tolerance());
    }

    #[test]
    fn a_negative_amount_is_refused_at_its_line(order in valid_order(), pick in any::<prop::sample::Index>()) {
        let mut order = order;
        let i = pick.index(order.lines.len());
        let unit = order.lines[i].unit_price.unwrap();
        order.lines[i].unit_price = Some(Price {
            net: unit.net.map(|n| -n),
            gross: unit.gross.map(|g| -g),
        });
        let why = encode(&order).unwrap_err();
        prop_assert!(why.contains("order.negative_amount"), "{}", why);
        prop_assert!(why.contains(&format!("/lines/{i}/unit_price")), "{}", why);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = adapter().decode("order", &bytes);
    }

    #[test]
    fn arbitrary_ois_shaped_json_never_panics(json in ois_shaped_json()) {
        let _ = adapter().decode("order", json.to_string().as_bytes());
    }

    #[test]
    fn arbitrary_canonical_amounts_never_panic(
        order in valid_order(),
        quantity in any::<i64>(),
        scale in 0_u32..=28,
        price in any::<i64>(),
        vat in any::<i64>(),
    ) {
        let mut order = order;
        order.lines[0].quantity = Decimal::new(quantity, scale);
        order.lines[0].unit_price = Some(Price::net(Decimal::new(price, scale)));
        order.lines[0].vat_rate = Some(Decimal::new(vat, scale));
        let _ = encode(&order);
    }
}

/// JSON with the OIS field names and any values: numbers of every size, strings, nulls,
/// nested objects where a scalar belongs.
fn ois_shaped_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[0-9a-zA-Z .,-]{0,40}".prop_map(Value::from),
        prop::sample::select(&["1", "2", "4", "9", "Voucher", "-1", "1e400", "0.001"][..])
            .prop_map(Value::from),
    ];
    const LINE_KEYS: [&str; 8] = [
        "LineType",
        "ArticleNumber",
        "Quantity",
        "OriginalPrice",
        "Price",
        "Value",
        "VATPercentage",
        "OrderDiscounts",
    ];
    const ORDER_KEYS: [&str; 10] = [
        "OrderDate",
        "CurrencyCode",
        "DeliveryMethod",
        "PickupBranchIdentifier",
        "ShippingAgentId",
        "PaymentOptionId",
        "PaymentReference",
        "TotalValue",
        "DeliveryAddress",
        "OrderCouponPayments",
    ];
    let line = prop::collection::vec((prop::sample::select(&LINE_KEYS[..]), leaf.clone()), 0..8)
        .prop_map(|pairs| {
            Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        });
    (
        prop::collection::vec((prop::sample::select(&ORDER_KEYS[..]), leaf), 0..8),
        prop::collection::vec(line, 0..4),
    )
        .prop_map(|(pairs, lines)| {
            let mut object: serde_json::Map<String, Value> =
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            object.insert("OrderLines".into(), Value::Array(lines));
            object.insert("Customer".into(), json!({"FirstName": "A"}));
            Value::Object(object)
        })
}
