//! The cart back: the shop hands a session its cart, the gateway commits it on
//! `<name>.carts` and answers the browser with the page that posts it to the hook URL.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use tradewire_core::{Diagnostics, Document};
use tradewire_sdk::{CallContext, CallError};
use tradewire_store::{Acceptance, CartReturn, Reply, SessionLookup};

use super::login::{session_from_fields, token_hash};
use super::page::page;
use super::{OciGateway, Running};
use crate::ingest::{Input, Refused};
use crate::sources::http::read_body;

/// The form fields a browser posts: the session's token and the cart.
const SESSION_FIELD: &str = "session";
const CART_FIELD: &str = "cart";

fn unknown_session() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Unknown punchout session",
        &["This punchout session is not known here. Open the catalog again from your procurement system.".to_owned()],
    )
}

fn expired_session() -> Response {
    page(
        StatusCode::GONE,
        "Punchout session expired",
        &["This punchout session has expired. Open the catalog again from your procurement system; the cart has to be filled again.".to_owned()],
    )
}

fn answer(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = (status, reply.body).into_response();
    if let Ok(value) = HeaderValue::from_str(&reply.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn refused_page(diagnostics: &Diagnostics) -> Response {
    let mut lines = vec!["The shop's cart cannot be sent to the procurement system:".to_owned()];
    lines.extend(
        diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message)),
    );
    page(StatusCode::UNPROCESSABLE_ENTITY, "Cart refused", &lines)
}

/// The session's token and the cart's bytes: from a form a browser posted (`session`,
/// `cart`, in UTF-8), else the body is the cart and the token is in the query
/// (`?session=`).
fn token_and_cart(
    uri: &Uri,
    headers: &HeaderMap,
    body: Vec<u8>,
) -> Result<(String, Vec<u8>), String> {
    let utf8 = tradewire_sdk::form::charset("UTF-8").ok_or("UTF-8 is unknown")?;
    let fields = |bytes: &[u8], what: &str| -> Result<Vec<(String, String)>, String> {
        tradewire_sdk::form::decode_form(bytes, utf8)
            .map(|form| {
                form.iter()
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect()
            })
            .map_err(|d| format!("{what} is not a UTF-8 form (write `accept-charset=\"UTF-8\"` on the shop's form): {d}"))
    };
    let field = |fields: &[(String, String)], name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let query = fields(uri.query().unwrap_or_default().as_bytes(), "the query")?;
    let from_query = field(&query, SESSION_FIELD);
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if is_form {
        let form = fields(&body, "the body")?;
        let cart = field(&form, CART_FIELD)
            .ok_or_else(|| format!("the form has no `{CART_FIELD}` field"))?;
        let token = field(&form, SESSION_FIELD)
            .or(from_query)
            .ok_or_else(|| format!("the form has no `{SESSION_FIELD}` field"))?;
        Ok((token, cart.into_bytes()))
    } else {
        let token = from_query
            .ok_or_else(|| format!("the request names no session: add `?{SESSION_FIELD}=TOKEN`"))?;
        Ok((token, body))
    }
}

/// The cart as canonical JSON, read by `cart_decode` or as canonical JSON.
fn read_cart(gateway: &OciGateway, cart: &[u8]) -> Result<Vec<u8>, Refused> {
    let json = match &gateway.cart_decode {
        None => cart.to_vec(),
        Some(adapter) => match adapter.decode(cart, &CallContext::default()) {
            Ok(reply) => reply.bytes,
            Err(CallError::Rejected(d)) => return Err(d.into()),
            Err(e) => {
                return Err(Refused {
                    diagnostics: e.into_diagnostics(),
                    adapter_failed: true,
                });
            }
        },
    };
    match Document::from_json(&json, None)? {
        document @ Document::Order(_) => Ok(document.to_json()),
        other => Err(Diagnostics::from(tradewire_core::Diagnostic::error(
            "/contract",
            "punchout.not_a_cart",
            format!("a cart is an order, not a `{}`", other.kind()),
        ))
        .into()),
    }
}

pub(super) async fn return_cart(
    State(running): State<Arc<Running>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let gateway = running.gateway.clone();
    let config = &gateway.config;
    let timeout = Duration::from_secs(config.request_timeout_secs);
    let body = match read_body(&headers, body, config.max_body_bytes, timeout).await {
        Ok(body) => body,
        Err(why) => return page(why.status, "The cart could not be read", &[why.message]),
    };
    let (token, cart) = match token_and_cart(&uri, &headers, body) {
        Ok(found) => found,
        Err(why) => {
            return page(
                StatusCode::BAD_REQUEST,
                "The cart could not be read",
                &[why],
            );
        }
    };
    let hash = token_hash(&token);
    let store = running.runtime.store();
    let record = match store
        .punchout_session(SessionLookup::TokenHash(hash.clone()))
        .await
    {
        Ok(Some(record)) => record,
        Ok(None) => return unknown_session(),
        Err(e) => {
            tracing::error!(service = %gateway.name, error = %e, "cannot read punchout sessions");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                &["The cart could not be taken now. Try again in a moment.".to_owned()],
            );
        }
    };
    if let Some(returned) = record.cart {
        return answer(returned.page);
    }
    if record.expires_at <= Utc::now() {
        return expired_session();
    }
    let Some(account) = gateway.account(&record.account) else {
        return expired_session();
    };
    let session = match session_from_fields(&record.fields) {
        Ok(session) => session,
        Err(e) => {
            tracing::error!(service = %gateway.name, session = %record.id, error = %e, "a stored session is unreadable");
            return expired_session();
        }
    };
    let charset = session
        .charset
        .clone()
        .unwrap_or_else(|| "UTF-8".to_owned());
    let context = CallContext {
        punchout_session: Some(session),
        ..CallContext::default()
    };

    // Read the cart and write its page on the blocking pool: adapters are synchronous.
    let page_adapter = account.page.clone();
    let prepared = {
        let (gateway, cart, context) = (gateway.clone(), cart.clone(), context.clone());
        tokio::task::spawn_blocking(move || {
            let canonical = read_cart(&gateway, &cart)?;
            match page_adapter.encode(&canonical, &context) {
                Ok(page) => Ok((canonical, page.bytes)),
                Err(CallError::Rejected(d)) => Err(Refused::from(d)),
                Err(e) => Err(Refused {
                    diagnostics: e.into_diagnostics(),
                    adapter_failed: true,
                }),
            }
        })
        .await
    };
    let ingest = &running.runtime.ingest;
    let key = Some(record.id.clone());
    let (canonical, page_bytes) = match prepared {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(refused)) => {
            let page = refused_page(&refused.diagnostics);
            ingest
                .refuse(&running.carts, &cart, &context, key, refused)
                .await;
            return page;
        }
        Err(e) => {
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The cart could not be read",
                &[format!("reading stopped: {e}")],
            );
        }
    };
    let reply = Reply {
        status: 200,
        content_type: format!("text/html; charset={charset}"),
        body: page_bytes,
    };
    let input = Input {
        raw: cart.clone(),
        decoded: Some(canonical),
        context: context.clone(),
        key: key.clone(),
        fallback_key: None,
    };
    let incoming = match ingest.incoming(&running.carts, input, Some(reply)).await {
        Ok(incoming) => incoming,
        Err(refused) => {
            let page = refused_page(&refused.diagnostics);
            ingest
                .refuse(&running.carts, &cart, &context, key, refused)
                .await;
            return page;
        }
    };
    let sinks: Vec<String> = incoming.deliveries.iter().map(|d| d.sink.clone()).collect();
    let reply = incoming.reply.clone();
    match store
        .return_punchout_cart(&hash, incoming, Utc::now())
        .await
    {
        Ok(CartReturn::Returned(Acceptance::Accepted)) => {
            ingest.wake(&sinks);
            metrics::counter!(
                "tradewire_punchout_carts_returned_total",
                "component" => gateway.name.clone()
            )
            .increment(1);
            answer(reply)
        }
        Ok(CartReturn::Returned(Acceptance::Duplicate { reply, .. })) => answer(reply),
        Ok(CartReturn::Returned(Acceptance::Conflict { .. })) => page(
            StatusCode::CONFLICT,
            "Cart already taken",
            &["A cart was taken for this session before.".to_owned()],
        ),
        Ok(CartReturn::AlreadyReturned { page, .. }) => answer(page),
        Ok(CartReturn::Expired) => expired_session(),
        Ok(CartReturn::Unknown) => unknown_session(),
        Err(e) => {
            tracing::error!(service = %gateway.name, error = %e, "could not commit a cart");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                &["The cart could not be taken now. Try again in a moment.".to_owned()],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        headers
    }

    #[test]
    fn a_browsers_form_carries_the_session_and_the_cart() {
        let uri: Uri = "/cart".parse().unwrap_or_default();
        let body = b"session=abc&cart=%7B%22x%22%3A%22Gr%C3%B6%C3%9Fe%22%7D".to_vec();
        assert_eq!(
            token_and_cart(&uri, &form_headers(), body),
            Ok(("abc".to_owned(), r#"{"x":"Größe"}"#.as_bytes().to_vec()))
        );
    }

    #[test]
    fn a_servers_body_is_the_cart_and_the_query_names_the_session() {
        let uri: Uri = "/cart?session=abc".parse().unwrap_or_default();
        let body = br#"{"contract":"order/v1"}"#.to_vec();
        assert_eq!(
            token_and_cart(&uri, &HeaderMap::new(), body.clone()),
            Ok(("abc".to_owned(), body))
        );
        let uri: Uri = "/cart".parse().unwrap_or_default();
        let missing = token_and_cart(&uri, &HeaderMap::new(), Vec::new());
        assert!(missing.is_err_and(|why| why.contains("?session=TOKEN")));
    }

    #[test]
    fn a_form_in_another_charset_is_named_as_such() {
        let uri: Uri = "/cart".parse().unwrap_or_default();
        // `ö` as ISO-8859-1 sends it.
        let body = b"session=abc&cart=Gr%F6%DFe".to_vec();
        let refused = token_and_cart(&uri, &form_headers(), body);
        assert!(
            refused
                .as_ref()
                .is_err_and(|why| why.contains("accept-charset")),
            "{refused:?}"
        );
        let no_cart = token_and_cart(&uri, &form_headers(), b"session=abc".to_vec());
        assert!(no_cart.is_err_and(|why| why.contains("no `cart` field")));
    }
}
