//! Reading JSON the way Go's `encoding/json` reads it into a struct, with errors that name the
//! field.
//!
//! Real configurations are written for Go plugins, and Go matches object keys to struct fields
//! case-insensitively: `"CNIVersion"` and `"Type"` work there, so they must work here. The rule,
//! reproduced exactly: a key matches a field when the two are equal under Unicode simple case
//! folding; keys are read in document order and each match overwrites the last, so the **last**
//! matching key wins; `null` is the same as absent. Typed views never remove anything from the
//! underlying [`serde_json::Map`], so keys a view does not know are passed on untouched.

use serde_json::{Map, Value};

/// A field of the wrong type, missing, invalid, or input that is not JSON at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// The input is not JSON (or not the JSON value expected at the top).
    #[error("{what}: not valid JSON: {reason}")]
    NotJson {
        /// What was being read (`stdin`, a file name).
        what: String,
        /// The parser's message.
        reason: String,
    },
    /// A field holds a value of another JSON type.
    #[error("{path}: expected {expected}, found {found}")]
    WrongType {
        /// The field's path, such as `plugins[0].type`.
        path: String,
        /// The JSON type the field must have.
        expected: &'static str,
        /// The JSON type it has.
        found: &'static str,
    },
    /// A required field is absent, null or empty.
    #[error("{path}: required field is missing")]
    Missing {
        /// The field's path.
        path: String,
    },
    /// A field's value is of the right type but not acceptable.
    #[error("{path}: {reason}")]
    Invalid {
        /// The field's path.
        path: String,
        /// Why the value is refused.
        reason: String,
    },
}

impl FieldError {
    /// An invalid value at `path`.
    pub fn invalid(path: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError::Invalid {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// The JSON type name of a value, for messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parses bytes as JSON, reporting failure as [`FieldError::NotJson`] about `what`.
pub fn parse(bytes: &[u8], what: &str) -> Result<Value, FieldError> {
    serde_json::from_slice(bytes).map_err(|e| FieldError::NotJson {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

/// Go's field-name comparison: equal under simple case folding. Field names in CNI are ASCII;
/// the two non-ASCII characters that fold to ASCII letters (KELVIN SIGN, LATIN SMALL LETTER LONG
/// S) are the ones Go special-cases, and so do we.
pub fn key_matches(key: &str, field: &str) -> bool {
    if key.len() == field.len() && key.eq_ignore_ascii_case(field) {
        return true;
    }
    let fold = |c: char| match c {
        '\u{212A}' => 'k',
        '\u{017F}' => 's',
        c => c.to_ascii_lowercase(),
    };
    let mut a = key.chars().map(fold);
    let mut b = field.chars().map(fold);
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

/// Finds the key of `map` that a Go struct field named `field` would be decoded from: the last
/// matching key in document order.
pub fn find_key<'m>(map: &'m Map<String, Value>, field: &str) -> Option<&'m str> {
    // serde_json's map keeps document order (preserve_order), so the last match from the back
    // is the first one met walking backwards.
    map.keys()
        .rev()
        .find(|k| key_matches(k, field))
        .map(String::as_str)
}

/// Removes every key matching `field` (in any case) and inserts `value` under the canonical
/// spelling, so that the receiver (Go or ours) sees exactly the injected value.
pub fn replace_key(map: &mut Map<String, Value>, field: &str, value: Value) {
    map.retain(|k, _| !key_matches(k, field));
    map.insert(field.to_owned(), value);
}

/// Removes every key matching `field`, in any case.
pub fn remove_key(map: &mut Map<String, Value>, field: &str) {
    map.retain(|k, _| !key_matches(k, field));
}

/// A JSON object being read, with the path used in error messages.
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

/// Joins a path and a key for messages: `plugins[0]` + `type` → `plugins[0].type`.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Joins a path and an index: `plugins` + 0 → `plugins[0]`.
pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

impl<'a> Obj<'a> {
    /// The top-level value, which must be an object.
    pub fn root(value: &'a Value) -> Result<Obj<'a>, FieldError> {
        Obj::at(value, "")
    }

    /// A view of an object already known to be one, found at `path`.
    pub fn new(map: &'a Map<String, Value>, path: &'a str) -> Obj<'a> {
        Obj { map, path }
    }

    /// `value` (found at `path`) as an object.
    pub fn at(value: &'a Value, path: &'a str) -> Result<Obj<'a>, FieldError> {
        match value {
            Value::Object(map) => Ok(Obj { map, path }),
            other => Err(FieldError::WrongType {
                path: if path.is_empty() {
                    "configuration".to_owned()
                } else {
                    path.to_owned()
                },
                expected: "object",
                found: type_name(other),
            }),
        }
    }

    /// The underlying map, with every key.
    pub fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// This object's path.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The path of one of this object's fields.
    pub fn field_path(&self, key: &str) -> String {
        join(self.path, key)
    }

    /// The value of `field`, matched as Go matches; `null` counts as absent.
    pub fn get(&self, field: &str) -> Option<&'a Value> {
        let key = find_key(self.map, field)?;
        match self.map.get(key) {
            Some(Value::Null) | None => None,
            Some(v) => Some(v),
        }
    }

    fn wrong(&self, field: &str, expected: &'static str, v: &Value) -> FieldError {
        FieldError::WrongType {
            path: self.field_path(field),
            expected,
            found: type_name(v),
        }
    }

    /// A string field.
    pub fn str(&self, field: &str) -> Result<Option<&'a str>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong(field, "string", v)),
        }
    }

    /// A string field that must be present and non-empty.
    pub fn required_str(&self, field: &str) -> Result<&'a str, FieldError> {
        match self.str(field)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(FieldError::Missing {
                path: self.field_path(field),
            }),
        }
    }

    /// A boolean field.
    pub fn bool(&self, field: &str) -> Result<Option<bool>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(field, "boolean", v)),
        }
    }

    /// A boolean that may also be written as a string Go's `strconv.ParseBool` accepts
    /// (`"true"`, `"false"`, `"1"`, `"t"`, …), as libcni accepts for `disableCheck`.
    pub fn lenient_bool(&self, field: &str) -> Result<Option<bool>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.as_str() {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(Some(true)),
                "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(Some(false)),
                _ => Err(FieldError::invalid(
                    self.field_path(field),
                    format!("{s:?} is not a boolean"),
                )),
            },
            Some(v) => Err(self.wrong(field, "boolean", v)),
        }
    }

    /// An integer field within `i64`.
    pub fn i64(&self, field: &str) -> Result<Option<i64>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
                FieldError::invalid(self.field_path(field), format!("{n} is not an integer"))
            }),
            Some(v) => Err(self.wrong(field, "integer", v)),
        }
    }

    /// An unsigned integer field within `u64`.
    pub fn u64(&self, field: &str) -> Result<Option<u64>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
                FieldError::invalid(
                    self.field_path(field),
                    format!("{n} is not a non-negative integer"),
                )
            }),
            Some(v) => Err(self.wrong(field, "integer", v)),
        }
    }

    /// An unsigned integer field within `u32`.
    pub fn u32(&self, field: &str) -> Result<Option<u32>, FieldError> {
        match self.u64(field)? {
            None => Ok(None),
            Some(n) => u32::try_from(n).map(Some).map_err(|_| {
                FieldError::invalid(self.field_path(field), format!("{n} is out of range"))
            }),
        }
    }

    /// An array field.
    pub fn array(&self, field: &str) -> Result<Option<&'a Vec<Value>>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong(field, "array", v)),
        }
    }

    /// An object field. The returned view's path is owned by the caller: pass the string from
    /// [`Obj::field_path`] to [`Obj::at`] when nested errors must name the full path.
    pub fn object(&self, field: &str) -> Result<Option<&'a Map<String, Value>>, FieldError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(self.wrong(field, "object", v)),
        }
    }

    /// An array of strings.
    pub fn str_array(&self, field: &str) -> Result<Option<Vec<&'a str>>, FieldError> {
        let Some(items) = self.array(field)? else {
            return Ok(None);
        };
        let path = self.field_path(field);
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.as_str()),
                other => Err(FieldError::WrongType {
                    path: index(&path, i),
                    expected: "string",
                    found: type_name(other),
                }),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_case_insensitively_and_the_last_match_wins() {
        let v = json!({"CNIVersion": "0.3.1", "Name": "a", "name": "b", "NAME": "c"});
        let o = Obj::root(&v).unwrap();
        assert_eq!(o.str("cniVersion").unwrap(), Some("0.3.1"));
        assert_eq!(o.str("name").unwrap(), Some("c"));
        assert_eq!(o.str("type").unwrap(), None);
    }

    #[test]
    fn go_special_folds() {
        assert!(key_matches("\u{212A}ind", "kind"));
        assert!(key_matches("\u{017F}ubnet", "subnet"));
        assert!(!key_matches("kinds", "kind"));
        assert!(!key_matches("", "kind"));
    }

    #[test]
    fn null_is_absent() {
        let v = json!({"ipam": null});
        assert_eq!(Obj::root(&v).unwrap().object("ipam").unwrap(), None);
    }

    #[test]
    fn wrong_types_name_the_field_path() {
        let v = json!({"type": 3, "list": ["a", 1]});
        let o = Obj::at(&v, "plugins[2]").unwrap();
        assert_eq!(
            o.str("type").unwrap_err().to_string(),
            "plugins[2].type: expected string, found number"
        );
        assert_eq!(
            o.str_array("list").unwrap_err().to_string(),
            "plugins[2].list[1]: expected string, found number"
        );
        assert_eq!(
            Obj::root(&json!([])).unwrap_err().to_string(),
            "configuration: expected object, found array"
        );
    }

    #[test]
    fn lenient_bool_accepts_go_parse_bool_spellings() {
        for (s, b) in [("true", true), ("1", true), ("F", false), ("False", false)] {
            let v = json!({ "disableCheck": s });
            assert_eq!(
                Obj::root(&v).unwrap().lenient_bool("disablecheck"),
                Ok(Some(b))
            );
        }
        let v = json!({"disableCheck": "yes"});
        assert!(Obj::root(&v).unwrap().lenient_bool("disableCheck").is_err());
    }

    #[test]
    fn integers_are_range_checked() {
        let v = json!({"a": -1, "b": 4294967296u64, "c": 1.5});
        let o = Obj::root(&v).unwrap();
        assert!(o.u64("a").is_err());
        assert!(o.u32("b").is_err());
        assert!(o.i64("c").is_err());
        assert_eq!(o.i64("a"), Ok(Some(-1)));
    }

    #[test]
    fn replace_key_drops_every_spelling() {
        let mut m = json!({"RuntimeConfig": {"a": 1}, "runtimeconfig": 2, "x": 1});
        let map = m.as_object_mut().unwrap();
        replace_key(map, "runtimeConfig", json!({"b": 2}));
        assert_eq!(m, json!({"x": 1, "runtimeConfig": {"b": 2}}));
    }
}
