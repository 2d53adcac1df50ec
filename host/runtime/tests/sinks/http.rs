//! The `http` sink against receivers on loopback.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::json;
use tradewire_runtime::sinks::SendOutcome;
use tradewire_runtime::sinks::http::retry_after;

use super::{build, config, context, deliver, ois_fixture, order, registry, serve};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// Every request a receiver saw.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    fn push(&self, method: Method, headers: HeaderMap, body: Bytes) {
        self.0.lock().unwrap().push(Seen {
            method,
            headers,
            body,
        });
    }

    fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
}

/// A receiver that logs every request to `/` and answers it with `answer`.
async fn receiver<F>(answer: F) -> (SocketAddr, Log)
where
    F: Fn(&Seen) -> Response + Clone + Send + Sync + 'static,
{
    let log = Log::default();
    let logged = log.clone();
    let app = Router::new().route(
        "/",
        any(move |method: Method, headers: HeaderMap, body: Bytes| {
            let (log, answer) = (logged.clone(), answer.clone());
            async move {
                let seen = Seen {
                    method,
                    headers,
                    body,
                };
                let response = answer(&seen);
                log.push(seen.method, seen.headers, seen.body);
                response
            }
        }),
    );
    (serve(app).await, log)
}

fn http_sink(
    address: SocketAddr,
    extra: serde_json::Value,
) -> Arc<dyn tradewire_runtime::sinks::Sink> {
    let mut table = json!({ "uri": format!("http://{address}/") });
    let serde_json::Value::Object(extra) = extra else {
        panic!("extra keys are a table")
    };
    table.as_object_mut().unwrap().extend(extra);
    build("http", table)
}

#[tokio::test]
async fn a_2xx_is_delivered_with_the_key_and_the_content_type() {
    let (address, log) =
        receiver(|_| (StatusCode::CREATED, "created as 4711").into_response()).await;
    let sink = http_sink(
        address,
        json!({ "method": "PUT", "headers": { "X-Tenant": "acme" } }),
    );
    let payload = order("PO-1");

    let outcome = deliver(&*sink, "PO-1", "dlv-PO-1-ois", &payload).await;

    assert_eq!(
        outcome,
        SendOutcome::Delivered {
            status: Some(201),
            detail: "created as 4711".to_owned(),
        }
    );
    let seen = log.all();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, Method::PUT);
    assert_eq!(seen[0].header("idempotency-key"), Some("dlv-PO-1-ois"));
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[0].header("x-tenant"), Some("acme"));
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(seen[0].body, payload);
}

#[tokio::test]
async fn a_content_type_header_replaces_the_documents_and_post_is_the_default() {
    let (address, log) = receiver(|_| StatusCode::NO_CONTENT.into_response()).await;
    let sink = http_sink(
        address,
        json!({ "headers": { "Content-Type": "application/vnd.acme.order+json" } }),
    );
    let outcome = deliver(&*sink, "PO-1", "k", &order("PO-1")).await;
    assert!(
        matches!(
            outcome,
            SendOutcome::Delivered {
                status: Some(204),
                ..
            }
        ),
        "{outcome:?}"
    );
    let seen = log.all();
    assert_eq!(seen[0].method, Method::POST);
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/vnd.acme.order+json")
    );
    assert_eq!(seen[0].headers.get_all("content-type").iter().count(), 1);
}

/// Answers with the status in the path and, when asked, a `Retry-After` in seconds or as
/// an HTTP-date two minutes ahead.
async fn status_receiver() -> SocketAddr {
    let app = Router::new().route(
        "/{status}/{retry}",
        any(|Path((status, retry)): Path<(u16, String)>| async move {
            let mut response = (
                StatusCode::from_u16(status).unwrap(),
                format!("answer {status}"),
            )
                .into_response();
            let value = match retry.as_str() {
                "secs" => Some("7".to_owned()),
                "date" => Some(
                    (chrono::Utc::now() + chrono::Duration::seconds(120))
                        .format("%a, %d %b %Y %H:%M:%S GMT")
                        .to_string(),
                ),
                _ => None,
            };
            if let Some(value) = value {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_str(&value).unwrap());
            }
            if (300..400).contains(&status) {
                response
                    .headers_mut()
                    .insert(header::LOCATION, HeaderValue::from_static("/200/none"));
            }
            response
        }),
    );
    serve(app).await
}

async fn answer(address: SocketAddr, status: u16, retry: &str) -> SendOutcome {
    let sink = build(
        "http",
        json!({ "uri": format!("http://{address}/{status}/{retry}") }),
    );
    deliver(&*sink, "PO-1", "k", &order("PO-1")).await
}

#[tokio::test]
async fn server_errors_and_throttling_are_temporary() {
    let address = status_receiver().await;
    for status in [500, 502, 503, 504, 408, 425, 429] {
        assert_eq!(
            answer(address, status, "none").await,
            SendOutcome::Temporary {
                status: Some(status),
                detail: format!("answer {status}"),
                retry_after: None,
            }
        );
    }
    let SendOutcome::Temporary { retry_after, .. } = answer(address, 503, "secs").await else {
        panic!("503 is temporary");
    };
    assert_eq!(retry_after, Some(Duration::from_secs(7)));
    let SendOutcome::Temporary { retry_after, .. } = answer(address, 429, "date").await else {
        panic!("429 is temporary");
    };
    let asked = retry_after.expect("an HTTP-date is read");
    // The date has a one-second resolution and was written a moment ago.
    assert!(
        (Duration::from_secs(115)..=Duration::from_secs(120)).contains(&asked),
        "{asked:?}"
    );
}

#[tokio::test]
async fn other_answers_are_permanent_and_redirects_are_not_followed() {
    let address = status_receiver().await;
    for status in [400, 401, 403, 404, 409, 413, 422, 301, 302, 307] {
        assert_eq!(
            answer(address, status, "none").await,
            SendOutcome::Permanent {
                status: Some(status),
                detail: format!("answer {status}"),
            }
        );
    }
    for status in [200, 202, 204] {
        let outcome = answer(address, status, "none").await;
        assert!(
            matches!(outcome, SendOutcome::Delivered { status: Some(s), .. } if s == status),
            "{outcome:?}"
        );
    }
}

#[test]
fn retry_after_reads_seconds_and_the_three_http_date_forms() {
    // 1994-11-06T08:49:37Z, RFC 9110's example.
    let example = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
    let now = example - Duration::from_secs(60);
    let read = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        retry_after(&headers, now)
    };
    let minute = Some(Duration::from_secs(60));
    assert_eq!(read("120"), Some(Duration::from_secs(120)));
    assert_eq!(read(" 0 "), Some(Duration::ZERO));
    assert_eq!(read("Sun, 06 Nov 1994 08:49:37 GMT"), minute);
    assert_eq!(read("Sunday, 06-Nov-94 08:49:37 GMT"), minute);
    assert_eq!(read("Sun Nov  6 08:49:37 1994"), minute);
    assert_eq!(read("Sun, 06 Nov 1994 08:48:00 GMT"), Some(Duration::ZERO));
    assert_eq!(read("-5"), None);
    assert_eq!(read("soon"), None);
    assert_eq!(retry_after(&HeaderMap::new(), now), None);
}

#[tokio::test]
async fn the_detail_is_the_answers_first_kilobyte() {
    let (address, _) = receiver(|_| {
        let mut body = b"\xff broken: ".to_vec();
        body.extend("é".repeat(3000).into_bytes());
        (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
    })
    .await;
    let outcome = deliver(&*http_sink(address, json!({})), "PO-1", "k", &order("PO-1")).await;
    let SendOutcome::Temporary { detail, .. } = outcome else {
        panic!("500 is temporary: {outcome:?}");
    };
    assert!(
        detail.len() <= 1024 && detail.len() > 1000,
        "{}",
        detail.len()
    );
    assert!(detail.starts_with("\u{fffd} broken: éé"), "{detail}");
}

#[tokio::test]
async fn a_receiver_that_hangs_past_the_timeout_is_temporary() {
    let app = Router::new().route(
        "/",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "too late"
        }),
    );
    let address = serve(app).await;
    let sink = http_sink(address, json!({ "timeout_secs": 0.3 }));
    let started = Instant::now();
    let outcome = deliver(&*sink, "PO-1", "k", &order("PO-1")).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let SendOutcome::Temporary {
        status: None,
        detail,
        retry_after: None,
    } = outcome
    else {
        panic!("a timeout is temporary: {outcome:?}");
    };
    assert!(detail.contains("timed out"), "{detail}");
}

#[tokio::test]
async fn a_refused_connection_is_temporary() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let outcome = deliver(&*http_sink(address, json!({})), "PO-1", "k", &order("PO-1")).await;
    let SendOutcome::Temporary {
        status: None,
        detail,
        ..
    } = outcome
    else {
        panic!("a refused connection is temporary: {outcome:?}");
    };
    assert!(detail.to_lowercase().contains("refused"), "{detail}");
}

/// Answers 401 and echoes what it was sent, as a debugging receiver might.
fn echo(seen: &Seen) -> Response {
    let body = format!(
        "refused {} with body {}; password open sesame?",
        seen.header("authorization").unwrap_or("nothing"),
        String::from_utf8_lossy(&seen.body)
    );
    (StatusCode::UNAUTHORIZED, body).into_response()
}

#[tokio::test]
async fn basic_credentials_are_sent_and_never_shown() {
    let (address, log) = receiver(echo).await;
    let table = json!({ "uri": format!("http://{address}/"),
        "auth": { "strategy": "basic", "user": "Aladdin", "password": "open sesame" } });
    let sink = build("http", table.clone());

    let outcome = deliver(&*sink, "PO-1", "k", &order("PO-1")).await;

    // RFC 7617's example.
    let credentials = "QWxhZGRpbjpvcGVuIHNlc2FtZQ==";
    assert_eq!(
        log.all()[0].header("authorization"),
        Some(format!("Basic {credentials}").as_str())
    );
    let SendOutcome::Permanent {
        status: Some(401),
        detail,
    } = outcome
    else {
        panic!("401 without OAuth2 is permanent: {outcome:?}");
    };
    assert!(detail.starts_with("refused *** with body {"), "{detail}");
    assert!(detail.ends_with("; password ***?"), "{detail}");
    for shown in [
        detail,
        format!("{sink:?}"),
        format!("{:?}", config("http", table)),
    ] {
        assert!(!shown.contains("open sesame"), "{shown}");
        assert!(!shown.contains(credentials), "{shown}");
    }
}

#[tokio::test]
async fn a_bearer_token_is_sent_and_never_shown() {
    let (address, log) = receiver(echo).await;
    let token = "eyJhbGciOi.s3cr3t-t0ken";
    let table = json!({ "uri": format!("http://{address}/"),
        "auth": { "strategy": "bearer", "token": token },
        "headers": { "X-Api-Key": "k3y-v4lue" } });
    let sink = build("http", table.clone());

    let outcome = deliver(&*sink, "PO-1", "k", &order("PO-1")).await;

    let expected = format!("Bearer {token}");
    assert_eq!(
        log.all()[0].header("authorization"),
        Some(expected.as_str())
    );
    assert_eq!(log.all()[0].header("x-api-key"), Some("k3y-v4lue"));
    let SendOutcome::Permanent { detail, .. } = outcome else {
        panic!("401 without OAuth2 is permanent: {outcome:?}");
    };
    assert!(detail.starts_with("refused *** with body"), "{detail}");
    for shown in [
        detail,
        format!("{sink:?}"),
        format!("{:?}", config("http", table)),
    ] {
        assert!(!shown.contains("s3cr3t-t0ken"), "{shown}");
    }
    let debug = format!("{sink:?}");
    assert!(!debug.contains("k3y-v4lue"), "{debug}");
}

/// A token endpoint and a resource behind it. Tokens are `tok-1`, `tok-2`…; the resource
/// accepts those `accepts` says yes to.
struct OAuth2Server {
    address: SocketAddr,
    token_requests: Arc<Mutex<Vec<Seen>>>,
    resource: Log,
}

impl OAuth2Server {
    async fn start(
        token_answer: impl Fn(usize) -> Response + Clone + Send + Sync + 'static,
        accepts: impl Fn(&str) -> bool + Clone + Send + Sync + 'static,
    ) -> Self {
        let token_requests = Arc::new(Mutex::new(Vec::new()));
        let resource = Log::default();
        let (tokens, logged) = (token_requests.clone(), resource.clone());
        let issued = Arc::new(AtomicUsize::new(0));
        let app = Router::new()
            .route(
                "/token",
                post(move |method: Method, headers: HeaderMap, body: Bytes| {
                    let (tokens, issued, token_answer) =
                        (tokens.clone(), issued.clone(), token_answer.clone());
                    async move {
                        // Slow enough that concurrent attempts overlap the fetch.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        tokens.lock().unwrap().push(Seen {
                            method,
                            headers,
                            body,
                        });
                        token_answer(issued.fetch_add(1, Ordering::SeqCst) + 1)
                    }
                }),
            )
            .route(
                "/orders",
                post(move |method: Method, headers: HeaderMap, body: Bytes| {
                    let (log, accepts) = (logged.clone(), accepts.clone());
                    async move {
                        let token = headers
                            .get(header::AUTHORIZATION)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.strip_prefix("Bearer "))
                            .unwrap_or_default()
                            .to_owned();
                        log.push(method, headers, body);
                        if accepts(&token) {
                            (StatusCode::OK, format!("accepted with {token}"))
                        } else {
                            (StatusCode::UNAUTHORIZED, format!("{token} is not valid"))
                        }
                    }
                }),
            );
        Self {
            address: serve(app).await,
            token_requests,
            resource,
        }
    }

    fn sink(&self, auth: serde_json::Value) -> Arc<dyn tradewire_runtime::sinks::Sink> {
        let mut auth = auth;
        auth["strategy"] = json!("oauth2");
        auth["token_url"] = json!(format!("http://{}/token", self.address));
        build(
            "http",
            json!({ "uri": format!("http://{}/orders", self.address), "auth": auth }),
        )
    }

    fn token_requests(&self) -> Vec<Seen> {
        self.token_requests.lock().unwrap().clone()
    }
}

fn token(n: usize, expires_in: serde_json::Value) -> Response {
    axum::Json(
        json!({ "access_token": format!("tok-{n}"), "token_type": "Bearer",
        "expires_in": expires_in }),
    )
    .into_response()
}

fn client() -> serde_json::Value {
    json!({ "client_id": "tradewire", "client_secret": "cl13nt-s3cr3t", "scope": "orders.write" })
}

/// `a=b&c=d`, percent-decoded.
fn form(body: &[u8]) -> HashMap<String, String> {
    let decode = |text: &str| {
        let text = text.replace('+', " ");
        let mut out = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

async fn deliver_many(
    sink: &Arc<dyn tradewire_runtime::sinks::Sink>,
    count: usize,
) -> Vec<SendOutcome> {
    let payload = order("PO-1");
    futures::future::join_all((0..count).map(|i| {
        let (sink, payload) = (sink.clone(), payload.clone());
        async move { deliver(&*sink, &format!("PO-{i}"), &format!("k-{i}"), &payload).await }
    }))
    .await
}

#[tokio::test]
async fn one_token_serves_many_concurrent_deliveries() {
    let server = OAuth2Server::start(|n| token(n, json!(3600)), |t| t == "tok-1").await;
    let sink = server.sink(client());

    let outcomes = deliver_many(&sink, 20).await;

    for outcome in &outcomes {
        // The receiver's words quote the token: scrubbed, as every secret is.
        assert_eq!(
            outcome,
            &SendOutcome::Delivered {
                status: Some(200),
                detail: "accepted with ***".to_owned(),
            }
        );
    }
    assert!(
        server
            .resource
            .all()
            .iter()
            .all(|seen| seen.header("authorization") == Some("Bearer tok-1"))
    );
    let requests = server.token_requests();
    assert_eq!(requests.len(), 1, "one fetch for all");
    // Client credentials in HTTP Basic (the default), the grant and scope in the form.
    assert_eq!(
        requests[0].header("authorization"),
        Some("Basic dHJhZGV3aXJlOmNsMTNudC1zM2NyM3Q=")
    );
    let asked = form(&requests[0].body);
    assert_eq!(
        asked.get("grant_type").map(String::as_str),
        Some("client_credentials")
    );
    assert_eq!(asked.get("scope").map(String::as_str), Some("orders.write"));
    assert!(!asked.contains_key("client_secret"));
    assert_eq!(server.resource.all().len(), 20);
    let debug = format!("{sink:?}");
    assert!(
        !debug.contains("cl13nt-s3cr3t") && !debug.contains("tok-1"),
        "{debug}"
    );
}

#[tokio::test]
async fn post_client_auth_puts_the_credentials_in_the_form() {
    let server = OAuth2Server::start(|n| token(n, json!("3599")), |_| true).await;
    let mut auth = client();
    auth["client_auth"] = json!("post");
    let sink = server.sink(auth);

    let outcome = deliver(&*sink, "PO-1", "k", &order("PO-1")).await;

    assert!(
        matches!(outcome, SendOutcome::Delivered { .. }),
        "{outcome:?}"
    );
    let requests = server.token_requests();
    assert_eq!(requests[0].header("authorization"), None);
    let asked = form(&requests[0].body);
    assert_eq!(
        asked.get("client_id").map(String::as_str),
        Some("tradewire")
    );
    assert_eq!(
        asked.get("client_secret").map(String::as_str),
        Some("cl13nt-s3cr3t")
    );
}

#[tokio::test]
async fn a_401_fetches_one_new_token_and_tries_once_more() {
    // The first token is revoked as soon as it is issued.
    let server = OAuth2Server::start(|n| token(n, json!(3600)), |t| t == "tok-2").await;
    let sink = server.sink(client());

    let outcomes = deliver_many(&sink, 10).await;

    for outcome in &outcomes {
        assert_eq!(
            outcome,
            &SendOutcome::Delivered {
                status: Some(200),
                detail: "accepted with ***".to_owned(),
            }
        );
    }
    assert_eq!(server.token_requests().len(), 2, "one refresh for all");
    let tokens: Vec<_> = server
        .resource
        .all()
        .iter()
        .map(|seen| seen.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(tokens.len(), 20);
    assert_eq!(tokens.iter().filter(|t| *t == "Bearer tok-1").count(), 10);
    assert_eq!(tokens.iter().filter(|t| *t == "Bearer tok-2").count(), 10);
    // The retry carries the same key.
    let keys: std::collections::HashSet<_> = server
        .resource
        .all()
        .iter()
        .map(|seen| seen.header("idempotency-key").unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 10);
}

#[tokio::test]
async fn a_token_refused_after_its_refresh_is_permanent() {
    let server = OAuth2Server::start(|n| token(n, json!(3600)), |_| false).await;
    let sink = server.sink(client());

    let outcome = deliver(&*sink, "PO-1", "k", &order("PO-1")).await;

    let SendOutcome::Permanent {
        status: Some(401),
        detail,
    } = outcome
    else {
        panic!("refused twice: permanent: {outcome:?}");
    };
    // The token is a secret too, even in the receiver's words.
    assert_eq!(detail, "*** is not valid");
    assert_eq!(server.token_requests().len(), 2);
    assert_eq!(server.resource.all().len(), 2);
}

#[tokio::test]
async fn a_token_is_fetched_again_shortly_before_it_expires() {
    let server = OAuth2Server::start(|n| token(n, json!(2)), |_| true).await;
    let sink = server.sink(client());

    assert!(matches!(
        deliver(&*sink, "PO-1", "k1", &order("PO-1")).await,
        SendOutcome::Delivered { .. }
    ));
    assert!(matches!(
        deliver(&*sink, "PO-2", "k2", &order("PO-2")).await,
        SendOutcome::Delivered { .. }
    ));
    assert_eq!(server.token_requests().len(), 1, "still fresh");
    // A two-second token is replaced after half its life.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let outcome = deliver(&*sink, "PO-3", "k3", &order("PO-3")).await;
    assert!(
        matches!(outcome, SendOutcome::Delivered { .. }),
        "{outcome:?}"
    );
    assert_eq!(server.token_requests().len(), 2);
    let last = server.resource.all().pop().unwrap();
    assert_eq!(last.header("authorization"), Some("Bearer tok-2"));
}

#[tokio::test]
async fn a_token_endpoint_4xx_is_permanent_and_its_5xx_temporary() {
    let refused = OAuth2Server::start(
        |_| {
            // A careless endpoint that quotes the secret back.
            (
                StatusCode::BAD_REQUEST,
                r#"{"error":"invalid_client","hint":"cl13nt-s3cr3t is wrong"}"#,
            )
                .into_response()
        },
        |_| true,
    )
    .await;
    let outcomes = deliver_many(&refused.sink(client()), 5).await;
    for outcome in outcomes {
        let SendOutcome::Permanent {
            status: None,
            detail,
        } = outcome
        else {
            panic!("a token endpoint 400 is permanent: {outcome:?}");
        };
        assert_eq!(
            detail,
            r#"oauth2 token endpoint answered 400 Bad Request: {"error":"invalid_client","hint":"*** is wrong"}"#
        );
    }
    // The attempts waiting on the failed fetch took its answer.
    assert_eq!(refused.token_requests().len(), 1);
    assert!(refused.resource.all().is_empty());

    let down = OAuth2Server::start(
        |_| {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "30")],
                "down",
            )
                .into_response()
        },
        |_| true,
    )
    .await;
    let outcome = deliver(&*down.sink(client()), "PO-1", "k", &order("PO-1")).await;
    assert_eq!(
        outcome,
        SendOutcome::Temporary {
            status: None,
            detail: "oauth2 token endpoint answered 503 Service Unavailable: down".to_owned(),
            retry_after: Some(Duration::from_secs(30)),
        }
    );
}

#[tokio::test]
async fn a_token_answer_without_a_token_is_permanent() {
    let server = OAuth2Server::start(
        |_| (StatusCode::OK, "<html>login page</html>").into_response(),
        |_| true,
    )
    .await;
    let outcome = deliver(&*server.sink(client()), "PO-1", "k", &order("PO-1")).await;
    let SendOutcome::Permanent {
        status: None,
        detail,
    } = outcome
    else {
        panic!("no token: permanent: {outcome:?}");
    };
    assert!(detail.contains("no usable token"), "{detail}");
}

/// A canonical order: OIS's own fixture decoded by the adapter.
fn canonical_ois_order() -> Vec<u8> {
    let input = std::fs::read(ois_fixture("home-delivery-received.json")).unwrap();
    let instance = registry().instantiate("ois-orders", &json!({})).unwrap();
    instance.decode("order", &input).unwrap().bytes
}

#[tokio::test]
async fn encode_sends_what_the_adapter_writes() {
    let (address, log) = receiver(|_| StatusCode::OK.into_response()).await;
    let sink = http_sink(
        address,
        json!({ "encode": { "adapter": "ois-orders", "message": "order", "config": { "profile": "xprt" } } }),
    );
    let canonical = canonical_ois_order();

    let outcome = deliver(&*sink, "100023", "k", &canonical).await;

    assert!(
        matches!(outcome, SendOutcome::Delivered { .. }),
        "{outcome:?}"
    );
    let expected = registry()
        .instantiate("ois-orders", &json!({ "profile": "xprt" }))
        .unwrap()
        .encode("order", &canonical)
        .unwrap()
        .bytes;
    let seen = log.all();
    assert_eq!(seen[0].body, expected);
    assert_ne!(seen[0].body, canonical);
    let sent: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(sent["OrderNumber"], "100023");
}

#[tokio::test]
async fn the_encode_messages_media_type_is_the_content_type() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../adapters/oci-punchout/fixtures/order-request");
    let adapter_config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures.join("full-order.config.json")).unwrap())
            .unwrap();
    let canonical = std::fs::read(fixtures.join("full-order.encode.json")).unwrap();
    let (address, log) = receiver(|_| StatusCode::OK.into_response()).await;
    let sink = http_sink(
        address,
        json!({ "encode": { "adapter": "oci-punchout", "message": "order-request", "config": adapter_config } }),
    );

    let outcome = deliver(&*sink, "PO-1", "k", &canonical).await;

    assert!(
        matches!(outcome, SendOutcome::Delivered { .. }),
        "{outcome:?}"
    );
    let seen = log.all();
    assert_eq!(seen[0].header("content-type"), Some("text/xml"));
    assert!(String::from_utf8_lossy(&seen[0].body).contains("<OrderRequest"));
}

#[tokio::test]
async fn an_encode_refusal_is_permanent_and_nothing_is_sent() {
    let (address, log) = receiver(|_| StatusCode::OK.into_response()).await;
    let sink = http_sink(
        address,
        json!({ "encode": { "adapter": "ois-orders", "message": "order" } }),
    );
    let refused = std::fs::read(ois_fixture("discount-above-price.encode.json")).unwrap();

    let outcome = deliver(&*sink, "PO-1", "k", &refused).await;

    let SendOutcome::Permanent {
        status: None,
        detail,
    } = outcome
    else {
        panic!("an encode refusal is permanent: {outcome:?}");
    };
    assert!(detail.starts_with("encode refused:"), "{detail}");
    assert!(
        detail.contains("ois.negative_amount") && detail.contains("/lines/0"),
        "{detail}"
    );
    assert!(log.all().is_empty());

    let not_an_order = deliver(&*sink, "PO-1", "k", b"{\"contract\":\"order/v1\"}").await;
    assert!(
        matches!(not_an_order, SendOutcome::Permanent { .. }),
        "{not_an_order:?}"
    );
    assert!(log.all().is_empty());
}

#[test]
fn building_starts_nothing_and_needs_no_runtime() {
    // Outside any tokio runtime, as `tradewire validate` builds: no socket, no task.
    let sink = config(
        "http",
        json!({ "uri": "https://ois.example/v1/Orders",
                "auth": { "strategy": "oauth2", "token_url": "https://ois.example/token",
                          "client_id": "id", "client_secret": "secret" } }),
    )
    .build(&context());
    assert!(sink.is_ok(), "{sink:?}");
}
