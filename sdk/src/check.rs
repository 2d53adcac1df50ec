//! Field checks that every protocol needs and that are easy to get subtly wrong.
//!
//! Protocols limit fields in characters (not bytes), write numbers as plain decimal
//! text with no thousands separator and a fixed number of digits, and expect whole
//! numbers where the model has decimals. A wrong guess here moves a price by a factor
//! of a thousand (`1,234` read as 1.234) or silently rounds it, so these checks refuse
//! rather than guess, and say precisely why.

use rust_decimal::prelude::ToPrimitive;
use tradewire_core::{Decimal, Diagnostic, Diagnostics};

/// How many characters of an offending value a message may quote: enough to find it,
/// not enough to flood a log (or leak much of a long secret).
const QUOTED_CHARS: usize = 32;

/// Records `field.too_long` when `value` has more than `limit` characters (Unicode
/// scalar values, which is what protocols that count "characters" mean).
pub fn max_chars(diagnostics: &mut Diagnostics, path: &str, value: &str, limit: usize) {
    // A character is at least one byte: most values are decided without counting.
    if value.len() <= limit {
        return;
    }
    let length = value.chars().count();
    if length > limit {
        diagnostics.error(
            path,
            "field.too_long",
            format!(
                "{length} characters where at most {limit} are allowed: {}",
                quote_start(value)
            ),
        );
    }
}

fn quote_start(value: &str) -> String {
    match value.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

/// A decimal written the one way every protocol agrees on: optional sign, digits,
/// optionally `.` and digits (`-12.50`), surrounded by ASCII whitespace at most.
///
/// Thousands separators, decimal commas and exponents are refused with `number.invalid`
/// and a message naming the problem, because each of them is ambiguous somewhere.
pub fn parse_decimal(path: &str, text: &str) -> Result<Decimal, Diagnostic> {
    parse_plain_decimal(path, text, text)
}

/// Like [`parse_decimal`], but a single `,` is read as the decimal separator when there
/// is no `.`: French and German ERPs send `12,50`. Use it only for fields whose sender
/// is known to do so, since `1,234` then means 1.234.
pub fn parse_decimal_lenient(path: &str, text: &str) -> Result<Decimal, Diagnostic> {
    let single_comma = text.matches(',').count() == 1 && !text.contains('.');
    if single_comma {
        parse_plain_decimal(path, &text.replacen(',', ".", 1), text)
    } else {
        parse_decimal(path, text)
    }
}

/// Parses `text`, quoting `as_received` in messages so people see what was sent.
fn parse_plain_decimal(path: &str, text: &str, as_received: &str) -> Result<Decimal, Diagnostic> {
    let trimmed = text.trim_ascii();
    if let Some(problem) = decimal_syntax_problem(trimmed) {
        return Err(Diagnostic::error(
            path,
            "number.invalid",
            format!(
                "{} is not a plain decimal: {problem}",
                quote_start(as_received)
            ),
        ));
    }
    let without_plus = trimmed.strip_prefix('+').unwrap_or(trimmed);
    // The syntax is already known to be right, so failing here means out of range.
    Decimal::from_str_exact(without_plus).map_err(|error| {
        let (code, why) = match error {
            rust_decimal::Error::Underflow
            | rust_decimal::Error::ScaleExceedsMaximumPrecision(_) => (
                "number.too_precise",
                "more fractional digits than a decimal holds exactly (28 significant digits)",
            ),
            _ => (
                "number.too_large",
                "more integer digits than a decimal holds (at most 79228162514264337593543950335)",
            ),
        };
        Diagnostic::error(path, code, format!("{}: {why}", quote_start(as_received)))
    })
}

/// Why `text` (already trimmed) is not `[+-]digits[.digits]`, or `None` when it is.
/// The diagnosis only names a separator or an exponent when the text would otherwise be
/// a number, so `1.5 EUR` is not mistaken for an exponent.
fn decimal_syntax_problem(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        return Some("it is empty");
    }
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !unsigned.bytes().any(|byte| byte.is_ascii_digit()) {
        return Some("it has no digits");
    }
    let made_of = |others: &[char]| {
        unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || others.contains(&c))
    };
    if made_of(&['.']) {
        return match unsigned.split_once('.') {
            None => None,
            Some((_, fraction)) if fraction.contains('.') => Some("it has more than one `.`"),
            Some(("", _)) => Some("a digit is needed before `.`"),
            Some((_, "")) => Some("a digit is needed after `.`"),
            Some(_) => None,
        };
    }
    if made_of(&['.', ',']) {
        return match (unsigned.find(','), unsigned.find('.')) {
            (Some(comma), Some(dot)) if comma < dot => {
                Some("`,` is used as a thousands separator; write digits only before `.`")
            }
            (Some(_), Some(_)) => Some(
                "`,` is used as the decimal separator and `.` as a thousands separator; \
                 write `.` for the decimal separator and no thousands separator",
            ),
            _ => Some(
                "`,` is a decimal comma or a thousands separator; write `.` for the decimal \
                 separator and no thousands separator",
            ),
        };
    }
    if let Some((mantissa, exponent)) = unsigned.split_once(['e', 'E'])
        && decimal_syntax_problem(mantissa).is_none()
        && !mantissa.starts_with(['+', '-'])
    {
        let exponent_digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if !exponent_digits.is_empty() && exponent_digits.bytes().all(|b| b.is_ascii_digit()) {
            return Some("exponent notation is not allowed");
        }
    }
    if made_of(&['.', ',', '\'', ' ', '_', '\u{a0}', '\u{202f}']) {
        return Some("thousands separators are not allowed");
    }
    Some("only digits, one leading sign and one `.` are allowed")
}

/// `value` as plain decimal text (`1234.5`) with at most `max_int_digits` digits before
/// the point and `max_frac_digits` after it, as fixed-width protocol fields require.
///
/// Trailing fractional zeros are dropped; nothing is ever rounded: a value that needs
/// more fractional digits is `number.too_precise` (rounding money is the caller's
/// decision), one that needs more integer digits is `number.too_large`. A leading `0`
/// before the point (`0.5`) does not count as an integer digit.
pub fn format_decimal(
    path: &str,
    value: Decimal,
    max_int_digits: u32,
    max_frac_digits: u32,
) -> Result<String, Diagnostic> {
    if value.is_zero() {
        return Ok("0".to_owned());
    }
    let normalized = value.normalize();
    let frac_digits = normalized.scale();
    if frac_digits > max_frac_digits {
        return Err(Diagnostic::error(
            path,
            "number.too_precise",
            format!(
                "{normalized} has {frac_digits} significant digits after the point; at most \
                 {max_frac_digits} are allowed and it is not rounded"
            ),
        ));
    }
    let whole = normalized.trunc().abs();
    let int_digits = if whole.is_zero() {
        0
    } else {
        whole.to_string().len()
    };
    if int_digits > max_int_digits as usize {
        return Err(Diagnostic::error(
            path,
            "number.too_large",
            format!(
                "{normalized} has {int_digits} digits before the point; at most \
                 {max_int_digits} are allowed"
            ),
        ));
    }
    Ok(normalized.to_string())
}

/// A non-negative whole number (a quantity, a line number). Written fractional zeros are
/// fine (`2.000`, as SAP writes quantities); a fraction that matters is
/// `number.not_whole`.
pub fn parse_whole_number(path: &str, text: &str) -> Result<u64, Diagnostic> {
    let value = parse_decimal(path, text)?;
    if !value.fract().is_zero() {
        return Err(Diagnostic::error(
            path,
            "number.not_whole",
            format!(
                "{} has a fractional part; a whole number is needed",
                quote_start(text)
            ),
        ));
    }
    if value.is_sign_negative() && !value.is_zero() {
        return Err(Diagnostic::error(
            path,
            "number.invalid",
            format!(
                "{} is negative; a whole number of zero or more is needed",
                quote_start(text)
            ),
        ));
    }
    value.trunc().to_u64().ok_or_else(|| {
        Diagnostic::error(
            path,
            "number.too_large",
            format!("{} is larger than {}", quote_start(text), u64::MAX),
        )
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn code_of<T: std::fmt::Debug>(result: Result<T, Diagnostic>) -> String {
        result.expect_err("expected an error").code
    }

    #[test]
    fn max_chars_counts_characters_not_bytes() {
        let mut diagnostics = Diagnostics::new();
        max_chars(&mut diagnostics, "NAME", "äöü", 3);
        max_chars(&mut diagnostics, "NAME", "", 0);
        assert!(diagnostics.is_empty());

        max_chars(&mut diagnostics, "NAME", "äöüß", 3);
        let found = &diagnostics.as_slice()[0];
        assert_eq!(found.code, "field.too_long");
        assert_eq!(found.path, "NAME");
        assert!(found.message.contains("4 characters"), "{}", found.message);
        assert!(found.message.contains("at most 3"), "{}", found.message);
    }

    #[test]
    fn max_chars_quotes_little_of_a_long_value() {
        let mut diagnostics = Diagnostics::new();
        let long = "x".repeat(1000);
        max_chars(&mut diagnostics, "/name", &long, 40);
        let message = &diagnostics.as_slice()[0].message;
        assert!(message.contains("1000 characters"));
        assert!(message.len() < 120, "{message}");
        assert!(!message.contains(&"x".repeat(QUOTED_CHARS + 1)));
    }

    #[test]
    fn plain_decimals_parse() {
        assert_eq!(parse_decimal("p", "1.50").unwrap(), dec!(1.50));
        assert_eq!(parse_decimal("p", " -12.5\t").unwrap(), dec!(-12.5));
        assert_eq!(parse_decimal("p", "+7").unwrap(), dec!(7));
        assert_eq!(parse_decimal("p", "0").unwrap(), dec!(0));
        assert_eq!(parse_decimal("p", "007.000").unwrap(), dec!(7));
        assert_eq!(parse_decimal("p", "1.50").unwrap().scale(), 2);
    }

    #[test]
    fn ambiguous_decimals_are_refused_with_the_reason() {
        let thousands = parse_decimal("NEW_ITEM-PRICE[1]", "1,234.50").unwrap_err();
        assert_eq!(thousands.code, "number.invalid");
        assert_eq!(thousands.path, "NEW_ITEM-PRICE[1]");
        assert!(thousands.message.contains("thousands separator"));

        let german = parse_decimal("p", "1.234,50").unwrap_err();
        assert!(
            german.message.contains("decimal separator"),
            "{}",
            german.message
        );

        let comma = parse_decimal("p", "12,50").unwrap_err();
        assert!(comma.message.contains("decimal comma"), "{}", comma.message);

        let exponent = parse_decimal("p", "1e3").unwrap_err();
        assert!(exponent.message.contains("exponent"));

        let swiss = parse_decimal("p", "1'234.50").unwrap_err();
        assert!(swiss.message.contains("thousands"));

        for bad in [
            "", "   ", "-", "+", ".5", "5.", "1.2.3", "--1", "+-1", "1-", "abc", "١٢", "0x10",
            "1 234", "NaN", "inf", "1.5 EUR",
        ] {
            assert_eq!(
                code_of(parse_decimal("p", bad)),
                "number.invalid",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn decimals_beyond_exact_range_are_refused() {
        assert_eq!(
            code_of(parse_decimal("p", &"9".repeat(40))),
            "number.too_large"
        );
        assert_eq!(
            code_of(parse_decimal("p", &format!("0.{}", "1".repeat(40)))),
            "number.too_precise"
        );
    }

    #[test]
    fn lenient_parsing_reads_a_decimal_comma() {
        assert_eq!(parse_decimal_lenient("p", "12,50").unwrap(), dec!(12.50));
        assert_eq!(parse_decimal_lenient("p", " -0,5 ").unwrap(), dec!(-0.5));
        assert_eq!(parse_decimal_lenient("p", "12.50").unwrap(), dec!(12.50));
        for still_bad in ["1,234.50", "1.234,50", "1,234,567", ",5", "5,"] {
            assert_eq!(
                code_of(parse_decimal_lenient("p", still_bad)),
                "number.invalid",
                "{still_bad:?}"
            );
        }
        let message = parse_decimal_lenient("p", "5,").unwrap_err().message;
        assert!(message.contains("\"5,\""), "{message}");
    }

    #[test]
    fn format_drops_trailing_zeros_and_never_rounds() {
        assert_eq!(format_decimal("p", dec!(1.500), 11, 3).unwrap(), "1.5");
        assert_eq!(format_decimal("p", dec!(100), 11, 3).unwrap(), "100");
        assert_eq!(format_decimal("p", dec!(-0.125), 11, 3).unwrap(), "-0.125");
        assert_eq!(format_decimal("p", dec!(0.000), 11, 3).unwrap(), "0");
        assert_eq!(format_decimal("p", dec!(-0), 11, 3).unwrap(), "0");
        assert_eq!(
            format_decimal("p", dec!(12345678901.999), 11, 3).unwrap(),
            "12345678901.999"
        );
        assert_eq!(format_decimal("p", dec!(0.5), 0, 1).unwrap(), "0.5");
        assert_eq!(
            format_decimal("p", dec!(1234567), 11, 0).unwrap(),
            "1234567"
        );

        assert_eq!(
            code_of(format_decimal("p", dec!(1.2345), 11, 3)),
            "number.too_precise"
        );
        assert_eq!(
            code_of(format_decimal("p", dec!(0.5), 11, 0)),
            "number.too_precise"
        );
        assert_eq!(
            code_of(format_decimal("p", dec!(123456789012), 11, 3)),
            "number.too_large"
        );
        assert_eq!(
            code_of(format_decimal("p", dec!(-123456789012), 11, 3)),
            "number.too_large"
        );
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(parse_whole_number("q", "2").unwrap(), 2);
        assert_eq!(parse_whole_number("q", " 2.000 ").unwrap(), 2);
        assert_eq!(parse_whole_number("q", "-0").unwrap(), 0);
        assert_eq!(
            parse_whole_number("q", &u64::MAX.to_string()).unwrap(),
            u64::MAX
        );
        assert_eq!(code_of(parse_whole_number("q", "2.5")), "number.not_whole");
        assert_eq!(code_of(parse_whole_number("q", "-1")), "number.invalid");
        assert_eq!(code_of(parse_whole_number("q", "2,0")), "number.invalid");
        assert_eq!(
            code_of(parse_whole_number("q", "18446744073709551616")),
            "number.too_large"
        );
    }

    proptest! {
        #[test]
        fn formatted_decimals_parse_back(mantissa in any::<i64>(), scale in 0u32..=12) {
            let value = Decimal::new(mantissa, scale);
            let text = format_decimal("p", value, 28, 28).unwrap();
            prop_assert_eq!(parse_decimal("p", &text).unwrap(), value);
            if let Ok(narrow) = format_decimal("p", value, 11, 3) {
                prop_assert_eq!(narrow, text);
            }
        }

        #[test]
        fn parsing_never_panics(text in ".{0,40}") {
            let _ = parse_decimal("p", &text);
            let _ = parse_decimal_lenient("p", &text);
            let _ = parse_whole_number("p", &text);
        }
    }
}
