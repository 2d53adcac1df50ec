//! OIS order JSON → canonical [`Order`].
//!
//! Diagnostics name the OIS field (`OrderLines[2].Price`). The JSON is checked by
//! [`crate::rules`] first, so what is converted here is an order the ERP would accept.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use tradewire_sdk::core::{
    Address, Country, CouponPayment, Currency, Decimal, Delivery, DeliveryMethod, Discount,
    LineKind, Order, OrderLine, Party, Payment, PickupLocation, Price, Totals,
    from_json_with_paths,
};
use tradewire_sdk::{Diagnostic, Diagnostics, Outcome};

use crate::Settings;
use crate::ois::{Amount, Id, OisAddress, OisDeliveryMethod, OisOrder, OisOrderLine};
use crate::rules::{self, Rules};

pub fn decode(settings: &Settings, input: &[u8]) -> Outcome<Order> {
    let ois: OisOrder = from_json_with_paths(input).map_err(|d| {
        d.into_iter()
            .map(|mut diagnostic| {
                diagnostic.path = field_path(&diagnostic.path);
                diagnostic
            })
            .collect::<Diagnostics>()
    })?;
    let mut d = Diagnostics::new();
    let currency = match ois.currency_code.as_deref() {
        None => settings.default_currency,
        Some(code) => Currency::from_code(code).unwrap_or_else(|e| {
            d.error("CurrencyCode", "ois.unknown_currency", e.to_string());
            settings.default_currency
        }),
    };
    let order = Order::new(currency);
    let rules = Rules {
        regular: settings.regular_kinds.contains(&order.kind),
        minor_unit: currency.minor_unit(),
        profile_name: &settings.profile_name,
        limits: &settings.limits,
    };
    rules::check(&ois, &rules, &mut d);
    if d.has_errors() {
        return Err(d);
    }
    let order = to_canonical(ois, order, &mut d);
    if d.has_errors() {
        return Err(d);
    }
    d.extend(order.validate());
    d.finish(order)
}

/// A JSON Pointer from the JSON reader (`/OrderLines/2/Price`) as an OIS field path
/// (`OrderLines[2].Price`).
fn field_path(pointer: &str) -> String {
    let mut path = String::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            path.push_str(&format!("[{token}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&token);
        }
    }
    path
}

fn to_canonical(ois: OisOrder, mut order: Order, d: &mut Diagnostics) -> Order {
    order.id = ois.order_number;
    order.reference = ois.order_reference;
    order.created_at = ois
        .order_date
        .as_deref()
        .and_then(|date| parse_date(date, d));
    order.comment = ois.comment;
    order.customer = ois.customer.map(|c| Party {
        id: c.customer_id,
        erp_code: c.customer_number,
        company: c.company_name,
        first_name: c.first_name,
        last_name: c.last_name,
        email: c.email,
        phone: c.phone_number,
        ..Party::default()
    });
    order.billing_address = ois.billing_address.map(|a| address(a, "BillingAddress", d));
    order.delivery_address = ois
        .delivery_address
        .map(|a| address(a, "DeliveryAddress", d));
    let currency = order.currency;
    let money =
        |amount: Option<Amount>| crate::money(currency, amount.map_or(Decimal::ZERO, |a| a.0));
    order.lines = ois
        .order_lines
        .into_iter()
        .map(|l| line(l, currency))
        .collect();
    let method = ois.delivery_method.as_ref().and_then(|m| m.known());
    order.delivery = Some(Delivery {
        method: method.map(|m| match m {
            OisDeliveryMethod::Home => DeliveryMethod::HomeDelivery,
            OisDeliveryMethod::StorePickup => DeliveryMethod::StorePickup,
            OisDeliveryMethod::ServicePoint => DeliveryMethod::ServicePoint,
        }),
        carrier_id: ois.shipping_agent_id.map(|Id(id)| id),
        service_code: ois.shipping_agent_service_code,
        shipping_terms: ois.shipping_terms,
        pickup_branch: ois.pickup_branch_identifier.map(|Id(id)| id),
        pickup_location: ois.pickup_location_code.map(|code| PickupLocation {
            code,
            name: ois.pickup_location_name,
        }),
        ..Delivery::default()
    });
    let payment = Payment {
        option_id: ois.payment_option_id.map(|Id(id)| id),
        reference: ois.payment_reference,
        coupons: ois
            .order_coupon_payments
            .into_iter()
            .map(|p| CouponPayment {
                code: p.coupon_code.unwrap_or_default(),
                amount: money(p.value),
                payment_option_id: p.payment_option_id.map(|Id(id)| id),
            })
            .collect(),
        ..Payment::default()
    };
    order.payment = (payment != Payment::default()).then_some(payment);
    order.totals = ois.total_value.map(|total| Totals {
        gross: money(Some(total)),
        net: None,
        tax: None,
    });
    order
}

fn address(ois: OisAddress, name: &str, d: &mut Diagnostics) -> Address {
    let country = ois.country_code.as_deref().and_then(|code| {
        Country::parse_lenient(code)
            .map_err(|e| {
                d.error(
                    format!("{name}.CountryCode"),
                    "ois.unknown_country",
                    e.to_string(),
                )
            })
            .ok()
    });
    Address {
        company: ois.company_name,
        first_name: ois.first_name,
        last_name: ois.last_name,
        street: ois.street,
        house_number: ois.house_no,
        house_number_ext: ois.house_no_ext,
        postal_code: ois.zip_code,
        city: ois.city,
        country,
        phone: ois.phone_number,
        email: ois.email,
        ..Address::default()
    }
}

/// A unit price with more decimals than this is kept as a line price instead.
const MAX_UNIT_PRICE_DECIMALS: u32 = 8;

/// One line. The rules have checked that the type, quantity and amounts are there.
///
/// `OriginalPrice` is for the whole line; the unit price is `OriginalPrice ÷ Quantity`
/// when that division is exact in at most eight decimals, else `OriginalPrice` itself with `price_basis_quantity`
/// = `Quantity` (so 3 for 10.00 stays exactly that, not 3.333…).
fn line(ois: OisOrderLine, currency: Currency) -> OrderLine {
    let money =
        |amount: Option<Amount>| crate::money(currency, amount.map_or(Decimal::ZERO, |a| a.0));
    let kind = ois
        .line_type
        .as_ref()
        .and_then(|t| t.known())
        .map_or(LineKind::Article, |t| t.kind());
    let quantity = ois.quantity.map_or(Decimal::ONE, |a| a.0.normalize());
    let original = money(ois.original_price);
    // `Decimal` division and multiplication round at 28 digits, so 10.00 ÷ 3 × 3 comes
    // back as 10.00: a quotient that needed more than a few decimals was not exact.
    // A quantity of one (most lines) divides exactly: no division needed.
    let one = quantity.mantissa() == 1 && quantity.scale() == 0;
    let exact_unit = if one {
        Some(original.normalize())
    } else {
        original.checked_div(quantity).map(|unit| unit.normalize())
    }
    .filter(|unit| unit.scale() <= MAX_UNIT_PRICE_DECIMALS)
    .filter(|unit| one || unit.checked_mul(quantity) == Some(original));
    let (unit, basis) = match exact_unit {
        Some(unit) => (at_least_minor_digits(unit, currency), None),
        None => (original, Some(quantity)),
    };
    OrderLine {
        kind,
        sku: ois.article_number,
        gtin: ois.ean,
        description: ois.description,
        quantity,
        unit_price: Some(Price::gross(unit)),
        price_basis_quantity: basis,
        vat_rate: ois.vat_percentage.map(|a| a.0.normalize()),
        discounts: ois
            .order_discounts
            .into_iter()
            .map(|discount| Discount {
                amount: Price::gross(money(discount.value)),
                code: discount.code,
                description: discount.description,
                percentage: None,
            })
            .collect(),
        ..OrderLine::default()
    }
}

/// `19.965` stays so; `10` becomes `10.00`: a unit price reads like money.
fn at_least_minor_digits(mut amount: Decimal, currency: Currency) -> Decimal {
    let digits = u32::from(currency.exponent().unwrap_or(2));
    if amount.scale() < digits {
        amount.rescale(digits);
    }
    amount
}

/// ISO 8601: with an offset as written; without one (`2017-04-02T18:51:48`, or a date
/// alone) as UTC, with a warning, since the offset is then a guess.
fn parse_date(text: &str, d: &mut Diagnostics) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(date) = DateTime::parse_from_rfc3339(text) {
        return Some(date);
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|date| date.and_hms_opt(0, 0, 0))
    });
    match naive {
        Some(naive) => {
            d.warning(
                "OrderDate",
                "ois.date_without_offset",
                format!("OrderDate `{text}` has no UTC offset; it is read as UTC"),
            );
            Some(Utc.from_utc_datetime(&naive).fixed_offset())
        }
        None => {
            d.push(Diagnostic::error(
                "OrderDate",
                "ois.bad_date",
                format!("OrderDate `{text}` is not an ISO 8601 date and time (`2017-04-02T18:51:48+02:00`)"),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_field_paths() {
        assert_eq!(field_path("/OrderLines/2/Price"), "OrderLines[2].Price");
        assert_eq!(field_path("/DeliveryAddress/City"), "DeliveryAddress.City");
        assert_eq!(field_path(""), "");
        assert_eq!(field_path("/a~1b"), "a/b");
    }

    #[test]
    fn dates_without_offset_are_utc_with_a_warning() {
        let mut d = Diagnostics::new();
        let date = parse_date("2017-04-02T18:51:48", &mut d).map(|t| t.to_rfc3339());
        assert_eq!(date.as_deref(), Some("2017-04-02T18:51:48+00:00"));
        assert_eq!(d.as_slice()[0].code, "ois.date_without_offset");
        let mut d = Diagnostics::new();
        assert!(parse_date("02/04/2017", &mut d).is_none());
        assert_eq!(d.as_slice()[0].code, "ois.bad_date");
        let mut d = Diagnostics::new();
        let date = parse_date("2017-04-02T18:51:48+02:00", &mut d).map(|t| t.to_rfc3339());
        assert_eq!(date.as_deref(), Some("2017-04-02T18:51:48+02:00"));
        assert!(d.is_empty());
    }
}
