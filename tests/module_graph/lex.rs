//! Just enough of Rust's lexical rules to find paths in code: comments and
//! literals blanked out, then identifiers, `::`, punctuation and attributes
//! with their lines. Used by `tests/module_graph.rs`.

/// Source text with comments and the insides of string and char literals
/// replaced by spaces (newlines kept, so lines still count; one char for
/// one char, so positions still match the text), so that braces and paths
/// seen afterwards are code.
pub fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    // Whether a literal may start at `i`: not inside a name, or right after
    // the `b` of a byte literal (`b'x'`, `br"…"`).
    let starts_literal = |i: usize| match i {
        0 => true,
        1 => !ident(c[0]) || c[0] == 'b',
        _ => !ident(c[i - 1]) || (c[i - 1] == 'b' && !ident(c[i - 2])),
    };
    let mut i = 0;
    while i < c.len() {
        let prev_ident = i > 0 && ident(c[i - 1]);
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            // Block comments nest in Rust.
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if c[i] == 'r' && starts_literal(i) && matches!(c.get(i + 1), Some('"' | '#')) {
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                // `r#ident`, a raw identifier.
                out.push(c[i]);
                i += 1;
                continue;
            }
            out.push('r');
            out.extend(std::iter::repeat_n('#', hashes));
            out.push('"');
            i = j + 1;
            let closes = |k: usize| c[k] == '"' && (1..=hashes).all(|h| c.get(k + h) == Some(&'#'));
            while i < c.len() && !closes(i) {
                out.push(blank(c[i]));
                i += 1;
            }
            out.push('"');
            out.extend(std::iter::repeat_n('#', hashes));
            i += 1 + hashes;
        } else if c[i] == '"' {
            out.push('"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c[i] == '\'' && (!prev_ident || starts_literal(i)) {
            // A char or byte literal (`'x'`, `b'"'`, `'\n'`, `'\u{7f}'`), else a
            // lifetime or label.
            let end = if c.get(i + 1) == Some(&'\\') {
                (i + 2..c.len()).find(|&k| c[k] == '\'')
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.push('\'');
                    out.extend(std::iter::repeat_n(' ', end - i - 1));
                    out.push('\'');
                    i = end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    /// `::`
    Path,
    Punct(char),
    /// The text inside `#[…]`, spaces removed.
    Attr(String),
}

/// Tokens of `text` with their lines, read from its [`code_only`] form;
/// an attribute's text is read from `text` itself (`#[path = "x.rs"]`).
pub fn tokens(text: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = code_only(text).chars().collect();
    let original: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(c[start..i].iter().collect()), line));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((Tok::Path, line));
            i += 2;
        } else if ch == '#'
            && (c.get(i + 1) == Some(&'[') || (c.get(i + 1) == Some(&'!') && c.get(i + 2) == Some(&'[')))
        {
            let at = line;
            let mut depth = 0;
            let mut text = String::new();
            i += if c[i + 1] == '!' { 2 } else { 1 };
            while i < c.len() {
                match c[i] {
                    '[' => depth += 1,
                    ']' => depth -= 1,
                    '\n' => line += 1,
                    _ => {}
                }
                if !original[i].is_whitespace() {
                    text.push(original[i]);
                }
                i += 1;
                if depth == 0 {
                    break;
                }
            }
            let inner = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(&text).to_string();
            out.push((Tok::Attr(inner), at));
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// The index just past the item starting at `i`: up to a `;` or through a
/// `{…}` block, whichever closes it first at its own nesting level.
pub fn item_end(toks: &[(Tok, usize)], mut i: usize) -> usize {
    let mut depth = 0i32;
    while i < toks.len() {
        match toks[i].0 {
            Tok::Punct('(' | '[') => depth += 1,
            Tok::Punct(')' | ']') => depth -= 1,
            Tok::Punct('{') => {
                depth += 1;
            }
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            Tok::Punct(';') if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}
