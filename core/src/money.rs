//! Exact money: `rust_decimal` amounts with an ISO 4217 currency.
//!
//! Amounts are never `f64`. The conversion to minor units (EUR 2 digits, JPY 0,
//! BHD 3) happens at the edge that needs it, with [`Currency::to_minor_units`],
//! which refuses to drop a fraction of a minor unit silently.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 4217 currency, from the maintained table of the `iso_currency` crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

/// Why a currency code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCurrency(pub String);

impl fmt::Display for UnknownCurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an ISO 4217 currency code", self.0)
    }
}

impl std::error::Error for UnknownCurrency {}

impl Currency {
    pub const EUR: Currency = Currency(iso_currency::Currency::EUR);
    pub const USD: Currency = Currency(iso_currency::Currency::USD);

    /// Looks up an alphabetic code (`EUR`); case-insensitive.
    pub fn from_code(code: &str) -> Result<Self, UnknownCurrency> {
        // Every code is three ASCII letters: upper-case them on the stack, without the
        // allocation of `to_ascii_uppercase` (this runs for every amount's currency).
        let mut upper = [0u8; 3];
        match code.trim().as_bytes() {
            bytes @ [_, _, _] => upper.copy_from_slice(bytes),
            _ => return Err(UnknownCurrency(code.to_owned())),
        }
        upper.make_ascii_uppercase();
        std::str::from_utf8(&upper)
            .ok()
            .and_then(iso_currency::Currency::from_code)
            .map(Self)
            .ok_or_else(|| UnknownCurrency(code.to_owned()))
    }

    /// Looks up a numeric code (`978`).
    pub fn from_numeric(numeric: u16) -> Result<Self, UnknownCurrency> {
        iso_currency::Currency::from_numeric(numeric)
            .map(Self)
            .ok_or_else(|| UnknownCurrency(numeric.to_string()))
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }

    pub fn numeric(self) -> u16 {
        self.0.numeric()
    }

    /// Digits after the decimal point of the minor unit; `None` for codes with no minor
    /// unit defined by ISO 4217 (gold, SDR, testing codes).
    pub fn exponent(self) -> Option<u16> {
        self.0.exponent()
    }

    /// The smallest representable step: 0.01 for EUR, 1 for JPY, 0.001 for BHD.
    pub fn minor_unit(self) -> Decimal {
        Decimal::new(1, u32::from(self.exponent().unwrap_or(0)))
    }

    /// Converts `amount` to an integer count of minor units. Fails when the amount has
    /// more fractional digits than the currency allows or does not fit an `i64`.
    pub fn to_minor_units(self, amount: Decimal) -> Result<i64, MinorUnitError> {
        let exponent = u32::from(self.exponent().ok_or(MinorUnitError::NoMinorUnit(self))?);
        let scaled = amount
            .checked_mul(Decimal::from(10_i64.pow(exponent)))
            .ok_or(MinorUnitError::Overflow(amount))?;
        if scaled.fract() != Decimal::ZERO {
            return Err(MinorUnitError::LosesFraction {
                amount,
                currency: self,
            });
        }
        i64::try_from(scaled).map_err(|_| MinorUnitError::Overflow(amount))
    }

    /// Converts `amount` to minor units, rounding half away from zero (commercial rounding).
    pub fn to_minor_units_rounded(self, amount: Decimal) -> Result<i64, MinorUnitError> {
        let exponent = self.exponent().ok_or(MinorUnitError::NoMinorUnit(self))?;
        let rounded = amount
            .round_dp_with_strategy(u32::from(exponent), RoundingStrategy::MidpointAwayFromZero);
        self.to_minor_units(rounded)
    }

    /// The decimal amount that `minor` minor units stand for.
    pub fn from_minor_units(self, minor: i64) -> Result<Decimal, MinorUnitError> {
        let exponent = self.exponent().ok_or(MinorUnitError::NoMinorUnit(self))?;
        Ok(Decimal::new(minor, u32::from(exponent)))
    }

    /// Rounds to the currency's minor unit, half away from zero.
    pub fn round(self, amount: Decimal) -> Decimal {
        amount.round_dp_with_strategy(
            u32::from(self.exponent().unwrap_or(2)),
            RoundingStrategy::MidpointAwayFromZero,
        )
    }
}

/// Why an amount could not become minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MinorUnitError {
    NoMinorUnit(Currency),
    LosesFraction { amount: Decimal, currency: Currency },
    Overflow(Decimal),
}

impl fmt::Display for MinorUnitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoMinorUnit(c) => write!(f, "{} has no minor unit in ISO 4217", c.code()),
            Self::LosesFraction { amount, currency } => write!(
                f,
                "{amount} {} has more than {} fractional digits; converting it would lose a fraction of a minor unit",
                currency.code(),
                currency.exponent().unwrap_or(0)
            ),
            Self::Overflow(amount) => write!(f, "{amount} is too large to count in minor units"),
        }
    }
}

impl std::error::Error for MinorUnitError {}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = UnknownCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = Cow::<'de, str>::deserialize(deserializer)?;
        Self::from_code(&code).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Currency {
    fn schema_name() -> Cow<'static, str> {
        "Currency".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "ISO 4217 alphabetic currency code",
            "examples": ["EUR", "USD", "JPY"]
        })
    }
}

/// An amount in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn exponents_come_from_the_iso_table() {
        let exp = |c: &str| Currency::from_code(c).map(|c| c.exponent());
        assert_eq!(exp("EUR"), Ok(Some(2)));
        assert_eq!(exp("JPY"), Ok(Some(0)));
        assert_eq!(exp("BHD"), Ok(Some(3)));
        assert_eq!(exp("KWD"), Ok(Some(3)));
        assert!(Currency::from_code("EUX").is_err());
    }

    #[test]
    fn numeric_codes_round_trip() {
        assert_eq!(Currency::EUR.numeric(), 978);
        assert_eq!(Currency::from_numeric(840), Ok(Currency::USD));
        assert!(
            Currency::from_numeric(999).is_ok(),
            "XXX is a valid code without minor unit"
        );
        assert!(Currency::from_numeric(1).is_err());
    }

    #[test]
    fn minor_units_are_exact_or_refused() {
        assert_eq!(Currency::EUR.to_minor_units(dec!(60.00)), Ok(6000));
        assert_eq!(Currency::EUR.to_minor_units(dec!(-2.5)), Ok(-250));
        let jpy = Currency::from_code("JPY").expect("JPY");
        assert_eq!(jpy.to_minor_units(dec!(1500)), Ok(1500));
        assert!(matches!(
            jpy.to_minor_units(dec!(1500.5)),
            Err(MinorUnitError::LosesFraction { .. })
        ));
        let bhd = Currency::from_code("BHD").expect("BHD");
        assert_eq!(bhd.to_minor_units(dec!(1.234)), Ok(1234));
        assert_eq!(Currency::EUR.to_minor_units_rounded(dec!(0.125)), Ok(13));
        assert_eq!(Currency::EUR.to_minor_units_rounded(dec!(-0.125)), Ok(-13));
        assert_eq!(bhd.from_minor_units(1234), Ok(dec!(1.234)));
    }

    #[test]
    fn currency_serialises_as_its_code() {
        let json = serde_json::to_string(&Currency::EUR).expect("serialise");
        assert_eq!(json, "\"EUR\"");
        let back: Currency = serde_json::from_str("\"eur\"").expect("lower case accepted");
        assert_eq!(back, Currency::EUR);
        assert!(serde_json::from_str::<Currency>("\"EURO\"").is_err());
        assert_eq!(Currency::from_code(" uSd "), Ok(Currency::USD));
        for bad in ["", "EU", "€", "EU€", "ÉUR", "E R", "EURO"] {
            assert_eq!(
                Currency::from_code(bad),
                Err(UnknownCurrency(bad.to_owned())),
                "{bad:?}"
            );
        }
    }
}
