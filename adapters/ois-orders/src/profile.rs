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
use tradewire_sdk::Diagnostics;

use crate::ois::{
    Id, OisAddress, OisCouponPayment, OisCustomer, OisDiscount, OisOrder, OisOrderLine,
};

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

    /// Checks `order` against the profile. Paths are OIS field paths
    /// (`DeliveryAddress.FirstName`, `OrderLines[2].Description`). To check many orders,
    /// resolve the profile once with [`Limits::new`].
    pub fn check(&self, profile_name: &str, order: &OisOrder, d: &mut Diagnostics) {
        Limits::new(self).check(profile_name, order, d);
    }
}

/// An OIS text field: one of [`TEXT_FIELDS`], by its place in that list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    OrderNumber,
    OrderReference,
    OrderDate,
    CurrencyCode,
    CustomerId,
    CustomerNumber,
    CompanyName,
    FirstName,
    LastName,
    Street,
    HouseNo,
    HouseNoExt,
    ZipCode,
    City,
    CountryCode,
    PhoneNumber,
    Email,
    PickupBranchIdentifier,
    PickupLocationCode,
    PickupLocationName,
    ShippingAgentId,
    ShippingAgentServiceCode,
    ShippingTerms,
    PaymentOptionId,
    PaymentReference,
    CouponCode,
    ArticleNumber,
    Ean,
    Description,
    Code,
    Comment,
}

/// How many text fields there are.
const FIELD_COUNT: usize = TEXT_FIELDS.len();

impl TextField {
    /// Every text field, in the order of [`TEXT_FIELDS`].
    pub const ALL: [Self; FIELD_COUNT] = [
        Self::OrderNumber,
        Self::OrderReference,
        Self::OrderDate,
        Self::CurrencyCode,
        Self::CustomerId,
        Self::CustomerNumber,
        Self::CompanyName,
        Self::FirstName,
        Self::LastName,
        Self::Street,
        Self::HouseNo,
        Self::HouseNoExt,
        Self::ZipCode,
        Self::City,
        Self::CountryCode,
        Self::PhoneNumber,
        Self::Email,
        Self::PickupBranchIdentifier,
        Self::PickupLocationCode,
        Self::PickupLocationName,
        Self::ShippingAgentId,
        Self::ShippingAgentServiceCode,
        Self::ShippingTerms,
        Self::PaymentOptionId,
        Self::PaymentReference,
        Self::CouponCode,
        Self::ArticleNumber,
        Self::Ean,
        Self::Description,
        Self::Code,
        Self::Comment,
    ];

    /// The OIS field name (`FirstName`).
    pub fn name(self) -> &'static str {
        TEXT_FIELDS.get(self as usize).copied().unwrap_or_default()
    }

    /// The text field called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        let i = TEXT_FIELDS.iter().position(|field| *field == name)?;
        Self::ALL.get(i).copied()
    }
}

/// A [`Profile`] resolved against the OIS text fields, once, so that checking an order is
/// a walk over its typed fields: no JSON value of the order is built, and a path is
/// formatted only for a violation.
///
/// A limit applies to a field wherever it appears, and a combined limit to every object,
/// as if the order were walked as JSON with its keys in order; the diagnostics come in
/// that order. Names that are not OIS text fields (which [`Profile::check_names`] refuses
/// in a config) limit nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    max: [Option<usize>; FIELD_COUNT],
    combined: Vec<Combined>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Combined {
    /// The limit's text fields, in its order.
    fields: Vec<TextField>,
    max: usize,
    /// Every name the limit gives, joined for the message (`FirstName + LastName`).
    label: String,
}

impl Limits {
    pub fn new(profile: &Profile) -> Self {
        let mut max = [None; FIELD_COUNT];
        for (name, &limit) in &profile.fields {
            if let Some(field) = TextField::from_name(name)
                && let Some(slot) = max.get_mut(field as usize)
            {
                *slot = Some(limit);
            }
        }
        let combined = profile
            .combined
            .iter()
            .map(|limit| Combined {
                fields: limit
                    .fields
                    .iter()
                    .filter_map(|name| TextField::from_name(name))
                    .collect(),
                max: limit.max,
                label: limit.fields.join(" + "),
            })
            .collect();
        Self { max, combined }
    }

    fn max(&self, field: TextField) -> Option<usize> {
        self.max.get(field as usize).copied().flatten()
    }

    /// Checks `order`. Paths are OIS field paths (`DeliveryAddress.FirstName`,
    /// `OrderLines[2].Description`).
    pub fn check(&self, profile_name: &str, order: &OisOrder, d: &mut Diagnostics) {
        if self.combined.is_empty() && self.max.iter().all(Option::is_none) {
            return;
        }
        let mut walk = Walk {
            limits: self,
            profile_name,
            d,
        };
        walk.order(order);
    }
}

/// Where an object sits in the order, to name it in a diagnostic.
#[derive(Debug, Clone, Copy)]
enum Place {
    Order,
    /// `Customer`, `BillingAddress`, `DeliveryAddress`.
    Member(&'static str),
    Line(usize),
    Discount(usize, usize),
    Coupon(usize),
}

impl Place {
    /// The path of the object itself: empty for the order.
    fn path(self) -> String {
        match self {
            Self::Order => String::new(),
            Self::Member(name) => name.to_owned(),
            Self::Line(i) => format!("OrderLines[{i}]"),
            Self::Discount(i, j) => format!("OrderLines[{i}].OrderDiscounts[{j}]"),
            Self::Coupon(i) => format!("OrderCouponPayments[{i}]"),
        }
    }

    /// The path of one of its fields.
    fn field(self, name: &str) -> String {
        match self {
            Self::Order => name.to_owned(),
            _ => format!("{}.{name}", self.path()),
        }
    }
}

/// An object of the order with text fields.
trait TextObject {
    /// Its text field `field`, when it has one and it is set.
    fn text(&self, field: TextField) -> Option<&str>;
}

struct Walk<'w> {
    limits: &'w Limits,
    profile_name: &'w str,
    d: &'w mut Diagnostics,
}

impl Walk<'_> {
    /// The order's members in JSON key order (as a sorted map lists them), a field's own
    /// limit before what it contains, each object's combined limits after its members.
    fn order(&mut self, order: &OisOrder) {
        use TextField as F;
        let at = Place::Order;
        if let Some(address) = &order.billing_address {
            self.address(address, Place::Member("BillingAddress"));
        }
        self.fields(order, at, &[F::Comment, F::CurrencyCode]);
        if let Some(customer) = &order.customer {
            self.object(
                customer,
                Place::Member("Customer"),
                &[
                    F::CompanyName,
                    F::CustomerId,
                    F::CustomerNumber,
                    F::Email,
                    F::FirstName,
                    F::LastName,
                    F::PhoneNumber,
                ],
            );
        }
        if let Some(address) = &order.delivery_address {
            self.address(address, Place::Member("DeliveryAddress"));
        }
        for (i, payment) in order.order_coupon_payments.iter().enumerate() {
            self.object(
                payment,
                Place::Coupon(i),
                &[F::CouponCode, F::PaymentOptionId],
            );
        }
        self.fields(order, at, &[F::OrderDate]);
        for (i, line) in order.order_lines.iter().enumerate() {
            self.line(line, i);
        }
        self.fields(
            order,
            at,
            &[
                F::OrderNumber,
                F::OrderReference,
                F::PaymentOptionId,
                F::PaymentReference,
                F::PickupBranchIdentifier,
                F::PickupLocationCode,
                F::PickupLocationName,
                F::ShippingAgentId,
                F::ShippingAgentServiceCode,
            ],
        );
        if let Some(max) = self.limits.max(F::ShippingTerms) {
            for (i, term) in order.shipping_terms.iter().enumerate() {
                self.length(term, max, || format!("ShippingTerms[{i}]"));
            }
        }
        self.combined(order, at);
    }

    fn address(&mut self, address: &OisAddress, at: Place) {
        use TextField as F;
        self.object(
            address,
            at,
            &[
                F::City,
                F::CompanyName,
                F::CountryCode,
                F::Email,
                F::FirstName,
                F::HouseNo,
                F::HouseNoExt,
                F::LastName,
                F::PhoneNumber,
                F::Street,
                F::ZipCode,
            ],
        );
    }

    fn line(&mut self, line: &OisOrderLine, i: usize) {
        use TextField as F;
        let at = Place::Line(i);
        self.fields(line, at, &[F::ArticleNumber, F::Description, F::Ean]);
        for (j, discount) in line.order_discounts.iter().enumerate() {
            self.object(discount, Place::Discount(i, j), &[F::Code, F::Description]);
        }
        self.combined(line, at);
    }

    /// An object whose only members with limits are the text `fields` (in key order).
    fn object(&mut self, object: &impl TextObject, at: Place, fields: &[TextField]) {
        self.fields(object, at, fields);
        self.combined(object, at);
    }

    fn fields(&mut self, object: &impl TextObject, at: Place, fields: &[TextField]) {
        for &field in fields {
            if let Some(max) = self.limits.max(field)
                && let Some(text) = object.text(field)
            {
                self.length(text, max, || at.field(field.name()));
            }
        }
    }

    fn length(&mut self, text: &str, max: usize, path: impl FnOnce() -> String) {
        // A UTF-16 unit takes at least one byte of UTF-8: what fits in bytes fits.
        if text.len() <= max {
            return;
        }
        let length = utf16_len(text);
        if length > max {
            let path = path();
            let message = format!(
                "{path} is {length} characters long; the {} profile allows at most {max}",
                self.profile_name
            );
            self.d.error(path, "ois.field_too_long", message);
        }
    }

    fn combined(&mut self, object: &impl TextObject, at: Place) {
        for limit in &self.limits.combined {
            let mut present = false;
            let mut bytes = 0_usize;
            for text in limit.fields.iter().filter_map(|&f| object.text(f)) {
                present = true;
                bytes = bytes.saturating_add(text.len());
            }
            // As above: within the limit in bytes is within it in UTF-16 units.
            if !present || bytes <= limit.max {
                continue;
            }
            let parts: Vec<(TextField, usize)> = limit
                .fields
                .iter()
                .filter_map(|&f| Some((f, utf16_len(object.text(f)?))))
                .collect();
            let total: usize = parts.iter().map(|(_, len)| len).sum();
            if total <= limit.max {
                continue;
            }
            let parts: Vec<String> = parts
                .iter()
                .map(|(field, len)| format!("{} {len}", field.name()))
                .collect();
            let path = at.path();
            let place = if path.is_empty() { "the order" } else { &path };
            let message = format!(
                "{} in {place} are {total} characters together ({}); the {} profile allows at most {}",
                limit.label,
                parts.join(", "),
                self.profile_name,
                limit.max
            );
            self.d.error(path, "ois.combined_too_long", message);
        }
    }
}

impl TextObject for OisOrder {
    fn text(&self, field: TextField) -> Option<&str> {
        use TextField as F;
        match field {
            F::OrderNumber => self.order_number.as_deref(),
            F::OrderReference => self.order_reference.as_deref(),
            F::OrderDate => self.order_date.as_deref(),
            F::CurrencyCode => self.currency_code.as_deref(),
            F::PickupBranchIdentifier => id(self.pickup_branch_identifier.as_ref()),
            F::PickupLocationCode => self.pickup_location_code.as_deref(),
            F::PickupLocationName => self.pickup_location_name.as_deref(),
            F::ShippingAgentId => id(self.shipping_agent_id.as_ref()),
            F::ShippingAgentServiceCode => self.shipping_agent_service_code.as_deref(),
            F::PaymentOptionId => id(self.payment_option_id.as_ref()),
            F::PaymentReference => self.payment_reference.as_deref(),
            F::Comment => self.comment.as_deref(),
            _ => None,
        }
    }
}

impl TextObject for OisCustomer {
    fn text(&self, field: TextField) -> Option<&str> {
        use TextField as F;
        match field {
            F::CustomerId => self.customer_id.as_deref(),
            F::CustomerNumber => self.customer_number.as_deref(),
            F::CompanyName => self.company_name.as_deref(),
            F::FirstName => self.first_name.as_deref(),
            F::LastName => self.last_name.as_deref(),
            F::Email => self.email.as_deref(),
            F::PhoneNumber => self.phone_number.as_deref(),
            _ => None,
        }
    }
}

impl TextObject for OisAddress {
    fn text(&self, field: TextField) -> Option<&str> {
        use TextField as F;
        match field {
            F::CompanyName => self.company_name.as_deref(),
            F::FirstName => self.first_name.as_deref(),
            F::LastName => self.last_name.as_deref(),
            F::Street => self.street.as_deref(),
            F::HouseNo => self.house_no.as_deref(),
            F::HouseNoExt => self.house_no_ext.as_deref(),
            F::ZipCode => self.zip_code.as_deref(),
            F::City => self.city.as_deref(),
            F::CountryCode => self.country_code.as_deref(),
            F::PhoneNumber => self.phone_number.as_deref(),
            F::Email => self.email.as_deref(),
            _ => None,
        }
    }
}

impl TextObject for OisOrderLine {
    fn text(&self, field: TextField) -> Option<&str> {
        use TextField as F;
        match field {
            F::ArticleNumber => self.article_number.as_deref(),
            F::Ean => self.ean.as_deref(),
            F::Description => self.description.as_deref(),
            _ => None,
        }
    }
}

impl TextObject for OisDiscount {
    fn text(&self, field: TextField) -> Option<&str> {
        use TextField as F;
        match field {
            F::Code => self.code.as_deref(),
            F::Description => self.description.as_deref(),
            _ => None,
        }
    }
}

impl TextObject for OisCouponPayment {
    fn text(&self, field: TextField) -> Option<&str> {
        use TextField as F;
        match field {
            F::CouponCode => self.coupon_code.as_deref(),
            F::PaymentOptionId => id(self.payment_option_id.as_ref()),
            _ => None,
        }
    }
}

fn id(id: Option<&Id>) -> Option<&str> {
    id.map(|Id(text)| text.as_str())
}

/// The length as .NET and SQL Server count it.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn check(profile: &Profile, order: Value) -> Vec<(String, String, String)> {
        let order: OisOrder = serde_json::from_str(&order.to_string()).unwrap();
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
    fn limits_apply_in_discounts_coupons_and_lines() {
        let profile = Profile {
            fields: [("Code".to_owned(), 3), ("PaymentOptionId".to_owned(), 2)].into(),
            combined: vec![CombinedLimit {
                fields: vec!["ArticleNumber".into(), "Description".into()],
                max: 6,
            }],
        };
        let found = check(
            &profile,
            json!({
                "PaymentOptionId": "123",
                "OrderCouponPayments": [{"CouponCode": "C", "PaymentOptionId": "12"}, {"PaymentOptionId": "999"}],
                "OrderLines": [
                    {"ArticleNumber": "A", "Description": "short"},
                    {"ArticleNumber": "A-1", "OrderDiscounts": [{"Code": "ok"}, {"Code": "LONG"}]},
                    {"ArticleNumber": "A-2", "Description": "long €"},
                ],
            }),
        );
        assert_eq!(
            found,
            [
                (
                    "OrderCouponPayments[1].PaymentOptionId".into(),
                    "ois.field_too_long".into(),
                    "OrderCouponPayments[1].PaymentOptionId is 3 characters long; the xprt profile allows at most 2".into()
                ),
                (
                    "OrderLines[1].OrderDiscounts[1].Code".into(),
                    "ois.field_too_long".into(),
                    "OrderLines[1].OrderDiscounts[1].Code is 4 characters long; the xprt profile allows at most 3".into()
                ),
                (
                    "OrderLines[2]".into(),
                    "ois.combined_too_long".into(),
                    "ArticleNumber + Description in OrderLines[2] are 9 characters together (ArticleNumber 3, Description 6); the xprt profile allows at most 6".into()
                ),
                (
                    "PaymentOptionId".into(),
                    "ois.field_too_long".into(),
                    "PaymentOptionId is 3 characters long; the xprt profile allows at most 2".into()
                ),
            ]
        );
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
    /// The first implementation, which walked the order as a JSON value: the reference
    /// [`Limits::check`] must agree with, diagnostic for diagnostic.
    mod value_walk {
        use super::super::*;
        use serde_json::Value;

        impl Profile {
            pub(super) fn check_value(
                &self,
                profile_name: &str,
                value: &Value,
                path: &str,
                d: &mut Diagnostics,
            ) {
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

        fn check_length(
            profile_name: &str,
            value: &Value,
            path: &str,
            max: usize,
            d: &mut Diagnostics,
        ) {
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
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        // One, two, three and four bytes of UTF-8; the last is two UTF-16 units.
        let chars = prop::collection::vec(prop::sample::select(vec!['a', 'é', '€', '😀']), 0..14);
        prop::option::of(chars.prop_map(|c| c.into_iter().collect::<String>()))
    }

    fn object(fields: &'static [&'static str]) -> impl Strategy<Value = Value> {
        prop::collection::vec(text(), fields.len()).prop_map(move |texts| {
            let members = fields
                .iter()
                .zip(texts)
                .filter_map(|(name, text)| Some(((*name).to_owned(), Value::from(text?))));
            Value::Object(members.collect())
        })
    }

    const PARTY: &[&str] = &[
        "CustomerId",
        "CustomerNumber",
        "CompanyName",
        "FirstName",
        "LastName",
        "Email",
        "PhoneNumber",
    ];
    const ADDRESS: &[&str] = &[
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
    ];
    const ORDER: &[&str] = &[
        "OrderNumber",
        "OrderReference",
        "OrderDate",
        "CurrencyCode",
        "PickupBranchIdentifier",
        "PickupLocationCode",
        "PickupLocationName",
        "ShippingAgentId",
        "ShippingAgentServiceCode",
        "PaymentOptionId",
        "PaymentReference",
        "Comment",
    ];

    fn order() -> impl Strategy<Value = Value> {
        let line = (
            object(&["ArticleNumber", "Ean", "Description"]),
            prop::collection::vec(object(&["Code", "Description"]), 0..3),
        )
            .prop_map(|(mut line, discounts)| {
                line["LineType"] = json!("Article");
                line["Price"] = json!(1.5);
                line["OrderDiscounts"] = Value::Array(discounts);
                line
            });
        (
            object(ORDER),
            prop::option::of(object(PARTY)),
            prop::option::of(object(ADDRESS)),
            prop::option::of(object(ADDRESS)),
            prop::collection::vec(line, 0..3),
            prop::collection::vec(object(&["CouponCode", "PaymentOptionId"]), 0..3),
            prop::collection::vec(text().prop_map(Option::unwrap_or_default), 0..3),
        )
            .prop_map(
                |(mut order, customer, billing, delivery, lines, coupons, terms)| {
                    order["Customer"] = customer.into();
                    order["BillingAddress"] = billing.into();
                    order["DeliveryAddress"] = delivery.into();
                    order["DeliveryMethod"] = json!("1");
                    order["OrderLines"] = Value::Array(lines);
                    order["OrderCouponPayments"] = Value::Array(coupons);
                    order["ShippingTerms"] = json!(terms);
                    order
                },
            )
    }

    fn profile() -> impl Strategy<Value = Profile> {
        let name = || prop::sample::select(TEXT_FIELDS);
        let fields =
            prop::collection::btree_map(name().prop_map(str::to_owned), 0_usize..12, 0..12);
        let combined = prop::collection::vec(
            (
                prop::collection::vec(name().prop_map(str::to_owned), 2..4),
                0_usize..30,
            )
                .prop_map(|(fields, max)| CombinedLimit { fields, max }),
            0..4,
        );
        (fields, combined).prop_map(|(fields, combined)| Profile { fields, combined })
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(512))]

        /// The typed walk finds what a walk over the order as JSON finds, in the same
        /// order, with the same paths and messages.
        #[test]
        fn the_typed_walk_agrees_with_the_json_walk(order in order(), profile in profile()) {
            let order: OisOrder = serde_json::from_str(&order.to_string()).unwrap();
            let json = serde_json::to_value(&order).unwrap();
            let mut expected = Diagnostics::new();
            profile.check_value("p", &json, "", &mut expected);
            let mut found = Diagnostics::new();
            Limits::new(&profile).check("p", &order, &mut found);
            let as_tuples = |d: Diagnostics| -> Vec<(String, String, String)> {
                d.into_iter().map(|d| (d.path, d.code, d.message)).collect()
            };
            prop_assert_eq!(as_tuples(found), as_tuples(expected));
        }
    }
}
