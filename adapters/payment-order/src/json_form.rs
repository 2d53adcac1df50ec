//! The `order` message: the order object as JSON, with the specification's field names.
//!
//! Every value is written as a JSON string, exactly the text the SOAP form carries
//! (the schema types every field `xsd:string`; a currency is `"036"`, not `36`). When
//! reading, integers are accepted for any field too. `details` is an array of
//! `orderDetail` objects; the SOAP-shaped `{"details": [...]}` is read as well.
//!
//! Reading is one pass of serde_json's parser with visitors that put each value in its
//! field's slot, borrowing the text from the input unless the JSON string has escapes.
//! A member given twice is read as serde_json's `Value` reads it: the last one counts,
//! and only its problems are reported.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Number;
use tradewire_sdk::Diagnostics;
use tradewire_sdk::core::pointer_token;

use crate::fields::{
    DETAIL_FIELDS, DETAILS, DETAILS_NAME, DetailField, Field, Form, ORDER_FIELDS,
    OTA_DESTINATION_COUNTRY, OTA_PACKAGE_TYPE, RawDetail, RawOrder,
};
use crate::text::quote;

/// An order object is a few kilobytes; anything much larger is not one.
pub(crate) const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;

/// Reads the JSON object. `None` when it is not one (the reason is in `d`); field-level
/// problems are recorded in `d` and the readable fields returned.
pub(crate) fn read<'a>(input: &'a [u8], d: &mut Diagnostics) -> Option<RawOrder<'a>> {
    if input.len() > MAX_INPUT_BYTES {
        d.error(
            "",
            "payline.too_large",
            format!(
                "the input has {} bytes; an order object is accepted up to {MAX_INPUT_BYTES}",
                input.len()
            ),
        );
        return None;
    }
    // Field problems are only reported for a document that is JSON throughout.
    let mut found = Diagnostics::new();
    match parse(input, &mut found) {
        Ok(Some(raw)) => {
            d.extend(found);
            Some(raw)
        }
        Ok(None) => {
            d.error(
                "",
                "payline.not_an_object",
                "the order must be a JSON object of Payline order fields",
            );
            None
        }
        Err(error) => {
            d.error(
                "",
                "payline.bad_json",
                format!("the input is not JSON: {error}"),
            );
            None
        }
    }
}

/// The order object, or `None` for any other JSON value, and nothing after it.
fn parse<'de>(input: &'de [u8], d: &mut Diagnostics) -> serde_json::Result<Option<RawOrder<'de>>> {
    let mut parser = serde_json::Deserializer::from_slice(input);
    let raw = Document { d }.deserialize(&mut parser)?;
    parser.end()?;
    Ok(raw)
}

/// The specification's table spells two fields `OTAPackageType` and
/// `OTADestinationCountry`; the schema (and what is written) spells them in camel case.
/// Each spelling is a member of its own, with a slot after the fields'.
const ALIASES: [(&str, Field); 2] = [
    ("OTAPackageType", OTA_PACKAGE_TYPE),
    ("OTADestinationCountry", OTA_DESTINATION_COUNTRY),
];

/// A slot for each member name that is read: the fields' own names, then the aliases.
const KEYS: usize = ORDER_FIELDS.len() + ALIASES.len();

/// The slot of a member name, if it names a field.
fn order_key(key: &str) -> Option<usize> {
    match key {
        "OTAPackageType" => Some(ORDER_FIELDS.len()),
        "OTADestinationCountry" => Some(ORDER_FIELDS.len() + 1),
        _ => Field::named(key).map(Field::slot),
    }
}

/// The member name of a slot and the field it fills.
fn key_of(slot: usize) -> (&'static str, Field) {
    match slot.checked_sub(ORDER_FIELDS.len()) {
        Some(alias) => ALIASES[alias],
        None => (ORDER_FIELDS[slot].name(), ORDER_FIELDS[slot]),
    }
}

fn unknown_field(d: &mut Diagnostics, path: String, key: &str) {
    d.warning(
        path,
        "payline.unknown_field",
        format!("{} is not a Payline field; ignored", quote(key)),
    );
}

fn not_text(d: &mut Diagnostics, path: String) {
    d.error(
        path,
        "payline.not_text",
        "a Payline field is a string (or a number), not a boolean, array or object",
    );
}

/// The whole input: the order object, or `None` for any other JSON value.
struct Document<'d> {
    d: &'d mut Diagnostics,
}

impl<'de> DeserializeSeed<'de> for Document<'_> {
    type Value = Option<RawOrder<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Document<'_> {
    type Value = Option<RawOrder<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of Payline order fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let d = self.d;
        // The last value of each member, and whether it is not text; reported at the end,
        // when no later member of the same name can replace it.
        let mut texts: [Option<Cow<'de, str>>; KEYS] = Default::default();
        let mut not_texts = [false; KEYS];
        let mut details = None;
        let mut unknown = Vec::new();
        while let Some(key) = map.next_key_seed(KeyText)? {
            let Some(slot) = order_key(&key) else {
                map.next_value::<Skip>()?;
                // A name given twice is reported once. Unknown names are few: a list does.
                if !unknown.contains(&key) {
                    unknown_field(d, format!("/{}", pointer_token(&key)), &key);
                    unknown.push(key);
                }
                continue;
            };
            if slot == DETAILS.slot() {
                let mut found = Diagnostics::new();
                let items = map.next_value_seed(Details { d: &mut found })?;
                details = Some((items, found));
                continue;
            }
            let leaf = map.next_value_seed(LeafSeed)?;
            not_texts[slot] = matches!(leaf, Leaf::NotText);
            texts[slot] = match leaf {
                Leaf::Text(text) => Some(text),
                Leaf::Absent | Leaf::NotText => None,
            };
        }
        let mut raw = RawOrder::default();
        // As `Value` read them, in the order of their names (`OTAPackageType` before
        // `otaPackageType`), each replacing the text before: the field's own spelling
        // wins when both hold text. Own spellings have the first slots.
        for slot in 0..KEYS {
            let (name, field) = key_of(slot);
            if not_texts[slot] {
                not_text(d, format!("/{name}"));
            }
            if let Some(text) = texts[slot].take()
                && !raw.has(field)
            {
                raw.set(field, text);
            }
        }
        if let Some((items, found)) = details {
            raw.details = items;
            d.extend(found);
        }
        Ok(Some(raw))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        SkipVisitor.visit_seq(seq).map(|_| None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A member name, borrowed from the input unless it has escapes.
struct KeyText;

impl<'de> DeserializeSeed<'de> for KeyText {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyText {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key))
    }
}

/// What a leaf member holds.
enum Leaf<'de> {
    /// Trimmed and not empty.
    Text(Cow<'de, str>),
    /// `null`, or a string of nothing but whitespace.
    Absent,
    /// A boolean, array or object.
    NotText,
}

impl<'de> Leaf<'de> {
    fn borrowed(text: &'de str) -> Self {
        let text = text.trim();
        if text.is_empty() {
            Self::Absent
        } else {
            Self::Text(Cow::Borrowed(text))
        }
    }

    fn owned(text: String) -> Self {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            Self::Absent
        } else if trimmed.len() == text.len() {
            Self::Text(Cow::Owned(text))
        } else {
            Self::Text(Cow::Owned(trimmed.to_owned()))
        }
    }

    /// A number as serde_json writes it.
    fn number(number: Option<Number>) -> Self {
        number.map_or(Self::Absent, |number| {
            Self::Text(Cow::Owned(number.to_string()))
        })
    }
}

struct LeafSeed;

impl<'de> DeserializeSeed<'de> for LeafSeed {
    type Value = Leaf<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LeafSeed {
    type Value = Leaf<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a number")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Leaf::borrowed(text))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        let text = text.trim();
        Ok(if text.is_empty() {
            Leaf::Absent
        } else {
            Leaf::Text(Cow::Owned(text.to_owned()))
        })
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Leaf::owned(text))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
        Ok(Leaf::number(Some(number.into())))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
        Ok(Leaf::number(Some(number.into())))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Self::Value, E> {
        // Not finite never comes out of a JSON parser; serde_json's `Value` reads it as null.
        Ok(Leaf::number(Number::from_f64(number)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Leaf::Absent)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Leaf::Absent)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Leaf::NotText)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        SkipVisitor.visit_seq(seq).map(|_| Leaf::NotText)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        SkipVisitor.visit_map(map).map(|_| Leaf::NotText)
    }
}

/// The value of `details`: an array of items, `null`, or the SOAP shape, an object
/// whose only member `details` holds them.
struct Details<'d> {
    d: &'d mut Diagnostics,
}

impl Details<'_> {
    fn refused(self) -> Vec<RawDetail<'static>> {
        self.d.error(
            "/details",
            "payline.bad_details",
            "`details` must be an array of orderDetail objects",
        );
        Vec::new()
    }
}

impl<'de> DeserializeSeed<'de> for Details<'_> {
    type Value = Vec<RawDetail<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Details<'_> {
    type Value = Vec<RawDetail<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of orderDetail objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut details = Vec::new();
        let mut index = 0;
        while seq
            .next_element_seed(Item {
                d: &mut *self.d,
                index,
                details: &mut details,
            })?
            .is_some()
        {
            index += 1;
        }
        Ok(details)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Only an object with the one member `details` is the SOAP shape; what its value
        // holds is reported only then.
        // (When `details` is given twice, the last one counts.)
        let mut wrapped: Option<(Vec<RawDetail<'de>>, Diagnostics)> = None;
        let mut others = false;
        while let Some(key) = map.next_key_seed(KeyText)? {
            if key == DETAILS_NAME {
                let mut found = Diagnostics::new();
                let details = map.next_value_seed(Details { d: &mut found })?;
                wrapped = Some((details, found));
            } else {
                map.next_value::<Skip>()?;
                others = true;
            }
        }
        match wrapped {
            Some((details, found)) if !others => {
                self.d.extend(found);
                Ok(details)
            }
            _ => Ok(self.refused()),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(self.refused())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self.refused())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self.refused())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self.refused())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(self.refused())
    }
}

/// One item of `details`: an orderDetail object, added to `details` where it is read,
/// else an error.
struct Item<'d, 'v, 'de> {
    d: &'d mut Diagnostics,
    index: usize,
    details: &'v mut Vec<RawDetail<'de>>,
}

impl Item<'_, '_, '_> {
    fn refused(self) {
        self.d.error(
            Form::Json.detail(self.index),
            "payline.bad_details",
            "each item of `details` must be an orderDetail object",
        );
    }
}

impl<'de> DeserializeSeed<'de> for Item<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Item<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an orderDetail object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (d, index) = (self.d, self.index);
        let at = |name: &str| Form::Json.detail_field(index, name);
        let mut detail = RawDetail::default();
        // Whether each field's last value is not text, reported at the end.
        let mut not_texts = [false; DETAIL_FIELDS.len()];
        let mut unknown = Vec::new();
        while let Some(key) = map.next_key_seed(KeyText)? {
            let Some(field) = DetailField::named(&key) else {
                map.next_value::<Skip>()?;
                if !unknown.contains(&key) {
                    unknown_field(d, at(&pointer_token(&key)), &key);
                    unknown.push(key);
                }
                continue;
            };
            let leaf = map.next_value_seed(LeafSeed)?;
            not_texts[field.slot()] = matches!(leaf, Leaf::NotText);
            detail.put(
                field,
                match leaf {
                    Leaf::Text(text) => Some(text),
                    Leaf::Absent | Leaf::NotText => None,
                },
            );
        }
        for field in DETAIL_FIELDS {
            if not_texts[field.slot()] {
                not_text(d, at(field.name()));
            }
        }
        self.details.push(detail);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        SkipVisitor.visit_seq(seq)?;
        self.refused();
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.refused();
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.refused();
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.refused();
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.refused();
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.refused();
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        self.refused();
        Ok(())
    }
}

/// Any JSON value, read and dropped. Unlike `IgnoredAny` it goes through the parser's
/// `deserialize_any`, so nesting limits and string checks are those of reading a `Value`.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_none<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// The order object as pretty-printed JSON, fields in the schema's order, ending with a
/// line break.
pub(crate) fn write(raw: &RawOrder<'_>) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(&OrderObject(raw))
        .unwrap_or_else(|error| unreachable!("text written to memory as JSON: {error}"));
    out.push(b'\n');
    out
}

/// An order written as a JSON object, its fields in the schema's order.
struct OrderObject<'r, 'a>(&'r RawOrder<'a>);

impl Serialize for OrderObject<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = self.0;
        let mut object = serializer.serialize_map(None)?;
        for field in ORDER_FIELDS {
            if field == DETAILS {
                if !raw.details.is_empty() {
                    let items: Vec<_> = raw.details.iter().map(DetailObject).collect();
                    object.serialize_entry(DETAILS_NAME, &items)?;
                }
            } else if let Some(value) = raw.get(field) {
                object.serialize_entry(field.name(), value)?;
            }
        }
        object.end()
    }
}

/// An `orderDetail` written as a JSON object, its fields in the schema's order.
struct DetailObject<'r, 'a>(&'r RawDetail<'a>);

impl Serialize for DetailObject<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = serializer.serialize_map(None)?;
        for field in DETAIL_FIELDS {
            if let Some(value) = self.0.get(field) {
                object.serialize_entry(field.name(), value)?;
            }
        }
        object.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::fields::{AMOUNT, D_PRICE, D_REF, REF};

    #[test]
    fn writes_in_schema_order_and_reads_back() {
        let mut raw = RawOrder::default();
        raw.set(AMOUNT, "100");
        raw.set(REF, "A \"quoted\" \\ ref\u{1}");
        let mut detail = RawDetail::default();
        detail.set(D_PRICE, "100");
        detail.set(D_REF, "SKU");
        raw.details.push(detail);
        let bytes = write(&raw);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            "{\n  \"ref\": \"A \\\"quoted\\\" \\\\ ref\\u0001\",\n  \"amount\": \"100\",\n  \"details\": [\n    {\n      \"ref\": \"SKU\",\n      \"price\": \"100\"\n    }\n  ]\n}\n"
        );
        let mut d = Diagnostics::new();
        assert_eq!(read(&bytes, &mut d), Some(raw));
        assert!(d.is_empty(), "{d}");
        assert_eq!(write(&RawOrder::default()), b"{}\n");
    }

    #[test]
    fn numbers_nulls_aliases_and_unknown_fields() {
        let mut d = Diagnostics::new();
        let raw = read(
            br#"{"amount": 6000, "country": null, "ref": "  ", "OTAPackageType": "01",
                 "colour": "red", "details": {"details": [{"quantity": 2, "size": "L"}]}}"#,
            &mut d,
        )
        .unwrap();
        assert_eq!(raw.get(AMOUNT), Some("6000"));
        assert_eq!(raw.get(crate::fields::COUNTRY), None);
        assert_eq!(raw.get(REF), None, "blank is absent");
        assert_eq!(raw.get(OTA_PACKAGE_TYPE), Some("01"));
        assert_eq!(raw.details[0].get(crate::fields::D_QUANTITY), Some("2"));
        let mut found: Vec<_> = d
            .iter()
            .map(|d| (d.path.as_str(), d.code.as_str()))
            .collect();
        found.sort_unstable();
        assert_eq!(
            found,
            [
                ("/colour", "payline.unknown_field"),
                ("/details/0/size", "payline.unknown_field")
            ]
        );
        assert!(!d.has_errors());
    }

    #[test]
    fn wrong_shapes_are_errors_with_paths() {
        let mut d = Diagnostics::new();
        read(br#"{"ref": true, "details": [{"price": []}, 3]}"#, &mut d).unwrap();
        // Members are visited in the map's order, which depends on serde_json's features.
        let mut found: Vec<_> = d
            .iter()
            .map(|d| (d.path.as_str(), d.code.as_str()))
            .collect();
        found.sort_unstable();
        assert_eq!(
            found,
            [
                ("/details/0/price", "payline.not_text"),
                ("/details/1", "payline.bad_details"),
                ("/ref", "payline.not_text"),
            ]
        );

        for (input, code) in [
            (&b"[1]"[..], "payline.not_an_object"),
            (b"{", "payline.bad_json"),
            (b"", "payline.bad_json"),
        ] {
            let mut d = Diagnostics::new();
            assert!(read(input, &mut d).is_none());
            assert_eq!(d.as_slice()[0].code, code);
        }
    }
}

/// The reader as it was before it streamed: the document read into a `serde_json::Value`
/// first, then walked. The streaming reader must find the same fields and report the
/// same diagnostics on any input.
#[cfg(test)]
mod reference {
    use serde_json::{Map, Value};
    use tradewire_sdk::Diagnostics;
    use tradewire_sdk::core::pointer_token;

    use super::{MAX_INPUT_BYTES, unknown_field};
    use crate::fields::{
        DETAILS, DETAILS_NAME, DetailField, Field, Form, OTA_DESTINATION_COUNTRY, OTA_PACKAGE_TYPE,
        RawDetail, RawOrder,
    };

    pub(super) fn read(input: &[u8], d: &mut Diagnostics) -> Option<RawOrder<'static>> {
        if input.len() > MAX_INPUT_BYTES {
            d.error("", "payline.too_large", "too large");
            return None;
        }
        let value: Value = match serde_json::from_slice(input) {
            Ok(value) => value,
            Err(error) => {
                d.error(
                    "",
                    "payline.bad_json",
                    format!("the input is not JSON: {error}"),
                );
                return None;
            }
        };
        let Value::Object(object) = value else {
            d.error(
                "",
                "payline.not_an_object",
                "the order must be a JSON object of Payline order fields",
            );
            return None;
        };
        let mut raw = RawOrder::default();
        for (key, value) in &object {
            let path = format!("/{}", pointer_token(key));
            if key == DETAILS_NAME {
                raw.details = read_details(value, d);
            } else if let Some(field) = order_field_or_alias(key) {
                if let Some(text) = leaf_text(value, &path, d) {
                    raw.set(field, text);
                }
            } else {
                unknown_field(d, path, key);
            }
        }
        Some(raw)
    }

    fn order_field_or_alias(key: &str) -> Option<Field> {
        match key {
            "OTAPackageType" => Some(OTA_PACKAGE_TYPE),
            "OTADestinationCountry" => Some(OTA_DESTINATION_COUNTRY),
            _ => Field::named(key).filter(|field| *field != DETAILS),
        }
    }

    fn leaf_text(value: &Value, path: &str, d: &mut Diagnostics) -> Option<String> {
        let text = match value {
            Value::Null => return None,
            Value::String(text) => text.trim().to_owned(),
            Value::Number(number) => number.to_string(),
            Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
                d.error(
                    path,
                    "payline.not_text",
                    "a Payline field is a string (or a number), not a boolean, array or object",
                );
                return None;
            }
        };
        (!text.is_empty()).then_some(text)
    }

    fn read_details(value: &Value, d: &mut Diagnostics) -> Vec<RawDetail<'static>> {
        let items = match value {
            Value::Null => return Vec::new(),
            Value::Array(items) => items,
            Value::Object(wrapper) if wrapper.len() == 1 && wrapper.contains_key(DETAILS_NAME) => {
                return read_details(&wrapper[DETAILS_NAME], d);
            }
            _ => {
                d.error(
                    "/details",
                    "payline.bad_details",
                    "`details` must be an array of orderDetail objects",
                );
                return Vec::new();
            }
        };
        let mut details = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let at = Form::Json.detail(index);
            let Value::Object(object) = item else {
                d.error(
                    at,
                    "payline.bad_details",
                    "each item of `details` must be an orderDetail object",
                );
                continue;
            };
            details.push(read_detail(object, index, d));
        }
        details
    }

    fn read_detail(
        object: &Map<String, Value>,
        index: usize,
        d: &mut Diagnostics,
    ) -> RawDetail<'static> {
        let mut detail = RawDetail::default();
        for (key, value) in object {
            let path = Form::Json.detail_field(index, &pointer_token(key));
            match DetailField::named(key) {
                Some(field) => {
                    if let Some(text) = leaf_text(value, &path, d) {
                        detail.set(field, text);
                    }
                }
                None => unknown_field(d, path, key),
            }
        }
        detail
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod streaming {
    use proptest::prelude::*;

    use super::*;
    use crate::fields::{AMOUNT, COUNTRY, D_COMMENT, D_PRICE, D_QUANTITY, D_REF, REF};

    /// Every diagnostic as `(severity, path, code, message)`, sorted: the streaming reader
    /// reports in document order, the reference in the order of `Value`'s map.
    fn sorted(d: &Diagnostics) -> Vec<String> {
        let mut all: Vec<String> = d
            .iter()
            .map(|d| format!("{:?} {} {} {}", d.severity, d.path, d.code, d.message))
            .collect();
        all.sort_unstable();
        all
    }

    fn both(input: &str) -> (Option<RawOrder<'static>>, Vec<String>) {
        both_bytes(input.as_bytes())
    }

    fn both_bytes(input: &[u8]) -> (Option<RawOrder<'static>>, Vec<String>) {
        let mut d = Diagnostics::new();
        let streamed = read(input, &mut d).map(RawOrder::into_owned);
        let mut expected = Diagnostics::new();
        let reference = reference::read(input, &mut expected);
        let shown = String::from_utf8_lossy(input);
        assert_eq!(streamed, reference, "fields read from {shown}");
        assert_eq!(sorted(&d), sorted(&expected), "diagnostics of {shown}");
        (streamed, sorted(&d))
    }

    fn read_ok(input: &str) -> (RawOrder<'static>, Vec<String>) {
        let (raw, d) = both(input);
        (raw.expect("an order"), d)
    }

    #[test]
    fn text_borrows_from_the_input_unless_escaped() {
        let input =
            br#"{"ref": "  plain  ", "origin": "tab\there", "details": [{"ref": "caf\u00e9"}]}"#;
        let mut d = Diagnostics::new();
        let raw = read(input, &mut d).unwrap();
        assert!(d.is_empty(), "{d}");
        assert_eq!(raw.get(REF), Some("plain"));
        assert_eq!(raw.get(crate::fields::ORIGIN), Some("tab\there"));
        assert_eq!(raw.details[0].get(D_REF), Some("café"));
        read_ok(std::str::from_utf8(input).unwrap());
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        let (raw, d) = read_ok(
            r#"{"amount": 6000, "taxes": -0, "country": 1.5e3, "currency": 18446744073709551616,
                "details": [{"price": 0.1, "quantity": -7}]}"#,
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(raw.get(AMOUNT), Some("6000"));
        assert_eq!(raw.get(COUNTRY), Some("1500.0"));
        assert_eq!(raw.details[0].get(D_PRICE), Some("0.1"));
        assert_eq!(raw.details[0].get(D_QUANTITY), Some("-7"));
    }

    #[test]
    fn booleans_arrays_and_objects_are_not_text_at_their_path() {
        let (raw, d) = read_ok(
            r#"{"ref": false, "amount": [], "currency": {"a": [1, {"b": null}]},
                "details": [{"comment": true, "ref": "ok"}]}"#,
        );
        assert_eq!(raw.get(REF), None);
        assert_eq!(raw.details[0].get(D_REF), Some("ok"));
        assert_eq!(raw.details[0].get(D_COMMENT), None);
        let paths: Vec<_> = d.iter().map(|d| d.split(' ').nth(1).unwrap()).collect();
        assert_eq!(
            paths,
            ["/amount", "/currency", "/details/0/comment", "/ref"]
        );
        assert!(d.iter().all(|d| d.contains("payline.not_text")), "{d:?}");
    }

    #[test]
    fn soap_shaped_details_and_their_problems() {
        let (raw, d) = read_ok(
            r#"{"details": {"details": [{"ref": "A", "size": "L", "a/b": 1}, "B", null]}}"#,
        );
        assert_eq!(raw.details.len(), 1);
        assert_eq!(raw.details[0].get(D_REF), Some("A"));
        let found: Vec<_> = d
            .iter()
            .map(|d| d.split(' ').take(3).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            found,
            [
                "Error /details/1 payline.bad_details",
                "Error /details/2 payline.bad_details",
                "Warning /details/0/a~1b payline.unknown_field",
                "Warning /details/0/size payline.unknown_field",
            ]
        );
        // A wrapper with anything else in it is not the SOAP shape; what it holds is not
        // looked at.
        let (raw, d) = read_ok(r#"{"details": {"details": [{"x": true}], "more": 1}}"#);
        assert!(raw.details.is_empty());
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("/details payline.bad_details"), "{d:?}");
        for input in [
            r#"{"details": {}}"#,
            r#"{"details": "x"}"#,
            r#"{"details": 3}"#,
            r#"{"details": true}"#,
            r#"{"details": null}"#,
            r#"{"details": {"details": {"details": [{"ref": "deep"}]}}}"#,
        ] {
            both(input);
        }
    }

    #[test]
    fn the_last_of_a_repeated_member_counts_with_its_problems_only() {
        let (raw, d) = read_ok(
            r#"{"ref": true, "ref": "second", "amount": "1", "amount": null,
                "colour": 1, "colour": 2,
                "details": [{"x": 1}], "details": [{"price": "5", "price": []}]}"#,
        );
        assert_eq!(raw.get(REF), Some("second"));
        assert_eq!(raw.get(AMOUNT), None);
        assert_eq!(raw.details[0].get(D_PRICE), None);
        assert_eq!(
            d,
            [
                "Error /details/0/price payline.not_text a Payline field is a string (or a number), not a boolean, array or object",
                "Warning /colour payline.unknown_field \"colour\" is not a Payline field; ignored",
            ]
        );
    }

    #[test]
    fn both_spellings_of_an_aliased_field() {
        for input in [
            r#"{"OTAPackageType": "01", "otaPackageType": "02"}"#,
            r#"{"otaPackageType": "02", "OTAPackageType": "01"}"#,
            r#"{"otaPackageType": null, "OTAPackageType": "01"}"#,
            r#"{"otaPackageType": true, "OTAPackageType": "01"}"#,
            r#"{"OTADestinationCountry": [], "otaDestinationCountry": "FR"}"#,
        ] {
            both(input);
        }
        let (raw, _) = read_ok(r#"{"otaPackageType": "02", "OTAPackageType": "01"}"#);
        assert_eq!(raw.get(OTA_PACKAGE_TYPE), Some("02"));
    }

    #[test]
    fn not_json_and_not_an_object_as_before() {
        let deep = format!("{{\"ref\": {}1{}}}", "[".repeat(200), "]".repeat(200));
        let deep_unknown = format!("{{\"x\": {}1{}}}", "[".repeat(200), "]".repeat(200));
        for input in [
            "",
            "{",
            "[1]",
            "[1",
            "\"order\"",
            "12",
            "null",
            "true",
            "{} {}",
            "{\"ref\": \"x\"} x",
            "{\"ref\": \"\\ud800\"}",
            "{\"x\": \"\\ud800\"}",
            "{\"\\ud800\": 1}",
            "{\"ref\": 1e400}",
            "{\"ref\": \"a\", }",
            "{\"ref\": \"\u{1}\"}",
            &deep,
            &deep_unknown,
        ] {
            let (raw, d) = both(input);
            if raw.is_none() {
                assert_eq!(d.len(), 1, "{input}: {d:?}");
            }
        }
    }

    #[test]
    fn input_that_is_not_utf8_is_refused_where_it_breaks() {
        for input in [
            &b"{\"ref\": \"\xff\"}"[..],
            b"{\"x\": \"ok\", \"y\": [\"\xc3\"]}",
            b"{\"\xff\": 1}",
            b"\xef\xbb\xbf{}",
            b"{\"ref\": 1} \xff",
        ] {
            let (raw, d) = both_bytes(input);
            assert!(raw.is_none());
            assert_eq!(d.len(), 1, "{d:?}");
        }
    }

    #[test]
    fn escaped_member_names_are_unescaped_before_matching() {
        let (raw, d) =
            read_ok(r#"{"r\u0065f": "R", "a~b/c": 1, "details": [{"pric\u0065": "5"}]}"#);
        assert_eq!(raw.get(REF), Some("R"));
        assert_eq!(raw.details[0].get(D_PRICE), Some("5"));
        assert_eq!(d.len(), 1);
        assert!(d[0].contains("/a~0b~1c payline.unknown_field"), "{d:?}");
    }

    fn leaf() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            r#""x""#,
            r#""  padded  ""#,
            r#""""#,
            r#""   ""#,
            r#""esc\"aped\\""#,
            r#""\u0020\t lead""#,
            r#""caf\u00e9""#,
            "12",
            "-3",
            "0.5",
            "1e3",
            "-0",
            "99999999999999999999",
            "null",
            "true",
            "false",
            "[]",
            r#"[1, {"a": []}]"#,
            "{}",
            r#"{"details": []}"#,
        ])
        .prop_map(str::to_owned)
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "ref",
            "amount",
            "currency",
            "date",
            "country",
            "otaPackageType",
            "OTAPackageType",
            "otaDestinationCountry",
            "OTADestinationCountry",
            "orderOTA",
            "details",
            "price",
            "quantity",
            "taxRate",
            "colour",
            "a/b",
            r"r\u0065f",
            "",
        ])
        .prop_map(|key| format!("\"{key}\""))
    }

    fn object(value: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        prop::collection::vec((key(), value), 0..6).prop_map(|members| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(key, value)| format!("{key}: {value}"))
                .collect();
            format!("{{{}}}", members.join(", "))
        })
    }

    fn array(item: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
        prop::collection::vec(item, 0..4).prop_map(|items| format!("[{}]", items.join(", ")))
    }

    /// Members of any kind holding leaves, detail-like objects, arrays of them and the
    /// SOAP shape, with repeated names.
    fn document() -> impl Strategy<Value = String> {
        let details = || array(prop_oneof![object(leaf()), leaf()]);
        let value = prop_oneof![
            3 => leaf(),
            2 => details(),
            1 => details().prop_map(|items| format!(r#"{{"details": {items}}}"#)),
            1 => object(prop_oneof![leaf(), details()]),
        ];
        prop_oneof![
            8 => object(value),
            1 => leaf(),
        ]
    }

    proptest! {
        #[test]
        fn reads_as_the_value_reader_did(input in document()) {
            both(&input);
        }
    }
}
