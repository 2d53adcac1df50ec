//! The `http` sink: each document in one request to a receiver, with the delivery's key as
//! `Idempotency-Key`, authenticated as configured, and the answer classified.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue,
    RETRY_AFTER, TRANSFER_ENCODING,
};
use reqwest::{Certificate, Client, Method, RequestBuilder, Response, StatusCode, Url};
use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_core::Secret;

use super::encode::Encoder;
use super::{Delivery, RetryConfig, SendOutcome, Sink, default_concurrency, positive_seconds};
use crate::adapter::AdapterRef;
use crate::{BuildContext, ConfigError};

/// How much of an answer's body is kept as the attempt's `detail`.
pub const DETAIL_LIMIT: usize = 1024;

/// How much of a token endpoint's answer is read: enough for any access token (JWTs run to
/// a few KiB), bounded so that a wrong `token_url` cannot make the sink read a whole page.
const TOKEN_RESPONSE_LIMIT: usize = 64 * 1024;

/// How long before its `expires_in` a cached OAuth2 token is replaced (at most half its
/// lifetime), so that it does not expire on the way to the receiver.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(30);

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Sends each document to an HTTP endpoint. A 2xx answer is delivered; a connection error,
/// a timeout, 408, 425, 429 or 5xx is retried (honouring `Retry-After`); any other answer,
/// a redirect included, is permanent.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSinkConfig {
    /// Where documents are sent: an absolute `http://` or `https://` URL, without
    /// credentials (those go in `auth`).
    pub uri: String,
    /// The request's method.
    #[serde(default)]
    pub method: HttpMethod,
    /// Headers sent with every request. `Idempotency-Key`, `Content-Length`, `Host` and
    /// `Transfer-Encoding` are the sink's own, and `Authorization` too when `auth` is set;
    /// a `Content-Type` here replaces the document's media type. Values are kept secret
    /// (never logged): one may be an API key.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub headers: BTreeMap<String, Secret>,
    /// Encode the canonical document with an adapter before sending (its message's media
    /// type becomes the `Content-Type`); without it the canonical JSON is sent.
    #[serde(default)]
    pub encode: Option<AdapterRef>,
    /// How long one attempt may take, from connecting to the answer's last byte, in
    /// seconds (fractions allowed). A timeout is retried.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: f64,
    /// How the receiver's certificate is checked.
    #[serde(default)]
    pub tls: TlsConfig,
    /// How requests authenticate.
    #[serde(default)]
    pub auth: AuthConfig,
    /// How temporary failures are retried.
    #[serde(default)]
    pub retry: RetryConfig,
    /// How many deliveries are attempted at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: NonZeroUsize,
}

fn default_timeout_secs() -> f64 {
    30.0
}

/// The methods that carry a document, spelt as HTTP spells them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Post,
    Put,
    Patch,
}

impl From<HttpMethod> for Method {
    fn from(method: HttpMethod) -> Self {
        match method {
            HttpMethod::Post => Self::POST,
            HttpMethod::Put => Self::PUT,
            HttpMethod::Patch => Self::PATCH,
        }
    }
}

/// TLS (rustls). Certificates are checked against the Mozilla roots built in, plus
/// `ca_file`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Check the receiver's certificate and name. Turn off only to test against a
    /// self-signed server: anyone on the path can then read and change the traffic.
    #[serde(default = "verify_by_default")]
    pub verify: bool,
    /// A PEM file of CA certificates also trusted (a private CA), read when the sink is
    /// built.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

fn verify_by_default() -> bool {
    true
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            verify: true,
            ca_file: None,
        }
    }
}

/// How requests authenticate (`strategy`).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(tag = "strategy", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// No `Authorization` header.
    None {},
    /// HTTP Basic.
    Basic {
        /// The user name (no `:`).
        user: String,
        /// The password, kept secret (`${VAR}` keeps it out of the file too).
        #[schemars(with = "String")]
        password: Secret,
    },
    /// A fixed bearer token.
    Bearer {
        /// The token, kept secret.
        #[schemars(with = "String")]
        token: Secret,
    },
    /// OAuth 2.0 client credentials: a token from `token_url`, cached until shortly
    /// before it expires, fetched again once when the receiver answers 401.
    Oauth2(OAuth2Config),
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self::None {}
    }
}

/// The OAuth 2.0 client credentials grant (RFC 6749 §4.4).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    /// The token endpoint: an absolute `http://` or `https://` URL.
    pub token_url: String,
    /// The client's id.
    pub client_id: String,
    /// The client's secret, kept secret.
    #[schemars(with = "String")]
    pub client_secret: Secret,
    /// The scopes asked for, space-separated; none sent when absent.
    #[serde(default)]
    pub scope: Option<String>,
    /// How the client authenticates to the token endpoint: `basic` (HTTP Basic, which
    /// every server must accept) or `post` (`client_id` and `client_secret` in the form).
    #[serde(default)]
    pub client_auth: ClientAuth,
}

/// Where the client's credentials go in a token request (OpenID's
/// `client_secret_basic` and `client_secret_post`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// In an `Authorization: Basic` header.
    #[default]
    Basic,
    /// As `client_id` and `client_secret` in the request's form.
    Post,
}

impl HttpSinkConfig {
    /// Checks the config and prepares the sink's client. Nothing is sent; `tls.ca_file`
    /// is read.
    pub fn build(&self, cx: &BuildContext<'_>) -> Result<HttpSink, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let uri = keep(
            absolute_http_url(&self.uri).map_err(|why| vec![ConfigError::new(&["uri"], why)]),
            &mut errors,
        );
        let timeout = keep(
            positive_seconds(self.timeout_secs).ok_or_else(|| {
                vec![ConfigError::new(
                    &["timeout_secs"],
                    "must be a number of seconds above 0",
                )]
            }),
            &mut errors,
        );
        let headers = keep(self.header_map(), &mut errors);
        let client = keep(self.tls.client(cx), &mut errors);
        let encoder = keep(Encoder::bind(self.encode.as_ref(), cx), &mut errors);
        let auth = keep(
            Auth::new(&self.auth)
                .map_err(|errors| errors.into_iter().map(|e| e.under("auth")).collect()),
            &mut errors,
        );
        match (uri, timeout, headers, client, encoder, auth) {
            (
                Some(uri),
                Some(timeout),
                Some(mut headers),
                Some(client),
                Some(encoder),
                Some(auth),
            ) if errors.is_empty() => Ok(HttpSink {
                client,
                uri,
                method: self.method.into(),
                content_type: headers.remove(CONTENT_TYPE),
                headers,
                timeout,
                encoder,
                auth,
            }),
            _ => Err(errors),
        }
    }

    fn header_map(&self) -> Result<HeaderMap, Vec<ConfigError>> {
        let reserved = [IDEMPOTENCY_KEY, CONTENT_LENGTH, HOST, TRANSFER_ENCODING];
        let mut map = HeaderMap::new();
        let mut errors = Vec::new();
        for (name, value) in &self.headers {
            let at = |message: String| ConfigError::new(&["headers", name], message);
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                errors.push(at("not a valid header name".to_owned()));
                continue;
            };
            if reserved.contains(&header) {
                errors.push(at(format!("`{header}` is set by the sink itself")));
                continue;
            }
            if header == AUTHORIZATION && self.auth != AuthConfig::default() {
                errors.push(at(
                    "`authorization` is set by `auth`: use one or the other".to_owned()
                ));
                continue;
            }
            // The value may be a credential: the message does not repeat it.
            let Ok(mut value) = HeaderValue::from_str(value.expose()) else {
                errors.push(at(NOT_A_HEADER_VALUE.to_owned()));
                continue;
            };
            value.set_sensitive(true);
            map.insert(header, value);
        }
        if errors.is_empty() {
            Ok(map)
        } else {
            Err(errors)
        }
    }
}

const NOT_A_HEADER_VALUE: &str =
    "not a valid header value (line breaks and control characters are not allowed)";

impl TlsConfig {
    /// A client checking certificates as configured, never following redirects.
    pub(crate) fn client(&self, cx: &BuildContext<'_>) -> Result<Client, Vec<ConfigError>> {
        let mut builder = Client::builder()
            .use_rustls_tls()
            .user_agent(concat!("tradewire/", env!("CARGO_PKG_VERSION")))
            // A POST redirected is replayed as a GET: a 3xx is an answer to fix the uri by.
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(!self.verify);
        if let Some(path) = &self.ca_file {
            let path = &cx.resolve(path);
            let at = |message: String| vec![ConfigError::new(&["tls", "ca_file"], message)];
            let pem = std::fs::read(path)
                .map_err(|e| at(format!("cannot read `{}`: {e}", path.display())))?;
            let certificates = Certificate::from_pem_bundle(&pem).map_err(|e| {
                at(format!(
                    "`{}` is not PEM: {}",
                    path.display(),
                    error_text(e)
                ))
            })?;
            if certificates.is_empty() {
                return Err(at(format!(
                    "`{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    path.display()
                )));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        builder.build().map_err(|e| {
            let path: &[&str] = if self.ca_file.is_some() {
                &["tls", "ca_file"]
            } else {
                &["tls"]
            };
            vec![ConfigError::new(
                path,
                format!("cannot set up TLS: {}", error_text(e)),
            )]
        })
    }
}

/// `value` as an absolute http(s) URL, or why not. The value is not repeated: a
/// mistyped URL may carry a credential.
pub(crate) fn absolute_http_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme is `{}`: only http and https are sent to",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the URL carries credentials: put them in `auth`, where they are kept secret"
                .to_owned(),
        );
    }
    Ok(url)
}

/// Keeps `result`'s value, or its errors in `errors`.
pub(crate) fn keep<T>(
    result: Result<T, Vec<ConfigError>>,
    errors: &mut Vec<ConfigError>,
) -> Option<T> {
    result.map_err(|e| errors.extend(e)).ok()
}

/// The sink built from [`HttpSinkConfig`]. Its `Debug` shows no secret.
#[derive(Debug)]
pub struct HttpSink {
    client: Client,
    uri: Url,
    method: Method,
    /// `headers` but `Content-Type`, marked sensitive: their `Debug` prints no value.
    headers: HeaderMap,
    /// A `Content-Type` from `headers`, which replaces the document's media type.
    content_type: Option<HeaderValue>,
    timeout: Duration,
    encoder: Encoder,
    auth: Auth,
}

#[async_trait::async_trait]
impl Sink for HttpSink {
    async fn deliver(&self, delivery: Delivery<'_>) -> SendOutcome {
        let encoded = match self.encoder.encode(delivery.payload).await {
            Ok(encoded) => encoded,
            Err(outcome) => return outcome,
        };
        let Ok(key) = HeaderValue::from_str(delivery.key) else {
            return permanent(format!(
                "the delivery key `{}` is not a valid header value",
                delivery.key.escape_debug()
            ));
        };
        let content_type = match &self.content_type {
            Some(value) => value.clone(),
            None => match HeaderValue::from_str(encoded.media_type) {
                Ok(value) => value,
                Err(_) => {
                    return permanent(format!(
                        "the media type `{}` is not a valid header value",
                        encoded.media_type.escape_debug()
                    ));
                }
            },
        };
        let body = encoded.bytes.into_owned();
        let mut token = match self.auth.token(&self.client, self.timeout, None).await {
            Ok(token) => token,
            Err(outcome) => return outcome,
        };
        let mut refreshed = false;
        loop {
            let request = self
                .client
                .request(self.method.clone(), self.uri.clone())
                .timeout(self.timeout)
                .headers(self.headers.clone())
                .header(CONTENT_TYPE, content_type.clone())
                .header(IDEMPOTENCY_KEY, key.clone())
                .body(body.clone());
            let request = self.auth.authorize(request, token.as_deref());
            let (response, scrubber) = match send(&self.client, request, self.auth.secrets()).await
            {
                Ok(sent) => sent,
                Err(outcome) => return outcome,
            };
            // An OAuth2 token can be revoked or expire early: one fresh token, one more try.
            if response.status() == StatusCode::UNAUTHORIZED
                && !refreshed
                && let Some(refused) = &token
            {
                refreshed = true;
                token = match self
                    .auth
                    .token(&self.client, self.timeout, Some(refused))
                    .await
                {
                    Ok(fresh) => fresh,
                    Err(outcome) => return outcome,
                };
                continue;
            }
            return outcome(response, &scrubber).await;
        }
    }
}

fn permanent(detail: String) -> SendOutcome {
    SendOutcome::Permanent {
        status: None,
        detail,
    }
}

/// Sends `request`. What comes back may echo the request: the scrubber returned removes
/// `secrets` and the request's own `Authorization` from it. A request that fails on the
/// way is a temporary outcome; one that cannot be built, a permanent one.
async fn send(
    client: &Client,
    request: RequestBuilder,
    secrets: Vec<&str>,
) -> Result<(Response, Scrubber), SendOutcome> {
    let request = request
        .build()
        .map_err(|error| permanent(format!("cannot build the request: {}", error_text(error))))?;
    let scrubber = Scrubber::new(secrets, &request);
    match client.execute(request).await {
        Ok(response) => Ok((response, scrubber)),
        Err(error) => Err(SendOutcome::Temporary {
            status: None,
            detail: scrubber.detail(&error_text(error)),
            retry_after: None,
        }),
    }
}

/// How the receiver's answer classifies the attempt.
async fn outcome(mut response: Response, scrubber: &Scrubber) -> SendOutcome {
    let code = response.status();
    let retry_after = retry_after(response.headers(), SystemTime::now());
    let detail = scrubber.detail(&first_bytes(&mut response, SCRUB_WINDOW).await);
    let status = Some(code.as_u16());
    if code.is_success() {
        SendOutcome::Delivered { status, detail }
    } else if is_temporary(code) {
        SendOutcome::Temporary {
            status,
            detail,
            retry_after,
        }
    } else {
        SendOutcome::Permanent { status, detail }
    }
}

/// Answers worth retrying: the receiver may take the same request later.
pub(crate) fn is_temporary(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_EARLY | StatusCode::TOO_MANY_REQUESTS
    ) || status.is_server_error()
}

/// The wait a `Retry-After` header asks for: delay-seconds, or an HTTP-date (in any of
/// the three forms RFC 9110 §5.6.7 has recipients accept) counted from `now`. A date in the
/// past asks for no wait.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn http_date(value: &str) -> Option<SystemTime> {
    use chrono::{DateTime, NaiveDateTime};
    // IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) is an RFC 2822 date.
    if let Ok(date) = DateTime::parse_from_rfc2822(value) {
        return Some(date.into());
    }
    // The obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
    // (`Sun Nov  6 08:49:37 1994`) forms, both in GMT.
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|date| date.and_utc().into())
}

/// How much of an answer is read for its detail: more than [`DETAIL_LIMIT`], so that a
/// secret the cut would halve is scrubbed whole first.
const SCRUB_WINDOW: usize = 4 * DETAIL_LIMIT;

/// Up to `limit` bytes of the answer's body, as text. A body that fails midway gives what
/// came: the status already says how the attempt went.
async fn first_bytes(response: &mut Response, limit: usize) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(limit);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// An error and its causes on one line (reqwest's own message alone is "error sending
/// request"), without the URL.
pub(crate) fn error_text(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Removes a request's secrets from what is said about it.
pub(crate) struct Scrubber {
    /// Longest first: a secret inside another is scrubbed with it.
    secrets: Vec<String>,
}

impl Scrubber {
    /// Scrubs `secrets`, and the credentials `request` carries in `Authorization`.
    pub(crate) fn new(secrets: Vec<&str>, request: &reqwest::Request) -> Self {
        let mut all: Vec<String> = secrets.into_iter().map(str::to_owned).collect();
        if let Some(authorization) = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
        {
            // The whole value, and the credentials after the scheme (`Basic dXNlcjpw…`).
            all.push(authorization.to_owned());
            if let Some((_, credentials)) = authorization.split_once(' ') {
                all.push(credentials.trim().to_owned());
            }
        }
        all.retain(|secret| !secret.is_empty());
        all.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        Self { secrets: all }
    }

    /// `text` without the secrets, cut to [`DETAIL_LIMIT`] bytes.
    pub(crate) fn detail(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "***");
            }
        }
        let mut cut = DETAIL_LIMIT.min(text.len());
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text
    }
}

/// How a request authenticates, checked and ready to attach.
#[derive(Debug)]
enum Auth {
    None,
    Basic {
        user: String,
        password: Secret,
    },
    Bearer {
        /// `Bearer …`, marked sensitive.
        header: HeaderValue,
        token: Secret,
    },
    OAuth2(Box<OAuth2>),
}

impl Auth {
    /// The credentials checked; paths relative to the `auth` table. Secret values are
    /// never repeated.
    fn new(config: &AuthConfig) -> Result<Self, Vec<ConfigError>> {
        match config {
            AuthConfig::None {} => Ok(Self::None),
            AuthConfig::Basic { user, .. } if user.contains(':') => Err(vec![ConfigError::new(
                &["user"],
                "must not contain `:` (HTTP Basic separates user and password with it)",
            )]),
            AuthConfig::Basic { user, password } => Ok(Self::Basic {
                user: user.clone(),
                password: password.clone(),
            }),
            AuthConfig::Bearer { token } => {
                let mut header = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| vec![ConfigError::new(&["token"], NOT_A_HEADER_VALUE)])?;
                header.set_sensitive(true);
                Ok(Self::Bearer {
                    header,
                    token: token.clone(),
                })
            }
            AuthConfig::Oauth2(config) => {
                let token_url = absolute_http_url(&config.token_url)
                    .map_err(|why| ConfigError::new(&["token_url"], why));
                let client_id =
                    if config.client_auth == ClientAuth::Basic && config.client_id.contains(':') {
                        Err(ConfigError::new(
                            &["client_id"],
                            "must not contain `:` with `client_auth = \"basic\"` (use \"post\")",
                        ))
                    } else {
                        Ok(())
                    };
                match (token_url, client_id) {
                    (Ok(token_url), Ok(())) => Ok(Self::OAuth2(Box::new(OAuth2 {
                        config: config.clone(),
                        token_url,
                        cache: tokio::sync::Mutex::new(TokenCache::default()),
                    }))),
                    (token_url, client_id) => {
                        Err(token_url.err().into_iter().chain(client_id.err()).collect())
                    }
                }
            }
        }
    }

    /// The configured secrets, scrubbed from every detail.
    fn secrets(&self) -> Vec<&str> {
        match self {
            Self::None => Vec::new(),
            Self::Basic { password, .. } => vec![password.expose()],
            Self::Bearer { token, .. } => vec![token.expose()],
            Self::OAuth2(oauth2) => vec![oauth2.config.client_secret.expose()],
        }
    }

    /// The OAuth2 token for the next request (`None` for the other strategies);
    /// `refused` is one the receiver just answered 401 to.
    async fn token(
        &self,
        client: &Client,
        timeout: Duration,
        refused: Option<&Arc<Token>>,
    ) -> Result<Option<Arc<Token>>, SendOutcome> {
        match self {
            Self::OAuth2(oauth2) => oauth2.token(client, timeout, refused).await.map(Some),
            Self::None | Self::Basic { .. } | Self::Bearer { .. } => Ok(None),
        }
    }

    fn authorize(&self, request: RequestBuilder, token: Option<&Token>) -> RequestBuilder {
        match (self, token) {
            (Self::Basic { user, password }, _) => {
                request.basic_auth(user, Some(password.expose()))
            }
            (Self::Bearer { header, .. }, _) => request.header(AUTHORIZATION, header.clone()),
            (Self::OAuth2(_), Some(token)) => request.header(AUTHORIZATION, token.header.clone()),
            (Self::None | Self::OAuth2(_), _) => request,
        }
    }
}

/// The client credentials grant, its token shared by every attempt.
#[derive(Debug)]
struct OAuth2 {
    config: OAuth2Config,
    token_url: Url,
    /// Held while a token is fetched: concurrent attempts wait for that one fetch.
    cache: tokio::sync::Mutex<TokenCache>,
}

/// An access token, as the `Authorization` header that carries it.
#[derive(Debug)]
struct Token {
    /// `Bearer …`, marked sensitive.
    header: HeaderValue,
    /// When to fetch another; `None` (no `expires_in`): when the receiver refuses it.
    refresh_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct TokenCache {
    token: Option<Arc<Token>>,
    /// The last fetch that failed, and when it ended: the attempts that were waiting for
    /// it take its outcome rather than each asking in turn.
    failure: Option<(Instant, SendOutcome)>,
}

/// A token endpoint's answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<Seconds>,
}

/// A number of seconds, also as a string of digits (some servers send `"3599"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(u64),
    Text(String),
}

impl Seconds {
    fn get(&self) -> Option<Duration> {
        match self {
            Self::Number(secs) => Some(Duration::from_secs(*secs)),
            Self::Text(text) => text.trim().parse().ok().map(Duration::from_secs),
        }
    }
}

impl OAuth2 {
    async fn token(
        &self,
        client: &Client,
        timeout: Duration,
        refused: Option<&Arc<Token>>,
    ) -> Result<Arc<Token>, SendOutcome> {
        let asked = Instant::now();
        let mut cache = self.cache.lock().await;
        if let Some((failed, outcome)) = &cache.failure
            && *failed >= asked
        {
            return Err(outcome.clone());
        }
        if let Some(token) = &cache.token {
            let was_refused = refused.is_some_and(|refused| Arc::ptr_eq(refused, token));
            let expiring = token.refresh_at.is_some_and(|at| Instant::now() >= at);
            if !was_refused && !expiring {
                return Ok(token.clone());
            }
        }
        cache.token = None;
        match self.fetch(client, timeout).await {
            Ok(token) => {
                let token = Arc::new(token);
                cache.token = Some(token.clone());
                cache.failure = None;
                Ok(token)
            }
            Err(outcome) => {
                cache.failure = Some((Instant::now(), outcome.clone()));
                Err(outcome)
            }
        }
    }

    async fn fetch(&self, client: &Client, timeout: Duration) -> Result<Token, SendOutcome> {
        let secret = self.config.client_secret.expose();
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.config.scope {
            form.push(("scope", scope));
        }
        let mut request = client
            .post(self.token_url.clone())
            .timeout(timeout)
            .header(ACCEPT, "application/json");
        match self.config.client_auth {
            ClientAuth::Basic => request = request.basic_auth(&self.config.client_id, Some(secret)),
            ClientAuth::Post => {
                form.push(("client_id", &self.config.client_id));
                form.push(("client_secret", secret));
            }
        }
        let (mut response, scrubber) = send(client, request.form(&form), vec![secret])
            .await
            .map_err(|outcome| match outcome {
                SendOutcome::Temporary {
                    status,
                    detail,
                    retry_after,
                } => SendOutcome::Temporary {
                    status,
                    detail: format!("oauth2 token endpoint: {detail}"),
                    retry_after,
                },
                other => other,
            })?;
        let status = response.status();
        let retry_after = retry_after(response.headers(), SystemTime::now());
        let body = first_bytes(&mut response, TOKEN_RESPONSE_LIMIT).await;
        if !status.is_success() {
            let detail =
                scrubber.detail(&format!("oauth2 token endpoint answered {status}: {body}"));
            return Err(if is_temporary(status) {
                SendOutcome::Temporary {
                    status: None,
                    detail,
                    retry_after,
                }
            } else {
                permanent(detail)
            });
        }
        let unusable = |why: &str| {
            permanent(format!(
                "oauth2 token endpoint answered {status} with no usable token: {why}"
            ))
        };
        // serde's message could quote the token: it is not repeated.
        let token: TokenResponse = serde_json::from_str(&body).map_err(|_| {
            unusable("not a JSON object with a string `access_token` (RFC 6749 §5.1)")
        })?;
        if let Some(kind) = &token.token_type
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(unusable(&format!(
                "its token_type is `{}`, not bearer",
                kind.escape_debug()
            )));
        }
        let mut header = HeaderValue::from_str(&format!("Bearer {}", token.access_token.expose()))
            .map_err(|_| unusable("the access token is not a valid header value"))?;
        header.set_sensitive(true);
        // A lifetime past what an `Instant` holds is as good as none.
        let refresh_at = token
            .expires_in
            .as_ref()
            .and_then(Seconds::get)
            .and_then(|lifetime| {
                Instant::now().checked_add(lifetime - TOKEN_REFRESH_MARGIN.min(lifetime / 2))
            });
        Ok(Token { header, refresh_at })
    }
}
