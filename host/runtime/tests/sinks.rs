//! The sinks, each driven through its config as the pipeline loader drives it: HTTP over
//! loopback against a receiver written here, files in a temporary directory, the retry
//! policy, and the configs' checks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "sinks/backoff.rs"]
mod backoff;
#[path = "sinks/config.rs"]
mod config;
#[path = "sinks/file.rs"]
mod file;
#[path = "sinks/http.rs"]
mod http;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tradewire_plugins::Registry;
use tradewire_runtime::sinks::{Delivery, SendOutcome, Sink, SinkConfig};
use tradewire_runtime::{BuildContext, ConfigError};

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::with_builtins)
}

fn context() -> BuildContext<'static> {
    BuildContext {
        registry: registry(),
        base_dir: std::path::Path::new("."),
    }
}

/// A sink's config from its table as JSON (the loader's TOML reaches the same structs).
fn config(kind: &str, table: Value) -> SinkConfig {
    SinkConfig::deserialize_kind(kind, table)
        .unwrap_or_else(|e| panic!("the {kind} sink's table: {e}"))
        .unwrap_or_else(|| panic!("no sink type `{kind}`"))
}

fn build(kind: &str, table: Value) -> Arc<dyn Sink> {
    config(kind, table)
        .build(&context())
        .unwrap_or_else(|errors| panic!("the {kind} sink does not build: {errors:?}"))
}

fn build_errors(kind: &str, table: Value) -> Vec<ConfigError> {
    match config(kind, table).build(&context()) {
        Ok(sink) => panic!("built although it should not: {sink:?}"),
        Err(errors) => errors,
    }
}

/// The error paths, joined with `.`.
fn paths(errors: &[ConfigError]) -> Vec<String> {
    errors.iter().map(|e| e.path.join(".")).collect()
}

async fn deliver(sink: &dyn Sink, document: &str, key: &str, payload: &[u8]) -> SendOutcome {
    sink.deliver(Delivery {
        document,
        key,
        payload,
    })
    .await
}

/// A canonical order, small and complete enough for the sinks that do not encode.
fn order(id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "contract": "order/v1",
        "id": id,
        "delivery_address": { "country": "NL", "city": "Amsterdam" },
        "lines": [{ "sku": "A-1", "quantity": "2" }],
    }))
    .unwrap()
}

fn ois_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../adapters/ois-orders/fixtures/order")
        .join(name)
}

/// Serves `router` on a free loopback port for the rest of the test.
async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}
