//! The login (OCI call-up): read by the adapter's `login`, checked, a session opened, the
//! browser sent on to the shop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};
use tradewire_core::redact_userinfo;
use tradewire_core::{PunchoutFunction, PunchoutSession, Secret};
use tradewire_sdk::CallContext;
use tradewire_store::NewPunchoutSession;

use super::page::page;
use super::{Function, Running, fill, password_matches};
use crate::sources::http::read_body;

/// The token the browser carries: 256 random bits, hex.
fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the store keeps of a token: its SHA-256. A token is 256 random bits, so a digest
/// without salt or stretching cannot be turned back into it.
pub(super) fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The session's fields as kept: everything but the password.
pub(super) fn session_fields(session: &PunchoutSession) -> serde_json::Value {
    let mut kept = session.clone();
    kept.password = Secret::default();
    let mut fields = serde_json::to_value(&kept).unwrap_or_default();
    if let serde_json::Value::Object(map) = &mut fields {
        map.remove("password");
    }
    fields
}

/// A stored session's fields read back as the session the cart page is written for (with
/// an empty password: none was kept).
pub(super) fn session_from_fields(
    fields: &serde_json::Value,
) -> Result<PunchoutSession, serde_json::Error> {
    let mut fields = fields.clone();
    if let serde_json::Value::Object(map) = &mut fields {
        map.entry("password").or_insert(serde_json::Value::from(""));
    }
    serde_json::from_value(fields)
}

fn refused(running: &Running, reason: &'static str) {
    metrics::counter!(
        "tradewire_punchout_login_failures_total",
        "component" => running.gateway.name.clone(),
        "reason" => reason
    )
    .increment(1);
}

pub(super) async fn login(
    State(running): State<Arc<Running>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let gateway = &running.gateway;
    let config = &gateway.config;
    let mut raw = uri.query().unwrap_or_default().as_bytes().to_vec();
    if method == Method::POST {
        let timeout = Duration::from_secs(config.request_timeout_secs);
        match read_body(&headers, body, config.max_body_bytes, timeout).await {
            Ok(body) if !body.is_empty() => {
                if !raw.is_empty() {
                    raw.push(b'&');
                }
                raw.extend(body);
            }
            Ok(_) => {}
            Err(why) => return page(why.status, "The login could not be read", &[why.message]),
        }
    }
    let context = CallContext {
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        ..CallContext::default()
    };
    let adapter = gateway.login.clone();
    let decoded = tokio::task::spawn_blocking(move || adapter.decode(&raw, &context)).await;
    let session: PunchoutSession = match decoded {
        Ok(Ok(reply)) => match serde_json::from_slice(&reply.bytes) {
            Ok(session) => session,
            Err(e) => {
                return page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The login could not be read",
                    &[format!("the adapter's session is not readable: {e}")],
                );
            }
        },
        Ok(Err(e)) => {
            refused(&running, "unreadable");
            let lines = e
                .into_diagnostics()
                .iter()
                .map(|d| format!("{}: {}", d.path, d.message))
                .collect::<Vec<_>>();
            return page(
                StatusCode::BAD_REQUEST,
                "The login could not be read",
                &lines,
            );
        }
        Err(e) => {
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The login could not be read",
                &[format!("reading stopped: {e}")],
            );
        }
    };

    let keys = [
        format!("user:{}", session.username),
        format!("address:{}", peer.ip()),
    ];
    if let Some(wait) = gateway.throttle.waiting(&keys, Instant::now()) {
        refused(&running, "throttled");
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let mut response = page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins",
            &[format!(
                "Logins failed too often for this user or from this address. Try again in {seconds} seconds."
            )],
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }

    // An unknown user costs the same argon2 work as a known one: how long a refusal takes
    // does not tell which usernames exist.
    let account = gateway.account(&session.username);
    let checked_hash = account
        .or(gateway.accounts.first())
        .map(|a| a.password_hash.clone())
        .unwrap_or_default();
    let password = session.password.clone();
    let matches =
        tokio::task::spawn_blocking(move || password_matches(&checked_hash, password.expose()))
            .await
            .unwrap_or(false);
    let Some(account) = account.filter(|_| matches) else {
        gateway.throttle.failed(&keys, Instant::now());
        refused(&running, "credentials");
        return page(
            StatusCode::UNAUTHORIZED,
            "Login refused",
            &["The username or password is not right.".to_owned()],
        );
    };
    gateway.throttle.succeeded(&keys[0]);

    if !account
        .hook_urls
        .iter()
        .any(|p| p.matches(&session.hook_url))
    {
        refused(&running, "hook_url");
        return page(
            StatusCode::FORBIDDEN,
            "Login refused",
            &[
                format!(
                    "Carts of this account may not go to the hook_url the login names ({}).",
                    redact_userinfo(session.hook_url.trim())
                ),
                "The shop can add it to the account's allowed hook URLs.".to_owned(),
            ],
        );
    }

    let token = new_token();
    let language = session.language.clone().unwrap_or_default();
    let location = match &session.function {
        None => fill(
            &config.shop_url,
            &[("session", &token), ("language", &language)],
        ),
        Some(function) => {
            let (kind, values) = function_values(function);
            let Some(template) = kind.template(&config.functions) else {
                return page(
                    StatusCode::NOT_FOUND,
                    "Not offered",
                    &[format!(
                        "This shop does not offer the OCI function {} through punchout.",
                        kind.oci_name()
                    )],
                );
            };
            let mut all: Vec<(&str, &str)> = vec![("session", &token), ("language", &language)];
            all.extend(values.iter().map(|(k, v)| (*k, v.as_str())));
            fill(template, &all)
        }
    };

    let mut kept = session.clone();
    kept.charset = session.charset.clone().or_else(|| account.charset.clone());
    let now = Utc::now();
    let ttl =
        chrono::TimeDelta::seconds(i64::try_from(config.session_ttl_secs).unwrap_or(i64::MAX));
    let opened = running
        .runtime
        .store()
        .open_punchout_session(NewPunchoutSession {
            id: uuid::Uuid::now_v7().to_string(),
            token_hash: token_hash(&token),
            service: gateway.name.clone(),
            account: account.username.clone(),
            created_at: now,
            expires_at: now.checked_add_signed(ttl).unwrap_or(now),
            fields: session_fields(&kept),
        })
        .await;
    if let Err(e) = opened {
        tracing::error!(service = %gateway.name, error = %e, "could not open a punchout session");
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Please try again",
            &["The session could not be opened. Try again in a moment.".to_owned()],
        );
    }
    metrics::counter!(
        "tradewire_punchout_sessions_opened_total",
        "component" => gateway.name.clone()
    )
    .increment(1);
    tracing::info!(service = %gateway.name, account = %account.username, "punchout session opened");
    let mut response = StatusCode::SEE_OTHER.into_response();
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The shop's address is not valid",
            &[
                "The shop URL this gateway is configured with cannot be sent to a browser."
                    .to_owned(),
            ],
        ),
    }
}

/// The function and its template's values.
fn function_values(function: &PunchoutFunction) -> (Function, Vec<(&'static str, String)>) {
    match function {
        PunchoutFunction::Detail { product_id } => {
            (Function::Detail, vec![("product_id", product_id.clone())])
        }
        PunchoutFunction::DetailAdd { product_id } => (
            Function::DetailAdd,
            vec![("product_id", product_id.clone())],
        ),
        PunchoutFunction::Validate {
            product_id,
            quantity,
        } => (
            Function::Validate,
            vec![
                ("product_id", product_id.clone()),
                (
                    "quantity",
                    quantity.map(|q| q.to_string()).unwrap_or_default(),
                ),
            ],
        ),
        PunchoutFunction::BackgroundSearch { search_string } => (
            Function::BackgroundSearch,
            vec![("search_string", search_string.clone())],
        ),
        PunchoutFunction::Sourcing {
            search_string,
            vendor,
        } => (
            Function::Sourcing,
            vec![
                ("search_string", search_string.clone().unwrap_or_default()),
                ("vendor", vendor.clone().unwrap_or_default()),
            ],
        ),
        PunchoutFunction::QuantityCheck => (Function::QuantityCheck, Vec::new()),
    }
}
