//! Python literals, read from tokens as `ast.literal_eval` reads them: the
//! arguments dbt accepts in `dbt.ref`, `dbt.source`, `dbt.config` and
//! `dbt.config.get` calls (strings, with implicit concatenation, numbers,
//! signed numbers, `True`/`False`/`None`, and tuples, lists, sets and dicts
//! of those). Anything else — a name, a call, an f-string, arithmetic — is
//! refused with what was found, because dbt reads these calls without
//! running the file. Pure: tokens in, a YAML value out.

use crate::pytoken::{Kind, Tok};
use serde_yaml::{Mapping, Value};

/// The value of the literal spanning all of `toks`, or what is not a literal.
pub(crate) fn eval(toks: &[Tok]) -> Result<Value, String> {
    let mut r = Reader { toks, pos: 0 };
    let v = r.value()?;
    match r.toks.get(r.pos) {
        None => Ok(v),
        Some(t) => Err(format!("`{}` after a literal", t.text)),
    }
}

struct Reader<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let hit = self.peek().is_some_and(|t| t.is_op(op));
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn value(&mut self) -> Result<Value, String> {
        let Some(t) = self.peek().cloned() else {
            return Err("nothing where a literal should be".into());
        };
        self.pos += 1;
        match t.kind {
            Kind::Str { formatted: true } => Err("an f-string".into()),
            Kind::Str { .. } => {
                let mut text = t.text;
                // Adjacent strings are one literal, as in Python.
                while let Some(next) = self.peek().filter(|n| matches!(n.kind, Kind::Str { .. })) {
                    if next.kind == (Kind::Str { formatted: true }) {
                        return Err("an f-string".into());
                    }
                    text.push_str(&next.text);
                    self.pos += 1;
                }
                Ok(Value::String(text))
            }
            Kind::Number => number(&t.text, false),
            Kind::Name => match t.text.as_str() {
                "True" => Ok(Value::Bool(true)),
                "False" => Ok(Value::Bool(false)),
                "None" => Ok(Value::Null),
                other => Err(format!("the name `{other}`")),
            },
            Kind::Op => match t.text.as_str() {
                sign @ ("-" | "+") => match self.peek().cloned() {
                    Some(n) if n.kind == Kind::Number => {
                        self.pos += 1;
                        number(&n.text, sign == "-")
                    }
                    _ => Err(format!("`{sign}` before something that is not a number")),
                },
                "(" => self.items(")").map(|(items, tuple)| {
                    if tuple {
                        Value::Sequence(items)
                    } else {
                        items.into_iter().next().unwrap_or(Value::Null)
                    }
                }),
                "[" => self.items("]").map(|(items, _)| Value::Sequence(items)),
                "{" => self.braces(),
                other => Err(format!("`{other}`")),
            },
        }
    }

    /// Comma-separated values up to `close`; true when they form a tuple (a
    /// comma was written, or nothing at all).
    fn items(&mut self, close: &str) -> Result<(Vec<Value>, bool), String> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            if self.eat_op(close) {
                let tuple = comma || items.is_empty();
                return Ok((items, tuple));
            }
            items.push(self.value()?);
            if self.eat_op(",") {
                comma = true;
            } else if !self.peek().is_some_and(|t| t.is_op(close)) {
                return Err(self.unexpected(close));
            }
        }
    }

    /// A dict or a set display, after its `{`.
    fn braces(&mut self) -> Result<Value, String> {
        let mut map = Mapping::new();
        let mut set = Vec::new();
        loop {
            if self.eat_op("}") {
                return Ok(if set.is_empty() { Value::Mapping(map) } else { Value::Sequence(set) });
            }
            let key = self.value()?;
            if self.eat_op(":") {
                if !set.is_empty() {
                    return Err("a `:` inside a set".into());
                }
                let value = self.value()?;
                map.insert(key, value);
            } else if map.is_empty() {
                set.push(key);
            } else {
                return Err("a dict entry without `:`".into());
            }
            if !self.eat_op(",") && !self.peek().is_some_and(|t| t.is_op("}")) {
                return Err(self.unexpected("}"));
            }
        }
    }

    fn unexpected(&self, close: &str) -> String {
        match self.peek() {
            Some(t) => format!("`{}` where `,` or `{close}` should be", t.text),
            None => format!("no closing `{close}`"),
        }
    }
}

/// A number token as Python reads it (`1_000`, `0x1f`, `1e3`); complex numbers are refused.
fn number(text: &str, negative: bool) -> Result<Value, String> {
    let t = text.replace('_', "");
    let lower = t.to_ascii_lowercase();
    let sign = if negative { -1 } else { 1 };
    let radix = |p: &str, r: u32| lower.strip_prefix(p).and_then(|d| i64::from_str_radix(d, r).ok());
    let int = radix("0x", 16).or_else(|| radix("0o", 8)).or_else(|| radix("0b", 2)).or_else(|| t.parse::<i64>().ok());
    if let Some(i) = int {
        return Ok(Value::Number((sign * i).into()));
    }
    match t.parse::<f64>() {
        Ok(f) if !lower.ends_with('j') => Ok(Value::Number((f * sign as f64).into())),
        _ => Err(format!("the number `{text}`, which runner cannot read")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pytoken::tokenize;

    fn lit(src: &str) -> Result<Value, String> {
        let toks = tokenize(src).expect("tokens");
        eval(&toks.lines[0].toks)
    }

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).expect("yaml")
    }

    #[test]
    fn literals_read_as_literal_eval_reads_them() {
        assert_eq!(lit("'a' \"b\""), Ok(Value::String("ab".into())));
        assert_eq!(lit("-1_000"), Ok(yaml("-1000")));
        assert_eq!(lit("0x1f"), Ok(yaml("31")));
        assert_eq!(lit("2.5e1"), Ok(yaml("25.0")));
        assert_eq!(lit("None"), Ok(Value::Null));
        assert_eq!(lit("(True, False)"), Ok(yaml("[true, false]")));
        assert_eq!(lit("('x')"), Ok(yaml("x")));
        assert_eq!(lit("('x',)"), Ok(yaml("[x]")));
        assert_eq!(lit("()"), Ok(yaml("[]")));
        assert_eq!(lit("['a', ['b'], {'k': 1, 'l': [2]},]"), Ok(yaml("[a, [b], {k: 1, l: [2]}]")));
        assert_eq!(lit("{'a', 'b'}"), Ok(yaml("[a, b]")));
        assert_eq!(lit("{}"), Ok(yaml("{}")));
    }

    #[test]
    fn what_is_not_a_literal_says_what_it_is() {
        assert_eq!(lit("name"), Err("the name `name`".into()));
        assert_eq!(lit("f'x{y}'"), Err("an f-string".into()));
        assert_eq!(lit("'a' f'b'"), Err("an f-string".into()));
        assert_eq!(lit("1 + 2"), Err("`+` after a literal".into()));
        assert_eq!(lit("str(1)"), Err("the name `str`".into()));
        assert_eq!(lit("-x"), Err("`-` before something that is not a number".into()));
        assert_eq!(lit("[1 2]"), Err("`2` where `,` or `]` should be".into()));
        assert_eq!(lit("{1: 2, 3}"), Err("a dict entry without `:`".into()));
        assert_eq!(lit("1j"), Err("the number `1j`, which runner cannot read".into()));
    }
}
