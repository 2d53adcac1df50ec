//! Products with their variants, prices, stock and translations.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Diagnostics, Money, OptionValue};

/// Text of a product in one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductText {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_keywords: Option<String>,
}

/// Size of the product. Lengths and weight are in the units the adapter's config names
/// (centimetres and kilograms unless said otherwise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Dimensions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<Decimal>,
}

/// A price for customers of one price category (e-connecteur `CategoriesTarif`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CategoryPrice {
    pub category: String,
    pub price: Money,
}

/// The product's picture: a URL, or the bytes themselves in base64.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Image {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The image bytes, base64 (RFC 4648, standard alphabet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

/// One variant of a product (a `gamme` / `déclinaison`): its own SKU and option values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Variant {
    pub sku: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    pub options: Vec<OptionValue>,
    /// The variant's own net price, when it differs from the product's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Decimal>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, String>,
}

/// A product of the catalogue. `sku` (the ERP's article code, e-connecteur's `reference`)
/// is the key systems match products on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Product {
    pub sku: String,
    /// The shop's own identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// EAN-13 / GTIN-13.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ean13: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upc: Option<String>,
    /// The parent product's SKU when this product is an option or variant of another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_sku: Option<String>,
    /// Name and descriptions in the document's default language.
    #[serde(default)]
    pub text: ProductText,
    /// The same texts in other languages, keyed by BCP 47 tag (`en-gb`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<String, ProductText>,
    /// Sales price without VAT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    /// VAT rate in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_rate: Option<Decimal>,
    /// The shop's tax rule group, when it names VAT that way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_group: Option<String>,
    /// Eco-tax without VAT, included in `price`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eco_tax: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category_prices: Vec<CategoryPrice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<Dimensions>,
    /// Shown in the shop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Can be ordered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
    /// Categories from the root down (`Filtres` > `Charbon actif`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category_path: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// Fields the source sent that the model has no place for, kept by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, String>,
}

impl Product {
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        if self.sku.trim().is_empty() {
            d.error(
                "/sku",
                "product.sku_missing",
                "a product needs a sku (its article code)",
            );
        }
        if let Some(ean) = &self.ean13
            && !is_valid_gtin(ean, 13)
        {
            d.error(
                "/ean13",
                "product.bad_gtin",
                format!("`{ean}` is not a valid EAN-13 (13 digits, check digit)"),
            );
        }
        if let Some(upc) = &self.upc
            && !is_valid_gtin(upc, 12)
        {
            d.error(
                "/upc",
                "product.bad_gtin",
                format!("`{upc}` is not a valid UPC-A (12 digits, check digit)"),
            );
        }
        if let Some(rate) = self.vat_rate
            && !(Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&rate)
        {
            d.error(
                "/vat_rate",
                "product.vat_rate_out_of_range",
                format!("VAT rate {rate} is not between 0 and 100"),
            );
        }
        for (field, value) in [
            ("/price", self.price.map(|m| m.amount)),
            ("/eco_tax", self.eco_tax),
            ("/weight", self.weight),
        ] {
            if let Some(value) = value
                && value < Decimal::ZERO
            {
                d.error(
                    field,
                    "product.negative_amount",
                    format!("{value} is negative"),
                );
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, variant) in self.variants.iter().enumerate() {
            if variant.sku.trim().is_empty() {
                d.error(
                    format!("/variants/{i}/sku"),
                    "product.sku_missing",
                    "a variant needs a sku",
                );
            } else if !seen.insert(variant.sku.as_str()) {
                d.error(
                    format!("/variants/{i}/sku"),
                    "product.duplicate_variant",
                    format!("variant sku `{}` appears twice", variant.sku),
                );
            }
        }
        d
    }
}

/// True when `code` has `digits` digits and a correct GS1 check digit.
pub fn is_valid_gtin(code: &str, digits: usize) -> bool {
    let bytes = code.as_bytes();
    if bytes.len() != digits || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (body, check) = bytes.split_at(digits - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10 == u32::from(check[0] - b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtin_check_digits() {
        assert!(is_valid_gtin("4006381333931", 13));
        assert!(!is_valid_gtin("4006381333932", 13));
        assert!(is_valid_gtin("036000291452", 12));
        assert!(!is_valid_gtin("03600029145", 12));
        assert!(!is_valid_gtin("40063813339x1", 13));
    }

    #[test]
    fn duplicate_variants_are_refused() {
        let variant = |sku: &str| Variant {
            sku: sku.into(),
            ..Variant::default()
        };
        let p = Product {
            sku: "AG00001".into(),
            variants: vec![variant("VOIT0010"), variant("VOIT0010")],
            ..Product::default()
        };
        let d = p.validate();
        assert_eq!(d.as_slice()[0].path, "/variants/1/sku");
    }
}

/// Several products in one document (a catalogue, a product list).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductList {
    pub products: Vec<Product>,
}

impl ProductList {
    pub fn validate(&self) -> Diagnostics {
        let mut d = Diagnostics::new();
        for (i, product) in self.products.iter().enumerate() {
            d.extend_under(&format!("/products/{i}"), product.validate());
        }
        d
    }
}
