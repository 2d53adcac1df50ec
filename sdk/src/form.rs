//! `application/x-www-form-urlencoded` bodies in whatever charset the other side uses.
//!
//! Punch-out catalogues (SAP OCI above all) post the cart back as an HTML form, and the
//! buyer's system picks the charset: UTF-8, ISO-8859-1, windows-1252 ... The percent
//! escapes stand for bytes in that charset, so a body cannot be read correctly without
//! knowing it, and a body we send must be written in the charset the receiver expects.
//! Both directions follow the WHATWG URL standard, which is what browsers do; where
//! that standard only knows UTF-8, the given charset takes its place.
//!
//! Charset labels follow the WHATWG Encoding standard, so the label `iso-8859-1` (and
//! `latin1`) means windows-1252, exactly as in every browser: bytes 0x80-0x9F decode to
//! `€`, `‚`, `Š` ... rather than to C1 control characters.

use std::borrow::Cow;

use encoding_rs::Encoding;
use percent_encoding::{percent_decode, percent_encode_byte};
use tradewire_core::Diagnostics;

/// The charset a label (`utf-8`, `utf8`, `latin1`, `iso-8859-1`, `windows-1252` ...)
/// stands for, as a browser would read it; `None` when the label is unknown.
pub fn charset(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.as_bytes())
}

/// The name/value pairs of a form body, in body order and with duplicates kept: which
/// copy of a repeated field wins is the protocol's decision, not the parser's.
///
/// Malformed percent escapes (`%G1`, a trailing `%4`) are kept literally, as browsers
/// keep them; a leading `?` is skipped so a query string can be passed as is. A name or
/// value whose bytes are not valid in `encoding` is an error `form.invalid_encoding` at
/// that field: guessing would silently corrupt names and prices.
///
/// UTF-16 and other charsets that are not ASCII-compatible cannot frame a form body, so
/// (as in WHATWG) UTF-8 is used in their place.
pub fn decode_form(
    body: &[u8],
    encoding: &'static Encoding,
) -> Result<Vec<(String, String)>, Diagnostics> {
    let encoding = encoding.output_encoding();
    let body = body.strip_prefix(b"?").unwrap_or(body);
    let mut diagnostics = Diagnostics::new();
    let mut pairs = Vec::new();

    for segment in body.split(|&byte| byte == b'&') {
        if segment.is_empty() {
            continue;
        }
        let (raw_name, raw_value) = match segment.iter().position(|&byte| byte == b'=') {
            Some(equals) => (&segment[..equals], &segment[equals + 1..]),
            None => (segment, &b""[..]),
        };
        let name_bytes = percent_decode_plus(raw_name);
        let value_bytes = percent_decode_plus(raw_value);
        let name = encoding.decode_without_bom_handling_and_without_replacement(&name_bytes);
        let value = encoding.decode_without_bom_handling_and_without_replacement(&value_bytes);
        match (name, value) {
            (Some(name), Some(value)) => pairs.push((name.into_owned(), value.into_owned())),
            (None, _) => {
                let (lossy_name, _) = encoding.decode_without_bom_handling(&name_bytes);
                diagnostics.error(
                    lossy_name.into_owned(),
                    "form.invalid_encoding",
                    format!("the field name is not valid {}", encoding.name()),
                );
            }
            (Some(name), None) => diagnostics.error(
                name.into_owned(),
                "form.invalid_encoding",
                format!("the value is not valid {}", encoding.name()),
            ),
        }
    }

    if diagnostics.has_errors() {
        Err(diagnostics)
    } else {
        Ok(pairs)
    }
}

/// `+` means space only in the raw body; `%2B` must stay a plus, so `+` goes first.
fn percent_decode_plus(raw: &[u8]) -> Cow<'_, [u8]> {
    if raw.contains(&b'+') {
        let spaced: Vec<u8> = raw
            .iter()
            .map(|&byte| if byte == b'+' { b' ' } else { byte })
            .collect();
        Cow::Owned(percent_decode(&spaced).collect())
    } else {
        percent_decode(raw).into()
    }
}

/// A form body in `encoding`, serialised exactly as a browser submits a form.
///
/// Characters the charset cannot represent are sent as HTML numeric character references
/// (`✓` becomes `&#10003;`, then `%26%2310003%3B`): that is what browsers send, and what
/// form-reading servers know to expect. Charsets that are not ASCII-compatible (UTF-16)
/// are replaced by UTF-8, again as in browsers.
pub fn encode_form<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    encoding: &'static Encoding,
) -> Vec<u8> {
    let mut body = Vec::new();
    for (index, (name, value)) in pairs.into_iter().enumerate() {
        if index > 0 {
            body.push(b'&');
        }
        append_form_component(&mut body, name, encoding);
        body.push(b'=');
        append_form_component(&mut body, value, encoding);
    }
    body
}

fn append_form_component(body: &mut Vec<u8>, text: &str, encoding: &'static Encoding) {
    let (bytes, _, _) = encoding.encode(text);
    for &byte in bytes.iter() {
        match byte {
            b'*' | b'-' | b'.' | b'_' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' => body.push(byte),
            b' ' => body.push(b'+'),
            _ => body.extend_from_slice(percent_encode_byte(byte).as_bytes()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use encoding_rs::{UTF_8, WINDOWS_1252};
    use proptest::prelude::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn labels_resolve_like_a_browser() {
        assert_eq!(charset("utf8"), Some(UTF_8));
        assert_eq!(charset("UTF-8"), Some(UTF_8));
        assert_eq!(charset("latin1"), Some(WINDOWS_1252));
        assert_eq!(charset("iso-8859-1"), Some(WINDOWS_1252));
        assert_eq!(charset("windows-1252"), Some(WINDOWS_1252));
        assert_eq!(charset(" ISO-8859-1 "), Some(WINDOWS_1252));
        assert_eq!(charset("klingon"), None);
    }

    #[test]
    fn oci_cart_is_read_in_order() {
        let body =
            b"~OkCode=ADDI&NEW_ITEM-DESCRIPTION%5B1%5D=Stift+blau&NEW_ITEM-PRICE%5B1%5D=1.50\
            &NEW_ITEM-QUANTITY%5B1%5D=2&NEW_ITEM-DESCRIPTION%5B2%5D=Papier%2BUmschlag";
        let decoded = decode_form(body, UTF_8).unwrap();
        assert_eq!(
            decoded,
            pairs(&[
                ("~OkCode", "ADDI"),
                ("NEW_ITEM-DESCRIPTION[1]", "Stift blau"),
                ("NEW_ITEM-PRICE[1]", "1.50"),
                ("NEW_ITEM-QUANTITY[1]", "2"),
                ("NEW_ITEM-DESCRIPTION[2]", "Papier+Umschlag"),
            ])
        );
    }

    #[test]
    fn percent_escapes_are_bytes_in_the_charset() {
        let latin1 = charset("iso-8859-1").unwrap();
        assert_eq!(
            decode_form(b"NAME=K%E4se", latin1).unwrap(),
            pairs(&[("NAME", "Käse")])
        );
        assert_eq!(
            decode_form(b"NAME=K%C3%A4se", UTF_8).unwrap(),
            pairs(&[("NAME", "Käse")])
        );
        // The ISO-8859-1 label is windows-1252: 0x80 is the euro sign.
        assert_eq!(decode_form(b"P=%80", latin1).unwrap(), pairs(&[("P", "€")]));
    }

    #[test]
    fn raw_non_ascii_bytes_are_read_in_the_charset_too() {
        let latin1 = charset("latin1").unwrap();
        assert_eq!(
            decode_form(b"NAME=K\xe4se", latin1).unwrap(),
            pairs(&[("NAME", "Käse")])
        );
    }

    #[test]
    fn duplicates_empty_segments_and_missing_values_are_kept() {
        assert_eq!(
            decode_form(b"?a=1&&b=2&a=3&flag&=x&c=", UTF_8).unwrap(),
            pairs(&[
                ("a", "1"),
                ("b", "2"),
                ("a", "3"),
                ("flag", ""),
                ("", "x"),
                ("c", ""),
            ])
        );
        assert_eq!(decode_form(b"", UTF_8).unwrap(), pairs(&[]));
        assert_eq!(decode_form(b"?", UTF_8).unwrap(), pairs(&[]));
        assert_eq!(
            decode_form(b"a=1=2", UTF_8).unwrap(),
            pairs(&[("a", "1=2")])
        );
    }

    #[test]
    fn malformed_escapes_are_kept_literally() {
        assert_eq!(
            decode_form(b"a=%G1&b=%4&c=100%&d=%%41", UTF_8).unwrap(),
            pairs(&[("a", "%G1"), ("b", "%4"), ("c", "100%"), ("d", "%A")])
        );
    }

    #[test]
    fn bytes_invalid_in_the_charset_are_errors_at_the_field() {
        let diagnostics = decode_form(b"ok=1&NEW_ITEM-VENDOR%5B1%5D=M%FCller&x=%C3", UTF_8)
            .expect_err("invalid UTF-8 is rejected");
        let found: Vec<_> = diagnostics
            .iter()
            .map(|d| (d.path.as_str(), d.code.as_str(), d.is_error()))
            .collect();
        assert_eq!(
            found,
            [
                ("NEW_ITEM-VENDOR[1]", "form.invalid_encoding", true),
                ("x", "form.invalid_encoding", true),
            ]
        );

        let bad_name = decode_form(b"N%FC=1", UTF_8).expect_err("invalid name is rejected");
        assert_eq!(bad_name.as_slice()[0].path, "N\u{fffd}");
    }

    #[test]
    fn encoding_follows_the_whatwg_serializer() {
        let body = encode_form(
            [
                ("NEW_ITEM-DESCRIPTION[1]", "Stift blau"),
                ("safe", "*-._09AZaz"),
                ("reserved", "a+b&c=d%e/f?g~h'i\"j"),
            ],
            UTF_8,
        );
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "NEW_ITEM-DESCRIPTION%5B1%5D=Stift+blau&safe=*-._09AZaz\
             &reserved=a%2Bb%26c%3Dd%25e%2Ff%3Fg%7Eh%27i%22j"
        );
        assert!(encode_form([], UTF_8).is_empty());
    }

    #[test]
    fn encoding_writes_bytes_of_the_charset() {
        let latin1 = charset("iso-8859-1").unwrap();
        assert_eq!(encode_form([("n", "Käse €")], latin1), b"n=K%E4se+%80");
        assert_eq!(encode_form([("n", "Käse")], UTF_8), b"n=K%C3%A4se");
    }

    #[test]
    fn unencodable_characters_become_numeric_character_references() {
        let latin1 = charset("iso-8859-1").unwrap();
        assert_eq!(encode_form([("ok", "✓")], latin1), b"ok=%26%2310003%3B");
        // Not reversible: the receiver reads the reference as text, as servers do.
        assert_eq!(
            decode_form(b"ok=%26%2310003%3B", latin1).unwrap(),
            pairs(&[("ok", "&#10003;")])
        );
    }

    #[test]
    fn utf16_is_replaced_by_utf8_in_both_directions() {
        let utf16 = charset("utf-16").unwrap();
        assert_eq!(encode_form([("n", "ä")], utf16), b"n=%C3%A4");
        assert_eq!(
            decode_form(b"n=%C3%A4", utf16).unwrap(),
            pairs(&[("n", "ä")])
        );
    }

    fn windows_1252_text() -> impl Strategy<Value = String> {
        let alphabet: Vec<char> = (0..=255u8)
            .filter_map(|byte| {
                WINDOWS_1252
                    .decode_without_bom_handling_and_without_replacement(&[byte])
                    .and_then(|text| text.chars().next())
            })
            .collect();
        prop::collection::vec(prop::sample::select(alphabet), 0..24)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn utf8_round_trips(list in prop::collection::vec((".*", ".*"), 0..8)) {
            let body = encode_form(list.iter().map(|(n, v)| (n.as_str(), v.as_str())), UTF_8);
            prop_assert_eq!(decode_form(&body, UTF_8).unwrap(), list);
        }

        #[test]
        fn windows_1252_round_trips(
            list in prop::collection::vec((windows_1252_text(), windows_1252_text()), 0..8)
        ) {
            let latin1 = charset("iso-8859-1").unwrap();
            let body = encode_form(list.iter().map(|(n, v)| (n.as_str(), v.as_str())), latin1);
            prop_assert!(body.is_ascii());
            prop_assert_eq!(decode_form(&body, latin1).unwrap(), list);
        }

        #[test]
        fn decoding_never_panics(body in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_form(&body, UTF_8);
            let _ = decode_form(&body, WINDOWS_1252);
        }
    }
}
