//! An account's hook URL allow-list: `https://srm.example.com/*`, `https://*.coupahost.com/*`.

use std::fmt;

use tradewire_core::check_hook_url;

/// One allowed pattern: a scheme, a host (`*.` in front stands for one or more labels),
/// an optional port, and a path in which `*` stands for anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookUrlPattern {
    text: String,
    scheme: String,
    host: HostPattern,
    port: Option<String>,
    path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`: any host ending in `.example.com`, not `example.com` itself.
    Subdomains(String),
}

/// A URL taken apart as a browser reads it.
struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<&'a str>,
    /// From the first `/` on, query included; `/` when there is none.
    path: &'a str,
}

/// `url`'s scheme, host, port and path, once [`check_hook_url`] has found it absolute,
/// http(s), with a host and nothing a browser would read otherwise. The host is what
/// follows the last `@` of the authority: `https://srm.example.com@evil.example/` goes to
/// `evil.example`.
fn parts(url: &str) -> Option<Parts<'_>> {
    let url = check_hook_url(url).ok()?;
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    // An IPv6 host is bracketed, and holds colons of its own.
    let port_at = match host_port.rfind(']') {
        Some(bracket) => host_port[bracket..].find(':').map(|i| bracket + i),
        None => host_port.rfind(':'),
    };
    let (host, port) = match port_at {
        Some(at) => (&host_port[..at], Some(&host_port[at + 1..])),
        None => (host_port, None),
    };
    Some(Parts {
        scheme,
        host,
        port,
        path: if path.is_empty() { "/" } else { path },
    })
}

impl HookUrlPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        let why = |what: &str| format!("`{text}` is not a hook URL pattern: {what}");
        let url = text.trim();
        let parts = parts(url).ok_or_else(|| {
            why("write an absolute http(s) URL, e.g. `https://srm.example.com/*`")
        })?;
        if url.contains('@') {
            return Err(why("a pattern names a host, without user or password"));
        }
        let host = parts.host.to_ascii_lowercase();
        let host = match host.strip_prefix("*.") {
            Some(rest) if !rest.is_empty() && !rest.contains('*') => {
                HostPattern::Subdomains(format!(".{rest}"))
            }
            _ if host.contains('*') => {
                return Err(why(
                    "`*` in a host only as a whole first label (`*.example.com`)",
                ));
            }
            _ => HostPattern::Exact(host),
        };
        Ok(Self {
            text: url.to_owned(),
            scheme: parts.scheme.to_ascii_lowercase(),
            host,
            port: parts.port.map(str::to_owned),
            path: parts.path.to_owned(),
        })
    }

    /// Whether `url` (a hook URL as a login sent it) is allowed by this pattern. A URL
    /// [`check_hook_url`] refuses matches nothing.
    pub fn matches(&self, url: &str) -> bool {
        let Some(parts) = parts(url) else {
            return false;
        };
        let host = parts.host.to_ascii_lowercase();
        let host_matches = match &self.host {
            HostPattern::Exact(exact) => host == *exact,
            HostPattern::Subdomains(suffix) => {
                host.len() > suffix.len() && host.ends_with(suffix.as_str())
            }
        };
        parts.scheme.eq_ignore_ascii_case(&self.scheme)
            && host_matches
            && parts.port == self.port.as_deref()
            && wildcard_matches(&self.path, parts.path)
    }
}

impl fmt::Display for HookUrlPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters.
fn wildcard_matches(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(pattern: &str, url: &str) -> bool {
        match HookUrlPattern::parse(pattern) {
            Ok(pattern) => pattern.matches(url),
            Err(why) => panic!("{why}"),
        }
    }

    #[test]
    fn a_host_and_path_pattern_allows_what_it_names_only() {
        let p = "https://srm.example.com/*";
        assert!(allowed(
            p,
            "https://srm.example.com/sap/bc/hook?sap-client=100"
        ));
        assert!(allowed(p, "HTTPS://SRM.example.com/"));
        assert!(allowed(p, "https://srm.example.com"));
        assert!(!allowed(p, "http://srm.example.com/hook"), "another scheme");
        assert!(
            !allowed(p, "https://srm.example.com:8443/hook"),
            "another port"
        );
        assert!(!allowed(p, "https://srm.example.com.evil.example/hook"));
        assert!(!allowed(p, "https://srm.example.com@evil.example/hook"));
        assert!(!allowed(p, "https://evil.example/https://srm.example.com/"));
        assert!(!allowed(p, "javascript:alert(1)//https://srm.example.com/"));
        assert!(!allowed(p, "https://srm.example.com/a b"));
    }

    #[test]
    fn a_wildcard_host_allows_subdomains_only() {
        let p = "https://*.coupahost.com/*";
        assert!(allowed(p, "https://acme.coupahost.com/punchout/hook"));
        assert!(allowed(p, "https://a.b.coupahost.com/"));
        assert!(!allowed(p, "https://coupahost.com/"));
        assert!(!allowed(p, "https://evilcoupahost.com/"));
        assert!(!allowed(p, "https://coupahost.com.evil.example/"));
        assert!(!allowed(p, "https://evil.example/.coupahost.com/"));
    }

    #[test]
    fn paths_match_with_stars_anywhere() {
        assert!(allowed(
            "https://srm.example/sap/*/hook",
            "https://srm.example/sap/x/y/hook"
        ));
        assert!(!allowed(
            "https://srm.example/sap/*/hook",
            "https://srm.example/sap/x/hooks"
        ));
        assert!(allowed(
            "https://srm.example/hook",
            "https://srm.example/hook"
        ));
        assert!(!allowed(
            "https://srm.example/hook",
            "https://srm.example/hook2"
        ));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "srm.example.com/*",
            "ftp://srm.example.com/*",
            "https://*/",
            "https://srm.*.com/",
            "https://user@srm.example.com/",
        ] {
            assert!(HookUrlPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
