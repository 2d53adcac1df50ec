//! Service `oci_gateway`: the shop's side of an OCI punchout, so that a webshop with no OCI
//! code of its own sells to SAP SRM, Ariba, Coupa and the rest.
//!
//! - **Login** (`login_paths`, GET or POST): the call-up is read by the `oci-punchout`
//!   adapter's `login`; the password is checked against the account's argon2 hash, the
//!   hook URL against its allow-list; a session opens (a random token, kept as its
//!   digest) and the browser is sent (303) to `shop_url`, or to the URL template of the
//!   OCI `FUNCTION` asked for.
//! - **Cart back** (`cart_path`): the shop hands the session's cart (canonical JSON, or a
//!   message of `cart_decode`); it is committed and emitted on `<name>.carts` before the
//!   browser gets the `cart-page` that posts it to the hook URL. Once per session.
//! - **Order** (`order_path`): a cXML `OrderRequest`, checked against the account's
//!   credential and shared secret, committed and emitted on `<name>.orders` before the
//!   cXML `Response`.

mod allow;
mod cart;
mod login;
mod orders;
mod page;
mod throttle;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use axum::routing::{get, post};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tradewire_core::Secret;
use tradewire_core::check_hook_url;
use tradewire_sdk::Direction;

use crate::adapter::{AdapterRef, BoundAdapter};
use crate::ingest::Origin;
use crate::secrets::blank_shared_secrets;
use crate::services::{Service, ServiceRuntime};
use crate::{BuildContext, ConfigError};

pub use allow::HookUrlPattern;

/// The named outputs: the carts sessions return, the orders that follow.
pub const OUTPUTS: &[&str] = &["carts", "orders"];

/// The adapter every message of the round trip is read and written with.
const ADAPTER: &str = "oci-punchout";

/// Serves the OCI punchout round trip for a shop: logins, returned carts, cXML orders.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OciGatewayConfig {
    /// Where to listen, e.g. `127.0.0.1:8090`.
    pub address: SocketAddr,
    /// The paths that take a login (OCI call-up), by GET and POST: `/login` and shoxl's
    /// `/ocihome` are both common.
    #[serde(default = "default_login_paths")]
    pub login_paths: Vec<String>,
    /// Where a login sends the browser: the shop's punchout entry, with `{session}` where
    /// the session token goes (`https://shop.example/punchout/start?session={session}`).
    pub shop_url: String,
    /// Where a login that asks for an OCI `FUNCTION` sends the browser instead, per
    /// function, with its parameters as `{product_id}`, `{quantity}`, `{search_string}`,
    /// `{vendor}` (and `{session}`, `{language}`). A function without one is answered with
    /// a page saying the shop does not offer it.
    #[serde(default)]
    pub functions: FunctionUrls,
    /// The path the shop returns a session's cart to (POST).
    #[serde(default = "default_cart_path")]
    pub cart_path: String,
    /// The path that takes cXML `OrderRequest`s (POST).
    #[serde(default = "default_order_path")]
    pub order_path: String,
    /// How long a session stays open for its cart.
    #[serde(default = "default_session_ttl_secs")]
    pub session_ttl_secs: u64,
    /// The adapter message a returned cart is written in (an e-connecteur order, an OCI
    /// `cart` form); without one, returned carts are canonical JSON.
    #[serde(default)]
    pub cart_decode: Option<AdapterRef>,
    /// The `oci-punchout` adapter's config for the round trip's messages (units, default
    /// unit, button label, cXML defaults; `tradewire schema --adapter oci-punchout`).
    #[serde(default = "crate::adapter::empty_object")]
    #[schemars(with = "serde_json::Map<String, Value>")]
    pub oci: Value,
    /// How repeated failed logins slow down.
    #[serde(default)]
    pub login_throttle: ThrottleConfig,
    /// Request bodies larger than this are refused with 413.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// A request that has not arrived whole within this many seconds is answered 408.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// The buyers' accounts.
    pub accounts: Vec<AccountConfig>,
}

/// URL templates for the OCI functions.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FunctionUrls {
    pub detail: Option<String>,
    pub detail_add: Option<String>,
    pub validate: Option<String>,
    pub background_search: Option<String>,
    pub sourcing: Option<String>,
    pub quantity_check: Option<String>,
}

/// After `free_failures` failed logins in a row, a username or an address waits 1 s before
/// it is tried again, then twice as long after each further failure, up to `max_wait_secs`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    #[serde(default = "default_free_failures")]
    pub free_failures: u32,
    #[serde(default = "default_max_wait_secs")]
    pub max_wait_secs: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            free_failures: default_free_failures(),
            max_wait_secs: default_max_wait_secs(),
        }
    }
}

/// A buyer's account.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub username: String,
    /// The password's argon2 hash in PHC form (`$argon2id$v=19$...`):
    /// `tradewire hash-password` makes one.
    pub password_hash: String,
    /// Where this account's carts may go: `https://srm.example.com/*`,
    /// `https://*.coupahost.com/*`.
    pub hook_urls: Vec<String>,
    /// The charset carts go back in when the login does not say (`ISO-8859-1`).
    #[serde(default)]
    pub charset: Option<String>,
    /// The cXML orders this account sends: the `From` credential they carry and the
    /// shared secret they must present.
    #[serde(default)]
    pub cxml: Option<AccountCxml>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountCxml {
    pub shared_secret: Secret,
    pub from: Credential,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub domain: String,
    pub identity: String,
}

fn default_login_paths() -> Vec<String> {
    vec!["/login".to_owned()]
}

fn default_cart_path() -> String {
    "/cart".to_owned()
}

fn default_order_path() -> String {
    "/cxml/order".to_owned()
}

fn default_session_ttl_secs() -> u64 {
    4 * 3600
}

fn default_free_failures() -> u32 {
    5
}

fn default_max_wait_secs() -> u64 {
    300
}

fn default_max_body_bytes() -> usize {
    10 << 20
}

fn default_request_timeout_secs() -> u64 {
    30
}

/// An OCI function, as the templates and the login name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Detail,
    DetailAdd,
    Validate,
    BackgroundSearch,
    Sourcing,
    QuantityCheck,
}

impl Function {
    const ALL: [Self; 6] = [
        Self::Detail,
        Self::DetailAdd,
        Self::Validate,
        Self::BackgroundSearch,
        Self::Sourcing,
        Self::QuantityCheck,
    ];

    /// The config key.
    fn key(self) -> &'static str {
        match self {
            Self::Detail => "detail",
            Self::DetailAdd => "detail_add",
            Self::Validate => "validate",
            Self::BackgroundSearch => "background_search",
            Self::Sourcing => "sourcing",
            Self::QuantityCheck => "quantity_check",
        }
    }

    /// The OCI name.
    fn oci_name(self) -> &'static str {
        match self {
            Self::Detail => "DETAIL",
            Self::DetailAdd => "DETAILADD",
            Self::Validate => "VALIDATE",
            Self::BackgroundSearch => "BACKGROUND_SEARCH",
            Self::Sourcing => "SOURCING",
            Self::QuantityCheck => "QUANTITYCHECK",
        }
    }

    /// The placeholders its template may use besides `{session}` and `{language}`.
    fn parameters(self) -> &'static [&'static str] {
        match self {
            Self::Detail | Self::DetailAdd => &["product_id"],
            Self::Validate => &["product_id", "quantity"],
            Self::BackgroundSearch => &["search_string"],
            Self::Sourcing => &["search_string", "vendor"],
            Self::QuantityCheck => &[],
        }
    }

    fn template(self, urls: &FunctionUrls) -> Option<&String> {
        match self {
            Self::Detail => urls.detail.as_ref(),
            Self::DetailAdd => urls.detail_add.as_ref(),
            Self::Validate => urls.validate.as_ref(),
            Self::BackgroundSearch => urls.background_search.as_ref(),
            Self::Sourcing => urls.sourcing.as_ref(),
            Self::QuantityCheck => urls.quantity_check.as_ref(),
        }
    }
}

/// The `{name}` placeholders of `template`, or why it is malformed.
fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("a `}` without its `{`".to_owned());
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a `{` without its `}`".to_owned())?;
        found.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Ok(found)
}

/// `template` with each `{name}` replaced by its value, percent-encoded.
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            break;
        };
        let name = &after[..close];
        let value = values
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v);
        out.extend(percent_encoding::utf8_percent_encode(value, COMPONENT));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Checks a URL template: an absolute http(s) URL whose placeholders are among `allowed`.
fn check_template(template: &str, allowed: &[&str], path: &[&str]) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    match placeholders(template) {
        Err(why) => errors.push(ConfigError::new(path, format!("not a URL template: {why}"))),
        Ok(names) => {
            for name in names {
                if !allowed.contains(&name) {
                    errors.push(ConfigError::new(
                        path,
                        format!(
                            "unknown placeholder `{{{name}}}`: this template may use {}",
                            allowed
                                .iter()
                                .map(|a| format!("{{{a}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
        }
    }
    if let Err(why) = check_hook_url(&fill(template, &[])) {
        errors.push(ConfigError::new(
            path,
            format!("`{template}` {why}: the browser is sent there"),
        ));
    }
    errors
}

/// Hashes `password` for an account's `password_hash` (argon2id, a random salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` is the one `hash` was made of. The comparison inside is the
/// argon2 crate's, in constant time.
fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// An account, checked and with its adapters bound.
#[derive(Debug)]
pub(crate) struct Account {
    pub username: String,
    pub password_hash: String,
    pub hook_urls: Vec<HookUrlPattern>,
    pub charset: Option<String>,
    /// `cart-page`, in the account's charset when the login names none.
    pub page: BoundAdapter,
    /// `order-request` decoding with the account's shared secret, and its `From`.
    pub orders: Option<(BoundAdapter, Credential)>,
}

/// The gateway, built.
#[derive(Debug)]
pub struct OciGateway {
    pub(crate) name: String,
    pub(crate) config: OciGatewayConfig,
    pub(crate) login: BoundAdapter,
    /// `order-request` decoding without a secret: which account an order claims to be from.
    pub(crate) order_probe: BoundAdapter,
    /// `order-response`: the cXML `Response` orders are answered with.
    pub(crate) order_reply: BoundAdapter,
    pub(crate) cart_decode: Option<BoundAdapter>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) throttle: throttle::Throttle,
}

/// The `oci-punchout` adapter's config for an account: the service's `oci`, with the
/// account's charset and cXML credential over it.
fn account_adapter_config(base: &Value, account: &AccountConfig, with_secret: bool) -> Value {
    let mut config = base.clone();
    if let Value::Object(map) = &mut config {
        if let Some(charset) = &account.charset {
            map.insert("charset".into(), json!(charset));
        }
        if let (true, Some(cxml)) = (with_secret, &account.cxml) {
            let mut section = map
                .remove("cxml")
                .filter(Value::is_object)
                .unwrap_or_else(crate::adapter::empty_object);
            if let Value::Object(section) = &mut section {
                section.insert("shared_secret".into(), json!(cxml.shared_secret.expose()));
            }
            map.insert("cxml".into(), section);
        }
    }
    config
}

/// Binds `message` of the adapter with `config`; errors in the adapter's config are put
/// at `config_at` (the config key the value came from).
fn bind(
    message: &str,
    direction: Direction,
    config: Value,
    config_at: &[String],
    cx: &BuildContext<'_>,
) -> Result<BoundAdapter, Vec<ConfigError>> {
    AdapterRef {
        adapter: ADAPTER.to_owned(),
        message: message.to_owned(),
        config,
    }
    .bind(direction, cx)
    .map_err(|errors| {
        errors
            .into_iter()
            .map(|mut e| {
                if e.path.first().is_some_and(|p| p == "config") {
                    e.path.splice(..1, config_at.iter().cloned());
                }
                e
            })
            .collect()
    })
}

impl OciGateway {
    pub fn build(
        name: &str,
        config: &OciGatewayConfig,
        cx: &BuildContext<'_>,
    ) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let oci_at = ["oci".to_owned()];

        let mut paths = BTreeSet::new();
        let all_paths = config
            .login_paths
            .iter()
            .enumerate()
            .map(|(i, p)| (vec!["login_paths".to_owned(), i.to_string()], p))
            .chain([
                (vec!["cart_path".to_owned()], &config.cart_path),
                (vec!["order_path".to_owned()], &config.order_path),
            ]);
        for (at, path) in all_paths {
            let at: Vec<&str> = at.iter().map(String::as_str).collect();
            if !path.starts_with('/') || path.contains(['?', '#', '{', '}', '*']) {
                errors.push(ConfigError::new(
                    &at,
                    format!("`{path}` is not a request path: it starts with `/` and has no `?`, `#`, `{{`, `}}` or `*`"),
                ));
            } else if !paths.insert(path.as_str()) {
                errors.push(ConfigError::new(
                    &at,
                    format!("`{path}` is used twice: each path does one thing"),
                ));
            }
        }
        if config.login_paths.is_empty() {
            errors.push(ConfigError::new(
                &["login_paths"],
                "name at least one path that takes logins",
            ));
        }
        errors.extend(check_template(
            &config.shop_url,
            &["session", "language"],
            &["shop_url"],
        ));
        if !config.shop_url.contains("{session}") {
            errors.push(ConfigError::new(
                &["shop_url"],
                "the shop needs the session: put `{session}` where its token goes",
            ));
        }
        for function in Function::ALL {
            if let Some(template) = function.template(&config.functions) {
                let mut allowed = vec!["session", "language"];
                allowed.extend(function.parameters());
                errors.extend(check_template(
                    template,
                    &allowed,
                    &["functions", function.key()],
                ));
            }
        }
        if config.session_ttl_secs == 0 {
            errors.push(ConfigError::new(
                &["session_ttl_secs"],
                "a session must stay open a while: at least 1 second",
            ));
        }

        let login = bind("login", Direction::Decode, config.oci.clone(), &oci_at, cx);
        let order_probe = bind(
            "order-request",
            Direction::Decode,
            config.oci.clone(),
            &oci_at,
            cx,
        );
        let order_reply = bind(
            "order-response",
            Direction::Encode,
            config.oci.clone(),
            &oci_at,
            cx,
        );
        let cart_decode = crate::adapter::bind_optional(
            config.cart_decode.as_ref(),
            Direction::Decode,
            "cart_decode",
            cx,
        );
        if let Ok(Some(decode)) = &cart_decode
            && decode.document != tradewire_core::DocumentKind::Order
        {
            errors.push(ConfigError::new(
                &["cart_decode", "message"],
                format!(
                    "a cart is an order; this message decodes `{}`",
                    decode.document.contract_id()
                ),
            ));
        }

        if config.accounts.is_empty() {
            errors.push(ConfigError::new(
                &["accounts"],
                "name at least one account: `[[services.NAME.accounts]]`",
            ));
        }
        let mut accounts = Vec::new();
        let mut usernames = BTreeSet::new();
        for (i, account) in config.accounts.iter().enumerate() {
            let index = i.to_string();
            let at = |key: &str| {
                ["accounts", index.as_str(), key]
                    .map(str::to_owned)
                    .to_vec()
            };
            let error_at = |key: &str, message: String| ConfigError {
                path: at(key),
                message,
            };
            let mut account_errors = Vec::new();
            if account.username.is_empty() {
                account_errors.push(error_at("username", "a username is not empty".into()));
            } else if !usernames.insert(account.username.as_str()) {
                account_errors.push(error_at(
                    "username",
                    format!("`{}` is the username of another account", account.username),
                ));
            }
            match PasswordHash::new(&account.password_hash) {
                Ok(hash) if hash.algorithm.as_str().starts_with("argon2") => {}
                Ok(hash) => account_errors.push(error_at(
                    "password_hash",
                    format!(
                        "an argon2 hash is expected, not {} (`tradewire hash-password` makes one)",
                        hash.algorithm
                    ),
                )),
                Err(e) => account_errors.push(error_at(
                    "password_hash",
                    format!("not a PHC hash string ({e}): `tradewire hash-password` makes one"),
                )),
            }
            if account.hook_urls.is_empty() {
                account_errors.push(error_at(
                    "hook_urls",
                    "name where this account's carts may go, e.g. `https://srm.example.com/*`"
                        .into(),
                ));
            }
            let mut hook_urls = Vec::new();
            for (j, pattern) in account.hook_urls.iter().enumerate() {
                match HookUrlPattern::parse(pattern) {
                    Ok(p) => hook_urls.push(p),
                    Err(why) => {
                        let mut path = at("hook_urls");
                        path.push(j.to_string());
                        account_errors.push(ConfigError { path, message: why });
                    }
                }
            }
            let charset_at = at("charset");
            let page = bind(
                "cart-page",
                Direction::Encode,
                account_adapter_config(&config.oci, account, false),
                &oci_at,
                cx,
            )
            .map_err(|errors| {
                errors
                    .into_iter()
                    .map(|mut e| {
                        // The account's own value is what is wrong, not the service's.
                        if e.path.get(1).is_some_and(|p| p == "charset")
                            && account.charset.is_some()
                        {
                            e.path = charset_at.clone();
                        }
                        e
                    })
                    .collect::<Vec<_>>()
            });
            let orders = account.cxml.as_ref().map(|cxml| {
                bind(
                    "order-request",
                    Direction::Decode,
                    account_adapter_config(&config.oci, account, true),
                    &oci_at,
                    cx,
                )
                .map(|adapter| (adapter, cxml.from.clone()))
            });
            match (page, orders.transpose()) {
                (Ok(page), Ok(orders)) if account_errors.is_empty() => accounts.push(Account {
                    username: account.username.clone(),
                    password_hash: account.password_hash.clone(),
                    hook_urls,
                    charset: account.charset.clone(),
                    page,
                    orders,
                }),
                (page, orders) => {
                    errors.extend(account_errors);
                    errors.extend(page.err().into_iter().flatten());
                    errors.extend(orders.err().into_iter().flatten());
                }
            }
        }

        let (login, order_probe, order_reply, cart_decode) =
            match (login, order_probe, order_reply, cart_decode) {
                (Ok(a), Ok(b), Ok(c), Ok(d)) if errors.is_empty() => (a, b, c, d),
                (a, b, c, d) => {
                    errors.extend(a.err().into_iter().flatten());
                    errors.extend(b.err().into_iter().flatten());
                    errors.extend(c.err().into_iter().flatten());
                    errors.extend(d.err().into_iter().flatten());
                    // The same problem in `oci` is found by every binding: say it once.
                    let mut seen = BTreeSet::new();
                    errors.retain(|e| seen.insert((e.path.clone(), e.message.clone())));
                    return Err(errors);
                }
            };
        Ok(Self {
            name: name.to_owned(),
            config: config.clone(),
            login,
            order_probe,
            order_reply,
            cart_decode,
            accounts,
            throttle: throttle::Throttle::new(
                config.login_throttle.free_failures,
                Duration::from_secs(config.login_throttle.max_wait_secs),
            ),
        })
    }

    pub(crate) fn account(&self, username: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.username == username)
    }
}

/// What the running gateway holds: itself, and where its documents go.
#[derive(Debug)]
pub(crate) struct Running {
    pub gateway: Arc<OciGateway>,
    pub runtime: ServiceRuntime,
    pub carts: Arc<Origin>,
    /// Orders refused before an account's decode: kept, and answered as cXML.
    pub orders: Arc<Origin>,
    /// Per account (by index), its orders' origin, decoding with its shared secret.
    pub account_orders: Vec<Option<Arc<Origin>>>,
}

impl Service for OciGateway {
    fn router(self: Arc<Self>, runtime: ServiceRuntime) -> axum::Router {
        let running = Arc::new(Running {
            carts: runtime.origin("carts", None, None, None),
            orders: runtime.origin(
                "orders",
                None,
                Some(self.order_reply.clone()),
                Some(blank_shared_secrets),
            ),
            account_orders: self
                .accounts
                .iter()
                .map(|a| {
                    a.orders.as_ref().map(|(decode, _)| {
                        runtime.origin(
                            "orders",
                            Some(decode.clone()),
                            Some(self.order_reply.clone()),
                            Some(blank_shared_secrets),
                        )
                    })
                })
                .collect(),
            runtime,
            gateway: self.clone(),
        });
        let mut router = axum::Router::new();
        for path in &self.config.login_paths {
            router = router.route(path, get(login::login).post(login::login));
        }
        router
            .route(&self.config.cart_path, post(cart::return_cart))
            .route(&self.config.order_path, post(orders::order))
            .with_state(running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_with_encoded_values() {
        assert_eq!(
            fill(
                "https://shop.example/p/{product_id}?s={session}&q={quantity}",
                &[
                    ("product_id", "A/1 ü"),
                    ("session", "abc"),
                    ("quantity", "")
                ]
            ),
            "https://shop.example/p/A%2F1%20%C3%BC?s=abc&q="
        );
    }

    #[test]
    fn templates_name_known_placeholders_only() {
        assert!(
            check_template("https://shop.example/?s={session}", &["session"], &["x"]).is_empty()
        );
        let unknown = check_template("https://shop.example/?s={sesion}", &["session"], &["x"]);
        assert!(unknown[0].message.contains("`{sesion}`"), "{unknown:?}");
        assert!(
            !check_template("https://shop.example/?s={session", &["session"], &["x"]).is_empty()
        );
        assert!(!check_template("javascript:go({session})", &["session"], &["x"]).is_empty());
    }

    #[test]
    fn a_hashed_password_matches_itself_only() {
        let hash = hash_password("correct horse").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches(&hash, "correct horse"));
        assert!(!password_matches(&hash, "correct hors"));
        assert!(!password_matches("not a hash", "correct horse"));
    }
}
