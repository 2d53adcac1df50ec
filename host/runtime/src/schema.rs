//! The pipeline file's JSON Schema (`tradewire schema --pipeline`), for editors: TOML
//! language servers (Taplo, Even Better TOML) validate and complete against it.

use serde_json::{Value, json};

use crate::config::{ApiConfig, PluginsConfig, RuntimeConfig, StoreConfig};
use crate::services::ServiceConfig;
use crate::sinks::SinkConfig;
use crate::sources::SourceConfig;
use crate::transforms::TransformConfig;

pub fn pipeline_schema() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let store = generator.subschema_for::<StoreConfig>().to_value();
    let api = generator.subschema_for::<ApiConfig>().to_value();
    let plugins = generator.subschema_for::<PluginsConfig>().to_value();
    let runtime = generator.subschema_for::<RuntimeConfig>().to_value();
    let sources = generator.subschema_for::<SourceConfig>().to_value();
    let services = with_inputs(
        generator.subschema_for::<ServiceConfig>().to_value(),
        &mut generator,
        |kind| {
            ServiceConfig::TAKING_INPUTS
                .contains(&kind)
                .then_some(false)
        },
    );
    let transforms = with_inputs(
        generator.subschema_for::<TransformConfig>().to_value(),
        &mut generator,
        |_| Some(true),
    );
    let sinks = with_inputs(
        generator.subschema_for::<SinkConfig>().to_value(),
        &mut generator,
        |_| Some(true),
    );
    let definitions = generator.take_definitions(true);
    let named = |component: Value| {
        json!({
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z0-9_-]{1,64}$"},
            "additionalProperties": component,
        })
    };
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Tradewire pipeline",
        "description": "A pipeline file for `tradewire run`: sources, transforms and sinks joined by `inputs`, and services that answer a protocol themselves and emit on named outputs.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "store": store,
            "api": api,
            "plugins": plugins,
            "runtime": runtime,
            "sources": named(sources),
            "transforms": named(transforms),
            "sinks": named(sinks),
            "services": named(services),
        },
        "$defs": definitions,
    })
}

/// `schema` (a `$ref` to a tagged enum's definition) with `inputs` in the variants whose
/// `type` `takes` says: `Some(true)` required, `Some(false)` optional, `None` not at all.
fn with_inputs(
    schema: Value,
    generator: &mut schemars::SchemaGenerator,
    takes: impl Fn(&str) -> Option<bool>,
) -> Value {
    let inputs = json!({
        "description": "The components this one takes documents from: `name`, or `name.output` for a named output (`by_country.nl`).",
        "type": "array",
        "items": {"type": "string"},
        "minItems": 1,
    });
    let name = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_owned);
    let definitions = generator.definitions_mut();
    let target = match &name {
        Some(name) => definitions.get_mut(name),
        None => None,
    };
    if let Some(Value::Object(definition)) = target
        && let Some(Value::Array(variants)) = definition.get_mut("oneOf")
    {
        for variant in variants {
            let kind = variant
                .pointer("/properties/type/const")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(required) = takes(kind) else {
                continue;
            };
            if let Some(Value::Object(properties)) = variant.get_mut("properties") {
                properties.insert("inputs".into(), inputs.clone());
            }
            if let (true, Some(Value::Array(listed))) = (required, variant.get_mut("required")) {
                listed.push("inputs".into());
            }
        }
    }
    schema
}
