//! An output's `attach:` list, validated into [`Attachment`]s.
//!
//! Follows dbt-duckdb's `Attachment`: `path` is required, `alias` defaults to
//! the name DuckDB gives the file (its name up to the first dot), `type`,
//! `secret` and `read_only` may also be given inside `options`, but not in
//! both places. Local paths resolve against the project directory like the
//! main `path`. It never touches a file or a database: checking that a file
//! exists and running `ATTACH` belong to `db::setup`.

use crate::config::profile::RawAttachment;
use std::path::Path;

/// One database to attach beside the warehouse.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    /// An absolute path for a local file; a URL (`md:`, `s3://`…) as written.
    pub path: String,
    /// The catalog name models use: `select * from alias.main.tbl`.
    pub alias: String,
    /// `TYPE` (e.g. `sqlite`); `None` is a DuckDB file.
    pub kind: Option<String>,
    pub secret: Option<String>,
    pub read_only: bool,
    /// Further `ATTACH` options as (upper-cased key, SQL literal); a `None`
    /// value is a bare flag, as dbt-duckdb renders `true`.
    pub options: Vec<(String, Option<String>)>,
    /// Whether `path` names a file on this machine (so its existence can be checked).
    pub local: bool,
}

/// Reads entry `index` of `attach:`; the error is the message only (the
/// caller adds file and line).
pub fn parse(index: usize, raw: serde_yaml::Value, project_dir: &Path) -> Result<Attachment, String> {
    let at = format!("`attach[{index}]`");
    let raw: RawAttachment = serde_yaml::from_value(raw).map_err(|e| format!("{at}: {}", strip_location(&e)))?;
    if raw.path.trim().is_empty() {
        return Err(format!("{at}: `path` is empty"));
    }
    let local = !is_url(&raw.path);
    let path = if local { project_dir.join(&raw.path).display().to_string() } else { raw.path.clone() };
    let alias = match raw.alias {
        Some(a) if a.trim().is_empty() => return Err(format!("{at}: `alias` is empty")),
        Some(a) => a,
        None => default_alias(&raw.path)
            .ok_or_else(|| format!("{at}: cannot name the database after `{}` (hint: give it an `alias`)", raw.path))?,
    };
    let mut kind = raw.kind;
    let mut secret = raw.secret;
    let mut read_only = raw.read_only.unwrap_or(false);
    let mut options = Vec::new();
    for (key, value) in raw.options.unwrap_or_default() {
        let conflict = match key.as_str() {
            "type" => kind.is_some(),
            "secret" => secret.is_some(),
            "read_only" => raw.read_only.is_some(),
            _ => false,
        };
        if conflict {
            return Err(format!("{at}: `{key}` is given both directly and in `options` (hint: keep one of them)"));
        }
        if !is_name(&key) {
            return Err(format!("{at}: `options.{key}` is not an option name"));
        }
        match (key.as_str(), &value) {
            ("type", _) => kind = Some(text(&value).ok_or_else(|| format!("{at}: `options.type` must be a name"))?),
            ("secret", _) => {
                secret = Some(text(&value).ok_or_else(|| format!("{at}: `options.secret` must be a name"))?)
            }
            ("read_only", serde_yaml::Value::Bool(b)) => read_only = *b,
            ("read_only", _) => return Err(format!("{at}: `options.read_only` must be true or false")),
            (_, serde_yaml::Value::Bool(true)) => options.push((key.to_uppercase(), None)),
            (_, serde_yaml::Value::Bool(false) | serde_yaml::Value::Null) => {}
            (_, serde_yaml::Value::Number(n)) => options.push((key.to_uppercase(), Some(n.to_string()))),
            (_, serde_yaml::Value::String(s)) => options.push((key.to_uppercase(), Some(quote(unquoted(s))))),
            _ => return Err(format!("{at}: `options.{key}` must be a string, number or boolean")),
        }
    }
    for (field, value) in [("type", &kind), ("secret", &secret)] {
        if let Some(v) = value.as_deref().filter(|v| !is_name(v)) {
            return Err(format!("{at}: `{field}` `{v}` is not a name"));
        }
    }
    Ok(Attachment { path, alias, kind, secret, read_only, options, local })
}

/// A single-quoted SQL string literal.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// dbt-duckdb passes values already in quotes through; strip them so the
/// value is quoted exactly once.
fn unquoted(s: &str) -> &str {
    let t = s.trim();
    for q in ['\'', '"'] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return &t[1..t.len() - 1];
        }
    }
    s
}

fn text(v: &serde_yaml::Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Type, secret and option names cannot be bound as parameters, so only
/// plain identifiers pass.
fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `md:db`, `s3://bucket/x.duckdb`, `ducklake:meta.ducklake`, `:memory:`:
/// anything with a scheme before its first `/` is not a local file.
fn is_url(path: &str) -> bool {
    let head = path.split('/').next().unwrap_or("");
    match head.find(':') {
        Some(0) => true,
        // A one-letter "scheme" would be a Windows drive.
        Some(i) => i > 1 && head[..i].chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)),
        None => false,
    }
}

/// DuckDB's own name for an attached file: the last path (or URL) segment up
/// to its first dot.
fn default_alias(path: &str) -> Option<String> {
    let last = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let last = last.rsplit(':').next().unwrap_or(last);
    let stem = last.split('.').next().unwrap_or("");
    (!stem.is_empty()).then(|| stem.to_string())
}

/// serde_yaml appends " at line X column Y" relative to the entry, which
/// would mislead next to the file's own line.
fn strip_location(e: &serde_yaml::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(yaml: &str) -> Result<Attachment, String> {
        parse(0, serde_yaml::from_str(yaml).expect("yaml"), Path::new("/proj"))
    }

    #[test]
    fn defaults_follow_dbt_duckdb() {
        let a = entry("path: data/other.v2.duckdb").expect("valid");
        assert_eq!(a.path, "/proj/data/other.v2.duckdb");
        assert_eq!(a.alias, "other", "DuckDB names a file by its name up to the first dot");
        assert!(!a.read_only && a.local);
        assert_eq!((a.kind, a.secret), (None, None));
        assert!(a.options.is_empty());
        let a = entry("path: /abs/x.db\nalias: src\nread_only: true\ntype: sqlite").expect("valid");
        assert_eq!((a.path.as_str(), a.alias.as_str(), a.read_only), ("/abs/x.db", "src", true));
        assert_eq!(a.kind.as_deref(), Some("sqlite"));
    }

    #[test]
    fn urls_are_kept_and_named_by_their_last_segment() {
        let a = entry("path: md:my_db").expect("valid");
        assert_eq!((a.path.as_str(), a.alias.as_str(), a.local), ("md:my_db", "my_db", false));
        let a = entry("path: s3://bucket/dir/lake.duckdb").expect("valid");
        assert_eq!((a.path.as_str(), a.alias.as_str()), ("s3://bucket/dir/lake.duckdb", "lake"));
        assert!(entry("path: ':memory:'").expect_err("no name").contains("give it an `alias`"));
    }

    #[test]
    fn options_fill_the_direct_fields_and_render_the_rest() {
        let a = entry("path: a.db\noptions:\n  type: sqlite\n  read_only: true\n  block_size: 16384\n  encryption_key: \"'k'\"\n  skip: false\n  flag: true\n")
            .expect("valid");
        assert_eq!(a.kind.as_deref(), Some("sqlite"));
        assert!(a.read_only);
        assert_eq!(
            a.options,
            vec![
                ("BLOCK_SIZE".to_string(), Some("16384".to_string())),
                ("ENCRYPTION_KEY".to_string(), Some("'k'".to_string())),
                ("FLAG".to_string(), None),
            ]
        );
    }

    #[test]
    fn bad_entries_name_the_entry_and_key() {
        let e = entry("alias: x").expect_err("no path");
        assert!(e.starts_with("`attach[0]`: missing field `path`"), "{e}");
        let e = entry("path: a.db\nreadonly: true").expect_err("typo");
        assert!(e.starts_with("`attach[0]`: unknown field `readonly`"), "{e}");
        assert!(!e.contains("at line"), "{e}");
        let e = entry("path: a.db\nread_only: true\noptions: {read_only: false}").expect_err("both");
        assert!(e.contains("`read_only` is given both directly and in `options`"), "{e}");
        let e = entry("path: a.db\ntype: \"sqlite; drop table t\"").expect_err("not a name");
        assert!(e.contains("`type` `sqlite; drop table t` is not a name"), "{e}");
        let e = entry("path: a.db\noptions: {\"x y\": 1}").expect_err("bad key");
        assert!(e.contains("`options.x y` is not an option name"), "{e}");
        let e = entry("path: ''").expect_err("empty");
        assert!(e.contains("`path` is empty"), "{e}");
    }

    #[test]
    fn quoting_doubles_single_quotes() {
        assert_eq!(quote("it's"), "'it''s'");
    }
}
