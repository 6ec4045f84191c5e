//! One `models:` entry's versions as dbt reads them: each version's merged
//! properties (config deep-merged, columns chosen by `include`/`exclude`
//! plus its own, its description or the model's, its constraints or the
//! model's) and its tests (the included columns', then its own `data_tests`
//! or the model's), pushed onto what its property file declares. Pure: one
//! entry in, declarations out.

use super::{DeprecationDate, ModelVersion, Version, VersionDecl};
use crate::config::properties::{RawColumn, RawModelProps, RawVersion};
use crate::diag::Diagnostic;
use crate::project::lines::Lines;
use crate::project::properties::Declared;
use crate::project::test_entries::Attached;
use serde_yaml::Value;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;

/// The properties and tests of each version of one `models:` entry, pushed
/// onto `out` (its `versions:` is not empty).
pub(in crate::project) fn declare(file: &Path, lines: &Lines, m: &RawModelProps, line: usize, out: &mut Declared) {
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
            crate::project::properties::push_column_tests(out, lines, file, col, &attached, *col_line, &version);
        }
        let tests = match rv.data_tests.as_ref().or(rv.tests.as_ref()) {
            Some(own) => (Some(own), *at),
            None => (m.data_tests.as_ref().or(m.tests.as_ref()), line),
        };
        crate::project::properties::push_tests(out, lines, file, tests.0, &attached, None, tests.1, &version);
        let mut config = m.config.clone().unwrap_or_default();
        for (k, val) in rv.config.clone().unwrap_or_default() {
            deep_merge_item(&mut config, k, val);
        }
        let raw_columns: Vec<RawColumn> = columns.iter().map(|(c, _)| clone_column(c)).collect();
        let description = rv.description.clone().filter(|d| !d.is_empty()).or_else(|| m.description.clone());
        let mut props = crate::project::properties::node_props(file, *at, &Some(config), &raw_columns, &description);
        let column_lines: Vec<usize> = columns.iter().map(|(_, l)| *l).collect();
        props.column_props = crate::project::properties::column_props(&raw_columns, &column_lines);
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
