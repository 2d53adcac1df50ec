//! The OCI cart fields: names, lengths, and how a form field name is read.
//!
//! Lengths are those of `tests/conformance/oci/fields.md` §2 (the same in 4.0 and 5.0).

use tradewire_sdk::Diagnostic;

/// Every form field of a cart line starts with this.
pub const PREFIX: &str = "NEW_ITEM-";

/// One outbound cart field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The name between `NEW_ITEM-` and `[n]`.
    pub name: &'static str,
    /// The most characters it may have.
    pub max_chars: usize,
    /// Only defined from OCI 5.0 on.
    pub since_v5: bool,
}

/// Declares [`Field`], [`FIELDS`] and the lookup by name from one list, so they cannot
/// disagree.
macro_rules! fields {
    ($($variant:ident = $name:literal, $max_chars:literal $(, $since_v5:ident)?;)*) => {
        /// A known cart field, by its place in [`FIELDS`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Field {
            $($variant,)*
        }

        impl Field {
            /// Every field, in the order of [`FIELDS`].
            pub const ALL: [Field; FIELDS.len()] = [$(Field::$variant,)*];

            /// The known field named `name`, in any case (`price`, `Price`, `PRICE`).
            pub fn from_name(name: &str) -> Option<Self> {
                match name.to_ascii_uppercase().as_str() {
                    $($name => Some(Field::$variant),)*
                    _ => None,
                }
            }
        }

        /// The fields of OCI 4.0 and 5.0, in the order they are written. `LONGTEXT` has no
        /// length limit and its own name form, so it is not listed.
        pub const FIELDS: &[FieldSpec] = &[
            $(FieldSpec {
                name: $name,
                max_chars: $max_chars,
                since_v5: fields!(@v5 $($since_v5)?),
            },)*
        ];
    };
    (@v5) => { false };
    (@v5 since_v5) => { true };
}

fields! {
    Description = "DESCRIPTION", 40;
    Matnr = "MATNR", 40;
    Quantity = "QUANTITY", 15;
    Unit = "UNIT", 3;
    Price = "PRICE", 15;
    Currency = "CURRENCY", 5;
    PriceUnit = "PRICEUNIT", 5;
    LeadTime = "LEADTIME", 5;
    Vendor = "VENDOR", 10;
    VendorMat = "VENDORMAT", 40;
    ManufactCode = "MANUFACTCODE", 10;
    ManufactMat = "MANUFACTMAT", 40;
    MatGroup = "MATGROUP", 10;
    Service = "SERVICE", 1;
    Contract = "CONTRACT", 10;
    ContractItem = "CONTRACT_ITEM", 5;
    ExtQuoteId = "EXT_QUOTE_ID", 35;
    ExtQuoteItem = "EXT_QUOTE_ITEM", 10;
    ExtProductId = "EXT_PRODUCT_ID", 40;
    Attachment = "ATTACHMENT", 255;
    AttachmentTitle = "ATTACHMENT_TITLE", 255;
    AttachmentPurpose = "ATTACHMENT_PURPOSE", 1;
    ExtSchemaType = "EXT_SCHEMA_TYPE", 10;
    ExtCategoryId = "EXT_CATEGORY_ID", 60;
    ExtCategory = "EXT_CATEGORY", 40;
    SldSysName = "SLD_SYS_NAME", 60;
    CustField1 = "CUST_FIELD1", 10;
    CustField2 = "CUST_FIELD2", 10;
    CustField3 = "CUST_FIELD3", 10;
    CustField4 = "CUST_FIELD4", 20;
    CustField5 = "CUST_FIELD5", 50;
    ItemType = "ITEM_TYPE", 1, since_v5;
    ParentId = "PARENT_ID", 5, since_v5;
}

impl Field {
    /// Every field, in the order of their names (the order of a map keyed by name).
    pub fn by_name() -> [Field; FIELDS.len()] {
        let mut fields = Self::ALL;
        fields.sort_unstable_by_key(|field| field.name());
        fields
    }

    /// Its spec in [`FIELDS`].
    pub const fn spec(self) -> &'static FieldSpec {
        &FIELDS[self as usize]
    }

    /// Its upper-case name (`EXT_PRODUCT_ID`).
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// The fields kept as line extensions whatever is sent, since the order has no place
    /// for them (unless one is configured as the VAT rate).
    pub fn is_free(self) -> bool {
        matches!(
            self,
            Self::SldSysName
                | Self::ItemType
                | Self::CustField1
                | Self::CustField2
                | Self::CustField3
                | Self::CustField4
                | Self::CustField5
        )
    }
}

/// What a `NEW_ITEM-…` form field name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemName<'a> {
    /// `NEW_ITEM-<field>[<index>]`; `field` as written.
    Field { field: &'a str, index: u32 },
    /// `NEW_ITEM-LONGTEXT_<index>:132[]` and the variants readers accept.
    LongText { index: u32 },
}

/// The form name of field `field` of line `index`.
pub fn form_name(field: &str, index: u32) -> String {
    format!("{PREFIX}{field}[{index}]")
}

/// The form name of line `index`'s long text.
pub fn long_text_name(index: u32) -> String {
    format!("{PREFIX}LONGTEXT_{index}:132[]")
}

/// Reads a form field name: `None` when it is not a cart field, an error when it starts
/// like one but says no line (as a form cut short in transit does: `NEW_ITEM-PRI`).
///
/// Accepted besides the standard forms, as meplato's parser does: the long text as
/// `LONGTEXT_n:132[k]`, `LONGTEXTn:132[]` (the discountoffice spelling) and
/// `LONGTEXT[n]`; the prefix and field names in any case.
pub fn parse_item_name(name: &str) -> Option<Result<ItemName<'_>, Diagnostic>> {
    let prefix = name.get(..PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let rest = &name[PREFIX.len()..];
    Some(parse_rest(rest).ok_or_else(|| {
        Diagnostic::error(
            name,
            "oci.malformed_field_name",
            "a cart field is named NEW_ITEM-<FIELD>[<line>] (or NEW_ITEM-LONGTEXT_<line>:132[]); \
             this one is not, as when a form is cut short",
        )
    }))
}

fn parse_rest(rest: &str) -> Option<ItemName<'_>> {
    const LONGTEXT: &str = "LONGTEXT";
    let long_text = rest
        .get(..LONGTEXT.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(LONGTEXT))
        .map(|_| &rest[LONGTEXT.len()..]);
    if let Some(after) = long_text {
        // `_n:132[]`, `n:132[]`, `_n:132[k]`
        let numbered = after.strip_prefix('_').unwrap_or(after);
        if let Some((index, width_and_brackets)) = numbered.split_once(':') {
            let (width, brackets) = width_and_brackets.split_once('[')?;
            let inside = brackets.strip_suffix(']')?;
            if !is_digits(width) || !(inside.is_empty() || is_digits(inside)) {
                return None;
            }
            return Some(ItemName::LongText {
                index: parse_index(index)?,
            });
        }
    }
    let (field, bracketed) = rest.split_once('[')?;
    let index = parse_index(bracketed.strip_suffix(']')?)?;
    if field.is_empty()
        || !field
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    if field.eq_ignore_ascii_case("LONGTEXT") {
        return Some(ItemName::LongText { index });
    }
    Some(ItemName::Field { field, index })
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// A line index: at most six digits, which is more lines than any cart has.
fn parse_index(text: &str) -> Option<u32> {
    if !is_digits(text) || text.len() > 6 {
        return None;
    }
    text.parse().ok()
}

/// The SDK's check codes (`field.too_long`, `number.invalid`) under this adapter's prefix
/// (`oci.field_too_long`, `oci.number_invalid`), so every code the adapter returns is its own.
pub fn own_code(mut diagnostic: Diagnostic) -> Diagnostic {
    if !diagnostic.code.starts_with("oci.") {
        diagnostic.code = format!("oci.{}", diagnostic.code.replace('.', "_"));
    }
    diagnostic
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, index: u32) -> Option<Result<ItemName<'_>, Diagnostic>> {
        Some(Ok(ItemName::Field { field: name, index }))
    }

    #[test]
    fn fields_are_found_in_any_case_and_listed_by_name() {
        for (field, spec) in Field::ALL.iter().zip(FIELDS) {
            assert_eq!(field.name(), spec.name);
            assert_eq!(Field::from_name(spec.name), Some(*field));
            assert_eq!(
                Field::from_name(&spec.name.to_ascii_lowercase()),
                Some(*field)
            );
        }
        assert_eq!(
            Field::from_name("Ext_Product_Id"),
            Some(Field::ExtProductId)
        );
        assert_eq!(Field::from_name("PRICE_"), None);
        assert_eq!(Field::from_name("TAX_RATE"), None);
        assert_eq!(Field::from_name(""), None);
        assert_eq!(Field::from_name(&"PRICE".repeat(10)), None);
        assert_eq!(Field::from_name("PRİCE"), None);
        let mut names: Vec<&str> = FIELDS.iter().map(|spec| spec.name).collect();
        names.sort_unstable();
        let by_name: Vec<&str> = Field::by_name().iter().map(|field| field.name()).collect();
        assert_eq!(by_name, names);
    }

    /// Every length around the known names' (the longest has 18 characters); 19 used to
    /// index past the end of a table of names by length.
    #[test]
    fn names_of_any_length_are_looked_up_without_panicking() {
        for length in 0..=40 {
            let unknown = "Q".repeat(length);
            assert_eq!(Field::from_name(&unknown), None, "{length}");
            let multibyte = "é".repeat(length);
            assert_eq!(Field::from_name(&multibyte), None, "{length}");
        }
        for spec in FIELDS {
            assert_eq!(
                Field::from_name(spec.name).map(Field::name),
                Some(spec.name)
            );
        }
    }

    #[test]
    fn a_cart_field_of_nineteen_characters_is_an_unknown_field() {
        let name = "NEW_ITEM-ABCDEFGHIJKLMNOPQRS[1]";
        assert_eq!(
            parse_item_name(name),
            field("ABCDEFGHIJKLMNOPQRS", 1),
            "parsed as a field"
        );
        assert_eq!(Field::from_name("ABCDEFGHIJKLMNOPQRS"), None);
    }

    #[test]
    fn standard_names_are_read() {
        assert_eq!(
            parse_item_name("NEW_ITEM-DESCRIPTION[1]"),
            field("DESCRIPTION", 1)
        );
        assert_eq!(parse_item_name("new_item-price[12]"), field("price", 12));
        assert_eq!(
            parse_item_name("NEW_ITEM-TAX_RATE[0]"),
            field("TAX_RATE", 0)
        );
        assert_eq!(
            parse_item_name("NEW_ITEM-CUST_FIELD30[2]"),
            field("CUST_FIELD30", 2)
        );
    }

    #[test]
    fn long_text_variants_are_read() {
        for name in [
            "NEW_ITEM-LONGTEXT_3:132[]",
            "NEW_ITEM-LONGTEXT_3:132[1]",
            "NEW_ITEM-LONGTEXT3:132[]",
            "NEW_ITEM-LONGTEXT[3]",
            "new_item-longtext_3:132[]",
        ] {
            assert_eq!(
                parse_item_name(name),
                Some(Ok(ItemName::LongText { index: 3 })),
                "{name}"
            );
        }
        assert_eq!(long_text_name(3), "NEW_ITEM-LONGTEXT_3:132[]");
    }

    #[test]
    fn other_fields_are_not_cart_fields() {
        for name in ["~OkCode", "HEADER-PAGE", "_snowman", "NEW_ITEM", ""] {
            assert_eq!(parse_item_name(name), None, "{name}");
        }
    }

    #[test]
    fn cut_or_garbled_names_are_errors_naming_the_field() {
        for name in [
            "NEW_ITEM-PRI",
            "NEW_ITEM-PRICE[",
            "NEW_ITEM-PRICE[1",
            "NEW_ITEM-PRICE%5",
            "NEW_ITEM-PRICE[x]",
            "NEW_ITEM-PRICE[]",
            "NEW_ITEM-[1]",
            "NEW_ITEM-PRICE[1234567]",
            "NEW_ITEM-LONGTEXT_1:132[",
            "NEW_ITEM-LONGTEXT_:132[]",
            "NEW_ITEM-PR<ICE[1]",
        ] {
            let error = parse_item_name(name)
                .expect("starts like a cart field")
                .expect_err(name);
            assert_eq!(error.code, "oci.malformed_field_name");
            assert_eq!(error.path, name);
        }
    }

    #[test]
    fn sdk_codes_get_the_adapter_prefix() {
        let d = own_code(Diagnostic::error("p", "field.too_long", "m"));
        assert_eq!(d.code, "oci.field_too_long");
        let d = own_code(Diagnostic::error("p", "oci.quantity_missing", "m"));
        assert_eq!(d.code, "oci.quantity_missing");
    }
}
