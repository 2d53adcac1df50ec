//! The OCI cart: canonical [`Order`] lines ↔ the `NEW_ITEM-<FIELD>[n]` form fields.
//!
//! Shared by the `cart` message (the form body) and `cart-page` (the same fields as
//! hidden inputs of an HTML page). Encoding refuses what the spec forbids, so a buyer's
//! system never drops a line in silence; decoding is lenient where SAP is (long values,
//! blank optional fields, gaps in line numbers) and strict where a guess would change the
//! order (numbers with separators, quantities, currencies).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use tradewire_sdk::check::{
    format_decimal, max_chars, parse_decimal, parse_decimal_lenient, parse_whole_number,
};
use tradewire_sdk::core::{
    Attachment, Classification, Currency, Decimal, DocumentRef, LineKind, Manufacturer, Order,
    OrderKind, OrderLine, Price, PunchoutSession, pointer_token,
};
use tradewire_sdk::{Diagnostic, Diagnostics};

use crate::config::{CustField, LineIdentifier, OciVersion, Settings};
use crate::fields::{
    FIELDS, Field, ItemName, PREFIX, form_name, long_text_name, own_code, parse_item_name,
};

/// Order extension: where the cart page posts the cart (the session's `hook_url`).
pub const EXT_HOOK_URL: &str = "oci.hook_url";
/// Order extension: the cart page's form target (the session's `returntarget`).
pub const EXT_RETURNTARGET: &str = "oci.returntarget";
/// Order extension: the charset the buyer reads the cart in (`http_content_charset`).
pub const EXT_CHARSET: &str = "oci.http_content_charset";
/// Order extensions `oci.form.<name>`: form fields besides the cart lines (`~OkCode`).
pub const EXT_FORM_PREFIX: &str = "oci.form.";

/// The classification domain `MATGROUP` is kept under.
pub const MATGROUP_DOMAIN: &str = "MATGROUP";

/// SAP's DESCRIPTION holds 40 characters; a longer one is cut and sent in full as long text.
const DESCRIPTION_CHARS: usize = 40;

// ---------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------

/// The form fields of `order`'s cart, in the order they are sent: the order-level fields
/// (config `form_fields`, overridden by the order's `oci.form.<name>` extensions), then
/// each line's fields. Problems are recorded in `d` with JSON Pointers into the order.
pub fn encode_cart(
    settings: &Settings,
    order: &Order,
    d: &mut Diagnostics,
) -> Vec<(String, String)> {
    let mut pairs = order_form_fields(settings, order);
    if order.kind != OrderKind::Cart {
        d.warning(
            "/kind",
            "oci.not_a_cart",
            format!(
                "an OCI cart is written from an order of kind `cart`; this one is {:?}",
                order.kind
            ),
        );
    }
    if order.lines.is_empty() {
        d.error("/lines", "oci.empty_cart", "a cart needs at least one line");
    }
    let numbered: BTreeMap<u32, u32> = order
        .lines
        .iter()
        .zip(1u32..)
        .filter_map(|(line, index)| Some((line.line_number?, index)))
        .collect();
    for (position, line) in order.lines.iter().enumerate() {
        let Ok(index) = u32::try_from(position + 1) else {
            break;
        };
        let mut writer = LineWriter {
            settings,
            index,
            line_count: u32::try_from(order.lines.len()).unwrap_or(u32::MAX),
            path: format!("/lines/{position}"),
            pairs: &mut pairs,
            d,
        };
        writer.line(order, line, &numbered);
    }
    pairs
}

/// `order` as the punchout `session` returns it: the session's hook URL, return target,
/// charset and SAP fields over the order's own.
pub fn for_session(order: &Order, session: &PunchoutSession) -> Order {
    let mut order = order.clone();
    let extensions = &mut order.extensions;
    extensions.insert(EXT_HOOK_URL.to_owned(), session.hook_url.clone());
    let values = [
        (EXT_RETURNTARGET.to_owned(), &session.return_target),
        (EXT_CHARSET.to_owned(), &session.charset),
        (format!("{EXT_FORM_PREFIX}~OkCode"), &session.ok_code),
        (format!("{EXT_FORM_PREFIX}~TARGET"), &session.target),
        (format!("{EXT_FORM_PREFIX}~CALLER"), &session.caller),
    ];
    for (key, value) in values {
        match value {
            Some(value) => extensions.insert(key, value.clone()),
            None => extensions.remove(&key),
        };
    }
    order
}

/// Config `form_fields`, then the order's `oci.form.<name>` extensions over them.
pub fn order_form_fields(settings: &Settings, order: &Order) -> Vec<(String, String)> {
    let mut fields = settings.config.form_fields.clone();
    for (key, value) in &order.extensions {
        if let Some(name) = key.strip_prefix(EXT_FORM_PREFIX) {
            fields.insert(name.to_owned(), value.clone());
        }
    }
    fields.into_iter().collect()
}

struct LineWriter<'a> {
    settings: &'a Settings,
    index: u32,
    line_count: u32,
    /// `/lines/<i>`.
    path: String,
    pairs: &'a mut Vec<(String, String)>,
    d: &'a mut Diagnostics,
}

impl LineWriter<'_> {
    fn line(&mut self, order: &Order, line: &OrderLine, numbered: &BTreeMap<u32, u32>) {
        let mapping = &self.settings.config.mapping;
        if matches!(line.kind, LineKind::Voucher | LineKind::Discount) {
            self.error(
                "kind",
                "oci.line_kind_unsupported",
                "OCI has no line that reduces the total; apply vouchers and discounts to the article prices",
            );
        }
        if !line.discounts.is_empty() {
            self.error(
                "discounts",
                "oci.discount_unsupported",
                "OCI sends one net price per line and no discounts; apply the discount to the price",
            );
        }

        // DESCRIPTION (cut to 40 with the full text in LONGTEXT), MATNR
        let mut long_text = line.long_text.clone();
        let has_matnr = non_empty(&line.buyer_part_id).is_some();
        // A line without MATNR needs a description, and then takes the configured one for
        // its kind when it has none; so for the unit below.
        let description = if has_matnr {
            non_empty(&line.description)
        } else {
            self.settings.description_of(line, &self.path, self.d)
        };
        if let Some(description) = description {
            if description.chars().count() > DESCRIPTION_CHARS {
                let cut: String = description.chars().take(DESCRIPTION_CHARS).collect();
                self.d.warning(
                    format!("{}/description", self.path),
                    "oci.description_shortened",
                    format!(
                        "DESCRIPTION holds {DESCRIPTION_CHARS} characters: the description is cut there and sent in full as LONGTEXT"
                    ),
                );
                long_text = Some(match long_text {
                    Some(existing) => format!("{description}\n{existing}"),
                    None => description.to_owned(),
                });
                self.put("DESCRIPTION", &cut, "description");
            } else {
                self.put("DESCRIPTION", description, "description");
            }
        }
        self.put_opt("MATNR", &line.buyer_part_id, "buyer_part_id");
        if description.is_none() && !has_matnr {
            self.error(
                "description",
                "oci.description_missing",
                "a cart line needs a DESCRIPTION or a MATNR (the buyer's material number); \
                 shipping and payment fee lines take the config's `shipping_description` and \
                 `payment_fee_description`",
            );
        }

        // QUANTITY, UNIT
        if line.quantity <= Decimal::ZERO {
            self.error(
                "quantity",
                "oci.quantity_not_positive",
                format!("QUANTITY must be greater than 0, got {}", line.quantity),
            );
        } else {
            self.put_number("QUANTITY", line.quantity, "quantity", 11, 3);
        }
        let unit = if has_matnr {
            non_empty(&line.unit)
        } else {
            self.settings.unit_of(line, &self.path, self.d)
        };
        match unit {
            Some(unit) => {
                let oci_unit = self
                    .settings
                    .config
                    .units
                    .get(unit)
                    .map_or(unit, String::as_str);
                self.put("UNIT", oci_unit, "unit");
            }
            None if !has_matnr => self.error(
                "unit",
                "oci.unit_missing",
                "UNIT is required when there is no MATNR; the config's `default_unit` gives lines without a unit one",
            ),
            None => {}
        }

        // PRICE (net, per PRICEUNIT), CURRENCY, PRICEUNIT
        if let Some(price) = &line.unit_price {
            self.price(price, line.vat_rate);
        }
        self.put("CURRENCY", order.currency.code(), "currency");
        if let Some(basis) = line.price_basis_quantity {
            if basis <= Decimal::ZERO {
                self.error(
                    "price_basis_quantity",
                    "oci.quantity_not_positive",
                    format!("PRICEUNIT must be greater than 0, got {basis}"),
                );
            } else {
                self.put_number("PRICEUNIT", basis, "price_basis_quantity", 5, 0);
            }
        }
        if let Some(days) = line.lead_time_days {
            self.put("LEADTIME", &days.to_string(), "lead_time_days");
        }
        if let Some(text) = non_empty(&long_text) {
            self.pairs
                .push((long_text_name(self.index), text.to_owned()));
        }

        // Identifiers
        self.put_opt("VENDOR", &line.vendor, "vendor");
        self.put_identifier("VENDORMAT", mapping.vendormat, line);
        self.put_identifier("EXT_PRODUCT_ID", mapping.ext_product_id, line);
        if let Some(manufacturer) = &line.manufacturer {
            self.put_opt("MANUFACTCODE", &manufacturer.code, "manufacturer/code");
            self.put_opt(
                "MANUFACTMAT",
                &manufacturer.part_number,
                "manufacturer/part_number",
            );
            if manufacturer.name.is_some() {
                self.dropped("manufacturer/name", "the manufacturer's name");
            }
        }
        self.classifications(line);
        if mapping.service_line_kinds.contains(&line.kind) {
            self.put("SERVICE", "X", "kind");
        }
        self.document_ref("CONTRACT", "CONTRACT_ITEM", &line.contract, "contract");
        self.document_ref("EXT_QUOTE_ID", "EXT_QUOTE_ITEM", &line.quote, "quote");
        if let Some((first, more)) = line.attachments.split_first() {
            self.put("ATTACHMENT", &first.url, "attachments/0/url");
            self.put_opt("ATTACHMENT_TITLE", &first.title, "attachments/0/title");
            self.put_opt(
                "ATTACHMENT_PURPOSE",
                &first.purpose,
                "attachments/0/purpose",
            );
            if !more.is_empty() {
                self.dropped("attachments/1", "attachments after the first");
            }
        }
        if let (Some(rate), Some(field)) = (line.vat_rate, mapping.vat_rate_field) {
            let path = format!("{}/vat_rate", self.path);
            match format_decimal(&path, rate, 3, 6) {
                Ok(text) => self.put(field.name(), &text, "vat_rate"),
                Err(diagnostic) => self.d.push(own_code(diagnostic)),
            }
        }
        if let Some(parent) = line.parent_line {
            self.parent(parent, numbered);
        }
        self.extensions(line);

        if line.gtin.is_some() {
            self.dropped("gtin", "the GTIN");
        }
        if !line.options.is_empty() {
            self.dropped("options", "the variant options");
        }
        if line.requested_delivery_date.is_some() {
            self.dropped("requested_delivery_date", "the requested delivery date");
        }
        if line.comment.is_some() {
            self.dropped("comment", "the line comment");
        }
    }

    /// PRICE is net, per PRICEUNIT units. A gross-only price is converted when the VAT
    /// rate is known (rounded to the 3 decimals OCI allows, with a warning).
    fn price(&mut self, price: &Price, vat_rate: Option<Decimal>) {
        let net = match (price.net, price.net_with(vat_rate)) {
            (Some(net), _) => net,
            (None, Some(derived)) => {
                let rounded = derived.round_dp(3);
                if rounded != derived {
                    self.d.warning(
                        format!("{}/unit_price", self.path),
                        "oci.net_price_rounded",
                        format!(
                            "the net price derived from the gross price and VAT rate is {}; PRICE is sent as {rounded}",
                            derived.round_dp(8).normalize()
                        ),
                    );
                }
                rounded
            }
            (None, None) => {
                self.error(
                    "unit_price",
                    "oci.price_not_net",
                    "OCI prices are net: the line has a gross price and no VAT rate to take it off",
                );
                return;
            }
        };
        if net < Decimal::ZERO {
            self.error(
                "unit_price/net",
                "oci.price_negative",
                format!("PRICE cannot be negative, got {net}"),
            );
            return;
        }
        self.put_number("PRICE", net, "unit_price/net", 11, 3);
    }

    fn put_identifier(&mut self, field: &str, source: LineIdentifier, line: &OrderLine) {
        match source {
            LineIdentifier::Sku => self.put_opt(field, &line.sku, "sku"),
            LineIdentifier::ProductId => self.put_opt(field, &line.product_id, "product_id"),
            LineIdentifier::None => {}
        }
    }

    /// MATGROUP from the `MATGROUP` classification; EXT_SCHEMA_TYPE, EXT_CATEGORY_ID and
    /// EXT_CATEGORY from the first other one.
    fn classifications(&mut self, line: &OrderLine) {
        let mut external_sent = false;
        for (i, classification) in line.classifications.iter().enumerate() {
            if classification.domain == MATGROUP_DOMAIN {
                self.put(
                    "MATGROUP",
                    &classification.code,
                    &format!("classifications/{i}/code"),
                );
                continue;
            }
            if external_sent {
                self.dropped(
                    &format!("classifications/{i}"),
                    "classifications after the first (OCI has one category)",
                );
                continue;
            }
            external_sent = true;
            let at = format!("classifications/{i}");
            if classification.domain.is_empty() {
                self.error(
                    &format!("{at}/domain"),
                    "oci.schema_type_missing",
                    "EXT_CATEGORY_ID and EXT_CATEGORY need EXT_SCHEMA_TYPE, the classification's domain",
                );
            }
            self.put(
                "EXT_SCHEMA_TYPE",
                &classification.domain,
                &format!("{at}/domain"),
            );
            if !classification.code.is_empty() {
                self.put(
                    "EXT_CATEGORY_ID",
                    &classification.code,
                    &format!("{at}/code"),
                );
            }
            self.put_opt("EXT_CATEGORY", &classification.name, &format!("{at}/name"));
            if classification.version.is_some() {
                self.dropped(&format!("{at}/version"), "the classification's version");
            }
        }
    }

    /// A reference and its item: the item needs the reference (rules R5, R6).
    fn document_ref(
        &mut self,
        id_field: &str,
        item_field: &str,
        reference: &Option<DocumentRef>,
        at: &str,
    ) {
        let Some(reference) = reference else {
            return;
        };
        if reference.id.is_empty() && reference.item.is_some() {
            self.error(
                &format!("{at}/id"),
                "oci.reference_missing",
                format!("{item_field} needs {id_field}"),
            );
        }
        if !reference.id.is_empty() {
            self.put(id_field, &reference.id, &format!("{at}/id"));
        }
        self.put_opt(item_field, &reference.item, &format!("{at}/item"));
    }

    /// PARENT_ID is the OCI index of the parent line; `parent_line` names it by the parent's
    /// `line_number` when lines are numbered, by its 1-based position otherwise.
    fn parent(&mut self, parent: u32, numbered: &BTreeMap<u32, u32>) {
        if self.settings.config.oci_version == OciVersion::V4 {
            self.dropped("parent_line", "the parent line (PARENT_ID is OCI 5.0)");
            return;
        }
        let index = if numbered.is_empty() {
            Some(parent).filter(|p| (1..=self.line_count).contains(p))
        } else {
            numbered.get(&parent).copied()
        };
        match index {
            Some(index) if index != self.index => {
                self.put("PARENT_ID", &index.to_string(), "parent_line");
            }
            Some(_) => self.error(
                "parent_line",
                "oci.parent_unknown",
                "a line cannot be its own parent",
            ),
            None => self.error(
                "parent_line",
                "oci.parent_unknown",
                format!("no line of this cart is line {parent}"),
            ),
        }
    }

    /// Line extensions named `NEW_ITEM-<FIELD>` travel as that field; others belong to
    /// other protocols and are not sent.
    fn extensions(&mut self, line: &OrderLine) {
        let mapping = &self.settings.config.mapping;
        for (key, value) in &line.extensions {
            let Some(field) = key.get(..PREFIX.len()).and_then(|prefix| {
                prefix
                    .eq_ignore_ascii_case(PREFIX)
                    .then(|| &key[PREFIX.len()..])
            }) else {
                continue;
            };
            let at = format!("extensions/{}", pointer_token(key));
            let known = Field::from_name(field);
            let carried_by_extension = match known {
                None => true,
                Some(known) => {
                    // Unless the line has no rate: then the field carries the text read
                    // in its place.
                    let is_vat = mapping.vat_rate_field.map(CustField::field) == Some(known)
                        && line.vat_rate.is_some();
                    let is_identifier = (known == Field::VendorMat
                        && mapping.vendormat == LineIdentifier::None)
                        || (known == Field::ExtProductId
                            && mapping.ext_product_id == LineIdentifier::None);
                    let attachment_detail =
                        matches!(known, Field::AttachmentTitle | Field::AttachmentPurpose)
                            && line.attachments.is_empty();
                    (known.is_free() && !is_vat) || is_identifier || attachment_detail
                }
            };
            if !carried_by_extension {
                self.error(
                    &at,
                    "oci.extension_collides",
                    format!(
                        "{PREFIX}{} is written from the line's own fields, not from an extension",
                        field.to_ascii_uppercase()
                    ),
                );
                continue;
            }
            if !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || field.is_empty() {
                self.error(
                    &at,
                    "oci.malformed_field_name",
                    "an extension sent as a cart field is named NEW_ITEM-<FIELD>, with letters, digits and `_`",
                );
                continue;
            }
            if known == Some(Field::ItemType) && self.settings.config.oci_version == OciVersion::V4
            {
                self.dropped(&at, "ITEM_TYPE (OCI 5.0)");
                continue;
            }
            self.put(field, value, &at);
        }
    }

    /// Adds `NEW_ITEM-<field>[n]`, refusing a value longer than the field holds.
    fn put(&mut self, field: &str, value: &str, at: &str) {
        // A character is at least one byte: most values are within the limit without
        // counting, and their path is written out only for a diagnostic.
        if let Some(spec) = Field::from_name(field)
            .map(Field::spec)
            .filter(|spec| value.len() > spec.max_chars)
        {
            let mut found = Diagnostics::new();
            max_chars(
                &mut found,
                &format!("{}/{at}", self.path),
                value,
                spec.max_chars,
            );
            for diagnostic in found {
                let mut diagnostic = own_code(diagnostic);
                diagnostic.message = format!("{}{}: {}", PREFIX, spec.name, diagnostic.message);
                self.d.push(diagnostic);
            }
        }
        self.pairs
            .push((form_name(field, self.index), value.to_owned()));
    }

    fn put_opt(&mut self, field: &str, value: &Option<String>, at: &str) {
        if let Some(value) = non_empty(value) {
            self.put(field, value, at);
        }
    }

    fn put_number(&mut self, field: &str, value: Decimal, at: &str, int: u32, frac: u32) {
        match format_decimal("", value, int, frac) {
            Ok(text) => self.put(field, &text, at),
            Err(diagnostic) => {
                let mut diagnostic = own_code(diagnostic);
                diagnostic.path = format!("{}/{at}", self.path);
                diagnostic.message = format!("{PREFIX}{field}: {}", diagnostic.message);
                self.d.push(diagnostic);
            }
        }
    }

    fn error(&mut self, at: &str, code: &str, message: impl Into<String>) {
        self.d.error(format!("{}/{at}", self.path), code, message);
    }

    fn dropped(&mut self, at: &str, what: &str) {
        self.d.warning(
            format!("{}/{at}", self.path),
            "oci.field_dropped",
            format!("OCI has no field for {what}; it is not sent"),
        );
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

// ---------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------

/// One form field of one line, as received, borrowed from the form.
#[derive(Debug, Clone, Copy)]
struct Received<'a> {
    /// The form field's name as received, used as the diagnostic path.
    name: &'a str,
    value: &'a str,
}

/// A field name compared as its upper-case form, without building that form: the order
/// of a map keyed by the upper-cased names.
#[derive(Debug, Clone, Copy)]
struct Caseless<'a>(&'a str);

impl Ord for Caseless<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let mine = self.0.bytes().map(|byte| byte.to_ascii_uppercase());
        mine.cmp(other.0.bytes().map(|byte| byte.to_ascii_uppercase()))
    }
}

impl PartialOrd for Caseless<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Caseless<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Caseless<'_> {}

/// The fields of one line as received: the known ones by field, the others by name (as
/// written; matched in any case).
#[derive(Debug)]
struct ReceivedLine<'a> {
    index: u32,
    known: [Option<Received<'a>>; FIELDS.len()],
    others: BTreeMap<Caseless<'a>, Received<'a>>,
    long_text: Vec<&'a str>,
}

impl<'a> ReceivedLine<'a> {
    fn new(index: u32) -> Self {
        Self {
            index,
            known: [None; FIELDS.len()],
            others: BTreeMap::new(),
            long_text: Vec::new(),
        }
    }

    fn get(&self, field: Field) -> Option<&Received<'a>> {
        self.known[field as usize].as_ref()
    }

    /// Records a field; the copy received earlier when there is one.
    fn insert(&mut self, field: &'a str, received: Received<'a>) -> Option<Received<'a>> {
        let Some(known) = Field::from_name(field) else {
            return match self.others.entry(Caseless(field)) {
                Entry::Occupied(earlier) => Some(*earlier.get()),
                Entry::Vacant(slot) => {
                    slot.insert(received);
                    None
                }
            };
        };
        match &mut self.known[known as usize] {
            Some(earlier) => Some(*earlier),
            slot @ None => {
                *slot = Some(received);
                None
            }
        }
    }

    /// The field that comes first by upper-case name.
    fn first_field(&self) -> Option<&Received<'a>> {
        let known = Field::ALL
            .into_iter()
            .filter_map(|field| Some((Caseless(field.name()), self.get(field)?)));
        let others = self.others.iter().map(|(name, field)| (*name, field));
        known
            .chain(others)
            .min_by_key(|(name, _)| *name)
            .map(|(_, field)| field)
    }
}

/// The line of OCI index `index`, added when it is new.
fn line_at<'r, 'a>(
    lines: &'r mut BTreeMap<u32, ReceivedLine<'a>>,
    index: u32,
) -> &'r mut ReceivedLine<'a> {
    lines
        .entry(index)
        .or_insert_with(|| ReceivedLine::new(index))
}

/// Reads a cart from its form fields, in any order. `oci.form.<name>` extensions keep the
/// fields that are not cart lines. Problems are recorded in `d` at the form field names.
///
/// The pairs are only borrowed: a value is copied when the order keeps it, never to look
/// a field up.
pub fn decode_cart<'a>(
    settings: &Settings,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    d: &mut Diagnostics,
) -> Order {
    let mut order = Order::new(settings.config.default_currency);
    order.kind = OrderKind::Cart;
    // The lines by OCI index.
    let mut received: BTreeMap<u32, ReceivedLine<'a>> = BTreeMap::new();

    for (name, value) in pairs {
        match parse_item_name(name) {
            None => {
                let key = format!("{EXT_FORM_PREFIX}{name}");
                match order.extensions.get(&key) {
                    Some(earlier) if *earlier != value => d.warning(
                        name,
                        "oci.duplicate_field",
                        "the field is sent twice with different values; the first is kept",
                    ),
                    Some(_) => {}
                    None => {
                        order.extensions.insert(key, value.to_owned());
                    }
                }
            }
            Some(Err(diagnostic)) => d.push(diagnostic),
            Some(Ok(ItemName::LongText { index })) => {
                line_at(&mut received, index).long_text.push(value);
            }
            Some(Ok(ItemName::Field { field, index })) => {
                let line = line_at(&mut received, index);
                if let Some(earlier) = line.insert(field, Received { name, value })
                    && earlier.value != value
                {
                    d.error(
                        name,
                        "oci.duplicate_field",
                        format!("the field is sent twice, also as {}", earlier.name),
                    );
                }
            }
        }
    }

    let received: Vec<ReceivedLine<'a>> = received.into_values().collect();
    let Some(first) = received.first() else {
        if !d.has_errors() {
            d.error(
                "",
                "oci.empty_cart",
                "the form has no NEW_ITEM-<FIELD>[n] fields: there is no cart in it",
            );
        }
        return order;
    };
    if first.index == 0 {
        let name = first
            .first_field()
            .map_or_else(|| long_text_name(0), |field| field.name.to_owned());
        d.warning(
            name,
            "oci.index_zero",
            "OCI numbers lines from 1; SAP drops or refuses line 0. It is read as the first line",
        );
    }

    order.lines.reserve_exact(received.len());
    let mut currencies: Vec<(Currency, &str)> = Vec::new();
    let mut lines_without_currency = Vec::new();
    for line in &received {
        let reader = LineReader {
            settings,
            index: line.index,
            line,
            lines: &received,
        };
        let (decoded, currency) = reader.read(d);
        match currency {
            Some(found) => currencies.push(found),
            None if decoded.unit_price.is_some() => {
                lines_without_currency.push(form_name(Field::Currency.name(), line.index));
            }
            None => {}
        }
        order.lines.push(decoded);
    }

    if let Some((currency, _)) = currencies.first() {
        order.currency = *currency;
        for (other, path) in &currencies[1..] {
            if other != currency {
                d.error(
                    *path,
                    "oci.mixed_currencies",
                    format!(
                        "the cart is in {currency}, this line in {other}: one order has one currency"
                    ),
                );
            }
        }
    }
    for path in lines_without_currency {
        d.warning(
            path,
            "oci.currency_missing",
            format!(
                "a PRICE needs a CURRENCY; the cart's currency {} is assumed",
                order.currency
            ),
        );
    }
    order
}

/// Undoes what encoding (and catalogs like it) do with a long description: a DESCRIPTION
/// of exactly 40 characters whose LONGTEXT's first line starts with it and goes on was cut
/// from that first line, so the line is the description and the rest the long text.
fn restore_cut_description(line: &mut OrderLine) {
    let (Some(description), Some(long_text)) = (&line.description, &line.long_text) else {
        return;
    };
    if description.chars().count() != DESCRIPTION_CHARS {
        return;
    }
    let Some(after_cut) = long_text.strip_prefix(description.as_str()) else {
        return;
    };
    let (rest_of_line, remaining) = match after_cut.split_once('\n') {
        Some((rest, remaining)) => (rest, Some(remaining)),
        None => (after_cut, None),
    };
    if rest_of_line.is_empty() {
        return;
    }
    let full = format!("{description}{rest_of_line}");
    line.long_text = remaining.filter(|text| !text.is_empty()).map(str::to_owned);
    line.description = Some(full);
}

/// The VAT rate in the customer field that carries it by convention: a percentage, with
/// or without `%`, with `.` or `,` as the decimal point (`21`, `21 %`, `21,00`, `5.5%`).
/// The field is free text, so anything else is no reason to refuse the cart: the rate is
/// unknown, with a warning, and the text stays on the line as the field's extension.
fn vat_percentage(field: &Received<'_>, d: &mut Diagnostics) -> Option<Decimal> {
    let text = field.value.trim();
    let number = text.strip_suffix('%').unwrap_or(text);
    match parse_decimal_lenient(field.name, number) {
        Ok(rate) if (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&rate) => {
            Some(rate.normalize())
        }
        _ => {
            d.warning(
                field.name,
                "oci.vat_rate_unreadable",
                format!(
                    "{:?} is not a VAT percentage (such as 21, 21 % or 21,00): the rate is unknown, and the text is kept on the line",
                    crate::url::shorten(field.value)
                ),
            );
            None
        }
    }
}

struct LineReader<'a> {
    settings: &'a Settings,
    index: u32,
    line: &'a ReceivedLine<'a>,
    /// Every line, in index order: a line's 1-based position is its place here plus one.
    lines: &'a [ReceivedLine<'a>],
}

impl<'a> LineReader<'a> {
    fn read(&self, d: &mut Diagnostics) -> (OrderLine, Option<(Currency, &'a str)>) {
        let mapping = &self.settings.config.mapping;
        let mut line = OrderLine::default();
        self.check_lengths(d);

        line.description = self.text(Field::Description);
        line.buyer_part_id = self.text(Field::Matnr);
        if line.description.is_none() && line.buyer_part_id.is_none() {
            d.error(
                self.path(Field::Description),
                "oci.description_missing",
                "a cart line needs a DESCRIPTION or a MATNR",
            );
        }

        match self.value(Field::Quantity) {
            None => d.error(
                self.path(Field::Quantity),
                "oci.quantity_missing",
                "every cart line needs a QUANTITY",
            ),
            Some(field) => {
                if let Some(quantity) = self.decimal(field, d) {
                    if quantity <= Decimal::ZERO {
                        d.error(
                            field.name,
                            "oci.quantity_not_positive",
                            format!(
                                "the quantity must be greater than 0, got {}",
                                field.value.trim()
                            ),
                        );
                    }
                    line.quantity = quantity;
                }
            }
        }
        line.unit = self.value(Field::Unit).map(|unit| {
            self.settings
                .units_back
                .get(unit.value)
                .map_or_else(|| unit.value.to_owned(), Clone::clone)
        });
        if line.unit.is_none() && line.buyer_part_id.is_none() {
            d.warning(
                self.path(Field::Unit),
                "oci.unit_missing",
                "OCI wants a UNIT on a line without MATNR",
            );
        }

        if let Some(field) = self.value(Field::Price)
            && let Some(price) = self.decimal(field, d)
        {
            if price < Decimal::ZERO {
                d.error(field.name, "oci.price_negative", "PRICE cannot be negative");
            }
            line.unit_price = Some(Price::net(price));
        }
        let currency = self.value(Field::Currency).and_then(|field| {
            match Currency::from_code(field.value.trim()) {
                Ok(currency) => Some((currency, field.name)),
                Err(error) => {
                    d.error(field.name, "oci.unknown_currency", error.to_string());
                    None
                }
            }
        });
        if let Some(field) = self.value(Field::PriceUnit)
            && let Some(basis) = self.decimal(field, d)
        {
            if basis <= Decimal::ZERO {
                d.error(
                    field.name,
                    "oci.quantity_not_positive",
                    "PRICEUNIT must be greater than 0",
                );
            } else if !basis.fract().is_zero() {
                d.warning(
                    field.name,
                    "oci.priceunit_not_whole",
                    "PRICEUNIT is a whole number of units in OCI",
                );
            }
            line.price_basis_quantity = Some(basis);
        }
        if let Some(field) = self.value(Field::LeadTime) {
            match parse_whole_number(field.name, field.value)
                .map_err(own_code)
                .and_then(|days| {
                    u32::try_from(days).map_err(|_| {
                        Diagnostic::error(
                            field.name,
                            "oci.number_too_large",
                            "LEADTIME is too large",
                        )
                    })
                }) {
                Ok(days) => line.lead_time_days = Some(days),
                Err(diagnostic) => d.push(diagnostic),
            }
        }
        let long_text = self.line.long_text.join("\n");
        line.long_text = Some(long_text).filter(|text| !text.is_empty());
        restore_cut_description(&mut line);

        line.vendor = self.text(Field::Vendor);
        self.identifier(Field::VendorMat, mapping.vendormat, &mut line);
        self.identifier(Field::ExtProductId, mapping.ext_product_id, &mut line);
        let manufacturer = Manufacturer {
            code: self.text(Field::ManufactCode),
            name: None,
            part_number: self.text(Field::ManufactMat),
        };
        if manufacturer != Manufacturer::default() {
            line.manufacturer = Some(manufacturer);
        }

        if let Some(code) = self.text(Field::MatGroup) {
            line.classifications.push(Classification {
                domain: MATGROUP_DOMAIN.into(),
                code,
                ..Classification::default()
            });
        }
        let category_id = self.text(Field::ExtCategoryId);
        let category = self.text(Field::ExtCategory);
        match self.text(Field::ExtSchemaType) {
            Some(domain) => line.classifications.push(Classification {
                domain,
                code: category_id.unwrap_or_default(),
                name: category,
                version: None,
            }),
            None if category_id.is_some() || category.is_some() => d.error(
                self.path(Field::ExtSchemaType),
                "oci.schema_type_missing",
                "EXT_CATEGORY_ID and EXT_CATEGORY need EXT_SCHEMA_TYPE",
            ),
            None => {}
        }

        if let Some(field) = self.value(Field::Service)
            && !field.value.trim().is_empty()
        {
            if !field.value.trim().eq_ignore_ascii_case("X") {
                d.warning(
                    field.name,
                    "oci.service_flag_unknown",
                    "SERVICE is `X` for a service line or blank; any other value is read as `X`",
                );
            }
            line.kind = mapping.service_decodes_as;
        }
        line.contract = self.document_ref(Field::Contract, Field::ContractItem, d);
        line.quote = self.document_ref(Field::ExtQuoteId, Field::ExtQuoteItem, d);
        if let Some(url) = self.text(Field::Attachment) {
            line.attachments.push(Attachment {
                url,
                title: self.text(Field::AttachmentTitle),
                purpose: self.text(Field::AttachmentPurpose),
            });
        }
        if let Some(vat_field) = self.vat_rate_field()
            && let Some(field) = self.value(vat_field)
        {
            line.vat_rate = vat_percentage(field, d);
        }
        if let Some(field) = self.value(Field::ParentId) {
            match parse_whole_number(field.name, field.value).map_err(own_code) {
                Err(diagnostic) => d.push(diagnostic),
                Ok(parent) => {
                    let position = u32::try_from(parent).ok().and_then(|parent| {
                        let place = self
                            .lines
                            .binary_search_by_key(&parent, |line| line.index)
                            .ok()?;
                        u32::try_from(place + 1).ok()
                    });
                    match position {
                        Some(position) if parent != u64::from(self.index) => {
                            line.parent_line = Some(position);
                        }
                        _ => d.error(
                            field.name,
                            "oci.parent_unknown",
                            format!(
                                "PARENT_ID {parent} is not the index of another line of the cart"
                            ),
                        ),
                    }
                }
            }
        }
        self.keep_the_rest(&mut line);
        (line, currency)
    }

    /// The field the config reads the VAT rate from, if any.
    fn vat_rate_field(&self) -> Option<Field> {
        Some(self.settings.config.mapping.vat_rate_field?.field())
    }

    /// Values longer than the field holds are accepted (SAP cuts them), with a warning.
    fn check_lengths(&self, d: &mut Diagnostics) {
        for field in Field::by_name() {
            let Some(received) = self.line.get(field) else {
                continue;
            };
            let mut found = Diagnostics::new();
            max_chars(
                &mut found,
                received.name,
                received.value,
                field.spec().max_chars,
            );
            for diagnostic in found {
                let diagnostic = own_code(diagnostic);
                d.warning(diagnostic.path, diagnostic.code, diagnostic.message);
            }
        }
    }

    fn identifier(&self, field: Field, target: LineIdentifier, line: &mut OrderLine) {
        match target {
            LineIdentifier::Sku => line.sku = self.text(field),
            LineIdentifier::ProductId => line.product_id = self.text(field),
            // Kept with the other unmapped fields.
            LineIdentifier::None => {}
        }
    }

    fn document_ref(
        &self,
        id_field: Field,
        item_field: Field,
        d: &mut Diagnostics,
    ) -> Option<DocumentRef> {
        let item = self.text(item_field);
        match self.text(id_field) {
            Some(id) => Some(DocumentRef { id, item }),
            None if item.is_some() => {
                d.error(
                    self.path(id_field),
                    "oci.reference_missing",
                    format!("{} is sent without {}", item_field.name(), id_field.name()),
                );
                None
            }
            None => None,
        }
    }

    /// Fields the model has no place for stay on the line as `NEW_ITEM-<FIELD>` extensions.
    fn keep_the_rest(&self, line: &mut OrderLine) {
        let mapping = &self.settings.config.mapping;
        let vat_rate_field = self.vat_rate_field();
        let has_attachment = self.value(Field::Attachment).is_some();
        for field in Field::ALL {
            let Some(received) = self.line.get(field) else {
                continue;
            };
            let mapped = !field.is_free();
            // A VAT field whose text is no rate stays on the line.
            let is_vat = vat_rate_field == Some(field) && line.vat_rate.is_some();
            let unmapped_identifier = (field == Field::VendorMat
                && mapping.vendormat == LineIdentifier::None)
                || (field == Field::ExtProductId && mapping.ext_product_id == LineIdentifier::None);
            let attachment_detail =
                matches!(field, Field::AttachmentTitle | Field::AttachmentPurpose)
                    && !has_attachment;
            if ((mapped || is_vat) && !unmapped_identifier && !attachment_detail)
                || received.value.is_empty()
            {
                continue;
            }
            line.extensions.insert(
                format!("{PREFIX}{}", field.name()),
                received.value.to_owned(),
            );
        }
        // Unknown fields keep their name as written.
        for (field, received) in &self.line.others {
            if !received.value.is_empty() {
                line.extensions
                    .insert(format!("{PREFIX}{}", field.0), received.value.to_owned());
            }
        }
    }

    /// A field with a non-blank value.
    fn value(&self, field: Field) -> Option<&'a Received<'a>> {
        self.line
            .get(field)
            .filter(|received| !received.value.trim().is_empty())
    }

    /// A text field's value; blank means absent (R13: blank optional fields are common).
    fn text(&self, field: Field) -> Option<String> {
        self.value(field).map(|received| received.value.to_owned())
    }

    /// A number: `.` as the decimal point, no thousands separators; leading zeros are
    /// fine (`00000001730.900`). Normalised, so `1.0` and `1` read the same.
    fn decimal(&self, field: &Received<'_>, d: &mut Diagnostics) -> Option<Decimal> {
        match parse_decimal(field.name, field.value) {
            Ok(value) => Some(value.normalize()),
            Err(diagnostic) => {
                let mut diagnostic = own_code(diagnostic);
                diagnostic.message = format!(
                    "{} (OCI numbers use `.` as the decimal point and no thousands separator)",
                    diagnostic.message
                );
                d.push(diagnostic);
                None
            }
        }
    }

    /// The form name of `field` on this line, for a field that is missing.
    fn path(&self, field: Field) -> String {
        self.line.get(field).map_or_else(
            || form_name(field.name(), self.index),
            |received| received.name.to_owned(),
        )
    }
}
