//! A partial parser of minijinja expressions: enough to find the operands of
//! the operators [`super`] rewrites, and to write the expression back with
//! those operators turned into calls.

use super::lex::{Kind, Tok};
use super::{FN_ADD, FN_DIV, FN_FLOORDIV, FN_MUL, FN_NEG, FN_SUB};

/// A parsed piece of an expression: either copied (with rewritten parts
/// inside) or one of the rewritten operators.
#[derive(Debug)]
pub enum Node {
    Span { start: usize, end: usize, kids: Vec<Node> },
    Bin { func: &'static str, op: Tok, left: Box<Node>, right: Box<Node> },
    Neg { op: Tok, operand: Box<Node> },
}

impl Node {
    fn start(&self) -> usize {
        match self {
            Node::Span { start, .. } => *start,
            Node::Bin { left, .. } => left.start(),
            Node::Neg { op, .. } => op.start,
        }
    }

    fn end(&self) -> usize {
        match self {
            Node::Span { end, .. } => *end,
            Node::Bin { right, .. } => right.end(),
            Node::Neg { operand, .. } => operand.end(),
        }
    }

    pub fn rewrites(&self) -> bool {
        match self {
            Node::Span { kids, .. } => kids.iter().any(Node::rewrites),
            _ => true,
        }
    }

    fn leaf(t: Tok) -> Node {
        Node::Span { start: t.start, end: t.end, kids: Vec::new() }
    }

    /// Writes the node, keeping every newline of the source.
    pub fn emit(&self, src: &str, out: &mut String) {
        match self {
            Node::Span { start, end, kids } => {
                let mut at = *start;
                for k in kids {
                    out.push_str(&src[at..k.start()]);
                    k.emit(src, out);
                    at = k.end();
                }
                out.push_str(&src[at..*end]);
            }
            Node::Bin { func, op, left, right } => {
                out.push_str(func);
                out.push('(');
                left.emit(src, out);
                out.push(',');
                // Only the newlines of the space before the operator matter.
                out.extend(src[left.end()..op.start].chars().filter(|c| *c == '\n'));
                out.push_str(&src[op.end..right.start()]);
                right.emit(src, out);
                out.push(')');
            }
            Node::Neg { op, operand } => {
                out.push_str(FN_NEG);
                out.push('(');
                out.push_str(&src[op.end..operand.start()]);
                operand.emit(src, out);
                out.push(')');
            }
        }
    }
}

/// Just enough of minijinja's expression grammar to find the operands of
/// `+ - * / //` and unary `-`; anything it does not follow gives `None`,
/// and the tag is left as written.
pub struct Parser<'a> {
    pub src: &'a str,
    pub toks: &'a [Tok],
    pub pos: usize,
}

const NOT_OPERANDS: &[&str] = &["and", "or", "not", "if", "else", "in", "is"];

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<(Kind, &'a str)> {
        self.toks.get(self.pos).map(|t| (t.kind, t.text(self.src)))
    }

    fn is(&self, kind: Kind, text: &str) -> bool {
        self.peek() == Some((kind, text))
    }

    fn starts_operand(&self) -> bool {
        match self.peek() {
            Some((Kind::Ident, w)) => !NOT_OPERANDS.contains(&w),
            Some((Kind::Num | Kind::Str | Kind::Open, _)) => true,
            Some((Kind::Op, "-")) => true,
            _ => false,
        }
    }

    /// A run of expressions and the separators between them (`,`, `=`, `:`,
    /// comparisons, `and`, `if`, keywords …), up to the `close` bracket.
    pub fn seq(&mut self, close: Option<&str>) -> Option<Vec<Node>> {
        let mut kids = Vec::new();
        loop {
            match self.peek() {
                None => return close.is_none().then_some(kids),
                Some((Kind::Close, c)) => return (close == Some(c)).then_some(kids),
                _ if self.starts_operand() => kids.push(self.sum()?),
                _ => self.pos += 1,
            }
        }
    }

    fn sum(&mut self) -> Option<Node> {
        let mut left = self.concat()?;
        while let Some((Kind::Op, op @ ("+" | "-"))) = self.peek() {
            let func = if op == "+" { FN_ADD } else { FN_SUB };
            let op = self.toks[self.pos];
            self.pos += 1;
            let right = self.concat()?;
            left = Node::Bin { func, op, left: Box::new(left), right: Box::new(right) };
        }
        Some(left)
    }

    /// `~` binds tighter than `+` in Jinja and is never rewritten.
    fn concat(&mut self) -> Option<Node> {
        let mut left = self.product()?;
        while self.is(Kind::Op, "~") {
            self.pos += 1;
            let right = self.product()?;
            left = Node::Span { start: left.start(), end: right.end(), kids: vec![left, right] };
        }
        Some(left)
    }

    fn product(&mut self) -> Option<Node> {
        let mut left = self.power()?;
        while let Some((Kind::Op, op @ ("*" | "/" | "//" | "%"))) = self.peek() {
            let func = match op {
                "*" => Some(FN_MUL),
                "/" => Some(FN_DIV),
                "//" => Some(FN_FLOORDIV),
                _ => None,
            };
            let op = self.toks[self.pos];
            self.pos += 1;
            let right = self.power()?;
            left = match func {
                Some(func) => Node::Bin { func, op, left: Box::new(left), right: Box::new(right) },
                None => Node::Span { start: left.start(), end: right.end(), kids: vec![left, right] },
            };
        }
        Some(left)
    }

    fn power(&mut self) -> Option<Node> {
        let mut left = self.unary()?;
        while self.is(Kind::Op, "**") {
            self.pos += 1;
            let right = self.unary()?;
            left = Node::Span { start: left.start(), end: right.end(), kids: vec![left, right] };
        }
        Some(left)
    }

    /// An operand with its postfixes, then filters and tests (which apply to a negation).
    fn unary(&mut self) -> Option<Node> {
        let node = self.unary_only()?;
        let node = self.postfix(node)?;
        self.filters(node)
    }

    /// `-x.y` negates `x.y`; a negative number literal stays as written.
    fn unary_only(&mut self) -> Option<Node> {
        if !self.is(Kind::Op, "-") {
            return self.primary();
        }
        let op = self.toks[self.pos];
        self.pos += 1;
        let operand = self.unary_only()?;
        let operand = self.postfix(operand)?;
        let literal = matches!(&operand, Node::Span { start, kids, .. }
            if kids.is_empty() && self.src[*start..].starts_with(|c: char| c.is_ascii_digit()));
        Some(if literal {
            Node::Span { start: op.start, end: operand.end(), kids: Vec::new() }
        } else {
            Node::Neg { op, operand: Box::new(operand) }
        })
    }

    fn primary(&mut self) -> Option<Node> {
        let t = *self.toks.get(self.pos)?;
        self.pos += 1;
        match t.kind {
            Kind::Ident | Kind::Num => Some(Node::leaf(t)),
            Kind::Str => {
                // Adjacent string literals are one constant.
                let mut end = t.end;
                while let Some(next) = self.toks.get(self.pos).filter(|n| n.kind == Kind::Str) {
                    end = next.end;
                    self.pos += 1;
                }
                Some(Node::Span { start: t.start, end, kids: Vec::new() })
            }
            Kind::Open => self.group(t),
            _ => None,
        }
    }

    /// `(…)`, `[…]` or `{…}` whose opening token `open` was just consumed.
    fn group(&mut self, open: Tok) -> Option<Node> {
        let close = match open.text(self.src) {
            "(" => ")",
            "[" => "]",
            _ => "}",
        };
        let kids = self.seq(Some(close))?;
        let end = self.toks[self.pos].end;
        self.pos += 1;
        Some(Node::Span { start: open.start, end, kids })
    }

    /// `.name`, `.0`, `[…]` and `(…)` after an operand.
    fn postfix(&mut self, mut node: Node) -> Option<Node> {
        loop {
            let wrapped = match self.peek() {
                Some((Kind::Op, ".")) => {
                    self.pos += 1;
                    let name = self.toks.get(self.pos).filter(|t| matches!(t.kind, Kind::Ident | Kind::Num))?;
                    self.pos += 1;
                    Node::Span { start: node.start(), end: name.end, kids: vec![node] }
                }
                Some((Kind::Open, "(" | "[")) => {
                    let open = self.toks[self.pos];
                    self.pos += 1;
                    let group = self.group(open)?;
                    Node::Span { start: node.start(), end: group.end(), kids: vec![node, group] }
                }
                _ => return Some(node),
            };
            node = wrapped;
        }
    }

    /// `| name(args)` and `is [not] name [arg]`.
    fn filters(&mut self, mut node: Node) -> Option<Node> {
        loop {
            let test = match self.peek() {
                Some((Kind::Op, "|")) => false,
                Some((Kind::Ident, "is")) => true,
                _ => return Some(node),
            };
            self.pos += 1;
            if test && self.is(Kind::Ident, "not") {
                self.pos += 1;
            }
            let mut end = self.toks.get(self.pos).filter(|t| t.kind == Kind::Ident)?.end;
            self.pos += 1;
            while self.is(Kind::Op, ".") {
                self.pos += 1;
                end = self.toks.get(self.pos).filter(|t| t.kind == Kind::Ident)?.end;
                self.pos += 1;
            }
            let mut kids = vec![node];
            if self.is(Kind::Open, "(") {
                let open = self.toks[self.pos];
                self.pos += 1;
                let args = self.group(open)?;
                end = args.end();
                kids.push(args);
            } else if test && self.test_arg() {
                let arg = self.unary_only()?;
                let arg = self.postfix(arg)?;
                end = arg.end();
                kids.push(arg);
            }
            node = Node::Span { start: kids[0].start(), end, kids };
        }
    }

    /// Whether `x is test` is followed by a bare argument, as minijinja decides.
    fn test_arg(&self) -> bool {
        match self.peek() {
            Some((Kind::Ident, w)) => !matches!(w, "and" | "or" | "else" | "is"),
            Some((Kind::Str | Kind::Num, _)) => true,
            Some((Kind::Open, "[" | "{")) => true,
            Some((Kind::Op, "+" | "-")) => true,
            _ => false,
        }
    }
}
