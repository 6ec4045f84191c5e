//! Python's `+`, `-`, `*`, `/`, `//` and unary `-` for datetimes, dates and
//! timedeltas, which minijinja cannot overload on objects.
//!
//! [`rewrite_datetime_arithmetic`] turns `a - b` into `__py_sub(a, b)` in the
//! template text before it compiles, but only inside `{{ … }}` / `{% … %}`
//! whose names suggest date values (`run_started_at`, `timedelta`,
//! `modules.datetime`, `.days`, … and names `{% set %}` from such tags), never
//! in SQL text, string literals, comments or `{% raw %}` blocks. Newlines are
//! kept, so error lines stay right. The functions [`install`]ed for the
//! rewrite hand non-date operands to minijinja's own operators, so a rewritten
//! `1 + 2` or `'a' + 'b'` means what it meant. The date arithmetic itself is
//! [`super::pydelta`]'s; this module knows nothing of dbt's context.

use super::pydelta::{self, Op};
use minijinja::{context, Environment, Error, Value};
use std::collections::BTreeSet;
use std::sync::LazyLock;

pub(super) mod lex;
mod parse;

use lex::{scan, Block, Kind, Tok};
use parse::{Node, Parser};

const FN_ADD: &str = "__py_add";
const FN_SUB: &str = "__py_sub";
const FN_MUL: &str = "__py_mul";
const FN_DIV: &str = "__py_div";
const FN_FLOORDIV: &str = "__py_floordiv";
const FN_NEG: &str = "__py_neg";

/// Names that make a tag worth rewriting: any `+`/`-` near them may involve a date.
const TRIGGERS: &[&str] = &[
    "run_started_at",
    "datetime",
    "date",
    "timedelta",
    "strptime",
    "fromisoformat",
    "now",
    "utcnow",
    "today",
    "days",
    "seconds",
    "microseconds",
    "total_seconds",
];

/// Registers the functions the rewrite calls.
pub fn install(env: &mut Environment<'static>) {
    env.add_function(FN_ADD, |a: Value, b: Value| binary(Op::Add, a, b));
    env.add_function(FN_SUB, |a: Value, b: Value| binary(Op::Sub, a, b));
    env.add_function(FN_MUL, |a: Value, b: Value| binary(Op::Mul, a, b));
    env.add_function(FN_DIV, |a: Value, b: Value| binary(Op::Div, a, b));
    env.add_function(FN_FLOORDIV, |a: Value, b: Value| binary(Op::FloorDiv, a, b));
    env.add_function(FN_NEG, |a: Value| match pydelta::neg(&a)? {
        Some(v) => Ok(v),
        None => plain("-a", a, Value::from(())),
    });
}

fn binary(op: Op, a: Value, b: Value) -> Result<Value, Error> {
    if let Some(v) = pydelta::arith(op, &a, &b)? {
        return Ok(v);
    }
    let expr = match op {
        Op::Add => "a + b",
        Op::Sub => "a - b",
        Op::Mul => "a * b",
        Op::Div => "a / b",
        Op::FloorDiv => "a // b",
    };
    plain(expr, a, b)
}

/// The expressions [`plain`] evaluates; each is compiled once per process,
/// as a rewritten `+` can sit in a loop over thousands of items.
const PLAIN: &[&str] = &["a + b", "a - b", "a * b", "a / b", "a // b", "-a"];

/// minijinja's own meaning of `expr` (one of [`PLAIN`]) over `a` and `b`.
fn plain(expr: &'static str, a: Value, b: Value) -> Result<Value, Error> {
    static ENV: LazyLock<Environment<'static>> = LazyLock::new(Environment::new);
    static COMPILED: LazyLock<Vec<(&'static str, Result<minijinja::Expression<'static, 'static>, Error>)>> =
        LazyLock::new(|| PLAIN.iter().map(|e| (*e, ENV.compile_expression(e))).collect());
    // The inner expression's location means nothing to the template; an
    // error without one gets the caller's line from minijinja.
    let strip = |e: &Error| Error::new(e.kind(), e.detail().map(str::to_string).unwrap_or_default());
    match COMPILED.iter().find(|(e, _)| *e == expr) {
        Some((_, Ok(compiled))) => compiled.eval(context! { a => a, b => b }).map_err(|e| strip(&e)),
        Some((_, Err(e))) => Err(strip(e)),
        None => Err(Error::new(minijinja::ErrorKind::InvalidOperation, format!("no plain meaning for `{expr}`"))),
    }
}

/// Rewrites date arithmetic in template `text` into calls (see the module doc).
pub fn rewrite_datetime_arithmetic(text: &str) -> String {
    let blocks = scan(text);
    let mut names: BTreeSet<&str> = TRIGGERS.iter().copied().collect();
    // Names set from date-like tags are date-like too; a few passes settle it.
    for _ in 0..4 {
        let before = names.len();
        for b in &blocks {
            if b.toks.iter().any(|t| t.kind == Kind::Ident && names.contains(t.text(text))) {
                names.extend(assigned(b, text));
            }
        }
        if names.len() == before {
            break;
        }
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for b in &blocks {
        let triggered = b.toks.iter().any(|t| t.kind == Kind::Ident && names.contains(t.text(text)));
        let has_op = b.toks.iter().any(|t| t.kind == Kind::Op && matches!(t.text(text), "+" | "-" | "*" | "/" | "//"));
        if !(triggered && has_op) {
            continue;
        }
        let toks: &[Tok] = if b.tag && b.toks.first().is_some_and(|t| t.kind == Kind::Ident) {
            // The statement keyword (`set`, `if`, `for`, …) is not an operand.
            &b.toks[1..]
        } else {
            &b.toks
        };
        let mut p = Parser { src: text, toks, pos: 0 };
        let Some(kids) = p.seq(None) else { continue };
        if kids.iter().all(|k| !k.rewrites()) {
            continue;
        }
        out.push_str(&text[at..b.start]);
        let node = Node::Span { start: b.start, end: b.end, kids };
        node.emit(text, &mut out);
        at = b.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Names a `{% set a, b = … %}` or `{% for a, b in … %}` tag binds.
fn assigned<'t>(b: &Block, text: &'t str) -> Vec<&'t str> {
    let words: Vec<&str> = b.toks.iter().map(|t| t.text(text)).collect();
    let end = match words.first() {
        Some(&"set") => words.iter().position(|w| *w == "="),
        Some(&"for") => words.iter().position(|w| *w == "in"),
        _ => None,
    };
    let Some(end) = end else { return Vec::new() };
    b.toks[1..end].iter().filter(|t| t.kind == Kind::Ident).map(|t| t.text(text)).collect()
}

#[cfg(test)]
mod tests;
