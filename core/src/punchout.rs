//! The punchout session a procurement system opens on a catalogue.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Diagnostics;

/// A secret that must never reach a log or a diagnostic: `Debug` and `Display` print
/// `***`. It still serialises in full, because the host needs it to authenticate.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the code that checks it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What the procurement system asks the catalogue to do (OCI `FUNCTION`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PunchoutFunction {
    /// Show one product (`DETAIL`).
    Detail { product_id: String },
    /// Show one product for adding to the cart (`DETAILADD`).
    DetailAdd { product_id: String },
    /// Check a product and quantity and return it as a cart (`VALIDATE`).
    Validate {
        product_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quantity: Option<Decimal>,
    },
    /// Search without showing the catalogue (`BACKGROUND_SEARCH`).
    BackgroundSearch { search_string: String },
    /// Find sources for a product (`SOURCING`).
    Sourcing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        search_string: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vendor: Option<String>,
    },
    /// Check the quantities of the products in the cart (`QUANTITYCHECK`).
    QuantityCheck,
}

/// The login a procurement system opens on a catalogue (OCI call-up).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PunchoutSession {
    pub username: String,
    pub password: Secret,
    /// Where the cart goes back to.
    pub hook_url: String,
    /// The browser window target for the return (`_top`, `_parent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_target: Option<String>,
    /// The charset the procurement system reads the returned cart in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// BCP 47 / ISO 639 language the catalogue should show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opi_version: Option<String>,
    /// OCI `~OkCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok_code: Option<String>,
    /// OCI `~TARGET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// OCI `~CALLER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<PunchoutFunction>,
    /// Other call-up parameters, kept by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, String>,
}

impl PunchoutSession {
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        let url = self.hook_url.trim();
        if url.is_empty() {
            d.error(
                "/hook_url",
                "punchout.hook_url_missing",
                "hook_url is required: the cart goes back there",
            );
        } else {
            let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
            if !matches!(scheme.as_deref(), Some("http" | "https")) {
                d.error(
                    "/hook_url",
                    "punchout.hook_url_not_http",
                    format!("hook_url must be an http or https URL, got `{url}`"),
                );
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = PunchoutSession {
            username: "buyer".into(),
            password: Secret::new("hunter2"),
            hook_url: "https://srm.example/hook".into(),
            ..PunchoutSession::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(
            serde_json::to_string(&s)
                .expect("serialise")
                .contains("hunter2")
        );
        assert!(s.validate().is_empty());
    }

    #[test]
    fn hook_url_must_be_http() {
        let s = PunchoutSession {
            hook_url: "javascript:alert(1)".into(),
            ..PunchoutSession::default()
        };
        assert_eq!(
            s.validate().as_slice()[0].code,
            "punchout.hook_url_not_http"
        );
    }
}
