//! The raw shape of a DAG file (`dags/*.yml`).
//!
//! Mirrors what a cosmos `DbtDag(...)` call takes, as YAML. Values stay as
//! written (strings for dates and schedules); validation lives in
//! `project::dag`.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDag {
    pub dag_id: Option<String>,
    pub description: Option<String>,
    /// A preset (`@daily`), a 5-field cron, or null for manual-only.
    pub schedule: Option<String>,
    pub start_date: Option<serde_yaml::Value>,
    pub end_date: Option<serde_yaml::Value>,
    pub catchup: Option<bool>,
    pub timezone: Option<String>,
    pub max_active_runs: Option<i64>,
    pub max_active_tasks: Option<i64>,
    pub project_dir: Option<String>,
    pub profile: Option<String>,
    pub target: Option<String>,
    /// A list of selectors, or one string.
    pub select: Option<serde_yaml::Value>,
    pub exclude: Option<serde_yaml::Value>,
    pub test_behavior: Option<String>,
    pub vars: Option<BTreeMap<String, serde_yaml::Value>>,
    pub retries: Option<i64>,
    /// A duration such as `5m`, `30s`, or a number of seconds.
    pub retry_delay: Option<serde_yaml::Value>,
    pub retry_exponential_backoff: Option<bool>,
    pub max_retry_delay: Option<serde_yaml::Value>,
    /// How long one attempt of a node may run before it is interrupted.
    pub execution_timeout: Option<serde_yaml::Value>,
    /// Airflow's DAG `params`, available to templates as `params`.
    pub params: Option<BTreeMap<String, serde_yaml::Value>>,
    pub tags: Option<Vec<String>>,
    pub paused: Option<bool>,
    pub lock_timeout: Option<serde_yaml::Value>,
    /// What to do when the lock is busy: `wait`, `skip` or `fail`.
    pub lock_policy: Option<String>,
}
