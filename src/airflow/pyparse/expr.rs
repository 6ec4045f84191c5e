//! Expressions of `pyparse`'s subset, by Python's precedence: conditional,
//! `or`/`and`/`not`, comparisons, binary operators, unary, `**`, calls,
//! attributes, subscripts and displays.
//!
//! Part of the parser (an `impl` of its `Parser`), kept apart for size; what
//! the subset does not evaluate still parses, into `Expr::Opaque`.

use super::{Expr, Kwarg, PResult, Parser};
use crate::pytoken::{Kind, Tok};

impl Parser<'_> {
    /// `a, b` at statement level is a tuple.
    pub(super) fn tuple_expr(&mut self) -> PResult<Expr> {
        let first = self.expr()?;
        if !self.at_op(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if self.peek().is_none() || self.at_op("=") {
                break;
            }
            items.push(self.expr()?);
        }
        Ok(Expr::List(items))
    }

    pub(super) fn expr(&mut self) -> PResult<Expr> {
        let start = self.pos;
        if self.at_name("lambda") {
            return Err("a lambda".into());
        }
        let e = self.or_expr()?;
        if self.at_name("if") {
            // `a if cond else b`: decided when the file runs.
            self.pos += 1;
            self.or_expr()?;
            if !self.at_name("else") {
                return Err("expected `else`".into());
            }
            self.pos += 1;
            self.expr()?;
            return Ok(Expr::Opaque(self.text(start, self.pos)));
        }
        Ok(e)
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        let mut left = self.and_expr()?;
        while self.at_name("or") {
            self.pos += 1;
            let right = self.and_expr()?;
            left = Expr::Binary("or".into(), Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        let start = self.pos;
        let mut left = self.not_expr()?;
        while self.at_name("and") {
            self.pos += 1;
            self.not_expr()?;
            left = Expr::Opaque(self.text(start, self.pos));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        let start = self.pos;
        if self.at_name("not") {
            self.pos += 1;
            self.not_expr()?;
            return Ok(Expr::Opaque(self.text(start, self.pos)));
        }
        let left = self.binary(0)?;
        let comparison = |t: &Tok| {
            (t.kind == Kind::Op && ["<", ">", "==", "!=", "<=", ">="].contains(&t.text.as_str()))
                || t.is_name("in")
                || t.is_name("is")
                || t.is_name("not")
        };
        if self.peek().is_some_and(comparison) {
            while self.peek().is_some_and(comparison) {
                self.pos += 1;
                if self.at_name("in") || self.at_name("not") {
                    self.pos += 1;
                }
                self.binary(0)?;
            }
            return Ok(Expr::Opaque(self.text(start, self.pos)));
        }
        Ok(left)
    }

    /// Binary operators by precedence level, lowest first.
    fn binary(&mut self, level: usize) -> PResult<Expr> {
        const LEVELS: &[&[&str]] = &[&["|"], &["^"], &["&"], &["<<", ">>"], &["+", "-"], &["*", "/", "//", "%", "@"]];
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        while let Some(op) = self.peek().filter(|t| t.kind == Kind::Op && ops.contains(&t.text.as_str())) {
            self.pos += 1;
            let right = self.binary(level + 1)?;
            left = Expr::Binary(op.text.clone(), Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.eat_op("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.eat_op("+") {
            return self.unary();
        }
        let start = self.pos;
        if self.eat_op("~") || self.at_name("await") {
            if self.at_name("await") {
                self.pos += 1;
            }
            self.unary()?;
            return Ok(Expr::Opaque(self.text(start, self.pos)));
        }
        let base = self.postfix()?;
        if self.eat_op("**") {
            let exp = self.unary()?;
            return Ok(Expr::Binary("**".into(), Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.atom()?;
        loop {
            if self.at_op("(") {
                let line = self.peek().map_or(0, |t| t.line);
                self.pos += 1;
                let (args, kwargs) = self.call_args()?;
                e = Expr::Call { func: Box::new(e), args, kwargs, line };
            } else if self.eat_op(".") {
                let name = self.peek().filter(|t| t.kind == Kind::Name).ok_or("expected a name after `.`")?;
                self.pos += 1;
                e = Expr::Attr(Box::new(e), name.text.clone());
            } else if self.eat_op("[") {
                let start = self.pos;
                let index = self.expr_or_opaque(&["]"], &[]);
                if self.at_op(":") || start == self.pos {
                    return Err("a slice".into());
                }
                self.expect_op("]")?;
                e = Expr::Subscript(Box::new(e), Box::new(index));
            } else {
                return Ok(e);
            }
        }
    }

    fn call_args(&mut self) -> PResult<(Vec<Expr>, Vec<Kwarg>)> {
        let (mut args, mut kwargs) = (Vec::new(), Vec::new());
        while !self.eat_op(")") {
            let line = self.peek().map_or(0, |t| t.line);
            let named = self.peek().filter(|t| t.kind == Kind::Name).is_some()
                && self.toks.get(self.pos + 1).is_some_and(|t| t.is_op("="));
            if named {
                let name = self.toks[self.pos].text.clone();
                self.pos += 2;
                kwargs.push(Kwarg { name: Some(name), value: self.expr_or_opaque(&[",", ")"], &[]), line });
            } else if self.eat_op("**") {
                kwargs.push(Kwarg { name: None, value: self.expr_or_opaque(&[",", ")"], &[]), line });
            } else {
                let star = self.eat_op("*");
                let value = self.expr_or_opaque(&[",", ")"], &[]);
                args.push(if star { Expr::Opaque(format!("*{}", opaque_text(&value))) } else { value });
            }
            if !self.eat_op(",") {
                self.expect_op(")")?;
                break;
            }
        }
        Ok((args, kwargs))
    }

    fn atom(&mut self) -> PResult<Expr> {
        let t = self.peek().ok_or("an expression ends early")?;
        let start = self.pos;
        self.pos += 1;
        match t.kind {
            Kind::Name => Ok(match t.text.as_str() {
                "None" => Expr::None,
                "True" => Expr::Bool(true),
                "False" => Expr::Bool(false),
                "yield" | "lambda" | "for" | "if" | "else" | "in" | "is" => return Err(format!("`{}`", t.text)),
                _ => Expr::Name(t.text.clone()),
            }),
            Kind::Number => Ok(number(&t.text).unwrap_or_else(|| Expr::Opaque(t.text.clone()))),
            Kind::Str { formatted } => {
                // Adjacent literals join into one string, as in Python.
                let (mut text, mut fmt) = (t.text.clone(), formatted);
                while let Some(Tok { kind: Kind::Str { formatted }, text: more, .. }) = self.peek() {
                    text.push_str(more);
                    fmt |= *formatted;
                    self.pos += 1;
                }
                Ok(if fmt { Expr::FStr(self.text(start, self.pos)) } else { Expr::Str(text) })
            }
            Kind::Op => match t.text.as_str() {
                "(" => self.display(")", start).map(|d| match d {
                    Ok((items, false)) if items.len() == 1 => items.into_iter().next().unwrap_or(Expr::None),
                    Ok((items, _)) => Expr::List(items),
                    Err(comprehension) => comprehension,
                }),
                "[" => self.display("]", start).map(|d| d.map_or_else(|c| c, |(items, _)| Expr::List(items))),
                "{" => self.dict_or_set(start),
                other => Err(format!("unexpected `{other}`")),
            },
        }
    }

    /// The items of a `(…)` or `[…]` display, and whether a comma trails the
    /// last one; or, for a comprehension, `Err` with it as an opaque value.
    fn display(&mut self, close: &str, start: usize) -> PResult<Result<(Vec<Expr>, bool), Expr>> {
        let mut items = Vec::new();
        let mut trailing = false;
        while !self.eat_op(close) {
            let e = self.expr_or_opaque(&[",", close], &["for"]);
            if self.at_name("for") {
                self.skip_to(close);
                return Ok(Err(Expr::Opaque(self.text(start, self.pos))));
            }
            items.push(e);
            trailing = self.eat_op(",");
            if !trailing {
                self.expect_op(close)?;
                break;
            }
        }
        Ok(Ok((items, trailing)))
    }

    fn dict_or_set(&mut self, start: usize) -> PResult<Expr> {
        let mut pairs = Vec::new();
        let mut set = Vec::new();
        while !self.eat_op("}") {
            if self.eat_op("**") {
                self.expr_or_opaque(&[",", "}"], &[]);
                self.skip_to("}");
                return Ok(Expr::Opaque(self.text(start, self.pos)));
            }
            let key = self.expr_or_opaque(&[",", "}", ":"], &["for"]);
            if self.eat_op(":") {
                let value = self.expr_or_opaque(&[",", "}"], &["for"]);
                pairs.push((key, value));
            } else {
                set.push(key);
            }
            if self.at_name("for") {
                self.skip_to("}");
                return Ok(Expr::Opaque(self.text(start, self.pos)));
            }
            if !self.eat_op(",") {
                self.expect_op("}")?;
                break;
            }
        }
        Ok(if set.is_empty() { Expr::Dict(pairs) } else { Expr::List(set) })
    }

    /// Skips to just after the `close` that ends the current display.
    fn skip_to(&mut self, close: &str) {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            self.pos += 1;
            if t.kind == Kind::Op {
                match t.text.as_str() {
                    "(" | "[" | "{" => depth += 1,
                    s if s == close && depth == 0 => return,
                    ")" | "]" | "}" => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
        }
    }
}

fn opaque_text(e: &Expr) -> String {
    match e {
        Expr::Opaque(s) | Expr::FStr(s) => s.clone(),
        Expr::Name(n) => n.clone(),
        other => format!("{other:?}"),
    }
}

fn number(text: &str) -> Option<Expr> {
    let t = text.replace('_', "");
    let lower = t.to_ascii_lowercase();
    let radix = |p: &str, r: u32| lower.strip_prefix(p).and_then(|d| i64::from_str_radix(d, r).ok()).map(Expr::Int);
    if lower.ends_with('j') {
        return None;
    }
    radix("0x", 16)
        .or_else(|| radix("0o", 8))
        .or_else(|| radix("0b", 2))
        .or_else(|| t.parse::<i64>().ok().map(Expr::Int))
        .or_else(|| t.parse::<f64>().ok().map(Expr::Float))
}
