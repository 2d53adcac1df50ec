//! JSON Pointers (RFC 6901) as `map` uses them: `/delivery/carrier_id`, with `~1` for a `/`
//! and `~0` for a `~` inside a key, and one addition: a `*` segment stands for every element
//! of an array (`/lines/*/unit`). A key named `*` therefore cannot be addressed (use `jq`).
//!
//! Reading is lenient: a pointer that leads nowhere (a missing key, an index past the end,
//! a scalar in the way) finds nothing. Writing is strict: it creates missing objects, but
//! writing through a scalar, or `*` over something that is not an array, is an error that
//! names the place.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;
use tradewire_core::pointer_token;

/// A parsed pointer, possibly with `*` segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    /// `*`: every element of an array.
    Each,
}

/// One place in a document: a pointer without `*`, as its unescaped keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(Vec<String>);

/// Where a pointer's `*`s led in one document: the concrete path, and the index each `*`
/// took (in order), so that a second pointer can be sent to the same elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    pub path: Path,
    pub indices: Vec<usize>,
}

/// Why a write could not happen: where (the concrete path written) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError {
    pub path: String,
    pub message: String,
}

impl Pointer {
    /// Parses `text`: empty (the whole document) or `/`-separated keys, each with `~0` and
    /// `~1` escapes only.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Ok(Self {
                segments: Vec::new(),
            });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!(
                "`{text}` is not a JSON Pointer: it must start with `/` (`/{text}`?)"
            ));
        };
        let segments = rest
            .split('/')
            .map(|token| match token {
                "*" => Ok(Segment::Each),
                token => unescape(token).map(Segment::Key).ok_or_else(|| {
                    format!(
                        "`{text}` is not a JSON Pointer: in `{token}`, `~` must be followed by \
                             `0` (for `~`) or `1` (for `/`)"
                    )
                }),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { segments })
    }

    /// The empty pointer: the whole document.
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// How many `*` segments it has.
    pub fn wildcards(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Each))
            .count()
    }

    /// The concrete path with each `*` replaced by the next of `indices` (as many as
    /// [`wildcards`](Self::wildcards); a missing one leaves `*` as a key).
    pub fn with_indices(&self, indices: &[usize]) -> Path {
        let mut indices = indices.iter();
        Path(
            self.segments
                .iter()
                .map(|segment| match segment {
                    Segment::Key(key) => key.clone(),
                    Segment::Each => indices
                        .next()
                        .map_or_else(|| "*".to_owned(), ToString::to_string),
                })
                .collect(),
        )
    }

    /// Every place the pointer names in `document`, for reading: each `*` expanded over the
    /// array found there. What follows the last `*` need not exist; a branch whose `*` finds
    /// no array ends there.
    pub fn expand(&self, document: &Value) -> Vec<Expansion> {
        self.walk(document, &mut |_, _| {})
    }

    /// As [`expand`](Self::expand), for writing: a `*` over anything but an array, or a
    /// scalar on the way to one, is an error (missing and `null` still expand to nothing).
    pub fn expand_for_write(&self, document: &Value) -> Result<Vec<Expansion>, WriteError> {
        let mut blocked = None;
        let found = self.walk(document, &mut |path, found| {
            blocked.get_or_insert_with(|| WriteError {
                path: path.pointer(),
                message: format!(
                    "cannot expand `{self}`: {path} is {}, not {}",
                    describe(found.1),
                    if found.0 {
                        "an array"
                    } else {
                        "an object or array"
                    }
                ),
            });
        });
        match blocked {
            Some(error) => Err(error),
            None => Ok(found),
        }
    }

    /// Expands every `*` up to the last one; `on_blocked(path, (wanted_array, value))` is
    /// told where a non-container stood in the way.
    fn walk(
        &self,
        document: &Value,
        on_blocked: &mut dyn FnMut(&Path, (bool, &Value)),
    ) -> Vec<Expansion> {
        let last_each = self
            .segments
            .iter()
            .rposition(|s| matches!(s, Segment::Each));
        let Some(last_each) = last_each else {
            return vec![Expansion {
                path: self.with_indices(&[]),
                indices: Vec::new(),
            }];
        };
        let mut branches = vec![(Path(Vec::new()), Vec::new(), document)];
        for segment in &self.segments[..=last_each] {
            let mut next = Vec::with_capacity(branches.len());
            for (path, indices, value) in branches {
                match (segment, value) {
                    (_, Value::Null) => {}
                    (Segment::Each, Value::Array(items)) => {
                        for (i, item) in items.iter().enumerate() {
                            let mut indices = indices.clone();
                            indices.push(i);
                            next.push((path.child(i.to_string()), indices, item));
                        }
                    }
                    (Segment::Each, other) => on_blocked(&path, (true, other)),
                    (Segment::Key(key), Value::Object(_) | Value::Array(_)) => {
                        if let Some(child) = step(value, key) {
                            next.push((path.child(key.clone()), indices, child));
                        }
                    }
                    (Segment::Key(_), other) => on_blocked(&path, (false, other)),
                }
            }
            branches = next;
        }
        let tail = &self.segments[last_each + 1..];
        branches
            .into_iter()
            .map(|(mut path, indices, _)| {
                path.0.extend(tail.iter().map(|s| match s {
                    Segment::Key(key) => key.clone(),
                    // `last_each` is the last `*`: none follows it.
                    Segment::Each => "*".to_owned(),
                }));
                Expansion { path, indices }
            })
            .collect()
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.segments {
            match segment {
                Segment::Key(key) => write!(f, "/{}", pointer_token(key))?,
                Segment::Each => f.write_str("/*")?,
            }
        }
        Ok(())
    }
}

impl Path {
    fn child(&self, key: String) -> Self {
        let mut keys = self.0.clone();
        keys.push(key);
        Self(keys)
    }

    /// The value at this path, if there is one.
    pub fn get<'a>(&self, document: &'a Value) -> Option<&'a Value> {
        self.0
            .iter()
            .try_fold(document, |value, key| step(value, key))
    }

    /// Writes `value` here, creating missing (or `null`) objects on the way. An array takes
    /// an existing index, or `-` to append.
    pub fn set(&self, document: &mut Value, value: Value) -> Result<(), WriteError> {
        let Some((last, parents)) = self.0.split_last() else {
            *document = value;
            return Ok(());
        };
        let mut current = document;
        for (depth, key) in parents.iter().enumerate() {
            current = self.slot(current, depth, key)?;
            if current.is_null() {
                *current = Value::Object(serde_json::Map::new());
            }
        }
        let slot = self.slot(current, parents.len(), last)?;
        *slot = value;
        Ok(())
    }

    /// The place for `key` in `parent` (the value at depth `depth` of this path), made if it
    /// is a missing object member or `-` of an array.
    fn slot<'a>(
        &self,
        parent: &'a mut Value,
        depth: usize,
        key: &str,
    ) -> Result<&'a mut Value, WriteError> {
        let blocked = |why: String| WriteError {
            path: self.pointer(),
            message: format!("cannot write {self}: {why}"),
        };
        let here = || Path(self.0[..depth].to_vec());
        match parent {
            Value::Object(members) => Ok(members.entry(key).or_insert(Value::Null)),
            Value::Array(items) => {
                let len = items.len();
                if key == "-" {
                    items.push(Value::Null);
                    return Ok(&mut items[len]);
                }
                match array_index(key) {
                    Some(i) if i < len => Ok(&mut items[i]),
                    Some(i) => Err(blocked(format!(
                        "{} has {len} elements, no index {i} (`-` appends)",
                        here()
                    ))),
                    None => Err(blocked(format!(
                        "{} is an array, and `{key}` is not an index",
                        here()
                    ))),
                }
            }
            other => Err(blocked(format!(
                "{} is {}, not an object",
                here(),
                describe(other)
            ))),
        }
    }

    /// Takes the value out (an array element shifts the ones after it).
    pub fn remove(&self, document: &mut Value) -> Option<Value> {
        let (last, parents) = self.0.split_last()?;
        let parent = parents
            .iter()
            .try_fold(document, |value, key| step_mut(value, key))?;
        match parent {
            Value::Object(members) => members.remove(last),
            Value::Array(items) => {
                let i = array_index(last).filter(|&i| i < items.len())?;
                Some(items.remove(i))
            }
            _ => None,
        }
    }

    /// Orders paths so that removing them in this order never shifts an array element
    /// another path still names: deeper and later elements first. Indices compare as
    /// numbers and other keys as text, each kind apart, so that the order is total.
    pub fn removal_order(a: &Self, b: &Self) -> Ordering {
        let key = |path: &Self| -> Vec<(Option<usize>, String)> {
            path.0
                .iter()
                .map(|token| (array_index(token), token.clone()))
                .collect()
        };
        key(b).cmp(&key(a))
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("the document");
        }
        for key in &self.0 {
            write!(f, "/{}", pointer_token(key))?;
        }
        Ok(())
    }
}

impl Path {
    /// The path as a JSON Pointer (`""` for the whole document), for diagnostics.
    pub fn pointer(&self) -> String {
        self.0
            .iter()
            .map(|key| format!("/{}", pointer_token(key)))
            .collect()
    }
}

/// One step down: an object member, or an array element by index.
fn step<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(members) => members.get(key),
        Value::Array(items) => items.get(array_index(key)?),
        _ => None,
    }
}

fn step_mut<'a>(value: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    match value {
        Value::Object(members) => members.get_mut(key),
        Value::Array(items) => items.get_mut(array_index(key)?),
        _ => None,
    }
}

/// An array index as RFC 6901 spells it: `0`, or digits without a leading zero.
fn array_index(key: &str) -> Option<usize> {
    let canonical = key == "0" || (!key.starts_with('0') && !key.is_empty());
    if canonical && key.bytes().all(|b| b.is_ascii_digit()) {
        key.parse().ok()
    } else {
        None
    }
}

/// `~1` → `/`, `~0` → `~`; `None` on any other `~`.
fn unescape(token: &str) -> Option<String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '~' => match chars.next() {
                Some('0') => '~',
                Some('1') => '/',
                _ => return None,
            },
            c => c,
        });
    }
    Some(out)
}

/// What a value is, for messages: `a string`, `an array`.
pub fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn path(text: &str) -> Path {
        Pointer::parse(text).expect("a pointer").with_indices(&[])
    }

    #[test]
    fn escapes_and_wildcards_parse() {
        let pointer = Pointer::parse("/extensions/a~1b~0c/*/x").expect("a pointer");
        assert_eq!(pointer.wildcards(), 1);
        assert_eq!(pointer.to_string(), "/extensions/a~1b~0c/*/x");
        assert_eq!(
            pointer.with_indices(&[4]).0,
            ["extensions", "a/b~c", "4", "x"]
        );
        assert!(Pointer::parse("").is_ok_and(|p| p.is_root()));
        assert!(Pointer::parse("kind").is_err_and(|e| e.contains("must start with `/`")));
        assert!(Pointer::parse("/a~2").is_err_and(|e| e.contains("`~` must be followed")));
        assert!(Pointer::parse("/a~").is_err());
    }

    #[test]
    fn indices_follow_rfc_6901() {
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("12"), Some(12));
        assert_eq!(array_index("01"), None);
        assert_eq!(array_index(""), None);
        assert_eq!(array_index("-"), None);
        assert_eq!(array_index("1e3"), None);
    }

    #[test]
    fn expansion_binds_each_star_in_order() {
        let doc = json!({"a": [{"b": [1, 2]}, {"b": [3]}, {"c": 0}]});
        let pointer = Pointer::parse("/a/*/b/*").expect("a pointer");
        let found: Vec<_> = pointer
            .expand(&doc)
            .into_iter()
            .map(|e| (e.path.pointer(), e.indices))
            .collect();
        assert_eq!(
            found,
            [
                ("/a/0/b/0".to_owned(), vec![0, 0]),
                ("/a/0/b/1".to_owned(), vec![0, 1]),
                ("/a/1/b/0".to_owned(), vec![1, 0]),
            ]
        );
    }

    #[test]
    fn writing_through_a_scalar_names_the_scalar() {
        let mut doc = json!({"delivery": "express"});
        let error = path("/delivery/carrier_id")
            .set(&mut doc, json!("3"))
            .expect_err("a string has no members");
        assert_eq!(error.path, "/delivery/carrier_id");
        assert!(
            error.message.contains("/delivery is a string"),
            "{}",
            error.message
        );

        let pointer = Pointer::parse("/delivery/*/x").expect("a pointer");
        let error = pointer.expand_for_write(&doc).expect_err("not an array");
        assert!(
            error
                .message
                .contains("/delivery is a string, not an array"),
            "{}",
            error.message
        );
        assert!(pointer.expand(&doc).is_empty());
    }

    #[test]
    fn set_creates_objects_and_appends() {
        let mut doc = json!({"payment": null, "lines": []});
        path("/payment/option_id")
            .set(&mut doc, json!("12"))
            .expect("writable");
        path("/lines/-")
            .set(&mut doc, json!({"kind": "article"}))
            .expect("writable");
        assert_eq!(
            doc,
            json!({"payment": {"option_id": "12"}, "lines": [{"kind": "article"}]})
        );
        let error = path("/lines/3")
            .set(&mut doc, json!(1))
            .expect_err("past the end");
        assert!(
            error.message.contains("/lines has 1 elements, no index 3"),
            "{}",
            error.message
        );
    }

    #[test]
    fn removal_order_puts_later_elements_first() {
        let mut paths = [
            path("/lines/2"),
            path("/lines/10"),
            path("/a"),
            path("/a/b"),
        ];
        paths.sort_by(Path::removal_order);
        let sorted: Vec<_> = paths.iter().map(Path::pointer).collect();
        assert_eq!(sorted, ["/lines/10", "/lines/2", "/a/b", "/a"]);

        // As text, "10" < "5x" < "9"; as numbers, 9 < 10: mixing the two is no order.
        let mut mixed = [path("/x/9"), path("/x/5x"), path("/x/10"), path("/x/01")];
        mixed.sort_by(Path::removal_order);
        let sorted: Vec<_> = mixed.iter().map(Path::pointer).collect();
        assert_eq!(sorted, ["/x/10", "/x/9", "/x/5x", "/x/01"]);
    }
}
