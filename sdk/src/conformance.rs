//! The conformance kit: checks an adapter against a folder of fixtures, through the real
//! ABI.
//!
//! The kit takes an [`AdapterModule`], so every call crosses the same `extern "C"`
//! boundary, JSON encoding and panic guard as a dynamically loaded library: what passes
//! here behaves the same in the host. Call [`run`] from a test and assert the
//! [`Report`]:
//!
//! ```ignore
//! let module = AdapterModule::of::<MyAdapter>()?;
//! tradewire_sdk::conformance::run(&module, "fixtures").assert_passed();
//! ```
//!
//! # Fixture layout
//!
//! One folder per message, named like the message; one *case* per input, named by the
//! file name up to its last extension:
//!
//! ```text
//! fixtures/
//!   README.md                        files beside the message folders are ignored
//!   catalogue/                       a message the adapter declares
//!     simple.csv                     decode case `simple`: protocol bytes in
//!     simple.expected.json             … must decode to this canonical document
//!     semicolons.csv                 decode case `semicolons`
//!     semicolons.config.json           … with this adapter config (default `{}`)
//!     semicolons.expected.json
//!     bad-ean.csv                    decode case `bad-ean`
//!     bad-ean.rejected.json            … must be refused with these diagnostics
//!     export.encode.json             encode case `export`: a canonical document in
//!     export.encoded.csv               … must encode to exactly these bytes (optional)
//!     collision.encode.json          encode case `collision`
//!     collision.rejected.json          … must be refused with these diagnostics
//! ```
//!
//! A file's role comes from its suffix:
//!
//! | file                      | role                                                          |
//! |---------------------------|---------------------------------------------------------------|
//! | `<case>.<ext>`            | decode input (any name without one of the suffixes below)     |
//! | `<case>.expected.json`    | the canonical document decoding must produce                  |
//! | `<case>.rejected.json`    | the case's input must be refused; see below                   |
//! | `<case>.config.json`      | adapter config for the case; `{}` (the defaults) without it   |
//! | `<case>.encode.json`      | encode input: a canonical document, contract-tagged           |
//! | `<case>.encoded.<ext>`    | the exact bytes encoding must produce                         |
//!
//! A case is either a decode case (an input file plus exactly one of `.expected.json` or
//! `.rejected.json`) or an encode case (an `.encode.json` plus at most one of
//! `.encoded.<ext>` or `.rejected.json`), never both, so that `.rejected.json` always
//! says which direction is refused. Names starting with `.` and `README` files are
//! skipped. Anything else that fits no case (an `.expected.json` without its input, a
//! nested folder, a folder named after no message) is reported, because a fixture the
//! kit silently ignores is a test that silently never runs.
//!
//! `.rejected.json` is a non-empty JSON array of the diagnostics that must each appear
//! among the ones the adapter returns. `code` is required; `path`, `severity` and
//! `message` (a substring of the diagnostic's message) are checked when given:
//!
//! ```json
//! [{ "path": "/rows/2/ean13", "code": "product.bad_gtin" }]
//! ```
//!
//! Documents are compared as JSON values after a trip through [`Document`], so an
//! `.expected.json` may leave out what deserialises to a default (an empty `text`, an
//! empty `extensions`), while a value that serialises differently (`"12.5"` against the
//! adapter's `"12.50"`) is a difference. A failed comparison names the JSON Pointer of
//! each difference.
//!
//! # Checks
//!
//! | kind         | per                  | passes when                                                       |
//! |--------------|----------------------|-------------------------------------------------------------------|
//! | `fixtures`   | misplaced file       | never: the file fits no case, or cannot be read                   |
//! | `coverage`   | declared message     | a decoding message has a decode case; an encode-only message an encode case |
//! | `decode`     | decode case          | the input decodes to `.expected.json`, or is refused as `.rejected.json` says |
//! | `round-trip` | decoded case         | the message also encodes, and encode-then-decode gives the same document |
//! | `encode`     | encode case          | the document encodes (to `.encoded.<ext>` exactly, when given), and the output decodes again when the message decodes; or is refused as `.rejected.json` says |
//! | `robustness` | every case           | none of the input's malformed variants makes the adapter fail      |
//!
//! A call that ends in [`CallError::Failed`] (the adapter panicked or broke the contract)
//! fails its check whatever the fixture declares: refusing bad input is the adapter's
//! job, breaking on it is a bug. The malformed variants of an input are derived
//! deterministically, so a failure reproduces: the empty input, truncations at a quarter,
//! half, three quarters and one byte short of the end, and the bytes `<`, `&`, `%`, `"`,
//! `0xFF` and NUL each written over and inserted at three places spread over the input.
//! Each variant may be accepted or refused; it must not fail.
//!
//! The encode-side check decodes the output but does not compare documents, because an
//! encoding may drop what the protocol cannot carry; the decode-side round trip starts
//! from what the protocol said and must come back whole.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use tradewire_core::{Diagnostics, Document, DocumentKind, Severity, pointer_token};

use crate::{AdapterInstance, AdapterModule, CallError, MessageSpec, Reply};

/// Runs every check for `module` against the fixtures under `fixtures_dir`.
///
/// Never panics on fixtures or adapter behaviour: an unreadable file, a misplaced
/// fixture, a panicking adapter all become failed checks in the report.
pub fn run(module: &AdapterModule, fixtures_dir: impl AsRef<Path>) -> Report {
    let fixtures_dir = fixtures_dir.as_ref();
    let manifest = module.manifest();
    let mut kit = Kit {
        module,
        fixtures_dir,
        report: Report {
            adapter: format!("{} {}", manifest.name, manifest.version),
            fixtures_dir: fixtures_dir.to_path_buf(),
            checks: Vec::new(),
        },
    };
    kit.run_all();
    kit.report
}

/// What [`run`] found: one entry per check, in a stable order (message, then case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The adapter's name and version, from its manifest.
    pub adapter: String,
    pub fixtures_dir: PathBuf,
    pub checks: Vec<Check>,
}

/// One check of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `message/case` for a case, `message` for coverage, the fixture's path relative to
    /// the fixtures folder for a misplaced file.
    pub case: String,
    pub kind: CheckKind,
    pub outcome: CheckOutcome,
}

/// What a check looked at (see the module documentation's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckKind {
    Fixtures,
    Coverage,
    Decode,
    RoundTrip,
    Encode,
    Robustness,
}

/// Whether a check held; a failure says why, in sentences meant for the adapter's author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    Passed,
    Failed(String),
}

impl Check {
    /// Why the check failed, or `None` when it passed.
    pub fn failure(&self) -> Option<&str> {
        match &self.outcome {
            CheckOutcome::Passed => None,
            CheckOutcome::Failed(why) => Some(why),
        }
    }
}

impl Report {
    /// True when no check failed. A run always records at least one check (a missing
    /// fixtures folder or an adapter without fixtures is a failure), so an empty pass is
    /// impossible.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.failure().is_some())
    }

    /// Panics, listing every failed check, unless all passed. For use in tests.
    #[track_caller]
    pub fn assert_passed(&self) {
        if self.passed() {
            return;
        }
        let mut text = format!(
            "conformance of `{}` against {} failed {} of {} checks:\n",
            self.adapter,
            self.fixtures_dir.display(),
            self.failures().count(),
            self.checks.len()
        );
        for check in self.failures() {
            text.push('\n');
            text.push_str(&check.to_string());
            text.push('\n');
        }
        panic!("{text}");
    }

    /// Panics unless every check passed and at least one check of each kind that looks
    /// at the adapter (coverage, decode, round trip, encode, robustness) ran: fixtures
    /// that exercise no encoding, say, prove nothing about it. For use in tests.
    #[track_caller]
    pub fn assert_passed_with_every_kind(&self) {
        self.assert_passed();
        let missing: Vec<String> = [
            CheckKind::Coverage,
            CheckKind::Decode,
            CheckKind::RoundTrip,
            CheckKind::Encode,
            CheckKind::Robustness,
        ]
        .into_iter()
        .filter(|&kind| !self.checks.iter().any(|check| check.kind == kind))
        .map(|kind| kind.to_string())
        .collect();
        assert!(
            missing.is_empty(),
            "no {} check ran:\n{self}",
            missing.join(", no ")
        );
    }

    fn push(&mut self, case: impl Into<String>, kind: CheckKind, outcome: CheckOutcome) {
        self.checks.push(Check {
            case: case.into(),
            kind,
            outcome,
        });
    }

    fn fail(&mut self, case: impl Into<String>, kind: CheckKind, why: impl Into<String>) {
        self.push(case, kind, CheckOutcome::Failed(why.into()));
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fixtures => "fixtures",
            Self::Coverage => "coverage",
            Self::Decode => "decode",
            Self::RoundTrip => "round-trip",
            Self::Encode => "encode",
            Self::Robustness => "robustness",
        })
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.to_string();
        match &self.outcome {
            CheckOutcome::Passed => write!(f, "ok      {kind:<11} {}", self.case),
            CheckOutcome::Failed(why) => {
                write!(f, "FAILED  {kind:<11} {}", self.case)?;
                for line in why.lines() {
                    write!(f, "\n        {line}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "conformance of `{}` against {}",
            self.adapter,
            self.fixtures_dir.display()
        )?;
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        let failed = self.failures().count();
        write!(
            f,
            "{} checks: {} passed, {failed} failed",
            self.checks.len(),
            self.checks.len() - failed
        )
    }
}

/// One diagnostic a `.rejected.json` requires.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequiredDiagnostic {
    code: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    /// A substring of the diagnostic's message.
    #[serde(default)]
    message: Option<String>,
}

impl RequiredDiagnostic {
    fn matches(&self, diagnostic: &tradewire_core::Diagnostic) -> bool {
        diagnostic.code == self.code
            && self.path.as_ref().is_none_or(|p| *p == diagnostic.path)
            && self.severity.is_none_or(|s| s == diagnostic.severity)
            && self
                .message
                .as_ref()
                .is_none_or(|m| diagnostic.message.contains(m.as_str()))
    }
}

impl fmt::Display for RequiredDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.code)?;
        if let Some(path) = &self.path {
            write!(
                f,
                " at {}",
                if path.is_empty() { "(document)" } else { path }
            )?;
        }
        if let Some(severity) = self.severity {
            write!(f, " with severity {severity:?}")?;
        }
        if let Some(message) = &self.message {
            write!(f, " with a message containing {message:?}")?;
        }
        Ok(())
    }
}

/// The files of one case, as found in the message folder.
#[derive(Debug, Default)]
struct CaseFiles {
    inputs: Vec<PathBuf>,
    expected: Option<PathBuf>,
    rejected: Option<PathBuf>,
    config: Option<PathBuf>,
    encode: Option<PathBuf>,
    encoded: Vec<PathBuf>,
}

/// What a case file is for, decided by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Input,
    Expected,
    Rejected,
    Config,
    Encode,
    Encoded,
}

/// The case name and role of a file name; `None` for files the kit skips.
fn classify(file_name: &str) -> Option<(&str, Role)> {
    if file_name.starts_with('.') || file_name.starts_with("README") {
        return None;
    }
    for (suffix, role) in [
        (".expected.json", Role::Expected),
        (".rejected.json", Role::Rejected),
        (".config.json", Role::Config),
        (".encode.json", Role::Encode),
    ] {
        if let Some(case) = file_name.strip_suffix(suffix) {
            return Some((case, role));
        }
    }
    if let Some((case, _extension)) = file_name.rsplit_once(".encoded.") {
        return Some((case, Role::Encoded));
    }
    if let Some(case) = file_name.strip_suffix(".encoded") {
        return Some((case, Role::Encoded));
    }
    let case = file_name
        .rsplit_once('.')
        .map_or(file_name, |(stem, _extension)| stem);
    Some((case, Role::Input))
}

/// What a decode case declares about its input.
enum DecodeExpectation {
    Document(PathBuf),
    Rejection(PathBuf),
}

/// What an encode case declares about its document.
enum EncodeExpectation {
    Success,
    Bytes(PathBuf),
    Rejection(PathBuf),
}

/// A case whose files make sense together.
enum Plan {
    Decode {
        input: PathBuf,
        expectation: DecodeExpectation,
        config: Option<PathBuf>,
    },
    Encode {
        document: PathBuf,
        expectation: EncodeExpectation,
        config: Option<PathBuf>,
    },
}

struct Kit<'a> {
    module: &'a AdapterModule,
    fixtures_dir: &'a Path,
    report: Report,
}

impl Kit<'_> {
    fn run_all(&mut self) {
        let folders = match self.message_folders() {
            Ok(folders) => folders,
            Err(why) => {
                let case = self.fixtures_dir.display().to_string();
                self.report.fail(case, CheckKind::Fixtures, why);
                return;
            }
        };
        let manifest = self.module.manifest();
        let declared: Vec<&str> = manifest.messages.iter().map(|m| m.name.as_str()).collect();
        for name in folders.keys() {
            if !declared.contains(&name.as_str()) {
                self.report.fail(
                    name.clone(),
                    CheckKind::Fixtures,
                    format!(
                        "folder `{name}` names no message of the adapter (it declares: {}); rename it after one of them",
                        declared.join(", ")
                    ),
                );
            }
        }
        let mut specs: Vec<&MessageSpec> = manifest.messages.iter().collect();
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        for spec in specs {
            let cases = match folders.get(&spec.name) {
                Some(folder) => self.read_cases(&spec.name, folder),
                None => BTreeMap::new(),
            };
            self.check_message(spec, cases);
        }
        if self.report.checks.is_empty() {
            self.report.fail(
                self.fixtures_dir.display().to_string(),
                CheckKind::Coverage,
                "the adapter declares no messages, so there is nothing to check",
            );
        }
    }

    /// The sub-folders of the fixtures folder, by name.
    fn message_folders(&self) -> Result<BTreeMap<String, PathBuf>, String> {
        let entries = fs::read_dir(self.fixtures_dir).map_err(|e| {
            format!(
                "cannot read the fixtures folder {}: {e}",
                self.fixtures_dir.display()
            )
        })?;
        let mut folders = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(|e| {
                format!(
                    "cannot list the fixtures folder {}: {e}",
                    self.fixtures_dir.display()
                )
            })?;
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                folders.insert(name, path);
            }
        }
        Ok(folders)
    }

    /// The files of a message folder grouped by case; misplaced files are reported.
    fn read_cases(&mut self, message: &str, folder: &Path) -> BTreeMap<String, CaseFiles> {
        let mut cases: BTreeMap<String, CaseFiles> = BTreeMap::new();
        let entries = match fs::read_dir(folder) {
            Ok(entries) => entries,
            Err(e) => {
                self.report.fail(
                    message,
                    CheckKind::Fixtures,
                    format!("cannot read {}: {e}", folder.display()),
                );
                return cases;
            }
        };
        let mut paths = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => paths.push(entry.path()),
                Err(e) => self.report.fail(
                    message,
                    CheckKind::Fixtures,
                    format!("cannot list {}: {e}", folder.display()),
                ),
            }
        }
        paths.sort();
        for path in paths {
            let relative = self.relative(&path);
            let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
                self.report.fail(
                    relative,
                    CheckKind::Fixtures,
                    "the file name is not UTF-8, so it cannot name a case",
                );
                continue;
            };
            let Some((case, role)) = classify(file_name) else {
                continue;
            };
            if path.is_dir() {
                self.report.fail(
                    relative,
                    CheckKind::Fixtures,
                    "nested folders are not read; put the case files directly in the message folder",
                );
                continue;
            }
            let files = cases.entry(case.to_owned()).or_default();
            match role {
                Role::Input => files.inputs.push(path),
                Role::Expected => files.expected = Some(path),
                Role::Rejected => files.rejected = Some(path),
                Role::Config => files.config = Some(path),
                Role::Encode => files.encode = Some(path),
                Role::Encoded => files.encoded.push(path),
            }
        }
        cases
    }

    fn check_message(&mut self, spec: &MessageSpec, cases: BTreeMap<String, CaseFiles>) {
        let mut plans = Vec::new();
        for (case, files) in cases {
            let label = format!("{}/{case}", spec.name);
            match plan(&case, files, spec) {
                Ok(plan) => plans.push((label, plan)),
                Err(why) => self.report.fail(label, CheckKind::Fixtures, why),
            }
        }
        let decode_cases = plans
            .iter()
            .filter(|(_, p)| matches!(p, Plan::Decode { .. }))
            .count();
        let encode_cases = plans.len() - decode_cases;
        if spec.decodes {
            self.report.push(
                spec.name.clone(),
                CheckKind::Coverage,
                if decode_cases > 0 {
                    CheckOutcome::Passed
                } else {
                    CheckOutcome::Failed(format!(
                        "no fixtures for message `{}`: it decodes, so add at least one input with its .expected.json under {}",
                        spec.name,
                        self.fixtures_dir.join(&spec.name).display()
                    ))
                },
            );
        } else if spec.encodes {
            self.report.push(
                spec.name.clone(),
                CheckKind::Coverage,
                if encode_cases > 0 {
                    CheckOutcome::Passed
                } else {
                    CheckOutcome::Failed(format!(
                        "no fixtures for message `{}`: it encodes, so add at least one <case>.encode.json under {}",
                        spec.name,
                        self.fixtures_dir.join(&spec.name).display()
                    ))
                },
            );
        }
        for (label, plan) in plans {
            match plan {
                Plan::Decode {
                    input,
                    expectation,
                    config,
                } => self.decode_case(spec, &label, &input, &expectation, config.as_deref()),
                Plan::Encode {
                    document,
                    expectation,
                    config,
                } => self.encode_case(spec, &label, &document, &expectation, config.as_deref()),
            }
        }
    }

    fn decode_case(
        &mut self,
        spec: &MessageSpec,
        label: &str,
        input_path: &Path,
        expectation: &DecodeExpectation,
        config: Option<&Path>,
    ) {
        let prepared = self
            .instance(config)
            .and_then(|instance| Ok((instance, self.read(input_path)?)));
        let (instance, input) = match prepared {
            Ok(prepared) => prepared,
            Err(why) => {
                self.report.fail(label, CheckKind::Decode, why);
                return;
            }
        };
        let result = instance.decode(&spec.name, &input);
        let outcome = match (expectation, &result) {
            (_, Err(CallError::Failed(d) | CallError::Unsupported(d))) => {
                CheckOutcome::Failed(broke(d))
            }
            (DecodeExpectation::Document(expected), Ok(reply)) => {
                self.compare_decoded(spec, expected, reply)
            }
            (DecodeExpectation::Document(_), Err(CallError::Rejected(d))) => CheckOutcome::Failed(
                format!("expected a document, but the input was rejected:\n{d}"),
            ),
            (DecodeExpectation::Rejection(required), Ok(reply)) => {
                self.unexpected_success(required, "the input", "decoded", reply)
            }
            (DecodeExpectation::Rejection(required), Err(CallError::Rejected(d))) => {
                self.compare_rejection(required, d)
            }
        };
        self.report.push(label, CheckKind::Decode, outcome);

        if let Ok(reply) = &result
            && spec.encodes
        {
            let outcome = round_trip(&instance, spec, reply);
            self.report.push(label, CheckKind::RoundTrip, outcome);
        }

        let outcome = robustness(&input, |variant| instance.decode(&spec.name, variant));
        self.report.push(label, CheckKind::Robustness, outcome);
    }

    fn encode_case(
        &mut self,
        spec: &MessageSpec,
        label: &str,
        document_path: &Path,
        expectation: &EncodeExpectation,
        config: Option<&Path>,
    ) {
        let prepared = self
            .instance(config)
            .and_then(|instance| Ok((instance, self.read(document_path)?)))
            .and_then(|(instance, document)| {
                canonical(&document, spec.document).map_err(|why| {
                    format!(
                        "{} is not a canonical `{}` document: {why}",
                        self.relative(document_path),
                        spec.document
                    )
                })?;
                Ok((instance, document))
            });
        let (instance, document) = match prepared {
            Ok(prepared) => prepared,
            Err(why) => {
                self.report.fail(label, CheckKind::Encode, why);
                return;
            }
        };
        let result = instance.encode(&spec.name, &document);
        let outcome = match (expectation, &result) {
            (_, Err(CallError::Failed(d) | CallError::Unsupported(d))) => {
                CheckOutcome::Failed(broke(d))
            }
            (EncodeExpectation::Rejection(required), Err(CallError::Rejected(d))) => {
                self.compare_rejection(required, d)
            }
            (EncodeExpectation::Rejection(required), Ok(reply)) => {
                self.unexpected_success(required, "the document", "encoded", reply)
            }
            (_, Err(CallError::Rejected(d))) => CheckOutcome::Failed(format!(
                "expected the document to encode, but it was rejected:\n{d}"
            )),
            (EncodeExpectation::Success, Ok(reply)) => readable_again(&instance, spec, reply),
            (EncodeExpectation::Bytes(expected), Ok(reply)) => match self.read(expected) {
                Err(why) => CheckOutcome::Failed(why),
                Ok(expected_bytes) if expected_bytes != reply.bytes => {
                    CheckOutcome::Failed(format!(
                        "the output differs from {}: {}",
                        self.relative(expected),
                        byte_difference(&expected_bytes, &reply.bytes)
                    ))
                }
                Ok(_) => readable_again(&instance, spec, reply),
            },
        };
        self.report.push(label, CheckKind::Encode, outcome);

        let outcome = robustness(&document, |variant| instance.encode(&spec.name, variant));
        self.report.push(label, CheckKind::Robustness, outcome);
    }

    fn compare_decoded(
        &self,
        spec: &MessageSpec,
        expected_path: &Path,
        reply: &Reply,
    ) -> CheckOutcome {
        let expected = match self
            .read(expected_path)
            .and_then(|bytes| canonical(&bytes, spec.document))
        {
            Ok(expected) => expected,
            Err(why) => {
                return CheckOutcome::Failed(format!(
                    "{} is not a canonical `{}` document: {why}",
                    self.relative(expected_path),
                    spec.document
                ));
            }
        };
        let actual = match canonical(&reply.bytes, spec.document) {
            Ok(actual) => actual,
            Err(why) => return CheckOutcome::Failed(not_canonical_output(&why)),
        };
        let differences = json_differences(&expected, &actual);
        if differences.is_empty() {
            CheckOutcome::Passed
        } else {
            CheckOutcome::Failed(format!(
                "the decoded document differs from {}:\n{}",
                self.relative(expected_path),
                differences.join("\n")
            ))
        }
    }

    /// The diagnostics a `.rejected.json` requires; at least one.
    fn read_required(&self, required_path: &Path) -> Result<Vec<RequiredDiagnostic>, String> {
        let required: Vec<RequiredDiagnostic> = self
            .read(required_path)
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
            .map_err(|why| {
                format!(
                    "{} is not a JSON array of {{\"code\", \"path\"}} objects: {why}",
                    self.relative(required_path)
                )
            })?;
        if required.is_empty() {
            return Err(format!(
                "{} is empty; name at least one diagnostic, or the case also passes when the input is refused for the wrong reason",
                self.relative(required_path)
            ));
        }
        Ok(required)
    }

    /// The call succeeded where `required_path` says it must be refused.
    fn unexpected_success(
        &self,
        required_path: &Path,
        what: &str,
        done: &str,
        reply: &Reply,
    ) -> CheckOutcome {
        match self.read_required(required_path) {
            Err(why) => CheckOutcome::Failed(why),
            Ok(required) => CheckOutcome::Failed(format!(
                "expected {what} to be rejected with\n{}\nbut it {done}{}",
                required
                    .iter()
                    .map(|r| format!("  {r}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                with_warnings(&reply.warnings)
            )),
        }
    }

    fn compare_rejection(&self, required_path: &Path, actual: &Diagnostics) -> CheckOutcome {
        let required = match self.read_required(required_path) {
            Ok(required) => required,
            Err(why) => return CheckOutcome::Failed(why),
        };
        let missing: Vec<String> = required
            .iter()
            .filter(|r| !actual.iter().any(|d| r.matches(d)))
            .map(|r| format!("  {r}"))
            .collect();
        if missing.is_empty() {
            CheckOutcome::Passed
        } else {
            CheckOutcome::Failed(format!(
                "rejected, but without the diagnostics {} requires:\n{}\nthe adapter said:\n{actual}",
                self.relative(required_path),
                missing.join("\n")
            ))
        }
    }

    fn instance(&self, config: Option<&Path>) -> Result<AdapterInstance, String> {
        let config_bytes = match config {
            Some(path) => self.read(path)?,
            None => b"{}".to_vec(),
        };
        self.module
            .instantiate(&config_bytes)
            .map_err(|e| match (e, config) {
                (CallError::Failed(d) | CallError::Unsupported(d), _) => broke(&d),
                (CallError::Rejected(d), Some(path)) => {
                    format!("the adapter refused {}:\n{d}", self.relative(path))
                }
                (CallError::Rejected(d), None) => {
                    format!("the adapter refused its default config `{{}}`:\n{d}")
                }
            })
    }

    fn read(&self, path: &Path) -> Result<Vec<u8>, String> {
        fs::read(path).map_err(|e| format!("cannot read {}: {e}", self.relative(path)))
    }

    /// `path` relative to the fixtures folder, for messages.
    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(self.fixtures_dir)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// Checks that a case's files make one decode or one encode case.
fn plan(case: &str, files: CaseFiles, spec: &MessageSpec) -> Result<Plan, String> {
    let CaseFiles {
        mut inputs,
        expected,
        rejected,
        config,
        encode,
        mut encoded,
    } = files;
    let names = |paths: &[PathBuf]| {
        paths
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if inputs.len() > 1 {
        return Err(format!(
            "several inputs share the case name `{case}` ({}); give each its own name",
            names(&inputs)
        ));
    }
    if encoded.len() > 1 {
        return Err(format!(
            "several expected encodings for case `{case}` ({}); keep one",
            names(&encoded)
        ));
    }
    match (inputs.pop(), encode) {
        (Some(_), Some(_)) => Err(format!(
            "`{case}` has both an input file and {case}.encode.json; a case is either a decode or an encode case, so rename one"
        )),
        (Some(input), None) => {
            if !spec.decodes {
                return Err(format!(
                    "message `{}` does not decode, so the input {} cannot be checked; to check encoding, name a canonical document {case}.encode.json",
                    spec.name,
                    names(std::slice::from_ref(&input))
                ));
            }
            if !encoded.is_empty() {
                return Err(format!(
                    "{} belongs to an encode case, but `{case}` is a decode case",
                    names(&encoded)
                ));
            }
            let expectation = match (expected, rejected) {
                (Some(expected), None) => DecodeExpectation::Document(expected),
                (None, Some(rejected)) => DecodeExpectation::Rejection(rejected),
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "`{case}` has both {case}.expected.json and {case}.rejected.json; keep the one that is true"
                    ));
                }
                (None, None) => {
                    return Err(format!(
                        "`{case}` declares no outcome: add {case}.expected.json (the document it decodes to) or {case}.rejected.json (the diagnostics refusing it)"
                    ));
                }
            };
            Ok(Plan::Decode {
                input,
                expectation,
                config,
            })
        }
        (None, Some(document)) => {
            if !spec.encodes {
                return Err(format!(
                    "message `{}` does not encode, so {case}.encode.json cannot be checked",
                    spec.name
                ));
            }
            if expected.is_some() {
                return Err(format!(
                    "{case}.expected.json belongs to a decode case, but `{case}` has no input file; for an encode case, name the expected bytes {case}.encoded.<ext>"
                ));
            }
            let expectation = match (encoded.pop(), rejected) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "`{case}` has both expected bytes and {case}.rejected.json; keep the one that is true"
                    ));
                }
                (Some(bytes), None) => EncodeExpectation::Bytes(bytes),
                (None, Some(rejected)) => EncodeExpectation::Rejection(rejected),
                (None, None) => EncodeExpectation::Success,
            };
            Ok(Plan::Encode {
                document,
                expectation,
                config,
            })
        }
        (None, None) => {
            let mut orphans = Vec::new();
            orphans.extend(expected);
            orphans.extend(rejected);
            orphans.extend(config);
            orphans.extend(encoded);
            Err(format!(
                "{} belong to case `{case}`, which has no input file and no {case}.encode.json (a typo in a name?)",
                names(&orphans)
            ))
        }
    }
}

/// Encode what decoding produced, decode that again, and expect the same document.
fn round_trip(instance: &AdapterInstance, spec: &MessageSpec, decoded: &Reply) -> CheckOutcome {
    let first = match canonical(&decoded.bytes, spec.document) {
        Ok(first) => first,
        Err(why) => return CheckOutcome::Failed(not_canonical_output(&why)),
    };
    let encoded = match instance.encode(&spec.name, &decoded.bytes) {
        Ok(reply) => reply,
        Err(CallError::Failed(d) | CallError::Unsupported(d)) => {
            return CheckOutcome::Failed(format!("encoding the decoded document: {}", broke(&d)));
        }
        Err(CallError::Rejected(d)) => {
            return CheckOutcome::Failed(format!(
                "the adapter refused to encode the document it decoded:\n{d}"
            ));
        }
    };
    let again = match instance.decode(&spec.name, &encoded.bytes) {
        Ok(reply) => reply,
        Err(CallError::Failed(d) | CallError::Unsupported(d)) => {
            return CheckOutcome::Failed(format!(
                "decoding the adapter's own encoding: {}",
                broke(&d)
            ));
        }
        Err(CallError::Rejected(d)) => {
            return CheckOutcome::Failed(format!(
                "the adapter refused its own encoding of the decoded document:\n{d}\nthe encoding was:\n{}",
                excerpt(&encoded.bytes)
            ));
        }
    };
    let second = match canonical(&again.bytes, spec.document) {
        Ok(second) => second,
        Err(why) => return CheckOutcome::Failed(not_canonical_output(&why)),
    };
    let differences = json_differences(&first, &second);
    if differences.is_empty() {
        CheckOutcome::Passed
    } else {
        CheckOutcome::Failed(format!(
            "encoding the decoded document and decoding it again changed it (first decode = expected, second = got):\n{}",
            differences.join("\n")
        ))
    }
}

/// After a successful encode: when the message also decodes, the adapter must read its
/// own output.
fn readable_again(instance: &AdapterInstance, spec: &MessageSpec, reply: &Reply) -> CheckOutcome {
    if !spec.decodes {
        return CheckOutcome::Passed;
    }
    match instance.decode(&spec.name, &reply.bytes) {
        Ok(_) => CheckOutcome::Passed,
        Err(CallError::Failed(d) | CallError::Unsupported(d)) => CheckOutcome::Failed(format!(
            "decoding the adapter's own encoding: {}",
            broke(&d)
        )),
        Err(CallError::Rejected(d)) => CheckOutcome::Failed(format!(
            "the adapter refused its own encoding:\n{d}\nthe encoding was:\n{}",
            excerpt(&reply.bytes)
        )),
    }
}

/// Calls the adapter with each malformed variant of `input`; fails listing every variant
/// that made it fail.
fn robustness(
    input: &[u8],
    mut call: impl FnMut(&[u8]) -> Result<Reply, CallError>,
) -> CheckOutcome {
    let variants = malformed_variants(input);
    let failures: Vec<String> = variants
        .iter()
        .filter_map(|(label, bytes)| match call(bytes) {
            Err(CallError::Failed(d) | CallError::Unsupported(d)) => {
                Some(format!("- {label}:\n{}", indent(&d.to_string())))
            }
            Ok(_) | Err(CallError::Rejected(_)) => None,
        })
        .collect();
    if failures.is_empty() {
        CheckOutcome::Passed
    } else {
        CheckOutcome::Failed(format!(
            "{} of {} malformed variants of the input made the adapter fail instead of returning diagnostics:\n{}",
            failures.len(),
            variants.len(),
            failures.join("\n")
        ))
    }
}

/// Bytes that break naive parsers of the formats adapters speak: markup (`<`, `&`),
/// URL escapes (`%`), quoting (`"`), invalid UTF-8 (0xFF) and C strings (NUL).
const HOSTILE_BYTES: [u8; 6] = [b'<', b'&', b'%', b'"', 0xFF, 0x00];

/// Deterministic malformed variants of `input`, each with a label saying how it was made.
fn malformed_variants(input: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut variants = Vec::new();
    let mut seen = HashSet::new();
    let mut add = |label: String, bytes: Vec<u8>| {
        if bytes != input && seen.insert(bytes.clone()) {
            variants.push((label, bytes));
        }
    };
    let len = input.len();
    add("the empty input".to_owned(), Vec::new());
    for cut in [len / 4, len / 2, len * 3 / 4, len.saturating_sub(1)] {
        if let Some(prefix) = input.get(..cut) {
            add(
                format!("truncated to {cut} of {len} bytes"),
                prefix.to_vec(),
            );
        }
    }
    // Spread 3 places per byte over the whole input, each byte at different places, so
    // the header, the middle and the end all get hit.
    let slots = 3 * HOSTILE_BYTES.len() + 1;
    for (i, &byte) in HOSTILE_BYTES.iter().enumerate() {
        for k in 0..3 {
            let at = len * (k * HOSTILE_BYTES.len() + i + 1) / slots;
            let shown = show_byte(byte);
            if at < len {
                let mut replaced = input.to_vec();
                replaced[at] = byte;
                add(format!("byte {at} replaced by {shown}"), replaced);
            }
            let mut inserted = input.to_vec();
            inserted.insert(at.min(len), byte);
            add(format!("{shown} inserted before byte {at}"), inserted);
        }
    }
    variants
}

fn show_byte(byte: u8) -> String {
    match byte {
        0 => "NUL".to_owned(),
        b if b.is_ascii_graphic() => format!("`{}`", char::from(b)),
        b => format!("0x{b:02X}"),
    }
}

/// Parses canonical JSON as a document of `kind` and back to a JSON value, so that
/// defaults are filled in and only differences of meaning remain.
fn canonical(bytes: &[u8], kind: DocumentKind) -> Result<Value, String> {
    let document = Document::from_json(bytes, Some(kind)).map_err(|d| format!("\n{d}"))?;
    serde_json::to_value(&document).map_err(|e| e.to_string())
}

fn broke(diagnostics: &Diagnostics) -> String {
    format!("adapter panicked or broke the contract:\n{diagnostics}")
}

fn not_canonical_output(why: &str) -> String {
    format!("the adapter broke the contract: its output is not a canonical document: {why}")
}

fn with_warnings(warnings: &Diagnostics) -> String {
    if warnings.is_empty() {
        String::new()
    } else {
        format!(" (with warnings:\n{warnings})")
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// At most this many differences are listed; the first few locate a mistake.
const MAX_DIFFERENCES: usize = 10;

/// Where `actual` differs from `expected`, one line per difference, each with its JSON
/// Pointer.
fn json_differences(expected: &Value, actual: &Value) -> Vec<String> {
    let mut differences = Vec::new();
    let mut path = String::new();
    collect_differences(&mut path, expected, actual, &mut differences);
    if differences.len() > MAX_DIFFERENCES {
        let more = differences.len() - MAX_DIFFERENCES;
        differences.truncate(MAX_DIFFERENCES);
        differences.push(format!("… and {more} more differences"));
    }
    differences
}

fn collect_differences(path: &mut String, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    let at = |path: &str| {
        if path.is_empty() {
            "(document)".to_owned()
        } else {
            path.to_owned()
        }
    };
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            let keys: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
            for key in keys {
                let length = path.len();
                path.push('/');
                path.push_str(&pointer_token(key));
                match (expected.get(key), actual.get(key)) {
                    (Some(e), Some(a)) => collect_differences(path, e, a, out),
                    (Some(e), None) => {
                        out.push(format!("at {path}: expected {}, got nothing", short(e)));
                    }
                    (None, Some(a)) => out.push(format!("at {path}: unexpected {}", short(a))),
                    (None, None) => {}
                }
                path.truncate(length);
            }
        }
        (Value::Array(expected), Value::Array(actual)) => {
            if expected.len() != actual.len() {
                out.push(format!(
                    "at {}: expected {} items, got {}",
                    at(path),
                    expected.len(),
                    actual.len()
                ));
            }
            for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
                let length = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                collect_differences(path, e, a, out);
                path.truncate(length);
            }
        }
        (e, a) if e == a => {}
        (e, a) => out.push(format!(
            "at {}: expected {}, got {}",
            at(path),
            short(e),
            short(a)
        )),
    }
}

/// A JSON value in one line, shortened for a message.
fn short(value: &Value) -> String {
    shorten(&value.to_string(), 120)
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(max_chars).collect();
        format!("{kept}…")
    }
}

/// Protocol bytes for a message: as text when they are UTF-8, shortened.
fn excerpt(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => shorten(text, 2000),
        Err(_) => format!("({} bytes, not UTF-8)", bytes.len()),
    }
}

/// Where two byte strings first differ, with the line around it from each.
fn byte_difference(expected: &[u8], actual: &[u8]) -> String {
    let first = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.len().min(actual.len()));
    let line_number = expected
        .get(..first)
        .unwrap_or_default()
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    let line_of = |bytes: &[u8]| {
        let start = bytes
            .get(..first)
            .unwrap_or(bytes)
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let rest = bytes.get(start..).unwrap_or_default();
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = String::from_utf8_lossy(rest.get(..end).unwrap_or_default());
        shorten(&format!("{line:?}"), 200)
    };
    format!(
        "first difference at byte {first} (line {line_number}; expected {} bytes, got {})\n  expected line: {}\n  got line:      {}",
        expected.len(),
        actual.len(),
        line_of(expected),
        line_of(actual)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use schemars::JsonSchema;
    use tradewire_core::{Accepted, Diagnostic, Outcome, Product, ProductList};

    use super::*;
    use crate::{Adapter, AdapterInfo};

    #[test]
    fn a_report_without_some_kind_of_check_is_not_a_full_pass() {
        let check = |kind| Check {
            case: "m/c".into(),
            kind,
            outcome: CheckOutcome::Passed,
        };
        let mut report = Report {
            adapter: "a 1.0".into(),
            fixtures_dir: PathBuf::from("fixtures"),
            checks: vec![check(CheckKind::Decode), check(CheckKind::RoundTrip)],
        };
        let refused = std::panic::catch_unwind(|| report.assert_passed_with_every_kind())
            .expect_err("coverage, encode and robustness never ran");
        let message = refused
            .downcast_ref::<String>()
            .expect("a formatted message");
        assert!(
            message.starts_with("no coverage, no encode, no robustness check ran"),
            "{message}"
        );
        for kind in [
            CheckKind::Coverage,
            CheckKind::Encode,
            CheckKind::Robustness,
        ] {
            report.checks.push(check(kind));
        }
        report.assert_passed_with_every_kind();
    }

    /// A tiny adapter: one product per line, `sku=name`. Its config switches on the bugs
    /// the kit must catch.
    struct Lines {
        config: LinesConfig,
    }

    #[derive(Default, Deserialize, JsonSchema)]
    #[serde(default, deny_unknown_fields)]
    struct LinesConfig {
        /// Panic when the input contains this text: a bug the kit must report as Failed.
        panic_on: Option<String>,
        /// Drop names when encoding: a bug the round trip must catch.
        lossy: bool,
    }

    impl Adapter for Lines {
        type Config = LinesConfig;

        fn describe() -> AdapterInfo {
            AdapterInfo {
                name: "lines".into(),
                version: "0.0.1".into(),
                vendor: "tests".into(),
                description: String::new(),
                messages: vec![
                    MessageSpec::both("lines", DocumentKind::ProductList, "text/plain"),
                    MessageSpec::encode_only("count", DocumentKind::ProductList, "text/plain"),
                ],
            }
        }

        fn new(config: LinesConfig) -> Result<Self, Diagnostics> {
            Ok(Self { config })
        }

        fn decode(&self, _message: &str, input: &[u8]) -> Outcome<Document> {
            let Ok(text) = std::str::from_utf8(input) else {
                return Err(Diagnostic::error("", "lines.not_utf8", "not UTF-8").into());
            };
            if let Some(trigger) = &self.config.panic_on
                && text.contains(trigger.as_str())
            {
                panic!("deliberate test bug on {trigger:?}");
            }
            let mut d = Diagnostics::new();
            let mut products = Vec::new();
            for (i, line) in text.lines().enumerate() {
                match line.split_once('=') {
                    Some((sku, name)) => products.push(Product {
                        sku: sku.into(),
                        text: tradewire_core::ProductText {
                            name: Some(name.into()).filter(|n: &String| !n.is_empty()),
                            ..Default::default()
                        },
                        ..Default::default()
                    }),
                    None => d.error(format!("/lines/{}", i + 1), "lines.no_equals", "no `=`"),
                }
            }
            let list = ProductList { products };
            d.extend(list.validate());
            d.finish(Document::ProductList(list))
        }

        fn encode(&self, message: &str, document: &Document) -> Outcome<Vec<u8>> {
            let Document::ProductList(list) = document else {
                return Err(Diagnostic::error("", "lines.kind", "not a product list").into());
            };
            if message == "count" {
                if list.products.is_empty() {
                    return Err(Diagnostic::error("/products", "lines.empty", "none").into());
                }
                return Ok(Accepted::new(
                    format!("{}\n", list.products.len()).into_bytes(),
                ));
            }
            let mut out = String::new();
            for p in &list.products {
                let name = if self.config.lossy {
                    ""
                } else {
                    p.text.name.as_deref().unwrap_or_default()
                };
                out.push_str(&format!("{}={name}\n", p.sku));
            }
            Ok(Accepted::new(out.into_bytes()))
        }
    }

    fn module() -> AdapterModule {
        AdapterModule::of::<Lines>().expect("the test adapter loads")
    }

    /// A folder under the system's temp dir, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn with(files: &[(&str, &[u8])]) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "tradewire-conformance-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            for (name, bytes) in files {
                let path = dir.join(name);
                fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
                fs::write(path, bytes).expect("write fixture");
            }
            fs::create_dir_all(&dir).expect("mkdir");
            Self(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const GOOD_EXPECTED: &[u8] = br#"{"contract":"product-list/v1","products":[
        {"sku":"A1","text":{"name":"Filter"}},{"sku":"B2"}]}"#;
    const COUNT_DOC: &[u8] = br#"{"contract":"product-list/v1","products":[{"sku":"A1"}]}"#;

    fn good_fixtures() -> Vec<(&'static str, &'static [u8])> {
        vec![
            ("README.md", b"ignored"),
            ("lines/two.txt", b"A1=Filter\nB2=\n"),
            ("lines/two.expected.json", GOOD_EXPECTED),
            ("lines/no-equals.txt", b"A1=Filter\nnonsense\n"),
            (
                "lines/no-equals.rejected.json",
                br#"[{"path":"/lines/2","code":"lines.no_equals"}]"#,
            ),
            ("lines/empty-sku.txt", b"=Nameless\n"),
            (
                "lines/empty-sku.rejected.json",
                br#"[{"path":"/products/0/sku","code":"product.sku_missing","severity":"error","message":"needs a sku"}]"#,
            ),
            ("lines/export.encode.json", GOOD_EXPECTED),
            ("lines/export.encoded.txt", b"A1=Filter\nB2=\n"),
            ("count/one.encode.json", COUNT_DOC),
            ("count/one.encoded.txt", b"1\n"),
            (
                "count/none.encode.json",
                br#"{"contract":"product-list/v1","products":[]}"#,
            ),
            (
                "count/none.rejected.json",
                br#"[{"path":"/products","code":"lines.empty"}]"#,
            ),
        ]
    }

    fn failures_of(report: &Report, kind: CheckKind) -> Vec<(String, String)> {
        report
            .failures()
            .filter(|c| c.kind == kind)
            .map(|c| (c.case.clone(), c.failure().unwrap_or_default().to_owned()))
            .collect()
    }

    #[test]
    fn good_fixtures_pass_every_check() {
        let dir = Scratch::with(&good_fixtures());
        let report = run(&module(), &dir.0);
        report.assert_passed();
        let kinds: BTreeSet<CheckKind> = report.checks.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            BTreeSet::from([
                CheckKind::Coverage,
                CheckKind::Decode,
                CheckKind::RoundTrip,
                CheckKind::Encode,
                CheckKind::Robustness
            ])
        );
        let text = report.to_string();
        assert!(text.contains("ok      round-trip  lines/two"), "{text}");
        assert!(text.ends_with(" failed"), "{text}");
    }

    #[test]
    fn a_panic_on_a_fixture_is_a_failure() {
        let mut files = good_fixtures();
        files.push(("lines/two.config.json", br#"{"panic_on":"Filter"}"#));
        let dir = Scratch::with(&files);
        let report = run(&module(), &dir.0);
        let decode = failures_of(&report, CheckKind::Decode);
        assert_eq!(decode.len(), 1, "{report}");
        assert_eq!(decode[0].0, "lines/two");
        assert!(
            decode[0]
                .1
                .contains("adapter panicked or broke the contract")
                && decode[0].1.contains("deliberate test bug"),
            "{}",
            decode[0].1
        );
    }

    #[test]
    fn a_panic_on_a_malformed_variant_is_a_robustness_failure() {
        let mut files = good_fixtures();
        files.push(("lines/two.config.json", br#"{"panic_on":"<"}"#));
        let dir = Scratch::with(&files);
        let report = run(&module(), &dir.0);
        let robustness = failures_of(&report, CheckKind::Robustness);
        assert_eq!(robustness.len(), 1, "{report}");
        assert_eq!(robustness[0].0, "lines/two");
        assert!(
            robustness[0].1.contains("`<` inserted before byte"),
            "{}",
            robustness[0].1
        );
        assert!(
            failures_of(&report, CheckKind::Decode).is_empty(),
            "{report}"
        );
    }

    #[test]
    fn a_wrong_expected_document_names_the_difference() {
        let mut files = good_fixtures();
        files.retain(|(name, _)| *name != "lines/two.expected.json");
        files.push((
            "lines/two.expected.json",
            br#"{"contract":"product-list/v1","products":[{"sku":"A1","text":{"name":"Filtre"}},{"sku":"B2"}]}"#,
        ));
        let dir = Scratch::with(&files);
        let report = run(&module(), &dir.0);
        let decode = failures_of(&report, CheckKind::Decode);
        assert_eq!(decode.len(), 1, "{report}");
        assert!(
            decode[0]
                .1
                .contains(r#"at /products/0/text/name: expected "Filtre", got "Filter""#),
            "{}",
            decode[0].1
        );
    }

    #[test]
    fn a_missing_required_diagnostic_is_a_failure() {
        let mut files = good_fixtures();
        files.retain(|(name, _)| *name != "lines/no-equals.rejected.json");
        files.push((
            "lines/no-equals.rejected.json",
            br#"[{"path":"/lines/1","code":"lines.no_equals"}]"#,
        ));
        let dir = Scratch::with(&files);
        let report = run(&module(), &dir.0);
        let decode = failures_of(&report, CheckKind::Decode);
        assert_eq!(decode.len(), 1, "{report}");
        assert!(
            decode[0].1.contains("[lines.no_equals] at /lines/1"),
            "{}",
            decode[0].1
        );
        assert!(
            decode[0].1.contains("at /lines/2"),
            "shows what the adapter said"
        );
    }

    #[test]
    fn accepting_what_should_be_rejected_is_a_failure() {
        let mut files = good_fixtures();
        files.push(("lines/fine.txt", b"A=B\n"));
        files.push((
            "lines/fine.rejected.json",
            br#"[{"code":"lines.no_equals"}]"#,
        ));
        let dir = Scratch::with(&files);
        let report = run(&module(), &dir.0);
        let decode = failures_of(&report, CheckKind::Decode);
        assert_eq!(decode.len(), 1, "{report}");
        assert!(decode[0].1.contains("but it decoded"), "{}", decode[0].1);
    }

    #[test]
    fn a_lossy_encoding_fails_the_round_trip() {
        let mut files = good_fixtures();
        files.push(("lines/two.config.json", br#"{"lossy":true}"#));
        let dir = Scratch::with(&files);
        let report = run(&module(), &dir.0);
        let round_trip = failures_of(&report, CheckKind::RoundTrip);
        assert_eq!(round_trip.len(), 1, "{report}");
        assert!(
            round_trip[0]
                .1
                .contains(r#"at /products/0/text/name: expected "Filter""#),
            "{}",
            round_trip[0].1
        );
    }

    #[test]
    fn encoded_bytes_are_compared_exactly() {
        let mut files = good_fixtures();
        files.retain(|(name, _)| *name != "count/one.encoded.txt");
        files.push(("count/one.encoded.txt", b"1\r\n"));
        let dir = Scratch::with(&files);
        let report = run(&module(), &dir.0);
        let encode = failures_of(&report, CheckKind::Encode);
        assert_eq!(encode.len(), 1, "{report}");
        assert!(
            encode[0].1.contains("first difference at byte 1 (line 1"),
            "{}",
            encode[0].1
        );
    }

    #[test]
    fn every_declared_message_needs_fixtures() {
        let dir = Scratch::with(&[("lines/two.txt", b"A1=Filter\n"), (
            "lines/two.expected.json",
            br#"{"contract":"product-list/v1","products":[{"sku":"A1","text":{"name":"Filter"}}]}"#,
        )]);
        let report = run(&module(), &dir.0);
        let coverage = failures_of(&report, CheckKind::Coverage);
        assert_eq!(coverage.len(), 1, "{report}");
        assert_eq!(coverage[0].0, "count");
        assert!(coverage[0].1.contains("no fixtures for message `count`"));

        let empty = Scratch::with(&[]);
        let report = run(&module(), &empty.0);
        let coverage = failures_of(&report, CheckKind::Coverage);
        assert!(
            coverage
                .iter()
                .any(|(_, why)| why.contains("no fixtures for message `lines`"))
        );
    }

    #[test]
    fn misplaced_fixtures_are_reported_not_skipped() {
        let mut files = good_fixtures();
        files.extend([
            ("lines/typo.expected.json", GOOD_EXPECTED),
            ("lines/undeclared.txt", b"A=B\n"),
            ("lines/twice.txt", b"A=B\n"),
            ("lines/twice.csv", b"A=B\n"),
            ("lines/nested/x.txt", b"A=B\n"),
            ("lines/both.txt", b"A=B\n"),
            ("lines/both.encode.json", COUNT_DOC),
            ("count/decoded.txt", b"1\n"),
            ("unknown-message/x.txt", b"A=B\n"),
        ]);
        let dir = Scratch::with(&files);
        let report = run(&module(), &dir.0);
        let problems = failures_of(&report, CheckKind::Fixtures);
        let cases: Vec<&str> = problems.iter().map(|(case, _)| case.as_str()).collect();
        assert_eq!(
            cases,
            [
                "unknown-message",
                "count/decoded",
                "lines/nested",
                "lines/both",
                "lines/twice",
                "lines/typo",
                "lines/undeclared"
            ],
            "{report}"
        );
        let nested = &problems[2];
        assert!(nested.1.contains("nested folders"), "{}", nested.1);
    }

    #[test]
    fn an_unreadable_fixtures_folder_is_a_failure_not_a_panic() {
        let report = run(&module(), "/nonexistent/tradewire/fixtures");
        assert!(!report.passed());
        assert!(
            report
                .to_string()
                .contains("cannot read the fixtures folder")
        );
    }

    #[test]
    fn bad_fixture_files_are_failures() {
        let mut files = good_fixtures();
        files.retain(|(name, _)| !name.starts_with("lines/two."));
        files.extend([
            ("lines/two.txt", b"A1=Filter\n".as_slice()),
            ("lines/two.expected.json", b"{not json"),
            ("lines/config.txt", b"A=B\n"),
            ("lines/config.expected.json", GOOD_EXPECTED),
            ("lines/config.config.json", br#"{"colour":"blue"}"#),
            ("lines/empty-list.txt", b"A=B\n"),
            ("lines/empty-list.rejected.json", b"[]"),
        ]);
        let dir = Scratch::with(&files);
        let report = run(&module(), &dir.0);
        let decode = failures_of(&report, CheckKind::Decode);
        let by_case: BTreeMap<&str, &str> = decode
            .iter()
            .map(|(case, why)| (case.as_str(), why.as_str()))
            .collect();
        assert!(by_case["lines/two"].contains("is not a canonical `product-list/v1` document"));
        assert!(by_case["lines/config"].contains("the adapter refused lines/config.config.json"));
        assert!(by_case["lines/empty-list"].contains("is empty; name at least one diagnostic"));
    }

    #[test]
    #[should_panic(expected = "FAILED  decode      lines/two")]
    fn assert_passed_lists_the_failures() {
        let mut files = good_fixtures();
        files.push(("lines/two.config.json", br#"{"panic_on":"Filter"}"#));
        let dir = Scratch::with(&files);
        run(&module(), &dir.0).assert_passed();
    }

    #[test]
    fn variants_are_deterministic_distinct_and_cover_the_hostile_bytes() {
        let input = b"sku,name\nA1,Filter\nB2,Pump\n";
        let variants = malformed_variants(input);
        assert_eq!(variants, malformed_variants(input));
        let distinct: HashSet<&Vec<u8>> = variants.iter().map(|(_, v)| v).collect();
        assert_eq!(distinct.len(), variants.len());
        assert!(variants.iter().any(|(_, v)| v.is_empty()));
        for byte in HOSTILE_BYTES {
            let with_byte = variants
                .iter()
                .filter(|(_, v)| v.len() > input.len() && v.contains(&byte))
                .count();
            assert!(with_byte >= 3, "{byte:#x} inserted at 3 places");
        }
        let from_empty = malformed_variants(b"");
        assert_eq!(
            from_empty.len(),
            HOSTILE_BYTES.len(),
            "one insertion per byte"
        );
        assert!(from_empty.iter().all(|(_, v)| v.len() == 1));
    }

    #[test]
    fn file_names_map_to_cases_and_roles() {
        assert_eq!(classify("a.csv"), Some(("a", Role::Input)));
        assert_eq!(classify("v1.2.csv"), Some(("v1.2", Role::Input)));
        assert_eq!(classify("noext"), Some(("noext", Role::Input)));
        assert_eq!(classify("a.expected.json"), Some(("a", Role::Expected)));
        assert_eq!(classify("a.rejected.json"), Some(("a", Role::Rejected)));
        assert_eq!(classify("a.config.json"), Some(("a", Role::Config)));
        assert_eq!(classify("a.encode.json"), Some(("a", Role::Encode)));
        assert_eq!(classify("a.encoded.csv"), Some(("a", Role::Encoded)));
        assert_eq!(classify(".gitkeep"), None);
        assert_eq!(classify("README.md"), None);
    }
}
