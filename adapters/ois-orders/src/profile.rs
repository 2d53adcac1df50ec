//! ERP profiles: field length limits as data.
//!
//! OIS forwards orders to an ERP without checking them against the ERP's limits, so the
//! caller must. A [`Profile`] is a table of limits per OIS field name plus combined
//! limits over several fields of one object; it applies to every object of the order
//! that has the field (`FirstName` in `Customer`, `BillingAddress` and `DeliveryAddress`).
//! `xprt` is built in ([`Profile::xprt`]); other ERPs are described in the adapter's
//! config in the same shape, so a new ERP is a config change.
//!
//! Lengths are counted in UTF-16 code units, the unit of .NET strings and SQL Server
//! `nvarchar` columns, which is where such limits come from. For text without emoji or
//! other characters outside the Basic Multilingual Plane this is the character count; an
//! emoji counts twice, which is the safe side of the limit.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tradewire_sdk::Diagnostics;

/// The OIS fields a profile may limit: every text field of the order JSON.
pub const TEXT_FIELDS: &[&str] = &[
    "OrderNumber",
    "OrderReference",
    "OrderDate",
    "CurrencyCode",
    "CustomerId",
    "CustomerNumber",
    "CompanyName",
    "FirstName",
    "LastName",
    "Street",
    "HouseNo",
    "HouseNoExt",
    "ZipCode",
    "City",
    "CountryCode",
    "PhoneNumber",
    "Email",
    "PickupBranchIdentifier",
    "PickupLocationCode",
    "PickupLocationName",
    "ShippingAgentId",
    "ShippingAgentServiceCode",
    "ShippingTerms",
    "PaymentOptionId",
    "PaymentReference",
    "CouponCode",
    "ArticleNumber",
    "Ean",
    "Description",
    "Code",
    "Comment",
];

/// The limits of one ERP.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// Maximum length per OIS field name (`"FirstName": 30`).
    pub fields: BTreeMap<String, usize>,
    /// Limits on the summed length of several fields of the same object.
    pub combined: Vec<CombinedLimit>,
}

/// Fields the ERP joins into one: their lengths together may not exceed `max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CombinedLimit {
    /// OIS field names, at least two (`["FirstName", "LastName"]`).
    pub fields: Vec<String>,
    pub max: usize,
}

impl Profile {
    /// XPRT's limits, as the OIS document lists them.
    ///
    /// The document gives no separator for the combined fields; they are summed as they
    /// are. (Within XPRT's individual limits the combined ones cannot be reached even with
    /// a space between the parts: 30 + 1 + 30 and 50 + 1 + 20 + 1 + 20 are under 100. They
    /// are kept because a profile derived from this one may raise the individual limits.)
    pub fn xprt() -> Self {
        let fields = [
            ("FirstName", 30),
            ("LastName", 30),
            ("Street", 50),
            ("ZipCode", 20),
            ("HouseNo", 20),
            ("HouseNoExt", 20),
            ("City", 30),
            ("CountryCode", 10),
            ("PhoneNumber", 30),
            ("Email", 80),
            ("PickupLocationName", 30),
        ];
        Self {
            fields: fields
                .into_iter()
                .map(|(name, max)| (name.to_owned(), max))
                .collect(),
            combined: vec![
                CombinedLimit {
                    fields: vec!["FirstName".into(), "LastName".into()],
                    max: 100,
                },
                CombinedLimit {
                    fields: vec!["Street".into(), "HouseNo".into(), "HouseNoExt".into()],
                    max: 100,
                },
            ],
        }
    }

    /// Checks that every field the profile names is an OIS text field, so that a typo in a
    /// config (`Firstname`) is refused instead of silently never checked.
    pub fn check_names(&self, config_path: &str, d: &mut Diagnostics) {
        let unknown = |name: &str| !TEXT_FIELDS.contains(&name);
        for name in self.fields.keys().filter(|n| unknown(n)) {
            d.error(
                format!("{config_path}/fields/{name}"),
                "ois.config_unknown_field",
                format!(
                    "`{name}` is not a text field of the OIS order; limits can be set on {}",
                    TEXT_FIELDS.join(", ")
                ),
            );
        }
        for (i, limit) in self.combined.iter().enumerate() {
            if limit.fields.len() < 2 {
                d.error(
                    format!("{config_path}/combined/{i}/fields"),
                    "ois.config_combined_too_few",
                    "a combined limit names at least two fields",
                );
            }
            for name in limit.fields.iter().filter(|n| unknown(n)) {
                d.error(
                    format!("{config_path}/combined/{i}/fields"),
                    "ois.config_unknown_field",
                    format!("`{name}` is not a text field of the OIS order"),
                );
            }
        }
    }

    /// Checks `order` (the OIS JSON as a value) against the profile. Paths are OIS field
    /// paths (`DeliveryAddress.FirstName`, `OrderLines[2].Description`).
    pub fn check(&self, profile_name: &str, order: &Value, d: &mut Diagnostics) {
        self.check_value(profile_name, order, "", d);
    }

    fn check_value(&self, profile_name: &str, value: &Value, path: &str, d: &mut Diagnostics) {
        match value {
            Value::Object(object) => {
                for (key, field) in object {
                    let field_path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    if let Some(&max) = self.fields.get(key) {
                        check_length(profile_name, field, &field_path, max, d);
                    }
                    self.check_value(profile_name, field, &field_path, d);
                }
                self.check_combined(profile_name, object, path, d);
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.check_value(profile_name, item, &format!("{path}[{i}]"), d);
                }
            }
            _ => {}
        }
    }

    fn check_combined(
        &self,
        profile_name: &str,
        object: &serde_json::Map<String, Value>,
        path: &str,
        d: &mut Diagnostics,
    ) {
        for limit in &self.combined {
            let present: Vec<(&str, usize)> = limit
                .fields
                .iter()
                .filter_map(|name| {
                    let text = object.get(name)?.as_str()?;
                    Some((name.as_str(), utf16_len(text)))
                })
                .collect();
            let total: usize = present.iter().map(|(_, len)| len).sum();
            if present.is_empty() || total <= limit.max {
                continue;
            }
            let parts: Vec<String> = present
                .iter()
                .map(|(name, len)| format!("{name} {len}"))
                .collect();
            let place = if path.is_empty() { "the order" } else { path };
            d.error(
                path.to_owned(),
                "ois.combined_too_long",
                format!(
                    "{} in {place} are {total} characters together ({}); the {profile_name} profile allows at most {}",
                    limit.fields.join(" + "),
                    parts.join(", "),
                    limit.max
                ),
            );
        }
    }
}

fn check_length(profile_name: &str, value: &Value, path: &str, max: usize, d: &mut Diagnostics) {
    match value {
        Value::String(text) => {
            let length = utf16_len(text);
            if length > max {
                d.error(
                    path,
                    "ois.field_too_long",
                    format!(
                        "{path} is {length} characters long; the {profile_name} profile allows at most {max}"
                    ),
                );
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_length(profile_name, item, &format!("{path}[{i}]"), max, d);
            }
        }
        _ => {}
    }
}

/// The length as .NET and SQL Server count it.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(profile: &Profile, order: Value) -> Vec<(String, String, String)> {
        let mut d = Diagnostics::new();
        profile.check("xprt", &order, &mut d);
        d.into_iter().map(|d| (d.path, d.code, d.message)).collect()
    }

    #[test]
    fn a_field_over_its_limit_is_named_with_limit_and_length() {
        let found = check(
            &Profile::xprt(),
            json!({"DeliveryAddress": {"FirstName": "A".repeat(31), "LastName": "B"}, "Customer": {"FirstName": "A".repeat(30)}}),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "DeliveryAddress.FirstName");
        assert_eq!(found[0].1, "ois.field_too_long");
        assert!(found[0].2.contains("31 characters"), "{}", found[0].2);
        assert!(found[0].2.contains("at most 30"), "{}", found[0].2);
    }

    #[test]
    fn lengths_count_utf16_units() {
        assert_eq!(utf16_len("Hauptstraße"), 11);
        assert_eq!(utf16_len("😀"), 2);
        let name = format!("{}😀", "A".repeat(29));
        let found = check(&Profile::xprt(), json!({"Customer": {"FirstName": name}}));
        assert_eq!(
            found.len(),
            1,
            "29 letters and an emoji are 31 units: {found:?}"
        );
    }

    #[test]
    fn combined_limits_sum_the_fields_of_one_object() {
        let profile = Profile {
            fields: BTreeMap::new(),
            combined: vec![CombinedLimit {
                fields: vec!["Street".into(), "HouseNo".into(), "HouseNoExt".into()],
                max: 10,
            }],
        };
        let found = check(
            &profile,
            json!({"BillingAddress": {"Street": "Dorpsstraat", "HouseNo": "1"}, "DeliveryAddress": {"Street": "Dorp", "HouseNo": "12", "HouseNoExt": "A"}}),
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "BillingAddress");
        assert_eq!(found[0].1, "ois.combined_too_long");
        assert!(
            found[0].2.contains("12 characters together"),
            "{}",
            found[0].2
        );
    }

    #[test]
    fn array_fields_and_nested_lines_are_checked() {
        let profile = Profile {
            fields: [
                ("Description".to_owned(), 3),
                ("ShippingTerms".to_owned(), 2),
            ]
            .into(),
            combined: vec![],
        };
        let found = check(
            &profile,
            json!({"ShippingTerms": ["ok", "long"], "OrderLines": [{"Description": "abc"}, {"Description": "abcd"}]}),
        );
        let mut paths: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["OrderLines[1].Description", "ShippingTerms[1]"]);
    }

    #[test]
    fn unknown_field_names_in_a_profile_are_refused() {
        let profile = Profile {
            fields: [("Firstname".to_owned(), 3)].into(),
            combined: vec![CombinedLimit {
                fields: vec!["Street".into()],
                max: 3,
            }],
        };
        let mut d = Diagnostics::new();
        profile.check_names("/profiles/acme", &mut d);
        let codes: Vec<&str> = d.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(
            codes,
            ["ois.config_unknown_field", "ois.config_combined_too_few"]
        );
        let mut d = Diagnostics::new();
        Profile::xprt().check_names("/profiles/xprt", &mut d);
        assert!(d.is_empty(), "{d}");
    }
}
