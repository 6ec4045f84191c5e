//! The fields of a manifest entry, written straight to JSON text.
//!
//! An entry is a few dozen fields, most of them constants or borrowed from
//! the plan. Building each entry as a `serde_json::Value` (a sorted map of
//! owned strings) was most of `runner ls`'s time at 10k models, so fields are
//! collected into [`Fields`] keyed by borrowed names and written once, keys
//! sorted as serde_json's own maps sort them, so the text is what
//! `serde_json::to_writer` of the equivalent `Value` writes. Owns only that
//! representation; what an entry holds is `entry`'s and `operation`'s.

use serde_json::Value;
use std::borrow::Cow;

/// An object's fields by name, in the order they were set; a key set again
/// replaces its earlier value, and [`write_object`] writes them sorted by
/// key as serde_json does. A list rather than a `BTreeMap`: an entry sets
/// about fifty fields, and a tree's node allocations and inserts were a
/// fifth of writing the manifest.
#[derive(Clone, Default)]
pub(super) struct Fields<'a>(pub(super) Vec<(&'a str, F<'a>)>);

impl<'a> Fields<'a> {
    pub(super) fn new() -> Fields<'a> {
        Fields(Vec::new())
    }

    pub(super) fn insert(&mut self, key: &'a str, value: F<'a>) {
        self.0.push((key, value));
    }

    /// The value a key was last set to.
    pub(super) fn get(&self, key: &str) -> Option<&F<'a>> {
        self.0.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Each key once, with its last value, sorted by key.
    pub(super) fn sorted(&self) -> Vec<&(&'a str, F<'a>)> {
        let mut all: Vec<&(&str, F)> = self.0.iter().collect();
        // Stable: among equal keys the last set stays last.
        all.sort_by(|a, b| a.0.cmp(b.0));
        let mut out: Vec<&(&str, F)> = Vec::with_capacity(all.len());
        for field in all {
            match out.last_mut() {
                Some(last) if last.0 == field.0 => *last = field,
                _ => out.push(field),
            }
        }
        out
    }
}

impl<'a> Extend<(&'a str, F<'a>)> for Fields<'a> {
    fn extend<I: IntoIterator<Item = (&'a str, F<'a>)>>(&mut self, fields: I) {
        self.0.extend(fields);
    }
}

impl<'a> FromIterator<(&'a str, F<'a>)> for Fields<'a> {
    fn from_iter<I: IntoIterator<Item = (&'a str, F<'a>)>>(fields: I) -> Fields<'a> {
        Fields(fields.into_iter().collect())
    }
}

impl<'a, const N: usize> From<[(&'a str, F<'a>); N]> for Fields<'a> {
    fn from(fields: [(&'a str, F<'a>); N]) -> Fields<'a> {
        Fields(fields.into())
    }
}

/// One field's value.
#[derive(Clone)]
pub(super) enum F<'a> {
    /// JSON text as written: `null`, `true`, `[]`, or a constant object
    /// (keys sorted, no spaces, as serde_json writes it).
    Raw(&'static str),
    Str(Cow<'a, str>),
    /// A value from the user's YAML, already converted.
    Value(Value),
    List(Vec<F<'a>>),
    Obj(Fields<'a>),
}

pub(super) const NULL: F<'static> = F::Raw("null");
pub(super) const DOCS: F<'static> = F::Raw(r#"{"node_color":null,"show":true}"#);

pub(super) fn s<'a>(text: impl Into<Cow<'a, str>>) -> F<'a> {
    F::Str(text.into())
}

pub(super) fn opt<'a>(text: Option<impl Into<Cow<'a, str>>>) -> F<'a> {
    text.map(s).unwrap_or(NULL)
}

impl F<'_> {
    /// The text of a string field, whether a constant or from YAML.
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            F::Str(t) => Some(t),
            F::Value(Value::String(t)) => Some(t),
            _ => None,
        }
    }

    /// The same field as a `serde_json::Value`, for callers that read it.
    pub(super) fn to_value(&self) -> Value {
        match self {
            F::Raw(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            F::Str(text) => Value::String(text.to_string()),
            F::Value(v) => v.clone(),
            F::List(items) => Value::Array(items.iter().map(F::to_value).collect()),
            F::Obj(fields) => object_value(fields),
        }
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            F::Raw(text) => out.extend_from_slice(text.as_bytes()),
            F::Str(text) => serde_json::to_writer(&mut *out, text.as_ref())?,
            F::Value(v) => serde_json::to_writer(&mut *out, v)?,
            F::List(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out)?;
                }
                out.push(b']');
            }
            F::Obj(fields) => write_object(fields, out)?,
        }
        Ok(())
    }
}

pub(super) fn object_value(fields: &Fields) -> Value {
    // A later value of a key replaces the earlier, as in `Fields`.
    Value::Object(fields.0.iter().map(|(k, v)| (k.to_string(), v.to_value())).collect())
}

pub(super) fn write_object(fields: &Fields, out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.push(b'{');
    for (i, (key, value)) in fields.sorted().into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, key)?;
        out.push(b':');
        value.write(out)?;
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_set_again_keeps_its_last_value_and_keys_are_written_sorted() {
        let mut fields = Fields::from([("b", s("1")), ("a", NULL)]);
        fields.insert("b", s("2"));
        fields.extend([("c", F::Raw("[]")), ("a", F::Raw("true"))]);
        assert_eq!(fields.get("b").and_then(F::as_str), Some("2"));
        let mut out = Vec::new();
        write_object(&fields, &mut out).expect("write");
        assert_eq!(String::from_utf8(out).expect("utf-8"), r#"{"a":true,"b":"2","c":[]}"#);
        assert_eq!(object_value(&fields), serde_json::json!({"a": true, "b": "2", "c": []}));
    }
}
