//! The `file` sink: each document in a file of its own, named by a path template, written
//! atomically.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::num::NonZeroUsize;
use std::path::{Component, Path, PathBuf};

use rand::Rng;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::encode::Encoder;
use super::{Delivery, RetryConfig, SendOutcome, Sink, default_concurrency};
use crate::adapter::AdapterRef;
use crate::{BuildContext, ConfigError};

/// The longest file name most file systems take (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// Writes each document to a file of its own. A file appears whole or not at all (written
/// to a temporary file beside it, synced, renamed over it); the same delivery written again
/// replaces it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSinkConfig {
    /// Where each document is written, relative to the working directory unless absolute:
    /// `{{id}}` is the document's id, `{{key}}` the delivery's key, `{{/json/pointer}}` a
    /// string, number or boolean of the canonical document
    /// (`out/{{/delivery_address/country}}/{{id}}.json`).
    /// Each value becomes part of one file name: `%`, `/`, `\`, control characters and a
    /// leading `.` are written `%XX`. Missing directories are created.
    pub path: String,
    /// Encode the canonical document with an adapter before writing; without it the
    /// canonical JSON is written.
    #[serde(default)]
    pub encode: Option<AdapterRef>,
    /// How temporary failures (any I/O error: a full disk, a missing permission) are
    /// retried.
    #[serde(default)]
    pub retry: RetryConfig,
    /// How many deliveries are attempted at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: NonZeroUsize,
}

impl FileSinkConfig {
    /// Checks the template and binds `encode`. Nothing is written.
    pub fn build(&self, cx: &BuildContext<'_>) -> Result<FileSink, Vec<ConfigError>> {
        // A relative template is relative to the pipeline file, like every path in it.
        let path = cx.resolve(Path::new(&self.path));
        let template = path
            .to_str()
            .ok_or_else(|| format!("{} is not UTF-8", path.display()))
            .and_then(PathTemplate::parse)
            .map_err(|why| vec![ConfigError::new(&["path"], why)]);
        let encoder = Encoder::bind(self.encode.as_ref(), cx);
        match (template, encoder) {
            (Ok(template), Ok(encoder)) => Ok(FileSink { template, encoder }),
            (template, encoder) => Err(template
                .err()
                .into_iter()
                .chain(encoder.err())
                .flatten()
                .collect()),
        }
    }
}

/// The sink built from [`FileSinkConfig`].
#[derive(Debug)]
pub struct FileSink {
    template: PathTemplate,
    encoder: Encoder,
}

#[async_trait::async_trait]
impl Sink for FileSink {
    async fn deliver(&self, delivery: Delivery<'_>) -> SendOutcome {
        let path = match self.template.render(&delivery) {
            Ok(path) => path,
            Err(why) => {
                return SendOutcome::Permanent {
                    status: None,
                    detail: why,
                };
            }
        };
        let bytes = match self.encoder.encode(delivery.payload).await {
            Ok(encoded) => encoded.bytes.into_owned(),
            Err(outcome) => return outcome,
        };
        let size = bytes.len();
        let target = path.clone();
        let written = tokio::task::spawn_blocking(move || write_atomically(&target, &bytes)).await;
        match written {
            Ok(Ok(())) => SendOutcome::Delivered {
                status: None,
                detail: format!("wrote {} ({size} bytes)", path.display()),
            },
            Ok(Err(error)) => SendOutcome::Temporary {
                status: None,
                detail: format!("cannot write {}: {error}", path.display()),
                retry_after: None,
            },
            Err(join) => SendOutcome::Temporary {
                status: None,
                detail: format!("the write of {} did not finish: {join}", path.display()),
                retry_after: None,
            },
        }
    }
}

/// `bytes` at `path`, whole or not at all, and durably: a temporary file in the same
/// directory is written and synced, renamed over `path`, and the directory synced so that
/// the rename survives a crash. A temporary file is removed when the write fails; a crash
/// may leave one behind (`.tradewire-*.tmp`).
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path);
    create_dirs(dir)?;
    let temp = dir.join(format!(
        ".tradewire-{:016x}.tmp",
        rand::rng().random::<u64>()
    ));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)?;
        sync_dir(dir)
    })();
    if written.is_err() {
        // Gone already if the rename happened; nothing else is worth reporting.
        let _ = fs::remove_file(&temp);
    }
    written
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Creates `dir` and its missing ancestors, syncing each parent so that the new entries
/// survive a crash.
fn create_dirs(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = parent_dir(dir);
    if parent != dir {
        create_dirs(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        // Another delivery created it meanwhile.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Elsewhere a directory cannot be opened to sync it; the rename is as durable as the file
/// system makes it.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// A `path` template, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PathTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// `{{id}}`
    Document,
    /// `{{key}}`
    Key,
    /// `{{/json/pointer}}`
    Pointer(String),
}

impl PathTemplate {
    fn parse(template: &str) -> Result<Self, String> {
        if template.contains('\0') {
            return Err("contains a NUL character".to_owned());
        }
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return Err(format!(
                    "`{{{{` at byte {} is not closed by `}}}}`",
                    template.len() - rest.len() + open
                ));
            };
            parts.push(Part::placeholder(after[..close].trim())?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        if !parts.iter().any(|part| !matches!(part, Part::Literal(_))) {
            return Err(
                "has no placeholder, so every document would replace the last: \
                        name files with {{id}}, {{key}} or {{/json/pointer}}"
                    .to_owned(),
            );
        }
        // A placeholder ends in a name (its value is never empty); a literal tail after
        // the last `/` must be one.
        let ends_in_a_name = match parts.last() {
            Some(Part::Literal(tail)) => tail
                .rsplit_once('/')
                .is_none_or(|(_, name)| !matches!(name, "" | "." | "..")),
            _ => true,
        };
        if !ends_in_a_name {
            return Err("must end with a file name, not a directory".to_owned());
        }
        Ok(Self { parts })
    }

    /// The path for `delivery`, or why there is none (a permanent failure: the same
    /// document gives the same answer).
    fn render(&self, delivery: &Delivery<'_>) -> Result<PathBuf, String> {
        let needs_document = self.parts.iter().any(|p| matches!(p, Part::Pointer(_)));
        let document: Option<Value> = if needs_document {
            Some(serde_json::from_slice(delivery.payload).map_err(|e| {
                format!("the document is not JSON ({e}), so the path's pointers have no value")
            })?)
        } else {
            None
        };
        let mut path = String::new();
        for part in &self.parts {
            let (placeholder, value) = match part {
                Part::Literal(text) => {
                    path.push_str(text);
                    continue;
                }
                Part::Document => ("{{id}}".to_owned(), delivery.document.to_owned()),
                Part::Key => ("{{key}}".to_owned(), delivery.key.to_owned()),
                Part::Pointer(pointer) => (
                    format!("{{{{{pointer}}}}}"),
                    pointer_value(document.as_ref(), pointer)?,
                ),
            };
            if value.is_empty() {
                return Err(format!(
                    "{placeholder} is empty: no file name can be made of it"
                ));
            }
            push_as_name(&mut path, &value);
        }
        let path = PathBuf::from(path);
        if let Some(long) = path.components().find_map(|c| match c {
            Component::Normal(name) if name.len() > NAME_MAX => Some(name.to_string_lossy()),
            _ => None,
        }) {
            return Err(format!(
                "the file name `{long}` is longer than {NAME_MAX} bytes"
            ));
        }
        Ok(path)
    }
}

impl Part {
    fn placeholder(name: &str) -> Result<Self, String> {
        match name {
            "id" => Ok(Self::Document),
            "key" => Ok(Self::Key),
            pointer if pointer.starts_with('/') => {
                check_pointer(pointer)?;
                Ok(Self::Pointer(pointer.to_owned()))
            }
            other => Err(format!(
                "unknown placeholder `{{{{{other}}}}}`: use {{{{id}}}}, {{{{key}}}} or a JSON \
                 pointer such as {{{{/delivery_address/country}}}}"
            )),
        }
    }
}

/// A JSON pointer's `~` escapes are `~0` (`~`) and `~1` (`/`) only (RFC 6901).
fn check_pointer(pointer: &str) -> Result<(), String> {
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "`{pointer}` is not a JSON pointer: `~` must be followed by 0 or 1"
            ));
        }
    }
    Ok(())
}

/// The text of a string, number or boolean at `pointer`.
fn pointer_value(document: Option<&Value>, pointer: &str) -> Result<String, String> {
    match document.and_then(|d| d.pointer(pointer)) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Number(number)) => Ok(number.to_string()),
        Some(Value::Bool(flag)) => Ok(flag.to_string()),
        Some(Value::Null) | None => Err(format!("{{{{{pointer}}}}} has no value in the document")),
        Some(Value::Array(_) | Value::Object(_)) => Err(format!(
            "{{{{{pointer}}}}} is an array or an object, not a value a file name can hold"
        )),
    }
}

/// Appends `value` so that it stays inside one file name and no two values look alike:
/// `%`, the separators, control characters and a leading `.` (which could make `.` or
/// `..`, or hide the file) are percent-encoded.
fn push_as_name(path: &mut String, value: &str) {
    for (i, c) in value.chars().enumerate() {
        if matches!(c, '%' | '/' | '\\') || c.is_control() || (i == 0 && c == '.') {
            let mut utf8 = [0; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                let _ = write!(path, "%{byte:02X}");
            }
        } else {
            path.push(c);
        }
    }
}
