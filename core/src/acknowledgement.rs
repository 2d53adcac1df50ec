//! The answer to a document: accepted or refused, with why.

use chrono::{DateTime, FixedOffset};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Diagnostic, Diagnostics};

/// Whether the receiver took the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    /// Taken as it is.
    Accepted,
    /// Taken, with warnings.
    AcceptedWithWarnings,
    /// Refused; `diagnostics` says why.
    Rejected,
}

/// A receiver's answer to one document (cXML `Response`, a webservice's error envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Acknowledgement {
    pub status: AckStatus,
    /// The identifier of the document answered (a cXML payloadID, an order id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// The protocol's own status code, when it has one (cXML `200`, `400`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// A human-readable summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<FixedOffset>>,
}

impl Acknowledgement {
    /// The answer for a document that passed (with its warnings) or failed its checks.
    pub fn for_diagnostics(in_reply_to: Option<String>, diagnostics: &Diagnostics) -> Self {
        let status = if diagnostics.has_errors() {
            AckStatus::Rejected
        } else if diagnostics.is_empty() {
            AckStatus::Accepted
        } else {
            AckStatus::AcceptedWithWarnings
        };
        Self {
            status,
            in_reply_to,
            code: None,
            message: None,
            diagnostics: diagnostics.as_slice().to_vec(),
            timestamp: None,
        }
    }

    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        if self.status == AckStatus::Rejected
            && self.diagnostics.is_empty()
            && self.message.is_none()
        {
            d.error(
                "/diagnostics",
                "ack.rejected_without_reason",
                "a rejection needs diagnostics or a message",
            );
        }
        d
    }
}
