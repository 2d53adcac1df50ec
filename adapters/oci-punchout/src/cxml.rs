//! The cXML order that follows a punchout (`OrderRequest`), and the supplier's answer
//! (`Response`), against the cXML 1.2.063 DTD.
//!
//! What is written is valid against that DTD: elements in the order it fixes, required
//! attributes and children always present (or the document refused), a DOCTYPE naming
//! the DTD. What is read goes through the SDK's bounded XML parser (no DTD is loaded, no
//! entity expanded).

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use tradewire_sdk::check::parse_decimal;
use tradewire_sdk::core::{
    AckStatus, Acknowledgement, Address, Classification, Country, Currency, Decimal, LineKind,
    Manufacturer, Order, OrderKind, OrderLine, Price, Totals, pointer_token,
};
use tradewire_sdk::xml::{self, Element, XmlLimits, XmlWriter};
use tradewire_sdk::{Diagnostic, Diagnostics, Outcome};

use crate::config::{CredentialConfig, Settings, is_lang_char};
use crate::fields::own_code;

/// The cXML version written, and the DTD it is valid against.
pub const CXML_VERSION: &str = "1.2.063";
const DOCTYPE: &str =
    "<!DOCTYPE cXML SYSTEM \"http://xml.cxml.org/schemas/cXML/1.2.063/cXML.dtd\">";

/// Order extension keys for what the model has no place for.
pub mod ext {
    pub const PAYLOAD_ID: &str = "cxml.payloadID";
    pub const TIMESTAMP: &str = "cxml.timestamp";
    pub const DEPLOYMENT_MODE: &str = "cxml.deploymentMode";
    pub const USER_AGENT: &str = "cxml.UserAgent";
    pub const ORDER_TYPE: &str = "cxml.OrderRequestHeader.type";
    pub const TAX_DESCRIPTION: &str = "cxml.Tax.Description";
    /// What `Total` counts: `items` (cXML's definition) or `items_shipping_tax`.
    pub const TOTAL_CONVENTION: &str = "cxml.Total.convention";
    pub const COMMENT_ATTACHMENTS: &str = "cxml.Comments.Attachment";
    /// `cxml.Extrinsic.<name>` on the order and its lines.
    pub const EXTRINSIC_PREFIX: &str = "cxml.Extrinsic.";
    /// Address extension: the `DeliverTo` lines after the first (that one is `contact`).
    pub const DELIVER_TO: &str = "cxml.DeliverTo";
    /// Address extension: `Address/@addressID`.
    pub const ADDRESS_ID: &str = "cxml.addressID";
    /// Line extension: `ItemDetail/URL`.
    pub const ITEM_URL: &str = "cxml.URL";
}

/// The three parties of the header, with the extension prefix of their credentials
/// (`cxml.From.NetworkId` = identity).
const PARTIES: [&str; 3] = ["From", "To", "Sender"];

// ---------------------------------------------------------------------------------------
// Reading helpers
// ---------------------------------------------------------------------------------------

fn child_path(parent: &str, name: &str, position: Option<usize>) -> String {
    match position {
        Some(position) => format!("{parent}/{name}[{position}]"),
        None => format!("{parent}/{name}"),
    }
}

fn required_child<'a>(
    element: &'a Element<'a>,
    path: &str,
    name: &str,
    d: &mut Diagnostics,
) -> Option<&'a Element<'a>> {
    let found = element.child(name);
    if found.is_none() {
        d.error(
            child_path(path, name, None),
            "oci.cxml.element_missing",
            format!("<{}> needs a <{name}>", element.name),
        );
    }
    found
}

fn required_attribute<'a>(
    element: &'a Element<'a>,
    path: &str,
    name: &str,
    d: &mut Diagnostics,
) -> Option<&'a str> {
    let found = element.attribute(name);
    if found.is_none() {
        d.error(
            format!("{path}/@{name}"),
            "oci.cxml.attribute_missing",
            format!("<{}> needs the attribute {name}", element.name),
        );
    }
    found
}

fn non_empty_text(element: Option<&Element<'_>>) -> Option<String> {
    element
        .map(Element::text_trimmed)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

fn decimal_at(path: &str, text: &str, d: &mut Diagnostics) -> Option<Decimal> {
    match parse_decimal(path, text) {
        Ok(value) => Some(value),
        Err(diagnostic) => {
            d.push(own_code(diagnostic));
            None
        }
    }
}

/// A `<Money currency="EUR">85.00</Money>`, in the order's currency.
fn money(
    parent: &Element<'_>,
    parent_path: &str,
    currency: Option<Currency>,
    d: &mut Diagnostics,
) -> Option<(Decimal, Currency)> {
    let element = required_child(parent, parent_path, "Money", d)?;
    let path = child_path(parent_path, "Money", None);
    let code = required_attribute(element, &path, "currency", d)?;
    let found = match Currency::from_code(code) {
        Ok(found) => found,
        Err(error) => {
            d.error(
                format!("{path}/@currency"),
                "oci.cxml.unknown_currency",
                error.to_string(),
            );
            return None;
        }
    };
    if let Some(expected) = currency
        && expected != found
    {
        d.error(
            format!("{path}/@currency"),
            "oci.cxml.currency_mismatch",
            format!(
                "the order is in {expected}, this amount in {found}: one order has one currency"
            ),
        );
    }
    let amount = decimal_at(&path, element.text_trimmed(), d)?;
    Some((amount, found))
}

fn datetime_at(path: &str, text: &str, d: &mut Diagnostics) -> Option<DateTime<FixedOffset>> {
    match DateTime::parse_from_rfc3339(text.trim()) {
        Ok(value) => Some(value),
        Err(_) => {
            d.error(
                path,
                "oci.cxml.invalid_date",
                format!(
                    "{:?} is not an ISO 8601 date and time with a time zone (2000-10-12T18:41:29-08:00)",
                    crate::url::shorten(text)
                ),
            );
            None
        }
    }
}

/// A cXML `%date`: a date, or a date and time of which the date is kept.
fn date_at(path: &str, text: &str, d: &mut Diagnostics) -> Option<NaiveDate> {
    let day = text.trim().get(..10).unwrap_or(text);
    match NaiveDate::parse_from_str(day, "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            d.error(
                path,
                "oci.cxml.invalid_date",
                format!("{:?} is not an ISO 8601 date", crate::url::shorten(text)),
            );
            None
        }
    }
}

fn whole_at(path: &str, text: &str, d: &mut Diagnostics) -> Option<u32> {
    match tradewire_sdk::check::parse_whole_number(path, text) {
        Ok(value) => match u32::try_from(value) {
            Ok(value) => Some(value),
            Err(_) => {
                d.error(
                    path,
                    "oci.number_too_large",
                    format!("{value} is too large"),
                );
                None
            }
        },
        Err(diagnostic) => {
            d.push(own_code(diagnostic));
            None
        }
    }
}

fn parse_document<'a>(input: &'a [u8], d: &mut Diagnostics) -> Option<Element<'a>> {
    match xml::parse(input, &XmlLimits::default()) {
        Ok(root) if root.name == "cXML" => Some(root),
        Ok(root) => {
            d.error(
                format!("/{}", root.name),
                "oci.cxml.not_cxml",
                format!("the document's root is <{}>, not <cXML>", root.name),
            );
            None
        }
        Err(found) => {
            d.extend(found);
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// OrderRequest → Order
// ---------------------------------------------------------------------------------------

/// Reads a cXML `OrderRequest`.
pub fn decode_order_request(settings: &Settings, input: &[u8]) -> Outcome<Order> {
    let mut d = Diagnostics::new();
    let Some(root) = parse_document(input, &mut d) else {
        return Err(d);
    };
    let order = read_order_request(settings, &root, &mut d);
    match order {
        Some(order) => d.finish(order),
        None => Err(d),
    }
}

fn read_order_request(
    settings: &Settings,
    root: &Element<'_>,
    d: &mut Diagnostics,
) -> Option<Order> {
    let header = required_child(root, "/cXML", "Header", d);
    let request = required_child(root, "/cXML", "Request", d)?;
    let Some(order_request) = request.child("OrderRequest") else {
        let what = request.children.first().map_or("nothing", |c| &*c.name);
        d.error(
            "/cXML/Request/OrderRequest",
            "oci.cxml.element_missing",
            format!("the request is not an <OrderRequest> but {what}"),
        );
        return None;
    };
    let base = "/cXML/Request/OrderRequest";
    let header_path = "/cXML/Request/OrderRequest/OrderRequestHeader";
    let order_header = required_child(order_request, base, "OrderRequestHeader", d)?;

    let total_path = child_path(header_path, "Total", None);
    let total = required_child(order_header, header_path, "Total", d)
        .and_then(|total| money(total, &total_path, None, d));
    let currency = total.map_or(settings.config.default_currency, |(_, currency)| currency);
    let mut order = Order::new(currency);
    order.kind = OrderKind::Order;

    for (key, attribute) in [
        (ext::PAYLOAD_ID, "payloadID"),
        (ext::TIMESTAMP, "timestamp"),
    ] {
        if let Some(value) = required_attribute(root, "/cXML", attribute, d) {
            order.extensions.insert(key.into(), value.to_owned());
        }
    }
    order.language = root.attribute("xml:lang").map(str::to_owned);
    if let Some(mode) = request.attribute("deploymentMode") {
        order
            .extensions
            .insert(ext::DEPLOYMENT_MODE.into(), mode.to_owned());
    }
    if let Some(header) = header {
        read_header(settings, header, &mut order, d);
    }

    if let Some(id) = required_attribute(order_header, header_path, "orderID", d) {
        order.id = Some(id.to_owned());
        order.purchase_order = Some(id.to_owned());
    }
    if let Some(date) = required_attribute(order_header, header_path, "orderDate", d) {
        order.created_at = datetime_at(&format!("{header_path}/@orderDate"), date, d);
    }
    if let Some(kind) = order_header.attribute("type") {
        order
            .extensions
            .insert(ext::ORDER_TYPE.into(), kind.to_owned());
    }

    let mut shipping: Option<OrderLine> = None;
    let mut tax = None;
    for child in &order_header.children {
        let path = child_path(header_path, &child.name, None);
        match &*child.name {
            "Total" => {}
            "ShipTo" | "BillTo" => {
                let Some(address) = required_child(child, &path, "Address", d) else {
                    continue;
                };
                let read = read_address(address, &child_path(&path, "Address", None), d);
                if child.name == "ShipTo" {
                    order.delivery_address = Some(read);
                } else {
                    order.billing_address = Some(read);
                }
            }
            "Shipping" => {
                if let Some((amount, _)) = money(child, &path, Some(currency), d) {
                    shipping = Some(OrderLine {
                        kind: LineKind::Shipping,
                        quantity: Decimal::ONE,
                        unit_price: Some(Price::net(amount)),
                        description: non_empty_text(child.child("Description")),
                        ..OrderLine::default()
                    });
                }
            }
            "Tax" => {
                tax = money(child, &path, Some(currency), d).map(|(amount, _)| amount);
                if let Some(text) = non_empty_text(child.child("Description")) {
                    order.extensions.insert(ext::TAX_DESCRIPTION.into(), text);
                }
            }
            "Comments" => {
                let text = child.text_trimmed();
                if !text.is_empty() {
                    order.comment = Some(match order.comment.take() {
                        Some(earlier) => format!("{earlier}\n{text}"),
                        None => text.to_owned(),
                    });
                }
                let urls: Vec<&str> = child
                    .children_named("Attachment")
                    .filter_map(|attachment| attachment.child_text("URL"))
                    .collect();
                if !urls.is_empty() {
                    let joined = urls.join("\n");
                    order
                        .extensions
                        .entry(ext::COMMENT_ATTACHMENTS.into())
                        .and_modify(|earlier| {
                            earlier.push('\n');
                            earlier.push_str(&joined);
                        })
                        .or_insert(joined);
                }
            }
            "Extrinsic" => read_extrinsic(child, &path, &mut order.extensions, d),
            other => d.warning(
                path,
                "oci.cxml.element_ignored",
                format!("<{other}> has no place in the canonical order and is not kept"),
            ),
        }
    }

    let mut position = 0;
    for item in order_request.children_named("ItemOut") {
        position += 1;
        let path = child_path(base, "ItemOut", Some(position));
        if let Some(line) = read_item(item, &path, currency, d) {
            order.lines.push(line);
        }
    }
    if position == 0 {
        d.error(
            child_path(base, "ItemOut", None),
            "oci.cxml.element_missing",
            "an OrderRequest has at least one ItemOut",
        );
    }

    let shipping_amount = shipping
        .as_ref()
        .and_then(|line| line.unit_price?.net)
        .unwrap_or(Decimal::ZERO);
    order.lines.extend(shipping);
    if let Some((total, _)) = total {
        let amounts = StatedAmounts {
            total,
            shipping: shipping_amount,
            tax: tax.unwrap_or(Decimal::ZERO),
        };
        if let Some((convention, totals)) = amounts.read(&order, &total_path, d) {
            order.totals = Some(Totals { tax, ..totals });
            order
                .extensions
                .insert(ext::TOTAL_CONVENTION.into(), convention.name().into());
        }
    }
    Some(order)
}

/// What a buyer's system means by cXML's `Total`. cXML defines it as the items before
/// tax and shipping, but systems in use send the grand total as often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TotalConvention {
    /// The items alone (cXML's definition).
    Items,
    /// The items, shipping and tax: what the buyer pays.
    ItemsShippingTax,
}

impl TotalConvention {
    /// Its name in the order's `cxml.Total.convention` extension.
    fn name(self) -> &'static str {
        match self {
            Self::Items => "items",
            Self::ItemsShippingTax => "items_shipping_tax",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Items, Self::ItemsShippingTax]
            .into_iter()
            .find(|convention| convention.name() == name)
    }
}

/// The amounts an `OrderRequestHeader` states (absent ones zero).
struct StatedAmounts {
    total: Decimal,
    shipping: Decimal,
    tax: Decimal,
}

impl StatedAmounts {
    /// Which convention `Total` follows, checked against the items of `order` within its
    /// rounding tolerance, and the canonical totals it gives (`tax` left to the caller).
    /// A Total that fits neither is refused with the sums it was compared with.
    fn read(
        &self,
        order: &Order,
        total_path: &str,
        d: &mut Diagnostics,
    ) -> Option<(TotalConvention, Totals)> {
        let items = order
            .lines
            .iter()
            .filter(|line| line.kind != LineKind::Shipping)
            .try_fold(Decimal::ZERO, |sum, line| {
                sum.checked_add(line.signed_net_total()?)
            });
        // Built only for a diagnostic.
        let money_path = || format!("{total_path}/Money");
        let Some(items) = items else {
            // A line without its price is refused already; otherwise they overflowed.
            if !d.has_errors() {
                too_large(d, &money_path());
            }
            return None;
        };
        let Some(grand) = items
            .checked_add(self.shipping)
            .and_then(|sum| sum.checked_add(self.tax))
        else {
            too_large(d, &money_path());
            return None;
        };
        let tolerance = order.rounding_tolerance();
        let fits = |expected: Decimal| {
            self.total
                .checked_sub(expected)
                .is_some_and(|gap| gap.abs() <= tolerance)
        };
        let (convention, net, gross) = if fits(items) {
            let net = self.total.checked_add(self.shipping);
            (
                TotalConvention::Items,
                net,
                net.and_then(|net| net.checked_add(self.tax)),
            )
        } else if fits(grand) {
            (
                TotalConvention::ItemsShippingTax,
                self.total.checked_sub(self.tax),
                Some(self.total),
            )
        } else {
            let currency = order.currency;
            // Shown to the minor unit, as amounts are written: `85.00`, not `85.0000`.
            let shown = |amount: Decimal| {
                let mut rounded = currency.round(amount);
                rounded.rescale(u32::from(currency.exponent().unwrap_or(2)));
                rounded
            };
            d.error(
                money_path(),
                "oci.cxml.total_mismatch",
                format!(
                    "the Total {} {currency} is neither the items' sum, {} {currency} (cXML's \
                     Total), nor the items with shipping {} and tax {}, {} {currency} (what \
                     the buyer pays), within {tolerance}",
                    self.total,
                    shown(items),
                    shown(self.shipping),
                    shown(self.tax),
                    shown(grand)
                ),
            );
            return None;
        };
        let (Some(net), Some(gross)) = (net, gross) else {
            too_large(d, &money_path());
            return None;
        };
        Some((
            convention,
            Totals {
                gross,
                net: Some(net),
                tax: None,
            },
        ))
    }
}

fn read_header(settings: &Settings, header: &Element<'_>, order: &mut Order, d: &mut Diagnostics) {
    let mut secret_seen = false;
    for party in PARTIES {
        let path = format!("/cXML/Header/{party}");
        let Some(element) = required_child(header, "/cXML/Header", party, d) else {
            continue;
        };
        for (i, credential) in element.children_named("Credential").enumerate() {
            let credential_path = format!("{path}/Credential[{}]", i + 1);
            let domain = credential.attribute("domain").unwrap_or_default();
            let key = format!("cxml.{party}.{domain}");
            let identity = credential.child_text("Identity").unwrap_or_default();
            match order.extensions.entry(key) {
                std::collections::btree_map::Entry::Occupied(_) => d.warning(
                    &credential_path,
                    "oci.cxml.duplicate_credential",
                    format!("a second {party} credential in domain {domain:?} is not kept"),
                ),
                std::collections::btree_map::Entry::Vacant(entry) => {
                    entry.insert(identity.to_owned());
                }
            }
            if party == "Sender"
                && let Some(secret) = credential.child("SharedSecret")
            {
                secret_seen = true;
                check_secret(settings, secret.text_trimmed(), &credential_path, d);
            }
        }
        if party == "Sender"
            && let Some(agent) = element.child_text("UserAgent")
        {
            order
                .extensions
                .insert(ext::USER_AGENT.into(), agent.to_owned());
        }
    }
    if !secret_seen && settings.config.cxml.shared_secret.is_some() {
        d.error(
            "/cXML/Header/Sender/Credential/SharedSecret",
            "oci.cxml.authentication_failed",
            "the sender did not authenticate: a shared secret is configured and none was sent",
        );
    }
}

/// Compares the sent secret with the configured one, in time that does not depend on
/// where they differ (`Secret::matches`). Neither value ever appears in a message.
fn check_secret(settings: &Settings, sent: &str, path: &str, d: &mut Diagnostics) {
    let path = format!("{path}/SharedSecret");
    match &settings.config.cxml.shared_secret {
        None => d.warning(
            path,
            "oci.cxml.shared_secret_unchecked",
            "the sender's shared secret is not checked: no shared_secret is configured",
        ),
        Some(expected) => {
            if !expected.matches(sent) {
                d.error(
                    path,
                    "oci.cxml.authentication_failed",
                    "the sender's shared secret is not the configured one",
                );
            }
        }
    }
}

fn read_extrinsic(
    element: &Element<'_>,
    path: &str,
    extensions: &mut std::collections::BTreeMap<String, String>,
    d: &mut Diagnostics,
) {
    let Some(name) = required_attribute(element, path, "name", d) else {
        return;
    };
    if !element.children.is_empty() {
        d.warning(
            path,
            "oci.cxml.element_ignored",
            "only the text of an Extrinsic is kept, not its elements",
        );
    }
    extensions.insert(
        format!("{}{name}", ext::EXTRINSIC_PREFIX),
        element.text_trimmed().to_owned(),
    );
}

fn read_address(element: &Element<'_>, path: &str, d: &mut Diagnostics) -> Address {
    let mut address = Address {
        company: non_empty_text(element.child("Name")),
        email: non_empty_text(element.child("Email")),
        ..Address::default()
    };
    if let Some(id) = element.attribute("addressID") {
        address
            .extensions
            .insert(ext::ADDRESS_ID.into(), id.to_owned());
    }
    if let Some(postal) = element.child("PostalAddress") {
        let postal_path = format!("{path}/PostalAddress");
        address.label = postal.attribute("name").map(str::to_owned);
        let mut deliver_to = postal
            .children_named("DeliverTo")
            .map(|e| e.text_trimmed().to_owned());
        address.contact = deliver_to.next();
        let more: Vec<String> = deliver_to.collect();
        if !more.is_empty() {
            address
                .extensions
                .insert(ext::DELIVER_TO.into(), more.join("\n"));
        }
        let mut streets = postal
            .children_named("Street")
            .map(|e| e.text_trimmed().to_owned());
        address.street = streets.next();
        address.extra_lines = streets.collect();
        address.city = non_empty_text(postal.child("City"));
        address.region = non_empty_text(postal.child("State"));
        address.postal_code = non_empty_text(postal.child("PostalCode"));
        if let Some(country) = postal.child("Country") {
            let code = country.attribute("isoCountryCode").unwrap_or_default();
            match Country::from_alpha2(code)
                .or_else(|_| Country::parse_lenient(country.text_trimmed()))
            {
                Ok(found) => address.country = Some(found),
                Err(_) => d.error(
                    format!("{postal_path}/Country/@isoCountryCode"),
                    "oci.cxml.unknown_country",
                    format!("{code:?} is not an ISO 3166 country code"),
                ),
            }
        }
    }
    if let Some(number) = element
        .child("Phone")
        .and_then(|p| p.child("TelephoneNumber"))
    {
        let parts: Vec<&str> = ["CountryCode", "AreaOrCityCode", "Number"]
            .iter()
            .filter_map(|name| number.child_text(name))
            .filter(|text| !text.is_empty())
            .collect();
        if !parts.is_empty() {
            let phone = parts.join(" ");
            address.phone = Some(
                if number
                    .child_text("CountryCode")
                    .is_some_and(|c| !c.is_empty())
                {
                    format!("+{phone}")
                } else {
                    phone
                },
            );
        }
    }
    address
}

fn read_item(
    item: &Element<'_>,
    path: &str,
    currency: Currency,
    d: &mut Diagnostics,
) -> Option<OrderLine> {
    let mut line = OrderLine::default();
    if let Some(quantity) = required_attribute(item, path, "quantity", d) {
        let quantity_path = format!("{path}/@quantity");
        if let Some(quantity) = decimal_at(&quantity_path, quantity, d) {
            if quantity <= Decimal::ZERO {
                d.error(
                    &quantity_path,
                    "oci.quantity_not_positive",
                    format!("the quantity must be greater than 0, got {quantity}"),
                );
            }
            line.quantity = quantity;
        }
    }
    if let Some(number) = item.attribute("lineNumber") {
        line.line_number = whole_at(&format!("{path}/@lineNumber"), number, d);
    }
    if let Some(parent) = item.attribute("parentLineNumber") {
        line.parent_line = whole_at(&format!("{path}/@parentLineNumber"), parent, d);
    }
    if let Some(date) = item.attribute("requestedDeliveryDate") {
        line.requested_delivery_date = date_at(&format!("{path}/@requestedDeliveryDate"), date, d);
    }

    let id_path = format!("{path}/ItemID");
    if let Some(id) = required_child(item, path, "ItemID", d) {
        line.sku = non_empty_text(required_child(id, &id_path, "SupplierPartID", d));
        line.product_id = non_empty_text(id.child("SupplierPartAuxiliaryID"));
        line.buyer_part_id = non_empty_text(id.child("BuyerPartID"));
    }
    let detail_path = format!("{path}/ItemDetail");
    if let Some(detail) = required_child(item, path, "ItemDetail", d) {
        read_item_detail(detail, &detail_path, currency, &mut line, d);
    }
    line.comment = item
        .children_named("Comments")
        .map(Element::text_trimmed)
        .find(|text| !text.is_empty())
        .map(str::to_owned);
    for child in &item.children {
        if !matches!(&*child.name, "ItemID" | "ItemDetail" | "Comments") {
            d.warning(
                format!("{path}/{}", child.name),
                "oci.cxml.element_ignored",
                format!("<{}> of an item is not kept", child.name),
            );
        }
    }
    Some(line)
}

fn read_item_detail(
    detail: &Element<'_>,
    path: &str,
    currency: Currency,
    line: &mut OrderLine,
    d: &mut Diagnostics,
) {
    let price_path = format!("{path}/UnitPrice");
    if let Some(price) = required_child(detail, path, "UnitPrice", d)
        && let Some((amount, _)) = money(price, &price_path, Some(currency), d)
    {
        if amount < Decimal::ZERO {
            d.error(
                format!("{price_path}/Money"),
                "oci.price_negative",
                "a unit price cannot be negative",
            );
        }
        line.unit_price = Some(Price::net(amount));
    }
    if let Some(description) = required_child(detail, path, "Description", d) {
        let text = Some(description.text_trimmed().to_owned()).filter(|t| !t.is_empty());
        match non_empty_text(description.child("ShortName")) {
            Some(short) => {
                line.description = Some(short);
                line.long_text = text;
            }
            None => line.description = text,
        }
    }
    line.unit = non_empty_text(required_child(detail, path, "UnitOfMeasure", d));
    if let Some(basis) = detail.child("PriceBasisQuantity") {
        let basis_path = format!("{path}/PriceBasisQuantity");
        if let Some(quantity) = required_attribute(basis, &basis_path, "quantity", d) {
            line.price_basis_quantity = decimal_at(&format!("{basis_path}/@quantity"), quantity, d);
        }
        if basis
            .attribute("conversionFactor")
            .is_some_and(|factor| parse_decimal("", factor).ok() != Some(Decimal::ONE))
        {
            d.warning(
                format!("{basis_path}/@conversionFactor"),
                "oci.cxml.element_ignored",
                "a conversion factor other than 1 is not kept; the basis is read in the line's unit",
            );
        }
    }
    for (i, classification) in detail.children_named("Classification").enumerate() {
        let classification_path = format!("{path}/Classification[{}]", i + 1);
        let domain = required_attribute(classification, &classification_path, "domain", d)
            .unwrap_or_default();
        let text = classification.text_trimmed();
        line.classifications
            .push(match classification.attribute("code") {
                Some(code) => Classification {
                    domain: domain.to_owned(),
                    code: code.to_owned(),
                    name: Some(text.to_owned()).filter(|t| !t.is_empty()),
                    version: None,
                },
                None => Classification {
                    domain: domain.to_owned(),
                    code: text.to_owned(),
                    ..Classification::default()
                },
            });
    }
    let manufacturer = Manufacturer {
        code: None,
        name: non_empty_text(detail.child("ManufacturerName")),
        part_number: non_empty_text(detail.child("ManufacturerPartID")),
    };
    if manufacturer != Manufacturer::default() {
        line.manufacturer = Some(manufacturer);
    }
    if let Some(lead_time) = detail.child("LeadTime") {
        line.lead_time_days = whole_at(&format!("{path}/LeadTime"), lead_time.text_trimmed(), d);
    }
    if let Some(url) = non_empty_text(detail.child("URL")) {
        line.extensions.insert(ext::ITEM_URL.into(), url);
    }
    for (i, extrinsic) in detail.children_named("Extrinsic").enumerate() {
        read_extrinsic(
            extrinsic,
            &format!("{path}/Extrinsic[{}]", i + 1),
            &mut line.extensions,
            d,
        );
    }
}

// ---------------------------------------------------------------------------------------
// Order → OrderRequest
// ---------------------------------------------------------------------------------------

/// Writes a cXML `OrderRequest` for `order`.
pub fn encode_order_request(settings: &Settings, order: &Order) -> Outcome<Vec<u8>> {
    let mut d = Diagnostics::new();
    let plan = OrderPlan::new(settings, order, &mut d);
    if d.has_errors() {
        return Err(d);
    }
    match write_order_request(settings, order, &plan, &mut d) {
        Ok(bytes) => d.finish(bytes),
        Err(diagnostic) => {
            d.push(diagnostic);
            Err(d)
        }
    }
}

/// An `ItemOut` to write: what it takes from the line, and what it may take from the
/// config.
struct ItemPlan {
    /// The line's index in `order.lines`.
    index: usize,
    net_price: Decimal,
    unit: String,
    description: Option<String>,
}

/// What is checked and computed before writing, so that every problem is reported at
/// once rather than the first one the writer meets.
struct OrderPlan {
    order_id: String,
    payload_id: String,
    timestamp: String,
    language: String,
    /// Non-shipping lines.
    items: Vec<ItemPlan>,
    shipping: Option<(Decimal, String)>,
    /// The order's VAT and its description.
    tax: Option<(Decimal, String)>,
    total: Decimal,
    credentials: [Vec<(String, String)>; 3],
}

impl OrderPlan {
    fn new(settings: &Settings, order: &Order, d: &mut Diagnostics) -> Self {
        let cxml = &settings.config.cxml;
        let order_id = order
            .purchase_order
            .clone()
            .or_else(|| order.id.clone())
            .unwrap_or_else(|| {
                d.error(
                    "/purchase_order",
                    "oci.cxml.order_id_missing",
                    "an OrderRequest needs the buyer's order number: purchase_order or id",
                );
                String::new()
            });
        if order.created_at.is_none() {
            d.error(
                "/created_at",
                "oci.cxml.order_date_missing",
                "an OrderRequest needs the order's date (created_at)",
            );
        }
        if order.billing_address.is_none() {
            d.error(
                "/billing_address",
                "oci.cxml.bill_to_missing",
                "an OrderRequest needs a BillTo address",
            );
        }
        let language = order
            .language
            .clone()
            .filter(|lang| !lang.is_empty() && lang.chars().all(is_lang_char))
            .unwrap_or_else(|| cxml.language.clone());

        let mut items = Vec::new();
        let mut shipping: Option<(Decimal, String)> = None;
        let mut shipping_lines = 0;
        let mut items_total = Some(Decimal::ZERO);
        for (i, line) in order.lines.iter().enumerate() {
            let path = format!("/lines/{i}");
            let net = line_net_price(line, &path, d);
            match line.kind {
                LineKind::Voucher | LineKind::Discount => d.error(
                    format!("{path}/kind"),
                    "oci.line_kind_unsupported",
                    "vouchers and discounts are not written to cXML; apply them to the prices",
                ),
                LineKind::Shipping => {
                    shipping_lines += 1;
                    let Some(net) = net else { continue };
                    let description = settings
                        .description_of(line, &path, d)
                        .unwrap_or_default()
                        .to_owned();
                    let amount = line_amount(line, net);
                    shipping = match (shipping.take(), amount) {
                        (Some((sum, earlier)), Some(amount)) => sum
                            .checked_add(amount)
                            .map(|sum| (sum, format!("{earlier}; {description}"))),
                        (None, Some(amount)) => Some((amount, description)),
                        (_, None) => None,
                    };
                    if shipping.is_none() {
                        too_large(d, &path);
                    }
                }
                LineKind::Article | LineKind::PaymentFee => {
                    check_item(line, &path, d);
                    let unit = settings.unit_of(line, &path, d).unwrap_or_else(|| {
                        d.error(
                            format!("{path}/unit"),
                            "oci.cxml.unit_missing",
                            "every cXML item needs a UnitOfMeasure; the config's `default_unit` gives lines without a unit one",
                        );
                        ""
                    });
                    let description = settings.description_of(line, &path, d);
                    if let Some(net) = net {
                        items.push(ItemPlan {
                            index: i,
                            net_price: net,
                            unit: unit.to_owned(),
                            description: description.map(str::to_owned),
                        });
                        items_total = items_total
                            .and_then(|total| total.checked_add(line_amount(line, net)?));
                    }
                }
            }
        }
        if shipping_lines > 1 {
            d.warning(
                "/lines",
                "oci.cxml.shipping_merged",
                "cXML has one Shipping per order: the shipping lines are added up",
            );
        }
        if items.is_empty() && !d.has_errors() {
            d.error(
                "/lines",
                "oci.cxml.no_items",
                "an OrderRequest needs at least one item",
            );
        }
        let shipping_amount = shipping
            .as_ref()
            .map_or(Decimal::ZERO, |(amount, _)| *amount);
        let items_amount = match &order.totals {
            Some(Totals { net: Some(net), .. }) => {
                net.checked_sub(shipping_amount).ok_or("/totals")
            }
            Some(Totals {
                gross,
                tax: Some(tax),
                ..
            }) => gross
                .checked_sub(*tax)
                .and_then(|net| net.checked_sub(shipping_amount))
                .ok_or("/totals"),
            _ => items_total.ok_or("/lines"),
        }
        .unwrap_or_else(|overflowed| {
            too_large(d, overflowed);
            Decimal::ZERO
        });
        let tax = order_tax(order, d);
        let total = match total_convention(order, d) {
            TotalConvention::Items => items_amount,
            TotalConvention::ItemsShippingTax => {
                let tax_amount = tax.as_ref().map_or(Decimal::ZERO, |(amount, _)| *amount);
                items_amount
                    .checked_add(shipping_amount)
                    .and_then(|sum| sum.checked_add(tax_amount))
                    .unwrap_or_else(|| {
                        too_large(d, "/totals");
                        Decimal::ZERO
                    })
            }
        };

        let credentials = PARTIES.map(|party| {
            let prefix = format!("cxml.{party}.");
            let from_order: Vec<(String, String)> = order
                .extensions
                .iter()
                .filter_map(|(key, identity)| {
                    Some((key.strip_prefix(&prefix)?.to_owned(), identity.clone()))
                })
                .collect();
            if !from_order.is_empty() {
                return from_order;
            }
            let configured: &Option<CredentialConfig> = match party {
                "From" => &cxml.from,
                "To" => &cxml.to,
                _ => &cxml.sender,
            };
            match configured {
                Some(credential) => vec![(credential.domain.clone(), credential.identity.clone())],
                None => {
                    d.error(
                        format!("/extensions/{}", pointer_token(&format!("cxml.{party}.NetworkId"))),
                        "oci.cxml.credential_missing",
                        format!(
                            "the {party} credential is missing: set the order's `cxml.{party}.<domain>` extension or the config's `cxml.{}`",
                            party.to_ascii_lowercase()
                        ),
                    );
                    Vec::new()
                }
            }
        });

        let timestamp = match order.extensions.get(ext::TIMESTAMP) {
            Some(stamp) => {
                if DateTime::parse_from_rfc3339(stamp).is_err() {
                    d.error(
                        format!("/extensions/{}", pointer_token(ext::TIMESTAMP)),
                        "oci.cxml.invalid_date",
                        "the timestamp is not an ISO 8601 date and time with a time zone",
                    );
                }
                stamp.clone()
            }
            None => now(),
        };
        let payload_id = order
            .extensions
            .get(ext::PAYLOAD_ID)
            .cloned()
            .unwrap_or_else(|| new_payload_id(&cxml.payload_id_domain));
        Self {
            order_id,
            payload_id,
            timestamp,
            language,
            items,
            shipping,
            tax,
            total,
            credentials,
        }
    }
}

/// What the `Total` written counts: what the order's `cxml.Total.convention` says (as read
/// from the buyer), else cXML's definition, the items alone.
fn total_convention(order: &Order, d: &mut Diagnostics) -> TotalConvention {
    let Some(name) = order.extensions.get(ext::TOTAL_CONVENTION) else {
        return TotalConvention::Items;
    };
    TotalConvention::from_name(name).unwrap_or_else(|| {
        d.warning(
            format!("/extensions/{}", pointer_token(ext::TOTAL_CONVENTION)),
            "oci.cxml.total_convention_unknown",
            format!(
                "{name:?} is neither `items` nor `items_shipping_tax`: the Total is written as cXML defines it, the items alone"
            ),
        );
        TotalConvention::Items
    })
}

/// The order's VAT for cXML's `Tax`, and its description: the stated tax, else what the
/// stated totals imply, else the sum of the lines' VAT. `None` when the order says
/// nothing of VAT; an error when some lines state theirs and others do not, since
/// leaving the known part out or writing it as the whole would both misstate the order.
fn order_tax(order: &Order, d: &mut Diagnostics) -> Option<(Decimal, String)> {
    let amount = match order.totals {
        Some(Totals { tax: Some(tax), .. }) => Some(tax),
        // A zero difference says no more than a missing Tax does.
        Some(Totals {
            gross,
            net: Some(net),
            ..
        }) => gross.checked_sub(net).filter(|tax| !tax.is_zero()),
        _ => {
            let unknown = order
                .lines
                .iter()
                .position(|line| line.signed_vat_total().is_none());
            let any_known = order
                .lines
                .iter()
                .any(|line| line.signed_vat_total().is_some());
            match unknown {
                None => order
                    .computed_tax_total()
                    .map(|tax| order.currency.round(tax)),
                Some(j) if any_known => {
                    d.error(
                        format!("/lines/{j}/vat_rate"),
                        "oci.cxml.tax_unknown",
                        "other lines state their VAT and this one does not, so the order's VAT \
                         (cXML Tax) cannot be added up: give the line its vat_rate, or state the \
                         order's VAT in totals.tax",
                    );
                    None
                }
                Some(_) => None,
            }
        }
    }?;
    let description = order
        .extensions
        .get(ext::TAX_DESCRIPTION)
        .cloned()
        .unwrap_or_else(|| vat_description(order));
    Some((amount, description))
}

/// `VAT 6 %, 21 %` from the lines' rates; `Tax` when no line has one.
fn vat_description(order: &Order) -> String {
    let mut rates: Vec<Decimal> = order
        .lines
        .iter()
        .filter_map(|line| Some(line.vat_rate?.normalize()))
        .collect();
    rates.sort_unstable();
    rates.dedup();
    if rates.is_empty() {
        return "Tax".into();
    }
    let rates: Vec<String> = rates.iter().map(|rate| format!("{rate} %")).collect();
    format!("VAT {}", rates.join(", "))
}

/// Quantity × net unit price ÷ price basis; `None` when that overflows.
fn line_amount(line: &OrderLine, net: Decimal) -> Option<Decimal> {
    let basis = line.price_basis_quantity.unwrap_or(Decimal::ONE);
    line.quantity.checked_mul(net)?.checked_div(basis)
}

/// Amounts too large to add up: refused rather than written wrong (or panicking).
fn too_large(d: &mut Diagnostics, path: &str) {
    d.error(
        path,
        "oci.number_too_large",
        "the order's amounts are too large to add up",
    );
}

/// The line's net unit price: cXML prices are net of tax.
fn line_net_price(line: &OrderLine, path: &str, d: &mut Diagnostics) -> Option<Decimal> {
    let Some(price) = &line.unit_price else {
        d.error(
            format!("{path}/unit_price"),
            "oci.cxml.price_missing",
            "every cXML item has a UnitPrice",
        );
        return None;
    };
    match price.net_with(line.vat_rate) {
        Some(net) if price.net.is_none() => Some(net.round_dp(4)),
        Some(net) => Some(net),
        None => {
            d.error(
                format!("{path}/unit_price"),
                "oci.price_not_net",
                "cXML prices are net: the line has a gross price and no VAT rate to take it off",
            );
            None
        }
    }
}

/// What an ItemOut cannot do without.
fn check_item(line: &OrderLine, path: &str, d: &mut Diagnostics) {
    if line.quantity <= Decimal::ZERO {
        d.error(
            format!("{path}/quantity"),
            "oci.quantity_not_positive",
            format!("the quantity must be greater than 0, got {}", line.quantity),
        );
    }
    if line.sku.as_deref().is_none_or(str::is_empty) {
        d.error(
            format!("{path}/sku"),
            "oci.cxml.supplier_part_id_missing",
            "every cXML item needs the supplier's part number (sku)",
        );
    }
    if !line.discounts.is_empty() {
        d.error(
            format!("{path}/discounts"),
            "oci.discount_unsupported",
            "line discounts are not written to cXML; apply them to the price",
        );
    }
}

fn write_order_request(
    settings: &Settings,
    order: &Order,
    plan: &OrderPlan,
    d: &mut Diagnostics,
) -> Result<Vec<u8>, Diagnostic> {
    let cxml = &settings.config.cxml;
    let currency = order.currency.code();
    let lang = plan.language.as_str();
    let mut w = XmlWriter::new();
    let mut root_attributes = vec![
        ("version", CXML_VERSION),
        ("payloadID", plan.payload_id.as_str()),
        ("timestamp", plan.timestamp.as_str()),
    ];
    if let Some(language) = &order.language
        && !language.is_empty()
        && language.chars().all(is_lang_char)
    {
        root_attributes.push(("xml:lang", language.as_str()));
    }
    w.start_with("cXML", &root_attributes)?;

    w.start("Header")?;
    for (party, credentials) in PARTIES.iter().zip(&plan.credentials) {
        w.start(party)?;
        for (i, (domain, identity)) in credentials.iter().enumerate() {
            w.start_with("Credential", &[("domain", domain)])?;
            w.leaf("Identity", identity)?;
            if *party == "Sender"
                && i == 0
                && let Some(secret) = &cxml.shared_secret
            {
                w.leaf("SharedSecret", secret.expose())?;
            }
            w.end()?;
        }
        if *party == "Sender" {
            let agent = order
                .extensions
                .get(ext::USER_AGENT)
                .unwrap_or(&cxml.user_agent);
            w.leaf("UserAgent", agent)?;
        }
        w.end()?;
    }
    w.end()?;

    match order.extensions.get(ext::DEPLOYMENT_MODE) {
        Some(mode) if matches!(mode.as_str(), "production" | "test") => {
            w.start_with("Request", &[("deploymentMode", mode)])?;
        }
        _ => {
            w.start("Request")?;
        }
    }
    w.start("OrderRequest")?;
    let order_date = order
        .created_at
        .map(|date| date.to_rfc3339_opts(SecondsFormat::AutoSi, false))
        .unwrap_or_default();
    let mut header_attributes = vec![
        ("orderID", plan.order_id.as_str()),
        ("orderDate", order_date.as_str()),
    ];
    if let Some(kind) = order.extensions.get(ext::ORDER_TYPE)
        && matches!(kind.as_str(), "new" | "update" | "delete")
    {
        header_attributes.push(("type", kind.as_str()));
    }
    w.start_with("OrderRequestHeader", &header_attributes)?;
    w.start("Total")?;
    write_money(&mut w, plan.total, currency)?;
    w.end()?;
    if let Some(address) = &order.delivery_address {
        w.start("ShipTo")?;
        write_address(&mut w, address, lang, "/delivery_address", d)?;
        w.end()?;
    }
    if let Some(address) = &order.billing_address {
        w.start("BillTo")?;
        write_address(&mut w, address, lang, "/billing_address", d)?;
        w.end()?;
    }
    if let Some((amount, description)) = &plan.shipping {
        w.start("Shipping")?;
        write_money(&mut w, *amount, currency)?;
        w.start_with("Description", &[("xml:lang", lang)])?
            .text(description)?
            .end()?;
        w.end()?;
    }
    if let Some((amount, description)) = &plan.tax {
        w.start("Tax")?;
        write_money(&mut w, *amount, currency)?;
        w.start_with("Description", &[("xml:lang", lang)])?
            .text(description)?
            .end()?;
        w.end()?;
    }
    let attachments = order.extensions.get(ext::COMMENT_ATTACHMENTS);
    if order.comment.is_some() || attachments.is_some() {
        w.start_with("Comments", &[("xml:lang", lang)])?;
        if let Some(comment) = &order.comment {
            w.text(comment)?;
        }
        for url in attachments.iter().flat_map(|urls| urls.lines()) {
            w.start("Attachment")?.leaf("URL", url)?.end()?;
        }
        w.end()?;
    }
    write_extrinsics(&mut w, &order.extensions)?;
    w.end()?;

    for item in &plan.items {
        let Some(line) = order.lines.get(item.index) else {
            continue;
        };
        write_item(&mut w, settings, order, line, item, lang, d)?;
    }

    let mut bytes = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{DOCTYPE}\n").into_bytes();
    bytes.extend(w.into_bytes());
    Ok(bytes)
}

fn write_money(w: &mut XmlWriter, amount: Decimal, currency: &str) -> Result<(), Diagnostic> {
    w.start_with("Money", &[("currency", currency)])?
        .text(&amount.to_string())?
        .end()?;
    Ok(())
}

fn write_extrinsics(
    w: &mut XmlWriter,
    extensions: &std::collections::BTreeMap<String, String>,
) -> Result<(), Diagnostic> {
    for (key, value) in extensions {
        if let Some(name) = key.strip_prefix(ext::EXTRINSIC_PREFIX) {
            w.start_with("Extrinsic", &[("name", name)])?
                .text(value)?
                .end()?;
        }
    }
    Ok(())
}

fn write_item(
    w: &mut XmlWriter,
    settings: &Settings,
    order: &Order,
    line: &OrderLine,
    item: &ItemPlan,
    lang: &str,
    d: &mut Diagnostics,
) -> Result<(), Diagnostic> {
    let path = format!("/lines/{}", item.index);
    let quantity = line.quantity.normalize().to_string();
    let line_number = line.line_number.map(|n| n.to_string());
    let parent = line.parent_line.map(|n| n.to_string());
    let delivery = line
        .requested_delivery_date
        .map(|date| date.format("%Y-%m-%d").to_string());
    let mut attributes = vec![("quantity", quantity.as_str())];
    for (name, value) in [
        ("lineNumber", &line_number),
        ("requestedDeliveryDate", &delivery),
        ("parentLineNumber", &parent),
    ] {
        if let Some(value) = value {
            attributes.push((name, value.as_str()));
        }
    }
    w.start_with("ItemOut", &attributes)?;
    w.start("ItemID")?;
    w.leaf("SupplierPartID", line.sku.as_deref().unwrap_or_default())?;
    w.optional_leaf("SupplierPartAuxiliaryID", line.product_id.as_deref())?;
    w.optional_leaf("BuyerPartID", line.buyer_part_id.as_deref())?;
    w.end()?;

    w.start("ItemDetail")?;
    w.start("UnitPrice")?;
    write_money(w, item.net_price, order.currency.code())?;
    w.end()?;
    w.start_with("Description", &[("xml:lang", lang)])?;
    match (&item.description, &line.long_text) {
        (Some(short), Some(long)) => {
            w.text(long)?.leaf("ShortName", short)?;
        }
        (Some(text), None) | (None, Some(text)) => {
            w.text(text)?;
        }
        (None, None) => {}
    }
    w.end()?;
    let unit = item.unit.as_str();
    w.leaf("UnitOfMeasure", unit)?;
    if let Some(basis) = line.price_basis_quantity {
        let basis = basis.normalize().to_string();
        w.start_with(
            "PriceBasisQuantity",
            &[("quantity", basis.as_str()), ("conversionFactor", "1")],
        )?
        .leaf("UnitOfMeasure", unit)?
        .end()?;
    }
    if line.classifications.is_empty() {
        d.warning(
            format!("{path}/classifications"),
            "oci.cxml.classification_defaulted",
            format!(
                "cXML needs a Classification per item: an empty one in domain {:?} is written",
                settings.config.cxml.default_classification_domain
            ),
        );
        w.empty_with(
            "Classification",
            &[(
                "domain",
                settings.config.cxml.default_classification_domain.as_str(),
            )],
        )?;
    }
    for classification in &line.classifications {
        match &classification.name {
            Some(name) => {
                w.start_with(
                    "Classification",
                    &[
                        ("domain", classification.domain.as_str()),
                        ("code", classification.code.as_str()),
                    ],
                )?
                .text(name)?
                .end()?;
            }
            None => {
                w.start_with(
                    "Classification",
                    &[("domain", classification.domain.as_str())],
                )?
                .text(&classification.code)?
                .end()?;
            }
        }
    }
    if let Some(manufacturer) = &line.manufacturer {
        w.optional_leaf("ManufacturerPartID", manufacturer.part_number.as_deref())?;
        w.optional_leaf("ManufacturerName", manufacturer.name.as_deref())?;
    }
    w.optional_leaf(
        "URL",
        line.extensions.get(ext::ITEM_URL).map(String::as_str),
    )?;
    if let Some(days) = line.lead_time_days {
        w.leaf("LeadTime", &days.to_string())?;
    }
    write_extrinsics(w, &line.extensions)?;
    w.end()?;
    if let Some(comment) = &line.comment {
        w.start_with("Comments", &[("xml:lang", lang)])?
            .text(comment)?
            .end()?;
    }
    w.end()?;
    Ok(())
}

fn write_address(
    w: &mut XmlWriter,
    address: &Address,
    lang: &str,
    path: &str,
    d: &mut Diagnostics,
) -> Result<(), Diagnostic> {
    let person = [&address.first_name, &address.last_name]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let name = address
        .company
        .clone()
        .or_else(|| address.contact.clone())
        .unwrap_or(person.clone());
    let mut attributes = Vec::new();
    if let Some(id) = address.extensions.get(ext::ADDRESS_ID) {
        attributes.push(("addressID", id.as_str()));
    }
    w.start_with("Address", &attributes)?;
    w.start_with("Name", &[("xml:lang", lang)])?
        .text(&name)?
        .end()?;

    let has_postal = address.street.is_some()
        || address.city.is_some()
        || address.postal_code.is_some()
        || address.country.is_some();
    if has_postal {
        match (&address.street, &address.city, &address.country) {
            (Some(street), Some(city), Some(country)) => {
                match &address.label {
                    Some(label) => w.start_with("PostalAddress", &[("name", label.as_str())])?,
                    None => w.start("PostalAddress")?,
                };
                let deliver_to = address.contact.clone().or_else(|| {
                    (address.company.is_some() && !person.is_empty()).then(|| person.clone())
                });
                w.optional_leaf("DeliverTo", deliver_to.as_deref())?;
                for more in address
                    .extensions
                    .get(ext::DELIVER_TO)
                    .iter()
                    .flat_map(|lines| lines.lines())
                {
                    w.leaf("DeliverTo", more)?;
                }
                let number = [&address.house_number, &address.house_number_ext]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect::<String>();
                let street = if number.is_empty() {
                    street.clone()
                } else {
                    format!("{street} {number}")
                };
                w.leaf("Street", &street)?;
                for extra in &address.extra_lines {
                    w.leaf("Street", extra)?;
                }
                w.leaf("City", city)?;
                w.optional_leaf("State", address.region.as_deref())?;
                w.optional_leaf("PostalCode", address.postal_code.as_deref())?;
                w.start_with("Country", &[("isoCountryCode", country.alpha2())])?
                    .text(country.name())?
                    .end()?;
                w.end()?;
            }
            (street, city, _) => {
                let missing = if street.is_none() {
                    "street"
                } else if city.is_none() {
                    "city"
                } else {
                    "country"
                };
                d.error(
                    format!("{path}/{missing}"),
                    "oci.cxml.address_incomplete",
                    "a cXML postal address needs a street, a city and a country",
                );
            }
        }
    }
    w.optional_leaf("Email", address.email.as_deref())?;
    if let Some(phone) = &address.phone {
        let parts: Vec<&str> = phone.split_whitespace().collect();
        match (parts.as_slice(), address.country) {
            ([country_code, area, number @ ..], Some(country))
                if country_code.starts_with('+') && !number.is_empty() =>
            {
                w.start("Phone")?.start("TelephoneNumber")?;
                w.start_with("CountryCode", &[("isoCountryCode", country.alpha2())])?
                    .text(&country_code[1..])?
                    .end()?;
                w.leaf("AreaOrCityCode", area)?;
                w.leaf("Number", &number.join(" "))?;
                w.end()?.end()?;
            }
            _ => d.warning(
                format!("{path}/phone"),
                "oci.field_dropped",
                "cXML wants a phone number as `+<country code> <area code> <number>` with the address's country; this one is not sent",
            ),
        }
    }
    w.end()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Response
// ---------------------------------------------------------------------------------------

/// Writes the cXML `Response` for an acknowledgement: `Status` 200 when accepted, the
/// acknowledgement's 4xx (400 by default, 401 for a failed authentication) when refused,
/// with the message and the diagnostics, one per line, as the status text.
pub fn encode_response(settings: &Settings, ack: &Acknowledgement) -> Outcome<Vec<u8>> {
    let mut d = Diagnostics::new();
    let rejected = ack.status == AckStatus::Rejected;
    let code = match ack.code {
        Some(code) => {
            if rejected == (200..300).contains(&code) || !(100..600).contains(&code) {
                d.error(
                    "/code",
                    "oci.cxml.status_inconsistent",
                    format!("status code {code} does not say {:?}", ack.status),
                );
            }
            code
        }
        None if !rejected => 200,
        None if ack
            .diagnostics
            .iter()
            .any(|diagnostic| diagnostic.code.ends_with("authentication_failed")) =>
        {
            401
        }
        None => 400,
    };
    if rejected && ack.message.is_none() && ack.diagnostics.is_empty() {
        d.error(
            "/diagnostics",
            "oci.cxml.reason_missing",
            "a refusal needs diagnostics or a message to explain it",
        );
    }
    if d.has_errors() {
        return Err(d);
    }
    let mut content: Vec<String> = ack.message.iter().cloned().collect();
    content.extend(
        ack.diagnostics
            .iter()
            .map(|diagnostic| diagnostic.to_string()),
    );
    let timestamp = ack.timestamp.map_or_else(now, |stamp| {
        stamp.to_rfc3339_opts(SecondsFormat::AutoSi, false)
    });
    let payload_id = new_payload_id(&settings.config.cxml.payload_id_domain);
    let code_text = code.to_string();

    let write = || -> Result<Vec<u8>, Diagnostic> {
        let mut w = XmlWriter::new();
        w.start_with(
            "cXML",
            &[
                ("version", CXML_VERSION),
                ("payloadID", payload_id.as_str()),
                ("timestamp", timestamp.as_str()),
                ("xml:lang", settings.config.cxml.language.as_str()),
            ],
        )?;
        w.start("Response")?;
        w.start_with(
            "Status",
            &[("code", code_text.as_str()), ("text", status_text(code))],
        )?
        .text(&content.join("\n"))?
        .end()?;
        let mut bytes =
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{DOCTYPE}\n").into_bytes();
        bytes.extend(w.into_bytes());
        Ok(bytes)
    };
    match write() {
        Ok(bytes) => d.finish(bytes),
        Err(diagnostic) => Err(diagnostic.into()),
    }
}

/// Reads a cXML `Response`: a 2xx status is acceptance, anything else a refusal.
pub fn decode_response(input: &[u8]) -> Outcome<Acknowledgement> {
    let mut d = Diagnostics::new();
    let Some(root) = parse_document(input, &mut d) else {
        return Err(d);
    };
    let Some(response) = required_child(&root, "/cXML", "Response", &mut d) else {
        return Err(d);
    };
    let path = "/cXML/Response/Status";
    let Some(status) = required_child(response, "/cXML/Response", "Status", &mut d) else {
        return Err(d);
    };
    let code = required_attribute(status, path, "code", &mut d)
        .and_then(|code| whole_at(&format!("{path}/@code"), code, &mut d))
        .and_then(|code| {
            u16::try_from(code).ok().or_else(|| {
                d.error(
                    format!("{path}/@code"),
                    "oci.number_too_large",
                    "not a status code",
                );
                None
            })
        });
    let timestamp = root
        .attribute("timestamp")
        .and_then(|stamp| datetime_at("/cXML/@timestamp", stamp, &mut d));
    let Some(code) = code else {
        return Err(d);
    };
    let message = Some(status.text_trimmed().to_owned()).filter(|text| !text.is_empty());
    let ack = Acknowledgement {
        status: if (200..300).contains(&code) {
            AckStatus::Accepted
        } else {
            AckStatus::Rejected
        },
        in_reply_to: None,
        code: Some(code),
        message: message.or_else(|| {
            status
                .attribute("text")
                .filter(|_| !(200..300).contains(&code))
                .map(str::to_owned)
        }),
        diagnostics: Vec::new(),
        timestamp,
    };
    d.finish(ack)
}

/// The reason phrase cXML puts in `Status/@text`, after HTTP's.
fn status_text(code: u16) -> &'static str {
    match code {
        201 => "Accepted",
        204 => "No Content",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        406 => "Not Acceptable",
        409 => "Conflict",
        412 => "Precondition Failed",
        417 => "Expectation Failed",
        475..=477 => "Signature Error",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        200..=299 => "OK",
        400..=499 => "Bad Request",
        _ => "Error",
    }
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A payload id unique to this process and moment: `<millis>.<pid>.<counter>@<domain>`,
/// the shape the cXML guide recommends.
fn new_payload_id(domain: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}.{}.{count}@{domain}",
        Utc::now().timestamp_millis(),
        std::process::id()
    )
}
