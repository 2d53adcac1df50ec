//! The `stdout` sink: each document on standard output, one a line.

use std::fmt;
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use schemars::JsonSchema;
use serde::Deserialize;

use super::encode::Encoder;
use super::{Delivery, RetryConfig, SendOutcome, Sink, default_concurrency};
use crate::adapter::AdapterRef;
use crate::{BuildContext, ConfigError};

/// Writes each document to standard output followed by a line break: JSON (the canonical
/// document, or an encoding whose media type is JSON) on one line, other encodings as the
/// adapter wrote them. Documents never interleave.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StdoutSinkConfig {
    /// Encode the canonical document with an adapter before writing; without it the
    /// canonical JSON is written.
    #[serde(default)]
    pub encode: Option<AdapterRef>,
    /// How temporary failures (a write error) are retried.
    #[serde(default)]
    pub retry: RetryConfig,
    /// How many deliveries are attempted at once (encoding runs in parallel; writes one at
    /// a time).
    #[serde(default = "default_concurrency")]
    pub concurrency: NonZeroUsize,
}

impl StdoutSinkConfig {
    /// Binds `encode`. Nothing is written.
    pub fn build(&self, cx: &BuildContext<'_>) -> Result<StdoutSink, Vec<ConfigError>> {
        Ok(StdoutSink::new(
            Encoder::bind(self.encode.as_ref(), cx)?,
            Box::new(io::stdout()),
        ))
    }
}

type Output = Arc<Mutex<Box<dyn Write + Send>>>;

/// The sink built from [`StdoutSinkConfig`].
pub struct StdoutSink {
    encoder: Encoder,
    /// Held for a whole line, so that lines never interleave.
    out: Output,
}

impl fmt::Debug for StdoutSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StdoutSink")
            .field("encoder", &self.encoder)
            .finish_non_exhaustive()
    }
}

impl StdoutSink {
    fn new(encoder: Encoder, out: Box<dyn Write + Send>) -> Self {
        Self {
            encoder,
            out: Arc::new(Mutex::new(out)),
        }
    }
}

#[async_trait::async_trait]
impl Sink for StdoutSink {
    async fn deliver(&self, delivery: Delivery<'_>) -> SendOutcome {
        let line = match self.encoder.encode(delivery.payload).await {
            Ok(encoded) => line(&encoded.bytes, encoded.media_type),
            Err(outcome) => return outcome,
        };
        let out = self.out.clone();
        // A terminal or a pipe may block: the write waits on the blocking pool.
        let written = tokio::task::spawn_blocking(move || {
            let mut out = out.lock().unwrap_or_else(PoisonError::into_inner);
            out.write_all(&line)?;
            out.flush()?;
            Ok::<_, io::Error>(line.len())
        })
        .await;
        match written {
            Ok(Ok(size)) => SendOutcome::Delivered {
                status: None,
                detail: format!("wrote {size} bytes"),
            },
            Ok(Err(error)) => SendOutcome::Temporary {
                status: None,
                detail: format!("cannot write to standard output: {error}"),
                retry_after: None,
            },
            Err(join) => SendOutcome::Temporary {
                status: None,
                detail: format!("the write did not finish: {join}"),
                retry_after: None,
            },
        }
    }
}

/// `bytes` as one line. JSON has line breaks only between tokens (inside strings they are
/// escaped), so dropping them leaves the same document on one line.
fn line(bytes: &[u8], media_type: &str) -> Vec<u8> {
    let mut line: Vec<u8> = if is_json(media_type) {
        bytes
            .iter()
            .copied()
            .filter(|b| !matches!(b, b'\n' | b'\r'))
            .collect()
    } else {
        bytes.to_vec()
    };
    if line.last() != Some(&b'\n') {
        line.push(b'\n');
    }
    line
}

/// `application/json`, or a `+json` type (`application/vnd.api+json`), parameters aside.
fn is_json(media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer the test reads back, and that writes a byte at a time so that unserialized
    /// writers would interleave.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            match buf.first() {
                Some(&byte) => {
                    std::thread::yield_now();
                    self.0
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(byte);
                    Ok(1)
                }
                None => Ok(0),
            }
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn sink(captured: &Captured) -> StdoutSink {
        StdoutSink::new(Encoder::default(), Box::new(captured.clone()))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_documents_never_interleave() {
        let captured = Captured::default();
        let sink = Arc::new(sink(&captured));
        let documents: Vec<String> = (0..40)
            .map(|i| {
                format!(
                    r#"{{"contract":"order/v1","id":"{i}","note":"{}"}}"#,
                    "x".repeat(i * 7)
                )
            })
            .collect();
        let tasks: Vec<_> = documents
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, document)| {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let key = format!("k{i}");
                    sink.deliver(Delivery {
                        document: &i.to_string(),
                        key: &key,
                        payload: document.as_bytes(),
                    })
                    .await
                })
            })
            .collect();
        for task in tasks {
            let outcome = task.await.expect("task");
            assert!(
                matches!(outcome, SendOutcome::Delivered { .. }),
                "{outcome:?}"
            );
        }
        let written = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
        let mut lines: Vec<&str> = written.lines().collect();
        let mut expected: Vec<&str> = documents.iter().map(String::as_str).collect();
        lines.sort_unstable();
        expected.sort_unstable();
        assert_eq!(lines, expected);
    }

    #[tokio::test]
    async fn pretty_json_is_written_on_one_line() {
        let captured = Captured::default();
        let pretty = "{\n  \"contract\": \"order/v1\",\n  \"note\": \"a\\nb\"\r\n}";
        let outcome = sink(&captured)
            .deliver(Delivery {
                document: "1",
                key: "k",
                payload: pretty.as_bytes(),
            })
            .await;
        assert!(
            matches!(outcome, SendOutcome::Delivered { .. }),
            "{outcome:?}"
        );
        let written = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
        assert_eq!(
            written,
            "{  \"contract\": \"order/v1\",  \"note\": \"a\\nb\"}\n"
        );
        let reparsed: serde_json::Value = serde_json::from_str(&written).expect("still JSON");
        assert_eq!(reparsed["note"], "a\nb");
    }

    #[test]
    fn only_json_loses_its_line_breaks() {
        assert_eq!(line(b"{\n}\n", "application/json; charset=utf-8"), b"{}\n");
        assert_eq!(line(b"[1,\n2]", "application/vnd.api+json"), b"[1,2]\n");
        assert_eq!(line(b"<a>\n</a>\n", "application/xml"), b"<a>\n</a>\n");
        assert_eq!(line(b"a;b", "text/csv"), b"a;b\n");
    }
}
