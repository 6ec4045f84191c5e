//! A tokenizer for the subset of Python that cosmos DAG files are written in:
//! names, numbers, strings (all prefixes, triple quotes, escapes), operators,
//! comments, and logical lines with their indentation (brackets and `\` join
//! physical lines, as in Python).
//!
//! It only reads text: nothing is imported or executed, which is the point
//! of `runner import cosmos`. Parsing the tokens is `airflow::pyparse`'s job;
//! Python models (`pymodel`) are read with it too. Imports nothing of the
//! crate.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Name,
    Number,
    /// A string literal; its `text` is the decoded value.
    Str {
        formatted: bool,
    },
    Op,
}

#[derive(Debug, Clone)]
pub(crate) struct Tok {
    pub kind: Kind,
    /// The name, number or operator as written; a string's decoded value.
    pub text: String,
    pub line: usize,
    /// Byte range in the source, for quoting what could not be read.
    pub start: usize,
    pub end: usize,
}

impl Tok {
    pub fn is_op(&self, op: &str) -> bool {
        self.kind == Kind::Op && self.text == op
    }

    pub fn is_name(&self, name: &str) -> bool {
        self.kind == Kind::Name && self.text == name
    }
}

/// One logical line: a statement, however many physical lines it spans.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub indent: usize,
    pub toks: Vec<Tok>,
}

#[derive(Debug, Default)]
pub(crate) struct Tokens {
    pub lines: Vec<Line>,
    /// Every comment, with its line, without the `#`.
    pub comments: Vec<(usize, String)>,
}

/// A syntax error: line and message.
pub(crate) type TokError = (usize, String);

const OPS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "->", ":=", "**", "//", ">>", "<<", "<=", ">=", "==", "!=", "+=", "-=", "*=",
    "/=", "%=", "&=", "|=", "^=", "@=", "(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "@", "=", "+", "-", "*", "/",
    "%", "<", ">", "&", "|", "^", "~",
];

pub(crate) fn tokenize(src: &str) -> Result<Tokens, TokError> {
    let b = src.as_bytes();
    let mut out = Tokens::default();
    let (mut i, mut line, mut depth) = (0usize, 1usize, 0usize);
    let mut current: Option<Line> = None;
    let mut at_line_start = true;
    let mut indent = 0usize;
    while i < b.len() {
        let c = b[i];
        if at_line_start && depth == 0 {
            // Measure indentation (a tab moves to the next multiple of 8, as in Python).
            indent = 0;
            while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b'\x0c') {
                indent = if b[i] == b'\t' { (indent / 8 + 1) * 8 } else { indent + 1 };
                i += 1;
            }
            at_line_start = false;
            continue;
        }
        match c {
            b'\n' => {
                line += 1;
                i += 1;
                if depth == 0 {
                    if let Some(l) = current.take() {
                        out.lines.push(l);
                    }
                    at_line_start = true;
                }
            }
            b' ' | b'\t' | b'\r' | b'\x0c' => i += 1,
            b'\\' if b.get(i + 1) == Some(&b'\n') || (b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n')) => {
                // An explicit line join: the statement goes on.
                i += if b[i + 1] == b'\r' { 3 } else { 2 };
                line += 1;
            }
            b'#' => {
                let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
                out.comments.push((line, src[i + 1..end].trim_end_matches('\r').to_string()));
                i = end;
            }
            _ => {
                let start = i;
                let tok = if let Some((formatted, raw, skip)) = string_prefix(&src[i..]) {
                    let (text, next, lines) = read_string(src, i + skip, raw).map_err(|m| (line, m))?;
                    i = next;
                    let t = Tok { kind: Kind::Str { formatted }, text, line, start, end: i };
                    line += lines;
                    t
                } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                        // An exponent's sign belongs to the number.
                        let exp = matches!(b[i], b'e' | b'E') && !src[start..i].starts_with("0x");
                        i += 1;
                        if exp && i < b.len() && matches!(b[i], b'+' | b'-') {
                            i += 1;
                        }
                    }
                    Tok { kind: Kind::Number, text: src[start..i].to_string(), line, start, end: i }
                } else if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 {
                    while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric() || b[i] >= 0x80) {
                        i += 1;
                    }
                    Tok { kind: Kind::Name, text: src[start..i].to_string(), line, start, end: i }
                } else {
                    let op = OPS.iter().find(|op| src[i..].starts_with(**op)).ok_or_else(|| {
                        (line, format!("unexpected character `{}`", src[i..].chars().next().unwrap_or('?')))
                    })?;
                    i += op.len();
                    match *op {
                        "(" | "[" | "{" => depth += 1,
                        ")" | "]" | "}" => {
                            depth = depth.checked_sub(1).ok_or_else(|| (line, format!("unmatched `{op}`")))?
                        }
                        _ => {}
                    }
                    Tok { kind: Kind::Op, text: op.to_string(), line, start, end: i }
                };
                current.get_or_insert_with(|| Line { indent, toks: Vec::new() }).toks.push(tok);
            }
        }
    }
    if depth > 0 {
        return Err((line, "a bracket is never closed".into()));
    }
    if let Some(l) = current.take() {
        out.lines.push(l);
    }
    Ok(out)
}

/// A string prefix (`r`, `b`, `f`, `u`, `rb`, `fr`, … in any case) followed
/// by a quote: (formatted, raw, prefix length).
fn string_prefix(s: &str) -> Option<(bool, bool, usize)> {
    let prefix: String = s.chars().take_while(|c| c.is_ascii_alphabetic()).take(3).collect();
    if prefix.len() > 2 || !prefix.chars().all(|c| "rRbBfFuU".contains(c)) {
        return None;
    }
    if !s[prefix.len()..].starts_with(['"', '\'']) {
        return None;
    }
    let lower = prefix.to_ascii_lowercase();
    Some((lower.contains('f'), lower.contains('r'), prefix.len()))
}

/// Reads a quoted string starting at `i` (the quote): its value, the offset
/// after it, and how many newlines it spans.
fn read_string(src: &str, i: usize, raw: bool) -> Result<(String, usize, usize), String> {
    let rest = &src[i..];
    let q = &rest[..1];
    let triple = rest.starts_with(&q.repeat(3));
    let close = if triple { q.repeat(3) } else { q.to_string() };
    let mut j = i + close.len();
    let mut value = String::new();
    let mut lines = 0;
    loop {
        let tail = &src[j..];
        let Some(c) = tail.chars().next() else {
            return Err("a string is never closed".into());
        };
        if tail.starts_with(&close) {
            return Ok((value, j + close.len(), lines));
        }
        if c == '\n' {
            if !triple {
                return Err("a string is never closed on its line".into());
            }
            lines += 1;
        }
        if c == '\\' {
            let next = tail[1..].chars().next().ok_or("a string is never closed")?;
            if next == '\n' {
                lines += 1;
            }
            if raw {
                value.push('\\');
                value.push(next);
            } else {
                escape(&tail[1..], &mut value, &mut j)?;
            }
            j += 1 + next.len_utf8();
            continue;
        }
        value.push(c);
        j += c.len_utf8();
    }
}

/// Decodes the escape after a backslash into `value`; advances `j` past any
/// characters beyond the first.
fn escape(after: &str, value: &mut String, j: &mut usize) -> Result<(), String> {
    let next = after.chars().next().unwrap_or('\\');
    let hex = |n: usize| -> Result<char, String> {
        after
            .get(1..1 + n)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
            .ok_or_else(|| format!("a bad `\\{next}` escape in a string"))
    };
    match next {
        '\n' => {}
        'n' => value.push('\n'),
        't' => value.push('\t'),
        'r' => value.push('\r'),
        '0' => value.push('\0'),
        'a' => value.push('\x07'),
        'b' => value.push('\x08'),
        'f' => value.push('\x0c'),
        'v' => value.push('\x0b'),
        '\\' | '\'' | '"' => value.push(next),
        'x' | 'u' | 'U' => {
            let n = match next {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            value.push(hex(n)?);
            *j += n;
        }
        // Python keeps an unknown escape as written.
        other => {
            value.push('\\');
            value.push(other);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<Vec<String>> {
        tokenize(src)
            .expect("valid test input")
            .lines
            .iter()
            .map(|l| l.toks.iter().map(|t| t.text.clone()).collect())
            .collect()
    }

    #[test]
    fn brackets_and_backslashes_join_lines() {
        let src = "a = f(1,\n  2)  # two\nb = 1 + \\\n 2\n";
        assert_eq!(texts(src), vec![vec!["a", "=", "f", "(", "1", ",", "2", ")"], vec!["b", "=", "1", "+", "2"]]);
        assert_eq!(tokenize(src).expect("valid test input").comments, vec![(2, " two".to_string())]);
    }

    #[test]
    fn strings_decode_as_python_does() {
        let t = tokenize("x = 'a\\'b' \"\\x41\\n\" r'\\d' '''l1\nl2''' f\"{y}\"\nz = 1\n").expect("valid test input");
        let vals: Vec<_> = t.lines[0].toks.iter().skip(2).map(|t| (t.text.clone(), t.kind)).collect();
        assert_eq!(vals[0].0, "a'b");
        assert_eq!(vals[1].0, "A\n");
        assert_eq!(vals[2].0, "\\d");
        assert_eq!(vals[3].0, "l1\nl2");
        assert_eq!(vals[4].1, Kind::Str { formatted: true });
        assert_eq!(t.lines[1].toks[0].line, 3, "a triple-quoted string counts its lines");
    }

    #[test]
    fn indentation_and_numbers() {
        let t = tokenize("with x:\n    y = 1_000\n\tz = 1.5e-3\n").expect("valid test input");
        assert_eq!(t.lines.iter().map(|l| l.indent).collect::<Vec<_>>(), vec![0, 4, 8]);
        assert_eq!(t.lines[2].toks[2].text, "1.5e-3");
    }

    #[test]
    fn syntax_errors_name_their_line() {
        assert_eq!(tokenize("a = (1,\n2\n").unwrap_err().0, 3);
        assert_eq!(tokenize("a = 'x\n").unwrap_err().0, 1);
        assert!(tokenize("a = 1 ? 2").unwrap_err().1.contains("`?`"));
    }
}
