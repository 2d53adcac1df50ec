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
//! The document is read by the SDK's XML reader ([`parse`]), which enforces the limits,
//! decodes the declared charset, unescapes references and CDATA, joins text split by
//! comments, and says what is wrong with a document it refuses; [`read`] then walks the
//! tree.

use tradewire_sdk::Diagnostics;
use tradewire_sdk::xml::{self, Element, XmlLimits, XmlWriter};

use crate::config::SoapElement;
use crate::fields::{
    DETAIL_FIELDS, DETAILS, DETAILS_NAME, DetailField, Field, Form, ORDER_FIELDS, RawDetail,
    RawOrder,
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

/// The namespace bindings in scope at an element: the default namespace, and the
/// prefixes it and the elements around it declare.
#[derive(Debug, Default)]
struct Scope<'s, 'a> {
    /// The default namespace (`xmlns="…"`, here or further out); `None` when there is
    /// none, or `xmlns=""` undeclared it.
    default: Option<&'a str>,
    /// The prefixes the element itself declares (`xmlns:obj="…"`).
    prefixes: Vec<(&'a str, &'a str)>,
    outer: Option<&'s Scope<'s, 'a>>,
}

impl<'a> Scope<'_, 'a> {
    /// The scope inside `element`, with its own `xmlns` declarations.
    fn enter<'s>(&'s self, element: &'a Element<'a>) -> Scope<'s, 'a> {
        let mut inner = Scope {
            default: self.default,
            prefixes: Vec::new(),
            outer: Some(self),
        };
        for (name, value) in &element.attributes {
            if name == "xmlns" {
                inner.default = (!value.is_empty()).then_some(&**value);
            } else if let Some(prefix) = name.strip_prefix("xmlns:") {
                inner.prefixes.push((prefix, value));
            }
        }
        inner
    }

    /// The namespace of a qualified name (`obj:ref`, `ref`); `None` for no namespace.
    fn namespace_of(&self, qualified_name: &str) -> Option<&'a str> {
        let Some((prefix, _)) = qualified_name.split_once(':') else {
            return self.default;
        };
        let mut scope = Some(self);
        while let Some(current) = scope {
            if let Some((_, uri)) = current.prefixes.iter().rev().find(|(p, _)| *p == prefix) {
                return (!uri.is_empty()).then_some(*uri);
            }
            scope = current.outer;
        }
        None
    }

    /// Whether `element` (entered into this scope) says `xsi:nil="true"`.
    fn is_nil(&self, element: &Element<'_>) -> bool {
        element.attributes.iter().any(|(name, value)| {
            name.split_once(':')
                .is_some_and(|(_, local)| local == "nil")
                && self.namespace_of(name) == Some(XSI_NS)
                && matches!(value.trim(), "true" | "1")
        })
    }
}

/// Reads the first `order` element of the document (the root, with a warning, when it
/// is named `order` but in no Payline namespace). `None` when there is none (the reason
/// is in `d`).
pub(crate) fn read<'a>(root: &'a Element<'a>, d: &mut Diagnostics) -> Option<RawOrder<'a>> {
    let outside = Scope::default();
    let mut raw = None;
    find_order(root, &outside, &mut |order, scope| {
        raw = Some(read_order(order, scope, d));
    });
    if raw.is_some() {
        return raw;
    }
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
        format!("the `order` element is in no Payline namespace; expected {OBJ_NS} or {IMPL_NS}"),
    );
    Some(read_order(root, &outside.enter(root), d))
}

/// Calls `read` with the first element named `order` in the service or object
/// namespace, depth first, and the scope inside it (which lives on this recursion's
/// stack, hence the call rather than a return); `true` once it is found.
fn find_order<'a>(
    element: &'a Element<'a>,
    outside: &Scope<'_, 'a>,
    read: &mut dyn FnMut(&'a Element<'a>, &Scope<'_, 'a>),
) -> bool {
    let inside = outside.enter(element);
    if element.local_name() == "order"
        && matches!(inside.namespace_of(&element.name), Some(OBJ_NS | IMPL_NS))
    {
        read(element, &inside);
        return true;
    }
    element
        .children
        .iter()
        .any(|child| find_order(child, &inside, read))
}

/// The fields of `order`, whose scope is `scope`.
fn read_order<'a>(
    order: &'a Element<'a>,
    scope: &Scope<'_, 'a>,
    d: &mut Diagnostics,
) -> RawOrder<'a> {
    let mut raw = RawOrder::default();
    let mut seen = Vec::new();
    for child in &order.children {
        let scope = scope.enter(child);
        let name = child.local_name();
        let path = || Form::Soap.field(name);
        if !expect_obj_namespace(child, &scope, path, d)
            || !first_of_its_name(&mut seen, name, path, d)
            || scope.is_nil(child)
        {
            continue;
        }
        match Field::named(name) {
            Some(DETAILS) => raw.details = read_details(child, &scope, d),
            Some(field) => {
                if let Some(text) = leaf_text(child, path, d) {
                    raw.set(field, text);
                }
            }
            None => unknown_element(d, path(), name),
        }
    }
    raw
}

/// The items of the `details` wrapper (each one also named `details`).
fn read_details<'a>(
    wrapper: &'a Element<'a>,
    scope: &Scope<'_, 'a>,
    d: &mut Diagnostics,
) -> Vec<RawDetail<'a>> {
    let mut details = Vec::new();
    for (index, item) in wrapper.children.iter().enumerate() {
        let scope = scope.enter(item);
        let path = || Form::Soap.detail(index);
        if item.local_name() != DETAILS_NAME {
            unknown_element(d, path(), item.local_name());
            continue;
        }
        if !expect_obj_namespace(item, &scope, path, d) {
            continue;
        }
        if scope.is_nil(item) {
            d.warning(
                path(),
                "payline.nil_detail",
                "an orderDetail item is nil; skipped",
            );
            continue;
        }
        details.push(read_detail(item, index, &scope, d));
    }
    details
}

/// The fields of item `index`, whose scope is `scope`.
fn read_detail<'a>(
    item: &'a Element<'a>,
    index: usize,
    scope: &Scope<'_, 'a>,
    d: &mut Diagnostics,
) -> RawDetail<'a> {
    let mut detail = RawDetail::default();
    let mut seen = Vec::new();
    for child in &item.children {
        let scope = scope.enter(child);
        let name = child.local_name();
        let path = || Form::Soap.detail_field(index, name);
        if !expect_obj_namespace(child, &scope, path, d)
            || !first_of_its_name(&mut seen, name, path, d)
            || scope.is_nil(child)
        {
            continue;
        }
        match DetailField::named(name) {
            Some(field) => {
                if let Some(text) = leaf_text(child, path, d) {
                    detail.set(field, text);
                }
            }
            None => unknown_element(d, path(), name),
        }
    }
    detail
}

/// Children of `order` belong to the object namespace. One elsewhere is read all the
/// same (senders get namespaces wrong more often than names) with a warning; `false`
/// only for elements in a foreign namespace that merely share a name.
fn expect_obj_namespace(
    element: &Element<'_>,
    scope: &Scope<'_, '_>,
    path: impl FnOnce() -> String,
    d: &mut Diagnostics,
) -> bool {
    match scope.namespace_of(&element.name) {
        Some(OBJ_NS) => true,
        Some(IMPL_NS) | None => {
            d.warning(
                path(),
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
                path(),
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

/// Whether `name` is met for the first time among the children read so far (`seen`).
fn first_of_its_name<'a>(
    seen: &mut Vec<&'a str>,
    name: &'a str,
    path: impl FnOnce() -> String,
    d: &mut Diagnostics,
) -> bool {
    if !seen.contains(&name) {
        seen.push(name);
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

/// A leaf's text, trimmed; `None` when empty or not a leaf.
fn leaf_text<'a>(
    element: &'a Element<'_>,
    path: impl FnOnce() -> String,
    d: &mut Diagnostics,
) -> Option<&'a str> {
    if !element.children.is_empty() {
        d.error(
            path(),
            "payline.not_text",
            format!("<{}> must hold text, not elements", element.name),
        );
        return None;
    }
    let text = element.text_trimmed();
    (!text.is_empty()).then_some(text)
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
                for field in DETAIL_FIELDS {
                    if let Some(value) = detail.get(field) {
                        writer.leaf(field.name(), value)?;
                    }
                }
                writer.end()?;
            }
            writer.end()?;
        } else if let Some(value) = raw.get(field) {
            writer.leaf(field.name(), value)?;
        }
    }
    writer.end()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::fields::{AMOUNT, COUNTRY, D_REF, REF, RawDetail};

    fn read_bytes(input: &[u8], d: &mut Diagnostics) -> Option<RawOrder<'static>> {
        let root = parse(input, d)?;
        read(&root, d).map(RawOrder::into_owned)
    }

    fn read_ok(input: &str) -> (RawOrder<'static>, Diagnostics) {
        let mut d = Diagnostics::new();
        let raw = read_bytes(input.as_bytes(), &mut d).expect("an order");
        (raw, d)
    }

    #[test]
    fn references_cdata_charsets_and_split_text_are_read_as_xml_says() {
        let order = |inside: &str| {
            format!(r#"<order xmlns="http://obj.ws.payline.experian.com">{inside}</order>"#)
        };
        for (input, expected) in [
            (order("<ref>R&amp;S &#233;&#x20AC;</ref>"), "R&S é€"),
            (order("<ref><![CDATA[<R>]]></ref>"), "<R>"),
            (order("<ref>R<!-- split -->S<?pi?>T</ref>"), "RST"),
            (order("<ref>\r\n R \r\n</ref>"), "R"),
            (format!("\u{feff}{}", order("<ref>R</ref>")), "R"),
        ] {
            let (raw, d) = read_ok(&input);
            assert_eq!(raw.get(REF), Some(expected), "{input}");
            assert!(d.is_empty(), "{input}: {d}");
        }
        let mut latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".to_vec();
        latin1.extend_from_slice(order("<ref>caf\u{e9}</ref>").as_bytes());
        let latin1: Vec<u8> = String::from_utf8(latin1)
            .unwrap()
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect();
        let mut d = Diagnostics::new();
        assert_eq!(read_bytes(&latin1, &mut d).unwrap().get(REF), Some("café"));
        for broken in [
            order("<ref>R&bogus;S</ref>"),
            order("<ref>R&#1;</ref>"),
            order("<ref>R</wrong>"),
            order("<ref>R</ref>") + "<second/>",
            format!("{}{}{}", "<a>".repeat(40), order(""), "</a>".repeat(40)),
        ] {
            let mut d = Diagnostics::new();
            assert!(read_bytes(broken.as_bytes(), &mut d).is_none(), "{broken}");
            assert!(d.has_errors(), "{broken}");
        }
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
