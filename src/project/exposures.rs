//! The exposures a property file declares (`exposures:`), checked as dbt
//! 1.10's `UnparsedExposure` checks one entry: known keys only, a `type`
//! and `maturity` from dbt's lists, an `owner` with a `name` or an `email`
//! (a string or a list of them; other owner keys are kept, as dbt keeps
//! them), lists where dbt wants lists. Each problem is a diagnostic at the
//! entry's line. What `depends_on` names is resolved when the plan is made
//! (`nodes::exposures`); configs from `dbt_project.yml` are applied there
//! too. Pure: one file's text in, declarations and errors out.

use super::lines::Lines;
use crate::diag::Diagnostic;
use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// dbt's `ExposureType` and `MaturityType`.
const TYPES: &[&str] = &["dashboard", "notebook", "analysis", "ml", "application"];
const MATURITIES: &[&str] = &["low", "medium", "high"];
const KEYS: &[&str] =
    &["name", "type", "owner", "description", "label", "maturity", "meta", "tags", "url", "depends_on", "config"];

/// One `exposures:` entry, as written (Jinja in values already rendered,
/// but `description`, which the manifest renders).
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureDecl {
    pub name: String,
    /// `type:`.
    pub kind: String,
    /// `owner:`: `name`, `email` and any other key, as written.
    pub owner: Mapping,
    pub description: String,
    pub label: Option<String>,
    pub maturity: Option<String>,
    pub meta: Mapping,
    pub tags: Vec<String>,
    pub url: Option<String>,
    /// Each `depends_on` expression (`ref('orders')`) and its line.
    pub depends_on: Vec<(String, Option<usize>)>,
    /// `config:` as written (`enabled`, `tags`, `meta`).
    pub config: BTreeMap<String, Value>,
    /// The property file, and the folders between its resource path and it.
    pub file: PathBuf,
    pub folders: Vec<String>,
    /// The entry's `name:` line.
    pub line: Option<usize>,
}

/// Every entry of `exposures:` in `file`, with the errors of the bad ones
/// and dbt's warning for a name that is not a plain identifier.
pub fn declarations(file: &Path, text: &str, section: &Value) -> (Vec<ExposureDecl>, Vec<Diagnostic>, Vec<Diagnostic>) {
    let (mut out, mut errors, mut warnings) = (Vec::new(), Vec::new(), Vec::new());
    let entries = match section {
        Value::Sequence(items) => items.as_slice(),
        Value::Null => &[],
        _ => {
            let line = crate::config::key_line(text, "exposures");
            errors.push(Diagnostic::in_file(file, "`exposures` must be a list of exposures").at(line, None));
            return (out, errors, warnings);
        }
    };
    let lines = Lines::new(text);
    let mut cursor = crate::config::key_line(text, "exposures").unwrap_or(0);
    for entry in entries {
        let name = entry.get("name").and_then(Value::as_str).unwrap_or("");
        let line = if name.is_empty() { None } else { lines.entry(cursor, name) };
        cursor = line.unwrap_or(cursor);
        match decl(entry, file, &lines, line) {
            Ok(d) => {
                if !d.name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
                    warnings.push(
                        Diagnostic::in_file(
                            file,
                            format!("exposure `{}`: a name should contain only letters, numbers and underscores (dbt deprecates others)", d.name),
                        )
                        .at(line, None)
                        .hint("rename it, and put the human-friendly title in `label:`"),
                    );
                }
                out.push(d);
            }
            Err(e) => {
                let what = if name.is_empty() { "an exposure".to_string() } else { format!("exposure `{name}`") };
                errors.push(Diagnostic::in_file(file, format!("{what}: {e}")).at(line.or(Some(cursor)).filter(|l| *l > 0), None).hint(
                    "an exposure has `name`, `type`, `owner` and optionally `description`, `label`, `maturity`, `meta`, `tags`, `url`, `depends_on`, `config`",
                ));
            }
        }
    }
    (out, errors, warnings)
}

/// A value that must be a string (or absent).
fn string(entry: &Value, key: &str) -> Result<Option<String>, String> {
    match entry.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

/// A value that must be a list of strings (or absent).
fn strings(v: Option<&Value>, key: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(|| format!("`{key}` must be a list of strings")))
            .collect(),
        Some(_) => Err(format!("`{key}` must be a list, like `[{key}_1]`")),
    }
}

fn mapping(v: Option<&Value>, key: &str) -> Result<Mapping, String> {
    match v {
        None | Some(Value::Null) => Ok(Mapping::new()),
        Some(Value::Mapping(m)) => Ok(m.clone()),
        Some(_) => Err(format!("`{key}` must be a mapping")),
    }
}

/// One from `allowed`, in dbt's words when it is not.
fn one_of(v: Option<String>, key: &str, allowed: &[&str]) -> Result<Option<String>, String> {
    match v {
        Some(s) if !allowed.contains(&s.as_str()) => {
            let list: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
            Err(format!("`{key}` is `{s}`; it must be one of {}", list.join(", ")))
        }
        v => Ok(v),
    }
}

fn owner(v: Option<&Value>) -> Result<Mapping, String> {
    let owner = match v {
        None | Some(Value::Null) => return Err("`owner` is required".into()),
        Some(Value::Mapping(m)) => m.clone(),
        Some(_) => return Err("`owner` must be a mapping with a `name` or an `email`".into()),
    };
    let get = |k: &str| owner.get(k).filter(|v| !v.is_null());
    if get("name").is_none() && get("email").is_none() {
        return Err("`owner` must have a `name` or an `email`".into());
    }
    if get("name").is_some_and(|n| !n.is_string()) {
        return Err("`owner.name` must be a string".into());
    }
    match get("email") {
        Some(Value::String(_)) | None => {}
        Some(Value::Sequence(items)) if items.iter().all(Value::is_string) => {}
        Some(_) => return Err("`owner.email` must be a string or a list of strings".into()),
    }
    Ok(owner)
}

fn decl(entry: &Value, file: &Path, lines: &Lines, line: Option<usize>) -> Result<ExposureDecl, String> {
    let Value::Mapping(map) = entry else {
        return Err("must be a mapping".into());
    };
    for k in map.keys() {
        let k = k.as_str().unwrap_or("?");
        if !KEYS.contains(&k) {
            return Err(format!("unknown key `{k}`"));
        }
    }
    let name = string(entry, "name")?.filter(|n| !n.is_empty()).ok_or("`name` is required")?;
    let kind = one_of(string(entry, "type")?, "type", TYPES)?.ok_or("`type` is required")?;
    let config: BTreeMap<String, Value> = mapping(entry.get("config"), "config")?
        .into_iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
        .collect();
    if config.get("enabled").is_some_and(|e| !e.is_bool()) {
        return Err("`config.enabled` must be `true` or `false`".into());
    }
    strings(config.get("tags"), "config.tags")?;
    mapping(config.get("meta"), "config.meta")?;
    let depends_on = strings(entry.get("depends_on"), "depends_on")?;
    let mut from = line.unwrap_or(0);
    let depends_on = depends_on
        .into_iter()
        .map(|d| {
            let found = lines.after(from, &d);
            from = found.unwrap_or(from);
            (d, found.or(line))
        })
        .collect();
    Ok(ExposureDecl {
        owner: owner(entry.get("owner"))?,
        description: string(entry, "description")?.unwrap_or_default(),
        label: string(entry, "label")?,
        maturity: one_of(string(entry, "maturity")?, "maturity", MATURITIES)?,
        meta: mapping(entry.get("meta"), "meta")?,
        tags: strings(entry.get("tags"), "tags")?,
        url: string(entry, "url")?,
        depends_on,
        config,
        name,
        kind,
        file: file.to_path_buf(),
        folders: Vec::new(),
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<ExposureDecl>, Vec<Diagnostic>, Vec<Diagnostic>) {
        let doc: Value = serde_yaml::from_str(text).expect("yaml");
        declarations(Path::new("models/x.yml"), text, &doc["exposures"])
    }

    #[test]
    fn an_entry_keeps_what_dbt_keeps_with_lines() {
        let text = "version: 2\nexposures:\n  - name: weekly\n    type: dashboard\n    owner: {name: Jane, email: [a@b.c], slack: '#bi'}\n    depends_on:\n      - ref('orders')\n      - source('app', 'events')\n    tags: [finance]\n    config: {enabled: false}\n";
        let (decls, errors, warnings) = parse(text);
        assert!(errors.is_empty() && warnings.is_empty(), "{errors:?} {warnings:?}");
        let d = &decls[0];
        assert_eq!((d.name.as_str(), d.kind.as_str(), d.line), ("weekly", "dashboard", Some(3)));
        assert_eq!(d.owner.get("slack").and_then(Value::as_str), Some("#bi"));
        assert_eq!(
            d.depends_on,
            vec![("ref('orders')".to_string(), Some(7)), ("source('app', 'events')".to_string(), Some(8))]
        );
        assert_eq!(d.tags, ["finance"]);
        assert_eq!(d.config.get("enabled"), Some(&Value::Bool(false)));
    }

    #[test]
    fn bad_entries_are_refused_as_dbt_refuses_them() {
        let cases = [
            ("type: report\n    owner: {name: a}", "`type` is `report`; it must be one of `dashboard`"),
            ("type: ml\n", "`owner` is required"),
            ("type: ml\n    owner: {}", "`owner` must have a `name` or an `email`"),
            ("type: ml\n    owner: {email: 3}", "`owner.email` must be a string or a list of strings"),
            ("type: ml\n    maturity: huge\n    owner: {name: a}", "`maturity` is `huge`"),
            ("type: ml\n    owner: {name: a}\n    depends_on: ref('x')", "`depends_on` must be a list"),
            ("type: ml\n    owner: {name: a}\n    tags: one", "`tags` must be a list"),
            ("type: ml\n    owner: {name: a}\n    unknown_key: 1", "unknown key `unknown_key`"),
        ];
        for (body, want) in cases {
            let text = format!("exposures:\n  - name: e1\n    {body}\n");
            let (decls, errors, _) = parse(&text);
            assert!(decls.is_empty(), "{body}");
            let msg = errors[0].to_string();
            assert!(msg.contains(want) && msg.contains("exposure `e1`") && msg.contains(":2"), "{body}: {msg}");
        }
    }

    #[test]
    fn a_name_with_spaces_is_a_warning_as_dbts_deprecation() {
        let (decls, errors, warnings) = parse("exposures:\n  - name: my dash\n    type: ml\n    owner: {name: a}\n");
        assert_eq!((decls.len(), errors.len(), warnings.len()), (1, 0, 1));
        assert!(warnings[0].to_string().contains("label"));
    }
}
