//! Diagnostics: how every failure on outside input is reported.
//!
//! Bad input is normal input in this field, so a failure is a value, never a panic:
//! a list of [`Diagnostic`]s, each with a path into the document, a stable code and a
//! message for people. The path is a JSON Pointer into the canonical document
//! (`/lines/0/quantity`) or the protocol's own field name (`NEW_ITEM-PRICE[3]`).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How bad a diagnostic is. Errors reject the input; warnings accompany accepted input.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One finding about one place in a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Where: a JSON Pointer into the canonical document, or the protocol's field name.
    pub path: String,
    /// What, as a stable machine-readable code (`order.total_mismatch`, `oci.field_too_long`).
    pub code: String,
    /// Why, for people.
    pub message: String,
}

impl Diagnostic {
    pub fn error(
        path: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            path: path.into(),
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn warning(
        path: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(path, code, message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        let path = if self.path.is_empty() {
            "(document)"
        } else {
            &self.path
        };
        write!(f, "{severity}[{}] at {path}: {}", self.code, self.message)
    }
}

/// An ordered collection of diagnostics, also used as the builder while checking input.
///
/// `finish` turns a checked value into an [`Outcome`]: rejected when any error was
/// recorded, accepted (with the warnings) otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn one(diagnostic: Diagnostic) -> Self {
        Self(vec![diagnostic])
    }

    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn error(
        &mut self,
        path: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(Diagnostic::error(path, code, message));
    }

    pub fn warning(
        &mut self,
        path: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.push(Diagnostic::warning(path, code, message));
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }

    /// Appends `other`, prefixing each path with `prefix` (a JSON Pointer of the
    /// sub-document `other` was computed for).
    pub fn extend_under(&mut self, prefix: &str, other: Diagnostics) {
        self.0.extend(other.0.into_iter().map(|mut d| {
            d.path = format!("{prefix}{}", d.path);
            d
        }));
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }

    /// Accepts `value` with the recorded warnings, or rejects it when an error was recorded.
    pub fn finish<T>(self, value: T) -> Outcome<T> {
        if self.has_errors() {
            Err(self)
        } else {
            Ok(Accepted {
                value,
                warnings: self,
            })
        }
    }

    /// `Ok(())` when no error was recorded; the diagnostics otherwise.
    pub fn into_result(self) -> Result<Diagnostics, Diagnostics> {
        if self.has_errors() {
            Err(self)
        } else {
            Ok(self)
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Self::one(diagnostic)
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        Self(diagnostics)
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// A value that passed its checks, with the warnings found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted<T> {
    pub value: T,
    pub warnings: Diagnostics,
}

impl<T> Accepted<T> {
    pub fn new(value: T) -> Self {
        Self {
            value,
            warnings: Diagnostics::new(),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Accepted<U> {
        Accepted {
            value: f(self.value),
            warnings: self.warnings,
        }
    }
}

/// The result of checking outside input: accepted with warnings, or rejected with diagnostics
/// (at least one of which is an error).
pub type Outcome<T> = Result<Accepted<T>, Diagnostics>;

/// Escapes one JSON Pointer reference token (RFC 6901).
pub fn pointer_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1").into()
    } else {
        token.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_rejects_only_on_errors() {
        let mut d = Diagnostics::new();
        d.warning("/a", "w", "just a warning");
        let accepted = d.clone().finish(1).expect("warnings alone accept");
        assert_eq!(accepted.warnings.len(), 1);
        d.error("/b", "e", "an error");
        let rejected = d.finish(1).expect_err("an error rejects");
        assert_eq!(rejected.len(), 2);
    }

    #[test]
    fn extend_under_prefixes_paths() {
        let mut outer = Diagnostics::new();
        outer.extend_under(
            "/lines/3",
            Diagnostic::error("/quantity", "q", "bad").into(),
        );
        assert_eq!(outer.as_slice()[0].path, "/lines/3/quantity");
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(pointer_token("a/b~c"), "a~1b~0c");
        assert_eq!(pointer_token("plain"), "plain");
    }

    #[test]
    fn display_names_code_and_path() {
        let d = Diagnostic::error(
            "/lines/0/quantity",
            "order.quantity_not_positive",
            "must be > 0",
        );
        assert_eq!(
            d.to_string(),
            "error[order.quantity_not_positive] at /lines/0/quantity: must be > 0"
        );
    }
}
