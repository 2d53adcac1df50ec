//! A shop's e-connecteur universal webservice standing in for a real one: it reads each
//! call with the `econnecteur` adapter, answers as the spec and the vendor's samples do
//! (the order answers are `tests/conformance/econnecteur/samples/order.xml`, each with its
//! own `commande/reference`), and records what it was asked.

// Each test binary uses part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tradewire_plugins::Registry;
use tradewire_sdk::AdapterInstance;

/// One call as the shop read it: the resource and its canonical request (JSON).
#[derive(Debug, Clone)]
pub struct Call {
    pub resource: String,
    pub request: Value,
}

/// What the shop holds and was asked. Tests change it between calls.
#[derive(Debug, Default)]
pub struct ShopState {
    /// Orders waiting to be exported: id → the `orders` answer.
    pub waiting: BTreeMap<String, String>,
    /// `set_order_exported` calls, in order: (id, `statut_final`).
    pub exported: Vec<(String, Option<String>)>,
    /// The SKUs of the shop's products, in the order they were added.
    pub products: Vec<String>,
    /// Every call, in order.
    pub calls: Vec<Call>,
    /// Resources answered with the error envelope (`<connecteur><error>`) this many more
    /// times.
    pub refuse: HashMap<String, usize>,
    /// Resources answered with this HTTP status this many more times.
    pub fail_with: HashMap<String, (u16, usize)>,
    /// How long an `orders` call takes.
    pub fetch_delay: Duration,
}

impl ShopState {
    /// The resources called, in order.
    pub fn resources(&self) -> Vec<String> {
        self.calls.iter().map(|c| c.resource.clone()).collect()
    }

    /// The calls to `resource`.
    pub fn calls_to(&self, resource: &str) -> Vec<Call> {
        self.calls
            .iter()
            .filter(|c| c.resource == resource)
            .cloned()
            .collect()
    }

    /// The ids marked exported, each once.
    pub fn exported_ids(&self) -> BTreeSet<String> {
        self.exported.iter().map(|(id, _)| id.clone()).collect()
    }
}

/// The `orders` answer for order `id`: the vendor's sample order with the reference
/// `WEB-<id>`.
pub fn order_answer(id: &str) -> String {
    let sample = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/econnecteur/samples/order.xml"),
    )
    .expect("the sample order");
    sample.replacen(
        "<commande>",
        &format!("<commande>\n      <reference>WEB-{id}</reference>"),
        1,
    )
}

/// An `orders` answer the pipeline refuses: its date does not exist.
pub fn order_refused(id: &str) -> String {
    order_answer(id).replace("2017-04-02 18:51:48", "2017-02-30 18:51:48")
}

pub struct Shop {
    pub address: SocketAddr,
    pub state: Arc<Mutex<ShopState>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Shop {
    /// Serves the webservice at `http://<address>/ws.php`, accepting the key `key`.
    pub fn start(key: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the shop");
        let address = listener.local_addr().expect("address");
        let state: Arc<Mutex<ShopState>> = Arc::default();
        let adapter = Arc::new(
            Registry::with_builtins()
                .instantiate("econnecteur", &serde_json::json!({}))
                .expect("the econnecteur adapter"),
        );
        let (shared, key) = (state.clone(), key.to_owned());
        let app = axum::Router::new().route(
            "/ws.php",
            axum::routing::post(move |body: axum::body::Bytes| {
                let (state, adapter, key) = (shared.clone(), adapter.clone(), key.clone());
                async move { answer(&state, &adapter, &key, &body).await }
            }),
        );
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            state,
            runtime: Some(runtime),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/ws.php", self.address)
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut ShopState) -> T) -> T {
        f(&mut self.state.lock().expect("lock"))
    }

    /// Waits until `done` holds of the state, up to `timeout`; whether it did.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&ShopState) -> bool) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.with(|s| done(s)) {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn envelope(
    inner: &str,
) -> (
    axum::http::StatusCode,
    [(&'static str, &'static str); 1],
    String,
) {
    (
        axum::http::StatusCode::OK,
        [("content-type", "application/xml")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<connecteur>{inner}</connecteur>\n"),
    )
}

fn text(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn answer(
    state: &Mutex<ShopState>,
    adapter: &AdapterInstance,
    key: &str,
    body: &[u8],
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let request: Value = match adapter.decode("request", body) {
        Ok(reply) => serde_json::from_slice(&reply.bytes).expect("canonical JSON"),
        Err(e) => {
            return envelope(&format!("<error>{}</error>", text(&e.to_string()))).into_response();
        }
    };
    let resource = resource_of(&request);
    if request["credential"].as_str() != Some(key) {
        return envelope("<error>wrong key</error>").into_response();
    }
    let delay = {
        let mut s = state.lock().expect("lock");
        s.calls.push(Call {
            resource: resource.clone(),
            request: request.clone(),
        });
        if let Some((status, left)) = s.fail_with.get_mut(&resource)
            && *left > 0
        {
            *left -= 1;
            let status = axum::http::StatusCode::from_u16(*status).expect("a status");
            return (status, "unavailable").into_response();
        }
        if let Some(left) = s.refuse.get_mut(&resource)
            && *left > 0
        {
            *left -= 1;
            return envelope("<error>refused by the test</error>").into_response();
        }
        if resource == "orders" {
            s.fetch_delay
        } else {
            Duration::ZERO
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let operation = &request["operation"];
    let mut s = state.lock().expect("lock");
    let reply = match resource.as_str() {
        "orders_list" => {
            let entries: String = s
                .waiting
                .keys()
                .map(|id| format!("<order><id>{id}</id><current_state>1</current_state></order>"))
                .collect();
            envelope(&format!("<orders_list>{entries}</orders_list>"))
        }
        "orders" => {
            let id = operation["order_id"].as_str().unwrap_or_default();
            match s.waiting.get(id) {
                Some(answer) => (
                    axum::http::StatusCode::OK,
                    [("content-type", "application/xml")],
                    answer.clone(),
                ),
                None => envelope(&format!("<error>no order {}</error>", text(id))),
            }
        }
        "set_order_exported" => {
            let id = operation["order_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let status = operation["final_status"].as_str().map(str::to_owned);
            if s.waiting.remove(&id).is_none() {
                return envelope(&format!("<error>no order {}</error>", text(&id))).into_response();
            }
            s.exported.push((id.clone(), status.clone()));
            envelope(&format!(
                "<set_order_exported><id>{}</id><statut_final>{}</statut_final></set_order_exported>",
                text(&id),
                text(status.as_deref().unwrap_or(""))
            ))
        }
        "products_list" => {
            let offset = operation["offset"].as_u64().unwrap_or(0) as usize;
            let count = operation["count"]
                .as_u64()
                .map_or(usize::MAX, |c| c as usize);
            let entries: String = s
                .products
                .iter()
                .enumerate()
                .skip(offset)
                .take(count)
                .map(|(i, sku)| {
                    format!(
                        "<product><id>{}</id><reference>{}</reference></product>",
                        i + 1,
                        text(sku)
                    )
                })
                .collect();
            envelope(&format!("<products_list>{entries}</products_list>"))
        }
        "add_product" | "update_product" => {
            let sku = operation["product"]["sku"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let exists = s.products.contains(&sku);
            match (resource.as_str(), exists) {
                ("add_product", true) => envelope("<error>the product already exists</error>"),
                ("update_product", false) => envelope("<error>no such product</error>"),
                ("add_product", false) => {
                    s.products.push(sku);
                    envelope("<add_product/>")
                }
                _ => envelope("<update_product/>"),
            }
        }
        "add_customer" => envelope("<add_customer/>"),
        "add_grilles" => envelope("<add_grilles/>"),
        other => envelope(&format!(
            "<error>the test shop does not serve {other}</error>"
        )),
    };
    reply.into_response()
}

/// The `resource` of a canonical request.
fn resource_of(request: &Value) -> String {
    match request["operation"]["type"].as_str().unwrap_or_default() {
        "list_products" => "products_list",
        "list_options" => "options_list",
        "update_product" => "update_product",
        "add_product" => "add_product",
        "list_orders" => "orders_list",
        "get_order" => "orders",
        "set_order_exported" => "set_order_exported",
        "upsert_customers" => "add_customer",
        "upsert_price_rules" => "add_grilles",
        other => other,
    }
    .to_owned()
}
