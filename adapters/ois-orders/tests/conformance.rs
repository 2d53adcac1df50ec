//! Runs the SDK's conformance kit on the adapter, through the same ABI the host uses to
//! call the compiled plugin.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use tradewire_ois_orders::OisOrders;
use tradewire_sdk::AdapterModule;
use tradewire_sdk::conformance::{self, CheckKind};

fn module() -> AdapterModule {
    AdapterModule::of::<OisOrders>()
        .expect("the adapter's root module passes the ABI and manifest checks")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[test]
fn the_adapter_passes_its_fixtures() {
    let report = conformance::run(&module(), fixtures());
    report.assert_passed_with_every_kind();
}

/// A copy of the fixtures in a temporary folder, to break on purpose.
fn fixtures_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let source = fixtures().join("order");
    let target = dir.path().join("order");
    fs::create_dir(&target).expect("create the message folder");
    for entry in fs::read_dir(&source).expect("read the fixtures") {
        let path = entry.expect("list the fixtures").path();
        fs::copy(&path, target.join(path.file_name().expect("a file name"))).expect("copy");
    }
    dir
}

/// The fixtures can fail: a wrong amount in an expected document is found and located.
#[test]
fn a_wrong_expected_document_is_reported() {
    let dir = fixtures_copy();
    let expected = dir
        .path()
        .join("order/home-delivery-received.expected.json");
    let text = fs::read_to_string(&expected).unwrap();
    fs::write(&expected, text.replace("\"51.14\"", "\"51.15\"")).unwrap();

    let report = conformance::run(&module(), dir.path());
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0].case, "order/home-delivery-received");
    let why = failures[0].failure().unwrap_or_default();
    assert!(why.contains("/totals/gross"), "{why}");
}

#[test]
fn changed_output_bytes_are_reported() {
    let dir = fixtures_copy();
    let encoded = dir.path().join("order/home-delivery.encoded.json");
    let text = fs::read_to_string(&encoded).unwrap();
    fs::write(
        &encoded,
        text.replace("\"LineType\": \"Voucher\"", "\"LineType\": 4"),
    )
    .unwrap();

    let report = conformance::run(&module(), dir.path());
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0].kind, CheckKind::Encode);
}

#[test]
fn a_limit_the_profile_does_not_enforce_is_reported() {
    let dir = fixtures_copy();
    // Under a profile without limits the 31-character first name is accepted, so the
    // fixture's expected refusal fails.
    fs::write(
        dir.path().join("order/long-first-name.config.json"),
        r#"{"profile": "none"}"#,
    )
    .unwrap();
    let report = conformance::run(&module(), dir.path());
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0].case, "order/long-first-name");
}
