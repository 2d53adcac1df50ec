//! Orders on inputs written for each rule: `pays` in four languages and as codes, written
//! in the configured form; dates without offset in the configured IANA zone, summer and
//! winter; the spec's totals written even when zero.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::DateTime;
use serde_json::{Value, json};
use tradewire_econnecteur::{Econnecteur, EconnecteurConfig};
use tradewire_sdk::core::{
    Address, Country, Currency, Decimal, Diagnostics, LineKind, Order, OrderLine, Price, Totals,
};
use tradewire_sdk::{Adapter, Document};

fn adapter(config: Value) -> Econnecteur {
    Econnecteur::new(serde_json::from_value::<EconnecteurConfig>(config).unwrap()).unwrap()
}

fn refused_config(config: Value) -> Diagnostics {
    Econnecteur::new(serde_json::from_value::<EconnecteurConfig>(config).unwrap()).unwrap_err()
}

/// An order with one line, the delivery address in `pays` and the date `date_add`.
fn order_xml(pays: &str, date_add: &str) -> String {
    format!(
        "<connecteur><order>\
           <livraison><pays>{pays}</pays><lastname>Weber</lastname></livraison>\
           <commande><date_add>{date_add}</date_add><total_paid>12.00</total_paid></commande>\
           <produits><product><product_reference>A-1</product_reference>\
             <product_quantity>1</product_quantity><product_price>10.00</product_price>\
             <tva_rate>20</tva_rate></product></produits>\
         </order></connecteur>"
    )
}

fn decode(adapter: &Econnecteur, xml: &str) -> Result<(Order, Diagnostics), Diagnostics> {
    let accepted = adapter.decode("order", xml.as_bytes())?;
    let Document::Order(order) = accepted.value else {
        panic!("not an order")
    };
    Ok((order, accepted.warnings))
}

fn encode(adapter: &Econnecteur, order: &Order) -> String {
    let accepted = adapter
        .encode("order", &Document::Order(order.clone()))
        .unwrap_or_else(|d| panic!("{d}"));
    String::from_utf8(accepted.value).unwrap()
}

/// The text of the first `<name>` element of `xml`.
fn element<'x>(xml: &'x str, name: &str) -> Option<&'x str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..end])
}

#[test]
fn pays_is_read_in_french_english_dutch_and_german_and_as_codes() {
    let adapter = adapter(json!({}));
    for (pays, code) in [
        ("Allemagne", "DE"),
        ("Pays-Bas", "NL"),
        ("Belgique", "BE"),
        ("Deutschland", "DE"),
        ("Netherlands", "NL"),
        ("Nederland", "NL"),
        ("NL", "NL"),
        ("deu", "DE"),
        ("PAYS-BAS", "NL"),
    ] {
        let (order, warnings) = decode(&adapter, &order_xml(pays, "2024-07-15 10:00:00")).unwrap();
        let address = order.delivery_address.unwrap();
        assert_eq!(address.country.map(Country::alpha2), Some(code), "{pays}");
        assert!(address.extensions.is_empty(), "{pays}");
        assert!(warnings.is_empty(), "{pays}: {warnings}");
    }
}

#[test]
fn an_unknown_pays_is_kept_with_a_warning_and_written_back() {
    let adapter = adapter(json!({}));
    let (order, warnings) =
        decode(&adapter, &order_xml("Atlantide", "2024-07-15 10:00:00")).unwrap();
    let address = order.delivery_address.clone().unwrap();
    assert_eq!(address.country, None);
    assert_eq!(address.extensions["pays"], "Atlantide");
    let found: Vec<_> = warnings
        .iter()
        .map(|w| (w.path.as_str(), w.code.as_str()))
        .collect();
    assert_eq!(
        found,
        [(
            "/connecteur/order/livraison/pays",
            "econnecteur.bad_country"
        )]
    );
    assert_eq!(
        element(&encode(&adapter, &order), "pays"),
        Some("Atlantide")
    );
}

#[test]
fn pays_is_written_in_the_configured_form() {
    let (order, _) = decode(
        &adapter(json!({})),
        &order_xml("Allemagne", "2024-07-15 10:00:00"),
    )
    .unwrap();
    for (form, written) in [
        (json!(null), "DE"),
        (json!("iso"), "DE"),
        (json!("en"), "Germany"),
        (json!("fr"), "Allemagne"),
        (json!("nl"), "Duitsland"),
        (json!("de"), "Deutschland"),
    ] {
        let adapter = adapter(json!({ "country_form": form }));
        let xml = encode(&adapter, &order);
        assert_eq!(element(&xml, "pays"), Some(written), "{form}");
        // What is written is read back as the same country.
        let (back, _) = decode(&adapter, &xml).unwrap();
        assert_eq!(back.delivery_address, order.delivery_address, "{form}");
    }
    // The XSD requires the code, whatever the form.
    let adapter = adapter(json!({ "country_form": "fr", "order_format": "xsd" }));
    let mut order = order;
    order.billing_address = order.delivery_address.clone();
    order.customer = Some(tradewire_sdk::core::Party {
        id: Some("7".into()),
        ..Default::default()
    });
    let xml = encode(&adapter, &order);
    assert_eq!(element(&xml, "pays"), Some("DE"));
}

#[test]
fn dates_without_offset_are_read_in_the_zone_with_its_daylight_saving() {
    let paris = adapter(json!({}));
    for (date_add, moment) in [
        ("2024-07-15 10:00:00", "2024-07-15T10:00:00+02:00"),
        ("2024-01-15 10:00:00", "2024-01-15T10:00:00+01:00"),
        ("15/01/2024", "2024-01-15T00:00:00+01:00"),
    ] {
        let (order, _) = decode(&paris, &order_xml("FR", date_add)).unwrap();
        assert_eq!(order.created_at.unwrap().to_rfc3339(), moment, "{date_add}");
        // Written back as the same local time.
        let xml = encode(&paris, &order);
        let written = element(&xml, "date_add").unwrap();
        assert_eq!(written, &moment[..19].replace('T', " "), "{date_add}");
    }
    let new_york = adapter(json!({ "time_zone": "America/New_York" }));
    let (order, _) = decode(&new_york, &order_xml("US", "2024-07-15 10:00:00")).unwrap();
    assert_eq!(
        order.created_at.unwrap().to_rfc3339(),
        "2024-07-15T10:00:00-04:00"
    );
}

#[test]
fn a_local_time_the_clock_skips_is_refused_and_one_it_repeats_read_as_the_earlier() {
    let paris = adapter(json!({}));
    let refused = decode(&paris, &order_xml("FR", "2024-03-31 02:30:00")).unwrap_err();
    assert!(
        refused.iter().any(|d| d.code == "econnecteur.no_such_date"
            && d.path == "/connecteur/order/commande/date_add"),
        "{refused}"
    );
    let (order, warnings) = decode(&paris, &order_xml("FR", "2024-10-27 02:30:00")).unwrap();
    assert_eq!(
        order.created_at.unwrap().to_rfc3339(),
        "2024-10-27T02:30:00+02:00"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.code == "econnecteur.ambiguous_date"),
        "{warnings}"
    );
}

#[test]
fn the_old_fixed_offset_is_still_read_and_the_zone_is_checked() {
    let fixed = adapter(json!({ "utc_offset": "+01:00" }));
    for date_add in ["2024-07-15 10:00:00", "2024-01-15 10:00:00"] {
        let (order, _) = decode(&fixed, &order_xml("FR", date_add)).unwrap();
        assert_eq!(order.created_at.unwrap().offset().local_minus_utc(), 3600);
    }
    for (config, path) in [
        (json!({ "time_zone": "Europe/Pariss" }), "/config/time_zone"),
        (json!({ "utc_offset": "+25:00" }), "/config/utc_offset"),
        (
            json!({ "time_zone": "Europe/Paris", "utc_offset": "+01:00" }),
            "/config/utc_offset",
        ),
    ] {
        let d = refused_config(config.clone());
        assert_eq!(d.as_slice()[0].path, path, "{config}");
        assert_eq!(d.as_slice()[0].code, "econnecteur.bad_config", "{config}");
    }
}

/// One article of 10.00 net at 20 %, nothing else: no shipping, no discount.
fn plain_order() -> Order {
    Order {
        created_at: Some(DateTime::parse_from_rfc3339("2024-07-15T10:00:00+02:00").unwrap()),
        delivery_address: Some(Address {
            country: Some(Country::from_alpha2("FR").unwrap()),
            ..Address::default()
        }),
        lines: vec![OrderLine {
            kind: LineKind::Article,
            sku: Some("A-1".into()),
            quantity: Decimal::ONE,
            unit_price: Some(Price::net(Decimal::TEN)),
            vat_rate: Some(Decimal::from(20)),
            ..OrderLine::default()
        }],
        totals: Some(Totals {
            gross: Decimal::from(12),
            net: None,
            tax: None,
        }),
        ..Order::new(Currency::EUR)
    }
}

#[test]
fn the_spec_totals_are_written_even_when_zero_and_read_back_as_nothing() {
    let adapter = adapter(json!({}));
    let order = plain_order();
    let xml = encode(&adapter, &order);
    for (total, value) in [
        ("total_discounts", "0"),
        ("total_discounts_tax_incl", "0"),
        ("total_discounts_tax_excl", "0"),
        ("total_paid", "12"),
        ("total_products", "12.00"),
        ("total_products_wt", "10"),
        ("total_shipping", "0"),
        ("carrier_tax_rate", "0"),
    ] {
        assert_eq!(element(&xml, total), Some(value), "{total} in\n{xml}");
    }
    // Zeros say "none": no shipping or discount line, no extension, comes back.
    let (back, _) = decode(&adapter, &xml).unwrap();
    assert_eq!(back.lines.len(), 1);
    assert!(
        !back.extensions.contains_key("commande/total_discounts")
            && !back.extensions.contains_key("commande/carrier_tax_rate"),
        "{:?}",
        back.extensions
    );

    // A shipping charge that is not zero is a line.
    let mut shipped = order;
    shipped.lines.push(OrderLine {
        kind: LineKind::Shipping,
        quantity: Decimal::ONE,
        unit_price: Some(Price::gross(Decimal::new(490, 2))),
        vat_rate: Some(Decimal::from(20)),
        ..OrderLine::default()
    });
    let xml = encode(&adapter, &shipped);
    assert_eq!(element(&xml, "total_shipping"), Some("4.90"));
    assert_eq!(element(&xml, "carrier_tax_rate"), Some("20"));
    let (back, _) = decode(&adapter, &xml).unwrap();
    assert_eq!(back.lines[1].kind, LineKind::Shipping);
}
