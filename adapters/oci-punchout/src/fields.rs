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

/// Declares [`Field`] and [`FIELDS`] from one list, so the two cannot disagree.
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
    pub const BY_NAME: [Field; FIELDS.len()] = sorted(SortKey::Name);

    /// The known field named `name`, in any case (`price`, `Price`, `PRICE`), without
    /// allocating: only the few known names of its length are compared.
    pub fn from_name(name: &str) -> Option<Self> {
        let start = *BY_LENGTH_STARTS.get(name.len())?;
        let end = *BY_LENGTH_STARTS.get(name.len() + 1)?;
        BY_LENGTH[start..end]
            .iter()
            .copied()
            .find(|field| field.name().eq_ignore_ascii_case(name))
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

/// Whether `a` sorts before `b`, byte by byte (`str`'s order, in a `const`).
/// The length of the longest known field name.
const LONGEST_NAME: usize = {
    let mut longest = 0;
    let mut i = 0;
    while i < FIELDS.len() {
        if FIELDS[i].name.len() > longest {
            longest = FIELDS[i].name.len();
        }
        i += 1;
    }
    longest
};

/// Every field, shortest name first: the fields of one name length are side by side.
const BY_LENGTH: [Field; FIELDS.len()] = sorted(SortKey::NameLength);

#[derive(Clone, Copy)]
enum SortKey {
    Name,
    NameLength,
}

/// Every field sorted by `key` (an insertion sort: `const`, unlike `sort_by`).
const fn sorted(key: SortKey) -> [Field; FIELDS.len()] {
    const fn before(a: Field, b: Field, key: SortKey) -> bool {
        match key {
            SortKey::Name => name_before(a.name(), b.name()),
            SortKey::NameLength => a.name().len() < b.name().len(),
        }
    }
    let mut sorted = Field::ALL;
    let mut i = 1;
    while i < sorted.len() {
        let mut j = i;
        while j > 0 && before(sorted[j], sorted[j - 1], key) {
            let swapped = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = swapped;
            j -= 1;
        }
        i += 1;
    }
    sorted
}

/// Where the names of each length start in [`BY_LENGTH`]: those of length `n` are
/// `BY_LENGTH[BY_LENGTH_STARTS[n]..BY_LENGTH_STARTS[n + 1]]`.
const BY_LENGTH_STARTS: [usize; LONGEST_NAME + 2] = {
    let mut starts = [0; LONGEST_NAME + 2];
    let mut length = 0;
    while length <= LONGEST_NAME + 1 {
        let mut before = 0;
        while before < BY_LENGTH.len() && BY_LENGTH[before].name().len() < length {
            before += 1;
        }
        starts[length] = before;
        length += 1;
    }
    starts
};

/// `a < b` as bytes; `const`, unlike `Ord`.
const fn name_before(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
        i += 1;
    }
    a.len() < b.len()
}

/// The spec of a known field, by its upper-case name.
pub fn spec(name: &str) -> Option<&'static FieldSpec> {
    FIELDS.iter().find(|spec| spec.name == name)
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
        assert_eq!(Field::from_name("PRICE_"), None);
        assert_eq!(Field::from_name("TAX_RATE"), None);
        assert_eq!(Field::from_name(""), None);
        assert_eq!(Field::from_name(&"PRICE".repeat(10)), None);
        assert_eq!(Field::from_name("PRİCE"), None);
        let mut names: Vec<&str> = FIELDS.iter().map(|spec| spec.name).collect();
        names.sort_unstable();
        let by_name: Vec<&str> = Field::BY_NAME.iter().map(|field| field.name()).collect();
        assert_eq!(by_name, names);
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
