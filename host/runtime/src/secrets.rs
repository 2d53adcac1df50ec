//! Secrets an input carries, blanked in what the store keeps of it: a cXML order's
//! `SharedSecret` never reaches the store, whichever component took the order.

use crate::adapter::BoundAdapter;
use crate::ingest::BlankSecrets;

/// The blanking for input that `decode` reads: XML input may be cXML, whose credentials
/// carry a `SharedSecret`; other input carries none the runtime knows of.
pub fn blanking_for(decode: Option<&BoundAdapter>) -> Option<BlankSecrets> {
    decode
        .filter(|adapter| adapter.media_type.contains("xml"))
        .map(|_| blank_shared_secrets as BlankSecrets)
}

/// `order` with the text of every `SharedSecret` element replaced by `***`: what the store
/// keeps of an order, since secrets never reach it. The element is found as written in
/// cXML (`<SharedSecret>`, with or without attributes); its content, whatever it is
/// (text, entities, CDATA), goes.
pub fn blank_shared_secrets(order: &[u8]) -> Vec<u8> {
    const OPEN: &[u8] = b"<SharedSecret";
    const CLOSE: &[u8] = b"</SharedSecret";
    let find = |haystack: &[u8], needle: &[u8]| {
        haystack
            .windows(needle.len())
            .position(|window| window == needle)
    };
    let mut kept = Vec::with_capacity(order.len());
    let mut rest = order;
    while let Some(open) = find(rest, OPEN) {
        let after_name = &rest[open + OPEN.len()..];
        // `<SharedSecretX` is another element; `<SharedSecret/>` has no content.
        let tag_end = match after_name.first() {
            Some(b'>' | b' ' | b'\t' | b'\r' | b'\n') => after_name.iter().position(|&b| b == b'>'),
            _ => None,
        };
        let Some(tag_end) = tag_end.filter(|&end| end == 0 || after_name[end - 1] != b'/') else {
            let skip = open + OPEN.len();
            kept.extend_from_slice(&rest[..skip]);
            rest = &rest[skip..];
            continue;
        };
        let content = open + OPEN.len() + tag_end + 1;
        kept.extend_from_slice(&rest[..content]);
        rest = &rest[content..];
        match find(rest, CLOSE) {
            Some(close) => {
                kept.extend_from_slice(b"***");
                rest = &rest[close..];
            }
            // Never closed: everything after the tag could be the secret.
            None => {
                kept.extend_from_slice(b"***");
                rest = &[];
            }
        }
    }
    kept.extend_from_slice(rest);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blanked(order: &str) -> String {
        String::from_utf8(blank_shared_secrets(order.as_bytes())).unwrap_or_default()
    }

    #[test]
    fn shared_secrets_are_blanked_and_nothing_else() {
        assert_eq!(
            blanked(
                "<Sender><Credential><Identity>AN01</Identity><SharedSecret>coyote</SharedSecret></Credential></Sender>"
            ),
            "<Sender><Credential><Identity>AN01</Identity><SharedSecret>***</SharedSecret></Credential></Sender>"
        );
        assert_eq!(
            blanked(
                "<SharedSecret xml:lang=\"en\"><![CDATA[a<b]]></SharedSecret><SharedSecret>&amp;x</SharedSecret>"
            ),
            "<SharedSecret xml:lang=\"en\">***</SharedSecret><SharedSecret>***</SharedSecret>"
        );
        assert_eq!(
            blanked("<SharedSecrets>x</SharedSecrets>"),
            "<SharedSecrets>x</SharedSecrets>"
        );
        assert_eq!(
            blanked("<SharedSecret/><Identity>x</Identity>"),
            "<SharedSecret/><Identity>x</Identity>"
        );
        assert_eq!(blanked("<SharedSecret>cut off"), "<SharedSecret>***");
        assert_eq!(blanked("no secret"), "no secret");
    }
}
