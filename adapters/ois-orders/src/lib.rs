//! Tradewire adapter `ois-orders`: orders for the OIS order integration service.
//!
//! OIS receives webshop orders as JSON and forwards them to an ERP (XPRT among others)
//! without checking them against the ERP's rules: the caller must. This adapter's value is
//! that an order it emits is one the ERP will accept. One message, `order`
//! (`application/json`, decode and encode, `order/v1`).
//!
//! - [`ois`]: the JSON shape, as serde types (the README documents it field by field);
//! - [`rules`]: what every OIS order must satisfy (positive amounts, the price rule,
//!   delivery-method fields, regular-order fields, coupons against voucher lines), checked
//!   on decode and before anything is emitted;
//! - [`profile`]: ERP field-length limits as data, `xprt` built in, others from config;
//! - [`address`]: splitting one-line street addresses into street, number, extension;
//! - `encode` / `decode`: the mappings.
//!
//! Decode diagnostics name the OIS field (`OrderLines[2].Price`); encode diagnostics point
//! into the canonical order (`/lines/2/unit_price`) and name the OIS field in the message.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_sdk::core::{Currency, Decimal, OrderKind};
use tradewire_sdk::{
    Adapter, AdapterInfo, Diagnostic, Diagnostics, Document, DocumentKind, MessageSpec, Outcome,
};

pub mod address;
mod decode;
mod encode;
pub mod ois;
pub mod profile;
pub mod rules;

pub use profile::{CombinedLimit, Limits, Profile};

/// The one message this adapter speaks.
pub const MESSAGE: &str = "order";

/// The built-in profile names.
pub const XPRT: &str = "xprt";
/// No ERP limits: only the checks every OIS order needs.
pub const NO_PROFILE: &str = "none";

/// The adapter's config. Every field has a default, so `{}` is valid: the `xprt` profile,
/// `order` as the only regular kind, EUR, no id defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OisConfig {
    /// The ERP profile orders are checked against: `xprt` (built in), `none`, or a name
    /// from `profiles`.
    pub profile: String,
    /// Further ERP profiles by name, each a table of field limits and combined limits. A
    /// profile named `xprt` replaces the built-in one.
    pub profiles: BTreeMap<String, Profile>,
    /// The canonical order kinds that are *regular* OIS orders, which need a
    /// `ShippingAgentId`, a `PaymentOptionId` and a `PaymentReference`. Decoded orders
    /// are of kind `order`.
    pub regular_kinds: Vec<OrderKind>,
    /// `ShippingAgentId` by the canonical carrier name (`delivery.carrier`) or delivery
    /// method (`home_delivery`, `store_pickup`, `service_point`), for orders without a
    /// `delivery.carrier_id`. The carrier name is looked up first.
    pub shipping_agents: BTreeMap<String, String>,
    /// `ShippingAgentId` when neither the order nor `shipping_agents` gives one.
    pub default_shipping_agent_id: Option<String>,
    /// `PaymentOptionId` by the canonical payment method (`payment.method`, `etep_cb`), for
    /// orders without a `payment.option_id`.
    pub payment_options: BTreeMap<String, String>,
    /// `PaymentOptionId` when neither the order nor `payment_options` gives one.
    pub default_payment_option_id: Option<String>,
    /// The `PaymentOptionId` of coupon payments that do not name one; with it, a voucher
    /// line without a coupon payment gets one for its full value.
    pub coupon_payment_option_id: Option<String>,
    /// The currency of decoded orders without a `CurrencyCode`.
    pub default_currency: Currency,
}

impl Default for OisConfig {
    fn default() -> Self {
        Self {
            profile: XPRT.to_owned(),
            profiles: BTreeMap::new(),
            regular_kinds: vec![OrderKind::Order],
            shipping_agents: BTreeMap::new(),
            default_shipping_agent_id: None,
            payment_options: BTreeMap::new(),
            default_payment_option_id: None,
            coupon_payment_option_id: None,
            default_currency: Currency::EUR,
        }
    }
}

/// A checked config, as the mappings use it.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub profile_name: String,
    /// The profile's limits, resolved once.
    pub limits: Limits,
    pub regular_kinds: Vec<OrderKind>,
    pub shipping_agents: BTreeMap<String, String>,
    pub default_shipping_agent_id: Option<String>,
    pub payment_options: BTreeMap<String, String>,
    pub default_payment_option_id: Option<String>,
    pub coupon_payment_option_id: Option<String>,
    pub default_currency: Currency,
}

/// The adapter.
#[derive(Debug, Clone)]
pub struct OisOrders {
    settings: Settings,
}

tradewire_sdk::export_adapter!(OisOrders);

impl Adapter for OisOrders {
    type Config = OisConfig;

    fn describe() -> AdapterInfo {
        AdapterInfo {
            name: "ois-orders".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "Tradewire".into(),
            description: "Orders for the OIS order integration service, checked against the \
                          receiving ERP's field limits (XPRT built in, others by config)."
                .into(),
            messages: vec![
                MessageSpec::both(MESSAGE, DocumentKind::Order, "application/json").described(
                    "An OIS order: OrderLines with LineType, prices VAT included, delivery \
                     method, shipping agent, payment option and coupon payments.",
                ),
            ],
        }
    }

    fn new(config: OisConfig) -> Result<Self, Diagnostics> {
        let mut d = Diagnostics::new();
        for (name, profile) in &config.profiles {
            profile.check_names(&format!("/profiles/{name}"), &mut d);
        }
        let profile = match config.profile.as_str() {
            name if config.profiles.contains_key(name) => config.profiles.get(name).cloned(),
            XPRT => Some(Profile::xprt()),
            NO_PROFILE => Some(Profile::default()),
            _ => None,
        };
        let Some(profile) = profile else {
            let mut known: Vec<&str> = vec![XPRT, NO_PROFILE];
            known.extend(config.profiles.keys().map(String::as_str));
            d.error(
                "/profile",
                "ois.config_unknown_profile",
                format!(
                    "no profile `{}`; known: {}",
                    config.profile,
                    known.join(", ")
                ),
            );
            return Err(d);
        };
        if d.has_errors() {
            return Err(d);
        }
        Ok(Self {
            settings: Settings {
                profile_name: config.profile,
                limits: Limits::new(&profile),
                regular_kinds: config.regular_kinds,
                shipping_agents: config.shipping_agents,
                default_shipping_agent_id: config.default_shipping_agent_id,
                payment_options: config.payment_options,
                default_payment_option_id: config.default_payment_option_id,
                coupon_payment_option_id: config.coupon_payment_option_id,
                default_currency: config.default_currency,
            },
        })
    }

    fn decode(&self, message: &str, input: &[u8]) -> Outcome<Document> {
        if message != MESSAGE {
            return Err(unknown_message(message));
        }
        decode::decode(&self.settings, input).map(|accepted| accepted.map(Document::Order))
    }

    fn encode(&self, message: &str, document: &Document) -> Outcome<Vec<u8>> {
        if message != MESSAGE {
            return Err(unknown_message(message));
        }
        match document {
            Document::Order(order) => encode::encode(&self.settings, order),
            other => Err(Diagnostic::error(
                "/contract",
                "ois.wrong_document",
                format!(
                    "an OIS order is written from an `order/v1`, not a `{}`",
                    other.kind()
                ),
            )
            .into()),
        }
    }
}

fn unknown_message(message: &str) -> Diagnostics {
    Diagnostic::error(
        "",
        "ois.unknown_message",
        format!("this adapter speaks `{MESSAGE}` only, not `{message}`"),
    )
    .into()
}

/// `amount` rounded half away from zero to the currency's minor unit and written with
/// exactly that many digits (`20.00`), so equal amounts always serialise alike.
pub(crate) fn money(currency: Currency, amount: Decimal) -> Decimal {
    let mut rounded = currency.round(amount);
    rounded.rescale(u32::from(currency.exponent().unwrap_or(2)));
    rounded
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn money_rounds_half_away_from_zero_to_the_minor_unit() {
        let eur = |s: &str| money(Currency::EUR, s.parse().unwrap()).to_string();
        assert_eq!(eur("20"), "20.00");
        assert_eq!(eur("0.125"), "0.13");
        assert_eq!(eur("-0.125"), "-0.13");
        assert_eq!(eur("91.0800"), "91.08");
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(money(jpy, "1500.5".parse().unwrap()).to_string(), "1501");
    }

    #[test]
    fn config_names_a_known_profile() {
        assert!(OisOrders::new(OisConfig::default()).is_ok());
        let config = OisConfig {
            profile: "acme".into(),
            ..OisConfig::default()
        };
        let d = OisOrders::new(config).unwrap_err();
        assert_eq!(d.as_slice()[0].path, "/profile");
        let config: OisConfig = serde_json::from_value(serde_json::json!({
            "profile": "acme",
            "profiles": {"acme": {"fields": {"FirstName": 10}, "combined": [{"fields": ["Street", "HouseNo"], "max": 40}]}}
        }))
        .unwrap();
        let adapter = OisOrders::new(config).unwrap();
        let acme = Profile {
            fields: [("FirstName".to_owned(), 10)].into(),
            combined: vec![CombinedLimit {
                fields: vec!["Street".into(), "HouseNo".into()],
                max: 40,
            }],
        };
        assert_eq!(adapter.settings.limits, Limits::new(&acme));
    }

    #[test]
    fn a_typo_in_a_profile_is_refused() {
        let config: OisConfig = serde_json::from_value(serde_json::json!({
            "profiles": {"acme": {"fields": {"Firstname": 10}}}
        }))
        .unwrap();
        let d = OisOrders::new(config).unwrap_err();
        assert_eq!(d.as_slice()[0].path, "/profiles/acme/fields/Firstname");
        assert_eq!(d.as_slice()[0].code, "ois.config_unknown_field");
    }
}
