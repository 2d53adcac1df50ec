//! Bounded XML reading and XML writing that cannot produce broken documents.
//!
//! Most commerce protocols (cXML, OCI-XML, openTRANS, EDI-over-XML dialects of French
//! ERPs ...) exchange XML with systems we do not control, so the reader assumes hostile
//! or broken input: it refuses documents over [`XmlLimits`] before doing more work, never
//! expands entities declared in a DTD (no XXE, no "billion laughs"), decodes the charset
//! the document declares (ISO-8859-1 is still common), and reports every failure as a
//! diagnostic with the element path and byte offset where it happened. It builds a small
//! [`Element`] tree that borrows its text from UTF-8 input, which is all protocol
//! documents of a few megabytes need.
//!
//! [`XmlWriter`] checks names and characters as it writes and keeps its own stack of open
//! elements, so what it produces is always well-formed UTF-8 XML that [`parse`] reads
//! back to the same text and attribute values.

use std::borrow::Cow;
use std::collections::HashSet;

use encoding_rs::{DecoderResult, Encoding, UTF_8, UTF_16BE, UTF_16LE};
use quick_xml::errors::{Error as QuickXmlError, IllFormedError, SyntaxError};
use quick_xml::escape::{EscapeError, ParseCharRefError, unescape};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use tradewire_core::{Diagnostic, Diagnostics};

/// How much of a document [`parse`] accepts before refusing it.
///
/// The defaults fit any real protocol document with a wide margin. `max_depth` also
/// bounds recursion in code that walks the tree (including dropping it), so raising it
/// far beyond a few thousand risks the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Nesting depth; the root element is at depth 1.
    pub max_depth: usize,
    /// Size of the raw input, before charset decoding.
    pub max_bytes: usize,
    /// Number of elements in the whole document.
    pub max_elements: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_bytes: 64 * 1024 * 1024,
            max_elements: 2_000_000,
        }
    }
}

/// One element of a parsed document.
///
/// Names, attribute values and text borrow from the input wherever they can (UTF-8 input
/// without references to unescape), so reading a document allocates little more than its
/// child lists; [`Self::into_owned`] detaches a tree from its input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element<'a> {
    /// The qualified name as written (`cXML`, `soap:Envelope`); prefixes are not resolved
    /// because protocol documents use fixed prefixes, if any.
    pub name: Cow<'a, str>,
    /// Attributes in document order, values unescaped and whitespace-normalised as XML
    /// requires (a literal newline in an attribute reads as a space).
    pub attributes: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub children: Vec<Element<'a>>,
    /// All text and CDATA directly inside this element, unescaped and concatenated, with
    /// whitespace kept: whether it matters is the protocol's call (see [`Self::text_trimmed`]).
    pub text: Cow<'a, str>,
}

impl<'a> Element<'a> {
    /// An element with this name and nothing in it.
    pub fn new(name: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// The name without its namespace prefix (`Envelope` for `soap:Envelope`).
    pub fn local_name(&self) -> &str {
        self.name
            .split_once(':')
            .map_or(&*self.name, |(_, local)| local)
    }

    /// The text with surrounding whitespace (including the indentation of pretty-printed
    /// documents) removed.
    pub fn text_trimmed(&self) -> &str {
        self.text.trim()
    }

    /// The value of the attribute with this qualified name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| &**value)
    }

    /// The first child element with this qualified name.
    pub fn child(&self, name: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|child| child.name == name)
    }

    /// All child elements with this qualified name, in document order.
    pub fn children_named<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = &'s Element<'a>> + 's {
        self.children.iter().filter(move |child| child.name == name)
    }

    /// The trimmed text of the first child element with this qualified name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(Element::text_trimmed)
    }

    /// The same tree, owning all its text.
    pub fn into_owned(self) -> Element<'static> {
        Element {
            name: Cow::Owned(self.name.into_owned()),
            attributes: self
                .attributes
                .into_iter()
                .map(|(key, value)| (Cow::Owned(key.into_owned()), Cow::Owned(value.into_owned())))
                .collect(),
            children: self.children.into_iter().map(Element::into_owned).collect(),
            text: Cow::Owned(self.text.into_owned()),
        }
    }
}

/// Reads a whole document and returns its root element.
///
/// Every failure is an error diagnostic whose path is the element path reached
/// (`/connecteur/order/commande`) and whose message gives the byte offset in the input:
/// `xml.too_large`, `xml.too_deep`, `xml.too_many_elements` (limits), `xml.truncated`
/// (input ends inside the document), `xml.malformed`, `xml.unknown_entity`,
/// `xml.invalid_char`, `xml.unknown_encoding`, `xml.invalid_encoding`.
///
/// The charset comes from a byte order mark, else from the XML declaration, else is
/// UTF-8. A DOCTYPE is skipped and never used: only the five predefined entities and
/// character references are understood. A UTF-8 document is read in place (the tree
/// borrows from `bytes`); any other charset is decoded first and the tree owns its text.
pub fn parse<'a>(bytes: &'a [u8], limits: &XmlLimits) -> Result<Element<'a>, Diagnostics> {
    if bytes.len() > limits.max_bytes {
        return Err(Diagnostic::error(
            "",
            "xml.too_large",
            format!(
                "the document has {} bytes; at most {} are accepted",
                bytes.len(),
                limits.max_bytes
            ),
        )
        .into());
    }
    let source = Source::decode(bytes)?;
    let root = match &source.text {
        Cow::Borrowed(text) => TreeBuilder::new(&source, text, limits).build(),
        Cow::Owned(text) => TreeBuilder::new(&source, text, limits)
            .build()
            .map(Element::into_owned),
    };
    root.map_err(Diagnostics::from)
}

/// The document as UTF-8, with what is needed to turn offsets back into input offsets.
struct Source<'a> {
    text: Cow<'a, str>,
    encoding: &'static Encoding,
    bom_length: usize,
}

impl<'a> Source<'a> {
    fn decode(bytes: &'a [u8]) -> Result<Self, Diagnostic> {
        let (encoding, bom_length) = detect_encoding(bytes)?;
        let content = bytes.get(bom_length..).unwrap_or_default();
        match decode_strictly(encoding, content) {
            Ok(text) => Ok(Self {
                text,
                encoding,
                bom_length,
            }),
            Err(bad_offset) => Err(Diagnostic::error(
                "",
                "xml.invalid_encoding",
                format!(
                    "the bytes at offset {} are not valid {}",
                    bad_offset + bom_length,
                    encoding.name()
                ),
            )),
        }
    }

    /// The input offset of a position in the decoded text, so messages point at the
    /// bytes the sender actually sent.
    fn input_offset(&self, text_offset: usize) -> usize {
        let Some(before) = self.text.get(..text_offset) else {
            return text_offset + self.bom_length;
        };
        let input_length = if self.encoding == UTF_8 {
            before.len()
        } else if self.encoding == UTF_16LE || self.encoding == UTF_16BE {
            before.encode_utf16().count() * 2
        } else if self.encoding.is_single_byte() {
            before.chars().count()
        } else {
            self.encoding.encode(before).0.len()
        };
        input_length + self.bom_length
    }
}

/// The charset and byte-order-mark length, following the XML specification's order: a
/// BOM wins, then the declaration, then UTF-8.
fn detect_encoding(bytes: &[u8]) -> Result<(&'static Encoding, usize), Diagnostic> {
    if let Some(found) = Encoding::for_bom(bytes) {
        return Ok(found);
    }
    // UTF-16 without a BOM is recognisable by its `<?` (XML 1.0 appendix F).
    if bytes.starts_with(&[0, b'<', 0, b'?']) {
        return Ok((UTF_16BE, 0));
    }
    if bytes.starts_with(&[b'<', 0, b'?', 0]) {
        return Ok((UTF_16LE, 0));
    }
    let Some(label) = declared_encoding(bytes) else {
        return Ok((UTF_8, 0));
    };
    match Encoding::for_label(&label) {
        // A declaration readable as ASCII cannot be in UTF-16, whatever it says.
        Some(encoding) => Ok((encoding.output_encoding(), 0)),
        None => Err(Diagnostic::error(
            "",
            "xml.unknown_encoding",
            format!(
                "the XML declaration names the unknown charset {}",
                quote_start(&String::from_utf8_lossy(&label))
            ),
        )),
    }
}

fn declared_encoding(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut reader = Reader::from_reader(bytes);
    match reader.read_event() {
        Ok(Event::Decl(declaration)) => match declaration.encoding() {
            Some(Ok(label)) => Some(label.into_owned()),
            _ => None,
        },
        _ => None,
    }
}

/// The text, or the offset of the first byte that is not valid in `encoding`.
fn decode_strictly<'a>(
    encoding: &'static Encoding,
    bytes: &'a [u8],
) -> Result<Cow<'a, str>, usize> {
    if encoding == UTF_8 {
        return std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|error| error.valid_up_to());
    }
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut text = String::new();
    let mut consumed = 0;
    loop {
        let remaining = bytes.get(consumed..).unwrap_or_default();
        let needed = decoder
            .max_utf8_buffer_length_without_replacement(remaining.len())
            .unwrap_or(remaining.len());
        text.reserve(needed);
        let (result, read) =
            decoder.decode_to_string_without_replacement(remaining, &mut text, true);
        consumed += read;
        match result {
            DecoderResult::InputEmpty => return Ok(Cow::Owned(text)),
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(bad, after) => {
                return Err(consumed.saturating_sub(usize::from(bad) + usize::from(after)));
            }
        }
    }
}

/// Past this many attributes on one element, duplicates are found with a hash set: a
/// linear scan is faster for the few attributes real elements have, but quadratic.
const ATTRIBUTES_SCANNED: usize = 16;

/// The bytes first reserved for the text of an element that has it in several pieces.
const TEXT_RESERVED: usize = 64;

/// [`Element::attributes`].
type AttributeList<'t> = Vec<(Cow<'t, str>, Cow<'t, str>)>;

struct TreeBuilder<'s, 't> {
    source: &'s Source<'s>,
    /// The decoded document, which names and text borrow from.
    text: &'t str,
    limits: &'s XmlLimits,
    /// Every element started whose parent is still open, in document order: each open
    /// element is followed by its children so far. An element is written here once and
    /// stays in place until its parent ends, when its siblings and it are moved, in one
    /// copy and one allocation of their exact number, into the parent's `children`.
    nodes: Vec<Element<'t>>,
    /// Where the elements started and not yet ended are in `nodes`, outermost first.
    open: Vec<usize>,
    element_count: usize,
}

impl<'s, 't> TreeBuilder<'s, 't> {
    fn new(source: &'s Source<'s>, text: &'t str, limits: &'s XmlLimits) -> Self {
        Self {
            source,
            text,
            limits,
            nodes: Vec::new(),
            open: Vec::new(),
            element_count: 0,
        }
    }

    fn build(mut self) -> Result<Element<'t>, Diagnostic> {
        let mut reader = Reader::from_str(self.text);
        loop {
            let event_start = offset(reader.buffer_position());
            match reader.read_event() {
                Ok(Event::Start(start)) => {
                    self.start_element(&start, event_start)?;
                    self.open.push(self.nodes.len() - 1);
                }
                Ok(Event::Empty(start)) => self.start_element(&start, event_start)?,
                Ok(Event::End(_)) => match self.open.pop() {
                    Some(index) => self.end_element(index),
                    None => return Err(self.malformed(event_start, "an end tag closes nothing")),
                },
                Ok(Event::Text(raw)) => {
                    let raw = self.borrowed(&raw, event_start)?;
                    self.add_text(raw, event_start, true)?;
                }
                Ok(Event::CData(raw)) => {
                    let raw = self.borrowed(&raw, event_start)?;
                    self.add_text(raw, event_start, false)?;
                }
                Ok(Event::Decl(_)) if event_start != 0 => {
                    return Err(self.malformed(
                        event_start,
                        "an XML declaration is only allowed at the very start",
                    ));
                }
                Ok(Event::DocType(_)) if self.nodes.is_empty() => {}
                Ok(Event::DocType(_)) => {
                    return Err(self.malformed(
                        event_start,
                        "a DOCTYPE is only allowed before the root element",
                    ));
                }
                Ok(Event::Decl(_) | Event::Comment(_) | Event::PI(_)) => {}
                Ok(Event::Eof) => break,
                Err(error) => return Err(self.reader_failure(&error, reader.error_position())),
            }
        }
        if let Some(innermost) = self.open.last().and_then(|&index| self.nodes.get(index)) {
            let message = format!(
                "the input ends inside <{0}> at byte {1}; </{0}> is missing",
                innermost.name,
                self.source.input_offset(self.text.len())
            );
            return Err(Diagnostic::error(self.path(), "xml.truncated", message));
        }
        // With nothing open, `nodes` holds the root alone: a second root is refused.
        self.nodes.pop().ok_or_else(|| {
            Diagnostic::error("", "xml.malformed", "the document has no root element")
        })
    }

    /// Checks a start tag and appends its element to `nodes`.
    fn start_element(&mut self, start: &BytesStart<'_>, at: usize) -> Result<(), Diagnostic> {
        if self.open.is_empty() && !self.nodes.is_empty() {
            return Err(self.malformed(at, "a second root element follows the first"));
        }
        let name = self.borrowed(start.name().as_ref(), at)?;
        if self.open.len() >= self.limits.max_depth {
            return Err(self.too_deep(name, at));
        }
        self.element_count += 1;
        if self.element_count > self.limits.max_elements {
            return Err(self.too_many_elements(at));
        }
        if !is_valid_xml_name(name) {
            return Err(self.malformed(
                at,
                &format!("{} is not a valid element name", quote_start(name)),
            ));
        }
        // Most elements have no attributes, so setting up quick-xml's iterator for them
        // would cost more than the rest of the element.
        let attributes = if start.attributes_raw().is_empty() {
            Vec::new()
        } else {
            self.attributes(start, name, at)?
        };
        self.nodes.push(Element {
            name: Cow::Borrowed(name),
            attributes,
            children: Vec::new(),
            text: Cow::Borrowed(""),
        });
        Ok(())
    }

    // The failures are kept out of line so that the path every element takes stays small.
    #[cold]
    #[inline(never)]
    fn too_deep(&self, name: &str, at: usize) -> Diagnostic {
        Diagnostic::error(
            self.path(),
            "xml.too_deep",
            format!(
                "<{}> at byte {} is nested {} deep; at most {} levels are accepted",
                shorten(name),
                self.source.input_offset(at),
                self.open.len() + 1,
                self.limits.max_depth
            ),
        )
    }

    #[cold]
    #[inline(never)]
    fn too_many_elements(&self, at: usize) -> Diagnostic {
        Diagnostic::error(
            self.path(),
            "xml.too_many_elements",
            format!(
                "more than {} elements (byte {}); no more are accepted",
                self.limits.max_elements,
                self.source.input_offset(at)
            ),
        )
    }

    /// The attributes of the element `name` that `start` starts, checked.
    fn attributes(
        &self,
        start: &BytesStart<'_>,
        name: &'t str,
        at: usize,
    ) -> Result<AttributeList<'t>, Diagnostic> {
        let mut attributes: AttributeList<'t> = Vec::new();
        let element_path = || format!("{}/{name}", self.path());
        let mut seen: Option<HashSet<&str>> = None;
        let mut read = start.attributes();
        // quick-xml's own duplicate check is quadratic in the number of attributes.
        read.with_checks(false);
        for attribute in read {
            let attribute = attribute.map_err(|error| {
                self.failure(
                    &element_path(),
                    "xml.malformed",
                    at,
                    &format!("bad attribute: {error}"),
                )
            })?;
            let key = self.borrowed(attribute.key.into_inner(), at)?;
            let attribute_path = || format!("{}/@{key}", element_path());
            if !is_valid_xml_name(key) {
                let why = format!("{} is not a valid attribute name", quote_start(key));
                return Err(self.failure(&element_path(), "xml.malformed", at, &why));
            }
            let duplicate = match &mut seen {
                Some(keys) => !keys.insert(key),
                None => {
                    let duplicate = attributes.iter().any(|(earlier, _)| earlier == key);
                    if attributes.len() >= ATTRIBUTES_SCANNED {
                        let mut keys: HashSet<&'t str> = HashSet::new();
                        for (earlier, _) in &attributes {
                            if let Cow::Borrowed(earlier) = earlier {
                                keys.insert(earlier);
                            }
                        }
                        keys.insert(key);
                        seen = Some(keys);
                    }
                    duplicate
                }
            };
            if duplicate {
                let why = "the attribute appears twice in the same element";
                return Err(self.failure(&attribute_path(), "xml.malformed", at, why));
            }
            let raw = self.borrowed(&attribute.value, at)?;
            if is_plain(raw, PLAIN_VALUE) {
                attributes.push((Cow::Borrowed(key), Cow::Borrowed(raw)));
                continue;
            }
            if raw.contains('<') {
                let why = "`<` must be written `&lt;` in an attribute value";
                return Err(self.failure(&attribute_path(), "xml.malformed", at, why));
            }
            let value = match normalize_attribute_whitespace(raw) {
                Cow::Borrowed(raw) => self.unescape(raw, &attribute_path, at, None)?,
                Cow::Owned(raw) => {
                    Cow::Owned(self.unescape(&raw, &attribute_path, at, None)?.into_owned())
                }
            };
            attributes.push((Cow::Borrowed(key), value));
        }
        Ok(attributes)
    }

    /// Moves the children of the element at `index` in `nodes`, which all follow it,
    /// into it.
    fn end_element(&mut self, index: usize) {
        let first_child = index + 1;
        // Most elements are leaves; `split_off` would still make a call to find nothing.
        if first_child < self.nodes.len() {
            let children = self.nodes.split_off(first_child);
            if let Some(element) = self.nodes.get_mut(index) {
                element.children = children;
            }
        }
    }

    fn add_text(&mut self, raw: &'t str, at: usize, escaped: bool) -> Result<(), Diagnostic> {
        if self.open.is_empty() {
            if escaped
                && raw
                    .bytes()
                    .all(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
            {
                return Ok(());
            }
            return Err(self.malformed(at, "text outside the root element"));
        }
        let path = || self.path();
        let text = if is_plain(raw, PLAIN_TEXT) {
            Cow::Borrowed(raw)
        } else {
            self.text_value(raw, &path, at, escaped)?
        };
        if let Some(element) = self
            .open
            .last()
            .and_then(|&index| self.nodes.get_mut(index))
        {
            match &mut element.text {
                Cow::Borrowed("") => element.text = text,
                Cow::Borrowed(earlier) => {
                    // The text of an element with children in a pretty-printed document
                    // is its indentation, one piece a child: room for several pieces up
                    // front saves growing the string for each.
                    let length = earlier.len() + text.len();
                    let mut joined = String::with_capacity(length.max(TEXT_RESERVED));
                    joined.push_str(earlier);
                    joined.push_str(&text);
                    element.text = Cow::Owned(joined);
                }
                Cow::Owned(joined) => joined.push_str(&text),
            }
        }
        Ok(())
    }

    /// The text `raw` reads as, with line ends normalised and, if `escaped`, references
    /// replaced.
    fn text_value(
        &self,
        raw: &'t str,
        path: &dyn Fn() -> String,
        at: usize,
        escaped: bool,
    ) -> Result<Cow<'t, str>, Diagnostic> {
        Ok(match (normalize_line_endings(raw), escaped) {
            (Cow::Borrowed(raw), true) => self.unescape(raw, &path, at, Some(at))?,
            (Cow::Owned(raw), true) => {
                Cow::Owned(self.unescape(&raw, &path, at, Some(at))?.into_owned())
            }
            (raw, false) => {
                check_xml_chars(&raw)
                    .map_err(|why| self.failure(&path(), "xml.invalid_char", at, &why))?;
                raw
            }
        })
    }

    /// Unescapes `raw`; `raw_start` is where `raw` begins in the text when the offsets of
    /// references in it are meaningful (text), `None` when not (normalised attributes).
    /// `path` is only called to report a failure.
    fn unescape<'r>(
        &self,
        raw: &'r str,
        path: &dyn Fn() -> String,
        at: usize,
        raw_start: Option<usize>,
    ) -> Result<Cow<'r, str>, Diagnostic> {
        let at_reference = |position: usize| raw_start.map_or(at, |start| start + position);
        let value = unescape(raw).map_err(|error| match error {
            EscapeError::UnrecognizedEntity(range, entity) if is_valid_xml_name(&entity) => self
                .failure(
                    &path(),
                    "xml.unknown_entity",
                    at_reference(range.start.saturating_sub(1)),
                    &format!(
                        "unknown entity &{};: only &lt; &gt; &amp; &quot; &apos; and character \
                         references are understood (DTD entities are never expanded)",
                        shorten(&entity)
                    ),
                ),
            EscapeError::UnrecognizedEntity(range, _) => self.failure(
                &path(),
                "xml.malformed",
                at_reference(range.start.saturating_sub(1)),
                "`&` does not start a reference; write `&amp;`",
            ),
            EscapeError::UnterminatedEntity(range) => self.failure(
                &path(),
                "xml.malformed",
                at_reference(range.start),
                "`&` does not start a reference; write `&amp;`",
            ),
            EscapeError::InvalidCharRef(ParseCharRefError::IllegalCharacter(code)) => self.failure(
                &path(),
                "xml.invalid_char",
                at,
                &format!("a character reference to U+{code:04X}, which XML does not allow"),
            ),
            EscapeError::InvalidCharRef(error) => self.failure(
                &path(),
                "xml.malformed",
                at,
                &format!("invalid character reference: {error}"),
            ),
        })?;
        check_xml_chars(&value)
            .map_err(|why| self.failure(&path(), "xml.invalid_char", at, &why))?;
        Ok(value)
    }

    /// The part of the document that `bytes` (a name, a value, a text taken from a reader
    /// event) is, with the document's lifetime rather than the event's. Every event of a
    /// `Reader::from_str` is a view into the document, and its markup never splits a
    /// character, so this fails only on a reader that copied.
    fn borrowed(&self, bytes: &[u8], at: usize) -> Result<&'t str, Diagnostic> {
        let start = (bytes.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        start
            .checked_add(bytes.len())
            .and_then(|end| self.text.get(start..end))
            .ok_or_else(|| self.malformed(at, "markup splits a character (not valid UTF-8)"))
    }

    fn reader_failure(&self, error: &QuickXmlError, error_position: u64) -> Diagnostic {
        let at = offset(error_position);
        match error {
            QuickXmlError::Syntax(
                syntax @ (SyntaxError::UnclosedTag
                | SyntaxError::UnclosedComment
                | SyntaxError::UnclosedCData
                | SyntaxError::UnclosedDoctype
                | SyntaxError::UnclosedPIOrXmlDecl),
            ) => self.failure(&self.path(), "xml.truncated", at, &syntax.to_string()),
            QuickXmlError::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
                let why = format!("</{}> closes <{}>", shorten(found), shorten(expected));
                self.malformed(at, &why)
            }
            other => self.malformed(at, &other.to_string()),
        }
    }

    #[cold]
    fn malformed(&self, at: usize, why: &str) -> Diagnostic {
        self.failure(&self.path(), "xml.malformed", at, why)
    }

    #[cold]
    fn failure(&self, path: &str, code: &str, at: usize, why: &str) -> Diagnostic {
        Diagnostic::error(
            path,
            code,
            format!("{why} (at byte {})", self.source.input_offset(at)),
        )
    }

    /// The path of the innermost open element; built only for diagnostics.
    fn path(&self) -> String {
        self.open
            .iter()
            .filter_map(|&index| self.nodes.get(index))
            .fold(String::new(), |mut path, element| {
                path.push('/');
                path.push_str(&element.name);
                path
            })
    }
}

fn offset(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

/// XML reads every `\r\n` and lone `\r` as `\n` (section 2.11); literal carriage returns
/// only survive as `&#13;`.
fn normalize_line_endings(raw: &str) -> Cow<'_, str> {
    if raw.contains('\r') {
        Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(raw)
    }
}

/// XML reads literal tabs and line breaks in attribute values as spaces (section 3.3.3);
/// only character references keep them.
fn normalize_attribute_whitespace(raw: &str) -> Cow<'_, str> {
    if raw.contains(['\t', '\n', '\r']) {
        Cow::Owned(raw.replace("\r\n", " ").replace(['\t', '\n', '\r'], " "))
    } else {
        Cow::Borrowed(raw)
    }
}

/// In [`PLAIN_BYTES`]: the byte reads as itself in text, needing no line-end
/// normalisation, unescaping or character check.
const PLAIN_TEXT: u8 = 1;
/// In [`PLAIN_BYTES`]: the byte reads as itself in an attribute value, which also
/// normalises tabs and line feeds and may not hold `<`.
const PLAIN_VALUE: u8 = 2;

/// Which bytes need no work, by byte. What is left out: control characters, `&`, `\r`
/// (and for values `\t`, `\n`, `<`), and 0xEF, the lead byte of U+FFFE and U+FFFF; the
/// slow paths sort out what these actually are.
static PLAIN_BYTES: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        let c = byte as u8;
        if c == b'\t' || c == b'\n' {
            table[byte] = PLAIN_TEXT;
        } else if c >= 0x20 && c != b'&' && c != 0xEF {
            table[byte] = if c == b'<' {
                PLAIN_TEXT
            } else {
                PLAIN_TEXT | PLAIN_VALUE
            };
        }
        byte += 1;
    }
    table
};

/// Whether every byte of `raw` has the `kind` bit in [`PLAIN_BYTES`]: one pass instead
/// of a scan each for line ends, references and forbidden characters.
fn is_plain(raw: &str, kind: u8) -> bool {
    raw.bytes()
        .fold(kind, |all, byte| all & PLAIN_BYTES[usize::from(byte)])
        != 0
}

/// The XML 1.0 `Char` production: no control characters but tab, line feed and carriage
/// return, no U+FFFE / U+FFFF (surrogates cannot occur in Rust strings).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn check_xml_chars(text: &str) -> Result<(), String> {
    // Only control characters and U+FFFE/U+FFFF (lead byte 0xEF) can fail; most text has
    // neither, and a byte scan is several times faster than decoding characters.
    let plain = |byte: u8| byte >= 0x20 && byte != 0xEF || matches!(byte, b'\t' | b'\n' | b'\r');
    if text.bytes().all(plain) {
        return Ok(());
    }
    match text.chars().find(|&c| !is_xml_char(c)) {
        Some(c) => Err(format!(
            "the character U+{:04X} is not allowed in XML 1.0",
            u32::from(c)
        )),
        None => Ok(()),
    }
}

/// Whether `name` matches the XML 1.0 (fifth edition) `Name` production, so it can be
/// used as an element or attribute name. Colons are allowed, as in `soap:Envelope`.
pub fn is_valid_xml_name(name: &str) -> bool {
    // Almost every name is ASCII, where one table lookup a byte decides; a byte the table
    // refuses is either an ASCII character no name may hold or part of a non-ASCII
    // character, which the slow path below judges.
    if let Some((&first, rest)) = name.as_bytes().split_first()
        && NAME_BYTES[usize::from(first)] & NAME_START != 0
        && rest
            .iter()
            .all(|&byte| NAME_BYTES[usize::from(byte)] & NAME_BYTE != 0)
    {
        return true;
    }
    if name.is_ascii() {
        return false;
    }
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char)
}

/// In [`NAME_BYTES`]: the ASCII character may start a name.
const NAME_START: u8 = 1;
/// In [`NAME_BYTES`]: the ASCII character may follow the first one in a name.
const NAME_BYTE: u8 = 2;

/// The ASCII part of the `NameStartChar` and `NameChar` productions, by byte.
static NAME_BYTES: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 128 {
        let c = byte as u8;
        if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            table[byte] = NAME_START | NAME_BYTE;
        } else if c.is_ascii_digit() || c == b'-' || c == b'.' {
            table[byte] = NAME_BYTE;
        }
        byte += 1;
    }
    table
};

fn is_name_start_char(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c,
            '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// How much of an offending name or value a message quotes.
const QUOTED_CHARS: usize = 40;

/// The start of `value`, marked with `…` when cut.
fn shorten(value: &str) -> Cow<'_, str> {
    match value.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &value[..cut])),
        None => Cow::Borrowed(value),
    }
}

fn quote_start(value: &str) -> String {
    format!("{:?}", shorten(value))
}

/// Writes UTF-8 XML that is well-formed by construction.
///
/// Names and characters are checked before anything is written, so a failed call leaves
/// the output unchanged; [`Self::end`] always closes the innermost open element, and
/// [`Self::into_bytes`] closes whatever is still open. Calls chain with `?`:
///
/// ```
/// # use tradewire_sdk::xml::XmlWriter;
/// # fn main() -> Result<(), tradewire_sdk::Diagnostic> {
/// let mut writer = XmlWriter::new();
/// writer.declaration()?.start("order")?.leaf("number", "A&B 42")?.end()?;
/// assert_eq!(
///     writer.into_bytes(),
///     b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<order><number>A&amp;B 42</number></order>"
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct XmlWriter {
    output: Vec<u8>,
    open: Vec<OpenElement>,
    root_started: bool,
    indent: bool,
}

#[derive(Debug)]
struct OpenElement {
    /// Where the name was written in the output (after `<`), to copy into the end tag.
    name: std::ops::Range<usize>,
    has_children: bool,
    has_text: bool,
}

impl XmlWriter {
    /// A writer that adds no whitespace, for documents machines read.
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer that puts each element on its own line, indented by two spaces per level.
    /// The indentation becomes text of the enclosing elements, so use it only where text
    /// and child elements are not mixed (inside an element that has text, nothing is
    /// indented).
    pub fn pretty() -> Self {
        Self {
            indent: true,
            ..Self::default()
        }
    }

    /// `<?xml version="1.0" encoding="UTF-8"?>`; only allowed first.
    pub fn declaration(&mut self) -> Result<&mut Self, Diagnostic> {
        if !self.output.is_empty() {
            return Err(Diagnostic::error(
                self.path(),
                "xml.misplaced",
                "the XML declaration must come first",
            ));
        }
        self.output
            .extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Ok(self)
    }

    /// Opens an element; close it with [`Self::end`].
    pub fn start(&mut self, name: &str) -> Result<&mut Self, Diagnostic> {
        self.start_with(name, &[])
    }

    /// Opens an element with attributes, written in the order given.
    pub fn start_with(
        &mut self,
        name: &str,
        attributes: &[(&str, &str)],
    ) -> Result<&mut Self, Diagnostic> {
        let name = self.write_start_tag(name, attributes, false)?;
        self.open.push(OpenElement {
            name,
            has_children: false,
            has_text: false,
        });
        Ok(self)
    }

    /// `<name/>`.
    pub fn empty(&mut self, name: &str) -> Result<&mut Self, Diagnostic> {
        self.empty_with(name, &[])
    }

    /// `<name key="value"/>`.
    pub fn empty_with(
        &mut self,
        name: &str,
        attributes: &[(&str, &str)],
    ) -> Result<&mut Self, Diagnostic> {
        self.write_start_tag(name, attributes, true)?;
        Ok(self)
    }

    /// Closes the innermost open element.
    pub fn end(&mut self) -> Result<&mut Self, Diagnostic> {
        let Some(element) = self.open.pop() else {
            return Err(Diagnostic::error(
                "",
                "xml.misplaced",
                "end() called with no element open",
            ));
        };
        if self.indent && element.has_children && !element.has_text {
            self.new_line();
        }
        self.output.extend_from_slice(b"</");
        self.output.extend_from_within(element.name);
        self.output.push(b'>');
        Ok(self)
    }

    /// Text inside the innermost open element, escaped as needed.
    pub fn text(&mut self, value: &str) -> Result<&mut Self, Diagnostic> {
        if self.open.is_empty() {
            return Err(Diagnostic::error(
                "",
                "xml.misplaced",
                "text must be inside an element",
            ));
        }
        self.check_chars(|| self.path(), value)?;
        if let Some(element) = self.open.last_mut() {
            element.has_text = true;
        }
        escape_into(&mut self.output, value, false);
        Ok(self)
    }

    /// `<name>value</name>`.
    pub fn leaf(&mut self, name: &str, value: &str) -> Result<&mut Self, Diagnostic> {
        self.check_name(name, "element")?;
        self.check_chars(|| format!("{}/{name}", self.path()), value)?;
        self.start(name)?.text(value)?.end()
    }

    /// `<name>value</name>` when there is a value, nothing otherwise: for optional fields
    /// that protocols want left out rather than empty.
    pub fn optional_leaf(
        &mut self,
        name: &str,
        value: Option<&str>,
    ) -> Result<&mut Self, Diagnostic> {
        match value {
            Some(value) => self.leaf(name, value),
            None => {
                self.check_name(name, "element")?;
                Ok(self)
            }
        }
    }

    /// The document, with any elements still open closed.
    pub fn into_bytes(mut self) -> Vec<u8> {
        while self.end().is_ok() {}
        self.output
    }

    fn write_start_tag(
        &mut self,
        name: &str,
        attributes: &[(&str, &str)],
        self_closing: bool,
    ) -> Result<std::ops::Range<usize>, Diagnostic> {
        self.check_name(name, "element")?;
        if self.open.is_empty() && self.root_started {
            return Err(Diagnostic::error(
                format!("/{name}"),
                "xml.misplaced",
                "a document has one root element; this would be a second one",
            ));
        }
        let path = || format!("{}/{name}", self.path());
        for (index, (key, value)) in attributes.iter().enumerate() {
            self.check_name(key, "attribute")?;
            if attributes[..index]
                .iter()
                .any(|(earlier, _)| earlier == key)
            {
                return Err(Diagnostic::error(
                    format!("{}/@{key}", path()),
                    "xml.duplicate_attribute",
                    "the attribute is given twice",
                ));
            }
            self.check_chars(|| format!("{}/@{key}", path()), value)?;
        }

        let indent_here = match self.open.last_mut() {
            Some(parent) => {
                parent.has_children = true;
                !parent.has_text
            }
            None => !self.output.is_empty(),
        };
        if self.indent && indent_here && !self.output.ends_with(b"\n") {
            self.new_line();
        }
        self.root_started = true;
        self.output.push(b'<');
        let name_start = self.output.len();
        self.output.extend_from_slice(name.as_bytes());
        let name = name_start..self.output.len();
        for (key, value) in attributes {
            self.output.push(b' ');
            self.output.extend_from_slice(key.as_bytes());
            self.output.extend_from_slice(b"=\"");
            escape_into(&mut self.output, value, true);
            self.output.push(b'"');
        }
        self.output
            .extend_from_slice(if self_closing { b"/>" } else { b">" });
        Ok(name)
    }

    fn new_line(&mut self) {
        self.output.push(b'\n');
        for _ in 0..self.open.len() {
            self.output.extend_from_slice(b"  ");
        }
    }

    fn check_name(&self, name: &str, kind: &str) -> Result<(), Diagnostic> {
        if is_valid_xml_name(name) {
            Ok(())
        } else {
            Err(Diagnostic::error(
                self.path(),
                "xml.invalid_name",
                format!("{} is not a valid XML {kind} name", quote_start(name)),
            ))
        }
    }

    /// `path` is only called to report a failure.
    fn check_chars(&self, path: impl Fn() -> String, value: &str) -> Result<(), Diagnostic> {
        check_xml_chars(value).map_err(|why| Diagnostic::error(path(), "xml.invalid_char", why))
    }

    /// The path of the innermost open element; built only for diagnostics.
    fn path(&self) -> String {
        self.open.iter().fold(String::new(), |mut path, element| {
            path.push('/');
            path.push_str(&String::from_utf8_lossy(
                self.output.get(element.name.clone()).unwrap_or_default(),
            ));
            path
        })
    }
}

/// Escapes what would otherwise be read differently: markup characters, `>` (so `]]>`
/// never appears), and in attributes the quote and the whitespace XML would normalise.
/// Carriage returns are written as references everywhere, since a parser turns a
/// literal one into a line feed.
fn escape_into(output: &mut Vec<u8>, value: &str, in_attribute: bool) {
    // Every byte to escape is ASCII, so it never splits a multi-byte character; the runs
    // between them are copied whole.
    let bytes = value.as_bytes();
    let mut copied = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let replacement: &[u8] = match byte {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => b"&#13;",
            b'"' if in_attribute => b"&quot;",
            b'\t' if in_attribute => b"&#9;",
            b'\n' if in_attribute => b"&#10;",
            _ => continue,
        };
        output.extend_from_slice(&bytes[copied..index]);
        output.extend_from_slice(replacement);
        copied = index + 1;
    }
    output.extend_from_slice(&bytes[copied..]);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    fn parse_default(document: &[u8]) -> Result<Element<'_>, Diagnostics> {
        parse(document, &XmlLimits::default())
    }

    fn only_error(document: &[u8]) -> Diagnostic {
        only_error_with(document, &XmlLimits::default())
    }

    fn only_error_with(document: &[u8], limits: &XmlLimits) -> Diagnostic {
        let diagnostics = parse(document, limits).expect_err("the document is refused");
        assert_eq!(diagnostics.len(), 1, "{diagnostics}");
        let diagnostic = diagnostics.into_vec().remove(0);
        assert!(diagnostic.is_error());
        diagnostic
    }

    #[test]
    fn reads_a_tree_with_helpers() {
        let document = br#"<?xml version="1.0"?>
<!-- a cXML-ish order -->
<cXML payloadID="42@x" xml:lang="de">
  <Request deploymentMode="test">
    <Item qty="1"><Name> Stift </Name></Item>
    <Item qty="2"><Name>Papier &amp; Umschlag</Name><Note/></Item>
    <soap:Body xmlns:soap="urn:s">x<![CDATA[<raw & text>]]>y</soap:Body>
  </Request>
</cXML>
"#;
        let root = parse_default(document).unwrap();
        assert_eq!(root.name, "cXML");
        assert_eq!(root.attribute("payloadID"), Some("42@x"));
        assert_eq!(root.attribute("xml:lang"), Some("de"));
        assert_eq!(root.attribute("missing"), None);
        let request = root.child("Request").unwrap();
        let items: Vec<_> = request.children_named("Item").collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].child_text("Name"), Some("Stift"));
        assert_eq!(items[0].child("Name").unwrap().text, " Stift ");
        assert_eq!(items[1].child_text("Name"), Some("Papier & Umschlag"));
        assert_eq!(items[1].child_text("Note"), Some(""));
        assert_eq!(items[1].attribute("qty"), Some("2"));
        let body = request.child("soap:Body").unwrap();
        assert_eq!(body.local_name(), "Body");
        assert_eq!(root.local_name(), "cXML");
        assert_eq!(body.text, "x<raw & text>y");
        assert_eq!(request.text, "\n    \n    \n    \n  ");
        assert!(request.child("Body").is_none());
    }

    #[test]
    fn text_in_pieces_is_joined() {
        let long = "é".repeat(40);
        let document = format!("<a>{long}<b/>&amp;<!-- c --><![CDATA[<]]>\r\n<b/>{long}</a>");
        let root = parse_default(document.as_bytes()).unwrap();
        assert_eq!(root.text, format!("{long}&<\n{long}"));
        assert_eq!(root.children.len(), 2);
    }

    #[test]
    fn utf8_documents_are_read_in_place_and_others_owned() {
        let document = "<a k=\"v\"><b>plain</b><c>x &amp; y</c></a>".as_bytes();
        let root = parse_default(document).unwrap();
        let borrowed = |text: &Cow<'_, str>| matches!(text, Cow::Borrowed(_));
        assert!(borrowed(&root.name));
        assert!(borrowed(&root.attributes[0].1));
        assert!(borrowed(&root.children[0].text));
        assert!(!borrowed(&root.children[1].text), "unescaped text is owned");
        assert_eq!(root.children[1].text, "x & y");

        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>caf\xe9</a>";
        let root = parse_default(latin1).unwrap();
        assert_eq!(root.text, "caf\u{e9}");
        let owned: Element<'static> = root.into_owned();
        assert_eq!(owned.name, "a");
    }

    #[test]
    fn duplicate_attributes_are_found_among_many() {
        let mut document = String::from("<a");
        for i in 0..40 {
            document.push_str(&format!(" k{i}=\"{i}\""));
        }
        let complete = format!("{document}/>");
        let root = parse_default(complete.as_bytes()).unwrap();
        assert_eq!(root.attributes.len(), 40);
        assert_eq!(root.attribute("k39"), Some("39"));
        for duplicate in ["k0", "k15", "k16", "k39"] {
            let error = only_error(format!("{document} {duplicate}=\"x\"/>").as_bytes());
            assert_eq!(error.code, "xml.malformed");
            assert_eq!(error.path, format!("/a/@{duplicate}"));
        }
    }

    #[test]
    fn references_are_unescaped_and_line_ends_normalised() {
        let root = parse_default(
            b"<a t=\"&lt;&#65;&#x42;&quot;&apos;\tx\r\ny\">&lt;&gt;&amp;&#233;\r\nz\rw&#13;</a>",
        )
        .unwrap();
        assert_eq!(root.attribute("t"), Some("<AB\"' x y"));
        assert_eq!(root.text, "<>&\u{e9}\nz\nw\r");
    }

    #[test]
    fn declared_iso_8859_1_is_decoded() {
        let document = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><commande ville=\"Orl\xe9ans\">caf\xe9</commande>";
        let root = parse_default(document).unwrap();
        assert_eq!(root.text, "café");
        assert_eq!(root.attribute("ville"), Some("Orléans"));
    }

    #[test]
    fn byte_order_marks_win() {
        let mut utf8 = b"\xef\xbb\xbf<a>\xc3\xa9</a>".to_vec();
        assert_eq!(parse_default(&utf8).unwrap().text, "é");
        utf8.truncate(3);
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<a>é</a>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(parse_default(&utf16).unwrap().text, "é");
    }

    #[test]
    fn unknown_and_invalid_encodings_are_refused() {
        let unknown = only_error(b"<?xml version=\"1.0\" encoding=\"klingon\"?><a/>");
        assert_eq!(unknown.code, "xml.unknown_encoding");

        let invalid = only_error(b"<a>ok \xff</a>");
        assert_eq!(invalid.code, "xml.invalid_encoding");
        assert!(invalid.message.contains("offset 6"), "{}", invalid.message);
    }

    #[test]
    fn depth_bomb_stops_at_the_limit_quickly() {
        let bomb = "<a>".repeat(100_000);
        let started = Instant::now();
        let error = only_error(bomb.as_bytes());
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(error.code, "xml.too_deep");
        assert_eq!(error.path.matches("/a").count(), 64);
        assert!(error.message.contains("byte 192"), "{}", error.message);
    }

    #[test]
    fn size_and_element_limits_are_enforced() {
        let limits = XmlLimits {
            max_depth: 3,
            max_bytes: 40,
            max_elements: 3,
        };
        assert!(parse(b"<a><b><c/></b></a>", &limits).is_ok());
        assert_eq!(
            only_error_with(b"<a><b><c><d/></c></b></a>", &limits).code,
            "xml.too_deep"
        );
        assert_eq!(
            only_error_with(b"<a><b/><b/><b/></a>", &limits).code,
            "xml.too_many_elements"
        );
        let too_large = only_error_with(&[b' '; 41], &limits);
        assert_eq!(too_large.code, "xml.too_large");
    }

    #[test]
    fn truncated_input_names_the_path_and_offset() {
        let error = only_error(b"<connecteur><order><commande>12");
        assert_eq!(error.code, "xml.truncated");
        assert_eq!(error.path, "/connecteur/order/commande");
        assert!(error.message.contains("byte 31"), "{}", error.message);

        let inside_tag = only_error(b"<connecteur><order><comm");
        assert_eq!(inside_tag.code, "xml.truncated");
        assert_eq!(inside_tag.path, "/connecteur/order");
        assert!(
            inside_tag.message.contains("byte 19"),
            "{}",
            inside_tag.message
        );

        assert_eq!(only_error(b"<a><!-- never closed").code, "xml.truncated");
        assert_eq!(only_error(b"<a><![CDATA[x").code, "xml.truncated");
    }

    #[test]
    fn offsets_count_input_bytes_of_single_byte_charsets() {
        let document = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9\xe9\xe9</b>";
        let error = only_error(document);
        assert_eq!(error.code, "xml.malformed");
        // `</b>` is at byte 52 of the UTF-8 text, but at byte 49 of what was sent.
        assert!(error.message.contains("byte 49"), "{}", error.message);
    }

    #[test]
    fn malformed_documents_are_refused() {
        for (document, path) in [
            (&b""[..], ""),
            (b"   ", ""),
            (b"just text", ""),
            (b"<a></b>", "/a"),
            (b"<a><b></a>", "/a/b"),
            (b"<a/><b/>", ""),
            (b"<a/>trailing", ""),
            (b"<a>x & y</a>", "/a"),
            (b"<a>x & y; z</a>", "/a"),
            (b"<a b=\"1\" b=\"2\"/>", "/a/@b"),
            (b"<a b/>", "/a"),
            (b"<a b=\"<\"/>", "/a/@b"),
            (b"<1a/>", ""),
            (b"<a 1b=\"x\"/>", "/a"),
            (b"<a>&#xZZ;</a>", "/a"),
            (b"<a/><?xml version=\"1.0\"?>", ""),
            (b" <?xml version=\"1.0\"?><a/>", ""),
            (b"<a><!DOCTYPE a></a>", "/a"),
            (b"</a>", ""),
        ] {
            let error = only_error(document);
            assert_eq!(
                error.code,
                "xml.malformed",
                "{:?}: {error}",
                String::from_utf8_lossy(document)
            );
            assert_eq!(error.path, path, "{:?}", String::from_utf8_lossy(document));
            assert!(error.message.contains("byte") || path.is_empty(), "{error}");
        }
    }

    #[test]
    fn unknown_entities_are_refused_and_dtds_never_used() {
        let error = only_error(b"<a>\n<b>x &nbsp; y</b></a>");
        assert_eq!(error.code, "xml.unknown_entity");
        assert_eq!(error.path, "/a/b");
        assert!(error.message.contains("&nbsp;"), "{}", error.message);
        assert!(error.message.contains("byte 9"), "{}", error.message);

        let xxe = br#"<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<r>&xxe;</r>"#;
        assert_eq!(only_error(xxe).code, "xml.unknown_entity");

        let laughs = br#"<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]><lolz a="&lol3;">&lol3;</lolz>"#;
        let error = only_error(laughs);
        assert_eq!(error.code, "xml.unknown_entity");
        assert_eq!(error.path, "/lolz/@a");

        let harmless_doctype =
            b"<!DOCTYPE cXML SYSTEM \"http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd\"><cXML/>";
        assert_eq!(parse_default(harmless_doctype).unwrap().name, "cXML");
    }

    #[test]
    fn characters_outside_xml_are_refused() {
        assert_eq!(only_error(b"<a>\x01</a>").code, "xml.invalid_char");
        assert_eq!(only_error(b"<a>&#1;</a>").code, "xml.invalid_char");
        assert_eq!(only_error(b"<a>&#0;</a>").code, "xml.invalid_char");
        assert_eq!(only_error(b"<a b=\"&#xFFFE;\"/>").code, "xml.invalid_char");
        assert_eq!(
            only_error("<a>\u{FFFF}</a>".as_bytes()).code,
            "xml.invalid_char"
        );
        assert_eq!(
            only_error("<a b=\"\u{FFFE}\"/>".as_bytes()).code,
            "xml.invalid_char"
        );
        let root = parse_default("<a>\u{EFFF}\u{FFFD}\u{10000}\u{85}</a>".as_bytes()).unwrap();
        assert_eq!(root.text, "\u{EFFF}\u{FFFD}\u{10000}\u{85}");
        assert_eq!(
            only_error(b"<a><![CDATA[\x0b]]></a>").code,
            "xml.invalid_char"
        );
    }

    #[test]
    fn writes_and_reads_back() {
        let mut writer = XmlWriter::new();
        writer
            .declaration()
            .unwrap()
            .start_with("cXML", &[("payloadID", "1&2"), ("xml:lang", "fr")])
            .unwrap()
            .start("Item")
            .unwrap()
            .leaf("Name", "Stift <blau>")
            .unwrap()
            .optional_leaf("Note", None)
            .unwrap()
            .optional_leaf("Price", Some("1.50"))
            .unwrap()
            .empty_with("Flag", &[("on", "yes")])
            .unwrap()
            .empty("Nothing")
            .unwrap()
            .end()
            .unwrap();
        let bytes = writer.into_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<cXML payloadID=\"1&amp;2\" xml:lang=\"fr\">\
             <Item><Name>Stift &lt;blau&gt;</Name><Price>1.50</Price><Flag on=\"yes\"/><Nothing/>\
             </Item></cXML>"
        );
        let root = parse_default(&bytes).unwrap();
        assert_eq!(root.attribute("payloadID"), Some("1&2"));
        let item = root.child("Item").unwrap();
        assert_eq!(item.child_text("Name"), Some("Stift <blau>"));
        assert_eq!(item.child_text("Price"), Some("1.50"));
        assert!(item.child("Note").is_none());
        assert_eq!(item.child("Flag").unwrap().attribute("on"), Some("yes"));
    }

    #[test]
    fn escapes_markup_characters() {
        let nasty = "\u{8}2<>%;=#{\"z&lt;br /&gt;";
        let mut writer = XmlWriter::new();
        let error = writer.leaf("a", nasty).unwrap_err();
        assert_eq!(error.code, "xml.invalid_char", "backspace is not XML");

        let nasty = "b2<>%;=#{\"z&lt;br /&gt;'";
        writer
            .start_with("a", &[("v", nasty)])
            .unwrap()
            .text(nasty)
            .unwrap();
        let bytes = writer.into_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "<a v=\"b2&lt;&gt;%;=#{&quot;z&amp;lt;br /&amp;gt;'\">b2&lt;&gt;%;=#{\"z&amp;lt;br /&amp;gt;'</a>"
        );
        let root = parse_default(&bytes).unwrap();
        assert_eq!(root.text, nasty);
        assert_eq!(root.attribute("v"), Some(nasty));

        let mut writer = XmlWriter::new();
        writer.leaf("a", "]]> \r\n").unwrap();
        assert_eq!(writer.into_bytes(), b"<a>]]&gt; &#13;\n</a>");
    }

    #[test]
    fn invalid_names_are_refused_and_nothing_is_written() {
        for bad in [
            "", "1abc", "-a", ".a", "a b", "a<", "a>b", "a\"", "a/b", "a&b", "a=b",
        ] {
            let mut writer = XmlWriter::new();
            assert_eq!(
                writer.start(bad).unwrap_err().code,
                "xml.invalid_name",
                "{bad:?}"
            );
            assert_eq!(
                writer.empty(bad).unwrap_err().code,
                "xml.invalid_name",
                "{bad:?}"
            );
            assert_eq!(
                writer.leaf(bad, "x").unwrap_err().code,
                "xml.invalid_name",
                "{bad:?}"
            );
            assert_eq!(
                writer.optional_leaf(bad, None).unwrap_err().code,
                "xml.invalid_name"
            );
            assert_eq!(
                writer.start_with("ok", &[(bad, "v")]).unwrap_err().code,
                "xml.invalid_name",
                "{bad:?}"
            );
            assert!(writer.into_bytes().is_empty());
        }
        for good in [
            "a",
            "_a",
            "a1",
            "a-b.c",
            "soap:Envelope",
            "été",
            "NEW_ITEM-PRICE",
        ] {
            assert!(is_valid_xml_name(good), "{good:?}");
        }
    }

    #[test]
    fn writer_keeps_structure_well_formed() {
        let mut writer = XmlWriter::new();
        assert_eq!(writer.end().unwrap_err().code, "xml.misplaced");
        assert_eq!(writer.text("x").unwrap_err().code, "xml.misplaced");
        writer.start("a").unwrap().start("b").unwrap();
        assert_eq!(writer.declaration().unwrap_err().code, "xml.misplaced");
        assert_eq!(
            writer
                .start_with("c", &[("k", "1"), ("k", "2")])
                .unwrap_err()
                .code,
            "xml.duplicate_attribute"
        );
        let path = writer.text("bad \u{1}").unwrap_err().path;
        assert_eq!(path, "/a/b");
        writer.end().unwrap().end().unwrap();
        assert_eq!(writer.start("second").unwrap_err().code, "xml.misplaced");
        assert_eq!(writer.into_bytes(), b"<a><b></b></a>");

        let mut unclosed = XmlWriter::new();
        unclosed
            .start("a")
            .unwrap()
            .start("b")
            .unwrap()
            .text("x")
            .unwrap();
        assert_eq!(unclosed.into_bytes(), b"<a><b>x</b></a>");
    }

    #[test]
    fn pretty_output_indents_element_only_content() {
        let mut writer = XmlWriter::pretty();
        writer
            .declaration()
            .unwrap()
            .start("a")
            .unwrap()
            .start("b")
            .unwrap()
            .leaf("c", "text")
            .unwrap()
            .empty("d")
            .unwrap()
            .end()
            .unwrap()
            .start("mixed")
            .unwrap()
            .text("x")
            .unwrap()
            .leaf("e", "y")
            .unwrap()
            .end()
            .unwrap();
        let bytes = writer.into_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>\n  <b>\n    <c>text</c>\n    <d/>\n  </b>\n  <mixed>x<e>y</e></mixed>\n</a>"
        );
        let root = parse_default(&bytes).unwrap();
        assert_eq!(root.child("mixed").unwrap().text, "x");
    }

    fn xml_text() -> impl Strategy<Value = String> {
        let tricky = prop::sample::select(vec![
            '<', '>', '&', '"', '\'', '\r', '\n', '\t', ']', ';', ' ', '\u{85}', '\u{2028}',
        ]);
        prop::collection::vec(prop_oneof![any::<char>(), tricky], 0..40)
            .prop_map(|chars| chars.into_iter().filter(|&c| is_xml_char(c)).collect())
    }

    proptest! {
        #[test]
        fn name_table_agrees_with_the_name_production(
            name in prop::collection::vec(
                prop_oneof![
                    any::<char>(),
                    prop::sample::select(vec![':', '_', '-', '.', '0', 'a', 'Z', '\u{B7}', '\u{300}']),
                    (0u8..128).prop_map(char::from),
                ],
                0..6,
            )
        ) {
            let name: String = name.into_iter().collect();
            let mut chars = name.chars();
            let production = chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char);
            prop_assert_eq!(is_valid_xml_name(&name), production, "{:?}", name);
        }

        #[test]
        fn text_and_attributes_survive_write_then_parse(
            text in xml_text(),
            attribute in xml_text(),
            tail in xml_text(),
        ) {
            let mut writer = XmlWriter::new();
            writer
                .start_with("root", &[("value", &attribute)]).unwrap()
                .text(&text).unwrap()
                .leaf("child", &tail).unwrap();
            let bytes = writer.into_bytes();
            let root = parse_default(&bytes).unwrap();
            prop_assert_eq!(root.attribute("value"), Some(attribute.as_str()));
            prop_assert_eq!(&root.text, &text);
            prop_assert_eq!(&root.children[0].text, &tail);
        }

        #[test]
        fn parsing_never_panics(document in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_default(&document);
        }

        #[test]
        fn parsing_markup_soup_never_panics(
            parts in prop::collection::vec(
                prop::sample::select(vec![
                    "<a>", "</a>", "<b x='1'>", "</b>", "<c/>", "&amp;", "&", "&#", ";", "<!--",
                    "-->", "<![CDATA[", "]]>", "<?xml version='1.0'?>", "<!DOCTYPE a [", "]>",
                    "text", " ", "\r\n", "é", "\"", "=",
                ]),
                0..30,
            )
        ) {
            let _ = parse_default(parts.concat().as_bytes());
        }
    }
}
