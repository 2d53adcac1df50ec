//! `route`: named outputs chosen by jq conditions.
//!
//! ```toml
//! [transforms.by_country]
//! type = "route"
//! inputs = ["as_order"]
//! route.nl = '.delivery_address.country == "NL"'
//! route.big = '(.totals.gross // "0" | tonumber) > 1000'
//!
//! [sinks.ois]
//! inputs = ["by_country.nl"]
//! [sinks.rest]
//! inputs = ["by_country._unmatched"]
//! ```

use std::collections::BTreeMap;

use jaq_json::Val;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use tradewire_core::Diagnostics;

use super::jq::{Program, to_val};
use super::{Routed, Transform};
use crate::{BuildContext, ConfigError};

/// The output of a `route` that takes the documents no condition matched.
pub const UNMATCHED: &str = "_unmatched";

/// Sends each document to every route whose condition holds, and to `_unmatched` when none
/// does. Components take a route as `inputs = ["NAME.ROUTE"]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The routes, by output name: `route.nl = '.delivery_address.country == "NL"'`. A
    /// condition is a jq program run over the document; the route matches when the program
    /// outputs the boolean `true` (only `true`: not a string, a number or any other value
    /// jq would call truthy), and the first `true` decides. A condition that fails refuses
    /// the document. A name is letters, digits, `_` and `-`, starting with a letter or `_`,
    /// and not `_unmatched`.
    pub route: BTreeMap<String, String>,
}

/// A built `route`.
#[derive(Debug)]
pub struct Route {
    routes: Vec<(String, Program)>,
}

impl RouteConfig {
    /// Checks every route's name and compiles its condition.
    pub fn build(&self, _cx: &BuildContext<'_>) -> Result<Route, Vec<ConfigError>> {
        let mut errors = Vec::new();
        if self.route.is_empty() {
            errors.push(ConfigError::new(
                &["route"],
                "no routes: give at least one, as `route.NAME = 'jq condition'`",
            ));
        }
        let mut routes = Vec::with_capacity(self.route.len());
        for (name, condition) in &self.route {
            let at = ["route", name.as_str()];
            if name == UNMATCHED {
                errors.push(ConfigError::new(
                    &at,
                    format!("`{UNMATCHED}` is the output for documents no route matched; name the route otherwise"),
                ));
            } else if !is_output_name(name) {
                errors.push(ConfigError::new(
                    &at,
                    format!(
                        "`{name}` is not a valid output name: use letters, digits, `_` and `-`, \
                         starting with a letter or `_`"
                    ),
                ));
            }
            match Program::compile(condition) {
                Ok(program) => routes.push((name.clone(), program)),
                Err(messages) => errors.extend(
                    messages
                        .into_iter()
                        .map(|message| ConfigError::new(&at, message)),
                ),
            }
        }
        if errors.is_empty() {
            Ok(Route { routes })
        } else {
            Err(errors)
        }
    }
}

/// An output name other components can follow with a `.` in `inputs`: ASCII letters,
/// digits, `_` and `-`, starting with a letter or `_`.
pub fn is_output_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Transform for Route {
    fn outputs(&self) -> Vec<Option<String>> {
        self.routes
            .iter()
            .map(|(name, _)| name.as_str())
            .chain([UNMATCHED])
            .map(|name| Some(name.to_owned()))
            .collect()
    }

    fn apply(&self, document: Value) -> Result<Vec<Routed>, Diagnostics> {
        let input = to_val(&document);
        let mut diagnostics = Diagnostics::new();
        let mut matched = Vec::new();
        for (name, condition) in &self.routes {
            let first_true_or_error =
                condition
                    .run(input.clone())
                    .find_map(|output| match output {
                        Ok(Val::Bool(true)) => Some(Ok(())),
                        Ok(_) => None,
                        Err(why) => Some(Err(why)),
                    });
            match first_true_or_error {
                Some(Ok(())) => matched.push(name.as_str()),
                Some(Err(why)) => diagnostics.error(
                    "",
                    "route.condition_failed",
                    format!("the condition of route `{name}` failed: {why}"),
                ),
                None => {}
            }
        }
        if diagnostics.has_errors() {
            return Err(diagnostics);
        }
        if matched.is_empty() {
            matched.push(UNMATCHED);
        }
        Ok(matched
            .into_iter()
            .map(|name| Routed {
                output: Some(name.to_owned()),
                document: document.clone(),
            })
            .collect())
    }
}
