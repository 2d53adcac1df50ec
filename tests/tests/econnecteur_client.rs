//! Tradewire calling a shop's e-connecteur webservice, as the e-connecteur program does:
//! the `econnecteur_poll` source takes orders (`orders_list`, `orders`, then
//! `set_order_exported` once committed), and the `econnecteur` sink pushes products,
//! customers and price grids. Each test runs the real `tradewire run` against a test
//! webservice on loopback (`support/shop.rs`).

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/runtime.rs"]
mod runtime;
#[path = "support/shop.rs"]
mod shop;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use runtime::{Runtime, http_request, loopback, tradewire};
use serde_json::{Value, json};
use shop::{Shop, order_answer, order_refused};

const KEY: &str = "s3cret-shop-key";

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The pipeline's dead letters, as `tradewire dlq list` prints them.
fn dead_letters(dir: &Path) -> Vec<Value> {
    let (status, stdout, stderr) = tradewire(
        dir,
        &["--format", "json", "dlq", "list", "--config", "p.toml"],
        &[("SHOP_KEY", KEY.to_owned())],
    );
    assert!(status.success(), "{stderr}");
    json_of(&stdout).as_array().cloned().unwrap_or_default()
}

/// The `commande/reference` of every order the file sink wrote.
fn references_written(out: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut references: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| {
            let order = json_of(&std::fs::read_to_string(e.path()).unwrap());
            order["reference"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    references.sort();
    references
}

fn poll_pipeline(shop: &Shop, api: std::net::SocketAddr, extra: &str) -> String {
    format!(
        r#"
[store]
path = "store.db"

[api]
address = "{api}"

[sources.shop]
type = "econnecteur_poll"
url = "{url}"
key = "${{SHOP_KEY}}"
filter = ["1", "2"]
final_status = "4"
interval_secs = 0.05
{extra}

[sinks.files]
type = "file"
inputs = ["shop"]
path = "out/{{{{id}}}}.json"
"#,
        url = shop.url()
    )
}

#[test]
fn orders_are_pulled_once_marked_after_the_commit_and_a_refused_one_is_kept() {
    let shop = Shop::start(KEY);
    shop.with(|s| {
        for id in ["101", "102", "103"] {
            s.waiting.insert(id.to_owned(), order_answer(id));
        }
        s.waiting.insert("104".to_owned(), order_refused("104"));
    });
    let dir = tempfile::tempdir().unwrap();
    let api = loopback();
    std::fs::write(dir.path().join("p.toml"), poll_pipeline(&shop, api, "")).unwrap();
    let env = [("SHOP_KEY", KEY.to_owned())];
    let mut runtime = Runtime::start(dir.path(), &dir.path().join("p.toml"), api, &env);

    let all_marked = |s: &shop::ShopState| s.exported.len() >= 3;
    assert!(
        shop.wait_until(Duration::from_secs(20), all_marked),
        "{}",
        runtime.log()
    );
    // Several more rounds: the refused order is fetched again, and kept once.
    let rounds = shop.with(|s| s.calls_to("orders_list").len());
    assert!(shop.wait_until(Duration::from_secs(10), |s| {
        s.calls_to("orders_list").len() >= rounds + 5
    }));
    runtime.kill();

    shop.with(|s| {
        assert_eq!(
            s.exported,
            ["101", "102", "103"].map(|id| (id.to_owned(), Some("4".to_owned()))),
            "each marked once, with the configured final status"
        );
        let fetched: Vec<String> = s
            .calls_to("orders")
            .iter()
            .map(|c| {
                c.request["operation"]["order_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .filter(|id| id != "104")
            .collect();
        assert_eq!(fetched, ["101", "102", "103"], "each fetched once");
        assert_eq!(
            s.calls_to("orders_list")[0].request["operation"]["states"],
            json!(["1", "2"])
        );
        assert!(
            s.waiting.contains_key("104"),
            "the refused order still waits"
        );
    });
    let written = references_written(&dir.path().join("out"));
    assert_eq!(written, ["WEB-101", "WEB-102", "WEB-103"]);

    // Marked only after the commit: each marked order is in the store under its id.
    for id in ["101", "102", "103"] {
        let (status, stdout, stderr) = tradewire(
            dir.path(),
            &["--format", "json", "trace", id, "--config", "p.toml"],
            &env,
        );
        assert!(status.success(), "{stderr}");
        assert_eq!(json_of(&stdout)["documents"].as_array().unwrap().len(), 1);
    }
    let letters = dead_letters(dir.path());
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["kind"], "refused");
    assert_eq!(letters[0]["key"], "104");
    assert!(
        letters[0]["reason"]
            .as_str()
            .unwrap()
            .contains("2017-02-30"),
        "{letters:?}"
    );

    // A restart neither takes anything again nor keeps the refused order twice.
    runtime.restart();
    let rounds = shop.with(|s| s.calls_to("orders_list").len());
    assert!(shop.wait_until(Duration::from_secs(10), |s| {
        s.calls_to("orders_list").len() >= rounds + 3
    }));
    runtime.kill();
    assert_eq!(dead_letters(dir.path()).len(), 1);
    assert_eq!(shop.with(|s| s.exported.len()), 3);
    assert_eq!(references_written(&dir.path().join("out")).len(), 3);
    assert!(!runtime.log().contains(KEY), "the key reached the log");
}

fn push_pipeline(shop: &Shop, listen: std::net::SocketAddr, api: std::net::SocketAddr) -> String {
    format!(
        r#"
[store]
path = "store.db"

[api]
address = "{api}"

[sources.catalogue]
type = "http"
address = "{listen}"
path = "/push"

[sinks.shop]
type = "econnecteur"
inputs = ["catalogue"]
url = "{url}"
key = "${{SHOP_KEY}}"
page_size = 2
concurrency = 1
retry = {{ max_attempts = 5, initial_backoff_secs = 0.05, max_backoff_secs = 0.1 }}
"#,
        url = shop.url()
    )
}

fn post(listen: std::net::SocketAddr, key: &str, document: &Value) {
    let body = serde_json::to_vec(document).unwrap();
    let (status, answer) = http_request(
        listen,
        "POST",
        "/push",
        &[
            ("Idempotency-Key", key),
            ("Content-Type", "application/json"),
        ],
        &body,
    )
    .unwrap();
    assert_eq!(status, 202, "{answer}");
}

fn product(sku: &str, name: &str) -> Value {
    json!({"contract": "product/v1", "sku": sku, "text": {"name": name}})
}

#[test]
fn products_go_as_add_or_update_as_the_shop_has_them_and_refusals_are_classified() {
    let shop = Shop::start(KEY);
    shop.with(|s| s.products = vec!["A-1".into(), "A-2".into(), "A-3".into()]);
    let dir = tempfile::tempdir().unwrap();
    let (listen, api) = (loopback(), loopback());
    std::fs::write(dir.path().join("p.toml"), push_pipeline(&shop, listen, api)).unwrap();
    let env = [("SHOP_KEY", KEY.to_owned())];
    let runtime = Runtime::start(dir.path(), &dir.path().join("p.toml"), api, &env);
    let pushes = |s: &shop::ShopState| -> Vec<(String, String)> {
        s.calls
            .iter()
            .filter(|c| c.resource.ends_with("_product"))
            .map(|c| {
                let sku = c.request["operation"]["product"]["sku"].as_str().unwrap();
                (c.resource.clone(), sku.to_owned())
            })
            .collect()
    };
    let wait_pushes = |n: usize| {
        assert!(
            shop.wait_until(Duration::from_secs(20), |s| pushes(s).len() >= n),
            "{}",
            runtime.log()
        );
    };

    // Known to the shop (on its second page of two): updated; unknown: added.
    post(listen, "p1", &product("A-3", "Known"));
    wait_pushes(1);
    post(listen, "p2", &product("B-1", "New"));
    wait_pushes(2);
    // Added by this sink, so known now without reading the list again.
    post(listen, "p3", &product("B-1", "New, renamed"));
    wait_pushes(3);
    let lists = shop.with(|s| s.calls_to("products_list"));
    assert_eq!(lists.len(), 2, "two pages of two, read once");
    assert_eq!(
        lists[1].request["operation"],
        json!({"type": "list_products", "offset": 2, "count": 2})
    );

    // Added in the shop behind the sink's back: the add is refused, a fresh list says
    // why, and the product is updated.
    shop.with(|s| s.products.push("C-1".into()));
    post(listen, "p4", &product("C-1", "Stale"));
    wait_pushes(5);
    assert_eq!(
        shop.with(|s| pushes(s)),
        [
            ("update_product", "A-3"),
            ("add_product", "B-1"),
            ("update_product", "B-1"),
            ("add_product", "C-1"),
            ("update_product", "C-1"),
        ]
        .map(|(r, s)| (r.to_owned(), s.to_owned()))
    );

    // An error envelope the product list does not explain is permanent: a dead letter
    // after one attempt.
    shop.with(|s| s.refuse.insert("add_customer".into(), 1));
    post(
        listen,
        "c1",
        &json!({"contract": "customer-list/v1", "customers": [{"id": "C1", "last_name": "Dupont"}]}),
    );
    // A 503 is temporary: retried until it passes.
    shop.with(|s| s.fail_with.insert("add_grilles".into(), (503, 2)));
    post(
        listen,
        "g1",
        &json!({"contract": "price-list/v1", "rules": [{"id": "G1", "product_sku": "A-1",
            "min_quantity": "1", "adjustment": {"type": "fixed_price", "value": "10.00"}}]}),
    );
    assert!(shop.wait_until(Duration::from_secs(20), |s| {
        s.calls_to("add_grilles").len() == 3
    }));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let letters = loop {
        let letters = dead_letters(dir.path());
        if !letters.is_empty() || std::time::Instant::now() > deadline {
            break letters;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["kind"], "undeliverable");
    assert!(
        letters[0]["reason"]
            .as_str()
            .unwrap()
            .contains("refused by the test"),
        "{letters:?}"
    );
    assert_eq!(shop.with(|s| s.calls_to("add_customer").len()), 1);
    // A canonical document the shop has no resource for is refused at the sink too.
    post(listen, "o1", &runtime::canonical_order("not-for-the-shop"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while dead_letters(dir.path()).len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let letters = dead_letters(dir.path());
    assert!(
        letters[1]["reason"]
            .as_str()
            .unwrap()
            .contains("this is order/v1"),
        "{letters:?}"
    );
    assert!(!runtime.log().contains(KEY));
    let keys: BTreeSet<String> = shop.with(|s| {
        s.calls
            .iter()
            .map(|c| {
                c.request["credential"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    });
    assert_eq!(keys, BTreeSet::from([KEY.to_owned()]));
}

#[test]
fn the_poller_killed_mid_batch_loses_nothing_and_takes_nothing_twice() {
    const ORDERS: usize = 200;
    let shop = Shop::start(KEY);
    shop.with(|s| {
        for n in 0..ORDERS {
            let id = format!("{}", 5000 + n);
            s.waiting.insert(id.clone(), order_answer(&id));
        }
        s.fetch_delay = Duration::from_millis(10);
    });
    let dir = tempfile::tempdir().unwrap();
    let api = loopback();
    std::fs::write(
        dir.path().join("p.toml"),
        poll_pipeline(&shop, api, "page_size = 25"),
    )
    .unwrap();
    let env = [("SHOP_KEY", KEY.to_owned())];
    let mut runtime = Runtime::start(dir.path(), &dir.path().join("p.toml"), api, &env);
    let mut kills = 0;
    while kills < 10 && shop.with(|s| !s.waiting.is_empty()) {
        // Kill at varied points of a batch: mid-fetch, between commit and marking.
        std::thread::sleep(Duration::from_millis(50 + 29 * kills));
        runtime.restart();
        kills += 1;
    }
    assert!(
        shop.wait_until(Duration::from_secs(60), |s| s.waiting.is_empty()),
        "{}",
        runtime.log()
    );
    // Let the file sink finish what was committed.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while references_written(&dir.path().join("out")).len() < ORDERS
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    runtime.kill();
    let written = references_written(&dir.path().join("out"));
    let unique: BTreeSet<&String> = written.iter().collect();
    let (fetches, marks) = shop.with(|s| (s.calls_to("orders").len(), s.exported.len()));
    println!(
        "kills: {kills}; orders: {ORDERS}; fetched: {fetches}; marked exported: {marks}; \
         written: {}; distinct: {}",
        written.len(),
        unique.len()
    );
    assert!(kills >= 5, "the batch ended before the kills ({kills})");
    assert_eq!(marks, ORDERS, "every order marked exported once");
    assert_eq!(unique.len(), ORDERS, "no order lost");
    assert_eq!(written.len(), ORDERS, "no order taken twice");
    assert!(dead_letters(dir.path()).is_empty());
}
