//! Splitting a one-line street address into street, house number and extension.
//!
//! OIS (and the ERPs behind it, XPRT among them) keep `Street`, `HouseNo` and `HouseNoExt`
//! apart, while many shops (e-connecteur's `address1`) send one line. Two shapes are
//! recognised, tried in this order:
//!
//! - number last, as in Dutch and German addresses: `Keizersgracht 123 A`,
//!   `Hauptstraße 5-7`, `Rue de la Paix 12b`;
//! - number first, as in French and English ones: `12 rue de la Paix`, `12bis rue X`,
//!   `7 bis avenue Foch`.
//!
//! A house number is one to five digits; what follows it in the same word (`b`, `-7`,
//! `/2`, `bis`) or, when the number ends the line, one short word after it (`A`) is the
//! extension. Anything else (`route de troubadour`, `Postbus 123456`, `A7`) is not split:
//! guessing would put part of a street name in the house number field.

/// A street line taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitStreet {
    pub street: String,
    pub house_number: String,
    pub extension: Option<String>,
}

/// The longest house number recognised, in digits.
const MAX_NUMBER_DIGITS: usize = 5;
/// The longest extension recognised, in characters (`quater`).
const MAX_EXTENSION_CHARS: usize = 6;
/// Extensions written as their own word before the street (`7 bis avenue Foch`).
const LATIN_EXTENSIONS: [&str; 3] = ["bis", "ter", "quater"];

/// Splits `line`, or `None` when it has no recognisable house number.
pub fn split_street(line: &str) -> Option<SplitStreet> {
    let words: Vec<&str> = line.split_whitespace().collect();
    split_number_last(&words).or_else(|| split_number_first(&words))
}

fn split_number_last(words: &[&str]) -> Option<SplitStreet> {
    let (&last, before) = words.split_last()?;
    // `… 123`, `… 12b`, `… 5-7`
    if let Some((number, extension)) = house_number_word(last)
        && is_street_name(before)
    {
        return Some(SplitStreet {
            street: before.join(" "),
            house_number: number,
            extension,
        });
    }
    // `… 123 A`: the number is the word before a short extension word.
    let (&number_word, street) = before.split_last()?;
    let (number, attached) = house_number_word(number_word)?;
    if attached.is_some() || !is_extension(last) || !is_street_name(street) {
        return None;
    }
    Some(SplitStreet {
        street: street.join(" "),
        house_number: number,
        extension: Some(last.to_owned()),
    })
}

fn split_number_first(words: &[&str]) -> Option<SplitStreet> {
    let (&first, rest) = words.split_first()?;
    let (number, mut extension) = house_number_word(first.trim_end_matches(','))?;
    let mut street = rest;
    if extension.is_none()
        && let Some((&word, after)) = rest.split_first()
        && LATIN_EXTENSIONS
            .iter()
            .any(|e| e.eq_ignore_ascii_case(word.trim_end_matches(',')))
    {
        extension = Some(word.trim_end_matches(',').to_owned());
        street = after;
    }
    if !is_street_name(street) {
        return None;
    }
    Some(SplitStreet {
        street: street.join(" "),
        house_number: number,
        extension,
    })
}

/// `123` → (`123`, none); `12b` → (`12`, `b`); `5-7` → (`5`, `-7`). `None` when the word
/// does not start with a house number or what follows it is no extension.
fn house_number_word(word: &str) -> Option<(String, Option<String>)> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > MAX_NUMBER_DIGITS {
        return None;
    }
    let (number, rest) = word.split_at(digits);
    if rest.is_empty() {
        return Some((number.to_owned(), None));
    }
    is_extension(rest).then(|| (number.to_owned(), Some(rest.to_owned())))
}

/// A short run of letters and digits, optionally after one `-` or `/` (`A`, `bis`, `-7`, `/2`).
fn is_extension(text: &str) -> bool {
    let body = text.strip_prefix(['-', '/']).unwrap_or(text);
    !body.is_empty()
        && body.chars().count() <= MAX_EXTENSION_CHARS
        && body.chars().all(char::is_alphanumeric)
}

/// At least one word, with a letter somewhere: `12 34` is no street.
fn is_street_name(words: &[&str]) -> bool {
    words.iter().any(|w| w.chars().any(char::is_alphabetic))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Option<(String, String, Option<String>)> {
        split_street(line).map(|s| (s.street, s.house_number, s.extension))
    }

    fn parts(
        street: &str,
        number: &str,
        ext: Option<&str>,
    ) -> Option<(String, String, Option<String>)> {
        Some((street.into(), number.into(), ext.map(Into::into)))
    }

    #[test]
    fn number_last() {
        assert_eq!(
            split("Keizersgracht 123 A"),
            parts("Keizersgracht", "123", Some("A"))
        );
        assert_eq!(
            split("Keizersgracht 123"),
            parts("Keizersgracht", "123", None)
        );
        assert_eq!(
            split("Rue de la Paix 12b"),
            parts("Rue de la Paix", "12", Some("b"))
        );
        assert_eq!(
            split("Hauptstraße 5-7"),
            parts("Hauptstraße", "5", Some("-7"))
        );
        assert_eq!(
            split("Laan van Meerdervoort 1/2"),
            parts("Laan van Meerdervoort", "1", Some("/2"))
        );
        assert_eq!(
            split("  Dorpsstraat   9  "),
            parts("Dorpsstraat", "9", None)
        );
    }

    #[test]
    fn number_first() {
        assert_eq!(
            split("12 rue de la Paix"),
            parts("rue de la Paix", "12", None)
        );
        assert_eq!(split("12bis rue X"), parts("rue X", "12", Some("bis")));
        assert_eq!(
            split("7 bis avenue Foch"),
            parts("avenue Foch", "7", Some("bis"))
        );
        assert_eq!(
            split("221B Baker Street"),
            parts("Baker Street", "221", Some("B"))
        );
        assert_eq!(
            split("3, place du Marché"),
            parts("place du Marché", "3", None)
        );
    }

    #[test]
    fn what_cannot_be_split_is_left_alone() {
        for line in [
            "route de troubadour",
            "",
            "123",
            "12 34",
            "Postbus 123456",
            "Route A7",
            "Keizersgracht 123 Achterhuis-links",
            "Keizersgracht 12b C",
        ] {
            assert_eq!(split(line), None, "{line:?}");
        }
    }
}
