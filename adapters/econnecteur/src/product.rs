//! A product push (`update_product`, `add_product`, `update_option`) ↔ [`Product`].
//!
//! The fields come as children of `<connecteur>` and, for simple fields, also as flat
//! POST variables. Two vocabularies are in use: the spec's French names (`nom`,
//! `p_vente`, `desc_longue`, ...) and, in the gammes and traductions examples,
//! PrestaShop's English ones (`name`, `price`, `description`, ...). Both are read; the
//! French ones are written. Inside `traductions` the element names are language tags,
//! inside `gammes` they are variant SKUs and option names.

use std::borrow::Cow;
use std::collections::BTreeSet;

use base64::Engine;
use tradewire_sdk::core::{
    CategoryPrice, Decimal, Diagnostics, Dimensions, Image, Money, OptionValue, Product,
    ProductText, Variant, is_valid_gtin,
};
use tradewire_sdk::xml::{Element, is_valid_xml_name};

use crate::Settings;
use crate::common::{
    At, ENVELOPE, Out, boolean, decimal, format_bool, keep_unknown, number, pointer, quote, text,
};

/// One field of the push, from the XML or from a POST variable, with its path for
/// diagnostics (`/connecteur/p_vente` or `p_vente`).
struct Field<'a> {
    element: Cow<'a, Element<'a>>,
    path: String,
}

/// Reads a product from the children of `root` (the XML `data`, when there is one) and
/// from flat POST variables. When both give a field, the XML wins, with a warning if
/// they differ. `image` is a file posted beside the data (multipart); a text `image`
/// field wins over it.
pub(crate) fn decode(
    root: Option<&Element<'_>>,
    post: &[(String, String)],
    image: Option<Image>,
    s: &Settings,
    d: &mut Diagnostics,
) -> Product {
    let root_path = root.map_or_else(String::new, |r| format!("/{}", r.name));
    let mut fields: Vec<Field<'_>> = root
        .map(|r| r.children.iter())
        .into_iter()
        .flatten()
        .filter(|child| !ENVELOPE.contains(&&*child.name))
        .map(|child| Field {
            element: Cow::Borrowed(child),
            path: At::new(&root_path, &child.name).to_string(),
        })
        .collect();
    for (name, value) in post {
        let in_xml = fields.iter().find(|f| f.element.name == *name);
        match in_xml {
            Some(field) => {
                let xml_value = field.element.text_trimmed();
                if !same_value(xml_value, value) {
                    d.warning(
                        name.as_str(),
                        "econnecteur.post_xml_mismatch",
                        format!(
                            "the POST variable says {} and the XML {}; the XML is used",
                            quote(value.trim()),
                            quote(xml_value)
                        ),
                    );
                }
            }
            None => fields.push(Field {
                element: Cow::Owned(Element {
                    name: name.clone().into(),
                    text: value.clone().into(),
                    ..Element::default()
                }),
                path: name.clone(),
            }),
        }
    }
    let mut product = decode_fields(&fields, s, d);
    if let Some(posted) = image {
        if product.image.is_some() {
            d.warning(
                "image",
                "econnecteur.post_xml_mismatch",
                "an image came both as a file and as a field; the field is used",
            );
        } else {
            product.image = Some(posted);
        }
    }
    product
}

/// Equal as text, or as numbers (`20` and `20.00`).
fn same_value(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a == b
        || matches!(
            (Decimal::from_str_exact(a), Decimal::from_str_exact(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Keeps the first value of a field given twice (`nom` and `name`), warning when a
/// later one differs.
fn set<T: PartialEq>(
    slot: &mut Option<T>,
    value: Option<T>,
    d: &mut Diagnostics,
    path: impl Into<String>,
) {
    match (slot.as_ref(), value) {
        (_, None) => {}
        (None, value) => *slot = value,
        (Some(first), Some(later)) => {
            if *first != later {
                d.warning(
                    path,
                    "econnecteur.duplicate_field",
                    "this field was already given (under this or its other name); the first value is kept",
                );
            }
        }
    }
}

fn decode_fields(fields: &[Field<'_>], s: &Settings, d: &mut Diagnostics) -> Product {
    let mut product = Product::default();
    let mut sku = None;
    let mut dimensions = Dimensions::default();
    let mut categories: Vec<(u32, String)> = Vec::new();
    for Field { element, path } in fields {
        let element: &Element<'_> = element;
        let path = path.as_str();
        let money =
            |d: &mut Diagnostics| decimal(d, path, element).map(|a| Money::new(a, s.currency));
        match &*element.name {
            "reference" => set(&mut sku, text(element), d, path),
            "id" | "id_product" => set(&mut product.id, text(element), d, path),
            name @ ("EAN13" | "ean13") => gtin(&mut product, name, element, 13, d, path),
            name @ ("UPC" | "upc") => gtin(&mut product, name, element, 12, d, path),
            "largeur" | "width" => set(&mut dimensions.width, decimal(d, path, element), d, path),
            "hauteur" | "height" => set(&mut dimensions.height, decimal(d, path, element), d, path),
            "profondeur" | "depth" => {
                set(&mut dimensions.depth, decimal(d, path, element), d, path)
            }
            "p_vente" | "price" => {
                let value = money(d);
                set(&mut product.price, value, d, path);
            }
            "tva" => set(&mut product.vat_rate, decimal(d, path, element), d, path),
            "id_tax_rules_group" => set(&mut product.tax_group, text(element), d, path),
            "ecotaxe" | "ecotax" => set(&mut product.eco_tax, decimal(d, path, element), d, path),
            "stock" | "quantity" => set(&mut product.stock, decimal(d, path, element), d, path),
            "poids" | "weight" => set(&mut product.weight, decimal(d, path, element), d, path),
            "actif" | "active" => set(&mut product.active, boolean(d, path, element), d, path),
            "disponible" | "available_for_order" | "available" => {
                set(&mut product.available, boolean(d, path, element), d, path);
            }
            "image" => {
                let image = decode_image(element, path, d);
                set(&mut product.image, image, d, path);
            }
            "CategoriesTarifs" => decode_category_prices(element, path, s, &mut product, d),
            "traductions" => decode_translations(element, path, &mut product, d),
            "gammes" => decode_variants(element, path, s, &mut product, d),
            name => {
                if let Some(index) = name
                    .strip_prefix("categories_name_")
                    .and_then(|n| n.parse::<u32>().ok())
                {
                    if let Some(category) = text(element) {
                        categories.push((index, category));
                    }
                } else if !text_field(&mut product.text, name, element, d, path) {
                    keep_unknown(d, path, name.to_owned(), element, &mut product.extensions);
                }
            }
        }
    }
    product.sku = sku.unwrap_or_default();
    if dimensions != Dimensions::default() {
        product.dimensions = Some(dimensions);
    }
    categories.sort_by_key(|(index, _)| *index);
    product.category_path = categories.into_iter().map(|(_, name)| name).collect();
    product
}

/// A barcode with a wrong check digit is common in ERP data (the vendor's own test
/// product has one). Refusing the push for it would lose the rest of the product, and
/// the model only holds valid codes: it is kept verbatim in `extensions` instead.
///
/// `digits` is 13 for `EAN13` (→ `ean13`) and 12 for `UPC` (→ `upc`).
fn gtin(
    product: &mut Product,
    name: &str,
    element: &Element<'_>,
    digits: usize,
    d: &mut Diagnostics,
    path: &str,
) {
    let Some(code) = text(element) else { return };
    if is_valid_gtin(&code, digits) {
        let slot = if digits == 13 {
            &mut product.ean13
        } else {
            &mut product.upc
        };
        set(slot, Some(code), d, path);
    } else {
        d.warning(
            path,
            "econnecteur.bad_gtin",
            format!(
                "{} is not a valid {} ({digits} digits with a correct check digit); it is kept in extensions",
                quote(&code),
                if digits == 13 { "EAN-13" } else { "UPC-A" }
            ),
        );
        product.extensions.insert(name.to_owned(), code);
    }
}

/// Name, descriptions and meta fields, in either vocabulary. False when `name` is none
/// of them.
fn text_field(
    target: &mut ProductText,
    name: &str,
    element: &Element<'_>,
    d: &mut Diagnostics,
    path: impl Into<String>,
) -> bool {
    let slot = match name {
        "nom" | "name" => &mut target.name,
        "desc_longue" | "description" => &mut target.description,
        "desc_courte" | "description_short" => &mut target.short_description,
        "meta_title" => &mut target.meta_title,
        "meta_description" => &mut target.meta_description,
        "meta_keywords" => &mut target.meta_keywords,
        _ => return false,
    };
    set(slot, text(element), d, path);
    true
}

fn decode_image(element: &Element<'_>, path: &str, d: &mut Diagnostics) -> Option<Image> {
    let value = text(element)?;
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Some(Image {
            url: Some(value),
            ..Image::default()
        });
    }
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(&compact) {
        Ok(_) => Some(Image {
            data_base64: Some(compact),
            ..Image::default()
        }),
        Err(_) => {
            d.error(
                path,
                "econnecteur.bad_image",
                "an image field must be an http(s) URL or base64 data",
            );
            None
        }
    }
}

fn decode_category_prices(
    element: &Element<'_>,
    path: &str,
    s: &Settings,
    product: &mut Product,
    d: &mut Diagnostics,
) {
    for (i, entry) in element.children.iter().enumerate() {
        let here = format!("{path}/{}[{}]", entry.name, i + 1);
        if entry.name != "CategoriesTarif" {
            d.warning(&here, "econnecteur.ignored", "expected <CategoriesTarif>");
            continue;
        }
        let name = entry.child("Nom").and_then(text);
        let price = entry
            .child("Prix")
            .and_then(|prix| decimal(d, At::new(&here, "Prix"), prix));
        match (name, price) {
            (Some(category), Some(amount)) => product.category_prices.push(CategoryPrice {
                category,
                price: Money::new(amount, s.currency),
            }),
            _ if d.has_errors() => {}
            _ => d.error(
                here,
                "econnecteur.value_missing",
                "a CategoriesTarif needs its Nom and Prix",
            ),
        }
    }
}

fn decode_translations(
    element: &Element<'_>,
    path: &str,
    product: &mut Product,
    d: &mut Diagnostics,
) {
    for language in &element.children {
        let here = At::new(path, &language.name).to_string();
        let mut translated = ProductText::default();
        for field in &language.children {
            let field_path = At::new(&here, &field.name);
            if !text_field(&mut translated, &field.name, field, d, field_path) {
                keep_unknown(
                    d,
                    field_path,
                    format!("traductions/{}/{}", language.name, field.name),
                    field,
                    &mut product.extensions,
                );
            }
        }
        if product
            .translations
            .insert(language.name.to_string(), translated)
            .is_some()
        {
            d.warning(
                here,
                "econnecteur.duplicate_field",
                "this language is given twice; the last is kept",
            );
        }
    }
}

fn decode_variants(
    element: &Element<'_>,
    path: &str,
    s: &Settings,
    product: &mut Product,
    d: &mut Diagnostics,
) {
    for variant_element in &element.children {
        let here = At::new(path, &variant_element.name).to_string();
        let mut variant = Variant {
            sku: variant_element.name.to_string(),
            ..Variant::default()
        };
        for option in &variant_element.children {
            let option_path = At::new(&here, &option.name).to_string();
            let mut name = None;
            let mut value = None;
            for field in &option.children {
                let field_path = At::new(&option_path, &field.name);
                // Price, stock and weight belong to the variant; e-connecteur repeats them
                // in each of its options.
                match &*field.name {
                    "name" => name = text(field),
                    "value" => value = text(field),
                    "quantity" | "stock" => {
                        set(
                            &mut variant.stock,
                            decimal(d, field_path, field),
                            d,
                            field_path,
                        );
                    }
                    "p_vente" | "price" => {
                        let price =
                            decimal(d, field_path, field).map(|a| Money::new(a, s.currency));
                        set(&mut variant.price, price, d, field_path);
                    }
                    "weight" | "poids" => {
                        set(
                            &mut variant.weight,
                            decimal(d, field_path, field),
                            d,
                            field_path,
                        );
                    }
                    "EAN13" | "ean13" => set(&mut variant.gtin, text(field), d, field_path),
                    other => keep_unknown(
                        d,
                        field_path,
                        format!("{}/{other}", option.name),
                        field,
                        &mut variant.extensions,
                    ),
                }
            }
            variant.options.push(OptionValue {
                name: name.unwrap_or_else(|| option.name.to_string()),
                value: value.unwrap_or_default(),
            });
        }
        product.variants.push(variant);
    }
}

// ---------------------------------------------------------------------------------------
// Encoding

/// The simple fields of a product as `(name, value, JSON Pointer)`, in the order the spec
/// lists them: the same list is written as XML elements and as flat POST variables.
/// Image data is left out when `image_data` is false (it then travels as a file).
pub(crate) fn simple_fields(
    product: &Product,
    s: &Settings,
    image_data: bool,
    warnings: &mut Diagnostics,
) -> Vec<(String, String, String)> {
    let mut fields = Vec::new();
    let mut push = |name: &str, value: Option<String>, at: &str| {
        if let Some(value) = value {
            fields.push((name.to_owned(), value, at.to_owned()));
        }
    };
    let num = |v: Option<Decimal>| v.map(number);
    push("reference", Some(product.sku.clone()), "/sku");
    push("id", product.id.clone(), "/id");
    push("EAN13", product.ean13.clone(), "/ean13");
    push("UPC", product.upc.clone(), "/upc");
    let dims = product.dimensions.unwrap_or_default();
    push("largeur", num(dims.width), "/dimensions/width");
    push("hauteur", num(dims.height), "/dimensions/height");
    push("profondeur", num(dims.depth), "/dimensions/depth");
    if let Some(price) = product.price
        && price.currency != s.currency
    {
        warnings.warning(
            "/price/currency",
            "econnecteur.currency_ignored",
            format!(
                "e-connecteur prices carry no currency; {} is written as a number while the adapter's currency is {}",
                price.currency, s.currency
            ),
        );
    }
    push(
        "p_vente",
        num(product.price.map(|m| m.amount)),
        "/price/amount",
    );
    let t = &product.text;
    push("nom", t.name.clone(), "/text/name");
    push(
        "meta_description",
        t.meta_description.clone(),
        "/text/meta_description",
    );
    push(
        "meta_keywords",
        t.meta_keywords.clone(),
        "/text/meta_keywords",
    );
    push("meta_title", t.meta_title.clone(), "/text/meta_title");
    push("desc_longue", t.description.clone(), "/text/description");
    push(
        "desc_courte",
        t.short_description.clone(),
        "/text/short_description",
    );
    push("tva", num(product.vat_rate), "/vat_rate");
    push(
        "id_tax_rules_group",
        product.tax_group.clone(),
        "/tax_group",
    );
    push("ecotaxe", num(product.eco_tax), "/eco_tax");
    push("stock", num(product.stock), "/stock");
    push("poids", num(product.weight), "/weight");
    push(
        "actif",
        product.active.map(|b| format_bool(b).to_owned()),
        "/active",
    );
    push(
        "disponible",
        product.available.map(|b| format_bool(b).to_owned()),
        "/available",
    );
    for (i, category) in product.category_path.iter().enumerate() {
        push(
            &format!("categories_name_{i}"),
            Some(category.clone()),
            &format!("/category_path/{i}"),
        );
    }
    if let Some(image) = &product.image {
        match (&image.url, &image.data_base64) {
            (_, Some(data)) if image_data => {
                push("image", Some(data.clone()), "/image/data_base64")
            }
            (Some(url), None) => push("image", Some(url.clone()), "/image/url"),
            _ => {}
        }
    }
    let written: BTreeSet<String> = fields.iter().map(|(name, _, _)| name.clone()).collect();
    for (key, value) in &product.extensions {
        if key.contains('/') {
            continue; // under traductions or an option, written there
        }
        let at = pointer("/extensions", key);
        if written.contains(key) {
            warnings.warning(
                &at,
                "econnecteur.extension_collides",
                format!(
                    "the extension `{key}` is also a field written from the model; it is left out"
                ),
            );
        } else {
            fields.push((key.clone(), value.clone(), at));
        }
    }
    fields
}

/// Writes the product's fields inside an open `<connecteur>`.
pub(crate) fn encode_fields(
    out: &mut Out,
    product: &Product,
    s: &Settings,
    image_data: bool,
    warnings: &mut Diagnostics,
) {
    for (name, value, at) in simple_fields(product, s, image_data, warnings) {
        if is_valid_xml_name(&name) {
            out.leaf(&name, &value, &at);
        } else {
            warnings.warning(
                &at,
                "econnecteur.field_dropped",
                format!(
                    "{} is not a valid XML element name; the extension is left out",
                    quote(&name)
                ),
            );
        }
    }
    encode_structured(out, product, warnings);
}

/// Writes what only the XML carries: `CategoriesTarifs`, `traductions` and `gammes`.
pub(crate) fn encode_structured(out: &mut Out, product: &Product, warnings: &mut Diagnostics) {
    if !product.category_prices.is_empty() {
        out.start("CategoriesTarifs", "/category_prices");
        for (i, entry) in product.category_prices.iter().enumerate() {
            let at = format!("/category_prices/{i}");
            out.start("CategoriesTarif", &at);
            out.leaf("Nom", &entry.category, &format!("{at}/category"));
            out.leaf(
                "Prix",
                &number(entry.price.amount),
                &format!("{at}/price/amount"),
            );
            out.end();
        }
        out.end();
    }
    if !product.translations.is_empty() {
        out.start("traductions", "/translations");
        for (language, translated) in &product.translations {
            let at = pointer("/translations", language);
            if !is_valid_xml_name(language) {
                out.d.error(
                    &at,
                    "econnecteur.not_an_xml_name",
                    format!(
                        "the language tag {} becomes an element name in <traductions> and is not a valid one",
                        quote(language)
                    ),
                );
                continue;
            }
            out.start(language, &at);
            for (name, value, field) in [
                ("name", &translated.name, "name"),
                ("description", &translated.description, "description"),
                (
                    "description_short",
                    &translated.short_description,
                    "short_description",
                ),
                ("meta_title", &translated.meta_title, "meta_title"),
                (
                    "meta_description",
                    &translated.meta_description,
                    "meta_description",
                ),
                ("meta_keywords", &translated.meta_keywords, "meta_keywords"),
            ] {
                out.optional(name, value.as_deref(), &pointer(&at, field));
            }
            let prefix = format!("traductions/{language}/");
            for (key, value) in &product.extensions {
                if let Some(name) = key.strip_prefix(&prefix) {
                    out.leaf(name, value, &pointer("/extensions", key));
                }
            }
            out.end();
        }
        out.end();
    }
    if !product.variants.is_empty() {
        encode_variants(out, product, warnings);
    }
    if product.parent_sku.is_some() {
        warnings.warning(
            "/parent_sku",
            "econnecteur.field_dropped",
            "an e-connecteur product push has no place for the parent's SKU",
        );
    }
}

fn encode_variants(out: &mut Out, product: &Product, warnings: &mut Diagnostics) {
    out.start("gammes", "/variants");
    for (i, variant) in product.variants.iter().enumerate() {
        let at = format!("/variants/{i}");
        if !is_valid_xml_name(&variant.sku) {
            out.d.error(
                format!("{at}/sku"),
                "econnecteur.not_an_xml_name",
                format!(
                    "the variant SKU {} becomes an element name in <gammes> and is not a valid one \
                     (it must start with a letter or `_` and hold no spaces)",
                    quote(&variant.sku)
                ),
            );
            continue;
        }
        out.start(&variant.sku, &format!("{at}/sku"));
        if variant.options.is_empty()
            && (variant.price.is_some() || variant.stock.is_some() || variant.weight.is_some())
        {
            warnings.warning(
                &at,
                "econnecteur.field_dropped",
                "a variant's price, stock and weight travel inside its options, and it has none",
            );
        }
        let mut names = BTreeSet::new();
        for (j, option) in variant.options.iter().enumerate() {
            let option_at = format!("{at}/options/{j}");
            if !is_valid_xml_name(&option.name) {
                out.d.error(
                    format!("{option_at}/name"),
                    "econnecteur.not_an_xml_name",
                    format!(
                        "the option name {} becomes an element name in <gammes> and is not a valid one",
                        quote(&option.name)
                    ),
                );
                continue;
            }
            if !names.insert(&*option.name) {
                out.d.error(
                    format!("{option_at}/name"),
                    "econnecteur.duplicate_option",
                    format!(
                        "the option {} appears twice in one variant",
                        quote(&option.name)
                    ),
                );
                continue;
            }
            out.start(&option.name, &format!("{option_at}/name"));
            out.leaf("name", &option.name, &format!("{option_at}/name"));
            out.leaf("value", &option.value, &format!("{option_at}/value"));
            out.optional(
                "quantity",
                variant.stock.map(number).as_deref(),
                &format!("{at}/stock"),
            );
            out.optional(
                "p_vente",
                variant.price.map(|m| number(m.amount)).as_deref(),
                &format!("{at}/price"),
            );
            out.optional(
                "weight",
                variant.weight.map(number).as_deref(),
                &format!("{at}/weight"),
            );
            out.optional("EAN13", variant.gtin.as_deref(), &format!("{at}/gtin"));
            let prefix = format!("{}/", option.name);
            for (key, value) in &variant.extensions {
                if let Some(name) = key.strip_prefix(&prefix) {
                    out.leaf(name, value, &pointer(&format!("{at}/extensions"), key));
                }
            }
            out.end();
        }
        out.end();
        let placed = |key: &String| {
            variant.options.iter().any(|o| {
                key.strip_prefix(&o.name)
                    .is_some_and(|rest| rest.starts_with('/'))
            })
        };
        if variant.id.is_some() || variant.extensions.keys().any(|k| !placed(k)) {
            warnings.warning(
                &at,
                "econnecteur.field_dropped",
                "a variant's id, and extensions not under one of its options, have no place in <gammes>",
            );
        }
    }
    out.end();
}

/// Writes a whole product document: `<connecteur>` with the product's fields.
pub(crate) fn encode_document(
    product: &Product,
    s: &Settings,
) -> Result<(Vec<u8>, Diagnostics), Diagnostics> {
    let mut out = Out::document();
    let mut warnings = Diagnostics::new();
    out.start("connecteur", "");
    encode_fields(&mut out, product, s, true, &mut warnings);
    out.end();
    out.finish(warnings)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::common::parse_xml;

    fn decode_xml(xml: &str) -> (Product, Diagnostics) {
        let root = parse_xml(xml.as_bytes(), 1 << 20).unwrap();
        let mut d = Diagnostics::new();
        let product = decode(Some(&root), &[], None, &Settings::default(), &mut d);
        (product, d)
    }

    #[test]
    fn both_vocabularies_are_read() {
        let (french, d) = decode_xml(
            "<connecteur><reference>A1</reference><nom>Vis</nom><p_vente>1.50</p_vente><stock>3</stock>\
             <desc_longue>Long</desc_longue><poids>2</poids><actif>1</actif></connecteur>",
        );
        assert!(d.is_empty(), "{d}");
        let (english, d) = decode_xml(
            "<connecteur><reference>A1</reference><name>Vis</name><price>1.50</price><quantity>3</quantity>\
             <description>Long</description><weight>2</weight><active>1</active></connecteur>",
        );
        assert!(d.is_empty(), "{d}");
        assert_eq!(french, english);
        assert_eq!(french.text.name.as_deref(), Some("Vis"));
        assert_eq!(french.price.unwrap().amount, Decimal::new(150, 2));
    }

    #[test]
    fn the_xml_wins_over_a_differing_post_variable() {
        let root = parse_xml(
            b"<connecteur><reference>A1</reference><tva>5.50</tva></connecteur>",
            1 << 20,
        )
        .unwrap();
        let post = vec![
            ("tva".to_owned(), "20.00".to_owned()),
            ("reference".to_owned(), "A1".to_owned()),
            ("stock".to_owned(), "4".to_owned()),
        ];
        let mut d = Diagnostics::new();
        let product = decode(Some(&root), &post, None, &Settings::default(), &mut d);
        assert_eq!(product.vat_rate, Some(Decimal::new(550, 2)));
        assert_eq!(product.stock, Some(Decimal::from(4)));
        assert_eq!(d.len(), 1, "{d}");
        assert_eq!(d.as_slice()[0].path, "tva");
        assert_eq!(d.as_slice()[0].code, "econnecteur.post_xml_mismatch");
    }

    #[test]
    fn categories_come_in_index_order() {
        let (product, _) = decode_xml(
            "<connecteur><reference>A</reference><categories_name_1>Charbon</categories_name_1>\
             <categories_name_0>Filtres</categories_name_0><categories_name_2/></connecteur>",
        );
        assert_eq!(product.category_path, ["Filtres", "Charbon"]);
    }

    #[test]
    fn a_sku_that_is_no_xml_name_is_refused() {
        let product = Product {
            sku: "P".into(),
            variants: vec![Variant {
                sku: "0010-BLEU".into(),
                options: vec![OptionValue {
                    name: "Couleur".into(),
                    value: "Bleu".into(),
                }],
                ..Variant::default()
            }],
            ..Product::default()
        };
        let errors = encode_document(&product, &Settings::default()).unwrap_err();
        assert_eq!(errors.as_slice()[0].path, "/variants/0/sku");
        assert_eq!(errors.as_slice()[0].code, "econnecteur.not_an_xml_name");
    }
}
