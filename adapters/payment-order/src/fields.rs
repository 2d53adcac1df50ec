//! The Payline order object as text fields, the same whether it came as JSON or SOAP.
//!
//! Reading a form fills a [`RawOrder`]; interpreting it (`decode`) turns it into the
//! canonical order. Encoding goes the other way. Keeping the two forms apart from the
//! interpretation means every rule about a field is written once.
//!
//! A field is an index into the schema's list of names, so that a [`RawOrder`] is a row
//! of slots rather than a map, and its text borrows from the input where it can.

use std::borrow::Cow;

/// An `order` field: its position in [`ORDER_FIELDS`], the schema's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field(u8);

/// An `orderDetail` field: its position in [`DETAIL_FIELDS`], the schema's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DetailField(u8);

/// The `order` field names in the order of `complexType order` in WebPaymentAPI.wsdl
/// 4.77, which is the order SOAP requires and the order both forms are written in.
const ORDER_NAMES: [&str; 20] = [
    "ref",
    "origin",
    "country",
    "taxes",
    "amount",
    "currency",
    "date",
    "details",
    "deliveryTime",
    "deliveryMode",
    "deliveryExpectedDate",
    "deliveryExpectedDelay",
    "deliveryCharge",
    "discountAmount",
    "otaPackageType",
    "otaDestinationCountry",
    "bookingReference",
    "orderDetail",
    "orderExtended",
    "orderOTA",
];

pub(crate) const REF: Field = Field(0);
pub(crate) const ORIGIN: Field = Field(1);
pub(crate) const COUNTRY: Field = Field(2);
pub(crate) const TAXES: Field = Field(3);
pub(crate) const AMOUNT: Field = Field(4);
pub(crate) const CURRENCY: Field = Field(5);
pub(crate) const DATE: Field = Field(6);
pub(crate) const DETAILS: Field = Field(7);
pub(crate) const DELIVERY_TIME: Field = Field(8);
pub(crate) const DELIVERY_MODE: Field = Field(9);
pub(crate) const DELIVERY_EXPECTED_DATE: Field = Field(10);
pub(crate) const DELIVERY_EXPECTED_DELAY: Field = Field(11);
pub(crate) const DELIVERY_CHARGE: Field = Field(12);
pub(crate) const DISCOUNT_AMOUNT: Field = Field(13);
pub(crate) const OTA_PACKAGE_TYPE: Field = Field(14);
pub(crate) const OTA_DESTINATION_COUNTRY: Field = Field(15);
pub(crate) const BOOKING_REFERENCE: Field = Field(16);
pub(crate) const ORDER_DETAIL: Field = Field(17);
pub(crate) const ORDER_EXTENDED: Field = Field(18);
pub(crate) const ORDER_OTA: Field = Field(19);

/// The `order` fields in the schema's order (see [`ORDER_NAMES`]).
pub(crate) const ORDER_FIELDS: [Field; 20] = [
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

/// The name that belongs to `DETAILS`, both the wrapper and each item in SOAP.
pub(crate) const DETAILS_NAME: &str = ORDER_NAMES[DETAILS.0 as usize];

/// Order fields carried unchanged in `Order.extensions` under `payline.<name>`: the
/// canonical model has no place for them.
pub(crate) const PASSED_THROUGH: [Field; 6] = [
    OTA_PACKAGE_TYPE,
    OTA_DESTINATION_COUNTRY,
    BOOKING_REFERENCE,
    ORDER_DETAIL,
    ORDER_EXTENDED,
    ORDER_OTA,
];

/// The `orderDetail` field names in the schema's order.
const DETAIL_NAMES: [&str; 12] = [
    "ref",
    "price",
    "quantity",
    "comment",
    "category",
    "brand",
    "subcategory1",
    "subcategory2",
    "additionalData",
    "taxRate",
    "seller",
    "sellerType",
];

pub(crate) const D_REF: DetailField = DetailField(0);
pub(crate) const D_PRICE: DetailField = DetailField(1);
pub(crate) const D_QUANTITY: DetailField = DetailField(2);
pub(crate) const D_COMMENT: DetailField = DetailField(3);
pub(crate) const D_CATEGORY: DetailField = DetailField(4);
pub(crate) const D_BRAND: DetailField = DetailField(5);
pub(crate) const D_SUBCATEGORY1: DetailField = DetailField(6);
pub(crate) const D_SUBCATEGORY2: DetailField = DetailField(7);
pub(crate) const D_ADDITIONAL_DATA: DetailField = DetailField(8);
pub(crate) const D_TAX_RATE: DetailField = DetailField(9);
pub(crate) const D_SELLER: DetailField = DetailField(10);
pub(crate) const D_SELLER_TYPE: DetailField = DetailField(11);

/// The `orderDetail` fields in the schema's order.
pub(crate) const DETAIL_FIELDS: [DetailField; 12] = [
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

impl Field {
    /// The schema's spelling.
    pub(crate) const fn name(self) -> &'static str {
        ORDER_NAMES[self.0 as usize]
    }

    /// The field spelled `name` (exactly), if it is one.
    pub(crate) fn named(name: &str) -> Option<Self> {
        ORDER_FIELDS.into_iter().find(|field| field.name() == name)
    }

    /// The field's position in the schema's list, which is its slot in a raw order.
    pub(crate) fn slot(self) -> usize {
        usize::from(self.0)
    }

    /// The Payline API version the field appeared in, for those that were not there from
    /// the start: the specification's "version 18 or higher" (`deliveryCharge`) and
    /// "version 21 or higher" (`discountAmount`, the OTA fields, `bookingReference`,
    /// `orderDetail`). The specification does not list `orderExtended` and `orderOTA`,
    /// which the WSDL has after those: they are taken to be as recent.
    pub(crate) fn since_api_version(self) -> Option<u32> {
        match self {
            DELIVERY_CHARGE => Some(18),
            DISCOUNT_AMOUNT
            | OTA_PACKAGE_TYPE
            | OTA_DESTINATION_COUNTRY
            | BOOKING_REFERENCE
            | ORDER_DETAIL
            | ORDER_EXTENDED
            | ORDER_OTA => Some(21),
            _ => None,
        }
    }
}

impl DetailField {
    /// The schema's spelling.
    pub(crate) const fn name(self) -> &'static str {
        DETAIL_NAMES[self.0 as usize]
    }

    /// The field spelled `name` (exactly), if it is one.
    pub(crate) fn named(name: &str) -> Option<Self> {
        DETAIL_FIELDS.into_iter().find(|field| field.name() == name)
    }

    /// The field's position in the schema's list, which is its slot in a raw order.
    pub(crate) fn slot(self) -> usize {
        usize::from(self.0)
    }
}

/// The key under which `Order.extensions` (or `OrderLine.extensions`) keeps a Payline
/// field verbatim.
pub(crate) fn extension_key(field: &str) -> String {
    format!("payline.{field}")
}

/// An order object as text: each present leaf field, trimmed and never empty, and the
/// line items. The `details` slot is always empty: the items are in `details`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawOrder<'a> {
    fields: [Option<Cow<'a, str>>; ORDER_NAMES.len()],
    pub details: Vec<RawDetail<'a>>,
}

/// One `orderDetail` as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawDetail<'a> {
    fields: [Option<Cow<'a, str>>; DETAIL_NAMES.len()],
}

impl<'a> RawOrder<'a> {
    pub(crate) fn get(&self, field: Field) -> Option<&str> {
        self.fields[field.slot()].as_deref()
    }

    pub(crate) fn has(&self, field: Field) -> bool {
        self.fields[field.slot()].is_some()
    }

    /// Sets a leaf field; the caller has trimmed the text and left out empty values.
    pub(crate) fn set(&mut self, field: Field, text: impl Into<Cow<'a, str>>) {
        debug_assert!(field != DETAILS, "`details` is not a leaf");
        self.fields[field.slot()] = Some(text.into());
    }
}

#[cfg(test)]
impl RawOrder<'_> {
    /// The same order, owning its text.
    pub(crate) fn into_owned(self) -> RawOrder<'static> {
        RawOrder {
            fields: self
                .fields
                .map(|text| text.map(|t| Cow::Owned(t.into_owned()))),
            details: self
                .details
                .into_iter()
                .map(|detail| RawDetail {
                    fields: detail
                        .fields
                        .map(|text| text.map(|t| Cow::Owned(t.into_owned()))),
                })
                .collect(),
        }
    }
}

impl<'a> RawDetail<'a> {
    pub(crate) fn get(&self, field: DetailField) -> Option<&str> {
        self.fields[field.slot()].as_deref()
    }

    /// Sets a field; the caller has trimmed the text and left out empty values.
    pub(crate) fn set(&mut self, field: DetailField, text: impl Into<Cow<'a, str>>) {
        self.fields[field.slot()] = Some(text.into());
    }

    /// Sets or clears a field; the caller has trimmed the text and left out empty values.
    pub(crate) fn put(&mut self, field: DetailField, text: Option<Cow<'a, str>>) {
        self.fields[field.slot()] = text;
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
        assert_eq!(Form::Json.field(REF.name()), "/ref");
        assert_eq!(Form::Soap.field(REF.name()), "/order/ref");
        assert_eq!(
            Form::Json.detail_field(2, D_TAX_RATE.name()),
            "/details/2/taxRate"
        );
        assert_eq!(
            Form::Soap.detail_field(2, D_TAX_RATE.name()),
            "/order/details/details[3]/taxRate"
        );
    }

    #[test]
    fn names_are_matched_exactly() {
        assert_eq!(Field::named("deliveryTime"), Some(DELIVERY_TIME));
        assert_eq!(Field::named("deliverytime"), None);
        assert_eq!(DetailField::named("taxRate"), Some(D_TAX_RATE));
        assert_eq!(DetailField::named("details"), None);
        assert_eq!(
            extension_key(BOOKING_REFERENCE.name()),
            "payline.bookingReference"
        );
    }

    #[test]
    fn every_name_finds_its_own_field() {
        for (slot, field) in ORDER_FIELDS.into_iter().enumerate() {
            assert_eq!(field.slot(), slot);
            assert_eq!(Field::named(field.name()), Some(field));
        }
        for (slot, field) in DETAIL_FIELDS.into_iter().enumerate() {
            assert_eq!(field.slot(), slot);
            assert_eq!(DetailField::named(field.name()), Some(field));
        }
        assert_eq!(DETAILS_NAME, "details");
    }
}
