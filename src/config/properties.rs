//! The raw shape of property files (`models/**/*.yml`: `version: 2`, `models:`,
//! `sources:`, `seeds:`).
//!
//! Test entries stay raw YAML: dbt writes them as a bare name, a one-key map,
//! or a map with `test_name:`, and `project::tests` decodes each form with its
//! own error. Exposures stay raw YAML for `project::exposures`; sections
//! `runner` does not read (metrics, …) are accepted and named in a note.

#![allow(
    dead_code,
    reason = "fields declared so a key dbt accepts is accepted and its value type-checked, though runner does not act on it"
)]

use serde::Deserialize;
use std::collections::BTreeMap;

/// The top-level keys dbt reads; any other is ignored, as dbt ignores it
/// (YAML anchors are often kept under one), with a warning
/// (`project::properties`).
pub const SECTIONS: &[&str] = &[
    "version",
    "models",
    "seeds",
    "sources",
    "snapshots",
    "macros",
    "analyses",
    "exposures",
    "metrics",
    "semantic_models",
    "saved_queries",
    "unit_tests",
    "groups",
];

#[derive(Debug, Default, Deserialize)]
pub struct RawProperties {
    pub version: Option<serde_yaml::Value>,
    #[serde(default)]
    pub models: Vec<RawModelProps>,
    #[serde(default)]
    pub seeds: Vec<RawModelProps>,
    #[serde(default)]
    pub sources: Vec<RawSource>,
    #[serde(default)]
    pub snapshots: Vec<RawSnapshotProps>,
    pub macros: Option<serde_yaml::Value>,
    pub analyses: Option<serde_yaml::Value>,
    pub exposures: Option<serde_yaml::Value>,
    pub metrics: Option<serde_yaml::Value>,
    pub semantic_models: Option<serde_yaml::Value>,
    pub saved_queries: Option<serde_yaml::Value>,
    pub unit_tests: Option<serde_yaml::Value>,
    pub groups: Option<serde_yaml::Value>,
}

/// A model or seed entry: its config, column docs and tests.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModelProps {
    pub name: String,
    pub description: Option<String>,
    pub config: Option<BTreeMap<String, serde_yaml::Value>>,
    #[serde(default)]
    pub columns: Vec<RawColumn>,
    pub data_tests: Option<Vec<serde_yaml::Value>>,
    pub tests: Option<Vec<serde_yaml::Value>>,
    pub meta: Option<serde_yaml::Value>,
    pub docs: Option<serde_yaml::Value>,
    pub tags: Option<serde_yaml::Value>,
    pub access: Option<String>,
    pub group: Option<String>,
    pub constraints: Option<serde_yaml::Value>,
    pub latest_version: Option<serde_yaml::Value>,
    /// Model versions (`models:` only; `project::versions` refuses them elsewhere).
    pub versions: Option<Vec<RawVersion>>,
    pub deprecation_date: Option<serde_yaml::Value>,
    pub time_spine: Option<serde_yaml::Value>,
}

/// One entry of a model's `versions:`: the keys dbt's `UnparsedVersion` takes.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVersion {
    /// Required; dbt's `NodeVersion` is a number or a string (checked in `project::versions`).
    pub v: Option<serde_yaml::Value>,
    pub defined_in: Option<String>,
    pub description: Option<String>,
    pub access: Option<String>,
    pub config: Option<BTreeMap<String, serde_yaml::Value>>,
    pub constraints: Option<serde_yaml::Value>,
    pub docs: Option<serde_yaml::Value>,
    pub data_tests: Option<Vec<serde_yaml::Value>>,
    pub tests: Option<Vec<serde_yaml::Value>>,
    /// Column entries, or one `include:` / `exclude:` entry choosing the model's columns.
    #[serde(default)]
    pub columns: Vec<serde_yaml::Value>,
    pub deprecation_date: Option<serde_yaml::Value>,
}

/// A snapshot entry: properties of a `{% snapshot %}` block, or with
/// `relation:` a snapshot of its own (dbt 1.9+).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSnapshotProps {
    pub name: String,
    pub relation: Option<String>,
    pub description: Option<String>,
    pub config: Option<BTreeMap<String, serde_yaml::Value>>,
    #[serde(default)]
    pub columns: Vec<RawColumn>,
    pub data_tests: Option<Vec<serde_yaml::Value>>,
    pub tests: Option<Vec<serde_yaml::Value>>,
    pub meta: Option<serde_yaml::Value>,
    pub docs: Option<serde_yaml::Value>,
    pub tags: Option<serde_yaml::Value>,
    pub group: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumn {
    pub name: String,
    pub description: Option<String>,
    pub data_type: Option<String>,
    pub data_tests: Option<Vec<serde_yaml::Value>>,
    pub tests: Option<Vec<serde_yaml::Value>>,
    pub meta: Option<serde_yaml::Value>,
    pub tags: Option<serde_yaml::Value>,
    pub quote: Option<bool>,
    pub constraints: Option<serde_yaml::Value>,
    pub config: Option<serde_yaml::Value>,
    pub granularity: Option<serde_yaml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub name: String,
    pub description: Option<String>,
    pub database: Option<String>,
    pub schema: Option<String>,
    pub loader: Option<String>,
    #[serde(default)]
    pub tables: Vec<RawSourceTable>,
    pub meta: Option<serde_yaml::Value>,
    pub tags: Option<serde_yaml::Value>,
    pub config: Option<serde_yaml::Value>,
    pub freshness: Option<serde_yaml::Value>,
    pub loaded_at_field: Option<String>,
    pub quoting: Option<serde_yaml::Value>,
    pub overrides: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSourceTable {
    pub name: String,
    pub identifier: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub columns: Vec<RawColumn>,
    pub data_tests: Option<Vec<serde_yaml::Value>>,
    pub tests: Option<Vec<serde_yaml::Value>>,
    pub meta: Option<serde_yaml::Value>,
    pub tags: Option<serde_yaml::Value>,
    pub config: Option<serde_yaml::Value>,
    pub freshness: Option<serde_yaml::Value>,
    pub loaded_at_field: Option<String>,
    pub quoting: Option<serde_yaml::Value>,
    pub external: Option<serde_yaml::Value>,
}
