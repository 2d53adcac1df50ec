//! The pipeline built: every component made from its config, and the graph that joins them
//! checked (every input names an output that exists, no cycle, nothing fed that feeds
//! nothing). Building starts nothing; running is [`crate::run`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::Value;
use tradewire_core::{Diagnostic, Diagnostics, DocumentKind};
use tradewire_sdk::Direction;

use crate::adapter::BoundAdapter;
use crate::config::{ConfigDiagnostic, ConfigReport, PipelineConfig, Severity};
use crate::econnecteur_client::ShopClient;
use crate::ingest::Origin;
use crate::secrets;
use crate::services::{Service, ServiceConfig};
use crate::sinks::{Sink, SinkConfig};
use crate::sources::SourceConfig;
use crate::transforms::{Routed, Transform};
use crate::{BuildContext, ConfigError};

/// An output of a component, as `inputs` name it: `carts`, `by_country.nl`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutputRef {
    pub component: String,
    pub output: Option<String>,
}

impl OutputRef {
    /// A component's documents, or one of its named outputs.
    pub fn new(component: &str, output: Option<&str>) -> Self {
        Self {
            component: component.to_owned(),
            output: output.map(str::to_owned),
        }
    }

    fn parse(text: &str) -> Self {
        match text.split_once('.') {
            Some((component, output)) => Self {
                component: component.to_owned(),
                output: Some(output.to_owned()),
            },
            None => Self {
                component: text.to_owned(),
                output: None,
            },
        }
    }
}

impl std::fmt::Display for OutputRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.output {
            Some(output) => write!(f, "{}.{output}", self.component),
            None => f.write_str(&self.component),
        }
    }
}

/// A source built: its config, and where its inputs come in with their adapters bound.
#[derive(Debug)]
pub struct BuiltSource {
    pub name: String,
    pub config: SourceConfig,
    pub origin: Arc<Origin>,
    /// The webservice a polling source calls (`econnecteur_poll`).
    pub shop: Option<Arc<ShopClient>>,
}

/// A service built, ready to serve.
#[derive(Debug)]
pub struct BuiltService {
    pub name: String,
    pub config: ServiceConfig,
    pub service: Arc<dyn Service>,
}

#[derive(Debug)]
pub struct BuiltSink {
    pub name: String,
    pub config: SinkConfig,
    pub sink: Arc<dyn Sink>,
}

/// Where a component's documents go next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Consumer {
    Transform(String),
    Sink(String),
}

/// A pipeline ready to run.
#[derive(Debug)]
pub struct Pipeline {
    pub config: PipelineConfig,
    pub sources: Vec<BuiltSource>,
    pub services: Vec<BuiltService>,
    pub sinks: Vec<BuiltSink>,
    transforms: HashMap<String, Arc<dyn Transform>>,
    consumers: HashMap<OutputRef, Vec<Consumer>>,
    /// Each component's inputs, for `graph`.
    edges: Vec<(OutputRef, String)>,
    /// Warnings found while building: the pipeline runs, but someone should look.
    pub warnings: ConfigReport,
}

/// How many transforms one document may pass through: a bound on the work a document can
/// cause, far above any real pipeline, reached only by a fan-out that multiplies documents.
const MAX_ROUTED: usize = 10_000;

impl Pipeline {
    /// Builds every component and checks the graph; every problem is reported.
    pub fn build(mut config: PipelineConfig, cx: &BuildContext<'_>) -> Result<Self, ConfigReport> {
        let mut diagnostics: Vec<ConfigDiagnostic> = std::mem::take(&mut config.problems);
        let file = &config.file;
        let broken = &config.broken;
        let error_at = |key: &[&str], code: &str, message: String| {
            let key: Vec<String> = key.iter().map(|&s| s.to_owned()).collect();
            file.diagnostic_at_key(Severity::Error, &key, code, &message)
        };

        // Names are one namespace: `inputs` name components whatever their kind.
        let mut kinds: BTreeMap<&str, &str> = BTreeMap::new();
        let named = config
            .sources
            .iter()
            .map(|c| ("sources", c.name.as_str()))
            .chain(
                config
                    .transforms
                    .iter()
                    .map(|c| ("transforms", c.name.as_str())),
            )
            .chain(config.sinks.iter().map(|c| ("sinks", c.name.as_str())))
            .chain(
                config
                    .services
                    .iter()
                    .map(|c| ("services", c.name.as_str())),
            );
        for (section, name) in named {
            if let Some(first) = kinds.insert(name, section) {
                diagnostics.push(error_at(
                    &[section, name],
                    "config.duplicate_name",
                    format!("`{name}` is also the name of one of the {first}: names are shared by all components"),
                ));
            }
        }
        // A component that could not be read may be the source: not reported twice.
        if config.sources.is_empty() && config.services.is_empty() && broken.is_empty() {
            diagnostics.push(error_at(
                &["sources"],
                "config.no_sources",
                "a pipeline needs at least one source or service".into(),
            ));
        }
        let service_takes = |name: &str| {
            config
                .services
                .iter()
                .any(|c| c.name == name && c.config.takes_inputs())
        };
        // A service that takes inputs is where they go: it stands for a sink.
        let delivered_to_a_service = config
            .services
            .iter()
            .any(|c| c.config.takes_inputs() && !c.inputs.is_empty());
        if config.sinks.is_empty() && !delivered_to_a_service {
            diagnostics.push(error_at(
                &["sinks"],
                "config.no_sinks",
                "a pipeline needs at least one sink".into(),
            ));
        }

        let mut sources = Vec::new();
        for c in config.sources.iter().filter(|c| !broken.contains(&c.name)) {
            let at = ["sources", c.name.as_str()];
            match build_source(&c.config, cx) {
                Ok((decode, reply, shop)) => sources.push(BuiltSource {
                    name: c.name.clone(),
                    config: c.config.clone(),
                    origin: Arc::new(Origin {
                        name: c.name.clone(),
                        output: OutputRef::new(&c.name, None),
                        blank_secrets: secrets::blanking_for(decode.as_ref()),
                        decode,
                        reply,
                    }),
                    shop,
                }),
                Err(errors) => diagnostics.extend(file.build_errors(&at, errors)),
            }
        }
        diagnostics.extend(shared_addresses(&config));
        let mut services = Vec::new();
        for c in config.services.iter().filter(|c| !broken.contains(&c.name)) {
            match c.config.build(&c.name, cx) {
                Ok(service) => services.push(BuiltService {
                    name: c.name.clone(),
                    config: c.config.clone(),
                    service,
                }),
                Err(errors) => {
                    diagnostics.extend(file.build_errors(&["services", &c.name], errors))
                }
            }
        }
        let mut transforms: HashMap<String, Arc<dyn Transform>> = HashMap::new();
        for c in config
            .transforms
            .iter()
            .filter(|c| !broken.contains(&c.name))
        {
            match c.config.build(cx) {
                Ok(t) => {
                    transforms.insert(c.name.clone(), Arc::from(t));
                }
                Err(errors) => {
                    diagnostics.extend(file.build_errors(&["transforms", &c.name], errors))
                }
            }
        }
        let mut sinks = Vec::new();
        for c in config.sinks.iter().filter(|c| !broken.contains(&c.name)) {
            match c.config.build(cx) {
                Ok(sink) => sinks.push(BuiltSink {
                    name: c.name.clone(),
                    config: c.config.clone(),
                    sink,
                }),
                Err(errors) => diagnostics.extend(file.build_errors(&["sinks", &c.name], errors)),
            }
        }

        // The outputs each component offers. A transform that failed to build offers
        // whatever is named, so that its consumers are not reported a second time.
        let failed: BTreeSet<&str> = config
            .transforms
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| !transforms.contains_key(*n))
            .chain(
                config
                    .services
                    .iter()
                    .map(|c| c.name.as_str())
                    .filter(|n| !services.iter().any(|s| s.name == *n)),
            )
            .chain(broken.iter().map(String::as_str))
            .collect();
        let mut outputs: BTreeMap<OutputRef, bool> = BTreeMap::new();
        for c in &config.sources {
            outputs.insert(
                OutputRef {
                    component: c.name.clone(),
                    output: None,
                },
                false,
            );
        }
        for s in &services {
            for output in s.config.outputs() {
                outputs.insert(OutputRef::new(&s.name, Some(output)), false);
            }
        }
        for (name, t) in &transforms {
            for output in t.outputs() {
                outputs.insert(
                    OutputRef {
                        component: name.clone(),
                        output,
                    },
                    false,
                );
            }
        }

        let mut consumers: HashMap<OutputRef, Vec<Consumer>> = HashMap::new();
        let mut edges = Vec::new();
        let inputs = config
            .transforms
            .iter()
            .map(|c| ("transforms", &c.name, &c.inputs))
            .chain(config.sinks.iter().map(|c| ("sinks", &c.name, &c.inputs)))
            .chain(
                config
                    .services
                    .iter()
                    .map(|c| ("services", &c.name, &c.inputs)),
            );
        for (section, name, inputs) in inputs {
            if section == "services" {
                if !inputs.is_empty() && !service_takes(name) {
                    diagnostics.push(error_at(
                        &[section, name, "inputs"],
                        "config.unknown_key",
                        "this service takes no `inputs`: it takes documents from outside".into(),
                    ));
                    continue;
                }
            } else if inputs.is_empty() {
                diagnostics.push(error_at(
                    &[section, name, "inputs"],
                    "config.no_inputs",
                    "`inputs` is empty: name the components this one takes documents from".into(),
                ));
            }
            for (i, input) in inputs.iter().enumerate() {
                let reference = OutputRef::parse(input.get_ref());
                let key = [
                    section.to_owned(),
                    name.clone(),
                    "inputs".into(),
                    i.to_string(),
                ];
                let problem = if section == "services" && reference.component == *name {
                    Some(format!(
                        "`{name}` cannot take its own outputs: what it emits would come back to it"
                    ))
                } else if failed.contains(reference.component.as_str()) {
                    None
                } else if let Some(used) = outputs.get_mut(&reference) {
                    *used = true;
                    None
                } else {
                    Some(dangling(&reference, &kinds, &outputs))
                };
                match problem {
                    Some(message) => diagnostics.push(file.diagnostic_at(
                        Severity::Error,
                        input.span(),
                        &key,
                        "config.dangling_input",
                        &message,
                    )),
                    None => {
                        // A service that takes inputs is delivered to as a sink is.
                        let consumer = if section != "transforms" {
                            Consumer::Sink(name.clone())
                        } else {
                            Consumer::Transform(name.clone())
                        };
                        consumers
                            .entry(reference.clone())
                            .or_default()
                            .push(consumer);
                        edges.push((reference, name.clone()));
                    }
                }
            }
        }

        if let Some(cycle) = find_cycle(
            &config
                .transforms
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        c.inputs
                            .iter()
                            .map(|i| OutputRef::parse(i.get_ref()).component)
                            .collect(),
                    )
                })
                .collect(),
        ) {
            diagnostics.push(error_at(
                &["transforms", &cycle[0], "inputs"],
                "config.cycle",
                format!("the transforms form a cycle: {}", cycle.join(" → ")),
            ));
        }

        // Whatever a component takes must go somewhere.
        let mut warnings = Vec::new();
        let mut fed: BTreeMap<&str, bool> = BTreeMap::new();
        for (reference, used) in &outputs {
            *fed.entry(reference.component.as_str()).or_default() |= *used;
            if !used && reference.output.is_some() {
                let section = kinds
                    .get(reference.component.as_str())
                    .copied()
                    .unwrap_or("transforms");
                let message = if service_takes(&reference.component) {
                    format!(
                        "nothing takes `{reference}`: what would go there stays with the service"
                    )
                } else {
                    format!(
                        "nothing takes `{reference}`: documents sent there reach no sink and are refused"
                    )
                };
                warnings.push(file.diagnostic_at_key(
                    Severity::Warning,
                    &[section.to_owned(), reference.component.clone()],
                    "config.unused_output",
                    &message,
                ));
            }
        }
        for (component, used) in fed {
            // With a component unread, its inputs are unknown: nothing can be called unused.
            // A service that takes inputs keeps what it is sent: it needs no consumer.
            if !used
                && broken.is_empty()
                && !failed.contains(component)
                && !service_takes(component)
            {
                let section = kinds.get(component).copied().unwrap_or("transforms");
                diagnostics.push(error_at(
                    &[section, component],
                    "config.unused_component",
                    format!(
                        "nothing takes `{component}`'s documents as input: they would reach no sink"
                    ),
                ));
            }
        }

        if !diagnostics.is_empty() {
            diagnostics.extend(warnings);
            return Err(ConfigReport(diagnostics));
        }
        Ok(Self {
            config,
            sources,
            services,
            sinks,
            transforms,
            consumers,
            edges,
            warnings: ConfigReport(warnings),
        })
    }

    /// Whether some component takes `output` as input.
    pub fn takes(&self, output: &OutputRef) -> bool {
        self.consumers.get(output).is_some_and(|c| !c.is_empty())
    }

    /// Runs `document`, taken by a source or emitted on a service's output (`from`), through
    /// the transforms: the documents each sink is to receive (a sink reached twice with the
    /// same document receives it once). Refused when a transform refuses, or when the
    /// document reaches no sink.
    pub fn route(
        &self,
        from: &OutputRef,
        document: Value,
    ) -> Result<Vec<(String, Value)>, Diagnostics> {
        let mut delivered: Vec<(String, Value)> = Vec::new();
        let mut pending = vec![(from.clone(), document)];
        let mut steps = 0;
        while let Some((from, document)) = pending.pop() {
            let Some(consumers) = self.consumers.get(&from) else {
                continue;
            };
            let mut document = Some(document);
            for (index, consumer) in consumers.iter().enumerate() {
                // The last consumer takes the document; only those before it need a copy.
                let document = if index + 1 == consumers.len() {
                    document.take()
                } else {
                    document.clone()
                };
                let Some(document) = document else { continue };
                match consumer {
                    Consumer::Sink(sink) => {
                        if !delivered.iter().any(|(s, d)| s == sink && d == &document) {
                            delivered.push((sink.clone(), document));
                        }
                    }
                    Consumer::Transform(name) => {
                        steps += 1;
                        if steps > MAX_ROUTED {
                            return Err(Diagnostic::error(
                                "",
                                "pipeline.too_many_documents",
                                format!("one input made more than {MAX_ROUTED} transform runs"),
                            )
                            .into());
                        }
                        let Some(transform) = self.transforms.get(name) else {
                            continue;
                        };
                        let out = transform.apply(document).map_err(|d| {
                            let mut all = Diagnostics::new();
                            all.extend(d.into_iter().map(|mut d| {
                                d.message = format!("transform `{name}`: {}", d.message);
                                d
                            }));
                            all
                        })?;
                        for Routed { output, document } in out {
                            pending.push((
                                OutputRef {
                                    component: name.clone(),
                                    output,
                                },
                                document,
                            ));
                        }
                    }
                }
            }
        }
        if delivered.is_empty() {
            return Err(Diagnostic::error(
                "",
                "pipeline.unrouted",
                "the document reached no sink (no route took it); it is kept, not acknowledged",
            )
            .into());
        }
        Ok(delivered)
    }

    /// The graph in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        let mut dot = String::from("digraph pipeline {\n  rankdir=LR;\n");
        let node = |dot: &mut String, name: &str, shape: &str, label: String| {
            // Component names are letters, digits, `_` and `-`: nothing to escape.
            let _ = writeln!(dot, "  \"{name}\" [shape={shape}, label=\"{label}\"];");
        };
        for s in &self.config.sources {
            node(
                &mut dot,
                &s.name,
                "invhouse",
                format!("{}\\n({})", s.name, source_kind(&s.config)),
            );
        }
        for s in &self.config.services {
            node(
                &mut dot,
                &s.name,
                "component",
                format!("{}\\n({})", s.name, s.config.kind()),
            );
        }
        for t in &self.config.transforms {
            node(&mut dot, &t.name, "box", t.name.clone());
        }
        for s in &self.config.sinks {
            node(&mut dot, &s.name, "house", s.name.clone());
        }
        for (from, to) in &self.edges {
            match &from.output {
                Some(output) => {
                    let _ = writeln!(
                        dot,
                        "  {:?} -> {:?} [label={:?}];",
                        from.component, to, output
                    );
                }
                None => {
                    let _ = writeln!(dot, "  {:?} -> {:?};", from.component, to);
                }
            }
        }
        dot.push_str("}\n");
        dot
    }
}

fn source_kind(config: &SourceConfig) -> &'static str {
    match config {
        SourceConfig::Http(_) => "http",
        SourceConfig::File(_) => "file",
        SourceConfig::EconnecteurPoll(_) => "econnecteur_poll",
    }
}

/// A source's adapters (decode, reply) and the webservice it polls, if any.
type SourceParts = (
    Option<BoundAdapter>,
    Option<BoundAdapter>,
    Option<Arc<ShopClient>>,
);

fn build_source(
    config: &SourceConfig,
    cx: &BuildContext<'_>,
) -> Result<SourceParts, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let decode = config
        .bind_decode(cx)
        .map_err(|e| errors.extend(e))
        .ok()
        .flatten();
    let mut reply = None;
    let mut shop = None;
    match config {
        SourceConfig::Http(http) => {
            if !http.path.starts_with('/') {
                errors.push(ConfigError::new(
                    &["path"],
                    "a request path starts with `/`",
                ));
            }
            if let Some(r) = &http.reply {
                match r.bind(Direction::Encode, cx) {
                    Ok(bound) if bound.document != DocumentKind::Acknowledgement => errors.push(ConfigError::new(
                        &["reply", "message"],
                        format!(
                            "a reply encodes an `acknowledgement`; `{}` message `{}` encodes `{}`",
                            r.adapter,
                            r.message,
                            bound.document.contract_id()
                        ),
                    )),
                    Ok(bound) => reply = Some(bound),
                    Err(e) => errors.extend(e.into_iter().map(|e| e.under("reply"))),
                }
            }
        }
        SourceConfig::File(file) => {
            if let Err(e) = glob::Pattern::new(&file.pattern) {
                errors.push(ConfigError::new(
                    &["pattern"],
                    format!("not a glob pattern: {e}"),
                ));
            }
        }
        SourceConfig::EconnecteurPoll(poll) => match poll.build(cx) {
            Ok(client) => shop = Some(Arc::new(client)),
            Err(more) => {
                // The adapter's config was checked (and reported) with `decode`.
                let config_reported = decode.is_none();
                errors.extend(more.into_iter().filter(|e| {
                    !(config_reported && e.path.first().is_some_and(|p| p == "config"))
                }));
            }
        },
    }
    if errors.is_empty() {
        Ok((decode, reply, shop))
    } else {
        Err(errors)
    }
}

/// A service or the API on an address another listener uses: one of them could not start.
/// (`http` sources share an address: each takes its own path.)
fn shared_addresses(config: &PipelineConfig) -> Vec<ConfigDiagnostic> {
    // (address, key, whether it shares its address with other `http` sources)
    let mut listeners: Vec<(std::net::SocketAddr, Vec<String>, bool)> = Vec::new();
    for c in &config.sources {
        if let SourceConfig::Http(http) = &c.config {
            let key = ["sources", &c.name, "address"].map(str::to_owned).to_vec();
            listeners.push((http.address, key, true));
        }
    }
    for c in &config.services {
        let key = ["services", &c.name, "address"].map(str::to_owned).to_vec();
        listeners.push((c.config.address(), key, false));
    }
    if let Some(api) = &config.api {
        listeners.push((
            api.address,
            vec!["api".to_owned(), "address".to_owned()],
            false,
        ));
    }
    let mut diagnostics = Vec::new();
    for (i, (address, key, shares)) in listeners.iter().enumerate() {
        let earlier = listeners[..i]
            .iter()
            .find(|(other, _, other_shares)| other == address && !(*shares && *other_shares));
        if let Some((_, other, _)) = earlier {
            diagnostics.push(config.file.diagnostic_at_key(
                Severity::Error,
                key,
                "config.address_in_use",
                &format!(
                    "{address} is also `{}`: a service and the API each listen on an address of their own",
                    other.join(".")
                ),
            ));
        }
    }
    diagnostics
}

/// Why `reference` names nothing a component can take.
fn dangling(
    reference: &OutputRef,
    kinds: &BTreeMap<&str, &str>,
    outputs: &BTreeMap<OutputRef, bool>,
) -> String {
    match kinds.get(reference.component.as_str()) {
        None => format!("no component named `{}`", reference.component),
        Some(&"sinks") => format!(
            "`{}` is a sink: a sink's documents go out, not on",
            reference.component
        ),
        Some(_) => {
            let offered: Vec<String> = outputs
                .keys()
                .filter(|o| o.component == reference.component)
                .map(ToString::to_string)
                .collect();
            format!(
                "`{reference}` is not an output; `{}` has: {}",
                reference.component,
                offered.join(", ")
            )
        }
    }
}

/// A cycle among transforms (by their inputs' components), as the names around it.
fn find_cycle(transforms: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &BTreeMap<String, Vec<String>>,
        marks: &mut HashMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        stack.push(node.to_owned());
        for input in graph.get(node).into_iter().flatten() {
            if graph.contains_key(input)
                && let Some(cycle) = visit(input, graph, marks, stack)
            {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = HashMap::new();
    transforms
        .keys()
        .find_map(|node| visit(node, transforms, &mut marks, &mut Vec::new()))
}
