//! The order detail (`orders` answer, `add_order` push) ↔ [`Order`].
//!
//! `<order>` holds `livraison` and `facturation` (addresses), `client`, `commande` (date,
//! totals, carrier, type and status) and `produits/product` (the lines), and for
//! `add_order` an optional `pdf`. The model has no place for some totals
//! (`total_products`, `total_products_wt`, `total_discounts` as a percentage): they are
//! kept in `extensions` under their path below `<order>` (`commande/total_products`) and
//! written back from there, or computed from the lines when absent.

use std::collections::BTreeSet;

use base64::Engine;
use tradewire_sdk::core::{
    Address, Currency, Decimal, Delivery, Diagnostics, LineKind, OptionValue, Order, OrderKind,
    OrderLine, OrderStatus, Party, Payment, Price, Totals,
};
use tradewire_sdk::xml::{Element, is_valid_xml_name};

use crate::common::{
    At, Countries, DATE_TIME_FORMAT, ENVELOPE, Out, decimal, keep_unknown, number, parse_date_time,
    pointer, quote, text,
};
use crate::{CountryForm, OrderFormat, Settings};

/// Validation findings that do not reject an e-connecteur order: shops round totals
/// their own way (the vendor's own sample states shipping without VAT where the spec
/// says with), and the ERP recomputes totals from the lines anyway.
const TOTALS_CODES: [&str; 2] = ["order.total_mismatch", "order.totals_inconsistent"];

/// Decodes a document whose root is `<connecteur>` holding `<order>` (or `<order>` itself).
pub(crate) fn decode_document(
    root: &Element<'_>,
    s: &Settings,
    d: &mut Diagnostics,
) -> Option<Order> {
    if root.name == "order" {
        return Some(decode(root, "/order", s, d));
    }
    if root.name != "connecteur" {
        d.error(
            format!("/{}", root.name),
            "econnecteur.bad_root",
            format!(
                "expected <connecteur> holding <order>, found <{}>",
                root.name
            ),
        );
        return None;
    }
    let mut order = None;
    for child in &root.children {
        let path = At::new("/connecteur", &child.name).to_string();
        match &*child.name {
            "order" if order.is_none() => order = Some(decode(child, &path, s, d)),
            "order" => d.error(path, "econnecteur.several_orders", "one order per document"),
            name if ENVELOPE.contains(&name) => {}
            _ => ignored(d, &path, child),
        }
    }
    if order.is_none() {
        d.error(
            "/connecteur",
            "econnecteur.order_missing",
            "no <order> in <connecteur>",
        );
    }
    order
}

fn ignored(d: &mut Diagnostics, path: &str, element: &Element<'_>) {
    d.warning(
        path,
        "econnecteur.ignored",
        format!(
            "<{}> is not part of this document and is ignored",
            element.name
        ),
    );
}

/// What the `commande` section says about money, gathered before the lines are built.
#[derive(Default)]
struct Amounts {
    shipping: Option<Decimal>,
    carrier_tax_rate: Option<Decimal>,
    discount_gross: Option<Decimal>,
    discount_net: Option<Decimal>,
}

/// Reads one `<order>` element at `path`.
pub(crate) fn decode(
    element: &Element<'_>,
    path: &str,
    s: &Settings,
    d: &mut Diagnostics,
) -> Order {
    let mut order = Order::new(s.currency);
    let mut amounts = Amounts::default();
    let mut articles = Vec::new();
    for child in &element.children {
        let here = At::new(path, &child.name);
        match &*child.name {
            "livraison" => {
                order.delivery_address = Some(decode_address(child, &here.to_string(), s, d));
            }
            "facturation" => {
                order.billing_address = Some(decode_address(child, &here.to_string(), s, d));
            }
            "client" => {
                order.customer = Some(decode_client(child, &here.to_string(), &mut order, d));
            }
            "commande" => {
                decode_commande(child, &here.to_string(), s, &mut order, &mut amounts, d);
            }
            "produits" => {
                for (i, product) in child.children.iter().enumerate() {
                    let product_path = format!("{here}/product[{}]", i + 1);
                    if product.name == "product" {
                        articles.push(decode_line(product, &product_path, d));
                    } else {
                        ignored(d, &product_path, product);
                    }
                }
            }
            "pdf" => {
                if let Some(pdf) = checked_base64(d, here, child) {
                    order.extensions.insert("pdf".into(), pdf);
                }
            }
            name => keep_unknown(d, here, name.to_owned(), child, &mut order.extensions),
        }
    }
    order.lines = articles;
    // The spec writes every total, `0` for none: a zero shipping charge is no shipping
    // line, and a zero carrier rate without one says nothing.
    if let Some(amount) = amounts.shipping.filter(|amount| !amount.is_zero()) {
        let price = if s.shipping_includes_tax {
            Price::gross(amount)
        } else {
            Price::net(amount)
        };
        order.lines.push(OrderLine {
            kind: LineKind::Shipping,
            quantity: Decimal::ONE,
            unit_price: Some(price),
            vat_rate: amounts.carrier_tax_rate,
            ..OrderLine::default()
        });
    } else if let Some(rate) = amounts.carrier_tax_rate.filter(|rate| !rate.is_zero()) {
        order
            .extensions
            .insert("commande/carrier_tax_rate".into(), number(rate));
    }
    let discount = Price {
        gross: amounts.discount_gross.filter(|v| !v.is_zero()),
        net: amounts.discount_net.filter(|v| !v.is_zero()),
    };
    if discount.gross.is_some() || discount.net.is_some() {
        order.lines.push(OrderLine {
            kind: LineKind::Discount,
            quantity: Decimal::ONE,
            unit_price: Some(discount),
            ..OrderLine::default()
        });
    }
    order
}

/// The model's checks: errors reject, except disagreeing totals (see [`TOTALS_CODES`]).
pub(crate) fn validate(order: &Order, d: &mut Diagnostics) {
    soften(order.validate(), d);
}

/// Adds the model's `findings` to `d`, disagreeing totals as warnings.
pub(crate) fn soften(findings: Diagnostics, d: &mut Diagnostics) {
    for finding in findings {
        if TOTALS_CODES.contains(&finding.code.as_str()) {
            d.warning(
                finding.path,
                finding.code,
                format!(
                    "{} (the ERP recomputes totals from the lines; check `shipping_includes_tax` \
                     if the gap is the VAT on shipping)",
                    finding.message
                ),
            );
        } else {
            d.push(finding);
        }
    }
}

fn decode_address(element: &Element<'_>, path: &str, s: &Settings, d: &mut Diagnostics) -> Address {
    let mut address = Address::default();
    for child in &element.children {
        let here = At::new(path, &child.name);
        let value = text(child);
        match &*child.name {
            "pays" => {
                if let Some(value) = value {
                    read_country(&value, here, &s.countries, &mut address, d);
                }
            }
            "company" => address.company = value,
            "lastname" => address.last_name = value,
            "firstname" => address.first_name = value,
            "address1" => address.street = value,
            "address2" => address.extra_lines.extend(value),
            "postcode" => address.postal_code = value,
            "city" => address.city = value,
            "phone" => address.phone = value,
            "phone_mobile" => address.mobile = value,
            "vat_number" => address.vat_number = value,
            name => keep_unknown(d, here, name.to_owned(), child, &mut address.extensions),
        }
    }
    address
}

/// `pays`, a code or a name in English, French, Dutch or German, into `address`; one
/// that names no country is kept in `extensions` with a warning.
pub(crate) fn read_country(
    value: &str,
    path: impl Into<String>,
    countries: &Countries,
    address: &mut Address,
    d: &mut Diagnostics,
) {
    match countries.read(value) {
        Some(country) => address.country = Some(country),
        None => {
            d.warning(
                path,
                "econnecteur.bad_country",
                format!(
                    "{} is no ISO 3166-1 code nor a country's name in English, French, Dutch or German; it is kept in extensions",
                    quote(value)
                ),
            );
            address.extensions.insert("pays".into(), value.to_owned());
        }
    }
}

fn decode_client(
    element: &Element<'_>,
    path: &str,
    order: &mut Order,
    d: &mut Diagnostics,
) -> Party {
    let mut party = Party::default();
    for child in &element.children {
        let value = text(child);
        match &*child.name {
            "id" => party.id = value,
            "code_erp" => party.erp_code = value,
            "lastname" => party.last_name = value,
            "firstname" => party.first_name = value,
            "email" => party.email = value,
            name => keep_unknown(
                d,
                At::new(path, name),
                format!("client/{name}"),
                child,
                &mut order.extensions,
            ),
        }
    }
    party
}

fn decode_commande(
    element: &Element<'_>,
    path: &str,
    s: &Settings,
    order: &mut Order,
    amounts: &mut Amounts,
    d: &mut Diagnostics,
) {
    let mut delivery = Delivery::default();
    for child in &element.children {
        let here = At::new(path, &child.name);
        match &*child.name {
            "date_add" => {
                if let Some(value) = text(child) {
                    match parse_date_time(here, &value) {
                        Ok(local) => {
                            order.created_at = s.zone.moment(local, || here.to_string(), d);
                        }
                        Err(diagnostic) => d.push(diagnostic),
                    }
                }
            }
            "reference" => order.reference = text(child),
            "depot" => delivery.warehouse = text(child),
            "currency" => {
                if let Some(code) = text(child) {
                    match Currency::from_code(&code) {
                        Ok(currency) => order.currency = currency,
                        Err(e) => d.error(here, "econnecteur.bad_currency", e.to_string()),
                    }
                }
            }
            "payment" => {
                if let Some(method) = text(child) {
                    order.payment = Some(Payment {
                        method: Some(method),
                        ..Payment::default()
                    });
                }
            }
            "total_discounts_tax_incl" => amounts.discount_gross = decimal(d, here, child),
            "total_discounts_tax_excl" => amounts.discount_net = decimal(d, here, child),
            "total_paid" => {
                order.totals = decimal(d, here, child).map(|gross| Totals {
                    gross,
                    net: None,
                    tax: None,
                });
            }
            "total_shipping" => amounts.shipping = decimal(d, here, child),
            // A percentage kept as stated; `0` (what is written for none) is none.
            "total_discounts" => {
                let zero = |text: &String| text.parse::<Decimal>().is_ok_and(|v| v.is_zero());
                if let Some(percent) = text(child).filter(|text| !zero(text)) {
                    order
                        .extensions
                        .insert("commande/total_discounts".into(), percent);
                }
            }
            "carrier_tax_rate" => amounts.carrier_tax_rate = decimal(d, here, child),
            "livreur" => delivery.carrier = text(child),
            "type" => match text(child).as_deref() {
                None => {}
                Some("20") => order.kind = OrderKind::Quote,
                Some("21") => order.kind = OrderKind::Order,
                Some("23") => order.kind = OrderKind::Invoice,
                Some(other) => unknown_code(d, here, "type", other, "20, 21 or 23", order),
            },
            "statut" => match text(child).as_deref() {
                None => {}
                Some("0") => order.status = Some(OrderStatus::Draft),
                Some("1") => order.status = Some(OrderStatus::Confirmed),
                Some("2") => order.status = Some(OrderStatus::Processing),
                Some(other) => unknown_code(d, here, "statut", other, "0, 1 or 2", order),
            },
            name => keep_unknown(
                d,
                here,
                format!("commande/{name}"),
                child,
                &mut order.extensions,
            ),
        }
    }
    if delivery != Delivery::default() {
        order.delivery = Some(delivery);
    }
}

fn unknown_code(
    d: &mut Diagnostics,
    path: impl Into<String>,
    name: &str,
    value: &str,
    known: &str,
    order: &mut Order,
) {
    d.warning(
        path,
        "econnecteur.unknown_code",
        format!(
            "{name} {} is not one of {known}; it is kept in extensions",
            quote(value)
        ),
    );
    order
        .extensions
        .insert(format!("commande/{name}"), value.to_owned());
}

fn decode_line(element: &Element<'_>, path: &str, d: &mut Diagnostics) -> OrderLine {
    let found_before = d.len();
    let mut line = OrderLine::default();
    let mut quantity = None;
    for child in &element.children {
        let here = At::new(path, &child.name);
        match &*child.name {
            "product_reference" => line.sku = text(child),
            "product_quantity" => quantity = decimal(d, here, child),
            "product_name" => line.description = text(child),
            "product_price" => line.unit_price = decimal(d, here, child).map(Price::net),
            "tva_rate" => line.vat_rate = decimal(d, here, child),
            "ecotax" => line.eco_tax = decimal(d, here, child),
            name @ ("product_gamme1" | "product_gamme2") => {
                if let Some(value) = text(child) {
                    line.options.push(OptionValue {
                        name: name.trim_start_matches("product_").to_owned(),
                        value,
                    });
                }
            }
            name => keep_unknown(d, here, name.to_owned(), child, &mut line.extensions),
        }
    }
    match quantity {
        Some(quantity) => line.quantity = quantity,
        None => {
            let quantity_path = At::new(path, "product_quantity");
            if !d
                .iter()
                .skip(found_before)
                .any(|x| quantity_path.is(&x.path))
            {
                d.error(
                    quantity_path,
                    "econnecteur.value_missing",
                    "a product line needs its quantity",
                );
            }
        }
    }
    line
}

/// Base64 text with the line breaks senders put in it removed; refused when it is not
/// base64, since a corrupt PDF is worse than none.
pub(crate) fn checked_base64(
    d: &mut Diagnostics,
    path: impl Into<String>,
    element: &Element<'_>,
) -> Option<String> {
    let compact: String = element
        .text
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if compact.is_empty() {
        return None;
    }
    match base64::engine::general_purpose::STANDARD.decode(&compact) {
        Ok(_) => Some(compact),
        Err(e) => {
            d.error(path, "econnecteur.bad_base64", format!("not base64: {e}"));
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Encoding

/// Writes a whole `orders` answer: `<connecteur><order>…</order></connecteur>`.
pub(crate) fn encode_document(
    order: &Order,
    s: &Settings,
) -> Result<(Vec<u8>, Diagnostics), Diagnostics> {
    let mut out = Out::document();
    let mut warnings = Diagnostics::new();
    out.start("connecteur", "");
    encode(&mut out, order, "", s, None, &mut warnings);
    out.end();
    out.finish(warnings)
}

/// Money the order's lines add up to, in the protocol's terms.
struct Sums {
    /// Products with VAT and without, before line discounts.
    products_gross: Option<Decimal>,
    products_net: Option<Decimal>,
    shipping: Option<Decimal>,
    carrier_tax_rate: Option<Decimal>,
    discount_gross: Option<Decimal>,
    discount_net: Option<Decimal>,
}

/// `Some(sum)` when every term is known; `None` for no terms or an unknown one.
fn sum_known(terms: impl IntoIterator<Item = Option<Decimal>>) -> Option<Decimal> {
    let mut total: Option<Decimal> = None;
    for term in terms {
        total = Some(total.unwrap_or(Decimal::ZERO).checked_add(term?)?);
    }
    total
}

fn line_amount(line: &OrderLine, gross: bool) -> Option<Decimal> {
    let price = line.unit_price?;
    let unit = if gross {
        price.gross_with(line.vat_rate)?
    } else {
        price.net_with(line.vat_rate)?
    };
    let basis = line.price_basis_quantity.unwrap_or(Decimal::ONE);
    line.quantity.checked_mul(unit)?.checked_div(basis)
}

fn sums(order: &Order, s: &Settings) -> Sums {
    let of_kind = |kinds: &'static [LineKind]| {
        order
            .lines
            .iter()
            .filter(move |line| kinds.contains(&line.kind))
    };
    let round = |value: Option<Decimal>| value.map(|v| order.currency.round(v));
    let articles = || of_kind(&[LineKind::Article]);
    let reductions = || of_kind(&[LineKind::Discount, LineKind::Voucher]);
    let line_discounts = |gross: bool| {
        articles().flat_map(move |line| {
            line.discounts.iter().map(move |discount| {
                if gross {
                    discount.amount.gross_with(line.vat_rate)
                } else {
                    discount.amount.net_with(line.vat_rate)
                }
            })
        })
    };
    let exact_or_rounded = |terms: Vec<Option<Decimal>>, single_exact: bool| {
        // One term the sender stated is written as stated; a computed sum is rounded.
        if single_exact && terms.len() == 1 {
            terms[0]
        } else {
            round(sum_known(terms))
        }
    };
    let shipping_lines: Vec<&OrderLine> = of_kind(&[LineKind::Shipping]).collect();
    let shipping = exact_or_rounded(
        shipping_lines
            .iter()
            .map(|line| line_amount(line, s.shipping_includes_tax))
            .collect(),
        true,
    );
    let discount = |gross: bool| {
        let terms: Vec<_> = reductions()
            .map(|line| line_amount(line, gross))
            .chain(line_discounts(gross))
            .collect();
        exact_or_rounded(terms, true)
    };
    Sums {
        products_gross: round(sum_known(articles().map(|l| line_amount(l, true)))),
        products_net: round(sum_known(articles().map(|l| line_amount(l, false)))),
        shipping,
        carrier_tax_rate: shipping_lines.iter().find_map(|line| line.vat_rate),
        discount_gross: discount(true),
        discount_net: discount(false),
    }
}

/// Writes `<order>` for `order`; `pdf` is the sales document of an `add_order` push.
pub(crate) fn encode(
    out: &mut Out,
    order: &Order,
    prefix: &str,
    s: &Settings,
    pdf: Option<&str>,
    warnings: &mut Diagnostics,
) {
    let xsd = s.order_format == OrderFormat::Xsd;
    let mut dropped = Dropped::default();
    let sums = sums(order, s);
    let ext = |key: &str| order.extensions.get(key).map(String::as_str);

    out.start("order", prefix);
    encode_address(
        out,
        "livraison",
        order.delivery_address.as_ref(),
        &pointer(prefix, "delivery_address"),
        s,
        false,
        &mut dropped,
    );
    encode_address(
        out,
        "facturation",
        order.billing_address.as_ref(),
        &pointer(prefix, "billing_address"),
        s,
        true,
        &mut dropped,
    );
    encode_client(out, order, prefix, xsd, &mut dropped);

    // commande
    let commande = pointer(prefix, "created_at");
    out.start("commande", prefix);
    let date = order.created_at.map(|at| {
        s.zone
            .local(at)
            .format(if xsd { "%d/%m/%Y" } else { DATE_TIME_FORMAT })
            .to_string()
    });
    if xsd && date.is_none() {
        out.d.error(
            &commande,
            "econnecteur.value_missing",
            "the XSD requires date_add; the order has no created_at",
        );
    }
    out.leaf("date_add", date.as_deref().unwrap_or(""), &commande);
    let warehouse = order.delivery.as_ref().and_then(|x| x.warehouse.as_deref());
    let method = order.payment.as_ref().and_then(|p| p.method.as_deref());
    if !xsd {
        out.optional(
            "reference",
            order.reference.as_deref(),
            &pointer(prefix, "reference"),
        );
        out.optional("depot", warehouse, &pointer(prefix, "delivery"));
        out.leaf(
            "currency",
            order.currency.code(),
            &pointer(prefix, "currency"),
        );
    } else {
        dropped.note(order.reference.is_some(), "reference");
        dropped.note(warehouse.is_some(), "delivery/warehouse");
        dropped.note(order.currency != s.currency, "currency");
    }
    let payment_pointer = pointer(prefix, "payment");
    if xsd {
        out.leaf("payment", method.unwrap_or(""), &payment_pointer);
    } else {
        out.optional("payment", method, &payment_pointer);
    }
    let money = |value: Option<Decimal>| value.map(number);
    let lines_pointer = pointer(prefix, "lines");
    let totals_pointer = pointer(prefix, "totals");
    // The spec's totals are written even when zero: 0 stands for "none" where that is
    // the truth (no discount, no shipping). An unknown total is an error in the XSD layout
    // rather than a made-up 0, and left out of the document layout.
    let amount =
        |out: &mut Out, name: &str, value: Option<String>, zero_is_truth: bool, at: &str| match (
            value, xsd,
        ) {
            (Some(value), _) => out.leaf(name, &value, at),
            (None, _) if zero_is_truth => out.leaf(name, "0", at),
            (None, true) => out.d.error(
                at,
                "econnecteur.value_missing",
                format!("the XSD requires {name}, and the order's lines do not give it"),
            ),
            (None, false) => {}
        };
    amount(
        out,
        "total_discounts",
        ext("commande/total_discounts").map(str::to_owned),
        true,
        &lines_pointer,
    );
    amount(
        out,
        "total_discounts_tax_incl",
        money(sums.discount_gross),
        true,
        &lines_pointer,
    );
    amount(
        out,
        "total_discounts_tax_excl",
        money(sums.discount_net),
        true,
        &lines_pointer,
    );
    let paid = order.totals.map(|t| t.gross).or_else(|| {
        order
            .computed_gross_total()
            .map(|v| order.currency.round(v))
    });
    amount(out, "total_paid", money(paid), false, &totals_pointer);
    if !xsd && paid.is_none() {
        out.leaf("total_paid", "", &totals_pointer);
    }
    // Product totals e-connecteur stated are written back as stated, and none is added
    // beside them; an order from elsewhere gets both, computed from its lines (the XSD
    // layout needs both in any case).
    let stated_gross = ext("commande/total_products").map(str::to_owned);
    let stated_net = ext("commande/total_products_wt").map(str::to_owned);
    let stated = stated_gross.is_some() || stated_net.is_some();
    let (products_gross, products_net) = if stated && !xsd {
        (stated_gross, stated_net)
    } else {
        (
            stated_gross.or(money(sums.products_gross)),
            stated_net.or(money(sums.products_net)),
        )
    };
    amount(out, "total_products", products_gross, false, &lines_pointer);
    amount(
        out,
        "total_products_wt",
        products_net,
        false,
        &lines_pointer,
    );
    amount(
        out,
        "total_shipping",
        money(sums.shipping),
        true,
        &lines_pointer,
    );
    let carrier_rate = money(sums.carrier_tax_rate)
        .or_else(|| ext("commande/carrier_tax_rate").map(str::to_owned));
    amount(out, "carrier_tax_rate", carrier_rate, true, &lines_pointer);
    let carrier = order.delivery.as_ref().and_then(|x| x.carrier.as_deref());
    out.leaf(
        "livreur",
        carrier.unwrap_or(""),
        &pointer(prefix, "delivery"),
    );
    let kind = match order.kind {
        OrderKind::Quote => Some("20"),
        OrderKind::Invoice => Some("23"),
        // A plain order leaves the document type to e-connecteur's configuration.
        OrderKind::Order => None,
        OrderKind::Cart | OrderKind::DeliveryNote | OrderKind::CreditNote => {
            dropped.note(true, "kind");
            None
        }
    };
    let status = match order.status {
        None => None,
        Some(OrderStatus::Draft) => Some("0"),
        Some(OrderStatus::Confirmed) => Some("1"),
        Some(OrderStatus::Processing) => Some("2"),
        Some(_) => {
            dropped.note(true, "status");
            None
        }
    };
    if xsd {
        dropped.note(kind.is_some(), "kind");
        dropped.note(status.is_some(), "status");
    } else {
        out.optional("type", kind, &pointer(prefix, "kind"));
        out.optional("statut", status, &pointer(prefix, "status"));
    }
    const WRITTEN: [&str; 4] = [
        "commande/total_discounts",
        "commande/total_products",
        "commande/total_products_wt",
        "commande/carrier_tax_rate",
    ];
    let unwritten = |key: &&String| !WRITTEN.contains(&key.as_str());
    let commande_extensions: Vec<_> = order
        .extensions
        .iter()
        .filter(|(key, _)| unwritten(key))
        .filter_map(|(key, value)| Some((key.strip_prefix("commande/")?, key, value)))
        .collect();
    write_extensions(out, commande_extensions, prefix, xsd, &mut dropped);
    out.end();

    // produits
    out.start("produits", &lines_pointer);
    for (i, line) in order.lines.iter().enumerate() {
        let line_pointer = format!("{lines_pointer}/{i}");
        match line.kind {
            LineKind::Article => encode_line(out, line, &line_pointer, xsd, &mut dropped),
            LineKind::Shipping | LineKind::Discount | LineKind::Voucher => {}
            LineKind::PaymentFee => dropped.note(true, &format!("lines/{i} (payment fee)")),
        }
    }
    out.end();

    let order_extensions: Vec<_> = order
        .extensions
        .iter()
        .filter(|(key, _)| !key.contains('/') && key.as_str() != "pdf")
        .map(|(key, value)| (key.as_str(), key, value))
        .collect();
    write_extensions(out, order_extensions, prefix, xsd, &mut dropped);
    let pdf = pdf.or(ext("pdf"));
    if xsd {
        dropped.note(pdf.is_some(), "pdf");
    } else {
        out.optional("pdf", pdf, &pointer(&pointer(prefix, "extensions"), "pdf"));
    }
    out.end();

    for (field, present) in [
        ("purchase_order", order.purchase_order.is_some()),
        ("comment", order.comment.is_some()),
        ("language", order.language.is_some()),
        ("channel", order.channel.is_some()),
    ] {
        dropped.note(present, field);
    }
    dropped.report(prefix, xsd, warnings);
}

/// Fields that have no place in what is written, reported once per document.
#[derive(Default)]
pub(crate) struct Dropped(BTreeSet<String>);

impl Dropped {
    pub(crate) fn note(&mut self, present: bool, field: &str) {
        if present {
            self.0.insert(field.to_owned());
        }
    }

    pub(crate) fn report(self, prefix: &str, xsd: bool, warnings: &mut Diagnostics) {
        if self.0.is_empty() {
            return;
        }
        let list: Vec<_> = self.0.into_iter().collect();
        let why = if xsd {
            "the XSD layout (order_format = \"xsd\") has no place for"
        } else {
            "an e-connecteur order has no place for"
        };
        warnings.warning(
            if prefix.is_empty() { "/" } else { prefix },
            "econnecteur.field_dropped",
            format!("{why}: {}", list.join(", ")),
        );
    }
}

/// Extensions written back as elements: `(element name, extension key, value)`.
fn write_extensions(
    out: &mut Out,
    entries: Vec<(&str, &String, &String)>,
    prefix: &str,
    xsd: bool,
    dropped: &mut Dropped,
) {
    for (name, key, value) in entries {
        if xsd || !is_valid_xml_name(name) {
            dropped.note(true, &format!("extensions/{key}"));
        } else {
            out.leaf(name, value, &pointer(&pointer(prefix, "extensions"), key));
        }
    }
}

/// `street house_number ext` on one line, as `address1` holds it.
pub(crate) fn street_line(address: &Address) -> Option<String> {
    let parts: Vec<&str> = [
        address.street.as_deref(),
        address.house_number.as_deref(),
        address.house_number_ext.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn encode_address(
    out: &mut Out,
    name: &str,
    address: Option<&Address>,
    at: &str,
    s: &Settings,
    billing: bool,
    dropped: &mut Dropped,
) {
    let xsd = s.order_format == OrderFormat::Xsd;
    let empty = Address::default();
    let address = address.unwrap_or(&empty);
    let field = |f: &str| pointer(at, f);
    out.start(name, at);
    // The spec writes the ISO code; the XSD requires it.
    let country = address
        .country
        .map(|country| {
            if xsd {
                country.alpha2()
            } else {
                s.countries.write(country, CountryForm::Iso)
            }
        })
        .or_else(|| address.extensions.get("pays").map(String::as_str));
    if xsd && address.country.is_none() {
        out.d.error(
            field("country"),
            "econnecteur.value_missing",
            format!("the XSD requires <{name}><pays> as a 2-letter ISO code"),
        );
    }
    out.leaf("pays", country.unwrap_or(""), &field("country"));
    let street = street_line(address);
    let extra = (!address.extra_lines.is_empty()).then(|| address.extra_lines.join(", "));
    // Optional elements are written when known, or always in the XSD layout.
    let optional = |out: &mut Out, element: &str, value: Option<&str>, f: &str| {
        if xsd {
            out.leaf(element, value.unwrap_or(""), &field(f));
        } else {
            out.optional(element, value, &field(f));
        }
    };
    optional(out, "company", address.company.as_deref(), "company");
    out.leaf(
        "lastname",
        address.last_name.as_deref().unwrap_or(""),
        &field("last_name"),
    );
    out.leaf(
        "firstname",
        address.first_name.as_deref().unwrap_or(""),
        &field("first_name"),
    );
    out.leaf(
        "address1",
        street.as_deref().unwrap_or(""),
        &field("street"),
    );
    optional(out, "address2", extra.as_deref(), "extra_lines");
    out.leaf(
        "postcode",
        address.postal_code.as_deref().unwrap_or(""),
        &field("postal_code"),
    );
    out.leaf(
        "city",
        address.city.as_deref().unwrap_or(""),
        &field("city"),
    );
    optional(out, "phone", address.phone.as_deref(), "phone");
    optional(out, "phone_mobile", address.mobile.as_deref(), "mobile");
    if billing || !xsd {
        out.optional(
            "vat_number",
            address.vat_number.as_deref(),
            &field("vat_number"),
        );
    } else {
        dropped.note(address.vat_number.is_some(), &format!("{name}/vat_number"));
    }
    let extensions: Vec<_> = address
        .extensions
        .iter()
        .filter(|(key, _)| key.as_str() != "pays" || address.country.is_some())
        .map(|(key, value)| (key.as_str(), key, value))
        .collect();
    for (element, key, value) in extensions {
        if xsd || !is_valid_xml_name(element) {
            dropped.note(true, &format!("{name}/extensions/{key}"));
        } else {
            out.leaf(element, value, &pointer(&field("extensions"), key));
        }
    }
    out.end();
    for (f, present) in [
        ("label", address.label.is_some()),
        ("title", address.title.is_some()),
        ("contact", address.contact.is_some()),
        ("region", address.region.is_some()),
        ("fax", address.fax.is_some()),
        ("email", address.email.is_some()),
    ] {
        dropped.note(present, &format!("{name}/{f}"));
    }
}

fn encode_client(out: &mut Out, order: &Order, prefix: &str, xsd: bool, dropped: &mut Dropped) {
    let at = pointer(prefix, "customer");
    let empty = Party::default();
    let party = order.customer.as_ref().unwrap_or(&empty);
    let field = |f: &str| pointer(&at, f);
    out.start("client", &at);
    if xsd {
        // xs:unsignedInt: the shop's numeric customer id.
        let id = party.id.as_deref().unwrap_or("");
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || id.parse::<u32>().is_err() {
            out.d.error(
                field("id"),
                "econnecteur.value_missing",
                format!(
                    "the XSD requires the customer's id as a whole number, got {}",
                    quote(id)
                ),
            );
        }
        out.leaf("id", id, &field("id"));
        dropped.note(party.erp_code.is_some(), "customer/erp_code");
    } else {
        out.optional("id", party.id.as_deref(), &field("id"));
        out.optional("code_erp", party.erp_code.as_deref(), &field("erp_code"));
    }
    out.leaf(
        "lastname",
        party.last_name.as_deref().unwrap_or(""),
        &field("last_name"),
    );
    out.leaf(
        "firstname",
        party.first_name.as_deref().unwrap_or(""),
        &field("first_name"),
    );
    out.leaf(
        "email",
        party.email.as_deref().unwrap_or(""),
        &field("email"),
    );
    let extensions: Vec<_> = order
        .extensions
        .iter()
        .filter_map(|(key, value)| Some((key.strip_prefix("client/")?, key, value)))
        .collect();
    write_extensions(out, extensions, prefix, xsd, dropped);
    out.end();
    for (f, present) in [
        ("company", party.company.is_some()),
        ("phone", party.phone.is_some()),
        ("vat_number", party.vat_number.is_some()),
        ("language", party.language.is_some()),
    ] {
        dropped.note(present, &format!("customer/{f}"));
    }
}

fn encode_line(out: &mut Out, line: &OrderLine, at: &str, xsd: bool, dropped: &mut Dropped) {
    let field = |f: &str| pointer(at, f);
    out.start("product", at);
    out.leaf(
        "product_reference",
        line.sku.as_deref().unwrap_or(""),
        &field("sku"),
    );
    let quantity = if xsd {
        // xs:byte: a whole number from -128 to 127.
        let whole = line.quantity.normalize();
        if whole.fract().is_zero() && whole <= Decimal::from(127) && whole >= Decimal::from(-128) {
            whole.trunc().to_string()
        } else {
            out.d.error(
                field("quantity"),
                "econnecteur.xsd_quantity",
                format!(
                    "the XSD types product_quantity as xs:byte (a whole number up to 127); {} does not fit",
                    line.quantity
                ),
            );
            String::new()
        }
    } else {
        number(line.quantity)
    };
    out.leaf("product_quantity", &quantity, &field("quantity"));
    out.leaf(
        "product_name",
        line.description.as_deref().unwrap_or(""),
        &field("description"),
    );
    let basis = line.price_basis_quantity.unwrap_or(Decimal::ONE);
    // The net unit price as stated, or computed from the gross one (to 4 decimals, as
    // ERPs hold prices); per unit, not per price basis.
    let stated_or_computed = line.unit_price.and_then(|price| {
        price
            .net
            .or_else(|| Some(price.net_with(line.vat_rate)?.round_dp(4)))
    });
    let net = stated_or_computed.and_then(|unit| {
        if basis == Decimal::ONE {
            Some(unit)
        } else {
            unit.checked_div(basis).map(|v| v.round_dp(4))
        }
    });
    let required =
        |out: &mut Out, name: &str, value: Option<Decimal>, f: &str, zero_is_truth: bool| match (
            value, xsd,
        ) {
            (Some(value), _) => out.leaf(name, &number(value), &field(f)),
            (None, true) if zero_is_truth => out.leaf(name, "0", &field(f)),
            (None, true) => out.d.error(
                field(f),
                "econnecteur.value_missing",
                format!("the XSD requires {name}"),
            ),
            (None, false) => out.leaf(name, "", &field(f)),
        };
    required(out, "product_price", net, "unit_price", false);
    required(out, "tva_rate", line.vat_rate, "vat_rate", false);
    if xsd || line.eco_tax.is_some() {
        required(out, "ecotax", line.eco_tax, "eco_tax", true);
    }
    // Options by name (`gamme1`, `gamme2` as decoded), others into the free slots.
    let mut slots: [Option<&str>; 2] = [None, None];
    let mut others = Vec::new();
    for option in &line.options {
        match &*option.name {
            "gamme1" if slots[0].is_none() => slots[0] = Some(&option.value),
            "gamme2" if slots[1].is_none() => slots[1] = Some(&option.value),
            _ => others.push(option.value.as_str()),
        }
    }
    for value in others {
        match slots.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(value),
            None => dropped.note(true, &format!("{}/options", at.trim_start_matches('/'))),
        }
    }
    if xsd {
        dropped.note(slots.iter().any(Option::is_some), "lines/options");
    } else {
        out.optional("product_gamme1", slots[0], &field("options"));
        out.optional("product_gamme2", slots[1], &field("options"));
    }
    let extensions: Vec<_> = line
        .extensions
        .iter()
        .map(|(key, value)| (key.as_str(), key, value))
        .collect();
    for (name, key, value) in extensions {
        if xsd || !is_valid_xml_name(name) {
            dropped.note(true, &format!("lines/extensions/{key}"));
        } else {
            out.leaf(name, value, &pointer(&field("extensions"), key));
        }
    }
    out.end();
    for (f, present) in [
        ("product_id", line.product_id.is_some()),
        ("gtin", line.gtin.is_some()),
        ("unit", line.unit.is_some()),
        ("comment", line.comment.is_some()),
    ] {
        dropped.note(present, &format!("lines/{f}"));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::common::parse_xml;
    use tradewire_sdk::core::Decimal;

    fn settings() -> Settings {
        Settings::default()
    }

    fn decode_text(xml: &str, s: &Settings) -> (Option<Order>, Diagnostics) {
        let root = parse_xml(xml.as_bytes(), 1 << 20).unwrap();
        let mut d = Diagnostics::new();
        let order = decode_document(&root, s, &mut d);
        (order, d)
    }

    #[test]
    fn types_and_statuses_map_both_ways() {
        let xml = "<connecteur><order><commande><type>20</type><statut>2</statut></commande>\
                   <produits><product><product_reference>A</product_reference><product_quantity>1</product_quantity></product></produits></order></connecteur>";
        let (order, d) = decode_text(xml, &settings());
        let order = order.unwrap();
        assert!(!d.has_errors(), "{d}");
        assert_eq!(order.kind, OrderKind::Quote);
        assert_eq!(order.status, Some(OrderStatus::Processing));
        let (bytes, _) = encode_document(&order, &settings()).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("<type>20</type>"), "{text}");
        assert!(text.contains("<statut>2</statut>"), "{text}");
    }

    #[test]
    fn a_missing_quantity_is_an_error_at_its_element() {
        let xml = "<connecteur><order><produits><product><product_reference>A</product_reference></product></produits></order></connecteur>";
        let (_, d) = decode_text(xml, &settings());
        assert_eq!(
            d.as_slice()[0].path,
            "/connecteur/order/produits/product[1]/product_quantity"
        );
    }

    #[test]
    fn sums_keep_a_single_stated_amount_exact() {
        assert_eq!(
            sum_known([Some(Decimal::new(200000, 4))]),
            Some(Decimal::new(200000, 4))
        );
        assert_eq!(sum_known([Some(Decimal::ONE), None]), None);
        assert_eq!(sum_known([]), None);
    }
}
