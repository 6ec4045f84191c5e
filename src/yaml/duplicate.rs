//! The line of a duplicate key, which serde_yaml reports at the start of the
//! mapping holding it (`1:1` for a top-level key).
//!
//! Knowing the mapping's first key's position, the duplicate is the second
//! key of that name at the same indentation before the mapping ends; in a
//! flow mapping (`{a: 1, a: 2}`), the second `a:` after its start. A best
//! effort over the text: `None` keeps serde_yaml's location.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// Any YAML document, checked for a key repeated in one mapping at any
/// depth, without building its value. Fails with serde_yaml's own wording
/// for `Value`, so [`key_of`] reads it.
pub(crate) struct Unique;

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Unique)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_none<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Unique, D::Error> {
        Unique::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Unique, D::Error> {
        Unique::deserialize(d)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Unique, A::Error> {
        // A tagged value (`!tag x`): only its content can hold mappings.
        let (IgnoredAny, variant) = data.variant()?;
        de::VariantAccess::newtype_variant::<Unique>(variant)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<Key>()? {
            if let Key::Scalar(k) = key {
                if let Some(repeated) = keys.replace(k) {
                    return Err(de::Error::custom(format_args!("duplicate entry with key {repeated}")));
                }
            }
            map.next_value::<Unique>()?;
        }
        Ok(Unique)
    }
}

/// A mapping key as serde_yaml's message shows it: strings quoted, other
/// scalars bare; a collection as a key is only checked inside.
#[derive(PartialEq, Eq, Hash)]
enum Key {
    Scalar(String),
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
                Ok(Key::Scalar(format!("`{v}`")))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
                Ok(Key::Scalar(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
                Ok(Key::Scalar(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
                Ok(Key::Scalar(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key::Scalar(format!("{v:?}")))
            }
            fn visit_unit<E>(self) -> Result<Key, E> {
                Ok(Key::Scalar("null".into()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Key, A::Error> {
                Unique.visit_seq(seq).map(|_| Key::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Key, A::Error> {
                Unique.visit_map(map).map(|_| Key::Other)
            }
            fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Key, A::Error> {
                Unique.visit_enum(data).map(|_| Key::Other)
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

/// The key named by serde_yaml's duplicate-key message, if `msg` is one:
/// ``duplicate field `name` `` (a struct) or `duplicate entry with key "a"` (a map).
pub(crate) fn key_of(msg: &str) -> Option<String> {
    if let Some(i) = msg.find("duplicate field `") {
        let rest = &msg[i + "duplicate field `".len()..];
        return rest.find('`').map(|j| rest[..j].to_string());
    }
    let rest = &msg[msg.find("duplicate entry with key ")? + "duplicate entry with key ".len()..];
    let key = match rest.strip_prefix('"') {
        // A Debug-quoted string; keys with escapes are not searched for.
        Some(quoted) => quoted.strip_suffix('"').filter(|k| !k.contains('\\'))?,
        None => rest.trim_matches('`'),
    };
    Some(key.to_string())
}

/// 1-based line and column of the second `key` of the mapping whose first
/// key serde_yaml located at 1-based `line` and `column`.
pub(crate) fn locate(text: &str, line: usize, column: usize, key: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = column.checked_sub(1)?;
    let first = lines.get(line.checked_sub(1)?)?;
    if char_tail(first, indent).starts_with('{') {
        return in_flow(&lines, line - 1, indent, key);
    }
    let mut seen = 0;
    for (i, l) in lines.iter().enumerate().skip(line - 1) {
        let rest = if i == line - 1 {
            char_tail(first, indent)
        } else {
            let width = l.len() - l.trim_start_matches(' ').len();
            let body = &l[width..];
            if body.trim().is_empty() || body.starts_with('#') || width > indent {
                continue;
            }
            if width < indent {
                break;
            }
            body
        };
        if starts_with_key(rest, key) {
            seen += 1;
            if seen == 2 {
                return Some((i + 1, indent + 1));
            }
        }
    }
    None
}

/// The second `key:` from the start of a flow mapping on.
fn in_flow(lines: &[&str], start: usize, indent: usize, key: &str) -> Option<(usize, usize)> {
    let mut seen = 0;
    for (i, l) in lines.iter().enumerate().skip(start) {
        let skip = if i == start { indent } else { 0 };
        let chars: Vec<(usize, char)> = l.char_indices().skip(skip).collect();
        for (n, &(at, _)) in chars.iter().enumerate() {
            let boundary = n == 0 || matches!(chars[n - 1].1, '{' | ',' | ' ');
            if boundary && starts_with_key(&l[at..], key) {
                seen += 1;
                if seen == 2 {
                    return Some((i + 1, skip + n + 1));
                }
            }
        }
    }
    None
}

/// `text` from its `n`th character on.
fn char_tail(text: &str, n: usize) -> &str {
    text.char_indices().nth(n).map_or("", |(i, _)| &text[i..])
}

/// Whether `rest` starts with `key` (bare or quoted) followed by `:`.
fn starts_with_key(rest: &str, key: &str) -> bool {
    let after = [("", ""), ("\"", "\""), ("'", "'")]
        .iter()
        .find_map(|(open, close)| rest.strip_prefix(open)?.strip_prefix(key)?.strip_prefix(close));
    after.is_some_and(|a| a.trim_start_matches(' ').starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::{key_of, locate};

    #[test]
    fn reads_the_key_from_either_message() {
        assert_eq!(key_of("models[0]: duplicate field `name`").as_deref(), Some("name"));
        assert_eq!(key_of("duplicate entry with key \"dev\"").as_deref(), Some("dev"));
        assert_eq!(key_of("duplicate entry with key 3").as_deref(), Some("3"));
        assert_eq!(key_of("unknown field `x`"), None);
    }

    #[test]
    fn finds_the_second_key_of_the_same_mapping() {
        let text = "a: 1\nb:\n  a: 1\nc: 2\na: 3\n";
        assert_eq!(locate(text, 1, 1, "a"), Some((5, 1)));
        let seq = "models:\n  - name: x\n    columns: []\n  - name: y\n    description: d\n    'name': z\n";
        assert_eq!(locate(seq, 4, 5, "name"), Some((6, 5)));
        assert_eq!(locate(seq, 2, 5, "name"), None, "the next item is another mapping");
        let flow = "top: 1\nk: {a: 1, b: [a], \"a\": 2}\n";
        assert_eq!(locate(flow, 2, 4, "a"), Some((2, 19)));
    }
}
