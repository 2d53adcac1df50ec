//! The adapter's configuration, and the checked settings built from it.

use std::collections::BTreeMap;

use encoding_rs::Encoding;
use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_sdk::core::{Currency, LineKind, OrderLine, Secret};
use tradewire_sdk::{Diagnostic, Diagnostics, form};

use crate::fields::Field;
use crate::url::check_hook_url;

/// How the adapter maps and writes. Every field has a default, so `{}` is a valid config.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The charset of form bodies and cart pages when the order does not name one in its
    /// `oci.http_content_charset` extension (the session's `http_content_charset`), and the
    /// charset `login` and `cart` bodies are read in. `UTF-8`, `ISO-8859-1` (read as
    /// windows-1252, as browsers do) and `windows-1252` are the usual ones.
    pub charset: String,
    /// The OCI version written: `5.0` sends the item hierarchy (`ITEM_TYPE`, `PARENT_ID`),
    /// `4.0` leaves it out with a warning.
    pub oci_version: OciVersion,
    /// Where the cart page posts the cart when the order has no `oci.hook_url` extension.
    pub hook_url: Option<String>,
    /// The cart page's form target when the order has no `oci.returntarget` extension;
    /// `_top` when neither says.
    pub returntarget: Option<String>,
    /// Hidden fields sent with every cart (the SAP ITS echo fields `~OkCode`, `~CALLER`,
    /// `~TARGET` when the call-up had them); an order's `oci.form.<name>` extension
    /// overrides the field of the same name.
    pub form_fields: BTreeMap<String, String>,
    /// The label of the cart page's button, shown when scripts are off.
    pub button_label: String,
    /// The order currency of a cart in which no line names a `CURRENCY`.
    pub default_currency: Currency,
    /// Canonical unit code → OCI `UNIT` code (`{"ST": "PCE"}` when the shop keeps SAP
    /// units and the buyer wants ISO codes). Decoding maps back, so the table must not send
    /// two canonical units to one OCI code. Units not in the table travel unchanged.
    pub units: BTreeMap<String, String>,
    /// The unit of a line that has none where the protocol needs one: the cart's `UNIT`
    /// of a line without `MATNR`, and every cXML `UnitOfMeasure`. A canonical unit code,
    /// mapped through `units` for the cart like a line's own. Without it such a line is
    /// refused.
    pub default_unit: Option<String>,
    /// The description of shipping lines that have none (the cart's `DESCRIPTION`, cXML's
    /// `Shipping/Description`); `null` to refuse them in a cart.
    pub shipping_description: Option<String>,
    /// The description of payment fee lines that have none; `null` to refuse them in a
    /// cart.
    pub payment_fee_description: Option<String>,
    /// Which canonical fields fill the fields whose meaning varies between catalogs.
    pub mapping: FieldMapping,
    /// A `login` without `username` and `password` is refused. Turn off for buyers that
    /// authenticate the session otherwise.
    pub credentials_required: bool,
    /// cXML order requests and responses.
    pub cxml: CxmlConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            charset: "UTF-8".into(),
            oci_version: OciVersion::V5,
            hook_url: None,
            returntarget: None,
            form_fields: BTreeMap::new(),
            button_label: "Return to procurement system".into(),
            default_currency: Currency::EUR,
            units: BTreeMap::new(),
            default_unit: None,
            shipping_description: Some("Shipping".into()),
            payment_fee_description: Some("Payment fee".into()),
            mapping: FieldMapping::default(),
            credentials_required: true,
            cxml: CxmlConfig::default(),
        }
    }
}

/// The OCI release whose cart fields are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum OciVersion {
    #[serde(rename = "4.0")]
    V4,
    #[serde(rename = "5.0")]
    V5,
}

/// A canonical identifier of a line that an OCI field can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineIdentifier {
    /// `OrderLine.sku`, the seller's article number.
    Sku,
    /// `OrderLine.product_id`, the seller's internal product id.
    ProductId,
    /// The field is not sent, and ignored when read.
    None,
}

/// One of OCI's five customer-defined fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum CustField {
    #[serde(rename = "CUST_FIELD1")]
    Field1,
    #[serde(rename = "CUST_FIELD2")]
    Field2,
    #[serde(rename = "CUST_FIELD3")]
    Field3,
    #[serde(rename = "CUST_FIELD4")]
    Field4,
    #[serde(rename = "CUST_FIELD5")]
    Field5,
}

impl CustField {
    /// The cart field it is.
    pub fn field(self) -> Field {
        match self {
            Self::Field1 => Field::CustField1,
            Self::Field2 => Field::CustField2,
            Self::Field3 => Field::CustField3,
            Self::Field4 => Field::CustField4,
            Self::Field5 => Field::CustField5,
        }
    }

    pub fn name(self) -> &'static str {
        self.field().name()
    }
}

/// The mapping choices; the defaults are those of the discountoffice catalog.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FieldMapping {
    /// What `EXT_PRODUCT_ID` carries (the key the buyer sends back as `PRODUCTID`).
    pub ext_product_id: LineIdentifier,
    /// What `VENDORMAT` (the supplier's article number) carries.
    pub vendormat: LineIdentifier,
    /// The customer field that carries the line's VAT rate in percent; `null` for none.
    pub vat_rate_field: Option<CustField>,
    /// Line kinds sent with `SERVICE` = `X`.
    pub service_line_kinds: Vec<LineKind>,
    /// The kind a line with `SERVICE` = `X` is read as.
    pub service_decodes_as: LineKind,
}

impl Default for FieldMapping {
    fn default() -> Self {
        Self {
            ext_product_id: LineIdentifier::ProductId,
            vendormat: LineIdentifier::Sku,
            vat_rate_field: Some(CustField::Field1),
            service_line_kinds: vec![LineKind::Shipping, LineKind::PaymentFee],
            service_decodes_as: LineKind::Shipping,
        }
    }
}

/// A cXML `Credential`: an identity in a domain (`NetworkId`, `DUNS`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    pub domain: String,
    pub identity: String,
}

/// cXML settings. Credentials from the order's `cxml.From.<domain>` (and `To`, `Sender`)
/// extensions win over these.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CxmlConfig {
    pub from: Option<CredentialConfig>,
    pub to: Option<CredentialConfig>,
    pub sender: Option<CredentialConfig>,
    /// The shared secret: written into the `Sender` credential of order requests, and
    /// required of incoming ones when set (a mismatch is refused without echoing either).
    pub shared_secret: Option<Secret>,
    /// The `Sender/UserAgent` written when the order has no `cxml.UserAgent` extension.
    pub user_agent: String,
    /// The host part of generated payload ids (`<time>.<counter>.<pid>@<domain>`).
    pub payload_id_domain: String,
    /// `xml:lang` of descriptions and names when the order has no `language`.
    pub language: String,
    /// The classification domain written (with an empty code) for a line that has none:
    /// cXML requires at least one `Classification` per item.
    pub default_classification_domain: String,
}

impl Default for CxmlConfig {
    fn default() -> Self {
        Self {
            from: None,
            to: None,
            sender: None,
            shared_secret: None,
            user_agent: "Tradewire".into(),
            payload_id_domain: "tradewire.invalid".into(),
            language: "en".into(),
            default_classification_domain: "custom".into(),
        }
    }
}

/// The config after its checks, with the charset resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Config,
    pub charset: &'static Encoding,
    /// `units` turned around, for decoding.
    pub units_back: BTreeMap<String, String>,
}

impl Settings {
    pub fn new(config: Config) -> Result<Self, Diagnostics> {
        let mut d = Diagnostics::new();
        let charset = resolve_charset(&config.charset).unwrap_or_else(|| {
            d.push(unknown_charset("/config/charset", &config.charset));
            encoding_rs::UTF_8
        });
        if let Some(hook_url) = &config.hook_url
            && let Err(diagnostic) = check_hook_url("/config/hook_url", hook_url)
        {
            d.push(diagnostic);
        }
        let mut units_back = BTreeMap::new();
        for (canonical, oci) in &config.units {
            let path = format!(
                "/config/units/{}",
                tradewire_sdk::core::pointer_token(canonical)
            );
            if oci.is_empty() || oci.chars().count() > 3 {
                d.error(
                    &path,
                    "oci.config_invalid",
                    format!("OCI units are codes of 1 to 3 characters, not {oci:?}"),
                );
            }
            if let Some(earlier) = units_back.insert(oci.clone(), canonical.clone()) {
                d.error(
                    &path,
                    "oci.config_invalid",
                    format!(
                        "`{earlier}` and `{canonical}` both map to `{oci}`, so `{oci}` could not be read back"
                    ),
                );
            }
        }
        if config
            .default_unit
            .as_deref()
            .is_some_and(|unit| unit.trim().is_empty())
        {
            d.error(
                "/config/default_unit",
                "oci.config_invalid",
                "the default unit is a unit code (`PCE`, `EA`), or null for none",
            );
        }
        let mapping = &config.mapping;
        if mapping.ext_product_id == mapping.vendormat && mapping.vendormat != LineIdentifier::None
        {
            d.error(
                "/config/mapping/vendormat",
                "oci.config_invalid",
                "EXT_PRODUCT_ID and VENDORMAT cannot carry the same field",
            );
        }
        for (i, kind) in mapping.service_line_kinds.iter().enumerate() {
            if matches!(kind, LineKind::Voucher | LineKind::Discount) {
                d.error(
                    format!("/config/mapping/service_line_kinds/{i}"),
                    "oci.config_invalid",
                    "OCI cannot carry lines that reduce the total, as services or otherwise",
                );
            }
        }
        if matches!(
            mapping.service_decodes_as,
            LineKind::Voucher | LineKind::Discount
        ) {
            d.error(
                "/config/mapping/service_decodes_as",
                "oci.config_invalid",
                "a service line adds to the total; it cannot be read as a voucher or discount",
            );
        }
        if config.cxml.language.is_empty() || !config.cxml.language.chars().all(is_lang_char) {
            d.error(
                "/config/cxml/language",
                "oci.config_invalid",
                "the language is an xml:lang code such as `en` or `de-CH`",
            );
        }
        if d.has_errors() {
            return Err(d);
        }
        Ok(Self {
            config,
            charset,
            units_back,
        })
    }
}

impl Settings {
    /// The line's description, else the configured one for lines of its kind (shipping,
    /// payment fee), with a warning that says where it came from.
    pub fn description_of<'a>(
        &'a self,
        line: &'a OrderLine,
        path: &str,
        d: &mut Diagnostics,
    ) -> Option<&'a str> {
        if let Some(description) = line.description.as_deref().filter(|text| !text.is_empty()) {
            return Some(description);
        }
        let (key, configured) = match line.kind {
            LineKind::Shipping => ("shipping_description", &self.config.shipping_description),
            LineKind::PaymentFee => (
                "payment_fee_description",
                &self.config.payment_fee_description,
            ),
            LineKind::Article | LineKind::Voucher | LineKind::Discount => return None,
        };
        let description = configured.as_deref().filter(|text| !text.is_empty())?;
        d.warning(
            format!("{path}/description"),
            "oci.description_defaulted",
            format!("the line has no description: the config's `{key}` {description:?} is sent"),
        );
        Some(description)
    }

    /// The line's unit, else the config's `default_unit`, with a warning that says so.
    pub fn unit_of<'a>(
        &'a self,
        line: &'a OrderLine,
        path: &str,
        d: &mut Diagnostics,
    ) -> Option<&'a str> {
        if let Some(unit) = line.unit.as_deref().filter(|unit| !unit.is_empty()) {
            return Some(unit);
        }
        let unit = self.config.default_unit.as_deref()?;
        d.warning(
            format!("{path}/unit"),
            "oci.unit_defaulted",
            format!("the line has no unit: the config's `default_unit` {unit:?} is sent"),
        );
        Some(unit)
    }
}

/// The charset a label stands for, refusing charsets that cannot frame a form body or an
/// HTML page written in ASCII markup (UTF-16), where browsers would quietly use UTF-8.
pub fn resolve_charset(label: &str) -> Option<&'static Encoding> {
    form::charset(label).filter(|encoding| encoding.output_encoding() == *encoding)
}

pub fn unknown_charset(path: &str, label: &str) -> Diagnostic {
    Diagnostic::error(
        path,
        "oci.unknown_charset",
        format!(
            "{label:?} is not a charset a form can be sent in; use UTF-8, ISO-8859-1 or windows-1252"
        ),
    )
}

/// Characters of an `xml:lang` code (an NMTOKEN in cXML's DTD; letters, digits and `-`).
pub fn is_lang_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}
