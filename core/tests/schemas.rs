//! The JSON Schemas under `schemas/` are generated from the code; this fails when the two
//! drift. Regenerate with `TRADEWIRE_BLESS=1 cargo test -p tradewire-core --test schemas`.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use tradewire_core::schema;

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(schema::SCHEMA_DIR)
}

#[test]
fn published_schemas_match_the_code() {
    let dir = schema_dir();
    let bless = std::env::var_os("TRADEWIRE_BLESS").is_some();
    let mut drifted = Vec::new();
    let published = schema::published();
    for (file, value) in &published {
        let path = dir.join(file);
        let rendered = schema::render(value);
        if bless {
            std::fs::create_dir_all(&dir).expect("create schemas/");
            std::fs::write(&path, &rendered).expect("write schema");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(rendered.as_str()) {
            drifted.push(file.to_string());
        }
    }
    let expected: Vec<&str> = published.iter().map(|(f, _)| *f).collect();
    let stray: Vec<String> = std::fs::read_dir(&dir)
        .expect("schemas/ exists")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && !expected.contains(&name.as_str()))
        .collect();
    assert!(
        drifted.is_empty() && stray.is_empty(),
        "schemas/ is out of date: changed {drifted:?}, no longer generated {stray:?}; \
         run `TRADEWIRE_BLESS=1 cargo test -p tradewire-core --test schemas` and commit"
    );
}

#[test]
fn documents_validate_against_their_published_schema() {
    use tradewire_core::{
        Currency, Document, DocumentKind, Order, OrderLine, Price, Product, Secret,
    };
    use tradewire_core::{Decimal, LineKind, PunchoutSession};

    let mut order = Order::new(Currency::EUR);
    order.lines.push(OrderLine {
        sku: Some("FAC132".into()),
        quantity: Decimal::ONE,
        unit_price: Some(Price::net(Decimal::new(7590, 2))),
        vat_rate: Some(Decimal::new(20, 0)),
        ..OrderLine::default()
    });
    order.lines.push(OrderLine {
        kind: LineKind::Shipping,
        quantity: Decimal::ONE,
        unit_price: Some(Price::gross(Decimal::new(20, 0))),
        ..OrderLine::default()
    });
    let documents = [
        Document::Order(order),
        Document::Product(Product {
            sku: "ACTI0001".into(),
            ..Product::default()
        }),
        Document::PunchoutSession(PunchoutSession {
            username: "buyer".into(),
            password: Secret::new("secret"),
            hook_url: "https://srm.example/hook".into(),
            ..PunchoutSession::default()
        }),
    ];
    for document in documents {
        let kind = document.kind();
        let schema = kind.json_schema();
        assert_eq!(
            schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{kind}"
        );
        let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
        let instance: serde_json::Value =
            serde_json::from_slice(&document.to_json()).expect("json");
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{kind}: {errors:?}");

        let mut wrong = instance.clone();
        wrong["contract"] = serde_json::json!("something-else/v1");
        assert!(
            !validator.is_valid(&wrong),
            "{kind}: the contract is pinned by the schema"
        );
    }
    assert!(
        DocumentKind::ALL
            .iter()
            .all(|k| jsonschema::validator_for(&k.json_schema()).is_ok())
    );
}
