//! `jq`: a jq program over the canonical document, for what `map` cannot say.
//!
//! ```toml
//! [transforms.no_vouchers]
//! type = "jq"
//! inputs = ["carts"]
//! program = '.lines |= map(select(.kind != "voucher"))'
//! ```
//!
//! The program runs with the `jaq` crates (jaq's dialect of jq, its standard library
//! included) and is compiled once, when the pipeline is built; a compiled program is
//! shared by every thread. The [`Program`] here is also what `route` runs its conditions
//! with.

use std::fmt;

use jaq_core::data::JustLut;
use jaq_core::load::{self, Arena, File, Loader};
use jaq_core::{Ctx, Exn, Vars, compile};
use jaq_json::{Num, Val};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use tradewire_core::{Diagnostic, Diagnostics, pointer_token};

use super::pointer::describe;
use super::{Routed, Transform};
use crate::{BuildContext, ConfigError};

/// Runs a jq program over each document. Each value the program outputs is a document on
/// the transform's output, in order: none drops the document (it is acknowledged and goes
/// nowhere), two or more split it. An error while running refuses the document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JqConfig {
    /// The jq program, in jaq's dialect, with jaq's standard library except `env` (the
    /// process environment holds secrets) and `input`/`inputs` (there is one input). Each
    /// output must be an object, such as `{"contract": "order/v1", ...}`; `halt` and
    /// `halt_error` refuse the document.
    pub program: String,
}

/// A built `jq` transform.
#[derive(Debug)]
pub struct Jq {
    program: Program,
}

impl JqConfig {
    /// Compiles the program; each compile error is reported under `program`.
    pub fn build(&self, _cx: &BuildContext<'_>) -> Result<Jq, Vec<ConfigError>> {
        Program::compile(&self.program)
            .map(|program| Jq { program })
            .map_err(|errors| {
                errors
                    .into_iter()
                    .map(|message| ConfigError::new(&["program"], message))
                    .collect()
            })
    }
}

impl Transform for Jq {
    fn apply(&self, document: Value) -> Result<Vec<Routed>, Diagnostics> {
        let refuse =
            |code: &str, message: String| Diagnostics::one(Diagnostic::error("", code, message));
        let mut out = Vec::new();
        for (n, result) in self.program.run(to_val(&document)).enumerate() {
            let output = result
                .map_err(|why| refuse("jq.error", format!("the jq program failed: {why}")))?;
            let document = to_json(&output).map_err(|why| {
                refuse(
                    "jq.not_json",
                    format!("output {} of the jq program {why}", n + 1),
                )
            })?;
            if !document.is_object() {
                return Err(refuse(
                    "jq.not_a_document",
                    format!(
                        "output {} of the jq program is {}, not a document (an object with its \
                         `contract`)",
                        n + 1,
                        describe(&document)
                    ),
                ));
            }
            out.push(Routed {
                output: None,
                document,
            });
        }
        Ok(out)
    }
}

/// The filters of jaq's standard library a pipeline does not get: `env` would hand the
/// process environment, secrets included, to whoever writes a program.
const WITHHELD: &[&str] = &["env"];

/// A compiled jq program. Running it shares nothing mutable: any number of threads may run
/// it at once.
pub(crate) struct Program {
    filter: jaq_core::Filter<JustLut<Val>>,
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program").finish_non_exhaustive()
    }
}

impl Program {
    /// Parses and compiles `code`, or says why not: one message per problem, each with
    /// its place in the program.
    pub(crate) fn compile(code: &str) -> Result<Self, Vec<String>> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs())
            .filter(|(name, ..)| !WITHHELD.contains(name));
        let arena = Arena::default();
        let modules = Loader::new(defs)
            .load(&arena, File { code, path: () })
            .map_err(|errors| load_errors(code, errors))?;
        let filter = jaq_core::Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| compile_errors(code, errors))?;
        Ok(Self { filter })
    }

    /// The program's outputs for `input`, lazily; an error (or `halt`) as its message.
    pub(crate) fn run(&self, input: Val) -> impl Iterator<Item = Result<Val, String>> + '_ {
        let cx = Ctx::<JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        self.filter
            .id
            .run((cx, input))
            .map(|output| output.map_err(exception_message))
    }
}

/// What went wrong, as jq would print it. `jaq_core::unwrap_valr` is not used: on `halt`
/// it exits the process.
fn exception_message(exception: Exn<'_, Val>) -> String {
    match exception.get_err() {
        Ok(error) => match error.into_val() {
            Val::TStr(text) => String::from_utf8_lossy(&text).into_owned(),
            other => format!("{other} (not a string)"),
        },
        Err(exception) => match exception.get_halt() {
            Ok(code) => format!("the program halted (exit code {code})"),
            Err(_) => "the program stopped without a value or an error".to_owned(),
        },
    }
}

fn load_errors(code: &str, errors: load::Errors<&str, ()>) -> Vec<String> {
    errors
        .into_iter()
        .flat_map(|(_, error)| match error {
            load::Error::Io(failures) => failures
                .into_iter()
                .map(|(module, why)| format!("cannot load module `{module}`: {why}"))
                .collect::<Vec<_>>(),
            load::Error::Lex(failures) => failures
                .into_iter()
                .map(|(expected, rest)| at(code, rest, format!("expected {}", expected.as_str())))
                .collect(),
            load::Error::Parse(failures) => failures
                .into_iter()
                .map(|(expected, found)| {
                    let what = match found {
                        "" => "the end of the program".to_owned(),
                        found => format!("`{}`", excerpt(found)),
                    };
                    at(
                        code,
                        found,
                        format!("expected {}, found {what}", expected.as_str()),
                    )
                })
                .collect(),
        })
        .collect()
}

fn compile_errors(code: &str, errors: compile::Errors<&str, ()>) -> Vec<String> {
    errors
        .into_iter()
        .flat_map(|(_, undefined)| undefined)
        .map(|(name, kind)| {
            let arity = match kind {
                compile::Undefined::Filter(arity) => format!("/{arity}"),
                _ => String::new(),
            };
            at(
                code,
                name,
                format!("undefined {} `{name}{arity}`", kind.as_str()),
            )
        })
        .collect()
}

/// `message`, with where `part` (a slice of `code`) starts in the program.
fn at(code: &str, part: &str, message: String) -> String {
    let start = (part.as_ptr() as usize).checked_sub(code.as_ptr() as usize);
    let Some(offset) =
        start.filter(|&offset| offset <= code.len() && code.is_char_boundary(offset))
    else {
        return message;
    };
    let before = &code[..offset];
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |line| line.chars().count())
        + 1;
    if code.contains('\n') {
        let line = before.matches('\n').count() + 1;
        format!("{message} at line {line}, column {column}")
    } else {
        format!("{message} at column {column}")
    }
}

/// The first characters of a token that may be a long block.
fn excerpt(text: &str) -> String {
    const LONGEST: usize = 24;
    match text.char_indices().nth(LONGEST) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// A document as jaq's value.
pub(crate) fn to_val(value: &Value) -> Val {
    match value {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => Val::Num(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), ..) => Num::from_integral(i),
            (None, Some(u), _) => Num::from_integral(u),
            (.., Some(f)) => Num::Float(f),
            // Without serde_json's `arbitrary_precision`, a number is one of the three.
            (None, None, None) => Num::Float(f64::NAN),
        }),
        Value::String(text) => Val::from(text.clone()),
        Value::Array(items) => items.iter().map(to_val).collect(),
        Value::Object(members) => Val::obj(
            members
                .iter()
                .map(|(key, value)| (Val::from(key.clone()), to_val(value)))
                .collect(),
        ),
    }
}

/// jaq's value as JSON, or what in it JSON cannot hold (`at /lines/0: a byte string`).
pub(crate) fn to_json(val: &Val) -> Result<Value, String> {
    fn convert(val: &Val, at: &mut String) -> Result<Value, String> {
        let cannot = |at: &str, what: String| {
            let place = if at.is_empty() { "is" } else { "has at" };
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(" {at}")
            };
            Err(format!("{place}{at} {what}, which JSON cannot hold"))
        };
        Ok(match val {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Num(Num::Int(i)) => Value::from(*i),
            Val::Num(Num::Float(f)) => match serde_json::Number::from_f64(*f) {
                Some(n) => Value::Number(n),
                None => return cannot(at, format!("the number {}", Num::Float(*f))),
            },
            Val::Num(n) => match n.to_string().parse::<serde_json::Number>() {
                Ok(n) => Value::Number(n),
                Err(_) => return cannot(at, format!("the number {n}")),
            },
            Val::TStr(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => Value::String(text.to_owned()),
                Err(_) => return cannot(at, "a string that is not UTF-8".to_owned()),
            },
            Val::BStr(_) => return cannot(at, "a byte string".to_owned()),
            Val::Arr(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    out.push(convert(item, at)?);
                    at.truncate(len);
                }
                Value::Array(out)
            }
            Val::Obj(members) => {
                let mut out = serde_json::Map::new();
                for (key, value) in members.iter() {
                    let Val::TStr(key) = key else {
                        return cannot(at, format!("the object key {key}"));
                    };
                    let Ok(key) = std::str::from_utf8(key) else {
                        return cannot(at, "an object key that is not UTF-8".to_owned());
                    };
                    let len = at.len();
                    at.push('/');
                    at.push_str(&pointer_token(key));
                    let value = convert(value, at)?;
                    at.truncate(len);
                    out.insert(key.to_owned(), value);
                }
                Value::Object(out)
            }
        })
    }
    convert(val, &mut String::new())
}
