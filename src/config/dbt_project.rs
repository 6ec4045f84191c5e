//! The raw shape of `dbt_project.yml`.
//!
//! Every documented top-level key is accepted so existing projects load; the
//! config trees (`models:`, `seeds:`, `data_tests:`) stay raw YAML for
//! `project` to resolve.

#![allow(
    dead_code,
    reason = "fields declared so a key dbt accepts is accepted and its value type-checked, though runner does not act on it"
)]

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDbtProject {
    pub name: Option<String>,
    pub version: Option<serde_yaml::Value>,
    #[serde(rename = "config-version")]
    pub config_version: Option<serde_yaml::Value>,
    pub profile: Option<String>,
    #[serde(rename = "model-paths")]
    pub model_paths: Option<Vec<String>>,
    #[serde(rename = "seed-paths")]
    pub seed_paths: Option<Vec<String>>,
    #[serde(rename = "test-paths")]
    pub test_paths: Option<Vec<String>>,
    #[serde(rename = "macro-paths")]
    pub macro_paths: Option<Vec<String>>,
    #[serde(rename = "analysis-paths")]
    pub analysis_paths: Option<Vec<String>>,
    #[serde(rename = "snapshot-paths")]
    pub snapshot_paths: Option<Vec<String>>,
    #[serde(rename = "docs-paths")]
    pub docs_paths: Option<Vec<String>>,
    #[serde(rename = "asset-paths")]
    pub asset_paths: Option<Vec<String>>,
    #[serde(rename = "target-path")]
    pub target_path: Option<String>,
    #[serde(rename = "log-path")]
    pub log_path: Option<String>,
    #[serde(rename = "packages-install-path")]
    pub packages_install_path: Option<String>,
    #[serde(rename = "clean-targets")]
    pub clean_targets: Option<Vec<String>>,
    #[serde(rename = "require-dbt-version")]
    pub require_dbt_version: Option<serde_yaml::Value>,
    pub vars: Option<BTreeMap<String, serde_yaml::Value>>,
    pub models: Option<serde_yaml::Value>,
    pub seeds: Option<serde_yaml::Value>,
    pub data_tests: Option<serde_yaml::Value>,
    pub tests: Option<serde_yaml::Value>,
    pub snapshots: Option<serde_yaml::Value>,
    pub sources: Option<serde_yaml::Value>,
    pub analyses: Option<serde_yaml::Value>,
    pub unit_tests: Option<serde_yaml::Value>,
    pub metrics: Option<serde_yaml::Value>,
    pub exposures: Option<serde_yaml::Value>,
    // dbt's own spelling is `semantic-models` / `saved-queries`.
    #[serde(alias = "semantic-models")]
    pub semantic_models: Option<serde_yaml::Value>,
    #[serde(alias = "saved-queries")]
    pub saved_queries: Option<serde_yaml::Value>,
    #[serde(rename = "on-run-start")]
    pub on_run_start: Option<serde_yaml::Value>,
    #[serde(rename = "on-run-end")]
    pub on_run_end: Option<serde_yaml::Value>,
    pub quoting: Option<serde_yaml::Value>,
    pub dispatch: Option<serde_yaml::Value>,
    pub flags: Option<serde_yaml::Value>,
    #[serde(rename = "query-comment")]
    pub query_comment: Option<serde_yaml::Value>,
    #[serde(rename = "restrict-access")]
    pub restrict_access: Option<serde_yaml::Value>,
    #[serde(rename = "dbt-cloud")]
    pub dbt_cloud: Option<serde_yaml::Value>,
}
