//! How deep a YAML text nests, measured in one pass without parsing it.
//!
//! Counts block indentation levels, compact entries (`- - - x`) and flow
//! brackets, skipping quoted strings, comments and block scalars (`|`, `>`),
//! where brackets and dashes are only text. The count is close to the real
//! depth and never far above it: it only has to tell a project file (a few
//! levels) from a nesting bomb (thousands), and stop at the first line past
//! the limit, so even a huge text costs one partial pass.

/// The 1-based line where `text` first nests deeper than `limit`, if it does.
pub(crate) fn too_deep(text: &str, limit: usize) -> Option<usize> {
    let mut s = Scan::default();
    for (i, line) in text.lines().enumerate() {
        if s.line(line.as_bytes()) > limit {
            return Some(i + 1);
        }
    }
    None
}

#[derive(Default)]
struct Scan {
    /// Indentations of the open block levels, innermost last.
    indents: Vec<usize>,
    /// Open `[` and `{`.
    flow: usize,
    /// The quote a string spanning lines was opened with.
    quote: Option<u8>,
    /// The indentation of the line that opened a block scalar still going on.
    block_scalar: Option<usize>,
}

impl Scan {
    /// Takes one line; returns the deepest level reached on it.
    fn line(&mut self, bytes: &[u8]) -> usize {
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let rest = &bytes[indent..];
        let blank = rest.iter().all(u8::is_ascii_whitespace);
        if let Some(opener) = self.block_scalar {
            if blank || indent > opener {
                return 0;
            }
            self.block_scalar = None;
        }
        let mut from = indent;
        if self.quote.is_none() && self.flow == 0 {
            if blank || rest[0] == b'#' {
                return 0;
            }
            if indent == 0 && (rest.starts_with(b"---") || rest.starts_with(b"...")) {
                // A new document starts from nothing.
                self.indents.clear();
                from = 3;
            }
            while self.indents.last().is_some_and(|&top| top > indent) {
                self.indents.pop();
            }
            if self.indents.last() != Some(&indent) {
                self.indents.push(indent);
            }
        }
        let base = self.indents.len();
        let mut deepest = base + self.flow;
        // Whether a new node may start here (so a quote opens a string, a
        // bracket a collection), rather than continue a plain scalar.
        let mut at_start = self.quote.is_none();
        let mut after_space = true;
        let mut compact = 0;
        let mut j = from;
        while j < bytes.len() {
            let b = bytes[j];
            if let Some(q) = self.quote {
                match (q, b) {
                    (b'\'', b'\'') if bytes.get(j + 1) == Some(&b'\'') => j += 1,
                    (b'"', b'\\') => j += 1,
                    (b'\'', b'\'') | (b'"', b'"') => {
                        self.quote = None;
                        at_start = false;
                    }
                    _ => {}
                }
                j += 1;
                after_space = false;
                continue;
            }
            let blank_next = bytes.get(j + 1).is_none_or(|c| *c == b' ' || *c == b'\t');
            match b {
                b'#' if after_space => break,
                b'"' | b'\'' if at_start => self.quote = Some(b),
                b'[' | b'{' if at_start || self.flow > 0 => {
                    self.flow += 1;
                    at_start = true;
                }
                b']' | b'}' if self.flow > 0 => {
                    self.flow -= 1;
                    at_start = false;
                }
                b',' if self.flow > 0 => at_start = true,
                b':' if blank_next || self.flow > 0 => at_start = true,
                b'-' | b'?' if at_start && self.flow == 0 && blank_next => compact += 1,
                b'|' | b'>' if at_start && self.flow == 0 => {
                    self.block_scalar = Some(indent);
                    break;
                }
                b'&' | b'!' if at_start => {
                    // An anchor or a tag: the node itself follows it.
                    while j < bytes.len() && bytes[j] != b' ' {
                        j += 1;
                    }
                    continue;
                }
                b' ' | b'\t' => {}
                _ => at_start = false,
            }
            deepest = deepest.max(base + compact + self.flow);
            after_space = b == b' ' || b == b'\t';
            j += 1;
        }
        deepest
    }
}

#[cfg(test)]
mod tests {
    use super::too_deep;

    #[test]
    fn project_files_are_shallow() {
        let text = "version: 2\nmodels:\n  - name: a # [not [a [list\n    description: |\n      [[[[ - - - {{{\n      text\n    columns:\n      - name: id\n        data_tests: [unique, {accepted_values: {values: ['[', \"{\"]}}]\n";
        // Nine levels deep at `values`' list, counted as nine.
        assert_eq!(too_deep(text, 9), None);
        assert_eq!(too_deep(text, 8), Some(9));
        assert_eq!(too_deep("a: it's [fine]\nb: 'it''s [x'\n", 1), None);
    }

    #[test]
    fn flow_block_and_compact_nesting_count() {
        let flow = "[".repeat(100_000);
        assert_eq!(too_deep(&flow, 256), Some(1));
        let compact = format!("a: 1\n{}x\n", "- ".repeat(300));
        assert_eq!(too_deep(&compact, 256), Some(2));
        let block: String = (0..300).map(|i| format!("{}-\n", " ".repeat(i))).collect();
        assert_eq!(too_deep(&block, 256), Some(256));
        let spread = format!("k: [\n{}\n]\n", "[\n".repeat(300));
        assert!(too_deep(&spread, 256).is_some());
        assert_eq!(too_deep(&"[".repeat(200), 256), None);
    }
}
