//! The `order` message: the order object as JSON, with the specification's field names.
//!
//! Every value is written as a JSON string, exactly the text the SOAP form carries
//! (the schema types every field `xsd:string`; a currency is `"036"`, not `36`). When
//! reading, integers are accepted for any field too. `details` is an array of
//! `orderDetail` objects; the SOAP-shaped `{"details": [...]}` is read as well.

use serde_json::{Map, Value};
use tradewire_sdk::Diagnostics;
use tradewire_sdk::core::pointer_token;

use crate::fields::{
    self, DETAIL_FIELDS, DETAILS, Form, ORDER_FIELDS, OTA_DESTINATION_COUNTRY, OTA_PACKAGE_TYPE,
    RawDetail, RawOrder,
};
use crate::text::quote;

/// An order object is a few kilobytes; anything much larger is not one.
pub(crate) const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;

/// Reads the JSON object. `None` when it is not one (the reason is in `d`); field-level
/// problems are recorded in `d` and the readable fields returned.
pub(crate) fn read(input: &[u8], d: &mut Diagnostics) -> Option<RawOrder> {
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
        if key == DETAILS {
            raw.details = read_details(value, d);
        } else if let Some(field) = order_field_or_alias(key) {
            if let Some(text) = leaf_text(value, &path, d) {
                raw.fields.insert(field, text);
            }
        } else {
            unknown_field(d, path, key);
        }
    }
    Some(raw)
}

/// The specification's table spells two fields `OTAPackageType` and
/// `OTADestinationCountry`; the schema (and what is written) spells them in camel case.
fn order_field_or_alias(key: &str) -> Option<&'static str> {
    match key {
        "OTAPackageType" => Some(OTA_PACKAGE_TYPE),
        "OTADestinationCountry" => Some(OTA_DESTINATION_COUNTRY),
        _ => fields::order_field(key).filter(|field| *field != DETAILS),
    }
}

fn unknown_field(d: &mut Diagnostics, path: String, key: &str) {
    d.warning(
        path,
        "payline.unknown_field",
        format!("{} is not a Payline field; ignored", quote(key)),
    );
}

/// A leaf's text, trimmed; `None` when absent, null or empty.
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

fn read_details(value: &Value, d: &mut Diagnostics) -> Vec<RawDetail> {
    let items = match value {
        Value::Null => return Vec::new(),
        Value::Array(items) => items,
        // The SOAP shape: a `details` wrapper holding the `details` items.
        Value::Object(wrapper) if wrapper.len() == 1 && wrapper.contains_key(DETAILS) => {
            return read_details(&wrapper[DETAILS], d);
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

fn read_detail(object: &Map<String, Value>, index: usize, d: &mut Diagnostics) -> RawDetail {
    let mut detail = RawDetail::default();
    for (key, value) in object {
        let path = Form::Json.detail_field(index, &pointer_token(key));
        match fields::detail_field(key) {
            Some(field) => {
                if let Some(text) = leaf_text(value, &path, d) {
                    detail.fields.insert(field, text);
                }
            }
            None => unknown_field(d, path, key),
        }
    }
    detail
}

/// The order object as pretty-printed JSON, fields in the schema's order, ending with a
/// line break.
pub(crate) fn write(raw: &RawOrder) -> Vec<u8> {
    let mut out = String::from("{");
    let mut first = true;
    for field in ORDER_FIELDS {
        if field == DETAILS {
            if raw.details.is_empty() {
                continue;
            }
            separate(&mut out, &mut first, 1);
            out.push_str("\"details\": [");
            for (index, detail) in raw.details.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str("\n    {");
                let mut first_in_detail = true;
                for name in DETAIL_FIELDS {
                    if let Some(value) = detail.get(name) {
                        separate(&mut out, &mut first_in_detail, 3);
                        member(&mut out, name, value);
                    }
                }
                out.push_str("\n    }");
            }
            out.push_str("\n  ]");
        } else if let Some(value) = raw.get(field) {
            separate(&mut out, &mut first, 1);
            member(&mut out, field, value);
        }
    }
    out.push_str(if first { "}\n" } else { "\n}\n" });
    out.into_bytes()
}

fn separate(out: &mut String, first: &mut bool, depth: usize) {
    if !*first {
        out.push(',');
    }
    *first = false;
    out.push('\n');
    out.push_str(&"  ".repeat(depth));
}

fn member(out: &mut String, name: &str, value: &str) {
    // `Value`'s Display writes a correctly escaped JSON string and cannot fail.
    out.push_str(&Value::String(name.to_owned()).to_string());
    out.push_str(": ");
    out.push_str(&Value::String(value.to_owned()).to_string());
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::fields::{AMOUNT, D_PRICE, D_REF, REF};

    #[test]
    fn writes_in_schema_order_and_reads_back() {
        let mut raw = RawOrder::default();
        raw.fields.insert(AMOUNT, "100".into());
        raw.fields.insert(REF, "A \"quoted\" \\ ref".into());
        let mut detail = RawDetail::default();
        detail.fields.insert(D_PRICE, "100".into());
        detail.fields.insert(D_REF, "SKU".into());
        raw.details.push(detail);
        let bytes = write(&raw);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            "{\n  \"ref\": \"A \\\"quoted\\\" \\\\ ref\",\n  \"amount\": \"100\",\n  \"details\": [\n    {\n      \"ref\": \"SKU\",\n      \"price\": \"100\"\n    }\n  ]\n}\n"
        );
        let mut d = Diagnostics::new();
        assert_eq!(read(&bytes, &mut d), Some(raw));
        assert!(d.is_empty(), "{d}");
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
        assert_eq!(raw.get("country"), None);
        assert_eq!(raw.get(REF), None, "blank is absent");
        assert_eq!(raw.get(OTA_PACKAGE_TYPE), Some("01"));
        assert_eq!(raw.details[0].get("quantity"), Some("2"));
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
