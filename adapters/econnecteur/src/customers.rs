//! Customers ↔ [`CustomerList`], in the two shapes the protocol has:
//!
//! - the ERP's push (`add_customer`): `<clients><client identifiant="…">` with French
//!   field names, contacts, delivery addresses and the billing address, either all
//!   customers under `<clients>` or one `<client>` at a time, each inside `<connecteur>`
//!   (or `<clients>` as the root, as the spec's example has it). Since e-connecteur
//!   6.2.182, with EBP, each contact of a customer may come as its own `client` node:
//!   nodes with the same identifier are merged into one customer.
//! - the shop's answer to `customers_list`: `<customers>` holding, per customer, an
//!   `<adresse>` followed by its `<client>`.

use tradewire_sdk::core::{
    Address, Contact, Customer, CustomerList, Diagnostics, Payer, PaymentTerms,
};
use tradewire_sdk::xml::{Element, is_valid_xml_name};

use crate::CountryForm;
use crate::common::{
    At, Countries, ENVELOPE, Out, boolean, decimal, format_bool, keep_unknown, number, pointer,
    quote, text,
};
use crate::order::{read_country, street_line};

/// Decodes either shape (see the module documentation), telling them apart by element.
pub(crate) fn decode_document(
    root: &Element<'_>,
    countries: &Countries,
    d: &mut Diagnostics,
) -> Option<CustomerList> {
    match &*root.name {
        "clients" => Some(decode_clients(
            root.children.iter(),
            "/clients",
            countries,
            d,
        )),
        "connecteur" => {
            let mut clients = Vec::new();
            let mut answer = None;
            for child in &root.children {
                let path = At::new("/connecteur", &child.name).to_string();
                match &*child.name {
                    "clients" => clients.extend(
                        child
                            .children
                            .iter()
                            .map(|c| (c, At::new(&path, &c.name).to_string())),
                    ),
                    "client" => clients.push((child, path)),
                    "customers" if answer.is_none() => {
                        answer = Some(decode_answer(child, &path, countries, d))
                    }
                    name if ENVELOPE.contains(&name) => {}
                    _ => d.warning(
                        path,
                        "econnecteur.ignored",
                        format!(
                            "<{}> is not part of a customer document and is ignored",
                            child.name
                        ),
                    ),
                }
            }
            match answer {
                Some(list) if clients.is_empty() => Some(list),
                Some(_) => {
                    d.error(
                        "/connecteur",
                        "econnecteur.mixed_customers",
                        "a document holds <customers> or <client> nodes, not both",
                    );
                    None
                }
                None => Some(decode_client_nodes(clients, countries, d)),
            }
        }
        other => {
            d.error(
                format!("/{other}"),
                "econnecteur.bad_root",
                format!("expected <connecteur> or <clients>, found <{other}>"),
            );
            None
        }
    }
}

/// Reads `client` nodes (others are ignored with a warning), merging nodes of one customer.
fn decode_clients<'a>(
    nodes: impl Iterator<Item = &'a Element<'a>>,
    path: &str,
    countries: &Countries,
    d: &mut Diagnostics,
) -> CustomerList {
    decode_client_nodes(
        nodes
            .map(|c| (c, At::new(path, &c.name).to_string()))
            .collect(),
        countries,
        d,
    )
}

fn decode_client_nodes(
    nodes: Vec<(&Element<'_>, String)>,
    countries: &Countries,
    d: &mut Diagnostics,
) -> CustomerList {
    let mut customers: Vec<Customer> = Vec::new();
    for (i, (node, path)) in nodes.into_iter().enumerate() {
        let here = format!("{path}[{}]", i + 1);
        if node.name != "client" {
            d.warning(here, "econnecteur.ignored", "expected <client>");
            continue;
        }
        let customer = decode_client(node, &here, countries, d);
        let key = customer.id.clone().or_else(|| customer.erp_code.clone());
        match customers.iter_mut().find(|known| {
            key.is_some() && known.id.clone().or_else(|| known.erp_code.clone()) == key
        }) {
            Some(known) => merge(known, customer),
            None => customers.push(customer),
        }
    }
    CustomerList { customers }
}

/// Adds what a later node of the same customer says: its contacts and delivery
/// addresses, and the fields the first node left empty.
fn merge(known: &mut Customer, later: Customer) {
    fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
        if slot.is_none() {
            *slot = value;
        }
    }
    known.contacts.extend(later.contacts);
    for address in later.delivery_addresses {
        if !known.delivery_addresses.contains(&address) {
            known.delivery_addresses.push(address);
        }
    }
    fill(&mut known.erp_code, later.erp_code);
    fill(&mut known.company, later.company);
    fill(&mut known.first_name, later.first_name);
    fill(&mut known.last_name, later.last_name);
    fill(&mut known.email, later.email);
    fill(&mut known.phone, later.phone);
    fill(&mut known.fax, later.fax);
    fill(&mut known.sales_rep, later.sales_rep);
    fill(&mut known.payment_terms, later.payment_terms);
    fill(&mut known.price_category, later.price_category);
    fill(&mut known.discount_rate, later.discount_rate);
    fill(&mut known.payer, later.payer);
    fill(&mut known.active, later.active);
    fill(&mut known.billing_address, later.billing_address);
    for (key, value) in later.extensions {
        known.extensions.entry(key).or_insert(value);
    }
}

fn decode_client(
    node: &Element<'_>,
    path: &str,
    countries: &Countries,
    d: &mut Diagnostics,
) -> Customer {
    let mut customer = Customer::default();
    for (name, value) in &node.attributes {
        match &**name {
            "identifiant" => customer.id = Some(value.trim().to_owned()).filter(|v| !v.is_empty()),
            other => {
                customer
                    .extensions
                    .insert(format!("@{other}"), value.to_string());
            }
        }
    }
    let mut terms = PaymentTerms::default();
    let mut payer = Payer::default();
    let mut actif = None;
    let mut tiers_actif = None;
    for child in &node.children {
        let here = At::new(path, &child.name);
        let value = text(child);
        match &*child.name {
            "codetiers" => customer.erp_code = value,
            "nom" => customer.last_name = value,
            "prenom" => customer.first_name = value,
            "societe" => customer.company = value,
            "telephone" => customer.phone = value,
            "telecopie" => customer.fax = value,
            "email" => customer.email = value,
            "commercial" => customer.sales_rep = value,
            "conditionreglementid" => terms.id = value,
            "conditionreglement" => terms.label = value,
            "catégorietarifaire" | "categorietarifaire" => customer.price_category = value,
            "tauxderemise" => customer.discount_rate = decimal(d, here, child),
            "payeurid" => payer.id = value,
            "payeur" => payer.name = value,
            "actif" => actif = boolean(d, here, child),
            "tiers_actif" => tiers_actif = boolean(d, here, child),
            "contacts" => {
                for (i, contact) in child.children.iter().enumerate() {
                    let contact_path = format!("{here}/contact[{}]", i + 1);
                    if contact.name == "contact" {
                        let index = customer.contacts.len();
                        let decoded =
                            decode_contact(contact, &contact_path, index, &mut customer, d);
                        customer.contacts.push(decoded);
                    } else {
                        d.warning(contact_path, "econnecteur.ignored", "expected <contact>");
                    }
                }
            }
            "livraisons" => {
                for (i, livraison) in child.children.iter().enumerate() {
                    let address_path = format!("{here}/livraison[{}]", i + 1);
                    if livraison.name == "livraison" {
                        let address = decode_address(livraison, &address_path, countries, d);
                        customer.delivery_addresses.push(address);
                    } else {
                        d.warning(address_path, "econnecteur.ignored", "expected <livraison>");
                    }
                }
            }
            "facturation" => {
                customer.billing_address =
                    Some(decode_address(child, &here.to_string(), countries, d))
            }
            name => keep_unknown(d, here, name.to_owned(), child, &mut customer.extensions),
        }
    }
    // `tiers_actif` (e-connecteur 6.2.182) says whether the customer is active; the older
    // `actif` stays for compatibility.
    if let (Some(old), Some(new)) = (actif, tiers_actif)
        && old != new
    {
        d.warning(
            At::new(path, "actif"),
            "econnecteur.post_xml_mismatch",
            "actif and tiers_actif disagree; tiers_actif is used",
        );
    }
    customer.active = tiers_actif.or(actif);
    if terms != PaymentTerms::default() {
        customer.payment_terms = Some(terms);
    }
    if payer != Payer::default() {
        customer.payer = Some(payer);
    }
    customer
}

fn decode_contact(
    element: &Element<'_>,
    path: &str,
    index: usize,
    customer: &mut Customer,
    d: &mut Diagnostics,
) -> Contact {
    let mut contact = Contact::default();
    for child in &element.children {
        let here = At::new(path, &child.name);
        let value = text(child);
        match &*child.name {
            "nom" => contact.last_name = value,
            "prenom" => contact.first_name = value,
            "contact" | "civilite_nom" => contact.name = value,
            "telephone" => contact.phone = value,
            "email" => contact.email = value,
            "contact_actif" | "actif" => contact.active = boolean(d, here, child),
            name => keep_unknown(
                d,
                here,
                format!("contacts/{index}/{name}"),
                child,
                &mut customer.extensions,
            ),
        }
    }
    contact
}

fn decode_address(
    element: &Element<'_>,
    path: &str,
    countries: &Countries,
    d: &mut Diagnostics,
) -> Address {
    let mut address = Address::default();
    for child in &element.children {
        let here = At::new(path, &child.name);
        let value = text(child);
        match &*child.name {
            "telephone" => address.phone = value,
            "telecopie" => address.fax = value,
            "email" => address.email = value,
            "adresse" => address.street = value,
            "complement" => address.extra_lines.extend(value),
            "codepostal" => address.postal_code = value,
            "ville" => address.city = value,
            "coderegion" => address.region = value,
            "contact" => address.contact = value,
            "intitule" => address.label = value,
            "societe" => address.company = value,
            "nom" => address.last_name = value,
            "prenom" => address.first_name = value,
            "pays" => {
                // ERPs send names ("France", "Belgique"); the model holds ISO codes.
                if let Some(value) = value {
                    read_country(&value, here, countries, &mut address, d);
                }
            }
            name => keep_unknown(d, here, name.to_owned(), child, &mut address.extensions),
        }
    }
    address
}

/// The `customers_list` answer: an `<adresse>` belongs to the `<client>` after it.
fn decode_answer(
    element: &Element<'_>,
    path: &str,
    countries: &Countries,
    d: &mut Diagnostics,
) -> CustomerList {
    let mut customers = Vec::new();
    let mut pending_address = None;
    for (i, child) in element.children.iter().enumerate() {
        let here = format!("{path}/{}[{}]", child.name, i + 1);
        match &*child.name {
            "adresse" => {
                let mut address = Address::default();
                for field in &child.children {
                    let value = text(field);
                    match &*field.name {
                        "pays" => {
                            if let Some(text) = value {
                                match countries.read(&text) {
                                    Some(country) => address.country = Some(country),
                                    None => d.error(
                                        At::new(&here, "pays"),
                                        "econnecteur.bad_country",
                                        format!(
                                            "{} is no ISO 3166-1 code nor a country's name in English, French, Dutch or German",
                                            quote(&text)
                                        ),
                                    ),
                                }
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
                        name => keep_unknown(
                            d,
                            At::new(&here, name),
                            name.to_owned(),
                            field,
                            &mut address.extensions,
                        ),
                    }
                }
                pending_address = Some(address);
            }
            "client" => {
                let mut customer = Customer {
                    billing_address: pending_address.take(),
                    ..Customer::default()
                };
                for field in &child.children {
                    let value = text(field);
                    match &*field.name {
                        "id" => customer.id = value,
                        "lastname" => customer.last_name = value,
                        "firstname" => customer.first_name = value,
                        "email" => customer.email = value,
                        name => keep_unknown(
                            d,
                            At::new(&here, name),
                            name.to_owned(),
                            field,
                            &mut customer.extensions,
                        ),
                    }
                }
                customers.push(customer);
            }
            _ => d.warning(
                here,
                "econnecteur.ignored",
                "expected <adresse> or <client>",
            ),
        }
    }
    if pending_address.is_some() {
        d.warning(
            path,
            "econnecteur.ignored",
            "an <adresse> without a <client> after it is ignored",
        );
    }
    CustomerList { customers }
}

// ---------------------------------------------------------------------------------------
// Encoding

/// Writes the ERP's push: `<connecteur><clients>…</clients></connecteur>`.
pub(crate) fn encode_push_document(
    list: &CustomerList,
    countries: &Countries,
) -> Result<(Vec<u8>, Diagnostics), Diagnostics> {
    let mut out = Out::document();
    let mut warnings = Diagnostics::new();
    out.start("connecteur", "");
    encode_push(&mut out, list, "", countries, &mut warnings);
    out.end();
    out.finish(warnings)
}

/// Writes the `customers_list` answer: `<connecteur><customers>…</customers></connecteur>`.
pub(crate) fn encode_answer_document(
    list: &CustomerList,
    countries: &Countries,
) -> Result<(Vec<u8>, Diagnostics), Diagnostics> {
    let mut out = Out::document();
    let mut warnings = Diagnostics::new();
    out.start("connecteur", "");
    encode_answer(&mut out, list, "", countries, &mut warnings);
    out.end();
    out.finish(warnings)
}

/// Writes `<clients>`, customers at `prefix/customers/N`.
pub(crate) fn encode_push(
    out: &mut Out,
    list: &CustomerList,
    prefix: &str,
    countries: &Countries,
    warnings: &mut Diagnostics,
) {
    out.start("clients", &format!("{prefix}/customers"));
    for (i, customer) in list.customers.iter().enumerate() {
        let at = format!("{prefix}/customers/{i}");
        let field = |f: &str| format!("{at}/{f}");
        let mut attributes = Vec::new();
        if let Some(id) = &customer.id {
            attributes.push(("identifiant", id.as_str()));
        }
        let attribute_extensions: Vec<(String, &str)> = customer
            .extensions
            .iter()
            .filter_map(|(key, value)| Some((key.strip_prefix('@')?.to_owned(), value.as_str())))
            .filter(|(name, _)| name != "identifiant" && is_valid_xml_name(name))
            .collect();
        attributes.extend(attribute_extensions.iter().map(|(n, v)| (n.as_str(), *v)));
        out.start_with("client", &attributes, &at);
        let terms = customer.payment_terms.clone().unwrap_or_default();
        let payer = customer.payer.clone().unwrap_or_default();
        let active = customer.active.map(format_bool);
        for (name, value, f) in [
            ("codetiers", customer.erp_code.as_deref(), "erp_code"),
            ("nom", customer.last_name.as_deref(), "last_name"),
            ("prenom", customer.first_name.as_deref(), "first_name"),
            ("societe", customer.company.as_deref(), "company"),
            ("telephone", customer.phone.as_deref(), "phone"),
            ("telecopie", customer.fax.as_deref(), "fax"),
            ("email", customer.email.as_deref(), "email"),
            ("commercial", customer.sales_rep.as_deref(), "sales_rep"),
            (
                "conditionreglementid",
                terms.id.as_deref(),
                "payment_terms/id",
            ),
            (
                "conditionreglement",
                terms.label.as_deref(),
                "payment_terms/label",
            ),
            (
                "catégorietarifaire",
                customer.price_category.as_deref(),
                "price_category",
            ),
            (
                "tauxderemise",
                customer.discount_rate.map(number).as_deref(),
                "discount_rate",
            ),
            ("payeurid", payer.id.as_deref(), "payer/id"),
            ("payeur", payer.name.as_deref(), "payer/name"),
            // Both flags: `tiers_actif` for e-connecteur 6.2.182 and later, `actif` before.
            ("actif", active, "active"),
            ("tiers_actif", active, "active"),
        ] {
            out.optional(name, value, &field(f));
        }
        if !customer.contacts.is_empty() {
            out.start("contacts", &field("contacts"));
            for (j, contact) in customer.contacts.iter().enumerate() {
                let contact_at = format!("{at}/contacts/{j}");
                out.start("contact", &contact_at);
                for (name, value, f) in [
                    ("nom", contact.last_name.as_deref(), "last_name"),
                    ("prenom", contact.first_name.as_deref(), "first_name"),
                    ("contact", contact.name.as_deref(), "name"),
                    ("telephone", contact.phone.as_deref(), "phone"),
                    ("email", contact.email.as_deref(), "email"),
                    ("contact_actif", contact.active.map(format_bool), "active"),
                ] {
                    out.optional(name, value, &pointer(&contact_at, f));
                }
                let prefix = format!("contacts/{j}/");
                for (key, value) in &customer.extensions {
                    if let Some(name) = key.strip_prefix(&prefix) {
                        out.leaf(name, value, &pointer(&field("extensions"), key));
                    }
                }
                out.end();
            }
            out.end();
        }
        if !customer.delivery_addresses.is_empty() {
            out.start("livraisons", &field("delivery_addresses"));
            for (j, address) in customer.delivery_addresses.iter().enumerate() {
                encode_address(
                    out,
                    "livraison",
                    address,
                    &format!("{at}/delivery_addresses/{j}"),
                    countries,
                    warnings,
                );
            }
            out.end();
        }
        if let Some(address) = &customer.billing_address {
            encode_address(
                out,
                "facturation",
                address,
                &field("billing_address"),
                countries,
                warnings,
            );
        }
        for (key, value) in &customer.extensions {
            if key.starts_with('@') || key.starts_with("contacts/") {
                continue;
            }
            let at = pointer(&field("extensions"), key);
            if is_valid_xml_name(key) {
                out.leaf(key, value, &at);
            } else {
                warnings.warning(
                    at,
                    "econnecteur.field_dropped",
                    format!(
                        "{} is not a valid XML element name; the extension is left out",
                        quote(key)
                    ),
                );
            }
        }
        out.end();
        if customer.updated_at.is_some() || customer.vat_number.is_some() {
            warnings.warning(
                &at,
                "econnecteur.field_dropped",
                "a customer push has no place for updated_at or vat_number",
            );
        }
    }
    out.end();
}

fn encode_address(
    out: &mut Out,
    name: &str,
    address: &Address,
    at: &str,
    countries: &Countries,
    warnings: &mut Diagnostics,
) {
    let field = |f: &str| pointer(at, f);
    out.start(name, at);
    let street = street_line(address);
    let extra = (!address.extra_lines.is_empty()).then(|| address.extra_lines.join(", "));
    // The spec's push carries names (`France`).
    let country = address
        .country
        .map(|country| countries.write(country, CountryForm::En))
        .or_else(|| address.extensions.get("pays").map(String::as_str));
    for (element, value, f) in [
        ("intitule", address.label.as_deref(), "label"),
        ("societe", address.company.as_deref(), "company"),
        ("nom", address.last_name.as_deref(), "last_name"),
        ("prenom", address.first_name.as_deref(), "first_name"),
        ("contact", address.contact.as_deref(), "contact"),
        ("telephone", address.phone.as_deref(), "phone"),
        ("telecopie", address.fax.as_deref(), "fax"),
        ("email", address.email.as_deref(), "email"),
        ("adresse", street.as_deref(), "street"),
        ("complement", extra.as_deref(), "extra_lines"),
        ("codepostal", address.postal_code.as_deref(), "postal_code"),
        ("ville", address.city.as_deref(), "city"),
        ("coderegion", address.region.as_deref(), "region"),
        ("pays", country, "country"),
    ] {
        out.optional(element, value, &field(f));
    }
    for (key, value) in &address.extensions {
        if key == "pays" {
            continue;
        }
        if is_valid_xml_name(key) {
            out.leaf(key, value, &pointer(&field("extensions"), key));
        } else {
            warnings.warning(
                field("extensions"),
                "econnecteur.field_dropped",
                format!("{} is not a valid XML element name", quote(key)),
            );
        }
    }
    out.end();
    if address.mobile.is_some() || address.title.is_some() || address.vat_number.is_some() {
        warnings.warning(
            at,
            "econnecteur.field_dropped",
            "a customer address has no place for mobile, title or vat_number",
        );
    }
}

/// Writes `<customers>`: per customer its billing address (when known), then `<client>`.
pub(crate) fn encode_answer(
    out: &mut Out,
    list: &CustomerList,
    prefix: &str,
    countries: &Countries,
    warnings: &mut Diagnostics,
) {
    out.start("customers", &format!("{prefix}/customers"));
    for (i, customer) in list.customers.iter().enumerate() {
        let at = format!("{prefix}/customers/{i}");
        if let Some(address) = &customer.billing_address {
            let address_at = format!("{at}/billing_address");
            let field = |f: &str| pointer(&address_at, f);
            out.start("adresse", &address_at);
            // The spec's answer carries the ISO code.
            out.leaf(
                "pays",
                address
                    .country
                    .map_or("", |country| countries.write(country, CountryForm::Iso)),
                &field("country"),
            );
            out.optional("company", address.company.as_deref(), &field("company"));
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
                street_line(address).as_deref().unwrap_or(""),
                &field("street"),
            );
            let extra = (!address.extra_lines.is_empty()).then(|| address.extra_lines.join(", "));
            out.optional("address2", extra.as_deref(), &field("extra_lines"));
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
            out.optional("phone", address.phone.as_deref(), &field("phone"));
            out.optional("phone_mobile", address.mobile.as_deref(), &field("mobile"));
            for (key, value) in &address.extensions {
                if is_valid_xml_name(key) {
                    out.leaf(key, value, &pointer(&field("extensions"), key));
                }
            }
            out.end();
        }
        out.start("client", &at);
        out.leaf(
            "id",
            customer.id.as_deref().unwrap_or(""),
            &format!("{at}/id"),
        );
        out.leaf(
            "lastname",
            customer.last_name.as_deref().unwrap_or(""),
            &format!("{at}/last_name"),
        );
        out.leaf(
            "firstname",
            customer.first_name.as_deref().unwrap_or(""),
            &format!("{at}/first_name"),
        );
        out.leaf(
            "email",
            customer.email.as_deref().unwrap_or(""),
            &format!("{at}/email"),
        );
        for (key, value) in &customer.extensions {
            if is_valid_xml_name(key) {
                out.leaf(key, value, &pointer(&format!("{at}/extensions"), key));
            }
        }
        out.end();
        if customer.contacts.len() + customer.delivery_addresses.len() > 0
            || customer.erp_code.is_some()
        {
            warnings.warning(
                &at,
                "econnecteur.field_dropped",
                "the customers_list answer carries the id, names, e-mail and one address; contacts, delivery addresses and the ERP code are left out",
            );
        }
    }
    out.end();
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::common::parse_xml;
    use tradewire_sdk::core::Country;

    fn decode_text(xml: &str, d: &mut Diagnostics) -> Option<CustomerList> {
        let root = parse_xml(xml.as_bytes(), 1 << 20).unwrap();
        decode_document(&root, &Countries::new(None), d)
    }

    #[test]
    fn nodes_of_one_customer_are_merged_and_flags_read() {
        let xml = "<connecteur><clients>\
            <client identifiant=\"C1\"><codetiers>C1</codetiers><nom>Or</nom><tiers_actif>1</tiers_actif><actif>1</actif>\
              <contacts><contact><email>a@or.fr</email><contact_actif>1</contact_actif></contact></contacts></client>\
            <client identifiant=\"C1\"><codetiers>C1</codetiers><tiers_actif>1</tiers_actif>\
              <contacts><contact><email>b@or.fr</email><contact_actif>0</contact_actif></contact></contacts></client>\
            </clients></connecteur>";
        let mut d = Diagnostics::new();
        let list = decode_text(xml, &mut d).unwrap();
        assert!(d.is_empty(), "{d}");
        assert_eq!(list.customers.len(), 1);
        let customer = &list.customers[0];
        assert_eq!(customer.active, Some(true));
        assert_eq!(customer.contacts.len(), 2);
        assert_eq!(customer.contacts[1].active, Some(false));
    }

    #[test]
    fn country_names_in_four_languages_become_codes() {
        let pays = [
            ("France", Some("FR")),
            ("Belgique", Some("BE")),
            ("Allemagne", Some("DE")),
            ("Pays-Bas", Some("NL")),
            ("Deutschland", Some("DE")),
            ("Netherlands", Some("NL")),
            ("NL", Some("NL")),
            ("Atlantis", None),
        ];
        let livraisons: String = pays
            .iter()
            .map(|(name, _)| format!("<livraison><pays>{name}</pays></livraison>"))
            .collect();
        let xml = format!(
            "<clients><client identifiant=\"B\"><livraisons>{livraisons}</livraisons></client></clients>"
        );
        let mut d = Diagnostics::new();
        let list = decode_text(&xml, &mut d).unwrap();
        let addresses = &list.customers[0].delivery_addresses;
        for ((name, code), address) in pays.iter().zip(addresses) {
            assert_eq!(address.country.map(Country::alpha2), *code, "{name}");
        }
        assert_eq!(
            addresses[7].extensions.get("pays").map(String::as_str),
            Some("Atlantis")
        );
        assert_eq!(d.len(), 1, "{d}");
        assert_eq!(d.as_slice()[0].code, "econnecteur.bad_country");
        assert_eq!(
            d.as_slice()[0].path,
            "/clients/client[1]/livraisons/livraison[8]/pays"
        );
    }

    #[test]
    fn the_push_writes_names_and_the_answer_codes_unless_configured() {
        let xml = "<clients><client identifiant=\"B\"><facturation><pays>Allemagne</pays></facturation></client></clients>";
        let mut d = Diagnostics::new();
        let list = decode_text(xml, &mut d).unwrap();
        let written = |form: Option<CountryForm>, push: bool| {
            let countries = Countries::new(form);
            let (bytes, _) = if push {
                encode_push_document(&list, &countries)
            } else {
                encode_answer_document(&list, &countries)
            }
            .unwrap();
            let text = String::from_utf8(bytes).unwrap();
            let start = text.find("<pays>").unwrap() + "<pays>".len();
            let end = text.find("</pays>").unwrap();
            text[start..end].to_owned()
        };
        assert_eq!(written(None, true), "Germany");
        assert_eq!(written(None, false), "DE");
        for (form, name) in [
            (CountryForm::Iso, "DE"),
            (CountryForm::En, "Germany"),
            (CountryForm::Fr, "Allemagne"),
            (CountryForm::Nl, "Duitsland"),
            (CountryForm::De, "Deutschland"),
        ] {
            assert_eq!(written(Some(form), true), name);
            assert_eq!(written(Some(form), false), name);
        }
    }
}
