//! What every e-connecteur document shares: reading fields out of the element tree,
//! the protocol's number, boolean and date formats, and checked XML output.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use tradewire_sdk::check;
use tradewire_sdk::core::{Country, CountryNames, Decimal, Diagnostic, Diagnostics, pointer_token};

use crate::CountryForm;
use tradewire_sdk::xml::{self, Element, XmlLimits, XmlWriter};

/// The variables of the call envelope, which may also appear inside the XML `data`.
/// They are the request's business, never a document's field: a product push carries
/// `<key>` inside its XML, and that key must not end up in the product's extensions.
pub(crate) const ENVELOPE: [&str; 3] = ["key", "resource", "url"];

/// Nesting deeper than any e-connecteur document needs (a product's `gammes` are 4 levels
/// below the root); a bomb of nested elements is refused at this depth.
const MAX_DEPTH: usize = 16;

/// Parses an XML document of at most `max_bytes` bytes.
pub(crate) fn parse_xml(bytes: &[u8], max_bytes: usize) -> Result<Element<'_>, Diagnostics> {
    let limits = XmlLimits {
        max_depth: MAX_DEPTH,
        max_bytes,
        ..XmlLimits::default()
    };
    xml::parse(bytes, &limits)
}

/// The element's trimmed text, `None` when empty: e-connecteur sends `<ecotax/>` for
/// "no value" as often as it leaves the element out.
pub(crate) fn text(element: &Element<'_>) -> Option<String> {
    trimmed(element).map(str::to_owned)
}

/// [`text`] without the copy, for values that are parsed rather than kept.
pub(crate) fn trimmed<'e>(element: &'e Element<'_>) -> Option<&'e str> {
    let text = element.text_trimmed();
    (!text.is_empty()).then_some(text)
}

/// The path of a child element in diagnostics, `parent/name`, written out only when a
/// diagnostic names it: most elements never are, and formatting a path for every
/// element was a tenth of a decode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At<'a> {
    parent: &'a str,
    name: &'a str,
}

impl<'a> At<'a> {
    pub(crate) fn new(parent: &'a str, name: &'a str) -> Self {
        Self { parent, name }
    }

    /// Whether `path` is this one, written out.
    pub(crate) fn is(&self, path: &str) -> bool {
        path.strip_prefix(self.parent)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|rest| rest == self.name)
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.parent, self.name)
    }
}

impl From<At<'_>> for String {
    fn from(at: At<'_>) -> String {
        at.to_string()
    }
}

/// A plain decimal (`.` separator, no thousands separator: the spec's format).
pub(crate) fn decimal(
    d: &mut Diagnostics,
    path: impl Into<String>,
    element: &Element<'_>,
) -> Option<Decimal> {
    let value = trimmed(element)?;
    match check::parse_decimal("", value) {
        Ok(number) => Some(number),
        Err(mut diagnostic) => {
            diagnostic.path = path.into();
            d.push(diagnostic);
            None
        }
    }
}

/// `1`/`0` as the spec writes booleans; `true`/`false` too.
pub(crate) fn boolean(
    d: &mut Diagnostics,
    path: impl Into<String>,
    element: &Element<'_>,
) -> Option<bool> {
    let value = trimmed(element)?;
    match parse_bool(value) {
        Some(flag) => Some(flag),
        None => {
            d.error(
                path,
                "econnecteur.bad_boolean",
                format!("{} is not a boolean (1 or 0)", quote(value)),
            );
            None
        }
    }
}

pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    let value = value.trim();
    let is = |word: &str| value.eq_ignore_ascii_case(word);
    if ["1", "true", "yes", "oui"].into_iter().any(is) {
        Some(true)
    } else if ["0", "false", "no", "non"].into_iter().any(is) {
        Some(false)
    } else {
        None
    }
}

pub(crate) fn format_bool(flag: bool) -> &'static str {
    if flag { "1" } else { "0" }
}

/// A date as e-connecteur and the shops write it: `yyyy-mm-dd` with any one-character
/// separator (the spec: "le séparateur est quelconque"), or day first, `dd/mm/yyyy` (the
/// vendor's XSD) and `dd-mm-yyyy` (`customers_list`). A date that does not exist
/// (`2019-02-30`) is refused, never moved.
pub(crate) fn parse_date(
    path: impl Into<String> + Copy,
    value: &str,
) -> Result<NaiveDate, Diagnostic> {
    let bad = |why: &str| {
        Diagnostic::error(
            path,
            "econnecteur.bad_date",
            format!("{} is not a date: {why}", quote(value)),
        )
    };
    let groups: Vec<&str> = value.trim().split(|c: char| !c.is_ascii_digit()).collect();
    let [first, second, third] = groups.as_slice() else {
        return Err(bad("expected yyyy-mm-dd or dd/mm/yyyy"));
    };
    let separators_are_single = value.trim().chars().filter(|c| !c.is_ascii_digit()).count() == 2;
    let (year, month, day) = match (first.len(), third.len()) {
        (4, 1..=2) if second.len() <= 2 => (*first, *second, *third),
        (1..=2, 4) if second.len() <= 2 => (*third, *second, *first),
        _ => return Err(bad("expected yyyy-mm-dd or dd/mm/yyyy")),
    };
    if !separators_are_single || month.is_empty() {
        return Err(bad("expected yyyy-mm-dd or dd/mm/yyyy"));
    }
    let number = |digits: &str| digits.parse::<u32>().ok();
    let (Some(year), Some(month), Some(day)) = (number(year), number(month), number(day)) else {
        return Err(bad("expected yyyy-mm-dd or dd/mm/yyyy"));
    };
    i32::try_from(year)
        .ok()
        .and_then(|year| NaiveDate::from_ymd_opt(year, month, day))
        .ok_or_else(|| bad("this day does not exist"))
}

/// A date with an optional time: `2013-03-22 10:09:22` (the spec), `2013-03-22T10:09`,
/// or a date alone (midnight), in any of the forms [`parse_date`] reads.
pub(crate) fn parse_date_time(
    path: impl Into<String> + Copy,
    value: &str,
) -> Result<NaiveDateTime, Diagnostic> {
    let trimmed = value.trim();
    let (date, time) = match trimmed.split_once([' ', 'T']) {
        Some((date, time)) => (date, Some(time.trim())),
        None => (trimmed, None),
    };
    let date = parse_date(path, date)?;
    let time = match time {
        None | Some("") => NaiveTime::MIN,
        Some(time) => NaiveTime::parse_from_str(time, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"))
            .map_err(|_| {
                Diagnostic::error(
                    path,
                    "econnecteur.bad_date",
                    format!(
                        "{} has no valid time of day (hh:mm:ss, 00-23 hours)",
                        quote(value)
                    ),
                )
            })?,
    };
    Ok(date.and_time(time))
}

/// The zone e-connecteur's date-times are local to: an IANA zone (`time_zone`), or a
/// fixed offset (the older `utc_offset`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum LocalZone {
    Named(Tz),
    Fixed(FixedOffset),
}

impl Default for LocalZone {
    /// Europe/Paris: e-connecteur serves French ERPs and shops.
    fn default() -> Self {
        Self::Named(chrono_tz::Europe::Paris)
    }
}

impl LocalZone {
    /// The moment `local` is in this zone. A local time that happens twice (clocks going
    /// back) is the earlier, with a warning; one that does not exist (clocks going
    /// forward) is an error. `path` is called only for a diagnostic.
    pub(crate) fn moment(
        self,
        local: NaiveDateTime,
        path: impl Fn() -> String,
        d: &mut Diagnostics,
    ) -> Option<DateTime<FixedOffset>> {
        let found = match self {
            Self::Named(zone) => zone
                .from_local_datetime(&local)
                .map(|moment| moment.fixed_offset()),
            Self::Fixed(offset) => offset.from_local_datetime(&local),
        };
        match found {
            LocalResult::Single(moment) => Some(moment),
            LocalResult::Ambiguous(earlier, _) => {
                d.warning(
                    path(),
                    "econnecteur.ambiguous_date",
                    format!(
                        "{local} happens twice in {self} (clocks go back); read as the earlier, {}",
                        earlier.to_rfc3339()
                    ),
                );
                Some(earlier)
            }
            LocalResult::None => {
                d.error(
                    path(),
                    "econnecteur.no_such_date",
                    format!("{local} does not exist in {self} (clocks go forward)"),
                );
                None
            }
        }
    }

    /// `moment` as the zone's local date and time, to write.
    pub(crate) fn local(self, moment: DateTime<FixedOffset>) -> NaiveDateTime {
        match self {
            Self::Named(zone) => moment.with_timezone(&zone).naive_local(),
            Self::Fixed(offset) => moment.with_timezone(&offset).naive_local(),
        }
    }
}

impl fmt::Display for LocalZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Named(zone) => write!(f, "{zone}"),
            Self::Fixed(offset) => write!(f, "UTC{offset}"),
        }
    }
}

/// How `pays` is read and written: country names in four languages, and the form the
/// config asks for.
#[derive(Debug, Clone)]
pub(crate) struct Countries {
    /// Built the first time a name is read or written (building it reads the whole
    /// table, and most documents carry codes), and shared by the copies of one config.
    names: Arc<OnceLock<CountryNames>>,
    form: Option<CountryForm>,
}

impl Countries {
    pub(crate) fn new(form: Option<CountryForm>) -> Self {
        Self {
            names: Arc::default(),
            form,
        }
    }

    fn names(&self) -> &CountryNames {
        self.names.get_or_init(CountryNames::new)
    }

    /// The country `text` names: an ISO code, or a name in English, French, Dutch or
    /// German.
    pub(crate) fn read(&self, text: &str) -> Option<Country> {
        Country::parse_lenient(text)
            .ok()
            .or_else(|| self.names().parse(text))
    }

    /// `country` in the configured form, else in `spec_form`, the one the spec writes
    /// where it goes.
    pub(crate) fn write(&self, country: Country, spec_form: CountryForm) -> &'static str {
        match self.form.unwrap_or(spec_form).language() {
            None => country.alpha2(),
            Some(language) => self.names().name(country, language),
        }
    }
}

/// The form every date-time is written in: `2013-03-22 10:09:22`.
pub(crate) const DATE_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The start of a value for a message: enough to find it, not enough to flood a log.
pub(crate) fn quote(value: &str) -> String {
    const SHOWN: usize = 40;
    match value.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}…", &value[..cut]),
        None => format!("{value:?}"),
    }
}

/// A child element that is not a field of the document: its text is kept in
/// `extensions` under `key`; an element with children of its own has no single value
/// and is reported instead of being flattened into nonsense.
pub(crate) fn keep_unknown(
    d: &mut Diagnostics,
    path: impl Into<String>,
    key: String,
    element: &Element<'_>,
    extensions: &mut BTreeMap<String, String>,
) {
    if element.children.is_empty() {
        if let Some(value) = text(element) {
            extensions.insert(key, value);
        }
    } else {
        d.warning(
            path,
            "econnecteur.unknown_structure",
            format!(
                "<{}> is not a field this adapter knows and has child elements; it is ignored",
                element.name
            ),
        );
    }
}

/// XML output that collects diagnostics instead of stopping at the first, each at the
/// JSON Pointer of the canonical field that caused it.
///
/// A failed write leaves the output unchanged; an element that could not be opened is
/// skipped with everything written inside it, so the structure stays balanced and
/// every further problem is still reported.
pub(crate) struct Out {
    writer: XmlWriter,
    pub(crate) d: Diagnostics,
    /// Open elements that failed to open (everything inside them is skipped).
    skipped: usize,
}

impl Out {
    /// A document with the XML declaration, one element per line.
    pub(crate) fn document() -> Self {
        let mut writer = XmlWriter::pretty();
        // Cannot fail: nothing has been written yet.
        let _ = writer.declaration();
        Self {
            writer,
            d: Diagnostics::new(),
            skipped: 0,
        }
    }

    fn record(&mut self, pointer: &str, failure: Diagnostic) {
        self.d.error(pointer, failure.code, failure.message);
    }

    pub(crate) fn start(&mut self, name: &str, pointer: &str) {
        self.start_with(name, &[], pointer);
    }

    pub(crate) fn start_with(&mut self, name: &str, attributes: &[(&str, &str)], pointer: &str) {
        if self.skipped > 0 {
            self.skipped += 1;
            return;
        }
        if let Err(failure) = self.writer.start_with(name, attributes) {
            self.record(pointer, failure);
            self.skipped = 1;
        }
    }

    pub(crate) fn end(&mut self) {
        if self.skipped > 0 {
            self.skipped -= 1;
        } else {
            // Cannot fail: every successful start is matched by exactly one end.
            let _ = self.writer.end();
        }
    }

    /// `<name>value</name>`, or `<name/>` for an empty value.
    pub(crate) fn leaf(&mut self, name: &str, value: &str, pointer: &str) {
        if self.skipped > 0 {
            return;
        }
        let result = if value.is_empty() {
            self.writer.empty(name).map(|_| ())
        } else {
            self.writer.leaf(name, value).map(|_| ())
        };
        if let Err(failure) = result {
            self.record(pointer, failure);
        }
    }

    /// A leaf only when there is a value.
    pub(crate) fn optional(&mut self, name: &str, value: Option<&str>, pointer: &str) {
        if let Some(value) = value {
            self.leaf(name, value, pointer);
        }
    }

    /// The document, or every problem found while writing it.
    pub(crate) fn finish(
        self,
        mut warnings: Diagnostics,
    ) -> Result<(Vec<u8>, Diagnostics), Diagnostics> {
        warnings.extend(self.d);
        if warnings.has_errors() {
            Err(warnings)
        } else {
            Ok((self.writer.into_bytes(), warnings))
        }
    }
}

/// The JSON Pointer of a field under `prefix`.
pub(crate) fn pointer(prefix: &str, field: &str) -> String {
    format!("{prefix}/{}", pointer_token(field))
}

/// `value` as the protocol writes numbers: plain decimal text with `.`, as held (the
/// scale a sender used, `75.9000`, is kept so a document comes back as it came).
pub(crate) fn number(value: Decimal) -> String {
    value.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_form_the_protocol_uses() {
        let day = NaiveDate::from_ymd_opt(2017, 4, 2).unwrap();
        for text in [
            "2017-04-02",
            "2017/04/02",
            "2017.4.2",
            "02/04/2017",
            "02-04-2017",
            " 2017-04-02 ",
        ] {
            assert_eq!(parse_date("d", text), Ok(day), "{text}");
        }
        for text in ["2017-02-30", "31/04/2017", "2017-13-01", "00/01/2017"] {
            let error = parse_date("d", text).unwrap_err();
            assert_eq!(error.code, "econnecteur.bad_date", "{text}");
            assert!(
                error.message.contains("does not exist"),
                "{text}: {}",
                error.message
            );
        }
        for text in [
            "",
            "2017-04",
            "17-04-02",
            "2017--04-02",
            "abc",
            "2017-04-02-01",
            "20170402",
        ] {
            assert_eq!(
                parse_date("d", text).unwrap_err().code,
                "econnecteur.bad_date",
                "{text:?}"
            );
        }
    }

    #[test]
    fn date_times_read_the_spec_form_and_dates_alone() {
        let at = |h, m, s| {
            NaiveDate::from_ymd_opt(2013, 3, 22)
                .unwrap()
                .and_hms_opt(h, m, s)
                .unwrap()
        };
        assert_eq!(
            parse_date_time("d", "2013-03-22 10:09:22"),
            Ok(at(10, 9, 22))
        );
        assert_eq!(parse_date_time("d", "2013-03-22T10:09"), Ok(at(10, 9, 0)));
        assert_eq!(parse_date_time("d", "22/03/2013"), Ok(at(0, 0, 0)));
        assert_eq!(
            parse_date_time("d", "2013-03-22 25:00:00")
                .unwrap_err()
                .code,
            "econnecteur.bad_date"
        );
        assert_eq!(
            at(10, 9, 22).format(DATE_TIME_FORMAT).to_string(),
            "2013-03-22 10:09:22"
        );
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool("1"), Some(true));
        assert_eq!(parse_bool(" false "), Some(false));
        assert_eq!(parse_bool("2"), None);
    }

    #[test]
    fn a_failed_element_skips_its_content_and_keeps_the_structure() {
        let mut out = Out::document();
        out.start("connecteur", "");
        out.start("1bad", "/variants/0/sku");
        out.leaf("inside", "x", "/x");
        out.end();
        out.leaf("after", "y", "/y");
        out.end();
        let errors = out.finish(Diagnostics::new()).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors.as_slice()[0].path, "/variants/0/sku");
        assert_eq!(errors.as_slice()[0].code, "xml.invalid_name");
    }
}
