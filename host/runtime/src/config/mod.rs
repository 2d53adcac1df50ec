//! The pipeline file: reading it, with every problem located by file, line, column and key.
//!
//! Reading happens in two steps. [`PipelineConfig::parse`] reads the TOML (syntax, `${VAR}`,
//! unknown keys, wrong types, each component's own config); [`crate::graph::Pipeline::build`]
//! then builds the components (adapters, messages and their configs, jq programs) and checks
//! the graph. Both collect every problem rather than stopping at the first, and both can run
//! without starting anything: that is `tradewire validate`.

pub mod interpolate;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::ConfigError;
use crate::services::ServiceConfig;
use crate::sinks::SinkConfig;
use crate::sources::SourceConfig;
use crate::transforms::TransformConfig;
use interpolate::{Substituted, interpolate, redact};

/// `[store]`: where acknowledged documents are kept.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite file (relative paths are from the pipeline file's directory).
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
    /// How many days delivered documents and their history are kept for `trace` and
    /// replays. Dead letters stay until dropped.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: default_store_path(),
            retention_days: default_retention_days(),
        }
    }
}

fn default_store_path() -> PathBuf {
    PathBuf::from("tradewire.db")
}

fn default_retention_days() -> u32 {
    7
}

/// `[api]`: `/health` and Prometheus `/metrics`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Where to listen, e.g. `127.0.0.1:8686`.
    pub address: SocketAddr,
}

/// `[plugins]`: adapter libraries to load besides the built-in adapters.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginsConfig {
    /// Directories (or library files) to load; relative paths are from the pipeline file's
    /// directory.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// Load each library in a child process first, so that one that crashes when loaded is
    /// refused rather than taking the runtime down.
    #[serde(default = "default_true")]
    pub probe: bool,
}

fn default_true() -> bool {
    true
}

/// `[runtime]`: how the process behaves as a whole.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// On SIGTERM or SIGINT: stop taking input, finish what is in flight, release what is
    /// claimed, and exit within this many seconds.
    #[serde(default = "default_shutdown_timeout_secs")]
    pub shutdown_timeout_secs: u64,
    /// Logs as `text` or `json` (on stderr; `TRADEWIRE_LOG` sets the level).
    #[serde(default)]
    pub log_format: LogFormat,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            shutdown_timeout_secs: default_shutdown_timeout_secs(),
            log_format: LogFormat::default(),
        }
    }
}

fn default_shutdown_timeout_secs() -> u64 {
    30
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Where a component's table is and what it takes as input.
#[derive(Debug, Clone)]
pub struct Component<T> {
    pub name: String,
    /// `name` or `name.output` of other components, each with where it was written.
    pub inputs: Vec<Spanned<String>>,
    pub config: T,
}

/// A pipeline file, read and checked for syntax, types and keys; not built yet.
#[derive(Debug)]
pub struct PipelineConfig {
    pub file: PipelineFile,
    pub store: StoreConfig,
    pub api: Option<ApiConfig>,
    pub plugins: PluginsConfig,
    pub runtime: RuntimeConfig,
    pub sources: Vec<Component<SourceConfig>>,
    pub transforms: Vec<Component<TransformConfig>>,
    pub sinks: Vec<Component<SinkConfig>>,
    /// Components that answer a protocol themselves and emit on named outputs.
    pub services: Vec<Component<ServiceConfig>>,
    /// Problems found while reading: the pipeline cannot run, but building what could be
    /// read finds the rest.
    pub problems: Vec<ConfigDiagnostic>,
    /// Components whose tables could not be read: building takes them as present, so their
    /// neighbours are not reported for them.
    pub broken: std::collections::BTreeSet<String>,
}

/// The file's text and what is needed to point into it.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    pub path: PathBuf,
    pub text: String,
    /// The variables substituted, kept to redact their values from diagnostics.
    substituted: Vec<Substituted>,
    /// Every key's span and its value's span, by key path, for locating build errors.
    keys: BTreeMap<Vec<String>, (Range<usize>, Range<usize>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in a pipeline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigDiagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The key path, dotted (`sources.carts.decode.adapter`).
    pub key: String,
    pub code: String,
    pub message: String,
}

impl fmt::Display for ConfigDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {severity}[{}]",
            self.file.display(),
            self.line,
            self.column,
            self.code
        )?;
        if !self.key.is_empty() {
            write!(f, " `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found; the pipeline cannot run while one is an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigReport(pub Vec<ConfigDiagnostic>);

impl fmt::Display for ConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

impl PipelineFile {
    fn new(path: &Path, text: String) -> Self {
        Self {
            path: path.to_owned(),
            text,
            substituted: Vec::new(),
            keys: BTreeMap::new(),
        }
    }

    /// The directory relative paths in the file are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        }
    }

    /// `path` as the file means it: relative paths are from the file's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.base_dir().join(path)
        }
    }

    /// A diagnostic at byte `span` of the file.
    pub fn diagnostic_at(
        &self,
        severity: Severity,
        span: Range<usize>,
        key: &[String],
        code: &str,
        message: &str,
    ) -> ConfigDiagnostic {
        let (line, column) = line_column(&self.text, span.start);
        ConfigDiagnostic {
            severity,
            file: self.path.clone(),
            line,
            column,
            key: key.join("."),
            code: code.to_owned(),
            message: redact(message, &self.substituted),
        }
    }

    /// A diagnostic at key path `key`: at the deepest part of it written in the file (a
    /// default that was not written is reported at its table).
    pub fn diagnostic_at_key(
        &self,
        severity: Severity,
        key: &[String],
        code: &str,
        message: &str,
    ) -> ConfigDiagnostic {
        let span = (0..=key.len())
            .rev()
            .find_map(|n| self.keys.get(&key[..n]).map(|(k, _)| k.clone()))
            .unwrap_or(0..0);
        self.diagnostic_at(severity, span, key, code, message)
    }

    /// The diagnostics for a component's build errors, located by their key paths.
    pub fn build_errors(
        &self,
        component: &[&str],
        errors: Vec<ConfigError>,
    ) -> Vec<ConfigDiagnostic> {
        errors
            .into_iter()
            .map(|e| {
                let mut key: Vec<String> = component.iter().map(|&s| s.to_owned()).collect();
                key.extend(e.path);
                self.diagnostic_at_key(Severity::Error, &key, "config.invalid", &e.message)
            })
            .collect()
    }

    /// The key path at byte `offset`: the deepest key whose key or value holds it.
    fn key_path_at(&self, offset: usize) -> Vec<String> {
        self.keys
            .iter()
            .filter(|(_, (k, v))| k.contains(&offset) || v.contains(&offset) || k.start == offset)
            .max_by_key(|(path, _)| path.len())
            .map(|(path, _)| path.clone())
            .unwrap_or_default()
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

const SECTIONS: &[&str] = &[
    "store",
    "api",
    "plugins",
    "runtime",
    "sources",
    "transforms",
    "sinks",
    "services",
];

impl PipelineConfig {
    /// Reads a pipeline file from disk.
    pub fn read(path: &Path) -> Result<Self, ConfigReport> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigReport(vec![ConfigDiagnostic {
                severity: Severity::Error,
                file: path.to_owned(),
                line: 1,
                column: 1,
                key: String::new(),
                code: "config.unreadable".into(),
                message: format!("cannot read the pipeline file: {e}"),
            }])
        })?;
        Self::parse(path, text, &|name| std::env::var(name).ok())
    }

    /// Reads pipeline text, with `env` for `${VAR}`.
    pub fn parse(
        path: &Path,
        text: String,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigReport> {
        let mut file = PipelineFile::new(path, text);
        let mut diagnostics = Vec::new();
        // The parsed tree borrows the text, which `file` owns: parse a copy.
        let text = file.text.clone();
        let mut root = match DeTable::parse(&text) {
            Ok(root) => root.into_inner(),
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                return Err(ConfigReport(vec![file.diagnostic_at(
                    Severity::Error,
                    span,
                    &[],
                    "config.syntax",
                    e.message(),
                )]));
            }
        };
        let mut path_so_far = Vec::new();
        index_keys(&root, &mut path_so_far, &mut file.keys);
        interpolate_table(
            &mut root,
            &mut path_so_far,
            env,
            &mut file,
            &mut diagnostics,
        );

        let mut config = Self {
            file: file.clone(),
            store: StoreConfig::default(),
            api: None,
            plugins: PluginsConfig::default(),
            runtime: RuntimeConfig::default(),
            sources: Vec::new(),
            transforms: Vec::new(),
            sinks: Vec::new(),
            services: Vec::new(),
            problems: Vec::new(),
            broken: Default::default(),
        };
        let mut broken = std::collections::BTreeSet::new();
        for (key, value) in root {
            let name = key.get_ref().as_ref();
            let section = [name.to_owned()];
            match name {
                "store" => {
                    config.store =
                        section_value(&file, &section, value, &mut diagnostics).unwrap_or_default()
                }
                "api" => config.api = section_value(&file, &section, value, &mut diagnostics),
                "plugins" => {
                    config.plugins =
                        section_value(&file, &section, value, &mut diagnostics).unwrap_or_default()
                }
                "runtime" => {
                    config.runtime =
                        section_value(&file, &section, value, &mut diagnostics).unwrap_or_default()
                }
                "sources" => {
                    config.sources = components(
                        &file,
                        name,
                        value,
                        Inputs::Refused,
                        &mut diagnostics,
                        &mut broken,
                    )
                }
                "transforms" => {
                    config.transforms = components(
                        &file,
                        name,
                        value,
                        Inputs::Required,
                        &mut diagnostics,
                        &mut broken,
                    )
                }
                "sinks" => {
                    config.sinks = components(
                        &file,
                        name,
                        value,
                        Inputs::Required,
                        &mut diagnostics,
                        &mut broken,
                    )
                }
                // Whether a service takes `inputs` depends on its type: the graph checks it.
                "services" => {
                    config.services = components(
                        &file,
                        name,
                        value,
                        Inputs::Optional,
                        &mut diagnostics,
                        &mut broken,
                    )
                }
                other => diagnostics.push(file.diagnostic_at(
                    Severity::Error,
                    key.span(),
                    &section,
                    "config.unknown_key",
                    &format!(
                        "unknown section `{other}`, expected one of: {}",
                        SECTIONS.join(", ")
                    ),
                )),
            }
        }
        // A component with a variable that could not be expanded is not built either.
        for d in &diagnostics {
            let mut key = d.key.split('.');
            if let (Some("sources" | "transforms" | "sinks" | "services"), Some(name)) =
                (key.next(), key.next())
            {
                broken.insert(name.to_owned());
            }
        }
        config.problems = diagnostics;
        config.broken = broken;
        Ok(config)
    }
}

/// Records the span of every key and value under `table`.
fn index_keys(
    table: &DeTable<'_>,
    path: &mut Vec<String>,
    keys: &mut BTreeMap<Vec<String>, (Range<usize>, Range<usize>)>,
) {
    for (key, value) in table.iter() {
        path.push(key.get_ref().to_string());
        keys.insert(path.clone(), (key.span(), value.span()));
        match value.get_ref() {
            DeValue::Table(inner) => index_keys(inner, path, keys),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    keys.insert(path.clone(), (item.span(), item.span()));
                    if let DeValue::Table(inner) = item.get_ref() {
                        index_keys(inner, path, keys);
                    }
                    path.pop();
                }
            }
            _ => {}
        }
        path.pop();
    }
}

/// Expands `${VAR}` in every string value under `table`.
fn interpolate_table(
    table: &mut DeTable<'_>,
    path: &mut Vec<String>,
    env: &dyn Fn(&str) -> Option<String>,
    file: &mut PipelineFile,
    diagnostics: &mut Vec<ConfigDiagnostic>,
) {
    for (key, value) in table.iter_mut() {
        path.push(key.get_ref().to_string());
        interpolate_value(value, path, env, file, diagnostics);
        path.pop();
    }
}

fn interpolate_value(
    value: &mut Spanned<DeValue<'_>>,
    path: &mut Vec<String>,
    env: &dyn Fn(&str) -> Option<String>,
    file: &mut PipelineFile,
    diagnostics: &mut Vec<ConfigDiagnostic>,
) {
    let span = value.span();
    match value.get_mut() {
        DeValue::String(s) if s.contains('$') => match interpolate(s, env) {
            Ok((expanded, used)) => {
                file.substituted.extend(used);
                *s = expanded.into();
            }
            Err(errors) => {
                for e in errors {
                    // The string's span includes its quotes; point at the `${` when the
                    // text is written plainly, else at the string.
                    let start = file
                        .text
                        .get(span.clone())
                        .and_then(|raw| raw.find(&s[e.at.clone()]))
                        .map_or(span.start, |i| span.start + i);
                    diagnostics.push(file.diagnostic_at(
                        Severity::Error,
                        start..start + e.at.len(),
                        path,
                        e.code,
                        &e.message,
                    ));
                }
            }
        },
        DeValue::Table(inner) => interpolate_table(inner, path, env, file, diagnostics),
        DeValue::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                interpolate_value(item, path, env, file, diagnostics);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Deserializes a value, or records why not at the key the error points to.
fn section_value<T: serde::de::DeserializeOwned>(
    file: &PipelineFile,
    at: &[String],
    value: Spanned<DeValue<'_>>,
    diagnostics: &mut Vec<ConfigDiagnostic>,
) -> Option<T> {
    T::deserialize(ValueDeserializer::from(value))
        .map_err(|e| diagnostics.push(deserialize_error(file, at, &e)))
        .ok()
}

fn deserialize_error(file: &PipelineFile, at: &[String], e: &toml::de::Error) -> ConfigDiagnostic {
    let message = e.message();
    let code = if message.starts_with("unknown field") || message.starts_with("unknown variant") {
        "config.unknown_key"
    } else if message.starts_with("missing field") {
        "config.missing_key"
    } else {
        "config.invalid"
    };
    match e.span() {
        Some(span) => {
            let mut key = file.key_path_at(span.start);
            if !key.starts_with(at) {
                key = at.to_vec();
            }
            // A missing field is reported at its table; name the field too.
            if code == "config.missing_key"
                && let Some(field) = message.split('`').nth(1)
            {
                key.push(field.to_owned());
            }
            file.diagnostic_at(Severity::Error, span, &key, code, message)
        }
        None => file.diagnostic_at_key(Severity::Error, at, code, message),
    }
}

/// The configs of one section's components: their `type` names and how each is read.
pub trait ComponentConfig: Sized {
    const TYPES: &'static [&'static str];

    /// Reads a component of type `kind` from its table (without `type` and `inputs`).
    /// `Ok(None)`: no such type.
    fn read<'de, D: serde::Deserializer<'de>>(
        kind: &str,
        table: D,
    ) -> Result<Option<Self>, D::Error>;
}

macro_rules! component_config {
    ($($config:ty),*) => {$(
        impl ComponentConfig for $config {
            const TYPES: &'static [&'static str] = <$config>::TYPES;

            fn read<'de, D: serde::Deserializer<'de>>(kind: &str, table: D) -> Result<Option<Self>, D::Error> {
                <$config>::deserialize_kind(kind, table)
            }
        }
    )*};
}

component_config!(SourceConfig, TransformConfig, SinkConfig, ServiceConfig);

/// Whether a section's components name `inputs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inputs {
    Required,
    Optional,
    Refused,
}

/// Reads `[section.NAME]` tables: each one's `type`, its `inputs` as `inputs` says, and the
/// rest as the config of that type.
fn components<T: ComponentConfig>(
    file: &PipelineFile,
    section: &str,
    value: Spanned<DeValue<'_>>,
    inputs: Inputs,
    diagnostics: &mut Vec<ConfigDiagnostic>,
    broken: &mut std::collections::BTreeSet<String>,
) -> Vec<Component<T>> {
    let types = T::TYPES;
    let section_key = [section.to_owned()];
    let DeValue::Table(table) = value.into_inner() else {
        diagnostics.push(file.diagnostic_at_key(
            Severity::Error,
            &section_key,
            "config.invalid",
            &format!("`{section}` is a table of named components"),
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in table {
        let name_text = name.get_ref().to_string();
        let at = vec![section.to_owned(), name_text.clone()];
        if let Err(why) = check_component_name(&name_text) {
            diagnostics.push(file.diagnostic_at(
                Severity::Error,
                name.span(),
                &at,
                "config.bad_name",
                &why,
            ));
        }
        let span = value.span();
        // Until it is read whole, the component counts as broken.
        broken.insert(name_text.clone());
        let DeValue::Table(mut fields) = value.into_inner() else {
            diagnostics.push(file.diagnostic_at_key(
                Severity::Error,
                &at,
                "config.invalid",
                &format!("`{section}.{name_text}` must be a table"),
            ));
            continue;
        };
        let kind = match fields.remove("type").map(Spanned::into_inner) {
            Some(DeValue::String(kind)) => kind.to_string(),
            Some(_) => {
                let key = [at.clone(), vec!["type".into()]].concat();
                diagnostics.push(file.diagnostic_at_key(
                    Severity::Error,
                    &key,
                    "config.invalid",
                    "`type` is a string",
                ));
                continue;
            }
            None => {
                diagnostics.push(file.diagnostic_at_key(
                    Severity::Error,
                    &at,
                    "config.missing_key",
                    &format!("`type` is missing: one of {}", types.join(", ")),
                ));
                continue;
            }
        };
        let errors_before = diagnostics.len();
        let named_inputs = match fields.remove("inputs") {
            None if inputs == Inputs::Required => {
                diagnostics.push(file.diagnostic_at_key(
                    Severity::Error,
                    &at,
                    "config.missing_key",
                    "`inputs` is missing: the components this one takes documents from",
                ));
                Vec::new()
            }
            None => Vec::new(),
            Some(_) if inputs == Inputs::Refused => {
                let key = [at.clone(), vec!["inputs".into()]].concat();
                diagnostics.push(file.diagnostic_at_key(
                    Severity::Error,
                    &key,
                    "config.unknown_key",
                    &format!(
                        "a {} has no `inputs`: it takes documents from outside",
                        section.trim_end_matches('s')
                    ),
                ));
                Vec::new()
            }
            Some(inputs) => {
                let key = [at.clone(), vec!["inputs".into()]].concat();
                Vec::<Spanned<String>>::deserialize(ValueDeserializer::from(inputs))
                    .map_err(|e| diagnostics.push(deserialize_error(file, &key, &e)))
                    .unwrap_or_default()
            }
        };
        let de = ValueDeserializer::from(Spanned::new(span, DeValue::Table(fields)));
        match T::read(&kind, de) {
            Ok(Some(config)) => {
                if diagnostics.len() == errors_before {
                    broken.remove(&name_text);
                }
                out.push(Component {
                    name: name_text,
                    inputs: named_inputs,
                    config,
                });
            }
            Ok(None) => {
                let key = [at.clone(), vec!["type".into()]].concat();
                diagnostics.push(file.diagnostic_at_key(
                    Severity::Error,
                    &key,
                    "config.unknown_type",
                    &format!(
                        "no {} type `{kind}`: one of {}",
                        section.trim_end_matches('s'),
                        types.join(", ")
                    ),
                ));
            }
            Err(e) => diagnostics.push(deserialize_error(file, &at, &e)),
        }
    }
    out
}

/// Component names appear in `inputs`, metrics labels and file names: letters, digits, `_`
/// and `-`, and no `.` (which separates a component from its output).
fn check_component_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a component name: up to 64 ASCII letters, digits, `_` and `-`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let text = "a = 1\nb = \"é\" x";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, text.len()), (2, 10));
    }
}
