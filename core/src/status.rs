//! Changes of an order's status after it was placed: exported, shipped with tracking.

use chrono::{DateTime, FixedOffset};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Diagnostics, OrderStatus};

/// One change to one order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderStatusChange {
    pub order_id: String,
    /// The new status in canonical terms, when it maps to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    /// The new status in the source's own terms (e-connecteur `statut_final`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_status: Option<String>,
    /// Set when the order was taken over by the ERP.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exported: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracking_numbers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl OrderStatusChange {
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        if self.order_id.trim().is_empty() {
            d.error(
                "/order_id",
                "status.order_id_missing",
                "a status change needs the order's id",
            );
        }
        d
    }
}
