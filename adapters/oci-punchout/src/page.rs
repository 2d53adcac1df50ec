//! The cart page: the HTML page that carries the cart back through the user's browser,
//! a form of hidden `NEW_ITEM-*` inputs posted to the hook URL.
//!
//! Encoding writes every value escaped (nothing from the order can open a tag or leave an
//! attribute) and refuses a hook URL that is not http(s). Decoding reads pages as the
//! catalogs send them: with or without the HTTP response head in front, in the charset
//! the head or a `<meta>` declares, with the form anywhere in the page.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use memchr::memmem;
use tradewire_sdk::core::{Order, pointer_token};
use tradewire_sdk::{Diagnostic, Diagnostics, Outcome, form};

use crate::cart::{self, EXT_CHARSET, EXT_HOOK_URL, EXT_RETURNTARGET};
use crate::config::{Settings, resolve_charset, unknown_charset};
use crate::url::{check_hook_url, split_query};

/// The form target when neither the order nor the config names one: the whole window,
/// out of the catalog's frame.
const DEFAULT_TARGET: &str = "_top";

/// What a form without a `target` attribute targets.
const IMPLICIT_TARGET: &str = "_self";

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/// The page for `order`. The hook URL, target and charset come from the order's
/// `oci.hook_url`, `oci.returntarget` and `oci.http_content_charset` extensions (the
/// session's values, set per punchout session), else from the config.
pub fn encode_page(settings: &Settings, order: &Order) -> Outcome<Vec<u8>> {
    let mut d = Diagnostics::new();
    let config = &settings.config;

    let (hook_path, hook_url) = match order.extensions.get(EXT_HOOK_URL) {
        Some(url) => (
            format!("/extensions/{}", pointer_token(EXT_HOOK_URL)),
            Some(url),
        ),
        None => ("/config/hook_url".to_owned(), config.hook_url.as_ref()),
    };
    let hook_url = match hook_url {
        None => {
            d.error(
                format!("/extensions/{}", pointer_token(EXT_HOOK_URL)),
                "oci.hook_url_missing",
                "the cart page needs the session's hook_url: set the order's `oci.hook_url` extension or the config's `hook_url`",
            );
            None
        }
        Some(url) => match check_hook_url(&hook_path, url) {
            Ok(url) => Some(url),
            Err(diagnostic) => {
                d.push(diagnostic);
                None
            }
        },
    };
    let target = order
        .extensions
        .get(EXT_RETURNTARGET)
        .or(config.returntarget.as_ref())
        .map_or(DEFAULT_TARGET, String::as_str);
    let (label, encoding) = page_charset(settings, order, &mut d);

    let mut hidden = Vec::new();
    let mut action = "";
    if let Some(url) = hook_url {
        let (base, query) = split_query(url);
        action = base;
        // The hook URL's own parameters (`sap-client=100`) travel as hidden fields: a
        // browser submitting a form may drop the action's query.
        match form::decode_form(query.as_bytes(), UTF_8) {
            Ok(query) => hidden.extend(
                query
                    .iter()
                    .map(|(name, value)| (name.to_owned(), value.to_owned())),
            ),
            Err(_) => d.error(
                hook_path.clone(),
                "oci.hook_url_not_http",
                "the hook_url's query has percent escapes that are not UTF-8",
            ),
        }
    }
    hidden.extend(cart::encode_cart(settings, order, &mut d));
    for (name, value) in &hidden {
        if let Some(bad) = name.chars().chain(value.chars()).find(|&c| unsendable(c)) {
            d.error(
                name.clone(),
                "oci.invalid_char",
                format!(
                    "U+{:04X} cannot travel in an HTML form: browsers replace or reinterpret it",
                    u32::from(bad)
                ),
            );
        }
    }
    if d.has_errors() {
        return Err(d);
    }

    let mut html = String::with_capacity(1024 + hidden.len() * 80);
    html.push_str("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"");
    html.push_str(&escape(&label));
    html.push_str("\">\n<title>");
    html.push_str(&escape(&config.button_label));
    html.push_str("</title>\n</head>\n<body>\n<form id=\"oci-cart\" method=\"post\" action=\"");
    html.push_str(&escape(action));
    html.push_str("\" target=\"");
    html.push_str(&escape(target));
    html.push_str("\" accept-charset=\"");
    html.push_str(&escape(&label));
    html.push_str("\">\n");
    for (name, value) in &hidden {
        html.push_str("<input type=\"hidden\" name=\"");
        html.push_str(&escape(name));
        html.push_str("\" value=\"");
        html.push_str(&escape(value));
        html.push_str("\">\n");
    }
    // The button is always there: the script below submits at once, and when scripts are
    // off (or a policy blocks inline script) the user still has a way back.
    html.push_str("<button type=\"submit\">");
    html.push_str(&escape(&config.button_label));
    html.push_str("</button>\n</form>\n");
    html.push_str("<script>document.getElementById(\"oci-cart\").submit();</script>\n");
    html.push_str("</body>\n</html>\n");

    // Characters the charset lacks become numeric character references, which the
    // browser reads back as the character and submits as the buyer's system expects.
    let (bytes, _, _) = encoding.encode(&html);
    d.finish(bytes.into_owned())
}

/// The charset label to declare and its encoding: the order's, else the config's.
fn page_charset(
    settings: &Settings,
    order: &Order,
    d: &mut Diagnostics,
) -> (String, &'static Encoding) {
    match order.extensions.get(EXT_CHARSET) {
        Some(label) => match resolve_charset(label) {
            Some(encoding) => (label.trim().to_owned(), encoding),
            None => {
                d.push(unknown_charset(
                    &format!("/extensions/{}", pointer_token(EXT_CHARSET)),
                    label,
                ));
                (settings.charset.name().to_owned(), settings.charset)
            }
        },
        None => (settings.config.charset.trim().to_owned(), settings.charset),
    }
}

/// NUL and the C1 controls: a browser turns the first into U+FFFD and reads a reference
/// to the others as windows-1252 characters (`&#128;` is `€`).
fn unsendable(c: char) -> bool {
    c == '\0' || ('\u{80}'..='\u{9f}').contains(&c)
}

/// Escapes text for an HTML attribute value in double quotes or for element content.
/// Line breaks are references so that the HTML parser's newline normalisation keeps them.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\r' => escaped.push_str("&#13;"),
            '\n' => escaped.push_str("&#10;"),
            c => escaped.push(c),
        }
    }
    escaped
}

// ---------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------

/// The cart of a cart page. The order's `oci.hook_url`, `oci.returntarget` and
/// `oci.http_content_charset` extensions record the form's `action`, `target` (`_self`
/// when it has none, as browsers read it) and `accept-charset`.
pub fn decode_page(settings: &Settings, input: &[u8]) -> Outcome<Order> {
    let mut d = Diagnostics::new();
    let (header_charset, body) = split_http_head(input)?;
    let html = decode_text(settings, header_charset.as_deref(), body, &mut d)?;
    let events = scan(&html);

    let mut forms: Vec<(Form<'_>, bool)> = Vec::new();
    let mut open: Option<Form<'_>> = None;
    for event in events {
        match event {
            // As in browsers, a form inside a form is ignored.
            Event::Start { name, attributes }
                if name.eq_ignore_ascii_case("form") && open.is_none() =>
            {
                open = Some(Form {
                    attributes,
                    fields: Vec::new(),
                });
            }
            Event::End { name } if name.eq_ignore_ascii_case("form") => {
                if let Some(form) = open.take() {
                    forms.push((form, true));
                }
            }
            Event::Start { name, attributes } if name.eq_ignore_ascii_case("input") => {
                if let Some(form) = &mut open {
                    form.add_input(attributes);
                }
            }
            Event::Textarea {
                mut attributes,
                content,
            } => {
                if let Some(form) = &mut open
                    && let Some(name) = take_attribute(&mut attributes, "name")
                {
                    form.fields.push((name, content));
                }
            }
            _ => {}
        }
    }
    if let Some(form) = open.take() {
        forms.push((form, false));
    }

    let Some((form, closed)) = forms.into_iter().find(|(form, _)| form.has_cart()) else {
        d.error(
            "",
            "oci.no_cart_form",
            "the page has no form with NEW_ITEM-<FIELD>[n] fields",
        );
        return Err(d);
    };
    if !closed {
        d.error(
            "form",
            "oci.page_truncated",
            "the cart form is never closed: the page is cut short, and lines may be missing",
        );
    }
    let mut order = cart::decode_cart(
        settings,
        form.fields.iter().map(|(name, value)| (&**name, &**value)),
        &mut d,
    );

    if let Some(action) = attribute(&form.attributes, "action") {
        match check_hook_url("form/@action", action) {
            Ok(url) => {
                order.extensions.insert(EXT_HOOK_URL.into(), url.to_owned());
            }
            Err(mut diagnostic) => {
                diagnostic.severity = tradewire_sdk::core::Severity::Warning;
                diagnostic
                    .message
                    .push_str("; it is not kept as the hook_url");
                d.push(diagnostic);
            }
        }
    }
    let target = attribute(&form.attributes, "target").unwrap_or(IMPLICIT_TARGET);
    order
        .extensions
        .insert(EXT_RETURNTARGET.into(), target.to_owned());
    if let Some(accept) = attribute(&form.attributes, "accept-charset") {
        // The attribute lists charsets by spaces (or commas, in old pages); the first is
        // the one a browser uses.
        let first = accept
            .split([' ', ','])
            .find(|s| !s.is_empty())
            .unwrap_or("");
        if resolve_charset(first).is_some() {
            order
                .extensions
                .insert(EXT_CHARSET.into(), first.to_owned());
        } else {
            d.warning(
                "form/@accept-charset",
                "oci.unknown_charset",
                format!("{first:?} is not a charset this adapter knows; it is not kept"),
            );
        }
    }
    d.finish(order)
}

struct Form<'a> {
    attributes: Attributes<'a>,
    fields: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Form<'a> {
    /// Adds an input as a browser would submit it: buttons only when clicked (never, here),
    /// checkboxes and radios only when checked.
    fn add_input(&mut self, mut attributes: Attributes<'a>) {
        let kind = attribute(&attributes, "type").unwrap_or("text");
        let is = |kinds: &[&str]| kinds.iter().any(|k| kind.eq_ignore_ascii_case(k));
        let submitted = if is(&["submit", "button", "reset", "image", "file"]) {
            false
        } else if is(&["checkbox", "radio"]) {
            attribute(&attributes, "checked").is_some()
        } else {
            true
        };
        if !submitted {
            return;
        }
        let Some(name) = take_attribute(&mut attributes, "name") else {
            return;
        };
        let value = take_attribute(&mut attributes, "value").unwrap_or_default();
        self.fields.push((name, value));
    }

    fn has_cart(&self) -> bool {
        self.fields.iter().any(|(name, _)| {
            name.get(..crate::fields::PREFIX.len())
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(crate::fields::PREFIX))
        })
    }
}

/// The value of attribute `name` (lower case).
fn attribute<'a>(attributes: &'a [(&str, Cow<'_, str>)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| &**value)
}

/// The value of attribute `name` (lower case), moved out.
fn take_attribute<'a>(attributes: &mut Attributes<'a>, name: &str) -> Option<Cow<'a, str>> {
    attributes
        .iter_mut()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| std::mem::take(value))
}

/// Splits off an HTTP response head (`HTTP/1.1 200 OK` … blank line), as captured pages
/// carry, and returns the charset its `Content-Type` names.
fn split_http_head(input: &[u8]) -> Result<(Option<String>, &[u8]), Diagnostics> {
    if !input.starts_with(b"HTTP/") {
        return Ok((None, input));
    }
    let end = [&b"\r\n\r\n"[..], b"\n\n"]
        .iter()
        .filter_map(|blank| {
            input
                .windows(blank.len())
                .position(|window| window == *blank)
                .map(|at| (at, at + blank.len()))
        })
        .min();
    let Some((head_end, body_start)) = end else {
        return Err(Diagnostic::error(
            "",
            "oci.page_truncated",
            "the HTTP response head never ends: there is no page after it",
        )
        .into());
    };
    let (head, _) = WINDOWS_1252.decode_without_bom_handling(&input[..head_end]);
    let charset = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-type")
            .then(|| charset_parameter(value))
            .flatten()
    });
    Ok((charset, &input[body_start..]))
}

/// The `charset=` parameter of a content type (`text/html; charset=utf-8`).
fn charset_parameter(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (key, value) = parameter.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']).to_owned())
    })
}

/// The page as text: in the charset of a byte order mark, else the HTTP head, else a
/// `<meta>` tag, else the config. Bytes invalid in that charset are refused rather than
/// replaced, since a replaced character in a price or part number would go unnoticed.
fn decode_text<'a>(
    settings: &Settings,
    header_charset: Option<&str>,
    body: &'a [u8],
    d: &mut Diagnostics,
) -> Result<Cow<'a, str>, Diagnostics> {
    let (encoding, content) = match Encoding::for_bom(body) {
        Some((encoding, bom_length)) => (encoding, &body[bom_length..]),
        None => {
            let declared = header_charset
                .and_then(resolve_charset)
                .or_else(|| meta_charset(body));
            (declared.unwrap_or(settings.charset), body)
        }
    };
    let Some(text) = encoding.decode_without_bom_handling_and_without_replacement(content) else {
        d.error(
            "",
            "oci.invalid_encoding",
            format!("the page is not valid {}", encoding.name()),
        );
        return Err(std::mem::take(d));
    };
    Ok(normalize_line_breaks(text))
}

/// The HTML parser's first step: every line break (`\r\n`, `\r`) becomes a line feed.
fn normalize_line_breaks(text: Cow<'_, str>) -> Cow<'_, str> {
    if memchr::memchr(b'\r', text.as_bytes()).is_none() {
        return text;
    }
    let mut normalized = String::with_capacity(text.len());
    let mut rest = &*text;
    while let Some(at) = rest.find('\r') {
        normalized.push_str(&rest[..at]);
        normalized.push('\n');
        rest = rest[at + 1..].strip_prefix('\n').unwrap_or(&rest[at + 1..]);
    }
    normalized.push_str(rest);
    Cow::Owned(normalized)
}

/// The charset a `<meta charset>` or `<meta http-equiv="Content-Type" content="…">`
/// declares. The page is read as windows-1252 for this, which never fails and keeps
/// ASCII markup intact whatever the real charset.
fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let (text, _) = WINDOWS_1252.decode_without_bom_handling(body);
    scan(&text).find_map(|event| match event {
        Event::Start { name, attributes } if name.eq_ignore_ascii_case("meta") => {
            let label = attribute(&attributes, "charset")
                .map(str::to_owned)
                .or_else(|| {
                    let equiv = attribute(&attributes, "http-equiv")?;
                    if !equiv.eq_ignore_ascii_case("content-type") {
                        return None;
                    }
                    charset_parameter(attribute(&attributes, "content")?)
                })?;
            resolve_charset(&label)
        }
        _ => None,
    })
}

/// What the scanner reports; only what the cart needs. Tag and attribute names are as
/// written: HTML names are case-insensitive, so they are compared with
/// `eq_ignore_ascii_case`. Nothing is copied that needs no decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event<'a> {
    Start {
        name: &'a str,
        attributes: Attributes<'a>,
    },
    End {
        name: &'a str,
    },
    Textarea {
        attributes: Attributes<'a>,
        content: Cow<'a, str>,
    },
}

/// A tag's attributes, values with character references decoded; the first of a
/// repeated attribute wins, as in browsers.
type Attributes<'a> = Vec<(&'a str, Cow<'a, str>)>;

/// A small HTML tokenizer: tags and their attributes, skipping comments, doctypes and the
/// raw text of `script`, `style`, `title` and `textarea` (so markup inside a script cannot
/// pose as a cart field). A tag cut off by the end of the input is dropped, as browsers do.
fn scan(html: &str) -> Scanner<'_> {
    Scanner { html, at: 0 }
}

/// The events of [`scan`], found as they are asked for: a search for one tag (`<meta>`)
/// stops there.
struct Scanner<'a> {
    html: &'a str,
    /// Where scanning goes on.
    at: usize,
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Event<'a>;

    fn next(&mut self) -> Option<Event<'a>> {
        let html = self.html;
        let bytes = html.as_bytes();
        let after = |from: usize, byte: u8| {
            memchr::memchr(byte, &bytes[from..]).map_or(html.len(), |end| from + end + 1)
        };
        while let Some(found) = memchr::memchr(b'<', &bytes[self.at..]) {
            let start = self.at + found;
            let rest = &html[start..];
            if let Some(comment) = rest.strip_prefix("<!--") {
                self.at = memmem::find(comment.as_bytes(), b"-->")
                    .map_or(html.len(), |end| start + 4 + end + 3);
                continue;
            }
            if rest.starts_with("<!") || rest.starts_with("<?") {
                self.at = after(start, b'>');
                continue;
            }
            if let Some(closing) = rest.strip_prefix("</") {
                let name = tag_name(closing);
                if name.is_empty() {
                    self.at = start + 2;
                    continue;
                }
                self.at = after(start, b'>');
                return Some(Event::End { name });
            }
            let name = tag_name(&rest[1..]);
            if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                self.at = start + 1;
                continue;
            }
            let Some((attributes, tag_end)) = attributes(html, start + 1 + name.len()) else {
                self.at = html.len();
                return None;
            };
            self.at = tag_end;
            let raw_text = ["script", "style", "title", "textarea"];
            if raw_text.iter().any(|raw| name.eq_ignore_ascii_case(raw)) {
                let close = find_closing(html, tag_end, name);
                self.at = close;
                if name.eq_ignore_ascii_case("textarea") {
                    let raw = &html[tag_end..close];
                    let raw = raw.strip_prefix('\n').unwrap_or(raw);
                    return Some(Event::Textarea {
                        attributes,
                        content: decode_references(raw),
                    });
                }
                continue;
            }
            return Some(Event::Start { name, attributes });
        }
        self.at = html.len();
        None
    }
}

fn tag_name(text: &str) -> &str {
    let end = text
        .bytes()
        .position(|byte| !byte.is_ascii_alphanumeric())
        .unwrap_or(text.len());
    &text[..end]
}

/// Where `</name` starts after `from`, case-insensitively; the end of the input if never.
fn find_closing(html: &str, from: usize, name: &str) -> usize {
    let bytes = html.as_bytes();
    let mut at = from;
    while let Some(found) = memmem::find(&bytes[at..], b"</") {
        let start = at + found;
        let after = &bytes[start + 2..];
        if after
            .get(..name.len())
            .is_some_and(|candidate| candidate.eq_ignore_ascii_case(name.as_bytes()))
        {
            return start;
        }
        at = start + 2;
    }
    html.len()
}

/// The attributes of a tag whose name ends at `at`, and where the tag ends; `None` when
/// the input ends inside the tag.
fn attributes(html: &str, mut at: usize) -> Option<(Attributes<'_>, usize)> {
    let bytes = html.as_bytes();
    let mut found: Attributes<'_> = Vec::new();
    loop {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'/') {
            at += 1;
        }
        match bytes.get(at) {
            None => return None,
            Some(b'>') => return Some((found, at + 1)),
            Some(_) => {}
        }
        let name_start = at;
        at += 1;
        while at < bytes.len()
            && !matches!(bytes[at], b'=' | b'>' | b'/')
            && !bytes[at].is_ascii_whitespace()
        {
            at += 1;
        }
        let name = &html[name_start..at];
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let mut value = Cow::Borrowed("");
        if bytes.get(at) == Some(&b'=') {
            at += 1;
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            match bytes.get(at) {
                None => return None,
                Some(&quote @ (b'"' | b'\'')) => {
                    let end = memchr::memchr(quote, &bytes[at + 1..])? + at + 1;
                    value = decode_references(&html[at + 1..end]);
                    at = end + 1;
                }
                Some(_) => {
                    let start = at;
                    while at < bytes.len() && bytes[at] != b'>' && !bytes[at].is_ascii_whitespace()
                    {
                        at += 1;
                    }
                    value = decode_references(&html[start..at]);
                }
            }
        }
        if !found
            .iter()
            .any(|(existing, _)| existing.eq_ignore_ascii_case(name))
        {
            found.push((name, value));
        }
    }
}

/// Decodes HTML character references: numeric ones (as browsers do, with `&#128;`–`&#159;`
/// read as windows-1252) and the named ones carts use. Unknown names stay as written.
pub fn decode_references(text: &str) -> Cow<'_, str> {
    if memchr::memchr(b'&', text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match reference(rest) {
            Some((decoded, length)) => {
                out.push(decoded);
                rest = &rest[length..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The character of the reference at the start of `text` (which starts with `&`), and
/// the reference's length.
fn reference(text: &str) -> Option<(char, usize)> {
    if let Some(numeric) = text.strip_prefix("&#") {
        let (digits, radix, skip) = match numeric.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 3),
            None => (numeric, 10, 2),
        };
        let length = digits
            .find(|c: char| !c.is_digit(radix))
            .unwrap_or(digits.len());
        if length == 0 {
            return None;
        }
        let value = digits[..length].chars().fold(0u32, |value, digit| {
            value
                .saturating_mul(radix)
                .saturating_add(digit.to_digit(radix).unwrap_or(0))
        });
        let semicolon = usize::from(digits[length..].starts_with(';'));
        let decoded = match value {
            0x80..=0x9F => {
                let byte = [u8::try_from(value).unwrap_or(0)];
                let (text, _) = WINDOWS_1252.decode_without_bom_handling(&byte);
                text.chars().next().unwrap_or('\u{FFFD}')
            }
            0 => '\u{FFFD}',
            _ => char::from_u32(value).unwrap_or('\u{FFFD}'),
        };
        return Some((decoded, skip + length + semicolon));
    }
    let name_length = text[1..]
        .find(|c: char| !c.is_ascii_alphanumeric())
        .map_or(text.len() - 1, |end| end);
    let name = &text[1..1 + name_length];
    if !text[1 + name_length..].starts_with(';') {
        return None;
    }
    let decoded = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "euro" => '€',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "ccedil" => 'ç',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "deg" => '°',
        "times" => '×',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "bull" => '•',
        "laquo" => '«',
        "raquo" => '»',
        _ => return None,
    };
    Some((decoded, name_length + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_decode_as_in_browsers() {
        assert_eq!(
            decode_references("a &amp; b &lt;c&gt; &quot;"),
            "a & b <c> \""
        );
        assert_eq!(decode_references("&#9731;&#x2603;&#X2603"), "☃☃☃");
        assert_eq!(decode_references("&#128;&#13;&#10;&#0;"), "€\r\n\u{FFFD}");
        assert_eq!(
            decode_references("&unknown; & &#; &#x;"),
            "&unknown; & &#; &#x;"
        );
        assert_eq!(decode_references("&#99999999999;"), "\u{FFFD}");
    }

    #[test]
    fn escaping_leaves_no_markup() {
        let nasty = "\"><script>alert('x')</script>&amp;\r\n";
        let escaped = escape(nasty);
        assert!(!escaped.contains(['<', '>', '"', '\'', '\r', '\n']));
        assert_eq!(decode_references(&escaped), nasty);
    }

    #[test]
    fn the_scanner_reads_attributes_in_every_quoting() {
        let events: Vec<Event<'_>> = scan(
            "<!-- <input name=x> --><INPUT Name=a value='1 2' type=hidden name=again>\
             <input name=\"b\" value=\"&lt;&amp;\"/><script>'<input name=c>'</SCRIPT>\
             <textarea name=d>\nline&amp;</textarea><input name=\"cut",
        )
        .collect();
        assert_eq!(
            events,
            vec![
                Event::Start {
                    name: "INPUT",
                    attributes: vec![
                        ("Name", "a".into()),
                        ("value", "1 2".into()),
                        ("type", "hidden".into()),
                    ],
                },
                Event::Start {
                    name: "input",
                    attributes: vec![("name", "b".into()), ("value", "<&".into())],
                },
                Event::End { name: "SCRIPT" },
                Event::Textarea {
                    attributes: vec![("name", "d".into())],
                    content: "line&".into(),
                },
                Event::End { name: "textarea" },
            ]
        );
        // Values without references are the page's own text, not copies.
        let Event::Start { attributes, .. } = &events[0] else {
            unreachable!("the first event is a start tag");
        };
        assert!(matches!(attributes[1].1, Cow::Borrowed("1 2")));
    }

    #[test]
    fn raw_text_ends_at_its_closing_tag_in_any_case() {
        let html = "<style>a</b></STYLE><title>x</Title ><input name=after>";
        let names: Vec<&str> = scan(html)
            .map(|event| match event {
                Event::Start { name, .. } | Event::End { name } => name,
                Event::Textarea { .. } => "textarea",
            })
            .collect();
        assert_eq!(names, ["STYLE", "Title", "input"]);
        assert_eq!(find_closing("<p>no end", 0, "script"), 9);
    }

    #[test]
    fn line_breaks_become_line_feeds() {
        assert_eq!(
            normalize_line_breaks("a\r\nb\rc\n\r\n".into()),
            "a\nb\nc\n\n"
        );
        assert!(matches!(
            normalize_line_breaks("a\nb".into()),
            Cow::Borrowed("a\nb")
        ));
    }

    #[test]
    fn the_http_head_is_split_off_with_its_charset() {
        let (charset, body) = split_http_head(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=ISO-8859-1\r\n\r\n<html>",
        )
        .expect("a head and a body");
        assert_eq!(charset.as_deref(), Some("ISO-8859-1"));
        assert_eq!(body, b"<html>");
        let error = split_http_head(b"HTTP/1.1 200 OK\r\nContent-Type: text/html")
            .expect_err("no end of head");
        assert_eq!(error.as_slice()[0].code, "oci.page_truncated");
    }

    #[test]
    fn meta_tags_declare_the_charset() {
        assert_eq!(
            meta_charset(
                b"<meta content='text/html; charset=iso-8859-1' http-equiv='Content-Type'>"
            ),
            Some(WINDOWS_1252)
        );
        assert_eq!(meta_charset(b"<meta charset=\"utf-8\">"), Some(UTF_8));
        assert_eq!(meta_charset(b"<p>no meta</p>"), None);
    }
}
