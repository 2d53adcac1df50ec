//! Source `econnecteur_poll`: takes a shop's orders from its e-connecteur universal
//! webservice, as the e-connecteur program does — `orders_list`, then `orders` for each,
//! and `set_order_exported` once the order is committed.
//!
//! An order's idempotency key is the shop's order id: when the process dies between the
//! commit and the marking, the order is listed again, fetched again, known as a duplicate,
//! and only marked. An order the pipeline refuses is kept as a dead letter and left
//! waiting in the shop (not marked), where the merchant sees it; the same answer is not
//! dead-lettered again (the store is asked, so a restart does not either), but a corrected
//! order is taken, and one replayed from the dead letters is marked.

use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use tokio::sync::watch;
use tradewire_core::{Secret, ServiceOperation, ServiceReply};
use tradewire_sdk::CallContext;

use crate::econnecteur_client::{CallFailure, ShopClient, ShopSettings};
use crate::health::Health;
use crate::ingest::{Ingest, Input, Outcome, content_hash};
use crate::sinks::http::TlsConfig;
use crate::{BuildContext, ConfigError};

/// Polls a shop's webservice for orders.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EconnecteurPollConfig {
    /// The webservice's URL (`http://` or `https://`).
    pub url: String,
    /// The webservice's key, sent with every call; kept secret.
    #[schemars(with = "String")]
    pub key: Secret,
    /// Which orders to take: a list of the shop's state codes (`["1", "2"]`), or one state
    /// name (`"created"`); sent as `filter`. Empty: whatever the shop lists.
    #[serde(default)]
    pub filter: StateFilter,
    /// The state the shop moves a taken order to (`statut_final` of
    /// `set_order_exported`); unset, the shop decides.
    #[serde(default)]
    pub final_status: Option<String>,
    /// How many listed orders are fetched and committed in one round; when the shop lists
    /// more, the next round starts at once.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Seconds between rounds (fractions allowed).
    #[serde(default = "default_interval_secs")]
    pub interval_secs: f64,
    /// How long one call may take, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: f64,
    /// How the shop's certificate is checked. The spec lets shops serve https without a
    /// valid certificate; `tls = { verify = false }` accepts one, and must be said.
    #[serde(default)]
    pub tls: TlsConfig,
    /// The `econnecteur` adapter's config, for how the shop writes orders (`currency`,
    /// `time_zone`, `shipping_includes_tax`, …; `tradewire schema --adapter econnecteur`).
    #[serde(default = "crate::adapter::empty_object")]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub config: serde_json::Value,
}

/// `filter`: state codes, or one state name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StateFilter {
    #[default]
    #[serde(skip)]
    All,
    Name(String),
    States(Vec<String>),
}

impl StateFilter {
    fn states(&self) -> Vec<String> {
        match self {
            Self::All => Vec::new(),
            Self::Name(name) => vec![name.clone()],
            Self::States(states) => states.clone(),
        }
    }
}

fn default_page_size() -> usize {
    100
}

fn default_interval_secs() -> f64 {
    60.0
}

fn default_timeout_secs() -> f64 {
    30.0
}

impl EconnecteurPollConfig {
    /// The client for the shop, or everything wrong with the config (paths relative to the
    /// source's table). Nothing is sent.
    pub fn build(&self, cx: &BuildContext<'_>) -> Result<ShopClient, Vec<ConfigError>> {
        let mut errors = Vec::new();
        if self.page_size == 0 {
            errors.push(ConfigError::new(&["page_size"], "must be at least 1"));
        }
        if crate::sinks::positive_seconds(self.interval_secs).is_none() {
            errors.push(ConfigError::new(
                &["interval_secs"],
                "must be a number of seconds above 0",
            ));
        }
        if let Some(bad) = self
            .filter
            .states()
            .into_iter()
            .find(|s| s.trim().is_empty() || s.contains(','))
        {
            errors.push(ConfigError::new(
                &["filter"],
                format!("{bad:?} is not a state: a state is not empty and has no comma"),
            ));
        }
        let client = ShopClient::build(
            &ShopSettings {
                url: &self.url,
                key: &self.key,
                tls: &self.tls,
                timeout_secs: self.timeout_secs,
                adapter_config: &self.config,
            },
            cx,
        );
        match client {
            Ok(client) if errors.is_empty() => Ok(client),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.extend(more);
                Err(errors)
            }
        }
    }

    /// The adapter message that reads an order as the shop answers it: what the source
    /// commits, and what `dlq replay` decodes again.
    pub fn decode(&self) -> crate::adapter::AdapterRef {
        crate::adapter::AdapterRef {
            adapter: "econnecteur".to_owned(),
            message: "order".to_owned(),
            config: self.config.clone(),
        }
    }
}

/// Why a round stopped early.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error("orders_list: {0}")]
    List(CallFailure),
    #[error("orders_list answered something else than a list of orders")]
    NotAList,
    #[error("the store cannot commit: {0}")]
    Store(String),
}

/// Polls one shop for one `econnecteur_poll` source.
pub struct Poller {
    pub name: String,
    pub source: usize,
    pub config: EconnecteurPollConfig,
    pub shop: Arc<ShopClient>,
    pub health: Health,
}

/// How a round went: whether orders were left for the next one.
struct Round {
    more: bool,
}

impl Poller {
    /// Polls until `shutdown` turns true; an order being taken when it does is finished.
    pub async fn run(self, ingest: Ingest, mut shutdown: watch::Receiver<bool>) {
        let interval = crate::sinks::positive_seconds(self.config.interval_secs)
            .unwrap_or(Duration::from_secs(60));
        while !*shutdown.borrow() {
            let more = match self.round(&ingest, &shutdown).await {
                Ok(round) => {
                    self.health.set_ok(&self.name);
                    round.more
                }
                Err(e) => {
                    tracing::warn!(source = %self.name, error = %e, "polling the shop failed; trying again at the next round");
                    self.health.set_failing(&self.name, &e.to_string());
                    false
                }
            };
            if more {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn round(
        &self,
        ingest: &Ingest,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<Round, RoundError> {
        let listed = self
            .shop
            .call(ServiceOperation::ListOrders {
                states: self.config.filter.states(),
            })
            .await
            .map_err(RoundError::List)?;
        let ServiceReply::OrderRefs { orders } = listed.reply else {
            return Err(RoundError::NotAList);
        };
        let mut taken = 0;
        let ids = orders
            .into_iter()
            .map(|o| o.id)
            .filter(|id| !id.trim().is_empty());
        for id in ids {
            if *shutdown.borrow() || taken == self.config.page_size {
                return Ok(Round { more: true });
            }
            if self.take(ingest, &id).await? {
                taken += 1;
            }
        }
        Ok(Round { more: false })
    }

    /// Fetches, commits and marks one order. `Ok(false)` when it was skipped (refused
    /// before with the same content, or the shop could not answer for it now).
    async fn take(&self, ingest: &Ingest, id: &str) -> Result<bool, RoundError> {
        let fetched = self
            .shop
            .call(ServiceOperation::GetOrder {
                order_id: id.to_owned(),
            })
            .await;
        // A fetch refused as a whole (the error envelope, a 5xx) may pass next round;
        // an answer that is not an order is for the pipeline to refuse, with its bytes.
        let raw = match fetched {
            Ok(answer) => answer.raw,
            Err(CallFailure::Unreadable { raw, .. }) => raw,
            Err(failure) => {
                tracing::warn!(source = %self.name, order = %id, error = %failure, "cannot fetch the order; trying again next round");
                return Ok(false);
            }
        };
        if self.refused_before(ingest, id, &content_hash(&raw)).await {
            return Ok(false);
        }
        let input = Input {
            raw,
            decoded: None,
            context: CallContext {
                content_type: Some("application/xml".to_owned()),
                ..CallContext::default()
            },
            key: Some(id.to_owned()),
            fallback_key: None,
        };
        match ingest.take(self.source, input).await {
            Outcome::Accepted { .. } | Outcome::Duplicate { .. } => {}
            // Taken before with other content: the shop changed the order since. It was
            // taken once, and is not taken twice.
            Outcome::Conflict { .. } => {
                tracing::warn!(source = %self.name, order = %id, "the order was taken before with other content; marking it exported");
            }
            Outcome::Refused { dead_letter, .. } => {
                tracing::warn!(source = %self.name, order = %id, ?dead_letter, "the order was refused and kept as a dead letter; it stays waiting in the shop");
                return Ok(true);
            }
            Outcome::Unavailable { reply } => {
                return Err(RoundError::Store(
                    String::from_utf8_lossy(&reply.body).into_owned(),
                ));
            }
        }
        let marked = self
            .shop
            .call(ServiceOperation::SetOrderExported {
                order_id: id.to_owned(),
                final_status: self.config.final_status.clone(),
            })
            .await;
        if let Err(failure) = marked {
            // Committed: the next round finds it listed, knows it, and marks it then.
            tracing::warn!(source = %self.name, order = %id, error = %failure, "committed, but set_order_exported failed; marking it next round");
        }
        Ok(true)
    }

    /// Whether a dead letter of this source holds this very answer for this order (a
    /// replayed one is gone from the dead letters, and is taken).
    async fn refused_before(&self, ingest: &Ingest, id: &str, digest: &str) -> bool {
        match ingest.store.trace(id).await {
            Ok(trace) => trace.refusals.iter().any(|letter| {
                letter.summary.component == self.name
                    && letter
                        .raw
                        .as_deref()
                        .is_some_and(|raw| content_hash(raw) == digest)
            }),
            Err(e) => {
                tracing::warn!(source = %self.name, error = %e, "cannot look for earlier refusals");
                false
            }
        }
    }
}
