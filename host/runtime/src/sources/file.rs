//! Source `file`: documents dropped as files in a directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use tokio::sync::watch;
use tradewire_sdk::CallContext;

use crate::adapter::AdapterRef;
use crate::health::Health;
use crate::ingest::{Ingest, Input, Outcome, content_hash};

/// Takes each file that appears in `directory` (matching `pattern`) as one document. A file
/// moves to `done/` once committed; a refused one moves to `failed/` with a
/// `<name>.error.json` beside it saying why (and is kept as a dead letter).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// The directory to watch (relative paths are from the pipeline file's directory).
    pub directory: PathBuf,
    /// Which file names to take, as a glob (`*.xml`). Names starting with `.` are never
    /// taken: write a file under such a name, then rename it.
    #[serde(default = "default_pattern")]
    pub pattern: String,
    /// The adapter message that reads a file; without one, files are canonical JSON.
    #[serde(default)]
    pub decode: Option<AdapterRef>,
    /// How often the directory is listed, in milliseconds.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// A file last modified less than this many milliseconds ago is left for the next
    /// listing: it may still be being written.
    #[serde(default = "default_min_age_ms")]
    pub min_age_ms: u64,
    /// Files larger than this are refused.
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
}

fn default_pattern() -> String {
    "*".to_owned()
}

fn default_poll_interval_ms() -> u64 {
    500
}

fn default_min_age_ms() -> u64 {
    500
}

fn default_max_file_bytes() -> u64 {
    64 << 20
}

/// Watches one directory for one `file` source.
pub struct FileWatcher {
    pub name: String,
    pub source: usize,
    pub config: FileSourceConfig,
    /// `directory`, resolved against the pipeline file.
    pub directory: PathBuf,
    pub health: Health,
}

impl FileWatcher {
    pub fn done_dir(&self) -> PathBuf {
        self.directory.join("done")
    }

    pub fn failed_dir(&self) -> PathBuf {
        self.directory.join("failed")
    }

    /// Creates the directories, so that a start with an unwritable directory fails at once.
    pub fn prepare(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.done_dir())?;
        std::fs::create_dir_all(self.failed_dir())
    }

    /// Takes files until `shutdown` turns true; a file being taken when it does is finished.
    pub async fn run(self, ingest: Ingest, mut shutdown: watch::Receiver<bool>) {
        let pattern = match glob::Pattern::new(&self.config.pattern) {
            Ok(p) => p,
            Err(e) => {
                self.health
                    .set_failing(&self.name, &format!("pattern: {e}"));
                return;
            }
        };
        let interval = Duration::from_millis(self.config.poll_interval_ms.max(10));
        while !*shutdown.borrow() {
            match self.ready_files(&pattern).await {
                Ok(files) => {
                    self.health.set_ok(&self.name);
                    for file in files {
                        if *shutdown.borrow() {
                            break;
                        }
                        if let Err(e) = self.take(&ingest, &file).await {
                            tracing::error!(source = %self.name, file = %file.display(), error = %e, "cannot take a file; it stays for the next listing");
                            self.health.set_failing(&self.name, &e.to_string());
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(source = %self.name, directory = %self.directory.display(), error = %e, "cannot list the directory");
                    self.health.set_failing(
                        &self.name,
                        &format!("cannot list {}: {e}", self.directory.display()),
                    );
                }
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Files matching the pattern, not hidden, and left alone for `min_age_ms`, by name.
    async fn ready_files(&self, pattern: &glob::Pattern) -> std::io::Result<Vec<PathBuf>> {
        let min_age = Duration::from_millis(self.config.min_age_ms);
        let mut entries = tokio::fs::read_dir(&self.directory).await?;
        let mut files = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') || !pattern.matches(name) {
                continue;
            }
            let Ok(metadata) = entry.metadata().await else {
                continue;
            };
            let settled = metadata
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_none_or(|age| age >= min_age);
            if metadata.is_file() && settled {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(files)
    }

    async fn take(&self, ingest: &Ingest, path: &Path) -> std::io::Result<()> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("file")
            .to_owned();
        let size = tokio::fs::metadata(path).await?.len();
        let outcome = if size > self.config.max_file_bytes {
            let why = format!(
                "the file is {size} bytes, over the source's {} (`max_file_bytes`)",
                self.config.max_file_bytes
            );
            ingest.refuse_unread(self.source, &why).await
        } else {
            let raw = tokio::fs::read(path).await?;
            let fallback_key = Some(format!("{name}#{}", content_hash(&raw)));
            let context = CallContext::default();
            ingest
                .take(
                    self.source,
                    Input {
                        raw,
                        decoded: None,
                        context,
                        key: None,
                        fallback_key,
                    },
                )
                .await
        };
        match outcome {
            Outcome::Accepted { .. } | Outcome::Duplicate { .. } => {
                move_aside(path, &self.done_dir(), &name).await.map(drop)
            }
            Outcome::Refused { reply, .. } | Outcome::Conflict { reply } => {
                let moved = move_aside(path, &self.failed_dir(), &name).await?;
                let mut report = moved.into_os_string();
                report.push(".error.json");
                write_atomically(Path::new(&report), &reply.body).await
            }
            Outcome::Unavailable { reply } => Err(std::io::Error::other(
                String::from_utf8_lossy(&reply.body).into_owned(),
            )),
        }
    }
}

/// Moves `file` into `directory`, under its name unless a file of that name is there from
/// before (then with a number added). Returns where it went.
async fn move_aside(file: &Path, directory: &Path, name: &str) -> std::io::Result<PathBuf> {
    let mut target = directory.join(name);
    let mut n = 1;
    while tokio::fs::try_exists(&target).await? {
        target = directory.join(format!("{name}.{n}"));
        n += 1;
    }
    tokio::fs::rename(file, &target).await?;
    Ok(target)
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    tokio::fs::write(&temporary, bytes).await?;
    tokio::fs::rename(&temporary, path).await
}
