//! The `econnecteur` service served by the real `tradewire run` over loopback: `validate`,
//! `graph` and `schema` know it; a whole e-connecteur session over HTTP (orders routed in by
//! a source, listed, fetched, marked exported; products, customers, the real price grid and a
//! sales document with its PDF pushed) with answers valid against the vendor's XSDs and what
//! the ERP pushed arriving at the sinks of `erp.products`, `erp.customers`, …; and the
//! example pipeline end to end.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/runtime.rs"]
mod runtime;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use runtime::{HttpResponse, Receiver, Runtime, http_exchange, loopback, tradewire};
use serde_json::{Value, json};
use tradewire_plugins::Registry;

const KEY: &str = "s3cret";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn sample(name: &str) -> String {
    std::fs::read_to_string(repo("tests/conformance/econnecteur/samples").join(name)).unwrap()
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(repo("adapters/econnecteur/fixtures").join(path)).unwrap()
}

/// `pairs` as an `application/x-www-form-urlencoded` body.
fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

/// POSTs `body` as a form to the service at `address`.
fn post_form(address: SocketAddr, body: &[u8]) -> HttpResponse {
    http_exchange(
        address,
        "POST",
        "/econnecteur",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body,
    )
    .expect("the service answers")
}

/// Calls `resource` as e-connecteur does: the key, the resource, `data` and more fields.
fn call(address: SocketAddr, resource: &str, data: &str, more: &[(&str, &str)]) -> HttpResponse {
    let mut pairs = vec![("key", KEY), ("resource", resource)];
    pairs.extend_from_slice(more);
    if !data.is_empty() {
        pairs.push(("data", data));
    }
    post_form(address, &form(&pairs))
}

fn text(response: &HttpResponse) -> String {
    String::from_utf8(response.body.clone()).unwrap()
}

/// The call's answer, checked to be a success: its text.
fn ok(address: SocketAddr, resource: &str, data: &str, more: &[(&str, &str)]) -> String {
    let response = call(address, resource, data, more);
    let body = text(&response);
    assert_eq!(response.status, 200, "{resource}: {body}");
    assert!(!body.contains("<error>"), "{resource}: {body}");
    body
}

/// `xmllint --noout --schema` of the vendor's `xsd` on `xml`.
fn assert_valid(xsd: &str, xml: &str) {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("answer.xml");
    std::fs::write(&file, xml).unwrap();
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(repo("tests/conformance/econnecteur/xsd").join(xsd))
        .arg(&file)
        .output()
        .expect("xmllint is installed (libxml2-utils)");
    assert!(
        output.status.success(),
        "not valid against {xsd}: {}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The text of every `<name>` element of `xml`, in order.
fn texts(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.match_indices(&open)
        .filter_map(|(at, _)| {
            let rest = &xml[at + open.len()..];
            rest.find(&close).map(|end| rest[..end].to_owned())
        })
        .collect()
}

/// The vendor's sample order as a shop's canonical order, with its own reference and
/// customer.
fn canonical_order(reference: &str, customer_id: &str) -> Value {
    let instance = Registry::with_builtins()
        .instantiate("econnecteur", &json!({}))
        .unwrap();
    let decoded = instance
        .decode("order", sample("order.xml").as_bytes())
        .unwrap();
    let mut order: Value = serde_json::from_slice(&decoded.bytes).unwrap();
    order["id"] = json!(reference);
    order["reference"] = json!(reference);
    order["customer"]["id"] = json!(customer_id);
    order
}

/// The JSON documents a file sink wrote in `directory`.
fn written(directory: &Path) -> Vec<Value> {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok())
        .collect()
}

/// Waits up to 20 s for `ready` to say yes.
fn wait_until(what: &str, log: impl Fn() -> String, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "{what}:\n{}", log());
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A pipeline with the service `erp` at `listen` taking the orders of source `web_orders`
/// (canonical JSON at `orders`), and a file sink per output in `out/<output>/`.
fn session_pipeline(orders: SocketAddr, listen: SocketAddr, api: SocketAddr) -> String {
    let mut text = format!(
        r#"
[store]
path = "store.db"

[api]
address = "{api}"

[sources.web_orders]
type = "http"
address = "{orders}"
path = "/orders"

[services.erp]
type = "econnecteur"
address = "{listen}"
path = "/econnecteur"
key = "${{ECONNECTEUR_KEY}}"
inputs = ["web_orders"]
order_state = "2"
config = {{ order_format = "xsd" }}
"#
    );
    for output in [
        "products",
        "customers",
        "price_rules",
        "documents",
        "status_changes",
    ] {
        text.push_str(&format!(
            "\n[sinks.{output}]\ntype = \"file\"\ninputs = [\"erp.{output}\"]\npath = \"out/{output}/{{{{id}}}}.json\"\n"
        ));
    }
    text
}

/// A running pipeline of a test's own, in a temporary directory.
struct Started {
    dir: tempfile::TempDir,
    runtime: Runtime,
}

/// Runs the pipeline `text` whose API is at `api`.
fn start(text: &str, api: SocketAddr, env: &[(&str, String)]) -> Started {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), text).unwrap();
    let runtime = Runtime::start(dir.path(), &dir.path().join("p.toml"), api, env);
    Started { dir, runtime }
}

#[test]
fn a_whole_econnecteur_session_over_http_against_tradewire_run() {
    let (orders, listen, api) = (loopback(), loopback(), loopback());
    let started = start(
        &session_pipeline(orders, listen, api),
        api,
        &[("ECONNECTEUR_KEY", KEY.to_owned())],
    );
    let log = || started.runtime.log();
    let out = started.dir.path().join("out");

    // The shop's orders come in through the source and wait for the ERP.
    for (reference, customer) in [("WEB-1", "41"), ("WEB-2", "42")] {
        let response = http_exchange(
            orders,
            "POST",
            "/orders",
            &[("Content-Type", "application/json")],
            &serde_json::to_vec(&canonical_order(reference, customer)).unwrap(),
        )
        .unwrap();
        assert_eq!(response.status, 202, "{}", text(&response));
    }
    let mut ids = Vec::new();
    wait_until("the orders wait for the ERP", log, || {
        let list = ok(
            listen,
            "orders_list",
            &sample("orders_list.9-Liste-des-commandes.2015.xml"),
            &[],
        );
        ids = texts(&list, "id");
        ids.len() == 2
    });

    // As e-connecteur goes: the list, each order (valid against XSD 10), each marked
    // exported. (The list is in the documented form, `<order>` around each entry; the
    // vendor's XSD 9 describes the older form without it, so it does not apply.)
    let list = ok(listen, "orders_list", "", &[("filter", "created")]);
    assert_eq!(texts(&list, "id"), ids);
    let mut references = Vec::new();
    for id in &ids {
        let request = sample("orders.10-Details-commande.xml")
            .replace("<id>123</id>", &format!("<id>{id}</id>"));
        let order = ok(listen, "orders", &request, &[]);
        assert_valid("10-Details-commande.xsd", &order);
        references.extend(texts(&order, "product_reference"));
        let exported = ok(
            listen,
            "set_order_exported",
            "",
            &[("id", id), ("statut_final", "4")],
        );
        assert_eq!(texts(&exported, "statut_final"), ["4"]);
    }
    assert_eq!(references, ["FAC132", "FAC132"]);
    let list = ok(listen, "orders_list", "", &[("filter", "created")]);
    assert!(texts(&list, "id").is_empty(), "{list}");

    // Products: plain (the vendor's test 7), with gammes (test 16), with traductions;
    // an update (test 6); the list (test 4).
    let added = ok(
        listen,
        "add_product",
        &sample("add_product.7-Ajout-produit.xml"),
        &[],
    );
    assert_valid("7-Ajout-produit.xsd", &added);
    let gammes = sample("add_product.16-Ajout-produit-gamme.xml").replace(
        "<reference>123456</reference>",
        "<reference>VOIT</reference>",
    );
    let added = ok(listen, "add_product", &gammes, &[]);
    assert_valid("16-Ajout-produit-gamme.xsd", &added);
    let traductions = String::from_utf8(fixture("product/spec-traductions.xml")).unwrap();
    ok(listen, "add_product", &traductions, &[]);
    let updated = ok(
        listen,
        "update_product",
        &sample("update_product.6-Mise-a-jour-produit.xml"),
        &[],
    );
    assert_valid("6-Mise-a-jour-produit.xsd", &updated);
    let list = ok(
        listen,
        "products_list",
        &sample("products_list.4-Liste-des-produits.xml"),
        &[],
    );
    assert_valid("4-Liste-des-produits.xsd", &list);
    assert_eq!(texts(&list, "reference"), ["123456", "VOIT", "ACTI0001"]);

    // Customers in both forms, the real price grid, an invoice with its PDF, a tracking
    // number.
    ok(
        listen,
        "add_customer",
        &String::from_utf8(fixture("customers/spec-example.xml")).unwrap(),
        &[],
    );
    ok(
        listen,
        "add_customer",
        &String::from_utf8(fixture("customers/ebp-one-node-per-contact.xml")).unwrap(),
        &[],
    );
    ok(listen, "add_grilles", &sample("grilles_2.xml"), &[]);
    let response = post_form(listen, &fixture("request/add-order-with-pdf.form"));
    assert_eq!(response.status, 200);
    assert!(!text(&response).contains("<error>"), "{}", text(&response));
    let tracked = ok(
        listen,
        "add_tracking",
        "",
        &[("id", &ids[0]), ("shipping_number", "1Z999AA10123456784")],
    );
    assert_eq!(texts(&tracked, "shipping_number"), ["1Z999AA10123456784"]);

    // A wrong key: the envelope with HTTP 200, and nothing kept or emitted.
    let product = sample("add_product.7-Ajout-produit.xml").replace("123456", "WRONG-KEY");
    let refused = post_form(
        listen,
        &form(&[
            ("key", "not-the-key"),
            ("resource", "add_product"),
            ("data", &product),
        ]),
    );
    assert_eq!(refused.status, 200);
    assert!(text(&refused).contains("<error>"), "{}", text(&refused));
    assert!(!text(&refused).contains("not-the-key"));
    let list = ok(listen, "products_list", "", &[]);
    assert!(!list.contains("WRONG-KEY"), "{list}");

    // Everything the ERP pushed reached the sinks of its outputs.
    let skus = |documents: Vec<Value>| -> Vec<String> {
        let mut skus: Vec<String> = documents
            .iter()
            .map(|d| d["sku"].as_str().unwrap_or_default().to_owned())
            .collect();
        skus.sort();
        skus
    };
    wait_until("every push at its sink", log, || {
        skus(written(&out.join("products"))).len() == 4
            && written(&out.join("customers")).len() == 2
            && written(&out.join("price_rules")).len() == 1
            && written(&out.join("documents")).len() == 1
            && written(&out.join("status_changes")).len() == 3
    });
    assert_eq!(
        skus(written(&out.join("products"))),
        ["123456", "123456", "ACTI0001", "VOIT"]
    );
    let voit = written(&out.join("products"))
        .into_iter()
        .find(|p| p["sku"] == "VOIT")
        .unwrap();
    assert_eq!(voit["variants"][0]["sku"], "VOIT0010");
    let customers: Vec<String> = written(&out.join("customers"))
        .iter()
        .map(|c| c["customers"][0]["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(customers.contains(&"BAGUES".to_owned()) && customers.contains(&"CL00042".to_owned()));
    let grid = &written(&out.join("price_rules"))[0];
    assert_eq!(grid["rules"].as_array().unwrap().len(), 1790);
    let invoice = &written(&out.join("documents"))[0];
    assert!(
        invoice["extensions"]["pdf"]
            .as_str()
            .is_some_and(|pdf| pdf.starts_with("JVBER")),
        "the PDF, base64"
    );
    let changes: BTreeMap<String, usize> =
        written(&out.join("status_changes"))
            .iter()
            .fold(BTreeMap::new(), |mut by, change| {
                *by.entry(change["order_id"].as_str().unwrap().to_owned())
                    .or_default() += 1;
                by
            });
    assert_eq!(
        changes,
        BTreeMap::from([("WEB-1".into(), 2), ("WEB-2".into(), 1)])
    );
}

/// The example's variables, its HTTP sink at `shop`.
fn example_env(shop: SocketAddr) -> Vec<(&'static str, String)> {
    vec![
        ("ECONNECTEUR_KEY", KEY.to_owned()),
        ("SHOP_PRODUCTS_URL", format!("http://{shop}/api/products")),
    ]
}

#[test]
fn validate_knows_the_service_its_inputs_and_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let example =
        std::fs::read_to_string(repo("examples/pipelines/shop-orders-to-erp.toml")).unwrap();
    let env = example_env(loopback());
    std::fs::write(dir.path().join("p.toml"), &example).unwrap();
    let (status, stdout, stderr) = tradewire(dir.path(), &["validate", "p.toml"], &env);
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("services: 1"), "{stdout}");
    // Outputs nothing takes stay with the service: a warning that says so, no error.
    assert!(
        stderr
            .contains("nothing takes `erp.customers`: what would go there stays with the service"),
        "{stderr}"
    );

    let line_of =
        |text: &str, start: &str| text.lines().position(|l| l.starts_with(start)).unwrap() + 1;
    let broken = example.replace("state_names =", "state_name =");
    std::fs::write(dir.path().join("p.toml"), &broken).unwrap();
    let (status, _, stderr) = tradewire(dir.path(), &["validate", "p.toml"], &env);
    assert_eq!(status.code(), Some(2), "{stderr}");
    let line = line_of(&broken, "state_name =");
    assert!(
        stderr.contains(&format!(
            "p.toml:{line}:1: error[config.unknown_key] `services.erp.state_name`"
        )),
        "{stderr}"
    );

    for (what, broken, expected) in [
        (
            "a dangling input",
            example.replace("inputs = [\"web_orders\"]", "inputs = [\"web_order\"]"),
            "error[config.dangling_input] `services.erp.inputs.0`: no component named `web_order`",
        ),
        (
            "its own output as input",
            example.replace(
                "inputs = [\"web_orders\"]",
                "inputs = [\"web_orders\", \"erp.documents\"]",
            ),
            "error[config.dangling_input] `services.erp.inputs.1`: `erp` cannot take its own outputs",
        ),
        (
            "a wrong output",
            example.replace("inputs = [\"erp.products\"]", "inputs = [\"erp.product\"]"),
            "`erp.product` is not an output; `erp` has: erp.customers, erp.documents, erp.price_rules, erp.products, erp.status_changes",
        ),
        (
            "an empty key",
            example.replace("key = \"${ECONNECTEUR_KEY}\"", "key = \"\""),
            "error[config.invalid] `services.erp.key`: the key is empty",
        ),
    ] {
        std::fs::write(dir.path().join("p.toml"), &broken).unwrap();
        let (status, _, stderr) = tradewire(dir.path(), &["validate", "p.toml"], &env);
        assert_eq!(status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: {stderr}");
    }

    // Orders to the ERP and nothing back is a whole pipeline; a service fed nothing and
    // feeding nothing is not.
    let orders_only = "[sources.web_orders]\ntype = \"http\"\naddress = \"127.0.0.1:9\"\npath = \"/orders\"\n\n[services.erp]\ntype = \"econnecteur\"\naddress = \"127.0.0.1:10\"\nkey = \"k\"\n";
    std::fs::write(
        dir.path().join("p.toml"),
        format!("{orders_only}inputs = [\"web_orders\"]\n"),
    )
    .unwrap();
    let (status, _, stderr) = tradewire(dir.path(), &["validate", "p.toml"], &[]);
    assert!(status.success(), "{stderr}");
    std::fs::write(dir.path().join("p.toml"), orders_only).unwrap();
    let (status, _, stderr) = tradewire(dir.path(), &["validate", "p.toml"], &[]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error[config.no_sinks]"), "{stderr}");
    assert!(
        stderr.contains("error[config.unused_component] `sources.web_orders`"),
        "{stderr}"
    );

    // A service that takes no inputs is told so.
    let gateway = std::fs::read_to_string(repo("examples/pipelines/oci-gateway.toml"))
        .unwrap()
        .replace(
            "session_ttl_secs = 14400",
            "session_ttl_secs = 14400\ninputs = [\"punchout.carts\"]",
        );
    std::fs::write(dir.path().join("p.toml"), &gateway).unwrap();
    let (status, _, stderr) = tradewire(
        dir.path(),
        &["validate", "p.toml"],
        &[
            (
                "BUYER01_PASSWORD_HASH",
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$0cbWnJc9ZykS0zYh3pHgwA".to_owned(),
            ),
            ("BUYER01_SECRET", "coyote".to_owned()),
            ("OIS_URL", "http://127.0.0.1:9/".to_owned()),
        ],
    );
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`services.punchout.inputs`: this service takes no `inputs`"),
        "{stderr}"
    );
}

#[test]
fn graph_and_schema_show_the_service() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo("examples/pipelines/shop-orders-to-erp.toml"),
        dir.path().join("p.toml"),
    )
    .unwrap();
    let (status, stdout, stderr) =
        tradewire(dir.path(), &["graph", "p.toml"], &example_env(loopback()));
    assert!(status.success(), "{stderr}");
    for expected in [
        r#""erp" [shape=component, label="erp\n(econnecteur)"];"#,
        r#""web_orders" -> "erp";"#,
        r#""erp" -> "shop_catalogue" [label="products"];"#,
        r#""erp" -> "shop_status" [label="status_changes"];"#,
    ] {
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
    }

    let (status, stdout, stderr) = tradewire(Path::new("."), &["schema", "--pipeline"], &[]);
    assert!(status.success(), "{stderr}");
    let schema: Value = serde_json::from_str(&stdout).unwrap();
    let variants = schema["$defs"]["ServiceConfig"]["oneOf"]
        .as_array()
        .unwrap();
    let econnecteur = variants
        .iter()
        .find(|v| v["properties"]["type"]["const"] == "econnecteur")
        .expect("the econnecteur service in the schema");
    for key in [
        "address",
        "path",
        "key",
        "inputs",
        "state_names",
        "error_status",
    ] {
        assert!(econnecteur["properties"].get(key).is_some(), "{key}");
    }
    // `inputs` is optional on the service, and the gateway has none.
    assert!(
        !econnecteur["required"]
            .as_array()
            .unwrap()
            .contains(&json!("inputs"))
    );
    let gateway = variants
        .iter()
        .find(|v| v["properties"]["type"]["const"] == "oci_gateway")
        .unwrap();
    assert!(gateway["properties"].get("inputs").is_none());
}

/// The example: the shop posts its orders as e-connecteur order XML; e-connecteur takes
/// them; the ERP's product push reaches the shop's catalogue endpoint, the status changes
/// its files.
#[test]
fn the_shop_to_erp_example_runs_end_to_end() {
    let shop = Receiver::start(|_, _| (200, Duration::ZERO));
    let (orders, listen, api) = (loopback(), loopback(), loopback());
    let pipeline =
        std::fs::read_to_string(repo("examples/pipelines/shop-orders-to-erp.toml")).unwrap();
    let mut env = example_env(shop.address);
    env.extend([
        ("TRADEWIRE_API", api.to_string()),
        ("SHOP_LISTEN", orders.to_string()),
        ("ERP_LISTEN", listen.to_string()),
    ]);
    let started = start(&pipeline, api, &env);
    let log = || started.runtime.log();

    let order = sample("order.xml");
    for n in 1..=3 {
        let response = http_exchange(
            orders,
            "POST",
            "/orders",
            &[
                ("Content-Type", "application/xml"),
                ("Idempotency-Key", &format!("shop-order-{n}")),
            ],
            order.as_bytes(),
        )
        .unwrap();
        assert_eq!(response.status, 202, "{}", text(&response));
    }
    let mut ids = Vec::new();
    wait_until("the shop's orders wait for the ERP", log, || {
        ids = texts(&ok(listen, "orders_list", "", &[("filter", "paid")]), "id");
        ids.len() == 3
    });
    for id in &ids {
        let fetched = ok(listen, "orders", "", &[("id", id)]);
        assert_eq!(
            texts(&fetched, "product_reference"),
            ["FAC132"],
            "{fetched}"
        );
        ok(
            listen,
            "set_order_exported",
            "",
            &[("id", id), ("statut_final", "5")],
        );
    }
    assert!(
        texts(
            &ok(listen, "orders_list", "", &[("filter", "created")]),
            "id"
        )
        .is_empty()
    );

    ok(
        listen,
        "add_product",
        &sample("add_product.7-Ajout-produit.xml"),
        &[],
    );
    let received = shop.wait_for(1, Duration::from_secs(20));
    assert_eq!(received.len(), 1, "{}", log());
    assert_eq!(received[0].path, "/api/products");
    let product: Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(
        (&product["contract"], &product["sku"]),
        (&json!("product/v1"), &json!("123456"))
    );
    assert!(received[0].headers.contains_key("idempotency-key"));

    let status = started.dir.path().join("out/status");
    wait_until("the status changes as files", log, || {
        written(&status).len() == 3
    });
    assert!(written(&status).iter().all(|c| c["source_status"] == "5"));
}

/// A document routed to the service that is no order is a dead letter of the service's
/// delivery, as a sink's refusal is; an order is delivered, and `trace` says so.
#[test]
fn what_is_not_an_order_is_dead_lettered_at_the_service() {
    let (orders, listen, api) = (loopback(), loopback(), loopback());
    let started = start(
        &session_pipeline(orders, listen, api),
        api,
        &[("ECONNECTEUR_KEY", KEY.to_owned())],
    );
    let post = |key: &str, body: &Value| {
        let response = http_exchange(
            orders,
            "POST",
            "/orders",
            &[
                ("Content-Type", "application/json"),
                ("Idempotency-Key", key),
            ],
            &serde_json::to_vec(body).unwrap(),
        )
        .unwrap();
        assert_eq!(response.status, 202, "{}", text(&response));
    };
    post(
        "not-an-order",
        &json!({"contract": "product/v1", "sku": "A-1"}),
    );
    post("an-order", &canonical_order("WEB-9", "9"));
    let dir = started.dir.path();
    let tradewire_json = |args: &[&str]| -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let (status, stdout, stderr) = tradewire(dir, &all, &[]);
        assert!(status.success(), "{stderr}");
        serde_json::from_str(&stdout).unwrap()
    };
    let mut letters = Value::Null;
    wait_until(
        "the dead letter",
        || started.runtime.log(),
        || {
            letters = tradewire_json(&["dlq", "list", "--config", "p.toml"]);
            letters.as_array().is_some_and(|l| l.len() == 1)
        },
    );
    assert_eq!(letters[0]["kind"], "undeliverable");
    assert_eq!(letters[0]["component"], "erp");
    assert!(
        letters[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("expected a `order/v1` document, got `product/v1`")),
        "{letters}"
    );
    wait_until(
        "the order waits",
        || started.runtime.log(),
        || texts(&ok(listen, "orders_list", "", &[]), "id").len() == 1,
    );
    let trace = tradewire_json(&["trace", "an-order", "--config", "p.toml"]);
    let delivery = &trace["documents"][0]["deliveries"][0];
    assert_eq!(
        (&delivery["sink"], &delivery["state"]),
        (&json!("erp"), &json!("delivered")),
        "{trace}"
    );
}

/// e-connecteur hanging up mid-call (its timeout, a machine put to sleep) does not stop
/// the call: what it kept is emitted all the same.
#[test]
fn a_call_whose_caller_hangs_up_still_emits_what_it_kept() {
    use std::io::Write as _;
    let (orders, listen, api) = (loopback(), loopback(), loopback());
    let started = start(
        &session_pipeline(orders, listen, api),
        api,
        &[("ECONNECTEUR_KEY", KEY.to_owned())],
    );
    // The real grid: 1,790 rules take the service a while to keep.
    let body = form(&[
        ("key", KEY),
        ("resource", "add_grilles"),
        ("data", &sample("grilles_2.xml")),
    ]);
    let mut stream = std::net::TcpStream::connect(listen).unwrap();
    write!(
        stream,
        "POST /econnecteur HTTP/1.1\r\nHost: {listen}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    // Gone once the call is under way, before its answer.
    std::thread::sleep(Duration::from_millis(30));
    stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop(stream);

    let grids = started.dir.path().join("out/price_rules");
    wait_until(
        "the grid at its sink",
        || started.runtime.log(),
        || written(&grids).len() == 1,
    );
    assert_eq!(written(&grids)[0]["rules"].as_array().unwrap().len(), 1790);
}
