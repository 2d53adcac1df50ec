//! The canonical order → a Payline order object (as text).
//!
//! A canonical value that cannot be written in Payline's format is an error at its JSON
//! Pointer. Values kept verbatim under `extensions["payline.<field>"]` are written back
//! unchanged, with a warning when they do not fit the specification's format (they
//! usually came from a Payline message that carried them so).
//!
//! Money becomes a whole number of minor units of the currency (exponent from the ISO
//! 4217 table: EUR 2, JPY 0, BHD 3). An amount the document states (`totals.gross`,
//! `totals.tax`, a line's `unit_price.gross`) must already be a whole number of minor
//! units, or it is refused: rounding what a document says it charges would charge
//! something else. An amount this adapter computes (a gross price from net and VAT, a
//! price per unit from a price per 100, a sum of lines) is rounded half away from zero,
//! with a `payline.rounded` warning when that changed it.

use std::borrow::Cow;

use tradewire_sdk::Diagnostics;
use tradewire_sdk::core::{
    Currency, Decimal, LineKind, MinorUnitError, Order, OrderLine, pointer_token,
};

use crate::config::Settings;
use crate::decode::{
    CATEGORY_DOMAINS, E_COMMERCE, MAIL_ORDER, ORIGIN_MAX_CHARS, TELEPHONE_ORDER, alpha2, check_ref,
    check_travel_field,
};
use crate::fields::{
    AMOUNT, COUNTRY, CURRENCY, D_ADDITIONAL_DATA, D_BRAND, D_COMMENT, D_PRICE, D_QUANTITY, D_REF,
    D_SELLER, D_SELLER_TYPE, D_TAX_RATE, DATE, DELIVERY_CHARGE, DELIVERY_EXPECTED_DATE,
    DELIVERY_EXPECTED_DELAY, DELIVERY_MODE, DELIVERY_TIME, DISCOUNT_AMOUNT, DetailField, Field,
    MAX_DETAILS, ORIGIN, PASSED_THROUGH, REF, RawDetail, RawOrder, TAXES, extension_key,
};
use crate::text::{N12_DIGITS, format_day, format_order_date, parse_day, parse_digits, quote};

/// Order fields a canonical value normally fills, but that may instead come verbatim
/// from `extensions` (where decoding put a value it could not interpret).
const VERBATIM_FALLBACK: [Field; 8] = [
    COUNTRY,
    TAXES,
    DELIVERY_TIME,
    DELIVERY_MODE,
    DELIVERY_EXPECTED_DATE,
    DELIVERY_EXPECTED_DELAY,
    DELIVERY_CHARGE,
    DISCOUNT_AMOUNT,
];

/// Writes `order` as Payline fields, recording every problem in `d`. The result is
/// meaningful only when `d` holds no error.
pub(crate) fn from_order<'o>(
    order: &'o Order,
    settings: &Settings,
    d: &mut Diagnostics,
) -> RawOrder<'o> {
    let mut raw = RawOrder::default();
    let money = MinorUnits::new(order.currency, d);
    set(
        &mut raw,
        CURRENCY,
        Some(format!("{:03}", order.currency.numeric())),
    );

    set(&mut raw, REF, reference(order, d));
    set(&mut raw, ORIGIN, origin(order, d));
    set(&mut raw, COUNTRY, country(order));
    if let Some(money) = &money {
        set(&mut raw, AMOUNT, amount(order, money, d));
        if let Some(tax) = order.totals.and_then(|totals| totals.tax) {
            set(
                &mut raw,
                TAXES,
                money.exact(tax, &|| "/totals/tax".to_owned(), TAXES.name(), d),
            );
        }
    }
    set(&mut raw, DATE, date(order, settings, d));

    let articles: Vec<(usize, &OrderLine)> = order
        .lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.kind == LineKind::Article)
        .collect();
    if articles.len() > MAX_DETAILS {
        d.error(
            "/lines",
            "payline.too_many_details",
            format!(
                "{} article lines; Payline accepts at most {MAX_DETAILS} orderDetail items",
                articles.len()
            ),
        );
    }
    if let Some(money) = &money {
        raw.details = articles
            .iter()
            .map(|(index, line)| detail(line, *index, money, d))
            .collect();
        let lines = || "/lines".to_owned();
        if let Some(charge) = delivery_charge(order, money, d)
            && in_api_version(
                DELIVERY_CHARGE,
                settings,
                lines,
                " (`amount` still counts the shipping lines)",
                d,
            )
        {
            raw.set(DELIVERY_CHARGE, charge);
        }
        if let Some(discount) = discount_amount(order, money, d)
            && in_api_version(
                DISCOUNT_AMOUNT,
                settings,
                lines,
                " (`amount` still has the discounts taken off)",
                d,
            )
        {
            raw.set(DISCOUNT_AMOUNT, discount);
        }
    }
    delivery(order, settings, &mut raw, d);
    from_extensions(order, settings, &mut raw, d);
    if !raw.has(COUNTRY) {
        d.error(
            "/billing_address/country",
            "payline.missing_field",
            "Payline's `country` is required: the order needs a billing address (or a delivery address) with a country",
        );
    }
    raw
}

/// Whether the configured API version has `field`. When it does not, a value for it is
/// left out with a warning at `path` (called only then), ending with `consequence`.
fn in_api_version(
    field: Field,
    settings: &Settings,
    path: impl FnOnce() -> String,
    consequence: &str,
    d: &mut Diagnostics,
) -> bool {
    let api_version = settings.api_version;
    match field.since_api_version() {
        Some(since) if api_version < since => {
            d.warning(
                path(),
                "payline.not_in_api_version",
                format!(
                    "`{}` exists from Payline API version {since}; api_version is {api_version}, so it is not sent{consequence}",
                    field.name()
                ),
            );
            false
        }
        _ => true,
    }
}

/// Records a field when it has a non-empty value.
fn set<'o>(raw: &mut RawOrder<'o>, field: Field, value: Option<impl Into<Cow<'o, str>>>) {
    if let Some(value) = value.map(Into::into).filter(|value| !value.is_empty()) {
        raw.set(field, value);
    }
}

fn nonblank(value: Option<&String>) -> Option<&str> {
    value
        .map(String::as_str)
        .filter(|value| !value.trim().is_empty())
}

/// Converts decimal amounts of one currency to `N12` minor units.
struct MinorUnits {
    currency: Currency,
}

impl MinorUnits {
    fn new(currency: Currency, d: &mut Diagnostics) -> Option<Self> {
        if currency.exponent().is_none() {
            d.error(
                "/currency",
                "payline.currency_without_minor_unit",
                format!("{currency} has no minor unit in ISO 4217, so Payline cannot count an amount in it"),
            );
            return None;
        }
        Some(Self { currency })
    }

    /// An amount the document states: whole minor units or an error. `path` is only
    /// called to report a problem.
    fn exact(
        &self,
        amount: Decimal,
        path: &dyn Fn() -> String,
        field: &str,
        d: &mut Diagnostics,
    ) -> Option<String> {
        if !self.check_sign(amount, path, field, d) {
            return None;
        }
        let minor = self.currency.to_minor_units(amount);
        self.checked(minor, amount, path, field, d)
    }

    /// An amount this adapter computed: rounded half away from zero, with a warning when
    /// that changed it.
    fn rounded(
        &self,
        amount: Decimal,
        path: &dyn Fn() -> String,
        field: &str,
        d: &mut Diagnostics,
    ) -> Option<String> {
        if !self.check_sign(amount, path, field, d) {
            return None;
        }
        let rounded = self.currency.round(amount);
        if rounded != amount {
            d.warning(
                path(),
                "payline.rounded",
                format!(
                    "`{field}` is computed as {} {}, which is not a whole number of minor units; \
                     sent rounded half away from zero to {rounded}",
                    amount.normalize(),
                    self.currency
                ),
            );
        }
        let minor = self.currency.to_minor_units(rounded);
        self.checked(minor, amount, path, field, d)
    }

    fn check_sign(
        &self,
        amount: Decimal,
        path: &dyn Fn() -> String,
        field: &str,
        d: &mut Diagnostics,
    ) -> bool {
        if amount.is_sign_negative() && !amount.is_zero() {
            d.error(
                path(),
                "payline.negative_amount",
                format!(
                    "`{field}` would be {amount} {}; Payline amounts are never negative",
                    self.currency
                ),
            );
            return false;
        }
        true
    }

    fn checked(
        &self,
        minor: Result<i64, MinorUnitError>,
        amount: Decimal,
        path: &dyn Fn() -> String,
        field: &str,
        d: &mut Diagnostics,
    ) -> Option<String> {
        let limit = 10_i64.pow(N12_DIGITS as u32);
        match minor {
            Ok(minor) if minor < limit => Some(minor.to_string()),
            Ok(_) | Err(MinorUnitError::Overflow(_)) => {
                d.error(
                    path(),
                    "payline.too_many_digits",
                    format!(
                        "`{field}` {amount} {} needs more than {N12_DIGITS} digits in minor units",
                        self.currency
                    ),
                );
                None
            }
            Err(error @ MinorUnitError::LosesFraction { .. }) => {
                d.error(
                    path(),
                    "payline.fraction_of_minor_unit",
                    format!("`{field}`: {error}"),
                );
                None
            }
            Err(error @ MinorUnitError::NoMinorUnit(_)) => {
                d.error(
                    path(),
                    "payline.currency_without_minor_unit",
                    error.to_string(),
                );
                None
            }
        }
    }
}

/// `ref` from `reference`, else from `id`.
fn reference<'o>(order: &'o Order, d: &mut Diagnostics) -> Option<&'o str> {
    let (path, text) = match (
        nonblank(order.reference.as_ref()),
        nonblank(order.id.as_ref()),
    ) {
        (Some(reference), _) => ("/reference", reference),
        (None, Some(id)) => ("/id", id),
        (None, None) => {
            d.error(
                "/reference",
                "payline.missing_field",
                "Payline's `ref` is required: the order needs a `reference` (or an `id`)",
            );
            return None;
        }
    };
    check_ref(text, || path.to_owned(), d);
    Some(text)
}

fn origin(order: &Order, d: &mut Diagnostics) -> Option<String> {
    let channel = nonblank(order.channel.as_ref())?;
    if channel == E_COMMERCE {
        return None;
    }
    if channel == MAIL_ORDER.1 {
        return Some(MAIL_ORDER.0.to_owned());
    }
    if channel == TELEPHONE_ORDER.1 {
        return Some(TELEPHONE_ORDER.0.to_owned());
    }
    let length = channel.chars().count();
    if length > ORIGIN_MAX_CHARS {
        d.error(
            "/channel",
            "payline.too_long",
            format!("the channel, sent as `origin`, has {length} characters; Payline allows at most {ORIGIN_MAX_CHARS}"),
        );
    }
    Some(channel.to_owned())
}

/// The billing country, else the delivery country. Without either, the field is left
/// for `extensions` to fill, else out.
fn country(order: &Order) -> Option<String> {
    [&order.billing_address, &order.delivery_address]
        .into_iter()
        .flatten()
        .find_map(|address| address.country)
        .map(|country| country.alpha2().to_owned())
}

fn amount(order: &Order, money: &MinorUnits, d: &mut Diagnostics) -> Option<String> {
    if let Some(totals) = &order.totals {
        return money.exact(
            totals.gross,
            &|| "/totals/gross".to_owned(),
            AMOUNT.name(),
            d,
        );
    }
    match order.computed_gross_total() {
        Some(total) => {
            d.warning(
                "/totals",
                "payline.amount_computed",
                "the order states no totals; `amount` is the sum of its lines",
            );
            money.rounded(total, &|| "/totals".to_owned(), AMOUNT.name(), d)
        }
        None => {
            d.error(
                "/totals",
                "payline.missing_field",
                "Payline's `amount` is required: the order needs `totals`, or lines whose prices say their total",
            );
            None
        }
    }
}

fn date(order: &Order, settings: &Settings, d: &mut Diagnostics) -> Option<String> {
    let Some(created_at) = order.created_at else {
        d.error(
            "/created_at",
            "payline.missing_field",
            "Payline's `date` is required: the order needs `created_at`",
        );
        return None;
    };
    let local = created_at.with_timezone(&settings.zone).naive_local();
    let text = format_order_date(local);
    if text.is_none() {
        d.error(
            "/created_at",
            "payline.date_out_of_range",
            format!("{created_at} has no four-digit year"),
        );
    }
    text
}

/// The item for an article line; its text borrows from the line.
fn detail<'o>(
    line: &'o OrderLine,
    index: usize,
    money: &MinorUnits,
    d: &mut Diagnostics,
) -> RawDetail<'o> {
    // Paths are only written when a diagnostic needs one.
    let at = |field: &str| format!("/lines/{index}/{field}");
    let mut detail = RawDetail::default();
    let mut put = |field: DetailField, value: Option<Cow<'o, str>>| {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            detail.set(field, value);
        }
    };
    put(
        D_REF,
        nonblank(line.sku.as_ref())
            .or(nonblank(line.product_id.as_ref()))
            .map(Cow::Borrowed),
    );
    put(
        D_PRICE,
        unit_price(line, &|| at("unit_price"), money, d).map(Cow::Owned),
    );
    put(
        D_QUANTITY,
        quantity(line.quantity, || at("quantity"), d).map(Cow::Owned),
    );
    put(
        D_COMMENT,
        nonblank(line.description.as_ref())
            .or(nonblank(line.comment.as_ref()))
            .map(Cow::Borrowed),
    );
    put(
        D_BRAND,
        line.manufacturer
            .as_ref()
            .and_then(|m| nonblank(m.name.as_ref()))
            .map(Cow::Borrowed),
    );
    for (field, domain) in CATEGORY_DOMAINS {
        let code = line
            .classifications
            .iter()
            .find(|c| c.domain == domain)
            .map(|c| Cow::Borrowed(c.code.as_str()));
        put(field, code);
    }
    put(D_ADDITIONAL_DATA, additional_data(line, index, d));
    if let Some(rate) = line.vat_rate {
        put(
            D_TAX_RATE,
            tax_rate(rate, || at("vat_rate"), d).map(Cow::Owned),
        );
    }
    put(D_SELLER, nonblank(line.vendor.as_ref()).map(Cow::Borrowed));
    put(
        D_SELLER_TYPE,
        line.extensions
            .get(&extension_key(D_SELLER_TYPE.name()))
            .map(|text| Cow::Borrowed(text.as_str())),
    );
    detail
}

/// The price of one unit with VAT, in minor units.
fn unit_price(
    line: &OrderLine,
    path: &dyn Fn() -> String,
    money: &MinorUnits,
    d: &mut Diagnostics,
) -> Option<String> {
    let price = line.unit_price?;
    let basis = line.price_basis_quantity.unwrap_or(Decimal::ONE);
    if let Some(gross) = price.gross
        && basis == Decimal::ONE
    {
        return money.exact(gross, &|| format!("{}/gross", path()), D_PRICE.name(), d);
    }
    let Some(gross) = price.gross_with(line.vat_rate) else {
        d.warning(
            path(),
            "payline.price_unknown",
            "the line has a net price and no VAT rate, so its price with VAT is unknown; `price` left out",
        );
        return None;
    };
    let Some(per_unit) = gross.checked_div(basis) else {
        // A zero basis; the model's own checks refuse it.
        return None;
    };
    money.rounded(per_unit, path, D_PRICE.name(), d)
}

fn quantity(
    quantity: Decimal,
    path: impl FnOnce() -> String,
    d: &mut Diagnostics,
) -> Option<String> {
    if quantity >= Decimal::ONE && quantity.fract().is_zero() {
        Some(quantity.trunc().normalize().to_string())
    } else {
        d.error(
            path(),
            "payline.quantity_not_whole",
            format!(
                "Payline counts items in whole numbers from 1; {} cannot be sent",
                quantity.normalize()
            ),
        );
        None
    }
}

/// VAT percent → `taxRate` in hundredths of a percent (20 → 2000).
fn tax_rate(rate: Decimal, path: impl FnOnce() -> String, d: &mut Diagnostics) -> Option<String> {
    let hundredths = rate.checked_mul(Decimal::ONE_HUNDRED);
    match hundredths {
        Some(hundredths) if !rate.is_sign_negative() && hundredths.fract().is_zero() => {
            Some(hundredths.trunc().normalize().to_string())
        }
        _ => {
            let hundredths =
                hundredths.map_or_else(|| "too many".to_owned(), |h| h.normalize().to_string());
            d.error(
                path(),
                "payline.bad_tax_rate",
                format!(
                    "VAT {} % is {hundredths} hundredths of a percent; Payline's `taxRate` is a whole number of them (2000 for 20 %)",
                    rate.normalize(),
                ),
            );
            None
        }
    }
}

/// The line's options as `Key=Value;` pairs, else the verbatim value decoding kept.
fn additional_data<'o>(
    line: &'o OrderLine,
    index: usize,
    d: &mut Diagnostics,
) -> Option<Cow<'o, str>> {
    if line.options.is_empty() {
        return line
            .extensions
            .get(&extension_key(D_ADDITIONAL_DATA.name()))
            .map(|text| Cow::Borrowed(text.as_str()));
    }
    let mut pairs = String::new();
    for (i, option) in line.options.iter().enumerate() {
        let (name, value) = (option.name.trim(), option.value.trim());
        if name.is_empty() || [name, value].iter().any(|part| part.contains(['=', ';'])) {
            d.warning(
                format!("/lines/{index}/options/{i}"),
                "payline.option_dropped",
                format!(
                    "option {}={} cannot be written as a `Key=Value;` pair (empty name, or `=` or `;` inside); left out of `additionalData`",
                    quote(&option.name),
                    quote(&option.value)
                ),
            );
            continue;
        }
        pairs.push_str(name);
        pairs.push('=');
        pairs.push_str(value);
        pairs.push(';');
    }
    Some(Cow::Owned(pairs))
}

/// Shipping lines, summed, as `deliveryCharge`.
fn delivery_charge(order: &Order, money: &MinorUnits, d: &mut Diagnostics) -> Option<String> {
    let total = sum_lines(order, &[LineKind::Shipping], DELIVERY_CHARGE, d)?;
    money.rounded(total, &|| "/lines".to_owned(), DELIVERY_CHARGE.name(), d)
}

/// Discount and voucher lines plus the articles' own discounts, summed, as
/// `discountAmount`.
fn discount_amount(order: &Order, money: &MinorUnits, d: &mut Diagnostics) -> Option<String> {
    let lines = sum_lines(
        order,
        &[LineKind::Discount, LineKind::Voucher],
        DISCOUNT_AMOUNT,
        d,
    );
    let mut on_articles = None;
    for (index, line) in order.lines.iter().enumerate() {
        if line.kind != LineKind::Article {
            continue;
        }
        for (i, discount) in line.discounts.iter().enumerate() {
            match discount.amount.gross_with(line.vat_rate) {
                Some(gross) => {
                    let sum = on_articles.unwrap_or_default();
                    on_articles = Some(add(sum, gross, DISCOUNT_AMOUNT, d)?);
                }
                None => unpriced(
                    d,
                    format!("/lines/{index}/discounts/{i}/amount"),
                    DISCOUNT_AMOUNT.name(),
                ),
            }
        }
    }
    let total = match (lines, on_articles) {
        (None, None) => return None,
        (lines, articles) => add(
            lines.unwrap_or_default(),
            articles.unwrap_or_default(),
            DISCOUNT_AMOUNT,
            d,
        )?,
    };
    money.rounded(total, &|| "/lines".to_owned(), DISCOUNT_AMOUNT.name(), d)
}

/// The VAT-inclusive total of the lines of these kinds, positive, for `field`; `None`
/// when there are none with a known total, or they are too large to add up (an error).
fn sum_lines(
    order: &Order,
    kinds: &[LineKind],
    field: Field,
    d: &mut Diagnostics,
) -> Option<Decimal> {
    let mut total = None;
    for (index, line) in order.lines.iter().enumerate() {
        if !kinds.contains(&line.kind) {
            continue;
        }
        match line.signed_gross_total() {
            Some(signed) => {
                let sum = total.unwrap_or_default();
                total = Some(add(sum, signed * line.kind.sign(), field, d)?);
            }
            None => unpriced(d, format!("/lines/{index}/unit_price"), field.name()),
        }
    }
    total
}

/// `sum + amount`; `None` when that overflows, which is refused: such a sum has far more
/// than the 12 digits `field` holds.
fn add(sum: Decimal, amount: Decimal, field: Field, d: &mut Diagnostics) -> Option<Decimal> {
    match sum.checked_add(amount) {
        Some(sum) => Some(sum),
        None => {
            d.error(
                "/lines",
                "payline.too_many_digits",
                format!(
                    "the lines that make `{}` are too large to add up",
                    field.name()
                ),
            );
            None
        }
    }
}

fn unpriced(d: &mut Diagnostics, path: String, field: &str) {
    d.warning(
        path,
        "payline.price_unknown",
        format!("the amount with VAT is unknown (no price, or a net price and no VAT rate); not counted in `{field}`"),
    );
}

fn delivery(order: &Order, settings: &Settings, raw: &mut RawOrder<'_>, d: &mut Diagnostics) {
    let Some(delivery) = &order.delivery else {
        return;
    };
    let code = |code: Option<u8>| code.map(|code| code.to_string());
    set(
        raw,
        DELIVERY_TIME,
        code(delivery.speed.and_then(|s| settings.delivery_time.code(s))),
    );
    set(
        raw,
        DELIVERY_MODE,
        code(delivery.method.and_then(|m| settings.delivery_mode.code(m))),
    );
    if let Some(day) = delivery.expected_date {
        let today = settings.today();
        if day <= today {
            d.error(
                "/delivery/expected_date",
                "payline.delivery_date_not_future",
                format!("Payline requires the expected delivery date to be after today ({today}); it is {day}"),
            );
        } else {
            let text = format_day(day);
            if text.is_none() {
                d.error(
                    "/delivery/expected_date",
                    "payline.date_out_of_range",
                    format!("{day} has no four-digit year"),
                );
            }
            set(raw, DELIVERY_EXPECTED_DATE, text);
        }
    }
    set(
        raw,
        DELIVERY_EXPECTED_DELAY,
        delivery.expected_delay_days.map(|days| days.to_string()),
    );
}

/// Fields from `extensions["payline.<field>"]`: those the model has no place for, and
/// values decoding kept verbatim, for fields no canonical value filled.
fn from_extensions<'o>(
    order: &'o Order,
    settings: &Settings,
    raw: &mut RawOrder<'o>,
    d: &mut Diagnostics,
) {
    for (key, value) in &order.extensions {
        let Some(name) = key.strip_prefix("payline.") else {
            continue;
        };
        let path = format!("/extensions/{}", pointer_token(key));
        let Some(field) = VERBATIM_FALLBACK
            .into_iter()
            .chain(PASSED_THROUGH)
            .find(|field| field.name() == name)
        else {
            d.warning(
                path,
                "payline.unknown_extension",
                format!("`{name}` is not a Payline order field; not sent"),
            );
            continue;
        };
        if raw.has(field) {
            d.warning(
                path,
                "payline.extension_ignored",
                format!(
                    "`{}` is already given by the canonical order; the extension is not sent",
                    field.name()
                ),
            );
            continue;
        }
        // A field the version lacks is not sent, so its format does not matter.
        if !in_api_version(field, settings, || path.clone(), "", d)
            || !check_travel_field(field, value, || path.clone(), d)
        {
            continue;
        }
        if let Some(expected) = nonconforming(field, value) {
            d.warning(
                &path,
                "payline.nonconforming_value",
                format!(
                    "{} is sent as `{}` as it is, but Payline expects {expected}",
                    quote(value),
                    field.name()
                ),
            );
        }
        set(raw, field, Some(value.as_str()));
    }
}

/// What the specification expects of a hint field when `value` does not fit it (the
/// travel fields are checked strictly, by [`check_travel_field`]).
fn nonconforming(field: Field, value: &str) -> Option<&'static str> {
    let digits = |max| parse_digits(value, max).is_ok();
    let (fits, expected) = match field {
        COUNTRY => (
            alpha2(value).is_some(),
            "an ISO 3166-1 alpha-2 country code",
        ),
        TAXES | DELIVERY_CHARGE | DISCOUNT_AMOUNT => {
            (digits(N12_DIGITS), "an amount in minor units (N12)")
        }
        DELIVERY_TIME => (matches!(value, "1" | "2"), "1 (express) or 2 (standard)"),
        DELIVERY_MODE => (
            matches!(value, "1" | "2" | "3" | "4" | "5"),
            "a code from 1 to 5",
        ),
        DELIVERY_EXPECTED_DATE => (parse_day(value).is_ok(), "a date dd/mm/yyyy"),
        DELIVERY_EXPECTED_DELAY => (digits(9), "a number of days"),
        _ => (true, ""),
    };
    (!fits).then_some(expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::parse_pairs;

    #[test]
    fn additional_data_reads_back_as_the_same_options() {
        use tradewire_sdk::core::OptionValue;
        let line = OrderLine {
            options: vec![
                OptionValue {
                    name: "colour".into(),
                    value: "blue".into(),
                },
                OptionValue {
                    name: "bad;name".into(),
                    value: "x".into(),
                },
                OptionValue {
                    name: "size".into(),
                    value: "L".into(),
                },
            ],
            ..OrderLine::default()
        };
        let mut d = Diagnostics::new();
        let text = additional_data(&line, 0, &mut d).unwrap_or_default();
        assert_eq!(text, "colour=blue;size=L;");
        assert_eq!(d.as_slice()[0].path, "/lines/0/options/1");
        let back = parse_pairs(&text).unwrap_or_default();
        assert_eq!(back, [line.options[0].clone(), line.options[2].clone()]);
    }

    #[test]
    fn quantities_are_whole_numbers_from_one() {
        let mut d = Diagnostics::new();
        for (quantity, expected) in [
            (Decimal::new(2, 0), Some("2")),
            (Decimal::new(2000, 3), Some("2")),
            (Decimal::new(1, 0), Some("1")),
            (Decimal::MAX, Some("79228162514264337593543950335")),
            (Decimal::new(15, 1), None),
            (Decimal::new(999, 3), None),
            (Decimal::ZERO, None),
            (Decimal::new(-3, 0), None),
        ] {
            assert_eq!(
                quantity_text(quantity, &mut d).as_deref(),
                expected,
                "{quantity}"
            );
        }
        assert_eq!(d.len(), 4, "{d}");
        assert!(d.iter().all(|d| d.code == "payline.quantity_not_whole"));
    }

    fn quantity_text(value: Decimal, d: &mut Diagnostics) -> Option<String> {
        quantity(value, || "/lines/0/quantity".to_owned(), d)
    }

    #[test]
    fn tax_rates_are_whole_hundredths() {
        let mut d = Diagnostics::new();
        assert_eq!(
            tax_rate(Decimal::new(20, 0), || "/r".to_owned(), &mut d).as_deref(),
            Some("2000")
        );
        assert_eq!(
            tax_rate(Decimal::new(55, 1), || "/r".to_owned(), &mut d).as_deref(),
            Some("550")
        );
        assert_eq!(
            tax_rate(Decimal::new(2000, 2), || "/r".to_owned(), &mut d).as_deref(),
            Some("2000")
        );
        assert!(d.is_empty());
        assert_eq!(
            tax_rate(Decimal::new(15805, 3), || "/r".to_owned(), &mut d),
            None
        );
        assert!(d.as_slice()[0].message.contains("1580.5"), "{d}");
    }
}
