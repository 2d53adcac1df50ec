//! Running `tradewire run` as a user does, and the servers its sinks deliver to.

// Each test binary uses part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `tradewire` binary cargo built for this test run (`target/<profile>/tradewire`).
/// `cargo nextest run --workspace` builds it; `-p tradewire-tests` alone does not rebuild
/// it (it is another package's binary), so run `cargo build -p tradewire-cli` first then.
pub fn tradewire_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps");
    let bin = profile_dir.join(format!("tradewire{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} was not built (cargo build -p tradewire-cli)",
        bin.display()
    );
    bin
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A loopback address whose port was free at the time of asking.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// The canonical order the SAP OCI sample cart decodes to, as an order with `reference`.
pub fn canonical_order(reference: &str) -> serde_json::Value {
    static CART: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let cart = CART.get_or_init(|| {
        let cart = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../adapters/oci-punchout/fixtures/cart/discountoffice.txt");
        let (status, stdout, stderr) = tradewire(
            Path::new("."),
            &[
                "decode",
                "--compact",
                "oci-punchout",
                "cart",
                cart.to_str().expect("a UTF-8 path"),
            ],
            &[],
        );
        assert!(status.success(), "{stderr}");
        serde_json::from_str(&stdout).expect("canonical JSON")
    });
    let mut order = cart.clone();
    order["kind"] = serde_json::json!("order");
    order["reference"] = serde_json::json!(reference);
    order
}

/// A pipeline of one `http` source at `listen` taking canonical JSON on `/orders`, its
/// store `store.db`, its API at `api`, a shutdown bound of 10 s, and `sinks` (TOML).
pub fn orders_pipeline(listen: SocketAddr, api: SocketAddr, sinks: &str) -> String {
    format!(
        r#"
[store]
path = "store.db"

[api]
address = "{api}"

[runtime]
shutdown_timeout_secs = 10

[sources.orders]
type = "http"
address = "{listen}"
path = "/orders"
{sinks}
"#
    )
}

/// Runs `tradewire` with `args` to completion: (status, stdout, stderr).
pub fn tradewire(
    dir: &Path,
    args: &[&str],
    env: &[(&str, String)],
) -> (ExitStatus, String, String) {
    let out = Command::new(tradewire_bin())
        .args(args)
        .current_dir(dir)
        .env("TRADEWIRE_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("tradewire runs");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A `tradewire run` process. Killed when dropped.
pub struct Runtime {
    child: Option<Child>,
    pub api: SocketAddr,
    pub dir: PathBuf,
    pipeline: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
}

impl Runtime {
    /// Starts `tradewire run pipeline` in `dir`, and waits until its `/health` answers
    /// (the pipeline must have `[api] address = "<api>"`).
    pub fn start(dir: &Path, pipeline: &Path, api: SocketAddr, env: &[(&str, String)]) -> Self {
        let mut runtime = Self {
            child: None,
            api,
            dir: dir.to_owned(),
            pipeline: pipeline.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            log: dir.join("tradewire.log"),
        };
        runtime.spawn();
        runtime
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(tradewire_bin())
            .arg("run")
            .arg(&self.pipeline)
            .current_dir(&self.dir)
            .env("TRADEWIRE_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("tradewire run starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("tradewire run exited at start ({status}):\n{}", self.log());
            }
            if http_get(self.api, "/health").is_some() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "tradewire run did not answer /health:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Everything the process (and its earlier runs) logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the same pipeline again.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// SIGTERM, then waits up to `bound` for the exit: its status and how long it took.
    pub fn terminate(&mut self, bound: Duration) -> (Option<ExitStatus>, Duration) {
        let Some(mut child) = self.child.take() else {
            return (None, Duration::ZERO);
        };
        let started = Instant::now();
        let pid = libc::pid_t::try_from(child.id()).expect("pid");
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        while started.elapsed() < bound {
            if let Ok(Some(status)) = child.try_wait() {
                return (Some(status), started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        (None, started.elapsed())
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A plain HTTP/1.1 GET over loopback: the body of a 200, else `None`.
pub fn http_get(address: SocketAddr, path: &str) -> Option<String> {
    let (status, body) = http_request(address, "GET", path, &[], b"")?;
    (status == 200).then_some(body)
}

/// One HTTP/1.1 request with `Connection: close` and a `Content-Length` unless `headers`
/// has one: (status, body), or `None` when the connection failed.
pub fn http_request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    let response = http_exchange(address, method, path, headers, body)?;
    Some((
        response.status,
        String::from_utf8_lossy(&response.body).into_owned(),
    ))
}

/// An HTTP response whole: its headers by lower-case name, its body's bytes.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// One HTTP/1.1 request on a fresh connection, and its response (a body of known length).
pub fn http_exchange(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<HttpResponse> {
    use std::io::Write as _;
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-length"))
    {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Some(HttpResponse {
        status,
        headers,
        body: response[split + 4..].to_vec(),
    })
}

/// One request a [`Receiver`] took.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// A loopback HTTP server standing in for a sink's receiver: it records every request and
/// answers with what `answer` says for the n-th one (0-based).
pub struct Receiver {
    pub address: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// What a receiver answers: a status, and how long to wait before answering.
pub type Answer = (u16, Duration);

impl Receiver {
    pub fn start(answer: impl Fn(usize, &Received) -> Answer + Send + Sync + 'static) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let answer = Arc::new(answer);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a receiver");
        let address = listener.local_addr().expect("address");
        let store = received.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (store, answer) = (store.clone(), answer.clone());
                async move {
                    let request = Received {
                        path: uri.path().to_owned(),
                        headers: headers
                            .iter()
                            .map(|(k, v)| {
                                (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())
                            })
                            .collect(),
                        body: body.to_vec(),
                    };
                    let n = {
                        let mut all = store.lock().expect("lock");
                        all.push(request.clone());
                        all.len() - 1
                    };
                    let (status, delay) = answer(n, &request);
                    tokio::time::sleep(delay).await;
                    axum::http::StatusCode::from_u16(status)
                        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
                }
            },
        );
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            received,
            runtime: Some(runtime),
        }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits until at least `n` requests arrived, up to `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if requests.len() >= n || Instant::now() > deadline {
                return requests;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// `password` hashed by `tradewire hash-password`, as a shop's admin makes one.
pub fn hash_password(password: &str) -> String {
    let mut child = Command::new(tradewire_bin())
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("tradewire hash-password starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write the password");
    let out = child.wait_with_output().expect("it ends");
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(password));
    hash
}
