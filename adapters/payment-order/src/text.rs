//! The text formats of the Payline order object: `N12` counts of minor units, the order
//! date `dd/mm/yyyy HH:MM` and the day `dd/mm/yyyy`.
//!
//! Parsing is strict about shape (digits where digits go, two-digit days and months, a
//! four-digit year) because chrono's own parser accepts `1/2/2025 3:4`, which the
//! provider does not.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// The most digits an `N12` field holds.
pub(crate) const N12_DIGITS: usize = 12;

/// Why a text is not an unsigned whole number of at most so many digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberProblem {
    Empty,
    Negative,
    NotDigits,
    TooManyDigits { found: usize, allowed: usize },
}

impl NumberProblem {
    /// The diagnostic code, so that every field reports the same problem the same way.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Empty => "payline.missing_field",
            Self::Negative => "payline.negative_amount",
            Self::NotDigits => "payline.not_a_number",
            Self::TooManyDigits { .. } => "payline.too_many_digits",
        }
    }
}

impl fmt::Display for NumberProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::Negative => f.write_str("it is negative; amounts are never below zero"),
            Self::NotDigits => {
                f.write_str("only the digits 0-9 are allowed (no sign, point, comma or unit)")
            }
            Self::TooManyDigits { found, allowed } => {
                write!(
                    f,
                    "it has {found} digits where at most {allowed} are allowed"
                )
            }
        }
    }
}

/// An unsigned whole number written with ASCII digits only (`N12`, `N3`, ...). Leading
/// zeros are allowed and count as digits, as in any fixed-width numeric field.
pub(crate) fn parse_digits(text: &str, max_digits: usize) -> Result<u64, NumberProblem> {
    if text.is_empty() {
        return Err(NumberProblem::Empty);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        let looks_negative = text.strip_prefix('-').is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        });
        return Err(if looks_negative {
            NumberProblem::Negative
        } else {
            NumberProblem::NotDigits
        });
    }
    if text.len() > max_digits {
        return Err(NumberProblem::TooManyDigits {
            found: text.len(),
            allowed: max_digits,
        });
    }
    // At most 19 digits (max_digits is never above that) always fit a u64.
    text.bytes()
        .try_fold(0_u64, |number, digit| {
            number.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
        })
        .ok_or(NumberProblem::TooManyDigits {
            found: text.len(),
            allowed: max_digits,
        })
}

/// Why a text is not a date (or date and time) in Payline's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DateProblem {
    /// The text does not have the shape `dd/mm/yyyy` (`dd/mm/yyyy HH:MM`).
    Shape,
    /// The shape is right but no such day exists (`31/02/2025`).
    NoSuchDay,
    /// The shape is right but no such time of day exists (`24:00`, `12:60`).
    NoSuchTime,
}

impl DateProblem {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Shape => "payline.bad_date_format",
            Self::NoSuchDay | Self::NoSuchTime => "payline.no_such_date",
        }
    }
}

/// Two ASCII digits at `at` as a number.
fn two_digits(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at + 2)? {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    }
}

/// `dd/mm/yyyy`, exactly.
pub(crate) fn parse_day(text: &str) -> Result<NaiveDate, DateProblem> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[2] != b'/' || bytes[5] != b'/' {
        return Err(DateProblem::Shape);
    }
    let (Some(day), Some(month), Some(century), Some(year_in_century)) = (
        two_digits(bytes, 0),
        two_digits(bytes, 3),
        two_digits(bytes, 6),
        two_digits(bytes, 8),
    ) else {
        return Err(DateProblem::Shape);
    };
    let year = i32::try_from(century * 100 + year_in_century).map_err(|_| DateProblem::Shape)?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or(DateProblem::NoSuchDay)
}

/// `dd/mm/yyyy HH:MM` as the specification writes it, or `dd/mm/yyyy HH:MM:SS` as
/// Payline's own responses carry it (`26/05/2008 17:30:00`).
pub(crate) fn parse_order_date(text: &str) -> Result<NaiveDateTime, DateProblem> {
    let (day, time) = text.split_once(' ').ok_or(DateProblem::Shape)?;
    let day = parse_day(day)?;
    let bytes = time.as_bytes();
    let shaped = match bytes.len() {
        5 => bytes[2] == b':',
        8 => bytes[2] == b':' && bytes[5] == b':',
        _ => false,
    };
    if !shaped {
        return Err(DateProblem::Shape);
    }
    let (Some(hour), Some(minute)) = (two_digits(bytes, 0), two_digits(bytes, 3)) else {
        return Err(DateProblem::Shape);
    };
    let second = if bytes.len() == 8 {
        two_digits(bytes, 6).ok_or(DateProblem::Shape)?
    } else {
        0
    };
    let time = NaiveTime::from_hms_opt(hour, minute, second).ok_or(DateProblem::NoSuchTime)?;
    Ok(day.and_time(time))
}

/// `dd/mm/yyyy`; `None` for years that do not have four digits.
pub(crate) fn format_day(day: NaiveDate) -> Option<String> {
    use chrono::Datelike;
    (0..=9999)
        .contains(&day.year())
        .then(|| day.format("%d/%m/%Y").to_string())
}

/// `dd/mm/yyyy HH:MM`, seconds dropped (not rounded); `None` for years that do not have
/// four digits.
pub(crate) fn format_order_date(moment: NaiveDateTime) -> Option<String> {
    let day = format_day(moment.date())?;
    Some(format!("{day} {}", moment.format("%H:%M")))
}

/// `text` quoted for a message, cut after a few dozen characters so that a huge value
/// does not flood a log.
pub(crate) fn quote(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_digits_only() {
        assert_eq!(parse_digits("6000", 12), Ok(6000));
        assert_eq!(parse_digits("000000000100", 12), Ok(100));
        assert_eq!(parse_digits("", 12), Err(NumberProblem::Empty));
        assert_eq!(parse_digits("-100", 12), Err(NumberProblem::Negative));
        assert_eq!(parse_digits("-1.5", 12), Err(NumberProblem::Negative));
        for bad in [
            "50%",
            "1.5",
            "1,5",
            "+1",
            " 1",
            "1e3",
            "١٢",
            "DeliveryChareg 8",
            "-",
        ] {
            assert_eq!(
                parse_digits(bad, 12),
                Err(NumberProblem::NotDigits),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_digits("1234567890123", 12),
            Err(NumberProblem::TooManyDigits {
                found: 13,
                allowed: 12
            })
        );
        assert_eq!(parse_digits("999999999999", 12), Ok(999_999_999_999));
    }

    #[test]
    fn order_dates_with_and_without_seconds() {
        let date = parse_order_date("15/12/2014 12:20").unwrap();
        assert_eq!(date.to_string(), "2014-12-15 12:20:00");
        let date = parse_order_date("26/05/2008 17:30:05").unwrap();
        assert_eq!(date.to_string(), "2008-05-26 17:30:05");
        assert_eq!(format_order_date(date).unwrap(), "26/05/2008 17:30");
    }

    #[test]
    fn impossible_dates_are_told_apart_from_malformed_ones() {
        assert_eq!(
            parse_order_date("31/02/2025 10:00"),
            Err(DateProblem::NoSuchDay)
        );
        assert_eq!(
            parse_order_date("29/02/2023 10:00"),
            Err(DateProblem::NoSuchDay)
        );
        assert!(parse_order_date("29/02/2024 10:00").is_ok());
        assert_eq!(
            parse_order_date("01/01/2025 24:00"),
            Err(DateProblem::NoSuchTime)
        );
        for bad in [
            "",
            "1/2/2025 3:04",
            "2025-02-01 10:00",
            "01/02/2025",
            "01/02/2025 10h00",
            "01/02/25 10:00",
            "01/02/2025  10:00",
            "01/02/2025 10:00:0",
            "Demain",
            "01/02/2025 10:00 ",
        ] {
            assert_eq!(parse_order_date(bad), Err(DateProblem::Shape), "{bad:?}");
        }
        assert_eq!(parse_day("31/12/2023").unwrap().to_string(), "2023-12-31");
        assert_eq!(parse_day("31/04/2023"), Err(DateProblem::NoSuchDay));
        assert_eq!(parse_day("Demain"), Err(DateProblem::Shape));
    }

    #[test]
    fn quotes_are_short() {
        assert_eq!(quote("a\\b"), "\"a\\\\b\"");
        assert!(quote(&"x".repeat(500)).len() < 50);
    }
}
