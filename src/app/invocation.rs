//! What a template and the artifacts know of the invocation itself: dbt's
//! `flags`, `invocation_args_dict` (run_results.json's `args` too) and the
//! `DBT_ENV_CUSTOM_ENV_*` metadata. Built once per command from the validated
//! [`Options`]; nothing here reads the project.

use crate::cli::Options;
use crate::project::{dag::Dag, env::Env, profile};
use minijinja::value::Value;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// The invocation as dbt's artifacts and templates describe it.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// `invocation_args_dict`, and run_results.json's `args`.
    pub args: serde_json::Value,
    /// `dbt_metadata_envs`, and the artifacts' `metadata.env`.
    pub metadata_env: BTreeMap<String, String>,
}

/// dbt's `args.which` for a command; a scheduled or cleared DAG run runs as `run`.
fn which(opts: &Options) -> &'static str {
    match opts.command.name() {
        "scheduler" | "backfill" | "clear" => "run",
        other => other,
    }
}

impl Invocation {
    /// The keys dbt's `invocation_args_dict` has that mean something for
    /// runner, with the values this invocation gives them: `select` and
    /// `exclude` are the DAG's when the command line sets none; `target`,
    /// `threads` and `full_refresh` appear only when given, as in dbt.
    pub(super) fn new(opts: &Options, dag: Option<&Dag>, dir: &Path, env: &Env) -> Invocation {
        let select = opts.select.clone().or_else(|| dag.map(|d| d.select.clone())).unwrap_or_default();
        let exclude = opts.exclude.clone().or_else(|| dag.map(|d| d.exclude.clone())).unwrap_or_default();
        let profiles_dir = profile::find_profiles(opts.profiles_dir.as_deref(), dir)
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| dir.to_path_buf());
        let project_dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let command: Vec<String> = std::iter::once("runner".to_string()).chain(std::env::args().skip(1)).collect();
        let mut args = json!({
            "which": which(opts),
            "invocation_command": command.join(" "),
            "select": select,
            "exclude": exclude,
            "vars": opts.vars,
            "profiles_dir": profiles_dir.display().to_string(),
            "project_dir": project_dir.display().to_string(),
            "empty": false,
            "defer": false,
            "favor_state": false,
            "indirect_selection": "eager",
            "introspect": true,
            "log_format": "default",
            "write_json": true,
        });
        let given = [
            ("target", opts.target.as_ref().map(|t| json!(t))),
            ("threads", opts.threads.map(|t| json!(t))),
            ("full_refresh", opts.full_refresh.then_some(json!(true))),
        ];
        if let Some(map) = args.as_object_mut() {
            map.extend(given.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_string(), v))));
        }
        Invocation { args, metadata_env: env.metadata_envs() }
    }

    /// The run's template values this adds: `flags` and `invocation_args_dict`.
    pub(super) fn values(&self, opts: &Options) -> [(&'static str, Value); 2] {
        [("flags", flags(opts)), ("invocation_args_dict", Value::from(minijinja::value::Serde(&self.args)))]
    }
}

/// dbt's `flags` as a template sees them.
fn flags(opts: &Options) -> Value {
    Value::from_pairs([
        ("WHICH", Value::from(which(opts))),
        ("FULL_REFRESH", Value::from(opts.full_refresh)),
        ("STORE_FAILURES", Value::from(false)),
        ("EMPTY", Value::from(false)),
        ("WARN_ERROR", Value::from(false)),
        ("FAIL_FAST", Value::from(false)),
        ("STORE_FAILURES_AS", Value::from(())),
        ("INTROSPECT", Value::from(true)),
    ])
}
