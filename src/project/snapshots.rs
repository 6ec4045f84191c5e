//! Snapshot definitions as dbt finds them: `{% snapshot name %}…{% endsnapshot %}`
//! blocks in `.sql` files under `snapshot-paths` (several per file), and
//! YAML-defined snapshots (dbt 1.9+: a `snapshots:` entry with `relation:`).
//!
//! Each becomes a [`Snapshot`] whose text is a template of its own: a block's
//! body, preceded by as many newlines as the file has before it, so a Jinja
//! error in it points at the file's own line; a YAML snapshot's text is
//! dbt's `select * from {{ <relation> }}`. Owns only finding the blocks;
//! config, naming and SQL belong to `nodes::snapshot` and `executor::snapshot`.
//! Reads files only through the project walk; renders nothing and touches no
//! database.

use super::{described_twice, NodeProps, Project, Walk};
use crate::diag::Diagnostic;
use std::path::{Path, PathBuf};

/// One snapshot to plan.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub name: String,
    /// The file that defines it (`.sql` with a block, or a property file).
    pub path: PathBuf,
    /// Folders between the snapshot path and the file; for a block, the
    /// file's stem too, as dbt's fqn of a snapshot holds it.
    pub folders: Vec<String>,
    /// The line of its `{% snapshot %}` tag or its YAML `name:`.
    pub line: usize,
    /// The template: see the module doc.
    pub text: String,
    /// The block's body as written (the manifest's `raw_code`).
    pub raw_code: String,
    /// Set for a YAML snapshot: `ref('x')` or `source('s', 't')` as written.
    pub relation: Option<String>,
}

impl Snapshot {
    /// The name its template is registered under: unique per snapshot, as
    /// one file may hold several.
    pub fn template(&self) -> String {
        format!("{}#{}", self.path.display(), self.name)
    }
}

/// The `{% snapshot %}` blocks of every `.sql` file under `snapshot_paths`.
pub(super) fn in_files(w: &mut Walk, snapshot_paths: &[String]) -> Vec<Snapshot> {
    let mut out = Vec::new();
    for f in w.sql_files(snapshot_paths, &[]) {
        match blocks(&f.path, &f.folders, &f.text) {
            Ok(found) => out.extend(found),
            Err(d) => w.errors.push(d),
        }
    }
    out
}

/// One property file's `snapshots:` entries (`folders`: the file's, below its
/// resource path): each is a snapshot's properties, and one with `relation:`
/// a snapshot too. A second entry for a name is an error naming the first.
pub(super) fn declare(
    w: &mut Walk,
    project: &mut Project,
    entries: Vec<(String, NodeProps, Option<String>)>,
    folders: &[String],
) {
    for (name, entry, relation) in entries {
        if let Some(first) = project.snapshot_props.get(&name) {
            w.errors.push(described_twice("snapshot", &name, (&entry.file, entry.line), first));
            continue;
        }
        if let Some(relation) = &relation {
            match from_yaml(&entry.file, folders.to_vec(), &name, relation, entry.line.unwrap_or(1)) {
                Ok(s) => project.snapshots.push(s),
                Err(d) => w.errors.push(d),
            }
        }
        project.snapshot_props.insert(name, entry);
    }
}

/// A `{% name … %}` tag found in a file: what it says and where it ends.
struct Tag<'a> {
    /// The words inside, whitespace control stripped: `["snapshot", "orders"]`.
    words: Vec<&'a str>,
    start: usize,
    end: usize,
}

/// The next `{% … %}` tag at or after byte `from`.
fn next_tag(text: &str, from: usize) -> Option<Tag<'_>> {
    let start = from + text.get(from..)?.find("{%")?;
    let close = start + 2 + text[start + 2..].find("%}")?;
    let inner = text[start + 2..close].trim_start_matches(['-', '+']).trim_end_matches(['-', '+']);
    Some(Tag { words: inner.split_whitespace().collect(), start, end: close + 2 })
}

/// The snapshot blocks of one `.sql` file. `rel` names the file in messages;
/// `folders` are those between the snapshot path and it.
pub(crate) fn blocks(rel: &Path, folders: &[String], text: &str) -> Result<Vec<Snapshot>, Diagnostic> {
    let line_of = |byte: usize| text[..byte].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut at = 0;
    let mut stem_folders = folders.to_vec();
    stem_folders.push(rel.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default());
    while let Some(tag) = next_tag(text, at) {
        at = tag.end;
        match tag.words.as_slice() {
            ["snapshot", name] => {
                let line = line_of(tag.start);
                if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return Err(Diagnostic::in_file(rel, format!("`{name}` is not a valid snapshot name"))
                        .at(Some(line), None)
                        .hint("a snapshot name is letters, digits and `_`, as in `{% snapshot orders_history %}`"));
                }
                // The first `endsnapshot` after it closes it (dbt allows no nesting).
                let mut search = tag.end;
                let close = loop {
                    match next_tag(text, search) {
                        Some(t) if t.words.first() == Some(&"endsnapshot") => break Some(t),
                        Some(t) if t.words.first() == Some(&"snapshot") => break None,
                        Some(t) => search = t.end,
                        None => break None,
                    }
                };
                let Some(close) = close else {
                    return Err(Diagnostic::in_file(rel, format!("snapshot `{name}` has no `{{% endsnapshot %}}`"))
                        .at(Some(line), None)
                        .hint("close each `{% snapshot %}` block before the next one begins"));
                };
                let body = &text[tag.end..close.start];
                let padding = "\n".repeat(line_of(tag.end) - 1);
                out.push(Snapshot {
                    name: name.to_string(),
                    path: rel.to_path_buf(),
                    folders: stem_folders.clone(),
                    line,
                    text: format!("{padding}{body}"),
                    raw_code: body.to_string(),
                    relation: None,
                });
                at = close.end;
            }
            ["snapshot", ..] => {
                return Err(Diagnostic::in_file(rel, "a `{% snapshot %}` tag names one snapshot")
                    .at(Some(line_of(tag.start)), None)
                    .hint("write it as `{% snapshot orders_history %}`"));
            }
            ["endsnapshot", ..] => {
                return Err(Diagnostic::in_file(rel, "`{% endsnapshot %}` without a `{% snapshot %}` before it")
                    .at(Some(line_of(tag.start)), None));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// A YAML-defined snapshot: dbt compiles it as `select * from {{ <relation> }}`.
pub(crate) fn from_yaml(
    file: &Path,
    folders: Vec<String>,
    name: &str,
    relation: &str,
    line: usize,
) -> Result<Snapshot, Diagnostic> {
    let r = relation.trim();
    let call = |f: &str| r.starts_with(f) && r[f.len()..].trim_start().starts_with('(') && r.ends_with(')');
    if !(call("ref") || call("source")) {
        return Err(Diagnostic::in_file(file, format!("snapshot `{name}`: `relation` is `{relation}`"))
            .at(Some(line), None)
            .hint("`relation` is a `ref('model')` or `source('source', 'table')` call"));
    }
    let text = format!("select * from {{{{ {r} }}}}");
    Ok(Snapshot {
        name: name.to_string(),
        path: file.to_path_buf(),
        folders,
        line,
        raw_code: text.clone(),
        text,
        relation: Some(r.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_block_with_its_line_and_pads_the_body() {
        let text = "-- two\n{% snapshot a %}\n{{ config(strategy='check') }}\nselect 1\n{% endsnapshot %}\n\n{%- snapshot b -%}select 2{%- endsnapshot -%}\n";
        let found = blocks(Path::new("snapshots/s.sql"), &["sub".into()], text).expect("valid");
        let names: Vec<(&str, usize)> = found.iter().map(|s| (s.name.as_str(), s.line)).collect();
        assert_eq!(names, vec![("a", 2), ("b", 7)]);
        // Line 3 of the file is line 3 of the template.
        assert_eq!(found[0].text.lines().nth(2), Some("{{ config(strategy='check') }}"));
        assert_eq!(found[1].text.trim(), "select 2");
        assert_eq!(found[0].raw_code, "\n{{ config(strategy='check') }}\nselect 1\n");
        assert_eq!(found[0].folders, vec!["sub".to_string(), "s".to_string()]);
        assert_eq!(found[1].template(), "snapshots/s.sql#b");
    }

    #[test]
    fn a_file_without_blocks_defines_nothing() {
        assert!(blocks(Path::new("snapshots/x.sql"), &[], "select 1 {% if x %}{% endif %}").expect("ok").is_empty());
    }

    #[test]
    fn unclosed_and_stray_tags_are_errors_at_their_line() {
        let e = blocks(Path::new("s.sql"), &[], "\n{% snapshot a %}\nselect 1\n").expect_err("unclosed");
        assert_eq!((e.line, e.message.contains("endsnapshot")), (Some(2), true));
        let e =
            blocks(Path::new("s.sql"), &[], "{% snapshot a %}{% snapshot b %}{% endsnapshot %}").expect_err("nested");
        assert_eq!(e.line, Some(1));
        let e = blocks(Path::new("s.sql"), &[], "x\n\n{% endsnapshot %}").expect_err("stray");
        assert_eq!(e.line, Some(3));
        assert!(blocks(Path::new("s.sql"), &[], "{% snapshot a-b %}{% endsnapshot %}").is_err());
    }

    #[test]
    fn yaml_snapshots_select_from_their_relation() {
        let s = from_yaml(Path::new("snapshots/p.yml"), vec![], "s", "ref('orders')", 4).expect("valid");
        assert_eq!(s.text, "select * from {{ ref('orders') }}");
        assert_eq!(s.template(), "snapshots/p.yml#s");
        assert!(from_yaml(Path::new("p.yml"), vec![], "s", "orders", 4).is_err());
        assert!(from_yaml(Path::new("p.yml"), vec![], "s", "source('raw', 'o')", 4).is_ok());
    }
}
