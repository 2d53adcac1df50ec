//! Runs the SDK's conformance kit on the adapter, through the same ABI the host uses to
//! call the compiled plugin, over `fixtures/` (the vendor's samples and our own cases).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use tradewire_econnecteur::Econnecteur;
use tradewire_sdk::AdapterModule;
use tradewire_sdk::conformance::{self, CheckKind};

fn module() -> AdapterModule {
    AdapterModule::of::<Econnecteur>()
        .expect("the adapter's root module passes the ABI and manifest checks")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[test]
fn the_adapter_passes_its_fixtures() {
    let report = conformance::run(&module(), fixtures());
    report.assert_passed_with_every_kind();
    // Every message was exercised with decode cases that round-trip.
    for message in [
        "request",
        "response",
        "order",
        "product",
        "option",
        "customers",
        "grilles",
    ] {
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.kind == CheckKind::RoundTrip
                    && c.case.starts_with(&format!("{message}/"))),
            "no round trip of `{message}`"
        );
    }
}
