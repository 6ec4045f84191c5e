//! Python-style values and methods that dbt projects lean on.
//!
//! minijinja's lists and dicts are immutable, but dbt macros build them with
//! `{% do cols.append(c) %}` and `{% do d.update({...}) %}`. So a list or dict
//! literal assigned with `{% set x = [...] %}` is wrapped (a textual rewrite
//! that keeps line numbers) into a [`MutList`] / [`MutDict`] that accepts
//! those methods. String, list and dict methods come from minijinja-contrib's
//! `pycompat`, with a few more that real projects use. This module knows
//! nothing of dbt's context.

use minijinja::value::{from_args, Enumerator, Kwargs, Object, ObjectRepr, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};
use std::sync::{Arc, Mutex, MutexGuard};

/// Name of the function the rewrite wraps literals in.
pub const MUT_FN: &str = "__runner_mut";

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// A list that `append`, `extend`, `insert`, `pop`, `remove` … can change.
#[derive(Debug, Default)]
pub struct MutList(pub Mutex<Vec<Value>>);

/// A dict that `update`, `pop`, `setdefault` … can change; keys keep insertion order.
#[derive(Debug, Default)]
pub struct MutDict(pub Mutex<Vec<(Value, Value)>>);

fn index(len: usize, i: i64) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

impl Object for MutList {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let items = guard(&self.0);
        let i = index(items.len(), key.as_i64()?)?;
        items.get(i).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(guard(&self.0).clone())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(guard(&self.0).len())
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let mut items = guard(&self.0);
        match method {
            "append" => {
                let (v,): (Value,) = from_args(args)?;
                items.push(stored(v));
            }
            "extend" => {
                let (v,): (Value,) = from_args(args)?;
                items.extend(v.try_iter()?.map(stored));
            }
            "insert" => {
                let (i, v): (i64, Value) = from_args(args)?;
                let at = if i < 0 { (items.len() as i64 + i).max(0) } else { i.min(items.len() as i64) };
                items.insert(at as usize, stored(v));
            }
            "pop" => {
                let (i,): (Option<i64>,) = from_args(args)?;
                let at = index(items.len(), i.unwrap_or(-1)).ok_or_else(|| invalid("pop index out of range"))?;
                return Ok(items.remove(at));
            }
            "remove" => {
                let (v,): (Value,) = from_args(args)?;
                let at = items.iter().position(|x| *x == v).ok_or_else(|| invalid(format!("{v} is not in list")))?;
                items.remove(at);
            }
            "index" => {
                let (v,): (Value,) = from_args(args)?;
                let at = items.iter().position(|x| *x == v).ok_or_else(|| invalid(format!("{v} is not in list")))?;
                return Ok(Value::from(at));
            }
            "count" => {
                let (v,): (Value,) = from_args(args)?;
                return Ok(Value::from(items.iter().filter(|x| **x == v).count()));
            }
            "clear" => items.clear(),
            "reverse" => items.reverse(),
            "sort" => items.sort(),
            "copy" => return Ok(Value::from_object(MutList(Mutex::new(items.clone())))),
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        }
        Ok(Value::from(()))
    }
}

impl MutDict {
    fn set(items: &mut Vec<(Value, Value)>, k: Value, v: Value) {
        let v = stored(v);
        match items.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => items.push((k, v)),
        }
    }
}

impl Object for MutDict {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        guard(&self.0).iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(guard(&self.0).iter().map(|(k, _)| k.clone()).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(guard(&self.0).len())
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let mut items = guard(&self.0);
        match method {
            "update" => {
                let (other, kwargs): (Option<Value>, Kwargs) = from_args(args)?;
                if let Some(other) = other {
                    for k in other.try_iter()? {
                        let v = other.get_item(&k)?;
                        MutDict::set(&mut items, k, v);
                    }
                }
                for k in kwargs.args().map(str::to_string).collect::<Vec<_>>() {
                    let v: Value = kwargs.get(&k)?;
                    MutDict::set(&mut items, Value::from(k), v);
                }
            }
            "pop" => {
                let (k, default): (Value, Option<Value>) = from_args(args)?;
                return match items.iter().position(|(key, _)| *key == k) {
                    Some(at) => Ok(items.remove(at).1),
                    None => default.ok_or_else(|| invalid(format!("key {k} is not in the dict"))),
                };
            }
            "setdefault" => {
                let (k, default): (Value, Option<Value>) = from_args(args)?;
                if let Some((_, v)) = items.iter().find(|(key, _)| *key == k) {
                    return Ok(v.clone());
                }
                let v = stored(default.unwrap_or(Value::from(())));
                items.push((k, v.clone()));
                return Ok(v);
            }
            "get" => {
                let (k, default): (Value, Option<Value>) = from_args(args)?;
                let found = items.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone());
                return Ok(found.or(default).unwrap_or(Value::from(())));
            }
            "keys" => return Ok(Value::from(items.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())),
            "values" => return Ok(Value::from(items.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>())),
            "items" => {
                let pairs: Vec<Value> = items.iter().map(|(k, v)| Value::from(vec![k.clone(), v.clone()])).collect();
                return Ok(Value::from(pairs));
            }
            "clear" => items.clear(),
            "copy" => return Ok(Value::from_object(MutDict(Mutex::new(items.clone())))),
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        }
        Ok(Value::from(()))
    }
}

/// A plain list or dict put into a changeable one becomes changeable itself, as
/// in Python: `{% do d.update({k: []}) %}{% do d[k].append(x) %}` (dbt_utils'
/// `union_relations`) changes the list that `d` holds.
fn stored(v: Value) -> Value {
    make_mut(v.clone()).unwrap_or(v)
}

/// `__runner_mut(value)`: a changeable copy of a list or dict literal.
pub fn make_mut(v: Value) -> Result<Value, Error> {
    // Already changeable: keep the one object, so `set b = a` aliases as in Python.
    // Only plain lists and dicts: a relation or a query table is a mapping
    // too, and stays the object it is.
    let plain = v.downcast_object_ref::<Vec<Value>>().is_some()
        || v.downcast_object_ref::<std::collections::BTreeMap<Value, Value>>().is_some();
    if !plain {
        return Ok(v);
    }
    Ok(match v.kind() {
        ValueKind::Seq => Value::from_object(MutList(Mutex::new(v.try_iter()?.collect()))),
        ValueKind::Map => {
            let mut items = Vec::new();
            for k in v.try_iter()? {
                let val = v.get_item(&k)?;
                items.push((k, val));
            }
            Value::from_object(MutDict(Mutex::new(items)))
        }
        _ => v,
    })
}

/// Wraps the right side of `{% set name = [ … ] %}` and `{% set name = { … } %}`
/// in [`MUT_FN`], and of `{% set name = other %}` (a plain or dotted name, such
/// as a macro argument that a package then `.append`s to). Only a right side
/// that is one whole literal or name is wrapped; the text keeps its newlines,
/// so error lines stay right.
pub fn rewrite_mutable_literals(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(i) = rest.find("{%") {
        let (before, tag) = rest.split_at(i);
        out.push_str(before);
        match wrap_set(tag) {
            Some((rewritten, used)) => {
                out.push_str(&rewritten);
                rest = &tag[used..];
            }
            None => {
                out.push_str("{%");
                rest = &tag[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// For a tag starting at `{%`, the rewritten `{% set x = __runner_mut([…])`
/// prefix and how many bytes of the input it replaces.
fn wrap_set(tag: &str) -> Option<(String, usize)> {
    let body = tag[2..].strip_prefix(['-', '+']).unwrap_or(&tag[2..]);
    let body = body.trim_start().strip_prefix("set")?;
    let after_set = body.trim_start();
    if after_set.len() == body.len() {
        return None;
    }
    // A name, or a namespace's attribute (`{% set ns.cols = [] %}`).
    let name_len = after_set.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))?;
    if name_len == 0 || after_set.starts_with('.') {
        return None;
    }
    let literal = after_set[name_len..].trim_start().strip_prefix('=')?.trim_start();
    let literal_start = tag.len() - literal.len();
    let literal_end = literal_start + matching_close(literal).or_else(|| plain_name(literal))?;
    let close = tag[literal_end..].trim_start();
    if !(close.starts_with("%}") || close.starts_with("-%}") || close.starts_with("+%}")) {
        return None;
    }
    let rewritten = format!("{}{MUT_FN}({})", &tag[..literal_start], &tag[literal_start..literal_end]);
    Some((rewritten, literal_end))
}

/// Byte length of a (dotted) name at the start of `s`: `cols`, `model.columns`;
/// keywords that are values stay as they are.
fn plain_name(s: &str) -> Option<usize> {
    if !s.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return None;
    }
    let len = s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')).unwrap_or(s.len());
    let name = &s[..len];
    let literal = ["true", "false", "none", "True", "False", "None"].contains(&name);
    (!literal && !name.ends_with('.')).then_some(len)
}

/// Byte length of a bracketed literal at the start of `s` (`[…]` or `{…}`),
/// skipping brackets inside string literals.
fn matching_close(s: &str) -> Option<usize> {
    let first = s.chars().next()?;
    if first != '[' && first != '{' {
        return None;
    }
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            '%' if s[i..].starts_with("%}") => return None,
            _ => {}
        }
    }
    None
}

/// minijinja's unknown-method hook: pycompat first, then the extras below.
pub fn unknown_method(state: &mut State, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args) {
        Err(e) if e.kind() == ErrorKind::UnknownMethod => extra_method(value, method, args),
        other => other,
    }
}

fn extra_method(value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    if let Some(s) = value.as_str() {
        return string_method(s, method, args);
    }
    let mutating = matches!(method, "append" | "extend" | "insert" | "pop" | "remove" | "update" | "setdefault");
    match (value.kind(), method) {
        (ValueKind::Seq | ValueKind::Map, "copy") => make_mut(value.clone()),
        (ValueKind::Seq, "index") => {
            let (v,): (Value,) = from_args(args)?;
            let at = value.try_iter()?.position(|x| x == v).ok_or_else(|| invalid(format!("{v} is not in list")))?;
            Ok(Value::from(at))
        }
        (ValueKind::Seq | ValueKind::Map, _) if mutating => Err(invalid(format!(
            "cannot `{method}` here: this value cannot be changed (hint: create it with `{{% set x = [] %}}` or `{{% set x = {{}} %}}`, which runner makes changeable)"
        ))),
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Value, Error> {
    let pad = |width: i64, fill: Option<&str>| {
        let fill = fill.and_then(|f| f.chars().next()).unwrap_or(' ');
        let missing = (width.max(0) as usize).saturating_sub(s.chars().count());
        (fill.to_string().repeat(missing), missing)
    };
    Ok(match method {
        "rsplit" => {
            let (sep, max): (Option<&str>, Option<i64>) = from_args(args)?;
            let max = max.filter(|m| *m >= 0).map(|m| m as usize + 1).unwrap_or(usize::MAX);
            let mut parts: Vec<Value> = match sep {
                Some(sep) => s.rsplitn(max, sep).map(Value::from).collect(),
                None => s.split_whitespace().rev().map(Value::from).collect(),
            };
            parts.reverse();
            Value::from(parts)
        }
        "removeprefix" => {
            let (p,): (&str,) = from_args(args)?;
            Value::from(s.strip_prefix(p).unwrap_or(s))
        }
        "removesuffix" => {
            let (p,): (&str,) = from_args(args)?;
            Value::from(s.strip_suffix(p).unwrap_or(s))
        }
        "zfill" => {
            let (w,): (i64,) = from_args(args)?;
            let (zeros, _) = pad(w, Some("0"));
            match s.strip_prefix(['-', '+']) {
                Some(digits) => Value::from(format!("{}{zeros}{digits}", &s[..1])),
                None => Value::from(format!("{zeros}{s}")),
            }
        }
        "ljust" => {
            let (w, fill): (i64, Option<&str>) = from_args(args)?;
            Value::from(format!("{s}{}", pad(w, fill).0))
        }
        "rjust" => {
            let (w, fill): (i64, Option<&str>) = from_args(args)?;
            Value::from(format!("{}{s}", pad(w, fill).0))
        }
        "center" => {
            let (w, fill): (i64, Option<&str>) = from_args(args)?;
            let (p, n) = pad(w, fill);
            let left = n / 2;
            let fill_len = p.chars().next().map(char::len_utf8).unwrap_or(1);
            Value::from(format!("{}{s}{}", &p[..left * fill_len], &p[left * fill_len..]))
        }
        "index" => {
            let (sub,): (&str,) = from_args(args)?;
            let at = s.find(sub).ok_or_else(|| invalid("substring not found"))?;
            Value::from(s[..at].chars().count())
        }
        "partition" => {
            let (sep,): (&str,) = from_args(args)?;
            let (a, b, c) = match s.split_once(sep) {
                Some((a, c)) => (a, sep, c),
                None => (s, "", ""),
            };
            Value::from(vec![Value::from(a), Value::from(b), Value::from(c)])
        }
        "casefold" => Value::from(s.to_lowercase()),
        "swapcase" => {
            Value::from(
                s.chars()
                    .map(|c| {
                        if c.is_uppercase() {
                            c.to_lowercase().collect::<String>()
                        } else {
                            c.to_uppercase().collect()
                        }
                    })
                    .collect::<String>(),
            )
        }
        _ => return Err(Error::from(ErrorKind::UnknownMethod)),
    })
}
