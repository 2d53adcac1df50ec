//! The tagged union of canonical documents and their contract ids.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    Acknowledgement, Customer, CustomerList, Diagnostic, Diagnostics, Order, OrderStatusChange,
    PriceList, Product, ProductList, PunchoutSession, ServiceRequest, ServiceResponse,
    pointer_token,
};

macro_rules! documents {
    ($( $variant:ident = $contract:literal, $file:literal; )*) => {
        /// Which canonical document, by contract. The contract id (`order/v1`) names the
        /// document and its major version.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum DocumentKind {
            $( $variant, )*
        }

        impl DocumentKind {
            pub const ALL: &'static [DocumentKind] = &[$( DocumentKind::$variant, )*];

            /// The versioned contract id, as it appears in a document's `contract` field.
            pub fn contract_id(self) -> &'static str {
                match self {
                    $( Self::$variant => $contract, )*
                }
            }

            /// The schema file under `schemas/` (`order.v1.json`).
            pub fn schema_file(self) -> &'static str {
                match self {
                    $( Self::$variant => $file, )*
                }
            }

            /// Refuses this kind of document where a document of kind `expected` (when
            /// given) is required, as [`Document::from_json`] does.
            pub fn check_against(self, expected: Option<DocumentKind>) -> Result<(), Diagnostics> {
                match expected {
                    Some(expected) if expected != self => Err(Diagnostic::error(
                        "/contract",
                        "document.wrong_contract",
                        format!("expected a `{}` document, got `{}`", expected.contract_id(), self.contract_id()),
                    )
                    .into()),
                    _ => Ok(()),
                }
            }

            pub fn from_contract_id(id: &str) -> Result<Self, UnknownContract> {
                match id {
                    $( $contract => Ok(Self::$variant), )*
                    _ => Err(UnknownContract(id.to_owned())),
                }
            }

            /// The document's JSON Schema (draft 2020-12).
            pub fn json_schema(self) -> serde_json::Value {
                match self {
                    $( Self::$variant => crate::schema::document_schema::<$variant>(self), )*
                }
            }
        }

        /// A canonical document, tagged with its contract id.
        // One value per message, moved a few times and never held in bulk: boxing the
        // large variants would cost an allocation per message to save a memcpy.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "contract")]
        pub enum Document {
            $( #[serde(rename = $contract)] $variant($variant), )*
        }

        impl Document {
            pub fn kind(&self) -> DocumentKind {
                match self {
                    $( Self::$variant(_) => DocumentKind::$variant, )*
                }
            }

            /// Checks what must hold for the document whatever the protocol.
            pub fn validate(&self) -> Diagnostics {
                match self {
                    $( Self::$variant(doc) => doc.validate(), )*
                }
            }

            /// Parses canonical JSON, reporting every failure with its JSON Pointer.
            ///
            /// The `contract` field selects the document; a document whose contract is
            /// not `expected` (when given) is refused.
            pub fn from_json(bytes: &[u8], expected: Option<DocumentKind>) -> Result<Self, Diagnostics> {
                let kind = read_contract(bytes)?;
                kind.check_against(expected)?;
                match kind {
                    $( DocumentKind::$variant => from_json_with_paths(bytes).map(Self::$variant), )*
                }
            }

            /// [`Document::from_json`] of a document already held as a JSON value (what a
            /// transform made): read from the tree rather than printed and parsed again.
            pub fn from_value(value: &serde_json::Value, expected: Option<DocumentKind>) -> Result<Self, Diagnostics> {
                let kind = value_contract(value)?;
                kind.check_against(expected)?;
                match kind {
                    $( DocumentKind::$variant => from_value_with_paths(value).map(Self::$variant), )*
                }
            }

            /// Serialises as canonical JSON with the `contract` tag first.
            pub fn to_json(&self) -> Vec<u8> {
                let mut out = Vec::with_capacity(JSON_CAPACITY);
                self.write_json(&mut out);
                out
            }

            /// Appends the canonical JSON of [`Document::to_json`] to `out`, in one pass
            /// and without intermediate values. A caller that writes many documents reuses
            /// one buffer, whose capacity then fits them after the first few.
            pub fn write_json(&self, out: &mut Vec<u8>) {
                // Serialising these types cannot fail: no maps with non-string keys, no
                // custom serialisers that error, and writing to a `Vec` does not fail.
                let _ = serde_json::to_writer(out, self);
            }
        }

        $(
            impl From<$variant> for Document {
                fn from(doc: $variant) -> Self {
                    Self::$variant(doc)
                }
            }
        )*
    };
}

documents! {
    Order = "order/v1", "order.v1.json";
    Product = "product/v1", "product.v1.json";
    ProductList = "product-list/v1", "product-list.v1.json";
    Customer = "customer/v1", "customer.v1.json";
    CustomerList = "customer-list/v1", "customer-list.v1.json";
    PriceList = "price-list/v1", "price-list.v1.json";
    PunchoutSession = "punchout-session/v1", "punchout-session.v1.json";
    OrderStatusChange = "order-status-change/v1", "order-status-change.v1.json";
    Acknowledgement = "acknowledgement/v1", "acknowledgement.v1.json";
    ServiceRequest = "service-request/v1", "service-request.v1.json";
    ServiceResponse = "service-response/v1", "service-response.v1.json";
}

/// What [`Document::to_json`] allocates first: a small document whole; a larger one grows
/// the buffer by doubling from there.
const JSON_CAPACITY: usize = 1024;

/// A contract id this build does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownContract(pub String);

impl fmt::Display for UnknownContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<_> = DocumentKind::ALL.iter().map(|k| k.contract_id()).collect();
        write!(
            f,
            "unknown document contract `{}` (known: {})",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownContract {}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.contract_id())
    }
}

impl FromStr for DocumentKind {
    type Err = UnknownContract;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_contract_id(s)
    }
}

impl Serialize for DocumentKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.contract_id())
    }
}

impl<'de> Deserialize<'de> for DocumentKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Self::from_contract_id(&id).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for DocumentKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DocumentKind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let ids: Vec<_> = DocumentKind::ALL.iter().map(|k| k.contract_id()).collect();
        schemars::json_schema!({ "type": "string", "enum": ids })
    }
}

fn read_contract(bytes: &[u8]) -> Result<DocumentKind, Diagnostics> {
    if let Some(id) = leading_contract(bytes) {
        return DocumentKind::from_contract_id(id).map_err(|e| {
            Diagnostic::error("/contract", "document.unknown_contract", e.to_string()).into()
        });
    }
    #[derive(Deserialize)]
    struct Header<'a> {
        #[serde(borrow)]
        contract: Option<std::borrow::Cow<'a, str>>,
    }
    let header: Header<'_> = serde_json::from_slice(bytes).map_err(|e| json_error("", &e))?;
    let contract = header.contract.ok_or_else(|| {
        Diagnostic::error(
            "/contract",
            "document.contract_missing",
            "a canonical document needs a `contract` field such as \"order/v1\"",
        )
    })?;
    DocumentKind::from_contract_id(&contract).map_err(|e| {
        Diagnostic::error("/contract", "document.unknown_contract", e.to_string()).into()
    })
}

/// The contract a document held as a JSON value names.
fn value_contract(value: &serde_json::Value) -> Result<DocumentKind, Diagnostics> {
    let Some(object) = value.as_object() else {
        return Err(Diagnostic::error(
            "",
            "json.invalid_value",
            "a canonical document is a JSON object",
        )
        .into());
    };
    match object.get("contract") {
        Some(serde_json::Value::String(id)) => DocumentKind::from_contract_id(id).map_err(|e| {
            Diagnostic::error("/contract", "document.unknown_contract", e.to_string()).into()
        }),
        Some(_) => Err(Diagnostic::error(
            "/contract",
            "json.invalid_value",
            "the contract id is a string such as \"order/v1\"",
        )
        .into()),
        None => Err(Diagnostic::error(
            "/contract",
            "document.contract_missing",
            "a canonical document needs a `contract` field such as \"order/v1\"",
        )
        .into()),
    }
}

/// The contract id when it is the document's first member, as [`Document::to_json`]
/// writes it: found without a pass over the whole document.
fn leading_contract(bytes: &[u8]) -> Option<&str> {
    fn token<'a>(bytes: &'a [u8], token: &[u8]) -> Option<&'a [u8]> {
        bytes.trim_ascii_start().strip_prefix(token)
    }
    let rest = token(bytes, b"{")?;
    let rest = token(rest, b"\"contract\"")?;
    let rest = token(rest, b":")?;
    let rest = token(rest, b"\"")?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    if rest[end] != b'"' {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok()
}

/// Deserialises JSON into `T`, turning a failure into a diagnostic whose path is the
/// JSON Pointer of the offending value.
pub fn from_json_with_paths<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Diagnostics> {
    // Tracking the path costs an allocation per member read, and only a failure needs
    // it: parse plainly, and parse again with tracking to explain a failure. Text checked
    // as UTF-8 once is parsed without checking each string again; the rare input that is
    // not UTF-8 is left to the byte parser, which says where it goes wrong.
    let plain = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    };
    plain.map_err(|plain| {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Err(e) => json_error(&json_pointer(e.path()), e.inner()),
            Ok(_) => json_error("", &plain),
        }
    })
}

/// [`from_json_with_paths`] of a JSON value.
fn from_value_with_paths<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, Diagnostics> {
    T::deserialize(value).map_err(
        |plain| match serde_path_to_error::deserialize::<_, T>(value) {
            Err(e) => json_error(&json_pointer(e.path()), e.inner()),
            Ok(_) => json_error("", &plain),
        },
    )
}

fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } => pointer.push_str(&pointer_token(key)),
            Segment::Enum { variant } => pointer.push_str(&pointer_token(variant)),
            Segment::Unknown => pointer.push('?'),
        }
    }
    pointer
}

fn json_error(path: &str, e: &serde_json::Error) -> Diagnostics {
    use serde_json::error::Category;
    let code = match e.classify() {
        Category::Io | Category::Eof => "json.truncated",
        Category::Syntax => "json.syntax",
        Category::Data => "json.invalid_value",
    };
    // serde_json's message ends with "at line L column C"; keep it, it locates the error.
    Diagnostic::error(path, code, e.to_string()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_ids_round_trip() {
        for kind in DocumentKind::ALL {
            assert_eq!(
                DocumentKind::from_contract_id(kind.contract_id()),
                Ok(*kind)
            );
        }
    }

    #[test]
    fn a_bad_value_is_located_by_json_pointer() {
        let json = br#"{"contract":"order/v1","currency":"EUR","lines":[{"quantity":"1"},{"quantity":"x"}]}"#;
        let err = Document::from_json(json, None).expect_err("bad quantity");
        let d = &err.as_slice()[0];
        assert_eq!(d.path, "/lines/1/quantity");
        assert_eq!(d.code, "json.invalid_value");
    }

    #[test]
    fn a_value_reads_as_its_text_does() {
        let text = br#"{"currency":"EUR","lines":[{"quantity":"2","unit_price":{"net":"9.95"}}],"contract":"order/v1"}"#;
        let value: serde_json::Value = serde_json::from_slice(text).unwrap();
        let from_value = Document::from_value(&value, None).expect("a valid order");
        assert_eq!(from_value, Document::from_json(text, None).unwrap());
        assert_eq!(from_value.kind(), DocumentKind::Order);

        let bad = serde_json::json!({"contract": "order/v1", "currency": "EUR",
            "lines": [{"quantity": "1"}, {"quantity": "x"}]});
        let err = Document::from_value(&bad, None).expect_err("bad quantity");
        let d = &err.as_slice()[0];
        assert_eq!(
            (d.path.as_str(), d.code.as_str()),
            ("/lines/1/quantity", "json.invalid_value")
        );

        let wrong =
            Document::from_value(&value, Some(DocumentKind::Product)).expect_err("an order");
        assert_eq!(wrong.as_slice()[0].code, "document.wrong_contract");
        for (value, code) in [
            (
                serde_json::json!({"currency": "EUR"}),
                "document.contract_missing",
            ),
            (
                serde_json::json!({"contract": "order/v9"}),
                "document.unknown_contract",
            ),
            (serde_json::json!({"contract": 1}), "json.invalid_value"),
            (serde_json::json!(["order/v1"]), "json.invalid_value"),
        ] {
            let err = Document::from_value(&value, None).expect_err("not a document");
            assert_eq!(err.as_slice()[0].code, code, "{value}");
        }
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_where_it_breaks() {
        let mut json =
            br#"{"contract":"order/v1","currency":"EUR","lines":[{"description":"caf"#.to_vec();
        json.push(0xE9); // Latin-1 é
        json.extend_from_slice(br#"","quantity":"1"}]}"#);
        let err = Document::from_json(&json, None).expect_err("not UTF-8");
        let d = &err.as_slice()[0];
        assert_eq!(d.path, "/lines/0/description");
        assert_eq!(d.code, "json.syntax");
        // The é is byte 69.
        assert!(
            d.message
                .contains("invalid unicode code point at line 1 column 69"),
            "{}",
            d.message
        );
    }

    #[test]
    fn contract_is_required_and_checked() {
        let missing = Document::from_json(br#"{"currency":"EUR","lines":[]}"#, None)
            .expect_err("no contract");
        assert_eq!(missing.as_slice()[0].code, "document.contract_missing");
        let unknown = Document::from_json(br#"{"contract":"order/v9"}"#, None).expect_err("v9");
        assert_eq!(unknown.as_slice()[0].code, "document.unknown_contract");
        let wrong = Document::from_json(
            br#"{"contract":"product/v1","sku":"A"}"#,
            Some(DocumentKind::Order),
        )
        .expect_err("wrong kind");
        assert_eq!(wrong.as_slice()[0].code, "document.wrong_contract");
    }

    #[test]
    fn the_contract_is_read_wherever_it_stands_and_however_it_is_escaped() {
        let product = |json: &[u8]| Document::from_json(json, Some(DocumentKind::Product));
        for json in [
            &br#"{"contract":"product/v1","sku":"A"}"#[..],
            br#" { "contract" : "product/v1" , "sku":"A"}"#,
            br#"{"sku":"A","contract":"product/v1"}"#,
            br#"{"contract":"product\/v1","sku":"A"}"#,
        ] {
            let document = product(json).unwrap_or_else(|d| panic!("{d}"));
            assert_eq!(document.kind(), DocumentKind::Product);
        }
        let after_a_good_start =
            product(br#"{"contract":"product/v1","sku":"A",}"#).expect_err("trailing comma");
        assert!(after_a_good_start.as_slice()[0].code.starts_with("json."));
    }

    #[test]
    fn truncated_json_is_a_diagnostic() {
        let err = Document::from_json(br#"{"contract":"order/v1","currency":"EU"#, None)
            .expect_err("truncated");
        assert_eq!(err.as_slice()[0].code, "json.truncated");
    }

    #[test]
    fn documents_round_trip_through_json() {
        let doc = Document::Product(crate::Product {
            sku: "ACTI0001".into(),
            ..Default::default()
        });
        let json = doc.to_json();
        assert!(json.starts_with(br#"{"contract":"product/v1""#));
        assert_eq!(
            Document::from_json(&json, Some(DocumentKind::Product)),
            Ok(doc)
        );
    }
}
