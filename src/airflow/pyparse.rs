//! Statements and expressions of the Python subset cosmos DAG files use,
//! parsed from `pytoken`'s logical lines into a small syntax tree.
//!
//! What the subset does not cover (comprehensions, lambdas, comparisons,
//! conditional expressions, …) becomes [`Expr::Opaque`] holding its source
//! text, so one unreadable value never hides the rest of the file. No
//! evaluation here: that is `pyeval`'s job.

use crate::pytoken::{Kind, Line, Tok};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Name(String),
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// An f-string: its value is only known when the file runs.
    FStr(String),
    Attr(Box<Expr>, String),
    Call {
        func: Box<Expr>,
        args: Vec<Expr>,
        kwargs: Vec<Kwarg>,
        line: usize,
    },
    /// A list, tuple or set display.
    List(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Binary(String, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Subscript(Box<Expr>, Box<Expr>),
    /// What the subset does not read, as written.
    Opaque(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Kwarg {
    /// `None` for `**mapping`.
    pub name: Option<String>,
    pub value: Expr,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stmt {
    /// `a = b = value` (a target that is not a plain name is left out).
    Assign {
        targets: Vec<String>,
        value: Expr,
    },
    Expr(Expr),
    /// A `with` header: its context expressions and their `as` names.
    With(Vec<(Expr, Option<String>)>),
    /// The header of a block whose body may not run when the file is
    /// imported (`def`, `class`, `if`, `for`, `try`, …), and the names it binds.
    Block {
        keyword: String,
        names: Vec<String>,
    },
    /// Imports and statements with no value (`pass`, `assert`, …).
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement {
    pub indent: usize,
    pub line: usize,
    pub stmt: Stmt,
}

type PResult<T> = Result<T, String>;

const BLOCKS: &[&str] =
    &["def", "class", "if", "elif", "else", "for", "while", "try", "except", "finally", "async", "match", "case"];
const NO_VALUE: &[&str] =
    &["import", "from", "pass", "return", "raise", "assert", "del", "global", "nonlocal", "break", "continue"];

pub(crate) fn parse(src: &str, lines: &[Line]) -> Vec<Statement> {
    lines.iter().filter(|l| !l.toks.is_empty()).map(|l| statement(src, l)).collect()
}

fn statement(src: &str, l: &Line) -> Statement {
    let line = l.toks[0].line;
    let first = &l.toks[0];
    let mut p = Parser { src, toks: &l.toks, pos: 0 };
    let stmt = if first.kind == Kind::Name && NO_VALUE.contains(&first.text.as_str()) {
        Stmt::Other
    } else if first.is_op("@") {
        Stmt::Block { keyword: "decorator".into(), names: Vec::new() }
    } else if first.kind == Kind::Name
        && BLOCKS.contains(&first.text.as_str())
        && !l.toks.get(1).is_some_and(|t| t.is_op("="))
    {
        let names = match first.text.as_str() {
            "def" | "class" => l.toks.get(1).map(|t| vec![t.text.clone()]).unwrap_or_default(),
            "for" => l.toks[1..]
                .iter()
                .take_while(|t| !t.is_name("in"))
                .filter(|t| t.kind == Kind::Name)
                .map(|t| t.text.clone())
                .collect(),
            _ => Vec::new(),
        };
        Stmt::Block { keyword: first.text.clone(), names }
    } else if first.is_name("with") {
        p.pos = 1;
        p.with_items()
    } else {
        p.simple()
    };
    Statement { indent: l.indent, line, stmt }
}

struct Parser<'a> {
    src: &'a str,
    toks: &'a [Tok],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.pos)
    }

    fn at_op(&self, op: &str) -> bool {
        self.peek().is_some_and(|t| t.is_op(op))
    }

    fn at_name(&self, name: &str) -> bool {
        self.peek().is_some_and(|t| t.is_name(name))
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let hit = self.at_op(op);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect_op(&mut self, op: &str) -> PResult<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(format!("expected `{op}`"))
        }
    }

    /// Source text of tokens `from..to`.
    fn text(&self, from: usize, to: usize) -> String {
        match (self.toks.get(from), to.checked_sub(1).and_then(|i| self.toks.get(i))) {
            (Some(a), Some(b)) if b.end >= a.start => self.src[a.start..b.end].to_string(),
            _ => String::new(),
        }
    }

    fn with_items(&mut self) -> Stmt {
        let mut items = Vec::new();
        loop {
            let e = self.expr_or_opaque(&[",", ":"], &["as"]);
            let name = if self.at_name("as") {
                self.pos += 1;
                let n = self.peek().filter(|t| t.kind == Kind::Name).map(|t| t.text.clone());
                self.pos += 1;
                n
            } else {
                None
            };
            items.push((e, name));
            if !self.eat_op(",") {
                break;
            }
        }
        Stmt::With(items)
    }

    fn simple(&mut self) -> Stmt {
        let mut targets = Vec::new();
        let mut value = self.guarded(true, &["=", ":", "+=", "-=", "*=", "/=", "|=", ";"], &[]);
        loop {
            if self.eat_op("=") {
                if let Expr::Name(n) = &value {
                    targets.push(n.clone());
                }
                value = self.guarded(true, &["=", ";"], &[]);
            } else if self.at_op(":") && targets.is_empty() {
                // An annotated assignment: `name: type = value`.
                self.pos += 1;
                let _annotation = self.expr_or_opaque(&["=", ";"], &[]);
                if let Expr::Name(n) = &value {
                    targets.push(n.clone());
                }
                if !self.eat_op("=") {
                    return Stmt::Other;
                }
                value = self.expr_or_opaque(&["=", ";"], &[]);
            } else if self
                .peek()
                .is_some_and(|t| t.kind == Kind::Op && t.text.len() == 2 && t.text.ends_with('=') && t.text != "==")
            {
                // `x += 1` changes a name at import time: its value is no longer known.
                self.pos += 1;
                let name = if let Expr::Name(n) = &value { n.clone() } else { String::new() };
                let rest = self.expr_or_opaque(&[";"], &[]);
                let _ = rest;
                return Stmt::Assign {
                    targets: vec![name.clone()],
                    value: Expr::Opaque(format!("{name} changed in place")),
                };
            } else {
                break;
            }
        }
        if targets.is_empty() {
            Stmt::Expr(value)
        } else {
            Stmt::Assign { targets, value }
        }
    }

    /// An expression; what does not parse becomes `Opaque`, up to the next
    /// of `stops` (operators) or `stop_names` at bracket depth zero.
    fn expr_or_opaque(&mut self, stops: &[&str], stop_names: &[&str]) -> Expr {
        self.guarded(false, stops, stop_names)
    }

    /// [`Self::expr_or_opaque`], where `tuple` reads `a, b` as one tuple (a
    /// statement's value).
    fn guarded(&mut self, tuple: bool, stops: &[&str], stop_names: &[&str]) -> Expr {
        let start = self.pos;
        let parsed = if tuple { self.tuple_expr() } else { self.expr() };
        match parsed {
            Ok(e)
                if self.peek().is_none_or(|t| {
                    stops.contains(&t.text.as_str()) && t.kind == Kind::Op || stop_names.iter().any(|n| t.is_name(n))
                }) =>
            {
                e
            }
            _ => {
                self.pos = start;
                let mut depth = 0usize;
                while let Some(t) = self.peek() {
                    if depth == 0
                        && ((t.kind == Kind::Op && stops.contains(&t.text.as_str()))
                            || stop_names.iter().any(|n| t.is_name(n)))
                    {
                        break;
                    }
                    if t.kind == Kind::Op {
                        match t.text.as_str() {
                            "(" | "[" | "{" => depth += 1,
                            ")" | "]" | "}" => depth = depth.saturating_sub(1),
                            _ => {}
                        }
                    }
                    self.pos += 1;
                }
                Expr::Opaque(self.text(start, self.pos))
            }
        }
    }
}

mod expr;
