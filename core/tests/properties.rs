//! Properties of the canonical model that must hold for any input.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tradewire_core::{
    Currency, Decimal, Discount, Document, DocumentKind, LineKind, OptionValue, Order, OrderLine,
    Price, Totals,
};

fn decimal(max_units: i64, scale: u32) -> impl Strategy<Value = Decimal> {
    (0..=max_units).prop_map(move |units| Decimal::new(units, scale))
}

fn line_kind() -> impl Strategy<Value = LineKind> {
    prop_oneof![
        Just(LineKind::Article),
        Just(LineKind::Shipping),
        Just(LineKind::PaymentFee),
        Just(LineKind::Voucher),
        Just(LineKind::Discount),
    ]
}

prop_compose! {
    fn order_line()(
        kind in line_kind(),
        sku in proptest::option::of("[A-Z]{2,4}[0-9]{3,5}"),
        description in proptest::option::of("\\PC{0,40}"),
        quantity in decimal(100_000, 3),
        net in proptest::option::of(decimal(10_000_000, 4)),
        gross in proptest::option::of(decimal(10_000_000, 2)),
        vat_rate in proptest::option::of(prop_oneof![Just(Decimal::ZERO), Just(Decimal::new(55, 1)), Just(Decimal::new(20, 0))]),
        discount in proptest::option::of(decimal(10_000, 2)),
        options in proptest::collection::vec(("[A-Za-z]{1,8}", "\\PC{0,8}"), 0..3),
        extensions in proptest::collection::btree_map("[A-Z_]{1,12}", "\\PC{0,12}", 0..3),
    ) -> OrderLine {
        OrderLine {
            kind,
            sku,
            description,
            quantity,
            unit_price: Some(Price { net, gross }),
            vat_rate,
            discounts: discount.map(|d| vec![Discount { amount: Price::gross(d), ..Discount::default() }]).unwrap_or_default(),
            options: options.into_iter().map(|(name, value)| OptionValue { name, value }).collect(),
            extensions,
            ..OrderLine::default()
        }
    }
}

prop_compose! {
    fn order()(
        currency in prop_oneof![Just("EUR"), Just("JPY"), Just("BHD"), Just("USD")],
        lines in proptest::collection::vec(order_line(), 0..8),
        total in proptest::option::of(decimal(100_000_000, 2)),
        id in proptest::option::of("[0-9]{1,10}"),
    ) -> Order {
        let mut order = Order::new(Currency::from_code(currency).expect("known currency"));
        order.lines = lines;
        order.id = id;
        order.totals = total.map(|gross| Totals { gross, net: None, tax: None });
        order
    }
}

proptest! {
    #[test]
    fn any_order_survives_a_json_round_trip(order in order()) {
        let document = Document::Order(order);
        let json = document.to_json();
        let back = Document::from_json(&json, Some(DocumentKind::Order)).expect("own JSON parses");
        prop_assert_eq!(back, document);
    }

    #[test]
    fn validation_never_panics_and_flags_non_positive_quantities(order in order()) {
        let diagnostics = order.validate();
        for (i, line) in order.lines.iter().enumerate() {
            if line.quantity <= Decimal::ZERO {
                let path = format!("/lines/{i}/quantity");
                prop_assert!(diagnostics.iter().any(|d| d.path == path), "{} not flagged", path);
            }
        }
        prop_assert_eq!(diagnostics.has_errors(), diagnostics.iter().any(|d| d.is_error()));
    }

    #[test]
    fn a_stated_total_equal_to_the_computed_one_always_passes(order in order()) {
        let mut order = order;
        if let Some(computed) = order.computed_gross_total().filter(|t| *t >= Decimal::ZERO) {
            order.totals = Some(Totals { gross: order.currency.round(computed), net: None, tax: None });
            prop_assert!(!order.validate().iter().any(|d| d.code == "order.total_mismatch"), "{}", order.validate());
        }
    }

    #[test]
    fn minor_units_round_trip_exactly(units in -1_000_000_000_000i64..1_000_000_000_000, code in "(EUR|JPY|BHD|KWD|CLF|USD|XOF)") {
        let currency = Currency::from_code(&code).expect("known currency");
        let amount = currency.from_minor_units(units).expect("has a minor unit");
        prop_assert_eq!(currency.to_minor_units(amount), Ok(units));
    }

    #[test]
    fn garbage_json_is_a_diagnostic_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Document::from_json(&bytes, None);
    }
}

fn extreme() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::new(1, 28)),
        any::<i64>().prop_map(|units| Decimal::new(units, 0)),
        (any::<i64>(), 0u32..=28).prop_map(|(units, scale)| Decimal::new(units, scale)),
    ]
}

proptest! {
    #[test]
    fn validation_never_panics_on_extreme_amounts(
        quantity in extreme(), net in extreme(), gross in extreme(), vat in extreme(),
        basis in extreme(), discount in extreme(), total in extreme(), lines in 1usize..4,
    ) {
        let line = OrderLine {
            sku: Some("X".into()),
            quantity,
            unit_price: Some(Price { net: Some(net), gross: None }),
            price_basis_quantity: Some(basis),
            vat_rate: Some(vat),
            discounts: vec![Discount { amount: Price::net(discount), ..Discount::default() }],
            ..OrderLine::default()
        };
        let mut order = Order::new(Currency::EUR);
        order.lines = vec![line; lines];
        order.totals = Some(Totals { gross: total, net: Some(gross), tax: Some(net) });
        let _ = order.validate();
        let _ = order.computed_gross_total();
    }
}
