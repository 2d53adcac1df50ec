//! Property tests: any valid canonical cart survives the trip through the OCI form (in
//! UTF-8 and in ISO-8859-1) and through the cart page; sessions and cXML orders survive
//! theirs. "Valid" means what OCI can carry: values within the field lengths, numbers
//! within 11.3 digits, one category besides MATGROUP, one attachment, lines that add to
//! the total.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use tradewire_oci_punchout::{Config, OciPunchout};
use tradewire_sdk::core::{
    Attachment, Classification, Currency, Decimal, DocumentRef, LineKind, Manufacturer, Order,
    OrderKind, OrderLine, Price, PunchoutFunction, PunchoutSession, Secret,
};
use tradewire_sdk::{Adapter, Document};

fn adapter(charset: &str) -> OciPunchout {
    OciPunchout::new(Config {
        charset: charset.into(),
        ..Config::default()
    })
    .expect("a valid config")
}

/// Characters a charset can carry, without control characters (which no catalog text
/// has, and which an HTML form cannot carry faithfully).
fn alphabet(latin1: bool) -> Vec<char> {
    let mut chars: Vec<char> = if latin1 {
        (0..=255u8)
            .filter_map(|byte| {
                encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling_and_without_replacement(&[byte])
                    .and_then(|text| text.chars().next())
            })
            .collect()
    } else {
        (' '..='~')
            .chain("äöüßéèçÅøłŁ€✓☃中文字𝄞 \u{a0}".chars())
            .collect()
    };
    chars.retain(|c| !c.is_control());
    // Markup and escape characters, often.
    chars.extend("&<>\"'%+=[]#;".chars());
    chars
}

/// Text of `min..=max` characters that is not blank (blank OCI fields mean "absent").
fn text(latin1: bool, min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(alphabet(latin1)), min..=max)
        .prop_map(|chars| chars.into_iter().collect::<String>())
        .prop_filter("not blank", |text| !text.trim().is_empty())
}

fn maybe(latin1: bool, max: usize) -> impl Strategy<Value = Option<String>> {
    prop::option::of(text(latin1, 1, max))
}

/// A long text: several lines.
fn long_text(latin1: bool) -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        prop::collection::vec(text(latin1, 1, 60), 1..4).prop_map(|lines| lines.join("\n")),
    )
}

/// A decimal with at most `int` digits before and `frac` after the point, normalised as
/// OCI writes it.
fn decimal(int: u32, frac: u32, positive: bool) -> impl Strategy<Value = Decimal> {
    let max = 10i64.pow(int + frac) - 1;
    (if positive { 1..=max } else { 0..=max }, 0..=frac)
        .prop_map(move |(mantissa, keep)| {
            // At most `int` digits before the point and `keep` after (cut, never rounded
            // up into an extra integer digit).
            Decimal::new(mantissa / 10i64.pow(frac - keep), keep).normalize()
        })
        .prop_filter("positive", move |value| !positive || *value > Decimal::ZERO)
}

fn line(latin1: bool) -> impl Strategy<Value = OrderLine> {
    let identity = (
        prop::bool::ANY,
        prop::option::of(text(latin1, 1, 70).prop_filter("one line", |t| !t.contains('\n'))),
        maybe(latin1, 40),
        maybe(latin1, 40),
        maybe(latin1, 40),
        maybe(latin1, 3),
        long_text(latin1),
        maybe(latin1, 10),
    );
    let amounts = (
        decimal(11, 3, true),
        prop::option::of(decimal(11, 3, false)),
        prop::option::of(1u32..=99_999),
        prop::option::of(decimal(2, 2, false)),
        prop::option::of(0u32..=99_999),
    );
    let references = (
        prop::option::of((maybe(latin1, 10), maybe(latin1, 40))),
        prop::option::of(text(latin1, 1, 10)),
        prop::option::of((text(latin1, 1, 10), text(latin1, 0, 60), maybe(latin1, 40))),
        prop::option::of((text(latin1, 1, 10), maybe(latin1, 5))),
        prop::option::of((text(latin1, 1, 35), maybe(latin1, 10))),
        prop::option::of((text(latin1, 1, 255), maybe(latin1, 255), maybe(latin1, 1))),
        prop::option::of(prop::sample::select(vec!["R", "O"])),
        maybe(latin1, 10),
        maybe(latin1, 100),
    );
    (identity, amounts, references).prop_map(
        |(
            (shipping, description, matnr, sku, product_id, unit, long_text, vendor),
            (quantity, price, basis, vat, lead_time),
            (
                manufacturer,
                matgroup,
                category,
                contract,
                quote,
                attachment,
                item_type,
                cust2,
                custom,
            ),
        )| {
            let mut line = OrderLine {
                kind: if shipping {
                    LineKind::Shipping
                } else {
                    LineKind::Article
                },
                description,
                buyer_part_id: matnr,
                sku,
                product_id,
                unit,
                long_text,
                vendor,
                quantity,
                unit_price: price.map(Price::net),
                price_basis_quantity: basis.map(Decimal::from),
                vat_rate: vat,
                lead_time_days: lead_time,
                ..OrderLine::default()
            };
            // What OCI requires of every line (R1, R2).
            if line.description.is_none() && line.buyer_part_id.is_none() {
                line.description = Some("Artikel".into());
            }
            if line.unit.is_none() && line.buyer_part_id.is_none() {
                line.unit = Some("PCE".into());
            }
            if let Some((code, part_number)) = manufacturer
                && (code.is_some() || part_number.is_some())
            {
                line.manufacturer = Some(Manufacturer {
                    code,
                    name: None,
                    part_number,
                });
            }
            if let Some(code) = matgroup {
                line.classifications.push(Classification {
                    domain: "MATGROUP".into(),
                    code,
                    ..Classification::default()
                });
            }
            if let Some((domain, code, name)) = category {
                line.classifications.push(Classification {
                    domain,
                    code: if code.trim().is_empty() {
                        String::new()
                    } else {
                        code
                    },
                    name,
                    version: None,
                });
            }
            line.contract = contract.map(|(id, item)| DocumentRef { id, item });
            line.quote = quote.map(|(id, item)| DocumentRef { id, item });
            if let Some((url, title, purpose)) = attachment {
                line.attachments.push(Attachment {
                    url,
                    title,
                    purpose,
                });
            }
            if let Some(item_type) = item_type {
                line.extensions
                    .insert("NEW_ITEM-ITEM_TYPE".into(), item_type.into());
            }
            if let Some(value) = cust2 {
                line.extensions.insert("NEW_ITEM-CUST_FIELD2".into(), value);
            }
            if let Some(value) = custom {
                line.extensions
                    .insert("NEW_ITEM-MPS_SAGE_NUMBER".into(), value);
            }
            line
        },
    )
}

fn cart(latin1: bool) -> impl Strategy<Value = Order> {
    (
        prop::sample::select(vec!["EUR", "USD", "CHF", "JPY", "GBP"]),
        prop::collection::vec(line(latin1), 1..5),
        prop::collection::vec(prop::option::of(1u32..5), 5),
        prop::bool::ANY,
    )
        .prop_map(|(currency, mut lines, parents, echo)| {
            for (position, parent) in parents.into_iter().enumerate().take(lines.len()) {
                // A parent is an earlier line, by its 1-based position.
                if let Some(parent) = parent
                    && (parent as usize) <= position
                {
                    lines[position].parent_line = Some(parent);
                }
            }
            let mut order = Order {
                kind: OrderKind::Cart,
                lines,
                ..Order::new(Currency::from_code(currency).unwrap())
            };
            if echo {
                order
                    .extensions
                    .insert("oci.form.~OkCode".into(), "ADDI".into());
            }
            order
        })
}

fn json(document: &Document) -> serde_json::Value {
    serde_json::from_slice(&document.to_json()).unwrap()
}

fn round_trip(adapter: &OciPunchout, message: &str, document: &Document) -> Document {
    let encoded = adapter
        .encode(message, document)
        .unwrap_or_else(|d| panic!("{message} does not encode:\n{d}"));
    adapter
        .decode(message, &encoded.value)
        .unwrap_or_else(|d| {
            panic!(
                "{message} does not decode its own output:\n{d}\n{}",
                String::from_utf8_lossy(&encoded.value)
            )
        })
        .value
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn carts_survive_the_utf8_form(order in cart(false)) {
        let document = Document::Order(order);
        let back = round_trip(&adapter("UTF-8"), "cart", &document);
        prop_assert_eq!(json(&back), json(&document));
    }

    #[test]
    fn carts_survive_the_iso_8859_1_form(order in cart(true)) {
        let document = Document::Order(order);
        let adapter = adapter("ISO-8859-1");
        let body = adapter.encode("cart", &document).unwrap().value;
        prop_assert!(body.is_ascii(), "a form body is percent-encoded ASCII");
        let back = round_trip(&adapter, "cart", &document);
        prop_assert_eq!(json(&back), json(&document));
    }

    #[test]
    fn carts_survive_the_cart_page(order in cart(false), latin1 in prop::bool::ANY) {
        let label = if latin1 { "ISO-8859-1" } else { "UTF-8" };
        let mut order = order;
        order.extensions.insert("oci.hook_url".into(), "https://srm.example/sap/hook".into());
        order.extensions.insert("oci.returntarget".into(), "_parent".into());
        order.extensions.insert("oci.http_content_charset".into(), label.into());
        // Characters ISO-8859-1 lacks travel as character references in the page.
        let document = Document::Order(order);
        let back = round_trip(&adapter("UTF-8"), "cart-page", &document);
        prop_assert_eq!(json(&back), json(&document));
    }

    #[test]
    fn sessions_survive_the_login(
        username in text(false, 1, 30),
        password in text(false, 1, 30),
        query in prop::option::of("[a-z]{1,8}=[0-9]{1,3}"),
        return_target in maybe(false, 10),
        language in prop::option::of(prop::sample::select(vec!["de", "fr", "nl"])),
        function in prop::option::of(prop::sample::select(vec![0, 1, 2, 3, 4, 5])),
        product in text(false, 1, 40),
    ) {
        let hook_url = match query {
            Some(query) => format!("https://srm.example/hook?{query}"),
            None => "https://srm.example/hook".into(),
        };
        let function = function.map(|which| match which {
            0 => PunchoutFunction::Detail { product_id: product.clone() },
            1 => PunchoutFunction::DetailAdd { product_id: product.clone() },
            2 => PunchoutFunction::Validate { product_id: product.clone(), quantity: Some(Decimal::new(25, 1)) },
            3 => PunchoutFunction::BackgroundSearch { search_string: product.clone() },
            4 => PunchoutFunction::Sourcing { search_string: Some(product.clone()), vendor: None },
            _ => PunchoutFunction::QuantityCheck,
        });
        let session = PunchoutSession {
            username,
            password: Secret::new(password),
            hook_url,
            return_target,
            language: language.map(str::to_owned),
            oci_version: Some("5.0".into()),
            ok_code: Some("ADDI".into()),
            function,
            extensions: BTreeMap::from([("sap-client".to_owned(), "100".to_owned())]),
            ..PunchoutSession::default()
        };
        let document = Document::PunchoutSession(session);
        let back = round_trip(&adapter("UTF-8"), "login", &document);
        prop_assert_eq!(json(&back), json(&document));
    }
}

/// A cXML order decoded from the sample comes back whole from its own encoding, and a
/// canonical cart (once given what an order needs) survives `order-request` too.
#[test]
fn orders_survive_the_order_request() {
    let adapter = adapter("UTF-8");
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/order-request/sample-order-request.xml"
    ))
    .unwrap();
    let decoded = adapter.decode("order-request", &sample).unwrap().value;
    let back = round_trip(&adapter, "order-request", &decoded);
    assert_eq!(json(&back), json(&decoded));
}
