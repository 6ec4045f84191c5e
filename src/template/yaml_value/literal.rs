//! Python's `ast.literal_eval` over the text an `as_bool`, `as_number` or
//! `as_native` filter marks, which is what dbt's native renderer does with
//! it: `None`, `True`, `False`, numbers, quoted strings, lists, tuples
//! (as lists), dicts and sets (as lists). A text that is no such literal
//! gives `None`, and dbt then keeps the text as it is. Pure.

use serde_yaml::{Mapping, Number, Value};

/// The literal `text` spells, as Python 3.11's `ast.literal_eval` reads it
/// (leading spaces and tabs skipped), or `None`.
pub(super) fn eval(text: &str) -> Option<Value> {
    let mut p = Parser { s: text.trim_start_matches([' ', '\t']).as_bytes(), i: 0 };
    let v = p.expr()?;
    p.space();
    (p.i == p.s.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.space();
        let hit = self.s.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }

    /// A literal, with a leading sign on numbers.
    fn expr(&mut self) -> Option<Value> {
        self.space();
        match *self.s.get(self.i)? {
            b'[' => {
                self.i += 1;
                self.items(b']').map(Value::Sequence)
            }
            b'(' => {
                self.i += 1;
                self.space();
                if self.eat(b')') {
                    return Some(Value::Sequence(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat(b')') {
                    // `(1)` is the number, `(1,)` the tuple.
                    return Some(first);
                }
                if !self.eat(b',') {
                    return None;
                }
                let mut items = vec![first];
                items.extend(self.items(b')')?);
                Some(Value::Sequence(items))
            }
            b'{' => {
                self.i += 1;
                self.braces()
            }
            b'\'' | b'"' => self.string().map(Value::String),
            b'-' | b'+' | b'0'..=b'9' | b'.' => self.number(),
            _ => self.word(),
        }
    }

    /// Comma-separated literals up to `close` (a trailing comma allowed).
    fn items(&mut self, close: u8) -> Option<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Some(out);
            }
            out.push(self.expr()?);
            if !self.eat(b',') {
                return self.eat(close).then_some(out);
            }
        }
    }

    /// A dict (`{k: v}`) or a set (`{a, b}`, as a list) after its `{`.
    fn braces(&mut self) -> Option<Value> {
        if self.eat(b'}') {
            return Some(Value::Mapping(Mapping::new()));
        }
        let first = self.expr()?;
        if !self.eat(b':') {
            let mut items = vec![first];
            if self.eat(b',') {
                items.extend(self.items(b'}')?);
            } else if !self.eat(b'}') {
                return None;
            }
            return Some(Value::Sequence(items));
        }
        let mut m = Mapping::new();
        m.insert(first, self.expr()?);
        loop {
            if self.eat(b'}') {
                return Some(Value::Mapping(m));
            }
            if !self.eat(b',') {
                return None;
            }
            if self.eat(b'}') {
                return Some(Value::Mapping(m));
            }
            let k = self.expr()?;
            if !self.eat(b':') {
                return None;
            }
            m.insert(k, self.expr()?);
        }
    }

    fn word(&mut self) -> Option<Value> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
            self.i += 1;
        }
        match &self.s[start..self.i] {
            b"None" => Some(Value::Null),
            b"True" => Some(Value::Bool(true)),
            b"False" => Some(Value::Bool(false)),
            _ => None,
        }
    }

    /// An int or float literal (decimal, `_` separators, exponent), signed.
    fn number(&mut self) -> Option<Value> {
        let mut negative = false;
        while let Some(c @ (b'-' | b'+')) = self.s.get(self.i).copied() {
            negative ^= c == b'-';
            self.i += 1;
            self.space();
        }
        let start = self.i;
        let mut float = false;
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'0'..=b'9' | b'_' => {}
                b'.' => float = true,
                b'e' | b'E' => {
                    float = true;
                    if matches!(self.s.get(self.i + 1), Some(b'+' | b'-')) {
                        self.i += 1;
                    }
                }
                _ => break,
            }
            self.i += 1;
        }
        let text: String = std::str::from_utf8(&self.s[start..self.i]).ok()?.replace('_', "");
        if text.is_empty() || text == "." {
            return None;
        }
        if float {
            let f: f64 = text.parse().ok()?;
            return Some(Value::Number(Number::from(if negative { -f } else { f })));
        }
        // Python reads `007` as an error; so does this.
        if text.len() > 1 && text.starts_with('0') && text.bytes().any(|b| b != b'0') {
            return None;
        }
        let n: i64 = text.parse().ok()?;
        Some(Value::Number(Number::from(if negative { -n } else { n })))
    }

    /// A quoted string with Python's common escapes; adjacent literals join.
    fn string(&mut self) -> Option<String> {
        let mut out = String::new();
        while let Some(&q @ (b'\'' | b'"')) = self.s.get(self.i) {
            self.i += 1;
            let text = std::str::from_utf8(&self.s[self.i..]).ok()?;
            let mut chars = text.char_indices();
            loop {
                let (at, c) = chars.next()?;
                match c {
                    c if c == q as char => {
                        self.i += at + 1;
                        break;
                    }
                    '\n' => return None,
                    '\\' => {
                        let (_, e) = chars.next()?;
                        match e {
                            'n' => out.push('\n'),
                            't' => out.push('\t'),
                            'r' => out.push('\r'),
                            '0' => out.push('\0'),
                            '\\' | '\'' | '"' => out.push(e),
                            '\n' => {}
                            other => {
                                out.push('\\');
                                out.push(other);
                            }
                        }
                    }
                    c => out.push(c),
                }
            }
            self.space();
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::eval;
    use serde_yaml::Value;

    fn y(text: &str) -> Value {
        serde_yaml::from_str(text).expect("yaml")
    }

    #[test]
    fn reads_what_literal_eval_reads() {
        assert_eq!(eval("True"), Some(Value::Bool(true)));
        assert_eq!(eval(" False "), Some(Value::Bool(false)));
        assert_eq!(eval("None"), Some(Value::Null));
        assert_eq!(eval("7"), Some(y("7")));
        assert_eq!(eval("-1_000"), Some(y("-1000")));
        assert_eq!(eval("1.5e2"), Some(y("150.0")));
        assert_eq!(eval("'a\\'b'"), Some(Value::String("a'b".into())));
        assert_eq!(eval("[1, 'x', None,]"), Some(y("[1, x, null]")));
        assert_eq!(eval("(1,)"), Some(y("[1]")));
        assert_eq!(eval("(1)"), Some(y("1")));
        assert_eq!(eval("{'a': [1, 2], 'b': True}"), Some(y("{a: [1, 2], b: true}")));
        assert_eq!(eval("{}"), Some(y("{}")));
    }

    #[test]
    fn what_is_no_literal_gives_none() {
        for text in ["false", "true", "yes", "x", "007", "[1", "1 2", "", "'a", "{'a'}x"] {
            assert_eq!(eval(text), None, "{text}");
        }
    }
}
