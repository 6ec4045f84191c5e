//! Model versions as dbt-core 1.10 reads them: a `models:` entry with
//! `versions:` (each `v`, optional `defined_in`, `config`, `columns` with one
//! `include` / `exclude` entry, `data_tests`, `deprecation_date`) and
//! `latest_version` (default: the greatest `v`).
//!
//! Owns the typed [`Version`] (dbt's comparison and spelling of `v`), what one
//! property-file entry declares per version (merged properties, the file
//! stems that may define it, its tests), and matching declared versions to
//! model files once every file is known ([`Versions::resolve`]). The
//! planner turns a matched file into the node `model.<project>.<name>.v<v>`;
//! this module renders nothing and builds no node.

use super::lines::Lines;
use super::properties::Declared;
use super::yaml_tests::Attached;
use super::{NodeProps, SqlFile};
use crate::config::properties::{RawColumn, RawModelProps, RawVersion};
use crate::error::Diagnostic;
use serde_yaml::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A model version as written (`v: 1`, `v: "2"`, `v: 1.5`). Structural
/// equality (`==`) compares how it was written; [`Version::same`] is dbt's.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// Python's `str()` of the value: what unique ids, fqns and test names
    /// spell (`model.shop.orders.v2`).
    pub text: String,
    /// The value as dbt writes it to the manifest: a number or a string.
    pub json: serde_json::Value,
}

impl Version {
    /// A `v:` (or `latest_version:`) value; dbt's `NodeVersion` is a string or a number.
    pub fn from_yaml(v: &Value) -> Result<Version, String> {
        match v {
            Value::Number(_) | Value::String(_) => Ok(Version {
                text: crate::data_tests::naming::py_str(v),
                json: serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
            }),
            Value::Tagged(t) => Version::from_yaml(&t.value),
            other => Err(format!(
                "`{}` is not a version: use a number or a string",
                crate::data_tests::naming::py_str(other)
            )),
        }
    }

    /// A version given to `ref(…, v=…)`: its Python `str()` and its value.
    pub fn from_json(json: serde_json::Value) -> Version {
        let text = match &json {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() => crate::data_tests::naming::py_repr(&Value::from(f)),
                _ => n.to_string(),
            },
            other => other.to_string(),
        };
        Version { text, json }
    }

    /// The number a numeric version is, or a string version reads as (Python's `float()`).
    fn as_float(&self) -> Option<f64> {
        match &self.json {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Python's `==` of the two values: numbers by value (`1 == 1.0`), strings
    /// by text, a number never equal to a string.
    pub fn same(&self, other: &Version) -> bool {
        match (&self.json, &other.json) {
            (serde_json::Value::Number(a), serde_json::Value::Number(b)) => a.as_f64() == b.as_f64(),
            (a, b) => a == b,
        }
    }

    /// dbt's order of versions (`UnparsedVersion.__lt__`): as numbers when
    /// both read as numbers, else as text.
    pub fn dbt_cmp(&self, other: &Version) -> Ordering {
        match (self.as_float(), other.as_float()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
            _ => self.text.cmp(&other.text),
        }
    }

    /// `v<text>`: the fqn's last part and the suffix of unique ids.
    pub fn formatted(&self) -> String {
        format!("v{}", self.text)
    }
}

/// When a version stops (or stopped) being supported, as dbt normalizes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeprecationDate {
    /// Python's `isoformat()`: `2021-06-01T00:00:00+00:00`.
    pub iso: String,
    pub at: chrono::DateTime<chrono::FixedOffset>,
}

impl DeprecationDate {
    /// A YAML date or date-time; a naive one is read in the system time zone, as dbt reads it.
    pub fn parse(v: &Value) -> Result<DeprecationDate, String> {
        use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
        let text = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Tagged(t) => return DeprecationDate::parse(&t.value),
            other => crate::data_tests::naming::py_str(other),
        };
        let bad = || format!("`deprecation_date: {text}` is not a date (use `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`)");
        let with_zone =
            ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"];
        let at = match with_zone.iter().find_map(|f| DateTime::parse_from_str(&text, f).ok()) {
            Some(at) => at,
            None => {
                let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
                    .iter()
                    .find_map(|f| NaiveDateTime::parse_from_str(&text, f).ok())
                    .or_else(|| NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
                    .ok_or_else(bad)?;
                let local = chrono::Local.from_local_datetime(&naive).earliest().ok_or_else(bad)?;
                local.fixed_offset()
            }
        };
        let micros = at.timestamp_subsec_micros();
        let iso = if micros == 0 {
            at.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
        } else {
            format!("{}.{micros:06}{}", at.format("%Y-%m-%dT%H:%M:%S"), at.format("%:z"))
        };
        Ok(DeprecationDate { iso, at })
    }

    pub fn is_past(&self) -> bool {
        self.at < chrono::Utc::now()
    }
}

/// What a versioned model's node carries: its version and the model's latest.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    pub v: Version,
    pub latest: Version,
}

impl ModelVersion {
    pub fn is_latest(&self) -> bool {
        self.v.same(&self.latest)
    }

    /// Newer than the latest: dbt's `version:prerelease`.
    pub fn is_prerelease(&self) -> bool {
        self.v.dbt_cmp(&self.latest) == Ordering::Greater
    }

    /// Older than the latest: dbt's `version:old`.
    pub fn is_old(&self) -> bool {
        self.v.dbt_cmp(&self.latest) == Ordering::Less
    }
}

/// One declared version of a model.
#[derive(Debug, Clone)]
pub struct VersionDecl {
    /// The model's name: every version's node is named so.
    pub model: String,
    pub version: ModelVersion,
    /// The file stem that defines it: `defined_in`, else `<model>_v<v>`.
    pub file: String,
    /// The model's properties as this version sees them: config deep-merged,
    /// the included columns and its own, its description or the model's.
    pub props: NodeProps,
}

impl VersionDecl {
    /// The latest version may also live in `<model>.sql`.
    fn fallback(&self) -> Option<&str> {
        self.version.is_latest().then_some(self.model.as_str())
    }
}

/// Every declared version, and which model file defines each.
#[derive(Debug, Clone, Default)]
pub struct Versions {
    pub declared: Vec<VersionDecl>,
    /// Model file stem → index into `declared`.
    by_file: BTreeMap<String, usize>,
}

impl Versions {
    /// The version a model file defines, if it defines one.
    pub fn of_file(&self, stem: &str) -> Option<&VersionDecl> {
        self.by_file.get(stem).map(|&i| &self.declared[i])
    }

    /// The model file stem a declared version was matched to, if any.
    pub fn file_of(&self, d: &VersionDecl) -> Option<&str> {
        let i = self.declared.iter().position(|x| std::ptr::eq(x, d))?;
        self.by_file.iter().find(|(_, &j)| j == i).map(|(stem, _)| stem.as_str())
    }

    /// Whether `name` is a versioned model.
    pub fn is_versioned(&self, name: &str) -> bool {
        self.declared.iter().any(|d| d.model == name)
    }

    /// Matches each declared version to its model file, as dbt's patch
    /// parser does: `defined_in` or `<model>_v<v>.sql`, and for the latest
    /// version `<model>.sql` when that is missing. A version with no file is
    /// dbt's "did not find matching node" warning; a `<model>.sql` that no
    /// version claims beside versions of that model is dbt's error.
    pub fn resolve(&mut self, models: &[SqlFile]) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        let (mut warnings, mut errors) = (Vec::new(), Vec::new());
        let stems: BTreeSet<&str> = models.iter().map(|m| m.name.as_str()).collect();
        for (i, d) in self.declared.iter().enumerate() {
            let found = [Some(d.file.as_str()), d.fallback()].into_iter().flatten().find(|f| stems.contains(f));
            match found {
                Some(stem) => {
                    self.by_file.insert(stem.to_string(), i);
                }
                None => warnings.push(
                    Diagnostic::in_file(
                        &d.props.file,
                        format!(
                            "did not find a node named `{}` for version `{}` of model `{}`",
                            d.file, d.version.v.text, d.model
                        ),
                    )
                    .at(d.props.line, None)
                    .hint(format!(
                        "add `{}.sql` to a model path, or set `defined_in:` to the file that defines it; its tests apply to nothing",
                        d.file
                    )),
                ),
            }
        }
        let versioned: BTreeSet<&str> = self.declared.iter().map(|d| d.model.as_str()).collect();
        for m in models.iter().filter(|m| versioned.contains(m.name.as_str()) && !self.by_file.contains_key(&m.name)) {
            let entry = self.declared.iter().find(|d| d.model == m.name).map(|d| d.props.file.display().to_string());
            errors.push(
                Diagnostic::in_file(&m.path, format!("dbt found versioned and unversioned models with the name `{}`", m.name))
                    .hint(format!(
                        "rename this model, or add it to the versions of `{}` in `{}` (it defines the latest version only when no `{}_v<latest>.sql` exists)",
                        m.name,
                        entry.unwrap_or_default(),
                        m.name
                    )),
            );
        }
        (warnings, errors)
    }
}

/// The properties and tests of each version of one `models:` entry, pushed
/// onto `out` (its `versions:` is not empty).
pub(super) fn declare(file: &Path, lines: &Lines, m: &RawModelProps, line: usize, out: &mut Declared) {
    let raw = m.versions.as_deref().unwrap_or_default();
    let err =
        |at: usize, msg: String| Diagnostic::in_file(file, format!("model `{}`: {msg}", m.name)).at(Some(at), None);
    let mut parsed: Vec<(Version, &RawVersion, usize)> = Vec::new();
    let mut cursor = line;
    for rv in raw {
        let Some(v) = rv.v.as_ref() else {
            out.errors.push(err(cursor, "every entry of `versions:` needs `v:`".into()));
            return;
        };
        let v = match Version::from_yaml(v) {
            Ok(v) => v,
            Err(e) => {
                out.errors.push(err(cursor, e));
                return;
            }
        };
        let at = lines.version(cursor, &v.text).unwrap_or(cursor);
        cursor = at;
        if parsed.iter().any(|(p, _, _)| p.text == v.text) {
            out.errors.push(err(at, format!("found duplicate version `{}` in its versions", v.text)));
            return;
        }
        parsed.push((v, rv, at));
    }
    let latest = match &m.latest_version {
        // dbt reads a falsy `latest_version` (0, '') as unset.
        Some(l) if !is_falsy(l) => match Version::from_yaml(l) {
            Ok(l) if parsed.iter().any(|(v, _, _)| v.same(&l)) => l,
            Ok(l) => {
                let listed: Vec<&str> = parsed.iter().map(|(v, _, _)| v.text.as_str()).collect();
                out.errors.push(err(
                    line,
                    format!("`latest_version: {}` is not one of its versions: {}", l.text, listed.join(", ")),
                ));
                return;
            }
            Err(e) => {
                out.errors.push(err(line, format!("`latest_version`: {e}")));
                return;
            }
        },
        _ => {
            match parsed.iter().map(|(v, _, _)| v).reduce(|a, b| if b.dbt_cmp(a) == Ordering::Greater { b } else { a })
            {
                Some(max) => max.clone(),
                None => return,
            }
        }
    };
    let base_columns: Vec<(&RawColumn, usize)> = {
        let mut c = line;
        m.columns
            .iter()
            .map(|col| {
                c = lines.entry(c, &col.name).unwrap_or(c);
                (col, c)
            })
            .collect()
    };
    for (v, rv, at) in &parsed {
        let (choice, own) = match columns_of(rv) {
            Ok(c) => c,
            Err(e) => {
                out.errors.push(err(*at, format!("version `{}`: {e}", v.text)));
                continue;
            }
        };
        let deprecation_date = match rv.deprecation_date.as_ref().map(DeprecationDate::parse).transpose() {
            Ok(d) => d,
            Err(e) => {
                out.errors.push(err(*at, format!("version `{}`: {e}", v.text)));
                continue;
            }
        };
        let mut own_lines = Vec::new();
        let mut c = *at;
        for col in &own {
            c = lines.entry(c, &col.name).unwrap_or(c);
            own_lines.push((col, c));
        }
        let columns: Vec<(&RawColumn, usize)> =
            base_columns.iter().filter(|(col, _)| choice.includes(&col.name)).cloned().chain(own_lines).collect();
        let version = Some(v.clone());
        let attached = Attached::Model(m.name.clone());
        for (col, col_line) in &columns {
            let sql = super::yaml_tests::column_sql(&col.name, col.quote);
            super::properties::push_tests(out, lines, file, col_tests(col), &attached, Some(&sql), *col_line, &version);
        }
        let tests = match rv.data_tests.as_ref().or(rv.tests.as_ref()) {
            Some(own) => (Some(own), *at),
            None => (m.data_tests.as_ref().or(m.tests.as_ref()), line),
        };
        super::properties::push_tests(out, lines, file, tests.0, &attached, None, tests.1, &version);
        let mut config = m.config.clone().unwrap_or_default();
        for (k, val) in rv.config.clone().unwrap_or_default() {
            deep_merge_item(&mut config, k, val);
        }
        let raw_columns: Vec<RawColumn> = columns.iter().map(|(c, _)| clone_column(c)).collect();
        let description = rv.description.clone().filter(|d| !d.is_empty()).or_else(|| m.description.clone());
        let mut props = super::properties::node_props(file, *at, &Some(config), &raw_columns, &description);
        let column_lines: Vec<usize> = columns.iter().map(|(_, l)| *l).collect();
        props.column_props = super::properties::column_props(&raw_columns, &column_lines);
        // dbt: the version's constraints, else the model's (an empty list is none).
        let own = rv.constraints.clone().filter(|c| c.as_sequence().is_none_or(|s| !s.is_empty()));
        props.constraints = match own {
            Some(c) => Some((c, lines.key_of_entry(*at, "constraints").unwrap_or(*at))),
            None => m.constraints.clone().map(|c| (c, lines.key_of_entry(line, "constraints").unwrap_or(line))),
        };
        props.versioned = true;
        // A version's own date only: dbt does not carry the model's over.
        props.deprecation_date = deprecation_date;
        out.versions.push(VersionDecl {
            model: m.name.clone(),
            version: ModelVersion { v: v.clone(), latest: latest.clone() },
            file: rv.defined_in.clone().unwrap_or_else(|| format!("{}_{}", m.name, v.formatted())),
            props,
        });
    }
}

fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

fn col_tests(c: &RawColumn) -> Option<&Vec<Value>> {
    c.data_tests.as_ref().or(c.tests.as_ref())
}

/// The parts of a column entry a version's properties keep (its tests are declared per version).
fn clone_column(c: &RawColumn) -> RawColumn {
    RawColumn {
        name: c.name.clone(),
        description: c.description.clone(),
        data_type: c.data_type.clone(),
        quote: c.quote,
        constraints: c.constraints.clone(),
        ..RawColumn::default()
    }
}

/// dbt's `deep_merge_item`: maps merge key by key, a list is the version's
/// items before the model's, anything else replaces.
fn deep_merge_item(into: &mut BTreeMap<String, Value>, key: String, value: Value) {
    let merged = match (into.remove(&key), value) {
        (Some(Value::Mapping(mut base)), Value::Mapping(over)) => {
            for (k, v) in over {
                let k = match k {
                    Value::String(s) => s,
                    other => crate::data_tests::naming::py_str(&other),
                };
                let mut one: BTreeMap<String, Value> = BTreeMap::new();
                if let Some(old) = base.remove(k.as_str()) {
                    one.insert(k.clone(), old);
                }
                deep_merge_item(&mut one, k.clone(), v);
                if let Some(v) = one.remove(&k) {
                    base.insert(Value::String(k), v);
                }
            }
            Value::Mapping(base)
        }
        (Some(Value::Sequence(base)), Value::Sequence(mut over)) => {
            over.extend(base);
            Value::Sequence(over)
        }
        (_, value) => value,
    };
    into.insert(key, merged);
}

/// dbt's `IncludeExclude` of a version's columns: `include: all` (or `*`)
/// with an optional `exclude:` list, or `include:` a list of names.
#[derive(Debug, Clone, PartialEq)]
enum Choice {
    All { exclude: Vec<String> },
    Only(Vec<String>),
}

impl Choice {
    fn includes(&self, name: &str) -> bool {
        match self {
            Choice::All { exclude } => !exclude.iter().any(|e| e == name),
            Choice::Only(names) => names.iter().any(|n| n == name),
        }
    }
}

/// A version's `columns:`: its include/exclude choice (every model column
/// when it has none) and its own column entries.
fn columns_of(rv: &RawVersion) -> Result<(Choice, Vec<RawColumn>), String> {
    let mut choice = None;
    let mut own = Vec::new();
    for entry in &rv.columns {
        let is_choice = entry.get("include").is_some() || entry.get("exclude").is_some();
        if !is_choice {
            own.push(serde_yaml::from_value::<RawColumn>(entry.clone()).map_err(|e| format!("a column entry: {e}"))?);
            continue;
        }
        if choice.is_some() {
            return Err("a version can have at most one include/exclude element".into());
        }
        let Value::Mapping(map) = entry else {
            return Err("an include/exclude element must be a map".into());
        };
        if let Some(k) = map.keys().find(|k| !matches!(k.as_str(), Some("include" | "exclude"))) {
            return Err(format!(
                "an include/exclude element takes `include` and `exclude` only, not `{}`",
                crate::data_tests::naming::py_str(k)
            ));
        }
        let names = |v: &Value, key: &str| -> Result<Vec<String>, String> {
            match v {
                Value::Sequence(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string).ok_or_else(|| format!("`{key}` lists column names")))
                    .collect(),
                _ => Err(format!("`{key}` must be a list of column names")),
            }
        };
        let exclude = match map.get("exclude") {
            Some(Value::Null) | None => Vec::new(),
            Some(v) => names(v, "exclude")?,
        };
        choice = Some(match map.get("include") {
            Some(Value::String(s)) if s == "all" || s == "*" => Choice::All { exclude },
            Some(Value::Sequence(_)) if !exclude.is_empty() => {
                return Err("`exclude` can only be specified if `include` is one of `all` or `*`".into())
            }
            Some(v @ Value::Sequence(_)) => Choice::Only(names(v, "include")?),
            Some(_) => return Err("`include` must be one of `all` or `*`, or a list of column names".into()),
            None => {
                return Err("an include/exclude element needs `include:` (`all`, `*` or a list of column names)".into())
            }
        });
    }
    Ok((choice.unwrap_or(Choice::All { exclude: Vec::new() }), own))
}

#[cfg(test)]
mod tests;
