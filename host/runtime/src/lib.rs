//! The Tradewire runtime: a pipeline of sources, transforms and sinks, read from one TOML
//! file and run over the store, so that what a source acknowledged reaches every sink it is
//! routed to.
//!
//! One module per component type (Vector's layout): its config struct (serde + schemars,
//! unknown keys refused) and its `build`.

pub mod adapter;
pub mod api;
pub mod breaker;
pub mod config;
pub mod delivery;
pub mod econnecteur_client;
pub mod graph;
pub mod health;
pub mod ingest;
pub mod run;
pub mod schema;
pub mod secrets;
pub mod services;
pub mod sinks;
pub mod sources;
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
    /// What relative paths in the config are relative to: the pipeline file's directory.
    pub base_dir: &'a std::path::Path,
}

impl BuildContext<'_> {
    /// `path` as the config means it.
    pub fn resolve(&self, path: &std::path::Path) -> std::path::PathBuf {
        self.base_dir.join(path)
    }
}

/// Where adapters come from besides the pipeline's `[plugins]`.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// More directories or libraries to load (the CLI's `--plugins`).
    pub plugins: Vec<std::path::PathBuf>,
    /// Probe each library in a child process of this executable first.
    pub probe_with: Option<std::path::PathBuf>,
    /// Leave out the built-in adapters.
    pub no_builtins: bool,
}

/// Reads and builds the pipeline in `path`: everything `tradewire validate` checks. On
/// success the report holds the warnings.
pub fn load(
    path: &std::path::Path,
    options: &LoadOptions,
) -> Result<graph::Pipeline, config::ConfigReport> {
    let config = config::PipelineConfig::read(path)?;
    let mut registry = if options.no_builtins {
        Registry::empty()
    } else {
        Registry::with_builtins()
    };
    let mut paths: Vec<_> = config
        .plugins
        .paths
        .iter()
        .map(|p| config.file.resolve(p))
        .collect();
    paths.extend(options.plugins.iter().cloned());
    let probe_with = options.probe_with.clone().filter(|_| config.plugins.probe);
    registry.load_plugins(&paths, &tradewire_plugins::LoadOptions { probe_with });
    let refused: Vec<_> = registry
        .refused()
        .iter()
        .map(|e| {
            config.file.diagnostic_at_key(
                config::Severity::Warning,
                &["plugins".to_owned(), "paths".to_owned()],
                "plugins.refused",
                &e.to_string(),
            )
        })
        .collect();
    let base_dir = config.file.base_dir();
    let cx = BuildContext {
        registry: &registry,
        base_dir: &base_dir,
    };
    match graph::Pipeline::build(config, &cx) {
        Ok(mut pipeline) => {
            pipeline.warnings.0.extend(refused);
            Ok(pipeline)
        }
        Err(mut report) => {
            report.0.extend(refused);
            Err(report)
        }
    }
}
