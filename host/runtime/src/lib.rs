//! The Tradewire runtime: a pipeline of sources, transforms and sinks, read from one TOML
//! file and run over the store, so that what a source acknowledged reaches every sink it is
//! routed to.
//!
//! One module per component type (Vector's layout): its config struct (serde + schemars,
//! unknown keys refused) and its `build`.

pub mod adapter;
pub mod sinks;
pub mod transforms;

use tradewire_plugins::Registry;

/// A problem in one component's config found while building it: where, as the key path
/// under the component's table (`["lookup", "/delivery/carrier_id", "table"]`), and why.
/// The pipeline loader turns the path into a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: Vec<String>,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: &[&str], message: impl Into<String>) -> Self {
        Self {
            path: path.iter().map(|&p| p.to_owned()).collect(),
            message: message.into(),
        }
    }

    /// The same error, one level further down (`at("lookup")` on an error at `["table"]`).
    pub fn under(mut self, key: &str) -> Self {
        self.path.insert(0, key.to_owned());
        self
    }
}

/// What building a component may use. Building never starts anything (no socket, no file,
/// no thread): `tradewire validate` builds every component.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    pub registry: &'a Registry,
}
