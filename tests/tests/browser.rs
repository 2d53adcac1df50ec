//! The punchout round trip in a real browser: headless Chromium through chromedriver
//! (Debian packages `chromium` and `chromium-driver`; `.ci/run` installs them).
//!
//! A procurement system's login opens the gateway, the browser lands on a small test shop,
//! the shop's "return to procurement system" button hands the gateway a cart with accented
//! text, and the gateway's page posts it through the browser to a test `hook_url`, which
//! must receive the OCI fields exactly: once in UTF-8, once in ISO-8859-1, by both seed URL
//! styles (`/login` posted by the procurement system's page, `/ocihome?…` by GET). With
//! scripts off, the page's form stays on screen: its screenshot is kept as an artefact.

// A test that cannot set itself up should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/runtime.rs"]
mod runtime;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Html;
use fantoccini::{Client, ClientBuilder, Locator};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use runtime::{Runtime, free_port, loopback};
use serde_json::{Value, json};
use tradewire_sdk::core::PunchoutSession;
use tradewire_sdk::{Adapter, CallContext, Document};

const PASSWORD: &str = "Kennwort für SRM";
const DESCRIPTIONS: [&str; 3] = ["Größe XL", "Crème brûlée", "Ø 12 mm Rohr"];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn cart() -> Value {
    json!({
        "contract": "order/v1",
        "kind": "cart",
        "currency": "EUR",
        "lines": DESCRIPTIONS.iter().enumerate().map(|(i, description)| json!({
            "kind": "article",
            "sku": format!("SKU-{i}"),
            "product_id": format!("{}", 1000 + i),
            "description": description,
            "long_text": format!("{description}\nzweite Zeile"),
            "quantity": "2",
            "unit": "PCE",
            "unit_price": {"net": "12.5"},
            "vat_rate": "21",
        })).collect::<Vec<_>>(),
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

/// What the test shop and the procurement system's hook received.
#[derive(Default)]
struct Seen {
    /// Each request to the hook: its content type and body.
    hooks: Vec<(String, Vec<u8>)>,
}

#[derive(Clone)]
struct Servers {
    gateway: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

/// The shop's punchout start page: its "return to procurement system" button posts the
/// session and the cart to the gateway, as `host/runtime/README.md` shows.
async fn shop_start(
    State(servers): State<Servers>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Html<String> {
    let session = query.get("session").cloned().unwrap_or_default();
    Html(format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>Test shop</title></head>
<body>
<p>Your cart: {}</p>
<form method="post" action="http://{}/cart" accept-charset="UTF-8">
<input type="hidden" name="session" value="{}">
<input type="hidden" name="cart" value="{}">
<button id="return" type="submit">Return to procurement system</button>
</form>
</body></html>"#,
        escape(&DESCRIPTIONS.join(", ")),
        servers.gateway,
        escape(&session),
        escape(&cart().to_string()),
    ))
}

/// The procurement system's page that posts the OCI login (the `/login` seed style).
async fn srm_login(Query(query): Query<std::collections::HashMap<String, String>>) -> Html<String> {
    let fields: String = query
        .iter()
        .filter(|(name, _)| name.as_str() != "action")
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(name),
                escape(value)
            )
        })
        .collect();
    Html(format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>SRM</title></head>
<body>
<form method="post" action="{}" accept-charset="UTF-8">
{fields}<button id="open-catalog" type="submit">Open the catalog</button>
</form>
</body></html>"#,
        escape(query.get("action").map_or("", String::as_str)),
    ))
}

async fn hook(
    State(servers): State<Servers>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Html<&'static str> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    servers
        .seen
        .lock()
        .unwrap()
        .hooks
        .push((content_type, body.to_vec()));
    Html("<!DOCTYPE html><html><body><p id=\"received\">Cart received</p></body></html>")
}

/// chromedriver on a free port, stopped when dropped.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    fn start() -> Self {
        let port = free_port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (Debian package chromium-driver; .ci/run installs it)");
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        // Made before waiting, so that a failure to start still stops it.
        let driver = Self {
            child,
            url: format!("http://{address}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        // Ready once it listens: the WebDriver client's first call waits for it to answer.
        while std::net::TcpStream::connect(address).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session of its own profile; scripts on or off.
async fn browser(driver: &Chromedriver, profile: &Path, scripts: bool) -> Client {
    let mut options = json!({
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1000,800",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    if !scripts {
        options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    // chromedriver is on loopback: plain HTTP, and no TLS provider to choose.
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Waits for the hook's `n`-th request and returns it.
async fn hook_request(seen: &Mutex<Seen>, n: usize) -> (String, Vec<u8>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(found) = seen.lock().unwrap().hooks.get(n - 1).cloned() {
            return found;
        }
        assert!(Instant::now() < deadline, "the hook got no cart #{n}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The fields a form body carries, decoded in `charset`.
fn fields(body: &[u8], charset: &str) -> Vec<(String, String)> {
    let encoding = tradewire_sdk::form::charset(charset).expect("a known charset");
    tradewire_sdk::form::decode_form(body, encoding)
        .unwrap_or_else(|d| panic!("the hook's body is not a form in {charset}: {d}"))
        .iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// The fields the procurement system must receive: the hook URL's own parameter, then the
/// cart as the adapter writes it for this session.
fn expected_fields(hook_url: &str, charset: &str) -> Vec<(String, String)> {
    let adapter = tradewire_oci_punchout::OciPunchout::new(Default::default()).unwrap();
    let context = CallContext {
        punchout_session: Some(PunchoutSession {
            hook_url: hook_url.to_owned(),
            charset: Some(charset.to_owned()),
            ..PunchoutSession::default()
        }),
        ..CallContext::default()
    };
    let document = Document::from_json(cart().to_string().as_bytes(), None).unwrap();
    let body = adapter
        .encode_in_context("cart", &document, &context)
        .unwrap_or_else(|d| panic!("{d}"))
        .value;
    let mut expected = vec![("sap-client".to_owned(), "100".to_owned())];
    // A browser submits a form's line breaks as CRLF (the HTML standard's form encoding).
    expected.extend(
        fields(&body, charset)
            .into_iter()
            .map(|(name, value)| (name, value.replace('\n', "\r\n"))),
    );
    expected
}

fn check_received(received: &(String, Vec<u8>), hook_url: &str, charset: &str) {
    let (content_type, body) = received;
    assert!(
        content_type.starts_with("application/x-www-form-urlencoded"),
        "{content_type}"
    );
    let got = fields(body, charset);
    assert_eq!(
        got,
        expected_fields(hook_url, charset),
        "the fields, decoded in {charset}"
    );
    for (i, description) in DESCRIPTIONS.iter().enumerate() {
        let name = format!("NEW_ITEM-DESCRIPTION[{}]", i + 1);
        assert!(
            got.contains(&(name.clone(), (*description).to_owned())),
            "{name} = {description} in {got:?}"
        );
    }
    // The bytes on the wire are the charset's: `öß` are one byte each in ISO-8859-1, two
    // in UTF-8.
    let groesse = if charset == "UTF-8" {
        "Gr%C3%B6%C3%9Fe"
    } else {
        "Gr%F6%DFe"
    };
    let wire = String::from_utf8_lossy(body);
    assert!(wire.contains(groesse), "{groesse} in {wire}");
}

/// Where the test's servers are.
struct Urls {
    web: SocketAddr,
    gateway: SocketAddr,
    hook_url: String,
}

/// The three round trips: scripts on by both seed URL styles, then scripts off.
async fn round_trips(
    scripted: Client,
    scriptless: Client,
    urls: Urls,
    seen: Arc<Mutex<Seen>>,
    artefact: PathBuf,
) {
    let Urls {
        web,
        gateway,
        hook_url,
    } = urls;
    // 1. The `/login` style, posted by the procurement system's page, in UTF-8.
    let srm = format!(
        "http://{web}/srm/login?action={}&username=buyer01&password={}&hook_url={}&http_content_charset=UTF-8",
        encode(&format!("http://{gateway}/login")),
        encode(PASSWORD),
        encode(&hook_url),
    );
    scripted.goto(&srm).await.unwrap();
    scripted
        .find(Locator::Id("open-catalog"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let button = scripted.wait().for_element(Locator::Id("return")).await;
    button.unwrap().click().await.unwrap();
    check_received(&hook_request(&seen, 1).await, &hook_url, "UTF-8");
    scripted
        .wait()
        .for_element(Locator::Id("received"))
        .await
        .unwrap();

    // 2. shoxl's `/ocihome?username=…&password=…&hook_url=…` by GET; the account's
    // charset, ISO-8859-1.
    let ocihome = format!(
        "http://{gateway}/ocihome?username=buyer01&password={}&hook_url={}",
        encode(PASSWORD),
        encode(&hook_url),
    );
    scripted.goto(&ocihome).await.unwrap();
    let button = scripted.wait().for_element(Locator::Id("return")).await;
    button.unwrap().click().await.unwrap();
    check_received(&hook_request(&seen, 2).await, &hook_url, "ISO-8859-1");

    // 3. Scripts off: the page's form stays, with its button; its screenshot is kept.
    scriptless
        .goto(&format!("{ocihome}&http_content_charset=ISO-8859-1"))
        .await
        .unwrap();
    let button = scriptless.wait().for_element(Locator::Id("return")).await;
    button.unwrap().click().await.unwrap();
    let form = scriptless
        .wait()
        .for_element(Locator::Id("oci-cart"))
        .await
        .unwrap();
    let png = form.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::create_dir_all(artefact.parent().unwrap()).unwrap();
    std::fs::write(&artefact, &png).unwrap();
    println!("screenshot of the no-script form: {}", artefact.display());
    form.find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    check_received(&hook_request(&seen, 3).await, &hook_url, "ISO-8859-1");

    // 4. and 5. Each style in the other charset: `/ocihome` asking for UTF-8, the posted
    // `/login` for ISO-8859-1.
    scripted
        .goto(&format!("{ocihome}&http_content_charset=UTF-8"))
        .await
        .unwrap();
    let button = scripted.wait().for_element(Locator::Id("return")).await;
    button.unwrap().click().await.unwrap();
    check_received(&hook_request(&seen, 4).await, &hook_url, "UTF-8");
    scripted
        .goto(&srm.replace(
            "http_content_charset=UTF-8",
            "http_content_charset=ISO-8859-1",
        ))
        .await
        .unwrap();
    scripted
        .find(Locator::Id("open-catalog"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let button = scripted.wait().for_element(Locator::Id("return")).await;
    button.unwrap().click().await.unwrap();
    check_received(&hook_request(&seen, 5).await, &hook_url, "ISO-8859-1");
}

#[test]
fn a_cart_goes_back_through_a_real_browser_in_utf8_and_iso_8859_1() {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let (gateway, api) = (loopback(), loopback());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let servers = Servers {
        gateway,
        seen: seen.clone(),
    };
    let listener = tokio
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let web = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/punchout/start", axum::routing::get(shop_start))
        .route("/srm/login", axum::routing::get(srm_login))
        .route("/hook", axum::routing::post(hook))
        .with_state(servers);
    tokio.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo("examples/pipelines/oci-gateway.toml"),
        dir.path().join("p.toml"),
    )
    .unwrap();
    let ois = runtime::Receiver::start(|_, _| (200, Duration::ZERO));
    let env = [
        ("TRADEWIRE_LISTEN", gateway.to_string()),
        ("TRADEWIRE_API", api.to_string()),
        ("SHOP_ORIGIN", format!("http://{web}")),
        ("BUYER01_PASSWORD_HASH", runtime::hash_password(PASSWORD)),
        ("BUYER01_HOOK_URLS", format!("http://{web}/hook*")),
        ("BUYER01_SECRET", "coyote".to_owned()),
        ("OIS_URL", format!("http://{}/v1/Orders", ois.address)),
    ];
    let _runtime = Runtime::start(dir.path(), Path::new("p.toml"), api, &env);
    let driver = Chromedriver::start();
    let hook_url = format!("http://{web}/hook?sap-client=100");
    let artefact = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("punchout-no-script-form.png");

    // The browsers are closed whatever the steps do: a Chromium left open outlives the test.
    tokio.block_on(async {
        let scripted = browser(&driver, &dir.path().join("profile-1"), true).await;
        let scriptless = browser(&driver, &dir.path().join("profile-2"), false).await;
        let steps = tokio::spawn(round_trips(
            scripted.clone(),
            scriptless.clone(),
            Urls {
                web,
                gateway,
                hook_url: hook_url.clone(),
            },
            seen.clone(),
            artefact.clone(),
        ));
        let outcome = steps.await;
        let _ = scripted.close().await;
        let _ = scriptless.close().await;
        if let Err(failed) = outcome {
            std::panic::resume_unwind(failed.into_panic());
        }
    });
    assert_eq!(seen.lock().unwrap().hooks.len(), 5);
}
