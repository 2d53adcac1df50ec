//! Properties over generated orders: the amount sent is always the canonical total in
//! minor units, and orders survive both forms whole.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Europe::Paris;
use proptest::prelude::*;
use serde_json::Value;
use tradewire_payment_order::PaymentOrder;
use tradewire_sdk::core::{
    Address, Country, Currency, Decimal, Delivery, DeliveryMethod, DeliverySpeed, LineKind,
    Manufacturer, OptionValue, Order, OrderLine, Price, Totals,
};
use tradewire_sdk::{Adapter, Document};

fn adapter() -> PaymentOrder {
    PaymentOrder::new(serde_json::from_str(r#"{"today": "2000-01-01"}"#).unwrap()).unwrap()
}

/// Currencies with 0, 2, 3 and 4 decimals.
fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec![
        "EUR", "USD", "GBP", "JPY", "KRW", "BHD", "KWD", "TND", "CLF",
    ])
    .prop_map(|code| Currency::from_code(code).unwrap())
}

fn minor(currency: Currency, units: u64) -> Decimal {
    currency
        .from_minor_units(i64::try_from(units).unwrap())
        .unwrap()
}

fn created_at() -> impl Strategy<Value = chrono::DateTime<chrono::FixedOffset>> {
    (2000..2030_i32, 1..=12_u32, 1..=28_u32, 0..24_u32, 0..60_u32).prop_map(
        |(year, month, day, hour, minute)| {
            let local = NaiveDate::from_ymd_opt(year, month, day)
                .unwrap()
                .and_hms_opt(hour, minute, 0)
                .unwrap();
            // A time skipped by the clock change is read as the hour after it.
            let moment = Paris
                .from_local_datetime(&local)
                .earliest()
                .or_else(|| {
                    Paris
                        .from_local_datetime(&(local + chrono::Duration::hours(1)))
                        .earliest()
                })
                .unwrap();
            moment.fixed_offset()
        },
    )
}

fn order_with(currency: Currency, lines: Vec<OrderLine>, totals: Option<Totals>) -> Order {
    Order {
        reference: Some("PROP-1".into()),
        billing_address: Some(Address {
            country: Some(Country::from_alpha2("BE").unwrap()),
            ..Address::default()
        }),
        created_at: Some(
            Paris
                .with_ymd_and_hms(2025, 1, 2, 3, 4, 0)
                .unwrap()
                .fixed_offset(),
        ),
        lines,
        totals,
        ..Order::new(currency)
    }
}

fn encoded_amount(order: &Order) -> String {
    let bytes = adapter()
        .encode("order", &Document::Order(order.clone()))
        .unwrap_or_else(|d| panic!("{d}"))
        .value;
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    json["amount"].as_str().unwrap().to_owned()
}

proptest! {
    /// With stated totals, `amount` is `totals.gross` in minor units, exactly.
    #[test]
    fn amount_is_the_stated_total_in_minor_units(
        currency in currency(),
        lines in prop::collection::vec((1..50_u64, 0..10_000_000_u64, any::<bool>()), 1..6),
    ) {
        let lines: Vec<OrderLine> = lines
            .into_iter()
            .map(|(quantity, price, shipping)| OrderLine {
                kind: if shipping { LineKind::Shipping } else { LineKind::Article },
                sku: Some("SKU".into()),
                quantity: Decimal::from(quantity),
                unit_price: Some(Price::gross(minor(currency, price))),
                ..OrderLine::default()
            })
            .collect();
        let total: Decimal = lines.iter().map(|l| l.signed_gross_total().unwrap()).sum();
        let order = order_with(currency, lines, Some(Totals { gross: total, net: None, tax: None }));
        let expected = currency.to_minor_units(total).unwrap();
        prop_assert_eq!(encoded_amount(&order), expected.to_string());
    }

    /// Without totals, `amount` is the lines' total, rounded half away from zero.
    #[test]
    fn amount_is_the_computed_total_rounded(
        currency in currency(),
        lines in prop::collection::vec((1..20_u64, 0..100_000_000_u64, prop::sample::select(vec![0_i64, 55, 200, 210])), 1..6),
    ) {
        let lines: Vec<OrderLine> = lines
            .into_iter()
            .map(|(quantity, net_ten_thousandths, vat_tenths)| OrderLine {
                sku: Some("SKU".into()),
                quantity: Decimal::from(quantity),
                unit_price: Some(Price::net(Decimal::new(i64::try_from(net_ten_thousandths).unwrap(), 4))),
                vat_rate: Some(Decimal::new(vat_tenths, 1)),
                ..OrderLine::default()
            })
            .collect();
        let order = order_with(currency, lines, None);
        let computed = order.computed_gross_total().unwrap();
        let expected = currency.to_minor_units_rounded(computed).unwrap();
        prop_assert_eq!(encoded_amount(&order), expected.to_string());
    }
}

/// Text that reads back unchanged: no control characters (XML cannot carry most of
/// them) and no surrounding whitespace (values are trimmed when read).
fn text() -> impl Strategy<Value = String> {
    "[^\\p{C}\\s]([^\\p{C}]{0,20}[^\\p{C}\\s])?"
}

fn article(currency: Currency) -> impl Strategy<Value = OrderLine> {
    (
        "[A-Z0-9-]{1,12}",
        prop::option::of(text()),
        1..1000_u64,
        prop::option::of(0..1_000_000_000_u64),
        prop::option::of(0..10_000_i64),
        prop::collection::vec(("[a-z]{1,8}", "[a-z0-9]{0,8}"), 0..3),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(
            move |(sku, description, quantity, price, vat, options, brand, vendor)| OrderLine {
                sku: Some(sku),
                description,
                quantity: Decimal::from(quantity),
                unit_price: price.map(|units| Price::gross(minor(currency, units))),
                vat_rate: vat.map(|hundredths| Decimal::new(hundredths, 2).normalize()),
                options: options
                    .into_iter()
                    .map(|(name, value)| OptionValue { name, value })
                    .collect(),
                manufacturer: brand.map(|name| Manufacturer {
                    name: Some(name),
                    ..Manufacturer::default()
                }),
                vendor,
                ..OrderLine::default()
            },
        )
}

fn single(kind: LineKind, gross: Decimal) -> OrderLine {
    OrderLine {
        kind,
        quantity: Decimal::ONE,
        unit_price: Some(Price::gross(gross)),
        ..OrderLine::default()
    }
}

/// Orders in the shape decoding produces, so that a round trip must give them back.
fn decoded_shape_order() -> impl Strategy<Value = Order> {
    currency().prop_flat_map(|currency| {
        (
            "[A-Za-z0-9_./#-]{1,50}",
            prop::sample::select(vec!["e-commerce", "mail-order", "telephone", "SVI_#12"]),
            created_at(),
            // Payline requires the country.
            prop::sample::select(vec!["FR", "BE", "JP", "BH"]),
            prop::collection::vec(article(currency), 0..5),
            (
                prop::option::of(0..100_000_u64),
                prop::option::of(0..100_000_u64),
            ),
            (
                0..100_000_000_000_u64,
                prop::option::of(0..1_000_000_000_u64),
            ),
            (
                prop::option::of(prop::sample::select(vec![
                    DeliveryMethod::HomeDelivery,
                    DeliveryMethod::StorePickup,
                    DeliveryMethod::ServicePoint,
                    DeliveryMethod::TravelHubPickup,
                    DeliveryMethod::Electronic,
                ])),
                prop::option::of(prop::sample::select(vec![
                    DeliverySpeed::Express,
                    DeliverySpeed::Standard,
                ])),
                prop::option::of(0..3650_i64),
                prop::option::of(0..1000_u32),
            ),
            prop::option::of(text()),
        )
            .prop_map(
                move |(
                    reference,
                    channel,
                    created_at,
                    country,
                    articles,
                    (shipping, discount),
                    (gross, tax),
                    delivery,
                    booking,
                )| {
                    let mut lines = articles;
                    lines.extend(
                        shipping.map(|units| single(LineKind::Shipping, minor(currency, units))),
                    );
                    lines.extend(
                        discount.map(|units| single(LineKind::Discount, minor(currency, units))),
                    );
                    let (method, speed, days_ahead, delay) = delivery;
                    let delivery = Delivery {
                        method,
                        speed,
                        expected_date: days_ahead.map(|days| {
                            NaiveDate::from_ymd_opt(2001, 1, 1).unwrap()
                                + chrono::Duration::days(days)
                        }),
                        expected_delay_days: delay,
                        ..Delivery::default()
                    };
                    Order {
                        reference: Some(reference),
                        channel: Some(channel.to_owned()),
                        created_at: Some(created_at),
                        billing_address: Some(Address {
                            country: Some(Country::from_alpha2(country).unwrap()),
                            ..Address::default()
                        }),
                        lines,
                        delivery: (delivery != Delivery::default()).then_some(delivery),
                        totals: Some(Totals {
                            gross: minor(currency, gross),
                            net: None,
                            tax: tax.map(|units| minor(currency, units)),
                        }),
                        extensions: booking
                            .map(|text| ("payline.bookingReference".to_owned(), text))
                            .into_iter()
                            .collect(),
                        ..Order::new(currency)
                    }
                },
            )
    })
}

proptest! {
    #[test]
    fn orders_survive_both_forms(order in decoded_shape_order()) {
        let adapter = adapter();
        for message in ["order", "order-soap"] {
            let encoded = adapter
                .encode(message, &Document::Order(order.clone()))
                .unwrap_or_else(|d| panic!("{message}: {d}"));
            let decoded = adapter
                .decode(message, &encoded.value)
                .unwrap_or_else(|d| panic!("{message}: {d}\n{}", String::from_utf8_lossy(&encoded.value)));
            prop_assert_eq!(&decoded.value, &Document::Order(order.clone()), "{}", message);
        }
    }

    #[test]
    fn decoding_anything_never_panics(input in prop::collection::vec(any::<u8>(), 0..300)) {
        let adapter = adapter();
        let _ = adapter.decode("order", &input);
        let _ = adapter.decode("order-soap", &input);
    }

    #[test]
    fn decoding_near_misses_never_panics(
        parts in prop::collection::vec(
            prop::sample::select(vec![
                r#"<order xmlns="http://obj.ws.payline.experian.com">"#, "</order>", "<ref>", "</ref>",
                "<amount>", "</amount>", "<currency>978</currency>", "<date>31/12/2024 23:59</date>",
                "<details>", "</details>", "<taxRate>", "</taxRate>", "-1", "1580.5", "99999999999999",
                r#"{"ref":"#, r#""amount":"#, r#""details":["#, "]", "}", ",", r#""x""#, "null", "\\",
            ]),
            0..30,
        )
    ) {
        let adapter = adapter();
        let input = parts.concat();
        let _ = adapter.decode("order", input.as_bytes());
        let _ = adapter.decode("order-soap", input.as_bytes());
    }
}
