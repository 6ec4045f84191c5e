//! dbt's `modules.re`: Python's `re` functions.
//!
//! `match`, `search`, `fullmatch`, `findall`, `sub`, `split` (captured
//! separators included, as in Python), `escape` (Python's set of escaped
//! characters) and `compile`, with `re.I`/`re.M`/`re.S` flags. Patterns are
//! Python's: look-around and back-references work (the `fancy-regex` crate,
//! which hands what needs no backtracking to the `regex` crate's engine;
//! codegen's import-CTE macro looks ahead). Replacement strings use Python's
//! `\1` / `\g<name>`.

use fancy_regex::{Captures, Regex};
use minijinja::value::{from_args, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

const IGNORECASE: i64 = 2;
const MULTILINE: i64 = 8;
const DOTALL: i64 = 16;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// A match that could not finish (a backtracking pattern past its limit).
fn failed(e: fancy_regex::Error) -> Error {
    invalid(format!("regular expression failed: {e}"))
}

/// Compiled patterns, as Python's `re` keeps them: a macro calls `re.sub`
/// with the same pattern for every value it sees (dbt_utils' `slugify`, once
/// per pivoted value), and compiling one costs far more than using it. The
/// regex crate's `Regex` is shared cheaply; the memo is bounded as Python's is.
static COMPILED: Mutex<BTreeMap<(String, i64), Regex>> = Mutex::new(BTreeMap::new());
const MAX_COMPILED: usize = 512;

fn compile(pattern: &str, flags: i64) -> Result<Regex, Error> {
    let key = (pattern.to_string(), flags);
    if let Some(re) = COMPILED.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return Ok(re.clone());
    }
    let mut prefix = String::new();
    for (bit, c) in [(IGNORECASE, 'i'), (MULTILINE, 'm'), (DOTALL, 's')] {
        if flags & bit != 0 {
            prefix.push(c);
        }
    }
    let translated = translate(pattern);
    let full = if prefix.is_empty() { translated } else { format!("(?{prefix}){translated}") };
    let re = Regex::new(&full).map_err(|e| invalid(format!("invalid regular expression `{pattern}`: {e}")))?;
    let mut kept = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    if kept.len() >= MAX_COMPILED {
        kept.clear();
    }
    kept.insert(key, re.clone());
    Ok(re)
}

/// A Python pattern in the regex crate's syntax where the two differ
/// without either being wrong: a brace that starts no repetition is a
/// literal in Python (codegen's `{{\s*config`) and an error in the regex
/// crate; Python's `{,n}` is `{0,n}`; Python's `\Z` is the crate's `\z`.
fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len());
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                match chars.get(i + 1) {
                    Some('Z') => out.push_str("\\z"),
                    Some(&next) => {
                        out.push('\\');
                        out.push(next);
                    }
                    None => out.push('\\'),
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` first in a class (after any `^`) is a literal.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '{' if !in_class => match repetition(&chars[i + 1..]) {
                Some((text, used)) => {
                    out.push_str(&text);
                    i += used + 1;
                    continue;
                }
                None => out.push_str("\\{"),
            },
            '}' if !in_class => out.push_str("\\}"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// After a `{`: the repetition Python reads there (`m}`, `m,}`, `,n}`,
/// `m,n}`) in the crate's syntax with how many characters it used, or
/// `None` when the brace is a literal (`{}` and anything else).
fn repetition(rest: &[char]) -> Option<(String, usize)> {
    let digits = |from: usize| rest[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let lo = digits(0);
    let (hi, comma) = match rest.get(lo) {
        Some(',') => (Some(digits(lo + 1)), 1),
        _ => (None, 0),
    };
    let end = lo + comma + hi.unwrap_or(0);
    if rest.get(end) != Some(&'}') || (lo == 0 && hi.is_none()) {
        return None;
    }
    let low: String = if lo == 0 { "0".into() } else { rest[..lo].iter().collect() };
    let text = match hi {
        None => format!("{{{low}}}"),
        Some(h) => format!("{{{low},{}}}", rest[lo + 1..lo + 1 + h].iter().collect::<String>()),
    };
    Some((text, end + 1))
}

/// Python's replacement syntax (`\1`, `\g<name>`) in the regex crate's (`${1}`).
fn replacement(py: &str) -> String {
    let mut out = String::new();
    let mut chars = py.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        n.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    let name: String = chars.by_ref().skip(1).take_while(|c| *c != '>').collect();
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            _ => out.push(c),
        }
    }
    out
}

/// A compiled pattern (`re.compile`) or the module itself (pattern passed per call).
#[derive(Debug)]
struct Re(Option<(Regex, String)>);

/// A match: `group()`, `groups()`, `start()`, `end()`, `span()`.
#[derive(Debug)]
struct Match {
    groups: Vec<Option<(usize, usize, String)>>,
    names: Vec<Option<String>>,
}

impl Match {
    fn new(re: &Regex, caps: &Captures<'_, str>) -> Value {
        let groups = caps.iter().map(|m| m.map(|m| (m.start(), m.end(), m.as_str().to_string()))).collect();
        let names = re.capture_names().map(|n| n.map(str::to_string)).collect();
        Value::from_object(Match { groups, names })
    }

    fn group(&self, key: &Value) -> Result<Value, Error> {
        let i = match key.as_str() {
            Some(name) => self.names.iter().position(|n| n.as_deref() == Some(name)),
            None => key.as_usize(),
        }
        .filter(|i| *i < self.groups.len())
        .ok_or_else(|| invalid(format!("no such group {key}")))?;
        Ok(self.groups[i].as_ref().map(|g| Value::from(g.2.clone())).unwrap_or(Value::from(())))
    }
}

impl Object for Match {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let whole = self.groups[0].clone().unwrap_or_default();
        match method {
            "group" if args.len() > 1 => {
                Ok(Value::from(args.iter().map(|a| self.group(a)).collect::<Result<Vec<_>, _>>()?))
            }
            "group" => self.group(args.first().unwrap_or(&Value::from(0))),
            "groups" => Ok(Value::from(
                self.groups[1..]
                    .iter()
                    .map(|g| g.as_ref().map(|g| Value::from(g.2.clone())).unwrap_or(Value::from(())))
                    .collect::<Vec<_>>(),
            )),
            "start" => Ok(Value::from(whole.0)),
            "end" => Ok(Value::from(whole.1)),
            "span" => Ok(Value::from(vec![Value::from(whole.0), Value::from(whole.1)])),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

impl Object for Re {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "I" | "IGNORECASE" => Some(Value::from(IGNORECASE)),
            "M" | "MULTILINE" => Some(Value::from(MULTILINE)),
            "S" | "DOTALL" => Some(Value::from(DOTALL)),
            "pattern" => self.0.as_ref().map(|(_, p)| Value::from(p.clone())),
            _ => None,
        }
    }

    fn call_method(self: &Arc<Self>, _: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        if method == "escape" {
            let (s,): (&str,) = from_args(args)?;
            // Python's set of escaped characters (3.7+), not the regex crate's.
            let mut out = String::with_capacity(s.len());
            for c in s.chars() {
                if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            return Ok(Value::from(out));
        }
        // Keyword arguments (`flags=re.I`, `count=1`, `maxsplit=1`) come last, as one value.
        let (args, kwargs) = match args.split_last() {
            Some((last, positional)) if last.is_kwargs() => (positional, Some(Kwargs::try_from(last.clone())?)),
            _ => (args, None),
        };
        let keyword = |name: &str| -> Result<Option<Value>, Error> {
            kwargs.as_ref().map_or(Ok(None), |k| k.get::<Option<Value>>(name))
        };
        // The module takes the pattern first; a compiled pattern does not.
        let (re, rest) = match &self.0 {
            Some((re, _)) => (re.clone(), args),
            None => {
                let pattern = args
                    .first()
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(format!("`re.{method}` needs a pattern")))?;
                // Python's positions: sub(pattern, repl, string, count, flags),
                // split(pattern, string, maxsplit, flags), compile(pattern, flags),
                // match/search/fullmatch/findall(pattern, string, flags).
                let at = match method {
                    "sub" => 4,
                    "split" => 3,
                    "compile" => 1,
                    _ => 2,
                };
                let flags = match keyword("flags")? {
                    Some(v) => Some(v),
                    None => args.get(at).cloned(),
                };
                (compile(pattern, flags.as_ref().and_then(Value::as_i64).unwrap_or(0))?, &args[1..])
            }
        };
        let text = |i: usize| {
            rest.get(i).and_then(Value::as_str).ok_or_else(|| invalid(format!("`re.{method}` needs a string")))
        };
        match method {
            "compile" => {
                let pattern = re.as_str().to_string();
                Ok(Value::from_object(Re(Some((re, pattern)))))
            }
            "match" | "search" | "fullmatch" => {
                let s = text(0)?;
                let re = match method {
                    "search" => re,
                    _ => {
                        let end = if method == "fullmatch" { r"\z" } else { "" };
                        compile(&format!(r"\A(?:{}){end}", re.as_str()), 0)?
                    }
                };
                Ok(re.captures(s).map_err(failed)?.map(|c| Match::new(&re, &c)).unwrap_or(Value::from(())))
            }
            "findall" => {
                let s = text(0)?;
                let items: Vec<Value> = re
                    .captures_iter(s)
                    .map(|c| {
                        let c = c.map_err(failed)?;
                        let text = |i: usize| c.get(i).map(|m| m.as_str()).unwrap_or("");
                        Ok(match c.len() {
                            1 => Value::from(text(0)),
                            2 => Value::from(text(1)),
                            n => Value::from((1..n).map(|i| Value::from(text(i))).collect::<Vec<_>>()),
                        })
                    })
                    .collect::<Result<_, Error>>()?;
                Ok(Value::from(items))
            }
            "sub" => {
                let (repl, s) = (text(0)?, text(1)?);
                let count = keyword("count")?.or_else(|| rest.get(2).cloned()).and_then(|v| v.as_usize()).unwrap_or(0);
                Ok(Value::from(re.try_replacen(s, count, replacement(repl).as_str()).map_err(failed)?.into_owned()))
            }
            "split" => {
                let s = text(0)?;
                let max = keyword("maxsplit")?.or_else(|| rest.get(1).cloned()).and_then(|v| v.as_usize()).unwrap_or(0);
                // As Python's: the groups a separator captured go between the parts.
                let mut parts: Vec<Value> = Vec::new();
                let mut last = 0;
                for (n, caps) in re.captures_iter(s).enumerate() {
                    if max > 0 && n >= max {
                        break;
                    }
                    let caps = caps.map_err(failed)?;
                    let Some(whole) = caps.get(0) else { continue };
                    parts.push(Value::from(&s[last..whole.start()]));
                    for i in 1..caps.len() {
                        parts.push(caps.get(i).map(|m| Value::from(m.as_str())).unwrap_or(Value::from(())));
                    }
                    last = whole.end();
                }
                parts.push(Value::from(&s[last..]));
                Ok(Value::from(parts))
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

pub fn re_module() -> Value {
    Value::from_object(Re(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_only_brace_and_anchor_syntax_is_translated() {
        // What Python's `re` reads as literals or as repetitions.
        let cases = [
            (r"^.*{{\s*config\s*\([^)]+\)\s*}}", r"^.*\{\{\s*config\s*\([^)]+\)\s*\}\}"),
            ("a{2}b{1,}c{,3}d{2,4}", "a{2}b{1,}c{0,3}d{2,4}"),
            ("x{}y{,}z{a}", r"x\{\}y{0,}z\{a\}"),
            (r"[{}]\{\Z", r"[{}]\{\z"),
            (r"[]{]x{", r"[\]{]x\{"),
        ];
        for (python, crate_syntax) in cases {
            assert_eq!(translate(python), crate_syntax, "{python}");
            assert!(Regex::new(&translate(python)).is_ok(), "{python}");
        }
        let re = compile(r"{{\s*config\(", 0).expect("compiles");
        assert_eq!(re.is_match("{{ config(materialized='table') }}").ok(), Some(true));
        assert_eq!(compile("ab{,2}c", 0).expect("compiles").is_match("abbc").ok(), Some(true));
    }
}
