//! The `econnecteur` sink: pushes canonical products, customers and price grids to a
//! shop's e-connecteur universal webservice, as the e-connecteur program does — a product
//! as `add_product` or `update_product` (whichever the shop's `products_list` says), a
//! customer list as `add_customer`, a price list as `add_grilles`.
//!
//! The webservice answers a refusal with its error envelope on HTTP 200: that is a
//! permanent failure (the vendor means it as "this item, not the whole sync"), except when
//! the product list was stale — an `add_product` of a product the shop has, an
//! `update_product` of one it has not — which is tried again at once the other way.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_core::{Document, Product, Secret, ServiceOperation, ServiceReply};

use super::http::TlsConfig;
use super::{Delivery, RetryConfig, SendOutcome, Sink, default_concurrency, positive_seconds};
use crate::econnecteur_client::{CallFailure, ShopClient, ShopSettings};
use crate::{BuildContext, ConfigError};

/// Pushes products, customers and price grids to a shop's webservice.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EconnecteurSinkConfig {
    /// The webservice's URL (`http://` or `https://`).
    pub url: String,
    /// The webservice's key, sent with every call; kept secret.
    #[schemars(with = "String")]
    pub key: Secret,
    /// How many products one `products_list` call asks for (`limit = offset,count`).
    #[serde(default = "default_page_size")]
    pub page_size: u64,
    /// How long the shop's product list is trusted before it is read again, in seconds;
    /// what this sink adds is known at once.
    #[serde(default = "default_refresh_secs")]
    pub refresh_secs: f64,
    /// How long one call may take, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: f64,
    /// How the shop's certificate is checked; `tls = { verify = false }` accepts any.
    #[serde(default)]
    pub tls: TlsConfig,
    /// The `econnecteur` adapter's config (`currency`, `time_zone`, `compression`, …).
    #[serde(default = "crate::adapter::empty_object")]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub config: serde_json::Value,
    /// How temporary failures are retried.
    #[serde(default)]
    pub retry: RetryConfig,
    /// How many deliveries are attempted at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: NonZeroUsize,
}

fn default_page_size() -> u64 {
    500
}

fn default_refresh_secs() -> f64 {
    300.0
}

fn default_timeout_secs() -> f64 {
    30.0
}

impl EconnecteurSinkConfig {
    /// Checks the config and prepares the client; nothing is sent.
    pub fn build(&self, cx: &BuildContext<'_>) -> Result<EconnecteurSink, Vec<ConfigError>> {
        let mut errors = Vec::new();
        if self.page_size == 0 {
            errors.push(ConfigError::new(&["page_size"], "must be at least 1"));
        }
        let refresh = positive_seconds(self.refresh_secs);
        if refresh.is_none() {
            errors.push(ConfigError::new(
                &["refresh_secs"],
                "must be a number of seconds above 0",
            ));
        }
        let shop = ShopClient::build(
            &ShopSettings {
                url: &self.url,
                key: &self.key,
                tls: &self.tls,
                timeout_secs: self.timeout_secs,
                adapter_config: &self.config,
            },
            cx,
        )
        .map_err(|more| errors.extend(more))
        .ok();
        match (shop, refresh) {
            (Some(shop), Some(refresh)) if errors.is_empty() => Ok(EconnecteurSink {
                shop,
                page_size: self.page_size,
                refresh,
                catalogue: tokio::sync::Mutex::new(Catalogue::default()),
            }),
            _ => Err(errors),
        }
    }
}

/// The sink built from [`EconnecteurSinkConfig`].
#[derive(Debug)]
pub struct EconnecteurSink {
    shop: ShopClient,
    page_size: u64,
    refresh: Duration,
    /// Held while the list is read: attempts at once wait for that one read.
    catalogue: tokio::sync::Mutex<Catalogue>,
}

/// The SKUs the shop has, as its `products_list` said, plus those added since.
#[derive(Debug, Default)]
struct Catalogue {
    skus: HashSet<String>,
    read_at: Option<Instant>,
}

#[async_trait::async_trait]
impl Sink for EconnecteurSink {
    async fn deliver(&self, delivery: Delivery<'_>) -> SendOutcome {
        let document = match Document::from_json(delivery.payload, None) {
            Ok(document) => document,
            Err(diagnostics) => {
                return SendOutcome::Permanent {
                    status: None,
                    detail: format!("not a canonical document: {diagnostics}"),
                };
            }
        };
        let operation = match document {
            Document::Product(product) => return self.push_product(product).await,
            Document::CustomerList(customers) => ServiceOperation::UpsertCustomers { customers },
            Document::PriceList(price_list) => ServiceOperation::UpsertPriceRules { price_list },
            other => {
                return SendOutcome::Permanent {
                    status: None,
                    detail: format!(
                        "the econnecteur sink pushes products, customer lists and price lists; this is {}",
                        other.kind().contract_id()
                    ),
                };
            }
        };
        outcome(self.shop.call(operation).await.map(|answer| answer.reply))
    }
}

impl EconnecteurSink {
    /// `add_product` or `update_product`, as the shop's list says; a refusal that a fresh
    /// list explains is tried again the other way.
    async fn push_product(&self, product: Product) -> SendOutcome {
        let sku = product.sku.clone();
        let known = match self.knows(&sku, false).await {
            Ok(known) => known,
            Err(failure) => return list_failure(failure),
        };
        let first = self.send_product(product.clone(), known).await;
        let Err(CallFailure::Refused { message }) = &first else {
            return outcome(first);
        };
        match self.knows(&sku, true).await {
            Ok(now_known) if now_known != known => {
                tracing::info!(%sku, "the shop's product list was stale; pushing the product the other way");
                outcome(self.send_product(product, now_known).await)
            }
            Ok(_) => SendOutcome::Permanent {
                status: Some(200),
                detail: format!("the webservice answered an error: {message}"),
            },
            Err(failure) => list_failure(failure),
        }
    }

    async fn send_product(
        &self,
        product: Product,
        known: bool,
    ) -> Result<ServiceReply, CallFailure> {
        let sku = product.sku.clone();
        let operation = if known {
            ServiceOperation::UpdateProduct { product }
        } else {
            ServiceOperation::AddProduct { product }
        };
        let reply = self.shop.call(operation).await?.reply;
        if !known {
            self.catalogue.lock().await.skus.insert(sku);
        }
        Ok(reply)
    }

    /// Whether the shop has `sku`, reading its list first when it is older than
    /// `refresh_secs`, never read, or `fresh` is asked for.
    async fn knows(&self, sku: &str, fresh: bool) -> Result<bool, CallFailure> {
        let mut catalogue = self.catalogue.lock().await;
        let stale = catalogue
            .read_at
            .is_none_or(|at| fresh || at.elapsed() >= self.refresh);
        if stale {
            catalogue.skus = self.read_list().await?;
            catalogue.read_at = Some(Instant::now());
        }
        Ok(catalogue.skus.contains(sku))
    }

    /// Every SKU of the shop's `products_list`, page by page until a short page.
    async fn read_list(&self) -> Result<HashSet<String>, CallFailure> {
        let mut skus = HashSet::new();
        let mut offset = 0;
        loop {
            let answer = self
                .shop
                .call(ServiceOperation::ListProducts {
                    offset: Some(offset),
                    count: Some(self.page_size),
                })
                .await?;
            let ServiceReply::ProductRefs { products } = answer.reply else {
                return Err(CallFailure::Permanent {
                    status: Some(200),
                    detail: "products_list answered something else than a list of products"
                        .to_owned(),
                });
            };
            let page = products.len() as u64;
            skus.extend(products.into_iter().map(|p| p.sku));
            if page < self.page_size {
                return Ok(skus);
            }
            offset += page;
        }
    }
}

/// A failure to read the product list: the push was not tried.
fn list_failure(failure: CallFailure) -> SendOutcome {
    match outcome(Err(failure)) {
        SendOutcome::Temporary {
            status,
            detail,
            retry_after,
        } => SendOutcome::Temporary {
            status,
            detail: format!("products_list: {detail}"),
            retry_after,
        },
        SendOutcome::Permanent { status, detail } => SendOutcome::Permanent {
            status,
            detail: format!("products_list: {detail}"),
        },
        delivered => delivered,
    }
}

/// How a push went, for the runtime's retries and dead letters.
fn outcome(answer: Result<ServiceReply, CallFailure>) -> SendOutcome {
    match answer {
        Ok(ServiceReply::Done { .. }) => SendOutcome::Delivered {
            status: Some(200),
            detail: "done".to_owned(),
        },
        Ok(other) => SendOutcome::Permanent {
            status: Some(200),
            detail: format!(
                "the webservice answered {}, not an acknowledgement",
                reply_name(&other)
            ),
        },
        Err(CallFailure::Temporary {
            status,
            detail,
            retry_after,
        }) => SendOutcome::Temporary {
            status,
            detail,
            retry_after,
        },
        Err(CallFailure::Permanent { status, detail }) => SendOutcome::Permanent { status, detail },
        Err(failure @ (CallFailure::Refused { .. } | CallFailure::Unreadable { .. })) => {
            SendOutcome::Permanent {
                status: Some(200),
                detail: failure.to_string(),
            }
        }
    }
}

/// What an answer is, in a few words.
fn reply_name(reply: &ServiceReply) -> &'static str {
    match reply {
        ServiceReply::ProductRefs { .. } => "a product list",
        ServiceReply::OptionRefs { .. } => "an option list",
        ServiceReply::OrderRefs { .. } => "an order list",
        ServiceReply::Order { .. } => "an order",
        ServiceReply::OrderExported { .. } => "an order marked exported",
        ServiceReply::TrackingAdded { .. } => "a tracking number",
        ServiceReply::Customers { .. } => "a customer list",
        ServiceReply::Done { .. } => "an acknowledgement",
        ServiceReply::Error { .. } => "an error",
    }
}
