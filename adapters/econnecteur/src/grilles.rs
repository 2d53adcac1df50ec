//! A price grid push (`add_grilles`) ↔ [`PriceList`].
//!
//! `<connecteur><grilles><grille src="…" ref="…">…</grille>…</grilles></connecteur>`, one
//! [`PriceRule`] per `grille`. `0` and the empty text both mean "not restricted" for
//! `id_customer`, `id_currency`, `country_iso2`, `id_parent` and the dates (real pushes
//! send `<from>0</from>`).

use tradewire_sdk::core::{
    Adjustment, Country, Currency, Decimal, Diagnostics, PriceList, PriceRule,
};
use tradewire_sdk::xml::Element;

use crate::common::{
    At, DATE_TIME_FORMAT, ENVELOPE, Out, decimal, number, parse_date_time, quote, text,
};
use crate::{FixedPriceType, Settings};

/// Decodes a document whose root is `<connecteur>` holding `<grilles>` (or `<grilles>`).
pub(crate) fn decode_document(root: &Element<'_>, d: &mut Diagnostics) -> Option<PriceList> {
    match &*root.name {
        "grilles" => Some(decode(root, "/grilles", d)),
        "connecteur" => {
            let mut list = None;
            for child in &root.children {
                let path = At::new("/connecteur", &child.name).to_string();
                match &*child.name {
                    "grilles" if list.is_none() => list = Some(decode(child, &path, d)),
                    name if ENVELOPE.contains(&name) => {}
                    _ => d.warning(
                        path,
                        "econnecteur.ignored",
                        format!(
                            "<{}> is not part of a price grid and is ignored",
                            child.name
                        ),
                    ),
                }
            }
            if list.is_none() {
                d.error(
                    "/connecteur",
                    "econnecteur.grilles_missing",
                    "no <grilles> in <connecteur>",
                );
            }
            list
        }
        other => {
            d.error(
                format!("/{other}"),
                "econnecteur.bad_root",
                format!("expected <connecteur> holding <grilles>, found <{other}>"),
            );
            None
        }
    }
}

/// Reads the `grille` children of `<grilles>` at `path`.
pub(crate) fn decode(element: &Element<'_>, path: &str, d: &mut Diagnostics) -> PriceList {
    let mut rules = Vec::with_capacity(element.children.len());
    for (i, grille) in element.children.iter().enumerate() {
        let here = format!("{path}/{}[{}]", grille.name, i + 1);
        if grille.name == "grille" {
            if let Some(rule) = decode_rule(grille, &here, d) {
                rules.push(rule);
            }
        } else {
            d.warning(here, "econnecteur.ignored", "expected <grille>");
        }
    }
    PriceList { rules }
}

/// `None` for "not restricted": empty, `0`, or a zero date.
fn restricted(element: &Element<'_>) -> Option<String> {
    text(element).filter(|v| v != "0" && !v.starts_with("0000-00-00"))
}

fn decode_rule(grille: &Element<'_>, path: &str, d: &mut Diagnostics) -> Option<PriceRule> {
    let found_before = d.len();
    let mut rule = PriceRule {
        id: None,
        source: None,
        product_sku: None,
        parent_sku: None,
        customer: None,
        customer_emails: Vec::new(),
        group: None,
        currency: None,
        country: None,
        min_quantity: Decimal::ONE,
        valid_from: None,
        valid_to: None,
        adjustment: Adjustment::FixedPrice(Decimal::ZERO),
        base_price: None,
    };
    for (name, value) in &grille.attributes {
        match &**name {
            "ref" => rule.id = Some(value.to_string()).filter(|v| !v.is_empty()),
            "src" => rule.source = Some(value.to_string()).filter(|v| !v.is_empty()),
            other => d.warning(
                format!("{path}/@{other}"),
                "econnecteur.field_dropped",
                "a price rule has no place for this attribute; it is ignored",
            ),
        }
    }
    let mut price = None;
    let mut reduction_type = None;
    for child in &grille.children {
        let here = At::new(path, &child.name);
        match &*child.name {
            "id_product" => rule.product_sku = text(child),
            "price" => price = decimal(d, here, child),
            "reduction_type" => reduction_type = Some((text(child).unwrap_or_default(), here)),
            "id_customer" => rule.customer = restricted(child),
            "group_name" => rule.group = text(child),
            "id_currency" => {
                if let Some(code) = restricted(child) {
                    match Currency::from_code(&code) {
                        Ok(currency) => rule.currency = Some(currency),
                        Err(e) => d.error(here, "econnecteur.bad_currency", e.to_string()),
                    }
                }
            }
            "country_iso2" => {
                if let Some(code) = restricted(child) {
                    match Country::parse_lenient(&code) {
                        Ok(country) => rule.country = Some(country),
                        Err(e) => d.error(here, "econnecteur.bad_country", e.to_string()),
                    }
                }
            }
            "from_qty" => {
                if let Some(quantity) = decimal(d, here, child) {
                    rule.min_quantity = quantity;
                }
            }
            "from" | "to" => {
                if let Some(value) = restricted(child) {
                    match parse_date_time(here, &value) {
                        Ok(at) if child.name == "from" => rule.valid_from = Some(at),
                        Ok(at) => rule.valid_to = Some(at),
                        Err(diagnostic) => d.push(diagnostic),
                    }
                }
            }
            "emails_customer" => {
                rule.customer_emails = child
                    .text
                    .split(';')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "prix_de_base" => rule.base_price = decimal(d, here, child),
            "id_parent" => rule.parent_sku = restricted(child),
            other => d.warning(
                here,
                "econnecteur.field_dropped",
                format!("a price rule has no place for <{other}>; it is ignored"),
            ),
        }
    }
    let Some(price) = price else {
        let price_path = At::new(path, "price");
        if !d.iter().skip(found_before).any(|x| price_path.is(&x.path)) {
            d.error(
                price_path,
                "econnecteur.value_missing",
                "a grille needs its price",
            );
        }
        return None;
    };
    let (kind, kind_path) =
        reduction_type.unwrap_or_else(|| (String::new(), At::new(path, "reduction_type")));
    rule.adjustment = match kind.as_str() {
        // `amount` is the documented name of a price in currency; real pushes say `price`.
        "amount" | "price" => Adjustment::FixedPrice(price),
        "reduction_amount" => Adjustment::AmountOff(price),
        "reduction_percentage" => Adjustment::PercentOff(price),
        other => {
            d.error(
                kind_path,
                "econnecteur.bad_reduction_type",
                format!(
                    "reduction_type {} is not amount, price, reduction_amount or reduction_percentage",
                    quote(other)
                ),
            );
            return None;
        }
    };
    // Only this rule's findings are looked at: a push of thousands of rules with a
    // warning each must not rescan all earlier ones per rule.
    let rule_has_errors = d.iter().skip(found_before).any(|x| x.is_error());
    (!rule_has_errors).then_some(rule)
}

/// Writes `<connecteur><grilles>…</grilles></connecteur>`.
pub(crate) fn encode_document(
    list: &PriceList,
    s: &Settings,
) -> Result<(Vec<u8>, Diagnostics), Diagnostics> {
    let mut out = Out::document();
    out.start("connecteur", "");
    encode(&mut out, list, "", s);
    out.end();
    out.finish(Diagnostics::new())
}

/// Writes `<grilles>` for `list`, its rules at `prefix/rules/N`.
pub(crate) fn encode(out: &mut Out, list: &PriceList, prefix: &str, s: &Settings) {
    out.start("grilles", &format!("{prefix}/rules"));
    for (i, rule) in list.rules.iter().enumerate() {
        let at = format!("{prefix}/rules/{i}");
        let field = |f: &str| format!("{at}/{f}");
        let mut attributes = Vec::new();
        if let Some(source) = &rule.source {
            attributes.push(("src", source.as_str()));
        }
        if let Some(id) = &rule.id {
            attributes.push(("ref", id.as_str()));
        }
        out.start_with("grille", &attributes, &at);
        out.leaf(
            "id_product",
            rule.product_sku.as_deref().unwrap_or(""),
            &field("product_sku"),
        );
        let (value, kind) = match rule.adjustment {
            Adjustment::FixedPrice(v) => (v, s.fixed_price_type.name()),
            Adjustment::AmountOff(v) => (v, "reduction_amount"),
            Adjustment::PercentOff(v) => (v, "reduction_percentage"),
        };
        out.leaf("price", &number(value), &field("adjustment/value"));
        out.leaf("reduction_type", kind, &field("adjustment/type"));
        out.leaf(
            "id_customer",
            rule.customer.as_deref().unwrap_or("0"),
            &field("customer"),
        );
        out.leaf(
            "group_name",
            rule.group.as_deref().unwrap_or(""),
            &field("group"),
        );
        out.leaf(
            "id_currency",
            rule.currency.map_or("0", |c| c.code()),
            &field("currency"),
        );
        out.leaf(
            "country_iso2",
            rule.country.map_or("0", |c| c.alpha2()),
            &field("country"),
        );
        out.leaf(
            "from_qty",
            &number(rule.min_quantity),
            &field("min_quantity"),
        );
        let date = |at: Option<chrono::NaiveDateTime>| {
            at.map_or_else(
                || "0".to_owned(),
                |at| at.format(DATE_TIME_FORMAT).to_string(),
            )
        };
        out.leaf("from", &date(rule.valid_from), &field("valid_from"));
        out.leaf("to", &date(rule.valid_to), &field("valid_to"));
        if !rule.customer_emails.is_empty() {
            if let Some(bad) = rule.customer_emails.iter().find(|e| e.contains(';')) {
                out.d.error(
                    field("customer_emails"),
                    "econnecteur.bad_email_list",
                    format!(
                        "{} contains `;`, the separator of emails_customer",
                        quote(bad)
                    ),
                );
            }
            out.leaf(
                "emails_customer",
                &rule.customer_emails.join(";"),
                &field("customer_emails"),
            );
        }
        out.optional(
            "prix_de_base",
            rule.base_price.map(number).as_deref(),
            &field("base_price"),
        );
        out.optional(
            "id_parent",
            rule.parent_sku.as_deref(),
            &field("parent_sku"),
        );
        out.end();
    }
    out.end();
}

impl FixedPriceType {
    fn name(self) -> &'static str {
        match self {
            Self::Price => "price",
            Self::Amount => "amount",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::common::parse_xml;

    #[test]
    fn zero_means_unrestricted_and_later_fields_are_read() {
        let xml = "<connecteur><grilles><grille src=\"cli_prodfam\" ref=\"TF00002\"><id_product>ATTA0001</id_product>\
            <price>10</price><reduction_type>reduction_percentage</reduction_type><id_customer>CCL00002</id_customer>\
            <group_name></group_name><id_currency>0</id_currency><country_iso2>FR</country_iso2><from_qty>5</from_qty>\
            <from>2015-02-01 00:00:00</from><to>0</to><emails_customer>a@x.fr; b@x.fr</emails_customer>\
            <prix_de_base>12.50</prix_de_base><id_parent>ATTA</id_parent></grille></grilles></connecteur>";
        let root = parse_xml(xml.as_bytes(), 1 << 20).unwrap();
        let mut d = Diagnostics::new();
        let list = decode_document(&root, &mut d).unwrap();
        assert!(d.is_empty(), "{d}");
        let rule = &list.rules[0];
        assert_eq!(rule.adjustment, Adjustment::PercentOff(Decimal::from(10)));
        assert_eq!(rule.customer.as_deref(), Some("CCL00002"));
        assert_eq!(rule.currency, None);
        assert_eq!(rule.country.map(Country::alpha2), Some("FR"));
        assert_eq!(rule.min_quantity, Decimal::from(5));
        assert!(rule.valid_from.is_some() && rule.valid_to.is_none());
        assert_eq!(rule.customer_emails, ["a@x.fr", "b@x.fr"]);
        assert_eq!(rule.base_price, Some(Decimal::new(1250, 2)));
        assert_eq!(rule.parent_sku.as_deref(), Some("ATTA"));
    }

    #[test]
    fn an_unknown_reduction_type_is_refused_at_its_element() {
        let xml = "<grilles><grille><price>1</price><reduction_type>gift</reduction_type></grille></grilles>";
        let root = parse_xml(xml.as_bytes(), 1 << 20).unwrap();
        let mut d = Diagnostics::new();
        let list = decode_document(&root, &mut d).unwrap();
        assert!(list.rules.is_empty());
        assert_eq!(d.as_slice()[0].path, "/grilles/grille[1]/reduction_type");
    }
}
