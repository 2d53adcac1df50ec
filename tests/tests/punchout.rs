//! The `oci_gateway` service end to end: the real `tradewire` binary, a real SQLite file,
//! loopback HTTP. Logins (GET and POST, both seed URL styles), the cart back once per
//! session, the cXML order, the refusals, `tradewire sessions`, and the example pipeline.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/runtime.rs"]
mod runtime;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use runtime::{HttpResponse, Receiver, Runtime, http_exchange, http_get, loopback, tradewire};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";
const SECRET: &str = "coyote";
const HOOK: &str = "https://srm.example.com/sap/bc/hook?sap-client=100";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A running gateway: the example pipeline, or one written for a test.
struct Gateway {
    dir: tempfile::TempDir,
    /// The pipeline file's name in `dir`.
    pipeline: String,
    /// The variables it was started with, for the commands beside it.
    env: Vec<(&'static str, String)>,
    runtime: Runtime,
    listen: SocketAddr,
    ois: Receiver,
}

impl Gateway {
    /// `examples/pipelines/oci-gateway.toml`, its OIS sink at a local receiver.
    fn example() -> Self {
        let text = std::fs::read_to_string(repo("examples/pipelines/oci-gateway.toml"))
            .expect("the example pipeline");
        Self::start("oci-gateway.toml", &text, &[])
    }

    fn start(name: &str, text: &str, extra_env: &[(&'static str, String)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(name), text).expect("write the pipeline");
        let ois = Receiver::start(|_, _| (200, Duration::ZERO));
        let (listen, api) = (loopback(), loopback());
        let mut env = vec![
            ("TRADEWIRE_LISTEN", listen.to_string()),
            ("TRADEWIRE_API", api.to_string()),
            ("BUYER01_PASSWORD_HASH", runtime::hash_password(PASSWORD)),
            ("BUYER01_SECRET", SECRET.to_owned()),
            ("OIS_URL", format!("http://{}/v1/Orders", ois.address)),
        ];
        env.extend(extra_env.iter().cloned());
        let runtime = Runtime::start(dir.path(), Path::new(name), api, &env);
        Self {
            dir,
            pipeline: name.to_owned(),
            env,
            runtime,
            listen,
            ois,
        }
    }

    fn get(&self, path_and_query: &str) -> HttpResponse {
        http_exchange(self.listen, "GET", path_and_query, &[], b"").expect("the gateway answers")
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> HttpResponse {
        http_exchange(
            self.listen,
            "POST",
            path,
            &[("Content-Type", content_type)],
            body,
        )
        .expect("the gateway answers")
    }

    /// Logs in by GET on `path` with `params`; the response.
    fn login_get(&self, path: &str, params: &[(&str, &str)]) -> HttpResponse {
        self.get(&format!("{path}?{}", query(params)))
    }

    /// Logs in as buyer01 and returns the session token from the shop URL.
    fn open_session(&self) -> String {
        let response = self.login_get(
            "/login",
            &[
                ("username", "buyer01"),
                ("password", PASSWORD),
                ("hook_url", HOOK),
            ],
        );
        assert_eq!(response.status, 303, "{}", text(&response));
        token_of(&response)
    }

    /// `tradewire ARGS --config PIPELINE` (`sessions`, `trace`) beside the running gateway.
    fn tradewire(&self, args: &[&str]) -> (bool, String, String) {
        let mut args = args.to_vec();
        args.extend(["--config", self.pipeline.as_str()]);
        let (status, stdout, stderr) = tradewire(self.dir.path(), &args, &self.env);
        (status.success(), stdout, stderr)
    }

    fn metrics(&self) -> String {
        http_get(self.runtime.api, "/metrics").unwrap_or_default()
    }
}

fn query(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn text(response: &HttpResponse) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

/// The token in a login's redirect to the shop.
fn token_of(response: &HttpResponse) -> String {
    let location = response.headers.get("location").expect("a Location");
    let token = location
        .split_once("session=")
        .map(|(_, t)| t.to_owned())
        .expect("the shop URL carries the session");
    assert_eq!(token.len(), 64, "256 bits in hex: {token}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    token
}

/// A cart with accented text.
fn accented_cart() -> Value {
    json!({
        "contract": "order/v1",
        "kind": "cart",
        "currency": "EUR",
        "lines": [
            {"kind": "article", "sku": "GR-XL", "product_id": "1001", "description": "Größe XL",
             "quantity": "2", "unit": "PCE", "unit_price": {"net": "12.5"}, "vat_rate": "21"},
            {"kind": "article", "sku": "CR-1", "product_id": "1002", "description": "Crème brûlée Ø 12 cm",
             "quantity": "1", "unit": "PCE", "unit_price": {"net": "3.9"}, "vat_rate": "6"},
        ],
        "extensions": {"oci.hook_url": "https://attacker.example/steal"},
    })
}

fn order_request(secret: &str) -> Vec<u8> {
    std::fs::read_to_string(repo("tests/conformance/cxml/samples/OrderRequest.xml"))
        .expect("the sample order")
        .replace(
            "<SharedSecret>coyote</SharedSecret>",
            &format!("<SharedSecret>{secret}</SharedSecret>"),
        )
        .into_bytes()
}

/// Whether the gateway's store files (the example's `oci-gateway.db`) hold `bytes`.
fn store_holds(gateway: &Gateway, bytes: &[u8]) -> bool {
    ["oci-gateway.db", "oci-gateway.db-wal"].iter().any(|file| {
        std::fs::read(gateway.dir.path().join(file))
            .unwrap_or_default()
            .windows(bytes.len())
            .any(|w| w == bytes)
    })
}

fn wait_until<T>(what: &str, mut ready: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = ready() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn validate_names_a_misspelt_service_key_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("examples/pipelines/oci-gateway.toml"))
        .unwrap()
        .replace("session_ttl_secs = 14400", "session_ttl = 14400");
    std::fs::write(dir.path().join("p.toml"), &text).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("session_ttl ="))
        .unwrap()
        + 1;
    let env = [
        ("BUYER01_PASSWORD_HASH", runtime::hash_password(PASSWORD)),
        ("BUYER01_SECRET", SECRET.to_owned()),
        ("OIS_URL", "http://127.0.0.1:9/".to_owned()),
    ];
    let (status, _, stderr) = tradewire(dir.path(), &["validate", "p.toml"], &env);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "p.toml:{line}:1: error[config.unknown_key] `services.punchout.session_ttl`"
        )),
        "{stderr}"
    );

    // A service's output that names no output, and a wrong account, are named too.
    let text = std::fs::read_to_string(repo("examples/pipelines/oci-gateway.toml"))
        .unwrap()
        .replace(
            "inputs = [\"punchout.carts\"]",
            "inputs = [\"punchout.cart\"]",
        )
        .replace("https://srm.example.com/*", "https://*/*");
    std::fs::write(dir.path().join("p.toml"), &text).unwrap();
    let (status, _, stderr) = tradewire(dir.path(), &["validate", "p.toml"], &env);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`services.punchout.accounts.0.hook_urls.0`"),
        "{stderr}"
    );

    let text = std::fs::read_to_string(repo("examples/pipelines/oci-gateway.toml"))
        .unwrap()
        .replace(
            "inputs = [\"punchout.carts\"]",
            "inputs = [\"punchout.cart\"]",
        );
    std::fs::write(dir.path().join("p.toml"), &text).unwrap();
    let (status, _, stderr) = tradewire(dir.path(), &["validate", "p.toml"], &env);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error[config.dangling_input] `sinks.cart_archive.inputs.0`: `punchout.cart` is not an output; `punchout` has: punchout.carts, punchout.orders"),
        "{stderr}"
    );
}

#[test]
fn validate_refuses_a_service_on_an_address_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("examples/pipelines/oci-gateway.toml"))
        .unwrap()
        .replace(
            "address = \"${TRADEWIRE_LISTEN:-127.0.0.1:8090}\"",
            "address = \"127.0.0.1:8686\"",
        );
    std::fs::write(dir.path().join("p.toml"), &text).unwrap();
    let env = [
        ("BUYER01_PASSWORD_HASH", runtime::hash_password(PASSWORD)),
        ("BUYER01_SECRET", SECRET.to_owned()),
        ("OIS_URL", "http://127.0.0.1:9/".to_owned()),
    ];
    let (status, _, stderr) = tradewire(dir.path(), &["validate", "p.toml"], &env);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        // The address came from a variable's default: diagnostics show the variable.
        stderr.contains("error[config.address_in_use] `api.address`: ${TRADEWIRE_API} is also `services.punchout.address`"),
        "{stderr}"
    );
}

#[test]
fn graph_shows_the_service_and_its_outputs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo("examples/pipelines/oci-gateway.toml"),
        dir.path().join("p.toml"),
    )
    .unwrap();
    let env = [
        ("BUYER01_PASSWORD_HASH", runtime::hash_password(PASSWORD)),
        ("BUYER01_SECRET", SECRET.to_owned()),
        ("OIS_URL", "http://127.0.0.1:9/".to_owned()),
    ];
    let (status, stdout, stderr) = tradewire(dir.path(), &["graph", "p.toml"], &env);
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.contains(r#""punchout" [shape=component, label="punchout\n(oci_gateway)"];"#),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#""punchout" -> "cart_archive" [label="carts"];"#),
        "{stdout}"
    );
    assert!(
        stdout.contains(r#""punchout" -> "for_erp" [label="orders"];"#),
        "{stdout}"
    );
}

/// The example pipeline: a login, the shop's cart back through the browser's button,
/// archived as a file; the cXML order as OIS JSON at the ERP.
#[test]
fn the_gateway_example_runs_end_to_end() {
    let gateway = Gateway::example();

    // shoxl's seed URL style, by GET; the browser goes on to the shop with its session.
    let response = gateway.login_get(
        "/ocihome",
        &[
            ("username", "buyer01"),
            ("password", PASSWORD),
            ("hook_url", HOOK),
        ],
    );
    assert_eq!(response.status, 303, "{}", text(&response));
    let location = &response.headers["location"];
    assert!(
        location.starts_with("http://127.0.0.1:8000/punchout/start?session="),
        "{location}"
    );
    let token = token_of(&response);

    // The shop's "return to procurement system" button: a form with the session and cart.
    let cart = accented_cart().to_string();
    let form = query(&[("session", &token), ("cart", &cart)]);
    let page = gateway.post(
        "/cart",
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    );
    assert_eq!(page.status, 200, "{}", text(&page));
    assert_eq!(
        page.headers["content-type"],
        "text/html; charset=ISO-8859-1"
    );
    // The account's charset, ISO-8859-1 (read as windows-1252, as browsers do).
    for accented in ["Größe", "Crème", "Ø"] {
        let latin1: Vec<u8> = accented.chars().map(|c| c as u8).collect();
        assert!(
            page.body
                .windows(latin1.len())
                .any(|w| w == latin1.as_slice()),
            "{accented} in ISO-8859-1"
        );
    }
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains(r#"action="https://srm.example.com/sap/bc/hook""#),
        "{html}"
    );
    assert!(
        !html.contains("attacker"),
        "the session decides where the cart goes: {html}"
    );

    // Committed before the page was sent: `trace` finds it by the session at once.
    let (ok, sessions, _) = gateway.tradewire(&["--format", "json", "sessions", "list"]);
    assert!(ok);
    let sessions: Value = serde_json::from_str(&sessions).unwrap();
    let session = &sessions[0];
    assert_eq!(session["state"], "returned", "{sessions}");
    let session_id = session["id"].as_str().unwrap();
    let (ok, trace, stderr) = gateway.tradewire(&["--format", "json", "trace", session_id]);
    assert!(ok, "{stderr}");
    let trace: Value = serde_json::from_str(&trace).unwrap();
    assert_eq!(trace["documents"][0]["source"], "punchout.carts", "{trace}");
    let archived = gateway.dir.path().join("carts");
    let file = wait_until("the archived cart", || {
        std::fs::read_dir(&archived)
            .ok()?
            .flatten()
            .next()
            .map(|e| e.path())
    });
    let archived: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    assert_eq!(archived["lines"][0]["description"], "Größe XL");

    // `/health` lists the service.
    let health = http_get(gateway.runtime.api, "/health").expect("healthy");
    assert!(
        health.contains("\"punchout\"") && health.contains("service"),
        "{health}"
    );

    // Support staff see the session without a secret.
    let (ok, listed, _) = gateway.tradewire(&["sessions", "list"]);
    assert!(ok);
    assert!(
        listed.contains(session_id) && listed.contains("buyer01") && listed.contains("returned"),
        "{listed}"
    );
    let (ok, shown, _) = gateway.tradewire(&["sessions", "show", session_id]);
    assert!(ok);
    assert!(
        shown.contains("hook_url: https://srm.example.com/sap/bc/hook?sap-client=100"),
        "{shown}"
    );
    assert!(shown.contains("charset: ISO-8859-1"), "{shown}");
    let (ok, _, stderr) = gateway.tradewire(&["sessions", "show", "no-such-session"]);
    assert!(!ok);
    assert!(stderr.contains("no session no-such-session"), "{stderr}");
    for out in [&listed, &shown] {
        assert!(!out.contains(PASSWORD) && !out.contains(&token), "{out}");
    }
    // Nor does the store file hold the token or the password.
    assert!(!store_holds(&gateway, token.as_bytes()));
    assert!(!store_holds(&gateway, PASSWORD.as_bytes()));

    // The approved order: cXML in, committed, a cXML Response 200 out; OIS JSON to the ERP.
    let first = gateway.post("/cxml/order", "text/xml", &order_request(SECRET));
    assert!((200..300).contains(&first.status), "{}", text(&first));
    assert!(
        text(&first).contains(r#"<Status code="200""#),
        "{}",
        text(&first)
    );
    let again = gateway.post("/cxml/order", "text/xml", &order_request(SECRET));
    assert_eq!(
        (again.status, &again.body),
        (first.status, &first.body),
        "a repeated payloadID answers as the first time"
    );
    let delivered = gateway.ois.wait_for(1, Duration::from_secs(30));
    assert_eq!(delivered.len(), 1);
    let ois: Value = serde_json::from_slice(&delivered[0].body).expect("OIS JSON");
    assert!(ois.to_string().contains("DO1234"), "{ois}");
    assert!(
        gateway
            .metrics()
            .contains("tradewire_punchout_orders_total")
    );

    // The order was kept without its shared secret.
    let (ok, trace, _) = gateway.tradewire(&["trace", "1625586002.193314.7293@dev"]);
    assert!(ok);
    assert!(trace.contains("punchout.orders"), "{trace}");
    let (_, trace, _) =
        gateway.tradewire(&["--format", "json", "trace", "1625586002.193314.7293@dev"]);
    assert!(
        trace.contains("<SharedSecret>***</SharedSecret>"),
        "{trace}"
    );
    assert!(!store_holds(&gateway, SECRET.as_bytes()));

    // SIGTERM: the service stops with the sources, and the process exits 0.
    let mut gateway = gateway;
    let (status, _) = gateway.runtime.terminate(Duration::from_secs(10));
    assert_eq!(
        status.map(|s| s.success()),
        Some(true),
        "{}",
        gateway.runtime.log()
    );
}

#[test]
fn logins_by_get_and_post_on_every_path_open_sessions() {
    let gateway = Gateway::example();
    let params = [
        ("username", "buyer01"),
        ("password", PASSWORD),
        ("hook_url", HOOK),
        ("returntarget", "_parent"),
        ("http_content_charset", "UTF-8"),
        ("language", "nl"),
        ("~OkCode", "ADDI"),
        ("~TARGET", "_top"),
        ("~CALLER", "CTLG"),
        ("OCI_VERSION", "5.0"),
    ];
    let mut tokens = Vec::new();
    for path in ["/login", "/ocihome"] {
        let by_get = gateway.login_get(path, &params);
        assert_eq!(by_get.status, 303, "{path}: {}", text(&by_get));
        tokens.push(token_of(&by_get));
        let by_post = gateway.post(
            path,
            "application/x-www-form-urlencoded",
            query(&params).as_bytes(),
        );
        assert_eq!(by_post.status, 303, "{path}: {}", text(&by_post));
        tokens.push(token_of(&by_post));
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 4, "every login its own session");

    // The session's fields come back with its cart: target, charset, SAP echo fields.
    let page = gateway.post(
        &format!("/cart?session={}", tokens[0]),
        "application/json",
        accented_cart().to_string().as_bytes(),
    );
    assert_eq!(page.status, 200, "{}", text(&page));
    assert_eq!(page.headers["content-type"], "text/html; charset=UTF-8");
    let html = text(&page);
    for expected in [
        r#"target="_parent""#,
        r#"accept-charset="UTF-8""#,
        r#"name="~OkCode" value="ADDI""#,
        r#"name="~CALLER" value="CTLG""#,
        r#"name="sap-client" value="100""#,
        "Größe XL",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
}

#[test]
fn failed_logins_never_say_which_and_repeated_ones_slow_down() {
    let text_of_pipeline = std::fs::read_to_string(repo("examples/pipelines/oci-gateway.toml"))
        .unwrap()
        .replace(
            "session_ttl_secs = 14400",
            "session_ttl_secs = 14400\nlogin_throttle = { free_failures = 3 }",
        );
    let gateway = Gateway::start("p.toml", &text_of_pipeline, &[]);
    let wrong_password = gateway.login_get(
        "/login",
        &[
            ("username", "buyer01"),
            ("password", "wrong"),
            ("hook_url", HOOK),
        ],
    );
    let unknown_user = gateway.login_get(
        "/login",
        &[
            ("username", "nobody"),
            ("password", PASSWORD),
            ("hook_url", HOOK),
        ],
    );
    assert_eq!(wrong_password.status, 401);
    assert_eq!(
        (wrong_password.status, &wrong_password.body),
        (unknown_user.status, &unknown_user.body),
        "the same answer for a wrong password and an unknown user"
    );
    assert!(text(&wrong_password).contains("The username or password is not right."));
    assert!(gateway.metrics().contains(r#"tradewire_punchout_login_failures_total{component="punchout",reason="credentials"} 2"#), "{}", gateway.metrics());

    // buyer01's third failure; then even the right password waits.
    let third = gateway.login_get(
        "/login",
        &[
            ("username", "buyer01"),
            ("password", "wrong again"),
            ("hook_url", HOOK),
        ],
    );
    assert_eq!(third.status, 401);
    let fourth = gateway.login_get(
        "/login",
        &[
            ("username", "buyer01"),
            ("password", "still wrong"),
            ("hook_url", HOOK),
        ],
    );
    assert_eq!(fourth.status, 401);
    let throttled = gateway.login_get(
        "/login",
        &[
            ("username", "buyer01"),
            ("password", PASSWORD),
            ("hook_url", HOOK),
        ],
    );
    assert_eq!(throttled.status, 429, "{}", text(&throttled));
    assert!(throttled.headers.contains_key("retry-after"));
    assert!(
        gateway.metrics().contains(r#"reason="throttled"} 1"#),
        "{}",
        gateway.metrics()
    );
}

#[test]
fn a_hook_url_off_the_allow_list_is_refused_and_script_in_fields_is_escaped() {
    let gateway = Gateway::example();
    let off_list = gateway.login_get(
        "/login",
        &[
            ("username", "buyer01"),
            ("password", PASSWORD),
            (
                "hook_url",
                "https://srm.example.com.evil.example/<script>alert(1)</script>",
            ),
        ],
    );
    assert_eq!(off_list.status, 403, "{}", text(&off_list));
    let html = text(&off_list);
    assert!(html.contains("may not go to the hook_url"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "{html}");

    // A login the adapter refuses is answered with its diagnostics, escaped.
    let unreadable = gateway.login_get(
        "/login",
        &[
            ("username", "<script>alert(2)</script>"),
            ("password", PASSWORD),
            ("hook_url", "javascript:<script>alert(3)</script>"),
        ],
    );
    assert_eq!(unreadable.status, 400, "{}", text(&unreadable));
    let html = text(&unreadable);
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains(PASSWORD), "{html}");

    // Script in a field the page never shows: the failure page is the plain one.
    let unknown = gateway.login_get(
        "/login",
        &[
            ("username", "<script>alert(4)</script>"),
            ("password", "x"),
            ("hook_url", HOOK),
        ],
    );
    assert_eq!(unknown.status, 401);
    assert!(!text(&unknown).contains("<script>"));
}

#[test]
fn function_calls_go_to_their_templates_or_get_a_clear_page() {
    let gateway = Gateway::example();
    let detail = gateway.login_get(
        "/login",
        &[
            ("username", "buyer01"),
            ("password", PASSWORD),
            ("hook_url", HOOK),
            ("FUNCTION", "DETAIL"),
            ("PRODUCTID", "A/1 ü"),
        ],
    );
    assert_eq!(detail.status, 303, "{}", text(&detail));
    let location = &detail.headers["location"];
    assert!(
        location.starts_with("http://127.0.0.1:8000/product/A%2F1%20%C3%BC?session="),
        "{location}"
    );
    token_of(&detail);

    let validate = gateway.login_get(
        "/login",
        &[
            ("username", "buyer01"),
            ("password", PASSWORD),
            ("hook_url", HOOK),
            ("FUNCTION", "VALIDATE"),
            ("PRODUCTID", "1001"),
            ("QUANTITY", "2"),
        ],
    );
    assert_eq!(validate.status, 404, "{}", text(&validate));
    assert!(text(&validate).contains("does not offer the OCI function VALIDATE"));
}

#[test]
fn a_session_returns_its_cart_once_and_an_unknown_or_expired_one_gets_a_clear_page() {
    let text_of_pipeline = std::fs::read_to_string(repo("examples/pipelines/oci-gateway.toml"))
        .unwrap()
        .replace("session_ttl_secs = 14400", "session_ttl_secs = 1");
    let gateway = Gateway::start("p.toml", &text_of_pipeline, &[]);
    let token = gateway.open_session();
    let first = gateway.post(
        &format!("/cart?session={token}"),
        "application/json",
        accented_cart().to_string().as_bytes(),
    );
    assert_eq!(first.status, 200, "{}", text(&first));
    let mut other = accented_cart();
    other["lines"][0]["quantity"] = json!("7");
    let second = gateway.post(
        &format!("/cart?session={token}"),
        "application/json",
        other.to_string().as_bytes(),
    );
    assert_eq!(
        (second.status, &second.body),
        (first.status, &first.body),
        "the same page"
    );
    let (ok, sessions, _) = gateway.tradewire(&["--format", "json", "sessions", "list"]);
    assert!(ok);
    let sessions: Value = serde_json::from_str(&sessions).unwrap();
    let (_, trace, _) = gateway.tradewire(&[
        "--format",
        "json",
        "trace",
        sessions[0]["id"].as_str().unwrap(),
    ]);
    let trace: Value = serde_json::from_str(&trace).unwrap();
    assert_eq!(
        trace["documents"].as_array().map(Vec::len),
        Some(1),
        "one cart: {trace}"
    );

    let unknown = gateway.post(
        &format!("/cart?session={}", "0".repeat(64)),
        "application/json",
        accented_cart().to_string().as_bytes(),
    );
    assert_eq!(unknown.status, 404);
    assert!(text(&unknown).contains("Open the catalog again"));

    // A session of one second, a cart after it.
    let late = gateway.open_session();
    std::thread::sleep(Duration::from_millis(1100));
    let expired = gateway.post(
        &format!("/cart?session={late}"),
        "application/json",
        accented_cart().to_string().as_bytes(),
    );
    assert_eq!(expired.status, 410, "{}", text(&expired));
    assert!(text(&expired).contains("has expired"));
}

#[test]
fn cxml_orders_with_a_wrong_secret_or_sender_are_refused_as_cxml() {
    let gateway = Gateway::example();
    let wrong = gateway.post("/cxml/order", "text/xml", &order_request("roadrunner"));
    assert_eq!(wrong.status, 401, "{}", text(&wrong));
    let body = text(&wrong);
    assert!(
        body.contains("<cXML") && body.contains(r#"<Status code="401""#),
        "{body}"
    );
    assert!(
        !body.contains("roadrunner") && !body.contains(SECRET),
        "{body}"
    );

    let stranger = String::from_utf8(order_request(SECRET)).unwrap().replacen(
        "inbound@prominate-platform.com",
        "someone@else.example",
        1,
    );
    let refused = gateway.post("/cxml/order", "text/xml", stranger.as_bytes());
    assert_eq!(refused.status, 401, "{}", text(&refused));
    assert!(text(&refused).contains(r#"<Status code="401""#));

    let broken = gateway.post("/cxml/order", "text/xml", b"<cXML><Header>");
    assert!((400..500).contains(&broken.status), "{}", text(&broken));
    assert!(
        text(&broken).contains("<Status code=\"4"),
        "{}",
        text(&broken)
    );
    assert!(gateway.ois.requests().is_empty());

    // Each refusal is kept, under the service's output; the sender sends again, so a
    // replay says so rather than pretend.
    let (ok, letters, _) = gateway.tradewire(&["--format", "json", "dlq", "list"]);
    assert!(ok);
    let letters: Value = serde_json::from_str(&letters).unwrap();
    let letters = letters.as_array().unwrap();
    assert_eq!(letters.len(), 3, "{letters:?}");
    assert!(
        letters.iter().all(|l| l["component"] == "punchout.orders"),
        "{letters:?}"
    );
    assert!(
        !store_holds(&gateway, b"roadrunner"),
        "a wrong secret is not kept either"
    );
    assert!(!store_holds(&gateway, SECRET.as_bytes()));
    let first = letters[0]["id"].to_string();
    let (ok, _, stderr) = gateway.tradewire(&["dlq", "replay", &first]);
    assert!(!ok);
    assert!(
        stderr.contains("refused by service output `punchout.orders`"),
        "{stderr}"
    );
}

#[test]
fn the_pipeline_schema_describes_services() {
    let (status, stdout, stderr) = tradewire(Path::new("."), &["schema", "--pipeline"], &[]);
    assert!(status.success(), "{stderr}");
    let schema: Value = serde_json::from_str(&stdout).unwrap();
    let services = &schema["properties"]["services"];
    assert_eq!(
        services["propertyNames"]["pattern"],
        "^[A-Za-z0-9_-]{1,64}$"
    );
    let text = schema.to_string();
    for expected in [
        "\"oci_gateway\"",
        "\"login_paths\"",
        "\"hook_urls\"",
        "\"password_hash\"",
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from the schema"
        );
    }
}

/// A shop whose carts are e-connecteur orders hands them back as they are.
#[test]
fn a_cart_in_an_adapters_format_is_read_by_cart_decode() {
    let text_of_pipeline = std::fs::read_to_string(repo("examples/pipelines/oci-gateway.toml"))
        .unwrap()
        .replace(
            "session_ttl_secs = 14400",
            "session_ttl_secs = 14400\ncart_decode = { adapter = \"econnecteur\", message = \"order\", config = { shipping_includes_tax = false } }\noci = { default_unit = \"PCE\" }",
        );
    let gateway = Gateway::start("p.toml", &text_of_pipeline, &[]);
    let token = gateway.open_session();
    let order = std::fs::read(repo(
        "adapters/econnecteur/fixtures/order/vendor-sdk-order-net-shipping.xml",
    ))
    .unwrap();
    let page = gateway.post(&format!("/cart?session={token}"), "text/xml", &order);
    assert_eq!(page.status, 200, "{}", text(&page));
    let html = String::from_utf8_lossy(&page.body).into_owned();
    assert!(
        html.contains(r#"name="NEW_ITEM-DESCRIPTION[1]" value="FILTRE CHARBON ACTIF KUBOTA""#),
        "{html}"
    );

    // What is not an order of that format is refused with its diagnostics, and kept.
    let other = gateway.open_session();
    let refused = gateway.post(
        &format!("/cart?session={other}"),
        "application/json",
        accented_cart().to_string().as_bytes(),
    );
    assert_eq!(refused.status, 422, "{}", text(&refused));
    assert!(text(&refused).contains("Cart refused"));
    let (ok, letters, _) = gateway.tradewire(&["--format", "json", "dlq", "list"]);
    assert!(ok);
    assert!(letters.contains("punchout.carts"), "{letters}");
}

#[test]
fn hash_password_refuses_an_empty_password() {
    let out = Command::new(runtime::tradewire_bin())
        .arg("hash-password")
        .stdin(Stdio::null())
        .output()
        .expect("tradewire hash-password runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("write the password on stdin"));
    // Two hashes of one password differ (a salt each) and both verify: see the login tests.
    assert_ne!(
        runtime::hash_password(PASSWORD),
        runtime::hash_password(PASSWORD)
    );
}
