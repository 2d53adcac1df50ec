//! A Tradewire adapter for product catalogues kept as CSV (spreadsheet exports, ERP
//! dumps) and the canonical [`ProductList`].
//!
//! One message, `catalogue` (`text/csv`), decoded and encoded. The first row names the
//! columns; each further row is one product. Column names are matched case-insensitively
//! and in any order; only `sku` is required:
//!
//! | column        | canonical field                  | format                                           |
//! |---------------|----------------------------------|--------------------------------------------------|
//! | `sku`         | `sku`                            | text, required, unique within the file           |
//! | `name`        | `text.name`                      | text                                             |
//! | `description` | `text.description`               | text                                             |
//! | `price`       | `price.amount`                   | decimal, net of VAT                              |
//! | `currency`    | `price.currency`                 | ISO 4217 code; `default_currency` when empty     |
//! | `vat_rate`    | `vat_rate`                       | decimal, percent (`20`, `5.5`)                   |
//! | `stock`       | `stock`                          | decimal                                          |
//! | `ean13`       | `ean13`                          | 13 digits with a valid check digit               |
//! | `active`      | `active`                         | `true`/`false`, `yes`/`no`, `y`/`n`, `1`/`0`      |
//! | `available`   | `available`                      | as `active`                                      |
//! | `category`    | `category_path`                  | path from the root, `Filters > Activated carbon` |
//! | `weight`      | `weight`                         | decimal                                          |
//! | anything else | `extensions`, keyed by the header as written | text                                 |
//!
//! Every cell is trimmed; an empty cell is an absent field. Decimals are plain: an
//! optional sign, digits, and one decimal separator, `.` by default or `,` with
//! `decimal_comma`; no thousands separators and no exponents, because `1.234` means
//! one thing in Lyon and another in Leeds, and a price must not be guessed.
//!
//! # Diagnostics
//!
//! Bad input is refused with diagnostics, never a panic. Their paths locate the cell in
//! the file:
//!
//! - `/header` (or `/header/<column>`) for the header row;
//! - `/rows/<n>` for a whole row and `/rows/<n>/<column>` for one cell, where `<n>` is
//!   the 1-based number of the data row (the header row is not counted, and a quoted
//!   cell spanning several lines is still one row; the message names the line too) and
//!   `<column>` is the column's name in lower case (an unknown column's as written);
//! - `/config/<field>` for a refused config.
//!
//! The model's own checks ([`ProductList::validate`]) are reported at the same places,
//! `/products/2/ean13` becoming `/rows/3/ean13`. When encoding, paths are JSON Pointers
//! into the canonical document (`/products/0/extensions/sku`).
//!
//! # Encoding
//!
//! One header row and one row per product, `\n`-terminated, cells quoted only when they
//! contain the delimiter, a quote or a line break. The columns are always the twelve of
//! the table above, in its order, followed by one column per extension key found on any
//! product, sorted by name. A product's fields the CSV has no column for (variants,
//! translations, images, …) are left out with a `csv.field_dropped` warning.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::Deserialize;
use tradewire_sdk::core::{Currency, Decimal, Money, Product, ProductList, pointer_token};
use tradewire_sdk::{
    Adapter, AdapterInfo, Diagnostic, Diagnostics, Document, DocumentKind, MessageSpec, Outcome,
};

/// The one message this adapter speaks.
pub const MESSAGE: &str = "catalogue";

/// After this many diagnostics decoding stops: a file in the wrong encoding or with the
/// wrong delimiter would otherwise produce one per cell, and the first ones say enough.
const MAX_DIAGNOSTICS: usize = 100;

/// How the CSV is written. Every field has a default, so `{}` is a valid config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CsvConfig {
    /// The field separator, one ASCII character: `,` (the default), `;` (usual where
    /// the comma is the decimal separator) or a tab.
    pub delimiter: char,
    /// The currency of `price` when a row's `currency` cell is empty or the file has no
    /// `currency` column.
    pub default_currency: Currency,
    /// Decimals use a comma (`12,50`), when reading and when writing.
    pub decimal_comma: bool,
}

impl Default for CsvConfig {
    fn default() -> Self {
        Self {
            delimiter: ',',
            default_currency: Currency::EUR,
            decimal_comma: false,
        }
    }
}

/// The adapter: a checked [`CsvConfig`].
#[derive(Debug, Clone)]
pub struct CsvCatalogue {
    delimiter: u8,
    default_currency: Currency,
    decimal_comma: bool,
}

tradewire_sdk::export_adapter!(CsvCatalogue);

impl Adapter for CsvCatalogue {
    type Config = CsvConfig;

    fn describe() -> AdapterInfo {
        AdapterInfo {
            name: "csv-catalogue".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "Tradewire examples".into(),
            description: "Product catalogues as CSV: one product per row, columns by header name."
                .into(),
            messages: vec![
                MessageSpec::both(MESSAGE, DocumentKind::ProductList, "text/csv").described(
                    "A header row naming the columns (sku required), then one product per row.",
                ),
            ],
        }
    }

    fn new(config: CsvConfig) -> Result<Self, Diagnostics> {
        let delimiter = u8::try_from(config.delimiter)
            .ok()
            .filter(|b| b.is_ascii() && !matches!(b, b'"' | b'\r' | b'\n'));
        let Some(delimiter) = delimiter else {
            return Err(Diagnostic::error(
                "/config/delimiter",
                "csv.bad_delimiter",
                format!(
                    "the delimiter must be one ASCII character other than a quote or a line break, not {:?}",
                    config.delimiter
                ),
            )
            .into());
        };
        Ok(Self {
            delimiter,
            default_currency: config.default_currency,
            decimal_comma: config.decimal_comma,
        })
    }

    fn decode(&self, message: &str, input: &[u8]) -> Outcome<Document> {
        if message != MESSAGE {
            return Err(unknown_message(message));
        }
        self.decode_catalogue(input)
            .map(|accepted| accepted.map(Document::ProductList))
    }

    fn encode(&self, message: &str, document: &Document) -> Outcome<Vec<u8>> {
        if message != MESSAGE {
            return Err(unknown_message(message));
        }
        match document {
            Document::ProductList(list) => self.encode_catalogue(list),
            other => Err(Diagnostic::error(
                "/contract",
                "csv.wrong_document",
                format!(
                    "a catalogue is written from a `product-list/v1`, not a `{}`",
                    other.kind()
                ),
            )
            .into()),
        }
    }
}

fn unknown_message(message: &str) -> Diagnostics {
    Diagnostic::error(
        "",
        "csv.unknown_message",
        format!("this adapter speaks `{MESSAGE}` only, not `{message}`"),
    )
    .into()
}

/// A column the adapter knows. [`Column::ALL`] is also the order columns are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Sku,
    Name,
    Description,
    Price,
    Currency,
    VatRate,
    Stock,
    Ean13,
    Active,
    Available,
    Category,
    Weight,
}

impl Column {
    const ALL: [Column; 12] = [
        Column::Sku,
        Column::Name,
        Column::Description,
        Column::Price,
        Column::Currency,
        Column::VatRate,
        Column::Stock,
        Column::Ean13,
        Column::Active,
        Column::Available,
        Column::Category,
        Column::Weight,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Sku => "sku",
            Self::Name => "name",
            Self::Description => "description",
            Self::Price => "price",
            Self::Currency => "currency",
            Self::VatRate => "vat_rate",
            Self::Stock => "stock",
            Self::Ean13 => "ean13",
            Self::Active => "active",
            Self::Available => "available",
            Self::Category => "category",
            Self::Weight => "weight",
        }
    }

    fn from_header(header: &str) -> Option<Self> {
        let header = header.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(header))
    }
}

/// What a column of the file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Known(Column),
    /// An unknown column, kept in `extensions` under its header as written.
    Extension(String),
}

impl Field {
    /// The column's name in diagnostic paths.
    fn path_name(&self) -> &str {
        match self {
            Self::Known(column) => column.name(),
            Self::Extension(header) => header,
        }
    }
}

/// Where a diagnostic about a data row points.
fn row_path(row: usize, field: Option<&Field>) -> String {
    match field {
        Some(field) => format!("/rows/{row}/{}", pointer_token(field.path_name())),
        None => format!("/rows/{row}"),
    }
}

/// Product fields with a value the CSV has no column for, as JSON Pointer tokens.
fn fields_without_column(product: &Product) -> Vec<&'static str> {
    let text = &product.text;
    [
        ("id", product.id.is_some()),
        ("upc", product.upc.is_some()),
        ("parent_sku", product.parent_sku.is_some()),
        ("text/short_description", text.short_description.is_some()),
        ("text/meta_title", text.meta_title.is_some()),
        ("text/meta_description", text.meta_description.is_some()),
        ("text/meta_keywords", text.meta_keywords.is_some()),
        ("translations", !product.translations.is_empty()),
        ("tax_group", product.tax_group.is_some()),
        ("eco_tax", product.eco_tax.is_some()),
        ("category_prices", !product.category_prices.is_empty()),
        ("dimensions", product.dimensions.is_some()),
        ("image", product.image.is_some()),
        ("variants", !product.variants.is_empty()),
    ]
    .into_iter()
    .filter_map(|(field, present)| present.then_some(field))
    .collect()
}

impl CsvCatalogue {
    fn reader<'a>(&self, input: &'a [u8]) -> csv::Reader<&'a [u8]> {
        csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            // The header is read as a record like the others, so it gets the same
            // UTF-8 and syntax checks.
            .has_headers(false)
            // Rows of the wrong length are reported here, with their row number, instead
            // of stopping the reader.
            .flexible(true)
            .from_reader(input)
    }

    fn decode_catalogue(&self, input: &[u8]) -> Outcome<ProductList> {
        // Spreadsheet programs start UTF-8 exports with a byte order mark.
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        let mut d = Diagnostics::new();
        let mut records = self.reader(input).into_byte_records();
        let header = match records.next() {
            Some(Ok(header)) => header,
            Some(Err(e)) => {
                return Err(Diagnostic::error(
                    "/header",
                    "csv.syntax",
                    format!("the header row cannot be read: {e}"),
                )
                .into());
            }
            None => {
                return Err(Diagnostic::error(
                    "/header",
                    "csv.header_missing",
                    "the input is empty; a catalogue starts with a header row naming its columns, at least `sku`",
                )
                .into());
            }
        };
        let fields = self.read_header(&header, &mut d);
        let Some(fields) = fields else {
            return Err(d);
        };

        let mut products = Vec::new();
        // The data row each product came from, to place the model's diagnostics.
        let mut product_rows = Vec::new();
        let mut first_row_of_sku: BTreeMap<String, usize> = BTreeMap::new();
        let mut last_row = None;
        for (index, record) in records.enumerate() {
            let row = index + 1;
            if d.len() >= MAX_DIAGNOSTICS {
                d.error(
                    "",
                    "csv.too_many_errors",
                    format!(
                        "stopped at row {row} after {MAX_DIAGNOSTICS} diagnostics; check the delimiter and that the file is UTF-8"
                    ),
                );
                break;
            }
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    d.error(row_path(row, None), "csv.syntax", e.to_string());
                    continue;
                }
            };
            let line = record.position().map_or(0, csv::Position::line);
            last_row = Some((row, line));
            // Spreadsheets export trailing rows of empty cells (`,,,`); they hold nothing.
            if record.iter().all(|cell| cell.trim_ascii().is_empty()) {
                continue;
            }
            if record.len() != fields.len() {
                let hint = if record.len() > fields.len() {
                    format!(
                        "a cell containing the delimiter `{}` needs quotes",
                        char::from(self.delimiter)
                    )
                } else {
                    "every row needs a cell (maybe empty) for every column".to_owned()
                };
                d.error(
                    row_path(row, None),
                    "csv.field_count",
                    format!(
                        "row {row} (line {line}) has {} cells, the header has {}; {hint}",
                        record.len(),
                        fields.len(),
                    ),
                );
                continue;
            }
            let product = self.read_row(row, line, &fields, &record, &mut d);
            if !product.sku.is_empty() {
                match first_row_of_sku.get(&product.sku) {
                    Some(first) => d.error(
                        row_path(row, Some(&Field::Known(Column::Sku))),
                        "csv.duplicate_sku",
                        format!(
                            "row {row} (line {line}): sku `{}` is already on row {first}; systems match products by sku, so each may appear once",
                            product.sku
                        ),
                    ),
                    None => {
                        first_row_of_sku.insert(product.sku.clone(), row);
                    }
                }
            }
            products.push(product);
            product_rows.push(row);
        }

        if let Some(opened_at) = unterminated_quote(input, self.delimiter) {
            let opened_on_line = 1 + input
                .get(..opened_at)
                .unwrap_or_default()
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            d.error(
                last_row.map_or_else(|| "/header".to_owned(), |(row, _)| row_path(row, None)),
                "csv.unterminated_quote",
                format!(
                    "the quoted cell opened on line {opened_on_line} is never closed, so the rest of the file was read as one cell; a quote inside a quoted cell is written twice (`\"\"`)"
                ),
            );
        }

        let list = ProductList { products };
        for mut diagnostic in list.validate() {
            diagnostic.path = products_to_rows(&diagnostic.path, &product_rows);
            d.push(diagnostic);
        }
        if list.products.is_empty() && !d.has_errors() {
            d.warning(
                "/rows",
                "csv.no_rows",
                "the catalogue has a header but no products",
            );
        }
        d.finish(list)
    }

    /// Maps the header to fields; `None` when rows cannot be read with it.
    fn read_header(&self, header: &csv::ByteRecord, d: &mut Diagnostics) -> Option<Vec<Field>> {
        let mut fields = Vec::with_capacity(header.len());
        let mut seen = BTreeSet::new();
        let mut usable = true;
        for (index, raw) in header.iter().enumerate() {
            let position = index + 1;
            let Ok(name) = std::str::from_utf8(raw) else {
                d.error(
                    "/header",
                    "csv.invalid_utf8",
                    format!(
                        "the name of column {position} is not valid UTF-8; save the file as UTF-8"
                    ),
                );
                usable = false;
                continue;
            };
            let name = name.trim();
            if name.is_empty() {
                d.error(
                    "/header",
                    "csv.unnamed_column",
                    format!("column {position} has no name; every column needs one (remove a trailing delimiter?)"),
                );
                usable = false;
                continue;
            }
            let field = match Column::from_header(name) {
                Some(column) => Field::Known(column),
                None => Field::Extension(name.to_owned()),
            };
            if !seen.insert(name.to_lowercase()) {
                d.error(
                    format!("/header/{}", pointer_token(field.path_name())),
                    "csv.duplicate_column",
                    format!("column `{name}` appears twice (names are compared ignoring case)"),
                );
                usable = false;
            }
            fields.push(field);
        }
        if usable && !fields.contains(&Field::Known(Column::Sku)) {
            d.error(
                "/header",
                "csv.sku_column_missing",
                format!(
                    "no `sku` column; the header row names the columns, and `sku` is required (found: {}; is the delimiter `{}` right?)",
                    fields.iter().map(Field::path_name).collect::<Vec<_>>().join(", "),
                    char::from(self.delimiter)
                ),
            );
            usable = false;
        }
        usable.then_some(fields)
    }

    fn read_row(
        &self,
        row: usize,
        line: u64,
        fields: &[Field],
        record: &csv::ByteRecord,
        d: &mut Diagnostics,
    ) -> Product {
        let mut product = Product::default();
        let mut price = None;
        let mut currency = None;
        for (field, raw) in fields.iter().zip(record.iter()) {
            let path = row_path(row, Some(field));
            let Ok(cell) = std::str::from_utf8(raw) else {
                d.error(
                    path,
                    "csv.invalid_utf8",
                    format!(
                        "row {row} (line {line}), column {}: not valid UTF-8; save the file as UTF-8",
                        field.path_name()
                    ),
                );
                continue;
            };
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            let column = match field {
                Field::Known(column) => *column,
                Field::Extension(header) => {
                    product.extensions.insert(header.clone(), cell.to_owned());
                    continue;
                }
            };
            let mut number = |what: &str| match parse_decimal(cell, self.decimal_comma) {
                Ok(value) => Some(value),
                Err(why) => {
                    d.error(
                        path.clone(),
                        "csv.bad_number",
                        format!("row {row} (line {line}): {what} `{cell}` {why}"),
                    );
                    None
                }
            };
            match column {
                Column::Sku => product.sku = cell.to_owned(),
                Column::Name => product.text.name = Some(cell.to_owned()),
                Column::Description => product.text.description = Some(cell.to_owned()),
                Column::Price => price = number("price"),
                Column::VatRate => product.vat_rate = number("VAT rate"),
                Column::Stock => product.stock = number("stock"),
                Column::Weight => product.weight = number("weight"),
                Column::Currency => match Currency::from_code(cell) {
                    Ok(code) => currency = Some(code),
                    Err(e) => d.error(
                        path,
                        "csv.bad_currency",
                        format!("row {row} (line {line}): {e}"),
                    ),
                },
                Column::Ean13 => product.ean13 = Some(cell.to_owned()),
                Column::Active => product.active = parse_bool(cell, &path, row, line, d),
                Column::Available => product.available = parse_bool(cell, &path, row, line, d),
                Column::Category => {
                    let segments: Vec<String> =
                        cell.split('>').map(|s| s.trim().to_owned()).collect();
                    if segments.iter().any(String::is_empty) {
                        d.error(
                            path,
                            "csv.bad_category",
                            format!(
                                "row {row} (line {line}): category `{cell}` has an empty level; write the path from the root as `Filters > Activated carbon`"
                            ),
                        );
                    } else {
                        product.category_path = segments;
                    }
                }
            }
        }
        match (price, currency) {
            (Some(amount), currency) => {
                product.price = Some(Money::new(
                    amount,
                    currency.unwrap_or(self.default_currency),
                ));
            }
            (None, Some(_)) => d.warning(
                row_path(row, Some(&Field::Known(Column::Currency))),
                "csv.currency_without_price",
                format!(
                    "row {row} (line {line}) has a currency but no price; the currency is ignored"
                ),
            ),
            (None, None) => {}
        }
        product
    }

    fn encode_catalogue(&self, list: &ProductList) -> Outcome<Vec<u8>> {
        let mut d = list.validate();
        // Extension columns by lower-cased name, to find keys that would read back as
        // one column or as a known column.
        let mut extension_columns: BTreeMap<String, String> = BTreeMap::new();
        for (i, product) in list.products.iter().enumerate() {
            let at = format!("/products/{i}");
            for key in product.extensions.keys() {
                let path = format!("{at}/extensions/{}", pointer_token(key));
                if key.trim().is_empty() || key.trim() != key {
                    d.error(
                        path,
                        "csv.bad_extension_name",
                        format!("extension `{key}` cannot be a column name: column names are trimmed and must not be empty"),
                    );
                } else if Column::from_header(key).is_some() {
                    d.error(
                        path,
                        "csv.extension_collides",
                        format!(
                            "extension `{key}` would be read back as the `{}` column",
                            key.to_lowercase()
                        ),
                    );
                } else {
                    match extension_columns.get(&key.to_lowercase()) {
                        Some(other) if other != key => d.error(
                            path,
                            "csv.extension_collides",
                            format!("extensions `{other}` and `{key}` differ only in case, and column names ignore case"),
                        ),
                        Some(_) => {}
                        None => {
                            extension_columns.insert(key.to_lowercase(), key.clone());
                        }
                    }
                }
            }
            for (j, segment) in product.category_path.iter().enumerate() {
                if segment.trim().is_empty() || segment.contains('>') {
                    d.error(
                        format!("{at}/category_path/{j}"),
                        "csv.bad_category",
                        format!("category level `{segment}` cannot be written: levels are separated by `>` and must not be empty"),
                    );
                }
            }
            for field in fields_without_column(product) {
                d.warning(
                    format!("{at}/{field}"),
                    "csv.field_dropped",
                    "not written: the CSV catalogue has no column for it",
                );
            }
        }
        if d.has_errors() {
            return Err(d);
        }

        let mut writer = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let extension_keys: Vec<&String> = extension_columns.values().collect();
        let header = Column::ALL
            .iter()
            .map(|c| c.name())
            .chain(extension_keys.iter().map(|k| k.as_str()));
        let mut result = writer.write_record(header);
        for product in &list.products {
            if result.is_err() {
                break;
            }
            let mut cells: Vec<String> = Column::ALL
                .iter()
                .map(|&column| self.cell(product, column))
                .collect();
            cells.extend(
                extension_keys
                    .iter()
                    .map(|key| product.extensions.get(*key).cloned().unwrap_or_default()),
            );
            result = writer.write_record(&cells);
        }
        let bytes = result
            .map_err(|e| e.to_string())
            .and_then(|()| writer.into_inner().map_err(|e| e.to_string()));
        match bytes {
            Ok(bytes) => d.finish(bytes),
            Err(why) => Err(Diagnostic::error("", "csv.write_failed", why).into()),
        }
    }

    /// The text of `product`'s cell in `column`; empty for an absent field.
    fn cell(&self, product: &Product, column: Column) -> String {
        let number = |value: Option<Decimal>| {
            value
                .map(|v| format_decimal(v, self.decimal_comma))
                .unwrap_or_default()
        };
        let flag = |value: Option<bool>| value.map(|v| v.to_string()).unwrap_or_default();
        match column {
            Column::Sku => product.sku.clone(),
            Column::Name => product.text.name.clone().unwrap_or_default(),
            Column::Description => product.text.description.clone().unwrap_or_default(),
            Column::Price => number(product.price.map(|p| p.amount)),
            Column::Currency => product
                .price
                .map(|p| p.currency.code().to_owned())
                .unwrap_or_default(),
            Column::VatRate => number(product.vat_rate),
            Column::Stock => number(product.stock),
            Column::Ean13 => product.ean13.clone().unwrap_or_default(),
            Column::Active => flag(product.active),
            Column::Available => flag(product.available),
            Column::Category => product.category_path.join(" > "),
            Column::Weight => number(product.weight),
        }
    }
}

/// Where the quoted cell that runs to the end of `input` opens, if one does.
///
/// The csv reader takes a missing closing quote as a cell running to the end of the
/// input, which would silently swallow every following row. This scan follows the same
/// rules: a quote opens a quoted cell only at the start of a cell, `""` inside one is a
/// literal quote, and any other quote closes it.
fn unterminated_quote(input: &[u8], delimiter: u8) -> Option<usize> {
    let mut at_cell_start = true;
    let mut opened_at = None;
    let mut bytes = input.iter().enumerate().peekable();
    while let Some((i, &byte)) = bytes.next() {
        if opened_at.is_some() {
            if byte == b'"' {
                if bytes.peek().is_some_and(|&(_, &next)| next == b'"') {
                    bytes.next();
                } else {
                    opened_at = None;
                }
            }
            continue;
        }
        if at_cell_start && byte == b'"' {
            opened_at = Some(i);
        }
        at_cell_start = matches!(byte, b'\n' | b'\r') || byte == delimiter;
    }
    opened_at
}

/// `/products/<i>/…` (a path from [`ProductList::validate`]) as `/rows/<row>/…`.
fn products_to_rows(path: &str, product_rows: &[usize]) -> String {
    let Some(rest) = path.strip_prefix("/products/") else {
        return path.to_owned();
    };
    let (index, tail) = rest.split_once('/').map_or((rest, ""), |(i, t)| (i, t));
    match index
        .parse::<usize>()
        .ok()
        .and_then(|i| product_rows.get(i))
    {
        Some(row) if tail.is_empty() => format!("/rows/{row}"),
        Some(row) => format!("/rows/{row}/{tail}"),
        None => path.to_owned(),
    }
}

/// Parses a plain decimal: optional sign, digits, optionally one separator and digits.
/// The error completes the sentence "price `1.234,5` …".
fn parse_decimal(text: &str, decimal_comma: bool) -> Result<Decimal, String> {
    let (separator, other) = if decimal_comma {
        (',', '.')
    } else {
        ('.', ',')
    };
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once(separator) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(whole) && fraction.is_none_or(digits)) {
        return Err(if unsigned.contains(other) {
            if decimal_comma {
                format!(
                    "is not a number here: with `decimal_comma` the decimal separator is `,`, and `{other}` is not accepted (no thousands separators)"
                )
            } else {
                format!(
                    "is not a number here: the decimal separator is `.`, and `{other}` is not accepted (no thousands separators); set `decimal_comma` for files written `12,50`"
                )
            }
        } else {
            format!(
                "is not a number (expected digits with an optional `{separator}`, like `12{separator}50`)"
            )
        });
    }
    let normalised = text.replace(',', ".");
    Decimal::from_str_exact(normalised.trim_start_matches('+'))
        .map_err(|e| format!("cannot be represented exactly: {e}"))
}

fn format_decimal(value: Decimal, decimal_comma: bool) -> String {
    let text = value.to_string();
    if decimal_comma {
        text.replace('.', ",")
    } else {
        text
    }
}

fn parse_bool(cell: &str, path: &str, row: usize, line: u64, d: &mut Diagnostics) -> Option<bool> {
    match cell.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => {
            d.error(
                path,
                "csv.bad_boolean",
                format!("row {row} (line {line}): `{cell}` is not a yes/no value (true/false, yes/no, y/n, 1/0)"),
            );
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn adapter(config: CsvConfig) -> CsvCatalogue {
        CsvCatalogue::new(config).expect("valid config")
    }

    fn decode(adapter: &CsvCatalogue, input: &str) -> Outcome<ProductList> {
        adapter.decode_catalogue(input.as_bytes())
    }

    #[test]
    fn decimals_are_plain_and_exact() {
        assert_eq!(
            parse_decimal("12.50", false).map(|d| d.to_string()),
            Ok("12.50".into())
        );
        assert_eq!(
            parse_decimal("-3", false).map(|d| d.to_string()),
            Ok("-3".into())
        );
        assert_eq!(
            parse_decimal("+7.0", false).map(|d| d.to_string()),
            Ok("7.0".into())
        );
        assert_eq!(
            parse_decimal("12,50", true).map(|d| d.to_string()),
            Ok("12.50".into())
        );
        for bad in [
            "1.234,5", "12,50", "1e5", ".5", "5.", "", "-", "1 000", "١٢",
        ] {
            assert!(parse_decimal(bad, false).is_err(), "{bad}");
        }
        for bad in ["1.234,5", "12.50", "1,2,3"] {
            assert!(parse_decimal(bad, true).is_err(), "{bad}");
        }
        let why = parse_decimal("1.234,5", false).unwrap_err();
        assert!(why.contains("decimal_comma"), "{why}");
        assert!(parse_decimal("99999999999999999999999999999999", false).is_err());
    }

    #[test]
    fn an_unclosed_quote_is_found_where_it_opens() {
        assert_eq!(
            unterminated_quote(b"sku,name\nA,\"x\ny\nB,z\n", b','),
            Some(11)
        );
        assert_eq!(unterminated_quote(b"sku,name\nA,\"x\"\"y\"\n", b','), None);
        assert_eq!(unterminated_quote(b"sku;name\nA;24\" screen\n", b';'), None);
        assert_eq!(unterminated_quote(b"\"sku", b','), Some(0));
        let d = decode(&adapter(CsvConfig::default()), "sku,name\nA,\"x\nB,z\n").unwrap_err();
        assert_eq!(d.as_slice()[0].path, "/rows/1");
        assert_eq!(d.as_slice()[0].code, "csv.unterminated_quote");
        assert!(d.as_slice()[0].message.contains("line 2"), "{d}");
    }

    #[test]
    fn blank_rows_are_skipped() {
        let list = decode(&adapter(CsvConfig::default()), "sku,name\n,\n  \nA,x\n,,\n").unwrap();
        assert_eq!(list.value.products.len(), 1);
    }

    #[test]
    fn model_paths_become_row_paths() {
        assert_eq!(
            products_to_rows("/products/1/ean13", &[1, 3]),
            "/rows/3/ean13"
        );
        assert_eq!(products_to_rows("/products/0", &[2]), "/rows/2");
        assert_eq!(products_to_rows("/products/9/sku", &[1]), "/products/9/sku");
        assert_eq!(products_to_rows("/other", &[1]), "/other");
    }

    #[test]
    fn bad_rows_are_all_reported_with_row_and_column() {
        let input = "sku,price,active,ean13\nA,1.5,yes,\n,2,maybe,4006381333932\nC,x\n";
        let d = decode(&adapter(CsvConfig::default()), input).unwrap_err();
        let found: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.path.as_str(), d.code.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("/rows/2/active", "csv.bad_boolean"),
                ("/rows/3", "csv.field_count"),
                ("/rows/2/sku", "product.sku_missing"),
                ("/rows/2/ean13", "product.bad_gtin"),
            ]
        );
    }

    #[test]
    fn the_delimiter_must_be_one_safe_byte() {
        for bad in ['"', '\n', 'é'] {
            let config = CsvConfig {
                delimiter: bad,
                ..CsvConfig::default()
            };
            let d = CsvCatalogue::new(config).unwrap_err();
            assert_eq!(d.as_slice()[0].path, "/config/delimiter");
        }
        assert!(
            CsvCatalogue::new(CsvConfig {
                delimiter: '\t',
                ..CsvConfig::default()
            })
            .is_ok()
        );
    }

    #[test]
    fn encoding_quotes_what_needs_it_and_warns_about_dropped_fields() {
        let list = ProductList {
            products: vec![Product {
                sku: "A;1".into(),
                upc: Some("036000291452".into()),
                price: Some(Money::new(Decimal::new(1250, 2), Currency::EUR)),
                ..Product::default()
            }],
        };
        let csv = adapter(CsvConfig {
            delimiter: ';',
            decimal_comma: true,
            ..CsvConfig::default()
        });
        let accepted = csv.encode_catalogue(&list).unwrap();
        assert_eq!(
            String::from_utf8(accepted.value).unwrap(),
            "sku;name;description;price;currency;vat_rate;stock;ean13;active;available;category;weight\n\"A;1\";;;12,50;EUR;;;;;;;\n"
        );
        assert_eq!(accepted.warnings.as_slice()[0].path, "/products/0/upc");
    }

    #[test]
    fn encoding_refuses_extensions_that_would_read_back_differently() {
        let mut product = Product {
            sku: "A".into(),
            ..Product::default()
        };
        product.extensions.insert("Price".into(), "1".into());
        product.extensions.insert(" padded".into(), "1".into());
        let mut other = Product {
            sku: "B".into(),
            ..Product::default()
        };
        other.extensions.insert("colour".into(), "red".into());
        let mut third = Product {
            sku: "C".into(),
            ..Product::default()
        };
        third.extensions.insert("Colour".into(), "blue".into());
        let list = ProductList {
            products: vec![product, other, third],
        };
        let d = adapter(CsvConfig::default())
            .encode_catalogue(&list)
            .unwrap_err();
        let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/products/0/extensions/ padded",
                "/products/0/extensions/Price",
                "/products/2/extensions/Colour"
            ]
        );
    }
}
