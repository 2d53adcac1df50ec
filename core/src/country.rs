//! ISO 3166-1 alpha-2 countries. Adapters map names ("France") and other forms at their edge.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use isocountry::CountryCode;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A country, always held as its ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country(CountryCode);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCountry(pub String);

impl fmt::Display for UnknownCountry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an ISO 3166-1 country code", self.0)
    }
}

impl std::error::Error for UnknownCountry {}

impl Country {
    /// Accepts an alpha-2 code in any case (`FR`, `fr`).
    pub fn from_alpha2(code: &str) -> Result<Self, UnknownCountry> {
        let trimmed = code.trim();
        // Upper-case ASCII on the stack: this runs for every address a document carries.
        if let &[a, b] = trimmed.as_bytes()
            && a.is_ascii()
            && b.is_ascii()
        {
            let upper = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
            return std::str::from_utf8(&upper)
                .ok()
                .and_then(|upper| CountryCode::for_alpha2(upper).ok())
                .map(Self)
                .ok_or_else(|| UnknownCountry(code.to_owned()));
        }
        CountryCode::for_alpha2_caseless(trimmed)
            .map(Self)
            .map_err(|_| UnknownCountry(code.to_owned()))
    }

    /// Accepts an alpha-2 or alpha-3 code, or an English short name, case-insensitively
    /// (`FR`, `FRA`, `France`). This is the lenient parse adapters use at their edge.
    pub fn parse_lenient(text: &str) -> Result<Self, UnknownCountry> {
        let trimmed = text.trim();
        match trimmed.len() {
            2 => Self::from_alpha2(trimmed),
            3 => CountryCode::for_alpha3_caseless(trimmed)
                .map(Self)
                .map_err(|_| UnknownCountry(text.to_owned())),
            _ => CountryCode::as_array()
                .iter()
                .find(|c| c.name().eq_ignore_ascii_case(trimmed))
                .map(|c| Self(*c))
                .ok_or_else(|| UnknownCountry(text.to_owned())),
        }
    }

    pub fn alpha2(self) -> &'static str {
        self.0.alpha2()
    }

    pub fn alpha3(self) -> &'static str {
        self.0.alpha3()
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha2())
    }
}

impl FromStr for Country {
    type Err = UnknownCountry;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_alpha2(s)
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.alpha2())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = Cow::<'de, str>::deserialize(deserializer)?;
        Self::from_alpha2(&code).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Country {
    fn schema_name() -> Cow<'static, str> {
        "Country".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^[A-Z]{2}$",
            "description": "ISO 3166-1 alpha-2 country code",
            "examples": ["FR", "NL", "DE"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_parse_accepts_codes_and_names() {
        for text in ["FR", "fr", "FRA", "France", " france "] {
            assert_eq!(
                Country::parse_lenient(text).map(Country::alpha2),
                Ok("FR"),
                "{text}"
            );
        }
        assert!(Country::parse_lenient("Atlantis").is_err());
        assert!(Country::from_alpha2("XX").is_err());
    }

    #[test]
    fn alpha2_is_read_in_any_case_and_refused_whole() {
        for text in ["FR", "fr", "fR", " Fr "] {
            assert_eq!(Country::from_alpha2(text).map(Country::alpha2), Ok("FR"));
        }
        for bad in ["", "F", "FRA", "F\u{e9}", "\u{e9}", "1R"] {
            assert_eq!(
                Country::from_alpha2(bad),
                Err(UnknownCountry(bad.to_owned())),
                "{bad:?}"
            );
        }
    }
}
