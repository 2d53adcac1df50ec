//! A sink's optional `encode`: the canonical document turned into a protocol's bytes by an
//! adapter, on the blocking pool.

use std::borrow::Cow;

use tradewire_sdk::{CallError, Direction};

use super::SendOutcome;
use crate::adapter::{AdapterRef, BoundAdapter, bind_optional};
use crate::{BuildContext, ConfigError};

/// The media type of the canonical document, sent when a sink has no `encode`.
pub const CANONICAL_MEDIA_TYPE: &str = "application/json";

/// What a sink sends: the canonical JSON as is, or an adapter's encoding of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Encoder {
    adapter: Option<BoundAdapter>,
}

/// A document ready to send, and its media type.
#[derive(Debug)]
pub(crate) struct Encoded<'a> {
    pub bytes: Cow<'a, [u8]>,
    pub media_type: &'a str,
}

impl Encoder {
    /// Binds `encode` if there is one; error paths start with `encode`.
    pub fn bind(
        encode: Option<&AdapterRef>,
        cx: &BuildContext<'_>,
    ) -> Result<Self, Vec<ConfigError>> {
        let adapter = bind_optional(encode, Direction::Encode, "encode", cx)?;
        Ok(Self { adapter })
    }

    /// The bytes to send for `payload` (canonical JSON). A refusal or an adapter failure is
    /// the attempt's outcome, permanent: the same document would be refused again.
    pub async fn encode<'a>(&'a self, payload: &'a [u8]) -> Result<Encoded<'a>, SendOutcome> {
        let Some(adapter) = &self.adapter else {
            return Ok(Encoded {
                bytes: Cow::Borrowed(payload),
                media_type: CANONICAL_MEDIA_TYPE,
            });
        };
        let instance = adapter.instance.clone();
        let message = adapter.message.clone();
        let document = payload.to_vec();
        let call = tokio::task::spawn_blocking(move || instance.encode(&message, &document)).await;
        match call {
            Ok(Ok(reply)) => {
                if !reply.warnings.is_empty() {
                    tracing::debug!(warnings = %reply.warnings, "encoded with warnings");
                }
                Ok(Encoded {
                    bytes: Cow::Owned(reply.bytes),
                    media_type: &adapter.media_type,
                })
            }
            Ok(Err(error)) => Err(SendOutcome::Permanent {
                status: None,
                detail: refusal(&error),
            }),
            // The blocking pool shut down before the call ran: the document is not at fault.
            Err(join) if join.is_cancelled() => Err(SendOutcome::Temporary {
                status: None,
                detail: "the encode call was cancelled (shutting down)".to_owned(),
                retry_after: None,
            }),
            Err(join) => Err(SendOutcome::Permanent {
                status: None,
                detail: format!("the encode call panicked: {join}"),
            }),
        }
    }
}

fn refusal(error: &CallError) -> String {
    match error {
        CallError::Rejected(diagnostics) => format!("encode refused:\n{diagnostics}"),
        CallError::Failed(diagnostics) | CallError::Unsupported(diagnostics) => {
            format!("encode failed (adapter error):\n{diagnostics}")
        }
    }
}
