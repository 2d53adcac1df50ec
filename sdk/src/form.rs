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

use encoding_rs::{DecoderResult, Encoding, UTF_8};
use memchr::{memchr, memchr_iter, memchr2};
use percent_encoding::percent_encode_byte;
use tradewire_core::Diagnostics;

/// The charset a label (`utf-8`, `utf8`, `latin1`, `iso-8859-1`, `windows-1252` ...)
/// stands for, as a browser would read it; `None` when the label is unknown.
pub fn charset(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.as_bytes())
}

/// The name/value pairs of a form body, in body order and with duplicates kept: which
/// copy of a repeated field wins is the protocol's decision, not the parser's.
///
/// Names and values borrow from `body` when they need no decoding: no percent escape,
/// no `+`, and bytes that read as themselves (ASCII, or any valid UTF-8 when the charset
/// is UTF-8). The others are decoded into one buffer the [`Form`] holds, so a form costs
/// two allocations however many of its fields are escaped (OCI escapes every cart
/// field's name: `NEW_ITEM-PRICE%5B1%5D`).
///
/// Malformed percent escapes (`%G1`, a trailing `%4`) are kept literally, as browsers
/// keep them; a leading `?` is skipped so a query string can be passed as is. A name or
/// value whose bytes are not valid in `encoding` is an error `form.invalid_encoding` at
/// that field: guessing would silently corrupt names and prices.
///
/// UTF-16 and other charsets that are not ASCII-compatible cannot frame a form body, so
/// (as in WHATWG) UTF-8 is used in their place.
///
/// ```
/// use tradewire_sdk::form::{charset, decode_form};
///
/// let latin1 = charset("latin1").unwrap();
/// let form = decode_form(b"NAME%5B1%5D=K%E4se&QTY=2", latin1).unwrap();
/// let pairs: Vec<(&str, &str)> = form.iter().collect();
/// assert_eq!(pairs, [("NAME[1]", "Käse"), ("QTY", "2")]);
/// ```
pub fn decode_form<'a>(
    body: &'a [u8],
    encoding: &'static Encoding,
) -> Result<Form<'a>, Diagnostics> {
    let encoding = encoding.output_encoding();
    let body = body.strip_prefix(b"?").unwrap_or(body);
    let mut diagnostics = Diagnostics::new();
    let mut form = Form {
        pairs: Vec::with_capacity(memchr_iter(b'&', body).count() + 1),
        // Room for all the decoded text without reallocating as it fills: an escape's
        // three bytes never decode to more than three bytes of UTF-8; only unescaped
        // bytes converted from another charset can outgrow it.
        decoded: String::with_capacity(body.len()),
    };
    let mut scratch = Vec::new();

    for segment in split_at_ampersands(body) {
        if segment.is_empty() {
            continue;
        }
        let (raw_name, raw_value) = match memchr(b'=', segment) {
            Some(equals) => (&segment[..equals], &segment[equals + 1..]),
            None => (segment, &b""[..]),
        };
        let Some(name) = form.read_text(raw_name, encoding, &mut scratch) else {
            let name_bytes = match percent_decode_plus(raw_name, &mut scratch) {
                true => &scratch[..],
                false => raw_name,
            };
            let (lossy_name, _) = encoding.decode_without_bom_handling(name_bytes);
            diagnostics.error(
                lossy_name.into_owned(),
                "form.invalid_encoding",
                format!("the field name is not valid {}", encoding.name()),
            );
            continue;
        };
        match form.read_text(raw_value, encoding, &mut scratch) {
            Some(value) => form.pairs.push((name, value)),
            None => diagnostics.error(
                form.text(name),
                "form.invalid_encoding",
                format!("the value is not valid {}", encoding.name()),
            ),
        }
    }

    if diagnostics.has_errors() {
        Err(diagnostics)
    } else {
        Ok(form)
    }
}

/// `body.split(|&byte| byte == b'&')`, found with `memchr` rather than byte by byte.
fn split_at_ampersands(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(body);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr(b'&', current) {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// A form body read by [`decode_form`]: its (name, value) pairs in body order.
#[derive(Debug, Clone, Default)]
pub struct Form<'a> {
    pairs: Vec<(Text<'a>, Text<'a>)>,
    /// Every name and value that needed decoding, back to back.
    decoded: String,
}

/// A name or value of a [`Form`]: in the body, or in the form's buffer of decoded text.
#[derive(Debug, Clone, Copy)]
enum Text<'a> {
    Body(&'a str),
    Decoded { start: usize, end: usize },
}

impl<'a> Form<'a> {
    /// The (name, value) pairs, in body order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.pairs
            .iter()
            .map(|&(name, value)| (self.text(name), self.text(value)))
    }

    /// How many pairs the body has.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    fn text(&self, text: Text<'a>) -> &str {
        match text {
            Text::Body(text) => text,
            Text::Decoded { start, end } => &self.decoded[start..end],
        }
    }

    /// A raw name or value as text, `None` when its bytes are not valid in `encoding`.
    fn read_text(
        &mut self,
        raw: &'a [u8],
        encoding: &'static Encoding,
        scratch: &mut Vec<u8>,
    ) -> Option<Text<'a>> {
        if percent_decode_plus(raw, scratch) {
            return self.push_decoded(scratch, encoding);
        }
        match encoding.decode_without_bom_handling_and_without_replacement(raw)? {
            Cow::Borrowed(text) => Some(Text::Body(text)),
            // Bytes that are not ASCII, unescaped, in a charset other than UTF-8: rare,
            // as browsers escape them.
            Cow::Owned(text) => {
                let start = self.decoded.len();
                self.decoded.push_str(&text);
                Some(Text::Decoded {
                    start,
                    end: self.decoded.len(),
                })
            }
        }
    }

    /// `bytes` in `encoding` appended to the buffer of decoded text; `None` (and nothing
    /// appended) when they are not valid in it.
    fn push_decoded(&mut self, bytes: &[u8], encoding: &'static Encoding) -> Option<Text<'a>> {
        let start = self.decoded.len();
        if encoding == UTF_8 {
            self.decoded.push_str(std::str::from_utf8(bytes).ok()?);
        } else {
            let mut decoder = encoding.new_decoder_without_bom_handling();
            self.decoded
                .reserve(decoder.max_utf8_buffer_length_without_replacement(bytes.len())?);
            let (result, _) =
                decoder.decode_to_string_without_replacement(bytes, &mut self.decoded, true);
            if result != DecoderResult::InputEmpty {
                self.decoded.truncate(start);
                return None;
            }
        }
        Some(Text::Decoded {
            start,
            end: self.decoded.len(),
        })
    }
}

/// Percent escapes and `+` undone in one pass, into `decoded` (cleared first): `+` means
/// space only in the raw body, so `%2B` stays a plus. `false`, and `decoded` untouched,
/// when `raw` has neither, so it can be used as it is.
fn percent_decode_plus(raw: &[u8], decoded: &mut Vec<u8>) -> bool {
    let Some(first) = memchr2(b'%', b'+', raw) else {
        return false;
    };
    decoded.clear();
    decoded.extend_from_slice(&raw[..first]);
    let mut rest = &raw[first..];
    while let Some((&byte, after)) = rest.split_first() {
        rest = after;
        if byte == b'+' {
            decoded.push(b' ');
        } else {
            let escaped = match after {
                [high, low, tail @ ..] => hex_digit(*high)
                    .zip(hex_digit(*low))
                    .map(|(high, low)| (high << 4 | low, tail)),
                _ => None,
            };
            match escaped {
                Some((byte, tail)) => {
                    decoded.push(byte);
                    rest = tail;
                }
                // Malformed: the `%` stays literally.
                None => decoded.push(b'%'),
            }
        }
        // Runs between escapes are copied whole.
        let run = memchr2(b'%', b'+', rest).unwrap_or(rest.len());
        decoded.extend_from_slice(&rest[..run]);
        rest = &rest[run..];
    }
    true
}

fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
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

    /// Owned copies of the pairs, to compare with what was expected.
    fn owned(form: Form<'_>) -> Vec<(String, String)> {
        form.iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }

    /// Which of the names and values borrow from the body.
    fn borrowed(form: &Form<'_>) -> Vec<(bool, bool)> {
        let is_borrowed = |text: Text<'_>| matches!(text, Text::Body(_));
        form.pairs
            .iter()
            .map(|&(name, value)| (is_borrowed(name), is_borrowed(value)))
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
        let decoded = owned(decode_form(body, UTF_8).unwrap());
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
            owned(decode_form(b"NAME=K%E4se", latin1).unwrap()),
            pairs(&[("NAME", "Käse")])
        );
        assert_eq!(
            owned(decode_form(b"NAME=K%C3%A4se", UTF_8).unwrap()),
            pairs(&[("NAME", "Käse")])
        );
        // The ISO-8859-1 label is windows-1252: 0x80 is the euro sign.
        assert_eq!(
            owned(decode_form(b"P=%80", latin1).unwrap()),
            pairs(&[("P", "€")])
        );
    }

    #[test]
    fn raw_non_ascii_bytes_are_read_in_the_charset_too() {
        let latin1 = charset("latin1").unwrap();
        assert_eq!(
            owned(decode_form(b"NAME=K\xe4se", latin1).unwrap()),
            pairs(&[("NAME", "Käse")])
        );
    }

    #[test]
    fn duplicates_empty_segments_and_missing_values_are_kept() {
        assert_eq!(
            owned(decode_form(b"?a=1&&b=2&a=3&flag&=x&c=", UTF_8).unwrap()),
            pairs(&[
                ("a", "1"),
                ("b", "2"),
                ("a", "3"),
                ("flag", ""),
                ("", "x"),
                ("c", ""),
            ])
        );
        assert_eq!(owned(decode_form(b"", UTF_8).unwrap()), pairs(&[]));
        assert_eq!(owned(decode_form(b"?", UTF_8).unwrap()), pairs(&[]));
        assert_eq!(
            owned(decode_form(b"a=1=2", UTF_8).unwrap()),
            pairs(&[("a", "1=2")])
        );
    }

    #[test]
    fn malformed_escapes_are_kept_literally() {
        assert_eq!(
            owned(decode_form(b"a=%G1&b=%4&c=100%&d=%%41", UTF_8).unwrap()),
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
            owned(decode_form(b"ok=%26%2310003%3B", latin1).unwrap()),
            pairs(&[("ok", "&#10003;")])
        );
    }

    #[test]
    fn utf16_is_replaced_by_utf8_in_both_directions() {
        let utf16 = charset("utf-16").unwrap();
        assert_eq!(encode_form([("n", "ä")], utf16), b"n=%C3%A4");
        assert_eq!(
            owned(decode_form(b"n=%C3%A4", utf16).unwrap()),
            pairs(&[("n", "ä")])
        );
    }

    #[test]
    fn plain_components_are_borrowed_and_decoded_ones_copied_once() {
        let utf8 = decode_form(b"a=plain&b=K\xc3\xa4se&n%5B1%5D=x+y&m%5B2%5D=%41", UTF_8).unwrap();
        assert_eq!(
            borrowed(&utf8),
            [(true, true), (true, true), (false, false), (false, false)]
        );
        // Decoded text lies back to back in the one buffer.
        assert_eq!(utf8.decoded, "n[1]x ym[2]A");
        assert_eq!(
            owned(utf8),
            pairs(&[
                ("a", "plain"),
                ("b", "Käse"),
                ("n[1]", "x y"),
                ("m[2]", "A")
            ])
        );

        // In windows-1252 only ASCII reads as itself; the rest is converted.
        let latin1 = charset("latin1").unwrap();
        let decoded = decode_form(b"a=plain&b=K\xe4se&c=%41&d=%E4", latin1).unwrap();
        let values: Vec<_> = borrowed(&decoded)
            .into_iter()
            .map(|(_, value)| value)
            .collect();
        assert_eq!(values, [true, false, false, false]);
        assert_eq!(
            owned(decoded),
            pairs(&[("a", "plain"), ("b", "Käse"), ("c", "A"), ("d", "ä")])
        );
    }

    #[test]
    fn a_value_invalid_in_the_charset_leaves_no_text_behind() {
        let mut form = Form::default();
        let mut scratch = Vec::new();
        let shift_jis = charset("shift_jis").unwrap();
        assert!(
            form.read_text(b"ok%82%A0", shift_jis, &mut scratch)
                .is_some()
        );
        assert!(form.read_text(b"bad%82", shift_jis, &mut scratch).is_none());
        assert_eq!(form.decoded, "okあ");
    }

    #[test]
    fn plus_and_escapes_mix() {
        assert_eq!(
            owned(decode_form(b"q=a+%2B+b%20c+%&r=%+1&s=%2b%2", UTF_8).unwrap()),
            pairs(&[("q", "a + b c %"), ("r", "% 1"), ("s", "+%2")])
        );
        let latin1 = charset("latin1").unwrap();
        assert_eq!(
            owned(decode_form(b"n+%E4=K%E4se+%2B+%80", latin1).unwrap()),
            pairs(&[("n ä", "Käse + €")])
        );
    }

    /// The decoder before borrowing: `+` to space, then `percent_encoding`, then the charset.
    fn reference_decode(body: &[u8], encoding: &'static Encoding) -> Option<Vec<(String, String)>> {
        let encoding = encoding.output_encoding();
        let component = |raw: &[u8]| -> Option<String> {
            let spaced: Vec<u8> = raw
                .iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect();
            let bytes: Vec<u8> = percent_encoding::percent_decode(&spaced).collect();
            encoding
                .decode_without_bom_handling_and_without_replacement(&bytes)
                .map(Cow::into_owned)
        };
        let body = body.strip_prefix(b"?").unwrap_or(body);
        let mut pairs = Vec::new();
        let mut valid = true;
        for segment in body.split(|&b| b == b'&').filter(|s| !s.is_empty()) {
            let (name, value) = match segment.iter().position(|&b| b == b'=') {
                Some(at) => (&segment[..at], &segment[at + 1..]),
                None => (segment, &b""[..]),
            };
            match (component(name), component(value)) {
                (Some(name), Some(value)) => pairs.push((name, value)),
                _ => valid = false,
            }
        }
        valid.then_some(pairs)
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
            prop_assert_eq!(owned(decode_form(&body, UTF_8).unwrap()), list);
        }

        #[test]
        fn windows_1252_round_trips(
            list in prop::collection::vec((windows_1252_text(), windows_1252_text()), 0..8)
        ) {
            let latin1 = charset("iso-8859-1").unwrap();
            let body = encode_form(list.iter().map(|(n, v)| (n.as_str(), v.as_str())), latin1);
            prop_assert!(body.is_ascii());
            prop_assert_eq!(owned(decode_form(&body, latin1).unwrap()), list);
        }

        #[test]
        fn decoding_matches_the_reference(
            body in prop::collection::vec(
                prop::sample::select(b"%+=&?aZ09fG\x80\xc3\xa4\xe4".to_vec()),
                0..48,
            )
        ) {
            for encoding in [UTF_8, WINDOWS_1252] {
                let decoded = decode_form(&body, encoding).ok().map(owned);
                prop_assert_eq!(decoded, reference_decode(&body, encoding));
            }
        }

        #[test]
        fn decoding_never_panics(body in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_form(&body, UTF_8);
            let _ = decode_form(&body, WINDOWS_1252);
        }
    }
}
