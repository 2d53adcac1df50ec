//! Round trips that must hold for any document the protocol can carry, and decoding
//! that must never panic whatever the bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, NaiveDateTime};
use proptest::prelude::*;
use tradewire_econnecteur::{Econnecteur, EconnecteurConfig};
use tradewire_sdk::core::{
    Adjustment, CategoryPrice, Country, Currency, Decimal, Dimensions, LineKind, Money,
    OptionValue, Order, OrderLine, Price, PriceList, PriceRule, Product, ProductText, Secret,
    ServiceOperation, ServiceRequest, Totals, Variant,
};
use tradewire_sdk::{Adapter, Document};

fn adapter() -> Econnecteur {
    Econnecteur::new(EconnecteurConfig::default()).unwrap()
}

/// Text as the protocol keeps it: trimmed and not empty (an empty element is "no
/// value"), with the characters XML must escape.
fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9éàù<>&;'\"%#{}=]([A-Za-z0-9éàù<>&;'\"%#{}= ]{0,20}[A-Za-z0-9éàù<>&;'\"])?"
}

fn amount() -> impl Strategy<Value = Decimal> {
    (0i64..10_000_000, 0u32..=4).prop_map(|(units, scale)| Decimal::new(units, scale))
}

fn signed() -> impl Strategy<Value = Decimal> {
    (-100_000i64..100_000, 0u32..=3).prop_map(|(units, scale)| Decimal::new(units, scale))
}

fn money() -> impl Strategy<Value = Money> {
    amount().prop_map(|a| Money::new(a, Currency::EUR))
}

prop_compose! {
    fn variant()(
        sku in "[A-Z][A-Z0-9_]{2,8}",
        names in proptest::collection::btree_set("[A-Z][a-z]{1,8}", 1..3),
        values in proptest::collection::vec(text(), 3),
        price in proptest::option::of(money()),
        stock in proptest::option::of(signed()),
        weight in proptest::option::of(amount()),
    ) -> Variant {
        Variant {
            sku,
            options: names.into_iter().zip(values).map(|(name, value)| OptionValue { name, value }).collect(),
            price,
            stock,
            weight,
            ..Variant::default()
        }
    }
}

prop_compose! {
    fn product_text()(
        name in proptest::option::of(text()),
        description in proptest::option::of(text()),
        short_description in proptest::option::of(text()),
        meta_title in proptest::option::of(text()),
    ) -> ProductText {
        ProductText { name, description, short_description, meta_title, ..ProductText::default() }
    }
}

prop_compose! {
    fn product()(
        sku in "[A-Z0-9][A-Z0-9-]{0,10}",
        text in product_text(),
        translations in proptest::collection::btree_map("[a-z]{2}-[a-z]{2}", product_text(), 0..3),
        price in proptest::option::of(money()),
        vat_rate in proptest::option::of(prop_oneof![Just(Decimal::new(55, 1)), Just(Decimal::new(2000, 2))]),
        stock in proptest::option::of(signed()),
        weight in proptest::option::of(amount()),
        width in proptest::option::of(amount()),
        active in proptest::option::of(any::<bool>()),
        available in proptest::option::of(any::<bool>()),
        category_path in proptest::collection::vec(text(), 0..4),
        category_prices in proptest::collection::vec((text(), money()), 0..3),
        variants in proptest::collection::vec(variant(), 0..3),
        extensions in proptest::collection::btree_map("x_[a-z]{1,8}", text(), 0..3),
    ) -> Product {
        let mut seen = std::collections::BTreeSet::new();
        Product {
            sku,
            text,
            translations,
            price,
            vat_rate,
            stock,
            weight,
            dimensions: width.map(|width| Dimensions { width: Some(width), ..Dimensions::default() }),
            active,
            available,
            category_path,
            category_prices: category_prices
                .into_iter()
                .map(|(category, price)| CategoryPrice { category, price })
                .collect(),
            variants: variants.into_iter().filter(|v| seen.insert(v.sku.clone())).collect(),
            extensions,
            ..Product::default()
        }
    }
}

fn date_time() -> impl Strategy<Value = NaiveDateTime> {
    (
        2000i32..2040,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(y, m, d, h, mi, s)| {
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, mi, s)
                .unwrap()
        })
}

prop_compose! {
    fn rule()(
        id in proptest::option::of("TF[0-9]{5}"),
        source in proptest::option::of("[a-z_]{3,12}"),
        product_sku in proptest::option::of("[A-Z0-9]{3,12}"),
        parent_sku in proptest::option::of("[A-Z][A-Z0-9]{2,8}"),
        customer in proptest::option::of("C[A-Z0-9]{2,8}"),
        customer_emails in proptest::collection::vec("[a-z]{1,6}@[a-z]{1,6}\\.fr", 0..3),
        group in proptest::option::of(text()),
        currency in proptest::option::of(prop_oneof![Just(Currency::EUR), Just(Currency::USD)]),
        country in proptest::option::of(prop_oneof![Just("FR"), Just("BE"), Just("CH")]),
        min_quantity in amount(),
        valid_from in proptest::option::of(date_time()),
        valid_to in proptest::option::of(date_time()),
        kind in 0..3,
        value in (0i64..10_000, 0u32..=2).prop_map(|(u, s)| Decimal::new(u, s)),
        base_price in proptest::option::of(amount()),
    ) -> PriceRule {
        // A rule ends after it starts (the model refuses the other way round).
        let (valid_from, valid_to) = match (valid_from, valid_to) {
            (Some(from), Some(to)) if to < from => (Some(to), Some(from)),
            bounds => bounds,
        };
        PriceRule {
            id,
            source,
            product_sku,
            parent_sku,
            customer,
            customer_emails,
            group,
            currency,
            country: country.map(|c| Country::from_alpha2(c).unwrap()),
            min_quantity,
            valid_from,
            valid_to,
            adjustment: match kind {
                0 => Adjustment::FixedPrice(value),
                1 => Adjustment::AmountOff(value),
                _ => Adjustment::PercentOff(value.min(Decimal::ONE_HUNDRED)),
            },
            base_price,
        }
    }
}

prop_compose! {
    fn order()(
        lines in proptest::collection::vec(
            ("[A-Z]{2,4}[0-9]{2,5}", text(), (1i64..50, 0u32..=2), amount(),
             prop_oneof![Just(Decimal::ZERO), Just(Decimal::new(55, 1)), Just(Decimal::from(20))]),
            1..5),
        shipping in proptest::option::of(amount()),
        kind in prop_oneof![Just(tradewire_sdk::core::OrderKind::Order), Just(tradewire_sdk::core::OrderKind::Quote), Just(tradewire_sdk::core::OrderKind::Invoice)],
        created in date_time(),
    ) -> Order {
        let mut order = Order::new(Currency::EUR);
        order.kind = kind;
        order.created_at = Some(created.and_utc().fixed_offset());
        order.lines = lines
            .into_iter()
            .map(|(sku, description, (q, s), net, vat)| OrderLine {
                sku: Some(sku),
                description: Some(description),
                quantity: Decimal::new(q, s),
                unit_price: Some(Price::net(net)),
                vat_rate: Some(vat),
                ..OrderLine::default()
            })
            .collect();
        if let Some(amount) = shipping {
            order.lines.push(OrderLine {
                kind: LineKind::Shipping,
                quantity: Decimal::ONE,
                unit_price: Some(Price::gross(amount)),
                vat_rate: Some(Decimal::from(20)),
                ..OrderLine::default()
            });
        }
        let gross = order.computed_gross_total().map(|g| Currency::EUR.round(g));
        order.totals = gross.map(|gross| Totals { gross, net: None, tax: None });
        order
    }
}

fn round_trip(message: &str, document: &Document) -> Document {
    let adapter = adapter();
    let bytes = adapter.encode(message, document).unwrap().value;
    adapter.decode(message, &bytes).unwrap().value
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn products_round_trip(product in product()) {
        let document = Document::Product(product);
        prop_assert_eq!(round_trip("product", &document), document.clone());
        prop_assert_eq!(round_trip("option", &document), document);
    }

    #[test]
    fn product_pushes_round_trip_as_requests(product in product(), key in "[A-Za-z0-9]{8,32}") {
        let request = ServiceRequest {
            credential: Some(Secret::new(key)),
            ..ServiceRequest::new(ServiceOperation::UpdateProduct { product })
        };
        let document = Document::ServiceRequest(request);
        prop_assert_eq!(round_trip("request", &document), document);
    }

    #[test]
    fn price_lists_round_trip(rules in proptest::collection::vec(rule(), 0..6)) {
        let document = Document::PriceList(PriceList { rules });
        prop_assert_eq!(round_trip("grilles", &document), document);
    }

    #[test]
    fn orders_keep_their_lines_and_settle_after_one_trip(order in order()) {
        let first = round_trip("order", &Document::Order(order.clone()));
        let Document::Order(decoded) = &first else { panic!() };
        // What the protocol carries comes back as it went.
        prop_assert_eq!(decoded.lines.len(), order.lines.len());
        for (line, back) in order.lines.iter().zip(&decoded.lines) {
            prop_assert_eq!(line.kind, back.kind);
            prop_assert_eq!(&line.sku, &back.sku);
            prop_assert_eq!(line.quantity, back.quantity);
            prop_assert_eq!(line.unit_price, back.unit_price);
            prop_assert_eq!(line.vat_rate, back.vat_rate);
        }
        prop_assert_eq!(decoded.totals, order.totals);
        prop_assert_eq!(decoded.kind, order.kind);
        prop_assert_eq!(decoded.created_at, order.created_at);
        // The product totals computed on the first trip are stated from then on.
        prop_assert_eq!(round_trip("order", &first), first.clone());
    }

    #[test]
    fn list_calls_round_trip(
        operation in prop_oneof![
            (proptest::option::of(0u64..10_000), 1u64..1_000).prop_map(|(offset, count)| ServiceOperation::ListProducts { offset, count: Some(count) }),
            Just(ServiceOperation::ListOptions { offset: None, count: None }),
            proptest::collection::vec("[a-z0-9_]{1,10}", 0..4).prop_map(|states| ServiceOperation::ListOrders { states }),
            "[0-9]{1,9}".prop_map(|order_id| ServiceOperation::GetOrder { order_id }),
            ("[0-9]{1,9}", proptest::option::of(text())).prop_map(|(order_id, final_status)| ServiceOperation::SetOrderExported { order_id, final_status }),
            ("[0-9]{1,9}", text()).prop_map(|(order_id, tracking_number)| ServiceOperation::AddTracking { order_id, tracking_number }),
            proptest::option::of((2000i32..2040, 1u32..=12, 1u32..=28)).prop_map(|d| ServiceOperation::ListCustomers {
                changed_since: d.map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap()),
            }),
        ],
        key in proptest::option::of("[!-~]{1,40}"),
    ) {
        let request = ServiceRequest {
            credential: key.map(Secret::new),
            ..ServiceRequest::new(operation)
        };
        let document = Document::ServiceRequest(request);
        prop_assert_eq!(round_trip("request", &document), document);
    }

    #[test]
    fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let adapter = adapter();
        for message in ["request", "response", "order", "product", "option", "customers", "grilles"] {
            let _ = adapter.decode(message, &bytes);
        }
    }

    #[test]
    fn decoding_form_and_markup_soup_never_panics(
        parts in proptest::collection::vec(prop::sample::select(vec![
            "key=", "resource=", "add_product", "products_list", "add_grilles", "orders", "&", "=", "%",
            "%3C", "data=", "limit=", "0,5", "compression=1", "--b\r\n", "Content-Disposition: form-data; name=\"data\"",
            "\r\n\r\n", "--b--", "<connecteur>", "</connecteur>", "<grilles>", "<grille>", "<price>1</price>",
            "<reference>A</reference>", "<gammes>", "<V1>", "<C>", "</C>", "</V1>", "</gammes>",
        ]), 0..40)
    ) {
        let adapter = adapter();
        let body = parts.concat();
        let _ = adapter.decode("request", body.as_bytes());
        let _ = adapter.decode("product", body.as_bytes());
        let _ = adapter.decode("grilles", body.as_bytes());
    }
}
