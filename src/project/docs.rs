//! `{% docs name %}…{% enddocs %}` blocks from the project's `.md` files.
//!
//! dbt reads them from `docs-paths` (default: every model, seed, test,
//! analysis, snapshot and macro path), and `{{ doc('name') }}` in a YAML
//! description becomes the block's text, trimmed. This module only finds the
//! blocks; rendering descriptions is the template's job.

use super::Walk;
use crate::diag::Diagnostic;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq)]
pub struct DocBlock {
    pub text: String,
    pub file: PathBuf,
    pub line: usize,
}

/// A `{% … %}` tag at the start of `s`: its words and its length.
fn tag(s: &str) -> Option<(Vec<&str>, usize)> {
    let end = s.find("%}")?;
    let inner = s[2..end].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
    Some((inner.split_whitespace().collect(), end + 2))
}

/// The blocks of one file, or an error naming the unclosed one.
pub fn parse(text: &str, file: &Path) -> Result<Vec<(String, DocBlock)>, Diagnostic> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = text[pos..].find("{%") {
        let start = pos + i;
        let Some((words, len)) = tag(&text[start..]) else { break };
        pos = start + len;
        if words.first() != Some(&"docs") {
            continue;
        }
        let line = text[..start].matches('\n').count() + 1;
        let name = match words.as_slice() {
            [_, name] => name.to_string(),
            _ => {
                return Err(
                    Diagnostic::in_file(file, "a docs block needs one name: `{% docs name %}`").at(Some(line), None)
                )
            }
        };
        let mut search = pos;
        let close = loop {
            let Some(j) = text[search..].find("{%") else { break None };
            let at = search + j;
            match tag(&text[at..]) {
                Some((w, l)) if w.first() == Some(&"enddocs") => break Some((at, at + l)),
                Some((_, l)) => search = at + l,
                None => break None,
            }
        };
        let Some((body_end, after)) = close else {
            return Err(
                Diagnostic::in_file(file, format!("docs block `{name}` has no `{{% enddocs %}}`")).at(Some(line), None)
            );
        };
        out.push((name, DocBlock { text: text[pos..body_end].trim().to_string(), file: file.to_path_buf(), line }));
        pos = after;
    }
    Ok(out)
}

/// Reads every `.md` file under `dirs`; a name defined twice is an error naming both files.
pub(super) fn load(w: &mut Walk, dirs: &[String]) -> BTreeMap<String, DocBlock> {
    let mut docs: BTreeMap<String, DocBlock> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for (p, _) in w.files(dirs, &["md"], &[]) {
        // The default docs paths overlap (a folder can be a model and a macro path).
        if !seen.insert(p.clone()) {
            continue;
        }
        let rel = w.rel(&p);
        let Some(text) = w.read(&p) else { continue };
        match parse(&text, &rel) {
            Ok(blocks) => {
                for (name, block) in blocks {
                    if let Some(prev) = docs.get(&name) {
                        w.errors.push(
                            Diagnostic::in_file(
                                &rel,
                                format!("docs block `{name}` is also defined in `{}`", prev.file.display()),
                            )
                            .at(Some(block.line), None)
                            .hint("docs block names must be unique across the project"),
                        );
                        continue;
                    }
                    docs.insert(name, block);
                }
            }
            Err(d) => w.errors.push(d),
        }
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_trimmed_with_lines() {
        let text =
            "intro\n{% docs orders %}\nThe **orders** table.\n{% enddocs %}\n{%- docs  amount -%}Cents{%- enddocs -%}";
        let blocks = parse(text, Path::new("models/docs.md")).expect("parses");
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].0, "orders");
        assert_eq!((blocks[0].1.text.as_str(), blocks[0].1.line), ("The **orders** table.", 2));
        assert_eq!((blocks[1].0.as_str(), blocks[1].1.text.as_str()), ("amount", "Cents"));
    }

    #[test]
    fn an_unclosed_block_names_file_and_line() {
        let d = parse("x\n\n{% docs a %}text", Path::new("models/d.md")).expect_err("unclosed");
        assert_eq!((d.file, d.line), (Some(PathBuf::from("models/d.md")), Some(3)));
        assert!(d.message.contains("`a`"), "{}", d.message);
    }
}
