//! The SDK's conformance kit over the fixtures (real captured cart pages, the cXML sample
//! order, the specs' call-ups and hand-written bad cases), through the same ABI the host
//! uses for the compiled plugin.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use tradewire_oci_punchout::OciPunchout;
use tradewire_sdk::AdapterModule;
use tradewire_sdk::conformance::{self, CheckKind};

fn module() -> AdapterModule {
    AdapterModule::of::<OciPunchout>()
        .expect("the adapter's root module passes the ABI and manifest checks")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[test]
fn the_adapter_passes_its_fixtures() {
    let report = conformance::run(&module(), fixtures());
    report.assert_passed_with_every_kind();
    // Every message is covered by a decode case with a round trip and an encode case.
    for message in [
        "login",
        "cart",
        "cart-page",
        "order-request",
        "order-response",
    ] {
        for kind in [CheckKind::RoundTrip, CheckKind::Encode] {
            assert!(
                report
                    .checks
                    .iter()
                    .any(|c| c.kind == kind && c.case.starts_with(&format!("{message}/"))),
                "no {kind} check for {message}:\n{report}"
            );
        }
    }
    // The captured pages and the cXML sample are among the round trips.
    for case in [
        "cart-page/real-world-cart-page",
        "cart-page/meplato-extensions-cart-page",
        "order-request/sample-order-request",
    ] {
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.kind == CheckKind::RoundTrip && c.case == case),
            "{case} has no round trip:\n{report}"
        );
    }
}

/// A copy of one message's fixtures in a temporary folder, to break on purpose.
fn fixtures_copy(message: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let target = dir.path().join(message);
    fs::create_dir(&target).expect("create the message folder");
    for entry in fs::read_dir(fixtures().join(message)).expect("read the fixtures") {
        let path = entry.expect("list the fixtures").path();
        fs::copy(&path, target.join(path.file_name().expect("a file name"))).expect("copy");
    }
    dir
}

/// The kit run here is not one that passes whatever the adapter does.
#[test]
fn a_wrong_expectation_fails() {
    let dir = fixtures_copy("cart-page");
    let expected = dir
        .path()
        .join("cart-page/real-world-cart-page.expected.json");
    let text = fs::read_to_string(&expected).unwrap();
    assert!(text.contains("\"1730.9\""));
    fs::write(&expected, text.replace("\"1730.9\"", "\"1730.09\"")).unwrap();
    let report = conformance::run(&module(), dir.path());
    let failures: Vec<_> = report
        .failures()
        .filter(|check| check.kind != CheckKind::Coverage)
        .collect();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0].case, "cart-page/real-world-cart-page");
    assert!(
        failures[0]
            .failure()
            .unwrap_or_default()
            .contains("/lines/0/unit_price/net"),
        "{report}"
    );
}
