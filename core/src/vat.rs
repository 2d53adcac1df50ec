//! The VAT rate of lines that state none, from the tax their order states.
//!
//! cXML and other header-level protocols state an order's VAT once, as a total, while
//! receivers such as OIS need a rate on every line. When one rate explains the total it
//! is that rate; when none or several do, the order cannot say which, and the diagnostic
//! says why.

use rust_decimal::Decimal;

use crate::{Currency, Diagnostic, Order};

/// The most decimals a derived rate has. Every VAT rate in force in Europe has at most
/// one (5.5, 8.1, 13.5, 25.5); a finer rate would fit the tax of almost any large order,
/// even one whose lines have different rates.
const RATE_DECIMALS: u32 = 1;

/// The rate derived for the lines that state no VAT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedVatRate {
    /// The rate in percent.
    pub rate: Decimal,
    /// The lines it is for, in order (indices into [`Order::lines`]).
    pub lines: Vec<usize>,
    /// The order's stated tax (`totals.tax`) it reproduces.
    pub tax: Decimal,
    /// The amount without VAT of [`Self::lines`].
    pub base: Decimal,
    pub currency: Currency,
}

impl DerivedVatRate {
    /// Whether line `index` takes the rate.
    pub fn covers(&self, index: usize) -> bool {
        self.lines.binary_search(&index).is_ok()
    }

    /// The warning for an encoder that writes the rate: `order.vat_rate_derived` at
    /// `/totals/tax`.
    pub fn warning(&self) -> Diagnostic {
        Diagnostic::warning(
            "/totals/tax",
            "order.vat_rate_derived",
            format!(
                "{}: {} % is derived from the order's tax of {} {} on their \
                 amount without VAT, {} {} (the only rate with at most {RATE_DECIMALS} decimal \
                 whose VAT, rounded per line or on the total, gives that tax)",
                without_rate(&self.lines),
                self.rate.normalize(),
                self.tax,
                self.currency,
                self.base.normalize(),
                self.currency,
            ),
        )
    }
}

impl Order {
    /// The VAT rate of the lines whose VAT is unknown (no `vat_rate`, and not both a net
    /// and a gross price), derived from the stated `totals.tax`: the one rate that,
    /// applied to each of those lines, with the VAT the other lines state, gives that tax
    /// when every line's VAT is rounded to the currency's minor unit (half away from zero)
    /// and added up, or when they are added up and rounded once. Rates are tried with no
    /// decimal, then one; a rate whose neighbours (± one step) fit as well is no answer.
    ///
    /// `Ok(None)` when every line's VAT is known; an `order.vat_rate_unknown` error that
    /// says what is missing when no single rate can be derived.
    pub fn derive_vat_rate(&self) -> Result<Option<DerivedVatRate>, Diagnostic> {
        let mut stated = Vec::new();
        let mut lines = Vec::new();
        for (index, line) in self.lines.iter().enumerate() {
            match line.signed_vat_total() {
                Some(vat) => stated.push(vat),
                None => lines.push(index),
            }
        }
        let Some(&first) = lines.first() else {
            return Ok(None);
        };
        let unknown = |path: String, message: String| {
            Diagnostic::error(path, "order.vat_rate_unknown", message)
        };
        let Some(tax) = self.totals.and_then(|totals| totals.tax) else {
            return Err(unknown(
                format!("/lines/{first}/vat_rate"),
                format!(
                    "{}, and the order states no tax (totals.tax) to derive \
                     one from: give the lines their vat_rate, or state the order's VAT",
                    without_rate(&lines)
                ),
            ));
        };
        let mut bases = Vec::with_capacity(lines.len());
        for &index in &lines {
            let Some(net) = self.lines[index].signed_net_total() else {
                return Err(unknown(
                    format!("/lines/{index}/vat_rate"),
                    "the line states no VAT rate, and its amount without VAT cannot be computed \
                     (it takes a net price), so no rate can be derived for it from the order's \
                     tax: give it its vat_rate"
                        .into(),
                ));
            };
            bases.push(net);
        }
        let too_large = || {
            unknown(
                "/totals/tax".into(),
                "the order's amounts are too large to derive a VAT rate from".into(),
            )
        };
        let (Some(base), Some(stated_vat)) = (sum(&bases), sum(&stated)) else {
            return Err(too_large());
        };
        let from = if stated.is_empty() {
            format!("the order's tax of {tax} {}", self.currency)
        } else {
            format!(
                "the order's tax of {tax} {} less the {} {} the other lines state",
                self.currency,
                stated_vat.normalize(),
                self.currency
            )
        };
        if base <= Decimal::ZERO {
            return Err(unknown(
                "/totals/tax".into(),
                format!(
                    "{} and their amount without VAT is {}, so no rate can be \
                     derived from {from}: give the lines their vat_rate",
                    without_rate(&lines),
                    base.normalize()
                ),
            ));
        }
        let exact = tax
            .checked_sub(stated_vat)
            .and_then(|rest| rest.checked_mul(Decimal::ONE_HUNDRED))
            .and_then(|rest| rest.checked_div(base))
            .ok_or_else(too_large)?;
        let fit = RateFit {
            currency: self.currency,
            stated: &stated,
            bases: &bases,
            tax,
        };
        for decimals in 0..=RATE_DECIMALS {
            let rate = exact.round_dp(decimals);
            if !fit.reproduces(rate) {
                continue;
            }
            let step = Decimal::new(1, decimals);
            let other = [rate.checked_sub(step), rate.checked_add(step)]
                .into_iter()
                .flatten()
                .find(|&other| fit.reproduces(other));
            if let Some(other) = other {
                return Err(unknown(
                    "/totals/tax".into(),
                    format!(
                        "{}, and {from} fits {} % on their amount without VAT, \
                         {} {}, as well as {} %: the amounts are too small to tell the rate; give \
                         the lines their vat_rate",
                        without_rate(&lines),
                        rate.normalize(),
                        base.normalize(),
                        self.currency,
                        other.normalize()
                    ),
                ));
            }
            return Ok(Some(DerivedVatRate {
                rate: rate.normalize(),
                lines,
                tax,
                base,
                currency: self.currency,
            }));
        }
        Err(unknown(
            "/totals/tax".into(),
            format!(
                "{}, and {from} is {} % of their amount without VAT, {} {}; no \
                 rate with at most {RATE_DECIMALS} decimal gives that tax, rounded per line or on \
                 the total, so the lines do not share one rate: give them their vat_rate",
                without_rate(&lines),
                exact.round_dp(4).normalize(),
                base.normalize(),
                self.currency
            ),
        ))
    }
}

/// What a candidate rate is checked against.
struct RateFit<'a> {
    currency: Currency,
    /// The VAT of the lines that state theirs, exact.
    stated: &'a [Decimal],
    /// The amounts without VAT of the lines that take the rate.
    bases: &'a [Decimal],
    /// The order's stated tax.
    tax: Decimal,
}

impl RateFit<'_> {
    /// Whether `rate` (a percentage from 0 to 100) on the bases, with the stated VAT, gives
    /// the tax: each line's VAT rounded to the minor unit and added up, or added up and
    /// rounded once.
    fn reproduces(&self, rate: Decimal) -> bool {
        if !(Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&rate) {
            return false;
        }
        let at_rate: Option<Vec<Decimal>> = self
            .bases
            .iter()
            .map(|base| base.checked_mul(rate)?.checked_div(Decimal::ONE_HUNDRED))
            .collect();
        let Some(at_rate) = at_rate else {
            return false;
        };
        let vat = || self.stated.iter().chain(&at_rate).copied();
        let per_line = vat().try_fold(Decimal::ZERO, |sum, vat| {
            sum.checked_add(self.currency.round(vat))
        });
        let on_total = vat()
            .try_fold(Decimal::ZERO, Decimal::checked_add)
            .map(|total| self.currency.round(total));
        per_line == Some(self.tax) || on_total == Some(self.tax)
    }
}

fn sum(amounts: &[Decimal]) -> Option<Decimal> {
    amounts
        .iter()
        .try_fold(Decimal::ZERO, |sum, amount| sum.checked_add(*amount))
}

/// `line 2 states no VAT rate`, `lines 0, 1 and 3 state no VAT rate`.
fn without_rate(lines: &[usize]) -> String {
    let verb = if lines.len() == 1 { "states" } else { "state" };
    format!("{} {verb} no VAT rate", describe_lines(lines))
}

/// `line 2`, `lines 0, 1 and 3`, or `12 lines (0, 1, 2, 3, 4, …)` for a message.
fn describe_lines(lines: &[usize]) -> String {
    const NAMED: usize = 5;
    let named: Vec<String> = lines.iter().take(NAMED).map(usize::to_string).collect();
    match lines {
        [one] => format!("line {one}"),
        _ if lines.len() > NAMED => format!("{} lines ({}, …)", lines.len(), named.join(", ")),
        [.., last] => format!("lines {} and {last}", named[..named.len() - 1].join(", ")),
        [] => "no line".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LineKind, OrderLine, Price, Totals};
    use rust_decimal::dec;

    fn net_line(quantity: Decimal, net: Decimal) -> OrderLine {
        OrderLine {
            sku: Some("A".into()),
            quantity,
            unit_price: Some(Price::net(net)),
            ..OrderLine::default()
        }
    }

    fn order(lines: Vec<OrderLine>, tax: Option<Decimal>) -> Order {
        Order {
            lines,
            totals: Some(Totals {
                gross: Decimal::ZERO,
                net: None,
                tax,
            }),
            ..Order::new(Currency::EUR)
        }
    }

    fn derived(order: &Order) -> Decimal {
        order
            .derive_vat_rate()
            .unwrap_or_else(|d| panic!("{d}"))
            .expect("a rate is derived")
            .rate
    }

    fn refusal(order: &Order) -> Diagnostic {
        order.derive_vat_rate().expect_err("no rate is derived")
    }

    #[test]
    fn one_rate_that_reproduces_the_tax_is_derived_for_every_line() {
        // 3 × 9.99 + 1 × 0.35 + shipping 4.95: per line 6.29 + 0.07 + 1.04 = 7.40.
        let mut shipping = net_line(dec!(1), dec!(4.95));
        shipping.kind = LineKind::Shipping;
        let o = order(
            vec![
                net_line(dec!(3), dec!(9.99)),
                net_line(dec!(1), dec!(0.35)),
                shipping,
            ],
            Some(dec!(7.40)),
        );
        let rate = o.derive_vat_rate().unwrap().unwrap();
        assert_eq!(rate.rate, dec!(21));
        assert_eq!(rate.lines, [0, 1, 2]);
        assert_eq!(rate.base, dec!(35.27));
        assert!(rate.covers(2) && !rate.covers(3));
        let warning = rate.warning();
        assert_eq!(warning.code, "order.vat_rate_derived");
        assert!(
            warning
                .message
                .starts_with("lines 0, 1 and 2 state no VAT rate: 21 % is derived"),
            "{warning}"
        );

        // The same tax rounded once on the total: 35.27 × 21 % = 7.4067 → 7.41.
        assert_eq!(derived(&order(o.lines.clone(), Some(dec!(7.41)))), dec!(21));
        // One decimal when no whole rate fits: 200 × 5.5 % = 11.00.
        assert_eq!(
            derived(&order(vec![net_line(dec!(2), dec!(100))], Some(dec!(11)))),
            dec!(5.5)
        );
        // No VAT at all is a rate too.
        assert_eq!(
            derived(&order(vec![net_line(dec!(2), dec!(100))], Some(dec!(0)))),
            dec!(0)
        );
    }

    #[test]
    fn lines_that_state_their_vat_keep_it_and_count_towards_the_tax() {
        let mut rated = net_line(dec!(1), dec!(100));
        rated.vat_rate = Some(dec!(6));
        // 6.00 stated + 50.00 at 21 % = 10.50: 16.50.
        let o = order(vec![rated, net_line(dec!(1), dec!(50))], Some(dec!(16.50)));
        let rate = o.derive_vat_rate().unwrap().unwrap();
        assert_eq!((rate.rate, rate.lines), (dec!(21), vec![1]));

        let mut all_rated = net_line(dec!(1), dec!(100));
        all_rated.vat_rate = Some(dec!(6));
        assert_eq!(order(vec![all_rated], None).derive_vat_rate(), Ok(None));
    }

    #[test]
    fn lines_at_different_rates_are_not_given_one() {
        // 100 at 21 % and 100 at 6 %: 27.00 is 13.5 % of 200, which fits, but the
        // shipping at 0 % makes it 12.27 % of 220: no rate with one decimal gives 27.00.
        let o = order(
            vec![
                net_line(dec!(1), dec!(100)),
                net_line(dec!(1), dec!(100)),
                net_line(dec!(1), dec!(20)),
            ],
            Some(dec!(27.00)),
        );
        let refused = refusal(&o);
        assert_eq!(refused.path, "/totals/tax");
        assert_eq!(refused.code, "order.vat_rate_unknown");
        assert!(refused.message.contains("12.2727 %"), "{refused}");
        assert!(refused.message.contains("220 EUR"), "{refused}");
    }

    #[test]
    fn amounts_too_small_to_tell_the_rate_are_refused() {
        // 0.50 at 21 % and at 22 % are both 0.11.
        let refused = refusal(&order(
            vec![net_line(dec!(1), dec!(0.50))],
            Some(dec!(0.11)),
        ));
        assert_eq!(refused.path, "/totals/tax");
        assert!(refused.message.contains("too small"), "{refused}");
    }

    #[test]
    fn what_is_missing_is_said_at_its_place() {
        let refused = refusal(&order(vec![net_line(dec!(1), dec!(10))], None));
        assert_eq!(refused.path, "/lines/0/vat_rate");
        assert!(refused.message.contains("totals.tax"), "{refused}");

        let mut gross_only = net_line(dec!(1), dec!(10));
        gross_only.unit_price = Some(Price::gross(dec!(12.10)));
        let refused = refusal(&order(
            vec![net_line(dec!(1), dec!(10)), gross_only],
            Some(dec!(4.20)),
        ));
        assert_eq!(refused.path, "/lines/1/vat_rate");

        let mut voucher = net_line(dec!(1), dec!(10));
        voucher.kind = LineKind::Voucher;
        let refused = refusal(&order(vec![voucher], Some(dec!(0))));
        assert_eq!(refused.path, "/totals/tax");
        assert!(refused.message.contains("is -10"), "{refused}");

        let huge = net_line(Decimal::MAX, Decimal::MAX);
        let refused = refusal(&order(vec![huge], Some(dec!(1))));
        assert_eq!(refused.code, "order.vat_rate_unknown");
    }

    #[test]
    fn lines_are_named_shortly() {
        assert_eq!(describe_lines(&[2]), "line 2");
        assert_eq!(without_rate(&[2]), "line 2 states no VAT rate");
        assert_eq!(describe_lines(&[0, 1, 3]), "lines 0, 1 and 3");
        assert_eq!(
            describe_lines(&(0..12).collect::<Vec<_>>()),
            "12 lines (0, 1, 2, 3, 4, …)"
        );
    }
}
