//! `tradewire run` end to end: the example pipelines over loopback HTTP and real files,
//! delivery with retries and dead letters, idempotency, and `validate` on broken files.
//! Every test runs the real binary on a real SQLite file in a temporary directory.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/runtime.rs"]
mod runtime;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use runtime::{
    Receiver, Runtime, canonical_order, http_request, loopback, orders_pipeline, tradewire,
};
use serde_json::{Value, json};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A temporary directory holding `pipeline` (a file of `examples/pipelines/`, or text).
fn with_pipeline(name: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(name), text).expect("write the pipeline");
    dir
}

fn example(name: &str) -> String {
    std::fs::read_to_string(repo(&format!("examples/pipelines/{name}")))
        .expect("the example pipeline")
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn wait_until<T>(what: &str, timeout: Duration, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn order(reference: &str) -> Vec<u8> {
    serde_json::to_vec(&canonical_order(reference)).expect("JSON")
}

fn post(address: SocketAddr, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    http_request(address, "POST", path, headers, body).expect("the source answers")
}

#[test]
fn quickstart_turns_a_posted_oci_cart_into_an_ois_order_file() {
    let dir = with_pipeline("quickstart.toml", &example("quickstart.toml"));
    let (listen, api) = (loopback(), loopback());
    let env = [
        ("TRADEWIRE_LISTEN", listen.to_string()),
        ("TRADEWIRE_API", api.to_string()),
    ];
    let _runtime = Runtime::start(dir.path(), Path::new("quickstart.toml"), api, &env);

    let cart = std::fs::read(repo(
        "adapters/oci-punchout/fixtures/cart/discountoffice.txt",
    ))
    .expect("cart");
    let (status, body) = post(
        listen,
        "/oci/cart",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &cart,
    );
    assert_eq!(status, 202, "{body}");
    let id = json_of(&body)["id"]
        .as_str()
        .expect("the document's id")
        .to_owned();

    let file = dir.path().join("out").join(format!("{id}.json"));
    let ois = wait_until("the OIS order file", Duration::from_secs(20), || {
        std::fs::read_to_string(&file).ok()
    });
    let ois = json_of(&ois);
    assert_eq!(ois["CurrencyCode"], "EUR");
    assert_eq!(ois["ShippingAgentId"], "3");
    assert_eq!(ois["DeliveryAddress"]["City"], "Amsterdam");
    let lines = ois["OrderLines"].as_array().expect("order lines");
    assert!(
        lines.iter().any(|l| l["ArticleNumber"] == "FAC132"),
        "{ois}"
    );
}

#[test]
fn an_oci_cart_reaches_the_ois_server_through_map_and_route_and_others_are_kept_as_files() {
    let ois = Receiver::start(|_, _| (200, Duration::ZERO));
    let dir = with_pipeline("oci-cart-to-ois.toml", &example("oci-cart-to-ois.toml"));
    let (listen, api) = (loopback(), loopback());
    let env = [
        ("TRADEWIRE_LISTEN", listen.to_string()),
        ("TRADEWIRE_API", api.to_string()),
        ("OIS_URL", format!("http://{}/v1/Orders", ois.address)),
    ];
    let _runtime = Runtime::start(dir.path(), Path::new("oci-cart-to-ois.toml"), api, &env);

    let cart = std::fs::read(repo(
        "adapters/oci-punchout/fixtures/cart/discountoffice.txt",
    ))
    .expect("cart");
    let (status, body) = post(
        listen,
        "/oci/cart",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &cart,
    );
    assert_eq!(status, 202, "{body}");
    let id = json_of(&body)["id"].as_str().expect("id").to_owned();

    let received = ois.wait_for(1, Duration::from_secs(20));
    assert_eq!(received.len(), 1, "one delivery to the OIS server");
    let request = &received[0];
    assert_eq!(request.path, "/v1/Orders");
    assert_eq!(
        request.headers.get("idempotency-key").map(String::as_str),
        Some(format!("{id}.ois").as_str())
    );
    assert_eq!(
        request.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let order = json_of(&String::from_utf8_lossy(&request.body));
    // The map's lookup: "Transporteur Express" is carrier 3 in the table.
    assert_eq!(order["ShippingAgentId"], "3", "{order}");
    assert_eq!(order["PaymentOptionId"], "12");
    assert_eq!(order["DeliveryAddress"]["CountryCode"], "NL", "{order}");
    assert!(
        !dir.path().join("out/rest").exists(),
        "nothing went to `_unmatched`"
    );
}

#[test]
fn a_cxml_order_request_is_answered_with_a_cxml_response_and_delivered_as_payline_soap_once() {
    let payline = Receiver::start(|_, _| (200, Duration::ZERO));
    let dir = with_pipeline(
        "cxml-order-to-payline.toml",
        &example("cxml-order-to-payline.toml"),
    );
    let (listen, api) = (loopback(), loopback());
    let env = [
        ("TRADEWIRE_LISTEN", listen.to_string()),
        ("TRADEWIRE_API", api.to_string()),
        ("PAYLINE_URL", format!("http://{}/payline", payline.address)),
    ];
    let _runtime = Runtime::start(
        dir.path(),
        Path::new("cxml-order-to-payline.toml"),
        api,
        &env,
    );

    let request =
        std::fs::read(repo("tests/conformance/cxml/samples/OrderRequest.xml")).expect("sample");
    let (status, first) = post(
        listen,
        "/cxml",
        &[("Content-Type", "text/xml; charset=UTF-8")],
        &request,
    );
    assert_eq!(status, 202, "{first}");
    assert!(
        first.contains("<Response>") || first.contains("<Response"),
        "{first}"
    );
    assert!(first.contains(r#"<Status code="200""#), "{first}");

    // The cXML payloadID is the idempotency key: the same request again is answered the
    // same and delivered once.
    let (status, again) = post(
        listen,
        "/cxml",
        &[("Content-Type", "text/xml; charset=UTF-8")],
        &request,
    );
    assert_eq!(status, 202);
    assert_eq!(again, first, "a repeat is answered as the first time");

    let received = payline.wait_for(1, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(payline.requests().len(), 1, "delivered once");
    let soap = String::from_utf8_lossy(&received[0].body).into_owned();
    assert!(soap.contains("<ref>DO1234</ref>"), "{soap}");
    assert!(soap.contains("<amount>8500</amount>"), "{soap}");

    // The order's shared secret is blanked in what the store keeps of the request.
    let stored: Vec<u8> = ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            std::fs::read(dir.path().join(format!("cxml-order-to-payline.db{suffix}"))).ok()
        })
        .flatten()
        .collect();
    assert!(
        contains(&stored, b"<SharedSecret>***</SharedSecret>"),
        "the raw request is kept, its secret blanked"
    );
    assert!(
        !contains(&stored, b"coyote"),
        "the shared secret reached the store"
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn econnecteur_product_files_become_canonical_product_files_and_a_broken_one_is_set_aside() {
    let dir = with_pipeline(
        "products.toml",
        &example("econnecteur-products-to-files.toml"),
    );
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    std::fs::copy(
        repo("tests/conformance/econnecteur/samples/add_product.7-Ajout-produit.xml"),
        inbox.join("add_product.xml"),
    )
    .expect("sample");
    std::fs::write(inbox.join("broken.xml"), b"<product><sku>unclosed").expect("broken");
    std::fs::write(inbox.join("notes.txt"), b"not a push").expect("other file");
    let api = loopback();
    let env = [("TRADEWIRE_API", api.to_string())];
    let _runtime = Runtime::start(dir.path(), Path::new("products.toml"), api, &env);

    let products = dir.path().join("out/products");
    let written = wait_until("a product file", Duration::from_secs(20), || {
        let files: Vec<_> = std::fs::read_dir(&products)
            .ok()?
            .filter_map(Result::ok)
            .collect();
        (files.len() == 1)
            .then(|| std::fs::read_to_string(files[0].path()).ok())
            .flatten()
    });
    let product = json_of(&written);
    assert_eq!(product["contract"], "product/v1", "{product}");
    wait_until("the files moved aside", Duration::from_secs(10), || {
        (inbox.join("done/add_product.xml").is_file() && inbox.join("failed/broken.xml").is_file())
            .then_some(())
    });
    let error =
        std::fs::read_to_string(inbox.join("failed/broken.xml.error.json")).expect("why it failed");
    assert_eq!(json_of(&error)["status"], "refused", "{error}");
    assert!(
        inbox.join("notes.txt").is_file(),
        "a file the pattern does not match is left alone"
    );

    let (status, stdout, stderr) = tradewire(
        dir.path(),
        &[
            "--format",
            "json",
            "dlq",
            "list",
            "--config",
            "products.toml",
        ],
        &env,
    );
    assert!(status.success(), "{stderr}");
    let letters = json_of(&stdout);
    let letters = letters.as_array().expect("a list");
    assert_eq!(letters.len(), 1, "{stdout}");
    assert_eq!(letters[0]["kind"], "refused");
    assert_eq!(letters[0]["component"], "pushes");
}

fn http_sink(name: &str, receiver: &Receiver, extra: &str) -> String {
    format!(
        r#"
[sinks.{name}]
type = "http"
inputs = ["orders"]
uri = "http://{}/{name}"
retry = {{ max_attempts = 5, initial_backoff_secs = 0.05, max_backoff_secs = 0.2 }}
{extra}
"#,
        receiver.address
    )
}

#[test]
fn a_sink_answering_500_twice_then_200_delivers_once_with_one_key_and_trace_tells_it() {
    let receiver = Receiver::start(|n, _| (if n < 2 { 500 } else { 200 }, Duration::ZERO));
    let (listen, api) = (loopback(), loopback());
    let dir = with_pipeline(
        "p.toml",
        &orders_pipeline(listen, api, &http_sink("erp", &receiver, "")),
    );
    let _runtime = Runtime::start(dir.path(), Path::new("p.toml"), api, &[]);

    let (status, body) = post(
        listen,
        "/orders",
        &[("Idempotency-Key", "PO-500")],
        &order("PO-500"),
    );
    assert_eq!(status, 202, "{body}");
    let requests = receiver.wait_for(3, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        receiver.requests().len(),
        3,
        "two failures, one success, nothing after"
    );
    let keys: Vec<_> = requests
        .iter()
        .map(|r| r.headers.get("idempotency-key").cloned())
        .collect();
    assert!(
        keys[0].is_some() && keys.iter().all(|k| k == &keys[0]),
        "{keys:?}"
    );

    let (status, stdout, stderr) = tradewire(
        dir.path(),
        &["--format", "json", "trace", "PO-500", "--config", "p.toml"],
        &[],
    );
    assert!(status.success(), "{stderr}");
    let trace = json_of(&stdout);
    let delivery = &trace["documents"][0]["deliveries"][0];
    assert_eq!(delivery["state"], "delivered", "{trace}");
    let outcomes: Vec<_> = delivery["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["status"].clone())
        .collect();
    assert_eq!(outcomes, [json!(500), json!(500), json!(200)]);
    assert_eq!(
        delivery["document"]["reference"], "PO-500",
        "the document as the sink got it"
    );
}

#[test]
fn a_sink_answering_400_dead_letters_the_document_and_dlq_replay_delivers_it_once_fixed() {
    let fixed = Arc::new(AtomicBool::new(false));
    let switch = fixed.clone();
    let receiver = Receiver::start(move |_, _| {
        (
            if switch.load(Ordering::SeqCst) {
                200
            } else {
                400
            },
            Duration::ZERO,
        )
    });
    let (listen, api) = (loopback(), loopback());
    let dir = with_pipeline(
        "p.toml",
        &orders_pipeline(listen, api, &http_sink("erp", &receiver, "")),
    );
    let _runtime = Runtime::start(dir.path(), Path::new("p.toml"), api, &[]);

    let (status, _) = post(
        listen,
        "/orders",
        &[("Idempotency-Key", "PO-400")],
        &order("PO-400"),
    );
    assert_eq!(status, 202);
    receiver.wait_for(1, Duration::from_secs(20));
    let dlq = |args: &[&str]| {
        let mut all = vec!["--format", "json", "dlq"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", "p.toml"]);
        let (status, stdout, stderr) = tradewire(dir.path(), &all, &[]);
        assert!(status.success(), "{stderr}");
        stdout
    };
    let letters = wait_until("the dead letter", Duration::from_secs(10), || {
        let letters = json_of(&dlq(&["list"]));
        (letters.as_array().is_some_and(|l| l.len() == 1)).then_some(letters)
    });
    assert_eq!(letters[0]["kind"], "undeliverable");
    assert!(
        letters[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("400")),
        "{letters}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(receiver.requests().len(), 1, "a 400 is not retried");

    fixed.store(true, Ordering::SeqCst);
    let id = letters[0]["id"].to_string();
    let replay = json_of(&dlq(&["replay", &id]));
    assert_eq!(replay["replay"]["result"], "requeued", "{replay}");
    let requests = receiver.wait_for(2, Duration::from_secs(20));
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].headers.get("idempotency-key"),
        requests[1].headers.get("idempotency-key"),
        "a replay keeps the key"
    );
    assert_eq!(
        json_of(&dlq(&["list"])),
        json!([]),
        "the dead letter is gone"
    );
}

#[test]
fn a_sink_that_hangs_does_not_delay_another_sink_on_the_same_source() {
    let hanging = Receiver::start(|_, _| (200, Duration::from_secs(60)));
    let healthy = Receiver::start(|_, _| (200, Duration::ZERO));
    let (listen, api) = (loopback(), loopback());
    let sinks = http_sink("slow", &hanging, "timeout_secs = 120\nconcurrency = 1")
        + &http_sink("fast", &healthy, "");
    let dir = with_pipeline("p.toml", &orders_pipeline(listen, api, &sinks));
    let mut runtime = Runtime::start(dir.path(), Path::new("p.toml"), api, &[]);

    let started = Instant::now();
    for n in 0..5 {
        let reference = format!("PO-H{n}");
        let (status, _) = post(
            listen,
            "/orders",
            &[("Idempotency-Key", &reference)],
            &order(&reference),
        );
        assert_eq!(status, 202);
    }
    let delivered = healthy.wait_for(5, Duration::from_secs(10));
    assert_eq!(
        delivered.len(),
        5,
        "the healthy sink got every document while the other hung"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        hanging.requests().len(),
        1,
        "the hanging sink holds its one attempt"
    );
    // Shutting down abandons the hanging attempt within the bound; it stays pending.
    let (status, took) = runtime.terminate(Duration::from_secs(30));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?}:\n{}",
        runtime.log()
    );
    assert!(took < Duration::from_secs(15), "stopped in {took:?}");
}

#[test]
fn a_repeated_key_is_a_no_op_and_a_reused_key_with_other_content_is_refused() {
    let receiver = Receiver::start(|_, _| (200, Duration::ZERO));
    let (listen, api) = (loopback(), loopback());
    let dir = with_pipeline(
        "p.toml",
        &orders_pipeline(listen, api, &http_sink("erp", &receiver, "")),
    );
    let _runtime = Runtime::start(dir.path(), Path::new("p.toml"), api, &[]);

    let body = order("PO-K1");
    let (first_status, first) = post(listen, "/orders", &[("Idempotency-Key", "K1")], &body);
    let (again_status, again) = post(listen, "/orders", &[("Idempotency-Key", "K1")], &body);
    assert_eq!((first_status, again_status), (202, 202));
    assert_eq!(first, again, "answered as the first time");
    let (conflict, refusal) = post(
        listen,
        "/orders",
        &[("Idempotency-Key", "K1")],
        &order("PO-K2"),
    );
    assert_eq!(conflict, 409, "{refusal}");
    assert_eq!(
        json_of(&refusal)["diagnostics"][0]["code"],
        "source.key_conflict"
    );

    receiver.wait_for(1, Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.requests().len(), 1, "one document, delivered once");
}

#[test]
fn refused_input_is_answered_with_its_diagnostics_and_kept() {
    let receiver = Receiver::start(|_, _| (200, Duration::ZERO));
    let (listen, api) = (loopback(), loopback());
    let dir = with_pipeline(
        "p.toml",
        &orders_pipeline(listen, api, &http_sink("erp", &receiver, "")),
    );
    let _runtime = Runtime::start(dir.path(), Path::new("p.toml"), api, &[]);

    let (status, body) = post(
        listen,
        "/orders",
        &[("Idempotency-Key", "BAD-1")],
        br#"{"contract": "order/v1", "kind": "order"}"#,
    );
    assert_eq!(status, 422, "{body}");
    let answer = json_of(&body);
    assert_eq!(answer["status"], "refused");
    assert!(
        answer["diagnostics"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "{answer}"
    );
    let (status, stdout, _) = tradewire(
        dir.path(),
        &["--format", "json", "trace", "BAD-1", "--config", "p.toml"],
        &[],
    );
    assert!(status.success());
    let trace = json_of(&stdout);
    assert_eq!(
        trace["refusals"][0]["raw"], r#"{"contract": "order/v1", "kind": "order"}"#,
        "the raw input is kept"
    );
    assert!(receiver.requests().is_empty());
}

/// `tradewire validate` on `text`: its exit code and what it printed on stderr.
fn validate(text: &str, env: &[(&str, String)]) -> (Option<i32>, String) {
    let dir = with_pipeline("broken.toml", text);
    let panicky = std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.parent().map(|d| {
                d.join(format!(
                    "{}fixture_panicky{}",
                    std::env::consts::DLL_PREFIX,
                    std::env::consts::DLL_SUFFIX
                ))
            })
        })
        .expect("the panicky fixture");
    let (status, _, stderr) = tradewire(
        dir.path(),
        &[
            "--plugins",
            panicky.to_str().expect("path"),
            "validate",
            "broken.toml",
        ],
        env,
    );
    (status.code(), stderr)
}

const VALID: &str = r#"
[sources.orders]
type = "http"
address = "127.0.0.1:1"
decode = { adapter = "oci-punchout", message = "order-request" }

[transforms.stamped]
type = "map"
inputs = ["orders"]
set = { "/channel" = "punchout" }

[sinks.out]
type = "file"
inputs = ["stamped"]
path = "out/{{id}}.json"
"#;

#[test]
fn validate_accepts_a_good_pipeline() {
    let (code, stderr) = validate(VALID, &[]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn validate_names_each_problem_with_its_line_and_key() {
    let cases: [(&str, String, &str, &str); 6] = [
        ("a misspelt key", VALID.replace("path = \"out/", "pth = \"out/"), "broken.toml:15:1:", "sinks.out.pth"),
        ("an unknown adapter", VALID.replace("\"oci-punchout\"", "\"oci-punchin\""), "broken.toml:5:12:", "sources.orders.decode.adapter"),
        (
            "a decode-only message used to encode",
            VALID.replace("path = \"out/{{id}}.json\"", "path = \"out/{{id}}.json\"\nencode = { adapter = \"panicky\", message = \"scan\" }"),
            "broken.toml:16:",
            "sinks.out.encode.message",
        ),
        (
            "a cycle",
            VALID.replace("inputs = [\"orders\"]", "inputs = [\"orders\", \"again\"]")
                + "\n[transforms.again]\ntype = \"map\"\ninputs = [\"stamped\"]\n",
            "config.cycle",
            "transforms.",
        ),
        ("a dangling input", VALID.replace("inputs = [\"stamped\"]", "inputs = [\"stampd\"]"), "broken.toml:14:11:", "sinks.out.inputs.0"),
        ("an unset variable", VALID.replace("127.0.0.1:1", "${TRADEWIRE_TEST_UNSET_ADDRESS}"), "broken.toml:4:12:", "sources.orders.address"),
    ];
    for (what, text, place, key) in cases {
        let (code, stderr) = validate(&text, &[]);
        assert_eq!(code, Some(2), "{what}: {stderr}");
        assert!(
            stderr.contains(place),
            "{what}: expected {place} in:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("`{key}")),
            "{what}: expected `{key}` in:\n{stderr}"
        );
    }
}

fn fixture_library(crate_name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent().expect("deps").join(format!(
        "{}{crate_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

#[test]
fn adapters_get_the_call_context_and_an_abi_1_0_library_is_called_without_it() {
    let plugins = tempfile::tempdir().expect("plugins");
    for library in ["fixture_panicky", "fixture_abi_1_0"] {
        let from = fixture_library(library);
        std::fs::copy(&from, plugins.path().join(from.file_name().expect("name"))).expect("copy");
    }
    let (listen, api) = (loopback(), loopback());
    let text = format!(
        r#"
[store]
path = "store.db"
[api]
address = "{api}"
[plugins]
paths = ["{}"]

[sources.current]
type = "http"
address = "{listen}"
path = "/current"
decode = {{ adapter = "panicky", message = "echo" }}

[sources.old]
type = "http"
address = "{listen}"
path = "/old"
decode = {{ adapter = "abi-1-0", message = "echo" }}

[sinks.files]
type = "file"
inputs = ["current", "old"]
path = "out/{{{{id}}}}.json"
"#,
        plugins.path().display()
    );
    let dir = with_pipeline("p.toml", &text);
    let _runtime = Runtime::start(dir.path(), Path::new("p.toml"), api, &[]);
    let headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Echo", "hello"),
        ("X-Other", "not asked for"),
    ];

    let written = |path: &str, sku: &str| {
        let (status, body) = post(listen, path, &headers, sku.as_bytes());
        assert_eq!(status, 202, "{body}");
        let id = json_of(&body)["id"].as_str().expect("id").to_owned();
        let file = dir.path().join("out").join(format!("{id}.json"));
        let document = json_of(&wait_until(
            "the product file",
            Duration::from_secs(20),
            || std::fs::read_to_string(&file).ok(),
        ));
        (id, document)
    };
    let (id, current) = written("/current", "CTX-1");
    assert_eq!(
        current["extensions"]["content_type"], "text/plain; charset=utf-8",
        "{current}"
    );
    assert_eq!(
        current["extensions"]["x-echo"], "hello",
        "the header the adapter declares is passed"
    );
    let (_, old) = written("/old", "OLD-1");
    assert_eq!(
        old["sku"], "OLD-1",
        "an ABI 1.0 library decodes, called without the context"
    );

    // The store keeps the context the adapter got, and no header it did not ask for.
    let (status, stdout, stderr) = tradewire(
        dir.path(),
        &["--format", "json", "trace", &id, "--config", "p.toml"],
        &[],
    );
    assert!(status.success(), "{stderr}");
    let context = &json_of(&stdout)["documents"][0]["context"];
    assert_eq!(context["headers"], json!({"x-echo": "hello"}), "{context}");
}

#[test]
fn a_body_over_the_limit_is_refused_with_413_a_slow_one_408_and_metrics_count_what_happened() {
    let receiver = Receiver::start(|_, _| (200, Duration::ZERO));
    let (listen, api) = (loopback(), loopback());
    let text = orders_pipeline(listen, api, &http_sink("erp", &receiver, "")).replace(
        "path = \"/orders\"",
        "path = \"/orders\"\nmax_body_bytes = 20000\nrequest_timeout_secs = 1",
    );
    let dir = with_pipeline("p.toml", &text);
    let _runtime = Runtime::start(dir.path(), Path::new("p.toml"), api, &[]);

    // Refused on its announced length, before a byte of it is read.
    let (status, body) = post(listen, "/orders", &[("Content-Length", "20001")], b"");
    assert_eq!(status, 413, "{body}");
    // A client that announces more than it sends is answered 408 once the bound passes.
    let (status, body) = post(listen, "/orders", &[("Content-Length", "100")], b"{\"con");
    assert_eq!(status, 408, "{body}");
    let (status, _) = post(
        listen,
        "/orders",
        &[("Idempotency-Key", "M-1")],
        &order("M-1"),
    );
    assert_eq!(status, 202);
    let (status, _) = post(listen, "/orders", &[], b"{}");
    assert_eq!(status, 422);
    receiver.wait_for(1, Duration::from_secs(20));

    let metrics = wait_until("the delivery counted", Duration::from_secs(10), || {
        let text = runtime::http_get(api, "/metrics")?;
        // The attempt is counted as it ends, and recorded in the store just after.
        let settled = text.contains("tradewire_documents_delivered_total{component=\"erp\"} 1")
            && text.contains("tradewire_queue_depth{component=\"erp\"} 0");
        settled.then_some(text)
    });
    for line in [
        "tradewire_documents_received_total{component=\"orders\"} 2",
        "tradewire_documents_refused_total{component=\"orders\"} 1",
        "tradewire_delivery_attempts_total{component=\"erp\",outcome=\"delivered\"} 1",
        "tradewire_queue_depth{component=\"erp\"} 0",
        "tradewire_delivery_latency_seconds_count{component=\"erp\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    let health = json_of(&runtime::http_get(api, "/health").expect("/health answers 200"));
    assert_eq!(health["components"]["erp"]["status"], "ok", "{health}");
    assert_eq!(health["components"]["orders"]["kind"], "source", "{health}");
}

#[test]
fn the_pipeline_schema_describes_every_component_type() {
    let (status, stdout, stderr) = tradewire(Path::new("."), &["schema", "--pipeline"], &[]);
    assert!(status.success(), "{stderr}");
    let schema = json_of(&stdout);
    let text = schema.to_string();
    for kind in [
        "\"http\"",
        "\"file\"",
        "\"map\"",
        "\"jq\"",
        "\"route\"",
        "\"validate\"",
        "\"stdout\"",
    ] {
        assert!(text.contains(kind), "{kind} missing from the schema");
    }
    assert_eq!(schema["additionalProperties"], false);
    assert!(schema["properties"]["sinks"]["additionalProperties"].is_object());
}
