//! Model versions as dbt-core 1.10 reads them: a `models:` entry with
//! `versions:` (each `v`, optional `defined_in`, `config`, `columns` with one
//! `include` / `exclude` entry, `data_tests`, `deprecation_date`) and
//! `latest_version` (default: the greatest `v`).
//!
//! Owns the typed [`Version`] (dbt's comparison and spelling of `v`), what one
//! property-file entry declares per version (merged properties, the file
//! stems that may define it, its tests: [`declare`]), and matching declared
//! versions to model files once every file is known ([`Versions::resolve`]). The
//! planner turns a matched file into the node `model.<project>.<name>.v<v>`;
//! this module renders nothing and builds no node.

use super::{NodeProps, SqlFile};
use crate::diag::Diagnostic;
use serde_yaml::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

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

mod declare;
pub(super) use declare::declare;

#[cfg(test)]
mod tests;
