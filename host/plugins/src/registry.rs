//! The registry of adapters: built-ins plus every compatible library found in the
//! configured plugin directories.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tradewire_core::{Diagnostic, Diagnostics};
use tradewire_sdk::{AdapterInstance, AdapterModule, CallError, Manifest};

use crate::loader::{self, LoadError};

/// Where an adapter comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    BuiltIn,
    Library(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BuiltIn => f.write_str("built-in"),
            Self::Library(path) => write!(f, "{}", path.display()),
        }
    }
}

/// An adapter the registry can instantiate.
#[derive(Debug, Clone)]
pub struct Entry {
    pub module: AdapterModule,
    pub origin: Origin,
}

impl Entry {
    pub fn manifest(&self) -> &Manifest {
        self.module.manifest()
    }
}

/// How plugin libraries are loaded.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// When set, each library is first loaded by this executable in a child process (see
    /// [`loader::probe_in_child`]); a library that crashes it is refused.
    pub probe_with: Option<PathBuf>,
}

/// Built-in and loaded adapters by name, and what was refused and why.
#[derive(Debug, Default)]
pub struct Registry {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
    refused: Vec<LoadError>,
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The adapters linked into this binary.
    pub fn with_builtins() -> Self {
        let mut registry = Self::empty();
        for root in tradewire_sdk::builtins() {
            // SAFETY: a built-in is the SDK's module of one adapter type
            // (`tradewire_sdk::Builtin::of`).
            match unsafe { AdapterModule::new(root) } {
                Ok(module) => registry.add(module, Origin::BuiltIn),
                Err(e) => registry.refused.push(LoadError {
                    path: PathBuf::from("(built-in)"),
                    reason: e.to_string(),
                }),
            }
        }
        registry
    }

    /// Loads every library in each of `paths` (a directory, or a library file). Refusals
    /// are recorded and logged; the other libraries still load.
    pub fn load_plugins<P: AsRef<Path>>(&mut self, paths: &[P], options: &LoadOptions) {
        let mut files = Vec::new();
        for path in paths {
            files.extend(library_files(path.as_ref(), &mut self.refused));
        }
        // One child probes them all: a process start costs more than loading a library.
        // Only when it fails is each library probed alone, to tell which one it was.
        let all_probed = match &options.probe_with {
            Some(exe) if files.len() > 1 => loader::probe_in_child(exe, &files).is_ok(),
            _ => false,
        };
        let each = if all_probed {
            LoadOptions::default()
        } else {
            options.clone()
        };
        for file in &files {
            self.load_file(file, &each);
        }
    }

    /// Loads one library file.
    pub fn load_file(&mut self, path: &Path, options: &LoadOptions) {
        let probed = match &options.probe_with {
            Some(exe) => loader::probe_in_child(exe, std::slice::from_ref(&path.to_path_buf())),
            None => Ok(()),
        };
        let loaded = probed
            .map_err(|reason| LoadError {
                path: path.to_owned(),
                reason,
            })
            .and_then(|()| loader::load(path));
        match loaded {
            Ok(module) => self.add(module, Origin::Library(path.to_owned())),
            Err(e) => self.refuse(e),
        }
    }

    fn add(&mut self, module: AdapterModule, origin: Origin) {
        let name = module.manifest().name.clone();
        if let Some(&existing) = self.by_name.get(&name) {
            let path = match &origin {
                Origin::Library(path) => path.clone(),
                Origin::BuiltIn => PathBuf::from("(built-in)"),
            };
            let reason = format!(
                "duplicate adapter name `{name}`: already provided by {}",
                self.entries[existing].origin
            );
            self.refuse(LoadError { path, reason });
            return;
        }
        tracing::debug!(adapter = %name, %origin, "adapter registered");
        self.by_name.insert(name, self.entries.len());
        self.entries.push(Entry { module, origin });
    }

    fn refuse(&mut self, error: LoadError) {
        tracing::warn!(path = %error.path.display(), reason = %error.reason, "adapter library refused");
        self.refused.push(error);
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn refused(&self) -> &[LoadError] {
        &self.refused
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.by_name.get(name).map(|&i| &self.entries[i])
    }

    /// Finds adapter `name`, validates `config` against its schema and instantiates it.
    /// Diagnostic paths point into the config (`/config/delimiter`).
    pub fn instantiate(&self, name: &str, config: &Value) -> Result<AdapterInstance, Diagnostics> {
        let entry = self.get(name).ok_or_else(|| self.unknown_adapter(name))?;
        validate_config(&entry.manifest().config_schema, config)?;
        let bytes = serde_json::to_vec(config).unwrap_or_default();
        entry
            .module
            .instantiate(&bytes)
            .map_err(CallError::into_diagnostics)
    }

    fn unknown_adapter(&self, name: &str) -> Diagnostics {
        let mut known: Vec<_> = self
            .entries
            .iter()
            .map(|e| e.manifest().name.as_str())
            .collect();
        known.sort_unstable();
        let known = if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        };
        Diagnostic::error(
            "",
            "host.unknown_adapter",
            format!("no adapter named `{name}` (loaded: {known})"),
        )
        .into()
    }
}

/// Validates an adapter config against the JSON Schema in its manifest.
pub fn validate_config(schema: &Value, config: &Value) -> Result<(), Diagnostics> {
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "",
            "host.bad_config_schema",
            format!("the adapter's config schema is not a valid JSON Schema: {e}"),
        ))
    })?;
    let diagnostics: Diagnostics = validator
        .iter_errors(config)
        .map(|e| {
            Diagnostic::error(
                format!("/config{}", e.instance_path().as_str()),
                "config.invalid",
                e.to_string(),
            )
        })
        .collect();
    if diagnostics.is_empty() {
        Ok(())
    } else {
        Err(diagnostics)
    }
}

fn library_files(path: &Path, refused: &mut Vec<LoadError>) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => {
            let error = LoadError {
                path: path.to_owned(),
                reason: format!("cannot read the plugin directory: {e}"),
            };
            tracing::warn!(path = %path.display(), reason = %error.reason, "plugin directory unreadable");
            refused.push(error);
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && loader::is_library_candidate(p))
        .collect();
    // A stable order makes "first one wins" on duplicate names predictable.
    files.sort();
    files
}
