//! `map`: edits a document field by field.
//!
//! ```toml
//! [transforms.as_order]
//! type = "map"
//! inputs = ["carts"]
//! set = { "/kind" = "order", "/payment/option_id" = "12" }
//! lookup = { "/delivery/carrier_id" = { from = "/delivery/carrier", table = "carriers", default = "1" } }
//! tables.carriers = { "Transporteur Express" = "3" }
//! ```
//!
//! Paths are JSON Pointers where `*` is every element of an array (see [`super::pointer`]).
//! The operations run in one fixed order, whatever the order of the keys in the file:
//! `copy`, `rename`, `lookup`, `set`, `default`, `remove` — fields are moved first so that
//! the later steps see them under their new names, `set` overrides what a lookup wrote,
//! `default` fills only what is still empty, and `remove` comes last so that every other
//! step may read a field that is then dropped. Within one operation, entries run in the
//! order of their pointers. A document that cannot be edited as configured (a value not in
//! a lookup table, a write through a scalar) is refused with every such problem listed.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use tradewire_core::{Diagnostic, Diagnostics};

use super::pointer::{Path, Pointer, WriteError, describe};
use super::{Routed, Transform};
use crate::{BuildContext, ConfigError};

/// Edits each document field by field. Keys are JSON Pointers (`/delivery/carrier_id`;
/// `~1` stands for `/` and `~0` for `~` inside a key) where a `*` segment means every
/// element of an array (`/lines/*/unit`). The operations run in this order: copy, rename,
/// lookup, set, default, remove.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapConfig {
    /// Values to write: `{ "/kind" = "order" }`. Missing objects on the way are created;
    /// writing through a value that is not an object refuses the document.
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
    /// Values to write only where the field is absent or null: `{ "/currency" = "EUR" }`.
    #[serde(default)]
    pub default: BTreeMap<String, Value>,
    /// Copies, as target = source: `{ "/reference" = "/id" }`. The source may have no `*`
    /// (its value goes to every target) or as many as the target (element to element). An
    /// absent source copies nothing.
    #[serde(default)]
    pub copy: BTreeMap<String, String>,
    /// Moves, as source = target: `{ "/delivery/carrier" = "/delivery/carrier_name" }`. Both
    /// have the same number of `*`. An absent source moves nothing.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Fields to delete: `["/extensions", "/lines/*/gtin"]`. Each pointer names the
    /// document as it is before any removal.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Values translated through a table, by target: `{ "/delivery/carrier_id" = { from =
    /// "/delivery/carrier", table = "carriers", default = "1" } }`.
    #[serde(default)]
    pub lookup: BTreeMap<String, LookupConfig>,
    /// The lookup tables by name, each from a value (as text) to what to write:
    /// `tables.carriers = { "Transporteur Express" = "3" }`.
    #[serde(default)]
    pub tables: BTreeMap<String, BTreeMap<String, Value>>,
}

/// One lookup: the value at `from`, looked up in `table`, written at the target.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupConfig {
    /// Where the value to look up is: a JSON Pointer with no `*` or as many as the target.
    /// A string is looked up as it is, a number or boolean as its JSON text.
    pub from: String,
    /// The name of the table, one of `tables`.
    pub table: String,
    /// What to write when the value is not in the table or is absent. Without it, a value
    /// not in the table refuses the document, and an absent one leaves the target as it is.
    #[serde(default)]
    pub default: Option<Value>,
}

/// A built `map`.
#[derive(Debug)]
pub struct Map {
    copy: Vec<Move>,
    rename: Vec<Move>,
    lookup: Vec<Lookup>,
    set: Vec<(Pointer, Value)>,
    default: Vec<(Pointer, Value)>,
    remove: Vec<Pointer>,
}

#[derive(Debug)]
struct Move {
    from: Pointer,
    to: Pointer,
}

#[derive(Debug)]
struct Lookup {
    places: Move,
    table_name: String,
    table: Arc<BTreeMap<String, Value>>,
    default: Option<Value>,
}

impl MapConfig {
    /// Parses every pointer and checks that each lookup's table exists and that paired
    /// pointers agree on their `*`s.
    pub fn build(&self, _cx: &BuildContext<'_>) -> Result<Map, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let tables: BTreeMap<&str, Arc<BTreeMap<String, Value>>> = self
            .tables
            .iter()
            .map(|(name, table)| (name.as_str(), Arc::new(table.clone())))
            .collect();

        let copy = self
            .copy
            .iter()
            .filter_map(|(to, from)| {
                let at = ["copy", to.as_str()];
                let to = target(&at, to, &mut errors);
                let from = source(&at, from, &mut errors);
                paired(&at, from?, to?, Pairing::SourceMayBroadcast, &mut errors)
            })
            .collect();
        let rename = self
            .rename
            .iter()
            .filter_map(|(from, to)| {
                let at = ["rename", from.as_str()];
                let from = target(&at, from, &mut errors);
                let to = target(&at, to, &mut errors);
                paired(&at, from?, to?, Pairing::SameWildcards, &mut errors)
            })
            .collect();
        let lookup = self
            .lookup
            .iter()
            .filter_map(|(to, config)| {
                let at = ["lookup", to.as_str()];
                let to = target(&at, to, &mut errors);
                let from = source(&["lookup", at[1], "from"], &config.from, &mut errors);
                let table = tables.get(config.table.as_str()).cloned();
                if table.is_none() {
                    errors.push(ConfigError::new(
                        &["lookup", at[1], "table"],
                        unknown_table(&config.table, &tables),
                    ));
                }
                let places = paired(&at, from?, to?, Pairing::SourceMayBroadcast, &mut errors)?;
                Some(Lookup {
                    places,
                    table_name: config.table.clone(),
                    table: table?,
                    default: config.default.clone(),
                })
            })
            .collect();
        let mut values = |key: &str, entries: &BTreeMap<String, Value>| -> Vec<_> {
            entries
                .iter()
                .filter_map(|(at, value)| {
                    Some((target(&[key, at], at, &mut errors)?, value.clone()))
                })
                .collect()
        };
        let set = values("set", &self.set);
        let default = values("default", &self.default);
        let remove = self
            .remove
            .iter()
            .enumerate()
            .filter_map(|(i, at)| target(&["remove", &i.to_string()], at, &mut errors))
            .collect();

        if errors.is_empty() {
            Ok(Map {
                copy,
                rename,
                lookup,
                set,
                default,
                remove,
            })
        } else {
            Err(errors)
        }
    }
}

/// A pointer that is read from.
fn source(at: &[&str], text: &str, errors: &mut Vec<ConfigError>) -> Option<Pointer> {
    Pointer::parse(text)
        .map_err(|why| errors.push(ConfigError::new(at, why)))
        .ok()
}

/// A pointer that is written (or removed): not the whole document.
fn target(at: &[&str], text: &str, errors: &mut Vec<ConfigError>) -> Option<Pointer> {
    let pointer = source(at, text, errors)?;
    if pointer.is_root() {
        errors.push(ConfigError::new(
            at,
            "the empty pointer names the whole document, which `map` cannot replace, move or \
             remove (a `jq` transform can)",
        ));
        return None;
    }
    Some(pointer)
}

enum Pairing {
    /// The source has no `*` (one value for every target) or as many as the target.
    SourceMayBroadcast,
    /// Both have as many `*`.
    SameWildcards,
}

fn paired(
    at: &[&str],
    from: Pointer,
    to: Pointer,
    pairing: Pairing,
    errors: &mut Vec<ConfigError>,
) -> Option<Move> {
    let (sources, targets) = (from.wildcards(), to.wildcards());
    let fits = match pairing {
        Pairing::SourceMayBroadcast => sources == 0 || sources == targets,
        Pairing::SameWildcards => sources == targets,
    };
    if fits {
        return Some(Move { from, to });
    }
    let rule = match pairing {
        Pairing::SourceMayBroadcast => "the source needs as many `*` as the target, or none",
        Pairing::SameWildcards => "both need as many `*`",
    };
    errors.push(ConfigError::new(
        at,
        format!("`{from}` has {sources} `*` and `{to}` has {targets}: {rule}"),
    ));
    None
}

fn unknown_table(name: &str, tables: &BTreeMap<&str, Arc<BTreeMap<String, Value>>>) -> String {
    if tables.is_empty() {
        format!("no table `{name}`: define it as `tables.{name} = {{ ... }}`")
    } else {
        let known: Vec<&str> = tables.keys().copied().collect();
        format!("no table `{name}` (tables: {})", known.join(", "))
    }
}

impl Transform for Map {
    fn apply(&self, mut document: Value) -> Result<Vec<Routed>, Diagnostics> {
        let mut diagnostics = Diagnostics::new();
        let doc = &mut document;
        let d = &mut diagnostics;
        for step in &self.copy {
            for (from, to) in pairs(step, doc, d) {
                if let Some(value) = from.get(doc).cloned() {
                    write(&to, doc, value, d);
                }
            }
        }
        for step in &self.rename {
            let moving: Vec<(Path, Path, Value)> = pairs(step, doc, d)
                .into_iter()
                .filter_map(|(from, to)| {
                    let value = from.get(doc)?.clone();
                    Some((from, to, value))
                })
                .collect();
            // Every source goes before any target is written, later array elements first,
            // so that no removal shifts an element another source names.
            let mut sources: Vec<&Path> = moving.iter().map(|(from, ..)| from).collect();
            sources.sort_by(|a, b| Path::removal_order(a, b));
            for from in sources {
                from.remove(doc);
            }
            for (_, to, value) in moving {
                write(&to, doc, value, d);
            }
        }
        for lookup in &self.lookup {
            for (from, to) in pairs(&lookup.places, doc, d) {
                if let Some(value) = lookup.translate(&from, &to, doc, d) {
                    write(&to, doc, value, d);
                }
            }
        }
        for (pointer, value) in &self.set {
            for to in write_targets(pointer, doc, d) {
                write(&to, doc, value.clone(), d);
            }
        }
        for (pointer, value) in &self.default {
            for to in write_targets(pointer, doc, d) {
                if to.get(doc).is_none_or(Value::is_null) {
                    write(&to, doc, value.clone(), d);
                }
            }
        }
        let mut removed: Vec<Path> = self
            .remove
            .iter()
            .flat_map(|pointer| pointer.expand(doc))
            .map(|found| found.path)
            .collect();
        removed.sort_by(Path::removal_order);
        removed.dedup();
        for path in &removed {
            path.remove(doc);
        }

        if diagnostics.has_errors() {
            Err(diagnostics)
        } else {
            Ok(vec![Routed {
                output: None,
                document,
            }])
        }
    }
}

impl Lookup {
    /// What to write at `to` for the value at `from`: the table's entry, else the default;
    /// `None` when nothing is to be written (or the document is refused).
    fn translate(&self, from: &Path, to: &Path, doc: &Value, d: &mut Diagnostics) -> Option<Value> {
        let found = match from.get(doc) {
            None | Some(Value::Null) => return self.default.clone(),
            Some(found) => found,
        };
        let key = match found {
            Value::String(text) => text.clone(),
            Value::Number(_) | Value::Bool(_) => found.to_string(),
            other => {
                d.error(
                    from.pointer(),
                    "map.lookup_not_scalar",
                    format!(
                        "{from} is {}; only a string, number or boolean can be looked up in \
                         table `{}`",
                        describe(other),
                        self.table_name
                    ),
                );
                return None;
            }
        };
        let value = self.table.get(&key).or(self.default.as_ref()).cloned();
        if value.is_none() {
            d.error(
                from.pointer(),
                "map.lookup_missing",
                format!(
                    "`{key}` (at {from}) is not in table `{}`, and the lookup for {to} has no \
                     default",
                    self.table_name
                ),
            );
        }
        value
    }
}

/// The (source, target) places of one copy, move or lookup in `doc`: a source without `*`
/// goes to every place of the target; otherwise each source element goes to the target
/// element with the same indices.
fn pairs(step: &Move, doc: &Value, d: &mut Diagnostics) -> Vec<(Path, Path)> {
    if step.from.wildcards() == 0 {
        let from = step.from.with_indices(&[]);
        write_targets(&step.to, doc, d)
            .into_iter()
            .map(|to| (from.clone(), to))
            .collect()
    } else {
        step.from
            .expand(doc)
            .into_iter()
            .map(|found| {
                let to = step.to.with_indices(&found.indices);
                (found.path, to)
            })
            .collect()
    }
}

fn write_targets(pointer: &Pointer, doc: &Value, d: &mut Diagnostics) -> Vec<Path> {
    match pointer.expand_for_write(doc) {
        Ok(found) => found.into_iter().map(|found| found.path).collect(),
        Err(error) => {
            d.push(cannot_write(error));
            Vec::new()
        }
    }
}

fn write(to: &Path, doc: &mut Value, value: Value, d: &mut Diagnostics) {
    if let Err(error) = to.set(doc, value) {
        d.push(cannot_write(error));
    }
}

fn cannot_write(error: WriteError) -> Diagnostic {
    Diagnostic::error(error.path, "map.cannot_write", error.message)
}
