//! Every adapter library built in this workspace loads as a cdylib and round-trips a
//! document; broken libraries are refused by name while the others load; a panicking
//! adapter returns an error and keeps serving; a library built against ABI 1.0 loads and
//! answers the calls it lacks as not supported.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

// Linked so that their `inventory` registrations exist: rustc drops crates nothing names.
use fixture_panicky as _;
use tradewire_econnecteur as _;
use tradewire_example_csv as _;
use tradewire_oci_punchout as _;
use tradewire_ois_orders as _;
use tradewire_payment_order as _;

use std::collections::BTreeMap;

use support::{cdylib, plugin_dir};
use tradewire_core::{Document, DocumentKind};
use tradewire_plugins::{LoadOptions, Origin, Registry};
use tradewire_sdk::abi::{ABI_VERSION, AbiVersion};
use tradewire_sdk::{AdapterInstance, CallContext, CallError};

/// Libraries of real adapters, with a message and an input each to round-trip.
const ADAPTERS: &[(&str, &str, &str, &[u8])] = &[
    ("fixture_panicky", "panicky", "echo", b"FAC132"),
    (
        "tradewire_example_csv",
        "csv-catalogue",
        "catalogue",
        include_bytes!("../../examples/csv-catalogue/fixtures/catalogue/simple.csv"),
    ),
    (
        "tradewire_econnecteur",
        "econnecteur",
        "grilles",
        include_bytes!("../conformance/econnecteur/samples/grilles_2.xml"),
    ),
    (
        "tradewire_oci_punchout",
        "oci-punchout",
        "cart",
        include_bytes!("../../adapters/oci-punchout/fixtures/cart/discountoffice.txt"),
    ),
    (
        "tradewire_ois_orders",
        "ois-orders",
        "order",
        include_bytes!("../../adapters/ois-orders/fixtures/order/home-delivery-received.json"),
    ),
    (
        "tradewire_payment_order",
        "payment-order",
        "order",
        include_bytes!("../../adapters/payment-order/fixtures/order/with-details.json"),
    ),
];

fn refusals(registry: &Registry) -> BTreeMap<String, String> {
    registry
        .refused()
        .iter()
        .map(|r| {
            (
                r.path
                    .file_name()
                    .expect("file name")
                    .to_string_lossy()
                    .into_owned(),
                r.reason.clone(),
            )
        })
        .collect()
}

#[test]
fn broken_libraries_are_refused_by_name_while_the_others_load() {
    let mut crates: Vec<&str> = ADAPTERS.iter().map(|a| a.0).collect();
    crates.extend(["fixture_abi_mismatch", "fixture_bad_layout"]);
    let dir = plugin_dir(&crates);
    let good = std::fs::read(cdylib("fixture_panicky")).expect("read library");
    std::fs::write(dir.path().join("truncated.so"), &good[..good.len() / 2]).expect("write");
    std::fs::write(dir.path().join("notes.so"), "these are not the droids\n").expect("write");
    std::fs::write(
        dir.path().join("README.txt"),
        "not a library, not even looked at\n",
    )
    .expect("write");
    std::fs::copy(
        cdylib("fixture_panicky"),
        dir.path().join("zz-second-copy.so"),
    )
    .expect("copy");

    let mut registry = Registry::empty();
    registry.load_plugins(&[dir.path()], &LoadOptions::default());

    let mut loaded: Vec<&str> = registry
        .entries()
        .iter()
        .map(|e| e.manifest().name.as_str())
        .collect();
    loaded.sort_unstable();
    let mut expected: Vec<&str> = ADAPTERS.iter().map(|a| a.1).collect();
    expected.sort_unstable();
    assert_eq!(loaded, expected);

    let refused = refusals(&registry);
    let reason = |file: &str| {
        refused
            .get(file)
            .unwrap_or_else(|| panic!("{file} not refused: {refused:#?}"))
    };
    assert!(reason("libfixture_abi_mismatch.so").contains("built for adapter ABI 99.0"));
    assert!(reason("libfixture_bad_layout.so").contains("layout is incompatible"));
    assert!(reason("libfixture_bad_layout.so").contains("fixture-bad-layout"));
    assert!(reason("truncated.so").contains("corrupt or truncated"));
    assert!(reason("notes.so").contains("not a loadable library"));
    assert!(reason("zz-second-copy.so").contains("duplicate adapter name `panicky`"));
    assert_eq!(refused.len(), 5, "{refused:#?}");
}

#[test]
fn every_adapter_library_round_trips_a_document() {
    for (crate_name, adapter, message, input) in ADAPTERS {
        let mut registry = Registry::empty();
        registry.load_file(&cdylib(crate_name), &LoadOptions::default());
        assert!(registry.refused().is_empty(), "{:?}", registry.refused());
        let entry = registry.get(adapter).expect("loaded");
        assert!(matches!(entry.origin, Origin::Library(_)));

        let instance = registry
            .instantiate(adapter, &serde_json::json!({}))
            .expect("instantiate");
        let decoded = instance.decode(message, input).expect("decode");
        let document = Document::from_json(&decoded.bytes, None).expect("canonical JSON");
        let encoded = instance.encode(message, &decoded.bytes).expect("encode");
        let again = instance
            .decode(message, &encoded.bytes)
            .expect("decode again");
        assert_eq!(
            Document::from_json(&again.bytes, None).expect("canonical JSON"),
            document,
            "{adapter}"
        );
    }
}

#[test]
fn built_in_and_dynamic_paths_give_the_same_adapter() {
    // This test binary links the adapter crates, so they are also built-ins here.
    let builtins = Registry::with_builtins();
    for (crate_name, adapter, message, input) in ADAPTERS {
        let builtin = builtins.get(adapter).expect("registered through inventory");
        assert_eq!(builtin.origin, Origin::BuiltIn);
        let mut dynamic = Registry::empty();
        dynamic.load_file(&cdylib(crate_name), &LoadOptions::default());
        let loaded = dynamic.get(adapter).expect("loaded");
        assert_eq!(
            builtin.manifest(),
            loaded.manifest(),
            "{adapter}: manifests differ"
        );

        let a = builtins
            .instantiate(adapter, &serde_json::json!({}))
            .expect("built-in instance");
        let b = dynamic
            .instantiate(adapter, &serde_json::json!({}))
            .expect("dynamic instance");
        assert_eq!(
            a.decode(message, input),
            b.decode(message, input),
            "{adapter}: decode differs"
        );
    }
}

#[test]
fn a_panicking_adapter_returns_an_error_and_keeps_serving() {
    let mut registry = Registry::empty();
    registry.load_file(&cdylib("fixture_panicky"), &LoadOptions::default());
    let instance = registry
        .instantiate("panicky", &serde_json::json!({}))
        .expect("instantiate");

    let Err(CallError::Failed(diagnostics)) = instance.decode("echo", b"panic") else {
        panic!("a panic must come back as CallError::Failed");
    };
    let diagnostic = &diagnostics.as_slice()[0];
    assert_eq!(diagnostic.code, "adapter.failed");
    assert!(
        diagnostic.message.contains("asked to panic"),
        "{diagnostic}"
    );
    assert!(
        diagnostic.message.contains("panicky/src/lib.rs"),
        "the location is kept: {diagnostic}"
    );

    for sku in ["A1", "B2", "C3"] {
        let reply = instance
            .decode("echo", sku.as_bytes())
            .expect("serves the next input");
        let Document::Product(product) =
            Document::from_json(&reply.bytes, Some(DocumentKind::Product)).expect("json")
        else {
            panic!("product expected");
        };
        assert_eq!(product.sku, sku);
    }
}

#[test]
fn calls_for_unknown_messages_and_wrong_documents_are_rejected_not_failed() {
    let mut registry = Registry::empty();
    registry.load_file(&cdylib("fixture_panicky"), &LoadOptions::default());
    let instance = registry
        .instantiate("panicky", &serde_json::json!({}))
        .expect("instantiate");

    let Err(CallError::Rejected(d)) = instance.decode("nope", b"x") else {
        panic!("unknown message")
    };
    assert_eq!(d.as_slice()[0].code, "adapter.unknown_message");

    let order = br#"{"contract":"order/v1","currency":"EUR","lines":[]}"#;
    let Err(CallError::Rejected(d)) = instance.encode("echo", order) else {
        panic!("wrong contract")
    };
    assert_eq!(d.as_slice()[0].code, "document.wrong_contract");

    let Err(CallError::Rejected(d)) = instance.encode("echo", b"{not json") else {
        panic!("bad json")
    };
    assert_eq!(d.as_slice()[0].code, "json.syntax");
}

#[test]
fn config_is_validated_against_the_manifest_schema_before_the_adapter_sees_it() {
    let mut registry = Registry::empty();
    registry.load_file(&cdylib("fixture_panicky"), &LoadOptions::default());
    // The panicky adapter's config is an empty object: an array is not one.
    let err = registry
        .instantiate("panicky", &serde_json::json!([1, 2]))
        .expect_err("schema violation");
    assert_eq!(err.as_slice()[0].code, "config.invalid");
    assert!(err.as_slice()[0].path.starts_with("/config"));

    let err = registry
        .instantiate("missing", &serde_json::json!({}))
        .expect_err("unknown adapter");
    assert_eq!(err.as_slice()[0].code, "host.unknown_adapter");
}

#[test]
fn the_conformance_kit_passes_on_the_example_loaded_as_a_library() {
    let mut registry = Registry::empty();
    registry.load_file(&cdylib("tradewire_example_csv"), &LoadOptions::default());
    let entry = registry.get("csv-catalogue").expect("loaded");
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/csv-catalogue/fixtures");
    let report = tradewire_sdk::conformance::run(&entry.module, fixtures);
    report.assert_passed();
    assert!(
        report.checks.len() > 50,
        "the fixtures were all found: {report}"
    );
}

fn product(reply: &tradewire_sdk::Reply) -> tradewire_core::Product {
    match Document::from_json(&reply.bytes, Some(DocumentKind::Product)) {
        Ok(Document::Product(product)) => product,
        other => panic!("a product expected: {other:?}"),
    }
}

fn instance_of_library(crate_name: &str, adapter: &str) -> (Registry, AdapterInstance) {
    let mut registry = Registry::empty();
    registry.load_file(&cdylib(crate_name), &LoadOptions::default());
    assert!(registry.refused().is_empty(), "{:?}", registry.refused());
    let instance = registry
        .instantiate(adapter, &serde_json::json!({}))
        .expect("instantiate");
    (registry, instance)
}

#[test]
fn a_library_built_against_abi_1_0_loads_and_answers_calls_in_context_as_unsupported() {
    let dir = plugin_dir(&["fixture_abi_1_0", "fixture_panicky"]);
    let mut registry = Registry::empty();
    registry.load_plugins(&[dir.path()], &LoadOptions::default());
    assert!(registry.refused().is_empty(), "{:?}", registry.refused());
    let entry = registry
        .get("abi-1-0")
        .expect("the 1.0 library is registered");
    assert!(matches!(entry.origin, Origin::Library(_)));
    let abi_1_0 = AbiVersion { major: 1, minor: 0 };
    assert_eq!(entry.module.abi(), abi_1_0);
    assert_eq!(entry.manifest().abi, abi_1_0);
    assert_eq!(
        registry.get("panicky").expect("loaded").module.abi(),
        ABI_VERSION
    );

    let instance = registry
        .instantiate("abi-1-0", &serde_json::json!({}))
        .expect("instantiate");
    let decoded = instance.decode("echo", b"FAC132").expect("decode");
    assert_eq!(product(&decoded).sku, "FAC132");
    let encoded = instance.encode("echo", &decoded.bytes).expect("encode");
    assert_eq!(encoded.bytes, b"FAC132");
    let Err(CallError::Rejected(d)) = instance.decode("echo", b" ") else {
        panic!("an empty SKU is rejected");
    };
    assert_eq!(d.as_slice()[0].code, "echo.empty");

    let context = CallContext {
        content_type: Some("text/plain; charset=UTF-8".into()),
        ..CallContext::default()
    };
    let in_context = [
        instance.decode_in_context("echo", b"FAC132", &context),
        instance.encode_in_context("echo", &decoded.bytes, &context),
    ];
    for result in in_context {
        let Err(CallError::Unsupported(d)) = &result else {
            panic!("a 1.0 library has no calls in context: {result:?}");
        };
        let diagnostic = &d.as_slice()[0];
        assert_eq!(diagnostic.code, "adapter.call_unsupported");
        assert!(
            diagnostic
                .message
                .contains("is not supported by this library (ABI 1.0; it needs 1.1)"),
            "{diagnostic}"
        );
    }
    // The fallback a runtime takes: the same call without the context.
    assert_eq!(
        instance.decode("echo", b"FAC132").expect("decode again"),
        decoded
    );
}

#[test]
fn every_abi_1_1_library_answers_calls_in_context_as_its_plain_calls_by_default() {
    for (crate_name, adapter, message, input) in ADAPTERS {
        let (registry, instance) = instance_of_library(crate_name, adapter);
        assert_eq!(
            registry.get(adapter).expect("loaded").module.abi(),
            ABI_VERSION
        );
        let context = CallContext::default();

        let decoded = instance.decode(message, input).expect("decode");
        let in_context = instance
            .decode_in_context(message, input, &context)
            .expect("decode in context");
        assert_eq!(in_context, decoded, "{adapter}: decode in context");

        let encoded = instance.encode(message, &decoded.bytes).expect("encode");
        let in_context = instance
            .encode_in_context(message, &decoded.bytes, &context)
            .expect("encode in context");
        assert_eq!(in_context, encoded, "{adapter}: encode in context");
    }
}

#[test]
fn the_context_reaches_the_adapter_and_one_it_cannot_read_is_rejected() {
    let (_registry, instance) = instance_of_library("fixture_panicky", "panicky");
    let context = CallContext {
        content_type: Some("text/plain; charset=ISO-8859-1".into()),
        ..CallContext::default()
    };
    let decoded = instance
        .decode_in_context("echo", b"FAC132", &context)
        .expect("decode in context");
    assert_eq!(
        product(&decoded)
            .extensions
            .get("content_type")
            .map(String::as_str),
        Some("text/plain; charset=ISO-8859-1")
    );
    let encoded = instance
        .encode_in_context("echo", &decoded.bytes, &context)
        .expect("encode in context");
    assert_eq!(encoded.bytes, b"FAC132 (text/plain; charset=ISO-8859-1)");

    let newer = CallContext {
        version: CallContext::VERSION + 1,
        ..CallContext::default()
    };
    let Err(CallError::Rejected(d)) = instance.decode_in_context("echo", b"FAC132", &newer) else {
        panic!("a context of a newer version is refused, not misread");
    };
    assert_eq!(d.as_slice()[0].code, "context.version_unsupported");
    assert_eq!(d.as_slice()[0].path, "/context/version");

    let Err(CallError::Failed(d)) = instance.decode_in_context("echo", b"panic", &context) else {
        panic!("a panic in context is a failure too");
    };
    assert_eq!(d.as_slice()[0].code, "adapter.failed");
}
