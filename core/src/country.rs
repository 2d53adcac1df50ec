//! ISO 3166-1 alpha-2 countries. Adapters map names ("France") and other forms at their
//! edge: [`Country::parse_lenient`] for codes and English names, [`CountryNames`] for
//! names in English, French, Dutch and German.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use isocountry::CountryCode;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

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

    /// An alpha-2 or alpha-3 code, in any case (`DE`, `deu`).
    fn from_code(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        match trimmed.len() {
            2 => Self::from_alpha2(trimmed).ok(),
            3 => CountryCode::for_alpha3_caseless(trimmed).ok().map(Self),
            _ => None,
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

/// A language [`CountryNames`] reads and writes country names in, by its ISO 639-1 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum NameLanguage {
    #[serde(rename = "en")]
    English,
    #[serde(rename = "fr")]
    French,
    #[serde(rename = "nl")]
    Dutch,
    #[serde(rename = "de")]
    German,
}

impl NameLanguage {
    pub const ALL: [Self; 4] = [Self::English, Self::French, Self::Dutch, Self::German];

    /// The ISO 639-1 code (`fr`).
    pub fn code(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::French => "fr",
            Self::Dutch => "nl",
            Self::German => "de",
        }
    }

    /// The language's place in [`Self::ALL`].
    fn index(self) -> usize {
        self as usize
    }
}

/// Country names in English, French, Dutch and German, to read a country from what a
/// sender writes (`Allemagne`, `Pays-Bas`, `Deutschland`, `Netherlands`, or a code) and
/// to write its name in one of those languages.
///
/// The names are the `keshvar` crate's: the translations of Unicode CLDR, each country's
/// ISO short name, and the other names it is often given (`Holland`, `UK`, `USA`).
/// Reading ignores case, accents and punctuation (`PAYS BAS`, `Etats-Unis`); a name that
/// two countries share is left out rather than guessed.
///
/// Building one reads the whole table (a few milliseconds): build it once, where an
/// adapter is configured, and look names up in it.
#[derive(Debug, Clone)]
pub struct CountryNames {
    /// Folded names (see [`fold`]) and the country each one names.
    by_name: HashMap<String, Country>,
    /// Each country's name in the order of [`NameLanguage::ALL`].
    names: HashMap<Country, [&'static str; 4]>,
}

impl Default for CountryNames {
    fn default() -> Self {
        Self::new()
    }
}

impl CountryNames {
    pub fn new() -> Self {
        // The names of each language and the ISO names come first; the other names a
        // country is given only fill in what those leave free.
        let mut own = HashMap::new();
        let mut others = Vec::new();
        let mut names = HashMap::new();
        for entry in keshvar::CountryIterator::new() {
            let Ok(country) = Country::from_alpha2(&entry.alpha2().to_string()) else {
                continue;
            };
            let translations = entry.translations();
            let in_language = NameLanguage::ALL.map(|language| {
                translations
                    .get(language.code())
                    .copied()
                    .unwrap_or_else(|| country.name())
            });
            names.insert(country, in_language);
            for name in in_language
                .into_iter()
                .chain([entry.iso_short_name(), country.name()])
            {
                name_once(&mut own, name, country);
            }
            others.extend(
                entry
                    .unofficial_name_list()
                    .iter()
                    .map(|name| (*name, country)),
            );
        }
        let mut by_others = HashMap::new();
        for (name, country) in others {
            if !own.contains_key(&fold(name)) {
                name_once(&mut by_others, name, country);
            }
        }
        let by_name = own
            .into_iter()
            .chain(by_others)
            .filter_map(|(name, country)| Some((name, country?)))
            .collect();
        Self { by_name, names }
    }

    /// The country `text` names: an alpha-2 or alpha-3 code in any case, else a name in
    /// any of the languages. `None` when it names none, or more than one.
    pub fn parse(&self, text: &str) -> Option<Country> {
        Country::from_code(text).or_else(|| self.by_name.get(&fold(text)).copied())
    }

    /// The country's name in `language` (`Allemagne`); its English ISO name when the
    /// table has none.
    pub fn name(&self, country: Country, language: NameLanguage) -> &'static str {
        self.names
            .get(&country)
            .map_or_else(|| country.name(), |names| names[language.index()])
    }
}

/// Records that `name` names `country`; a name already naming another country names
/// none (`None`) from then on.
fn name_once(by_name: &mut HashMap<String, Option<Country>>, name: &str, country: Country) {
    by_name
        .entry(fold(name))
        .and_modify(|named| {
            if *named != Some(country) {
                *named = None;
            }
        })
        .or_insert(Some(country));
}

/// A name as it is compared: lower case, without accents, and with any run of what is
/// not a letter or digit (spaces, hyphens, apostrophes, brackets) as one space.
fn fold(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    let mut gap = false;
    for c in name
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
    {
        if c.is_alphanumeric() {
            if gap && !folded.is_empty() {
                folded.push(' ');
            }
            gap = false;
            folded.push(c);
        } else {
            gap = true;
        }
    }
    folded
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
    fn names_are_read_in_english_french_dutch_and_german() {
        let names = CountryNames::new();
        for (text, code) in [
            ("Belgique", "BE"),
            ("België", "BE"),
            ("Belgien", "BE"),
            ("Belgium", "BE"),
            ("Allemagne", "DE"),
            ("Deutschland", "DE"),
            ("Duitsland", "DE"),
            ("Germany", "DE"),
            ("Pays-Bas", "NL"),
            ("PAYS BAS", "NL"),
            ("Nederland", "NL"),
            ("Niederlande", "NL"),
            ("Netherlands", "NL"),
            ("The Netherlands", "NL"),
            ("NL", "NL"),
            ("nld", "NL"),
            ("Etats-Unis", "US"),
            ("ÉTATS-UNIS", "US"),
            ("Royaume-Uni", "GB"),
            ("UK", "GB"),
            ("Suisse", "CH"),
            ("Schweiz", "CH"),
            ("Zwitserland", "CH"),
            ("Côte d'Ivoire", "CI"),
            ("cote d ivoire", "CI"),
            ("Autriche", "AT"),
            ("Österreich", "AT"),
            ("  france ", "FR"),
        ] {
            assert_eq!(names.parse(text).map(Country::alpha2), Some(code), "{text}");
        }
        for unknown in ["Atlantis", "", "  ", "XX", "Pays", "Bas"] {
            assert_eq!(names.parse(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn every_code_and_english_name_lenient_parsing_reads_is_read_too() {
        let names = CountryNames::new();
        for code in CountryCode::as_array() {
            let country = Country(*code);
            for text in [code.alpha2(), code.alpha3(), code.name()] {
                assert_eq!(names.parse(text), Some(country), "{text}");
                assert_eq!(Country::parse_lenient(text), Ok(country), "{text}");
            }
        }
    }

    #[test]
    fn names_are_written_in_each_language() {
        let names = CountryNames::new();
        let germany = Country::from_alpha2("DE").unwrap_or_else(|e| panic!("{e}"));
        let written = NameLanguage::ALL.map(|language| names.name(germany, language));
        assert_eq!(
            written,
            ["Germany", "Allemagne", "Duitsland", "Deutschland"]
        );
        // What is written is read back.
        for code in CountryCode::as_array() {
            let country = Country(*code);
            for language in NameLanguage::ALL {
                let name = names.name(country, language);
                assert_eq!(names.parse(name), Some(country), "{name} ({language:?})");
            }
        }
    }

    #[test]
    fn languages_are_named_by_their_codes() {
        for language in NameLanguage::ALL {
            let json = serde_json::to_string(&language).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", language.code()));
        }
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
