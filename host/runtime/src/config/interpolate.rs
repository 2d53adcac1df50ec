//! `${VAR}` in pipeline strings: `${VAR}` (must be set), `${VAR:-default}` (the default when
//! unset or empty), `${VAR:?message}` (refused with the message when unset or empty), `$$`
//! (a literal `$`). Interpolation happens on parsed string values, never on the file's text,
//! so a variable cannot add keys or tables; a value with a newline is refused for the same
//! reason (a header or a URL would be split by it).

/// Where a problem in one string lies, as a byte range within that string, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationError {
    pub at: std::ops::Range<usize>,
    pub code: &'static str,
    pub message: String,
}

/// A variable's value, for keeping it out of diagnostics afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substituted {
    pub name: String,
    pub value: String,
}

/// Expands `text` with `lookup`. Returns the expanded text and the variables used, or every
/// problem found in it.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Vec<Substituted>), Vec<InterpolationError>> {
    let mut out = String::with_capacity(text.len());
    let mut used = Vec::new();
    let mut errors = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let start = offset + dollar;
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            offset = start + 2;
            rest = tail;
            continue;
        }
        let Some(body) = after.strip_prefix('{') else {
            // A lone `$` (a price, a regex) stays as it is.
            out.push('$');
            offset = start + 1;
            rest = after;
            continue;
        };
        let Some(close) = body.find('}') else {
            errors.push(InterpolationError {
                at: start..offset + rest.len(),
                code: "config.bad_variable",
                message: "`${` without its closing `}` (write `$$` for a literal `$`)".into(),
            });
            rest = "";
            break;
        };
        let expression = &body[..close];
        let at = start..start + 2 + close + 1;
        match expand(expression, lookup) {
            Ok((name, value)) => {
                if value.contains(['\n', '\r']) {
                    errors.push(InterpolationError {
                        at: at.clone(),
                        code: "config.variable_newline",
                        message: format!(
                            "the value of `{name}` has a line break, which no pipeline value may \
                             hold"
                        ),
                    });
                }
                out.push_str(&value);
                used.push(Substituted { name, value });
            }
            Err((code, message)) => errors.push(InterpolationError { at, code, message }),
        }
        offset = start + 2 + close + 1;
        rest = &body[close + 1..];
    }
    out.push_str(rest);
    if errors.is_empty() {
        Ok((out, used))
    } else {
        Err(errors)
    }
}

/// One `${...}`: its variable's name and the text it stands for.
fn expand(
    expression: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, String), (&'static str, String)> {
    let (name, operator, argument) = match expression.find(':') {
        Some(colon) => {
            let (name, tail) = expression.split_at(colon);
            match (tail.get(1..2), tail.get(2..)) {
                (Some(op @ ("-" | "?")), Some(argument)) => (name, Some(op), argument),
                _ => {
                    return Err((
                        "config.bad_variable",
                        format!(
                            "`${{{expression}}}`: after `{name}:` comes `-default` or `?message`"
                        ),
                    ));
                }
            }
        }
        None => (expression, None, ""),
    };
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err((
            "config.bad_variable",
            format!(
                "`${{{expression}}}`: a variable name is letters, digits and `_`, not starting \
                 with a digit"
            ),
        ));
    }
    let value = lookup(name).filter(|v| operator.is_none() || !v.is_empty());
    match (value, operator) {
        (Some(value), _) => Ok((name.to_owned(), value)),
        (None, Some("-")) => Ok((name.to_owned(), argument.to_owned())),
        (None, Some(_)) => Err((
            "config.variable_unset",
            format!("`{name}` is unset or empty: {argument}"),
        )),
        (None, None) => Err((
            "config.variable_unset",
            format!(
                "environment variable `{name}` is not set (write `${{{name}:-default}}` for a \
                 default)"
            ),
        )),
    }
}

/// `message` with every substituted value of four characters or more replaced by the
/// variable's reference, so that a secret quoted back by a parser never reaches a
/// diagnostic or a log.
pub fn redact(message: &str, substituted: &[Substituted]) -> String {
    let mut message = message.to_owned();
    for s in substituted {
        if s.value.chars().count() >= 4 {
            message = message.replace(&s.value, &format!("${{{}}}", s.name));
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("ois.example".into()),
            "EMPTY" => Some(String::new()),
            "MULTI" => Some("a\nb".into()),
            _ => None,
        }
    }

    fn expand_ok(text: &str) -> String {
        interpolate(text, &env)
            .map(|(s, _)| s)
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn first_error(text: &str) -> InterpolationError {
        match interpolate(text, &env) {
            Ok(ok) => panic!("expanded to {ok:?}"),
            Err(mut errors) => errors.remove(0),
        }
    }

    #[test]
    fn expands_the_four_forms() {
        assert_eq!(expand_ok("https://${HOST}/v1"), "https://ois.example/v1");
        assert_eq!(expand_ok("${PORT:-8080}"), "8080");
        assert_eq!(expand_ok("${EMPTY:-fallback}"), "fallback");
        assert_eq!(expand_ok("${HOST:?needed}"), "ois.example");
        assert_eq!(expand_ok("costs $$5 or $5"), "costs $5 or $5");
        assert_eq!(expand_ok("no variables"), "no variables");
        assert_eq!(expand_ok("${EMPTY}"), "");
    }

    #[test]
    fn refuses_unset_malformed_and_multiline_values_with_their_place() {
        let e = first_error("x ${MISSING} y");
        assert_eq!((e.code, e.at), ("config.variable_unset", 2..12));
        assert!(e.message.contains("MISSING"), "{}", e.message);
        let e = first_error("${EMPTY:?give the OIS token}");
        assert!(e.message.ends_with("give the OIS token"), "{}", e.message);
        assert_eq!(first_error("${1X}").code, "config.bad_variable");
        assert_eq!(first_error("${A:x}").code, "config.bad_variable");
        assert_eq!(first_error("${HOST").code, "config.bad_variable");
        assert_eq!(first_error("${MULTI}").code, "config.variable_newline");
        let all = interpolate("${A} ${B}", &env).err().map(|e| e.len());
        assert_eq!(
            all,
            Some(2),
            "every problem is reported, not just the first"
        );
    }

    #[test]
    fn redacts_values_not_names() {
        let used = [Substituted {
            name: "OIS_SECRET".into(),
            value: "s3cr3t-value".into(),
        }];
        assert_eq!(
            redact("invalid value: \"s3cr3t-value\"", &used),
            "invalid value: \"${OIS_SECRET}\""
        );
    }
}
