//! The punchout session a procurement system opens on a catalogue.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Diagnostics;

/// A secret that must never reach a log or a diagnostic: `Debug` and `Display` print
/// `***`. It still serialises in full, because the host needs it to authenticate.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the code that must send it on.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` is this secret, compared in time that depends on the lengths
    /// only, not on where the two first differ: a caller cannot find a secret byte by byte
    /// from how long its guesses take to refuse.
    pub fn matches(&self, candidate: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What the procurement system asks the catalogue to do (OCI `FUNCTION`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PunchoutFunction {
    /// Show one product (`DETAIL`).
    Detail { product_id: String },
    /// Show one product for adding to the cart (`DETAILADD`).
    DetailAdd { product_id: String },
    /// Check a product and quantity and return it as a cart (`VALIDATE`).
    Validate {
        product_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quantity: Option<Decimal>,
    },
    /// Search without showing the catalogue (`BACKGROUND_SEARCH`).
    BackgroundSearch { search_string: String },
    /// Find sources for a product (`SOURCING`).
    Sourcing {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        search_string: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vendor: Option<String>,
    },
    /// Check the quantities of the products in the cart (`QUANTITYCHECK`).
    QuantityCheck,
}

/// The login a procurement system opens on a catalogue (OCI call-up).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PunchoutSession {
    pub username: String,
    pub password: Secret,
    /// Where the cart goes back to.
    pub hook_url: String,
    /// The browser window target for the return (`_top`, `_parent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_target: Option<String>,
    /// The charset the procurement system reads the returned cart in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// BCP 47 / ISO 639 language the catalogue should show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oci_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opi_version: Option<String>,
    /// OCI `~OkCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok_code: Option<String>,
    /// OCI `~TARGET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// OCI `~CALLER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<PunchoutFunction>,
    /// Other call-up parameters, kept by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, String>,
}

impl PunchoutSession {
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        match check_hook_url(&self.hook_url) {
            Ok(_) => {}
            Err(HookUrlError::Missing) => d.error(
                "/hook_url",
                "punchout.hook_url_missing",
                "hook_url is required: the cart goes back there",
            ),
            Err(why) => d.error(
                "/hook_url",
                "punchout.hook_url_not_http",
                format!("hook_url {:?} {why}", redact_userinfo(self.hook_url.trim())),
            ),
        }
        d
    }
}

/// Why a hook URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookUrlError {
    /// Empty or blank.
    Missing,
    /// Not of the form `scheme://...` (a relative path, `javascript:...`).
    NotAbsolute,
    /// A scheme other than `http` or `https`.
    NotHttp,
    /// Spaces, control characters or backslashes, which a browser reads differently from
    /// what is shown.
    UnsafeCharacters,
    /// Nothing between `://` and the path, or only a port.
    NoHost,
}

impl fmt::Display for HookUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "is empty",
            Self::NotAbsolute => "is not an absolute http(s) URL",
            Self::NotHttp => "must use http or https",
            Self::UnsafeCharacters => "contains spaces, control characters or backslashes",
            Self::NoHost => "has no host",
        })
    }
}

impl std::error::Error for HookUrlError {}

/// Checks a punchout hook URL, the only place a cart may go, and returns it trimmed: an
/// absolute `http` or `https` URL with a host, and nothing a browser would read
/// differently from what is shown. Anything else — `javascript:`, `data:`, a relative
/// path — would let a cart page run script or post the cart somewhere unintended.
pub fn check_hook_url(url: &str) -> Result<&str, HookUrlError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(HookUrlError::Missing);
    }
    let (scheme, rest) = url.split_once("://").ok_or(HookUrlError::NotAbsolute)?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(HookUrlError::NotHttp);
    }
    if url
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return Err(HookUrlError::UnsafeCharacters);
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(HookUrlError::NoHost);
    }
    Ok(url)
}

/// `url` fit to quote in a message or log: credentials written into it
/// (`https://user:password@host/`) are replaced by `***`, since a hook URL may carry them
/// and secrets never print.
pub fn redact_userinfo(url: &str) -> Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Cow::Borrowed(url);
    };
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_len].rfind('@') {
        Some(at) => Cow::Owned(format!("{scheme}://***{}", &rest[at..])),
        None => Cow::Borrowed(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let s = PunchoutSession {
            username: "buyer".into(),
            password: Secret::new("hunter2"),
            hook_url: "https://srm.example/hook".into(),
            ..PunchoutSession::default()
        };
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(
            serde_json::to_string(&s)
                .expect("serialise")
                .contains("hunter2")
        );
        assert!(s.validate().is_empty());
    }

    #[test]
    fn a_secret_matches_itself_only() {
        let secret = Secret::new("s3cret-key");
        assert!(secret.matches("s3cret-key"));
        for other in [
            "s3cret-kez",
            "S3cret-key",
            "s3cret-key ",
            "s3cret-ke",
            "s3cret-keyy",
            "",
        ] {
            assert!(!secret.matches(other), "{other:?}");
        }
        let empty = Secret::new("");
        assert!(empty.matches(""));
        assert!(!empty.matches("a"));
        // Bytes, not characters: a multi-byte character is not its first byte.
        assert!(!Secret::new("é").matches("e"));
        assert!(Secret::new("clé").matches("clé"));
    }

    #[test]
    fn http_and_https_hook_urls_pass_trimmed() {
        for (given, kept) in [
            (
                "https://srm.example/sap/bc/gui/sap/its/bbpsc02?sap-client=100",
                "https://srm.example/sap/bc/gui/sap/its/bbpsc02?sap-client=100",
            ),
            ("HTTP://return.to/me", "HTTP://return.to/me"),
            (
                " http://user@host:8080/path#frag ",
                "http://user@host:8080/path#frag",
            ),
            ("https://[2001:db8::1]/hook", "https://[2001:db8::1]/hook"),
        ] {
            assert_eq!(check_hook_url(given), Ok(kept), "{given:?}");
        }
    }

    #[test]
    fn every_other_hook_url_is_refused_with_its_reason() {
        use HookUrlError::*;
        for (bad, why) in [
            ("", Missing),
            ("   ", Missing),
            ("javascript:alert(1)", NotAbsolute),
            ("data:text/html,<script>", NotAbsolute),
            ("/relative/hook", NotAbsolute),
            ("srm.example/hook", NotAbsolute),
            ("JavaScript://%0aalert(1)", NotHttp),
            ("ftp://files.example/", NotHttp),
            ("https://", NoHost),
            ("https:///path", NoHost),
            ("https://?q=1", NoHost),
            ("https://user@/path", NoHost),
            ("https://:8080/", NoHost),
            ("https://exa mple/", UnsafeCharacters),
            ("https://srm.example/a b", UnsafeCharacters),
            ("https://a\\b/", UnsafeCharacters),
            ("https://a/\u{1}", UnsafeCharacters),
            ("https://a/\u{a0}x", UnsafeCharacters),
        ] {
            assert_eq!(check_hook_url(bad), Err(why), "{bad:?}");
        }
    }

    #[test]
    fn credentials_in_a_url_never_print() {
        assert_eq!(
            redact_userinfo("https://buyer:hunter2@srm.example/hook?x=a@b"),
            "https://***@srm.example/hook?x=a@b"
        );
        assert_eq!(redact_userinfo("ftp://u:p@h"), "ftp://***@h");
        for untouched in ["https://srm.example/a@b", "javascript:alert(1)", "", "x@y"] {
            assert_eq!(redact_userinfo(untouched), untouched);
        }
        let session = PunchoutSession {
            hook_url: "javascript://buyer:hunter2@srm.example/hook".into(),
            ..PunchoutSession::default()
        };
        let d = session.validate();
        assert!(!d.to_string().contains("hunter2"), "{d}");
        assert!(d.to_string().contains("***@srm.example"), "{d}");
    }

    #[test]
    fn a_session_refuses_a_hook_url_that_is_not_http_with_a_host() {
        let code = |hook_url: &str| {
            let session = PunchoutSession {
                hook_url: hook_url.into(),
                ..PunchoutSession::default()
            };
            let d = session.validate();
            assert!(d.as_slice().iter().all(|d| d.path == "/hook_url"), "{d}");
            d.as_slice().first().map(|d| d.code.clone())
        };
        assert_eq!(code("https://srm.example/hook"), None);
        assert_eq!(code(""), Some("punchout.hook_url_missing".into()));
        for bad in [
            "javascript:alert(1)",
            "https://",
            "https:///x",
            "https://a b/",
        ] {
            assert_eq!(
                code(bad),
                Some("punchout.hook_url_not_http".into()),
                "{bad:?}"
            );
        }
    }
}
