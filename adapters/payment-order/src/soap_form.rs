//! The `order-soap` message: the order object as the SOAP `order` element of Payline's
//! web-payment API.
//!
//! In Payline's SOAP messages the `order` element itself is in the service namespace
//! (`http://impl.ws.payline.experian.com`) and its children in the object namespace
//! (`http://obj.ws.payline.experian.com`), with any prefixes the sender likes; an absent
//! value is often written `xsi:nil="true"`. Reading therefore resolves namespaces
//! itself (the SDK's XML tree keeps names as written) and accepts a bare `order` element
//! in either namespace, or any document (a SOAP envelope, a `doWebPaymentRequest`)
//! holding one.
//!
//! One reading ([`OrderReader`]) is given the document's elements in order, from one of
//! two sources. Plain UTF-8 input (no references, CDATA, DOCTYPE, carriage returns or
//! other charsets) that the SDK's reader would accept is read straight from quick-xml's
//! events ([`read_streamed`]), with no tree built: text is then the input's as it is.
//! Anything else, including every document the SDK refuses, is read from the SDK's tree
//! ([`parse`], [`read`]), which unescapes, decodes and says what is wrong; the streamed
//! reading gives up on the first thing it does not handle, so both read any document
//! the same (a test checks them against each other and against the reading before).

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use tradewire_sdk::Diagnostics;
use tradewire_sdk::xml::{self, Element, XmlLimits, XmlWriter};

use crate::config::SoapElement;
use crate::fields::{
    DETAIL_FIELDS, DETAILS, DETAILS_NAME, DetailField, Field, Form, ORDER_FIELDS, RawOrder,
    push_default,
};
use crate::text::quote;

pub(crate) const OBJ_NS: &str = "http://obj.ws.payline.experian.com";
pub(crate) const IMPL_NS: &str = "http://impl.ws.payline.experian.com";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// A SOAP envelope around an order is a few tens of kilobytes.
const LIMITS: XmlLimits = XmlLimits {
    max_depth: 32,
    max_bytes: 4 * 1024 * 1024,
    max_elements: 50_000,
};

/// A namespace as far as reading cares: Payline's two, XML Schema instance's (for
/// `xsi:nil`), or another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Namespace<'a> {
    Obj,
    Impl,
    Xsi,
    Other(&'a str),
}

impl<'a> Namespace<'a> {
    /// The namespace named `uri`; `None` for the empty name, which undeclares the
    /// default namespace (`xmlns=""`).
    fn of(uri: &'a str) -> Option<Self> {
        Some(match uri {
            "" => return None,
            OBJ_NS => Self::Obj,
            IMPL_NS => Self::Impl,
            XSI_NS => Self::Xsi,
            other => Self::Other(other),
        })
    }

    fn uri(self) -> &'a str {
        match self {
            Self::Obj => OBJ_NS,
            Self::Impl => IMPL_NS,
            Self::Xsi => XSI_NS,
            Self::Other(uri) => uri,
        }
    }
}

/// The namespace bindings in scope, as elements are entered and left. Each URI is told
/// apart once, when it is declared.
#[derive(Debug, Default)]
struct Namespaces<'a> {
    /// The default namespace (the prefix `""`), if any.
    default: Option<Namespace<'a>>,
    /// The other prefixes, innermost last.
    prefixed: Vec<(&'a str, Option<Namespace<'a>>)>,
    /// For each open element, the default namespace and the number of prefixes bound
    /// outside it.
    outside: Vec<(Option<Namespace<'a>>, usize)>,
}

impl<'a> Namespaces<'a> {
    /// Enters an element with these attributes, binding its `xmlns` declarations.
    fn enter(&mut self, attributes: &[(&'a str, &'a str)]) {
        self.outside.push((self.default, self.prefixed.len()));
        for &(name, value) in attributes {
            let prefix = if name == "xmlns" {
                ""
            } else if let Some(prefix) = name.strip_prefix("xmlns:") {
                prefix
            } else {
                continue;
            };
            if prefix.is_empty() {
                self.default = Namespace::of(value);
            } else {
                self.prefixed.push((prefix, Namespace::of(value)));
            }
        }
    }

    /// Leaves the innermost element entered.
    fn leave(&mut self) {
        if let Some((default, prefixes)) = self.outside.pop() {
            self.default = default;
            self.prefixed.truncate(prefixes);
        }
    }

    /// The namespace bound to a prefix (`""` for the default namespace); `None` for no
    /// namespace.
    fn namespace_of_prefix(&self, prefix: &str) -> Option<Namespace<'a>> {
        if prefix.is_empty() {
            return self.default;
        }
        self.prefixed
            .iter()
            .rev()
            .find(|(bound, _)| *bound == prefix)
            .and_then(|(_, namespace)| *namespace)
    }

    /// Whether an element with these attributes (entered) says `xsi:nil="true"`.
    fn is_nil(&self, attributes: &[(&str, &str)]) -> bool {
        attributes.iter().any(|(name, value)| {
            let (prefix, local) = split_name(name);
            local == "nil"
                && name.contains(':')
                && self.namespace_of_prefix(prefix) == Some(Namespace::Xsi)
                && matches!(value.trim(), "true" | "1")
        })
    }
}

/// The names already met among an element's children: a bit for each field, a list
/// for the few others.
#[derive(Debug, Default)]
struct Seen<'a> {
    fields: u32,
    others: Vec<&'a str>,
}

impl<'a> Seen<'a> {
    fn clear(&mut self) {
        self.fields = 0;
        self.others.clear();
    }

    /// Whether `name` (the field at `slot`, if it is one) is met for the first time,
    /// remembering it.
    fn first(&mut self, slot: Option<usize>, name: &'a str) -> bool {
        match slot {
            Some(slot) => {
                let bit = 1 << slot;
                let first = self.fields & bit == 0;
                self.fields |= bit;
                first
            }
            None if self.others.contains(&name) => false,
            None => {
                self.others.push(name);
                true
            }
        }
    }
}

/// A qualified name's prefix (`""` when it has none) and local name: `obj:ref` is `obj`
/// and `ref`. Names are short: a plain loop finds the colon faster than a search.
fn split_name(qualified_name: &str) -> (&str, &str) {
    match qualified_name.bytes().position(|byte| byte == b':') {
        Some(colon) => (
            qualified_name.get(..colon).unwrap_or_default(),
            qualified_name.get(colon + 1..).unwrap_or_default(),
        ),
        None => ("", qualified_name),
    }
}

/// Where a leaf's text goes.
#[derive(Debug, Clone, Copy)]
enum Target {
    Order(Field),
    /// The last item read.
    Detail(DetailField),
}

/// What an open element is to the order being read, from the `order` element down.
#[derive(Debug, Clone, Copy)]
enum Frame {
    /// The order; its children are its fields.
    Order,
    /// The `details` list; its children are items, `next` the index of the next one.
    Details { next: usize },
    /// An item; its children are its fields.
    Item { index: usize },
    /// A field, which holds text (see [`Leaf`]).
    Leaf,
    /// Not read, with everything inside.
    Skip,
}

/// The field being read: only one is open at a time, as nothing inside a field is read.
#[derive(Debug)]
struct Leaf<'a> {
    target: Target,
    /// The qualified name.
    name: &'a str,
    /// The index of the item it belongs to.
    item: Option<usize>,
    /// Its text so far.
    text: Option<Cow<'a, str>>,
    /// Whether an element was met inside it.
    nested: bool,
}

/// Reads the order from a document's elements, given in document order: start tags
/// with their attributes, the text directly inside an element, end tags. The same reading
/// serves the streamed document and the SDK's tree (see [`read`]).
#[derive(Debug)]
struct OrderReader<'a> {
    raw: RawOrder<'a>,
    d: Diagnostics,
    namespaces: Namespaces<'a>,
    frames: Vec<Frame>,
    /// The names met among the order's children, and among the open item's.
    order_seen: Seen<'a>,
    item_seen: Seen<'a>,
    leaf: Option<Leaf<'a>>,
    /// Take the first element (the root) as the order, whatever its namespace.
    root_is_order: bool,
    found: bool,
    done: bool,
}

impl<'a> OrderReader<'a> {
    fn new(root_is_order: bool) -> Self {
        Self {
            raw: RawOrder::default(),
            d: Diagnostics::new(),
            namespaces: Namespaces::default(),
            frames: Vec::new(),
            order_seen: Seen::default(),
            item_seen: Seen::default(),
            leaf: None,
            root_is_order,
            found: false,
            done: false,
        }
    }

    /// Whether the order has been read whole, so that nothing after it matters.
    fn done(&self) -> bool {
        self.done
    }

    fn start(&mut self, name: &'a str, attributes: &[(&'a str, &'a str)]) {
        if self.done {
            return;
        }
        self.namespaces.enter(attributes);
        let (prefix, local) = split_name(name);
        let namespace = self.namespaces.namespace_of_prefix(prefix);
        let frame = match self.frames.last_mut() {
            None => {
                let is_order = self.root_is_order
                    || local == "order"
                        && matches!(namespace, Some(Namespace::Obj | Namespace::Impl));
                if !is_order {
                    return;
                }
                self.found = true;
                Frame::Order
            }
            Some(Frame::Order) => {
                let path = || Form::Soap.field(local);
                let field = Field::named(local);
                let seen = &mut self.order_seen;
                if !expect_obj_namespace(name, namespace, path, &mut self.d)
                    || !first_of_its_name(seen, field.map(Field::slot), local, path, &mut self.d)
                    || self.namespaces.is_nil(attributes)
                {
                    Frame::Skip
                } else {
                    match field {
                        Some(DETAILS) => Frame::Details { next: 0 },
                        Some(field) => self.open_leaf(Target::Order(field), name, None),
                        None => {
                            unknown_element(&mut self.d, path(), local);
                            Frame::Skip
                        }
                    }
                }
            }
            Some(Frame::Details { next }) => {
                let index = *next;
                *next += 1;
                let path = || Form::Soap.detail(index);
                if local != DETAILS_NAME {
                    unknown_element(&mut self.d, path(), local);
                    Frame::Skip
                } else if !expect_obj_namespace(name, namespace, path, &mut self.d) {
                    Frame::Skip
                } else if self.namespaces.is_nil(attributes) {
                    self.d.warning(
                        path(),
                        "payline.nil_detail",
                        "an orderDetail item is nil; skipped",
                    );
                    Frame::Skip
                } else {
                    push_default(&mut self.raw.details);
                    self.item_seen.clear();
                    Frame::Item { index }
                }
            }
            Some(Frame::Item { index }) => {
                let index = *index;
                let path = || Form::Soap.detail_field(index, local);
                let field = DetailField::named(local);
                let slot = field.map(DetailField::slot);
                let seen = &mut self.item_seen;
                if !expect_obj_namespace(name, namespace, path, &mut self.d)
                    || !first_of_its_name(seen, slot, local, path, &mut self.d)
                    || self.namespaces.is_nil(attributes)
                {
                    Frame::Skip
                } else {
                    match field {
                        Some(field) => self.open_leaf(Target::Detail(field), name, Some(index)),
                        None => {
                            unknown_element(&mut self.d, path(), local);
                            Frame::Skip
                        }
                    }
                }
            }
            Some(Frame::Leaf) => {
                if let Some(leaf) = &mut self.leaf {
                    leaf.nested = true;
                }
                Frame::Skip
            }
            Some(Frame::Skip) => Frame::Skip,
        };
        self.frames.push(frame);
    }

    fn open_leaf(&mut self, target: Target, name: &'a str, item: Option<usize>) -> Frame {
        self.leaf = Some(Leaf {
            target,
            name,
            item,
            text: None,
            nested: false,
        });
        Frame::Leaf
    }

    /// Text directly inside the innermost open element (all of it, or one piece).
    fn text(&mut self, piece: Cow<'a, str>) {
        if let (Some(Frame::Leaf), Some(leaf)) = (self.frames.last(), &mut self.leaf)
            && !piece.is_empty()
        {
            match &mut leaf.text {
                None => leaf.text = Some(piece),
                Some(text) => text.to_mut().push_str(&piece),
            }
        }
    }

    fn end(&mut self) {
        if self.done {
            return;
        }
        self.namespaces.leave();
        match self.frames.pop() {
            Some(Frame::Leaf) => self.close_leaf(),
            Some(Frame::Order) => self.done = true,
            // An element around the order, before it, or inside it.
            _ => {}
        }
    }

    fn close_leaf(&mut self) {
        let Some(leaf) = self.leaf.take() else {
            return;
        };
        if leaf.nested {
            let local = split_name(leaf.name).1;
            let path = match leaf.item {
                Some(index) => Form::Soap.detail_field(index, local),
                None => Form::Soap.field(local),
            };
            self.d.error(
                path,
                "payline.not_text",
                format!("<{}> must hold text, not elements", leaf.name),
            );
            return;
        }
        let Some(text) = leaf.text.and_then(trimmed) else {
            return;
        };
        match leaf.target {
            Target::Order(field) => self.raw.set(field, text),
            Target::Detail(field) => {
                if let Some(detail) = self.raw.details.last_mut() {
                    detail.set(field, text);
                }
            }
        }
    }
}

/// The text without surrounding whitespace; `None` when nothing is left.
fn trimmed(text: Cow<'_, str>) -> Option<Cow<'_, str>> {
    let text = match text {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
        Cow::Owned(text) if text.trim().len() == text.len() => Cow::Owned(text),
        Cow::Owned(text) => Cow::Owned(text.trim().to_owned()),
    };
    (!text.is_empty()).then_some(text)
}

/// Children of `order` belong to the object namespace. One elsewhere is read all the
/// same (senders get namespaces wrong more often than names) with a warning; `false`
/// only for elements in a foreign namespace that merely share a name.
fn expect_obj_namespace(
    name: &str,
    namespace: Option<Namespace<'_>>,
    path: impl FnOnce() -> String,
    d: &mut Diagnostics,
) -> bool {
    match namespace {
        Some(Namespace::Obj) => true,
        Some(Namespace::Impl) | None => {
            d.warning(
                path(),
                "payline.unexpected_namespace",
                format!("<{name}> is read as a Payline field, but it is not in {OBJ_NS}"),
            );
            true
        }
        Some(other @ (Namespace::Xsi | Namespace::Other(_))) => {
            d.warning(
                path(),
                "payline.unknown_field",
                format!(
                    "<{name}> is in the namespace {}, not Payline's; ignored",
                    quote(other.uri())
                ),
            );
            false
        }
    }
}

fn first_of_its_name<'a>(
    seen: &mut Seen<'a>,
    slot: Option<usize>,
    name: &'a str,
    path: impl FnOnce() -> String,
    d: &mut Diagnostics,
) -> bool {
    if seen.first(slot, name) {
        return true;
    }
    d.error(
        path(),
        "payline.duplicate_field",
        format!("<{name}> appears more than once; the schema allows it once"),
    );
    false
}

fn unknown_element(d: &mut Diagnostics, path: String, name: &str) {
    d.warning(
        path,
        "payline.unknown_field",
        format!("<{name}> is not a Payline field; ignored"),
    );
}

/// The order read straight from the input's XML events, without building a tree; with
/// the problems found in it. `None` when the input is anything but plain UTF-8 XML that
/// the SDK's reader accepts and that holds an `order` in a Payline namespace: such input
/// is read by way of the tree ([`parse`] and [`read`]), which says exactly what is wrong
/// with it. References (`&amp;`), carriage returns, CDATA, a DOCTYPE and another
/// charset are left to the tree too, so the text read here is the input's as it is.
pub(crate) fn read_streamed(input: &[u8]) -> Option<(RawOrder<'_>, Diagnostics)> {
    if input.len() > LIMITS.max_bytes || !plain(input) {
        return None;
    }
    let document = std::str::from_utf8(input).ok()?;
    let mut reader = Reader::from_str(document);
    let mut order = OrderReader::new(false);
    let mut attributes: Vec<(&str, &str)> = Vec::new();
    let (mut depth, mut elements, mut root_seen) = (0, 0, false);
    loop {
        let at = reader.buffer_position();
        match reader.read_event().ok()? {
            // A second root element.
            Event::Start(_) | Event::Empty(_) if depth == 0 && root_seen => return None,
            Event::Start(start) => {
                depth += 1;
                elements += 1;
                let name = start_tag(document, &start, &mut attributes)?;
                if depth > LIMITS.max_depth || elements > LIMITS.max_elements {
                    return None;
                }
                root_seen = true;
                order.start(name, &attributes);
            }
            Event::Empty(start) => {
                elements += 1;
                let name = start_tag(document, &start, &mut attributes)?;
                if depth + 1 > LIMITS.max_depth || elements > LIMITS.max_elements {
                    return None;
                }
                root_seen = true;
                order.start(name, &attributes);
                order.end();
            }
            Event::End(_) => {
                depth = usize::checked_sub(depth, 1)?;
                order.end();
            }
            Event::Text(text) => {
                let text = within(document, &text)?;
                if depth == 0 {
                    if !text.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n')) {
                        return None;
                    }
                } else {
                    order.text(unescaped(text)?);
                }
            }
            Event::Decl(declaration) => {
                let utf8 = match declaration.encoding() {
                    None => true,
                    Some(Ok(label)) => label.eq_ignore_ascii_case(b"utf-8"),
                    Some(Err(_)) => false,
                };
                if at != 0 || !utf8 {
                    return None;
                }
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::CData(_) | Event::DocType(_) => return None,
            Event::Eof if depth == 0 && root_seen => break,
            Event::Eof => return None,
        }
    }
    order.found.then_some((order.raw, order.d))
}

/// Whether the bytes hold nothing that reading by the tree would turn into other text
/// or refuse, but references: no carriage return (line ends are normalised), no control
/// character but tab and line feed, and no byte 0xEF (a byte order mark, or U+FFFE and
/// U+FFFF, which XML does not allow).
fn plain(input: &[u8]) -> bool {
    // Without branches, a block at a time, so that the compiler can test many bytes at
    // once.
    let odd = |byte: u8| {
        (byte == b'\r') | (byte == 0xEF) | ((byte < 0x20) & (byte != b'\t') & (byte != b'\n'))
    };
    input
        .chunks(64)
        .all(|block| !block.iter().fold(false, |found, &byte| found | odd(byte)))
}

/// Text with its references (`&amp;`, `&#233;`) replaced, as the SDK's tree reads it;
/// `None` when a reference is unknown or malformed, or stands for a character XML does
/// not allow, which the tree refuses.
fn unescaped(text: &str) -> Option<Cow<'_, str>> {
    if !text.contains('&') {
        return Some(Cow::Borrowed(text));
    }
    let text = quick_xml::escape::unescape(text).ok()?;
    text.chars().all(is_xml_char).then_some(text)
}

/// The XML 1.0 `Char` production, as the SDK checks it.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The part of `document` that `bytes` (taken from one of its events) is. `None` when it
/// is not one: a reader that copied, or markup that splits a character.
fn within<'a>(document: &'a str, bytes: &[u8]) -> Option<&'a str> {
    if bytes.is_empty() {
        return Some("");
    }
    let start = (bytes.as_ptr() as usize).wrapping_sub(document.as_ptr() as usize);
    document.get(start..start.checked_add(bytes.len())?)
}

/// The element name of a start tag, with its attributes in `attributes`; `None` for
/// anything the tree would refuse or change: a name that is not an XML name, a repeated
/// attribute, a value with `<`, a reference, or a tab or line break (which XML reads as
/// spaces).
fn start_tag<'a>(
    document: &'a str,
    start: &BytesStart<'_>,
    attributes: &mut Vec<(&'a str, &'a str)>,
) -> Option<&'a str> {
    let name = within(document, start.name().as_ref())?;
    if !xml::is_valid_xml_name(name) {
        return None;
    }
    attributes.clear();
    let mut all = start.attributes();
    all.with_checks(false);
    for attribute in all {
        let attribute = attribute.ok()?;
        let key = within(document, attribute.key.into_inner())?;
        let value = within(document, &attribute.value)?;
        if !xml::is_valid_xml_name(key)
            || attributes.iter().any(|(earlier, _)| *earlier == key)
            || value.contains(['<', '&', '\t', '\n'])
        {
            return None;
        }
        attributes.push((key, value));
    }
    Some(name)
}

/// The document's tree, which [`read`] takes the order from. `None` when the XML is
/// unreadable (the reason is in `d`).
pub(crate) fn parse<'a>(input: &'a [u8], d: &mut Diagnostics) -> Option<Element<'a>> {
    match xml::parse(input, &LIMITS) {
        Ok(root) => Some(root),
        Err(diagnostics) => {
            d.extend(diagnostics);
            None
        }
    }
}

/// Reads the first `order` element of the document (the root, with a warning, when it
/// is named `order` but in no Payline namespace). `None` when there is none (the reason
/// is in `d`).
pub(crate) fn read<'a>(root: &'a Element<'a>, d: &mut Diagnostics) -> Option<RawOrder<'a>> {
    let mut attributes = Vec::new();
    let mut order = OrderReader::new(false);
    walk(root, &mut order, &mut attributes);
    if !order.found {
        if root.local_name() != "order" {
            d.error(
                "",
                "payline.no_order",
                format!(
                    "no `order` element (namespace {IMPL_NS} or {OBJ_NS}) in the document, whose root is <{}>",
                    root.name
                ),
            );
            return None;
        }
        d.warning(
            "/order",
            "payline.unexpected_namespace",
            format!(
                "the `order` element is in no Payline namespace; expected {OBJ_NS} or {IMPL_NS}"
            ),
        );
        order = OrderReader::new(true);
        walk(root, &mut order, &mut attributes);
    }
    d.extend(order.d);
    Some(order.raw)
}

/// Gives `order` the element and what is inside it, depth first, until the order is read.
fn walk<'a>(
    element: &'a Element<'a>,
    order: &mut OrderReader<'a>,
    attributes: &mut Vec<(&'a str, &'a str)>,
) {
    attributes.clear();
    attributes.extend(element.attributes.iter().map(|(k, v)| (&**k, &**v)));
    order.start(&element.name, attributes);
    order.text(Cow::Borrowed(&element.text));
    for child in &element.children {
        if order.done() {
            return;
        }
        walk(child, order, attributes);
    }
    order.end();
}

/// The `order` element, pretty-printed, without an XML declaration (it is meant to be
/// put inside a request), ending with a line break. Fields in the schema's order;
/// absent ones left out, which the schema allows for every optional field.
pub(crate) fn write(raw: &RawOrder<'_>, element: SoapElement) -> Result<Vec<u8>, Diagnostics> {
    let mut writer = XmlWriter::pretty();
    write_into(&mut writer, raw, element).map_err(Diagnostics::from)?;
    let mut bytes = writer.into_bytes();
    bytes.push(b'\n');
    Ok(bytes)
}

fn write_into(
    writer: &mut XmlWriter,
    raw: &RawOrder<'_>,
    element: SoapElement,
) -> Result<(), tradewire_sdk::Diagnostic> {
    match element {
        SoapElement::Obj => writer.start_with("order", &[("xmlns", OBJ_NS)])?,
        SoapElement::Impl => {
            writer.start_with("impl:order", &[("xmlns:impl", IMPL_NS), ("xmlns", OBJ_NS)])?
        }
    };
    for field in ORDER_FIELDS {
        if field == DETAILS {
            if raw.details.is_empty() {
                continue;
            }
            writer.start(DETAILS_NAME)?;
            for detail in &raw.details {
                writer.start(DETAILS_NAME)?;
                // Absent fields are left out: the names are the schema's, so there is no
                // need to have the writer check them.
                for field in DETAIL_FIELDS {
                    if let Some(value) = detail.get(field) {
                        writer.leaf(field.name(), value)?;
                    }
                }
                writer.end()?;
            }
            writer.end()?;
        } else {
            if let Some(value) = raw.get(field) {
                writer.leaf(field.name(), value)?;
            }
        }
    }
    writer.end()?;
    Ok(())
}

/// The reading of the tree as it was before the same reading served streamed events:
/// the streamed reading, and the tree's, must find the same fields and report the same
/// diagnostics, in the same order.
#[cfg(test)]
mod reference {
    use std::collections::BTreeSet;

    use tradewire_sdk::Diagnostics;
    use tradewire_sdk::xml::Element;

    use super::{IMPL_NS, OBJ_NS, XSI_NS};
    use crate::fields::{DETAILS, DETAILS_NAME, DetailField, Field, Form, RawDetail, RawOrder};
    use crate::text::quote;

    /// The namespace bindings in scope at an element, innermost last; the prefix `""` is
    /// the default namespace.
    #[derive(Debug, Clone, Default)]
    struct Scope<'a> {
        bindings: Vec<(&'a str, &'a str)>,
    }

    impl<'a> Scope<'a> {
        /// The scope inside `element`, with its own `xmlns` declarations.
        fn enter(&self, element: &'a Element<'a>) -> Scope<'a> {
            let mut inner = self.clone();
            for (name, value) in &element.attributes {
                if name == "xmlns" {
                    inner.bindings.push(("", value));
                } else if let Some(prefix) = name.strip_prefix("xmlns:") {
                    inner.bindings.push((prefix, value));
                }
            }
            inner
        }

        /// The namespace of a qualified name (`obj:ref`, `ref`); `None` for no namespace.
        fn namespace_of(&self, qualified_name: &str) -> Option<&'a str> {
            let prefix = qualified_name
                .split_once(':')
                .map_or("", |(prefix, _)| prefix);
            self.bindings
                .iter()
                .rev()
                .find(|(bound, _)| *bound == prefix)
                .map(|(_, uri)| *uri)
                // `xmlns=""` undeclares the default namespace.
                .filter(|uri| !uri.is_empty())
        }

        /// Whether `element` (entered into this scope) says `xsi:nil="true"`.
        fn is_nil(&self, element: &Element<'_>) -> bool {
            element.attributes.iter().any(|(name, value)| {
                let local = name.split_once(':').map_or(&**name, |(_, local)| local);
                local == "nil"
                    && name.contains(':')
                    && self.namespace_of(name) == Some(XSI_NS)
                    && matches!(value.trim(), "true" | "1")
            })
        }
    }

    /// Reads the first `order` element of the document. `None` when there is none (the
    /// reason is in `d`).
    pub(super) fn read<'a>(root: &'a Element<'a>, d: &mut Diagnostics) -> Option<RawOrder<'a>> {
        let outside = Scope::default();
        let (order, scope) = match find_order(root, &outside) {
            Some(found) => found,
            None if root.local_name() == "order" => {
                d.warning(
                    "/order",
                    "payline.unexpected_namespace",
                    format!(
                        "the `order` element is in no Payline namespace; expected {OBJ_NS} or {IMPL_NS}"
                    ),
                );
                (root, outside.enter(root))
            }
            None => {
                d.error(
                    "",
                    "payline.no_order",
                    format!(
                        "no `order` element (namespace {IMPL_NS} or {OBJ_NS}) in the document, whose root is <{}>",
                        root.name
                    ),
                );
                return None;
            }
        };
        let mut raw = RawOrder::default();
        let mut seen = BTreeSet::new();
        for child in &order.children {
            let scope = scope.enter(child);
            let name = child.local_name();
            let path = Form::Soap.field(name);
            if !expect_obj_namespace(child, &scope, &path, d)
                || !first_of_its_name(&mut seen, name, &path, d)
            {
                continue;
            }
            if scope.is_nil(child) {
                continue;
            }
            match Field::named(name) {
                Some(DETAILS) => raw.details = read_details(child, &scope, d),
                Some(field) => {
                    if let Some(text) = leaf_text(child, &path, d) {
                        raw.set(field, text);
                    }
                }
                None => unknown_element(d, path, name),
            }
        }
        Some(raw)
    }

    /// The first element named `order` in the service or object namespace, depth first,
    /// with the scope inside it.
    fn find_order<'a>(
        element: &'a Element<'a>,
        outside: &Scope<'a>,
    ) -> Option<(&'a Element<'a>, Scope<'a>)> {
        let inside = outside.enter(element);
        if element.local_name() == "order"
            && matches!(inside.namespace_of(&element.name), Some(OBJ_NS | IMPL_NS))
        {
            return Some((element, inside));
        }
        element
            .children
            .iter()
            .find_map(|child| find_order(child, &inside))
    }

    /// Children of `order` belong to the object namespace. One elsewhere is read all the
    /// same (senders get namespaces wrong more often than names) with a warning; `false`
    /// only for elements in a foreign namespace that merely share a name.
    fn expect_obj_namespace(
        element: &Element<'_>,
        scope: &Scope<'_>,
        path: &str,
        d: &mut Diagnostics,
    ) -> bool {
        match scope.namespace_of(&element.name) {
            Some(OBJ_NS) => true,
            Some(IMPL_NS) | None => {
                d.warning(
                    path,
                    "payline.unexpected_namespace",
                    format!(
                        "<{}> is read as a Payline field, but it is not in {OBJ_NS}",
                        element.name
                    ),
                );
                true
            }
            Some(other) => {
                d.warning(
                    path,
                    "payline.unknown_field",
                    format!(
                        "<{}> is in the namespace {}, not Payline's; ignored",
                        element.name,
                        quote(other)
                    ),
                );
                false
            }
        }
    }

    fn first_of_its_name<'a>(
        seen: &mut BTreeSet<&'a str>,
        name: &'a str,
        path: &str,
        d: &mut Diagnostics,
    ) -> bool {
        if seen.insert(name) {
            return true;
        }
        d.error(
            path,
            "payline.duplicate_field",
            format!("<{name}> appears more than once; the schema allows it once"),
        );
        false
    }

    fn unknown_element(d: &mut Diagnostics, path: String, name: &str) {
        d.warning(
            path,
            "payline.unknown_field",
            format!("<{name}> is not a Payline field; ignored"),
        );
    }

    /// A leaf's text, trimmed; `None` when empty or not a leaf.
    fn leaf_text<'a>(element: &'a Element<'_>, path: &str, d: &mut Diagnostics) -> Option<&'a str> {
        if !element.children.is_empty() {
            d.error(
                path,
                "payline.not_text",
                format!("<{}> must hold text, not elements", element.name),
            );
            return None;
        }
        let text = element.text_trimmed();
        (!text.is_empty()).then_some(text)
    }

    /// The items of the `details` wrapper (each one also named `details`).
    fn read_details<'a>(
        wrapper: &'a Element<'a>,
        scope: &Scope<'a>,
        d: &mut Diagnostics,
    ) -> Vec<RawDetail<'a>> {
        let mut details = Vec::new();
        for (index, item) in wrapper.children.iter().enumerate() {
            let item_scope = scope.enter(item);
            let path = Form::Soap.detail(index);
            if item.local_name() != DETAILS_NAME {
                unknown_element(d, path, item.local_name());
                continue;
            }
            if !expect_obj_namespace(item, &item_scope, &path, d) {
                continue;
            }
            if item_scope.is_nil(item) {
                d.warning(
                    path,
                    "payline.nil_detail",
                    "an orderDetail item is nil; skipped",
                );
                continue;
            }
            let mut detail = RawDetail::default();
            let mut seen = BTreeSet::new();
            for child in &item.children {
                let child_scope = item_scope.enter(child);
                let name = child.local_name();
                let path = Form::Soap.detail_field(index, name);
                if !expect_obj_namespace(child, &child_scope, &path, d)
                    || !first_of_its_name(&mut seen, name, &path, d)
                    || child_scope.is_nil(child)
                {
                    continue;
                }
                match DetailField::named(name) {
                    Some(field) => {
                        if let Some(text) = leaf_text(child, &path, d) {
                            detail.set(field, text);
                        }
                    }
                    None => unknown_element(d, path, name),
                }
            }
            details.push(detail);
        }
        details
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::fields::{AMOUNT, COUNTRY, D_REF, REF, RawDetail};

    /// The tree's reading: [`parse`] and [`read`].
    fn by_tree(input: &[u8], d: &mut Diagnostics) -> Option<RawOrder<'static>> {
        let root = parse(input, d)?;
        read(&root, d).map(RawOrder::into_owned)
    }

    /// How the adapter reads `input`: streamed when it can be, else by the tree. Checks
    /// that both, when the input can be streamed, agree with the reference.
    fn read_bytes(input: &[u8], d: &mut Diagnostics) -> Option<RawOrder<'static>> {
        let mut expected = Diagnostics::new();
        let reference = parse(input, &mut expected)
            .and_then(|root| reference::read(&root, &mut expected).map(RawOrder::into_owned));
        let shown = String::from_utf8_lossy(input);
        let mut tree = Diagnostics::new();
        assert_eq!(by_tree(input, &mut tree), reference, "by the tree: {shown}");
        assert_eq!(tree, expected, "diagnostics by the tree: {shown}");
        if let Some((raw, streamed)) = read_streamed(input) {
            assert_eq!(Some(raw.into_owned()), reference, "streamed: {shown}");
            assert_eq!(streamed, expected, "diagnostics streamed: {shown}");
        }
        d.extend(expected);
        reference
    }

    fn read_ok(input: &str) -> (RawOrder<'static>, Diagnostics) {
        let mut d = Diagnostics::new();
        let raw = read_bytes(input.as_bytes(), &mut d).expect("an order");
        (raw, d)
    }

    fn streams(input: &str) -> bool {
        read_streamed(input.as_bytes()).is_some()
    }

    #[test]
    fn prefixes_are_resolved_not_assumed() {
        let (raw, d) = read_ok(
            r#"<x:order xmlns:x="http://obj.ws.payline.experian.com"
                        xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
                 <x:ref> R1 </x:ref><x:country i:nil="true"/><x:amount>100</x:amount>
               </x:order>"#,
        );
        assert!(d.is_empty(), "{d}");
        assert_eq!(raw.get(REF), Some("R1"));
        assert_eq!(raw.get(COUNTRY), None);
        assert_eq!(raw.get(AMOUNT), Some("100"));
    }

    #[test]
    fn an_order_is_found_inside_any_document() {
        let (raw, _) = read_ok(
            r#"<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>
                 <r xmlns="http://impl.ws.payline.experian.com" xmlns:o="http://obj.ws.payline.experian.com">
                   <order><o:ref>in-envelope</o:ref></order>
                 </r></S:Body></S:Envelope>"#,
        );
        assert_eq!(raw.get(REF), Some("in-envelope"));

        let mut d = Diagnostics::new();
        assert!(
            read_bytes(
                b"<order2 xmlns='http://obj.ws.payline.experian.com'/>",
                &mut d
            )
            .is_none()
        );
        assert_eq!(d.as_slice()[0].code, "payline.no_order");
        // An `order` in another namespace is not Payline's.
        let mut d = Diagnostics::new();
        assert!(
            read_bytes(
                b"<a><order xmlns='urn:other'><ref>x</ref></order></a>",
                &mut d
            )
            .is_none()
        );
    }

    #[test]
    fn nil_only_counts_in_the_xsi_namespace() {
        let (raw, _) = read_ok(
            r#"<order xmlns="http://obj.ws.payline.experian.com" xmlns:n="urn:not-xsi">
                 <ref n:nil="true">kept</ref></order>"#,
        );
        assert_eq!(raw.get(REF), Some("kept"));
    }

    #[test]
    fn duplicates_and_markup_in_leaves_are_errors() {
        let mut d = Diagnostics::new();
        read_bytes(
            br#"<order xmlns="http://obj.ws.payline.experian.com"><ref>a</ref><ref>b</ref>
                <amount><b>1</b></amount><colour>red</colour>
                <details><details><ref>S</ref><ref>T</ref></details><other/></details></order>"#,
            &mut d,
        )
        .unwrap();
        let found: Vec<_> = d
            .iter()
            .map(|d| (d.path.as_str(), d.code.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("/order/ref", "payline.duplicate_field"),
                ("/order/amount", "payline.not_text"),
                ("/order/colour", "payline.unknown_field"),
                ("/order/details/details[1]/ref", "payline.duplicate_field"),
                ("/order/details/details[2]", "payline.unknown_field"),
            ]
        );
    }

    #[test]
    fn namespaces_declared_deeper_undeclared_or_foreign() {
        let (raw, d) = read_ok(
            r#"<order xmlns="http://obj.ws.payline.experian.com">
                 <ref>R</ref>
                 <amount xmlns="">100</amount>
                 <x:currency xmlns:x="urn:other">978</x:currency>
                 <i:date xmlns:i="http://www.w3.org/2001/XMLSchema-instance">d</i:date>
                 <colour>1</colour><colour>2</colour>
                 <details xmlns:o="http://obj.ws.payline.experian.com">
                   <o:details><o:ref>S</o:ref><size/><size/></o:details>
                   <details xmlns="http://impl.ws.payline.experian.com"><ref>T</ref></details>
                   <o:details xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="1"/>
                   <o:other/>
                 </details>
               </order>"#,
        );
        assert_eq!(raw.get(REF), Some("R"));
        assert_eq!(raw.get(AMOUNT), Some("100"));
        assert_eq!(raw.get(crate::fields::CURRENCY), None);
        let refs: Vec<_> = raw.details.iter().map(|detail| detail.get(D_REF)).collect();
        assert_eq!(refs, [Some("S"), Some("T")]);
        let found: Vec<_> = d
            .iter()
            .map(|d| format!("{} {} {}", d.path, d.code, d.message))
            .collect();
        assert_eq!(
            found,
            [
                "/order/amount payline.unexpected_namespace <amount> is read as a Payline field, but it is not in http://obj.ws.payline.experian.com",
                "/order/currency payline.unknown_field <x:currency> is in the namespace \"urn:other\", not Payline's; ignored",
                "/order/date payline.unknown_field <i:date> is in the namespace \"http://www.w3.org/2001/XMLSchema-instanc\"…, not Payline's; ignored",
                "/order/colour payline.unknown_field <colour> is not a Payline field; ignored",
                "/order/colour payline.duplicate_field <colour> appears more than once; the schema allows it once",
                "/order/details/details[1]/size payline.unknown_field <size> is not a Payline field; ignored",
                "/order/details/details[1]/size payline.duplicate_field <size> appears more than once; the schema allows it once",
                "/order/details/details[2] payline.unexpected_namespace <details> is read as a Payline field, but it is not in http://obj.ws.payline.experian.com",
                "/order/details/details[2]/ref payline.unexpected_namespace <ref> is read as a Payline field, but it is not in http://obj.ws.payline.experian.com",
                "/order/details/details[3] payline.nil_detail an orderDetail item is nil; skipped",
                "/order/details/details[4] payline.unknown_field <other> is not a Payline field; ignored",
            ]
        );
    }

    #[test]
    fn plain_documents_are_streamed_and_the_others_read_by_the_tree() {
        let order = |inside: &str| {
            format!(r#"<order xmlns="http://obj.ws.payline.experian.com">{inside}</order>"#)
        };
        for plain in [
            order("<ref>R</ref>"),
            order("<ref>R&amp;S &#233;</ref>"),
            order("\n  <ref>R</ref>\n  <details>\n    <details><ref>S</ref></details>\n  </details>\n"),
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", order("<ref>R</ref>")),
            format!("<?xml version=\"1.0\"?><!-- c -->{}<?pi?>\n", order("<ref>R<!-- split -->S</ref>")),
            r#"<S:Envelope xmlns:S="urn:s"><S:Body><d xmlns="http://impl.ws.payline.experian.com"
                 xmlns:o="http://obj.ws.payline.experian.com"><order><o:ref>R</o:ref></order></d></S:Body></S:Envelope>"#.to_owned(),
        ] {
            assert!(streams(&plain), "{plain}");
            read_ok(&plain);
        }
        for other in [
            order("<ref>R&bogus;S</ref>"),
            order("<ref>R&#1;</ref>"),
            order(r#"<ref a="&amp;">R</ref>"#),
            order("<ref><![CDATA[R]]></ref>"),
            order("<ref>R\r\n</ref>"),
            format!("\u{feff}{}", order("<ref>R</ref>")),
            format!(
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{}",
                order("<ref>R</ref>")
            ),
            format!("<!DOCTYPE order>{}", order("<ref>R</ref>")),
            format!(" <?xml version=\"1.0\"?>{}", order("<ref>R</ref>")),
            order(r#"<ref a="1" a="2">R</ref>"#),
            order("<ref a=\"x\ty\">R</ref>"),
            "<order><ref>R</ref></order>".to_owned(),
            r#"<a xmlns="urn:a"><order><ref>R</ref></order></a>"#.to_owned(),
            order("<ref>R</ref>") + "<second/>",
            order("<ref>R</ref>") + "text",
            order("<ref>R</ref"),
            order("<ref>R</wrong>"),
            order("<ref>R</ref>").replace("</order>", ""),
            format!("{}</x>", order("")),
            format!("{}{}{}", "<a>".repeat(40), order(""), "</a>".repeat(40)),
        ] {
            assert!(!streams(&other), "{other}");
            let mut d = Diagnostics::new();
            read_bytes(other.as_bytes(), &mut d);
        }
    }

    /// Every SOAP fixture reads the same streamed and by the tree, and Payline's own
    /// samples are streamed (the tree is not needed for what Payline sends).
    #[test]
    fn the_fixtures_read_the_same_both_ways() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/order-soap");
        let mut streamed = Vec::new();
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|extension| extension == "xml") {
                let input = std::fs::read(&path).unwrap();
                let mut d = Diagnostics::new();
                read_bytes(&input, &mut d);
                if read_streamed(&input).is_some() {
                    streamed.push(path.file_stem().unwrap().to_string_lossy().into_owned());
                }
            }
        }
        for sample in [
            "bare-order",
            "doWebPaymentRequestFull",
            "getTransactionDetailsResponse00000-with-country",
            "getWebPaymentDetailsResponse00000-with-country",
        ] {
            assert!(
                streamed.iter().any(|name| name == sample),
                "{sample}: {streamed:?}"
            );
        }
    }

    fn leaf_text() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "R1",
            "  padded  ",
            "",
            " ",
            "a<!--c-->b",
            "<?pi?>v",
            "x&amp;y",
            "&lt;b&gt; caf&#233; &#x20AC;",
            "&#x1;",
            "&#xFFFE;",
            "&bogus;",
            "a & b",
            "<![CDATA[ z ]]>",
            "<b>1</b>",
            "t<b/>",
            "\u{e9}t\u{e9}",
            "\r\n",
        ])
    }

    fn attributes() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "",
            "",
            "",
            r#" xsi:nil="true""#,
            r#" i:nil="1" xmlns:i="http://www.w3.org/2001/XMLSchema-instance""#,
            r#" n:nil="true" xmlns:n="urn:not-xsi""#,
            r#" xmlns="""#,
            r#" xmlns="urn:other""#,
            r#" xmlns="http://impl.ws.payline.experian.com""#,
            r#" a="1""#,
            r#" a="&lt;""#,
        ])
    }

    fn prefix() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", "", "", "o:", "i:", "u:"])
    }

    fn leaf(names: Vec<&'static str>) -> impl Strategy<Value = String> {
        (
            prop::sample::select(names),
            prefix(),
            attributes(),
            leaf_text(),
            any::<bool>(),
        )
            .prop_map(|(name, prefix, attributes, text, empty)| {
                if empty {
                    format!("<{prefix}{name}{attributes}/>")
                } else {
                    format!("<{prefix}{name}{attributes}>{text}</{prefix}{name}>")
                }
            })
    }

    fn item() -> impl Strategy<Value = String> {
        let fields = prop::collection::vec(
            leaf(vec![
                "ref", "price", "quantity", "comment", "taxRate", "size",
            ]),
            0..4,
        );
        (
            prop::sample::select(vec!["details", "details", "details", "other"]),
            prefix(),
            attributes(),
            fields,
        )
            .prop_map(|(name, prefix, attributes, fields)| {
                format!(
                    "<{prefix}{name}{attributes}>{}</{prefix}{name}>",
                    fields.join("\n")
                )
            })
    }

    fn order_child() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => leaf(vec!["ref", "amount", "currency", "date", "country", "origin", "colour", "taxes"]),
            1 => (prefix(), attributes(), prop::collection::vec(item(), 0..4)).prop_map(
                |(prefix, attributes, items)| {
                    format!("<{prefix}details{attributes}>\n{}\n</{prefix}details>", items.join("\n"))
                }
            ),
        ]
    }

    /// An order in one of the shapes senders use, with namespaces right and wrong,
    /// repeated and unknown fields, nil values, text split by comments, references.
    fn document() -> impl Strategy<Value = String> {
        let children = prop::collection::vec(order_child(), 0..7).prop_map(|c| c.join("\n  "));
        let declarations = r#"xmlns:o="http://obj.ws.payline.experian.com" xmlns:i="http://impl.ws.payline.experian.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;
        (
            prop::sample::select(vec![0, 1, 2, 3, 4]),
            children,
            any::<bool>(),
        )
            .prop_map(move |(shape, children, declared)| {
                let prolog = if declared { "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" } else { "" };
                let body = match shape {
                    0 => format!(r#"<order xmlns="http://obj.ws.payline.experian.com" {declarations}>{children}</order>"#),
                    1 => format!(r#"<i:order xmlns="http://obj.ws.payline.experian.com" {declarations}>{children}</i:order>"#),
                    2 => format!(
                        r#"<S:Envelope xmlns:S="urn:s"><S:Body><r xmlns="http://impl.ws.payline.experian.com" {declarations}><v>1</v><order>{children}</order><order><ref>second</ref></order></r></S:Body></S:Envelope>"#
                    ),
                    3 => format!(r#"<order {declarations}>{children}</order>"#),
                    _ => format!(r#"<a {declarations}><order xmlns="urn:x">{children}</order></a>"#),
                };
                format!("{prolog}{body}\n")
            })
    }

    proptest! {
        #[test]
        fn streamed_and_tree_readings_agree_with_the_reference(input in document()) {
            let mut d = Diagnostics::new();
            read_bytes(input.as_bytes(), &mut d);
        }
    }

    #[test]
    fn writes_both_element_forms_and_reads_them_back() {
        let mut raw = RawOrder::default();
        raw.set(REF, "a<b&c");
        raw.set(AMOUNT, "100");
        let mut detail = RawDetail::default();
        detail.set(D_REF, "SKU");
        raw.details.push(detail);
        for element in [SoapElement::Obj, SoapElement::Impl] {
            let bytes = write(&raw, element).unwrap();
            let mut d = Diagnostics::new();
            assert_eq!(read_bytes(&bytes, &mut d), Some(raw.clone()));
            assert!(d.is_empty(), "{d}");
        }
        let text = String::from_utf8(write(&raw, SoapElement::Obj).unwrap()).unwrap();
        assert_eq!(
            text,
            "<order xmlns=\"http://obj.ws.payline.experian.com\">\n  <ref>a&lt;b&amp;c</ref>\n  <amount>100</amount>\n  <details>\n    <details>\n      <ref>SKU</ref>\n    </details>\n  </details>\n</order>\n"
        );
    }

    #[test]
    fn characters_xml_cannot_carry_are_refused_by_field() {
        let mut raw = RawOrder::default();
        raw.set(REF, "bell\u{7}");
        let d = write(&raw, SoapElement::Obj).unwrap_err();
        assert_eq!(d.as_slice()[0].code, "xml.invalid_char");
        assert_eq!(d.as_slice()[0].path, "/order/ref");
    }
}
