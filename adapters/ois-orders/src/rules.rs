//! What an OIS order must satisfy for the ERP to accept it, checked on the OIS JSON itself.
//!
//! The same checks run on decode (on what was received) and on encode (on what is about
//! to be sent), so an order this adapter emits is one it would accept. Paths are OIS field
//! paths (`OrderLines[2].OriginalPrice`); the encoder maps them back to the canonical
//! document.

use tradewire_sdk::Diagnostics;
use tradewire_sdk::core::{Decimal, LineKind};

use crate::ois::{
    Amount, Coded, Id, OisAddress, OisDeliveryMethod, OisLineType, OisOrder, OisOrderLine,
};
use crate::profile::Limits;

/// What the checks depend on besides the order.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// A regular order needs `ShippingAgentId`, `PaymentOptionId` and `PaymentReference`.
    pub regular: bool,
    /// The currency's minor unit (0.01 for EUR): amounts have no finer digits, and each
    /// rounding may be off by one.
    pub minor_unit: Decimal,
    pub profile_name: &'a str,
    /// The ERP profile's limits.
    pub limits: &'a Limits,
}

/// Runs every check, recording errors in `d`.
pub fn check(order: &OisOrder, rules: &Rules<'_>, d: &mut Diagnostics) {
    if order.order_lines.is_empty() {
        d.error(
            "OrderLines",
            "ois.no_lines",
            "an order needs at least one OrderLine",
        );
    }
    if !has_text(&order.order_date) {
        missing(d, "OrderDate", "the ERP books the order on its date");
    }
    let mut signed_total = Some(Decimal::ZERO);
    for (i, line) in order.order_lines.iter().enumerate() {
        let kind = check_line(line, i, rules, d);
        signed_total = match (signed_total, kind, line.value) {
            // `1 × value` is `value` to the bit (sign and scale): no product for lines that add.
            (Some(sum), Some(kind), Some(Amount(value))) if kind.sign() == Decimal::ONE => {
                Some(sum + value)
            }
            (Some(sum), Some(kind), Some(Amount(value))) => Some(sum + kind.sign() * value),
            _ => None,
        };
    }
    check_total(order, signed_total, rules, d);
    check_delivery(order, d);
    check_shipping_terms(order, d);
    let gift_cards = check_coupons(order, signed_total, rules, d);
    if rules.regular {
        // What coupons and gift cards leave for a payment service provider.
        let left = signed_total
            .zip(gift_cards)
            .map(|(total, paid)| total - paid);
        check_regular(order, left, d);
    }
    rules.limits.check(rules.profile_name, order, d);
}

/// Checks line `i`. Paths are formatted only for a diagnostic.
fn check_line(
    line: &OisOrderLine,
    i: usize,
    rules: &Rules<'_>,
    d: &mut Diagnostics,
) -> Option<LineKind> {
    let at = |field: &str| format!("OrderLines[{i}].{field}");
    let kind = match &line.line_type {
        None => {
            missing(d, &at("LineType"), "every OrderLine has a LineType");
            None
        }
        Some(line_type) => match line_type.parse() {
            Ok(line_type) => Some(line_type.kind()),
            Err(why) => {
                d.error(at("LineType"), "ois.unknown_line_type", why);
                None
            }
        },
    };
    if !has_text(&line.article_number) {
        match kind {
            Some(LineKind::Article) => missing(
                d,
                &at("ArticleNumber"),
                "an Article line names the variant it sells in ArticleNumber",
            ),
            Some(LineKind::Voucher) => missing(
                d,
                &at("ArticleNumber"),
                "a Voucher line carries its coupon code in ArticleNumber",
            ),
            _ => {}
        }
    }
    match line.quantity {
        None => missing(d, &at("Quantity"), "every OrderLine has a Quantity"),
        Some(Amount(q)) if is_negative(q) || q.is_zero() => d.error(
            at("Quantity"),
            "ois.quantity_not_positive",
            format!("Quantity must be greater than 0, got {q}"),
        ),
        Some(_) => {}
    }
    for (field, amount) in [
        ("OriginalPrice", line.original_price),
        ("Price", line.price),
        ("Value", line.value),
    ] {
        match amount {
            None => missing(d, &at(field), &format!("every OrderLine has {field}")),
            Some(Amount(a)) => check_money(a, || at(field), rules, d),
        }
    }
    match line.vat_percentage {
        None => missing(
            d,
            &at("VATPercentage"),
            "every OrderLine states its VAT percentage",
        ),
        Some(Amount(rate)) if !(Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&rate) => d.error(
            at("VATPercentage"),
            "ois.vat_out_of_range",
            format!("VATPercentage {rate} is not a percentage between 0 and 100"),
        ),
        Some(_) => {}
    }
    let mut discounts = Some(Decimal::ZERO);
    for (j, discount) in line.order_discounts.iter().enumerate() {
        let field_path = || at(&format!("OrderDiscounts[{j}].Value"));
        match discount.value {
            None => {
                missing(d, &field_path(), "every OrderDiscount has a Value");
                discounts = None;
            }
            Some(Amount(a)) => {
                check_money(a, field_path, rules, d);
                discounts = discounts.map(|sum| sum + a);
            }
        }
    }
    if let (Some(Amount(original)), Some(Amount(price)), Some(discounts)) =
        (line.original_price, line.price, discounts)
    {
        // One rounding per amount on the line.
        let count = i64::try_from(line.order_discounts.len()).unwrap_or(i64::MAX);
        let tolerance = if count == 0 {
            rules.minor_unit
        } else {
            rules.minor_unit * Decimal::from(count.saturating_add(1))
        };
        if (original - price - discounts).abs() > tolerance {
            d.error(
                at("OriginalPrice"),
                "ois.price_rule",
                format!(
                    "OriginalPrice {original} must equal Price {price} + OrderDiscounts {discounts} = {} (tolerance {tolerance})",
                    price + discounts
                ),
            );
        }
    }
    if let (Some(Amount(price)), Some(Amount(value))) = (line.price, line.value)
        && (price - value).abs() > rules.minor_unit
    {
        d.error(
            at("Value"),
            "ois.value_mismatch",
            format!("Value {value} is the amount paid for the line and must equal Price {price}"),
        );
    }
    kind
}

/// Not negative, and no finer than the currency's minor unit. `path` is called only for
/// a diagnostic.
fn check_money(
    amount: Decimal,
    path: impl FnOnce() -> String,
    rules: &Rules<'_>,
    d: &mut Diagnostics,
) {
    let negative = is_negative(amount);
    let too_fine = finer_than(amount, rules.minor_unit);
    if !negative && !too_fine {
        return;
    }
    let path = path();
    if negative {
        d.error(
            &path,
            "ois.negative_amount",
            format!("{amount} is negative; OIS wants every amount positive (a Voucher line subtracts by its type)"),
        );
    }
    if too_fine {
        d.error(
            path,
            "ois.too_many_decimals",
            format!(
                "{amount} has digits below the currency's minor unit {}",
                rules.minor_unit
            ),
        );
    }
}

fn check_total(
    order: &OisOrder,
    signed_total: Option<Decimal>,
    rules: &Rules<'_>,
    d: &mut Diagnostics,
) {
    if let Some(sum) = signed_total
        && sum < Decimal::ZERO
    {
        d.error(
            "OrderLines",
            "ois.negative_total",
            format!(
                "the Voucher lines take more off the order than its other lines add up to ({sum})"
            ),
        );
    }
    let Some(Amount(total)) = order.total_value else {
        return;
    };
    check_money(total, || "TotalValue".to_owned(), rules, d);
    if let Some(sum) = signed_total {
        let lines = i64::try_from(order.order_lines.len()).unwrap_or(i64::MAX);
        let tolerance = rules.minor_unit * Decimal::from(lines.saturating_add(1));
        if (sum - total).abs() > tolerance {
            d.error(
                "TotalValue",
                "ois.total_mismatch",
                format!(
                    "the lines' Values add up to {sum} (Voucher lines subtracted) but TotalValue is {total} (tolerance {tolerance})"
                ),
            );
        }
    }
}

fn check_delivery(order: &OisOrder, d: &mut Diagnostics) {
    let Some(method) = &order.delivery_method else {
        missing(
            d,
            "DeliveryMethod",
            "the order says how it is delivered: 1 home, 2 store pickup, 3 service point",
        );
        return;
    };
    match method.parse() {
        Err(why) => d.error("DeliveryMethod", "ois.unknown_delivery_method", why),
        Ok(OisDeliveryMethod::Home) => match &order.delivery_address {
            None => missing(
                d,
                "DeliveryAddress",
                "home delivery (DeliveryMethod 1) needs a DeliveryAddress",
            ),
            Some(address) => check_home_address(address, d),
        },
        Ok(OisDeliveryMethod::StorePickup) => {
            if !has_id(&order.pickup_branch_identifier) {
                missing(
                    d,
                    "PickupBranchIdentifier",
                    "store pickup (DeliveryMethod 2) needs the branch's PickupBranchIdentifier from OIS /Branches/",
                );
            }
        }
        Ok(OisDeliveryMethod::ServicePoint) => {
            for (field, value) in [
                ("PickupLocationCode", &order.pickup_location_code),
                ("PickupLocationName", &order.pickup_location_name),
            ] {
                if !has_text(value) {
                    missing(
                        d,
                        field,
                        &format!("service point delivery (DeliveryMethod 3) needs {field}"),
                    );
                }
            }
        }
    }
}

fn check_home_address(address: &OisAddress, d: &mut Diagnostics) {
    for (field, value) in [
        ("Street", &address.street),
        ("ZipCode", &address.zip_code),
        ("City", &address.city),
        ("CountryCode", &address.country_code),
    ] {
        if !has_text(value) {
            missing(
                d,
                &format!("DeliveryAddress.{field}"),
                &format!("home delivery needs the delivery address's {field}"),
            );
        }
    }
}

/// Specific shipping terms are a service of the shipping agent: `ShippingAgentServiceCode`
/// and `ShippingTerms` are sent together or not at all.
fn check_shipping_terms(order: &OisOrder, d: &mut Diagnostics) {
    let has_service = has_text(&order.shipping_agent_service_code);
    let has_terms = order
        .shipping_terms
        .iter()
        .any(|term| !term.trim().is_empty());
    if has_service && !has_terms {
        d.error(
            "ShippingTerms",
            "ois.shipping_terms_incomplete",
            "ShippingAgentServiceCode is given without ShippingTerms: send the terms configured in OIS for that service, or neither",
        );
    } else if has_terms && !has_service {
        d.error(
            "ShippingAgentServiceCode",
            "ois.shipping_terms_incomplete",
            "ShippingTerms are given without the ShippingAgentServiceCode they belong to: send the service code configured in OIS, or neither",
        );
    }
}

/// `left_to_pay` is what the order comes to after vouchers and gift cards.
fn check_regular(order: &OisOrder, left_to_pay: Option<Decimal>, d: &mut Diagnostics) {
    if !has_id(&order.shipping_agent_id) {
        missing(
            d,
            "ShippingAgentId",
            "a regular order names its ShippingAgentId (from OIS v1/ShippingAgents)",
        );
    }
    // An order coupons and gift cards paid in full has nothing left for a payment service
    // provider.
    if left_to_pay == Some(Decimal::ZERO) {
        return;
    }
    if !has_id(&order.payment_option_id) {
        missing(
            d,
            "PaymentOptionId",
            "a regular order names its PaymentOptionId (from OIS v1/PaymentOptions)",
        );
    }
    if !has_text(&order.payment_reference) {
        missing(
            d,
            "PaymentReference",
            "a regular order carries the payment service provider's PaymentReference",
        );
    }
}

/// A coupon that takes value off the order is posted twice: as a `Voucher` line, and as
/// an `OrderCouponPayments` entry that tells OIS which payment option books it; both name
/// the same coupon code and the same amount. A coupon payment with no voucher line is a
/// gift card paying part of what the order comes to (`signed_total`), and may not pay
/// more than that.
///
/// Returns what gift cards pay, when every amount is known.
fn check_coupons(
    order: &OisOrder,
    signed_total: Option<Decimal>,
    rules: &Rules<'_>,
    d: &mut Diagnostics,
) -> Option<Decimal> {
    let vouchers: Vec<(usize, &str, Option<Decimal>)> = order
        .order_lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.line_type == Some(Coded::Known(OisLineType::Voucher)))
        .filter_map(|(i, line)| {
            let code = line
                .article_number
                .as_deref()
                .filter(|c| !c.trim().is_empty())?;
            Some((i, code, line.value.map(|a| a.0)))
        })
        .collect();
    let mut gift_cards = Some(Decimal::ZERO);
    for (i, payment) in order.order_coupon_payments.iter().enumerate() {
        let at = |field: &str| format!("OrderCouponPayments[{i}].{field}");
        match payment.value {
            None => missing(d, &at("Value"), "a coupon payment states the amount paid"),
            Some(Amount(v)) => {
                check_money(v, || at("Value"), rules, d);
                if v.is_zero() {
                    d.error(
                        at("Value"),
                        "ois.coupon_payment_zero",
                        "a coupon payment of 0 pays nothing",
                    );
                }
            }
        }
        if !has_id(&payment.payment_option_id) {
            missing(
                d,
                &at("PaymentOptionId"),
                "a coupon payment names the PaymentOptionId that books it",
            );
        }
        match payment
            .coupon_code
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        {
            None => missing(d, &at("CouponCode"), "a coupon payment names its coupon"),
            Some(code) if !vouchers.iter().any(|(_, c, _)| *c == code) => {
                gift_cards = gift_cards
                    .zip(payment.value)
                    .map(|(sum, Amount(value))| sum + value);
            }
            Some(_) => {}
        }
    }
    if let (Some(paid), Some(total)) = (gift_cards, signed_total)
        && paid - total > rules.minor_unit
    {
        d.error(
            "OrderCouponPayments",
            "ois.gift_cards_exceed_total",
            format!(
                "coupon payments without a Voucher line (gift cards) pay {paid}, more than the order comes to ({total})"
            ),
        );
    }
    for (i, code, value) in &vouchers {
        let paid: Option<Decimal> = order
            .order_coupon_payments
            .iter()
            .filter(|p| p.coupon_code.as_deref() == Some(*code))
            .map(|p| p.value.map(|a| a.0))
            .sum();
        let count = order
            .order_coupon_payments
            .iter()
            .filter(|p| p.coupon_code.as_deref() == Some(*code))
            .count();
        let path = format!("OrderLines[{i}]");
        if count == 0 {
            d.error(
                path,
                "ois.coupon_payment_missing",
                format!("Voucher line `{code}` has no OrderCouponPayments entry; OIS needs one for every coupon that paid part of the order"),
            );
        } else if let (Some(paid), Some(value)) = (paid, value)
            && (paid - value).abs() > rules.minor_unit
        {
            d.error(
                format!("{path}.Value"),
                "ois.coupon_payment_mismatch",
                format!("Voucher line `{code}` is worth {value} but its coupon payments add up to {paid}"),
            );
        }
    }
    gift_cards
}

/// `amount < 0`, without comparing decimals (`-0` is not negative).
fn is_negative(amount: Decimal) -> bool {
    amount.is_sign_negative() && !amount.is_zero()
}

/// Whether `amount` has digits below `minor_unit` (`amount % minor_unit != 0`). An amount
/// with no more decimals than a minor unit of the form 0.01 has none, which saves the
/// division.
fn finer_than(amount: Decimal, minor_unit: Decimal) -> bool {
    if minor_unit.mantissa() == 1 && amount.scale() <= minor_unit.scale() {
        return false;
    }
    (amount % minor_unit) != Decimal::ZERO
}

fn missing(d: &mut Diagnostics, path: &str, why: &str) {
    d.error(
        path,
        "ois.missing_field",
        format!("{path} is missing: {why}"),
    );
}

fn has_text(value: &Option<String>) -> bool {
    value.as_deref().is_some_and(|v| !v.trim().is_empty())
}

fn has_id(value: &Option<Id>) -> bool {
    value.as_ref().is_some_and(|Id(v)| !v.trim().is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use serde_json::{Value, json};

    /// Every test order is dated: the date is not what these tests are about.
    fn order_from(mut json: Value) -> OisOrder {
        json["OrderDate"] = json!("2024-05-01T10:00:00+02:00");
        serde_json::from_str(&json.to_string()).unwrap()
    }

    fn codes(order: Value, regular: bool) -> Vec<(String, String)> {
        let limits = Limits::new(&Profile::xprt());
        let rules = Rules {
            regular,
            minor_unit: Decimal::new(1, 2),
            profile_name: "xprt",
            limits: &limits,
        };
        let mut d = Diagnostics::new();
        check(&order_from(order), &rules, &mut d);
        d.into_iter().map(|d| (d.path, d.code)).collect()
    }

    fn article(original: &str, price: &str, discounts: &[&str]) -> Value {
        json!({
            "LineType": "Article", "ArticleNumber": "A-1", "Quantity": 1,
            "OriginalPrice": original, "Price": price, "Value": price, "VATPercentage": 21,
            "OrderDiscounts": discounts.iter().map(|v| json!({"Value": v})).collect::<Vec<_>>(),
        })
    }

    fn pickup(lines: Value) -> Value {
        json!({"DeliveryMethod": "2", "PickupBranchIdentifier": "B1", "OrderLines": lines})
    }

    #[test]
    fn a_consistent_order_passes() {
        assert_eq!(
            codes(
                pickup(json!([article("10.00", "8.00", &["1.50", "0.50"])])),
                false
            ),
            []
        );
    }

    #[test]
    fn the_price_rule_allows_one_cent_per_rounding() {
        assert_eq!(
            codes(
                pickup(json!([article("10.00", "8.01", &["1.50", "0.50"])])),
                false
            ),
            []
        );
        let found = codes(
            pickup(json!([article("10.00", "7.90", &["1.50", "0.50"])])),
            false,
        );
        assert_eq!(
            found,
            [(
                "OrderLines[0].OriginalPrice".into(),
                "ois.price_rule".into()
            )]
        );
    }

    #[test]
    fn problems_are_located_at_their_line_and_discount() {
        let lines = json!([
            article("1.00", "1.00", &[]),
            article("1.00", "1.00", &[]),
            article("10.00", "8.00", &["1.50", "0.505"]),
        ]);
        let found = codes(pickup(lines), false);
        assert_eq!(
            found,
            [(
                "OrderLines[2].OrderDiscounts[1].Value".into(),
                "ois.too_many_decimals".into()
            )]
        );
        let mut order = pickup(json!([
            article("1.00", "1.00", &[]),
            article("1.00", "1.00", &[]),
            article("1.00", "1.00", &[])
        ]));
        order["OrderLines"][2]["LineType"] = json!("Discount");
        order["OrderLines"][2]["Quantity"] = json!(0);
        assert_eq!(
            codes(order, false),
            [
                (
                    "OrderLines[2].LineType".into(),
                    "ois.unknown_line_type".into()
                ),
                (
                    "OrderLines[2].Quantity".into(),
                    "ois.quantity_not_positive".into()
                ),
            ]
        );
    }

    #[test]
    fn negative_and_too_precise_amounts_are_refused() {
        let found = codes(pickup(json!([article("-1.00", "-1.00", &[])])), false);
        assert!(found.contains(&(
            "OrderLines[0].OriginalPrice".into(),
            "ois.negative_amount".into()
        )));
        assert!(found.contains(&("OrderLines[0].Price".into(), "ois.negative_amount".into())));
        let found = codes(pickup(json!([article("1.005", "1.005", &[])])), false);
        assert!(found.contains(&("OrderLines[0].Price".into(), "ois.too_many_decimals".into())));
    }

    #[test]
    fn delivery_methods_need_their_fields() {
        let lines = json!([article("1.00", "1.00", &[])]);
        let found = codes(json!({"DeliveryMethod": 2, "OrderLines": lines}), false);
        assert_eq!(
            found,
            [("PickupBranchIdentifier".into(), "ois.missing_field".into())]
        );
        let found = codes(
            json!({"DeliveryMethod": "3", "PickupLocationCode": "NL-1", "OrderLines": lines}),
            false,
        );
        assert_eq!(
            found,
            [("PickupLocationName".into(), "ois.missing_field".into())]
        );
        let found = codes(
            json!({"DeliveryMethod": 1, "DeliveryAddress": {"Street": "Dorp", "City": "X", "CountryCode": "NL"}, "OrderLines": lines}),
            false,
        );
        assert_eq!(
            found,
            [("DeliveryAddress.ZipCode".into(), "ois.missing_field".into())]
        );
        let found = codes(json!({"DeliveryMethod": "4", "OrderLines": lines}), false);
        assert_eq!(
            found,
            [(
                "DeliveryMethod".into(),
                "ois.unknown_delivery_method".into()
            )]
        );
    }

    #[test]
    fn regular_orders_need_agent_option_and_reference() {
        let found = codes(pickup(json!([article("1.00", "1.00", &[])])), true);
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["ShippingAgentId", "PaymentOptionId", "PaymentReference"]
        );
    }

    #[test]
    fn coupons_and_voucher_lines_must_match() {
        let voucher = json!({"LineType": 4, "ArticleNumber": "GIFT", "Quantity": 1, "OriginalPrice": 5, "Price": 5, "Value": 5, "VATPercentage": 0});
        let mut order = pickup(json!([article("10.00", "10.00", &[]), voucher]));
        assert_eq!(
            codes(order.clone(), false),
            [("OrderLines[1]".into(), "ois.coupon_payment_missing".into())]
        );
        order["OrderCouponPayments"] =
            json!([{"CouponCode": "GIFT", "Value": 4, "PaymentOptionId": 9}]);
        assert_eq!(
            codes(order.clone(), false),
            [(
                "OrderLines[1].Value".into(),
                "ois.coupon_payment_mismatch".into()
            )]
        );
        // A coupon payment for another code is a gift card: it does not pay the voucher.
        order["OrderCouponPayments"] = json!([{"CouponCode": "OTHER", "Value": 5}]);
        assert_eq!(
            codes(order.clone(), false),
            [
                (
                    "OrderCouponPayments[0].PaymentOptionId".into(),
                    "ois.missing_field".into()
                ),
                ("OrderLines[1]".into(), "ois.coupon_payment_missing".into()),
            ]
        );
        order["OrderCouponPayments"] =
            json!([{"CouponCode": "GIFT", "Value": "5.00", "PaymentOptionId": "9"}]);
        assert_eq!(codes(order, false), []);
    }

    fn regular(lines: Value) -> Value {
        let mut order = pickup(lines);
        order["ShippingAgentId"] = json!("4");
        order
    }

    #[test]
    fn a_gift_card_pays_part_of_the_order_without_a_voucher_line() {
        let mut order = regular(json!([article("50.00", "50.00", &[])]));
        order["OrderCouponPayments"] =
            json!([{"CouponCode": "GIFTCARD-7731", "Value": "20.00", "PaymentOptionId": "31"}]);
        order["PaymentOptionId"] = json!("12");
        order["PaymentReference"] = json!("PSP-1");
        order["TotalValue"] = json!("50.00");
        assert_eq!(codes(order.clone(), true), []);
        // The rest is paid by a payment service provider, who must be named.
        order["PaymentReference"] = Value::Null;
        assert_eq!(
            codes(order, true),
            [("PaymentReference".into(), "ois.missing_field".into())]
        );
    }

    #[test]
    fn gift_cards_paying_it_all_leave_nothing_for_a_payment_provider() {
        let mut order = regular(json!([article("50.00", "50.00", &[])]));
        order["OrderCouponPayments"] = json!([
            {"CouponCode": "GIFTCARD-1", "Value": 30, "PaymentOptionId": "31"},
            {"CouponCode": "GIFTCARD-2", "Value": 20, "PaymentOptionId": "31"},
        ]);
        assert_eq!(codes(order.clone(), true), []);
        order["OrderCouponPayments"][1]["Value"] = json!(25);
        let found = codes(order, true);
        assert!(
            found.contains(&(
                "OrderCouponPayments".into(),
                "ois.gift_cards_exceed_total".into()
            )),
            "{found:?}"
        );
    }

    #[test]
    fn a_voucher_paid_by_its_coupon_beside_a_gift_card() {
        let voucher = json!({"LineType": "Voucher", "ArticleNumber": "SPRING", "Quantity": 1, "OriginalPrice": 5, "Price": 5, "Value": 5, "VATPercentage": 0});
        let mut order = regular(json!([article("50.00", "50.00", &[]), voucher]));
        order["OrderCouponPayments"] = json!([
            {"CouponCode": "SPRING", "Value": 5, "PaymentOptionId": "30"},
            {"CouponCode": "GIFTCARD-1", "Value": 45, "PaymentOptionId": "31"},
        ]);
        assert_eq!(codes(order.clone(), true), []);
        // The voucher's own coupon payment is still required.
        order["OrderCouponPayments"] =
            json!([{"CouponCode": "GIFTCARD-1", "Value": 45, "PaymentOptionId": "31"}]);
        assert_eq!(
            codes(order, true),
            [("OrderLines[1]".into(), "ois.coupon_payment_missing".into())]
        );
    }

    #[test]
    fn a_shipping_service_and_its_terms_come_together() {
        let mut order = pickup(json!([article("1.00", "1.00", &[])]));
        order["ShippingAgentServiceCode"] = json!("EVENING");
        order["ShippingTerms"] = json!(["SIGNATURE"]);
        assert_eq!(codes(order.clone(), false), []);
        order["ShippingTerms"] = json!([]);
        assert_eq!(
            codes(order.clone(), false),
            [(
                "ShippingTerms".into(),
                "ois.shipping_terms_incomplete".into()
            )]
        );
        order["ShippingTerms"] = json!(["SIGNATURE"]);
        order["ShippingAgentServiceCode"] = json!(" ");
        assert_eq!(
            codes(order.clone(), false),
            [(
                "ShippingAgentServiceCode".into(),
                "ois.shipping_terms_incomplete".into()
            )]
        );
        let fields = order.as_object_mut().unwrap();
        fields.remove("ShippingAgentServiceCode");
        fields.remove("ShippingTerms");
        assert_eq!(codes(order, false), []);
    }

    #[test]
    fn amounts_finer_than_the_minor_unit_are_found_as_the_remainder_finds_them() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        for minor in ["0.01", "1", "0.001", "0.05", "10"] {
            for amount in [
                "0",
                "-0",
                "1",
                "1.5",
                "1.50",
                "1.005",
                "1.010",
                "-2.01",
                "0.001",
                "100",
                "12.345",
                "1000000000000.01",
            ] {
                let (amount, minor) = (d(amount), d(minor));
                assert_eq!(
                    finer_than(amount, minor),
                    (amount % minor) != Decimal::ZERO,
                    "{amount} in {minor}"
                );
                assert_eq!(is_negative(amount), amount < Decimal::ZERO, "{amount}");
            }
        }
    }

    #[test]
    fn totals_must_add_up() {
        let mut order = pickup(json!([article("10.00", "10.00", &[])]));
        order["TotalValue"] = json!(10.02);
        assert_eq!(codes(order.clone(), false), []);
        order["TotalValue"] = json!(10.03);
        assert_eq!(
            codes(order, false),
            [("TotalValue".into(), "ois.total_mismatch".into())]
        );
    }
}
