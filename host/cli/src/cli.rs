//! The `tradewire` command line.
//!
//! Exit status: 0 on success, 1 when the input was rejected (diagnostics on stderr),
//! 2 when an adapter failed (it panicked or broke the contract: `adapter.failed`) and for
//! usage or configuration errors. A bug in the host is reported, not a 101.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};
use tradewire_core::{Diagnostic, Diagnostics, Document, DocumentKind};
use tradewire_sdk::{AdapterInstance, CallError, Direction};

use tradewire_plugins::loader;
use tradewire_runtime::config::{ConfigReport, LogFormat};

use crate::pipeline;
use tradewire_plugins::registry::{LoadOptions, Registry};

/// Translate commerce protocols to and from Tradewire's canonical model.
#[derive(Debug, Parser)]
#[command(name = "tradewire", version, propagate_version = true)]
pub struct Cli {
    /// A directory (or library file) of adapter plugins to load; repeatable. The
    /// directories in TRADEWIRE_PLUGIN_PATH are loaded too.
    #[arg(long = "plugins", value_name = "DIR", global = true)]
    plugins: Vec<PathBuf>,
    /// How diagnostics (and listings) are printed.
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    format: Format,
    /// Load plugins in this process only, without first probing each in a child process.
    #[arg(long, global = true)]
    no_probe: bool,
    /// Leave out the adapters linked into this binary, so that libraries of the same
    /// names can be loaded in their place.
    #[arg(long, global = true)]
    no_builtins: bool,
    /// Refuse inputs larger than this many bytes before reading them whole.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20, global = true)]
    max_input: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the adapters: name, version, origin, and the messages each speaks.
    Adapters,
    /// Print the JSON Schema of a canonical document, or of an adapter's config; with
    /// neither, list what has one.
    Schema {
        /// A document: `order`, `order/v1`, `price-list`, ...
        document: Option<String>,
        /// The adapter whose config schema to print.
        #[arg(long, conflicts_with = "document")]
        adapter: Option<String>,
        /// The JSON Schema of a pipeline file, for editors.
        #[arg(long, conflicts_with_all = ["document", "adapter"])]
        pipeline: bool,
    },
    /// Check a pipeline file without starting anything: exit 0 when it can run, 2 when not.
    Validate { file: PathBuf },
    /// Print a pipeline's graph in Graphviz DOT (`tradewire graph p.toml | dot -Tsvg`).
    Graph { file: PathBuf },
    /// Run a pipeline until SIGTERM or SIGINT.
    Run { file: PathBuf },
    /// The dead letters: inputs refused and documents given up on.
    Dlq {
        /// The pipeline file, which names the store.
        #[arg(
            long,
            value_name = "FILE",
            default_value = "tradewire.toml",
            global = true
        )]
        config: PathBuf,
        #[command(subcommand)]
        command: pipeline::DlqCommand,
    },
    /// One document's story: received when and where, its key, what each sink got and
    /// every attempt; by document id or idempotency key.
    Trace {
        id_or_key: String,
        /// The pipeline file, which names the store.
        #[arg(long, value_name = "FILE", default_value = "tradewire.toml")]
        config: PathBuf,
    },
    /// Punchout sessions the `oci_gateway` services opened, for support staff (no token,
    /// no password).
    Sessions {
        /// The pipeline file, which names the store.
        #[arg(
            long,
            value_name = "FILE",
            default_value = "tradewire.toml",
            global = true
        )]
        config: PathBuf,
        #[command(subcommand)]
        command: pipeline::SessionsCommand,
    },
    /// Hash a password read from stdin (one line) for an `oci_gateway` account's
    /// `password_hash`.
    HashPassword,
    /// Protocol bytes (FILE or stdin) → canonical JSON on stdout, `contract` first.
    Decode {
        adapter: String,
        message: String,
        file: Option<PathBuf>,
        /// Adapter config, JSON or TOML.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// One line, as the document crosses the library boundary, instead of indented.
        #[arg(long)]
        compact: bool,
    },
    /// Canonical JSON (FILE or stdin) → protocol bytes on stdout.
    Encode {
        adapter: String,
        message: String,
        file: Option<PathBuf>,
        /// Adapter config, JSON or TOML.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Protocol A → canonical → protocol B, e.g. `convert econnecteur:order ois-orders:order`.
    Convert {
        /// ADAPTER:MESSAGE to decode with.
        from: String,
        /// ADAPTER:MESSAGE to encode with.
        to: String,
        file: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        from_config: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        to_config: Option<PathBuf>,
    },
    /// Load libraries and exit (used to probe libraries in a child process).
    #[command(name = loader::PROBE_SUBCOMMAND, hide = true)]
    ProbeLibrary {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Serve one library's adapter on stdin/stdout with the pipe protocol (an adapter in a
    /// child process).
    #[command(name = "__serve-library", hide = true)]
    ServeLibrary { path: PathBuf },
    /// Answer every request with 202 and do nothing else, on the runtime's own stack: the
    /// ceiling the end-to-end benchmark compares a pipeline with.
    #[command(name = "__bench-ceiling", hide = true)]
    BenchCeiling { address: std::net::SocketAddr },
}

/// Why a command did not succeed, and so the exit status.
pub(crate) enum Failure {
    /// The input was refused: exit 1.
    Rejected(Diagnostics),
    /// The adapter failed, whatever the input: exit 2. Not the input's fault, so not
    /// reported as a rejection.
    AdapterFailed(Diagnostics),
    /// Usage, configuration or environment: exit 2.
    Usage(Diagnostics),
    /// A pipeline file that cannot run, every problem located: exit 2.
    Pipeline(ConfigReport),
}

impl Failure {
    pub(crate) fn usage(code: &str, message: impl Into<String>) -> Self {
        Self::Usage(Diagnostic::error("", code, message).into())
    }
}

/// Runs the CLI on the process's arguments.
pub fn main() -> ExitCode {
    tradewire_plugins::memory::keep_freed_heap();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // `run` logs as its pipeline file says, once it has read it.
    if !matches!(cli.command, Command::Run { .. }) {
        init_logging(cli.format, LogFormat::Text, false);
    }
    // A bug must not end as a bare panic with status 101.
    match std::panic::catch_unwind(|| run(&cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(Failure::Rejected(d))) => {
            print_diagnostics(cli.format, &d);
            ExitCode::from(1)
        }
        Ok(Err(Failure::AdapterFailed(d) | Failure::Usage(d))) => {
            print_diagnostics(cli.format, &d);
            ExitCode::from(2)
        }
        Ok(Err(Failure::Pipeline(report))) => {
            pipeline::print_report(cli.format, &report, false);
            ExitCode::from(2)
        }
        Err(_) => {
            eprintln!("tradewire: internal error (see the log above); please report it");
            ExitCode::from(2)
        }
    }
}

/// Logs on stderr: JSON when asked by `--format json` or by the pipeline's `log_format`.
/// `timed`: a long-running process stamps its lines; a one-shot command need not.
pub(crate) fn init_logging(format: Format, log_format: LogFormat, timed: bool) {
    use tracing_subscriber::EnvFilter;
    // A long-running process says when it starts and stops; a one-shot command only warns.
    let default_level = if timed { "info" } else { "warn" };
    let filter =
        EnvFilter::try_from_env("TRADEWIRE_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal());
    let _ = match (format, log_format, timed) {
        (Format::Json, _, _) | (_, LogFormat::Json, _) => builder.json().try_init(),
        (Format::Text, LogFormat::Text, true) => builder.try_init(),
        (Format::Text, LogFormat::Text, false) => builder.without_time().try_init(),
    };
    // Panics in built-in adapters (caught by the SDK) and in the host go to the log, not
    // raw to stderr.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(%location, "panic: {message}");
    }));
}

fn run(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::ProbeLibrary { paths } => std::process::exit(loader::run_probe(paths)),
        Command::ServeLibrary { path } => return serve_library(path),
        Command::Schema { pipeline: true, .. } => {
            return write_stdout(&pretty_value(&tradewire_runtime::schema::pipeline_schema()));
        }
        Command::Validate { file } => {
            return pipeline::validate(file, &load_options(cli), cli.format);
        }
        Command::Graph { file } => return pipeline::graph(file, &load_options(cli)),
        Command::Run { file } => return pipeline::run(file, &load_options(cli), cli.format),
        Command::BenchCeiling { address } => return pipeline::bench_ceiling(*address),
        Command::Dlq { config, command } => {
            return pipeline::dlq(config, command, &load_options(cli), cli.format);
        }
        Command::Trace { id_or_key, config } => {
            return pipeline::trace(config, id_or_key, cli.format);
        }
        Command::Sessions { config, command } => {
            return pipeline::sessions(config, command, cli.format);
        }
        Command::HashPassword => return hash_password(),
        _ => {}
    }
    let registry = load_registry(cli);
    match &cli.command {
        Command::Adapters => list_adapters(&registry, cli.format),
        Command::Schema {
            document, adapter, ..
        } => print_schema(&registry, document.as_deref(), adapter.as_deref()),
        Command::Decode {
            adapter,
            message,
            file,
            config,
            compact,
        } => {
            let instance = instantiate(&registry, adapter, config.as_deref())?;
            check_message(&instance, message, Direction::Decode)?;
            let input = read_input(file.as_deref(), cli.max_input)?;
            let document = decode(&instance, message, &input, cli.format)?;
            write_stdout(&document_json(&document, *compact))
        }
        Command::Encode {
            adapter,
            message,
            file,
            config,
        } => {
            let instance = instantiate(&registry, adapter, config.as_deref())?;
            check_message(&instance, message, Direction::Encode)?;
            let input = read_input(file.as_deref(), cli.max_input)?;
            let bytes = encode(&instance, message, &input, cli.format)?;
            write_stdout(&bytes)
        }
        Command::Convert {
            from,
            to,
            file,
            from_config,
            to_config,
        } => {
            let (from_adapter, from_message) = split_endpoint(from)?;
            let (to_adapter, to_message) = split_endpoint(to)?;
            let source = instantiate(&registry, from_adapter, from_config.as_deref())?;
            let target = instantiate(&registry, to_adapter, to_config.as_deref())?;
            check_message(&source, from_message, Direction::Decode)?;
            check_message(&target, to_message, Direction::Encode)?;
            let input = read_input(file.as_deref(), cli.max_input)?;
            let document = decode(&source, from_message, &input, cli.format)?;
            let bytes = encode_checked(&target, to_message, &document, cli.format)?;
            write_stdout(&bytes)
        }
        Command::ProbeLibrary { .. }
        | Command::ServeLibrary { .. }
        | Command::Validate { .. }
        | Command::Graph { .. }
        | Command::Run { .. }
        | Command::BenchCeiling { .. }
        | Command::Dlq { .. }
        | Command::Trace { .. }
        | Command::Sessions { .. }
        | Command::HashPassword => Ok(()),
    }
}

/// `tradewire hash-password`: the first line of stdin, without its line break, hashed.
fn hash_password() -> Result<(), Failure> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::usage("input.unreadable", format!("cannot read stdin: {e}")))?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(Failure::usage(
            "input.empty",
            "write the password on stdin: `tradewire hash-password < file` or type it and press Enter",
        ));
    }
    let hash = tradewire_runtime::services::oci_gateway::hash_password(password)
        .map_err(|e| Failure::usage("hash.failed", e))?;
    write_stdout(format!("{hash}\n").as_bytes())
}

fn serve_library(path: &Path) -> Result<(), Failure> {
    let module =
        loader::load(path).map_err(|e| Failure::usage("host.library_refused", e.to_string()))?;
    let (mut stdin, mut stdout) = (io::stdin().lock(), io::stdout().lock());
    tradewire_sdk::pipe::serve(&module, &mut stdin, &mut stdout).map_err(|e| {
        Failure::usage(
            "host.pipe_failed",
            format!("the pipe to the host failed: {e}"),
        )
    })
}

/// Where a pipeline's adapters come from besides its own `[plugins]`: the global options.
fn load_options(cli: &Cli) -> tradewire_runtime::LoadOptions {
    tradewire_runtime::LoadOptions {
        plugins: plugin_paths(cli),
        probe_with: if cli.no_probe {
            None
        } else {
            std::env::current_exe().ok()
        },
        no_builtins: cli.no_builtins,
    }
}

fn plugin_paths(cli: &Cli) -> Vec<PathBuf> {
    let mut paths = cli.plugins.clone();
    if let Some(env) = std::env::var_os("TRADEWIRE_PLUGIN_PATH") {
        paths.extend(std::env::split_paths(&env).filter(|p| !p.as_os_str().is_empty()));
    }
    paths
}

fn load_registry(cli: &Cli) -> Registry {
    let mut registry = if cli.no_builtins {
        Registry::empty()
    } else {
        Registry::with_builtins()
    };
    let paths = plugin_paths(cli);
    let probe_with = if cli.no_probe {
        None
    } else {
        std::env::current_exe().ok()
    };
    registry.load_plugins(&paths, &LoadOptions { probe_with });
    registry
}

fn instantiate(
    registry: &Registry,
    adapter: &str,
    config: Option<&Path>,
) -> Result<AdapterInstance, Failure> {
    let config = match config {
        Some(path) => read_config(path)?,
        None => json!({}),
    };
    registry
        .instantiate(adapter, &config)
        .map_err(Failure::Usage)
}

fn read_config(path: &Path) -> Result<Value, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::usage(
            "config.unreadable",
            format!("cannot read config {}: {e}", path.display()),
        )
    })?;
    let is_toml = path.extension().is_some_and(|e| e == "toml");
    let parsed = if is_toml {
        toml::from_str::<Value>(&text).map_err(|e| e.to_string())
    } else {
        serde_json::from_str::<Value>(&text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| Failure::usage("config.syntax", format!("{}: {e}", path.display())))
}

fn check_message(
    instance: &AdapterInstance,
    message: &str,
    direction: Direction,
) -> Result<(), Failure> {
    let manifest = instance.manifest();
    match manifest.message(message) {
        Some(spec) if spec.supports(direction) => Ok(()),
        Some(_) => Err(Failure::usage(
            "host.direction_unsupported",
            format!(
                "adapter `{}` cannot {direction} message `{message}`",
                manifest.name
            ),
        )),
        None => {
            let names: Vec<_> = manifest.messages.iter().map(|m| m.name.as_str()).collect();
            Err(Failure::usage(
                "host.unknown_message",
                format!(
                    "adapter `{}` has no message `{message}` (it has: {})",
                    manifest.name,
                    names.join(", ")
                ),
            ))
        }
    }
}

fn split_endpoint(endpoint: &str) -> Result<(&str, &str), Failure> {
    endpoint
        .split_once(':')
        .filter(|(a, m)| !a.is_empty() && !m.is_empty())
        .ok_or_else(|| {
            Failure::usage(
                "host.bad_endpoint",
                format!("`{endpoint}` is not ADAPTER:MESSAGE"),
            )
        })
}

fn read_input(file: Option<&Path>, limit: u64) -> Result<Vec<u8>, Failure> {
    let too_large = |name: &str| {
        Failure::Rejected(
            Diagnostic::error(
                "",
                "host.input_too_large",
                format!("{name} is larger than the limit of {limit} bytes (--max-input)"),
            )
            .into(),
        )
    };
    let mut input = Vec::new();
    let (reader, name): (Box<dyn Read>, String) = match file {
        Some(path) => {
            let f = std::fs::File::open(path).map_err(|e| {
                Failure::usage(
                    "host.input_unreadable",
                    format!("cannot open {}: {e}", path.display()),
                )
            })?;
            let name = path.display().to_string();
            // A file's size is known: one that is too large is refused unread, and one
            // that is not is read into a buffer of its size rather than a doubling one.
            if let Ok(metadata) = f.metadata()
                && metadata.is_file()
            {
                if metadata.len() > limit {
                    return Err(too_large(&name));
                }
                input.reserve_exact(usize::try_from(metadata.len()).unwrap_or(0));
            }
            (Box::new(f), name)
        }
        None => (Box::new(io::stdin().lock()), "standard input".to_owned()),
    };
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut input)
        .map_err(|e| Failure::usage("host.input_unreadable", format!("cannot read {name}: {e}")))?;
    if input.len() as u64 > limit {
        return Err(too_large(&name));
    }
    Ok(input)
}

/// Decodes and checks the result against the canonical model's rules.
fn decode(
    instance: &AdapterInstance,
    message: &str,
    input: &[u8],
    format: Format,
) -> Result<Document, Failure> {
    let reply = instance.decode(message, input).map_err(call_failure)?;
    print_warnings(format, &reply.warnings);
    let expected = instance.manifest().message(message).map(|m| m.document);
    let document = Document::from_json(&reply.bytes, expected).map_err(|d| {
        let mut out = Diagnostics::new();
        out.error(
            "",
            "adapter.failed",
            "the adapter broke the contract: it returned a document that is not canonical JSON",
        );
        out.extend(d);
        Failure::AdapterFailed(out)
    })?;
    let checked = document.validate();
    if checked.has_errors() {
        return Err(Failure::Rejected(checked));
    }
    print_warnings(format, &checked);
    Ok(document)
}

fn encode(
    instance: &AdapterInstance,
    message: &str,
    canonical: &[u8],
    format: Format,
) -> Result<Vec<u8>, Failure> {
    let expected = instance.manifest().message(message).map(|m| m.document);
    let document = Document::from_json(canonical, expected).map_err(Failure::Rejected)?;
    let checked = document.validate();
    if checked.has_errors() {
        return Err(Failure::Rejected(checked));
    }
    print_warnings(format, &checked);
    let reply = instance.encode(message, canonical).map_err(call_failure)?;
    print_warnings(format, &reply.warnings);
    Ok(reply.bytes)
}

/// [`encode`] of a document [`decode`] just read and checked: serialised once and passed
/// on, not parsed and validated a second time.
fn encode_checked(
    instance: &AdapterInstance,
    message: &str,
    document: &Document,
    format: Format,
) -> Result<Vec<u8>, Failure> {
    let expected = instance.manifest().message(message).map(|m| m.document);
    document
        .kind()
        .check_against(expected)
        .map_err(Failure::Rejected)?;
    let reply = instance
        .encode(message, &document.to_json())
        .map_err(call_failure)?;
    print_warnings(format, &reply.warnings);
    Ok(reply.bytes)
}

fn call_failure(error: CallError) -> Failure {
    match error {
        CallError::Rejected(d) => Failure::Rejected(d),
        CallError::Failed(d) => Failure::AdapterFailed(d),
        // The CLI makes only the calls every library has.
        CallError::Unsupported(d) => Failure::Usage(d),
    }
}

fn list_adapters(registry: &Registry, format: Format) -> Result<(), Failure> {
    match format {
        Format::Json => {
            let adapters: Vec<Value> = registry
                .entries()
                .iter()
                .map(|e| {
                    let m = e.manifest();
                    json!({
                        "name": m.name,
                        "version": m.version,
                        "vendor": m.vendor,
                        "origin": e.origin.to_string(),
                        "abi": m.abi.to_string(),
                        "messages": m.messages,
                    })
                })
                .collect();
            let refused: Vec<Value> = registry
                .refused()
                .iter()
                .map(|r| json!({ "path": r.path.display().to_string(), "reason": r.reason }))
                .collect();
            write_stdout(&pretty_value(
                &json!({ "adapters": adapters, "refused": refused }),
            ))
        }
        Format::Text => {
            let mut out = String::new();
            if registry.entries().is_empty() {
                out.push_str("no adapters loaded\n");
            }
            for entry in registry.entries() {
                let m = entry.manifest();
                out.push_str(&format!("{} {} ({})\n", m.name, m.version, entry.origin));
                for spec in &m.messages {
                    let directions = match (spec.decodes, spec.encodes) {
                        (true, true) => "decode, encode",
                        (true, false) => "decode",
                        (false, true) => "encode",
                        (false, false) => "-",
                    };
                    out.push_str(&format!(
                        "  {:<18} {:<16} {}\n",
                        spec.name, directions, spec.document
                    ));
                }
            }
            for refused in registry.refused() {
                out.push_str(&format!(
                    "refused {}: {}\n",
                    refused.path.display(),
                    refused.reason
                ));
            }
            write_stdout(out.as_bytes())
        }
    }
}

fn print_schema(
    registry: &Registry,
    document: Option<&str>,
    adapter: Option<&str>,
) -> Result<(), Failure> {
    if let Some(name) = adapter {
        let entry = registry.get(name).ok_or_else(|| {
            Failure::usage("host.unknown_adapter", format!("no adapter named `{name}`"))
        })?;
        return write_stdout(&pretty_value(&entry.manifest().config_schema));
    }
    let Some(document) = document else {
        let mut out = String::from("canonical documents:\n");
        for kind in DocumentKind::ALL {
            out.push_str(&format!("  {}\n", kind.contract_id()));
        }
        out.push_str("adapter configs (tradewire schema --adapter NAME):\n");
        for entry in registry.entries() {
            out.push_str(&format!("  {}\n", entry.manifest().name));
        }
        return write_stdout(out.as_bytes());
    };
    let kind = DocumentKind::ALL
        .iter()
        .find(|k| {
            k.contract_id() == document || k.contract_id().split('/').next() == Some(document)
        })
        .ok_or_else(|| {
            Failure::usage(
                "host.unknown_document",
                tradewire_core::UnknownContract(document.to_owned()).to_string(),
            )
        })?;
    write_stdout(&pretty_value(&kind.json_schema()))
}

/// The document's own serialisation, `contract` first and its fields in their order:
/// [`Document::to_json`], or the same indented.
fn document_json(document: &Document, compact: bool) -> Vec<u8> {
    let mut bytes = if compact {
        document.to_json()
    } else {
        // Cannot fail, as `Document::write_json` says.
        serde_json::to_vec_pretty(document).unwrap_or_default()
    };
    bytes.push(b'\n');
    bytes
}

fn pretty_value(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        // A closed pipe (`tradewire ... | head`) is the reader's choice, not an error.
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Failure::usage(
            "host.output_failed",
            format!("cannot write to standard output: {e}"),
        )),
        _ => Ok(()),
    }
}

fn print_warnings(format: Format, warnings: &Diagnostics) {
    if !warnings.is_empty() {
        print_diagnostics(format, warnings);
    }
}

fn print_diagnostics(format: Format, diagnostics: &Diagnostics) {
    let text = match format {
        Format::Text => format!("{diagnostics}\n"),
        Format::Json => format!(
            "{}\n",
            serde_json::to_string(diagnostics).unwrap_or_default()
        ),
    };
    let _ = io::stderr().write_all(text.as_bytes());
}
