//! The context of a call (ABI 1.1): what a decode or encode knows beyond its bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tradewire_core::{Diagnostic, Diagnostics, PunchoutSession, from_json_with_paths};

/// What a call knows beyond its bytes: the transport's metadata and the values the
/// runtime holds for it. It crosses the library boundary as JSON.
///
/// The document only grows: every field has a default and a reader ignores fields it
/// does not know, so a host and a library of different SDK releases read each other's.
/// `version` changes only if a field's meaning ever must; a library refuses a context
/// of a newer version rather than misread it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallContext {
    /// The rules this document follows: [`CallContext::VERSION`] when written.
    pub version: u32,
    /// The `Content-Type` the input came with, parameters included: the `charset` of a
    /// form body, the `boundary` of a multipart one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Headers of the request the input came in, by lower-case name (a repeated header's
    /// values joined with `, `): those the runtime passes on for the adapter.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The punchout session the call belongs to, when the runtime holds one: a cart on
    /// its way back to the procurement system that opened the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub punchout_session: Option<PunchoutSession>,
}

/// Shows header names only: a header such as `authorization` carries a secret, and
/// secrets never print.
impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("version", &self.version)
            .field("content_type", &self.content_type)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("punchout_session", &self.punchout_session)
            .finish()
    }
}

impl Default for CallContext {
    fn default() -> Self {
        Self {
            version: Self::VERSION,
            content_type: None,
            headers: BTreeMap::new(),
            punchout_session: None,
        }
    }
}

impl CallContext {
    /// The version this SDK writes and reads.
    pub const VERSION: u32 = 1;

    /// The JSON that crosses the boundary.
    pub fn to_json(&self) -> Vec<u8> {
        // Cannot fail: string keys only, and writing to a `Vec` does not fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a context as it crossed the boundary; empty input is the default context.
    /// Diagnostic paths point into the context document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Diagnostics> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let context: Self = from_json_with_paths(bytes)?;
        if context.version > Self::VERSION {
            return Err(Diagnostic::error(
                "/version",
                "context.version_unsupported",
                format!(
                    "call context version {} is newer than this library reads ({})",
                    context.version,
                    Self::VERSION
                ),
            )
            .into());
        }
        Ok(context)
    }

    /// [`Self::from_json`] of the context a call came with, its diagnostics under
    /// `/context` so that they are not taken for the input's.
    pub(crate) fn from_call(bytes: &[u8]) -> Result<Self, Diagnostics> {
        Self::from_json(bytes).map_err(|found| {
            let mut under = Diagnostics::new();
            under.extend_under("/context", found);
            under
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradewire_core::Secret;

    #[test]
    fn header_values_never_print() {
        let mut context = CallContext::default();
        context
            .headers
            .insert("authorization".into(), "Bearer hunter2".into());
        let shown = format!("{context:?}");
        assert!(shown.contains("authorization"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn a_context_round_trips_and_the_default_is_short() {
        let context = CallContext {
            content_type: Some("application/x-www-form-urlencoded; charset=ISO-8859-1".into()),
            headers: BTreeMap::from([("x-request-id".into(), "r-17".into())]),
            punchout_session: Some(PunchoutSession {
                username: "buyer".into(),
                password: Secret::new("hunter2"),
                hook_url: "https://srm.example/hook".into(),
                ..PunchoutSession::default()
            }),
            ..CallContext::default()
        };
        assert_eq!(CallContext::from_json(&context.to_json()), Ok(context));
        assert_eq!(CallContext::default().to_json(), br#"{"version":1}"#);
    }

    #[test]
    fn missing_and_unknown_fields_are_read_as_an_older_or_newer_peer_wrote_them() {
        assert_eq!(CallContext::from_json(b""), Ok(CallContext::default()));
        assert_eq!(CallContext::from_json(b"{}"), Ok(CallContext::default()));
        let newer = br#"{"version":1,"content_type":"text/xml","added_later":{"x":1}}"#;
        assert_eq!(
            CallContext::from_json(newer).map(|c| c.content_type),
            Ok(Some("text/xml".into()))
        );
    }

    #[test]
    fn a_newer_version_or_a_wrong_type_is_refused_with_its_path() {
        let refused = CallContext::from_json(br#"{"version":2}"#).expect_err("newer");
        assert_eq!(refused.as_slice()[0].code, "context.version_unsupported");
        assert_eq!(refused.as_slice()[0].path, "/version");

        let refused = CallContext::from_json(br#"{"headers":{"accept":7}}"#).expect_err("type");
        assert_eq!(refused.as_slice()[0].path, "/headers/accept");
    }
}
