//! The Payline order object as text fields, the same whether it came as JSON or SOAP.
//!
//! Reading a form fills a [`RawOrder`]; interpreting it (`decode`) turns it into the
//! canonical order. Encoding goes the other way. Keeping the two forms apart from the
//! interpretation means every rule about a field is written once.

use std::collections::BTreeMap;

pub(crate) const REF: &str = "ref";
pub(crate) const ORIGIN: &str = "origin";
pub(crate) const COUNTRY: &str = "country";
pub(crate) const TAXES: &str = "taxes";
pub(crate) const AMOUNT: &str = "amount";
pub(crate) const CURRENCY: &str = "currency";
pub(crate) const DATE: &str = "date";
pub(crate) const DETAILS: &str = "details";
pub(crate) const DELIVERY_TIME: &str = "deliveryTime";
pub(crate) const DELIVERY_MODE: &str = "deliveryMode";
pub(crate) const DELIVERY_EXPECTED_DATE: &str = "deliveryExpectedDate";
pub(crate) const DELIVERY_EXPECTED_DELAY: &str = "deliveryExpectedDelay";
pub(crate) const DELIVERY_CHARGE: &str = "deliveryCharge";
pub(crate) const DISCOUNT_AMOUNT: &str = "discountAmount";
pub(crate) const OTA_PACKAGE_TYPE: &str = "otaPackageType";
pub(crate) const OTA_DESTINATION_COUNTRY: &str = "otaDestinationCountry";
pub(crate) const BOOKING_REFERENCE: &str = "bookingReference";
pub(crate) const ORDER_DETAIL: &str = "orderDetail";
pub(crate) const ORDER_EXTENDED: &str = "orderExtended";
pub(crate) const ORDER_OTA: &str = "orderOTA";

/// The `order` fields in the order of `complexType order` in WebPaymentAPI.wsdl 4.77,
/// which is the order SOAP requires and the order both forms are written in.
pub(crate) const ORDER_FIELDS: [&str; 20] = [
    REF,
    ORIGIN,
    COUNTRY,
    TAXES,
    AMOUNT,
    CURRENCY,
    DATE,
    DETAILS,
    DELIVERY_TIME,
    DELIVERY_MODE,
    DELIVERY_EXPECTED_DATE,
    DELIVERY_EXPECTED_DELAY,
    DELIVERY_CHARGE,
    DISCOUNT_AMOUNT,
    OTA_PACKAGE_TYPE,
    OTA_DESTINATION_COUNTRY,
    BOOKING_REFERENCE,
    ORDER_DETAIL,
    ORDER_EXTENDED,
    ORDER_OTA,
];

/// Order fields carried unchanged in `Order.extensions` under `payline.<name>`: the
/// canonical model has no place for them.
pub(crate) const PASSED_THROUGH: [&str; 6] = [
    OTA_PACKAGE_TYPE,
    OTA_DESTINATION_COUNTRY,
    BOOKING_REFERENCE,
    ORDER_DETAIL,
    ORDER_EXTENDED,
    ORDER_OTA,
];

pub(crate) const D_REF: &str = "ref";
pub(crate) const D_PRICE: &str = "price";
pub(crate) const D_QUANTITY: &str = "quantity";
pub(crate) const D_COMMENT: &str = "comment";
pub(crate) const D_CATEGORY: &str = "category";
pub(crate) const D_BRAND: &str = "brand";
pub(crate) const D_SUBCATEGORY1: &str = "subcategory1";
pub(crate) const D_SUBCATEGORY2: &str = "subcategory2";
pub(crate) const D_ADDITIONAL_DATA: &str = "additionalData";
pub(crate) const D_TAX_RATE: &str = "taxRate";
pub(crate) const D_SELLER: &str = "seller";
pub(crate) const D_SELLER_TYPE: &str = "sellerType";

/// The `orderDetail` fields in the schema's order.
pub(crate) const DETAIL_FIELDS: [&str; 12] = [
    D_REF,
    D_PRICE,
    D_QUANTITY,
    D_COMMENT,
    D_CATEGORY,
    D_BRAND,
    D_SUBCATEGORY1,
    D_SUBCATEGORY2,
    D_ADDITIONAL_DATA,
    D_TAX_RATE,
    D_SELLER,
    D_SELLER_TYPE,
];

/// The Payline schema allows at most this many `orderDetail` items.
pub(crate) const MAX_DETAILS: usize = 100;

/// The key under which `Order.extensions` (or `OrderLine.extensions`) keeps a Payline
/// field verbatim.
pub(crate) fn extension_key(field: &str) -> String {
    format!("payline.{field}")
}

/// The schema's own spelling of an order field name, if it is one.
pub(crate) fn order_field(name: &str) -> Option<&'static str> {
    ORDER_FIELDS.iter().copied().find(|known| *known == name)
}

/// The schema's own spelling of a detail field name, if it is one.
pub(crate) fn detail_field(name: &str) -> Option<&'static str> {
    DETAIL_FIELDS.iter().copied().find(|known| *known == name)
}

/// An order object as text: each present leaf field, trimmed and never empty, and the
/// line items. `fields` never holds `details`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawOrder {
    pub fields: BTreeMap<&'static str, String>,
    pub details: Vec<RawDetail>,
}

/// One `orderDetail` as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawDetail {
    pub fields: BTreeMap<&'static str, String>,
}

impl RawOrder {
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

impl RawDetail {
    pub(crate) fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

/// The form a decoded order came in, which decides how diagnostics name its fields: a
/// JSON Pointer into the JSON object, or the element path (1-based items) in SOAP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Json,
    Soap,
}

impl Form {
    /// The whole order object.
    pub(crate) fn root(self) -> String {
        match self {
            Self::Json => String::new(),
            Self::Soap => "/order".to_owned(),
        }
    }

    pub(crate) fn field(self, field: &str) -> String {
        format!("{}/{field}", self.root())
    }

    pub(crate) fn detail(self, index: usize) -> String {
        match self {
            Self::Json => format!("/details/{index}"),
            Self::Soap => format!("/order/details/details[{}]", index + 1),
        }
    }

    pub(crate) fn detail_field(self, index: usize, field: &str) -> String {
        format!("{}/{field}", self.detail(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_follow_each_form() {
        assert_eq!(Form::Json.field(REF), "/ref");
        assert_eq!(Form::Soap.field(REF), "/order/ref");
        assert_eq!(Form::Json.detail_field(2, D_TAX_RATE), "/details/2/taxRate");
        assert_eq!(
            Form::Soap.detail_field(2, D_TAX_RATE),
            "/order/details/details[3]/taxRate"
        );
    }

    #[test]
    fn names_are_matched_exactly() {
        assert_eq!(order_field("deliveryTime"), Some(DELIVERY_TIME));
        assert_eq!(order_field("deliverytime"), None);
        assert_eq!(detail_field("taxRate"), Some(D_TAX_RATE));
        assert_eq!(extension_key(BOOKING_REFERENCE), "payline.bookingReference");
    }
}
