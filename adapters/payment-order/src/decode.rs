//! A Payline order object (as text) → the canonical order.
//!
//! The four fields Payline requires (`ref`, `amount`, `currency`, `date`), the line
//! items' `price`, `quantity` and `taxRate`, which become the canonical lines' money,
//! count and VAT, and the travel fields (`otaPackageType`, `otaDestinationCountry`,
//! `bookingReference`) must be right or the order is refused. A missing `country`, also
//! required, is reported and read on: Payline's own responses leave it nil. The other
//! order fields are
//! hints to the provider's risk checks, and Payline's own SDK sends free text in them
//! (`<deliveryTime>entre 6h et 22h</deliveryTime>`, `<taxes>50%</taxes>`): a value that
//! does not fit its format is kept verbatim under `extensions["payline.<field>"]` with
//! a `payline.kept_verbatim` warning, and written back unchanged.

use std::collections::BTreeMap;

use chrono::{LocalResult, TimeZone};
use tradewire_sdk::Diagnostics;
use tradewire_sdk::core::{
    Address, Classification, Country, Currency, Decimal, Delivery, LineKind, Manufacturer,
    OptionValue, Order, OrderLine, Price, Totals,
};

use crate::config::Settings;
use crate::fields::{
    AMOUNT, BOOKING_REFERENCE, COUNTRY, CURRENCY, D_ADDITIONAL_DATA, D_BRAND, D_CATEGORY,
    D_COMMENT, D_PRICE, D_QUANTITY, D_REF, D_SELLER, D_SELLER_TYPE, D_SUBCATEGORY1, D_SUBCATEGORY2,
    D_TAX_RATE, DATE, DELIVERY_CHARGE, DELIVERY_EXPECTED_DATE, DELIVERY_EXPECTED_DELAY,
    DELIVERY_MODE, DELIVERY_TIME, DETAILS, DISCOUNT_AMOUNT, DetailField, Field, Form, MAX_DETAILS,
    ORIGIN, OTA_DESTINATION_COUNTRY, OTA_PACKAGE_TYPE, PASSED_THROUGH, REF, RawDetail, RawOrder,
    TAXES, extension_key,
};
use crate::text::{N12_DIGITS, NumberProblem, parse_day, parse_digits, parse_order_date, quote};

/// `ref` is `AN50` and must not contain a backslash.
pub(crate) const REF_MAX_CHARS: usize = 50;
/// `origin` is `AN50`.
pub(crate) const ORIGIN_MAX_CHARS: usize = 50;
/// `bookingReference` is `AN100`.
pub(crate) const BOOKING_REFERENCE_MAX_CHARS: usize = 100;

/// What `origin` says for mail and telephone orders, and the canonical channels they
/// stand for. No `origin` is an e-commerce order.
pub(crate) const MAIL_ORDER: (&str, &str) = ("MO", "mail-order");
pub(crate) const TELEPHONE_ORDER: (&str, &str) = ("TO", "telephone");
pub(crate) const E_COMMERCE: &str = "e-commerce";

/// Line classification domains for the `orderDetail` category fields.
pub(crate) const CATEGORY_DOMAINS: [(DetailField, &str); 3] = [
    (D_CATEGORY, "payline.category"),
    (D_SUBCATEGORY1, "payline.subcategory1"),
    (D_SUBCATEGORY2, "payline.subcategory2"),
];

/// Interprets `raw`, recording every problem in `d`. The order returned is meaningful
/// only when `d` holds no error.
pub(crate) fn to_order(
    raw: &RawOrder<'_>,
    form: Form,
    settings: &Settings,
    d: &mut Diagnostics,
) -> Order {
    // Paths are only written when a diagnostic needs one.
    let at = |field: Field| form.field(field.name());
    let currency = read_currency(raw, || at(CURRENCY), d);
    // With an unreadable currency an error is already recorded, so the placeholder never
    // leaves this function in an accepted document.
    let mut order = Order::new(currency.unwrap_or(Currency::EUR));

    order.reference = read_ref(raw, || at(REF), d);
    order.channel = Some(channel_of(raw.get(ORIGIN), || at(ORIGIN), d));
    order.created_at = read_date(raw, || at(DATE), settings, d);

    let mut extensions = BTreeMap::new();
    match raw.get(COUNTRY) {
        // Payline's own responses leave `country` nil: read on, but say what a request
        // made from this order would lack.
        None => d.warning(
            at(COUNTRY),
            "payline.country_missing",
            "`country` is required by Payline's specification but absent: the order has no billing country, and cannot be sent to Payline as it is",
        ),
        Some(text) => match alpha2(text) {
            Some(country) => {
                order.billing_address = Some(Address {
                    country: Some(country),
                    ..Address::default()
                });
            }
            None => keep_verbatim(
                &mut extensions,
                d,
                &at(COUNTRY),
                COUNTRY.name(),
                text,
                "is not an ISO 3166-1 alpha-2 country code",
            ),
        },
    }

    let money = |field: Field, d: &mut Diagnostics, extensions: &mut BTreeMap<String, String>| {
        let text = raw.get(field)?;
        match (parse_digits(text, N12_DIGITS), currency) {
            (Ok(minor), Some(currency)) => amount_of(currency, minor),
            (Ok(_), None) => None,
            (Err(problem), _) => {
                keep_verbatim(
                    extensions,
                    d,
                    &at(field),
                    field.name(),
                    text,
                    &format!("is not an amount in minor units: {problem}"),
                );
                None
            }
        }
    };

    let gross = read_amount(raw, || at(AMOUNT), currency, d);
    let tax = money(TAXES, d, &mut extensions);
    if let Some(gross) = gross {
        order.totals = Some(Totals {
            gross,
            net: None,
            tax,
        });
    }

    if raw.details.len() > MAX_DETAILS {
        d.error(
            at(DETAILS),
            "payline.too_many_details",
            format!(
                "{} orderDetail items; Payline accepts at most {MAX_DETAILS}",
                raw.details.len()
            ),
        );
    }
    order.lines = raw
        .details
        .iter()
        .enumerate()
        .map(|(index, detail)| to_line(detail, index, form, currency, d))
        .collect();
    if let Some(charge) = money(DELIVERY_CHARGE, d, &mut extensions) {
        order.lines.push(single_line(LineKind::Shipping, charge));
    }
    if let Some(discount) = money(DISCOUNT_AMOUNT, d, &mut extensions) {
        order.lines.push(single_line(LineKind::Discount, discount));
    }

    let delivery = read_delivery(raw, form, settings, &mut extensions, d);
    if delivery != Delivery::default() {
        order.delivery = Some(delivery);
    }
    for field in PASSED_THROUGH {
        if let Some(text) = raw.get(field)
            && check_travel_field(field, text, || at(field), d)
        {
            extensions.insert(extension_key(field.name()), text.to_owned());
        }
    }
    order.extensions = extensions;
    order
}

fn amount_of(currency: Currency, minor: u64) -> Option<Decimal> {
    // N12 values (below 10^12) always fit an i64, and the currency has a minor unit.
    currency.from_minor_units(i64::try_from(minor).ok()?).ok()
}

/// A line of one unit at `gross`: how `deliveryCharge` and `discountAmount` enter the
/// canonical order.
fn single_line(kind: LineKind, gross: Decimal) -> OrderLine {
    OrderLine {
        kind,
        quantity: Decimal::ONE,
        unit_price: Some(Price::gross(gross)),
        ..OrderLine::default()
    }
}

fn keep_verbatim(
    extensions: &mut BTreeMap<String, String>,
    d: &mut Diagnostics,
    path: &str,
    field: &str,
    text: &str,
    why: &str,
) {
    let key = extension_key(field);
    d.warning(
        path,
        "payline.kept_verbatim",
        format!(
            "{} {why}; kept as it is in extensions[\"{key}\"]",
            quote(text)
        ),
    );
    extensions.insert(key, text.to_owned());
}

fn missing(d: &mut Diagnostics, path: &str, field: Field) {
    d.error(
        path,
        "payline.missing_field",
        format!("`{}` is required by Payline", field.name()),
    );
}

fn read_ref(raw: &RawOrder<'_>, path: impl Fn() -> String, d: &mut Diagnostics) -> Option<String> {
    let Some(text) = raw.get(REF) else {
        missing(d, &path(), REF);
        return None;
    };
    check_ref(text, path, d);
    Some(text.to_owned())
}

/// The rules for `ref`, the same for reading and writing: at most 50 characters, no
/// backslash. `path` is called only when there is something to report.
pub(crate) fn check_ref(text: &str, path: impl Fn() -> String, d: &mut Diagnostics) {
    let length = text.chars().count();
    if length > REF_MAX_CHARS {
        d.error(
            path(),
            "payline.too_long",
            format!(
                "`ref` has {length} characters; Payline allows at most {REF_MAX_CHARS}: {}",
                quote(text)
            ),
        );
    }
    if text.contains('\\') {
        d.error(
            path(),
            "payline.forbidden_character",
            format!("`ref` must not contain `\\`: {}", quote(text)),
        );
    }
}

/// An ISO 3166-1 alpha-2 code, exactly two letters (`FR`), as `country` and
/// `otaDestinationCountry` carry it.
pub(crate) fn alpha2(text: &str) -> Option<Country> {
    Country::from_alpha2(text).ok().filter(|_| text.len() == 2)
}

/// The rules of the travel fields, which Payline checks strictly, the same for reading
/// and writing: `otaPackageType` is `N2`, `otaDestinationCountry` an alpha-2 country code
/// (`AN2`), `bookingReference` at most 100 characters (`AN100`). A value that breaks them
/// is an error at `path` (called only then); `true` when `text` fits, or `field` is
/// none of them.
pub(crate) fn check_travel_field(
    field: Field,
    text: &str,
    path: impl FnOnce() -> String,
    d: &mut Diagnostics,
) -> bool {
    let problem = match field {
        OTA_PACKAGE_TYPE => parse_digits(text, 2).err().map(|problem| {
            let code = match problem {
                NumberProblem::TooManyDigits { .. } => "payline.too_many_digits",
                _ => "payline.not_a_number",
            };
            (
                code,
                format!(
                    "`otaPackageType` {} is not a package type code of at most two digits (N2)",
                    quote(text)
                ),
            )
        }),
        OTA_DESTINATION_COUNTRY => alpha2(text).is_none().then(|| {
            (
                "payline.unknown_country",
                format!(
                    "`otaDestinationCountry` {} is not an ISO 3166-1 alpha-2 country code (AN2)",
                    quote(text)
                ),
            )
        }),
        BOOKING_REFERENCE => {
            let length = text.chars().count();
            (length > BOOKING_REFERENCE_MAX_CHARS).then(|| {
                (
                    "payline.too_long",
                    format!(
                        "`bookingReference` has {length} characters; Payline allows at most {BOOKING_REFERENCE_MAX_CHARS} (AN100)"
                    ),
                )
            })
        }
        _ => None,
    };
    match problem {
        Some((code, message)) => {
            d.error(path(), code, message);
            false
        }
        None => true,
    }
}

fn channel_of(origin: Option<&str>, path: impl FnOnce() -> String, d: &mut Diagnostics) -> String {
    match origin {
        None => E_COMMERCE.to_owned(),
        Some(code) if code == MAIL_ORDER.0 => MAIL_ORDER.1.to_owned(),
        Some(code) if code == TELEPHONE_ORDER.0 => TELEPHONE_ORDER.1.to_owned(),
        Some(other) => {
            let length = other.chars().count();
            if length > ORIGIN_MAX_CHARS {
                d.warning(
                    path(),
                    "payline.too_long",
                    format!("`origin` has {length} characters; Payline allows at most {ORIGIN_MAX_CHARS}"),
                );
            }
            other.to_owned()
        }
    }
}

fn read_currency(
    raw: &RawOrder<'_>,
    path: impl Fn() -> String,
    d: &mut Diagnostics,
) -> Option<Currency> {
    let Some(text) = raw.get(CURRENCY) else {
        missing(d, &path(), CURRENCY);
        return None;
    };
    let numeric = match parse_digits(text, 3) {
        Ok(numeric) => numeric,
        Err(problem) => {
            d.error(
                path(),
                "payline.unknown_currency",
                format!(
                    "{} is not a numeric ISO 4217 currency code (978 for EUR): {problem}",
                    quote(text)
                ),
            );
            return None;
        }
    };
    let Some(currency) = u16::try_from(numeric)
        .ok()
        .and_then(|n| Currency::from_numeric(n).ok())
    else {
        d.error(
            path(),
            "payline.unknown_currency",
            format!(
                "{} is not the numeric code of a current ISO 4217 currency",
                quote(text)
            ),
        );
        return None;
    };
    if currency.exponent().is_none() {
        d.error(
            path(),
            "payline.currency_without_minor_unit",
            format!("{currency} ({text}) has no minor unit in ISO 4217, so no amount can be counted in it"),
        );
        return None;
    }
    Some(currency)
}

fn read_amount(
    raw: &RawOrder<'_>,
    path: impl FnOnce() -> String,
    currency: Option<Currency>,
    d: &mut Diagnostics,
) -> Option<Decimal> {
    let Some(text) = raw.get(AMOUNT) else {
        missing(d, &path(), AMOUNT);
        return None;
    };
    match parse_digits(text, N12_DIGITS) {
        Ok(minor) => amount_of(currency?, minor),
        Err(problem) => {
            d.error(
                path(),
                problem.code(),
                format!(
                    "`amount` {} is not an amount in minor units: {problem}",
                    quote(text)
                ),
            );
            None
        }
    }
}

fn read_date(
    raw: &RawOrder<'_>,
    path: impl FnOnce() -> String,
    settings: &Settings,
    d: &mut Diagnostics,
) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let Some(text) = raw.get(DATE) else {
        missing(d, &path(), DATE);
        return None;
    };
    let local = match parse_order_date(text) {
        Ok(local) => local,
        Err(problem) => {
            d.error(
                path(),
                problem.code(),
                format!(
                    "`date` {} is not a date `dd/mm/yyyy HH:MM` that exists",
                    quote(text)
                ),
            );
            return None;
        }
    };
    match settings.zone.from_local_datetime(&local) {
        LocalResult::Single(moment) => Some(moment.fixed_offset()),
        LocalResult::Ambiguous(earlier, _) => {
            d.warning(
                path(),
                "payline.ambiguous_date",
                format!(
                    "{text} happens twice in {} (clocks go back); read as the earlier, {}",
                    settings.zone,
                    earlier.fixed_offset().to_rfc3339()
                ),
            );
            Some(earlier.fixed_offset())
        }
        LocalResult::None => {
            d.error(
                path(),
                "payline.no_such_date",
                format!(
                    "{text} does not exist in {} (clocks go forward)",
                    settings.zone
                ),
            );
            None
        }
    }
}

fn read_delivery(
    raw: &RawOrder<'_>,
    form: Form,
    settings: &Settings,
    extensions: &mut BTreeMap<String, String>,
    d: &mut Diagnostics,
) -> Delivery {
    let mut delivery = Delivery::default();
    let code = |text: &str| {
        parse_digits(text, 1)
            .ok()
            .and_then(|n| u8::try_from(n).ok())
    };
    if let Some(text) = raw.get(DELIVERY_TIME) {
        delivery.speed = code(text).and_then(|c| settings.delivery_time.speed(c));
        if delivery.speed.is_none() {
            keep_verbatim(
                extensions,
                d,
                &form.field(DELIVERY_TIME.name()),
                DELIVERY_TIME.name(),
                text,
                "is not a deliveryTime code the configuration maps (1 express, 2 standard)",
            );
        }
    }
    if let Some(text) = raw.get(DELIVERY_MODE) {
        delivery.method = code(text).and_then(|c| settings.delivery_mode.method(c));
        if delivery.method.is_none() {
            keep_verbatim(
                extensions,
                d,
                &form.field(DELIVERY_MODE.name()),
                DELIVERY_MODE.name(),
                text,
                "is not a deliveryMode code the configuration maps (1 to 5)",
            );
        }
    }
    if let Some(text) = raw.get(DELIVERY_EXPECTED_DATE) {
        // No check against today: a response read later is about a past delivery.
        delivery.expected_date = parse_day(text).ok();
        if delivery.expected_date.is_none() {
            keep_verbatim(
                extensions,
                d,
                &form.field(DELIVERY_EXPECTED_DATE.name()),
                DELIVERY_EXPECTED_DATE.name(),
                text,
                "is not a date dd/mm/yyyy that exists",
            );
        }
    }
    if let Some(text) = raw.get(DELIVERY_EXPECTED_DELAY) {
        delivery.expected_delay_days = parse_digits(text, 9)
            .ok()
            .and_then(|n| u32::try_from(n).ok());
        if delivery.expected_delay_days.is_none() {
            keep_verbatim(
                extensions,
                d,
                &form.field(DELIVERY_EXPECTED_DELAY.name()),
                DELIVERY_EXPECTED_DELAY.name(),
                text,
                "is not a number of days",
            );
        }
    }
    delivery
}

/// The article line of item `index`.
fn to_line(
    detail: &RawDetail<'_>,
    index: usize,
    form: Form,
    currency: Option<Currency>,
    d: &mut Diagnostics,
) -> OrderLine {
    let mut line = OrderLine::default();
    // Paths are only written when a diagnostic needs one.
    let at = |field: DetailField| form.detail_field(index, field.name());
    let text = |field: DetailField| detail.get(field).map(str::to_owned);
    line.kind = LineKind::Article;
    line.sku = text(D_REF);
    line.description = text(D_COMMENT);
    line.vendor = text(D_SELLER);
    line.quantity = Decimal::ONE;
    if let Some(price) = detail.get(D_PRICE) {
        match parse_digits(price, N12_DIGITS) {
            Ok(minor) => {
                line.unit_price = currency.and_then(|c| amount_of(c, minor)).map(Price::gross)
            }
            Err(problem) => d.error(
                at(D_PRICE),
                problem.code(),
                format!(
                    "`price` {} is not an amount in minor units: {problem}",
                    quote(price)
                ),
            ),
        }
    }
    if let Some(quantity) = detail.get(D_QUANTITY) {
        match parse_digits(quantity, 9) {
            Ok(0) => d.error(
                at(D_QUANTITY),
                "payline.quantity_not_positive",
                "`quantity` must be at least 1",
            ),
            Ok(count) => line.quantity = Decimal::from(count),
            Err(problem) => d.error(
                at(D_QUANTITY),
                "payline.not_a_number",
                format!(
                    "`quantity` {} is not a whole number of items: {problem}",
                    quote(quantity)
                ),
            ),
        }
    }
    if let Some(rate) = detail.get(D_TAX_RATE) {
        match parse_digits(rate, 5) {
            // Hundredths of a percent: 2000 is 20 %.
            Ok(hundredths) => {
                line.vat_rate =
                    Some((Decimal::from(hundredths) / Decimal::ONE_HUNDRED).normalize());
            }
            Err(problem) => d.error(
                at(D_TAX_RATE),
                "payline.bad_tax_rate",
                format!(
                    "`taxRate` {} is not a whole number of hundredths of a percent (2000 for 20 %): {problem}",
                    quote(rate)
                ),
            ),
        }
    }
    line.manufacturer = text(D_BRAND).map(|brand| Manufacturer {
        name: Some(brand),
        ..Manufacturer::default()
    });
    for (field, domain) in CATEGORY_DOMAINS {
        if let Some(code) = text(field) {
            line.classifications.push(Classification {
                domain: domain.to_owned(),
                code,
                ..Classification::default()
            });
        }
    }
    if let Some(data) = detail.get(D_ADDITIONAL_DATA) {
        match parse_pairs(data) {
            Some(options) => line.options = options,
            None => keep_verbatim(
                &mut line.extensions,
                d,
                &at(D_ADDITIONAL_DATA),
                D_ADDITIONAL_DATA.name(),
                data,
                "is not a list of `Key=Value;` pairs",
            ),
        }
    }
    if let Some(seller_type) = text(D_SELLER_TYPE) {
        line.extensions
            .insert(extension_key(D_SELLER_TYPE.name()), seller_type);
    }
    line
}

/// `Key=Value;Key=Value;` (the last `;` optional) as option values; `None` when a pair
/// has no `=` or no key.
pub(crate) fn parse_pairs(text: &str) -> Option<Vec<OptionValue>> {
    text.split(';')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let name = name.trim();
            (!name.is_empty()).then(|| OptionValue {
                name: name.to_owned(),
                value: value.trim().to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_parse_or_are_refused_whole() {
        let pairs = parse_pairs("colour=blue; size=L;").unwrap_or_default();
        let read: Vec<_> = pairs
            .iter()
            .map(|o| (o.name.as_str(), o.value.as_str()))
            .collect();
        assert_eq!(read, [("colour", "blue"), ("size", "L")]);
        assert_eq!(parse_pairs("gift=").map(|p| p.len()), Some(1));
        assert!(parse_pairs("colour=blue;oops").is_none());
        assert!(parse_pairs("=blue").is_none());
        assert_eq!(parse_pairs(";").map(|p| p.len()), Some(0));
    }
}
