//! Runs the SDK's conformance kit on the adapter, through the same ABI the host uses to
//! call the compiled plugin.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use tradewire_payment_order::PaymentOrder;
use tradewire_sdk::AdapterModule;
use tradewire_sdk::conformance::{self, CheckKind};

fn module() -> AdapterModule {
    AdapterModule::of::<PaymentOrder>()
        .expect("the adapter's root module passes the ABI and manifest checks")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[test]
fn the_adapter_passes_its_fixtures() {
    let report = conformance::run(&module(), fixtures());
    report.assert_passed_with_every_kind();
    // The real Payline samples are among the cases: the request is refused (its
    // `otaPackageType` is not N2), and the responses, whose `country` is nil, are there
    // with a country added; those and a conforming copy of the request round-trip.
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.case == "order-soap/doWebPaymentRequestFull" && c.kind == CheckKind::Decode),
        "{report}"
    );
    for sample in [
        "doWebPaymentRequestFull-conforming",
        "getWebPaymentDetailsResponse00000-with-country",
        "getTransactionDetailsResponse00000-with-country",
    ] {
        let case = format!("order-soap/{sample}");
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.case == case && c.kind == CheckKind::RoundTrip),
            "{case} did not round-trip:\n{report}"
        );
    }
}

/// A copy of the fixtures in a temporary folder, to break on purpose.
fn fixtures_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for message in ["order", "order-soap"] {
        let target = dir.path().join(message);
        fs::create_dir(&target).expect("create the message folder");
        for entry in fs::read_dir(fixtures().join(message)).expect("read the fixtures") {
            let path = entry.expect("list the fixtures").path();
            fs::copy(&path, target.join(path.file_name().expect("a file name")))
                .expect("copy a fixture");
        }
    }
    dir
}

/// The kit notices a wrong expectation, so the fixtures above are really checked.
#[test]
fn a_wrong_expected_amount_is_reported() {
    let dir = fixtures_copy();
    let expected = dir.path().join("order-soap/bare-order.expected.json");
    let text = fs::read_to_string(&expected).expect("read the expectation");
    fs::write(&expected, text.replace("\"115.08\"", "\"115.80\"")).expect("write");

    let report = conformance::run(&module(), dir.path());
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0].case, "order-soap/bare-order");
    let why = failures[0].failure().unwrap_or_default();
    assert!(
        why.contains(r#"at /totals/gross: expected "115.80", got "115.08""#),
        "{why}"
    );
}
