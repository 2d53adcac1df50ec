//! JSON Schemas of the canonical documents, as published under `schemas/`.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use crate::{Diagnostic, DocumentKind};

/// Where the published schemas live, relative to the repository root.
pub const SCHEMA_DIR: &str = "schemas";

/// The schema of one document, with its `$id` and the `contract` property the JSON form
/// carries.
pub(crate) fn document_schema<T: JsonSchema>(kind: DocumentKind) -> Value {
    let schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Value::Object(map) = &mut value {
        map.insert(
            "$id".into(),
            json!(format!(
                "https://tradewire.dev/schemas/{}",
                kind.schema_file()
            )),
        );
        if let Some(Value::Object(props)) = map.get_mut("properties") {
            props.insert("contract".into(), json!({ "const": kind.contract_id() }));
        }
        if let Some(Value::Array(required)) = map.get_mut("required") {
            required.insert(0, json!("contract"));
        }
    }
    value
}

/// Every published schema: each document by its file name, and the diagnostics format.
pub fn published() -> Vec<(&'static str, Value)> {
    let mut all: Vec<_> = DocumentKind::ALL
        .iter()
        .map(|k| (k.schema_file(), k.json_schema()))
        .collect();
    let diagnostics = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Vec<Diagnostic>>();
    all.push(("diagnostics.v1.json", diagnostics.to_value()));
    all
}

/// Renders a schema the way the files under `schemas/` are written.
pub fn render(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}
