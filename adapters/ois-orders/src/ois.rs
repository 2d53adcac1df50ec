//! The OIS order JSON, as serde types.
//!
//! Field names are the spec's (PascalCase, `VATPercentage`); where the spec names no field
//! the obvious name is chosen, and the README says which. Every field is optional at this
//! level so that a missing one becomes a located diagnostic from [`crate::rules`], not a
//! bare "missing field" from serde.
//!
//! Amounts are [`Amount`]s: read from the JSON number's own text (or a string holding
//! one) and written back as number text, so no amount ever passes through `f64`. That text
//! is borrowed from the input, so these types are read from JSON text
//! (`serde_json::from_slice`), not from a `serde_json::Value`.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use tradewire_sdk::core::{Decimal, LineKind};

/// One order as OIS receives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OisOrder {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_reference: Option<String>,
    /// ISO 8601 date and time with its UTC offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<OisCustomer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<OisAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<OisAddress>,
    /// `"1"` home, `"2"` store pickup, `"3"` service point; numbers accepted on input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_method: Option<Coded<OisDeliveryMethod>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_branch_identifier: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_location_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_location_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_agent_id: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_agent_service_code: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shipping_terms: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_option_id: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_coupon_payments: Vec<OisCouponPayment>,
    #[serde(default)]
    pub order_lines: Vec<OisOrderLine>,
    /// What the customer pays for the order, VAT included: the sum of the lines' `Value`s,
    /// vouchers subtracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_value: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OisCustomer {
    /// The webshop's customer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The customer's number in the ERP, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OisAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub house_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub house_no_ext: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// One order line. Every amount is for the whole line (all of `Quantity`), VAT included.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OisOrderLine {
    /// `"Article"`, `"ShippingCost"`, `"PaymentFee"` or `"Voucher"`; `1`–`4` (number or
    /// string) accepted on input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_type: Option<Coded<OisLineType>>,
    /// The variant's article number (SKU); the coupon code on a voucher line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Amount>,
    /// The line's amount before its discounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_price: Option<Amount>,
    /// The line's amount after its discounts: `OriginalPrice` less every `OrderDiscounts` value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Amount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_discounts: Vec<OisDiscount>,
    /// The amount paid for the line: equal to `Price`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Amount>,
    #[serde(
        default,
        rename = "VATPercentage",
        skip_serializing_if = "Option::is_none"
    )]
    pub vat_percentage: Option<Amount>,
}

/// One reduction on one line, for the whole line, VAT included.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OisDiscount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A part of the order paid with a coupon.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OisCouponPayment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_option_id: Option<Id>,
}

/// The four line types, with the spec's numbers and names.
pub const LINE_TYPES: [(u64, &str, LineKind); 4] = [
    (1, "Article", LineKind::Article),
    (2, "ShippingCost", LineKind::Shipping),
    (3, "PaymentFee", LineKind::PaymentFee),
    (4, "Voucher", LineKind::Voucher),
];

/// The name written for a canonical line kind; `None` for kinds OIS has no line type for.
pub fn line_type_name(kind: LineKind) -> Option<&'static str> {
    OisLineType::of(kind).map(CodeTable::written)
}

/// Reads a `LineType`: `1`, `"1"` or `"Article"` (names case-insensitively).
pub fn parse_line_type(value: &Value) -> Result<LineKind, String> {
    OisLineType::parse_value(value).map(OisLineType::kind)
}

/// A code OIS sends as a number or a string (`LineType`, `DeliveryMethod`): one of the
/// known ones, or the JSON value as received, kept for the rules to report. Reading one
/// never fails, so that an unknown code is a located diagnostic, not a JSON error.
#[derive(Debug, Clone, PartialEq)]
pub enum Coded<T> {
    Known(T),
    Unknown(Value),
}

impl<T: CodeTable> Coded<T> {
    /// The known code, or why the value is none.
    pub fn parse(&self) -> Result<T, String> {
        match self {
            Self::Known(code) => Ok(*code),
            Self::Unknown(value) => T::parse_value(value),
        }
    }

    pub fn known(&self) -> Option<T> {
        match self {
            Self::Known(code) => Some(*code),
            Self::Unknown(_) => None,
        }
    }
}

/// The codes of one OIS field, read from a whole number or a string.
pub trait CodeTable: Copy + Sized {
    /// The code numbered `number`.
    fn from_number(number: u64) -> Option<Self>;
    /// The code `text` names (untrimmed, as received).
    fn from_text(text: &str) -> Option<Self>;
    /// The form written.
    fn written(self) -> &'static str;
    /// Why `value` is not a code of the table.
    fn refusal(value: &Value) -> String;

    /// Reads a code from a JSON value: a whole number or a string.
    fn parse_value(value: &Value) -> Result<Self, String> {
        let found = match value {
            Value::Number(n) => n.as_u64().and_then(Self::from_number),
            Value::String(s) => Self::from_text(s),
            _ => None,
        };
        found.ok_or_else(|| Self::refusal(value))
    }
}

impl<T: CodeTable> Serialize for Coded<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Known(code) => serializer.serialize_str(code.written()),
            Self::Unknown(value) => value.serialize(serializer),
        }
    }
}

impl<'de, T: CodeTable> Deserialize<'de> for Coded<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The same reading as [`CodeTable::parse_value`] on the value the JSON holds,
        /// without building that value for a known code.
        struct CodedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: CodeTable> Visitor<'de> for CodedVisitor<T> {
            type Value = Coded<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a code, as a number or a string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Coded<T>, E> {
                Ok(T::from_number(v).map_or_else(|| Coded::Unknown(Value::from(v)), Coded::Known))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Coded<T>, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Ok(Coded::Unknown(Value::from(v))),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Coded<T>, E> {
                Ok(Coded::Unknown(Value::from(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Coded<T>, E> {
                Ok(Coded::Unknown(Value::Bool(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Coded<T>, E> {
                Ok(Coded::Unknown(Value::Null))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Coded<T>, E> {
                Ok(T::from_text(v)
                    .map_or_else(|| Coded::Unknown(Value::String(v.to_owned())), Coded::Known))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Coded<T>, E> {
                Ok(match T::from_text(&v) {
                    Some(code) => Coded::Known(code),
                    None => Coded::Unknown(Value::String(v)),
                })
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Coded<T>, A::Error> {
                Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Coded::Unknown)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Coded<T>, A::Error> {
                Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Coded::Unknown)
            }
        }
        deserializer.deserialize_any(CodedVisitor(std::marker::PhantomData))
    }
}

/// OIS's line types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OisLineType {
    Article,
    ShippingCost,
    PaymentFee,
    Voucher,
}

impl OisLineType {
    const ALL: [Self; 4] = [
        Self::Article,
        Self::ShippingCost,
        Self::PaymentFee,
        Self::Voucher,
    ];

    fn entry(self) -> (u64, &'static str, LineKind) {
        let [article, shipping, fee, voucher] = LINE_TYPES;
        match self {
            Self::Article => article,
            Self::ShippingCost => shipping,
            Self::PaymentFee => fee,
            Self::Voucher => voucher,
        }
    }

    /// The canonical line kind.
    pub fn kind(self) -> LineKind {
        self.entry().2
    }

    /// The line type of a canonical kind; `None` for kinds OIS has none for.
    pub fn of(kind: LineKind) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.kind() == kind)
    }
}

impl CodeTable for OisLineType {
    fn from_number(number: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.entry().0 == number)
    }

    /// The number (`"1"`) or the name, case-insensitively (`"article"`), trimmed.
    fn from_text(text: &str) -> Option<Self> {
        if let Some(exact) = Self::ALL.into_iter().find(|t| t.written() == text) {
            return Some(exact);
        }
        let text = text.trim();
        let number = text.parse::<u64>().ok();
        Self::ALL.into_iter().find(|t| {
            let (code, name, _) = t.entry();
            name.eq_ignore_ascii_case(text) || number == Some(code)
        })
    }

    fn written(self) -> &'static str {
        self.entry().1
    }

    fn refusal(value: &Value) -> String {
        format!(
            "LineType {value} is not one of 1/\"Article\", 2/\"ShippingCost\", 3/\"PaymentFee\", 4/\"Voucher\""
        )
    }
}

/// OIS's delivery methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OisDeliveryMethod {
    Home = 1,
    StorePickup = 2,
    ServicePoint = 3,
}

impl OisDeliveryMethod {
    /// Reads `1`–`3`, as a number or a string.
    pub fn parse(value: &Value) -> Result<Self, String> {
        Self::parse_value(value)
    }
}

impl CodeTable for OisDeliveryMethod {
    fn from_number(number: u64) -> Option<Self> {
        match number {
            1 => Some(Self::Home),
            2 => Some(Self::StorePickup),
            3 => Some(Self::ServicePoint),
            _ => None,
        }
    }

    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse::<u64>().ok().and_then(Self::from_number)
    }

    fn written(self) -> &'static str {
        match self {
            Self::Home => "1",
            Self::StorePickup => "2",
            Self::ServicePoint => "3",
        }
    }

    fn refusal(value: &Value) -> String {
        format!(
            "DeliveryMethod {value} is not one of \"1\" (home delivery), \"2\" (store pickup), \"3\" (service point)"
        )
    }
}

/// An identifier OIS hands out (`ShippingAgentId`, `PaymentOptionId`, a branch): read from a
/// string or a whole number, always written as a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Id(pub String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an identifier, as a string or a whole number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// Amounts, quantities and rates beyond this are refused, on input and before encoding, so
/// that no sum or product of them can overflow a `Decimal` (which would panic).
pub const MAX_MAGNITUDE: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0); // 10^12

/// `amount.abs() > MAX_MAGNITUDE`, with the comparison (which scales one side to the
/// other) only for a mantissa above 10^12: `m / 10^scale` is at most `m`.
pub(crate) fn beyond_max_magnitude(amount: Decimal) -> bool {
    const MAX: u128 = 1_000_000_000_000;
    amount.mantissa().unsigned_abs() > MAX && amount.abs() > MAX_MAGNITUDE
}

/// An exact decimal: a JSON number (or a string holding one) on input, number text on
/// output. Exponents (`1e2`) are accepted on input; they are never written. Magnitudes
/// beyond [`MAX_MAGNITUDE`] are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Decimal);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let amount = self.0;
        // A whole number is written as an integer is: the same text, without a raw value.
        // (Not negative zero, which a Decimal writes `-0`.)
        if amount.scale() == 0
            && !(amount.is_sign_negative() && amount.is_zero())
            && let Ok(whole) = i64::try_from(amount.mantissa())
        {
            return serializer.serialize_i64(whole);
        }
        // A Decimal's text is always valid JSON number text (`-12.50`, `0.5`). It is
        // written on the stack and handed over as a raw value borrowed from there.
        let mut text = NumberText::default();
        text.write_decimal(amount).map_err(S::Error::custom)?;
        let raw: &RawValue = serde_json::from_str(text.as_str()?).map_err(S::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// The text of one number, in a buffer on the stack: a `Decimal` takes at most 31 bytes
/// (29 digits, a sign and a point); writing more fails.
#[derive(Debug)]
struct NumberText {
    bytes: [u8; 48],
    len: usize,
}

impl Default for NumberText {
    fn default() -> Self {
        Self {
            bytes: [0; 48],
            len: 0,
        }
    }
}

impl NumberText {
    /// Writes `amount` as its `Display` does (`-12.50`, `0.05`, `-0`), without the
    /// formatting machinery: the mantissa's digits with a point `scale` digits from the
    /// right, zeros added in front as needed.
    fn write_decimal(&mut self, amount: Decimal) -> fmt::Result {
        let scale = usize::try_from(amount.scale()).map_err(|_| fmt::Error)?;
        // The digits, last first: at most 29 of the mantissa, or `scale` (at most 28).
        let mut digits = [b'0'; 32];
        let mut count = 0;
        let mut mantissa = amount.mantissa().unsigned_abs();
        // In 64 bits while it fits, which divides much faster than 128.
        while mantissa > u128::from(u64::MAX) {
            let digit = digits.get_mut(count).ok_or(fmt::Error)?;
            *digit = b'0' + (mantissa % 10) as u8;
            mantissa /= 10;
            count += 1;
        }
        let mut mantissa = mantissa as u64;
        while mantissa != 0 {
            let digit = digits.get_mut(count).ok_or(fmt::Error)?;
            *digit = b'0' + (mantissa % 10) as u8;
            mantissa /= 10;
            count += 1;
        }
        // Zeros up to the scale: `digits` is filled with them.
        let count = count.max(scale);
        if amount.is_sign_negative() {
            self.push(b'-')?;
        }
        if count == 0 {
            return self.push(b'0');
        }
        let whole = count - scale;
        for i in 0..count {
            if scale > 0 && i == whole {
                if i == 0 {
                    self.push(b'0')?;
                }
                self.push(b'.')?;
            }
            let digit = digits.get(count - 1 - i).ok_or(fmt::Error)?;
            self.push(*digit)?;
        }
        Ok(())
    }

    fn push(&mut self, byte: u8) -> fmt::Result {
        let slot = self.bytes.get_mut(self.len).ok_or(fmt::Error)?;
        *slot = byte;
        self.len += 1;
        Ok(())
    }

    fn as_str<E: serde::ser::Error>(&self) -> Result<&str, E> {
        let written = self.bytes.get(..self.len).unwrap_or_default();
        std::str::from_utf8(written).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Borrowed from the input, not copied: so amounts, and the OIS types holding them,
        // are read from JSON text (`serde_json::from_slice`, `from_str`), not from a
        // `serde_json::Value` or a reader, which cannot lend a raw value.
        let raw = <&RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        let amount = if text.starts_with('"') {
            parse_number(&serde_json::from_str::<String>(text).map_err(de::Error::custom)?)
        } else {
            parse_number(text)
        }
        .ok_or_else(|| de::Error::custom(format!("{text} is not a decimal number")))?;
        if beyond_max_magnitude(amount) {
            return Err(de::Error::custom(format!(
                "{text} is beyond {MAX_MAGNITUDE}, more than any order holds"
            )));
        }
        Ok(Amount(amount))
    }
}

/// Plain decimal text (`-12.50`) or scientific notation (`1.5e2`), exactly.
fn parse_number(text: &str) -> Option<Decimal> {
    // What it reads has no spaces, so trimming would change nothing.
    if let Some(amount) = parse_short_plain(text) {
        return Some(amount);
    }
    let text = text.trim();
    if let Some(amount) = parse_short_plain(text) {
        return Some(amount);
    }
    let plain = text
        .strip_prefix('-')
        .unwrap_or(text)
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.');
    let well_formed = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if !well_formed {
        return None;
    }
    if plain {
        Decimal::from_str_exact(text).ok()
    } else {
        Decimal::from_scientific(text).ok()
    }
}

/// The most digits [`parse_short_plain`] reads: their value fits a `u64`.
const SHORT_DIGITS: usize = 18;

/// The shape JSON amounts come in, `-?digits(.digits)?` with at most [`SHORT_DIGITS`]
/// digits, read in one pass; `None` for anything else (and for negative zero), which
/// `Decimal::from_str_exact` then reads. The result is the same as its: the digits as the
/// mantissa, the fraction's digits as the scale (`20.00` keeps its two decimals).
fn parse_short_plain(text: &str) -> Option<Decimal> {
    let bytes = text.as_bytes();
    let (negative, digits) = match bytes {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, bytes),
    };
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        // Digits on both sides of the point.
        Some(point) => (digits.get(..point)?, digits.get(point + 1..)?),
        None => (digits, &[][..]),
    };
    let with_point = whole.len() < digits.len();
    if whole.is_empty() || (with_point && fraction.is_empty()) {
        return None;
    }
    if whole.len() + fraction.len() > SHORT_DIGITS {
        return None;
    }
    let mut mantissa: u64 = 0;
    for part in [whole, fraction] {
        for &b in part {
            // A second point, a sign or anything else is not this shape.
            if !b.is_ascii_digit() {
                return None;
            }
            mantissa = mantissa * 10 + u64::from(b - b'0');
        }
    }
    if negative && mantissa == 0 {
        return None;
    }
    // Below 10^18: the mantissa is the low 64 of a Decimal's 96 bits, the scale at most 18.
    let (lo, mid) = (mantissa as u32, (mantissa >> 32) as u32);
    Some(Decimal::from_parts(
        lo,
        mid,
        0,
        negative,
        fraction.len() as u32,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn short_plain_numbers_read_as_decimal_reads_them() {
        let cases = [
            "0",
            "1",
            "20",
            "20.00",
            "0.000",
            "91.08",
            "007.50",
            "-12.50",
            "-1",
            "0.1",
            "999999999999999999",
            "99999999999999999.9",
            "1000000000000",
            "1000000000000.01",
            "0.00000000000000001",
            "-0.00000000000000001",
        ];
        for text in cases {
            let fast = parse_short_plain(text).unwrap_or_else(|| panic!("{text} is short"));
            let exact = Decimal::from_str_exact(text).unwrap();
            assert_eq!(
                (fast.mantissa(), fast.scale(), fast.to_string()),
                (exact.mantissa(), exact.scale(), exact.to_string()),
                "{text}"
            );
        }
        // Left to the general reading: too long, negative zero, other shapes.
        for text in [
            "1234567890123456789",
            "0.000000000000000001",
            "-0",
            "-0.00",
            "",
            "-",
            ".5",
            "5.",
            "1.2.3",
            "1e2",
            "+1",
            "1,5",
            " 1",
            "--1",
            "0x10",
            "١",
        ] {
            assert_eq!(parse_short_plain(text), None, "{text}");
        }
    }

    #[test]
    fn amounts_of_every_shape_read_exactly() {
        for (text, expected) in [
            ("-0", "0"),
            ("-0.00", "0.00"),
            ("1234567890123456789", "1234567890123456789"),
            ("123456789012.345678901", "123456789012.345678901"),
            ("1e2", "100"),
            ("1.5E-2", "0.015"),
            (" 12.50 ", "12.50"),
            ("007", "7"),
        ] {
            let expected = Decimal::from_str_exact(expected).unwrap();
            let found = parse_number(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(found, expected, "{text}");
            assert_eq!(found.scale(), expected.scale(), "{text}");
        }
        for bad in ["", "1.2.3", "12,50", "abc", "e", "-", "1e400"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }
    use tradewire_sdk::core::from_json_with_paths;

    #[test]
    fn amounts_are_read_exactly_from_numbers_and_strings() {
        let line: OisOrderLine = from_json_with_paths(
            br#"{"Price": 91.08, "OriginalPrice": "0.1", "Quantity": 1e2, "Value": 123456789012.345678901}"#,
        )
        .unwrap();
        assert_eq!(line.price.unwrap().0.to_string(), "91.08");
        assert_eq!(line.original_price.unwrap().0.to_string(), "0.1");
        assert_eq!(line.quantity.unwrap().0, Decimal::ONE_HUNDRED);
        assert_eq!(line.value.unwrap().0.to_string(), "123456789012.345678901");
        // A string with escapes is unescaped before it is read.
        let line: OisOrderLine =
            from_json_with_paths(br#"{"Price": "\u0031\u0032.50", "Value": " 7 "}"#).unwrap();
        assert_eq!(line.price.unwrap().0.to_string(), "12.50");
        assert_eq!(line.value.unwrap().0.to_string(), "7");
    }

    #[test]
    fn amounts_are_read_from_json_text_only() {
        // The number's text is borrowed from the input, which a `Value` does not have: an
        // error, not a guess through `f64`.
        let value = serde_json::json!({"Price": 91.08});
        assert!(serde_json::from_value::<OisOrderLine>(value).is_err());
    }

    #[test]
    fn max_magnitude_is_ten_to_the_twelfth() {
        assert_eq!(MAX_MAGNITUDE, Decimal::from(1_000_000_000_000_i64));
        for text in [
            "0",
            "1",
            "-1",
            "999999999999.99",
            "1000000000000",
            "1000000000000.00",
            "-1000000000000",
            "1000000000000.01",
            "-1000000000000.01",
            "1000000000001",
            "10000000000000000",
            "0.0000000000000000001",
            "99999999999999999999.99999999",
        ] {
            let amount = Decimal::from_str_exact(text).unwrap();
            assert_eq!(
                beyond_max_magnitude(amount),
                amount.abs() > MAX_MAGNITUDE,
                "{text}"
            );
        }
        assert!(from_json_with_paths::<OisOrderLine>(br#"{"Price": 1000000000000}"#).is_ok());
        assert!(from_json_with_paths::<OisOrderLine>(br#"{"Price": 1000000000000.01}"#).is_err());
        assert!(from_json_with_paths::<OisOrderLine>(br#"{"Price": -1e13}"#).is_err());
        assert!(from_json_with_paths::<OisOrderLine>(br#"{"Price": 1e400}"#).is_err());
    }

    #[test]
    fn amounts_are_written_as_number_text() {
        let line = OisOrderLine {
            price: Some(Amount(Decimal::new(2000, 2))),
            ..OisOrderLine::default()
        };
        assert_eq!(serde_json::to_string(&line).unwrap(), r#"{"Price":20.00}"#);
        // The longest texts a Decimal has, zeros, negative zeros, whole numbers.
        for amount in [
            Decimal::MAX,
            Decimal::MIN,
            Decimal::new(-1, 28),
            Decimal::from_i128_with_scale(-79_228_162_514_264_337_593_543_950_335, 28),
            Decimal::ZERO,
            Decimal::new(0, 2),
            Decimal::from_parts(0, 0, 0, true, 0),
            Decimal::from_parts(0, 0, 0, true, 3),
            Decimal::new(-5, 0),
            Decimal::new(20, 0),
            Decimal::new(5, 3),
            Decimal::new(i64::MAX, 0),
            Decimal::new(i64::MIN, 0),
        ] {
            assert_eq!(
                serde_json::to_string(&Amount(amount)).unwrap(),
                amount.to_string()
            );
        }
    }

    proptest::proptest! {
        /// Amounts are written as a `Decimal` displays itself, whatever its digits, scale
        /// and sign.
        #[test]
        fn amounts_are_written_as_decimal_displays_them(
            lo: u32,
            mid: u32,
            hi: u32,
            negative: bool,
            scale in 0_u32..=28,
            size in 0_u8..3,
        ) {
            // Small mantissas as often as large ones.
            let (mid, hi) = match size {
                0 => (0, 0),
                1 => (mid, 0),
                _ => (mid, hi),
            };
            let amount = Decimal::from_parts(lo, mid, hi, negative, scale);
            let mut text = NumberText::default();
            text.write_decimal(amount).unwrap();
            let written = text.as_str::<serde_json::Error>().unwrap();
            proptest::prop_assert_eq!(written, amount.to_string());
            let json = serde_json::to_string(&Amount(amount)).unwrap();
            proptest::prop_assert_eq!(json, amount.to_string());
        }
    }

    #[test]
    fn a_bad_amount_is_located() {
        let d = from_json_with_paths::<OisOrder>(br#"{"OrderLines": [{"Price": "12,50"}]}"#)
            .unwrap_err();
        assert_eq!(d.as_slice()[0].path, "/OrderLines/0/Price");
        for bad in ["true", "null", "[1]", "\"\"", "\"1.2.3\""] {
            let json = format!(r#"{{"Price": {bad}}}"#);
            let outcome = from_json_with_paths::<OisOrderLine>(json.as_bytes());
            // `null` is an absent amount; everything else is refused.
            assert_eq!(outcome.is_ok(), bad == "null", "{bad}");
        }
    }

    #[test]
    fn line_types_accept_numbers_strings_and_names() {
        for (value, kind) in [
            (serde_json::json!(1), LineKind::Article),
            (serde_json::json!("2"), LineKind::Shipping),
            (serde_json::json!("PaymentFee"), LineKind::PaymentFee),
            (serde_json::json!("voucher"), LineKind::Voucher),
        ] {
            assert_eq!(parse_line_type(&value), Ok(kind), "{value}");
        }
        for bad in [
            serde_json::json!(9),
            serde_json::json!("9"),
            serde_json::json!(1.5),
            serde_json::json!("Discount"),
            serde_json::json!(null),
        ] {
            assert!(parse_line_type(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_read_from_json_as_from_its_value() {
        for json in [
            "1",
            "2",
            "4",
            "9",
            "0",
            "-3",
            "1.5",
            "1e0",
            "18446744073709551616",
            "true",
            "null",
            r#""1""#,
            r#"" 2 ""#,
            r#""+3""#,
            r#""04""#,
            r#""Article""#,
            r#""voucher""#,
            r#"" PaymentFee ""#,
            r#""Discount""#,
            r#""""#,
            r#""\u0041rticle""#,
            "[1]",
            r#"{"a": 1}"#,
        ] {
            let value: Value = serde_json::from_str(json).unwrap();
            let line_type: Coded<OisLineType> = serde_json::from_str(json).unwrap();
            assert_eq!(
                line_type.parse(),
                OisLineType::parse_value(&value),
                "{json}"
            );
            let method: Coded<OisDeliveryMethod> = serde_json::from_str(json).unwrap();
            assert_eq!(
                method.parse(),
                OisDeliveryMethod::parse_value(&value),
                "{json}"
            );
        }
        let unknown: Coded<OisLineType> = serde_json::from_str(r#"{"a": [1, "x"]}"#).unwrap();
        assert_eq!(
            unknown.parse(),
            Err(r#"LineType {"a":[1,"x"]} is not one of 1/"Article", 2/"ShippingCost", 3/"PaymentFee", 4/"Voucher""#.into())
        );
    }

    #[test]
    fn ids_accept_strings_and_whole_numbers() {
        let p: OisCouponPayment = from_json_with_paths(br#"{"PaymentOptionId": 12}"#).unwrap();
        assert_eq!(p.payment_option_id, Some(Id("12".into())));
        assert!(from_json_with_paths::<OisCouponPayment>(br#"{"PaymentOptionId": 1.5}"#).is_err());
    }
}
