//! What each fuzz target runs, written once for the fuzzer and for the test that replays
//! its findings (`tests/tests/fuzz_regressions.rs` includes this file as a module).
//!
//! A target takes the fuzzer's bytes, lets the first byte pick one of the target's
//! configs, and hands the rest to the adapter's `decode` (through the [`Adapter`] trait,
//! never the ABI glue, whose `catch_unwind` would hide a panic). Refusing the input is
//! fine; panicking, hanging or exhausting memory is the bug the fuzzer looks for.

use std::sync::OnceLock;

use tradewire_econnecteur::Econnecteur;
use tradewire_example_csv::CsvCatalogue;
use tradewire_oci_punchout::OciPunchout;
use tradewire_ois_orders::OisOrders;
use tradewire_payment_order::PaymentOrder;
use tradewire_sdk::Adapter;
use tradewire_sdk::form;
use tradewire_sdk::xml::{self, Element, XmlLimits};

/// One fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` binary, and the folder of
/// its seeds and regressions) and what it runs on one input.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// The most configs a target has: first bytes `0..MAX_CONFIGS` pick each of them.
pub const MAX_CONFIGS: u8 = 4;

/// The first byte picks the config (modulo their number), the rest is the input.
fn pick<'a, T>(choices: &'a [T], data: &'a [u8]) -> Option<(&'a T, &'a [u8])> {
    let (&first, input) = data.split_first()?;
    choices
        .get(usize::from(first) % choices.len())
        .map(|choice| (choice, input))
}

/// The adapter built from each JSON config; a config it refuses is a mistake in this file.
fn build<A: Adapter>(configs: &[&str]) -> Vec<A> {
    assert!(
        configs.len() <= usize::from(MAX_CONFIGS),
        "raise MAX_CONFIGS"
    );
    configs
        .iter()
        .map(|json| {
            let config = serde_json::from_str(json)
                .unwrap_or_else(|e| panic!("fuzz config {json} does not deserialise: {e}"));
            A::new(config).unwrap_or_else(|d| panic!("fuzz config {json} is refused: {d:?}"))
        })
        .collect()
}

fn decode<A: Adapter>(adapters: &[A], message: &str, data: &[u8]) {
    if let Some((adapter, input)) = pick(adapters, data) {
        // The outcome does not matter, only that there is one.
        let _ = adapter.decode(message, input);
    }
}

/// A target decoding `message` with `adapter`, built once per process from the configs
/// (JSON; `{}` is the default config). List a config only where it runs other code.
macro_rules! decode_target {
    ($name:ident: $adapter:ty, $message:literal, [$($config:literal),+ $(,)?]) => {
        pub fn $name(data: &[u8]) {
            static ADAPTERS: OnceLock<Vec<$adapter>> = OnceLock::new();
            let adapters = ADAPTERS.get_or_init(|| build(&[$($config),+]));
            decode(adapters, $message, data);
        }
    };
}

decode_target!(econnecteur_request: Econnecteur, "request", [
    "{}",
    r#"{"expected_key": "fuzz-key"}"#,
    r#"{"content_type": "multipart/form-data; boundary=fuzz"}"#,
    r#"{"content_type": "application/x-www-form-urlencoded", "max_data_bytes": 4096}"#,
]);
decode_target!(econnecteur_response: Econnecteur, "response", ["{}"]);
decode_target!(econnecteur_order: Econnecteur, "order", [
    "{}",
    r#"{"shipping_includes_tax": false, "utc_offset": "+01:00", "currency": "CHF"}"#,
    r#"{"time_zone": "America/New_York", "country_form": "de"}"#,
]);
decode_target!(econnecteur_product: Econnecteur, "product", ["{}"]);
decode_target!(econnecteur_option: Econnecteur, "option", ["{}"]);
decode_target!(econnecteur_customers: Econnecteur, "customers", [
    "{}",
    r#"{"country_form": "fr"}"#,
]);
decode_target!(econnecteur_grilles: Econnecteur, "grilles", ["{}"]);

decode_target!(oci_punchout_login: OciPunchout, "login", [
    "{}",
    r#"{"charset": "ISO-8859-1", "credentials_required": false}"#,
]);
decode_target!(oci_punchout_cart: OciPunchout, "cart", [
    "{}",
    r#"{"charset": "windows-1252", "units": {"ST": "PCE"}}"#,
    r#"{"mapping": {"ext_product_id": "sku", "vendormat": "none", "vat_rate_field": null, "service_decodes_as": "payment_fee"}}"#,
]);
decode_target!(oci_punchout_cart_page: OciPunchout, "cart-page", [
    "{}",
    r#"{"charset": "windows-1252"}"#,
]);
decode_target!(oci_punchout_order_request: OciPunchout, "order-request", [
    "{}",
    r#"{"cxml": {"shared_secret": "fuzz-secret"}}"#,
]);
decode_target!(oci_punchout_order_response: OciPunchout, "order-response", ["{}"]);

decode_target!(ois_orders_order: OisOrders, "order", [
    "{}",
    r#"{"profile": "none", "default_currency": "SEK"}"#,
]);

decode_target!(payment_order_order: PaymentOrder, "order", [
    "{}",
    r#"{"time_zone": "America/St_Johns", "today": "2026-03-08"}"#,
    r#"{"api_version": 17}"#,
]);
decode_target!(payment_order_order_soap: PaymentOrder, "order-soap", [
    "{}",
    r#"{"time_zone": "America/St_Johns", "today": "2026-03-08"}"#,
    r#"{"api_version": 17}"#,
]);

decode_target!(csv_catalogue_catalogue: CsvCatalogue, "catalogue", [
    "{}",
    r#"{"delimiter": ";", "decimal_comma": true, "default_currency": "JPY"}"#,
    r#"{"delimiter": "\t"}"#,
]);

/// The SDK's form reader in a few charsets: UTF-8, windows-1252 (what `latin1` means),
/// a multi-byte legacy charset, and UTF-16 (which cannot frame a form, so reads as UTF-8).
pub fn sdk_form(data: &[u8]) {
    const CHARSETS: [&str; MAX_CONFIGS as usize] = ["utf-8", "latin1", "shift_jis", "utf-16le"];
    let Some((label, body)) = pick(&CHARSETS, data) else {
        return;
    };
    let Some(charset) = form::charset(label) else {
        panic!("{label} is not a charset label");
    };
    if let Ok(form) = form::decode_form(body, charset) {
        for (name, value) in form.iter() {
            std::hint::black_box((name, value));
        }
    }
}

/// The SDK's XML reader with its default limits and with tight ones (so that hitting each
/// limit is exercised), then every accessor on every element.
pub fn sdk_xml(data: &[u8]) {
    const TIGHT: XmlLimits = XmlLimits {
        max_depth: 4,
        max_bytes: 4096,
        max_elements: 32,
    };
    let limits = [XmlLimits::default(), TIGHT];
    let Some((limits, document)) = pick(&limits, data) else {
        return;
    };
    if let Ok(root) = xml::parse(document, limits) {
        visit(&root);
        drop(root.into_owned());
    }
}

fn visit(element: &Element<'_>) {
    std::hint::black_box((element.local_name(), element.text_trimmed()));
    for (name, _) in &element.attributes {
        std::hint::black_box(element.attribute(name));
    }
    for child in &element.children {
        let name = child.name.as_ref();
        std::hint::black_box((element.child(name), element.child_text(name)));
        std::hint::black_box(element.children_named(name).count());
        visit(child);
    }
}

/// The targets named after their functions.
macro_rules! targets {
    ($($run:ident),+ $(,)?) => {
        &[$(Target { name: stringify!($run), run: $run }),+]
    };
}

/// Every target.
pub const TARGETS: &[Target] = targets![
    econnecteur_request,
    econnecteur_response,
    econnecteur_order,
    econnecteur_product,
    econnecteur_option,
    econnecteur_customers,
    econnecteur_grilles,
    oci_punchout_login,
    oci_punchout_cart,
    oci_punchout_cart_page,
    oci_punchout_order_request,
    oci_punchout_order_response,
    ois_orders_order,
    payment_order_order,
    payment_order_order_soap,
    csv_catalogue_catalogue,
    sdk_form,
    sdk_xml,
];
