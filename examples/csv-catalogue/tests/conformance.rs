//! Runs the SDK's conformance kit on the adapter, through the same ABI the host uses to
//! call the compiled plugin. Copy this file into your own adapter's `tests/`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use tradewire_example_csv::CsvCatalogue;
use tradewire_sdk::AdapterModule;
use tradewire_sdk::conformance::{self, CheckKind};

fn module() -> AdapterModule {
    AdapterModule::of::<CsvCatalogue>()
        .expect("the adapter's root module passes the ABI and manifest checks")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[test]
fn the_adapter_passes_its_fixtures() {
    let report = conformance::run(&module(), fixtures());
    // Every kind of check ran, so none was skipped by a layout mistake.
    report.assert_passed_with_every_kind();
}

/// A copy of the fixtures in a temporary folder, to break on purpose.
fn fixtures_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let source = fixtures().join("catalogue");
    let target = dir.path().join("catalogue");
    fs::create_dir(&target).expect("create the message folder");
    for entry in fs::read_dir(&source).expect("read the fixtures") {
        let path = entry.expect("list the fixtures").path();
        let name = path.file_name().expect("a file name");
        fs::copy(&path, target.join(name)).expect("copy a fixture");
    }
    dir
}

/// A kit that cannot fail is worthless: a wrong expectation must show up, located.
#[test]
fn a_wrong_expected_document_is_reported() {
    let dir = fixtures_copy();
    let expected = dir.path().join("catalogue/simple.expected.json");
    let text = fs::read_to_string(&expected).expect("read simple.expected.json");
    fs::write(&expected, text.replace("\"24.90\"", "\"24.99\"")).expect("write");

    let report = conformance::run(&module(), dir.path());
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0].case, "catalogue/simple");
    assert_eq!(failures[0].kind, CheckKind::Decode);
    let why = failures[0].failure().unwrap_or_default();
    assert!(
        why.contains(r#"at /products/0/price/amount: expected "24.99", got "24.90""#),
        "{why}"
    );
}

#[test]
fn a_wrong_rejection_is_reported() {
    let dir = fixtures_copy();
    fs::write(
        dir.path().join("catalogue/bad-ean.rejected.json"),
        r#"[{ "path": "/rows/1/ean13", "code": "product.bad_gtin" }]"#,
    )
    .expect("write");

    let report = conformance::run(&module(), dir.path());
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0].case, "catalogue/bad-ean");
    assert!(
        failures[0]
            .failure()
            .unwrap_or_default()
            .contains("at /rows/2/ean13"),
        "the failure shows what the adapter said:\n{report}"
    );
}

#[test]
fn wrong_expected_bytes_are_reported() {
    let dir = fixtures_copy();
    let encoded = dir.path().join("catalogue/export.encoded.csv");
    let text = fs::read_to_string(&encoded).expect("read export.encoded.csv");
    fs::write(&encoded, text.replace(",black,", ",white,")).expect("write");

    let report = conformance::run(&module(), dir.path());
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0].case, "catalogue/export");
    assert_eq!(failures[0].kind, CheckKind::Encode);
}

#[test]
fn missing_fixtures_are_reported() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let report = conformance::run(&module(), dir.path());
    assert!(!report.passed());
    assert!(
        report
            .to_string()
            .contains("no fixtures for message `catalogue`"),
        "{report}"
    );
}
