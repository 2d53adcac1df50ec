//! Price rules: prices and reductions bounded by customer, group, quantity and dates.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Country, Currency, Diagnostics};

/// What a rule does to the price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Adjustment {
    /// The price becomes this net amount.
    FixedPrice(Decimal),
    /// This net amount comes off the price.
    AmountOff(Decimal),
    /// This many percent come off the price.
    PercentOff(Decimal),
}

/// One price rule. Every bound that is absent does not restrict the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PriceRule {
    /// The rule's identifier in its source (e-connecteur `ref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where in the source the rule comes from (e-connecteur `src`, `cli_prodfam`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The product's SKU; absent for a rule on every product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_sku: Option<String>,
    /// The parent's SKU when `product_sku` is a variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_sku: Option<String>,
    /// The customer's code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    /// The customer's e-mail addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customer_emails: Vec<String>,
    /// A customer group or price category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    /// The smallest quantity the rule applies from.
    #[serde(default = "one")]
    pub min_quantity: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<NaiveDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<NaiveDateTime>,
    pub adjustment: Adjustment,
    /// The price before the rule, for a struck-through display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_price: Option<Decimal>,
}

fn one() -> Decimal {
    Decimal::ONE
}

impl PriceRule {
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        if self.min_quantity < Decimal::ZERO {
            d.error(
                "/min_quantity",
                "price_rule.negative_quantity",
                format!("{} is negative", self.min_quantity),
            );
        }
        match self.adjustment {
            Adjustment::FixedPrice(v) | Adjustment::AmountOff(v) if v < Decimal::ZERO => {
                d.error(
                    "/adjustment/value",
                    "price_rule.negative_amount",
                    format!("{v} is negative"),
                );
            }
            Adjustment::PercentOff(p) if !(Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&p) => {
                d.error(
                    "/adjustment/value",
                    "price_rule.percentage_out_of_range",
                    format!("{p} is not a percentage between 0 and 100"),
                );
            }
            _ => {}
        }
        if let (Some(from), Some(to)) = (self.valid_from, self.valid_to)
            && to < from
        {
            d.error(
                "/valid_to",
                "price_rule.ends_before_start",
                format!("ends {to}, before it starts {from}"),
            );
        }
        d
    }
}

/// A set of price rules pushed together (a price grid).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PriceList {
    pub rules: Vec<PriceRule>,
}

impl PriceList {
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        for (i, rule) in self.rules.iter().enumerate() {
            d.extend_under(&format!("/rules/{i}"), rule.validate());
        }
        d
    }
}
