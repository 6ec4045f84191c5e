//! The raw shape of `profiles.yml`; the selected output is read after Jinja rendering.
//!
//! Output keys follow dbt-duckdb's documented profile fields so real profiles
//! load unmodified; fields `runner` does not act on yet are accepted and kept
//! as raw values. A typo is still an error (`deny_unknown_fields`).

#![allow(
    dead_code,
    reason = "fields declared so a key dbt accepts is accepted and its value type-checked, though runner does not act on it"
)]

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    pub target: Option<String>,
    /// Kept raw: only the selected output is read into [`RawOutput`], so other
    /// targets may hold another adapter's keys, as dbt allows.
    pub outputs: BTreeMap<String, serde_yaml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: Option<String>,
    pub schema: Option<String>,
    pub database: Option<String>,
    pub threads: Option<i64>,
    pub extensions: Option<Vec<serde_yaml::Value>>,
    pub settings: Option<BTreeMap<String, serde_yaml::Value>>,
    /// Each entry is kept raw so it can be read alone into [`RawAttachment`]
    /// and its error point at its own place.
    pub attach: Option<Vec<serde_yaml::Value>>,
    pub plugins: Option<serde_yaml::Value>,
    pub filesystems: Option<serde_yaml::Value>,
    pub secrets: Option<serde_yaml::Value>,
    pub external_root: Option<String>,
    pub module_paths: Option<serde_yaml::Value>,
    pub keep_open: Option<bool>,
    pub use_credential_provider: Option<serde_yaml::Value>,
    pub disable_transactions: Option<bool>,
    pub retries: Option<serde_yaml::Value>,
    pub config_options: Option<serde_yaml::Value>,
    pub is_ducklake: Option<bool>,
}

/// One entry of an output's `attach:` list, keyed as dbt-duckdb's `Attachment`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAttachment {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub alias: Option<String>,
    pub secret: Option<String>,
    pub read_only: Option<bool>,
    pub options: Option<BTreeMap<String, serde_yaml::Value>>,
    /// A hint for dbt-duckdb's DuckLake SQL; `runner` accepts and ignores it.
    pub is_ducklake: Option<bool>,
}
