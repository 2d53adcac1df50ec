//! The punchout login (OCI call-up): a query string or form body ↔ [`PunchoutSession`].
//!
//! Parameter names are matched case-insensitively, since callers vary them (`HOOK_URL`,
//! `hook_url`, `Hook_Url`). The password is never quoted in a diagnostic.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use tradewire_sdk::check::parse_decimal;
use tradewire_sdk::core::{Decimal, PunchoutFunction, PunchoutSession, Secret};
use tradewire_sdk::{Diagnostics, Outcome, form};

use crate::config::Settings;
use crate::fields::own_code;
use crate::url::check_hook_url;

/// The parameters the session has a place for, as they are written on encoding.
mod name {
    pub const USERNAME: &str = "username";
    pub const PASSWORD: &str = "password";
    pub const HOOK_URL: &str = "hook_url";
    pub const RETURNTARGET: &str = "returntarget";
    pub const CHARSET: &str = "http_content_charset";
    pub const LANGUAGE: &str = "language";
    pub const OCI_VERSION: &str = "OCI_VERSION";
    pub const OPI_VERSION: &str = "OPI_VERSION";
    pub const OK_CODE: &str = "~OkCode";
    pub const TARGET: &str = "~TARGET";
    pub const CALLER: &str = "~CALLER";
    pub const FUNCTION: &str = "FUNCTION";
    pub const PRODUCTID: &str = "PRODUCTID";
    pub const QUANTITY: &str = "QUANTITY";
    pub const SEARCHSTRING: &str = "SEARCHSTRING";
    pub const VENDOR: &str = "VENDOR";

    pub const ALL: [&str; 16] = [
        USERNAME,
        PASSWORD,
        HOOK_URL,
        RETURNTARGET,
        CHARSET,
        LANGUAGE,
        OCI_VERSION,
        OPI_VERSION,
        OK_CODE,
        TARGET,
        CALLER,
        FUNCTION,
        PRODUCTID,
        QUANTITY,
        SEARCHSTRING,
        VENDOR,
    ];
}

/// The call-up's parameters, looked up case-insensitively, borrowed from the form.
struct Parameters<'a> {
    /// Known parameters, in the order of `name::ALL`: (name as received, value) of the
    /// first copy sent.
    known: [Option<(&'a str, &'a str)>; name::ALL.len()],
    /// Everything else, by name as received, first occurrence kept.
    others: BTreeMap<&'a str, &'a str>,
}

impl<'a> Parameters<'a> {
    fn read(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, d: &mut Diagnostics) -> Self {
        let mut known = [None; name::ALL.len()];
        let mut others = BTreeMap::new();
        for (received_name, value) in pairs {
            match name::ALL
                .iter()
                .position(|known| known.eq_ignore_ascii_case(received_name))
            {
                Some(slot) => match known[slot] {
                    // Two different hook URLs (or passwords) are an attack or a broken
                    // caller: which one is meant cannot be told, so neither is taken.
                    Some((earlier_name, earlier)) => {
                        if earlier != value {
                            d.error(
                                received_name,
                                "oci.duplicate_parameter",
                                format!("the parameter is sent twice with different values (also as `{earlier_name}`)"),
                            );
                        }
                    }
                    None => known[slot] = Some((received_name, value)),
                },
                None => match others.entry(received_name) {
                    Entry::Occupied(_) => d.warning(
                        received_name,
                        "oci.duplicate_parameter",
                        "the parameter is sent twice; the first is kept",
                    ),
                    Entry::Vacant(slot) => {
                        slot.insert(value);
                    }
                },
            }
        }
        Self { known, others }
    }

    /// The known parameters sent: (canonical name, name as received, value).
    fn known(&self) -> impl Iterator<Item = (&'static str, &'a str, &'a str)> + '_ {
        name::ALL
            .iter()
            .zip(&self.known)
            .filter_map(|(&canonical, sent)| {
                sent.map(|(received, value)| (canonical, received, value))
            })
    }

    /// A parameter's (name as received, value), when sent and not blank.
    fn get(&self, canonical: &str) -> Option<(&'a str, &'a str)> {
        let slot = name::ALL.iter().position(|known| *known == canonical)?;
        self.known[slot].filter(|(_, value)| !value.trim().is_empty())
    }

    fn text(&self, canonical: &str) -> Option<String> {
        self.get(canonical).map(|(_, value)| value.to_owned())
    }
}

/// The parameters of a login: a query string, a URL or path with one (`/ocihome?…`,
/// `https://shop/login?…`), or a POST form body.
pub fn decode_login(settings: &Settings, input: &[u8]) -> Outcome<PunchoutSession> {
    let body = query_of(input);
    let form = form::decode_form(body, settings.charset)?;
    let mut d = Diagnostics::new();
    let parameters = Parameters::read(form.iter(), &mut d);

    let mut session = PunchoutSession::default();
    match parameters.get(name::HOOK_URL) {
        None => d.error(
            name::HOOK_URL,
            "oci.hook_url_missing",
            "hook_url is required: the cart goes back there",
        ),
        Some((received, url)) => match check_hook_url(received, url) {
            Ok(url) => session.hook_url = url.to_owned(),
            Err(diagnostic) => d.push(diagnostic),
        },
    }
    match parameters.text(name::USERNAME) {
        Some(username) => session.username = username,
        None if settings.config.credentials_required => d.error(
            name::USERNAME,
            "oci.username_missing",
            "the login needs a username",
        ),
        None => {}
    }
    match parameters.text(name::PASSWORD) {
        Some(password) => session.password = Secret::new(password),
        None if settings.config.credentials_required => d.error(
            name::PASSWORD,
            "oci.password_missing",
            "the login needs a password",
        ),
        None => {}
    }
    session.return_target = parameters.text(name::RETURNTARGET);
    if let Some((received, label)) = parameters.get(name::CHARSET) {
        if crate::config::resolve_charset(label).is_none() {
            d.push(crate::config::unknown_charset(received, label));
        }
        session.charset = Some(label.trim().to_owned());
    }
    session.language = parameters.text(name::LANGUAGE);
    session.oci_version = parameters.text(name::OCI_VERSION);
    session.opi_version = parameters.text(name::OPI_VERSION);
    session.ok_code = parameters.text(name::OK_CODE);
    session.target = parameters.text(name::TARGET);
    session.caller = parameters.text(name::CALLER);

    let (function, used) = read_function(&parameters, &mut d);
    session.function = function;
    for (canonical, received, value) in parameters.known() {
        let function_parameter = matches!(
            canonical,
            name::FUNCTION | name::PRODUCTID | name::QUANTITY | name::SEARCHSTRING | name::VENDOR
        );
        if function_parameter && !used.contains(&canonical) {
            session
                .extensions
                .insert(received.to_owned(), value.to_owned());
        }
    }
    for (received, value) in parameters.others {
        session
            .extensions
            .insert(received.to_owned(), value.to_owned());
    }
    d.finish(session)
}

/// The query of a URL or path (`/login?a=1#top` → `a=1`), or the input itself when it
/// is a form body. What comes before a `?` is a URL when it has no `=` or `&`, which a
/// form body's first field always has.
fn query_of(input: &[u8]) -> &[u8] {
    let input = input.trim_ascii();
    match input.iter().position(|&b| b == b'?') {
        Some(question) if !input[..question].iter().any(|&b| b == b'=' || b == b'&') => {
            let query = &input[question + 1..];
            let end = query.iter().position(|&b| b == b'#').unwrap_or(query.len());
            &query[..end]
        }
        _ => input,
    }
}

/// `FUNCTION` and its parameters, and which parameters it used (the rest are kept as
/// extensions). An unknown FUNCTION is kept as an extension with a warning: the catalog
/// then opens normally, which is what a buyer expects of a function it does not offer.
fn read_function(
    parameters: &Parameters<'_>,
    d: &mut Diagnostics,
) -> (Option<PunchoutFunction>, Vec<&'static str>) {
    let Some((function_name, function)) = parameters.get(name::FUNCTION) else {
        return (None, Vec::new());
    };
    let mut required = |canonical: &'static str| -> Option<String> {
        let found = parameters.text(canonical);
        if found.is_none() {
            d.error(
                canonical,
                "oci.parameter_missing",
                format!("FUNCTION={} needs {canonical}", function.trim()),
            );
        }
        found
    };
    let function_upper = function.trim().to_ascii_uppercase();
    let read = match function_upper.as_str() {
        "DETAIL" => required(name::PRODUCTID).map(|product_id| {
            (
                PunchoutFunction::Detail { product_id },
                vec![name::PRODUCTID],
            )
        }),
        "DETAILADD" => required(name::PRODUCTID).map(|product_id| {
            (
                PunchoutFunction::DetailAdd { product_id },
                vec![name::PRODUCTID],
            )
        }),
        "VALIDATE" => required(name::PRODUCTID).map(|product_id| {
            let quantity = read_quantity(parameters, d);
            (
                PunchoutFunction::Validate {
                    product_id,
                    quantity,
                },
                vec![name::PRODUCTID, name::QUANTITY],
            )
        }),
        "BACKGROUND_SEARCH" => required(name::SEARCHSTRING).map(|search_string| {
            (
                PunchoutFunction::BackgroundSearch { search_string },
                vec![name::SEARCHSTRING],
            )
        }),
        "SOURCING" => Some((
            PunchoutFunction::Sourcing {
                search_string: parameters.text(name::SEARCHSTRING),
                vendor: parameters.text(name::VENDOR),
            },
            vec![name::SEARCHSTRING, name::VENDOR],
        )),
        "QUANTITYCHECK" => Some((PunchoutFunction::QuantityCheck, Vec::new())),
        _ => {
            d.warning(
                function_name,
                "oci.unknown_function",
                format!(
                    "FUNCTION={} is not an OCI function (DETAIL, DETAILADD, VALIDATE, SOURCING, \
                     BACKGROUND_SEARCH, QUANTITYCHECK); it is kept as an extension",
                    crate::url::shorten(function.trim())
                ),
            );
            return (None, Vec::new());
        }
    };
    match read {
        Some((function, mut used)) => {
            used.push(name::FUNCTION);
            (Some(function), used)
        }
        None => (None, vec![name::FUNCTION]),
    }
}

/// VALIDATE's QUANTITY: a positive plain decimal.
fn read_quantity(parameters: &Parameters<'_>, d: &mut Diagnostics) -> Option<Decimal> {
    let Some((received, text)) = parameters.get(name::QUANTITY) else {
        d.warning(
            name::QUANTITY,
            "oci.parameter_missing",
            "FUNCTION=VALIDATE is normally sent with a QUANTITY",
        );
        return None;
    };
    match parse_decimal(received, text) {
        Ok(quantity) if quantity > Decimal::ZERO => Some(quantity.normalize()),
        Ok(quantity) => {
            d.error(
                received,
                "oci.quantity_not_positive",
                format!("the quantity must be greater than 0, got {quantity}"),
            );
            None
        }
        Err(diagnostic) => {
            d.push(own_code(diagnostic));
            None
        }
    }
}

/// The login a buyer's system would send for `session`: a query string (also a valid
/// form body) in the configured charset. Used to test catalogs and for round trips.
pub fn encode_login(settings: &Settings, session: &PunchoutSession) -> Outcome<Vec<u8>> {
    let mut d = Diagnostics::new();
    if let Err(diagnostic) = check_hook_url("/hook_url", &session.hook_url) {
        d.push(diagnostic);
    }
    let mut pairs: Vec<(&str, String)> = vec![
        (name::USERNAME, session.username.clone()),
        (name::PASSWORD, session.password.expose().to_owned()),
        (name::HOOK_URL, session.hook_url.clone()),
    ];
    let optional = [
        (name::RETURNTARGET, &session.return_target),
        (name::CHARSET, &session.charset),
        (name::LANGUAGE, &session.language),
        (name::OCI_VERSION, &session.oci_version),
        (name::OPI_VERSION, &session.opi_version),
        (name::OK_CODE, &session.ok_code),
        (name::TARGET, &session.target),
        (name::CALLER, &session.caller),
    ];
    for (parameter, value) in optional {
        if let Some(value) = value {
            pairs.push((parameter, value.clone()));
        }
    }
    match &session.function {
        None => {}
        Some(PunchoutFunction::Detail { product_id }) => {
            pairs.push((name::FUNCTION, "DETAIL".into()));
            pairs.push((name::PRODUCTID, product_id.clone()));
        }
        Some(PunchoutFunction::DetailAdd { product_id }) => {
            pairs.push((name::FUNCTION, "DETAILADD".into()));
            pairs.push((name::PRODUCTID, product_id.clone()));
        }
        Some(PunchoutFunction::Validate {
            product_id,
            quantity,
        }) => {
            pairs.push((name::FUNCTION, "VALIDATE".into()));
            pairs.push((name::PRODUCTID, product_id.clone()));
            if let Some(quantity) = quantity {
                pairs.push((name::QUANTITY, quantity.normalize().to_string()));
            }
        }
        Some(PunchoutFunction::BackgroundSearch { search_string }) => {
            pairs.push((name::FUNCTION, "BACKGROUND_SEARCH".into()));
            pairs.push((name::SEARCHSTRING, search_string.clone()));
        }
        Some(PunchoutFunction::Sourcing {
            search_string,
            vendor,
        }) => {
            pairs.push((name::FUNCTION, "SOURCING".into()));
            if let Some(search_string) = search_string {
                pairs.push((name::SEARCHSTRING, search_string.clone()));
            }
            if let Some(vendor) = vendor {
                pairs.push((name::VENDOR, vendor.clone()));
            }
        }
        Some(PunchoutFunction::QuantityCheck) => {
            pairs.push((name::FUNCTION, "QUANTITYCHECK".into()));
        }
    }
    for (key, value) in &session.extensions {
        if name::ALL
            .iter()
            .any(|known| known.eq_ignore_ascii_case(key))
            && pairs.iter().any(|(sent, _)| sent.eq_ignore_ascii_case(key))
        {
            d.error(
                format!("/extensions/{}", tradewire_sdk::core::pointer_token(key)),
                "oci.extension_collides",
                format!("`{key}` is written from the session's own field"),
            );
            continue;
        }
        pairs.push((key.as_str(), value.clone()));
    }
    let body = form::encode_form(
        pairs.iter().map(|(name, value)| (*name, value.as_str())),
        settings.charset,
    );
    d.finish(body)
}
