//! A webservice call (an HTTP form body) ↔ [`ServiceRequest`].
//!
//! e-connecteur POSTs `key`, `resource` and `data` (the XML, UTF-8), plus the resource's
//! own variables (`limit`, `filter`, `id`, ...) and, for product pushes, the product's
//! simple fields flattened. The body is `application/x-www-form-urlencoded`, or
//! `multipart/form-data` when a file goes with it (a product image, compressed `data`).
//!
//! What real callers do, and what is therefore accepted:
//! - `key` and `resource` as POST variables, or only inside the XML (`<key>`,
//!   `<resource>`): POST first, then the XML;
//! - the other variables in POST, in the XML, or both: the XML wins when both are given
//!   and differ (with a warning);
//! - `compression` (0 none, 1 zlib, 2 bzip2, 3 raw deflate) on any resource.
//!
//! The key is never written into a diagnostic: a wrong key is reported as wrong.

use std::io::{Read, Write};

use base64::Engine;
use percent_encoding::{percent_decode, percent_encode_byte};
use tradewire_sdk::core::{
    Diagnostic, Diagnostics, Image, OperationKind, Secret, ServiceOperation, ServiceRequest,
};
use tradewire_sdk::xml::{Element, is_valid_xml_name};

use crate::common::{At, Out, parse_date, parse_xml, quote, text};
use crate::response::resource_name;
use crate::{BodyFormat, Compression, Settings, customers, grilles, order, product};

/// More variables than any call has; a body with more is refused before more work.
const MAX_VARIABLES: usize = 10_000;

/// One POST variable: its name, its raw bytes, and for a file its name and type.
#[derive(Debug)]
struct Variable {
    name: String,
    value: Vec<u8>,
    file_name: Option<String>,
    content_type: Option<String>,
}

impl Variable {
    /// The value as text; variables other than `data` and files are UTF-8, as the spec says.
    fn text(&self) -> Result<String, Diagnostic> {
        String::from_utf8(self.value.clone()).map_err(|_| {
            Diagnostic::error(
                &*self.name,
                "form.invalid_encoding",
                "the value is not valid UTF-8",
            )
        })
    }
}

pub(crate) fn decode(
    body: &[u8],
    s: &Settings,
) -> Result<(ServiceRequest, Diagnostics), Diagnostics> {
    if body.len() > s.max_data_bytes {
        return Err(Diagnostic::error(
            "",
            "econnecteur.too_large",
            format!(
                "the request has {} bytes; at most {} are accepted (max_data_bytes)",
                body.len(),
                s.max_data_bytes
            ),
        )
        .into());
    }
    let mut variables = read_body(body, s)?;
    let mut d = Diagnostics::new();
    let mut take = |name: &str, d: &mut Diagnostics| -> Option<Variable> {
        // Moved out, not cloned: `data` can be megabytes.
        let (mut found, others): (Vec<Variable>, Vec<Variable>) = std::mem::take(&mut variables)
            .into_iter()
            .partition(|v| v.name == name);
        variables = others;
        if found.len() > 1 {
            // PHP, which most shops run on, keeps the last one.
            d.warning(
                name,
                "econnecteur.duplicate_variable",
                "the variable is given more than once; the last one is used",
            );
        }
        found.pop()
    };
    let text_of = |v: Option<Variable>, d: &mut Diagnostics| -> Option<String> {
        let v = v?;
        match v.text() {
            Ok(t) => Some(t.trim().to_owned()).filter(|t| !t.is_empty()),
            Err(e) => {
                d.push(e);
                None
            }
        }
    };
    let post_key = take("key", &mut d);
    let post_key = text_of(post_key, &mut d);
    // A wrong key ends the call before its data is even unpacked.
    if let (Some(expected), Some(given)) = (&s.expected_key, &post_key)
        && !expected.matches(given)
    {
        return Err(key_invalid("key"));
    }
    let post_resource = take("resource", &mut d);
    let post_resource = text_of(post_resource, &mut d);
    let compression = take("compression", &mut d);
    let compression = text_of(compression, &mut d);
    let data = take("data", &mut d).filter(|v| !v.value.is_empty());
    if d.has_errors() {
        return Err(d);
    }
    // With a key to check and none in POST, an unauthenticated caller learns nothing
    // about why its data could not be read.
    let unauthenticated = s.expected_key.is_some() && post_key.is_none();
    let refuse = |failure: Diagnostics| {
        if unauthenticated {
            key_missing()
        } else {
            failure
        }
    };
    let xml = match data {
        Some(data) => Some(unpack_data(data.value, compression.as_deref(), s).map_err(refuse)?),
        None => None,
    };
    let root = match &xml {
        Some(xml) => Some(parse_data(xml, s).map_err(refuse)?),
        None => None,
    };
    let xml_value = |name: &str| root.as_ref().and_then(|r| r.child(name)).and_then(text);

    // The key: POST first, then the XML.
    let xml_key = xml_value("key");
    // Both keys are the caller's, and a POST key has already matched the configured one:
    // comparing them in plain time tells the caller nothing it does not know.
    if let (Some(a), Some(b)) = (&post_key, &xml_key)
        && a != b
    {
        d.warning(
            "key",
            "econnecteur.key_mismatch",
            "the key in data differs from the POST key; the POST key is used",
        );
    }
    let key = post_key.or(xml_key);
    match (&s.expected_key, &key) {
        (Some(_), None) => {
            return Err(Diagnostic::error(
                "key",
                "econnecteur.key_missing",
                "the call has no key (POST key or <key> in data)",
            )
            .into());
        }
        (Some(expected), Some(given)) if !expected.matches(given) => {
            return Err(key_invalid("/connecteur/key"));
        }
        (None, None) => d.warning(
            "key",
            "econnecteur.key_missing",
            "the call has no key; the host must refuse it unless it needs none",
        ),
        _ => {}
    }

    let xml_resource = xml_value("resource");
    if let (Some(a), Some(b)) = (&post_resource, &xml_resource)
        && a != b
    {
        d.warning(
            "resource",
            "econnecteur.post_xml_mismatch",
            format!(
                "POST says {} and the XML {}; POST is used",
                quote(a),
                quote(b)
            ),
        );
    }
    let Some(resource) = post_resource.or(xml_resource) else {
        d.error(
            "resource",
            "econnecteur.resource_missing",
            "the call names no resource (POST resource or <resource> in data)",
        );
        return Err(d);
    };

    // What is left of POST: text variables, and at most the image as a file.
    let mut image = None;
    let mut post = Vec::new();
    for variable in variables {
        if variable.name == "image" && variable.file_name.is_some() {
            image = Some(Image {
                data_base64: Some(
                    base64::engine::general_purpose::STANDARD.encode(&variable.value),
                ),
                media_type: variable.content_type.clone(),
                file_name: variable.file_name.clone(),
                url: None,
            });
            continue;
        }
        match variable.text() {
            Ok(value) => post.push((variable.name, value)),
            Err(e) => d.push(e),
        }
    }
    let mut call = Call {
        root: root.as_ref(),
        post,
        d,
    };
    let mut request = ServiceRequest::new(ServiceOperation::ListOrders { states: Vec::new() });
    request.credential = key.map(Secret::new);
    if let Some(url) = call.param("url") {
        request.extensions.insert("url".into(), url);
    }
    request.operation = match call.operation(&resource, image, s) {
        Some(operation) => operation,
        None => return Err(call.d),
    };
    let payload = payload_element(request.operation.kind());
    let Call { root, post, mut d } = call;
    // Variables nobody read are kept, by name.
    for (name, value) in post {
        if name != "url" && !value.trim().is_empty() {
            request.extensions.insert(name, value);
        }
    }
    if let Some(root) = root
        && !matches!(
            request.operation.kind(),
            OperationKind::UpdateProduct | OperationKind::AddProduct | OperationKind::UpdateOption
        )
    {
        for child in &root.children {
            let name = &*child.name;
            if ["key", "resource", "url"].contains(&name)
                || payload.contains(&name)
                || PARAMS.contains(&name)
            {
                continue;
            }
            crate::common::keep_unknown(
                &mut d,
                At::new("/connecteur", name),
                name.to_owned(),
                child,
                &mut request.extensions,
            );
        }
    }
    order::soften(request.validate(), &mut d);
    if d.has_errors() {
        Err(d)
    } else {
        Ok((request, d))
    }
}

/// The variables resources read (kept out of `extensions`).
const PARAMS: [&str; 7] = [
    "limit",
    "filter",
    "id",
    "statut_final",
    "shipping_number",
    "date",
    "compression",
];

fn payload_element(kind: OperationKind) -> &'static [&'static str] {
    match kind {
        OperationKind::UpsertCustomers => &["clients", "client", "customers"],
        OperationKind::UpsertPriceRules => &["grilles"],
        OperationKind::AddSalesDocument => &["order"],
        _ => &[],
    }
}

/// The XML in `data`, unpacked.
fn unpack_data(
    data: Vec<u8>,
    compression: Option<&str>,
    s: &Settings,
) -> Result<Vec<u8>, Diagnostics> {
    let method = parse_compression(compression)?;
    decompress(data, method, s.max_data_bytes)
}

/// Parses the unpacked `data`; its root must be `<connecteur>` (or `<clients>`, the root
/// of the spec's add_customer example).
fn parse_data<'a>(xml: &'a [u8], s: &Settings) -> Result<Element<'a>, Diagnostics> {
    let root = parse_xml(xml, s.max_data_bytes).map_err(|e| prefix_paths("data", e))?;
    if root.name != "connecteur" && root.name != "clients" {
        return Err(Diagnostic::error(
            format!("data/{}", root.name),
            "econnecteur.bad_root",
            format!("data must be a <connecteur> document, not <{}>", root.name),
        )
        .into());
    }
    Ok(root)
}

fn key_missing() -> Diagnostics {
    Diagnostic::error(
        "key",
        "econnecteur.key_missing",
        "the call has no key (POST key or <key> in data)",
    )
    .into()
}

fn key_invalid(path: &str) -> Diagnostics {
    Diagnostic::error(
        path,
        "econnecteur.key_invalid",
        "the key does not match the configured key",
    )
    .into()
}

fn prefix_paths(prefix: &str, diagnostics: Diagnostics) -> Diagnostics {
    diagnostics
        .into_iter()
        .map(|mut d| {
            d.path = if d.path.is_empty() {
                prefix.to_owned()
            } else {
                d.path
            };
            d
        })
        .collect()
}

/// The call's variables, found in POST or in the XML.
struct Call<'a> {
    root: Option<&'a Element<'a>>,
    post: Vec<(String, String)>,
    d: Diagnostics,
}

impl<'a> Call<'a> {
    /// A variable from the XML or POST (the XML wins when both differ); taken out of
    /// `post` so it does not end up in `extensions`.
    fn param(&mut self, name: &str) -> Option<String> {
        let from_xml = self.root.and_then(|r| r.child(name)).and_then(text);
        let position = self.post.iter().rposition(|(n, _)| n == name);
        let from_post = position
            .map(|i| self.post.remove(i).1.trim().to_owned())
            .filter(|v| !v.is_empty());
        self.post.retain(|(n, _)| n != name);
        match (from_xml, from_post) {
            (Some(xml), Some(post)) => {
                if xml != post {
                    self.d.warning(
                        name,
                        "econnecteur.post_xml_mismatch",
                        format!(
                            "POST says {} and the XML {}; the XML is used",
                            quote(&post),
                            quote(&xml)
                        ),
                    );
                }
                Some(xml)
            }
            (xml, post) => xml.or(post),
        }
    }

    fn required(&mut self, name: &str) -> Option<String> {
        let value = self.param(name);
        if value.is_none() {
            self.d.error(
                name,
                "econnecteur.value_missing",
                format!("`{name}` is required for this resource"),
            );
        }
        value
    }

    fn limit(&mut self) -> Option<(Option<u64>, Option<u64>)> {
        let Some(limit) = self.param("limit") else {
            return Some((None, None));
        };
        let number = |part: &str| part.trim().parse::<u64>().ok();
        let parsed = match limit.split_once(',') {
            Some((offset, count)) => number(offset)
                .zip(number(count))
                .map(|(o, c)| (Some(o), Some(c))),
            None => number(&limit).map(|count| (None, Some(count))),
        };
        if parsed.is_none() {
            self.d.error(
                "limit",
                "econnecteur.bad_limit",
                format!(
                    "{} is not a limit: write `start,count` (0,500) or a count (500)",
                    quote(&limit)
                ),
            );
        }
        parsed
    }

    fn xml_payload(&mut self, resource: &str) -> Option<&'a Element<'a>> {
        if self.root.is_none() {
            self.d.error(
                "data",
                "econnecteur.data_missing",
                format!("`{resource}` sends its content as XML in data, and there is none"),
            );
        }
        self.root
    }

    fn operation(
        &mut self,
        resource: &str,
        image: Option<Image>,
        s: &Settings,
    ) -> Option<ServiceOperation> {
        let operation = match resource {
            "products_list" | "options_list" => {
                let (offset, count) = self.limit()?;
                if resource == "products_list" {
                    ServiceOperation::ListProducts { offset, count }
                } else {
                    ServiceOperation::ListOptions { offset, count }
                }
            }
            "update_product" | "add_product" | "update_option" => {
                let post: Vec<_> = std::mem::take(&mut self.post)
                    .into_iter()
                    .filter(|(name, _)| name != "url")
                    .collect();
                let product = product::decode(self.root, &post, image, s, &mut self.d);
                match resource {
                    "update_product" => ServiceOperation::UpdateProduct { product },
                    "add_product" => ServiceOperation::AddProduct { product },
                    _ => ServiceOperation::UpdateOption { product },
                }
            }
            "orders_list" => ServiceOperation::ListOrders {
                states: self
                    .param("filter")
                    .map(|filter| {
                        filter
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            "orders" => ServiceOperation::GetOrder {
                order_id: self.required("id")?,
            },
            "set_order_exported" => {
                let order_id = self.required("id");
                let final_status = self.param("statut_final");
                ServiceOperation::SetOrderExported {
                    order_id: order_id?,
                    final_status,
                }
            }
            "add_tracking" => {
                let order_id = self.required("id");
                let tracking_number = self.required("shipping_number");
                ServiceOperation::AddTracking {
                    order_id: order_id?,
                    tracking_number: tracking_number?,
                }
            }
            "customers_list" => {
                let changed_since = match self.param("date") {
                    None => None,
                    Some(date) => match parse_date("date", &date) {
                        Ok(date) => Some(date),
                        Err(e) => {
                            self.d.push(e);
                            return None;
                        }
                    },
                };
                ServiceOperation::ListCustomers { changed_since }
            }
            "add_customer" => {
                let root = self.xml_payload(resource)?;
                let customers = customers::decode_document(root, &s.countries, &mut self.d)?;
                ServiceOperation::UpsertCustomers { customers }
            }
            "add_grilles" => {
                let root = self.xml_payload(resource)?;
                let price_list = grilles::decode_document(root, &mut self.d)?;
                ServiceOperation::UpsertPriceRules { price_list }
            }
            "add_order" => {
                let root = self.xml_payload(resource)?;
                let mut order = order::decode_document(root, s, &mut self.d)?;
                let pdf_base64 = order.extensions.remove("pdf");
                ServiceOperation::AddSalesDocument { order, pdf_base64 }
            }
            other => {
                self.d.error(
                    "resource",
                    "econnecteur.unknown_resource",
                    format!(
                        "{} is not a resource of the universal webservice (products_list, options_list, \
                         update_product, add_product, update_option, orders_list, orders, set_order_exported, \
                         add_tracking, customers_list, add_customer, add_grilles, add_order)",
                        quote(other)
                    ),
                );
                return None;
            }
        };
        Some(operation)
    }
}

// ---------------------------------------------------------------------------------------
// Bodies

fn read_body(body: &[u8], s: &Settings) -> Result<Vec<Variable>, Diagnostics> {
    let multipart = match &s.body_format {
        BodyFormat::UrlEncoded => None,
        BodyFormat::Multipart(boundary) => Some(boundary.clone()),
        // A multipart body starts with its boundary, `--` and a token; a form body
        // cannot start with `-` followed by `-` unless a variable is named so.
        BodyFormat::Detect => body.starts_with(b"--").then_some(None),
    };
    let variables = match multipart {
        Some(boundary) => parse_multipart(body, boundary.as_deref()).map_err(Diagnostics::from)?,
        None => parse_urlencoded(body)?,
    };
    if variables.len() > MAX_VARIABLES {
        return Err(Diagnostic::error(
            "",
            "econnecteur.too_many_variables",
            format!("more than {MAX_VARIABLES} variables"),
        )
        .into());
    }
    Ok(variables)
}

/// `name=value&…`, `+` for space and percent escapes, as browsers and PHP read it; the
/// values stay bytes (compressed `data` is binary).
fn parse_urlencoded(body: &[u8]) -> Result<Vec<Variable>, Diagnostics> {
    let mut variables = Vec::new();
    let mut d = Diagnostics::new();
    for segment in body.split(|&b| b == b'&') {
        if segment.is_empty() {
            continue;
        }
        let (raw_name, raw_value) = match segment.iter().position(|&b| b == b'=') {
            Some(equals) => (&segment[..equals], &segment[equals + 1..]),
            None => (segment, &b""[..]),
        };
        let name_bytes = form_decode(raw_name);
        let Ok(name) = String::from_utf8(name_bytes) else {
            d.error(
                String::from_utf8_lossy(raw_name).into_owned(),
                "form.invalid_encoding",
                "the variable name is not valid UTF-8",
            );
            continue;
        };
        variables.push(Variable {
            name,
            value: form_decode(raw_value),
            file_name: None,
            content_type: None,
        });
        if variables.len() > MAX_VARIABLES {
            break;
        }
    }
    d.finish(variables).map(|accepted| accepted.value)
}

fn form_decode(raw: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced).collect()
}

/// The WHATWG `application/x-www-form-urlencoded` serializer, on bytes.
fn form_encode(out: &mut Vec<u8>, bytes: &[u8]) {
    for &byte in bytes {
        match byte {
            b'*' | b'-' | b'.' | b'_' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' => out.push(byte),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(percent_encode_byte(byte).as_bytes()),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn malformed(message: impl Into<String>) -> Diagnostic {
    Diagnostic::error("", "econnecteur.bad_multipart", message)
}

/// RFC 7578 `multipart/form-data`. The boundary is the configured one, or read from
/// the body's first line.
fn parse_multipart(body: &[u8], boundary: Option<&str>) -> Result<Vec<Variable>, Diagnostic> {
    let boundary: Vec<u8> = match boundary {
        Some(b) => b.as_bytes().to_vec(),
        None => {
            let line_end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
            let line = body.get(2..line_end).unwrap_or_default();
            line.strip_suffix(b"\r").unwrap_or(line).to_vec()
        }
    };
    if boundary.is_empty()
        || boundary.len() > 200
        || boundary.iter().any(|b| b.is_ascii_whitespace())
    {
        return Err(malformed(
            "the body has no usable multipart boundary on its first line",
        ));
    }
    let delimiter = [b"--".as_slice(), &boundary].concat();
    if !body.starts_with(&delimiter) {
        return Err(malformed(
            "the body does not start with its multipart boundary",
        ));
    }
    let mut variables = Vec::new();
    let mut position = delimiter.len();
    loop {
        let rest = body.get(position..).unwrap_or_default();
        if rest.starts_with(b"--") {
            return Ok(variables);
        }
        let rest = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
            .ok_or_else(|| malformed("a multipart boundary is not followed by a line break"))?;
        let header_start = body.len() - rest.len();
        let (header_end, content_start) = match (find(rest, b"\r\n\r\n"), find(rest, b"\n\n")) {
            (Some(crlf), Some(lf)) if lf < crlf => (lf, lf + 2),
            (Some(crlf), _) => (crlf, crlf + 4),
            (None, Some(lf)) => (lf, lf + 2),
            (None, None) => return Err(malformed("the body ends inside a part's headers")),
        };
        let headers = String::from_utf8_lossy(&rest[..header_end]).into_owned();
        let content = &rest[content_start..];
        let end_marker = [b"\r\n".as_slice(), &delimiter].concat();
        let (content_end, next) = match find(content, &end_marker) {
            Some(at) => (at, at + end_marker.len()),
            None => match find(content, &[b"\n".as_slice(), &delimiter].concat()) {
                Some(at) => (at, at + 1 + delimiter.len()),
                None => {
                    return Err(malformed(
                        "the body ends before the closing multipart boundary (truncated?)",
                    ));
                }
            },
        };
        let mut variable = part_headers(&headers)?;
        variable.value = content[..content_end].to_vec();
        variables.push(variable);
        if variables.len() > MAX_VARIABLES {
            return Ok(variables);
        }
        position = header_start + content_start + next;
    }
}

fn part_headers(headers: &str) -> Result<Variable, Diagnostic> {
    let mut name = None;
    let mut file_name = None;
    let mut content_type = None;
    for line in headers.lines() {
        let Some((header, value)) = line.split_once(':') else {
            continue;
        };
        match header.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => {
                for parameter in value.split(';').skip(1) {
                    let Some((key, raw)) = parameter.split_once('=') else {
                        continue;
                    };
                    let unquoted = raw.trim().trim_matches('"').to_owned();
                    match key.trim().to_ascii_lowercase().as_str() {
                        "name" => name = Some(unquoted),
                        "filename" => file_name = Some(unquoted),
                        _ => {}
                    }
                }
            }
            "content-type" => content_type = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let name = name.ok_or_else(|| malformed("a part has no Content-Disposition name"))?;
    Ok(Variable {
        name,
        value: Vec::new(),
        file_name,
        content_type,
    })
}

fn parse_compression(value: Option<&str>) -> Result<Compression, Diagnostics> {
    match value {
        None | Some("0") => Ok(Compression::None),
        Some("1") => Ok(Compression::Zlib),
        Some("2") => Ok(Compression::Bzip2),
        Some("3") => Ok(Compression::Deflate),
        Some(other) => Err(Diagnostic::error(
            "compression",
            "econnecteur.bad_compression",
            format!(
                "compression {} is not 0 (none), 1 (zlib), 2 (bzip2) or 3 (raw deflate)",
                quote(other)
            ),
        )
        .into()),
    }
}

/// Unpacks `data`, reading at most `cap` bytes out of it: a small body that unpacks to
/// gigabytes (a decompression bomb) is refused when it passes the cap, before it can
/// take the memory.
fn decompress(data: Vec<u8>, method: Compression, cap: usize) -> Result<Vec<u8>, Diagnostics> {
    let reader: Box<dyn Read + '_> = match method {
        Compression::None => return Ok(data),
        Compression::Zlib => Box::new(flate2::read::ZlibDecoder::new(data.as_slice())),
        Compression::Bzip2 => Box::new(bzip2::read::BzDecoder::new(data.as_slice())),
        Compression::Deflate => Box::new(flate2::read::DeflateDecoder::new(data.as_slice())),
    };
    let unpacked = read_capped(reader, cap).map_err(|e| {
        Diagnostic::error(
            "data",
            "econnecteur.bad_compression",
            format!("data is not valid {}: {e}", method.name()),
        )
    })?;
    if unpacked.len() > cap {
        return Err(Diagnostic::error(
            "data",
            "econnecteur.too_large",
            format!("data unpacks to more than {cap} bytes (max_data_bytes); refused"),
        )
        .into());
    }
    Ok(unpacked)
}

/// Reads `reader` to its end or to `cap + 1` bytes, whichever comes first. The buffer
/// grows by doubling but never past `cap + 1`: `read_to_end` would double a 32 MiB cap
/// into 64 MiB held for data that is refused anyway.
fn read_capped(mut reader: impl Read, cap: usize) -> std::io::Result<Vec<u8>> {
    const FIRST_CHUNK: usize = 64 * 1024;
    let limit = cap.saturating_add(1);
    let mut buffer = Vec::new();
    let mut filled = 0;
    while filled < limit {
        if filled == buffer.len() {
            let grow = buffer.len().max(FIRST_CHUNK).min(limit - filled);
            buffer.reserve_exact(grow);
            buffer.resize(filled + grow, 0);
        }
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buffer.truncate(filled);
    Ok(buffer)
}

fn compress(xml: &[u8], method: Compression) -> std::io::Result<Vec<u8>> {
    match method {
        Compression::None => Ok(xml.to_vec()),
        Compression::Zlib => {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(xml)?;
            encoder.finish()
        }
        Compression::Deflate => {
            let mut encoder =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(xml)?;
            encoder.finish()
        }
        Compression::Bzip2 => {
            let mut encoder =
                bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            encoder.write_all(xml)?;
            encoder.finish()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Encoding

/// The boundary of multipart bodies written when the config names none.
const DEFAULT_BOUNDARY: &str = "tradewire-econnecteur-8d1c7f";

pub(crate) fn encode(
    request: &ServiceRequest,
    s: &Settings,
) -> Result<(Vec<u8>, Diagnostics), Diagnostics> {
    let mut warnings = Diagnostics::new();
    let kind = request.operation.kind();
    let resource = resource_name(kind);
    let key = request.credential.as_ref().map(Secret::expose);
    // (name, value, JSON Pointer) of the variables sent both in POST and in the XML.
    let mut params: Vec<(String, String, String)> = Vec::new();
    let mut param =
        |name: &str, value: String, at: &str| params.push((name.to_owned(), value, at.to_owned()));
    let mut file: Option<(Vec<u8>, &Image)> = None;
    let mut out = Out::document();
    out.start("connecteur", "");
    out.leaf("resource", resource, "/operation/type");
    if let Some(key) = key {
        out.leaf("key", key, "/credential");
    }
    match &request.operation {
        ServiceOperation::ListProducts { offset, count }
        | ServiceOperation::ListOptions { offset, count } => match (offset, count) {
            (None, None) => {}
            (None, Some(count)) => param("limit", count.to_string(), "/operation/count"),
            (Some(offset), Some(count)) => {
                param("limit", format!("{offset},{count}"), "/operation/offset")
            }
            (Some(_), None) => out.d.error(
                "/operation/count",
                "econnecteur.limit_needs_count",
                "`limit` gives an offset only together with a count (start,count)",
            ),
        },
        ServiceOperation::ListOrders { states } => {
            if let Some(bad) = states
                .iter()
                .find(|s| s.contains(',') || s.trim().is_empty())
            {
                out.d.error(
                    "/operation/states",
                    "econnecteur.bad_filter",
                    format!("the state {} cannot be listed in `filter`", quote(bad)),
                );
            }
            if !states.is_empty() {
                param("filter", states.join(","), "/operation/states");
            }
        }
        ServiceOperation::GetOrder { order_id } => {
            param("id", order_id.clone(), "/operation/order_id")
        }
        ServiceOperation::SetOrderExported {
            order_id,
            final_status,
        } => {
            param("id", order_id.clone(), "/operation/order_id");
            if let Some(status) = final_status {
                param("statut_final", status.clone(), "/operation/final_status");
            }
        }
        ServiceOperation::AddTracking {
            order_id,
            tracking_number,
        } => {
            param("id", order_id.clone(), "/operation/order_id");
            param(
                "shipping_number",
                tracking_number.clone(),
                "/operation/tracking_number",
            );
        }
        ServiceOperation::ListCustomers { changed_since } => {
            if let Some(date) = changed_since {
                param(
                    "date",
                    date.format("%d-%m-%Y").to_string(),
                    "/operation/changed_since",
                );
            }
        }
        ServiceOperation::UpdateProduct { product }
        | ServiceOperation::AddProduct { product }
        | ServiceOperation::UpdateOption { product } => {
            if let Some(image) = &product.image
                && let Some(data) = &image.data_base64
            {
                match base64::engine::general_purpose::STANDARD.decode(data) {
                    Ok(bytes) => file = Some((bytes, image)),
                    Err(e) => out.d.error(
                        "/operation/product/image/data_base64",
                        "econnecteur.bad_base64",
                        format!("not base64: {e}"),
                    ),
                }
            }
            let mut product_warnings = Diagnostics::new();
            for (name, value, at) in
                product::simple_fields(product, s, file.is_none(), &mut product_warnings)
            {
                params.push((name, value, format!("/operation/product{at}")));
            }
            // The XML: the simple fields once more, then what only the XML carries.
            write_params(&mut out, &params, &mut warnings);
            product::encode_structured(&mut out, product, &mut product_warnings);
            warnings.extend_under("/operation/product", product_warnings);
        }
        ServiceOperation::UpsertCustomers { customers } => {
            customers::encode_push(
                &mut out,
                customers,
                "/operation/customers",
                &s.countries,
                &mut warnings,
            );
        }
        ServiceOperation::UpsertPriceRules { price_list } => {
            grilles::encode(&mut out, price_list, "/operation/price_list", s)
        }
        ServiceOperation::AddSalesDocument { order, pdf_base64 } => {
            order::encode(
                &mut out,
                order,
                "/operation/order",
                s,
                pdf_base64.as_deref(),
                &mut warnings,
            );
        }
    }
    let is_product = matches!(
        kind,
        OperationKind::UpdateProduct | OperationKind::AddProduct | OperationKind::UpdateOption
    );
    for (name, value) in &request.extensions {
        params.push((
            name.clone(),
            value.clone(),
            crate::common::pointer("/extensions", name),
        ));
    }
    if is_product {
        // The product's fields are written; only the extensions remain.
        let extensions: Vec<_> = params
            .iter()
            .filter(|(_, _, at)| at.starts_with("/extensions"))
            .cloned()
            .collect();
        write_params(&mut out, &extensions, &mut warnings);
    } else {
        write_params(&mut out, &params, &mut warnings);
    }
    out.end();
    let (xml, warnings) = out.finish(warnings)?;

    let data = compress(&xml, s.compression).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "",
            "econnecteur.bad_compression",
            format!("compressing data failed: {e}"),
        ))
    })?;
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(key) = key {
        fields.push(("key".into(), key.as_bytes().to_vec()));
    }
    fields.push(("resource".into(), resource.as_bytes().to_vec()));
    if s.compression != Compression::None {
        fields.push((
            "compression".into(),
            s.compression.code().as_bytes().to_vec(),
        ));
    }
    for (name, value, _) in &params {
        fields.push((name.clone(), value.clone().into_bytes()));
    }
    let multipart = file.is_some()
        || s.compression != Compression::None
        || matches!(s.body_format, BodyFormat::Multipart(_));
    let body = if multipart {
        write_multipart(
            &fields,
            &data,
            file.as_ref()
                .map(|(bytes, image)| (bytes.as_slice(), *image)),
            s,
        )?
    } else {
        let mut body = Vec::new();
        for (name, value) in fields
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_slice()))
            .chain([(b"data".as_slice(), data.as_slice())])
        {
            if !body.is_empty() {
                body.push(b'&');
            }
            form_encode(&mut body, name);
            body.push(b'=');
            form_encode(&mut body, value);
        }
        body
    };
    Ok((body, warnings))
}

/// Writes the variables as XML elements too (the spec sends them both ways); a name that
/// cannot be an element goes in POST only.
fn write_params(out: &mut Out, params: &[(String, String, String)], warnings: &mut Diagnostics) {
    for (name, value, at) in params {
        if is_valid_xml_name(name) {
            out.leaf(name, value, at);
        } else {
            warnings.warning(
                at,
                "econnecteur.post_only",
                format!(
                    "{} is not a valid XML element name; it is sent in POST only",
                    quote(name)
                ),
            );
        }
    }
}

fn write_multipart(
    fields: &[(String, Vec<u8>)],
    data: &[u8],
    file: Option<(&[u8], &Image)>,
    s: &Settings,
) -> Result<Vec<u8>, Diagnostics> {
    let contents = || {
        fields
            .iter()
            .map(|(_, v)| v.as_slice())
            .chain([data])
            .chain(file.map(|(b, _)| b))
    };
    let boundary = match &s.body_format {
        BodyFormat::Multipart(Some(boundary)) => {
            if contents().any(|c| find(c, boundary.as_bytes()).is_some()) {
                return Err(Diagnostic::error(
                    "/config/content_type",
                    "econnecteur.boundary_in_content",
                    "the configured multipart boundary occurs in the content; choose another",
                )
                .into());
            }
            boundary.clone()
        }
        _ => (0..)
            .map(|n| {
                if n == 0 {
                    DEFAULT_BOUNDARY.to_owned()
                } else {
                    format!("{DEFAULT_BOUNDARY}-{n}")
                }
            })
            .find(|candidate| contents().all(|c| find(c, candidate.as_bytes()).is_none()))
            .unwrap_or_else(|| DEFAULT_BOUNDARY.to_owned()),
    };
    let mut body = Vec::new();
    let mut part =
        |name: &str, file_name: Option<&str>, content_type: Option<&str>, value: &[u8]| {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"")
                    .as_bytes(),
            );
            if let Some(file_name) = file_name {
                let safe: String = file_name
                    .chars()
                    .filter(|c| !c.is_control())
                    .map(|c| if c == '"' { '\'' } else { c })
                    .collect();
                body.extend_from_slice(format!("; filename=\"{safe}\"").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            if let Some(content_type) = content_type {
                body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        };
    for (name, value) in fields {
        part(name, None, None, value);
    }
    let data_type = (s.compression != Compression::None).then_some("application/octet-stream");
    part("data", None, data_type, data);
    if let Some((bytes, image)) = file {
        let file_name = image.file_name.as_deref().unwrap_or("image");
        let content_type = image
            .media_type
            .as_deref()
            .unwrap_or("application/octet-stream");
        part("image", Some(file_name), Some(content_type), bytes);
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok(body)
}

impl Compression {
    fn name(self) -> &'static str {
        match self {
            Self::None => "uncompressed",
            Self::Zlib => "zlib",
            Self::Bzip2 => "bzip2",
            Self::Deflate => "raw deflate",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Self::None => "0",
            Self::Zlib => "1",
            Self::Bzip2 => "2",
            Self::Deflate => "3",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn capped_reads_stop_one_byte_past_the_cap_without_overallocating() {
        let source = vec![7u8; 1_000_000];
        let read = read_capped(source.as_slice(), 300_000).expect("reads");
        assert_eq!(read.len(), 300_001);
        assert!(read.capacity() <= 300_001, "capacity {}", read.capacity());

        let whole = read_capped(&source[..70_000], 300_000).expect("reads");
        assert_eq!(whole, source[..70_000]);
        assert!(read_capped(&b""[..], 10).expect("reads").is_empty());
    }

    #[test]
    fn multipart_bodies_are_read_with_or_without_a_configured_boundary() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"resource\"\r\n\r\nproducts_list\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ--\r\n";
        for boundary in [None, Some("XyZ")] {
            let parts = parse_multipart(body, boundary).unwrap();
            assert_eq!(parts.len(), 2);
            assert_eq!(parts[0].name, "resource");
            assert_eq!(parts[0].value, b"products_list");
            assert_eq!(parts[1].file_name.as_deref(), Some("a.png"));
            assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
            assert_eq!(parts[1].value, b"\x89PNG");
        }
        assert_eq!(
            parse_multipart(&body[..60], None).unwrap_err().code,
            "econnecteur.bad_multipart"
        );
        assert_eq!(
            parse_multipart(body, Some("other")).unwrap_err().code,
            "econnecteur.bad_multipart"
        );
    }

    #[test]
    fn every_compression_round_trips_and_bombs_stop_at_the_cap() {
        let xml = b"<connecteur><resource>products_list</resource></connecteur>".repeat(50);
        for method in [
            Compression::None,
            Compression::Zlib,
            Compression::Bzip2,
            Compression::Deflate,
        ] {
            let packed = compress(&xml, method).unwrap();
            assert_eq!(
                decompress(packed, method, 1 << 20).unwrap(),
                xml,
                "{method:?}"
            );
        }
        let bomb = compress(&vec![b' '; 4 << 20], Compression::Zlib).unwrap();
        assert!(bomb.len() < 64 << 10);
        let refused = decompress(bomb, Compression::Zlib, 1 << 20).unwrap_err();
        assert_eq!(refused.as_slice()[0].code, "econnecteur.too_large");
        let garbage = decompress(b"not zlib".to_vec(), Compression::Zlib, 1 << 20).unwrap_err();
        assert_eq!(garbage.as_slice()[0].code, "econnecteur.bad_compression");
    }
}
