//! Finds the `{{ … }}` / `{% … %}` blocks of a template (skipping comments
//! and `{% raw %}`) and splits each into tokens as minijinja's lexer would;
//! it decides nothing about what to rewrite.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ident,
    Num,
    Str,
    Open,
    Close,
    Op,
}

#[derive(Debug, Clone, Copy)]
pub struct Tok {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

impl Tok {
    pub fn text<'t>(&self, src: &'t str) -> &'t str {
        &src[self.start..self.end]
    }
}

/// The inside of one `{{ … }}` or `{% … %}`, whitespace markers excluded.
pub struct Block {
    pub tag: bool,
    pub start: usize,
    pub end: usize,
    pub toks: Vec<Tok>,
}

/// Every expression block of a template, skipping comments and raw blocks.
pub fn scan(text: &str) -> Vec<Block> {
    let bytes = text.as_bytes();
    let mut blocks = Vec::new();
    let mut i = 0;
    while let Some(off) = text[i..].find('{') {
        let at = i + off;
        match bytes.get(at + 1) {
            Some(b'#') => match text[at + 2..].find("#}") {
                Some(e) => i = at + 2 + e + 2,
                None => break,
            },
            Some(&c) if c == b'{' || c == b'%' => {
                let tag = c == b'%';
                let mut start = at + 2;
                if matches!(bytes.get(start), Some(b'-' | b'+')) {
                    start += 1;
                }
                let Some((toks, end, next)) = lex(text, start, if tag { "%}" } else { "}}" }) else { break };
                let raw = tag && toks.len() == 1 && toks[0].text(text) == "raw";
                blocks.push(Block { tag, start, end, toks });
                i = next;
                if raw {
                    match end_raw(text, i) {
                        Some(after) => i = after,
                        None => break,
                    }
                }
            }
            _ => i = at + 1,
        }
    }
    blocks
}

/// Just past the `{% endraw %}` that closes a raw block starting at `from`.
fn end_raw(text: &str, from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(off) = text[i..].find("{%") {
        let at = i + off + 2;
        let rest = text[at..].strip_prefix(['-', '+']).unwrap_or(&text[at..]).trim_start();
        if let Some(rest) = rest.strip_prefix("endraw") {
            let rest = rest.trim_start();
            let rest = rest.strip_prefix(['-', '+']).unwrap_or(rest);
            if rest.starts_with("%}") {
                return Some(text.len() - rest.len() + 2);
            }
        }
        i = at;
    }
    None
}

/// Tokens from `start` up to the block's closing `close` (outside brackets):
/// the tokens, where the inside ends, and where the text after the block starts.
fn lex(text: &str, start: usize, close: &str) -> Option<(Vec<Tok>, usize, usize)> {
    let bytes = text.as_bytes();
    let mut toks = Vec::new();
    let mut depth = 0usize;
    let mut i = start;
    loop {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let rest = &text[i..];
        if rest.is_empty() {
            return None;
        }
        if depth == 0 {
            if rest.starts_with(close) {
                return Some((toks, i, i + 2));
            }
            if (rest.starts_with('-') || rest.starts_with('+')) && rest[1..].starts_with(close) {
                return Some((toks, i, i + 3));
            }
        }
        let c = rest.chars().next()?;
        let (kind, len) = match c {
            '\'' | '"' => (Kind::Str, string_len(rest)?),
            '0'..='9' => (Kind::Num, number_len(rest)),
            '(' | '[' | '{' => {
                depth += 1;
                (Kind::Open, 1)
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                (Kind::Close, 1)
            }
            c if c.is_alphanumeric() || c == '_' => {
                (Kind::Ident, rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len()))
            }
            _ => {
                let two = ["**", "//", "==", "!=", ">=", "<="].iter().any(|op| rest.starts_with(op));
                (Kind::Op, if two { 2 } else { c.len_utf8() })
            }
        };
        toks.push(Tok { kind, start: i, end: i + len });
        i += len;
    }
}

/// Byte length of the string literal at the start of `s`, escapes included.
fn string_len(s: &str) -> Option<usize> {
    let quote = s.chars().next()?;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == quote => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Byte length of the number at the start of `s` (`1_000`, `1.5`, `2e-3`).
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            && !matches!(b.get(i), Some(b'e' | b'E'))
        {
            i += 1;
        }
        i
    };
    let mut i = digits(0);
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        if b.get(i + 1 + sign).is_some_and(u8::is_ascii_digit) {
            i = digits(i + 1 + sign);
        }
    }
    i
}
