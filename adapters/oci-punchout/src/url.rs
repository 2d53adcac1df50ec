//! The hook URL: the only place a cart may go.

use tradewire_sdk::Diagnostic;
use tradewire_sdk::core::{HookUrlError, check_hook_url as check, redact_userinfo};

/// The hook URL, checked by the canonical model's rule ([`check`]: an absolute `http` or
/// `https` URL with a host, nothing a browser reads differently from what is shown), with
/// the diagnostic at `path` in this protocol's terms.
pub fn check_hook_url<'a>(path: &str, url: &'a str) -> Result<&'a str, Diagnostic> {
    check(url).map_err(|why| match why {
        HookUrlError::Missing => Diagnostic::error(
            path,
            "oci.hook_url_missing",
            "hook_url is required: the cart goes back there",
        ),
        why => Diagnostic::error(
            path,
            "oci.hook_url_not_http",
            format!(
                "the hook_url {:?} {why}",
                shorten(&redact_userinfo(url.trim()))
            ),
        ),
    })
}

/// The URL split into the form action (without query and fragment) and its query string.
pub fn split_query(url: &str) -> (&str, &str) {
    let without_fragment = url.split('#').next().unwrap_or(url);
    match without_fragment.split_once('?') {
        Some((action, query)) => (action, query),
        None => (without_fragment, ""),
    }
}

/// The start of a value quoted in a message; enough to find it, not enough to flood a log.
pub fn shorten(value: &str) -> String {
    const QUOTED_CHARS: usize = 60;
    match value.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_pass() {
        for good in [
            "https://srm.example/sap/bc/gui/sap/its/bbpsc02?sap-client=100",
            "HTTP://return.to/me",
            " http://user@host:8080/path#frag ",
        ] {
            assert!(check_hook_url("hook_url", good).is_ok(), "{good}");
        }
    }

    #[test]
    fn credentials_in_a_refused_url_are_not_quoted() {
        let found = check_hook_url("hook_url", "ftp://buyer:hunter2@files.example/").unwrap_err();
        assert!(!found.message.contains("hunter2"), "{}", found.message);
        assert!(
            found.message.contains("ftp://***@files.example/"),
            "{}",
            found.message
        );
    }

    #[test]
    fn everything_else_is_refused_with_a_code() {
        for (bad, code) in [
            ("", "oci.hook_url_missing"),
            ("   ", "oci.hook_url_missing"),
            ("javascript:alert(1)", "oci.hook_url_not_http"),
            ("JavaScript://%0aalert(1)", "oci.hook_url_not_http"),
            ("data:text/html,<script>", "oci.hook_url_not_http"),
            ("/relative/hook", "oci.hook_url_not_http"),
            ("ftp://files.example/", "oci.hook_url_not_http"),
            ("https://", "oci.hook_url_not_http"),
            ("https:///path", "oci.hook_url_not_http"),
            ("https://exa mple/", "oci.hook_url_not_http"),
            ("https://a\\b/", "oci.hook_url_not_http"),
            ("https://a/\u{1}", "oci.hook_url_not_http"),
        ] {
            let found = check_hook_url("hook_url", bad).expect_err(bad);
            assert_eq!(found.code, code, "{bad:?}");
            assert_eq!(found.path, "hook_url");
        }
    }

    #[test]
    fn the_query_is_split_off_and_the_fragment_dropped() {
        assert_eq!(
            split_query("https://srm/hook?sap-client=100&x=1#top"),
            ("https://srm/hook", "sap-client=100&x=1")
        );
        assert_eq!(split_query("https://srm/hook"), ("https://srm/hook", ""));
    }
}
