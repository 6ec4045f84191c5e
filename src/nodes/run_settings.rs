//! A node's own run settings: `retries`, `retry_delay` and
//! `execution_timeout`, set in its `config(...)`, property YAML, the project
//! tree or under `meta:`. They are checked here once, at plan time, by the
//! same duration rule a DAG file's values follow, so a bad value is a load
//! error (exit 2) wherever it is written; the dispatcher and workers read
//! only the typed [`RunSettings`], never the raw config map. How they combine
//! with the DAG's own policy is the dispatcher's business, not this module's.
//! Likewise [`BuildSettings`]: what the executor reads of a seed's, model's or
//! snapshot's config when it builds it (`full_refresh`, `sql_header`), so no
//! value is parsed again, or dropped, at run time.

use crate::config_tree::ConfigMap;
use serde_yaml::Value;
use std::time::Duration;

/// What a node overrides of its DAG's retry and timeout policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSettings {
    pub retries: Option<u32>,
    pub retry_delay: Option<Duration>,
    pub execution_timeout: Option<Duration>,
}

impl RunSettings {
    /// Reads the three keys from `cfg` (a key set directly wins over the same
    /// key under `meta:`). Every bad value is reported, as
    /// "`key`: what is wrong", so one load shows them all.
    pub(crate) fn from_config(cfg: &ConfigMap) -> Result<RunSettings, Vec<String>> {
        let meta = cfg.get("meta");
        let get = |k: &str| cfg.get(k).or_else(|| meta.and_then(|m| m.get(k))).filter(|v| !v.is_null());
        let mut errors = Vec::new();
        let retries = get("retries").and_then(|v| match v.as_i64() {
            Some(n) if n >= 0 => Some(n.min(u32::MAX as i64) as u32),
            Some(n) => {
                errors.push(format!("`retries` must not be negative, found {n}"));
                None
            }
            None => {
                errors.push(format!("`retries` must be a whole number, found {}", shown(v)));
                None
            }
        });
        let mut duration = |key: &str| {
            get(key).and_then(|v| match crate::project::dag::duration_value(v) {
                Ok(d) if d.is_zero() && key == "execution_timeout" => {
                    errors.push("`execution_timeout` must be longer than zero (omit it to let the node run as long as it needs)".into());
                    None
                }
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(format!("`{key}`: {e}"));
                    None
                }
            })
        };
        let retry_delay = duration("retry_delay");
        let execution_timeout = duration("execution_timeout");
        if errors.is_empty() {
            Ok(RunSettings { retries, retry_delay, execution_timeout })
        } else {
            Err(errors)
        }
    }
}

/// What the executor reads of a node's config when it builds the node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildSettings {
    /// `full_refresh`: when set, it wins over `--full-refresh` (dbt's rule).
    pub full_refresh: Option<bool>,
    /// `sql_header`, already rendered where it was written in YAML.
    pub sql_header: Option<String>,
}

impl BuildSettings {
    pub(crate) fn from_config(cfg: &ConfigMap) -> Result<BuildSettings, super::materialize::ConfigError> {
        Ok(BuildSettings {
            full_refresh: super::materialize::full_refresh(cfg)?,
            sql_header: super::header::sql_header(cfg)?,
        })
    }

    /// Whether this node is rebuilt from nothing, given the run's `--full-refresh`.
    pub fn full_refresh_or(&self, run_flag: bool) -> bool {
        self.full_refresh.unwrap_or(run_flag)
    }
}

impl super::Planner<'_> {
    /// Decides every planned node's [`RunSettings`] and, for what builds a
    /// relation, its [`BuildSettings`]; a bad value is an error naming the
    /// node and its file. (Models and snapshots had theirs checked with their
    /// materialization, with the line; a seed's are checked here.)
    pub(super) fn run_settings(&mut self) {
        use super::Resource;
        use crate::diag::Diagnostic;
        for n in &mut self.nodes {
            let named = |e: &dyn std::fmt::Display| format!("{} `{}`: {e}", n.resource.as_str(), n.name);
            match RunSettings::from_config(&n.config) {
                Ok(s) => n.run = s,
                Err(es) => self.errors.extend(es.into_iter().map(|e| {
                    Diagnostic::in_file(&n.file, named(&e))
                        .hint("give a whole number of retries and durations like `90s`, `5m` or a number of seconds")
                })),
            }
            if matches!(n.resource, Resource::Seed | Resource::Model | Resource::Snapshot) {
                match BuildSettings::from_config(&n.config) {
                    Ok(b) => n.build = b,
                    Err(e) => {
                        let d = Diagnostic::in_file(&n.file, named(&e.message));
                        self.errors.push(match e.hint {
                            Some(h) => d.hint(h),
                            None => d,
                        })
                    }
                }
            }
        }
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{}`", serde_yaml::to_string(other).unwrap_or_default().trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> ConfigMap {
        serde_yaml::from_str(yaml).expect("yaml")
    }

    #[test]
    fn build_settings_are_typed_once() {
        let b = BuildSettings::from_config(&cfg("full_refresh: false\nsql_header: set threads = 1;")).expect("valid");
        assert_eq!(b, BuildSettings { full_refresh: Some(false), sql_header: Some("set threads = 1;".into()) });
        assert!(!b.full_refresh_or(true), "the node's own `full_refresh` wins over the flag");
        assert!(BuildSettings::default().full_refresh_or(true));
        assert_eq!(BuildSettings::from_config(&cfg("full_refresh: nope")).map_err(|e| e.key), Err("full_refresh"));
        assert_eq!(BuildSettings::from_config(&cfg("sql_header: [a]")).map_err(|e| e.key), Err("sql_header"));
    }

    #[test]
    fn reads_own_keys_over_meta() {
        let s =
            RunSettings::from_config(&cfg("retries: 2\nexecution_timeout: 90s\nmeta: {retries: 5, retry_delay: 2.5}"))
                .expect("valid");
        assert_eq!(
            s,
            RunSettings {
                retries: Some(2),
                retry_delay: Some(Duration::from_millis(2500)),
                execution_timeout: Some(Duration::from_secs(90)),
            }
        );
        assert_eq!(RunSettings::from_config(&cfg("materialized: table")).expect("valid"), RunSettings::default());
    }

    #[test]
    fn every_bad_value_is_an_error() {
        let e =
            RunSettings::from_config(&cfg("execution_timeout: 30 parsecs\nretries: many\nmeta: {retry_delay: [1]}"))
                .expect_err("invalid");
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(e[0], "`retries` must be a whole number, found `many`");
        assert!(e[1].starts_with("`retry_delay`: expected a duration"), "{e:?}");
        assert_eq!(e[2], "`execution_timeout`: `30 parsecs` has an unknown unit (use ms, s, m, h or d)");
        let zero = RunSettings::from_config(&cfg("execution_timeout: 0")).expect_err("zero");
        assert!(zero[0].contains("must be longer than zero"), "{zero:?}");
        let neg = RunSettings::from_config(&cfg("meta: {retries: -1}")).expect_err("negative");
        assert_eq!(neg, vec!["`retries` must not be negative, found -1".to_string()]);
    }
}
